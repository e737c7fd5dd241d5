//! The find bar (Ctrl+F) and the go-to box (Ctrl+G), above the timeline: the search text, the
//! count per shard, Previous/Next, and a list of the matches to click.

use std::sync::Arc;
use std::time::Duration;

use egui::{RichText, Ui};

use crate::app::command::AppCommand;
use crate::app::session::Run;
use crate::find::records::Matches;

/// Which box the bar shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Record search.
    #[default]
    Find,
    /// Go to a time, sequence number, invocation or window.
    GoTo,
}

/// The bar's state.
#[derive(Default)]
pub struct FindState {
    /// Shown.
    pub open: bool,
    /// Find or go to.
    pub mode: Mode,
    /// The search text.
    pub text: String,
    /// The go-to text.
    pub goto_text: String,
    /// What the last finished search found.
    pub matches: Option<Arc<Matches>>,
    /// The text those matches are for.
    pub matched_text: String,
    /// Why the text is not a search, or where go-to could not go.
    pub error: Option<String>,
    /// How long the last search took.
    pub took: Option<Duration>,
    /// The match shown last (index into the matches).
    pub current: Option<usize>,
    /// The field takes the keyboard focus on the next frame.
    pub focus: bool,
    /// The list of matches is unfolded.
    pub list: bool,
}

impl FindState {
    /// Matched record indices, empty without a search.
    pub fn found(&self) -> &[u32] {
        if !self.open {
            return &[];
        }
        self.matches.as_deref().map_or(&[], |m| &m.records[..])
    }
}

/// Draws the bar; `searching` when an answer is awaited.
pub fn find_bar_ui(
    ui: &mut Ui,
    run: &Run,
    st: &mut FindState,
    searching: bool,
    cmds: &mut Vec<AppCommand>,
) {
    // Wrapped: the bar never widens the timeline's panel past the inspector.
    ui.horizontal_wrapped(|ui| {
        ui.selectable_value(&mut st.mode, Mode::Find, "Find");
        ui.selectable_value(&mut st.mode, Mode::GoTo, "Go to");
        match st.mode {
            Mode::Find => search_field_ui(ui, st, searching, cmds),
            Mode::GoTo => goto_field_ui(ui, st, cmds),
        }
        if ui.small_button("Close").clicked() {
            cmds.push(AppCommand::CloseFind);
        }
    });
    if let Some(e) = &st.error {
        ui.colored_label(ui.visuals().error_fg_color, e);
    }
    if st.mode == Mode::Find && st.list {
        matches_list_ui(ui, run, st, cmds);
    }
}

fn search_field_ui(ui: &mut Ui, st: &mut FindState, searching: bool, cmds: &mut Vec<AppCommand>) {
    let edit = egui::TextEdit::singleline(&mut st.text)
        .desired_width(280.0)
        .hint_text("text, or Item.sales > 90, eventName = REMOVE");
    let label = ui.label("Search records:");
    let resp = ui.add(edit).labelled_by(label.id);
    if std::mem::take(&mut st.focus) {
        resp.request_focus();
    }
    if resp.changed() {
        cmds.push(AppCommand::SearchFor(st.text.clone()));
    }
    if resp.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
        let back = ui.input(|i| i.modifiers.shift);
        cmds.push(AppCommand::FindStep(if back { -1 } else { 1 }));
        resp.request_focus();
    }
    if searching {
        ui.spinner();
    }
    let n = st.matches.as_ref().map_or(0, |m| m.records.len());
    if let Some(m) = &st.matches {
        let at = st
            .current
            .map_or(String::new(), |c| format!("{} of ", c + 1));
        let shards: Vec<String> = m
            .per_shard
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(s, c)| format!("shard {s}: {c}"))
            .collect();
        let took = st.took.map_or(0.0, |d| d.as_secs_f64() * 1000.0);
        ui.label(format!("{at}{n} match(es)"))
            .on_hover_text(format!("{}\nsearched in {took:.0} ms", shards.join("\n")));
        if !shards.is_empty() {
            ui.label(RichText::new(shards.join(", ")).small());
        }
    }
    if ui
        .add_enabled(n > 0, egui::Button::new("Previous match"))
        .clicked()
    {
        cmds.push(AppCommand::FindStep(-1));
    }
    if ui
        .add_enabled(n > 0, egui::Button::new("Next match"))
        .clicked()
    {
        cmds.push(AppCommand::FindStep(1));
    }
    ui.toggle_value(&mut st.list, "List");
}

fn goto_field_ui(ui: &mut Ui, st: &mut FindState, cmds: &mut Vec<AppCommand>) {
    let edit = egui::TextEdit::singleline(&mut st.goto_text)
        .desired_width(280.0)
        .hint_text("12:01:30, #42, w 12:01, or a sequence number");
    let label = ui.label("Go to:");
    let resp = ui.add(edit).labelled_by(label.id);
    if std::mem::take(&mut st.focus) {
        resp.request_focus();
    }
    let enter = resp.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
    if (enter || ui.button("Go").clicked()) && !st.goto_text.trim().is_empty() {
        cmds.push(AppCommand::GoTo(st.goto_text.clone()));
    }
}

/// The matches, one row each (only the visible rows are laid out).
fn matches_list_ui(ui: &mut Ui, run: &Run, st: &FindState, cmds: &mut Vec<AppCommand>) {
    let Some(m) = &st.matches else { return };
    let row_h = ui.text_style_height(&egui::TextStyle::Body) + 2.0;
    egui::ScrollArea::vertical()
        .max_height(row_h * 8.0)
        .auto_shrink([false, true])
        .show_rows(ui, row_h, m.records.len(), |ui, rows| {
            for i in rows {
                let r = m.records[i] as usize;
                let s = &run.stream;
                let data = crate::app::panels::payload_text(s, r, 120);
                let text = format!(
                    "shard {}  {}  {}  {data}",
                    s.shard_of(r),
                    crate::model::arrival_clock(s.source, s.ts_ms[r]),
                    s.partition_key(r)
                );
                let on = st.current == Some(i);
                let resp = ui.selectable_label(on, RichText::new(text).monospace());
                if resp.clicked() {
                    cmds.push(AppCommand::ShowMatch(i));
                }
            }
        });
}
