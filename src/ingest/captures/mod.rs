//! Lambda event files and AWS CLI `get-records` output, for Kinesis and DynamoDB Streams.
//!
//! Event files: one `{"Records": [...]}` event per file, an array of events, or JSON Lines of
//! events (as copied from logs). CLI output: `aws kinesis get-records` (`Data` in base64,
//! `PartitionKey`, `SequenceNumber`, `ApproximateArrivalTimestamp`) or `aws dynamodbstreams
//! get-records`; each file holds one shard's records. Records keep their shard, sequence number
//! and time; a record seen twice (a retried batch in logs) is kept once.

use std::collections::HashSet;
use std::path::Path;

use serde_json::Value;

mod records;

use self::records::{dynamodb_record, kinesis_cli_record, kinesis_event_record};
use super::record::{ShardKey, ShardNames};
use super::{
    Errors, Format, LoadCtx, LoadError, LoadOptions, LoadProgress, LoadReport, position_of,
    read_text, serde_message,
};
use crate::json;
use crate::model::stream::{RecordRef, Stream, StreamBuilder};
use crate::model::{EventName, Source, StreamViewType};

/// One record, decoded.
struct Rec {
    ts_ms: i64,
    pk: String,
    shard: Option<u32>,
    seq: String,
    data: Vec<u8>,
    event: EventName,
    old: Option<Vec<u8>>,
    /// DynamoDB: the typed `Keys`/`NewImage`/`OldImage` exactly as captured.
    typed: Option<Vec<u8>>,
    /// Kinesis: `encryptionType` as captured.
    encryption: Option<String>,
}

/// Where a record's text is, for messages.
struct Locator<'a> {
    file: &'a str,
    text: &'a str,
    /// Offset of the record's text in the file.
    start: usize,
    end: usize,
}

impl Locator<'_> {
    /// An error at the value of `key` inside the record (or at the record).
    fn err(&self, key: Option<&str>, message: String) -> LoadError {
        let rec = &self.text[self.start..self.end.min(self.text.len())];
        let at = key
            .and_then(|k| {
                let needle = format!("\"{k}\"");
                rec.find(&needle).map(|p| {
                    let after = p + needle.len();
                    let rest = &rec[after..];
                    let colon = rest.find(':').map_or(0, |c| c + 1);
                    let ws = rest[colon..].len() - rest[colon..].trim_start().len();
                    after + colon + ws
                })
            })
            .unwrap_or(0);
        let (line, column) = position_of(self.text.as_bytes(), self.start + at);
        LoadError::at(self.file, line, column, message)
    }
}

/// Byte offsets (start, end) of each element of the document's top-level `Records` array.
fn record_spans(doc: &str) -> Vec<(usize, usize)> {
    let b = doc.as_bytes();
    let Ok(Some(arr)) = json::path::find(b, &json::path::Path::parse("Records")) else {
        return Vec::new();
    };
    let base = arr.as_ptr() as usize - b.as_ptr() as usize;
    let mut spans = Vec::new();
    let mut i = json::path::skip_ws(arr, 1);
    while i < arr.len() && arr[i] != b']' {
        let Ok(end) = json::path::skip_value(arr, i) else {
            break;
        };
        spans.push((base + i, base + end));
        i = json::path::skip_ws(arr, end);
        if arr.get(i) == Some(&b',') {
            i = json::path::skip_ws(arr, i + 1);
        }
    }
    spans
}

/// The documents of a file, with their offsets: one document, an array of documents, or one
/// per line.
fn documents(file: &str, text: &str) -> Result<Vec<(usize, Value)>, LoadError> {
    let trimmed_at = text.len() - text.trim_start_matches('\u{feff}').trim_start().len();
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) => {
            // Offsets of the elements, to locate errors inside them.
            let b = text.as_bytes();
            let mut offsets = Vec::new();
            let mut i = json::path::skip_ws(b, trimmed_at + 1);
            while i < b.len() && b[i] != b']' {
                let Ok(end) = json::path::skip_value(b, i) else {
                    break;
                };
                offsets.push(i);
                i = json::path::skip_ws(b, end);
                if b.get(i) == Some(&b',') {
                    i = json::path::skip_ws(b, i + 1);
                }
            }
            Ok(items
                .into_iter()
                .enumerate()
                .map(|(k, v)| (offsets.get(k).copied().unwrap_or(trimmed_at), v))
                .collect())
        }
        Ok(v) => Ok(vec![(trimmed_at, v)]),
        Err(whole) => json_lines(file, text, &whole),
    }
}

/// A file that is not one JSON document: JSON Lines of documents (one event per log line), or
/// one document broken where `whole` (the whole-text parse error) says.
fn json_lines(
    file: &str,
    text: &str,
    whole: &serde_json::Error,
) -> Result<Vec<(usize, Value)>, LoadError> {
    // JSON Lines of documents (one event per log line).
    let mut docs = Vec::new();
    let mut offset = 0;
    // JSON Lines only if the first line is a document by itself; otherwise this is one
    // (pretty-printed) document, broken where the whole-text parse says.
    let first_is_whole = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| serde_json::from_str::<Value>(l).is_ok());
    let lines_total = if first_is_whole {
        text.lines().filter(|l| !l.trim().is_empty()).count()
    } else {
        1
    };
    for (n, line) in text.split('\n').enumerate() {
        let start = offset;
        offset += line.len() + 1;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(line) {
            Ok(v) => docs.push((start, v)),
            Err(e) if lines_total > 1 => {
                let msg = serde_message(&e);
                return Err(LoadError::at(
                    file,
                    n as u64 + 1,
                    e.column().max(1) as u64,
                    format!("{msg}; expected one JSON event per line"),
                ));
            }
            Err(_) => {
                let msg = serde_message(whole);
                let what = if whole.classify() == serde_json::error::Category::Eof {
                    format!("the file ends in the middle of the JSON document ({msg})")
                } else {
                    msg
                };
                return Err(LoadError::at(
                    file,
                    whole.line() as u64,
                    // At the very end serde says column 0; columns count from 1.
                    whole.column().max(1) as u64,
                    what,
                ));
            }
        }
    }
    Ok(docs)
}

/// A shard id found in a file name (`…shardId-000000000001…`), for per-shard CLI output.
fn shard_from_name(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_string_lossy().into_owned();
    let at = name.find("shardId-")?;
    let id: String = name[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    Some(id)
}

/// Loads event files and `get-records` captures into one stream.
pub(crate) fn load_event_files(
    cx: &mut LoadCtx<'_, '_>,
    format: Format,
) -> Result<Stream, LoadError> {
    let (paths, opts, total) = (cx.paths, cx.opts, cx.total);
    let (control, errors, report) = (&mut *cx.control, &mut cx.errors, &mut cx.report);
    let mut load = Captures::default();
    let mut done = 0u64;
    for (file_index, path) in paths.iter().enumerate() {
        if control.cancelled() {
            return Err(LoadError::Cancelled);
        }
        let file = path.display().to_string();
        let text = read_text(path)?;
        // CLI output is one shard's records: name the shard after the file, or by its place.
        let file_shard = (format == Format::GetRecords).then(|| {
            shard_from_name(path)
                .unwrap_or_else(|| crate::model::routing::kinesis_shard_id(file_index as u32))
        });
        let at = FileAt {
            file: &file,
            text: &text,
            format,
            file_shard: file_shard.as_deref(),
        };
        load.file(&at, errors, report)?;
        done += text.len() as u64;
        control.report(LoadProgress {
            bytes_done: done,
            bytes_total: total,
            records: load.recs.len() as u64,
        });
    }
    report.bytes = done;
    Ok(load.build(opts))
}

/// One file being read: its name and text, its format, and the shard its name gives.
struct FileAt<'a> {
    file: &'a str,
    text: &'a str,
    format: Format,
    file_shard: Option<&'a str>,
}

/// What loading captures collects across files.
#[derive(Default)]
struct Captures {
    recs: Vec<Rec>,
    names: ShardNames,
    /// The source of the first record, and the file it came from.
    source: Option<(Source, String)>,
    view: Option<StreamViewType>,
    /// (shard, sequence number) of every record kept: a record logged twice is kept once.
    seen: HashSet<(Option<u32>, String)>,
    /// The first `eventSourceARN` seen (event files carry it; get-records output does not).
    arn: Option<String>,
    /// The first `invokeIdentityArn` seen (Kinesis event files).
    role: Option<String>,
    /// Shards whose end a `get-records` page showed (no `NextShardIterator`), by index.
    ended: Vec<u32>,
    /// `(child, parents)` from `ChildShards`, by index.
    lineage: Vec<(u32, Vec<u32>)>,
}

impl Captures {
    fn file(
        &mut self,
        at: &FileAt<'_>,
        errors: &mut Errors,
        report: &mut LoadReport,
    ) -> Result<(), LoadError> {
        for (offset, doc) in documents(at.file, at.text)? {
            let Some(records) = doc.get("Records").and_then(Value::as_array) else {
                let (line, column) = position_of(at.text.as_bytes(), offset);
                errors.bad(LoadError::at(
                    at.file,
                    line,
                    column,
                    "expected an object with a \"Records\" array",
                ))?;
                continue;
            };
            let doc_text = &at.text[offset..];
            let spans = record_spans(doc_text);
            let doc_shard = doc.get("shardId").and_then(Value::as_str);
            if at.format == Format::GetRecords {
                self.shard_end(&doc, at.file_shard.or(doc_shard))
                    .map_err(|m| {
                        let (line, column) = position_of(at.text.as_bytes(), offset);
                        LoadError::at(at.file, line, column, m)
                    })?;
            }
            for (k, r) in records.iter().enumerate() {
                let (s, e) = spans.get(k).copied().unwrap_or((0, doc_text.len()));
                let loc = Locator {
                    file: at.file,
                    text: at.text,
                    start: offset + s,
                    end: offset + e,
                };
                match self.record(r, &loc, at, doc_shard)? {
                    Ok(rec) => {
                        if self.seen.insert((rec.shard, rec.seq.clone())) {
                            self.recs.push(rec);
                        } else {
                            report.duplicates += 1;
                        }
                    }
                    Err(e) => errors.bad(e)?,
                }
            }
        }
        Ok(())
    }

    /// A `get-records` page with `"NextShardIterator": null` is the shard's end (SHARD_END);
    /// its `ChildShards` name the children and their `ParentShards` (SEMANTICS §14.2).
    fn shard_end(&mut self, doc: &Value, shard: Option<&str>) -> Result<(), String> {
        let (Some(Value::Null), Some(id)) = (doc.get("NextShardIterator"), shard) else {
            return Ok(());
        };
        let me = self.names.resolve(&ShardKey::Id(id.into()))?;
        self.ended.push(me);
        let children = doc.get("ChildShards").and_then(Value::as_array);
        for c in children.into_iter().flatten() {
            let Some(child) = c.get("ShardId").and_then(Value::as_str) else {
                return Err("a ChildShards entry has no \"ShardId\" string".into());
            };
            let child = self.names.resolve(&ShardKey::Id(child.into()))?;
            let mut parents = vec![me];
            for p in c
                .get("ParentShards")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(p) = p.as_str() else {
                    return Err("\"ParentShards\" must list shard id strings".into());
                };
                let p = self.names.resolve(&ShardKey::Id(p.into()))?;
                if p == child {
                    return Err(format!(
                        "shard {:?} is named as its own parent",
                        c["ShardId"]
                    ));
                }
                if !parents.contains(&p) {
                    parents.push(p);
                }
            }
            parents.sort_unstable();
            self.lineage.push((child, parents));
        }
        Ok(())
    }

    /// One record: `Err` stops the load (a file mixing sources, an impossible shard), the inner
    /// `Err` is a bad record (skipped with `skip_bad`).
    fn record(
        &mut self,
        r: &Value,
        loc: &Locator<'_>,
        at: &FileAt<'_>,
        doc_shard: Option<&str>,
    ) -> Result<Result<Rec, LoadError>, LoadError> {
        let kind = if r.get("kinesis").is_some() || r.get("Data").is_some() {
            Source::Kinesis
        } else if r.get("dynamodb").is_some() {
            Source::Dynamodb
        } else {
            return Ok(Err(loc.err(None, "not a Kinesis or DynamoDB Streams record (no \"kinesis\", \"Data\" or \"dynamodb\")".into())));
        };
        match &self.source {
            None => self.source = Some((kind, at.file.to_owned())),
            Some((s, first)) if *s != kind => {
                return Err(loc.err(
                    None,
                    format!(
                        "this is a {} record, but {first} holds {} records; load them separately",
                        kind.name(),
                        s.name()
                    ),
                ));
            }
            _ => {}
        }
        if self.arn.is_none()
            && let Some(arn) = r.get("eventSourceARN").and_then(Value::as_str)
        {
            self.arn = Some(arn.to_owned());
        }
        if self.role.is_none()
            && let Some(role) = r.get("invokeIdentityArn").and_then(Value::as_str)
        {
            self.role = Some(role.to_owned());
        }
        let file_shard = at.file_shard.map(str::to_owned);
        let parsed = match (kind, at.format) {
            (Source::Kinesis, Format::GetRecords) if r.get("Data").is_some() => {
                kinesis_cli_record(r, loc).map(|x| (x, file_shard))
            }
            (Source::Kinesis, _) => {
                kinesis_event_record(r, doc_shard, loc).map(|(x, s)| (x, file_shard.or(s)))
            }
            (Source::Dynamodb, _) => dynamodb_record(r, loc, &mut self.view)
                .map(|x| (x, file_shard.or(doc_shard.map(str::to_owned)))),
        };
        let Ok((mut rec, shard)) = parsed else {
            return Ok(parsed.map(|(rec, _)| rec));
        };
        rec.shard = shard
            .map(|s| self.names.resolve(&ShardKey::Id(s.into())))
            .transpose()
            .map_err(|m| loc.err(None, m))?;
        Ok(Ok(rec))
    }

    fn build(self, opts: &LoadOptions) -> Stream {
        let source = self.source.as_ref().map_or(opts.source, |s| s.0);
        let mut meta = opts.meta.clone();
        if let Some(v) = self.view {
            meta.view_type = v;
        }
        let created = self.arn.as_deref().and_then(|a| meta.adopt_arn(a));
        if self.role.is_some() {
            meta.role = self.role.clone();
        }
        let all_json = self
            .recs
            .iter()
            .all(|r| serde_json::from_slice::<serde::de::IgnoredAny>(&r.data).is_ok());
        let mut b = match self.names.ids() {
            Some(ids) if !ids.is_empty() => {
                StreamBuilder::new(source, ids.len() as u32, meta).with_shard_ids(ids)
            }
            _ => StreamBuilder::new(source, opts.shards, meta).with_reshard(&opts.reshard),
        }
        .payloads_are_json(all_json);
        for r in &self.recs {
            b.push_ref(RecordRef {
                ts_ms: r.ts_ms,
                partition_key: &r.pk,
                explicit_hash_key: None,
                shard: r.shard,
                seq: Some(&r.seq),
                data: &r.data,
                event_name: r.event,
                old_image: r.old.as_deref(),
                typed: r.typed.as_deref(),
            });
        }
        let mut stream = b.finish();
        if let Some(ms) = created {
            stream.created_ms = ms;
        }
        self.apply_lineage(&mut stream);
        self.apply_encryption(&mut stream);
        stream
    }

    /// Gives replayed Kinesis records the `encryptionType` they were captured with, found by
    /// partition key and sequence number (unique within a capture).
    fn apply_encryption(&self, stream: &mut Stream) {
        let by_record: std::collections::HashMap<(&str, &str), &str> = self
            .recs
            .iter()
            .filter_map(|r| Some(((r.pk.as_str(), r.seq.as_str()), r.encryption.as_deref()?)))
            .collect();
        if by_record.is_empty() {
            return;
        }
        let found: Vec<(u32, Box<str>)> = (0..stream.len())
            .filter_map(|i| {
                let seq = stream.seq(i);
                let enc = by_record.get(&(stream.partition_key(i), seq.as_ref()))?;
                Some((i as u32, (*enc).into()))
            })
            .collect();
        stream.encryption = found;
    }

    /// Marks the shards whose end was captured as closed after their last record, and gives
    /// children their parents.
    fn apply_lineage(&self, stream: &mut Stream) {
        for &idx in &self.ended {
            let Some(shard) = stream.shards.get(idx as usize) else {
                continue;
            };
            let last = stream.ts_ms[shard.range.clone()].iter().copied().max();
            let closed = last.unwrap_or(stream.created_ms);
            stream.shards[idx as usize].closed_ms = Some(closed);
        }
        for (child, parents) in &self.lineage {
            if let Some(shard) = stream.shards.get_mut(*child as usize) {
                for p in parents {
                    if !shard.parents.contains(p) {
                        shard.parents.push(*p);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_one_an_array_or_one_per_line_with_their_offsets() {
        let one = "  {\"Records\": []}";
        let docs = documents("f", one).unwrap();
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].0, 2, "offset past leading space");
        let arr = "[{\"Records\":[]},\n {\"Records\":[1]}]";
        let docs = documents("f", arr).unwrap();
        assert_eq!(docs.iter().map(|d| d.0).collect::<Vec<_>>(), [1, 18]);
        let lines = "{\"Records\":[]}\n\n{\"Records\":[2]}\n";
        let docs = documents("f", lines).unwrap();
        assert_eq!(docs.iter().map(|d| d.0).collect::<Vec<_>>(), [0, 16]);
        assert_eq!(docs[1].1["Records"][0], 2);
    }

    #[test]
    fn broken_documents_are_reported_where_they_break() {
        // A bad line among several: that line and its column.
        let e = documents("f.jsonl", "{\"Records\":[]}\n{\"Records\":[}\n").unwrap_err();
        assert!(
            e.to_string().starts_with("f.jsonl:2:13: ")
                && e.to_string()
                    .ends_with("; expected one JSON event per line"),
            "{e}"
        );
        // One document cut short: said so, at the end.
        let e = documents("f.json", "{\n  \"Records\": [\n").unwrap_err();
        assert!(
            e.to_string()
                .contains("the file ends in the middle of the JSON document"),
            "{e}"
        );
        assert!(
            matches!(
                e,
                LoadError::At {
                    line: 3,
                    column: 1,
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn record_spans_cover_each_element_of_records() {
        let doc = r#"{"x":1, "Records": [ {"a":1}, [2,3] ,"s" ]}"#;
        let spans: Vec<&str> = record_spans(doc).iter().map(|&(a, b)| &doc[a..b]).collect();
        assert_eq!(spans, [r#"{"a":1}"#, "[2,3]", r#""s""#]);
        assert!(record_spans(r#"{"Other": []}"#).is_empty());
    }

    #[test]
    fn shard_ids_come_from_cli_output_file_names() {
        let id = |p: &str| shard_from_name(Path::new(p));
        assert_eq!(
            id("out/kinesis-get-records-shardId-000000000001.json").as_deref(),
            Some("shardId-000000000001")
        );
        assert_eq!(
            id("shardId-00000001767265200000-2531087a.json").as_deref(),
            Some("shardId-00000001767265200000-2531087a")
        );
        assert_eq!(id("records.json"), None);
    }
}
