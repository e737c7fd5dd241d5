//! Payload bytes left in the input files. A record whose payload is written verbatim in a JSON
//! Lines file keeps only where it lies there: holding the bytes too would keep a ten-million-
//! order file in memory twice (the page cache has it already), and copying them is a fifth of
//! loading. Files are kept open, so an editor's save-by-rename leaves our copy intact; a file
//! changed in place is noticed (its length or modification time moved) and reported as a fault
//! instead of serving different bytes.

use std::fs::File;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::SystemTime;

/// Set on a `payload_starts` entry whose bytes are in [`InputFiles`] (the rest of the value is
/// the offset in the files laid end to end); clear for bytes in the stream's own arena.
pub const IN_FILE: u64 = 1 << 63;

/// Bytes read per cache window: one read serves the payloads of a few thousand neighbouring
/// records, which is how events (records close in time) and scans (file order) ask for them.
const WINDOW: usize = 256 << 10;
/// Windows kept for [`InputFiles::read`]: a few runtimes reading different parts of the file
/// at once do not evict each other.
const WINDOWS: usize = 8;
/// Single payloads remembered by [`InputFiles::read`], by offset: the rows a panel shows are
/// asked for again on every frame, and rows from all over the file (Find's matches) would
/// otherwise evict each other's windows and cost a window's read each, frame after frame.
const RECENT: usize = 256;
/// The longest payload remembered on its own.
const RECENT_MAX: usize = 4096;

/// The input files a stream's payloads stay in.
#[derive(Default)]
pub struct InputFiles {
    files: Vec<InputFile>,
    cache: Mutex<Cache>,
    fault: OnceLock<String>,
    /// Reads from the files so far (what the caches are there to keep low).
    reads: AtomicU64,
    /// Reads for the UI on a background thread ([`InputFiles::read_or_queue`]).
    pub(super) later: Mutex<super::payloads_later::Later>,
}

#[derive(Default)]
struct Cache {
    windows: Vec<Window>,
    /// Direct-mapped by offset: (offset, bytes).
    recent: Vec<Option<(u64, Vec<u8>)>>,
}

impl Cache {
    fn slot(at: u64) -> usize {
        (at.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize % RECENT
    }

    fn recent(&self, at: u64, len: usize) -> Option<&[u8]> {
        match self.recent.get(Self::slot(at))? {
            Some((a, bytes)) if *a == at && bytes.len() == len => Some(bytes),
            _ => None,
        }
    }

    /// What the caches hold of `len` bytes at `at` (the window serving it counts as used).
    fn serve(&mut self, at: u64, len: usize) -> Option<Vec<u8>> {
        if let Some(bytes) = self.recent(at, len) {
            return Some(bytes.to_vec());
        }
        let tick = self.windows.iter().map(|w| w.used).max().unwrap_or(0) + 1;
        let w = self.windows.iter_mut().find(|w| w.covers(at, len))?;
        w.used = tick;
        Some(w.slice(at, len).to_vec())
    }

    /// A window just read, in the place of the least recently used one when all are taken.
    fn keep_window(&mut self, at: u64, bytes: Vec<u8>) {
        let used = self.windows.iter().map(|w| w.used).max().unwrap_or(0) + 1;
        let fresh = Window { at, bytes, used };
        if self.windows.len() < WINDOWS {
            self.windows.push(fresh);
        } else if let Some(old) = self.windows.iter_mut().min_by_key(|w| w.used) {
            *old = fresh;
        }
    }

    fn remember(&mut self, at: u64, bytes: &[u8]) {
        if bytes.len() > RECENT_MAX {
            return;
        }
        if self.recent.is_empty() {
            self.recent.resize(RECENT, None);
        }
        self.recent[Self::slot(at)] = Some((at, bytes.to_vec()));
    }
}

struct InputFile {
    name: String,
    file: File,
    /// Where this file starts among the files laid end to end.
    base: u64,
    len: u64,
    modified: Option<SystemTime>,
}

struct Window {
    at: u64,
    bytes: Vec<u8>,
    used: u64,
}

impl std::fmt::Debug for InputFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.files.iter().map(|f| f.name.as_str()).collect();
        f.debug_struct("InputFiles").field("files", &names).finish()
    }
}

/// Two streams' payloads are the same when they lie in the same places of the same files.
impl PartialEq for InputFiles {
    fn eq(&self, other: &Self) -> bool {
        self.files.len() == other.files.len()
            && self
                .files
                .iter()
                .zip(&other.files)
                .all(|(a, b)| (&a.name, a.base, a.len) == (&b.name, b.base, b.len))
    }
}

impl InputFiles {
    /// Adds an open file (before reading it, so a change made while loading shows); returns
    /// where its bytes start among the files laid end to end.
    pub fn add(&mut self, name: &str, file: File) -> std::io::Result<u64> {
        let meta = file.metadata()?;
        let base = self.files.last().map_or(0, |f| f.base + f.len);
        self.files.push(InputFile {
            name: name.to_owned(),
            file,
            base,
            len: meta.len(),
            modified: meta.modified().ok(),
        });
        Ok(base)
    }

    /// Whether no file was added.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Why payloads could not be read, once one could not.
    pub fn fault(&self) -> Option<&str> {
        self.fault.get().map(String::as_str)
    }

    /// `len` bytes at `at`, through the shared caches; empty (and a fault recorded) when the
    /// file cannot give them as they were. Bytes read before the file changed are still the
    /// bytes as loaded, so the caches go on serving them. The caches are not held while the
    /// file is read: a caller that only wants what they hold ([`Self::cached`], the UI) never
    /// waits behind another's read.
    pub fn read(&self, at: u64, len: usize) -> Vec<u8> {
        let Ok(mut cache) = self.cache.lock() else {
            return self.read_direct(at, len);
        };
        if let Some(bytes) = cache.serve(at, len) {
            return bytes;
        }
        drop(cache);
        if len > WINDOW {
            return self.read_direct(at, len);
        }
        let mut bytes = Vec::new();
        if !self.fill(at, WINDOW, &mut bytes) || bytes.len() < len {
            return Vec::new();
        }
        let out = bytes[..len].to_vec();
        if let Ok(mut cache) = self.cache.lock() {
            cache.keep_window(at, bytes);
            // A payload that needed a read of its own is remembered on its own too (one a
            // window serves costs no read, and a pass in file order is served by windows).
            cache.remember(at, &out);
        }
        out
    }

    /// `len` bytes at `at` if a cache holds them; `None` when none does, or when another
    /// thread holds the caches (a caller that cannot wait does not).
    pub fn cached(&self, at: u64, len: usize) -> Option<Vec<u8>> {
        self.peek(at, len, <[u8]>::to_vec)
    }

    /// Whether a cache holds `len` bytes at `at` ([`Self::cached`] without the copy).
    pub fn holds(&self, at: u64, len: usize) -> bool {
        self.peek(at, len, |_| ()).is_some()
    }

    fn peek<R>(&self, at: u64, len: usize, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        let cache = self.cache.try_lock().ok()?;
        if let Some(bytes) = cache.recent(at, len) {
            return Some(f(bytes));
        }
        let w = cache.windows.iter().find(|w| w.covers(at, len))?;
        Some(f(w.slice(at, len)))
    }

    /// Reads from the files so far.
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// Replaces `out` with the `len` bytes at `at`; false (a fault recorded) when the file
    /// cannot give them as they were.
    pub fn read_into(&self, at: u64, len: usize, out: &mut Vec<u8>) -> bool {
        self.fill(at, len, out) && out.len() == len
    }

    fn read_direct(&self, at: u64, len: usize) -> Vec<u8> {
        let mut out = Vec::new();
        if !self.read_into(at, len, &mut out) {
            out.clear();
        }
        out
    }

    /// Replaces `out` with up to `want` bytes at `at` (fewer at the end of a file); false, with
    /// a fault recorded, when the file changed or could not be read.
    fn fill(&self, at: u64, want: usize, out: &mut Vec<u8>) -> bool {
        let Some(f) = self.file_at(at) else {
            return self.failed("a payload lies outside the files it was loaded from".into());
        };
        match f.unchanged() {
            Ok(true) => {}
            Ok(false) => {
                return self.failed(format!(
                    "{} changed after it was loaded; load it again to see its records",
                    f.name
                ));
            }
            Err(e) => return self.failed(format!("{}: {e}", f.name)),
        }
        let offset = at - f.base;
        let n = want.min((f.len - offset) as usize);
        // Every byte is read over; only room the buffer never had is zeroed.
        out.resize(n, 0);
        self.reads.fetch_add(1, Ordering::Relaxed);
        match read_exact_at(&f.file, out, offset) {
            Ok(()) => true,
            Err(e) => self.failed(format!("{}: {e}", f.name)),
        }
    }

    fn failed(&self, why: String) -> bool {
        let _ = self.fault.set(why);
        false
    }

    fn file_at(&self, at: u64) -> Option<&InputFile> {
        let k = self
            .files
            .partition_point(|f| f.base <= at)
            .checked_sub(1)?;
        let f = &self.files[k];
        (at < f.base + f.len).then_some(f)
    }
}

impl InputFile {
    fn unchanged(&self) -> std::io::Result<bool> {
        let meta = self.file.metadata()?;
        Ok(meta.len() == self.len && meta.modified().ok() == self.modified)
    }
}

impl Window {
    fn covers(&self, at: u64, len: usize) -> bool {
        at >= self.at && at + len as u64 <= self.at + self.bytes.len() as u64
    }

    fn slice(&self, at: u64, len: usize) -> &[u8] {
        let from = (at - self.at) as usize;
        &self.bytes[from..from + len]
    }
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> std::io::Result<()> {
    while !buf.is_empty() {
        match std::os::windows::fs::FileExt::seek_read(file, buf, offset)? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => {
                buf = &mut std::mem::take(&mut buf)[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}

/// Payloads read in bulk, in file order, with a buffer of its own (no lock, no copy per
/// record): for passes over every record (columns, filters, searches).
pub struct PayloadReader<'s> {
    stream: &'s super::stream::Stream,
    buf: Vec<u8>,
    at: u64,
}

impl<'s> PayloadReader<'s> {
    pub(crate) fn new(stream: &'s super::stream::Stream) -> Self {
        Self {
            stream,
            buf: Vec::new(),
            at: 0,
        }
    }

    /// Record `i`'s payload (empty, with the stream's fault set, when its file changed).
    pub fn get(&mut self, i: usize) -> &[u8] {
        let (start, len) = (
            self.stream.payload_starts[i],
            self.stream.payload_lens[i] as usize,
        );
        if start & IN_FILE == 0 {
            let start = start as usize;
            return &self.stream.payload[start..start + len];
        }
        let Some(files) = self.stream.payload_files.as_ref().filter(|_| len > 0) else {
            return &[];
        };
        let at = start & !IN_FILE;
        let end = at + len as u64;
        if at < self.at || end > self.at + self.buf.len() as u64 {
            self.at = at;
            if !files.fill(at, (4 * WINDOW).max(len), &mut self.buf) || self.buf.len() < len {
                self.buf.clear();
                return &[];
            }
        }
        let from = (at - self.at) as usize;
        &self.buf[from..from + len]
    }
}

impl super::stream::Stream {
    /// Record indices in the order their payloads lie: held bytes first, in arena order, then
    /// the file's, in file order. Each shard keeps input order, so merging the shards' runs
    /// gives it without sorting ten million offsets; anything else is sorted.
    pub fn payload_order(&self) -> Vec<u32> {
        let starts = &self.payload_starts;
        let runs_sorted = self
            .shards
            .iter()
            .all(|s| starts[s.range.clone()].is_sorted());
        if starts.is_sorted() || !runs_sorted || self.shards.len() > 1024 {
            let mut order: Vec<u32> = (0..self.len() as u32).collect();
            if !starts.is_sorted() {
                order.sort_unstable_by_key(|&i| starts[i as usize]);
            }
            return order;
        }
        let mut heads: std::collections::BinaryHeap<std::cmp::Reverse<(u64, usize, usize)>> = self
            .shards
            .iter()
            .filter(|s| !s.range.is_empty())
            .map(|s| std::cmp::Reverse((starts[s.range.start], s.range.start, s.range.end)))
            .collect();
        let mut order = Vec::with_capacity(self.len());
        while let Some(mut top) = heads.peek_mut() {
            let (_, i, end) = top.0;
            order.push(i as u32);
            if i + 1 < end {
                top.0 = (starts[i + 1], i + 1, end);
            } else {
                std::collections::binary_heap::PeekMut::pop(top);
            }
        }
        order
    }

    /// `f(i, payload)` for every record, by record index. Payloads left in a file are read in
    /// file order (`order`, from [`Self::payload_order`], or computed), so the file is read
    /// once; the work is split over two threads (this machine class has two cores).
    pub fn map_payloads<T: Send + Default + Clone>(
        &self,
        order: Option<&[u32]>,
        f: impl Fn(usize, &[u8]) -> T + Sync,
    ) -> Vec<T> {
        let n = self.len();
        let in_file = self.payload_files.is_some();
        let computed;
        let order: Option<&[u32]> = match order {
            _ if !in_file => None,
            Some(o) => Some(o),
            None => {
                computed = self.payload_order();
                Some(&computed)
            }
        };
        let index = |k: usize| order.map_or(k, |o| o[k] as usize);
        let part = |range: std::ops::Range<usize>| {
            let mut reader = self.payload_reader();
            range
                .map(|k| {
                    let i = index(k);
                    f(i, reader.get(i))
                })
                .collect::<Vec<T>>()
        };
        let mid = n / 2;
        let (mut first, second) = std::thread::scope(|s| {
            let h = std::thread::Builder::new()
                .name("tumblescope-payloads".into())
                .spawn_scoped(s, || part(mid..n));
            let first = part(0..mid);
            let second = match h {
                Ok(h) => h.join().unwrap_or_else(|_| part(mid..n)),
                Err(_) => part(mid..n),
            };
            (first, second)
        });
        first.extend(second);
        let Some(order) = order else {
            return first;
        };
        let mut out = vec![T::default(); n];
        for (k, v) in first.into_iter().enumerate() {
            out[order[k] as usize] = v;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::PathBuf;

    use crate::ingest::{LoadControl, LoadOptions, load_paths};
    use crate::model::stream::Stream;

    fn scratch(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!(
            "tumblescope-payloads-{}-{name}",
            std::process::id()
        ))
    }

    /// `n` orders lines with payloads of varied length, keyed `tag-i`; every seventh is spaced
    /// out (compacted when loaded, so not verbatim in the file). Returns the text and each
    /// key's payload as the stream should give it.
    fn orders(n: usize, tag: &str) -> (String, HashMap<String, String>) {
        let (mut text, mut want) = (String::new(), HashMap::new());
        for i in 0..n {
            let key = format!("{tag}-{i}");
            let pad = "é".repeat(i % 13);
            let (written, loaded) = if i % 7 == 3 {
                let d = format!(r#"{{"Item":{{"sales":{i},"note":"{pad}"}}}}"#);
                (d.replace(':', ": "), d)
            } else {
                let d = format!(r#"{{"Item":{{"sales":{i},"note":"{pad}x"}}}}"#);
                (d.clone(), d)
            };
            let line = format!(
                r#"{{"timestamp":{},"partitionKey":"{key}","data":{written}}}"#,
                1_767_268_800 + i / 50
            );
            text.push_str(&line);
            text.push('\n');
            want.insert(key, loaded);
        }
        (text, want)
    }

    /// `n` orders written to a scratch file `name` and loaded: the text, each key's payload,
    /// the path and the stream.
    fn loaded(
        n: usize,
        tag: &str,
        name: &str,
    ) -> (String, HashMap<String, String>, PathBuf, Stream) {
        let (text, want) = orders(n, tag);
        let path = scratch(name);
        std::fs::write(&path, &text).unwrap();
        let s = load(std::slice::from_ref(&path));
        (text, want, path, s)
    }

    fn load(paths: &[PathBuf]) -> Stream {
        let opts = LoadOptions {
            shards: 4,
            ..LoadOptions::default()
        };
        load_paths(paths, &opts, &mut LoadControl::default())
            .unwrap()
            .0
    }

    fn assert_payloads(s: &Stream, want: &HashMap<String, String>) {
        assert_eq!(s.len(), want.len());
        for i in 0..s.len() {
            let expected = &want[s.partition_key(i)];
            assert_eq!(*s.payload(i), *expected.as_bytes(), "record {i}");
            let n: usize = s
                .partition_key(i)
                .rsplit('-')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            let spaced = n % 7 == 3;
            assert_eq!(s.payload_in_file(i), !spaced, "record {i}");
        }
        let order = s.payload_order();
        let mut reader = s.payload_reader();
        for &i in &order {
            let i = i as usize;
            assert_eq!(reader.get(i), want[s.partition_key(i)].as_bytes());
        }
        let lens = s.map_payloads(None, |i, bytes| (i, bytes.to_vec()));
        for (i, (at, bytes)) in lens.into_iter().enumerate() {
            assert_eq!((at, bytes), (i, s.payload(i).into_owned()));
        }
    }

    #[test]
    fn payloads_left_in_the_files_read_back_exactly_as_written() {
        // The first file is more than one loading block, so offsets cross blocks and pieces.
        let (big, mut want) = orders(80_000, "a");
        assert!(big.len() > 8 << 20, "more than one 8 MB block");
        let (small, more) = orders(500, "b");
        want.extend(more);
        let paths = [scratch("big.jsonl"), scratch("small.jsonl")];
        std::fs::write(&paths[0], &big).unwrap();
        std::fs::write(&paths[1], &small).unwrap();
        let s = load(&paths);
        assert!(s.payload_files.is_some());
        assert_payloads(&s, &want);
        let order = s.payload_order();
        assert!(order.windows(2).all(|w| {
            let (a, b) = (
                s.payload_starts[w[0] as usize],
                s.payload_starts[w[1] as usize],
            );
            a < b
        }));
        assert_eq!(s.payload_fault(), None);
        for p in &paths {
            std::fs::remove_file(p).ok();
        }
    }

    #[test]
    fn a_file_changed_in_place_is_a_fault_not_other_bytes() {
        let (text, _, path, s) = loaded(200, "c", "changed.jsonl");
        assert!(s.payload_in_file(0));
        std::fs::write(&path, text.replace("sales", "SALES!")).unwrap();
        assert!(s.payload(0).is_empty(), "no bytes rather than other bytes");
        assert!(s.payload_reader().get(1).is_empty());
        let why = s.payload_fault().expect("the change is reported");
        assert!(
            why.contains("changed.jsonl") && why.contains("changed after"),
            "{why}"
        );
        std::fs::remove_file(&path).ok();
    }

    #[cfg(unix)]
    #[test]
    fn a_file_replaced_by_rename_keeps_the_payloads_loaded() {
        // What editors do on save: write a new file, rename it over the old one. The stream
        // holds the old file open, so it still reads what it loaded.
        let (text, want, path, s) = loaded(300, "d", "renamed.jsonl");
        let next = scratch("renamed.jsonl.new");
        std::fs::write(&next, text.replace("sales", "units")).unwrap();
        std::fs::rename(&next, &path).unwrap();
        assert_payloads(&s, &want);
        assert_eq!(s.payload_fault(), None);
        std::fs::remove_file(&path).ok();
    }

    #[test]
    fn rows_from_all_over_the_file_asked_for_again_are_not_read_again() {
        // What a panel does each frame: the same few payloads, far apart (more of them than
        // there are windows), asked for again and again.
        let (_, want, path, s) = loaded(80_000, "e", "rows.jsonl");
        let files = s.payload_files.clone().unwrap();
        let order = s.payload_order();
        let rows: Vec<usize> = order
            .iter()
            .step_by(s.len() / 20)
            .map(|&i| i as usize)
            .collect();
        assert!(rows.len() > super::WINDOWS);
        let frame = || {
            for &i in &rows {
                assert_eq!(
                    *s.payload(i),
                    *want[s.partition_key(i)].as_bytes(),
                    "record {i}"
                );
            }
        };
        frame();
        frame();
        let settled = files.reads();
        for _ in 0..5 {
            frame();
        }
        assert_eq!(files.reads(), settled, "no read after the rows were seen");
        assert!(settled <= 2 * rows.len() as u64, "{settled} reads");
        std::fs::remove_file(&path).ok();
    }
}
