//! Joining two builders filled in parallel, keeping file order.

use super::StreamBuilder;

impl StreamBuilder {
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
}
