//! `run`: a spec from flags (and a template or scenario), the run, and its outputs: results on
//! stdout, `--events`, `--trace-out`, `--destination-out`, and the summary on stderr.

use std::io::Write as _;

use super::args::{Format, RunArgs};
use super::{
    CliError, adopt_template, failure, filter_criteria_file, load_stream, run_spec, scenario_of,
    template_of, usage,
};
use crate::model::settings::Settings;
use crate::model::stream::Stream;
use crate::sim::trace::{RanOn, Status, Trace};

pub(super) fn run(args: &RunArgs) -> Result<(), CliError> {
    let scenario = scenario_of(args)?;
    let template = template_of(args)?;
    let mut settings = match (&scenario, &template) {
        (Some(s), _) => s.settings.clone(),
        (None, Some(t)) => t.settings.clone(),
        (None, None) => args.mapping.settings(),
    };
    if scenario.is_some() {
        settings
            .filters
            .extend(args.mapping.filters.iter().cloned());
    }
    if let Some(path) = &args.mapping.filter_criteria {
        settings.filters.extend(filter_criteria_file(path)?);
    }
    settings
        .check()
        .map_err(|e| usage(format!("invalid settings:\n{e}")))?;
    if let Some(path) = &args.events {
        crate::output::check_output("--events", path, &args.input).map_err(usage)?;
    }
    if let Some(path) = &args.trace_out {
        crate::output::check_output("--trace-out", path, &args.input).map_err(usage)?;
    }
    if let Some(path) = &args.destination_out {
        crate::output::check_output("--destination-out", path, &args.input).map_err(usage)?;
        if let Some(events) = &args.events
            && crate::output::same_file(events, path)
        {
            return Err(usage(format!(
                "--destination-out {} is also the --events file: one would overwrite the other",
                path.display()
            )));
        }
    }
    let mut spec = run_spec(args, scenario.as_ref(), settings)?;
    if let Some(t) = &template {
        adopt_template(&mut spec, t, args);
    }
    let from_template = template.as_ref().and_then(|t| t.handler.clone());
    // An explicit --handler wins; then the scenario's; then the template's; then the stream's
    // own source's default (an event file can say DynamoDB without --source).
    let settle = |scenario_handler: &str, source| match (&args.handler, &args.scenario) {
        (Some(h), _) => h.clone(),
        (None, Some(_)) => scenario_handler.to_owned(),
        (None, None) => from_template
            .clone()
            .unwrap_or_else(|| crate::handlers::default_spec(source).to_owned()),
    };
    // The likely handler first, so loading can read its field as it parses.
    spec.handler = settle(&spec.handler, spec.stream_source);
    let stream = load_stream(&spec)?;
    spec.handler = settle(&spec.handler, stream.source);
    let sim =
        crate::run::simulate(&spec, &stream, &mut Default::default()).map_err(|e| match e {
            crate::sim::SimError::Settings(m) => usage(format!("invalid settings:\n{m}")),
            crate::sim::SimError::Handler(m)
            | crate::sim::SimError::Input(m)
            | crate::sim::SimError::Spec(m) => usage(m),
        })?;
    unchanged_input(&stream)?;
    results_and_summary(args, sim.stream(&stream), &spec, &sim).map_err(|e| {
        // An output that failed because the input changed is the input's fault (exit code 2).
        unchanged_input(&stream).err().unwrap_or(e)
    })?;
    // The process ends here: handing a million invocations and the stream's arenas back to
    // the allocator one by one would cost more than writing the results did.
    std::mem::forget(sim);
    std::mem::forget(stream);
    Ok(())
}

/// Payloads left in the input file were read as they were loaded (the file did not change
/// under the run).
fn unchanged_input(stream: &Stream) -> Result<(), CliError> {
    match stream.payload_fault() {
        Some(why) => Err(usage(why.to_owned())),
        None => Ok(()),
    }
}

/// The results, then the summary on stderr. The summary reads every invocation: it is worded
/// on another core while the results are written.
fn results_and_summary(
    args: &RunArgs,
    delivered: &Stream,
    spec: &crate::run::RunSpec,
    sim: &crate::run::Simulated,
) -> Result<(), CliError> {
    let (written, text) = std::thread::scope(|s| {
        let words = || summary(delivered, &sim.trace, &spec.handler, sim.took);
        let worded = std::thread::Builder::new()
            .name("tumblescope-summary".into())
            .spawn_scoped(s, words);
        let written = write_results(args, delivered, &spec.settings, &sim.trace);
        let text = worded.ok().and_then(|h| h.join().ok());
        (written, text.unwrap_or_else(words))
    });
    written?;
    eprint!("{text}");
    Ok(())
}

/// Results on stdout in the chosen format, and the invocations to `--events`.
fn write_results(
    args: &RunArgs,
    stream: &Stream,
    settings: &Settings,
    trace: &Trace,
) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    let written = match args.format {
        Format::Table => stdout.write_all(crate::export::results_table(stream, trace).as_bytes()),
        Format::Json => {
            let mut w = std::io::BufWriter::with_capacity(1 << 16, &mut stdout);
            crate::export::write_results_json(&mut w, stream, trace).and_then(|()| w.flush())
        }
        Format::Csv => stdout.write_all(crate::export::results_csv(stream, trace).as_bytes()),
    };
    written.map_err(|e| failure(e.to_string()))?;
    if let Some(path) = &args.events {
        // Events carry payloads read back from the input: a file changed meanwhile fails
        // the write (nothing is left behind) instead of writing other bytes.
        let write = |w: &mut dyn std::io::Write| {
            crate::export::write_events_jsonl(w, stream, settings, trace)?;
            match stream.payload_fault() {
                Some(why) => Err(std::io::Error::other(why.to_owned())),
                None => Ok(()),
            }
        };
        if crate::output::is_stdio(path) {
            write(&mut stdout)
        } else {
            crate::output::write_with(path, write)
        }
        .map_err(|e| failure(format!("{}: {e}", path.display())))?;
    }
    if let Some(path) = &args.trace_out {
        let text = crate::trace_events::trace_events_json(stream, trace);
        if crate::output::is_stdio(path) {
            stdout.write_all(text.as_bytes())
        } else {
            crate::output::write_atomically(path, text.as_bytes())
        }
        .map_err(|e| failure(format!("{}: {e}", path.display())))?;
    }
    if let Some(path) = &args.destination_out {
        let write = |w: &mut dyn std::io::Write| {
            crate::destination::write_jsonl(w, stream, trace, settings.seed)
        };
        if crate::output::is_stdio(path) {
            write(&mut stdout)
        } else {
            crate::output::write_with(path, write)
        }
        .map_err(|e| failure(format!("{}: {e}", path.display())))?;
    }
    Ok(())
}

/// A few lines about the run for stderr.
pub fn summary(stream: &Stream, trace: &Trace, spec: &str, took: std::time::Duration) -> String {
    let failed = trace
        .invocations
        .iter()
        .filter(|i| i.status == Status::Failed)
        .count();
    let mut s = format!(
        "{} records on {} {} shard(s), {} window(s), {} invocation(s) ({} failed), handler {spec}; simulated in {:.1} ms\n",
        stream.len(),
        stream.shards.len(),
        stream.source.name(),
        trace.windows.len(),
        trace.invocations.len(),
        failed,
        took.as_secs_f64() * 1000.0
    );
    if let Some(f) = &trace.filter {
        s.push_str(&filter_line(f));
    }
    s.push_str(&ran_on_line(trace.ran_on));
    for w in &trace.warnings {
        s.push_str(&format!("warning: {w}\n"));
    }
    for (text, count, first) in crate::sim::warnings::summarize(&trace.invocations) {
        s.push_str(&format!(
            "warning: {count} invocation(s), first {first}: {text}\n"
        ));
    }
    for d in &trace.discards {
        s.push_str(&format!(
            "discarded: {} record(s) on {} after {} attempt(s) ({}), sent to the on-failure destination\n",
            d.records.len(),
            stream.shards[d.shard as usize].id,
            d.attempts,
            d.condition
        ));
    }
    s.push_str(&lineage_lines(stream, trace));
    for u in &trace.unread {
        s.push_str(&format!(
            "not read: {} record(s) on {}, {} (at {})\n",
            u.records.len(),
            stream.shards[u.shard as usize].id,
            u.reason.describe(),
            crate::model::iso_millis(u.at_ms)
        ));
    }
    for st in &trace.stalls {
        s.push_str(&format!(
            "stalled: {} at {} (invocation {}): {}; {} record(s) left unprocessed\n",
            stream.shards[st.shard as usize].id,
            crate::model::iso_millis(st.at_ms),
            st.invocation,
            st.reason,
            st.unprocessed
        ));
    }
    s
}

/// What the mapping's filters let through.
fn filter_line(f: &crate::filter::FilterReport) -> String {
    let per: Vec<String> = f
        .matched_per_filter
        .iter()
        .enumerate()
        .map(|(k, n)| format!("filter {}: {n}", k + 1))
        .collect();
    let not_json = if f.dropped_not_json > 0 {
        format!(
            ", {} of them because their data is not JSON",
            f.dropped_not_json
        )
    } else {
        String::new()
    };
    format!(
        "filters: {} of {} record(s) passed ({}); {} dropped{not_json}\n",
        f.passed,
        f.passed + f.dropped,
        per.join(", "),
        f.dropped,
    )
}

/// How the shards ran, when it was not simply in order.
fn ran_on_line(ran_on: RanOn) -> String {
    match ran_on {
        RanOn::OneThread => String::new(),
        RanOn::Threads(n) => format!(
            "shards ran side by side on {n} threads, each with its own runtime (the trace is a sequential run's)\n"
        ),
        RanOn::InOrderAfterTableRead => "note: shards ran in order on one thread: an invocation read the stand-in table after another shard's runtime wrote to it, which a side-by-side run cannot reproduce\n".to_owned(),
    }
}

/// One line per closed shard: when its end was read and which children it has.
fn lineage_lines(stream: &Stream, trace: &Trace) -> String {
    let mut s = String::new();
    for &(idx, at) in &trace.shard_ends {
        let children: Vec<&str> = stream
            .shards
            .iter()
            .filter(|c| c.parents.contains(&idx))
            .map(|c| c.id.as_str())
            .collect();
        let shard = &stream.shards[idx as usize];
        s.push_str(&format!(
            "shard end: {} closed at {}, read to its end at {}; children: {}\n",
            shard.id,
            shard
                .closed_ms
                .map_or_else(|| "?".into(), crate::model::iso_millis),
            crate::model::iso_millis(at),
            if children.is_empty() {
                "none".into()
            } else {
                children.join(", ")
            }
        ));
    }
    s
}
