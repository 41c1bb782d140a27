//! The heart of planrun as a sans-IO core: the task state machine and the scheduler's choices.
//! Everything here is a plain function of its inputs; it never awaits, spawns, reads files or
//! knows about the journal, so the same code runs for real and under a virtual clock.

pub mod engine;
pub mod policy;
pub mod schedule;
pub mod sim;
pub mod state;

pub use engine::{Change, Decision, Engine, EngineError, FinalCheck, Input, Output, RunOutcome, Setup, TaskSpec};
pub use policy::{Ending, Policy};
pub use schedule::{Conflicts, default_concurrency, priorities, ranked_priorities};
pub use state::{Stage, TaskState, Transition, TransitionError};
