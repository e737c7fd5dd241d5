//! The frame's layout: which panel goes where, in egui's order (bars, side panels, the
//! central area, then windows over it), and where each was drawn (for the lesson's frame).

use egui::Ui;

use super::TumbleApp;
use super::command::{AppCommand, shortcuts_pressed};
use super::lesson;
use super::panels::capture::capture_window;
use super::panels::find::find_bar_ui;
use super::panels::inspector::inspector_ui;
use super::panels::menu::{approval_window, help_window};
use super::panels::plots::{Shown, plots_ui};
use super::panels::setup::setup_ui;
use super::panels::stepper::{StepperState, stepper_ui};
use super::panels::timeline::legend::legend_ui;
use super::panels::timeline::overview::overview_ui;
use super::panels::timeline::{LABEL_W, Marks, fit_view, timeline_ui};
use super::panels::window_view::window_view_ui;
use super::theme::Palette;

impl TumbleApp {
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
        self.bars_ui(ui, &mut cmds);
        self.side_panels_ui(ui, &mut cmds);
        let area = self.central_ui(ui, &mut cmds);
        self.windows_ui(ui.ctx(), area, &mut cmds);
        for cmd in cmds {
            self.apply(cmd);
        }
    }

    /// The menu bar with the stepper, and the status bar.
    fn bars_ui(&mut self, ui: &mut Ui, cmds: &mut Vec<AppCommand>) {
        let pal = Palette::of(ui.visuals());

        egui::Panel::top("menu").show(ui, |ui| {
            egui::MenuBar::new().ui(ui, |ui| self.menu_ui(ui, cmds));
            ui.horizontal_wrapped(|ui| {
                let st = self.stepper_state();
                stepper_ui(ui, &st, self.prefs.play_speed, cmds);
            });
        });
        egui::Panel::bottom("status").show(ui, |ui| self.status_ui(ui, &pal, cmds));
    }

    /// Setup (left), inspector (right) and plots (bottom).
    fn side_panels_ui(&mut self, ui: &mut Ui, cmds: &mut Vec<AppCommand>) {
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
                    setup_ui(ui, &self.draft, &mut self.setup, cmds);
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
                        // Held at its width while there is no run (a big run's re-run), so the
                        // timeline does not jump wider and back.
                        ui.expand_to_include_rect(ui.max_rect());
                    }
                });
            self.rects.inspector = Some(inspector.response.rect);
            if let Some(start) = self.inspector.open_window.take() {
                cmds.push(AppCommand::ShowWindow(start));
            }
        }
        if self.prefs.show_plots {
            self.plots_panel(ui, full, cmds);
        }
    }

    /// The find bar, colour key, overview and timeline; returns the area they fill.
    fn central_ui(&mut self, ui: &mut Ui, cmds: &mut Vec<AppCommand>) -> egui::Rect {
        let central = egui::CentralPanel::default().show(ui, |ui| match &self.run {
            Some(run) => {
                if self.find.open {
                    let searching = self.searching();
                    find_bar_ui(ui, run, &mut self.find, searching, cmds);
                }
                if self.prefs.show_legend {
                    legend_ui(ui, run);
                }
                let view = self.view.unwrap_or_else(|| fit_view(run));
                overview_ui(ui, run, view, LABEL_W, cmds);
                let marks = Marks {
                    found: self.find.found(),
                    bookmarks: &self.bookmarks,
                };
                timeline_ui(ui, run, self.selected, self.view, marks, cmds);
            }
            None => match &self.released {
                Some(released) => {
                    ui.vertical_centered(|ui| {
                        ui.add_space(ui.available_height() * 0.4);
                        ui.spinner();
                        ui.label(released.describe());
                    });
                }
                None => {
                    ui.centered_and_justified(|ui| {
                        ui.spinner();
                    });
                }
            },
        });
        self.rects.timeline = Some(central.response.rect);
        central.response.rect
    }

    /// Windows over the timeline: help, the lesson, the window view, the handler prompt, the
    /// capture, the file browser, and the drop preview.
    fn windows_ui(&mut self, ctx: &egui::Context, area: egui::Rect, cmds: &mut Vec<AppCommand>) {
        if self.show_help {
            help_window(ctx, &mut self.show_help, area);
        }
        if let Some(l) = &self.lesson {
            let focus = l.steps.get(l.at).and_then(|s| match s.focus {
                lesson::Focus::Timeline => self.rects.timeline,
                lesson::Focus::Inspector(_) => self.rects.inspector,
                lesson::Focus::Plots(_) => self.rects.plots,
            });
            lesson::lesson_ui(ctx, l, area, focus, cmds);
        }
        if let (Some(start), Some(run)) = (self.window_view, &self.run) {
            let mut open = true;
            window_view_ui(ctx, run, start, &mut open, area, cmds);
            if !open {
                self.window_view = None;
            }
        }
        if let Some(spec) = &self.awaiting_approval {
            approval_window(ctx, spec, cmds);
        }
        if self.capture.open {
            capture_window(ctx, &mut self.capture, cmds);
        }
        self.browser_ui(ctx, cmds);
        preview_dropped_files(ctx);
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
}

/// Where the panels were drawn last frame.
#[derive(Clone, Copy, Default)]
pub(super) struct PanelRects {
    pub timeline: Option<egui::Rect>,
    pub inspector: Option<egui::Rect>,
    pub plots: Option<egui::Rect>,
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
