//! Output formats other tools rely on: results (table, JSON, CSV) and the invocation log
//! (JSON Lines). Documented in the README; byte-stable for a given run.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::handlers::HandlerError;
use crate::handlers::event::{EventContext, event_json_with};
use crate::model::iso_seconds;
use crate::model::settings::Settings;
use crate::model::stream::Stream;
use crate::sim::trace::{Trace, WindowResult};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultRow<'a> {
    shard_id: &'a str,
    /// The shards this one was split, merged or rolled over from (absent for original shards).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    parent_shard_ids: Vec<&'a str>,
    window_start: String,
    window_end: String,
    records: u32,
    invocations: u32,
    final_state: Option<Map<String, Value>>,
}

fn result_row<'a>(stream: &'a Stream, w: &WindowResult) -> ResultRow<'a> {
    ResultRow {
        shard_id: &stream.shards[w.shard as usize].id,
        parent_shard_ids: stream.parent_ids(w.shard as usize),
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
    let mut out = Vec::new();
    match write_results_json(&mut out, stream, trace) {
        Ok(()) => String::from_utf8(out).unwrap_or_default(),
        Err(_) => "[]\n".into(),
    }
}

/// [`results_json`] written straight to `w`, row by row (no copy of the whole text). Generic
/// over the writer: the serializer writes a few bytes at a time, and through `dyn Write` each
/// of those was a call that could not be inlined into the buffer's copy.
pub fn write_results_json<W: Write>(w: &mut W, stream: &Stream, trace: &Trace) -> io::Result<()> {
    struct Rows<'a>(&'a Stream, &'a [WindowResult]);
    impl Serialize for Rows<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(self.1.iter().map(|w| result_row(self.0, w)))
        }
    }
    serde_json::to_writer_pretty(&mut *w, &Rows(stream, &trace.windows))
        .map_err(io::Error::other)?;
    w.write_all(b"\n")
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
    /// Parents of the shard (absent for original shards).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    parent_shard_ids: Vec<&'a str>,
    kind: &'static str,
    attempt: u32,
    start_ms: i64,
    end_ms: i64,
    event: Box<RawValue>,
    response: Value,
    error: Option<&'a HandlerError>,
    logs: &'a [String],
    writes: Vec<WriteOut<'a>>,
    /// The execution environment that ran it (user handlers).
    #[serde(skip_serializing_if = "Option::is_none")]
    environment: Option<u32>,
    /// Whether it was that environment's first invocation.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    cold_start: bool,
    /// What the inspector would warn about on this invocation (absent when nothing).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<String>,
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
        let writes = trace.writes(stream, inv);
        let line = EventLine {
            n: inv.n,
            shard_id: &stream.shards[inv.shard as usize].id,
            parent_shard_ids: stream.parent_ids(inv.shard as usize),
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
            environment: inv.environment(),
            cold_start: inv.flags & crate::sim::trace::flags::COLD_START != 0,
            warnings: crate::sim::warnings::invocation_warnings(inv),
        };
        serde_json::to_writer(&mut w, &line).map_err(io::Error::other)?;
        w.write_all(b"\n")?;
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handlers::builtin::{Builtin, BuiltinSpec};
    use crate::model::stream::{InputRecord, StreamBuilder, StreamMeta};

    /// Two shards' orders whose group labels need CSV quoting (a comma and a quote).
    fn run() -> (Stream, Settings, Trace) {
        let mut b = StreamBuilder::new(crate::model::Source::Kinesis, 2, StreamMeta::default())
            .payloads_are_json(true);
        for (k, store) in ["a,b", "say \"hi\"", "plain", "a,b"].iter().enumerate() {
            b.push(InputRecord {
                ts_ms: crate::generate::DEFAULT_START_MS + k as i64 * 1_000,
                partition_key: format!("key-{k}"),
                data: serde_json::json!({"Item": {"store": store, "sales": k + 1}})
                    .to_string()
                    .into_bytes(),
                ..Default::default()
            });
        }
        let stream = b.finish();
        let settings = Settings::default();
        let spec = BuiltinSpec::parse("builtin:sum:Item.sales:by=Item.store").unwrap();
        let trace = crate::sim::simulate(&stream, &settings, &mut Builtin::new(spec)).unwrap();
        (stream, settings, trace)
    }

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field(""), "");
    }

    #[test]
    fn csv_and_json_results_say_the_same() {
        let (stream, _, trace) = run();
        let json: Vec<Value> = serde_json::from_str(&results_json(&stream, &trace)).unwrap();
        let csv_text = results_csv(&stream, &trace);
        let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
        let header: Vec<String> = reader
            .headers()
            .unwrap()
            .iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(
            header,
            [
                "shardId",
                "windowStart",
                "windowEnd",
                "records",
                "invocations",
                "finalState"
            ]
        );
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), json.len());
        assert!(!rows.is_empty());
        for (row, j) in rows.iter().zip(&json) {
            assert_eq!(&row[0], j["shardId"].as_str().unwrap());
            assert_eq!(&row[1], j["windowStart"].as_str().unwrap());
            assert_eq!(&row[2], j["windowEnd"].as_str().unwrap());
            assert_eq!(
                row[3].parse::<u64>().unwrap(),
                j["records"].as_u64().unwrap()
            );
            assert_eq!(
                row[4].parse::<u64>().unwrap(),
                j["invocations"].as_u64().unwrap()
            );
            let state: Value = serde_json::from_str(&row[5]).unwrap();
            assert_eq!(state, j["finalState"]);
        }
        let all: std::collections::BTreeMap<String, i64> = json
            .iter()
            .flat_map(|j| j["finalState"].as_object().unwrap().clone())
            .fold(Default::default(), |mut m, (k, v)| {
                *m.entry(k).or_default() += v.as_i64().unwrap();
                m
            });
        assert_eq!(all["a,b"], 1 + 4);
        assert_eq!(all["say \"hi\""], 2);
    }

    #[test]
    fn the_table_aligns_its_columns() {
        let (stream, _, trace) = run();
        let table = results_table(&stream, &trace);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), trace.windows.len() + 1);
        let col = |l: &str| l.find("2026-").unwrap();
        assert!(
            lines[1..].iter().all(|l| col(l) == col(lines[1])),
            "{table}"
        );
    }

    #[test]
    fn the_event_log_has_one_line_per_attempt_with_its_exact_event() {
        let (stream, settings, trace) = run();
        let mut out = Vec::new();
        write_events_jsonl(&mut out, &stream, &settings, &trace).unwrap();
        let lines: Vec<Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), trace.invocations.len());
        for (line, inv) in lines.iter().zip(&trace.invocations) {
            assert_eq!(line["n"], inv.n);
            assert_eq!(line["kind"], inv.kind.name());
            assert_eq!(
                line["shardId"],
                stream.shards[inv.shard as usize].id.as_str()
            );
            let event: Value =
                serde_json::from_str(&inv.request(&stream, &settings).event_json()).unwrap();
            assert_eq!(line["event"], event);
            assert_eq!(
                line["writes"].as_array().unwrap().len(),
                trace.writes(&stream, inv).len()
            );
        }
    }
}
