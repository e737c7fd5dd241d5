//! File → Capture from stream…: the form's text, the capture running on its own named thread
//! (progress and Stop), and what it left. The capture opens as the stream when it ends.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossbeam_channel::Receiver;

use crate::capture::{Captured, Connection, From, Options, Progress, Stop, Target};

/// What the form holds, as typed (checked when Start is pressed).
#[derive(Clone, Debug, PartialEq)]
pub struct CaptureForm {
    pub kinesis: bool,
    /// Stream name (Kinesis), table name or stream ARN (DynamoDB).
    pub name: String,
    pub from: String,
    pub records: String,
    pub duration: String,
    pub until: String,
    pub region: String,
    pub profile: String,
    pub endpoint_url: String,
    /// Folder for the files; empty: `captures/NAME-TIME` in the working folder.
    pub out: String,
}

impl Default for CaptureForm {
    fn default() -> Self {
        Self {
            kinesis: true,
            name: String::new(),
            from: "trim-horizon".into(),
            records: String::new(),
            duration: "60".into(),
            until: String::new(),
            region: String::new(),
            profile: String::new(),
            endpoint_url: String::new(),
            out: String::new(),
        }
    }
}

fn optional(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

impl CaptureForm {
    /// The request, or what to fix (the same checks and words as the CLI).
    pub fn options(&self) -> Result<Options, String> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err(if self.kinesis {
                "Name the stream to capture.".into()
            } else {
                "Name the table (or paste its stream ARN).".into()
            });
        }
        let target = match (self.kinesis, name.starts_with("arn:")) {
            (true, _) => Target::Kinesis {
                stream: name.into(),
            },
            (false, true) => Target::DynamodbStream { arn: name.into() },
            (false, false) => Target::DynamodbTable { table: name.into() },
        };
        let records = match optional(&self.records) {
            Some(t) => Some(
                t.parse::<u64>()
                    .map_err(|_| format!("Records {t:?}: a whole number"))?,
            ),
            None => None,
        };
        let duration = match optional(&self.duration) {
            Some(t) => match t.parse::<f64>() {
                Ok(s) if s.is_finite() && s > 0.0 => Some(Duration::from_secs_f64(s)),
                _ => return Err(format!("Seconds {t:?}: a positive number of seconds")),
            },
            None => None,
        };
        let until_ms = match optional(&self.until) {
            Some(t) => Some(crate::model::parse_instant(&t)?),
            None => None,
        };
        let out = match optional(&self.out) {
            Some(dir) => PathBuf::from(dir),
            None => {
                let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
                PathBuf::from("captures").join(format!("{}-{stamp}", target.file_stem()))
            }
        };
        let options = Options {
            target,
            from: From::parse(&self.from)?,
            stop: Stop {
                records,
                until_ms,
                duration,
            },
            connection: Connection {
                profile: optional(&self.profile),
                region: optional(&self.region),
                endpoint_url: optional(&self.endpoint_url),
            },
            out,
        };
        crate::capture::check(&options)?;
        Ok(options)
    }
}

enum Event {
    Progress(Progress),
    Done(Result<Captured, String>),
}

/// A capture in flight.
pub struct CaptureJob {
    cancel: Arc<AtomicBool>,
    rx: Receiver<Event>,
    pub progress: Progress,
    pub options: Options,
}

/// The capture window's state.
#[derive(Default)]
pub struct CaptureState {
    pub open: bool,
    pub form: CaptureForm,
    pub job: Option<CaptureJob>,
    /// The last capture's summary, or why it failed.
    pub outcome: Option<Result<String, String>>,
}

impl CaptureState {
    /// Starts the capture on the thread `tumblescope-capture`; `wake` repaints the UI.
    pub fn start(&mut self, options: Options, wake: impl Fn() + Send + 'static) {
        self.stop();
        let (tx, rx) = crossbeam_channel::unbounded();
        let cancel = Arc::new(AtomicBool::new(false));
        let flag = cancel.clone();
        let request = options.clone();
        let spawned = std::thread::Builder::new()
            .name("tumblescope-capture".into())
            .spawn(move || {
                let mut last = std::time::Instant::now();
                let result = crate::capture::capture(&request, &flag, &mut |p| {
                    // A few updates a second are enough for a progress bar.
                    if last.elapsed() >= Duration::from_millis(100) {
                        last = std::time::Instant::now();
                        tx.send(Event::Progress(p.clone())).ok();
                        wake();
                    }
                });
                tx.send(Event::Done(result)).ok();
                wake();
            });
        match spawned {
            Ok(_) => {
                self.outcome = None;
                self.job = Some(CaptureJob {
                    cancel,
                    rx,
                    progress: Progress::default(),
                    options,
                });
            }
            Err(e) => self.outcome = Some(Err(format!("could not start the capture: {e}"))),
        }
    }

    /// Asks the capture in flight to stop; it writes what it read and reports back.
    pub fn stop(&mut self) {
        if let Some(job) = &self.job {
            job.cancel.store(true, Ordering::Relaxed);
        }
    }

    /// Takes the worker's news: `Some` once the capture has ended.
    pub fn poll(&mut self) -> Option<Result<Captured, String>> {
        let job = self.job.as_mut()?;
        let mut done = None;
        while let Ok(event) = job.rx.try_recv() {
            match event {
                Event::Progress(p) => job.progress = p,
                Event::Done(r) => done = Some(r),
            }
        }
        let result = done?;
        self.job = None;
        self.outcome = Some(match &result {
            Ok(c) => Ok(format!(
                "Captured {} record(s) from {} shard(s) ({}).\n{}",
                c.records,
                c.files.len(),
                c.stopped.describe(),
                c.summary.join("\n")
            )),
            Err(e) => Err(e.clone()),
        });
        Some(result)
    }

    /// Waits (tests) until the capture in flight ends.
    pub fn wait(&mut self, limit: Duration) -> Option<Result<Captured, String>> {
        let started = std::time::Instant::now();
        while self.job.is_some() && started.elapsed() < limit {
            if let Some(r) = self.poll() {
                return Some(r);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_checks_what_the_cli_checks() {
        let mut f = CaptureForm::default();
        assert_eq!(f.options().unwrap_err(), "Name the stream to capture.");
        f.name = "orders".into();
        f.out = "/tmp/ts-form-check".into();
        let o = f.options().unwrap();
        assert_eq!(
            o.target,
            Target::Kinesis {
                stream: "orders".into()
            }
        );
        assert_eq!(o.stop.duration, Some(Duration::from_secs(60)));
        f.kinesis = false;
        f.name = "arn:aws:dynamodb:us-east-1:1:table/orders/stream/2026".into();
        assert!(matches!(
            f.options().unwrap().target,
            Target::DynamodbStream { .. }
        ));
        f.duration = "0".into();
        assert!(f.options().unwrap_err().contains("positive number"));
        f.duration.clear();
        f.from = "oldest".into();
        assert!(f.options().unwrap_err().contains("expected trim-horizon"));
        f.from = "latest".into();
        f.endpoint_url = "localhost".into();
        assert!(f.options().unwrap_err().contains("not an http(s) URL"));
    }
}
