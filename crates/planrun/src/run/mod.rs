//! `planrun run`: the runtime loop that connects the engine to the world. It opens the run
//! (replaying the journal), stops what a crashed run left behind, then loops: journal the
//! engine's changes, act on its decisions by starting supervised steps, feed their ends back as
//! inputs. One dispatcher owns the truth; steps report by message. Ctrl-C drains, a second
//! Ctrl-C stops everything. Business rules stay in the engine.

mod config;
pub(crate) mod explain;
mod layout;
mod orphans;
mod progress;
mod prompt;
mod report;
mod session;
mod steps;
mod templates;
pub(crate) mod views;
mod writer;

use crate::cli::RunArgs;
use crate::exit;
use crate::render::Output as Term;
use config::Config;
use planrun_agents::{AgentKind, Redactor, Template, Usage};
use planrun_engine::{Decision, Input, RunOutcome, TaskState};
use progress::{Mode, Reporter};
use serde_json::{Value, json};
pub(crate) use session::{OpenArgs, Session, SessionError};
use std::io::IsTerminal as _;
use std::sync::Arc;
use std::time::Duration;
use steps::{Agent, Ctx, ImplementRun, Kind, Limits, StepDone};
use templates::Templates;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Exit code: some tasks are blocked or the final check failed.
pub(crate) const BLOCKED: u8 = 3;
/// Exit code: stopped by an error of an agent's model provider (API error, rate limit); resumable.
pub(crate) const PROVIDER: u8 = 4;
/// What to do after a provider's error stopped the run.
const PROVIDER_HELP: &str = "nothing was lost and the task is not counted as failed; when the provider works again (rate limits lift, the service is back, the key or model is fixed), run the same command to resume";
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
    let config = match Config::load(args.config.as_deref(), &layout.workspace) {
        Ok((c, _)) => c,
        Err(e) => {
            eprintln!(
                "error: {e}\n  help: fix the file (its keys are listed in docs/agents.md), or point --config elsewhere"
            );
            return exit::USAGE;
        }
    };
    let agents = match resolve_agents(args, &config, &loaded.plan) {
        Ok(a) => a,
        Err((message, help)) => {
            eprintln!("error: {message}\n  help: {help}");
            return exit::USAGE;
        }
    };
    for agent in agents.distinct() {
        if let Err((message, help)) = agent_exists(agent, &layout.workspace) {
            eprintln!("error: {message}\n  help: {help}");
            return exit::USAGE;
        }
    }
    let templates = match Templates::load(&layout.dir.join("prompts")) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}\n  help: fix or remove that file to use the built-in template");
            return exit::USAGE;
        }
    };
    let root = nix::unistd::geteuid().is_root();
    let sandbox = std::env::var("IS_SANDBOX").is_ok_and(|v| v == "1");
    let mut pass_env = config.pass_env.clone();
    pass_env.extend(args.pass_env.iter().cloned());
    let redact = Arc::new(redactor(&agents, &pass_env, &config.redact_env));
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
        agent_limits: Limits { wall: args.timeout, stall: args.stall_timeout, grace: args.grace },
        verify_limits: Limits { wall: args.verify_timeout, stall: None, grace: args.grace },
        plan_verify: session.loaded.plan.verify.clone(),
        pass_env,
        redact,
        prices: config.prices(),
        root,
        sandbox,
    };
    let call = planrun_agents::Call { root, sandbox, ..planrun_agents::Call::default() };
    for agent in agents.distinct() {
        for notice in planrun_agents::adapter::notices(agent.kind, &call) {
            reporter.note(&format!("planrun: {notice}"));
        }
    }
    let setup = Setup {
        templates,
        agents,
        resume_rounds: args.resume_rounds.or(config.resume_rounds).unwrap_or(DEFAULT_RESUME_ROUNDS),
    };
    let code = runtime.block_on(async {
        // A file-size limit (`ulimit -f`) would kill planrun with SIGXFSZ in the middle of a
        // journal write; with a handler installed, the write fails with EFBIG instead and is
        // reported like a full disk. Children get the default action back when they exec.
        let _xfsz = signal(SignalKind::from_raw(nix::libc::SIGXFSZ));
        Runner::new(session, ctx, setup, args, &mut reporter).drive().await
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

/// How many rework rounds resume the implementer's session unless configured.
const DEFAULT_RESUME_ROUNDS: u32 = 2;

/// The agents of a run: the implement role's, and a task's own where its `agent` field names
/// another.
#[derive(Debug)]
struct Agents {
    implement: Agent,
    per_task: Vec<Option<Agent>>,
}

impl Agents {
    fn for_task(&self, task: usize) -> &Agent {
        self.per_task.get(task).and_then(Option::as_ref).unwrap_or(&self.implement)
    }

    /// Each agent the run may use, once.
    fn distinct(&self) -> Vec<&Agent> {
        let mut out: Vec<&Agent> = vec![&self.implement];
        for a in self.per_task.iter().flatten() {
            if !out.iter().any(|o| o.kind == a.kind) {
                out.push(a);
            }
        }
        out
    }
}

/// What the runner needs beyond the steps' context.
#[derive(Debug)]
struct Setup {
    templates: Templates,
    agents: Agents,
    resume_rounds: u32,
}

type Problem = (String, String);

/// The implement role's agent from the flags, then planrun.toml; and each task's own.
fn resolve_agents(args: &RunArgs, config: &Config, plan: &planrun_plan::model::Plan) -> Result<Agents, Problem> {
    let configured = |pick: fn(&config::RoleConfig) -> Option<&String>, top: Option<&String>| {
        config.role("implement", pick).map(str::to_owned).or_else(|| top.cloned())
    };
    let template_text =
        args.agent_command.clone().or_else(|| configured(|r| r.command.as_ref(), config.command.as_ref()));
    let kind = match args.agent {
        Some(k) => k,
        None if args.agent_command.is_some() => AgentKind::Command,
        None => match configured(|r| r.agent.as_ref(), config.agent.as_ref()) {
            Some(name) => name.parse().map_err(|e: String| (e, "fix planrun.toml".to_owned()))?,
            None => {
                return Err((
                    "no agent to run the tasks".into(),
                    "pass --agent claude|codex|gemini|opencode, or --agent-command 'PROGRAM ARGS…' for your own \
                     (e.g. --agent-command 'my-agent {prompt_file}'), or set `agent` in planrun.toml; `planrun doctor` \
                     shows which CLIs are installed"
                        .into(),
                ));
            }
        },
    };
    let template = |text: Option<&String>| -> Result<Option<Template>, Problem> {
        let Some(text) = text else {
            return Err((
                "the command agent needs a command".into(),
                "pass --agent-command 'PROGRAM ARGS…' (or set PLANRUN_AGENT_COMMAND, or `command` in planrun.toml)"
                    .into(),
            ));
        };
        Template::parse(text).map(Some).map_err(|e| {
            (format!("--agent-command: {e}"), "see `planrun run --help` for the template's placeholders".into())
        })
    };
    let implement = Agent {
        kind,
        model: args.model.clone().or_else(|| configured(|r| r.model.as_ref(), config.model.as_ref())),
        template: if kind == AgentKind::Command { template(template_text.as_ref())? } else { None },
    };
    let mut per_task = Vec::with_capacity(plan.tasks.len());
    for t in &plan.tasks {
        let own = match t.agent.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
            None => None,
            Some(name) => {
                let k: AgentKind = name.parse().map_err(|e: String| {
                    (format!("task {}: {e}", t.id), "fix the task's `agent` field, or remove it".to_owned())
                })?;
                (k != kind).then(|| -> Result<Agent, Problem> {
                    Ok(Agent {
                        kind: k,
                        model: None,
                        template: if k == AgentKind::Command { template(template_text.as_ref())? } else { None },
                    })
                })
            }
        };
        per_task.push(own.transpose()?);
    }
    Ok(Agents { implement, per_task })
}

/// Whether an agent's program can be found before any task is started: a typo in the
/// template, or a CLI that is not installed, should be one clear error, not every task failing
/// in turn.
fn agent_exists(agent: &Agent, workspace: &std::path::Path) -> Result<(), Problem> {
    let program = match (&agent.template, agent.kind.program()) {
        (Some(t), _) => {
            let vars = planrun_agents::Vars {
                workspace: workspace.display().to_string(),
                role: "implement".into(),
                attempt: 1,
                ..planrun_agents::Vars::default()
            };
            t.render(&vars).into_iter().next().unwrap_or_default()
        }
        (None, Some(p)) => p.to_owned(),
        (None, None) => String::new(),
    };
    if program.is_empty() {
        return Err(("the agent command is empty".into(), "check --agent-command".into()));
    }
    if find_program(&program, workspace).is_some() {
        return Ok(());
    }
    let help = match agent.kind.package() {
        Some(pkg) => format!(
            "install it with `npm install -g {pkg}` (or put it in PATH); `planrun doctor` checks every agent CLI"
        ),
        None => "check --agent-command; a program without a `/` is looked up in PATH".into(),
    };
    Err((format!("the agent program `{program}` was not found"), help))
}

/// Where `program` is: relative to `workspace` if it has a `/`, else in PATH.
pub(crate) fn find_program(program: &str, workspace: &std::path::Path) -> Option<std::path::PathBuf> {
    if program.contains('/') {
        let p = workspace.join(program);
        return p.is_file().then_some(p);
    }
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths).map(|dir| dir.join(program)).find(|p| p.is_file())
}

/// The redactor of a run: the values of secret-looking variables any of its agents may see,
/// and of the variables planrun.toml names.
fn redactor(agents: &Agents, pass_env: &[String], redact_env: &[String]) -> Redactor {
    let mut values: Vec<String> = Vec::new();
    for a in agents.distinct() {
        for (k, v) in planrun_agents::env::allowed(a.kind, pass_env, std::env::vars_os()) {
            if planrun_agents::redact::is_secret_name(&k) {
                values.push(v);
            }
        }
    }
    for name in redact_env {
        if let Ok(v) = std::env::var(name) {
            values.push(v);
        }
    }
    Redactor::new(values)
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
    templates: Templates,
    agents: Agents,
    resume_rounds: u32,
    /// Set when a model provider's error stopped the run.
    provider_stop: Option<String>,
    /// The run's id: when its first invocation started.
    run_id: String,
    /// Whether to mark progress in the plan's own files at the end.
    status_files: bool,
}

impl<'a> Runner<'a> {
    fn new(mut s: Session, ctx: Ctx, setup: Setup, args: &RunArgs, reporter: &'a mut Reporter) -> Self {
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
            templates: setup.templates,
            agents: setup.agents,
            resume_rounds: setup.resume_rounds,
            provider_stop: None,
            run_id: String::new(),
            status_files: !args.no_status_files,
        }
    }

    async fn drive(mut self) -> u8 {
        let stopped = orphans::stop(&self.s.layout.dir, self.grace);
        let started = unix_ms();
        self.run_id = report::run_id(self.s.first_started_ms.unwrap_or(started));
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
                "agent": self.agents.implement.kind.name(),
                "model": self.agents.implement.model,
                "resume_rounds": self.resume_rounds,
                "started_unix_ms": started,
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
            let elapsed_ms = u64::try_from(done.elapsed.as_millis()).unwrap_or(u64::MAX);
            let agent = done.agent.as_ref().map(|a| a.record.clone());
            let mut payload = json!({
                "attempt": done.attempt,
                "step": name,
                "ok": done.result.is_ok(),
                "interrupted": done.interrupted,
                "summary": summary,
                "elapsed_ms": elapsed_ms,
                "log": done.log.display().to_string(),
            });
            if let (Some(a), Some(obj)) = (&agent, payload.as_object_mut()) {
                obj.insert("agent".into(), a.to_json());
            }
            records.push(("step".to_owned(), id.clone(), payload));
            if let Some(id) = &id {
                self.s.steps.entry(id.clone()).or_default().push(session::StepRecord {
                    attempt: done.attempt,
                    step: name.to_owned(),
                    ok: done.result.is_ok(),
                    summary: summary.clone(),
                    elapsed_ms,
                    log: Some(done.log.clone()),
                    agent: agent.clone(),
                });
            }
            if let (Some(a), Some(id)) = (&done.agent, &id) {
                let line = agent_line(id, a);
                self.reporter.event("agent_usage", json!({"task": id, "attempt": done.attempt, "agent": agent.as_ref().map(session::AgentRecord::to_json)}), &line);
            }
            let provider_error = done.agent.as_ref().and_then(|a| a.provider_error.clone());
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
                (Kind::Implement, Some(task)) if provider_error.is_some() => {
                    let reason = done.result.clone().err().unwrap_or_default();
                    self.stop_for_provider(id.as_deref().unwrap_or("?"), &reason);
                    Input::Interrupted { task, attempt: done.attempt, reason }
                }
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

    /// A model provider failed (API error, rate limit): nothing new starts, running steps
    /// finish, and the run ends resumable with exit 4. The attempt does not count as a failure.
    fn stop_for_provider(&mut self, id: &str, reason: &str) {
        let first = reason.lines().next().unwrap_or("");
        self.reporter.event(
            "provider_error",
            json!({"task": id, "reason": reason}),
            &format!("stopped  {id}: {first}; starting nothing new"),
        );
        if self.provider_stop.is_none() {
            self.provider_stop = Some(first.to_owned());
            let _ = self.s.engine.handle(Input::Drain);
        }
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
        let agent = self.agents.for_task(task).clone();
        let resume = feedback.as_ref().and_then(|_| self.resumable(task, &agent));
        let path = self.s.layout.prompt(&id, attempt);
        let text = match (&resume, &feedback) {
            (Some(_), Some(f)) => self.resume_prompt(task, attempt, f),
            _ => self.prompt_for(task, attempt, feedback.as_deref()),
        };
        let written = path.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|()| std::fs::write(&path, &text));
        let event = if attempt == 1 { "start" } else { "retry" };
        let how = match (&resume, &feedback) {
            (Some(_), _) => format!(
                ", resuming its {} session with why attempt {} was sent back",
                agent.kind,
                attempt.saturating_sub(1)
            ),
            (None, Some(_)) => format!(", told why attempt {} was sent back", attempt.saturating_sub(1)),
            (None, None) => String::new(),
        };
        let line = format!("start    {id} (attempt {attempt}{how}; {})", agent.label());
        self.reporter.event(
            event,
            json!({"task": id, "attempt": attempt, "step": "implement", "agent": agent.kind.name(), "model": agent.model, "resumed": resume.is_some()}),
            &line,
        );
        self.reporter.step_started(&id, "implement", attempt);
        let ctx = Arc::clone(&self.ctx);
        if let Err(e) = written {
            let reason = format!("cannot write the prompt file `{}`: {e}", path.display());
            let log = ctx.layout.attempt_log(&id, attempt, "implement");
            self.steps.spawn(not_started(&reason, false, log));
            return;
        }
        let rx = self.cancel.subscribe();
        let run = ImplementRun { task, id, attempt, agent, prompt: path, text, resume };
        self.steps.spawn(steps::implement(ctx, run, rx));
    }

    /// The session to resume for `task`'s rework with `agent`, if any: the last implement step's
    /// session, by the same CLI, unless it was already resumed `resume_rounds` times in a row.
    fn resumable(&self, task: usize, agent: &Agent) -> Option<(String, Usage)> {
        if agent.kind == AgentKind::Command || self.resume_rounds == 0 {
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
    fn resume_prompt(&self, task: usize, attempt: u32, feedback: &str) -> String {
        let Some(t) = self.s.task(task) else { return String::new() };
        let attempt = attempt.to_string();
        let feedback = prompt::fenced_feedback(feedback);
        self.templates.render(
            "resume",
            &[("task_id", &t.id), ("task_title", &t.title), ("attempt", &attempt), ("feedback", &feedback)],
        )
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

    async fn finish(&mut self, outcome: RunOutcome, interrupted: bool) -> u8 {
        self.reporter.finish();
        let (name, code) = match &outcome {
            RunOutcome::Done => ("done", exit::OK),
            _ if self.provider_stop.is_some() && !interrupted => ("provider_error", PROVIDER),
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
        let used = views::Totals::of(&self.s);
        let report = report::write(&self.s, &self.run_id, name);
        let status_files = if self.status_files { Some(report::status_files(&self.s)) } else { None };
        let mut fields = json!({"outcome": name, "exit_code": code, "counts": summary.counts, "usage": used.to_json()});
        if let RunOutcome::FinalCheckFailed { reason } = &outcome {
            if let Some(o) = fields.as_object_mut() {
                o.insert("final_check".into(), json!(reason));
            }
        }
        if let (Some(reason), Some(o), true) = (&self.provider_stop, fields.as_object_mut(), code == PROVIDER) {
            o.insert("reason".into(), json!(reason));
            o.insert("help".into(), json!(PROVIDER_HELP));
        }
        let mut text = format!("planrun: {}", summary.line);
        match &outcome {
            RunOutcome::Done => text.push_str("; all done"),
            _ if code == PROVIDER => text.push_str(&format!(
                "; stopped by the model provider:\n  {}\n  {PROVIDER_HELP}",
                self.provider_stop.as_deref().unwrap_or("the model provider failed")
            )),
            _ if code == INTERRUPTED => text.push_str("; interrupted: run the same command again to resume"),
            RunOutcome::Interrupted => {}
            RunOutcome::Blocked { .. } => {
                for line in &summary.blocked_lines {
                    text.push_str(&format!("\n  {line}"));
                }
                text.push_str(
                    "\n  `planrun explain TASK` says why and what to do, `planrun log TASK` shows each attempt; after fixing, `planrun retry TASK` and run again",
                );
            }
            RunOutcome::FinalCheckFailed { reason } => {
                text.push_str(&format!(
                    "; every task is done, but the final check failed:\n  {}",
                    reason.replace('\n', "\n  ")
                ));
            }
        }
        if let Some(line) = used.line() {
            text.push_str(&format!("\n  used {line}"));
        }
        match &report {
            Ok(path) => {
                text.push_str(&format!("\n  report: {}", path.display()));
                if let Some(o) = fields.as_object_mut() {
                    o.insert("report".into(), json!(path.display().to_string()));
                }
            }
            Err(e) => text.push_str(&format!("\n  (the run's report could not be written: {e})")),
        }
        match &status_files {
            Some(Ok(paths)) if !paths.is_empty() => {
                text.push_str(&format!("\n  progress marked in {} file(s) of the plan", paths.len()));
                if let Some(o) = fields.as_object_mut() {
                    let list: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
                    o.insert("status_files".into(), json!(list));
                }
            }
            Some(Err(e)) => text.push_str(&format!("\n  (the plan's status marks could not be written: {e})")),
            _ => {}
        }
        if self.reporter.mode() == Mode::Json {
            self.reporter.event("finished", fields, &text);
        } else {
            println!("{text}");
        }
        code
    }
}

/// One line about what an agent's run used: `agent    a: claude, 250 in / 30 out tokens, $0.0020`.
fn agent_line(id: &str, run: &steps::AgentRun) -> String {
    let a = &run.record;
    let mut line = format!("agent    {id}: {}", a.agent);
    if let Some(m) = &a.model {
        line.push_str(&format!(" ({m})"));
    }
    if a.resumed {
        line.push_str(", resumed its session");
    }
    line.push_str(&format!(", {}", views::tokens(&a.usage)));
    line.push_str(&format!(", {}", views::dollars(a.cost_usd, &a.cost_source)));
    if !run.denied.is_empty() {
        line.push_str(&format!(", {} tool call(s) denied: {}", run.denied.len(), run.denied.join(", ")));
    }
    line
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
