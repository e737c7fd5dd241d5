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

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::ops::Range;
use std::sync::Arc;

use crate::handlers::event::{MAX_PAYLOAD_BYTES, Sizer};
use crate::handlers::{Handler, HandlerError, Invoked, ItemFailure, Request, ResponseState};
use crate::model::Window;
use crate::model::settings::{EndOfInput, GraceFrom, Settings};
use crate::model::state::State;
use crate::model::stream::Stream;
use crate::sim::trace::{
    Discard, Extra, Invocation, Kind, Reason, Stall, Status, Trace, WindowResult, WindowStatus,
    flags,
};

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
    settings.check().map_err(SimError::Settings)?;
    check_record_sizes(stream, settings).map_err(SimError::Input)?;
    handler
        .prepare(stream, settings)
        .map_err(SimError::Handler)?;
    let mut engine = Engine::new(stream, settings);
    let trace = engine.run(handler, control);
    Ok(trace)
}

/// Refuses records no run could deliver: a Kinesis record over the stream's maximum record size
/// (PutRecord would have refused it), or a record whose event alone is over Lambda's 6 MB
/// payload limit (AWS does not document what a mapping does with one, so tumblescope will not
/// guess). Lists the first few.
fn check_record_sizes(stream: &Stream, settings: &Settings) -> Result<(), String> {
    use std::fmt::Write as _;
    let max_record = settings.max_record_size_kib as usize * 1024;
    let mut found = Vec::new();
    for i in 0..stream.len() {
        let data = stream.payload_len(i);
        // Base64 makes Kinesis data 4/3 larger; below 4 MB nothing can reach 6 MB.
        let size = data + stream.partition_key(i).len();
        let over_record = stream.source == crate::model::Source::Kinesis && size > max_record;
        let over_payload =
            data > 4_000_000 && single_event_len(stream, settings, i) > MAX_PAYLOAD_BYTES;
        if over_record || over_payload {
            found.push((i, size, over_record));
            if found.len() == 5 {
                break;
            }
        }
    }
    if found.is_empty() {
        return Ok(());
    }
    let mut msg = String::new();
    for (i, size, over_record) in found {
        let shard = &stream.shards[stream.shard_of(i)].id;
        let seq = stream.seq(i);
        if over_record {
            let _ = writeln!(
                msg,
                "record {} on {shard} (sequence number {seq}) is {size} bytes (data and partition key): \
                 over the stream's maximum record size of {max_record} bytes (MaxRecordSizeInKiB {}; \
                 Kinesis accepts 1024–10240 KiB), so PutRecord would have refused it",
                i + 1,
                settings.max_record_size_kib,
            );
        } else {
            let _ = writeln!(
                msg,
                "record {} on {shard} (sequence number {seq}) can never be delivered: an event carrying \
                 it alone is {} bytes, over Lambda's invocation payload limit of {MAX_PAYLOAD_BYTES} bytes \
                 (AWS does not document what the event source mapping does with such a record)",
                i + 1,
                single_event_len(stream, settings, i),
            );
        }
    }
    Err(msg.trim_end().to_owned())
}

fn single_event_len(stream: &Stream, settings: &Settings, i: usize) -> usize {
    let state = State::empty();
    let req = Request {
        stream,
        settings,
        shard: stream.shard_of(i),
        records: i..i + 1,
        window: settings
            .window_ms()
            .map(|w| Window::containing(stream.ts_ms[i], w)),
        state: &state,
        is_final: false,
        is_early: false,
        n: 1,
        attempt: 1,
        at_ms: stream.ts_ms[i],
    };
    crate::handlers::event::event_json(&req).len()
}

// ----------------------------------------------------------------------------

/// A window being aggregated on a shard.
#[derive(Clone, Debug)]
struct Open {
    window: Option<Window>,
    state: State,
    last_seen_ms: i64,
    records: u32,
    invocations: u32,
    early: u32,
    discarded: u32,
    first_n: u32,
}

/// A batch to deliver again (retry, bisected half, re-delivery after item failures).
#[derive(Clone, Debug)]
struct Pending {
    range: Range<usize>,
    attempt: u32,
    retries: u32,
    not_before: i64,
    reason: Reason,
    kind: Kind,
}

/// A final or early invocation waiting to be (re)sent.
#[derive(Clone, Copy, Debug)]
struct PendingClose {
    kind: Kind,
    reason: Reason,
    attempt: u32,
    not_before: i64,
}

/// The next thing a shard will do.
#[derive(Clone, Debug)]
enum Action {
    Batch {
        at: i64,
        range: Range<usize>,
        window: Option<Window>,
        reason: Reason,
        kind: Kind,
        attempt: u32,
        retries: u32,
        from_pending: bool,
        /// For a final carrying the tail batch: why the window closes.
        close_reason: Option<Reason>,
        /// A read (GetRecords) at this time, returning records up to it.
        read_at: Option<i64>,
    },
    Close {
        at: i64,
        kind: Kind,
        reason: Reason,
        attempt: u32,
        read_at: Option<i64>,
    },
}

impl Action {
    fn at(&self) -> i64 {
        match self {
            Self::Batch { at, .. } | Self::Close { at, .. } => *at,
        }
    }
}

struct ShardSim {
    idx: usize,
    end: usize,
    cursor: usize,
    /// Largest timestamp read so far (records become visible in sequence order, never before an
    /// earlier record).
    max_vis: i64,
    /// Records with timestamps up to this were returned by the last read (GetRecords).
    visible_upto: i64,
    /// The last read returned records, so Lambda reads again as soon as the shard's read limit
    /// allows instead of waiting for the next base-rate poll.
    catching_up: bool,
    now: i64,
    idle_since: i64,
    phase: i64,
    open: Option<Open>,
    last_window: Option<Window>,
    carried: State,
    pending: VecDeque<Pending>,
    pending_close: Option<PendingClose>,
    planned: Option<Action>,
    finished: bool,
    /// Index in the trace of this shard's latest failed attempt, while it keeps failing.
    last_failed: Option<usize>,
}

/// The evaluated outcome of one attempt.
enum Outcome {
    Success(Option<State>),
    Partial { first_failed: usize, state: State },
    Failure(HandlerError),
}

struct Engine<'a> {
    stream: &'a Stream,
    s: &'a Settings,
    window_ms: Option<i64>,
    poll_ms: i64,
    read_gap_ms: i64,
    batching_ms: i64,
    sizer: Option<Sizer>,
    shards: Vec<ShardSim>,
    trace: Trace,
    has_backwards: bool,
}

impl<'a> Engine<'a> {
    fn new(stream: &'a Stream, s: &'a Settings) -> Self {
        let poll_ms = s.poll_ms(stream.source);
        let start = stream.time_range().map_or(0, |r| r.0);
        let sizer = Sizer::new(stream, s.seed);
        // Per-record sizing costs more than the rest of the batch loop; skip it when BatchSize
        // records can never reach 6 MB.
        let bound = sizer.record_len_bound(stream);
        let worst = bound
            .saturating_add(1)
            .saturating_mul(s.batch_size as usize)
            .saturating_add(MAX_STATE_BYTES + 4096);
        let sizer = (worst > MAX_PAYLOAD_BYTES).then_some(sizer);
        let shards = stream
            .shards
            .iter()
            .enumerate()
            .map(|(idx, shard)| {
                // Poll ticks on the epoch grid (whole seconds for Kinesis): easy to read on the
                // timeline and to check by hand.
                let phase = 0;
                let now = tick_at_or_after(start, phase, poll_ms);
                ShardSim {
                    idx,
                    end: shard.range.end,
                    cursor: shard.range.start,
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
                }
            })
            .collect();
        Self {
            stream,
            s,
            window_ms: s.window_ms(),
            poll_ms,
            read_gap_ms: s.read_gap_ms(stream.source),
            batching_ms: i64::from(s.max_batching_window_s) * 1000,
            sizer,
            shards,
            trace: Trace::default(),
            has_backwards: !stream.backwards.is_empty(),
        }
    }

    fn run(&mut self, handler: &mut dyn Handler, control: &mut Control<'_>) -> Trace {
        let mut heap = BinaryHeap::new();
        for idx in 0..self.shards.len() {
            if let Some(at) = self.plan(idx) {
                heap.push(Reverse((at, idx)));
            }
        }
        let total = self.stream.len() as u64;
        let mut last_report = 0u64;
        while let Some(Reverse((_, idx))) = heap.pop() {
            // Checked before every invocation: a user handler can take seconds each.
            if control.cancelled() {
                self.trace.cancelled = true;
                break;
            }
            if self.trace.invocations.len().is_multiple_of(64) {
                let done = self.records_read();
                if let Some(p) = control.progress.as_mut()
                    && done >= last_report + 4_096
                {
                    last_report = done;
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
            self.execute(idx, action, handler);
            if let Some(at) = self.plan(idx) {
                heap.push(Reverse((at, idx)));
            }
        }
        self.finish(handler);
        if let Some(p) = control.progress.as_mut() {
            p(Progress {
                records_done: self.records_read(),
                records_total: total,
                invocations: self.trace.invocations.len() as u64,
            });
        }
        std::mem::take(&mut self.trace)
    }

    fn records_read(&self) -> u64 {
        self.shards
            .iter()
            .zip(&self.stream.shards)
            .map(|(sim, shard)| (sim.cursor - shard.range.start) as u64)
            .sum()
    }

    // ------------------------------------------------------------------------
    // Planning: what a shard does next, and when. Pure with respect to the shard's state.

    fn plan(&mut self, idx: usize) -> Option<i64> {
        let action = self.next_action(idx)?;
        let at = action.at();
        self.shards[idx].planned = Some(action);
        Some(at)
    }

    fn next_action(&self, idx: usize) -> Option<Action> {
        let sim = &self.shards[idx];
        if sim.finished {
            return None;
        }
        if let Some(p) = sim.pending.front() {
            return Some(Action::Batch {
                at: sim.now.max(p.not_before),
                range: p.range.clone(),
                window: sim.open.as_ref().and_then(|o| o.window),
                reason: p.reason,
                kind: p.kind,
                attempt: p.attempt,
                retries: p.retries,
                from_pending: true,
                close_reason: None,
                read_at: None,
            });
        }
        if let Some(pc) = sim.pending_close {
            return Some(Action::Close {
                at: sim.now.max(pc.not_before),
                kind: pc.kind,
                reason: pc.reason,
                attempt: pc.attempt,
                read_at: None,
            });
        }
        let next = (sim.cursor < sim.end).then_some(sim.cursor);
        if let (Some(len), Some(open)) = (self.window_ms, sim.open.as_ref()) {
            let w = open.window.unwrap_or(Window {
                start_ms: 0,
                end_ms: len,
            });
            let grace_at = self.grace_at(sim, open, w);
            match next {
                Some(i) if self.stream.ts_ms[i] < w.end_ms => {}
                Some(i) => {
                    let seen = self.seen_at(sim, sim.max_vis.max(self.stream.ts_ms[i]));
                    let (at, reason, read_at) = if seen <= grace_at {
                        let read = (seen > sim.visible_upto).then_some(seen);
                        (seen, Reason::NextWindowRecord, read)
                    } else {
                        (grace_at, Reason::GraceExpired, None)
                    };
                    return Some(Action::Close {
                        at,
                        kind: Kind::Final,
                        reason,
                        attempt: 1,
                        read_at,
                    });
                }
                None => {
                    let (at, reason) = match self.s.end_of_input {
                        EndOfInput::ShardEnd => (sim.now, Reason::ShardEnded),
                        EndOfInput::Open => (grace_at, Reason::GraceExpired),
                    };
                    return Some(Action::Close {
                        at,
                        kind: Kind::Final,
                        reason,
                        attempt: 1,
                        read_at: None,
                    });
                }
            }
        }
        let i = next?;
        Some(self.plan_batch(sim, i))
    }

    /// When the poller, now at `sim.now`, first has a record visible from `vis_ms`: at once when
    /// the last read returned it; else at the next read, which is as soon as the shard's read
    /// limit allows while catching up, or the next base-rate poll when idle.
    fn seen_at(&self, sim: &ShardSim, vis_ms: i64) -> i64 {
        if vis_ms <= sim.visible_upto {
            return sim.now;
        }
        let next_read = if sim.catching_up {
            sim.now
                .max(sim.visible_upto.saturating_add(self.read_gap_ms))
        } else {
            tick_at_or_after(sim.now, sim.phase, self.poll_ms)
        };
        if vis_ms <= next_read {
            next_read
        } else {
            // That read comes back empty: the poller idles at the base rate.
            tick_at_or_after(vis_ms, sim.phase, self.poll_ms)
        }
    }

    fn grace_at(&self, sim: &ShardSim, open: &Open, w: Window) -> i64 {
        let grace = i64::from(self.s.close_grace_s) * 1000;
        let deadline = match self.s.grace_from {
            GraceFrom::WindowEnd => w.end_ms + grace,
            GraceFrom::LastRecord => open.last_seen_ms + grace,
        };
        if deadline <= sim.now {
            sim.now
        } else {
            tick_at_or_after(deadline, sim.phase, self.poll_ms)
        }
    }

    /// The window a record at the cursor opens or joins: its epoch-aligned window, or the latest
    /// window of the shard when its timestamp went backwards (SEMANTICS Q15).
    fn window_for(&self, sim: &ShardSim, i: usize) -> Option<Window> {
        let len = self.window_ms?;
        let natural = Window::containing(self.stream.ts_ms[i], len);
        Some(match sim.last_window {
            Some(last) if natural.start_ms < last.start_ms => last,
            _ => natural,
        })
    }

    fn plan_batch(&self, sim: &ShardSim, first: usize) -> Action {
        let stream = self.stream;
        let ts = &stream.ts_ms;
        let window = self.window_for(sim, first);
        let w_end = window.map_or(i64::MAX, |w| w.end_ms);
        let batch_size = self.s.batch_size as usize;
        let first_vis = sim.max_vis.max(ts[first]);
        let in_buffer = first_vis <= sim.visible_upto;
        let t0 = self.seen_at(sim, first_vis);
        let state_len = match (&sim.open, window) {
            (Some(o), Some(_)) => o.state.json_len(),
            _ if self.s.carry_state_across_windows => sim.carried.json_len(),
            _ => 2,
        };

        // With a batching window, find when Lambda sends: the batch fills, the payload fills, a
        // later-window record shows up, or the batching window expires, whichever comes first.
        let at = if self.batching_ms > 0 {
            let deadline = (sim.idle_since + self.batching_ms).max(t0);
            let mut vis = sim.max_vis;
            let mut size = 0usize;
            let mut trigger = i64::MAX;
            for (count, j) in (first..sim.end).enumerate() {
                vis = vis.max(ts[j]);
                if ts[j] >= w_end || count == batch_size {
                    trigger = self.seen_at(sim, vis);
                    break;
                }
                if let Some(sizer) = &self.sizer {
                    size += sizer.record_len(stream, sim.idx, j) + 1;
                    if count > 0
                        && sizer.event_len(sim.idx, count + 1, size, state_len) > MAX_PAYLOAD_BYTES
                    {
                        trigger = self.seen_at(sim, vis);
                        break;
                    }
                }
                if vis > deadline {
                    break;
                }
            }
            t0.max(trigger.min(deadline))
        } else {
            t0
        };

        // Take what is visible at `at`: the buffer of the last read, or a new read at `at`.
        let bound = if in_buffer && at == sim.now {
            sim.visible_upto
        } else {
            at
        };
        let read_at = (bound > sim.visible_upto).then_some(bound);
        let mut j = first;
        let mut vis = sim.max_vis;
        let mut size = 0usize;
        let mut reason = if self.batching_ms > 0 {
            Reason::BatchingWindow
        } else {
            Reason::CaughtUp
        };
        let limit = sim.end.min(first + batch_size);
        if self.sizer.is_none() && !self.has_backwards {
            // Fast path: no sizing, timestamps non-decreasing.
            while j < limit && ts[j] <= bound && ts[j] < w_end {
                j += 1;
            }
            if j > first {
                vis = vis.max(ts[j - 1]);
            }
        } else {
            while j < limit {
                let v = vis.max(ts[j]);
                if v > bound || ts[j] >= w_end {
                    break;
                }
                if let Some(sizer) = &self.sizer {
                    let rec = sizer.record_len(stream, sim.idx, j) + 1;
                    if j > first
                        && sizer.event_len(sim.idx, j - first + 1, size + rec, state_len)
                            > MAX_PAYLOAD_BYTES
                    {
                        reason = Reason::PayloadLimit;
                        break;
                    }
                    size += rec;
                }
                vis = v;
                j += 1;
            }
        }
        let boundary_seen = j < sim.end && ts[j] >= w_end && vis.max(ts[j]) <= bound;
        if reason != Reason::PayloadLimit {
            if j - first == batch_size {
                reason = Reason::BatchSize;
            } else if boundary_seen {
                reason = Reason::WindowBoundary;
            } else if j == sim.end && self.s.end_of_input == EndOfInput::ShardEnd {
                reason = Reason::ShardEnd;
            }
        }
        // Modelling choice Q1: the final invocation carries the window's last batch.
        let closes_after = window.is_some()
            && (boundary_seen || (j == sim.end && self.s.end_of_input == EndOfInput::ShardEnd));
        let (kind, close_reason) = if self.s.final_includes_tail_records && closes_after {
            (
                Kind::Final,
                Some(if boundary_seen {
                    Reason::NextWindowRecord
                } else {
                    Reason::ShardEnded
                }),
            )
        } else {
            (Kind::Aggregate, None)
        };
        Action::Batch {
            at,
            range: first..j,
            window,
            reason,
            kind,
            attempt: 1,
            retries: 0,
            from_pending: false,
            close_reason,
            read_at,
        }
    }

    // ------------------------------------------------------------------------
    // Execution.

    fn execute(&mut self, idx: usize, action: Action, handler: &mut dyn Handler) {
        match action {
            Action::Batch {
                at,
                range,
                window,
                reason,
                kind,
                attempt,
                retries,
                from_pending,
                close_reason,
                read_at,
            } => self.execute_batch(
                idx,
                BatchArgs {
                    at,
                    range,
                    window,
                    reason,
                    kind,
                    attempt,
                    retries,
                    from_pending,
                    close_reason,
                    read_at,
                },
                handler,
            ),
            Action::Close {
                at,
                kind,
                reason,
                attempt,
                read_at,
            } => {
                self.note_read(idx, read_at);
                self.execute_close(idx, at, kind, reason, attempt, handler)
            }
        }
    }

    fn note_read(&mut self, idx: usize, read_at: Option<i64>) {
        if let Some(r) = read_at {
            let sim = &mut self.shards[idx];
            sim.visible_upto = sim.visible_upto.max(r);
            sim.catching_up = true;
        }
    }

    fn next_n(&self) -> u32 {
        self.trace.invocations.len() as u32 + 1
    }

    fn execute_batch(&mut self, idx: usize, b: BatchArgs, handler: &mut dyn Handler) {
        self.note_read(idx, b.read_at);
        let stream = self.stream;
        let n = self.next_n();
        let sim = &mut self.shards[idx];
        sim.now = b.at;
        if b.from_pending {
            sim.pending.pop_front();
        } else {
            sim.cursor = b.range.end;
            if let Some(last) = b.range.clone().map(|i| stream.ts_ms[i]).max() {
                sim.max_vis = sim.max_vis.max(last);
            }
        }
        let mut extra_flags = 0;
        if sim.open.is_none() {
            let carried = self.s.carry_state_across_windows && b.window.is_some();
            if carried && !sim.carried.is_empty() {
                extra_flags |= flags::CARRIED_STATE;
            }
            sim.open = Some(Open {
                window: b.window,
                state: if carried {
                    sim.carried.clone()
                } else {
                    State::empty()
                },
                last_seen_ms: i64::MIN,
                records: 0,
                invocations: 0,
                early: 0,
                discarded: 0,
                first_n: n,
            });
            if b.window.is_some() {
                sim.last_window = b.window;
            }
        }
        let Some(open) = sim.open.as_mut() else {
            return;
        };
        if !b.from_pending {
            open.records += b.range.len() as u32;
            if let Some(t) = b.range.clone().map(|i| stream.ts_ms[i]).max() {
                open.last_seen_ms = open.last_seen_ms.max(t);
            }
        }
        if self.has_backwards
            && let Some(w) = b.window
            && b.range.clone().any(|i| stream.ts_ms[i] < w.start_ms)
        {
            extra_flags |= flags::LATE_RECORDS;
        }
        let state_in = if b.window.is_some() {
            open.state.clone()
        } else {
            State::empty()
        };
        let is_final = b.kind == Kind::Final;
        let req = Request {
            stream,
            settings: self.s,
            shard: idx,
            records: b.range.clone(),
            window: b.window,
            state: &state_in,
            is_final,
            is_early: false,
            n,
            attempt: b.attempt,
            at_ms: b.at,
        };
        let invoked = handler.invoke(&req);
        let duration = self.duration(b.range.len(), &invoked);
        let end = b.at + duration;
        let outcome = self.evaluate(&invoked, b.kind, b.window.is_some(), &b.range);

        let sim = &mut self.shards[idx];
        sim.now = end;
        sim.idle_since = end;
        let Some(open) = sim.open.as_mut() else {
            return;
        };
        open.invocations += 1;
        let mut inv = new_invocation(n, idx, &b, end, state_in.clone(), extra_flags);
        attach(&mut inv, invoked);

        match outcome {
            Outcome::Success(state) => {
                inv.status = Status::Ok;
                if b.kind == Kind::Aggregate {
                    self.trace.records_delivered += b.range.len() as u64;
                }
                if state.is_none() && is_final {
                    inv.flags |= flags::FINAL_WITHOUT_STATE;
                }
                inv.state_out = state.clone();
                self.trace.invocations.push(inv);
                if is_final {
                    self.trace.records_delivered += b.range.len() as u64;
                    // The tail batch is in the returned state, when there is one.
                    let final_state = state.unwrap_or(state_in);
                    self.close_window(
                        idx,
                        n,
                        final_state,
                        b.close_reason.unwrap_or(Reason::NextWindowRecord),
                    );
                } else if b.window.is_some()
                    && let Some(state) = state
                {
                    self.set_state(idx, state, end);
                }
            }
            Outcome::Partial {
                first_failed,
                state,
            } => {
                inv.status = Status::Partial;
                inv.state_out = Some(state.clone());
                self.trace.invocations.push(inv);
                self.trace.records_delivered += (first_failed - b.range.start) as u64;
                if b.window.is_some() && !self.s.discard_state_on_partial_failure {
                    self.set_state(idx, state, end);
                }
                let rest = first_failed..b.range.end;
                self.retry_or_give_up(idx, n, rest, &b, Reason::PartialRetry);
            }
            Outcome::Failure(error) => {
                inv.status = Status::Failed;
                set_error(&mut inv, error);
                self.push_failed(idx, inv);
                if self.s.bisect_on_error && b.range.len() > 1 && b.kind == Kind::Aggregate {
                    // Splitting does not count towards the retry quota (SEMANTICS §7.2).
                    let mid = b.range.start + b.range.len() / 2;
                    let sim = &mut self.shards[idx];
                    for half in [mid..b.range.end, b.range.start..mid] {
                        sim.pending.push_front(Pending {
                            range: half,
                            attempt: b.attempt + 1,
                            retries: b.retries,
                            not_before: end,
                            reason: Reason::Bisect,
                            kind: Kind::Aggregate,
                        });
                    }
                } else {
                    self.retry_or_give_up(idx, n, b.range.clone(), &b, Reason::Retry);
                }
            }
        }
    }

    /// After a failure: retry later, discard (retries or record age exhausted), or stall.
    fn retry_or_give_up(
        &mut self,
        idx: usize,
        n: u32,
        range: Range<usize>,
        b: &BatchArgs,
        reason: Reason,
    ) {
        let retries = b.retries + 1;
        let sim = &self.shards[idx];
        let now = sim.now;
        let oldest = range
            .clone()
            .map(|i| self.stream.ts_ms[i])
            .min()
            .unwrap_or(now);
        let exhausted =
            self.s.max_retry_attempts >= 0 && retries > self.s.max_retry_attempts as u32;
        let too_old = self.s.max_record_age_s >= 0
            && now - oldest > i64::from(self.s.max_record_age_s) * 1000;
        let retries_forever = self.s.max_retry_attempts < 0 && self.s.max_record_age_s < 0;
        if b.kind == Kind::Aggregate && (exhausted || too_old) {
            let condition = if exhausted {
                "RetryAttemptsExhausted"
            } else {
                "RecordAgeExceeded"
            };
            self.trace.discards.push(Discard {
                shard: idx as u32,
                records: range.start as u32..range.end as u32,
                at_ms: now,
                condition,
                invocation: n,
                attempts: b.attempt,
            });
            if let Some(open) = self.shards[idx].open.as_mut() {
                open.discarded += range.len() as u32;
            }
            return;
        }
        if (retries_forever || b.kind != Kind::Aggregate)
            && b.attempt >= self.s.stall_after_attempts
        {
            self.stall(
                idx,
                n,
                format!(
                    "the batch of {} record(s) failed {} times; AWS would retry it {} and block the shard",
                    range.len(),
                    b.attempt,
                    if b.kind == Kind::Aggregate {
                        "until it succeeds or its records expire (MaximumRetryAttempts and MaximumRecordAgeInSeconds are -1)"
                    } else {
                        "until it succeeds"
                    }
                ),
                range.len() as u32,
            );
            return;
        }
        if b.attempt >= self.s.attempt_limit {
            let shard = &self.stream.shards[idx].id;
            self.stall(
                idx,
                n,
                format!(
                    "stopped after {} attempts on {shard}: the batch of {} record(s) keeps failing \
                     (simulator limit: attempt limit {}); AWS would go on retrying it until {}",
                    b.attempt,
                    range.len(),
                    self.s.attempt_limit,
                    self.aws_retry_bound()
                ),
                range.len() as u32,
            );
            return;
        }
        let backoff = self.s.backoff_ms(retries);
        self.shards[idx].pending.push_front(Pending {
            range,
            attempt: b.attempt + 1,
            retries,
            not_before: now + backoff,
            reason,
            kind: b.kind,
        });
    }

    /// What ends AWS's retries of a failing batch under these settings, in words.
    fn aws_retry_bound(&self) -> String {
        let age = self.s.max_record_age_s;
        let retries = self.s.max_retry_attempts;
        match (retries >= 0, age >= 0) {
            (true, true) => format!(
                "MaximumRetryAttempts ({retries}) runs out or its records are older than \
                 MaximumRecordAgeInSeconds ({age} s)"
            ),
            (true, false) => format!("MaximumRetryAttempts ({retries}) runs out"),
            (false, true) => {
                format!("its records are older than MaximumRecordAgeInSeconds ({age} s)")
            }
            (false, false) => "it succeeds".into(),
        }
    }

    /// Records a failed attempt. One that failed exactly like the shard's previous attempt (same
    /// records, error, logs and response) shares that attempt's details instead of a copy.
    fn push_failed(&mut self, idx: usize, mut inv: Invocation) {
        if let Some(prev) = self.shards[idx]
            .last_failed
            .and_then(|k| self.trace.invocations.get(k))
            && prev.records == inv.records
            && prev.extra == inv.extra
        {
            inv.extra = prev.extra.clone();
        }
        self.shards[idx].last_failed = Some(self.trace.invocations.len());
        self.trace.invocations.push(inv);
    }

    fn set_state(&mut self, idx: usize, state: State, now: i64) {
        let sim = &mut self.shards[idx];
        let Some(open) = sim.open.as_mut() else {
            return;
        };
        let too_large = state.json_len() > MAX_STATE_BYTES;
        open.state = state;
        if too_large {
            sim.pending_close = Some(PendingClose {
                kind: Kind::Early,
                reason: Reason::StateTooLarge,
                attempt: 1,
                not_before: now,
            });
        }
    }

    fn execute_close(
        &mut self,
        idx: usize,
        at: i64,
        kind: Kind,
        reason: Reason,
        attempt: u32,
        handler: &mut dyn Handler,
    ) {
        let n = self.next_n();
        let stream = self.stream;
        let sim = &mut self.shards[idx];
        sim.now = at;
        let Some(open) = sim.open.as_mut() else {
            sim.pending_close = None;
            return;
        };
        open.invocations += 1;
        let state_in = open.state.clone();
        let window = open.window;
        let cursor = sim.cursor;
        let is_final = kind == Kind::Final || self.s.early_termination_is_final;
        let is_early = kind == Kind::Early;
        let req = Request {
            stream,
            settings: self.s,
            shard: idx,
            records: cursor..cursor,
            window,
            state: &state_in,
            is_final,
            is_early,
            n,
            attempt,
            at_ms: at,
        };
        let invoked = handler.invoke(&req);
        let duration = self.duration(0, &invoked);
        let end = at + duration;
        let empty = cursor..cursor;
        let outcome = self.evaluate(&invoked, kind, true, &empty);
        let b = BatchArgs {
            at,
            range: empty,
            window,
            reason,
            kind,
            attempt,
            retries: attempt - 1,
            from_pending: false,
            close_reason: None,
            read_at: None,
        };
        let mut inv = new_invocation(n, idx, &b, end, state_in.clone(), 0);
        inv.is_final = is_final;
        inv.is_early = is_early;
        attach(&mut inv, invoked);
        let sim = &mut self.shards[idx];
        sim.now = end;
        sim.idle_since = end;
        let result = match outcome {
            Outcome::Success(state) => Ok(state),
            Outcome::Partial { state, .. } => Ok(Some(state)),
            Outcome::Failure(error) => Err(error),
        };
        match result {
            Ok(state) => {
                inv.status = Status::Ok;
                if state.is_none() {
                    inv.flags |= flags::FINAL_WITHOUT_STATE;
                }
                inv.state_out = state;
                self.trace.invocations.push(inv);
                let sim = &mut self.shards[idx];
                sim.pending_close = None;
                if kind == Kind::Early {
                    if let Some(open) = sim.open.as_mut() {
                        open.state = State::empty();
                        open.early += 1;
                    }
                } else {
                    self.close_window(idx, n, state_in, reason);
                }
            }
            Err(error) => {
                inv.status = Status::Failed;
                set_error(&mut inv, error);
                self.push_failed(idx, inv);
                if attempt >= self.s.stall_after_attempts {
                    let what = if kind == Kind::Final {
                        "final"
                    } else {
                        "early-termination"
                    };
                    self.stall(
                        idx,
                        n,
                        format!(
                            "the {what} invocation failed {attempt} times; AWS suspends the shard \
                             until it succeeds and never discards it"
                        ),
                        0,
                    );
                    return;
                }
                let backoff = self.s.backoff_ms(attempt);
                self.shards[idx].pending_close = Some(PendingClose {
                    kind,
                    reason,
                    attempt: attempt + 1,
                    not_before: end + backoff,
                });
            }
        }
    }

    fn close_window(&mut self, idx: usize, final_n: u32, final_state: State, reason: Reason) {
        let sim = &mut self.shards[idx];
        let Some(open) = sim.open.take() else {
            return;
        };
        if self.s.carry_state_across_windows {
            sim.carried = final_state.clone();
        }
        self.trace.windows.push(WindowResult {
            shard: idx as u32,
            window: open.window.unwrap_or(Window {
                start_ms: 0,
                end_ms: 0,
            }),
            records: open.records,
            invocations: open.invocations,
            final_state: Some(final_state),
            final_invocation: Some(final_n),
            close_reason: Some(reason),
            early_terminations: open.early,
            discarded: open.discarded,
            status: WindowStatus::Closed,
            first_invocation: open.first_n,
        });
    }

    fn stall(&mut self, idx: usize, n: u32, reason: String, in_flight: u32) {
        let sim = &mut self.shards[idx];
        sim.finished = true;
        let unprocessed = (sim.end - sim.cursor) as u32
            + in_flight
            + sim
                .pending
                .iter()
                .map(|p| p.range.len() as u32)
                .sum::<u32>();
        sim.pending.clear();
        sim.pending_close = None;
        let at = sim.now;
        if let Some(open) = sim.open.take() {
            self.trace
                .windows
                .push(open_result(idx, &open, WindowStatus::Stalled));
        }
        self.trace.stalls.push(Stall {
            shard: idx as u32,
            at_ms: at,
            invocation: n,
            reason,
            unprocessed,
        });
    }

    fn finish(&mut self, handler: &dyn Handler) {
        let windowed = self.window_ms.is_some();
        for idx in 0..self.shards.len() {
            let sim = &mut self.shards[idx];
            if let Some(open) = sim.open.take() {
                let status = if windowed {
                    WindowStatus::Open
                } else {
                    WindowStatus::Closed
                };
                let mut result = open_result(idx, &open, status);
                if !windowed {
                    let range = &self.stream.shards[idx].range;
                    let ts = &self.stream.ts_ms[range.clone()];
                    result.window = Window {
                        start_ms: ts.iter().copied().min().unwrap_or(0),
                        end_ms: ts.iter().copied().max().unwrap_or(0) + 1,
                    };
                }
                self.trace.windows.push(result);
            }
        }
        self.trace
            .windows
            .sort_by_key(|w| (w.shard, w.window.start_ms, w.first_invocation));
        self.trace.warnings = handler.warnings();
    }

    fn duration(&self, records: usize, invoked: &Invoked) -> i64 {
        let modelled = self.s.duration_ms(records);
        if invoked.timed_out {
            modelled.max(i64::from(self.s.timeout_ms))
        } else {
            modelled
        }
    }

    /// Applies Lambda's response rules (SEMANTICS §5.2, §7.3, Q5, Q7).
    fn evaluate(
        &self,
        invoked: &Invoked,
        kind: Kind,
        windowed: bool,
        range: &Range<usize>,
    ) -> Outcome {
        let resp = match &invoked.result {
            Err(e) => return Outcome::Failure(e.clone()),
            Ok(r) => r,
        };
        let state = match (&resp.state, windowed) {
            (_, false) => None,
            (ResponseState::Present(s), true) => Some(s.clone()),
            (ResponseState::Missing, true) => {
                if kind == Kind::Aggregate || self.s.strict_final_state {
                    return Outcome::Failure(HandlerError::new(
                        "Tumblescope.MissingState",
                        "The response has no \"state\" property. With tumbling windows Lambda \
                         treats such a response as a failed invocation and retries the batch \
                         (AWS docs: \"your Lambda function response must contain a state \
                         property\").",
                    ));
                }
                None
            }
            (ResponseState::Invalid(msg), true) => {
                if kind == Kind::Aggregate || self.s.strict_final_state {
                    return Outcome::Failure(HandlerError::new(
                        "Tumblescope.InvalidState",
                        format!("{msg}; Lambda fails the invocation."),
                    ));
                }
                None
            }
        };
        if self.s.report_batch_item_failures
            && kind == Kind::Aggregate
            && !resp.batch_item_failures.is_empty()
        {
            let mut first: Option<usize> = None;
            for f in &resp.batch_item_failures {
                match f {
                    ItemFailure::Invalid(why) => {
                        return Outcome::Failure(HandlerError::new(
                            "Tumblescope.InvalidBatchItemFailures",
                            format!("{why}: Lambda treats the whole batch as failed"),
                        ));
                    }
                    ItemFailure::Id(id) => {
                        let pos = range.clone().find(|&i| self.stream.seq(i) == id.as_str());
                        match pos {
                            Some(p) => first = Some(first.map_or(p, |f| f.min(p))),
                            None => {
                                return Outcome::Failure(HandlerError::new(
                                    "Tumblescope.InvalidBatchItemFailures",
                                    format!(
                                        "itemIdentifier {id:?} is not a sequence number of this \
                                         batch: Lambda treats the whole batch as failed"
                                    ),
                                ));
                            }
                        }
                    }
                }
            }
            if let Some(first_failed) = first {
                return Outcome::Partial {
                    first_failed,
                    state: state.unwrap_or_default(),
                };
            }
        }
        Outcome::Success(state)
    }
}

struct BatchArgs {
    at: i64,
    range: Range<usize>,
    window: Option<Window>,
    reason: Reason,
    kind: Kind,
    attempt: u32,
    retries: u32,
    from_pending: bool,
    close_reason: Option<Reason>,
    read_at: Option<i64>,
}

fn new_invocation(
    n: u32,
    idx: usize,
    b: &BatchArgs,
    end: i64,
    state_in: State,
    flags: u8,
) -> Invocation {
    Invocation {
        n,
        shard: idx as u32,
        window: b.window,
        kind: b.kind,
        attempt: b.attempt,
        start_ms: b.at,
        end_ms: end,
        records: b.range.start as u32..b.range.end as u32,
        reason: b.reason,
        status: Status::Ok,
        is_final: b.kind == Kind::Final,
        is_early: false,
        flags,
        state_in,
        state_out: None,
        measured_us: None,
        extra: None,
    }
}

fn attach(inv: &mut Invocation, invoked: Invoked) {
    inv.measured_us = invoked.measured_us;
    let raw = invoked.result.as_ref().ok().and_then(|r| r.raw.clone());
    let item_failures: Vec<String> = invoked
        .result
        .as_ref()
        .map(|r| {
            r.batch_item_failures
                .iter()
                .filter_map(|f| match f {
                    ItemFailure::Id(s) => Some(s.clone()),
                    ItemFailure::Invalid(_) => None,
                })
                .collect()
        })
        .unwrap_or_default();
    if raw.is_some()
        || !invoked.logs.is_empty()
        || !invoked.writes.is_empty()
        || !item_failures.is_empty()
    {
        inv.extra = Some(Arc::new(Extra {
            error: None,
            raw_response: raw,
            logs: invoked.logs,
            writes: invoked.writes,
            item_failures,
        }));
    }
}

fn set_error(inv: &mut Invocation, error: HandlerError) {
    Arc::make_mut(inv.extra.get_or_insert_with(Default::default)).error = Some(error);
}

fn open_result(idx: usize, open: &Open, status: WindowStatus) -> WindowResult {
    WindowResult {
        shard: idx as u32,
        window: open.window.unwrap_or(Window {
            start_ms: 0,
            end_ms: 0,
        }),
        records: open.records,
        invocations: open.invocations,
        final_state: None,
        final_invocation: None,
        close_reason: None,
        early_terminations: open.early,
        discarded: open.discarded,
        status,
        first_invocation: open.first_n,
    }
}

/// First poll tick at or after `t` for a poller with `phase` and `period`.
pub fn tick_at_or_after(t: i64, phase: i64, period: i64) -> i64 {
    let k = (t - phase).div_euclid(period);
    let tick = phase + k * period;
    if tick >= t { tick } else { tick + period }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_round_up() {
        assert_eq!(tick_at_or_after(1000, 0, 1000), 1000);
        assert_eq!(tick_at_or_after(1001, 0, 1000), 2000);
        assert_eq!(tick_at_or_after(1001, 250, 1000), 1250);
        assert_eq!(tick_at_or_after(-1, 0, 1000), 0);
    }
}
