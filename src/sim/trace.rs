//! The trace of a run: every invocation attempt in processing order, plus per-(shard, window)
//! results, discarded batches and stalled shards. Event JSON is not stored; it is rebuilt from
//! the stream on demand (see [`crate::handlers::event`]).

use std::ops::Range;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::handlers::{HandlerError, Request, TableWrite};
use crate::model::Window;
use crate::model::settings::Settings;
use crate::model::state::State;
use crate::model::stream::Stream;

/// What kind of invocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Carries records; state in, state out.
    Aggregate,
    /// `isFinalInvokeForWindow: true`: the window closed.
    Final,
    /// `isWindowTerminatedEarly: true`: state passed 1 MB.
    Early,
}

impl Kind {
    /// Lower-case name as in the `--events` format.
    pub fn name(self) -> &'static str {
        match self {
            Self::Aggregate => "aggregate",
            Self::Final => "final",
            Self::Early => "early",
        }
    }
}

/// Why a batch was cut where it was, or why a window closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// `BatchSize` records were available.
    BatchSize,
    /// The next record would have pushed the payload past 6 MB.
    PayloadLimit,
    /// The next record belongs to a later window.
    WindowBoundary,
    /// `MaximumBatchingWindowInSeconds` expired.
    BatchingWindow,
    /// Every available record was taken (no batching window).
    CaughtUp,
    /// The input ended (shard end) right after this batch.
    ShardEnd,
    /// Retry of a failed batch.
    Retry,
    /// One half of a bisected batch.
    Bisect,
    /// Re-delivery from the first reported item failure.
    PartialRetry,
    /// Final: a record of a later window was read.
    NextWindowRecord,
    /// Final: no record for the grace period.
    GraceExpired,
    /// Final: the shard ended.
    ShardEnded,
    /// Early termination: state passed 1 MB.
    StateTooLarge,
}

/// Outcome of one attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Succeeded.
    Ok,
    /// Succeeded but reported item failures; records from the first failure are re-delivered.
    Partial,
    /// Failed (error, timeout, or an invalid response).
    Failed,
}

/// Warning flags for the inspector.
pub mod flags {
    /// A final invocation returned no `state` (accepted, SEMANTICS Q5).
    pub const FINAL_WITHOUT_STATE: u8 = 1;
    /// Carries records whose timestamp went backwards (SEMANTICS Q15).
    pub const LATE_RECORDS: u8 = 2;
    /// The window's state came from the previous window (teaching mode, not AWS).
    pub const CARRIED_STATE: u8 = 4;
    /// The first invocation in a new execution environment (user handlers).
    pub const COLD_START: u8 = 8;
    /// Made a write the handler renders on demand ([`super::Trace::writes`]).
    pub const DEFERRED_WRITE: u8 = 16;
    /// The handler read the stand-in table ([`crate::handlers::Invoked::table_read`]).
    pub const READ_TABLE: u8 = 32;
}

/// The renderer of a run's deferred writes; runs compare equal when their renderers do.
#[derive(Clone, Debug)]
pub struct Deferred(pub Arc<dyn crate::handlers::DeferredWrites>);

impl PartialEq for Deferred {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.id() == other.0.id()
    }
}

/// Rarely-present parts of an invocation, boxed to keep the common case small.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Extra {
    /// The function's error, or the reason the response was rejected.
    pub error: Option<HandlerError>,
    /// The raw response, when it was not a built-in's `{state}`.
    pub raw_response: Option<Value>,
    /// Log lines.
    pub logs: Vec<String>,
    /// Table writes the handler returned as they are (deferred ones: [`Trace::writes`]).
    pub writes: Vec<TableWrite>,
    /// Item failures reported (sequence numbers).
    pub item_failures: Vec<String>,
    /// The execution environment that ran it (user handlers).
    pub environment: Option<u32>,
}

/// One invocation attempt.
#[derive(Clone, Debug, PartialEq)]
pub struct Invocation {
    /// 1-based number in processing order.
    pub n: u32,
    /// Shard index.
    pub shard: u32,
    /// Its number among the shard's invocations (1-based; seeds the request id).
    pub shard_n: u32,
    /// The window's start and length ([`Invocation::window`]): kept as two numbers rather than
    /// an `Option<Window>`, whose tag and padding cost a sparse run's million invocations 12
    /// bytes each.
    pub(crate) window_start_ms: i64,
    /// 0 without tumbling windows.
    pub(crate) window_len_ms: u32,
    /// Kind.
    pub kind: Kind,
    /// 1 for a first delivery; higher for retries and bisected halves.
    pub attempt: u32,
    /// Simulated processing start, epoch ms.
    pub start_ms: i64,
    /// Simulated processing end, epoch ms.
    pub end_ms: i64,
    /// Records carried (stream indices).
    pub records: Range<u32>,
    /// Why this invocation happened.
    pub reason: Reason,
    /// Outcome.
    pub status: Status,
    /// `isFinalInvokeForWindow` as sent.
    pub is_final: bool,
    /// `isWindowTerminatedEarly` as sent.
    pub is_early: bool,
    /// Warning flags ([`flags`]).
    pub flags: u8,
    /// Input state.
    pub state_in: State,
    /// Returned state, when the response had one.
    pub state_out: Option<State>,
    /// Real measured duration of a user handler plus one, µs (kept apart from the modelled
    /// time; read it with [`Invocation::measured_us`]). 32 bits hold 71 minutes, past any
    /// function timeout, and the zero niche keeps a sparse run's million invocations 16 bytes
    /// smaller each than an `Option<u64>`.
    pub measured: Option<std::num::NonZeroU32>,
    /// Error, logs, writes, raw response. Shared (one `Arc`) between consecutive attempts that
    /// failed the same way, so a retry storm does not hold one copy per attempt.
    pub extra: Option<Arc<Extra>>,
}

/// A window as an invocation keeps it: start and length (0 for none).
pub(crate) fn window_parts(window: Option<Window>) -> (i64, u32) {
    window.map_or((0, 0), |w| {
        (
            w.start_ms,
            u32::try_from(w.end_ms - w.start_ms).unwrap_or(u32::MAX),
        )
    })
}

impl Invocation {
    /// The window (`None` without tumbling windows).
    pub fn window(&self) -> Option<Window> {
        (self.window_len_ms > 0).then(|| Window {
            start_ms: self.window_start_ms,
            end_ms: self.window_start_ms + i64::from(self.window_len_ms),
        })
    }

    /// Sets the window (tumbling windows are at most 15 minutes long).
    pub fn set_window(&mut self, window: Option<Window>) {
        (self.window_start_ms, self.window_len_ms) = window_parts(window);
    }

    /// Real measured duration of a user handler, µs.
    pub fn measured_us(&self) -> Option<u64> {
        self.measured.map(|m| u64::from(m.get() - 1))
    }

    /// Stores a measured duration (saturating at 71 minutes).
    pub fn set_measured_us(&mut self, us: Option<u64>) {
        self.measured = us.and_then(|us| {
            std::num::NonZeroU32::new(u32::try_from(us.saturating_add(1)).unwrap_or(u32::MAX))
        });
    }

    /// Whether this is a retry (or a bisected half) of an earlier attempt.
    pub fn is_retry(&self) -> bool {
        self.attempt > 1
    }

    /// Records carried, as a `usize` range.
    pub fn record_range(&self) -> Range<usize> {
        self.records.start as usize..self.records.end as usize
    }

    /// Number of records carried.
    pub fn record_count(&self) -> usize {
        self.records.len()
    }

    /// The error, if the attempt failed.
    pub fn error(&self) -> Option<&HandlerError> {
        self.extra.as_ref().and_then(|e| e.error.as_ref())
    }

    /// The execution environment that ran it (user handlers).
    pub fn environment(&self) -> Option<u32> {
        self.extra.as_ref().and_then(|e| e.environment)
    }

    /// Log lines.
    pub fn logs(&self) -> &[String] {
        self.extra.as_ref().map_or(&[], |e| &e.logs)
    }

    /// The writes the handler returned as they are; [`Trace::writes`] adds a deferred one.
    pub fn writes(&self) -> &[TableWrite] {
        self.extra.as_ref().map_or(&[], |e| &e.writes)
    }

    /// The request this invocation sent (to rebuild its event).
    pub fn request<'a>(&'a self, stream: &'a Stream, settings: &'a Settings) -> Request<'a> {
        Request {
            stream,
            settings,
            shard: self.shard as usize,
            records: self.record_range(),
            window: self.window(),
            state: &self.state_in,
            is_final: self.is_final,
            is_early: self.is_early,
            n: self.n,
            shard_n: self.shard_n,
            attempt: self.attempt,
            at_ms: self.start_ms,
        }
    }

    /// The response JSON (`null` for a failed attempt without response).
    pub fn response_json(&self) -> Value {
        if let Some(raw) = self.extra.as_ref().and_then(|e| e.raw_response.clone()) {
            return raw;
        }
        match (&self.state_out, self.status) {
            (_, Status::Failed) => Value::Null,
            (Some(s), _) => {
                let mut m = serde_json::Map::new();
                m.insert("state".into(), Value::Object(s.to_json()));
                Value::Object(m)
            }
            (None, _) => Value::Null,
        }
    }
}

/// How a window ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WindowStatus {
    /// Its final invocation succeeded.
    Closed,
    /// The shard stalled before the window could close.
    Stalled,
    /// The run stopped (cancelled) before it closed.
    Open,
}

/// Result of one (shard, window).
#[derive(Clone, Debug, PartialEq)]
pub struct WindowResult {
    /// Shard index.
    pub shard: u32,
    /// The window; without tumbling windows, the span of the shard's records.
    pub window: Window,
    /// Records delivered in this window (retries not double-counted).
    pub records: u32,
    /// Invocation attempts, final and retries included.
    pub invocations: u32,
    /// State delivered to the final invocation.
    pub final_state: Option<State>,
    /// `n` of the successful final invocation.
    pub final_invocation: Option<u32>,
    /// Why it closed.
    pub close_reason: Option<Reason>,
    /// Early terminations within the window.
    pub early_terminations: u32,
    /// Records discarded after failures.
    pub discarded: u32,
    /// How it ended.
    pub status: WindowStatus,
    /// `n` of the window's first invocation.
    pub first_invocation: u32,
}

/// A batch sent to the on-failure destination (SEMANTICS §7.4).
#[derive(Clone, Debug, PartialEq)]
pub struct Discard {
    /// Shard index.
    pub shard: u32,
    /// Records discarded.
    pub records: Range<u32>,
    /// When, epoch ms.
    pub at_ms: i64,
    /// `RetryAttemptsExhausted` (documented) or `RecordAgeExceeded` (the value AWS sends for
    /// age discards is not documented: a modelling choice, SEMANTICS §14.4).
    pub condition: &'static str,
    /// The last attempt's `n`; 0 for records discarded before any attempt.
    pub invocation: u32,
    /// Attempts made (0: too old when first read).
    pub attempts: u32,
}

/// Records on a shard the mapping never read (SEMANTICS §14.1): listed, never silently gone.
#[derive(Clone, Debug, PartialEq)]
pub struct Unread {
    /// Shard index.
    pub shard: u32,
    /// The records.
    pub records: Range<u32>,
    /// Why.
    pub reason: crate::model::position::NotRead,
    /// When the mapping passed them, epoch ms.
    pub at_ms: i64,
}

/// A shard that stopped because an invocation kept failing where AWS would retry forever.
#[derive(Clone, Debug, PartialEq)]
pub struct Stall {
    /// Shard index.
    pub shard: u32,
    /// When, epoch ms.
    pub at_ms: i64,
    /// The last failed attempt's `n`.
    pub invocation: u32,
    /// Plain-language reason.
    pub reason: String,
    /// Records on the shard never processed.
    pub unprocessed: u32,
}

/// Everything a run produced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Trace {
    /// Attempts in processing order (`invocations[k].n == k + 1`).
    pub invocations: Vec<Invocation>,
    /// Per (shard, window) results, in shard then window order.
    pub windows: Vec<WindowResult>,
    /// Discarded batches.
    pub discards: Vec<Discard>,
    /// Stalled shards.
    pub stalls: Vec<Stall>,
    /// Records never read: before the starting position, or trimmed by retention.
    pub unread: Vec<Unread>,
    /// What the mapping's filters let through (`None`: no filters).
    pub filter: Option<crate::filter::FilterReport>,
    /// Whether the run was cancelled before the end.
    pub cancelled: bool,
    /// Handler warnings.
    pub warnings: Vec<String>,
    /// Records delivered successfully at least once.
    pub records_delivered: u64,
    /// Closed shards read to their end: `(shard, when)`, in processing order.
    pub shard_ends: Vec<(u32, i64)>,
    /// Renders the writes invocations flagged [`flags::DEFERRED_WRITE`] made.
    pub deferred: Option<Deferred>,
    /// How the shards were run (the trace is the same either way).
    pub ran_on: RanOn,
}

/// How a run's shards were run: the trace is the one a single thread makes either way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RanOn {
    /// In processing order on one thread.
    #[default]
    OneThread,
    /// Side by side on this many threads, each part with its own handler.
    Threads(u32),
    /// Split, then run again in order on one thread: an invocation read the stand-in table
    /// after another part's environment had written to it.
    InOrderAfterTableRead,
}

impl Trace {
    /// Invocation by 1-based number.
    pub fn get(&self, n: u32) -> Option<&Invocation> {
        self.invocations.get((n as usize).checked_sub(1)?)
    }

    /// Every write an invocation made: the handler's own, then the deferred one rendered now.
    pub fn writes<'a>(
        &self,
        stream: &Stream,
        inv: &'a Invocation,
    ) -> std::borrow::Cow<'a, [TableWrite]> {
        match &self.deferred {
            Some(d) if inv.flags & flags::DEFERRED_WRITE != 0 => {
                let mut all = inv.writes().to_vec();
                let shard_id = stream
                    .shards
                    .get(inv.shard as usize)
                    .map_or("", |s| s.id.as_str());
                let state = inv.state_out.as_ref().unwrap_or(&inv.state_in);
                all.push(d.0.write(shard_id, inv.window(), state, inv.is_early));
                std::borrow::Cow::Owned(all)
            }
            _ => std::borrow::Cow::Borrowed(inv.writes()),
        }
    }

    /// Bytes of memory the trace holds (for the memory budget).
    pub fn approx_bytes(&self) -> usize {
        self.invocations.capacity() * std::mem::size_of::<Invocation>()
            + self.windows.capacity() * std::mem::size_of::<WindowResult>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::stream::{InputRecord, StreamBuilder, StreamMeta};

    #[test]
    fn measured_durations_keep_zero_and_saturate() {
        let mut inv = invocation(1, 1, Status::Ok, None);
        assert_eq!(inv.measured_us(), None);
        for (us, back) in [
            (0, 0),
            (1, 1),
            (123_456, 123_456),
            (u64::MAX, u64::from(u32::MAX) - 1),
        ] {
            inv.set_measured_us(Some(us));
            assert_eq!(inv.measured_us(), Some(back));
        }
        inv.set_measured_us(None);
        assert_eq!(inv.measured_us(), None);
        assert!(std::mem::size_of::<Invocation>() <= 104);
    }

    fn invocation(n: u32, attempt: u32, status: Status, extra: Option<Extra>) -> Invocation {
        Invocation {
            n,
            shard: 1,
            shard_n: n,
            window_start_ms: 0,
            window_len_ms: 30_000,
            kind: Kind::Final,
            attempt,
            start_ms: 31_000,
            end_ms: 31_008,
            records: 2..4,
            reason: Reason::NextWindowRecord,
            status,
            is_final: true,
            is_early: false,
            flags: 0,
            state_in: State::from_map(serde_json::Map::from_iter([("sales".into(), 5.into())])),
            state_out: Some(State::from_map(serde_json::Map::from_iter([(
                "sales".into(),
                6.into(),
            )]))),
            measured: None,
            extra: extra.map(Arc::new),
        }
    }

    #[test]
    fn kinds_are_named_as_in_the_event_log() {
        assert_eq!(
            [Kind::Aggregate, Kind::Final, Kind::Early].map(Kind::name),
            ["aggregate", "final", "early"]
        );
    }

    #[test]
    fn an_invocation_rebuilds_its_request() {
        let mut b = StreamBuilder::new(crate::model::Source::Kinesis, 2, StreamMeta::default());
        for k in 0..6 {
            b.push(InputRecord {
                ts_ms: k,
                partition_key: "a".into(),
                shard: Some((k % 2) as u32),
                data: b"{}".to_vec(),
                ..Default::default()
            });
        }
        let stream = b.finish();
        let settings = Settings::default();
        let inv = invocation(7, 3, Status::Ok, None);
        let req = inv.request(&stream, &settings);
        assert_eq!(
            (req.shard, req.records.clone(), req.window),
            (1, 2..4, inv.window())
        );
        assert_eq!(
            (req.is_final, req.is_early, req.n, req.attempt, req.at_ms),
            (true, false, 7, 3, 31_000)
        );
        assert_eq!(req.state, &inv.state_in);
        assert!(inv.is_retry());
        assert!(!invocation(1, 1, Status::Ok, None).is_retry());
        assert_eq!((inv.record_range(), inv.record_count()), (2..4, 2));
    }

    #[test]
    fn the_response_is_the_raw_one_or_the_returned_state() {
        // A built-in's success: {"state": returned state}.
        let ok = invocation(1, 1, Status::Ok, None);
        assert_eq!(
            ok.response_json(),
            serde_json::json!({"state": {"sales": 6}})
        );
        // A failure without a response: null, whatever state is left over.
        let failed = invocation(1, 1, Status::Failed, Some(Extra::default()));
        assert_eq!(failed.response_json(), Value::Null);
        // A user handler's response is shown as it came.
        let raw = serde_json::json!({"state": {"sales": 6}, "extra": [1]});
        let user = invocation(
            1,
            1,
            Status::Ok,
            Some(Extra {
                raw_response: Some(raw.clone()),
                ..Extra::default()
            }),
        );
        assert_eq!(user.response_json(), raw);
        let none = Invocation {
            state_out: None,
            ..invocation(1, 1, Status::Ok, None)
        };
        assert_eq!(none.response_json(), Value::Null);
        // Errors, logs and writes come from the shared extra, empty without one.
        assert!(ok.error().is_none() && ok.logs().is_empty() && ok.writes().is_empty());
        let e = HandlerError::new("Boom", "bad");
        let with = invocation(
            1,
            1,
            Status::Failed,
            Some(Extra {
                error: Some(e.clone()),
                logs: vec!["l".into()],
                ..Extra::default()
            }),
        );
        assert_eq!(with.error(), Some(&e));
        assert_eq!(with.logs(), ["l"]);
    }

    #[test]
    fn invocations_are_found_by_their_one_based_number() {
        let trace = Trace {
            invocations: vec![
                invocation(1, 1, Status::Ok, None),
                invocation(2, 1, Status::Ok, None),
            ],
            ..Trace::default()
        };
        assert_eq!(trace.get(1).map(|i| i.n), Some(1));
        assert_eq!(trace.get(2).map(|i| i.n), Some(2));
        assert!(trace.get(0).is_none() && trace.get(3).is_none());
    }
}
