//! Watching a user handler's folder (the `notify` crate): when the handler file or a file
//! next to it (a module it requires, a config it reads) is saved, the run is simulated again
//! in the background; the selection is kept, and if the new code fails the last good run
//! stays on screen with the error.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, unbounded};
use notify::{EventKind, RecursiveMode, Watcher};

/// Editors save in bursts (write, rename, chmod): wait this long after the last event.
pub const SETTLE: Duration = Duration::from_millis(300);

/// A watch on one folder.
pub struct HandlerWatch {
    /// The folder watched.
    pub dir: PathBuf,
    _watcher: notify::RecommendedWatcher,
    rx: Receiver<notify::Result<notify::Event>>,
    /// When the last relevant change was seen (cleared once acted on).
    changed_at: Option<Instant>,
    /// The file that changed last, for the status line.
    pub changed: Option<PathBuf>,
}

impl HandlerWatch {
    /// Watches the folder of `handler_file`; `wake` is called on each event (from notify's
    /// thread) so the UI looks without polling.
    pub fn new(handler_file: &Path, wake: impl Fn() + Send + 'static) -> Result<Self, String> {
        let dir = handler_file
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let (tx, rx) = unbounded();
        let mut watcher = notify::recommended_watcher(move |res| {
            tx.send(res).ok();
            wake();
        })
        .map_err(|e| format!("cannot watch {}: {e}", dir.display()))?;
        watcher
            .watch(&dir, RecursiveMode::NonRecursive)
            .map_err(|e| format!("cannot watch {}: {e}", dir.display()))?;
        Ok(Self {
            dir,
            _watcher: watcher,
            rx,
            changed_at: None,
            changed: None,
        })
    }

    /// Reads the events so far; `true` once changes have settled and a re-run is due. When
    /// changes are still settling, `wait` says how long to wait before asking again.
    pub fn poll(&mut self, now: Instant) -> (bool, Option<Duration>) {
        while let Ok(res) = self.rx.try_recv() {
            let Ok(event) = res else { continue };
            if !matches!(
                event.kind,
                EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
            ) {
                continue;
            }
            if let Some(p) = event.paths.iter().find(|p| relevant(p)) {
                self.changed = Some(p.clone());
                self.changed_at = Some(now);
            }
        }
        match self.changed_at {
            Some(at) if now.duration_since(at) >= SETTLE => {
                self.changed_at = None;
                (true, None)
            }
            Some(at) => (false, Some(SETTLE - now.duration_since(at))),
            None => (false, None),
        }
    }
}

impl super::TumbleApp {
    /// Keeps a watch on the shown run's handler folder (when it is the user's code and the
    /// preference is on), and re-runs once a change there has settled.
    pub(super) fn sync_watch(&mut self, ctx: &egui::Context) {
        let want = self
            .run
            .as_ref()
            .filter(|_| self.prefs.watch_handler)
            .and_then(|r| crate::handlers::external::ExternalSpec::parse(&r.spec.handler))
            .map(|e| e.path);
        let Some(file) = want else {
            self.watch = None;
            return;
        };
        let dir = file
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default();
        if self.watch.as_ref().is_none_or(|w| w.dir != dir) {
            let wake = ctx.clone();
            match HandlerWatch::new(&file, move || wake.request_repaint()) {
                Ok(w) => self.watch = Some(w),
                Err(e) => {
                    self.status = super::StatusLine::error(e);
                    self.prefs.watch_handler = false;
                    return;
                }
            }
        }
        let Some(w) = self.watch.as_mut() else { return };
        let (due, wait) = w.poll(Instant::now());
        if let Some(wait) = wait {
            ctx.request_repaint_after(wait);
        }
        if !due {
            return;
        }
        let changed = w
            .changed
            .as_ref()
            .map_or_else(String::new, |p| p.display().to_string());
        if let (Some(run), Some(k)) = (&self.run, self.selected)
            && let Some(inv) = run.trace.invocations.get(k as usize)
        {
            self.keep = Some((inv.shard, inv.start_ms));
        }
        self.status = super::StatusLine::info(format!("{changed} changed: simulating again…"));
        self.start_run();
    }
}

/// Source files and their data, not editors' swap and backup files.
fn relevant(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    !(name.starts_with('.')
        || name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".tmp"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swap_and_backup_files_are_not_changes() {
        assert!(relevant(Path::new("/h/handler.js")));
        assert!(relevant(Path::new("/h/lib.mjs")));
        assert!(!relevant(Path::new("/h/.handler.js.swp")));
        assert!(!relevant(Path::new("/h/handler.js~")));
    }
}
