//! tumblescope's orders JSON Lines format (the generator's output), one object per line:
//!
//! ```text
//! {"timestamp":1767268800.250,"partitionKey":"store-03","data":{"Item":{"sales":42}}}
//! ```
//!
//! `timestamp` is epoch seconds (a number) or an RFC 3339 string; `partitionKey` a string (for
//! DynamoDB it defaults to the item's key attribute); optional `explicitHashKey`, `eventName`
//! (DynamoDB: INSERT, MODIFY, REMOVE) and `oldImage`; `data` is the payload (Kinesis: any JSON,
//! sent compact and base64-encoded; DynamoDB: the item, as a JSON object).

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use std::borrow::Cow;

use super::LoadError;
use super::fastjson::OrderFields;
use super::record::{Parsed, column_of};
use super::shape::Shape;
use crate::json::path::Path;
use crate::json::text::compact_json;
use crate::model::routing;
use crate::model::stream::{Stream, StreamMeta};
use crate::model::{EventName, Source, ms_from_epoch_seconds, parse_rfc3339_ms};

/// How to read an orders file.
#[derive(Clone, Debug, PartialEq)]
pub struct OrdersOptions {
    /// Kinesis or DynamoDB.
    pub source: Source,
    /// Number of shards to route to.
    pub shards: u32,
    /// Names (and the DynamoDB key attribute).
    pub meta: StreamMeta,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Line<'a> {
    #[serde(default)]
    timestamp: Option<Value>,
    #[serde(default, borrow)]
    partition_key: Option<Text<'a>>,
    #[serde(default)]
    explicit_hash_key: Option<Value>,
    #[serde(default)]
    event_name: Option<Value>,
    #[serde(default, borrow)]
    old_image: Option<&'a RawValue>,
    #[serde(default, borrow)]
    data: Option<&'a RawValue>,
}

/// A string that borrows from the line unless it had escapes. (serde's own `Cow<str>` always
/// allocates inside an `Option`, one allocation per record.)
pub(crate) struct Text<'a>(pub(crate) Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = Text<'a>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V(std::marker::PhantomData))
    }
}

/// The line being parsed, for errors that point into it.
struct At<'f, 't> {
    file: &'f str,
    line_no: u64,
    text: &'t str,
}

impl At<'_, '_> {
    fn column(&self, column: u64, message: String) -> LoadError {
        LoadError::at(self.file, self.line_no, column, message)
    }

    /// An error at the key's position on the line.
    fn key(&self, key: &str, message: String) -> LoadError {
        self.column(column_of(self.text, key), message)
    }
}

/// Parses one line into a record, borrowing from the line where it can.
pub(crate) fn parse_line<'a>(
    text: &'a str,
    file: &str,
    line_no: u64,
    source: Source,
    key_attribute: &str,
    value: Option<&Path>,
) -> Result<Parsed<'a>, LoadError> {
    if let Some(p) = fast_path(text, source, value) {
        return Ok(p);
    }
    let at = At {
        file,
        line_no,
        text,
    };
    let line = read_line(&at)?;
    let ts_ms = match &line.timestamp {
        None => {
            return Err(at.column(
                1,
                "missing \"timestamp\": expected epoch seconds (a number) or an RFC 3339 string"
                    .into(),
            ));
        }
        Some(v) => {
            super::instant_ms(v, super::TsUnit::Seconds).map_err(|m| at.key("timestamp", m))?
        }
    };
    let Some(data) = line.data else {
        return Err(at.column(
            1,
            "missing \"data\": the record's payload (a JSON value)".into(),
        ));
    };
    let data_text = compact_json(data.get());
    let event = event_name(&at, line.event_name.as_ref())?;
    let ehk = explicit_hash_key(&at, line.explicit_hash_key.as_ref())?;
    if source == Source::Dynamodb && !data_text.starts_with('{') {
        return Err(at.key(
            "data",
            "DynamoDB \"data\" must be the item, a JSON object".into(),
        ));
    }
    let pk = partition_key(
        &at,
        line.partition_key.map(|t| t.0),
        source,
        &data_text,
        key_attribute,
    )?;
    Ok(Parsed {
        ts_ms,
        pk,
        ehk,
        shard: None,
        seq: None,
        data: data_text,
        event,
        old: line.old_image.map(|o| compact_json(o.get())),
        value: None,
    })
}

/// The line as JSON, or serde's message at its column.
fn read_line<'t>(at: &At<'_, 't>) -> Result<Line<'t>, LoadError> {
    serde_json::from_str(at.text).map_err(|e| {
        let what = match e.classify() {
            serde_json::error::Category::Eof => {
                format!("truncated record: {}", super::serde_message(&e))
            }
            _ => super::serde_message(&e),
        };
        at.column(
            e.column().max(1) as u64,
            format!("{what}; expected one JSON object per line"),
        )
    })
}

fn event_name(at: &At<'_, '_>, value: Option<&Value>) -> Result<EventName, LoadError> {
    match value {
        None => Ok(EventName::Insert),
        Some(Value::String(s)) => EventName::parse(s).ok_or_else(|| {
            at.key(
                "eventName",
                format!("eventName {s:?} is not INSERT, MODIFY or REMOVE"),
            )
        }),
        Some(other) => Err(at.key(
            "eventName",
            format!(
                "eventName must be a string, got {}",
                crate::json::write::json_kind(other)
            ),
        )),
    }
}

fn explicit_hash_key(at: &At<'_, '_>, value: Option<&Value>) -> Result<Option<u128>, LoadError> {
    let parse = |s: &str| {
        routing::parse_explicit_hash_key(s)
            .map(Some)
            .map_err(|m| at.key("explicitHashKey", m))
    };
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => parse(s),
        Some(Value::Number(n)) => parse(&n.to_string()),
        Some(other) => Err(at.key(
            "explicitHashKey",
            format!(
                "explicitHashKey must be a decimal string, got {}",
                crate::json::write::json_kind(other)
            ),
        )),
    }
}

/// The partition key as written, or (DynamoDB) the item's key attribute.
fn partition_key<'a>(
    at: &At<'_, '_>,
    written: Option<Cow<'a, str>>,
    source: Source,
    data_text: &str,
    key_attribute: &str,
) -> Result<Cow<'a, str>, LoadError> {
    match (written, source) {
        (Some(pk), _) => {
            let chars = pk.chars().count();
            if pk.is_empty() || chars > 256 {
                return Err(at.key(
                    "partitionKey",
                    format!("partitionKey must be 1–256 characters, got {chars}"),
                ));
            }
            Ok(pk)
        }
        (None, Source::Dynamodb) => {
            let item: Value = serde_json::from_str(data_text).unwrap_or(Value::Null);
            match item.get(key_attribute) {
                Some(Value::String(s)) => Ok(Cow::Owned(s.clone())),
                Some(v @ Value::Number(_)) => Ok(Cow::Owned(v.to_string())),
                _ => Err(at.key(
                    "data",
                    format!(
                        "DynamoDB orders need \"partitionKey\" or a key attribute data.{key_attribute} (string or number)"
                    ),
                )),
            }
        }
        (None, Source::Kinesis) => Err(at.column(
            1,
            "missing \"partitionKey\": Kinesis routes every record by its partition key".into(),
        )),
    }
}

/// Epoch seconds written with at most three decimals (`1767268800.250`), as milliseconds,
/// without going through `f64`: the common timestamp, and parsing it was a tenth of the work of
/// loading. Anything else (`None`) goes through `f64` as before. Both give the same
/// milliseconds up to 11 integer digits (10^11 s is the year 5138): there the double's error in
/// seconds and in the product by 1000 stays far below half a millisecond. Beyond, `f64` itself
/// rounds, and the exact path would differ from what loading has always done.
fn epoch_ms_exact(raw: &str) -> Option<i64> {
    let b = raw.as_bytes();
    let mut ms = 0i64;
    let mut i = 0;
    while let Some(&c @ b'0'..=b'9') = b.get(i) {
        if i == 11 {
            return None;
        }
        ms = ms * 10 + i64::from(c - b'0');
        i += 1;
    }
    if i == 0 || (i > 1 && b[0] == b'0') {
        return None;
    }
    let mut decimals = 0;
    if i < b.len() {
        if b[i] != b'.' {
            return None;
        }
        i += 1;
        while let Some(&c @ b'0'..=b'9') = b.get(i) {
            if decimals == 3 {
                return None;
            }
            ms = ms * 10 + i64::from(c - b'0');
            decimals += 1;
            i += 1;
        }
        if decimals == 0 || i != b.len() {
            return None;
        }
    }
    Some(ms * 10i64.pow(3 - decimals))
}

thread_local! {
    /// The layout of the lines this thread parsed last, with how many lines in a row missed it.
    static SHAPE: std::cell::RefCell<(Option<Shape>, u32)> = const { std::cell::RefCell::new((None, 0)) };
}

/// A line's fields through the layout the previous lines shared (see [`Shape`]): most files
/// repeat one layout, and checking a line against it is much cheaper than reading it from
/// scratch. After a few misses in a row the layout is learned again from the current line.
fn shaped_fields<'a>(text: &'a str, value: Option<&Path>) -> Option<OrderFields<'a>> {
    SHAPE.with(|cell| {
        let mut cell = cell.borrow_mut();
        let (shape, misses) = &mut *cell;
        // A shape learned for another load's value path reads the wrong number.
        let current = shape.as_ref().filter(|s| s.value_path() == value);
        if let Some(f) = current.and_then(|s| s.fields(text)) {
            *misses = 0;
            return Some(f);
        }
        *misses += 1;
        if current.is_none() || *misses >= 8 {
            *shape = Shape::learn(text, value);
            *misses = 0;
            return shape.as_ref().and_then(|s| s.fields(text));
        }
        None
    })
}

/// The common line (`timestamp`, `partitionKey`, `data` and nothing else) without building a
/// parse tree; `None` sends the line to the full parser, which also words every error.
fn fast_path<'a>(text: &'a str, source: Source, value: Option<&Path>) -> Option<Parsed<'a>> {
    let f = shaped_fields(text, value).or_else(|| super::fastjson::order_fields(text).ok())?;
    let (ts_raw, data, pk) = (f.timestamp?, f.data?, f.partition_key?);
    let ts_ms = if ts_raw.starts_with('"') {
        let inner = &ts_raw[1..ts_raw.len() - 1];
        if inner.contains('\\') {
            return None;
        }
        parse_rfc3339_ms(inner)?
    } else {
        epoch_ms_exact(ts_raw).or_else(|| ms_from_epoch_seconds(ts_raw.parse::<f64>().ok()?))?
    };
    if pk.is_empty() || pk.len() > 256 && pk.chars().count() > 256 {
        return None;
    }
    if source == Source::Dynamodb && !data.starts_with('{') {
        return None;
    }
    Some(Parsed {
        ts_ms,
        pk: Cow::Borrowed(pk),
        ehk: None,
        shard: None,
        seq: None,
        data: if f.data_spaced {
            compact_json(data)
        } else {
            Cow::Borrowed(data)
        },
        event: EventName::Insert,
        old: None,
        // What `number_in` would read from the payload at the same token.
        value: f.value.map(|raw| {
            crate::json::path::number_from_raw(raw.as_bytes())
                .ok()
                .flatten()
                .unwrap_or(f64::NAN)
        }),
    })
}

/// Reads a whole orders file (already in memory) into a routed stream.
pub fn read_orders(bytes: &[u8], file: &str, opts: &OrdersOptions) -> Result<Stream, LoadError> {
    super::read_orders_bytes(bytes, file, opts.source, opts.shards, opts.meta.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(source: Source) -> OrdersOptions {
        OrdersOptions {
            source,
            shards: 2,
            meta: StreamMeta::default(),
        }
    }

    #[test]
    fn reads_numbers_and_rfc3339() {
        let text = r#"{"timestamp":1767268800.25,"partitionKey":"a","data":{"Item": {"sales": 3}}}

{"timestamp":"2026-01-01T12:00:01.500Z","partitionKey":"b","data":{"Item":{"sales":4}}}
"#;
        let s = read_orders(text.as_bytes(), "t.jsonl", &opts(Source::Kinesis)).unwrap();
        assert_eq!(s.len(), 2);
        let mut ts = s.ts_ms.clone();
        ts.sort();
        assert_eq!(ts, [1_767_268_800_250, 1_767_268_801_500]);
        let i = (0..2).find(|&i| s.partition_key(i) == "a").unwrap();
        assert_eq!(*s.payload(i), *br#"{"Item":{"sales":3}}"#);
    }

    #[test]
    fn exact_epoch_milliseconds_agree_with_the_f64_path() {
        for raw in [
            "0",
            "1",
            "1767268800",
            "1767268800.2",
            "1767268800.25",
            "1767268800.250",
            "1767268800.999",
            "99999999999.999",
            "1767268800.001",
            "12.5",
        ] {
            let via_f64 = ms_from_epoch_seconds(raw.parse::<f64>().unwrap());
            assert_eq!(epoch_ms_exact(raw), via_f64, "{raw}");
        }
        for other in [
            "1767268800.2505",
            "-1",
            "1e9",
            "01",
            "1.",
            ".5",
            "",
            "100000000000",
            "1234567890123456789012345678901234567890",
            "1.12345678901234567890123456789",
        ] {
            assert_eq!(epoch_ms_exact(other), None, "{other}");
        }
    }

    proptest::proptest! {
        #[test]
        fn exact_epoch_milliseconds_match_f64_everywhere(secs in 0u64..100_000_000_000, ms in 0u64..1000, digits in 0usize..4) {
            let frac = format!("{ms:03}");
            let raw = if digits == 0 { secs.to_string() } else { format!("{secs}.{}", &frac[..digits]) };
            proptest::prop_assert_eq!(epoch_ms_exact(&raw), ms_from_epoch_seconds(raw.parse::<f64>().unwrap()), "{}", raw);
        }
    }

    #[test]
    fn errors_have_line_and_column() {
        let text = "{\"timestamp\":1,\"partitionKey\":\"a\",\"data\":{}}\n{\"timestamp\": \"yesterday\",\"partitionKey\":\"a\",\"data\":{}}\n";
        let e = read_orders(text.as_bytes(), "o.jsonl", &opts(Source::Kinesis)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "o.jsonl:2:15: timestamp \"yesterday\" is not RFC 3339 (e.g. 2026-01-01T12:00:00.250Z) or epoch seconds/milliseconds"
        );
        let e = read_orders(b"{\"timestamp\":1,\n", "o.jsonl", &opts(Source::Kinesis)).unwrap_err();
        assert!(matches!(e, LoadError::At { line: 1, .. }), "{e}");
        assert!(e.to_string().contains("truncated"), "{e}");
        let e = read_orders(
            b"{\"timestamp\":1,\"data\":{}}",
            "o.jsonl",
            &opts(Source::Kinesis),
        )
        .unwrap_err();
        assert!(e.to_string().contains("missing \"partitionKey\""), "{e}");
        let e = read_orders(b"", "o.jsonl", &opts(Source::Kinesis)).unwrap_err();
        assert!(e.to_string().contains("empty"), "{e}");
        let e = read_orders(
            b"{\"timestamp\":1,\"partitionKey\":\"\xff\"}",
            "o.jsonl",
            &opts(Source::Kinesis),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("o.jsonl:1:32: this line is not UTF-8"),
            "{e}"
        );
    }

    #[test]
    fn dynamodb_key_defaults_to_item_key() {
        let text = r#"{"timestamp":1,"eventName":"MODIFY","oldImage":{"ID":"x","sales":1},"data":{"ID":"x","sales":2}}"#;
        let s = read_orders(text.as_bytes(), "d.jsonl", &opts(Source::Dynamodb)).unwrap();
        assert_eq!(s.partition_key(0), "x");
        assert_eq!(s.event_name(0), EventName::Modify);
        assert_eq!(s.old_image(0), Some(&br#"{"ID":"x","sales":1}"#[..]));
        let e = read_orders(
            br#"{"timestamp":1,"data":{"sales":2}}"#,
            "d.jsonl",
            &opts(Source::Dynamodb),
        )
        .unwrap_err();
        assert!(e.to_string().contains("data.ID"), "{e}");
    }
}
