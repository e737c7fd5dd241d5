//! Where the stream comes from: the source kind and shards, a file's input mapping, and the
//! generator's options.

use egui::{RichText, Ui};

use super::{SetupState, labelled};
use crate::app::theme::Palette;
use crate::generate::{GenOptions, KeyStrategy, sales_path};
use crate::model::Source;
use crate::run::{RunSpec, SourceSpec};

/// Source, shards and (for files) the input mapping. Returns whether something changed, the
/// generator options (when the stream is generated) and the source.
pub(super) fn stream_ui(
    ui: &mut Ui,
    draft: &mut RunSpec,
    st: &mut SetupState,
    pal: &Palette,
) -> (bool, Option<GenOptions>, Source) {
    let mut changed = false;
    ui.heading("Stream");
    ui.label(RichText::new(draft.describe()).small().color(pal.dim));
    let mut gen_opts = draft.generator();
    let is_file = matches!(draft.source, SourceSpec::Files { .. });
    let literal = gen_opts.is_none() && !is_file;
    let mut source = gen_opts.as_ref().map_or(draft.stream_source, |o| o.source);
    ui.horizontal(|ui| {
        ui.label("Source");
        ui.add_enabled_ui(!literal, |ui| {
            changed |= ui
                .radio_value(&mut source, Source::Kinesis, "Kinesis")
                .changed();
            changed |= ui
                .radio_value(&mut source, Source::Dynamodb, "DynamoDB")
                .changed();
        });
    });
    let mut shards = gen_opts.as_ref().map_or(draft.shards, |o| o.shards);
    ui.add_enabled_ui(!literal, |ui| {
        ui.horizontal(|ui| {
            let l = ui.label("Shards");
            changed |= ui
                .add(egui::DragValue::new(&mut shards).range(1..=64))
                .labelled_by(l.id)
                .changed();
            ui.label(RichText::new("1–64 in the app").small().color(pal.dim));
        });
    });
    if source != draft.stream_source
        || shards != draft.shards
        || gen_opts
            .as_ref()
            .is_some_and(|o| o.source != source || o.shards != shards)
    {
        let old_default = sales_path(draft.stream_source);
        draft.stream_source = source;
        draft.shards = shards;
        if let Some(o) = gen_opts.as_mut() {
            o.source = source;
            o.shards = shards;
            draft.source = SourceSpec::Generated { options: o.clone() };
        }
        // Follow the source's natural field when the handler used the other one.
        if draft.handler.contains(old_default) {
            draft.handler = draft.handler.replace(old_default, sales_path(source));
            st.handler_text = None;
        }
    }

    if is_file {
        changed |= input_ui(ui, draft, pal);
    }

    (changed, gen_opts, source)
}

/// The generator's options for a generated stream.
pub(super) fn generator_ui(
    ui: &mut Ui,
    draft: &mut RunSpec,
    st: &mut SetupState,
    mut o: GenOptions,
    pal: &Palette,
) -> bool {
    ui.separator();
    ui.heading("Generator");
    let mut g = false;
    g |= labelled(ui, "Orders", "", &mut o.count, &[], "", pal);
    g |= labelled(
        ui,
        "Interval (ms)",
        "mean gap",
        &mut o.interval_ms,
        &[],
        "",
        pal,
    );
    ui.horizontal(|ui| {
        let l = ui.label("Jitter");
        g |= ui
            .add(egui::Slider::new(&mut o.jitter, 0.0..=1.0))
            .labelled_by(l.id)
            .changed();
    });
    let text = st.keys_text.get_or_insert_with(|| key_text(&o.keys));
    ui.horizontal(|ui| {
        let l = ui.label("Keys");
        if ui.text_edit_singleline(text).labelled_by(l.id).changed()
            && let Ok(k) = KeyStrategy::parse(text)
        {
            o.keys = k;
            g = true;
        }
    });
    if let Err(e) = KeyStrategy::parse(text) {
        ui.colored_label(pal.error, e);
    }
    g |= labelled(ui, "Generator seed", "", &mut o.seed, &[], "", pal);
    if let Err(e) = o.check() {
        ui.colored_label(pal.error, &e);
        st.errors.push(e);
    }
    if g {
        draft.source = SourceSpec::Generated { options: o };
    }
    g
}

/// Input format and field mapping for files.
fn input_ui(ui: &mut Ui, draft: &mut RunSpec, pal: &Palette) -> bool {
    use crate::ingest::{Format, TsUnit};
    let mut changed = false;
    let inp = &mut draft.input;
    egui::ComboBox::from_label("Format")
        .selected_text(inp.format.map_or("detect from content", Format::name))
        .show_ui(ui, |ui| {
            changed |= ui
                .selectable_value(&mut inp.format, None, "detect from content")
                .changed();
            for f in Format::ALL {
                changed |= ui
                    .selectable_value(&mut inp.format, Some(f), f.name())
                    .changed();
            }
        });
    ui.label(
        RichText::new("Generic JSON Lines and CSV: which fields hold what.")
            .small()
            .color(pal.dim),
    );
    let mut text_row = |ui: &mut Ui, name: &str, value: &mut String| {
        ui.horizontal(|ui| {
            let l = ui.label(name);
            if ui
                .text_edit_singleline(value)
                .labelled_by(l.id)
                .lost_focus()
            {
                changed = true;
            }
        });
    };
    text_row(ui, "Timestamp field", &mut inp.fields.timestamp);
    text_row(ui, "Partition key field", &mut inp.fields.partition_key);
    let mut shard = inp.fields.shard.clone().unwrap_or_default();
    text_row(ui, "Shard field (optional)", &mut shard);
    inp.fields.shard = (!shard.trim().is_empty()).then(|| shard.trim().to_owned());
    egui::ComboBox::from_label("Timestamp unit")
        .selected_text(format!("{:?}", inp.fields.unit).to_lowercase())
        .show_ui(ui, |ui| {
            for u in [
                TsUnit::Auto,
                TsUnit::Seconds,
                TsUnit::Millis,
                TsUnit::Rfc3339,
            ] {
                changed |= ui
                    .selectable_value(&mut inp.fields.unit, u, format!("{u:?}").to_lowercase())
                    .changed();
            }
        });
    changed |= ui
        .checkbox(&mut inp.skip_bad, "Skip bad records (and list them)")
        .changed();
    changed
}

fn key_text(k: &KeyStrategy) -> String {
    match k {
        KeyStrategy::Fixed { key } => format!("fixed:{key}"),
        KeyStrategy::Uniform { n } => format!("uniform:{n}"),
        KeyStrategy::Skewed { n, exponent } => format!("skewed:{n}:{exponent}"),
        KeyStrategy::PerShard => "per-shard".into(),
    }
}

/// Sets the generator options of a draft (used by tests and presets).
pub fn set_generator(draft: &mut RunSpec, opts: GenOptions) {
    draft.stream_source = opts.source;
    draft.shards = opts.shards;
    draft.source = SourceSpec::Generated { options: opts };
}
