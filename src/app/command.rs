//! Every user action as one command enum: menus, buttons and shortcuts all produce these, and
//! the app applies them at the end of the frame.

use std::path::PathBuf;

use egui::{Key, KeyboardShortcut, Modifiers};

use super::panels::timeline::view::TimeView;

/// A user action.
#[derive(Clone, Debug, PartialEq)]
pub enum AppCommand {
    /// File → Open… (native dialog).
    Open,
    /// Open a stream file (dialog result, recent file, drop, command line).
    OpenPath(PathBuf),
    /// Open several stream files as one stream (e.g. one per shard).
    OpenPaths(Vec<PathBuf>),
    /// Load a scenario preset by id.
    LoadScenario(String),
    /// Session → Save… (dialog).
    SaveSession,
    /// Save the session to a path.
    SaveSessionTo(PathBuf),
    /// Session → Load… (dialog).
    LoadSession,
    /// Load a session from a path.
    LoadSessionFrom(PathBuf),
    /// Export results as CSV (dialog).
    ExportResultsCsv,
    /// Export results as JSON (dialog).
    ExportResultsJson,
    /// Export the invocation log as JSON Lines (dialog).
    ExportLog,
    /// Export the plot as PNG (dialog, then a screenshot).
    ExportPlotPng,
    /// Export the run as a Perfetto / Chrome trace (dialog).
    ExportTrace,
    /// Export the current setup as a deployment template (dialog).
    ExportTemplate(ExportKind),
    /// Read a deployment template into the setup: `FILE` or `FILE#MAPPING`.
    OpenTemplate(PathBuf),
    /// File → Open template… (native dialog).
    PickTemplate,
    /// File → Capture from stream…: shows the capture window.
    ShowCapture,
    /// Start the capture the window describes.
    StartCapture,
    /// Stop the capture in flight (what was read is written and opened).
    StopCapture,
    /// Write an export to a path.
    ExportTo(ExportKind, PathBuf),
    /// Re-run the simulation with the current setup.
    Rerun,
    /// Cancel the running job.
    Cancel,
    /// First invocation.
    First,
    /// Previous invocation.
    Prev,
    /// Next invocation.
    Next,
    /// Last invocation.
    Last,
    /// Play or pause.
    TogglePlay,
    /// Next final invocation.
    NextFinal,
    /// Previous final invocation.
    PrevFinal,
    /// Next failed invocation.
    NextFailure,
    /// Previous failed invocation.
    PrevFailure,
    /// Select an invocation (0-based index).
    Select(u32),
    /// Set the timeline view (`None` = fit everything).
    SetView(Option<TimeView>),
    /// Fit the timeline to the data.
    FitView,
    /// Show or hide the help window.
    ToggleHelp,
    /// Switch between dark and light.
    ToggleTheme,
    /// Run a handler the user was asked about.
    ApproveHandler,
    /// Do not run it; use the built-in handler.
    RejectHandler,
    /// Choose a handler file (dialog).
    PickHandler,
    /// Use this handler spec.
    SetHandler(String),
    /// An export finished (message for the status bar; "error: …" when it failed).
    ExportDone(String),
    /// Show or hide a panel.
    TogglePanel(PanelId),
    /// Playback speed, invocations per second.
    SetPlaySpeed(f32),
    /// Plot totals across windows instead of within each window.
    SetAcrossWindows(bool),
    /// The system file dialog did not open: say so and show the in-app browser instead.
    NativeDialogFailed(DialogKind),
    /// Use the in-app file browser instead of the system dialog (a preference).
    SetBuiltinFileBrowser(bool),
    /// Start the guided lesson on the run on screen.
    StartLesson,
    /// The lesson's next (+1) or previous (-1) step.
    LessonStep(i32),
    /// End the lesson.
    EndLesson,
    /// Keep the shown run as A, to compare the next runs (B) with it.
    PinRun,
    /// Stop comparing.
    UnpinRun,
    /// Show the window view for the window starting at this time (epoch ms).
    ShowWindow(i64),
    /// Re-run when the user handler's folder changes (a preference).
    SetWatchHandler(bool),
    /// Bookmark the selected invocation, or remove its bookmark (B).
    ToggleBookmark,
    /// Set a bookmark's note: invocation number (1-based), text.
    SetBookmarkNote(u32, String),
    /// Remove the bookmark of an invocation number (1-based).
    RemoveBookmark(u32),
    /// Show the find bar and focus its field (Ctrl+F).
    ShowFind,
    /// Show the go-to box (Ctrl+G).
    ShowGoTo,
    /// Hide the find bar.
    CloseFind,
    /// Search the records for this text (typed).
    SearchFor(String),
    /// Show the next (+1) or previous (-1) match.
    FindStep(i32),
    /// Show match `i` of the search.
    ShowMatch(usize),
    /// Go to what the go-to box names.
    GoTo(String),
    /// Compute the invocation table's rows for this filter and sort.
    QueryTable(crate::find::table::TableQuery),
    /// The setup panel edited the draft (re-runs once edits settle).
    SetDraft(Box<crate::run::RunSpec>),
}

/// The panels that can be shown or hidden.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PanelId {
    /// Setup (left).
    Setup,
    /// Inspector (right).
    Inspector,
    /// Plots (bottom).
    Plots,
}

/// Which file dialog: what it picks and what the answer becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DialogKind {
    /// A handler file for the setup.
    Handler,
    /// Stream file(s) to open.
    OpenStream,
    /// A deployment template.
    OpenTemplate,
    /// Where to save the session.
    SaveSession,
    /// A session to load.
    LoadSession,
    /// Where to write an export.
    Export(ExportKind),
}

/// What an export writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportKind {
    /// Results CSV.
    ResultsCsv,
    /// Results JSON.
    ResultsJson,
    /// Invocation log JSON Lines.
    Log,
    /// Plot PNG.
    PlotPng,
    /// Chrome Trace Event JSON (Perfetto UI, chrome://tracing).
    PerfettoTrace,
    /// SAM template (YAML).
    TemplateSam,
    /// CloudFormation template (JSON).
    TemplateCloudformation,
    /// Terraform configuration (.tf.json).
    TemplateTerraform,
}

impl AppCommand {
    /// Keyboard shortcut, if the command has one.
    pub fn shortcut(&self) -> Option<KeyboardShortcut> {
        let k = |m: Modifiers, key: Key| Some(KeyboardShortcut::new(m, key));
        match self {
            Self::Open => k(Modifiers::COMMAND, Key::O),
            Self::SaveSession => k(Modifiers::COMMAND, Key::S),
            Self::LoadSession => k(Modifiers::COMMAND | Modifiers::SHIFT, Key::O),
            Self::Rerun => k(Modifiers::COMMAND, Key::R),
            Self::Cancel => k(Modifiers::NONE, Key::Escape),
            Self::First => k(Modifiers::NONE, Key::Home),
            Self::Prev => k(Modifiers::NONE, Key::ArrowLeft),
            Self::Next => k(Modifiers::NONE, Key::ArrowRight),
            Self::Last => k(Modifiers::NONE, Key::End),
            Self::TogglePlay => k(Modifiers::NONE, Key::Space),
            Self::NextFinal => k(Modifiers::NONE, Key::F),
            Self::PrevFinal => k(Modifiers::SHIFT, Key::F),
            Self::NextFailure => k(Modifiers::NONE, Key::E),
            Self::PrevFailure => k(Modifiers::SHIFT, Key::E),
            Self::FitView => k(Modifiers::NONE, Key::Z),
            Self::ToggleHelp => k(Modifiers::NONE, Key::F1),
            Self::ShowFind => k(Modifiers::COMMAND, Key::F),
            Self::ToggleBookmark => k(Modifiers::NONE, Key::B),
            Self::ShowGoTo => k(Modifiers::COMMAND, Key::G),
            Self::FindStep(1) => k(Modifiers::NONE, Key::F3),
            Self::FindStep(-1) => k(Modifiers::SHIFT, Key::F3),
            _ => None,
        }
    }

    /// Menu and button text.
    pub fn text(&self) -> &'static str {
        match self {
            Self::Open => "Open stream…",
            Self::PickTemplate => "Open template…",
            Self::ShowCapture => "Capture from stream…",
            Self::SaveSession => "Save session…",
            Self::LoadSession => "Load session…",
            Self::ExportResultsCsv => "Export results (CSV)…",
            Self::ExportResultsJson => "Export results (JSON)…",
            Self::ExportLog => "Export invocation log (JSON Lines)…",
            Self::ExportPlotPng => "Export plot (PNG)…",
            Self::ExportTrace => "Export Perfetto trace (JSON)…",
            Self::ExportTemplate(ExportKind::TemplateSam) => "Export SAM template…",
            Self::ExportTemplate(ExportKind::TemplateCloudformation) => {
                "Export CloudFormation template…"
            }
            Self::ExportTemplate(ExportKind::TemplateTerraform) => "Export Terraform (.tf.json)…",
            Self::Rerun => "Re-run simulation",
            Self::Cancel => "Cancel",
            Self::First => "First",
            Self::Prev => "Previous",
            Self::Next => "Next",
            Self::Last => "Last",
            Self::TogglePlay => "Play/Pause",
            Self::NextFinal => "Next final",
            Self::PrevFinal => "Previous final",
            Self::NextFailure => "Next failure",
            Self::PrevFailure => "Previous failure",
            Self::FitView => "Fit timeline",
            Self::ToggleHelp => "Help",
            Self::ToggleTheme => "Toggle dark/light",
            Self::ShowFind => "Find records…",
            Self::PinRun => "Pin this run as A",
            Self::UnpinRun => "Unpin A",
            Self::ToggleBookmark => "Bookmark",
            Self::ShowGoTo => "Go to…",
            Self::FindStep(1) => "Next match",
            Self::FindStep(-1) => "Previous match",
            _ => "",
        }
    }

    /// Every command that has a shortcut (for the help window and the clash test).
    pub fn with_shortcuts() -> Vec<Self> {
        vec![
            Self::Open,
            Self::SaveSession,
            Self::LoadSession,
            Self::Rerun,
            Self::Cancel,
            Self::First,
            Self::Prev,
            Self::Next,
            Self::Last,
            Self::TogglePlay,
            Self::NextFinal,
            Self::PrevFinal,
            Self::NextFailure,
            Self::PrevFailure,
            Self::FitView,
            Self::ToggleHelp,
            Self::ShowFind,
            Self::ShowGoTo,
            Self::ToggleBookmark,
            Self::FindStep(1),
            Self::FindStep(-1),
        ]
    }

    /// Whether the shortcut must stay inactive while a text field has focus (plain keys).
    pub fn needs_unfocused(&self) -> bool {
        // Function keys (F1 help, F3 next match) work from a text field too, as in editors.
        let function_key = |k: Key| matches!(k, Key::F1 | Key::F3);
        self.shortcut().is_some_and(|s| {
            !s.modifiers.command
                && !s.modifiers.ctrl
                && s.logical_key != Key::Escape
                && !function_key(s.logical_key)
        })
    }
}

/// Commands whose shortcut was pressed this frame. Plain-key shortcuts are skipped while a
/// text field has focus; combinations with Shift are checked first so `Shift+F` is not read as
/// `F`. Matched keys are consumed.
pub fn shortcuts_pressed(ctx: &egui::Context) -> Vec<AppCommand> {
    let typing = ctx.egui_wants_keyboard_input();
    let mut commands = AppCommand::with_shortcuts();
    commands.sort_by_key(|c| {
        std::cmp::Reverse(c.shortcut().map_or(0, |s| {
            u8::from(s.modifiers.shift) + u8::from(s.modifiers.command) + u8::from(s.modifiers.alt)
        }))
    });
    let mut out = Vec::new();
    ctx.input_mut(|i| {
        for c in commands {
            let Some(sc) = c.shortcut() else { continue };
            if typing && c.needs_unfocused() {
                continue;
            }
            if i.consume_shortcut(&sc) {
                out.push(c);
            }
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_two_commands_share_a_shortcut() {
        let all = AppCommand::with_shortcuts();
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a.shortcut(), b.shortcut(), "{a:?} and {b:?}");
            }
            assert!(a.shortcut().is_some(), "{a:?}");
            assert!(!a.text().is_empty(), "{a:?}");
        }
    }
}
