//! The headless command line: `generate` and `run`. Deterministic output; exit code 2 for bad
//! settings or input.

use std::io::Write as _;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::generate::{GenOptions, Generator, KeyStrategy, write_order_line};
use crate::model::settings::{EndOfInput, GraceFrom, Settings};
use crate::model::stream::{Stream, StreamMeta};
use crate::model::{Source, StreamViewType};
use crate::run::{RunSpec, SourceSpec};
use crate::sim::trace::{Status, Trace};

/// tumblescope: see and test how AWS Lambda processes Kinesis and DynamoDB streams with tumbling
/// windows. Without a command it opens the app.
#[derive(Debug, Parser)]
#[command(name = "tumblescope", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// A stream file to open in the app.
    pub file: Option<PathBuf>,

    /// App: start on this scenario preset instead of the demo (ids: demo, running-total,
    /// pos-burst, skewed, sparse, big-state, failing-handler, dynamodb).
    #[arg(long)]
    pub scenario: Option<String>,

    /// App: select this invocation at start: a number, or `final` for the first final one.
    #[arg(long)]
    pub select: Option<String>,

    /// App: open this inspector tab (records, state, event, response, logs, writes).
    #[arg(long)]
    pub tab: Option<String>,

    /// App: light theme.
    #[arg(long)]
    pub light: bool,

    /// App: save a screenshot of the window to this PNG once the run is shown, then quit
    /// (how the README pictures are made).
    #[arg(long)]
    pub screenshot: Option<PathBuf>,

    /// Command.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Headless commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write an order stream (JSON Lines) like a point-of-sale producer's.
    Generate(GenerateArgs),
    /// Simulate the event source mapping and print per-(shard, window) results.
    Run(Box<RunArgs>),
}

/// `generate` options.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Generator options.
    #[command(flatten)]
    pub gen_: GenArgs,
    /// Kinesis or DynamoDB orders.
    #[arg(long, default_value = "kinesis")]
    pub source: Source,
    /// Shards (used by `--keys per-shard`).
    #[arg(long, default_value_t = 2)]
    pub shards: u32,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output file (default: standard output).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

/// Generator options shared by `generate` and `run`.
#[derive(Debug, Args, Clone)]
pub struct GenArgs {
    /// Number of orders.
    #[arg(long, default_value_t = 1000)]
    pub count: u64,
    /// Mean milliseconds between orders.
    #[arg(long, default_value_t = 250.0)]
    pub interval_ms: f64,
    /// Jitter of the interval, 0–1 (1: gaps from 0 to twice the mean).
    #[arg(long, default_value_t = 0.5)]
    pub jitter: f64,
    /// Partition keys: fixed:KEY, uniform:N, skewed:N[:EXPONENT] or per-shard.
    #[arg(long, default_value = "uniform:8")]
    pub keys: String,
    /// First timestamp, RFC 3339.
    #[arg(long, default_value = "2026-01-01T12:00:00Z")]
    pub start: String,
    /// Smallest sale.
    #[arg(long, default_value_t = 0)]
    pub sales_min: i64,
    /// Largest sale.
    #[arg(long, default_value_t = 100)]
    pub sales_max: i64,
    /// DynamoDB: share of orders that modify an earlier item.
    #[arg(long, default_value_t = 0.0)]
    pub modify_fraction: f64,
    /// DynamoDB: share of orders that remove an earlier item.
    #[arg(long, default_value_t = 0.0)]
    pub remove_fraction: f64,
}

impl GenArgs {
    fn options(&self, source: Source, shards: u32, seed: u64) -> Result<GenOptions, String> {
        let start_ms = crate::model::parse_rfc3339_ms(&self.start)
            .ok_or_else(|| format!("--start {:?} is not an RFC 3339 time", self.start))?;
        let opts = GenOptions {
            count: self.count,
            interval_ms: self.interval_ms,
            jitter: self.jitter,
            start_ms,
            keys: KeyStrategy::parse(&self.keys)?,
            shards,
            source,
            seed,
            sales_min: self.sales_min,
            sales_max: self.sales_max,
            modify_fraction: self.modify_fraction,
            remove_fraction: self.remove_fraction,
        };
        opts.check()?;
        Ok(opts)
    }
}

/// Output format of `run`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned text.
    Table,
    /// JSON array.
    Json,
    /// CSV with header.
    Csv,
}

/// `--grace-from` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GraceFromArg {
    /// Window end + grace.
    WindowEnd,
    /// Last record + grace.
    LastRecord,
}

/// `--end-of-input` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EndArg {
    /// Shards stay open; the last window closes by grace.
    Open,
    /// Shards end; the last window closes at once.
    ShardEnd,
}

/// `run` options.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Stream file(s): orders JSON Lines, generic JSON Lines or CSV, Lambda event files, or AWS
    /// CLI get-records output (detected from content; several files merge by time per shard).
    /// Without it, orders are generated from the generator options.
    #[arg(long, short, num_args = 1..)]
    pub input: Vec<PathBuf>,
    /// Input options.
    #[command(flatten)]
    pub load: LoadArgs,
    /// Handler: builtin:OP:FIELD[:by=pk|FIELD][:events=INSERT,...] (OP: sum, count, min, max,
    /// avg). Default: builtin:sum:Item.sales (Kinesis), builtin:sum:sales (DynamoDB).
    #[arg(long)]
    pub handler: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Write every invocation (event, response, timing) as JSON Lines to this file.
    #[arg(long)]
    pub events: Option<PathBuf>,
    /// Run a scenario preset (its stream, settings and handler; --handler overrides the
    /// handler): demo, running-total, pos-burst, skewed, sparse, big-state, failing-handler,
    /// dynamodb.
    #[arg(long, conflicts_with = "input")]
    pub scenario: Option<String>,
    /// Mapping settings.
    #[command(flatten)]
    pub mapping: MappingArgs,
    /// Generator options (without --input).
    #[command(flatten)]
    pub gen_: GenArgs,
}

/// How input files are read.
#[derive(Debug, Args, Clone)]
pub struct LoadArgs {
    /// Input format: auto, orders, jsonl, csv, events or get-records.
    #[arg(long, default_value = "auto")]
    pub input_format: String,
    /// Generic JSON Lines / CSV: the timestamp field (dotted path for JSON).
    #[arg(long, default_value = "timestamp")]
    pub ts_field: String,
    /// Generic records: timestamp unit (auto, seconds, millis, rfc3339).
    #[arg(long, default_value = "auto")]
    pub ts_unit: String,
    /// Generic records: the partition key field.
    #[arg(long, default_value = "partitionKey")]
    pub pk_field: String,
    /// Generic records: a field holding the shard (index or id); records keep it.
    #[arg(long)]
    pub shard_field: Option<String>,
    /// Skip bad records (and list them) instead of stopping at the first.
    #[arg(long)]
    pub skip_bad: bool,
}

impl LoadArgs {
    fn input(&self) -> Result<crate::run::InputSettings, String> {
        Ok(crate::run::InputSettings {
            format: match self.input_format.as_str() {
                "auto" => None,
                f => Some(f.parse()?),
            },
            fields: crate::ingest::FieldMap {
                timestamp: self.ts_field.clone(),
                unit: self.ts_unit.parse()?,
                partition_key: self.pk_field.clone(),
                shard: self.shard_field.clone(),
            },
            skip_bad: self.skip_bad,
        })
    }
}

/// Event source mapping settings.
#[derive(Debug, Args)]
pub struct MappingArgs {
    /// kinesis or dynamodb.
    #[arg(long, default_value = "kinesis")]
    pub source: Source,
    /// Shards.
    #[arg(long, default_value_t = 2)]
    pub shards: u32,
    /// TumblingWindowInSeconds, 0–900 (0 = no windows).
    #[arg(long, default_value_t = 30)]
    pub window: u32,
    /// BatchSize, 1–10000.
    #[arg(long, default_value_t = 100)]
    pub batch_size: u32,
    /// MaximumBatchingWindowInSeconds, 0–300.
    #[arg(long, default_value_t = 0)]
    pub batching_window: u32,
    /// ParallelizationFactor (must be 1 with windows).
    #[arg(long, default_value_t = 1)]
    pub parallelization_factor: u32,
    /// MaximumRetryAttempts, -1 (infinite) to 10000.
    #[arg(long, default_value_t = -1, allow_hyphen_values = true)]
    pub max_retry_attempts: i32,
    /// MaximumRecordAgeInSeconds: -1 (infinite) or 60–604800.
    #[arg(long, default_value_t = -1, allow_hyphen_values = true)]
    pub max_record_age: i32,
    /// BisectBatchOnFunctionError.
    #[arg(long)]
    pub bisect: bool,
    /// FunctionResponseTypes: ReportBatchItemFailures.
    #[arg(long)]
    pub report_batch_item_failures: bool,
    /// Modelling choice: an idle window closes this many seconds after its end (0–120).
    #[arg(long, default_value_t = 120)]
    pub close_grace: u32,
    /// Modelling choice: where the grace counts from.
    #[arg(long, value_enum, default_value = "window-end")]
    pub grace_from: GraceFromArg,
    /// NOT AWS behaviour (teaching mode): carry each window's final state into the next window.
    #[arg(long)]
    pub carry_state: bool,
    /// Modelling choice: a final invocation must return `state` too.
    #[arg(long)]
    pub strict_final_state: bool,
    /// Modelling choice: the early-termination invocation is not also final.
    #[arg(long)]
    pub early_not_final: bool,
    /// Modelling choice: the final invocation carries the window's last batch.
    #[arg(long)]
    pub final_includes_tail: bool,
    /// Modelling choice: keep the previous state on a partial batch failure.
    #[arg(long)]
    pub discard_state_on_partial_failure: bool,
    /// What the end of the input means.
    #[arg(long, value_enum, default_value = "open")]
    pub end_of_input: EndArg,
    /// Poll interval, ms (default: Kinesis 1000, DynamoDB 250).
    #[arg(long)]
    pub poll_interval_ms: Option<u32>,
    /// Shortest time between reads while catching up, ms (default: Kinesis 200, DynamoDB 250).
    #[arg(long)]
    pub read_interval_ms: Option<u32>,
    /// First retry backoff, ms (doubles per retry).
    #[arg(long, default_value_t = 1000)]
    pub retry_backoff_ms: u32,
    /// Longest retry backoff, ms.
    #[arg(long, default_value_t = 60_000)]
    pub retry_backoff_max_ms: u32,
    /// Modelled invocation time: fixed part, ms.
    #[arg(long, default_value_t = 8)]
    pub duration_base_ms: u32,
    /// Modelled invocation time: per record, µs.
    #[arg(long, default_value_t = 100)]
    pub duration_per_record_us: u32,
    /// Simulator limit: report a shard as stalled after this many failed attempts of a batch
    /// that AWS would retry forever.
    #[arg(long, default_value_t = 10)]
    pub stall_after: u32,
    /// Simulator limit: stop a shard after this many attempts of one batch, whatever the retry
    /// settings (1–1000000).
    #[arg(long, default_value_t = crate::model::settings::DEFAULT_ATTEMPT_LIMIT)]
    pub attempt_limit: u32,
    /// Function timeout, ms (external handlers).
    #[arg(long, default_value_t = 3000)]
    pub timeout_ms: u32,
    /// An environment variable of the function, KEY=VALUE (repeatable); user handlers receive
    /// these beside Lambda's reserved variables, and nothing of this shell's environment.
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_env)]
    pub env: Vec<(String, String)>,
    /// Kinesis stream's maximum record size, KiB (MaxRecordSizeInKiB, 1024–10240).
    #[arg(long, default_value_t = 1024)]
    pub max_record_size_kib: u32,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// DynamoDB key attribute (fills `Keys`).
    #[arg(long, default_value = "ID")]
    pub key_attribute: String,
    /// DynamoDB StreamViewType.
    #[arg(long, default_value = "NEW_AND_OLD_IMAGES")]
    pub view_type: StreamViewType,
}

impl MappingArgs {
    /// The settings these flags describe.
    pub fn settings(&self) -> Settings {
        Settings {
            tumbling_window_s: self.window,
            batch_size: self.batch_size,
            max_batching_window_s: self.batching_window,
            parallelization_factor: self.parallelization_factor,
            max_retry_attempts: self.max_retry_attempts,
            max_record_age_s: self.max_record_age,
            bisect_on_error: self.bisect,
            report_batch_item_failures: self.report_batch_item_failures,
            close_grace_s: self.close_grace,
            grace_from: match self.grace_from {
                GraceFromArg::WindowEnd => GraceFrom::WindowEnd,
                GraceFromArg::LastRecord => GraceFrom::LastRecord,
            },
            carry_state_across_windows: self.carry_state,
            strict_final_state: self.strict_final_state,
            early_termination_is_final: !self.early_not_final,
            final_includes_tail_records: self.final_includes_tail,
            discard_state_on_partial_failure: self.discard_state_on_partial_failure,
            end_of_input: match self.end_of_input {
                EndArg::Open => EndOfInput::Open,
                EndArg::ShardEnd => EndOfInput::ShardEnd,
            },
            poll_interval_ms: self.poll_interval_ms,
            read_interval_ms: self.read_interval_ms,
            retry_backoff_ms: self.retry_backoff_ms,
            retry_backoff_max_ms: self.retry_backoff_max_ms,
            duration_base_ms: self.duration_base_ms,
            duration_per_record_us: self.duration_per_record_us,
            stall_after_attempts: self.stall_after,
            attempt_limit: self.attempt_limit,
            timeout_ms: self.timeout_ms,
            function_env: self.env.iter().cloned().collect(),
            max_record_size_kib: self.max_record_size_kib,
            seed: self.seed,
        }
    }

    fn meta(&self) -> StreamMeta {
        StreamMeta {
            key_attribute: self.key_attribute.clone(),
            view_type: self.view_type,
            ..StreamMeta::default()
        }
    }
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?} is not KEY=VALUE"))?;
    crate::model::settings::check_env_name(k)?;
    Ok((k.to_owned(), v.to_owned()))
}

/// A failure with the exit code to use.
#[derive(Debug)]
pub struct CliError {
    /// 2 for bad settings or input, 1 otherwise.
    pub code: i32,
    /// Message for stderr.
    pub message: String,
}

fn usage(message: impl Into<String>) -> CliError {
    CliError {
        code: 2,
        message: message.into(),
    }
}

fn failure(message: impl Into<String>) -> CliError {
    CliError {
        code: 1,
        message: message.into(),
    }
}

/// Runs a headless command.
pub fn run_command(cmd: Command) -> Result<(), CliError> {
    match cmd {
        Command::Generate(args) => generate(&args),
        Command::Run(args) => run(&args),
    }
}

fn generate(args: &GenerateArgs) -> Result<(), CliError> {
    let opts = args
        .gen_
        .options(args.source, args.shards, args.seed)
        .map_err(usage)?;
    let write = |sink: &mut dyn std::io::Write| -> std::io::Result<()> {
        let mut buf = Vec::with_capacity(1 << 16);
        for order in Generator::new(opts.clone()) {
            write_order_line(&mut buf, &order);
            if buf.len() > 1 << 16 {
                sink.write_all(&buf)?;
                buf.clear();
            }
        }
        sink.write_all(&buf)?;
        sink.flush()
    };
    match &args.output {
        Some(p) if !crate::output::is_stdio(p) => {
            crate::output::check_output("--output", p, &[]).map_err(usage)?;
            crate::output::write_with(p, write)
                .map_err(|e| failure(format!("{}: {e}", p.display())))
        }
        _ => write(&mut std::io::stdout().lock()).map_err(|e| failure(e.to_string())),
    }
}

fn scenario_of(args: &RunArgs) -> Result<Option<crate::scenarios::Scenario>, CliError> {
    let Some(id) = &args.scenario else {
        return Ok(None);
    };
    crate::scenarios::by_id(id).map(Some).ok_or_else(|| {
        let ids: Vec<&str> = crate::scenarios::all().iter().map(|s| s.id).collect();
        usage(format!(
            "unknown scenario {id:?}: expected one of {}",
            ids.join(", ")
        ))
    })
}

/// The run `run`'s flags describe, around settings already checked (the handler is settled
/// once the stream's source is known).
fn run_spec(
    args: &RunArgs,
    scenario: Option<&crate::scenarios::Scenario>,
    settings: Settings,
) -> Result<RunSpec, CliError> {
    if let Some(s) = scenario {
        return Ok(RunSpec::scenario(s));
    }
    let m = &args.mapping;
    if !(1..=4096).contains(&m.shards) {
        return Err(usage(format!(
            "--shards {} is out of range: valid range is 1–4096",
            m.shards
        )));
    }
    let (source, input) = if args.input.is_empty() {
        let options = args
            .gen_
            .options(m.source, m.shards, m.seed)
            .map_err(usage)?;
        (SourceSpec::Generated { options }, Default::default())
    } else {
        let paths = args.input.clone();
        (
            SourceSpec::Files { paths },
            args.load.input().map_err(usage)?,
        )
    };
    Ok(RunSpec {
        source,
        stream_source: m.source,
        shards: m.shards,
        meta: m.meta(),
        settings,
        handler: String::new(),
        input,
    })
}

/// Loads or generates the stream of a spec, with a progress bar for big files on a terminal
/// and a line about what was loaded.
fn load_stream(spec: &RunSpec) -> Result<Stream, CliError> {
    let SourceSpec::Files { paths } = &spec.source else {
        let (stream, _) = crate::run::build_stream(spec, &mut Default::default())
            .map_err(|e| usage(e.to_string()))?;
        return Ok(stream);
    };
    for p in paths {
        announce_streamed(p);
    }
    let total: u64 = paths
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let started = std::time::Instant::now();
    let show = total > 32 << 20 && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut last = std::time::Instant::now();
    let mut bar = |p: crate::ingest::LoadProgress| {
        if show && last.elapsed() > std::time::Duration::from_millis(200) {
            last = std::time::Instant::now();
            let pct = p.bytes_done as f64 / p.bytes_total.max(1) as f64 * 100.0;
            eprint!(
                "\rloading {pct:5.1}%  {:.0} MB  {} records",
                p.bytes_done as f64 / 1e6,
                p.records
            );
        }
    };
    let mut control = crate::ingest::LoadControl {
        cancel: None,
        progress: Some(&mut bar),
    };
    let result = crate::run::build_stream(spec, &mut control);
    if show {
        eprintln!();
    }
    let (stream, report) = result.map_err(|e| usage(e.to_string()))?;
    let report = report.unwrap_or_default();
    let formats: Vec<&str> = report.formats.iter().map(|f| f.name()).collect();
    eprintln!(
        "loaded {} records from {} file(s) ({}, {:.1} MB) in {:.0} ms",
        report.records,
        paths.len(),
        formats.join(", "),
        report.bytes as f64 / 1e6,
        started.elapsed().as_secs_f64() * 1000.0
    );
    for line in report.summary() {
        eprintln!("{line}");
    }
    Ok(stream)
}

/// Says why the command may wait: a FIFO with no writer, or a terminal on standard input,
/// would otherwise block without a word.
fn announce_streamed(p: &std::path::Path) {
    use std::io::IsTerminal as _;
    if crate::output::is_stdio(p) {
        if std::io::stdin().is_terminal() {
            eprintln!("reading records from standard input (end with Ctrl-D)");
        }
        return;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if std::fs::metadata(p).is_ok_and(|m| m.file_type().is_fifo()) {
            eprintln!(
                "reading {} (a FIFO): waiting for a writer; Ctrl-C stops",
                p.display()
            );
        }
    }
}

fn run(args: &RunArgs) -> Result<(), CliError> {
    let scenario = scenario_of(args)?;
    let settings = match &scenario {
        Some(s) => s.settings.clone(),
        None => args.mapping.settings(),
    };
    settings
        .check()
        .map_err(|e| usage(format!("invalid settings:\n{e}")))?;
    if let Some(path) = &args.events {
        crate::output::check_output("--events", path, &args.input).map_err(usage)?;
    }
    let mut spec = run_spec(args, scenario.as_ref(), settings)?;
    let stream = load_stream(&spec)?;
    // An explicit --handler wins; then the scenario's; then the stream's own source's default
    // (an event file can say DynamoDB without --source).
    spec.handler = match (&args.handler, &args.scenario) {
        (Some(h), _) => h.clone(),
        (None, Some(_)) => spec.handler,
        (None, None) => crate::handlers::default_spec(stream.source).to_owned(),
    };
    let (trace, took) =
        crate::run::simulate(&spec, &stream, &mut Default::default()).map_err(|e| match e {
            crate::sim::SimError::Settings(m) => usage(format!("invalid settings:\n{m}")),
            crate::sim::SimError::Handler(m)
            | crate::sim::SimError::Input(m)
            | crate::sim::SimError::Spec(m) => usage(m),
        })?;
    write_results(args, &stream, &spec.settings, &trace)?;
    eprint!("{}", summary(&stream, &trace, &spec.handler, took));
    Ok(())
}

/// Results on stdout in the chosen format, and the invocations to `--events`.
fn write_results(
    args: &RunArgs,
    stream: &Stream,
    settings: &Settings,
    trace: &Trace,
) -> Result<(), CliError> {
    let out = match args.format {
        Format::Table => crate::export::results_table(stream, trace),
        Format::Json => crate::export::results_json(stream, trace),
        Format::Csv => crate::export::results_csv(stream, trace),
    };
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(out.as_bytes())
        .map_err(|e| failure(e.to_string()))?;
    if let Some(path) = &args.events {
        let write = |w: &mut dyn std::io::Write| {
            crate::export::write_events_jsonl(w, stream, settings, trace)
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
    for w in &trace.warnings {
        s.push_str(&format!("warning: {w}\n"));
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

/// Prints the demo scenario's results (the app's first screen, as text).
pub fn print_demo() -> Result<(), CliError> {
    let scenario = crate::scenarios::demo();
    let spec = RunSpec::scenario(&scenario);
    let (stream, _) = crate::run::build_stream(&spec, &mut Default::default())
        .map_err(|e| failure(e.to_string()))?;
    let (trace, took) = crate::run::simulate(&spec, &stream, &mut Default::default())
        .map_err(|e| failure(e.to_string()))?;
    println!("{}\n", scenario.title);
    print!("{}", crate::export::results_table(&stream, &trace));
    eprint!("{}", summary(&stream, &trace, &spec.handler, took));
    Ok(())
}
