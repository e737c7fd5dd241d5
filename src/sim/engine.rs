//! The event source mapping, shard by shard, as a discrete-event simulation.
//!
//! Each shard is an independent poller (one synchronous invocation at a time). The driver always
//! runs the shard whose next invocation starts earliest (ties: lower shard first), so the handler
//! sees invocations in global processing order, as a function shared by all shards would.
//!
//! A shard's life, per SEMANTICS §3, §5–§7 and the modelling choices of §12:
//!
//! ```text
//!   poll tick / previous invocation ends
//!        │
//!        ├─ retry or bisected half pending? ── invoke it (same input state)
//!        ├─ final / early invocation pending? ─ invoke it (retried until success or stall)
//!        ├─ open window W and the next record is in a later window, or grace expired,
//!        │  or the shard ended ─────────────── final invocation: Records [], state of W
//!        └─ records visible ─────────────────── batch: same window, ≤ BatchSize, ≤ 6 MB,
//!                                               waiting for MaximumBatchingWindow if set
//! ```

use std::collections::VecDeque;

use super::limits::check_record_sizes;
use super::shard::{ShardSim, tick_at_or_after};
use crate::handlers::Handler;
use crate::handlers::event::{MAX_PAYLOAD_BYTES, Sizer};
use crate::model::position::{NotRead, shard_start};
use crate::model::settings::Settings;
use crate::model::state::State;
use crate::model::stream::Stream;
use crate::sim::trace::{Trace, Unread};

/// 1 MB state limit: "Your state can be a maximum of 1 MB per shard" (SEMANTICS §5.3, Q10).
pub const MAX_STATE_BYTES: usize = 1_048_576;

/// Why a run could not start.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// Settings outside AWS's ranges.
    #[error("invalid settings:\n{0}")]
    Settings(String),
    /// The handler could not be prepared (e.g. a syntax error in a user handler).
    #[error("the handler could not be loaded: {0}")]
    Handler(String),
    /// The handler spec names no handler (unknown kind, malformed built-in).
    #[error("{0}")]
    Spec(String),
    /// The stream holds records no real stream or mapping could carry.
    #[error("{0}")]
    Input(String),
}

/// Progress of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Records read so far.
    pub records_done: u64,
    /// Records in the stream.
    pub records_total: u64,
    /// Invocations so far.
    pub invocations: u64,
}

/// Cancellation and progress for a run: on cancel the trace so far is returned with
/// `cancelled`; progress is called every few thousand records.
pub type Control<'a> = crate::model::Control<'a, Progress>;

/// Simulates a run to the end.
pub fn simulate(
    stream: &Stream,
    settings: &Settings,
    handler: &mut dyn Handler,
) -> Result<Trace, SimError> {
    simulate_with(stream, settings, handler, &mut Control::default())
}

/// Simulates a run with cancellation and progress.
pub fn simulate_with(
    stream: &Stream,
    settings: &Settings,
    handler: &mut dyn Handler,
    control: &mut Control<'_>,
) -> Result<Trace, SimError> {
    simulate_reusing(stream, settings, handler, control, TraceMemory::default())
}

/// A replaced trace's big lists, whose memory a new run writes into.
#[derive(Debug, Default)]
pub struct TraceMemory {
    /// Its invocations.
    pub invocations: Vec<crate::sim::trace::Invocation>,
    /// Its windows.
    pub windows: Vec<crate::sim::trace::WindowResult>,
}

impl TraceMemory {
    /// The memory of `trace`'s lists (the trace keeps the rest).
    pub fn take_from(trace: &mut Trace) -> Self {
        Self {
            invocations: std::mem::take(&mut trace.invocations),
            windows: std::mem::take(&mut trace.windows),
        }
    }
}

/// [`simulate_with`], writing the invocations and windows into `spare`'s memory (emptied
/// first). A re-run of a big stream then needs no new memory for its trace: the pages of the
/// run it replaces are already the process's, where fresh ones cost a fault each, and the two
/// traces are never held at once. Only where the trace lives changes, never what it holds.
pub fn simulate_reusing(
    stream: &Stream,
    settings: &Settings,
    handler: &mut dyn Handler,
    control: &mut Control<'_>,
    mut spare: TraceMemory,
) -> Result<Trace, SimError> {
    spare.invocations.clear();
    spare.windows.clear();
    let threads = if settings.shards_in_order {
        1
    } else {
        stream.shards.len()
    };
    run_checked(stream, settings, handler, control, threads, spare)
}

/// [`simulate_with`] on at most `threads` threads. Shards never wait on one another unless
/// they were resharded, so with a handler that can be forked (a user's function with one
/// runtime per shard) each part of the shards runs on its own thread; the parts' traces merge
/// into the one a single thread makes, byte for byte ([`super::parallel`]). Anything else, and
/// `threads` 1, runs on this thread.
pub fn simulate_on_threads(
    stream: &Stream,
    settings: &Settings,
    handler: &mut dyn Handler,
    control: &mut Control<'_>,
    threads: usize,
) -> Result<Trace, SimError> {
    run_checked(
        stream,
        settings,
        handler,
        control,
        threads,
        TraceMemory::default(),
    )
}

fn run_checked(
    stream: &Stream,
    settings: &Settings,
    handler: &mut dyn Handler,
    control: &mut Control<'_>,
    threads: usize,
    spare: TraceMemory,
) -> Result<Trace, SimError> {
    settings.check().map_err(SimError::Settings)?;
    let first = stream.time_range().map(|r| r.0);
    settings
        .check_for_stream(stream.source, first)
        .map_err(SimError::Settings)?;
    check_record_sizes(stream, settings).map_err(SimError::Input)?;
    handler
        .prepare(stream, settings)
        .map_err(SimError::Handler)?;
    match super::parallel::run(stream, settings, handler, control, threads) {
        // (The parts grew traces of their own; `spare` is freed unused. User handlers only,
        // whose invocations cost far more than the memory.)
        super::parallel::Outcome::Merged(trace) => return Ok(*trace),
        // The runtimes saw an interleaving of table writes a sequential run would not have:
        // start them afresh and run in order.
        outcome @ (super::parallel::Outcome::Conflict | super::parallel::Outcome::Broken) => {
            handler
                .prepare(stream, settings)
                .map_err(SimError::Handler)?;
            let mut trace = run_in_order(stream, settings, handler, control, spare);
            if matches!(outcome, super::parallel::Outcome::Conflict) {
                trace.ran_on = crate::sim::trace::RanOn::InOrderAfterTableRead;
            }
            return Ok(trace);
        }
        super::parallel::Outcome::NotSplit => {}
    }
    Ok(run_in_order(stream, settings, handler, control, spare))
}

fn run_in_order(
    stream: &Stream,
    settings: &Settings,
    handler: &mut dyn Handler,
    control: &mut Control<'_>,
    spare: TraceMemory,
) -> Trace {
    let mut engine = Engine::new(stream, settings);
    debug_assert!(spare.invocations.is_empty() && spare.windows.is_empty());
    engine.trace.invocations = spare.invocations;
    engine.trace.windows = spare.windows;
    engine.trace.deferred = handler.deferred_writes().map(crate::sim::trace::Deferred);
    let mut trace = match handler.as_builtin() {
        Some(builtin) => engine.run(builtin, control),
        None => engine.run(handler, control),
    };
    // A small run written into a big one's memory gives back what it did not need.
    give_back_spare(&mut trace.invocations);
    give_back_spare(&mut trace.windows);
    trace
}

/// Frees a list's room beyond half again its length (memory it was handed, never touched by
/// this run).
pub(crate) fn give_back_spare<T>(list: &mut Vec<T>) {
    if list.capacity() > list.len() + list.len() / 2 + 1024 {
        list.shrink_to_fit();
    }
}

pub(super) struct Engine<'a> {
    pub(super) stream: &'a Stream,
    pub(super) settings: &'a Settings,
    pub(super) window_ms: Option<i64>,
    pub(super) poll_ms: i64,
    pub(super) read_gap_ms: i64,
    pub(super) batching_ms: i64,
    pub(super) sizer: Option<Sizer>,
    pub(super) shards: Vec<ShardSim>,
    pub(super) trace: Trace,
    pub(super) has_backwards: bool,
    /// Child shards of each shard (indices).
    pub(super) children: Vec<Vec<usize>>,
    /// Children whose parents all ended since the driver last looked: to plan.
    pub(super) woken: Vec<usize>,
    /// The shards this engine runs (all of them, unless shards are split over threads).
    pub(super) owned: std::ops::Range<usize>,
    /// With shards split over threads: each step's key and the trace's lengths after it, so
    /// the parts can be merged into the one processing order ([`super::parallel`]).
    pub(super) log: Option<Vec<super::parallel::Step>>,
    /// With shards split over threads: where this part's progress is published.
    pub(super) live: Option<&'a super::parallel::Live>,
    /// Memory for the trace made ready on another core ([`super::room`]).
    room: super::room::Room,
}

impl<'a> Engine<'a> {
    pub(super) fn new(stream: &'a Stream, s: &'a Settings) -> Self {
        let poll_ms = s.poll_ms(stream.source);
        let first = stream.time_range().map(|r| r.0);
        let start = s.mapping_start(first).unwrap_or(0);
        let sizer = Sizer::new(stream, s.seed);
        // Per-record sizing costs more than the rest of the batch loop; skip it when BatchSize
        // records can never reach 6 MB.
        let bound = sizer.record_len_bound(stream);
        let worst = bound
            .saturating_add(1)
            .saturating_mul(s.batch_size as usize)
            .saturating_add(MAX_STATE_BYTES + 4096);
        let sizer = (worst > MAX_PAYLOAD_BYTES).then_some(sizer);
        let mut unread = Vec::new();
        let shards = (0..stream.shards.len())
            .map(|idx| first_read(stream, s, idx, start, poll_ms, &mut unread))
            .collect();
        let mut children = vec![Vec::new(); stream.shards.len()];
        for (c, shard) in stream.shards.iter().enumerate() {
            for &p in &shard.parents {
                children[p as usize].push(c);
            }
        }
        Self {
            stream,
            settings: s,
            window_ms: s.window_ms(),
            poll_ms,
            read_gap_ms: s.read_gap_ms(stream.source),
            batching_ms: i64::from(s.max_batching_window_s) * 1000,
            sizer,
            shards,
            trace: Trace {
                unread,
                ..Trace::default()
            },
            has_backwards: !stream.backwards.is_empty(),
            children,
            woken: Vec::new(),
            owned: 0..stream.shards.len(),
            log: None,
            live: None,
            room: Default::default(),
        }
    }

    pub(super) fn run<H: Handler + ?Sized>(
        &mut self,
        handler: &mut H,
        control: &mut Control<'_>,
    ) -> Trace {
        let mut queue = super::queue::Queue::new(self.shards.len());
        for idx in self.owned.clone() {
            if let Some(at) = self.plan(idx) {
                queue.push(at, idx);
            }
        }
        let total = self.stream.len() as u64;
        let mut last_report = 0u64;
        let mut last_report_at = std::time::Instant::now();
        while let Some((at, idx)) = queue.pop() {
            // Checked before every invocation: a user handler can take seconds each.
            if control.cancelled() {
                self.trace.cancelled = true;
                break;
            }
            // A user handler (measured) can take seconds per invocation: report it by time too,
            // so a slow run does not look stuck.
            let slow = self
                .trace
                .invocations
                .last()
                .is_some_and(|i| i.measured.is_some());
            if slow || self.trace.invocations.len().is_multiple_of(64) {
                let done = self.records_read();
                if self.log.is_none() {
                    self.room.tend(done, total, &mut self.trace.invocations);
                }
                if let Some(p) = control.progress.as_mut()
                    && (done >= last_report + 4_096
                        || (slow && last_report_at.elapsed().as_millis() >= 100))
                {
                    last_report = done;
                    last_report_at = std::time::Instant::now();
                    p(Progress {
                        records_done: done,
                        records_total: total,
                        invocations: self.trace.invocations.len() as u64,
                    });
                }
            }
            let Some(action) = self.shards[idx].planned.take() else {
                continue;
            };
            self.execute(idx, &action, handler);
            if let Some(at) = self.plan(idx) {
                queue.push(at, idx);
            }
            while let Some(child) = self.woken.pop() {
                if let Some(at) = self.plan(child) {
                    queue.push(at, child);
                }
            }
            if let Some(log) = self.log.as_mut() {
                log.push(super::parallel::Step::after(at, idx, &self.trace));
            }
            if let Some(live) = self.live {
                live.publish(self.records_read(), self.trace.invocations.len());
            }
        }
        self.finish(handler);
        self.room.settle(&mut self.trace.invocations);
        if let Some(p) = control.progress.as_mut() {
            p(Progress {
                records_done: self.records_read(),
                records_total: total,
                invocations: self.trace.invocations.len() as u64,
            });
        }
        std::mem::take(&mut self.trace)
    }

    pub(super) fn records_read(&self) -> u64 {
        self.shards[self.owned.clone()]
            .iter()
            .zip(&self.stream.shards[self.owned.clone()])
            .map(|(sim, shard)| (sim.cursor - shard.range.start) as u64)
            .sum()
    }
}

/// A shard's poller before its first read: where the mapping starts reading it (records
/// before that are listed in `unread`), polling from the mapping's start.
fn first_read(
    stream: &Stream,
    s: &Settings,
    idx: usize,
    start: i64,
    poll_ms: i64,
    unread: &mut Vec<Unread>,
) -> ShardSim {
    let shard = &stream.shards[idx];
    // Poll ticks on the epoch grid (whole seconds for Kinesis): easy to read on the timeline
    // and to check by hand.
    let phase = 0;
    let now = tick_at_or_after(start, phase, poll_ms);
    let from = shard.range.start;
    let at = shard_start(
        &stream.ts_ms[shard.range.clone()],
        s.starting_position,
        s.starting_position_timestamp_ms,
        start,
        s.retention_ms(),
    );
    let mut skip = |records: std::ops::Range<usize>, reason| {
        if !records.is_empty() {
            unread.push(Unread {
                shard: idx as u32,
                records: records.start as u32..records.end as u32,
                reason,
                at_ms: start,
            });
        }
    };
    skip(from..from + at.trimmed, NotRead::TrimmedByRetention);
    skip(
        from + at.trimmed..from + at.first,
        NotRead::BeforeStartingPosition,
    );
    ShardSim {
        idx,
        end: shard.range.end,
        cursor: from + at.first,
        max_vis: i64::MIN,
        visible_upto: i64::MIN,
        catching_up: false,
        now,
        idle_since: now,
        phase,
        open: None,
        last_window: None,
        carried: State::empty(),
        pending: VecDeque::new(),
        pending_close: None,
        planned: None,
        finished: false,
        last_failed: None,
        waiting: shard.parents.len() as u32,
        parents_done_ms: i64::MIN,
        invoked: 0,
    }
}
