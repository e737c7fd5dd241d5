//! The deterministic tumbling-window engine: no egui, no files, no clock.

pub mod engine;
pub mod state;
pub mod trace;

pub use engine::{Control, Progress, SimError, simulate, simulate_with};
pub use state::State;
pub use trace::{Invocation, Kind, Reason, Status, Trace, WindowResult};
