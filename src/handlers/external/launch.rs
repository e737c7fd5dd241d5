//! Starting a user handler's runtime: the harness files in a private temporary folder, the
//! command and its environment, the spawn, and the wait for the harness to report ready.

use std::io::{BufReader, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::process::{INIT_TIMEOUT, Line, Proc, Watch, read_stderr};
use super::protocol::{handler_error, strings};
use super::{External, NODE_HARNESS, NODE_STUBS, PYTHON_HARNESS, Runtime};
use crate::handlers::HandlerError;
use crate::handlers::sandbox::{LogSink, Reaper, StablePaths};

impl External {
    pub(super) fn write_harness(&mut self) -> Result<(), String> {
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

    pub(super) fn start(&mut self) -> Result<(), HandlerError> {
        let handler = std::fs::canonicalize(&self.spec.path).map_err(|e| {
            HandlerError::new(
                "Runtime.ImportModuleError",
                format!("{}: {e}", self.spec.path.display()),
            )
        })?;
        self.paths = StablePaths::new(&self.dir, &handler, &self.spec.path);
        let mut proc = self.spawn(&handler)?;
        // Wait for the handler to load.
        proc.arm(INIT_TIMEOUT);
        let logs = self.await_ready(&mut proc)?;
        proc.disarm();
        // A restarted runtime gets the table as it was.
        if !self.writes.is_empty() {
            let restore = serde_json::json!({"type": "restore", "writes": self.writes});
            let mut line = serde_json::to_vec(&restore).unwrap_or_default();
            line.push(b'\n');
            proc.stdin.write_all(&line).ok();
        }
        self.init_logs = logs;
        self.proc = Some(proc);
        self.fresh = true;
        Ok(())
    }

    /// The runtime's command: the harness, the handler, and Lambda's environment (nothing of
    /// the user's: no credentials, profiles or endpoints can be reached from the handler), in
    /// a process group of its own.
    pub(super) fn command(&self, handler: &Path) -> Command {
        let mut cmd = Command::new(self.spec.runtime.program());
        match self.spec.runtime {
            Runtime::Node => {
                cmd.arg(self.dir.join("node_harness.js"))
                    .arg(handler)
                    .arg(&self.spec.export)
                    .arg(&self.nonce)
                    .arg(&self.dir);
            }
            Runtime::Python => {
                cmd.arg("-u")
                    .arg(self.dir.join("python_harness.py"))
                    .arg(handler)
                    .arg(&self.spec.export)
                    .arg(&self.nonce);
            }
        }
        let task_root = handler.parent().unwrap_or(Path::new("."));
        let stem = handler
            .file_stem()
            .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
        let env = crate::handlers::sandbox::lambda_env(&crate::handlers::sandbox::FunctionEnv {
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
        cmd
    }

    /// Starts the runtime with its stderr reader and timeout watchdog.
    pub(super) fn spawn(&self, handler: &Path) -> Result<Proc, HandlerError> {
        let mut child = self.command(handler).spawn().map_err(|e| {
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
        let (stray, stray_dropped) = read_stderr(stderr)?;
        let child = Arc::new(Mutex::new(child));
        let watch = Watch {
            deadline: Arc::new(AtomicU64::new(0)),
            timed_out: Arc::new(AtomicBool::new(false)),
            alive: Arc::new(AtomicBool::new(true)),
            epoch: Instant::now(),
        };
        watch.spawn(child.clone(), group)?;
        Ok(Proc {
            child,
            group,
            reaper_ticket,
            stdin,
            stdout: BufReader::with_capacity(1 << 16, stdout),
            line: Vec::new(),
            mark: format!("\u{1e}TSR {} ", self.nonce),
            stray,
            stray_dropped,
            deadline: watch.deadline,
            epoch: watch.epoch,
            timed_out: watch.timed_out,
            alive: watch.alive,
        })
    }

    /// Reads until the harness says the handler loaded (its logs) or failed to (the error).
    pub(super) fn await_ready(&self, proc: &mut Proc) -> Result<Vec<String>, HandlerError> {
        let paths = &self.paths;
        let mut logs = LogSink::default();
        loop {
            match proc.read() {
                Line::Frame(v) => match v.get("type").and_then(Value::as_str) {
                    Some("ready") => {
                        logs.extend(strings(&v["logs"], paths));
                        return Ok(logs.finish());
                    }
                    Some("init-error") => {
                        logs.extend(strings(&v["logs"], paths));
                        proc.drain_stray(&mut logs, paths);
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
                Line::Eof => return Err(self.load_failed(proc, logs)),
            }
        }
    }

    /// The runtime ended while loading the handler: timed out or exited.
    pub(super) fn load_failed(&self, proc: &Proc, mut logs: LogSink) -> HandlerError {
        if proc.timed_out.load(Ordering::Relaxed) {
            return HandlerError::new(
                "Runtime.InitTimeout",
                format!(
                    "{} did not finish loading within 10 s",
                    self.spec.path.display()
                ),
            );
        }
        // Give stderr a moment to deliver the last words.
        std::thread::sleep(Duration::from_millis(20));
        proc.drain_stray(&mut logs, &self.paths);
        let code = proc.exit_code();
        HandlerError {
            error_type: "Runtime.ExitError".into(),
            error_message: format!(
                "the {} runtime exited while loading {} (exit status {})",
                self.spec.runtime.program(),
                self.spec.path.display(),
                code.map_or_else(|| "unknown".into(), |c| c.to_string())
            ),
            stack_trace: logs.finish(),
        }
    }
}
