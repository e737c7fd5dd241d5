//! JSON text handled as text: every token kept exactly as written (numbers such as
//! `1607497475.000` stay as Lambda sent them; a parse/print round trip would change them). One
//! string-aware scanner serves re-indenting, compacting and measuring depth.

/// Tracks whether a byte of JSON text is inside a string. Multi-byte UTF-8 sequences never
/// contain `"` or `\\`, so scanning bytes is exact.
#[derive(Clone, Copy, Debug, Default)]
struct Scanner {
    in_string: bool,
    escaped: bool,
}

impl Scanner {
    /// Advances over `b`; true when `b` is structural (outside any string, quotes excluded).
    fn structural(&mut self, b: u8) -> bool {
        if self.in_string {
            match (self.escaped, b) {
                (true, _) => self.escaped = false,
                (false, b'\\') => self.escaped = true,
                (false, b'"') => self.in_string = false,
                _ => {}
            }
            return false;
        }
        if b == b'"' {
            self.in_string = true;
            return false;
        }
        true
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Re-indents compact JSON with two spaces, keeping every token exactly as it was.
pub fn pretty(compact: &str) -> String {
    let bytes = compact.as_bytes();
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 4);
    let mut depth = 0usize;
    let mut scan = Scanner::default();
    let newline = |out: &mut Vec<u8>, depth: usize| {
        out.push(b'\n');
        for _ in 0..depth {
            out.extend_from_slice(b"  ");
        }
    };
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        i += 1;
        if !scan.structural(c) {
            out.push(c);
            continue;
        }
        match c {
            b'{' | b'[' => {
                let close = if c == b'{' { b'}' } else { b']' };
                out.push(c);
                if bytes.get(i) == Some(&close) {
                    i += 1;
                    out.push(close);
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            b',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            b':' => out.extend_from_slice(b": "),
            c if is_space(c) => {}
            c => out.push(c),
        }
    }
    // Only ASCII was added or dropped between the input's UTF-8 sequences.
    String::from_utf8(out).unwrap_or_default()
}

/// Removes insignificant whitespace (outside strings), borrowing when there is none: Kinesis
/// `data` must be the compact serialisation.
pub fn compact_json(text: &str) -> std::borrow::Cow<'_, str> {
    let bytes = text.as_bytes();
    if memchr::memchr3(b' ', b'\t', b'\n', bytes).is_none()
        && memchr::memchr(b'\r', bytes).is_none()
    {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut scan = Scanner::default();
    let mut out = Vec::with_capacity(bytes.len());
    for &c in bytes {
        if !(scan.structural(c) && is_space(c)) {
            out.push(c);
        }
    }
    if out.len() == bytes.len() {
        return std::borrow::Cow::Borrowed(text);
    }
    // Only ASCII whitespace was dropped.
    std::borrow::Cow::Owned(String::from_utf8(out).unwrap_or_default())
}

/// Byte offset of the first bracket that opens deeper than `max` (strings skipped), if any.
pub fn too_deep_at(text: &[u8], max: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut scan = Scanner::default();
    for (i, &c) in text.iter().enumerate() {
        if !scan.structural(c) {
            continue;
        }
        match c {
            b'{' | b'[' => {
                depth += 1;
                if depth > max {
                    return Some(i);
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_keeps_every_token() {
        let compact = r#"{"a":[1.000,{}],"b":"x, y: {z}","c":[],"d":{"e":"\\\"é"}}"#;
        let p = pretty(compact);
        assert!(p.contains("1.000"));
        assert!(p.contains(r#""x, y: {z}""#));
        assert_eq!(compact_json(&p), compact);
        let back: serde_json::Value = serde_json::from_str(&p).unwrap();
        assert_eq!(
            back,
            serde_json::from_str::<serde_json::Value>(compact).unwrap()
        );
        assert_eq!(pretty("{}"), "{}");
    }

    #[test]
    fn compacting_keeps_strings() {
        assert_eq!(compact_json(r#"{"a":1}"#), r#"{"a":1}"#);
        assert_eq!(
            compact_json("{ \"a b\" : [1, \"x \\\" y\"] }"),
            "{\"a b\":[1,\"x \\\" y\"]}"
        );
    }

    #[test]
    fn depth_counts_brackets_outside_strings() {
        assert_eq!(too_deep_at(br#"{"a":"{{{{","b":[1]}"#, 2), None);
        assert_eq!(too_deep_at(br#"{"a":[[1]]}"#, 2), Some(6));
    }
}
