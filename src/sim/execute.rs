//! Execution: invoking the handler for a planned action, then retries, bisection, discards,
//! stalls, state and closing windows, as the trace records them.

use std::ops::Range;
use std::sync::Arc;

use super::engine::{Engine, MAX_STATE_BYTES};
use super::plan::{Action, BatchArgs};
use super::response::Outcome;
use super::shard::{Open, Pending, PendingClose};
use crate::handlers::{Handler, HandlerError, Invoked, ItemFailure, Request};
use crate::model::Window;
use crate::model::state::State;
use crate::sim::trace::{
    Discard, Extra, Invocation, Kind, Reason, Stall, Status, WindowResult, WindowStatus, flags,
};

impl Engine<'_> {
    // ------------------------------------------------------------------------
    // Execution.

    pub(super) fn execute(&mut self, idx: usize, action: Action, handler: &mut dyn Handler) {
        match action {
            Action::Batch(b) => self.execute_batch(idx, b, handler),
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

    pub(super) fn execute_batch(&mut self, idx: usize, b: BatchArgs, handler: &mut dyn Handler) {
        self.note_read(idx, b.read_at);
        let n = self.next_n();
        let Some((state_in, extra_flags)) = self.take_batch(idx, &b, n) else {
            return;
        };
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
            Outcome::Success(state) => self.batch_succeeded(idx, &b, inv, state, state_in, end),
            Outcome::Partial {
                first_failed,
                state,
            } => self.batch_partly_failed(idx, &b, inv, first_failed, state, end),
            Outcome::Failure(error) => self.batch_failed(idx, &b, inv, error, end),
        }
    }

    /// Moves the shard to the batch: its records are read (unless re-delivered), the window
    /// opens if none is. Returns the input state and warning flags, or `None` without a window.
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
        if b.kind == Kind::Aggregate {
            self.trace.records_delivered += b.range.len() as u64;
        }
        if state.is_none() && is_final {
            inv.flags |= flags::FINAL_WITHOUT_STATE;
        }
        inv.state_out = state.clone();
        let n = inv.n;
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

    /// After a failure: retry later, discard (retries or record age exhausted), or stall.
    pub(super) fn retry_or_give_up(
        &mut self,
        idx: usize,
        n: u32,
        range: Range<usize>,
        b: &BatchArgs,
        reason: Reason,
    ) {
        let retries = b.retries + 1;
        let now = self.shards[idx].now;
        if b.kind == Kind::Aggregate
            && let Some(condition) = self.discard_condition(&range, retries, now)
        {
            self.discard(idx, n, &range, b.attempt, condition, now);
            return;
        }
        if let Some(why) = self.stop_reason(idx, &range, b) {
            self.stall(idx, n, why, range.len() as u32);
            return;
        }
        let backoff = self.settings.backoff_ms(retries);
        self.shards[idx].pending.push_front(Pending {
            range,
            attempt: b.attempt + 1,
            retries,
            not_before: now + backoff,
            reason,
            kind: b.kind,
        });
    }

    /// Why AWS discards a failed batch now, if it does: retries used up, or its oldest record
    /// past MaximumRecordAgeInSeconds.
    fn discard_condition(
        &self,
        range: &Range<usize>,
        retries: u32,
        now: i64,
    ) -> Option<&'static str> {
        let s = self.settings;
        let oldest = range
            .clone()
            .map(|i| self.stream.ts_ms[i])
            .min()
            .unwrap_or(now);
        let exhausted = s.max_retry_attempts >= 0 && retries > s.max_retry_attempts as u32;
        let too_old =
            s.max_record_age_s >= 0 && now - oldest > i64::from(s.max_record_age_s) * 1000;
        if exhausted {
            Some("RetryAttemptsExhausted")
        } else if too_old {
            Some("RecordAgeExceeded")
        } else {
            None
        }
    }

    fn discard(
        &mut self,
        idx: usize,
        n: u32,
        range: &Range<usize>,
        attempts: u32,
        condition: &'static str,
        now: i64,
    ) {
        self.trace.discards.push(Discard {
            shard: idx as u32,
            records: range.start as u32..range.end as u32,
            at_ms: now,
            condition,
            invocation: n,
            attempts,
        });
        if let Some(open) = self.shards[idx].open.as_mut() {
            open.discarded += range.len() as u32;
        }
    }

    /// Where the simulator stops a shard AWS would keep retrying: a batch retried forever past
    /// `stall_after_attempts`, or any batch past the attempt limit.
    fn stop_reason(&self, idx: usize, range: &Range<usize>, b: &BatchArgs) -> Option<String> {
        let s = self.settings;
        let retries_forever = s.max_retry_attempts < 0 && s.max_record_age_s < 0;
        if (retries_forever || b.kind != Kind::Aggregate) && b.attempt >= s.stall_after_attempts {
            return Some(format!(
                "the batch of {} record(s) failed {} times; AWS would retry it {} and block the shard",
                range.len(),
                b.attempt,
                if b.kind == Kind::Aggregate {
                    "until it succeeds or its records expire (MaximumRetryAttempts and MaximumRecordAgeInSeconds are -1)"
                } else {
                    "until it succeeds"
                }
            ));
        }
        if b.attempt >= s.attempt_limit {
            let shard = &self.stream.shards[idx].id;
            return Some(format!(
                "stopped after {} attempts on {shard}: the batch of {} record(s) keeps failing \
                 (simulator limit: attempt limit {}); AWS would go on retrying it until {}",
                b.attempt,
                range.len(),
                s.attempt_limit,
                self.aws_retry_bound()
            ));
        }
        None
    }

    /// What ends AWS's retries of a failing batch under these settings, in words.
    pub(super) fn aws_retry_bound(&self) -> String {
        let age = self.settings.max_record_age_s;
        let retries = self.settings.max_retry_attempts;
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

    pub(super) fn execute_close(
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
        let is_final = kind == Kind::Final || self.settings.early_termination_is_final;
        let is_early = kind == Kind::Early;
        let req = Request {
            stream,
            settings: self.settings,
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
            Ok(state) => self.close_succeeded(idx, inv, state, state_in, kind, reason),
            Err(error) => {
                let retry = PendingClose {
                    kind,
                    reason,
                    attempt: attempt + 1,
                    not_before: end + self.settings.backoff_ms(attempt),
                };
                self.close_failed(idx, inv, error, retry);
            }
        }
    }

    fn close_succeeded(
        &mut self,
        idx: usize,
        mut inv: Invocation,
        state: Option<State>,
        state_in: State,
        kind: Kind,
        reason: Reason,
    ) {
        inv.status = Status::Ok;
        if state.is_none() {
            inv.flags |= flags::FINAL_WITHOUT_STATE;
        }
        inv.state_out = state;
        let n = inv.n;
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

    /// A final or early invocation failed: AWS retries it until it succeeds; the simulator
    /// stops the shard after `stall_after_attempts`. `retry` is the next attempt.
    fn close_failed(
        &mut self,
        idx: usize,
        inv: Invocation,
        error: HandlerError,
        retry: PendingClose,
    ) {
        let n = self.push_failed(idx, inv, error);
        let attempt = retry.attempt - 1;
        if attempt >= self.settings.stall_after_attempts {
            let what = if retry.kind == Kind::Final {
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
        self.shards[idx].pending_close = Some(retry);
    }

    pub(super) fn close_window(
        &mut self,
        idx: usize,
        final_n: u32,
        final_state: State,
        reason: Reason,
    ) {
        let sim = &mut self.shards[idx];
        let Some(open) = sim.open.take() else {
            return;
        };
        if self.settings.carry_state_across_windows {
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

    pub(super) fn stall(&mut self, idx: usize, n: u32, reason: String, in_flight: u32) {
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

    pub(super) fn finish(&mut self, handler: &dyn Handler) {
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

    pub(super) fn duration(&self, records: usize, invoked: &Invoked) -> i64 {
        let modelled = self.settings.duration_ms(records);
        if invoked.timed_out {
            modelled.max(i64::from(self.settings.timeout_ms))
        } else {
            modelled
        }
    }
}

pub(super) fn new_invocation(
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

pub(super) fn attach(inv: &mut Invocation, invoked: Invoked) {
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
