//! Golden files of the exact event JSON Lambda sends, for Kinesis and DynamoDB, and of the
//! orders and results formats.

mod common;

use common::{Scripted, kinesis, run};
use serde_json::json;
use tumblescope::generate::{GenOptions, Generator, write_order_line};
use tumblescope::handlers::{Invoked, Response};
use tumblescope::json::text::pretty;
use tumblescope::model::settings::Settings;
use tumblescope::model::state::State;
use tumblescope::model::stream::{InputRecord, Stream, StreamBuilder, StreamMeta};
use tumblescope::model::{EventName, Source};
use tumblescope::sim::trace::Kind;
use tumblescope::sim::{self, Trace};

fn event(stream: &Stream, settings: &Settings, trace: &Trace, n: u32) -> String {
    let inv = trace.get(n).unwrap();
    pretty(&inv.request(stream, settings).event_json())
}

#[test]
fn kinesis_aggregate_and_final_events() {
    let stream = kinesis(
        2,
        &[
            (1_250, "store-01", 42),
            (2_700, "store-01", 8),
            (2_100, "store-02", 5),
        ],
    );
    let settings = Settings::default();
    let trace = run(&stream, &settings, "builtin:sum:Item.sales");
    let first = trace
        .invocations
        .iter()
        .find(|i| i.kind == Kind::Aggregate)
        .unwrap();
    insta::assert_snapshot!(
        "kinesis_aggregate",
        event(&stream, &settings, &trace, first.n)
    );
    let second = trace
        .invocations
        .iter()
        .find(|i| i.kind == Kind::Aggregate && i.shard == first.shard && i.n > first.n)
        .unwrap();
    insta::assert_snapshot!(
        "kinesis_aggregate_with_state",
        event(&stream, &settings, &trace, second.n)
    );
    let fin = trace
        .invocations
        .iter()
        .find(|i| i.kind == Kind::Final)
        .unwrap();
    insta::assert_snapshot!("kinesis_final", event(&stream, &settings, &trace, fin.n));
    insta::assert_snapshot!(
        "kinesis_final_response",
        pretty(&fin.response_json().to_string())
    );
}

#[test]
fn kinesis_early_termination_event() {
    let stream = kinesis(1, &[(0, "a", 1), (1_000, "a", 2)]);
    let settings = Settings::default();
    let mut h = Scripted::new("builtin:sum:Item.sales", |req| {
        (!req.is_final && !req.is_early && req.records.start == 0).then(|| {
            let mut m = serde_json::Map::new();
            m.insert("big".into(), json!("x".repeat(1_048_576)));
            Invoked::ok(Response::with_state(State::from_map(m)))
        })
    });
    let trace = sim::simulate(&stream, &settings, &mut h).unwrap();
    let early = trace
        .invocations
        .iter()
        .find(|i| i.kind == Kind::Early)
        .unwrap();
    let text = early
        .request(&stream, &settings)
        .event_json()
        .replace(&"x".repeat(1_048_576), "x…");
    insta::assert_snapshot!("kinesis_early", pretty(&text));
}

#[test]
fn dynamodb_events() {
    let meta = StreamMeta::default();
    let mut b = StreamBuilder::new(Source::Dynamodb, 1, meta).payloads_are_json(true);
    let t0 = tumblescope::generate::DEFAULT_START_MS;
    b.push(InputRecord {
        ts_ms: t0 + 1_250,
        partition_key: "o-1".into(),
        data: br#"{"ID":"o-1","store":"store-01","sales":42,"paid":true,"items":["a","b"],"note":null}"#.to_vec(),
        ..Default::default()
    });
    b.push(InputRecord {
        ts_ms: t0 + 1_900,
        partition_key: "o-1".into(),
        data: br#"{"ID":"o-1","store":"store-01","sales":40}"#.to_vec(),
        event_name: EventName::Modify,
        old_image: Some(br#"{"ID":"o-1","store":"store-01","sales":42}"#.to_vec()),
        ..Default::default()
    });
    b.push(InputRecord {
        ts_ms: t0 + 2_100,
        partition_key: "o-2".into(),
        data: br#"{"ID":"o-2","store":"store-02","sales":7}"#.to_vec(),
        event_name: EventName::Remove,
        ..Default::default()
    });
    let stream = b.finish();
    let settings = Settings::default();
    let trace = run(&stream, &settings, "builtin:sum:sales:events=INSERT");
    let agg: Vec<_> = trace
        .invocations
        .iter()
        .filter(|i| i.kind == Kind::Aggregate)
        .collect();
    insta::assert_snapshot!(
        "dynamodb_insert",
        event(&stream, &settings, &trace, agg[0].n)
    );
    insta::assert_snapshot!(
        "dynamodb_modify",
        event(&stream, &settings, &trace, agg[1].n)
    );
    insta::assert_snapshot!(
        "dynamodb_remove",
        event(&stream, &settings, &trace, agg[2].n)
    );
    let fin = trace
        .invocations
        .iter()
        .find(|i| i.kind == Kind::Final)
        .unwrap();
    insta::assert_snapshot!("dynamodb_final", event(&stream, &settings, &trace, fin.n));
}

#[test]
fn windowless_kinesis_event() {
    let stream = kinesis(1, &[(0, "a", 1)]);
    let settings = Settings {
        tumbling_window_s: 0,
        ..Settings::default()
    };
    let trace = run(&stream, &settings, "builtin:sum:Item.sales");
    insta::assert_snapshot!("kinesis_windowless", event(&stream, &settings, &trace, 1));
}

#[test]
fn orders_format() {
    let mut out = Vec::new();
    for o in Generator::new(GenOptions {
        count: 4,
        ..GenOptions::default()
    }) {
        write_order_line(&mut out, &o);
    }
    for o in Generator::new(GenOptions {
        count: 6,
        source: Source::Dynamodb,
        modify_fraction: 0.4,
        remove_fraction: 0.2,
        seed: 3,
        ..GenOptions::default()
    }) {
        write_order_line(&mut out, &o);
    }
    insta::assert_snapshot!("orders_jsonl", String::from_utf8(out).unwrap());
}

#[test]
fn results_formats() {
    let scenario = tumblescope::scenarios::by_id("running-total").unwrap();
    let stream = scenario.stream.build(Default::default());
    let trace = run(&stream, &scenario.settings, &scenario.handler);
    insta::assert_snapshot!(
        "results_json",
        tumblescope::export::results_json(&stream, &trace)
    );
    insta::assert_snapshot!(
        "results_csv",
        tumblescope::export::results_csv(&stream, &trace)
    );
    insta::assert_snapshot!(
        "results_table",
        tumblescope::export::results_table(&stream, &trace)
    );
}

/// The records of the first aggregate event for a DynamoDB stream of one INSERT, one MODIFY
/// and one REMOVE of item `x`, under a view type.
fn view_type_records(view: tumblescope::model::StreamViewType) -> Vec<serde_json::Value> {
    use tumblescope::model::stream::{InputRecord, StreamBuilder, StreamMeta};
    use tumblescope::model::{EventName, Source};
    let meta = StreamMeta {
        view_type: view,
        ..StreamMeta::default()
    };
    let mut b = StreamBuilder::new(Source::Dynamodb, 1, meta).payloads_are_json(true);
    let t0 = tumblescope::generate::DEFAULT_START_MS;
    let item = |sales: i64| format!(r#"{{"ID":"x","sales":{sales}}}"#).into_bytes();
    for (k, (event, data, old)) in [
        (EventName::Insert, item(1), None),
        (EventName::Modify, item(2), Some(item(1))),
        (EventName::Remove, item(2), Some(item(2))),
    ]
    .into_iter()
    .enumerate()
    {
        b.push(InputRecord {
            ts_ms: t0 + k as i64 * 10,
            partition_key: "x".into(),
            data,
            event_name: event,
            old_image: old,
            ..Default::default()
        });
    }
    let stream = b.finish();
    let settings = tumblescope::model::settings::Settings {
        max_batching_window_s: 1,
        ..Default::default()
    };
    let mut h = tumblescope::handlers::builtin::Builtin::new(
        tumblescope::handlers::builtin::BuiltinSpec::parse("builtin:count").unwrap(),
    );
    let trace = tumblescope::sim::simulate(&stream, &settings, &mut h).unwrap();
    let inv = &trace.invocations[0];
    assert_eq!(inv.record_count(), 3);
    let ev: serde_json::Value =
        serde_json::from_str(&inv.request(&stream, &settings).event_json()).unwrap();
    ev["Records"].as_array().unwrap().clone()
}

#[test]
fn each_stream_view_type_carries_its_images() {
    use tumblescope::model::StreamViewType::*;
    // AWS: KEYS_ONLY carries only the key attributes; NEW_IMAGE the item after the change;
    // OLD_IMAGE the item before it; NEW_AND_OLD_IMAGES both. An INSERT has no old image and a
    // REMOVE no new one.
    let has = |r: &serde_json::Value, k: &str| r["dynamodb"].get(k).is_some();
    for (view, name, new, old) in [
        (
            KeysOnly,
            "KEYS_ONLY",
            [false, false, false],
            [false, false, false],
        ),
        (
            NewImage,
            "NEW_IMAGE",
            [true, true, false],
            [false, false, false],
        ),
        (
            OldImage,
            "OLD_IMAGE",
            [false, false, false],
            [false, true, true],
        ),
        (
            NewAndOldImages,
            "NEW_AND_OLD_IMAGES",
            [true, true, false],
            [false, true, true],
        ),
    ] {
        let records = view_type_records(view);
        for (k, r) in records.iter().enumerate() {
            assert_eq!(r["dynamodb"]["StreamViewType"], name, "{name}");
            assert_eq!(
                r["dynamodb"]["Keys"],
                serde_json::json!({"ID": {"S": "x"}}),
                "{name}"
            );
            assert_eq!(has(r, "NewImage"), new[k], "{name} record {k}");
            assert_eq!(has(r, "OldImage"), old[k], "{name} record {k}");
        }
        if new[1] {
            assert_eq!(
                records[1]["dynamodb"]["NewImage"]["sales"],
                serde_json::json!({"N": "2"})
            );
        }
        if old[1] {
            assert_eq!(
                records[1]["dynamodb"]["OldImage"]["sales"],
                serde_json::json!({"N": "1"})
            );
        }
    }
}
