//! Output formats other tools rely on: results (table, JSON, CSV) and the invocation log
//! (JSON Lines). Documented in the README; byte-stable for a given run.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::handlers::event::{EventContext, event_json_with};
use crate::handlers::{HandlerError, TableWrite};
use crate::model::iso_seconds;
use crate::model::settings::Settings;
use crate::model::stream::Stream;
use crate::sim::trace::{Trace, WindowResult};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultRow<'a> {
    shard_id: &'a str,
    window_start: String,
    window_end: String,
    records: u32,
    invocations: u32,
    final_state: Option<Map<String, Value>>,
}

fn result_row<'a>(stream: &'a Stream, w: &WindowResult) -> ResultRow<'a> {
    ResultRow {
        shard_id: &stream.shards[w.shard as usize].id,
        window_start: iso_seconds(w.window.start_ms),
        window_end: iso_seconds(w.window.end_ms),
        records: w.records,
        invocations: w.invocations,
        final_state: w.final_state.as_ref().map(|s| s.to_json()),
    }
}

/// Results as a JSON array of `{shardId, windowStart, windowEnd, records, invocations,
/// finalState}`, in shard then window order.
pub fn results_json(stream: &Stream, trace: &Trace) -> String {
    let rows: Vec<ResultRow<'_>> = trace
        .windows
        .iter()
        .map(|w| result_row(stream, w))
        .collect();
    serde_json::to_string_pretty(&rows).unwrap_or_else(|_| "[]".into()) + "\n"
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// Results as CSV with a header; `finalState` is its compact JSON.
pub fn results_csv(stream: &Stream, trace: &Trace) -> String {
    let mut out = String::from("shardId,windowStart,windowEnd,records,invocations,finalState\n");
    for w in &trace.windows {
        let r = result_row(stream, w);
        let state = w
            .final_state
            .as_ref()
            .map(|s| s.to_json_string())
            .unwrap_or_default();
        out.push_str(&format!(
            "{},{},{},{},{},{}\n",
            csv_field(r.shard_id),
            r.window_start,
            r.window_end,
            r.records,
            r.invocations,
            csv_field(&state)
        ));
    }
    out
}

/// Results as an aligned text table for terminals.
pub fn results_table(stream: &Stream, trace: &Trace) -> String {
    let rows: Vec<[String; 5]> = trace
        .windows
        .iter()
        .map(|w| {
            let state = match (&w.final_state, w.status) {
                (Some(s), _) => s.to_json_string(),
                (None, crate::sim::trace::WindowStatus::Stalled) => "(stalled)".into(),
                (None, _) => "(open)".into(),
            };
            let window = if w.window.end_ms > w.window.start_ms {
                format!(
                    "{} – {}",
                    iso_seconds(w.window.start_ms),
                    &iso_seconds(w.window.end_ms)[11..]
                )
            } else {
                "(no windows)".into()
            };
            [
                stream.shards[w.shard as usize].id.clone(),
                window,
                w.records.to_string(),
                w.invocations.to_string(),
                state,
            ]
        })
        .collect();
    let header = [
        "shard",
        "window (UTC)",
        "records",
        "invocations",
        "final state",
    ];
    let mut width = header.map(|h| h.chars().count());
    for r in &rows {
        for (k, c) in r.iter().enumerate() {
            width[k] = width[k].max(c.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: [&str; 5], out: &mut String| {
        for (k, c) in cells.iter().enumerate() {
            let pad = width[k] - c.chars().count();
            if k == 2 || k == 3 {
                out.push_str(&" ".repeat(pad));
                out.push_str(c);
            } else {
                out.push_str(c);
                if k < 4 {
                    out.push_str(&" ".repeat(pad));
                }
            }
            if k < 4 {
                out.push_str("  ");
            }
        }
        out.push('\n');
    };
    line(header, &mut out);
    for r in &rows {
        line([&r[0], &r[1], &r[2], &r[3], &r[4]], &mut out);
    }
    out
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventLine<'a> {
    n: u32,
    shard_id: &'a str,
    kind: &'static str,
    attempt: u32,
    start_ms: i64,
    end_ms: i64,
    event: Box<RawValue>,
    response: Value,
    error: Option<&'a HandlerError>,
    logs: &'a [String],
    writes: Vec<WriteOut<'a>>,
}

#[derive(Serialize)]
struct WriteOut<'a> {
    table: &'a str,
    item: &'a Value,
}

/// The invocation log: one JSON line per attempt, in processing order.
pub fn write_events_jsonl(
    out: &mut dyn Write,
    stream: &Stream,
    settings: &Settings,
    trace: &Trace,
) -> io::Result<()> {
    let ctx = EventContext::new(stream, settings.seed);
    let mut w = io::BufWriter::new(out);
    for inv in &trace.invocations {
        let req = inv.request(stream, settings);
        let event = RawValue::from_string(event_json_with(&req, &ctx))
            .map_err(|e| io::Error::other(e.to_string()))?;
        let writes: &[TableWrite] = inv.writes();
        let line = EventLine {
            n: inv.n,
            shard_id: &stream.shards[inv.shard as usize].id,
            kind: inv.kind.name(),
            attempt: inv.attempt,
            start_ms: inv.start_ms,
            end_ms: inv.end_ms,
            event,
            response: inv.response_json(),
            error: inv.error(),
            logs: inv.logs(),
            writes: writes
                .iter()
                .map(|x| WriteOut {
                    table: &x.table,
                    item: &x.item,
                })
                .collect(),
        };
        serde_json::to_writer(&mut w, &line).map_err(io::Error::other)?;
        w.write_all(b"\n")?;
    }
    w.flush()
}
