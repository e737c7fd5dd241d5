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

use std::io::{BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use serde_json::Value;

use super::sandbox::{LogSink, Reaper, StablePaths};
use super::{HandlerError, Invoked, Request, Response, TableWrite};
use crate::handlers::event::{EventContext, MAX_PAYLOAD_BYTES, write_event, write_kinesis_compact};
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

const NODE_HARNESS: &str = include_str!("../../assets/harness/node_harness.js");
const PYTHON_HARNESS: &str = include_str!("../../assets/harness/python_harness.py");
const NODE_STUBS: [(&str, &str); 6] = [
    (
        "store.cjs",
        include_str!("../../assets/harness/node_stubs/store.cjs"),
    ),
    (
        "aws-sdk.cjs",
        include_str!("../../assets/harness/node_stubs/aws-sdk.cjs"),
    ),
    (
        "aws-sdk-dynamodb.cjs",
        include_str!("../../assets/harness/node_stubs/aws-sdk-dynamodb.cjs"),
    ),
    (
        "client-dynamodb.cjs",
        include_str!("../../assets/harness/node_stubs/client-dynamodb.cjs"),
    ),
    (
        "lib-dynamodb.cjs",
        include_str!("../../assets/harness/node_stubs/lib-dynamodb.cjs"),
    ),
    (
        "esm-hooks.mjs",
        include_str!("../../assets/harness/node_stubs/esm-hooks.mjs"),
    ),
];

/// Time a runtime gets to load the handler (Lambda's init phase allows 10 s).
const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// One line from the runtime's stdout.
enum Line {
    /// A protocol message.
    Frame(Value),
    /// A protocol message too large to hold: a response far past Lambda's 6 MB limit.
    Oversized(u64),
    /// A protocol message that is not JSON (the harness could not encode what the function
    /// returned).
    Unreadable(String),
    /// Anything else the function printed, and the bytes of it left out.
    Stray(String, u64),
    /// The runtime closed stdout (exited, crashed, or was killed).
    Eof,
}

/// The longest protocol line read whole: a 6 MB response, 1 MB of logs and the writes, with
/// room for escaping. Anything longer is skipped, not held.
const FRAME_CAP: usize = 24 << 20;

/// Lines of stderr waiting for the engine; further ones are counted, not queued.
const STDERR_QUEUE: usize = 256;

/// How often the watchdog looks at the deadline. Timeouts are in seconds; 5 ms is precise
/// enough and costs nothing measurable.
const WATCH_TICK: Duration = Duration::from_millis(5);

struct Proc {
    child: Arc<Mutex<Child>>,
    /// The runtime's process group (its pid): ended with it, grandchildren included.
    group: u32,
    reaper_ticket: u64,
    stdin: ChildStdin,
    /// Read on the engine's thread: a response reaches the engine without a thread hand-off.
    stdout: BufReader<ChildStdout>,
    line: Vec<u8>,
    mark: String,
    /// Lines the function wrote to stderr (each cut to the log line limit).
    stray: Receiver<(String, u64)>,
    /// Bytes of stderr left out while the queue was full.
    stray_dropped: Arc<AtomicU64>,
    /// Milliseconds since `epoch` after which the watchdog kills the runtime; 0 = none.
    deadline: Arc<AtomicU64>,
    epoch: Instant,
    timed_out: Arc<AtomicBool>,
    alive: Arc<AtomicBool>,
}

impl Proc {
    fn arm(&self, after: Duration) {
        let at = self.epoch.elapsed() + after;
        self.deadline
            .store(at.as_millis().max(1) as u64, Ordering::Relaxed);
    }

    fn disarm(&self) {
        self.deadline.store(0, Ordering::Relaxed);
    }

    fn read(&mut self) -> Line {
        let skipped =
            match super::sandbox::read_capped_line(&mut self.stdout, &mut self.line, FRAME_CAP) {
                Ok(Some(skipped)) => skipped,
                Ok(None) | Err(_) => return Line::Eof,
            };
        let text = String::from_utf8_lossy(&self.line);
        match text.strip_prefix(self.mark.as_str()) {
            Some(_) if skipped > 0 => Line::Oversized(self.line.len() as u64 + skipped),
            Some(json) => match serde_json::from_str::<Value>(json) {
                Ok(v) => Line::Frame(v),
                Err(e) => Line::Unreadable(e.to_string()),
            },
            None => Line::Stray(text.into_owned(), skipped),
        }
    }

    fn drain_stray(&self, logs: &mut LogSink, paths: &StablePaths) {
        while let Ok((l, cut)) = self.stray.try_recv() {
            logs.push_counted(paths.apply(&l), cut);
        }
        logs.add_dropped(self.stray_dropped.swap(0, Ordering::Relaxed));
    }

    fn exit_code(&self) -> Option<i32> {
        let mut child = self.child.lock().ok()?;
        child.wait().ok().and_then(|s| s.code())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.alive.store(false, Ordering::Relaxed);
        // The whole group: processes the function started must not outlive the runtime.
        super::sandbox::kill_group(self.group);
        if let Ok(mut c) = self.child.lock() {
            c.kill().ok();
            c.wait().ok();
        }
        Reaper::get().forget(self.reaper_ticket);
    }
}

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
        }
    }

    /// The spec.
    pub fn spec(&self) -> &ExternalSpec {
        &self.spec
    }

    fn write_harness(&mut self) -> Result<(), String> {
        let dir = std::env::temp_dir().join(format!(
            "tumblescope-harness-{}-{}",
            std::process::id(),
            &self.nonce[..8]
        ));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut files: Vec<(&str, &str)> = vec![
            ("node_harness.js", NODE_HARNESS),
            ("python_harness.py", PYTHON_HARNESS),
        ];
        files.extend(NODE_STUBS);
        if self.dir_ticket.is_none() {
            self.dir_ticket = Some(Reaper::get().register_dir(dir.clone()));
        }
        for (name, text) in files {
            std::fs::write(dir.join(name), text)
                .map_err(|e| format!("{}: {e}", dir.join(name).display()))?;
        }
        self.dir = dir;
        Ok(())
    }

    fn start(&mut self) -> Result<(), HandlerError> {
        let handler = std::fs::canonicalize(&self.spec.path).map_err(|e| {
            HandlerError::new(
                "Runtime.ImportModuleError",
                format!("{}: {e}", self.spec.path.display()),
            )
        })?;
        self.paths = StablePaths::new(&self.dir, &handler, &self.spec.path);
        let mut cmd = Command::new(self.spec.runtime.program());
        match self.spec.runtime {
            Runtime::Node => {
                cmd.arg(self.dir.join("node_harness.js"))
                    .arg(&handler)
                    .arg(&self.spec.export)
                    .arg(&self.nonce)
                    .arg(&self.dir);
            }
            Runtime::Python => {
                cmd.arg("-u")
                    .arg(self.dir.join("python_harness.py"))
                    .arg(&handler)
                    .arg(&self.spec.export)
                    .arg(&self.nonce);
            }
        }
        // The environment Lambda gives a function, and nothing of the user's: no credentials,
        // profiles or endpoints can be reached from the handler.
        let task_root = handler.parent().unwrap_or(Path::new("."));
        let stem = handler
            .file_stem()
            .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
        let env = super::sandbox::lambda_env(&super::sandbox::FunctionEnv {
            handler: format!("{stem}.{}", self.spec.export),
            execution_env: match self.spec.runtime {
                Runtime::Node => "AWS_Lambda_nodejs20.x",
                Runtime::Python => "AWS_Lambda_python3.12",
            },
            function_name: &self.function_name,
            region: &self.region,
            task_root,
            runtime_dir: &self.dir,
            user: &self.user_env,
        });
        cmd.env_clear()
            .envs(env)
            .current_dir(task_root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut child = cmd.spawn().map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                HandlerError::new("Runtime.NotFound", self.spec.runtime.missing())
            } else {
                HandlerError::new(
                    "Runtime.StartError",
                    format!("{}: {e}", self.spec.runtime.program()),
                )
            }
        })?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            child.kill().ok();
            return Err(HandlerError::new(
                "Runtime.StartError",
                "no pipes to the runtime",
            ));
        };
        let group = child.id();
        let reaper_ticket = Reaper::get().register_group(group);
        let (tx, stray) = crossbeam_channel::bounded(STDERR_QUEUE);
        let stray_dropped = Arc::new(AtomicU64::new(0));
        let dropped = stray_dropped.clone();
        std::thread::Builder::new()
            .name("tumblescope-handler-err".into())
            .spawn(move || {
                let mut r = BufReader::new(stderr);
                let mut buf = Vec::new();
                let cap = super::sandbox::LOG_LINE_LIMIT;
                while let Ok(Some(cut)) = super::sandbox::read_capped_line(&mut r, &mut buf, cap) {
                    let line = String::from_utf8_lossy(&buf).into_owned();
                    let size = line.len() as u64 + cut;
                    match tx.try_send((line, cut)) {
                        Ok(()) => {}
                        Err(crossbeam_channel::TrySendError::Full(_)) => {
                            dropped.fetch_add(size, Ordering::Relaxed);
                        }
                        Err(crossbeam_channel::TrySendError::Disconnected(_)) => break,
                    }
                }
            })
            .map_err(|e| HandlerError::new("Runtime.StartError", e.to_string()))?;
        let child = Arc::new(Mutex::new(child));
        let deadline = Arc::new(AtomicU64::new(0));
        let timed_out = Arc::new(AtomicBool::new(false));
        let alive = Arc::new(AtomicBool::new(true));
        let epoch = Instant::now();
        {
            let (child, deadline, timed_out, alive) = (
                child.clone(),
                deadline.clone(),
                timed_out.clone(),
                alive.clone(),
            );
            std::thread::Builder::new()
                .name("tumblescope-handler-watchdog".into())
                .spawn(move || {
                    while alive.load(Ordering::Relaxed) {
                        std::thread::sleep(WATCH_TICK);
                        let at = deadline.load(Ordering::Relaxed);
                        if at != 0 && epoch.elapsed().as_millis() as u64 >= at {
                            // Lambda stops the sandbox; killing closes stdout and wakes the reader.
                            timed_out.store(true, Ordering::Relaxed);
                            deadline.store(0, Ordering::Relaxed);
                            // The group: a grandchild holding stdout open would keep the
                            // reader waiting.
                            super::sandbox::kill_group(group);
                            if let Ok(mut c) = child.lock() {
                                c.kill().ok();
                            }
                        }
                    }
                })
                .map_err(|e| HandlerError::new("Runtime.StartError", e.to_string()))?;
        }
        let mut proc = Proc {
            child,
            group,
            reaper_ticket,
            stdin,
            stdout: BufReader::with_capacity(1 << 16, stdout),
            line: Vec::new(),
            mark: format!("\u{1e}TSR {} ", self.nonce),
            stray,
            stray_dropped,
            deadline,
            epoch,
            timed_out,
            alive,
        };
        // Wait for the handler to load.
        proc.arm(INIT_TIMEOUT);
        let paths = self.paths.clone();
        let mut logs = LogSink::default();
        loop {
            match proc.read() {
                Line::Frame(v) => match v.get("type").and_then(Value::as_str) {
                    Some("ready") => {
                        logs.extend(strings(&v["logs"], &paths));
                        break;
                    }
                    Some("init-error") => {
                        logs.extend(strings(&v["logs"], &paths));
                        proc.drain_stray(&mut logs, &paths);
                        let mut e = paths.error(handler_error(&v["error"]));
                        e.stack_trace
                            .extend(logs.finish().iter().map(|l| format!("log: {l}")));
                        return Err(e);
                    }
                    _ => {}
                },
                Line::Stray(l, cut) => logs.push_counted(paths.apply(&l), cut),
                Line::Oversized(n) => logs.add_dropped(n),
                Line::Unreadable(e) => logs.push(format!("(unreadable harness message: {e})")),
                Line::Eof => {
                    if proc.timed_out.load(Ordering::Relaxed) {
                        return Err(HandlerError::new(
                            "Runtime.InitTimeout",
                            format!(
                                "{} did not finish loading within 10 s",
                                self.spec.path.display()
                            ),
                        ));
                    }
                    // Give stderr a moment to deliver the last words.
                    std::thread::sleep(Duration::from_millis(20));
                    proc.drain_stray(&mut logs, &paths);
                    let code = proc.exit_code();
                    return Err(HandlerError {
                        error_type: "Runtime.ExitError".into(),
                        error_message: format!(
                            "the {} runtime exited while loading {} (exit status {})",
                            self.spec.runtime.program(),
                            self.spec.path.display(),
                            code.map_or_else(|| "unknown".into(), |c| c.to_string())
                        ),
                        stack_trace: logs.finish(),
                    });
                }
            }
        }
        proc.disarm();
        // A restarted runtime gets the table as it was.
        if !self.writes.is_empty() {
            let restore = serde_json::json!({"type": "restore", "writes": self.writes});
            let mut line = serde_json::to_vec(&restore).unwrap_or_default();
            line.push(b'\n');
            proc.stdin.write_all(&line).ok();
        }
        self.init_logs = logs.finish();
        self.proc = Some(proc);
        Ok(())
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

    /// The outgoing `invoke` message for a request, into the reused buffer.
    fn invoke_message(&mut self, req: &Request<'_>) -> Vec<u8> {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        line.extend_from_slice(b"{\"type\":\"invoke\",\"id\":");
        line.extend_from_slice(req.n.to_string().as_bytes());
        line.extend_from_slice(b",\"requestId\":\"");
        line.extend_from_slice(req.request_id().as_bytes());
        line.extend_from_slice(b"\",\"deadlineMs\":");
        line.extend_from_slice(
            (now_ms + self.timeout.as_millis() as u64)
                .to_string()
                .as_bytes(),
        );
        line.extend_from_slice(b",\"simMs\":");
        line.extend_from_slice(req.at_ms.to_string().as_bytes());
        line.extend_from_slice(b",\"functionName\":");
        crate::json::write::json_str(&mut line, &self.function_name);
        line.extend_from_slice(b",\"functionArn\":");
        crate::json::write::json_str(&mut line, &self.function_arn);
        line.push(b',');
        // Straight into the message buffer, reused across invocations.
        let fresh;
        let ctx = match &self.ctx {
            Some(ctx) => ctx,
            None => {
                fresh = EventContext::new(req.stream, req.settings.seed);
                &fresh
            }
        };
        // The Node.js harness rebuilds Kinesis events from a shorter form (see
        // `write_kinesis_compact`); everything else goes as the event itself.
        if !(self.spec.runtime == Runtime::Node && write_kinesis_compact(req, ctx, &mut line)) {
            line.extend_from_slice(b"\"event\":");
            write_event(req, ctx, &mut line);
        }
        line.extend_from_slice(b"}\n");
        line
    }

    /// The invocation's outcome from its `result` message.
    fn result_of(&mut self, v: &Value, mut logs: LogSink) -> Invoked {
        let writes: Vec<TableWrite> = v["writes"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|w| serde_json::from_value::<TableWrite>(w.clone()).ok())
                    .collect()
            })
            .unwrap_or_default();
        self.writes.extend(writes.iter().cloned());
        logs.add_dropped(v["droppedLogBytes"].as_u64().unwrap_or(0));
        let result = if v["ok"].as_bool() == Some(true) {
            let response = v.get("response").cloned().unwrap_or(Value::Null);
            let size = crate::model::state::compact_len(&response);
            if size > MAX_PAYLOAD_BYTES {
                Err(too_large(size as u64))
            } else {
                Ok(Response::from_json(response))
            }
        } else {
            Err(self.paths.error(handler_error(&v["error"])))
        };
        Invoked {
            result,
            logs: logs.finish(),
            writes,
            measured_us: v["durationUs"].as_u64(),
            timed_out: false,
        }
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

fn too_large(size: u64) -> HandlerError {
    HandlerError::new(
        "Function.ResponseSizeTooLarge",
        format!(
            "Response payload size ({size} bytes) exceeded maximum allowed payload size ({MAX_PAYLOAD_BYTES} bytes)."
        ),
    )
}

fn strings<'v>(v: &'v Value, paths: &'v StablePaths) -> impl Iterator<Item = String> + 'v {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str().map(|l| paths.apply(l)))
}

fn handler_error(v: &Value) -> HandlerError {
    HandlerError {
        error_type: v["errorType"].as_str().unwrap_or("Error").to_owned(),
        error_message: v["errorMessage"].as_str().unwrap_or_default().to_owned(),
        // Paths are made stable by the caller ([`StablePaths::error`]).
        stack_trace: v["stackTrace"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
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
        let paths = self.paths.clone();
        loop {
            let Some(proc) = self.proc.as_mut() else {
                return Invoked::err(HandlerError::new("Runtime.StartError", "no runtime"));
            };
            match proc.read() {
                Line::Frame(v) => {
                    if v.get("id").and_then(Value::as_u64) != Some(u64::from(req.n)) {
                        continue;
                    }
                    logs.extend(strings(&v["logs"], &paths));
                    match v.get("type").and_then(Value::as_str) {
                        Some("log") => {
                            if let Some(l) = v["line"].as_str() {
                                logs.push(paths.apply(l));
                            }
                            continue;
                        }
                        // The runtime is exiting; its end arrives next.
                        Some("exit-logs") => continue,
                        _ => {}
                    }
                    proc.disarm();
                    proc.drain_stray(&mut logs, &paths);
                    return self.result_of(&v, logs);
                }
                Line::Oversized(size) => {
                    // Only a response can be this large (logs are cut by the harness).
                    proc.disarm();
                    proc.drain_stray(&mut logs, &paths);
                    let mut inv = Invoked::err(too_large(size));
                    inv.logs = logs.finish();
                    inv.measured_us = Some(started.elapsed().as_micros() as u64);
                    return inv;
                }
                Line::Unreadable(why) => {
                    // The harness could not encode what the function returned: a failed
                    // invocation now, not a wait for the timeout. The runtime restarts, since
                    // the stream of messages can no longer be trusted.
                    self.proc = None;
                    let mut inv = Invoked::err(HandlerError::new(
                        "Runtime.MarshalError",
                        format!("Unable to marshal response: {why}"),
                    ));
                    inv.logs = logs.finish();
                    inv.measured_us = Some(started.elapsed().as_micros() as u64);
                    return inv;
                }
                Line::Stray(l, cut) => logs.push_counted(paths.apply(&l), cut),
                Line::Eof => return self.ended(logs, &request_id, started),
            }
        }
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
