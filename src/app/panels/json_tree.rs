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

/// Where a node sits: its id path, the key it is shown under, the value it is compared with and
/// its depth.
struct Node<'a> {
    path: &'a str,
    key: Option<&'a str>,
    before: Option<&'a Value>,
    depth: usize,
}

impl Node<'_> {
    /// The key as a prefix of the node's text ("key: "), or nothing at the root.
    fn key_prefix(&self) -> String {
        self.key.map(|k| format!("{k}: ")).unwrap_or_default()
    }
}

fn node_ui(
    ui: &mut Ui,
    c: &Ctx,
    path: &str,
    key: Option<&str>,
    v: &Value,
    before: Option<&Value>,
    depth: usize,
) {
    let node = Node {
        path,
        key,
        before,
        depth,
    };
    let differs = c.compare && depth > 0 && before != Some(v);
    let paint = |t: RichText| {
        if differs {
            t.color(c.changed).strong()
        } else {
            t
        }
    };
    match v {
        Value::Object(map) if !map.is_empty() => object_ui(ui, c, &node, map, paint),
        Value::Array(items) if !items.is_empty() => array_ui(ui, c, &node, items, paint),
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

fn object_ui(
    ui: &mut Ui,
    c: &Ctx,
    node: &Node,
    map: &serde_json::Map<String, Value>,
    paint: impl Fn(RichText) -> RichText,
) {
    let header = format!("{}{{{} keys}}", node.key_prefix(), map.len());
    egui::CollapsingHeader::new(paint(RichText::new(header).monospace()))
        .id_salt(node.path)
        .default_open(node.depth == 0 || map.len() <= OPEN_UP_TO)
        .show(ui, |ui| {
            for (k, child) in map.iter().take(MAX_ENTRIES) {
                let before = c
                    .compare
                    .then(|| node.before.and_then(|b| b.get(k)).unwrap_or(&Value::Null));
                let path = format!("{}.{k}", node.path);
                node_ui(ui, c, &path, Some(k), child, before, node.depth + 1);
            }
            if map.len() > MAX_ENTRIES {
                ui.label(format!("… {} more", map.len() - MAX_ENTRIES));
            }
        });
}

fn array_ui(
    ui: &mut Ui,
    c: &Ctx,
    node: &Node,
    items: &[Value],
    paint: impl Fn(RichText) -> RichText,
) {
    let header = format!("{}[{} items]", node.key_prefix(), items.len());
    egui::CollapsingHeader::new(paint(RichText::new(header).monospace()))
        .id_salt(node.path)
        .default_open(items.len() <= OPEN_UP_TO)
        .show(ui, |ui| {
            for (i, child) in items.iter().take(MAX_ENTRIES).enumerate() {
                let before = c
                    .compare
                    .then(|| node.before.and_then(|b| b.get(i)).unwrap_or(&Value::Null));
                let path = format!("{}[{i}]", node.path);
                node_ui(
                    ui,
                    c,
                    &path,
                    Some(&i.to_string()),
                    child,
                    before,
                    node.depth + 1,
                );
            }
        });
}
