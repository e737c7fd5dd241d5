//! Engine throughput and memory: 10 million records on 8 Kinesis shards, 30 s windows,
//! batch 100, built-in sum (the core issue's target: ≥ 20 M records/s on one core, ≤ 48 bytes of
//! engine memory per record beyond the payload bytes).
//!
//! Two cases: the stream as generated (its sales column known, as on every run after a stream's
//! first), and cold (every payload's JSON scanned for the field first).
//!
//! A third case is sparse point-of-sale traffic (the speed issue's target: ≤ 100 ns per
//! invocation for a built-in): 1 M orders 160 ms apart (jitter 0.6) over 10,000 stores on 8
//! shards, where Lambda invokes about once per poll with one or two records; its throughput is
//! in invocations, and the ns per invocation is printed.
//!
//! Run: `cargo bench --bench engine` (set `TUMBLESCOPE_BENCH_RECORDS` for a smaller stream).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tumblescope::generate::{GenOptions, KeyStrategy, generate_stream};
use tumblescope::handlers::builtin::{Builtin, BuiltinSpec};
use tumblescope::model::settings::Settings;

#[path = "common/alloc.rs"]
mod alloc;

#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;

fn records() -> u64 {
    std::env::var("TUMBLESCOPE_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000)
}

fn bench(c: &mut Criterion) {
    let n = records();
    let opts = GenOptions {
        count: n,
        // 8 shards at Kinesis's write limit of 1,000 records/s per shard.
        interval_ms: 0.125,
        jitter: 0.5,
        shards: 8,
        keys: KeyStrategy::Uniform { n: 64 },
        ..GenOptions::default()
    };
    let before = alloc::live();
    let stream = generate_stream(&opts, Default::default());
    let stream_bytes = alloc::live() - before;
    let payload = stream.payload.capacity();
    let settings = Settings::default();
    let spec = BuiltinSpec::parse("builtin:sum:Item.sales").unwrap();

    // Memory: everything the stream and one run hold beyond payload bytes.
    let base = alloc::reset_peak();
    let mut handler = Builtin::new(spec.clone());
    let trace = tumblescope::sim::simulate(&stream, &settings, &mut handler).unwrap();
    let run_peak = alloc::peak() - base;
    let per_record = (stream_bytes - payload + run_peak) as f64 / n as f64;
    eprintln!(
        "memory: stream {:.1} B/record beyond payload, run peak {:.1} B/record (builtin value column + trace), total {:.1} B/record; {} invocations",
        (stream_bytes - payload) as f64 / n as f64,
        run_peak as f64 / n as f64,
        per_record,
        trace.invocations.len()
    );
    drop(trace);

    let mut group = c.benchmark_group("engine");
    group.sample_size(10);
    group.throughput(Throughput::Elements(n));
    group.bench_function(format!("simulate_{n}_records_8_shards_sum"), |b| {
        b.iter(|| {
            let mut handler = Builtin::new(spec.clone());
            tumblescope::sim::simulate(&stream, &settings, &mut handler).unwrap()
        });
    });
    // Cold: the field is extracted from every JSON payload first, as on a stream's first run.
    group.bench_function(format!("simulate_{n}_records_8_shards_sum_cold"), |b| {
        b.iter(|| {
            stream.columns.clear();
            let mut handler = Builtin::new(spec.clone());
            tumblescope::sim::simulate(&stream, &settings, &mut handler).unwrap()
        });
    });
    group.finish();
    sparse(c, &spec);
}

/// The sparse case: cost per invocation when batches hold one or two records.
fn sparse(c: &mut Criterion, spec: &BuiltinSpec) {
    let n = records().min(1_000_000);
    let opts = GenOptions {
        count: n,
        interval_ms: 160.0,
        jitter: 0.6,
        shards: 8,
        keys: KeyStrategy::Uniform { n: 10_000 },
        ..GenOptions::default()
    };
    let stream = generate_stream(&opts, Default::default());
    // The defaults: 30 s windows, batch 100, 1 s polls.
    let settings = Settings::default();
    let mut handler = Builtin::new(spec.clone());
    let calls = alloc::calls();
    let trace = tumblescope::sim::simulate(&stream, &settings, &mut handler).unwrap();
    let calls = alloc::calls() - calls;
    let invocations = trace.invocations.len() as u64;
    let windows = trace.windows.len();
    drop(trace);
    let started = std::time::Instant::now();
    let rounds = 5;
    for _ in 0..rounds {
        let mut handler = Builtin::new(spec.clone());
        drop(tumblescope::sim::simulate(&stream, &settings, &mut handler).unwrap());
    }
    let per = started.elapsed().as_nanos() as f64 / (rounds * invocations) as f64;
    eprintln!(
        "sparse: {n} records, {invocations} invocations in {windows} windows, {per:.0} ns per \
         invocation, {:.2} allocations per invocation",
        calls as f64 / invocations as f64
    );
    let mut group = c.benchmark_group("engine_sparse");
    group.sample_size(10);
    group.throughput(Throughput::Elements(invocations));
    group.bench_function(format!("simulate_{n}_sparse_records_8_shards_sum"), |b| {
        b.iter(|| {
            let mut handler = Builtin::new(spec.clone());
            tumblescope::sim::simulate(&stream, &settings, &mut handler).unwrap()
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
