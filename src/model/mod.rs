//! Plain domain types shared by the engine, the formats and the UI.
//!
//! Times are integer epoch milliseconds (`i64`) everywhere in the core: floats would make window
//! arithmetic inexact and traces non-reproducible.

pub mod builder;
pub mod payloads;
pub mod payloads_later;
pub mod position;
pub mod reshard;
pub mod routing;
mod select;
pub mod settings;
pub mod state;
pub mod stream;

use serde::{Deserialize, Serialize};

/// Which AWS stream the simulated event source mapping reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Kinesis Data Streams: MD5 hash-key routing, base64 `data`.
    #[default]
    Kinesis,
    /// DynamoDB Streams: item images in typed attribute form.
    Dynamodb,
}

impl Source {
    /// Lower-case name as used on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            Self::Kinesis => "kinesis",
            Self::Dynamodb => "dynamodb",
        }
    }

    /// Lambda's documented polling cadence for this source: Kinesis "a base rate of once per
    /// second", DynamoDB "4 times per second" (SEMANTICS §3).
    pub fn poll_interval_ms(self) -> i64 {
        match self {
            Self::Kinesis => 1_000,
            Self::Dynamodb => 250,
        }
    }
}

impl std::str::FromStr for Source {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "kinesis" => Ok(Self::Kinesis),
            "dynamodb" | "ddb" => Ok(Self::Dynamodb),
            other => Err(format!(
                "unknown source {other:?}: expected \"kinesis\" or \"dynamodb\""
            )),
        }
    }
}

/// DynamoDB Streams record type.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum EventName {
    /// A new item.
    #[default]
    Insert,
    /// An item changed.
    Modify,
    /// An item was deleted.
    Remove,
}

impl EventName {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Insert => "INSERT",
            Self::Modify => "MODIFY",
            Self::Remove => "REMOVE",
        }
    }

    /// Parses the wire spelling (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "INSERT" => Some(Self::Insert),
            "MODIFY" => Some(Self::Modify),
            "REMOVE" => Some(Self::Remove),
            _ => None,
        }
    }
}

/// Which images a DynamoDB stream carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StreamViewType {
    /// Only the key attributes.
    KeysOnly,
    /// The item after the change.
    NewImage,
    /// The item before the change.
    OldImage,
    /// Both images.
    #[default]
    NewAndOldImages,
}

impl StreamViewType {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::KeysOnly => "KEYS_ONLY",
            Self::NewImage => "NEW_IMAGE",
            Self::OldImage => "OLD_IMAGE",
            Self::NewAndOldImages => "NEW_AND_OLD_IMAGES",
        }
    }

    /// Whether `NewImage` appears (on INSERT and MODIFY).
    pub fn has_new(self) -> bool {
        matches!(self, Self::NewImage | Self::NewAndOldImages)
    }

    /// Whether `OldImage` appears (on MODIFY and REMOVE).
    pub fn has_old(self) -> bool {
        matches!(self, Self::OldImage | Self::NewAndOldImages)
    }
}

impl std::str::FromStr for StreamViewType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().replace('-', "_").as_str() {
            "KEYS_ONLY" => Ok(Self::KeysOnly),
            "NEW_IMAGE" => Ok(Self::NewImage),
            "OLD_IMAGE" => Ok(Self::OldImage),
            "NEW_AND_OLD_IMAGES" => Ok(Self::NewAndOldImages),
            other => Err(format!(
                "unknown stream view type {other:?}: expected KEYS_ONLY, NEW_IMAGE, OLD_IMAGE or NEW_AND_OLD_IMAGES"
            )),
        }
    }
}

/// A tumbling window `[start, end)` in epoch milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Window {
    /// Inclusive start.
    pub start_ms: i64,
    /// Exclusive end.
    pub end_ms: i64,
}

impl Window {
    /// The epoch-aligned window of length `len_ms` holding `ts_ms` (SEMANTICS §2.2, Q8).
    pub fn containing(ts_ms: i64, len_ms: i64) -> Self {
        let start_ms = ts_ms.div_euclid(len_ms) * len_ms;
        Self {
            start_ms,
            end_ms: start_ms + len_ms,
        }
    }

    /// Whether `ts_ms` lies in `[start, end)`.
    pub fn contains(&self, ts_ms: i64) -> bool {
        self.start_ms <= ts_ms && ts_ms < self.end_ms
    }
}

/// Formats epoch milliseconds as Lambda's window strings: ISO-8601 UTC, whole seconds, `Z`
/// (SEMANTICS §2.3). Milliseconds are truncated, never rounded.
pub fn iso_seconds(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    match chrono::DateTime::from_timestamp(secs, 0) {
        Some(t) => iso_text(t, None),
        None => format!("{secs}"),
    }
}

/// Formats epoch milliseconds as RFC 3339 with milliseconds, for tables and logs.
pub fn iso_millis(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000) as u32;
    match chrono::DateTime::from_timestamp(secs, millis * 1_000_000) {
        Some(t) => iso_text(t, Some(millis)),
        None => format!("{ms}ms"),
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.mmm]Z` written digit by digit: chrono's format strings are parsed on
/// every call, which showed in runs that format a window's times per window. Years outside
/// 0–9999 (signed or wider) go through chrono, which prints them its own way.
fn iso_text(t: chrono::DateTime<chrono::Utc>, millis: Option<u32>) -> String {
    use chrono::{Datelike as _, Timelike as _};
    let year = t.year();
    if !(0..=9999).contains(&year) {
        let f = if millis.is_some() {
            "%Y-%m-%dT%H:%M:%S%.3fZ"
        } else {
            "%Y-%m-%dT%H:%M:%SZ"
        };
        return t.format(f).to_string();
    }
    let mut b = [0u8; 24];
    let mut put = |at: usize, v: u32, width: usize| {
        let mut v = v;
        for k in (0..width).rev() {
            b[at + k] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, year as u32, 4);
    put(5, t.month(), 2);
    put(8, t.day(), 2);
    put(11, t.hour(), 2);
    put(14, t.minute(), 2);
    put(17, t.second(), 2);
    let len = match millis {
        Some(m) => {
            put(20, m, 3);
            b[19] = b'.';
            b[23] = b'Z';
            24
        }
        None => {
            b[19] = b'Z';
            20
        }
    };
    for (at, c) in [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')] {
        b[at] = c;
    }
    String::from_utf8_lossy(&b[..len]).into_owned()
}

/// `approximateArrivalTimestamp`: epoch seconds with three decimals, as in AWS's example
/// (`1607497475.000`).
pub fn arrival_timestamp_text(ts_ms: i64) -> String {
    let sign = if ts_ms < 0 { "-" } else { "" };
    let abs = ts_ms.unsigned_abs();
    format!("{sign}{}.{:03}", abs / 1000, abs % 1000)
}

/// Clock time of day with milliseconds (`12:00:29.900`), for compact displays.
pub fn clock_millis(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let nanos = (ms.rem_euclid(1000) * 1_000_000) as u32;
    match chrono::DateTime::from_timestamp(secs, nanos) {
        Some(t) => t.format("%H:%M:%S%.3f").to_string(),
        None => format!("{ms}ms"),
    }
}

/// Clock time of day in whole seconds (`12:00:30`).
pub fn clock_seconds(ms: i64) -> String {
    match chrono::DateTime::from_timestamp(ms.div_euclid(1000), 0) {
        Some(t) => t.format("%H:%M:%S").to_string(),
        None => format!("{ms}ms"),
    }
}

/// A record's arrival as its event carries it, for tables: Kinesis's
/// `approximateArrivalTimestamp` has milliseconds, DynamoDB's `ApproximateCreationDateTime`
/// whole seconds (showing milliseconds there would claim a precision the event lacks).
pub fn arrival_clock(source: Source, ms: i64) -> String {
    match source {
        Source::Kinesis => clock_millis(ms),
        Source::Dynamodb => clock_seconds(ms),
    }
}

/// The same in full (RFC 3339), for tooltips.
pub fn arrival_iso(source: Source, ms: i64) -> String {
    match source {
        Source::Kinesis => iso_millis(ms),
        Source::Dynamodb => iso_seconds(ms),
    }
}

/// Parses an RFC 3339 timestamp into epoch milliseconds.
pub fn parse_rfc3339_ms(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.timestamp_millis())
}

/// An instant a user types: RFC 3339, or Unix seconds as the Lambda API takes them (fractions
/// allowed); epoch ms.
pub fn parse_instant(s: &str) -> Result<i64, String> {
    if let Some(ms) = parse_rfc3339_ms(s) {
        return Ok(ms);
    }
    match s.trim().parse::<f64>() {
        Ok(secs) if secs.is_finite() && (0.0..=MAX_INSTANT_MS as f64 / 1000.0).contains(&secs) => {
            Ok((secs * 1000.0).round() as i64)
        }
        _ => Err(format!(
            "{s:?} is not a time: use RFC 3339 (2026-01-01T12:00:00Z) or Unix seconds"
        )),
    }
}

/// 1970-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z in epoch ms: the instants a stream record
/// can carry (Kinesis arrival times are epoch seconds; nothing earlier exists).
pub const MIN_INSTANT_MS: i64 = 0;
/// See [`MIN_INSTANT_MS`].
pub const MAX_INSTANT_MS: i64 = 253_402_300_799_999;

/// Refuses an instant outside years 1970–9999, with a hint when the unit is the likely cause
/// (milliseconds read as seconds give years like 57972).
pub fn check_instant(ms: i64) -> Result<(), String> {
    if (MIN_INSTANT_MS..=MAX_INSTANT_MS).contains(&ms) {
        return Ok(());
    }
    let hint = if ms > MAX_INSTANT_MS {
        let years = ms / 31_556_952_000 + 1970;
        format!(
            "it would be the year {years}: is it in milliseconds (or microseconds) where seconds are expected? \
             Epoch seconds have 10 digits, milliseconds 13; choose the timestamp unit"
        )
    } else {
        "it is before 1970: is it in seconds where milliseconds are expected, or negative?".into()
    };
    Err(format!(
        "timestamp is outside the years 1970–9999 ({ms} ms since the epoch): {hint}"
    ))
}

/// Converts epoch seconds with a fraction to milliseconds, rounding to the nearest millisecond
/// (`1607497475.987` must become `…987`, not `…986` from binary float error).
pub fn ms_from_epoch_seconds(secs: f64) -> Option<i64> {
    // Beyond this the product leaves i64; everything past year 9999 is refused later anyway.
    if !secs.is_finite() || secs.abs() > 9.0e15 {
        return None;
    }
    Some((secs * 1000.0).round() as i64)
}

/// Cancellation and progress reporting for long work on a worker thread (loading, simulating):
/// the UI sets `cancel`, the work calls `progress` now and then with its own progress type.
pub struct Control<'a, P> {
    /// Set to stop; the work checks it between units.
    pub cancel: Option<&'a std::sync::atomic::AtomicBool>,
    /// Called as the work advances.
    pub progress: Option<&'a mut dyn FnMut(P)>,
}

impl<P> Default for Control<'_, P> {
    fn default() -> Self {
        Self {
            cancel: None,
            progress: None,
        }
    }
}

impl<P> Control<'_, P> {
    /// Reports progress, if anyone listens.
    pub fn report(&mut self, progress: P) {
        if let Some(f) = self.progress.as_mut() {
            f(progress);
        }
    }

    /// Whether cancel was asked for.
    pub fn cancelled(&self) -> bool {
        self.cancel
            .is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tables show arrivals at the precision the event carries them (DynamoDB: whole seconds,
    /// rounded down as `ApproximateCreationDateTime` is).
    #[test]
    fn arrivals_show_the_events_precision() {
        let ms = 1_607_497_475_987;
        assert_eq!(arrival_clock(Source::Kinesis, ms), "07:04:35.987");
        assert_eq!(arrival_clock(Source::Dynamodb, ms), "07:04:35");
        assert_eq!(arrival_iso(Source::Kinesis, ms), "2020-12-09T07:04:35.987Z");
        assert_eq!(arrival_iso(Source::Dynamodb, ms), "2020-12-09T07:04:35Z");
    }

    #[test]
    fn window_alignment_matches_aws_doc_example() {
        // SEMANTICS §2.2: 1607497475 with 120 s windows lands in 07:04:00–07:06:00.
        let w = Window::containing(1_607_497_475_000, 120_000);
        assert_eq!(iso_seconds(w.start_ms), "2020-12-09T07:04:00Z");
        assert_eq!(iso_seconds(w.end_ms), "2020-12-09T07:06:00Z");
    }

    #[test]
    fn windows_are_half_open() {
        let w = Window::containing(30_000, 30_000);
        assert_eq!(w.start_ms, 30_000);
        assert!(w.contains(30_000));
        assert!(!w.contains(60_000));
        assert_eq!(Window::containing(59_999, 30_000), w);
    }

    #[test]
    fn negative_times_floor_correctly() {
        let w = Window::containing(-1, 30_000);
        assert_eq!(w.start_ms, -30_000);
    }

    #[test]
    fn iso_seconds_truncates_millis() {
        assert_eq!(iso_seconds(1_000_999), "1970-01-01T00:16:40Z");
    }

    proptest::proptest! {
        /// The digit-by-digit writer prints exactly what chrono's format strings print.
        #[test]
        fn iso_text_matches_chrono(ms in -70_000_000_000_000i64..300_000_000_000_000i64) {
            let secs = ms.div_euclid(1000);
            let t = chrono::DateTime::from_timestamp(secs, 0).unwrap();
            proptest::prop_assert_eq!(iso_seconds(ms), t.format("%Y-%m-%dT%H:%M:%SZ").to_string());
            let t = chrono::DateTime::from_timestamp(secs, (ms.rem_euclid(1000) * 1_000_000) as u32).unwrap();
            proptest::prop_assert_eq!(iso_millis(ms), t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
        }
    }

    #[test]
    fn epoch_seconds_round_to_millis() {
        assert_eq!(
            ms_from_epoch_seconds(1607497475.987),
            Some(1_607_497_475_987)
        );
        assert_eq!(ms_from_epoch_seconds(f64::NAN), None);
    }
}
