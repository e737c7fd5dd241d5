//! The desktop app (eframe). Frame order, as in the egui apps this follows: poll jobs, advance
//! playback and read drops (in `logic`); then shortcuts, panels, and finally the commands the
//! panels pushed, applied in one place.

mod apply;
pub mod capture;
pub mod command;
mod dialogs;
mod file_browser;
pub mod finder;
mod finding;
pub mod jobs;
mod layout;
pub mod lesson;
mod marks;
pub mod panels;
pub mod rerun;
pub mod session;
pub mod state;
pub mod status;
mod template;
pub mod theme;
mod watch;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use egui::Ui;

use self::command::AppCommand;
use self::dialogs::write_png;
use self::jobs::Jobs;
use self::panels::inspector::Inspector;
use self::panels::plots::Plots;
use self::panels::setup::SetupState;
use self::panels::timeline::view::TimeView;
use self::session::Run;
use self::state::{APP_KEY, Prefs, StartupOptions};
use crate::run::RunSpec;
use crate::scenarios;

/// Opens the app window.
pub fn run(startup: StartupOptions) -> Result<(), String> {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("tumblescope")
            .with_inner_size([1600.0, 1000.0])
            .with_min_inner_size([960.0, 600.0])
            .with_drag_and_drop(true),
        persist_window: true,
        ..Default::default()
    };
    eframe::run_native(
        "tumblescope",
        options,
        Box::new(move |cc| Ok(Box::new(TumbleApp::new(&cc.egui_ctx, cc.storage, startup)))),
    )
    .map_err(|e| e.to_string())
}

pub use self::status::StatusLine;

/// The app.
pub struct TumbleApp {
    /// Preferences (persisted).
    pub prefs: Prefs,
    startup: StartupOptions,
    /// The setup being edited.
    pub draft: RunSpec,
    /// The last good run.
    pub run: Option<Run>,
    /// Selected invocation (0-based).
    pub selected: Option<u32>,
    /// Timeline view (`None` = fit).
    pub view: Option<TimeView>,
    /// Playback running.
    pub playing: bool,
    play_accum: f64,
    /// Status bar: the latest message.
    pub status: StatusLine,
    /// Status bar: the run's summary, the history, unfolded or not.
    pub status_bar: status::StatusBar,
    jobs: Jobs,
    /// Spec of the job in flight (to know what "last good" will be).
    pending_spec: Option<RunSpec>,
    /// A big run taken off the screen so the job in flight can re-run into its memory.
    released: Option<rerun::Released>,
    /// Traces from this size (bytes) up are re-run in their own memory ([`rerun`]);
    /// [`rerun::REUSE_TRACE_BYTES`] unless a test wants its path with a small run.
    pub reuse_trace_bytes: usize,
    /// When to re-run after the draft changed (debounced).
    rerun_at: Option<Instant>,
    /// Where the selection was, to find it again in the next run.
    keep: Option<(u32, i64)>,
    /// Selection to restore after the next run (session files).
    select_after_run: Option<u32>,
    commands: Vec<AppCommand>,
    show_help: bool,
    screenshot_frames: u32,
    /// Text of File → Path.
    path_entry: String,
    /// The in-app file browser, while open.
    browser: Option<file_browser::FileBrowser>,
    /// Handler files the user agreed to run in this app session.
    approved: std::collections::HashSet<PathBuf>,
    /// A loaded session whose handler file waits for the user's consent.
    pub awaiting_approval: Option<RunSpec>,
    dialog_tx: Sender<AppCommand>,
    dialog_rx: Receiver<AppCommand>,
    /// The lesson in progress.
    pub lesson: Option<lesson::Lesson>,
    /// Where the panels were last drawn (for the lesson's highlight).
    rects: layout::PanelRects,
    /// `--find`: show the first match once the search answers.
    find_first_when_found: bool,
    /// Run A, pinned for comparison.
    pub pinned: Option<Run>,
    /// The window view's window (its start), while shown.
    pub window_view: Option<i64>,
    /// The watch on the user handler's folder, while one runs.
    watch: Option<watch::HandlerWatch>,
    /// Invocations marked with a note, by number.
    pub bookmarks: Vec<session::Bookmark>,
    /// The find worker.
    finder: finder::Finder,
    /// The find bar.
    pub find: panels::find::FindState,
    /// Inspector state.
    pub inspector: Inspector,
    /// Plot state.
    pub plots: Plots,
    /// Setup state.
    pub setup: SetupState,
    /// File → Capture from stream: its window and the capture in flight.
    pub capture: capture::CaptureState,
    ctx: egui::Context,
}

/// The saved preferences (unless the start-up options say not to persist), with the start-up
/// options' overrides applied.
fn initial_prefs(storage: Option<&dyn eframe::Storage>, startup: &StartupOptions) -> Prefs {
    let mut prefs = if startup.persist {
        storage
            .and_then(|s| s.get_string(APP_KEY))
            .and_then(|text| match serde_json::from_str::<Prefs>(&text) {
                Ok(p) => Some(p),
                Err(e) => {
                    // Expected after an upgrade changed the format: start from defaults.
                    eprintln!("note: preferences not restored ({e})");
                    None
                }
            })
            .unwrap_or_default()
    } else {
        Prefs::default()
    };
    if startup.light {
        prefs.dark = false;
    }
    prefs
}

impl TumbleApp {
    /// A new app on the demo stream (or the startup file).
    pub fn new(
        ctx: &egui::Context,
        storage: Option<&dyn eframe::Storage>,
        startup: StartupOptions,
    ) -> Self {
        let prefs = initial_prefs(storage, &startup);
        ctx.set_theme(if prefs.dark {
            egui::Theme::Dark
        } else {
            egui::Theme::Light
        });
        let wake_ctx = ctx.clone();
        let jobs = Jobs::spawn(move || wake_ctx.request_repaint());
        let (dialog_tx, dialog_rx) = crossbeam_channel::unbounded();
        let find_ctx = ctx.clone();
        let finder = finder::Finder::spawn(move || find_ctx.request_repaint());
        let mut app = Self {
            prefs,
            startup: startup.clone(),
            draft: RunSpec::demo(),
            run: None,
            selected: None,
            view: None,
            playing: false,
            play_accum: 0.0,
            status: StatusLine::info("Simulating the demo stream…"),
            status_bar: Default::default(),
            jobs,
            pending_spec: None,
            released: None,
            reuse_trace_bytes: rerun::REUSE_TRACE_BYTES,
            rerun_at: None,
            keep: None,
            select_after_run: None,
            commands: Vec::new(),
            show_help: false,
            screenshot_frames: 0,
            approved: Default::default(),
            path_entry: String::new(),
            browser: None,
            awaiting_approval: None,
            dialog_tx,
            dialog_rx,
            finder,
            find: Default::default(),
            bookmarks: Vec::new(),
            watch: None,
            window_view: None,
            pinned: None,
            find_first_when_found: false,
            lesson: None,
            rects: layout::PanelRects::default(),
            inspector: Inspector::default(),
            plots: Plots::default(),
            setup: SetupState::default(),
            capture: capture::CaptureState::default(),
            ctx: ctx.clone(),
        };
        if let Some(tab) = &startup.tab {
            app.inspector.tab = panels::inspector::Tab::from_name(tab);
        }
        match (
            startup.open,
            startup.scenario.as_deref().and_then(scenarios::by_id),
        ) {
            (Some(path), _) => app.commands.push(AppCommand::OpenPath(path)),
            (None, Some(s)) => {
                app.draft = RunSpec::scenario(&s);
                app.start_run();
            }
            (None, None) => app.start_run(),
        }
        app
    }

    /// Runs the draft in the background.
    fn start_run(&mut self) {
        let previous = self.previous_run();
        let spare = self.release_for_rerun();
        self.pending_spec = Some(self.draft.clone());
        self.jobs.start(self.draft.clone(), previous, spare);
        self.rerun_at = None;
    }

    /// Waits for the job in flight (tests and headless use only; the UI never calls this).
    pub fn wait_for_job(&mut self, timeout: Duration) {
        if let Some(result) = self.jobs.wait(timeout) {
            self.finish_job(result);
        }
        for answer in self.finder.wait(timeout) {
            self.find_answered(answer);
        }
        if let Some(run) = &self.run {
            run.stream.wait_for_payloads(timeout);
            run.source.wait_for_payloads(timeout);
        }
    }

    /// Whether a job is running.
    pub fn busy(&self) -> bool {
        self.jobs.busy()
    }

    fn finish_job(&mut self, result: Result<Box<Run>, String>) {
        self.pending_spec = None;
        match result {
            Ok(run) => {
                let run = *run;
                for stream in [&run.stream, &run.source] {
                    let ctx = self.ctx.clone();
                    stream.set_payload_wake(std::sync::Arc::new(move || ctx.request_repaint()));
                }
                let n = run.trace.invocations.len() as u32;
                self.status = StatusLine::info(status::run_summary(&run, n));
                if !run.trace.stalls.is_empty()
                    || !run.trace.warnings.is_empty()
                    || !run.load_notes.is_empty()
                {
                    let mut notes: Vec<String> = run.load_notes.clone();
                    notes.extend(run.trace.warnings.iter().cloned());
                    notes.extend(
                        run.trace
                            .stalls
                            .iter()
                            .map(|s| format!("shard {} stalled: {}", s.shard, s.reason)),
                    );
                    self.status
                        .text
                        .push_str(&format!(" — {}", notes.join("; ")));
                }
                self.status_bar.summary = self.status.text.clone();
                let new_sel = if let Some(n1) = self.select_after_run.take() {
                    Some(n1.min(n.saturating_sub(1)))
                } else if let Some((shard, start)) = self.keep {
                    // The same moment on the same shard, where the run changed little.
                    run.index
                        .invocation_at(&run.trace, shard as usize, start)
                        .or(run
                            .index
                            .by_shard
                            .get(shard as usize)
                            .and_then(|l| l.first().copied()))
                } else {
                    None
                };
                self.selected = new_sel.or((n > 0).then_some(0));
                if self
                    .shown_spec()
                    .is_none_or(|old| !old.same_stream(&run.spec))
                {
                    self.view = None;
                }
                if let Some(old) = self.run.replace(run) {
                    jobs::drop_off_thread(old);
                }
                if let Some(note) = self.shown_after_release() {
                    self.status = note;
                }
                self.refresh_finds();
                self.playing = false;
                self.apply_startup_selection();
                self.apply_startup_find_and_lesson();
            }
            Err(e) if e == "cancelled" => self.cancelled(),
            Err(e) => {
                let note = StatusLine::error(format!("{e} — showing the last good run."));
                // Return the setup to what is shown, so the panel matches the picture.
                if let Some(spec) = self.shown_spec() {
                    self.draft = spec.clone();
                    self.setup = SetupState::default();
                }
                if !self.restore_released(note.clone()) {
                    self.status = match self.run {
                        Some(_) => note,
                        None => StatusLine::error(e),
                    };
                }
            }
        }
    }

    /// The `--find` and `--lesson` options, once, when the first run is shown.
    fn apply_startup_find_and_lesson(&mut self) {
        if let Some(q) = self.startup.find.take() {
            self.commands.push(AppCommand::ShowFind);
            self.commands.push(AppCommand::SearchFor(q));
            self.find_first_when_found = true;
        }
        if let Some(step) = self.startup.lesson.take() {
            self.commands.push(AppCommand::StartLesson);
            for _ in 1..step {
                self.commands.push(AppCommand::LessonStep(1));
            }
        }
    }

    /// The `--select` option, once, when the first run is shown.
    fn apply_startup_selection(&mut self) {
        let Some(sel) = self.startup.select.take() else {
            return;
        };
        let Some(run) = &self.run else { return };
        let last = run.trace.invocations.len().saturating_sub(1) as u32;
        self.selected = if sel == "final" {
            run.index.finals.first().copied()
        } else {
            sel.parse::<u32>()
                .ok()
                .map(|n| n.saturating_sub(1).min(last))
        }
        .or(self.selected);
    }

    /// `--screenshot`: a few frames after the first run is shown, capture the window and close.
    fn screenshot_when_ready(&mut self, ctx: &egui::Context) {
        if self.run.is_none() || self.jobs.busy() || self.finder.busy() || !self.commands.is_empty()
        {
            return;
        }
        let Some(path) = self.startup.screenshot.clone() else {
            return;
        };
        self.screenshot_frames += 1;
        ctx.request_repaint();
        // Let layout settle (panels size themselves over the first frames).
        if self.screenshot_frames < 5 {
            return;
        }
        self.startup.screenshot = None;
        let close_ctx = ctx.clone();
        let callback = egui::ScreenshotCallback::new(move |image| {
            if let Err(e) = write_png(&path, &image) {
                eprintln!("error: {}: {e}", path.display());
            }
            close_ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            close_ctx.request_repaint();
        });
        ctx.send_viewport_cmd(egui::ViewportCommand::Screenshot(callback));
    }

    /// One frame's logic (eframe calls it before `ui`; tests call [`Self::frame`]).
    pub fn logic_step(&mut self, ctx: &egui::Context) {
        for result in self.jobs.poll() {
            self.finish_job(result);
        }
        for answer in self.finder.poll() {
            self.find_answered(answer);
        }
        if let Some(result) = self.capture.poll() {
            self.capture_ended(result);
        }
        while let Ok(cmd) = self.dialog_rx.try_recv() {
            self.commands.push(cmd);
        }
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .collect()
        });
        match dropped.len() {
            0 => {}
            1 => self
                .commands
                .extend(dropped.into_iter().map(AppCommand::OpenPath)),
            // Several files dropped together: e.g. one per shard, merged by time.
            _ => self.commands.push(AppCommand::OpenPaths(dropped)),
        }
        if self.playing
            && let Some(run) = &self.run
        {
            let dt = f64::from(ctx.input(|i| i.stable_dt).min(0.1));
            self.play_accum += dt * f64::from(self.prefs.play_speed);
            let total = run.trace.invocations.len() as u32;
            while self.play_accum >= 1.0 {
                self.play_accum -= 1.0;
                let next = self.selected.map_or(0, |s| s + 1);
                if next >= total {
                    self.playing = false;
                    break;
                }
                self.selected = Some(next);
            }
            ctx.request_repaint();
        }
        self.screenshot_when_ready(ctx);
        self.sync_watch(ctx);
        self.sync_compare();
        if let Some(at) = self.rerun_at {
            let now = Instant::now();
            if now >= at {
                self.start_run();
            } else {
                ctx.request_repaint_after(at - now);
            }
        }
    }

    /// Logic then UI: one whole frame (what eframe does; tests drive this).
    pub fn frame(&mut self, ui: &mut Ui) {
        let ctx = ui.ctx().clone();
        self.logic_step(&ctx);
        self.ui_root(ui);
    }

    fn on_draft_changed(&mut self) {
        if !self.setup.errors.is_empty() || self.draft.settings.check().is_err() {
            self.rerun_at = None;
            return;
        }
        if self.run.as_ref().is_some_and(|r| r.spec == self.draft) {
            return;
        }
        if let (Some(run), Some(k)) = (&self.run, self.selected)
            && let Some(inv) = run.trace.invocations.get(k as usize)
        {
            self.keep = Some((inv.shard, inv.start_ms));
        }
        // Debounced: dragging a value re-runs once it settles.
        self.rerun_at = Some(Instant::now() + Duration::from_millis(250));
        self.ctx.request_repaint_after(Duration::from_millis(250));
    }
}

impl eframe::App for TumbleApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.logic_step(ctx);
    }

    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        self.ui_root(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if self.startup.persist
            && let Ok(text) = serde_json::to_string(&self.prefs)
        {
            storage.set_string(APP_KEY, text);
        }
    }
}
