//! Finding one value by a dotted path in a JSON document without parsing the whole document.
//!
//! Built-in handlers read one number per record; a full `serde_json` parse per record would cost
//! several times the whole simulation. This scanner only walks the objects on the path and skips
//! everything else byte-wise. It follows `JSON.parse` on duplicate keys (the last one wins) and
//! returns `Err` for anything it does not handle, so callers can fall back to `serde_json`.

/// A path split at dots: `Item.sales` → `["Item", "sales"]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Path(Vec<String>);

impl Path {
    /// Splits a dotted path; an empty string is the document itself.
    pub fn parse(dotted: &str) -> Self {
        Self(
            dotted
                .split('.')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }

    /// The segments.
    pub fn segments(&self) -> &[String] {
        &self.0
    }

    /// Last segment (the natural state key), or `value`.
    pub fn last(&self) -> &str {
        self.0.last().map_or("value", String::as_str)
    }

    /// Looks the path up in a parsed value.
    pub fn lookup<'v>(&self, v: &'v serde_json::Value) -> Option<&'v serde_json::Value> {
        let mut cur = v;
        for seg in &self.0 {
            cur = cur.as_object()?.get(seg)?;
        }
        Some(cur)
    }
}

impl std::fmt::Display for Path {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join("."))
    }
}

/// The scanner gave up (malformed or unusual input); use a real parser.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unsupported;

pub(crate) fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// Index just past the string starting at `i` (which must be `"`), and whether it had escapes.
fn skip_string(b: &[u8], i: usize) -> Result<(usize, bool), Unsupported> {
    let mut j = i + 1;
    let mut escaped = false;
    while j < b.len() {
        match b[j] {
            b'"' => return Ok((j + 1, escaped)),
            b'\\' => {
                escaped = true;
                j += 2;
            }
            _ => j += 1,
        }
    }
    Err(Unsupported)
}

/// Index just past the value starting at `i`.
pub(crate) fn skip_value(b: &[u8], i: usize) -> Result<usize, Unsupported> {
    match b.get(i) {
        None => Err(Unsupported),
        Some(b'"') => Ok(skip_string(b, i)?.0),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut j = i;
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        j = skip_string(b, j)?.0;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Ok(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            Err(Unsupported)
        }
        Some(_) => {
            let j = token_end(b, i);
            if j == i { Err(Unsupported) } else { Ok(j) }
        }
    }
}

/// The raw bytes of the value at `path`, `Ok(None)` when the path is absent.
///
/// One pass over the bytes, tracking only how deep the scan is and how many leading path
/// segments the current object is inside:
///
/// ```text
///   {"a":1,"Item":{"x":[1,{"sales":9}],"sales":42},"z":"q"}
///    depth 1 ───────┬─ matched 0: keys compared with "Item"
///                   └ depth 2, matched 1: keys compared with "sales"; the array's objects
///                     (depth 4) are not on the path and are only skipped
/// ```
///
/// A later duplicate of a key replaces what an earlier one held, as in `JSON.parse`.
pub fn find<'a>(b: &'a [u8], path: &Path) -> Result<Option<&'a [u8]>, Unsupported> {
    let segs = &path.0;
    let mut i = skip_ws(b, 0);
    if segs.is_empty() {
        let end = skip_value(b, i)?;
        return Ok(Some(&b[i..end]));
    }
    if b.get(i) != Some(&b'{') {
        return Ok(None);
    }
    let mut scan = Scan {
        segs,
        depth: 0,
        objects: 0,
        matched: 0,
        expect_key: false,
        descend: false,
        result: None,
    };
    while i < b.len() {
        let c = b[i];
        match c {
            b'{' | b'[' => {
                scan.open(c == b'{')?;
                i += 1;
            }
            b'}' | b']' => {
                i += 1;
                if scan.close(c)? {
                    break;
                }
            }
            b',' => {
                scan.expect_key = scan.depth > 0 && scan.objects & (1 << (scan.depth - 1)) != 0;
                i += 1;
            }
            b'"' if scan.expect_key => i = scan.key(b, i)?,
            b'"' => i = skip_string(b, i)?.0,
            b' ' | b'\t' | b'\n' | b'\r' | b':' => i += 1,
            _ => i = token_end(b, i),
        }
    }
    if scan.depth != 0 {
        return Err(Unsupported);
    }
    Ok(scan.result.map(|(s, e)| &b[s..e]))
}

/// Where [`find`]'s scan is: how deep, which containers are objects, how many leading path
/// segments the current object is inside, and the value found so far.
struct Scan<'p> {
    segs: &'p [String],
    depth: usize,
    /// Bit d set: the container at depth d+1 is an object.
    objects: u64,
    matched: usize,
    expect_key: bool,
    /// The value after the key just read is the next path segment's object.
    descend: bool,
    result: Option<(usize, usize)>,
}

impl Scan<'_> {
    /// Enters an object or an array.
    #[inline]
    fn open(&mut self, object: bool) -> Result<(), Unsupported> {
        if self.depth >= 64 {
            return Err(Unsupported);
        }
        if object {
            self.objects |= 1 << self.depth;
            if self.descend {
                self.matched += 1;
            }
        } else {
            self.objects &= !(1 << self.depth);
        }
        self.depth += 1;
        self.descend = false;
        self.expect_key = object;
        Ok(())
    }

    /// Leaves a container; true when the top-level object ended.
    #[inline]
    fn close(&mut self, c: u8) -> Result<bool, Unsupported> {
        if self.depth == 0 {
            return Err(Unsupported);
        }
        if c == b'}' && self.matched > 0 && self.depth == self.matched + 1 {
            self.matched -= 1;
        }
        self.depth -= 1;
        self.expect_key = false;
        Ok(self.depth == 0)
    }

    /// Reads the key at `i` (its opening quote) and what follows its colon; returns where the
    /// scan goes on.
    #[inline]
    fn key(&mut self, b: &[u8], i: usize) -> Result<usize, Unsupported> {
        let start = i + 1;
        let mut j = start;
        while j < b.len() && b[j] != b'"' {
            if b[j] == b'\\' {
                return Err(Unsupported);
            }
            j += 1;
        }
        if j >= b.len() {
            return Err(Unsupported);
        }
        let key = &b[start..j];
        let mut i = skip_ws(b, j + 1);
        if b.get(i) != Some(&b':') {
            return Err(Unsupported);
        }
        i = skip_ws(b, i + 1);
        self.expect_key = false;
        let on_path = self.depth == self.matched + 1 && key == self.segs[self.matched].as_bytes();
        if on_path && self.matched == self.segs.len() - 1 {
            let end = skip_value(b, i)?;
            self.result = Some((i, end));
            return Ok(end);
        }
        if on_path {
            // A new occurrence of this prefix: whatever an earlier one held is replaced.
            self.result = None;
            self.descend = b.get(i) == Some(&b'{');
        }
        Ok(i)
    }
}

/// The end of the scalar token (number, `true`, `false`, `null`) starting at `i`.
#[inline]
fn token_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && !matches!(b[i], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// Reads a number the way the built-in handlers do: a JSON number, or a string holding one
/// (DynamoDB's `N` is always a string).
pub fn number_from_raw(raw: &[u8]) -> Result<Option<f64>, Unsupported> {
    match raw.first() {
        Some(b'"') => {
            if raw.contains(&b'\\') {
                return Err(Unsupported);
            }
            Ok(parse_numeric_text(
                std::str::from_utf8(&raw[1..raw.len() - 1]).map_err(|_| Unsupported)?,
            ))
        }
        Some(b'-' | b'0'..=b'9') => Ok(fast_integer(raw).or_else(|| {
            std::str::from_utf8(raw)
                .ok()
                .and_then(|s| s.parse::<f64>().ok())
                .filter(|v| v.is_finite())
        })),
        Some(_) => Ok(None),
        None => Err(Unsupported),
    }
}

/// The number at `path` in a payload (NaN: absent or not numeric): the fast scanner for
/// payloads known to be JSON, with `serde_json` as the fallback (and the only reader of
/// anything else). Loading and the built-ins' columns both read values through this, so a
/// column read while loading is the one a run would compute.
pub fn number_in(payload: &[u8], path: &Path, known_json: bool) -> f64 {
    if known_json {
        match find(payload, path) {
            Ok(None) => return f64::NAN,
            Ok(Some(raw)) => {
                if let Ok(v) = number_from_raw(raw) {
                    return v.unwrap_or(f64::NAN);
                }
            }
            Err(_) => {}
        }
    }
    serde_json::from_slice::<serde_json::Value>(payload)
        .ok()
        .and_then(|doc| path.lookup(&doc).and_then(number_from_value))
        .unwrap_or(f64::NAN)
}

/// Small integers, the common case, without the float parser (exact below 10^15).
fn fast_integer(raw: &[u8]) -> Option<f64> {
    let (neg, digits) = match raw.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, raw),
    };
    if digits.is_empty() || digits.len() > 15 || (digits.len() > 1 && digits[0] == b'0') {
        return None;
    }
    let mut v: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(d - b'0');
    }
    Some(if neg { -(v as f64) } else { v as f64 })
}

/// Parses a numeric string as a JSON number would read (no `inf`, `nan` or leading `+`).
pub fn parse_numeric_text(s: &str) -> Option<f64> {
    let s = s.trim();
    let ok = !s.is_empty()
        && s.bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'-' | b'.' | b'e' | b'E' | b'+'))
        && !s.starts_with('+');
    if !ok {
        return None;
    }
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Same as [`number_from_raw`] on a parsed value.
pub fn number_from_value(v: &serde_json::Value) -> Option<f64> {
    match v {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => parse_numeric_text(s),
        _ => None,
    }
}

/// A group label from a parsed value: strings as they are, anything else as its JSON text.
pub fn label_from_value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    fn via_scanner(doc: &str, path: &str) -> Option<Option<f64>> {
        let p = Path::parse(path);
        match find(doc.as_bytes(), &p) {
            Ok(Some(raw)) => number_from_raw(raw).ok(),
            Ok(None) => Some(None),
            Err(Unsupported) => None,
        }
    }

    #[test]
    fn finds_nested_numbers() {
        let doc = r#" { "a" : 1, "Item": {"x": [1, {"sales": 9}], "sales": 42.5 }, "z": "q" } "#;
        assert_eq!(via_scanner(doc, "Item.sales"), Some(Some(42.5)));
        assert_eq!(via_scanner(doc, "a"), Some(Some(1.0)));
        assert_eq!(via_scanner(doc, "Item.missing"), Some(None));
        assert_eq!(via_scanner(doc, "z"), Some(None));
        assert_eq!(via_scanner(doc, "a.b"), Some(None));
    }

    #[test]
    fn last_duplicate_wins_like_json_parse() {
        assert_eq!(via_scanner(r#"{"s":1,"s":2}"#, "s"), Some(Some(2.0)));
        assert_eq!(
            via_scanner(r#"{"a":{"s":1},"a":{"t":2}}"#, "a.s"),
            Some(None)
        );
        assert_eq!(
            via_scanner(r#"{"a":{"s":1},"a":{"s":3}}"#, "a.s"),
            Some(Some(3.0))
        );
        assert_eq!(via_scanner(r#"{"a":{"s":1},"a":5}"#, "a.s"), Some(None));
    }

    #[test]
    fn keys_inside_arrays_and_strings_are_not_on_the_path() {
        assert_eq!(
            via_scanner(r#"{"x":[{"s":1}],"y":"{\"s\":2}"}"#, "s"),
            Some(None)
        );
        assert_eq!(
            via_scanner(r#"{"x":{"a":{"s":1}},"s":-7}"#, "s"),
            Some(Some(-7.0))
        );
        assert_eq!(via_scanner(r#"{"s":1e2}"#, "s"), Some(Some(100.0)));
    }

    #[test]
    fn numeric_strings_count_as_numbers() {
        assert_eq!(via_scanner(r#"{"s":"17"}"#, "s"), Some(Some(17.0)));
        assert_eq!(via_scanner(r#"{"s":"x17"}"#, "s"), Some(None));
        assert_eq!(via_scanner(r#"{"s":"nan"}"#, "s"), Some(None));
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-1000i64..1000).prop_map(|n| json!(n)),
            (-1e6f64..1e6).prop_map(|f| json!(f)),
            "[a-z\"\\\\ ]{0,6}".prop_map(Value::String),
            (0i64..100).prop_map(|n| Value::String(n.to_string())),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec(("[abs]{1,2}", inner), 0..4)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn scanner_agrees_with_serde_json(doc in arb_json(), path in "[abs]{1,2}(\\.[abs]{1,2}){0,2}", pretty in any::<bool>()) {
            let text = if pretty { serde_json::to_string_pretty(&doc).unwrap() } else { doc.to_string() };
            let p = Path::parse(&path);
            let expected = p.lookup(&doc).and_then(number_from_value);
            if let Some(got) = via_scanner(&text, &path) {
                prop_assert_eq!(got, expected);
            }
        }

        #[test]
        fn scanner_never_panics_on_garbage(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = find(&bytes, &Path::parse("a.b"));
        }
    }
}
