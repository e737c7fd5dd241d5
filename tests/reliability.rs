//! Regression tests for defects found by probing bad inputs and bad handlers: runs that never
//! end, outputs written over inputs, values changed on load, unbounded handler output, pipes.

mod common;

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::sync::Arc;

use common::{kinesis, run};
use tumblescope::model::settings::Settings;
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

/// The issue's two commands, end to end: both return promptly with exit 0 and a stop report.
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

// ---------------------------------------------------------------------------------------------
// 3. Values kept exactly as written.

fn load(
    name: &str,
    text: &str,
    source: tumblescope::model::Source,
) -> tumblescope::model::stream::Stream {
    let opts = tumblescope::ingest::LoadOptions {
        source,
        shards: 1,
        ..Default::default()
    };
    tumblescope::ingest::load_bytes(name, text.as_bytes(), &opts)
        .map(|(s, _)| s)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn load_err(name: &str, text: &str, source: tumblescope::model::Source) -> String {
    let opts = tumblescope::ingest::LoadOptions {
        source,
        shards: 1,
        ..Default::default()
    };
    tumblescope::ingest::load_bytes(name, text.as_bytes(), &opts)
        .map(|_| ())
        .expect_err("refused")
        .to_string()
}

/// The first invocation's event, as the function receives it.
fn first_event(stream: &tumblescope::model::stream::Stream) -> serde_json::Value {
    let settings = Settings::default();
    let trace = run(stream, &settings, "builtin:count");
    let inv = &trace.invocations[0];
    serde_json::from_str(&inv.request(stream, &settings).event_json()).unwrap()
}

const TYPED_IMAGE: &str = r#"{"ID":{"S":"o-1"},"blob":{"B":"AAEC/w=="},"tags":{"SS":["a","b"]},"qty":{"NS":["1","2.50"]},"blobs":{"BS":["AQ==","Ag=="]},"big":{"N":"12345678901234567890123456789012345678"},"tiny":{"N":"0.000000000000000000000000000001"},"nothing":{"NULL":true},"nested":{"M":{"l":{"L":[{"N":"1.0"},{"B":"AA=="}]}}}}"#;

#[test]
fn dynamodb_captures_keep_every_type_and_number_text_in_the_event() {
    let old = r#"{"ID":{"S":"o-1"},"big":{"N":"99999999999999999999999999999999999999"}}"#;
    let doc = format!(
        r#"{{"Records":[{{"eventID":"e1","eventName":"MODIFY","eventVersion":"1.1","eventSource":"aws:dynamodb","awsRegion":"us-east-1","dynamodb":{{"ApproximateCreationDateTime":1767268801,"Keys":{{"ID":{{"S":"o-1"}}}},"NewImage":{TYPED_IMAGE},"OldImage":{old},"SequenceNumber":"400000000000000000000000000001","SizeBytes":60,"StreamViewType":"NEW_AND_OLD_IMAGES"}}}}],"NextShardIterator":"x"}}"#
    );
    let stream = load("capture.json", &doc, tumblescope::model::Source::Dynamodb);
    let event = first_event(&stream);
    let d = &event["Records"][0]["dynamodb"];
    let want: serde_json::Value = serde_json::from_str(TYPED_IMAGE).unwrap();
    assert_eq!(d["NewImage"], want);
    assert_eq!(
        d["OldImage"]["big"]["N"],
        "99999999999999999999999999999999999999"
    );
    assert_eq!(d["Keys"], serde_json::json!({"ID": {"S": "o-1"}}));
    // The exact text, not just an equal value: the compact event holds the attributes verbatim.
    let text = serde_json::to_string(&event).unwrap();
    assert!(text.contains(TYPED_IMAGE), "{text}");
}

#[test]
fn dynamodb_items_nested_past_32_levels_are_refused_at_their_position() {
    let item = |levels: usize| {
        let mut v = String::from("1");
        for _ in 0..levels {
            v = format!("{{\"a\":{v}}}");
        }
        format!("{{\"ID\":\"o-1\",\"sales\":5,\"deep\":{v}}}")
    };
    let line = |levels: usize| {
        format!(
            "{{\"timestamp\":\"2026-01-01T12:00:00Z\",\"partitionKey\":\"o-1\",\"data\":{}}}\n",
            item(levels)
        )
    };
    // 32 nested levels load and are marshalled as maps all the way down.
    let stream = load("ok.jsonl", &line(32), tumblescope::model::Source::Dynamodb);
    let event = first_event(&stream);
    let mut v = &event["Records"][0]["dynamodb"]["NewImage"]["deep"];
    for _ in 0..32 {
        v = &v["M"]["a"];
    }
    assert_eq!(v, &serde_json::json!({"N": "1"}));
    for levels in [33, 127, 200] {
        let text = line(levels);
        let err = load_err("deep.jsonl", &text, tumblescope::model::Source::Dynamodb);
        assert!(err.starts_with("deep.jsonl:1:"), "{err}");
        if levels < 127 {
            // The column is the bracket that opens the 33rd nested level.
            let col: usize = err.split(':').nth(2).unwrap().parse().unwrap();
            let opened = text[..col - 1].matches('{').count();
            // The line's and the item's own braces, then 32 allowed levels before it.
            assert_eq!(opened, 2 + 32, "{err}");
            assert_eq!(&text[col - 1..col], "{");
            assert!(err.contains("32 levels"), "{err}");
        }
    }
    // Kinesis payloads have no such limit.
    load(
        "deep.jsonl",
        &line(100),
        tumblescope::model::Source::Kinesis,
    );
}

#[test]
fn csv_values_stay_as_written_in_the_payload() {
    let csv = "timestamp,partitionKey,id,zip,phone,qty,sales\n\
               2026-01-01T12:00:00Z,007,007,02134,+15551234567,1e3,12.50\n";
    let stream = load("pos.csv", csv, tumblescope::model::Source::Kinesis);
    assert_eq!(stream.partition_key(0), "007");
    assert_eq!(
        std::str::from_utf8(&stream.payload(0)).unwrap(),
        r#"{"timestamp":"2026-01-01T12:00:00Z","partitionKey":"007","id":"007","zip":"02134","phone":"+15551234567","qty":1e3,"sales":12.50}"#
    );
    // The column used as a number is still read as one.
    let trace = run(&stream, &Settings::default(), "builtin:sum:sales");
    let fin = trace.invocations.iter().find(|i| i.is_final).unwrap();
    assert_eq!(fin.state_in.to_json_string(), r#"{"sales":12.5}"#);
}

// ---------------------------------------------------------------------------------------------
// 4–7. Hostile handlers: unbounded output, invalid responses, unstable paths, stray processes.

use common::available;

/// Writes a handler file into a fresh folder and returns its path.
fn handler_file(dir: &str, name: &str, code: &str) -> std::path::PathBuf {
    let d = scratch(dir);
    let p = d.join(name);
    std::fs::write(&p, code).unwrap();
    p
}

fn run_user(
    stream: &tumblescope::model::stream::Stream,
    settings: &Settings,
    spec: &str,
) -> tumblescope::sim::Trace {
    let mut h = tumblescope::handlers::from_spec(spec).unwrap();
    tumblescope::sim::simulate(stream, settings, h.as_mut()).unwrap()
}

fn log_bytes(inv: &tumblescope::sim::Invocation) -> usize {
    inv.logs().iter().map(String::len).sum()
}

#[test]
fn a_handler_printing_100_mb_keeps_one_megabyte_of_logs_marked() {
    if !available("node") {
        return;
    }
    let h = handler_file(
        "noisy-node",
        "noisy.js",
        "exports.handler = async (event) => {\n\
           console.log('x'.repeat(100 * 1024 * 1024));\n\
           for (let i = 0; i < 20000; i++) console.log('line ' + i + ' ' + 'y'.repeat(100));\n\
           process.stdout.write('z'.repeat(3 * 1024 * 1024));\n\
           return { state: {} };\n\
         };\n",
    );
    let stream = kinesis(1, &[(0, "a", 5), (40_000, "a", 6)]);
    let trace = run_user(&stream, &Settings::default(), &h.display().to_string());
    let agg = &trace.invocations[0];
    assert_eq!(agg.status, Status::Ok);
    let logs = agg.logs();
    // The 100 MB line is cut at 256 KB and says how much was left out.
    let prefix = logs[0].find('x').unwrap();
    assert_eq!(
        logs[0],
        format!(
            "{}{} … {} bytes more",
            &logs[0][..prefix],
            "x".repeat(256 * 1024 - prefix),
            100 * 1024 * 1024 + prefix - 256 * 1024
        )
    );
    assert!(log_bytes(agg) <= 1_048_576 + 512, "{}", log_bytes(agg));
    let last = logs.last().unwrap();
    assert!(
        last.starts_with("… ") && last.contains(" bytes more (tumblescope keeps 1048576 bytes"),
        "{last}"
    );
}

#[test]
fn a_python_handler_printing_until_its_timeout_keeps_bounded_logs() {
    if !available("python3") {
        return;
    }
    let h = handler_file(
        "noisy-python",
        "noisy.py",
        "import sys\n\
         def lambda_handler(event, context):\n\
         \x20   while True:\n\
         \x20       print('w' * 4096)\n",
    );
    let stream = kinesis(1, &[(0, "a", 5)]);
    let settings = Settings {
        timeout_ms: 1_500,
        max_retry_attempts: 0,
        ..Settings::default()
    };
    let trace = run_user(&stream, &settings, &h.display().to_string());
    let inv = &trace.invocations[0];
    assert_eq!(inv.error().unwrap().error_type, "Sandbox.Timedout");
    assert!(log_bytes(inv) <= 1_048_576 + 512, "{}", log_bytes(inv));
    let last = inv.logs().last().unwrap();
    assert_eq!(
        last,
        "… further output left out (tumblescope keeps 1048576 bytes of log text per invocation)"
    );
}

#[test]
fn a_python_response_with_nan_fails_at_once_as_lambda_does() {
    if !available("python3") {
        return;
    }
    let h = handler_file(
        "nan-python",
        "nan.py",
        "def lambda_handler(event, context):\n    return {'state': {'avg': float('nan'), 'top': float('inf')}}\n",
    );
    let stream = kinesis(1, &[(0, "a", 5)]);
    let settings = Settings {
        // A timeout would take a minute: the failure must come from the response itself.
        timeout_ms: 60_000,
        max_retry_attempts: 1,
        ..Settings::default()
    };
    let trace = run_user(&stream, &settings, &h.display().to_string());
    let errors: Vec<_> = trace
        .invocations
        .iter()
        .filter(|i| i.kind == tumblescope::sim::Kind::Aggregate)
        .map(|i| i.error().cloned().unwrap())
        .collect();
    assert_eq!(errors.len(), 2);
    for e in &errors {
        assert_eq!(e.error_type, "Runtime.MarshalError");
        assert_eq!(
            e.error_message,
            "Unable to marshal response: Out of range float values are not JSON compliant"
        );
    }
    assert_eq!(trace.discards[0].condition, "RetryAttemptsExhausted");
}

#[test]
fn thrown_errors_show_stable_paths_and_identical_runs_match() {
    if !available("node") {
        return;
    }
    let h = handler_file(
        "throws-node",
        "throws.js",
        "exports.handler = async () => { console.log(new Error('here').stack); throw new Error('boom'); };\n",
    );
    let stream = kinesis(1, &[(0, "a", 5)]);
    let settings = Settings {
        max_retry_attempts: 0,
        ..Settings::default()
    };
    let spec = h.display().to_string();
    let a = common::render(&run_user(&stream, &settings, &spec));
    let b = common::render(&run_user(&stream, &settings, &spec));
    assert_eq!(a, b);
    let trace = run_user(&stream, &settings, &spec);
    let inv = &trace.invocations[0];
    let text = format!("{:?} {:?}", inv.error(), inv.logs());
    assert!(!text.contains("tumblescope-harness-"), "{text}");
    assert!(
        text.contains("tumblescope-harness/node_harness.js"),
        "{text}"
    );
    assert!(text.contains(&format!("{}:1:", h.display())), "{text}");
}

/// Whether `check` holds within two seconds (processes appear in and leave /proc a moment
/// after the calls that start and end them return).
#[cfg(target_os = "linux")]
fn eventually(check: impl Fn() -> bool) -> bool {
    (0..100).any(|_| {
        if check() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        false
    })
}

/// Whether a process whose command line contains `marker` is alive (read from /proc, so the
/// test needs no procps).
#[cfg(target_os = "linux")]
fn alive_with(marker: &str) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        // A zombie is dead already, only not yet reaped by its parent.
        let zombie = stat
            .rsplit_once(") ")
            .is_some_and(|(_, r)| r.starts_with('Z'));
        !zombie
            && String::from_utf8_lossy(&cmdline)
                .replace('\0', " ")
                .contains(marker)
    })
}

#[cfg(target_os = "linux")]
#[test]
fn processes_a_handler_starts_end_with_the_run() {
    if !available("node") {
        return;
    }
    let marker = format!("31{}7", std::process::id() % 10_000);
    let h = handler_file(
        "spawns-node",
        "spawns.js",
        &format!(
            "const {{ spawn }} = require('child_process');\n\
             exports.handler = async () => {{ spawn('sleep', ['{marker}'], {{ stdio: 'ignore' }}); return {{ state: {{}} }}; }};\n"
        ),
    );
    let stream = kinesis(1, &[(0, "a", 5)]);
    // The check itself sees a live process with the marker (killed before any assertion, so
    // a failure here leaves nothing behind).
    let mut probe = Command::new("sleep").arg(&marker).spawn().unwrap();
    let seen = eventually(|| alive_with(&marker));
    probe.kill().unwrap();
    probe.wait().unwrap();
    assert!(seen, "a live sleep {marker} was not found in /proc");
    assert!(eventually(|| !alive_with(&marker)));
    run_user(&stream, &Settings::default(), &h.display().to_string());
    // The run has ended and its runtime is dropped: the grandchild went with its group.
    assert!(
        eventually(|| !alive_with(&marker)),
        "sleep {marker} outlived the run"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_signal_ends_the_runtime_group_and_removes_the_harness_folder() {
    if !available("node") {
        return;
    }
    let marker = format!("32{}9", std::process::id() % 10_000);
    let h = handler_file(
        "signal-node",
        "hangs.js",
        &format!(
            "const {{ spawn }} = require('child_process');\n\
             exports.handler = async () => {{ spawn('sleep', ['{marker}'], {{ stdio: 'ignore' }}); await new Promise(() => {{}}); }};\n"
        ),
    );
    let tmp = scratch("signal-tmp");
    for signal in ["TERM", "INT"] {
        let mut child = bin()
            .env("TMPDIR", &tmp)
            .args(["run", "--count", "3", "--timeout-ms", "60000", "--handler"])
            .arg(&h)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Wait until the handler is running (its grandchild exists).
        let waited = (0..100).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(50));
            alive_with(&marker)
        });
        assert!(waited, "the handler never started");
        let harness: Vec<_> = std::fs::read_dir(&tmp).unwrap().collect();
        assert_eq!(harness.len(), 1, "one harness folder while running");
        let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
        let sig = if signal == "TERM" {
            rustix::process::Signal::TERM
        } else {
            rustix::process::Signal::INT
        };
        rustix::process::kill_process(pid, sig).unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(130), "{signal}");
        assert!(
            eventually(|| !alive_with(&marker)),
            "{signal}: sleep {marker} outlived the run"
        );
        assert_eq!(
            std::fs::read_dir(&tmp).unwrap().count(),
            0,
            "{signal}: the harness folder is left behind"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 9. Smaller ones: AWS's ranges and limits, plausible times, honest captures, shard fields.

fn run_file(name: &str, text: &[u8], args: &[&str]) -> std::process::Output {
    let dir = scratch(&format!("small-{}", name.replace('.', "-")));
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    let out = bin()
        .arg("run")
        .arg("-i")
        .arg(&path)
        .args(args)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    out
}

fn order_line(ts: &str, pk: &str, data: &str) -> String {
    format!("{{\"timestamp\":{ts},\"partitionKey\":\"{pk}\",\"data\":{data}}}\n")
}

#[test]
fn record_age_below_60_is_refused_like_aws() {
    for age in ["0", "30", "59"] {
        let out = bin()
            .args(["run", "--count", "5", "--max-record-age", age])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(
            stderr(&out).contains(&format!(
                "MaximumRecordAgeInSeconds = {age} is out of range: valid values are -1 (infinite) or 60–604800 seconds"
            )),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn records_past_kinesis_or_lambda_limits_are_reported_not_sent() {
    let big = format!("{{\"blob\":\"{}\"}}", "a".repeat(10 * 1024 * 1024 - 20));
    let mut text = order_line("1767268800", "k", r#"{"Item":{"sales":1}}"#);
    text.push_str(&order_line("1767268801", "k", &big));
    // Over the stream's default 1 MiB maximum record size.
    let out = run_file("big.jsonl", text.as_bytes(), &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("record 2 on shardId-"), "{err}");
    assert!(
        err.contains(
            "over the stream's maximum record size of 1048576 bytes (MaxRecordSizeInKiB 1024"
        ),
        "{err}"
    );
    // A stream raised to 10 MiB takes it, but no event carrying it fits in 6 MB.
    let out = run_file(
        "big.jsonl",
        text.as_bytes(),
        &["--max-record-size-kib", "10240"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("can never be delivered: an event carrying it alone is"),
        "{err}"
    );
    assert!(
        err.contains("over Lambda's invocation payload limit of 6291456 bytes"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn milliseconds_given_as_seconds_are_refused_with_a_hint() {
    let text = order_line("1767268800000", "k", r#"{"Item":{"sales":1}}"#);
    let out = run_file("ms.jsonl", text.as_bytes(), &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("ms.jsonl:1:14: timestamp is outside the years 1970–9999"),
        "{err}"
    );
    assert!(err.contains("would be the year 57972"), "{err}");
    assert!(err.contains("milliseconds"), "{err}");
    let csv = "ts,partitionKey,sales\n-5,k,1\n";
    let out = run_file(
        "neg.csv",
        csv.as_bytes(),
        &["--ts-field", "ts", "--ts-unit", "seconds"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("neg.csv:2:1: timestamp is outside the years 1970–9999"),
        "{}",
        stderr(&out)
    );
}

fn kinesis_event(seq: &str, source: &str) -> String {
    format!(
        r#"{{"Records":[{{"kinesis":{{"kinesisSchemaVersion":"1.0","partitionKey":"k","sequenceNumber":"{seq}","data":"e30=","approximateArrivalTimestamp":1767268801.25}},"eventSource":"{source}","eventID":"shardId-000000000000:1"}}]}}"#
    )
}

#[test]
fn captures_with_impossible_sequence_numbers_or_sources_are_refused() {
    let out = run_file(
        "seq.json",
        kinesis_event("abc", "aws:kinesis").as_bytes(),
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("seq.json:1:"), "{err}");
    assert!(
        err.contains("kinesis.sequenceNumber \"abc\" is not a sequence number"),
        "{err}"
    );
    let out = run_file("sqs.json", kinesis_event("123", "aws:sqs").as_bytes(), &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("eventSource is \"aws:sqs\""), "{err}");
    let col: usize = err.split(':').nth(3).unwrap().trim().parse().unwrap_or(0);
    let doc = kinesis_event("123", "aws:sqs");
    assert!(doc[col - 1..].starts_with("\"aws:sqs\""), "{err}");
    let out = run_file(
        "ok.json",
        kinesis_event("123", "aws:kinesis").as_bytes(),
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn shard_fields_may_not_mix_ids_and_indices_or_pass_4096() {
    let mixed = "{\"ts\":1767268800,\"pk\":\"a\",\"shard\":1,\"sales\":1}\n\
                 {\"ts\":1767268801,\"pk\":\"b\",\"shard\":\"shardId-000000000001\",\"sales\":2}\n";
    let args = [
        "--ts-field",
        "ts",
        "--pk-field",
        "pk",
        "--shard-field",
        "shard",
    ];
    let out = run_file("mixed.jsonl", mixed.as_bytes(), &args);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out)
            .contains("names shards both by index (1) and by id (\"shardId-000000000001\")"),
        "{}",
        stderr(&out)
    );
    let far = "{\"ts\":1767268800,\"pk\":\"a\",\"shard\":5000,\"sales\":1}\n";
    let out = run_file("far.jsonl", far.as_bytes(), &args);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("far.jsonl:1:") && stderr(&out).contains("a shard index (0–4095)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn generate_refuses_a_partition_key_run_would_refuse() {
    let key = "k".repeat(300);
    let out = bin()
        .args([
            "generate",
            "--count",
            "2",
            "--keys",
            &format!("fixed:{key}"),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("fixed key is 300 characters"),
        "{}",
        stderr(&out)
    );
    // Colons belong to the key.
    let out = bin()
        .args(["generate", "--count", "1", "--keys", "fixed:store:01"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"partitionKey\":\"store:01\""));
}

#[test]
fn a_byte_order_mark_is_accepted_by_every_format() {
    let bom = b"\xef\xbb\xbf";
    let samples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data");
    for (name, args) in [
        ("orders.jsonl", &[][..]),
        ("kinesis-event.json", &[][..]),
        ("dynamodb-get-records.json", &["--source", "dynamodb"][..]),
        (
            "pos-export.csv",
            &["--ts-field", "sold_at", "--pk-field", "store"][..],
        ),
    ] {
        let text = std::fs::read(samples.join(name)).unwrap();
        let plain = run_file(name, &text, &[&["--format", "json"], args].concat());
        assert!(plain.status.success(), "{name}: {}", stderr(&plain));
        let with_bom = run_file(
            name,
            &[&bom[..], &text].concat(),
            &[&["--format", "json"], args].concat(),
        );
        assert!(with_bom.status.success(), "{name}: {}", stderr(&with_bom));
        assert_eq!(with_bom.stdout, plain.stdout, "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// Property tests with the shapes that found these defects.

mod shapes {
    use super::*;
    use base64::Engine as _;
    use proptest::prelude::*;

    /// A DynamoDB number's text: up to 38 significant digits, signs and fractions.
    fn number_text() -> impl Strategy<Value = String> {
        (
            any::<bool>(),
            "[1-9][0-9]{0,37}",
            proptest::option::of("[0-9]{1,10}"),
        )
            .prop_map(|(neg, int, frac)| {
                let mut s = if neg { "-".to_owned() } else { String::new() };
                s.push_str(&int);
                if let Some(f) = frac {
                    s.push('.');
                    s.push_str(&f);
                }
                s
            })
    }

    fn b64() -> impl Strategy<Value = String> {
        prop::collection::vec(any::<u8>(), 0..24)
            .prop_map(|b| base64::engine::general_purpose::STANDARD.encode(b))
    }

    /// Every DynamoDB attribute type, nested a few levels.
    fn attribute() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::json;
        let leaf = prop_oneof![
            "\\PC{0,12}".prop_map(|s| json!({ "S": s })),
            number_text().prop_map(|n| json!({ "N": n })),
            b64().prop_map(|b| json!({ "B": b })),
            any::<bool>().prop_map(|b| json!({ "BOOL": b })),
            Just(json!({ "NULL": true })),
            prop::collection::btree_set("[a-z]{1,6}", 1..4).prop_map(|s| json!({ "SS": s })),
            prop::collection::vec(number_text(), 1..4).prop_map(|s| json!({ "NS": s })),
            prop::collection::vec(b64(), 1..3).prop_map(|s| json!({ "BS": s })),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(|l| json!({ "L": l })),
                prop::collection::btree_map("[a-z]{1,5}", inner, 0..4)
                    .prop_map(|m| json!({ "M": m })),
            ]
        })
    }

    /// A CSV cell of the shapes that used to change: leading zeros, signs, exponents, spaces.
    fn cell() -> impl Strategy<Value = String> {
        prop_oneof![
            "[+-]?[0-9]{0,6}(\\.[0-9]{0,3})?([eE][+-]?[0-9]{1,3})?",
            "[ ]?[0-9]{1,4}[ ]?",
            "\\PC{0,8}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn dynamodb_attributes_reach_the_event_exactly(
            attrs in prop::collection::btree_map("[a-z]{1,8}", attribute(), 1..6),
        ) {
            let mut image = serde_json::Map::new();
            image.insert("ID".into(), serde_json::json!({ "S": "o-1" }));
            for (k, v) in attrs {
                image.insert(format!("a_{k}"), v);
            }
            let image = serde_json::Value::Object(image);
            let doc = serde_json::json!({
                "Records": [{
                    "eventID": "e1", "eventName": "INSERT", "eventVersion": "1.1",
                    "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
                    "dynamodb": {
                        "ApproximateCreationDateTime": 1767268801,
                        "Keys": { "ID": { "S": "o-1" } },
                        "NewImage": image,
                        "SequenceNumber": "400000000000000000000000000001",
                        "SizeBytes": 60, "StreamViewType": "NEW_AND_OLD_IMAGES"
                    }
                }],
                "NextShardIterator": "x"
            });
            let stream = load("capture.json", &doc.to_string(), tumblescope::model::Source::Dynamodb);
            let event = first_event(&stream);
            prop_assert_eq!(&event["Records"][0]["dynamodb"]["NewImage"], &image);
            let text = serde_json::to_string(&event).unwrap();
            prop_assert!(text.contains(&image.to_string()));
        }

        #[test]
        fn csv_cells_keep_their_text(cells in prop::collection::vec(cell(), 1..5)) {
            let mut w = csv::Writer::from_writer(Vec::new());
            let mut header = vec!["timestamp".to_owned(), "partitionKey".to_owned()];
            header.extend((0..cells.len()).map(|k| format!("c{k}")));
            w.write_record(&header).unwrap();
            let mut row = vec!["2026-01-01T12:00:00Z".to_owned(), "k".to_owned()];
            row.extend(cells.iter().cloned());
            w.write_record(&row).unwrap();
            let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
            let stream = load("cells.csv", &text, tumblescope::model::Source::Kinesis);
            let bytes = stream.payload(0);
            let payload = std::str::from_utf8(&bytes).unwrap();
            let parsed: serde_json::Value = serde_json::from_str(payload).unwrap();
            for (k, c) in cells.iter().enumerate() {
                let key = format!("c{k}");
                // A number only when the text is, as written, a JSON number serde can hold.
                let number = c.trim() == c && serde_json::from_str::<serde_json::Number>(c).is_ok();
                let want = if number || c == "true" || c == "false" {
                    c.clone()
                } else {
                    serde_json::to_string(c).unwrap()
                };
                let needle = format!("\"{key}\":{want}");
                prop_assert!(payload.contains(&needle), "{} not in {}", needle, payload);
                if !number && c != "true" && c != "false" {
                    prop_assert_eq!(parsed[&key].as_str(), Some(c.as_str()));
                }
            }
        }

        #[test]
        fn dynamodb_nesting_is_kept_to_32_levels_and_refused_past(
            levels in 0usize..70,
            arrays in prop::collection::vec(any::<bool>(), 70),
        ) {
            let mut v = String::from("7");
            for a in arrays.iter().take(levels) {
                v = if *a { format!("[{v}]") } else { format!("{{\"x\":{v}}}") };
            }
            let line = format!(
                "{{\"timestamp\":\"2026-01-01T12:00:00Z\",\"partitionKey\":\"o-1\",\"data\":{{\"ID\":\"o-1\",\"v\":{v}}}}}\n"
            );
            let opts = tumblescope::ingest::LoadOptions {
                source: tumblescope::model::Source::Dynamodb,
                shards: 1,
                ..Default::default()
            };
            match tumblescope::ingest::load_bytes("deep.jsonl", line.as_bytes(), &opts) {
                Ok((stream, _)) => {
                    prop_assert!(levels <= 32, "{} levels loaded", levels);
                    let event = first_event(&stream);
                    let mut at = &event["Records"][0]["dynamodb"]["NewImage"]["v"];
                    for a in arrays.iter().take(levels).rev() {
                        at = if *a { &at["L"][0] } else { &at["M"]["x"] };
                    }
                    prop_assert_eq!(at, &serde_json::json!({"N": "7"}));
                }
                Err(e) => {
                    prop_assert!(levels > 32, "{} levels refused: {}", levels, e);
                    let m = e.to_string();
                    prop_assert!(m.starts_with("deep.jsonl:1:"), "{}", m);
                }
            }
        }
    }
}

#[test]
fn reserved_or_malformed_environment_variables_are_refused() {
    for (arg, want) in [
        (
            "AWS_REGION=eu-west-1",
            "environment variable AWS_REGION is reserved by Lambda",
        ),
        ("1BAD=x", "is not valid"),
        ("NOEQUALS", "is not KEY=VALUE"),
    ] {
        let out = bin()
            .args(["run", "--count", "3", "--env", arg])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{arg}");
        assert!(stderr(&out).contains(want), "{arg}: {}", stderr(&out));
    }
}
