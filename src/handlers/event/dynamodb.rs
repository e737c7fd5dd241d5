//! DynamoDB Streams records as they appear in an event: `Keys`, `NewImage` and `OldImage` in
//! typed form (replayed exactly from a capture, or marshalled from a plain item), sizes and
//! event ids.

use md5::{Digest as _, Md5};
use serde::Serialize;
use serde_json::{Map, Value};

use super::EventContext;
use crate::json::dynamodb::{image_size, marshal, marshal_item};
use crate::model::EventName;
use crate::model::stream::Stream;

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct DdbData<'a> {
    approximate_creation_date_time: i64,
    keys: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    new_image: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    old_image: Option<Value>,
    sequence_number: &'a str,
    size_bytes: u64,
    stream_view_type: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DdbRecord<'a> {
    #[serde(rename = "eventID")]
    event_id: String,
    event_name: &'static str,
    event_version: &'static str,
    event_source: &'static str,
    aws_region: &'a str,
    dynamodb: DdbData<'a>,
    #[serde(rename = "eventSourceARN")]
    event_source_arn: &'a str,
    /// A TTL delete's `{"type":"Service","principalId":"dynamodb.amazonaws.com"}`, as captured.
    #[serde(rename = "userIdentity", skip_serializing_if = "Option::is_none")]
    user_identity: Option<Value>,
}

/// What a captured record carried beside its images, replayed as captured.
#[derive(Default)]
pub(super) struct CapturedExtras {
    event_id: Option<String>,
    size_bytes: Option<u64>,
    user_identity: Option<Value>,
}

pub(super) fn parse_item(bytes: &[u8]) -> Map<String, Value> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => m,
        Ok(other) => {
            let mut m = Map::new();
            m.insert("value".into(), other);
            m
        }
        Err(_) => {
            let mut m = Map::new();
            m.insert(
                "value".into(),
                Value::String(String::from_utf8_lossy(bytes).into_owned()),
            );
            m
        }
    }
}

/// Deterministic 32-hex DynamoDB `eventID`.
pub fn ddb_event_id(seed: u64, shard: usize, seq: &str) -> String {
    let d = Md5::digest(format!("tumblescope:event:{seed}:{shard}:{seq}").as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) type Image = Map<String, Value>;

/// Keys, NewImage and OldImage of a record replayed from a capture: the typed attributes as
/// captured, shown as the stream view type shows them.
pub(super) fn captured_images(
    typed: &[u8],
    event: EventName,
    view: crate::model::StreamViewType,
) -> (Image, Option<Image>, Option<Image>, CapturedExtras) {
    let mut t = parse_item(typed);
    let extras = CapturedExtras {
        event_id: t
            .remove("eventID")
            .and_then(|v| v.as_str().map(str::to_owned)),
        size_bytes: t.remove("SizeBytes").and_then(|v| v.as_u64()),
        user_identity: t.remove("userIdentity"),
    };
    let mut take = |name: &str| match t.remove(name) {
        Some(Value::Object(m)) => Some(m),
        _ => None,
    };
    let keys = take("Keys").unwrap_or_default();
    let (new, old) = (take("NewImage"), take("OldImage"));
    let new = (view.has_new() && event != EventName::Remove)
        .then_some(new)
        .flatten();
    let old = (view.has_old() && event != EventName::Insert)
        .then_some(old)
        .flatten();
    (keys, new, old, extras)
}

/// Keys, NewImage and OldImage of a record whose item is plain JSON (orders, generic records):
/// marshalled into DynamoDB's typed form.
pub(super) fn marshalled_images(
    stream: &Stream,
    i: usize,
    event: EventName,
    view: crate::model::StreamViewType,
) -> (Image, Option<Image>, Option<Image>) {
    let item = parse_item(&stream.payload(i));
    let old = stream.old_image(i).map(parse_item);
    let key_attr = &stream.meta.key_attribute;
    let key_value = item
        .get(key_attr)
        .or_else(|| old.as_ref().and_then(|o| o.get(key_attr)))
        .map(marshal)
        .unwrap_or_else(|| marshal(&Value::String(stream.partition_key(i).to_owned())));
    let mut keys = Map::new();
    keys.insert(key_attr.clone(), key_value);
    let (new_image, old_image) = match event {
        EventName::Insert => (view.has_new().then(|| marshal_item(&item)), None),
        EventName::Modify => (
            view.has_new().then(|| marshal_item(&item)),
            if view.has_old() {
                old.as_ref().map(marshal_item)
            } else {
                None
            },
        ),
        EventName::Remove => (
            None,
            view.has_old()
                .then(|| marshal_item(old.as_ref().unwrap_or(&item))),
        ),
    };
    (keys, new_image, old_image)
}

/// One DynamoDB Streams record as it appears in `Records`.
pub(super) fn dynamodb_record(stream: &Stream, ctx: &EventContext, i: usize) -> String {
    let shard = stream.shard_of(i);
    let seq = stream.seq(i);
    let view = stream.meta.view_type;
    let event = stream.event_name(i);
    let (keys, new_image, old_image, extras) = match stream.typed_record(i) {
        Some(typed) => captured_images(typed, event, view),
        None => {
            let (k, n, o) = marshalled_images(stream, i, event, view);
            (k, n, o, CapturedExtras::default())
        }
    };
    let size = extras.size_bytes.unwrap_or_else(|| {
        image_size(&keys)
            + new_image.as_ref().map_or(0, image_size)
            + old_image.as_ref().map_or(0, image_size)
    });
    let rec = DdbRecord {
        event_id: extras
            .event_id
            .unwrap_or_else(|| ddb_event_id(ctx.seed, shard, &seq)),
        event_name: event.as_str(),
        event_version: "1.1",
        event_source: "aws:dynamodb",
        aws_region: &ctx.region,
        dynamodb: DdbData {
            approximate_creation_date_time: stream.ts_ms[i].div_euclid(1000),
            keys: Value::Object(keys),
            new_image: new_image.map(Value::Object),
            old_image: old_image.map(Value::Object),
            sequence_number: &seq,
            size_bytes: size,
            stream_view_type: view.as_str(),
        },
        event_source_arn: &ctx.source_arn,
        user_identity: extras.user_identity,
    };
    serde_json::to_string(&rec).unwrap_or_default()
}
