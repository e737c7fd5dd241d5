//! What the search box means: plain text (found in the partition key, the sequence number or
//! the data), or a predicate on a field of the record's data (`Item.sales > 90`) or of the
//! record itself (`eventName = REMOVE`, `key = store-3`).

use crate::json::path::Path;

/// A comparison in a predicate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `=` (numbers compare as numbers, text as text).
    Eq,
    /// `!=`.
    Ne,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `~`: the value's text contains this.
    Contains,
}

/// Which part of a record a predicate reads.
#[derive(Clone, Debug, PartialEq)]
pub enum Field {
    /// A dotted path into the data (Kinesis: the decoded blob; DynamoDB: the item).
    Data(Path),
    /// The DynamoDB `eventName` (`INSERT` for Kinesis records).
    EventName,
    /// The partition key.
    Key,
    /// The sequence number.
    Sequence,
}

/// A parsed search.
#[derive(Clone, Debug, PartialEq)]
pub enum Query {
    /// Found anywhere: partition key, sequence number, data. Case-insensitive unless the text
    /// has a capital letter ("smart case", as ripgrep and many editors do).
    Text {
        /// The text.
        needle: String,
        /// Whether case must match.
        case_sensitive: bool,
    },
    /// `field op value`.
    Predicate {
        /// What is compared.
        field: Field,
        /// How.
        op: Op,
        /// With what, as typed (quotes removed).
        value: String,
        /// The value as a number, when it is one.
        number: Option<f64>,
    },
}

/// Operators, longest first so `>=` is not read as `>`.
const OPS: [(&str, Op); 7] = [
    (">=", Op::Ge),
    ("<=", Op::Le),
    ("!=", Op::Ne),
    ("=", Op::Eq),
    (">", Op::Gt),
    ("<", Op::Lt),
    ("~", Op::Contains),
];

/// Reads the search box. `None` for an empty box; an error names what is wrong.
pub fn parse(text: &str) -> Result<Option<Query>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let Some((at, op_text, op)) = OPS
        .iter()
        .filter_map(|(t, op)| text.find(t).map(|at| (at, *t, *op)))
        .min_by_key(|(at, t, _)| (*at, std::cmp::Reverse(t.len())))
    else {
        return Ok(Some(Query::Text {
            needle: text.to_owned(),
            case_sensitive: text.chars().any(char::is_uppercase),
        }));
    };
    let (name, value) = (text[..at].trim(), text[at + op_text.len()..].trim());
    if name.is_empty() || name.contains(char::is_whitespace) {
        // "a = b" with spaces in the name, or a lone operator: ordinary text.
        return Ok(Some(Query::Text {
            needle: text.to_owned(),
            case_sensitive: text.chars().any(char::is_uppercase),
        }));
    }
    let value = unquote(value);
    if value.is_empty() {
        return Err(format!(
            "{name} {op_text} what? Give a value after {op_text}"
        ));
    }
    let field = match name {
        "eventName" => Field::EventName,
        "key" | "partitionKey" => Field::Key,
        "seq" | "sequenceNumber" => Field::Sequence,
        path => Field::Data(Path::parse(path.strip_prefix("data.").unwrap_or(path))),
    };
    let number = crate::json::path::parse_numeric_text(&value);
    if matches!(op, Op::Gt | Op::Ge | Op::Lt | Op::Le) && number.is_none() {
        return Err(format!("{op_text} compares numbers; {value:?} is not one"));
    }
    Ok(Some(Query::Predicate {
        field,
        op,
        value,
        number,
    }))
}

fn unquote(v: &str) -> String {
    let v = v.trim();
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner.to_owned();
        }
    }
    v.to_owned()
}

impl Op {
    /// Whether a number compares true.
    pub fn numbers(self, a: f64, b: f64) -> bool {
        match self {
            Self::Eq => a == b,
            Self::Ne => a != b,
            Self::Gt => a > b,
            Self::Ge => a >= b,
            Self::Lt => a < b,
            Self::Le => a <= b,
            Self::Contains => false,
        }
    }

    /// Whether a text compares true (only `=`, `!=` and `~` apply to text).
    pub fn texts(self, a: &str, b: &str) -> bool {
        match self {
            Self::Eq => a == b,
            Self::Ne => a != b,
            Self::Contains => a.contains(b),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pred(text: &str) -> (Field, Op, String, Option<f64>) {
        match parse(text).unwrap().unwrap() {
            Query::Predicate {
                field,
                op,
                value,
                number,
            } => (field, op, value, number),
            q => panic!("{text}: {q:?}"),
        }
    }

    #[test]
    fn predicates_and_text_are_told_apart() {
        assert_eq!(
            pred("Item.sales > 90"),
            (
                Field::Data(Path::parse("Item.sales")),
                Op::Gt,
                "90".into(),
                Some(90.0)
            )
        );
        assert_eq!(
            pred("eventName = REMOVE"),
            (Field::EventName, Op::Eq, "REMOVE".into(), None)
        );
        assert_eq!(pred("a>=1.5").1, Op::Ge);
        assert_eq!(pred("key = 'store-3'").2, "store-3");
        assert_eq!(pred("Item.name ~ lamp").1, Op::Contains);
        assert_eq!(
            parse("store-3").unwrap(),
            Some(Query::Text {
                needle: "store-3".into(),
                case_sensitive: false
            })
        );
        assert!(matches!(
            parse("Store").unwrap(),
            Some(Query::Text {
                case_sensitive: true,
                ..
            })
        ));
        assert_eq!(parse("   ").unwrap(), None);
        assert!(
            parse("Item.sales > lots")
                .unwrap_err()
                .contains("compares numbers")
        );
        assert!(parse("Item.sales =").unwrap_err().contains("what?"));
    }
}
