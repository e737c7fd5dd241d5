//! Writing a stream as AWS CLI `get-records` output, one file per shard: what `aws kinesis
//! get-records` / `aws dynamodbstreams get-records` print, followed to the shard's end. A closed
//! shard's page has `"NextShardIterator": null` and, on Kinesis, its `ChildShards` (SEMANTICS
//! §14.2), so `run` and the app read the lineage back.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::handlers::event::{EventContext, record_json};
use crate::model::Source;
use crate::model::stream::Stream;

/// The file name of a shard's capture: `<stream or table>-get-records-<shardId>.json`.
pub fn file_name(stream: &Stream, shard: usize) -> String {
    let name = match stream.source {
        Source::Kinesis => &stream.meta.stream_name,
        Source::Dynamodb => &stream.meta.table_name,
    };
    format!("{name}-get-records-{}.json", stream.shards[shard].id)
}

/// One shard's page: its records, and where reading goes on.
pub fn shard_document(stream: &Stream, ctx: &EventContext, shard: usize) -> Value {
    let s = &stream.shards[shard];
    let records: Vec<Value> = s
        .range
        .clone()
        .map(|i| cli_record(stream, ctx, i))
        .collect();
    let mut doc = Map::new();
    doc.insert("Records".into(), Value::Array(records));
    let next = match s.closed_ms {
        Some(_) => Value::Null,
        None => Value::String(format!("tumblescope-iterator-{}", s.id)),
    };
    doc.insert("NextShardIterator".into(), next);
    if stream.source == Source::Kinesis {
        doc.insert("MillisBehindLatest".into(), json!(0));
        if s.closed_ms.is_some() {
            doc.insert(
                "ChildShards".into(),
                Value::Array(child_shards(stream, shard)),
            );
        }
    }
    Value::Object(doc)
}

/// `ChildShards` of a closed Kinesis shard: each child with all its parents and its range.
fn child_shards(stream: &Stream, shard: usize) -> Vec<Value> {
    stream
        .shards
        .iter()
        .enumerate()
        .filter(|(_, c)| c.parents.contains(&(shard as u32)))
        .map(|(c, child)| {
            let mut v = json!({
                "ShardId": child.id,
                "ParentShards": stream.parent_ids(c),
            });
            if let Some((lo, hi)) = child.hash_range {
                v["HashKeyRange"] = json!({
                    "StartingHashKey": lo.to_string(),
                    "EndingHashKey": hi.to_string(),
                });
            }
            v
        })
        .collect()
}

/// A record as the CLI prints it: Kinesis's capitalised fields, DynamoDB's Lambda record
/// without the mapping's own `eventSourceARN`.
fn cli_record(stream: &Stream, ctx: &EventContext, i: usize) -> Value {
    let mut rec: Value = serde_json::from_str(&record_json(stream, ctx, i)).unwrap_or(Value::Null);
    match stream.source {
        Source::Kinesis => {
            let k = &rec["kinesis"];
            let mut cli = json!({
                "SequenceNumber": k["sequenceNumber"],
                "ApproximateArrivalTimestamp": k["approximateArrivalTimestamp"],
                "Data": k["data"],
                "PartitionKey": k["partitionKey"],
            });
            if let Some(enc) = k.get("encryptionType") {
                cli["EncryptionType"] = enc.clone();
            }
            cli
        }
        Source::Dynamodb => {
            if let Some(m) = rec.as_object_mut() {
                m.remove("eventSourceARN");
            }
            rec
        }
    }
}

/// Writes every shard's capture into `dir` (created if missing), each file atomically; returns
/// the paths written.
pub fn write_all(stream: &Stream, seed: u64, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let ctx = EventContext::new(stream, seed);
    let mut written = Vec::new();
    for shard in 0..stream.shards.len() {
        let path = dir.join(file_name(stream, shard));
        let doc = shard_document(stream, &ctx, shard);
        crate::output::write_with(&path, |w| {
            serde_json::to_writer_pretty(&mut *w, &doc).map_err(std::io::Error::other)?;
            w.write_all(b"\n")
        })?;
        written.push(path);
    }
    Ok(written)
}
