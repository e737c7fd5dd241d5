//! Lambda's rules for a response: a missing or invalid `state`, `batchItemFailures` under
//! ReportBatchItemFailures, and what counts as a failed invocation.

use std::ops::Range;

use super::engine::Engine;
use crate::handlers::{HandlerError, Invoked, ItemFailure, ResponseState};
use crate::model::state::State;
use crate::sim::trace::Kind;

/// The evaluated outcome of one attempt.
pub(super) enum Outcome {
    Success(Option<State>),
    Partial { first_failed: usize, state: State },
    Failure(HandlerError),
}

impl Engine<'_> {
    /// Applies Lambda's response rules (SEMANTICS §5.2, §7.3, Q5, Q7).
    pub(super) fn evaluate(
        &self,
        invoked: &Invoked,
        kind: Kind,
        windowed: bool,
        range: &Range<usize>,
    ) -> Outcome {
        let resp = match &invoked.result {
            Err(e) => return Outcome::Failure(e.clone()),
            Ok(r) => r,
        };
        let state = match (&resp.state, windowed) {
            (_, false) => None,
            (ResponseState::Present(s), true) => Some(s.clone()),
            (ResponseState::Missing, true) => {
                if kind == Kind::Aggregate || self.settings.strict_final_state {
                    return Outcome::Failure(HandlerError::new(
                        "Tumblescope.MissingState",
                        "The response has no \"state\" property. With tumbling windows Lambda \
                         treats such a response as a failed invocation and retries the batch \
                         (AWS docs: \"your Lambda function response must contain a state \
                         property\").",
                    ));
                }
                None
            }
            (ResponseState::Invalid(msg), true) => {
                if kind == Kind::Aggregate || self.settings.strict_final_state {
                    return Outcome::Failure(HandlerError::new(
                        "Tumblescope.InvalidState",
                        format!("{msg}; Lambda fails the invocation."),
                    ));
                }
                None
            }
        };
        if self.settings.report_batch_item_failures
            && kind == Kind::Aggregate
            && !resp.batch_item_failures.is_empty()
        {
            let mut first: Option<usize> = None;
            for f in &resp.batch_item_failures {
                match f {
                    ItemFailure::Invalid(why) => {
                        return Outcome::Failure(HandlerError::new(
                            "Tumblescope.InvalidBatchItemFailures",
                            format!("{why}: Lambda treats the whole batch as failed"),
                        ));
                    }
                    ItemFailure::Id(id) => {
                        let pos = range.clone().find(|&i| self.stream.seq(i) == id.as_str());
                        match pos {
                            Some(p) => first = Some(first.map_or(p, |f| f.min(p))),
                            None => {
                                return Outcome::Failure(HandlerError::new(
                                    "Tumblescope.InvalidBatchItemFailures",
                                    format!(
                                        "itemIdentifier {id:?} is not a sequence number of this \
                                         batch: Lambda treats the whole batch as failed"
                                    ),
                                ));
                            }
                        }
                    }
                }
            }
            if let Some(first_failed) = first {
                return Outcome::Partial {
                    first_failed,
                    state: state.unwrap_or_default(),
                };
            }
        }
        Outcome::Success(state)
    }
}
