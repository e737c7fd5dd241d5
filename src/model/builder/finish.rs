//! The parts of [`StreamBuilder::finish_with`]: grouping records by shard in sequence order, the
//! shard table, and the columns reordered to match.

use super::{DdbExtra, StreamBuilder};
use crate::model::routing;
use crate::model::stream::{DdbColumns, Seqs, Shard};
use crate::model::{EventName, Source};

impl StreamBuilder {
    /// The order records take in the stream (grouped by shard), with each shard's start and
    /// count. A counting sort by shard (stable, O(n)); then each shard is ordered by sequence
    /// number if the input carried them, else by timestamp (Kinesis stamps arrival in the order
    /// it stores records). Most inputs are already in order within each shard.
    pub(super) fn shard_order(&self) -> (Vec<u32>, Vec<usize>, Vec<usize>) {
        let shard_count = self.shard_count as usize;
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
        let mut order = vec![0u32; self.ts_ms.len()];
        let mut next = starts.clone();
        for (i, &s) in self.shard.iter().enumerate() {
            order[next[s as usize]] = i as u32;
            next[s as usize] += 1;
        }
        for (s, &start) in starts.iter().enumerate() {
            self.sort_shard(&mut order[start..start + counts[s]]);
        }
        (order, starts, counts)
    }

    fn seq_of(&self, i: usize) -> &str {
        let s = self.seq_starts.get(i).copied().unwrap_or(0) as usize;
        let l = self.seq_lens.get(i).copied().unwrap_or(0) as usize;
        std::str::from_utf8(&self.seq_text[s..s + l]).unwrap_or("")
    }

    fn sort_shard(&self, slice: &mut [u32]) {
        if self.has_seqs {
            let cmp = |a: u32, b: u32| {
                routing::compare_sequence_numbers(self.seq_of(a as usize), self.seq_of(b as usize))
            };
            if !slice.windows(2).all(|w| cmp(w[0], w[1]).is_le()) {
                slice.sort_by(|&a, &b| cmp(a, b).then(a.cmp(&b)));
            }
        } else {
            let ts = &self.ts_ms;
            if !slice
                .windows(2)
                .all(|w| ts[w[0] as usize] <= ts[w[1] as usize])
            {
                slice.sort_by_key(|&i| (ts[i as usize], i));
            }
        }
    }

    /// Shard ids (given, or Kinesis's and DynamoDB's own form), ranges and sequence salts.
    pub(super) fn shard_table(
        &self,
        starts: &[usize],
        counts: &[usize],
        created_ms: i64,
    ) -> Vec<Shard> {
        (0..self.shard_count)
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
            .collect()
    }
}

/// `v` in stream order.
pub(super) fn permute<T: Copy>(v: &[T], order: &[u32]) -> Vec<T> {
    order.iter().map(|&i| v[i as usize]).collect()
}

/// Stored sequence numbers in stream order (records without one get an empty slot).
pub(super) fn stored_seqs(
    mut starts: Vec<u64>,
    mut lens: Vec<u16>,
    text: Vec<u8>,
    order: &[u32],
    n: usize,
) -> Seqs {
    starts.resize(n, 0);
    lens.resize(n, 0);
    Seqs::Stored {
        starts: permute(&starts, order),
        lens: permute(&lens, order),
        text,
    }
}

/// DynamoDB event names and the sparse old images and typed records, in stream order.
pub(super) fn ddb_columns(
    mut events: Vec<EventName>,
    old: Vec<(u32, DdbExtra)>,
    order: &[u32],
    n: usize,
) -> DdbColumns {
    let mut ddb = DdbColumns::default();
    if !events.is_empty() {
        events.resize(n, EventName::Insert);
        ddb.event = permute(&events, order);
    }
    if old.is_empty() {
        return ddb;
    }
    let mut position = vec![0u32; n];
    for (p, &i) in order.iter().enumerate() {
        position[i as usize] = p as u32;
    }
    let mut old: Vec<(u32, DdbExtra)> = old
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
    ddb
}

/// Records whose timestamp is earlier than an earlier record's on their shard.
pub(super) fn backwards(shards: &[Shard], ts_ms: &[i64]) -> Vec<u32> {
    let mut backwards = Vec::new();
    for shard in shards {
        let mut max_ts = i64::MIN;
        for i in shard.range.clone() {
            if ts_ms[i] < max_ts {
                backwards.push(i as u32);
            }
            max_ts = max_ts.max(ts_ms[i]);
        }
    }
    backwards
}
