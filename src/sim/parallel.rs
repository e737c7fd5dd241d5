//! Shards on several threads, one trace: each thread runs an [`Engine`] over a contiguous
//! part of the shards with a handler of its own ([`Handler::fork`]), logging every step's key;
//! the parts' traces then merge in the order one engine over every shard would have taken the
//! steps. Used for user handlers, whose invocations cost far more than the merge's copy: with
//! a runtime per shard, shards on other threads keep other cores busy.
//!
//! Why the merge is exact: the single engine keeps one planned step per shard and always takes
//! the smallest `(time, shard)`. Shards that never wait on one another (no resharding) plan the
//! same steps whichever other shards run beside them, so each part's steps are the single
//! engine's steps of those shards, in its order; and the single engine's next step is the
//! smallest next step among the parts. Invocation and environment numbers are renumbered on
//! the way; request ids are the shard's own (`Request::shard_n`), so they need nothing.
//!
//! What could differ is what a runtime read from the stand-in table: in one run, a shard's
//! environment has absorbed every other shard's earlier writes. The merge checks every
//! invocation that read the table ([`flags::READ_TABLE`]); if another part had written before
//! it in the merged order, the parts' answers may not be a sequential run's, and the caller
//! runs again on one thread.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::engine::{Control, Engine};
use super::{Progress, Trace};
use crate::handlers::Handler;
use crate::model::settings::Settings;
use crate::model::stream::Stream;
use crate::sim::trace::{Extra, Invocation, flags};

/// One step of an engine: its key and how long the trace's lists were after it.
#[derive(Clone, Copy, Debug)]
pub(super) struct Step {
    key: (i64, usize),
    lens: [usize; 5],
}

impl Step {
    pub(super) fn after(at: i64, idx: usize, t: &Trace) -> Self {
        Self {
            key: (at, idx),
            lens: lens(t),
        }
    }
}

fn lens(t: &Trace) -> [usize; 5] {
    [
        t.invocations.len(),
        t.discards.len(),
        t.stalls.len(),
        t.unread.len(),
        t.shard_ends.len(),
    ]
}

/// A part's progress, published after every step for the thread that reports for all.
#[derive(Debug, Default)]
pub(super) struct Live {
    records: AtomicU64,
    invocations: AtomicU64,
}

impl Live {
    pub(super) fn publish(&self, records: u64, invocations: usize) {
        self.records.store(records, Ordering::Relaxed);
        self.invocations
            .store(invocations as u64, Ordering::Relaxed);
    }
}

/// How a split run ended.
pub(super) enum Outcome {
    /// The trace one thread would have made.
    Merged(Box<Trace>),
    /// A runtime read the table after another part had written to it: run on one thread,
    /// with the runtimes started afresh.
    Conflict,
    /// Not split (one part, linked shards, a handler that cannot be forked): run on one thread.
    NotSplit,
    /// A part's thread could not start or panicked: run on one thread, runtimes afresh.
    Broken,
}

/// What one part made: its trace, its step log, and how many unread records it started with.
type Part = (Trace, Vec<Step>, usize);

/// The run on up to `threads` threads, the first part's handler being `handler` (prepared).
pub(super) fn run(
    stream: &Stream,
    settings: &Settings,
    handler: &mut dyn Handler,
    control: &mut Control<'_>,
    threads: usize,
) -> Outcome {
    let linked = stream.shards.iter().any(|s| !s.parents.is_empty());
    if threads < 2 || stream.shards.len() < 2 || linked {
        return Outcome::NotSplit;
    }
    let parts = split(stream, threads.min(stream.shards.len()));
    let mut handlers: Vec<Box<dyn Handler>> = Vec::with_capacity(parts.len() - 1);
    for _ in 1..parts.len() {
        match handler.fork() {
            Some(h) => handlers.push(h),
            None => return Outcome::NotSplit,
        }
    }
    let lives: Vec<Live> = parts.iter().map(|_| Live::default()).collect();
    let cancel = control.cancel;
    let (done_tx, done_rx) = crossbeam_channel::unbounded::<()>();
    let results: Option<Vec<Part>> = std::thread::scope(|s| {
        let mut all: Vec<&mut dyn Handler> = vec![handler];
        all.extend(handlers.iter_mut().map(|h| h.as_mut() as &mut dyn Handler));
        let spawned: Vec<_> = parts
            .iter()
            .cloned()
            .zip(all)
            .zip(&lives)
            .enumerate()
            .map(|(k, ((part, h), live))| {
                let done = done_tx.clone();
                std::thread::Builder::new()
                    .name(format!("tumblescope-shards-{}", k + 1))
                    .spawn_scoped(s, move || {
                        let out = run_part(stream, settings, h, cancel, part, live);
                        done.send(()).ok();
                        out
                    })
            })
            .collect();
        drop(done_tx);
        report_until_done(stream, control, &lives, &done_rx, parts.len());
        spawned.into_iter().map(|h| h.ok()?.join().ok()).collect()
    });
    let Some(results) = results else {
        return Outcome::Broken;
    };
    match merge(results) {
        Some(mut trace) => {
            trace.ran_on = crate::sim::trace::RanOn::Threads(parts.len() as u32);
            Outcome::Merged(Box::new(trace))
        }
        None => Outcome::Conflict,
    }
}

/// Reports the parts' progress together until all of them have ended.
fn report_until_done(
    stream: &Stream,
    control: &mut Control<'_>,
    lives: &[Live],
    done: &crossbeam_channel::Receiver<()>,
    parts: usize,
) {
    let mut ended = 0;
    let mut last = (u64::MAX, u64::MAX);
    while ended < parts {
        match done.recv_timeout(Duration::from_millis(100)) {
            Ok(()) => ended += 1,
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            // A part's thread panicked: its join says so.
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
        }
        let sum = |f: fn(&Live) -> &AtomicU64| -> u64 {
            lives.iter().map(|l| f(l).load(Ordering::Relaxed)).sum()
        };
        let now = (sum(|l| &l.records), sum(|l| &l.invocations));
        if now != last {
            last = now;
            control.report(Progress {
                records_done: now.0,
                records_total: stream.len() as u64,
                invocations: now.1,
            });
        }
    }
}

/// Runs one part: the engine over the shards in `owned`, logging its steps.
fn run_part(
    stream: &Stream,
    settings: &Settings,
    handler: &mut dyn Handler,
    cancel: Option<&std::sync::atomic::AtomicBool>,
    owned: Range<usize>,
    live: &Live,
) -> Part {
    let mut engine = Engine::new(stream, settings);
    engine
        .trace
        .unread
        .retain(|u| owned.contains(&(u.shard as usize)));
    let initial_unread = engine.trace.unread.len();
    engine.owned = owned;
    engine.log = Some(Vec::new());
    engine.live = Some(live);
    let mut quiet = Control {
        cancel,
        progress: None,
    };
    let trace = engine.run(handler, &mut quiet);
    let log = engine.log.take().unwrap_or_default();
    (trace, log, initial_unread)
}

/// Contiguous parts of the shards with about the same number of records each.
fn split(stream: &Stream, parts: usize) -> Vec<Range<usize>> {
    let total = stream.len().max(1);
    let mut out = Vec::with_capacity(parts);
    let mut start = 0;
    let mut acc = 0;
    for (i, shard) in stream.shards.iter().enumerate() {
        acc += shard.range.len();
        let left = stream.shards.len() - i - 1;
        let want = out.len() + 1;
        if out.len() + 1 < parts && (acc * parts >= total * want || left <= parts - want) {
            out.push(start..i + 1);
            start = i + 1;
        }
    }
    out.push(start..stream.shards.len());
    out.retain(|r| !r.is_empty());
    out
}

/// Carries the parts' entries into one trace in the single engine's order.
struct Merger {
    out: Trace,
    /// Per part, the new number of each of its invocations (index: its number there - 1).
    renumber: Vec<Vec<u32>>,
    /// Per part, the number of each of its environments in the merged start order (index: its
    /// number there - 1; 0 until it first appears).
    envs: Vec<Vec<u32>>,
    envs_started: u32,
    /// Per part, whether it has written to the table so far in the merged order.
    wrote: Vec<bool>,
    /// The last extra renumbered per part, and its replacement (consecutive attempts that
    /// failed alike share one extra: they keep sharing).
    last_extra: Vec<Option<(Arc<Extra>, Arc<Extra>)>>,
    conflict: bool,
}

/// The parts' traces as one, in the single engine's order; `None` when some invocation read
/// the table after another part wrote to it.
fn merge(parts: Vec<Part>) -> Option<Trace> {
    let n = parts.len();
    let mut m = Merger {
        out: Trace::default(),
        renumber: parts
            .iter()
            .map(|(t, ..)| Vec::with_capacity(t.invocations.len()))
            .collect(),
        envs: vec![Vec::new(); n],
        envs_started: 0,
        wrote: vec![false; n],
        last_extra: vec![None; n],
        conflict: false,
    };
    let mut at = vec![[0usize; 5]; n];
    for (k, (t, _, initial)) in parts.iter().enumerate() {
        m.out.unread.extend(t.unread[..*initial].iter().cloned());
        at[k][3] = *initial;
    }
    let total: usize = parts.iter().map(|(t, ..)| t.invocations.len()).sum();
    m.out.invocations.reserve_exact(total);
    let mut next = vec![0usize; n];
    loop {
        let pick = (0..n)
            .filter(|&k| next[k] < parts[k].1.len())
            .min_by_key(|&k| parts[k].1[next[k]].key);
        let Some(k) = pick else { break };
        let upto = parts[k].1[next[k]].lens;
        m.take(k, &parts[k].0, &mut at[k], upto);
        next[k] += 1;
    }
    for (k, (t, ..)) in parts.iter().enumerate() {
        // What `finish` added after the last step, in shard order like the single engine's.
        m.take(k, t, &mut at[k], lens(t));
    }
    if m.conflict {
        return None;
    }
    Some(m.finish(parts))
}

impl Merger {
    /// Moves part `k`'s entries from `from` up to `upto` into the merged trace.
    fn take(&mut self, k: usize, t: &Trace, from: &mut [usize; 5], upto: [usize; 5]) {
        for inv in &t.invocations[from[0]..upto[0]] {
            let inv = self.carry(k, inv);
            self.out.invocations.push(inv);
        }
        let renumber = &self.renumber[k];
        let map = |n: u32| -> u32 {
            if n == 0 {
                0
            } else {
                renumber.get(n as usize - 1).copied().unwrap_or(n)
            }
        };
        for d in &t.discards[from[1]..upto[1]] {
            let mut d = d.clone();
            d.invocation = map(d.invocation);
            self.out.discards.push(d);
        }
        for st in &t.stalls[from[2]..upto[2]] {
            let mut st = st.clone();
            st.invocation = map(st.invocation);
            self.out.stalls.push(st);
        }
        self.out
            .unread
            .extend(t.unread[from[3]..upto[3]].iter().cloned());
        self.out
            .shard_ends
            .extend(t.shard_ends[from[4]..upto[4]].iter().copied());
        *from = upto;
    }

    /// Part `k`'s invocation renumbered for the merged trace (and checked for a read that
    /// another part's earlier write could have changed).
    fn carry(&mut self, k: usize, inv: &Invocation) -> Invocation {
        let others_wrote = self.wrote.iter().enumerate().any(|(j, &w)| w && j != k);
        if inv.flags & flags::READ_TABLE != 0 && others_wrote {
            self.conflict = true;
        }
        if !inv.writes().is_empty() {
            self.wrote[k] = true;
        }
        let mut inv = inv.clone();
        inv.n = self.out.invocations.len() as u32 + 1;
        self.renumber[k].push(inv.n);
        if let Some(local) = inv.environment() {
            let global = self.environment(k, local);
            if global != local {
                inv.extra = inv.extra.map(|e| self.renumbered_extra(k, e, global));
            }
        }
        inv
    }

    /// The merged number of part `k`'s environment `local`: environments are numbered in the
    /// order they started, and each starts at the invocation that first uses it.
    fn environment(&mut self, k: usize, local: u32) -> u32 {
        let ids = &mut self.envs[k];
        let i = local as usize - 1;
        if ids.len() <= i {
            ids.resize(i + 1, 0);
        }
        if ids[i] == 0 {
            self.envs_started += 1;
            ids[i] = self.envs_started;
        }
        ids[i]
    }

    fn renumbered_extra(&mut self, k: usize, e: Arc<Extra>, global: u32) -> Arc<Extra> {
        if let Some((old, new)) = &self.last_extra[k]
            && Arc::ptr_eq(old, &e)
        {
            return new.clone();
        }
        let mut copy = (*e).clone();
        copy.environment = Some(global);
        let new = Arc::new(copy);
        self.last_extra[k] = Some((e, new.clone()));
        new
    }

    /// The merged trace, with the parts' windows renumbered and sorted.
    fn finish(mut self, parts: Vec<Part>) -> Trace {
        for (k, (t, ..)) in parts.into_iter().enumerate() {
            let renumber = &self.renumber[k];
            let map = |n: u32| {
                renumber
                    .get((n as usize).wrapping_sub(1))
                    .copied()
                    .unwrap_or(n)
            };
            self.out.windows.extend(t.windows.into_iter().map(|mut w| {
                w.first_invocation = map(w.first_invocation);
                w.final_invocation = w.final_invocation.map(map);
                w
            }));
            self.out.cancelled |= t.cancelled;
            self.out.records_delivered += t.records_delivered;
            for w in t.warnings {
                if !self.out.warnings.contains(&w) {
                    self.out.warnings.push(w);
                }
            }
            if k == 0 {
                self.out.filter = t.filter;
                self.out.deferred = t.deferred;
            }
        }
        self.out
            .windows
            .sort_by_key(|w| (w.shard, w.window.start_ms, w.first_invocation));
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_contiguous_cover_every_shard_and_balance_records() {
        let opts = crate::generate::GenOptions {
            count: 20_000,
            shards: 7,
            keys: crate::generate::KeyStrategy::Uniform { n: 1_000 },
            ..Default::default()
        };
        let stream = crate::generate::generate_stream(&opts, Default::default());
        for parts in 1..=7 {
            let p = split(&stream, parts);
            assert_eq!(p.len(), parts, "{p:?}");
            assert_eq!(p[0].start, 0);
            assert_eq!(p.last().unwrap().end, 7);
            for w in p.windows(2) {
                assert_eq!(w[0].end, w[1].start);
            }
        }
        let halves = split(&stream, 2);
        let records = |r: &Range<usize>| -> usize {
            stream.shards[r.clone()].iter().map(|s| s.range.len()).sum()
        };
        let (a, b) = (records(&halves[0]), records(&halves[1]));
        // Split at a shard boundary: the halves differ by at most the largest shard.
        let largest = stream.shards.iter().map(|s| s.range.len()).max().unwrap();
        assert!(
            a.abs_diff(b) <= largest,
            "{a} vs {b} (largest shard {largest})"
        );
    }
}
