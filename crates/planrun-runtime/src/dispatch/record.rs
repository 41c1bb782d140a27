//! Journaling finished steps: their records, what they found, the engine inputs they become, and
//! what a passed task leaves (its report, the pause after it).

use super::*;

impl Runner<'_> {
    pub(super) fn announce(&mut self, stopped: &[i32]) {
        let plan = &self.s.loaded.plan;
        let n = plan.tasks.len();
        let states = self.s.engine.states();
        let count = |f: fn(&TaskState) -> bool| states.iter().filter(|s| f(s)).count();
        let done = count(|s| *s == TaskState::Done);
        let started = ev::Started {
            plan: self.s.plan_path.display().to_string(),
            tasks: n,
            done,
            jobs: self.s.limit,
            state_dir: self.s.layout.dir.display().to_string(),
        };
        self.reporter.emit(&if self.s.resumed { RunEvent::Resumed(started) } else { RunEvent::Started(started) });
        if !stopped.is_empty() {
            self.reporter.emit(&RunEvent::OrphansStopped(ev::OrphansStopped { pids: stopped.to_vec() }));
        }
        for &t in &self.s.changed_done.clone() {
            let task = self.s.id(t).to_owned();
            self.reporter.emit(&RunEvent::ChangedAfterDone(ev::TaskRef { task }));
        }
    }

    /// How full each usage window of the task's agent was when the task started and when it
    /// ended (from the journaled uses): `claude 5h: 12% at start, 30% at end`.
    fn window_lines(&self, task: usize) -> Vec<String> {
        let id = self.s.id(task);
        let records = self.s.steps.get(id).map(Vec::as_slice).unwrap_or_default();
        let ends = records.iter().filter_map(|r| r.ended_ms.map(|e| (e.saturating_sub(r.elapsed_ms), e)));
        let (Some(start), Some(end)) = (ends.clone().map(|(s, _)| s).min(), ends.map(|(_, e)| e).max()) else {
            return Vec::new();
        };
        let agent = self.agents.for_task(task).kind.name();
        let at_start = self.policy.window_shares(agent, start);
        let at_end = self.policy.window_shares(agent, end);
        at_start
            .iter()
            .zip(&at_end)
            .map(|((label, a), (_, b))| {
                format!("{agent} {label}: {:.0}% at start, {:.0}% at end", a * 100.0, b * 100.0)
            })
            .collect()
    }

    /// A task passed every stage: its step report, and a pause for the user when
    /// `--commit manual` or `--batch N` asks for one.
    pub(super) fn task_done(&mut self, task: usize) {
        let id = self.s.id(task).to_owned();
        let windows = self.window_lines(task);
        let report = match report::write_task(&self.s, &self.run_id, task, &windows) {
            Ok((path, line)) => {
                self.reporter.emit(&RunEvent::TaskReport(ev::TaskReport {
                    task: id.clone(),
                    summary: line,
                    report: path.display().to_string(),
                }));
                path.display().to_string()
            }
            Err(e) => {
                self.reporter.note(&format!("planrun: the step report of {id} could not be written: {e}"));
                String::new()
            }
        };
        // What the reviewers advised without blocking, once more now that the task passed.
        let advisory = report::TaskReport::of(&self.s, &id).advisory;
        if !advisory.is_empty() {
            let lines: Vec<String> = advisory.iter().map(|a| format!("\n  - {a}")).collect();
            self.reporter.note(&format!(
                "planrun: {id} passed; its reviewers advised (not blocking), for you to consider:{}",
                lines.concat()
            ));
        }
        if self.ctx.ws.mode == WorkspaceMode::Shared {
            // Only a record file in a shared tree: the next attempt (after a retry) measures
            // its changes from a fresh snapshot.
            let _ = self.ctx.ws.release(&id, "done");
            // Tasks that worked beside it no longer count its changes as theirs.
            let files = self.s.task(task).map(|t| t.files.clone()).unwrap_or_default();
            let begun: Vec<String> = (0..self.s.loaded.plan.tasks.len())
                .filter(|&o| {
                    o != task
                        && matches!(
                            self.s.engine.state(o),
                            Some(TaskState::InProgress { .. } | TaskState::InReview { .. } | TaskState::Rework { .. })
                        )
                })
                .map(|o| self.s.id(o).to_owned())
                .collect();
            for (other, e) in self.ctx.ws.absorb(&begun, &files) {
                self.reporter.note(&format!("planrun: {other}: {e}"));
            }
        }
        self.passed_ids.push(id.clone());
        // In worktree mode a manual commit pauses before the merge (`hold`), not here.
        let all_done = self.s.engine.states().iter().all(TaskState::satisfies_dependents);
        let mut why = self.policy.passed(all_done).filter(|_| self.pause.is_none());
        if self.completes_milestone(task) {
            // A batch never crosses a milestone.
            let at_end = self.policy.milestone_passed(all_done).filter(|_| self.pause.is_none());
            why = why.or(at_end);
        }
        let reason = why.map(|why| match why {
            policy::PauseWhy::Commit => format!(
                "task {id} is done and waits for you: inspect its changes and commit them as you see fit (its report: {report})"
            ),
            policy::PauseWhy::Batch(n) => format!("a batch of {n} task{} is done", if n == 1 { "" } else { "s" }),
            policy::PauseWhy::Milestone => format!(
                "milestone \"{}\" is done (a batch ends with its milestone)",
                self.s.task(task).and_then(|t| t.milestone.as_deref()).unwrap_or("")
            ),
        });
        if let Some(reason) = reason {
            self.reporter.emit(&RunEvent::Pausing(ev::TaskReason { task: id.clone(), reason: reason.clone() }));
            self.pause = Some(reason);
            self.drain();
        }
    }

    /// Journals one finished step (and the step that ran inside it first), and reports it.
    pub(super) fn record_step(&mut self, done: &StepDone, records: &mut Vec<session::Record>) {
        if let Some(pre) = &done.pre {
            self.record_step(pre, records);
        }
        let id = done.task.map(|t| self.s.id(t).to_owned());
        let name = done.kind.name();
        if done.pre.is_none() || done.kind != Kind::Take {
            self.reporter.step_ended(id.as_deref().unwrap_or("plan"), name);
        }
        let summary = match &done.result {
            Ok(()) => "passed".to_owned(),
            Err(r) => r.lines().next().unwrap_or("").to_owned(),
        };
        let elapsed_ms = u64::try_from(done.elapsed.as_millis()).unwrap_or(u64::MAX);
        let agent = done.agent.as_ref().map(|a| a.record.clone());
        // Stages that only run git have no log of their own.
        let log = done.log.is_file().then(|| done.log.clone());
        let ended_ms = unix_ms();
        let payload = journal_event::StepPayload {
            attempt: done.attempt,
            step: name.to_owned(),
            ok: done.result.is_ok(),
            interrupted: done.interrupted,
            summary: summary.clone(),
            elapsed_ms,
            ended_unix_ms: Some(ended_ms),
            log: log.as_ref().map(|l| l.display().to_string()),
            agent: agent.clone(),
            detail: done.detail.clone(),
        };
        if let Some(task) = done.task {
            // From now on the journal holds what the step used, not the meter.
            let role = match done.kind {
                Kind::Check(stage) => stage.name(),
                other => other.name(),
            };
            let used = agent.as_ref().map(|a| (a.agent.as_str(), budget::spend_of(&a.usage, a.cost_usd)));
            self.policy.step_ended(Some(task), done.attempt, role, used, ended_ms);
        } else {
            self.policy.step_ended(None, done.attempt, name, None, ended_ms);
        }
        // The run's own record of the step is the journal's, read the way replay reads it.
        let record = session::StepRecord::of(&payload);
        records.push((id.clone(), JournalEvent::Step(Box::new(payload))));
        if let Some(id) = &id {
            self.s.steps.entry(id.clone()).or_default().push(record);
            if let Some(a) = &done.agent {
                self.reporter.emit(&RunEvent::AgentUsage(ev::AgentUsage {
                    task: id.clone(),
                    attempt: done.attempt,
                    step: name.to_owned(),
                    agent: a.record.event(),
                    denied: a.denied.clone(),
                }));
            }
            self.report_detail(id, done);
        }
    }

    /// What a stage found that the user should see even when it passed: changes outside the
    /// task's files under `--scope warn`, advisory findings, a commit or a merge.
    pub(super) fn report_detail(&mut self, id: &str, done: &StepDone) {
        let Some(d) = &done.detail else { return };
        match done.kind {
            Kind::Check(Stage::Scope) if done.result.is_ok() => {
                let outside = d.outside.clone().unwrap_or_default();
                if !outside.is_empty() {
                    self.reporter.emit(&RunEvent::ScopeWarning(ev::ScopeWarning { task: id.to_owned(), outside }));
                }
            }
            Kind::Check(Stage::Review | Stage::Test) => {
                for r in d.reviews.iter().flatten() {
                    for f in r.findings.iter().filter(|f| f.severity == planrun_agents::verdict::Severity::Advisory) {
                        self.reporter.emit(&RunEvent::Advisory(ev::Advisory {
                            task: id.to_owned(),
                            review: r.review.clone(),
                            finding: serde_json::to_value(f).unwrap_or_default(),
                        }));
                    }
                }
            }
            Kind::Check(Stage::Commit) if done.result.is_ok() => {
                if let Some(c) = &d.commit {
                    self.reporter.emit(&RunEvent::Committed(ev::Committed { task: id.to_owned(), commit: c.clone() }));
                }
            }
            Kind::Check(Stage::Merge) if done.result.is_ok() => {
                if let Some(c) = &d.merged {
                    self.reporter.emit(&RunEvent::Merged(ev::Merged {
                        task: id.to_owned(),
                        commit: c.clone(),
                        into: d.into.clone().unwrap_or_default(),
                        rebased: d.rebased == Some(true),
                    }));
                }
            }
            _ => {}
        }
    }

    /// Turns finished steps into engine inputs, journals what they changed with the steps'
    /// records in one transaction, then acts on the decisions.
    pub(super) fn take(&mut self, batch: Vec<Result<StepDone, tokio::task::JoinError>>) -> Result<(), String> {
        // Reports sent before these steps ended are taken first, so none arrives after its
        // step is journaled.
        while let Ok(report) = self.reports.try_recv() {
            self.report(report);
        }
        let mut records = Vec::new();
        let mut changes = Vec::new();
        let mut decisions = Vec::new();
        for joined in batch {
            let done = match joined {
                Ok(d) => d,
                Err(e) => return Err(format!("a step failed inside planrun: {e}")),
            };
            self.record_step(&done, &mut records);
            self.tell_check_output(&done);
            let id = done.task.map(|t| self.s.id(t).to_owned());
            let provider_error = done.agent.as_ref().and_then(|a| a.provider_error.clone());
            let unstartable = done.agent.as_ref().and_then(|a| a.unstartable.clone());
            let input = match (done.kind, done.task) {
                (Kind::Final, _) => {
                    if done.interrupted {
                        self.final_interrupted = true;
                    }
                    Input::FinalChecked { result: done.result }
                }
                // A plan written ahead (`--pipeline`): the task codes once its dependencies
                // passed, with or without it.
                (Kind::Plan, Some(task)) if done.attempt == 0 => {
                    if let Err(reason) = &done.result {
                        let first = reason.lines().next().unwrap_or("");
                        self.reporter.note(&format!(
                            "planrun: {}: planning ahead failed: {first}",
                            id.as_deref().unwrap_or("?")
                        ));
                    }
                    Input::Planned { task, result: done.result.clone() }
                }
                (_, None) | (Kind::Take | Kind::Plan, _) => continue,
                (_, Some(task)) if self.policy.blocks(task) => {
                    // Its budget is spent, or the watchdog stopped it.
                    let reason = self.policy.take_block(task).unwrap_or_default();
                    Input::Block { task, reason }
                }
                (_, Some(task)) if done.interrupted => {
                    let reason = match (self.policy.stopped(), self.policy.fresh(task)) {
                        (Some((_, why)), _) => format!("stopped: {why}"),
                        (None, true) => "stopped by the watchdog: no agent printed anything for too long".into(),
                        (None, false) => "planrun was interrupted during this attempt".into(),
                    };
                    Input::Interrupted { task, attempt: done.attempt, reason }
                }
                (_, Some(task)) if unstartable.is_some() => {
                    let reason = unstartable.unwrap_or_default();
                    // Every attempt would fail the same way: the run stops (exit 4) with what
                    // to fix, and the attempt does not count as a failure.
                    self.stop_starting(Halt::Unstartable, id.as_deref().unwrap_or("?"), &reason);
                    Input::Interrupted { task, attempt: done.attempt, reason }
                }
                (_, Some(task)) if provider_error.is_some() && done.result.is_err() => {
                    let reason = done.result.clone().err().unwrap_or_default();
                    let kind = done.agent.as_ref().and_then(|a| a.record.agent.parse::<AgentKind>().ok());
                    match (kind, provider_error.map(|p| p.kind)) {
                        (Some(kind), Some(ProviderKind::RateLimit { reset })) => {
                            self.rate_limited(task, kind, reset, &reason);
                        }
                        _ => self.stop_for_provider(id.as_deref().unwrap_or("?"), &reason),
                    }
                    Input::Interrupted { task, attempt: done.attempt, reason }
                }
                (Kind::Check(stage), Some(task))
                    if done.result.is_err()
                        && self.on_fail == pipeline::OnFail::Ask
                        && matches!(stage, Stage::Verify | Stage::Test | Stage::Review) =>
                {
                    let reason = done.result.clone().err().unwrap_or_default();
                    self.ask(task, &reason)
                }
                (Kind::Implement | Kind::Check(_), Some(task))
                    if done.result.is_err()
                        && self
                            .repeated(task, class_of(done.kind), done.result.as_ref().err().map_or("", String::as_str))
                            .is_some() =>
                {
                    let reason = done.result.clone().err().unwrap_or_default();
                    Input::Block { task, reason: format!("failed the same way twice in a row: {reason}") }
                }
                (Kind::Implement, Some(task)) => {
                    Input::Implemented { task, attempt: done.attempt, result: done.result }
                }
                (Kind::Check(stage), Some(task)) => {
                    Input::Checked { task, attempt: done.attempt, stage, result: done.result }
                }
            };
            if self.pauses_after(&input) {
                // The task's pass will pause the run: nothing new may start with it.
                self.drain();
            }
            match self.s.engine.handle(input) {
                Ok(out) => {
                    changes.extend(out.changes);
                    decisions.extend(out.decisions);
                }
                Err(e) => self.reporter.note(&format!("planrun: ignored a late report: {e}")),
            }
        }
        self.submit(&records, changes, decisions)
    }

    /// `--on-fail ask`: task `task`'s checks or reviews rejected its work for `reason`. Nothing
    /// new starts, the task waits for the user (blocked, with the reason), and the run pauses
    /// once what runs has finished, with the choices (see `finish`).
    fn ask(&mut self, task: usize, reason: &str) -> Input {
        let id = self.s.id(task).to_owned();
        self.drain();
        let why = format!("task {id} waits for you: its checks or reviews rejected its work");
        // The event carries what rejected it (each finding with its file:line), for --json.
        let detail = format!("{why}:\n{reason}");
        self.reporter.emit(&RunEvent::Pausing(ev::TaskReason { task: id.clone(), reason: detail }));
        if self.pause.is_none() {
            self.pause = Some(why);
        }
        self.asked.push((id, reason.to_owned()));
        Input::Block { task, reason: format!("waits for you (--on-fail ask): {reason}") }
    }

    /// Whether `input` passes a task and that pass pauses the run (`--batch N`, or
    /// `--commit manual` in a shared tree; see `task_done`), so the engine must drain first
    /// rather than start a task the pause would only interrupt. Not when every other task is
    /// done: the run then ends (with its final check) instead of pausing.
    pub(super) fn pauses_after(&self, input: &Input) -> bool {
        let (task, passes) = match input {
            Input::Checked { task, stage, result: Ok(()), .. } => {
                (*task, self.s.engine.stages(*task).last() == Some(stage))
            }
            Input::Implemented { task, result: Ok(()), .. } => (*task, self.s.engine.stages(*task).is_empty()),
            _ => return false,
        };
        if !passes || self.pause.is_some() {
            return false;
        }
        let others_done =
            self.s.engine.states().iter().enumerate().all(|(i, st)| i == task || st.satisfies_dependents());
        self.policy.next_pass_pauses(others_done)
            || (!others_done && self.policy.pauses_at_milestones() && self.completes_milestone(task))
    }

    /// With the plan's barriers on: whether `task`'s pass finishes its milestone (every other
    /// task of it is done or skipped).
    pub(super) fn completes_milestone(&self, task: usize) -> bool {
        let Some(m) = self.s.task(task).and_then(|t| t.milestone.as_deref()).filter(|_| self.barriers) else {
            return false;
        };
        let states = self.s.engine.states();
        self.s.loaded.plan.tasks.iter().enumerate().all(|(i, t)| {
            i == task || t.milestone.as_deref() != Some(m) || states.get(i).is_some_and(TaskState::satisfies_dependents)
        })
    }

    /// A model provider failed (API error, rate limit): nothing new starts, running steps
    /// finish, and the run ends resumable with exit 4. The attempt does not count as a failure.
    pub(super) fn stop_for_provider(&mut self, id: &str, reason: &str) {
        self.stop_starting(Halt::Provider, id, reason);
    }

    /// Nothing new starts and running steps finish, for a reason that is no task's fault: a
    /// provider's error, or an agent program that cannot be started.
    pub(super) fn stop_starting(&mut self, kind: Halt, id: &str, reason: &str) {
        let r = ev::TaskReason { task: id.to_owned(), reason: reason.to_owned() };
        self.reporter.emit(&match kind {
            Halt::Unstartable => RunEvent::AgentUnavailable(r),
            Halt::Provider => RunEvent::ProviderError(r),
        });
        if self.policy.halt(kind, reason) {
            self.drain();
        }
    }

    /// Says once per invocation that the checks made files (never committed), with the first
    /// few names: the same files usually come back with every task.
    pub(super) fn tell_check_output(&mut self, done: &StepDone) {
        if self.told_check_output {
            return;
        }
        let made = done.detail.as_ref().and_then(|d| d.made_by_checks.as_ref());
        let Some(made) = made.filter(|m| !m.is_empty()) else { return };
        self.told_check_output = true;
        let names: Vec<String> = made.iter().take(5).map(|p| format!("`{p}`")).collect();
        let more =
            if made.len() > names.len() { format!(" and {} more", made.len() - names.len()) } else { String::new() };
        self.reporter.note(&format!(
            "planrun: the checks made files that are not the tasks' work, so they are never committed: {}{more} (list them in .gitignore to keep them out of sight)",
            names.join(", ")
        ));
    }
}

/// What kind of step failed, for the repeat rule.
fn class_of(kind: Kind) -> FailureClass {
    match kind {
        Kind::Check(stage) => FailureClass::Check(stage),
        _ => FailureClass::Agent,
    }
}
