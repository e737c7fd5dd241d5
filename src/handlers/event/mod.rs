//! The exact event JSON Lambda sends (SEMANTICS §4), built on demand from the stream and the
//! trace: key order as in AWS's examples, Kinesis `data` in base64, DynamoDB images in typed
//! attribute form, window strings without milliseconds.

use base64::Engine as _;
use serde::Serialize;
use serde_json::value::RawValue;

mod dynamodb;
mod sizer;

pub use self::dynamodb::ddb_event_id;
pub use self::sizer::Sizer;

use self::dynamodb::dynamodb_record;
use crate::handlers::Request;
use crate::json::write::{json_str, push_digits};
use crate::model::stream::Stream;
use crate::model::{Source, iso_seconds};

/// Lambda's synchronous invocation payload limit, 6 MB (SEMANTICS §3).
pub const MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KinesisData<'a> {
    kinesis_schema_version: &'static str,
    partition_key: &'a str,
    sequence_number: &'a str,
    data: String,
    approximate_arrival_timestamp: Box<RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    encryption_type: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KinesisRecord<'a> {
    kinesis: KinesisData<'a>,
    event_source: &'static str,
    event_version: &'static str,
    #[serde(rename = "eventID")]
    event_id: String,
    event_name: &'static str,
    invoke_identity_arn: &'a str,
    aws_region: &'a str,
    #[serde(rename = "eventSourceARN")]
    event_source_arn: &'a str,
}

#[derive(Serialize)]
struct WindowJson {
    start: String,
    end: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a> {
    #[serde(rename = "Records")]
    records: Vec<Box<RawValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    window: Option<WindowJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<Box<RawValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shard_id: Option<&'a str>,
    #[serde(rename = "eventSourceARN", skip_serializing_if = "Option::is_none")]
    event_source_arn: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_final_invoke_for_window: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_window_terminated_early: Option<bool>,
}

/// ARNs and names that every record of a stream repeats, computed once.
#[derive(Clone, Debug)]
pub struct EventContext {
    /// Stream ARN (`eventSourceARN`).
    pub source_arn: String,
    /// `invokeIdentityArn`.
    pub role_arn: String,
    /// `awsRegion`.
    pub region: String,
    /// Seed for DynamoDB event ids.
    pub seed: u64,
    /// Per shard, the escaped start of a Kinesis `eventID` string: `"shardId-…:` (no closing
    /// quote), so the fast writer appends only the sequence number.
    event_id_prefix: Vec<Vec<u8>>,
    /// The escaped end that every Kinesis record shares, from `"eventName"` to the closing brace.
    kinesis_tail: Vec<u8>,
}

impl EventContext {
    /// The context of a stream.
    pub fn new(stream: &Stream, seed: u64) -> Self {
        let source_arn = match stream.source {
            Source::Kinesis => stream.meta.kinesis_arn(),
            Source::Dynamodb => stream.meta.dynamodb_arn(stream.created_ms),
        };
        let role_arn = stream.meta.role_arn();
        let region = stream.meta.region.clone();
        let event_id_prefix = stream
            .shards
            .iter()
            .map(|sh| {
                let mut v = Vec::new();
                json_str(&mut v, &format!("{}:", sh.id));
                v.pop();
                v
            })
            .collect();
        let mut kinesis_tail =
            b",\"eventName\":\"aws:kinesis:record\",\"invokeIdentityArn\":".to_vec();
        json_str(&mut kinesis_tail, &role_arn);
        kinesis_tail.extend_from_slice(b",\"awsRegion\":");
        json_str(&mut kinesis_tail, &region);
        kinesis_tail.extend_from_slice(b",\"eventSourceARN\":");
        json_str(&mut kinesis_tail, &source_arn);
        kinesis_tail.push(b'}');
        Self {
            source_arn,
            role_arn,
            region,
            seed,
            event_id_prefix,
            kinesis_tail,
        }
    }
}

fn raw(text: String) -> Box<RawValue> {
    RawValue::from_string(text)
        .unwrap_or_else(|_| RawValue::from_string("null".into()).expect("null is valid JSON"))
}

/// One Kinesis record as it appears in `Records`.
fn kinesis_record(stream: &Stream, ctx: &EventContext, i: usize) -> String {
    let shard = &stream.shards[stream.shard_of(i)];
    let seq = stream.seq(i);
    let rec = KinesisRecord {
        kinesis: KinesisData {
            kinesis_schema_version: "1.0",
            partition_key: stream.partition_key(i),
            sequence_number: &seq,
            data: base64::engine::general_purpose::STANDARD.encode(stream.payload(i)),
            approximate_arrival_timestamp: raw(crate::model::arrival_timestamp_text(
                stream.ts_ms[i],
            )),
            encryption_type: stream.encryption_type(i),
        },
        event_source: "aws:kinesis",
        event_version: "1.0",
        event_id: format!("{}:{}", shard.id, seq),
        event_name: "aws:kinesis:record",
        invoke_identity_arn: &ctx.role_arn,
        aws_region: &ctx.region,
        event_source_arn: &ctx.source_arn,
    };
    serde_json::to_string(&rec).unwrap_or_default()
}

/// Compact JSON of record `i` as it appears in an event's `Records`.
pub fn record_json(stream: &Stream, ctx: &EventContext, i: usize) -> String {
    match stream.source {
        Source::Kinesis => kinesis_record(stream, ctx, i),
        Source::Dynamodb => dynamodb_record(stream, ctx, i),
    }
}

/// The whole event of a request, compact.
pub fn event_json(req: &Request<'_>) -> String {
    let ctx = EventContext::new(req.stream, req.settings.seed);
    event_json_with(req, &ctx)
}

/// The whole event of a request, reusing a precomputed context.
pub fn event_json_with(req: &Request<'_>, ctx: &EventContext) -> String {
    let mut out = Vec::with_capacity(256 + req.records.len() * 640);
    write_event(req, ctx, &mut out);
    // Everything written is JSON text built from UTF-8 strings.
    String::from_utf8(out).unwrap_or_default()
}

/// Appends record `i` (of shard `shard`) as it appears in an event's `Records`, compact: the
/// same bytes as [`record_json`], without intermediate strings.
pub fn write_record(
    stream: &Stream,
    ctx: &EventContext,
    shard: usize,
    i: usize,
    out: &mut Vec<u8>,
) {
    match stream.source {
        Source::Kinesis => {
            out.extend_from_slice(
                b"{\"kinesis\":{\"kinesisSchemaVersion\":\"1.0\",\"partitionKey\":",
            );
            json_str(out, stream.partition_key(i));
            out.extend_from_slice(b",\"sequenceNumber\":");
            let seq_start = out.len() + 1;
            let plain = stream.write_seq(i, out);
            let seq_end = out.len() - 1;
            out.extend_from_slice(b",\"data\":\"");
            push_base64(out, &stream.payload(i));
            out.extend_from_slice(b"\",\"approximateArrivalTimestamp\":");
            push_arrival(out, stream.ts_ms[i]);
            if let Some(enc) = stream.encryption_type(i) {
                out.extend_from_slice(b",\"encryptionType\":");
                json_str(out, enc);
            }
            out.extend_from_slice(
                b"},\"eventSource\":\"aws:kinesis\",\"eventVersion\":\"1.0\",\"eventID\":",
            );
            // "<shardId>:<sequenceNumber>", escaped as one string.
            if plain && let Some(prefix) = ctx.event_id_prefix.get(shard) {
                out.extend_from_slice(prefix);
                out.extend_from_within(seq_start..seq_end);
                out.push(b'"');
            } else {
                json_str(
                    out,
                    &format!("{}:{}", stream.shards[shard].id, stream.seq(i)),
                );
            }
            out.extend_from_slice(&ctx.kinesis_tail);
        }
        Source::Dynamodb => out.extend_from_slice(dynamodb_record(stream, ctx, i).as_bytes()),
    }
}

/// Appends `payload` in standard base64, as Kinesis `data`.
fn push_base64(out: &mut Vec<u8>, payload: &[u8]) {
    let start = out.len();
    out.resize(start + payload.len().div_ceil(3) * 4, 0);
    let n = base64::engine::general_purpose::STANDARD
        .encode_slice(payload, &mut out[start..])
        .unwrap_or(0);
    out.truncate(start + n);
}

/// Appends `approximateArrivalTimestamp`: epoch seconds with three decimals.
fn push_arrival(out: &mut Vec<u8>, ts_ms: i64) {
    if ts_ms < 0 {
        out.push(b'-');
    }
    let abs = ts_ms.unsigned_abs();
    push_digits(out, abs / 1000, 1);
    out.push(b'.');
    push_digits(out, abs % 1000, 3);
}

/// Writes the event of a request as compact JSON: the same bytes as the serde-built event,
/// without building a value per record (this is on the hot path of user handlers).
pub fn write_event(req: &Request<'_>, ctx: &EventContext, out: &mut Vec<u8>) {
    let stream = req.stream;
    out.extend_from_slice(b"{\"Records\":[");
    for (k, i) in req.records.clone().enumerate() {
        if k > 0 {
            out.push(b',');
        }
        write_record(stream, ctx, req.shard, i, out);
    }
    out.push(b']');
    write_event_tail(req, ctx, out);
    out.push(b'}');
}

/// The fields of an event after `Records` (`,"window":…` to `"isWindowTerminatedEarly":…`),
/// or nothing without tumbling windows.
fn write_event_tail(req: &Request<'_>, ctx: &EventContext, out: &mut Vec<u8>) {
    let shard_id = &req.stream.shards[req.shard].id;
    if let Some(w) = req.window {
        out.extend_from_slice(b",\"window\":{\"start\":");
        json_str(out, &iso_seconds(w.start_ms));
        out.extend_from_slice(b",\"end\":");
        json_str(out, &iso_seconds(w.end_ms));
        out.extend_from_slice(b"},\"state\":");
        out.extend_from_slice(req.state.to_json_string().as_bytes());
        out.extend_from_slice(b",\"shardId\":");
        json_str(out, shard_id);
        out.extend_from_slice(b",\"eventSourceARN\":");
        json_str(out, &ctx.source_arn);
        out.extend_from_slice(b",\"isFinalInvokeForWindow\":");
        out.extend_from_slice(if req.is_final { b"true" } else { b"false" });
        out.extend_from_slice(b",\"isWindowTerminatedEarly\":");
        out.extend_from_slice(if req.is_early { b"true" } else { b"false" });
    }
}

/// Writes a Kinesis request for tumblescope's Node.js harness in a shorter form than the event:
/// `"kinesis":{…}` with only what varies per record, as one flat array of `partitionKey`,
/// `sequenceNumber`, `data` and `approximateArrivalTimestamp` (four values per record), plus the
/// values every record repeats; then `"event":{…}` with everything in the event after `Records`.
/// The harness rebuilds the exact event from it (same keys, order and values; a test compares
/// them), but has about a quarter of the text to parse: `JSON.parse` of the full event was most
/// of the harness's time per invocation. Returns `false` (writing nothing) for DynamoDB, whose
/// records are mostly variable and go as the full event.
pub fn write_kinesis_compact(req: &Request<'_>, ctx: &EventContext, out: &mut Vec<u8>) -> bool {
    let stream = req.stream;
    // The short form has four values per record; records with more go as the full event.
    if stream.source != Source::Kinesis || !stream.encryption.is_empty() {
        return false;
    }
    out.extend_from_slice(b"\"kinesis\":{\"shardId\":");
    json_str(out, &stream.shards[req.shard].id);
    out.extend_from_slice(b",\"role\":");
    json_str(out, &ctx.role_arn);
    out.extend_from_slice(b",\"region\":");
    json_str(out, &ctx.region);
    out.extend_from_slice(b",\"arn\":");
    json_str(out, &ctx.source_arn);
    out.extend_from_slice(b",\"records\":[");
    for (k, i) in req.records.clone().enumerate() {
        if k > 0 {
            out.push(b',');
        }
        json_str(out, stream.partition_key(i));
        out.push(b',');
        stream.write_seq(i, out);
        out.extend_from_slice(b",\"");
        push_base64(out, &stream.payload(i));
        out.extend_from_slice(b"\",");
        push_arrival(out, stream.ts_ms[i]);
    }
    // The rest of the event: what follows `Records` in it, as an object of its own.
    out.extend_from_slice(b"]},\"event\":{");
    let at = out.len();
    write_event_tail(req, ctx, out);
    if out.get(at) == Some(&b',') {
        out.remove(at);
    }
    out.push(b'}');
    true
}

/// The event built through serde, record by record: the reference the fast writer must match.
pub fn event_json_serde(req: &Request<'_>, ctx: &EventContext) -> String {
    let stream = req.stream;
    let records = req
        .records
        .clone()
        .map(|i| raw(record_json(stream, ctx, i)))
        .collect();
    let env = match req.window {
        None => Envelope {
            records,
            window: None,
            state: None,
            shard_id: None,
            event_source_arn: None,
            is_final_invoke_for_window: None,
            is_window_terminated_early: None,
        },
        Some(w) => Envelope {
            records,
            window: Some(WindowJson {
                start: iso_seconds(w.start_ms),
                end: iso_seconds(w.end_ms),
            }),
            state: Some(raw(req.state.to_json_string())),
            shard_id: Some(&stream.shards[req.shard].id),
            event_source_arn: Some(&ctx.source_arn),
            is_final_invoke_for_window: Some(req.is_final),
            is_window_terminated_early: Some(req.is_early),
        },
    };
    serde_json::to_string(&env).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    use crate::model::settings::Settings;
    use crate::model::state::State;
    use crate::model::stream::{InputRecord, StreamBuilder, StreamMeta};
    use crate::model::{EventName, Window};
    use serde_json::json;

    fn stream(source: Source, keys: &[&str]) -> Stream {
        let mut b = StreamBuilder::new(source, 2, StreamMeta::default());
        for (i, k) in keys.iter().enumerate() {
            b.push(InputRecord {
                ts_ms: 1_607_497_475_000 + i as i64 * 1234,
                partition_key: (*k).into(),
                data: format!(r#"{{"ID":"{k}","sales":{i},"note":"é\""}}"#).into_bytes(),
                ..Default::default()
            });
        }
        b.finish()
    }

    #[test]
    fn kinesis_sizes_are_exact() {
        let s = stream(
            Source::Kinesis,
            &["a", "key with \"quotes\"", "ü", "k3", "k4"],
        );
        let sizer = Sizer::new(&s, 1);
        let ctx = EventContext::new(&s, 1);
        let settings = Settings::default();
        for (shard_idx, shard) in s.shards.iter().enumerate() {
            let mut total = 0;
            for i in shard.range.clone() {
                let text = record_json(&s, &ctx, i);
                assert_eq!(sizer.record_len(&s, shard_idx, i), text.len(), "{text}");
                total += text.len();
            }
            let state = State::from_map(json!({"sales": 12345}).as_object().unwrap().clone());
            let req = Request {
                stream: &s,
                settings: &settings,
                shard: shard_idx,
                records: shard.range.clone(),
                window: Some(Window::containing(s.ts_ms[0], 30_000)),
                state: &state,
                is_final: false,
                is_early: false,
                n: 1,
                shard_n: 1,
                attempt: 1,
                at_ms: 0,
            };
            let ev = event_json(&req);
            assert_eq!(
                sizer.event_len(shard_idx, shard.range.len(), total, state.json_len()),
                ev.len()
            );
            assert!(sizer.record_len_bound(&s) >= total / shard.range.len().max(1));
        }
    }

    #[test]
    fn kinesis_record_has_aws_shape() {
        let s = stream(Source::Kinesis, &["1"]);
        let ctx = EventContext::new(&s, 1);
        let v: Value = serde_json::from_str(&record_json(&s, &ctx, 0)).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "kinesis",
                "eventSource",
                "eventVersion",
                "eventID",
                "eventName",
                "invokeIdentityArn",
                "awsRegion",
                "eventSourceARN"
            ]
        );
        let data = base64::engine::general_purpose::STANDARD
            .decode(v["kinesis"]["data"].as_str().unwrap())
            .unwrap();
        assert_eq!(data, *s.payload(0));
        assert!(
            record_json(&s, &ctx, 0).contains("\"approximateArrivalTimestamp\":1607497475.000")
        );
        assert_eq!(
            v["eventID"].as_str().unwrap(),
            format!("{}:{}", s.shards[s.shard_of(0)].id, s.seq(0))
        );
    }

    #[test]
    fn dynamodb_images_follow_view_type() {
        let mut b = StreamBuilder::new(Source::Dynamodb, 1, StreamMeta::default());
        b.push(InputRecord {
            ts_ms: 1_000_999,
            partition_key: "o-1".into(),
            data: br#"{"ID":"o-1","sales":42,"tags":["a"],"ok":true,"n":null}"#.to_vec(),
            event_name: EventName::Modify,
            old_image: Some(br#"{"ID":"o-1","sales":40}"#.to_vec()),
            ..Default::default()
        });
        b.push(InputRecord {
            ts_ms: 1_001_000,
            partition_key: "o-2".into(),
            data: br#"{"ID":"o-2","sales":1}"#.to_vec(),
            event_name: EventName::Remove,
            ..Default::default()
        });
        let s = b.finish();
        let ctx = EventContext::new(&s, 1);
        let v: Value = serde_json::from_str(&record_json(&s, &ctx, 0)).unwrap();
        assert_eq!(v["eventName"], "MODIFY");
        assert_eq!(v["eventVersion"], "1.1");
        assert_eq!(v["dynamodb"]["ApproximateCreationDateTime"], 1000);
        assert_eq!(v["dynamodb"]["Keys"], json!({"ID": {"S": "o-1"}}));
        assert_eq!(
            v["dynamodb"]["NewImage"],
            json!({"ID": {"S": "o-1"}, "sales": {"N": "42"}, "tags": {"L": [{"S": "a"}]},
                   "ok": {"BOOL": true}, "n": {"NULL": true}})
        );
        assert_eq!(v["dynamodb"]["OldImage"]["sales"], json!({"N": "40"}));
        assert_eq!(v["eventID"].as_str().unwrap().len(), 32);
        let r: Value = serde_json::from_str(&record_json(&s, &ctx, 1)).unwrap();
        assert!(r["dynamodb"].get("NewImage").is_none());
        assert_eq!(r["dynamodb"]["OldImage"]["sales"], json!({"N": "1"}));
    }

    #[test]
    fn the_fast_writer_matches_the_serde_built_event() {
        for source in [Source::Kinesis, Source::Dynamodb] {
            let keys = ["a", "key with \"quotes\"", "ü\u{1}", "k3", "k4", "\\slash"];
            let s = stream(source, &keys);
            let ctx = EventContext::new(&s, 7);
            let settings = Settings::default();
            let state = State::from_map(
                json!({"sales": 12345, "note": "x\"y"})
                    .as_object()
                    .unwrap()
                    .clone(),
            );
            for (shard, sh) in s.shards.iter().enumerate() {
                for window in [None, Some(Window::containing(s.ts_ms[0], 30_000))] {
                    let req = Request {
                        stream: &s,
                        settings: &settings,
                        shard,
                        records: sh.range.clone(),
                        window,
                        state: &state,
                        is_final: false,
                        is_early: true,
                        n: 3,
                        shard_n: 3,
                        attempt: 1,
                        at_ms: 0,
                    };
                    assert_eq!(event_json_with(&req, &ctx), event_json_serde(&req, &ctx));
                }
            }
        }
        // Stored sequence numbers too.
        let mut b = StreamBuilder::new(Source::Kinesis, 1, StreamMeta::default());
        b.push(InputRecord {
            ts_ms: -1_500,
            partition_key: "p".into(),
            seq: Some("123\"4".into()),
            shard: Some(0),
            data: vec![0, 255, 7],
            ..Default::default()
        });
        b.push(InputRecord {
            ts_ms: 5,
            partition_key: "q".into(),
            seq: Some("49500000000000000000000000000000000000000000000000000001".into()),
            shard: Some(0),
            data: b"{}".to_vec(),
            ..Default::default()
        });
        let s = b.finish();
        let ctx = EventContext::new(&s, 7);
        let settings = Settings::default();
        let state = State::empty();
        let req = Request {
            stream: &s,
            settings: &settings,
            shard: 0,
            records: 0..2,
            window: None,
            state: &state,
            is_final: false,
            is_early: false,
            n: 1,
            shard_n: 1,
            attempt: 1,
            at_ms: 0,
        };
        assert_eq!(event_json_with(&req, &ctx), event_json_serde(&req, &ctx));
    }

    #[test]
    fn windowless_events_have_only_records() {
        let s = stream(Source::Kinesis, &["a"]);
        let settings = Settings::default();
        let state = State::empty();
        let req = Request {
            stream: &s,
            settings: &settings,
            shard: s.shard_of(0),
            records: 0..1,
            window: None,
            state: &state,
            is_final: false,
            is_early: false,
            n: 1,
            shard_n: 1,
            attempt: 1,
            at_ms: 0,
        };
        let v: Value = serde_json::from_str(&event_json(&req)).unwrap();
        assert_eq!(v.as_object().unwrap().len(), 1);
    }
}
