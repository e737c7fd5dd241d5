//! The routed stream: every record on its shard, in shard order, stored as columns so millions of
//! records stay cheap (a few dozen bytes each beyond the payload).
//!
//! Records are grouped by shard: shard `s` owns indices `shards[s].range`. Within a shard, index
//! order is sequence-number order, which is the order Lambda reads them in.

use std::borrow::Cow;
use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::model::payloads::{IN_FILE, InputFiles, PayloadReader};
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
    /// The execution role's ARN (`invokeIdentityArn`) when a capture named it; otherwise
    /// `<function>-role` in the account.
    pub role: Option<String>,
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
            role: None,
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

    /// Takes region, account and stream or table name from a captured `eventSourceARN`, so
    /// replayed events carry the ARNs they were captured with. For a DynamoDB stream ARN also
    /// returns the instant its label names (the stream's creation time), `None` otherwise.
    /// An ARN of another shape changes nothing.
    pub fn adopt_arn(&mut self, arn: &str) -> Option<i64> {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let [_, _, service, region, account, resource] = parts.as_slice() else {
            return None;
        };
        match (*service, resource.split('/').collect::<Vec<_>>().as_slice()) {
            ("kinesis", ["stream", name]) => {
                (self.region, self.account) = ((*region).into(), (*account).into());
                self.stream_name = (*name).into();
                None
            }
            ("dynamodb", ["table", table, "stream", label]) => {
                (self.region, self.account) = ((*region).into(), (*account).into());
                self.table_name = (*table).into();
                crate::model::parse_rfc3339_ms(&format!("{label}Z"))
            }
            _ => None,
        }
    }

    /// The function's execution role (`invokeIdentityArn`).
    pub fn role_arn(&self) -> String {
        if let Some(role) = &self.role {
            return role.clone();
        }
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
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Shard {
    /// `shardId-000000000000` (Kinesis) or `shardId-<ms>-<hex>` (DynamoDB).
    pub id: String,
    /// Indices of this shard's records in the stream's columns.
    pub range: Range<usize>,
    /// Salt of generated sequence numbers.
    pub seq_salt: u64,
    /// The shards this one was split, merged or rolled over from (indices); empty for a shard
    /// that existed from the start.
    pub parents: Vec<u32>,
    /// When resharding closed the shard (no writes from then on): Lambda reads it to its end
    /// (SHARD_END) before its children. `None`: open.
    pub closed_ms: Option<i64>,
    /// Kinesis inclusive hash-key range, when known.
    pub hash_range: Option<(u128, u128)>,
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

    /// The column under `key`, if one was computed.
    pub fn get(&self, key: &str) -> Option<std::sync::Arc<Vec<f64>>> {
        let cols = self.0.lock().ok()?;
        cols.iter().find(|(k, _)| k == key).map(|(_, c)| c.clone())
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
    /// Payload bytes held in memory (Kinesis: the raw blob; DynamoDB: the item as plain JSON).
    pub payload: Vec<u8>,
    /// The input files holding the payloads whose start has [`IN_FILE`] set.
    pub payload_files: Option<std::sync::Arc<InputFiles>>,
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
    /// Records a filter dropped, for the modelling choice that they still close windows:
    /// `(shard, index of the next delivered record, arrival ms)`, sorted. Empty otherwise.
    pub filtered_marks: Vec<(u32, u32, i64)>,
    /// Kinesis records captured with an `encryptionType` (`KMS`, or `NONE` written out), by
    /// index, sorted: replayed events carry it where the capture had it. Empty otherwise.
    pub encryption: Vec<(u32, Box<str>)>,
    /// Derived columns.
    pub columns: ColumnCache,
}

impl Stream {
    /// The ids of shard `idx`'s parents (empty for a shard that existed from the start).
    pub fn parent_ids(&self, idx: usize) -> Vec<&str> {
        self.shards[idx]
            .parents
            .iter()
            .filter_map(|&p| self.shards.get(p as usize).map(|s| s.id.as_str()))
            .collect()
    }

    /// Record `i`'s captured `encryptionType`, if it had one.
    #[inline]
    pub fn encryption_type(&self, i: usize) -> Option<&str> {
        if self.encryption.is_empty() {
            return None;
        }
        let at = self
            .encryption
            .binary_search_by_key(&(i as u32), |e| e.0)
            .ok()?;
        Some(&self.encryption[at].1)
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.ts_ms.len()
    }

    /// Whether there are no records.
    pub fn is_empty(&self) -> bool {
        self.ts_ms.is_empty()
    }

    /// Payload bytes of record `i`: borrowed when held, read (through a small shared cache)
    /// when left in the input file. Empty, with [`Self::payload_fault`] set, when that file
    /// changed since loading. Passes over many records use [`Self::payload_reader`].
    pub fn payload(&self, i: usize) -> Cow<'_, [u8]> {
        let (start, len) = (self.payload_starts[i], self.payload_lens[i] as usize);
        if start & IN_FILE == 0 {
            let start = start as usize;
            return Cow::Borrowed(&self.payload[start..start + len]);
        }
        if len == 0 {
            return Cow::Borrowed(&[]);
        }
        match &self.payload_files {
            Some(files) => Cow::Owned(files.read(start & !IN_FILE, len)),
            None => Cow::Borrowed(&[]),
        }
    }

    /// Record `i`'s payload if it is at hand, without waiting on a file (for the UI: a row
    /// shows it is reading until then); `None` queues the read on a background thread, which
    /// calls the wake function given to [`Self::set_payload_wake`] when it is done.
    pub fn payload_now(&self, i: usize) -> Option<Cow<'_, [u8]>> {
        match self.in_file(i) {
            Some((files, at, len)) => files.read_or_queue(at, len).map(Cow::Owned),
            None => Some(self.payload(i)),
        }
    }

    /// Whether record `i`'s payload can be had without reading a file or waiting on a reader.
    pub fn payload_at_hand(&self, i: usize) -> bool {
        self.in_file(i)
            .is_none_or(|(files, at, len)| files.holds(at, len))
    }

    /// Where record `i`'s payload lies in the input files, if it was left there (and is not
    /// empty).
    fn in_file(&self, i: usize) -> Option<(&std::sync::Arc<InputFiles>, u64, usize)> {
        let (start, len) = (self.payload_starts[i], self.payload_lens[i] as usize);
        let files = self.payload_files.as_ref()?;
        (start & IN_FILE != 0 && len > 0).then_some((files, start & !IN_FILE, len))
    }

    /// Who to wake when a payload asked for by [`Self::payload_now`] has been read.
    pub fn set_payload_wake(&self, wake: crate::model::payloads_later::Wake) {
        if let Some(files) = &self.payload_files {
            files.set_wake(wake);
        }
    }

    /// Waits up to `timeout` for the payloads [`Self::payload_now`] queued (tests and
    /// screenshots; the UI never waits); whether they are all read.
    pub fn wait_for_payloads(&self, timeout: std::time::Duration) -> bool {
        self.payload_files
            .as_ref()
            .is_none_or(|f| f.wait_for_reads(timeout))
    }

    /// A reader for payloads in bulk, best in file order ([`Self::payload_order`]).
    pub fn payload_reader(&self) -> PayloadReader<'_> {
        PayloadReader::new(self)
    }

    /// Why payloads left in an input file could not be read as they were loaded, if so.
    pub fn payload_fault(&self) -> Option<&str> {
        self.payload_files.as_deref().and_then(InputFiles::fault)
    }

    /// Whether record `i`'s payload is left in its input file.
    pub fn payload_in_file(&self, i: usize) -> bool {
        self.payload_starts[i] & IN_FILE != 0
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

pub use super::builder::{FxHasher, InputRecord, RecordRef, StreamBuilder};

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
                let payload: serde_json::Value = serde_json::from_slice(&s.payload(i)).unwrap();
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
