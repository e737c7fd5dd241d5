//! Re-running a big run in its own memory. A small run stays on screen while its re-run works
//! (and comes back if that is cancelled or fails). A big one cannot stay cheaply: its trace is
//! most of the process (a 10 M-record sparse stream's 8 M invocations are 850 MB), a second
//! trace beside it doubles that at the peak, and writing one into fresh memory costs a page
//! fault per 4 KB, which made such a re-run slower than the first run. So above
//! [`REUSE_TRACE_BYTES`] the run leaves the screen and the re-run writes its trace into the old
//! one's memory ([`crate::sim::simulate_reusing`]); if the re-run is cancelled or fails, the
//! old run is simulated again (its stream is still loaded) and shown as it was.

use std::sync::Arc;

use super::TumbleApp;
use super::jobs::{self, Spare};
use super::status::StatusLine;
use crate::model::stream::Stream;
use crate::run::RunSpec;
use crate::sim::{Invocation, TraceMemory};

/// Traces from this size up are re-run in their own memory: 256 MiB, about 2.6 M invocations.
pub const REUSE_TRACE_BYTES: usize = 256 << 20;

/// The bytes `n` invocations take in a trace.
fn trace_bytes(n: usize) -> usize {
    n.saturating_mul(size_of::<Invocation>())
}

/// A run taken off the screen for its re-run: what brings it back.
pub(super) struct Released {
    spec: RunSpec,
    stream: Arc<Stream>,
    /// Its invocations, for what the screen says meanwhile.
    invocations: usize,
    /// Set once it is being brought back: what to say when it is shown again.
    restoring: Option<StatusLine>,
}

impl Released {
    /// What stands in for the run on screen.
    pub(super) fn describe(&self) -> String {
        if self.restoring.is_some() {
            return "Simulating the last complete run again from the loaded stream…".into();
        }
        format!(
            "Re-running in the last run's memory: its {} invocations ({:.0} MB) are not held \
             twice. Cancel brings it back.",
            self.invocations,
            trace_bytes(self.invocations) as f64 / 1e6
        )
    }
}

impl TumbleApp {
    /// The run the next job starts from: its spec and stream (shown, or released for the job
    /// in flight).
    pub(super) fn previous_run(&self) -> Option<(RunSpec, Arc<Stream>)> {
        match (&self.run, &self.released) {
            (Some(r), _) => Some((r.spec.clone(), r.source.clone())),
            (None, Some(r)) => Some((r.spec.clone(), r.stream.clone())),
            (None, None) => None,
        }
    }

    /// The spec of the run on screen, or of the one released for the job in flight.
    pub(super) fn shown_spec(&self) -> Option<&RunSpec> {
        self.run
            .as_ref()
            .map(|r| &r.spec)
            .or(self.released.as_ref().map(|r| &r.spec))
    }

    /// Takes a big run off the screen for its re-run and returns its invocations, whose memory
    /// the re-run writes into; empty (nothing released) for a small run, or while anything
    /// else (a search, an export) still reads its trace.
    pub(super) fn release_for_rerun(&mut self) -> Spare {
        let big = self.run.as_ref().is_some_and(|r| {
            trace_bytes(r.trace.invocations.len()) >= self.reuse_trace_bytes
                && Arc::strong_count(&r.trace) == 1
        });
        if !big {
            return Spare::default();
        }
        let Some(mut run) = self.run.take() else {
            return Spare::default();
        };
        let trace = Arc::get_mut(&mut run.trace)
            .map(TraceMemory::take_from)
            .unwrap_or_default();
        // The plots' cache shares the index's series; the new run's come from this memory.
        self.plots.forget_series();
        let index = Arc::get_mut(&mut run.index)
            .map(std::mem::take)
            .unwrap_or_default();
        let spare = Spare { trace, index };
        self.released = Some(Released {
            spec: run.spec.clone(),
            stream: run.source.clone(),
            invocations: spare.trace.invocations.len(),
            restoring: None,
        });
        jobs::drop_off_thread(run);
        spare
    }

    /// The job in flight was cancelled or failed: a run released for it is simulated again,
    /// and `note` is said once it is back. False when no run was released (the last run is
    /// still on screen), or when it was already being brought back (then nothing is shown).
    pub(super) fn restore_released(&mut self, note: StatusLine) -> bool {
        let Some(released) = self.released.as_mut() else {
            return false;
        };
        if released.restoring.is_some() {
            self.released = None;
            self.pending_spec = None;
            return false;
        }
        released.restoring = Some(note);
        let spec = released.spec.clone();
        let previous = Some((spec.clone(), released.stream.clone()));
        self.pending_spec = Some(spec.clone());
        self.jobs.start(spec, previous, Spare::default());
        self.status = StatusLine::info(
            "Bringing back the last complete run (its memory went to the re-run)…",
        );
        true
    }

    /// The job in flight was cancelled: the last complete run stays, or comes back.
    pub(super) fn cancelled(&mut self) {
        let note = StatusLine::info("Cancelled; showing the last complete run.");
        if !self.restore_released(note.clone()) {
            self.status = match self.run {
                Some(_) => note,
                None => StatusLine::info("Cancelled; no run is shown. Press Run to run again."),
            };
        }
    }

    /// A run is shown: nothing is released any more. What to say instead of the run's summary
    /// when it is a run brought back.
    pub(super) fn shown_after_release(&mut self) -> Option<StatusLine> {
        self.released.take().and_then(|r| r.restoring)
    }
}
