//! Joining two builders filled in parallel, keeping file order.

use std::ops::Range;

use super::StreamBuilder;
use crate::model::payloads::IN_FILE;

/// How one part's records are renumbered when they join the merged builder: their key ids and
/// their offsets into the joined payload and sequence arenas.
struct Rebase<'k> {
    /// New key id per old key id; `None` keeps the ids (the first part).
    key_map: Option<&'k [u32]>,
    payload_shift: u64,
    seq_shift: u64,
}

impl Rebase<'_> {
    #[inline]
    fn key(&self, k: u32) -> u32 {
        self.key_map.map_or(k, |m| m[k as usize])
    }

    /// A payload start in the joined arena; one left in the input file does not move.
    #[inline]
    fn payload(&self, start: u64) -> u64 {
        if start & IN_FILE != 0 {
            start
        } else {
            start + self.payload_shift
        }
    }
}

/// The plain merge's output columns, or the part of them that one thread fills.
struct Grouped<'c> {
    ts: &'c mut [i64],
    key: &'c mut [u32],
    ps: &'c mut [u64],
    pl: &'c mut [u32],
    /// The values read while loading (empty when none were).
    val: &'c mut [f64],
}

impl<'c> Grouped<'c> {
    /// The columns before and from record `mid`.
    fn split_at(self, mid: usize) -> (Grouped<'c>, Grouped<'c>) {
        let (ts_lo, ts_hi) = self.ts.split_at_mut(mid);
        let (key_lo, key_hi) = self.key.split_at_mut(mid);
        let (ps_lo, ps_hi) = self.ps.split_at_mut(mid);
        let (pl_lo, pl_hi) = self.pl.split_at_mut(mid);
        let (val_lo, val_hi) = self.val.split_at_mut(mid.min(self.val.len()));
        (
            Grouped {
                ts: ts_lo,
                key: key_lo,
                ps: ps_lo,
                pl: pl_lo,
                val: val_lo,
            },
            Grouped {
                ts: ts_hi,
                key: key_hi,
                ps: ps_hi,
                pl: pl_hi,
                val: val_hi,
            },
        )
    }
}

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
        let keep = Rebase {
            key_map: None,
            payload_shift: 0,
            seq_shift: 0,
        };
        let rebase_b = Rebase {
            key_map: Some(&key_map),
            payload_shift: shift,
            seq_shift,
        };
        let (mut ia, mut ib) = (0usize, 0usize);
        for &(na, nb) in segments {
            out.append_from(&a, ia..ia + na, &keep, has_events);
            out.append_from(&b, ib..ib + nb, &rebase_b, has_events);
            ia += na;
            ib += nb;
        }
        if !a.old.is_empty() || !b.old.is_empty() {
            out.old = merged_old(&a, &b, segments);
        }
        out.keys = a.keys;
        out.key_ids = a.key_ids;
        out.key_shard = a.key_shard;
        out.key_hash = a.key_hash;
        out.payload = a.payload;
        out.seq_text = a.seq_text;
        out
    }

    /// Appends records `range` of `part`, renumbered by `rebase`.
    fn append_from(&mut self, part: &Self, range: Range<usize>, rebase: &Rebase, has_events: bool) {
        for i in range {
            self.shard.push(part.shard[i]);
            self.ts_ms.push(part.ts_ms[i]);
            self.key.push(rebase.key(part.key[i]));
            self.payload_starts
                .push(rebase.payload(part.payload_starts[i]));
            self.payload_lens.push(part.payload_lens[i]);
            if let Some(&v) = part.values.get(i) {
                self.values.push(v);
            }
            if has_events {
                self.events
                    .push(part.events.get(i).copied().unwrap_or_default());
            }
            if self.has_seqs {
                self.seq_starts
                    .push(part.seq_starts.get(i).copied().unwrap_or(0) + rebase.seq_shift);
                self.seq_lens
                    .push(part.seq_lens.get(i).copied().unwrap_or(0));
            }
        }
    }

    /// [`Self::merge`] for records with no sequence numbers, event names or old images (every
    /// orders file): records come out already grouped by shard, stably, so `finish` finds them
    /// in order and copies nothing; two cores each group half of the shards. This join is
    /// serial work between parallel parsing and a usable stream, so it is kept to one pass.
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
        let starts = run_starts(&counts);
        let mut ts_ms = vec![0i64; n];
        let mut key = vec![0u32; n];
        let mut payload_starts = vec![0u64; n];
        let mut payload_lens = vec![0u32; n];
        let with_values = a.values.len() == a.ts_ms.len() && b.values.len() == b.ts_ms.len();
        let mut values = vec![0f64; if with_values { n } else { 0 }];
        let rebase_b = Rebase {
            key_map: Some(&key_map),
            payload_shift: shift,
            seq_shift: 0,
        };
        let join = PlainJoin {
            a: &a,
            b: &b,
            rebase_b: &rebase_b,
            segments,
            starts: &starts,
        };
        join.group_on_two_cores(Grouped {
            ts: &mut ts_ms,
            key: &mut key,
            ps: &mut payload_starts,
            pl: &mut payload_lens,
            val: &mut values,
        });
        drop(b);
        a.shard = Vec::new();
        a.ts_ms = Vec::new();
        a.key = Vec::new();
        a.payload_starts = Vec::new();
        a.payload_lens = Vec::new();
        a.values = Vec::new();
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
            values,
            ..a
        }
    }
}

/// Where each shard's run starts in the grouped columns, and (last) the total.
fn run_starts(counts: &[usize]) -> Vec<usize> {
    let mut starts = Vec::with_capacity(counts.len() + 1);
    let mut acc = 0;
    for &c in counts {
        starts.push(acc);
        acc += c;
    }
    starts.push(acc);
    starts
}

/// The plain merge's inputs, shared by the two threads that group them.
struct PlainJoin<'j> {
    a: &'j StreamBuilder,
    b: &'j StreamBuilder,
    rebase_b: &'j Rebase<'j>,
    segments: &'j [(usize, usize)],
    /// Run start per shard in the whole output.
    starts: &'j [usize],
}

impl PlainJoin<'_> {
    /// Groups every shard into `out`: each of two cores takes half of the shards and fills its
    /// own part of the columns.
    fn group_on_two_cores(&self, out: Grouped) {
        let shards = self.starts.len() - 1;
        let half = shards / 2;
        let mid = self.starts[half];
        let (lower, upper) = out.split_at(mid);
        let upper = std::sync::Mutex::new(Some(upper));
        let run_upper = || {
            if let Some(out) = upper.lock().ok().and_then(|mut u| u.take()) {
                self.group(half..shards, mid, out);
            }
        };
        std::thread::scope(|s| {
            let spawned = std::thread::Builder::new()
                .name("tumblescope-merge".into())
                .spawn_scoped(s, run_upper);
            self.group(0..half, 0, lower);
            if spawned.is_err() {
                // No thread to spare: this core does both halves.
                run_upper();
            }
        });
    }

    /// Places the records of the shards in `shards`, in file order, into `out`, which holds
    /// the output from index `base` on.
    fn group(&self, shards: Range<usize>, base: usize, mut out: Grouped) {
        let count = self.starts.len() - 1;
        let mut next: Vec<usize> = self.starts[..count]
            .iter()
            .map(|s| s.saturating_sub(base))
            .collect();
        let keep = Rebase {
            key_map: None,
            payload_shift: 0,
            seq_shift: 0,
        };
        let (mut ia, mut ib) = (0usize, 0usize);
        for &(na, nb) in self.segments {
            place(self.a, ia..ia + na, &keep, &shards, &mut next, &mut out);
            place(
                self.b,
                ib..ib + nb,
                self.rebase_b,
                &shards,
                &mut next,
                &mut out,
            );
            ia += na;
            ib += nb;
        }
    }
}

/// Places `part`'s records `range` that belong to `shards` at their shard's next slot.
#[inline]
fn place(
    part: &StreamBuilder,
    range: Range<usize>,
    rebase: &Rebase,
    shards: &Range<usize>,
    next: &mut [usize],
    out: &mut Grouped,
) {
    for i in range {
        let s = part.shard[i] as usize;
        if shards.contains(&s) {
            let d = next[s];
            out.ts[d] = part.ts_ms[i];
            out.key[d] = rebase.key(part.key[i]);
            out.ps[d] = rebase.payload(part.payload_starts[i]);
            out.pl[d] = part.payload_lens[i];
            if let Some(v) = out.val.get_mut(d) {
                *v = part.values[i];
            }
            next[s] += 1;
        }
    }
}

/// The sparse old images of both parts, their record indices moved to the merged order.
fn merged_old(
    a: &StreamBuilder,
    b: &StreamBuilder,
    segments: &[(usize, usize)],
) -> Vec<(u32, super::DdbExtra)> {
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
    let mut old = Vec::with_capacity(a.old.len() + b.old.len());
    for (i, bytes) in a.old.iter() {
        old.push((pos_a[*i as usize], bytes.clone()));
    }
    for (i, bytes) in b.old.iter() {
        old.push((pos_b[*i as usize], bytes.clone()));
    }
    old.sort_by_key(|e| e.0);
    old
}
