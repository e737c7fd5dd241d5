//! The command line: byte-stable output for a fixed seed, documented formats, exit codes.

mod common;

use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tumblescope"))
}

fn tmp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tumblescope-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn generate_then_run_matches_run_on_generated_orders() {
    let orders = tmp("orders.jsonl");
    let out = bin()
        .args(["generate", "--count", "500", "--seed", "7", "-o"])
        .arg(&orders)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&orders).unwrap();
    assert_eq!(text.lines().count(), 500);

    let from_file = bin()
        .args(["run", "--format", "json", "--seed", "7", "--input"])
        .arg(&orders)
        .output()
        .unwrap();
    assert!(
        from_file.status.success(),
        "{}",
        String::from_utf8_lossy(&from_file.stderr)
    );
    let generated = bin()
        .args(["run", "--format", "json", "--count", "500", "--seed", "7"])
        .output()
        .unwrap();
    assert_eq!(from_file.stdout, generated.stdout);

    let rows: serde_json::Value = serde_json::from_slice(&generated.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert!(!rows.is_empty());
    let keys: Vec<&str> = rows[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "shardId",
            "windowStart",
            "windowEnd",
            "records",
            "invocations",
            "finalState"
        ]
    );
    let records: u64 = rows.iter().map(|r| r["records"].as_u64().unwrap()).sum();
    assert_eq!(records, 500);
    let total: i64 = rows
        .iter()
        .map(|r| r["finalState"]["sales"].as_i64().unwrap())
        .sum();
    let expected: i64 = text
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["data"]["Item"]["sales"]
                .as_i64()
                .unwrap()
        })
        .sum();
    assert_eq!(total, expected);
}

#[test]
fn output_is_byte_stable_and_events_follow_the_format() {
    let events = tmp("events.jsonl");
    let run = || {
        bin()
            .args([
                "run", "--count", "300", "--shards", "3", "--format", "csv", "--events",
            ])
            .arg(&events)
            .output()
            .unwrap()
    };
    let a = run();
    let first_events = std::fs::read(&events).unwrap();
    let b = run();
    assert!(a.status.success());
    assert_eq!(a.stdout, b.stdout);
    assert_eq!(first_events, std::fs::read(&events).unwrap());
    assert!(
        String::from_utf8_lossy(&a.stdout)
            .starts_with("shardId,windowStart,windowEnd,records,invocations,finalState\n")
    );

    let text = String::from_utf8(first_events).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let keys: Vec<&str> = lines[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "n", "shardId", "kind", "attempt", "startMs", "endMs", "event", "response", "error",
            "logs", "writes", "warnings"
        ]
    );
    // The built-in sum keeps numbers in its state: the inspector's warning is in the file too.
    assert!(
        lines[0]["warnings"][0]
            .as_str()
            .unwrap()
            .starts_with("State values are not strings (sales: whole number)"),
        "{}",
        lines[0]
    );
    for (k, l) in lines.iter().enumerate() {
        assert_eq!(l["n"], k + 1);
        assert!(l["startMs"].as_i64() <= l["endMs"].as_i64());
    }
    let finals: Vec<&serde_json::Value> = lines.iter().filter(|l| l["kind"] == "final").collect();
    assert!(!finals.is_empty());
    for f in &finals {
        assert_eq!(f["event"]["Records"], serde_json::json!([]));
        assert_eq!(f["event"]["isFinalInvokeForWindow"], true);
        assert_eq!(f["writes"][0]["table"], "tumblescope-results");
        assert_eq!(
            f["writes"][0]["item"]["sales"],
            f["event"]["state"]["sales"]
        );
    }
}

#[test]
fn bad_settings_exit_2_with_the_valid_range() {
    let out = bin().args(["run", "--window", "901"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("TumblingWindowInSeconds = 901 is out of range: valid range is 0–900"),
        "{err}"
    );

    let out = bin()
        .args(["run", "--batch-size", "0", "--parallelization-factor", "3"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("BatchSize = 0") && err.contains("ParallelizationFactor = 3"),
        "{err}"
    );

    let out = bin()
        .args(["run", "--handler", "builtin:median:x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bad_input_exits_2_with_file_line_and_column() {
    let bad = tmp("bad.jsonl");
    std::fs::write(&bad, "{\"timestamp\":1,\"partitionKey\":\"a\",\"data\":{}}\n{\"timestamp\":1,\"partitionKey\":\"a\",\"data\":{]\n").unwrap();
    let out = bin().args(["run", "--input"]).arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    // Line 2, column 43: the `]` where the object's first key should be.
    assert_eq!(
        err.trim_end(),
        format!(
            "error: {}:2:43: key must be a string; expected one JSON object per line",
            bad.display()
        )
    );
    assert!(out.stdout.is_empty(), "no results after a bad input");
    let out = bin()
        .args(["run", "--input", "/nonexistent/orders.jsonl"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "error: /nonexistent/orders.jsonl: No such file or directory (os error 2)"
    );
}

#[test]
fn dynamodb_runs_with_its_own_default_handler() {
    let out = bin()
        .args([
            "run", "--source", "dynamodb", "--count", "200", "--format", "json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // DynamoDB Streams shard ids (creation time and a hex suffix), not Kinesis's 12 digits.
    let id = rows[0]["shardId"].as_str().unwrap();
    assert!(common::is_dynamodb_shard_id(id), "{id}");
    assert!(rows[0]["finalState"]["sales"].is_number());
}

#[test]
fn format_table_prints_the_aligned_results() {
    let out = bin()
        .args(["run", "--scenario", "running-total", "--format", "table"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let scenario = tumblescope::scenarios::by_id("running-total").unwrap();
    let stream = scenario.stream.build(Default::default());
    let trace = common::run(&stream, &scenario.settings, &scenario.handler);
    assert_eq!(text, tumblescope::export::results_table(&stream, &trace));
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("shard") && lines[0].contains("final state"));
    assert_eq!(lines.len(), 5, "a header and four windows");
    assert!(lines[1].ends_with(r#"{"sales":6}"#), "{}", lines[1]);
}

#[test]
fn skip_bad_lists_the_bad_line_and_runs_the_rest() {
    let bad = tmp("skip.jsonl");
    std::fs::write(
        &bad,
        "{\"timestamp\":1767268800,\"partitionKey\":\"a\",\"data\":{\"Item\":{\"sales\":2}}}\n\
         {\"timestamp\":1767268801,\"partitionKey\":\"a\",\"data\":{]\n\
         {\"timestamp\":1767268802,\"partitionKey\":\"a\",\"data\":{\"Item\":{\"sales\":5}}}\n",
    )
    .unwrap();
    let out = bin()
        .args(["run", "--skip-bad", "--format", "json", "--input"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    // Column 52: the `]` after `{"timestamp":1767268801,"partitionKey":"a","data":{`.
    assert!(
        err.contains(&format!("{}:2:52: key must be a string", bad.display())),
        "{err}"
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let records: u64 = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["records"].as_u64().unwrap())
        .sum();
    assert_eq!(records, 2);
    let total: i64 = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["finalState"]["sales"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 7);
    // Without --skip-bad the same file stops the run.
    let out = bin().args(["run", "--input"]).arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// `--starting-position latest` with `--mapping-start`: the records written before are named
/// on stderr, with the count, the shard and the reason; the bad spellings get exit code 2.
#[test]
fn starting_position_flags_reach_the_run_and_bad_ones_exit_2() {
    let out = bin()
        .args([
            "run",
            "--count",
            "100",
            "--shards",
            "1",
            "--interval-ms",
            "1000",
            "--jitter",
            "0",
            "--starting-position",
            "latest",
            "--mapping-start",
            "2026-01-01T12:00:40Z",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(
            "not read: 40 record(s) on shardId-000000000000, before the starting position (at 2026-01-01T12:00:40.000Z)"
        ),
        "{err}"
    );
    for (flags, message) in [
        (
            &["--starting-position", "oldest"][..],
            "not one of trim-horizon, latest, at-timestamp",
        ),
        (&["--mapping-start", "soon"][..], "\"soon\" is not a time"),
        (
            &[
                "--source",
                "dynamodb",
                "--starting-position",
                "at-timestamp",
                "--starting-position-timestamp",
                "1767268800",
            ][..],
            "is not available for DynamoDB Streams",
        ),
        (
            &["--retention-hours", "9000"][..],
            "RetentionPeriodHours = 9000 is out of range",
        ),
    ] {
        let out = bin()
            .args(["run", "--count", "10"])
            .args(flags)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {err}");
        assert!(err.contains(message), "{flags:?}: {err}");
    }
}

/// `--filter` and `--filter-criteria`: what passed is on stderr, per filter; a bad pattern or
/// file gets exit code 2 with the filter's number or the file's line and column.
#[test]
fn filter_flags_report_what_passed_and_refuse_bad_patterns() {
    let out = bin()
        .args([
            "run",
            "--count",
            "400",
            "--seed",
            "3",
            "--filter",
            r#"{"data":{"Item":{"sales":[{"numeric":[">",50]}]}}}"#,
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let line = err
        .lines()
        .find(|l| l.starts_with("filters: "))
        .expect(&err);
    // "filters: P of 400 record(s) passed (filter 1: P); D dropped" with P + D = 400.
    let words: Vec<&str> = line.split_whitespace().collect();
    let passed: u64 = words[1].parse().unwrap();
    let dropped: u64 = words[words.len() - 2].parse().unwrap();
    assert_eq!(words[3], "400");
    assert_eq!(passed + dropped, 400);
    assert!(line.contains(&format!("(filter 1: {passed})")), "{line}");
    assert!(passed > 100 && dropped > 100, "{line}");

    let criteria = tmp("criteria.json");
    std::fs::write(&criteria, "{\"Filters\": [{\"Pattern\": \"{\\\"data\\\": {\\\"a\\\": [{\\\"wildcard\\\": \\\"x*\\\"}]}}\"}]}").unwrap();
    let file_bad = tmp("criteria-bad.json");
    std::fs::write(&file_bad, "{\"Filters\": [{\"Patern\": \"{}\"}]}").unwrap();
    let six: Vec<String> = (0..6)
        .flat_map(|k| ["--filter".to_owned(), format!("{{\"a\":[{k}]}}")])
        .collect();
    let cases: Vec<(Vec<String>, String)> = vec![
        (
            vec!["--filter-criteria".into(), criteria.display().to_string()],
            "filter 1 at 1:18: data.a: \"wildcard\" is an EventBridge operator that Lambda's filter rule syntax does not document".into(),
        ),
        (
            vec!["--filter-criteria".into(), file_bad.display().to_string()],
            format!("{}:1:22: unknown field `Patern`", file_bad.display()),
        ),
        (vec!["--filter".into(), "{\"a\": [1,]}".into()], "filter 1 at 1:10: not valid JSON: trailing comma".into()),
        (six, "FilterCriteria has 6 filters; the quota is 5".into()),
    ];
    for (flags, message) in cases {
        let out = bin()
            .args(["run", "--count", "10"])
            .args(&flags)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {err}");
        assert!(err.contains(&message), "{flags:?}: {err}");
    }
}

/// `--destination-out` writes one destination record per discarded batch; like every output it
/// may not be an input.
#[test]
fn destination_out_writes_one_record_per_discard() {
    let out_path = tmp("destination.jsonl");
    let out = bin()
        .args([
            "run",
            "--count",
            "50",
            "--max-retry-attempts",
            "1",
            "--retry-backoff-ms",
            "1",
            "--handler",
            "builtin:sum:Item.sales:fail=Item.sales>=90",
            "--destination-out",
        ])
        .arg(&out_path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let discards = err.lines().filter(|l| l.starts_with("discarded: ")).count();
    assert!(discards > 0, "{err}");
    let text = std::fs::read_to_string(&out_path).unwrap();
    assert_eq!(text.lines().count(), discards);
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["requestContext"]["condition"], "RetryAttemptsExhausted");
        assert_eq!(v["requestContext"]["approximateInvokeCount"], 2);
        assert!(v["KinesisBatchInfo"]["batchSize"].as_u64().unwrap() >= 1);
    }
    let input = tmp("in.jsonl");
    std::fs::write(
        &input,
        "{\"timestamp\":1767268800,\"partitionKey\":\"a\",\"data\":{}}\n",
    )
    .unwrap();
    let out = bin()
        .args(["run", "--input"])
        .arg(&input)
        .arg("--destination-out")
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--destination-out"));
    assert!(
        std::fs::read_to_string(&input)
            .unwrap()
            .starts_with("{\"timestamp\"")
    );
    // Nor the other output.
    let both = tmp("both.jsonl");
    let out = bin()
        .args(["run", "--count", "5", "--events"])
        .arg(&both)
        .arg("--destination-out")
        .arg(&both)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is also the --events file"));
}

/// Generated streams take their names from `--region`, `--account`, `--stream-name`,
/// `--table-name` and `--function-name`, in every ARN of the events.
#[test]
fn name_flags_reach_the_arns() {
    let events = tmp("named-events.jsonl");
    for (source, arn) in [
        (
            "kinesis",
            "arn:aws:kinesis:eu-central-1:111122223333:stream/clicks",
        ),
        (
            "dynamodb",
            "arn:aws:dynamodb:eu-central-1:111122223333:table/Carts/stream/",
        ),
    ] {
        let out = bin()
            .args([
                "run",
                "--count",
                "5",
                "--source",
                source,
                "--region",
                "eu-central-1",
                "--account",
                "111122223333",
                "--stream-name",
                "clicks",
                "--table-name",
                "Carts",
                "--function-name",
                "agg",
                "--events",
            ])
            .arg(&events)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(&events).unwrap();
        let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        let rec = &first["event"]["Records"][0];
        assert!(
            rec["eventSourceARN"].as_str().unwrap().starts_with(arn),
            "{rec}"
        );
        assert_eq!(rec["awsRegion"], "eu-central-1");
        if source == "kinesis" {
            assert_eq!(
                rec["invokeIdentityArn"],
                "arn:aws:iam::111122223333:role/agg-role"
            );
        }
    }
}

/// The summary groups each warning with its count and first invocation; state value types are
/// judged on the state each window stores (its final invocation).
#[test]
fn the_summary_counts_each_warning_once_per_stored_window() {
    let out = bin().args(["run", "--scenario", "demo"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let first = err.lines().next().unwrap();
    let windows: usize = first
        .split(", ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let line = err
        .lines()
        .find(|l| l.contains("State values are not strings"))
        .expect(&err);
    assert!(
        line.starts_with(&format!("warning: {windows} invocation(s), first ")),
        "{line} vs {first}"
    );
}
