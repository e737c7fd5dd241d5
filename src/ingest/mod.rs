//! Reading streams from files: every format users already have, detected from content, with
//! file, line and column on every error, nothing silently lost, and big files streamed.
//!
//! | format | shape | records keep |
//! |---|---|---|
//! | orders | tumblescope's JSON Lines (`timestamp`, `partitionKey`, `data`) | — (routed, numbered) |
//! | jsonl | any JSON Lines of objects; fields mapped by [`FieldMap`] | shard if mapped |
//! | csv | CSV with a header; fields mapped by [`FieldMap`] | shard if mapped |
//! | events | Lambda event files: `{"Records": [...]}`, an array of them, or JSON Lines of them | shard, sequence number, time |
//! | get-records | `aws kinesis get-records` / `aws dynamodbstreams get-records` output, one shard per file | sequence number, time |

mod captures;
mod detect;
pub mod fastjson;
mod generic;
mod lines;
mod mapped;
pub mod orders;
mod record;
mod shape;
mod spool;
mod time;

pub use detect::detect;
pub use spool::{STDIN_NAME, is_stdin, is_streamed_input, load_paths};
pub use time::instant_ms;

use detect::{HEAD, check_text};

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use serde::{Deserialize, Serialize};

use crate::model::Source;
use crate::model::stream::{Stream, StreamMeta};

/// Why a file could not be loaded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// A problem at a position in the file.
    #[error("{file}:{line}:{column}: {message}")]
    At {
        /// File name as given.
        file: String,
        /// 1-based line.
        line: u64,
        /// 1-based column (bytes).
        column: u64,
        /// What was wrong and what was expected.
        message: String,
    },
    /// A problem with the file as a whole.
    #[error("{file}: {message}")]
    File {
        /// File name as given.
        file: String,
        /// What was wrong.
        message: String,
    },
    /// The load was cancelled.
    #[error("loading was cancelled")]
    Cancelled,
}

impl LoadError {
    /// An error at a position.
    pub fn at(file: &str, line: u64, column: u64, message: impl Into<String>) -> Self {
        Self::At {
            file: file.to_owned(),
            line,
            column,
            message: message.into(),
        }
    }

    /// An error about a whole file.
    pub fn file(file: &str, message: impl Into<String>) -> Self {
        Self::File {
            file: file.to_owned(),
            message: message.into(),
        }
    }
}

/// The input formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// tumblescope's orders JSON Lines.
    Orders,
    /// Generic JSON Lines of records.
    Jsonl,
    /// CSV with a header row.
    Csv,
    /// Lambda event files (Kinesis or DynamoDB Streams).
    Events,
    /// AWS CLI `get-records` output (Kinesis or DynamoDB Streams).
    GetRecords,
}

impl Format {
    /// Name as on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Orders => "orders",
            Self::Jsonl => "jsonl",
            Self::Csv => "csv",
            Self::Events => "events",
            Self::GetRecords => "get-records",
        }
    }

    /// All formats.
    pub const ALL: [Self; 5] = [
        Self::Orders,
        Self::Jsonl,
        Self::Csv,
        Self::Events,
        Self::GetRecords,
    ];
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown format {s:?}: expected auto, orders, jsonl, csv, events or get-records"
                )
            })
    }
}

/// How timestamps are written in generic records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TsUnit {
    /// Numbers above 10^11 are milliseconds, others seconds; strings are RFC 3339 or numbers.
    #[default]
    Auto,
    /// Epoch seconds.
    Seconds,
    /// Epoch milliseconds.
    Millis,
    /// RFC 3339 strings.
    Rfc3339,
}

impl std::str::FromStr for TsUnit {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Self::Auto),
            "s" | "seconds" => Ok(Self::Seconds),
            "ms" | "millis" | "milliseconds" => Ok(Self::Millis),
            "rfc3339" | "iso" => Ok(Self::Rfc3339),
            _ => Err(format!(
                "unknown timestamp unit {s:?}: expected auto, seconds, millis or rfc3339"
            )),
        }
    }
}

/// Which fields of generic records (JSON Lines, CSV) hold what.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct FieldMap {
    /// Timestamp field (dotted path for JSON).
    pub timestamp: String,
    /// Timestamp unit.
    pub unit: TsUnit,
    /// Partition key field.
    pub partition_key: String,
    /// Optional shard field (a shard index or a shard id); records keep it.
    pub shard: Option<String>,
}

impl Default for FieldMap {
    fn default() -> Self {
        Self {
            timestamp: "timestamp".into(),
            unit: TsUnit::Auto,
            partition_key: "partitionKey".into(),
            shard: None,
        }
    }
}

/// How to load.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct LoadOptions {
    /// Format; `None` detects it from the content.
    pub format: Option<Format>,
    /// Kinesis or DynamoDB, for formats that do not say (event files do).
    pub source: Source,
    /// Shards to route to, for records that do not carry one.
    pub shards: u32,
    /// Names and the DynamoDB key attribute.
    pub meta: StreamMeta,
    /// Field mapping for generic records.
    pub fields: FieldMap,
    /// Skip bad records (reporting them) instead of stopping at the first.
    pub skip_bad: bool,
    /// How many skipped records to list by position.
    pub max_listed: usize,
    /// Splits, merges and rollover, for records routed here.
    pub reshard: crate::model::reshard::ReshardPlan,
    /// A numeric field to read while loading (the run's built-in's): line formats read it as
    /// they parse each line and leave it in the stream's column cache, so the run does not
    /// scan every payload again. Other formats leave it to the run. A hint, not a setting.
    #[serde(skip)]
    pub value: Option<crate::json::path::Path>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            format: None,
            source: Source::Kinesis,
            shards: 2,
            meta: StreamMeta::default(),
            fields: FieldMap::default(),
            skip_bad: false,
            max_listed: 20,
            reshard: Default::default(),
            value: None,
        }
    }
}

/// What a load did, so the user always knows what was left out.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LoadReport {
    /// The format used (detected or chosen), per file.
    pub formats: Vec<Format>,
    /// Bytes read.
    pub bytes: u64,
    /// Records loaded.
    pub records: u64,
    /// Bad records skipped (with `skip_bad`).
    pub skipped: u64,
    /// The first skipped records' errors.
    pub errors: Vec<LoadError>,
    /// Records whose timestamp went backwards within their shard (SEMANTICS Q15).
    pub backwards: u64,
    /// Records dropped as duplicates (the same shard and sequence number seen again, e.g. a
    /// retried batch in logged events).
    pub duplicates: u64,
}

impl LoadReport {
    /// Lines for a terminal or status bar.
    pub fn summary(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.skipped > 0 {
            out.push(format!(
                "skipped {} bad record(s){}:",
                self.skipped,
                if self.errors.len() < self.skipped as usize {
                    format!(", the first {} listed", self.errors.len())
                } else {
                    String::new()
                }
            ));
            out.extend(self.errors.iter().map(|e| format!("  {e}")));
        }
        if self.duplicates > 0 {
            out.push(format!(
                "dropped {} duplicate record(s) (same shard and sequence number)",
                self.duplicates
            ));
        }
        if self.backwards > 0 {
            out.push(format!(
                "{} record(s) have timestamps earlier than a previous record on their shard; they join the open window",
                self.backwards
            ));
        }
        out
    }
}

/// Progress of a load.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadProgress {
    /// Bytes read so far (all files).
    pub bytes_done: u64,
    /// Bytes in all files.
    pub bytes_total: u64,
    /// Records so far.
    pub records: u64,
}

/// Cancellation and progress for a load (progress is called as blocks are read).
pub type LoadControl<'a> = crate::model::Control<'a, LoadProgress>;

/// Collects bad records when skipping, or turns the first into the error.
pub(crate) struct Errors {
    skip: bool,
    max_listed: usize,
    pub(crate) skipped: u64,
    pub(crate) listed: Vec<LoadError>,
}

impl Errors {
    fn new(opts: &LoadOptions) -> Self {
        Self {
            skip: opts.skip_bad,
            max_listed: opts.max_listed,
            skipped: 0,
            listed: Vec::new(),
        }
    }

    /// Records a bad record: `Err` stops the load, `Ok` skips it.
    pub(crate) fn bad(&mut self, e: LoadError) -> Result<(), LoadError> {
        if !self.skip {
            return Err(e);
        }
        self.skipped += 1;
        if self.listed.len() < self.max_listed {
            self.listed.push(e);
        }
        Ok(())
    }
}

/// serde_json's message without its "at line L column C" tail: every loader puts the position
/// in its own `file:line:column` prefix.
pub(crate) fn serde_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rsplit_once(" at line ") {
        Some((message, _)) => message.to_owned(),
        None => text,
    }
}

/// 1-based (line, column) of a byte offset.
pub fn position_of(bytes: &[u8], offset: usize) -> (u64, u64) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    let col = before.iter().rev().take_while(|&&b| b != b'\n').count() as u64 + 1;
    (line, col)
}

/// What every format's loader works with: the files and options, progress and cancel, and
/// where bad records and the report go. One struct instead of the same seven parameters on
/// every loader.
pub(crate) struct LoadCtx<'a, 'c> {
    pub(crate) paths: &'a [PathBuf],
    pub(crate) opts: &'a LoadOptions,
    pub(crate) control: &'a mut LoadControl<'c>,
    /// Bytes in all the files, for progress.
    pub(crate) total: u64,
    pub(crate) errors: Errors,
    pub(crate) report: LoadReport,
}

pub(super) fn load_regular(
    paths: &[PathBuf],
    opts: &LoadOptions,
    control: &mut LoadControl<'_>,
) -> Result<(Stream, LoadReport), LoadError> {
    if paths.is_empty() {
        return Err(LoadError::file("(no file)", "no input file given"));
    }
    let total = total_size(paths)?;
    let formats = formats_of(paths, opts)?;
    let mut cx = LoadCtx {
        paths,
        opts,
        control,
        total,
        errors: Errors::new(opts),
        report: LoadReport {
            formats: formats.clone(),
            bytes: total,
            ..LoadReport::default()
        },
    };
    let line_based = formats
        .iter()
        .all(|f| matches!(f, Format::Orders | Format::Jsonl));
    let stream = if line_based && formats[0] == Format::Jsonl && opts.fields.shard.is_some() {
        mapped::load_mapped(&mut cx)?
    } else if line_based {
        lines::load_line_files(&mut cx, formats[0])?
    } else if formats[0] == Format::Csv {
        generic::load_csv_files(&mut cx)?
    } else {
        captures::load_event_files(&mut cx, formats[0])?
    };
    let LoadCtx {
        errors, mut report, ..
    } = cx;
    report.records = stream.len() as u64;
    report.skipped = errors.skipped;
    report.errors = errors.listed;
    report.backwards = stream.backwards.len() as u64;
    if stream.is_empty() {
        return Err(LoadError::file(
            &paths[0].display().to_string(),
            nothing_loaded(&report),
        ));
    }
    Ok((stream, report))
}

/// Bytes in all the files; folders are refused.
fn total_size(paths: &[PathBuf]) -> Result<u64, LoadError> {
    let mut total = 0u64;
    for p in paths {
        let meta = std::fs::metadata(p)
            .map_err(|e| LoadError::file(&p.display().to_string(), e.to_string()))?;
        if meta.is_dir() {
            return Err(LoadError::file(
                &p.display().to_string(),
                "is a directory, not a file",
            ));
        }
        total += meta.len();
    }
    Ok(total)
}

/// Each file's format (chosen, or detected from its head), which must be the same for all.
fn formats_of(paths: &[PathBuf], opts: &LoadOptions) -> Result<Vec<Format>, LoadError> {
    let mut formats = Vec::new();
    for p in paths {
        let name = p.display().to_string();
        let head = read_head(p)?;
        let size = std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        check_text(&name, &head, size)?;
        formats.push(opts.format.unwrap_or_else(|| detect(&head)));
    }
    if formats.windows(2).all(|w| w[0] == w[1]) {
        return Ok(formats);
    }
    let list: Vec<String> = paths
        .iter()
        .zip(&formats)
        .map(|(p, f)| format!("{} ({})", p.display(), f.name()))
        .collect();
    Err(LoadError::file(
        &paths[0].display().to_string(),
        format!(
            "the files have different formats: {}; load them separately or choose one with the format option",
            list.join(", ")
        ),
    ))
}

/// Why a load that found no record failed.
fn nothing_loaded(report: &LoadReport) -> String {
    if report.skipped > 0 {
        format!(
            "no valid records: all {} were bad (first: {})",
            report.skipped,
            report
                .errors
                .first()
                .map(ToString::to_string)
                .unwrap_or_default()
        )
    } else {
        "no records found".into()
    }
}

/// Loads bytes already in memory (tests, and drops that carry bytes instead of a path).
pub fn load_bytes(
    name: &str,
    bytes: &[u8],
    opts: &LoadOptions,
) -> Result<(Stream, LoadReport), LoadError> {
    let dir = std::env::temp_dir().join(format!(
        "tumblescope-bytes-{}-{}",
        std::process::id(),
        unique()
    ));
    std::fs::create_dir_all(&dir).map_err(|e| LoadError::file(name, e.to_string()))?;
    let base = Path::new(name)
        .file_name()
        .map_or_else(|| "input".into(), |n| n.to_string_lossy().into_owned());
    let path = dir.join(base);
    std::fs::write(&path, bytes).map_err(|e| LoadError::file(name, e.to_string()))?;
    let result = load_paths(
        std::slice::from_ref(&path),
        opts,
        &mut LoadControl::default(),
    );
    std::fs::remove_dir_all(&dir).ok();
    // Report positions under the caller's name, not the temporary path.
    let tmp_name = path.display().to_string();
    result
        .map(|(stream, mut report)| {
            report.errors = report
                .errors
                .into_iter()
                .map(|e| rename_error(e, &tmp_name, name))
                .collect();
            (stream, report)
        })
        .map_err(|e| rename_error(e, &tmp_name, name))
}

pub(super) fn unique() -> u64 {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

pub(super) fn rename_error(e: LoadError, from: &str, to: &str) -> LoadError {
    match e {
        LoadError::At {
            file,
            line,
            column,
            message,
        } if file == from => LoadError::At {
            file: to.to_owned(),
            line,
            column,
            message,
        },
        LoadError::File { file, message } if file == from => LoadError::File {
            file: to.to_owned(),
            message,
        },
        other => other,
    }
}

fn read_head(p: &Path) -> Result<Vec<u8>, LoadError> {
    use std::io::Read as _;
    let name = p.display().to_string();
    let mut f = std::fs::File::open(p).map_err(|e| LoadError::file(&name, e.to_string()))?;
    let mut head = vec![0u8; HEAD];
    let mut n = 0;
    while n < HEAD {
        let k = f
            .read(&mut head[n..])
            .map_err(|e| LoadError::file(&name, e.to_string()))?;
        if k == 0 {
            break;
        }
        n += k;
    }
    head.truncate(n);
    Ok(head)
}

/// Reads a whole (small, document-shaped) file as UTF-8 text.
fn read_text(p: &Path) -> Result<String, LoadError> {
    let name = p.display().to_string();
    let bytes = std::fs::read(p).map_err(|e| LoadError::file(&name, e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| {
        let (line, column) = position_of(e.as_bytes(), e.utf8_error().valid_up_to());
        LoadError::at(&name, line, column, "the file is not UTF-8 text")
    })
}

/// Reads a whole orders file already in memory into a stream (the simple API the engine tests
/// and CLI started with).
pub fn read_orders_bytes(
    bytes: &[u8],
    file: &str,
    source: Source,
    shards: u32,
    meta: StreamMeta,
) -> Result<Stream, LoadError> {
    let opts = LoadOptions {
        format: Some(Format::Orders),
        source,
        shards,
        meta,
        ..LoadOptions::default()
    };
    load_bytes(file, bytes, &opts).map(|(s, _)| s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_detected_from_content() {
        assert_eq!(
            detect(br#"{"timestamp":1,"partitionKey":"a","data":{}}"#),
            Format::Orders
        );
        assert_eq!(detect(br#"{"ts":1,"store":"a","sales":3}"#), Format::Jsonl);
        assert_eq!(detect(b"ts,store,sales\n1,a,3\n"), Format::Csv);
        assert_eq!(
            detect(b"{\n  \"Records\": [\n    {\n      \"kinesis\": {"),
            Format::Events
        );
        assert_eq!(detect(b"[{\"Records\":[]}]"), Format::Events);
        assert_eq!(detect(b"{\n    \"Records\": [\n        {\n            \"SequenceNumber\": \"1\",\n            \"Data\": \"e30=\",\n            \"PartitionKey\": \"a\""), Format::GetRecords);
        assert_eq!(detect(b"\xef\xbb\xbf{\"Records\":[{\"eventID\":\"x\",\"dynamodb\":{}}],\"NextShardIterator\":\"x\"}"), Format::GetRecords);
    }
}
