//! The records row of a lane: one mark per record at its arrival time, or a density strip when
//! there are more records than pixels.

use egui::{Rect, Shape, Stroke, pos2};

use super::view::TimeView;
use super::{BIN_BELOW_PX_PER_ITEM, Lane, Picks, Scene};
use crate::app::session::Run;
use crate::app::theme::Palette;
use crate::sim::trace::Invocation;

/// Draws the visible records of one lane; records already delivered by the selected invocation
/// (or before it) in the "done" colour, those it delivers highlighted.
pub(super) fn records_ui(scene: &Scene, lane: &Lane, selected: Option<u32>, picks: &mut Picks) {
    let (run, view, left, width) = (scene.run, &scene.view, scene.left, scene.width);
    let (t0, t1) = view.range_ms();
    let range = run.stream.shards[lane.shard].range.clone();
    let ts = &run.stream.ts_ms[range.clone()];
    let lo = range.start + ts.partition_point(|&t| t < t0);
    let hi = range.start + ts.partition_point(|&t| t <= t1);
    let processed_upto = selected.map_or(0, |sel| {
        range.start
            + run.index.delivered_by[range.clone()].partition_point(|&d| d != u32::MAX && d <= sel)
    });
    pointer_ui(scene, lane, lo..hi, picks);
    let px_per_item = f64::from(width) / (hi - lo).max(1) as f64;
    if px_per_item < BIN_BELOW_PX_PER_ITEM {
        density_ui(
            &scene.painter,
            view,
            left,
            width,
            lane.records,
            &run.stream.ts_ms[lo..hi],
            processed_upto.saturating_sub(lo),
            scene.pal,
        );
        return;
    }
    let sel_range = selected
        .and_then(|k| run.trace.invocations.get(k as usize))
        .filter(|i| i.shard as usize == lane.shard)
        .map(Invocation::record_range);
    let row = lane.records;
    for i in lo..hi {
        let x = view.x_from_time(run.stream.ts_ms[i] as f64, left, width);
        let in_sel = sel_range.as_ref().is_some_and(|r| r.contains(&i));
        let color = if in_sel {
            scene.pal.playhead
        } else if i < processed_upto {
            scene.pal.record_done
        } else {
            scene.pal.record_waiting
        };
        let (y0, y1) = if in_sel {
            (row.top(), row.bottom())
        } else {
            (row.top() + row.height() * 0.2, row.bottom())
        };
        scene.painter.line_segment(
            [pos2(x, y0), pos2(x, y1)],
            Stroke::new(if in_sel { 2.5 } else { 1.5 }, color),
        );
    }
}

/// The record under the pointer (within a few points): its tooltip on hover, and on a click
/// the invocation that delivered it (not the one running at that time, which is usually an
/// earlier batch: records wait for the next poll).
fn pointer_ui(scene: &Scene, lane: &Lane, visible: std::ops::Range<usize>, picks: &mut Picks) {
    let (run, view) = (scene.run, &scene.view);
    let Some(p) = scene
        .pointer
        .filter(|p| lane.records.expand(2.0).contains(*p))
    else {
        return;
    };
    let t = view.time_from_x(p.x, scene.left, scene.width);
    let tol = view.ms_per_point(scene.width) * 4.0;
    let near = nearest(&run.stream.ts_ms[visible.clone()], t).map(|k| visible.start + k);
    let Some(i) = near.filter(|&i| (run.stream.ts_ms[i] as f64 - t).abs() <= tol) else {
        return;
    };
    picks.hover = Some(record_tooltip(run, i));
    if scene.clicked && run.index.delivered_by[i] != u32::MAX {
        picks.clicked = Some(run.index.delivered_by[i]);
    }
}

/// The search's matches on this lane: a small triangle above each (one per pixel column where
/// they crowd), so a thousand matches cost what the width does.
pub(super) fn found_ui(scene: &Scene, lane: &Lane) {
    let (run, view) = (scene.run, &scene.view);
    let range = &run.stream.shards[lane.shard].range;
    let found = scene.found;
    let lo = found.partition_point(|&r| (r as usize) < range.start);
    let hi = found.partition_point(|&r| (r as usize) < range.end);
    let mine = &found[lo..hi];
    let (t0, t1) = view.range_ms();
    let ts = |r: &u32| run.stream.ts_ms[*r as usize];
    let mut at = mine.partition_point(|r| ts(r) < t0);
    let end = mine.partition_point(|r| ts(r) <= t1);
    let y = lane.records.top();
    let mut mesh = egui::Mesh::default();
    while at < end {
        let x = view.x_from_time(ts(&mine[at]) as f64, scene.left, scene.width);
        let (a, b, c) = (
            pos2(x - 3.5, y - 3.0),
            pos2(x + 3.5, y - 3.0),
            pos2(x, y + 3.0),
        );
        let base = mesh.vertices.len() as u32;
        for p in [a, b, c] {
            mesh.colored_vertex(p, scene.pal.playhead);
        }
        mesh.add_triangle(base, base + 1, base + 2);
        // Skip to the next pixel column.
        let next_t = view.time_from_x(x.floor() + 1.0, scene.left, scene.width);
        at = super::search::gallop(mine, at + 1, |r| (ts(r) as f64) < next_t).min(end);
    }
    scene.painter.add(Shape::mesh(mesh));
}

/// Index of the value in a sorted slice nearest to `t`.
fn nearest(ts: &[i64], t: f64) -> Option<usize> {
    if ts.is_empty() {
        return None;
    }
    let p = ts.partition_point(|&x| (x as f64) < t);
    let candidates = [p.checked_sub(1), (p < ts.len()).then_some(p)];
    candidates.into_iter().flatten().min_by(|&a, &b| {
        (ts[a] as f64 - t)
            .abs()
            .total_cmp(&(ts[b] as f64 - t).abs())
    })
}

/// Records binned per pixel column. Each column's count comes from a binary search on the
/// (sorted) timestamps, so the cost follows the number of columns, not of records: a million
/// records cost about what a thousand do.
#[allow(clippy::too_many_arguments)]
fn density_ui(
    painter: &egui::Painter,
    view: &TimeView,
    left: f32,
    width: f32,
    row: Rect,
    ts: &[i64],
    processed: usize,
    pal: &Palette,
) {
    let cols = width.ceil() as usize;
    let mut counts = Vec::with_capacity(cols);
    let mut lo = 0usize;
    for c in 0..cols {
        let t_end = view.time_from_x(left + c as f32 + 1.0, left, width);
        let hi = super::search::gallop(ts, lo, |&x| (x as f64) < t_end);
        counts.push((lo, hi));
        lo = hi;
    }
    // Whatever is left (rounding at the right edge) joins the last column.
    if let Some(last) = counts.last_mut() {
        last.1 = ts.len();
    }
    let max = counts.iter().map(|(a, b)| b - a).max().unwrap_or(1).max(1) as f32;
    let mut mesh = egui::Mesh::default();
    for (c, &(a, b)) in counts.iter().enumerate() {
        let total = b - a;
        if total == 0 {
            continue;
        }
        let done = processed.clamp(a, b) - a;
        // Square root keeps sparse columns visible next to dense ones.
        let h = row.height() * (total as f32 / max).sqrt().max(0.15);
        let color = if done * 2 >= total {
            pal.record_done
        } else {
            pal.record_waiting
        };
        let x = left + c as f32;
        mesh.add_colored_rect(
            Rect::from_min_max(pos2(x, row.bottom() - h), pos2(x + 1.0, row.bottom())),
            color,
        );
    }
    painter.add(Shape::mesh(mesh));
}

fn record_tooltip(run: &Run, i: usize) -> String {
    let payload = crate::app::panels::payload_text(&run.stream, i, 160);
    let state = match run.index.delivered_by[i] {
        u32::MAX => "not delivered".to_owned(),
        k => format!("delivered by invocation {} (click to select it)", k + 1),
    };
    format!(
        "record {}\nsequence  {}\narrival   {}\nkey       {}\n{payload}\n{state}",
        i - run.stream.shards[run.stream.shard_of(i)].range.start + 1,
        run.stream.seq(i),
        crate::model::arrival_iso(run.stream.source, run.stream.ts_ms[i]),
        run.stream.partition_key(i),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_picks_the_closest_mark() {
        let ts = [10, 20, 40];
        assert_eq!(nearest(&ts, 0.0), Some(0));
        assert_eq!(nearest(&ts, 26.0), Some(1));
        assert_eq!(nearest(&ts, 31.0), Some(2));
        assert_eq!(nearest(&ts, 99.0), Some(2));
        assert_eq!(nearest(&[], 1.0), None);
    }
}
