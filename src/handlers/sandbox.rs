//! What surrounds a user handler's runtime process, so that a hostile or careless handler can
//! neither exhaust memory, leave processes or files behind, reach real credentials, nor make two
//! identical runs differ:
//!
//! - [`LogSink`]: at most [`LOG_LINE_LIMIT`] bytes per line and [`LOG_LIMIT`] bytes per
//!   invocation are kept; the cut is marked with how much was left out.
//! - [`StablePaths`]: the per-run harness folder and the handler's absolute path are written back
//!   as fixed names in every log line and error, so traces are byte-identical run to run.
//! - [`lambda_env`]: the environment Lambda gives a function (its reserved variables, stand-in
//!   credentials) instead of the user's, with the AWS config and credentials files pointed at
//!   nothing.
//! - [`Reaper`]: each runtime runs in its own process group; the group is ended with the
//!   runtime, and on SIGINT/SIGTERM/SIGHUP every live group is ended and every harness folder
//!   removed before the process exits.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// CloudWatch Logs' limit for one log event: "Each log event can be no larger than 256 KB"
/// (PutLogEvents API reference). A longer line is cut there.
pub const LOG_LINE_LIMIT: usize = 256 * 1024;

/// Log text kept per invocation: one PutLogEvents batch ("The maximum batch size is 1,048,576
/// bytes"). The rest is counted, not kept.
pub const LOG_LIMIT: usize = 1_048_576;

/// Slack above the line limit for a cut marker added before the line arrived.
const MARK_ROOM: usize = 64;

/// Slack above the invocation's limit for a harness's note that it stopped keeping output.
const NOTE_ROOM: usize = 256;

/// The name every log line and error shows for the harness folder.
pub const HARNESS_NAME: &str = "tumblescope-harness";

/// Collects one invocation's log lines within the limits.
#[derive(Debug, Default)]
pub struct LogSink {
    lines: Vec<String>,
    kept: usize,
    dropped: u64,
}

impl LogSink {
    /// Adds a line, cutting it to [`LOG_LINE_LIMIT`] and stopping at [`LOG_LIMIT`].
    pub fn push(&mut self, line: String) {
        self.push_counted(line, 0);
    }

    /// Adds a line of which `already_cut` bytes were left out before it arrived.
    pub fn push_counted(&mut self, mut line: String, already_cut: u64) {
        let mut cut = already_cut;
        // Room for a harness's own " … N bytes more" on a line it already cut.
        let keep = LOG_LINE_LIMIT + MARK_ROOM;
        if line.len() > keep {
            let at = floor_char_boundary(&line, keep);
            cut += (line.len() - at) as u64;
            line.truncate(at);
        }
        if cut > 0 {
            line.push_str(&format!(" … {cut} bytes more"));
        }
        // Whole lines only; a harness's note that it stopped keeping output still fits.
        if self.kept + line.len() > LOG_LIMIT + NOTE_ROOM {
            self.dropped += line.len() as u64;
            return;
        }
        self.kept += line.len();
        self.lines.push(line);
    }

    /// Adds every line.
    pub fn extend(&mut self, lines: impl IntoIterator<Item = String>) {
        for l in lines {
            self.push(l);
        }
    }

    /// Counts bytes left out before they reached the sink (e.g. by the harness).
    pub fn add_dropped(&mut self, bytes: u64) {
        self.dropped += bytes;
    }

    /// The kept lines, with a last line saying what was left out.
    pub fn finish(mut self) -> Vec<String> {
        if self.dropped > 0 {
            self.lines.push(format!(
                "… {} bytes more (tumblescope keeps {LOG_LIMIT} bytes of log text per invocation, \
                 one CloudWatch Logs batch)",
                self.dropped
            ));
        }
        self.lines
    }
}

fn floor_char_boundary(s: &str, mut at: usize) -> usize {
    while at > 0 && !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// Reads one line of at most `cap` bytes into `buf` (without the newline), skipping the rest of
/// a longer line. Returns `None` at end of input, else the bytes skipped.
pub fn read_capped_line(
    r: &mut impl BufRead,
    buf: &mut Vec<u8>,
    cap: usize,
) -> std::io::Result<Option<u64>> {
    buf.clear();
    let mut skipped = 0u64;
    let mut any = false;
    loop {
        let chunk = match r.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(any.then_some(skipped));
        }
        any = true;
        let (part, done) = match memchr::memchr(b'\n', chunk) {
            Some(p) => (&chunk[..p], Some(p + 1)),
            None => (chunk, None),
        };
        let room = cap.saturating_sub(buf.len());
        let take = part.len().min(room);
        buf.extend_from_slice(&part[..take]);
        skipped += (part.len() - take) as u64;
        let used = done.unwrap_or(chunk.len());
        r.consume(used);
        if done.is_some() {
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
            return Ok(Some(skipped));
        }
    }
}

/// Rewrites run-specific paths into stable ones.
#[derive(Clone, Debug, Default)]
pub struct StablePaths {
    /// (what appears, what to show), longest first.
    pairs: Vec<(String, String)>,
}

impl StablePaths {
    /// `harness` is this run's harness folder; `handler` the handler's canonical path and
    /// `given` the path as the user gave it.
    pub fn new(harness: &Path, handler: &Path, given: &Path) -> Self {
        let mut pairs = vec![(harness.display().to_string(), HARNESS_NAME.to_owned())];
        if let (Some(dir), Some(given_dir)) = (handler.parent(), given.parent()) {
            let shown = if given_dir.as_os_str().is_empty() {
                String::new()
            } else {
                format!("{}/", given_dir.display())
            };
            pairs.push((format!("{}/", dir.display()), shown));
        }
        // The harness may also appear through its canonical path (/tmp as a link).
        if let Ok(c) = std::fs::canonicalize(harness)
            && c != harness
        {
            pairs.push((c.display().to_string(), HARNESS_NAME.to_owned()));
        }
        pairs.sort_by_key(|p| std::cmp::Reverse(p.0.len()));
        Self { pairs }
    }

    /// The text with every run-specific path replaced.
    pub fn apply(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (from, to) in &self.pairs {
            if !from.is_empty() && out.contains(from.as_str()) {
                out = out.replace(from.as_str(), to);
            }
        }
        out
    }

    /// Applies to an error's message and stack.
    pub fn error(&self, mut e: super::HandlerError) -> super::HandlerError {
        e.error_message = self.apply(&e.error_message);
        for l in &mut e.stack_trace {
            *l = self.apply(l);
        }
        e
    }
}

/// What the runtime process needs to know about the function.
pub struct FunctionEnv<'a> {
    /// `_HANDLER`, e.g. `index.handler`.
    pub handler: String,
    /// `AWS_EXECUTION_ENV`, e.g. `AWS_Lambda_nodejs20.x`.
    pub execution_env: &'a str,
    /// Function name.
    pub function_name: &'a str,
    /// Region.
    pub region: &'a str,
    /// Function timeout, for the memory/timeout variables users read.
    pub task_root: &'a Path,
    /// The harness folder (`LAMBDA_RUNTIME_DIR`, and `HOME`).
    pub runtime_dir: &'a Path,
    /// Variables the user (or a template) sets.
    pub user: &'a [(String, String)],
}

/// Parent variables a runtime needs to start at all (finding `node`/`python3`, version
/// managers' shims), none of which can hold a credential.
const PASSED_THROUGH: [&str; 6] = [
    "PATH",
    "PYENV_ROOT",
    "PYENV_VERSION",
    "VIRTUAL_ENV",
    "SYSTEMROOT",
    "CONDA_PREFIX",
];

/// The complete environment for a runtime: nothing else of the user's environment is passed.
pub fn lambda_env(f: &FunctionEnv<'_>) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = PASSED_THROUGH
        .iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| ((*k).to_owned(), v)))
        .collect();
    let dir = f.runtime_dir.display().to_string();
    let null = if cfg!(windows) { "NUL" } else { "/dev/null" };
    let fixed = [
        ("_HANDLER", f.handler.clone()),
        ("AWS_REGION", f.region.to_owned()),
        ("AWS_DEFAULT_REGION", f.region.to_owned()),
        ("AWS_EXECUTION_ENV", f.execution_env.to_owned()),
        ("AWS_LAMBDA_FUNCTION_NAME", f.function_name.to_owned()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".to_owned()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", f.function_name),
        ),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2026/01/01/[$LATEST]tumblescope".to_owned(),
        ),
        // Stand-ins: an SDK client finds credentials and never the user's real ones.
        ("AWS_ACCESS_KEY_ID", "ASIATUMBLESCOPEFAKE0".to_owned()),
        (
            "AWS_SECRET_ACCESS_KEY",
            "tumblescope/stand-in/not-a-real-secret".to_owned(),
        ),
        ("AWS_SESSION_TOKEN", "tumblescope-stand-in-token".to_owned()),
        ("AWS_CONFIG_FILE", null.to_owned()),
        ("AWS_SHARED_CREDENTIALS_FILE", null.to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ("LAMBDA_TASK_ROOT", f.task_root.display().to_string()),
        ("LAMBDA_RUNTIME_DIR", dir.clone()),
        ("HOME", dir),
        ("TZ", ":UTC".to_owned()),
        ("LANG", "en_US.UTF-8".to_owned()),
        ("PYTHONDONTWRITEBYTECODE", "1".to_owned()),
    ];
    env.extend(fixed.into_iter().map(|(k, v)| (k.to_owned(), v)));
    env.extend(f.user.iter().cloned());
    env
}

/// Live runtimes' process groups and harness folders, ended and removed on a signal.
pub struct Reaper {
    live: Mutex<Vec<Live>>,
}

struct Live {
    id: u64,
    group: Option<u32>,
    dir: Option<PathBuf>,
}

static REAPER: Reaper = Reaper {
    live: Mutex::new(Vec::new()),
};

impl Reaper {
    /// The process-wide reaper; installs the signal handler on first use.
    pub fn get() -> &'static Reaper {
        static INSTALLED: std::sync::Once = std::sync::Once::new();
        INSTALLED.call_once(|| {
            // Another handler already installed (an embedding program): then it owns signals.
            let _ = ctrlc::set_handler(|| {
                REAPER.reap_all();
                std::process::exit(130);
            });
        });
        &REAPER
    }

    /// Registers a harness folder; returns a ticket for [`Self::forget`].
    pub fn register_dir(&self, dir: PathBuf) -> u64 {
        self.add(Live {
            id: 0,
            group: None,
            dir: Some(dir),
        })
    }

    /// Registers a runtime's process group.
    pub fn register_group(&self, pid: u32) -> u64 {
        self.add(Live {
            id: 0,
            group: Some(pid),
            dir: None,
        })
    }

    fn add(&self, mut l: Live) -> u64 {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        l.id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = l.id;
        if let Ok(mut live) = self.live.lock() {
            live.push(l);
        }
        id
    }

    /// Forgets an entry that its owner cleaned up.
    pub fn forget(&self, id: u64) {
        if let Ok(mut live) = self.live.lock() {
            live.retain(|l| l.id != id);
        }
    }

    fn reap_all(&self) {
        let Ok(mut live) = self.live.lock() else {
            return;
        };
        for l in live.drain(..) {
            if let Some(g) = l.group {
                kill_group(g);
            }
            if let Some(d) = l.dir {
                std::fs::remove_dir_all(d).ok();
            }
        }
    }
}

/// Ends a runtime's whole process group (its children and grandchildren too).
pub fn kill_group(pid: u32) {
    #[cfg(unix)]
    if let Some(p) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        rustix::process::kill_process_group(p, rustix::process::Signal::KILL).ok();
    }
    #[cfg(not(unix))]
    let _ = pid;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_are_cut_per_line_and_per_invocation_with_the_cut_marked() {
        let mut sink = LogSink::default();
        sink.push("short".into());
        sink.push("x".repeat(LOG_LINE_LIMIT + 100));
        for _ in 0..10 {
            sink.push("y".repeat(200_000));
        }
        let lines = sink.finish();
        assert_eq!(lines[0], "short");
        assert_eq!(
            lines[1],
            format!("{} … 36 bytes more", "x".repeat(LOG_LINE_LIMIT + MARK_ROOM))
        );
        let kept: usize = lines[..lines.len() - 1].iter().map(String::len).sum();
        assert!(kept <= LOG_LIMIT + NOTE_ROOM, "{kept}");
        let last = lines.last().unwrap();
        assert!(last.starts_with("… ") && last.contains("bytes more (tumblescope keeps 1048576"));
        // Everything pushed is accounted for: kept bytes + the counts in the markers.
        let counted: u64 = lines
            .iter()
            .filter_map(|l| {
                l.rsplit_once("… ")
                    .and_then(|(_, r)| r.split(' ').next()?.parse::<u64>().ok())
            })
            .sum();
        let pushed = 5 + LOG_LINE_LIMIT + 100 + 10 * 200_000;
        let kept_text: usize = lines[..lines.len() - 1]
            .iter()
            .map(|l| l.split(" … ").next().unwrap().len())
            .sum();
        assert_eq!(kept_text as u64 + counted, pushed as u64);
    }

    #[test]
    fn capped_lines_skip_the_rest_and_count_it() {
        let text = format!("ab\n{}\nlast", "z".repeat(100));
        let mut r = std::io::BufReader::with_capacity(7, text.as_bytes());
        let mut buf = Vec::new();
        assert_eq!(read_capped_line(&mut r, &mut buf, 10).unwrap(), Some(0));
        assert_eq!(buf, b"ab");
        assert_eq!(read_capped_line(&mut r, &mut buf, 10).unwrap(), Some(90));
        assert_eq!(buf, b"zzzzzzzzzz");
        assert_eq!(read_capped_line(&mut r, &mut buf, 10).unwrap(), Some(0));
        assert_eq!(buf, b"last");
        assert_eq!(read_capped_line(&mut r, &mut buf, 10).unwrap(), None);
    }

    #[test]
    fn run_specific_paths_become_stable_names() {
        let p = StablePaths::new(
            Path::new("/tmp/tumblescope-harness-123-abcd"),
            Path::new("/home/u/proj/handlers/sum.js"),
            Path::new("handlers/sum.js"),
        );
        assert_eq!(
            p.apply("at f (/home/u/proj/handlers/sum.js:3:9)\n at /tmp/tumblescope-harness-123-abcd/node_harness.js:40:1"),
            "at f (handlers/sum.js:3:9)\n at tumblescope-harness/node_harness.js:40:1"
        );
        let bare = StablePaths::new(
            Path::new("/t/h"),
            Path::new("/cwd/sum.py"),
            Path::new("sum.py"),
        );
        assert_eq!(
            bare.apply("File \"/cwd/sum.py\", line 3"),
            "File \"sum.py\", line 3"
        );
    }
}
