//! planrun's runtime: everything between the command line and the engine. `run` opens the run
//! (replaying the journal), stops what a crashed run left behind, then loops: journal the
//! engine's changes, act on its decisions by starting supervised steps, feed their ends back as
//! inputs. One dispatcher owns the truth; steps report by message. Ctrl-C drains, a second
//! Ctrl-C stops everything. Business rules stay in the engine.
//!
//! The crate knows nothing of clap and opens no stream: commands reach it as the plain options
//! of [`options`] with a [`console::Console`] to write to, and a run reports its progress only
//! as [`events::RunEvent`]s through a [`progress::Progress`].

pub mod console;
pub mod exit;

mod archive;
mod barriers;
mod budget;
mod command;
pub mod config;
pub mod costs;
pub mod detect;
mod dispatch;
pub mod doctor;
mod error;
mod estimate;
pub mod events;
pub mod explain;
mod gemini_gate;
mod journal_event;
pub mod kept;
mod layout;
pub mod options;
mod orphans;
mod pipeline;
pub mod progress;
mod prompt;
mod provider;
mod report;
mod selection;
mod session;
mod setup;
mod sim_setup;
mod steps;
mod templates;
mod totals;
pub mod views;
mod writer;

use crate::options::RunOptions;
pub use budget::WatchPolicy;
use config::Config;
pub use error::Error;
use events as ev;
use events::RunEvent;
use journal_event::JournalEvent;
pub use layout::LockError;
pub use pipeline::{CommitMode, OnFail, ReviewKind, ReviewOrder, ScopePolicy, WorkspaceMode};
use planrun_agents::provider::ProviderKind;
use planrun_agents::{AgentKind, Redactor, Template, Usage};
use planrun_engine::policy::{self, Action, FailureClass, Halt, Repeat, StopKind};
use planrun_engine::{Decision, Input, RunOutcome, Stage, TaskState};
use progress::{Event, Mode, Progress, Verbosity};
use serde_json::Value;
pub use session::SessionError;
pub(crate) use session::{OpenArgs, Session};
use std::sync::Arc;
use std::time::Duration;
use steps::{Agent, Ctx, ImplementRun, Kind, Limits, StepDone};
use templates::Templates;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Exit code: some tasks are blocked or the final check failed.
pub const BLOCKED: u8 = 3;
/// Exit code: stopped by an error of an agent's model provider (API error, rate limit); resumable.
pub const PROVIDER: u8 = 4;
/// What to do when an agent's program could not be started.
const UNSTARTABLE_HELP: &str = "nothing was lost and no task is counted as failed: check the agent command (a path is taken from the repository's top level, a bare name from PATH; a script needs a `#!` line and the executable bit), `planrun doctor` for the agent CLIs, then run the same command to resume";
/// Exit code: paused for the user (`--commit manual`, `--batch N`); `planrun continue` goes on.
pub const PAUSED: u8 = 5;
/// Exit code: interrupted by Ctrl-C (128 + SIGINT).
pub const INTERRUPTED: u8 = 130;

pub use command::{continue_run, estimate_only, run};
use dispatch::Runner;
pub use setup::find_program;
use setup::*;
pub use sim_setup::simulation_setup;

pub(crate) fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(0))
}

/// The first 10 characters of a commit id, as people quote them.
pub(crate) fn short(commit: &str) -> &str {
    commit.get(..10).unwrap_or(commit)
}
