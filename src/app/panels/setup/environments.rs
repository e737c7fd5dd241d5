//! Execution environments for user handlers: one per shard or one shared, recycling, the
//! modelled init duration of a cold start, and the function's timeout.

use egui::{RichText, Ui};

use crate::app::theme::Palette;
use crate::model::settings::{SettingError, Settings};

/// The environment settings; true when one changed.
pub(super) fn environments_ui(
    ui: &mut Ui,
    s: &mut Settings,
    errors: &[SettingError],
    pal: &Palette,
) -> bool {
    let mut changed = ui
        .checkbox(&mut s.shared_runtime, "One runtime for all shards")
        .on_hover_text(
            "Module-level variables are then shared between shards, and shards run one \
             after another; on AWS concurrently processed shards run in different execution \
             environments",
        )
        .changed();
    changed |= ui
        .checkbox(&mut s.shards_in_order, "Run shards one at a time")
        .on_hover_text(
            "Otherwise each shard's runtime works on a thread of its own, using every core; \
             the trace is the same either way",
        )
        .changed();
    ui.label(
        RichText::new(
            "Modelling choice: one environment per shard, cold on its first invocation. AWS \
             does not tie environments to shards and recycles them every few hours.",
        )
        .small()
        .color(pal.dim),
    );
    let fields: [(&str, &str, &mut u32, &str); 5] = [
        (
            "Function timeout (ms)",
            "1–900000; Lambda's default 3000",
            &mut s.timeout_ms,
            "timeout",
        ),
        (
            "Max environments",
            "simulator limit",
            &mut s.max_environments,
            "max environments",
        ),
        (
            "Recycle after invocations",
            "0: never",
            &mut s.recycle_after_invocations,
            "",
        ),
        ("Recycle after (s)", "0: never", &mut s.recycle_after_s, ""),
        (
            "Init duration (ms)",
            "cold start, modelled",
            &mut s.init_duration_ms,
            "init duration",
        ),
    ];
    for (name, range, value, setting) in fields {
        changed |= super::labelled(ui, name, range, value, errors, setting, pal);
    }
    changed
}
