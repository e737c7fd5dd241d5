//! The built-ins on the event JSON: what a deployed function does with the event Lambda sends.
//! The engine uses the column fast path in the parent module; tests check that both agree.

use base64::Engine as _;
use serde_json::{Map, Value};

use super::{Builtin, GroupBy};
use crate::handlers::{HandlerError, TableWrite};
use crate::json::dynamodb::{unmarshal, unmarshal_item};
use crate::json::{self};
use crate::model::state::AggState;
use crate::model::{EventName, Window};

/// What the handler reads from the event besides its records.
struct EventFacts<'a> {
    records: &'a [Value],
    window: Option<Window>,
    shard_id: String,
    is_final: bool,
    is_early: bool,
    state: &'a Map<String, Value>,
}

impl<'a> EventFacts<'a> {
    fn of(event: &'a Value, empty: &'a Map<String, Value>) -> Result<Self, HandlerError> {
        let records = event
            .get("Records")
            .and_then(Value::as_array)
            .ok_or_else(|| HandlerError::new("TypeError", "event.Records is not an array"))?;
        let window = event.get("window").map(|w| {
            let parse = |k: &str| {
                w.get(k)
                    .and_then(Value::as_str)
                    .and_then(crate::model::parse_rfc3339_ms)
                    .unwrap_or(0)
            };
            Window {
                start_ms: parse("start"),
                end_ms: parse("end"),
            }
        });
        let flag = |k: &str| event.get(k).and_then(Value::as_bool).unwrap_or(false);
        Ok(EventFacts {
            records,
            window,
            shard_id: shard_id_of(event, records),
            is_final: flag("isFinalInvokeForWindow"),
            is_early: flag("isWindowTerminatedEarly"),
            state: event
                .get("state")
                .and_then(Value::as_object)
                .unwrap_or(empty),
        })
    }

    /// A final or early-terminating invocation of a window.
    fn closing(&self) -> bool {
        self.window.is_some() && (self.is_final || self.is_early)
    }
}

/// The event's `shardId`; without windows only Kinesis events name the shard (in each eventID).
fn shard_id_of(event: &Value, records: &[Value]) -> String {
    event
        .get("shardId")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| {
            records
                .first()
                .filter(|r| r.get("kinesis").is_some())
                .and_then(|r| {
                    r.get("eventID")
                        .and_then(Value::as_str)
                        .and_then(|id| id.split(':').next())
                        .map(str::to_owned)
                })
        })
        .unwrap_or_default()
}

impl Builtin {
    /// Handles an event like a deployed function: returns the response JSON and the writes.
    pub fn handle_event(&self, event: &Value) -> Result<(Value, Vec<TableWrite>), HandlerError> {
        let empty = Map::new();
        let ev = EventFacts::of(event, &empty)?;
        if ev.closing() && ev.records.is_empty() {
            let write = self.spec.table_write(self.spec.result_item(
                &ev.shard_id,
                ev.window,
                ev.state,
                ev.is_early,
            ));
            let mut resp = Map::new();
            resp.insert("state".into(), Value::Object(ev.state.clone()));
            return Ok((Value::Object(resp), vec![write]));
        }
        let mut agg = if ev.window.is_some() {
            self.spec.state_from_json(ev.state)
        } else {
            self.spec.empty_state()
        };
        for rec in ev.records {
            self.add_event_record(&mut agg, rec)?;
        }
        if ev.window.is_none() {
            let first = ev.records.first().map(record_seq).unwrap_or_default();
            let last = ev.records.last().map(record_seq).unwrap_or_default();
            let item = self.batch_item(&ev.shard_id, &first, &last, &agg);
            return Ok((Value::Null, vec![self.spec.table_write(item)]));
        }
        let state = agg.to_json();
        let writes =
            if ev.closing() {
                vec![self.spec.table_write(self.spec.result_item(
                    &ev.shard_id,
                    ev.window,
                    &state,
                    ev.is_early,
                ))]
            } else {
                Vec::new()
            };
        let mut resp = Map::new();
        resp.insert("state".into(), Value::Object(state));
        Ok((Value::Object(resp), writes))
    }

    /// Adds one event record into the aggregate (or fails, when the fail rule matches it).
    fn add_event_record(&self, agg: &mut AggState, rec: &Value) -> Result<(), HandlerError> {
        let Some((event_name, image, pk)) = self.decode_record(rec) else {
            return Ok(());
        };
        if !self.passes_filter(event_name) {
            return Ok(());
        }
        let number_at = |p: &json::path::Path| {
            image
                .as_ref()
                .and_then(|img| p.lookup(img))
                .and_then(json::path::number_from_value)
        };
        if let Some(rule) = &self.spec.fail
            && let Some(fv) = number_at(&rule.path)
            && rule.matches(fv)
        {
            return Err(rule.error(&record_seq(rec), fv));
        }
        let v = match &self.spec.path {
            None => Some(1.0),
            Some(p) => number_at(p),
        };
        let Some(v) = v else { return Ok(()) };
        match &mut agg.groups {
            None => agg.total.add(self.spec.op, v),
            Some(groups) => {
                let label = match &self.spec.group_by {
                    Some(GroupBy::Field(p)) => image
                        .as_ref()
                        .and_then(|img| p.lookup(img))
                        .map(json::path::label_from_value),
                    _ => pk,
                };
                if let Some(label) = label {
                    groups.entry(label).or_default().add(self.spec.op, v);
                }
            }
        }
        Ok(())
    }

    /// `(eventName, image as plain JSON, partition key label)` of an event record.
    fn decode_record(&self, rec: &Value) -> Option<(EventName, Option<Value>, Option<String>)> {
        if let Some(k) = rec.get("kinesis") {
            let data = k.get("data").and_then(Value::as_str)?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data)
                .ok()?;
            let image = serde_json::from_slice::<Value>(&bytes).ok();
            let pk = k
                .get("partitionKey")
                .and_then(Value::as_str)
                .map(str::to_owned);
            return Some((EventName::Insert, image, pk));
        }
        let d = rec.get("dynamodb")?;
        let name = rec
            .get("eventName")
            .and_then(Value::as_str)
            .and_then(EventName::parse)
            .unwrap_or_default();
        let image = d.get("NewImage").map(unmarshal_item);
        let pk = d
            .get("Keys")
            .and_then(Value::as_object)
            .and_then(|k| k.values().next())
            .map(|v| json::path::label_from_value(&unmarshal(v)));
        Some((name, image, pk))
    }
}

fn record_seq(rec: &Value) -> String {
    rec.pointer("/kinesis/sequenceNumber")
        .or_else(|| rec.pointer("/dynamodb/SequenceNumber"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}
