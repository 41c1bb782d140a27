//! The engine: the whole run's state as a plain struct that takes inputs (a step finished, the
//! user retried a task, Ctrl-C) and returns what changed and what to do next. Every change it
//! returns is meant to be journaled before any decision is acted on; replaying the journaled
//! changes rebuilds the same engine. Never awaits, spawns, reads files or knows about SQLite, so
//! `planrun run` and `planrun simulate` drive the very same code.

use crate::schedule::Conflicts;
use crate::state::{Stage, TaskState, Transition, TransitionError};
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::{BTreeSet, VecDeque};
use thiserror::Error;

mod ahead;

/// What the engine needs to know about one task.
#[derive(Debug, Clone, Default)]
pub struct TaskSpec {
    pub id: String,
    /// Indices of the tasks it depends on.
    pub deps: Vec<usize>,
    /// The stages after its implement step, in order (`Stage::ALL`'s order). Without any, a
    /// finished implement step is accepted at once.
    pub stages: Vec<Stage>,
    /// Whether the task starts done (the plan file says so and no run has touched it).
    pub done: bool,
}

/// Everything the engine is built from.
#[derive(Debug, Clone)]
pub struct Setup {
    pub tasks: Vec<TaskSpec>,
    /// For each task, its priority: higher starts first (the longest remaining path).
    pub priority: Vec<u32>,
    pub conflicts: Conflicts,
    /// How many tasks may run at once.
    pub limit: usize,
    /// Failed attempts a task may have before it is blocked (rework cycles).
    pub max_rework: u32,
    /// Whether the plan has verify commands of its own, run once more when every task is done.
    pub final_check: bool,
}

/// One change to the run's state. Journal these in order; replaying them rebuilds the engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// A task's state moved.
    Task { task: usize, transition: Transition },
    /// The final check started, passed or failed.
    FinalCheck { check: FinalCheck },
}

/// Where the plan-level final check is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum FinalCheck {
    NotRun,
    Running,
    Passed,
    Failed { reason: String },
}

/// What the runtime must do next. Act on these only after the changes of the same step are
/// journaled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Run the agent on `task`; `feedback` is why the previous attempt was sent back.
    Implement { task: usize, attempt: u32, feedback: Option<String> },
    /// Run stage `stage` of this attempt (the stages before it passed).
    Check { task: usize, attempt: u32, stage: Stage },
    /// Every task is done: run the plan's verify commands once more.
    FinalCheck,
    /// Let `task`'s implementer write its plan now, read-only, while a task it depends on is in
    /// review (`set_pipeline`); its code starts only once every dependency passed.
    Plan { task: usize },
}

/// What happened; the runtime reports these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The implement step of an attempt ended: `Ok` when the agent finished, `Err` with why not.
    Implemented { task: usize, attempt: u32, result: Result<(), String> },
    /// A stage of an attempt ended: `Ok` when it accepted the attempt, `Err` with why not.
    Checked { task: usize, attempt: u32, stage: Stage, result: Result<(), String> },
    /// A step was cut short (the drain deadline passed, or a second Ctrl-C).
    Interrupted { task: usize, attempt: u32, reason: String },
    /// The final check ended.
    FinalChecked { result: Result<(), String> },
    /// The user asks for a blocked, skipped or done task to run again.
    Retry { task: usize },
    /// The user skips a task that is not running.
    Skip { task: usize },
    /// The user fixed a blocked task's work by hand: its last attempt's checks and reviews run
    /// again (`planrun review TASK`), from the first stage.
    Review { task: usize },
    /// The task cannot go on (its budget is spent, the watchdog stopped it): blocked with the
    /// reason, also while an attempt of it runs (the runtime has stopped that attempt).
    Block { task: usize, reason: String },
    /// Stop starting work; let what runs finish.
    Drain,
    /// A planning step (`Decision::Plan`) ended: `Ok` when the task's plan is written.
    Planned { task: usize, result: Result<(), String> },
}

/// The result of one input: changes to journal, then decisions to act on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    pub changes: Vec<Change>,
    pub decisions: Vec<Decision>,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOutcome {
    /// Every task is done or skipped, and the final check (if any) passed.
    Done,
    /// Some tasks are blocked (their own failures); others may be waiting behind them.
    Blocked { tasks: Vec<usize> },
    /// Every task is done but the plan's verify commands failed at the end.
    FinalCheckFailed { reason: String },
    /// Drained on request with work left.
    Interrupted,
}

/// An input that does not fit the engine's state.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EngineError {
    #[error("there is no task number {0}")]
    NoSuchTask(usize),
    #[error("task `{task}`: {source}")]
    Transition {
        task: String,
        #[source]
        source: TransitionError,
    },
    #[error("task `{task}` is not running attempt {attempt}")]
    StaleAttempt { task: String, attempt: u32 },
    #[error("the final check is not running")]
    NoFinalCheck,
    #[error("task `{task}` is not planning")]
    NotPlanning { task: String },
    #[error("task `{task}` is not at stage {stage}")]
    WrongStage { task: String, stage: Stage },
}

/// The run's state.
#[derive(Debug, Clone)]
pub struct Engine {
    tasks: Vec<TaskSpec>,
    dependents: Vec<Vec<usize>>,
    states: Vec<TaskState>,
    /// Dependencies not yet done or skipped.
    waiting: Vec<usize>,
    priority: Vec<u32>,
    conflicts: Conflicts,
    /// Tasks waiting for a slot (ready, or rework with every dependency satisfied), best first.
    queue: BTreeSet<(Reverse<u32>, usize)>,
    running: Vec<usize>,
    /// Tasks neither done nor skipped (kept so the end of a run is seen without a scan).
    unfinished: usize,
    limit: usize,
    max_rework: u32,
    has_final_check: bool,
    final_check: FinalCheck,
    draining: bool,
    /// The stage each task in review is at.
    stage: Vec<Option<Stage>>,
    /// The task holding the exclusive stages (commit, merge), and those waiting for them in
    /// the order they arrived.
    exclusive: Option<usize>,
    exclusive_queue: VecDeque<usize>,
    /// The highest attempt each task has started, across retries: a start after a retry goes
    /// on from it, so attempt numbers (and the logs named after them) never repeat.
    highest: Vec<u32>,
    /// The tasks this invocation may start (`--only`, `--skip`); `None`: every task. Not
    /// journaled: a later invocation chooses again.
    selected: Option<Vec<bool>>,
    /// Whether a task may plan in a free slot while a dependency is in review (`--pipeline`).
    pipeline: bool,
    /// Tasks whose planning step runs (each holds a slot), and those with a plan written.
    /// Not journaled: the runtime says which plans exist (`set_planned`).
    planning: Vec<usize>,
    planned: Vec<bool>,
    /// Pending tasks a dependency of which went into review: those that may plan early.
    early: BTreeSet<(Reverse<u32>, usize)>,
}

impl Engine {
    /// A fresh run: every task pending.
    pub fn new(setup: Setup) -> Self {
        let n = setup.tasks.len();
        let mut dependents = vec![Vec::new(); n];
        for (i, t) in setup.tasks.iter().enumerate() {
            for &d in &t.deps {
                if let Some(list) = dependents.get_mut(d) {
                    list.push(i);
                }
            }
        }
        let states: Vec<TaskState> =
            setup.tasks.iter().map(|t| if t.done { TaskState::Done } else { TaskState::Pending }).collect();
        let waiting = setup
            .tasks
            .iter()
            .map(|t| t.deps.iter().filter(|&&d| !states.get(d).is_some_and(TaskState::satisfies_dependents)).count())
            .collect();
        let mut priority = setup.priority;
        priority.resize(n, 0);
        let unfinished = states.iter().filter(|s| !s.satisfies_dependents()).count();
        Self {
            unfinished,
            tasks: setup.tasks,
            dependents,
            states,
            waiting,
            priority,
            conflicts: setup.conflicts,
            queue: BTreeSet::new(),
            running: Vec::new(),
            limit: setup.limit.max(1),
            max_rework: setup.max_rework,
            has_final_check: setup.final_check,
            final_check: FinalCheck::NotRun,
            draining: false,
            stage: vec![None; n],
            exclusive: None,
            exclusive_queue: VecDeque::new(),
            highest: vec![0; n],
            selected: None,
            pipeline: false,
            planning: Vec::new(),
            planned: vec![false; n],
            early: BTreeSet::new(),
        }
    }

    /// Limits this invocation to the tasks `chosen` marks: the others do not start, a chosen
    /// task whose unfinished dependencies are all left out starts anyway (the user asked for
    /// it; `unmet_dependencies` names them first), and the run ends once the chosen tasks are
    /// done. Call before `resume`.
    pub fn select(&mut self, chosen: Vec<bool>) {
        self.selected = Some(chosen);
    }

    /// Adds `(task, dependency)` edges the plan does not state (its milestones' barriers): the
    /// waiting counts follow; a ready task that now waits goes back to pending on `resume`.
    /// Replay does not depend on them. Call before `resume`.
    pub fn add_deps(&mut self, edges: &[(usize, usize)]) {
        for &(task, dep) in edges {
            let Some(t) = self.tasks.get_mut(task) else { continue };
            if task == dep || dep >= self.states.len() || t.deps.contains(&dep) {
                continue;
            }
            t.deps.push(dep);
            if let Some(list) = self.dependents.get_mut(dep) {
                list.push(task);
            }
            if !self.states.get(dep).is_some_and(TaskState::satisfies_dependents) {
                self.adjust_waiting(task, false);
            }
        }
    }

    /// Gives the run a final check once every task is done (the project's own build and test
    /// commands, for a plan that has none). Call before `resume`.
    pub fn set_final_check(&mut self, on: bool) {
        self.has_final_check = on;
    }

    /// Whether `task` may start in this invocation.
    pub fn is_selected(&self, task: usize) -> bool {
        self.selected.as_ref().is_none_or(|s| s.get(task).copied().unwrap_or(false))
    }

    /// For each chosen task, its dependencies that are neither done (or skipped) nor chosen.
    pub fn unmet_dependencies(&self) -> Vec<(usize, Vec<usize>)> {
        let Some(sel) = &self.selected else { return Vec::new() };
        (0..self.states.len())
            .filter(|&t| sel.get(t).copied().unwrap_or(false))
            .filter(|&t| !self.states.get(t).is_some_and(TaskState::satisfies_dependents))
            .filter_map(|t| {
                let unmet: Vec<usize> =
                    self.tasks.get(t)?.deps.iter().copied().filter(|&d| self.left_out_and_open(d)).collect();
                (!unmet.is_empty()).then_some((t, unmet))
            })
            .collect()
    }

    /// A task left out of the selection that is neither done nor skipped.
    fn left_out_and_open(&self, task: usize) -> bool {
        !self.is_selected(task) && !self.states.get(task).is_some_and(TaskState::satisfies_dependents)
    }

    /// A chosen task whose unfinished dependencies are all left out: it starts anyway.
    fn forced(&self, task: usize) -> bool {
        self.selected.is_some()
            && self.is_selected(task)
            && self.tasks.get(task).is_some_and(|t| {
                t.deps
                    .iter()
                    .all(|&d| self.states.get(d).is_some_and(TaskState::satisfies_dependents) || !self.is_selected(d))
            })
    }

    /// Sets the stages of `task`'s pipeline (a run's configuration, known once the run's
    /// settings are read; replay does not depend on them).
    pub fn set_stages(&mut self, task: usize, stages: Vec<Stage>) {
        if let Some(t) = self.tasks.get_mut(task) {
            let mut stages = stages;
            stages.sort();
            stages.dedup();
            t.stages = stages;
        }
    }

    /// The stages of `task`'s pipeline.
    pub fn stages(&self, task: usize) -> &[Stage] {
        self.tasks.get(task).map_or(&[], |t| t.stages.as_slice())
    }

    /// The stage `task` is at, while it is in review.
    pub fn stage(&self, task: usize) -> Option<Stage> {
        self.stage.get(task).copied().flatten()
    }

    pub fn states(&self) -> &[TaskState] {
        &self.states
    }

    pub fn state(&self, task: usize) -> Option<&TaskState> {
        self.states.get(task)
    }

    pub fn id(&self, task: usize) -> &str {
        self.tasks.get(task).map_or("", |t| t.id.as_str())
    }

    pub fn running(&self) -> &[usize] {
        &self.running
    }

    pub fn final_check(&self) -> &FinalCheck {
        &self.final_check
    }

    pub fn is_draining(&self) -> bool {
        self.draining
    }

    pub fn max_rework(&self) -> u32 {
        self.max_rework
    }

    /// Changes the rework limit (each run may set its own; replay uses the one in force).
    pub fn set_max_rework(&mut self, max_rework: u32) {
        self.max_rework = max_rework;
    }

    /// Applies a change read back from the journal, without deciding anything.
    pub fn replay(&mut self, change: &Change) -> Result<(), EngineError> {
        match change {
            Change::Task { task, transition } => self.transition(*task, transition.clone()),
            Change::FinalCheck { check } => {
                self.final_check = check.clone();
                Ok(())
            }
        }
    }

    /// After a replay: attempts that were in flight when the last run stopped go on at the
    /// stage they were at (every stage after the implement step can run again: checks read,
    /// the commit and the merge find their own earlier work), or, stopped during their
    /// implement step, become new attempts; ready tasks whose dependencies are no longer all
    /// satisfied (the plan changed) wait again, a final check that did not pass will run again,
    /// and work is scheduled.
    pub fn resume(&mut self) -> Output {
        let mut out = Output::default();
        let mut turns: Vec<(Reverse<Stage>, usize)> = Vec::new();
        for task in self.running.clone() {
            match (self.states.get(task), self.stage(task)) {
                // The run's settings changed since (e.g. `--commit manual`, `--reviews none`):
                // a stage the task no longer has is not run; it moves on to its next one.
                (Some(TaskState::InReview { attempt, .. }), Some(stage)) if !self.stages(task).contains(&stage) => {
                    let attempt = *attempt;
                    if self.exclusive == Some(task) {
                        self.exclusive = None;
                    }
                    let _ = self.next_stage(&mut out, task, attempt, Some(stage));
                }
                (Some(TaskState::InReview { attempt, .. }), Some(stage)) => {
                    let attempt = *attempt;
                    if stage.exclusive() {
                        if self.exclusive != Some(task) && !self.exclusive_queue.contains(&task) {
                            turns.push((Reverse(stage), task));
                        }
                    } else {
                        out.decisions.push(Decision::Check { task, attempt, stage });
                    }
                }
                _ => {
                    let reason = "the previous run stopped during this attempt".to_owned();
                    self.change(&mut out, task, Transition::Interrupt { reason });
                }
            }
        }
        // A task that was merging finishes first: it held the turn when the run stopped.
        turns.sort();
        self.exclusive_queue.extend(turns.into_iter().map(|(_, t)| t));
        for task in 0..self.states.len() {
            let waiting = self.waiting.get(task).copied().unwrap_or(0);
            match self.states.get(task) {
                Some(TaskState::Ready) if waiting > 0 && !self.forced(task) => {
                    self.change(&mut out, task, Transition::Wait);
                }
                Some(TaskState::Pending) if waiting == 0 || self.forced(task) => {
                    self.change(&mut out, task, Transition::Ready);
                }
                _ => {}
            }
        }
        if !matches!(self.final_check, FinalCheck::NotRun | FinalCheck::Passed) {
            self.final_check = FinalCheck::NotRun;
            out.changes.push(Change::FinalCheck { check: FinalCheck::NotRun });
        }
        self.schedule(&mut out);
        out
    }

    /// Starts a fresh run: tasks without dependencies become ready and the first ones start.
    pub fn start(&mut self) -> Output {
        self.resume()
    }

    /// Takes one input and returns what changed and what to do.
    pub fn handle(&mut self, input: Input) -> Result<Output, EngineError> {
        let mut out = Output::default();
        match input {
            Input::Implemented { task, attempt, result } => {
                self.expect_attempt(task, attempt, false)?;
                match result {
                    Ok(()) => {
                        self.try_change(&mut out, task, Transition::Submit)?;
                        self.next_stage(&mut out, task, attempt, None)?;
                    }
                    Err(reason) => self.try_change(&mut out, task, Transition::Fail { reason })?,
                }
            }
            Input::Checked { task, attempt, stage, result } => {
                self.expect_attempt(task, attempt, true)?;
                if self.stage(task) != Some(stage) || (stage.exclusive() && self.exclusive != Some(task)) {
                    return Err(EngineError::WrongStage { task: self.id(task).to_owned(), stage });
                }
                match result {
                    Ok(()) => self.next_stage(&mut out, task, attempt, Some(stage))?,
                    Err(reason) => self.try_change(&mut out, task, Transition::Fail { reason })?,
                }
            }
            Input::Interrupted { task, attempt, reason } => {
                let in_review = matches!(self.states.get(task), Some(TaskState::InReview { .. }));
                self.expect_attempt(task, attempt, in_review)?;
                self.try_change(&mut out, task, Transition::Interrupt { reason })?;
            }
            Input::FinalChecked { result } => {
                if self.final_check != FinalCheck::Running {
                    return Err(EngineError::NoFinalCheck);
                }
                let check = match result {
                    Ok(()) => FinalCheck::Passed,
                    Err(reason) => FinalCheck::Failed { reason },
                };
                self.final_check = check.clone();
                out.changes.push(Change::FinalCheck { check });
            }
            Input::Retry { task } => self.try_change(&mut out, task, Transition::Retry)?,
            Input::Skip { task } => self.try_change(&mut out, task, Transition::Skip)?,
            Input::Review { task } => {
                let attempt = self.highest.get(task).copied().unwrap_or(0);
                self.try_change(&mut out, task, Transition::Review { attempt })?;
                self.next_stage(&mut out, task, attempt, None)?;
            }
            Input::Block { task, reason } => self.try_change(&mut out, task, Transition::Block { reason })?,
            Input::Drain => self.draining = true,
            Input::Planned { task, result } => {
                if !self.planning.contains(&task) {
                    return Err(EngineError::NotPlanning { task: self.id(task).to_owned() });
                }
                self.planning.retain(|&t| t != task);
                if result.is_ok() {
                    self.set_planned(task);
                }
            }
        }
        self.schedule(&mut out);
        Ok(out)
    }

    /// How the run ended, once nothing runs and nothing more can start; `None` before that.
    pub fn outcome(&self) -> Option<RunOutcome> {
        if !self.running.is_empty() || !self.planning.is_empty() || self.final_check == FinalCheck::Running {
            return None;
        }
        if self.unfinished == 0 {
            return match &self.final_check {
                FinalCheck::Failed { reason } => Some(RunOutcome::FinalCheckFailed { reason: reason.clone() }),
                FinalCheck::Passed => Some(RunOutcome::Done),
                FinalCheck::NotRun if !self.has_final_check => Some(RunOutcome::Done),
                FinalCheck::NotRun | FinalCheck::Running => {
                    if self.draining {
                        Some(RunOutcome::Interrupted)
                    } else {
                        None
                    }
                }
            };
        }
        if self.draining {
            return Some(RunOutcome::Interrupted);
        }
        if self.queue.iter().any(|&(_, t)| self.is_selected(t)) {
            return None;
        }
        // Every chosen task is done: the run did what it was asked.
        if let Some(sel) = &self.selected {
            let chosen_done = self.states.iter().zip(sel).all(|(s, &chosen)| !chosen || s.satisfies_dependents());
            if chosen_done {
                return Some(RunOutcome::Done);
            }
        }
        let blocked: Vec<usize> = self
            .states
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s, TaskState::Blocked { .. }))
            .map(|(i, _)| i)
            .collect();
        // With nothing running and nothing queued, unfinished tasks wait behind blocked ones
        // (validated plans have no cycles).
        Some(RunOutcome::Blocked { tasks: blocked })
    }

    /// The blocked task that keeps `task` from starting, looking through its dependencies
    /// transitively; `None` when nothing blocked is upstream.
    pub fn blocked_upstream(&self, task: usize) -> Option<usize> {
        let mut seen = vec![false; self.states.len()];
        let mut stack: Vec<usize> = self.tasks.get(task).map(|t| t.deps.clone()).unwrap_or_default();
        while let Some(d) = stack.pop() {
            if std::mem::replace(seen.get_mut(d)?, true) {
                continue;
            }
            match self.states.get(d) {
                Some(TaskState::Blocked { .. }) => return Some(d),
                Some(s) if !s.satisfies_dependents() => {
                    stack.extend(self.tasks.get(d).map(|t| t.deps.iter().copied()).into_iter().flatten());
                }
                _ => {}
            }
        }
        None
    }

    /// Moves an attempt in review on from `after` (or from its implement step) to its next
    /// stage, or passes it after the last. An exclusive stage waits its turn.
    fn next_stage(
        &mut self,
        out: &mut Output,
        task: usize,
        attempt: u32,
        after: Option<Stage>,
    ) -> Result<(), EngineError> {
        let next = self.tasks.get(task).and_then(|t| t.stages.iter().copied().find(|&s| after.is_none_or(|a| s > a)));
        let Some(stage) = next else {
            return self.try_change(out, task, Transition::Pass);
        };
        self.try_change(out, task, Transition::Advance { stage })?;
        if !stage.exclusive() || self.exclusive == Some(task) {
            out.decisions.push(Decision::Check { task, attempt, stage });
        } else {
            self.exclusive_queue.push_back(task);
        }
        Ok(())
    }

    /// Gives the exclusive stages to the next task waiting for them, when nobody holds them.
    fn dispatch_exclusive(&mut self, out: &mut Output) {
        while self.exclusive.is_none() {
            let Some(task) = self.exclusive_queue.pop_front() else { return };
            let (Some(TaskState::InReview { attempt, .. }), Some(stage)) = (self.states.get(task), self.stage(task))
            else {
                continue;
            };
            let attempt = *attempt;
            self.exclusive = Some(task);
            out.decisions.push(Decision::Check { task, attempt, stage });
        }
    }

    fn expect_attempt(&self, task: usize, attempt: u32, in_review: bool) -> Result<(), EngineError> {
        let state = self.states.get(task).ok_or(EngineError::NoSuchTask(task))?;
        let ok = match state {
            TaskState::InProgress { attempt: a, .. } => !in_review && *a == attempt,
            TaskState::InReview { attempt: a, .. } => in_review && *a == attempt,
            _ => false,
        };
        if ok { Ok(()) } else { Err(EngineError::StaleAttempt { task: self.id(task).to_owned(), attempt }) }
    }

    fn try_change(&mut self, out: &mut Output, task: usize, transition: Transition) -> Result<(), EngineError> {
        self.transition(task, transition.clone())?;
        out.changes.push(Change::Task { task, transition });
        if self.final_check != FinalCheck::NotRun {
            // The plan's state moved after the final check: it no longer speaks for the run.
            self.final_check = FinalCheck::NotRun;
            out.changes.push(Change::FinalCheck { check: FinalCheck::NotRun });
        }
        Ok(())
    }

    /// A change the engine itself chose, so it fits the state by construction.
    fn change(&mut self, out: &mut Output, task: usize, transition: Transition) {
        // Cannot fail: the engine only chooses transitions that fit the state it holds.
        let _ = self.try_change(out, task, transition);
    }

    /// Applies one transition and keeps the derived indexes (waiting counts, queue, running) true.
    fn transition(&mut self, task: usize, transition: Transition) -> Result<(), EngineError> {
        let advance = match &transition {
            Transition::Advance { stage } => Some(*stage),
            _ => None,
        };
        let start = transition == Transition::Start;
        let current = self.states.get(task).ok_or(EngineError::NoSuchTask(task))?;
        let was_satisfying = current.satisfies_dependents();
        let mut next = current
            .apply(transition, self.max_rework)
            .map_err(|source| EngineError::Transition { task: self.id(task).to_owned(), source })?;
        if let (true, TaskState::InProgress { attempt, .. }, Some(highest)) =
            (start, &mut next, self.highest.get_mut(task))
        {
            *attempt = (*attempt).max(highest.saturating_add(1));
            *highest = *attempt;
        }
        if let Some(slot) = self.stage.get_mut(task) {
            *slot = advance;
        }
        // The exclusive stages stay with their holder from the commit to the merge; any other
        // move gives them up, and a task leaving review stops waiting for them.
        if self.exclusive == Some(task) && !advance.is_some_and(Stage::exclusive) {
            self.exclusive = None;
        }
        if advance.is_none() {
            self.exclusive_queue.retain(|&t| t != task);
        }
        let key = (Reverse(self.priority.get(task).copied().unwrap_or(0)), task);
        self.queue.remove(&key);
        self.running.retain(|&t| t != task);
        let waiting = self.waiting.get(task).copied().unwrap_or(0);
        let forced = self.forced(task);
        match &next {
            TaskState::Ready | TaskState::Rework { .. } if waiting == 0 || forced => {
                self.queue.insert(key);
            }
            s if s.is_running() => self.running.push(task),
            _ => {}
        }
        let now_satisfying = next.satisfies_dependents();
        if let Some(slot) = self.states.get_mut(task) {
            *slot = next;
        }
        if was_satisfying != now_satisfying {
            if now_satisfying {
                self.unfinished = self.unfinished.saturating_sub(1);
            } else {
                self.unfinished += 1;
            }
            for i in 0..self.dependents.get(task).map_or(0, Vec::len) {
                let Some(&d) = self.dependents.get(task).and_then(|ds| ds.get(i)) else { continue };
                self.adjust_waiting(d, now_satisfying);
            }
        }
        Ok(())
    }

    fn adjust_waiting(&mut self, task: usize, satisfied: bool) {
        let Some(w) = self.waiting.get_mut(task) else { return };
        *w = if satisfied { w.saturating_sub(1) } else { w.saturating_add(1) };
        let now = *w;
        let key = (Reverse(self.priority.get(task).copied().unwrap_or(0)), task);
        let forced = self.forced(task);
        match self.states.get(task) {
            Some(TaskState::Ready | TaskState::Rework { .. }) if now == 0 || forced => {
                self.queue.insert(key);
            }
            _ => {
                self.queue.remove(&key);
            }
        }
    }

    /// Marks newly ready tasks, starts what fits, and asks for the final check when all is done.
    fn schedule(&mut self, out: &mut Output) {
        // Tasks whose last dependency was just satisfied. Looking only at dependents of the
        // changes in this step keeps a 10,000-task run linear.
        let mut candidates: Vec<usize> = Vec::new();
        for c in &out.changes {
            if let Change::Task { task, transition: Transition::Pass | Transition::Skip } = c {
                candidates.extend(self.dependents.get(*task).into_iter().flatten().copied());
            }
            if let Change::Task { task, transition: Transition::Retry } = c {
                candidates.push(*task);
            }
        }
        if self.pipeline {
            for c in &out.changes {
                if let Change::Task { task, transition: Transition::Submit } = c {
                    for &d in self.dependents.get(*task).into_iter().flatten() {
                        if self.states.get(d) == Some(&TaskState::Pending)
                            && !self.planned.get(d).copied().unwrap_or(true)
                        {
                            self.early.insert((Reverse(self.priority.get(d).copied().unwrap_or(0)), d));
                        }
                    }
                }
            }
        }
        for task in candidates {
            if self.states.get(task) == Some(&TaskState::Pending)
                && (self.waiting.get(task) == Some(&0) || self.forced(task))
            {
                self.change(out, task, Transition::Ready);
            }
        }
        // A commit or merge waiting its turn belongs to an attempt already running: it goes on
        // while draining, so a drained run leaves no task half-integrated.
        self.dispatch_exclusive(out);
        if !self.draining {
            self.dispatch(out);
        }
        if self.running.is_empty()
            && self.has_final_check
            && !self.draining
            && self.final_check == FinalCheck::NotRun
            && self.unfinished == 0
        {
            self.final_check = FinalCheck::Running;
            out.changes.push(Change::FinalCheck { check: FinalCheck::Running });
            out.decisions.push(Decision::FinalCheck);
        }
    }

    fn dispatch(&mut self, out: &mut Output) {
        let busy = self.running.len() + self.planning.len();
        if busy >= self.limit || self.running.iter().any(|&r| self.conflicts.runs_alone(r)) {
            // A plan written ahead is read-only, in a worktree of its own: it may go on beside
            // a task that runs alone.
            self.dispatch_plans(out);
            return;
        }
        let mut picked = Vec::new();
        for &(_, task) in &self.queue {
            if busy + picked.len() >= self.limit {
                break;
            }
            if !self.is_selected(task) || self.planning.contains(&task) {
                continue;
            }
            if self.running.iter().chain(&picked).any(|&o| self.conflicts.clash(task, o)) {
                continue;
            }
            picked.push(task);
            if self.conflicts.runs_alone(task) {
                break;
            }
        }
        for task in picked {
            let feedback = match self.states.get(task) {
                Some(TaskState::Rework { reason, .. }) => Some(reason.clone()),
                _ => None,
            };
            self.change(out, task, Transition::Start);
            let attempt = self.states.get(task).and_then(TaskState::attempt).unwrap_or(1);
            out.decisions.push(Decision::Implement { task, attempt, feedback });
        }
        self.dispatch_plans(out);
    }
}
