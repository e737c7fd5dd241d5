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
pub mod lesson;
mod marks;
pub mod panels;
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

use self::command::{AppCommand, shortcuts_pressed};
use self::dialogs::write_png;
use self::jobs::Jobs;
use self::panels::capture::capture_window;
use self::panels::find::find_bar_ui;
use self::panels::inspector::{Inspector, inspector_ui};
use self::panels::menu::{approval_window, help_window};
use self::panels::plots::{Plots, Shown, plots_ui};
use self::panels::setup::{SetupState, setup_ui};
use self::panels::stepper::{StepperState, stepper_ui};
use self::panels::timeline::fit_view;
use self::panels::timeline::legend::legend_ui;
use self::panels::timeline::overview::overview_ui;
use self::panels::timeline::view::TimeView;
use self::panels::timeline::{Marks, timeline_ui};
use self::panels::window_view::window_view_ui;
use self::session::Run;
use self::state::{APP_KEY, Prefs, StartupOptions};
use self::theme::Palette;
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
    rects: PanelRects,
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
            rects: PanelRects::default(),
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
        let previous = self
            .run
            .as_ref()
            .map(|r| (r.spec.clone(), r.source.clone()));
        self.pending_spec = Some(self.draft.clone());
        self.jobs.start(self.draft.clone(), previous);
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
                let n = run.trace.invocations.len() as u32;
                self.status = StatusLine::info(run_summary(&run, n));
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
                    .run
                    .as_ref()
                    .is_none_or(|old| !old.spec.same_stream(&run.spec))
                {
                    self.view = None;
                }
                self.run = Some(run);
                self.refresh_finds();
                self.playing = false;
                self.apply_startup_selection();
                self.apply_startup_find_and_lesson();
            }
            Err(e) if e == "cancelled" => {
                self.status = StatusLine::info("Cancelled; showing the last complete run.");
            }
            Err(e) => {
                self.status = StatusLine::error(format!("{e} — showing the last good run."));
                // Return the setup to what is shown, so the panel matches the picture.
                if let Some(r) = &self.run {
                    self.draft = r.spec.clone();
                    self.setup = SetupState::default();
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

    /// What the stepper shows of the current run and selection.
    fn stepper_state(&self) -> StepperState {
        let run = self.run.as_ref();
        StepperState {
            selected: self.selected,
            total: run.map_or(0, |r| r.trace.invocations.len() as u32),
            playing: self.playing,
            has_finals: run.is_some_and(|r| !r.index.finals.is_empty()),
            has_failures: run.is_some_and(|r| !r.index.failures.is_empty()),
            bookmarked: self
                .selected
                .is_some_and(|k| self.bookmarks.iter().any(|b| b.invocation == k + 1)),
        }
    }

    /// Draws every panel and applies the commands they pushed.
    pub fn ui_root(&mut self, ui: &mut Ui) {
        let mut cmds = std::mem::take(&mut self.commands);
        cmds.extend(shortcuts_pressed(ui.ctx()));
        let pal = Palette::of(ui.visuals());

        egui::Panel::top("menu").show(ui, |ui| {
            egui::MenuBar::new().ui(ui, |ui| self.menu_ui(ui, &mut cmds));
            ui.horizontal_wrapped(|ui| {
                let st = self.stepper_state();
                stepper_ui(ui, &st, self.prefs.play_speed, &mut cmds);
            });
        });
        egui::Panel::bottom("status").show(ui, |ui| self.status_ui(ui, &pal, &mut cmds));
        // Side panels grow to fit wide content (a long log line, a wide flag row); caps in
        // proportion to the window keep the timeline and plots at least 40% of it wide.
        let full = ui.available_rect_before_wrap().size();
        if self.prefs.show_setup {
            // Panel sizes persist with egui's own memory (eframe saves it with the prefs).
            egui::Panel::left("setup")
                .resizable(true)
                .default_size(300.0)
                .min_size(220.0)
                .max_size((full.x * 0.28).max(220.0))
                .show(ui, |ui| {
                    self.setup.watch_handler = self.prefs.watch_handler;
                    setup_ui(ui, &self.draft, &mut self.setup, &mut cmds);
                });
        }
        if self.prefs.show_inspector {
            let inspector = egui::Panel::right("inspector")
                .resizable(true)
                .default_size(440.0)
                .min_size(280.0)
                .max_size((full.x * 0.34).max(280.0))
                .show(ui, |ui| match &self.run {
                    Some(run) => inspector_ui(ui, run, self.selected, &mut self.inspector),
                    None => {
                        ui.spinner();
                    }
                });
            self.rects.inspector = Some(inspector.response.rect);
            if let Some(start) = self.inspector.open_window.take() {
                cmds.push(AppCommand::ShowWindow(start));
            }
        }
        if self.prefs.show_plots {
            self.plots_panel(ui, full, &mut cmds);
        }
        let central = egui::CentralPanel::default().show(ui, |ui| match &self.run {
            Some(run) => {
                if self.find.open {
                    let searching = self.searching();
                    find_bar_ui(ui, run, &mut self.find, searching, &mut cmds);
                }
                if self.prefs.show_legend {
                    legend_ui(ui, run);
                }
                let view = self.view.unwrap_or_else(|| fit_view(run));
                overview_ui(ui, run, view, panels::timeline::LABEL_W, &mut cmds);
                let marks = Marks {
                    found: self.find.found(),
                    bookmarks: &self.bookmarks,
                };
                timeline_ui(ui, run, self.selected, self.view, marks, &mut cmds);
            }
            None => {
                ui.centered_and_justified(|ui| {
                    ui.spinner();
                });
            }
        });
        self.rects.timeline = Some(central.response.rect);
        if self.show_help {
            help_window(ui.ctx(), &mut self.show_help, central.response.rect);
        }
        if let Some(l) = &self.lesson {
            let focus = l.steps.get(l.at).and_then(|s| match s.focus {
                lesson::Focus::Timeline => self.rects.timeline,
                lesson::Focus::Inspector(_) => self.rects.inspector,
                lesson::Focus::Plots(_) => self.rects.plots,
            });
            lesson::lesson_ui(ui.ctx(), l, central.response.rect, focus, &mut cmds);
        }
        if let (Some(start), Some(run)) = (self.window_view, &self.run) {
            let mut open = true;
            let area = central.response.rect;
            window_view_ui(ui.ctx(), run, start, &mut open, area, &mut cmds);
            if !open {
                self.window_view = None;
            }
        }
        if let Some(spec) = &self.awaiting_approval {
            approval_window(ui.ctx(), spec, &mut cmds);
        }
        if self.capture.open {
            capture_window(ui.ctx(), &mut self.capture, &mut cmds);
        }
        self.browser_ui(&ui.ctx().clone(), &mut cmds);
        preview_dropped_files(ui.ctx());
        for cmd in cmds {
            self.apply(cmd);
        }
    }

    /// The plots panel along the bottom of the timeline, on the shared time view.
    fn plots_panel(&mut self, ui: &mut Ui, full: egui::Vec2, cmds: &mut Vec<AppCommand>) {
        // A third of the window: room for the controls, the legend and a y axis with a few
        // labelled ticks (a quarter left only "0" legible at 1280x800). The floor is in
        // proportion too: a size egui stored from a transient first frame (a window not yet
        // at its size) would otherwise stick.
        let panel = egui::Panel::bottom("plots")
            .resizable(true)
            .default_size((full.y * 0.36).max(250.0))
            .min_size((full.y * 0.3).max(140.0))
            .max_size((full.y * 0.6).max(140.0))
            .show(ui, |ui| {
                if let Some(run) = &self.run {
                    let shown = Shown {
                        selected: self.selected,
                        across: self.prefs.across_windows,
                        view: self.view.unwrap_or_else(|| fit_view(run)),
                        bookmarks: &self.bookmarks,
                        pinned: self.pinned.as_ref(),
                    };
                    plots_ui(ui, run, shown, &mut self.plots, cmds);
                }
            });
        self.rects.plots = Some(panel.response.rect);
    }

    /// Keeps a watch on the shown run's handler folder (when it is the user's code and the
    /// preference is on), and re-runs once a change there has settled.
    fn sync_watch(&mut self, ctx: &egui::Context) {
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
            match watch::HandlerWatch::new(&file, move || wake.request_repaint()) {
                Ok(w) => self.watch = Some(w),
                Err(e) => {
                    self.status = StatusLine::error(e);
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
        self.status = StatusLine::info(format!("{changed} changed: simulating again…"));
        self.start_run();
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

/// Where the panels were drawn last frame.
#[derive(Clone, Copy, Default)]
struct PanelRects {
    timeline: Option<egui::Rect>,
    inspector: Option<egui::Rect>,
    plots: Option<egui::Rect>,
}

/// A translucent overlay listing files being dragged over the window.
fn preview_dropped_files(ctx: &egui::Context) {
    let hovered: Vec<String> = ctx.input(|i| {
        i.raw
            .hovered_files
            .iter()
            .map(|f| {
                f.path
                    .as_ref()
                    .map_or_else(|| f.mime.clone(), |p| p.display().to_string())
            })
            .collect()
    });
    if hovered.is_empty() {
        return;
    }
    let painter = ctx.layer_painter(egui::LayerId::new(
        egui::Order::Foreground,
        egui::Id::unique("drop-overlay"),
    ));
    let rect = ctx.content_rect();
    painter.rect_filled(rect, 0.0, egui::Color32::from_black_alpha(180));
    painter.text(
        rect.center(),
        egui::Align2::CENTER_CENTER,
        format!("Open:\n{}", hovered.join("\n")),
        egui::FontId::proportional(22.0),
        egui::Color32::WHITE,
    );
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

/// The status line after a run: what ran, how many records passed or were not read, windows,
/// invocations, discards and how long it took.
fn run_summary(run: &Run, n: u32) -> String {
    let unread: usize = run.trace.unread.iter().map(|u| u.records.len()).sum();
    let records = match (&run.trace.filter, unread) {
        (Some(f), _) => format!(
            "{} of {} records passed the filters",
            f.passed,
            f.passed + f.dropped
        ),
        (None, 0) => format!("{} records", run.stream.len()),
        (None, u) => format!("{} records ({u} not read)", run.stream.len()),
    };
    let discarded = match run.trace.discards.len() {
        0 => String::new(),
        b => format!(
            ", {b} batch(es) discarded ({} records)",
            run.trace
                .discards
                .iter()
                .map(|d| d.records.len())
                .sum::<usize>()
        ),
    };
    format!(
        "{} — {records} on {} shard(s), {} windows, {} invocations{discarded}; simulated in {:.0} ms",
        run.spec.describe(),
        run.stream.shards.len(),
        run.trace.windows.len(),
        n,
        run.took.as_secs_f64() * 1000.0
    )
}
