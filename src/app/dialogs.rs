//! File dialogs, exports and the plot PNG: each runs off the UI thread and reports back with a
//! command.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::command::{AppCommand, DialogKind, ExportKind};
use super::file_browser::{FileBrowser, native_dialog_likely};
use super::session::{self, Run};
use super::{StatusLine, TumbleApp};

/// A native dialog that answers "nothing chosen" faster than this never opened: no person
/// cancels a dialog within a quarter of a second.
const NATIVE_FAILED_WITHIN: Duration = Duration::from_millis(250);

impl TumbleApp {
    /// Asks for a file: the system dialog on its own thread (it blocks), or the in-app browser
    /// where the system dialog cannot open or the user prefers it.
    pub(super) fn dialog(&mut self, kind: DialogKind) {
        if self.prefs.builtin_file_browser {
            self.browse(kind);
            return;
        }
        if !native_dialog_likely() {
            self.status = StatusLine::info(
                "No system file dialog here (no desktop session bus for the file-dialog portal); \
                 using the built-in file browser",
            );
            self.browse(kind);
            return;
        }
        let tx = self.dialog_tx.clone();
        let ctx = self.ctx.clone();
        let dir = self.prefs.last_dir.clone();
        let spawned = std::thread::Builder::new()
            .name("tumblescope-dialog".into())
            .spawn(move || {
                let started = Instant::now();
                let paths = native_dialog(kind, dir);
                let cmd = match kind.answer(paths) {
                    Some(cmd) => cmd,
                    None if started.elapsed() < NATIVE_FAILED_WITHIN => {
                        AppCommand::NativeDialogFailed(kind)
                    }
                    None => return,
                };
                tx.send(cmd).ok();
                ctx.request_repaint();
            });
        if let Err(e) = spawned {
            self.status = StatusLine::error(format!(
                "could not start the file dialog ({e}); using the built-in file browser"
            ));
            self.browse(kind);
        }
    }

    /// Opens the in-app file browser for `kind`.
    pub(super) fn browse(&mut self, kind: DialogKind) {
        self.browser = Some(FileBrowser::open(kind, self.prefs.last_dir.as_deref()));
    }

    /// Draws the in-app browser while it is open; its answer joins this frame's commands.
    pub(super) fn browser_ui(&mut self, ctx: &egui::Context, cmds: &mut Vec<AppCommand>) {
        let Some(browser) = &mut self.browser else {
            return;
        };
        if let Some(answer) = browser.show(ctx) {
            self.browser = None;
            cmds.extend(answer);
        }
    }

    pub(super) fn export(&mut self, kind: ExportKind, path: PathBuf) {
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

/// The system dialog for `kind` (blocks until it closes); the chosen paths, none if cancelled
/// or if it could not open.
fn native_dialog(kind: DialogKind, dir: Option<PathBuf>) -> Vec<PathBuf> {
    let (what, exts) = kind.extensions();
    let mut d = rfd::FileDialog::new().add_filter(what, exts);
    if let Some(dir) = dir {
        d = d.set_directory(dir);
    }
    match (kind, kind.file_name()) {
        (_, Some(name)) => d.set_file_name(name).save_file().into_iter().collect(),
        (DialogKind::OpenStream, None) => d.pick_files().unwrap_or_default(),
        (_, None) => d.pick_file().into_iter().collect(),
    }
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
        ExportKind::PerfettoTrace => {
            crate::trace_events::trace_events_json(&run.stream, &run.trace).into_bytes()
        }
        ExportKind::TemplateSam
        | ExportKind::TemplateCloudformation
        | ExportKind::TemplateTerraform => template_text(kind, run).into_bytes(),
    };
    session::write_atomically(path, &bytes).map_err(|e| e.to_string())
}

/// The run's mapping and function as a deployment template.
fn template_text(kind: ExportKind, run: &Run) -> String {
    use crate::template::export::{Deployment, TemplateFormat};
    let format = match kind {
        ExportKind::TemplateCloudformation => TemplateFormat::Cloudformation,
        ExportKind::TemplateTerraform => TemplateFormat::Terraform,
        _ => TemplateFormat::Sam,
    };
    let handler = crate::handlers::external::ExternalSpec::parse(&run.spec.handler).map(|mut h| {
        if let Ok(p) = std::fs::canonicalize(&h.path) {
            h.path = p;
        }
        h
    });
    Deployment {
        settings: &run.spec.settings,
        source: run.stream.source,
        meta: &run.stream.meta,
        handler,
    }
    .render(format)
}

pub(super) fn write_png(path: &std::path::Path, image: &egui::ColorImage) -> Result<(), String> {
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
