//! Generic JSON Lines whose records name their shard (`--shard-field`): the set of shards is
//! only known at the end, so records are kept in order until then, then built into the stream.

use super::lines::{parse_chunk, parser, truncated};
use super::record::{Parsed, ShardNames};
use super::{Format, LoadCtx, LoadError, LoadProgress};
use crate::model::EventName;
use crate::model::stream::{RecordRef, Stream, StreamBuilder};

/// Generic JSON Lines whose records name their shard: read in order, shards collected first.
pub(super) fn load_mapped(cx: &mut LoadCtx<'_, '_>) -> Result<Stream, LoadError> {
    let (paths, opts, total) = (cx.paths, cx.opts, cx.total);
    let (control, errors, report) = (&mut *cx.control, &mut cx.errors, &mut cx.report);
    let mut records: Vec<Pending> = Vec::new();
    let mut names = ShardNames::default();
    let mut done = 0u64;
    for path in paths {
        let file = path.display().to_string();
        let parse = parser(Format::Jsonl, opts, &file);
        let bytes = std::fs::read(path).map_err(|e| LoadError::file(&file, e.to_string()))?;
        let ends_with_newline = bytes.last() == Some(&b'\n');
        let last_line =
            memchr::memchr_iter(b'\n', &bytes).count() as u64 + u64::from(!ends_with_newline);
        for r in parse_chunk(&bytes, 1, &file, parse.as_ref()) {
            match r {
                Ok(p) => {
                    let shard = p
                        .shard
                        .as_ref()
                        .map(|k| names.resolve(k))
                        .transpose()
                        .map_err(|m| LoadError::file(&file, m))?;
                    records.push(Pending::from_parsed(&p, shard));
                }
                Err(e) => errors.bad(truncated(e, !ends_with_newline, last_line))?,
            }
        }
        done += bytes.len() as u64;
        if control.cancelled() {
            return Err(LoadError::Cancelled);
        }
        control.report(LoadProgress {
            bytes_done: done,
            bytes_total: total,
            records: records.len() as u64,
        });
    }
    report.bytes = done;
    let ids = names.ids().unwrap_or_default();
    let mut b = StreamBuilder::new(opts.source, ids.len().max(1) as u32, opts.meta.clone())
        .payloads_are_json(true)
        .with_shard_ids(ids);
    for r in &records {
        b.push_ref(r.as_ref());
    }
    Ok(b.finish())
}

/// A record kept until the set of shards is known.
pub(crate) struct Pending {
    ts_ms: i64,
    pk: String,
    shard: Option<u32>,
    seq: Option<String>,
    data: Vec<u8>,
    event: EventName,
    old: Option<Vec<u8>>,
}

impl Pending {
    pub(crate) fn from_parsed(p: &Parsed<'_>, shard: Option<u32>) -> Self {
        Self {
            ts_ms: p.ts_ms,
            pk: p.pk.to_string(),
            shard,
            seq: p.seq.as_ref().map(|s| s.to_string()),
            data: p.data.as_bytes().to_vec(),
            event: p.event,
            old: p.old.as_ref().map(|o| o.as_bytes().to_vec()),
        }
    }

    pub(crate) fn as_ref(&self) -> RecordRef<'_> {
        RecordRef {
            ts_ms: self.ts_ms,
            partition_key: &self.pk,
            explicit_hash_key: None,
            shard: self.shard,
            seq: self.seq.as_deref(),
            data: &self.data,
            event_name: self.event,
            old_image: self.old.as_deref(),
            typed: None,
        }
    }
}
