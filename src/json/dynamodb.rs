//! DynamoDB's typed attribute form (`{"N": "42"}`, `S`, `B`, `BOOL`, `NULL`, `L`, `M`, `SS`,
//! `NS`, `BS`): marshalling plain JSON into it, reading it back, and its item-size rules.

use serde_json::{Map, Value};

/// Converts plain JSON into DynamoDB's typed attribute form.
pub fn marshal(v: &Value) -> Value {
    let typed = |t: &str, v: Value| {
        let mut m = Map::new();
        m.insert(t.into(), v);
        Value::Object(m)
    };
    match v {
        Value::Null => typed("NULL", Value::Bool(true)),
        Value::Bool(b) => typed("BOOL", Value::Bool(*b)),
        Value::Number(n) => typed("N", Value::String(n.to_string())),
        Value::String(s) => typed("S", Value::String(s.clone())),
        Value::Array(a) => typed("L", Value::Array(a.iter().map(marshal).collect())),
        Value::Object(o) => typed("M", Value::Object(marshal_item(o))),
    }
}

/// Marshals every attribute of an item.
pub fn marshal_item(item: &Map<String, Value>) -> Map<String, Value> {
    item.iter().map(|(k, v)| (k.clone(), marshal(v))).collect()
}

/// DynamoDB's item-size rules, applied to typed attributes (for `SizeBytes`).
pub fn attribute_size(v: &Value) -> u64 {
    let Value::Object(m) = v else { return 1 };
    let Some((t, inner)) = m.iter().next() else {
        return 1;
    };
    match (t.as_str(), inner) {
        ("S", Value::String(s)) => s.len() as u64,
        ("N", Value::String(s)) => {
            let digits = s.bytes().filter(u8::is_ascii_digit).count() as u64;
            digits.div_ceil(2) + 1
        }
        ("B", Value::String(b64)) => (b64.len() as u64 * 3 / 4)
            .saturating_sub(b64.bytes().rev().take_while(|&c| c == b'=').count() as u64),
        ("SS", Value::Array(a)) => a
            .iter()
            .map(|e| e.as_str().map_or(0, str::len) as u64)
            .sum(),
        ("NS", Value::Array(a)) => a
            .iter()
            .map(|e| {
                let digits = e
                    .as_str()
                    .map_or(0, |s| s.bytes().filter(u8::is_ascii_digit).count());
                digits.div_ceil(2) as u64 + 1
            })
            .sum(),
        ("BS", Value::Array(a)) => a
            .iter()
            .map(|e| attribute_size(&serde_json::json!({ "B": e })))
            .sum(),
        ("L", Value::Array(a)) => 3 + a.iter().map(|e| 1 + attribute_size(e)).sum::<u64>(),
        ("M", Value::Object(o)) => {
            3 + o
                .iter()
                .map(|(k, e)| 1 + k.len() as u64 + attribute_size(e))
                .sum::<u64>()
        }
        _ => 1,
    }
}

/// Size of an item of typed attributes by DynamoDB's rules.
pub fn image_size(image: &Map<String, Value>) -> u64 {
    image
        .iter()
        .map(|(k, v)| k.len() as u64 + attribute_size(v))
        .sum()
}

/// Converts one typed DynamoDB attribute back to plain JSON.
pub fn unmarshal(v: &Value) -> Value {
    let Some((t, inner)) = v.as_object().and_then(|m| m.iter().next()) else {
        return Value::Null;
    };
    match (t.as_str(), inner) {
        ("S" | "B", Value::String(s)) => Value::String(s.clone()),
        ("N", Value::String(s)) => serde_json::from_str::<serde_json::Number>(s)
            .map(Value::Number)
            .unwrap_or_else(|_| Value::String(s.clone())),
        ("BOOL", Value::Bool(b)) => Value::Bool(*b),
        ("NULL", _) => Value::Null,
        ("L", Value::Array(a)) => Value::Array(a.iter().map(unmarshal).collect()),
        ("M", Value::Object(_)) => unmarshal_item(inner),
        ("SS" | "BS", Value::Array(a)) => Value::Array(a.clone()),
        ("NS", Value::Array(a)) => Value::Array(
            a.iter()
                .map(|n| match n {
                    Value::String(s) => serde_json::from_str::<serde_json::Number>(s)
                        .map(Value::Number)
                        .unwrap_or_else(|_| n.clone()),
                    other => other.clone(),
                })
                .collect(),
        ),
        _ => inner.clone(),
    }
}

/// Converts a typed item (`{"a": {"N": "1"}}`) back to plain JSON.
pub fn unmarshal_item(v: &Value) -> Value {
    match v.as_object() {
        Some(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), unmarshal(v))).collect()),
        None => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmarshal_round_trips_marshal() {
        let v = serde_json::json!({"a": 1, "b": "x", "c": [true, null, 2.5], "d": {"e": -3}});
        let typed = Value::Object(marshal_item(v.as_object().unwrap()));
        assert_eq!(unmarshal_item(&typed), v);
    }
}
