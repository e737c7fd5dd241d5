//! File dialogs, exports and the plot PNG: each runs off the UI thread and reports back with a
//! command.

use std::path::PathBuf;

use super::command::{AppCommand, ExportKind};
use super::session::{self, Run};
use super::{StatusLine, TumbleApp};

impl TumbleApp {
    pub(super) fn dialog(&mut self, kind: DialogKind) {
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
                    DialogKind::OpenTemplate => d
                        .add_filter(
                            "SAM, CloudFormation or Terraform JSON",
                            &["yaml", "yml", "json", "template"],
                        )
                        .pick_file()
                        .map(AppCommand::OpenTemplate),
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
                            ExportKind::PerfettoTrace => ("trace.json", "json"),
                            ExportKind::TemplateSam => ("template.yaml", "yaml"),
                            ExportKind::TemplateCloudformation => ("template.json", "json"),
                            ExportKind::TemplateTerraform => ("mapping.tf.json", "json"),
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

#[derive(Clone, Copy)]
pub(super) enum DialogKind {
    Handler,
    OpenStream,
    OpenTemplate,
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
