//! FilterCriteria: the mapping's filter patterns, each checked as it is typed.

use egui::{RichText, Ui};

use crate::app::theme::Palette;
use crate::filter::FilterCriteria;
use crate::model::Source;
use crate::model::settings::{SettingError, Settings};

/// The filter patterns; true when one changed. A pattern that does not compile shows Lambda's
/// objection under it (the run keeps the last good result until it does).
pub(super) fn filters_ui(
    ui: &mut Ui,
    s: &mut Settings,
    source: Source,
    errors: &[SettingError],
    pal: &Palette,
) -> bool {
    let mut changed = false;
    ui.label(
        RichText::new(
            "A record reaches the function when any filter matches; the others are skipped \
             and do not count toward BatchSize.",
        )
        .small()
        .color(pal.dim),
    );
    let mut remove = None;
    for (k, pattern) in s.filters.iter_mut().enumerate() {
        ui.horizontal(|ui| {
            let label = ui.label(format!("Filter {}", k + 1));
            changed |= ui
                .add(
                    egui::TextEdit::multiline(pattern)
                        .code_editor()
                        .desired_rows(1)
                        .desired_width(260.0),
                )
                .labelled_by(label.id)
                .changed();
            if ui.small_button("Remove").clicked() {
                remove = Some(k);
            }
        });
        if let Err(e) = FilterCriteria::compile(std::slice::from_ref(pattern), source, 10) {
            ui.colored_label(
                pal.error,
                e.replacen("filter 1", &format!("filter {}", k + 1), 1),
            );
        }
    }
    if let Some(k) = remove {
        s.filters.remove(k);
        changed = true;
    }
    if ui
        .add_enabled(
            s.filters.len() < s.filter_quota as usize,
            egui::Button::new("Add filter"),
        )
        .clicked()
    {
        s.filters.push(
            match source {
                Source::Kinesis => r#"{"data": {"Item": {"sales": [{"numeric": [">", 50]}]}}}"#,
                Source::Dynamodb => r#"{"eventName": ["INSERT"]}"#,
            }
            .to_owned(),
        );
        changed = true;
    }
    changed |= ui
        .checkbox(
            &mut s.filtered_records_close_windows,
            "A filtered-out record of a later window closes the window",
        )
        .on_hover_text("Modelling choice: AWS does not document it (off: the engine never sees records no filter matches)")
        .changed();
    changed |= super::labelled(
        ui,
        "Filter quota",
        "5 (default) – 10 (quota increase)",
        &mut s.filter_quota,
        errors,
        "filter quota",
        pal,
    );
    changed
}
