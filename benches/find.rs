//! Record search and the invocation table over a generated stream of a million orders
//! (8 shards, 64 keys): the find worker's cost per request. Target (issue 15): ≤ 100 ms per
//! search at 1 M records.
//!
//! Run: `cargo bench --bench find` (`TUMBLESCOPE_BENCH_RECORDS` for another size, or
//! `TUMBLESCOPE_BENCH_FILE=orders.jsonl` to search a file whose payloads stay on disk). Each query
//! runs five times; the median is printed with the number of matches.

#[path = "common/dense.rs"]
mod dense;

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use tumblescope::find::query::parse;
use tumblescope::find::records::search;
use tumblescope::find::table::{Column, TableQuery, rows};
use tumblescope::generate::generate_stream;

fn median_ms(mut f: impl FnMut() -> usize) -> (f64, usize) {
    let mut times = Vec::new();
    let mut found = 0;
    for _ in 0..5 {
        let t = Instant::now();
        found = f();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    (times[2], found)
}

fn main() {
    let stream = match std::env::var_os("TUMBLESCOPE_BENCH_FILE") {
        // An orders file: its payloads stay in the file and are read back to search.
        Some(path) => {
            let opts = tumblescope::ingest::LoadOptions {
                shards: 8,
                ..Default::default()
            };
            let paths = [std::path::PathBuf::from(path)];
            let mut control = tumblescope::ingest::LoadControl::default();
            tumblescope::ingest::load_paths(&paths, &opts, &mut control)
                .expect("the file loads")
                .0
        }
        None => generate_stream(&dense::options(dense::records()), Default::default()),
    };
    let no = AtomicBool::new(false);
    println!("{} records", stream.len());
    let t = Instant::now();
    let order = stream.payload_order();
    println!(
        "payload order (once per stream) {:.1} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    for q in [
        "store-07",
        "o-00012345",
        "Item.sales > 90",
        "Item.store = store-03",
        "key = store-11",
        "eventName = REMOVE",
        "nothing-like-this",
    ] {
        let query = parse(q).unwrap().unwrap();
        let t = Instant::now();
        search(&stream, &query, &order, &no).unwrap();
        let first = t.elapsed().as_secs_f64() * 1000.0;
        let (ms, found) = median_ms(|| search(&stream, &query, &order, &no).unwrap().records.len());
        println!("search {q:28} {ms:8.1} ms median ({first:.1} ms first)  {found} matches");
    }
    let spec = tumblescope::run::RunSpec::demo();
    let mut handler = tumblescope::handlers::from_spec(&spec.handler).expect("handler");
    let trace =
        tumblescope::sim::simulate(&stream, &spec.settings, handler.as_mut()).expect("simulate");
    println!("{} invocations", trace.invocations.len());
    for sort in [
        Column::Number,
        Column::Records,
        Column::StateBytes,
        Column::Duration,
    ] {
        let q = TableQuery {
            sort,
            descending: true,
            ..Default::default()
        };
        let (ms, found) = median_ms(|| rows(&trace, &q, &no).unwrap().len());
        println!(
            "table sorted by {:12} {ms:8.1} ms  {found} rows",
            sort.title()
        );
    }
}
