//! tumblescope: see and test how AWS Lambda processes Kinesis and DynamoDB streams with
//! tumbling windows.
//!
//! The core (everything but `app`) has no egui dependency and builds with
//! `--no-default-features`.

#[cfg(feature = "gui")]
pub mod app;
pub mod cli;
pub mod export;
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
