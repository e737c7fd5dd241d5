//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod moto;

use serde_json::Value;
use tumblescope::generate::DEFAULT_START_MS;
use tumblescope::handlers::builtin::{Builtin, BuiltinSpec};
use tumblescope::handlers::{Handler, Invoked, Request, Response};
use tumblescope::model::Source;
use tumblescope::model::settings::Settings;
use tumblescope::model::stream::{InputRecord, Stream, StreamBuilder, StreamMeta};
use tumblescope::sim::Trace;

/// A Kinesis stream from `(ms after 12:00:00, partition key, sales)`.
pub fn kinesis(shards: u32, orders: &[(i64, &str, i64)]) -> Stream {
    let mut b =
        StreamBuilder::new(Source::Kinesis, shards, StreamMeta::default()).payloads_are_json(true);
    for (k, (t, key, sales)) in orders.iter().enumerate() {
        b.push(InputRecord {
            ts_ms: DEFAULT_START_MS + t,
            partition_key: (*key).into(),
            data: format!(r#"{{"Item":{{"orderId":"o-{k}","sales":{sales}}}}}"#).into_bytes(),
            ..Default::default()
        });
    }
    b.finish()
}

/// The built-in handler for a spec.
pub fn builtin(spec: &str) -> Builtin {
    Builtin::new(BuiltinSpec::parse(spec).expect("valid spec"))
}

/// Runs a built-in over a stream.
pub fn run(stream: &Stream, settings: &Settings, spec: &str) -> Trace {
    let mut h = builtin(spec);
    tumblescope::sim::simulate(stream, settings, &mut h).expect("run")
}

/// Sum of `Item.sales` of records in a stream range.
pub fn sales(stream: &Stream, range: std::ops::Range<usize>) -> i64 {
    range
        .map(|i| {
            let v: Value = serde_json::from_slice(&stream.payload(i)).unwrap();
            v["Item"]["sales"].as_i64().unwrap()
        })
        .sum()
}

/// A built-in run through the JSON event path, as a deployed function would see it.
pub struct JsonPath(pub Builtin);

impl Handler for JsonPath {
    fn describe(&self) -> String {
        format!("json:{}", self.0.describe())
    }

    fn prepare(&mut self, stream: &Stream, settings: &Settings) -> Result<(), String> {
        self.0.prepare(stream, settings)
    }

    fn invoke(&mut self, req: &Request<'_>) -> Invoked {
        let event: Value = serde_json::from_str(&req.event_json()).expect("event is JSON");
        match self.0.handle_event(&event) {
            Ok((resp, writes)) => {
                let mut inv = Invoked::ok(Response::from_json(resp));
                inv.writes = writes;
                inv
            }
            Err(e) => Invoked::err(e),
        }
    }
}

/// A handler that delegates to a built-in unless `script` returns an outcome first.
pub struct Scripted<F> {
    pub inner: Builtin,
    pub script: F,
    pub calls: Vec<(u32, usize, bool)>,
}

impl<F> Scripted<F>
where
    F: FnMut(&Request<'_>) -> Option<Invoked> + Send,
{
    pub fn new(spec: &str, script: F) -> Self {
        Self {
            inner: builtin(spec),
            script,
            calls: Vec::new(),
        }
    }
}

impl<F> Handler for Scripted<F>
where
    F: FnMut(&Request<'_>) -> Option<Invoked> + Send,
{
    fn describe(&self) -> String {
        "scripted".into()
    }

    fn prepare(&mut self, stream: &Stream, settings: &Settings) -> Result<(), String> {
        self.inner.prepare(stream, settings)
    }

    fn invoke(&mut self, req: &Request<'_>) -> Invoked {
        self.calls.push((req.n, req.records.len(), req.is_final));
        match (self.script)(req) {
            Some(inv) => inv,
            None => self.inner.invoke(req),
        }
    }
}

/// A comparable rendering of everything a trace shows (deferred writes as a flag).
pub fn render(trace: &Trace) -> Vec<String> {
    render_with(trace, None)
}

/// [`render`] with every write rendered, deferred ones included: two handlers that write the
/// same rows, one on demand and one at once, render the same.
#[allow(dead_code)] // Not every test binary compares handlers.
pub fn render_writes(trace: &Trace, stream: &tumblescope::model::stream::Stream) -> Vec<String> {
    render_with(trace, Some(stream))
}

fn render_with(trace: &Trace, stream: Option<&tumblescope::model::stream::Stream>) -> Vec<String> {
    trace
        .invocations
        .iter()
        .map(|i| {
            let writes = match stream {
                Some(s) => (trace.writes(s, i).into_owned(), false),
                None => (
                    i.writes().to_vec(),
                    i.flags & tumblescope::sim::trace::flags::DEFERRED_WRITE != 0,
                ),
            };
            format!(
                "{} s{} {:?} {:?} a{} {}-{} r{:?} {:?} {:?} in={} out={:?} resp={} err={:?} w={:?}",
                i.n,
                i.shard,
                i.window(),
                i.kind,
                i.attempt,
                i.start_ms,
                i.end_ms,
                i.records,
                i.reason,
                i.status,
                i.state_in.to_json_string(),
                i.state_out.as_ref().map(|s| s.to_json_string()),
                i.response_json(),
                i.error(),
                writes
            )
        })
        .collect()
}

/// Whether a runtime (`node`, `python3`) is installed. Without it a test prints a line saying
/// it was skipped and returns; with `TUMBLESCOPE_REQUIRE_RUNTIMES` set (as `.ci/run` does) a
/// missing runtime fails the test instead.
pub fn available(program: &str) -> bool {
    let ok = std::process::Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("TUMBLESCOPE_REQUIRE_RUNTIMES").is_none(),
            "{program} is required (TUMBLESCOPE_REQUIRE_RUNTIMES is set) but not installed"
        );
        println!("skipped: {program} is not installed");
    }
    ok
}

/// A DynamoDB stream of INSERTs from `(ms after 12:00:00, sales)`, items keyed `ID` = `o-<k>`.
pub fn dynamodb(shards: u32, orders: &[(i64, i64)]) -> Stream {
    let mut b =
        StreamBuilder::new(Source::Dynamodb, shards, StreamMeta::default()).payloads_are_json(true);
    for (k, (t, sales)) in orders.iter().enumerate() {
        b.push(InputRecord {
            ts_ms: DEFAULT_START_MS + t,
            partition_key: format!("o-{k}"),
            data: format!(r#"{{"ID":"o-{k}","sales":{sales}}}"#).into_bytes(),
            ..Default::default()
        });
    }
    b.finish()
}

/// `shardId-` + 20 digits + `-` + 8 hex digits: a DynamoDB Streams shard id as tumblescope
/// writes it. Kinesis ids (`shardId-` + 12 digits) do not match.
pub fn is_dynamodb_shard_id(id: &str) -> bool {
    let parts: Vec<&str> = id.split('-').collect();
    matches!(parts.as_slice(), ["shardId", time, hex]
        if time.len() == 20 && time.bytes().all(|b| b.is_ascii_digit())
            && hex.len() == 8 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}
