//! The invocation table: every invocation as a row (only the visible rows are laid out),
//! filtered by kind, status, shard and retry, sorted by a clicked header; a click on a row
//! selects that invocation. The rows are computed on the find worker, never in a frame.

use std::sync::Arc;

use egui::{RichText, Ui};

use crate::app::command::AppCommand;
use crate::app::session::Run;
use crate::find::table::{Column, TableQuery, duration_ms, state_bytes};
use crate::model::clock_seconds;
use crate::sim::trace::{Kind, Status};

/// The table's filter and sort, and the rows last computed for them.
#[derive(Default)]
pub struct TableState {
    /// What the user asked for.
    pub query: TableQuery,
    /// The query the rows in flight or shown were asked with.
    pub asked: Option<TableQuery>,
    /// Rows (invocation indices) for `asked`.
    pub rows: Option<Arc<Vec<u32>>>,
}

/// Draws the filters and the table.
pub(super) fn invocation_table_ui(
    ui: &mut Ui,
    run: &Run,
    selected: Option<u32>,
    st: &mut TableState,
    cmds: &mut Vec<AppCommand>,
) {
    filters_ui(ui, run, &mut st.query);
    if st.asked.as_ref() != Some(&st.query) {
        st.asked = Some(st.query.clone());
        cmds.push(AppCommand::QueryTable(st.query.clone()));
    }
    let Some(rows) = st.rows.clone() else {
        ui.spinner();
        return;
    };
    ui.label(
        RichText::new(format!(
            "{} of {} invocations",
            rows.len(),
            run.trace.invocations.len()
        ))
        .small(),
    );
    table_ui(ui, run, selected, &rows, &mut st.query, cmds);
}

fn filters_ui(ui: &mut Ui, run: &Run, q: &mut TableQuery) {
    ui.horizontal_wrapped(|ui| {
        combo(
            ui,
            "kind",
            &mut q.kind,
            &[
                (Kind::Aggregate, "aggregate"),
                (Kind::Final, "final"),
                (Kind::Early, "early termination"),
            ],
        );
        combo(
            ui,
            "status",
            &mut q.status,
            &[
                (Status::Ok, "succeeded"),
                (Status::Partial, "partial"),
                (Status::Failed, "failed"),
            ],
        );
        let shards: Vec<(u32, String)> = (0..run.stream.shards.len() as u32)
            .map(|s| (s, format!("shard {s}")))
            .collect();
        let named: Vec<(u32, &str)> = shards.iter().map(|(s, t)| (*s, t.as_str())).collect();
        combo(ui, "shard", &mut q.shard, &named);
        ui.checkbox(&mut q.retries_only, "retries only");
    });
}

/// A filter: "any" or one of `choices`.
fn combo<T: Copy + PartialEq>(
    ui: &mut Ui,
    what: &str,
    value: &mut Option<T>,
    choices: &[(T, &str)],
) {
    let shown = value
        .and_then(|v| choices.iter().find(|(c, _)| *c == v).map(|(_, t)| *t))
        .unwrap_or("any");
    egui::ComboBox::from_id_salt(("invocation-filter", what))
        .selected_text(format!("{what}: {shown}"))
        .show_ui(ui, |ui| {
            ui.selectable_value(value, None, "any");
            for (c, t) in choices {
                ui.selectable_value(value, Some(*c), *t);
            }
        });
}

fn table_ui(
    ui: &mut Ui,
    run: &Run,
    selected: Option<u32>,
    rows: &[u32],
    q: &mut TableQuery,
    cmds: &mut Vec<AppCommand>,
) {
    use egui_extras::{Column as Col, TableBuilder};
    let row_h = ui.text_style_height(&egui::TextStyle::Body) + 4.0;
    ui.style_mut().interaction.selectable_labels = false;
    let mut table = TableBuilder::new(ui)
        .striped(true)
        .resizable(true)
        .sense(egui::Sense::click());
    for c in Column::ALL {
        table = table.column(match c {
            Column::Window => Col::auto().at_least(130.0),
            Column::Kind => Col::auto().at_least(110.0),
            _ => Col::auto().at_least(56.0),
        });
    }
    table
        .header(18.0, |mut h| {
            for c in Column::ALL {
                h.col(|ui| {
                    let arrow = match (q.sort == c, q.descending) {
                        (false, _) => "",
                        (true, false) => " (up)",
                        (true, true) => " (down)",
                    };
                    let b = ui.add(
                        egui::Button::new(RichText::new(format!("{}{arrow}", c.title())).strong())
                            .frame(false),
                    );
                    if b.on_hover_text("Sort by this column; again to reverse")
                        .clicked()
                    {
                        q.descending = q.sort == c && !q.descending;
                        q.sort = c;
                    }
                });
            }
        })
        .body(|body| {
            body.rows(row_h, rows.len(), |mut row| {
                let k = rows[row.index()];
                row.set_selected(selected == Some(k));
                let inv = &run.trace.invocations[k as usize];
                for c in Column::ALL {
                    row.col(|ui| {
                        ui.label(cell(run, inv, c));
                    });
                }
                if row.response().clicked() {
                    cmds.push(AppCommand::Select(k));
                }
            });
        });
}

fn cell(run: &Run, inv: &crate::sim::trace::Invocation, c: Column) -> String {
    match c {
        Column::Number => inv.n.to_string(),
        Column::Kind => match inv.kind {
            Kind::Aggregate => "aggregate".into(),
            Kind::Final => "final".into(),
            Kind::Early => "early termination".into(),
        },
        Column::Status => match inv.status {
            Status::Ok => "succeeded".into(),
            Status::Partial => "partial".into(),
            Status::Failed => "failed".into(),
        },
        Column::Shard => format!(
            "{} ({})",
            inv.shard,
            short_id(&run.stream.shards[inv.shard as usize].id)
        ),
        Column::Window => inv.window().map_or("—".into(), |w| {
            format!("{}–{}", clock_seconds(w.start_ms), clock_seconds(w.end_ms))
        }),
        Column::Attempt => inv.attempt.to_string(),
        Column::Records => inv.records.len().to_string(),
        Column::StateBytes => state_bytes(inv).to_string(),
        Column::Duration => format!("{:.1}", duration_ms(inv)),
    }
}

/// The distinguishing tail of a shard id (`shardId-000000000003` → `…0003`).
fn short_id(id: &str) -> &str {
    &id[id.len().saturating_sub(4)..]
}
