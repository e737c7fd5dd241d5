//! The routed stream: every record on its shard, in shard order, stored as columns so millions of
//! records stay cheap (a few dozen bytes each beyond the payload).
//!
//! Records are grouped by shard: shard `s` owns indices `shards[s].range`. Within a shard, index
//! order is sequence-number order, which is the order Lambda reads them in.

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::model::routing;
use crate::model::{EventName, Source, StreamViewType};

/// Names and ARNs that appear in events. None of them changes the simulation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StreamMeta {
    /// Kinesis stream name.
    pub stream_name: String,
    /// DynamoDB table name.
    pub table_name: String,
    /// AWS region in ARNs and `awsRegion`.
    pub region: String,
    /// Account id in ARNs.
    pub account: String,
    /// Function name (context and ARNs).
    pub function_name: String,
    /// DynamoDB key attribute that fills `Keys`.
    pub key_attribute: String,
    /// DynamoDB `StreamViewType`.
    pub view_type: StreamViewType,
}

impl Default for StreamMeta {
    fn default() -> Self {
        Self {
            stream_name: "orders".into(),
            table_name: "Orders".into(),
            region: "us-east-1".into(),
            account: "123456789012".into(),
            function_name: "tumbling-window-aggregator".into(),
            key_attribute: "ID".into(),
            view_type: StreamViewType::NewAndOldImages,
        }
    }
}

impl StreamMeta {
    /// The Kinesis stream ARN.
    pub fn kinesis_arn(&self) -> String {
        format!(
            "arn:aws:kinesis:{}:{}:stream/{}",
            self.region, self.account, self.stream_name
        )
    }

    /// The DynamoDB stream ARN, labelled with the stream's creation time.
    pub fn dynamodb_arn(&self, created_ms: i64) -> String {
        let label = crate::model::iso_millis(created_ms);
        let label = label.trim_end_matches('Z');
        format!(
            "arn:aws:dynamodb:{}:{}:table/{}/stream/{}",
            self.region, self.account, self.table_name, label
        )
    }

    /// The function's execution role (`invokeIdentityArn`).
    pub fn role_arn(&self) -> String {
        format!(
            "arn:aws:iam::{}:role/{}-role",
            self.account, self.function_name
        )
    }

    /// The function ARN.
    pub fn function_arn(&self) -> String {
        format!(
            "arn:aws:lambda:{}:{}:function:{}",
            self.region, self.account, self.function_name
        )
    }
}

/// One shard of the stream.
#[derive(Clone, Debug, PartialEq)]
pub struct Shard {
    /// `shardId-000000000000` (Kinesis) or `shardId-<ms>-<hex>` (DynamoDB).
    pub id: String,
    /// Indices of this shard's records in the stream's columns.
    pub range: Range<usize>,
    /// Salt of generated sequence numbers.
    pub seq_salt: u64,
}

/// Where sequence numbers come from.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Seqs {
    /// Derived on demand from shard salt, timestamp and ordinal: no memory per record.
    #[default]
    Generated,
    /// Carried by the input: all numbers' text, and where record `i`'s starts (its length is
    /// in `lens`).
    Stored {
        /// Concatenated digits.
        text: Vec<u8>,
        /// Start of record `i`'s number in `text`.
        starts: Vec<u64>,
        /// Length of record `i`'s number.
        lens: Vec<u16>,
    },
}

/// DynamoDB-only columns.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DdbColumns {
    /// `eventName` per record.
    pub event: Vec<EventName>,
    /// `OldImage` payloads, sparse: `(record index, byte range in old_bytes)`, sorted by index.
    pub old_images: Vec<(u32, u64, u64)>,
    /// Bytes of the old images.
    pub old_bytes: Vec<u8>,
    /// Records replayed from a capture keep their typed attributes exactly as captured (every
    /// DynamoDB type, numbers' exact text): compact `{"Keys":…,"NewImage":…,"OldImage":…}`,
    /// sparse like `old_images`, ranges in `typed_bytes`.
    pub typed: Vec<(u32, u64, u64)>,
    /// Bytes of the typed records.
    pub typed_bytes: Vec<u8>,
}

/// Cache key of the numeric column for `path` (what is visible depends on the view type).
pub fn column_key(path: &crate::json::path::Path, view: crate::model::StreamViewType) -> String {
    format!("number:{path}:{}", view.as_str())
}

/// Columns derived from payloads (a built-in's numeric field), computed once per stream and
/// shared by every run on it: re-running after a settings change then costs only the engine.
#[derive(Clone, Debug, Default)]
pub struct ColumnCache(std::sync::Arc<std::sync::Mutex<Vec<CachedColumn>>>);

/// A derived column and the key it was computed for.
type CachedColumn = (String, std::sync::Arc<Vec<f64>>);

impl PartialEq for ColumnCache {
    fn eq(&self, _: &Self) -> bool {
        // Derived data: two streams with equal records are equal whatever they cached.
        true
    }
}

impl ColumnCache {
    /// Forgets every column (benchmarks measure cold runs with this).
    pub fn clear(&self) {
        if let Ok(mut cols) = self.0.lock() {
            cols.clear();
        }
    }

    /// The column under `key`, computing it with `make` the first time.
    pub fn get_or_insert(
        &self,
        key: &str,
        make: impl FnOnce() -> Vec<f64>,
    ) -> std::sync::Arc<Vec<f64>> {
        if let Ok(cols) = self.0.lock()
            && let Some((_, col)) = cols.iter().find(|(k, _)| k == key)
        {
            return col.clone();
        }
        let col = std::sync::Arc::new(make());
        if let Ok(mut cols) = self.0.lock() {
            // A few columns at most; drop the oldest beyond that to bound memory.
            if cols.len() >= 4 {
                cols.remove(0);
            }
            cols.push((key.to_owned(), col.clone()));
        }
        col
    }
}

/// A routed, numbered stream of records.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stream {
    /// Kinesis or DynamoDB.
    pub source: Source,
    /// Names used in events.
    pub meta: StreamMeta,
    /// When the stream (and its shards) were created: first record time minus an hour.
    pub created_ms: i64,
    /// Shards in index order.
    pub shards: Vec<Shard>,
    /// Record timestamps, epoch ms: Kinesis `approximateArrivalTimestamp`, DynamoDB creation time
    /// (events show it rounded down to the second).
    pub ts_ms: Vec<i64>,
    /// Partition key id per record (index into `keys`).
    pub key: Vec<u32>,
    /// Interned partition keys.
    pub keys: Vec<Box<str>>,
    /// Where record `i`'s payload starts in `payload`. Payload bytes stay in input order;
    /// grouping records by shard only reorders these offsets.
    pub payload_starts: Vec<u64>,
    /// Payload length of record `i`.
    pub payload_lens: Vec<u32>,
    /// All payload bytes (Kinesis: the raw blob; DynamoDB: the item as plain JSON).
    pub payload: Vec<u8>,
    /// Sequence numbers.
    pub seqs: Seqs,
    /// DynamoDB columns (empty for Kinesis).
    pub ddb: DdbColumns,
    /// Records whose timestamp is earlier than an earlier record's on the same shard
    /// (SEMANTICS Q15), by index.
    pub backwards: Vec<u32>,
    /// Every payload is known to be valid JSON (orders files and the generator): built-ins may
    /// use the fast path scanner on it.
    pub payload_is_json: bool,
    /// Derived columns.
    pub columns: ColumnCache,
}

impl Stream {
    /// Number of records.
    pub fn len(&self) -> usize {
        self.ts_ms.len()
    }

    /// Whether there are no records.
    pub fn is_empty(&self) -> bool {
        self.ts_ms.is_empty()
    }

    /// Payload bytes of record `i`.
    pub fn payload(&self, i: usize) -> &[u8] {
        let start = self.payload_starts[i] as usize;
        &self.payload[start..start + self.payload_lens[i] as usize]
    }

    /// Payload length of record `i`, without touching the bytes.
    pub fn payload_len(&self, i: usize) -> usize {
        self.payload_lens[i] as usize
    }

    /// Partition key of record `i`.
    pub fn partition_key(&self, i: usize) -> &str {
        &self.keys[self.key[i] as usize]
    }

    /// Shard index of record `i` (binary search over shard ranges).
    pub fn shard_of(&self, i: usize) -> usize {
        self.shards
            .partition_point(|s| s.range.end <= i)
            .min(self.shards.len().saturating_sub(1))
    }

    /// Sequence number of record `i`.
    pub fn seq(&self, i: usize) -> Cow<'_, str> {
        match &self.seqs {
            Seqs::Stored { text, starts, lens } => {
                let start = starts[i] as usize;
                Cow::Borrowed(
                    std::str::from_utf8(&text[start..start + lens[i] as usize]).unwrap_or(""),
                )
            }
            Seqs::Generated => {
                let s = self.shard_of(i);
                let shard = &self.shards[s];
                let ordinal = (i - shard.range.start) as u64;
                Cow::Owned(match self.source {
                    Source::Kinesis => {
                        routing::kinesis_sequence_number(shard.seq_salt, self.ts_ms[i], ordinal)
                    }
                    Source::Dynamodb => {
                        routing::dynamodb_sequence_number(shard.seq_salt, self.ts_ms[i], ordinal)
                    }
                })
            }
        }
    }

    /// Appends record `i`'s sequence number as a JSON string, without building it first (the
    /// event writer's hot path). Returns whether it went in verbatim, without escapes.
    pub fn write_seq(&self, i: usize, out: &mut Vec<u8>) -> bool {
        use crate::json::write::push_digits;
        match &self.seqs {
            Seqs::Stored { .. } => {
                let seq = self.seq(i);
                let before = out.len();
                crate::json::write::json_str(out, &seq);
                out.len() - before == seq.len() + 2
            }
            Seqs::Generated => {
                let shard = &self.shards[self.shard_of(i)];
                let ordinal = (i - shard.range.start) as u64;
                let ts = self.ts_ms[i].max(0) as u64;
                out.push(b'"');
                // The same digits as routing::kinesis_sequence_number / dynamodb_sequence_number.
                match self.source {
                    Source::Kinesis => {
                        out.extend_from_slice(b"49");
                        push_digits(out, shard.seq_salt, 14);
                        push_digits(out, ts, 16);
                        push_digits(out, ordinal, 24);
                    }
                    Source::Dynamodb => {
                        out.push(b'4');
                        push_digits(out, shard.seq_salt, 5);
                        push_digits(out, ts, 13);
                        push_digits(out, ordinal, 11);
                    }
                }
                out.push(b'"');
                true
            }
        }
    }

    /// DynamoDB `eventName` of record `i` (INSERT for Kinesis streams).
    pub fn event_name(&self, i: usize) -> EventName {
        self.ddb.event.get(i).copied().unwrap_or_default()
    }

    /// DynamoDB old image of record `i`, if any.
    pub fn old_image(&self, i: usize) -> Option<&[u8]> {
        let pos = self
            .ddb
            .old_images
            .binary_search_by_key(&(i as u32), |e| e.0)
            .ok()?;
        let (_, s, e) = self.ddb.old_images[pos];
        Some(&self.ddb.old_bytes[s as usize..e as usize])
    }

    /// DynamoDB: record `i`'s typed attributes as captured, if it was replayed from a capture.
    pub fn typed_record(&self, i: usize) -> Option<&[u8]> {
        let pos = self
            .ddb
            .typed
            .binary_search_by_key(&(i as u32), |e| e.0)
            .ok()?;
        let (_, s, e) = self.ddb.typed[pos];
        Some(&self.ddb.typed_bytes[s as usize..e as usize])
    }

    /// Earliest and latest record timestamps.
    pub fn time_range(&self) -> Option<(i64, i64)> {
        let min = self.ts_ms.iter().copied().min()?;
        let max = self.ts_ms.iter().copied().max()?;
        Some((min, max))
    }

    /// Bytes of memory the stream holds beyond payloads (for the memory budget).
    pub fn overhead_bytes(&self) -> usize {
        use std::mem::size_of;
        self.ts_ms.capacity() * size_of::<i64>()
            + self.key.capacity() * size_of::<u32>()
            + self.payload_starts.capacity() * size_of::<u64>()
            + self.payload_lens.capacity() * size_of::<u32>()
            + self.keys.iter().map(|k| k.len() + 16).sum::<usize>()
            + match &self.seqs {
                Seqs::Generated => 0,
                Seqs::Stored { starts, lens, .. } => starts.capacity() * 8 + lens.capacity() * 2,
            }
            + self.ddb.event.capacity()
            + self.ddb.old_images.capacity() * 24
            + self.ddb.typed.capacity() * 24
    }
}

/// One record as it enters the builder, before routing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InputRecord {
    /// Timestamp, epoch ms.
    pub ts_ms: i64,
    /// Partition key (Kinesis) or item key (DynamoDB).
    pub partition_key: String,
    /// Kinesis `ExplicitHashKey` override.
    pub explicit_hash_key: Option<u128>,
    /// Shard index carried by the input (kept instead of routing).
    pub shard: Option<u32>,
    /// Sequence number carried by the input.
    pub seq: Option<String>,
    /// Payload bytes.
    pub data: Vec<u8>,
    /// DynamoDB event type.
    pub event_name: EventName,
    /// DynamoDB old image (plain JSON).
    pub old_image: Option<Vec<u8>>,
    /// DynamoDB: the captured typed attributes (see [`DdbColumns::typed`]).
    pub typed: Option<Vec<u8>>,
}

/// A small, fast, non-cryptographic hasher (the multiply-rotate scheme of rustc's FxHash) for
/// interning partition keys: SipHash's DoS resistance buys nothing for keys from a local file,
/// and costs a tenth of a load.
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let v = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn write_u8(&mut self, b: u8) {
        self.write(&[b]);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A record as borrowed parts.
#[derive(Clone, Copy, Debug)]
pub struct RecordRef<'a> {
    /// Timestamp, epoch ms.
    pub ts_ms: i64,
    /// Partition key (Kinesis) or item key (DynamoDB).
    pub partition_key: &'a str,
    /// Kinesis `ExplicitHashKey` override.
    pub explicit_hash_key: Option<u128>,
    /// Shard index carried by the input.
    pub shard: Option<u32>,
    /// Sequence number carried by the input.
    pub seq: Option<&'a str>,
    /// Payload bytes.
    pub data: &'a [u8],
    /// DynamoDB event type.
    pub event_name: EventName,
    /// DynamoDB old image (plain JSON).
    pub old_image: Option<&'a [u8]>,
    /// DynamoDB: the captured typed attributes (see [`DdbColumns::typed`]).
    pub typed: Option<&'a [u8]>,
}

/// Sparse per-record DynamoDB extras, kept by record index while building.
#[derive(Clone, Debug, Default)]
struct DdbExtra {
    old: Option<Vec<u8>>,
    typed: Option<Vec<u8>>,
}

/// Builds a [`Stream`]: routes records to shards, groups them by shard and numbers them.
#[derive(Debug)]
pub struct StreamBuilder {
    source: Source,
    shard_count: u32,
    shard_ids: Option<Vec<String>>,
    meta: StreamMeta,
    shard: Vec<u32>,
    ts_ms: Vec<i64>,
    key: Vec<u32>,
    keys: Vec<Box<str>>,
    key_ids: HashMap<Box<str>, u32, std::hash::BuildHasherDefault<FxHasher>>,
    /// Shard of each interned key (routing is per key; MD5 per record would dominate loading).
    key_shard: Vec<u32>,
    payload_starts: Vec<u64>,
    payload_lens: Vec<u32>,
    payload: Vec<u8>,
    seq_text: Vec<u8>,
    seq_starts: Vec<u64>,
    seq_lens: Vec<u16>,
    has_seqs: bool,
    events: Vec<EventName>,
    old: Vec<(u32, DdbExtra)>,
    payload_is_json: bool,
}

impl StreamBuilder {
    /// A builder for `shard_count` shards (at least 1).
    pub fn new(source: Source, shard_count: u32, meta: StreamMeta) -> Self {
        Self {
            source,
            shard_count: shard_count.max(1),
            shard_ids: None,
            meta,
            shard: Vec::new(),
            ts_ms: Vec::new(),
            key: Vec::new(),
            keys: Vec::new(),
            key_ids: HashMap::default(),
            key_shard: Vec::new(),
            payload_starts: Vec::new(),
            payload_lens: Vec::new(),
            payload: Vec::new(),
            seq_text: Vec::new(),
            seq_starts: Vec::new(),
            seq_lens: Vec::new(),
            has_seqs: false,
            events: Vec::new(),
            old: Vec::new(),
            payload_is_json: false,
        }
    }

    /// Declares that every payload pushed is valid JSON.
    pub fn payloads_are_json(mut self, yes: bool) -> Self {
        self.payload_is_json = yes;
        self
    }

    /// Names the shards as the input did (records then carry shard indices into this list).
    pub fn with_shard_ids(mut self, ids: Vec<String>) -> Self {
        self.shard_count = ids.len().max(1) as u32;
        self.shard_ids = Some(ids);
        self
    }

    /// Reserves room for `n` more records with `bytes` of payload.
    pub fn reserve(&mut self, n: usize, bytes: usize) {
        self.shard.reserve(n);
        self.ts_ms.reserve(n);
        self.key.reserve(n);
        self.payload_starts.reserve(n);
        self.payload_lens.reserve(n);
        self.payload.reserve(bytes);
    }

    /// Number of records added so far.
    pub fn len(&self) -> usize {
        self.ts_ms.len()
    }

    /// Makes room for `n` more records and `bytes` more payload if there is not enough: at least
    /// what is asked, and at least an eighth more than now, so a long run of small requests does
    /// not reallocate (and copy) each time, yet capacity never runs as far past what is used as
    /// doubling does.
    pub fn grow_for(&mut self, n: usize, bytes: usize) {
        fn grow<T>(v: &mut Vec<T>, more: usize) {
            if v.capacity() - v.len() < more {
                v.reserve_exact(more.max(v.capacity() / 8));
            }
        }
        grow(&mut self.shard, n);
        grow(&mut self.ts_ms, n);
        grow(&mut self.key, n);
        grow(&mut self.payload_starts, n);
        grow(&mut self.payload_lens, n);
        grow(&mut self.payload, bytes);
    }

    /// Payload bytes added so far.
    pub fn payload_bytes(&self) -> usize {
        self.payload.len()
    }

    /// Whether nothing was added yet.
    pub fn is_empty(&self) -> bool {
        self.ts_ms.is_empty()
    }

    /// Number of shards.
    pub fn shard_count(&self) -> u32 {
        self.shard_count
    }

    fn intern(&mut self, key: &str) -> u32 {
        if let Some(id) = self.key_ids.get(key) {
            return *id;
        }
        let id = self.keys.len() as u32;
        self.keys.push(key.into());
        self.key_ids.insert(key.into(), id);
        let shard = self.route(key, None);
        self.key_shard.push(shard);
        id
    }

    /// Routes a key to its shard, as the source would.
    pub fn route(&self, partition_key: &str, explicit_hash_key: Option<u128>) -> u32 {
        match self.source {
            Source::Kinesis => {
                let hash =
                    explicit_hash_key.unwrap_or_else(|| routing::kinesis_hash_key(partition_key));
                routing::shard_for_hash(hash, self.shard_count)
            }
            Source::Dynamodb => routing::dynamodb_shard_for_key(partition_key, self.shard_count),
        }
    }

    /// Adds one record; routing uses the key unless the record carries its shard or an
    /// explicit hash key.
    pub fn push(&mut self, rec: InputRecord) {
        self.push_ref(RecordRef {
            ts_ms: rec.ts_ms,
            partition_key: &rec.partition_key,
            explicit_hash_key: rec.explicit_hash_key,
            shard: rec.shard,
            seq: rec.seq.as_deref(),
            data: &rec.data,
            event_name: rec.event_name,
            old_image: rec.old_image.as_deref(),
            typed: rec.typed.as_deref(),
        });
    }

    /// [`Self::push`] from borrowed parts (loaders parse without allocating per record).
    pub fn push_ref(&mut self, rec: RecordRef<'_>) {
        let key = self.intern(rec.partition_key);
        let shard = match (rec.shard, rec.explicit_hash_key) {
            (Some(s), _) => s.min(self.shard_count - 1),
            (None, Some(h)) => routing::shard_for_hash(h, self.shard_count),
            (None, None) => self.key_shard[key as usize],
        };
        self.push_keyed(shard, rec.ts_ms, key, rec.data);
        let i = self.ts_ms.len() - 1;
        if rec.event_name != EventName::Insert || !self.events.is_empty() {
            self.events.resize(i, EventName::Insert);
            self.events.push(rec.event_name);
        }
        if rec.old_image.is_some() || rec.typed.is_some() {
            let extra = DdbExtra {
                old: rec.old_image.map(<[u8]>::to_vec),
                typed: rec.typed.map(<[u8]>::to_vec),
            };
            self.old.push((i as u32, extra));
        }
        if let Some(seq) = rec.seq {
            self.has_seqs = true;
            self.seq_starts.resize(i, self.seq_text.len() as u64);
            self.seq_lens.resize(i, 0);
            self.seq_starts.push(self.seq_text.len() as u64);
            self.seq_lens
                .push(seq.len().min(usize::from(u16::MAX)) as u16);
            self.seq_text.extend_from_slice(seq.as_bytes());
        }
    }

    /// Adds a record already routed to `shard`, with no DynamoDB extras: the generator's fast path.
    pub fn push_routed(&mut self, shard: u32, ts_ms: i64, partition_key: &str, data: &[u8]) {
        let key = self.intern(partition_key);
        self.push_keyed(shard.min(self.shard_count - 1), ts_ms, key, data);
    }

    fn push_keyed(&mut self, shard: u32, ts_ms: i64, key: u32, data: &[u8]) {
        self.shard.push(shard);
        self.ts_ms.push(ts_ms);
        self.key.push(key);
        self.payload_starts.push(self.payload.len() as u64);
        self.payload_lens
            .push(data.len().min(u32::MAX as usize) as u32);
        self.payload.extend_from_slice(data);
    }

    /// An empty builder with the same source, shards and names (for parallel loading).
    pub fn sibling(&self) -> Self {
        let mut b = Self::new(self.source, self.shard_count, self.meta.clone())
            .payloads_are_json(self.payload_is_json);
        b.shard_ids = self.shard_ids.clone();
        b
    }

    /// Joins two builders filled in parallel: `segments` lists, block by block, how many
    /// records each added, so the result keeps file order. `b`'s payload bytes are appended to
    /// `a`'s arena once (no per-record copy); records only get new offsets.
    pub fn merge(mut a: Self, mut b: Self, segments: &[(usize, usize)]) -> Self {
        let plain = !a.has_seqs
            && !b.has_seqs
            && a.events.is_empty()
            && b.events.is_empty()
            && a.old.is_empty()
            && b.old.is_empty();
        if plain {
            return Self::merge_plain(a, b, segments);
        }
        let shift = a.payload.len() as u64;
        a.payload.extend_from_slice(&b.payload);
        b.payload = Vec::new();
        let seq_shift = a.seq_text.len() as u64;
        a.seq_text.extend_from_slice(&b.seq_text);
        let key_map: Vec<u32> = b.keys.iter().map(|k| a.intern(k)).collect();
        let n = a.ts_ms.len() + b.ts_ms.len();
        let mut out = Self {
            shard: Vec::with_capacity(n),
            ts_ms: Vec::with_capacity(n),
            key: Vec::with_capacity(n),
            payload_starts: Vec::with_capacity(n),
            payload_lens: Vec::with_capacity(n),
            payload: Vec::new(),
            seq_text: Vec::new(),
            seq_starts: Vec::new(),
            seq_lens: Vec::new(),
            events: Vec::new(),
            old: Vec::new(),
            ..a.sibling()
        };
        let has_events = !a.events.is_empty() || !b.events.is_empty();
        out.has_seqs = a.has_seqs || b.has_seqs;
        let (mut ia, mut ib) = (0usize, 0usize);
        for &(na, nb) in segments {
            for (part, start, count, is_b) in [(&a, ia, na, false), (&b, ib, nb, true)] {
                for i in start..start + count {
                    out.shard.push(part.shard[i]);
                    out.ts_ms.push(part.ts_ms[i]);
                    out.key.push(if is_b {
                        key_map[part.key[i] as usize]
                    } else {
                        part.key[i]
                    });
                    out.payload_starts
                        .push(part.payload_starts[i] + if is_b { shift } else { 0 });
                    out.payload_lens.push(part.payload_lens[i]);
                    if has_events {
                        out.events
                            .push(part.events.get(i).copied().unwrap_or_default());
                    }
                    if out.has_seqs {
                        out.seq_starts.push(
                            part.seq_starts.get(i).copied().unwrap_or(0)
                                + if is_b { seq_shift } else { 0 },
                        );
                        out.seq_lens
                            .push(part.seq_lens.get(i).copied().unwrap_or(0));
                    }
                }
            }
            // Old images are sparse: remap their record indices.
            ia += na;
            ib += nb;
        }
        // Positions of each part's records in the merged order, for the sparse old images.
        if !a.old.is_empty() || !b.old.is_empty() {
            let mut pos_a = Vec::with_capacity(a.ts_ms.len());
            let mut pos_b = Vec::with_capacity(b.ts_ms.len());
            let mut p = 0u32;
            for &(na, nb) in segments {
                for _ in 0..na {
                    pos_a.push(p);
                    p += 1;
                }
                for _ in 0..nb {
                    pos_b.push(p);
                    p += 1;
                }
            }
            for (i, bytes) in a.old.iter() {
                out.old.push((pos_a[*i as usize], bytes.clone()));
            }
            for (i, bytes) in b.old.iter() {
                out.old.push((pos_b[*i as usize], bytes.clone()));
            }
            out.old.sort_by_key(|e| e.0);
        }
        out.keys = a.keys;
        out.key_ids = a.key_ids;
        out.key_shard = a.key_shard;
        out.payload = a.payload;
        out.seq_text = a.seq_text;
        out
    }

    /// [`Self::merge`] for records with no sequence numbers, event names or old images (every
    /// orders file): records come out already grouped by shard, stably, so `finish` finds them
    /// in order and copies nothing; `b`'s payload bytes move on a second thread meanwhile. This
    /// join is serial work between parallel parsing and a usable stream, so it is kept to one
    /// pass.
    fn merge_plain(mut a: Self, mut b: Self, segments: &[(usize, usize)]) -> Self {
        // `b`'s payload joins `a`'s arena (sized for both while loading) and is freed before
        // the grouped columns are allocated, so the two never count together at the peak.
        let shift = a.payload.len() as u64;
        a.payload.reserve_exact(b.payload.len());
        a.payload.extend_from_slice(&b.payload);
        b.payload = Vec::new();
        let key_map: Vec<u32> = b.keys.iter().map(|k| a.intern(k)).collect();
        let n = a.ts_ms.len() + b.ts_ms.len();
        let shards = a.shard_count as usize;
        let mut counts = vec![0usize; shards];
        for &s in a.shard.iter().chain(&b.shard) {
            counts[s as usize] += 1;
        }
        let mut starts = Vec::with_capacity(shards + 1);
        let mut acc = 0;
        for &c in &counts {
            starts.push(acc);
            acc += c;
        }
        starts.push(acc);
        let mut ts_ms = vec![0i64; n];
        let mut key = vec![0u32; n];
        let mut payload_starts = vec![0u64; n];
        let mut payload_lens = vec![0u32; n];
        // Two cores, each grouping half of the shards into its own part of the columns.
        let half = shards / 2;
        let mid = starts[half];
        let (ts_lo, ts_hi) = ts_ms.split_at_mut(mid);
        let (key_lo, key_hi) = key.split_at_mut(mid);
        let (ps_lo, ps_hi) = payload_starts.split_at_mut(mid);
        let (pl_lo, pl_hi) = payload_lens.split_at_mut(mid);
        let (ar, br) = (&a, &b);
        let group = |shard_range: std::ops::Range<usize>,
                     base: usize,
                     ts: &mut [i64],
                     key: &mut [u32],
                     ps: &mut [u64],
                     pl: &mut [u32]| {
            let mut next: Vec<usize> = starts[..shards]
                .iter()
                .map(|s| s.saturating_sub(base))
                .collect();
            let (a, b) = (ar, br);
            let (mut ia, mut ib) = (0usize, 0usize);
            for &(na, nb) in segments {
                for i in ia..ia + na {
                    let s = a.shard[i] as usize;
                    if shard_range.contains(&s) {
                        let d = next[s];
                        ts[d] = a.ts_ms[i];
                        key[d] = a.key[i];
                        ps[d] = a.payload_starts[i];
                        pl[d] = a.payload_lens[i];
                        next[s] += 1;
                    }
                }
                for i in ib..ib + nb {
                    let s = b.shard[i] as usize;
                    if shard_range.contains(&s) {
                        let d = next[s];
                        ts[d] = b.ts_ms[i];
                        key[d] = key_map[b.key[i] as usize];
                        ps[d] = b.payload_starts[i] + shift;
                        pl[d] = b.payload_lens[i];
                        next[s] += 1;
                    }
                }
                ia += na;
                ib += nb;
            }
        };
        let upper = std::sync::Mutex::new(Some((ts_hi, key_hi, ps_hi, pl_hi)));
        let run_upper = || {
            if let Some((ts, key, ps, pl)) = upper.lock().ok().and_then(|mut u| u.take()) {
                group(half..shards, mid, ts, key, ps, pl);
            }
        };
        std::thread::scope(|s| {
            let spawned = std::thread::Builder::new()
                .name("tumblescope-merge".into())
                .spawn_scoped(s, run_upper);
            group(0..half, 0, ts_lo, key_lo, ps_lo, pl_lo);
            if spawned.is_err() {
                // No thread to spare: this core does both halves.
                run_upper();
            }
        });
        drop(b);
        a.shard = Vec::new();
        a.ts_ms = Vec::new();
        a.key = Vec::new();
        a.payload_starts = Vec::new();
        a.payload_lens = Vec::new();
        // The shard column is only runs now; filled after the inputs are freed.
        let mut shard = Vec::with_capacity(n);
        for (s, &c) in counts.iter().enumerate() {
            shard.resize(shard.len() + c, s as u32);
        }
        Self {
            shard,
            ts_ms,
            key,
            payload_starts,
            payload_lens,
            ..a
        }
    }

    /// Groups records by shard (stable), orders each shard by sequence number (or timestamp when
    /// the input carried none) and names shards.
    pub fn finish(self) -> Stream {
        self.finish_with(&mut [])
    }

    /// [`Self::finish`], reordering side columns (one value per pushed record) the same way.
    pub fn finish_with(self, columns: &mut [Vec<f64>]) -> Stream {
        let n = self.ts_ms.len();
        let shard_count = self.shard_count as usize;
        // Counting sort by shard (stable, O(n)); then each shard is ordered by sequence number
        // if the input carried them, else by timestamp (Kinesis stamps arrival in the order it
        // stores records). Most inputs are already in order within each shard.
        let mut counts = vec![0usize; shard_count];
        for &s in &self.shard {
            counts[s as usize] += 1;
        }
        let mut starts = Vec::with_capacity(shard_count);
        let mut acc = 0;
        for c in &counts {
            starts.push(acc);
            acc += c;
        }
        let mut order = vec![0u32; n];
        let mut next = starts.clone();
        for (i, &s) in self.shard.iter().enumerate() {
            order[next[s as usize]] = i as u32;
            next[s as usize] += 1;
        }
        let seq_of = |i: usize| -> &str {
            let s = self.seq_starts.get(i).copied().unwrap_or(0) as usize;
            let l = self.seq_lens.get(i).copied().unwrap_or(0) as usize;
            std::str::from_utf8(&self.seq_text[s..s + l]).unwrap_or("")
        };
        for (s, &start) in starts.iter().enumerate() {
            let slice = &mut order[start..start + counts[s]];
            if self.has_seqs {
                let sorted = slice.windows(2).all(|w| {
                    routing::compare_sequence_numbers(seq_of(w[0] as usize), seq_of(w[1] as usize))
                        .is_le()
                });
                if !sorted {
                    slice.sort_by(|&a, &b| {
                        routing::compare_sequence_numbers(seq_of(a as usize), seq_of(b as usize))
                            .then(a.cmp(&b))
                    });
                }
            } else {
                let sorted = slice
                    .windows(2)
                    .all(|w| self.ts_ms[w[0] as usize] <= self.ts_ms[w[1] as usize]);
                if !sorted {
                    slice.sort_by_key(|&i| (self.ts_ms[i as usize], i));
                }
            }
        }
        let identity = order.iter().enumerate().all(|(p, &i)| p == i as usize);
        if !identity {
            for col in columns.iter_mut() {
                *col = order
                    .iter()
                    .map(|&i| col.get(i as usize).copied().unwrap_or(f64::NAN))
                    .collect();
            }
        }

        let created_ms = self.ts_ms.iter().copied().min().unwrap_or(0) - 3_600_000;
        let shards: Vec<Shard> = (0..shard_count as u32)
            .map(|i| Shard {
                id: match (&self.shard_ids, self.source) {
                    (Some(ids), _) => ids.get(i as usize).cloned().unwrap_or_default(),
                    (None, Source::Kinesis) => routing::kinesis_shard_id(i),
                    (None, Source::Dynamodb) => {
                        routing::dynamodb_shard_id(i, created_ms, &self.meta.table_name)
                    }
                },
                range: starts[i as usize]..starts[i as usize] + counts[i as usize],
                seq_salt: routing::shard_seq_salt(
                    &self.meta.stream_name,
                    i,
                    match self.source {
                        Source::Kinesis => 14,
                        Source::Dynamodb => 5,
                    },
                ),
            })
            .collect();

        let (ts_ms, key, payload_starts, payload_lens) = if identity {
            (self.ts_ms, self.key, self.payload_starts, self.payload_lens)
        } else {
            (
                order.iter().map(|&i| self.ts_ms[i as usize]).collect(),
                order.iter().map(|&i| self.key[i as usize]).collect(),
                order
                    .iter()
                    .map(|&i| self.payload_starts[i as usize])
                    .collect(),
                order
                    .iter()
                    .map(|&i| self.payload_lens[i as usize])
                    .collect(),
            )
        };

        let seqs = if self.has_seqs {
            let mut seq_starts = self.seq_starts;
            let mut seq_lens = self.seq_lens;
            seq_starts.resize(n, 0);
            seq_lens.resize(n, 0);
            Seqs::Stored {
                starts: order.iter().map(|&i| seq_starts[i as usize]).collect(),
                lens: order.iter().map(|&i| seq_lens[i as usize]).collect(),
                text: self.seq_text,
            }
        } else {
            Seqs::Generated
        };

        let mut ddb = DdbColumns::default();
        if !self.events.is_empty() {
            let mut events = self.events;
            events.resize(n, EventName::Insert);
            ddb.event = order.iter().map(|&i| events[i as usize]).collect();
        }
        if !self.old.is_empty() {
            let mut position = vec![0u32; n];
            for (p, &i) in order.iter().enumerate() {
                position[i as usize] = p as u32;
            }
            let mut old: Vec<(u32, DdbExtra)> = self
                .old
                .into_iter()
                .map(|(i, b)| (position[i as usize], b))
                .collect();
            old.sort_by_key(|e| e.0);
            for (i, extra) in old {
                if let Some(bytes) = extra.old {
                    let s = ddb.old_bytes.len() as u64;
                    ddb.old_bytes.extend_from_slice(&bytes);
                    ddb.old_images.push((i, s, ddb.old_bytes.len() as u64));
                }
                if let Some(bytes) = extra.typed {
                    let s = ddb.typed_bytes.len() as u64;
                    ddb.typed_bytes.extend_from_slice(&bytes);
                    ddb.typed.push((i, s, ddb.typed_bytes.len() as u64));
                }
            }
        }

        let mut backwards = Vec::new();
        for shard in &shards {
            let mut max_ts = i64::MIN;
            for i in shard.range.clone() {
                if ts_ms[i] < max_ts {
                    backwards.push(i as u32);
                }
                max_ts = max_ts.max(ts_ms[i]);
            }
        }

        Stream {
            source: self.source,
            meta: self.meta,
            created_ms,
            shards,
            ts_ms,
            key,
            keys: self.keys,
            payload_starts,
            payload_lens,
            payload: self.payload,
            seqs,
            ddb,
            backwards,
            payload_is_json: self.payload_is_json,
            columns: ColumnCache::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(ts_ms: i64, key: &str, data: &str) -> InputRecord {
        InputRecord {
            ts_ms,
            partition_key: key.into(),
            data: data.as_bytes().to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn groups_by_shard_and_orders_by_time() {
        let mut b = StreamBuilder::new(Source::Kinesis, 3, StreamMeta::default());
        for (i, k) in ["a", "b", "c", "d", "e", "f"].iter().enumerate() {
            b.push(rec(10_000 - i as i64 * 10, k, &format!("{{\"i\":{i}}}")));
        }
        let s = b.finish();
        assert_eq!(s.len(), 6);
        assert_eq!(s.shards.iter().map(|s| s.range.len()).sum::<usize>(), 6);
        for shard in &s.shards {
            let ts: Vec<i64> = shard.range.clone().map(|i| s.ts_ms[i]).collect();
            assert!(ts.windows(2).all(|w| w[0] <= w[1]));
            for i in shard.range.clone() {
                let expected =
                    routing::shard_for_hash(routing::kinesis_hash_key(s.partition_key(i)), 3);
                assert_eq!(s.shard_of(i) as u32, expected);
                let payload: serde_json::Value = serde_json::from_slice(s.payload(i)).unwrap();
                let idx = payload["i"].as_i64().unwrap();
                assert_eq!(s.ts_ms[i], 10_000 - idx * 10);
            }
            let seqs: Vec<String> = shard.range.clone().map(|i| s.seq(i).into_owned()).collect();
            assert!(
                seqs.windows(2)
                    .all(|w| routing::compare_sequence_numbers(&w[0], &w[1]).is_lt())
            );
        }
        assert!(s.backwards.is_empty());
    }

    #[test]
    fn explicit_hash_key_overrides_partition_key() {
        let mut b = StreamBuilder::new(Source::Kinesis, 4, StreamMeta::default());
        let mut r = rec(0, "anything", "{}");
        r.explicit_hash_key = Some(u128::MAX);
        b.push(r);
        let s = b.finish();
        assert_eq!(s.shards[3].range.len(), 1);
    }

    #[test]
    fn stored_sequence_numbers_order_records_and_flag_backwards_time() {
        let mut b = StreamBuilder::new(Source::Kinesis, 1, StreamMeta::default());
        for (seq, ts) in [("300", 5_000), ("100", 1_000), ("200", 9_000)] {
            let mut r = rec(ts, "k", "{}");
            r.seq = Some(seq.into());
            r.shard = Some(0);
            b.push(r);
        }
        let s = b.finish();
        let seqs: Vec<String> = (0..3).map(|i| s.seq(i).into_owned()).collect();
        assert_eq!(seqs, ["100", "200", "300"]);
        assert_eq!(s.ts_ms, [1_000, 9_000, 5_000]);
        assert_eq!(s.backwards, [2]);
    }

    #[test]
    fn ddb_extras_follow_their_records() {
        let mut b = StreamBuilder::new(Source::Dynamodb, 2, StreamMeta::default());
        let mut r = rec(5_000, "x", r#"{"ID":"x","sales":2}"#);
        r.event_name = EventName::Modify;
        r.old_image = Some(br#"{"ID":"x","sales":1}"#.to_vec());
        b.push(r);
        b.push(rec(1_000, "y", r#"{"ID":"y","sales":5}"#));
        let s = b.finish();
        let i = (0..2).find(|&i| s.partition_key(i) == "x").unwrap();
        assert_eq!(s.event_name(i), EventName::Modify);
        assert_eq!(s.old_image(i), Some(&br#"{"ID":"x","sales":1}"#[..]));
        let j = 1 - i;
        assert_eq!(s.event_name(j), EventName::Insert);
        assert_eq!(s.old_image(j), None);
        assert!(s.shards[0].id.starts_with("shardId-0000000"));
    }
}
