//! What is drawn behind the lanes: the tumbling windows (shading, boundaries, labels) and the
//! clock axis above them.

use egui::{Align2, Color32, FontId, Rect, Stroke, pos2};

use super::view::{TimeView, tick_step_ms};
use crate::app::session::Run;
use crate::app::theme::Palette;
use crate::model::Window;

/// Alternate shading and boundary lines of the tumbling windows.
pub(super) fn windows_ui(
    painter: &egui::Painter,
    run: &Run,
    view: &TimeView,
    canvas: Rect,
    pal: &Palette,
) {
    let Some(len) = run.spec.settings.window_ms() else {
        return;
    };
    let (left, width) = (canvas.left(), canvas.width());
    let (t0, t1) = view.range_ms();
    let first = Window::containing(t0, len).start_ms;
    let count = (t1 - first) / len + 1;
    // Too many windows to tell apart: shading every other one would just be noise.
    if count as f32 > width / 3.0 {
        return;
    }
    let label_every = ((100.0 / (width / count.max(1) as f32)).ceil() as i64).max(1);
    // Never over the shard labels, whatever lies left of the view.
    let painter = painter.with_clip_rect(Rect::from_min_max(
        pos2(left, canvas.top() - 14.0),
        canvas.max,
    ));
    for k in 0..=count {
        let start = first + k * len;
        let x0 = view.x_from_time(start as f64, left, width);
        let x1 = view.x_from_time((start + len) as f64, left, width);
        if (start / len).rem_euclid(2) == 1 {
            painter.rect_filled(
                Rect::from_min_max(pos2(x0, canvas.top()), pos2(x1, canvas.bottom())),
                0.0,
                pal.window_shade,
            );
        }
        let labelled = (start / len).rem_euclid(label_every) == 0;
        // Only a labelled boundary rises into the label row, so no line strikes a label through.
        let top = if labelled {
            canvas.top() - 12.0
        } else {
            canvas.top()
        };
        painter.line_segment(
            [pos2(x0, top), pos2(x0, canvas.bottom())],
            Stroke::new(1.0, pal.boundary),
        );
        if labelled && x0 >= left - 1.0 {
            painter.text(
                pos2(x0 + 3.0, canvas.top() - 12.0),
                Align2::LEFT_TOP,
                format!("window {}", crate::model::clock_seconds(start)),
                FontId::proportional(10.0),
                pal.dim,
            );
        }
    }
}

/// Clock labels whose precision follows the zoom.
pub(super) fn axis_ui(
    painter: &egui::Painter,
    view: &TimeView,
    full: Rect,
    canvas: Rect,
    pal: &Palette,
    text: Color32,
) {
    let (left, width) = (canvas.left(), canvas.width());
    let step = tick_step_ms(view, width, 90.0);
    let (t0, t1) = view.range_ms();
    let first = t0.div_euclid(step) * step;
    let mut t = first;
    let y = full.top() + 2.0;
    while t <= t1 + step {
        let x = view.x_from_time(t as f64, left, width);
        if x >= left - 1.0 && x <= canvas.right() + 1.0 {
            painter.line_segment(
                [pos2(x, full.top() + 14.0), pos2(x, full.top() + 20.0)],
                Stroke::new(1.0, pal.dim),
            );
            let label = if step < 1000 {
                crate::model::clock_millis(t)
            } else if step >= 86_400_000 {
                crate::model::iso_seconds(t)[..10].to_owned()
            } else {
                crate::model::clock_seconds(t)
            };
            painter.text(
                pos2(x, y),
                Align2::CENTER_TOP,
                label,
                FontId::proportional(11.0),
                text,
            );
        }
        t += step;
    }
    painter.text(
        pos2(full.left() + 6.0, y),
        Align2::LEFT_TOP,
        format!("UTC {}", &crate::model::iso_seconds(t0)[..10]),
        FontId::proportional(11.0),
        pal.dim,
    );
}
