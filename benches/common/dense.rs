//! The benchmarks' common stream: 1 M generated orders (or `TUMBLESCOPE_BENCH_RECORDS`), about
//! 4,000 a second over 8 shards and 64 stores.

use tumblescope::generate::{GenOptions, KeyStrategy};

/// Records to generate: `TUMBLESCOPE_BENCH_RECORDS`, else 1 M.
pub fn records() -> u64 {
    std::env::var("TUMBLESCOPE_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

/// `n` orders 0.25 ms apart on 8 shards over 64 stores.
pub fn options(n: u64) -> GenOptions {
    GenOptions {
        count: n,
        interval_ms: 0.25,
        shards: 8,
        keys: KeyStrategy::Uniform { n: 64 },
        ..GenOptions::default()
    }
}
