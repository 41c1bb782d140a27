//! Starting steps for the engine's decisions: implement attempts (with their prompts and the
//! session to resume) and check stages.

use super::*;

impl Runner<'_> {
    /// Starts stage `stage` of an attempt.
    pub(super) fn start_check(&mut self, task: usize, attempt: u32, stage: Stage) {
        let Some(t) = self.s.task(task).cloned() else { return };
        if stage == Stage::Merge && self.commit == CommitMode::Manual && self.ctx.ws.mode == WorkspaceMode::Worktree {
            // Never merged without the user's commit: the first time, and while its worktree
            // still holds uncommitted changes, the task waits for the user.
            let shown = self.s.holds.get(&t.id) == Some(&attempt);
            let uncommitted = self.ctx.ws.uncommitted_in(&t.id).unwrap_or(true);
            if !shown || uncommitted {
                self.hold(task, attempt, shown);
                return;
            }
        }
        if matches!(stage, Stage::Review | Stage::Test) {
            if let Some(reason) = self.task_over_budget(task) {
                self.block_now(task, reason);
                return;
            }
        }
        let id = t.id.clone();
        let started = ev::StageStarted { task: id.clone(), attempt, stage: stage.name().to_owned() };
        if let Some(e) = RunEvent::stage_started(stage.name(), started) {
            self.reporter.emit(&e);
        }
        self.reporter.step_started(&id, stage.name(), attempt);
        let plan = &self.s.loaded.plan;
        let title = if plan.title.is_empty() { "this plan".to_owned() } else { plan.title.clone() };
        let body = format!("Task {id} of \"{title}\".");
        let message = planrun_git::commit::message(pipeline::commit_kind(&t.title), &id, &t.title, &body);
        // Files other tasks may change beside this one in a shared tree: those running now
        // (what tasks that finished meanwhile changed was taken into its starting point).
        let others: Vec<String> = (0..plan.tasks.len())
            .filter(|&o| o != task)
            .filter(|&o| self.s.engine.state(o).is_some_and(TaskState::is_running))
            .filter_map(|o| plan.tasks.get(o))
            .flat_map(|o| o.files.iter().cloned())
            // The plan's status files, which planrun itself writes as the run goes, unless
            // the task declares them.
            .chain(self.status_paths.iter().filter(|p| !declares(&t.files, p)).cloned())
            .collect();
        let persona = self
            .templates
            .text(if stage == Stage::Test { templates::persona_for(&t) } else { "reviewer" })
            .trim_end()
            .to_owned();
        let brief = prompt::review_brief(plan, &t);
        let mut vars = vec![
            ("persona", persona),
            ("plan_title", title),
            ("task_id", id.clone()),
            ("task_title", t.title.clone()),
            ("attempt", attempt.to_string()),
            ("brief", brief),
        ];
        if stage == Stage::Review && self.ctx.tester_beside {
            vars.push(("tester_persona", self.templates.text(templates::persona_for(&t)).trim_end().to_owned()));
        }
        let run = steps::CheckRun {
            task,
            id,
            attempt,
            stage,
            verify: t.verify.clone(),
            files: t.files.clone(),
            others,
            vars,
            message,
            not_before: if stage == Stage::Test { self.ctx.tester.as_ref() } else { self.ctx.reviewer.as_ref() }
                .and_then(|r| self.not_before(r.kind)),
            tester_not_before: self.ctx.tester.as_ref().and_then(|t| self.not_before(t.kind)),
        };
        let rx = self.subscribe(Some(task));
        self.steps.spawn(steps::check(Arc::clone(&self.ctx), run, rx));
    }

    /// Leaves task `task`'s passed work in its worktree for the user to commit, and pauses
    /// the run: its merge runs when a later invocation finds the worktree committed.
    pub(super) fn hold(&mut self, task: usize, attempt: u32, again: bool) {
        let id = self.s.id(task).to_owned();
        let path = self.ctx.ws.path(&id);
        let branch = self.ctx.ws.branch(&id);
        let shown = path.strip_prefix(&self.ctx.ws.root).unwrap_or(&path).display().to_string();
        let into = self.ctx.ws.integration.clone().unwrap_or_default();
        self.reporter.emit(&RunEvent::WaitingForCommit(ev::WaitingForCommit {
            task: id.clone(),
            attempt,
            worktree: path.display().to_string(),
            branch: branch.clone(),
            shown: shown.clone(),
            into,
            again,
        }));
        self.s.holds.insert(id.clone(), attempt);
        self.held.push(id.clone());
        let hold = journal_event::HoldRecord { attempt, worktree: path.display().to_string(), branch: branch.clone() };
        let record = (Some(id.clone()), JournalEvent::Hold(hold));
        if let Err(message) = self.submit(&[record], Vec::new(), Vec::new()) {
            self.reporter.note(&format!("planrun: {message}"));
        }
        if self.pause.is_none() {
            self.pause = Some(format!("task {id} waits for your commit in `{shown}`"));
        }
        self.drain();
    }

    pub(super) fn start_implement(&mut self, task: usize, attempt: u32, feedback: Option<String>) {
        let id = self.s.id(task).to_owned();
        let not_started = |reason: &str, interrupted: bool, log: std::path::PathBuf| {
            let reason = reason.to_owned();
            async move {
                StepDone {
                    kind: Kind::Implement,
                    task: Some(task),
                    attempt,
                    result: Err(reason),
                    interrupted,
                    elapsed: Duration::ZERO,
                    log,
                    agent: None,
                    detail: None,
                    pre: None,
                }
            }
        };
        if self.s.engine.is_draining() {
            // Decided before Ctrl-C, durable only after it: do not start it; record it as
            // interrupted (not a failure) so the next run starts it again.
            let log = self.ctx.layout.attempt_log(&id, attempt, "implement");
            self.steps.spawn(not_started("interrupted before it started", true, log));
            return;
        }
        if let Some(reason) = self.task_over_budget(task) {
            self.block_now(task, reason);
            return;
        }
        let agent = self.agents.for_task(task).clone();
        let resume = feedback.as_ref().and_then(|_| self.resumable(task, &agent));
        self.policy.started_fresh(task);
        let path = self.s.layout.prompt(&id, attempt);
        let take_file = self.s.layout.dir.join("takes").join(format!("{id}.md"));
        let mut text = match (&resume, &feedback) {
            (Some(_), Some(f)) => self.resume_prompt(task, attempt, f),
            _ => self.prompt_for(task, attempt, feedback.as_deref()),
        };
        if let Some((_, note)) = self.s.notes.get(&id).filter(|(after, _)| attempt > *after) {
            text.push_str(&prompt::note_section(note));
        }
        if let Some(files) = self.s.loaded.context_files.get(&id) {
            // A dependency that passed in this run may not have its summary file yet (the live
            // writer follows within a second): planrun's own account stands in for it.
            let mut accounts = Vec::new();
            for dep in self.s.task(task).map(|t| t.depends_on.clone()).unwrap_or_default() {
                let names = [format!("{dep}-summary.md"), format!("{dep}.md")];
                let written = files.iter().any(|f| {
                    f.is_file() && f.file_name().is_some_and(|n| names.iter().any(|m| n.to_string_lossy() == *m))
                });
                let done =
                    self.s.loaded.plan.tasks.iter().position(|t| t.id == dep).and_then(|d| self.s.engine.state(d))
                        == Some(&TaskState::Done);
                let details = self.s.steps.get(&dep).map(|r| report::task_details(r)).unwrap_or_default();
                if !written && done && !details.is_empty() {
                    accounts.push((dep, details));
                }
            }
            text.push_str(&prompt::summaries_section(files, &accounts));
        }
        // The reviewer's take: given once before the first attempt, then part of every fresh
        // prompt (a resumed session has it already).
        let mut take = None;
        if self.take {
            match std::fs::read_to_string(&take_file) {
                Ok(t) if resume.is_none() => text.push_str(&prompt::take_section(&t)),
                Ok(_) => {}
                Err(_) => take = self.take_run(task, attempt, &take_file),
            }
        }
        // The implementer's plan: kept from earlier (into the prompt now), or written first.
        let plan = if (self.take || self.plan_ahead) && resume.is_none() {
            self.plan_run(task, attempt, &agent, &mut text)
        } else {
            None
        };
        let written = path.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|()| std::fs::write(&path, &text));
        // A task's first attempt, or its first after `planrun retry`, starts; a rework retries.
        let start = ev::Implementing {
            task: id.clone(),
            attempt,
            step: "implement".to_owned(),
            agent: agent.kind.name().to_owned(),
            model: agent.model.clone(),
            resumed: resume.is_some(),
        };
        self.reporter.emit(&if feedback.is_none() { RunEvent::Start(start) } else { RunEvent::Retry(start) });
        self.reporter.step_started(&id, "implement", attempt);
        let ctx = Arc::clone(&self.ctx);
        if let Err(e) = written {
            let reason = format!("cannot write the prompt file `{}`: {e}", path.display());
            let log = ctx.layout.attempt_log(&id, attempt, "implement");
            self.steps.spawn(not_started(&reason, false, log));
            return;
        }
        let not_before = self.not_before(agent.kind);
        if let Some(at) = not_before {
            let secs = at.saturating_duration_since(tokio::time::Instant::now()).as_secs();
            self.reporter.emit(&RunEvent::Waiting(ev::Waiting {
                task: id.clone(),
                agent: agent.kind.name().to_owned(),
                seconds: secs,
            }));
        }
        let rx = self.subscribe(Some(task));
        let prepare = self.s.loaded.prepare.get(&id).cloned().unwrap_or_default();
        let run =
            ImplementRun { task, id, attempt, agent, prompt: path, text, resume, take, not_before, prepare, plan };
        self.steps.spawn(steps::implement(ctx, run, rx));
    }

    /// `--pipeline`: `task`'s implementer plans now, read-only, in a tree of its own at the
    /// integration branch's tip, while a task it depends on is in review.
    pub(super) fn start_plan(&mut self, task: usize) {
        let agent = self.agents.for_task(task).clone();
        let mut unused = String::new();
        let Some(run) = self.plan_run(task, 0, &agent, &mut unused) else {
            // A plan is kept already: nothing to write.
            let out = self.s.engine.handle(Input::Planned { task, result: Ok(()) });
            if let Ok(out) = out {
                if let Err(message) = self.submit(&[], out.changes, out.decisions) {
                    self.reporter.note(&format!("planrun: {message}"));
                }
            }
            return;
        };
        let id = self.s.id(task).to_owned();
        self.reporter.emit(&RunEvent::Planning(ev::TaskRef { task: id.clone() }));
        self.reporter.step_started(&id, "plan", 0);
        let rx = self.subscribe(Some(task));
        self.steps.spawn(steps::plan_ahead(Arc::clone(&self.ctx), run, rx));
    }

    /// With `--take` or `--pipeline`, the implementer's plan for `task`: kept from an earlier
    /// attempt (then put in `text`), else the call that writes it before the code.
    fn plan_run(&self, task: usize, attempt: u32, agent: &Agent, text: &mut String) -> Option<steps::PlanRun> {
        let t = self.s.task(task)?;
        let keep = self.s.layout.dir.join("plans").join(format!("{}.md", t.id));
        // planrun's own copy, else the one the format keeps (a uc task's `plan.md`, written by
        // an earlier run of either tool): a plan is written once.
        let own = self.s.loaded.plan_files.get(&t.id);
        let kept = std::fs::read_to_string(&keep).or_else(|e| own.map_or(Err(e), std::fs::read_to_string));
        if let Some(kept) = kept.ok().filter(|k| !k.trim().is_empty()) {
            text.push_str(&prompt::plan_section(&kept));
            return None;
        }
        let plan = &self.s.loaded.plan;
        let title = if plan.title.is_empty() { "this plan" } else { plan.title.as_str() };
        let persona = self.templates.text(templates::persona_for(t)).trim_end().to_owned();
        let brief = prompt::brief(plan, t, &[], None);
        let vars = [
            ("persona", persona.as_str()),
            ("plan_title", title),
            ("task_id", &t.id),
            ("task_title", &t.title),
            ("brief", &brief),
        ];
        let text = self.templates.render("plan", &vars);
        let prompt = self.s.layout.dir.join("prompts").join(format!("{}.{attempt}.plan.md", t.id));
        let call = steps::AgentCall {
            task,
            not_before: self.not_before(agent.kind),
            id: t.id.clone(),
            role: "plan",
            attempt,
            agent: agent.clone(),
            prompt,
            text,
            resume: None,
            cwd: self.ctx.ws.path(&t.id),
            log: self.ctx.layout.attempt_log(&t.id, attempt, "plan"),
        };
        Some(steps::PlanRun { call, keep, copy_to: self.s.loaded.plan_files.get(&t.id).cloned() })
    }

    /// The reviewer's take for `task`, to run before its implementer.
    pub(super) fn take_run(&self, task: usize, attempt: u32, keep: &std::path::Path) -> Option<steps::TakeRun> {
        let agent = self.ctx.reviewer.clone()?;
        let t = self.s.task(task)?;
        let plan = &self.s.loaded.plan;
        let title = if plan.title.is_empty() { "this plan" } else { plan.title.as_str() };
        let persona = self.templates.text("architect").trim_end().to_owned();
        let brief = prompt::brief(plan, t, &[], None);
        let text = self.templates.render(
            "take",
            &[
                ("persona", &persona),
                ("plan_title", title),
                ("task_id", &t.id),
                ("task_title", &t.title),
                ("brief", &brief),
            ],
        );
        let prompt = self.s.layout.dir.join("prompts").join(format!("{}.{attempt}.take.md", t.id));
        std::fs::write(&prompt, &text).ok()?;
        if let Some(dir) = keep.parent() {
            std::fs::create_dir_all(dir).ok()?;
        }
        let call = steps::AgentCall {
            task,
            not_before: self.not_before(agent.kind),
            id: t.id.clone(),
            role: "take",
            attempt,
            agent,
            prompt,
            text,
            resume: None,
            cwd: self.ctx.ws.path(&t.id),
            log: self.ctx.layout.attempt_log(&t.id, attempt, "take"),
        };
        Some(steps::TakeRun { call, keep: keep.to_owned() })
    }

    /// The session to resume for `task`'s rework with `agent`, if any: the last implement step's
    /// session, by the same CLI, unless it was already resumed `resume_rounds` times in a row.
    pub(super) fn resumable(&self, task: usize, agent: &Agent) -> Option<(String, Usage)> {
        if agent.kind == AgentKind::Command || self.resume_rounds == 0 || self.policy.fresh(task) {
            return None;
        }
        let records: Vec<&session::AgentRecord> = self
            .s
            .steps
            .get(self.s.id(task))?
            .iter()
            .filter(|r| r.step == "implement")
            .filter_map(|r| r.agent.as_ref())
            .collect();
        let last = records.last()?;
        let session = last.session.clone()?;
        if last.agent != agent.kind.name() {
            return None;
        }
        let in_a_row = records.iter().rev().take_while(|r| r.resumed && r.session.as_ref() == Some(&session)).count();
        if u32::try_from(in_a_row).unwrap_or(u32::MAX) >= self.resume_rounds {
            return None;
        }
        Some((session, last.session_usage.unwrap_or_default()))
    }

    /// The short prompt of a resumed session: it knows the task; it needs the failure.
    pub(super) fn resume_prompt(&self, task: usize, attempt: u32, feedback: &str) -> String {
        let Some(t) = self.s.task(task) else { return String::new() };
        let attempt = attempt.to_string();
        let feedback = prompt::fenced_feedback(feedback);
        self.templates.render(
            "resume",
            &[("task_id", &t.id), ("task_title", &t.title), ("attempt", &attempt), ("feedback", &feedback)],
        )
    }

    pub(super) fn prompt_for(&self, task: usize, attempt: u32, feedback: Option<&str>) -> String {
        let plan = &self.s.loaded.plan;
        let Some(t) = plan.tasks.get(task) else { return String::new() };
        let deps: Vec<prompt::DepNote<'_>> = self
            .s
            .checked
            .graph
            .deps
            .get(task)
            .into_iter()
            .flatten()
            .filter_map(|&d| {
                let dt = plan.tasks.get(d)?;
                let notes =
                    std::fs::read(self.s.layout.notes(&dt.id)).ok().map(|b| String::from_utf8_lossy(&b).into_owned());
                let state = self.s.engine.state(d).map_or("pending", TaskState::name);
                Some(prompt::DepNote { task: dt, state, notes })
            })
            .collect();
        let notes_file = self.s.layout.notes(&t.id).display().to_string();
        let brief = prompt::brief(plan, t, &deps, feedback);
        let persona = self.templates.text(templates::persona_for(t)).trim_end().to_owned();
        let title = if plan.title.is_empty() { "this plan" } else { plan.title.as_str() };
        let attempt = attempt.to_string();
        self.templates.render(
            "implement",
            &[
                ("persona", &persona),
                ("plan_title", title),
                ("task_id", &t.id),
                ("task_title", &t.title),
                ("attempt", &attempt),
                ("brief", &brief),
                ("notes_file", &notes_file),
            ],
        )
    }
}

/// Whether one of a task's file patterns covers `path`.
fn declares(files: &[String], path: &str) -> bool {
    files.iter().any(|f| planrun_plan::globs::Pattern::parse(f).is_ok_and(|p| p.matches(path)))
}
