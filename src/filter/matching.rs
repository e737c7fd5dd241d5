//! Whether an event matches a compiled pattern, as EventBridge-style patterns match
//! (SEMANTICS §14.3): named fields ANDed, a field's list ORed, arrays matching when an element
//! does.

use serde_json::{Map, Value};

use super::pattern::{Cmp, Matcher, Pattern, Rule};

/// Whether `event` matches `p`.
pub fn matches(p: &Pattern, event: &Map<String, Value>) -> bool {
    p.fields
        .iter()
        .all(|(key, rule)| field_matches(rule, event.get(key)))
        && p.ors
            .iter()
            .all(|group| group.iter().any(|alt| matches(alt, event)))
}

fn field_matches(rule: &Rule, field: Option<&Value>) -> bool {
    match rule {
        Rule::Nested(sub) => match field {
            Some(Value::Object(m)) => matches(sub, m),
            Some(Value::Array(items)) => items
                .iter()
                .any(|v| v.as_object().is_some_and(|m| matches(sub, m))),
            _ => false,
        },
        Rule::Any(list) => list.iter().any(|m| leaf_matches(m, field)),
    }
}

/// `exists` applies to leaves only: an object is not a leaf.
fn is_leaf(v: &Value) -> bool {
    !v.is_object()
}

fn leaf_matches(m: &Matcher, field: Option<&Value>) -> bool {
    match m {
        Matcher::Exists(want) => field.is_some_and(is_leaf) == *want,
        _ => match field {
            None => false,
            Some(Value::Array(items)) => items.iter().any(|v| value_matches(m, v)),
            Some(v) => value_matches(m, v),
        },
    }
}

fn value_matches(m: &Matcher, v: &Value) -> bool {
    match (m, v) {
        (Matcher::Null, Value::Null) => true,
        (Matcher::Str(s), Value::String(t)) => s == t,
        (Matcher::Num(n), Value::Number(x)) => *n == x.to_string(),
        (Matcher::Bool(b), Value::Bool(x)) => b == x,
        (Matcher::IgnoreCase(s), Value::String(t)) => s.to_lowercase() == t.to_lowercase(),
        (Matcher::Prefix(p), Value::String(t)) => t.starts_with(p.as_str()),
        (Matcher::Suffix(p), Value::String(t)) => t.ends_with(p.as_str()),
        (Matcher::AnythingBut(list), v) => {
            !v.is_object() && !list.iter().any(|m| value_matches(m, v))
        }
        (Matcher::Numeric(cmps), Value::Number(x)) => {
            let x = x.as_f64().unwrap_or(f64::NAN);
            cmps.iter().all(|&(c, n)| compare(c, x, n))
        }
        _ => false,
    }
}

fn compare(c: Cmp, x: f64, n: f64) -> bool {
    match c {
        Cmp::Eq => x == n,
        Cmp::Lt => x < n,
        Cmp::Le => x <= n,
        Cmp::Gt => x > n,
        Cmp::Ge => x >= n,
    }
}
