//! What persists between launches (preferences only, never loaded data) and what comes from the
//! command line (never persisted).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Key under which eframe stores [`Prefs`].
pub const APP_KEY: &str = "tumblescope-prefs";

/// Preferences: theme, panel visibility, last directory, recent files. (Panel sizes persist
/// with egui's memory, which eframe saves beside these.)
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Prefs {
    /// Dark theme (else light).
    pub dark: bool,
    /// Setup panel shown.
    pub show_setup: bool,
    /// Inspector shown.
    pub show_inspector: bool,
    /// Plots shown.
    pub show_plots: bool,
    /// Directory of the last file dialog.
    pub last_dir: Option<PathBuf>,
    /// Recently opened files, newest first.
    pub recent: Vec<PathBuf>,
    /// Playback speed, invocations per second.
    pub play_speed: f32,
    /// Plots show the total across windows instead of the in-window total.
    pub across_windows: bool,
    /// Use the in-app file browser instead of the system's file dialog.
    pub builtin_file_browser: bool,
    /// The timeline's colour key is shown.
    pub show_legend: bool,
    /// Saving a user handler's files re-runs the simulation.
    pub watch_handler: bool,
}

impl Default for Prefs {
    fn default() -> Self {
        Self {
            dark: true,
            show_setup: true,
            show_inspector: true,
            show_plots: true,
            last_dir: None,
            recent: Vec::new(),
            play_speed: 4.0,
            across_windows: false,
            builtin_file_browser: false,
            show_legend: true,
            watch_handler: true,
        }
    }
}

/// Most recent files remembered.
pub const MAX_RECENT: usize = 8;

impl Prefs {
    /// Puts `path` first in the recent list.
    pub fn remember(&mut self, path: &std::path::Path) {
        self.recent.retain(|p| p != path);
        self.recent.insert(0, path.to_path_buf());
        self.recent.truncate(MAX_RECENT);
        if let Some(dir) = path.parent() {
            self.last_dir = Some(dir.to_path_buf());
        }
    }
}

/// Options from the command line; never persisted.
#[derive(Clone, Debug, Default)]
pub struct StartupOptions {
    /// A file to open at launch.
    pub open: Option<PathBuf>,
    /// Load and save preferences (tests and screenshots turn this off).
    pub persist: bool,
    /// A scenario preset to start on.
    pub scenario: Option<String>,
    /// Invocation to select once the first run is shown: a number or `final`.
    pub select: Option<String>,
    /// Inspector tab to open.
    pub tab: Option<String>,
    /// Light theme regardless of preferences.
    pub light: bool,
    /// Save a screenshot here once the run is shown, then close.
    pub screenshot: Option<PathBuf>,
    /// Search for this once the first run is shown, and show the first match.
    pub find: Option<String>,
    /// Start the lesson at this step (1-based) once the first run is shown.
    pub lesson: Option<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_files_are_unique_newest_first_and_bounded() {
        let mut p = Prefs::default();
        for i in 0..12 {
            p.remember(std::path::Path::new(&format!("/d/f{i}.jsonl")));
        }
        p.remember(std::path::Path::new("/d/f5.jsonl"));
        assert_eq!(p.recent.len(), MAX_RECENT);
        assert_eq!(p.recent[0], PathBuf::from("/d/f5.jsonl"));
        assert_eq!(
            p.recent.iter().filter(|r| r.ends_with("f5.jsonl")).count(),
            1
        );
        assert_eq!(p.last_dir, Some(PathBuf::from("/d")));
    }

    #[test]
    fn unknown_or_missing_fields_decode_to_defaults() {
        let p: Prefs = serde_json::from_str(r#"{"dark": false, "future": 1}"#).unwrap();
        assert!(!p.dark);
        assert!(p.show_plots);
    }
}
