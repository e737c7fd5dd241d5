//! Search, go-to and the invocation table's sort run on a named worker thread: a million
//! records take tens of milliseconds, which a frame cannot spare. A newer request of a kind
//! cancels the one in flight, and answers for superseded requests are dropped.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use super::session::Run;
use crate::find::goto::{self, Landing};
use crate::find::records::{self, Matches};
use crate::find::table::{self, TableQuery};

/// What to find.
#[derive(Clone)]
pub enum Ask {
    /// Records matching the search box.
    Search(String),
    /// The go-to box, preferring this shard.
    GoTo(String, usize),
    /// The invocation table's rows.
    Table(TableQuery),
    /// The pinned run A against the shown run, for a value path.
    Compare(Box<Run>, crate::index::ValuePath),
}

/// What came back.
#[derive(Debug)]
pub enum Answer {
    /// `None`: the box is empty.
    Search(Result<Option<Arc<Matches>>, String>, Duration),
    /// Where to go.
    GoTo(Result<Landing, String>),
    /// Rows, in order.
    Table(Arc<Vec<u32>>),
    /// A against B.
    Compare(Arc<crate::find::compare::Comparison>),
}

impl Ask {
    fn slot(&self) -> usize {
        match self {
            Self::Search(_) => 0,
            Self::GoTo(..) => 1,
            Self::Table(_) => 2,
            Self::Compare(..) => 3,
        }
    }
}

struct Request {
    id: u64,
    ask: Ask,
    run: Run,
    cancel: Arc<AtomicBool>,
}

/// The app's handle on the worker.
pub struct Finder {
    tx: Sender<Request>,
    rx: Receiver<(u64, usize, Answer)>,
    next_id: u64,
    /// Latest request id and its cancel flag, per kind.
    latest: [Option<(u64, Arc<AtomicBool>)>; 4],
}

impl Finder {
    /// Starts the worker; `wake` is called when an answer is ready.
    pub fn spawn(wake: impl Fn() + Send + 'static) -> Self {
        let (tx, req_rx) = crossbeam_channel::unbounded::<Request>();
        let (ans_tx, rx) = crossbeam_channel::unbounded();
        std::thread::Builder::new()
            .name("tumblescope-find".into())
            .spawn(move || {
                let mut orders: OrderCache = None;
                while let Ok(req) = req_rx.recv() {
                    if req.cancel.load(Ordering::Relaxed) {
                        continue;
                    }
                    let slot = req.ask.slot();
                    if let Some(answer) = work(&req, &mut orders) {
                        if ans_tx.send((req.id, slot, answer)).is_err() {
                            return;
                        }
                        wake();
                    }
                }
            })
            .expect("spawning the find worker");
        Self {
            tx,
            rx,
            next_id: 0,
            latest: Default::default(),
        }
    }

    /// Sends `ask` about `run`, cancelling the previous request of its kind.
    pub fn ask(&mut self, ask: Ask, run: &Run) {
        self.next_id += 1;
        let slot = ask.slot();
        if let Some((_, c)) = &self.latest[slot] {
            c.store(true, Ordering::Relaxed);
        }
        let cancel = Arc::new(AtomicBool::new(false));
        self.latest[slot] = Some((self.next_id, cancel.clone()));
        let req = Request {
            id: self.next_id,
            ask,
            run: run.clone(),
            cancel,
        };
        self.tx.send(req).ok();
    }

    /// Whether a request of the kind of `ask` is in flight.
    pub fn pending(&self, slot_of: &Ask) -> bool {
        self.latest[slot_of.slot()].is_some()
    }

    /// Whether any request is in flight.
    pub fn busy(&self) -> bool {
        self.latest.iter().any(Option::is_some)
    }

    /// Answers to the latest requests (older ones are dropped).
    pub fn poll(&mut self) -> Vec<Answer> {
        let mut out = Vec::new();
        while let Ok((id, slot, answer)) = self.rx.try_recv() {
            if self.latest[slot].as_ref().is_some_and(|(l, _)| *l == id) {
                self.latest[slot] = None;
                out.push(answer);
            }
        }
        out
    }

    /// Waits up to `timeout` for the answers in flight (tests only; the UI never waits).
    pub fn wait(&mut self, timeout: Duration) -> Vec<Answer> {
        let until = Instant::now() + timeout;
        let mut out = Vec::new();
        while self.latest.iter().any(Option::is_some) && Instant::now() < until {
            out.extend(self.poll());
            std::thread::sleep(Duration::from_millis(2));
        }
        out
    }
}

/// The last stream's payload order, kept while searches are on the same stream.
type OrderCache = Option<(usize, Arc<Vec<u32>>)>;

fn order_for(cache: &mut OrderCache, stream: &Arc<crate::model::stream::Stream>) -> Arc<Vec<u32>> {
    let key = Arc::as_ptr(stream) as usize;
    match cache {
        Some((k, order)) if *k == key => order.clone(),
        _ => {
            let order = Arc::new(stream.payload_order());
            *cache = Some((key, order.clone()));
            order
        }
    }
}

fn work(req: &Request, orders: &mut OrderCache) -> Option<Answer> {
    let run = &req.run;
    let cancel = &req.cancel;
    Some(match &req.ask {
        Ask::Search(text) => {
            let started = Instant::now();
            let result = match crate::find::query::parse(text) {
                Err(e) => Err(e),
                Ok(None) => Ok(None),
                Ok(Some(q)) => {
                    let order = order_for(orders, &run.stream);
                    Ok(Some(Arc::new(records::search(
                        &run.stream,
                        &q,
                        &order,
                        cancel,
                    )?)))
                }
            };
            Answer::Search(result, started.elapsed())
        }
        Ask::GoTo(text, shard) => {
            let day = run.stream.time_range().map_or(0, |(t0, _)| t0);
            Answer::GoTo(match goto::parse(text, day) {
                Err(e) => Err(e),
                Ok(target) => {
                    goto::resolve(&target, &run.stream, &run.trace, &run.index, *shard, cancel)?
                }
            })
        }
        Ask::Table(q) => Answer::Table(Arc::new(table::rows(&run.trace, q, cancel)?)),
        Ask::Compare(a, path) => Answer::Compare(Arc::new(crate::find::compare::compare(
            (&a.stream, &a.trace, a.index.t_min),
            (&run.stream, &run.trace, run.index.t_min),
            path,
            cancel,
        )?)),
    })
}
