//! The overview strip: the whole run, from its first record to its last invocation, as a
//! density of invocations per pixel column, with the timeline's visible range framed. A click
//! or drag on the strip moves the view there (keeping its zoom).

use egui::{Rect, Sense, Stroke, StrokeKind, Ui, pos2, vec2};

use super::view::TimeView;
use crate::app::command::AppCommand;
use crate::app::session::Run;
use crate::app::theme::Palette;

/// Height of the strip.
pub const OVERVIEW_H: f32 = 18.0;

/// Draws the strip across the timeline's time canvas (`left`, `width`), under `label_w` of
/// label column.
pub fn overview_ui(
    ui: &mut Ui,
    run: &Run,
    view: TimeView,
    label_w: f32,
    cmds: &mut Vec<AppCommand>,
) {
    let pal = Palette::of(ui.visuals());
    let (full, response) = ui.allocate_exact_size(
        vec2(ui.available_width(), OVERVIEW_H),
        Sense::click_and_drag(),
    );
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Canvas, true, "Overview"));
    let strip = Rect::from_min_max(pos2(full.left() + label_w, full.top()), full.max);
    let whole = TimeView::fit(run.index.t_min, run.index.t_max.max(run.index.t_min + 1));
    let painter = ui.painter_at(full);
    painter.text(
        pos2(full.left() + 4.0, full.center().y),
        egui::Align2::LEFT_CENTER,
        "whole run",
        egui::FontId::proportional(11.0),
        pal.dim,
    );
    painter.rect_filled(strip, 2.0, pal.lane);
    density_ui(&painter, run, &whole, strip, &pal);
    // The visible range, clamped to the strip so a view past either end still shows.
    let (t0, t1) = view.range_ms();
    let x0 = whole
        .x_from_time(t0 as f64, strip.left(), strip.width())
        .max(strip.left());
    let x1 = whole
        .x_from_time(t1 as f64, strip.left(), strip.width())
        .min(strip.right())
        .max(x0 + 2.0);
    let frame = Rect::from_min_max(pos2(x0, strip.top()), pos2(x1, strip.bottom()));
    painter.rect_filled(frame, 2.0, pal.window_shade);
    painter.rect_stroke(
        frame,
        2.0,
        Stroke::new(1.5, pal.playhead),
        StrokeKind::Inside,
    );
    let pointer = response
        .interact_pointer_pos()
        .filter(|p| strip.contains(*p) || response.dragged());
    if let Some(p) = pointer.filter(|_| response.clicked() || response.dragged()) {
        let t = whole.time_from_x(
            p.x.clamp(strip.left(), strip.right()),
            strip.left(),
            strip.width(),
        );
        cmds.push(AppCommand::SetView(Some(TimeView {
            min_ms: t - view.span_ms / 2.0,
            span_ms: view.span_ms,
        })));
    }
}

/// Invocations starting in each pixel column (all shards), as bars on a square-root scale so
/// a sparse stretch stays visible next to a dense one. The strip always shows the whole run,
/// so its counts depend only on the run and the strip's width: found once (one binary search
/// per column and shard, each probing a random invocation, was most of a frame with millions
/// of them) and kept in egui's memory until either changes.
fn density_ui(painter: &egui::Painter, run: &Run, whole: &TimeView, strip: Rect, pal: &Palette) {
    let cols = strip.width().max(1.0) as usize;
    let id = egui::Id::unique(("overview-density", run.generation, cols));
    let cached = painter
        .ctx()
        .memory_mut(|m| m.data.get_temp::<std::sync::Arc<Vec<usize>>>(id));
    let counts = cached.unwrap_or_else(|| {
        let counts = std::sync::Arc::new(density(run, whole, strip));
        painter
            .ctx()
            .memory_mut(|m| m.data.insert_temp(id, counts.clone()));
        counts
    });
    bars_ui(painter, &counts, strip, pal);
}

/// Invocations starting in each pixel column of `strip`.
fn density(run: &Run, whole: &TimeView, strip: Rect) -> Vec<usize> {
    let invs = &run.trace.invocations;
    let cols = strip.width().max(1.0) as usize;
    let mut counts = vec![0usize; cols];
    for list in &run.index.by_shard {
        let mut lo = 0;
        for (c, count) in counts.iter_mut().enumerate() {
            let t_end =
                whole.time_from_x(strip.left() + c as f32 + 1.0, strip.left(), strip.width());
            let hi =
                lo + list[lo..].partition_point(|&k| (invs[k as usize].start_ms as f64) < t_end);
            *count += hi - lo;
            lo = hi;
        }
    }
    counts
}

fn bars_ui(painter: &egui::Painter, counts: &[usize], strip: Rect, pal: &Palette) {
    let max = counts.iter().copied().max().unwrap_or(0).max(1) as f32;
    let mut mesh = egui::Mesh::default();
    for (c, &n) in counts.iter().enumerate() {
        if n == 0 {
            continue;
        }
        let h = (strip.height() - 2.0) * (n as f32 / max).sqrt().max(0.2);
        let x = strip.left() + c as f32;
        mesh.add_colored_rect(
            Rect::from_min_max(
                pos2(x, strip.bottom() - 1.0 - h),
                pos2(x + 1.0, strip.bottom() - 1.0),
            ),
            pal.aggregate,
        );
    }
    painter.add(egui::Shape::mesh(mesh));
}
