//! The headless command line: `generate` and `run`. Deterministic output; exit code 2 for bad
//! settings or input.

use std::io::Write as _;
use std::path::PathBuf;

mod args;
mod capture;
mod run;

pub use self::run::summary;

pub use self::args::{
    CaptureArgs, CaptureCommon, DynamodbCaptureArgs, EndArg, ExportArgs, ExportFormat, Format,
    GenArgs, GenerateArgs, GenerateFormat, GraceFromArg, KinesisCaptureArgs, LoadArgs, MappingArgs,
    RunArgs, TemplateArgs,
};

use clap::{Parser, Subcommand};

use crate::generate::{Generator, write_order_line};
use crate::model::settings::Settings;
use crate::model::stream::{Stream, StreamMeta};
use crate::run::{RunSpec, SourceSpec};

/// Parses the process's arguments, noting which `run` flags were given (a template's values
/// yield to them).
pub fn parse_args() -> Cli {
    use clap::{CommandFactory as _, FromArgMatches as _};
    let matches = Cli::command().get_matches();
    let mut cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    let cmd = Cli::command();
    // The long flag of each argument given, as users type it.
    let given = |name: &str, m: &clap::ArgMatches| -> Vec<String> {
        let sub = cmd.find_subcommand(name);
        m.ids()
            .filter(|id| {
                m.value_source(id.as_str()) == Some(clap::parser::ValueSource::CommandLine)
            })
            .filter_map(|id| {
                let arg = sub?.get_arguments().find(|a| a.get_id() == id)?;
                arg.get_long().map(str::to_owned)
            })
            .collect()
    };
    match (cli.command.as_mut(), matches.subcommand()) {
        (Some(Command::Run(args)), Some((name, m))) => args.explicit = given(name, m),
        (Some(Command::ExportTemplate(args)), Some((name, m))) => args.explicit = given(name, m),
        _ => {}
    }
    cli
}

/// tumblescope: see and test how AWS Lambda processes Kinesis and DynamoDB streams with tumbling
/// windows. Without a command it opens the app.
#[derive(Debug, Parser)]
#[command(name = "tumblescope", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// A stream file to open in the app.
    pub file: Option<PathBuf>,

    /// App: start on this scenario preset instead of the demo.
    #[arg(long, value_parser = scenario_ids())]
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

    /// App: open the find bar searching for this (text or a predicate like `Item.sales > 90`)
    /// and show the first match.
    #[arg(long, value_name = "QUERY")]
    pub find: Option<String>,

    /// App: start the lesson at this step (1-based).
    #[arg(long, value_name = "STEP")]
    pub lesson: Option<usize>,

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
    /// Print the mapping (settings flags as `run` takes them, or --template) as a SAM,
    /// CloudFormation or Terraform template that deploys it.
    ExportTemplate(Box<ExportArgs>),
    /// Capture a live stream's records as get-records files (one per shard).
    #[command(subcommand)]
    Capture(CaptureArgs),
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
        Command::Run(args) => run::run(&args),
        Command::ExportTemplate(args) => export_template(&args),
        Command::Capture(args) => capture::capture(&args),
    }
}

fn generate(args: &GenerateArgs) -> Result<(), CliError> {
    let reshard = args.reshard.plan().map_err(usage)?;
    if args.format == GenerateFormat::GetRecords {
        return generate_captures(args, reshard);
    }
    if !args.reshard.reshard.is_empty() || args.reshard.rollover_hours.is_some() {
        return Err(usage(
            "orders carry no shards (they are routed when read): give --reshard and \
             --rollover-hours to `run`, or write shards with --format get-records -o DIR"
                .to_string(),
        ));
    }
    let opts = args
        .gen_
        .options(args.source, args.shards, args.seed, Default::default())
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

/// `generate --format get-records`: the routed stream, one capture file per shard.
fn generate_captures(
    args: &GenerateArgs,
    reshard: crate::model::reshard::ReshardPlan,
) -> Result<(), CliError> {
    let Some(dir) = args
        .output
        .as_deref()
        .filter(|p| !crate::output::is_stdio(p))
    else {
        return Err(usage(
            "--format get-records writes one file per shard: give a directory with -o DIR"
                .to_string(),
        ));
    };
    let opts = args
        .gen_
        .options(args.source, args.shards, args.seed, reshard)
        .map_err(usage)?;
    let stream = crate::generate::generate_stream(&opts, StreamMeta::default());
    let paths = crate::capture_files::write_all(&stream, args.seed, dir)
        .map_err(|e| failure(format!("{}: {e}", dir.display())))?;
    eprintln!(
        "wrote {} record(s) as {} shard file(s) in {}",
        stream.len(),
        paths.len(),
        dir.display()
    );
    Ok(())
}

/// `--template`: the picked mapping's settings over the flags' (flags given win), with where
/// each came from printed on stderr.
fn template_of(args: &RunArgs) -> Result<Option<crate::template::settings::Applied>, CliError> {
    read_template(
        &args.tpl,
        &args.mapping,
        &args.explicit,
        args.handler.as_deref(),
    )
}

/// The template `tpl` names, applied over `mapping`'s flags (the `explicit` ones win); what
/// came from where goes to stderr.
fn read_template(
    tpl: &TemplateArgs,
    mapping: &MappingArgs,
    explicit: &[String],
    handler: Option<&str>,
) -> Result<Option<crate::template::settings::Applied>, CliError> {
    let Some(path) = &tpl.template else {
        return Ok(None);
    };
    let meta = mapping.meta();
    let t = crate::template::load(path, &meta.region, &meta.account)
        .map_err(|e| usage(e.to_string()))?;
    let m = t
        .pick(tpl.function.as_deref(), tpl.mapping_name.as_deref())
        .map_err(usage)?;
    let applied = crate::template::settings::apply(m, &mapping.settings(), explicit, path)
        .map_err(|errors| {
            usage(format!(
                "{} cannot be simulated as it is:\n  {}",
                path.display(),
                errors.join("\n  ")
            ))
        })?;
    let mut text = format!("settings of mapping {} from {}:\n", m.id, path.display());
    for o in &applied.origins {
        if o.value.is_empty() {
            text.push_str(&format!("  {}: {}\n", o.setting, o.from));
        } else {
            text.push_str(&format!("  {} = {}  ({})\n", o.setting, o.value, o.from));
        }
    }
    for n in &applied.notes {
        text.push_str(&format!("  note: {n}\n"));
    }
    for s in &t.skipped {
        text.push_str(&format!("  left out: {s}\n"));
    }
    match (&applied.handler, handler) {
        (_, Some(h)) => text.push_str(&format!("  handler: flag --handler {h}\n")),
        (Some(h), None) => text.push_str(&format!("  handler: {h} (the function's Handler and CodeUri)\n")),
        (None, None) => text.push_str(
            "  handler: the function's code is not next to the template; using the built-in default (give --handler)\n",
        ),
    }
    text.push_str("  everything else: flags or defaults\n");
    eprint!("{text}");
    Ok(Some(applied))
}

/// `export-template`: the settings as a template that deploys them.
fn export_template(args: &ExportArgs) -> Result<(), CliError> {
    let applied = read_template(
        &args.tpl,
        &args.mapping,
        &args.explicit,
        args.handler.as_deref(),
    )?;
    let mut settings = match &applied {
        Some(a) => a.settings.clone(),
        None => args.mapping.settings(),
    };
    if let Some(path) = &args.mapping.filter_criteria {
        settings.filters.extend(filter_criteria_file(path)?);
    }
    settings
        .check()
        .map_err(|e| usage(format!("invalid settings:\n{e}")))?;
    let given = |f: &str| args.explicit.iter().any(|e| e == f);
    let mut meta = args.mapping.meta();
    let mut source = args.mapping.source;
    if let Some(a) = &applied {
        if !given("source") {
            source = a.source;
        }
        match (&a.stream_name, source) {
            (Some(n), crate::model::Source::Kinesis) if !given("stream-name") => {
                meta.stream_name = n.clone()
            }
            (Some(n), crate::model::Source::Dynamodb) if !given("table-name") => {
                meta.table_name = n.clone()
            }
            _ => {}
        }
        if let Some(f) = a.function_name.as_ref().filter(|_| !given("function-name")) {
            meta.function_name = f.clone();
        }
    }
    let handler = args
        .handler
        .clone()
        .or_else(|| applied.as_ref().and_then(|a| a.handler.clone()));
    let handler = handler
        .as_deref()
        .and_then(crate::handlers::external::ExternalSpec::parse)
        .map(|mut h| {
            // Absolute, so the template finds the code wherever it is written.
            if let Ok(p) = std::fs::canonicalize(&h.path) {
                h.path = p;
            }
            h
        });
    let deployment = crate::template::export::Deployment {
        settings: &settings,
        source,
        meta: &meta,
        handler,
    };
    let format = match args.format {
        ExportFormat::Sam => crate::template::export::TemplateFormat::Sam,
        ExportFormat::Cloudformation => crate::template::export::TemplateFormat::Cloudformation,
        ExportFormat::Terraform => crate::template::export::TemplateFormat::Terraform,
    };
    let text = deployment.render(format);
    match &args.output {
        Some(p) if !crate::output::is_stdio(p) => {
            let inputs: Vec<PathBuf> = args.tpl.template.iter().cloned().collect();
            crate::output::check_output("--output", p, &inputs).map_err(usage)?;
            crate::output::write_with(p, |w| w.write_all(text.as_bytes()))
                .map_err(|e| failure(format!("{}: {e}", p.display())))
        }
        _ => std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .map_err(|e| failure(e.to_string())),
    }
}

/// The template's source and names, where no flag gave them.
fn adopt_template(spec: &mut RunSpec, t: &crate::template::settings::Applied, args: &RunArgs) {
    let given = |f: &str| args.explicit.iter().any(|e| e == f);
    if !given("source") {
        spec.stream_source = t.source;
        if let SourceSpec::Generated { options } = &mut spec.source {
            options.source = t.source;
        }
    }
    if let Some(name) = &t.stream_name {
        match t.source {
            crate::model::Source::Kinesis if !given("stream-name") => {
                spec.meta.stream_name = name.clone()
            }
            crate::model::Source::Dynamodb if !given("table-name") => {
                spec.meta.table_name = name.clone()
            }
            _ => {}
        }
    }
    if let Some(f) = &t.function_name
        && !given("function-name")
    {
        spec.meta.function_name = f.clone();
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
    let reshard = args.reshard.plan().map_err(usage)?;
    let (source, input) = if args.input.is_empty() {
        let options = args
            .gen_
            .options(m.source, m.shards, m.seed, reshard.clone())
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
        reshard,
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

/// The patterns of a `--filter-criteria` file, `{"Filters":[{"Pattern":"..."}]}` as the
/// Lambda API takes it; errors name the file, line and column.
fn filter_criteria_file(path: &std::path::Path) -> Result<Vec<String>, CliError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Criteria {
        #[serde(rename = "Filters")]
        filters: Vec<Filter>,
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Filter {
        #[serde(rename = "Pattern")]
        pattern: String,
    }
    let text =
        std::fs::read_to_string(path).map_err(|e| usage(format!("{}: {e}", path.display())))?;
    let c: Criteria = serde_json::from_str(&text).map_err(|e| {
        usage(format!(
            "{}:{}:{}: {} (expected {{\"Filters\":[{{\"Pattern\":\"...\"}}]}})",
            path.display(),
            e.line(),
            e.column().max(1),
            crate::ingest::serde_message(&e)
        ))
    })?;
    Ok(c.filters.into_iter().map(|f| f.pattern).collect())
}

/// Prints the demo scenario's results (the app's first screen, as text).
pub fn print_demo() -> Result<(), CliError> {
    let scenario = crate::scenarios::demo();
    let spec = RunSpec::scenario(&scenario);
    let (stream, _) = crate::run::build_stream(&spec, &mut Default::default())
        .map_err(|e| failure(e.to_string()))?;
    let sim = crate::run::simulate(&spec, &stream, &mut Default::default())
        .map_err(|e| failure(e.to_string()))?;
    println!("{}\n", scenario.title);
    print!("{}", crate::export::results_table(&stream, &sim.trace));
    eprint!("{}", summary(&stream, &sim.trace, &spec.handler, sim.took));
    Ok(())
}

/// The scenario ids `--scenario` takes, listed by `--help` from the presets themselves.
fn scenario_ids() -> clap::builder::PossibleValuesParser {
    let ids: Vec<&'static str> = crate::scenarios::all().iter().map(|s| s.id).collect();
    clap::builder::PossibleValuesParser::new(ids)
}
