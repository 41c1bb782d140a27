//! The dispatcher: one owner of the run's truth. A single `select!` turns step results, usage
//! reports, ticks and signals into engine and policy inputs, journals what changed, and only
//! then acts on the decisions by starting supervised steps. Its parts: `limits` (budgets,
//! watchdog, rate limits), `start` (starting steps), `record` (journaling their ends),
//! `finish` (the run's ending and summary).

use super::*;
use crate::command::command_line;
use finish::spend_text;

mod finish;
mod limits;
mod live;
mod record;
mod start;

/// Changes and decisions waiting for their batch to be durable.
struct Pending {
    batch: u64,
    changes: Vec<planrun_engine::Change>,
    decisions: Vec<Decision>,
}

pub(crate) struct Runner<'a> {
    s: Session,
    writer: Option<writer::Writer>,
    acks: tokio::sync::mpsc::UnboundedReceiver<writer::Ack>,
    next_batch: u64,
    durable: u64,
    pending: std::collections::VecDeque<Pending>,
    ctx: Arc<Ctx>,
    reporter: &'a mut dyn Progress,
    steps: JoinSet<StepDone>,
    cancel: watch::Sender<bool>,
    drain_timeout: Duration,
    grace: Duration,
    final_interrupted: bool,
    templates: Templates,
    agents: Agents,
    resume_rounds: u32,
    /// Whether files made by the checks were mentioned already.
    told_check_output: bool,
    /// The run's id: when its first invocation started.
    run_id: String,
    /// Whether to mark progress in the plan's own files (at the end, and as the run goes).
    status_files: bool,
    /// The live writes of the status files (`None` with `--no-status-files`).
    live: Option<live::Live>,
    /// In a shared tree, the status files planrun writes while tasks run (relative to the
    /// tree): not a task's changes.
    status_paths: Vec<String>,
    /// The reviewer's take before each task's first attempt.
    take: bool,
    /// `--pipeline`: implementers plan first, and plan early in free slots.
    plan_ahead: bool,
    commit: CommitMode,
    /// Why the run pauses for the user (`--commit manual`, `--batch`).
    pause: Option<String>,
    /// The tasks that passed since the last pause, for the batch summary.
    passed_ids: Vec<String>,
    /// Tasks whose work waits in their worktree for the user's commit (`--commit manual` in
    /// worktree mode): their merge runs on a later invocation, once the worktree is committed.
    held: Vec<String>,
    /// What the first invocation recorded about the pipeline (kept on resume).
    pipe_record: journal_event::RunRecord,
    /// Budgets, rate-limit waits, usage windows and the watchdog.
    cost: CostSetup,
    /// The engine's run policy: what was spent, the budgets, the watchdog, rate-limit waits,
    /// usage windows, and what it decided for tasks whose steps are still running.
    policy: planrun_engine::Policy,
    /// What running agents report about their usage.
    reports: tokio::sync::mpsc::UnboundedReceiver<budget::Report>,
    /// Each running step's own stop switch, by task.
    step_cancels: Vec<(Option<usize>, watch::Sender<bool>)>,
    /// Why the run stopped everything and gave up (see [`Runner::abort`]).
    failed: Option<String>,
    /// `--on-fail`: whether a failed check or a blocking finding pauses the run for the user.
    on_fail: pipeline::OnFail,
    /// The tasks that wait for the user (`--on-fail ask`), with why.
    asked: Vec<(String, String)>,
    /// The plan's milestones are barriers in this run (a batch ends with its milestone).
    barriers: bool,
}

impl<'a> Runner<'a> {
    pub(crate) fn new(
        mut s: Session,
        ctx: Ctx,
        setup: Setup,
        args: &RunOptions,
        reporter: &'a mut dyn Progress,
    ) -> Self {
        let (cancel, _) = watch::channel(false);
        let spent = crate::totals::Totals::of(&s).spend();
        let spent_task =
            (0..s.loaded.plan.tasks.len()).map(|t| crate::totals::Totals::of_task(&s, s.id(t)).spend()).collect();
        let mut rules = setup.cost.rules.clone();
        rules.pauses = policy::Pauses {
            after_each: setup.pipe.commit == CommitMode::Manual && setup.pipe.ws.mode == WorkspaceMode::Shared,
            batch: setup.pipe.batch,
        };
        let mut policy = planrun_engine::Policy::new(rules, spent, spent_task, unix_ms());
        for (i, st) in s.engine.states().iter().enumerate() {
            if let TaskState::Rework { reason, failures, .. } = st
                && *failures > 0
            {
                // The class of its last failed step: the repeat rule compares both.
                let failed = s.steps.get(s.id(i)).and_then(|r| r.iter().rev().find(|r| !r.ok));
                let stage = failed.and_then(|r| {
                    // A review's steps are `task-review` and `code-review`.
                    Stage::ALL.into_iter().find(|st| r.step == st.name() || r.step.ends_with(&format!("-{st}")))
                });
                policy.failed_before(i, stage.map_or(FailureClass::Agent, FailureClass::Check), reason);
            }
        }
        for r in s.steps.values().flatten() {
            if let (Some(a), Some(end)) = (&r.agent, r.ended_ms) {
                policy.used_before(&a.agent, end, budget::spend_of(&a.usage, a.cost_usd));
            }
        }
        // In worktree mode a blueprint step's marks go into its commit on the integration
        // branch: your copy of the plan is left alone (marks there too would stop a merge).
        let marks_in_commits = ctx.marks.is_some() && setup.pipe.ws.mode == WorkspaceMode::Worktree;
        let status_files = !args.no_status_files && !marks_in_commits;
        let status_paths = if status_files && setup.pipe.ws.mode == WorkspaceMode::Shared {
            live::shared_paths(&s, &ctx.ws.root)
        } else {
            Vec::new()
        };
        // The blueprint loop stops and asks when a step fails; the others rework on their own.
        let blueprint = s.loaded.format == planrun_plan::Format::Blueprint;
        let barriers = s.loaded.barriers && !args.no_barriers;
        let (writer, acks) = match s.journal.take() {
            Some(journal) => {
                let (w, a) = writer::Writer::start(journal);
                (Some(w), a)
            }
            None => {
                let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
                let _ = tx.send(Err("the journal is not open".to_owned()));
                (None, rx)
            }
        };
        Self {
            s,
            writer,
            acks,
            next_batch: 0,
            durable: 0,
            pending: std::collections::VecDeque::new(),
            ctx: Arc::new(ctx),
            reporter,
            steps: JoinSet::new(),
            cancel,
            drain_timeout: args.drain_timeout,
            grace: args.grace,
            final_interrupted: false,
            templates: setup.templates,
            agents: setup.agents,
            resume_rounds: setup.resume_rounds,
            told_check_output: false,
            run_id: setup.run_id.clone(),
            status_files,
            live: status_files.then(live::Live::new),
            status_paths,
            take: setup.pipe.take,
            plan_ahead: setup.pipe.plan_ahead,
            commit: setup.pipe.commit,
            pause: None,
            passed_ids: Vec::new(),
            held: Vec::new(),
            policy,
            reports: setup.reports,
            step_cancels: Vec::new(),
            failed: None,
            on_fail: setup.pipe.on_fail.unwrap_or(if blueprint {
                pipeline::OnFail::Ask
            } else {
                pipeline::OnFail::Rework
            }),
            asked: Vec::new(),
            barriers,
            cost: setup.cost.clone(),
            pipe_record: journal_event::RunRecord {
                workspace: Some(setup.pipe.ws.mode.name().to_owned()),
                integration: setup.pipe.ws.integration.clone(),
                pipeline_run: Some(setup.pipe.ws.run_id.clone()),
                stages: setup.pipe.stages.iter().map(|s| s.name().to_owned()).collect(),
                commit: Some(
                    match setup.pipe.commit {
                        CommitMode::Auto => "auto",
                        CommitMode::Manual => "manual",
                    }
                    .to_owned(),
                ),
                batch: setup.pipe.batch,
                scope: Some(setup.pipe.scope.name().to_owned()),
                reviews: setup.pipe.reviews.iter().map(|r| r.name().to_owned()).collect(),
                reviewer: setup.pipe.reviewer.as_ref().map(|r| r.kind.name().to_owned()),
                ..journal_event::RunRecord::default()
            },
        }
    }

    /// Runs until the run ends: its exit code, or why it had to stop everything.
    pub(crate) async fn drive(mut self) -> Result<u8, Error> {
        let code = self.go().await;
        match self.failed.take() {
            Some(message) => Err(Error::Stopped(message)),
            None => Ok(code),
        }
    }

    async fn go(&mut self) -> u8 {
        let stopped = orphans::stop(&self.s.layout.dir, self.grace);
        // This invocation's start; a new run's is the instant its id was taken from.
        let started = if self.s.resumed { unix_ms() } else { self.s.first_started_ms.unwrap_or_else(unix_ms) };
        // Worktrees no task needs (done, pending, skipped), left by a crash or an old run;
        // those of tasks with work in flight or to rework (and blocked ones, to inspect) stay,
        // and so does that of a task sent back with `planrun retry --note`: the user's
        // instructions rework what is there.
        let highest = |id: &str| self.s.steps.get(id).and_then(|s| s.iter().map(|r| r.attempt).max()).unwrap_or(0);
        let keep: Vec<String> = (0..self.s.engine.states().len())
            .filter(|&t| {
                let id = self.s.id(t);
                let noted = self.s.notes.get(id).is_some_and(|(after, _)| *after >= highest(id));
                noted
                    || matches!(
                        self.s.engine.state(t),
                        Some(
                            TaskState::InProgress { .. }
                                | TaskState::InReview { .. }
                                | TaskState::Rework { .. }
                                | TaskState::Blocked { .. }
                        )
                    )
            })
            .map(|t| self.s.id(t).to_owned())
            .collect();
        // What such a worktree holds that no branch has is kept under the task's last attempt.
        let last_attempt: rustc_hash::FxHashMap<String, u32> = self
            .s
            .steps
            .iter()
            .map(|(id, steps)| (id.clone(), steps.iter().map(|r| r.attempt).max().unwrap_or(0)))
            .collect();
        let ctx = Arc::clone(&self.ctx);
        let (swept, kept) = tokio::task::spawn_blocking(move || {
            let keep: Vec<&str> = keep.iter().map(String::as_str).collect();
            ctx.ws.sweep(&keep, |id| last_attempt.get(id).copied().unwrap_or(0).to_string())
        })
        .await
        .unwrap_or_default();
        if !swept.is_empty() {
            self.reporter.note(&format!("planrun: removed {} worktree(s) no task needs any more", swept.len()));
        }
        let mut records: Vec<session::Record> = Vec::new();
        for k in &kept {
            self.reporter.emit(&RunEvent::Kept(ev::Kept { reference: k.reference.clone(), commit: k.commit.clone() }));
            let kept = journal_event::KeptRecord {
                reference: k.reference.clone(),
                commit: k.commit.clone(),
                why: "swept".to_owned(),
            };
            records.push((None, JournalEvent::Kept(kept)));
        }
        let run_record = journal_event::RunRecord {
            plan: Some(self.s.plan_path.display().to_string()),
            plan_in_workspace: session::in_workspace(&self.s.plan_path, &self.s.layout.workspace),
            format: Some(self.s.loaded.format.name().to_owned()),
            pid: Some(std::process::id()),
            version: Some(env!("CARGO_PKG_VERSION").to_owned()),
            jobs: Some(self.s.limit as u64),
            max_rework: Some(u64::from(self.max_rework())),
            agent: Some(self.agents.implement.kind.name().to_owned()),
            model: self.agents.implement.model.clone(),
            resume_rounds: Some(self.resume_rounds),
            started_unix_ms: Some(started),
            argv: command_line().iter().map(|a| self.ctx.redact.text(a).into_owned()).collect(),
            budget: budget::budgets_json(&self.cost.rules.budgets),
            estimate: self.cost.estimate.as_ref().map_or(Value::Null, estimate::Estimate::summary_json),
            cwd: Some(std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default()),
            journal_v: Some(journal_event::JOURNAL_EVENTS_VERSION),
            ..self.pipe_record.clone()
        };
        self.s.last_run = Some(run_record.clone());
        records.push((None, JournalEvent::Run(Box::new(run_record))));
        // The tasks' fingerprints, unless the journal's last record already says the same (a
        // resume of an unchanged plan: 10,000 tasks are a quarter of a megabyte).
        if !self.s.plan_recorded {
            let fingerprints: std::collections::BTreeMap<String, String> = self
                .s
                .loaded
                .plan
                .tasks
                .iter()
                .zip(&self.s.fingerprints)
                .map(|(t, fp)| (t.id.clone(), fp.clone()))
                .collect();
            records.push((None, JournalEvent::Plan(journal_event::PlanRecord { fingerprints })));
        }
        if !stopped.is_empty() {
            records.push((None, JournalEvent::Orphans(journal_event::OrphansRecord { pids: stopped.clone() })));
        }
        self.announce(&stopped);
        // A budget already reached (by earlier invocations of the run) starts nothing.
        if self.policy.reached_at_start(unix_ms()).is_some() {
            if let Err(message) = self.submit(&records, Vec::new(), Vec::new()) {
                return self.abort(&message).await;
            }
            return self.finish(RunOutcome::Interrupted, false).await;
        }
        let out = self.s.engine.resume();
        if let Err(message) = self.submit(&records, out.changes, out.decisions) {
            return self.abort(&message).await;
        }

        let mut sigint = match signal(SignalKind::interrupt()) {
            Ok(s) => s,
            Err(e) => return self.abort(&format!("cannot watch for Ctrl-C: {e}")).await,
        };
        let mut sigterm = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(e) => return self.abort(&format!("cannot watch for SIGTERM: {e}")).await,
        };
        let mut interrupts = 0u32;
        let mut deadline: Option<tokio::time::Instant> = None;
        let mut ticks = tokio::time::interval(Duration::from_millis(500));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            if let Some(outcome) = self.s.engine.outcome() {
                if self.steps.is_empty() && self.pending.is_empty() {
                    return self.finish(outcome, interrupts > 0).await;
                }
            }
            tokio::select! {
                ack = self.acks.recv() => {
                    if let Err(message) = self.acknowledged(ack) {
                        return self.abort(&message).await;
                    }
                }
                joined = self.steps.join_next() => {
                    let Some(first) = joined else {
                        if self.pending.is_empty() && !self.held.is_empty() {
                            // Nothing runs; what is left waits for the user's commits.
                            return self.finish(RunOutcome::Interrupted, interrupts > 0).await;
                        }
                        if self.pending.is_empty() {
                            // Nothing runs, nothing waits and the engine has no outcome: cannot
                            // happen with a validated plan; stop rather than spin.
                            return self.finish(RunOutcome::Interrupted, true).await;
                        }
                        // Only journal acknowledgements can move the run on; wait for them.
                        let ack = self.acks.recv().await;
                        if let Err(message) = self.acknowledged(ack) {
                            return self.abort(&message).await;
                        }
                        continue;
                    };
                    let mut batch = vec![first];
                    while let Some(more) = self.steps.try_join_next() {
                        batch.push(more);
                    }
                    if let Err(message) = self.take(batch) {
                        return self.abort(&message).await;
                    }
                }
                _ = sigint.recv() => {
                    interrupts += 1;
                    self.interrupt(interrupts, &mut deadline);
                }
                _ = sigterm.recv() => {
                    interrupts += 1;
                    self.interrupt(interrupts, &mut deadline);
                }
                Some(report) = self.reports.recv() => self.report(report),
                _ = ticks.tick() => {
                    self.tick();
                    self.write_live();
                }
                () = sleep_until(deadline) => {
                    self.reporter.note("planrun: the drain deadline passed; stopping the steps still running");
                    self.cancel_all();
                    deadline = None;
                }
            }
        }
    }

    /// A stop switch for one step: set by `cancel_all`, or for its task by `cancel_task`.
    pub(super) fn subscribe(&mut self, task: Option<usize>) -> watch::Receiver<bool> {
        self.step_cancels.retain(|(_, tx)| !tx.is_closed());
        let (tx, rx) = watch::channel(*self.cancel.borrow());
        self.step_cancels.push((task, tx));
        rx
    }

    /// Stops every running step (their process groups get SIGTERM, then SIGKILL).
    pub(super) fn cancel_all(&mut self) {
        self.cancel.send_replace(true);
        for (_, tx) in &self.step_cancels {
            tx.send_replace(true);
        }
    }

    /// Stops the running steps of one task.
    pub(super) fn cancel_task(&mut self, task: usize) {
        for (t, tx) in &self.step_cancels {
            if *t == Some(task) {
                tx.send_replace(true);
            }
        }
    }
    /// Starts nothing new (Ctrl-C, a pause, a stop): running steps finish, and an attempt still
    /// waiting for its agent (a rate limit, a usage window) gives up at once: it has not begun.
    pub(super) fn drain(&mut self) {
        let _ = self.s.engine.handle(Input::Drain);
        self.ctx.draining.send_replace(true);
    }

    pub(super) fn interrupt(&mut self, n: u32, deadline: &mut Option<tokio::time::Instant>) {
        if n == 1 {
            self.drain();
            *deadline = Some(tokio::time::Instant::now() + self.drain_timeout);
            let running = self.steps.len();
            self.reporter.emit(&RunEvent::Draining(ev::Draining { running, timeout: self.drain_timeout }));
        } else {
            self.reporter.emit(&RunEvent::Stopping(ev::Empty {}));
            self.cancel_all();
            *deadline = None;
        }
    }

    /// Hands the records and changes to the journal writer; the decisions wait until the
    /// batch is durable.
    pub(super) fn submit(
        &mut self,
        records: &[session::Record],
        changes: Vec<planrun_engine::Change>,
        decisions: Vec<Decision>,
    ) -> Result<(), String> {
        let batch = self.s.batch(records, &changes);
        if batch.is_empty() && decisions.is_empty() {
            return Ok(());
        }
        self.next_batch += 1;
        let id = self.next_batch;
        if !self.writer.as_ref().is_some_and(|w| w.send(id, batch)) {
            return Err(journal_failed("the journal writer stopped"));
        }
        self.pending.push_back(Pending { batch: id, changes, decisions });
        Ok(())
    }

    /// A batch is durable: report its changes and act on its decisions, in order.
    pub(super) fn acknowledged(&mut self, ack: Option<writer::Ack>) -> Result<(), String> {
        match ack {
            Some(Ok(n)) => self.durable = self.durable.max(n),
            Some(Err(e)) => return Err(journal_failed(&e)),
            None => return Err(journal_failed("the journal writer stopped")),
        }
        let mut moved = false;
        while self.pending.front().is_some_and(|p| p.batch <= self.durable) {
            let Some(p) = self.pending.pop_front() else { break };
            moved |= p.changes.iter().any(|c| matches!(c, planrun_engine::Change::Task { .. }));
            self.report_changes(&p.changes);
            self.act(p.decisions);
        }
        if moved {
            self.status_changed();
        }
        Ok(())
    }

    /// Stops every running step, waits for their process groups to end, and gives up with
    /// `message` (exit code 1): used when the journal cannot be written, since nothing may
    /// happen that is not recorded.
    pub(super) async fn abort(&mut self, message: &str) -> u8 {
        self.cancel_all();
        while self.steps.join_next().await.is_some() {}
        if let Some(w) = self.writer.take() {
            let _ = w.stop();
        }
        self.reporter.finish();
        self.failed = Some(message.to_owned());
        exit::FAILURE
    }

    pub(super) fn report_changes(&mut self, changes: &[planrun_engine::Change]) {
        for c in changes {
            if let planrun_engine::Change::FinalCheck { check } = c {
                match check {
                    planrun_engine::FinalCheck::Passed => {
                        self.reporter.emit(&RunEvent::FinalCheckPassed(ev::Empty {}));
                    }
                    planrun_engine::FinalCheck::Failed { reason } if !self.final_interrupted => {
                        self.reporter.emit(&RunEvent::FinalCheckFailed(ev::Reason { reason: reason.clone() }));
                    }
                    _ => {}
                }
                continue;
            }
            let planrun_engine::Change::Task { task, transition } = c else { continue };
            let id = self.s.id(*task).to_owned();
            let state = self.s.engine.state(*task).cloned();
            use planrun_engine::Transition as T;
            match transition {
                T::Pass => {
                    self.reporter.emit(&RunEvent::Done(ev::TaskRef { task: id.clone() }));
                    self.task_done(*task);
                }
                T::Fail { reason } | T::Interrupt { reason } => match state {
                    Some(TaskState::Blocked { reason: why }) => {
                        self.reporter.emit(&RunEvent::Blocked(ev::TaskReason { task: id, reason: why }));
                    }
                    _ => {
                        let r = ev::TaskReason { task: id, reason: reason.clone() };
                        let fail = matches!(transition, T::Fail { .. });
                        self.reporter.emit(&if fail { RunEvent::Rework(r) } else { RunEvent::Interrupted(r) });
                    }
                },
                T::Skip => self.reporter.emit(&RunEvent::Skipped(ev::TaskRef { task: id })),
                _ => {}
            }
        }
    }

    /// Starts the steps the engine decided on. Called only after their changes are journaled.
    pub(super) fn act(&mut self, decisions: Vec<Decision>) {
        for d in decisions {
            match d {
                Decision::Implement { task, attempt, feedback } => self.start_implement(task, attempt, feedback),
                Decision::Check { task, attempt, stage } => self.start_check(task, attempt, stage),
                Decision::Plan { task } => self.start_plan(task),
                Decision::FinalCheck => {
                    self.s.final_checks += 1;
                    let n = self.s.final_checks;
                    self.reporter.emit(&RunEvent::FinalCheck(ev::Empty {}));
                    self.reporter.step_started("plan", "final-check", 1);
                    let rx = self.subscribe(None);
                    self.steps.spawn(steps::final_check(Arc::clone(&self.ctx), n, rx));
                }
            }
        }
    }
}

fn journal_failed(e: &str) -> String {
    format!(
        "cannot write the journal: {e}\n  help: nothing recorded was lost; free some space (or repair the state directory) and run the same command again to resume"
    )
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
