//! Bookmarks: invocations marked with a note, kept sorted by number and saved with the
//! session.

use super::command::AppCommand;
use super::session::Bookmark;
use super::{StatusLine, TumbleApp};

impl TumbleApp {
    pub(super) fn apply_bookmark(&mut self, cmd: AppCommand) {
        match cmd {
            AppCommand::ToggleBookmark => {
                // No run on screen (a big run's re-run): nothing to mark.
                let Some(n) = self.selected.filter(|_| self.run.is_some()).map(|k| k + 1) else {
                    return;
                };
                match self.bookmarks.binary_search_by_key(&n, |b| b.invocation) {
                    Ok(at) => {
                        self.bookmarks.remove(at);
                        self.status =
                            StatusLine::info(format!("Bookmark on invocation {n} removed"));
                    }
                    Err(at) => {
                        self.bookmarks.insert(
                            at,
                            Bookmark {
                                invocation: n,
                                note: String::new(),
                            },
                        );
                        self.status = StatusLine::info(format!(
                            "Invocation {n} bookmarked; write a note in the Bookmarks tab"
                        ));
                    }
                }
            }
            AppCommand::SetBookmarkNote(n, note) => {
                if let Ok(at) = self.bookmarks.binary_search_by_key(&n, |b| b.invocation) {
                    self.bookmarks[at].note = note;
                }
            }
            AppCommand::RemoveBookmark(n) => self.bookmarks.retain(|b| b.invocation != n),
            _ => {}
        }
    }
}
