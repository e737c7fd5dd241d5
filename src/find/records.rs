//! Record search over a whole stream: the indices of the records that match, in stream order
//! (shard by shard, each in arrival order), and how many per shard.

use std::sync::atomic::{AtomicBool, Ordering};

use memchr::memmem;

use super::CANCEL_EVERY;
use super::query::{Field, Op, Query};
use crate::json::path::{find, number_from_raw};
use crate::model::payloads::{IN_FILE, PayloadReader};
use crate::model::stream::Stream;

/// What a search found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Matches {
    /// Matching record indices, ascending.
    pub records: Vec<u32>,
    /// Matches per shard.
    pub per_shard: Vec<usize>,
}

/// Searches `stream`; `None` when cancelled. `order` is [`Stream::payload_order`] (text
/// searches scan whole spans of the buffer, or of the file, with it; worth keeping per stream). The work is split among the machine's
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
            // Candidates come in buffer order: tested so, payloads left in a file are read
            // front to back.
            let mut candidates = scan_parts(stream, order, contains, cancel)?;
            let (mut seq, mut payloads) = (Vec::new(), stream.payload_reader());
            candidates.retain(|&i| test.test(i as usize, &mut payloads, &mut seq));
            candidates.sort_unstable();
            candidates.dedup();
            candidates
        }
        How::Text { .. } => test.text_search(order, cancel)?,
        How::Predicate {
            field: Field::Data(_),
            ..
        } if stream.payload_files.is_some() => {
            let mut found = in_parts(order.len(), |range| {
                test.run(order[range].iter().map(|&i| i as usize), cancel)
            })?;
            found.sort_unstable();
            found
        }
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

    /// The records of `indices` that match, in that order; `None` when cancelled.
    fn run(&self, indices: impl Iterator<Item = usize>, cancel: &AtomicBool) -> Option<Vec<u32>> {
        let (mut seq, mut payloads) = (Vec::new(), self.stream.payload_reader());
        let mut out = Vec::new();
        for (k, i) in indices.enumerate() {
            if k % CANCEL_EVERY == 0 && cancel.load(Ordering::Relaxed) {
                return None;
            }
            if self.test(i, &mut payloads, &mut seq) {
                out.push(i as u32);
            }
        }
        Some(out)
    }

    fn test(&self, i: usize, payloads: &mut PayloadReader<'_>, seq: &mut Vec<u8>) -> bool {
        let stream = self.stream;
        match &self.how {
            How::Text {
                contains,
                key_hits,
                digits,
            } => {
                key_hits[stream.key[i] as usize]
                    || contains.test(payloads.get(i))
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
                Field::Data(path) => match find(payloads.get(i), path) {
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
/// neighbouring payloads is scanned as one slice (payloads left in a file with the rest of
/// their lines between them), and a hit is kept only inside one record.
fn scan_spans(
    stream: &Stream,
    part: &[u32],
    contains: &Contains,
    cancel: &AtomicBool,
) -> Option<Vec<u32>> {
    let raw = |k: usize| stream.payload_starts[part[k] as usize];
    let start = |k: usize| (raw(k) & !IN_FILE) as usize;
    let end = |k: usize| start(k) + stream.payload_lens[part[k] as usize] as usize;
    let in_file = |k: usize| raw(k) & IN_FILE != 0;
    // The rest of a line between two payloads in a file (its timestamp and key) is scanned
    // too rather than cutting the span there.
    let follows = |k: usize, j: usize| {
        in_file(j) == in_file(k)
            && start(j) >= end(k)
            && start(j) - end(k) <= if in_file(j) { SPAN_GAP } else { 0 }
    };
    let mut hits = Vec::new();
    let mut bytes = Vec::new();
    let mut k = 0;
    while k < part.len() {
        if cancel.load(Ordering::Relaxed) {
            return None;
        }
        // The span: records whose payloads follow each other (capped, to check cancel).
        let mut j = k;
        while j + 1 < part.len() && follows(j, j + 1) && j - k < CANCEL_EVERY * 4 {
            j += 1;
        }
        let base = start(k);
        let span: &[u8] = match &stream.payload_files {
            Some(files) if in_file(k) => {
                if !files.read_into(base as u64, end(j) - base, &mut bytes) {
                    return Some(hits);
                }
                &bytes
            }
            _ => &stream.payload[base..end(j)],
        };
        // Hits come in order: a cursor walks the span's records alongside them.
        let (mut cur, mut last) = (k, None);
        contains.each_hit(span, |at, len| {
            let abs = base + at;
            while cur < j && end(cur) <= abs {
                cur += 1;
            }
            if abs + len <= start(cur) {
                // Between two payloads in a file (the rest of a line): no record's.
                return;
            }
            if abs >= start(cur) && abs + len <= end(cur) {
                if last != Some(cur) {
                    last = Some(cur);
                    hits.push(part[cur]);
                }
                return;
            }
            // A hit across a boundary is no record's, and it may hide one that starts inside
            // it: test the records it reaches on their own.
            let mut m = if abs >= start(cur) { cur + 1 } else { cur };
            while m <= j && start(m) < abs + len {
                if contains.test(&stream.payload(part[m] as usize)) {
                    hits.push(part[m]);
                }
                m += 1;
            }
        });
        k = j + 1;
    }
    Some(hits)
}

/// The most bytes between two payloads in a file for them to be scanned as one span.
const SPAN_GAP: usize = 512;

/// A data field as numbers, one per record (NaN where absent or not a number): from the
/// stream's column cache, which the built-in handlers fill for the same field, so a search on
/// the plotted field costs one pass over numbers.
fn numeric_column(stream: &Stream, path: &crate::json::path::Path) -> std::sync::Arc<Vec<f64>> {
    let key = format!("find:{}", path.segments().join("."));
    stream.columns.get_or_insert(&key, || {
        stream.map_payloads(None, |_, payload| match find(payload, path) {
            Ok(Some(raw)) => number_from_raw(raw).ok().flatten().unwrap_or(f64::NAN),
            _ => f64::NAN,
        })
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

    const TEXT: &str = "\
{\"timestamp\":1767268800,\"partitionKey\":\"store-1\",\"data\":{\"Item\":{\"sales\":95,\"name\":\"Lamp\"}}}
{\"timestamp\":1767268801,\"partitionKey\":\"store-2\",\"data\":{\"Item\":{\"sales\":\"12\",\"name\":\"desk\"}}}
{\"timestamp\":1767268802,\"partitionKey\":\"store-3\",\"data\":{\"Item\":{\"sales\":91}}}
";

    fn stream() -> Stream {
        let text = TEXT;
        let opts = crate::ingest::orders::OrdersOptions {
            source: crate::model::Source::Kinesis,
            shards: 1,
            meta: Default::default(),
        };
        crate::ingest::orders::read_orders(text.as_bytes(), "t.jsonl", &opts).expect("orders")
    }

    fn found(s: &Stream, q: &str) -> Vec<String> {
        let q = parse(q).unwrap().unwrap();
        let m = search(s, &q, &s.payload_order(), &AtomicBool::new(false)).unwrap();
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
    fn payloads_left_in_the_file_are_searched_as_held_ones() {
        // The file has the rest of each line between payloads: text there is in no record.
        let path =
            std::env::temp_dir().join(format!("tumblescope-find-{}.jsonl", std::process::id()));
        std::fs::write(&path, TEXT.repeat(40)).unwrap();
        let opts = crate::ingest::LoadOptions {
            shards: 3,
            ..Default::default()
        };
        let mut control = crate::ingest::LoadControl::default();
        let (in_file, _) =
            crate::ingest::load_paths(std::slice::from_ref(&path), &opts, &mut control).unwrap();
        assert!(in_file.payload_in_file(0));
        // The same stream with every payload held, back to back.
        let mut held = in_file.clone();
        held.payload_files = None;
        for i in 0..held.len() {
            held.payload_starts[i] = held.payload.len() as u64;
            held.payload.extend_from_slice(&in_file.payload(i));
        }
        assert!(!held.payload_in_file(0));
        for q in [
            "lamp",
            "Lamp",
            "partitionKey",
            "timestamp",
            "}}}",
            "\"}}",
            "desk\"}}",
            "Item.sales > 90",
            "Item.name = desk",
            "Item.name != desk",
            "Item.name ~ es",
            "store-3",
            "sales",
        ] {
            assert_eq!(found(&in_file, q), found(&held, q), "{q}");
        }
        assert!(found(&in_file, "partitionKey").is_empty());
        assert_eq!(found(&in_file, "lamp").len(), 40);
        std::fs::remove_file(&path).ok();
    }

    #[test]
    fn a_cancelled_search_returns_nothing() {
        let s = stream();
        let q = parse("store").unwrap().unwrap();
        assert_eq!(
            search(&s, &q, &s.payload_order(), &AtomicBool::new(true)),
            None
        );
    }
}
