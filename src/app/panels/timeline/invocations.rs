//! The invocations row of a lane: one box per invocation over its processing time, finals and
//! early terminations marked, or a strip of the most notable kind per pixel column when dense.

use egui::{Color32, Rect, Shape, Stroke, StrokeKind, pos2, vec2};

use super::view::TimeView;
use super::{BIN_BELOW_PX_PER_ITEM, Lane, Picks, Scene};
use crate::app::session::Run;
use crate::app::theme::Palette;
use crate::sim::trace::{Invocation, Kind, Status};

/// Draws the visible invocations of one lane and notes the one under the pointer.
pub(super) fn invocations_ui(scene: &Scene, lane: &Lane, picks: &mut Picks) {
    let (run, view, left, width) = (scene.run, &scene.view, scene.left, scene.width);
    let (t0, t1) = view.range_ms();
    let list = &run.index.by_shard[lane.shard];
    let invs = &run.trace.invocations;
    let a = list.partition_point(|&k| invs[k as usize].end_ms < t0);
    let b = list.partition_point(|&k| invs[k as usize].start_ms <= t1);
    let visible = &list[a..b.max(a)];
    if f64::from(width) / visible.len().max(1) as f64 <= BIN_BELOW_PX_PER_ITEM {
        // Most notable first: a column a failure or a final already claims needs no search in
        // the (much longer) list of every invocation.
        let mut rank = vec![0u8; width.ceil() as usize + 1];
        let ranked = &run.index.ranked_by_shard[lane.shard];
        for (r, list) in ranked.iter().enumerate().rev() {
            mark_columns(view, left, width, invs, list, r as u8 + 2, &mut rank);
        }
        mark_columns(view, left, width, invs, visible, 1, &mut rank);
        invocation_density_ui(&scene.painter, left, lane.invocations, &rank, scene.pal);
        return;
    }
    // Aggregates first, then finals, early terminations and failures on top, so the rare,
    // important boxes are never hidden in a dense lane.
    for pass in 0..2 {
        for &k in visible {
            let inv = &invs[k as usize];
            let notable = inv.kind != Kind::Aggregate || inv.status != Status::Ok;
            if notable != (pass == 1) {
                continue;
            }
            let r = invocation_box_ui(scene, lane.invocations, inv, notable);
            if let Some(p) = scene.pointer
                && r.expand2(vec2(2.0, 0.0)).contains(p)
            {
                picks.hover = Some(invocation_tooltip(run, inv));
                if scene.clicked {
                    picks.clicked = Some(k);
                }
            }
        }
    }
}

/// One invocation's box (a line when narrower than two points), its retry outline and, for
/// finals and early terminations, a marker above it. Returns the box.
fn invocation_box_ui(scene: &Scene, row: Rect, inv: &Invocation, notable: bool) -> Rect {
    let (painter, pal) = (&scene.painter, scene.pal);
    let r = invocation_rect(&scene.view, scene.left, scene.width, row, inv);
    let color = invocation_color(inv, pal);
    if r.width() < 2.0 {
        painter.line_segment([r.center_top(), r.center_bottom()], Stroke::new(1.0, color));
    } else {
        painter.rect_filled(r, 1.0, color);
    }
    if inv.is_retry() {
        painter.rect_stroke(r, 1.0, Stroke::new(1.5, pal.retry), StrokeKind::Inside);
    }
    if notable && inv.kind != Kind::Aggregate {
        // A marker above the box: finals and early terminations read at a glance.
        let c = pos2(r.center().x, r.top() - 1.0);
        painter.add(Shape::convex_polygon(
            vec![pos2(c.x - 4.0, c.y - 5.0), pos2(c.x + 4.0, c.y - 5.0), c],
            color,
            Stroke::NONE,
        ));
    }
    r
}

pub(super) fn invocation_rect(
    view: &TimeView,
    left: f32,
    width: f32,
    row: Rect,
    inv: &Invocation,
) -> Rect {
    let x0 = view.x_from_time(inv.start_ms as f64, left, width);
    let x1 = view
        .x_from_time(inv.end_ms as f64, left, width)
        .max(x0 + 1.0);
    let (y0, y1) = match inv.kind {
        Kind::Aggregate => (row.top(), row.bottom()),
        // Finals and early terminations are drawn taller so they stand out in a dense lane.
        _ => (row.top() - 3.0, row.bottom() + 2.0),
    };
    Rect::from_min_max(pos2(x0, y0), pos2(x1, y1))
}

/// Fill colour by kind and status.
fn invocation_color(inv: &Invocation, pal: &Palette) -> Color32 {
    match (inv.status, inv.kind) {
        (Status::Failed, _) => pal.failed,
        (_, Kind::Final) => pal.final_,
        (_, Kind::Early) => pal.early,
        (Status::Partial, _) => pal.retry,
        _ => pal.aggregate,
    }
}

/// Sets `rank` in every pixel column still unmarked (0) where one of `list`'s invocations (of
/// one shard, in start order, so in end order too) overlaps the column. One galloping search
/// per unmarked column: the cost follows the width, not the number of invocations.
pub(super) fn mark_columns(
    view: &TimeView,
    left: f32,
    width: f32,
    invs: &[Invocation],
    list: &[u32],
    rank: u8,
    out: &mut [u8],
) {
    let mut pos = 0;
    for (c, slot) in out.iter_mut().enumerate() {
        if *slot != 0 {
            continue;
        }
        let lo = view.time_from_x(left + c as f32, left, width);
        let hi = view.time_from_x(left + c as f32 + 1.0, left, width);
        pos = super::search::gallop(list, pos, |&k| (invs[k as usize].end_ms as f64) < lo);
        let Some(&k) = list.get(pos) else { break };
        if (invs[k as usize].start_ms as f64) < hi {
            *slot = rank;
        }
    }
}

/// A dense lane's strip: per pixel column the most notable kind there.
fn invocation_density_ui(
    painter: &egui::Painter,
    left: f32,
    row: Rect,
    rank: &[u8],
    pal: &Palette,
) {
    let mut mesh = egui::Mesh::default();
    for (c, &r) in rank.iter().enumerate() {
        let color = match r {
            0 => continue,
            1 => pal.aggregate,
            2 => pal.final_,
            3 => pal.early,
            _ => pal.failed,
        };
        let x = left + c as f32;
        mesh.add_colored_rect(
            Rect::from_min_max(pos2(x, row.top()), pos2(x + 1.0, row.bottom())),
            color,
        );
    }
    painter.add(Shape::mesh(mesh));
}

fn invocation_tooltip(run: &Run, inv: &Invocation) -> String {
    let mut s = format!(
        "invocation {} of {}: {}{}\n{} to {} ({} ms)\n{} record(s)",
        inv.n,
        run.trace.invocations.len(),
        inv.kind.name(),
        if inv.is_retry() {
            format!(", attempt {}", inv.attempt)
        } else {
            String::new()
        },
        crate::model::clock_millis(inv.start_ms),
        crate::model::clock_millis(inv.end_ms),
        inv.end_ms - inv.start_ms,
        inv.record_count()
    );
    if let Some(e) = inv.error() {
        s.push_str(&format!("\nfailed: {}: {}", e.error_type, e.error_message));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The per-column search marks exactly the columns a pass over every invocation marks.
    #[test]
    fn marked_columns_match_a_pass_over_every_invocation() {
        let stream = crate::generate::generate_stream(
            &crate::generate::GenOptions {
                count: 3_000,
                shards: 2,
                interval_ms: 40.0,
                jitter: 0.6,
                ..Default::default()
            },
            Default::default(),
        );
        let mut h = crate::handlers::builtin::Builtin::new(
            crate::handlers::builtin::BuiltinSpec::parse("builtin:sum:Item.sales").unwrap(),
        );
        let trace = crate::sim::simulate(&stream, &Default::default(), &mut h).unwrap();
        let index = crate::index::RunIndex::build(&stream, &trace);
        let list = &index.by_shard[0];
        let invs = &trace.invocations;
        let full = TimeView::fit(index.t_min, index.t_max);
        let (left, width) = (30.0, 700.0);
        for view in [
            full,
            full.zoom_at(400.0, 3.0, left, width),
            full.zoom_at(100.0, 40.0, left, width).pan(-90.0, width),
        ] {
            let mut got = vec![0u8; width.ceil() as usize + 1];
            // A marked column keeps its mark.
            got[5] = 3;
            mark_columns(&view, left, width, invs, list, 1, &mut got);
            let mut want = vec![0u8; got.len()];
            for &k in list {
                let inv = &invs[k as usize];
                let x0 = view.x_from_time(inv.start_ms as f64, left, width) - left;
                let x1 = view.x_from_time(inv.end_ms as f64, left, width) - left;
                if x1 < 0.0 || x0 >= want.len() as f32 {
                    continue;
                }
                let c0 = (x0.max(0.0) as usize).min(want.len() - 1);
                let c1 = (x1.max(0.0) as usize).min(want.len() - 1);
                want[c0..=c1].fill(1);
            }
            want[5] = 3;
            assert_eq!(got, want);
            assert!(got.contains(&1) && got.contains(&0));
        }
    }
}
