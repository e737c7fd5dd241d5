//! Resharding in the setup panel: Kinesis splits and merges at given times, DynamoDB's shard
//! rollover period. Edits the plan where the stream keeps it: the generator's options for a
//! generated stream, the run's own plan for files.

use egui::{RichText, Ui};

use super::SetupState;
use crate::app::theme::Palette;
use crate::model::Source;
use crate::model::reshard::{Reshard, ReshardOp, ReshardPlan};
use crate::run::{RunSpec, SourceSpec};

/// The resharding section; true when the plan changed.
pub(super) fn reshard_ui(
    ui: &mut Ui,
    draft: &mut RunSpec,
    st: &mut SetupState,
    pal: &Palette,
) -> bool {
    let mut gen_opts = draft.generator();
    let (source, shards) = gen_opts
        .as_ref()
        .map_or((draft.stream_source, draft.shards), |o| {
            (o.source, o.shards)
        });
    let mut plan = gen_opts
        .as_ref()
        .map_or_else(|| draft.reshard.clone(), |o| o.reshard.clone());
    let changed = match source {
        Source::Kinesis => steps_ui(ui, &mut plan, st, pal),
        Source::Dynamodb => rollover_ui(ui, &mut plan, pal),
    };
    if let Err(e) = plan.check(source, shards) {
        ui.colored_label(pal.error, &e);
        st.errors.push(e);
    }
    if changed {
        match gen_opts.as_mut() {
            Some(o) => {
                o.reshard = plan;
                draft.source = SourceSpec::Generated { options: o.clone() };
            }
            None => draft.reshard = plan,
        }
    }
    changed
}

/// One step in words, for its row.
fn describe(step: &Reshard) -> String {
    let at = crate::model::iso_millis(step.at_ms);
    match &step.op {
        ReshardOp::Split {
            shard,
            new_starting_hash_key,
        } => match new_starting_hash_key {
            Some(k) => format!("{at}: split shard {shard} at hash key {k}"),
            None => format!("{at}: split shard {shard} in two halves"),
        },
        ReshardOp::Merge { shard, adjacent } => {
            format!("{at}: merge shards {shard} and {adjacent}")
        }
    }
}

fn steps_ui(ui: &mut Ui, plan: &mut ReshardPlan, st: &mut SetupState, pal: &Palette) -> bool {
    let mut changed = false;
    let mut remove = None;
    for (k, step) in plan.steps.iter().enumerate() {
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new(describe(step)).monospace().small());
            if ui.small_button("Remove step").clicked() {
                remove = Some(k);
            }
        });
    }
    if let Some(k) = remove {
        plan.steps.remove(k);
        changed = true;
    }
    ui.horizontal(|ui| {
        let l = ui.label("Step");
        // Room left for "Add step": a default-width field would widen the panel past its cap.
        let width = (ui.available_width() - 80.0).max(60.0);
        ui.add(egui::TextEdit::singleline(&mut st.reshard_text).desired_width(width))
            .labelled_by(l.id)
            .on_hover_text(
                "TIME:split:SHARD or TIME:merge:SHARD,SHARD, e.g. 2026-01-01T12:01:15Z:split:0",
            );
        let parsed = st.reshard_text.trim().parse::<Reshard>();
        if ui
            .add_enabled(parsed.is_ok(), egui::Button::new("Add step"))
            .clicked()
            && let Ok(step) = parsed
        {
            plan.steps.push(step);
            plan.steps.sort_by_key(|s| s.at_ms);
            st.reshard_text.clear();
            changed = true;
        }
    });
    if !st.reshard_text.trim().is_empty()
        && let Err(e) = st.reshard_text.trim().parse::<Reshard>()
    {
        ui.colored_label(pal.error, e);
    }
    ui.label(
        RichText::new(
            "Children get new ids after the existing ones and the split (or merged) hash-key \
             ranges; Lambda reads a parent to its end before its children (modelling choice: \
             documented for every stream reader, not for Lambda itself).",
        )
        .small()
        .color(pal.dim),
    );
    changed
}

fn rollover_ui(ui: &mut Ui, plan: &mut ReshardPlan, pal: &Palette) -> bool {
    let mut hours = plan.rollover_ms.unwrap_or(0) as f64 / 3_600_000.0;
    let mut changed = false;
    ui.horizontal(|ui| {
        let l = ui.label("Shard rollover (hours)");
        if ui
            .add(
                egui::DragValue::new(&mut hours)
                    .range(0.0..=8760.0)
                    .speed(0.1),
            )
            .labelled_by(l.id)
            .changed()
        {
            plan.rollover_ms = Some((hours * 3_600_000.0).round() as i64);
            changed = true;
        }
        ui.label(RichText::new("0: never").small().color(pal.dim));
    });
    ui.label(
        RichText::new(
            "Modelling choice: DynamoDB Streams closes each shard and opens a child on its own; \
             AWS publishes no period (about 4 hours is a community observation).",
        )
        .small()
        .color(pal.dim),
    );
    changed
}
