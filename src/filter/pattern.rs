//! A filter pattern as Lambda takes it (a JSON string, SEMANTICS §14.3), checked against the
//! operator table Lambda documents and compiled into rules.

use serde_json::{Map, Value};

use crate::model::Source;

/// A compiled pattern: every field must match (AND), and each `$or` group must have a
/// matching alternative.
#[derive(Clone, Debug, PartialEq)]
pub struct Pattern {
    pub(super) fields: Vec<(String, Rule)>,
    pub(super) ors: Vec<Vec<Pattern>>,
}

/// What one field of the pattern asks of the event's field.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Rule {
    /// An object: the event's field is an object matching it.
    Nested(Pattern),
    /// A list of values and operators: any one matching is enough (OR).
    Any(Vec<Matcher>),
}

/// One entry of a field's list.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Matcher {
    /// `null`.
    Null,
    /// A string, matched exactly (no case folding).
    Str(String),
    /// A number, matched as written ("300" is not "300.0").
    Num(String),
    /// `true` / `false`.
    Bool(bool),
    /// `{"equals-ignore-case": "..."}`.
    IgnoreCase(String),
    /// `{"anything-but": [...]}`: present and none of these.
    AnythingBut(Vec<Matcher>),
    /// `{"numeric": ["=", 100]}` or a range (`[">", 10, "<=", 20]`).
    Numeric(Vec<(Cmp, f64)>),
    /// `{"exists": true|false}`, of a leaf.
    Exists(bool),
    /// `{"prefix": "..."}`.
    Prefix(String),
    /// `{"suffix": "..."}`.
    Suffix(String),
}

/// A numeric comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Cmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

/// Lambda's documented maximum pattern length (`Pattern`, 0–4096 characters).
pub const MAX_PATTERN_CHARS: usize = 4096;

/// Why a pattern was refused, and where in its text (1-based line and column).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatternError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// EventBridge operators Lambda's operator table does not list.
const UNDOCUMENTED: [&str; 2] = ["wildcard", "cidr"];

/// Parses and checks one pattern for a source.
pub fn parse(text: &str, source: Source) -> Result<Pattern, PatternError> {
    let chars = text.chars().count();
    if chars > MAX_PATTERN_CHARS {
        return Err(at_offset(
            text,
            text.char_indices()
                .nth(MAX_PATTERN_CHARS)
                .map_or(0, |(i, _)| i),
            format!(
                "the pattern is {chars} characters long; Lambda allows at most {MAX_PATTERN_CHARS}"
            ),
        ));
    }
    let value: Value = serde_json::from_str(text).map_err(|e| PatternError {
        line: e.line(),
        column: e.column().max(1),
        message: format!("not valid JSON: {}", crate::ingest::serde_message(&e)),
    })?;
    let Value::Object(map) = value else {
        return Err(at_offset(text, 0, "a pattern must be a JSON object".into()));
    };
    let cx = Cx { text, source };
    cx.object(&map, &[])
}

struct Cx<'a> {
    text: &'a str,
    source: Source,
}

impl Cx<'_> {
    fn object(&self, map: &Map<String, Value>, path: &[&str]) -> Result<Pattern, PatternError> {
        let mut p = Pattern {
            fields: Vec::new(),
            ors: Vec::new(),
        };
        for (key, v) in map {
            if key == "$or" {
                p.ors.push(self.or_group(v, path)?);
                continue;
            }
            let mut inner = path.to_vec();
            inner.push(key);
            let rule = match v {
                Value::Object(m) => Rule::Nested(self.object(m, &inner)?),
                Value::Array(items) => Rule::Any(self.list(items, &inner)?),
                _ => {
                    return Err(self.error(
                        key,
                        format!(
                            "{}: a value to match must be in a list, as in [\"…\"]",
                            dotted(&inner)
                        ),
                    ));
                }
            };
            p.fields.push((key.clone(), rule));
        }
        Ok(p)
    }

    fn or_group(&self, v: &Value, path: &[&str]) -> Result<Vec<Pattern>, PatternError> {
        let Some(items) = v.as_array().filter(|a| a.len() >= 2) else {
            return Err(self.error(
                "$or",
                "\"$or\" takes a list of at least two patterns".into(),
            ));
        };
        items
            .iter()
            .map(|item| match item {
                Value::Object(m) => self.object(m, path),
                _ => Err(self.error("$or", "each \"$or\" alternative must be an object".into())),
            })
            .collect()
    }

    fn list(&self, items: &[Value], path: &[&str]) -> Result<Vec<Matcher>, PatternError> {
        if items.is_empty() {
            return Err(self.error(
                path[path.len() - 1],
                format!("{}: the list is empty", dotted(path)),
            ));
        }
        items.iter().map(|v| self.matcher(v, path)).collect()
    }

    fn matcher(&self, v: &Value, path: &[&str]) -> Result<Matcher, PatternError> {
        Ok(match v {
            Value::Null => Matcher::Null,
            Value::String(s) => Matcher::Str(s.clone()),
            Value::Number(n) => Matcher::Num(n.to_string()),
            Value::Bool(b) => Matcher::Bool(*b),
            Value::Array(_) => {
                return Err(self.error(
                    path[path.len() - 1],
                    format!("{}: lists do not nest", dotted(path)),
                ));
            }
            Value::Object(op) => self.operator(op, path)?,
        })
    }

    fn operator(&self, op: &Map<String, Value>, path: &[&str]) -> Result<Matcher, PatternError> {
        let here = dotted(path);
        let (name, arg) = match (op.len(), op.iter().next()) {
            (1, Some(pair)) => pair,
            _ => {
                let key = op
                    .keys()
                    .next()
                    .map_or(path[path.len() - 1], String::as_str);
                return Err(self.error(
                    key,
                    format!("{here}: an operator object holds exactly one operator"),
                ));
            }
        };
        let bad = |m: String| self.error(name, format!("{here}: {m}"));
        if UNDOCUMENTED.contains(&name.as_str()) {
            return Err(bad(format!(
                "\"{name}\" is an EventBridge operator that Lambda's filter rule syntax does not document"
            )));
        }
        match (name.as_str(), arg) {
            ("equals-ignore-case", Value::String(s)) => Ok(Matcher::IgnoreCase(s.clone())),
            ("prefix" | "suffix", Value::Object(_)) => Err(bad(format!(
                "\"{name}\" with an operator inside (such as equals-ignore-case) is EventBridge syntax that Lambda does not document"
            ))),
            ("prefix", Value::String(s)) => Ok(Matcher::Prefix(s.clone())),
            ("suffix", Value::String(s)) => Ok(Matcher::Suffix(s.clone())),
            ("exists", Value::Bool(b)) => Ok(Matcher::Exists(*b)),
            ("anything-but", v) => self.anything_but(v, name, &here),
            ("numeric", Value::Array(items)) => {
                if self.source == Source::Dynamodb {
                    return Err(bad(
                        "DynamoDB event filtering does not support numeric operators (AWS: \"numeric equals and numeric range\")".into(),
                    ));
                }
                numeric(items).map(Matcher::Numeric).map_err(bad)
            }
            ("equals-ignore-case" | "prefix" | "suffix", _) => {
                Err(bad(format!("\"{name}\" takes a string")))
            }
            ("exists", _) => Err(bad("\"exists\" takes true or false".into())),
            ("numeric", _) => Err(bad(
                "\"numeric\" takes a list such as [\">\", 10, \"<=\", 20]".into(),
            )),
            _ => Err(bad(format!(
                "unknown operator \"{name}\" (Lambda documents equals-ignore-case, anything-but, numeric, exists, prefix, suffix)"
            ))),
        }
    }

    fn anything_but(&self, v: &Value, name: &str, here: &str) -> Result<Matcher, PatternError> {
        let bad = |m: &str| self.error(name, format!("{here}: {m}"));
        let scalar = |v: &Value| match v {
            Value::String(s) => Ok(Matcher::Str(s.clone())),
            Value::Number(n) => Ok(Matcher::Num(n.to_string())),
            Value::Object(_) => Err(bad(
                "\"anything-but\" with an operator inside (prefix, suffix, equals-ignore-case, wildcard) is EventBridge syntax that Lambda does not document",
            )),
            _ => Err(bad("\"anything-but\" takes a list of strings or numbers")),
        };
        match v {
            Value::Array(items) if !items.is_empty() => items
                .iter()
                .map(scalar)
                .collect::<Result<_, _>>()
                .map(Matcher::AnythingBut),
            Value::Array(_) => Err(bad("\"anything-but\" takes a non-empty list")),
            v => scalar(v).map(|m| Matcher::AnythingBut(vec![m])),
        }
    }

    /// An error at the first occurrence of `"key"` in the pattern's text (the document is small
    /// and parsed apart from its text, so the key's place is found by searching for it).
    fn error(&self, key: &str, message: String) -> PatternError {
        let quoted = serde_json::to_string(key).unwrap_or_default();
        let at = self.text.find(&quoted).unwrap_or(0);
        at_offset(self.text, at, message)
    }
}

fn numeric(items: &[Value]) -> Result<Vec<(Cmp, f64)>, String> {
    let mut out = Vec::new();
    for pair in items.chunks(2) {
        let (Some(Value::String(op)), Some(Value::Number(n))) = (pair.first(), pair.get(1)) else {
            return Err(
                "\"numeric\" takes operator and number pairs, such as [\">\", 10, \"<=\", 20]"
                    .into(),
            );
        };
        let cmp = match op.as_str() {
            "=" => Cmp::Eq,
            "<" => Cmp::Lt,
            "<=" => Cmp::Le,
            ">" => Cmp::Gt,
            ">=" => Cmp::Ge,
            _ => {
                return Err(format!(
                    "\"{op}\" is not a numeric operator (=, <, <=, >, >=)"
                ));
            }
        };
        out.push((cmp, n.as_f64().unwrap_or(f64::NAN)));
    }
    let ok = match out.as_slice() {
        [_] => true,
        [(a, _), (b, _)] => matches!(a, Cmp::Gt | Cmp::Ge) && matches!(b, Cmp::Lt | Cmp::Le),
        _ => false,
    };
    if !ok {
        return Err(
            "\"numeric\" takes one comparison or a range: a lower bound (> or >=) then an upper bound (< or <=)".into(),
        );
    }
    Ok(out)
}

fn dotted(path: &[&str]) -> String {
    if path.is_empty() {
        "the pattern".into()
    } else {
        path.join(".")
    }
}

fn at_offset(text: &str, offset: usize, message: String) -> PatternError {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    PatternError {
        line,
        column,
        message,
    }
}
