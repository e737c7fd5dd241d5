//! The invocation table's rows: every invocation, filtered and sorted by a column.

use std::sync::atomic::{AtomicBool, Ordering};

use super::CANCEL_EVERY;
use crate::sim::trace::{Invocation, Kind, Status, Trace};

/// A column of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Column {
    /// Processing order.
    #[default]
    Number,
    /// Aggregate, final, early termination.
    Kind,
    /// Succeeded, partial, failed.
    Status,
    /// Shard.
    Shard,
    /// Window start.
    Window,
    /// Attempt.
    Attempt,
    /// Records carried.
    Records,
    /// Returned state's JSON size (the input state's when none was returned).
    StateBytes,
    /// Duration: measured for user handlers, modelled otherwise.
    Duration,
}

impl Column {
    /// Every column, in the table's order.
    pub const ALL: [Column; 9] = [
        Self::Number,
        Self::Kind,
        Self::Status,
        Self::Shard,
        Self::Window,
        Self::Attempt,
        Self::Records,
        Self::StateBytes,
        Self::Duration,
    ];

    /// Header text.
    pub fn title(self) -> &'static str {
        match self {
            Self::Number => "#",
            Self::Kind => "kind",
            Self::Status => "status",
            Self::Shard => "shard",
            Self::Window => "window",
            Self::Attempt => "attempt",
            Self::Records => "records",
            Self::StateBytes => "state bytes",
            Self::Duration => "duration ms",
        }
    }
}

/// Which rows, in which order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TableQuery {
    /// Only this kind.
    pub kind: Option<Kind>,
    /// Only this status.
    pub status: Option<Status>,
    /// Only this shard.
    pub shard: Option<u32>,
    /// Only retries (attempt above 1).
    pub retries_only: bool,
    /// Sort column.
    pub sort: Column,
    /// Largest first.
    pub descending: bool,
}

/// State size shown for an invocation.
pub fn state_bytes(inv: &Invocation) -> usize {
    inv.state_out.as_ref().unwrap_or(&inv.state_in).json_len()
}

/// Duration shown for an invocation, ms.
pub fn duration_ms(inv: &Invocation) -> f64 {
    inv.measured_us()
        .map_or((inv.end_ms - inv.start_ms) as f64, |us| us as f64 / 1000.0)
}

/// The rows (invocation indices) `q` selects, in its order; ties keep processing order, so
/// the table reads the same each time. `None` when cancelled.
pub fn rows(trace: &Trace, q: &TableQuery, cancel: &AtomicBool) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    for (k, inv) in trace.invocations.iter().enumerate() {
        if k % CANCEL_EVERY == 0 && cancel.load(Ordering::Relaxed) {
            return None;
        }
        let keep = q.kind.is_none_or(|x| x == inv.kind)
            && q.status.is_none_or(|x| x == inv.status)
            && q.shard.is_none_or(|x| x == inv.shard)
            && (!q.retries_only || inv.attempt > 1);
        if keep {
            out.push(k as u32);
        }
    }
    let invs = &trace.invocations;
    let at = |k: &u32| &invs[*k as usize];
    match q.sort {
        Column::Number => {}
        Column::Kind => out.sort_by_key(|k| at(k).kind as u8),
        Column::Status => out.sort_by_key(|k| at(k).status as u8),
        Column::Shard => out.sort_by_key(|k| at(k).shard),
        Column::Window => out.sort_by_key(|k| (at(k).window().map(|w| w.start_ms), at(k).shard)),
        Column::Attempt => out.sort_by_key(|k| at(k).attempt),
        Column::Records => out.sort_by_key(|k| at(k).records.len()),
        Column::StateBytes => out.sort_by_cached_key(|k| state_bytes(at(k))),
        Column::Duration => out.sort_by(|a, b| duration_ms(at(a)).total_cmp(&duration_ms(at(b)))),
    }
    if q.descending {
        // Reversing a stable sort would reverse ties too; keep ties in processing order.
        reverse_keeping_ties(&mut out, |a, b| same(q.sort, at(a), at(b)));
    }
    Some(out)
}

/// Whether two invocations tie on `col`.
fn same(col: Column, a: &Invocation, b: &Invocation) -> bool {
    match col {
        Column::Number => false,
        Column::Kind => a.kind == b.kind,
        Column::Status => a.status == b.status,
        Column::Shard => a.shard == b.shard,
        Column::Window => {
            (a.window().map(|w| w.start_ms), a.shard) == (b.window().map(|w| w.start_ms), b.shard)
        }
        Column::Attempt => a.attempt == b.attempt,
        Column::Records => a.records.len() == b.records.len(),
        Column::StateBytes => state_bytes(a) == state_bytes(b),
        Column::Duration => duration_ms(a) == duration_ms(b),
    }
}

/// Reverses the order of runs of ties, keeping each run's inner order.
fn reverse_keeping_ties(v: &mut Vec<u32>, tie: impl Fn(&u32, &u32) -> bool) {
    let mut runs: Vec<&[u32]> = Vec::new();
    let mut start = 0;
    for i in 1..=v.len() {
        if i == v.len() || !tie(&v[i - 1], &v[i]) {
            runs.push(&v[start..i]);
            start = i;
        }
    }
    let out: Vec<u32> = runs.into_iter().rev().flatten().copied().collect();
    *v = out;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descending_keeps_ties_in_processing_order() {
        let mut v = vec![1, 2, 3, 4, 5];
        reverse_keeping_ties(&mut v, |a, b| a / 2 == b / 2);
        assert_eq!(v, [4, 5, 2, 3, 1]);
    }
}
