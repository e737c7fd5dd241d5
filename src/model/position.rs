//! Where a new event source mapping starts reading (`StartingPosition`), when the mapping is
//! created, and how long the stream keeps records (SEMANTICS §14.1).

use serde::{Deserialize, Serialize};

/// `StartingPosition`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StartingPosition {
    /// The oldest record still retained: a backlog is read first.
    #[default]
    TrimHorizon,
    /// Just after the newest record when the mapping starts.
    Latest,
    /// The first record at or after `StartingPositionTimestamp` (Kinesis only).
    AtTimestamp,
}

impl StartingPosition {
    /// The API's spelling.
    pub fn api_name(self) -> &'static str {
        match self {
            Self::TrimHorizon => "TRIM_HORIZON",
            Self::Latest => "LATEST",
            Self::AtTimestamp => "AT_TIMESTAMP",
        }
    }
}

impl std::str::FromStr for StartingPosition {
    type Err = String;

    /// The API's spellings (`TRIM_HORIZON`) and the command line's (`trim-horizon`).
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_uppercase().replace('-', "_").as_str() {
            "TRIM_HORIZON" => Ok(Self::TrimHorizon),
            "LATEST" => Ok(Self::Latest),
            "AT_TIMESTAMP" => Ok(Self::AtTimestamp),
            _ => Err(format!(
                "starting position {s:?} is not one of trim-horizon, latest, at-timestamp \
                 (or TRIM_HORIZON, LATEST, AT_TIMESTAMP)"
            )),
        }
    }
}

/// Why a record never reached the function although it was written to the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NotRead {
    /// Written before the starting position (LATEST, AT_TIMESTAMP).
    BeforeStartingPosition,
    /// Past the stream's retention before the mapping read it.
    TrimmedByRetention,
    /// On a child shard whose parent never ended (it stalled): Lambda reads parents first.
    ParentNotEnded,
}

impl NotRead {
    /// In words, for summaries.
    pub fn describe(self) -> &'static str {
        match self {
            Self::BeforeStartingPosition => "before the starting position",
            Self::TrimmedByRetention => "trimmed by retention before it was read",
            Self::ParentNotEnded => "on a child shard whose parent shard never ended",
        }
    }
}

/// Where a shard's reading starts, given its records' arrival times in sequence order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardStart {
    /// Records before this one had left the stream (retention) when the mapping started.
    pub trimmed: usize,
    /// The first record the mapping reads (`trimmed..first` are before the starting position).
    pub first: usize,
}

/// The start on one shard. `mapping_start` is when the mapping begins reading; `timestamp` the
/// AT_TIMESTAMP instant. Records are taken in sequence order: a record after the start point is
/// read even when its clock went backwards.
pub fn shard_start(
    ts: &[i64],
    position: StartingPosition,
    timestamp: Option<i64>,
    mapping_start: i64,
    retention_ms: i64,
) -> ShardStart {
    let horizon = mapping_start.saturating_sub(retention_ms);
    let before = |t: i64| ts.iter().take_while(|&&x| x < t).count();
    let trimmed = before(horizon);
    let first = match (position, timestamp) {
        (StartingPosition::TrimHorizon, _) => trimmed,
        (StartingPosition::Latest, _) => before(mapping_start),
        // "If the timestamp is older than the trim horizon, the iterator points to the trim
        // horizon" (Kinesis GetShardIterator, AT_TIMESTAMP).
        (StartingPosition::AtTimestamp, Some(t)) => before(t.max(horizon)),
        (StartingPosition::AtTimestamp, None) => trimmed,
    };
    ShardStart {
        trimmed,
        first: first.max(trimmed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    #[test]
    fn positions_parse_in_both_spellings() {
        for (text, want) in [
            ("trim-horizon", StartingPosition::TrimHorizon),
            ("TRIM_HORIZON", StartingPosition::TrimHorizon),
            ("latest", StartingPosition::Latest),
            ("AT_TIMESTAMP", StartingPosition::AtTimestamp),
            ("at-timestamp", StartingPosition::AtTimestamp),
        ] {
            assert_eq!(text.parse::<StartingPosition>(), Ok(want));
            assert_eq!(want.api_name().parse::<StartingPosition>(), Ok(want));
        }
        assert!(
            "oldest"
                .parse::<StartingPosition>()
                .unwrap_err()
                .contains("not one of trim-horizon, latest, at-timestamp")
        );
    }

    #[test]
    fn each_position_starts_where_aws_says() {
        // Records at 0 h, 1 h, 2 h, 3 h, 30 h; the mapping starts at 26 h with 24 h retention:
        // the record at 0 h and 1 h are gone (horizon 2 h), the one at 2 h is kept (not older).
        let ts = [0, H, 2 * H, 3 * H, 30 * H];
        let start = |p, t| shard_start(&ts, p, t, 26 * H, 24 * H);
        let trim = start(StartingPosition::TrimHorizon, None);
        assert_eq!(
            trim,
            ShardStart {
                trimmed: 2,
                first: 2
            }
        );
        assert_eq!(
            start(StartingPosition::Latest, None),
            ShardStart {
                trimmed: 2,
                first: 4
            }
        );
        // At a record's instant: that record; between records: the next later one.
        assert_eq!(start(StartingPosition::AtTimestamp, Some(3 * H)).first, 3);
        assert_eq!(
            start(StartingPosition::AtTimestamp, Some(3 * H - 1)).first,
            3
        );
        assert_eq!(
            start(StartingPosition::AtTimestamp, Some(3 * H + 1)).first,
            4
        );
        // Before the trim horizon: the trim horizon.
        assert_eq!(start(StartingPosition::AtTimestamp, Some(0)), trim);
    }

    #[test]
    fn a_record_at_the_mapping_start_is_read_by_latest() {
        let ts = [10, 20, 20, 30];
        let s = shard_start(&ts, StartingPosition::Latest, None, 20, 24 * H);
        assert_eq!(
            s,
            ShardStart {
                trimmed: 0,
                first: 1
            }
        );
    }

    #[test]
    fn records_after_the_start_are_read_even_when_their_clock_went_back() {
        let ts = [10, 40, 35, 50];
        let s = shard_start(&ts, StartingPosition::Latest, None, 30, 24 * H);
        assert_eq!(s.first, 1);
    }
}
