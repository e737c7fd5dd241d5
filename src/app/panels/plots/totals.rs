//! The running-totals plot: step lines per shard on the timeline's own time axis, markers where
//! a window's state was dropped, a legend above the plot (never over the curves), and hover and
//! click that speak of invocations rather than coordinates.

use egui::{RichText, Ui};
use egui_plot::{Line, MarkerShape, Plot, PlotPoint, PlotPoints, Points, VLine};

use super::lines::{Shaped, clock_marks, in_force_at};
use super::{Plots, SeriesCache, x_formatter};
use crate::app::command::AppCommand;
use crate::app::panels::timeline::view::TimeView;
use crate::app::panels::timeline::{LABEL_W, navigate};
use crate::app::session::Run;
use crate::app::theme::Palette;
use crate::index::{SeriesPoint, ShardSeries, format_value};
use crate::model::clock_millis;
use crate::sim::trace::Kind;

/// While another value path's series are built on their worker: says so.
fn building_ui(ui: &mut Ui, run: &Run, st: &Plots) {
    if st.building() {
        ui.label(format!(
            "Working out the running totals of {}…",
            st.current_path(run).label()
        ));
    }
}

/// Running totals per shard, the selected invocation marked; a click selects the invocation in
/// force at that time on the nearest curve.
pub(super) fn totals_ui(
    ui: &mut Ui,
    run: &Run,
    selected: Option<u32>,
    across: bool,
    view: TimeView,
    st: &mut Plots,
    cmds: &mut Vec<AppCommand>,
) {
    let pal = Palette::of(ui.visuals());
    st.ensure(run, ui.ctx());
    legend_ui(ui, run, across, &pal, &mut st.hidden);
    let Some(cache) = &st.cache else {
        return building_ui(ui, run, st);
    };
    let lines = if across {
        &cache.across
    } else {
        &cache.in_window
    };
    let t_min = run.index.t_min;
    let x0 = (view.min_ms - t_min as f64) / 1000.0;
    let x1 = x0 + view.span_ms / 1000.0;
    let (mut y0, mut y1) = visible_y(lines, &st.hidden, x0, x1);
    // Run A (pinned), dashed under B's lines, when comparing.
    let a_lines = st.a_lines.as_ref().map(|(w, a)| if across { a } else { w });
    if let Some(a) = a_lines {
        let (ay0, ay1) = visible_y(a, &[], x0, x1);
        (y0, y1) = (y0.min(ay0), y1.max(ay1));
    }
    let hidden = &st.hidden;
    let resp = Plot::new("running-totals")
        .x_axis_formatter(x_formatter(t_min))
        .x_grid_spacer(move |input| clock_marks(t_min, input))
        // As wide as the timeline's label column, so both time axes start at the same x and
        // one instant sits at one place on screen in both.
        .y_axis_min_width(LABEL_W)
        .label_formatter(hover_label(run, cache, across))
        // The time view is the timeline's: drag, wheel and double click go through `navigate`,
        // and the value axis always fits what is visible, so the wheel cannot lose the data.
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .allow_boxed_zoom(false)
        .allow_axis_zoom_drag(false)
        .allow_double_click_reset(false)
        .show(ui, |plot| {
            plot.set_plot_bounds_x(x0..=x1);
            plot.set_plot_bounds_y(y0..=y1);
            if let Some(a) = a_lines {
                draw_pinned(plot, a, &pal);
            }
            for (s, shaped) in lines.iter().enumerate() {
                if hidden.get(s).copied().unwrap_or(false) {
                    continue;
                }
                draw_shard(plot, run, s, shaped, &pal);
            }
            if let Some(k) = selected {
                draw_selected(plot, run, cache, across, k, &pal);
            }
            plot.pointer_coordinate()
        });
    let frame = *resp.transform.frame();
    if let Some(change) = navigate(ui, &resp.response, frame.left(), frame.width(), view) {
        cmds.push(AppCommand::SetView(change));
    }
    if resp.response.clicked()
        && let Some(at) = resp.inner
        && let Some(k) = invocation_at(&cache.series, hidden, across, at)
    {
        cmds.push(AppCommand::Select(k));
    }
    st.last_rect = Some(resp.response.rect);
    st.last_transform = Some(resp.transform);
}

/// Run A's lines (pinned for comparison), dashed and fainter than B's.
fn draw_pinned<'a>(plot: &mut egui_plot::PlotUi<'a>, lines: &'a [Shaped], pal: &Palette) {
    for (s, shaped) in lines.iter().enumerate() {
        for pts in &shaped.segments {
            plot.line(
                Line::new(format!("A: shard {s}"), PlotPoints::Borrowed(pts))
                    .color(pal.shard(s).gamma_multiply(0.6))
                    .style(egui_plot::LineStyle::dashed_dense())
                    .width(1.2)
                    .allow_band(false),
            );
        }
    }
}

/// One shard's step lines and reset markers.
fn draw_shard<'a>(
    plot: &mut egui_plot::PlotUi<'a>,
    run: &Run,
    s: usize,
    shaped: &'a Shaped,
    pal: &Palette,
) {
    let name = &run.stream.shards[s].id;
    for pts in &shaped.segments {
        plot.line(
            Line::new(name.clone(), PlotPoints::Borrowed(pts))
                .color(pal.shard(s))
                .width(1.5)
                .allow_band(false),
        );
    }
    if !shaped.resets.is_empty() {
        let pts: Vec<[f64; 2]> = shaped.resets.iter().map(|p| [p.x, p.y]).collect();
        plot.points(
            Points::new(format!("{name} window closed"), pts)
                .shape(MarkerShape::Diamond)
                .filled(false)
                .radius(4.0)
                .color(pal.shard(s)),
        );
    }
}

/// The playhead at the selected invocation's end and a dot on its curve.
fn draw_selected(
    plot: &mut egui_plot::PlotUi<'_>,
    run: &Run,
    cache: &SeriesCache,
    across: bool,
    k: u32,
    pal: &Palette,
) {
    let Some(inv) = run.trace.invocations.get(k as usize) else {
        return;
    };
    let x = (inv.end_ms - run.index.t_min) as f64 / 1000.0;
    plot.vline(VLine::new("", x).color(pal.playhead));
    let src = points_of(&cache.series[inv.shard as usize], across);
    if let Some(p) = src.iter().find(|p| p.inv == k) {
        plot.points(
            Points::new("", vec![[p.t_s, p.value]])
                .radius(5.0)
                .color(pal.playhead),
        );
    }
}

fn points_of(s: &ShardSeries, across: bool) -> &[SeriesPoint] {
    if across {
        &s.across_windows
    } else {
        &s.in_window
    }
}

/// The value range of the visible part of the shown curves, with headroom, from 0.
fn visible_y(lines: &[Shaped], hidden: &[bool], x0: f64, x1: f64) -> (f64, f64) {
    let (mut lo, mut hi) = (0.0f64, f64::NEG_INFINITY);
    for (s, shaped) in lines.iter().enumerate() {
        if hidden.get(s).copied().unwrap_or(false) {
            continue;
        }
        for seg in &shaped.segments {
            let from = seg.partition_point(|p| p.x < x0).saturating_sub(1);
            for p in seg[from..].iter().take_while(|p| p.x <= x1) {
                lo = lo.min(p.y);
                hi = hi.max(p.y);
            }
        }
    }
    if !hi.is_finite() || hi <= lo {
        hi = lo + 1.0;
    }
    let pad = (hi - lo) * 0.06;
    (lo - if lo < 0.0 { pad } else { 0.0 }, hi + pad)
}

/// Shard toggles and the marker key, in a row of their own above the plot.
fn legend_ui(ui: &mut Ui, run: &Run, across: bool, pal: &Palette, hidden: &mut [bool]) {
    ui.horizontal_wrapped(|ui| {
        for (s, shard) in run.stream.shards.iter().enumerate() {
            let shown = !hidden[s];
            let colour = if shown { pal.shard(s) } else { pal.dim };
            swatch(ui, colour, false);
            // Beyond two shards the ids' shared prefix would wrap the row: keep their ends.
            let name = match shard.id.char_indices().rev().nth(5) {
                Some((at, _)) if run.stream.shards.len() > 2 => format!("…{}", &shard.id[at..]),
                _ => shard.id.clone(),
            };
            let text = RichText::new(name).color(colour).small();
            let text = if shown { text } else { text.strikethrough() };
            if ui
                .add(egui::Label::new(text).sense(egui::Sense::click()))
                .on_hover_text(format!("{}: show or hide this shard's curve", shard.id))
                .clicked()
            {
                hidden[s] = shown;
            }
        }
        if !across {
            swatch(ui, pal.dim, true);
            ui.label(
                RichText::new("window closed: its state is dropped, the next starts from {}")
                    .color(pal.dim)
                    .small(),
            );
        }
    });
}

/// A small key mark: a filled square for a curve, a diamond outline for a reset marker.
/// Painted, because the default fonts have no such glyphs.
fn swatch(ui: &mut Ui, colour: egui::Color32, diamond: bool) {
    let (rect, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
    let p = ui.painter();
    if diamond {
        let c = rect.center();
        let r = 4.0;
        let pts = vec![
            c + egui::vec2(0.0, -r),
            c + egui::vec2(r, 0.0),
            c + egui::vec2(0.0, r),
            c + egui::vec2(-r, 0.0),
        ];
        p.add(egui::Shape::closed_line(
            pts,
            egui::Stroke::new(1.2, colour),
        ));
    } else {
        p.rect_filled(rect.shrink(1.0), 1.0, colour);
    }
}

/// The hover text: the invocation whose state is in force under the pointer on the hovered
/// curve, its kind, clock time and value; elsewhere only the clock time.
fn hover_label<'a>(
    run: &'a Run,
    cache: &'a SeriesCache,
    across: bool,
) -> impl Fn(&egui_plot::HoverPosition<'_>) -> Option<String> + 'a {
    move |hover| {
        let (name, p) = match hover {
            egui_plot::HoverPosition::NearDataPoint {
                plot_name,
                position,
                ..
            } => (*plot_name, *position),
            egui_plot::HoverPosition::Elsewhere { position } => ("", *position),
        };
        let clock = clock_millis(run.index.t_min + (p.x * 1000.0) as i64);
        let base = name.strip_suffix(" window closed").unwrap_or(name);
        let shard = run.stream.shards.iter().position(|s| s.id == base);
        let Some(s) = shard else {
            return Some(clock);
        };
        let Some(pt) = in_force_at(points_of(&cache.series[s], across), p.x) else {
            return Some(format!("{name}\n{clock}\nno state yet"));
        };
        let inv = &run.trace.invocations[pt.inv as usize];
        let kind = match inv.kind {
            Kind::Aggregate => "aggregate",
            Kind::Final => "final",
            Kind::Early => "early termination",
        };
        Some(format!(
            "{}\ninvocation {} ({kind}), ended {}\nvalue {}",
            run.stream.shards[s].id,
            pt.inv + 1,
            clock_millis(inv.end_ms),
            format_value(pt.value)
        ))
    }
}

/// The invocation a click at `at` means: the shown curve nearest in value at that time, and on
/// it the invocation nearer in time of the one in force there and the next.
fn invocation_at(
    series: &[ShardSeries],
    hidden: &[bool],
    across: bool,
    at: PlotPoint,
) -> Option<u32> {
    let mut best: Option<(f64, &[SeriesPoint])> = None;
    for (s, shard) in series.iter().enumerate() {
        if hidden.get(s).copied().unwrap_or(false) {
            continue;
        }
        let pts = points_of(shard, across);
        let value = in_force_at(pts, at.x).or(pts.first());
        if let Some(p) = value {
            let d = (p.value - at.y).abs();
            if best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, pts));
            }
        }
    }
    let pts = best?.1;
    let next = pts.partition_point(|p| p.t_s <= at.x);
    [next.checked_sub(1), Some(next)]
        .into_iter()
        .flatten()
        .filter_map(|k| pts.get(k))
        .min_by(|a, b| (a.t_s - at.x).abs().total_cmp(&(b.t_s - at.x).abs()))
        .map(|p| p.inv)
}
