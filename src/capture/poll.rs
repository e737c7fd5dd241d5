//! The read loop both sources share: one reader per shard, each read no sooner than the pace
//! allows, every shard followed to its end, children found on the way read too.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::aws::Failure;
use super::files::{ShardFile, write_files};
use super::{Captured, Options, Progress, Stopped, Target};

/// Kinesis allows 5 GetRecords per second per shard: one read per 200 ms.
const READ_GAP: Duration = Duration::from_millis(200);
/// A caught-up shard is read once a second, as Lambda's poller does.
const IDLE_GAP: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// A shard as ListShards / DescribeStream describe it.
#[derive(Clone, Debug)]
pub(super) struct ShardInfo {
    pub id: String,
    pub parents: Vec<String>,
    /// `(StartingHashKey, EndingHashKey)` (Kinesis).
    pub hash_range: Option<(String, String)>,
    /// `EndingSequenceNumber`: present once the shard is closed.
    pub ending_seq: Option<String>,
}

/// Where a shard iterator points.
pub(super) enum Start<'a> {
    Position(super::From),
    After(&'a str),
}

/// A record read: the CLI's JSON, its arrival time (epoch ms) and sequence number.
pub(super) struct Read {
    pub json: Value,
    pub ts_ms: i64,
    pub seq: String,
}

/// One GetRecords response.
pub(super) struct Page {
    pub records: Vec<Read>,
    pub next: Option<String>,
    pub behind_ms: Option<i64>,
    /// `ChildShards`, when the response has them (Kinesis at a shard's end).
    pub children: Option<Vec<Value>>,
}

/// A stream service, read-only.
pub(super) trait Api {
    async fn shards(&self) -> Result<Vec<ShardInfo>, String>;
    async fn iterator(&self, shard: &str, start: Start<'_>) -> Result<Option<String>, Failure>;
    async fn page(&self, iterator: &str) -> Result<Page, Failure>;
}

struct Reader {
    info: ShardInfo,
    file: ShardFile,
    iterator: Option<String>,
    last_seq: Option<String>,
    due: Instant,
    backoff: Duration,
    done: bool,
}

/// Runs a capture of `options.target`: builds a runtime, reads, writes the files.
pub(super) fn capture(
    options: &Options,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Captured, String> {
    super::check(options)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the network runtime: {e}"))?;
    rt.block_on(async {
        let config = super::aws::config(&options.connection).await?;
        let context = super::aws::context(&config, &options.connection, &options.target);
        match &options.target {
            Target::Kinesis { stream } => {
                let api = super::kinesis::Kinesis::new(&config, stream, context);
                Poller::new(options, cancel, progress).run(&api).await
            }
            Target::DynamodbTable { .. } | Target::DynamodbStream { .. } => {
                let api = super::dynamodb::Dynamodb::new(&config, &options.target, context).await?;
                Poller::new(options, cancel, progress).run(&api).await
            }
        }
    })
}

struct Poller<'a> {
    options: &'a Options,
    cancel: &'a AtomicBool,
    progress: &'a mut dyn FnMut(&Progress),
    readers: Vec<Reader>,
    total: u64,
    started: Instant,
    /// Lineage as listed: children of each shard.
    listed: Vec<ShardInfo>,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Whether sequence number `a` is at or past `b` (decimal strings of any length).
fn seq_at_or_past(a: &str, b: &str) -> bool {
    (a.len(), a) >= (b.len(), b)
}

impl<'a> Poller<'a> {
    fn new(
        options: &'a Options,
        cancel: &'a AtomicBool,
        progress: &'a mut dyn FnMut(&Progress),
    ) -> Self {
        Poller {
            options,
            cancel,
            progress,
            readers: Vec::new(),
            total: 0,
            started: Instant::now(),
            listed: Vec::new(),
        }
    }

    async fn run<A: Api>(mut self, api: &A) -> Result<Captured, String> {
        self.listed = api.shards().await?;
        for info in self.listed.clone() {
            self.add_reader(api, info).await?;
        }
        self.started = Instant::now();
        let stopped = self.read_all(api).await?;
        let stem = self.options.target.file_stem();
        let shards: Vec<ShardFile> = self.readers.into_iter().map(|r| r.file).collect();
        let (files, summary) = write_files(&self.options.out, &stem, &shards)?;
        Ok(Captured {
            files,
            summary,
            records: self.total,
            stopped,
        })
    }

    async fn add_reader<A: Api>(&mut self, api: &A, info: ShardInfo) -> Result<(), String> {
        let iterator = match api
            .iterator(&info.id, Start::Position(self.options.from))
            .await
        {
            Ok(it) => it,
            Err(Failure::Fatal(m)) => return Err(m),
            Err(_) => return Err(format!("GetShardIterator {}: throttled", info.id)),
        };
        self.push_reader(info, iterator);
        Ok(())
    }

    fn push_reader(&mut self, info: ShardInfo, iterator: Option<String>) {
        let file = ShardFile {
            id: info.id.clone(),
            parents: info.parents.clone(),
            ..Default::default()
        };
        self.readers.push(Reader {
            info,
            file,
            iterator,
            last_seq: None,
            due: Instant::now(),
            backoff: READ_GAP,
            done: false,
        });
    }

    fn stop_reached(&self) -> Option<Stopped> {
        let stop = &self.options.stop;
        if self.cancel.load(Ordering::Relaxed) {
            Some(Stopped::Cancelled)
        } else if stop.records.is_some_and(|n| self.total >= n) {
            Some(Stopped::Records)
        } else if stop.duration.is_some_and(|d| self.started.elapsed() >= d) {
            Some(Stopped::Duration)
        } else {
            None
        }
    }

    async fn read_all<A: Api>(&mut self, api: &A) -> Result<Stopped, String> {
        loop {
            if let Some(s) = self.stop_reached() {
                return Ok(s);
            }
            let Some(k) = (0..self.readers.len())
                .filter(|&k| !self.readers[k].done)
                .min_by_key(|&k| self.readers[k].due)
            else {
                return Ok(Stopped::AllRead);
            };
            let wait = self.readers[k]
                .due
                .saturating_duration_since(Instant::now());
            if !wait.is_zero() {
                // In slices, so Cancel and --duration act within a tenth of a second.
                tokio::time::sleep(wait.min(Duration::from_millis(100))).await;
                continue;
            }
            self.read_one(api, k).await?;
            self.report();
        }
    }

    async fn read_one<A: Api>(&mut self, api: &A, k: usize) -> Result<(), String> {
        let Some(it) = self.readers[k].iterator.clone() else {
            self.end_shard(k, None);
            return Ok(());
        };
        let page = match api.page(&it).await {
            Ok(page) => page,
            Err(Failure::Throttled) => {
                let r = &mut self.readers[k];
                r.backoff = (r.backoff * 2).min(MAX_BACKOFF);
                r.due = Instant::now() + r.backoff;
                return Ok(());
            }
            Err(Failure::Expired) => {
                let r = &self.readers[k];
                let start = match &r.last_seq {
                    Some(seq) => Start::After(seq),
                    None => Start::Position(self.options.from),
                };
                let fresh = api.iterator(&r.info.id, start).await.map_err(|f| match f {
                    Failure::Fatal(m) => m,
                    _ => format!(
                        "GetShardIterator {}: the iterator expired and could not be renewed",
                        r.info.id
                    ),
                })?;
                self.readers[k].iterator = fresh;
                return Ok(());
            }
            Err(Failure::Fatal(m)) => return Err(m),
        };
        self.take_records(k, &page);
        let caught_up = page.records.is_empty() && page.behind_ms.unwrap_or(0) == 0;
        let drained = caught_up && self.drained(k, &page);
        let r = &mut self.readers[k];
        r.backoff = READ_GAP;
        r.file.behind_ms = page.behind_ms.or(r.file.behind_ms);
        match page.next {
            None => {
                self.end_shard(k, page.children);
                self.follow_children(api, k).await?;
            }
            Some(next) => {
                r.iterator = Some(next);
                r.file.next = r.iterator.clone();
                r.due = Instant::now() + if caught_up { IDLE_GAP } else { READ_GAP };
                if drained {
                    // Emulators keep giving a closed shard's iterator; drained is the end.
                    self.end_shard(k, None);
                } else if caught_up && self.options.stop.until_ms.is_some_and(|u| now_ms() > u) {
                    self.readers[k].done = true;
                }
            }
        }
        Ok(())
    }

    /// A closed shard read past its last record: the service said how far behind (none), or
    /// the last sequence number read is the shard's ending one.
    fn drained(&self, k: usize, page: &Page) -> bool {
        let r = &self.readers[k];
        let Some(ending) = &r.info.ending_seq else {
            return false;
        };
        page.behind_ms == Some(0)
            || r.last_seq
                .as_deref()
                .is_some_and(|s| seq_at_or_past(s, ending))
    }

    fn take_records(&mut self, k: usize, page: &Page) {
        let stop = self.options.stop;
        let skip_before = match self.options.from {
            super::From::AtTimestamp(ms)
                if !matches!(self.options.target, Target::Kinesis { .. }) =>
            {
                Some(ms)
            }
            _ => None,
        };
        let r = &mut self.readers[k];
        for rec in &page.records {
            r.last_seq = Some(rec.seq.clone());
            if skip_before.is_some_and(|s| rec.ts_ms < s) {
                continue;
            }
            if stop.until_ms.is_some_and(|u| rec.ts_ms > u) {
                r.done = true;
                break;
            }
            r.file.records.push(rec.json.clone());
            self.total += 1;
            if stop.records.is_some_and(|n| self.total >= n) {
                break;
            }
        }
    }

    /// Marks shard `k` read to its end, with its children from the response or the listing.
    fn end_shard(&mut self, k: usize, children: Option<Vec<Value>>) {
        let id = self.readers[k].info.id.clone();
        let listed: Vec<Value> = self
            .listed
            .iter()
            .filter(|c| c.parents.contains(&id))
            .map(|c| {
                let mut v = json!({"ShardId": c.id, "ParentShards": c.parents});
                if let Some((start, end)) = &c.hash_range {
                    v["HashKeyRange"] = json!({"StartingHashKey": start, "EndingHashKey": end});
                }
                v
            })
            .collect();
        let r = &mut self.readers[k];
        r.done = true;
        r.file.ended = true;
        r.file.next = None;
        r.iterator = None;
        r.file.children = match children {
            Some(c) if !c.is_empty() => c,
            _ => listed,
        };
    }

    /// Children named at a shard's end that the listing did not have (a reshard during the
    /// capture) are read too, from their start.
    async fn follow_children<A: Api>(&mut self, api: &A, k: usize) -> Result<(), String> {
        let parent = self.readers[k].info.id.clone();
        let children = self.readers[k].file.children.clone();
        for c in children {
            let Some(id) = c.get("ShardId").and_then(Value::as_str) else {
                continue;
            };
            if self.readers.iter().any(|r| r.info.id == id) {
                continue;
            }
            let parents = c
                .get("ParentShards")
                .and_then(Value::as_array)
                .map(|ps| {
                    ps.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_else(|| vec![parent.clone()]);
            let hash_range = c.get("HashKeyRange").and_then(|h| {
                Some((
                    h.get("StartingHashKey")?.as_str()?.to_owned(),
                    h.get("EndingHashKey")?.as_str()?.to_owned(),
                ))
            });
            let info = ShardInfo {
                id: id.to_owned(),
                parents,
                hash_range,
                ending_seq: None,
            };
            let iterator = api
                .iterator(id, Start::Position(super::From::TrimHorizon))
                .await
                .map_err(|f| match f {
                    Failure::Fatal(m) => m,
                    _ => format!("GetShardIterator {id}: throttled"),
                })?;
            self.listed.push(info.clone());
            self.push_reader(info, iterator);
        }
        Ok(())
    }

    fn report(&mut self) {
        let elapsed_s = self.started.elapsed().as_secs_f64();
        let stop = self.options.stop;
        let by_records = stop.records.map(|n| self.total as f32 / n.max(1) as f32);
        let by_time = stop.duration.map(|d| (elapsed_s / d.as_secs_f64()) as f32);
        let fraction = match (by_records, by_time) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
        .map(|f| f.clamp(0.0, 1.0));
        let p = Progress {
            records: self.total,
            shards: self.readers.len(),
            shards_done: self.readers.iter().filter(|r| r.done).count(),
            behind_ms: self.readers.iter().filter_map(|r| r.file.behind_ms).max(),
            elapsed_s,
            fraction,
        };
        (self.progress)(&p);
    }
}

#[cfg(test)]
mod tests {
    use super::seq_at_or_past;

    #[test]
    fn sequence_numbers_compare_as_numbers() {
        assert!(seq_at_or_past("10", "9"));
        assert!(seq_at_or_past(
            "49590338271490256608559692538361571095921575989136588898",
            "4959033827149025660855969253836157109592157598913658889"
        ));
        assert!(seq_at_or_past("7", "7"));
        assert!(!seq_at_or_past("8", "10"));
    }
}
