//! What the stream's dynamics leave on a lane besides invocations: records the filters
//! dropped (small rings under the records row, the patterns on hover), records the mapping
//! never read (a veiled stretch with the reason), and the mapping's start across all lanes.

use egui::{Rect, Stroke, pos2};

use super::{Lane, Picks, Scene};
use crate::app::session::Run;

/// Records the filters dropped on this lane: a ring per pixel column at most.
pub(super) fn filtered_ui(scene: &Scene, lane: &Lane, picks: &mut Picks) {
    let run = scene.run;
    if run.dropped.is_empty() {
        return;
    }
    let src = &run.source;
    let Some(range) = src.shards.get(lane.shard).map(|s| s.range.clone()) else {
        return;
    };
    let dropped = &run.dropped[..];
    let lo = dropped.partition_point(|&r| (r as usize) < range.start);
    let hi = dropped.partition_point(|&r| (r as usize) < range.end);
    let mine = &dropped[lo..hi];
    let (t0, t1) = scene.view.range_ms();
    let ts = |r: &u32| src.ts_ms[*r as usize];
    let mut at = mine.partition_point(|r| ts(r) < t0);
    let end = mine.partition_point(|r| ts(r) <= t1);
    let y = lane.records.bottom() - 2.5;
    let stroke = Stroke::new(1.0, scene.pal.dim);
    let mut hovered = None;
    while at < end {
        let x = scene
            .view
            .x_from_time(ts(&mine[at]) as f64, scene.left, scene.width);
        scene.painter.circle_stroke(pos2(x, y), 2.0, stroke);
        if let Some(p) = scene.pointer
            && (p.x - x).abs() <= 3.0
            && (p.y - y).abs() <= 4.0
        {
            hovered = Some(mine[at]);
        }
        let next_t = scene
            .view
            .time_from_x(x.floor() + 2.0, scene.left, scene.width);
        at = super::search::gallop(mine, at + 1, |r| (ts(r) as f64) < next_t).min(end);
    }
    if let Some(r) = hovered {
        picks.hover = Some(filtered_tooltip(run, r as usize));
    }
}

fn filtered_tooltip(run: &Run, i: usize) -> String {
    let patterns = run.spec.settings.filters.join("\n  ");
    let payload = crate::app::panels::payload_text(&run.source, i, 120);
    format!(
        "filtered out: no FilterCriteria pattern matched this record\n  {patterns}\nkey {}  {}\n{payload}",
        run.source.partition_key(i),
        crate::model::arrival_iso(run.source.source, run.source.ts_ms[i]),
    )
}

/// Stretches of records the mapping never read on this lane, veiled, with why on hover.
pub(super) fn unread_ui(scene: &Scene, lane: &Lane, picks: &mut Picks) {
    let run = scene.run;
    for u in run
        .trace
        .unread
        .iter()
        .filter(|u| u.shard as usize == lane.shard)
    {
        let (a, b) = (u.records.start as usize, u.records.end as usize);
        if a >= b {
            continue;
        }
        let x0 = scene
            .view
            .x_from_time(run.stream.ts_ms[a] as f64, scene.left, scene.width);
        let x1 = scene
            .view
            .x_from_time(run.stream.ts_ms[b - 1] as f64, scene.left, scene.width)
            .max(x0 + 2.0);
        let r = Rect::from_min_max(
            pos2(x0 - 1.0, lane.records.top()),
            pos2(x1 + 1.0, lane.records.bottom()),
        );
        scene
            .painter
            .rect_filled(r, 1.0, scene.pal.lane.gamma_multiply(0.75));
        scene.painter.rect_stroke(
            r,
            1.0,
            Stroke::new(1.0, scene.pal.dim),
            egui::StrokeKind::Inside,
        );
        if scene.pointer.is_some_and(|p| r.contains(p)) {
            picks.hover = Some(format!(
                "{} record(s) not read: {}",
                b - a,
                u.reason.describe()
            ));
        }
    }
}

/// The mapping's start, when the setup gives one (a backlog before a deploy): a dashed line
/// across the lanes, named at the top.
pub(super) fn mapping_start_ui(scene: &Scene, canvas: Rect, picks: &mut Picks) {
    let s = &scene.run.spec.settings;
    let Some(t) = s.mapping_start_ms else { return };
    let x = scene.view.x_from_time(t as f64, scene.left, scene.width);
    if x < canvas.left() || x > canvas.right() {
        return;
    }
    let color = scene.pal.warn;
    scene.painter.extend(egui::Shape::dashed_line(
        &[pos2(x, canvas.top()), pos2(x, canvas.bottom())],
        Stroke::new(1.5, color),
        6.0,
        4.0,
    ));
    scene.painter.text(
        pos2(x + 4.0, canvas.top() + 2.0),
        egui::Align2::LEFT_TOP,
        format!("mapping starts ({})", s.starting_position.api_name()),
        egui::FontId::proportional(11.0),
        color,
    );
    if scene.pointer.is_some_and(|p| (p.x - x).abs() <= 4.0) {
        picks.hover = Some(format!(
            "The event source mapping starts at {} reading from {}: records before it are the backlog (TRIM_HORIZON reads them, LATEST skips them)",
            crate::model::iso_millis(t),
            s.starting_position.api_name()
        ));
    }
}

/// Cold starts (a user handler's new execution environment): a dot at the start of the box,
/// the environment on hover.
pub(super) fn cold_starts_ui(scene: &Scene, lane: &Lane, picks: &mut Picks) {
    let run = scene.run;
    let invs = &run.trace.invocations;
    // The index's cold starts of this shard: a few per environment, not every invocation.
    let Some(list) = run.index.cold_by_shard.get(lane.shard) else {
        return;
    };
    let (t0, t1) = scene.view.range_ms();
    let from = list.partition_point(|&k| invs[k as usize].end_ms < t0);
    let y = lane.invocations.top() + 3.0;
    for &k in &list[from..] {
        let inv = &invs[k as usize];
        if inv.start_ms > t1 {
            break;
        }
        let x = scene
            .view
            .x_from_time(inv.start_ms as f64, scene.left, scene.width);
        scene
            .painter
            .circle_filled(pos2(x + 3.0, y), 3.0, scene.pal.record_done);
        scene
            .painter
            .circle_stroke(pos2(x + 3.0, y), 3.0, Stroke::new(1.0, scene.pal.lane));
        if scene
            .pointer
            .is_some_and(|p| (p.x - x - 3.0).abs() <= 4.0 && (p.y - y).abs() <= 4.0)
        {
            picks.hover = Some(format!(
                "invocation {}: cold start — a new execution environment{}",
                inv.n,
                inv.environment()
                    .map_or(String::new(), |e| format!(" (environment {e})"))
            ));
        }
    }
}

/// Resharding: a child lane is veiled before its parents closed (the shard did not exist), and
/// a line joins each parent to its child at that moment.
pub(super) fn lineage_ui(scene: &Scene, canvas: Rect, lane_h: f32, picks: &mut Picks) {
    let shards = &scene.run.stream.shards;
    for (c, child) in shards.iter().enumerate() {
        let Some(split) = child
            .parents
            .iter()
            .filter_map(|&p| shards.get(p as usize)?.closed_ms)
            .max()
        else {
            continue;
        };
        let lane = Lane::new(canvas, c, lane_h);
        let x = scene
            .view
            .x_from_time(split as f64, scene.left, scene.width)
            .clamp(canvas.left(), canvas.right());
        let before = Rect::from_min_max(
            pos2(canvas.left(), lane.area.top()),
            pos2(x, lane.area.bottom()),
        );
        scene
            .painter
            .rect_filled(before, 0.0, scene.pal.lane.gamma_multiply(0.8));
        for &p in &child.parents {
            let from = Lane::new(canvas, p as usize, lane_h).area.center().y;
            let to = lane.area.center().y;
            let stroke = Stroke::new(1.5, scene.pal.boundary);
            scene
                .painter
                .line_segment([pos2(x, from), pos2(x, to)], stroke);
            scene
                .painter
                .circle_filled(pos2(x, to), 3.0, scene.pal.boundary);
        }
        if scene.pointer.is_some_and(|p| before.contains(p)) {
            let parents: Vec<String> = child.parents.iter().map(|p| format!("#{p}")).collect();
            picks.hover = Some(format!(
                "{} begins at {}, when {} closed (resharding); Lambda reads a child only after its parents are read to their end",
                child.id,
                crate::model::clock_millis(split),
                parents.join(" and ")
            ));
        }
    }
}
