//! Real Lambda handlers (Node.js and Python, from `sample-data/handlers/`) run through the engine:
//! results, captured writes and logs, and every kind of failure.
//!
//! Needs `node` and `python3`; `.ci/run` installs them and sets `TUMBLESCOPE_REQUIRE_RUNTIMES`
//! so a missing runtime fails CI instead of skipping.

mod common;

use std::path::PathBuf;
use std::process::Command;

use tumblescope::generate::{GenOptions, generate_stream};
use tumblescope::handlers::from_spec;
use tumblescope::model::Source;
use tumblescope::model::settings::Settings;
use tumblescope::model::stream::Stream;
use tumblescope::sim::trace::{Kind, Status, flags};
use tumblescope::sim::{self, SimError, Trace};

use common::available;

fn handler(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("sample-data/handlers")
        .join(name)
        .display()
        .to_string()
}

fn stream(source: Source, count: u64) -> Stream {
    generate_stream(
        &GenOptions {
            count,
            source,
            modify_fraction: if source == Source::Dynamodb { 0.2 } else { 0.0 },
            ..GenOptions::default()
        },
        Default::default(),
    )
}

fn run(stream: &Stream, settings: &Settings, spec: &str) -> Result<Trace, SimError> {
    let mut h = from_spec(spec).map_err(SimError::Handler)?;
    sim::simulate(stream, settings, h.as_mut())
}

fn totals(trace: &Trace, key: &str) -> Vec<i64> {
    trace
        .windows
        .iter()
        .map(|w| {
            w.final_state.as_ref().unwrap().to_json()[key]
                .as_i64()
                .unwrap_or(0)
        })
        .collect()
}

#[test]
fn node_kinesis_handler_with_sdk_v2_matches_the_builtin() {
    if !available("node") {
        return;
    }
    let s = stream(Source::Kinesis, 240);
    let settings = Settings::default();
    let trace = run(&s, &settings, &handler("kinesis-sales-v2.js")).unwrap();
    let builtin = run(&s, &settings, "builtin:sum:Item.sales").unwrap();
    assert_eq!(totals(&trace, "sales"), totals(&builtin, "sales"));
    assert_eq!(trace.invocations.len(), builtin.invocations.len());
    // Each final invocation stored its window with DocumentClient.put().promise().
    let finals: Vec<_> = trace
        .invocations
        .iter()
        .filter(|i| i.kind == Kind::Final)
        .collect();
    assert_eq!(finals.len(), trace.windows.len());
    for f in &finals {
        assert_eq!(f.writes().len(), 1);
        let w = &f.writes()[0];
        assert_eq!(w.table, "tumblingWindowsTotals");
        assert_eq!(w.item["sales"], f.state_in.to_json()["sales"]);
        assert!(
            f.logs()[0].contains("\tINFO\tFinal invocation for"),
            "{:?}",
            f.logs()
        );
        // The handler returns nothing on the final invocation: accepted, flagged (Q5).
        assert!(f.flags & flags::FINAL_WITHOUT_STATE != 0);
    }
    let agg = trace
        .invocations
        .iter()
        .find(|i| i.kind == Kind::Aggregate)
        .unwrap();
    assert!(agg.logs()[0].contains("Batch of"), "{:?}", agg.logs());
    assert!(agg.measured_us().is_some());
}

#[test]
fn node_esm_handler_with_sdk_v3_on_dynamodb() {
    if !available("node") {
        return;
    }
    let s = stream(Source::Dynamodb, 200);
    let trace = run(&s, &Settings::default(), &handler("dynamodb-sales-v3.mjs")).unwrap();
    let expected = run(&s, &Settings::default(), "builtin:sum:sales:events=INSERT").unwrap();
    assert_eq!(totals(&trace, "total"), totals(&expected, "sales"));
    let writes: Vec<_> = trace.invocations.iter().flat_map(|i| i.writes()).collect();
    assert_eq!(writes.len(), trace.windows.len());
    assert!(
        writes
            .iter()
            .all(|w| w.table == "salesByWindow" && w.item["total"].is_number())
    );
}

#[test]
fn callback_style_handler_reads_its_own_writes() {
    if !available("node") {
        return;
    }
    let s = stream(Source::Dynamodb, 200);
    let trace = run(
        &s,
        &Settings::default(),
        &handler("dynamodb-sales-callback.js"),
    )
    .unwrap();
    assert!(trace.invocations.iter().all(|i| i.status == Status::Ok));
    // The running row per shard grows window by window: each update saw the previous one.
    for shard in 0..s.shards.len() as u32 {
        let rows: Vec<_> = trace
            .invocations
            .iter()
            .filter(|i| i.shard == shard && i.kind == Kind::Final)
            .map(|i| i.writes()[0].item.clone())
            .collect();
        let mut expected_total = 0;
        for (k, row) in rows.iter().enumerate() {
            let window_sum = trace
                .windows
                .iter()
                .filter(|w| w.shard == shard)
                .nth(k)
                .unwrap()
                .final_state
                .as_ref()
                .unwrap()
                .to_json()["sum"]
                .as_i64()
                .unwrap();
            expected_total += window_sum;
            assert_eq!(row["windows"], k as i64 + 1);
            assert_eq!(row["total"], expected_total);
        }
    }
}

#[test]
fn python_handler_with_boto3_matches_the_builtin() {
    if !available("python3") {
        return;
    }
    let s = stream(Source::Kinesis, 200);
    let trace = run(&s, &Settings::default(), &handler("sales.py")).unwrap();
    let builtin = run(&s, &Settings::default(), "builtin:sum:Item.sales").unwrap();
    assert_eq!(totals(&trace, "sales"), totals(&builtin, "sales"));
    let fin = trace
        .invocations
        .iter()
        .find(|i| i.kind == Kind::Final)
        .unwrap();
    assert_eq!(fin.writes()[0].table, "tumblingWindowsTotals");
    assert_eq!(
        fin.writes()[0].item["sales"],
        fin.state_in.to_json()["sales"]
    );
    assert!(
        fin.logs()[0].starts_with("[INFO]\t2026-01-01T"),
        "{:?}",
        fin.logs()
    );
    let agg = trace
        .invocations
        .iter()
        .find(|i| i.kind == Kind::Aggregate)
        .unwrap();
    assert!(agg.logs()[0].starts_with("batch of"), "{:?}", agg.logs());
}

#[test]
fn thrown_errors_are_failed_invocations_then_retries_bisect_and_discards() {
    for (name, program, error_type) in [
        ("faulty-throws.js", "node", "RangeError"),
        ("faulty_throws.py", "python3", "ValueError"),
    ] {
        if !available(program) {
            continue;
        }
        let s = stream(Source::Kinesis, 200);
        let settings = Settings {
            max_retry_attempts: 1,
            bisect_on_error: true,
            retry_backoff_ms: 100,
            ..Settings::default()
        };
        let trace = run(&s, &settings, &handler(name)).unwrap();
        let failed: Vec<_> = trace
            .invocations
            .iter()
            .filter(|i| i.status == Status::Failed)
            .collect();
        assert!(!failed.is_empty(), "{name}");
        let e = failed[0].error().unwrap();
        assert_eq!(e.error_type, error_type, "{name}");
        assert!(
            e.error_message.contains("looks like a typo"),
            "{name}: {e:?}"
        );
        assert!(!e.stack_trace.is_empty(), "{name}");
        // Bisection narrows every failure to the one record that throws (sales of 97 or more)
        // and discards exactly those, each alone.
        let throwing: Vec<u32> = (0..s.len())
            .filter(|&i| {
                let v: serde_json::Value = serde_json::from_slice(&s.payload(i)).unwrap();
                v["Item"]["sales"].as_i64().unwrap() >= 97
            })
            .map(|i| i as u32)
            .collect();
        assert!(!throwing.is_empty(), "the stream has records that throw");
        let mut discarded: Vec<u32> = trace
            .discards
            .iter()
            .flat_map(|d| d.records.clone())
            .collect();
        discarded.sort_unstable();
        assert_eq!(discarded, throwing, "{name}");
        assert!(
            trace.discards.iter().all(|d| d.records.len() == 1),
            "{name}: bisected down to one record"
        );
        let builtin = run(&s, &settings, "builtin:sum:Item.sales:fail=Item.sales>=97").unwrap();
        assert_eq!(totals(&trace, "sales"), totals(&builtin, "sales"), "{name}");
    }
}

#[test]
fn a_missing_state_is_a_failure_explained() {
    if !available("node") {
        return;
    }
    let s = stream(Source::Kinesis, 20);
    let settings = Settings {
        max_retry_attempts: 1,
        ..Settings::default()
    };
    let trace = run(&s, &settings, &handler("faulty-forgets-state.js")).unwrap();
    let first = &trace.invocations[0];
    assert_eq!(first.status, Status::Failed);
    assert_eq!(
        first.error().unwrap().error_type,
        "Tumblescope.MissingState"
    );
    assert!(first.logs()[0].contains("total so far"));
    assert!(!trace.discards.is_empty());
}

#[test]
fn a_hanging_handler_times_out_and_the_runtime_restarts() {
    for (name, program) in [("faulty-hangs.js", "node"), ("faulty_hangs.py", "python3")] {
        if !available(program) {
            continue;
        }
        let s = stream(Source::Kinesis, 40);
        let settings = Settings {
            timeout_ms: 400,
            max_retry_attempts: 0,
            ..Settings::default()
        };
        let started = std::time::Instant::now();
        let trace = run(&s, &settings, &handler(name)).unwrap();
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{name}"
        );
        let timed_out: Vec<_> = trace
            .invocations
            .iter()
            .filter(|i| {
                i.error()
                    .is_some_and(|e| e.error_type == "Sandbox.Timedout")
            })
            .collect();
        assert_eq!(timed_out.len(), 1, "{name}");
        let t = timed_out[0];
        assert!(
            t.error()
                .unwrap()
                .error_message
                .contains("Task timed out after 0.40 seconds")
        );
        assert!(t.end_ms - t.start_ms >= 400, "a timeout lasts the timeout");
        assert!(
            !t.logs().is_empty(),
            "{name}: what it printed before hanging"
        );
        // Later invocations succeed in a fresh runtime.
        let after = trace
            .invocations
            .iter()
            .filter(|i| i.n > t.n && i.status == Status::Ok)
            .count();
        assert!(after > 0, "{name}");
    }
}

#[test]
fn exiting_handlers_fail_with_exit_errors_and_restart() {
    if available("node") {
        let s = stream(Source::Kinesis, 60);
        let settings = Settings {
            max_retry_attempts: 0,
            ..Settings::default()
        };
        let trace = run(&s, &settings, &handler("faulty-exits.js")).unwrap();
        let exits: Vec<_> = trace
            .invocations
            .iter()
            .filter(|i| {
                i.error()
                    .is_some_and(|e| e.error_type == "Runtime.ExitError")
            })
            .collect();
        assert!(!exits.is_empty());
        assert!(
            exits[0]
                .error()
                .unwrap()
                .error_message
                .contains("exit status 2")
        );
        assert!(
            exits[0].logs().iter().any(|l| l.contains("giving up")),
            "{:?}",
            exits[0].logs()
        );
        assert!(
            trace
                .invocations
                .iter()
                .any(|i| i.n > exits[0].n && i.status == Status::Ok)
        );
    }
    if available("python3") {
        let s = stream(Source::Kinesis, 6);
        let settings = Settings {
            stall_after_attempts: 3,
            max_retry_attempts: 0,
            ..Settings::default()
        };
        let trace = run(&s, &settings, &handler("faulty_exits.py")).unwrap();
        let e = trace.invocations[0].error().unwrap();
        assert_eq!(e.error_type, "Runtime.ExitError");
        assert!(e.error_message.contains("exit status 3"));
        assert_eq!(trace.invocations[0].logs(), ["exiting"]);
        assert!(
            !trace.stalls.is_empty(),
            "the final invocation keeps failing: the shard stalls"
        );
    }
}

#[test]
fn state_past_one_megabyte_terminates_the_window_early() {
    if !available("node") {
        return;
    }
    let s = stream(Source::Kinesis, 300);
    let trace = run(&s, &Settings::default(), &handler("faulty-big-state.js")).unwrap();
    let early: Vec<_> = trace
        .invocations
        .iter()
        .filter(|i| i.kind == Kind::Early)
        .collect();
    assert!(!early.is_empty());
    assert!(early[0].state_in.json_len() > 1_048_576);
    assert!(early[0].logs()[0].contains("flushing"));
}

#[test]
fn everything_a_handler_prints_is_captured_and_never_breaks_the_protocol() {
    if !available("node") {
        return;
    }
    let s = stream(Source::Kinesis, 40);
    let trace = run(&s, &Settings::default(), &handler("faulty-noisy.js")).unwrap();
    assert!(trace.invocations.iter().all(|i| i.status == Status::Ok));
    let logs = trace.invocations[0].logs();
    assert!(
        logs.iter().any(|l| l.ends_with("\tINFO\tlog 1")),
        "{logs:?}"
    );
    assert!(logs.iter().any(|l| l.ends_with("\tERROR\terr line")));
    assert!(logs.iter().any(|l| l == "raw stdout without newline"));
    assert!(logs.iter().any(|l| l.starts_with("\u{1e}TSR 0000")));
    assert!(logs.iter().any(|l| l == "raw stderr"));
    let n: i64 = totals(&trace, "n").iter().sum();
    assert_eq!(n, 40);
}

#[test]
fn load_errors_stop_the_run_before_it_starts() {
    if available("node") {
        let s = stream(Source::Kinesis, 5);
        let e = run(&s, &Settings::default(), &handler("faulty-syntax-error.js")).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("Runtime.UserCodeSyntaxError") && msg.contains("Unexpected token"),
            "{msg}"
        );
        let e = run(
            &s,
            &Settings::default(),
            &handler("faulty-missing-export.js"),
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("Runtime.HandlerNotFound") && msg.contains("it exports: main"),
            "{msg}"
        );
        let e = run(&s, &Settings::default(), "/nonexistent/handler.js").unwrap_err();
        assert!(e.to_string().contains("no such handler file"));
    }
    if available("python3") {
        let s = stream(Source::Kinesis, 5);
        let e = run(&s, &Settings::default(), &handler("faulty_syntax_error.py")).unwrap_err();
        assert!(e.to_string().contains("Runtime.UserCodeSyntaxError"), "{e}");
        let e = run(
            &s,
            &Settings::default(),
            &format!("{}:missing", handler("sales.py")),
        )
        .unwrap_err();
        assert!(e.to_string().contains("Runtime.HandlerNotFound"), "{e}");
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ts-handlers-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn stand_ins_take_precedence_and_credentials_never_reach_the_handler() {
    if !available("node") {
        return;
    }
    let dir = temp_dir("precedence");
    // A "real" SDK in node_modules that would reach AWS: it must never load.
    let sdk = dir.join("node_modules/aws-sdk");
    std::fs::create_dir_all(&sdk).unwrap();
    std::fs::write(
        sdk.join("index.js"),
        "throw new Error('the real aws-sdk was loaded');",
    )
    .unwrap();
    // The user's real credentials file, where HOME would lead a handler.
    let home = dir.join("home");
    std::fs::create_dir_all(home.join(".aws")).unwrap();
    std::fs::write(
        home.join(".aws/credentials"),
        "[default]\naws_access_key_id = AKIAREALKEY\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("env.js"),
        "const AWS = require('aws-sdk');\n\
         const fs = require('fs'), os = require('os'), path = require('path');\n\
         const read = (p) => { try { return fs.readFileSync(p, 'utf8'); } catch (e) { return null; } };\n\
         exports.handler = async (event, context) => ({ state: {\n\
           key: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY, token: process.env.AWS_SESSION_TOKEN,\n\
           profile: process.env.AWS_PROFILE || null, user: process.env.TUMBLESCOPE_TEST_USER_VAR || null,\n\
           creds: read(process.env.AWS_SHARED_CREDENTIALS_FILE), config: read(process.env.AWS_CONFIG_FILE),\n\
           homeCreds: read(path.join(os.homedir(), '.aws', 'credentials')),\n\
           handler: process.env._HANDLER, taskRoot: process.env.LAMBDA_TASK_ROOT, tz: process.env.TZ, table: process.env.TABLE_NAME,\n\
           region: process.env.AWS_REGION, remaining: context.getRemainingTimeInMillis() > 0, fn: context.functionName } });\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tumblescope"))
        .args([
            "run",
            "--count",
            "5",
            "--shards",
            "1",
            "--format",
            "json",
            "--env",
            "TABLE_NAME=orders-table",
            "--handler",
        ])
        .arg(dir.join("env.js"))
        .env("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("AWS_SESSION_TOKEN", "token")
        .env("AWS_PROFILE", "prod")
        .env("HOME", &home)
        .env("TUMBLESCOPE_TEST_USER_VAR", "leaked")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let state = &rows[0]["finalState"];
    // Stand-in credentials only: none of the user's values, no profile, no other variable.
    assert_eq!(state["key"], "ASIATUMBLESCOPEFAKE0");
    assert_ne!(state["secret"], "secret");
    assert_ne!(state["token"], "token");
    assert_eq!(state["profile"], serde_json::Value::Null);
    assert_eq!(state["user"], serde_json::Value::Null);
    // The shared files point at nothing, and HOME does not lead to the real credentials.
    assert_eq!(state["creds"], "");
    assert_eq!(state["config"], "");
    assert_eq!(state["homeCreds"], serde_json::Value::Null);
    // Lambda's reserved variables, and the function's own.
    assert_eq!(state["handler"], "env.handler");
    assert_eq!(
        std::path::Path::new(state["taskRoot"].as_str().unwrap()),
        std::fs::canonicalize(&dir).unwrap()
    );
    assert_eq!(state["tz"], ":UTC");
    assert_eq!(state["table"], "orders-table");
    assert_eq!(state["region"], "us-east-1");
    assert_eq!(state["remaining"], true);
    assert_eq!(state["fn"], "tumbling-window-aggregator");
}

#[test]
fn a_missing_runtime_names_what_to_install() {
    let empty = temp_dir("empty-path");
    for (file, what) in [
        ("sales.py", "Python is not installed"),
        ("kinesis-sales-v2.js", "Node.js is not installed"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_tumblescope"))
            .args(["run", "--count", "5", "--handler"])
            .arg(handler(file))
            .env("PATH", &empty)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(what), "{err}");
    }
    // Built-ins keep working without any runtime.
    let out = Command::new(env!("CARGO_BIN_EXE_tumblescope"))
        .args(["run", "--count", "5"])
        .env("PATH", &empty)
        .output()
        .unwrap();
    assert!(out.status.success());
}

#[test]
fn runs_with_user_handlers_are_reproducible() {
    if !available("node") {
        return;
    }
    let s = stream(Source::Kinesis, 120);
    let a = run(&s, &Settings::default(), &handler("kinesis-sales-v2.js")).unwrap();
    let b = run(&s, &Settings::default(), &handler("kinesis-sales-v2.js")).unwrap();
    let mut la = Vec::new();
    let mut lb = Vec::new();
    tumblescope::export::write_events_jsonl(&mut la, &s, &Settings::default(), &a).unwrap();
    tumblescope::export::write_events_jsonl(&mut lb, &s, &Settings::default(), &b).unwrap();
    assert_eq!(
        la, lb,
        "same input, settings and seed: the same invocation log"
    );
}

/// A Python handler that logs the event it received as JSON.
const ECHO_PY: &str = "import json\n\ndef lambda_handler(event, context):\n    print(json.dumps(event, ensure_ascii=False))\n    return {'state': {'n': len(event['Records'])}}\n";

/// A Node.js handler that logs the event it received as JSON.
const ECHO_JS: &str = "exports.handler = async (event) => { console.log(JSON.stringify(event)); return { state: { n: event.Records.length } }; };\n";

/// Both harnesses get Kinesis events in a shorter form and rebuild them: what the function
/// receives must be exactly the event Lambda sends (keys, order, values), for plain and escaped
/// partition keys, generated and stored sequence numbers, aggregating, final and windowless
/// invocations, in Node.js and in Python.
#[test]
fn handlers_receive_exactly_the_event_lambda_sends_from_the_short_form() {
    let dir = temp_dir("echo");
    let mut echoes = Vec::new();
    if available("node") {
        let js = dir.join("echo.js");
        std::fs::write(&js, ECHO_JS).unwrap();
        echoes.push(js);
    }
    if available("python3") {
        let py = dir.join("echo.py");
        std::fs::write(&py, ECHO_PY).unwrap();
        echoes.push(py);
    }
    let generated = stream(Source::Kinesis, 300);
    let mut b =
        tumblescope::model::stream::StreamBuilder::new(Source::Kinesis, 2, Default::default())
            .payloads_are_json(true);
    let keys = [
        "plain",
        "quote\"d",
        "back\\slash",
        "ünïcødé ☃",
        "tab\there",
        "</script>",
    ];
    for (k, key) in keys.iter().enumerate() {
        for r in 0..3u32 {
            b.push(tumblescope::model::stream::InputRecord {
                ts_ms: 1_767_268_800_000 + i64::from(r) * 40_000 + k as i64,
                partition_key: (*key).into(),
                shard: Some((k % 2) as u32),
                seq: Some(format!("4959{k}{r:052}")),
                data: format!(r#"{{"Item":{{"sales":{r},"note":"{key:?}"}}}}"#).into_bytes(),
                ..Default::default()
            });
        }
    }
    let stored = b.finish();
    let windowless = Settings {
        tumbling_window_s: 0,
        ..Settings::default()
    };
    for echo in &echoes {
        for (s, settings) in [
            (&generated, Settings::default()),
            (&stored, Settings::default()),
            (&stored, windowless.clone()),
        ] {
            assert_receives_exact_events(echo, s, &settings);
        }
    }
    std::fs::remove_dir_all(dir).ok();
}

/// JavaScript prints 1767268800.000 as 1767268800 and Python as 1767268800.0: numbers compare
/// as the doubles both are; everything else (keys, order, strings) exactly.
fn canonical(text: &str) -> String {
    fn numbers_as_f64(v: serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match v {
            Value::Number(n) => Value::from(n.as_f64().unwrap()),
            Value::Array(a) => Value::Array(a.into_iter().map(numbers_as_f64).collect()),
            Value::Object(o) => {
                Value::Object(o.into_iter().map(|(k, v)| (k, numbers_as_f64(v))).collect())
            }
            other => other,
        }
    }
    serde_json::to_string(&numbers_as_f64(serde_json::from_str(text).unwrap())).unwrap()
}

/// Runs an echo handler (it logs the event as JSON) and checks that every invocation's logged
/// event is the event Lambda sends.
fn assert_receives_exact_events(echo: &std::path::Path, s: &Stream, settings: &Settings) {
    let trace = run(s, settings, &echo.display().to_string()).unwrap();
    let mut checked = 0;
    for inv in &trace.invocations {
        let expected = inv.request(s, settings).event_json();
        let logged = inv
            .logs()
            .iter()
            .find_map(|l| l.find("{\"").map(|at| &l[at..]))
            .unwrap_or_else(|| panic!("no event logged: {:?}", inv.logs()));
        assert_eq!(
            canonical(logged),
            canonical(&expected),
            "{}",
            echo.display()
        );
        checked += 1;
    }
    assert!(checked > 2, "{checked}");
    assert!(
        trace.invocations.iter().any(|i| i.kind == Kind::Final) || settings.tumbling_window_s == 0
    );
}

/// Python and DynamoDB events too: the Python harness passes the event through `json.loads`
/// and the function must see Lambda's event exactly, Kinesis and DynamoDB alike (Node too).
#[test]
fn python_and_dynamodb_handlers_receive_exactly_the_event_lambda_sends() {
    let dir = temp_dir("echo-py");
    let py = dir.join("echo.py");
    std::fs::write(&py, ECHO_PY).unwrap();
    let js = dir.join("echo.js");
    std::fs::write(&js, ECHO_JS).unwrap();
    let kinesis = stream(Source::Kinesis, 200);
    let dynamodb = stream(Source::Dynamodb, 200);
    let windowless = Settings {
        tumbling_window_s: 0,
        ..Settings::default()
    };
    if available("python3") {
        for (s, settings) in [
            (&kinesis, Settings::default()),
            (&dynamodb, Settings::default()),
            (&dynamodb, windowless.clone()),
        ] {
            assert_receives_exact_events(&py, s, &settings);
        }
    }
    if available("node") {
        for settings in [Settings::default(), windowless] {
            assert_receives_exact_events(&js, &dynamodb, &settings);
        }
    }
    std::fs::remove_dir_all(dir).ok();
}

/// Responses Lambda cannot return fail the invocation with Lambda's error types: a response
/// over 6 MB is `Function.ResponseSizeTooLarge`, one that cannot be serialized (a Python set,
/// a JavaScript BigInt) is `Runtime.MarshalError`.
#[test]
fn unreturnable_responses_fail_with_lambdas_errors() {
    let dir = temp_dir("responses");
    let cases = [
        (
            "big.js",
            "node",
            "exports.handler = async () => ({ state: { pad: 'x'.repeat(7000000) } });\n",
            "Function.ResponseSizeTooLarge",
            "Response payload size (7000020 bytes) exceeded maximum allowed payload size (6291456 bytes).",
        ),
        (
            "big.py",
            "python3",
            "def lambda_handler(event, context):\n    return {'state': {'pad': 'x' * 7000000}}\n",
            "Function.ResponseSizeTooLarge",
            "Response payload size (7000020 bytes) exceeded maximum allowed payload size (6291456 bytes).",
        ),
        (
            "set.py",
            "python3",
            "def lambda_handler(event, context):\n    return {'state': {'s': {1, 2}}}\n",
            "Runtime.MarshalError",
            "Unable to marshal response: Object of type set is not JSON serializable",
        ),
        (
            "bigint.js",
            "node",
            "exports.handler = async () => ({ state: { n: 10n } });\n",
            "Runtime.MarshalError",
            "Unable to stringify response body: Do not know how to serialize a BigInt",
        ),
    ];
    let s = stream(Source::Kinesis, 3);
    let settings = Settings {
        max_retry_attempts: 0,
        // Finals fail the same way and are never discarded: stop their shard soon.
        stall_after_attempts: 1,
        ..Settings::default()
    };
    for (name, program, code, error_type, message) in cases {
        if !available(program) {
            continue;
        }
        let path = dir.join(name);
        std::fs::write(&path, code).unwrap();
        let trace = run(&s, &settings, &path.display().to_string()).unwrap();
        let first = &trace.invocations[0];
        assert_eq!(first.status, Status::Failed, "{name}");
        let e = first.error().unwrap();
        assert_eq!(
            (e.error_type.as_str(), e.error_message.as_str()),
            (error_type, message),
            "{name}"
        );
        assert!(
            !trace.discards.is_empty(),
            "{name}: the batch is discarded after its attempt"
        );
    }
    std::fs::remove_dir_all(dir).ok();
}

/// A timeout kills the runtime; the next one starts with the table as the earlier invocations
/// left it, including what the timed-out one wrote before it hung (in AWS a DynamoDB write that
/// succeeded stays, whatever the function does next).
#[test]
fn the_table_is_restored_after_a_timeout() {
    if !available("node") {
        return;
    }
    let dir = temp_dir("restore");
    let path = dir.join("counter.js");
    std::fs::write(
        &path,
        "const AWS = require('aws-sdk');\nconst db = new AWS.DynamoDB.DocumentClient();\n\
         exports.handler = async (event) => {\n\
           if (event.isFinalInvokeForWindow) return { state: event.state };\n\
           const got = await db.get({ TableName: 'c', Key: { id: 'n' } }).promise();\n\
           const n = got.Item ? got.Item.v : 0;\n\
           console.log('seen', n);\n\
           await db.put({ TableName: 'c', Item: { id: 'n', v: n + 1 } }).promise();\n\
           if (n === 1) await new Promise(() => {});\n\
           return { state: { n } };\n\
         };\n",
    )
    .unwrap();
    // One record every 1.5 s on one shard: one invocation each.
    let opts = tumblescope::generate::GenOptions {
        count: 4,
        interval_ms: 1_500.0,
        jitter: 0.0,
        shards: 1,
        ..Default::default()
    };
    let s = tumblescope::generate::generate_stream(&opts, Default::default());
    let settings = Settings {
        timeout_ms: 300,
        max_retry_attempts: 1,
        ..Settings::default()
    };
    let trace = run(&s, &settings, &path.display().to_string()).unwrap();
    let seen: Vec<String> = trace
        .invocations
        .iter()
        .filter(|i| i.kind == Kind::Aggregate)
        .map(|i| {
            let line = i.logs().iter().find(|l| l.contains("seen")).unwrap();
            line.rsplit('\t').next().unwrap().to_owned()
        })
        .collect();
    // The first invocation writes 1; the second reads it, writes 2 and hangs; its retry runs
    // in a new runtime whose replayed table holds 2 (one item: the second put replaced the
    // first), and goes on.
    assert_eq!(seen[..3], ["seen 0", "seen 1", "seen 2"]);
    let timed_out: Vec<_> = trace
        .invocations
        .iter()
        .filter(|i| {
            i.error()
                .is_some_and(|e| e.error_type == "Sandbox.Timedout")
        })
        .collect();
    assert_eq!(timed_out.len(), 1);
    assert_eq!(
        timed_out[0].writes().len(),
        1,
        "the attempt shows the write it made"
    );
    assert_eq!(timed_out[0].writes()[0].item["v"], 2);
    std::fs::remove_dir_all(dir).ok();
}

/// Lambda runs concurrently processed shards in different execution environments, so a
/// handler's module-level variables never see another shard (the default: one runtime per
/// shard, a modelling choice); `--shared-runtime` keeps one process, and they do. The stand-in
/// table is shared either way. Each environment's first invocation is a cold start, with the
/// modelled init duration added to its time.
#[test]
fn the_module_state_scenario_shows_one_shard_per_environment() {
    if !available("node") {
        return;
    }
    let s = tumblescope::scenarios::by_id("module-state").unwrap();
    let spec = tumblescope::run::RunSpec::scenario(&s);
    let (stream, _) = tumblescope::run::build_stream(&spec, &mut Default::default()).unwrap();
    let sim = tumblescope::run::simulate(&spec, &stream, &mut Default::default()).unwrap();
    let aggregates: Vec<_> = sim
        .trace
        .invocations
        .iter()
        .filter(|i| i.kind == Kind::Aggregate)
        .collect();
    assert!(!aggregates.is_empty());
    for inv in aggregates {
        assert_eq!(inv.status, Status::Ok, "{:?}", inv.error());
        let state = inv.state_out.as_ref().unwrap().to_json();
        assert_eq!(
            state["shards"],
            stream.shards[inv.shard as usize].id.as_str()
        );
    }
}

#[test]
fn each_shard_runs_in_its_own_environment_unless_the_runtime_is_shared() {
    if !available("node") {
        return;
    }
    let stream = stream(Source::Kinesis, 300);
    let spec = handler("module-state.js");
    let shards: Vec<String> = stream.shards.iter().map(|s| s.id.clone()).collect();
    let seen_by = |trace: &Trace| -> Vec<(u32, String)> {
        trace
            .invocations
            .iter()
            .filter(|i| i.kind == Kind::Aggregate && i.status == Status::Ok)
            .map(|i| {
                let s = i.state_out.as_ref().unwrap().to_json();
                (i.shard, s["shards"].as_str().unwrap().to_owned())
            })
            .collect()
    };
    let settings = Settings::default();
    let own = run(&stream, &settings, &spec).unwrap();
    for (shard, seen) in seen_by(&own) {
        assert_eq!(
            seen, shards[shard as usize],
            "a shard's runtime saw only that shard"
        );
    }
    let cold: Vec<_> = own
        .invocations
        .iter()
        .filter(|i| i.flags & flags::COLD_START != 0)
        .collect();
    assert_eq!(cold.len(), shards.len());
    let first_of = |s: u32| own.invocations.iter().find(|i| i.shard == s).unwrap().n;
    assert!(cold.iter().all(|i| i.n == first_of(i.shard)));
    let records = cold[0].record_count();
    assert_eq!(
        cold[0].end_ms - cold[0].start_ms,
        settings.duration_ms(records) + 200
    );
    // The table is one table: the last final read back every window stored by every shard.
    let finals: Vec<_> = own
        .invocations
        .iter()
        .filter(|i| i.is_final && i.status == Status::Ok)
        .collect();
    let last = finals.last().unwrap();
    assert_eq!(
        last.state_out.as_ref().unwrap().to_json()["stored"],
        finals.len().to_string()
    );

    let shared = Settings {
        shared_runtime: true,
        ..Settings::default()
    };
    let one = run(&stream, &shared, &spec).unwrap();
    assert!(
        seen_by(&one)
            .iter()
            .any(|(_, seen)| *seen == shards.join(",")),
        "one runtime sees both"
    );
    assert_eq!(
        one.invocations
            .iter()
            .filter(|i| i.flags & flags::COLD_START != 0)
            .count(),
        1
    );

    // Recycling after 3 invocations: a cold start every third invocation of a shard.
    let recycled = Settings {
        recycle_after_invocations: 3,
        ..Settings::default()
    };
    let r = run(&stream, &recycled, &spec).unwrap();
    for s in 0..shards.len() as u32 {
        let on: Vec<_> = r.invocations.iter().filter(|i| i.shard == s).collect();
        for (k, i) in on.iter().enumerate() {
            assert_eq!(
                i.flags & flags::COLD_START != 0,
                k % 3 == 0,
                "shard {s} invocation {k}"
            );
        }
    }
    // Deterministic: the same run twice gives the same trace.
    assert_eq!(
        render_times(&own),
        render_times(&run(&stream, &settings, &spec).unwrap())
    );

    // Past the simulator's environment limit the shard's invocation fails, saying why.
    let capped = Settings {
        max_environments: 1,
        ..Settings::default()
    };
    let c = run(&stream, &capped, &spec).unwrap();
    let e = c
        .invocations
        .iter()
        .find_map(|i| i.error())
        .expect("a refused invocation");
    assert_eq!(e.error_type, "Tumblescope.EnvironmentLimit");
    assert!(
        e.error_message
            .contains("raise --max-environments or use --shared-runtime"),
        "{e:?}"
    );
}

fn render_times(t: &Trace) -> Vec<(u32, i64, i64, u8)> {
    t.invocations
        .iter()
        .map(|i| (i.n, i.start_ms, i.end_ms, i.flags))
        .collect()
}

/// The run's `--events` trace and results, as bytes.
fn outputs(stream: &Stream, settings: &Settings, trace: &Trace) -> (String, String) {
    let mut events = Vec::new();
    tumblescope::export::write_events_jsonl(&mut events, stream, settings, trace).unwrap();
    (
        String::from_utf8(events).unwrap(),
        tumblescope::export::results_json(stream, trace),
    )
}

/// A handler that logs its request id, fails once per environment on a marked record (then
/// succeeds on the retry), and writes each window's total to the stand-in table; with `read`,
/// it also reads the running total back first.
fn side_by_side_handler(dir: &std::path::Path, read: bool, python: bool) -> String {
    let (name, src) = if python {
        (
            "side.py",
            format!(
                r#"import boto3
table = boto3.resource("dynamodb").Table("totals")
failed = set()
def lambda_handler(event, context):
    print("request", context.aws_request_id)
    n = int(event["state"].get("n", 0))
    for r in event["Records"]:
        if r["kinesis"]["sequenceNumber"].endswith("7") and r["kinesis"]["partitionKey"] not in failed:
            failed.add(r["kinesis"]["partitionKey"])
            raise ValueError("marked record")
        n += 1
    if event["isFinalInvokeForWindow"]:
        before = table.get_item(Key={{"id": "all"}}).get("Item", {{}}).get("n", 0) if {read} else 0
        table.put_item(Item={{"id": event["shardId"], "n": n + int(before)}})
    return {{"state": {{"n": n}}}}
"#,
                read = if read { "True" } else { "False" }
            ),
        )
    } else {
        (
            "side.js",
            format!(
                r#"const AWS = require('aws-sdk');
const db = new AWS.DynamoDB.DocumentClient();
const failed = new Set();
exports.handler = async (event, context) => {{
  console.log('request', context.awsRequestId);
  let n = event.state.n || 0;
  for (const r of event.Records) {{
    if (r.kinesis.sequenceNumber.endsWith('7') && !failed.has(r.kinesis.partitionKey)) {{
      failed.add(r.kinesis.partitionKey);
      throw new Error('marked record');
    }}
    n += 1;
  }}
  if (event.isFinalInvokeForWindow) {{
    const before = {read} ? ((await db.get({{ TableName: 'totals', Key: {{ id: 'all' }} }}).promise()).Item || {{}}).n || 0 : 0;
    await db.put({{ TableName: 'totals', Item: {{ id: event.shardId, n: n + before }} }}).promise();
  }}
  return {{ state: {{ n }} }};
}};
"#
            ),
        )
    };
    let path = dir.join(name);
    std::fs::write(&path, src).unwrap();
    path.display().to_string()
}

/// With a runtime per shard, shards run side by side, each runtime on a thread of its own,
/// and the trace is byte for byte the one a run in order makes: request ids are the shard's
/// own, environments are numbered in start order, retries, cold starts, recycling and table
/// writes land as in order. A handler that reads the table after another shard wrote to it
/// is run again in order, since side by side it could have read something else.
#[test]
fn shards_run_side_by_side_with_the_trace_of_a_run_in_order() {
    use tumblescope::sim::trace::RanOn;
    let dir = temp_dir("side-by-side");
    let stream = generate_stream(
        &GenOptions {
            count: 600,
            shards: 4,
            interval_ms: 250.0,
            keys: tumblescope::generate::KeyStrategy::Uniform { n: 40 },
            ..GenOptions::default()
        },
        Default::default(),
    );
    let settings = Settings {
        batch_size: 25,
        tumbling_window_s: 60,
        recycle_after_invocations: 50,
        max_retry_attempts: 3,
        ..Settings::default()
    };
    let in_order = Settings {
        shards_in_order: true,
        ..settings.clone()
    };
    for python in [false, true] {
        if !available(if python { "python3" } else { "node" }) {
            continue;
        }
        for read in [false, true] {
            let spec = side_by_side_handler(&dir, read, python);
            let one = run(&stream, &in_order, &spec).unwrap();
            let side = run(&stream, &settings, &spec).unwrap();
            let what = format!("python {python}, read {read}");
            assert_eq!(one.ran_on, RanOn::OneThread, "{what}");
            let expected = if read {
                RanOn::InOrderAfterTableRead
            } else {
                RanOn::Threads(4)
            };
            assert_eq!(side.ran_on, expected, "{what}");
            // It did the things the merge must get right.
            assert!(
                one.invocations.iter().any(|i| i.status == Status::Failed),
                "{what}"
            );
            assert!(
                one.invocations.iter().any(|i| i.environment() == Some(8)),
                "{what}"
            );
            assert!(
                one.invocations.iter().any(|i| !i.writes().is_empty()),
                "{what}"
            );
            let logged: std::collections::HashSet<&str> = one
                .invocations
                .iter()
                .flat_map(|i| i.logs())
                .filter(|l| l.contains("request"))
                .map(|l| l.as_str())
                .collect();
            assert!(
                logged.len() > 100,
                "{what}: request ids are unique per invocation"
            );
            let (a, b) = (
                outputs(&stream, &in_order, &one),
                outputs(&stream, &settings, &side),
            );
            assert!(a.0 == b.0, "{what}: the --events traces differ");
            assert_eq!(a.1, b.1, "{what}");
        }
    }
    std::fs::remove_dir_all(dir).ok();
}

/// A slow user handler's run reports progress by time, not only every few thousand records,
/// so the app's bar moves (records and invocations so far) instead of sitting at zero.
#[test]
fn a_slow_handler_reports_progress_as_it_goes() {
    if !available("node") {
        return;
    }
    let dir = temp_dir("slow-progress");
    let path = dir.join("slow.js");
    std::fs::write(
        &path,
        "exports.handler = async (e) => { await new Promise((r) => setTimeout(r, 40)); return { state: {} }; };\n",
    )
    .unwrap();
    let stream = generate_stream(
        &GenOptions {
            count: 60,
            shards: 1,
            interval_ms: 1000.0,
            ..GenOptions::default()
        },
        Default::default(),
    );
    let mut seen = Vec::new();
    let mut on = |p: sim::Progress| seen.push(p);
    let mut control = sim::Control {
        cancel: None,
        progress: Some(&mut on),
    };
    let mut h = from_spec(&path.display().to_string()).unwrap();
    let trace =
        sim::simulate_with(&stream, &Settings::default(), h.as_mut(), &mut control).unwrap();
    assert!(trace.invocations.len() >= 30, "{}", trace.invocations.len());
    // About 60 × 40 ms: several reports along the way, each further than the one before.
    assert!(seen.len() >= 5, "{seen:?}");
    assert!(
        seen.windows(2)
            .all(|w| w[0].invocations <= w[1].invocations)
    );
    assert!(seen[seen.len() / 2].records_done > 0 && seen[seen.len() / 2].records_done < 60);
    std::fs::remove_dir_all(dir).ok();
}
