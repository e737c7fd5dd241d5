//! Reading a template's text: YAML (JSON is YAML too) into JSON values, with CloudFormation's
//! short intrinsic tags turned into their long form (`!Ref X` is `{"Ref": "X"}`, `!Sub s` is
//! `{"Fn::Sub": s}`, `!GetAtt A.B` is `{"Fn::GetAtt": ["A", "B"]}`), so the rest of the
//! template code reads one form.

use serde_json::{Map, Value};

/// Parses `text`; errors carry the 1-based line and column where the YAML parser stopped.
pub fn parse(text: &str) -> Result<Value, (u64, u64, String)> {
    let doc: serde_norway::Value = serde_norway::from_str(text).map_err(|e| {
        let (line, column) = e
            .location()
            .map_or((1, 1), |l| (l.line() as u64, l.column() as u64));
        (line, column, e.to_string())
    })?;
    Ok(to_json(doc))
}

fn to_json(v: serde_norway::Value) -> Value {
    use serde_norway::Value as Y;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => number(&n),
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(to_json).collect()),
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s,
                    other => serde_json::to_string(&to_json(other)).unwrap_or_default(),
                };
                out.insert(key, to_json(v));
            }
            Value::Object(out)
        }
        Y::Tagged(t) => tagged(&t.tag.to_string(), to_json(t.value)),
    }
}

/// Numbers as written: integers stay integers; other numbers become JSON numbers when finite.
fn number(n: &serde_norway::Number) -> Value {
    if let Some(i) = n.as_i64() {
        return Value::from(i);
    }
    if let Some(u) = n.as_u64() {
        return Value::from(u);
    }
    n.as_f64()
        .and_then(serde_json::Number::from_f64)
        .map_or_else(|| Value::String(n.to_string()), Value::Number)
}

/// A short-form intrinsic as its long form. Unknown tags keep their value, wrapped so a later
/// step can name them.
fn tagged(tag: &str, value: Value) -> Value {
    let name = tag.trim_start_matches('!');
    let long = match name {
        "Ref" => "Ref".to_owned(),
        "Condition" => "Condition".to_owned(),
        "GetAtt" => {
            let parts = match value {
                Value::String(s) => match s.split_once('.') {
                    Some((a, b)) => vec![Value::from(a), Value::from(b)],
                    None => vec![Value::from(s)],
                },
                other => return single("Fn::GetAtt", other),
            };
            return single("Fn::GetAtt", Value::Array(parts));
        }
        other => format!("Fn::{other}"),
    };
    single(&long, value)
}

fn single(key: &str, value: Value) -> Value {
    let mut m = Map::new();
    m.insert(key.to_owned(), value);
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn short_tags_become_the_long_form() {
        let v = parse(
            "a: !Ref Stream\nb: !GetAtt Orders.StreamArn\nc: !Sub '${AWS::Region}-x'\n\
             d: !If [IsProd, 10, 100]\ne: !Join ['-', [a, b]]\nf: 007\ng: 1.5\n",
        )
        .unwrap();
        assert_eq!(v["a"], json!({"Ref": "Stream"}));
        assert_eq!(v["b"], json!({"Fn::GetAtt": ["Orders", "StreamArn"]}));
        assert_eq!(v["c"], json!({"Fn::Sub": "${AWS::Region}-x"}));
        assert_eq!(v["d"], json!({"Fn::If": ["IsProd", 10, 100]}));
        assert_eq!(v["e"], json!({"Fn::Join": ["-", ["a", "b"]]}));
        assert_eq!(v["g"], json!(1.5));
    }

    #[test]
    fn a_yaml_error_names_its_line_and_column() {
        let (line, column, message) = parse("a: 1\nb: [1, 2\nc: 3\n").unwrap_err();
        assert!(line >= 2, "{line}:{column} {message}");
        assert!(column >= 1);
    }
}
