//! What the built-ins precompute per record before a run (the fast path's columns): the
//! aggregated value, the fail rule's value, the event filter and the group of every record.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Builtin, GroupBy};
use crate::json::{self, path::Path};
use crate::model::stream::Stream;
use crate::model::{EventName, Source};

impl Builtin {
    /// Fills the per-record columns for `stream`.
    pub(super) fn prepare_columns(&mut self, stream: &Stream) {
        let n = stream.len();
        self.source = stream.source;
        // Without an event filter every record passes: one fill instead of a test per record.
        self.included = match self.spec.events {
            None => vec![true; n],
            Some(_) => (0..n)
                .map(|i| self.passes_filter(stream.event_name(i)))
                .collect(),
        };
        self.values = match &self.spec.path {
            None => Default::default(),
            Some(path) => value_column(stream, path),
        };
        self.fail_values = match &self.spec.fail {
            None => Default::default(),
            Some(rule) => value_column(stream, &rule.path),
        };
        self.considered = self.included.iter().filter(|x| **x).count();
        self.missing = if self.spec.path.is_some() {
            self.included
                .iter()
                .zip(self.values.iter())
                .filter(|(inc, v)| **inc && v.is_nan())
                .count()
        } else {
            0
        };
        self.group_names.clear();
        self.groups = match self.spec.group_by.clone() {
            None => Vec::new(),
            Some(by) => self.group_column(stream, &by),
        };
    }

    /// Group id per record (`u32::MAX`: no label), ids in order of the labels' names.
    fn group_column(&mut self, stream: &Stream, by: &GroupBy) -> Vec<u32> {
        let mut ids: BTreeMap<String, u32> = BTreeMap::new();
        let labels: Vec<Option<String>> = match (by, stream.source) {
            (GroupBy::PartitionKey, Source::Kinesis) => (0..stream.len())
                .map(|i| Some(stream.partition_key(i).to_owned()))
                .collect(),
            (GroupBy::PartitionKey, Source::Dynamodb) => (0..stream.len())
                .map(|i| Some(ddb_key_label(stream, i)))
                .collect(),
            (GroupBy::Field(p), _) => stream.map_payloads(None, |i, bytes| {
                if !has_new_image(stream, i) {
                    return None;
                }
                serde_json::from_slice::<Value>(bytes)
                    .ok()
                    .and_then(|doc| p.lookup(&doc).map(json::path::label_from_value))
            }),
        };
        let labels: Vec<Option<u32>> = labels
            .into_iter()
            .map(|l| {
                l.map(|l| {
                    let next = ids.len() as u32;
                    *ids.entry(l).or_insert(next)
                })
            })
            .collect();
        self.group_names = vec![String::new(); ids.len()];
        for (name, id) in ids {
            self.group_names[id as usize] = name;
        }
        labels.into_iter().map(|l| l.unwrap_or(u32::MAX)).collect()
    }
}

/// Whether record `i` has an image to read values from (DynamoDB: a NEW image in the view and
/// not a REMOVE).
fn has_new_image(stream: &Stream, i: usize) -> bool {
    match stream.source {
        Source::Kinesis => true,
        Source::Dynamodb => {
            stream.meta.view_type.has_new() && stream.event_name(i) != EventName::Remove
        }
    }
}

/// The number at `path` of every record (NaN: absent or not numeric), computed once per stream
/// and path and shared through the stream's column cache.
fn value_column(stream: &Stream, path: &Path) -> std::sync::Arc<Vec<f64>> {
    let known_json = stream.payload_is_json;
    let key = crate::model::stream::column_key(path, stream.meta.view_type);
    stream.columns.get_or_insert(&key, || {
        stream.map_payloads(None, |i, bytes| {
            if has_new_image(stream, i) {
                json::path::number_in(bytes, path, known_json)
            } else {
                f64::NAN
            }
        })
    })
}

/// The label of a DynamoDB record's key, as `Keys` shows it.
fn ddb_key_label(stream: &Stream, i: usize) -> String {
    let attr = &stream.meta.key_attribute;
    let from = |bytes: &[u8]| {
        serde_json::from_slice::<Value>(bytes)
            .ok()
            .and_then(|v| v.get(attr).map(json::path::label_from_value))
    };
    from(&stream.payload(i))
        .or_else(|| stream.old_image(i).and_then(from))
        .unwrap_or_else(|| stream.partition_key(i).to_owned())
}
