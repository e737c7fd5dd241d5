//! Collapsible JSON trees with the values that changed against another JSON highlighted.

use egui::{Color32, RichText, Ui};
use serde_json::Value;

/// Shows `value` as a tree. With `before`, keys whose value differs from it (or are new) are
/// highlighted. `id` keeps each node's open/closed state stable across frames.
pub fn json_tree_ui(
    ui: &mut Ui,
    id: &str,
    value: &Value,
    before: Option<&Value>,
    changed: Color32,
) {
    let ctx = Ctx {
        compare: before.is_some(),
        changed,
    };
    node_ui(ui, &ctx, id, None, value, before, 0);
}

struct Ctx {
    compare: bool,
    changed: Color32,
}

/// Objects with more entries than this start collapsed.
const OPEN_UP_TO: usize = 40;
/// Entries drawn per object before "… N more" (very large states).
const MAX_ENTRIES: usize = 500;

fn node_ui(
    ui: &mut Ui,
    c: &Ctx,
    path: &str,
    key: Option<&str>,
    v: &Value,
    before: Option<&Value>,
    depth: usize,
) {
    let differs = c.compare && depth > 0 && before != Some(v);
    let paint = |t: RichText| {
        if differs {
            t.color(c.changed).strong()
        } else {
            t
        }
    };
    let child_before = |k: &str| -> Option<&Value> {
        c.compare
            .then(|| before.and_then(|b| b.get(k)).unwrap_or(&Value::Null))
    };
    match v {
        Value::Object(map) if !map.is_empty() => {
            let header = format!(
                "{}{{{} keys}}",
                key.map(|k| format!("{k}: ")).unwrap_or_default(),
                map.len()
            );
            egui::CollapsingHeader::new(paint(RichText::new(header).monospace()))
                .id_salt(path)
                .default_open(depth == 0 || map.len() <= OPEN_UP_TO)
                .show(ui, |ui| {
                    for (k, child) in map.iter().take(MAX_ENTRIES) {
                        node_ui(
                            ui,
                            c,
                            &format!("{path}.{k}"),
                            Some(k),
                            child,
                            child_before(k),
                            depth + 1,
                        );
                    }
                    if map.len() > MAX_ENTRIES {
                        ui.label(format!("… {} more", map.len() - MAX_ENTRIES));
                    }
                });
        }
        Value::Array(items) if !items.is_empty() => {
            let header = format!(
                "{}[{} items]",
                key.map(|k| format!("{k}: ")).unwrap_or_default(),
                items.len()
            );
            egui::CollapsingHeader::new(paint(RichText::new(header).monospace()))
                .id_salt(path)
                .default_open(items.len() <= OPEN_UP_TO)
                .show(ui, |ui| {
                    for (i, child) in items.iter().take(MAX_ENTRIES).enumerate() {
                        let b = c
                            .compare
                            .then(|| before.and_then(|b| b.get(i)).unwrap_or(&Value::Null));
                        node_ui(
                            ui,
                            c,
                            &format!("{path}[{i}]"),
                            Some(&i.to_string()),
                            child,
                            b,
                            depth + 1,
                        );
                    }
                });
        }
        scalar => {
            ui.horizontal(|ui| {
                if let Some(k) = key {
                    ui.label(paint(RichText::new(format!("{k}:")).monospace()));
                }
                ui.label(paint(RichText::new(scalar.to_string()).monospace()));
            });
        }
    }
}
