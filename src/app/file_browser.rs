//! The in-app file browser (the `egui_file` crate), used where the system's file dialog cannot
//! open (no desktop portal, a bare X server) or when the user prefers it (View menu).

use std::path::{Path, PathBuf};

use super::command::{AppCommand, DialogKind, ExportKind};

/// What each dialog is for: its title, the extensions it lists and the name it proposes.
impl DialogKind {
    /// Window title.
    pub fn title(self) -> &'static str {
        match self {
            Self::Handler => "Choose a handler file",
            Self::OpenStream => "Open stream file(s)",
            Self::OpenTemplate => "Open template",
            Self::SaveSession => "Save session",
            Self::LoadSession => "Load session",
            Self::Export(k) => k.title(),
        }
    }

    /// The file name a save dialog proposes (`None` for open dialogs).
    pub fn file_name(self) -> Option<&'static str> {
        Some(match self {
            Self::SaveSession => "session.tumblescope.json",
            Self::Export(k) => k.file_name(),
            _ => return None,
        })
    }

    /// Extensions listed (the filter of the native dialog; the browser lists folders too).
    pub fn extensions(self) -> (&'static str, &'static [&'static str]) {
        match self {
            Self::Handler => ("Lambda handler", &["js", "mjs", "cjs", "py"]),
            Self::OpenStream => ("Streams", &["jsonl", "json", "ndjson", "csv", "txt"]),
            Self::OpenTemplate => (
                "SAM, CloudFormation or Terraform JSON",
                &["yaml", "yml", "json", "template"],
            ),
            Self::LoadSession => ("tumblescope session", &["json", "tumblescope"]),
            Self::SaveSession => ("tumblescope session", &["json"]),
            Self::Export(k) => (k.extension(), k.extensions()),
        }
    }

    /// The command the chosen file(s) become; `None` when nothing was chosen.
    pub fn answer(self, mut paths: Vec<PathBuf>) -> Option<AppCommand> {
        if paths.is_empty() {
            return None;
        }
        Some(match self {
            Self::Handler => AppCommand::SetHandler(paths[0].display().to_string()),
            Self::OpenStream if paths.len() > 1 => AppCommand::OpenPaths(paths),
            Self::OpenStream => AppCommand::OpenPath(paths.remove(0)),
            Self::OpenTemplate => AppCommand::OpenTemplate(paths.remove(0)),
            Self::LoadSession => AppCommand::LoadSessionFrom(paths.remove(0)),
            Self::SaveSession => AppCommand::SaveSessionTo(paths.remove(0)),
            Self::Export(k) => AppCommand::ExportTo(k, paths.remove(0)),
        })
    }
}

impl ExportKind {
    /// The file name an export proposes.
    pub fn file_name(self) -> &'static str {
        match self {
            Self::ResultsCsv => "results.csv",
            Self::ResultsJson => "results.json",
            Self::Log => "invocations.jsonl",
            Self::PlotPng => "plot.png",
            Self::PerfettoTrace => "trace.json",
            Self::TemplateSam => "template.yaml",
            Self::TemplateCloudformation => "template.json",
            Self::TemplateTerraform => "mapping.tf.json",
        }
    }

    /// What the export dialog says it writes.
    pub fn title(self) -> &'static str {
        match self {
            Self::ResultsCsv => "Export results (CSV)",
            Self::ResultsJson => "Export results (JSON)",
            Self::Log => "Export invocation log (JSON Lines)",
            Self::PlotPng => "Export plot (PNG)",
            Self::PerfettoTrace => "Export Perfetto trace (JSON)",
            Self::TemplateSam => "Export SAM template",
            Self::TemplateCloudformation => "Export CloudFormation template",
            Self::TemplateTerraform => "Export Terraform (.tf.json)",
        }
    }

    fn extension(self) -> &'static str {
        self.file_name().rsplit('.').next().unwrap_or("")
    }

    fn extensions(self) -> &'static [&'static str] {
        match self.extension() {
            "csv" => &["csv"],
            "jsonl" => &["jsonl"],
            "png" => &["png"],
            "yaml" => &["yaml", "yml"],
            _ => &["json"],
        }
    }
}

/// Whether a native file dialog can be expected to open. On Linux and the BSDs the dialog is
/// the desktop portal, reached over the session bus; without a bus there is no dialog, and
/// `rfd` answers as if the user had cancelled.
pub fn native_dialog_likely() -> bool {
    if cfg!(any(target_os = "windows", target_os = "macos")) {
        return true;
    }
    std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some()
        || std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|d| Path::new(&d).join("bus").exists())
}

/// The browser window in use and what it answers for.
pub struct FileBrowser {
    dialog: egui_file::FileDialog,
    kind: DialogKind,
}

impl FileBrowser {
    /// A browser for `kind`, opened in `dir` (else the working directory).
    pub fn open(kind: DialogKind, dir: Option<&Path>) -> Self {
        let (_, exts) = kind.extensions();
        let exts: Vec<String> = exts.iter().map(|e| (*e).to_owned()).collect();
        let mut dialog = match kind.file_name() {
            Some(name) => egui_file::FileDialog::save_file().default_filename(name),
            None => egui_file::FileDialog::open_file().multi_select(kind == DialogKind::OpenStream),
        }
        .title(kind.title())
        .default_size([640.0, 480.0])
        .show_files_filter(Box::new(move |p: &Path| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| exts.iter().any(|x| x.eq_ignore_ascii_case(e)))
        }));
        if let Some(dir) = dir.filter(|d| d.is_dir()) {
            dialog = dialog.initial_path(dir);
        }
        dialog.open();
        Self { dialog, kind }
    }

    /// Draws the browser. `Some(answer)` once it closes: the command for the chosen file(s),
    /// or `None` when the user cancelled.
    pub fn show(&mut self, ctx: &egui::Context) -> Option<Option<AppCommand>> {
        self.dialog.show(ctx);
        match self.dialog.state() {
            egui_file::State::Open => None,
            egui_file::State::Selected => {
                let mut paths: Vec<PathBuf> = self
                    .dialog
                    .selection()
                    .into_iter()
                    .map(Path::to_path_buf)
                    .collect();
                if paths.is_empty() {
                    paths.extend(self.dialog.path().map(Path::to_path_buf));
                }
                Some(self.kind.answer(paths))
            }
            egui_file::State::Cancelled | egui_file::State::Closed => Some(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_become_the_same_commands_as_the_native_dialog() {
        let p = PathBuf::from("/d/a.jsonl");
        assert_eq!(
            DialogKind::OpenStream.answer(vec![p.clone()]),
            Some(AppCommand::OpenPath(p.clone()))
        );
        assert_eq!(
            DialogKind::OpenStream.answer(vec![p.clone(), p.clone()]),
            Some(AppCommand::OpenPaths(vec![p.clone(), p.clone()]))
        );
        assert_eq!(
            DialogKind::Export(ExportKind::Log).answer(vec![p.clone()]),
            Some(AppCommand::ExportTo(ExportKind::Log, p))
        );
        assert_eq!(DialogKind::Handler.answer(vec![]), None);
        assert_eq!(
            DialogKind::Export(ExportKind::TemplateSam).extensions().1,
            &["yaml", "yml"]
        );
        assert_eq!(
            DialogKind::SaveSession.file_name(),
            Some("session.tumblescope.json")
        );
    }
}
