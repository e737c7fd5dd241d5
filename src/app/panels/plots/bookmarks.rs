//! The Bookmarks tab: each marked invocation with its note (editable), Go and Remove.

use egui::{RichText, Ui};

use crate::app::command::AppCommand;
use crate::app::session::{Bookmark, Run};
use crate::model::clock_seconds;

pub(super) fn bookmarks_ui(
    ui: &mut Ui,
    run: &Run,
    bookmarks: &[Bookmark],
    cmds: &mut Vec<AppCommand>,
) {
    if bookmarks.is_empty() {
        ui.label("No bookmarks yet: select an invocation and press B (or Bookmark above).");
        return;
    }
    egui::ScrollArea::vertical()
        .auto_shrink([false, true])
        .show(ui, |ui| {
            egui::Grid::new("bookmarks").striped(true).show(ui, |ui| {
                for b in bookmarks {
                    row_ui(ui, run, b, cmds);
                    ui.end_row();
                }
            });
        });
}

fn row_ui(ui: &mut Ui, run: &Run, b: &Bookmark, cmds: &mut Vec<AppCommand>) {
    let k = b.invocation.saturating_sub(1);
    let inv = run.trace.invocations.get(k as usize);
    if ui.button(format!("Go to {}", b.invocation)).clicked() && inv.is_some() {
        cmds.push(AppCommand::Select(k));
    }
    match inv {
        Some(inv) => ui.label(format!(
            "shard {}, {} {}",
            inv.shard,
            inv.kind.name(),
            inv.window().map_or(String::new(), |w| format!(
                "in {}",
                clock_seconds(w.start_ms)
            ))
        )),
        None => ui.label(RichText::new("not in this run").weak()),
    };
    let mut note = b.note.clone();
    let label = format!("Note for invocation {}", b.invocation);
    let edit = ui.add(
        egui::TextEdit::singleline(&mut note)
            .desired_width(320.0)
            .hint_text("what to remember here"),
    );
    edit.widget_info(|| egui::WidgetInfo::labeled(egui::Role::TextInput, true, &label));
    if edit.changed() {
        cmds.push(AppCommand::SetBookmarkNote(b.invocation, note));
    }
    if ui.small_button("Remove").clicked() {
        cmds.push(AppCommand::RemoveBookmark(b.invocation));
    }
}
