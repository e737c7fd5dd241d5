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

/// Records in the order their payloads lie in the stream's buffer (input order; grouping by
/// shard reordered only the offsets). Text search scans the buffer in this order, a few long
/// spans instead of a million short calls. Worth keeping per stream.
pub fn payload_order(stream: &Stream) -> Vec<u32> {
    let mut order: Vec<u32> = (0..stream.len() as u32).collect();
    if !stream.payload_starts.is_sorted() {
        order.sort_unstable_by_key(|&i| stream.payload_starts[i as usize]);
    }
    order
}

/// Searches `stream`; `None` when cancelled. `order` is [`payload_order`] of the stream (text
/// searches scan whole spans of the buffer with it). The work is split among the machine's
/// cores, each part's matches joined in order, so the answer is the same on any machine.
pub fn search(
    stream: &Stream,
    query: &Query,
    order: &[u32],
    cancel: &AtomicBool,
) -> Option<Matches> {
    let test = Test::new(stream, query);
    let records = match &test.how {
        How::Predicate {
            must_contain: Some(contains),
            ..
        } => {
            let mut candidates = scan_parts(stream, order, contains, cancel)?;
            candidates.sort_unstable();
            candidates.dedup();
            let mut seq = Vec::new();
            candidates.retain(|&i| test.test(i as usize, &mut seq));
            candidates
        }
        How::Text { .. } => test.text_search(order, cancel)?,
        _ => in_parts(stream.len(), |range| test.run(range, cancel))?,
    };
    Some(Matches {
        per_shard: per_shard(stream, &records),
        records,
    })
}

fn threads_for(items: usize) -> usize {
    std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .clamp(1, 16)
        .min(items.div_ceil(CANCEL_EVERY).max(1))
}

/// `work` on `0..n` split into one range per core (named scoped threads), the parts' results
/// joined in range order; `None` when any part was cancelled.
fn in_parts(
    n: usize,
    work: impl Fn(std::ops::Range<usize>) -> Option<Vec<u32>> + Sync,
) -> Option<Vec<u32>> {
    let threads = threads_for(n);
    let chunk = n.div_ceil(threads).max(1);
    let parts: Vec<Option<Vec<u32>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (work, range) = (&work, (t * chunk).min(n)..((t + 1) * chunk).min(n));
                std::thread::Builder::new()
                    .name(format!("tumblescope-find-{t}"))
                    .spawn_scoped(scope, move || work(range))
                    .expect("spawning a search thread")
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().ok().flatten())
            .collect()
    });
    let mut out = Vec::new();
    for part in parts {
        out.extend(part?);
    }
    Some(out)
}

fn per_shard(stream: &Stream, records: &[u32]) -> Vec<usize> {
    stream
        .shards
        .iter()
        .map(|s| {
            let lo = records.partition_point(|&r| (r as usize) < s.range.start);
            let hi = records.partition_point(|&r| (r as usize) < s.range.end);
            hi - lo
        })
        .collect()
}

/// A query prepared for testing records: what every record's test shares, computed once.
struct Test<'a> {
    stream: &'a Stream,
    how: How<'a>,
}

enum How<'a> {
    /// Plain text: in the partition key (each distinct key tested once), the data, or (when
    /// the text could be part of one) the sequence number.
    Text {
        contains: Contains,
        key_hits: Vec<bool>,
        digits: bool,
    },
    /// A numeric comparison on a data field, read from the stream's cached column (NaN where
    /// the field is absent or not a number).
    Column {
        column: std::sync::Arc<Vec<f64>>,
        op: Op,
        number: f64,
    },
    /// Any other predicate.
    Predicate {
        field: &'a Field,
        op: Op,
        value: &'a str,
        number: Option<f64>,
        /// Text every match's data holds (a prefilter), when there is such.
        must_contain: Option<Contains>,
    },
}

impl<'a> Test<'a> {
    fn new(stream: &'a Stream, query: &'a Query) -> Self {
        let how = match query {
            Query::Text {
                needle,
                case_sensitive,
            } => {
                let contains = Contains::new(needle, *case_sensitive);
                let key_hits = stream
                    .keys
                    .iter()
                    .map(|k| contains.test(k.as_bytes()))
                    .collect();
                How::Text {
                    contains,
                    key_hits,
                    digits: needle.bytes().all(|b| b.is_ascii_digit()),
                }
            }
            Query::Predicate {
                field: Field::Data(path),
                op,
                number: Some(number),
                ..
            } if !matches!(op, Op::Contains | Op::Ne) => How::Column {
                column: numeric_column(stream, path),
                op: *op,
                number: *number,
            },
            Query::Predicate {
                field,
                op,
                value,
                number,
            } => How::Predicate {
                field,
                op: *op,
                value,
                number: *number,
                // `Item.store = store-03`: the data must hold the text, so the buffer scan
                // finds the candidates and only those are parsed.
                must_contain: (matches!(field, Field::Data(_))
                    && matches!(op, Op::Eq | Op::Contains)
                    && number.is_none()
                    && !value.contains(['"', '\\']))
                .then(|| Contains::new(value, true)),
            },
        };
        Self { stream, how }
    }

    /// Plain text: the data scanned span by span in buffer order (split among the cores),
    /// then the keys and sequence numbers per record; the union, ascending.
    fn text_search(&self, order: &[u32], cancel: &AtomicBool) -> Option<Vec<u32>> {
        let How::Text {
            contains,
            key_hits,
            digits,
        } = &self.how
        else {
            return Some(Vec::new());
        };
        let stream = self.stream;
        let mut records = in_parts(order.len(), |range| {
            let part = &order[range];
            let mut hits = scan_spans(stream, part, contains, cancel)?;
            let mut seq = Vec::new();
            for &i in part {
                let i = i as usize;
                if key_hits[stream.key[i] as usize]
                    || (*digits && contains.test(super::seq_into(stream, i, &mut seq)))
                {
                    hits.push(i as u32);
                }
            }
            Some(hits)
        })?;
        records.sort_unstable();
        records.dedup();
        Some(records)
    }

    /// The matching records of `range`, in order; `None` when cancelled.
    fn run(&self, range: std::ops::Range<usize>, cancel: &AtomicBool) -> Option<Vec<u32>> {
        let mut seq = Vec::new();
        let mut out = Vec::new();
        for i in range {
            if i % CANCEL_EVERY == 0 && cancel.load(Ordering::Relaxed) {
                return None;
            }
            if self.test(i, &mut seq) {
                out.push(i as u32);
            }
        }
        Some(out)
    }

    fn test(&self, i: usize, seq: &mut Vec<u8>) -> bool {
        let stream = self.stream;
        match &self.how {
            How::Text {
                contains,
                key_hits,
                digits,
            } => {
                key_hits[stream.key[i] as usize]
                    || contains.test(stream.payload(i))
                    || (*digits && contains.test(super::seq_into(stream, i, seq)))
            }
            How::Column { column, op, number } => op.numbers(column[i], *number),
            How::Predicate {
                field,
                op,
                value,
                number,
                ..
            } => match field {
                Field::EventName => op.texts(stream.event_name(i).as_str(), value),
                Field::Key => op.texts(stream.partition_key(i), value),
                Field::Sequence => op.texts(
                    std::str::from_utf8(super::seq_into(stream, i, seq)).unwrap_or(""),
                    value,
                ),
                Field::Data(path) => match find(stream.payload(i), path) {
                    Ok(Some(raw)) => compare_raw(raw, *op, value, *number),
                    _ => *op == Op::Ne,
                },
            },
        }
    }
}

/// [`scan_spans`] over all of `order`, split among the cores; unordered.
fn scan_parts(
    stream: &Stream,
    order: &[u32],
    contains: &Contains,
    cancel: &AtomicBool,
) -> Option<Vec<u32>> {
    in_parts(order.len(), |range| {
        scan_spans(stream, &order[range], contains, cancel)
    })
}

/// The records of `part` (in buffer order) whose payload holds a match: each run of
/// back-to-back payloads is scanned as one slice, and a hit is kept only inside one record.
fn scan_spans(
    stream: &Stream,
    part: &[u32],
    contains: &Contains,
    cancel: &AtomicBool,
) -> Option<Vec<u32>> {
    let start = |k: usize| stream.payload_starts[part[k] as usize] as usize;
    let end = |k: usize| start(k) + stream.payload_lens[part[k] as usize] as usize;
    let mut hits = Vec::new();
    let mut k = 0;
    while k < part.len() {
        if cancel.load(Ordering::Relaxed) {
            return None;
        }
        // The span: records whose payloads follow each other (capped, to check cancel).
        let mut j = k;
        while j + 1 < part.len() && start(j + 1) == end(j) && j - k < CANCEL_EVERY * 4 {
            j += 1;
        }
        let base = start(k);
        let span = &stream.payload[base..end(j)];
        // Hits come in order: a cursor walks the span's records alongside them.
        let (mut cur, mut last) = (k, None);
        contains.each_hit(span, |at, len| {
            let abs = base + at;
            while cur < j && end(cur) <= abs {
                cur += 1;
            }
            if abs + len <= end(cur) {
                if last != Some(cur) {
                    last = Some(cur);
                    hits.push(part[cur]);
                }
                return;
            }
            // A hit across a boundary is no record's, and it may hide one that starts inside
            // it: test the records it reaches on their own.
            let mut m = cur + 1;
            while m <= j && start(m) < abs + len {
                if contains.test(stream.payload(part[m] as usize)) {
                    hits.push(part[m]);
                }
                m += 1;
            }
        });
        k = j + 1;
    }
    Some(hits)
}

/// A data field as numbers, one per record (NaN where absent or not a number): from the
/// stream's column cache, which the built-in handlers fill for the same field, so a search on
/// the plotted field costs one pass over numbers.
fn numeric_column(stream: &Stream, path: &crate::json::path::Path) -> std::sync::Arc<Vec<f64>> {
    let key = format!("find:{}", path.segments().join("."));
    stream.columns.get_or_insert(&key, || {
        let n = stream.len();
        let mut column = vec![f64::NAN; n];
        let chunk = n.div_ceil(threads_for(n)).max(1);
        // Split among the cores: each fills its own slice of the column.
        std::thread::scope(|scope| {
            for (t, part) in column.chunks_mut(chunk).enumerate() {
                let from = t * chunk;
                std::thread::Builder::new()
                    .name(format!("tumblescope-find-{t}"))
                    .spawn_scoped(scope, move || {
                        for (k, slot) in part.iter_mut().enumerate() {
                            if let Ok(Some(raw)) = find(stream.payload(from + k), path) {
                                *slot = number_from_raw(raw).ok().flatten().unwrap_or(f64::NAN);
                            }
                        }
                    })
                    .expect("spawning a search thread");
            }
        });
        column
    })
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

/// A substring test: `memmem` for exact case, Aho-Corasick's ASCII-case-insensitive search
/// (with its SIMD prefilter) for any case.
enum Contains {
    Exact(Box<memmem::Finder<'static>>),
    AnyCase(aho_corasick::AhoCorasick),
    Everything,
}

impl Contains {
    fn new(needle: &str, case_sensitive: bool) -> Self {
        if needle.is_empty() {
            return Self::Everything;
        }
        let no_letters = !needle.bytes().any(|b| b.is_ascii_alphabetic());
        if case_sensitive || no_letters {
            return Self::Exact(Box::new(
                memmem::Finder::new(needle.as_bytes()).into_owned(),
            ));
        }
        match aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build([needle])
        {
            Ok(ac) => Self::AnyCase(ac),
            Err(_) => Self::Exact(Box::new(
                memmem::Finder::new(needle.as_bytes()).into_owned(),
            )),
        }
    }

    fn test(&self, hay: &[u8]) -> bool {
        match self {
            Self::Exact(f) => f.find(hay).is_some(),
            Self::AnyCase(ac) => ac.is_match(hay),
            Self::Everything => true,
        }
    }

    /// Calls `f(start, len)` for each non-overlapping match in `hay`.
    fn each_hit(&self, hay: &[u8], mut f: impl FnMut(usize, usize)) {
        match self {
            Self::Exact(finder) => {
                let len = finder.needle().len();
                for at in finder.find_iter(hay) {
                    f(at, len);
                }
            }
            Self::AnyCase(ac) => {
                for m in ac.find_iter(hay) {
                    f(m.start(), m.len());
                }
            }
            Self::Everything => {}
        }
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
        let m = search(s, &q, &payload_order(s), &AtomicBool::new(false)).unwrap();
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
    fn a_match_across_two_payloads_belongs_to_neither() {
        let s = stream();
        // store-1's payload ends with "}}}" and store-2's starts with "{": "}{" is in the
        // buffer but in no record.
        assert!(found(&s, "}{").is_empty());
        assert!(found(&s, "}}}{\"item").is_empty());
    }

    #[test]
    fn a_cancelled_search_returns_nothing() {
        let s = stream();
        let q = parse("store").unwrap().unwrap();
        assert_eq!(
            search(&s, &q, &payload_order(&s), &AtomicBool::new(true)),
            None
        );
    }
}
