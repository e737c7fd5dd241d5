//! Building a [`Stream`]: records are interned, routed to shards and kept in columns while they
//! arrive; [`StreamBuilder::finish`] groups them by shard in sequence order. Two builders filled
//! in parallel (one per core) join with [`StreamBuilder::merge`] (in `merge.rs`).
//!
//! The builder lives in `model` rather than `ingest` because the generator and the scenarios
//! build streams too; neither should depend on the file loaders.

mod finish;
mod keys;
mod merge;

use crate::model::payloads::IN_FILE;
use crate::model::reshard::{ReshardPlan, Topology};
use crate::model::routing;
use crate::model::stream::{ColumnCache, Seqs, Stream, StreamMeta};
use crate::model::{EventName, Source};

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

    fn write_u64(&mut self, v: u64) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(K);
    }

    fn finish(&self) -> u64 {
        // The multiply leaves the well-mixed bits at the top, and the table indexes by the low
        // ones: fold them down (keys that differ in a digit otherwise crowd the same buckets).
        self.0 ^ (self.0 >> 29)
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
    key_ids: keys::KeyIds,
    /// Shard of each interned key (routing is per key; MD5 per record would dominate loading).
    key_shard: Vec<u32>,
    /// Kinesis resharding: every shard over time; records then route by hash and time.
    topology: Option<std::sync::Arc<Topology>>,
    /// Hash key of each interned key, kept only with a topology.
    key_hash: Vec<u128>,
    /// DynamoDB: shard rollover period (applied when the stream is finished).
    rollover_ms: Option<i64>,
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
    /// The column cache key of a numeric field the loader reads as it parses
    /// ([`Self::reading_values`]); `values` holds one number per record then.
    value_key: Option<String>,
    values: Vec<f64>,
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
            key_ids: keys::KeyIds::default(),
            key_shard: Vec::new(),
            topology: None,
            key_hash: Vec::new(),
            rollover_ms: None,
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
            value_key: None,
            values: Vec::new(),
        }
    }

    /// Keeps a number per record, given by [`Self::push_value`] before each record, as the
    /// finished stream's cached column `key` (see [`crate::model::stream::column_key`]).
    pub fn reading_values(mut self, key: String) -> Self {
        self.value_key = Some(key);
        self
    }

    /// The number of the record about to be pushed (ignored unless reading values).
    #[inline]
    pub fn push_value(&mut self, v: f64) {
        if self.value_key.is_some() {
            self.values.push(v);
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

    /// Applies resharding: Kinesis splits and merges (records then route by hash key and
    /// arrival time), DynamoDB's rollover. Call before adding records. Inputs that name their
    /// own shards keep them: resharding is for streams tumblescope routes. The plan is checked
    /// before loading ([`ReshardPlan::check`]); one that does not fit changes nothing.
    pub fn with_reshard(mut self, plan: &ReshardPlan) -> Self {
        if self.shard_ids.is_some() {
            return self;
        }
        match self.source {
            Source::Kinesis if !plan.steps.is_empty() => {
                if let Ok(t) = Topology::kinesis(self.shard_count, &plan.steps) {
                    self.shard_count = t.len();
                    self.topology = Some(std::sync::Arc::new(t));
                }
            }
            Source::Kinesis => {}
            Source::Dynamodb => self.rollover_ms = plan.rollover(),
        }
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
        if self.value_key.is_some() {
            self.values.reserve(n);
        }
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
        if self.value_key.is_some() {
            grow(&mut self.values, n);
        }
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
            return id;
        }
        let id = self.keys.len() as u32;
        self.keys.push(key.into());
        self.key_ids.insert(key, id);
        let shard = self.route(key, None);
        self.key_shard.push(shard);
        if self.topology.is_some() {
            self.key_hash.push(routing::kinesis_hash_key(key));
        }
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
        let shard = match (rec.shard, rec.explicit_hash_key, &self.topology) {
            (Some(s), _, _) => s.min(self.shard_count - 1),
            (None, Some(h), Some(t)) => t.route(h, rec.ts_ms),
            (None, Some(h), None) => routing::shard_for_hash(h, self.shard_count),
            (None, None, Some(t)) => t.route(self.key_hash[key as usize], rec.ts_ms),
            (None, None, None) => self.key_shard[key as usize],
        };
        self.push_keyed(shard, rec.ts_ms, key, rec.data);
        self.push_extras(&rec);
    }

    /// [`Self::push_ref`] for a record whose payload (`rec.data`) is written verbatim at `at`
    /// in the input files: only where it lies is kept (see [`crate::model::payloads`]).
    pub fn push_ref_in_file(&mut self, rec: RecordRef<'_>, at: u64) {
        self.push_ref(RecordRef { data: &[], ..rec });
        if let (Some(start), Some(len)) =
            (self.payload_starts.last_mut(), self.payload_lens.last_mut())
        {
            *start = at | IN_FILE;
            *len = rec.data.len().min(u32::MAX as usize) as u32;
        }
    }

    /// A pushed record's event name, old image and sequence number, where it has them.
    fn push_extras(&mut self, rec: &RecordRef<'_>) {
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
        let shard = match &self.topology {
            Some(t) => t.route(self.key_hash[key as usize], ts_ms),
            None => shard,
        };
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
        b.shard_count = self.shard_count;
        b.topology = self.topology.clone();
        b.rollover_ms = self.rollover_ms;
        b.value_key = self.value_key.clone();
        b
    }

    /// Groups records by shard (stable), orders each shard by sequence number (or timestamp when
    /// the input carried none) and names shards.
    pub fn finish(mut self) -> Stream {
        let values = std::mem::take(&mut self.values);
        match self.value_key.take() {
            // Every record got its number (a loader that reads values gives one per record).
            Some(key) if values.len() == self.len() && !values.is_empty() => {
                let mut cols = [values];
                let stream = self.finish_with(&mut cols);
                let [values] = cols;
                stream.columns.get_or_insert(&key, || values);
                stream
            }
            _ => self.finish_with(&mut []),
        }
    }

    /// [`Self::finish`], reordering side columns (one value per pushed record) the same way.
    pub fn finish_with(mut self, columns: &mut [Vec<f64>]) -> Stream {
        let n = self.ts_ms.len();
        let created_ms = self.ts_ms.iter().copied().min().unwrap_or(0) - 3_600_000;
        let roots = self.shard_count;
        self.roll_over(created_ms);
        let (order, starts, counts) = self.shard_order();
        let identity = order.iter().enumerate().all(|(p, &i)| p == i as usize);
        if !identity {
            for col in columns.iter_mut() {
                *col = order
                    .iter()
                    .map(|&i| col.get(i as usize).copied().unwrap_or(f64::NAN))
                    .collect();
            }
        }
        let shards = self.shard_table(&starts, &counts, created_ms, roots);
        let Self {
            source,
            meta,
            ts_ms,
            key,
            keys,
            payload_starts,
            payload_lens,
            payload,
            seq_text,
            seq_starts,
            seq_lens,
            has_seqs,
            events,
            old,
            payload_is_json,
            ..
        } = self;
        let (ts_ms, key, payload_starts, payload_lens) = if identity {
            (ts_ms, key, payload_starts, payload_lens)
        } else {
            (
                finish::permute(&ts_ms, &order),
                finish::permute(&key, &order),
                finish::permute(&payload_starts, &order),
                finish::permute(&payload_lens, &order),
            )
        };
        let seqs = if has_seqs {
            finish::stored_seqs(seq_starts, seq_lens, seq_text, &order, n)
        } else {
            Seqs::Generated
        };
        let ddb = finish::ddb_columns(events, old, &order, n);
        let backwards = finish::backwards(&shards, &ts_ms);
        Stream {
            source,
            meta,
            created_ms,
            shards,
            ts_ms,
            key,
            keys,
            payload_starts,
            payload_lens,
            payload,
            payload_files: None,
            seqs,
            ddb,
            backwards,
            payload_is_json,
            filtered_marks: Vec::new(),
            encryption: Vec::new(),
            columns: ColumnCache::default(),
        }
    }
}
