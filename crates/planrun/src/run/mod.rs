//! `planrun run`: the runtime loop that connects the engine to the world. It opens the run
//! (replaying the journal), stops what a crashed run left behind, then loops: journal the
//! engine's changes, act on its decisions by starting supervised steps, feed their ends back as
//! inputs. One dispatcher owns the truth; steps report by message. Ctrl-C drains, a second
//! Ctrl-C stops everything. Business rules stay in the engine.

mod layout;
mod orphans;
mod progress;
mod prompt;
mod session;
mod steps;
pub(crate) mod views;
mod writer;

use crate::cli::RunArgs;
use crate::exit;
use crate::render::Output as Term;
use planrun_agents::Template;
use planrun_engine::{Decision, Input, RunOutcome, TaskState};
use progress::{Mode, Reporter};
use serde_json::{Value, json};
pub(crate) use session::{OpenArgs, Session, SessionError};
use std::io::IsTerminal as _;
use std::sync::Arc;
use std::time::Duration;
use steps::{Ctx, Kind, Limits, StepDone};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Exit code: some tasks are blocked or the final check failed.
pub(crate) const BLOCKED: u8 = 3;
/// Exit code: interrupted by Ctrl-C (128 + SIGINT).
pub(crate) const INTERRUPTED: u8 = 130;

/// Prints why a run could not be opened and returns the exit code.
pub(crate) fn open_failed(e: &SessionError, term: &Term) -> u8 {
    match e {
        SessionError::Invalid(loaded, checked) => {
            let mut renderer = crate::render::Renderer::new(&loaded.sources, term);
            let mut text = String::new();
            for d in checked.diagnostics.iter().filter(|d| d.severity == planrun_plan::Severity::Error) {
                text.push_str(&renderer.render(d));
            }
            eprint!("{text}");
            eprintln!(
                "error: the plan has {} error{}; nothing was run\n  help: {}",
                checked.errors(),
                if checked.errors() == 1 { "" } else { "s" },
                e.help()
            );
            exit::INVALID_PLAN
        }
        SessionError::Load(_) | SessionError::NoRun(_) | SessionError::OtherPlan { .. } => {
            eprintln!("error: {e}\n  help: {}", e.help());
            exit::INVALID_PLAN
        }
        _ => {
            eprintln!("error: {e}\n  help: {}", e.help());
            exit::FAILURE
        }
    }
}

pub(crate) fn run(args: &RunArgs, term: &Term) -> u8 {
    let Some(command) = args.agent_command.as_deref() else {
        eprintln!(
            "error: no agent to run the tasks\n  help: pass --agent-command 'PROGRAM ARGS…' (e.g. --agent-command 'my-agent {{prompt_file}}'), or set PLANRUN_AGENT_COMMAND"
        );
        return exit::USAGE;
    };
    let template = match Template::parse(command) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: --agent-command: {e}\n  help: see `planrun run --help` for the template's placeholders");
            return exit::USAGE;
        }
    };
    let open = OpenArgs {
        plan: Some(args.plan.plan.clone()),
        format: args.plan.format,
        state_dir: args.state.state_dir.clone(),
        create: true,
        limit: args.jobs.map(usize::from),
        max_rework: args.max_rework,
    };
    // Live lines need a real terminal of a known size (a pseudo-terminal of size 0 would have
    // the progress lines erase the events printed above them).
    let live = !args.json
        && std::io::stderr().is_terminal()
        && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
        && console::Term::stderr().size_checked().is_some_and(|(rows, cols)| rows > 0 && cols > 0);
    let mut reporter = Reporter::new(args.json, live);
    // The plan is read and checked, and the agent program found, before anything is created on
    // disk: a plan with errors or a typo in the template leaves no trace.
    let loaded = match planrun_plan::load(&args.plan.plan, args.plan.format) {
        Ok(l) => l,
        Err(e) => return open_failed(&SessionError::Load(e), term),
    };
    let checked = planrun_plan::check(&loaded);
    if checked.errors() > 0 {
        return open_failed(&SessionError::Invalid(Box::new(loaded), Box::new(checked)), term);
    }
    let layout = layout::Layout::for_plan(&args.plan.plan, args.state.state_dir.as_deref());
    if let Err(message) = agent_exists(&template, &layout.workspace) {
        eprintln!("error: {message}\n  help: check --agent-command; a program without a `/` is looked up in PATH");
        return exit::USAGE;
    }
    // The lock is taken before the journal is read, so two planruns never share a run.
    if let Err(e) = layout.create() {
        eprintln!("error: cannot create the state directory `{}`: {e}", layout.dir.display());
        return exit::FAILURE;
    }
    let _lock = match layout.lock() {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "error: {e}\n  help: wait for it to finish, or stop it (Ctrl-C) and run this again to resume; `planrun status` shows its progress"
            );
            return exit::FAILURE;
        }
    };
    let session = match Session::open_with(&open, Some((loaded, checked))) {
        Ok(s) => s,
        Err(e) => return open_failed(&e, term),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return exit::FAILURE;
        }
    };
    let ctx = Ctx {
        layout: session.layout.clone(),
        template,
        agent_limits: Limits { wall: args.timeout, stall: args.stall_timeout, grace: args.grace },
        verify_limits: Limits { wall: args.verify_timeout, stall: None, grace: args.grace },
        plan_verify: session.loaded.plan.verify.clone(),
    };
    let code = runtime.block_on(async {
        // A file-size limit (`ulimit -f`) would kill planrun with SIGXFSZ in the middle of a
        // journal write; with a handler installed, the write fails with EFBIG instead and is
        // reported like a full disk. Children get the default action back when they exec.
        let _xfsz = signal(SignalKind::from_raw(nix::libc::SIGXFSZ));
        Runner::new(session, ctx, args, &mut reporter).drive().await
    });
    reporter.finish();
    code
}

/// Changes and decisions waiting for their batch to be durable.
struct Pending {
    batch: u64,
    changes: Vec<planrun_engine::Change>,
    decisions: Vec<Decision>,
}

/// Whether the agent's program can be found before any task is started: a typo in the
/// template should be one clear error, not every task failing in turn.
fn agent_exists(template: &Template, workspace: &std::path::Path) -> Result<(), String> {
    let vars = planrun_agents::Vars {
        prompt_file: String::new(),
        task_id: String::new(),
        workspace: workspace.display().to_string(),
        role: "implement".into(),
        attempt: 1,
    };
    let argv = template.render(&vars);
    let Some(program) = argv.first().filter(|p| !p.is_empty()) else {
        return Err("the agent command is empty".into());
    };
    let found = if program.contains('/') {
        workspace.join(program).is_file()
    } else {
        std::env::var_os("PATH")
            .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
    };
    if found { Ok(()) } else { Err(format!("the agent program `{program}` was not found")) }
}

struct Runner<'a> {
    s: Session,
    writer: Option<writer::Writer>,
    acks: tokio::sync::mpsc::UnboundedReceiver<writer::Ack>,
    next_batch: u64,
    durable: u64,
    pending: std::collections::VecDeque<Pending>,
    ctx: Arc<Ctx>,
    reporter: &'a mut Reporter,
    steps: JoinSet<StepDone>,
    cancel: watch::Sender<bool>,
    drain_timeout: Duration,
    grace: Duration,
    final_interrupted: bool,
}

impl<'a> Runner<'a> {
    fn new(mut s: Session, ctx: Ctx, args: &RunArgs, reporter: &'a mut Reporter) -> Self {
        let (cancel, _) = watch::channel(false);
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
        }
    }

    async fn drive(mut self) -> u8 {
        let stopped = orphans::stop(&self.s.layout.dir, self.grace);
        let mut records: Vec<(String, Option<String>, Value)> = Vec::new();
        records.push((
            "run".into(),
            None,
            json!({
                "plan": self.s.plan_path.display().to_string(),
                "plan_in_workspace": session::in_workspace(&self.s.plan_path, &self.s.layout.workspace),
                "format": self.s.loaded.format.name(),
                "pid": std::process::id(),
                "version": env!("CARGO_PKG_VERSION"),
                "jobs": self.s.limit,
                "max_rework": self.max_rework(),
                "started_unix_ms": unix_ms(),
            }),
        ));
        let fps: serde_json::Map<String, Value> = self
            .s
            .loaded
            .plan
            .tasks
            .iter()
            .zip(&self.s.fingerprints)
            .map(|(t, fp)| (t.id.clone(), Value::String(fp.clone())))
            .collect();
        records.push(("plan".into(), None, json!({ "fingerprints": fps })));
        if !stopped.is_empty() {
            records.push(("orphans".into(), None, json!({ "pids": stopped })));
        }
        self.announce(&stopped);
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
                () = sleep_until(deadline) => {
                    self.reporter.note("planrun: the drain deadline passed; stopping the steps still running");
                    self.cancel.send_replace(true);
                    deadline = None;
                }
            }
        }
    }

    fn max_rework(&self) -> u32 {
        self.s.engine.max_rework()
    }

    fn announce(&mut self, stopped: &[i32]) {
        let plan = &self.s.loaded.plan;
        let n = plan.tasks.len();
        let states = self.s.engine.states();
        let count = |f: fn(&TaskState) -> bool| states.iter().filter(|s| f(s)).count();
        let done = count(|s| *s == TaskState::Done);
        let (verb, event) = if self.s.resumed { ("resuming", "resumed") } else { ("running", "started") };
        let text = format!(
            "planrun: {verb} {} ({n} task{}, {done} done, up to {} at once; state in {})",
            self.s.plan_path.display(),
            if n == 1 { "" } else { "s" },
            self.s.limit,
            self.s.layout.dir.display()
        );
        self.reporter.event(
            event,
            json!({"plan": self.s.plan_path.display().to_string(), "tasks": n, "done": done, "jobs": self.s.limit, "state_dir": self.s.layout.dir.display().to_string()}),
            &text,
        );
        if !stopped.is_empty() {
            let text = format!(
                "planrun: stopped {} process{} the previous run left running (pid {})",
                stopped.len(),
                if stopped.len() == 1 { "" } else { "es" },
                stopped.iter().map(i32::to_string).collect::<Vec<_>>().join(", ")
            );
            self.reporter.event("orphans_stopped", json!({"pids": stopped}), &text);
        }
        for &t in &self.s.changed_done.clone() {
            let id = self.s.id(t).to_owned();
            let text = format!(
                "planrun: task {id} is done, but its definition changed since; it will not run again unless you run `planrun retry {id}`"
            );
            self.reporter.event("changed_after_done", json!({"task": id}), &text);
        }
    }

    fn interrupt(&mut self, n: u32, deadline: &mut Option<tokio::time::Instant>) {
        if n == 1 {
            let _ = self.s.engine.handle(Input::Drain);
            *deadline = Some(tokio::time::Instant::now() + self.drain_timeout);
            let running = self.steps.len();
            let text = format!(
                "planrun: interrupted; starting nothing new, waiting up to {} for {running} running step{} (Ctrl-C again to stop them now)",
                steps::human(self.drain_timeout),
                if running == 1 { "" } else { "s" }
            );
            self.reporter.event("draining", json!({"running": running}), &text);
        } else {
            self.reporter.event("stopping", json!({}), "planrun: stopping every running step");
            self.cancel.send_replace(true);
            *deadline = None;
        }
    }

    /// Turns finished steps into engine inputs, journals what they changed with the steps'
    /// records in one transaction, then acts on the decisions.
    fn take(&mut self, batch: Vec<Result<StepDone, tokio::task::JoinError>>) -> Result<(), String> {
        let mut records = Vec::new();
        let mut changes = Vec::new();
        let mut decisions = Vec::new();
        for joined in batch {
            let done = match joined {
                Ok(d) => d,
                Err(e) => return Err(format!("a step failed inside planrun: {e}")),
            };
            let id = done.task.map(|t| self.s.id(t).to_owned());
            let name = done.kind.name();
            if let Some(id) = &id {
                self.reporter.step_ended(id, name);
            } else {
                self.reporter.step_ended("plan", name);
            }
            let summary = match &done.result {
                Ok(()) => "passed".to_owned(),
                Err(r) => r.lines().next().unwrap_or("").to_owned(),
            };
            records.push((
                "step".to_owned(),
                id.clone(),
                json!({
                    "attempt": done.attempt,
                    "step": name,
                    "ok": done.result.is_ok(),
                    "interrupted": done.interrupted,
                    "summary": summary,
                    "elapsed_ms": u64::try_from(done.elapsed.as_millis()).unwrap_or(u64::MAX),
                    "log": done.log.display().to_string(),
                }),
            ));
            let input = match (done.kind, done.task) {
                (Kind::Final, _) => {
                    if done.interrupted {
                        self.final_interrupted = true;
                    }
                    Input::FinalChecked { result: done.result }
                }
                (_, None) => continue,
                (_, Some(task)) if done.interrupted => Input::Interrupted {
                    task,
                    attempt: done.attempt,
                    reason: "planrun was interrupted during this attempt".into(),
                },
                (Kind::Implement, Some(task)) => {
                    Input::Implemented { task, attempt: done.attempt, result: done.result }
                }
                (Kind::Verify, Some(task)) => Input::Verified { task, attempt: done.attempt, result: done.result },
            };
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

    /// Hands the records and changes to the journal writer; the decisions wait until the
    /// batch is durable.
    fn submit(
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
    fn acknowledged(&mut self, ack: Option<writer::Ack>) -> Result<(), String> {
        match ack {
            Some(Ok(n)) => self.durable = self.durable.max(n),
            Some(Err(e)) => return Err(journal_failed(&e)),
            None => return Err(journal_failed("the journal writer stopped")),
        }
        while self.pending.front().is_some_and(|p| p.batch <= self.durable) {
            let Some(p) = self.pending.pop_front() else { break };
            self.report_changes(&p.changes);
            self.act(p.decisions);
        }
        Ok(())
    }

    /// Stops every running step, waits for their process groups to end, and exits 1: used when
    /// the journal cannot be written, since nothing may happen that is not recorded.
    async fn abort(&mut self, message: &str) -> u8 {
        self.cancel.send_replace(true);
        while self.steps.join_next().await.is_some() {}
        if let Some(w) = self.writer.take() {
            let _ = w.stop();
        }
        self.reporter.finish();
        eprintln!("error: {message}");
        exit::FAILURE
    }

    fn report_changes(&mut self, changes: &[planrun_engine::Change]) {
        for c in changes {
            if let planrun_engine::Change::FinalCheck { check } = c {
                match check {
                    planrun_engine::FinalCheck::Passed => {
                        self.reporter.event("final_check_passed", json!({}), "passed   the final check");
                    }
                    planrun_engine::FinalCheck::Failed { reason } if !self.final_interrupted => {
                        let first = reason.lines().next().unwrap_or("");
                        self.reporter.event(
                            "final_check_failed",
                            json!({"reason": reason}),
                            &format!("failed   the final check: {first}"),
                        );
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
                T::Pass => self.reporter.event("done", json!({"task": id}), &format!("done     {id}")),
                T::Fail { reason } | T::Interrupt { reason } => match state {
                    Some(TaskState::Blocked { reason: why }) => {
                        let first = why.lines().next().unwrap_or("");
                        self.reporter.event(
                            "blocked",
                            json!({"task": id, "reason": why}),
                            &format!("blocked  {id}: {first}"),
                        );
                    }
                    _ => {
                        let first = reason.lines().next().unwrap_or("");
                        let ev = if matches!(transition, T::Fail { .. }) { "rework" } else { "interrupted" };
                        self.reporter.event(
                            ev,
                            json!({"task": id, "reason": reason}),
                            &format!("{ev:<8} {id}: {first}"),
                        );
                    }
                },
                T::Skip => self.reporter.event("skipped", json!({"task": id}), &format!("skipped  {id}")),
                _ => {}
            }
        }
    }

    /// Starts the steps the engine decided on. Called only after their changes are journaled.
    fn act(&mut self, decisions: Vec<Decision>) {
        for d in decisions {
            match d {
                Decision::Implement { task, attempt, feedback } => self.start_implement(task, attempt, feedback),
                Decision::Verify { task, attempt } => {
                    let id = self.s.id(task).to_owned();
                    let commands = self.s.task(task).map(|t| t.verify.clone()).unwrap_or_default();
                    self.reporter.event(
                        "verify",
                        json!({"task": id, "attempt": attempt}),
                        &format!("verify   {id} (attempt {attempt})"),
                    );
                    self.reporter.step_started(&id, "verify", attempt);
                    let rx = self.cancel.subscribe();
                    self.steps.spawn(steps::verify(Arc::clone(&self.ctx), task, id, attempt, commands, rx));
                }
                Decision::FinalCheck => {
                    self.s.final_checks += 1;
                    let n = self.s.final_checks;
                    self.reporter.event("final_check", json!({}), "check    the plan's verify commands, once more");
                    self.reporter.step_started("plan", "final-check", 1);
                    let rx = self.cancel.subscribe();
                    self.steps.spawn(steps::final_check(Arc::clone(&self.ctx), n, rx));
                }
            }
        }
    }

    fn start_implement(&mut self, task: usize, attempt: u32, feedback: Option<String>) {
        let id = self.s.id(task).to_owned();
        if self.s.engine.is_draining() {
            // Decided before Ctrl-C, durable only after it: do not start it; record it as
            // interrupted (not a failure) so the next run starts it again.
            let log = self.ctx.layout.attempt_log(&id, attempt, "implement");
            self.steps.spawn(async move {
                StepDone {
                    kind: Kind::Implement,
                    task: Some(task),
                    attempt,
                    result: Err("interrupted before it started".into()),
                    interrupted: true,
                    elapsed: Duration::ZERO,
                    log,
                }
            });
            return;
        }
        let path = self.s.layout.prompt(&id, attempt);
        let text = self.prompt_for(task, attempt, feedback.as_deref());
        let written = path.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|()| std::fs::write(&path, text));
        let event = if attempt == 1 { "start" } else { "retry" };
        let line = match &feedback {
            Some(_) => format!(
                "start    {id} (attempt {attempt}, told why attempt {} was sent back)",
                attempt.saturating_sub(1)
            ),
            None => format!("start    {id} (attempt {attempt})"),
        };
        self.reporter.event(event, json!({"task": id, "attempt": attempt, "step": "implement"}), &line);
        self.reporter.step_started(&id, "implement", attempt);
        let ctx = Arc::clone(&self.ctx);
        if let Err(e) = written {
            let reason = format!("cannot write the prompt file `{}`: {e}", path.display());
            let log = ctx.layout.attempt_log(&id, attempt, "implement");
            self.steps.spawn(async move {
                StepDone {
                    kind: Kind::Implement,
                    task: Some(task),
                    attempt,
                    result: Err(reason),
                    interrupted: false,
                    elapsed: Duration::ZERO,
                    log,
                }
            });
            return;
        }
        let rx = self.cancel.subscribe();
        self.steps.spawn(steps::implement(ctx, task, id, attempt, path, rx));
    }

    fn prompt_for(&self, task: usize, attempt: u32, feedback: Option<&str>) -> String {
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
        prompt::build(plan, t, attempt, &deps, feedback, &notes_file)
    }

    async fn finish(&mut self, outcome: RunOutcome, interrupted: bool) -> u8 {
        self.reporter.finish();
        let (name, code) = match &outcome {
            RunOutcome::Done => ("done", exit::OK),
            RunOutcome::Interrupted => ("interrupted", INTERRUPTED),
            _ if interrupted || self.final_interrupted => ("interrupted", INTERRUPTED),
            RunOutcome::Blocked { .. } => ("blocked", BLOCKED),
            RunOutcome::FinalCheckFailed { .. } => ("final_check_failed", BLOCKED),
        };
        let record = [("finished".to_owned(), None, json!({"outcome": name}))];
        if let Err(message) = self.submit(&record, Vec::new(), Vec::new()) {
            return self.abort(&message).await;
        }
        while !self.pending.is_empty() {
            let ack = self.acks.recv().await;
            if let Err(message) = self.acknowledged(ack) {
                return self.abort(&message).await;
            }
        }
        if let Some(w) = self.writer.take() {
            self.s.journal = w.stop();
        }
        let summary = views::summary(&self.s);
        let mut fields = json!({"outcome": name, "exit_code": code, "counts": summary.counts});
        if let RunOutcome::FinalCheckFailed { reason } = &outcome {
            if let Some(o) = fields.as_object_mut() {
                o.insert("final_check".into(), json!(reason));
            }
        }
        let mut text = format!("planrun: {}", summary.line);
        match &outcome {
            RunOutcome::Done => text.push_str("; all done"),
            _ if code == INTERRUPTED => text.push_str("; interrupted: run the same command again to resume"),
            RunOutcome::Interrupted => {}
            RunOutcome::Blocked { .. } => {
                for line in &summary.blocked_lines {
                    text.push_str(&format!("\n  {line}"));
                }
                text.push_str(
                    "\n  see `planrun log TASK` for each attempt; after fixing, `planrun retry TASK` and run again",
                );
            }
            RunOutcome::FinalCheckFailed { reason } => {
                text.push_str(&format!(
                    "; every task is done, but the final check failed:\n  {}",
                    reason.replace('\n', "\n  ")
                ));
            }
        }
        if self.reporter.mode() == Mode::Json {
            self.reporter.event("finished", fields, &text);
        } else {
            println!("{text}");
        }
        code
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

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(0))
}
