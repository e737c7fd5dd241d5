//! The desktop app (eframe). Frame order, as in the egui apps this follows: poll jobs, advance
//! playback and read drops (in `logic`); then shortcuts, panels, and finally the commands the
//! panels pushed, applied in one place.

pub mod command;
pub mod jobs;
pub mod panels;
pub mod session;
pub mod state;
pub mod theme;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use egui::{RichText, Ui};

use self::command::{AppCommand, ExportKind, shortcuts_pressed};
use self::jobs::Jobs;
use self::panels::inspector::{Inspector, inspector_ui};
use self::panels::plots::{Plots, plots_ui};
use self::panels::setup::{SetupState, setup_ui};
use self::panels::stepper::{StepperState, stepper_ui};
use self::panels::timeline::timeline_ui;
use self::panels::timeline::view::TimeView;
use self::session::{Run, SESSION_VERSION, SessionFile};
use self::state::{APP_KEY, Prefs, StartupOptions};
use self::theme::Palette;
use crate::run::{RunSpec, SourceSpec};
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

/// A status-bar message.
#[derive(Clone, Debug, Default)]
pub struct StatusLine {
    /// Text.
    pub text: String,
    /// Shown as an error.
    pub is_error: bool,
}

impl StatusLine {
    /// A message.
    pub fn info(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            is_error: false,
        }
    }

    /// An error.
    pub fn error(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            is_error: true,
        }
    }
}

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
    /// Status bar.
    pub status: StatusLine,
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
    /// Handler files the user agreed to run in this app session.
    approved: std::collections::HashSet<PathBuf>,
    /// A loaded session whose handler file waits for the user's consent.
    pub awaiting_approval: Option<RunSpec>,
    dialog_tx: Sender<AppCommand>,
    dialog_rx: Receiver<AppCommand>,
    /// Inspector state.
    pub inspector: Inspector,
    /// Plot state.
    pub plots: Plots,
    /// Setup state.
    pub setup: SetupState,
    ctx: egui::Context,
}

impl TumbleApp {
    /// A new app on the demo stream (or the startup file).
    pub fn new(
        ctx: &egui::Context,
        storage: Option<&dyn eframe::Storage>,
        startup: StartupOptions,
    ) -> Self {
        let prefs = if startup.persist {
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
        let mut prefs = prefs;
        if startup.light {
            prefs.dark = false;
        }
        ctx.set_theme(if prefs.dark {
            egui::Theme::Dark
        } else {
            egui::Theme::Light
        });
        let wake_ctx = ctx.clone();
        let jobs = Jobs::spawn(move || wake_ctx.request_repaint());
        let (dialog_tx, dialog_rx) = crossbeam_channel::unbounded();
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
            awaiting_approval: None,
            dialog_tx,
            dialog_rx,
            inspector: Inspector::default(),
            plots: Plots::default(),
            setup: SetupState::default(),
            ctx: ctx.clone(),
        };
        if let Some(tab) = &startup.tab {
            app.inspector.tab = match tab.as_str() {
                "state" => panels::inspector::Tab::State,
                "event" => panels::inspector::Tab::Event,
                "response" => panels::inspector::Tab::Response,
                "logs" => panels::inspector::Tab::Logs,
                "writes" => panels::inspector::Tab::Writes,
                _ => panels::inspector::Tab::Records,
            };
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
            .map(|r| (r.spec.clone(), r.stream.clone()));
        self.pending_spec = Some(self.draft.clone());
        self.jobs.start(self.draft.clone(), previous);
        self.rerun_at = None;
    }

    /// Waits for the job in flight (tests and headless use only; the UI never calls this).
    pub fn wait_for_job(&mut self, timeout: Duration) {
        if let Some(result) = self.jobs.wait(timeout) {
            self.finish_job(result);
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
                self.status = StatusLine::info(format!(
                    "{} — {} records on {} shard(s), {} windows, {} invocations; simulated in {:.0} ms",
                    run.spec.describe(),
                    run.stream.len(),
                    run.stream.shards.len(),
                    run.trace.windows.len(),
                    n,
                    run.took.as_secs_f64() * 1000.0
                ));
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
                self.playing = false;
                self.apply_startup_selection();
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
        if self.run.is_none() || self.jobs.busy() {
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

    /// Draws every panel and applies the commands they pushed.
    pub fn ui_root(&mut self, ui: &mut Ui) {
        let mut cmds = std::mem::take(&mut self.commands);
        cmds.extend(shortcuts_pressed(ui.ctx()));
        let pal = Palette::of(ui.visuals());

        egui::Panel::top("menu").show(ui, |ui| {
            egui::MenuBar::new().ui(ui, |ui| self.menu_ui(ui, &mut cmds));
            ui.horizontal_wrapped(|ui| {
                let st = StepperState {
                    selected: self.selected,
                    total: self
                        .run
                        .as_ref()
                        .map_or(0, |r| r.trace.invocations.len() as u32),
                    playing: self.playing,
                };
                stepper_ui(ui, &st, &mut self.prefs.play_speed, &mut cmds);
            });
        });
        egui::Panel::bottom("status").show(ui, |ui| self.status_ui(ui, &pal, &mut cmds));
        if self.prefs.show_setup {
            // Panel sizes persist with egui's own memory (eframe saves it with the prefs).
            egui::Panel::left("setup")
                .resizable(true)
                .default_size(300.0)
                .min_size(220.0)
                .show(ui, |ui| {
                    if setup_ui(ui, &mut self.draft, &mut self.setup) {
                        self.on_draft_changed();
                    }
                    if std::mem::take(&mut self.setup.pick_handler) {
                        cmds.push(AppCommand::PickHandler);
                    }
                });
        }
        if self.prefs.show_inspector {
            egui::Panel::right("inspector")
                .resizable(true)
                .default_size(440.0)
                .min_size(280.0)
                .show(ui, |ui| match &self.run {
                    Some(run) => inspector_ui(ui, run, self.selected, &mut self.inspector),
                    None => {
                        ui.spinner();
                    }
                });
        }
        if self.prefs.show_plots {
            egui::Panel::bottom("plots")
                .resizable(true)
                .default_size(250.0)
                .min_size(140.0)
                .show(ui, |ui| {
                    if let Some(run) = &self.run {
                        plots_ui(
                            ui,
                            run,
                            self.selected,
                            &mut self.prefs.across_windows,
                            &mut self.plots,
                            &mut cmds,
                        );
                    }
                });
        }
        egui::CentralPanel::default().show(ui, |ui| match &self.run {
            Some(run) => timeline_ui(ui, run, self.selected, self.view, &mut cmds),
            None => {
                ui.centered_and_justified(|ui| {
                    ui.spinner();
                });
            }
        });
        if self.show_help {
            help_window(ui.ctx(), &mut self.show_help);
        }
        if let Some(spec) = &self.awaiting_approval {
            approval_window(ui.ctx(), spec, &mut cmds);
        }
        preview_dropped_files(ui.ctx());
        for cmd in cmds {
            self.apply(cmd);
        }
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

    fn menu_ui(&mut self, ui: &mut Ui, cmds: &mut Vec<AppCommand>) {
        let item = |ui: &mut Ui, cmd: AppCommand, cmds: &mut Vec<AppCommand>| {
            let mut b = egui::Button::new(cmd.text());
            if let Some(sc) = cmd.shortcut() {
                b = b.shortcut_text(ui.ctx().format_shortcut(&sc));
            }
            if ui.add(b).clicked() {
                cmds.push(cmd);
            }
        };
        ui.menu_button("File", |ui| {
            item(ui, AppCommand::Open, cmds);
            // Typed paths work where no native file dialog is available (no desktop portal).
            ui.horizontal(|ui| {
                let label = ui.label("Path:");
                let resp = ui
                    .add(
                        egui::TextEdit::singleline(&mut self.path_entry)
                            .desired_width(260.0)
                            .hint_text("file(s), space-separated"),
                    )
                    .labelled_by(label.id);
                let go = ui.button("Open").clicked()
                    || (resp.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)));
                if go && !self.path_entry.trim().is_empty() {
                    let paths: Vec<PathBuf> = self
                        .path_entry
                        .split_whitespace()
                        .map(PathBuf::from)
                        .collect();
                    cmds.push(match paths.len() {
                        1 => AppCommand::OpenPath(paths[0].clone()),
                        _ => AppCommand::OpenPaths(paths),
                    });
                    ui.close();
                }
            });
            ui.menu_button("Open recent", |ui| {
                if self.prefs.recent.is_empty() {
                    ui.label("No recent files");
                }
                for p in self.prefs.recent.clone() {
                    if ui.button(p.display().to_string()).clicked() {
                        cmds.push(AppCommand::OpenPath(p));
                    }
                }
            });
            ui.separator();
            item(ui, AppCommand::SaveSession, cmds);
            item(ui, AppCommand::LoadSession, cmds);
            ui.separator();
            item(ui, AppCommand::ExportResultsCsv, cmds);
            item(ui, AppCommand::ExportResultsJson, cmds);
            item(ui, AppCommand::ExportLog, cmds);
            item(ui, AppCommand::ExportPlotPng, cmds);
        });
        ui.menu_button("Scenarios", |ui| {
            for s in scenarios::all() {
                let resp = ui.button(s.title).on_hover_text(s.look_for);
                if resp.clicked() {
                    cmds.push(AppCommand::LoadScenario(s.id.to_owned()));
                }
            }
        });
        ui.menu_button("View", |ui| {
            ui.checkbox(&mut self.prefs.show_setup, "Setup panel");
            ui.checkbox(&mut self.prefs.show_inspector, "Inspector");
            ui.checkbox(&mut self.prefs.show_plots, "Plots");
            item(ui, AppCommand::FitView, cmds);
            if ui
                .button(if self.prefs.dark {
                    "Light theme"
                } else {
                    "Dark theme"
                })
                .clicked()
            {
                cmds.push(AppCommand::ToggleTheme);
            }
        });
        ui.menu_button("Simulation", |ui| {
            item(ui, AppCommand::Rerun, cmds);
            item(ui, AppCommand::Cancel, cmds);
        });
        if ui.button("Help").clicked() {
            cmds.push(AppCommand::ToggleHelp);
        }
        if let SourceSpec::Scenario { id } = &self.draft.source
            && let Some(s) = scenarios::by_id(id)
        {
            ui.separator();
            ui.label(RichText::new(s.title).strong())
                .on_hover_text(s.look_for);
            ui.label(RichText::new(s.look_for.replace('\n', " ")).small());
        }
    }

    fn status_ui(&mut self, ui: &mut Ui, pal: &Palette, cmds: &mut Vec<AppCommand>) {
        ui.horizontal(|ui| {
            if let Some((_, _, started)) = &self.jobs.current {
                let (phase, done, total) = self.jobs.progress.unwrap_or(("Working", 0, 0));
                // Short jobs finish before a bar would be read; show it after a moment.
                if started.elapsed() > Duration::from_millis(150) {
                    let frac = if total > 0 {
                        done as f32 / total as f32
                    } else {
                        0.0
                    };
                    ui.add(
                        egui::ProgressBar::new(frac)
                            .desired_width(220.0)
                            .text(format!("{phase} {done}/{total}")),
                    );
                    if ui.button("Cancel").clicked() {
                        cmds.push(AppCommand::Cancel);
                    }
                } else {
                    ui.spinner();
                }
                ui.ctx().request_repaint_after(Duration::from_millis(100));
            }
            if !self.setup.errors.is_empty() {
                ui.colored_label(
                    pal.error,
                    format!(
                        "Setup: {} — showing the last valid run",
                        self.setup.errors.join("; ")
                    ),
                );
            } else if self.status.is_error {
                ui.colored_label(pal.error, &self.status.text);
            } else {
                ui.label(&self.status.text);
            }
        });
    }

    fn select(&mut self, k: Option<u32>) {
        self.selected = k;
    }

    /// Applies one command.
    pub fn apply(&mut self, cmd: AppCommand) {
        let total = self
            .run
            .as_ref()
            .map_or(0, |r| r.trace.invocations.len() as u32);
        let cur = self.selected;
        let jump = |list: &[u32], forward: bool| -> Option<u32> {
            let c = cur?;
            if forward {
                list.iter().copied().find(|&k| k > c)
            } else {
                list.iter().rev().copied().find(|&k| k < c)
            }
        };
        match cmd {
            AppCommand::First if total > 0 => self.select(Some(0)),
            AppCommand::Last if total > 0 => self.select(Some(total - 1)),
            AppCommand::Next if total > 0 => {
                self.select(Some(cur.map_or(0, |c| (c + 1).min(total - 1))))
            }
            AppCommand::Prev if total > 0 => {
                self.select(Some(cur.map_or(0, |c| c.saturating_sub(1))))
            }
            AppCommand::TogglePlay if total > 0 => {
                self.playing = !self.playing;
                if self.playing && cur.is_some_and(|c| c + 1 >= total) {
                    self.selected = Some(0);
                }
                self.play_accum = 0.0;
            }
            AppCommand::NextFinal
            | AppCommand::PrevFinal
            | AppCommand::NextFailure
            | AppCommand::PrevFailure => {
                let Some(run) = &self.run else { return };
                let (list, fwd) = match cmd {
                    AppCommand::NextFinal => (&run.index.finals, true),
                    AppCommand::PrevFinal => (&run.index.finals, false),
                    AppCommand::NextFailure => (&run.index.failures, true),
                    _ => (&run.index.failures, false),
                };
                match jump(list, fwd).or_else(|| {
                    if cur.is_none() {
                        list.first().copied()
                    } else {
                        None
                    }
                }) {
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
            AppCommand::Select(k) if k < total => self.select(Some(k)),
            AppCommand::SetView(v) => self.view = v,
            AppCommand::FitView => self.view = None,
            AppCommand::ToggleHelp => self.show_help = !self.show_help,
            AppCommand::ToggleTheme => {
                self.prefs.dark = !self.prefs.dark;
                self.ctx.set_theme(if self.prefs.dark {
                    egui::Theme::Dark
                } else {
                    egui::Theme::Light
                });
            }
            AppCommand::Rerun => self.start_run(),
            AppCommand::Cancel => {
                if self.jobs.busy() {
                    self.jobs.cancel();
                    self.pending_spec = None;
                    self.status = StatusLine::info("Cancelled; showing the last complete run.");
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
            AppCommand::OpenPath(path) => self.open_path(path),
            AppCommand::OpenPaths(paths) => self.open_paths(paths),
            AppCommand::Open => self.dialog(DialogKind::OpenStream),
            AppCommand::SaveSession => self.dialog(DialogKind::SaveSession),
            AppCommand::LoadSession => self.dialog(DialogKind::LoadSession),
            AppCommand::ExportResultsCsv => self.dialog(DialogKind::Export(ExportKind::ResultsCsv)),
            AppCommand::ExportResultsJson => {
                self.dialog(DialogKind::Export(ExportKind::ResultsJson))
            }
            AppCommand::ExportLog => self.dialog(DialogKind::Export(ExportKind::Log)),
            AppCommand::ExportPlotPng => self.dialog(DialogKind::Export(ExportKind::PlotPng)),
            AppCommand::SaveSessionTo(path) => {
                let session = SessionFile {
                    tumblescope_session: SESSION_VERSION,
                    run: self.draft.clone(),
                    time_view: self.view,
                    selected: self.selected.map(|k| k + 1),
                };
                self.status = match session::save_session(&path, &session) {
                    Ok(()) => StatusLine::info(format!("Session saved to {}", path.display())),
                    Err(e) => StatusLine::error(e),
                };
            }
            AppCommand::LoadSessionFrom(path) => match session::load_session(&path) {
                Ok(s) => {
                    self.view = s.time_view;
                    self.select_after_run = s.selected.map(|n| n.saturating_sub(1));
                    self.keep = None;
                    // A session can name a handler file: code from disk. Ask before running it
                    // the first time.
                    let needs_approval =
                        crate::handlers::external::ExternalSpec::parse(&s.run.handler)
                            .is_some_and(|e| !self.approved.contains(&e.path));
                    if needs_approval {
                        self.awaiting_approval = Some(s.run);
                    } else {
                        self.draft = s.run;
                        self.setup = SetupState::default();
                        self.start_run();
                    }
                }
                Err(e) => self.status = StatusLine::error(e),
            },
            AppCommand::ExportTo(kind, path) => self.export(kind, path),
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
            AppCommand::ExportDone(msg) => {
                self.status = StatusLine {
                    is_error: msg.starts_with("error:"),
                    text: msg,
                };
            }
            AppCommand::ApproveHandler => {
                if let Some(spec) = self.awaiting_approval.take() {
                    if let Some(e) = crate::handlers::external::ExternalSpec::parse(&spec.handler) {
                        self.approved.insert(e.path);
                    }
                    self.draft = spec;
                    self.setup = SetupState::default();
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
        if path
            .extension()
            .is_some_and(|e| e == "tumblescope" || e == "session")
            || path.to_string_lossy().ends_with(".session.json")
        {
            self.commands.push(AppCommand::LoadSessionFrom(path));
            return;
        }
        self.prefs.remember(&path);
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
        for p in &paths {
            self.prefs.remember(p);
        }
        self.draft.source = SourceSpec::Files { paths };
        self.setup = SetupState::default();
        self.keep = None;
        self.view = None;
        self.start_run();
    }

    fn dialog(&mut self, kind: DialogKind) {
        let tx = self.dialog_tx.clone();
        let ctx = self.ctx.clone();
        let dir = self.prefs.last_dir.clone();
        // File dialogs block; they run on their own thread and answer with a command.
        let spawned = std::thread::Builder::new()
            .name("tumblescope-dialog".into())
            .spawn(move || {
                let mut d = rfd::FileDialog::new();
                if let Some(dir) = dir {
                    d = d.set_directory(dir);
                }
                let cmd = match kind {
                    DialogKind::Handler => d
                        .add_filter("Lambda handler", &["js", "mjs", "cjs", "py"])
                        .pick_file()
                        .map(|p| AppCommand::SetHandler(p.display().to_string())),
                    DialogKind::OpenStream => d
                        .add_filter("Streams", &["jsonl", "json", "ndjson", "csv", "txt"])
                        .pick_files()
                        .map(|mut files| match files.len() {
                            1 => AppCommand::OpenPath(files.remove(0)),
                            _ => AppCommand::OpenPaths(files),
                        }),
                    DialogKind::LoadSession => d
                        .add_filter("tumblescope session", &["json", "tumblescope"])
                        .pick_file()
                        .map(AppCommand::LoadSessionFrom),
                    DialogKind::SaveSession => d
                        .set_file_name("session.tumblescope.json")
                        .save_file()
                        .map(AppCommand::SaveSessionTo),
                    DialogKind::Export(k) => {
                        let (name, ext) = match k {
                            ExportKind::ResultsCsv => ("results.csv", "csv"),
                            ExportKind::ResultsJson => ("results.json", "json"),
                            ExportKind::Log => ("invocations.jsonl", "jsonl"),
                            ExportKind::PlotPng => ("plot.png", "png"),
                        };
                        d.set_file_name(name)
                            .add_filter(ext, &[ext])
                            .save_file()
                            .map(|p| AppCommand::ExportTo(k, p))
                    }
                };
                if let Some(cmd) = cmd {
                    tx.send(cmd).ok();
                    ctx.request_repaint();
                }
            });
        if let Err(e) = spawned {
            self.status = StatusLine::error(format!("could not open a file dialog: {e}"));
        }
    }

    fn export(&mut self, kind: ExportKind, path: PathBuf) {
        let Some(run) = self.run.clone() else { return };
        if let Err(e) = crate::output::check_output("export", &path, &run.spec.input_paths()) {
            self.status = StatusLine::error(e);
            return;
        }
        if kind == ExportKind::PlotPng {
            let Some(region) = self.plots.last_rect else {
                self.status = StatusLine::error("Show a plot first, then export it.");
                return;
            };
            let ppp = self.ctx.pixels_per_point();
            let tx = self.dialog_tx.clone();
            let ctx = self.ctx.clone();
            // The screenshot arrives with the next frame, on the renderer's side.
            let callback = egui::ScreenshotCallback::new(move |image| {
                let cropped = image.region(&region, Some(ppp));
                let msg = match write_png(&path, &cropped) {
                    Ok(()) => format!("Plot saved to {}", path.display()),
                    Err(e) => format!("error: {}: {e}", path.display()),
                };
                tx.send(AppCommand::ExportDone(msg)).ok();
                ctx.request_repaint();
            });
            self.ctx
                .send_viewport_cmd(egui::ViewportCommand::Screenshot(callback));
            self.ctx.request_repaint();
            return;
        }
        let tx = self.dialog_tx.clone();
        let ctx = self.ctx.clone();
        self.status = StatusLine::info(format!("Writing {}…", path.display()));
        // Large logs take a while: write on a worker thread and report back.
        let spawned = std::thread::Builder::new()
            .name("tumblescope-export".into())
            .spawn(move || {
                let result = write_export(kind, &path, &run);
                tx.send(AppCommand::ExportDone(match result {
                    Ok(()) => format!("Wrote {}", path.display()),
                    Err(e) => format!("error: {}: {e}", path.display()),
                }))
                .ok();
                ctx.request_repaint();
            });
        if let Err(e) = spawned {
            self.status = StatusLine::error(format!("could not start the export: {e}"));
        }
    }
}

#[derive(Clone, Copy)]
enum DialogKind {
    Handler,
    OpenStream,
    SaveSession,
    LoadSession,
    Export(ExportKind),
}

/// Writes an export file (atomically).
pub fn write_export(kind: ExportKind, path: &std::path::Path, run: &Run) -> Result<(), String> {
    let bytes = match kind {
        ExportKind::ResultsCsv => crate::export::results_csv(&run.stream, &run.trace).into_bytes(),
        ExportKind::ResultsJson => {
            crate::export::results_json(&run.stream, &run.trace).into_bytes()
        }
        ExportKind::Log => {
            return crate::output::write_with(path, |w| {
                crate::export::write_events_jsonl(w, &run.stream, &run.spec.settings, &run.trace)
            })
            .map_err(|e| e.to_string());
        }
        ExportKind::PlotPng => return Err("plots are exported from the window".into()),
    };
    session::write_atomically(path, &bytes).map_err(|e| e.to_string())
}

fn write_png(path: &std::path::Path, image: &egui::ColorImage) -> Result<(), String> {
    let mut bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut bytes, image.size[0] as u32, image.size[1] as u32);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().map_err(|e| e.to_string())?;
        let raw: Vec<u8> = image.pixels.iter().flat_map(|c| c.to_array()).collect();
        w.write_image_data(&raw).map_err(|e| e.to_string())?;
    }
    session::write_atomically(path, &bytes).map_err(|e| e.to_string())
}

fn help_window(ctx: &egui::Context, open: &mut bool) {
    egui::Window::new("tumblescope help").open(open).default_width(460.0).show(ctx, |ui| {
        ui.label("Timeline: one lane per shard. Top row: records at their arrival time. Bottom row: invocations at their processing time (blue aggregate, green final, orange early termination, red failed, yellow outline retry). Shaded bands are tumbling windows.");
        ui.add_space(6.0);
        egui::Grid::new("help-mouse").striped(true).show(ui, |ui| {
            for (what, how) in [
                ("Zoom about the pointer", "mouse wheel or pinch"),
                ("Pan", "drag, or scroll sideways"),
                ("Fit everything", "double-click"),
                ("Select an invocation", "click it (or its lane at a time)"),
                ("Details of a record", "hover its mark"),
                ("Select from a plot", "click near a point"),
                ("Open a stream", "drop a file on the window"),
            ] {
                ui.label(what);
                ui.label(how);
                ui.end_row();
            }
        });
        ui.add_space(6.0);
        ui.strong("Keyboard (inactive while typing in a field)");
        egui::Grid::new("help-keys").striped(true).show(ui, |ui| {
            for cmd in AppCommand::with_shortcuts() {
                if let Some(sc) = cmd.shortcut() {
                    ui.label(cmd.text());
                    ui.label(ctx.format_shortcut(&sc));
                    ui.end_row();
                }
            }
        });
    });
}

/// Asks before running a handler file named by a session file.
fn approval_window(ctx: &egui::Context, spec: &RunSpec, cmds: &mut Vec<AppCommand>) {
    let Some(e) = crate::handlers::external::ExternalSpec::parse(&spec.handler) else {
        return;
    };
    egui::Window::new("Run this handler?")
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_CENTER, egui::vec2(0.0, 0.0))
        .show(ctx, |ui| {
            ui.label("The session you opened runs code from disk:");
            ui.label(RichText::new(e.path.display().to_string()).monospace().strong());
            ui.label(format!(
                "export \"{}\", with {}. It runs offline (AWS SDK calls go to in-memory stand-ins, no credentials are passed), but it is still a program on your machine.",
                e.export,
                match e.runtime {
                    crate::handlers::external::Runtime::Node => "Node.js",
                    crate::handlers::external::Runtime::Python => "Python",
                }
            ));
            ui.horizontal(|ui| {
                if ui.button("Run handler").clicked() {
                    cmds.push(AppCommand::ApproveHandler);
                }
                if ui.button("Use built-in sum instead").clicked() {
                    cmds.push(AppCommand::RejectHandler);
                }
            });
        });
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
