//! Running totals per shard, each window's final value as bars, and the results table.

use egui::{RichText, Ui};
use egui_plot::{Bar, BarChart, Legend, Line, Plot, PlotPoint, PlotPoints, Points, VLine};

use crate::app::command::AppCommand;
use crate::app::session::Run;
use crate::app::theme::Palette;
use crate::index::{ShardSeries, ValuePath, build_series, state_value};
use crate::model::{clock_millis, clock_seconds};
use crate::sim::trace::WindowStatus;

/// Plot tabs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PlotTab {
    /// Running totals.
    #[default]
    Totals,
    /// Final value per window, as bars.
    Bars,
    /// Results table.
    Table,
}

/// Drawable lines of one shard: segments broken at each drop, so no join turns back on itself.
type Segments = Vec<Vec<PlotPoint>>;

/// Series built for one (run, value path): raw points and plot segments, in-window and across.
struct SeriesCache {
    /// The run's generation they were built for.
    generation: u64,
    /// The value path they plot.
    path: ValuePath,
    /// Raw points per shard.
    series: Vec<ShardSeries>,
    /// Drawable in-window running totals per shard.
    in_window: Vec<Segments>,
    /// Drawable totals across windows per shard.
    across: Vec<Segments>,
}

/// Plot state: tab, value path and the series built for it (per run, not per frame).
#[derive(Default)]
pub struct Plots {
    /// Open tab.
    pub tab: PlotTab,
    /// Chosen value path (`None`: the index's default).
    pub path: Option<ValuePath>,
    cache: Option<SeriesCache>,
    /// Screen rect of the last plot drawn (for PNG export).
    pub last_rect: Option<egui::Rect>,
    /// Screen↔value mapping of the last running-totals plot: egui_plot chooses the bounds, so
    /// whoever turns a value into a place on screen (a test's click, say) must ask it.
    pub last_transform: Option<egui_plot::PlotTransform>,
}

impl Plots {
    /// Builds the series and segments for the run and chosen path, once per (run, path).
    fn ensure(&mut self, run: &Run) {
        let path = self
            .path
            .clone()
            .or_else(|| run.index.path.clone())
            .unwrap_or(ValuePath::SumOfNumbers);
        let stale = self
            .cache
            .as_ref()
            .is_none_or(|c| c.generation != run.generation || c.path != path);
        if !stale {
            return;
        }
        let series = if run.index.path.as_ref() == Some(&path) {
            run.index.series.clone()
        } else {
            build_series(&run.trace, run.stream.shards.len(), run.index.t_min, &path)
        };
        let to_segments =
            |f: fn(&ShardSeries) -> &Vec<crate::index::SeriesPoint>| -> Vec<Segments> {
                series
                    .iter()
                    .map(|s| segments(decimate(f(s), MAX_PLOT_POINTS)))
                    .collect()
            };
        let in_window = to_segments(|s| &s.in_window);
        let across = to_segments(|s| &s.across_windows);
        self.cache = Some(SeriesCache {
            generation: run.generation,
            path,
            series,
            in_window,
            across,
        });
    }
}

/// Splits a polyline before every vertical drop (a window's reset), repeating the peak, so
/// the stroke never folds back on itself (which tessellates into long miter spikes).
fn segments(points: Vec<PlotPoint>) -> Segments {
    let mut out: Segments = Vec::new();
    let mut cur: Vec<PlotPoint> = Vec::new();
    for p in points {
        if let Some(last) = cur.last().copied()
            && last.x == p.x
            && p.y < last.y
        {
            out.push(std::mem::take(&mut cur));
            cur.push(last);
        }
        cur.push(p);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Points per line drawn: more than a plot has pixels is wasted tessellation.
const MAX_PLOT_POINTS: usize = 3000;

/// Keeps each bucket's lowest and highest point (in time order), so a long sawtooth of
/// running totals keeps its peaks and resets when thinned for drawing.
fn decimate(points: &[crate::index::SeriesPoint], max: usize) -> Vec<PlotPoint> {
    if points.len() <= max {
        return points
            .iter()
            .map(|p| PlotPoint::new(p.t_s, p.value))
            .collect();
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
        out.push(PlotPoint::new(chunk[a].t_s, chunk[a].value));
        if b != a {
            out.push(PlotPoint::new(chunk[b].t_s, chunk[b].value));
        }
    }
    out
}

/// Draws the plot panel.
pub fn plots_ui(
    ui: &mut Ui,
    run: &Run,
    selected: Option<u32>,
    across: bool,
    st: &mut Plots,
    cmds: &mut Vec<AppCommand>,
) {
    toolbar_ui(ui, run, across, st, cmds);
    match st.tab {
        PlotTab::Totals => totals_ui(ui, run, selected, across, st, cmds),
        PlotTab::Bars => bars_ui(ui, run, st),
        PlotTab::Table => results_table_ui(ui, run, cmds),
    }
}

/// Tabs, the value picker and the current tab's options and exports.
fn toolbar_ui(ui: &mut Ui, run: &Run, across: bool, st: &mut Plots, cmds: &mut Vec<AppCommand>) {
    ui.horizontal(|ui| {
        ui.selectable_value(&mut st.tab, PlotTab::Totals, "Running totals");
        ui.selectable_value(&mut st.tab, PlotTab::Bars, "Window results");
        ui.selectable_value(&mut st.tab, PlotTab::Table, "Results table");
        ui.separator();
        let current = st
            .path
            .clone()
            .or_else(|| run.index.path.clone())
            .unwrap_or(ValuePath::SumOfNumbers);
        egui::ComboBox::from_id_salt("value-path")
            .selected_text(format!("value: {}", current.label()))
            .show_ui(ui, |ui| {
                let mut choice = current.clone();
                ui.selectable_value(&mut choice, ValuePath::SumOfNumbers, ValuePath::SumOfNumbers.label());
                for p in &run.index.paths {
                    ui.selectable_value(&mut choice, ValuePath::Path(p.clone()), p);
                }
                if choice != current {
                    st.path = Some(choice);
                }
            })
            .response
            .on_hover_text("Which number of the state the plots show");
        if st.tab == PlotTab::Totals {
            let mut edited = across;
            if ui.checkbox(&mut edited, "Total across windows")
                .on_hover_text("Add up closed windows' final values: the running total of the 2020 blog's figure (6, 18, 28, 32)")
                .changed()
            {
                cmds.push(AppCommand::SetAcrossWindows(edited));
            }
        }
        if st.tab == PlotTab::Table {
            if ui.button("Export CSV…").clicked() {
                cmds.push(AppCommand::ExportResultsCsv);
            }
            if ui.button("Export JSON…").clicked() {
                cmds.push(AppCommand::ExportResultsJson);
            }
        } else if ui.button("Export PNG…").on_hover_text("Save this plot as an image").clicked() {
            cmds.push(AppCommand::ExportPlotPng);
        }
    });
}

/// Labels the x axis (seconds since the run's first instant) with clock times.
fn x_formatter(
    t_min: i64,
) -> impl Fn(egui_plot::GridMark, &std::ops::RangeInclusive<f64>) -> String {
    move |mark, _range| clock_seconds(t_min + (mark.value * 1000.0) as i64)
}

/// Running totals per shard, the selected invocation marked; a click selects the invocation of
/// the nearest point in time.
fn totals_ui(
    ui: &mut Ui,
    run: &Run,
    selected: Option<u32>,
    across: bool,
    st: &mut Plots,
    cmds: &mut Vec<AppCommand>,
) {
    let pal = Palette::of(ui.visuals());
    let t_min = run.index.t_min;
    st.ensure(run);
    let Some(SeriesCache {
        series,
        in_window,
        across: across_lines,
        ..
    }) = &st.cache
    else {
        return;
    };
    let lines = if across { across_lines } else { in_window };
    let selected_inv = selected.and_then(|k| run.trace.invocations.get(k as usize));
    let resp = Plot::new("running-totals")
        .legend(Legend::default())
        .x_axis_formatter(x_formatter(t_min))
        .label_formatter(hover_label(t_min))
        .allow_double_click_reset(true)
        .show(ui, |plot| {
            for (s, segs) in lines.iter().enumerate() {
                let name = &run.stream.shards[s].id;
                for pts in segs {
                    plot.line(
                        Line::new(name.clone(), PlotPoints::Borrowed(pts))
                            .color(pal.shard(s))
                            .width(1.5)
                            .allow_band(false),
                    );
                }
            }
            if let Some(inv) = selected_inv {
                let x = (inv.end_ms - t_min) as f64 / 1000.0;
                plot.vline(VLine::new("", x).color(pal.playhead));
                let s = inv.shard as usize;
                let k = selected.unwrap_or(0);
                let src = if across {
                    &series[s].across_windows
                } else {
                    &series[s].in_window
                };
                if let Some(p) = src.iter().find(|p| p.inv == k) {
                    plot.points(
                        Points::new("", vec![[p.t_s, p.value]])
                            .radius(5.0)
                            .color(pal.playhead),
                    );
                }
            }
            plot.pointer_coordinate()
        });
    let rect = resp.response.rect;
    if resp.response.clicked()
        && let Some(at) = resp.inner
        && let Some(k) = nearest_invocation(series, across, at.x)
    {
        cmds.push(AppCommand::Select(k));
    }
    st.last_rect = Some(rect);
    st.last_transform = Some(resp.transform);
}

/// The hover text: the curve's shard, the clock time and the value under the pointer.
fn hover_label(t_min: i64) -> impl Fn(&egui_plot::HoverPosition) -> Option<String> {
    move |hover| {
        let (name, p) = match hover {
            egui_plot::HoverPosition::NearDataPoint {
                plot_name,
                position,
                ..
            } => (*plot_name, *position),
            egui_plot::HoverPosition::Elsewhere { position } => ("", *position),
        };
        Some(format!(
            "{name}\n{}\n{}",
            clock_millis(t_min + (p.x * 1000.0) as i64),
            crate::index::format_value(p.y)
        ))
    }
}

/// The invocation whose point is nearest in time to `x` (seconds since the run's start).
fn nearest_invocation(series: &[ShardSeries], across: bool, x: f64) -> Option<u32> {
    let mut best: Option<(f64, u32)> = None;
    for s in series {
        let pts = if across {
            &s.across_windows
        } else {
            &s.in_window
        };
        for p in pts {
            let d = (p.t_s - x).abs();
            if best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, p.inv));
            }
        }
    }
    best.map(|(_, k)| k)
}

/// Each window's final value per shard, as bars side by side within the window.
fn bars_ui(ui: &mut Ui, run: &Run, st: &mut Plots) {
    let pal = Palette::of(ui.visuals());
    let t_min = run.index.t_min;
    let path = st
        .path
        .clone()
        .or_else(|| run.index.path.clone())
        .unwrap_or(ValuePath::SumOfNumbers);
    let n = run.stream.shards.len().max(1) as f64;
    let w_s = run
        .spec
        .settings
        .window_ms()
        .map_or(1.0, |w| w as f64 / 1000.0);
    let mut charts: Vec<BarChart> = Vec::new();
    for s in 0..run.stream.shards.len() {
        let bars: Vec<Bar> = run
            .trace
            .windows
            .iter()
            .filter(|w| w.shard as usize == s)
            .filter_map(|w| {
                let v = state_value(w.final_state.as_ref()?, &path)?;
                let x = (w.window.start_ms - t_min) as f64 / 1000.0
                    + w_s * (0.1 + 0.8 * (s as f64 + 0.5) / n);
                Some(
                    Bar::new(x, v)
                        .width(w_s * 0.8 / n)
                        .name(clock_seconds(w.window.start_ms)),
                )
            })
            .collect();
        charts.push(BarChart::new(run.stream.shards[s].id.clone(), bars).color(pal.shard(s)));
    }
    let resp = Plot::new("window-bars")
        .legend(Legend::default())
        .x_axis_formatter(x_formatter(t_min))
        .show(ui, |plot| {
            for c in charts {
                plot.bar_chart(c);
            }
        });
    st.last_rect = Some(resp.response.rect);
}

fn results_table_ui(ui: &mut Ui, run: &Run, cmds: &mut Vec<AppCommand>) {
    use egui_extras::{Column, TableBuilder};
    let windows = &run.trace.windows;
    let row_h = ui.text_style_height(&egui::TextStyle::Body) + 4.0;
    // Selectable labels take the click for text selection, so a click on a cell's text would
    // never reach the row.
    ui.style_mut().interaction.selectable_labels = false;
    TableBuilder::new(ui)
        .striped(true)
        .resizable(true)
        .sense(egui::Sense::click())
        .column(Column::auto().at_least(150.0))
        .column(Column::auto().at_least(150.0))
        .column(Column::auto().at_least(60.0))
        .column(Column::auto().at_least(70.0))
        .column(Column::auto().at_least(60.0))
        .column(Column::remainder())
        .header(18.0, |mut h| {
            for title in [
                "shard",
                "window (UTC)",
                "records",
                "invocations",
                "status",
                "final state",
            ] {
                h.col(|ui| {
                    ui.strong(title);
                });
            }
        })
        .body(|body| {
            body.rows(row_h, windows.len(), |mut row| {
                let w = &windows[row.index()];
                row.col(|ui| {
                    ui.label(RichText::new(&run.stream.shards[w.shard as usize].id).monospace());
                });
                row.col(|ui| {
                    ui.label(format!(
                        "{} – {}",
                        clock_seconds(w.window.start_ms),
                        clock_seconds(w.window.end_ms)
                    ));
                });
                row.col(|ui| {
                    ui.label(w.records.to_string());
                });
                row.col(|ui| {
                    ui.label(w.invocations.to_string());
                });
                row.col(|ui| {
                    ui.label(match w.status {
                        WindowStatus::Closed => "closed",
                        WindowStatus::Stalled => "stalled",
                        WindowStatus::Open => "open",
                    });
                });
                row.col(|ui| {
                    let text = w
                        .final_state
                        .as_ref()
                        .map_or_else(|| "—".into(), |s| s.to_json_string());
                    let short = if text.len() > 200 {
                        format!("{}…", &text[..text.floor_char_boundary(200)])
                    } else {
                        text
                    };
                    ui.label(RichText::new(short).monospace());
                });
                if row.response().clicked()
                    && let Some(n) = w.final_invocation
                {
                    cmds.push(AppCommand::Select(n - 1));
                }
            });
        });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::SeriesPoint;

    #[test]
    fn drops_start_new_segments() {
        let pts = vec![
            PlotPoint::new(0.0, 1.0),
            PlotPoint::new(1.0, 5.0),
            PlotPoint::new(1.0, 0.0),
            PlotPoint::new(2.0, 3.0),
        ];
        let segs = segments(pts);
        assert_eq!(segs.len(), 2);
        assert_eq!(segs[0].len(), 2);
        assert_eq!((segs[1][0].x, segs[1][0].y), (1.0, 5.0));
        assert_eq!(segs[1].len(), 3);
    }

    #[test]
    fn decimation_keeps_peaks_and_resets() {
        let pts: Vec<SeriesPoint> = (0..10_000)
            .map(|k| SeriesPoint {
                t_s: k as f64,
                value: (k % 500) as f64,
                inv: k,
            })
            .collect();
        let d = decimate(&pts, 400);
        assert!(d.len() <= 402);
        assert!(d.iter().any(|p| p.y == 499.0));
        assert!(d.iter().filter(|p| p.y == 0.0).count() >= 15);
        assert!(d.windows(2).all(|w| w[0].x <= w[1].x));
        assert_eq!(decimate(&pts[..10], 400).len(), 10);
    }
}
