//! Run policy: what a run may spend and when it must stop, as rules on a virtual clock. The
//! run's and each task's budget (soft: start nothing new; hard: stop every agent), the
//! watchdog (agents that print nothing; a task failing the same way twice), agents paused by
//! their provider's rate limits (the wait it names, else a backoff that doubles), usage windows
//! per agent, and how the run ends (its outcome's name and exit code).
//!
//! Like the engine, this never reads a clock, a file or a process: every input carries the time
//! in milliseconds, usage arrives as reports of what a running agent has used so far, and the
//! answers are values the dispatcher acts on. The same rules therefore run in unit tests that
//! advance time by hand and in `simulate`.

use crate::RunOutcome;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// Tokens and dollars.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Spend {
    /// Input + output + cache tokens.
    pub tokens: u64,
    /// Dollars, over the steps whose cost is known.
    pub usd: f64,
}

impl Spend {
    pub fn new(tokens: u64, usd: Option<f64>) -> Self {
        Spend { tokens, usd: usd.unwrap_or(0.0) }
    }

    pub fn add(&mut self, o: Spend) {
        self.tokens = self.tokens.saturating_add(o.tokens);
        self.usd += o.usd;
    }

    #[must_use]
    pub fn plus(mut self, o: Spend) -> Spend {
        self.add(o);
        self
    }
}

/// The run's and each task's budget.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Budgets {
    pub usd: Option<f64>,
    pub tokens: Option<u64>,
    pub task_usd: Option<f64>,
    pub task_tokens: Option<u64>,
    /// The share of a run budget at which nothing new starts.
    pub soft: f64,
}

/// How far a spend is into a budget.
#[derive(Debug, Clone, PartialEq)]
pub enum Reached {
    Under,
    /// Past the soft threshold: start nothing new.
    Soft(String),
    /// At or past the budget: stop.
    Hard(String),
}

impl Budgets {
    /// Where the run's spend stands against the run's budget.
    pub fn run(&self, spent: Spend) -> Reached {
        let mut soft = None;
        if let Some(b) = self.usd {
            if spent.usd >= b {
                return Reached::Hard(format!("spent ${:.4} of the run's budget of ${b:.2}", spent.usd));
            }
            if spent.usd >= b * self.soft {
                soft = Some(format!(
                    "spent ${:.4}, {:.0}% of the run's budget of ${b:.2}",
                    spent.usd,
                    spent.usd / b * 100.0
                ));
            }
        }
        if let Some(b) = self.tokens {
            if spent.tokens >= b {
                return Reached::Hard(format!("used {} tokens of the run's budget of {b}", spent.tokens));
            }
            if (spent.tokens as f64) >= (b as f64) * self.soft && soft.is_none() {
                soft = Some(format!(
                    "used {} tokens, {:.0}% of the run's budget of {b}",
                    spent.tokens,
                    spent.tokens as f64 / b as f64 * 100.0
                ));
            }
        }
        soft.map_or(Reached::Under, Reached::Soft)
    }

    /// Why `task`'s spend is over its own budget, if it is.
    pub fn task(&self, spent: Spend) -> Option<String> {
        if let Some(b) = self.task_usd.filter(|b| spent.usd >= *b) {
            return Some(format!("the task alone spent ${:.4}, over its budget of ${b:.2}", spent.usd));
        }
        if let Some(b) = self.task_tokens.filter(|b| spent.tokens >= *b) {
            return Some(format!("the task alone used {} tokens, over its budget of {b}", spent.tokens));
        }
        None
    }

    /// Whether a run budget is set (the live footer shows it).
    pub fn any_run_budget(&self) -> bool {
        self.usd.is_some() || self.tokens.is_some()
    }
}

/// What the watchdog does about what it finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WatchPolicy {
    /// Run the task again in a fresh session.
    Retry,
    /// Block the task.
    Block,
    /// Stop the run (exit 4).
    Stop,
}

/// A cap on what one agent may use in a sliding window of time (a provider's 5-hour or weekly
/// limit). Past `soft` (a fraction of the cap; the cap itself when unset) the agent's next steps
/// wait until the window has room again, while running ones finish; past `hard` every running
/// step stops and the run ends, resumable (exit 4).
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// The agent's name (`claude`, `codex`, ...).
    pub agent: String,
    pub hours: f64,
    pub usd: Option<f64>,
    pub tokens: Option<u64>,
    pub soft: Option<f64>,
    pub hard: Option<f64>,
}

/// The rules a run goes by, from the flags and planrun.toml.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    pub budgets: Budgets,
    /// The first wait after a rate limit that names none; it doubles with each limit in a row.
    pub rate_wait_ms: u64,
    /// How long agents may print nothing before the watchdog acts; `None`: never.
    pub watchdog_ms: Option<u64>,
    pub on_no_progress: WatchPolicy,
    pub on_repeat: WatchPolicy,
    pub windows: Vec<Window>,
    pub pauses: Pauses,
}

/// When a run pauses for the user after a task passes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pauses {
    /// After every task (`--commit manual` in a shared tree: the user commits each).
    pub after_each: bool,
    /// After every `n` tasks that pass in one invocation (`--batch n`).
    pub batch: Option<u32>,
}

/// Why the run pauses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PauseWhy {
    /// The task waits for the user's commit.
    Commit,
    /// A batch of this many tasks is done.
    Batch(u32),
    /// A batch ends with the milestone it is in (the plan's barriers).
    Milestone,
}

impl Pauses {
    /// Why the run pauses once `passed` tasks have passed in this invocation, if it does.
    pub fn after(self, passed: u32) -> Option<PauseWhy> {
        match self.batch {
            _ if self.after_each => Some(PauseWhy::Commit),
            Some(n) if passed.checked_rem(n) == Some(0) => Some(PauseWhy::Batch(n)),
            _ => None,
        }
    }
}

/// Why the run stops before its work is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopKind {
    /// A budget was reached.
    Budget,
    /// The watchdog stopped it.
    Watchdog,
    /// An agent's usage window passed its hard threshold.
    Window,
}

impl StopKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Budget => "budget",
            Self::Watchdog => "watchdog",
            Self::Window => "usage window",
        }
    }
}

/// What a tick asks the dispatcher to do, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// The soft budget line was passed: start nothing new, let running steps finish.
    Soft { reason: String, spent: Spend },
    /// Stop the run now: every running step, nothing new; exit 4.
    Stop { kind: StopKind, reason: String },
    /// A task spent its own budget: stop its running steps; it is blocked when they return
    /// (`take_block`).
    TaskOverBudget { task: usize, reason: String },
    /// No agent printed anything for the watchdog's time: stop the tasks' running steps. With
    /// `Retry` their next attempt starts a fresh session; with `Block` they are blocked when the
    /// steps return; with `Stop` a `Stop` action follows.
    NoProgress { tasks: Vec<usize>, policy: WatchPolicy, reason: String },
}

/// What the repeat-failure rule says about a failed step.
#[derive(Debug, Clone, PartialEq)]
pub enum Repeat {
    /// Not the same failure as the task's previous one.
    New,
    /// The same failure twice in a row: the next attempt starts a fresh session.
    Fresh,
    /// The same failure twice in a row: block the task with this reason.
    Block(String),
    /// The same failure twice in a row: the run stops (already recorded) with this reason.
    Stop(String),
}

/// One agent run in progress, as far as its reports have come.
#[derive(Debug, Clone, PartialEq)]
struct Live {
    task: usize,
    attempt: u32,
    role: String,
    agent: String,
    spend: Spend,
}

/// How a run ended: its name in the journal and reports, and the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Done,
    Blocked,
    FinalCheckFailed,
    Budget,
    Watchdog,
    AgentUnavailable,
    ProviderError,
    Paused,
    Interrupted,
}

impl Ending {
    pub fn name(self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::Blocked => "blocked",
            Self::FinalCheckFailed => "final_check_failed",
            Self::Budget => "budget",
            Self::Watchdog => "watchdog",
            Self::AgentUnavailable => "agent_unavailable",
            Self::ProviderError => "provider_error",
            Self::Paused => "paused",
            Self::Interrupted => "interrupted",
        }
    }

    /// 0 done; 3 blocked or the final check failed; 4 stopped by a budget, the watchdog or an
    /// agent's provider (resumable); 5 paused for the user; 130 interrupted.
    pub fn code(self) -> u8 {
        match self {
            Self::Done => 0,
            Self::Blocked | Self::FinalCheckFailed => 3,
            Self::Budget | Self::Watchdog | Self::AgentUnavailable | Self::ProviderError => 4,
            Self::Paused => 5,
            Self::Interrupted => 130,
        }
    }
}

/// What else stopped the run, beside the policy's own stops.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Halts {
    /// The user interrupted (Ctrl-C, SIGTERM).
    pub interrupted: bool,
    /// The final check was interrupted.
    pub final_interrupted: bool,
    /// The run pauses for the user for a reason of the runtime's (a manual commit held in a
    /// worktree); the policy's own pauses count without it.
    pub paused: bool,
}

/// Why nothing new starts though no budget or watchdog says so and no task is at fault: every
/// attempt would fail the same way until the user fixes something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Halt {
    /// An agent's program could not be started.
    Unstartable,
    /// The model provider failed in a way waiting does not fix (not a rate limit).
    Provider,
}

/// What a failing step was, for the repeat rule: a task that fails twice in a row the same
/// way is the same class of failure with the same reason (numbers aside).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FailureClass {
    /// The agent's own run failed (its exit, a timeout, silence).
    Agent,
    /// A check stage rejected the attempt: scope, verify, review, test or merge.
    Check(crate::Stage),
}

/// A rate limit counts as "in a row" with the previous one when it comes within this long of
/// the previous wait's end.
const IN_A_ROW_MS: u64 = 600_000;
/// The longest backoff when the provider names no wait.
const MAX_BACKOFF_MS: u64 = 900_000;
/// A full window is looked at again after at least this long.
const WINDOW_RECHECK_MS: u64 = 1_000;

/// The policy's state for one run: what was spent (journaled and live), the watchdog's clock,
/// rate-limit pauses and what it decided to do to tasks when their steps come back.
#[derive(Debug, Clone)]
pub struct Policy {
    rules: Rules,
    spent: Spend,
    spent_task: Vec<Spend>,
    /// Agent runs in progress, by their key (their log's path).
    live: BTreeMap<String, Live>,
    /// Journaled agent uses: agent, end (ms), spend; for the usage windows.
    uses: Vec<(String, u64, Spend)>,
    last_progress_ms: u64,
    soft: Option<String>,
    stop: Option<(StopKind, String)>,
    to_block: BTreeMap<usize, String>,
    fresh: BTreeSet<usize>,
    /// Agents their provider rate-limited: until when (ms), and how many times in a row.
    limited: BTreeMap<String, (u64, u32)>,
    last_failure: BTreeMap<usize, (FailureClass, String)>,
    /// Tasks that passed in this invocation (for the batch pause).
    passed: u32,
    /// Why the run pauses, once it does.
    paused: Option<PauseWhy>,
    /// The first halt, and its reason's first line.
    halt: Option<(Halt, String)>,
}

impl Policy {
    /// A run with `spent` journaled already (in all and per task), starting at `now_ms`.
    pub fn new(rules: Rules, spent: Spend, spent_task: Vec<Spend>, now_ms: u64) -> Self {
        Policy {
            rules,
            spent,
            spent_task,
            live: BTreeMap::new(),
            uses: Vec::new(),
            last_progress_ms: now_ms,
            soft: None,
            stop: None,
            to_block: BTreeMap::new(),
            fresh: BTreeSet::new(),
            limited: BTreeMap::new(),
            last_failure: BTreeMap::new(),
            passed: 0,
            paused: None,
            halt: None,
        }
    }

    /// Every attempt would fail the same way (`kind`): nothing new starts, and the run ends
    /// with that reason. Only the first halt counts; whether this was it.
    pub fn halt(&mut self, kind: Halt, reason: &str) -> bool {
        if self.halt.is_some() {
            return false;
        }
        self.halt = Some((kind, reason.lines().next().unwrap_or("").to_owned()));
        true
    }

    /// The halt, once there is one: its kind and the first line of its reason.
    pub fn halted(&self) -> Option<(Halt, &str)> {
        self.halt.as_ref().map(|(k, r)| (*k, r.as_str()))
    }

    /// Whether the next task to pass pauses the run, so nothing new may start beside it; not
    /// when every other task is done (the run then ends instead), nor when it pauses already.
    pub fn next_pass_pauses(&self, others_done: bool) -> bool {
        self.paused.is_none() && !others_done && self.rules.pauses.after(self.passed + 1).is_some()
    }

    /// A task passed: why the run pauses now, if it does (once; not when every task is done).
    pub fn passed(&mut self, all_done: bool) -> Option<PauseWhy> {
        self.passed += 1;
        let why = self.rules.pauses.after(self.passed)?;
        if self.paused.is_some() || all_done {
            return None;
        }
        self.paused = Some(why);
        Some(why)
    }

    /// A task that passed finished its milestone (the plan's barriers): with `--batch`, the
    /// batch ends there (the next one counts from zero) and the run pauses, unless every task
    /// is done or it pauses already.
    pub fn milestone_passed(&mut self, all_done: bool) -> Option<PauseWhy> {
        self.rules.pauses.batch?;
        self.passed = 0;
        if self.paused.is_some() || all_done {
            return None;
        }
        self.paused = Some(PauseWhy::Milestone);
        Some(PauseWhy::Milestone)
    }

    /// Whether a milestone's end pauses the run (`--batch` with the plan's barriers).
    pub fn pauses_at_milestones(&self) -> bool {
        self.rules.pauses.batch.is_some() && self.paused.is_none()
    }

    /// Why the run pauses for the user, if it does.
    pub fn paused(&self) -> Option<PauseWhy> {
        self.paused
    }

    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// A journaled agent use from earlier invocations, for the usage windows.
    pub fn used_before(&mut self, agent: &str, ended_ms: u64, spend: Spend) {
        self.uses.push((agent.to_owned(), ended_ms, spend));
    }

    /// A task's last failure from earlier invocations, for the repeat rule.
    pub fn failed_before(&mut self, task: usize, class: FailureClass, reason: &str) {
        self.last_failure.insert(task, (class, failure_key(reason)));
    }

    /// When the run's budget is already reached (by earlier invocations), or a usage window is
    /// past its hard threshold at `now_ms`, why: the run starts nothing and stops (recorded).
    pub fn reached_at_start(&mut self, now_ms: u64) -> Option<String> {
        if let Some(why) = self.window_hard(now_ms) {
            let reason = format!("{why}; nothing was started");
            self.stop = Some((StopKind::Window, reason.clone()));
            return Some(reason);
        }
        match self.rules.budgets.run(self.spent) {
            Reached::Hard(why) | Reached::Soft(why) => {
                let reason = format!("{why}; nothing was started");
                self.stop = Some((StopKind::Budget, reason.clone()));
                Some(reason)
            }
            Reached::Under => None,
        }
    }

    /// An agent run starts (`run`: a key unique to it). Starting counts as progress.
    pub fn started(&mut self, run: &str, task: usize, attempt: u32, role: &str, agent: &str, now_ms: u64) {
        let live = Live { task, attempt, role: role.to_owned(), agent: agent.to_owned(), spend: Spend::default() };
        self.live.insert(run.to_owned(), live);
        self.last_progress_ms = self.last_progress_ms.max(now_ms);
    }

    /// What a running agent has used so far (`spend`), and whether it printed anything.
    pub fn usage(&mut self, run: &str, spend: Option<Spend>, output: bool, now_ms: u64) {
        let Some(l) = self.live.get_mut(run) else { return };
        if let Some(s) = spend {
            l.spend = s;
        }
        if output {
            self.last_progress_ms = self.last_progress_ms.max(now_ms);
        }
    }

    /// A step was journaled: what its agent used (if it ran one) counts from the journal now,
    /// not from the live reports. A step's end counts as progress.
    pub fn step_ended(
        &mut self,
        task: Option<usize>,
        attempt: u32,
        role: &str,
        used: Option<(&str, Spend)>,
        now_ms: u64,
    ) {
        if let Some(task) = task {
            self.live.retain(|_, l| !(l.task == task && l.attempt == attempt && l.role == role));
            if let Some((agent, spend)) = used {
                self.spent.add(spend);
                if let Some(t) = self.spent_task.get_mut(task) {
                    t.add(spend);
                }
                self.uses.push((agent.to_owned(), now_ms, spend));
            }
        }
        self.last_progress_ms = self.last_progress_ms.max(now_ms);
    }

    /// The run's spend: journaled plus what running agents reported.
    pub fn run_spend(&self) -> Spend {
        self.live.values().fold(self.spent, |s, l| s.plus(l.spend))
    }

    /// Each task with an agent running, and its spend (journaled plus live), by task.
    pub fn running_tasks(&self) -> BTreeMap<usize, Spend> {
        let mut per: BTreeMap<usize, Spend> = BTreeMap::new();
        for l in self.live.values() {
            per.entry(l.task).or_default().add(l.spend);
        }
        for (task, s) in &mut per {
            *s = self.spent_task.get(*task).copied().unwrap_or_default().plus(*s);
        }
        per
    }

    /// The budgets against what is spent, and the watchdog, at `now_ms`.
    pub fn tick(&mut self, now_ms: u64) -> Vec<Action> {
        let mut actions = Vec::new();
        if self.stop.is_none()
            && let Some(why) = self.window_hard(now_ms)
            && let Some(a) = self.stop_now(StopKind::Window, why)
        {
            actions.push(a);
        }
        let run = self.run_spend();
        if self.stop.is_none() {
            match self.rules.budgets.run(run) {
                Reached::Hard(why) => {
                    if let Some(a) = self.stop_now(StopKind::Budget, why) {
                        actions.push(a);
                    }
                }
                Reached::Soft(why) if self.soft.is_none() => {
                    self.soft = Some(why.clone());
                    actions.push(Action::Soft { reason: why, spent: run });
                }
                _ => {}
            }
        }
        let per = self.running_tasks();
        for (&task, &total) in &per {
            if let (Some(why), false) = (self.rules.budgets.task(total), self.to_block.contains_key(&task)) {
                self.to_block.insert(task, why.clone());
                actions.push(Action::TaskOverBudget { task, reason: why });
            }
        }
        if let Some(limit) = self.rules.watchdog_ms
            && !self.live.is_empty()
            && now_ms.saturating_sub(self.last_progress_ms) >= limit
            && self.stop.is_none()
        {
            self.last_progress_ms = now_ms;
            let tasks: Vec<usize> = per.keys().copied().collect();
            let reason = format!("no agent printed anything for {}", human_ms(limit));
            let policy = self.rules.on_no_progress;
            actions.push(Action::NoProgress { tasks: tasks.clone(), policy, reason: reason.clone() });
            match policy {
                WatchPolicy::Retry => self.fresh.extend(tasks),
                WatchPolicy::Block => {
                    for t in tasks {
                        self.to_block.insert(t, format!("stopped by the watchdog: {reason}"));
                    }
                }
                WatchPolicy::Stop => {
                    if let Some(a) = self.stop_now(StopKind::Watchdog, reason) {
                        actions.push(a);
                    }
                }
            }
        }
        actions
    }

    /// Stops the run (budget or watchdog); `None` when it was stopped already.
    pub fn stop_now(&mut self, kind: StopKind, reason: String) -> Option<Action> {
        if self.stop.is_some() {
            return None;
        }
        self.stop = Some((kind, reason.clone()));
        Some(Action::Stop { kind, reason })
    }

    /// Why the run stops early (budget or watchdog), if it does.
    pub fn stopped(&self) -> Option<(StopKind, &str)> {
        self.stop.as_ref().map(|(k, w)| (*k, w.as_str()))
    }

    /// The soft budget line, once passed.
    pub fn soft(&self) -> Option<&str> {
        self.soft.as_deref()
    }

    /// Why a task's spend (journaled and running) is over its own budget, if it is.
    pub fn task_over_budget(&self, task: usize) -> Option<String> {
        let mut spent = self.spent_task.get(task).copied().unwrap_or_default();
        for l in self.live.values().filter(|l| l.task == task) {
            spent.add(l.spend);
        }
        self.rules.budgets.task(spent)
    }

    /// Whether a task is to be blocked when its running step comes back.
    pub fn blocks(&self, task: usize) -> bool {
        self.to_block.contains_key(&task)
    }

    /// The reason to block `task` with, now that its step came back.
    pub fn take_block(&mut self, task: usize) -> Option<String> {
        self.to_block.remove(&task)
    }

    /// Whether `task`'s next attempt starts a fresh session (the watchdog's retry).
    pub fn fresh(&self, task: usize) -> bool {
        self.fresh.contains(&task)
    }

    /// `task`'s next attempt has started.
    pub fn started_fresh(&mut self, task: usize) {
        self.fresh.remove(&task);
    }

    /// A failed step of `task`: when it failed exactly as the task's previous failure did, the
    /// repeat rule applies its policy.
    pub fn failed(&mut self, task: usize, class: FailureClass, reason: &str, id: &str) -> Repeat {
        let key = (class, failure_key(reason));
        let same = self.last_failure.insert(task, key.clone()).is_some_and(|k| k == key);
        if !same {
            return Repeat::New;
        }
        match self.rules.on_repeat {
            WatchPolicy::Retry => {
                self.fresh.insert(task);
                Repeat::Fresh
            }
            WatchPolicy::Block => Repeat::Block(format!("failed the same way twice in a row: {reason}")),
            WatchPolicy::Stop => {
                let first = reason.lines().next().unwrap_or("");
                let why = format!("task {id} failed the same way twice in a row: {first}");
                self.stop_now(StopKind::Watchdog, why.clone());
                Repeat::Stop(why)
            }
        }
    }

    /// `agent`'s provider rate-limited it: it waits the time the provider named (`reset_ms`),
    /// else a backoff that doubles with each limit in a row (up to 15 minutes). Returns the
    /// wait in milliseconds.
    pub fn rate_limited(&mut self, agent: &str, reset_ms: Option<u64>, now_ms: u64) -> u64 {
        let hits = self
            .limited
            .get(agent)
            .map_or(0, |(until, n)| if until.saturating_add(IN_A_ROW_MS) > now_ms { *n } else { 0 });
        let backoff = self.rules.rate_wait_ms.saturating_mul(1u64 << hits.min(4)).min(MAX_BACKOFF_MS);
        let wait = reset_ms.unwrap_or(backoff);
        self.limited.insert(agent.to_owned(), (now_ms.saturating_add(wait), hits.saturating_add(1)));
        wait
    }

    /// How long from `now_ms` until `agent` may run: after its provider's rate limit, or when
    /// its usage window has room again; `None`: now.
    pub fn not_before(&self, agent: &str, now_ms: u64) -> Option<u64> {
        let mut wait = self.limited.get(agent).map(|(until, _)| *until).filter(|u| *u > now_ms).map(|u| u - now_ms);
        for w in self.rules.windows.iter().filter(|w| w.agent == agent) {
            if let Some(free) = self.window_frees(w, now_ms) {
                wait = Some(wait.map_or(free, |a| a.max(free)));
            }
        }
        wait
    }

    /// How the run ended, from the engine's outcome, the policy's stops and `halts`.
    pub fn ending(&self, outcome: &RunOutcome, h: Halts) -> Ending {
        let int = h.interrupted;
        match outcome {
            RunOutcome::Done => Ending::Done,
            _ if self.stop.is_some() => match self.stop.as_ref().map(|(k, _)| *k) {
                Some(StopKind::Watchdog) => Ending::Watchdog,
                Some(StopKind::Window) => Ending::Budget,
                _ => Ending::Budget,
            },
            RunOutcome::Interrupted if self.soft.is_some() && !int => Ending::Budget,
            _ if self.halt.as_ref().is_some_and(|(k, _)| *k == Halt::Unstartable) && !int => Ending::AgentUnavailable,
            _ if self.halt.as_ref().is_some_and(|(k, _)| *k == Halt::Provider) && !int => Ending::ProviderError,
            RunOutcome::Interrupted if (h.paused || self.paused.is_some()) && !int => Ending::Paused,
            RunOutcome::Interrupted => Ending::Interrupted,
            _ if int || h.final_interrupted => Ending::Interrupted,
            RunOutcome::Blocked { .. } => Ending::Blocked,
            RunOutcome::FinalCheckFailed { .. } => Ending::FinalCheckFailed,
        }
    }
}

/// A failure's reason with what changes between identical failures (numbers: timings, line
/// counts, ids) taken out, to tell a task failing the same way twice.
pub fn failure_key(reason: &str) -> String {
    let mut out = String::with_capacity(reason.len().min(4096));
    let mut last_space = false;
    for c in reason.chars().take(4096) {
        if c.is_ascii_digit() {
            continue;
        }
        if c.is_whitespace() {
            if !last_space {
                out.push(' ');
            }
            last_space = true;
        } else {
            out.push(c);
            last_space = false;
        }
    }
    out.trim().to_owned()
}

/// `500ms`, `90s` as `1m30s`, `20m`, `2h`, `1h30m`: a duration as the run's messages show it.
pub fn human_ms(ms: u64) -> String {
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let s = ms / 1000;
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, 0, 0) => format!("{h}h"),
        (h, m, _) => format!("{h}h{m}m"),
    }
}

mod windows;

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
