//! `run --trace-out`: the run as Chrome Trace Event JSON, as Perfetto UI and chrome://tracing
//! read it (the Trace Event Format: `traceEvents`, complete events `"ph": "X"` with `ts` and
//! `dur` in microseconds, metadata `"ph": "M"` naming processes and threads, instant events
//! `"ph": "i"`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "tumblescope-trace-{name}-{}.json",
        std::process::id()
    ))
}

/// Runs `run` with `args`, `--trace-out` and `--events`; returns (trace, events lines).
fn traced(name: &str, args: &[&str]) -> (Value, Vec<Value>) {
    let (trace, events) = (scratch(name), scratch(&format!("{name}-events")));
    let out = Command::new(env!("CARGO_BIN_EXE_tumblescope"))
        .arg("run")
        .args(args)
        .arg("--trace-out")
        .arg(&trace)
        .arg("--events")
        .arg(&events)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&std::fs::read(&trace).unwrap()).expect("valid JSON");
    let lines = std::fs::read_to_string(&events)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    std::fs::remove_file(&trace).ok();
    std::fs::remove_file(&events).ok();
    (doc, lines)
}

fn of_phase<'a>(doc: &'a Value, ph: &str) -> Vec<&'a Value> {
    doc["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["ph"] == ph)
        .collect()
}

/// No two slices of one (process, thread) overlap.
fn assert_no_overlap(slices: &[&Value]) {
    let mut tracks: BTreeMap<(u64, u64), Vec<(i64, i64)>> = BTreeMap::new();
    for s in slices {
        let (ts, dur) = (s["ts"].as_i64().unwrap(), s["dur"].as_i64().unwrap());
        assert!(dur > 0, "{s}");
        tracks
            .entry((s["pid"].as_u64().unwrap(), s["tid"].as_u64().unwrap()))
            .or_default()
            .push((ts, ts + dur));
    }
    for (track, mut spans) in tracks {
        spans.sort();
        for w in spans.windows(2) {
            assert!(
                w[0].1 <= w[1].0,
                "{track:?}: {:?} overlaps {:?}",
                w[0],
                w[1]
            );
        }
    }
}

#[test]
fn every_invocation_is_one_slice_with_retries_and_failures_marked() {
    let (doc, events) = traced("failing", &["--scenario", "failing-handler"]);
    let slices = of_phase(&doc, "X");
    assert_eq!(slices.len(), events.len(), "one slice per invocation");
    assert_no_overlap(&slices);
    // Each slice is the invocation of the same number, at its modelled time.
    let origin = doc["otherData"]["originEpochMs"].as_i64().unwrap();
    let by_n: BTreeMap<u64, &Value> = slices
        .iter()
        .map(|s| (s["args"]["invocation"].as_u64().unwrap(), *s))
        .collect();
    assert_eq!(by_n.len(), events.len());
    for e in &events {
        let s = by_n[&e["n"].as_u64().unwrap()];
        assert_eq!(s["args"]["kind"], e["kind"]);
        assert_eq!(
            s["args"]["records"],
            e["event"]["Records"].as_array().unwrap().len()
        );
        assert_eq!(s["args"]["attempt"], e["attempt"]);
        assert_eq!(s["args"]["shardId"], e["shardId"]);
        let (start, end) = (e["startMs"].as_i64().unwrap(), e["endMs"].as_i64().unwrap());
        assert_eq!(s["ts"].as_i64().unwrap(), (start - origin) * 1000);
        assert_eq!(s["dur"].as_i64().unwrap(), ((end - start) * 1000).max(1));
        if s["args"]["status"] == "failed" {
            assert!(
                !e["error"].is_null(),
                "a failed slice is a failed invocation: {e}"
            );
        }
    }
    let failed: Vec<_> = slices
        .iter()
        .filter(|s| s["args"]["status"] == "failed")
        .collect();
    assert!(!failed.is_empty(), "the scenario fails");
    assert!(
        failed
            .iter()
            .all(|s| s["cat"].as_str().unwrap().contains("failure")
                && s["name"].as_str().unwrap().ends_with("failed"))
    );
    let retries: Vec<_> = slices
        .iter()
        .filter(|s| s["args"]["attempt"].as_u64().unwrap() > 1)
        .collect();
    assert!(!retries.is_empty());
    assert!(
        retries
            .iter()
            .all(|s| s["cat"].as_str().unwrap().contains("retry"))
    );
    let marks = of_phase(&doc, "i")
        .into_iter()
        .filter(|e| e["name"] == "retry")
        .count();
    assert_eq!(marks, retries.len(), "an instant event per retry");
    // A process per shard, named by its id; a thread for the built-in handler's invocations.
    let names: BTreeSet<String> = of_phase(&doc, "M")
        .iter()
        .filter(|m| m["name"] == "process_name")
        .map(|m| m["args"]["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(names.iter().all(|n| n.starts_with("shardId-")), "{names:?}");
    assert!(
        of_phase(&doc, "M")
            .iter()
            .any(|m| m["name"] == "thread_name" && m["args"]["name"] == "invocations")
    );
    assert_eq!(doc["displayTimeUnit"], "ms");
}

#[test]
fn a_split_shows_the_child_and_the_parents_end() {
    let (doc, events) = traced("split", &["--scenario", "shard-split"]);
    assert_eq!(of_phase(&doc, "X").len(), events.len());
    assert_no_overlap(&of_phase(&doc, "X"));
    let names: Vec<String> = of_phase(&doc, "M")
        .iter()
        .filter(|m| m["name"] == "process_name")
        .map(|m| m["args"]["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        names.iter().any(|n| n.contains("(child of shardId-")),
        "{names:?}"
    );
    assert!(
        of_phase(&doc, "i")
            .iter()
            .any(|e| e["name"] == "shard end" && e["s"] == "p")
    );
}

#[test]
fn the_trace_is_the_same_for_the_same_run() {
    let a = traced("same-a", &["--scenario", "demo"]).0;
    let b = traced("same-b", &["--scenario", "demo"]).0;
    assert_eq!(a, b);
}

/// A user handler's invocations are on the thread of the execution environment that ran them.
#[test]
fn user_handler_slices_are_on_their_environments_threads() {
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !node {
        assert!(
            std::env::var_os("TUMBLESCOPE_REQUIRE_RUNTIMES").is_none(),
            "node is missing"
        );
        return;
    }
    let (doc, events) = traced("environments", &["--scenario", "module-state"]);
    let slices = of_phase(&doc, "X");
    assert_eq!(slices.len(), events.len());
    assert_no_overlap(&slices);
    let threads: BTreeMap<(u64, u64), String> = of_phase(&doc, "M")
        .iter()
        .filter(|m| m["name"] == "thread_name")
        .map(|m| {
            (
                (m["pid"].as_u64().unwrap(), m["tid"].as_u64().unwrap()),
                m["args"]["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for s in &slices {
        let env = s["args"]["environment"]
            .as_u64()
            .expect("a user handler's environment");
        let thread = &threads[&(s["pid"].as_u64().unwrap(), s["tid"].as_u64().unwrap())];
        assert_eq!(thread, &format!("environment {env}"));
    }
    assert!(threads.len() > 1, "{threads:?}");
}
