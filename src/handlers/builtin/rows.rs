//! What a built-in writes and how it reads state back: the state a spec starts from, the
//! state rebuilt from JSON, and the result row of a window, rendered on demand
//! ([`DeferredWrites`]) so a run builds no JSON per window.

use serde_json::{Map, Value};

use super::{BuiltinSpec, RESULTS_TABLE};
use crate::handlers::{DeferredWrites, TableWrite};
use crate::json;
use crate::model::state::{Acc, AggOp, AggState, State, js_number};
use crate::model::{Window, iso_seconds};

impl BuiltinSpec {
    pub(super) fn empty_state(&self) -> AggState {
        AggState::new(self.op, &self.state_key(), self.group_by.is_some())
    }

    /// Rebuilds typed state from a state object (after carry-over or from JSON).
    pub(super) fn state_from_json(&self, m: &Map<String, Value>) -> AggState {
        let mut agg = self.empty_state();
        let acc_from = |v: &Value| -> Option<Acc> {
            match self.op {
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
                let acc = if self.op == AggOp::Avg {
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

    /// The row written for a window: `{shardId, windowStart, windowEnd, <key>: value}`.
    pub(super) fn result_item(
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
        let key = if self.op == AggOp::Avg {
            "avg".to_owned()
        } else {
            agg.key.clone()
        };
        let value = match &agg.groups {
            Some(groups) => Value::Object(
                groups
                    .iter()
                    .filter_map(|(g, acc)| Some((g.clone(), js_number(acc.result(self.op)?))))
                    .collect(),
            ),
            None => agg.total.result(self.op).map_or(Value::Null, js_number),
        };
        item.insert(key, value);
        if early {
            item.insert("terminatedEarly".into(), Value::Bool(true));
        }
        Value::Object(item)
    }

    pub(super) fn table_write(&self, item: Value) -> TableWrite {
        TableWrite {
            table: RESULTS_TABLE.into(),
            op: "put".into(),
            item,
        }
    }
}

impl DeferredWrites for BuiltinSpec {
    fn id(&self) -> String {
        self.to_string()
    }

    fn write(
        &self,
        shard_id: &str,
        window: Option<Window>,
        state: &State,
        early: bool,
    ) -> TableWrite {
        self.table_write(self.result_item(shard_id, window, &state.to_json(), early))
    }
}
