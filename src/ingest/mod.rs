//! Reading streams from files: every error carries file, line and column.

pub mod orders;

/// Why a file could not be loaded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// A problem at a position in the file.
    #[error("{file}:{line}:{column}: {message}")]
    At {
        /// File name as given.
        file: String,
        /// 1-based line.
        line: u64,
        /// 1-based column (bytes).
        column: u64,
        /// What was wrong and what was expected.
        message: String,
    },
    /// A problem with the file as a whole.
    #[error("{file}: {message}")]
    File {
        /// File name as given.
        file: String,
        /// What was wrong.
        message: String,
    },
    /// The load was cancelled.
    #[error("loading was cancelled")]
    Cancelled,
}

impl LoadError {
    /// An error at a position.
    pub fn at(file: &str, line: u64, column: u64, message: impl Into<String>) -> Self {
        Self::At {
            file: file.to_owned(),
            line,
            column,
            message: message.into(),
        }
    }

    /// An error about a whole file.
    pub fn file(file: &str, message: impl Into<String>) -> Self {
        Self::File {
            file: file.to_owned(),
            message: message.into(),
        }
    }
}

/// Removes insignificant whitespace from JSON text (outside strings), borrowing when there is
/// none: Kinesis `data` must be the compact serialisation.
pub fn compact_json(text: &str) -> std::borrow::Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut in_string = false;
    let mut escaped = false;
    let needs = bytes.iter().any(|&b| {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            false
        } else if b == b'"' {
            in_string = true;
            false
        } else {
            matches!(b, b' ' | b'\t' | b'\n' | b'\r')
        }
    });
    if !needs {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in text.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compacting_keeps_strings() {
        assert_eq!(compact_json(r#"{"a":1}"#), r#"{"a":1}"#);
        assert_eq!(
            compact_json("{ \"a b\" : [1, \"x \\\" y\"] }"),
            "{\"a b\":[1,\"x \\\" y\"]}"
        );
    }
}
