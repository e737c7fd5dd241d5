//! Read indices built once per run for the UI (no egui here): per-shard invocation lists sorted
//! by time, which invocation delivered each record, jump lists, and the plot series.

use crate::model::state::State;
use crate::model::stream::Stream;
use crate::sim::trace::{Kind, Status, Trace};

/// Which number the plots read from each state.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ValuePath {
    /// The sum of every numeric value at the top level (and inside objects one level down).
    SumOfNumbers,
    /// One dotted path into the state object.
    Path(String),
}

impl ValuePath {
    /// Label for menus.
    pub fn label(&self) -> String {
        match self {
            Self::SumOfNumbers => "sum of numeric fields".into(),
            Self::Path(p) => p.clone(),
        }
    }
}

/// The number `path` reads from a state, if any.
pub fn state_value(state: &State, path: &ValuePath) -> Option<f64> {
    // Typed built-in state: read the accumulator without rendering JSON.
    if let Some(s) = state.scalar()
        && s.op != crate::model::state::AggOp::Avg
    {
        let single = match path {
            ValuePath::SumOfNumbers => true,
            ValuePath::Path(p) => p == s.key.as_str(),
        };
        if single {
            return s.acc().result(s.op);
        }
    }
    let json = serde_json::Value::Object(state.to_json());
    match path {
        ValuePath::Path(p) => crate::json::path::Path::parse(p)
            .lookup(&json)
            .and_then(crate::json::path::number_from_value),
        ValuePath::SumOfNumbers => {
            let mut sum = 0.0;
            let mut any = false;
            let obj = json.as_object()?;
            for v in obj.values() {
                if let Some(n) = v.as_f64() {
                    sum += n;
                    any = true;
                }
            }
            any.then_some(sum)
        }
    }
}

/// The most value paths the picker offers.
pub const MAX_PATHS: usize = 64;

/// Numeric fields found in a state, as dotted paths (top level and one level down).
pub fn numeric_paths(state: &State) -> Vec<String> {
    let mut out = std::collections::BTreeSet::new();
    add_numeric_paths(state, &mut out);
    out.into_iter().collect()
}

/// Adds `state`'s numeric paths to `out`, up to [`MAX_PATHS`].
fn add_numeric_paths(state: &State, out: &mut std::collections::BTreeSet<String>) {
    state.with_json(|map| {
        for (k, v) in map {
            if out.len() >= MAX_PATHS {
                return;
            }
            match v {
                serde_json::Value::Number(_) => {
                    out.insert(k.clone());
                }
                serde_json::Value::Object(inner) => {
                    for (k2, _) in inner.iter().filter(|(_, v2)| v2.is_number()) {
                        if out.len() >= MAX_PATHS {
                            return;
                        }
                        out.insert(format!("{k}.{k2}"));
                    }
                }
                _ => {}
            }
        }
    });
}

/// Every numeric path seen in any returned state of the run (skewed keys give each shard
/// its own keys, so one sample state would leave the other shards' keys out of the picker).
pub fn run_paths(trace: &Trace) -> Vec<String> {
    let mut out = std::collections::BTreeSet::new();
    let mut last: Option<&State> = None;
    for s in trace
        .invocations
        .iter()
        .filter_map(|i| i.state_out.as_ref())
    {
        // A state carried unchanged, or an inline accumulator under the same key, adds nothing.
        if s.is_empty() || last.is_some_and(|l| l.same_storage(s)) {
            continue;
        }
        last = Some(s);
        add_numeric_paths(s, &mut out);
        if out.len() >= MAX_PATHS {
            break;
        }
    }
    out.into_iter().collect()
}

/// One point of a running-total series. Packed to 20 bytes (a 10 M-order run holds 16 M of
/// them): its fields are read by value, never borrowed.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C, packed(4))]
pub struct SeriesPoint {
    /// Seconds since the run's first record (plot x).
    pub t_s: f64,
    /// The value.
    pub value: f64,
    /// The invocation that produced it (0-based index into the trace).
    pub inv: u32,
}

/// Points per line drawn: more than a plot has pixels is wasted tessellation.
pub const MAX_PLOT_POINTS: usize = 3000;

/// At most about `max` of `points` as `[t_s, value]`: each bucket's lowest and highest point
/// (in time order), so a long sawtooth of running totals keeps its peaks and resets when
/// thinned for drawing.
pub fn thin(points: &[SeriesPoint], max: usize) -> Vec<[f64; 2]> {
    if points.len() <= max {
        return points.iter().map(|p| [p.t_s, p.value]).collect();
    }
    let bucket = points.len().div_ceil(max / 2);
    let mut out = Vec::with_capacity(max + 2);
    for chunk in points.chunks(bucket) {
        let (mut lo, mut hi) = (0, 0);
        for (k, p) in chunk.iter().enumerate() {
            if p.value < chunk[lo].value {
                lo = k;
            }
            if p.value > chunk[hi].value {
                hi = k;
            }
        }
        let (a, b) = if lo <= hi { (lo, hi) } else { (hi, lo) };
        out.push([chunk[a].t_s, chunk[a].value]);
        if b != a {
            out.push([chunk[b].t_s, chunk[b].value]);
        }
    }
    out
}

/// The default series thinned for drawing, per shard: in-window and across windows. Found
/// with the series on the worker, so a big run's first frame does not thin millions of points.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Thinned {
    /// In-window running totals per shard.
    pub in_window: Vec<Vec<[f64; 2]>>,
    /// Totals across windows per shard.
    pub across: Vec<Vec<[f64; 2]>>,
}

impl Thinned {
    /// `series` thinned to [`MAX_PLOT_POINTS`] per line.
    pub fn of(series: &[ShardSeries]) -> Self {
        Self {
            in_window: series
                .iter()
                .map(|s| thin(&s.in_window, MAX_PLOT_POINTS))
                .collect(),
            across: series
                .iter()
                .map(|s| thin(&s.across_windows, MAX_PLOT_POINTS))
                .collect(),
        }
    }
}

/// Running totals of one shard.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ShardSeries {
    /// In-window value after each successful invocation; drops to 0 after each final (not
    /// when the teaching mode carries the state into the next window).
    pub in_window: Vec<SeriesPoint>,
    /// Total across windows: the sum of closed windows' final values plus the open window's.
    pub across_windows: Vec<SeriesPoint>,
}

/// Everything the UI reads per run.
#[derive(Clone, Debug, Default)]
pub struct RunIndex {
    /// Earliest record time or invocation start (ms).
    pub t_min: i64,
    /// Latest record time or invocation end (ms).
    pub t_max: i64,
    /// Latest record time (ms); `t_min` for a stream without records.
    pub t_last_record: i64,
    /// Per shard: invocation indices in start order.
    pub by_shard: Vec<Vec<u32>>,
    /// Per shard, the notable invocations in start order by how they are drawn when a lane is
    /// too dense for boxes (`[finals, early terminations, failures]`, see [`density_rank`]): a
    /// dense lane's strip then costs a few searches per pixel column, not a pass over millions.
    pub ranked_by_shard: Vec<[Vec<u32>; 3]>,
    /// Per record: index of the invocation that first delivered it successfully (u32::MAX: never).
    pub delivered_by: Vec<u32>,
    /// Indices of invocations sent with `isFinalInvokeForWindow: true`: finals, and early
    /// terminations when they are also final (Q3).
    pub finals: Vec<u32>,
    /// Indices of failed attempts.
    pub failures: Vec<u32>,
    /// Numeric paths found in states.
    pub paths: Vec<String>,
    /// The path the series were built with.
    pub path: Option<ValuePath>,
    /// Series per shard.
    pub series: std::sync::Arc<Vec<ShardSeries>>,
    /// The series thinned for drawing.
    pub thinned: std::sync::Arc<Thinned>,
    /// Per shard: the invocations that started an execution environment (cold starts).
    pub cold_by_shard: Vec<Vec<u32>>,
    /// Which kinds of invocation the run has (what the colour key lists).
    pub has: Present,
}

/// Which kinds of invocation a run has, found once per run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Present {
    /// Early terminations.
    pub early: bool,
    /// Failed attempts.
    pub failed: bool,
    /// Partial failures (batch item failures reported).
    pub partial: bool,
    /// Retries.
    pub retry: bool,
    /// Cold starts.
    pub cold: bool,
}

/// How notable an invocation is in a dense lane's strip: failed 4 > early termination 3 >
/// final 2 > anything else 1.
pub fn density_rank(inv: &crate::sim::trace::Invocation) -> u8 {
    match (inv.status, inv.kind) {
        (Status::Failed, _) => 4,
        (_, Kind::Early) => 3,
        (_, Kind::Final) => 2,
        _ => 1,
    }
}

impl RunIndex {
    /// Builds the index (O(records + invocations)).
    pub fn build(stream: &Stream, trace: &Trace) -> Self {
        Self::build_reusing(stream, trace, Self::default())
    }

    /// [`RunIndex::build`] into the memory of a replaced run's index (its per-invocation lists
    /// and plot series, the index's bulk): a big run's re-run then touches no fresh pages for
    /// them, each of which costs a fault. What the index holds is the same.
    pub fn build_reusing(stream: &Stream, trace: &Trace, old: Self) -> Self {
        let spare_series = std::sync::Arc::try_unwrap(old.series).unwrap_or_default();
        let spare_lists = (old.by_shard, old.delivered_by);
        // The plot series need only the trace and the run's start: they are built on a second
        // core while this one indexes the invocations (each pass over millions of them mostly
        // waits on memory).
        let (first, _) = stream.time_range().unwrap_or((0, 0));
        let t_min = trace
            .invocations
            .iter()
            .map(|i| i.start_ms)
            .min()
            .map_or(first, |s| s.min(first));
        let shards = stream.shards.len();
        let (mut idx, (paths, path, series, thinned)) = std::thread::scope(|s| {
            let spawned = std::thread::Builder::new()
                .name("tumblescope-series".into())
                .spawn_scoped(s, move || plot_series(trace, shards, t_min, spare_series));
            let idx = Self::index_invocations(stream, trace, spare_lists);
            let plotted = spawned.ok().and_then(|h| h.join().ok());
            // Where no thread could run them, the series are built here (in fresh memory).
            let here = || plot_series(trace, shards, t_min, Vec::new());
            (idx, plotted.unwrap_or_else(here))
        });
        debug_assert_eq!(idx.t_min, t_min);
        // A small run's index built in a big one's memory gives back what it did not need.
        let mut series = series;
        for s in &mut series {
            crate::sim::engine::give_back_spare(&mut s.in_window);
            crate::sim::engine::give_back_spare(&mut s.across_windows);
        }
        for list in &mut idx.by_shard {
            crate::sim::engine::give_back_spare(list);
        }
        crate::sim::engine::give_back_spare(&mut idx.delivered_by);
        idx.paths = paths;
        idx.path = Some(path);
        idx.series = std::sync::Arc::new(series);
        idx.thinned = std::sync::Arc::new(thinned);
        idx
    }

    /// Everything but the plot series: per-shard lists, deliveries, finals, failures, the
    /// time range and which kinds the run has.
    fn index_invocations(
        stream: &Stream,
        trace: &Trace,
        (spare_by_shard, mut delivered_by): (Vec<Vec<u32>>, Vec<u32>),
    ) -> Self {
        // Sized first: growing a million-entry list by doubling copies it into fresh memory.
        let mut per_shard = vec![0usize; stream.shards.len()];
        for inv in &trace.invocations {
            per_shard[inv.shard as usize] += 1;
        }
        delivered_by.clear();
        delivered_by.resize(stream.len(), u32::MAX);
        let mut idx = Self {
            by_shard: reserved_lists(spare_by_shard, &per_shard),
            ranked_by_shard: vec![Default::default(); stream.shards.len()],
            cold_by_shard: vec![Vec::new(); stream.shards.len()],
            delivered_by,
            ..Self::default()
        };
        let (mut t_min, mut t_max) = stream.time_range().unwrap_or((0, 0));
        idx.t_last_record = t_max;
        for (k, inv) in trace.invocations.iter().enumerate() {
            let k = k as u32;
            idx.by_shard[inv.shard as usize].push(k);
            if let r @ 2.. = density_rank(inv) {
                idx.ranked_by_shard[inv.shard as usize][usize::from(r) - 2].push(k);
            }
            t_min = t_min.min(inv.start_ms);
            t_max = t_max.max(inv.end_ms);
            if inv.kind == Kind::Final || inv.is_final {
                idx.finals.push(k);
            }
            if inv.status == Status::Failed {
                idx.failures.push(k);
            }
            if inv.flags & crate::sim::trace::flags::COLD_START != 0 {
                idx.cold_by_shard[inv.shard as usize].push(k);
            }
            idx.has.early |= inv.kind == Kind::Early;
            idx.has.failed |= inv.status == Status::Failed;
            idx.has.partial |= inv.status == Status::Partial;
            idx.has.retry |= inv.is_retry();
            idx.has.cold |= inv.flags & crate::sim::trace::flags::COLD_START != 0;
            if inv.status != Status::Failed {
                let delivered = match inv.status {
                    Status::Partial => 0..0,
                    _ => inv.record_range(),
                };
                for i in delivered {
                    if idx.delivered_by[i] == u32::MAX {
                        idx.delivered_by[i] = k;
                    }
                }
            }
        }
        // Partial successes deliver the records before the first failure; the re-delivery that
        // follows marks the rest.
        for (k, inv) in trace.invocations.iter().enumerate() {
            if inv.status == Status::Partial {
                let failed_from = trace
                    .invocations
                    .get(k + 1..)
                    .and_then(|rest| {
                        rest.iter()
                            .find(|n| n.shard == inv.shard && n.is_retry())
                            .map(|n| n.records.start as usize)
                    })
                    .unwrap_or(inv.records.end as usize);
                for i in inv.records.start as usize..failed_from {
                    if idx.delivered_by[i] == u32::MAX || idx.delivered_by[i] > k as u32 {
                        idx.delivered_by[i] = k as u32;
                    }
                }
            }
        }
        idx.t_min = t_min;
        idx.t_max = t_max.max(t_min + 1);
        idx.t_last_record = idx.t_last_record.max(t_min);
        idx
    }

    /// The range "fit" shows: the whole run, unless its tail after the last record (finals that
    /// wait out the close grace on a quiet shard) is longer than half the part with records; then
    /// the records and a quarter of their span (at least `min_tail_ms`) after them, so the grace
    /// tail does not squeeze everything else into the left of the screen.
    pub fn fit_range(&self, min_tail_ms: i64) -> (i64, i64) {
        let body = (self.t_last_record - self.t_min).max(1);
        let tail = self.t_max - self.t_last_record;
        if tail * 2 <= body {
            return (self.t_min, self.t_max);
        }
        let end = self.t_last_record + (body / 4).max(min_tail_ms);
        (self.t_min, end.min(self.t_max))
    }

    /// The invocation (index) of `shard` running or last finished at time `t_ms`.
    pub fn invocation_at(&self, trace: &Trace, shard: usize, t_ms: i64) -> Option<u32> {
        let list = self.by_shard.get(shard)?;
        let pos = list.partition_point(|&k| trace.invocations[k as usize].start_ms <= t_ms);
        pos.checked_sub(1).map(|p| list[p])
    }
}

/// The numeric paths of a run's states, the one plotted first (the only path, or the sum of
/// numbers), its series and those thinned for drawing.
fn plot_series(
    trace: &Trace,
    shards: usize,
    t_min_ms: i64,
    spare: Vec<ShardSeries>,
) -> (Vec<String>, ValuePath, Vec<ShardSeries>, Thinned) {
    let paths = run_paths(trace);
    let path = if paths.len() == 1 {
        ValuePath::Path(paths[0].clone())
    } else {
        ValuePath::SumOfNumbers
    };
    let series = build_series_reusing(trace, shards, t_min_ms, &path, spare);
    let thinned = Thinned::of(&series);
    (paths, path, series, thinned)
}

/// Running totals per shard for `path`; x is seconds since `t_min_ms`.
pub fn build_series(
    trace: &Trace,
    shards: usize,
    t_min_ms: i64,
    path: &ValuePath,
) -> Vec<ShardSeries> {
    build_series_reusing(trace, shards, t_min_ms, path, Vec::new())
}

/// [`build_series`] into the memory of `spare` (a replaced run's series).
fn build_series_reusing(
    trace: &Trace,
    shards: usize,
    t_min_ms: i64,
    path: &ValuePath,
    spare: Vec<ShardSeries>,
) -> Vec<ShardSeries> {
    {
        let path = path.clone();
        let t0 = t_min_ms as f64 / 1000.0;
        let mut series = reserved_series(trace, shards, spare);
        let mut closed_total = vec![0.0; shards];
        for (k, inv) in trace.invocations.iter().enumerate() {
            if inv.status == Status::Failed || inv.window().is_none() {
                continue;
            }
            let s = inv.shard as usize;
            let t_s = inv.end_ms as f64 / 1000.0 - t0;
            let k = k as u32;
            match inv.kind {
                Kind::Aggregate => {
                    let Some(out) = &inv.state_out else { continue };
                    let v = state_value(out, &path).unwrap_or(0.0);
                    series[s].in_window.push(SeriesPoint {
                        t_s,
                        value: v,
                        inv: k,
                    });
                    series[s].across_windows.push(SeriesPoint {
                        t_s,
                        value: closed_total[s] + v,
                        inv: k,
                    });
                }
                Kind::Final | Kind::Early => {
                    // With the teaching mode the next window starts from this state: the
                    // across-windows total then is the state itself, not a sum of windows.
                    let v = state_value(&inv.state_in, &path).unwrap_or(0.0);
                    let carried = trace
                        .invocations
                        .get(k as usize + 1..)
                        .and_then(|rest| rest.iter().find(|n| n.shard == inv.shard))
                        .is_some_and(|n| n.flags & crate::sim::trace::flags::CARRIED_STATE != 0);
                    if !carried {
                        closed_total[s] += v;
                    }
                    // A step, not a slope: the window's value holds until the final invocation,
                    // then drops to nothing.
                    series[s].in_window.push(SeriesPoint {
                        t_s,
                        value: v,
                        inv: k,
                    });
                    // The teaching mode carries the state on: nothing is dropped, no reset.
                    if !carried {
                        series[s].in_window.push(SeriesPoint {
                            t_s,
                            value: 0.0,
                            inv: k,
                        });
                    }
                    series[s].across_windows.push(SeriesPoint {
                        t_s,
                        value: if carried { v } else { closed_total[s] },
                        inv: k,
                    });
                }
            }
        }
        series
    }
}

/// Empty series per shard with room for every point [`build_series`] may add: a counting pass
/// is cheaper than growing millions of points by doubling, which copied them each time into
/// fresh memory (a third of a big run's index).
fn reserved_series(trace: &Trace, shards: usize, spare: Vec<ShardSeries>) -> Vec<ShardSeries> {
    let mut counts = vec![(0usize, 0usize); shards];
    for inv in &trace.invocations {
        if inv.status == Status::Failed || inv.window().is_none() {
            continue;
        }
        let c = &mut counts[inv.shard as usize];
        match inv.kind {
            Kind::Aggregate if inv.state_out.is_some() => *c = (c.0 + 1, c.1 + 1),
            Kind::Aggregate => {}
            Kind::Final | Kind::Early => *c = (c.0 + 2, c.1 + 1),
        }
    }
    let mut spare = spare.into_iter();
    counts
        .into_iter()
        .map(|(in_window, across)| {
            let mut s = spare.next().unwrap_or_default();
            s.in_window.clear();
            s.in_window.reserve(in_window);
            s.across_windows.clear();
            s.across_windows.reserve(across);
            s
        })
        .collect()
}

/// Empty lists with room for `counts`, in the memory of `spare` where there is one.
fn reserved_lists(spare: Vec<Vec<u32>>, counts: &[usize]) -> Vec<Vec<u32>> {
    let mut spare = spare.into_iter();
    counts
        .iter()
        .map(|&n| {
            let mut list = spare.next().unwrap_or_default();
            list.clear();
            list.reserve(n);
            list
        })
        .collect()
}

/// A number as a person reads it: integers without a fraction, others with up to 3 decimals.
pub fn format_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handlers::builtin::{Builtin, BuiltinSpec};

    #[test]
    fn thinning_keeps_peaks_and_resets() {
        let pts: Vec<SeriesPoint> = (0..10_000)
            .map(|k| SeriesPoint {
                t_s: k as f64,
                value: (k % 500) as f64,
                inv: k,
            })
            .collect();
        let d = thin(&pts, 400);
        assert!(d.len() <= 402);
        assert!(d.iter().any(|p| p[1] == 499.0));
        assert!(d.iter().filter(|p| p[1] == 0.0).count() >= 15);
        assert!(d.windows(2).all(|w| w[0][0] <= w[1][0]));
        assert_eq!(thin(&pts[..10], 400).len(), 10);
    }

    #[test]
    fn fit_leaves_out_a_grace_tail_longer_than_half_the_records() {
        let idx = |t_last_record, t_max| RunIndex {
            t_min: 0,
            t_max,
            t_last_record,
            ..RunIndex::default()
        };
        // Records for 90 s, the last final 120 s of grace after them: fit stops 30 s after.
        assert_eq!(idx(90_000, 210_000).fit_range(30_000), (0, 120_000));
        // A short tail is shown whole.
        assert_eq!(idx(90_000, 130_000).fit_range(30_000), (0, 130_000));
        // Never past the end, and never less than the minimum tail after the records.
        assert_eq!(idx(1_000, 200_000).fit_range(30_000), (0, 31_000));
        assert_eq!(idx(1_000, 20_000).fit_range(30_000), (0, 20_000));
    }

    /// An index built into a replaced index's memory (another scenario's: other shards, more
    /// points) holds what a fresh one does.
    #[test]
    fn an_index_built_into_a_replaced_ones_memory_is_the_fresh_index() {
        let built = |id: &str| {
            let scenario = crate::scenarios::by_id(id).unwrap();
            let stream = scenario.stream.build(Default::default());
            let mut h = Builtin::new(BuiltinSpec::parse(&scenario.handler).unwrap());
            let trace = crate::sim::simulate(&stream, &scenario.settings, &mut h).unwrap();
            (stream, trace)
        };
        let (stream, trace) = built("running-total");
        let (old_stream, old_trace) = built("skewed");
        let old = RunIndex::build(&old_stream, &old_trace);
        assert!(old.series.iter().map(|s| s.in_window.len()).sum::<usize>() > 0);
        let fresh = RunIndex::build(&stream, &trace);
        let reused = RunIndex::build_reusing(&stream, &trace, old);
        assert_eq!(reused.by_shard, fresh.by_shard);
        assert_eq!(reused.delivered_by, fresh.delivered_by);
        assert_eq!(reused.finals, fresh.finals);
        assert_eq!(reused.series, fresh.series);
        assert_eq!(reused.thinned, fresh.thinned);
        assert_eq!((reused.t_min, reused.t_max), (fresh.t_min, fresh.t_max));
        assert_eq!(reused.paths, fresh.paths);
    }

    #[test]
    fn series_reset_per_window_and_accumulate_across() {
        let scenario = crate::scenarios::by_id("running-total").unwrap();
        let stream = scenario.stream.build(Default::default());
        let mut h = Builtin::new(BuiltinSpec::parse(&scenario.handler).unwrap());
        let trace = crate::sim::simulate(&stream, &scenario.settings, &mut h).unwrap();
        let idx = RunIndex::build(&stream, &trace);
        assert_eq!(idx.paths, ["sales"]);
        let s = &idx.series[0];
        let at_finals: Vec<f64> = s
            .across_windows
            .iter()
            .filter(|p| trace.invocations[p.inv as usize].kind == Kind::Final)
            .map(|p| p.value)
            .collect();
        assert_eq!(at_finals, [6.0, 18.0, 28.0, 32.0]);
        let peaks: Vec<f64> = s
            .in_window
            .windows(2)
            .filter(|w| w[1].value == 0.0)
            .map(|w| w[0].value)
            .collect();
        assert_eq!(peaks, [6.0, 12.0, 10.0, 4.0]);
        assert!(idx.delivered_by.iter().all(|&d| d != u32::MAX));
        assert_eq!(idx.finals.len(), 4);

        let mut carry = scenario.settings.clone();
        carry.carry_state_across_windows = true;
        let mut h = Builtin::new(BuiltinSpec::parse(&scenario.handler).unwrap());
        let trace = crate::sim::simulate(&stream, &carry, &mut h).unwrap();
        let idx = RunIndex::build(&stream, &trace);
        let at_finals: Vec<f64> = idx.series[0]
            .across_windows
            .iter()
            .filter(|p| trace.invocations[p.inv as usize].kind == Kind::Final)
            .map(|p| p.value)
            .collect();
        assert_eq!(at_finals, [6.0, 18.0, 28.0, 32.0]);
    }
}
