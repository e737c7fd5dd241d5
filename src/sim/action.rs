//! What a shard does next: invoke a batch or close a window. Planned by `plan`, carried out by
//! `execute`, held by the shard in between.

use std::ops::Range;

use crate::model::Window;
use crate::sim::trace::{Kind, Reason};

/// The next thing a shard will do.
#[derive(Clone, Debug)]
pub(super) enum Action {
    Batch(BatchArgs),
    Close {
        at: i64,
        kind: Kind,
        reason: Reason,
        attempt: u32,
        read_at: Option<i64>,
    },
    /// Records older than MaximumRecordAgeInSeconds when they would be sent: discarded to the
    /// on-failure destination without an invocation. Or records past the stream's retention:
    /// a waiting batch is discarded the same way, unread records are gone.
    Expire {
        at: i64,
        range: Range<usize>,
        /// Past the retention (else past the maximum record age).
        retention: bool,
        /// A batch waiting to be sent again (else records at the cursor, never sent).
        from_pending: bool,
        /// Attempts already made (0 for records never sent).
        attempts: u32,
        read_at: Option<i64>,
    },
    /// A closed shard read to its end (GetRecords returned no next iterator): the shard is
    /// done, and its children may start.
    End {
        at: i64,
    },
}

impl Action {
    pub(super) fn at(&self) -> i64 {
        match self {
            Self::Batch(b) => b.at,
            Self::Close { at, .. } | Self::Expire { at, .. } | Self::End { at } => *at,
        }
    }
}

/// A batch to invoke: its records, window, why, and which delivery of them.
#[derive(Clone, Debug)]
pub(super) struct BatchArgs {
    pub(super) at: i64,
    pub(super) range: Range<usize>,
    pub(super) window: Option<Window>,
    pub(super) reason: Reason,
    pub(super) kind: Kind,
    pub(super) attempt: u32,
    pub(super) retries: u32,
    pub(super) from_pending: bool,
    /// For a final carrying the tail batch: why the window closes.
    pub(super) close_reason: Option<Reason>,
    /// A read (GetRecords) at this time, returning records up to it.
    pub(super) read_at: Option<i64>,
}
