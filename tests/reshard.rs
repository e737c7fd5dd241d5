//! Resharding: Kinesis splits and merges, DynamoDB shard rollover, and captured lineage.
//! SEMANTICS.md §7.7 and §14.2 hold the quotes and sources.

mod common;

use std::process::Command;

use common::render;
use tumblescope::generate::{DEFAULT_START_MS as T0, GenOptions, KeyStrategy, generate_stream};
use tumblescope::model::Source;
use tumblescope::model::position::NotRead;
use tumblescope::model::reshard::{Reshard, ReshardPlan};
use tumblescope::model::settings::Settings;
use tumblescope::model::stream::Stream;
use tumblescope::sim::Trace;
use tumblescope::sim::trace::{Kind, Reason};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tumblescope"))
}

fn tmp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tumblescope-reshard-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// One order every 500 ms for a minute from 16 stores, on `shards` Kinesis shards, resharded.
fn resharded(shards: u32, steps: &[&str]) -> Stream {
    let opts = GenOptions {
        count: 120,
        interval_ms: 500.0,
        jitter: 0.0,
        shards,
        keys: KeyStrategy::Uniform { n: 16 },
        reshard: ReshardPlan {
            steps: steps
                .iter()
                .map(|s| s.parse::<Reshard>().unwrap())
                .collect(),
            ..ReshardPlan::default()
        },
        ..GenOptions::default()
    };
    generate_stream(&opts, Default::default())
}

fn run(stream: &Stream) -> Trace {
    let mut h = common::builtin("builtin:sum:Item.sales");
    tumblescope::sim::simulate(stream, &Settings::default(), &mut h).unwrap()
}

fn first_and_last(trace: &Trace, shard: u32) -> (i64, i64) {
    let on = || trace.invocations.iter().filter(move |i| i.shard == shard);
    (
        on().map(|i| i.start_ms).min().unwrap(),
        on().map(|i| i.end_ms).max().unwrap(),
    )
}

/// "When a shard ends, Lambda considers the current window to be closed, and any child shards
/// will start their own window in a fresh state" (Lambda DG, tumbling windows for Kinesis).
/// A split at 12:00:15 ends the parent mid-window: its 12:00:00–12:00:30 window gets its final
/// invocation at once (not 120 s after the window's end), and both children start after it,
/// from `{}`, on the same time interval.
#[test]
fn a_split_closes_the_parents_window_at_once_and_the_children_start_fresh() {
    let stream = resharded(1, &["2026-01-01T12:00:15Z:split:0"]);
    assert_eq!(stream.shards.len(), 3);
    assert_eq!(
        stream.parent_ids(1),
        ["shardId-000000000000"],
        "children continue the numbering"
    );
    assert_eq!(stream.shards[0].closed_ms, Some(T0 + 15_000));
    let trace = run(&stream);
    let parent: Vec<_> = trace.invocations.iter().filter(|i| i.shard == 0).collect();
    let last = parent.last().unwrap();
    assert_eq!(
        (last.kind, last.reason),
        (Kind::Final, Reason::ShardEnded),
        "{:#?}",
        render(&trace)
    );
    assert!(
        last.start_ms < T0 + 30_000,
        "before the window's end, not after the grace"
    );
    assert!(
        parent
            .iter()
            .all(|i| i.records.is_empty() || stream.ts_ms[i.records.start as usize] < T0 + 15_000)
    );
    for child in [1u32, 2] {
        let (first, _) = first_and_last(&trace, child);
        assert!(
            first >= last.end_ms,
            "child {child} starts after the parent's end"
        );
        let opening = trace.invocations.iter().find(|i| i.shard == child).unwrap();
        assert_eq!(opening.state_in.to_json_string(), "{}");
        assert_eq!(
            opening.window().unwrap().start_ms,
            T0,
            "the same interval as the parent"
        );
    }
    assert_eq!(trace.shard_ends, [(0, last.end_ms)]);
    // Every record once; the finals add up to the input.
    let total: i64 = trace
        .windows
        .iter()
        .map(|w| {
            w.final_state.as_ref().unwrap().to_json()["sales"]
                .as_i64()
                .unwrap()
        })
        .sum();
    assert_eq!(total, common::sales(&stream, 0..stream.len()));
    let json: serde_json::Value =
        serde_json::from_str(&tumblescope::export::results_json(&stream, &trace)).unwrap();
    let rows = json.as_array().unwrap();
    assert!(rows.iter().any(|r| r["shardId"] == "shardId-000000000002"
        && r["parentShardIds"] == serde_json::json!(["shardId-000000000000"])));
    assert!(
        rows.iter()
            .filter(|r| r["shardId"] == "shardId-000000000000")
            .all(|r| r.get("parentShardIds").is_none())
    );
}

/// "Read a parent to exhaustion before its children" (Kinesis, after resharding): the merged
/// child waits for both parents' ends.
#[test]
fn a_merged_child_waits_for_both_parents() {
    let stream = resharded(2, &["2026-01-01T12:00:20Z:merge:0,1"]);
    assert_eq!(stream.shards.len(), 3);
    assert_eq!(
        stream.parent_ids(2),
        ["shardId-000000000000", "shardId-000000000001"]
    );
    assert_eq!(stream.shards[2].hash_range, Some((0, u128::MAX)));
    let trace = run(&stream);
    let (child_first, _) = first_and_last(&trace, 2);
    for parent in [0, 1] {
        assert!(child_first >= first_and_last(&trace, parent).1);
    }
    assert_eq!(trace.shard_ends.len(), 2);
}

/// A parent that never ends (its final invocation keeps failing, so the simulator stops the
/// shard) keeps its children from being read: their records are listed, not lost.
#[test]
fn a_stalled_parent_leaves_its_childrens_records_listed_as_unread() {
    let stream = resharded(1, &["2026-01-01T12:00:15Z:split:0"]);
    let settings = Settings {
        stall_after_attempts: 3,
        ..Settings::default()
    };
    let mut h = common::builtin("builtin:sum:Item.sales:fail=Item.sales>=0");
    let trace = tumblescope::sim::simulate(&stream, &settings, &mut h).unwrap();
    assert_eq!(trace.stalls.len(), 1);
    assert!(trace.invocations.iter().all(|i| i.shard == 0));
    let unread: usize = trace
        .unread
        .iter()
        .filter(|u| u.reason == NotRead::ParentNotEnded)
        .map(|u| u.records.len())
        .sum();
    let children: usize = (1..3).map(|s| stream.shards[s].range.len()).sum();
    assert_eq!(unread, children);
    assert!(children > 0);
}

/// DynamoDB Streams shards roll over on their own (no AWS figure: the period is a setting,
/// four hours by default). Each shard opens one child per period; the chain is lineage.
#[test]
fn dynamodb_shards_roll_over_into_one_child_each() {
    let opts = |rollover_ms| GenOptions {
        count: 600,
        interval_ms: 60_000.0,
        jitter: 0.0,
        shards: 2,
        source: Source::Dynamodb,
        reshard: ReshardPlan {
            steps: Vec::new(),
            rollover_ms,
        },
        ..GenOptions::default()
    };
    // Ten hours of orders; the stream was created an hour before the first.
    let stream = generate_stream(&opts(Some(4 * 3_600_000)), Default::default());
    assert_eq!(stream.shards.len(), 6, "generations 0–2 of two shards");
    assert!(stream.shards[2].parents == [0] && stream.shards[4].parents == [2]);
    assert_eq!(
        stream.shards[0].closed_ms,
        Some(stream.created_ms + 4 * 3_600_000)
    );
    assert_eq!(
        stream.shards[4].closed_ms, None,
        "the newest generation is open"
    );
    assert_ne!(stream.shards[0].id, stream.shards[2].id);
    for s in &stream.shards {
        assert!(common::is_dynamodb_shard_id(&s.id), "{}", s.id);
    }
    let mut h = common::builtin("builtin:sum:sales");
    let trace = tumblescope::sim::simulate(&stream, &Settings::default(), &mut h).unwrap();
    assert_eq!(trace.shard_ends.len(), 4);
    let never = generate_stream(&opts(Some(0)), Default::default());
    assert_eq!(never.shards.len(), 2);
    assert!(never.shards.iter().all(|s| s.parents.is_empty()));
}

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// `get-records` at a closed shard's end returns `NextShardIterator: null` and `ChildShards`
/// (Kinesis API, GetRecords). A resharded stream written as captures and read back gives the
/// same results as the stream itself: lineage, shard ends and all.
#[test]
fn captures_of_a_resharded_stream_read_back_to_the_same_results() {
    let dir = tmp("captures");
    let flags = [
        "--count",
        "300",
        "--shards",
        "2",
        "--reshard",
        "2026-01-01T12:00:20Z:split:1",
        "--reshard",
        "2026-01-01T12:00:50Z:merge:2,3",
    ];
    ok(&bin()
        .args(["generate", "--format", "get-records", "-o"])
        .arg(&dir)
        .args(flags)
        .output()
        .unwrap());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 5);
    let parent: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&files[1]).unwrap()).unwrap();
    assert!(parent["NextShardIterator"].is_null());
    assert_eq!(parent["ChildShards"][1]["ShardId"], "shardId-000000000003");
    assert_eq!(
        parent["ChildShards"][0]["ParentShards"],
        serde_json::json!(["shardId-000000000001"])
    );
    let direct = ok(&bin()
        .args(["run", "--format", "json"])
        .args(flags)
        .output()
        .unwrap());
    let replayed = ok(&bin()
        .args(["run", "--format", "json", "--input"])
        .args(&files)
        .output()
        .unwrap());
    assert_eq!(direct, replayed);
    assert!(direct.contains("\"parentShardIds\""));
}

/// A merge seen in captures: both parents' last pages name the child, with both parents.
#[test]
fn child_shards_in_captures_give_the_lineage() {
    let page = |records: &str, child: bool| {
        let children = if child {
            r#","ChildShards":[{"ShardId":"shardId-000000000002","ParentShards":["shardId-000000000000","shardId-000000000001"],"HashKeyRange":{"StartingHashKey":"0","EndingHashKey":"1"}}]"#
        } else {
            ""
        };
        let next = if child { "null" } else { "\"AAA\"" };
        format!(
            r#"{{"Records":[{records}],"NextShardIterator":{next},"MillisBehindLatest":0{children}}}"#
        )
    };
    let rec = |seq: u32, t: f64| {
        format!(
            r#"{{"SequenceNumber":"{seq}","ApproximateArrivalTimestamp":{t},"Data":"eyJJdGVtIjp7InNhbGVzIjoxfX0=","PartitionKey":"k"}}"#
        )
    };
    let files = [
        (
            "shardId-000000000000.json",
            page(&rec(1, 1767268801.0), true),
        ),
        (
            "shardId-000000000001.json",
            page(&rec(2, 1767268802.0), true),
        ),
        (
            "shardId-000000000002.json",
            page(&rec(3, 1767268803.0), false),
        ),
    ];
    let paths: Vec<_> = files
        .iter()
        .map(|(name, text)| {
            let p = tmp(name);
            std::fs::write(&p, text).unwrap();
            p
        })
        .collect();
    let opts = tumblescope::ingest::LoadOptions::default();
    let (stream, _) =
        tumblescope::ingest::load_paths(&paths, &opts, &mut Default::default()).unwrap();
    let child = stream
        .shards
        .iter()
        .position(|s| s.id == "shardId-000000000002")
        .unwrap();
    let mut parents = stream.parent_ids(child);
    parents.sort_unstable();
    assert_eq!(parents, ["shardId-000000000000", "shardId-000000000001"]);
    assert!(stream.shards[child].closed_ms.is_none());
    let trace = run(&stream);
    let child_first = first_and_last(&trace, child as u32).0;
    for p in 0..stream.shards.len() {
        if p != child {
            assert!(child_first >= first_and_last(&trace, p as u32).1);
        }
    }
}

#[test]
fn resharding_mistakes_exit_2_with_a_message() {
    let capture = tmp("one-shard.json");
    std::fs::write(
        &capture,
        r#"{"Records":[{"SequenceNumber":"1","ApproximateArrivalTimestamp":1767268801.0,"Data":"e30=","PartitionKey":"k"}],"NextShardIterator":"x"}"#,
    )
    .unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["run", "--reshard", "soon:split:0"], "is not a time"),
        (
            vec!["run", "--reshard", "1767268810:twist:0"],
            "unknown operation",
        ),
        (
            vec!["run", "--shards", "3", "--reshard", "1767268810:merge:0,2"],
            "not adjacent",
        ),
        (
            vec!["run", "--reshard", "1767268810:split:7"],
            "does not exist",
        ),
        (
            vec![
                "run",
                "--source",
                "dynamodb",
                "--reshard",
                "1767268810:split:0",
            ],
            "roll over",
        ),
        (vec!["run", "--rollover-hours", "-1"], "out of range"),
        (
            vec!["generate", "--reshard", "1767268810:split:0"],
            "--format get-records",
        ),
        (vec!["generate", "--format", "get-records"], "-o DIR"),
    ];
    for (args, expected) in cases {
        let out = bin().args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(expected), "{args:?}: {err}");
    }
    let out = bin()
        .args(["run", "--reshard", "1767268810:split:0", "--input"])
        .arg(&capture)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("names its own shards"), "{err}");
}
