//! A shard's poller between invocations: the open window, batches waiting to be delivered
//! again, a pending final or early invocation, and how far the shard has read.

use std::collections::VecDeque;
use std::ops::Range;

use super::action::Action;
use crate::model::Window;
use crate::model::state::State;
use crate::sim::trace::{Kind, Reason};

/// A window being aggregated on a shard.
#[derive(Clone, Debug)]
pub(super) struct Open {
    pub(super) window: Option<Window>,
    pub(super) state: State,
    pub(super) last_seen_ms: i64,
    pub(super) records: u32,
    pub(super) invocations: u32,
    pub(super) early: u32,
    pub(super) discarded: u32,
    pub(super) first_n: u32,
}

/// A batch to deliver again (retry, bisected half, re-delivery after item failures).
#[derive(Clone, Debug)]
pub(super) struct Pending {
    pub(super) range: Range<usize>,
    pub(super) attempt: u32,
    pub(super) retries: u32,
    pub(super) not_before: i64,
    pub(super) reason: Reason,
    pub(super) kind: Kind,
}

/// A final or early invocation waiting to be (re)sent.
#[derive(Clone, Copy, Debug)]
pub(super) struct PendingClose {
    pub(super) kind: Kind,
    pub(super) reason: Reason,
    pub(super) attempt: u32,
    pub(super) not_before: i64,
}

pub(super) struct ShardSim {
    pub(super) idx: usize,
    pub(super) end: usize,
    pub(super) cursor: usize,
    /// Largest timestamp read so far (records become visible in sequence order, never before an
    /// earlier record).
    pub(super) max_vis: i64,
    /// Records with timestamps up to this were returned by the last read (GetRecords).
    pub(super) visible_upto: i64,
    /// The last read returned records, so Lambda reads again as soon as the shard's read limit
    /// allows instead of waiting for the next base-rate poll.
    pub(super) catching_up: bool,
    pub(super) now: i64,
    pub(super) idle_since: i64,
    pub(super) phase: i64,
    pub(super) open: Option<Open>,
    pub(super) last_window: Option<Window>,
    pub(super) carried: State,
    pub(super) pending: VecDeque<Pending>,
    pub(super) pending_close: Option<PendingClose>,
    pub(super) planned: Option<Action>,
    pub(super) finished: bool,
    /// Index in the trace of this shard's latest failed attempt, while it keeps failing.
    pub(super) last_failed: Option<usize>,
    /// Parent shards not yet read to their end: the shard waits for them.
    pub(super) waiting: u32,
    /// When the last parent so far ended.
    pub(super) parents_done_ms: i64,
    /// Invocations of this shard so far (each request's `shard_n` is one more).
    pub(super) invoked: u32,
}

impl ShardSim {
    /// The next invocation's `shard_n`, counted as made.
    pub(super) fn next_shard_n(&mut self) -> u32 {
        self.invoked += 1;
        self.invoked
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
