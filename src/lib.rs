//! tumblescope: see and test how AWS Lambda processes Kinesis and DynamoDB streams with
//! tumbling windows.
//!
//! # Where things live
//!
//! Imports point one way, from the top of this list to the bottom: `app` → `cli`/`run` →
//! {`ingest`, `sim`, `handlers`, `generate`} → {`model`, `json`}. The engine reads no files,
//! handlers do not import the engine, loading does not import handlers, and nothing outside
//! `app` imports `app` or `cli`.
//!
//! - [`app`] (feature `gui`): the desktop app. Panels read state and emit commands; `apply`
//!   hands each command to the function for its concern; loading and simulating run on a
//!   worker thread.
//! - [`cli`]: the headless commands (`generate`, `run`), turning flags into a [`run::RunSpec`].
//! - [`run`]: the one run path shared by the CLI and the app: where the stream comes from,
//!   the settings and the handler become a stream and a trace.
//! - [`ingest`]: reading streams from every format users have (orders, generic JSON Lines and
//!   CSV, Lambda event files, `get-records` captures), with file, line and column on errors.
//! - [`sim`]: the deterministic tumbling-window engine: per-shard pollers, batches, windows,
//!   finals, early termination, retries, bisection, discards; and the [`sim::Trace`] it writes.
//! - [`handlers`]: Lambda's handler interface, the event JSON exactly as Lambda sends it
//!   ([`handlers::event`]), the built-in aggregations and users' own Node.js/Python code run in
//!   a sandboxed runtime.
//! - [`generate`] and [`scenarios`]: point-of-sale order streams and the presets built on them.
//! - [`export`] (results and invocation logs), [`trace_events`] (Chrome Trace Event JSON for
//!   Perfetto), [`capture`] (live Kinesis/DynamoDB streams to `get-records` files), [`index`] (the app's read indices over a trace)
//!   and [`output`] (checked, atomic writes of every output file).
//! - [`model`]: what everything shares: sources, windows, time text, the settings with AWS's
//!   ranges and the modelling choices, state values, routing, and the column-oriented
//!   [`model::stream::Stream`].
//! - [`json`]: JSON helpers with no knowledge of streams or Lambda.
//!
//! # Data flow
//!
//! ```text
//!  file / generator / scenario ──ingest, generate──▶ Stream ──sim + handler──▶ Trace
//!                                                      │                        │
//!                                                      └──────── export, index, app
//! ```
//!
//! The core (everything but `app`) has no egui dependency and builds with
//! `--no-default-features`.

#![forbid(unsafe_code)]

#[cfg(feature = "gui")]
pub mod app;
pub mod capture;
pub mod capture_files;
pub mod cli;
pub mod destination;
pub mod export;
pub mod filter;
pub mod find;
pub mod generate;
pub mod handlers;
pub mod index;
pub mod ingest;
pub mod json;
pub mod model;
pub mod output;
pub mod run;
pub mod scenarios;
pub mod sim;
pub mod template;
pub mod trace_events;
