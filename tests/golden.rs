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

/// The keys of a JSON document in order, with each leaf replaced by its type: two documents
/// with the same shape have the same fields, nested the same way, in the same order.
fn shape(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        Value::Array(a) => Value::Array(a.iter().map(shape).collect()),
        Value::String(_) => "string".into(),
        Value::Number(_) => "number".into(),
        Value::Bool(_) => "bool".into(),
        Value::Null => Value::Null,
    }
}

fn example_meta() -> StreamMeta {
    StreamMeta {
        stream_name: "mystream".into(),
        table_name: "mytable".into(),
        region: "us-east-2".into(),
        account: "123456789012".into(),
        function_name: "myfunction".into(),
        ..StreamMeta::default()
    }
}

/// A batch whose retries ran out, on a stream named like AWS's example: the destination record
/// matches the example on "Retain discarded batch records for a Kinesis event source" field for
/// field (request id, timestamp and batch size are the run's own).
#[test]
fn kinesis_destination_record_matches_awss_example() {
    let aws: serde_json::Value = serde_json::from_str(r#"{"requestContext":{"requestId":"c9b8fa9f-5a7f-xmpl-af9c-0c604cde93a5","functionArn":"arn:aws:lambda:us-east-2:123456789012:function:myfunction","condition":"RetryAttemptsExhausted","approximateInvokeCount":1},"responseContext":{"statusCode":200,"executedVersion":"$LATEST","functionError":"Unhandled"},"version":"1.0","timestamp":"2019-11-14T00:38:06.021Z","KinesisBatchInfo":{"shardId":"shardId-000000000001","startSequenceNumber":"49601189658422359378836298521827638475320189012309704722","endSequenceNumber":"49601189658422359378836298522902373528957594348623495186","approximateArrivalOfFirstRecord":"2019-11-14T00:38:04.835Z","approximateArrivalOfLastRecord":"2019-11-14T00:38:05.580Z","batchSize":500,"streamArn":"arn:aws:kinesis:us-east-2:123456789012:stream/mystream"}}"#).unwrap();
    let info = &aws["KinesisBatchInfo"];
    let mut b = StreamBuilder::new(Source::Kinesis, 2, example_meta());
    for (t, seq) in [
        ("2019-11-14T00:38:04.835Z", &info["startSequenceNumber"]),
        ("2019-11-14T00:38:05.580Z", &info["endSequenceNumber"]),
    ] {
        b.push(InputRecord {
            ts_ms: tumblescope::model::parse_rfc3339_ms(t).unwrap(),
            partition_key: "k".into(),
            shard: Some(1),
            seq: Some(seq.as_str().unwrap().into()),
            data: br#"{"Item":{"sales":1}}"#.to_vec(),
            ..Default::default()
        });
    }
    let stream = b.finish();
    let settings = Settings {
        max_retry_attempts: 0,
        max_batching_window_s: 1,
        ..Settings::default()
    };
    let trace = run(
        &stream,
        &settings,
        "builtin:sum:Item.sales:fail=Item.sales>=1",
    );
    assert_eq!(trace.discards.len(), 1);
    let ours: serde_json::Value = serde_json::from_str(&tumblescope::destination::record_json(
        &stream,
        &trace,
        &trace.discards[0],
        settings.seed,
    ))
    .unwrap();
    assert_eq!(shape(&ours), shape(&aws));
    for path in [
        "/requestContext/functionArn",
        "/requestContext/condition",
        "/requestContext/approximateInvokeCount",
        "/responseContext",
        "/version",
        "/KinesisBatchInfo/shardId",
        "/KinesisBatchInfo/startSequenceNumber",
        "/KinesisBatchInfo/endSequenceNumber",
        "/KinesisBatchInfo/approximateArrivalOfFirstRecord",
        "/KinesisBatchInfo/approximateArrivalOfLastRecord",
        "/KinesisBatchInfo/streamArn",
    ] {
        assert_eq!(ours.pointer(path), aws.pointer(path), "{path}");
    }
    assert_eq!(ours["KinesisBatchInfo"]["batchSize"], 2);
    let inv = trace.get(trace.discards[0].invocation).unwrap();
    assert_eq!(
        ours["timestamp"],
        tumblescope::model::iso_millis(inv.end_ms)
    );
    insta::assert_snapshot!("kinesis_destination", pretty(&ours.to_string()));
}

/// The same for DynamoDB Streams ("Retain discarded records for a DynamoDB event source"):
/// arrival times in whole seconds, the stream ARN labelled with the stream's creation time.
#[test]
fn dynamodb_destination_record_matches_awss_example() {
    let aws: serde_json::Value = serde_json::from_str(r#"{"requestContext":{"requestId":"316aa6d0-8154-xmpl-9af7-85d5f4a6bc81","functionArn":"arn:aws:lambda:us-east-2:123456789012:function:myfunction","condition":"RetryAttemptsExhausted","approximateInvokeCount":1},"responseContext":{"statusCode":200,"executedVersion":"$LATEST","functionError":"Unhandled"},"version":"1.0","timestamp":"2019-11-14T00:13:49.717Z","DDBStreamBatchInfo":{"shardId":"shardId-00000001573689847184-864758bb","startSequenceNumber":"800000000003126276362","endSequenceNumber":"800000000003126276362","approximateArrivalOfFirstRecord":"2019-11-14T00:13:19Z","approximateArrivalOfLastRecord":"2019-11-14T00:13:19Z","batchSize":1,"streamArn":"arn:aws:dynamodb:us-east-2:123456789012:table/mytable/stream/2019-11-14T00:04:06.388"}}"#).unwrap();
    let mut b = StreamBuilder::new(Source::Dynamodb, 1, example_meta());
    b.push(InputRecord {
        ts_ms: tumblescope::model::parse_rfc3339_ms("2019-11-14T00:13:19.250Z").unwrap(),
        partition_key: "o-1".into(),
        seq: Some("800000000003126276362".into()),
        data: br#"{"ID":"o-1","sales":1}"#.to_vec(),
        event_name: EventName::Insert,
        ..Default::default()
    });
    let mut stream = b.finish();
    stream.shards[0].id = "shardId-00000001573689847184-864758bb".into();
    stream.created_ms = tumblescope::model::parse_rfc3339_ms("2019-11-14T00:04:06.388Z").unwrap();
    let settings = Settings {
        max_retry_attempts: 0,
        ..Settings::default()
    };
    let trace = run(&stream, &settings, "builtin:sum:sales:fail=sales>=1");
    let ours: serde_json::Value = serde_json::from_str(&tumblescope::destination::record_json(
        &stream,
        &trace,
        &trace.discards[0],
        settings.seed,
    ))
    .unwrap();
    assert_eq!(shape(&ours), shape(&aws));
    let mut expected = aws.clone();
    expected["requestContext"]["requestId"] = ours["requestContext"]["requestId"].clone();
    expected["timestamp"] = ours["timestamp"].clone();
    assert_eq!(ours, expected);
    insta::assert_snapshot!("dynamodb_destination", pretty(&ours.to_string()));
}

/// Records too old when read are discarded without an invocation: the record says no attempt
/// was made and carries no response (what AWS sends then is not documented: modelling choice).
#[test]
fn a_destination_record_without_an_invocation_has_no_response_context() {
    let mut orders: Vec<(i64, &str, i64)> = vec![(0, "a", 1000)];
    orders.push((1_000, "a", 1));
    let stream = kinesis(1, &orders);
    let settings = Settings {
        max_record_age_s: 60,
        retry_backoff_ms: 120_000,
        retry_backoff_max_ms: 120_000,
        ..Settings::default()
    };
    let trace = run(
        &stream,
        &settings,
        "builtin:sum:Item.sales:fail=Item.sales>=1000",
    );
    let unsent = trace.discards.iter().find(|d| d.attempts == 0).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&tumblescope::destination::record_json(
        &stream, &trace, unsent, 1,
    ))
    .unwrap();
    assert!(doc.get("responseContext").is_none());
    assert_eq!(doc["requestContext"]["approximateInvokeCount"], 0);
    assert_eq!(doc["requestContext"]["condition"], "RecordAgeExceeded");
}

/// Exact replay: every record of the sample Lambda event files comes back to the function as it
/// was captured, field for field (the event file is what Lambda sent; replaying it must send
/// the same records again).
#[test]
fn captured_event_records_are_replayed_field_for_field() {
    for (file, handler) in [
        ("dynamodb-event.json", "builtin:count"),
        ("kinesis-event.json", "builtin:count"),
        // A KMS-encrypted stream's records carry `encryptionType` (one here does not).
        ("kinesis-event-kms.json", "builtin:count"),
    ] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("sample-data")
            .join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let captured: serde_json::Value = serde_json::from_str(&text).unwrap();
        let (stream, _) = tumblescope::ingest::load_bytes(
            file,
            text.as_bytes(),
            &tumblescope::ingest::LoadOptions::default(),
        )
        .unwrap();
        let settings = Settings::default();
        let trace = run(&stream, &settings, handler);
        let mut sent = std::collections::HashMap::new();
        for inv in trace.invocations.iter().filter(|i| i.record_count() > 0) {
            let event: serde_json::Value =
                serde_json::from_str(&inv.request(&stream, &settings).event_json()).unwrap();
            for r in event["Records"].as_array().unwrap() {
                let seq = r["dynamodb"]["SequenceNumber"]
                    .as_str()
                    .or(r["kinesis"]["sequenceNumber"].as_str())
                    .unwrap()
                    .to_owned();
                sent.insert(seq, r.clone());
            }
        }
        let records = captured["Records"].as_array().unwrap();
        assert_eq!(sent.len(), records.len(), "{file}");
        for c in records {
            let seq = c["dynamodb"]["SequenceNumber"]
                .as_str()
                .or(c["kinesis"]["sequenceNumber"].as_str())
                .unwrap();
            assert_eq!(&sent[seq], c, "{file}: record {seq}");
        }
        // The engine's size of each record is its JSON's length.
        let ctx = tumblescope::handlers::event::EventContext::new(&stream, settings.seed);
        let sizer = tumblescope::handlers::event::Sizer::new(&stream, settings.seed);
        for i in 0..stream.len() {
            let json = tumblescope::handlers::event::record_json(&stream, &ctx, i);
            assert_eq!(
                sizer.record_len(&stream, stream.shard_of(i), i),
                json.len(),
                "{file}"
            );
        }
        // The fast writer and the serde reference agree on these records too.
        for inv in &trace.invocations {
            let req = inv.request(&stream, &settings);
            let ctx = tumblescope::handlers::event::EventContext::new(&stream, settings.seed);
            assert_eq!(
                req.event_json(),
                tumblescope::handlers::event::event_json_serde(&req, &ctx),
                "{file}"
            );
        }
    }
}
