//! What a run reports as it goes: one [`RunEvent`] per thing that happened. With `--json` each
//! event is one line of NDJSON on stdout (its serde form, plus the schema version `v` and
//! `elapsed_ms`: see [`Line`]); otherwise its [`RunEvent::text`] is the human progress line.
//! `planrun schema --events` prints the JSON Schema of a line.
//!
//! Plain data and formatting only: no printing, no command line, no runtime state.

use schemars::JsonSchema;
use serde::Serialize;

mod payload;
mod schema;
#[cfg(test)]
mod tests;
mod text;

pub(crate) use payload::*;
pub use schema::schema;
pub(crate) use schema::{Line, SCHEMA_VERSION};
pub(crate) use text::{dollars, human, thousands};

/// Every event of a run. The variant's snake_case name is the line's `event`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(tag = "event", rename_all = "snake_case")]
pub(crate) enum RunEvent {
    /// The estimate of what is left to run, before the run starts (when a task is left).
    Estimate(EstimateEvent),
    /// A new run starts.
    Started(Started),
    /// A run resumes (`continue`, or the same command again).
    Resumed(Started),
    /// Processes a previous run left running were stopped.
    OrphansStopped(OrphansStopped),
    /// A done task's definition changed since; it does not run again by itself.
    ChangedAfterDone(TaskRef),
    /// Work no branch had was kept before its worktree was removed.
    Kept(Kept),
    /// A task's first attempt (or its first after `planrun retry`) starts.
    Start(Implementing),
    /// A task runs again, told why its attempt was sent back.
    Retry(Implementing),
    /// A task waits for its agent's rate limit.
    Waiting(Waiting),
    /// The scope check of an attempt starts.
    Scope(StageStarted),
    /// The tester's stage starts.
    Test(StageStarted),
    /// The verify commands start.
    Verify(StageStarted),
    /// The reviews start.
    Review(StageStarted),
    /// The commit starts.
    Commit(StageStarted),
    /// The merge onto the integration branch starts.
    Merge(StageStarted),
    /// An agent step ended: what it used.
    AgentUsage(AgentUsage),
    /// Changes outside the task's files (`--scope warn`).
    ScopeWarning(ScopeWarning),
    /// A review's advisory finding.
    Advisory(Advisory),
    /// A task's work was committed.
    Committed(Committed),
    /// A task's commits were merged onto the integration branch.
    Merged(Merged),
    /// A task passed every stage.
    Done(TaskRef),
    /// A task's step report was written.
    TaskReport(TaskReport),
    /// An attempt failed and goes back to its agent.
    Rework(TaskReason),
    /// An attempt was interrupted; it runs again.
    Interrupted(TaskReason),
    /// A task is blocked.
    Blocked(TaskReason),
    /// A task is skipped.
    Skipped(TaskRef),
    /// A task's implementer plans ahead (`--pipeline`) while a task it depends on is in review.
    Planning(TaskRef),
    /// A task passed its checks in its worktree and waits for the user's commit.
    WaitingForCommit(WaitingForCommit),
    /// The run pauses (`--commit manual`, `--batch N`): nothing new starts.
    Pausing(TaskReason),
    /// A task's budget is spent.
    TaskBudget(TaskBudget),
    /// The run's soft budget is reached: nothing new starts.
    BudgetSoft(BudgetSoft),
    /// The run's budget is spent: every agent stops.
    BudgetStop(Reason),
    /// The watchdog stops the run.
    WatchdogStop(Reason),
    /// No agent printed anything for too long.
    NoProgress(NoProgress),
    /// A task failed the same way twice in a row.
    RepeatedFailure(RepeatedFailure),
    /// A provider's rate limit pauses an agent.
    RateLimited(RateLimited),
    /// A provider failed: nothing new starts.
    ProviderError(TaskReason),
    /// An agent program cannot be started: nothing new starts.
    AgentUnavailable(TaskReason),
    /// The plan's verify commands run once more, after every task.
    FinalCheck(Empty),
    FinalCheckPassed(Empty),
    FinalCheckFailed(Reason),
    /// Interrupted once: running steps may finish.
    Draining(Draining),
    /// Interrupted twice: every running step stops.
    Stopping(Empty),
    /// The run ends.
    Finished(Finished),
}
