//! Running totals per shard, each window's final value as bars, and the results table.

mod bookmarks;
mod compare;
pub mod invocations;
mod lines;
mod table;
mod totals;

use egui::Ui;
use egui_plot::{Bar, BarChart, Legend, Plot};

use self::lines::{Shaped, as_plot_points, shape};
use crate::app::command::AppCommand;
use crate::app::panels::timeline::view::TimeView;
use crate::app::session::Run;
use crate::app::theme::Palette;
use crate::index::{ShardSeries, ValuePath, build_series, state_value};
use crate::model::clock_seconds;

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
    /// Every invocation, filtered and sorted.
    Invocations,
    /// Marked invocations and their notes.
    Bookmarks,
    /// The pinned run A beside the shown run B.
    Compare,
}

/// Series built for one (run, value path): raw points and drawable lines, in-window and across.
struct SeriesCache {
    /// The run's generation they were built for.
    generation: u64,
    /// The value path they plot.
    path: ValuePath,
    /// Raw points per shard, shared with the run's index when the path is the index's (a
    /// copy cost a big run's first frame hundreds of milliseconds and as much memory again).
    series: std::sync::Arc<Vec<ShardSeries>>,
    /// Drawable in-window running totals per shard.
    in_window: Vec<Shaped>,
    /// Drawable totals across windows per shard.
    across: Vec<Shaped>,
}

/// Plot state: tab, value path, hidden shards and the series built for them (per run, not
/// per frame).
#[derive(Default)]
pub struct Plots {
    /// Open tab.
    pub tab: PlotTab,
    /// Chosen value path (`None`: the index's default).
    pub path: Option<ValuePath>,
    /// Shards switched off in the legend, by index.
    pub hidden: Vec<bool>,
    cache: Option<SeriesCache>,
    /// Screen rect of the last plot drawn (for PNG export).
    pub last_rect: Option<egui::Rect>,
    /// Screen↔value mapping of the last running-totals plot: egui_plot chooses the y bounds,
    /// so whoever turns a value into a place on screen (a test's click, say) must ask it.
    pub last_transform: Option<egui_plot::PlotTransform>,
    /// The invocation table's filter, sort and rows.
    pub table: invocations::TableState,
    /// The comparison of the pinned run with the shown one, and what it was asked for
    /// (A's generation, B's, the value path).
    pub comparison: Option<std::sync::Arc<crate::find::compare::Comparison>>,
    /// See `comparison`.
    pub compared: Option<(u64, u64, ValuePath)>,
    /// A's running totals, drawable (in-window, across).
    pub(super) a_lines: Option<(Vec<Shaped>, Vec<Shaped>)>,
    /// Series for a value path other than the index's, being built on a worker.
    building: Option<Building>,
}

/// Series for another value path, under way on a worker thread: a big run's take seconds,
/// and the UI thread never waits for them.
struct Building {
    generation: u64,
    path: ValuePath,
    rx: crossbeam_channel::Receiver<(std::sync::Arc<Vec<ShardSeries>>, crate::index::Thinned)>,
}

impl Plots {
    /// Lets go of the shown run's series (its run is leaving the screen, and its memory is
    /// wanted for the next run's); they are built again for whatever run is shown next.
    pub fn forget_series(&mut self) {
        self.cache = None;
        self.building = None;
    }

    /// Builds the series and lines for the run and chosen path, once per (run, path): the
    /// index's default path is ready with the run; another is built on a worker, and there
    /// are no lines until it arrives.
    fn ensure(&mut self, run: &Run, ctx: &egui::Context) {
        let path = self.current_path(run);
        self.hidden.resize(run.stream.shards.len(), false);
        let stale = self
            .cache
            .as_ref()
            .is_none_or(|c| c.generation != run.generation || c.path != path);
        if !stale {
            return;
        }
        if run.index.path.as_ref() == Some(&path) {
            self.building = None;
            self.cache = Some(cached(
                run,
                path,
                run.index.series.clone(),
                &run.index.thinned,
            ));
            return;
        }
        self.cache = None;
        let wanted = |b: &Building| b.generation == run.generation && b.path == path;
        if !self.building.as_ref().is_some_and(wanted) {
            self.building = Some(build_elsewhere(run, path.clone()));
        }
        let Some(b) = &self.building else { return };
        match b.rx.try_recv() {
            Ok((series, thinned)) => {
                self.building = None;
                self.cache = Some(cached(run, path, series, &thinned));
            }
            Err(crossbeam_channel::TryRecvError::Empty) => {
                ctx.request_repaint_after(std::time::Duration::from_millis(30));
            }
            // The worker could not start or failed: built here instead, once.
            Err(crossbeam_channel::TryRecvError::Disconnected) => {
                self.building = None;
                let series =
                    build_series(&run.trace, run.stream.shards.len(), run.index.t_min, &path);
                let thinned = crate::index::Thinned::of(&series);
                self.cache = Some(cached(run, path, std::sync::Arc::new(series), &thinned));
            }
        }
    }

    /// Whether the series for the chosen path are still being built.
    pub fn building(&self) -> bool {
        self.building.is_some()
    }

    /// The value path of the lines drawn now, and the run (generation) they belong to.
    pub fn plotted(&self) -> Option<(u64, &ValuePath)> {
        self.cache.as_ref().map(|c| (c.generation, &c.path))
    }

    /// A new comparison arrived: its lines are shaped once.
    pub fn set_comparison(&mut self, c: std::sync::Arc<crate::find::compare::Comparison>) {
        let shaped = |lines: &[Vec<[f64; 2]>]| -> Vec<Shaped> {
            lines.iter().map(|l| shape(as_plot_points(l))).collect()
        };
        self.a_lines = Some((shaped(&c.a_lines.in_window), shaped(&c.a_lines.across)));
        self.comparison = Some(c);
    }

    /// Forgets the comparison (unpinned).
    pub fn clear_comparison(&mut self) {
        self.comparison = None;
        self.compared = None;
        self.a_lines = None;
    }

    /// The value path plotted: the user's pick, else the index's default.
    pub fn current_path(&self, run: &Run) -> ValuePath {
        self.path
            .clone()
            .or_else(|| run.index.path.clone())
            .unwrap_or(ValuePath::SumOfNumbers)
    }
}

/// What the app shows that the plot panel follows.
#[derive(Clone, Copy)]
pub struct Shown<'a> {
    /// Selected invocation.
    pub selected: Option<u32>,
    /// Totals across windows.
    pub across: bool,
    /// The shared time view.
    pub view: TimeView,
    /// Bookmarks.
    pub bookmarks: &'a [crate::app::session::Bookmark],
    /// The pinned run A, when comparing.
    pub pinned: Option<&'a Run>,
}

/// Draws the plot panel.
pub fn plots_ui(
    ui: &mut Ui,
    run: &Run,
    shown: Shown<'_>,
    st: &mut Plots,
    cmds: &mut Vec<AppCommand>,
) {
    let Shown {
        selected,
        across,
        view,
        bookmarks,
        pinned,
    } = shown;
    toolbar_ui(ui, run, across, st, cmds);
    match st.tab {
        PlotTab::Totals => totals::totals_ui(ui, run, selected, across, view, st, cmds),
        PlotTab::Bars => bars_ui(ui, run, st),
        PlotTab::Table => table::results_table_ui(ui, run, cmds),
        PlotTab::Invocations => {
            invocations::invocation_table_ui(ui, run, selected, &mut st.table, cmds)
        }
        PlotTab::Bookmarks => bookmarks::bookmarks_ui(ui, run, bookmarks, cmds),
        PlotTab::Compare => compare::compare_ui(ui, run, pinned, st.comparison.as_deref(), cmds),
    }
}

/// The cache for `run` and `path` from its series and their thinned lines (only shaped here).
fn cached(
    run: &Run,
    path: ValuePath,
    series: std::sync::Arc<Vec<ShardSeries>>,
    thinned: &crate::index::Thinned,
) -> SeriesCache {
    let shaped = |lines: &[Vec<[f64; 2]>]| -> Vec<Shaped> {
        lines.iter().map(|l| shape(as_plot_points(l))).collect()
    };
    SeriesCache {
        generation: run.generation,
        path,
        series,
        in_window: shaped(&thinned.in_window),
        across: shaped(&thinned.across),
    }
}

/// Starts building `run`'s series for `path` on a named worker thread.
fn build_elsewhere(run: &Run, path: ValuePath) -> Building {
    let (tx, rx) = crossbeam_channel::bounded(1);
    let trace = run.trace.clone();
    let (shards, t_min) = (run.stream.shards.len(), run.index.t_min);
    let job = path.clone();
    let build = move || {
        let series = build_series(&trace, shards, t_min, &job);
        let thinned = crate::index::Thinned::of(&series);
        tx.send((std::sync::Arc::new(series), thinned)).ok();
    };
    // No thread to spare: the sender is dropped with the closure, and `ensure` builds here.
    let _ = std::thread::Builder::new()
        .name("tumblescope-series".into())
        .spawn(build);
    Building {
        generation: run.generation,
        path,
        rx,
    }
}

/// Tabs, the value picker and the current tab's options and exports.
fn toolbar_ui(ui: &mut Ui, run: &Run, across: bool, st: &mut Plots, cmds: &mut Vec<AppCommand>) {
    // Wrapped: in a narrow panel the options and exports move to a second row, not off-screen.
    ui.horizontal_wrapped(|ui| {
        ui.selectable_value(&mut st.tab, PlotTab::Totals, "Running totals");
        ui.selectable_value(&mut st.tab, PlotTab::Bars, "Window results");
        ui.selectable_value(&mut st.tab, PlotTab::Table, "Results table");
        ui.selectable_value(&mut st.tab, PlotTab::Invocations, "Invocations");
        ui.selectable_value(&mut st.tab, PlotTab::Bookmarks, "Bookmarks");
        ui.selectable_value(&mut st.tab, PlotTab::Compare, "Compare");
        ui.separator();
        let current = st.current_path(run);
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

/// Each window's final value per shard, as bars side by side within the window.
fn bars_ui(ui: &mut Ui, run: &Run, st: &mut Plots) {
    let pal = Palette::of(ui.visuals());
    let t_min = run.index.t_min;
    let path = st.current_path(run);
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
