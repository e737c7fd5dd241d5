//! Room for the trace, made ready on the other core. The kernel hands a process new memory
//! zeroed on first touch, and on these machines zeroing the pages a sparse run's millions of
//! invocations land in costs the engine more than working them out. So once a run is a few
//! per cent in, the invocations it will need are estimated and a helper thread touches that
//! much memory while the engine goes on; the engine then moves what it has made into it and
//! writes the rest into memory that is already there. Only where the trace lives changes,
//! never what it holds.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crossbeam_channel::{Receiver, TryRecvError, bounded};

use super::trace::{Invocation, Kind, Reason, Status};
use crate::model::state::State;

/// Below this many records a run is over before room could be made.
const MIN_RECORDS: u64 = 200_000;
/// Share of the records read before the estimate is made (1/50: 2 %).
const SAMPLE: u64 = 50;

/// The engine's side of the helper: asked once, taken once.
#[derive(Default)]
pub(super) struct Room {
    asked: bool,
    ready: Option<Receiver<Vec<Invocation>>>,
    moved: bool,
    /// Invocations made so far, for the helper to give up once the room would come too late.
    made: Arc<AtomicUsize>,
}

impl Room {
    /// Called now and then with the records read of `total`: asks for room once enough of
    /// the run is known, and moves the trace into it once it is there.
    pub(super) fn tend(&mut self, done: u64, total: u64, invocations: &mut Vec<Invocation>) {
        self.made.store(invocations.len(), Ordering::Relaxed);
        if !self.asked {
            if total < MIN_RECORDS || done * SAMPLE < total || done == 0 {
                return;
            }
            self.asked = true;
            let made = invocations.len() as u64;
            // The rate so far, with a tenth to spare (what is not needed is never touched
            // past the estimate, and unused room is given back when the run ends).
            let want = (made * total / done) * 11 / 10 + 1024;
            if want <= invocations.capacity() as u64 * 2 {
                return;
            }
            self.ready = spawn(want as usize, self.made.clone());
            return;
        }
        let Some(rx) = &self.ready else {
            return;
        };
        match rx.try_recv() {
            Ok(mut room) => {
                self.ready = None;
                room.append(invocations);
                *invocations = room;
                self.moved = true;
            }
            Err(TryRecvError::Disconnected) => self.ready = None,
            Err(TryRecvError::Empty) => {}
        }
    }

    /// At the end of the run: touched room the run did not need is given back.
    pub(super) fn settle(&self, invocations: &mut Vec<Invocation>) {
        if self.moved {
            invocations.shrink_to_fit();
        }
    }
}

/// Starts the helper; `None` when no thread can start (the run goes on as before).
fn spawn(want: usize, made: Arc<AtomicUsize>) -> Option<Receiver<Vec<Invocation>>> {
    let (tx, rx) = bounded(1);
    std::thread::Builder::new()
        .name("tumblescope-room".into())
        .spawn(move || {
            let mut room = Vec::with_capacity(want);
            if touch(&mut room, || made.load(Ordering::Relaxed) > want * 2 / 5) {
                let _ = tx.send(room);
            }
        })
        .ok()?;
    Some(rx)
}

/// Writes one blank invocation per page of `room`'s spare capacity, so every page is mapped;
/// false (given up) once `late` says the engine made too much of its trace meanwhile: the
/// room would save little and, with the engine's own, hold the trace twice at the peak.
/// The length stays 0: nothing is initialised as far as the vector knows, and the blanks hold
/// nothing to free.
fn touch(room: &mut Vec<Invocation>, late: impl Fn() -> bool) -> bool {
    let per_page = (4096 / std::mem::size_of::<Invocation>()).max(1);
    let spare = room.spare_capacity_mut();
    for chunk in spare.chunks_mut(per_page * 1024) {
        if late() {
            return false;
        }
        for slot in chunk.iter_mut().step_by(per_page) {
            slot.write(blank());
        }
    }
    true
}

fn blank() -> Invocation {
    Invocation {
        n: 0,
        shard: 0,
        shard_n: 0,
        window_start_ms: 0,
        window_len_ms: 0,
        kind: Kind::Aggregate,
        attempt: 0,
        start_ms: 0,
        end_ms: 0,
        records: 0..0,
        reason: Reason::CaughtUp,
        status: Status::Ok,
        is_final: false,
        is_early: false,
        flags: 0,
        state_in: State::empty(),
        state_out: None,
        measured: None,
        extra: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_is_asked_for_once_a_sample_is_read_and_the_trace_moves_into_it_whole() {
        let mut room = Room::default();
        let mut invocations: Vec<Invocation> = (0..3000)
            .map(|k| Invocation {
                n: k + 1,
                ..blank()
            })
            .collect();
        room.tend(1000, 1_000_000, &mut invocations);
        assert!(!room.asked, "too early to estimate");
        room.tend(40_000, 1_000_000, &mut invocations);
        assert!(room.asked && room.ready.is_some());
        let rx = room.ready.take().unwrap();
        let ready = rx.recv().unwrap();
        let cap = ready.capacity();
        assert!(
            cap >= 3000 * 25 + 1024,
            "the run's rate, extrapolated: {cap}"
        );
        let (tx, rx) = bounded(1);
        tx.send(ready).unwrap();
        room.ready = Some(rx);
        room.tend(50_000, 1_000_000, &mut invocations);
        assert_eq!(invocations.capacity(), cap);
        assert_eq!(invocations.len(), 3000);
        assert!(
            invocations
                .iter()
                .enumerate()
                .all(|(k, i)| i.n == k as u32 + 1)
        );
        assert!(room.ready.is_none());
    }

    #[test]
    fn the_helper_gives_up_once_the_engine_is_too_far_on() {
        let mut room = Vec::with_capacity(100_000);
        assert!(!touch(&mut room, || true));
        assert!(touch(&mut room, || false));
        assert_eq!(room.len(), 0);
    }

    #[test]
    fn a_short_run_asks_for_nothing() {
        let mut room = Room::default();
        let mut invocations = Vec::new();
        room.tend(100_000, 150_000, &mut invocations);
        assert!(!room.asked && room.ready.is_none());
    }
}
