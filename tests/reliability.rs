//! Regression tests for defects found by probing bad inputs and bad handlers: runs that never
//! end, outputs written over inputs, values changed on load, unbounded handler output, pipes.

mod common;

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::sync::Arc;

use common::{kinesis, run};
use tumblescope::settings::Settings;
use tumblescope::sim::Status;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tumblescope"))
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "tumblescope-reliability-{}-{name}",
        std::process::id()
    ));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

// ---------------------------------------------------------------------------------------------
// 1. A run that never ends.

/// Zero durations and zero backoff used to freeze simulated time: every attempt now takes at
/// least 1 ms, and a batch that keeps failing stops at the attempt limit with a clear report.
#[test]
fn zero_durations_and_backoff_still_end_with_a_clear_stop() {
    let stream = kinesis(1, &[(0, "a", 5)]);
    let settings = Settings {
        max_record_age_s: 60,
        retry_backoff_ms: 0,
        retry_backoff_max_ms: 0,
        duration_base_ms: 0,
        duration_per_record_us: 0,
        attempt_limit: 500,
        ..Settings::default()
    };
    let trace = run(
        &stream,
        &settings,
        "builtin:sum:Item.sales:fail=Item.sales>=0",
    );
    assert_eq!(trace.invocations.len(), 500);
    // Time moves by exactly the 1 ms minimum per attempt.
    let starts: Vec<i64> = trace.invocations.iter().map(|i| i.start_ms).collect();
    assert!(
        starts.windows(2).all(|w| w[1] - w[0] == 1),
        "{:?}",
        &starts[..5]
    );
    assert!(trace.invocations.iter().all(|i| i.status == Status::Failed));
    assert_eq!(trace.stalls.len(), 1);
    let reason = &trace.stalls[0].reason;
    assert!(
        reason.starts_with(
            "stopped after 500 attempts on shardId-000000000000: the batch of 1 record(s) keeps failing"
        ),
        "{reason}"
    );
    assert!(
        reason.contains("MaximumRecordAgeInSeconds (60 s)"),
        "{reason}"
    );
    assert_eq!(trace.stalls[0].unprocessed, 1);
}

/// Under the limit, the record age still ends the retries the AWS way: discarded with
/// `RecordAgeExceeded` once the record is older than 60 s, after 1 ms steps.
#[test]
fn record_age_discards_when_the_limit_allows_it() {
    let stream = kinesis(1, &[(0, "a", 5)]);
    let settings = Settings {
        max_record_age_s: 60,
        retry_backoff_ms: 0,
        retry_backoff_max_ms: 0,
        duration_base_ms: 0,
        duration_per_record_us: 0,
        attempt_limit: 100_000,
        ..Settings::default()
    };
    let trace = run(
        &stream,
        &settings,
        "builtin:sum:Item.sales:fail=Item.sales>=0",
    );
    assert!(trace.stalls.is_empty());
    assert_eq!(trace.discards.len(), 1);
    assert_eq!(trace.discards[0].condition, "RecordAgeExceeded");
    let last = trace.get(trace.discards[0].invocation).unwrap();
    assert_eq!(last.status, Status::Failed);
    // The attempt that ended past 60 s of age was the last one.
    assert_eq!(last.end_ms - stream.ts_ms[0], 60_001);
    assert_eq!(trace.discards[0].attempts, 60_001);
}

/// A retry storm keeps one copy of the failure: consecutive identical failed attempts share
/// their details.
#[test]
fn a_retry_storm_shares_one_copy_of_the_failure() {
    let stream = kinesis(1, &[(0, "a", 5)]);
    let settings = Settings {
        max_retry_attempts: 50,
        retry_backoff_ms: 1,
        retry_backoff_max_ms: 1,
        ..Settings::default()
    };
    let trace = run(
        &stream,
        &settings,
        "builtin:sum:Item.sales:fail=Item.sales>=0",
    );
    let failed: Vec<_> = trace
        .invocations
        .iter()
        .filter(|i| i.status == Status::Failed)
        .collect();
    assert_eq!(failed.len(), 51);
    let first = failed[0].extra.as_ref().expect("the error is kept");
    assert!(failed[0].error().is_some());
    for f in &failed[1..] {
        assert!(Arc::ptr_eq(first, f.extra.as_ref().unwrap()));
    }
    assert_eq!(trace.discards[0].condition, "RetryAttemptsExhausted");
}

/// The two commands, end to end: both return promptly with exit 0 and a stop report.
#[test]
fn the_reported_endless_commands_now_end() {
    for extra in [
        &[
            "--max-record-age",
            "60",
            "--retry-backoff-ms",
            "0",
            "--duration-base-ms",
            "0",
            "--duration-per-record-us",
            "0",
        ][..],
        &[
            "--retry-backoff-ms",
            "1",
            "--retry-backoff-max-ms",
            "1",
            "--max-record-age",
            "604800",
        ][..],
    ] {
        let out = bin()
            .args(["run", "--count", "1", "--attempt-limit", "2000"])
            .args(extra)
            .args(["--handler", "builtin:sum:Item.sales:fail=Item.sales>=0"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("stopped after 2000 attempts on shardId-000000000000"),
            "{err}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Outputs never overwrite inputs; outputs are atomic and checked before the work.

#[test]
fn an_events_output_equal_to_the_input_is_refused_and_the_input_kept() {
    let dir = scratch("same-file");
    let input = dir.join("x.jsonl");
    let made = bin()
        .args(["generate", "--count", "50", "-o"])
        .arg(&input)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", stderr(&made));
    let before = std::fs::read(&input).unwrap();
    for out_path in [input.clone(), dir.join(".").join("x.jsonl")] {
        let out = bin()
            .args(["run", "-i"])
            .arg(&input)
            .arg("--events")
            .arg(&out_path)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("refusing to overwrite an input"),
            "{}",
            stderr(&out)
        );
        assert_eq!(std::fs::read(&input).unwrap(), before);
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn an_unwritable_output_fails_with_exit_2_before_the_work() {
    let dir = scratch("unwritable");
    let out = bin()
        .args(["run", "--count", "10", "--events"])
        .arg(dir.join("missing/inv.jsonl"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
    // Nothing ran: no results on stdout, no run summary.
    assert!(out.stdout.is_empty());
    assert!(!stderr(&out).contains("simulated in"));
    let out = bin()
        .args(["generate", "--count", "10", "-o"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is a folder"), "{}", stderr(&out));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn generate_to_dash_writes_standard_output_and_no_file() {
    let dir = scratch("dash");
    let out = bin()
        .current_dir(&dir)
        .args(["generate", "--count", "3", "-o", "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 3);
    assert!(!dir.join("-").exists());
    std::fs::remove_dir_all(&dir).ok();
}

// ---------------------------------------------------------------------------------------------
// 8. Pipes and FIFOs.

fn generated(count: &str) -> Vec<u8> {
    let out = bin().args(["generate", "--count", count]).output().unwrap();
    assert!(out.status.success());
    out.stdout
}

fn run_with_stdin(args: &[&str], input: &[u8]) -> std::process::Output {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let data = input.to_vec();
    // Written from a thread: a large input must not deadlock against the child's output.
    let writer = std::thread::spawn(move || {
        stdin.write_all(&data).ok();
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

#[test]
fn standard_input_loads_like_the_same_file() {
    let orders = generated("400");
    let dir = scratch("stdin");
    let file = dir.join("orders.jsonl");
    std::fs::write(&file, &orders).unwrap();
    let from_file = bin()
        .args(["run", "--format", "json", "-i"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(from_file.status.success(), "{}", stderr(&from_file));
    let from_pipe = run_with_stdin(&["run", "--format", "json", "-i", "-"], &orders);
    assert!(from_pipe.status.success(), "{}", stderr(&from_pipe));
    assert_eq!(from_pipe.stdout, from_file.stdout);
    assert!(stderr(&from_pipe).contains("loaded 400 records"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_bad_line_on_standard_input_is_reported_with_its_position() {
    let mut orders = generated("5");
    orders.extend_from_slice(b"{\"timestamp\": oops}\n");
    let out = run_with_stdin(&["run", "-i", "-"], &orders);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("<stdin>:6:15: "), "{err}");
    let out = run_with_stdin(&["run", "-i", "-"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("<stdin>: the file is empty"),
        "{}",
        stderr(&out)
    );
}

#[cfg(unix)]
#[test]
fn a_fifo_is_read_as_it_is_written_and_waiting_is_announced() {
    let dir = scratch("fifo");
    let fifo = dir.join("orders.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        println!("skipped: mkfifo is not available");
        return;
    }
    let child = bin()
        .args(["run", "--format", "csv", "-i"])
        .arg(&fifo)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let orders = generated("100");
    let fifo_w = fifo.clone();
    let writer = std::thread::spawn(move || {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(fifo_w)
            .unwrap();
        f.write_all(&orders).unwrap();
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("(a FIFO): waiting for a writer"), "{err}");
    assert!(err.contains("loaded 100 records"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
