//! A strict, allocation-free JSON validator and the orders-line fast path built on it.
//!
//! Loading spends most of its time checking that each line is JSON. `serde_json` builds what
//! it parses; here nothing is built: values are validated byte by byte (RFC 8259: strings with
//! their escapes and no raw control characters, numbers by the grammar, literals, nesting) and
//! returned as slices. Anything unusual (escaped keys, odd fields, any error) makes the caller
//! fall back to `serde_json`, which then produces the exact message and position.

/// Why the fast path gave up (the caller falls back to the full parser).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fallback;

#[inline]
fn ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// Bytes of `w` (read little-endian) that end or interrupt a JSON string body: `"`, `\\` or a
/// control character. Each test may also flag bytes *after* its first true hit (borrows carry
/// upwards), never before one, so the lowest set bit is always exact.
#[inline]
fn specials(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    zero_byte(w ^ (ONES * u64::from(b'"')))
        | zero_byte(w ^ (ONES * u64::from(b'\\')))
        | (w.wrapping_sub(ONES * 0x20) & !w & HIGH)
}

/// End of the string starting at `i` (a `"`), and whether it had escapes.
#[inline]
pub(super) fn string(b: &[u8], i: usize) -> Result<(usize, bool), Fallback> {
    let mut j = i + 1;
    let mut escaped = false;
    loop {
        // Eight bytes at a time: string scanning is most of the validator's work.
        while let Some(chunk) = b.get(j..j + 8) {
            let hits = specials(u64::from_le_bytes(chunk.try_into().map_err(|_| Fallback)?));
            if hits != 0 {
                j += (hits.trailing_zeros() / 8) as usize;
                break;
            }
            j += 8;
        }
        let c = *b.get(j).ok_or(Fallback)?;
        match c {
            b'"' => return Ok((j + 1, escaped)),
            b'\\' => {
                escaped = true;
                match *b.get(j + 1).ok_or(Fallback)? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => j += 2,
                    b'u' => {
                        let hex = b.get(j + 2..j + 6).ok_or(Fallback)?;
                        if !hex.iter().all(u8::is_ascii_hexdigit) {
                            return Err(Fallback);
                        }
                        j += 6;
                    }
                    _ => return Err(Fallback),
                }
            }
            0..=0x1f => return Err(Fallback),
            _ => j += 1,
        }
    }
}

#[inline]
fn digits(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    i
}

/// End of the number starting at `i`, by JSON's grammar.
pub(super) fn number(b: &[u8], mut i: usize) -> Result<usize, Fallback> {
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i = digits(b, i),
        _ => return Err(Fallback),
    }
    if b.get(i) == Some(&b'.') {
        let j = digits(b, i + 1);
        if j == i + 1 {
            return Err(Fallback);
        }
        i = j;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let j = digits(b, i);
        if j == i {
            return Err(Fallback);
        }
        i = j;
    }
    Ok(i)
}

/// End of the value starting at `i` (after whitespace), validating it completely.
pub fn value(b: &[u8], i: usize) -> Result<usize, Fallback> {
    value_depth(b, i, 0, &mut false)
}

/// Whitespace inside the value sets `spaced` (a compact value needs no compacting later).
#[inline]
fn ws_in(b: &[u8], i: usize, spaced: &mut bool) -> usize {
    let j = ws(b, i);
    *spaced |= j != i;
    j
}

fn value_depth(b: &[u8], i: usize, depth: usize, spaced: &mut bool) -> Result<usize, Fallback> {
    if depth > 128 {
        return Err(Fallback);
    }
    match *b.get(i).ok_or(Fallback)? {
        b'"' => Ok(string(b, i)?.0),
        b'{' => {
            let mut j = ws_in(b, i + 1, spaced);
            if b.get(j) == Some(&b'}') {
                return Ok(j + 1);
            }
            loop {
                if b.get(j) != Some(&b'"') {
                    return Err(Fallback);
                }
                j = ws_in(b, string(b, j)?.0, spaced);
                if b.get(j) != Some(&b':') {
                    return Err(Fallback);
                }
                j = ws_in(
                    b,
                    value_depth(b, ws_in(b, j + 1, spaced), depth + 1, spaced)?,
                    spaced,
                );
                match b.get(j) {
                    Some(b',') => j = ws_in(b, j + 1, spaced),
                    Some(b'}') => return Ok(j + 1),
                    _ => return Err(Fallback),
                }
            }
        }
        b'[' => {
            let mut j = ws_in(b, i + 1, spaced);
            if b.get(j) == Some(&b']') {
                return Ok(j + 1);
            }
            loop {
                j = ws_in(b, value_depth(b, j, depth + 1, spaced)?, spaced);
                match b.get(j) {
                    Some(b',') => j = ws_in(b, j + 1, spaced),
                    Some(b']') => return Ok(j + 1),
                    _ => return Err(Fallback),
                }
            }
        }
        b't' if b.get(i..i + 4) == Some(b"true") => Ok(i + 4),
        b'f' if b.get(i..i + 5) == Some(b"false") => Ok(i + 5),
        b'n' if b.get(i..i + 4) == Some(b"null") => Ok(i + 4),
        b'-' | b'0'..=b'9' => number(b, i),
        _ => Err(Fallback),
    }
}

/// The top-level fields of an orders line, as validated slices.
#[derive(Debug, Default)]
pub struct OrderFields<'a> {
    /// `timestamp` value (a number or a string, raw).
    pub timestamp: Option<&'a str>,
    /// `partitionKey` content (no escapes).
    pub partition_key: Option<&'a str>,
    /// `data` value, raw.
    pub data: Option<&'a str>,
    /// Whether `data` had whitespace between its tokens (so it needs compacting).
    pub data_spaced: bool,
    /// The number a [`super::shape::Shape`] found at its value path, raw (`None`: not known;
    /// read it from `data`).
    pub value: Option<&'a str>,
}

/// Splits a line into its known fields, validating everything. Falls back on escaped keys,
/// duplicate keys, unknown or less common fields (`eventName`, `oldImage`, ...), and any error.
pub fn order_fields(line: &str) -> Result<OrderFields<'_>, Fallback> {
    let b = line.as_bytes();
    let mut out = OrderFields::default();
    let mut i = ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return Err(Fallback);
    }
    i = ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        return Err(Fallback);
    }
    loop {
        if b.get(i) != Some(&b'"') {
            return Err(Fallback);
        }
        let (kend, escaped) = string(b, i)?;
        if escaped {
            return Err(Fallback);
        }
        let key = &b[i + 1..kend - 1];
        i = ws(b, kend);
        if b.get(i) != Some(&b':') {
            return Err(Fallback);
        }
        let vstart = ws(b, i + 1);
        let vend = if key == b"partitionKey" {
            // Only a plain string takes the fast path; the validator knows about escapes.
            if b.get(vstart) != Some(&b'"') {
                return Err(Fallback);
            }
            match string(b, vstart)? {
                (end, false) => end,
                (_, true) => return Err(Fallback),
            }
        } else if key == b"data" {
            value_depth(b, vstart, 0, &mut out.data_spaced)?
        } else {
            value(b, vstart)?
        };
        let raw = line.get(vstart..vend).ok_or(Fallback)?;
        let slot = match key {
            b"timestamp" => &mut out.timestamp,
            b"partitionKey" => &mut out.partition_key,
            b"data" => &mut out.data,
            _ => return Err(Fallback),
        };
        if slot.is_some() {
            return Err(Fallback);
        }
        *slot = Some(if key == b"partitionKey" {
            &raw[1..raw.len() - 1]
        } else {
            raw
        });
        i = ws(b, vend);
        match b.get(i) {
            Some(b',') => i = ws(b, i + 1),
            Some(b'}') => {
                if ws(b, i + 1) != b.len() {
                    return Err(Fallback);
                }
                return Ok(out);
            }
            _ => return Err(Fallback),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::shape::Shape;
    use proptest::prelude::*;

    #[test]
    fn accepts_exactly_json() {
        for ok in [
            r#"{}"#,
            r#"[1,-2.5e3,"a\"b\u00e9",true,false,null,{"x":[]}]"#,
            "0",
            r#""\/""#,
            " 1 ",
        ] {
            let t = ok.trim();
            assert_eq!(value(t.as_bytes(), 0), Ok(t.len()), "{ok}");
        }
        for bad in [
            "{",
            "[1,]",
            "01",
            "1.",
            "-",
            "1e",
            "\"\u{1}\"",
            "\"\\x\"",
            "tru",
            "{\"a\" 1}",
            "{1:2}",
            "\"\\u12g4\"",
        ] {
            let r = value(bad.as_bytes(), 0);
            assert!(r.is_err() || r.is_ok_and(|e| e < bad.len()), "{bad}");
        }
    }

    #[test]
    fn strings_end_at_the_first_special_byte_wherever_it_falls() {
        // Word-at-a-time scanning must find the quote, escape or control byte at every offset,
        // including just past a multi-byte character and right after a word boundary.
        for len in 0..40 {
            for (special, ok) in [
                ("\"", true),
                ("\\n\"", true),
                ("\u{1}\"", false),
                ("\\q\"", false),
            ] {
                let body: String = "é".repeat(len / 2) + &"a".repeat(len % 2);
                let text = format!("\"{body}{special}tail");
                let got = string(text.as_bytes(), 0);
                if ok {
                    let end = text.len() - "tail".len();
                    assert_eq!(got, Ok((end, special != "\"")), "{text:?}");
                } else {
                    assert!(got.is_err(), "{text:?}");
                }
            }
        }
    }

    #[test]
    fn order_lines_split_into_fields() {
        let f = order_fields(r#"{"timestamp":1767268800.250,"partitionKey":"store-03","data":{"Item":{"sales":42}}}"#).unwrap();
        assert_eq!(f.timestamp, Some("1767268800.250"));
        assert_eq!(f.partition_key, Some("store-03"));
        assert_eq!(f.data, Some(r#"{"Item":{"sales":42}}"#));
        assert!(order_fields(r#"{"timestamp":1,"partitionKey":"a\"b","data":{}}"#).is_err());
        assert!(order_fields(r#"{"timestamp":1,"eventName":"INSERT","data":{}}"#).is_err());
        assert!(order_fields(r#"{"timestamp":1,"timestamp":2,"data":{}}"#).is_err());
        assert!(order_fields(r#"{"timestamp":1,"data":{]}"#).is_err());
        assert!(order_fields(r#"{"timestamp":1,"data":{}} x"#).is_err());
    }

    #[test]
    fn a_learned_shape_reads_the_value_token_the_payload_scan_finds() {
        use crate::json::path::{Path, find};
        let learned = r#"{"timestamp":1,"partitionKey":"k","data":{"Item":{"id":"o-1","sales":42,"n":{"sales":3}},"sales":9}}"#;
        let read = |path: &str, line: &str| -> (Option<String>, Option<String>) {
            let p = Path::parse(path);
            let f = Shape::learn(learned, Some(&p))
                .unwrap()
                .fields(line)
                .unwrap();
            let scanned = find(f.data.unwrap().as_bytes(), &p).unwrap();
            let text = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
            (f.value.map(str::to_owned), scanned.map(text))
        };
        let line = r#"{"timestamp":2,"partitionKey":"q","data":{"Item":{"id":"x,\"sales\":1","sales":-7.5e2,"n":{"sales":0}},"sales":12}}"#;
        for path in ["Item.sales", "Item.n.sales", "sales"] {
            let (shaped, scanned) = read(path, line);
            assert!(shaped.is_some(), "{path}");
            assert_eq!(shaped, scanned, "{path}");
        }
        // Paths that land on a string, an object or nothing are left to the scan.
        for path in ["Item.id", "Item.n", "Item.absent"] {
            assert_eq!(read(path, line).0, None, "{path}");
        }
    }

    #[test]
    fn a_learned_shape_reads_lines_like_the_full_validator() {
        let learned = r#"{"timestamp":1767268800.250,"partitionKey":"store-03","data":{"Item":{"id":"o-1","sales":42,"ok":true,"tags":[1,"x",null]}}}"#;
        let shape = Shape::learn(learned, None).unwrap();
        for line in [
            learned,
            r#"{"timestamp":"2026-01-01T00:00:00Z","partitionKey":"é\u00e9","data":{"Item":{"id":"a\"b","sales":-1.5e3,"ok":true,"tags":[0,"",null]}}}"#,
            r#"{"timestamp":1,"partitionKey":"k","data":{"Item":{"id":"","sales":0,"ok":true,"tags":[7,"y",null]}}}"#,
        ] {
            match (shape.fields(line), order_fields(line)) {
                (Some(f), Ok(full)) => {
                    assert_eq!(f.timestamp, full.timestamp, "{line}");
                    assert_eq!(f.partition_key, full.partition_key, "{line}");
                    assert_eq!(f.data, full.data, "{line}");
                }
                // An escaped partition key goes the general way in both.
                (None, Err(_)) => assert!(line.contains(r#""partitionKey":"é\u"#), "{line}"),
                (shaped, full) => panic!("{line}: {shaped:?} vs {full:?}"),
            }
        }
        for other in [
            r#"{"timestamp":1,"partitionKey":"k","data":{"Item":{"id":"","sales":0,"ok":false,"tags":[7,"y",null]}}}"#,
            r#"{"timestamp":1,"partitionKey":"k","data":{"Item":{"id":1,"sales":0,"ok":true,"tags":[7,"y",null]}}}"#,
            r#"{"timestamp":1, "partitionKey":"k","data":{"Item":{"id":"","sales":0,"ok":true,"tags":[7,"y",null]}}}"#,
            r#"{"timestamp":1,"partitionKey":"k","data":{"Item":{"id":"","sales":0,"ok":true,"tags":[7,"y",null]}}} "#,
            r#"{"timestamp":1,"partitionKey":"k","data":{"Item":{"id":"","sales":01,"ok":true,"tags":[7,"y",null]}}}"#,
            r#"{"timestamp":1,"partitionKey":"k","data":{"Item":{"id":"\x","sales":0,"ok":true,"tags":[7,"y",null]}}}"#,
            r#"{"timestamp":1,"partitionKey":"k","data":{"Item":{"id":"","sales":0,"ok":true,"tags":[7,"y",null]}}"#,
        ] {
            assert!(shape.fields(other).is_none(), "{other}");
        }
        assert!(Shape::learn(r#"{"timestamp":1, "partitionKey":"k","data":{}}"#, None).is_none());
        assert!(
            Shape::learn(
                r#"{"timestamp":1,"partitionKey":"k","data":{"a" : 1}}"#,
                None
            )
            .is_none()
        );
        let scalar =
            Shape::learn(r#"{"data":"x","timestamp":2,"partitionKey":"k"}"#, None).unwrap();
        let f = scalar
            .fields(r#"{"data":"yy","timestamp":3.5,"partitionKey":"q"}"#)
            .unwrap();
        assert_eq!(
            (f.data, f.timestamp, f.partition_key),
            (Some(r#""yy""#), Some("3.5"), Some("q"))
        );
    }

    fn arb_json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(serde_json::Value::from),
            (-1e9f64..1e9).prop_map(serde_json::Value::from),
            ".{0,8}".prop_map(serde_json::Value::String),
        ];
        leaf.prop_recursive(3, 20, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
                prop::collection::vec((".{0,4}", inner), 0..4)
                    .prop_map(|kv| serde_json::Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn agrees_with_serde_on_valid_json(v in arb_json(), pretty in any::<bool>()) {
            let text = if pretty { serde_json::to_string_pretty(&v).unwrap() } else { v.to_string() };
            prop_assert_eq!(value(text.as_bytes(), 0), Ok(text.len()));
        }

        #[test]
        fn shapes_accept_only_json_and_agree_with_the_full_validator(
            data in arb_json(),
            values in prop::collection::vec(arb_json(), 3),
            cut in 0usize..400,
            byte in any::<u8>(),
        ) {
            let line = |d: &serde_json::Value| format!(
                r#"{{"timestamp":1767268800.5,"partitionKey":"k","data":{}}}"#,
                serde_json::to_string(d).unwrap()
            );
            let learned = line(&data);
            let shape = Shape::learn(&learned, None);
            prop_assert!(shape.is_some(), "{}", learned);
            let shape = shape.unwrap();
            // Other values, and a byte of a valid line changed: whatever the shape accepts is
            // JSON, with the same fields the full validator finds.
            let mut lines: Vec<String> = values.iter().map(line).collect();
            let mut bytes = learned.clone().into_bytes();
            let at = cut % bytes.len();
            bytes[at] = byte;
            if let Ok(mutated) = String::from_utf8(bytes) {
                lines.push(mutated);
            }
            for l in &lines {
                if let Some(f) = shape.fields(l) {
                    prop_assert!(serde_json::from_str::<serde::de::IgnoredAny>(l).is_ok(), "{}", l);
                    let full = order_fields(l);
                    prop_assert!(full.is_ok(), "{}", l);
                    let full = full.unwrap();
                    prop_assert_eq!(f.timestamp, full.timestamp);
                    prop_assert_eq!(f.partition_key, full.partition_key);
                    prop_assert_eq!(f.data, full.data);
                }
            }
        }

        #[test]
        fn never_accepts_what_serde_rejects(text in "[\\[\\]{}\",:0-9a-z\\\\ .eE+\\-\u{1}]{0,30}") {
            // Lines reach the validator as checked UTF-8: JSON-ish characters find the edges.
            let bytes = text.as_bytes();
            if let Ok(end) = value(bytes, 0) {
                prop_assert!(serde_json::from_slice::<serde::de::IgnoredAny>(&bytes[..end]).is_ok(), "{:?}", String::from_utf8_lossy(&bytes[..end]));
            }
        }
    }
}
