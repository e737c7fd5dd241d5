//! A record as the line and CSV loaders parse it, before it enters the stream builder, and how
//! records name their shard.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::model::EventName;

/// A shard named by a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ShardKey<'a> {
    /// A shard index.
    Index(u32),
    /// A shard id.
    Id(Cow<'a, str>),
}

/// One parsed record, borrowing from its line where it can.
#[derive(Clone, Debug)]
pub(crate) struct Parsed<'a> {
    pub(crate) ts_ms: i64,
    pub(crate) pk: Cow<'a, str>,
    pub(crate) ehk: Option<u128>,
    pub(crate) shard: Option<ShardKey<'a>>,
    pub(crate) seq: Option<Cow<'a, str>>,
    pub(crate) data: Cow<'a, str>,
    pub(crate) event: EventName,
    pub(crate) old: Option<Cow<'a, str>>,
    /// The number at the load's value path ([`super::LoadOptions::value`]), once read.
    pub(crate) value: Option<f64>,
}

/// The most shards a stream may have here (`--shards` 1–4096).
pub(crate) const MAX_SHARDS: u32 = 4096;

/// Shards named by the input, in order of first appearance.
#[derive(Default)]
pub(crate) struct ShardNames {
    ids: Vec<String>,
    index: HashMap<String, u32>,
    max_index: Option<u32>,
}

impl ShardNames {
    /// The shard index for a key. Indices and ids cannot be mixed: index 1 and
    /// `shardId-000000000001` would silently become two shards, or two shards one.
    pub(crate) fn resolve(&mut self, key: &ShardKey<'_>) -> Result<u32, String> {
        let mixed = |index: u32, id: &str| {
            format!(
                "the shard field names shards both by index ({index}) and by id ({id:?}): use one form for every record"
            )
        };
        match key {
            ShardKey::Index(i) => {
                if let Some(id) = self.ids.first() {
                    return Err(mixed(*i, id));
                }
                self.max_index = Some(self.max_index.map_or(*i, |m| m.max(*i)));
                Ok(*i)
            }
            ShardKey::Id(id) => {
                if let Some(m) = self.max_index {
                    return Err(mixed(m, id));
                }
                if let Some(&i) = self.index.get(id.as_ref()) {
                    return Ok(i);
                }
                if self.ids.len() >= MAX_SHARDS as usize {
                    return Err(format!(
                        "more than {MAX_SHARDS} distinct shard ids (at {id:?}): tumblescope simulates up to {MAX_SHARDS} shards"
                    ));
                }
                let i = self.ids.len() as u32;
                self.ids.push(id.to_string());
                self.index.insert(id.to_string(), i);
                Ok(i)
            }
        }
    }

    /// The shard ids to build with: named ids, or Kinesis ids for indices.
    pub(crate) fn ids(&self) -> Option<Vec<String>> {
        if !self.ids.is_empty() {
            // Sorted, so shard order does not depend on which shard's record came first.
            return Some(self.ids.clone());
        }
        self.max_index.map(|m| {
            (0..=m)
                .map(crate::model::routing::kinesis_shard_id)
                .collect()
        })
    }
}

/// 1-based byte column where the value of `"key"` starts in `line`, or 1.
pub(crate) fn column_of(line: &str, key: &str) -> u64 {
    let needle = format!("\"{key}\"");
    line.find(&needle)
        .map(|p| {
            let after = p + needle.len();
            let rest = &line[after..];
            let colon = rest.find(':').map_or(0, |c| c + 1);
            let ws = rest[colon..].len() - rest[colon..].trim_start().len();
            (after + colon + ws + 1) as u64
        })
        .unwrap_or(1)
}
