//! The runtime process: its pipes, the line reader that tells protocol frames from what the
//! function printed, the stderr reader and the timeout watchdog.

use std::io::BufReader;
use std::process::{Child, ChildStdin, ChildStdout};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use serde_json::Value;

use crate::handlers::HandlerError;
use crate::handlers::sandbox::{LogSink, Reaper, StablePaths};

/// Time a runtime gets to load the handler (Lambda's init phase allows 10 s).
pub(super) const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// One line from the runtime's stdout.
pub(super) enum Line {
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
pub(super) const FRAME_CAP: usize = 24 << 20;

/// Lines of stderr waiting for the engine; further ones are counted, not queued.
pub(super) const STDERR_QUEUE: usize = 256;

/// How often the watchdog looks at the deadline. Timeouts are in seconds; 5 ms is precise
/// enough and costs nothing measurable.
pub(super) const WATCH_TICK: Duration = Duration::from_millis(5);

pub(super) struct Proc {
    pub(super) child: Arc<Mutex<Child>>,
    /// The runtime's process group (its pid): ended with it, grandchildren included.
    pub(super) group: u32,
    pub(super) reaper_ticket: u64,
    pub(super) stdin: ChildStdin,
    /// Read on the engine's thread: a response reaches the engine without a thread hand-off.
    pub(super) stdout: BufReader<ChildStdout>,
    pub(super) line: Vec<u8>,
    pub(super) mark: String,
    /// Lines the function wrote to stderr (each cut to the log line limit).
    pub(super) stray: Receiver<(String, u64)>,
    /// Bytes of stderr left out while the queue was full.
    pub(super) stray_dropped: Arc<AtomicU64>,
    /// Milliseconds since `epoch` after which the watchdog kills the runtime; 0 = none.
    pub(super) deadline: Arc<AtomicU64>,
    pub(super) epoch: Instant,
    pub(super) timed_out: Arc<AtomicBool>,
    pub(super) alive: Arc<AtomicBool>,
}

impl Proc {
    pub(super) fn arm(&self, after: Duration) {
        let at = self.epoch.elapsed() + after;
        self.deadline
            .store(at.as_millis().max(1) as u64, Ordering::Relaxed);
    }

    pub(super) fn disarm(&self) {
        self.deadline.store(0, Ordering::Relaxed);
    }

    pub(super) fn read(&mut self) -> Line {
        let skipped = match crate::handlers::sandbox::read_capped_line(
            &mut self.stdout,
            &mut self.line,
            FRAME_CAP,
        ) {
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

    pub(super) fn drain_stray(&self, logs: &mut LogSink, paths: &StablePaths) {
        while let Ok((l, cut)) = self.stray.try_recv() {
            logs.push_counted(paths.apply(&l), cut);
        }
        logs.add_dropped(self.stray_dropped.swap(0, Ordering::Relaxed));
    }

    pub(super) fn exit_code(&self) -> Option<i32> {
        let mut child = self.child.lock().ok()?;
        child.wait().ok().and_then(|s| s.code())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.alive.store(false, Ordering::Relaxed);
        // The whole group: processes the function started must not outlive the runtime.
        crate::handlers::sandbox::kill_group(self.group);
        if let Ok(mut c) = self.child.lock() {
            c.kill().ok();
            c.wait().ok();
        }
        Reaper::get().forget(self.reaper_ticket);
    }
}

/// Reads the runtime's stderr on a thread of its own, each line cut to the log line limit;
/// lines past a full queue are counted, not held.
pub(super) fn read_stderr(
    stderr: std::process::ChildStderr,
) -> Result<(StderrLines, Arc<AtomicU64>), HandlerError> {
    let (tx, stray) = crossbeam_channel::bounded(STDERR_QUEUE);
    let stray_dropped = Arc::new(AtomicU64::new(0));
    let dropped = stray_dropped.clone();
    std::thread::Builder::new()
        .name("tumblescope-handler-err".into())
        .spawn(move || {
            let mut r = BufReader::new(stderr);
            let mut buf = Vec::new();
            let cap = crate::handlers::sandbox::LOG_LINE_LIMIT;
            while let Ok(Some(cut)) =
                crate::handlers::sandbox::read_capped_line(&mut r, &mut buf, cap)
            {
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
    Ok((stray, stray_dropped))
}

/// Lines of stderr (each with the bytes cut from it), as the reader thread queues them.
pub(super) type StderrLines = Receiver<(String, u64)>;

/// What the timeout watchdog shares with the runtime's reader.
pub(super) struct Watch {
    pub(super) deadline: Arc<AtomicU64>,
    pub(super) timed_out: Arc<AtomicBool>,
    pub(super) alive: Arc<AtomicBool>,
    pub(super) epoch: Instant,
}

impl Watch {
    /// Kills the runtime's group once the armed deadline passes, as Lambda stops a sandbox.
    pub(super) fn spawn(&self, child: Arc<Mutex<Child>>, group: u32) -> Result<(), HandlerError> {
        let (deadline, timed_out, alive, epoch) = (
            self.deadline.clone(),
            self.timed_out.clone(),
            self.alive.clone(),
            self.epoch,
        );
        std::thread::Builder::new()
            .name("tumblescope-handler-watchdog".into())
            .spawn(move || {
                while alive.load(Ordering::Relaxed) {
                    std::thread::sleep(WATCH_TICK);
                    let at = deadline.load(Ordering::Relaxed);
                    if at != 0 && epoch.elapsed().as_millis() as u64 >= at {
                        // Killing closes stdout and wakes the reader.
                        timed_out.store(true, Ordering::Relaxed);
                        deadline.store(0, Ordering::Relaxed);
                        // The group: a grandchild holding stdout open would keep the reader
                        // waiting.
                        crate::handlers::sandbox::kill_group(group);
                        if let Ok(mut c) = child.lock() {
                            c.kill().ok();
                        }
                    }
                }
            })
            .map(|_| ())
            .map_err(|e| HandlerError::new("Runtime.StartError", e.to_string()))
    }
}
