//! A stream of some of another stream's records: what a mapping with filters delivers. Each
//! record keeps its shard, sequence number, payload and captured attributes.

use super::stream::{DdbColumns, Seqs, Shard, Stream};

impl Stream {
    /// The records at `keep` (ascending indices), as a stream of their own. Sequence numbers
    /// are stored, so the selected records carry the numbers they had (generated numbers count
    /// a record's place on its shard).
    pub fn select(&self, keep: &[usize]) -> Stream {
        let mut out = Stream {
            source: self.source,
            meta: self.meta.clone(),
            created_ms: self.created_ms,
            keys: self.keys.clone(),
            payload_is_json: self.payload_is_json,
            payload_files: self.payload_files.clone(),
            ..Stream::default()
        };
        out.shards = self.selected_shards(keep);
        let mut seq_text = Vec::new();
        let (mut seq_starts, mut seq_lens) = (Vec::new(), Vec::new());
        for &i in keep {
            out.ts_ms.push(self.ts_ms[i]);
            out.key.push(self.key[i]);
            out.payload_lens.push(self.payload_lens[i]);
            if self.payload_in_file(i) {
                out.payload_starts.push(self.payload_starts[i]);
            } else {
                out.payload_starts.push(out.payload.len() as u64);
                out.payload.extend_from_slice(&self.payload(i));
            }
            let seq = self.seq(i);
            seq_starts.push(seq_text.len() as u64);
            seq_lens.push(seq.len() as u16);
            seq_text.extend_from_slice(seq.as_bytes());
        }
        out.seqs = Seqs::Stored {
            text: seq_text,
            starts: seq_starts,
            lens: seq_lens,
        };
        out.ddb = self.selected_ddb(keep);
        if !self.encryption.is_empty() {
            out.encryption = keep
                .iter()
                .enumerate()
                .filter_map(|(k, &i)| Some((k as u32, self.encryption_type(i)?.into())))
                .collect();
        }
        out.backwards = backwards(&out);
        out
    }

    /// [`Self::select`], also marking where each dropped record was (for the modelling choice
    /// that filtered-out records still close windows).
    pub fn select_marking(&self, keep: &[usize]) -> Stream {
        let mut out = self.select(keep);
        let mut next = 0;
        for (s, sh) in self.shards.iter().enumerate() {
            for i in sh.range.clone() {
                if keep.get(next) == Some(&i) {
                    next += 1;
                } else {
                    out.filtered_marks
                        .push((s as u32, next as u32, self.ts_ms[i]));
                }
            }
        }
        out
    }

    fn selected_shards(&self, keep: &[usize]) -> Vec<Shard> {
        let mut at = 0;
        self.shards
            .iter()
            .map(|s| {
                let n = keep[at..].partition_point(|&i| i < s.range.end);
                let range = at..at + n;
                at += n;
                Shard { range, ..s.clone() }
            })
            .collect()
    }

    fn selected_ddb(&self, keep: &[usize]) -> DdbColumns {
        let mut d = DdbColumns::default();
        if self.ddb.event.is_empty() {
            return d;
        }
        for (new, &i) in keep.iter().enumerate() {
            d.event.push(self.ddb.event[i]);
            if let Some(img) = self.old_image(i) {
                let s = d.old_bytes.len() as u64;
                d.old_bytes.extend_from_slice(img);
                d.old_images.push((new as u32, s, d.old_bytes.len() as u64));
            }
            if let Some(t) = self.typed_record(i) {
                let s = d.typed_bytes.len() as u64;
                d.typed_bytes.extend_from_slice(t);
                d.typed.push((new as u32, s, d.typed_bytes.len() as u64));
            }
        }
        d
    }
}

/// Records whose timestamp is earlier than an earlier record's on the same shard.
fn backwards(s: &Stream) -> Vec<u32> {
    let mut out = Vec::new();
    for sh in &s.shards {
        let mut max = i64::MIN;
        for i in sh.range.clone() {
            if s.ts_ms[i] < max {
                out.push(i as u32);
            }
            max = max.max(s.ts_ms[i]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::model::Source;
    use crate::model::stream::{InputRecord, StreamBuilder, StreamMeta};

    #[test]
    fn selected_records_keep_their_shard_sequence_number_and_payload() {
        let mut b = StreamBuilder::new(Source::Kinesis, 2, StreamMeta::default());
        for k in 0..10i64 {
            b.push(InputRecord {
                ts_ms: 1_000 * k,
                partition_key: format!("k{}", k % 3),
                data: format!("{{\"n\":{k}}}").into_bytes(),
                ..Default::default()
            });
        }
        let s = b.finish();
        let keep: Vec<usize> = (0..s.len()).filter(|i| i % 2 == 1).collect();
        let sub = s.select(&keep);
        assert_eq!(sub.len(), keep.len());
        for (new, &old) in keep.iter().enumerate() {
            assert_eq!(sub.seq(new), s.seq(old));
            assert_eq!(sub.payload(new), s.payload(old));
            assert_eq!(sub.partition_key(new), s.partition_key(old));
            assert_eq!(
                sub.shards[sub.shard_of(new)].id,
                s.shards[s.shard_of(old)].id
            );
            assert_eq!(sub.ts_ms[new], s.ts_ms[old]);
        }
        let total: usize = sub.shards.iter().map(|sh| sh.range.len()).sum();
        assert_eq!(total, keep.len());
    }
}
