//! The pipeline's choices as the configuration and the command line give them: where tasks
//! work, what an edit outside a task's files does, who commits, which reviews run.

use serde::{Deserialize, Serialize};

/// Where tasks work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkspaceMode {
    /// One working tree for every task; tasks whose files overlap never run together.
    Shared,
    /// Each task in its own git worktree and branch, merged onto the integration branch one at
    /// a time.
    Worktree,
}

impl WorkspaceMode {
    pub(crate) fn name(self) -> &'static str {
        match self {
            WorkspaceMode::Shared => "shared",
            WorkspaceMode::Worktree => "worktree",
        }
    }
}

/// What to do with changes outside a task's declared files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopePolicy {
    /// Send the task back to rework with the list.
    Strict,
    /// Report them and go on.
    Warn,
    /// Do not check.
    Off,
}

impl ScopePolicy {
    pub(crate) fn name(self) -> &'static str {
        match self {
            ScopePolicy::Strict => "strict",
            ScopePolicy::Warn => "warn",
            ScopePolicy::Off => "off",
        }
    }
}

/// Who commits a task's work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommitMode {
    /// planrun commits each task that passes (and merges it in worktree mode).
    Auto,
    /// planrun pauses after each task with its report; you inspect and commit, then
    /// `planrun continue`.
    Manual,
}

/// What happens when a task's checks fail or a review finds a blocking problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFail {
    /// The run pauses (exit 5) with the findings and the choices: `planrun retry TASK --note`,
    /// `planrun review TASK`, `planrun skip TASK`, or stop.
    Ask,
    /// The task goes back to its agent with the reason, up to `--max-rework` times.
    Rework,
}

/// How a task's reviews run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewOrder {
    /// The task review and the code review at the same time.
    Parallel,
    /// The task review first; the code review only when the task review passed.
    Sequential,
}

/// The review a reviewer agent gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewKind {
    /// Does the work do what the task asks, completely, meeting its acceptance criteria?
    Task,
    /// Is the code correct, clear, tested and safe?
    Code,
    /// No reviews.
    None,
}

impl ReviewKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            ReviewKind::Task => "task",
            ReviewKind::Code => "code",
            ReviewKind::None => "none",
        }
    }
}
