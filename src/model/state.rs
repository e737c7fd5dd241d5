//! The `state` object Lambda threads from one invocation of a window to the next.
//!
//! A [`State`] is immutable and cheap to clone (one `Arc`), and knows its compact-JSON size,
//! which the engine needs for the 1 MB early-termination rule and the 6 MB payload limit.
//! Built-in handlers keep their state typed (no JSON per invocation); it renders to exactly the
//! JSON a hand-written handler would return.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value};

/// What a built-in aggregation computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AggOp {
    /// Sum of the field.
    Sum,
    /// Number of records (that have the field, if a field is given).
    Count,
    /// Smallest value.
    Min,
    /// Largest value.
    Max,
    /// Mean: state keeps `sum` and `count`.
    Avg,
}

impl AggOp {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sum => "sum",
            Self::Count => "count",
            Self::Min => "min",
            Self::Max => "max",
            Self::Avg => "avg",
        }
    }

    /// Parses a name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "sum" => Self::Sum,
            "count" => Self::Count,
            "min" => Self::Min,
            "max" => Self::Max,
            "avg" | "average" | "mean" => Self::Avg,
            _ => return None,
        })
    }
}

/// One accumulator: JavaScript-number semantics (`f64`), as the Node.js handlers it stands in for.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Acc {
    /// Sum, count, min or max so far.
    pub value: f64,
    /// Values folded in (for `avg` and to know whether min/max saw anything).
    pub count: u64,
}

impl Acc {
    /// Folds one value in.
    #[inline]
    pub fn add(&mut self, op: AggOp, v: f64) {
        match op {
            AggOp::Sum | AggOp::Avg => self.value += v,
            AggOp::Count => self.value += 1.0,
            AggOp::Min => {
                if self.count == 0 || v < self.value {
                    self.value = v;
                }
            }
            AggOp::Max => {
                if self.count == 0 || v > self.value {
                    self.value = v;
                }
            }
        }
        self.count += 1;
    }

    /// The figure a user reads off this accumulator (the mean for `avg`).
    pub fn result(&self, op: AggOp) -> Option<f64> {
        match op {
            AggOp::Sum | AggOp::Count => Some(self.value),
            AggOp::Min | AggOp::Max => (self.count > 0).then_some(self.value),
            AggOp::Avg => (self.count > 0).then(|| self.value / self.count as f64),
        }
    }

    fn state_json(&self, op: AggOp) -> Option<Value> {
        match op {
            AggOp::Sum | AggOp::Count => Some(js_number(self.value)),
            AggOp::Min | AggOp::Max => (self.count > 0).then(|| js_number(self.value)),
            AggOp::Avg => {
                let mut m = Map::new();
                m.insert("sum".into(), js_number(self.value));
                m.insert("count".into(), js_number(self.count as f64));
                Some(Value::Object(m))
            }
        }
    }
}

/// Typed state of a built-in aggregation.
#[derive(Clone, Debug, PartialEq)]
pub struct AggState {
    /// The operation.
    pub op: AggOp,
    /// State key when not grouped (`sales` for a sum of `Item.sales`).
    pub key: String,
    /// Ungrouped accumulator.
    pub total: Acc,
    /// Accumulators per group, when grouped.
    pub groups: Option<BTreeMap<String, Acc>>,
}

impl AggState {
    /// Empty state for `op`, grouped or not.
    pub fn new(op: AggOp, key: &str, grouped: bool) -> Self {
        Self {
            op,
            key: key.to_owned(),
            total: Acc::default(),
            groups: grouped.then(BTreeMap::new),
        }
    }

    /// The state object exactly as a hand-written handler would return it.
    pub fn to_json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        match &self.groups {
            Some(groups) => {
                for (g, acc) in groups {
                    if let Some(v) = acc.state_json(self.op) {
                        m.insert(g.clone(), v);
                    }
                }
            }
            None => match self.op {
                AggOp::Avg => {
                    if self.total.count > 0 {
                        m.insert("sum".into(), js_number(self.total.value));
                        m.insert("count".into(), js_number(self.total.count as f64));
                    }
                }
                _ => {
                    if let Some(v) = self.total.state_json(self.op) {
                        m.insert(self.key.clone(), v);
                    }
                }
            },
        }
        m
    }
}

/// A JSON number the way JavaScript's `JSON.stringify` writes it: integral values without `.0`.
pub fn js_number(v: f64) -> Value {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.007_199_254_740_992e15 {
        Value::from(v as i64)
    } else {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }
}

#[derive(Debug)]
enum Repr {
    Json(Map<String, Value>),
    Agg(AggState),
}

#[derive(Debug)]
struct Inner {
    repr: Repr,
    json_len: usize,
}

/// An immutable state object; `State::default()` is `{}`.
#[derive(Clone, Debug, Default)]
pub struct State(Option<Arc<Inner>>);

impl PartialEq for State {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Some(a), Some(b)) if Arc::ptr_eq(a, b) => true,
            _ => self.to_json() == other.to_json(),
        }
    }
}

impl State {
    /// `{}`.
    pub fn empty() -> Self {
        Self(None)
    }

    /// A state from a JSON object.
    pub fn from_map(map: Map<String, Value>) -> Self {
        if map.is_empty() {
            return Self(None);
        }
        let json_len = compact_len(&map);
        Self(Some(Arc::new(Inner {
            repr: Repr::Json(map),
            json_len,
        })))
    }

    /// A built-in aggregation's typed state.
    pub fn from_agg(agg: AggState) -> Self {
        let json_len = compact_len(&agg.to_json());
        Self(Some(Arc::new(Inner {
            repr: Repr::Agg(agg),
            json_len,
        })))
    }

    /// The typed aggregation state, when a built-in produced it.
    pub fn agg(&self) -> Option<&AggState> {
        match self.0.as_deref() {
            Some(Inner {
                repr: Repr::Agg(a), ..
            }) => Some(a),
            _ => None,
        }
    }

    /// Whether this is `{}`.
    pub fn is_empty(&self) -> bool {
        self.json_len() <= 2
    }

    /// UTF-8 length of the compact JSON (SEMANTICS Q10 measures the 1 MB limit on this).
    pub fn json_len(&self) -> usize {
        self.0.as_ref().map_or(2, |i| i.json_len)
    }

    /// The state as a JSON object.
    pub fn to_json(&self) -> Map<String, Value> {
        match self.0.as_deref() {
            None => Map::new(),
            Some(Inner {
                repr: Repr::Json(m),
                ..
            }) => m.clone(),
            Some(Inner {
                repr: Repr::Agg(a), ..
            }) => a.to_json(),
        }
    }

    /// Compact JSON text.
    pub fn to_json_string(&self) -> String {
        match self.0.as_deref() {
            None => "{}".to_owned(),
            Some(Inner {
                repr: Repr::Json(m),
                ..
            }) => serde_json::to_string(m).unwrap_or_else(|_| "{}".into()),
            Some(Inner {
                repr: Repr::Agg(a), ..
            }) => serde_json::to_string(&a.to_json()).unwrap_or_else(|_| "{}".into()),
        }
    }

    /// Keys whose values are not strings: Lambda's typed Java/Go/.NET/Rust event classes declare
    /// `Map<String,String>` and fail to deserialize them (SEMANTICS §4.1, §10.5).
    pub fn non_string_keys(&self) -> Vec<String> {
        self.to_json()
            .into_iter()
            .filter(|(_, v)| !v.is_string())
            .map(|(k, _)| k)
            .collect()
    }
}

struct Counter(usize);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Compact JSON length of any serialisable value, without building the string.
pub fn compact_len<T: serde::Serialize + ?Sized>(v: &T) -> usize {
    let mut c = Counter(0);
    serde_json::to_writer(&mut c, v).map_or(0, |()| c.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn empty_state_is_two_bytes() {
        assert_eq!(State::empty().json_len(), 2);
        assert_eq!(State::empty().to_json_string(), "{}");
        assert!(State::from_map(Map::new()).is_empty());
    }

    #[test]
    fn sum_state_looks_like_a_handler_wrote_it() {
        let mut agg = AggState::new(AggOp::Sum, "sales", false);
        agg.total.add(AggOp::Sum, 40.0);
        agg.total.add(AggOp::Sum, 2.0);
        let s = State::from_agg(agg);
        assert_eq!(s.to_json_string(), r#"{"sales":42}"#);
        assert_eq!(s.json_len(), 12);
        assert_eq!(s.non_string_keys(), ["sales"]);
    }

    #[test]
    fn avg_and_groups_render_nested() {
        let mut agg = AggState::new(AggOp::Avg, "sales", true);
        let groups = agg.groups.as_mut().unwrap();
        groups.entry("b".into()).or_default().add(AggOp::Avg, 3.0);
        groups.entry("a".into()).or_default().add(AggOp::Avg, 1.5);
        let s = State::from_agg(agg);
        assert_eq!(
            serde_json::Value::Object(s.to_json()),
            json!({"a": {"sum": 1.5, "count": 1}, "b": {"sum": 3, "count": 1}})
        );
        assert_eq!(s.json_len(), s.to_json_string().len());
    }

    #[test]
    fn min_without_values_is_empty() {
        let s = State::from_agg(AggState::new(AggOp::Min, "min", false));
        assert!(s.is_empty());
    }

    #[test]
    fn json_states_compare_by_value() {
        let a = State::from_map(json!({"x": 1}).as_object().unwrap().clone());
        let b = State::from_map(json!({"x": 1}).as_object().unwrap().clone());
        assert_eq!(a, b);
        assert_eq!(a.json_len(), 7);
    }
}
