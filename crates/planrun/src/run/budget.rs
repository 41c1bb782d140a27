//! Cost control while a run goes: what running agents have used so far, read from their event
//! streams as they arrive (the meter), the run's and each task's budget against that (soft:
//! start nothing new; hard: stop every agent), agents paused by their provider's rate limits,
//! and the watchdog (a run making no progress, a task failing the same way twice). Decides what
//! to stop; the runner carries it out.

use serde::Deserialize;

/// What the watchdog does about what it finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub(crate) enum WatchPolicy {
    /// Run the task again in a fresh session.
    Retry,
    /// Block the task.
    Block,
    /// Stop the run (exit 4).
    Stop,
}
