//! The one run path shared by the command line and the app: a [`RunSpec`] (where the stream
//! comes from, the mapping settings, the handler) becomes a stream ([`build_stream`]) and a
//! trace ([`simulate`]). Every setting is wired here once; the CLI turns flags into a spec, the
//! app edits one in its setup panel.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::generate::GenOptions;
use crate::ingest::{LoadControl, LoadError, LoadOptions, LoadReport, load_paths};
use crate::model::Source;
use crate::model::settings::Settings;
use crate::model::stream::{Stream, StreamMeta};
use crate::scenarios;
use crate::sim::{Control, SimError, Trace};

/// Where the stream comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SourceSpec {
    /// A scenario preset's stream.
    Scenario {
        /// Preset id.
        id: String,
    },
    /// Generated orders.
    Generated {
        /// Generator options.
        options: GenOptions,
    },
    /// Stream files (merged by time per shard).
    Files {
        /// Their paths.
        paths: Vec<PathBuf>,
    },
}

/// Everything that determines a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunSpec {
    /// The stream.
    pub source: SourceSpec,
    /// Kinesis or DynamoDB (for files; generated streams carry their own).
    pub stream_source: Source,
    /// Shards (for files; generated streams carry their own).
    pub shards: u32,
    /// Names, key attribute, view type.
    pub meta: StreamMeta,
    /// Mapping settings.
    pub settings: Settings,
    /// Handler spec.
    pub handler: String,
    /// How files are read (format, field mapping, skipping bad records).
    #[serde(default)]
    pub input: InputSettings,
    /// Splits, merges and rollover (for files; generated streams carry their own).
    #[serde(default)]
    pub reshard: crate::model::reshard::ReshardPlan,
}

/// How files are read: the parts of [`crate::ingest::LoadOptions`] a user chooses.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct InputSettings {
    /// Format (`None`: detect).
    pub format: Option<crate::ingest::Format>,
    /// Field mapping for generic records.
    pub fields: crate::ingest::FieldMap,
    /// Skip bad records instead of stopping.
    pub skip_bad: bool,
}

impl RunSpec {
    /// The spec of a scenario preset.
    pub fn scenario(s: &scenarios::Scenario) -> Self {
        let (source, shards) = match &s.stream {
            scenarios::StreamSpec::Generated(o) => (o.source, o.shards),
            scenarios::StreamSpec::Literal { .. } => (Source::Kinesis, 1),
        };
        Self {
            source: SourceSpec::Scenario {
                id: s.id.to_owned(),
            },
            stream_source: source,
            shards,
            meta: StreamMeta::default(),
            settings: s.settings.clone(),
            handler: s.handler.clone(),
            input: InputSettings::default(),
            reshard: Default::default(),
        }
    }

    /// The first-launch demo.
    pub fn demo() -> Self {
        Self::scenario(&scenarios::demo())
    }

    /// Whether two specs describe the same stream (so a re-run can reuse it).
    pub fn same_stream(&self, other: &Self) -> bool {
        self.source == other.source
            && self.input == other.input
            && self.stream_source == other.stream_source
            && self.shards == other.shards
            && self.meta == other.meta
            && self.reshard == other.reshard
    }

    /// Generator options when the stream is generated (or a generated scenario).
    pub fn generator(&self) -> Option<GenOptions> {
        match &self.source {
            SourceSpec::Generated { options } => Some(options.clone()),
            SourceSpec::Scenario { id } => match scenarios::by_id(id)?.stream {
                scenarios::StreamSpec::Generated(o) => Some(o),
                scenarios::StreamSpec::Literal { .. } => None,
            },
            SourceSpec::Files { .. } => None,
        }
    }

    /// Every file the run reads (stream files and a user handler's file): exports and sessions
    /// must never be written over one of them.
    pub fn input_paths(&self) -> Vec<PathBuf> {
        let mut paths = match &self.source {
            SourceSpec::Files { paths } => paths.clone(),
            _ => Vec::new(),
        };
        if let Some(h) = crate::handlers::external::ExternalSpec::parse(&self.handler) {
            paths.push(h.path);
        }
        paths
    }

    /// A short description of the stream for the status bar.
    pub fn describe(&self) -> String {
        match &self.source {
            SourceSpec::Scenario { id } => scenarios::by_id(id)
                .map_or_else(|| id.clone(), |s| format!("scenario: {}", s.title)),
            SourceSpec::Generated { options } => format!(
                "generated: {} orders on {} {} shard(s)",
                options.count,
                options.shards,
                options.source.name()
            ),
            SourceSpec::Files { paths } => match paths.as_slice() {
                [one] => format!("file: {}", one.display()),
                many => format!(
                    "{} files: {}",
                    many.len(),
                    many.iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            },
        }
    }
}

/// Why a spec's stream could not be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// A file could not be loaded (or the load was cancelled).
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The spec itself is not valid (unknown scenario, generator options out of range).
    #[error("{0}")]
    Invalid(String),
}

/// Builds the stream a spec describes, with load progress and cancel through `control`. A
/// loaded file's report (skipped and duplicate records, timestamps going backwards) comes with
/// it.
pub fn build_stream(
    spec: &RunSpec,
    control: &mut LoadControl<'_>,
) -> Result<(Stream, Option<LoadReport>), BuildError> {
    match &spec.source {
        SourceSpec::Scenario { id } => {
            let s = scenarios::by_id(id)
                .ok_or_else(|| BuildError::Invalid(format!("unknown scenario {id:?}")))?;
            Ok((s.stream.build(spec.meta.clone()), None))
        }
        SourceSpec::Generated { options } => {
            options.check().map_err(BuildError::Invalid)?;
            Ok((
                crate::generate::generate_stream(options, spec.meta.clone()),
                None,
            ))
        }
        SourceSpec::Files { paths } => {
            let opts = LoadOptions {
                format: spec.input.format,
                source: spec.stream_source,
                shards: spec.shards,
                meta: spec.meta.clone(),
                fields: spec.input.fields.clone(),
                skip_bad: spec.input.skip_bad,
                max_listed: 20,
                reshard: spec.reshard.clone(),
                value: crate::handlers::value_path(&spec.handler),
            };
            opts.reshard
                .check(opts.source, opts.shards)
                .map_err(BuildError::Invalid)?;
            let (stream, report) = load_paths(paths, &opts, control)?;
            if !opts.reshard.steps.is_empty() && stream.shards.iter().all(|s| s.parents.is_empty())
            {
                return Err(BuildError::Invalid(
                    "--reshard applies to records tumblescope routes; this input names its own \
                     shards (a capture's lineage comes from its ChildShards)"
                        .into(),
                ));
            }
            Ok((stream, Some(report)))
        }
    }
}

/// A simulated run.
pub struct Simulated {
    /// The trace; its record indices are those of [`Simulated::delivered`] when filters apply.
    pub trace: Trace,
    /// How long the simulation took.
    pub took: Duration,
    /// With filters, the records they let through, as their own stream (`None`: every record).
    pub delivered: Option<Stream>,
    /// Indices (in the source stream) of the records the filters dropped, ascending.
    pub dropped: Vec<u32>,
}

impl Simulated {
    /// The stream the trace's record indices refer to.
    pub fn stream<'a>(&'a self, source: &'a Stream) -> &'a Stream {
        self.delivered.as_ref().unwrap_or(source)
    }
}

/// Simulates a spec's mapping and handler over a stream: its filters first (records no filter
/// matches never reach the engine), then the engine.
pub fn simulate(
    spec: &RunSpec,
    stream: &Stream,
    control: &mut Control<'_>,
) -> Result<Simulated, SimError> {
    simulate_reusing(spec, stream, control, Default::default())
}

/// [`simulate`], writing the invocations into a replaced run's memory
/// ([`crate::sim::simulate_reusing`]).
pub fn simulate_reusing(
    spec: &RunSpec,
    stream: &Stream,
    control: &mut Control<'_>,
    spare: crate::sim::TraceMemory,
) -> Result<Simulated, SimError> {
    let mut handler = crate::handlers::from_spec(&spec.handler).map_err(SimError::Spec)?;
    let started = Instant::now();
    let s = &spec.settings;
    let mut dropped = Vec::new();
    let (delivered, filter) = if s.filters.is_empty() {
        (None, None)
    } else {
        let criteria =
            crate::filter::FilterCriteria::compile(&s.filters, stream.source, s.filter_quota)
                .map_err(SimError::Settings)?;
        let (keep, report) = criteria.apply(stream, s.seed);
        dropped = complement(&keep, stream.len());
        let delivered = if s.filtered_records_close_windows {
            stream.select_marking(&keep)
        } else {
            stream.select(&keep)
        };
        (Some(delivered), Some((report, criteria.warnings)))
    };
    let mut trace = crate::sim::simulate_reusing(
        delivered.as_ref().unwrap_or(stream),
        s,
        handler.as_mut(),
        control,
        spare,
    )?;
    if let Some((report, warnings)) = filter {
        trace.filter = Some(report);
        trace.warnings.extend(warnings);
    }
    Ok(Simulated {
        trace,
        took: started.elapsed(),
        delivered,
        dropped,
    })
}

/// The indices below `n` that ascending `keep` leaves out.
fn complement(keep: &[usize], n: usize) -> Vec<u32> {
    let mut out = Vec::with_capacity(n - keep.len().min(n));
    let mut kept = keep.iter().peekable();
    for i in 0..n {
        if kept.peek() == Some(&&i) {
            kept.next();
        } else {
            out.push(i as u32);
        }
    }
    out
}
