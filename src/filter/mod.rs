//! Event filtering (`FilterCriteria`, SEMANTICS §14.3): which records the mapping sends to the
//! function. Records that match no filter are never sent, do not count toward BatchSize, and
//! are passed as if processed. No egui, no files.

mod matching;
mod pattern;

use serde_json::{Map, Value};

pub use self::pattern::{MAX_PATTERN_CHARS, Pattern, PatternError};
use crate::handlers::event::{EventContext, write_record};
use crate::model::Source;
use crate::model::stream::Stream;

pub use crate::model::settings::DEFAULT_FILTER_QUOTA;

/// The compiled filters of a mapping.
#[derive(Clone, Debug)]
pub struct FilterCriteria {
    patterns: Vec<Pattern>,
    /// Whether any pattern reads the Kinesis payload (`data`).
    uses_data: Vec<bool>,
    /// Whether any pattern reads Kinesis fields other than `data`.
    uses_metadata: bool,
    /// Things the user should know (metadata filters AWS does not document for Kinesis).
    pub warnings: Vec<String>,
}

/// What the filters did, per filter and overall.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterReport {
    /// Records each filter matched (a record can match several).
    pub matched_per_filter: Vec<u64>,
    /// Records sent to the function (matched at least one filter).
    pub passed: u64,
    /// Records no filter matched.
    pub dropped: u64,
    /// Of those, Kinesis records whose data is not JSON where a filter names `data` (AWS:
    /// "Lambda drops the record").
    pub dropped_not_json: u64,
}

impl FilterCriteria {
    /// Compiles `patterns` for `source`, refusing what Lambda would refuse at
    /// CreateEventSourceMapping: more filters than the quota, a pattern over 4,096 characters,
    /// bad JSON, operators Lambda does not document. Errors name the filter (1-based) and the
    /// line and column in its pattern.
    pub fn compile(patterns: &[String], source: Source, quota: u32) -> Result<Self, String> {
        if patterns.len() > quota as usize {
            return Err(format!(
                "FilterCriteria has {} filters; the quota is {quota} per event source mapping \
                 (5 by default, up to 10 with a quota increase)",
                patterns.len()
            ));
        }
        let mut compiled = Vec::new();
        for (k, text) in patterns.iter().enumerate() {
            let p = pattern::parse(text, source).map_err(|e| {
                format!("filter {} at {}:{}: {}", k + 1, e.line, e.column, e.message)
            })?;
            compiled.push(p);
        }
        let uses_data = compiled
            .iter()
            .map(|p| p.top_keys().any(|k| k == "data"))
            .collect();
        let metadata: Vec<String> = compiled
            .iter()
            .flat_map(|p| p.top_keys().filter(|k| *k != "data").map(str::to_owned))
            .collect();
        let mut warnings = Vec::new();
        if source == Source::Kinesis && !metadata.is_empty() {
            warnings.push(format!(
                "filters on {} : AWS documents that Kinesis mappings filter only on the data key \
                 (older guides showed partitionKey filters); tumblescope matches them against the \
                 record's fields",
                metadata.join(", ")
            ));
        }
        Ok(Self {
            patterns: compiled,
            uses_data,
            uses_metadata: !metadata.is_empty(),
            warnings,
        })
    }

    /// How many filters there are.
    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    /// Whether there are none (every record passes).
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Which filters record `i` (its payload already read) matches, as a bit set (filter k is
    /// bit k), and whether its data could not be read as JSON where a filter needed it.
    fn match_payload(
        &self,
        stream: &Stream,
        ctx: &EventContext,
        i: usize,
        payload: &[u8],
    ) -> (u16, bool) {
        let (event, not_json) = match stream.source {
            Source::Kinesis => self.kinesis_view(stream, i, payload),
            Source::Dynamodb => (dynamodb_view(stream, ctx, i), false),
        };
        let mut bits = 0u16;
        for (k, p) in self.patterns.iter().enumerate() {
            // "If the data is not valid JSON and the filter pattern names data, Lambda drops
            // the record" (the filtering table, Lambda event filtering).
            if not_json && self.uses_data[k] {
                continue;
            }
            if matching::matches(p, &event) {
                bits |= 1 << k;
            }
        }
        (bits, not_json && bits == 0)
    }

    /// What a Kinesis pattern is matched against: `data` decoded from JSON, beside the
    /// record's own fields.
    fn kinesis_view(
        &self,
        stream: &Stream,
        i: usize,
        payload: &[u8],
    ) -> (Map<String, Value>, bool) {
        let mut m = Map::new();
        let mut not_json = false;
        if self.uses_data.iter().any(|&d| d) {
            match serde_json::from_slice::<Value>(payload) {
                Ok(v) => {
                    m.insert("data".into(), v);
                }
                Err(_) => not_json = true,
            }
        }
        if self.uses_metadata {
            m.insert("kinesisSchemaVersion".into(), "1.0".into());
            m.insert("partitionKey".into(), stream.partition_key(i).into());
            m.insert("sequenceNumber".into(), stream.seq(i).into_owned().into());
            let secs = serde_json::Number::from_f64(stream.ts_ms[i] as f64 / 1000.0);
            m.insert(
                "approximateArrivalTimestamp".into(),
                secs.map_or(Value::Null, Value::Number),
            );
        }
        (m, not_json)
    }

    /// The records of `stream` the filters let through, with the report.
    pub fn apply(&self, stream: &Stream, seed: u64) -> (Vec<usize>, FilterReport) {
        let ctx = EventContext::new(stream, seed);
        let mut report = FilterReport {
            matched_per_filter: vec![0; self.len()],
            ..FilterReport::default()
        };
        let mut keep = Vec::new();
        // Matched in parallel, payloads read in file order; counted in record order.
        let matched = stream.map_payloads(None, |i, payload| {
            self.match_payload(stream, &ctx, i, payload)
        });
        for (i, (bits, not_json)) in matched.into_iter().enumerate() {
            for (k, n) in report.matched_per_filter.iter_mut().enumerate() {
                *n += u64::from(bits >> k & 1);
            }
            if bits != 0 {
                keep.push(i);
                report.passed += 1;
            } else {
                report.dropped += 1;
                report.dropped_not_json += u64::from(not_json);
            }
        }
        (keep, report)
    }
}

impl Pattern {
    fn top_keys(&self) -> impl Iterator<Item = &str> {
        self.fields
            .iter()
            .map(|(k, _)| k.as_str())
            .chain(self.ors.iter().flatten().flat_map(|p| p.top_keys_boxed()))
    }

    fn top_keys_boxed(&self) -> Box<dyn Iterator<Item = &str> + '_> {
        Box::new(self.top_keys())
    }
}

/// What a DynamoDB pattern is matched against: the record exactly as the function would get
/// it (`eventName`, `dynamodb` with typed `Keys`, `NewImage`, `OldImage`, …).
fn dynamodb_view(stream: &Stream, ctx: &EventContext, i: usize) -> Map<String, Value> {
    let mut bytes = Vec::new();
    write_record(stream, ctx, stream.shard_of(i), i, &mut bytes);
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests;
