//! The selected invocation: what it was, why it happened, what it carried, its state before and
//! after, the exact event and response, logs and writes, and warnings where users get bitten.

use egui::{RichText, Ui};
use serde_json::Value;

use super::json_tree::json_tree_ui;
use crate::app::session::Run;
use crate::app::theme::Palette;
use crate::json::text::pretty;
use crate::model::{clock_seconds, iso_millis};
use crate::sim::trace::{Invocation, Kind, Reason, Status, flags};

/// Inspector tabs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Tab {
    /// Incoming records.
    #[default]
    Records,
    /// Input and returned state.
    State,
    /// The event JSON.
    Event,
    /// The raw response.
    Response,
    /// Handler logs.
    Logs,
    /// Table writes.
    Writes,
}

impl Tab {
    const ALL: [Self; 6] = [
        Self::Records,
        Self::State,
        Self::Event,
        Self::Response,
        Self::Logs,
        Self::Writes,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::Records => "Records",
            Self::State => "State",
            Self::Event => "Event JSON",
            Self::Response => "Response",
            Self::Logs => "Logs",
            Self::Writes => "Writes",
        }
    }

    /// The tab a start-up option names (`state`, `event`, `response`, `logs`, `writes`); any
    /// other name opens the records.
    pub fn from_name(name: &str) -> Self {
        match name {
            "state" => Self::State,
            "event" => Self::Event,
            "response" => Self::Response,
            "logs" => Self::Logs,
            "writes" => Self::Writes,
            _ => Self::Records,
        }
    }
}

/// An event's pretty-printed text and its lines' spans.
type Built = (String, Vec<(usize, usize)>);

/// Text computed once per selection, not per frame.
#[derive(Default)]
pub struct Inspector {
    /// Open tab.
    pub tab: Tab,
    key: Option<(u64, u32)>,
    event: String,
    /// The event being built on a worker (a big batch, or payloads still in the file).
    event_job: Option<crossbeam_channel::Receiver<Built>>,
    event_lines: Vec<(usize, usize)>,
    response: String,
    state_in: Value,
    state_out: Option<Value>,
    explanation: String,
    warnings: Vec<String>,
    /// The run's note on state value types, shown on the invocation it first applies to.
    typed_note: Option<String>,
    /// Per run generation: the first invocation with non-string state values and the note.
    typed_first: Option<(u64, Option<(u32, String)>)>,
    /// Table writes, deferred ones rendered.
    writes: Vec<crate::handlers::TableWrite>,
    /// The on-failure destination record when this attempt's failure discarded its batch.
    /// (condition, the discard in words, the record).
    destination: Option<(&'static str, String, String)>,
    /// The window the user asked to see (its start), taken by the app after drawing.
    pub open_window: Option<i64>,
}

impl Inspector {
    /// The state-types note, once per run: on the first invocation with non-string values, and
    /// only for built-in handlers. A Node.js or Python handler's states are fine as they are;
    /// the note is for whoever ports a built-in's logic to Go, Java, Rust or .NET.
    fn typed_note_for(&mut self, run: &Run, k: u32) -> Option<String> {
        if !run.spec.handler.starts_with("builtin:") {
            return None;
        }
        if self
            .typed_first
            .as_ref()
            .is_none_or(|(g, _)| *g != run.generation)
        {
            let first = crate::sim::warnings::first_typed_state_warning(&run.trace.invocations);
            self.typed_first = Some((run.generation, first));
        }
        let (_, first) = self.typed_first.as_ref()?;
        first
            .as_ref()
            .filter(|(at, _)| *at == k)
            .map(|(_, text)| text.clone())
    }

    fn refresh(&mut self, ctx: &egui::Context, run: &Run, k: u32) {
        if let Some(rx) = &self.event_job
            && let Ok((event, lines)) = rx.try_recv()
        {
            (self.event, self.event_lines) = (event, lines);
            self.event_job = None;
        }
        if self.key == Some((run.generation, k)) {
            return;
        }
        self.key = Some((run.generation, k));
        let Some(inv) = run.trace.invocations.get(k as usize) else {
            return;
        };
        self.event_job = None;
        if event_at_hand(run, inv) {
            self.event = event_text(run, inv);
            self.event_lines = line_spans(&self.event);
        } else {
            self.event.clear();
            self.event_lines.clear();
            self.event_job = Some(build_event(ctx.clone(), run.clone(), k));
        }
        self.response = pretty(&inv.response_json().to_string());
        self.state_in = Value::Object(inv.state_in.to_json());
        self.state_out = inv.state_out.as_ref().map(|s| Value::Object(s.to_json()));
        self.explanation = explain(run, inv);
        self.warnings = warnings(run, inv);
        self.typed_note = self.typed_note_for(run, k);
        self.writes = run.trace.writes(&run.stream, inv).into_owned();
        self.destination = run
            .trace
            .discards
            .iter()
            .find(|d| d.invocation == inv.n && d.shard == inv.shard)
            .map(|d| {
                let json = crate::destination::record_json(
                    &run.stream,
                    &run.trace,
                    d,
                    run.spec.settings.seed,
                );
                let words = crate::app::panels::timeline::discard_text(run, d);
                (d.condition, words, pretty(&json))
            });
    }
}

/// Batches up to this many records whose payloads are all at hand build their event in the
/// frame (well under a millisecond); bigger ones, up to 10,000 records and 6 MB pretty-printed,
/// or ones whose payloads must be read from the file, are built on a worker.
const EVENT_IN_FRAME: usize = 256;

fn event_at_hand(run: &Run, inv: &Invocation) -> bool {
    let range = inv.record_range();
    range.len() <= EVENT_IN_FRAME && range.into_iter().all(|i| run.stream.payload_at_hand(i))
}

fn event_text(run: &Run, inv: &Invocation) -> String {
    pretty(&inv.request(&run.stream, &run.spec.settings).event_json())
}

/// The event of invocation `k`, pretty-printed on a worker thread that wakes the UI when done.
fn build_event(ctx: egui::Context, run: Run, k: u32) -> crossbeam_channel::Receiver<Built> {
    let (tx, rx) = crossbeam_channel::bounded(1);
    let job = move || {
        let Some(inv) = run.trace.invocations.get(k as usize) else {
            return;
        };
        let text = event_text(&run, inv);
        let lines = line_spans(&text);
        if tx.send((text, lines)).is_ok() {
            ctx.request_repaint();
        }
    };
    // A dropped receiver (another selection meanwhile) makes the answer go nowhere.
    if let Err(e) = std::thread::Builder::new()
        .name("tumblescope-event".into())
        .spawn(job)
    {
        let (tx, rx) = crossbeam_channel::bounded(1);
        tx.send((format!("the event could not be built: {e}"), Vec::new()))
            .ok();
        return rx;
    }
    rx
}

fn line_spans(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        if b == b'\n' {
            spans.push((start, i));
            start = i + 1;
        }
    }
    spans.push((start, text.len()));
    spans
}

/// Draws the inspector for the selected invocation.
pub fn inspector_ui(ui: &mut Ui, run: &Run, selected: Option<u32>, st: &mut Inspector) {
    let pal = Palette::of(ui.visuals());
    let Some(k) = selected else {
        ui.label("Select an invocation on the timeline or with the stepper.");
        return;
    };
    st.refresh(ui.ctx(), run, k);
    let Some(inv) = run.trace.invocations.get(k as usize) else {
        return;
    };
    ui.heading(format!(
        "Invocation {} of {}",
        inv.n,
        run.trace.invocations.len()
    ));
    facts_ui(ui, run, inv, &pal);
    if let Some(w) = inv.window()
        && ui
            .small_button("Window details")
            .on_hover_text(
                "This window on every shard: records, invocations, final state, why it closed",
            )
            .clicked()
    {
        st.open_window = Some(w.start_ms);
    }
    ui.add_space(4.0);
    ui.label(RichText::new(&st.explanation).italics());
    if let Some(e) = inv.error() {
        ui.colored_label(pal.error, format!("{}: {}", e.error_type, e.error_message));
        for line in e.stack_trace.iter().take(6) {
            ui.label(RichText::new(line).monospace().small().color(pal.dim));
        }
    }
    for w in &st.warnings {
        ui.colored_label(pal.warn, format!("Warning: {w}"));
    }
    if let Some(note) = &st.typed_note {
        ui.label(RichText::new(format!("Note for this run (shown once): {note}")).color(pal.dim));
    }
    if let Some((condition, words, json)) = &st.destination {
        ui.colored_label(
            pal.error,
            format!("Batch discarded ({condition}): sent to the on-failure destination"),
        );
        ui.label(RichText::new(words).color(pal.dim));
        egui::CollapsingHeader::new("On-failure destination record")
            .id_salt("destination-record")
            .show(ui, |ui| {
                let lines = line_spans(json);
                text_ui(ui, "destination", json, &lines);
            });
    }
    ui.separator();
    tabs_ui(ui, inv, st);
    ui.separator();
    match st.tab {
        Tab::Records => records_ui(ui, run, inv),
        Tab::State => state_ui(ui, inv, st, &pal),
        Tab::Event if st.event_job.is_some() => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(format!(
                    "Building the event ({} records)…",
                    inv.record_range().len()
                ));
            });
        }
        Tab::Event => text_ui(ui, "event", &st.event, &st.event_lines),
        Tab::Response => {
            let lines = line_spans(&st.response);
            text_ui(ui, "response", &st.response, &lines);
        }
        Tab::Logs => logs_ui(ui, inv),
        Tab::Writes => writes_ui(ui, &st.writes, &pal),
    }
}

/// The invocation's facts as a two-column grid: shard, window, kind, flags, attempt, time,
/// status and record count.
fn facts_ui(ui: &mut Ui, run: &Run, inv: &Invocation, pal: &Palette) {
    egui::Grid::new("inspector-facts")
        .num_columns(2)
        .spacing([12.0, 2.0])
        .show(ui, |ui| {
            for (k, v) in facts(run, inv, pal) {
                ui.label(RichText::new(k).color(pal.dim));
                // Wrapped so a long value never widens the panel over its neighbours.
                ui.add(egui::Label::new(v).wrap());
                ui.end_row();
            }
        });
}

/// The inspector's fact rows for one invocation, in order.
fn facts(run: &Run, inv: &Invocation, pal: &Palette) -> Vec<(&'static str, RichText)> {
    let mut rows: Vec<(&'static str, RichText)> = vec![
        (
            "shard",
            run.stream.shards[inv.shard as usize].id.clone().into(),
        ),
        ("window", window_text(inv).into()),
        ("kind", kind_text(inv).into()),
    ];
    if inv.window().is_some() {
        let flags = format!(
            "isFinalInvokeForWindow: {}   isWindowTerminatedEarly: {}",
            inv.is_final, inv.is_early
        );
        rows.push(("flags", flags.into()));
    }
    rows.push(("attempt", inv.attempt.to_string().into()));
    if let Some(env) = environment_text(inv) {
        rows.push(("environment", env.into()));
    }
    rows.push(("time", time_text(inv).into()));
    let status = match inv.status {
        Status::Ok => RichText::new("succeeded").color(pal.final_),
        Status::Partial => RichText::new("partial batch failure").color(pal.warn),
        Status::Failed => RichText::new("failed").color(pal.error),
    };
    rows.push(("status", status));
    rows.push(("records", inv.record_count().to_string().into()));
    rows
}

fn window_text(inv: &Invocation) -> String {
    inv.window().map_or_else(
        || "none (TumblingWindowInSeconds = 0)".into(),
        |w| {
            format!(
                "[{}, {})",
                crate::model::iso_seconds(w.start_ms),
                clock_seconds(w.end_ms)
            )
        },
    )
}

fn kind_text(inv: &Invocation) -> &'static str {
    match (inv.kind, inv.is_retry()) {
        (Kind::Aggregate, false) => "aggregate",
        (Kind::Aggregate, true) => "aggregate (retry)",
        (Kind::Final, _) => "final",
        (Kind::Early, _) => "early termination",
    }
}

fn environment_text(inv: &Invocation) -> Option<String> {
    const COLD: &str = "cold start: a new execution environment (its init is in the modelled time)";
    let cold = inv.flags & flags::COLD_START != 0;
    match (inv.environment(), cold) {
        (Some(env), true) => Some(format!("#{env}, {COLD}")),
        (Some(env), false) => Some(format!("#{env}, warm")),
        (None, true) => Some(COLD.to_owned()),
        (None, false) => None,
    }
}

fn time_text(inv: &Invocation) -> String {
    let measured = inv
        .measured_us()
        .map(|us| format!(" (handler measured {:.1} ms)", us as f64 / 1000.0))
        .unwrap_or_default();
    format!(
        "{} to {}, {} ms modelled{measured}",
        iso_millis(inv.start_ms),
        clock_seconds(inv.end_ms),
        inv.end_ms - inv.start_ms
    )
}

/// The tab strip, with counts on the tabs that list things.
fn tabs_ui(ui: &mut Ui, inv: &Invocation, st: &mut Inspector) {
    ui.horizontal_wrapped(|ui| {
        for tab in Tab::ALL {
            let count = match tab {
                Tab::Records => format!(" ({})", inv.record_count()),
                Tab::Logs => format!(" ({})", inv.logs().len()),
                Tab::Writes => format!(" ({})", st.writes.len()),
                _ => String::new(),
            };
            ui.selectable_value(&mut st.tab, tab, format!("{}{count}", tab.label()));
        }
    });
}

/// Input and returned state as trees, changes highlighted.
fn state_ui(ui: &mut Ui, inv: &Invocation, st: &Inspector, pal: &Palette) {
    egui::ScrollArea::vertical()
        .id_salt("state-scroll")
        .show(ui, |ui| {
            ui.label(
                RichText::new(format!("Input state ({} bytes)", inv.state_in.json_len())).strong(),
            );
            json_tree_ui(ui, "state-in", &st.state_in, None, pal.changed);
            ui.add_space(6.0);
            match &st.state_out {
                Some(out) => {
                    let len = inv.state_out.as_ref().map_or(0, |s| s.json_len());
                    ui.label(
                        RichText::new(format!("Returned state ({len} bytes; changes highlighted)"))
                            .strong(),
                    );
                    json_tree_ui(ui, "state-out", out, Some(&st.state_in), pal.changed);
                }
                None => {
                    ui.label(RichText::new("No state returned.").strong());
                }
            }
        });
}

fn logs_ui(ui: &mut Ui, inv: &Invocation) {
    egui::ScrollArea::vertical().id_salt("logs").show(ui, |ui| {
        if inv.logs().is_empty() {
            ui.label("The handler printed nothing.");
        }
        for l in inv.logs() {
            ui.label(RichText::new(l).monospace());
        }
    });
}

fn writes_ui(ui: &mut Ui, writes: &[crate::handlers::TableWrite], pal: &Palette) {
    egui::ScrollArea::vertical()
        .id_salt("writes")
        .show(ui, |ui| {
            if writes.is_empty() {
                ui.label("No table writes.");
            }
            for (i, w) in writes.iter().enumerate() {
                ui.label(RichText::new(format!("{} {}", w.op, w.table)).strong());
                json_tree_ui(ui, &format!("write-{i}"), &w.item, None, pal.changed);
            }
        });
}

/// A long JSON text, virtualised by line, with a copy button.
fn text_ui(ui: &mut Ui, id: &str, text: &str, lines: &[(usize, usize)]) {
    ui.horizontal(|ui| {
        if ui
            .button("Copy")
            .on_hover_text("Copy to the clipboard")
            .clicked()
        {
            ui.ctx().copy_text(text.to_owned());
        }
        ui.label(format!("{} bytes pretty-printed", text.len()));
    });
    let row_h = ui.text_style_height(&egui::TextStyle::Monospace);
    egui::ScrollArea::both()
        .id_salt(id)
        .auto_shrink([false, false])
        .show_rows(ui, row_h, lines.len(), |ui, rows| {
            for r in rows {
                let (s, e) = lines[r];
                // Extend, not wrap: a wrapped line would restart at column 0 and hide the
                // indentation that shows the nesting.
                ui.add(egui::Label::new(RichText::new(&text[s..e]).monospace()).extend());
            }
        });
}

fn records_ui(ui: &mut Ui, run: &Run, inv: &Invocation) {
    let range = inv.record_range();
    if range.is_empty() {
        ui.label(match inv.kind {
            Kind::Final => "A final invocation carries no records (\"Records\": []): only the window's state, to store.",
            Kind::Early => "An early-termination invocation carries no records: only the oversized state.",
            Kind::Aggregate => "No records.",
        });
        return;
    }
    use egui_extras::{Column, TableBuilder};
    let row_h = ui.text_style_height(&egui::TextStyle::Monospace) + 4.0;
    let ddb = run.stream.source == crate::model::Source::Dynamodb;
    TableBuilder::new(ui)
        .striped(true)
        .resizable(true)
        .column(Column::auto().at_least(40.0))
        .column(Column::auto().at_least(90.0))
        .column(Column::auto().at_least(70.0))
        .column(Column::remainder().at_least(120.0))
        .header(18.0, |mut h| {
            h.col(|ui| {
                ui.strong("sequence");
            });
            h.col(|ui| {
                ui.strong("arrival");
            });
            h.col(|ui| {
                ui.strong(if ddb { "key" } else { "partition key" });
            });
            h.col(|ui| {
                ui.strong(if ddb {
                    "event / NewImage"
                } else {
                    "data (decoded)"
                });
            });
        })
        .body(|body| {
            body.rows(row_h, range.len(), |mut row| {
                let i = range.start + row.index();
                let seq = run.stream.seq(i);
                row.col(|ui| {
                    let short = if seq.len() > 12 {
                        format!("…{}", &seq[seq.len() - 10..])
                    } else {
                        seq.to_string()
                    };
                    ui.label(RichText::new(short).monospace())
                        .on_hover_text(seq.as_ref());
                });
                row.col(|ui| {
                    ui.label(
                        RichText::new(crate::model::arrival_clock(
                            run.stream.source,
                            run.stream.ts_ms[i],
                        ))
                        .monospace(),
                    );
                });
                row.col(|ui| {
                    ui.label(RichText::new(run.stream.partition_key(i)).monospace());
                });
                row.col(|ui| {
                    let payload = crate::app::panels::payload_text(&run.stream, i, usize::MAX);
                    let text = if ddb {
                        format!("{} {payload}", run.stream.event_name(i).as_str())
                    } else {
                        payload
                    };
                    ui.add(egui::Label::new(RichText::new(text).monospace()).truncate())
                        .on_hover_text(
                            "the whole payload is in the Event JSON tab (base64) and decoded here",
                        );
                });
            });
        });
}

fn cut_reason(reason: Reason, run: &Run) -> String {
    let s = &run.spec.settings;
    match reason {
        Reason::BatchSize => format!("BatchSize ({}) records were available", s.batch_size),
        Reason::PayloadLimit => {
            "the next record would push the event past the 6 MB payload limit".into()
        }
        Reason::WindowBoundary => {
            "the next record belongs to the next window (a batch never spans two)".into()
        }
        Reason::BatchingWindow => format!(
            "the batching window ({} s) expired",
            s.max_batching_window_s
        ),
        Reason::CaughtUp => "these were all the records the last read returned".into(),
        Reason::ShardEnd => "the shard ended after these records".into(),
        _ => String::new(),
    }
}

/// One plain-language line on why this invocation happened.
pub fn explain(run: &Run, inv: &Invocation) -> String {
    let window = inv
        .window()
        .map(|w| format!("{}–{}", clock_seconds(w.start_ms), clock_seconds(w.end_ms)));
    let shard = inv.shard;
    let grace = run.spec.settings.close_grace_s;
    let mut s = match (inv.kind, inv.reason, &window) {
        (Kind::Aggregate, Reason::Retry, _) => format!(
            "Retry (attempt {}) of a batch that failed: same records, same input state, after a backoff.",
            inv.attempt
        ),
        (Kind::Aggregate, Reason::Bisect, _) => {
            "Half of a failed batch (BisectBatchOnFunctionError); splitting does not count as a retry.".into()
        }
        (Kind::Aggregate, Reason::PartialRetry, _) => {
            "Re-delivery from the first record reported in batchItemFailures, with the state returned alongside.".into()
        }
        (Kind::Aggregate, reason, None) => format!(
            "Batch of {} record(s) on shard {shard} without tumbling windows (stateless); cut here because {}.",
            inv.record_count(),
            cut_reason(reason, run)
        ),
        (Kind::Aggregate, reason, Some(w)) => {
            let first_of_window = run
                .index
                .by_shard
                .get(shard as usize)
                .and_then(|list| {
                    let pos = list.iter().position(|&k| k + 1 == inv.n)?;
                    Some(pos == 0 || run.trace.invocations[list[pos - 1] as usize].window() != inv.window()
                        || run.trace.invocations[list[pos - 1] as usize].kind == Kind::Early)
                })
                .unwrap_or(true);
            let state = if inv.flags & flags::CARRIED_STATE != 0 {
                "state carried over from the previous window (teaching mode, not AWS behaviour)".to_owned()
            } else if first_of_window {
                "state starts empty".to_owned()
            } else {
                "state is what the previous invocation of this window returned".to_owned()
            };
            format!(
                "{} batch of window {w} on shard {shard}: {state}. Cut here because {}.",
                if first_of_window { "First" } else { "Next" },
                cut_reason(reason, run)
            )
        }
        (Kind::Final, Reason::NextWindowRecord, Some(w)) => format!(
            "Final invocation of window {w}: it closed because a record of the next window arrived; no records, state ready to store."
        ),
        (Kind::Final, Reason::GraceExpired, Some(w)) => format!(
            "Final invocation of window {w}: no new record came for the close grace ({grace} s, modelling choice), so the window is over; no records, state ready to store."
        ),
        (Kind::Final, Reason::ShardEnded, Some(w)) => {
            format!("Final invocation of window {w}: the shard ended; no records, state ready to store.")
        }
        (Kind::Final, _, Some(w)) => format!("Final invocation of window {w}."),
        (Kind::Early, _, Some(w)) => format!(
            "Early termination of window {w}: the state passed 1 MB ({} bytes). The same window continues with {{}} afterwards.",
            inv.state_in.json_len()
        ),
        _ => String::new(),
    };
    if inv.is_retry() && inv.kind != Kind::Aggregate {
        s = format!(
            "Attempt {} — {s} (a failing final invocation is retried until it succeeds)",
            inv.attempt
        );
    }
    if inv.status == Status::Failed {
        s.push_str(" It failed.");
    }
    s
}

/// Where a user would get bitten (the same warnings the command line reports).
pub fn warnings(_run: &Run, inv: &Invocation) -> Vec<String> {
    crate::sim::warnings::invocation_warnings_untyped(inv)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    /// The demo's settings over `count` generated orders, `per_s` a second, in batches of up
    /// to `batch_size`.
    fn run_of(count: u64, per_s: f64, batch_size: u32) -> Run {
        let mut spec = crate::run::RunSpec::demo();
        spec.settings.batch_size = batch_size;
        let opts = crate::generate::GenOptions {
            count,
            interval_ms: 1000.0 / per_s,
            shards: 1,
            ..Default::default()
        };
        let stream = Arc::new(crate::generate::generate_stream(&opts, Default::default()));
        let mut h = crate::handlers::builtin::Builtin::new(
            crate::handlers::builtin::BuiltinSpec::parse("builtin:sum:Item.sales").unwrap(),
        );
        let trace = crate::sim::simulate(&stream, &spec.settings, &mut h).unwrap();
        Run {
            spec,
            index: Arc::new(crate::index::RunIndex::build(&stream, &trace)),
            source: stream.clone(),
            stream,
            dropped: Arc::default(),
            trace: Arc::new(trace),
            took: Duration::ZERO,
            generation: 1,
            load_notes: Vec::new(),
        }
    }

    #[test]
    fn big_batches_build_their_event_on_a_worker_and_small_ones_in_the_frame() {
        let small = run_of(200, 20.0, 100);
        let first = &small.trace.invocations[0];
        assert!((1..=100).contains(&first.record_count()));
        assert!(event_at_hand(&small, first));

        let big = run_of(5_000, 2_000.0, 1_000);
        let (k, first) = (big.trace.invocations.iter().enumerate())
            .max_by_key(|(_, i)| i.record_count())
            .unwrap();
        assert!(
            first.record_count() > EVENT_IN_FRAME,
            "{}",
            first.record_count()
        );
        assert!(!event_at_hand(&big, first));
        let rx = build_event(egui::Context::default(), big.clone(), k as u32);
        let (text, lines) = rx.recv_timeout(Duration::from_secs(30)).unwrap();
        assert_eq!(
            text,
            event_text(&big, first),
            "the frame's text, built elsewhere"
        );
        assert_eq!(lines, line_spans(&text));
        assert_eq!(
            text.matches("\"sequenceNumber\"").count(),
            first.record_count()
        );
    }
}
