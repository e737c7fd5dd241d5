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
        invocation_density_ui(
            &scene.painter,
            view,
            left,
            width,
            lane.invocations,
            visible.iter().map(|&k| &invs[k as usize]),
            scene.pal,
        );
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

fn invocation_density_ui<'a>(
    painter: &egui::Painter,
    view: &TimeView,
    left: f32,
    width: f32,
    row: Rect,
    invs: impl Iterator<Item = &'a Invocation>,
    pal: &Palette,
) {
    let cols = width.ceil() as usize + 1;
    // Per column, the most notable kind: failed > early > final > aggregate.
    let mut rank = vec![0u8; cols];
    for inv in invs {
        let r = match (inv.status, inv.kind) {
            (Status::Failed, _) => 4,
            (_, Kind::Early) => 3,
            (_, Kind::Final) => 2,
            _ => 1,
        };
        let x0 = view.x_from_time(inv.start_ms as f64, left, width) - left;
        let x1 = view.x_from_time(inv.end_ms as f64, left, width) - left;
        let c0 = (x0.max(0.0) as usize).min(cols - 1);
        let c1 = (x1.max(0.0) as usize).min(cols - 1);
        for c in rank.iter_mut().take(c1 + 1).skip(c0) {
            *c = (*c).max(r);
        }
    }
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
