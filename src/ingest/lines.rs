//! Line-based formats (orders, generic JSON Lines) streamed from disk in blocks, each block's
//! lines parsed on both cores, then added to the stream in file order. Memory follows the
//! records, not the file: only one block of text is held at a time.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Read as _;
use std::path::PathBuf;

use super::{Errors, Format, LoadControl, LoadError, LoadOptions, LoadProgress, LoadReport};
use crate::model::EventName;
use crate::stream::{RecordRef, Stream, StreamBuilder};

/// Bytes read per block. Big enough that thread hand-off is noise, small enough to keep memory
/// flat.
const BLOCK: usize = 8 << 20;

/// A shard named by a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ShardKey<'a> {
    /// A shard index.
    Index(u32),
    /// A shard id.
    Id(Cow<'a, str>),
}

/// One parsed record, borrowing from its line where it can.
#[derive(Clone, Debug)]
pub(crate) struct Parsed<'a> {
    pub(crate) ts_ms: i64,
    pub(crate) pk: Cow<'a, str>,
    pub(crate) ehk: Option<u128>,
    pub(crate) shard: Option<ShardKey<'a>>,
    pub(crate) seq: Option<Cow<'a, str>>,
    pub(crate) data: Cow<'a, str>,
    pub(crate) event: EventName,
    pub(crate) old: Option<Cow<'a, str>>,
}

/// Shards named by the input, in order of first appearance.
#[derive(Default)]
pub(crate) struct ShardNames {
    ids: Vec<String>,
    index: HashMap<String, u32>,
    max_index: Option<u32>,
}

impl ShardNames {
    pub(crate) fn resolve(&mut self, key: &ShardKey<'_>) -> u32 {
        match key {
            ShardKey::Index(i) => {
                self.max_index = Some(self.max_index.map_or(*i, |m| m.max(*i)));
                *i
            }
            ShardKey::Id(id) => {
                if let Some(&i) = self.index.get(id.as_ref()) {
                    return i;
                }
                let i = self.ids.len() as u32;
                self.ids.push(id.to_string());
                self.index.insert(id.to_string(), i);
                i
            }
        }
    }

    /// The shard ids to build with: named ids, or Kinesis ids for indices.
    pub(crate) fn ids(&self) -> Option<Vec<String>> {
        if !self.ids.is_empty() {
            // Sorted, so shard order does not depend on which shard's record came first.
            return Some(self.ids.clone());
        }
        self.max_index
            .map(|m| (0..=m).map(crate::routing::kinesis_shard_id).collect())
    }
}

type ParseFn<'o> = dyn for<'a> Fn(&'a str, u64) -> Result<Parsed<'a>, LoadError> + Sync + 'o;

/// Parses every line of a chunk (whole lines), returning records in order.
fn parse_chunk<'a>(
    chunk: &'a [u8],
    first_line: u64,
    file: &str,
    parse: &ParseFn<'_>,
) -> Vec<Result<Parsed<'a>, LoadError>> {
    let mut out = Vec::with_capacity(chunk.len() / 96 + 1);
    for (line_no, raw) in (first_line..).zip(chunk.split(|&b| b == b'\n')) {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if !raw.iter().all(u8::is_ascii_whitespace) {
            match std::str::from_utf8(raw) {
                Ok(text) => out.push(parse(text, line_no)),
                Err(e) => out.push(Err(LoadError::at(
                    file,
                    line_no,
                    e.valid_up_to() as u64 + 1,
                    "this line is not UTF-8 text",
                ))),
            }
        }
    }
    out
}

/// Loads line-based files into one stream.
pub(crate) fn load_line_files(
    paths: &[PathBuf],
    format: Format,
    opts: &LoadOptions,
    control: &mut LoadControl<'_>,
    total: u64,
    errors: &mut Errors,
    report: &mut LoadReport,
) -> Result<Stream, LoadError> {
    let mut records: Vec<Pending> = Vec::new();
    let mut shard_names = ShardNames::default();
    let mut b =
        StreamBuilder::new(opts.source, opts.shards, opts.meta.clone()).payloads_are_json(true);
    let mut bytes_done = 0u64;
    let mapped_shards = format == Format::Jsonl && opts.fields.shard.is_some();
    for path in paths {
        let file = path.display().to_string();
        let parse: Box<ParseFn<'_>> = match format {
            Format::Orders => {
                let file = file.clone();
                let source = opts.source;
                let key_attr = opts.meta.key_attribute.clone();
                Box::new(move |text: &str, line_no: u64| {
                    super::orders::parse_line(text, &file, line_no, source, &key_attr)
                })
            }
            _ => {
                let file = file.clone();
                let fields = opts.fields.clone();
                let source = opts.source;
                let key_attr = opts.meta.key_attribute.clone();
                Box::new(move |text: &str, line_no: u64| {
                    super::generic::parse_json_line(
                        text, &file, line_no, &fields, source, &key_attr,
                    )
                })
            }
        };
        let mut f = std::fs::File::open(path).map_err(|e| LoadError::file(&file, e.to_string()))?;
        let mut buf: Vec<u8> = Vec::with_capacity(BLOCK + (1 << 16));
        let mut line_no = 1u64;
        let mut eof = false;
        while !eof {
            if control.cancelled() {
                return Err(LoadError::Cancelled);
            }
            // Fill the block after the carried partial line.
            let carried = buf.len();
            buf.resize(carried + BLOCK, 0);
            let mut filled = carried;
            while filled < buf.len() {
                let k = f
                    .read(&mut buf[filled..])
                    .map_err(|e| LoadError::file(&file, e.to_string()))?;
                if k == 0 {
                    eof = true;
                    break;
                }
                filled += k;
            }
            buf.truncate(filled);
            bytes_done += (filled - carried) as u64;
            let cut = if eof {
                buf.len()
            } else {
                match buf.iter().rposition(|&c| c == b'\n') {
                    Some(p) => p + 1,
                    // A line longer than a block: keep reading.
                    None => continue,
                }
            };
            let chunk = &buf[..cut];
            let ends_with_newline = chunk.last() == Some(&b'\n');
            // Two halves, split at a line boundary, parsed on two threads.
            let mid = chunk.len() / 2;
            let split = chunk[mid..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(chunk.len(), |p| mid + p + 1);
            let (first, second) = chunk.split_at(split);
            let second_line = line_no + first.iter().filter(|&&c| c == b'\n').count() as u64;
            let (a, bres) = std::thread::scope(|s| {
                let h = std::thread::Builder::new()
                    .name("tumblescope-parse".into())
                    .spawn_scoped(s, || {
                        parse_chunk(second, second_line, &file, parse.as_ref())
                    });
                let a = parse_chunk(first, line_no, &file, parse.as_ref());
                let bres = match h {
                    Ok(h) => h.join().unwrap_or_default(),
                    Err(_) => parse_chunk(second, second_line, &file, parse.as_ref()),
                };
                (a, bres)
            });
            let n_results = a.len() + bres.len();
            for (k, r) in a.into_iter().chain(bres).enumerate() {
                match r {
                    Ok(p) => {
                        let shard = match &p.shard {
                            Some(key) => Some(shard_names.resolve(key)),
                            None if mapped_shards => None,
                            None => None,
                        };
                        if mapped_shards {
                            records.push(Pending::from_parsed(&p, shard));
                        } else {
                            push(&mut b, &p, shard);
                        }
                    }
                    Err(e) => {
                        let last = k + 1 == n_results && eof && !ends_with_newline;
                        let e = match (last, &e) {
                            (
                                true,
                                LoadError::At {
                                    file,
                                    line,
                                    column,
                                    message,
                                },
                            ) if message.contains("truncated") || message.contains("EOF") => {
                                LoadError::at(
                                    file,
                                    *line,
                                    *column,
                                    format!(
                                        "truncated last line: the file ends in the middle of a record ({message})"
                                    ),
                                )
                            }
                            _ => e,
                        };
                        errors.bad(e)?;
                    }
                }
            }
            line_no += chunk.iter().filter(|&&c| c == b'\n').count() as u64;
            buf.drain(..cut);
            if let Some(p) = control.progress.as_mut() {
                p(LoadProgress {
                    bytes_done,
                    bytes_total: total,
                    records: (b.len() + records.len()) as u64,
                });
            }
        }
    }
    report.bytes = bytes_done;
    if mapped_shards {
        // Records name their shards: build with those shards.
        let ids = shard_names.ids().unwrap_or_default();
        let mut b = StreamBuilder::new(opts.source, ids.len().max(1) as u32, opts.meta.clone())
            .payloads_are_json(true)
            .with_shard_ids(ids);
        for r in &records {
            b.push_ref(r.as_ref());
        }
        return Ok(b.finish());
    }
    Ok(b.finish())
}

fn push(b: &mut StreamBuilder, p: &Parsed<'_>, shard: Option<u32>) {
    b.push_ref(RecordRef {
        ts_ms: p.ts_ms,
        partition_key: &p.pk,
        explicit_hash_key: p.ehk,
        shard,
        seq: p.seq.as_deref(),
        data: p.data.as_bytes(),
        event_name: p.event,
        old_image: p.old.as_deref().map(str::as_bytes),
    });
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
        }
    }
}
