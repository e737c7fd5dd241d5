//! Throughput of a user handler (a trivial function, Node.js and Python) in tumblescope's
//! long-lived runtime, side by side in one run with (a) the ceiling set by the runtime's own
//! JSON parser (`JSON.parse`, `json.loads`) of the very same events and (b) starting a fresh
//! process per invocation, the way `sam local invoke` works. Targets: 100-record batches at
//! ≥ 80% of the parser's ceiling; Node's 10-record batches at ≥ 10,000 invocations/s; all
//! ≥ 100× process-per-invocation.
//!
//! Runs are long (4,000 and 10,000 invocations) because V8 optimizes the harness and the
//! handler over the first thousand or so invocations: a run of 3,000 10-record invocations
//! averages about a third less than the steady state measured here.
//!
//! Then four shards with a runtime each, one at a time against side by side on threads
//! (target: ≥ 1.6× on 2 cores).
//!
//! Run: `cargo bench --bench handlers` (needs `node`; Python's cases need `python3`; set
//! `TUMBLESCOPE_BENCH_ONLY=python` or `=node` for one runtime, and
//! `TUMBLESCOPE_BENCH_SHARDS_ONLY=1` for the four-shard cases alone).

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Instant;

use tumblescope::generate::{GenOptions, KeyStrategy, generate_stream};
use tumblescope::handlers::external::{Environments, External, ExternalSpec};
use tumblescope::model::settings::Settings;
use tumblescope::sim::trace::RanOn;

const TRIVIAL: &str = "exports.handler = async (event) => ({ state: { n: (event.state.n || 0) + event.Records.length } });\n";

const PARSE_ONLY: &str = r#"
const fs = require('fs');
const lines = fs.readFileSync(process.argv[2], 'utf8').split('\n').filter(Boolean);
let best = Infinity;
for (let round = 0; round < 5; round++) {
  const t = process.hrtime.bigint();
  let n = 0;
  for (const l of lines) n += JSON.parse(l).Records.length;
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  if (s < best) best = s;
}
console.log(JSON.stringify({ events: lines.length, seconds: best }));
"#;

const TRIVIAL_PY: &str = "def lambda_handler(event, context):\n    return {'state': {'n': event['state'].get('n', 0) + len(event['Records'])}}\n";

const PARSE_ONLY_PY: &str = r#"
import json, sys, time
lines = [l for l in open(sys.argv[1], 'rb').read().split(b'\n') if l]
best = float('inf')
for _ in range(5):
    t = time.perf_counter()
    n = 0
    for l in lines:
        n += len(json.loads(l)['Records'])
    best = min(best, time.perf_counter() - t)
print(json.dumps({'events': len(lines), 'seconds': best}))
"#;

const ONE_SHOT_PY: &str = r#"
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location('h', sys.argv[1])
h = importlib.util.module_from_spec(spec)
spec.loader.exec_module(h)
sys.stdout.write(json.dumps(h.lambda_handler(json.load(sys.stdin), None)))
"#;

/// A runtime to measure: its program, the trivial handler, and the parse-only and one-shot
/// scripts, as files in the bench's folder.
#[derive(Clone, Copy)]
struct Lang {
    name: &'static str,
    program: &'static str,
    parser: &'static str,
    handler: &'static str,
    parse_only: &'static str,
    one_shot: &'static str,
}

const NODE: Lang = Lang {
    name: "Node",
    program: "node",
    parser: "JSON.parse",
    handler: "trivial.js",
    parse_only: "parse_only.js",
    one_shot: "one_shot.js",
};

const PYTHON: Lang = Lang {
    name: "Python",
    program: "python3",
    parser: "json.loads",
    handler: "trivial.py",
    parse_only: "parse_only.py",
    one_shot: "one_shot.py",
};

const ONE_SHOT: &str = r#"
const h = require(process.argv[2]);
const event = JSON.parse(require('fs').readFileSync(0, 'utf8'));
Promise.resolve(h.handler(event, {})).then((r) => process.stdout.write(JSON.stringify(r)));
"#;

/// Delegates to the runtime, noting when the first invocation starts.
struct Timed {
    inner: External,
    first: Option<Instant>,
}

impl tumblescope::handlers::Handler for Timed {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn prepare(
        &mut self,
        stream: &tumblescope::model::stream::Stream,
        settings: &Settings,
    ) -> Result<(), String> {
        self.inner.prepare(stream, settings)
    }

    fn invoke(
        &mut self,
        req: &tumblescope::handlers::Request<'_>,
    ) -> tumblescope::handlers::Invoked {
        self.first.get_or_insert_with(Instant::now);
        self.inner.invoke(req)
    }
}

/// An evenly spaced stream on `shards` shards (16 partition keys per shard) and the
/// settings the cases run it with: `batch`-record batches in 15-minute windows.
fn bench_run(
    records: u64,
    shards: u32,
    interval_ms: f64,
    batch: u32,
) -> (tumblescope::model::stream::Stream, Settings) {
    let stream = generate_stream(
        &GenOptions {
            count: records,
            interval_ms,
            shards,
            jitter: 0.0,
            keys: KeyStrategy::Uniform { n: 16 * shards },
            ..GenOptions::default()
        },
        Default::default(),
    );
    let settings = Settings {
        batch_size: batch,
        tumbling_window_s: 900,
        ..Settings::default()
    };
    (stream, settings)
}

fn case(dir: &std::path::Path, lang: Lang, records: u64, batch: u32) {
    let (stream, settings) = bench_run(records, 1, 0.5, batch);
    let spec = ExternalSpec::parse(&dir.join(lang.handler).display().to_string()).expect("spec");

    // A first run (which also warms the file cache) gives the events, written once for Node's
    // parse-only ceiling.
    let probe = tumblescope::sim::simulate(&stream, &settings, &mut External::new(spec.clone()))
        .expect("run");
    let events_path = dir.join(format!("events-{batch}.jsonl"));
    let mut f = std::fs::File::create(&events_path).expect("events file");
    for inv in &probe.invocations {
        let ev = inv.request(&stream, &settings).event_json();
        f.write_all(ev.as_bytes()).expect("write");
        f.write_all(b"\n").expect("write");
    }
    drop(f);
    let bytes = std::fs::metadata(&events_path)
        .map(|m| m.len())
        .unwrap_or(0) as f64
        / probe.invocations.len() as f64;

    // Paired rounds, because this machine's speed drifts by tens of percent within a minute:
    // each round times the run (steady state, from the first invocation to the end, so the
    // runtime's noisy 100-150 ms start is not in it) and then Node's own JSON.parse of the same
    // events; each round's ratio compares like with like. Medians are reported.
    let mut rates = Vec::new();
    let mut ceilings = Vec::new();
    let mut ratios = Vec::new();
    let mut startup = 0.0;
    let mut trace = None;
    for _ in 0..5 {
        let mut handler = Timed {
            inner: External::new(spec.clone()),
            first: None,
        };
        let t = Instant::now();
        let tr = tumblescope::sim::simulate(&stream, &settings, &mut handler).expect("run");
        let end = Instant::now();
        let first = handler.first.expect("invoked");
        startup = (first - t).as_secs_f64();
        let rate = (tr.invocations.len() - 1) as f64 / (end - first).as_secs_f64();
        let out = Command::new(lang.program)
            .arg(dir.join(lang.parse_only))
            .arg(&events_path)
            .output()
            .expect("parse-only run");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("parse-only result");
        let ceiling = v["events"].as_f64().unwrap_or(0.0) / v["seconds"].as_f64().unwrap_or(1.0);
        rates.push(rate);
        ceilings.push(ceiling);
        ratios.push(rate / ceiling);
        trace = Some(tr);
    }
    let trace = trace.expect("ran");
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (rate, ceiling, ratio) = (
        median(&mut rates),
        median(&mut ceilings),
        median(&mut ratios),
    );
    let total = trace.invocations.len() as f64 / rate + startup;
    let aggs: Vec<_> = trace
        .invocations
        .iter()
        .filter(|i| i.record_count() > 0)
        .collect();
    let avg_records =
        aggs.iter().map(|i| i.record_count()).sum::<usize>() as f64 / aggs.len() as f64;

    // Building the events alone, in Rust.
    let ctx = tumblescope::handlers::event::EventContext::new(&stream, settings.seed);
    let t = Instant::now();
    let mut built = 0usize;
    for inv in &trace.invocations {
        built +=
            tumblescope::handlers::event::event_json_with(&inv.request(&stream, &settings), &ctx)
                .len();
    }
    let build_s = t.elapsed().as_secs_f64();
    println!(
        "           building the events in Rust: {:.0} events/s ({} MB)",
        trace.invocations.len() as f64 / build_s,
        built / 1_000_000
    );

    // A fresh process per invocation.
    let sample = trace.invocations[trace.invocations.len() / 2]
        .request(&stream, &settings)
        .event_json();
    let k = 15;
    let t = Instant::now();
    for _ in 0..k {
        let mut child = Command::new(lang.program)
            .arg(dir.join(lang.one_shot))
            .arg(dir.join(lang.handler))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("one-shot run");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(sample.as_bytes())
            .expect("write");
        child.wait_with_output().expect("wait");
    }
    let per_process = k as f64 / t.elapsed().as_secs_f64();

    println!(
        "{} batch {batch:>3}: {} invocations (avg {avg_records:.0} records, {:.0} KB events) in {total:.2} s incl. {:.0} ms runtime start → {rate:.0} invocations/s (median of 5: {:.0}–{:.0}), {:.0} records/s",
        lang.name,
        trace.invocations.len(),
        bytes / 1024.0,
        startup * 1000.0,
        rates[0],
        rates[4],
        rate * avg_records * aggs.len() as f64 / trace.invocations.len() as f64,
    );
    println!(
        "           {} {} ceiling on the same events: {ceiling:.0} events/s; paired rounds at {:.0}% of it (median; range {:.0}–{:.0}%); process per invocation: {per_process:.1}/s → {:.0}×",
        lang.name,
        lang.parser,
        ratio * 100.0,
        ratios[0] * 100.0,
        ratios[4] * 100.0,
        rate / per_process
    );
}

/// Four shards, each with its runtime (the default): one at a time on one thread against side
/// by side, each runtime on its own thread, in paired rounds. Target: side by side at ≥ 1.6×
/// the one-at-a-time rate on 2 cores. The traces must be the same.
fn shards_case(dir: &std::path::Path, lang: Lang, records: u64, batch: u32) {
    let (stream, settings) = bench_run(records, 4, 0.125, batch);
    let spec = ExternalSpec::parse(&dir.join(lang.handler).display().to_string()).expect("spec");
    let run = |threads: usize| {
        let mut handler = Environments::new(spec.clone());
        let t = Instant::now();
        let trace = tumblescope::sim::simulate_on_threads(
            &stream,
            &settings,
            &mut handler,
            &mut Default::default(),
            threads,
        )
        .expect("run");
        (trace, t.elapsed().as_secs_f64())
    };
    let mut ratios = Vec::new();
    let mut rates = (Vec::new(), Vec::new());
    let mut count = 0;
    for _ in 0..5 {
        let (one, t1) = run(1);
        let (four, t4) = run(4);
        assert_eq!(one.ran_on, RanOn::OneThread);
        assert_eq!(four.ran_on, RanOn::Threads(4));
        // The same trace, but for the measured wall-clock durations.
        let same = one.invocations.len() == four.invocations.len()
            && one.invocations.iter().zip(&four.invocations).all(|(a, b)| {
                let mut b = b.clone();
                b.measured = a.measured;
                *a == b
            })
            && one.windows == four.windows;
        assert!(same, "side by side differs from one at a time");
        count = one.invocations.len();
        rates.0.push(count as f64 / t1);
        rates.1.push(count as f64 / t4);
        ratios.push(t1 / t4);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (r1, r4, ratio) = (
        median(&mut rates.0),
        median(&mut rates.1),
        median(&mut ratios),
    );
    println!(
        "{} 4 shards, batch {batch:>3}: {count} invocations; one at a time {r1:.0}/s, side by side {r4:.0}/s → {ratio:.2}× (median of 5 paired rounds, range {:.2}–{:.2}×; {} cores)",
        lang.name,
        ratios[0],
        ratios[4],
        std::thread::available_parallelism().map_or(1, |n| n.get()),
    );
}

fn installed(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn main() {
    let dir =
        std::env::temp_dir().join(format!("tumblescope-bench-handlers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("trivial.js"), TRIVIAL).expect("write");
    std::fs::write(dir.join("parse_only.js"), PARSE_ONLY).expect("write");
    std::fs::write(dir.join("one_shot.js"), ONE_SHOT).expect("write");
    std::fs::write(dir.join("trivial.py"), TRIVIAL_PY).expect("write");
    std::fs::write(dir.join("parse_only.py"), PARSE_ONLY_PY).expect("write");
    std::fs::write(dir.join("one_shot.py"), ONE_SHOT_PY).expect("write");
    let only = std::env::var("TUMBLESCOPE_BENCH_ONLY").unwrap_or_default();
    for lang in [NODE, PYTHON] {
        if !only.is_empty() && !lang.name.eq_ignore_ascii_case(&only) {
            continue;
        }
        if !installed(lang.program) {
            eprintln!(
                "{} is not installed; its cases are not measured",
                lang.program
            );
            continue;
        }
        if std::env::var_os("TUMBLESCOPE_BENCH_SHARDS_ONLY").is_none() {
            case(&dir, lang, 400_000, 100);
            case(&dir, lang, 100_000, 10);
        }
        shards_case(&dir, lang, 400_000, 100);
        shards_case(&dir, lang, 100_000, 10);
    }
    if std::env::var_os("TUMBLESCOPE_BENCH_KEEP").is_none() {
        std::fs::remove_dir_all(&dir).ok();
    } else {
        println!("kept {}", dir.display());
    }
}
