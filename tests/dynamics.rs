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
