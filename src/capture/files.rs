//! The files a capture writes: one `get-records` document per shard, as `aws kinesis
//! get-records` / `aws dynamodbstreams get-records` print them, with the shard's end and lineage
//! in the form the loader reads (SEMANTICS §14.2): `"NextShardIterator": null` once the shard was
//! read to its end, and `ChildShards` naming its children. Kinesis returns `ChildShards` itself;
//! for DynamoDB (whose GetRecords has none) and for emulators that omit them they come from
//! ListShards / DescribeStream.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// One shard's capture.
#[derive(Clone, Debug, Default)]
pub struct ShardFile {
    pub id: String,
    /// Parent and adjacent parent (Kinesis), or parent (DynamoDB).
    pub parents: Vec<String>,
    /// Records as the CLI prints them, in the order read.
    pub records: Vec<Value>,
    /// Read to its end (the service gave no next iterator, or the closed shard was drained).
    pub ended: bool,
    /// The iterator to go on from, when not ended.
    pub next: Option<String>,
    pub behind_ms: Option<i64>,
    /// `ChildShards` entries: `{ShardId, ParentShards, HashKeyRange?}`.
    pub children: Vec<Value>,
}

/// `<stem>-get-records-<shardId>.json`: the loader takes the shard from the name.
pub fn file_name(stem: &str, shard: &str) -> String {
    format!("{stem}-get-records-{shard}.json")
}

/// Refuses a folder already holding an earlier capture of the same stream: a capture never
/// replaces a file (it may be the input of a run).
pub fn check_free(out: &Path, stem: &str) -> Result<(), String> {
    let prefix = format!("{stem}-get-records-");
    let Ok(entries) = std::fs::read_dir(out) else {
        return Ok(());
    };
    for e in entries.flatten() {
        let name = e.file_name();
        if name.to_string_lossy().starts_with(&prefix) {
            return Err(format!(
                "{} already holds a capture of {stem} ({}); choose another --out or move it away",
                out.display(),
                name.to_string_lossy()
            ));
        }
    }
    Ok(())
}

fn document(s: &ShardFile) -> Value {
    let mut doc = json!({
        "Records": s.records,
        "NextShardIterator": if s.ended { Value::Null } else { json!(s.next.clone().unwrap_or_default()) },
    });
    if let Some(ms) = s.behind_ms {
        doc["MillisBehindLatest"] = json!(ms);
    }
    if s.ended {
        doc["ChildShards"] = Value::Array(s.children.clone());
    }
    doc
}

/// Writes every shard's file atomically; on any failure removes the ones already written, so an
/// error never leaves a capture that looks complete. Returns the paths and a line per shard.
pub fn write_files(
    out: &Path,
    stem: &str,
    shards: &[ShardFile],
) -> Result<(Vec<PathBuf>, Vec<String>), String> {
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    check_free(out, stem)?;
    let mut written: Vec<PathBuf> = Vec::new();
    let mut summary = Vec::new();
    for s in shards {
        let path = out.join(file_name(stem, &s.id));
        let mut bytes = serde_json::to_vec_pretty(&document(s)).map_err(|e| e.to_string())?;
        bytes.push(b'\n');
        if let Err(e) = crate::output::write_atomically(&path, &bytes) {
            for p in &written {
                std::fs::remove_file(p).ok();
            }
            return Err(format!("{}: {e}", path.display()));
        }
        summary.push(format!(
            "{}: {} record(s){}{} -> {}",
            s.id,
            s.records.len(),
            if s.ended { ", read to its end" } else { "" },
            if s.parents.is_empty() {
                String::new()
            } else {
                format!(", child of {}", s.parents.join(" and "))
            },
            path.display()
        ));
        written.push(path);
    }
    Ok((written, summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("ts-capture-files-{name}-{}", std::process::id()));
        std::fs::remove_dir_all(&d).ok();
        d
    }

    #[test]
    fn an_ended_shard_has_a_null_iterator_and_its_children() {
        let dir = tmp("ended");
        let shards = [
            ShardFile {
                id: "shardId-000000000000".into(),
                records: vec![json!({"SequenceNumber": "1"})],
                ended: true,
                children: vec![
                    json!({"ShardId": "shardId-000000000001", "ParentShards": ["shardId-000000000000"]}),
                ],
                ..Default::default()
            },
            ShardFile {
                id: "shardId-000000000001".into(),
                parents: vec!["shardId-000000000000".into()],
                next: Some("it".into()),
                behind_ms: Some(0),
                ..Default::default()
            },
        ];
        let (paths, summary) = write_files(&dir, "orders", &shards).unwrap();
        let doc: Value = serde_json::from_slice(&std::fs::read(&paths[0]).unwrap()).unwrap();
        assert_eq!(doc["NextShardIterator"], Value::Null);
        assert_eq!(doc["ChildShards"][0]["ShardId"], "shardId-000000000001");
        let open: Value = serde_json::from_slice(&std::fs::read(&paths[1]).unwrap()).unwrap();
        assert_eq!(open["NextShardIterator"], "it");
        assert!(open.get("ChildShards").is_none());
        assert!(
            summary[0].contains("1 record(s), read to its end"),
            "{summary:?}"
        );
        assert!(
            summary[1].contains("child of shardId-000000000000"),
            "{summary:?}"
        );
        // A second capture into the same folder is refused, the first left as it was.
        let again = write_files(&dir, "orders", &shards).unwrap_err();
        assert!(
            again.contains("already holds a capture of orders"),
            "{again}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
