//! Loading and simulating on a named worker thread. The UI sends requests and polls for events;
//! it never waits on the worker.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError};

use super::session::Run;
use crate::index::RunIndex;
use crate::ingest::{LoadControl, LoadProgress};
use crate::model::stream::Stream;
use crate::run::RunSpec;
use crate::sim::{Control, Progress, TraceMemory};

/// A request to the worker.
pub struct JobRequest {
    /// Request id (echoed in events).
    pub id: u64,
    /// What to run.
    pub spec: RunSpec,
    /// The previous run's stream, reused when the spec has the same stream.
    pub previous: Option<(RunSpec, Arc<Stream>)>,
    /// Set to cancel.
    pub cancel: Arc<AtomicBool>,
    /// A replaced run's memory for this one, emptied on the worker, not the UI thread.
    pub spare: Spare,
}

/// A replaced run's memory for the next run to write into: its invocations
/// ([`crate::sim::simulate_reusing`]) and its index ([`RunIndex::build_reusing`]).
#[derive(Default)]
pub struct Spare {
    /// The trace's invocations and windows (their memory, that is).
    pub trace: TraceMemory,
    /// The index.
    pub index: RunIndex,
}

impl Spare {
    fn capacity(&self) -> usize {
        self.trace.invocations.capacity()
    }
}

/// How far a job's phase is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JobProgress {
    /// "Loading" (units: bytes) or "Simulating" (units: records).
    pub phase: &'static str,
    /// Units done.
    pub done: u64,
    /// Units in all.
    pub total: u64,
    /// Invocations so far (simulating).
    pub invocations: u64,
}

impl JobProgress {
    /// The progress bar's text, with the time since the job started.
    pub fn describe(&self, elapsed: Duration) -> String {
        let secs = elapsed.as_secs();
        let time = if secs >= 60 {
            format!("{}:{:02}", secs / 60, secs % 60)
        } else {
            format!("{secs} s")
        };
        match self.phase {
            "Loading" => format!(
                "Loading {:.1} of {:.1} MB, {time}",
                self.done as f64 / 1e6,
                self.total as f64 / 1e6
            ),
            phase => format!(
                "{phase}: {} of {} records, {} invocations, {time}",
                self.done, self.total, self.invocations
            ),
        }
    }
}

/// What the worker reports.
pub enum JobEvent {
    /// Progress of a phase.
    Progress {
        /// Request id.
        id: u64,
        /// Where it is.
        progress: JobProgress,
    },
    /// The run finished (or failed, or was cancelled).
    Finished {
        /// Request id.
        id: u64,
        /// The run, or why there is none.
        result: Result<Box<Run>, String>,
    },
}

/// The UI's handle on the worker.
pub struct Jobs {
    tx: Sender<JobRequest>,
    rx: Receiver<JobEvent>,
    next_id: u64,
    /// The job in flight: its id, cancel flag and when it started.
    pub current: Option<(u64, Arc<AtomicBool>, Instant)>,
    /// Latest progress of the job in flight.
    pub progress: Option<JobProgress>,
}

impl Jobs {
    /// Starts the worker thread; `wake` is called after every event (repaints the UI).
    pub fn spawn(wake: impl Fn() + Send + 'static) -> Self {
        let (tx, worker_rx) = crossbeam_channel::unbounded::<JobRequest>();
        let (worker_tx, rx) = crossbeam_channel::unbounded::<JobEvent>();
        let spawned = std::thread::Builder::new()
            .name("tumblescope-worker".into())
            .spawn(move || worker(&worker_rx, &worker_tx, &wake));
        if let Err(e) = spawned {
            // Without a worker, requests fail to send and the UI reports it instead of waiting.
            eprintln!("error: could not start the worker thread: {e}");
        }
        Self {
            tx,
            rx,
            next_id: 1,
            current: None,
            progress: None,
        }
    }

    /// Starts a run, cancelling the one in flight.
    pub fn start(
        &mut self,
        spec: RunSpec,
        previous: Option<(RunSpec, Arc<Stream>)>,
        spare: Spare,
    ) -> u64 {
        self.cancel();
        let id = self.next_id;
        self.next_id += 1;
        let cancel = Arc::new(AtomicBool::new(false));
        self.current = Some((id, cancel.clone(), Instant::now()));
        self.progress = None;
        let sent = self.tx.send(JobRequest {
            id,
            spec,
            previous,
            cancel,
            spare,
        });
        if sent.is_err() {
            self.current = None;
        }
        id
    }

    /// Cancels the job in flight, if any.
    pub fn cancel(&mut self) {
        if let Some((_, flag, _)) = self.current.take() {
            flag.store(true, Ordering::Relaxed);
        }
        self.progress = None;
    }

    /// Whether a job is in flight.
    pub fn busy(&self) -> bool {
        self.current.is_some()
    }

    /// Events since the last poll that belong to the job in flight (stale ones are dropped).
    pub fn poll(&mut self) -> Vec<Result<Box<Run>, String>> {
        let mut done = Vec::new();
        loop {
            match self.rx.try_recv() {
                Ok(JobEvent::Progress { id, progress }) => {
                    if self.current.as_ref().is_some_and(|c| c.0 == id) {
                        self.progress = Some(progress);
                    }
                }
                Ok(JobEvent::Finished { id, result }) => {
                    if self.current.as_ref().is_some_and(|c| c.0 == id) {
                        self.current = None;
                        self.progress = None;
                        done.push(result);
                    }
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    if self.current.take().is_some() {
                        done.push(Err("the worker thread stopped".into()));
                    }
                    break;
                }
            }
        }
        done
    }

    /// Waits (tests and the headless benchmark only) until the job in flight finishes.
    pub fn wait(&mut self, timeout: Duration) -> Option<Result<Box<Run>, String>> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(r) = self.poll().pop() {
                return Some(r);
            }
            if !self.busy() {
                return None;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        None
    }
}

fn worker(rx: &Receiver<JobRequest>, tx: &Sender<JobEvent>, wake: &dyn Fn()) {
    static GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    // A cancelled run's invocations: the memory of the run the UI released for it, for the
    // request that follows (which brings that run back, or replaces it). Given back when none
    // comes soon.
    let mut pool = Spare::default();
    loop {
        let mut req = match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(req) => req,
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                pool = Spare::default();
                continue;
            }
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
        };
        // Only the newest request matters; older ones were cancelled by the UI.
        while let Ok(mut newer) = rx.try_recv() {
            if newer.spare.capacity() < req.spare.capacity() {
                newer.spare = std::mem::take(&mut req.spare);
            }
            req = newer;
        }
        let id = req.id;
        let spare = if req.spare.capacity() >= pool.capacity() {
            pool = Spare::default();
            std::mem::take(&mut req.spare)
        } else {
            std::mem::take(&mut pool)
        };
        let result = run(&req, spare, &mut pool, tx, wake).map(|mut r| {
            r.generation = GENERATION.fetch_add(1, Ordering::Relaxed);
            Box::new(r)
        });
        tx.send(JobEvent::Finished { id, result }).ok();
        wake();
    }
}

/// Sends one phase's progress at most every 50 ms: a smooth bar without a wake-up per record.
struct Throttled<'a> {
    id: u64,
    phase: &'static str,
    tx: &'a Sender<JobEvent>,
    wake: &'a dyn Fn(),
    last: Instant,
}

impl<'a> Throttled<'a> {
    fn new(
        req: &JobRequest,
        phase: &'static str,
        tx: &'a Sender<JobEvent>,
        wake: &'a dyn Fn(),
    ) -> Self {
        Throttled {
            id: req.id,
            phase,
            tx,
            wake,
            last: Instant::now(),
        }
    }

    fn send_now(&mut self, done: u64, total: u64, invocations: u64) {
        self.last = Instant::now();
        let progress = JobProgress {
            phase: self.phase,
            done,
            total,
            invocations,
        };
        self.tx
            .send(JobEvent::Progress {
                id: self.id,
                progress,
            })
            .ok();
        (self.wake)();
    }

    fn send(&mut self, done: u64, total: u64, invocations: u64) {
        if self.last.elapsed() > Duration::from_millis(50) {
            self.send_now(done, total, invocations);
        }
    }
}

/// The stream the request runs on, with the loader's notes: the previous run's when the source
/// did not change, loaded anew otherwise.
fn stream_for(
    req: &JobRequest,
    tx: &Sender<JobEvent>,
    wake: &dyn Fn(),
) -> Result<(Arc<Stream>, Vec<String>), String> {
    if let Some((prev, stream)) = &req.previous
        && prev.same_stream(&req.spec)
    {
        return Ok((stream.clone(), Vec::new()));
    }
    let mut progress = Throttled::new(req, "Loading", tx, wake);
    progress.send_now(0, 0, 0);
    let mut on = |p: LoadProgress| progress.send(p.bytes_done, p.bytes_total, 0);
    let mut control = LoadControl {
        cancel: Some(&req.cancel),
        progress: Some(&mut on),
    };
    let (stream, report) =
        crate::run::build_stream(&req.spec, &mut control).map_err(|e| match e {
            crate::run::BuildError::Load(crate::ingest::LoadError::Cancelled) => {
                "cancelled".to_owned()
            }
            other => other.to_string(),
        })?;
    Ok((
        Arc::new(stream),
        report.map(|r| r.summary()).unwrap_or_default(),
    ))
}

/// Hands a replaced run to a thread of its own to free: a big run is gigabytes in millions of
/// pieces, and freeing them on the UI thread froze the window for as long. (Where no thread
/// can start, the closure and the run in it are freed here, as before.)
pub fn drop_off_thread(old: Run) {
    let _ = std::thread::Builder::new()
        .name("tumblescope-free".into())
        .spawn(move || drop(old));
}

fn run(
    req: &JobRequest,
    spare: Spare,
    pool: &mut Spare,
    tx: &Sender<JobEvent>,
    wake: &dyn Fn(),
) -> Result<Run, String> {
    let (stream, load_notes) = stream_for(req, tx, wake)?;
    if req.cancel.load(Ordering::Relaxed) {
        return Err("cancelled".into());
    }
    let mut progress = Throttled::new(req, "Simulating", tx, wake);
    progress.send_now(0, stream.len() as u64, 0);
    let mut on_progress =
        |p: Progress| progress.send(p.records_done, p.records_total, p.invocations);
    let mut control = Control {
        cancel: Some(&req.cancel),
        progress: Some(&mut on_progress),
    };
    let Spare { trace, index } = spare;
    let mut sim = crate::run::simulate_reusing(&req.spec, &stream, &mut control, trace)
        .map_err(|e| e.to_string())?;
    if sim.trace.cancelled {
        pool.trace = TraceMemory::take_from(&mut sim.trace);
        pool.index = index;
        return Err("cancelled".into());
    }
    let delivered = sim.delivered.map_or_else(|| stream.clone(), Arc::new);
    let index = RunIndex::build_reusing(&delivered, &sim.trace, index);
    Ok(Run {
        spec: req.spec.clone(),
        dropped: Arc::new(sim.dropped),
        source: stream,
        stream: delivered,
        took: sim.took,
        trace: Arc::new(sim.trace),
        index: Arc::new(index),
        generation: 0,
        load_notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_says_what_is_done_of_what_and_for_how_long() {
        let load = JobProgress {
            phase: "Loading",
            done: 12_500_000,
            total: 130_000_000,
            invocations: 0,
        };
        assert_eq!(
            load.describe(Duration::from_secs(3)),
            "Loading 12.5 of 130.0 MB, 3 s"
        );
        let sim = JobProgress {
            phase: "Simulating",
            done: 400,
            total: 2_000,
            invocations: 37,
        };
        assert_eq!(
            sim.describe(Duration::from_secs(75)),
            "Simulating: 400 of 2000 records, 37 invocations, 1:15"
        );
    }
}
