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

/// A state key interned for the process: the few keys built-in handlers use, so an ungrouped
/// built-in's state fits inline in [`State`] (no allocation per invocation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key(u16);

impl Key {
    /// The longest key kept inline: an inline state then never nears the 1 MB limit.
    pub const MAX_LEN: usize = 1024;
}

static KEYS: std::sync::RwLock<Vec<&'static str>> = std::sync::RwLock::new(Vec::new());

impl Key {
    /// The key for `name`; `None` for a name longer than [`Key::MAX_LEN`] bytes or once 65,536
    /// distinct keys exist (states then use the shared representation). Each distinct name is
    /// stored once for the life of the process.
    pub fn intern(name: &str) -> Option<Self> {
        if name.len() > Self::MAX_LEN {
            return None;
        }
        if let Ok(keys) = KEYS.read()
            && let Some(k) = keys.iter().position(|k| *k == name)
        {
            return Some(Self(k as u16));
        }
        let mut keys = KEYS.write().ok()?;
        if let Some(k) = keys.iter().position(|k| *k == name) {
            return Some(Self(k as u16));
        }
        let id = u16::try_from(keys.len()).ok()?;
        keys.push(Box::leak(name.to_owned().into_boxed_str()));
        Some(Self(id))
    }

    /// The key's text.
    pub fn as_str(self) -> &'static str {
        KEYS.read()
            .ok()
            .and_then(|k| k.get(usize::from(self.0)).copied())
            .unwrap_or("")
    }
}

/// An ungrouped built-in accumulator: what most windows' states are, kept inline.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scalar {
    /// The running figure (sum, count, min or max; the sum for `avg`).
    pub value: f64,
    /// Values folded in.
    pub count: u32,
    /// The state key (`sales`); unused by `avg`, whose state is `{sum, count}`.
    pub key: Key,
    /// The operation.
    pub op: AggOp,
}

impl Scalar {
    /// The accumulator.
    pub fn acc(&self) -> Acc {
        Acc {
            value: self.value,
            count: u64::from(self.count),
        }
    }

    fn to_json(self) -> Map<String, Value> {
        let mut m = Map::new();
        let acc = self.acc();
        match self.op {
            AggOp::Avg => {
                if acc.count > 0 {
                    m.insert("sum".into(), js_number(acc.value));
                    m.insert("count".into(), js_number(acc.count as f64));
                }
            }
            op => {
                if let Some(v) = acc.state_json(op) {
                    m.insert(self.key.as_str().to_owned(), v);
                }
            }
        }
        m
    }

    /// Compact JSON length, without rendering it.
    fn json_len(self) -> usize {
        let acc = self.acc();
        match self.op {
            AggOp::Avg if acc.count > 0 => {
                // {"sum":S,"count":C}
                17 + compact_len(&js_number(acc.value)) + compact_len(&js_number(acc.count as f64))
            }
            AggOp::Avg => 2,
            op => match acc.state_json(op) {
                // {"key":V}
                Some(v) => 3 + compact_len(self.key.as_str()) + compact_len(&v),
                None => 2,
            },
        }
    }
}

#[derive(Debug)]
enum Shared {
    Json(Map<String, Value>),
    Agg(AggState),
}

#[derive(Debug)]
struct Inner {
    repr: Shared,
    json_len: usize,
}

#[derive(Clone, Debug, Default)]
enum Repr {
    #[default]
    Empty,
    Scalar(Scalar),
    Shared(Arc<Inner>),
}

/// An immutable state object; `State::default()` is `{}`. Cheap to clone: inline for an
/// ungrouped built-in's accumulator, one `Arc` otherwise.
#[derive(Clone, Debug, Default)]
pub struct State(Repr);

impl PartialEq for State {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Repr::Shared(a), Repr::Shared(b)) if Arc::ptr_eq(a, b) => true,
            (Repr::Scalar(a), Repr::Scalar(b)) if a == b => true,
            (Repr::Empty, Repr::Empty) => true,
            _ => self.to_json() == other.to_json(),
        }
    }
}

impl State {
    /// `{}`.
    pub fn empty() -> Self {
        Self(Repr::Empty)
    }

    /// A state from a JSON object.
    pub fn from_map(map: Map<String, Value>) -> Self {
        if map.is_empty() {
            return Self::empty();
        }
        let json_len = compact_len(&map);
        Self::shared(Shared::Json(map), json_len)
    }

    fn shared(repr: Shared, json_len: usize) -> Self {
        Self(Repr::Shared(Arc::new(Inner { repr, json_len })))
    }

    /// An ungrouped built-in's accumulator, inline.
    pub fn from_scalar(s: Scalar) -> Self {
        Self(Repr::Scalar(s))
    }

    /// A built-in aggregation's typed state (inline when ungrouped).
    pub fn from_agg(agg: AggState) -> Self {
        if agg.groups.is_none()
            && let (Some(key), Ok(count)) = (Key::intern(&agg.key), u32::try_from(agg.total.count))
        {
            return Self::from_scalar(Scalar {
                value: agg.total.value,
                count,
                key,
                op: agg.op,
            });
        }
        let json_len = compact_len(&agg.to_json());
        Self::shared(Shared::Agg(agg), json_len)
    }

    /// The inline accumulator, when an ungrouped built-in produced this state.
    pub fn scalar(&self) -> Option<Scalar> {
        match &self.0 {
            Repr::Scalar(s) => Some(*s),
            _ => None,
        }
    }

    /// The typed aggregation state, when a built-in produced it (an ungrouped one's is
    /// rebuilt from [`State::scalar`]).
    pub fn agg(&self) -> Option<std::borrow::Cow<'_, AggState>> {
        match &self.0 {
            Repr::Scalar(s) => Some(std::borrow::Cow::Owned(AggState {
                op: s.op,
                key: s.key.as_str().to_owned(),
                total: s.acc(),
                groups: None,
            })),
            Repr::Shared(i) => match &i.repr {
                Shared::Agg(a) => Some(std::borrow::Cow::Borrowed(a)),
                Shared::Json(_) => None,
            },
            Repr::Empty => None,
        }
    }

    /// Whether this is `{}`.
    pub fn is_empty(&self) -> bool {
        self.json_len() <= 2
    }

    /// UTF-8 length of the compact JSON (SEMANTICS Q10 measures the 1 MB limit on this).
    pub fn json_len(&self) -> usize {
        match &self.0 {
            Repr::Empty => 2,
            Repr::Scalar(s) => s.json_len(),
            Repr::Shared(i) => i.json_len,
        }
    }

    /// Whether the compact JSON may be longer than `limit` bytes: exact for shared states; an
    /// inline accumulator is at most a key and two numbers long.
    pub fn may_exceed(&self, limit: usize) -> bool {
        match &self.0 {
            Repr::Empty => limit < 2,
            // Six bytes per key byte (\u00XX escapes), two 24-byte numbers, punctuation.
            Repr::Scalar(_) if Key::MAX_LEN * 6 + 64 <= limit => false,
            _ => self.json_len() > limit,
        }
    }

    /// The state as a JSON object.
    pub fn to_json(&self) -> Map<String, Value> {
        match &self.0 {
            Repr::Empty => Map::new(),
            Repr::Scalar(s) => s.to_json(),
            Repr::Shared(i) => match &i.repr {
                Shared::Json(m) => m.clone(),
                Shared::Agg(a) => a.to_json(),
            },
        }
    }

    /// Calls `f` with the state as a JSON object, borrowing it where it is stored as one.
    pub fn with_json<R>(&self, f: impl FnOnce(&Map<String, Value>) -> R) -> R {
        match &self.0 {
            Repr::Shared(i) => match &i.repr {
                Shared::Json(m) => f(m),
                Shared::Agg(a) => f(&a.to_json()),
            },
            _ => f(&self.to_json()),
        }
    }

    /// Whether two states are the same stored value (cheap; `false` says nothing).
    pub fn same_storage(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Repr::Shared(a), Repr::Shared(b)) => Arc::ptr_eq(a, b),
            (Repr::Scalar(a), Repr::Scalar(b)) => a.key == b.key && a.op == b.op,
            (Repr::Empty, Repr::Empty) => true,
            _ => false,
        }
    }

    /// Compact JSON text.
    pub fn to_json_string(&self) -> String {
        let text = match &self.0 {
            Repr::Empty => return "{}".to_owned(),
            Repr::Scalar(s) => serde_json::to_string(&s.to_json()),
            Repr::Shared(i) => match &i.repr {
                Shared::Json(m) => serde_json::to_string(m),
                Shared::Agg(a) => serde_json::to_string(&a.to_json()),
            },
        };
        text.unwrap_or_else(|_| "{}".into())
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

    use proptest::prelude::*;

    proptest! {
        /// An inline accumulator measures, renders and compares like the same JSON made by
        /// hand, for every operation, count and number (fractions, huge and negative ones).
        #[test]
        fn inline_states_are_the_json_a_handler_would_return(
            op in proptest::sample::select(vec![AggOp::Sum, AggOp::Count, AggOp::Min, AggOp::Max, AggOp::Avg]),
            value in prop_oneof![-1e6f64..1e6, proptest::num::f64::NORMAL, (-100i64..100).prop_map(|v| v as f64)],
            count in 0u64..5,
            key in "[a-z\"\\\u{1}é]{0,8}",
        ) {
            let mut agg = AggState::new(op, &key, false);
            agg.total = Acc { value, count };
            let typed = agg.to_json();
            let s = State::from_agg(agg);
            prop_assert!(s.scalar().is_some());
            prop_assert_eq!(s.to_json(), typed.clone());
            prop_assert_eq!(s.json_len(), s.to_json_string().len());
            prop_assert_eq!(s.to_json_string(), serde_json::to_string(&typed).unwrap());
            prop_assert!(!s.may_exceed(MAX_TEST_LIMIT));
            prop_assert_eq!(s.clone(), State::from_map(typed));
        }
    }

    const MAX_TEST_LIMIT: usize = 1_048_576;

    #[test]
    fn long_keys_and_big_counts_use_the_shared_form() {
        let mut agg = AggState::new(AggOp::Sum, &"k".repeat(Key::MAX_LEN + 1), false);
        agg.total.add(AggOp::Sum, 1.0);
        let s = State::from_agg(agg);
        assert!(s.scalar().is_none());
        assert_eq!(s.json_len(), s.to_json_string().len());
        let mut agg = AggState::new(AggOp::Avg, "x", false);
        agg.total = Acc {
            value: 1.0,
            count: u64::from(u32::MAX) + 1,
        };
        assert!(State::from_agg(agg).scalar().is_none());
    }

    #[test]
    fn json_states_compare_by_value() {
        let a = State::from_map(json!({"x": 1}).as_object().unwrap().clone());
        let b = State::from_map(json!({"x": 1}).as_object().unwrap().clone());
        assert_eq!(a, b);
        assert_eq!(a.json_len(), 7);
    }
}
