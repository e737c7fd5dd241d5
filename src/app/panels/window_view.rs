//! The window view: one tumbling window across the shards — its records, its invocations
//! (click one to select it), the final state, the result row and why it closed.

use egui::{RichText, Ui};

use crate::app::command::AppCommand;
use crate::app::panels::inspector::explain;
use crate::app::session::Run;
use crate::model::clock_seconds;
use crate::sim::trace::{WindowResult, WindowStatus};

/// Shows the window starting at `start_ms` while `open`, kept inside `area`.
pub fn window_view_ui(
    ctx: &egui::Context,
    run: &Run,
    start_ms: i64,
    open: &mut bool,
    area: egui::Rect,
    cmds: &mut Vec<AppCommand>,
) {
    let results: Vec<&WindowResult> = run
        .trace
        .windows
        .iter()
        .filter(|w| w.window.start_ms == start_ms)
        .collect();
    let end = results.first().map_or(start_ms, |w| w.window.end_ms);
    let title = format!("Window {}–{}", clock_seconds(start_ms), clock_seconds(end));
    egui::Window::new(title)
        .id(egui::Id::unique("window-view"))
        .open(open)
        .default_width(420.0)
        .default_pos(area.left_top() + egui::vec2(24.0, 24.0))
        .constrain_to(area)
        .vscroll(true)
        .show(ctx, |ui| {
            if results.is_empty() {
                ui.label("No shard had records in this window.");
            }
            for w in results {
                shard_ui(ui, run, w, cmds);
                ui.separator();
            }
        });
}

fn shard_ui(ui: &mut Ui, run: &Run, w: &WindowResult, cmds: &mut Vec<AppCommand>) {
    let shard = &run.stream.shards[w.shard as usize];
    ui.strong(format!("shard {} ({})", w.shard, shard.id));
    let status = match w.status {
        WindowStatus::Closed => "closed",
        WindowStatus::Stalled => "stalled (retries never succeeded)",
        WindowStatus::Open => "still open when the input ended",
    };
    let mut facts = format!(
        "{} record(s), {} invocation(s), {status}",
        w.records, w.invocations
    );
    if w.early_terminations > 0 {
        facts.push_str(&format!(", {} early termination(s)", w.early_terminations));
    }
    if w.discarded > 0 {
        facts.push_str(&format!(", {} record(s) discarded", w.discarded));
    }
    ui.label(facts);
    let fin = w
        .final_invocation
        .and_then(|n| run.trace.invocations.get(n as usize - 1));
    if let Some(fin) = fin {
        ui.label(RichText::new(format!("Why it closed: {}", explain(run, fin))).italics());
    }
    ui.horizontal_wrapped(|ui| {
        ui.label("Invocations:");
        let list = run
            .index
            .by_shard
            .get(w.shard as usize)
            .map_or(&[][..], Vec::as_slice);
        // The shard's invocations from the window's first, until a later window begins.
        let from = list.partition_point(|&k| k + 1 < w.first_invocation);
        let start = |k: u32| {
            run.trace.invocations[k as usize]
                .window()
                .map(|x| x.start_ms)
        };
        for &k in list[from..]
            .iter()
            .take_while(|&&k| start(k).is_none_or(|s| s <= w.window.start_ms))
        {
            let inv = &run.trace.invocations[k as usize];
            if start(k) != Some(w.window.start_ms) {
                continue;
            }
            let text = format!("#{} {}", inv.n, inv.kind.name());
            if ui.small_button(text).clicked() {
                cmds.push(AppCommand::Select(k));
            }
        }
    });
    let state = w.final_state.as_ref().map_or_else(
        || "none (no final invocation succeeded)".into(),
        |s| s.to_json_string(),
    );
    let state = if state.len() > 2000 {
        format!("{}…", &state[..state.floor_char_boundary(2000)])
    } else {
        state
    };
    ui.label(RichText::new(format!("Final state: {state}")).monospace());
}
