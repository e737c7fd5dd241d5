//! Built-in aggregation handlers: sum, count, min, max and average of a numeric field, optionally
//! grouped and filtered by DynamoDB `eventName`. No runtime needed.
//!
//! They behave like a hand-written Lambda handler: they add the batch into `state`, return
//! `{ state }`, and on the final invocation write one result row to an output table. Two
//! implementations exist: a fast path over the stream's columns (used by the engine) and
//! [`Builtin::handle_event`], which works on the event JSON like a real function. Tests check
//! that both show the same thing.

use serde_json::{Map, Value};

mod columns;
mod on_event;
mod rows;
mod spec;

pub use self::spec::{BuiltinSpec, FailRule, GroupBy};

use super::{Invoked, Request, Response};
use crate::model::settings::Settings;
use crate::model::state::{Acc, AggState, Key, Scalar, State};
use crate::model::stream::Stream;
use crate::model::{EventName, Source};

/// Table the built-ins write their results to.
pub const RESULTS_TABLE: &str = "tumblescope-results";

/// A built-in handler, prepared for one stream.
#[derive(Clone, Debug)]
pub struct Builtin {
    spec: BuiltinSpec,
    /// The value per record (NaN = absent or not numeric), shared through the stream's cache.
    values: std::sync::Arc<Vec<f64>>,
    /// Group id per record (`u32::MAX` = no group label).
    groups: Vec<u32>,
    group_names: Vec<String>,
    /// Per record: passes the event filter.
    included: Vec<bool>,
    /// Per record: the fail rule's field (NaN = absent), when a rule is set.
    fail_values: std::sync::Arc<Vec<f64>>,
    missing: usize,
    considered: usize,
    source: Source,
    /// The state key, interned: an ungrouped state then stays inline (no allocation).
    key: Option<Key>,
    /// The spec again, shared with the trace to render result rows on demand.
    rows: std::sync::Arc<BuiltinSpec>,
}

impl Builtin {
    /// A handler for `spec`.
    pub fn new(spec: BuiltinSpec) -> Self {
        Self {
            rows: std::sync::Arc::new(spec.clone()),
            spec,
            values: Default::default(),
            groups: Vec::new(),
            group_names: Vec::new(),
            included: Vec::new(),
            fail_values: Default::default(),
            missing: 0,
            considered: 0,
            source: Source::Kinesis,
            key: None,
        }
    }

    /// The spec.
    pub fn spec(&self) -> &BuiltinSpec {
        &self.spec
    }

    fn start_state(&self, state: &State) -> AggState {
        match state.agg() {
            Some(a)
                if a.op == self.spec.op && a.groups.is_some() == self.spec.group_by.is_some() =>
            {
                a.into_owned()
            }
            _ if state.is_empty() => self.spec.empty_state(),
            _ => self.spec.state_from_json(&state.to_json()),
        }
    }

    #[inline]
    fn passes_filter(&self, e: EventName) -> bool {
        self.spec.events.as_ref().is_none_or(|ev| ev.contains(&e))
    }

    /// The state after folding `records` into `state`: inline for an ungrouped built-in (no
    /// allocation), typed otherwise.
    fn next_state(&self, state: &State, records: std::ops::Range<usize>) -> State {
        if self.spec.group_by.is_none() {
            let start = match state.scalar() {
                Some(s) if s.op == self.spec.op => Some(s),
                None if state.is_empty() => self.key.map(|key| Scalar {
                    value: 0.0,
                    count: 0,
                    key,
                    op: self.spec.op,
                }),
                _ => None,
            };
            if let Some(mut s) = start {
                let mut acc = s.acc();
                self.fold_total(&mut acc, records.clone());
                if let Ok(count) = u32::try_from(acc.count) {
                    s.value = acc.value;
                    s.count = count;
                    return State::from_scalar(s);
                }
            }
        }
        let mut agg = self.start_state(state);
        self.fold(&mut agg, records);
        State::from_agg(agg)
    }

    /// The ungrouped fold.
    fn fold_total(&self, acc: &mut Acc, records: std::ops::Range<usize>) {
        let op = self.spec.op;
        if self.spec.path.is_none() {
            for i in records {
                if self.included[i] {
                    acc.add(op, 1.0);
                }
            }
        } else {
            for i in records {
                let v = self.values[i];
                if self.included[i] && !v.is_nan() {
                    acc.add(op, v);
                }
            }
        }
    }

    /// The fold over one batch, on the precomputed columns.
    fn fold(&self, agg: &mut AggState, records: std::ops::Range<usize>) {
        let op = self.spec.op;
        let values = &self.values;
        match &mut agg.groups {
            None => self.fold_total(&mut agg.total, records),
            Some(groups) => {
                for i in records {
                    let g = self.groups[i];
                    if !self.included[i] || g == u32::MAX {
                        continue;
                    }
                    let v = if self.spec.path.is_none() {
                        1.0
                    } else {
                        values[i]
                    };
                    if v.is_nan() {
                        continue;
                    }
                    let name = &self.group_names[g as usize];
                    match groups.get_mut(name) {
                        Some(acc) => acc.add(op, v),
                        None => {
                            let mut acc = Acc::default();
                            acc.add(op, v);
                            groups.insert(name.clone(), acc);
                        }
                    }
                }
            }
        }
    }

    /// Without windows: one row per batch.
    fn batch_item(&self, shard_id: &str, first_seq: &str, last_seq: &str, agg: &AggState) -> Value {
        let mut m = Map::new();
        if !shard_id.is_empty() {
            m.insert("shardId".into(), Value::String(shard_id.to_owned()));
        }
        m.insert(
            "firstSequenceNumber".into(),
            Value::String(first_seq.to_owned()),
        );
        m.insert(
            "lastSequenceNumber".into(),
            Value::String(last_seq.to_owned()),
        );
        let state = agg.to_json();
        let item = self.spec.result_item(shard_id, None, &state, false);
        if let Value::Object(o) = item {
            for (k, v) in o {
                if k != "shardId" {
                    m.insert(k, v);
                }
            }
        }
        Value::Object(m)
    }
}

impl super::Handler for Builtin {
    fn describe(&self) -> String {
        self.spec.to_string()
    }

    fn prepare(&mut self, stream: &Stream, _settings: &Settings) -> Result<(), String> {
        self.prepare_columns(stream);
        self.key = Key::intern(&self.spec.state_key());
        Ok(())
    }

    fn as_builtin(&mut self) -> Option<&mut Builtin> {
        Some(self)
    }

    #[inline]
    fn returned_state(&mut self, req: &Request<'_>) -> Option<(State, bool)> {
        if req.window.is_none() || self.spec.fail.is_some() {
            return None;
        }
        let deferred = req.is_final || req.is_early;
        if deferred && req.records.is_empty() {
            return Some((req.state.clone(), true));
        }
        Some((self.next_state(req.state, req.records.clone()), deferred))
    }

    fn invoke(&mut self, req: &Request<'_>) -> Invoked {
        let shard_id = &req.stream.shards[req.shard].id;
        if req.window.is_some() && (req.is_final || req.is_early) && req.records.is_empty() {
            // The result row, rendered from the returned state when someone looks.
            let mut inv = Invoked::ok(Response::with_state(req.state.clone()));
            inv.deferred_write = true;
            return inv;
        }
        if let Some(rule) = &self.spec.fail {
            for i in req.records.clone() {
                let v = self.fail_values[i];
                if self.included[i] && !v.is_nan() && rule.matches(v) {
                    return Invoked::err(rule.error(&req.stream.seq(i), v));
                }
            }
        }
        if req.window.is_none() {
            let mut agg = self.spec.empty_state();
            self.fold(&mut agg, req.records.clone());
            let first = req
                .records
                .clone()
                .next()
                .map(|i| req.stream.seq(i).into_owned());
            let last = req
                .records
                .clone()
                .last()
                .map(|i| req.stream.seq(i).into_owned());
            let shard_id = match self.source {
                Source::Kinesis => shard_id.as_str(),
                Source::Dynamodb => "",
            };
            let item = self.batch_item(
                shard_id,
                first.as_deref().unwrap_or_default(),
                last.as_deref().unwrap_or_default(),
                &agg,
            );
            let mut inv = Invoked::ok(Response {
                state: super::ResponseState::Missing,
                batch_item_failures: Vec::new(),
                raw: Some(Value::Null),
            });
            inv.writes.push(self.spec.table_write(item));
            return inv;
        }
        let state = self.next_state(req.state, req.records.clone());
        let mut inv = Invoked::ok(Response::with_state(state.clone()));
        // Modelling choice Q1: a final invocation that carries the window's last batch.
        inv.deferred_write = req.is_final || req.is_early;
        inv
    }

    fn deferred_writes(&self) -> Option<std::sync::Arc<dyn super::DeferredWrites>> {
        Some(self.rows.clone())
    }

    fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if let Some(p) = &self.spec.path
            && self.missing > 0
        {
            let where_ = match self.source {
                Source::Kinesis => "the JSON payload",
                Source::Dynamodb => "NewImage",
            };
            w.push(format!(
                "{} of {} records have no numeric {p} in {where_}; {} skipped them",
                self.missing, self.considered, self.spec
            ));
        }
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::path::Path;
    use crate::model::state::AggOp;

    #[test]
    fn specs_parse_and_print() {
        let s = BuiltinSpec::parse("builtin:sum:Item.sales").unwrap();
        assert_eq!(s.op, AggOp::Sum);
        assert_eq!(s.path, Some(Path::parse("Item.sales")));
        assert_eq!(s.state_key(), "sales");
        assert_eq!(s.to_string(), "builtin:sum:Item.sales");
        let s =
            BuiltinSpec::parse("builtin:avg:NewImage.sales.N:by=pk:events=INSERT,MODIFY").unwrap();
        assert_eq!(s.path, Some(Path::parse("sales")));
        assert_eq!(s.group_by, Some(GroupBy::PartitionKey));
        assert_eq!(s.events, Some(vec![EventName::Insert, EventName::Modify]));
        assert_eq!(
            s.to_string(),
            "builtin:avg:sales:by=pk:events=INSERT,MODIFY"
        );
        assert_eq!(
            BuiltinSpec::parse("builtin:count").unwrap().state_key(),
            "count"
        );
        assert!(
            BuiltinSpec::parse("builtin:sum")
                .unwrap_err()
                .contains("needs a field")
        );
        assert!(
            BuiltinSpec::parse("builtin:median:x")
                .unwrap_err()
                .contains("median")
        );
        assert!(BuiltinSpec::parse("builtin:sum:x:events=UPSERT").is_err());
    }

    /// A typed state is reused only by a built-in of the same operation and grouping; any
    /// other (a state another built-in made) is read back from its JSON, as a function would.
    #[test]
    fn typed_state_is_reused_only_by_the_same_kind_of_builtin() {
        let make = |spec: &str| Builtin::new(BuiltinSpec::parse(spec).unwrap());
        let sum = make("builtin:sum:sales");
        let mut agg = sum.spec.empty_state();
        agg.total.add(AggOp::Sum, 10.0);
        let state = State::from_agg(agg);
        let again = sum.start_state(&state);
        assert_eq!((again.op, again.total.value), (AggOp::Sum, 10.0));
        // An average reads {"sales": 10} as JSON: no sum and count there, so it starts empty.
        let avg = make("builtin:avg:sales").start_state(&state);
        assert_eq!((avg.op, avg.total.count), (AggOp::Avg, 0));
        // A grouped sum reads the same JSON as one group named "sales".
        let grouped = make("builtin:sum:sales:by=pk").start_state(&state);
        assert_eq!(grouped.op, AggOp::Sum);
        assert_eq!(grouped.groups.unwrap()["sales"].value, 10.0);
        // And the other way: a grouped state into an ungrouped sum.
        let by = make("builtin:sum:sales:by=pk");
        let mut g = by.spec.empty_state();
        g.groups
            .as_mut()
            .unwrap()
            .entry("a".into())
            .or_default()
            .add(AggOp::Sum, 3.0);
        let plain = sum.start_state(&State::from_agg(g));
        assert!(plain.groups.is_none());
        assert_eq!(plain.total.value, 0.0, "no \"sales\" key in {{\"a\": 3}}");
    }
}
