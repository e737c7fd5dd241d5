//! Profiling aid: `cargo run --release --example profile_engine -- 2000000 [sparse [RUNS]]`
//! (sparse: orders 160 ms apart over 10,000 stores, one or two records per invocation; RUNS
//! other than 5 skips the payload scans, so a profile shows the engine alone; with
//! `TUMBLESCOPE_REUSE=1` each run writes into the previous run's memory).
use tumblescope::handlers::Handler as _;

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000_000);
    let sparse = std::env::args().nth(2).is_some_and(|a| a == "sparse");
    let opts = tumblescope::generate::GenOptions {
        count: n,
        interval_ms: if sparse { 160.0 } else { 0.125 },
        jitter: if sparse { 0.6 } else { 0.0 },
        shards: 8,
        keys: tumblescope::generate::KeyStrategy::Uniform {
            n: if sparse { 10_000 } else { 64 },
        },
        ..Default::default()
    };
    let stream = tumblescope::generate::generate_stream(&opts, Default::default());
    let settings = tumblescope::model::settings::Settings::default();
    let spec =
        tumblescope::handlers::builtin::BuiltinSpec::parse("builtin:sum:Item.sales").unwrap();
    let runs: usize = std::env::args()
        .nth(3)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5);
    if runs == 5 {
        calibrate(&stream);
        scan_only(&stream);
        scan_only(&stream);
    }
    // TUMBLESCOPE_REUSE=1: each run after the first writes into the previous run's memory, as
    // an app re-run of a big run does.
    let reuse = std::env::var_os("TUMBLESCOPE_REUSE").is_some();
    let mut spare = tumblescope::sim::TraceMemory::default();
    for _ in 0..runs {
        let t = std::time::Instant::now();
        let mut h = tumblescope::handlers::builtin::Builtin::new(spec.clone());
        h.prepare(&stream, &settings).unwrap();
        let prep = t.elapsed().as_secs_f64();
        let mut control = tumblescope::sim::Control::default();
        let trace = tumblescope::sim::simulate_reusing(
            &stream,
            &settings,
            &mut h,
            &mut control,
            std::mem::take(&mut spare),
        )
        .unwrap();
        let dt = t.elapsed().as_secs_f64();
        eprintln!(
            "{} records, {} invocations: prepare {:.3} s, total {:.4} s, {:.1} M records/s",
            n,
            trace.invocations.len(),
            prep,
            dt - prep,
            n as f64 / (dt - prep) / 1e6
        );
        if reuse {
            let mut trace = trace;
            spare = tumblescope::sim::TraceMemory::take_from(&mut trace);
        }
    }
}

#[allow(dead_code)]
fn scan_only(stream: &tumblescope::model::stream::Stream) {
    let path = tumblescope::json::path::Path::parse("Item.sales");
    let t = std::time::Instant::now();
    let mut sum = 0.0;
    for i in 0..stream.len() {
        if let Ok(Some(raw)) = tumblescope::json::path::find(&stream.payload(i), &path) {
            sum += tumblescope::json::path::number_from_raw(raw)
                .ok()
                .flatten()
                .unwrap_or(0.0);
        }
    }
    let dt = t.elapsed().as_secs_f64();
    eprintln!(
        "scan only: {:.1} ns/record (sum {sum})",
        dt * 1e9 / stream.len() as f64
    );
}

#[allow(dead_code)]
fn calibrate(stream: &tumblescope::model::stream::Stream) {
    let t = std::time::Instant::now();
    let mut sum = 0u64;
    for i in 0..stream.len() {
        for &b in stream.payload(i).iter() {
            sum = sum.wrapping_add(u64::from(b == b'"'));
        }
    }
    let dt = t.elapsed().as_secs_f64();
    eprintln!(
        "byte loop: {:.1} ns/record ({:.2} ns/byte) (sum {sum})",
        dt * 1e9 / stream.len() as f64,
        dt * 1e9 / stream.payload.len() as f64
    );
}
