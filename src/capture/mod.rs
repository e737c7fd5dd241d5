//! `tumblescope capture`: the records of a live Kinesis data stream or DynamoDB stream, every
//! shard (closed ones too) with its lineage, written as `get-records` output one file per shard,
//! which `run`, the app and the resharding support read back unchanged.
//!
//! Reading only: ListShards / DescribeStream, GetShardIterator and GetRecords (and DynamoDB's
//! DescribeTable for a table's stream). Reads keep within the service's 5 GetRecords per second
//! per shard, slow to one a second on a caught-up shard (as Lambda's poller does), and back off
//! on throttling. Credentials, region and endpoint resolve as the AWS CLI resolves them (the
//! SDK's default chain), with `--profile`, `--region` and `--endpoint-url` on top.
//!
//! The AWS parts build with the default feature `aws`; without it, `run` reports that this build
//! cannot capture and everything else still works.

#[cfg(feature = "aws")]
mod aws;
#[cfg(feature = "aws")]
mod dynamodb;
mod files;
#[cfg(feature = "aws")]
mod kinesis;
#[cfg(feature = "aws")]
mod poll;

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

pub use files::{ShardFile, file_name, write_files};

/// Which stream to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A Kinesis data stream, by name.
    Kinesis { stream: String },
    /// A DynamoDB table's latest stream (found with DescribeTable).
    DynamodbTable { table: String },
    /// A DynamoDB stream, by ARN.
    DynamodbStream { arn: String },
}

impl Target {
    /// The name the files carry: the stream's or the table's.
    pub fn file_stem(&self) -> String {
        match self {
            Target::Kinesis { stream } => stream.clone(),
            Target::DynamodbTable { table } => table.clone(),
            Target::DynamodbStream { arn } => table_of_stream_arn(arn).unwrap_or("dynamodb").into(),
        }
    }

    /// How the stream is named in messages.
    pub fn describe(&self) -> String {
        match self {
            Target::Kinesis { stream } => format!("Kinesis stream {stream:?}"),
            Target::DynamodbTable { table } => format!("DynamoDB table {table:?}"),
            Target::DynamodbStream { arn } => format!("DynamoDB stream {arn}"),
        }
    }
}

/// The table a DynamoDB stream ARN belongs to
/// (`arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/stream/LABEL`).
pub fn table_of_stream_arn(arn: &str) -> Option<&str> {
    let resource = arn.splitn(6, ':').nth(5)?;
    let mut parts = resource.split('/');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("table"), Some(name), Some("stream"), Some(label))
            if !name.is_empty() && !label.is_empty() =>
        {
            Some(name)
        }
        _ => None,
    }
}

/// Where reading starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum From {
    /// The oldest record still retained.
    TrimHorizon,
    /// Only records written from now on.
    Latest,
    /// The first record at or after this instant (epoch ms). DynamoDB Streams has no such
    /// iterator: there reading starts at the trim horizon and earlier records are skipped.
    AtTimestamp(i64),
}

impl From {
    /// `trim-horizon`, `latest` or `at-timestamp:TIME` (AWS's spellings too).
    pub fn parse(text: &str) -> Result<Self, String> {
        let lower = text.trim().to_ascii_lowercase().replace('_', "-");
        match lower.as_str() {
            "trim-horizon" => Ok(From::TrimHorizon),
            "latest" => Ok(From::Latest),
            other if other.starts_with("at-timestamp:") => {
                let time = &text.trim()["at-timestamp:".len()..];
                crate::model::parse_instant(time)
                    .map(From::AtTimestamp)
                    .map_err(|e| format!("--from {text:?}: {e}"))
            }
            _ => Err(format!(
                "--from {text:?}: expected trim-horizon, latest or at-timestamp:TIME"
            )),
        }
    }
}

/// When a capture stops (besides every shard read to its end, or Cancel / Ctrl-C).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stop {
    /// After this many records in all.
    pub records: Option<u64>,
    /// At records that arrived after this instant (epoch ms): a shard is done at its first
    /// later record, or once it is caught up and the clock has passed the instant.
    pub until_ms: Option<i64>,
    /// After this long.
    pub duration: Option<Duration>,
}

/// How to reach AWS: what the AWS CLI's `--profile`, `--region` and `--endpoint-url` give;
/// `None` leaves each to the default chain (environment, shared config files, SSO, roles).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Connection {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}

/// A whole capture request.
#[derive(Clone, Debug)]
pub struct Options {
    pub target: Target,
    pub from: From,
    pub stop: Stop,
    pub connection: Connection,
    /// The folder the files go to (created if missing).
    pub out: PathBuf,
}

/// How far a capture is, reported after every read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Progress {
    /// Records captured so far.
    pub records: u64,
    /// Shards known (the stream's, and children found since).
    pub shards: usize,
    /// Shards read to their end or done by `--until`.
    pub shards_done: usize,
    /// The most any shard was behind the stream's tip at its last read, when the service says.
    pub behind_ms: Option<i64>,
    /// Seconds since reading started.
    pub elapsed_s: f64,
    /// A fraction of the stop condition reached, when one is set (for a progress bar).
    pub fraction: Option<f32>,
}

/// Why a capture stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stopped {
    /// Every shard was read to its end (closed shards) or to `--until`.
    AllRead,
    /// `--records` was reached.
    Records,
    /// `--duration` passed.
    Duration,
    /// Cancel or Ctrl-C.
    Cancelled,
}

impl Stopped {
    pub fn describe(self) -> &'static str {
        match self {
            Stopped::AllRead => "every shard read to its end or to --until",
            Stopped::Records => "--records reached",
            Stopped::Duration => "--duration passed",
            Stopped::Cancelled => "stopped by the user",
        }
    }
}

/// What a capture wrote.
#[derive(Clone, Debug)]
pub struct Captured {
    /// One file per shard, in shard order.
    pub files: Vec<PathBuf>,
    /// A line per shard: its records, whether read to its end, its parents, its file.
    pub summary: Vec<String>,
    pub records: u64,
    pub stopped: Stopped,
}

/// Runs a capture on the calling thread (it builds its own single-threaded runtime): reads until
/// a stop condition or `cancel`, then writes the files. On an error nothing is written.
pub fn capture(
    options: &Options,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Captured, String> {
    #[cfg(feature = "aws")]
    {
        poll::capture(options, cancel, progress)
    }
    #[cfg(not(feature = "aws"))]
    {
        let _ = (options, cancel, progress);
        Err(
            "this build of tumblescope has no AWS support: build it with the default feature `aws`"
                .into(),
        )
    }
}

/// Checks a request before any AWS call: a usable endpoint, a positive duration, no file of an
/// earlier capture in the way (a capture never replaces a file).
pub fn check(options: &Options) -> Result<(), String> {
    if let Some(url) = &options.connection.endpoint_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        return Err(format!("--endpoint-url {url:?} is not an http(s) URL"));
    }
    if let Some(d) = options.stop.duration
        && d.is_zero()
    {
        return Err("--duration must be a positive number of seconds".into());
    }
    if let Target::DynamodbStream { arn } = &options.target
        && table_of_stream_arn(arn).is_none()
    {
        return Err(format!(
            "--stream-arn {arn:?} is not a DynamoDB stream ARN \
             (arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/stream/LABEL)"
        ));
    }
    if options.out.is_file() {
        return Err(format!(
            "--out {} is a file; give a folder for the per-shard files",
            options.out.display()
        ));
    }
    files::check_free(&options.out, &options.target.file_stem())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_parse_in_both_spellings() {
        assert_eq!(From::parse("trim-horizon"), Ok(From::TrimHorizon));
        assert_eq!(From::parse("TRIM_HORIZON"), Ok(From::TrimHorizon));
        assert_eq!(From::parse("LATEST"), Ok(From::Latest));
        assert_eq!(
            From::parse("at-timestamp:2026-01-01T00:00:01Z"),
            Ok(From::AtTimestamp(1_767_225_601_000))
        );
        assert!(
            From::parse("oldest")
                .unwrap_err()
                .contains("expected trim-horizon")
        );
        assert!(
            From::parse("at-timestamp:soon")
                .unwrap_err()
                .contains("not a time")
        );
    }

    #[test]
    fn table_names_come_from_stream_arns() {
        let arn =
            "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-01-01T00:00:00.000";
        assert_eq!(table_of_stream_arn(arn), Some("orders"));
        assert_eq!(
            table_of_stream_arn("arn:aws:dynamodb:us-east-1:1:table/orders"),
            None
        );
        assert_eq!(table_of_stream_arn("orders"), None);
    }
}
