//! The deterministic tumbling-window engine: no egui, no files, no clock.

mod action;
mod close;
pub mod engine;
mod execute;
mod limits;
mod parallel;
mod plan;
mod queue;
mod response;
mod retry;
mod room;
mod shard;
pub mod trace;
pub mod warnings;

pub use crate::model::state::State;
pub use engine::{
    Control, Progress, SimError, TraceMemory, simulate, simulate_on_threads, simulate_reusing,
    simulate_with,
};
pub use trace::{Invocation, Kind, Reason, Status, Trace, WindowResult};
