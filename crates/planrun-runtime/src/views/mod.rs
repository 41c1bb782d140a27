//! What a run looks like from outside: the summary line at the end of `run`, and the `status`
//! (with the costs by stage and by agent from `costs.rs`), `retry`, `skip` and `log` commands,
//! all read from the journal replayed onto the plan.
//! `retry` and `skip` write through the engine, under the run lock, like any other change.

mod follow;

use super::costs::Breakdown;
use super::journal_event::{JournalEvent, UserRecord};
use super::layout::Layout;
use super::session::{OpenArgs, Session, attempts, failures, open_task, read, running};
use super::totals::{Totals, dollars, thousands, tokens};
use crate::console::{Console, Verbosity};
use crate::options::{LogOptions, StatusOptions, TaskOptions};
use crate::{Error, exit};
use planrun_engine::{Input, TaskState};
use serde_json::json;
use std::collections::BTreeMap;

/// Counts per state and the lines that explain blocked tasks.
#[derive(Debug)]
pub(crate) struct Summary {
    pub(crate) counts: BTreeMap<&'static str, usize>,
    pub(crate) line: String,
    pub(crate) blocked_lines: Vec<String>,
    /// The same with each blocked task's whole reason (`--verbose`).
    pub(crate) blocked_full: Vec<String>,
}

pub(crate) fn summary(s: &Session) -> Summary {
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut blocked_lines = Vec::new();
    let mut blocked_full = Vec::new();
    let mut waiting: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (i, state) in s.engine.states().iter().enumerate() {
        *counts.entry(state.name()).or_default() += 1;
        if let TaskState::Blocked { reason } = state {
            let first = reason.lines().next().unwrap_or("");
            blocked_lines.push(format!("blocked {}: {first}", s.id(i)));
            blocked_full.push(format!("blocked {}: {}", s.id(i), reason.trim_end().replace('\n', "\n    ")));
        } else if !state.satisfies_dependents() {
            if let Some(b) = s.engine.blocked_upstream(i) {
                waiting.entry(s.id(b).to_owned()).or_default().push(s.id(i).to_owned());
            }
        }
    }
    for (blocker, tasks) in waiting {
        let line = format!("waiting behind {blocker}: {}", tasks.join(", "));
        blocked_full.push(line.clone());
        blocked_lines.push(line);
    }
    let n = s.engine.states().len();
    let mut parts: Vec<String> = Vec::new();
    for name in ["done", "skipped", "blocked", "rework", "in_progress", "in_review", "ready", "pending"] {
        if let Some(c) = counts.get(name) {
            parts.push(format!("{c} {}", name.replace('_', " ")));
        }
    }
    let line = format!("{n} task{}: {}", if n == 1 { "" } else { "s" }, parts.join(", "));
    Summary { counts, line, blocked_lines, blocked_full }
}

/// A task's reason for people: its first line, or with --verbose all of it (the lines after the
/// first indented by `indent`).
fn reason_text(reason: &str, indent: &str, verbose: bool) -> String {
    if verbose {
        reason.trim_end().replace('\n', &format!("\n{indent}"))
    } else {
        reason.lines().next().unwrap_or("").to_owned()
    }
}

pub fn status(args: &StatusOptions, console: &mut Console<'_>) -> Result<u8, Error> {
    if args.watch {
        return follow::watch(args, console);
    }
    let s = read(args.plan.as_deref(), &args.state)?;
    let active = running(&s);
    if args.json {
        console.println(&status_json(&s, active).to_string());
    } else {
        let text = status_text(&s, active, console.verbosity());
        console.print(&text);
    }
    Ok(exit::OK)
}

/// `planrun status --json`'s object.
pub(crate) fn status_json(s: &Session, active: Option<Option<u32>>) -> serde_json::Value {
    let sum = summary(s);
    let costs = Breakdown::of_run(s);
    let kept = super::kept::of_run(s);
    let tasks: Vec<serde_json::Value> = s
        .engine
        .states()
        .iter()
        .enumerate()
        .map(|(i, st)| {
            let reason = match st {
                TaskState::Blocked { reason } | TaskState::Rework { reason, .. } => Some(reason.as_str()),
                _ => None,
            };
            json!({
                "id": s.id(i),
                "title": s.task(i).map_or("", |t| t.title.as_str()),
                "state": st.name(),
                "stage": s.engine.stage(i).map(planrun_engine::Stage::name),
                "attempts": attempts(s, i),
                "failures": failures(st),
                "reason": reason,
                "waiting_for": s.engine.blocked_upstream(i).map(|b| s.id(b)),
                "waits_for_commit": waits_for_commit(s, i),
                "usage": Totals::of_task(s, s.id(i)).to_json(),
            })
        })
        .collect();
    json!({
        "plan": s.plan_path.display().to_string(),
        "state_dir": s.layout.dir.display().to_string(),
        "running": active.is_some(),
        "outcome": s.last_outcome,
        "tasks": tasks,
        "counts": sum.counts,
        "kept": kept.iter().map(super::kept::KeptWork::to_json).collect::<Vec<_>>(),
        "usage": Totals::of(s).to_json(),
        "costs": {"per_stage": costs.stages_json(), "per_agent": costs.agents_json()},
    })
}

/// `planrun status` for people (with --quiet, only the line of counts).
pub(crate) fn status_text(s: &Session, active: Option<Option<u32>>, verbosity: Verbosity) -> String {
    use std::fmt::Write as _;
    let sum = summary(s);
    if verbosity == Verbosity::Quiet {
        return format!("{}\n", sum.line);
    }
    let costs = Breakdown::of_run(s);
    let kept = super::kept::of_run(s);
    let mut out = String::new();
    let _ = writeln!(out, "plan: {}", s.plan_path.display());
    let _ = writeln!(out, "state: {}", s.layout.dir.display());
    match (active, &s.last_outcome) {
        (Some(pid), _) => {
            let _ = writeln!(out, "run: in progress{}", pid.map(|p| format!(" (process {p})")).unwrap_or_default());
        }
        (None, Some(o)) => {
            let _ = writeln!(out, "run: last ended {}", o.replace('_', " "));
        }
        (None, None) => {
            let _ = writeln!(out, "run: stopped before it finished; `planrun run` resumes it");
        }
    }
    let width = s.loaded.plan.tasks.iter().map(|t| t.id.chars().count()).max().unwrap_or(0).min(24);
    let _ = writeln!(out);
    for (i, st) in s.engine.states().iter().enumerate() {
        let mut line =
            format!("  {:<11} {:<width$}  {}", st.name(), s.id(i), s.task(i).map_or("", |t| t.title.as_str()));
        let a = attempts(s, i);
        if a > 0 {
            match s.engine.stage(i).filter(|_| st.is_running()) {
                Some(stage) => line.push_str(&format!("  [attempt {a}, {stage}]")),
                None => line.push_str(&format!("  [attempt {a}]")),
            }
        }
        let used = Totals::of_task(s, s.id(i));
        if used.steps > 0 {
            let cost = if used.unpriced == used.steps { "$?".to_owned() } else { format!("${:.4}", used.cost_usd) };
            line.push_str(&format!("  {} tokens, {cost}", thousands(used.usage.total())));
        }
        match st {
            TaskState::Blocked { reason } | TaskState::Rework { reason, .. } => {
                line.push_str(&format!(
                    "\n  {:<11} {}",
                    "",
                    reason_text(reason, "              ", verbosity == Verbosity::Verbose)
                ));
            }
            _ => {
                if let Some(b) = s.engine.blocked_upstream(i) {
                    line.push_str(&format!("  (waiting behind blocked {})", s.id(b)));
                }
                if let Some(w) = waits_for_commit(s, i) {
                    line.push_str(&format!("\n  {:<11} waits for your commit in `{w}`; then `planrun continue`", ""));
                }
            }
        }
        let _ = writeln!(out, "{line}");
    }
    if !kept.is_empty() {
        let _ = writeln!(out, "\nkept work (no branch had it; `planrun gc` lists it, `planrun gc --yes` removes it):");
        for k in &kept {
            let _ = writeln!(out, "  {:<11} {}", k.task, k.line());
        }
    }
    let _ = writeln!(out, "\n{}", sum.line);
    if let Some(line) = costs.total.used.line() {
        let _ = writeln!(out, "used {line}");
        if let Some(stages) = costs.stage_line() {
            let _ = writeln!(out, "  by stage: {stages}");
        }
        if let Some(agents) = costs.agent_line() {
            let _ = writeln!(out, "  by agent: {agents}");
        }
    }
    out
}

/// Where task `i`'s passed work waits for the user's commit (`--commit manual` in worktree
/// mode), if it does.
pub(crate) fn waits_for_commit(s: &Session, i: usize) -> Option<String> {
    let st = s.engine.state(i)?;
    let attempt = st.attempt()?;
    let merging = st.is_running() && s.engine.stage(i) == Some(planrun_engine::Stage::Merge);
    (merging && s.holds.get(s.id(i)) == Some(&attempt)).then(|| {
        let path = s.layout.dir.join("worktrees").join(s.id(i));
        path.strip_prefix(&s.layout.workspace).unwrap_or(&path).display().to_string()
    })
}

/// What the user asks of one task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserAction {
    /// Run it again (with `--note`, the user's instructions go into its next prompts).
    Retry,
    /// Go on without it: its dependents start as if it were done.
    Skip,
    /// Its work was fixed by hand: run only its last attempt's checks and reviews again.
    Review,
}

impl UserAction {
    fn name(self) -> &'static str {
        match self {
            UserAction::Retry => "retry",
            UserAction::Skip => "skip",
            UserAction::Review => "review",
        }
    }
}

/// `retry`, `skip` and `review`: one user input through the engine, journaled under the run
/// lock; the run it belongs to acts on it when it resumes.
pub fn user_action(args: &TaskOptions, what: UserAction, console: &mut Console<'_>) -> Result<u8, Error> {
    let layout = match &args.plan {
        Some(p) => Layout::for_plan(p, args.state.state_dir.as_deref()),
        None => Layout::from_cwd(args.state.state_dir.as_deref()),
    };
    let action = what.name();
    // Before the first run: with the plan named, the state directory is created so that the
    // first run finds the choice; without it there is no plan to find the task in.
    if !layout.exists() {
        if args.plan.is_none() {
            return Err(Error::NoPlanForTask { dir: layout.dir.clone(), task: args.task.clone(), action });
        }
        layout.create().map_err(|source| Error::CreateForTask { dir: layout.dir.clone(), source })?;
    }
    let _lock = match layout.lock() {
        Ok(l) => l,
        Err(source @ super::layout::LockError::Held { .. }) => return Err(Error::BusyForTask { action, source }),
        Err(source) => return Err(Error::Lock { dir: layout.dir.clone(), source }),
    };
    let open = OpenArgs {
        plan: args.plan.clone(),
        format: None,
        state_dir: args.state.state_dir.clone(),
        create: args.plan.is_some(),
        limit: None,
        max_rework: 3,
    };
    let mut s = Session::open(&open)?;
    let task = s.find(&args.task).map_err(Error::NoSuchTask)?;
    let before = s.engine.state(task).map_or("pending", TaskState::name);
    let input = match what {
        UserAction::Skip => Input::Skip { task },
        UserAction::Retry => Input::Retry { task },
        UserAction::Review => {
            // The stages the run gives this task: those it recorded, and verify when the task
            // or the plan has commands.
            let recorded = s.first_run.as_ref().map(|r| r.stages.clone()).unwrap_or_default();
            let mut stages: Vec<planrun_engine::Stage> =
                planrun_engine::Stage::ALL.into_iter().filter(|st| recorded.iter().any(|r| r == st.name())).collect();
            let has_verify = s.task(task).is_some_and(|t| !t.verify.is_empty()) || !s.loaded.plan.verify.is_empty();
            if has_verify {
                stages.push(planrun_engine::Stage::Verify);
            }
            s.engine.set_stages(task, stages);
            Input::Review { task }
        }
    };
    let out = match s.engine.handle(input) {
        Ok(o) => o,
        Err(_) => return Err(Error::WrongState { task: args.task.clone(), state: before, action }),
    };
    let note = args.note.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned);
    let record: [super::session::Record; 1] =
        [(Some(args.task.clone()), JournalEvent::User(UserRecord { action: action.to_owned(), note: note.clone() }))];
    // Only the user's change itself (and a final check it invalidates) is kept: what starts
    // next is decided by the run when it resumes, and recorded there.
    let changes: Vec<_> = out
        .changes
        .into_iter()
        .filter(|c| match c {
            planrun_engine::Change::Task { task: t, transition } => {
                use planrun_engine::Transition as T;
                *t == task && matches!(transition, T::Retry | T::Skip | T::Review { .. } | T::Advance { .. })
            }
            planrun_engine::Change::FinalCheck { .. } => true,
        })
        .collect();
    s.commit(&record, &changes).map_err(Error::JournalWrite)?;
    let id = &args.task;
    console.println(&match what {
        UserAction::Skip => {
            format!("skipped {id}: its dependents will go on as if it were done; `planrun continue` goes on with the run")
        }
        UserAction::Retry if note.is_some() => format!(
            "{id} will run again (it was {before}), with your note in its prompt; `planrun continue` goes on with the run"
        ),
        UserAction::Retry => format!("{id} will run again (it was {before}); `planrun continue` goes on with the run"),
        UserAction::Review => format!(
            "{id}'s checks and reviews will run again on its work as it is now, without the agent; `planrun continue` goes on with the run"
        ),
    });
    Ok(exit::OK)
}

pub fn log(args: &LogOptions, console: &mut Console<'_>) -> Result<u8, Error> {
    let (s, task) = open_task(&args.task)?;
    if args.json {
        console.println(&log_json(&s, task, args.attempt).to_string());
        return Ok(exit::OK);
    }
    if args.follow {
        return follow::follow(args, s, task, console.out());
    }
    let id = s.id(task).to_owned();
    let state = s.engine.state(task).cloned().unwrap_or(TaskState::Pending);
    let out = console.out();
    let _ = writeln!(out, "{}", log_title(&s, task));
    let records: Vec<_> = s
        .steps
        .get(&id)
        .map(|r| r.iter().filter(|x| args.attempt.is_none_or(|a| x.attempt == a)).collect())
        .unwrap_or_default();
    if records.is_empty() && !state.is_running() {
        let _ = writeln!(out, "no attempt recorded yet");
        return Ok(exit::OK);
    }
    for r in records {
        let _ = write!(out, "{}", step_text(&s, &id, r));
        for log in step_logs(&s, &id, r.attempt, &r.step) {
            let _ = writeln!(out, "   log: {}", log.display());
            if !args.summary {
                let _ = out.flush();
                copy_file(&log, out);
            }
        }
    }
    if let Some((a, step)) = running_step(&s, task) {
        let _ = writeln!(out, "\n── attempt {a} · {step} · running");
        let log = s.layout.attempt_log(&id, a, step);
        let _ = writeln!(out, "   log: {}", log.display());
        if !args.summary {
            copy_file(&log, out);
        }
    }
    Ok(exit::OK)
}

/// `task ID: TITLE (STATE)`, the first line of `planrun log`.
pub(crate) fn log_title(s: &Session, task: usize) -> String {
    let state = s.engine.state(task).map_or("pending", TaskState::name);
    format!("task {}: {} ({state})", s.id(task), s.task(task).map_or("", |t| t.title.as_str()))
}

/// The attempt and step a task is running, if it is.
pub(crate) fn running_step(s: &Session, task: usize) -> Option<(u32, &'static str)> {
    let state = s.engine.state(task)?;
    let a = state.attempt().filter(|_| state.is_running())?;
    let step = match state {
        TaskState::InReview { .. } => s.engine.stage(task).map_or("verify", planrun_engine::Stage::name),
        _ => "implement",
    };
    Some((a, step))
}

/// The log files of a step that exist (the reviews side by side each have their own). Their
/// place follows the state directory, which may have moved with the repository.
pub(crate) fn step_logs(s: &Session, id: &str, attempt: u32, step: &str) -> Vec<std::path::PathBuf> {
    let names: Vec<&str> = match step {
        "review" => vec!["task-review", "code-review", "review"],
        other => vec![other],
    };
    names.into_iter().map(|n| s.layout.attempt_log(id, attempt, n)).filter(|p| p.is_file()).collect()
}

/// A recorded step for people: how it ended, the agent's run, what the stage found.
pub(crate) fn step_text(s: &Session, id: &str, r: &super::session::StepRecord) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let verdict = if r.ok { "passed".to_owned() } else { r.summary.clone() };
    let secs = r.elapsed_ms as f64 / 1000.0;
    let _ = writeln!(out, "\n── attempt {} · {} · {secs:.1}s · {verdict}", r.attempt, r.step);
    if r.step == "implement" {
        let _ = writeln!(out, "   prompt: {}", s.layout.prompt(id, r.attempt).display());
    }
    if let Some(a) = &r.agent {
        let model = a.model.as_deref().map(|m| format!(" ({m})")).unwrap_or_default();
        let session = match (&a.session, a.resumed) {
            (Some(sid), true) => format!(", resumed session {sid}"),
            (Some(sid), false) => format!(", session {sid}"),
            (None, _) => String::new(),
        };
        let cost = dollars(a.cost_usd, &a.cost_source);
        let _ = writeln!(out, "   agent: {}{model}{session}, {}, {cost}", a.agent, tokens(&a.usage));
    }
    for line in r.detail.as_ref().map(|d| detail_lines(&r.step, d)).unwrap_or_default() {
        let _ = writeln!(out, "   {line}");
    }
    out
}

/// `planrun log --json`'s object: the task, the step running now, and every recorded step (of
/// `attempt`, when given) with its log files.
pub(crate) fn log_json(s: &Session, task: usize, attempt: Option<u32>) -> serde_json::Value {
    let id = s.id(task);
    let steps: Vec<serde_json::Value> = s
        .steps
        .get(id)
        .into_iter()
        .flatten()
        .filter(|r| attempt.is_none_or(|a| r.attempt == a))
        .map(|r| {
            let logs: Vec<String> =
                step_logs(s, id, r.attempt, &r.step).iter().map(|p| p.display().to_string()).collect();
            json!({
                "attempt": r.attempt,
                "step": r.step,
                "ok": r.ok,
                "summary": r.summary,
                "elapsed_ms": r.elapsed_ms,
                "ended_ms": r.ended_ms,
                "logs": logs,
                "prompt": (r.step == "implement").then(|| s.layout.prompt(id, r.attempt).display().to_string()),
                "agent": r.agent.as_ref().map(super::session::AgentRecord::to_json),
                "detail": r.detail,
            })
        })
        .collect();
    let running = running_step(s, task).map(
        |(a, step)| json!({"attempt": a, "step": step, "log": s.layout.attempt_log(id, a, step).display().to_string()}),
    );
    json!({
        "task": id,
        "title": s.task(task).map_or("", |t| t.title.as_str()),
        "state": s.engine.state(task).map_or("pending", TaskState::name),
        "running": running,
        "steps": steps,
    })
}

/// What a stage found, as lines for `planrun log`.
fn detail_lines(step: &str, d: &super::journal_event::StepDetail) -> Vec<String> {
    let list = |l: &Option<Vec<String>>| l.clone().unwrap_or_default();
    let mut lines = Vec::new();
    match step {
        "scope" => {
            lines.push(format!("changed: {}", list(&d.changed).join(", ")));
            let outside = list(&d.outside);
            if !outside.is_empty() {
                lines.push(format!("outside the task's files: {}", outside.join(", ")));
            }
        }
        "verify" => {
            if let (Some(p), Some(n)) = (d.passed, d.checks) {
                lines.push(format!("checks passed: {p}/{n}"));
            }
        }
        "review" | "test" => {
            for r in d.reviews.iter().flatten() {
                lines.push(format!("{}: {}", r.review, r.outcome()));
                for f in &r.findings {
                    let sev = match f.severity {
                        planrun_agents::verdict::Severity::Blocking => "blocking",
                        planrun_agents::verdict::Severity::Advisory => "advisory",
                    };
                    let file = f.file.as_deref().unwrap_or("");
                    lines.push(format!("  {sev}: {file}{}{}", if file.is_empty() { "" } else { ": " }, f.message));
                }
            }
        }
        "commit" => lines.push(format!("commit: {}", d.commit.as_deref().unwrap_or("nothing to commit"))),
        "merge" => {
            let into = d.into.as_deref().unwrap_or("");
            if let Some(c) = &d.merged {
                lines.push(format!("merged {c} onto {into}"));
            }
            let conflict = list(&d.conflict);
            if !conflict.is_empty() {
                lines.push(format!("conflict with {into} in {}", conflict.join(", ")));
            }
        }
        _ => {}
    }
    lines
}

/// Streams a log to stdout (logs may be gigabytes; they are never read into memory whole).
pub(crate) fn copy_file(path: &std::path::Path, out: &mut dyn std::io::Write) {
    match std::fs::File::open(path) {
        Ok(mut f) => {
            let _ = std::io::copy(&mut f, out);
        }
        Err(e) => {
            let _ = writeln!(out, "   (cannot read it: {e})");
        }
    }
}
