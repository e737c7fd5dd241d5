//! The selected invocation drawn over the lanes: its outline, links to the records it delivers
//! (one bracket when there are too many to tell apart) and the playhead at its start.

use egui::{Rect, Shape, Stroke, StrokeKind, pos2};

use super::invocations::invocation_rect;
use super::{Lane, MAX_LINKS, Scene};
use crate::sim::trace::Invocation;

/// Draws the selection on top of the lanes; `canvas` is the area the playhead spans.
pub(super) fn selection_ui(scene: &Scene, canvas: Rect, lane_h: f32, inv: &Invocation) {
    let (run, view, left, width) = (scene.run, &scene.view, scene.left, scene.width);
    // Clipped at the label column: outline, links and playhead stay off the shard names.
    let painter = scene.painter.with_clip_rect(Rect::from_min_max(
        pos2(left, canvas.top() - 2.0),
        canvas.max + egui::vec2(2.0, 2.0),
    ));
    let (painter, pal) = (&painter, scene.pal);
    let lane = Lane::new(canvas, inv.shard as usize, lane_h);
    let r = invocation_rect(view, left, width, lane.invocations, inv);
    painter.rect_stroke(
        r.expand(1.5),
        2.0,
        Stroke::new(2.0, pal.selected),
        StrokeKind::Outside,
    );
    let range = inv.record_range();
    let anchor = pos2(r.center().x, r.top());
    let bottom = lane.records.bottom();
    if range.len() <= MAX_LINKS {
        for i in range {
            let x = view.x_from_time(run.stream.ts_ms[i] as f64, left, width);
            painter.line_segment(
                [anchor, pos2(x, bottom)],
                Stroke::new(0.7, pal.playhead.gamma_multiply(0.6)),
            );
        }
    } else {
        let x0 = view.x_from_time(run.stream.ts_ms[range.start] as f64, left, width);
        let x1 = view.x_from_time(run.stream.ts_ms[range.end - 1] as f64, left, width);
        let y = bottom + 1.0;
        painter.add(Shape::line(
            vec![
                pos2(x0, y - 4.0),
                pos2(x0, y),
                pos2(x1, y),
                pos2(x1, y - 4.0),
            ],
            Stroke::new(1.5, pal.playhead),
        ));
        painter.line_segment(
            [anchor, pos2((x0 + x1) / 2.0, y)],
            Stroke::new(1.0, pal.playhead),
        );
    }
    // Playhead: where the stream is at this invocation.
    let x = view.x_from_time(inv.start_ms as f64, left, width);
    painter.line_segment(
        [pos2(x, canvas.top()), pos2(x, canvas.bottom())],
        Stroke::new(1.0, pal.playhead),
    );
}
