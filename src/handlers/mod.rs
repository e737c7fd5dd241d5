//! The handler interface: Lambda's own. An event goes in, a response (or an error) comes out,
//! plus what the function logged and wrote on the side.

pub mod builtin;
pub mod event;
pub mod external;
pub mod sandbox;

use std::ops::Range;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::json::write::json_kind;
use crate::model::Window;
use crate::model::settings::Settings;
use crate::model::state::State;
use crate::model::stream::Stream;

/// One invocation request, with everything needed to build the event Lambda would send.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    /// The stream.
    pub stream: &'a Stream,
    /// The run's settings.
    pub settings: &'a Settings,
    /// Shard index.
    pub shard: usize,
    /// The records carried (indices into the stream).
    pub records: Range<usize>,
    /// The window, or `None` without tumbling windows.
    pub window: Option<Window>,
    /// Input `state`.
    pub state: &'a State,
    /// `isFinalInvokeForWindow`.
    pub is_final: bool,
    /// `isWindowTerminatedEarly`.
    pub is_early: bool,
    /// Global invocation number (1-based).
    pub n: u32,
    /// The shard's own invocation number (1-based), which seeds the request id: a shard's
    /// requests do not depend on how other shards' invocations interleave with its own, so
    /// shards can run side by side and send the same ids.
    pub shard_n: u32,
    /// Attempt of this delivery (1 = first).
    pub attempt: u32,
    /// Simulated time the invocation starts, epoch ms (user handlers' log lines carry it).
    pub at_ms: i64,
}

impl Request<'_> {
    /// The event exactly as Lambda sends it (compact JSON).
    pub fn event_json(&self) -> String {
        crate::handlers::event::event_json(self)
    }

    /// Deterministic UUID-shaped `awsRequestId`.
    pub fn request_id(&self) -> String {
        request_id(self.settings.seed, self.shard, self.shard_n)
    }
}

/// A UUID-shaped request id derived from the seed, the shard (index) and the shard's own
/// invocation number.
pub fn request_id(seed: u64, shard: usize, shard_n: u32) -> String {
    use md5::{Digest as _, Md5};
    let d = Md5::digest(format!("tumblescope:request:{seed}:{shard}:{shard_n}").as_bytes());
    let h: String = d.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// An error the function raised, as Lambda reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HandlerError {
    /// `errorType`, e.g. `TypeError`, `Runtime.ExitError`, `Sandbox.Timedout`.
    pub error_type: String,
    /// `errorMessage`.
    pub error_message: String,
    /// `stackTrace` lines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stack_trace: Vec<String>,
}

impl HandlerError {
    /// An error with no stack.
    pub fn new(error_type: impl Into<String>, error_message: impl Into<String>) -> Self {
        Self {
            error_type: error_type.into(),
            error_message: error_message.into(),
            stack_trace: Vec::new(),
        }
    }
}

/// A write the function made to a (simulated) table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TableWrite {
    /// Table name.
    pub table: String,
    /// `put`, `update`, `delete`, ...
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub op: String,
    /// The item (or key, for deletes).
    pub item: Value,
}

/// The `state` part of a response.
#[derive(Clone, Debug, PartialEq)]
pub enum ResponseState {
    /// No `state` key (or no response object at all).
    Missing,
    /// A `state` that is not a JSON object.
    Invalid(String),
    /// A state object.
    Present(State),
}

/// One entry of `batchItemFailures`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ItemFailure {
    /// A sequence number.
    Id(String),
    /// An entry Lambda treats as failing the whole batch (null/empty id, bad key).
    Invalid(String),
}

/// A successful response.
#[derive(Clone, Debug, PartialEq)]
pub struct Response {
    /// The returned state.
    pub state: ResponseState,
    /// Reported failures (only acted on with `ReportBatchItemFailures`).
    pub batch_item_failures: Vec<ItemFailure>,
    /// The raw response; `None` when a built-in returned `{"state": ...}` (rendered on demand).
    pub raw: Option<Value>,
}

impl Response {
    /// `{"state": state}`.
    pub fn with_state(state: State) -> Self {
        Self {
            state: ResponseState::Present(state),
            batch_item_failures: Vec::new(),
            raw: None,
        }
    }

    /// Reads a function's JSON response the way Lambda does (SEMANTICS §5.2, §7.3).
    pub fn from_json(raw: Value) -> Self {
        let mut state = ResponseState::Missing;
        let mut failures = Vec::new();
        if let Value::Object(obj) = &raw {
            match obj.get("state") {
                None => {}
                Some(Value::Object(m)) => {
                    state = ResponseState::Present(State::from_map(m.clone()))
                }
                Some(other) => {
                    state = ResponseState::Invalid(format!(
                        "\"state\" must be a JSON object, got {}",
                        json_kind(other)
                    ))
                }
            }
            match obj.get("batchItemFailures") {
                None | Some(Value::Null) => {}
                Some(Value::Array(items)) => {
                    for item in items {
                        failures.push(match item.get("itemIdentifier") {
                            Some(Value::String(s)) if !s.is_empty() => ItemFailure::Id(s.clone()),
                            Some(Value::String(_)) => {
                                ItemFailure::Invalid("empty itemIdentifier".into())
                            }
                            Some(Value::Null) => ItemFailure::Invalid("null itemIdentifier".into()),
                            Some(other) => ItemFailure::Invalid(format!(
                                "itemIdentifier must be a string, got {}",
                                json_kind(other)
                            )),
                            None => ItemFailure::Invalid(format!(
                                "batchItemFailures entry without itemIdentifier: {item}"
                            )),
                        });
                    }
                }
                Some(other) => failures.push(ItemFailure::Invalid(format!(
                    "batchItemFailures must be an array, got {}",
                    json_kind(other)
                ))),
            }
        }
        Self {
            state,
            batch_item_failures: failures,
            raw: Some(raw),
        }
    }

    /// The response JSON as the function returned it.
    pub fn raw_json(&self) -> Value {
        match &self.raw {
            Some(v) => v.clone(),
            None => {
                let mut m = serde_json::Map::new();
                if let ResponseState::Present(s) = &self.state {
                    m.insert("state".into(), Value::Object(s.to_json()));
                }
                Value::Object(m)
            }
        }
    }
}

/// What one invocation produced.
#[derive(Clone, Debug, PartialEq)]
pub struct Invoked {
    /// The response, or the error the function raised.
    pub result: Result<Response, HandlerError>,
    /// Lines the function printed.
    pub logs: Vec<String>,
    /// Table writes the function made.
    pub writes: Vec<TableWrite>,
    /// Real wall-clock duration, µs (external handlers; kept apart from the modelled time).
    pub measured_us: Option<u64>,
    /// Whether the function hit its timeout.
    pub timed_out: bool,
    /// The first invocation in a new execution environment (its init ran before it).
    pub cold_start: bool,
    /// Which execution environment ran it (user handlers: numbered from 1 in start order).
    pub environment: Option<u32>,
    /// The handler also wrote one row that its [`DeferredWrites`] renders when someone looks
    /// (a built-in's result row), instead of building it on every final invocation.
    pub deferred_write: bool,
    /// The function read the stand-in table (a get, scan, update or returned old item): what
    /// it saw may depend on other shards' writes, so shards run side by side only while no
    /// read could have seen a write from another ([`crate::sim`]'s parallel run).
    pub table_read: bool,
}

/// A write a handler describes by the invocation alone (shard, window, state), rendered on
/// demand: built-ins write a result row per window, and building those as JSON during a run
/// cost more than the rest of a sparse stream's invocations.
pub trait DeferredWrites: Send + Sync + std::fmt::Debug {
    /// What identifies the writer (two writers with the same id render the same rows).
    fn id(&self) -> String;

    /// The write made by an invocation of `shard_id` for `window` that returned `state`.
    fn write(
        &self,
        shard_id: &str,
        window: Option<Window>,
        state: &State,
        early: bool,
    ) -> TableWrite;
}

impl Invoked {
    /// A plain success.
    pub fn ok(response: Response) -> Self {
        Self {
            result: Ok(response),
            logs: Vec::new(),
            writes: Vec::new(),
            measured_us: None,
            timed_out: false,
            cold_start: false,
            environment: None,
            deferred_write: false,
            table_read: false,
        }
    }

    /// A plain failure.
    pub fn err(error: HandlerError) -> Self {
        Self {
            result: Err(error),
            logs: Vec::new(),
            writes: Vec::new(),
            measured_us: None,
            timed_out: false,
            cold_start: false,
            environment: None,
            deferred_write: false,
            table_read: false,
        }
    }
}

/// The default handler for a source.
pub fn default_spec(source: crate::model::Source) -> &'static str {
    match source {
        crate::model::Source::Kinesis => "builtin:sum:Item.sales",
        crate::model::Source::Dynamodb => "builtin:sum:sales",
    }
}

/// The numeric field a handler spec aggregates, if it is a built-in with one: loading reads it
/// as it goes ([`crate::ingest::LoadOptions::value`]).
pub fn value_path(spec: &str) -> Option<crate::json::path::Path> {
    builtin::BuiltinSpec::parse(spec).ok()?.path
}

/// A handler from a `--handler` spec: `builtin:…`, or a `.js`/`.mjs`/`.cjs`/`.py` file with an
/// optional `:export`.
pub fn from_spec(spec: &str) -> Result<Box<dyn Handler>, String> {
    if spec.starts_with("builtin:") {
        let parsed = builtin::BuiltinSpec::parse(spec)?;
        return Ok(Box::new(builtin::Builtin::new(parsed)));
    }
    if let Some(ext) = external::ExternalSpec::parse(spec) {
        return Ok(Box::new(external::Environments::new(ext)));
    }
    Err(unknown_handler(spec))
}

/// Whether a spec names a handler, without building one (no process, no clock): cheap enough
/// to validate what a user types on every frame.
pub fn check_spec(spec: &str) -> Result<(), String> {
    if spec.starts_with("builtin:") {
        return builtin::BuiltinSpec::parse(spec).map(|_| ());
    }
    if external::ExternalSpec::parse(spec).is_some() {
        return Ok(());
    }
    Err(unknown_handler(spec))
}

fn unknown_handler(spec: &str) -> String {
    format!(
        "unknown handler {spec:?}: expected builtin:OP:FIELD (OP: sum, count, min, max, avg) \
         or a handler file: path/to/file.js[:export] (Node.js) or path/to/file.py[:function] (Python)"
    )
}

/// Whether a spec names a user handler file (which runs code from disk).
pub fn is_external(spec: &str) -> bool {
    external::ExternalSpec::parse(spec).is_some()
}

/// A Lambda function as the engine sees it.
pub trait Handler: Send {
    /// Short description for reports (`builtin:sum:Item.sales`, `handler.js:handler`).
    fn describe(&self) -> String;

    /// Called once before a run, with the whole stream (built-ins precompute here).
    fn prepare(&mut self, _stream: &Stream, _settings: &Settings) -> Result<(), String> {
        Ok(())
    }

    /// One synchronous invocation.
    fn invoke(&mut self, req: &Request<'_>) -> Invoked;

    /// The invocation when all it does is return `{"state": ...}` for a tumbling window: the
    /// state, and whether it wrote its deferred row ([`Invoked::deferred_write`]); `None`
    /// when it could do anything else (the engine then calls [`Handler::invoke`]). Built-ins
    /// answer a sparse stream's million invocations this way: the general [`Invoked`] costs
    /// more to build, read and drop than their fold.
    fn returned_state(&mut self, _req: &Request<'_>) -> Option<(State, bool)> {
        None
    }

    /// Warnings gathered over the run (e.g. records without the aggregated field).
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }

    /// After `prepare`: a handler for some of the shards, to run on another thread beside this
    /// one, when a shard's answers depend only on its own requests (a user's function with an
    /// execution environment per shard). Reads of a shared table are the exception, reported
    /// per invocation ([`Invoked::table_read`]) so the engine can tell when the parts' order
    /// mattered. `None` (the default) runs every shard on one thread: built-ins answer in
    /// nanoseconds, and splitting their runs measured no faster (merging the parts copies every
    /// invocation again).
    fn fork(&self) -> Option<Box<dyn Handler>> {
        None
    }

    /// The renderer of the writes this handler defers ([`Invoked::deferred_write`]).
    fn deferred_writes(&self) -> Option<std::sync::Arc<dyn DeferredWrites>> {
        None
    }

    /// This handler as the built-in, when it is one: the engine then runs a copy of itself
    /// compiled for it, whose calls per invocation are inlined instead of dispatched (a sparse
    /// run makes a million of them, and each returned its answer through memory).
    fn as_builtin(&mut self) -> Option<&mut builtin::Builtin> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn responses_are_read_like_lambda_reads_them() {
        let r = Response::from_json(json!({"state": {"a": 1}}));
        assert!(matches!(r.state, ResponseState::Present(ref s) if s.json_len() == 7));
        assert_eq!(
            Response::from_json(json!(null)).state,
            ResponseState::Missing
        );
        assert_eq!(
            Response::from_json(json!({"ok": true})).state,
            ResponseState::Missing
        );
        assert!(matches!(
            Response::from_json(json!({"state": 5})).state,
            ResponseState::Invalid(_)
        ));
        let r = Response::from_json(json!({"state": {}, "batchItemFailures": [
            {"itemIdentifier": "42"}, {"itemIdentifier": ""}, {"id": "x"}
        ]}));
        assert_eq!(r.batch_item_failures[0], ItemFailure::Id("42".into()));
        assert!(matches!(r.batch_item_failures[1], ItemFailure::Invalid(_)));
        assert!(matches!(r.batch_item_failures[2], ItemFailure::Invalid(_)));
        assert!(
            Response::from_json(json!({"batchItemFailures": null}))
                .batch_item_failures
                .is_empty()
        );
    }

    #[test]
    fn request_ids_are_uuid_shaped_and_deterministic() {
        let a = request_id(1, 0, 7);
        assert_eq!(a, request_id(1, 0, 7));
        assert_ne!(a, request_id(2, 0, 7));
        assert_ne!(a, request_id(1, 1, 7));
        assert_ne!(a, request_id(1, 0, 8));
        assert_eq!(a.len(), 36);
        assert_eq!(a.matches('-').count(), 4);
    }
}
