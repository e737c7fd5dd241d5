//! The setup panel: stream source, shards, every mapping setting with its AWS range, the
//! modelling choices, the handler and the generator. Edits a draft; the app re-runs when the
//! draft is valid and differs from the last run.

mod environments;
mod filters;
mod position;
mod reshard;
mod source;

use egui::{RichText, Ui};

use crate::app::command::AppCommand;
use crate::app::theme::Palette;
use crate::generate::sales_path;
use crate::handlers::builtin::BuiltinSpec;
use crate::model::Source;
use crate::model::settings::{EndOfInput, GraceFrom, SettingError};
use crate::model::state::AggOp;
use crate::run::RunSpec;

pub use self::source::set_generator;
use self::source::{generator_ui, stream_ui};

/// Text fields whose content is parsed (kept as typed while invalid).
#[derive(Default)]
pub struct SetupState {
    /// Set when the user asked for the handler file dialog.
    pub pick_handler: bool,
    handler_text: Option<String>,
    keys_text: Option<String>,
    /// The resharding step being typed.
    reshard_text: String,
    /// The draft's problems, shown inline; the run is not updated while any exists.
    pub errors: Vec<String>,
    /// Settings read from a deployment template, and where each came from.
    pub template_origins: Vec<crate::template::settings::Origin>,
    /// Whether saving the handler's files re-runs (the app's preference, shown here).
    pub watch_handler: bool,
    /// The user switched watching on or off.
    watch_toggled: Option<bool>,
}

fn labelled<T: egui::emath::Numeric>(
    ui: &mut Ui,
    name: &str,
    range: &str,
    value: &mut T,
    errors: &[SettingError],
    setting: &str,
    pal: &Palette,
) -> bool {
    let mut changed = false;
    ui.horizontal(|ui| {
        let label = ui.label(name);
        changed = ui
            .add(egui::DragValue::new(value).speed(0.25))
            .labelled_by(label.id)
            .changed();
        ui.label(RichText::new(range).small().color(pal.dim));
        template_mark(ui, setting, value.to_f64(), pal);
    });
    for e in errors.iter().filter(|e| e.setting == setting) {
        ui.colored_label(pal.error, e.to_string());
    }
    changed
}

/// Where the origins of template settings are kept for [`template_mark`] during a frame:
/// egui's per-frame data, so every field helper need not carry them.
fn origins_id() -> egui::Id {
    egui::Id::unique("tumblescope-template-origins")
}

/// "template" beside a setting whose value is still the one a template gave, with the file and
/// property on hover.
fn template_mark(ui: &mut Ui, setting: &str, value: f64, pal: &Palette) {
    let origins: Option<std::sync::Arc<Vec<crate::template::settings::Origin>>> =
        ui.ctx().data(|d| d.get_temp(origins_id()));
    let Some(o) = origins
        .iter()
        .flat_map(|v| v.iter())
        .find(|o| o.setting == setting && o.value.parse::<f64>().ok() == Some(value))
    else {
        return;
    };
    ui.label(RichText::new("template").small().color(pal.dim))
        .on_hover_text(format!("from {}", o.from));
}

/// Draws the setup panel. Returns whether the draft changed.
pub fn setup_ui(ui: &mut Ui, draft: &RunSpec, st: &mut SetupState, cmds: &mut Vec<AppCommand>) {
    // Edits go to a copy that goes out as a command: the panel never changes the app's state.
    let mut edited = draft.clone();
    let origins = std::sync::Arc::new(st.template_origins.clone());
    ui.ctx().data_mut(|d| d.insert_temp(origins_id(), origins));
    if edit_setup(ui, &mut edited, st) {
        cmds.push(AppCommand::SetDraft(Box::new(edited)));
    }
    if std::mem::take(&mut st.pick_handler) {
        cmds.push(AppCommand::PickHandler);
    }
    if let Some(on) = st.watch_toggled.take() {
        cmds.push(AppCommand::SetWatchHandler(on));
    }
}

/// Draws the setup over a draft, editing it in place; true when something changed.
fn edit_setup(ui: &mut Ui, draft: &mut RunSpec, st: &mut SetupState) -> bool {
    let pal = Palette::of(ui.visuals());
    let mut changed = false;
    let errors = draft.settings.validate();
    st.errors = errors.iter().map(ToString::to_string).collect();

    egui::ScrollArea::vertical()
        .id_salt("setup-scroll")
        .show(ui, |ui| {
            let (stream_changed, _, _) = stream_ui(ui, draft, st, &pal);
            changed |= stream_changed;
            let steps = draft
                .generator()
                .map_or(draft.reshard.steps.len(), |o| o.reshard.steps.len());
            egui::CollapsingHeader::new(format!("Resharding ({steps})"))
                // A stream that starts resharding opens the section: a new id, so egui's
                // remembered open state of the empty section does not hide the new steps.
                .id_salt(("resharding", steps > 0))
                .default_open(steps > 0)
                .show(ui, |ui| changed |= reshard::reshard_ui(ui, draft, st, &pal));
            let gen_opts = draft.generator();
            let source = gen_opts.as_ref().map_or(draft.stream_source, |o| o.source);
            ui.separator();
            ui.heading("Event source mapping");
            origins_ui(ui, st, &pal);
            changed |= mapping_ui(ui, &mut draft.settings, source, &errors, &pal);
            ui.separator();
            ui.heading("Handler");
            changed |= handler_ui(ui, draft, st, source, &pal);
            if let Some(o) = gen_opts {
                changed |= generator_ui(ui, draft, st, o, &pal);
            }
        });
    changed
}

/// The settings a template gave, each with the file and property it came from. Edits made
/// here afterwards win, as flags do on the command line.
fn origins_ui(ui: &mut Ui, st: &SetupState, pal: &Palette) {
    if st.template_origins.is_empty() {
        return;
    }
    egui::CollapsingHeader::new(format!("From the template ({})", st.template_origins.len()))
        .id_salt("template-origins")
        .default_open(true)
        .show(ui, |ui| {
            for o in &st.template_origins {
                ui.label(
                    RichText::new(format!("{} = {}", o.setting, o.value))
                        .monospace()
                        .small(),
                );
                ui.label(
                    RichText::new(format!("  from {}", o.from))
                        .small()
                        .color(pal.dim),
                );
            }
        });
}

/// The mapping's parameters, the modelling choices and the simulator's settings.
fn mapping_ui(
    ui: &mut Ui,
    s: &mut crate::model::settings::Settings,
    source: Source,
    errors: &[SettingError],
    pal: &Palette,
) -> bool {
    let mut changed = false;
    changed |= labelled(
        ui,
        "TumblingWindowInSeconds",
        "0–900 (0: none)",
        &mut s.tumbling_window_s,
        errors,
        "TumblingWindowInSeconds",
        pal,
    );
    changed |= labelled(
        ui,
        "BatchSize",
        "1–10000",
        &mut s.batch_size,
        errors,
        "BatchSize",
        pal,
    );
    changed |= labelled(
        ui,
        "MaximumBatchingWindowInSeconds",
        "0–300",
        &mut s.max_batching_window_s,
        errors,
        "MaximumBatchingWindowInSeconds",
        pal,
    );
    changed |= labelled(
        ui,
        "ParallelizationFactor",
        "1 with windows",
        &mut s.parallelization_factor,
        errors,
        "ParallelizationFactor",
        pal,
    );
    changed |= labelled(
        ui,
        "MaximumRetryAttempts",
        "-1 (infinite)–10000",
        &mut s.max_retry_attempts,
        errors,
        "MaximumRetryAttempts",
        pal,
    );
    changed |= labelled(
        ui,
        "MaximumRecordAgeInSeconds",
        "-1 (infinite) or 60–604800",
        &mut s.max_record_age_s,
        errors,
        "MaximumRecordAgeInSeconds",
        pal,
    );
    changed |= ui
        .checkbox(&mut s.bisect_on_error, "BisectBatchOnFunctionError")
        .changed();
    changed |= ui
        .checkbox(&mut s.report_batch_item_failures, "ReportBatchItemFailures")
        .changed();

    changed |= sections_ui(ui, s, source, errors, pal);

    changed
}

/// The mapping's collapsible sections: where it starts, its filters, the environments, the
/// modelling choices and the simulator's settings.
fn sections_ui(
    ui: &mut Ui,
    s: &mut crate::model::settings::Settings,
    source: Source,
    errors: &[SettingError],
    pal: &Palette,
) -> bool {
    let mut changed = false;
    egui::CollapsingHeader::new("Starting position and backlog")
        .default_open(false)
        .show(ui, |ui| {
            changed |= position::position_ui(ui, s, source, errors, pal)
        });
    egui::CollapsingHeader::new(format!("FilterCriteria ({})", s.filters.len()))
        .id_salt("filter-criteria")
        .default_open(!s.filters.is_empty())
        .show(ui, |ui| {
            changed |= filters::filters_ui(ui, s, source, errors, pal)
        });
    egui::CollapsingHeader::new("Execution environments (user handlers)")
        .default_open(false)
        .show(ui, |ui| {
            changed |= environments::environments_ui(ui, s, errors, pal)
        });
    egui::CollapsingHeader::new("Modelling choices (not documented by AWS)")
        .default_open(true)
        .show(ui, |ui| changed |= modelling_ui(ui, s, errors, pal));
    egui::CollapsingHeader::new("Simulation")
        .default_open(false)
        .show(ui, |ui| {
            changed |= simulation_ui(ui, s, source, errors, pal)
        });
    changed
}

/// The modelling choices for what AWS does not document (SEMANTICS §12).
fn modelling_ui(
    ui: &mut Ui,
    s: &mut crate::model::settings::Settings,
    errors: &[SettingError],
    pal: &Palette,
) -> bool {
    let mut changed = false;
    changed |= labelled(
        ui,
        "Window close grace (s)",
        "0–120",
        &mut s.close_grace_s,
        errors,
        "window close grace",
        pal,
    );
    ui.horizontal(|ui| {
        ui.label("Grace counts from");
        changed |= ui
            .radio_value(&mut s.grace_from, GraceFrom::WindowEnd, "window end")
            .changed();
        changed |= ui
            .radio_value(&mut s.grace_from, GraceFrom::LastRecord, "last record")
            .changed();
    });
    ui.horizontal(|ui| {
        ui.label("End of input");
        changed |= ui
            .radio_value(&mut s.end_of_input, EndOfInput::Open, "stream stays open")
            .changed();
        changed |= ui
            .radio_value(&mut s.end_of_input, EndOfInput::ShardEnd, "shard ends")
            .changed();
    });
    for (value, label) in [
        (
            &mut s.early_termination_is_final,
            "Early termination is also final (Q3)",
        ),
        (
            &mut s.strict_final_state,
            "Final invocation must return state (Q5)",
        ),
        (
            &mut s.final_includes_tail_records,
            "Final invocation carries the last batch (Q1)",
        ),
        (
            &mut s.discard_state_on_partial_failure,
            "Keep old state on partial failure (Q7)",
        ),
    ] {
        changed |= ui.checkbox(value, label).changed();
    }
    changed |= ui
        .checkbox(&mut s.carry_state_across_windows, RichText::new("Carry state across windows — NOT AWS, teaching mode").color(pal.warn))
        .on_hover_text("AWS starts every window with {}. The 2020 blog's figure shows a running total across windows; this mode reproduces it.")
        .changed();
    changed
}

/// Polling, modelled durations, backoff, the simulator's limits and the seed.
fn simulation_ui(
    ui: &mut Ui,
    s: &mut crate::model::settings::Settings,
    source: Source,
    errors: &[SettingError],
    pal: &Palette,
) -> bool {
    let polling = polling_ui(ui, s, source, errors, pal);
    let model = model_ui(ui, s, errors, pal);
    polling || model
}

/// How often the poller reads a shard, idle and catching up.
fn polling_ui(
    ui: &mut Ui,
    s: &mut crate::model::settings::Settings,
    source: Source,
    errors: &[SettingError],
    pal: &Palette,
) -> bool {
    let mut changed = false;
    let mut poll = s
        .poll_interval_ms
        .unwrap_or(source.poll_interval_ms() as u32);
    if labelled(
        ui,
        "Poll interval (ms)",
        "idle",
        &mut poll,
        errors,
        "poll interval",
        pal,
    ) {
        s.poll_interval_ms = Some(poll);
        changed = true;
    }
    let mut read = s.read_interval_ms.unwrap_or(s.read_gap_ms(source) as u32);
    if labelled(
        ui,
        "Read interval (ms)",
        "catching up",
        &mut read,
        errors,
        "read interval",
        pal,
    ) {
        s.read_interval_ms = Some(read);
        changed = true;
    }
    changed
}

/// Modelled durations, backoff, the simulator's limits and the seed.
fn model_ui(
    ui: &mut Ui,
    s: &mut crate::model::settings::Settings,
    errors: &[SettingError],
    pal: &Palette,
) -> bool {
    let mut changed = false;
    changed |= labelled(
        ui,
        "Duration base (ms)",
        "model",
        &mut s.duration_base_ms,
        errors,
        "",
        pal,
    );
    changed |= labelled(
        ui,
        "Duration per record (µs)",
        "model",
        &mut s.duration_per_record_us,
        errors,
        "",
        pal,
    );
    changed |= labelled(
        ui,
        "Retry backoff (ms)",
        "doubles",
        &mut s.retry_backoff_ms,
        errors,
        "",
        pal,
    );
    changed |= labelled(
        ui,
        "Stall after attempts",
        "simulator limit",
        &mut s.stall_after_attempts,
        errors,
        "stall after attempts",
        pal,
    );
    changed |= labelled(
        ui,
        "Attempt limit",
        "simulator limit, per batch",
        &mut s.attempt_limit,
        errors,
        "attempt limit",
        pal,
    );
    changed |= labelled(ui, "Seed", "", &mut s.seed, errors, "", pal);
    changed
}

/// What a user handler runs in, and whether saving its files re-runs.
fn external_handler_ui(ui: &mut Ui, st: &mut SetupState, pal: &Palette) {
    ui.label(
        RichText::new("Your handler runs in its own Node.js or Python process with offline AWS SDK stand-ins (DynamoDB); its logs and writes appear per invocation.")
            .small()
            .color(pal.dim),
    );
    let mut watch = st.watch_handler;
    if ui
        .checkbox(&mut watch, "Re-run when its folder changes")
        .on_hover_text("Saving the handler, or a file next to it, simulates again and keeps the selection; if the new code fails, the last good run stays")
        .changed()
    {
        st.watch_toggled = Some(watch);
    }
}

fn handler_ui(
    ui: &mut Ui,
    draft: &mut RunSpec,
    st: &mut SetupState,
    source: Source,
    pal: &Palette,
) -> bool {
    let mut changed = false;
    ui.horizontal(|ui| {
        if ui
            .button("Handler file…")
            .on_hover_text(
                "Run your own Lambda handler: a .js/.mjs/.cjs (Node.js) or .py (Python) file",
            )
            .clicked()
        {
            st.pick_handler = true;
        }
        let builtin = crate::handlers::default_spec(source);
        if crate::handlers::is_external(&draft.handler) && ui.button("Use built-in sum").clicked() {
            draft.handler = builtin.to_owned();
            st.handler_text = None;
            changed = true;
        }
    });
    if crate::handlers::is_external(&draft.handler) {
        external_handler_ui(ui, st, pal);
    }
    let mut spec = BuiltinSpec::parse(&draft.handler).ok();
    if let Some(sp) = spec.as_mut() {
        let mut op = sp.op;
        egui::ComboBox::from_label("Aggregation")
            .selected_text(op.name())
            .show_ui(ui, |ui| {
                for o in [AggOp::Sum, AggOp::Count, AggOp::Min, AggOp::Max, AggOp::Avg] {
                    ui.selectable_value(&mut op, o, o.name());
                }
            });
        if op != sp.op {
            sp.op = op;
            if sp.path.is_none() && op != AggOp::Count {
                sp.path = Some(crate::json::path::Path::parse(sales_path(source)));
            }
            draft.handler = sp.to_string();
            st.handler_text = None;
            changed = true;
        }
    }
    ui.label(RichText::new(match source {
        Source::Kinesis => "Field: a dotted path into the JSON payload (e.g. Item.sales). Options: :by=pk or :by=FIELD, :fail=FIELD>=N.",
        Source::Dynamodb => "Field: a NewImage attribute (e.g. sales). Options: :by=pk or :by=FIELD, :events=INSERT,MODIFY, :fail=FIELD>=N.",
    }).small().color(pal.dim));
    let text = st.handler_text.get_or_insert_with(|| draft.handler.clone());
    ui.horizontal(|ui| {
        let l = ui.label("Spec");
        let resp = ui
            .add(
                egui::TextEdit::singleline(text)
                    .font(egui::TextStyle::Monospace)
                    .desired_width(f32::INFINITY),
            )
            .labelled_by(l.id);
        if resp.changed() && crate::handlers::check_spec(text).is_ok() && *text != draft.handler {
            draft.handler = text.clone();
            changed = true;
        }
    });
    if let Err(e) = crate::handlers::check_spec(text) {
        ui.colored_label(pal.error, &e);
        st.errors.push(e);
    }
    changed
}
