//! The Compare tab: run A (pinned) beside run B (shown): what each is, how many windows
//! differ, the first invocation where they part, and every window's value in both, the
//! differences highlighted; a click on a row selects B's final invocation of that window.

use egui::{RichText, Ui};

use crate::app::command::AppCommand;
use crate::app::session::Run;
use crate::app::theme::Palette;
use crate::find::compare::Comparison;
use crate::index::format_value;
use crate::model::clock_seconds;

pub(super) fn compare_ui(
    ui: &mut Ui,
    run: &Run,
    pinned: Option<&Run>,
    comparison: Option<&Comparison>,
    cmds: &mut Vec<AppCommand>,
) {
    let Some(a) = pinned else {
        ui.label("Pin this run as A (in the Simulation menu), change the settings or the handler, and compare B with it here.");
        return;
    };
    let pal = Palette::of(ui.visuals());
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new(format!("A (pinned): {}", a.spec.describe())).small());
        ui.label(RichText::new(format!("B (shown): {}", run.spec.describe())).small());
        if ui.small_button("Unpin A").clicked() {
            cmds.push(AppCommand::UnpinRun);
        }
    });
    let Some(c) = comparison else {
        ui.spinner();
        return;
    };
    ui.horizontal_wrapped(|ui| {
        let differ = c.differing();
        let text = format!("{differ} of {} windows differ", c.windows.len());
        ui.colored_label(if differ > 0 { pal.warn } else { pal.final_ }, text);
        match c.parted_at {
            None => {
                ui.label("; the invocations are the same throughout.");
            }
            Some((k, b)) => {
                ui.label(format!("; the runs part at invocation {}", k + 1));
                if let Some(b) = b
                    && ui.small_button("Select where they part").clicked()
                {
                    cmds.push(AppCommand::Select(b));
                }
            }
        }
    });
    windows_table_ui(ui, c, &pal, cmds);
}

fn windows_table_ui(ui: &mut Ui, c: &Comparison, pal: &Palette, cmds: &mut Vec<AppCommand>) {
    use egui_extras::{Column, TableBuilder};
    let row_h = ui.text_style_height(&egui::TextStyle::Body) + 4.0;
    let normal = ui.visuals().text_color();
    ui.style_mut().interaction.selectable_labels = false;
    TableBuilder::new(ui)
        .striped(true)
        .resizable(true)
        .sense(egui::Sense::click())
        .column(Column::auto().at_least(170.0))
        .column(Column::auto().at_least(80.0))
        .columns(Column::auto().at_least(90.0), 3)
        .header(18.0, |mut h| {
            for t in ["shard", "window", "A", "B", "B − A"] {
                h.col(|ui| {
                    ui.strong(t);
                });
            }
        })
        .body(|body| {
            body.rows(row_h, c.windows.len(), |mut row| {
                let w = &c.windows[row.index()];
                let color = if w.differs() { pal.warn } else { normal };
                let value = |v: Option<f64>| v.map_or("—".to_owned(), format_value);
                let delta = match (w.a, w.b) {
                    (Some(a), Some(b)) => format_value(b - a),
                    _ => "—".into(),
                };
                for text in [
                    w.shard.clone(),
                    clock_seconds(w.start_ms),
                    value(w.a),
                    value(w.b),
                    delta,
                ] {
                    row.col(|ui| {
                        ui.label(RichText::new(text).color(color));
                    });
                }
                if row.response().clicked()
                    && let Some(k) = w.b_final
                {
                    cmds.push(AppCommand::Select(k));
                }
            });
        });
}
