//! The parts of [`StreamBuilder::finish_with`]: grouping records by shard in sequence order, the
//! shard table, and the columns reordered to match.

use super::{DdbExtra, StreamBuilder};
use crate::model::stream::{DdbColumns, Seqs, Shard};
use crate::model::{EventName, Source};
use crate::model::{reshard, routing};

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

    /// DynamoDB rollover: moves each record to its root shard's generation at its arrival
    /// time, generations opening every period from the stream's creation.
    pub(super) fn roll_over(&mut self, created_ms: i64) {
        let Some(period) = self.rollover_ms else {
            return;
        };
        let last = self.ts_ms.iter().copied().max().unwrap_or(created_ms);
        let gens = reshard::rollover_generations(last, created_ms, period);
        if gens <= 1 {
            return;
        }
        let n = self.shard_count;
        for (s, &ts) in self.shard.iter_mut().zip(&self.ts_ms) {
            *s = reshard::rollover_shard(*s, n, ts, created_ms, period);
        }
        self.shard_count = n.saturating_mul(gens);
    }

    /// Shard ids (given, or Kinesis's and DynamoDB's own form), ranges, lineage and sequence
    /// salts. `roots` is the number of shards before any rollover.
    pub(super) fn shard_table(
        &self,
        starts: &[usize],
        counts: &[usize],
        created_ms: i64,
        roots: u32,
    ) -> Vec<Shard> {
        (0..self.shard_count)
            .map(|i| {
                let (parents, closed_ms, opened_ms) = self.lineage(i, roots, created_ms);
                Shard {
                    id: match (&self.shard_ids, self.source) {
                        (Some(ids), _) => ids.get(i as usize).cloned().unwrap_or_default(),
                        (None, Source::Kinesis) => routing::kinesis_shard_id(i),
                        (None, Source::Dynamodb) => {
                            routing::dynamodb_shard_id(i, opened_ms, &self.meta.table_name)
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
                    parents,
                    closed_ms,
                    hash_range: self.hash_range(i),
                }
            })
            .collect()
    }

    /// Parents, closing time and opening time of shard `i`.
    fn lineage(&self, i: u32, roots: u32, created_ms: i64) -> (Vec<u32>, Option<i64>, i64) {
        if let Some(t) = &self.topology {
            let s = &t.shards[i as usize];
            return (s.parents.clone(), s.closed_ms, s.opened_ms.max(created_ms));
        }
        match self.rollover_ms {
            Some(period) if self.shard_count > roots => {
                let g = i64::from(i / roots);
                let parents = if i >= roots {
                    vec![i - roots]
                } else {
                    Vec::new()
                };
                let closed = (i + roots < self.shard_count).then(|| created_ms + (g + 1) * period);
                (parents, closed, created_ms + g * period)
            }
            _ => (Vec::new(), None, created_ms),
        }
    }

    fn hash_range(&self, i: u32) -> Option<(u128, u128)> {
        match (&self.topology, self.source) {
            (Some(t), _) => Some(t.shards[i as usize].hash),
            (None, Source::Kinesis) if self.shard_ids.is_none() => {
                Some(routing::hash_key_range(i, self.shard_count))
            }
            _ => None,
        }
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
