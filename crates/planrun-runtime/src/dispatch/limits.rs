//! The dispatcher's side of the run policy: it feeds the engine's `Policy` with usage reports
//! and the clock, and carries out what it decides (stop steps, block tasks, wait for an agent).

use super::*;

impl Runner<'_> {
    /// When an agent of `kind` may run next: after its provider's rate limit, or when its usage
    /// window has room again; `None` for now.
    pub(super) fn not_before(&self, kind: AgentKind) -> Option<tokio::time::Instant> {
        let wait = self.policy.not_before(kind.name(), unix_ms())?;
        Some(tokio::time::Instant::now() + Duration::from_millis(wait))
    }

    /// A running agent's report: that it started, or what it used so far.
    pub(super) fn report(&mut self, report: budget::Report) {
        let now = unix_ms();
        match report {
            budget::Report::Started { run, task, attempt, role, agent } => {
                self.policy.started(&run, task, attempt, role, agent.name(), now);
            }
            budget::Report::Used { run, spend } => self.policy.usage(&run, spend, true, now),
        }
    }

    /// A task's own spend (journaled and running) when it is over the task budget.
    pub(super) fn task_over_budget(&self, task: usize) -> Option<String> {
        self.policy.task_over_budget(task)
    }

    /// Blocks a task that is about to start a step (its budget is spent).
    pub(super) fn block_now(&mut self, task: usize, reason: String) {
        let id = self.s.id(task).to_owned();
        self.reporter.emit(&RunEvent::TaskBudget(ev::TaskBudget { task: id, reason: reason.clone(), stopping: false }));
        match self.s.engine.handle(Input::Block { task, reason }) {
            Ok(out) => {
                if let Err(message) = self.submit(&[], out.changes, out.decisions) {
                    self.reporter.note(&format!("planrun: {message}"));
                }
            }
            Err(e) => self.reporter.note(&format!("planrun: {e}")),
        }
    }

    /// The policy stopped the run: every agent's process group, nothing new; exit 4.
    pub(super) fn stopping(&mut self, kind: StopKind, reason: String) {
        let r = ev::Reason { reason };
        self.reporter.emit(&match kind {
            // A usage window past its hard threshold is a budget of its own (exit 4).
            StopKind::Budget | StopKind::Window => RunEvent::BudgetStop(r),
            StopKind::Watchdog => RunEvent::WatchdogStop(r),
        });
        self.drain();
        self.cancel_all();
    }

    /// Every half second: the policy's budgets against what is spent (journaled plus what
    /// running agents have reported so far), its watchdog, and the live lines.
    pub(super) fn tick(&mut self) {
        for action in self.policy.tick(unix_ms()) {
            match action {
                Action::Soft { reason, spent } => {
                    self.reporter.emit(&RunEvent::BudgetSoft(ev::BudgetSoft {
                        reason,
                        spent: ev::Spent { tokens: spent.tokens, usd: spent.usd },
                    }));
                    self.drain();
                }
                Action::Stop { kind, reason } => self.stopping(kind, reason),
                Action::TaskOverBudget { task, reason } => {
                    let id = self.s.id(task).to_owned();
                    self.reporter.emit(&RunEvent::TaskBudget(ev::TaskBudget { task: id, reason, stopping: true }));
                    self.cancel_task(task);
                }
                Action::NoProgress { tasks, policy, reason } => {
                    let ids: Vec<String> = tasks.iter().map(|&t| self.s.id(t).to_owned()).collect();
                    self.reporter.emit(&RunEvent::NoProgress(ev::NoProgress {
                        tasks: ids,
                        policy: policy.into(),
                        reason,
                    }));
                    if policy != WatchPolicy::Stop {
                        for t in tasks {
                            self.cancel_task(t);
                        }
                    }
                }
            }
        }
        let run = self.policy.run_spend();
        let budgeted = self.policy.rules().budgets.any_run_budget();
        if self.reporter.mode() == Mode::Live && (run.tokens > 0 || budgeted) {
            for (task, total) in self.policy.running_tasks() {
                let id = self.s.id(task).to_owned();
                self.reporter.usage(&id, &spend_text(total));
            }
            let mut footer = format!("total {}", spend_text(run));
            if let Some(b) = self.policy.rules().budgets.usd {
                footer.push_str(&format!(" of ${b:.2} budget"));
            } else if let Some(b) = self.policy.rules().budgets.tokens {
                footer.push_str(&format!(" of {b} tokens budget"));
            }
            if let Some(e) = &self.cost.estimate {
                footer.push_str(&format!(" · estimate {}", e.brief()));
            }
            self.reporter.footer(&footer);
        }
    }

    /// A rate limit or overload from an agent's provider: that agent waits (the reset time the
    /// provider gave, else the policy's backoff) and its task's attempt runs again after it;
    /// other agents go on.
    pub(super) fn rate_limited(&mut self, task: usize, kind: AgentKind, reset: Option<Duration>, reason: &str) {
        let reset_ms = reset.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let wait_ms = self.policy.rate_limited(kind.name(), reset_ms, unix_ms());
        let id = self.s.id(task).to_owned();
        self.reporter.emit(&RunEvent::RateLimited(ev::RateLimited {
            task: id,
            agent: kind.name().to_owned(),
            wait_ms,
            reason: reason.to_owned(),
        }));
    }

    /// A failing step: when it failed exactly as the task's previous attempt did, the policy's
    /// repeat rule applies. Returns the input to give the engine instead, if any.
    pub(super) fn repeated(&mut self, task: usize, class: FailureClass, reason: &str) -> Option<Input> {
        let id = self.s.id(task).to_owned();
        let already_stopped = self.policy.stopped().is_some();
        let verdict = self.policy.failed(task, class, reason, &id);
        if verdict == Repeat::New {
            return None;
        }
        self.reporter.emit(&RunEvent::RepeatedFailure(ev::RepeatedFailure {
            task: id,
            reason: reason.to_owned(),
            policy: self.policy.rules().on_repeat.into(),
        }));
        match verdict {
            Repeat::New | Repeat::Fresh => None,
            Repeat::Block(reason) => Some(Input::Block { task, reason }),
            Repeat::Stop(why) => {
                if !already_stopped {
                    self.stopping(StopKind::Watchdog, why);
                }
                None
            }
        }
    }

    pub(super) fn max_rework(&self) -> u32 {
        self.s.engine.max_rework()
    }
}
