//! The user's real Lambda handler, in Node.js or Python, run unmodified in one long-lived
//! process per run.
//!
//! ```text
//!  tumblescope ──stdin: {"type":"invoke","id":7,"event":{…},…}\n──▶ harness ──▶ handler(event, context)
//!              ◀──stdout: \x1eTSR <nonce> {"type":"result","id":7,"response":…,"logs":[…],"writes":[…]}\n──
//! ```
//!
//! The harness (in `assets/harness/`, embedded in the binary) captures everything the function
//! prints into the invocation's logs; a protocol line is recognised by a per-run random nonce,
//! so nothing the function writes can be mistaken for one. Timeouts kill the process; the next
//! invocation starts a fresh one (and replays the table writes so far, as the in-memory table
//! outlives a Lambda sandbox).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::Value;

mod envs;
mod launch;
mod process;
mod protocol;

pub use self::envs::Environments;
use self::process::{Line, Proc};
use self::protocol::{strings, too_large};
use super::sandbox::{LogSink, Reaper, StablePaths};
use super::{HandlerError, Invoked, Request, TableWrite};
use crate::handlers::event::EventContext;
use crate::model::settings::Settings;
use crate::model::stream::Stream;

/// Which runtime a handler needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runtime {
    /// `node`.
    Node,
    /// `python3`.
    Python,
}

impl Runtime {
    /// Program name.
    pub fn program(self) -> &'static str {
        match self {
            Self::Node => "node",
            Self::Python => "python3",
        }
    }

    fn missing(self) -> String {
        match self {
            Self::Node => "Node.js is not installed: `node` was not found on PATH. Install Node.js 18 or newer \
                           (https://nodejs.org, or your package manager's `nodejs`) to run .js/.mjs/.cjs handlers. \
                           Built-in handlers (builtin:…) need nothing."
                .into(),
            Self::Python => "Python is not installed: `python3` was not found on PATH. Install Python 3.9 or newer \
                             (https://python.org, or your package manager's `python3`) to run .py handlers. \
                             Built-in handlers (builtin:…) need nothing."
                .into(),
        }
    }
}

/// A `--handler path/to/file.js[:export]` or `path/to/file.py[:function]` spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalSpec {
    /// The file.
    pub path: PathBuf,
    /// Export (Node, default `handler`) or function (Python, default `lambda_handler`).
    pub export: String,
    /// Runtime, from the extension.
    pub runtime: Runtime,
}

impl ExternalSpec {
    /// Parses a spec; `None` when it does not name a .js/.mjs/.cjs/.py file.
    pub fn parse(spec: &str) -> Option<Self> {
        let (path, export) = match spec.rsplit_once(':') {
            // A Windows drive letter ("C:\…") is not an export.
            Some((p, e)) if !e.contains(['/', '\\']) && !e.is_empty() && p.len() > 1 => {
                (p, Some(e))
            }
            _ => (spec, None),
        };
        let ext = Path::new(path).extension()?.to_str()?.to_ascii_lowercase();
        let runtime = match ext.as_str() {
            "js" | "mjs" | "cjs" => Runtime::Node,
            "py" => Runtime::Python,
            _ => return None,
        };
        Some(Self {
            path: PathBuf::from(path),
            export: export
                .unwrap_or(match runtime {
                    Runtime::Node => "handler",
                    Runtime::Python => "lambda_handler",
                })
                .to_owned(),
            runtime,
        })
    }
}

impl std::fmt::Display for ExternalSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.path.display(), self.export)
    }
}

const NODE_HARNESS: &str = include_str!("../../../assets/harness/node_harness.js");
const PYTHON_HARNESS: &str = include_str!("../../../assets/harness/python_harness.py");
const NODE_STUBS: [(&str, &str); 6] = [
    (
        "store.cjs",
        include_str!("../../../assets/harness/node_stubs/store.cjs"),
    ),
    (
        "aws-sdk.cjs",
        include_str!("../../../assets/harness/node_stubs/aws-sdk.cjs"),
    ),
    (
        "aws-sdk-dynamodb.cjs",
        include_str!("../../../assets/harness/node_stubs/aws-sdk-dynamodb.cjs"),
    ),
    (
        "client-dynamodb.cjs",
        include_str!("../../../assets/harness/node_stubs/client-dynamodb.cjs"),
    ),
    (
        "lib-dynamodb.cjs",
        include_str!("../../../assets/harness/node_stubs/lib-dynamodb.cjs"),
    ),
    (
        "esm-hooks.mjs",
        include_str!("../../../assets/harness/node_stubs/esm-hooks.mjs"),
    ),
];

/// A user handler in its runtime.
pub struct External {
    spec: ExternalSpec,
    dir: PathBuf,
    nonce: String,
    proc: Option<Proc>,
    ctx: Option<EventContext>,
    function_name: String,
    function_arn: String,
    region: String,
    timeout: Duration,
    /// Variables the user sets for the function.
    user_env: Vec<(String, String)>,
    /// Run-specific paths shown as stable names.
    paths: StablePaths,
    /// The harness folder's entry in the signal reaper.
    dir_ticket: Option<u64>,
    /// Every write so far, replayed into a restarted runtime.
    writes: Vec<TableWrite>,
    init_logs: Vec<String>,
    /// The outgoing message buffer, kept to avoid a 60 KB allocation per invocation.
    line: Vec<u8>,
    /// The runtime started since the last invocation: the next one is a cold start.
    fresh: bool,
}

impl External {
    /// A handler for `spec` (nothing starts until `prepare`).
    pub fn new(spec: ExternalSpec) -> Self {
        let nonce = {
            use md5::{Digest as _, Md5};
            let seed = format!(
                "{:?}{}{}",
                std::time::SystemTime::now(),
                std::process::id(),
                spec
            );
            Md5::digest(seed.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        };
        Self {
            spec,
            dir: std::env::temp_dir(),
            nonce,
            proc: None,
            ctx: None,
            function_name: String::new(),
            function_arn: String::new(),
            region: String::new(),
            timeout: Duration::from_secs(3),
            user_env: Vec::new(),
            paths: StablePaths::default(),
            dir_ticket: None,
            writes: Vec::new(),
            init_logs: Vec::new(),
            line: Vec::new(),
            fresh: false,
        }
    }

    /// The spec.
    pub fn spec(&self) -> &ExternalSpec {
        &self.spec
    }

    /// Writes another environment made to the shared table: applied to this runtime's table
    /// too, and replayed if it restarts.
    pub(super) fn absorb(&mut self, writes: &[TableWrite]) {
        if writes.is_empty() {
            return;
        }
        self.writes.extend_from_slice(writes);
        if let Some(proc) = self.proc.as_mut() {
            let msg = serde_json::json!({"type": "restore", "writes": writes});
            let mut line = serde_json::to_vec(&msg).unwrap_or_default();
            line.push(b'\n');
            proc.stdin.write_all(&line).ok();
            proc.stdin.flush().ok();
        }
    }

    fn crash(&mut self, what: &str, logs: &mut LogSink) -> HandlerError {
        let paths = self.paths.clone();
        let code = self.proc.take().and_then(|p| {
            // Collect what it printed on the way out.
            let code = p.exit_code();
            p.drain_stray(logs, &paths);
            code
        });
        HandlerError::new(
            "Runtime.ExitError",
            format!(
                "Runtime exited{} {what}",
                code.map_or_else(String::new, |c| format!(" with error: exit status {c}"))
            ),
        )
    }

    /// The runtime stopped answering: timed out (killed by the watchdog) or crashed.
    fn ended(&mut self, mut logs: LogSink, request_id: &str, started: Instant) -> Invoked {
        let timed_out = self
            .proc
            .as_ref()
            .is_some_and(|p| p.timed_out.load(Ordering::Relaxed));
        let mut inv = if timed_out {
            // Lambda stops the sandbox; the next invocation starts a fresh one.
            let paths = self.paths.clone();
            if let Some(p) = self.proc.take() {
                p.drain_stray(&mut logs, &paths);
            }
            let secs = self.timeout.as_secs_f64();
            let mut inv = Invoked::err(HandlerError::new(
                "Sandbox.Timedout",
                format!("{request_id} Task timed out after {secs:.2} seconds"),
            ));
            inv.timed_out = true;
            inv
        } else {
            // Give stderr a moment to deliver the last words of a crash.
            std::thread::sleep(Duration::from_millis(20));
            Invoked::err(self.crash("during the invocation", &mut logs))
        };
        inv.logs = logs.finish();
        inv.measured_us = Some(started.elapsed().as_micros() as u64);
        inv
    }
}

impl super::Handler for External {
    fn describe(&self) -> String {
        self.spec.to_string()
    }

    fn prepare(&mut self, stream: &Stream, settings: &Settings) -> Result<(), String> {
        self.ctx = Some(EventContext::new(stream, settings.seed));
        self.function_name = stream.meta.function_name.clone();
        self.function_arn = stream.meta.function_arn();
        self.region = stream.meta.region.clone();
        self.timeout = Duration::from_millis(u64::from(settings.timeout_ms));
        self.user_env = settings
            .function_env
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        self.writes.clear();
        if !self.spec.path.is_file() {
            return Err(format!(
                "{}: no such handler file",
                self.spec.path.display()
            ));
        }
        self.write_harness()?;
        self.proc = None;
        self.start().map_err(|e| {
            let mut msg = format!(
                "{}: {}: {}",
                self.spec.path.display(),
                e.error_type,
                e.error_message
            );
            for l in e.stack_trace.iter().take(8) {
                msg.push_str("\n  ");
                msg.push_str(l.trim_end());
            }
            msg
        })
    }

    fn invoke(&mut self, req: &Request<'_>) -> Invoked {
        let mut inv = self.invoke_once(req);
        inv.cold_start = std::mem::take(&mut self.fresh);
        inv
    }
}

impl External {
    fn invoke_once(&mut self, req: &Request<'_>) -> Invoked {
        let mut logs = LogSink::default();
        logs.extend(std::mem::take(&mut self.init_logs));
        if self.proc.is_none()
            && let Err(e) = self.start()
        {
            logs.extend(std::mem::take(&mut self.init_logs));
            let mut inv = Invoked::err(self.paths.error(e));
            inv.logs = logs.finish();
            return inv;
        }
        logs.extend(std::mem::take(&mut self.init_logs));
        let request_id = req.request_id();
        let line = self.invoke_message(req);
        let started = Instant::now();
        let Some(proc) = self.proc.as_mut() else {
            return Invoked::err(HandlerError::new("Runtime.StartError", "no runtime"));
        };
        proc.arm(self.timeout);
        let sent = proc
            .stdin
            .write_all(&line)
            .and_then(|()| proc.stdin.flush());
        self.line = line;
        if sent.is_err() {
            let e = self.crash("before the invocation", &mut logs);
            let mut inv = Invoked::err(e);
            inv.logs = logs.finish();
            return inv;
        }
        self.await_result(req.n, &request_id, logs, started)
    }
}

impl External {
    /// Reads the runtime's output until invocation `n` has a result, the runtime ends, or its
    /// output cannot be trusted.
    fn await_result(
        &mut self,
        n: u32,
        request_id: &str,
        mut logs: LogSink,
        started: Instant,
    ) -> Invoked {
        let paths = self.paths.clone();
        let failed = |e: HandlerError, logs: LogSink| {
            let mut inv = Invoked::err(e);
            inv.logs = logs.finish();
            inv.measured_us = Some(started.elapsed().as_micros() as u64);
            inv
        };
        // Writes the function made so far; they stand even if it never returns.
        let mut streamed: Vec<TableWrite> = Vec::new();
        // Whether it read the stand-in table (the harness says so at the first read).
        let mut read = false;
        loop {
            let Some(proc) = self.proc.as_mut() else {
                return Invoked::err(HandlerError::new("Runtime.StartError", "no runtime"));
            };
            match proc.read() {
                Line::Frame(v) => {
                    if v.get("id").and_then(Value::as_u64) != Some(u64::from(n)) {
                        continue;
                    }
                    logs.extend(strings(&v["logs"], &paths));
                    if side_message(&v, &mut logs, &paths, (&mut streamed, &mut read)) {
                        continue;
                    }
                    proc.disarm();
                    proc.drain_stray(&mut logs, &paths);
                    let mut inv = self.result_of(&v, logs);
                    inv.table_read = read;
                    return inv;
                }
                Line::Oversized(size) => {
                    // Only a response can be this large (logs are cut by the harness).
                    proc.disarm();
                    proc.drain_stray(&mut logs, &paths);
                    return self.kept(failed(too_large(size), logs), (streamed, read));
                }
                Line::Unreadable(why) => {
                    // The harness could not encode what the function returned: a failed
                    // invocation now, not a wait for the timeout. The runtime restarts, since
                    // the stream of messages can no longer be trusted.
                    self.proc = None;
                    let e = HandlerError::new(
                        "Runtime.MarshalError",
                        format!("Unable to marshal response: {why}"),
                    );
                    return self.kept(failed(e, logs), (streamed, read));
                }
                Line::Stray(l, cut) => logs.push_counted(paths.apply(&l), cut),
                Line::Eof => {
                    let inv = self.ended(logs, request_id, started);
                    return self.kept(inv, (streamed, read));
                }
            }
        }
    }
}

/// Handles a message the runtime sends while an invocation runs (a log line, a write, the
/// first table read, exit logs); false for its result.
fn side_message(
    v: &Value,
    logs: &mut LogSink,
    paths: &StablePaths,
    (streamed, read): (&mut Vec<TableWrite>, &mut bool),
) -> bool {
    match v.get("type").and_then(Value::as_str) {
        Some("log") => {
            if let Some(l) = v["line"].as_str() {
                logs.push(paths.apply(l));
            }
        }
        // The runtime is exiting; its end arrives next.
        Some("exit-logs") => {}
        Some("read") => *read = true,
        // Kept in case no result comes (the result lists them again).
        Some("write") => {
            if let Ok(w) = serde_json::from_value::<TableWrite>(v["write"].clone()) {
                streamed.push(w);
            }
        }
        _ => return false,
    }
    true
}

impl External {
    /// A failed invocation keeps the writes it made before failing: they are replayed into the
    /// next runtime and shown with the attempt, as the table in AWS would keep them.
    fn kept(&mut self, mut inv: Invoked, (streamed, read): (Vec<TableWrite>, bool)) -> Invoked {
        inv.table_read = read;
        self.writes.extend(streamed.iter().cloned());
        inv.writes = streamed;
        inv
    }
}

impl Drop for External {
    fn drop(&mut self) {
        self.proc = None;
        if self.dir.starts_with(std::env::temp_dir())
            && self
                .dir
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("tumblescope-harness-"))
        {
            std::fs::remove_dir_all(&self.dir).ok();
        }
        if let Some(t) = self.dir_ticket.take() {
            Reaper::get().forget(t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_name_file_and_export() {
        let s = ExternalSpec::parse("handlers/sum.js").unwrap();
        assert_eq!((s.runtime, s.export.as_str()), (Runtime::Node, "handler"));
        let s = ExternalSpec::parse("handlers/sum.mjs:aggregate").unwrap();
        assert_eq!(
            (s.path, s.export.as_str()),
            (PathBuf::from("handlers/sum.mjs"), "aggregate")
        );
        let s = ExternalSpec::parse("/x/y/app.py").unwrap();
        assert_eq!(
            (s.runtime, s.export.as_str()),
            (Runtime::Python, "lambda_handler")
        );
        let s = ExternalSpec::parse("C:\\h\\app.py:main").unwrap();
        assert_eq!(s.export, "main");
        assert!(ExternalSpec::parse("builtin:sum:x").is_none());
        assert!(ExternalSpec::parse("notes.txt").is_none());
    }
}
