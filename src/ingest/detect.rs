//! Which format a file holds, told from its first bytes, and whether it is text at all.

use super::{Format, LoadError};

/// Checks that a file looks like text: not empty, no NUL bytes at its start.
pub(super) fn check_text(name: &str, head: &[u8], total: u64) -> Result<(), LoadError> {
    if total == 0 {
        return Err(LoadError::file(name, "the file is empty"));
    }
    if head.contains(&0) {
        return Err(LoadError::file(
            name,
            "this is a binary file, not text: expected JSON Lines, JSON or CSV",
        ));
    }
    if head.iter().all(u8::is_ascii_whitespace) && total as usize <= head.len() {
        return Err(LoadError::file(
            name,
            "the file has only blank lines: no records",
        ));
    }
    Ok(())
}

/// Detects the format from the first bytes of a file.
pub fn detect(head: &[u8]) -> Format {
    let text = String::from_utf8_lossy(head);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    if text.starts_with('[') {
        return Format::Events;
    }
    if !text.starts_with('{') {
        return Format::Csv;
    }
    // The first line, if it is a whole JSON object, tells most.
    let first_line = text.lines().next().unwrap_or("");
    let probe: Option<serde_json::Value> = serde_json::from_str(first_line).ok();
    let doc_keys = |v: &serde_json::Value| -> Format {
        if let Some(recs) = v.get("Records") {
            let first = recs.get(0);
            let cli_kinesis =
                first.is_some_and(|r| r.get("Data").is_some() && r.get("PartitionKey").is_some());
            let cli_ddb = v.get("NextShardIterator").is_some();
            if cli_kinesis || cli_ddb {
                Format::GetRecords
            } else {
                Format::Events
            }
        } else if v.get("timestamp").is_some() && v.get("data").is_some() {
            Format::Orders
        } else {
            Format::Jsonl
        }
    };
    match probe {
        Some(v) => doc_keys(&v),
        None => {
            // A pretty-printed document: look for its keys in the head.
            if text.contains("\"Records\"") {
                if text.contains("\"NextShardIterator\"") || text.contains("\"PartitionKey\"") {
                    Format::GetRecords
                } else {
                    Format::Events
                }
            } else if text.contains("\"data\"") && text.contains("\"timestamp\"") {
                Format::Orders
            } else {
                Format::Jsonl
            }
        }
    }
}

/// Size of the head read for detection and checks.
pub(super) const HEAD: usize = 64 * 1024;
