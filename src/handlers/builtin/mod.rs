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
mod spec;

pub use self::spec::{BuiltinSpec, FailRule, GroupBy};

use super::{Invoked, Request, Response, TableWrite};
use crate::json;
use crate::model::settings::Settings;
use crate::model::state::{Acc, AggOp, AggState, State, js_number};
use crate::model::stream::Stream;
use crate::model::{EventName, Source, Window, iso_seconds};

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
}

impl Builtin {
    /// A handler for `spec`.
    pub fn new(spec: BuiltinSpec) -> Self {
        Self {
            spec,
            values: Default::default(),
            groups: Vec::new(),
            group_names: Vec::new(),
            included: Vec::new(),
            fail_values: Default::default(),
            missing: 0,
            considered: 0,
            source: Source::Kinesis,
        }
    }

    /// The spec.
    pub fn spec(&self) -> &BuiltinSpec {
        &self.spec
    }

    fn empty_state(&self) -> AggState {
        AggState::new(
            self.spec.op,
            &self.spec.state_key(),
            self.spec.group_by.is_some(),
        )
    }

    /// Rebuilds typed state from a state object (after carry-over or from JSON).
    fn state_from_json(&self, m: &Map<String, Value>) -> AggState {
        let mut agg = self.empty_state();
        let acc_from = |v: &Value| -> Option<Acc> {
            match self.spec.op {
                AggOp::Avg => {
                    let sum = v.get("sum").and_then(json::path::number_from_value)?;
                    let count = v.get("count").and_then(json::path::number_from_value)?;
                    Some(Acc {
                        value: sum,
                        count: count.max(0.0) as u64,
                    })
                }
                _ => json::path::number_from_value(v).map(|value| Acc { value, count: 1 }),
            }
        };
        match &mut agg.groups {
            Some(groups) => {
                for (k, v) in m {
                    if let Some(acc) = acc_from(v) {
                        groups.insert(k.clone(), acc);
                    }
                }
            }
            None => {
                let acc = if self.spec.op == AggOp::Avg {
                    acc_from(&Value::Object(m.clone()))
                } else {
                    m.get(&agg.key).and_then(acc_from)
                };
                if let Some(acc) = acc {
                    agg.total = acc;
                }
            }
        }
        agg
    }

    fn start_state(&self, state: &State) -> AggState {
        match state.agg() {
            Some(a)
                if a.op == self.spec.op && a.groups.is_some() == self.spec.group_by.is_some() =>
            {
                a.clone()
            }
            _ if state.is_empty() => self.empty_state(),
            _ => self.state_from_json(&state.to_json()),
        }
    }

    /// The row written for a window: `{shardId, windowStart, windowEnd, <key>: value}`.
    fn result_item(
        &self,
        shard_id: &str,
        window: Option<Window>,
        state: &Map<String, Value>,
        early: bool,
    ) -> Value {
        let agg = self.state_from_json(state);
        let mut item = Map::new();
        item.insert("shardId".into(), Value::String(shard_id.to_owned()));
        if let Some(w) = window {
            item.insert("windowStart".into(), Value::String(iso_seconds(w.start_ms)));
            item.insert("windowEnd".into(), Value::String(iso_seconds(w.end_ms)));
        }
        let key = if self.spec.op == AggOp::Avg {
            "avg".to_owned()
        } else {
            agg.key.clone()
        };
        let value = match &agg.groups {
            Some(groups) => Value::Object(
                groups
                    .iter()
                    .filter_map(|(g, acc)| Some((g.clone(), js_number(acc.result(self.spec.op)?))))
                    .collect(),
            ),
            None => agg
                .total
                .result(self.spec.op)
                .map_or(Value::Null, js_number),
        };
        item.insert(key, value);
        if early {
            item.insert("terminatedEarly".into(), Value::Bool(true));
        }
        Value::Object(item)
    }

    fn write(&self, item: Value) -> TableWrite {
        TableWrite {
            table: RESULTS_TABLE.into(),
            op: "put".into(),
            item,
        }
    }

    #[inline]
    fn passes_filter(&self, e: EventName) -> bool {
        self.spec.events.as_ref().is_none_or(|ev| ev.contains(&e))
    }

    /// The fold over one batch, on the precomputed columns.
    fn fold(&self, agg: &mut AggState, records: std::ops::Range<usize>) {
        let op = self.spec.op;
        let values = &self.values;
        match &mut agg.groups {
            None if self.spec.path.is_none() => {
                for i in records {
                    if self.included[i] {
                        agg.total.add(op, 1.0);
                    }
                }
            }
            None => {
                for i in records {
                    let v = values[i];
                    if self.included[i] && !v.is_nan() {
                        agg.total.add(op, v);
                    }
                }
            }
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
        let item = self.result_item(shard_id, None, &state, false);
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
        Ok(())
    }

    fn invoke(&mut self, req: &Request<'_>) -> Invoked {
        let shard_id = &req.stream.shards[req.shard].id;
        if req.window.is_some() && (req.is_final || req.is_early) && req.records.is_empty() {
            let item = self.result_item(shard_id, req.window, &req.state.to_json(), req.is_early);
            let mut inv = Invoked::ok(Response::with_state(req.state.clone()));
            inv.writes.push(self.write(item));
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
            let mut agg = self.empty_state();
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
            inv.writes.push(self.write(item));
            return inv;
        }
        let mut agg = self.start_state(req.state);
        self.fold(&mut agg, req.records.clone());
        let state = State::from_agg(agg);
        let mut inv = Invoked::ok(Response::with_state(state.clone()));
        if req.is_final || req.is_early {
            // Modelling choice Q1: a final invocation that carries the window's last batch.
            let item = self.result_item(shard_id, req.window, &state.to_json(), req.is_early);
            inv.writes.push(self.write(item));
        }
        inv
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
        let mut agg = sum.empty_state();
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
        let mut g = by.empty_state();
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
