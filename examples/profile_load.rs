//! Profiling aid for loading: `cargo run --release --example profile_load -- FILE`.
fn main() {
    let path = std::env::args().nth(1).expect("file");
    let bytes = std::fs::read(&path).unwrap();
    let t = std::time::Instant::now();
    let mut n = 0;
    for line in bytes.split(|&b| b == b'\n') {
        if std::str::from_utf8(line).is_ok() {
            n += 1;
        }
    }
    println!("split+utf8: {:.3} s ({n})", t.elapsed().as_secs_f64());
    let t = std::time::Instant::now();
    let mut ok = 0;
    for line in bytes.split(|&b| b == b'\n') {
        let Ok(text) = std::str::from_utf8(line) else {
            continue;
        };
        if text.is_empty() {
            continue;
        }
        if tumblescope::ingest::bench_parse_order(text).is_some() {
            ok += 1;
        }
    }
    println!("+parse: {:.3} s ({ok})", t.elapsed().as_secs_f64());
    let t = std::time::Instant::now();
    let mut ok = 0;
    for line in bytes.split(|&b| b == b'\n') {
        let Ok(text) = std::str::from_utf8(line) else {
            continue;
        };
        if text.is_empty() {
            continue;
        }
        if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() {
            ok += 1;
        }
    }
    let t2 = std::time::Instant::now();
    let mut okf = 0;
    for line in bytes.split(|&b| b == b'\n') {
        let Ok(text) = std::str::from_utf8(line) else {
            continue;
        };
        if text.is_empty() {
            continue;
        }
        if tumblescope::ingest::fastjson::order_fields(text).is_ok() {
            okf += 1;
        }
    }
    println!(
        "fast fields only: {:.3} s ({okf})",
        t2.elapsed().as_secs_f64()
    );
    println!(
        "serde IgnoredAny floor: {:.3} s ({ok})",
        t.elapsed().as_secs_f64()
    );
    let t = std::time::Instant::now();
    let (s, _) = tumblescope::ingest::load_paths(
        &[path.clone().into()],
        &Default::default(),
        &mut Default::default(),
    )
    .unwrap();
    println!(
        "load_paths: {:.3} s ({})",
        t.elapsed().as_secs_f64(),
        s.len()
    );
}
