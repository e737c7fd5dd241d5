//! Closing windows: the final and early-termination invocations, their retries, and the shard
//! stopping when one keeps failing.

use super::action::BatchArgs;
use super::engine::Engine;
use super::execute::{attach, new_invocation, open_result};
use super::response::Outcome;
use super::shard::PendingClose;
use crate::handlers::{Handler, HandlerError, Request};
use crate::model::state::State;
use crate::sim::trace::{Invocation, Kind, Reason, Stall, Status, WindowStatus, flags};

impl Engine<'_> {
    pub(super) fn execute_close<H: Handler + ?Sized>(
        &mut self,
        idx: usize,
        at: i64,
        kind: Kind,
        reason: Reason,
        attempt: u32,
        handler: &mut H,
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
        let shard_n = sim.next_shard_n();
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
            shard_n,
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
        let mut inv = new_invocation((n, shard_n), idx, &b, end, (state_in.clone(), None), 0);
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
        let mut result = open_result(idx, &open, WindowStatus::Closed);
        result.final_state = Some(final_state);
        result.final_invocation = Some(final_n);
        result.close_reason = Some(reason);
        self.trace.windows.push(result);
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
}
