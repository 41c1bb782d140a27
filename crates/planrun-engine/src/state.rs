//! The state of one task and every transition between states, each checking its precondition.
//! One enum; each variant carries its own data. Owns no scheduling and no I/O.

use thiserror::Error;

/// Where one task is in its pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskState {
    /// Waiting for its dependencies.
    Pending,
    /// Its dependencies are done; waiting for a free slot.
    Ready,
    /// An agent is implementing it (attempt numbers start at 1).
    InProgress { attempt: u32 },
    /// Implemented; being verified and reviewed.
    InReview { attempt: u32 },
    /// Attempt `attempt` failed for `reason`; the next attempt gets the reason as feedback.
    Rework { attempt: u32, reason: String },
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
            TaskState::InProgress { attempt } | TaskState::InReview { attempt } | TaskState::Rework { attempt, .. } => {
                Some(*attempt)
            }
            _ => None,
        }
    }
}

/// Something that happens to a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// All dependencies are satisfied.
    Ready,
    /// A slot was given to it: the next attempt starts.
    Start,
    /// The implement step finished; verification and review begin.
    Submit,
    /// Verification or review rejected the attempt.
    Fail { reason: String },
    /// Verification and review accepted the attempt.
    Pass,
    /// It cannot go on (e.g. a dependency is blocked).
    Block { reason: String },
    /// The user skips it.
    Skip,
    /// The user asks for it to run again.
    Retry,
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
            Transition::Start => "start",
            Transition::Submit => "submit",
            Transition::Fail { .. } => "fail",
            Transition::Pass => "pass",
            Transition::Block { .. } => "block",
            Transition::Skip => "skip",
            Transition::Retry => "retry",
        }
    }
}

impl TaskState {
    /// The state after `transition`. A failure after `max_rework` rework cycles blocks the task:
    /// with `max_rework = 3`, attempts 1 to 3 fail into rework and a failed fourth attempt blocks.
    pub fn apply(&self, transition: Transition, max_rework: u32) -> Result<TaskState, TransitionError> {
        let refuse = || TransitionError { from: self.name(), transition: transition.name() };
        let next = match (self, &transition) {
            (TaskState::Pending, Transition::Ready) => TaskState::Ready,
            (TaskState::Ready, Transition::Start) => TaskState::InProgress { attempt: 1 },
            (TaskState::Rework { attempt, .. }, Transition::Start) => {
                TaskState::InProgress { attempt: attempt.saturating_add(1) }
            }
            (TaskState::InProgress { attempt }, Transition::Submit) => TaskState::InReview { attempt: *attempt },
            (TaskState::InProgress { attempt } | TaskState::InReview { attempt }, Transition::Fail { reason }) => {
                if *attempt > max_rework {
                    TaskState::Blocked { reason: format!("failed {attempt} attempts; last: {reason}") }
                } else {
                    TaskState::Rework { attempt: *attempt, reason: reason.clone() }
                }
            }
            (TaskState::InProgress { .. } | TaskState::InReview { .. }, Transition::Pass) => TaskState::Done,
            (TaskState::Pending | TaskState::Ready | TaskState::Rework { .. }, Transition::Block { reason }) => {
                TaskState::Blocked { reason: reason.clone() }
            }
            (
                TaskState::Pending | TaskState::Ready | TaskState::Rework { .. } | TaskState::Blocked { .. },
                Transition::Skip,
            ) => TaskState::Skipped,
            (TaskState::Blocked { .. } | TaskState::Skipped | TaskState::Done, Transition::Retry) => TaskState::Pending,
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
        assert_eq!(s, TaskState::InProgress { attempt: 1 });
        let s = s.apply(Transition::Submit, 3).unwrap();
        assert_eq!(s.name(), "in_review");
        assert_eq!(s.apply(Transition::Pass, 3).unwrap(), TaskState::Done);
    }

    #[test]
    fn rework_is_limited() {
        let mut s = TaskState::Ready;
        for attempt in 1..=3 {
            s = s.apply(Transition::Start, 3).unwrap();
            assert_eq!(s.attempt(), Some(attempt));
            s = s.apply(fail("tests failed"), 3).unwrap();
            assert_eq!(s, TaskState::Rework { attempt, reason: "tests failed".into() });
        }
        s = s.apply(Transition::Start, 3).unwrap();
        let blocked = s.apply(fail("still failing"), 3).unwrap();
        assert_eq!(blocked, TaskState::Blocked { reason: "failed 4 attempts; last: still failing".into() });
        // With no rework allowed, the first failure blocks.
        let first = TaskState::InProgress { attempt: 1 }.apply(fail("x"), 0).unwrap();
        assert_eq!(first.name(), "blocked");
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
        let running = TaskState::InProgress { attempt: 2 };
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
        assert!(TaskState::InReview { attempt: 1 }.is_running());
    }
}
