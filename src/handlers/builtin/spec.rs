//! `builtin:OP[:FIELD][:by=pk|FIELD][:events=…][:fail=FIELD<op>N]`: parsing and printing a
//! built-in handler's spec.

use crate::handlers::HandlerError;
use crate::json::{self, path::Path};
use crate::model::EventName;
use crate::model::state::{AggOp, js_number};

/// How records are grouped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupBy {
    /// By partition key (DynamoDB: the item key).
    PartitionKey,
    /// By a field of the payload (DynamoDB: of `NewImage`).
    Field(Path),
}

/// A parsed `builtin:` handler spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuiltinSpec {
    /// The aggregation.
    pub op: AggOp,
    /// The numeric field (Kinesis: dotted path into the JSON payload; DynamoDB: attribute path in
    /// `NewImage`). `None` only for `count`.
    pub path: Option<Path>,
    /// Grouping.
    pub group_by: Option<GroupBy>,
    /// Only these DynamoDB event names (all when `None`).
    pub events: Option<Vec<EventName>>,
    /// Fault injection: throw on records matching this rule (teaching retries and bisect).
    pub fail: Option<FailRule>,
}

/// `fail=<path><op><number>`: the handler throws on the first record that matches.
#[derive(Clone, Debug, PartialEq)]
pub struct FailRule {
    /// The field compared.
    pub path: Path,
    /// `>`, `>=`, `<`, `<=` or `==`.
    pub op: &'static str,
    /// The number compared with.
    pub value: f64,
}

impl Eq for FailRule {}

impl FailRule {
    fn parse(text: &str) -> Result<Self, String> {
        for op in [">=", "<=", "==", ">", "<"] {
            if let Some((path, value)) = text.split_once(op) {
                let value = json::path::parse_numeric_text(value)
                    .ok_or_else(|| format!("fail={text}: {value:?} is not a number"))?;
                if path.is_empty() {
                    return Err(format!("fail={text}: missing field"));
                }
                return Ok(Self {
                    path: Path::parse(&normalise_path(path)),
                    op,
                    value,
                });
            }
        }
        Err(format!(
            "fail={text}: expected FIELD>N, FIELD>=N, FIELD<N, FIELD<=N or FIELD==N"
        ))
    }

    pub(super) fn matches(&self, v: f64) -> bool {
        match self.op {
            ">" => v > self.value,
            ">=" => v >= self.value,
            "<" => v < self.value,
            "<=" => v <= self.value,
            _ => v == self.value,
        }
    }

    pub(super) fn error(&self, seq: &str, v: f64) -> HandlerError {
        HandlerError {
            error_type: "Error".into(),
            error_message: format!(
                "order {seq} rejected: {} = {} (fault injected by fail={self})",
                self.path,
                js_number(v)
            ),
            stack_trace: vec![
                "    at validate (builtin)".into(),
                "    at handler (builtin)".into(),
            ],
        }
    }
}

impl std::fmt::Display for FailRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}{}", self.path, self.op, js_number(self.value))
    }
}

impl BuiltinSpec {
    /// Parses `builtin:<op>[:<path>][:by=pk|<path>][:events=INSERT,MODIFY]`.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let rest = spec.strip_prefix("builtin:").ok_or_else(|| {
            format!("{spec:?} is not a built-in handler spec (builtin:<op>:<field>)")
        })?;
        let mut parts = rest.split(':');
        let op_text = parts.next().unwrap_or_default();
        let op = AggOp::parse(op_text).ok_or_else(|| {
            format!(
                "unknown aggregation {op_text:?} in {spec:?}: expected sum, count, min, max or avg"
            )
        })?;
        let mut out = Self {
            op,
            path: None,
            group_by: None,
            events: None,
            fail: None,
        };
        for part in parts {
            if let Some(by) = part.strip_prefix("by=") {
                out.group_by = Some(match by {
                    "pk" | "partitionKey" | "key" => GroupBy::PartitionKey,
                    field if !field.is_empty() => {
                        GroupBy::Field(Path::parse(&normalise_path(field)))
                    }
                    _ => return Err(format!("empty by= in {spec:?}")),
                });
            } else if let Some(list) = part.strip_prefix("events=") {
                let events = list
                    .split(',')
                    .map(|e| {
                        EventName::parse(e).ok_or_else(|| {
                            format!("unknown eventName {e:?} in {spec:?}: expected INSERT, MODIFY or REMOVE")
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                out.events = Some(events);
            } else if let Some(rule) = part.strip_prefix("fail=") {
                out.fail = Some(FailRule::parse(rule)?);
            } else if out.path.is_none() && !part.is_empty() {
                out.path = Some(Path::parse(&normalise_path(part)));
            } else {
                return Err(format!("unexpected {part:?} in {spec:?}"));
            }
        }
        if out.path.is_none() && op != AggOp::Count {
            return Err(format!(
                "{spec:?} needs a field: e.g. builtin:{}:Item.sales (Kinesis) or builtin:{}:sales (DynamoDB)",
                op.name(),
                op.name()
            ));
        }
        Ok(out)
    }

    /// The key the state uses when not grouped: the field's last segment for sums.
    pub fn state_key(&self) -> String {
        match (self.op, &self.path) {
            (AggOp::Sum, Some(p)) => p.last().to_owned(),
            (op, _) => op.name().to_owned(),
        }
    }
}

/// Accepts DynamoDB spellings like `NewImage.sales.N` for the attribute `sales`.
fn normalise_path(p: &str) -> String {
    let p = p.strip_prefix("NewImage.").unwrap_or(p);
    let p = p.strip_prefix("dynamodb.NewImage.").unwrap_or(p);
    for tag in [".N", ".S"] {
        if let Some(stripped) = p.strip_suffix(tag) {
            return stripped.to_owned();
        }
    }
    p.to_owned()
}

impl std::fmt::Display for BuiltinSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "builtin:{}", self.op.name())?;
        if let Some(p) = &self.path {
            write!(f, ":{p}")?;
        }
        match &self.group_by {
            Some(GroupBy::PartitionKey) => write!(f, ":by=pk")?,
            Some(GroupBy::Field(p)) => write!(f, ":by={p}")?,
            None => {}
        }
        if let Some(ev) = &self.events {
            let names: Vec<_> = ev.iter().map(|e| e.as_str()).collect();
            write!(f, ":events={}", names.join(","))?;
        }
        if let Some(rule) = &self.fail {
            write!(f, ":fail={rule}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every comparison of `fail=` at, below and above its number, and the rule as it is shown
    /// in the error message.
    #[test]
    fn fail_rules_compare_as_written_and_print_as_parsed() {
        let table = [
            ("Item.sales>5", [false, false, true]),
            ("Item.sales>=5", [false, true, true]),
            ("Item.sales<5", [true, false, false]),
            ("Item.sales<=5", [true, true, false]),
            ("Item.sales==5", [false, true, false]),
        ];
        for (text, want) in table {
            let rule = FailRule::parse(text).unwrap();
            let got = [4.0, 5.0, 6.0].map(|v| rule.matches(v));
            assert_eq!(got, want, "{text}");
            assert_eq!(rule.to_string(), text);
        }
        let e = rule_error("Item.sales<1.5");
        assert!(
            e.error_message
                .ends_with("(fault injected by fail=Item.sales<1.5)"),
            "{e:?}"
        );
    }

    fn rule_error(text: &str) -> HandlerError {
        FailRule::parse(text).unwrap().error("7", 1.0)
    }
}
