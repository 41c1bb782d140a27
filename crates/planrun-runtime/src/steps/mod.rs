//! The steps the runner carries out for the engine's decisions: the implement step (the agent
//! command with its prompt file and environment), the verify step (each of the task's verify
//! commands, then the plan's, with `sh -c` in the workspace) and the final check. Each is one
//! supervised child at a time, output to a per-attempt log file. Turns how a process ended into a
//! verdict with a reason; decides nothing about what runs next. Running one agent is `agent`; the
//! check stages after implement are `stages` (verify, scope, commit, merge) and `review` (reviews
//! and the tester).

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

mod agent;
pub(crate) mod prepare;
mod review;
mod stages;
#[cfg(test)]
mod tests;

pub(crate) use agent::*;
use review::*;
pub(crate) use stages::*;

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

/// Environment variables, in order.
pub(crate) type Env = Vec<(String, String)>;

/// What every step of a run shares.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) layout: Layout,
    pub(crate) agent_limits: Limits,
    pub(crate) verify_limits: Limits,
    pub(crate) plan_verify: Vec<String>,
    /// The final check's commands: the plan's verify commands, else the project's own (detected).
    pub(crate) final_verify: Vec<String>,
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
    /// The task review first, the code review only when it passed (`--review-order sequential`).
    pub(crate) reviews_in_turn: bool,
    pub(crate) reviewer: Option<Agent>,
    /// The tester's agent: `[roles.test]`'s when planrun.toml names one, else the reviewer.
    pub(crate) tester: Option<Agent>,
    /// The tester runs beside the reviewers, in the review stage (when a run has both), rather
    /// than as a stage of its own before verify.
    pub(crate) tester_beside: bool,
    pub(crate) templates: super::templates::Templates,
    /// What running agents have used so far.
    /// Where running agents report what they used so far (read by the dispatcher).
    pub(crate) reports: tokio::sync::mpsc::UnboundedSender<super::budget::Report>,
    /// The allow-listed environment of each agent kind in each folder (`agent_env`): planrun's
    /// own environment does not change during a run, and reading every CLI's configuration
    /// files for every step cost more than the step of a quick agent.
    pub(crate) agent_envs: std::sync::Mutex<rustc_hash::FxHashMap<(AgentKind, PathBuf), Env>>,
    /// Set when the run drains (the first Ctrl-C): a step still waiting for its agent (a rate
    /// limit, a usage window) gives up at once instead of holding the drain.
    pub(crate) draining: watch::Sender<bool>,
    /// A blueprint step's marks go into its own commit (`pipeline::CommitMarks`).
    pub(crate) marks: Option<super::pipeline::CommitMarks>,
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
    /// The plan's steps to run before the agent (CCW's pre-analysis).
    pub(crate) prepare: Vec<planrun_plan::prepare::PrepStep>,
    /// The implementer's plan to write first (with `--take`, when none is kept yet).
    pub(crate) plan: Option<PlanRun>,
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
    /// The implementer's plan, after the take and before code (recorded with the implement step).
    Plan,
    Check(Stage),
    Final,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Implement => "implement",
            Kind::Take => "take",
            Kind::Plan => "plan",
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
    pub(crate) detail: Option<crate::journal_event::StepDetail>,
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

/// The implementer's plan before its code: the call, where the answer is kept, and where the
/// plan's own format keeps it too (uc's `plan.md`).
#[derive(Debug, Clone)]
pub(crate) struct PlanRun {
    pub(crate) call: AgentCall,
    pub(crate) keep: PathBuf,
    pub(crate) copy_to: Option<PathBuf>,
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
    let ImplementRun { task, id, attempt, agent, prompt, mut text, resume, take, not_before, prepare, plan } = run;
    let log = ctx.layout.attempt_log(&id, attempt, "implement");
    let started = std::time::Instant::now();
    let mut detail = None;
    let done = |result: Result<(), String>,
                interrupted: bool,
                run: Option<AgentRun>,
                pre: Option<StepDone>,
                detail: Option<crate::journal_event::StepDetail>| StepDone {
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
    // Outside git a place is the folder itself, nothing to wait for: no hop to another thread.
    let prepared = if ws.ws.repo.is_none() {
        Ok(ws.ws.prepare(&place_id, attempt))
    } else {
        tokio::task::spawn_blocking(move || ws.ws.prepare(&place_id, attempt)).await
    };
    let place = match prepared {
        Ok(Ok((p, kept))) => {
            if !kept.is_empty() {
                detail = Some(crate::journal_event::StepDetail { kept: kept_refs(&kept), ..Default::default() });
            }
            p
        }
        Ok(Err(e)) => return done(Err(format!("cannot prepare the task's workspace: {e}")), false, None, None, None),
        Err(e) => return done(Err(format!("cannot prepare the task's workspace: {e}")), false, None, None, None),
    };
    // The plan's pre-analysis steps, before a fresh session (a resumed one has their output).
    if !prepare.is_empty() && resume.is_none() {
        let plog = ctx.layout.attempt_log(&id, attempt, "prepare");
        let env = env(&ctx, &id, "prepare", attempt, &prompt, &place.path);
        match prepare::run_steps(&ctx, &prepare, &place.path, &plog, env, cancel.clone()).await {
            Ok(p) => {
                let value = |n: &str| p.vars.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()).unwrap_or_default();
                text = planrun_plan::prepare::substitute(&text, &p.vars, value);
                text.push_str(&p.section);
                if let Err(e) = std::fs::write(&prompt, &text) {
                    let reason = format!("cannot write the prompt file `{}`: {e}", prompt.display());
                    return done(Err(reason), false, None, None, detail);
                }
            }
            Err((reason, interrupted)) => return done(Err(reason), interrupted, None, None, detail),
        }
    }
    let mut pre = None;
    let mut taken: Option<String> = None;
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
            taken = Some(answer);
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
    if let Some(run) = plan {
        match plan_in(&ctx, run, (&place.path, false), taken.as_deref(), pre.take(), cancel.clone()).await {
            (step, Ok(Some(written))) => {
                text.push_str(&super::prompt::plan_section(&written));
                let _ = std::fs::write(&prompt, &text);
                pre = Some(step);
            }
            (step, Ok(None)) => pre = Some(step),
            (step, Err((reason, interrupted, run))) => return done(Err(reason), interrupted, run, Some(step), detail),
        }
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

/// `--pipeline`: the implementer's plan written ahead, in a worktree of its own (removed after,
/// anything written there kept under a ref) while a task it depends on is in review.
pub(crate) async fn plan_ahead(ctx: Arc<Ctx>, run: PlanRun, cancel: watch::Receiver<bool>) -> StepDone {
    let (c, id) = (Arc::clone(&ctx), run.call.id.clone());
    let tree =
        tokio::task::spawn_blocking(move || c.ws.plan_tree(&id)).await.map_err(|e| e.to_string()).and_then(|r| r);
    let cwd = match tree {
        Ok(p) => p,
        Err(e) => {
            return StepDone {
                kind: Kind::Plan,
                task: Some(run.call.task),
                attempt: 0,
                result: Err(format!("cannot plan ahead: {e}")),
                interrupted: false,
                elapsed: Duration::ZERO,
                log: run.call.log.clone(),
                agent: None,
                detail: None,
                pre: None,
            };
        }
    };
    let (mut step, outcome) = plan_in(&ctx, run, (&cwd, true), None, None, cancel).await;
    if let Err((reason, interrupted, _)) = outcome {
        step.result = Err(reason);
        step.interrupted = interrupted;
    }
    step
}

/// The implementer's plan: its agent, read-only, in `cwd` with the take (if any) in its prompt.
/// `ahead`: `cwd` is the planner's own worktree (what it changed there is kept under a ref and
/// the worktree removed), else the task's (a snapshot shows what it changed). `Ok(Some(plan))`
/// when it gave one (kept); `Ok(None)` when it gave none (the code step goes on without); `Err`
/// when planrun was stopped or the planner changed files.
async fn plan_in(
    ctx: &Arc<Ctx>,
    run: PlanRun,
    (cwd, ahead): (&Path, bool),
    take: Option<&str>,
    before_it: Option<StepDone>,
    cancel: watch::Receiver<bool>,
) -> (StepDone, Result<Option<String>, (String, bool, Option<AgentRun>)>) {
    let PlanRun { mut call, keep, copy_to } = run;
    call.cwd = cwd.to_owned();
    if let Some(t) = take {
        call.text.push_str(&super::prompt::take_section(t));
    }
    let _ = std::fs::write(&call.prompt, &call.text);
    let started = std::time::Instant::now();
    let (c, id) = (Arc::clone(ctx), call.id.clone());
    let snapshot =
        if ahead { None } else { tokio::task::spawn_blocking(move || c.ws.worktree_state(&id)).await.ok().flatten() };
    let got = call_agent(ctx, &call, cancel).await;
    let mut touched = Vec::new();
    let mut kept_in = String::new();
    let mut untidy = None;
    if ahead {
        let (c, id) = (Arc::clone(ctx), call.id.clone());
        match tokio::task::spawn_blocking(move || c.ws.drop_plan_tree(&id)).await {
            Ok(Ok((changed, kept))) => {
                touched = changed;
                if let Some(k) = kept.first() {
                    kept_in = format!(" (kept under {})", k.reference);
                }
            }
            // Nothing was removed; the plan is not used, a later planning step tidies it.
            Ok(Err(e)) => untidy = Some(e),
            Err(e) => untidy = Some(e.to_string()),
        }
    } else if let Some(before) = snapshot {
        let (c, id) = (Arc::clone(ctx), call.id.clone());
        touched = tokio::task::spawn_blocking(move || {
            c.ws.worktree_state(&id).map(|after| c.ws.differences(&id, &before, &after)).unwrap_or_default()
        })
        .await
        .unwrap_or_default();
    }
    let answer = got.answer.trim().to_owned();
    let result = if let Some(e) = &untidy {
        Err(format!("the planner's worktree could not be checked: {e}"))
    } else if touched.is_empty() {
        got.result.clone()
    } else {
        let left = if ahead {
            format!("they were not used{kept_in}")
        } else {
            "they are left in the task's worktree for the code step".to_owned()
        };
        Err(format!("the planning step changed files, which a plan must not do: {}; {left}", touched.join(", ")))
    };
    let step = StepDone {
        kind: Kind::Plan,
        task: Some(call.task),
        attempt: call.attempt,
        result: result.clone(),
        interrupted: got.interrupted,
        elapsed: started.elapsed(),
        log: call.log.clone(),
        agent: got.run.clone(),
        detail: None,
        pre: before_it.map(Box::new),
    };
    let stop = got.interrupted || got.run.as_ref().is_some_and(|r| r.provider_error.is_some());
    if stop {
        let reason = got.result.err().unwrap_or_else(|| "interrupted".into());
        return (step, Err((reason, got.interrupted, got.run)));
    }
    if !touched.is_empty() || untidy.is_some() {
        let reason = result.err().unwrap_or_default();
        return (step, Err((reason, false, got.run)));
    }
    if result.is_err() || answer.is_empty() {
        return (step, Ok(None));
    }
    let _ = keep.parent().map(std::fs::create_dir_all);
    let _ = std::fs::write(&keep, &answer);
    // The format's own copy, unless a plan is there already (someone's work: never replaced).
    if let Some(to) = copy_to.filter(|to| !to.exists()) {
        let _ = to.parent().map(std::fs::create_dir_all);
        let _ = std::fs::write(&to, format!("{}\n", answer.trim_end()));
    }
    (step, Ok(Some(answer)))
}

/// Work kept under refs, as the journal records it.
pub(crate) fn kept_refs(kept: &[planrun_git::keep::Kept]) -> Vec<crate::journal_event::KeptRef> {
    kept.iter()
        .map(|k| crate::journal_event::KeptRef { reference: k.reference.clone(), commit: k.commit.clone() })
        .collect()
}

/// A command line of the plan run with `sh -c` in `cwd` (one argument: never spliced into a
/// shell line), under the verify limits, its output redacted into `log`.
fn command_spec(ctx: &Ctx, line: &str, cwd: &Path, log: &Path, env: &[(String, String)]) -> Spec {
    Spec {
        argv: vec!["sh".into(), "-c".into(), line.to_owned()],
        cwd: cwd.to_owned(),
        env: env.to_vec(),
        clear_env: false,
        redact: Arc::clone(&ctx.redact),
        log: log.to_owned(),
        wall_limit: ctx.verify_limits.wall,
        stall_limit: ctx.verify_limits.stall,
        grace: ctx.verify_limits.grace,
    }
}

/// How a run of commands ended: `Ok`, or why not; whether planrun cut it short; how many
/// commands passed.
type Ran = (Result<(), String>, bool, usize);

/// Runs `commands` one after the other with `sh -c` in `cwd`, appending to `log`: every one of
/// them, so that a failure reports all the checks that failed (each with the end of its
/// output) and how many passed; only an interruption or a vanished workspace stops them.
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
    let mut failed: Vec<String> = Vec::new();
    for cmd in commands {
        let header =
            std::fs::OpenOptions::new().create(true).append(true).open(log).and_then(|mut f| writeln!(f, "$ {cmd}"));
        if let Err(e) = header {
            return (Err(format!("cannot write the log `{}`: {e}", log.display())), false, passed);
        }
        let from = log_start(log);
        let spec = command_spec(ctx, cmd, cwd, log, &env);
        let busy = ctx.ws.tree.busy();
        let finished = supervise::run(&spec, cancel.clone()).await;
        drop(busy);
        match finished {
            Ok(f) if f.outcome == Outcome::Cancelled => return (Err("interrupted".into()), true, passed),
            Ok(f) => match describe(&format!("the check `{cmd}`"), &f) {
                Some(reason) => failed.push(with_tail(reason, log, from)),
                None => passed += 1,
            },
            Err(e) => {
                if let Some(reason) = workspace_missing(cwd) {
                    return (Err(reason), false, passed);
                }
                failed.push(format!("the check `{cmd}` could not be started: {e}"));
            }
        }
    }
    match failed.len() {
        0 => (Ok(()), false, passed),
        1 if commands.len() == 1 => (Err(failed.concat()), false, passed),
        n => {
            let each: Vec<String> = failed.iter().map(|f| format!("- {}", f.replace('\n', "\n  "))).collect();
            let head = format!("{n} of {} checks failed ({passed}/{} passed):", commands.len(), commands.len());
            (Err(format!("{head}\n{}", each.join("\n"))), false, passed)
        }
    }
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
    let commands = ctx.final_verify.clone();
    let (result, interrupted, _) = run_commands(&ctx, &commands, &cwd, &log, env, cancel).await;
    let c = Arc::clone(&ctx);
    let _ = tokio::task::spawn_blocking(move || c.ws.drop_final()).await;
    done(result, interrupted)
}
