//! After a failed batch: retry with backoff, discard to the on-failure destination (retries or
//! record age exhausted), or stop the shard where the simulator's limits say so.

use std::ops::Range;

use super::action::BatchArgs;
use super::engine::Engine;
use super::shard::Pending;
use crate::sim::trace::{Discard, Kind, Reason};

impl Engine<'_> {
    /// After a failure: retry later, discard (retries or record age exhausted), or stall.
    pub(super) fn retry_or_give_up(
        &mut self,
        idx: usize,
        n: u32,
        range: Range<usize>,
        b: &BatchArgs,
        reason: Reason,
    ) {
        let retries = b.retries + 1;
        let now = self.shards[idx].now;
        if b.kind == Kind::Aggregate
            && let Some(condition) = self.discard_condition(&range, retries, now)
        {
            self.discard(idx, n, &range, b.attempt, condition, now);
            return;
        }
        if let Some(why) = self.stop_reason(idx, &range, b) {
            self.stall(idx, n, why, range.len() as u32);
            return;
        }
        let backoff = self.settings.backoff_ms(retries);
        self.shards[idx].pending.push_front(Pending {
            range,
            attempt: b.attempt + 1,
            retries,
            not_before: now + backoff,
            reason,
            kind: b.kind,
        });
    }

    /// Why AWS discards a failed batch now, if it does: retries used up, or its oldest record
    /// past MaximumRecordAgeInSeconds.
    fn discard_condition(
        &self,
        range: &Range<usize>,
        retries: u32,
        now: i64,
    ) -> Option<&'static str> {
        let s = self.settings;
        let oldest = range
            .clone()
            .map(|i| self.stream.ts_ms[i])
            .min()
            .unwrap_or(now);
        let exhausted = s.max_retry_attempts >= 0 && retries > s.max_retry_attempts as u32;
        let too_old =
            s.max_record_age_s >= 0 && now - oldest > i64::from(s.max_record_age_s) * 1000;
        if exhausted {
            Some("RetryAttemptsExhausted")
        } else if too_old {
            Some("RecordAgeExceeded")
        } else {
            None
        }
    }

    pub(super) fn discard(
        &mut self,
        idx: usize,
        n: u32,
        range: &Range<usize>,
        attempts: u32,
        condition: &'static str,
        now: i64,
    ) {
        self.trace.discards.push(Discard {
            shard: idx as u32,
            records: range.start as u32..range.end as u32,
            at_ms: now,
            condition,
            invocation: n,
            attempts,
        });
        if let Some(open) = self.shards[idx].open.as_mut() {
            open.discarded += range.len() as u32;
        }
    }

    /// Where the simulator stops a shard AWS would keep retrying: a batch retried forever past
    /// `stall_after_attempts`, or any batch past the attempt limit.
    fn stop_reason(&self, idx: usize, range: &Range<usize>, b: &BatchArgs) -> Option<String> {
        let s = self.settings;
        // -1 is "infinite" for both (the settings allow nothing lower).
        let retries_forever = s.max_retry_attempts == -1 && s.max_record_age_s == -1;
        if (retries_forever || b.kind != Kind::Aggregate) && b.attempt >= s.stall_after_attempts {
            return Some(format!(
                "the batch of {} record(s) failed {} times; AWS would retry it {} and block the shard",
                range.len(),
                b.attempt,
                if b.kind == Kind::Aggregate {
                    "until it succeeds or its records expire (MaximumRetryAttempts and MaximumRecordAgeInSeconds are -1)"
                } else {
                    "until it succeeds"
                }
            ));
        }
        if b.attempt >= s.attempt_limit {
            let shard = &self.stream.shards[idx].id;
            return Some(format!(
                "stopped after {} attempts on {shard}: the batch of {} record(s) keeps failing \
                 (simulator limit: attempt limit {}); AWS would go on retrying it until {}",
                b.attempt,
                range.len(),
                s.attempt_limit,
                self.aws_retry_bound()
            ));
        }
        None
    }

    /// What ends AWS's retries of a failing batch under these settings, in words.
    pub(super) fn aws_retry_bound(&self) -> String {
        let age = self.settings.max_record_age_s;
        let retries = self.settings.max_retry_attempts;
        match (retries >= 0, age >= 0) {
            (true, true) => format!(
                "MaximumRetryAttempts ({retries}) runs out or its records are older than \
                 MaximumRecordAgeInSeconds ({age} s)"
            ),
            (true, false) => format!("MaximumRetryAttempts ({retries}) runs out"),
            (false, true) => {
                format!("its records are older than MaximumRecordAgeInSeconds ({age} s)")
            }
            (false, false) => "it succeeds".into(),
        }
    }
}
