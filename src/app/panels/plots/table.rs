//! The results table: one row per (shard, window); a click selects the window's final
//! invocation.

use egui::{RichText, Ui};

use crate::app::command::AppCommand;
use crate::app::session::Run;
use crate::model::clock_seconds;
use crate::sim::trace::WindowStatus;

pub(super) fn results_table_ui(ui: &mut Ui, run: &Run, cmds: &mut Vec<AppCommand>) {
    use egui_extras::{Column, TableBuilder};
    let windows = &run.trace.windows;
    let row_h = ui.text_style_height(&egui::TextStyle::Body) + 4.0;
    // Selectable labels take the click for text selection, so a click on a cell's text would
    // never reach the row.
    ui.style_mut().interaction.selectable_labels = false;
    TableBuilder::new(ui)
        .striped(true)
        .resizable(true)
        .sense(egui::Sense::click())
        .column(Column::auto().at_least(150.0))
        .column(Column::auto().at_least(150.0))
        .column(Column::auto().at_least(60.0))
        .column(Column::auto().at_least(70.0))
        .column(Column::auto().at_least(60.0))
        .column(Column::remainder())
        .header(18.0, |mut h| {
            for title in [
                "shard",
                "window (UTC)",
                "records",
                "invocations",
                "status",
                "final state",
            ] {
                h.col(|ui| {
                    ui.strong(title);
                });
            }
        })
        .body(|body| {
            body.rows(row_h, windows.len(), |mut row| {
                let w = &windows[row.index()];
                row.col(|ui| {
                    ui.label(RichText::new(&run.stream.shards[w.shard as usize].id).monospace());
                });
                row.col(|ui| {
                    ui.label(format!(
                        "{} – {}",
                        clock_seconds(w.window.start_ms),
                        clock_seconds(w.window.end_ms)
                    ));
                });
                row.col(|ui| {
                    ui.label(w.records.to_string());
                });
                row.col(|ui| {
                    ui.label(w.invocations.to_string());
                });
                row.col(|ui| {
                    ui.label(match w.status {
                        WindowStatus::Closed => "closed",
                        WindowStatus::Stalled => "stalled",
                        WindowStatus::Open => "open",
                    });
                });
                row.col(|ui| {
                    let text = w
                        .final_state
                        .as_ref()
                        .map_or_else(|| "—".into(), |s| s.to_json_string());
                    let short = if text.len() > 200 {
                        format!("{}…", &text[..text.floor_char_boundary(200)])
                    } else {
                        text
                    };
                    ui.label(RichText::new(short).monospace());
                });
                if row.response().clicked()
                    && let Some(n) = w.final_invocation
                {
                    cmds.push(AppCommand::Select(n - 1));
                }
            });
        });
}
