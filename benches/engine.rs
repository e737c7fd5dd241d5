//! Engine throughput and memory: 10 million records on 8 Kinesis shards, 30 s windows,
//! batch 100, built-in sum (the core issue's target: ≥ 20 M records/s on one core, ≤ 48 bytes of
//! engine memory per record beyond the payload bytes).
//!
//! Two cases: the stream as generated (its sales column known, as on every run after a stream's
//! first), and cold (every payload's JSON scanned for the field first).
//!
//! Run: `cargo bench --bench engine` (set `TUMBLESCOPE_BENCH_RECORDS` for a smaller stream).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tumblescope::generate::{GenOptions, KeyStrategy, generate_stream};
use tumblescope::handlers::builtin::{Builtin, BuiltinSpec};
use tumblescope::settings::Settings;

/// Counts live and peak heap bytes, to measure the engine's memory per record.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size > layout.size() {
                let now = LIVE.fetch_add(new_size - layout.size(), Ordering::Relaxed)
                    + (new_size - layout.size());
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

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
    let before = LIVE.load(Ordering::Relaxed);
    let stream = generate_stream(&opts, Default::default());
    let stream_bytes = LIVE.load(Ordering::Relaxed) - before;
    let payload = stream.payload.capacity();
    let settings = Settings::default();
    let spec = BuiltinSpec::parse("builtin:sum:Item.sales").unwrap();

    // Memory: everything the stream and one run hold beyond payload bytes.
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let mut handler = Builtin::new(spec.clone());
    let trace = tumblescope::sim::simulate(&stream, &settings, &mut handler).unwrap();
    let run_peak = PEAK.load(Ordering::Relaxed) - base;
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
}

criterion_group!(benches, bench);
criterion_main!(benches);
