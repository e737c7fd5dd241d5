//! Record search over a whole stream: the indices of the records that match, in stream order
//! (shard by shard, each in arrival order), and how many per shard.

use std::sync::atomic::{AtomicBool, Ordering};

use memchr::memmem;

use super::CANCEL_EVERY;
use super::query::{Field, Op, Query};
use crate::json::path::{find, number_from_raw};
use crate::model::stream::Stream;

/// What a search found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Matches {
    /// Matching record indices, ascending.
    pub records: Vec<u32>,
    /// Matches per shard.
    pub per_shard: Vec<usize>,
}

/// Searches `stream`; `None` when cancelled.
pub fn search(stream: &Stream, query: &Query, cancel: &AtomicBool) -> Option<Matches> {
    let mut test = matcher(stream, query);
    let mut records = Vec::new();
    for i in 0..stream.len() {
        if i % CANCEL_EVERY == 0 && cancel.load(Ordering::Relaxed) {
            return None;
        }
        if test(i) {
            records.push(i as u32);
        }
    }
    let per_shard = stream
        .shards
        .iter()
        .map(|s| {
            let lo = records.partition_point(|&r| (r as usize) < s.range.start);
            let hi = records.partition_point(|&r| (r as usize) < s.range.end);
            hi - lo
        })
        .collect();
    Some(Matches { records, per_shard })
}

/// A test of one record for `query`, with what it needs prepared once.
fn matcher<'a>(stream: &'a Stream, query: &'a Query) -> Box<dyn FnMut(usize) -> bool + 'a> {
    match query {
        Query::Text {
            needle,
            case_sensitive,
        } => text_matcher(stream, needle, *case_sensitive),
        Query::Predicate {
            field,
            op,
            value,
            number,
        } => {
            let (op, number) = (*op, *number);
            let mut seq = Vec::new();
            Box::new(move |i| match field {
                Field::EventName => op.texts(stream.event_name(i).as_str(), value),
                Field::Key => op.texts(stream.partition_key(i), value),
                Field::Sequence => op.texts(
                    std::str::from_utf8(super::seq_into(stream, i, &mut seq)).unwrap_or(""),
                    value,
                ),
                Field::Data(path) => match find(stream.payload(i), path) {
                    Ok(Some(raw)) => compare_raw(raw, op, value, number),
                    _ => op == Op::Ne,
                },
            })
        }
    }
}

/// A data field's raw JSON against the typed value: numbers as numbers (a string holding a
/// number counts, as DynamoDB's `N` does), anything else as its text.
fn compare_raw(raw: &[u8], op: Op, value: &str, number: Option<f64>) -> bool {
    if let (Some(b), Ok(Some(a))) = (number, number_from_raw(raw))
        && op != Op::Contains
    {
        return op.numbers(a, b);
    }
    let text = std::str::from_utf8(raw).unwrap_or("");
    let text = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    op.texts(text, value)
}

/// Plain text: the partition key (each distinct key tested once), the sequence number (only
/// when the text could be part of one) and the data bytes.
fn text_matcher<'a>(
    stream: &'a Stream,
    needle: &'a str,
    case_sensitive: bool,
) -> Box<dyn FnMut(usize) -> bool + 'a> {
    let contains = Contains::new(needle, case_sensitive);
    let key_hits: Vec<bool> = stream
        .keys
        .iter()
        .map(|k| contains.test(k.as_bytes()))
        .collect();
    let digits = needle.bytes().all(|b| b.is_ascii_digit());
    let mut seq = Vec::new();
    Box::new(move |i| {
        if key_hits[stream.key[i] as usize] || contains.test(stream.payload(i)) {
            return true;
        }
        digits && contains.test(super::seq_into(stream, i, &mut seq))
    })
}

/// A substring test: `memmem` for exact case; for any case, the needle's first byte in either
/// case found with `memchr2`, then the rest compared ignoring ASCII case.
struct Contains {
    exact: Option<memmem::Finder<'static>>,
    lower: Vec<u8>,
}

impl Contains {
    fn new(needle: &str, case_sensitive: bool) -> Self {
        Self {
            exact: case_sensitive.then(|| memmem::Finder::new(needle.as_bytes()).into_owned()),
            lower: needle.to_ascii_lowercase().into_bytes(),
        }
    }

    fn test(&self, hay: &[u8]) -> bool {
        if let Some(f) = &self.exact {
            return f.find(hay).is_some();
        }
        let n = &self.lower;
        let Some(&first) = n.first() else { return true };
        if hay.len() < n.len() {
            return false;
        }
        let last_start = hay.len() - n.len();
        memchr::memchr2_iter(first, first.to_ascii_uppercase(), &hay[..=last_start])
            .any(|at| hay[at..at + n.len()].eq_ignore_ascii_case(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::find::query::parse;

    fn stream() -> Stream {
        let text = "\
{\"timestamp\":1767268800,\"partitionKey\":\"store-1\",\"data\":{\"Item\":{\"sales\":95,\"name\":\"Lamp\"}}}
{\"timestamp\":1767268801,\"partitionKey\":\"store-2\",\"data\":{\"Item\":{\"sales\":\"12\",\"name\":\"desk\"}}}
{\"timestamp\":1767268802,\"partitionKey\":\"store-3\",\"data\":{\"Item\":{\"sales\":91}}}
";
        let opts = crate::ingest::orders::OrdersOptions {
            source: crate::model::Source::Kinesis,
            shards: 1,
            meta: Default::default(),
        };
        crate::ingest::orders::read_orders(text.as_bytes(), "t.jsonl", &opts).expect("orders")
    }

    fn found(s: &Stream, q: &str) -> Vec<String> {
        let q = parse(q).unwrap().unwrap();
        let m = search(s, &q, &AtomicBool::new(false)).unwrap();
        assert_eq!(m.per_shard.iter().sum::<usize>(), m.records.len());
        m.records
            .iter()
            .map(|&i| s.partition_key(i as usize).to_owned())
            .collect()
    }

    #[test]
    fn text_and_predicates_find_the_right_records() {
        let s = stream();
        assert_eq!(found(&s, "store-2"), ["store-2"]);
        assert_eq!(
            found(&s, "lamp"),
            ["store-1"],
            "any case for lower-case text"
        );
        assert!(
            found(&s, "LAMP").is_empty(),
            "exact case once a capital is typed"
        );
        assert_eq!(found(&s, "Item.sales > 90"), ["store-1", "store-3"]);
        assert_eq!(
            found(&s, "Item.sales <= 12"),
            ["store-2"],
            "a string holding a number"
        );
        assert_eq!(found(&s, "Item.name = desk"), ["store-2"]);
        assert_eq!(found(&s, "Item.name != desk"), ["store-1", "store-3"]);
        assert_eq!(found(&s, "key ~ store-"), ["store-1", "store-2", "store-3"]);
        assert_eq!(found(&s, "eventName = INSERT").len(), 3);
        let seq = s.seq(2).into_owned();
        assert_eq!(found(&s, &format!("seq = {seq}")), ["store-3"]);
        assert_eq!(found(&s, &seq[seq.len() - 12..]).len(), 1);
    }

    #[test]
    fn a_cancelled_search_returns_nothing() {
        let s = stream();
        let q = parse("store").unwrap().unwrap();
        assert_eq!(search(&s, &q, &AtomicBool::new(true)), None);
    }
}
