//! The timeline: one lane per shard, records as marks at their arrival time, invocations as boxes
//! at their processing time, window boundaries, a clock axis and the playhead.
//!
//! ```text
//!  ┌ axis ──────┬──12:00:00──────────12:00:30──────────12:01:00──┐
//!  │ shardId-0  │ ▏▏ ▏▏▏  ▏  ▏▏▏ ▏      records (arrival time)     │
//!  │            │ ▭▭  ▭▭▭ ▭▭      █    invocations (processing)    │
//!  │ shardId-1  │ ...                                              │
//!  └────────────┴──────────────────────────────────────────────────┘
//! ```
//!
//! Everything outside the visible time range is culled by binary search; above about one item
//! per pixel, marks are binned per pixel column instead of drawn one by one.

pub mod view;

use std::borrow::Cow;

use egui::{Align2, Color32, FontId, Rect, Sense, Shape, Stroke, StrokeKind, Ui, pos2, vec2};

use self::view::{TimeView, tick_step_ms};
use crate::app::command::AppCommand;
use crate::app::session::Run;
use crate::app::theme::Palette;
use crate::model::Window;
use crate::sim::trace::{Invocation, Kind, Status};

/// Width of the shard-label column.
const LABEL_W: f32 = 132.0;
/// Height of the time axis.
const AXIS_H: f32 = 34.0;
/// Below this many points per item, marks are binned per pixel column. Drawing each mark costs
/// a shape; a pixel cannot show more than one anyway.
const BIN_BELOW_PX_PER_ITEM: f64 = 1.5;
/// Records of the selected invocation get link lines up to this many; above it, one bracket.
const MAX_LINKS: usize = 400;

/// Draws the timeline and pushes commands for clicks, zoom and pan.
pub fn timeline_ui(
    ui: &mut Ui,
    run: &Run,
    selected: Option<u32>,
    view: Option<TimeView>,
    cmds: &mut Vec<AppCommand>,
) {
    let pal = Palette::of(ui.visuals());
    let full = ui.available_rect_before_wrap();
    let response = ui.allocate_rect(full, Sense::click_and_drag());
    let painter = ui.painter_at(full);
    let canvas = Rect::from_min_max(pos2(full.left() + LABEL_W, full.top() + AXIS_H), full.max);
    let (left, width) = (canvas.left(), canvas.width().max(1.0));
    let view = view.unwrap_or_else(|| TimeView::fit(run.index.t_min, run.index.t_max));

    interact(ui, &response, canvas, view, cmds);

    let n_shards = run.stream.shards.len().max(1);
    let lane_h = (canvas.height() / n_shards as f32).clamp(14.0, 150.0);
    let (t0, t1) = view.range_ms();

    painter.rect_filled(canvas, 0.0, pal.lane);
    windows_ui(&painter, run, &view, canvas, &pal);
    axis_ui(
        &painter,
        &view,
        full,
        canvas,
        &pal,
        ui.visuals().text_color(),
    );

    let selected_inv = selected.and_then(|k| run.trace.invocations.get(k as usize));
    let mut hover: Option<String> = None;
    let pointer = response.hover_pos().filter(|p| canvas.contains(*p));
    let mut clicked: Option<u32> = None;

    for (s, shard) in run.stream.shards.iter().enumerate() {
        let top = canvas.top() + s as f32 * lane_h;
        if top > canvas.bottom() {
            break;
        }
        let lane = Rect::from_min_size(pos2(left, top), vec2(width, lane_h));
        if !ui.is_rect_visible(lane) {
            continue;
        }
        let rec_row = Rect::from_min_size(pos2(left, top + 3.0), vec2(width, lane_h * 0.42));
        let inv_row = Rect::from_min_max(
            pos2(left, rec_row.bottom() + 2.0),
            pos2(lane.right(), lane.bottom() - 4.0),
        );
        painter.line_segment(
            [
                pos2(full.left(), lane.bottom()),
                pos2(lane.right(), lane.bottom()),
            ],
            Stroke::new(1.0, pal.boundary.gamma_multiply(0.5)),
        );
        if lane_h >= 18.0 {
            // Kinesis ids fit whole. Long ids (DynamoDB's creation time and hex suffix) share a
            // prefix, so show the lane number and the part that tells them apart.
            let label = if shard.id.len() > 20 {
                let tail = &shard.id[shard.id.floor_char_boundary(shard.id.len() - 12)..];
                Cow::Owned(format!("#{s} …{tail}"))
            } else {
                Cow::Borrowed(shard.id.as_str())
            };
            painter.text(
                pos2(full.left() + 4.0, top + lane_h * 0.5),
                Align2::LEFT_CENTER,
                label,
                FontId::monospace(10.0),
                ui.visuals().text_color(),
            );
        }

        // Records.
        let range = shard.range.clone();
        let ts = &run.stream.ts_ms[range.clone()];
        let lo = range.start + ts.partition_point(|&t| t < t0);
        let hi = range.start + ts.partition_point(|&t| t <= t1);
        let processed_upto = selected.map_or(0, |sel| {
            range.start
                + run.index.delivered_by[range.clone()]
                    .partition_point(|&d| d != u32::MAX && d <= sel)
        });
        let px_per_item = f64::from(width) / (hi - lo).max(1) as f64;
        if px_per_item < BIN_BELOW_PX_PER_ITEM {
            density_ui(
                &painter,
                &view,
                left,
                width,
                rec_row,
                &run.stream.ts_ms[lo..hi],
                processed_upto.saturating_sub(lo),
                &pal,
            );
        } else {
            let sel_range = selected_inv
                .filter(|i| i.shard as usize == s)
                .map(Invocation::record_range);
            for i in lo..hi {
                let x = view.x_from_time(run.stream.ts_ms[i] as f64, left, width);
                let in_sel = sel_range.as_ref().is_some_and(|r| r.contains(&i));
                let color = if in_sel {
                    pal.playhead
                } else if i < processed_upto {
                    pal.record_done
                } else {
                    pal.record_waiting
                };
                let (y0, y1) = if in_sel {
                    (rec_row.top(), rec_row.bottom())
                } else {
                    (rec_row.top() + rec_row.height() * 0.2, rec_row.bottom())
                };
                painter.line_segment(
                    [pos2(x, y0), pos2(x, y1)],
                    Stroke::new(if in_sel { 2.5 } else { 1.5 }, color),
                );
            }
            if let Some(p) = pointer
                && rec_row.expand(2.0).contains(p)
            {
                let t = view.time_from_x(p.x, left, width);
                let tol = view.ms_per_point(width) * 4.0;
                let near = nearest(&run.stream.ts_ms[lo..hi], t).map(|k| lo + k);
                if let Some(i) = near.filter(|&i| (run.stream.ts_ms[i] as f64 - t).abs() <= tol) {
                    hover = Some(record_tooltip(run, i));
                }
            }
        }

        // Invocations.
        let list = &run.index.by_shard[s];
        let invs = &run.trace.invocations;
        let a = list.partition_point(|&k| invs[k as usize].end_ms < t0);
        let b = list.partition_point(|&k| invs[k as usize].start_ms <= t1);
        let visible = &list[a..b.max(a)];
        if f64::from(width) / visible.len().max(1) as f64 <= BIN_BELOW_PX_PER_ITEM {
            invocation_density_ui(
                &painter,
                &view,
                left,
                width,
                inv_row,
                visible.iter().map(|&k| &invs[k as usize]),
                &pal,
            );
        } else {
            // Aggregates first, then finals, early terminations and failures on top, so the
            // rare, important boxes are never hidden in a dense lane.
            for pass in 0..2 {
                for &k in visible {
                    let inv = &invs[k as usize];
                    let notable = inv.kind != Kind::Aggregate || inv.status != Status::Ok;
                    if notable != (pass == 1) {
                        continue;
                    }
                    let r = invocation_rect(&view, left, width, inv_row, inv);
                    let color = invocation_color(inv, &pal);
                    if r.width() < 2.0 {
                        painter.line_segment(
                            [r.center_top(), r.center_bottom()],
                            Stroke::new(1.0, color),
                        );
                    } else {
                        painter.rect_filled(r, 1.0, color);
                    }
                    if inv.is_retry() {
                        painter.rect_stroke(
                            r,
                            1.0,
                            Stroke::new(1.5, pal.retry),
                            StrokeKind::Inside,
                        );
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
                    if let Some(p) = pointer
                        && r.expand2(vec2(2.0, 0.0)).contains(p)
                    {
                        hover = Some(invocation_tooltip(run, inv));
                        if response.clicked() {
                            clicked = Some(k);
                        }
                    }
                }
            }
        }
        // Clicking a lane away from any box selects the invocation running at that time.
        if clicked.is_none()
            && response.clicked()
            && let Some(p) = pointer
            && lane.contains(p)
        {
            let t = view.time_from_x(p.x, left, width) as i64;
            clicked = run.index.invocation_at(&run.trace, s, t);
        }
    }

    // Selected invocation: outline and links to its records.
    if let Some(inv) = selected_inv {
        let s = inv.shard as usize;
        let top = canvas.top() + s as f32 * lane_h;
        let rec_row = Rect::from_min_size(pos2(left, top + 3.0), vec2(width, lane_h * 0.42));
        let inv_row = Rect::from_min_max(
            pos2(left, rec_row.bottom() + 2.0),
            pos2(left + width, top + lane_h - 4.0),
        );
        let r = invocation_rect(&view, left, width, inv_row, inv);
        painter.rect_stroke(
            r.expand(1.5),
            2.0,
            Stroke::new(2.0, pal.selected),
            StrokeKind::Outside,
        );
        let range = inv.record_range();
        let anchor = pos2(r.center().x, r.top());
        if range.len() <= MAX_LINKS {
            for i in range {
                let x = view.x_from_time(run.stream.ts_ms[i] as f64, left, width);
                painter.line_segment(
                    [anchor, pos2(x, rec_row.bottom())],
                    Stroke::new(0.7, pal.playhead.gamma_multiply(0.6)),
                );
            }
        } else {
            let x0 = view.x_from_time(run.stream.ts_ms[range.start] as f64, left, width);
            let x1 = view.x_from_time(run.stream.ts_ms[range.end - 1] as f64, left, width);
            let y = rec_row.bottom() + 1.0;
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

    if let Some(k) = clicked {
        cmds.push(AppCommand::Select(k));
    }
    if let Some(text) = hover {
        response.on_hover_ui_at_pointer(|ui| {
            ui.label(egui::RichText::new(text).monospace());
        });
    }
}

fn interact(
    ui: &Ui,
    response: &egui::Response,
    canvas: Rect,
    view: TimeView,
    cmds: &mut Vec<AppCommand>,
) {
    let (left, width) = (canvas.left(), canvas.width().max(1.0));
    if response.double_clicked() {
        cmds.push(AppCommand::SetView(None));
        return;
    }
    if response.dragged() {
        let dx = response.drag_delta().x;
        if dx != 0.0 {
            cmds.push(AppCommand::SetView(Some(view.pan(dx, width))));
        }
        return;
    }
    if !response.hovered() {
        return;
    }
    let (scroll, zoom, pointer) =
        ui.input(|i| (i.smooth_scroll_delta, i.zoom_delta(), i.pointer.hover_pos()));
    let x = pointer.map_or(left + width / 2.0, |p| p.x.clamp(left, left + width));
    let mut v = view;
    let mut changed = false;
    if zoom != 1.0 {
        v = v.zoom_at(x, f64::from(zoom), left, width);
        changed = true;
    }
    if scroll.y != 0.0 {
        // The wheel zooms about the pointer; a horizontal scroll pans.
        v = v.zoom_at(x, (f64::from(scroll.y) * 0.004).exp(), left, width);
        changed = true;
    }
    if scroll.x != 0.0 {
        v = v.pan(scroll.x, width);
        changed = true;
    }
    if changed {
        cmds.push(AppCommand::SetView(Some(v)));
    }
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

fn invocation_rect(view: &TimeView, left: f32, width: f32, row: Rect, inv: &Invocation) -> Rect {
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
pub fn invocation_color(inv: &Invocation, pal: &Palette) -> Color32 {
    match (inv.status, inv.kind) {
        (Status::Failed, _) => pal.failed,
        (_, Kind::Final) => pal.final_,
        (_, Kind::Early) => pal.early,
        (Status::Partial, _) => pal.retry,
        _ => pal.aggregate,
    }
}

/// First index at or after `from` whose time is not before `t`: exponential then binary search,
/// because the next column's boundary is usually a few records away (and stays in cache).
fn gallop(ts: &[i64], from: usize, t: f64) -> usize {
    let mut step = 1;
    let mut prev = from;
    while from + step <= ts.len() && (ts[from + step - 1] as f64) < t {
        prev = from + step;
        step *= 2;
    }
    let end = (from + step).min(ts.len());
    prev + ts[prev..end].partition_point(|&x| (x as f64) < t)
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
        let hi = gallop(ts, lo, t_end);
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

/// Alternate shading and boundary lines of the tumbling windows.
fn windows_ui(painter: &egui::Painter, run: &Run, view: &TimeView, canvas: Rect, pal: &Palette) {
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
        painter.line_segment(
            [pos2(x0, canvas.top() - 12.0), pos2(x0, canvas.bottom())],
            Stroke::new(1.0, pal.boundary),
        );
        if (start / len).rem_euclid(label_every) == 0 && x0 >= left - 1.0 {
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
fn axis_ui(
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

fn record_tooltip(run: &Run, i: usize) -> String {
    let payload = String::from_utf8_lossy(run.stream.payload(i));
    let payload = if payload.len() > 160 {
        format!("{}…", &payload[..payload.floor_char_boundary(160)])
    } else {
        payload.into_owned()
    };
    let state = match run.index.delivered_by[i] {
        u32::MAX => "not delivered".to_owned(),
        k => format!("delivered by invocation {}", k + 1),
    };
    format!(
        "record {}\nsequence  {}\narrival   {}\nkey       {}\n{payload}\n{state}",
        i - run.stream.shards[run.stream.shard_of(i)].range.start + 1,
        run.stream.seq(i),
        crate::model::iso_millis(run.stream.ts_ms[i]),
        run.stream.partition_key(i),
    )
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

    #[test]
    fn gallop_finds_the_boundary() {
        let ts: Vec<i64> = (0..1000).map(|k| k * 3).collect();
        for t in [-5.0, 0.0, 1.0, 3.0, 299.5, 2997.0, 5000.0] {
            for from in [0usize, 10, 500, 999, 1000] {
                let expected = from + ts[from..].partition_point(|&x| (x as f64) < t);
                assert_eq!(gallop(&ts, from, t), expected, "t={t} from={from}");
            }
        }
    }

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
