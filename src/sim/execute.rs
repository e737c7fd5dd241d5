//! Execution: invoking the handler for a planned action, then retries, bisection, discards,
//! stalls, state and closing windows, as the trace records them.

use std::sync::Arc;

use super::action::{Action, BatchArgs};
use super::engine::{Engine, MAX_STATE_BYTES};
use super::response::Outcome;
use super::shard::{Open, Pending, PendingClose, tick_at_or_after};
use crate::handlers::{Handler, HandlerError, Invoked, ItemFailure, Request};
use crate::model::Window;
use crate::model::state::State;
use crate::sim::trace::{
    Extra, Invocation, Kind, Reason, Status, WindowResult, WindowStatus, flags,
};

impl Engine<'_> {
    // ------------------------------------------------------------------------
    // Execution.

    pub(super) fn execute<H: Handler + ?Sized>(
        &mut self,
        idx: usize,
        action: &Action,
        handler: &mut H,
    ) {
        match *action {
            Action::Batch(ref b) => self.execute_batch(idx, b, handler),
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
            Action::Expire {
                at,
                ref range,
                retention,
                from_pending,
                attempts,
                read_at,
            } => {
                self.note_read(idx, read_at);
                self.expire(idx, at, range.clone(), retention, from_pending, attempts);
            }
            Action::End { at } => self.end_shard(idx, at),
        }
    }

    /// A closed shard's end was read: it is done, and each child whose parents are all done
    /// starts polling at the next tick (parents before children, SEMANTICS §14.2).
    fn end_shard(&mut self, idx: usize, at: i64) {
        let sim = &mut self.shards[idx];
        sim.now = sim.now.max(at);
        sim.finished = true;
        self.trace.shard_ends.push((idx as u32, at));
        for c in self.children[idx].clone() {
            let child = &mut self.shards[c];
            child.waiting -= 1;
            child.parents_done_ms = child.parents_done_ms.max(at);
            if child.waiting == 0 {
                let from = tick_at_or_after(child.parents_done_ms, child.phase, self.poll_ms);
                child.now = child.now.max(from);
                child.idle_since = child.now;
                self.woken.push(c);
            }
        }
    }

    /// Records too old to send: discarded without an invocation (to the on-failure
    /// destination), or, unread and past the retention, gone; the shard moves past them.
    fn expire(
        &mut self,
        idx: usize,
        at: i64,
        range: std::ops::Range<usize>,
        retention: bool,
        from_pending: bool,
        attempts: u32,
    ) {
        let stream = self.stream;
        let last = self.shards[idx]
            .last_failed
            .map_or(0, |k| self.trace.invocations[k].n);
        let sim = &mut self.shards[idx];
        sim.now = at;
        if from_pending {
            sim.pending.pop_front();
            sim.last_failed = None;
        } else {
            sim.cursor = range.end;
            if let Some(t) = stream.ts_ms[range.clone()].iter().max() {
                sim.max_vis = sim.max_vis.max(*t);
            }
        }
        if retention && !from_pending {
            self.trace.unread.push(crate::sim::trace::Unread {
                shard: idx as u32,
                records: range.start as u32..range.end as u32,
                reason: crate::model::position::NotRead::TrimmedByRetention,
                at_ms: at,
            });
            return;
        }
        let invocation = if from_pending { last } else { 0 };
        // Neither condition is documented (AWS names only RetryAttemptsExhausted): modelling
        // choices, in the README's table.
        let condition = if retention {
            "RecordExpired"
        } else {
            "RecordAgeExceeded"
        };
        self.discard(idx, invocation, &range, attempts, condition, at);
    }

    pub(super) fn note_read(&mut self, idx: usize, read_at: Option<i64>) {
        if let Some(r) = read_at {
            let sim = &mut self.shards[idx];
            sim.visible_upto = sim.visible_upto.max(r);
            sim.catching_up = true;
        }
    }

    pub(super) fn next_n(&self) -> u32 {
        self.trace.invocations.len() as u32 + 1
    }

    pub(super) fn execute_batch<H: Handler + ?Sized>(
        &mut self,
        idx: usize,
        b: &BatchArgs,
        handler: &mut H,
    ) {
        self.note_read(idx, b.read_at);
        let n = self.next_n();
        let Some((state_in, extra_flags)) = self.take_batch(idx, b, n) else {
            return;
        };
        let shard_n = self.shards[idx].next_shard_n();
        let req = Request {
            stream: self.stream,
            settings: self.settings,
            shard: idx,
            records: b.range.clone(),
            window: b.window,
            state: &state_in,
            is_final: b.kind == Kind::Final,
            is_early: false,
            n,
            shard_n,
            attempt: b.attempt,
            at_ms: b.at,
        };
        if let Some((state, deferred)) = handler.returned_state(&req) {
            // What `invoke` would have answered, with nothing else in it: the general path's
            // reading of it, without building one.
            let end = b.at + self.settings.duration_ms(b.range.len());
            if !self.advance_to(idx, end) {
                return;
            }
            let mut flags = extra_flags;
            if deferred {
                flags |= flags::DEFERRED_WRITE;
            }
            // Built where it is stored, whole: filled in on the stack and then copied, its
            // freshly written small fields were read back wide, which stalled the core on
            // every invocation of a sparse run.
            self.trace.invocations.push(new_invocation(
                (n, shard_n),
                idx,
                b,
                end,
                (state_in.clone(), Some(state.clone())),
                flags,
            ));
            return self.succeeded(idx, b, n, Some(state), state_in, end);
        }
        let invoked = handler.invoke(&req);
        let duration = self.duration(b.range.len(), &invoked);
        let end = b.at + duration;
        let outcome = self.evaluate(&invoked, b.kind, b.window.is_some(), &b.range);
        let Some(mut inv) = self.invoked(idx, (n, shard_n), b, end, &state_in, extra_flags) else {
            return;
        };
        attach(&mut inv, invoked);
        match outcome {
            Outcome::Success(state) => self.batch_succeeded(idx, b, inv, state, state_in, end),
            Outcome::Partial {
                first_failed,
                state,
            } => self.batch_partly_failed(idx, b, inv, first_failed, state, end),
            Outcome::Failure(error) => self.batch_failed(idx, b, inv, error, end),
        }
    }

    /// The shard after an attempt that ended at `end`; false without an open window.
    #[inline]
    fn advance_to(&mut self, idx: usize, end: i64) -> bool {
        let sim = &mut self.shards[idx];
        sim.now = end;
        sim.idle_since = end;
        match sim.open.as_mut() {
            Some(open) => {
                open.invocations += 1;
                true
            }
            None => false,
        }
    }

    /// The shard after an attempt that ended at `end`, and the attempt's invocation (`None`
    /// without an open window).
    #[inline]
    fn invoked(
        &mut self,
        idx: usize,
        numbers: (u32, u32),
        b: &BatchArgs,
        end: i64,
        state_in: &State,
        extra_flags: u8,
    ) -> Option<Invocation> {
        if !self.advance_to(idx, end) {
            return None;
        }
        Some(new_invocation(
            numbers,
            idx,
            b,
            end,
            (state_in.clone(), None),
            extra_flags,
        ))
    }

    /// Moves the shard to the batch: its records are read (unless re-delivered), the window
    /// opens if none is. Returns the input state and warning flags, or `None` without a window.
    #[inline]
    fn take_batch(&mut self, idx: usize, b: &BatchArgs, n: u32) -> Option<(State, u8)> {
        let stream = self.stream;
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
            let carried = self.settings.carry_state_across_windows && b.window.is_some();
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
        let open = sim.open.as_mut()?;
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
        Some((state_in, extra_flags))
    }

    #[inline]
    fn batch_succeeded(
        &mut self,
        idx: usize,
        b: &BatchArgs,
        mut inv: Invocation,
        state: Option<State>,
        state_in: State,
        end: i64,
    ) {
        let is_final = b.kind == Kind::Final;
        inv.status = Status::Ok;
        if state.is_none() && is_final {
            inv.flags |= flags::FINAL_WITHOUT_STATE;
        }
        inv.state_out = state.clone();
        let n = inv.n;
        self.trace.invocations.push(inv);
        self.succeeded(idx, b, n, state, state_in, end);
    }

    /// After a successful attempt `n` is in the trace: its records are delivered, and the
    /// window takes the returned state or closes.
    #[inline]
    fn succeeded(
        &mut self,
        idx: usize,
        b: &BatchArgs,
        n: u32,
        state: Option<State>,
        state_in: State,
        end: i64,
    ) {
        if matches!(b.kind, Kind::Aggregate | Kind::Final) {
            self.trace.records_delivered += b.range.len() as u64;
        }
        if b.kind == Kind::Final {
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

    fn batch_partly_failed(
        &mut self,
        idx: usize,
        b: &BatchArgs,
        mut inv: Invocation,
        first_failed: usize,
        state: State,
        end: i64,
    ) {
        inv.status = Status::Partial;
        inv.state_out = Some(state.clone());
        let n = inv.n;
        self.trace.invocations.push(inv);
        self.trace.records_delivered += (first_failed - b.range.start) as u64;
        if b.window.is_some() && !self.settings.discard_state_on_partial_failure {
            self.set_state(idx, state, end);
        }
        let rest = first_failed..b.range.end;
        self.retry_or_give_up(idx, n, rest, b, Reason::PartialRetry);
    }

    fn batch_failed(
        &mut self,
        idx: usize,
        b: &BatchArgs,
        inv: Invocation,
        error: HandlerError,
        end: i64,
    ) {
        let n = self.push_failed(idx, inv, error);
        if self.settings.bisect_on_error && b.range.len() > 1 && b.kind == Kind::Aggregate {
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
            self.retry_or_give_up(idx, n, b.range.clone(), b, Reason::Retry);
        }
    }

    /// Records a failed attempt. One that failed exactly like the shard's previous attempt (same
    /// records, error, logs and response) shares that attempt's details instead of a copy.
    pub(super) fn push_failed(
        &mut self,
        idx: usize,
        mut inv: Invocation,
        error: HandlerError,
    ) -> u32 {
        inv.status = Status::Failed;
        set_error(&mut inv, error);
        let n = inv.n;
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
        n
    }

    pub(super) fn set_state(&mut self, idx: usize, state: State, now: i64) {
        let sim = &mut self.shards[idx];
        let Some(open) = sim.open.as_mut() else {
            return;
        };
        let too_large = state.may_exceed(MAX_STATE_BYTES);
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

    pub(super) fn finish<H: Handler + ?Sized>(&mut self, handler: &H) {
        let windowed = self.window_ms.is_some();
        for idx in self.owned.clone() {
            let sim = &mut self.shards[idx];
            if sim.waiting > 0 && sim.cursor < sim.end && !self.trace.cancelled {
                self.trace.unread.push(crate::sim::trace::Unread {
                    shard: idx as u32,
                    records: sim.cursor as u32..sim.end as u32,
                    reason: crate::model::position::NotRead::ParentNotEnded,
                    at_ms: sim.now,
                });
            }
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
        // No two windows share a first invocation, so the keys are distinct and the unstable
        // sort's order is the stable one's; it sorts in place, where the stable one takes a
        // scratch copy of half a big run's windows in fresh memory.
        self.trace
            .windows
            .sort_unstable_by_key(|w| (w.shard, w.window.start_ms, w.first_invocation));
        self.trace.warnings = handler.warnings();
    }

    pub(super) fn duration(&self, records: usize, invoked: &Invoked) -> i64 {
        let mut modelled = self.settings.duration_ms(records);
        if invoked.cold_start {
            modelled += i64::from(self.settings.init_duration_ms);
        }
        if invoked.timed_out {
            modelled.max(i64::from(self.settings.timeout_ms))
        } else {
            modelled
        }
    }
}

pub(super) fn new_invocation(
    (n, shard_n): (u32, u32),
    idx: usize,
    b: &BatchArgs,
    end: i64,
    (state_in, state_out): (State, Option<State>),
    flags: u8,
) -> Invocation {
    let (window_start_ms, window_len_ms) = crate::sim::trace::window_parts(b.window);
    Invocation {
        n,
        shard: idx as u32,
        shard_n,
        window_start_ms,
        window_len_ms,
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
        state_out,
        measured: None,
        extra: None,
    }
}

pub(super) fn attach(inv: &mut Invocation, invoked: Invoked) {
    inv.set_measured_us(invoked.measured_us);
    if invoked.cold_start {
        inv.flags |= crate::sim::trace::flags::COLD_START;
    }
    if invoked.table_read {
        inv.flags |= crate::sim::trace::flags::READ_TABLE;
    }
    if invoked.deferred_write {
        inv.flags |= crate::sim::trace::flags::DEFERRED_WRITE;
    }
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
        || invoked.environment.is_some()
    {
        inv.extra = Some(Arc::new(Extra {
            error: None,
            raw_response: raw,
            logs: invoked.logs,
            writes: invoked.writes,
            item_failures,
            environment: invoked.environment,
        }));
    }
}

pub(super) fn set_error(inv: &mut Invocation, error: HandlerError) {
    Arc::make_mut(inv.extra.get_or_insert_with(Default::default)).error = Some(error);
}

pub(super) fn open_result(idx: usize, open: &Open, status: WindowStatus) -> WindowResult {
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
