//! What is loaded: the run's specification (stream source, settings, handler), and session files
//! that save it with the view.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::index::RunIndex;
use crate::model::stream::Stream;
use crate::run::RunSpec;
use crate::sim::Trace;

use super::panels::timeline::view::TimeView;

/// A finished run, shared read-only with the panels.
#[derive(Clone)]
pub struct Run {
    /// What produced it.
    pub spec: RunSpec,
    /// The routed stream, as the mapping delivers it (the records its filters let through).
    pub stream: Arc<Stream>,
    /// Every record of the stream, before filters (what a changed filter runs on again).
    pub source: Arc<Stream>,
    /// Records of `source` the filters dropped (ascending; empty without filters).
    pub dropped: Arc<Vec<u32>>,
    /// The trace.
    pub trace: Arc<Trace>,
    /// Read indices.
    pub index: Arc<RunIndex>,
    /// Wall-clock time of the simulation.
    pub took: std::time::Duration,
    /// Changes each run (for per-run caches).
    pub generation: u64,
    /// What loading reported (skipped records, duplicates, timestamps going backwards).
    pub load_notes: Vec<String>,
}

/// A saved session: the run's spec and the view.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionFile {
    /// Format version.
    pub tumblescope_session: u32,
    /// The run.
    pub run: RunSpec,
    /// Visible time range (`None` = fit).
    #[serde(default)]
    pub time_view: Option<TimeView>,
    /// Selected invocation number (1-based).
    #[serde(default)]
    pub selected: Option<u32>,
    /// Invocations marked with a note.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bookmarks: Vec<Bookmark>,
}

/// An invocation marked with a note (saved with the session).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bookmark {
    /// Invocation number (1-based, as the stepper counts).
    pub invocation: u32,
    /// What the user wrote about it.
    #[serde(default)]
    pub note: String,
}

/// Whether `path` holds a session: by its name (`*.tumblescope`, `*.session`,
/// `*.session.json`) or, whatever it is called, by its content: a JSON object whose first key
/// is `tumblescopeSession` (only the first few KB are read; orders files never start so).
pub fn is_session_file(path: &Path) -> bool {
    let named = path
        .extension()
        .is_some_and(|e| e == "tumblescope" || e == "session")
        || path.to_string_lossy().ends_with(".session.json");
    named || starts_like_a_session(path)
}

fn starts_like_a_session(path: &Path) -> bool {
    use std::io::Read as _;
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    let mut head = Vec::with_capacity(4096);
    if file.take(4096).read_to_end(&mut head).is_err() {
        return false;
    }
    let text = String::from_utf8_lossy(&head);
    let rest = text.trim_start_matches('\u{feff}').trim_start();
    rest.strip_prefix('{')
        .is_some_and(|r| r.trim_start().starts_with("\"tumblescopeSession\""))
}

/// Current session format version.
pub const SESSION_VERSION: u32 = 1;

pub use crate::output::write_atomically;

/// Saves a session.
pub fn save_session(path: &Path, session: &SessionFile) -> Result<(), String> {
    crate::output::check_output("session", path, &session.run.input_paths())?;
    let text = serde_json::to_string_pretty(session).map_err(|e| e.to_string())?;
    write_atomically(path, text.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))
}

/// Loads a session, with line and column on a parse error.
pub fn load_session(path: &Path) -> Result<SessionFile, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let s: SessionFile = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}:{}:{}: not a tumblescope session: {e}",
            path.display(),
            e.line(),
            e.column()
        )
    })?;
    if s.tumblescope_session > SESSION_VERSION {
        return Err(format!(
            "{}: session format {} is newer than this tumblescope understands ({SESSION_VERSION})",
            path.display(),
            s.tumblescope_session
        ));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A session is a session whatever it is called (saved as `run.json`, renamed, mailed);
    /// orders files, even JSON ones, are not taken for one.
    #[test]
    fn sessions_are_known_by_content_too() {
        let dir = std::env::temp_dir().join(format!("ts-session-kind-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let session = dir.join("run.json");
        let s = SessionFile {
            tumblescope_session: SESSION_VERSION,
            run: RunSpec::demo(),
            time_view: None,
            selected: None,
            bookmarks: vec![Bookmark {
                invocation: 3,
                note: "first final".into(),
            }],
        };
        save_session(&session, &s).unwrap();
        assert!(is_session_file(&session));
        let orders = dir.join("orders.json");
        std::fs::write(&orders, "{\"ts\": 1, \"tumblescopeSession\": 1}\n").unwrap();
        assert!(!is_session_file(&orders));
        let jsonl = dir.join("x.jsonl");
        std::fs::write(&jsonl, "\n  {\"Item\": {\"sales\": 3}}\n").unwrap();
        assert!(!is_session_file(&jsonl));
        assert!(is_session_file(Path::new("nowhere/a.session.json")));
        assert!(!is_session_file(Path::new("nowhere/a.json")));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn sessions_round_trip_atomically() {
        let dir = std::env::temp_dir().join(format!("ts-session-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.json");
        let s = SessionFile {
            tumblescope_session: SESSION_VERSION,
            run: RunSpec::demo(),
            time_view: Some(TimeView {
                min_ms: 1.0,
                span_ms: 2.0,
            }),
            selected: Some(3),
            bookmarks: Vec::new(),
        };
        save_session(&path, &s).unwrap();
        assert_eq!(load_session(&path).unwrap(), s);
        assert!(
            std::fs::read_dir(&dir).unwrap().count() == 1,
            "no temp file left"
        );
        // Saving again replaces the file whole: a reader that opened the old session still
        // reads all of it, because the new text went to a new file renamed over the old one.
        // (`fs::write` would truncate and rewrite the same file under that reader.)
        let old_text = std::fs::read_to_string(&path).unwrap();
        let mut reader = std::fs::File::open(&path).unwrap();
        let moved = SessionFile {
            selected: Some(4),
            ..s.clone()
        };
        save_session(&path, &moved).unwrap();
        let mut seen = String::new();
        std::io::Read::read_to_string(&mut reader, &mut seen).unwrap();
        assert_eq!(seen, old_text);
        assert_eq!(load_session(&path).unwrap(), moved);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::write(&path, "{\n  \"tumblescopeSession\": 1,\n  \"run\": 5\n}").unwrap();
        let e = load_session(&path).unwrap_err();
        assert!(e.contains("s.json:3:"), "{e}");
    }

    #[test]
    fn a_session_is_never_saved_over_a_file_the_run_reads() {
        let dir = std::env::temp_dir().join(format!("ts-session-inputs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let orders = dir.join("orders.jsonl");
        let handler = dir.join("h.js");
        std::fs::write(&orders, "orders").unwrap();
        std::fs::write(&handler, "handler").unwrap();
        let mut run = RunSpec::demo();
        run.source = crate::run::SourceSpec::Files {
            paths: vec![orders.clone()],
        };
        run.handler = handler.display().to_string();
        assert_eq!(run.input_paths(), [orders.clone(), handler.clone()]);
        let s = SessionFile {
            tumblescope_session: SESSION_VERSION,
            run,
            time_view: None,
            selected: None,
            bookmarks: Vec::new(),
        };
        for target in [&orders, &handler] {
            let e = save_session(target, &s).unwrap_err();
            assert!(e.contains("refusing to overwrite an input"), "{e}");
        }
        assert_eq!(std::fs::read_to_string(&orders).unwrap(), "orders");
        assert_eq!(std::fs::read_to_string(&handler).unwrap(), "handler");
        std::fs::remove_dir_all(&dir).ok();
    }
}
