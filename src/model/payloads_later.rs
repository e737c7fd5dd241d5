//! Payloads the app shows (a table's rows, a tooltip) answered without waiting: a frame cannot
//! wait on a disk, nor on a reader holding the cache. What the caches hold is answered at
//! once; anything else is read on a background thread (`tumblescope-payloads`) that wakes the
//! UI when it is done, and the row says it is reading until then.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use super::payloads::InputFiles;

/// Payloads read for the UI kept at most (their number, their bytes): a few screens of rows.
/// Rows beyond this are read again when shown again, never in a loop: a frame asks each row
/// once.
const READY_MAX: usize = 2048;
const READY_BYTES: usize = 64 << 20;

/// Called when a read the UI waits for is done (the app asks for a repaint).
pub type Wake = Arc<dyn Fn() + Send + Sync>;

/// The background reader's queue and what it has read.
#[derive(Default)]
pub(super) struct Later {
    tx: Option<Sender<(u64, usize)>>,
    /// Offsets asked for and not read yet.
    asked: HashSet<u64>,
    ready: HashMap<u64, Vec<u8>>,
    /// `ready`'s offsets, oldest first.
    order: VecDeque<u64>,
    bytes: usize,
    wake: Option<Wake>,
}

impl Later {
    fn keep(&mut self, at: u64, bytes: Vec<u8>) {
        self.asked.remove(&at);
        self.bytes += bytes.len();
        if self.ready.insert(at, bytes).is_none() {
            self.order.push_back(at);
        }
        while self.ready.len() > READY_MAX || self.bytes > READY_BYTES {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some(b) = self.ready.remove(&old) {
                self.bytes -= b.len();
            }
        }
    }

    /// Queues a read, starting the reader on first use; false when no thread could start.
    fn ask(&mut self, files: Weak<InputFiles>, at: u64, len: usize) -> bool {
        if self.asked.contains(&at) {
            return true;
        }
        if self.tx.is_none() {
            let (tx, rx) = crossbeam_channel::unbounded::<(u64, usize)>();
            let started = std::thread::Builder::new()
                .name("tumblescope-payloads".into())
                .spawn(move || {
                    // Ends when the files are dropped (their sender with them).
                    while let Ok((at, len)) = rx.recv() {
                        let Some(files) = files.upgrade() else { return };
                        let bytes = files.read(at, len);
                        let wake = {
                            let mut later = lock(&files.later);
                            later.keep(at, bytes);
                            later.wake.clone()
                        };
                        if let Some(wake) = wake {
                            wake();
                        }
                    }
                });
            if started.is_err() {
                return false;
            }
            self.tx = Some(tx);
        }
        self.asked.insert(at);
        self.tx
            .as_ref()
            .is_some_and(|tx| tx.send((at, len)).is_ok())
    }
}

fn lock(m: &Mutex<Later>) -> MutexGuard<'_, Later> {
    // A panic elsewhere while holding it left nothing half-done that matters here.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl InputFiles {
    /// `len` bytes at `at` if they are at hand; else `None`, with the read queued on the
    /// background reader, which calls the wake function ([`Self::set_wake`]) when done. Empty
    /// bytes, as [`Self::read`] gives, once the files are known to have changed.
    pub fn read_or_queue(self: &Arc<Self>, at: u64, len: usize) -> Option<Vec<u8>> {
        if let Some(bytes) = self.cached(at, len) {
            return Some(bytes);
        }
        let mut later = lock(&self.later);
        if let Some(bytes) = later.ready.get(&at) {
            return Some(bytes.clone());
        }
        if self.fault().is_some() {
            return Some(Vec::new());
        }
        if later.ask(Arc::downgrade(self), at, len) {
            None
        } else {
            // No thread to read on: read here rather than never.
            drop(later);
            Some(self.read(at, len))
        }
    }

    /// Who to call when a queued read is done.
    pub fn set_wake(&self, wake: Wake) {
        lock(&self.later).wake = Some(wake);
    }

    /// Waits up to `timeout` until no queued read is left; whether none is (tests and
    /// screenshots; the UI never waits).
    pub fn wait_for_reads(&self, timeout: Duration) -> bool {
        let until = Instant::now() + timeout;
        loop {
            if lock(&self.later).asked.is_empty() {
                return true;
            }
            if Instant::now() >= until {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn files_with(text: &[u8], tag: &str) -> (Arc<InputFiles>, std::path::PathBuf) {
        let path = std::env::temp_dir().join(format!(
            "tumblescope-later-{tag}-{}.jsonl",
            std::process::id()
        ));
        std::fs::write(&path, text).unwrap();
        let mut files = InputFiles::default();
        files
            .add("t.jsonl", std::fs::File::open(&path).unwrap())
            .unwrap();
        (Arc::new(files), path)
    }

    #[test]
    fn a_payload_not_at_hand_is_read_in_the_background_and_the_ui_woken() {
        let text: Vec<u8> = (0..600_000u32).map(|k| b'a' + (k % 26) as u8).collect();
        let (files, path) = files_with(&text, "wake");
        let woken = Arc::new(AtomicU32::new(0));
        let w = woken.clone();
        files.set_wake(Arc::new(move || {
            w.fetch_add(1, Ordering::Relaxed);
        }));
        // Far into the file: no window holds it yet.
        let at = 500_000u64;
        assert_eq!(files.read_or_queue(at, 10), None);
        // Asked again before the read is done: queued once.
        let _ = files.read_or_queue(at, 10);
        assert!(files.wait_for_reads(Duration::from_secs(10)));
        assert_eq!(woken.load(Ordering::Relaxed), 1);
        let want = &text[at as usize..at as usize + 10];
        assert_eq!(files.read_or_queue(at, 10).as_deref(), Some(want));
        // The background read filled a window: its neighbours are at hand at once.
        assert_eq!(
            files.read_or_queue(at + 100, 5).as_deref(),
            Some(&text[at as usize + 100..at as usize + 105])
        );
        assert_eq!(woken.load(Ordering::Relaxed), 1);
        std::fs::remove_file(&path).ok();
    }

    #[test]
    fn a_changed_file_answers_empty_at_once_instead_of_reading_forever() {
        let (files, path) = files_with(&vec![b'x'; 400_000], "changed");
        std::fs::write(&path, b"shorter").unwrap();
        assert_eq!(files.read_or_queue(300_000, 4), None);
        assert!(files.wait_for_reads(Duration::from_secs(10)));
        assert!(files.fault().is_some());
        // What the reader found (nothing) is the answer, and nothing is queued again.
        assert_eq!(files.read_or_queue(300_000, 4), Some(Vec::new()));
        assert_eq!(files.read_or_queue(200_000, 4), Some(Vec::new()));
        assert!(lock(&files.later).asked.is_empty());
        std::fs::remove_file(&path).ok();
    }

    #[test]
    fn what_the_ui_was_given_is_bounded() {
        let mut later = Later::default();
        for k in 0..(READY_MAX as u64 + 10) {
            later.keep(k, vec![0; 8]);
        }
        assert_eq!(later.ready.len(), READY_MAX);
        assert!(!later.ready.contains_key(&0), "the oldest went first");
        later.keep(u64::MAX, vec![0; READY_BYTES]);
        assert!(later.bytes <= READY_BYTES);
        assert!(later.ready.contains_key(&u64::MAX));
    }
}
