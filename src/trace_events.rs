//! A run as Chrome Trace Event JSON (`--trace-out`, File → Export → Perfetto trace), which
//! Perfetto UI and chrome://tracing open: a process per shard, a thread per execution
//! environment (user handlers) or one "invocations" thread, each invocation a complete slice
//! (`"ph": "X"`) at its modelled time with what it carried as arguments. Retries and failures
//! are marked (their category, and an instant event for each retry); a shard's end is an
//! instant event on its process.
//!
//! Times are microseconds from the first invocation's start, so the viewer opens at zero; the
//! epoch instant of zero is in `otherData.originEpochMs`. Slices on one thread never overlap:
//! invocations that would (parallel batches of one shard) go to a second lane of that thread.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::model::iso_millis as time_text;
use crate::model::stream::Stream;
use crate::sim::Trace;
use crate::sim::trace::{Invocation, Status};

/// Threads of one process: (environment) → lanes, each lane's last end (µs).
type Lanes = BTreeMap<Option<u32>, Vec<i64>>;

/// The first lane free at `start` (a new one when none is), now busy until `start + dur`.
/// One shard's invocations never overlap today (ParallelizationFactor 1); lanes keep the
/// "no overlap on a track" promise should they ever.
fn take_lane(ends: &mut Vec<i64>, start: i64, dur: i64) -> usize {
    let lane = match ends.iter().position(|&end| end <= start) {
        Some(k) => k,
        None => {
            ends.push(i64::MIN);
            ends.len() - 1
        }
    };
    ends[lane] = start + dur;
    lane
}

/// The thread id of a lane: environment 0 / "invocations" lane 0 is 1.
fn tid(env: Option<u32>, lane: usize) -> u64 {
    env.map_or(0, |e| u64::from(e) + 1) * 100 + lane as u64 + 1
}

fn thread_name(env: Option<u32>, lane: usize) -> String {
    let base = env.map_or_else(|| "invocations".to_owned(), |e| format!("environment {e}"));
    if lane == 0 {
        base
    } else {
        format!("{base} (lane {})", lane + 1)
    }
}

fn status_name(s: Status) -> &'static str {
    match s {
        Status::Ok => "ok",
        Status::Partial => "partial",
        Status::Failed => "failed",
    }
}

fn slice_args(inv: &Invocation, stream: &Stream) -> Value {
    let mut args = json!({
        "invocation": inv.n,
        "kind": inv.kind.name(),
        "records": inv.record_count(),
        "stateInBytes": inv.state_in.json_len(),
        "stateOutBytes": inv.state_out.as_ref().map(|s| s.json_len()),
        "status": status_name(inv.status),
        "attempt": inv.attempt,
        "reason": serde_json::to_value(inv.reason).unwrap_or(Value::Null),
        "shardId": stream.shards[inv.shard as usize].id,
    });
    if let Some(w) = inv.window() {
        args["window"] = json!(format!(
            "{} – {}",
            time_text(w.start_ms),
            time_text(w.end_ms)
        ));
    }
    if let Some(e) = inv.environment() {
        args["environment"] = json!(e);
    }
    if let Some(err) = inv.error() {
        args["error"] = json!(format!("{}: {}", err.error_type, err.error_message));
    }
    args
}

fn slice_name(inv: &Invocation) -> String {
    let mut name = inv.kind.name().to_owned();
    if inv.is_retry() {
        name.push_str(&format!(" (attempt {})", inv.attempt));
    }
    if inv.status == Status::Failed {
        name.push_str(" failed");
    }
    name
}

/// Metadata naming a process per shard, in shard order.
fn process_events(stream: &Stream, out: &mut Vec<Value>) {
    for (s, shard) in stream.shards.iter().enumerate() {
        let pid = s + 1;
        let name = match stream.parent_ids(s).as_slice() {
            [] => shard.id.clone(),
            parents => format!("{} (child of {})", shard.id, parents.join(", ")),
        };
        out.push(json!({"name": "process_name", "ph": "M", "pid": pid, "tid": 0, "args": {"name": name}}));
        out.push(json!({"name": "process_sort_index", "ph": "M", "pid": pid, "tid": 0, "args": {"sort_index": s}}));
    }
}

/// The whole trace as Chrome Trace Event JSON.
pub fn trace_events_json(stream: &Stream, trace: &Trace) -> String {
    let origin_ms = trace
        .invocations
        .iter()
        .map(|i| i.start_ms)
        .min()
        .unwrap_or(0);
    let us = |ms: i64| (ms - origin_ms) * 1000;
    let mut events = Vec::new();
    process_events(stream, &mut events);
    let mut lanes: Vec<Lanes> = vec![Lanes::new(); stream.shards.len()];
    let mut named: std::collections::BTreeSet<(usize, u64)> = Default::default();
    let mut order: Vec<&Invocation> = trace.invocations.iter().collect();
    order.sort_by_key(|i| (i.start_ms, i.n));
    for inv in order {
        let s = inv.shard as usize;
        let env = inv.environment();
        let (start, dur) = (
            us(inv.start_ms),
            ((inv.end_ms - inv.start_ms) * 1000).max(1),
        );
        let lane = take_lane(lanes[s].entry(env).or_default(), start, dur);
        let t = tid(env, lane);
        if named.insert((s, t)) {
            events.push(
                json!({"name": "thread_name", "ph": "M", "pid": s + 1, "tid": t,
                "args": {"name": thread_name(env, lane)}}),
            );
        }
        let mut cat = vec!["invocation", inv.kind.name()];
        if inv.is_retry() {
            cat.push("retry");
            events.push(
                json!({"name": "retry", "cat": "retry", "ph": "i", "s": "t", "ts": start,
                "pid": s + 1, "tid": t, "args": {"invocation": inv.n, "attempt": inv.attempt}}),
            );
        }
        if inv.status == Status::Failed {
            cat.push("failure");
        }
        let mut slice = json!({"name": slice_name(inv), "cat": cat.join(","), "ph": "X", "ts": start, "dur": dur,
            "pid": s + 1, "tid": t, "args": slice_args(inv, stream)});
        if inv.status == Status::Failed {
            // chrome://tracing's reserved colour names; Perfetto colours by name instead.
            slice["cname"] = json!("terrible");
        }
        events.push(slice);
    }
    for &(s, at_ms) in &trace.shard_ends {
        events.push(
            json!({"name": "shard end", "cat": "shard", "ph": "i", "s": "p", "ts": us(at_ms),
            "pid": s + 1, "tid": 0}),
        );
    }
    let doc = json!({
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "otherData": {
            "tool": "tumblescope",
            "originEpochMs": origin_ms,
            "origin": time_text(origin_ms),
            "timeIs": "modelled (the simulation's clock), not measured",
        },
    });
    let mut text = serde_json::to_string(&doc).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::take_lane;

    #[test]
    fn overlapping_slices_take_another_lane_and_free_lanes_are_reused() {
        let mut ends = Vec::new();
        assert_eq!(take_lane(&mut ends, 0, 10), 0);
        assert_eq!(take_lane(&mut ends, 5, 10), 1, "overlaps lane 0");
        assert_eq!(take_lane(&mut ends, 10, 3), 0, "lane 0 is free at 10");
        assert_eq!(
            take_lane(&mut ends, 12, 1),
            2,
            "lanes 0 (to 13) and 1 (to 15) are busy"
        );
        assert_eq!(take_lane(&mut ends, 15, 1), 0);
    }
}
