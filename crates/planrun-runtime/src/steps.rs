//! The steps the runner carries out for the engine's decisions: the implement step (the agent
//! command with its prompt file and environment), the verify step (each of the task's verify
//! commands, then the plan's, with `sh -c` in the workspace) and the final check. Each is one
//! supervised child at a time, output to a per-attempt log file. Turns how a process ended into a
//! verdict with a reason; decides nothing about what runs next.

use super::layout::Layout;
use super::orphans;
use super::prompt::keep_tail;
use super::session::AgentRecord;
use planrun_agents::adapter::{self, MAX_PROMPT_ARG};
use planrun_agents::supervise::{self, Finished, Outcome, Spec};
use planrun_agents::{AgentKind, Call, PriceTable, Reader, Redactor, Template, Usage, Vars};
use planrun_engine::Stage;
use planrun_plan::globs::Pattern;
use std::io::{BufRead as _, Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// At most this much of a failing step's output goes into its reason.
const TAIL: usize = 2048;

/// Limits for one kind of step.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) wall: Option<Duration>,
    pub(crate) stall: Option<Duration>,
    pub(crate) grace: Duration,
}

/// The agent of one role: which CLI (or the user's command template) and which model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Agent {
    pub(crate) kind: AgentKind,
    pub(crate) model: Option<String>,
    /// The template of the `command` agent.
    pub(crate) template: Option<Template>,
}

/// What every step of a run shares.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) layout: Layout,
    pub(crate) agent_limits: Limits,
    pub(crate) verify_limits: Limits,
    pub(crate) plan_verify: Vec<String>,
    /// Extra variables (names or `PREFIX*`) agents may see.
    pub(crate) pass_env: Vec<String>,
    pub(crate) redact: Arc<Redactor>,
    pub(crate) prices: PriceTable,
    /// Whether planrun runs as root, and whether `IS_SANDBOX=1` is set (Claude Code's rule).
    pub(crate) root: bool,
    pub(crate) sandbox: bool,
    /// Where each task works, and git's part of the pipeline.
    pub(crate) ws: super::pipeline::Workspaces,
    pub(crate) scope_policy: super::pipeline::ScopePolicy,
    /// Who commits a task's work: planrun, or the user (then a worktree's merge takes only
    /// what the user committed).
    pub(crate) commit: super::pipeline::CommitMode,
    /// The reviews each task gets, and the agent that gives them (also the tester and the
    /// reviewer's take).
    pub(crate) reviews: Vec<super::pipeline::ReviewKind>,
    pub(crate) reviewer: Option<Agent>,
    /// The tester's agent: `[roles.test]`'s when planrun.toml names one, else the reviewer.
    pub(crate) tester: Option<Agent>,
    pub(crate) templates: super::templates::Templates,
    /// What running agents have used so far.
    /// Where running agents report what they used so far (read by the dispatcher).
    pub(crate) reports: tokio::sync::mpsc::UnboundedSender<super::budget::Report>,
}

/// One implement run, as the runner decided it.
#[derive(Debug, Clone)]
pub(crate) struct ImplementRun {
    pub(crate) task: usize,
    pub(crate) id: String,
    pub(crate) attempt: u32,
    pub(crate) agent: Agent,
    /// The prompt file, already written, and its text.
    pub(crate) prompt: PathBuf,
    pub(crate) text: String,
    /// The session to resume, and the usage it had reported so far (for CLIs that report
    /// session totals).
    pub(crate) resume: Option<(String, Usage)>,
    /// The reviewer's take to run first (before a task's first attempt, when asked for).
    pub(crate) take: Option<TakeRun>,
    /// Not before this instant: the agent's provider rate-limited it.
    pub(crate) not_before: Option<tokio::time::Instant>,
}

/// What a CLI agent's run amounted to, read from its events: what is journaled with the step,
/// and what only this run needs.
#[derive(Debug, Clone, Default)]
pub(crate) struct AgentRun {
    pub(crate) record: AgentRecord,
    /// An error the agent's provider reported (API error, rate limit): not the task's fault.
    pub(crate) provider_error: Option<planrun_agents::provider::ProviderError>,
    pub(crate) tool_uses: u64,
    pub(crate) denied: Vec<String>,
    /// Its final message.
    pub(crate) answer: Option<String>,
    /// Why the agent's program could not be started at all (not found, not executable): a
    /// setup problem that stops the run, not the task's fault.
    pub(crate) unstartable: Option<String>,
}

/// Which step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Implement,
    /// The reviewer's take before implementation (recorded with the implement step).
    Take,
    Check(Stage),
    Final,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Implement => "implement",
            Kind::Take => "take",
            Kind::Check(stage) => stage.name(),
            Kind::Final => "final-check",
        }
    }
}

/// How a step ended.
#[derive(Debug)]
pub(crate) struct StepDone {
    pub(crate) kind: Kind,
    pub(crate) task: Option<usize>,
    pub(crate) attempt: u32,
    /// `Ok`, or why the step failed (with the end of its output).
    pub(crate) result: Result<(), String>,
    /// Set when the step was cut short by planrun (Ctrl-C or the drain deadline).
    pub(crate) interrupted: bool,
    pub(crate) elapsed: Duration,
    pub(crate) log: PathBuf,
    /// For a step run by a CLI agent: what its events said.
    pub(crate) agent: Option<AgentRun>,
    /// What the step found, for reports (changed files, findings, checks, commits).
    pub(crate) detail: Option<serde_json::Value>,
    /// A step that ran before this one inside it (the reviewer's take), recorded first.
    pub(crate) pre: Option<Box<StepDone>>,
}

/// The end of the file at `path` from byte `from` on, at most `TAIL` bytes, as text.
pub(crate) fn tail(path: &Path, from: u64) -> String {
    let Ok(mut f) = std::fs::File::open(path) else { return String::new() };
    let len = f.metadata().map_or(0, |m| m.len());
    let start = from.max(len.saturating_sub(TAIL as u64));
    if f.seek(std::io::SeekFrom::Start(start)).is_err() {
        return String::new();
    }
    let mut buf = Vec::with_capacity(TAIL);
    let _ = f.take(TAIL as u64).read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf).into_owned();
    keep_tail(text.trim_end(), TAIL).to_owned()
}

fn with_tail(reason: String, log: &Path, from: u64) -> String {
    let t = tail(log, from);
    if t.is_empty() {
        format!("{reason} (it printed nothing)")
    } else {
        format!("{reason}\n--- its last output ---\n{t}")
    }
}

fn describe(what: &str, finished: &Finished) -> Option<String> {
    match &finished.outcome {
        Outcome::Exited { code: 0 } => None,
        Outcome::Exited { code } => Some(format!("{what} exited with code {code}")),
        Outcome::Signaled { signal } => Some(format!("{what} was killed by signal {signal}")),
        Outcome::TimedOut { limit } => {
            Some(format!("{what} ran longer than its limit of {} and was stopped", human(*limit)))
        }
        Outcome::Stalled { limit } => {
            Some(format!("{what} printed nothing for {} (the stall limit) and was stopped", human(*limit)))
        }
        Outcome::Cancelled => Some(format!("{what} was stopped because planrun was interrupted")),
    }
}

// A duration the way people write it: `90s`, `5m`, `1h30m`, `250ms`.
pub(crate) use super::events::human;

/// The environment of an agent run: the allow-listed part of planrun's own (with what the CLI's
/// configuration names, project files as seen from where it runs), then planrun's variables.
fn agent_env(ctx: &Ctx, kind: AgentKind, call: &AgentCall) -> Vec<(String, String)> {
    let mut vars = planrun_agents::env::allowed_in(kind, &ctx.pass_env, std::env::vars_os(), Some(&call.cwd));
    vars.extend(env(ctx, &call.id, call.role, call.attempt, &call.prompt, &call.cwd));
    vars
}

fn env(ctx: &Ctx, task: &str, role: &str, attempt: u32, prompt: &Path, cwd: &Path) -> Vec<(String, String)> {
    vec![
        ("PWD".into(), cwd.display().to_string()),
        ("PLANRUN_TASK_ID".into(), task.to_owned()),
        ("PLANRUN_ROLE".into(), role.to_owned()),
        ("PLANRUN_ATTEMPT".into(), attempt.to_string()),
        ("PLANRUN_PROMPT_FILE".into(), prompt.display().to_string()),
        ("PLANRUN_WORKSPACE".into(), cwd.display().to_string()),
        ("PLANRUN_NOTES_FILE".into(), ctx.layout.notes(task).display().to_string()),
        (orphans::MARK.into(), ctx.layout.dir.display().to_string()),
    ]
}

fn log_start(log: &Path) -> u64 {
    std::fs::metadata(log).map_or(0, |m| m.len())
}

fn prepare_log(log: &Path) -> Result<(), String> {
    if let Some(parent) = log.parent().filter(|p| !p.is_dir()) {
        std::fs::create_dir_all(parent).map_err(|e| format!("cannot create `{}`: {e}", parent.display()))?;
    }
    Ok(())
}

/// Whether the folder a step works in is still there: a vanished folder is reported as such,
/// not as an unstartable program.
fn workspace_missing(cwd: &Path) -> Option<String> {
    (!cwd.is_dir()).then(|| format!("the workspace `{}` does not exist any more", cwd.display()))
}

/// One agent run in one role, as the runner or a step decided it.
#[derive(Debug, Clone)]
pub(crate) struct AgentCall {
    pub(crate) task: usize,
    pub(crate) id: String,
    /// `implement`, `take`, `review` or `test`.
    pub(crate) role: &'static str,
    pub(crate) attempt: u32,
    pub(crate) agent: Agent,
    /// The prompt file, already written, and its text.
    pub(crate) prompt: PathBuf,
    pub(crate) text: String,
    /// The session to resume, and the usage it had reported so far (for CLIs that report
    /// session totals).
    pub(crate) resume: Option<(String, Usage)>,
    pub(crate) cwd: PathBuf,
    pub(crate) log: PathBuf,
    /// Not before this instant: the agent's provider rate-limited it.
    pub(crate) not_before: Option<tokio::time::Instant>,
}

/// How an agent run ended.
#[derive(Debug)]
pub(crate) struct Called {
    pub(crate) result: Result<(), String>,
    pub(crate) interrupted: bool,
    pub(crate) run: Option<AgentRun>,
    /// Its answer: a CLI's final message, or the end of a command agent's output.
    pub(crate) answer: String,
}

/// How much of a command agent's output is its answer.
const ANSWER: u64 = 64 * 1024;

/// Runs one agent: the argv of its CLI (or the command template) with the prompt, in
/// `call.cwd`, with an allow-listed environment; a CLI's events are read afterwards for its
/// session, usage, errors and final answer.
pub(crate) async fn call_agent(ctx: &Arc<Ctx>, call: &AgentCall, mut cancel: watch::Receiver<bool>) -> Called {
    let AgentCall { task, id, role, attempt, agent, prompt, text, resume, cwd, log, not_before } = call;
    let fail = |reason: String| Called { result: Err(reason), interrupted: false, run: None, answer: String::new() };
    if let Some(at) = *not_before {
        // The provider asked this agent to wait; planrun may stop meanwhile.
        let stopped = *cancel.borrow();
        if stopped {
            return Called { result: Err("interrupted".into()), interrupted: true, run: None, answer: String::new() };
        }
        tokio::select! {
            () = tokio::time::sleep_until(at) => {}
            _ = cancel.changed() => {
                return Called { result: Err("interrupted".into()), interrupted: true, run: None, answer: String::new() };
            }
        }
    }
    if let Some(reason) = workspace_missing(cwd) {
        return fail(reason);
    }
    if let Err(e) = prepare_log(log) {
        return fail(e);
    }
    let argv = match agent.kind {
        AgentKind::Command => {
            let vars = Vars {
                prompt_file: prompt.display().to_string(),
                task_id: id.clone(),
                workspace: cwd.display().to_string(),
                role: (*role).to_owned(),
                attempt: *attempt,
            };
            let mut argv = agent.template.as_ref().map(|t| t.render(&vars)).unwrap_or_default();
            anchor_program(&mut argv, &ctx.ws.root);
            argv
        }
        kind => {
            if text.len() > MAX_PROMPT_ARG {
                return fail(format!(
                    "the prompt is {} bytes, more than the {MAX_PROMPT_ARG} a single argument may hold; shorten the \
                     task's description or the plan's context (the prompt is in `{}`)",
                    text.len(),
                    prompt.display()
                ));
            }
            let workspace = cwd.display().to_string();
            // Reviewers and the tester answer with a verdict: CLIs that can hold their final
            // answer to a schema are given it.
            let verdict = matches!(*role, "review" | "test");
            let schema_file = ctx.layout.dir.join("verdict.schema.json");
            let schema_path = schema_file.display().to_string();
            let schema_ok = verdict
                && (schema_file.is_file() || std::fs::write(&schema_file, planrun_agents::verdict::SCHEMA).is_ok());
            let c = Call {
                prompt: text,
                model: agent.model.as_deref(),
                resume: resume.as_ref().map(|(s, _)| s.as_str()),
                workspace: Some(&workspace),
                root: ctx.root,
                sandbox: ctx.sandbox,
                schema: schema_ok.then_some(planrun_agents::verdict::SCHEMA),
                schema_file: schema_ok.then_some(schema_path.as_str()),
            };
            adapter::argv(kind, &c).unwrap_or_default()
        }
    };
    let spec = Spec {
        argv,
        cwd: cwd.clone(),
        env: agent_env(ctx, agent.kind, call),
        clear_env: true,
        redact: Arc::clone(&ctx.redact),
        log: log.clone(),
        wall_limit: ctx.agent_limits.wall,
        stall_limit: ctx.agent_limits.stall,
        grace: ctx.agent_limits.grace,
    };
    // Gemini CLI's start deletes the sessions of its folder that hold nothing to resume yet:
    // one Gemini CLI at a time through that window in a folder (see `gemini_gate`).
    let gate = if agent.kind == AgentKind::Gemini {
        match super::gemini_gate::enter(cwd, &mut cancel).await {
            Some(g) => Some(g),
            None => {
                return Called {
                    result: Err("interrupted".into()),
                    interrupted: true,
                    run: None,
                    answer: String::new(),
                };
            }
        }
    } else {
        None
    };
    let from = log_start(log);
    let gate = gate.map(|g| super::gemini_gate::hold_until_kept(g, log.clone(), from));
    let run_key = log.display().to_string();
    let _ = ctx.reports.send(super::budget::Report::Started {
        run: run_key.clone(),
        task: *task,
        attempt: *attempt,
        role,
        agent: agent.kind,
    });
    let prices = ctx.prices.clone();
    let model = agent.model.clone();
    let follower = tokio::spawn(super::budget::follow(
        ctx.reports.clone(),
        run_key,
        agent.kind,
        log.clone(),
        from,
        resume.as_ref().map(|(_, u)| *u).unwrap_or_default(),
        move |m: Option<&str>, u: &Usage| prices.cost(m.or(model.as_deref()), u),
    ));
    let finished = supervise::run(&spec, cancel).await;
    follower.abort();
    drop(gate);
    // Off the dispatcher's thread: a log can be large.
    let report = if agent.kind == AgentKind::Command {
        None
    } else {
        let (c, a, l, r) = (Arc::clone(ctx), agent.clone(), log.clone(), resume.clone());
        tokio::task::spawn_blocking(move || read_events(&c, &a, &l, from, r.as_ref())).await.ok()
    };
    let answer = match &report {
        Some(r) => r.answer.clone().unwrap_or_default(),
        None => {
            let log = log.clone();
            tokio::task::spawn_blocking(move || output_since(&log, from, ANSWER)).await.unwrap_or_default()
        }
    };
    let called = |result: Result<(), String>, interrupted: bool, run: Option<AgentRun>| Called {
        result,
        interrupted,
        run,
        answer: answer.clone(),
    };
    match finished {
        Ok(f) if f.outcome == Outcome::Cancelled => called(Err("interrupted".into()), true, report),
        Ok(f) => {
            let who = match agent.kind {
                AgentKind::Command => "the agent".to_owned(),
                kind => format!("the agent ({kind})"),
            };
            let result = match (describe(&who, &f), workspace_missing(cwd), &report) {
                (_, _, Some(r)) if r.provider_error.is_some() => {
                    let e = r.provider_error.as_ref().map_or("", |p| p.message.as_str());
                    Err(format!("{who} stopped on an error from its model provider: {e}"))
                }
                (Some(reason), _, _) => Err(with_tail(reason, log, from)),
                (None, Some(gone), _) => Err(format!("{gone} after the agent ran")),
                (None, None, Some(r)) if r.record.session.is_none() && r.tool_uses == 0 && r.record.usage.is_zero() => {
                    Err(with_tail(
                        format!(
                            "{who} exited 0 but printed none of the events planrun reads (is this a supported version of `{}`?)",
                            agent.kind
                        ),
                        log,
                        from,
                    ))
                }
                (None, None, _) => Ok(()),
            };
            called(result, false, report)
        }
        Err(e) => {
            let reason = workspace_missing(cwd).unwrap_or_else(|| format!("the agent could not be started: {e}"));
            let report = match &e {
                supervise::SuperviseError::Spawn { .. } | supervise::SuperviseError::EmptyCommand
                    if workspace_missing(cwd).is_none() =>
                {
                    Some(AgentRun { unstartable: Some(reason.clone()), ..report.unwrap_or_default() })
                }
                _ => report,
            };
            called(Err(reason), false, report)
        }
    }
}

/// The text a file holds from byte `from` on, at most its last `limit` bytes.
fn output_since(path: &Path, from: u64, limit: u64) -> String {
    let Ok(mut f) = std::fs::File::open(path) else { return String::new() };
    let len = f.metadata().map_or(0, |m| m.len());
    let start = from.max(len.saturating_sub(limit));
    if f.seek(std::io::SeekFrom::Start(start)).is_err() {
        return String::new();
    }
    let mut buf = Vec::new();
    let _ = f.take(limit).read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// Two runs of one step (a verdict's retry, two reviewers) as one record: usage and dollars
/// added up, the later session kept.
pub(crate) fn merge_runs(a: Option<AgentRun>, b: Option<AgentRun>) -> Option<AgentRun> {
    match (a, b) {
        (None, x) | (x, None) => x,
        (Some(mut a), Some(b)) => {
            a.record.usage.add(&b.record.usage);
            a.record.cost_usd = match (a.record.cost_usd, b.record.cost_usd) {
                (None, None) => None,
                (x, y) => Some(x.unwrap_or(0.0) + y.unwrap_or(0.0)),
            };
            if a.record.cost_source != b.record.cost_source {
                a.record.cost_source = if a.record.cost_usd.is_some() { "mixed".into() } else { "unknown".into() };
            }
            a.record.session = b.record.session.or(a.record.session);
            a.record.session_usage = b.record.session_usage.or(a.record.session_usage);
            a.provider_error = a.provider_error.or(b.provider_error);
            a.tool_uses += b.tool_uses;
            a.denied.extend(b.denied);
            a.answer = b.answer.or(a.answer);
            Some(a)
        }
    }
}

/// What the reviewer's take before a task's first attempt needs.
#[derive(Debug, Clone)]
pub(crate) struct TakeRun {
    pub(crate) call: AgentCall,
    /// Where its answer is kept for later attempts.
    pub(crate) keep: PathBuf,
}

/// The implement step: the task's workspace made ready (its worktree, or the snapshot of the
/// shared tree), the reviewer's take first when asked for, then the agent.
pub(crate) async fn implement(ctx: Arc<Ctx>, run: ImplementRun, cancel: watch::Receiver<bool>) -> StepDone {
    let ImplementRun { task, id, attempt, agent, prompt, mut text, resume, take, not_before } = run;
    let log = ctx.layout.attempt_log(&id, attempt, "implement");
    let started = std::time::Instant::now();
    let mut detail = None;
    let done = |result: Result<(), String>,
                interrupted: bool,
                run: Option<AgentRun>,
                pre: Option<StepDone>,
                detail: Option<serde_json::Value>| StepDone {
        kind: Kind::Implement,
        task: Some(task),
        attempt,
        result,
        interrupted,
        elapsed: started.elapsed(),
        log: log.clone(),
        agent: run,
        detail,
        pre: pre.map(Box::new),
    };
    let ws = Arc::clone(&ctx);
    let place_id = id.clone();
    let place = match tokio::task::spawn_blocking(move || ws.ws.prepare(&place_id, attempt)).await {
        Ok(Ok((p, kept))) => {
            if !kept.is_empty() {
                detail = Some(serde_json::json!({ "kept": kept_json(&kept) }));
            }
            p
        }
        Ok(Err(e)) => return done(Err(format!("cannot prepare the task's workspace: {e}")), false, None, None, None),
        Err(e) => return done(Err(format!("cannot prepare the task's workspace: {e}")), false, None, None, None),
    };
    let mut pre = None;
    if let Some(TakeRun { mut call, keep }) = take {
        call.cwd.clone_from(&place.path);
        let took = std::time::Instant::now();
        let got = call_agent(&ctx, &call, cancel.clone()).await;
        let stop = got.interrupted || got.run.as_ref().is_some_and(|r| r.provider_error.is_some());
        let answer = got.answer.trim().to_owned();
        if got.result.is_ok() && !answer.is_empty() {
            let _ = std::fs::write(&keep, &answer);
            text.push_str(&super::prompt::take_section(&answer));
            let _ = std::fs::write(&prompt, &text);
        }
        let step = StepDone {
            kind: Kind::Take,
            task: Some(task),
            attempt,
            result: got.result.clone(),
            interrupted: got.interrupted,
            elapsed: took.elapsed(),
            log: call.log.clone(),
            agent: got.run.clone(),
            detail: None,
            pre: None,
        };
        if stop {
            let reason = got.result.err().unwrap_or_else(|| "interrupted".into());
            return done(Err(reason), got.interrupted, got.run, Some(step), detail);
        }
        pre = Some(step);
    }
    let call = AgentCall {
        task,
        id,
        role: "implement",
        attempt,
        agent,
        prompt,
        text,
        resume,
        cwd: place.path,
        log: log.clone(),
        not_before,
    };
    let got = call_agent(&ctx, &call, cancel).await;
    done(got.result, got.interrupted, got.run, pre, detail)
}

/// Kept work as the journal and the reports show it.
pub(crate) fn kept_json(kept: &[planrun_git::keep::Kept]) -> serde_json::Value {
    kept.iter().map(|k| serde_json::json!({"ref": k.reference, "commit": k.commit})).collect()
}

/// The longest line of a CLI's output read as an event.
const MAX_EVENT_LINE: u64 = 16 << 20;

/// Skips the rest of an over-long line, a buffer at a time.
fn skip_line(lines: &mut impl std::io::BufRead) {
    loop {
        let (used, done) = match lines.fill_buf() {
            Ok([]) | Err(_) => return,
            Ok(buf) => match memchr_newline(buf) {
                Some(i) => (i + 1, true),
                None => (buf.len(), false),
            },
        };
        lines.consume(used);
        if done {
            return;
        }
    }
}

fn memchr_newline(buf: &[u8]) -> Option<usize> {
    buf.iter().position(|&b| b == b'\n')
}

/// Reads a CLI agent's events from its log (from byte `from` on) into what the run amounted to.
fn read_events(ctx: &Ctx, agent: &Agent, log: &Path, from: u64, resume: Option<&(String, Usage)>) -> AgentRun {
    let mut reader = Reader::new(agent.kind);
    if let Ok(mut f) = std::fs::File::open(log) {
        if f.seek(std::io::SeekFrom::Start(from)).is_ok() {
            let mut lines = std::io::BufReader::new(f);
            let mut line = Vec::new();
            // Lines are read as bytes (a CLI's non-UTF-8 output must not end the reading), at
            // most `MAX_EVENT_LINE` of each: a longer one is no event planrun needs, and a CLI
            // printing gigabytes without a newline must not fill memory.
            loop {
                line.clear();
                match (&mut lines).take(MAX_EVENT_LINE).read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) if line.ends_with(b"\n") || line.len() < MAX_EVENT_LINE as usize => {
                        reader.line(&String::from_utf8_lossy(&line));
                    }
                    Ok(_) => skip_line(&mut lines),
                }
            }
        }
    }
    let r = reader.report;
    let model = r.model.clone().or_else(|| agent.model.clone());
    let (usage, session_usage) = if agent.kind.cumulative_usage() {
        let before = resume.map(|(_, u)| *u).unwrap_or_default();
        (r.usage.since(&before), Some(r.usage))
    } else {
        (r.usage, None)
    };
    let (cost_usd, cost_source) = match (r.cost_usd, ctx.prices.cost(model.as_deref(), &usage)) {
        (Some(usd), _) => (Some(usd), "reported"),
        (None, Some(usd)) => (Some(usd), "priced"),
        (None, None) => (None, "unknown"),
    };
    AgentRun {
        record: AgentRecord {
            agent: agent.kind.to_string(),
            model,
            session: r.session,
            resumed: resume.is_some(),
            usage,
            session_usage,
            cost_usd,
            cost_source: cost_source.to_owned(),
        },
        provider_error: (!r.errors.is_empty())
            .then(|| planrun_agents::provider::ProviderError::read(r.errors.join("; "))),
        tool_uses: r.tool_uses,
        denied: r.denied,
        answer: r.final_text,
        unstartable: None,
    }
}

/// How a run of commands ended: `Ok`, or why not; whether planrun cut it short; how many
/// commands passed.
type Ran = (Result<(), String>, bool, usize);

/// Runs `commands` one after the other with `sh -c` in `cwd`, appending to `log`; stops at
/// the first that fails.
async fn run_commands(
    ctx: &Ctx,
    commands: &[String],
    cwd: &Path,
    log: &Path,
    env: Vec<(String, String)>,
    cancel: watch::Receiver<bool>,
) -> Ran {
    if let Some(reason) = workspace_missing(cwd) {
        return (Err(reason), false, 0);
    }
    if let Err(e) = prepare_log(log) {
        return (Err(e), false, 0);
    }
    let mut passed = 0;
    for cmd in commands {
        let header =
            std::fs::OpenOptions::new().create(true).append(true).open(log).and_then(|mut f| writeln!(f, "$ {cmd}"));
        if let Err(e) = header {
            return (Err(format!("cannot write the log `{}`: {e}", log.display())), false, passed);
        }
        let from = log_start(log);
        let spec = Spec {
            argv: vec!["sh".into(), "-c".into(), cmd.clone()],
            cwd: cwd.to_owned(),
            env: env.clone(),
            clear_env: false,
            redact: Arc::clone(&ctx.redact),
            log: log.to_owned(),
            wall_limit: ctx.verify_limits.wall,
            stall_limit: ctx.verify_limits.stall,
            grace: ctx.verify_limits.grace,
        };
        match supervise::run(&spec, cancel.clone()).await {
            Ok(f) if f.outcome == Outcome::Cancelled => return (Err("interrupted".into()), true, passed),
            Ok(f) => {
                if let Some(reason) = describe(&format!("the check `{cmd}`"), &f) {
                    return (Err(with_tail(reason, log, from)), false, passed);
                }
                passed += 1;
            }
            Err(e) => {
                let reason =
                    workspace_missing(cwd).unwrap_or_else(|| format!("the check `{cmd}` could not be started: {e}"));
                return (Err(reason), false, passed);
            }
        }
    }
    (Ok(()), false, passed)
}

/// The final check: the plan's verify commands once more, when every task is done, where the
/// tasks' work came together (the integration branch, in worktree mode).
pub(crate) async fn final_check(ctx: Arc<Ctx>, n: u64, cancel: watch::Receiver<bool>) -> StepDone {
    let log = ctx.layout.final_log(n);
    let started = std::time::Instant::now();
    let done = |result: Result<(), String>, interrupted: bool| StepDone {
        kind: Kind::Final,
        task: None,
        attempt: 0,
        result,
        interrupted,
        elapsed: started.elapsed(),
        log: log.clone(),
        agent: None,
        detail: None,
        pre: None,
    };
    let c = Arc::clone(&ctx);
    let cwd = match tokio::task::spawn_blocking(move || c.ws.final_tree()).await {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => return done(Err(e), false),
        Err(e) => return done(Err(e.to_string()), false),
    };
    let env = vec![
        ("PLANRUN_ROLE".into(), "final-check".into()),
        ("PLANRUN_WORKSPACE".into(), cwd.display().to_string()),
        (orphans::MARK.into(), ctx.layout.dir.display().to_string()),
    ];
    let commands = ctx.plan_verify.clone();
    let (result, interrupted, _) = run_commands(&ctx, &commands, &cwd, &log, env, cancel).await;
    let c = Arc::clone(&ctx);
    let _ = tokio::task::spawn_blocking(move || c.ws.drop_final()).await;
    done(result, interrupted)
}

/// One stage of one attempt, as the runner decided it.
#[derive(Debug, Clone)]
pub(crate) struct CheckRun {
    pub(crate) task: usize,
    pub(crate) id: String,
    pub(crate) attempt: u32,
    pub(crate) stage: Stage,
    /// The task's own verify commands (the plan's are added).
    pub(crate) verify: Vec<String>,
    /// The task's declared files, and the files other tasks may change beside it (a shared
    /// tree's changes by them are not the task's).
    pub(crate) files: Vec<String>,
    pub(crate) others: Vec<String>,
    /// For the agent stages: the prompt's fixed parts (`persona`, `plan_title`, `task_id`,
    /// `task_title`, `attempt`, `brief`).
    pub(crate) vars: Vec<(&'static str, String)>,
    /// The commit message (commit stage).
    pub(crate) message: String,
    /// Not before this instant: the reviewer's provider rate-limited it.
    pub(crate) not_before: Option<tokio::time::Instant>,
}

/// Runs one stage of an attempt.
pub(crate) async fn check(ctx: Arc<Ctx>, run: CheckRun, cancel: watch::Receiver<bool>) -> StepDone {
    let started = std::time::Instant::now();
    let log = ctx.layout.attempt_log(&run.id, run.attempt, run.stage.name());
    let (result, interrupted, agent, detail) = match run.stage {
        Stage::Scope => scope_stage(&ctx, &run).await,
        Stage::Verify => {
            let cwd = ctx.ws.path(&run.id);
            let prompt = ctx.layout.prompt(&run.id, run.attempt);
            let env = env(&ctx, &run.id, "verify", run.attempt, &prompt, &cwd);
            let mut all = run.verify.clone();
            all.extend(ctx.plan_verify.iter().cloned());
            // What the checks themselves make (`__pycache__/`, coverage files, build output not
            // ignored) is not the task's work: it is never committed.
            let before = changed_paths(&ctx, &run).await.ok();
            let (result, interrupted, passed) = run_commands(&ctx, &all, &cwd, &log, env, cancel).await;
            let made = match (before, changed_paths(&ctx, &run).await.ok()) {
                (Some(before), Some(after)) => {
                    let before: std::collections::HashSet<String> = before.into_iter().map(|c| c.path).collect();
                    after.into_iter().map(|c| c.path).filter(|p| !before.contains(p)).collect::<Vec<_>>()
                }
                _ => Vec::new(),
            };
            if !made.is_empty() {
                let (c, id, paths) = (Arc::clone(&ctx), run.id.clone(), made.clone());
                if let Err(e) = blocking(move || c.ws.set_aside_check_output(&id, &paths, false)).await {
                    return StepDone {
                        kind: Kind::Check(run.stage),
                        task: Some(run.task),
                        attempt: run.attempt,
                        result: Err(e),
                        interrupted,
                        elapsed: started.elapsed(),
                        log,
                        agent: None,
                        detail: None,
                        pre: None,
                    };
                }
            }
            let detail = serde_json::json!({"checks": all.len(), "passed": passed, "made_by_checks": made});
            (result, interrupted, None, Some(detail))
        }
        Stage::Test | Stage::Review => agent_stage(&ctx, &run, &log, cancel).await,
        Stage::Commit => commit_stage(&ctx, &run).await,
        Stage::Merge => merge_stage(&ctx, &run, &log, cancel).await,
    };
    StepDone {
        kind: Kind::Check(run.stage),
        task: Some(run.task),
        attempt: run.attempt,
        result,
        interrupted,
        elapsed: started.elapsed(),
        log,
        agent,
        detail,
        pre: None,
    }
}

type Staged = (Result<(), String>, bool, Option<AgentRun>, Option<serde_json::Value>);

/// Runs blocking git work off the dispatcher's thread.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, String> + Send + 'static) -> Result<T, String> {
    tokio::task::spawn_blocking(f).await.map_err(|e| format!("planrun's git work failed: {e}"))?
}

/// The paths task `run.id` changed, from git.
async fn changed_paths(ctx: &Arc<Ctx>, run: &CheckRun) -> Result<Vec<planrun_git::scope::Changed>, String> {
    let (c, id, others) = (Arc::clone(ctx), run.id.clone(), run.others.clone());
    blocking(move || c.ws.changed(&id, &others)).await
}

/// The scope check: the real diff against the task's declared files.
async fn scope_stage(ctx: &Arc<Ctx>, run: &CheckRun) -> Staged {
    let changed = match changed_paths(ctx, run).await {
        Ok(c) => c,
        Err(e) => return (Err(e), false, None, None),
    };
    let declared = patterns(&run.files);
    let outside: Vec<String> =
        planrun_git::scope::outside(&changed, &declared).into_iter().map(|c| c.path.clone()).collect();
    drop(declared);
    let all: Vec<&str> = changed.iter().map(|c| c.path.as_str()).collect();
    let detail = serde_json::json!({"changed": all, "outside": outside, "policy": ctx.scope_policy.name()});
    if outside.is_empty() || ctx.scope_policy != super::pipeline::ScopePolicy::Strict {
        return (Ok(()), false, None, Some(detail));
    }
    // The first line is what `status` and the summary show: it names the files itself.
    let shown: Vec<&str> = outside.iter().take(3).map(String::as_str).collect();
    let more =
        if outside.len() > shown.len() { format!(" and {} more", outside.len() - shown.len()) } else { String::new() };
    let named = if run.files.is_empty() { "none".to_owned() } else { run.files.join(", ") };
    let mut reason = format!(
        "the scope check found {} changed file{} outside the task's files: {}{more} (the task names {named})",
        outside.len(),
        if outside.len() == 1 { "" } else { "s" },
        shown.join(", "),
    );
    reason.push_str("\nFiles changed outside the task's files:");
    for p in &outside {
        reason.push_str(&format!("\n- {p}"));
    }
    reason.push_str("\nUndo those changes (or, if the task truly needs them, they belong in another task).");
    (Err(reason), false, None, Some(detail))
}

/// The task's commit.
async fn commit_stage(ctx: &Arc<Ctx>, run: &CheckRun) -> Staged {
    // In a shared tree, the task's commit holds what it changed in its own files (all it
    // changed, when it names no files; those tasks run alone); changes elsewhere stay as they
    // are, reported by the scope check.
    let paths = match ctx.ws.mode {
        super::pipeline::WorkspaceMode::Shared => match changed_paths(ctx, run).await {
            Ok(c) => {
                let own = patterns(&run.files);
                let made = ctx.ws.check_output(&run.id);
                c.into_iter()
                    .filter(|c| own.is_empty() || own.iter().any(|p| p.matches(&c.path)))
                    .filter(|c| !made.contains(&c.path))
                    .map(|c| c.path)
                    .collect()
            }
            Err(e) => return (Err(e), false, None, None),
        },
        super::pipeline::WorkspaceMode::Worktree => Vec::new(),
    };
    let (c, id, message) = (Arc::clone(ctx), run.id.clone(), run.message.clone());
    match blocking(move || c.ws.commit(&id, &message, &paths)).await {
        Ok(commit) => {
            let detail = serde_json::json!({"commit": commit, "branch": ctx.ws.place(&run.id).and_then(|p| p.branch)});
            if ctx.ws.mode == super::pipeline::WorkspaceMode::Shared {
                let c = Arc::clone(ctx);
                let (id, label) = (run.id.clone(), run.attempt.to_string());
                let _ = blocking(move || c.ws.release(&id, &label)).await;
            }
            (Ok(()), false, None, Some(detail))
        }
        Err(e) => (Err(e), false, None, None),
    }
}

/// The merge: onto the integration branch's tip (rebased when it moved, and verified again
/// then), or back to rework with the conflict replayed in the task's worktree.
async fn merge_stage(ctx: &Arc<Ctx>, run: &CheckRun, log: &Path, cancel: watch::Receiver<bool>) -> Staged {
    let into = ctx.ws.integration.clone().unwrap_or_default();
    if ctx.commit == super::pipeline::CommitMode::Auto {
        // The work of a task whose commit stage did not run (the run was switched from
        // `--commit manual`) is committed here, never left behind.
        let (c, id, message) = (Arc::clone(ctx), run.id.clone(), run.message.clone());
        if let Err(e) = blocking(move || c.ws.commit_if_uncommitted(&id, &message)).await {
            return (Err(e), false, None, None);
        }
    }
    let (c, id, attempt) = (Arc::clone(ctx), run.id.clone(), run.attempt);
    let merging = match blocking(move || c.ws.rebase(&id, attempt)).await {
        Ok(m) => m,
        Err(e) => return (Err(e), false, None, None),
    };
    // The worktree and branch go once the task is integrated; what no branch reaches (files
    // left uncommitted, by-products of the checks) is kept first. A failure to check that
    // leaves them in place.
    let release = |ctx: &Arc<Ctx>| {
        let (c, id, label) = (Arc::clone(ctx), run.id.clone(), run.attempt.to_string());
        blocking(move || c.ws.release(&id, &label))
    };
    let add_kept = |detail: &mut serde_json::Value, kept: Result<Vec<planrun_git::keep::Kept>, String>| {
        if let Some(o) = detail.as_object_mut() {
            match kept {
                Ok(k) if !k.is_empty() => {
                    o.insert("kept".into(), kept_json(&k));
                }
                Ok(_) => {}
                Err(e) => {
                    o.insert("not_removed".into(), serde_json::json!(e));
                }
            }
        }
    };
    match merging {
        super::pipeline::Merging::Merged { commit } => {
            if let Some(c) = &commit {
                if let Err(e) = ctx.ws.mark_merged(&run.id, c) {
                    return (Err(e), false, None, None);
                }
            }
            let mut detail = serde_json::json!({"merged": commit, "into": into, "already": commit.is_some()});
            add_kept(&mut detail, release(ctx).await);
            (Ok(()), false, None, Some(detail))
        }
        super::pipeline::Merging::Conflict { files, hunks, replayed } => {
            let mut reason = format!(
                "merging onto `{into}` conflicted in {}: another task changed the same lines first.\n\
                 Your work was carried onto the branch's new tip; git left conflict markers in {} where the two \
                 changes meet. Resolve them, keeping both tasks' intent, and remove every marker.",
                files.join(", "),
                if replayed.is_empty() { "no file (it applied cleanly)".to_owned() } else { replayed.join(", ") },
            );
            reason.push_str(&format!("\n\nThe conflicting hunks:\n{hunks}"));
            (Err(reason), false, None, Some(serde_json::json!({"conflict": files, "into": into})))
        }
        super::pipeline::Merging::Ready { tip, head, rebased } => {
            let mut detail = serde_json::json!({"into": into, "rebased": rebased});
            if rebased {
                let cwd = ctx.ws.path(&run.id);
                let prompt = ctx.layout.prompt(&run.id, run.attempt);
                let env = env(ctx, &run.id, "verify", run.attempt, &prompt, &cwd);
                let mut all = run.verify.clone();
                all.extend(ctx.plan_verify.iter().cloned());
                // What is uncommitted before the checks (files left beside a commit of your
                // own with --commit manual) is not theirs to set aside: only what they add.
                let before: std::collections::HashSet<String> = ctx.ws.uncommitted_paths(&run.id).into_iter().collect();
                let (result, interrupted, passed) = run_commands(ctx, &all, &cwd, log, env, cancel).await;
                let made: Vec<String> =
                    ctx.ws.uncommitted_paths(&run.id).into_iter().filter(|p| !before.contains(p)).collect();
                if !made.is_empty() {
                    let (c, id, paths) = (Arc::clone(ctx), run.id.clone(), made.clone());
                    if let Err(e) = blocking(move || c.ws.set_aside_check_output(&id, &paths, true)).await {
                        return (Err(e), false, None, Some(detail));
                    }
                }
                if let Some(o) = detail.as_object_mut() {
                    o.insert("checks".into(), serde_json::json!(all.len()));
                    o.insert("passed".into(), serde_json::json!(passed));
                    o.insert("made_by_checks".into(), serde_json::json!(made));
                }
                if let Err(e) = result {
                    let reason = if interrupted {
                        e
                    } else {
                        format!("after rebasing onto `{into}` (other tasks were merged first), the checks failed:\n{e}")
                    };
                    return (Err(reason), interrupted, None, Some(detail));
                }
            }
            let (c, t, h) = (Arc::clone(ctx), tip, head.clone());
            if let Err(e) = blocking(move || c.ws.advance(&t, &h)).await {
                return (Err(e), false, None, Some(detail));
            }
            if let Err(e) = ctx.ws.mark_merged(&run.id, &head) {
                return (Err(e), false, None, Some(detail));
            }
            add_kept(&mut detail, release(ctx).await);
            if let Some(o) = detail.as_object_mut() {
                o.insert("merged".into(), serde_json::json!(head));
            }
            (Ok(()), false, None, Some(detail))
        }
    }
}

/// The diff a reviewer reads is cut at this size; it reads the files for the rest.
const DIFF_LIMIT: usize = 48 * 1024;

/// The agent stages: the tester, or the reviews side by side. Each ends with a verdict; an
/// unreadable one gets one retry with a reminder.
async fn agent_stage(ctx: &Arc<Ctx>, run: &CheckRun, log: &Path, cancel: watch::Receiver<bool>) -> Staged {
    let agent = if run.stage == Stage::Test { ctx.tester.as_ref() } else { ctx.reviewer.as_ref() };
    let Some(agent) = agent.cloned() else {
        return (Err("no reviewer agent is configured".into()), false, None, None);
    };
    let changed = changed_paths(ctx, run).await.unwrap_or_default();
    let files: Vec<&str> = changed.iter().map(|c| c.path.as_str()).collect();
    let files = if files.is_empty() { "(none found by git)".to_owned() } else { files.join(", ") };
    let (c, id) = (Arc::clone(ctx), run.id.clone());
    let diff = tokio::task::spawn_blocking(move || c.ws.patch(&id, DIFF_LIMIT)).await.unwrap_or_default();
    let kinds: Vec<(&'static str, &'static str, String)> = match run.stage {
        Stage::Test => vec![("test", "test", String::new())],
        _ => ctx
            .reviews
            .iter()
            .map(|k| {
                let (name, focus) = match k {
                    super::pipeline::ReviewKind::Code => (
                        "code-review",
                        "the code review: is the change correct, clear, consistent with the code around it, tested \
                         by tests that can fail, and safe (no secrets, no injection, inputs checked)?",
                    ),
                    _ => (
                        "task-review",
                        "the task review: does the change do everything the task asks and meet each acceptance \
                         criterion, without doing things the task did not ask for?",
                    ),
                };
                ("review", name, focus.to_owned())
            })
            .collect(),
    };
    let mut calls = Vec::new();
    for (template, name, focus) in &kinds {
        let mut vars: Vec<(&str, &str)> = run.vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        vars.extend([("review_focus", focus.as_str()), ("changed_files", files.as_str()), ("diff", diff.as_str())]);
        let text = ctx.templates.render(template, &vars);
        let prompt = ctx.layout.dir.join("prompts").join(format!("{}.{}.{name}.md", run.id, run.attempt));
        if let Err(e) = std::fs::write(&prompt, &text) {
            return (Err(format!("cannot write the prompt file `{}`: {e}", prompt.display())), false, None, None);
        }
        let log = if kinds.len() == 1 { log.to_owned() } else { ctx.layout.attempt_log(&run.id, run.attempt, name) };
        let role = if run.stage == Stage::Test { "test" } else { "review" };
        calls.push((
            *name,
            AgentCall {
                task: run.task,
                not_before: run.not_before,
                id: run.id.clone(),
                role,
                attempt: run.attempt,
                agent: agent.clone(),
                prompt,
                text,
                resume: None,
                cwd: ctx.ws.path(&run.id),
                log,
            },
        ));
    }
    // Reviewers read; they must not change the work they judge.
    let watch = run.stage == Stage::Review;
    let before = if watch {
        let (c, id) = (Arc::clone(ctx), run.id.clone());
        tokio::task::spawn_blocking(move || c.ws.worktree_state(&id)).await.ok().flatten()
    } else {
        None
    };
    let results =
        futures_join(calls.iter().map(|(name, call)| verdict_of(ctx, name, call, cancel.clone())).collect()).await;
    let mut touched = Vec::new();
    if let Some(before) = before {
        let (c, id) = (Arc::clone(ctx), run.id.clone());
        touched = tokio::task::spawn_blocking(move || {
            c.ws.worktree_state(&id).map(|after| c.ws.differences(&id, &before, &after)).unwrap_or_default()
        })
        .await
        .unwrap_or_default();
    }
    let mut run_total = None;
    let mut blocking_lines = Vec::new();
    let mut failures = Vec::new();
    let mut reviews = Vec::new();
    let mut interrupted = false;
    for (name, got) in results {
        interrupted |= got.interrupted;
        run_total = merge_runs(run_total, got.run);
        match got.verdict {
            Ok(v) => {
                for f in v.blocking() {
                    blocking_lines.push(format!("- [{name}] {}", finding_line(f)));
                }
                if v.blocks() && v.blocking().next().is_none() {
                    let asked: Vec<String> = v.advisory().map(finding_line).collect();
                    let asked = if asked.is_empty() { "(it gave no findings)".to_owned() } else { asked.join("; ") };
                    blocking_lines.push(format!("- [{name}] requested changes: {asked}"));
                }
                reviews.push(serde_json::json!({"review": name, "verdict": v.verdict, "findings": v.findings}));
            }
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                reviews.push(serde_json::json!({"review": name, "error": e}));
            }
        }
    }
    let detail = serde_json::json!({"reviews": reviews});
    if interrupted {
        return (Err("interrupted".into()), true, run_total, Some(detail));
    }
    if let Some(e) = run_total.as_ref().and_then(|r| r.provider_error.as_ref().map(|p| p.message.clone())) {
        return (
            Err(format!("a reviewer stopped on an error from its model provider: {e}")),
            false,
            run_total,
            Some(detail),
        );
    }
    if !touched.is_empty() {
        let reason = format!(
            "a reviewer changed files, which a review must not do: {}. The changes are left in the task's \
             worktree: keep what belongs to the task, undo the rest",
            touched.join(", ")
        );
        return (Err(reason), false, run_total, Some(detail));
    }
    if !failures.is_empty() {
        return (Err(failures.join("\n")), false, run_total, Some(detail));
    }
    if !blocking_lines.is_empty() {
        let who = if run.stage == Stage::Test { "The tester" } else { "The reviewers" };
        let reason = format!("{who} found blocking problems; fix each:\n{}", blocking_lines.join("\n"));
        return (Err(reason), false, run_total, Some(detail));
    }
    (Ok(()), false, run_total, Some(detail))
}

/// The task's globs, parsed (each was checked when the plan was read).
pub(crate) fn patterns(globs: &[String]) -> Vec<Pattern> {
    globs.iter().filter_map(|g| Pattern::parse(g).ok()).collect()
}

/// `file:line: message`.
fn finding_line(f: &planrun_agents::verdict::Finding) -> String {
    match (&f.file, f.line) {
        (Some(file), Some(line)) => format!("{file}:{line}: {}", f.message),
        (Some(file), None) => format!("{file}: {}", f.message),
        _ => f.message.clone(),
    }
}

/// Runs futures side by side and returns their outputs in order.
async fn futures_join<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, slot) in pinned.iter_mut().zip(out.iter_mut()) {
            if slot.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *slot = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    out.into_iter().flatten().collect()
}

/// What one reviewer (or the tester) said.
struct Judged {
    interrupted: bool,
    run: Option<AgentRun>,
    verdict: Result<planrun_agents::verdict::Verdict, String>,
}

/// Runs one reviewer and reads its verdict; an unreadable verdict gets one retry with the
/// reminder (in the same session when the CLI has one), then fails with the reason.
async fn verdict_of(ctx: &Arc<Ctx>, name: &str, call: &AgentCall, cancel: watch::Receiver<bool>) -> (String, Judged) {
    let first = call_agent(ctx, call, cancel.clone()).await;
    let stop = |c: &Called| c.interrupted || c.run.as_ref().is_some_and(|r| r.provider_error.is_some());
    if stop(&first) || first.result.is_err() {
        let verdict = Err(first.result.clone().err().unwrap_or_default());
        return (name.to_owned(), Judged { interrupted: first.interrupted, run: first.run, verdict });
    }
    let err = match planrun_agents::verdict::parse(&first.answer) {
        Ok(v) => return (name.to_owned(), Judged { interrupted: false, run: first.run, verdict: Ok(v) }),
        Err(e) => e,
    };
    let session = first.run.as_ref().and_then(|r| r.record.session.clone());
    let mut retry = call.clone();
    match (&session, call.agent.kind) {
        (Some(s), kind) if kind != AgentKind::Command => {
            retry.text = planrun_agents::verdict::REMINDER.to_owned();
            retry.resume =
                Some((s.clone(), first.run.as_ref().and_then(|r| r.record.session_usage).unwrap_or_default()));
        }
        _ => {
            retry.text = format!("{}\n\n{}", call.text, planrun_agents::verdict::REMINDER);
            let _ = std::fs::write(&retry.prompt, &retry.text);
        }
    }
    let second = call_agent(ctx, &retry, cancel).await;
    let run = merge_runs(first.run, second.run.clone());
    if stop(&second) || second.result.is_err() {
        let verdict = Err(second.result.clone().err().unwrap_or_default());
        return (name.to_owned(), Judged { interrupted: second.interrupted, run, verdict });
    }
    let verdict = planrun_agents::verdict::parse(&second.answer)
        .map_err(|e2| format!("gave no verdict planrun can read, even after a reminder ({err}; then {e2})"));
    (name.to_owned(), Judged { interrupted: false, run, verdict })
}

/// A program named by a relative path (`./agent.sh`, `tools/agent`) is the one in the
/// repository planrun was started on, as `planrun run` checked before starting: a task's worktree
/// starts from the last commit and would lack it while it is uncommitted, or hold an older copy.
fn anchor_program(argv: &mut [String], root: &std::path::Path) {
    if let Some(program) = argv.first_mut() {
        let path = std::path::Path::new(program.as_str());
        if program.contains('/') && path.is_relative() {
            *program = root.join(path.strip_prefix("./").unwrap_or(path)).display().to_string();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(human(Duration::from_millis(250)), "250ms");
        assert_eq!(human(Duration::from_secs(90)), "1m30s");
        assert_eq!(human(Duration::from_secs(300)), "5m");
        assert_eq!(human(Duration::from_secs(5400)), "1h30m");
        assert_eq!(human(Duration::from_secs(7200)), "2h");
    }

    #[test]
    fn the_tail_is_bounded_and_starts_after_the_offset() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log");
        std::fs::write(&p, format!("header\n{}end\n", "x".repeat(10_000))).unwrap();
        let t = tail(&p, 0);
        assert!(t.len() <= TAIL && t.ends_with("end"));
        assert_eq!(tail(&p, 10_005), "xxend");
        assert_eq!(tail(&dir.path().join("missing"), 0), "");
    }
}
