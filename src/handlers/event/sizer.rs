//! Exact compact sizes of records and envelopes, without building them, for the 6 MB limit.

use super::{Envelope, EventContext, KinesisData, KinesisRecord, WindowJson, raw, record_json};
use crate::model::Source;
use crate::model::iso_seconds;
use crate::model::stream::Stream;

/// Exact compact sizes of records and envelopes, without building them, for the 6 MB limit.
#[derive(Clone, Debug)]
pub struct Sizer {
    source: Source,
    ctx: EventContext,
    /// Kinesis: size of a record with empty key, data and sequence number and `0.000` time, per
    /// shard (shard ids can differ in length).
    kinesis_fixed: Vec<usize>,
    /// JSON-escaped length of each interned partition key.
    key_len: Vec<u32>,
    /// Envelope with no records and state `{}`, per shard.
    envelope_fixed: Vec<usize>,
}

fn escaped_len(s: &str) -> usize {
    serde_json::to_string(s).map_or(s.len() + 2, |t| t.len())
}

impl Sizer {
    /// Precomputes the fixed parts for a stream.
    pub fn new(stream: &Stream, seed: u64) -> Self {
        let ctx = EventContext::new(stream, seed);
        let kinesis_fixed = stream
            .shards
            .iter()
            .map(|shard| {
                let rec = KinesisRecord {
                    kinesis: KinesisData {
                        kinesis_schema_version: "1.0",
                        partition_key: "",
                        sequence_number: "",
                        data: String::new(),
                        approximate_arrival_timestamp: raw("0.000".into()),
                        encryption_type: None,
                    },
                    event_source: "aws:kinesis",
                    event_version: "1.0",
                    event_id: format!("{}:", shard.id),
                    event_name: "aws:kinesis:record",
                    invoke_identity_arn: &ctx.role_arn,
                    aws_region: &ctx.region,
                    event_source_arn: &ctx.source_arn,
                };
                serde_json::to_string(&rec).map_or(0, |s| s.len())
            })
            .collect();
        let envelope_fixed = stream
            .shards
            .iter()
            .map(|shard| {
                let env = Envelope {
                    records: Vec::new(),
                    window: Some(WindowJson {
                        start: iso_seconds(0),
                        end: iso_seconds(0),
                    }),
                    state: Some(raw("{}".into())),
                    shard_id: Some(&shard.id),
                    event_source_arn: Some(&ctx.source_arn),
                    is_final_invoke_for_window: Some(false),
                    is_window_terminated_early: Some(false),
                };
                serde_json::to_string(&env).map_or(0, |s| s.len())
            })
            .collect();
        Self {
            source: stream.source,
            key_len: stream
                .keys
                .iter()
                .map(|k| escaped_len(k).saturating_sub(2) as u32)
                .collect(),
            ctx,
            kinesis_fixed,
            envelope_fixed,
        }
    }

    /// Compact size of record `i` in `Records`.
    #[inline]
    pub fn record_len(&self, stream: &Stream, shard: usize, i: usize) -> usize {
        match self.source {
            Source::Kinesis => {
                let seq_len = match &stream.seqs {
                    crate::model::stream::Seqs::Generated => 56,
                    crate::model::stream::Seqs::Stored { .. } => stream.seq(i).len(),
                };
                let ts = stream.ts_ms[i];
                let ts_len = crate::model::arrival_timestamp_text(ts).len();
                self.kinesis_fixed[shard]
                    + self.key_len[stream.key[i] as usize] as usize
                    + 2 * seq_len
                    + stream.payload_len(i).div_ceil(3) * 4
                    + ts_len
                    + stream
                        .encryption_type(i)
                        .map_or(0, |e| ",\"encryptionType\":".len() + escaped_len(e))
                    - 5
            }
            Source::Dynamodb => record_json(stream, &self.ctx, i).len(),
        }
    }

    /// An upper bound of any record's size, cheap to compute: lets the engine skip per-record
    /// sizing when `BatchSize` records can never reach the limit.
    pub fn record_len_bound(&self, stream: &Stream) -> usize {
        let max_payload = (0..stream.len())
            .map(|i| stream.payload_len(i))
            .max()
            .unwrap_or(0);
        let max_key = self.key_len.iter().copied().max().unwrap_or(0) as usize;
        let max_seq = match &stream.seqs {
            crate::model::stream::Seqs::Generated => 56,
            crate::model::stream::Seqs::Stored { lens, .. } => {
                usize::from(lens.iter().copied().max().unwrap_or(0))
            }
        };
        let fixed = self.kinesis_fixed.iter().copied().max().unwrap_or(0) + 2 * max_seq + 24;
        match self.source {
            Source::Kinesis => {
                let enc = stream
                    .encryption
                    .iter()
                    .map(|e| 20 + escaped_len(&e.1))
                    .max();
                fixed + max_key + max_payload.div_ceil(3) * 4 + enc.unwrap_or(0)
            }
            // Typing every value at most multiplies the text by ten; up to three images.
            Source::Dynamodb => {
                let max_old = stream
                    .ddb
                    .old_images
                    .iter()
                    .map(|e| (e.2 - e.1) as usize)
                    .max()
                    .unwrap_or(0);
                1024 + self.ctx.source_arn.len() + max_key * 10 + 20 * max_payload + 10 * max_old
            }
        }
    }

    /// Compact size of an event on `shard` with `n` records totalling `records_len` bytes and a
    /// state of `state_len` bytes.
    pub fn event_len(&self, shard: usize, n: usize, records_len: usize, state_len: usize) -> usize {
        self.envelope_fixed[shard] + records_len + n.saturating_sub(1) + state_len - 2
    }
}
