//! Two runs side by side: each window's final value in A and in B (the same shard by id and
//! the same window start), which differ, and the first invocation where the runs part.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

use super::CANCEL_EVERY;
use crate::index::{ValuePath, build_series, state_value};
use crate::model::stream::Stream;
use crate::sim::trace::{Invocation, Trace};

/// One window in either run.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowPair {
    /// Shard id.
    pub shard: String,
    /// Window start, epoch ms.
    pub start_ms: i64,
    /// A's final value (`None`: no such window, or no value at the path).
    pub a: Option<f64>,
    /// B's.
    pub b: Option<f64>,
    /// B's final invocation (0-based), to select.
    pub b_final: Option<u32>,
}

impl WindowPair {
    /// Whether A and B disagree here (a window only one run has counts).
    pub fn differs(&self) -> bool {
        match (self.a, self.b) {
            (Some(a), Some(b)) => (a - b).abs() > 1e-9 * a.abs().max(b.abs()).max(1.0),
            (None, None) => false,
            _ => true,
        }
    }
}

/// What a comparison found.
#[derive(Clone, Debug, Default)]
pub struct Comparison {
    /// Every window of either run, by shard id then start.
    pub windows: Vec<WindowPair>,
    /// The first position in processing order where the runs' invocations differ (shard,
    /// window, records, status or returned state): B's index there, if B has one.
    pub parted_at: Option<(usize, Option<u32>)>,
    /// A's running totals for the path, on B's time axis (seconds since B's first instant),
    /// thinned for drawing here rather than on the UI thread (A's full series are not kept).
    pub a_lines: crate::index::Thinned,
}

impl Comparison {
    /// Windows where A and B disagree.
    pub fn differing(&self) -> usize {
        self.windows.iter().filter(|w| w.differs()).count()
    }
}

/// Compares run A with run B (each: stream, trace, first instant); `None` when cancelled.
pub fn compare(
    a: (&Stream, &Trace, i64),
    b: (&Stream, &Trace, i64),
    path: &ValuePath,
    cancel: &AtomicBool,
) -> Option<Comparison> {
    let (a_stream, a_trace, a_t_min) = a;
    let (b_stream, b_trace, b_t_min) = b;
    let mut pairs: BTreeMap<(String, i64), WindowPair> = BTreeMap::new();
    for (stream, trace, is_a) in [(a_stream, a_trace, true), (b_stream, b_trace, false)] {
        for w in &trace.windows {
            let shard = stream.shards[w.shard as usize].id.clone();
            let key = (shard.clone(), w.window.start_ms);
            let pair = pairs.entry(key).or_insert_with(|| WindowPair {
                shard,
                start_ms: w.window.start_ms,
                a: None,
                b: None,
                b_final: None,
            });
            let value = w.final_state.as_ref().and_then(|s| state_value(s, path));
            if is_a {
                pair.a = value;
            } else {
                pair.b = value;
                pair.b_final = w.final_invocation.map(|n| n - 1);
            }
        }
    }
    let parted_at = parted(a_stream, a_trace, b_stream, b_trace, cancel)?;
    let mut a_series = build_series(a_trace, a_stream.shards.len(), a_t_min, path);
    let shift = (a_t_min - b_t_min) as f64 / 1000.0;
    for s in &mut a_series {
        for p in s.in_window.iter_mut().chain(s.across_windows.iter_mut()) {
            p.t_s += shift;
        }
    }
    Some(Comparison {
        windows: pairs.into_values().collect(),
        parted_at,
        a_lines: crate::index::Thinned::of(&a_series),
    })
}

/// The first position where the runs' invocations differ; `Some(None)` when they agree
/// throughout, `None` when cancelled.
fn parted(
    a_stream: &Stream,
    a: &Trace,
    b_stream: &Stream,
    b: &Trace,
    cancel: &AtomicBool,
) -> Option<Option<(usize, Option<u32>)>> {
    let n = a.invocations.len().max(b.invocations.len());
    for k in 0..n {
        if k % CANCEL_EVERY == 0 && cancel.load(Ordering::Relaxed) {
            return None;
        }
        let same = match (a.invocations.get(k), b.invocations.get(k)) {
            (Some(x), Some(y)) => same_invocation(a_stream, x, b_stream, y),
            _ => false,
        };
        if !same {
            let b_k = (k < b.invocations.len()).then_some(k as u32);
            return Some(Some((k, b_k)));
        }
    }
    Some(None)
}

fn same_invocation(sa: &Stream, x: &Invocation, sb: &Stream, y: &Invocation) -> bool {
    sa.shards[x.shard as usize].id == sb.shards[y.shard as usize].id
        && x.kind == y.kind
        && x.status == y.status
        && x.window() == y.window()
        && x.records.len() == y.records.len()
        && x.start_ms == y.start_ms
        && match (&x.state_out, &y.state_out) {
            (Some(p), Some(q)) => p.to_json_string() == q.to_json_string(),
            (None, None) => true,
            _ => false,
        }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_in_one_run_only_differs() {
        let pair = |a, b| WindowPair {
            shard: "s".into(),
            start_ms: 0,
            a,
            b,
            b_final: None,
        };
        assert!(!pair(Some(6.0), Some(6.0)).differs());
        assert!(pair(Some(6.0), Some(7.0)).differs());
        assert!(pair(None, Some(7.0)).differs());
        assert!(!pair(None, None).differs());
    }
}
