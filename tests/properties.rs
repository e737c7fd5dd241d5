//! Invariants of the engine over random streams and settings (proptest).

mod common;

use std::collections::BTreeMap;

use common::{JsonPath, builtin, render};
use proptest::prelude::*;
use tumblescope::generate::{GenOptions, KeyStrategy, generate_stream};
use tumblescope::model::settings::{EndOfInput, GraceFrom, Settings};
use tumblescope::model::stream::Stream;
use tumblescope::model::{Source, Window};
use tumblescope::sim::trace::{Kind, Status};
use tumblescope::sim::{self, Trace};

fn arb_stream() -> impl Strategy<Value = Stream> {
    (
        0u64..250,
        prop_oneof![
            Just(0.3f64),
            Just(10.0),
            Just(200.0),
            Just(900.0),
            Just(4_000.0),
            Just(40_000.0)
        ],
        0.0f64..=1.0,
        1u32..=4,
        1u32..=6,
        any::<u64>(),
        prop_oneof![Just(Source::Kinesis), Just(Source::Dynamodb)],
    )
        .prop_map(|(count, interval_ms, jitter, shards, keys, seed, source)| {
            let opts = GenOptions {
                count,
                interval_ms,
                jitter,
                shards,
                keys: KeyStrategy::Uniform { n: keys },
                seed,
                source,
                ..GenOptions::default()
            };
            generate_stream(&opts, Default::default())
        })
}

fn arb_settings() -> impl Strategy<Value = Settings> {
    (
        prop_oneof![Just(1u32), Just(7), Just(30), Just(60), Just(900)],
        1u32..=60,
        prop_oneof![Just(0u32), Just(0), Just(1), Just(4)],
        0u32..=120,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop_oneof![Just(None), Just(Some(100u32)), Just(Some(2_500))],
    )
        .prop_map(
            |(window, batch, batching, grace, shard_end, from_last, tail, poll)| Settings {
                tumbling_window_s: window,
                batch_size: batch,
                max_batching_window_s: batching,
                close_grace_s: grace,
                end_of_input: if shard_end {
                    EndOfInput::ShardEnd
                } else {
                    EndOfInput::Open
                },
                grace_from: if from_last {
                    GraceFrom::LastRecord
                } else {
                    GraceFrom::WindowEnd
                },
                final_includes_tail_records: tail,
                poll_interval_ms: poll,
                ..Settings::default()
            },
        )
}

fn value_path(stream: &Stream) -> &'static str {
    match stream.source {
        Source::Kinesis => "Item.sales",
        Source::Dynamodb => "sales",
    }
}

fn total_sales(stream: &Stream) -> f64 {
    let path = tumblescope::json::path::Path::parse(value_path(stream));
    (0..stream.len())
        .map(|i| {
            let v: serde_json::Value = serde_json::from_slice(stream.payload(i)).unwrap();
            path.lookup(&v).and_then(serde_json::Value::as_f64).unwrap()
        })
        .sum()
}

fn check_invariants(
    stream: &Stream,
    settings: &Settings,
    trace: &Trace,
) -> Result<(), TestCaseError> {
    let len = settings.window_ms().unwrap();
    prop_assert!(trace.stalls.is_empty() && trace.discards.is_empty());
    prop_assert!(trace.invocations.iter().all(|i| i.status == Status::Ok));
    for (k, inv) in trace.invocations.iter().enumerate() {
        prop_assert_eq!(inv.n as usize, k + 1);
    }

    // Every record delivered exactly once, in sequence order per shard.
    let mut delivered = vec![0u8; stream.len()];
    let mut next_on_shard: Vec<usize> = stream.shards.iter().map(|s| s.range.start).collect();
    let mut last_end = vec![i64::MIN; stream.shards.len()];
    for inv in &trace.invocations {
        let shard = inv.shard as usize;
        prop_assert!(
            inv.start_ms >= last_end[shard],
            "one invocation at a time per shard"
        );
        last_end[shard] = inv.end_ms;
        let range = inv.record_range();
        if range.is_empty() {
            continue;
        }
        prop_assert_eq!(
            range.start,
            next_on_shard[shard],
            "records in sequence order"
        );
        next_on_shard[shard] = range.end;
        let shard_range = &stream.shards[shard].range;
        prop_assert!(
            shard_range.start <= range.start && range.end <= shard_range.end,
            "one shard per batch"
        );
        prop_assert!(range.len() <= settings.batch_size as usize);
        let w = inv.window.unwrap();
        for i in range {
            delivered[i] += 1;
            prop_assert_eq!(
                Window::containing(stream.ts_ms[i], len),
                w,
                "one window per batch"
            );
            prop_assert!(
                stream.ts_ms[i] <= inv.start_ms,
                "no record before it arrived"
            );
        }
    }
    prop_assert!(
        delivered.iter().all(|&d| d == 1),
        "delivered: {:?}",
        delivered
    );

    // Exactly one final per non-empty (shard, window), after all its records; state threading.
    let mut finals: BTreeMap<(u32, i64), u32> = BTreeMap::new();
    let mut state: BTreeMap<u32, (Window, String)> = BTreeMap::new();
    let mut closed: std::collections::BTreeSet<(u32, i64)> = Default::default();
    for inv in &trace.invocations {
        let w = inv.window.unwrap();
        let key = (inv.shard, w.start_ms);
        prop_assert!(!closed.contains(&key), "no invocation after the final");
        let expected_in = match state.get(&inv.shard) {
            Some((sw, s)) if *sw == w => s.clone(),
            _ => "{}".to_owned(),
        };
        prop_assert_eq!(inv.state_in.to_json_string(), expected_in);
        if inv.kind == Kind::Final {
            *finals.entry(key).or_default() += 1;
            closed.insert(key);
            state.remove(&inv.shard);
        } else {
            let out = inv.state_out.as_ref().unwrap().to_json_string();
            state.insert(inv.shard, (w, out));
        }
    }
    let mut non_empty: std::collections::BTreeSet<(u32, i64)> = Default::default();
    for (s, shard) in stream.shards.iter().enumerate() {
        for i in shard.range.clone() {
            non_empty.insert((s as u32, Window::containing(stream.ts_ms[i], len).start_ms));
        }
    }
    prop_assert_eq!(
        finals
            .keys()
            .copied()
            .collect::<std::collections::BTreeSet<_>>(),
        non_empty
    );
    prop_assert!(finals.values().all(|&c| c == 1));

    // Sum of final states = input total.
    let key = value_path(stream).rsplit('.').next().unwrap();
    let total: f64 = trace
        .windows
        .iter()
        .map(|w| {
            w.final_state.as_ref().unwrap().to_json()[key]
                .as_f64()
                .unwrap()
        })
        .sum();
    prop_assert_eq!(total, total_sales(stream));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(160))]

    #[test]
    fn engine_invariants_hold(stream in arb_stream(), settings in arb_settings()) {
        let spec = format!("builtin:sum:{}", value_path(&stream));
        let mut h = builtin(&spec);
        let trace = sim::simulate(&stream, &settings, &mut h).unwrap();
        check_invariants(&stream, &settings, &trace)?;

        // Same input, settings and seed: the identical trace.
        let again = sim::simulate(&stream, &settings, &mut builtin(&spec)).unwrap();
        prop_assert_eq!(render(&trace), render(&again));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn fast_path_and_event_path_agree(
        stream in arb_stream(),
        settings in arb_settings(),
        op in prop_oneof![Just("sum"), Just("count"), Just("min"), Just("max"), Just("avg")],
        group in prop_oneof![Just(""), Just(":by=pk"), Just(":by=store")],
        events in prop_oneof![Just(""), Just(":events=INSERT"), Just(":events=MODIFY,REMOVE")],
        fail in prop_oneof![Just(""), Just(":fail=sales>=97")],
        windowless in prop::bool::weighted(0.15),
    ) {
        let base = value_path(&stream);
        let group = match (group, stream.source) {
            (":by=store", Source::Kinesis) => ":by=Item.store",
            (g, _) => g,
        };
        let fail = match (fail, stream.source) {
            ("", _) => String::new(),
            (_, Source::Kinesis) => ":fail=Item.sales>=97".into(),
            (f, _) => f.into(),
        };
        let spec = format!("builtin:{op}:{base}{group}{events}{fail}");
        let settings = Settings {
            tumbling_window_s: if windowless { 0 } else { settings.tumbling_window_s },
            max_retry_attempts: 1,
            bisect_on_error: true,
            ..settings
        };
        let fast = sim::simulate(&stream, &settings, &mut builtin(&spec)).unwrap();
        let slow = sim::simulate(&stream, &settings, &mut JsonPath(builtin(&spec))).unwrap();
        prop_assert_eq!(render(&fast), render(&slow), "spec {}", spec);
    }
}
