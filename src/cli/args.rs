//! The flags of `generate` and `run`, and how they become generator options, input settings,
//! mapping settings and stream names.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::generate::{GenOptions, KeyStrategy};
use crate::model::settings::{EndOfInput, GraceFrom, Settings, StartingPosition};
use crate::model::stream::StreamMeta;
use crate::model::{Source, StreamViewType};

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
    /// Output file (default: standard output); with --format get-records, a directory.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// What to write: orders JSON Lines (routed when read), or AWS CLI get-records output,
    /// one file per shard, routed here (with resharding's lineage in ChildShards).
    #[arg(long, value_enum, default_value = "orders")]
    pub format: GenerateFormat,
    /// Resharding (with --format get-records).
    #[command(flatten)]
    pub reshard: ReshardArgs,
}

/// Output format of `generate`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GenerateFormat {
    /// tumblescope's orders JSON Lines.
    Orders,
    /// `get-records` output per shard.
    GetRecords,
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
    pub(super) fn options(
        &self,
        source: Source,
        shards: u32,
        seed: u64,
        reshard: crate::model::reshard::ReshardPlan,
    ) -> Result<GenOptions, String> {
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
            reshard,
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
    /// Write the run as Chrome Trace Event JSON (Perfetto UI, chrome://tracing): a track per
    /// shard and execution environment, a slice per invocation at its modelled time.
    #[arg(long, value_name = "FILE.json")]
    pub trace_out: Option<PathBuf>,
    /// Write the record Lambda sends to an on-failure destination (SQS/SNS) for each
    /// discarded batch, as JSON Lines, to this file.
    #[arg(long, value_name = "FILE")]
    pub destination_out: Option<PathBuf>,
    /// Run a scenario preset (its stream, settings and handler; --handler overrides the
    /// handler): demo, running-total, pos-burst, skewed, sparse, big-state, failing-handler,
    /// backlog, latest, large-orders, expiring, shard-split, module-state (Node.js), dynamodb.
    #[arg(long, conflicts_with = "input")]
    pub scenario: Option<String>,
    /// Mapping settings.
    #[command(flatten)]
    pub mapping: MappingArgs,
    /// Generator options (without --input).
    #[command(flatten)]
    pub gen_: GenArgs,
    /// Resharding.
    #[command(flatten)]
    pub reshard: ReshardArgs,
    /// The deployment template to read.
    #[command(flatten)]
    pub tpl: TemplateArgs,
    /// The long flags given on the command line, filled after parsing.
    #[arg(skip)]
    pub explicit: Vec<String>,
}

/// A deployment template and which of its mappings to use.
#[derive(Debug, Args, Clone, Default)]
pub struct TemplateArgs {
    /// SAM/CloudFormation template (YAML or JSON) or Terraform JSON: the mapping's settings,
    /// and the function's handler, timeout and environment, as deployed. Flags given win.
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,
    /// The function whose mapping to use, when the template has several.
    #[arg(long, value_name = "NAME", requires = "template")]
    pub function: Option<String>,
    /// The mapping to use (SAM event name, mapping resource id or Terraform address).
    #[arg(
        long = "mapping",
        id = "mapping_name",
        value_name = "NAME",
        requires = "template"
    )]
    pub mapping_name: Option<String>,
}

/// `export-template`: the settings `run` takes, as a deployable template.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// sam (YAML), cloudformation (JSON) or terraform (.tf.json).
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// Write to this file instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Handler: a .js/.mjs/.cjs/.py file[:export] becomes the function's code; a built-in
    /// leaves the code for you to supply.
    #[arg(long)]
    pub handler: Option<String>,
    /// The deployment template to start from.
    #[command(flatten)]
    pub tpl: TemplateArgs,
    /// Mapping settings.
    #[command(flatten)]
    pub mapping: MappingArgs,
    /// The long flags given on the command line, filled after parsing.
    #[arg(skip)]
    pub explicit: Vec<String>,
}

/// `capture`: records of a live stream, as `get-records` files.
#[derive(Debug, clap::Subcommand)]
pub enum CaptureArgs {
    /// A Kinesis data stream: every shard, closed ones too, followed to their ends.
    Kinesis(KinesisCaptureArgs),
    /// A DynamoDB table's stream (or a stream by ARN): every shard with its parent.
    Dynamodb(DynamodbCaptureArgs),
}

/// `capture kinesis`.
#[derive(Debug, Args)]
pub struct KinesisCaptureArgs {
    /// The stream's name.
    #[arg(long)]
    pub stream: String,
    #[command(flatten)]
    pub common: CaptureCommon,
}

/// `capture dynamodb`.
#[derive(Debug, Args)]
#[group(id = "dynamodb_source", required = true, multiple = false, args = ["table", "stream_arn"])]
pub struct DynamodbCaptureArgs {
    /// The table whose latest stream to read.
    #[arg(long)]
    pub table: Option<String>,
    /// The stream's ARN (arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/stream/LABEL).
    #[arg(long, value_name = "ARN")]
    pub stream_arn: Option<String>,
    #[command(flatten)]
    pub common: CaptureCommon,
}

/// What every capture takes: where to start and stop, where to write, how to reach AWS.
#[derive(Debug, Args)]
pub struct CaptureCommon {
    /// Where to start: trim-horizon, latest, or at-timestamp:TIME (DynamoDB: read from the trim
    /// horizon, records before TIME skipped).
    #[arg(long, default_value = "trim-horizon")]
    pub from: String,
    /// Stop at records that arrived after this time (RFC 3339 or Unix seconds); a shard is also
    /// done once caught up after it.
    #[arg(long, value_name = "TIME", value_parser = parse_instant)]
    pub until: Option<i64>,
    /// Stop after this many records in all.
    #[arg(long)]
    pub records: Option<u64>,
    /// Stop after this many seconds.
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,
    /// Output folder: one `<name>-get-records-<shardId>.json` per shard.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// AWS region (default: as the AWS CLI resolves it: AWS_REGION, the profile's region).
    #[arg(long)]
    pub region: Option<String>,
    /// A profile of ~/.aws/config and ~/.aws/credentials (default: AWS_PROFILE, or default).
    #[arg(long)]
    pub profile: Option<String>,
    /// Another endpoint, such as a local emulator (http://127.0.0.1:5000).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

/// Format of `export-template`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// SAM, YAML.
    Sam,
    /// CloudFormation, JSON.
    Cloudformation,
    /// Terraform, .tf.json.
    Terraform,
}

/// Splits, merges and DynamoDB rollover of the shards tumblescope routes records to.
#[derive(Debug, Args, Clone, Default)]
pub struct ReshardArgs {
    /// Kinesis resharding: TIME:split:SHARD[@NEW_STARTING_HASH_KEY] or TIME:merge:SHARD,SHARD
    /// (repeatable). Children get new ids after the existing ones; records from TIME on route
    /// by the children's hash-key ranges.
    #[arg(long, value_name = "TIME:OP:SHARDS")]
    pub reshard: Vec<crate::model::reshard::Reshard>,
    /// DynamoDB Streams: each shard closes and opens a child this many hours after it opened
    /// (modelling choice: AWS publishes no period; 0 = never). Default 4.
    #[arg(long, value_name = "HOURS", allow_hyphen_values = true)]
    pub rollover_hours: Option<f64>,
}

impl ReshardArgs {
    /// The plan these flags describe.
    pub fn plan(&self) -> Result<crate::model::reshard::ReshardPlan, String> {
        let mut plan = crate::model::reshard::ReshardPlan {
            steps: self.reshard.clone(),
            ..Default::default()
        };
        if let Some(h) = self.rollover_hours {
            if !(h.is_finite() && (0.0..=8760.0).contains(&h)) {
                return Err(format!(
                    "--rollover-hours {h} is out of range: valid range is 0–8760 (0: never)"
                ));
            }
            plan.rollover_ms = Some((h * 3_600_000.0).round() as i64);
        }
        Ok(plan)
    }
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
    pub(super) fn input(&self) -> Result<crate::run::InputSettings, String> {
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
    /// StartingPosition: trim-horizon, latest or at-timestamp (the API's TRIM_HORIZON, LATEST,
    /// AT_TIMESTAMP too).
    #[arg(long, default_value = "trim-horizon")]
    pub starting_position: StartingPosition,
    /// StartingPositionTimestamp for at-timestamp: RFC 3339 or Unix seconds.
    #[arg(long, value_name = "TIME", value_parser = parse_instant)]
    pub starting_position_timestamp: Option<i64>,
    /// Simulator: when the mapping is created and starts reading (RFC 3339 or Unix seconds);
    /// records written before are a backlog. Default: just before the first record.
    #[arg(long, value_name = "TIME", value_parser = parse_instant)]
    pub mapping_start: Option<i64>,
    /// The stream's retention, hours (Kinesis 24–8760; DynamoDB Streams: 24).
    #[arg(long, default_value_t = 24)]
    pub retention_hours: u32,
    /// A FilterCriteria pattern, as JSON (repeatable; a record passes if any matches), e.g.
    /// '{"data":{"Item":{"sales":[{"numeric":[">",50]}]}}}'.
    #[arg(long = "filter", value_name = "PATTERN")]
    pub filters: Vec<String>,
    /// FilterCriteria as the Lambda API takes it: {"Filters":[{"Pattern":"..."}]}.
    #[arg(long, value_name = "FILE")]
    pub filter_criteria: Option<PathBuf>,
    /// Modelling choice: a record no filter matches still closes the open window when it
    /// belongs to a later one.
    #[arg(long)]
    pub filtered_records_close_windows: bool,
    /// Filters allowed per mapping: 5 (Lambda's default quota) to 10 (with a quota increase).
    #[arg(long, default_value_t = crate::filter::DEFAULT_FILTER_QUOTA)]
    pub filter_quota: u32,
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
    /// User handlers: one runtime for every shard instead of an execution environment per
    /// shard (faster; module-level variables are then shared between shards, unlike on AWS).
    #[arg(long)]
    pub shared_runtime: bool,
    /// User handlers: run the shards one invocation at a time on one thread instead of side
    /// by side, each runtime on a thread of its own (the trace is the same either way).
    #[arg(long)]
    pub in_order: bool,
    /// Simulator limit: the most execution environments at once (one per shard).
    #[arg(long, default_value_t = 64)]
    pub max_environments: u32,
    /// Modelling choice: recycle an environment after N invocations (0: never).
    #[arg(long, default_value_t = 0)]
    pub recycle_after_invocations: u32,
    /// Modelling choice: recycle an environment after this much simulated time, s (0: never).
    #[arg(long, default_value_t = 0)]
    pub recycle_after_s: u32,
    /// Modelling choice: init duration of a cold start, ms (added to its modelled time).
    #[arg(long, default_value_t = 200)]
    pub init_duration_ms: u32,
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
    /// Region in ARNs and `awsRegion` (captured events keep their own).
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
    /// Account id in ARNs.
    #[arg(long, default_value = "123456789012")]
    pub account: String,
    /// Kinesis stream name in `eventSourceARN`.
    #[arg(long, default_value = "orders")]
    pub stream_name: String,
    /// DynamoDB table name in `eventSourceARN`.
    #[arg(long, default_value = "Orders")]
    pub table_name: String,
    /// Function name in `functionArn` and the execution role.
    #[arg(long, default_value = "tumbling-window-aggregator")]
    pub function_name: String,
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
            starting_position: self.starting_position,
            starting_position_timestamp_ms: self.starting_position_timestamp,
            retention_hours: self.retention_hours,
            mapping_start_ms: self.mapping_start,
            filters: self.filters.clone(),
            filter_quota: self.filter_quota,
            filtered_records_close_windows: self.filtered_records_close_windows,
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
            shared_runtime: self.shared_runtime,
            shards_in_order: self.in_order,
            max_environments: self.max_environments,
            recycle_after_invocations: self.recycle_after_invocations,
            recycle_after_s: self.recycle_after_s,
            init_duration_ms: self.init_duration_ms,
            timeout_ms: self.timeout_ms,
            function_env: self.env.iter().cloned().collect(),
            max_record_size_kib: self.max_record_size_kib,
            seed: self.seed,
        }
    }

    pub(super) fn meta(&self) -> StreamMeta {
        StreamMeta {
            key_attribute: self.key_attribute.clone(),
            view_type: self.view_type,
            region: self.region.clone(),
            account: self.account.clone(),
            stream_name: self.stream_name.clone(),
            table_name: self.table_name.clone(),
            function_name: self.function_name.clone(),
            role: None,
        }
    }
}

/// An instant on the command line: RFC 3339 or Unix seconds, as epoch ms.
pub(super) fn parse_instant(s: &str) -> Result<i64, String> {
    crate::model::parse_instant(s)
}

pub(super) fn parse_env(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?} is not KEY=VALUE"))?;
    crate::model::settings::check_env_name(k)?;
    Ok((k.to_owned(), v.to_owned()))
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;
    use crate::cli::{Cli, Command};

    fn run_args(flags: &[&str]) -> RunArgs {
        let argv = ["tumblescope", "run"].iter().chain(flags);
        match Cli::try_parse_from(argv)
            .unwrap_or_else(|e| panic!("{flags:?}: {e}"))
            .command
        {
            Some(Command::Run(args)) => *args,
            other => panic!("{other:?}"),
        }
    }

    /// Every mapping and simulator flag of `run` reaches its setting, and nothing else moves.
    #[test]
    fn every_run_flag_reaches_its_setting() {
        let defaults = run_args(&[]).mapping.settings();
        type Set = fn(&mut Settings);
        let table: &[(&[&str], Set)] = &[
            (&["--window", "60"], |s| s.tumbling_window_s = 60),
            (&["--batch-size", "7"], |s| s.batch_size = 7),
            (&["--batching-window", "5"], |s| s.max_batching_window_s = 5),
            (&["--parallelization-factor", "2"], |s| {
                s.parallelization_factor = 2
            }),
            (&["--max-retry-attempts", "3"], |s| s.max_retry_attempts = 3),
            (&["--max-record-age", "60"], |s| s.max_record_age_s = 60),
            (&["--bisect"], |s| s.bisect_on_error = true),
            (&["--starting-position", "latest"], |s| {
                s.starting_position = StartingPosition::Latest
            }),
            (&["--starting-position", "AT_TIMESTAMP"], |s| {
                s.starting_position = StartingPosition::AtTimestamp
            }),
            (&["--starting-position-timestamp", "1767268800.5"], |s| {
                s.starting_position_timestamp_ms = Some(1_767_268_800_500)
            }),
            (&["--mapping-start", "2026-01-01T13:00:00Z"], |s| {
                s.mapping_start_ms = Some(1_767_272_400_000)
            }),
            (&["--retention-hours", "168"], |s| s.retention_hours = 168),
            (&["--filter", "{\"a\":[1]}", "--filter", "{}"], |s| {
                s.filters = vec!["{\"a\":[1]}".into(), "{}".into()]
            }),
            (&["--filter-quota", "10"], |s| s.filter_quota = 10),
            (&["--filtered-records-close-windows"], |s| {
                s.filtered_records_close_windows = true
            }),
            (&["--report-batch-item-failures"], |s| {
                s.report_batch_item_failures = true
            }),
            (&["--close-grace", "0"], |s| s.close_grace_s = 0),
            (&["--grace-from", "last-record"], |s| {
                s.grace_from = GraceFrom::LastRecord
            }),
            (&["--carry-state"], |s| s.carry_state_across_windows = true),
            (&["--strict-final-state"], |s| s.strict_final_state = true),
            (&["--early-not-final"], |s| {
                s.early_termination_is_final = false
            }),
            (&["--final-includes-tail"], |s| {
                s.final_includes_tail_records = true
            }),
            (&["--discard-state-on-partial-failure"], |s| {
                s.discard_state_on_partial_failure = true
            }),
            (&["--end-of-input", "shard-end"], |s| {
                s.end_of_input = EndOfInput::ShardEnd
            }),
            (&["--poll-interval-ms", "500"], |s| {
                s.poll_interval_ms = Some(500)
            }),
            (&["--read-interval-ms", "300"], |s| {
                s.read_interval_ms = Some(300)
            }),
            (&["--retry-backoff-ms", "250"], |s| s.retry_backoff_ms = 250),
            (&["--retry-backoff-max-ms", "9000"], |s| {
                s.retry_backoff_max_ms = 9000
            }),
            (&["--duration-base-ms", "3"], |s| s.duration_base_ms = 3),
            (&["--duration-per-record-us", "7"], |s| {
                s.duration_per_record_us = 7
            }),
            (&["--stall-after", "4"], |s| s.stall_after_attempts = 4),
            (&["--attempt-limit", "50"], |s| s.attempt_limit = 50),
            (&["--timeout-ms", "900"], |s| s.timeout_ms = 900),
            (&["--shared-runtime"], |s| s.shared_runtime = true),
            (&["--in-order"], |s| s.shards_in_order = true),
            (&["--max-environments", "3"], |s| s.max_environments = 3),
            (&["--recycle-after-invocations", "5"], |s| {
                s.recycle_after_invocations = 5
            }),
            (&["--recycle-after-s", "7200"], |s| s.recycle_after_s = 7200),
            (&["--init-duration-ms", "350"], |s| s.init_duration_ms = 350),
            (&["--env", "A=1", "--env", "B=x=y"], |s| {
                s.function_env = [("A".into(), "1".into()), ("B".into(), "x=y".into())]
                    .into_iter()
                    .collect()
            }),
            (&["--max-record-size-kib", "2048"], |s| {
                s.max_record_size_kib = 2048
            }),
            (&["--seed", "9"], |s| s.seed = 9),
        ];
        for (flags, set) in table {
            let mut expected = defaults.clone();
            set(&mut expected);
            assert_ne!(expected, defaults, "{flags:?} must differ from the default");
            assert_eq!(run_args(flags).mapping.settings(), expected, "{flags:?}");
        }
    }

    #[test]
    fn run_stream_and_input_flags_reach_their_options() {
        let a = run_args(&[
            "--source",
            "dynamodb",
            "--shards",
            "3",
            "--key-attribute",
            "pk",
            "--view-type",
            "KEYS_ONLY",
        ]);
        assert_eq!(a.mapping.source, Source::Dynamodb);
        assert_eq!(a.mapping.shards, 3);
        assert_eq!(a.mapping.meta().key_attribute, "pk");
        assert_eq!(a.mapping.meta().view_type, StreamViewType::KeysOnly);

        let a = run_args(&[
            "--input-format",
            "csv",
            "--ts-field",
            "sold_at",
            "--ts-unit",
            "millis",
            "--pk-field",
            "store",
            "--shard-field",
            "lane",
            "--skip-bad",
        ]);
        let input = a.load.input().unwrap();
        assert_eq!(input.format, Some(crate::ingest::Format::Csv));
        assert_eq!(input.fields.timestamp, "sold_at");
        assert_eq!(input.fields.unit, crate::ingest::TsUnit::Millis);
        assert_eq!(input.fields.partition_key, "store");
        assert_eq!(input.fields.shard.as_deref(), Some("lane"));
        assert!(input.skip_bad);
        assert!(run_args(&["--input-format", "xml"]).load.input().is_err());
    }

    #[test]
    fn generator_flags_reach_the_generator_options() {
        let a = run_args(&[
            "--count",
            "12",
            "--interval-ms",
            "40.5",
            "--jitter",
            "0.25",
            "--keys",
            "skewed:5:1.5",
            "--start",
            "2026-03-01T00:00:00Z",
            "--sales-min",
            "3",
            "--sales-max",
            "9",
            "--modify-fraction",
            "0.2",
            "--remove-fraction",
            "0.1",
        ]);
        let o = a
            .gen_
            .options(Source::Dynamodb, 4, 77, Default::default())
            .unwrap();
        let expected = GenOptions {
            count: 12,
            interval_ms: 40.5,
            jitter: 0.25,
            start_ms: crate::model::parse_rfc3339_ms("2026-03-01T00:00:00Z").unwrap(),
            keys: KeyStrategy::Skewed {
                n: 5,
                exponent: 1.5,
            },
            shards: 4,
            source: Source::Dynamodb,
            seed: 77,
            sales_min: 3,
            sales_max: 9,
            modify_fraction: 0.2,
            remove_fraction: 0.1,
            reshard: Default::default(),
        };
        assert_eq!(o, expected);
        let argv = [
            "tumblescope",
            "generate",
            "--source",
            "dynamodb",
            "--shards",
            "5",
            "--seed",
            "3",
            "-o",
            "x.jsonl",
        ];
        let Some(Command::Generate(g)) = Cli::try_parse_from(argv).unwrap().command else {
            panic!("generate")
        };
        assert_eq!((g.source, g.shards, g.seed), (Source::Dynamodb, 5, 3));
        assert_eq!(g.output.as_deref(), Some(std::path::Path::new("x.jsonl")));
        let bad = run_args(&["--start", "yesterday"]).gen_.options(
            Source::Kinesis,
            1,
            1,
            Default::default(),
        );
        assert_eq!(
            bad.unwrap_err(),
            "--start \"yesterday\" is not an RFC 3339 time"
        );
    }

    #[test]
    fn times_and_positions_that_are_not_valid_are_refused_by_name() {
        assert_eq!(parse_instant("1767268800"), Ok(1_767_268_800_000));
        assert_eq!(
            parse_instant("2026-01-01T12:00:00.250Z"),
            Ok(1_767_268_800_250)
        );
        for bad in ["noon", "-5", "1e400", ""] {
            assert_eq!(
                parse_instant(bad).unwrap_err(),
                format!(
                    "{bad:?} is not a time: use RFC 3339 (2026-01-01T12:00:00Z) or Unix seconds"
                )
            );
        }
        let err = Cli::try_parse_from(["tumblescope", "run", "--starting-position", "oldest"])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("not one of trim-horizon, latest, at-timestamp"),
            "{err}"
        );
    }
}
