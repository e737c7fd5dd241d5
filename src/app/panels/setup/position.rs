//! Where the mapping starts reading: StartingPosition and its timestamp, when the mapping is
//! created (a backlog before it), and the stream's retention.

use egui::{RichText, Ui};

use crate::app::theme::Palette;
use crate::model::Source;
use crate::model::settings::{SettingError, Settings, StartingPosition};

/// The starting-position settings; true when one changed.
pub(super) fn position_ui(
    ui: &mut Ui,
    s: &mut Settings,
    source: Source,
    errors: &[SettingError],
    pal: &Palette,
) -> bool {
    let mut changed = false;
    ui.horizontal(|ui| {
        let label = ui.label("StartingPosition");
        egui::ComboBox::from_id_salt("starting-position")
            .selected_text(s.starting_position.api_name())
            .show_ui(ui, |ui| {
                for p in [StartingPosition::TrimHorizon, StartingPosition::Latest] {
                    changed |= ui
                        .selectable_value(&mut s.starting_position, p, p.api_name())
                        .changed();
                }
                // "AT_TIMESTAMP is supported only for Amazon Kinesis streams" (Lambda API).
                ui.add_enabled_ui(source == Source::Kinesis, |ui| {
                    changed |= ui
                        .selectable_value(
                            &mut s.starting_position,
                            StartingPosition::AtTimestamp,
                            "AT_TIMESTAMP",
                        )
                        .on_disabled_hover_text("Kinesis only")
                        .changed();
                });
            })
            .response
            .labelled_by(label.id);
    });
    if s.starting_position == StartingPosition::AtTimestamp {
        if s.starting_position_timestamp_ms.is_none() {
            s.starting_position_timestamp_ms = s.mapping_start_ms;
        }
        changed |= time_field(
            ui,
            "StartingPositionTimestamp",
            &mut s.starting_position_timestamp_ms,
            "required",
            pal,
        );
    } else if s.starting_position_timestamp_ms.take().is_some() {
        changed = true;
    }
    changed |= time_field(
        ui,
        "Mapping created at",
        &mut s.mapping_start_ms,
        "empty: just before the first record (simulator)",
        pal,
    );
    ui.add_enabled_ui(source == Source::Kinesis, |ui| {
        changed |= super::labelled(
            ui,
            "Retention (hours)",
            if source == Source::Kinesis {
                "24–8760"
            } else {
                "DynamoDB Streams: 24"
            },
            &mut s.retention_hours,
            errors,
            "RetentionPeriodHours",
            pal,
        );
    });
    for e in errors
        .iter()
        .filter(|e| e.setting.starts_with("StartingPosition"))
    {
        ui.colored_label(pal.error, e.to_string());
    }
    changed
}

/// An optional instant typed as RFC 3339 (or Unix seconds). The text is kept as typed in egui's
/// memory while it does not parse, with the problem shown under it; the setting changes only
/// to a valid instant, or to none when the field is emptied.
fn time_field(ui: &mut Ui, name: &str, value: &mut Option<i64>, hint: &str, pal: &Palette) -> bool {
    let id = ui.make_persistent_id(("time-field", name));
    let shown = value.map(crate::model::iso_millis).unwrap_or_default();
    let mut text: String = ui.data(|d| d.get_temp(id)).unwrap_or_else(|| shown.clone());
    let mut changed = false;
    ui.horizontal(|ui| {
        let label = ui.label(name);
        let edit = ui
            .add(
                egui::TextEdit::singleline(&mut text)
                    .hint_text(hint)
                    .desired_width(210.0),
            )
            .labelled_by(label.id);
        if edit.changed() {
            let parsed = parse_time_text(&text);
            if let Ok(v) = parsed
                && v != *value
            {
                *value = v;
                changed = true;
            }
        }
        if !edit.has_focus() && parse_time_text(&text).is_ok() {
            text = value.map(crate::model::iso_millis).unwrap_or_default();
        }
    });
    if let Err(e) = parse_time_text(&text) {
        ui.colored_label(pal.error, e);
    } else {
        ui.label(RichText::new(hint).small().color(pal.dim));
    }
    ui.data_mut(|d| d.insert_temp(id, text));
    changed
}

/// Empty: none; else RFC 3339 or Unix seconds.
fn parse_time_text(text: &str) -> Result<Option<i64>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    crate::model::parse_instant(t).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_typed_as_rfc3339_or_unix_seconds() {
        assert_eq!(parse_time_text("  "), Ok(None));
        assert_eq!(
            parse_time_text("2026-01-01T12:00:00Z"),
            Ok(Some(1_767_268_800_000))
        );
        assert_eq!(parse_time_text("1767268800.5"), Ok(Some(1_767_268_800_500)));
        assert!(
            parse_time_text("noon")
                .unwrap_err()
                .contains("is not a time")
        );
    }
}
