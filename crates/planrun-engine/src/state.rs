//! The state of one task and every transition between states, each checking its precondition.
//! One enum; each variant carries its own data. Owns no scheduling and no I/O.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Where one task is in its pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskState {
    /// Waiting for its dependencies.
    Pending,
    /// Its dependencies are done; waiting for a free slot.
    Ready,
    /// An agent is implementing it. Attempt numbers start at 1 and grow with every start;
    /// `failures` counts the attempts that were rejected (an interrupted attempt is not one).
    InProgress { attempt: u32, failures: u32 },
    /// Implemented; being verified and reviewed.
    InReview { attempt: u32, failures: u32 },
    /// Attempt `attempt` failed or was interrupted for `reason`; the next attempt gets the
    /// reason as feedback.
    Rework { attempt: u32, failures: u32, reason: String },
    /// Finished and accepted. Never run again unless retried by the user.
    Done,
    /// Cannot go on without the user.
    Blocked { reason: String },
    /// The user chose to skip it; its dependents go on as if it were done.
    Skipped,
}

impl TaskState {
    /// The state's name as `planrun status` prints it.
    pub fn name(&self) -> &'static str {
        match self {
            TaskState::Pending => "pending",
            TaskState::Ready => "ready",
            TaskState::InProgress { .. } => "in_progress",
            TaskState::InReview { .. } => "in_review",
            TaskState::Rework { .. } => "rework",
            TaskState::Done => "done",
            TaskState::Blocked { .. } => "blocked",
            TaskState::Skipped => "skipped",
        }
    }

    /// Whether dependents may start: the task is done or skipped.
    pub fn satisfies_dependents(&self) -> bool {
        matches!(self, TaskState::Done | TaskState::Skipped)
    }

    /// Whether the task holds a slot (an agent or a verification is running for it).
    pub fn is_running(&self) -> bool {
        matches!(self, TaskState::InProgress { .. } | TaskState::InReview { .. })
    }

    /// The attempt in progress, in review or last failed, if any.
    pub fn attempt(&self) -> Option<u32> {
        match self {
            TaskState::InProgress { attempt, .. }
            | TaskState::InReview { attempt, .. }
            | TaskState::Rework { attempt, .. } => Some(*attempt),
            _ => None,
        }
    }
}

/// A stage of a task's pipeline after its implement step, in the order they run. Which ones a
/// task goes through is configured per run; each is one `Check` decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The changed files against the task's declared ones.
    Scope,
    /// An agent writes the tests the implementation lacks.
    Test,
    /// planrun runs the verify commands.
    Verify,
    /// The task review and the code review, side by side.
    Review,
    /// The task's commit.
    Commit,
    /// The task's commit onto the integration branch.
    Merge,
}

impl Stage {
    pub const ALL: [Stage; 6] = [Stage::Scope, Stage::Test, Stage::Verify, Stage::Review, Stage::Commit, Stage::Merge];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Scope => "scope",
            Stage::Test => "test",
            Stage::Verify => "verify",
            Stage::Review => "review",
            Stage::Commit => "commit",
            Stage::Merge => "merge",
        }
    }

    /// Stages that one task at a time may be in, across the run: they write to the shared
    /// history (the commit and the merge queue).
    pub fn exclusive(self) -> bool {
        matches!(self, Stage::Commit | Stage::Merge)
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Something that happens to a task. Journaled as JSON, so variant and field names are stable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Transition {
    /// All dependencies are satisfied.
    Ready,
    /// A ready task's dependencies are no longer all satisfied (the plan changed between runs).
    Wait,
    /// A slot was given to it: the next attempt starts.
    Start,
    /// The implement step finished; verification and review begin.
    Submit,
    /// An attempt in review moves on to `stage` (the stages before it passed).
    Advance { stage: Stage },
    /// Verification or review rejected the attempt.
    Fail { reason: String },
    /// The attempt was cut short (planrun stopped or crashed); it does not count as a failure.
    Interrupt { reason: String },
    /// Verification and review accepted the attempt.
    Pass,
    /// It cannot go on: its own budget is spent, the watchdog stopped it, or its attempts keep
    /// failing the same way (a running attempt is stopped first).
    Block { reason: String },
    /// The user skips it.
    Skip,
    /// The user asks for it to run again.
    Retry,
    /// The user fixed a blocked task's work by hand: attempt `attempt` goes back to its checks
    /// and reviews, without the agent.
    Review { attempt: u32 },
}

/// A transition that does not apply to the state the task is in.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("a task that is {from} cannot take `{transition}`")]
pub struct TransitionError {
    pub from: &'static str,
    pub transition: &'static str,
}

impl Transition {
    fn name(&self) -> &'static str {
        match self {
            Transition::Ready => "ready",
            Transition::Wait => "wait",
            Transition::Start => "start",
            Transition::Submit => "submit",
            Transition::Advance { .. } => "advance",
            Transition::Fail { .. } => "fail",
            Transition::Interrupt { .. } => "interrupt",
            Transition::Pass => "pass",
            Transition::Block { .. } => "block",
            Transition::Skip => "skip",
            Transition::Retry => "retry",
            Transition::Review { .. } => "review",
        }
    }
}

impl TaskState {
    /// The state after `transition`. A failure after `max_rework` rework cycles blocks the task:
    /// with `max_rework = 3`, three failures send it back to rework and a fourth blocks it.
    pub fn apply(&self, transition: Transition, max_rework: u32) -> Result<TaskState, TransitionError> {
        let refuse = || TransitionError { from: self.name(), transition: transition.name() };
        let next = match (self, &transition) {
            (TaskState::Pending, Transition::Ready) => TaskState::Ready,
            (TaskState::Ready, Transition::Wait) => TaskState::Pending,
            (TaskState::Ready, Transition::Start) => TaskState::InProgress { attempt: 1, failures: 0 },
            (TaskState::Rework { attempt, failures, .. }, Transition::Start) => {
                TaskState::InProgress { attempt: attempt.saturating_add(1), failures: *failures }
            }
            (TaskState::InProgress { attempt, failures }, Transition::Submit) => {
                TaskState::InReview { attempt: *attempt, failures: *failures }
            }
            (TaskState::InReview { attempt, failures }, Transition::Advance { .. }) => {
                TaskState::InReview { attempt: *attempt, failures: *failures }
            }
            (
                TaskState::InProgress { attempt, failures } | TaskState::InReview { attempt, failures },
                Transition::Fail { reason },
            ) => {
                let failures = failures.saturating_add(1);
                if failures > max_rework {
                    let times = if failures == 1 { "once".to_owned() } else { format!("{failures} times") };
                    TaskState::Blocked { reason: format!("failed {times}; last: {reason}") }
                } else {
                    TaskState::Rework { attempt: *attempt, failures, reason: reason.clone() }
                }
            }
            (
                TaskState::InProgress { attempt, failures } | TaskState::InReview { attempt, failures },
                Transition::Interrupt { reason },
            ) => TaskState::Rework { attempt: *attempt, failures: *failures, reason: reason.clone() },
            (TaskState::InProgress { .. } | TaskState::InReview { .. }, Transition::Pass) => TaskState::Done,
            (
                TaskState::Pending
                | TaskState::Ready
                | TaskState::Rework { .. }
                | TaskState::InProgress { .. }
                | TaskState::InReview { .. },
                Transition::Block { reason },
            ) => TaskState::Blocked { reason: reason.clone() },
            (
                TaskState::Pending | TaskState::Ready | TaskState::Rework { .. } | TaskState::Blocked { .. },
                Transition::Skip,
            ) => TaskState::Skipped,
            (TaskState::Blocked { .. } | TaskState::Skipped | TaskState::Done, Transition::Retry) => TaskState::Pending,
            (TaskState::Blocked { .. }, Transition::Review { attempt }) if *attempt > 0 => {
                TaskState::InReview { attempt: *attempt, failures: 0 }
            }
            _ => return Err(refuse()),
        };
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(r: &str) -> Transition {
        Transition::Fail { reason: r.to_owned() }
    }

    #[test]
    fn a_task_passes_through_its_pipeline() {
        let s = TaskState::Pending.apply(Transition::Ready, 3).unwrap();
        let s = s.apply(Transition::Start, 3).unwrap();
        assert_eq!(s, TaskState::InProgress { attempt: 1, failures: 0 });
        let s = s.apply(Transition::Submit, 3).unwrap();
        assert_eq!(s.name(), "in_review");
        let s = s.apply(Transition::Advance { stage: Stage::Verify }, 3).unwrap();
        assert_eq!(s, TaskState::InReview { attempt: 1, failures: 0 }, "a stage moves no state");
        assert_eq!(s.apply(Transition::Pass, 3).unwrap(), TaskState::Done);
        assert!(
            TaskState::InProgress { attempt: 1, failures: 0 }
                .apply(Transition::Advance { stage: Stage::Merge }, 3)
                .is_err()
        );
    }

    #[test]
    fn rework_is_limited() {
        let mut s = TaskState::Ready;
        for attempt in 1..=3 {
            s = s.apply(Transition::Start, 3).unwrap();
            assert_eq!(s.attempt(), Some(attempt));
            s = s.apply(fail("tests failed"), 3).unwrap();
            assert_eq!(s, TaskState::Rework { attempt, failures: attempt, reason: "tests failed".into() });
        }
        s = s.apply(Transition::Start, 3).unwrap();
        let blocked = s.apply(fail("still failing"), 3).unwrap();
        assert_eq!(blocked, TaskState::Blocked { reason: "failed 4 times; last: still failing".into() });
        // With no rework allowed, the first failure blocks.
        let first = TaskState::InProgress { attempt: 1, failures: 0 }.apply(fail("x"), 0).unwrap();
        assert_eq!(first, TaskState::Blocked { reason: "failed once; last: x".into() });
    }

    #[test]
    fn an_interrupted_attempt_is_not_a_failure() {
        let interrupt = Transition::Interrupt { reason: "planrun stopped".into() };
        let s = TaskState::InReview { attempt: 2, failures: 1 }.apply(interrupt.clone(), 1).unwrap();
        assert_eq!(s, TaskState::Rework { attempt: 2, failures: 1, reason: "planrun stopped".into() });
        let s = s.apply(Transition::Start, 1).unwrap();
        assert_eq!(s, TaskState::InProgress { attempt: 3, failures: 1 }, "a new attempt number, same failures");
        assert!(s.apply(interrupt.clone(), 1).is_ok());
        assert!(TaskState::Ready.apply(interrupt, 1).is_err());
    }

    #[test]
    fn done_is_final_until_retried() {
        for t in [Transition::Start, Transition::Ready, fail("x"), Transition::Pass, Transition::Skip] {
            let e = TaskState::Done.apply(t, 3).unwrap_err();
            assert_eq!(e.from, "done");
        }
        assert_eq!(TaskState::Done.apply(Transition::Retry, 3).unwrap(), TaskState::Pending);
    }

    #[test]
    fn running_tasks_cannot_be_skipped_or_started_again() {
        let running = TaskState::InProgress { attempt: 2, failures: 1 };
        assert!(running.apply(Transition::Skip, 3).is_err());
        assert!(running.apply(Transition::Start, 3).is_err());
        assert!(TaskState::Pending.apply(Transition::Start, 3).is_err(), "dependencies first");
        let e = TaskState::Pending.apply(Transition::Pass, 3).unwrap_err();
        assert_eq!(e.to_string(), "a task that is pending cannot take `pass`");
    }

    #[test]
    fn skipped_and_done_satisfy_dependents() {
        assert!(TaskState::Done.satisfies_dependents());
        assert!(TaskState::Skipped.satisfies_dependents());
        assert!(!TaskState::Blocked { reason: String::new() }.satisfies_dependents());
        assert!(TaskState::InReview { attempt: 1, failures: 0 }.is_running());
    }
}
