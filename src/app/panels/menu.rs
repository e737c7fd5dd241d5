//! The menu bar, the status bar, the help window and the handler-approval prompt.

use std::path::PathBuf;
use std::time::Instant;

use egui::{RichText, Ui};

use crate::app::command::{AppCommand, ExportKind, PanelId};
use crate::app::status::{INFO_LASTS, expanded_ui, message_ui, progress_ui};
use crate::app::theme::Palette;
use crate::app::{StatusLine, TumbleApp};
use crate::run::{RunSpec, SourceSpec};
use crate::scenarios;

impl TumbleApp {
    pub(crate) fn menu_ui(&mut self, ui: &mut Ui, cmds: &mut Vec<AppCommand>) {
        // Clicks inside the File menu keep it open (its Path field takes clicks); each item
        // closes it itself.
        egui::containers::menu::MenuButton::new("File")
            .config(
                egui::containers::menu::MenuConfig::new()
                    .close_behavior(egui::PopupCloseBehavior::CloseOnClickOutside),
            )
            .ui(ui, |ui| self.file_menu_ui(ui, cmds));
        ui.menu_button("Scenarios", |ui| {
            for s in scenarios::all() {
                let resp = ui.button(s.title).on_hover_text(s.look_for);
                if resp.clicked() {
                    cmds.push(AppCommand::LoadScenario(s.id.to_owned()));
                }
            }
        });
        ui.menu_button("View", |ui| self.view_menu_ui(ui, cmds));
        ui.menu_button("Simulation", |ui| {
            menu_item(ui, AppCommand::Rerun, cmds);
            menu_item(ui, AppCommand::Cancel, cmds);
            ui.separator();
            menu_item(ui, AppCommand::PinRun, cmds);
            if self.pinned.is_some() {
                menu_item(ui, AppCommand::UnpinRun, cmds);
            }
        });
        if ui.button("Help").clicked() {
            cmds.push(AppCommand::ToggleHelp);
        }
        if ui
            .button("Lesson")
            .on_hover_text("A guided walk through tumbling windows on this run")
            .clicked()
        {
            cmds.push(AppCommand::StartLesson);
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

    fn file_menu_ui(&mut self, ui: &mut Ui, cmds: &mut Vec<AppCommand>) {
        menu_item(ui, AppCommand::Open, cmds);
        menu_item(ui, AppCommand::PickTemplate, cmds);
        menu_item(ui, AppCommand::ShowCapture, cmds);
        self.path_entry_ui(ui, cmds);
        ui.menu_button("Open recent", |ui| {
            if self.prefs.recent.is_empty() {
                ui.label("No recent files");
            }
            for p in self.prefs.recent.clone() {
                // A file moved or deleted since: shown, but not offered.
                let there = p.exists();
                let button = ui
                    .add_enabled(there, egui::Button::new(p.display().to_string()))
                    .on_disabled_hover_text("This file no longer exists.");
                if button.clicked() {
                    cmds.push(AppCommand::OpenPath(p));
                    ui.close();
                }
            }
        });
        ui.separator();
        menu_item(ui, AppCommand::SaveSession, cmds);
        menu_item(ui, AppCommand::LoadSession, cmds);
        ui.separator();
        menu_item(ui, AppCommand::ExportResultsCsv, cmds);
        menu_item(ui, AppCommand::ExportResultsJson, cmds);
        menu_item(ui, AppCommand::ExportLog, cmds);
        menu_item(ui, AppCommand::ExportPlotPng, cmds);
        menu_item(ui, AppCommand::ExportTrace, cmds);
        ui.separator();
        for k in [
            ExportKind::TemplateSam,
            ExportKind::TemplateCloudformation,
            ExportKind::TemplateTerraform,
        ] {
            menu_item(ui, AppCommand::ExportTemplate(k), cmds);
        }
    }

    /// Typed paths work where no native file dialog is available (no desktop portal).
    fn path_entry_ui(&mut self, ui: &mut Ui, cmds: &mut Vec<AppCommand>) {
        ui.horizontal(|ui| {
            let label = ui.label("Path:");
            let resp = ui
                .add(
                    egui::TextEdit::singleline(&mut self.path_entry)
                        .desired_width(260.0)
                        .hint_text("file(s), space-separated"),
                )
                .labelled_by(label.id);
            let as_template = ui
                .button("Open as template")
                .on_hover_text(
                    "A SAM/CloudFormation template or Terraform JSON; FILE#MAPPING picks a mapping",
                )
                .clicked();
            if as_template && !self.path_entry.trim().is_empty() {
                cmds.push(AppCommand::OpenTemplate(PathBuf::from(
                    self.path_entry.trim(),
                )));
                ui.close();
                return;
            }
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
    }

    fn view_menu_ui(&mut self, ui: &mut Ui, cmds: &mut Vec<AppCommand>) {
        for (mut shown, label, panel) in [
            (self.prefs.show_setup, "Setup panel", PanelId::Setup),
            (self.prefs.show_inspector, "Inspector", PanelId::Inspector),
            (self.prefs.show_plots, "Plots", PanelId::Plots),
        ] {
            if ui.checkbox(&mut shown, label).changed() {
                cmds.push(AppCommand::TogglePanel(panel));
            }
        }
        ui.checkbox(&mut self.prefs.show_legend, "Colour key")
            .on_hover_text("What the timeline's colours and marks mean, above the lanes");
        let mut builtin = self.prefs.builtin_file_browser;
        if ui
            .checkbox(&mut builtin, "Built-in file browser")
            .on_hover_text("Choose files in the app instead of the system's file dialog")
            .changed()
        {
            cmds.push(AppCommand::SetBuiltinFileBrowser(builtin));
        }
        menu_item(ui, AppCommand::FitView, cmds);
        menu_item(ui, AppCommand::ShowFind, cmds);
        menu_item(ui, AppCommand::ShowGoTo, cmds);
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
    }

    pub(crate) fn status_ui(&mut self, ui: &mut Ui, pal: &Palette, cmds: &mut Vec<AppCommand>) {
        self.status_bar.log(&self.status);
        let fault = self.run.as_ref().and_then(|r| r.stream.payload_fault());
        let shown = if let Some(why) = fault {
            // Payloads are read back from the input file; once it changed they cannot be.
            (format!("{why} (records' data is shown empty)"), true)
        } else if self.setup.errors.is_empty() {
            let (text, is_error) = self.status_bar.shown(&self.status, Instant::now());
            (text.to_owned(), is_error)
        } else {
            let errors = self.setup.errors.join("; ");
            (
                format!("Setup: {errors} — showing the last valid run"),
                true,
            )
        };
        if !self.status.is_error {
            // Wake when a passing message is due to give way to the summary.
            ui.ctx().request_repaint_after(INFO_LASTS);
        }
        let mut dismiss = false;
        ui.horizontal(|ui| {
            if let Some((_, _, started)) = &self.jobs.current {
                progress_ui(ui, *started, self.jobs.progress, cmds);
            }
            dismiss = message_ui(ui, &mut self.status_bar, (&shown.0, shown.1), pal);
        });
        if self.status_bar.expanded {
            expanded_ui(ui, &self.status_bar, (&shown.0, shown.1), pal);
        }
        if dismiss && self.setup.errors.is_empty() {
            self.status = StatusLine::info(self.status_bar.summary.clone());
        }
    }
}

/// Help, kept inside `area` (below the menu and stepper, beside the side panels) and scrolled
/// when it is taller than that.
pub(crate) fn help_window(ctx: &egui::Context, open: &mut bool, area: egui::Rect) {
    egui::Window::new("tumblescope help")
        .open(open)
        .default_width(460.0)
        .default_pos(area.left_top() + egui::vec2(16.0, 16.0))
        .constrain_to(area)
        .vscroll(true)
        .show(ctx, |ui| {
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
pub(crate) fn approval_window(ctx: &egui::Context, spec: &RunSpec, cmds: &mut Vec<AppCommand>) {
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

/// A menu entry for a command, with its shortcut when it has one.
fn menu_item(ui: &mut Ui, cmd: AppCommand, cmds: &mut Vec<AppCommand>) {
    let mut b = egui::Button::new(cmd.text());
    if let Some(sc) = cmd.shortcut() {
        b = b.shortcut_text(ui.ctx().format_shortcut(&sc));
    }
    if ui.add(b).clicked() {
        cmds.push(cmd);
        ui.close();
    }
}
