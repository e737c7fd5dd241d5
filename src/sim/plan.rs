//! Planning: what a shard does next, and when. Pure with respect to the shard's state: nothing
//! here invokes the handler or changes the trace.

use super::action::{Action, BatchArgs};
use super::engine::Engine;
use super::shard::{Open, ShardSim, tick_at_or_after};
use crate::handlers::event::MAX_PAYLOAD_BYTES;
use crate::model::Window;
use crate::model::settings::{EndOfInput, GraceFrom};
use crate::sim::trace::{Kind, Reason};

impl Engine<'_> {
    // ------------------------------------------------------------------------
    // Planning: what a shard does next, and when. Pure with respect to the shard's state.

    pub(super) fn plan(&mut self, idx: usize) -> Option<i64> {
        let action = self.next_action(idx)?;
        let at = action.at();
        self.shards[idx].planned = Some(action);
        Some(at)
    }

    pub(super) fn next_action(&self, idx: usize) -> Option<Action> {
        let sim = &self.shards[idx];
        if sim.finished || sim.waiting > 0 {
            return None;
        }
        if let Some(p) = sim.pending.front() {
            return Some(self.pending_action(sim, p));
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
            let ts = &self.stream.ts_ms;
            // The first record in sequence of a later window: a filtered-out one too, if that
            // setting says such records close windows.
            let boundary = self
                .filtered_boundary(sim, w.end_ms)
                .or(next.map(|i| ts[i]).filter(|&t| t >= w.end_ms));
            match (boundary, next) {
                (Some(t), _) => {
                    let seen = self.seen_at(sim, sim.max_vis.max(t));
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
                (None, Some(_)) => {}
                (None, None) => {
                    let (at, reason) = match (self.end_read_at(sim), self.settings.end_of_input) {
                        // "When a shard ends, Lambda considers the current window to be
                        // closed" (SEMANTICS §14.2): at once, unless the grace ran out first.
                        (Some(end), _) if end <= grace_at => (end, Reason::ShardEnded),
                        (Some(_), _) => (grace_at, Reason::GraceExpired),
                        (None, EndOfInput::ShardEnd) => (sim.now, Reason::ShardEnded),
                        (None, EndOfInput::Open) => (grace_at, Reason::GraceExpired),
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
        let Some(i) = next else {
            return self.end_read_at(sim).map(|at| Action::End { at });
        };
        Some(self.plan_batch(sim, i))
    }

    /// For a shard closed by resharding, read to its last record: when the poller's read
    /// returns the shard's end (no next iterator), which is the first read at or after the
    /// shard closed.
    fn end_read_at(&self, sim: &ShardSim) -> Option<i64> {
        if sim.cursor < sim.end {
            return None;
        }
        let closed = self.stream.shards[sim.idx].closed_ms?;
        Some(self.seen_at(sim, closed.max(sim.max_vis)))
    }

    /// With `filtered_records_close_windows`: the arrival time of a filtered-out record of a
    /// window ending after `w_end`... that sits right before the shard's next delivered record
    /// (the poller reads it first), if there is one.
    fn filtered_boundary(&self, sim: &ShardSim, w_end: i64) -> Option<i64> {
        if !self.settings.filtered_records_close_windows {
            return None;
        }
        let marks = &self.stream.filtered_marks;
        let at = (sim.idx as u32, sim.cursor as u32);
        let from = marks.partition_point(|m| (m.0, m.1) < at);
        marks[from..]
            .iter()
            .take_while(|m| (m.0, m.1) == at)
            .map(|m| m.2)
            .find(|&t| t >= w_end)
    }

    /// A batch waiting to be sent again: sent, or discarded when it aged out meanwhile.
    fn pending_action(&self, sim: &ShardSim, p: &super::shard::Pending) -> Action {
        let at = sim.now.max(p.not_before);
        if let Some(retention) = self.batch_too_old(p.range.clone(), at) {
            return Action::Expire {
                at,
                range: p.range.clone(),
                retention,
                from_pending: true,
                attempts: p.attempt - 1,
                read_at: None,
            };
        }
        Action::Batch(BatchArgs {
            at,
            range: p.range.clone(),
            window: sim.open.as_ref().and_then(|o| o.window),
            reason: p.reason,
            kind: p.kind,
            attempt: p.attempt,
            retries: p.retries,
            from_pending: true,
            close_reason: None,
            read_at: None,
        })
    }

    /// The run of records from `first` already older than MaximumRecordAgeInSeconds when the
    /// poller reads them. Per record, in sequence order: when AWS checks the age (per record or
    /// per batch, against which clock) is not documented (SEMANTICS §14.9 Q2), so this is a
    /// modelling choice.
    #[inline]
    fn plan_expiry(&self, sim: &ShardSim, first: usize, at: i64) -> Option<Action> {
        let (end, retention) = self.too_old(first..sim.end, at)?;
        Some(Action::Expire {
            at,
            range: first..end,
            retention,
            from_pending: false,
            attempts: 0,
            read_at: (at > sim.visible_upto).then_some(at),
        })
    }

    /// Arrival times before these are past the retention, and past the maximum record age,
    /// at `at`.
    fn age_limits(&self, at: i64) -> (i64, Option<i64>) {
        let age = self.settings.max_record_age_s;
        let retention = at.saturating_sub(self.settings.retention_ms());
        (retention, (age >= 0).then(|| at - i64::from(age) * 1000))
    }

    /// The end of the leading run of `range` past the retention, or else past the maximum
    /// record age, at `at`, when that run is not empty; and whether it is the retention.
    #[inline]
    fn too_old(&self, range: std::ops::Range<usize>, at: i64) -> Option<(usize, bool)> {
        let (retention, age) = self.age_limits(at);
        let ts = &self.stream.ts_ms[range.clone()];
        // The common case: the first record is young enough for both limits.
        let first = *ts.first()?;
        if first >= retention && age.is_none_or(|a| first >= a) {
            return None;
        }
        let run = |limit: i64| ts.iter().take_while(|&&t| t < limit).count();
        let trimmed = run(retention);
        if trimmed > 0 {
            return Some((range.start + trimmed, true));
        }
        let old = run(age?);
        (old > 0).then_some((range.start + old, false))
    }

    /// A batch waiting to be sent again goes whole: AWS discards batches, and its oldest record
    /// decides, as after a failure. `Some(true)`: past the retention.
    fn batch_too_old(&self, range: std::ops::Range<usize>, at: i64) -> Option<bool> {
        let oldest = *self.stream.ts_ms[range].iter().min()?;
        let (retention, age) = self.age_limits(at);
        if oldest < retention {
            Some(true)
        } else {
            age.is_some_and(|limit| oldest < limit).then_some(false)
        }
    }

    /// When the poller, now at `sim.now`, first has a record visible from `vis_ms`: at once when
    /// the last read returned it; else at the next read, which is as soon as the shard's read
    /// limit allows while catching up, or the next base-rate poll when idle.
    pub(super) fn seen_at(&self, sim: &ShardSim, vis_ms: i64) -> i64 {
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

    pub(super) fn grace_at(&self, sim: &ShardSim, open: &Open, w: Window) -> i64 {
        let grace = i64::from(self.settings.close_grace_s) * 1000;
        let deadline = match self.settings.grace_from {
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
    pub(super) fn window_for(&self, sim: &ShardSim, i: usize) -> Option<Window> {
        let len = self.window_ms?;
        let natural = Window::containing(self.stream.ts_ms[i], len);
        Some(match sim.last_window {
            Some(last) if natural.start_ms < last.start_ms => last,
            _ => natural,
        })
    }

    pub(super) fn plan_batch(&self, sim: &ShardSim, first: usize) -> Action {
        let ts = &self.stream.ts_ms;
        let window = self.window_for(sim, first);
        let w_end = window.map_or(i64::MAX, |w| w.end_ms);
        let first_vis = sim.max_vis.max(ts[first]);
        let in_buffer = first_vis <= sim.visible_upto;
        let t0 = self.seen_at(sim, first_vis);
        if let Some(expire) = self.plan_expiry(sim, first, t0) {
            return expire;
        }
        // Only payload sizing reads the state's length (rendering a number costs more than the
        // rest of a small batch's plan).
        let state_len = match (&sim.open, window) {
            _ if self.sizer.is_none() => 2,
            (Some(o), Some(_)) => o.state.json_len(),
            _ if self.settings.carry_state_across_windows => sim.carried.json_len(),
            _ => 2,
        };
        let at = if self.batching_ms != 0 {
            self.send_time(sim, first, w_end, t0, state_len)
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
        let (j, vis, payload_full) = self.take_visible(sim, first, bound, w_end, state_len);
        let boundary_seen = j < sim.end && ts[j] >= w_end && vis.max(ts[j]) <= bound;
        let closed_by = self.stream.shards[sim.idx]
            .closed_ms
            .is_some_and(|c| c <= bound);
        let shard_ends =
            j == sim.end && (closed_by || self.settings.end_of_input == EndOfInput::ShardEnd);
        let reason = if payload_full {
            Reason::PayloadLimit
        } else if j - first == self.settings.batch_size as usize {
            Reason::BatchSize
        } else if boundary_seen {
            Reason::WindowBoundary
        } else if shard_ends {
            Reason::ShardEnd
        } else if self.batching_ms > 0 {
            Reason::BatchingWindow
        } else {
            Reason::CaughtUp
        };
        // Modelling choice Q1: the final invocation carries the window's last batch.
        let closes_after = window.is_some() && (boundary_seen || shard_ends);
        let (kind, close_reason) = if self.settings.final_includes_tail_records && closes_after {
            let why = if boundary_seen {
                Reason::NextWindowRecord
            } else {
                Reason::ShardEnded
            };
            (Kind::Final, Some(why))
        } else {
            (Kind::Aggregate, None)
        };
        Action::Batch(BatchArgs {
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
        })
    }

    /// With a batching window, when Lambda sends: the batch fills, the payload fills, a
    /// later-window record shows up, or the batching window expires, whichever comes first.
    #[inline]
    fn send_time(
        &self,
        sim: &ShardSim,
        first: usize,
        w_end: i64,
        t0: i64,
        state_len: usize,
    ) -> i64 {
        let stream = self.stream;
        let ts = &stream.ts_ms;
        let batch_size = self.settings.batch_size as usize;
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
                size += record_cost(sizer, stream, sim.idx, j);
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
    }

    /// The batch from `first`: records visible by `bound`, in the same window, at most
    /// BatchSize, within 6 MB. Returns its end, the latest timestamp in it, and whether the
    /// payload limit cut it.
    #[inline]
    fn take_visible(
        &self,
        sim: &ShardSim,
        first: usize,
        bound: i64,
        w_end: i64,
        state_len: usize,
    ) -> (usize, i64, bool) {
        let stream = self.stream;
        let ts = &stream.ts_ms;
        let limit = sim.end.min(first + self.settings.batch_size as usize);
        let mut j = first;
        let mut vis = sim.max_vis;
        if self.sizer.is_none() && !self.has_backwards {
            // Fast path: no sizing, timestamps non-decreasing.
            while j < limit && ts[j] <= bound && ts[j] < w_end {
                j += 1;
            }
            if j > first {
                vis = vis.max(ts[j - 1]);
            }
            return (j, vis, false);
        }
        let mut size = 0usize;
        while j < limit {
            let v = vis.max(ts[j]);
            if v > bound || ts[j] >= w_end {
                break;
            }
            if let Some(sizer) = &self.sizer {
                let rec = record_cost(sizer, stream, sim.idx, j);
                if j > first
                    && sizer.event_len(sim.idx, j - first + 1, size + rec, state_len)
                        > MAX_PAYLOAD_BYTES
                {
                    return (j, vis, true);
                }
                size += rec;
            }
            vis = v;
            j += 1;
        }
        (j, vis, false)
    }
}

/// What record `j` adds to a batch's event: its JSON (`Sizer::event_len` adds the commas
/// between records). One function for deciding when to send (batching window) and what to
/// send, so the two agree.
#[inline]
fn record_cost(
    sizer: &crate::handlers::event::Sizer,
    stream: &crate::model::stream::Stream,
    shard: usize,
    j: usize,
) -> usize {
    sizer.record_len(stream, shard, j)
}
