//! The layout a uniform file's lines share, learned from one line, so later lines are checked
//! by comparing fixed bytes and validating only the values (see [`Shape`]).

use super::fastjson::{OrderFields, number, order_fields, string};
use crate::json::path::Path;

/// One piece of a [`Shape`]: bytes every line has, or a value that varies.
#[derive(Clone, Debug, PartialEq)]
enum Token {
    /// Exactly these bytes (structure, keys, `true`/`false`/`null`).
    Literal(Vec<u8>),
    /// A string value.
    Str,
    /// A number value.
    Num,
}

/// A position in a line as (token, byte offset into it).
type Mark = (usize, usize);

/// The layout that the lines of a uniform file share (every generated orders file, most
/// exports): keys and structure are fixed, only values vary. Learned from one line the full
/// validator accepted, it checks the next lines by comparing the fixed bytes at once and
/// validating only the values, with the same grammar as [`value`]. A line it does not fit goes
/// to [`order_fields`] as before. Sound because every accepted line is the learned (valid)
/// line with each value replaced by another valid value of a kind allowed in that place.
#[derive(Clone, Debug)]
pub struct Shape {
    tokens: Vec<Token>,
    timestamp: usize,
    partition_key: usize,
    data: (Mark, Mark),
    /// The path whose number loading reads (as asked when the shape was learned).
    value_path: Option<Path>,
    /// The number token that path lands on in every line of this shape (the keys and structure
    /// are the same, so a scan of the payload would stop at the same token each time); `None`
    /// when it lands on anything but a number, or nowhere.
    value: Option<usize>,
}

/// Lines with more varying values than this are not worth a shape.
const MAX_TOKENS: usize = 48;

/// Splits a compact line into tokens: the values that vary from line to line (strings that are
/// not keys, numbers) and the literal text between them (keys, punctuation, `true`, `false`,
/// `null`); with each token's starting byte. `None`: not a line a shape can describe.
fn tokenize(b: &[u8]) -> Option<(Vec<Token>, Vec<usize>)> {
    let mut tokens = Vec::new();
    let mut starts = Vec::new();
    let mut lit = Vec::new();
    let mut lit_start = 0;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let (end, token) = match c {
            b'"' => {
                let (end, _) = string(b, i).ok()?;
                if b.get(end) == Some(&b':') {
                    (end + 1, None) // a key, with its colon: fixed
                } else {
                    (end, Some(Token::Str))
                }
            }
            b'-' | b'0'..=b'9' => (number(b, i).ok()?, Some(Token::Num)),
            b't' | b'n' => (i + 4, None),
            b'f' => (i + 5, None),
            b'{' | b'}' | b'[' | b']' | b',' | b':' => (i + 1, None),
            _ => return None,
        };
        match token {
            None => {
                if lit.is_empty() {
                    lit_start = i;
                }
                lit.extend_from_slice(b.get(i..end)?);
            }
            Some(t) => {
                if !lit.is_empty() {
                    starts.push(lit_start);
                    tokens.push(Token::Literal(std::mem::take(&mut lit)));
                }
                starts.push(i);
                tokens.push(t);
            }
        }
        i = end;
    }
    if !lit.is_empty() {
        starts.push(lit_start);
        tokens.push(Token::Literal(lit));
    }
    Some((tokens, starts))
}

impl Shape {
    /// The shape of `line`, if it is a compact orders line (no whitespace) that
    /// [`order_fields`] accepts; with `value`, the token holding the number at that path of
    /// `data`, when there is one.
    pub fn learn(line: &str, value: Option<&Path>) -> Option<Self> {
        let f = order_fields(line).ok()?;
        if f.data_spaced {
            return None;
        }
        let (ts, pk, data) = (f.timestamp?, f.partition_key?, f.data?);
        let b = line.as_bytes();
        let offset = |part: &str| part.as_ptr() as usize - line.as_ptr() as usize;
        let (ts_at, pk_at, data_at) = (offset(ts), offset(pk) - 1, offset(data));
        let data_end = data_at + data.len();
        let (tokens, starts) = tokenize(b)?;
        // The varying token (not a literal) that starts at a byte position.
        let varying_at = |at: usize| {
            starts
                .binary_search(&at)
                .ok()
                .filter(|&k| !matches!(tokens[k], Token::Literal(_)))
        };
        let (timestamp, partition_key) = (varying_at(ts_at), varying_at(pk_at));
        if tokens.len() > MAX_TOKENS {
            return None;
        }
        // A byte position as (token, offset): the last token starting at or before it.
        let mark = |at: usize| -> Mark {
            let k = starts.partition_point(|&s| s <= at).saturating_sub(1);
            (k, at - starts[k])
        };
        let value_token = value.and_then(|path| {
            let raw = crate::json::path::find(data.as_bytes(), path).ok()??;
            let at = raw.as_ptr() as usize - line.as_ptr() as usize;
            let k = varying_at(at)?;
            let whole = number(b, at).ok()? == at + raw.len();
            (matches!(tokens[k], Token::Num) && whole).then_some(k)
        });
        let shape = Self {
            tokens,
            timestamp: timestamp?,
            partition_key: partition_key?,
            data: (mark(data_at), mark(data_end)),
            value_path: value.cloned(),
            value: value_token,
        };
        if shape.data.1.0 >= shape.tokens.len() {
            return None;
        }
        // The learned line must read back as itself.
        let again = shape.fields(line)?;
        (again.timestamp == Some(ts) && again.partition_key == Some(pk) && again.data == Some(data))
            .then_some(shape)
    }

    /// The path whose number this shape was asked to read.
    pub fn value_path(&self) -> Option<&Path> {
        self.value_path.as_ref()
    }

    /// The fields of `line` if it has this shape (`None`: check it the general way). A
    /// partition key with escapes does not fit (the fast path takes keys as they are).
    pub fn fields<'a>(&self, line: &'a str) -> Option<OrderFields<'a>> {
        let b = line.as_bytes();
        // Where each token ends; the fields are found from these after the scan, so the loop
        // over tokens does one store per token instead of a comparison per field.
        let mut ends = [0usize; MAX_TOKENS];
        let mut pos = 0;
        for (k, token) in self.tokens.iter().enumerate() {
            pos = match token {
                Token::Literal(l) => {
                    if !same(b.get(pos..pos + l.len())?, l) {
                        return None;
                    }
                    pos + l.len()
                }
                Token::Str => {
                    if b.get(pos) != Some(&b'"') {
                        return None;
                    }
                    match string(b, pos).ok()? {
                        (_, true) if k == self.partition_key => return None,
                        (end, _) => end,
                    }
                }
                Token::Num => number(b, pos).ok()?,
            };
            *ends.get_mut(k)? = pos;
        }
        if pos != b.len() {
            return None;
        }
        let span = |k: usize| -> Option<std::ops::Range<usize>> {
            let start = match k {
                0 => 0,
                _ => *ends.get(k - 1)?,
            };
            Some(start..*ends.get(k)?)
        };
        let ((ds_k, ds_off), (de_k, de_off)) = self.data;
        let pk = span(self.partition_key)?;
        Some(OrderFields {
            timestamp: Some(line.get(span(self.timestamp)?)?),
            partition_key: Some(line.get(pk.start + 1..pk.end - 1)?),
            data: Some(line.get(span(ds_k)?.start + ds_off..span(de_k)?.start + de_off)?),
            data_spaced: false,
            value: match self.value {
                Some(k) => Some(line.get(span(k)?)?),
                None => None,
            },
        })
    }
}

/// `a == b` for the short, equally long slices of [`Shape::fields`], eight bytes at a time
/// (a call to `memcmp` per key cost more than the comparison).
#[inline]
fn same(a: &[u8], b: &[u8]) -> bool {
    let (mut x, mut y) = (a.chunks_exact(8), b.chunks_exact(8));
    for (p, q) in x.by_ref().zip(y.by_ref()) {
        let (Ok(p), Ok(q)) = (<[u8; 8]>::try_from(p), <[u8; 8]>::try_from(q)) else {
            return false;
        };
        if u64::from_ne_bytes(p) != u64::from_ne_bytes(q) {
            return false;
        }
    }
    x.remainder().iter().zip(y.remainder()).all(|(p, q)| p == q) && a.len() == b.len()
}
