//! Streams as they really behave: where a new mapping starts reading, backlogs, retention.
//! Sources are named per test; SEMANTICS.md §14 holds the quotes.

mod common;

use common::{dynamodb, kinesis, render, run, sales};
use tumblescope::generate::DEFAULT_START_MS as T0;
use tumblescope::model::position::NotRead;
use tumblescope::model::settings::{Settings, StartingPosition};
use tumblescope::sim::trace::{Kind, Reason, Status};

/// One order a second for five minutes on one shard.
fn five_minutes() -> tumblescope::model::stream::Stream {
    let orders: Vec<(i64, &str, i64)> = (0..300).map(|k| (k * 1000, "pos-1", k % 5 + 1)).collect();
    kinesis(1, &orders)
}

fn starting(position: StartingPosition, mapping_start_s: i64) -> Settings {
    Settings {
        starting_position: position,
        mapping_start_ms: Some(T0 + mapping_start_s * 1000),
        ..Settings::default()
    }
}

/// "TRIM_HORIZON: Start reading at the last untrimmed record in the shard in the system, which
/// is the oldest data record in the shard" (Kinesis API, StartingPosition). A mapping created
/// after five minutes of orders reads them all as a backlog at catch-up pace: each window's
/// records in one batch (a batch never spans windows), and its final invocation at once,
/// because the next window's records are already there.
#[test]
fn trim_horizon_reads_the_backlog_with_windows_closing_back_to_back() {
    let stream = five_minutes();
    let trace = run(
        &stream,
        &starting(StartingPosition::TrimHorizon, 300),
        "builtin:sum:Item.sales",
    );
    let inv = &trace.invocations;
    assert!(trace.unread.is_empty());
    // The first read happens when the mapping starts, at 300 s.
    assert_eq!(inv[0].start_ms, T0 + 300_000, "{:#?}", render(&trace));
    // Windows of 30 s: ten in the backlog, each a batch of 30 records then its final.
    for w in 0..9usize {
        let (batch, fin) = (&inv[2 * w], &inv[2 * w + 1]);
        assert_eq!(
            batch.records,
            (w as u32 * 30)..(w as u32 * 30 + 30),
            "window {w}"
        );
        assert_eq!(batch.kind, Kind::Aggregate);
        assert_eq!(batch.reason, Reason::WindowBoundary);
        assert_eq!(fin.kind, Kind::Final);
        assert_eq!(fin.reason, Reason::NextWindowRecord);
        // Back to back: the final starts when the batch ends, well before grace would expire.
        assert_eq!(fin.start_ms, batch.end_ms, "window {w}");
        assert_eq!(
            fin.state_in.to_json()["sales"].as_i64().unwrap(),
            sales(&stream, w * 30..w * 30 + 30)
        );
    }
    // The last window has no later record: its batch ends the backlog, and its final waits for
    // the grace (120 s after the window's end).
    assert_eq!(inv.len(), 20);
    assert_eq!(
        (inv[18].records.clone(), inv[18].reason),
        (270..300, Reason::CaughtUp)
    );
    assert_eq!(inv[19].reason, Reason::GraceExpired);
    assert_eq!(inv[19].start_ms, T0 + 300_000 + 120_000);
    assert_eq!(trace.windows.len(), 10);
}

/// "LATEST: Start reading just after the most recent record in the shard, so that you always
/// read the most recent data in the shard" (Kinesis API, StartingPosition). The first 150
/// orders were written before the mapping started: never delivered, and listed.
#[test]
fn latest_delivers_only_records_written_after_the_mapping_starts() {
    let stream = five_minutes();
    let trace = run(
        &stream,
        &starting(StartingPosition::Latest, 150),
        "builtin:sum:Item.sales",
    );
    assert_eq!(trace.unread.len(), 1);
    let u = &trace.unread[0];
    assert_eq!(
        (u.shard, u.records.clone(), u.reason),
        (0, 0..150, NotRead::BeforeStartingPosition)
    );
    let delivered: u32 = trace
        .invocations
        .iter()
        .filter(|i| i.status == Status::Ok)
        .map(|i| i.record_count() as u32)
        .sum();
    assert_eq!(delivered, 150);
    assert_eq!(trace.invocations[0].records.start, 150);
    assert_eq!(trace.invocations[0].start_ms, T0 + 150_000);
    // The window 150–180 s starts with {} and holds exactly its 30 records.
    assert!(trace.invocations[0].state_in.is_empty());
    assert_eq!(trace.windows[0].records, 30);
}

/// "AT_TIMESTAMP: Start streaming from the position denoted by the time stamp" (Kinesis API);
/// a Kinesis AT_TIMESTAMP iterator takes the first record at or after the instant. With the
/// mapping created at 200 s and the timestamp at 99.5 s, records from 100 s on are delivered
/// (100 s–200 s as a backlog), the earlier ones listed.
#[test]
fn at_timestamp_starts_at_the_first_record_at_or_after_the_timestamp() {
    let stream = five_minutes();
    let settings = Settings {
        starting_position_timestamp_ms: Some(T0 + 99_500),
        ..starting(StartingPosition::AtTimestamp, 200)
    };
    let trace = run(&stream, &settings, "builtin:sum:Item.sales");
    assert_eq!(trace.unread[0].records, 0..100);
    assert_eq!(trace.invocations[0].records.start, 100);
    assert_eq!(trace.invocations[0].start_ms, T0 + 200_000);
    // A timestamp exactly at a record includes it.
    let exact = Settings {
        starting_position_timestamp_ms: Some(T0 + 100_000),
        ..settings
    };
    let trace = run(&stream, &exact, "builtin:sum:Item.sales");
    assert_eq!(trace.unread[0].records, 0..100);
}

/// "Raising it doesn't revive expired data": a Kinesis stream keeps records for its retention
/// period (24 hours by default; Kinesis, "Change the data retention period"). A mapping created
/// 25 hours after the first records finds the first hour gone, whatever the starting position;
/// an AT_TIMESTAMP before the trim horizon reads from the trim horizon (Kinesis
/// GetShardIterator).
#[test]
fn records_past_the_retention_are_trimmed_before_the_mapping_reads_them() {
    const H: i64 = 3_600_000;
    let orders: Vec<(i64, &str, i64)> = (0..6).map(|k| (k * H / 2, "a", 1)).collect();
    let stream = kinesis(1, &orders);
    let base = Settings {
        mapping_start_ms: Some(T0 + 25 * H),
        ..Settings::default()
    };
    for settings in [
        base.clone(),
        Settings {
            starting_position: StartingPosition::AtTimestamp,
            starting_position_timestamp_ms: Some(T0),
            ..base.clone()
        },
    ] {
        let trace = run(&stream, &settings, "builtin:sum:Item.sales");
        // Horizon at 1 h: the records at 0 h and 0.5 h are gone; the one at exactly 1 h is kept.
        assert_eq!(trace.unread.len(), 1);
        let u = &trace.unread[0];
        assert_eq!(
            (u.records.clone(), u.reason),
            (0..2, NotRead::TrimmedByRetention)
        );
        assert_eq!(trace.invocations[0].records.start, 2);
    }
    // With 48 hours of retention nothing is gone.
    let long = Settings {
        retention_hours: 48,
        ..base
    };
    let trace = run(&stream, &long, "builtin:sum:Item.sales");
    assert!(trace.unread.is_empty());
}

/// A record still unread when it passes the retention (a shard blocked by a failing batch for
/// longer than the stream keeps records) is trimmed away, and listed.
#[test]
fn records_waiting_behind_a_blocked_shard_are_trimmed_when_they_expire() {
    const H: i64 = 3_600_000;
    let stream = kinesis(1, &[(0, "a", 1000), (1000, "a", 1), (30 * H, "a", 2)]);
    let settings = Settings {
        max_retry_attempts: 1,
        retry_backoff_ms: 0,
        retry_backoff_max_ms: 0,
        // Each attempt takes 13 hours: two attempts pass the 24 hours.
        duration_base_ms: 13 * H as u32 / 1000 * 1000,
        ..Settings::default()
    };
    let trace = run(
        &stream,
        &settings,
        "builtin:sum:Item.sales:fail=Item.sales>=1000",
    );
    assert_eq!(trace.discards.len(), 1, "{:#?}", render(&trace));
    assert_eq!(trace.discards[0].condition, "RetryAttemptsExhausted");
    let u = &trace.unread;
    assert_eq!(u.len(), 1, "{u:#?}");
    assert_eq!(
        (u[0].records.clone(), u[0].reason),
        (1..2, NotRead::TrimmedByRetention)
    );
    assert_eq!(u[0].at_ms, trace.discards[0].at_ms);
    // The record written later is delivered.
    assert!(
        trace
            .invocations
            .iter()
            .any(|i| i.records.contains(&2) && i.status == Status::Ok)
    );
}

fn sim_error(stream: &tumblescope::model::stream::Stream, settings: &Settings) -> String {
    let mut h = common::builtin("builtin:count");
    tumblescope::sim::simulate(stream, settings, &mut h)
        .unwrap_err()
        .to_string()
}

/// "AT_TIMESTAMP is supported only for Amazon Kinesis streams" (Lambda API,
/// CreateEventSourceMapping); DynamoDB Streams keep records 24 hours (DynamoDB developer guide,
/// "Change data capture for DynamoDB Streams"); "StartingPositionTimestamp cannot be in the
/// future" (Lambda API).
#[test]
fn positions_aws_refuses_are_refused() {
    let ddb = dynamodb(1, &[(0, 1), (1000, 2)]);
    let at = Settings {
        starting_position: StartingPosition::AtTimestamp,
        starting_position_timestamp_ms: Some(T0),
        ..Settings::default()
    };
    assert!(
        sim_error(&ddb, &at).contains(
            "StartingPosition = AT_TIMESTAMP is out of range: is not available for DynamoDB Streams (valid: TRIM_HORIZON, LATEST)"
        ),
        "{}",
        sim_error(&ddb, &at)
    );
    let retention = Settings {
        retention_hours: 48,
        ..Settings::default()
    };
    assert!(sim_error(&ddb, &retention).contains("DynamoDB Streams keep records for 24 hours"));

    let kin = five_minutes();
    let future = Settings {
        starting_position_timestamp_ms: Some(T0 + 60_000),
        mapping_start_ms: Some(T0 + 30_000),
        ..at.clone()
    };
    assert!(
        sim_error(&kin, &future).contains(
            "StartingPositionTimestamp = 2026-01-01T12:01:00.000Z is out of range: is after the mapping starts (2026-01-01T12:00:30.000Z)"
        ),
        "{}",
        sim_error(&kin, &future)
    );
    let missing = Settings {
        starting_position_timestamp_ms: None,
        ..at
    };
    assert!(sim_error(&kin, &missing).contains("is required with StartingPosition AT_TIMESTAMP"));
    let stray = Settings {
        starting_position_timestamp_ms: Some(T0),
        ..Settings::default()
    };
    assert!(sim_error(&kin, &stray).contains("applies only to StartingPosition AT_TIMESTAMP"));
    let short = Settings {
        retention_hours: 23,
        ..Settings::default()
    };
    assert!(sim_error(&kin, &short).contains("RetentionPeriodHours = 23 is out of range"));
}

/// Runs the spec path the CLI and the app share (filters, then the engine).
fn run_filtered(
    stream: &tumblescope::model::stream::Stream,
    settings: Settings,
    handler: &str,
) -> tumblescope::run::Simulated {
    let spec = tumblescope::run::RunSpec {
        settings,
        handler: handler.into(),
        ..tumblescope::run::RunSpec::demo()
    };
    tumblescope::run::simulate(&spec, stream, &mut Default::default()).expect("run")
}

/// "If a record from your event source satisfies one or more of your filters, Lambda includes
/// the record in the next event it sends to your function. If none of your filters are
/// satisfied, Lambda discards the record" (Lambda event filtering). Filtered-out records do
/// not count toward BatchSize: every batch of 10 holds 10 large orders, though small ones are
/// interleaved with them.
#[test]
fn a_filter_keeps_only_large_orders_and_batches_count_only_those() {
    let orders: Vec<(i64, &str, i64)> = (0..200).map(|k| (k * 10, "pos-1", k % 100)).collect();
    let stream = kinesis(1, &orders);
    let settings = Settings {
        batch_size: 10,
        filters: vec![r#"{"data": {"Item": {"sales": [{"numeric": [">", 50]}]}}}"#.into()],
        mapping_start_ms: Some(T0 + 2_000),
        ..Settings::default()
    };
    let sim = run_filtered(&stream, settings, "builtin:sum:Item.sales");
    let delivered = sim.delivered.as_ref().expect("a filtered stream");
    let large: Vec<usize> = (0..200).filter(|&k| k % 100 > 50).collect();
    assert_eq!(delivered.len(), large.len());
    for (new, &old) in large.iter().enumerate() {
        assert_eq!(
            delivered.seq(new),
            stream.seq(old),
            "record {old} keeps its number"
        );
        assert_eq!(delivered.payload(new), stream.payload(old));
    }
    let f = sim.trace.filter.as_ref().unwrap();
    assert_eq!((f.passed, f.dropped, f.dropped_not_json), (98, 102, 0));
    assert_eq!(f.matched_per_filter, vec![98]);
    // The backlog at 2 s holds every record: full batches of ten large orders.
    let batches: Vec<_> = sim
        .trace
        .invocations
        .iter()
        .filter(|i| i.kind == Kind::Aggregate)
        .collect();
    assert!(
        batches[..9].iter().all(|b| b.record_count() == 10),
        "{:#?}",
        render(&sim.trace)
    );
    let total: i64 = sim
        .trace
        .windows
        .iter()
        .map(|w| {
            w.final_state.as_ref().unwrap().to_json()["sales"]
                .as_i64()
                .unwrap()
        })
        .sum();
    assert_eq!(total, large.iter().map(|k| (k % 100) as i64).sum::<i64>());
}

/// The filtering table: data that is not JSON, with a pattern on `data`: "Lambda drops the
/// record"; a pattern without `data` (metadata only) still sees it.
#[test]
fn records_whose_data_is_not_json_are_dropped_by_data_filters() {
    use tumblescope::model::stream::{InputRecord, StreamBuilder, StreamMeta};
    let mut b = StreamBuilder::new(
        tumblescope::model::Source::Kinesis,
        1,
        StreamMeta::default(),
    );
    for (k, data) in [r#"{"v":1}"#, "plain text", r#"{"v":2}"#]
        .iter()
        .enumerate()
    {
        b.push(InputRecord {
            ts_ms: T0 + k as i64,
            partition_key: "a".into(),
            data: data.as_bytes().to_vec(),
            ..Default::default()
        });
    }
    let stream = b.finish();
    let settings = Settings {
        filters: vec![r#"{"data": {"v": [{"exists": true}]}}"#.into()],
        ..Settings::default()
    };
    let sim = run_filtered(&stream, settings.clone(), "builtin:count");
    let f = sim.trace.filter.unwrap();
    assert_eq!((f.passed, f.dropped, f.dropped_not_json), (2, 1, 1));
    let meta = Settings {
        filters: vec![r#"{"partitionKey": ["a"]}"#.into()],
        ..settings
    };
    let sim = run_filtered(&stream, meta, "builtin:count");
    assert_eq!(sim.trace.filter.unwrap().passed, 3);
    assert!(
        sim.trace
            .warnings
            .iter()
            .any(|w| w.contains("filter only on the data key"))
    );
}

/// DynamoDB patterns see the record as the function would: `eventName` and the typed images.
#[test]
fn dynamodb_filters_match_event_names_and_typed_images() {
    let stream = dynamodb(1, &[(0, 10), (1000, 60), (2000, 70)]);
    let settings = Settings {
        filters: vec![r#"{"dynamodb": {"NewImage": {"sales": {"N": ["60", "70"]}}}, "eventName": ["INSERT"]}"#.into()],
        ..Settings::default()
    };
    let sim = run_filtered(&stream, settings, "builtin:sum:sales");
    let f = sim.trace.filter.unwrap();
    assert_eq!((f.passed, f.dropped), (2, 1));
    assert_eq!(
        sim.trace.windows[0].final_state.as_ref().unwrap().to_json()["sales"],
        130
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    /// With a filter, the delivered records are exactly those the pattern accepts, each once,
    /// in sequence order per shard.
    #[test]
    fn the_delivered_set_is_exactly_what_the_filter_accepts(
        sales in proptest::collection::vec(0i64..100, 1..120),
        threshold in 0i64..100,
        batch in 1u32..20,
    ) {
        let orders: Vec<(i64, &str, i64)> = sales
            .iter()
            .enumerate()
            .map(|(k, &s)| (k as i64 * 300, if k % 3 == 0 { "a" } else { "b" }, s))
            .collect();
        let stream = kinesis(2, &orders);
        let pattern = format!(r#"{{"data": {{"Item": {{"sales": [{{"numeric": [">=", {threshold}]}}]}}}}}}"#);
        let settings = Settings { batch_size: batch, filters: vec![pattern], ..Settings::default() };
        let sim = run_filtered(&stream, settings, "builtin:sum:Item.sales");
        let delivered = sim.stream(&stream);
        let mut got: Vec<String> = Vec::new();
        for i in sim.trace.invocations.iter().filter(|i| i.status == Status::Ok) {
            for r in i.records.clone() {
                got.push(delivered.seq(r as usize).into_owned());
            }
        }
        let mut want: Vec<String> = (0..stream.len())
            .filter(|&i| {
                let v: serde_json::Value = serde_json::from_slice(&stream.payload(i)).unwrap();
                v["Item"]["sales"].as_i64().unwrap() >= threshold
            })
            .map(|i| stream.seq(i).into_owned())
            .collect();
        // Per shard in sequence order; shards run interleaved, so compare as sets and counts.
        let mut got_sorted = got.clone();
        got_sorted.sort();
        want.sort();
        proptest::prop_assert_eq!(got_sorted, want);
        for sh in &delivered.shards {
            let on: Vec<&String> = got.iter().filter(|s| (sh.range.start..sh.range.end).any(|i| delivered.seq(i) == s.as_str())).collect();
            let mut sorted = on.clone();
            sorted.sort_by_key(|s| (s.len(), (*s).clone()));
            proptest::prop_assert_eq!(on, sorted);
        }
    }
}

/// "BatchSize … Maximum: 10000" on both "Lambda parameters for Amazon DynamoDB event source
/// mappings" (services-ddb-params) and the Kinesis page (older API text and CDK docs said 1,000
/// for DynamoDB; the current parameter pages govern).
#[test]
fn batch_size_maximum_is_10000_for_both_sources() {
    for (stream, handler) in [
        (dynamodb(1, &[(0, 1)]), "builtin:sum:sales"),
        (five_minutes(), "builtin:sum:Item.sales"),
    ] {
        let ok = Settings {
            batch_size: 10_000,
            ..Settings::default()
        };
        assert!(tumblescope::sim::simulate(&stream, &ok, &mut common::builtin(handler)).is_ok());
        let over = Settings {
            batch_size: 10_001,
            ..Settings::default()
        };
        assert!(sim_error(&stream, &over).contains("BatchSize = 10001 is out of range"));
    }
}

/// Replayed captures keep the ARNs they were captured with: region, account and stream or
/// table name (and, for DynamoDB, the stream label) come from `eventSourceARN`.
#[test]
fn replayed_events_keep_the_captured_arns() {
    use tumblescope::ingest::{LoadOptions, load_bytes};
    let kin = r#"{"Records":[{"kinesis":{"kinesisSchemaVersion":"1.0","partitionKey":"p","sequenceNumber":"49590338271490256608559692538361571095921575989136588898","data":"eyJhIjoxfQ==","approximateArrivalTimestamp":1545084650.987},"eventSource":"aws:kinesis","eventVersion":"1.0","eventID":"shardId-000000000006:49590338271490256608559692538361571095921575989136588898","eventName":"aws:kinesis:record","invokeIdentityArn":"arn:aws:iam::210987654321:role/lambda-role","awsRegion":"eu-west-1","eventSourceARN":"arn:aws:kinesis:eu-west-1:210987654321:stream/checkout"}]}"#;
    let ddb = r#"{"Records":[{"eventID":"1","eventName":"INSERT","eventVersion":"1.1","eventSource":"aws:dynamodb","awsRegion":"ap-south-1","dynamodb":{"ApproximateCreationDateTime":1767268801,"Keys":{"ID":{"S":"o-1"}},"NewImage":{"ID":{"S":"o-1"},"sales":{"N":"5"}},"SequenceNumber":"111","SizeBytes":26,"StreamViewType":"NEW_AND_OLD_IMAGES"},"eventSourceARN":"arn:aws:dynamodb:ap-south-1:555555555555:table/Carts/stream/2025-12-31T23:59:58.125","userIdentity":{"type":"Service","principalId":"dynamodb.amazonaws.com"}}]}"#;
    for (name, text, arn, region) in [
        (
            "k.json",
            kin,
            "arn:aws:kinesis:eu-west-1:210987654321:stream/checkout",
            "eu-west-1",
        ),
        (
            "d.json",
            ddb,
            "arn:aws:dynamodb:ap-south-1:555555555555:table/Carts/stream/2025-12-31T23:59:58.125",
            "ap-south-1",
        ),
    ] {
        let (stream, _) = load_bytes(name, text.as_bytes(), &LoadOptions::default()).unwrap();
        let settings = Settings::default();
        let handler = tumblescope::handlers::default_spec(stream.source);
        let trace = run(&stream, &settings, handler);
        let event: serde_json::Value = serde_json::from_str(
            &trace.invocations[0]
                .request(&stream, &settings)
                .event_json(),
        )
        .unwrap();
        let rec = &event["Records"][0];
        assert_eq!(rec["eventSourceARN"], arn, "{name}");
        assert_eq!(rec["awsRegion"], region, "{name}");
        assert_eq!(event["eventSourceARN"], arn, "{name}");
        if name == "d.json" {
            // What the record carried itself: its id, size and a TTL delete's identity.
            assert_eq!(rec["eventID"], "1");
            assert_eq!(rec["dynamodb"]["SizeBytes"], 26);
            assert_eq!(rec["userIdentity"]["principalId"], "dynamodb.amazonaws.com");
        } else {
            assert_eq!(
                rec["invokeIdentityArn"],
                "arn:aws:iam::210987654321:role/lambda-role"
            );
        }
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    /// With LATEST or AT_TIMESTAMP, exactly the records at or after the start (in sequence
    /// order per shard) are delivered, each once; the others are listed as not read.
    #[test]
    fn exactly_the_records_from_the_start_are_delivered(
        gaps in proptest::collection::vec(0i64..4_000, 1..150),
        start_at in 0usize..150,
        at_timestamp in proptest::bool::ANY,
        lag_ms in 0i64..90_000,
    ) {
        let mut t = 0;
        let orders: Vec<(i64, &str, i64)> = gaps
            .iter()
            .enumerate()
            .map(|(k, g)| { t += g; (t, if k % 2 == 0 { "a" } else { "b" }, 1) })
            .collect();
        let stream = kinesis(2, &orders);
        let from = T0 + orders[start_at.min(orders.len() - 1)].0;
        let settings = if at_timestamp {
            Settings {
                starting_position: StartingPosition::AtTimestamp,
                starting_position_timestamp_ms: Some(from),
                mapping_start_ms: Some(from + lag_ms),
                ..Settings::default()
            }
        } else {
            Settings {
                starting_position: StartingPosition::Latest,
                mapping_start_ms: Some(from),
                ..Settings::default()
            }
        };
        let trace = run(&stream, &settings, "builtin:count");
        let mut delivered = vec![0u32; stream.len()];
        for i in trace.invocations.iter().filter(|i| i.status == Status::Ok) {
            for r in i.records.clone() {
                delivered[r as usize] += 1;
            }
        }
        let mut unread = vec![false; stream.len()];
        for u in &trace.unread {
            proptest::prop_assert_eq!(u.reason, NotRead::BeforeStartingPosition);
            for r in u.records.clone() {
                unread[r as usize] = true;
            }
        }
        for i in 0..stream.len() {
            // Times only grow here, so "from the start on in sequence order" is "at or after".
            let want = stream.ts_ms[i] >= from;
            proptest::prop_assert_eq!(delivered[i], u32::from(want), "record {}", i);
            proptest::prop_assert_eq!(unread[i], !want, "record {}", i);
        }
    }
}

/// Whether a filtered-out record of a later window closes the open window is not documented
/// (SEMANTICS §14.9 Q4). By default it does not (the engine never sees it): the window closes
/// when the next matching record is read. With `--filtered-records-close-windows` it closes
/// when the filtered record is read.
#[test]
fn a_filtered_record_closes_the_window_only_when_that_choice_is_made() {
    let stream = kinesis(1, &[(5_000, "a", 90), (40_000, "a", 1), (95_000, "a", 95)]);
    let filter = vec![r#"{"data": {"Item": {"sales": [{"numeric": [">", 50]}]}}}"#.to_owned()];
    let final_of_first = |close: bool| {
        let settings = Settings {
            filters: filter.clone(),
            filtered_records_close_windows: close,
            ..Settings::default()
        };
        let sim = run_filtered(&stream, settings, "builtin:sum:Item.sales");
        let f = sim
            .trace
            .invocations
            .iter()
            .find(|i| i.is_final)
            .unwrap()
            .clone();
        assert_eq!(f.reason, Reason::NextWindowRecord);
        assert_eq!(f.state_in.to_json()["sales"], 90);
        f.start_ms - T0
    };
    assert_eq!(final_of_first(false), 95_000);
    assert_eq!(final_of_first(true), 40_000);
}
