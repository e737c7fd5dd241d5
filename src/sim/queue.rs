//! The shards' next steps, taken smallest `(time, shard)` first. Each shard has at most one
//! planned step, so with few shards a scan of one time per shard beats a binary heap: a sparse
//! run takes a step per invocation, and the heap's sifting and moving of keys cost more than
//! the whole fold of a built-in handler. Past [`SCAN_MAX`] shards (resharded streams keep
//! every shard they ever had) the heap's logarithm wins again.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Shards up to which the next step is found by a scan.
const SCAN_MAX: usize = 32;

pub(super) enum Queue {
    /// Each shard's planned time; `present` says which shards have one (bit per shard).
    Scan {
        at: Vec<i64>,
        present: u32,
    },
    Heap(BinaryHeap<Reverse<(i64, usize)>>),
}

impl Queue {
    pub(super) fn new(shards: usize) -> Self {
        if shards <= SCAN_MAX {
            Self::Scan {
                at: vec![0; shards],
                present: 0,
            }
        } else {
            Self::Heap(BinaryHeap::new())
        }
    }

    /// Plans shard `idx`'s next step at `at`; the shard has none planned.
    #[inline]
    pub(super) fn push(&mut self, at: i64, idx: usize) {
        match self {
            Self::Scan { at: times, present } => {
                debug_assert!(*present & (1 << idx) == 0, "one step per shard");
                times[idx] = at;
                *present |= 1 << idx;
            }
            Self::Heap(heap) => heap.push(Reverse((at, idx))),
        }
    }

    /// The smallest planned `(time, shard)`, taken off the queue. Inlined: returned through
    /// memory, the pair was read back wider than it was written, a stall per step.
    #[inline]
    pub(super) fn pop(&mut self) -> Option<(i64, usize)> {
        match self {
            Self::Scan { at, present } => {
                if *present == 0 {
                    return None;
                }
                let mut bits = *present;
                let mut best = bits.trailing_zeros() as usize;
                let mut best_at = at[best];
                bits &= bits - 1;
                while bits != 0 {
                    let idx = bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    // Strictly earlier only: ties go to the lower shard, as in the heap. Which
                    // shard wins changes every step, so this is written to compile to
                    // conditional moves rather than a branch that is mispredicted half the time.
                    let t = at[idx];
                    let earlier = t < best_at;
                    best_at = if earlier { t } else { best_at };
                    best = if earlier { idx } else { best };
                }
                *present &= !(1 << best);
                Some((best_at, best))
            }
            Self::Heap(heap) => heap.pop().map(|Reverse(k)| k),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both forms take the same steps in the same order, ties to the lower shard.
    #[test]
    fn the_scan_takes_steps_in_the_heaps_order() {
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let shards = 20;
        let mut scan = Queue::new(shards);
        let mut heap = Queue::Heap(BinaryHeap::new());
        for idx in 0..shards {
            let at = (next() % 5) as i64;
            scan.push(at, idx);
            heap.push(at, idx);
        }
        for _ in 0..5_000 {
            let a = scan.pop();
            assert_eq!(a, heap.pop());
            let Some((at, idx)) = a else { break };
            if next() % 7 != 0 {
                let later = at + (next() % 3) as i64;
                scan.push(later, idx);
                heap.push(later, idx);
            }
        }
        assert!(matches!(scan, Queue::Scan { .. }));
    }
}
