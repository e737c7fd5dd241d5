//! Applying commands: `apply` is a short match that hands each command to the function for
//! its concern (navigation, files and sessions, the handler, the view).

use std::path::PathBuf;

use super::command::{AppCommand, DialogKind, ExportKind, PanelId};
use super::panels::setup::SetupState;
use super::session::{self, SESSION_VERSION, SessionFile};
use super::{StatusLine, TumbleApp};
use crate::run::{RunSpec, SourceSpec};
use crate::scenarios;

impl TumbleApp {
    fn select(&mut self, k: Option<u32>) {
        self.selected = k;
    }

    /// Applies one command: each concern has its own function.
    pub fn apply(&mut self, cmd: AppCommand) {
        use AppCommand as C;
        match cmd {
            C::First | C::Last | C::Next | C::Prev | C::TogglePlay | C::Select(_) => {
                self.apply_step(&cmd)
            }
            C::NextFinal | C::PrevFinal | C::NextFailure | C::PrevFailure => self.apply_jump(&cmd),
            C::SetView(_) | C::FitView | C::ToggleHelp | C::ToggleTheme | C::TogglePanel(_) => {
                self.apply_view(cmd)
            }
            C::SetPlaySpeed(v) => self.prefs.play_speed = v,
            C::SetAcrossWindows(v) => self.prefs.across_windows = v,
            C::Rerun | C::Cancel | C::LoadScenario(_) | C::SetDraft(_) => self.apply_run(cmd),
            C::Open | C::OpenPath(_) | C::OpenPaths(_) => self.apply_open(cmd),
            C::OpenTemplate(path) => self.open_template(path),
            C::PickTemplate => self.dialog(DialogKind::OpenTemplate),
            C::NativeDialogFailed(kind) => {
                self.status = StatusLine::info(
                    "The system file dialog did not open (no file-dialog portal on this desktop); \
                     using the built-in file browser (the View menu's Built-in file browser keeps it)",
                );
                self.browse(kind);
            }
            C::SetBuiltinFileBrowser(on) => self.prefs.builtin_file_browser = on,
            C::SetWatchHandler(on) => self.prefs.watch_handler = on,
            C::ShowWindow(start) => self.window_view = Some(start),
            C::StartLesson | C::LessonStep(_) | C::EndLesson => self.apply_lesson(cmd),
            C::PinRun => {
                self.pinned = self.run.clone();
                self.plots.clear_comparison();
                self.plots.tab = super::panels::plots::PlotTab::Compare;
                self.status = StatusLine::info(
                    "Pinned as A: change the settings or the handler, and the Compare tab shows B beside it",
                );
            }
            C::UnpinRun => {
                self.pinned = None;
                self.plots.clear_comparison();
            }
            C::ToggleBookmark | C::SetBookmarkNote(..) | C::RemoveBookmark(_) => {
                self.apply_bookmark(cmd)
            }
            C::ShowFind
            | C::ShowGoTo
            | C::CloseFind
            | C::SearchFor(_)
            | C::FindStep(_)
            | C::ShowMatch(_)
            | C::GoTo(_)
            | C::QueryTable(_) => self.apply_find(cmd),
            C::ShowCapture | C::StartCapture | C::StopCapture => self.apply_capture(&cmd),
            C::SaveSession | C::SaveSessionTo(_) | C::LoadSession | C::LoadSessionFrom(_) => {
                self.apply_session(cmd)
            }
            C::ExportResultsCsv
            | C::ExportResultsJson
            | C::ExportLog
            | C::ExportPlotPng
            | C::ExportTrace
            | C::ExportTemplate(_)
            | C::ExportTo(..)
            | C::ExportDone(_) => self.apply_export(cmd),
            C::PickHandler | C::SetHandler(_) | C::ApproveHandler | C::RejectHandler => {
                self.apply_handler(cmd)
            }
        }
    }

    fn total(&self) -> u32 {
        self.run
            .as_ref()
            .map_or(0, |r| r.trace.invocations.len() as u32)
    }

    /// First, last, next, previous, a given invocation, and play/pause.
    fn apply_step(&mut self, cmd: &AppCommand) {
        let total = self.total();
        if total == 0 {
            return;
        }
        let cur = self.selected;
        match *cmd {
            AppCommand::First => self.select(Some(0)),
            AppCommand::Last => self.select(Some(total - 1)),
            AppCommand::Next => self.select(Some(cur.map_or(0, |c| (c + 1).min(total - 1)))),
            AppCommand::Prev => self.select(Some(cur.map_or(0, |c| c.saturating_sub(1)))),
            AppCommand::TogglePlay => {
                self.playing = !self.playing;
                if self.playing && cur.is_some_and(|c| c + 1 >= total) {
                    self.selected = Some(0);
                }
                self.play_accum = 0.0;
            }
            AppCommand::Select(k) if k < total => self.select(Some(k)),
            _ => {}
        }
    }

    /// Next or previous final invocation or failure.
    fn apply_jump(&mut self, cmd: &AppCommand) {
        let Some(run) = &self.run else { return };
        let cur = self.selected;
        let (list, forward) = match cmd {
            AppCommand::NextFinal => (&run.index.finals, true),
            AppCommand::PrevFinal => (&run.index.finals, false),
            AppCommand::NextFailure => (&run.index.failures, true),
            _ => (&run.index.failures, false),
        };
        let found = match cur {
            Some(c) if forward => list.iter().copied().find(|&k| k > c),
            Some(c) => list.iter().rev().copied().find(|&k| k < c),
            None => list.first().copied(),
        };
        match found {
            Some(k) => self.select(Some(k)),
            None => {
                self.status = StatusLine::info(match cmd {
                    AppCommand::NextFinal => "No later final invocation.",
                    AppCommand::PrevFinal => "No earlier final invocation.",
                    AppCommand::NextFailure => "No later failed invocation.",
                    _ => "No earlier failed invocation.",
                });
            }
        }
    }

    /// The timeline view, the panels shown, help and the theme.
    fn apply_view(&mut self, cmd: AppCommand) {
        match cmd {
            AppCommand::SetView(v) => self.view = v,
            AppCommand::FitView => self.view = None,
            AppCommand::ToggleHelp => self.show_help = !self.show_help,
            AppCommand::TogglePanel(panel) => {
                let shown = match panel {
                    PanelId::Setup => &mut self.prefs.show_setup,
                    PanelId::Inspector => &mut self.prefs.show_inspector,
                    PanelId::Plots => &mut self.prefs.show_plots,
                };
                *shown = !*shown;
            }
            AppCommand::ToggleTheme => {
                self.prefs.dark = !self.prefs.dark;
                self.ctx.set_theme(if self.prefs.dark {
                    egui::Theme::Dark
                } else {
                    egui::Theme::Light
                });
            }
            _ => {}
        }
    }

    /// Re-running, cancelling, scenarios and edits of the setup.
    fn apply_run(&mut self, cmd: AppCommand) {
        match cmd {
            AppCommand::Rerun => self.start_run(),
            AppCommand::Cancel => {
                if self.jobs.busy() {
                    self.jobs.cancel();
                    self.pending_spec = None;
                    self.cancelled();
                }
                self.playing = false;
            }
            AppCommand::LoadScenario(id) => {
                if let Some(s) = scenarios::by_id(&id) {
                    self.draft = RunSpec::scenario(&s);
                    self.setup = SetupState::default();
                    self.keep = None;
                    self.view = None;
                    self.start_run();
                }
            }
            AppCommand::SetDraft(draft) => {
                self.draft = *draft;
                self.on_draft_changed();
            }
            _ => {}
        }
    }

    /// The capture window: show it, start (checked as the CLI checks), stop.
    fn apply_capture(&mut self, cmd: &AppCommand) {
        match cmd {
            AppCommand::ShowCapture => self.capture.open = true,
            AppCommand::StartCapture => match self.capture.form.options() {
                Ok(options) => {
                    let ctx = self.ctx.clone();
                    self.status =
                        StatusLine::info(format!("Capturing {}…", options.target.describe()));
                    self.capture.start(options, move || ctx.request_repaint());
                }
                Err(e) => self.capture.outcome = Some(Err(e)),
            },
            AppCommand::StopCapture => self.capture.stop(),
            _ => {}
        }
    }

    /// A capture ended: its files open as the stream; an error stays in the window.
    pub(super) fn capture_ended(&mut self, result: Result<crate::capture::Captured, String>) {
        match result {
            Ok(c) if c.files.is_empty() => {
                self.status = StatusLine::error("The capture found no shards.");
            }
            Ok(c) => {
                self.status =
                    StatusLine::info(format!("Captured {} record(s); opening them.", c.records));
                self.open_paths(c.files);
            }
            Err(e) => self.status = StatusLine::error(format!("capture: {e}")),
        }
    }

    fn apply_open(&mut self, cmd: AppCommand) {
        match cmd {
            AppCommand::OpenPath(path) => self.open_path(path),
            AppCommand::OpenPaths(paths) => self.open_paths(paths),
            AppCommand::Open => self.dialog(DialogKind::OpenStream),
            _ => {}
        }
    }

    fn apply_session(&mut self, cmd: AppCommand) {
        match cmd {
            AppCommand::SaveSession => self.dialog(DialogKind::SaveSession),
            AppCommand::LoadSession => self.dialog(DialogKind::LoadSession),
            AppCommand::SaveSessionTo(path) => {
                let session = SessionFile {
                    tumblescope_session: SESSION_VERSION,
                    run: self.draft.clone(),
                    time_view: self.view,
                    selected: self.selected.map(|k| k + 1),
                    bookmarks: self.bookmarks.clone(),
                };
                self.status = match session::save_session(&path, &session) {
                    Ok(()) => StatusLine::info(format!("Session saved to {}", path.display())),
                    Err(e) => StatusLine::error(e),
                };
            }
            AppCommand::LoadSessionFrom(path) => match session::load_session(&path) {
                Ok(s) => self.load_session(s),
                Err(e) => self.status = StatusLine::error(e),
            },
            _ => {}
        }
    }

    fn load_session(&mut self, s: SessionFile) {
        self.view = s.time_view;
        self.bookmarks = s.bookmarks;
        self.select_after_run = s.selected.map(|n| n.saturating_sub(1));
        self.keep = None;
        // A session can name a handler file: code from disk. Ask before running it the first
        // time.
        let needs_approval = crate::handlers::external::ExternalSpec::parse(&s.run.handler)
            .is_some_and(|e| !self.approved.contains(&e.path));
        if needs_approval {
            self.awaiting_approval = Some(s.run);
        } else {
            self.draft = s.run;
            self.setup = SetupState::default();
            self.start_run();
        }
    }

    fn apply_export(&mut self, cmd: AppCommand) {
        match cmd {
            AppCommand::ExportResultsCsv => self.dialog(DialogKind::Export(ExportKind::ResultsCsv)),
            AppCommand::ExportResultsJson => {
                self.dialog(DialogKind::Export(ExportKind::ResultsJson))
            }
            AppCommand::ExportLog => self.dialog(DialogKind::Export(ExportKind::Log)),
            AppCommand::ExportPlotPng => self.dialog(DialogKind::Export(ExportKind::PlotPng)),
            AppCommand::ExportTrace => self.dialog(DialogKind::Export(ExportKind::PerfettoTrace)),
            AppCommand::ExportTemplate(k) => self.dialog(DialogKind::Export(k)),
            AppCommand::ExportTo(kind, path) => self.export(kind, path),
            AppCommand::ExportDone(msg) => {
                self.status = StatusLine::from_worker(msg);
            }
            _ => {}
        }
    }

    /// Choosing a handler file, and the answer to "run this session's handler?".
    fn apply_handler(&mut self, cmd: AppCommand) {
        match cmd {
            AppCommand::PickHandler => self.dialog(DialogKind::Handler),
            AppCommand::SetHandler(spec) => {
                // Chosen by the user just now: no need to ask again.
                if let Some(e) = crate::handlers::external::ExternalSpec::parse(&spec) {
                    self.approved.insert(e.path);
                }
                self.draft.handler = spec;
                self.setup = SetupState::default();
                self.start_run();
            }
            AppCommand::ApproveHandler => {
                if let Some(spec) = self.awaiting_approval.take() {
                    if let Some(e) = crate::handlers::external::ExternalSpec::parse(&spec.handler) {
                        self.approved.insert(e.path);
                    }
                    self.draft = spec;
                    // A template's origins stay listed after the approval.
                    let origins = std::mem::take(&mut self.setup.template_origins);
                    self.setup = SetupState::default();
                    self.setup.template_origins = origins;
                    self.start_run();
                }
            }
            AppCommand::RejectHandler => {
                if let Some(mut spec) = self.awaiting_approval.take() {
                    spec.handler = crate::handlers::default_spec(spec.stream_source).to_owned();
                    self.status = StatusLine::info(
                        "The session's handler was not run; using the built-in sum instead.",
                    );
                    self.draft = spec;
                    self.setup = SetupState::default();
                    self.start_run();
                }
            }
            _ => {}
        }
    }

    /// Opens a stream file (File→Open, recent files, drag-and-drop and the command line all
    /// come here). A session file is loaded as a session.
    fn open_path(&mut self, path: PathBuf) {
        if crate::app::session::is_session_file(&path) {
            self.commands.push(AppCommand::LoadSessionFrom(path));
            return;
        }
        // A path that names nothing gets the load's error, not a place in Open recent.
        if path.exists() {
            self.prefs.remember(&path);
        }
        self.draft.source = SourceSpec::Files {
            paths: vec![path.clone()],
        };
        if self.draft.shards == 0 {
            self.draft.shards = 2;
        }
        self.setup = SetupState::default();
        self.keep = None;
        self.view = None;
        self.status = StatusLine::info(format!("Loading {}…", path.display()));
        self.start_run();
    }

    fn open_paths(&mut self, paths: Vec<PathBuf>) {
        for p in paths.iter().filter(|p| p.exists()) {
            self.prefs.remember(p);
        }
        self.draft.source = SourceSpec::Files { paths };
        self.setup = SetupState::default();
        self.keep = None;
        self.view = None;
        self.start_run();
    }
}
