//! Loading a 1-million-order JSON Lines file (about 130 MB, the generator's output): MB/s,
//! records/s and memory per loaded record beyond its payload. Target: ≥ 400 MB/s, ≤ 100 bytes
//! per record.
//!
//! Run: `cargo bench --bench load` (set `TUMBLESCOPE_BENCH_RECORDS` for another size). The file
//! is written to the system temp directory and reused; compare peers on the same file with
//! `../shared/peers/duckdb_windows.py <file>`.

#[path = "common/dense.rs"]
mod dense;

use std::io::Write as _;
use std::time::Instant;

use tumblescope::generate::{Generator, write_order_line};
use tumblescope::ingest::{LoadControl, LoadOptions, load_paths};

#[path = "common/alloc.rs"]
mod alloc;

#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;

fn main() {
    let n = dense::records();
    let path = std::env::temp_dir().join(format!("tumblescope-orders-{n}.jsonl"));
    if !path.exists() {
        let opts = dense::options(n);
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("temp file"));
        let mut line = Vec::new();
        for o in Generator::new(opts) {
            line.clear();
            write_order_line(&mut line, &o);
            f.write_all(&line).expect("write");
        }
        f.flush().expect("flush");
    }
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!(
        "file: {} ({:.1} MB, {n} orders)",
        path.display(),
        size as f64 / 1e6
    );
    let opts = LoadOptions {
        shards: 8,
        ..LoadOptions::default()
    };
    let mut times = Vec::new();
    for round in 0..5 {
        let base = alloc::reset_peak();
        let t = Instant::now();
        let (stream, report) = load_paths(
            std::slice::from_ref(&path),
            &opts,
            &mut LoadControl::default(),
        )
        .expect("load");
        let dt = t.elapsed().as_secs_f64();
        times.push(dt);
        let payload = stream.payload.capacity();
        let held = alloc::live() - base;
        let peak = alloc::peak() - base;
        if round == 0 {
            println!(
                "records {}; memory held {:.1} B/record beyond payload, peak {:.1} B/record beyond payload",
                report.records,
                (held - payload) as f64 / n as f64,
                (peak.saturating_sub(payload)) as f64 / n as f64
            );
        }
        drop(stream);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "load: median {:.3} s over 5 runs = {:.0} MB/s, {:.2} M records/s (best {:.3} s)",
        median,
        size as f64 / 1e6 / median,
        n as f64 / 1e6 / median,
        times[0]
    );
}
