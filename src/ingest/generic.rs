//! Generic records: JSON Lines of objects, or CSV with a header. The user maps which field is
//! the timestamp, the partition key and optionally the shard; the whole row becomes the
//! record's payload (CSV rows as a JSON object, every value exactly as written).

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::record::column_of;
use super::record::{Parsed, ShardKey, ShardNames};
use super::{FieldMap, LoadCtx, LoadError, LoadOptions, LoadProgress};
use crate::json::path::Path;
use crate::json::text::compact_json;
use crate::model::stream::{RecordRef, Stream, StreamBuilder};
use crate::model::{EventName, Source};

fn label(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn shard_key(v: &Value) -> Option<ShardKey<'static>> {
    let index = |i: u64| {
        u32::try_from(i)
            .ok()
            .filter(|&i| i < super::record::MAX_SHARDS)
            .map(ShardKey::Index)
    };
    match v {
        Value::Number(n) => n.as_u64().and_then(index),
        Value::String(s) => match s.parse::<u64>() {
            Ok(i) => index(i),
            Err(_) => Some(ShardKey::Id(Cow::Owned(s.clone()))),
        },
        _ => None,
    }
}

/// The fields of one generic record, as a JSON object.
struct Row<'a> {
    obj: &'a Map<String, Value>,
}

impl Row<'_> {
    fn get(&self, path: &str) -> Option<&Value> {
        let p = Path::parse(path);
        let mut segs = p.segments().iter();
        let mut cur = self.obj.get(segs.next()?.as_str())?;
        for seg in segs {
            cur = cur.as_object()?.get(seg.as_str())?;
        }
        Some(cur)
    }
}

/// Extracts timestamp, key and shard from a row. `col` gives a field's column for messages.
fn fields_of<'a>(
    row: &Row<'_>,
    fields: &FieldMap,
    source: Source,
    key_attr: &str,
    col: &dyn Fn(&str) -> u64,
    err: &dyn Fn(u64, String) -> LoadError,
) -> Result<(i64, String, Option<ShardKey<'a>>), LoadError> {
    let ts_field = &fields.timestamp;
    let ts = match row.get(ts_field) {
        Some(v) => super::instant_ms(v, fields.unit).map_err(|m| err(col(ts_field), m))?,
        None => {
            return Err(err(
                1,
                format!(
                    "missing timestamp field {ts_field:?} (choose the field with the timestamp mapping)"
                ),
            ));
        }
    };
    let pk_field = &fields.partition_key;
    let pk = match row.get(pk_field).and_then(label) {
        Some(pk) => pk,
        None => match (source, row.get(key_attr).and_then(label)) {
            (Source::Dynamodb, Some(k)) => k,
            _ => {
                return Err(err(
                    col(pk_field),
                    format!(
                        "missing partition key field {pk_field:?} (a non-empty string or number; choose the field with the partition-key mapping)"
                    ),
                ));
            }
        },
    };
    let shard = match &fields.shard {
        None => None,
        Some(f) => Some(row.get(f).and_then(shard_key).ok_or_else(|| {
            err(
                col(f),
                format!(
                    "missing or invalid shard field {f:?}: expected a shard index (0–4095) or a shard id"
                ),
            )
        })?),
    };
    Ok((ts, pk, shard))
}

/// Parses one generic JSON line.
pub(crate) fn parse_json_line<'a>(
    text: &'a str,
    file: &str,
    line_no: u64,
    fields: &FieldMap,
    source: Source,
    key_attr: &str,
) -> Result<Parsed<'a>, LoadError> {
    let err = |column: u64, message: String| LoadError::at(file, line_no, column, message);
    let v: Value = serde_json::from_str(text).map_err(|e| {
        let what = super::serde_message(&e);
        let what = if e.classify() == serde_json::error::Category::Eof {
            format!("truncated record: {what}")
        } else {
            what
        };
        err(
            e.column().max(1) as u64,
            format!("{what}; expected one JSON object per line"),
        )
    })?;
    let Value::Object(obj) = &v else {
        return Err(err(
            1,
            format!(
                "expected a JSON object per line, got {}",
                crate::json::write::json_kind(&v)
            ),
        ));
    };
    let row = Row { obj };
    let col = |f: &str| column_of(text, f.rsplit('.').next().unwrap_or(f));
    let (ts_ms, pk, shard) = fields_of(&row, fields, source, key_attr, &col, &err)?;
    Ok(Parsed {
        ts_ms,
        pk: Cow::Owned(pk),
        ehk: None,
        shard,
        seq: None,
        data: compact_json(text),
        event: EventName::Insert,
        old: None,
        value: None,
    })
}

/// Whether `s` is, exactly as written, a JSON number literal (`-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`).
/// Only such cells become numbers; `007`, `+1555…`, ` 7` or `02134` stay text.
fn is_json_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            digits(&mut i);
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    // A literal JSON readers cannot hold (1e400) stays text, so the payload stays readable.
    i == b.len() && s.parse::<f64>().is_ok_and(f64::is_finite)
}

/// A CSV row as the payload's JSON object, every value kept exactly as written: cells that are
/// JSON number literals (or `true`/`false`) as those literals, everything else as a string.
fn row_json(headers: &csv::StringRecord, record: &csv::StringRecord) -> Vec<u8> {
    let mut out = Vec::with_capacity(record.as_slice().len() + 16 * headers.len());
    out.push(b'{');
    for (k, (h, v)) in headers.iter().zip(record.iter()).enumerate() {
        if k > 0 {
            out.push(b',');
        }
        crate::json::write::json_str(&mut out, h);
        out.push(b':');
        if is_json_number(v) || v == "true" || v == "false" {
            out.extend_from_slice(v.as_bytes());
        } else {
            crate::json::write::json_str(&mut out, v);
        }
    }
    out.push(b'}');
    out
}

/// Loads CSV files (each with a header row) into one stream.
pub(crate) fn load_csv_files(cx: &mut LoadCtx<'_, '_>) -> Result<Stream, LoadError> {
    let (paths, opts, total) = (cx.paths, cx.opts, cx.total);
    let (control, errors, report) = (&mut *cx.control, &mut cx.errors, &mut cx.report);
    let mut rows: Vec<CsvRow> = Vec::new();
    let mut names = ShardNames::default();
    let mut done_before = 0u64;
    for path in paths {
        let file = path.display().to_string();
        let (mut rdr, headers) = open_csv(path, &file, opts)?;
        let mut record = csv::StringRecord::new();
        loop {
            if control.cancelled() {
                return Err(LoadError::Cancelled);
            }
            match rdr.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    errors.bad(csv_error(&file, &e))?;
                    continue;
                }
            }
            match csv_row(&file, &headers, &record, opts, &mut names)? {
                Ok(row) => rows.push(row),
                Err(e) => errors.bad(e)?,
            }
            if rows.len().is_multiple_of(65_536) {
                let at = record.position().map_or(0, csv::Position::byte);
                control.report(LoadProgress {
                    bytes_done: done_before + at,
                    bytes_total: total,
                    records: rows.len() as u64,
                });
            }
        }
        done_before += std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    }
    report.bytes = done_before;
    Ok(csv_stream(&rows, names, opts))
}

/// One CSV record ready for the builder: timestamp, partition key, shard, payload.
type CsvRow = (i64, String, Option<u32>, Vec<u8>);

/// Opens a CSV file and checks its header has the mapped columns.
fn open_csv(
    path: &std::path::Path,
    file: &str,
    opts: &LoadOptions,
) -> Result<
    (
        csv::Reader<std::io::BufReader<std::fs::File>>,
        csv::StringRecord,
    ),
    LoadError,
> {
    let f = std::fs::File::open(path).map_err(|e| LoadError::file(file, e.to_string()))?;
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(std::io::BufReader::new(f));
    let headers = match rdr.headers() {
        Ok(h) => h.clone(),
        Err(e) => return Err(csv_error(file, &e)),
    };
    if headers.iter().any(|h| h.is_empty()) {
        return Err(LoadError::at(
            file,
            1,
            1,
            "the CSV header has an empty column name",
        ));
    }
    for needed in [&opts.fields.timestamp, &opts.fields.partition_key] {
        let optional = opts.source == Source::Dynamodb && needed == &opts.fields.partition_key;
        if !optional && !headers.iter().any(|h| h == needed.as_str()) {
            return Err(LoadError::at(
                file,
                1,
                1,
                format!(
                    "the CSV header has no column {needed:?} (columns: {}); map the timestamp and partition-key columns",
                    headers.iter().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
    }
    Ok((rdr, headers))
}

/// One record: `Err` stops the load (an impossible shard), the inner `Err` is a bad record.
fn csv_row(
    file: &str,
    headers: &csv::StringRecord,
    record: &csv::StringRecord,
    opts: &LoadOptions,
    names: &mut ShardNames,
) -> Result<Result<CsvRow, LoadError>, LoadError> {
    let line = record.position().map_or(1, csv::Position::line);
    // Fields are read from the text (timestamps, keys and shards parse numbers from strings),
    // so a key written `007` stays `007`.
    let obj: Map<String, Value> = headers
        .iter()
        .zip(record.iter())
        .map(|(h, v)| (h.to_owned(), Value::String(v.to_owned())))
        .collect();
    let col = |f: &str| -> u64 {
        let k = headers.iter().position(|h| h == f).unwrap_or(0);
        1 + record
            .iter()
            .take(k)
            .map(|c| c.len() as u64 + 1)
            .sum::<u64>()
    };
    let err = |column: u64, message: String| LoadError::at(file, line, column, message);
    let row = Row { obj: &obj };
    let key_attr = &opts.meta.key_attribute;
    let (ts, pk, shard) = match fields_of(&row, &opts.fields, opts.source, key_attr, &col, &err) {
        Ok(f) => f,
        Err(e) => return Ok(Err(e)),
    };
    let shard = shard.map(|s| names.resolve(&s)).transpose().map_err(|m| {
        let column = col(opts.fields.shard.as_deref().unwrap_or(""));
        LoadError::at(file, line, column, m)
    })?;
    Ok(Ok((ts, pk, shard, row_json(headers, record))))
}

fn csv_stream(rows: &[CsvRow], names: ShardNames, opts: &LoadOptions) -> Stream {
    let mut b = match (&opts.fields.shard, names.ids()) {
        (Some(_), Some(ids)) => {
            StreamBuilder::new(opts.source, ids.len() as u32, opts.meta.clone()).with_shard_ids(ids)
        }
        _ => StreamBuilder::new(opts.source, opts.shards, opts.meta.clone())
            .with_reshard(&opts.reshard),
    }
    .payloads_are_json(true);
    for (ts, pk, shard, data) in rows {
        b.push_ref(RecordRef {
            ts_ms: *ts,
            partition_key: pk,
            explicit_hash_key: None,
            shard: *shard,
            seq: None,
            data,
            event_name: EventName::Insert,
            old_image: None,
            typed: None,
        });
    }
    b.finish()
}

fn csv_error(file: &str, e: &csv::Error) -> LoadError {
    let (line, msg) = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => (
            pos.as_ref().map_or(0, csv::Position::line),
            format!("this row has {len} fields, the header has {expected_len}"),
        ),
        csv::ErrorKind::Utf8 { pos, err } => (
            pos.as_ref().map_or(0, csv::Position::line),
            format!(
                "not UTF-8 text (field {}, byte {})",
                err.field() + 1,
                err.valid_up_to() + 1
            ),
        ),
        _ => (e.position().map_or(0, csv::Position::line), e.to_string()),
    };
    LoadError::at(file, line.max(1), 1, msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_exact_json_number_literals_are_numbers() {
        for yes in [
            "0",
            "7",
            "-3",
            "1.50",
            "1e3",
            "2E-7",
            "-0.0",
            "123456789012345678901234567890",
        ] {
            assert!(is_json_number(yes), "{yes}");
        }
        for no in [
            "007",
            "02134",
            "+15551234567",
            " 7",
            "7 ",
            "1.",
            ".5",
            "1e",
            "-",
            "",
            "0x10",
            "NaN",
            "1_000",
        ] {
            assert!(!is_json_number(no), "{no}");
        }
    }

    #[test]
    fn csv_rows_keep_every_value_as_written() {
        let headers =
            csv::StringRecord::from(vec!["id", "zip", "phone", "qty", "big", "ok", "note"]);
        let row = csv::StringRecord::from(vec![
            "007",
            "02134",
            "+15551234567",
            "1e3",
            "1.50",
            "true",
            "say \"hi\"",
        ]);
        assert_eq!(
            String::from_utf8(row_json(&headers, &row)).unwrap(),
            r#"{"id":"007","zip":"02134","phone":"+15551234567","qty":1e3,"big":1.50,"ok":true,"note":"say \"hi\""}"#
        );
    }

    #[test]
    fn labels_and_shard_keys_read_what_a_field_can_hold() {
        use serde_json::json;
        assert_eq!(label(&json!("store-1")), Some("store-1".into()));
        assert_eq!(label(&json!(42)), Some("42".into()));
        assert_eq!(label(&json!(true)), Some("true".into()));
        for none in [json!(""), json!(null), json!([1]), json!({"a": 1})] {
            assert_eq!(label(&none), None, "{none}");
        }
        // Numbers (and numeric strings) are shard indices below the limit; other strings ids.
        assert!(matches!(shard_key(&json!(3)), Some(ShardKey::Index(3))));
        assert!(matches!(shard_key(&json!("7")), Some(ShardKey::Index(7))));
        assert!(
            matches!(shard_key(&json!("shardId-000000000002")), Some(ShardKey::Id(id)) if id == "shardId-000000000002")
        );
        let limit = u64::from(super::super::record::MAX_SHARDS);
        assert!(shard_key(&json!(limit)).is_none());
        assert!(matches!(
            shard_key(&json!(limit - 1)),
            Some(ShardKey::Index(_))
        ));
        assert!(shard_key(&json!(-1)).is_none());
        assert!(shard_key(&json!(1.5)).is_none());
        assert!(shard_key(&json!(null)).is_none());
    }

    #[test]
    fn dotted_fields_reach_into_objects_only() {
        let obj = serde_json::json!({"a": {"b": {"c": 5}}, "arr": [{"x": 1}], "flat.key": 2});
        let row = Row {
            obj: obj.as_object().unwrap(),
        };
        assert_eq!(row.get("a.b.c"), Some(&serde_json::json!(5)));
        assert_eq!(row.get("a.b"), Some(&serde_json::json!({"c": 5})));
        assert_eq!(row.get("a.x"), None);
        assert_eq!(row.get("arr.x"), None, "arrays are not walked into");
        assert_eq!(row.get("missing"), None);
    }
}
