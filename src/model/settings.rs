//! Event source mapping settings, with AWS's ranges and defaults, plus the simulator's modelling
//! choices for behaviour AWS does not document (SEMANTICS §12). Every modelling choice is a field
//! here so users can see it and flip it.

use serde::{Deserialize, Serialize};

use crate::model::Source;
pub use crate::model::position::StartingPosition;

/// Where the close grace for an idle window counts from (SEMANTICS Q2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GraceFrom {
    /// `window.end + grace` (default).
    #[default]
    WindowEnd,
    /// `last record seen + grace`.
    LastRecord,
}

/// What the end of the input means for its shards.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndOfInput {
    /// The shards stay open, as a real stream does when producers stop: the last window closes
    /// when the grace expires.
    #[default]
    Open,
    /// The shards end (SHARD_END): the last window closes as soon as its records are processed.
    ShardEnd,
}

/// All settings of one simulated run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Settings {
    /// `TumblingWindowInSeconds`, 0–900; 0 means no windows (plain stateless batches).
    pub tumbling_window_s: u32,
    /// `BatchSize`, 1–10,000 (default 100).
    pub batch_size: u32,
    /// `MaximumBatchingWindowInSeconds`, 0–300.
    pub max_batching_window_s: u32,
    /// `ParallelizationFactor`, 1–10; must be 1 with tumbling windows.
    pub parallelization_factor: u32,
    /// `MaximumRetryAttempts`, −1 (infinite) to 10,000.
    pub max_retry_attempts: i32,
    /// `MaximumRecordAgeInSeconds`: −1 (infinite) or 60 to 604,800.
    pub max_record_age_s: i32,
    /// `BisectBatchOnFunctionError`.
    pub bisect_on_error: bool,
    /// `FunctionResponseTypes: ["ReportBatchItemFailures"]`.
    pub report_batch_item_failures: bool,
    /// `StartingPosition`: where a new mapping starts reading.
    pub starting_position: StartingPosition,
    /// `StartingPositionTimestamp` (AT_TIMESTAMP only), epoch ms; the API takes Unix seconds.
    pub starting_position_timestamp_ms: Option<i64>,
    /// The stream's retention, hours: Kinesis 24–8760 (default 24), DynamoDB Streams 24.
    pub retention_hours: u32,
    /// Simulator: when the mapping is created and starts reading, epoch ms; `None`: just
    /// before the first record (no backlog). Records written earlier are a backlog.
    pub mapping_start_ms: Option<i64>,
    /// `FilterCriteria`: each filter's `Pattern`, as written (a record passes if any matches).
    pub filters: Vec<String>,
    /// Filters allowed per mapping: 5 by default, up to 10 with a quota increase.
    pub filter_quota: u32,
    /// Modelling choice (§14.9 Q4): a record no filter matches still closes the open window
    /// when it belongs to a later one (default: the engine never sees such records).
    pub filtered_records_close_windows: bool,

    /// Modelling choice (Q2): an idle window closes this long after its end (0–120 s; AWS:
    /// "waits for up to 2 minutes").
    pub close_grace_s: u32,
    /// Modelling choice (Q2): where the grace counts from.
    pub grace_from: GraceFrom,
    /// Not AWS behaviour (Q12): pass each window's final state into the next window, as the
    /// 2020 blog's running-total figure shows. Teaching mode only.
    pub carry_state_across_windows: bool,
    /// Modelling choice (Q5): a final invocation must also return `state` (default: lenient).
    pub strict_final_state: bool,
    /// Modelling choice (Q3): the early-termination invocation also has
    /// `isFinalInvokeForWindow: true`.
    pub early_termination_is_final: bool,
    /// Modelling choice (Q1): the final invocation carries the window's last batch instead of
    /// `Records: []` (only when the window closes right after that batch).
    pub final_includes_tail_records: bool,
    /// Modelling choice (Q7): on a partial batch failure, keep the previous state instead of the
    /// returned one.
    pub discard_state_on_partial_failure: bool,
    /// What the end of the input means.
    pub end_of_input: EndOfInput,

    /// Poll interval in ms when idle; `None` uses the source's (Kinesis 1 s, DynamoDB 250 ms).
    pub poll_interval_ms: Option<u32>,
    /// Shortest time between two reads of a shard while catching up, ms; `None` uses the
    /// source's (Kinesis 200 ms: 5 GetRecords per second per shard; DynamoDB 250 ms).
    pub read_interval_ms: Option<u32>,
    /// Modelled invocation duration: fixed part, ms.
    pub duration_base_ms: u32,
    /// Modelled invocation duration: per record, µs.
    pub duration_per_record_us: u32,
    /// First retry backoff, ms; doubles per retry up to `retry_backoff_max_ms`.
    pub retry_backoff_ms: u32,
    /// Longest retry backoff, ms.
    pub retry_backoff_max_ms: u32,
    /// Simulator limit, not AWS: after this many failed attempts of an invocation that AWS would
    /// retry forever, the shard is reported as stalled and its simulation stops.
    pub stall_after_attempts: u32,
    /// Simulator limit, not AWS: the most attempts one batch may take, whatever the retry
    /// settings. Small backoffs with a long MaximumRecordAgeInSeconds would otherwise mean
    /// millions of attempts; past the limit the shard is reported as stopped.
    pub attempt_limit: u32,
    /// User handlers: one runtime for every shard (fast), instead of an execution environment
    /// per shard (modelling choice: module-level variables are never shared between shards).
    pub shared_runtime: bool,
    /// User handlers: run the shards one invocation at a time on one thread, instead of each
    /// shard's runtime on a thread of its own (the trace is the same either way).
    pub shards_in_order: bool,
    /// Simulator limit: the most execution environments (runtimes) at once.
    pub max_environments: u32,
    /// Modelling choice: recycle an environment after this many invocations (0: never).
    pub recycle_after_invocations: u32,
    /// Modelling choice: recycle an environment after this much simulated time, s (0: never;
    /// AWS recycles "every few hours").
    pub recycle_after_s: u32,
    /// Modelling choice: init duration added to a cold start's modelled time, ms.
    pub init_duration_ms: u32,
    /// Function timeout for external handlers, ms (Lambda default 3 s).
    pub timeout_ms: u32,
    /// Environment variables the function is configured with (user handlers receive them
    /// beside Lambda's reserved ones).
    pub function_env: std::collections::BTreeMap<String, String>,
    /// The Kinesis stream's `MaxRecordSizeInKiB` (1024–10240, default 1024: "The default
    /// maximum record size for existing, and newly created streams is set to 1 MiB"; records up
    /// to 10 MiB once raised). Larger records could never have been written.
    pub max_record_size_kib: u32,
    /// Seed for everything random (poll phases, DynamoDB event ids).
    pub seed: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            tumbling_window_s: 30,
            batch_size: 100,
            max_batching_window_s: 0,
            parallelization_factor: 1,
            max_retry_attempts: -1,
            max_record_age_s: -1,
            bisect_on_error: false,
            report_batch_item_failures: false,
            starting_position: StartingPosition::TrimHorizon,
            starting_position_timestamp_ms: None,
            retention_hours: 24,
            mapping_start_ms: None,
            filters: Vec::new(),
            filter_quota: DEFAULT_FILTER_QUOTA,
            filtered_records_close_windows: false,
            close_grace_s: 120,
            grace_from: GraceFrom::WindowEnd,
            carry_state_across_windows: false,
            strict_final_state: false,
            early_termination_is_final: true,
            final_includes_tail_records: false,
            discard_state_on_partial_failure: false,
            end_of_input: EndOfInput::Open,
            poll_interval_ms: None,
            read_interval_ms: None,
            duration_base_ms: 8,
            duration_per_record_us: 100,
            retry_backoff_ms: 1_000,
            retry_backoff_max_ms: 60_000,
            stall_after_attempts: 10,
            attempt_limit: DEFAULT_ATTEMPT_LIMIT,
            shared_runtime: false,
            shards_in_order: false,
            max_environments: 64,
            recycle_after_invocations: 0,
            recycle_after_s: 0,
            init_duration_ms: 200,
            timeout_ms: 3_000,
            function_env: Default::default(),
            max_record_size_kib: 1024,
            seed: 1,
        }
    }
}

/// Lambda's default quota of filters per event source mapping ("up to five different
/// filters"); a quota increase allows 10.
pub const DEFAULT_FILTER_QUOTA: u32 = 5;

/// Default of [`Settings::attempt_limit`]: above MaximumRetryAttempts' largest value (10,000
/// retries = 10,001 attempts), so every finite retry setting runs to its AWS outcome, and about a
/// week of retries at the default 60 s backoff cap.
pub const DEFAULT_ATTEMPT_LIMIT: u32 = 20_000;

/// Variables Lambda reserves: a function cannot set them ("Lambda reserves these environment
/// variable keys; you can't set them", Lambda developer guide, "Defined runtime environment
/// variables").
pub const RESERVED: [&str; 17] = [
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
];

/// Checks a user-set variable name as Lambda does.
pub fn check_env_name(name: &str) -> Result<(), String> {
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(format!(
            "environment variable name {name:?} is not valid: Lambda takes a letter followed by letters, digits and underscores"
        ));
    }
    if RESERVED.contains(&name) || name == "LAMBDA_RUNTIME_DIR" {
        return Err(format!(
            "environment variable {name} is reserved by Lambda and cannot be set"
        ));
    }
    Ok(())
}

/// A setting outside its valid range.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{setting} = {value} is out of range: {rule}")]
pub struct SettingError {
    /// AWS's parameter name (or the simulator's).
    pub setting: &'static str,
    /// The rejected value.
    pub value: String,
    /// The valid range, in words.
    pub rule: String,
}

fn join_errors(errors: &[SettingError]) -> Result<(), String> {
    if errors.is_empty() {
        return Ok(());
    }
    Err(errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n"))
}

fn check_range<T: PartialOrd + std::fmt::Display + Copy>(
    errors: &mut Vec<SettingError>,
    setting: &'static str,
    value: T,
    min: T,
    max: T,
    extra: &str,
) {
    if value < min || value > max {
        errors.push(SettingError {
            setting,
            value: value.to_string(),
            rule: format!("valid range is {min}–{max}{extra}"),
        });
    }
}

impl Settings {
    /// Window length in ms, or `None` without tumbling windows.
    pub fn window_ms(&self) -> Option<i64> {
        (self.tumbling_window_s > 0).then(|| i64::from(self.tumbling_window_s) * 1000)
    }

    /// Effective poll interval for a source.
    pub fn poll_ms(&self, source: Source) -> i64 {
        self.poll_interval_ms
            .map(|p| i64::from(p.max(1)))
            .unwrap_or_else(|| source.poll_interval_ms())
    }

    /// Effective shortest gap between reads while catching up.
    pub fn read_gap_ms(&self, source: Source) -> i64 {
        self.read_interval_ms
            .map(|p| i64::from(p.max(1)))
            .unwrap_or(match source {
                Source::Kinesis => 200,
                Source::Dynamodb => 250,
            })
    }

    /// Every violated rule; empty when the settings are valid.
    pub fn validate(&self) -> Vec<SettingError> {
        let mut e = Vec::new();
        self.check_mapping(&mut e);
        self.check_simulator(&mut e);
        e
    }

    /// The event source mapping's own parameters, with AWS's ranges.
    fn check_mapping(&self, e: &mut Vec<SettingError>) {
        check_range(
            e,
            "TumblingWindowInSeconds",
            self.tumbling_window_s,
            0,
            900,
            " seconds (0 = no tumbling window)",
        );
        check_range(e, "BatchSize", self.batch_size, 1, 10_000, "");
        check_range(
            e,
            "MaximumBatchingWindowInSeconds",
            self.max_batching_window_s,
            0,
            300,
            " seconds",
        );
        check_range(
            e,
            "ParallelizationFactor",
            self.parallelization_factor,
            1,
            10,
            "",
        );
        self.check_parallelization(e);
        self.check_position(e);
        check_range(
            e,
            "filter quota",
            self.filter_quota,
            5,
            10,
            " filters (5 by default, 10 with a quota increase)",
        );
        check_range(
            e,
            "MaximumRetryAttempts",
            self.max_retry_attempts,
            -1,
            10_000,
            " (-1 = retry until the record expires)",
        );
        // "The minimum valid value for maximum record age is 60s. Although values less than 60
        // and greater than -1 fall within the parameter's absolute range, they are not
        // allowed" (Lambda API reference, EventSourceMappingConfiguration).
        let age = self.max_record_age_s;
        if age != -1 && !(60..=604_800).contains(&age) {
            e.push(SettingError {
                setting: "MaximumRecordAgeInSeconds",
                value: age.to_string(),
                rule:
                    "valid values are -1 (infinite) or 60–604800 seconds (AWS does not allow 0–59)"
                        .into(),
            });
        }
    }

    /// StartingPosition with its timestamp, and the retention (SEMANTICS §14.1). What depends
    /// on the source or on the stream's times is checked with the stream
    /// ([`Settings::check_for_stream`]).
    fn check_position(&self, e: &mut Vec<SettingError>) {
        check_range(
            e,
            "RetentionPeriodHours",
            self.retention_hours,
            24,
            8760,
            " hours (Kinesis: 24 hours to 365 days)",
        );
        let at_timestamp = self.starting_position == StartingPosition::AtTimestamp;
        match (at_timestamp, self.starting_position_timestamp_ms) {
            (true, None) => e.push(SettingError {
                setting: "StartingPositionTimestamp",
                value: "(none)".into(),
                rule: "is required with StartingPosition AT_TIMESTAMP".into(),
            }),
            (false, Some(t)) => e.push(SettingError {
                setting: "StartingPositionTimestamp",
                value: crate::model::iso_millis(t),
                rule: format!(
                    "applies only to StartingPosition AT_TIMESTAMP (this mapping uses {})",
                    self.starting_position.api_name()
                ),
            }),
            _ => {}
        }
    }

    /// The rules that need the stream: AT_TIMESTAMP and the retention for DynamoDB Streams,
    /// and a StartingPositionTimestamp after the mapping starts ("cannot be in the future").
    pub fn check_for_stream(&self, source: Source, first_ms: Option<i64>) -> Result<(), String> {
        let mut e = Vec::new();
        if source == Source::Dynamodb {
            if self.starting_position == StartingPosition::AtTimestamp {
                e.push(SettingError {
                    setting: "StartingPosition",
                    value: "AT_TIMESTAMP".into(),
                    rule: "is not available for DynamoDB Streams (valid: TRIM_HORIZON, LATEST)"
                        .into(),
                });
            }
            if self.retention_hours != 24 {
                e.push(SettingError {
                    setting: "RetentionPeriodHours",
                    value: self.retention_hours.to_string(),
                    rule: "DynamoDB Streams keep records for 24 hours; it cannot be changed".into(),
                });
            }
        }
        if let (Some(t), Some(start)) = (
            self.starting_position_timestamp_ms,
            self.mapping_start(first_ms),
        ) && t > start
        {
            e.push(SettingError {
                setting: "StartingPositionTimestamp",
                value: crate::model::iso_millis(t),
                rule: format!(
                    "is after the mapping starts ({}): AWS refuses a timestamp in the future;                      set the mapping start at or after it",
                    crate::model::iso_millis(start)
                ),
            });
        }
        join_errors(&e)
    }

    /// When the mapping starts reading: the setting, else the first record's time.
    pub fn mapping_start(&self, first_ms: Option<i64>) -> Option<i64> {
        self.mapping_start_ms.or(first_ms)
    }

    /// The retention in ms.
    pub fn retention_ms(&self) -> i64 {
        i64::from(self.retention_hours) * 3_600_000
    }

    fn check_parallelization(&self, e: &mut Vec<SettingError>) {
        if self.tumbling_window_s > 0 && self.parallelization_factor > 1 {
            e.push(SettingError {
                setting: "ParallelizationFactor",
                value: self.parallelization_factor.to_string(),
                rule:
                    "must be 1 when TumblingWindowInSeconds > 0 (InvalidParameterValueException; \
                       the exact AWS message is not documented)"
                        .into(),
            });
        } else if self.parallelization_factor > 1 {
            e.push(SettingError {
                setting: "ParallelizationFactor",
                value: self.parallelization_factor.to_string(),
                rule: "tumblescope simulates one batch at a time per shard; values above 1 \
                       (AWS allows up to 10 without windows) are not simulated"
                    .into(),
            });
        }
    }

    /// The simulator's modelling choices and limits, the function's timeout and environment,
    /// and the stream's maximum record size.
    fn check_simulator(&self, e: &mut Vec<SettingError>) {
        check_range(
            e,
            "window close grace",
            self.close_grace_s,
            0,
            120,
            " seconds (AWS: \"waits for up to 2 minutes\")",
        );
        check_range(
            e,
            "poll interval",
            self.poll_interval_ms.unwrap_or(1000),
            1,
            60_000,
            " ms",
        );
        check_range(
            e,
            "read interval",
            self.read_interval_ms.unwrap_or(200),
            1,
            60_000,
            " ms",
        );
        check_range(
            e,
            "stall after attempts",
            self.stall_after_attempts,
            1,
            1_000,
            "",
        );
        check_range(
            e,
            "attempt limit",
            self.attempt_limit,
            1,
            1_000_000,
            " attempts per batch",
        );
        check_range(e, "timeout", self.timeout_ms, 1, 900_000, " ms");
        check_range(
            e,
            "max environments",
            self.max_environments,
            1,
            1_000,
            " (simulator limit)",
        );
        check_range(
            e,
            "init duration",
            self.init_duration_ms,
            0,
            10_000,
            " ms (Lambda allows 10 s of init)",
        );
        check_range(
            e,
            "MaxRecordSizeInKiB",
            self.max_record_size_kib,
            1024,
            10_240,
            " KiB (the Kinesis stream's maximum record size)",
        );
        for name in self.function_env.keys() {
            if let Err(rule) = check_env_name(name) {
                e.push(SettingError {
                    setting: "Environment",
                    value: name.clone(),
                    rule,
                });
            }
        }
    }

    /// `Ok` when valid, else all messages joined by newlines.
    pub fn check(&self) -> Result<(), String> {
        join_errors(&self.validate())
    }

    /// Backoff before retry number `retry` (1-based).
    pub fn backoff_ms(&self, retry: u32) -> i64 {
        let base = i64::from(self.retry_backoff_ms);
        let doubled = base.saturating_mul(1i64 << retry.saturating_sub(1).min(30));
        doubled.min(i64::from(
            self.retry_backoff_max_ms.max(self.retry_backoff_ms),
        ))
    }

    /// Modelled duration of an invocation carrying `records` records: at least 1 ms, since no
    /// invocation takes no time (Lambda bills in 1 ms steps) and with zero durations and zero
    /// backoff simulated time would stand still while a batch is retried.
    pub fn duration_ms(&self, records: usize) -> i64 {
        let per_record_us = i64::from(self.duration_per_record_us) * records as i64;
        (i64::from(self.duration_base_ms) + (per_record_us + 999) / 1000).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_match_aws() {
        let s = Settings::default();
        assert!(s.validate().is_empty());
        assert_eq!(s.batch_size, 100);
        assert_eq!(s.max_retry_attempts, -1);
        assert_eq!(s.max_record_age_s, -1);
        assert_eq!(s.poll_ms(Source::Kinesis), 1000);
        assert_eq!(s.poll_ms(Source::Dynamodb), 250);
    }

    #[test]
    fn window_over_900_is_rejected_with_the_range() {
        let s = Settings {
            tumbling_window_s: 901,
            ..Default::default()
        };
        let msg = s.check().unwrap_err();
        assert!(msg.contains("TumblingWindowInSeconds = 901"), "{msg}");
        assert!(msg.contains("0–900"), "{msg}");
    }

    #[test]
    fn parallelization_needs_one_with_windows() {
        let s = Settings {
            parallelization_factor: 2,
            ..Default::default()
        };
        assert!(s.check().unwrap_err().contains("must be 1"));
    }

    #[test]
    fn every_range_is_checked() {
        let s = Settings {
            batch_size: 0,
            max_batching_window_s: 301,
            max_retry_attempts: -2,
            max_record_age_s: 604_801,
            close_grace_s: 121,
            ..Default::default()
        };
        let names: Vec<_> = s.validate().iter().map(|e| e.setting).collect();
        assert_eq!(
            names,
            [
                "BatchSize",
                "MaximumBatchingWindowInSeconds",
                "MaximumRetryAttempts",
                "MaximumRecordAgeInSeconds",
                "window close grace"
            ]
        );
    }

    #[test]
    fn record_age_is_minus_one_or_60_to_604800() {
        for (age, ok) in [
            (-2, false),
            (-1, true),
            (0, false),
            (30, false),
            (59, false),
            (60, true),
            (604_800, true),
            (604_801, false),
        ] {
            let s = Settings {
                max_record_age_s: age,
                ..Default::default()
            };
            let errors = s.validate();
            assert_eq!(errors.is_empty(), ok, "{age}: {errors:?}");
            if !ok {
                assert!(
                    errors[0].to_string().contains("-1 (infinite) or 60–604800"),
                    "{}",
                    errors[0]
                );
            }
        }
    }

    #[test]
    fn reserved_and_malformed_environment_names_are_refused() {
        assert!(check_env_name("TABLE_NAME").is_ok());
        assert!(
            check_env_name("AWS_REGION")
                .unwrap_err()
                .contains("reserved")
        );
        assert!(check_env_name("1X").is_err());
        assert!(check_env_name("A-B").is_err());
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let s = Settings::default();
        assert_eq!(s.backoff_ms(1), 1000);
        assert_eq!(s.backoff_ms(2), 2000);
        assert_eq!(s.backoff_ms(10), 60_000);
    }
}
