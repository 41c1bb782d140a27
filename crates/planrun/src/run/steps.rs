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

impl Agent {
    /// How the agent is named in events and reports: `claude`, `codex (gpt-5)`, `command`.
    pub(crate) fn label(&self) -> String {
        match &self.model {
            Some(m) => format!("{} ({m})", self.kind),
            None => self.kind.to_string(),
        }
    }
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
}

/// What a CLI agent's run amounted to, read from its events: what is journaled with the step,
/// and what only this run needs.
#[derive(Debug, Clone, Default)]
pub(crate) struct AgentRun {
    pub(crate) record: AgentRecord,
    /// An error the agent's provider reported (API error, rate limit): not the task's fault.
    pub(crate) provider_error: Option<String>,
    pub(crate) tool_uses: u64,
    pub(crate) denied: Vec<String>,
}

/// Which step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Implement,
    Verify,
    Final,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Implement => "implement",
            Kind::Verify => "verify",
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
    /// For an implement step run by a CLI agent: what its events said.
    pub(crate) agent: Option<AgentRun>,
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

/// A duration the way people write it: `90s`, `5m`, `1h30m`, `250ms`.
pub(crate) fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let s = d.as_secs();
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, 0, 0) => format!("{h}h"),
        (h, m, _) => format!("{h}h{m}m"),
    }
}

/// The environment of an agent run: the allow-listed part of planrun's own, then planrun's
/// variables.
fn agent_env(ctx: &Ctx, kind: AgentKind, task: &str, attempt: u32, prompt: &Path) -> Vec<(String, String)> {
    let mut vars = planrun_agents::env::allowed(kind, &ctx.pass_env, std::env::vars_os());
    vars.extend(env(ctx, task, "implement", attempt, prompt));
    vars
}

fn env(ctx: &Ctx, task: &str, role: &str, attempt: u32, prompt: &Path) -> Vec<(String, String)> {
    vec![
        ("PWD".into(), ctx.layout.workspace.display().to_string()),
        ("PLANRUN_TASK_ID".into(), task.to_owned()),
        ("PLANRUN_ROLE".into(), role.to_owned()),
        ("PLANRUN_ATTEMPT".into(), attempt.to_string()),
        ("PLANRUN_PROMPT_FILE".into(), prompt.display().to_string()),
        ("PLANRUN_WORKSPACE".into(), ctx.layout.workspace.display().to_string()),
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

/// Whether the workspace is still there: a vanished folder is reported as such, not as an
/// unstartable program.
fn workspace_missing(ctx: &Ctx) -> Option<String> {
    (!ctx.layout.workspace.is_dir())
        .then(|| format!("the workspace `{}` does not exist any more", ctx.layout.workspace.display()))
}

/// The implement step: the agent with its prompt, in the workspace, with an allow-listed
/// environment; a CLI agent's events are read afterwards for its session, usage and errors.
pub(crate) async fn implement(ctx: Arc<Ctx>, run: ImplementRun, cancel: watch::Receiver<bool>) -> StepDone {
    let ImplementRun { task, id, attempt, agent, prompt, text, resume } = run;
    let log = ctx.layout.attempt_log(&id, attempt, "implement");
    let started = std::time::Instant::now();
    let done = |result: Result<(), String>, interrupted: bool, log: PathBuf, run: Option<AgentRun>| StepDone {
        kind: Kind::Implement,
        task: Some(task),
        attempt,
        result,
        interrupted,
        elapsed: started.elapsed(),
        log,
        agent: run,
    };
    if let Some(reason) = workspace_missing(&ctx) {
        return done(Err(reason), false, log, None);
    }
    if let Err(e) = prepare_log(&log) {
        return done(Err(e), false, log, None);
    }
    let argv = match agent.kind {
        AgentKind::Command => {
            let vars = Vars {
                prompt_file: prompt.display().to_string(),
                task_id: id.clone(),
                workspace: ctx.layout.workspace.display().to_string(),
                role: "implement".into(),
                attempt,
            };
            agent.template.as_ref().map(|t| t.render(&vars)).unwrap_or_default()
        }
        kind => {
            if text.len() > MAX_PROMPT_ARG {
                let reason = format!(
                    "the prompt is {} bytes, more than the {MAX_PROMPT_ARG} a single argument may hold; shorten the \
                     task's description or the plan's context (the prompt is in `{}`)",
                    text.len(),
                    prompt.display()
                );
                return done(Err(reason), false, log, None);
            }
            let workspace = ctx.layout.workspace.display().to_string();
            let call = Call {
                prompt: &text,
                model: agent.model.as_deref(),
                resume: resume.as_ref().map(|(s, _)| s.as_str()),
                workspace: Some(&workspace),
                root: ctx.root,
                sandbox: ctx.sandbox,
            };
            adapter::argv(kind, &call).unwrap_or_default()
        }
    };
    let spec = Spec {
        argv,
        cwd: ctx.layout.workspace.clone(),
        env: agent_env(&ctx, agent.kind, &id, attempt, &prompt),
        clear_env: true,
        redact: Arc::clone(&ctx.redact),
        log: log.clone(),
        wall_limit: ctx.agent_limits.wall,
        stall_limit: ctx.agent_limits.stall,
        grace: ctx.agent_limits.grace,
    };
    let from = log_start(&log);
    let finished = supervise::run(&spec, cancel).await;
    // Off the dispatcher's thread: a log can be large.
    let report = if agent.kind == AgentKind::Command {
        None
    } else {
        let (c, a, l, r) = (Arc::clone(&ctx), agent.clone(), log.clone(), resume.clone());
        tokio::task::spawn_blocking(move || read_events(&c, &a, &l, from, r.as_ref())).await.ok()
    };
    match finished {
        Ok(f) if f.outcome == Outcome::Cancelled => done(Err("interrupted".into()), true, log, report),
        Ok(f) => {
            let who = match agent.kind {
                AgentKind::Command => "the agent".to_owned(),
                kind => format!("the agent ({kind})"),
            };
            let result = match (describe(&who, &f), workspace_missing(&ctx), &report) {
                (_, _, Some(r)) if r.provider_error.is_some() => {
                    let e = r.provider_error.as_deref().unwrap_or("");
                    Err(format!("{who} stopped on an error from its model provider: {e}"))
                }
                (Some(reason), _, _) => Err(with_tail(reason, &log, from)),
                (None, Some(gone), _) => Err(format!("{gone} after the agent ran")),
                (None, None, Some(r)) if r.record.session.is_none() && r.tool_uses == 0 && r.record.usage.is_zero() => {
                    Err(with_tail(
                        format!(
                            "{who} exited 0 but printed none of the events planrun reads (is this a supported version of `{}`?)",
                            agent.kind
                        ),
                        &log,
                        from,
                    ))
                }
                (None, None, _) => Ok(()),
            };
            done(result, false, log, report)
        }
        Err(e) => {
            let reason = workspace_missing(&ctx).unwrap_or_else(|| format!("the agent could not be started: {e}"));
            done(Err(reason), false, log, report)
        }
    }
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
        provider_error: (!r.errors.is_empty()).then(|| r.errors.join("; ")),
        tool_uses: r.tool_uses,
        denied: r.denied,
    }
}

/// Runs `commands` one after the other with `sh -c` in the workspace, appending to `log`;
/// stops at the first that fails.
async fn run_commands(
    ctx: &Ctx,
    commands: &[String],
    log: &Path,
    env: Vec<(String, String)>,
    cancel: watch::Receiver<bool>,
) -> (Result<(), String>, bool) {
    if let Some(reason) = workspace_missing(ctx) {
        return (Err(reason), false);
    }
    if let Err(e) = prepare_log(log) {
        return (Err(e), false);
    }
    for cmd in commands {
        let header =
            std::fs::OpenOptions::new().create(true).append(true).open(log).and_then(|mut f| writeln!(f, "$ {cmd}"));
        if let Err(e) = header {
            return (Err(format!("cannot write the log `{}`: {e}", log.display())), false);
        }
        let from = log_start(log);
        let spec = Spec {
            argv: vec!["sh".into(), "-c".into(), cmd.clone()],
            cwd: ctx.layout.workspace.clone(),
            env: env.clone(),
            clear_env: false,
            redact: Arc::clone(&ctx.redact),
            log: log.to_owned(),
            wall_limit: ctx.verify_limits.wall,
            stall_limit: ctx.verify_limits.stall,
            grace: ctx.verify_limits.grace,
        };
        match supervise::run(&spec, cancel.clone()).await {
            Ok(f) if f.outcome == Outcome::Cancelled => return (Err("interrupted".into()), true),
            Ok(f) => {
                if let Some(reason) = describe(&format!("the check `{cmd}`"), &f) {
                    return (Err(with_tail(reason, log, from)), false);
                }
            }
            Err(e) => {
                let reason =
                    workspace_missing(ctx).unwrap_or_else(|| format!("the check `{cmd}` could not be started: {e}"));
                return (Err(reason), false);
            }
        }
    }
    (Ok(()), false)
}

/// The verify step of an attempt: the task's verify commands, then the plan's.
pub(crate) async fn verify(
    ctx: Arc<Ctx>,
    task: usize,
    id: String,
    attempt: u32,
    commands: Vec<String>,
    cancel: watch::Receiver<bool>,
) -> StepDone {
    let log = ctx.layout.attempt_log(&id, attempt, "verify");
    let started = std::time::Instant::now();
    let prompt = ctx.layout.prompt(&id, attempt);
    let env = env(&ctx, &id, "verify", attempt, &prompt);
    let mut all = commands;
    all.extend(ctx.plan_verify.iter().cloned());
    let (result, interrupted) = run_commands(&ctx, &all, &log, env, cancel).await;
    StepDone {
        kind: Kind::Verify,
        task: Some(task),
        attempt,
        result,
        interrupted,
        elapsed: started.elapsed(),
        log,
        agent: None,
    }
}

/// The final check: the plan's verify commands once more, when every task is done.
pub(crate) async fn final_check(ctx: Arc<Ctx>, n: u64, cancel: watch::Receiver<bool>) -> StepDone {
    let log = ctx.layout.final_log(n);
    let started = std::time::Instant::now();
    let env = vec![
        ("PLANRUN_ROLE".into(), "final-check".into()),
        ("PLANRUN_WORKSPACE".into(), ctx.layout.workspace.display().to_string()),
        (orphans::MARK.into(), ctx.layout.dir.display().to_string()),
    ];
    let commands = ctx.plan_verify.clone();
    let (result, interrupted) = run_commands(&ctx, &commands, &log, env, cancel).await;
    StepDone {
        kind: Kind::Final,
        task: None,
        attempt: 0,
        result,
        interrupted,
        elapsed: started.elapsed(),
        log,
        agent: None,
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
