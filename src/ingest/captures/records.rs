//! Decoding one record of each capture kind (a Lambda event's Kinesis or DynamoDB record, an
//! AWS CLI `get-records` record), with errors that point at the record's field.

use base64::Engine as _;
use serde_json::Value;

use super::{Locator, Rec};
use crate::ingest::LoadError;
use crate::json::dynamodb::unmarshal_item;
use crate::model::{EventName, StreamViewType};

fn str_field<'v>(
    v: &'v Value,
    key: &str,
    loc: &Locator<'_>,
    what: &str,
) -> Result<&'v str, LoadError> {
    match v.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(other) => Err(loc.err(
            Some(key),
            format!(
                "{what} must be a non-empty string, got {}",
                crate::json::write::json_kind(other)
            ),
        )),
        None => Err(loc.err(None, format!("missing {what}"))),
    }
}

/// A sequence number: Kinesis and DynamoDB Streams both write decimal digits (up to 128, the
/// `SequenceNumber` pattern `0|([1-9]\d{0,128})` of their API references).
fn seq_field<'v>(
    v: &'v Value,
    key: &str,
    loc: &Locator<'_>,
    what: &str,
) -> Result<&'v str, LoadError> {
    let seq = str_field(v, key, loc, what)?;
    let valid = seq.len() <= 129
        && seq.bytes().all(|c| c.is_ascii_digit())
        && (seq == "0" || !seq.starts_with('0'));
    if !valid {
        return Err(loc.err(
            Some(key),
            format!("{what} {seq:?} is not a sequence number: Kinesis and DynamoDB Streams write decimal digits"),
        ));
    }
    Ok(seq)
}

/// Checks `eventSource`, where a record has one, against the record's shape.
fn check_event_source(r: &Value, expected: &str, loc: &Locator<'_>) -> Result<(), LoadError> {
    match r.get("eventSource") {
        None => Ok(()),
        Some(Value::String(s)) if s == expected => Ok(()),
        Some(other) => Err(loc.err(
            Some("eventSource"),
            format!("eventSource is {other}, but the record is shaped as a {expected:?} record; tumblescope replays Kinesis and DynamoDB Streams records only"),
        )),
    }
}

/// Epoch seconds (number) or an ISO-8601 string, as AWS tools print them.
fn time_field(v: &Value, key: &str, loc: &Locator<'_>) -> Result<i64, LoadError> {
    match v.get(key) {
        None => Err(loc.err(None, format!("missing {key}"))),
        Some(t) => crate::ingest::instant_ms(t, crate::ingest::TsUnit::Seconds)
            .map_err(|m| loc.err(Some(key), format!("{key}: {m}"))),
    }
}

/// Checks DynamoDB's typed attribute form; `path` names the attribute in messages.
fn check_typed(v: &Value, path: &str) -> Result<(), String> {
    let Some(obj) = v.as_object() else {
        return Err(format!(
            "{path} must be a typed attribute like {{\"S\": \"text\"}}, got {}",
            crate::json::write::json_kind(v)
        ));
    };
    if obj.len() != 1 {
        return Err(format!(
            "{path} must have exactly one type key (S, N, B, BOOL, NULL, L, M, SS, NS, BS), got {}",
            obj.len()
        ));
    }
    let (t, inner) = obj
        .iter()
        .next()
        .ok_or_else(|| format!("{path} is empty"))?;
    let ok = match (t.as_str(), inner) {
        ("S" | "B", Value::String(_)) | ("BOOL", Value::Bool(_)) | ("NULL", Value::Bool(true)) => {
            true
        }
        ("N", Value::String(s)) => crate::json::path::parse_numeric_text(s).is_some(),
        ("SS" | "BS", Value::Array(a)) => a.iter().all(Value::is_string),
        ("NS", Value::Array(a)) => a.iter().all(|x| {
            x.as_str()
                .and_then(crate::json::path::parse_numeric_text)
                .is_some()
        }),
        ("L", Value::Array(a)) => {
            for (i, x) in a.iter().enumerate() {
                check_typed(x, &format!("{path}[{i}]"))?;
            }
            true
        }
        ("M", Value::Object(m)) => {
            for (k, x) in m {
                check_typed(x, &format!("{path}.{k}"))?;
            }
            true
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "wrong DynamoDB type at {path}: {v} (N must be a string holding a number, S and B strings, BOOL a boolean, NULL true, L a list, M a map)"
        ))
    }
}

fn check_image(img: &Value, name: &str) -> Result<(), String> {
    let Some(obj) = img.as_object() else {
        return Err(format!("{name} must be a map of typed attributes"));
    };
    for (k, v) in obj {
        check_typed(v, &format!("{name}.{k}"))?;
    }
    Ok(())
}

pub(super) fn kinesis_event_record(
    r: &Value,
    doc_shard: Option<&str>,
    loc: &Locator<'_>,
) -> Result<(Rec, Option<String>), LoadError> {
    let k = r
        .get("kinesis")
        .ok_or_else(|| loc.err(None, "missing \"kinesis\"".into()))?;
    check_event_source(r, "aws:kinesis", loc)?;
    let pk = str_field(k, "partitionKey", loc, "kinesis.partitionKey")?;
    let seq = seq_field(k, "sequenceNumber", loc, "kinesis.sequenceNumber")?;
    let data = k.get("data").and_then(Value::as_str).ok_or_else(|| {
        loc.err(
            Some("data"),
            "missing or non-string kinesis.data (base64)".into(),
        )
    })?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|e| {
            loc.err(
                Some("data"),
                format!("kinesis.data is not valid base64: {e}"),
            )
        })?;
    let ts = time_field(k, "approximateArrivalTimestamp", loc)?;
    let shard = doc_shard.map(str::to_owned).or_else(|| {
        r.get("eventID")
            .and_then(Value::as_str)
            .and_then(|id| id.split_once(':'))
            .map(|(s, _)| s.to_owned())
    });
    Ok((
        Rec {
            ts_ms: ts,
            pk: pk.to_owned(),
            shard: None,
            seq: seq.to_owned(),
            data: bytes,
            event: EventName::Insert,
            old: None,
            typed: None,
            encryption: k
                .get("encryptionType")
                .and_then(Value::as_str)
                .map(str::to_owned),
        },
        shard,
    ))
}

pub(super) fn kinesis_cli_record(r: &Value, loc: &Locator<'_>) -> Result<Rec, LoadError> {
    let pk = str_field(r, "PartitionKey", loc, "PartitionKey")?;
    let seq = seq_field(r, "SequenceNumber", loc, "SequenceNumber")?;
    let data = r
        .get("Data")
        .and_then(Value::as_str)
        .ok_or_else(|| loc.err(Some("Data"), "missing or non-string Data (base64)".into()))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|e| loc.err(Some("Data"), format!("Data is not valid base64: {e}")))?;
    let ts = time_field(r, "ApproximateArrivalTimestamp", loc)?;
    Ok(Rec {
        ts_ms: ts,
        pk: pk.to_owned(),
        shard: None,
        seq: seq.to_owned(),
        data: bytes,
        event: EventName::Insert,
        old: None,
        typed: None,
        encryption: r
            .get("EncryptionType")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

pub(super) fn dynamodb_record(
    r: &Value,
    loc: &Locator<'_>,
    view: &mut Option<StreamViewType>,
) -> Result<Rec, LoadError> {
    let d = r
        .get("dynamodb")
        .ok_or_else(|| loc.err(None, "missing \"dynamodb\"".into()))?;
    let event = match r.get("eventName") {
        Some(Value::String(s)) => EventName::parse(s).ok_or_else(|| {
            loc.err(
                Some("eventName"),
                format!("eventName {s:?} is not INSERT, MODIFY or REMOVE"),
            )
        })?,
        _ => return Err(loc.err(Some("eventName"), "missing or non-string eventName".into())),
    };
    check_event_source(r, "aws:dynamodb", loc)?;
    let seq = seq_field(d, "SequenceNumber", loc, "dynamodb.SequenceNumber")?;
    let ts = time_field(d, "ApproximateCreationDateTime", loc)?;
    let keys = d
        .get("Keys")
        .ok_or_else(|| loc.err(None, "missing dynamodb.Keys".into()))?;
    check_image(keys, "Keys").map_err(|m| loc.err(Some("Keys"), m))?;
    for name in ["NewImage", "OldImage"] {
        if let Some(img) = d.get(name) {
            check_image(img, name).map_err(|m| loc.err(Some(name), m))?;
        }
    }
    if let Some(Value::String(v)) = d.get("StreamViewType") {
        *view = v.parse().ok();
    }
    let plain_keys = unmarshal_item(keys);
    let pk = plain_keys
        .as_object()
        .and_then(|m| m.values().next())
        .map(crate::json::path::label_from_value)
        .ok_or_else(|| loc.err(Some("Keys"), "dynamodb.Keys is empty".into()))?;
    let new = d.get("NewImage").map(unmarshal_item);
    let old = d.get("OldImage").map(unmarshal_item);
    // The payload is the item: NewImage, or what REMOVE deleted, or just the keys.
    let (payload, old_payload) = match (new, old) {
        (Some(n), o) => (n, o),
        (None, Some(o)) => (o, None),
        (None, None) => (plain_keys, None),
    };
    Ok(Rec {
        ts_ms: ts,
        pk,
        shard: None,
        seq: seq.to_owned(),
        data: serde_json::to_vec(&payload).unwrap_or_default(),
        event,
        old: old_payload.map(|o| serde_json::to_vec(&o).unwrap_or_default()),
        typed: Some(typed_attributes(r, d)),
        encryption: None,
    })
}

/// The typed attributes of a DynamoDB Streams record, compact and exactly as captured: every
/// type (`B`, `SS`, `NS`, `BS`, …) and every number's text reach the event unchanged; with
/// them what the record itself carried that tumblescope would otherwise derive: its `eventID`,
/// `SizeBytes` and the `userIdentity` of a TTL delete.
fn typed_attributes(r: &Value, d: &Value) -> Vec<u8> {
    let mut typed = serde_json::Map::new();
    for name in ["Keys", "NewImage", "OldImage", "SizeBytes"] {
        if let Some(v) = d.get(name) {
            typed.insert(name.into(), v.clone());
        }
    }
    for name in ["eventID", "userIdentity"] {
        if let Some(v) = r.get(name) {
            typed.insert(name.into(), v.clone());
        }
    }
    serde_json::to_vec(&Value::Object(typed)).unwrap_or_default()
}
