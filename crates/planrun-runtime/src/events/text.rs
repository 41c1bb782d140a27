//! The human text of each run event (the progress line without `--json`), and the small
//! formatters it shares: durations, thousands, dollars.

use super::RunEvent;
use super::payload::{AgentUsage, Policy, StageStarted, TaskRef};
use serde_json::Value;
use std::time::Duration;

impl RunEvent {
    /// The stage-start event of `stage` (a stage's name), if it is one.
    pub(crate) fn stage_started(stage: &str, e: StageStarted) -> Option<Self> {
        Some(match stage {
            "scope" => Self::Scope(e),
            "test" => Self::Test(e),
            "verify" => Self::Verify(e),
            "review" => Self::Review(e),
            "commit" => Self::Commit(e),
            "merge" => Self::Merge(e),
            _ => return None,
        })
    }

    /// The line people read for this event.
    pub(crate) fn text(&self) -> String {
        match self {
            Self::Estimate(e) => format!("planrun: {}", e.text),
            Self::Started(s) | Self::Resumed(s) => format!(
                "planrun: {} {} ({} task{}, {} done, up to {} at once; state in {})",
                if matches!(self, Self::Resumed(_)) { "resuming" } else { "running" },
                s.plan,
                s.tasks,
                if s.tasks == 1 { "" } else { "s" },
                s.done,
                s.jobs,
                s.state_dir
            ),
            Self::OrphansStopped(o) => format!(
                "planrun: stopped {} process{} the previous run left running (pid {})",
                o.pids.len(),
                if o.pids.len() == 1 { "" } else { "es" },
                o.pids.iter().map(i32::to_string).collect::<Vec<_>>().join(", ")
            ),
            Self::ChangedAfterDone(TaskRef { task }) => format!(
                "planrun: task {task} is done, but its definition changed since; it will not run again unless you run `planrun retry {task}`"
            ),
            Self::Kept(k) => format!(
                "planrun: work no branch had was kept before its worktree was removed: {} ({}); `planrun gc` lists kept work",
                k.reference,
                short(&k.commit)
            ),
            Self::Start(s) | Self::Retry(s) => {
                let before = s.attempt.saturating_sub(1);
                let how = match (s.resumed, matches!(self, Self::Retry(_))) {
                    (true, _) => format!(", resuming its {} session with why attempt {before} was sent back", s.agent),
                    (false, true) => format!(", told why attempt {before} was sent back"),
                    (false, false) => String::new(),
                };
                let label = match &s.model {
                    Some(m) => format!("{} ({m})", s.agent),
                    None => s.agent.clone(),
                };
                format!("start    {} (attempt {}{how}; {label})", s.task, s.attempt)
            }
            Self::Waiting(w) => {
                format!("waiting  {}: {} is paused for {}s (its provider's rate limit)", w.task, w.agent, w.seconds)
            }
            Self::Scope(s) | Self::Test(s) | Self::Verify(s) | Self::Review(s) | Self::Commit(s) | Self::Merge(s) => {
                format!("{:<8} {} (attempt {})", s.stage, s.task, s.attempt)
            }
            Self::AgentUsage(u) => agent_line(u),
            Self::ScopeWarning(w) => format!(
                "scope    {}: changed outside its files (reported, --scope warn): {}",
                w.task,
                w.outside.join(", ")
            ),
            Self::Advisory(a) => {
                let f = &a.finding;
                let at = match (f.get("file").and_then(Value::as_str), f.get("line").and_then(Value::as_u64)) {
                    (Some(file), Some(line)) => format!("{file}:{line}: "),
                    (Some(file), None) => format!("{file}: "),
                    _ => String::new(),
                };
                let msg = f.get("message").and_then(Value::as_str).unwrap_or("");
                format!("advisory {} ({}): {at}{msg}", a.task, a.review)
            }
            Self::Committed(c) => format!("commit   {}: {}", c.task, short(&c.commit)),
            Self::Merged(m) => format!(
                "merge    {}: {} onto {}{}",
                m.task,
                short(&m.commit),
                m.into,
                if m.rebased { " (rebased, checks passed again)" } else { "" }
            ),
            Self::Done(TaskRef { task }) => format!("done     {task}"),
            Self::TaskReport(r) => format!("report   {}: {}\n         {}", r.task, r.summary, r.report),
            Self::Rework(r) => format!("rework   {}: {}", r.task, first(&r.reason)),
            Self::Interrupted(r) => format!("interrupted {}: {}", r.task, first(&r.reason)),
            Self::Blocked(r) => format!("blocked  {}: {}", r.task, first(&r.reason)),
            Self::Skipped(TaskRef { task }) => format!("skipped  {task}"),
            Self::Planning(TaskRef { task }) => {
                format!("plan     {task} (ahead, while a task it depends on is in review)")
            }
            Self::WaitingForCommit(w) => {
                let (shown, branch, into) = (&w.shown, &w.branch, &w.into);
                if w.again {
                    format!(
                        "waiting  {}: its worktree `{shown}` still holds uncommitted changes: commit what you accept there \
                         (`git -C {shown} add -A && git -C {shown} commit`) and discard the rest, then `planrun continue` merges \
                         your commits onto `{into}`",
                        w.task
                    )
                } else {
                    format!(
                        "waiting  {}: it passed its checks; its work is in `{shown}` on branch `{branch}`, not committed: \
                         inspect it, commit what you accept there (`git -C {shown} add -A && git -C {shown} commit`), then \
                         `planrun continue` merges your commits onto `{into}`",
                        w.task
                    )
                }
            }
            // The first line; what follows (the findings) is listed when the run ends.
            Self::Pausing(p) => format!("pausing  {}; starting nothing new", p.reason.lines().next().unwrap_or("")),
            Self::TaskBudget(b) => {
                format!("budget   {}: {}{}", b.task, b.reason, if b.stopping { "; stopping it" } else { "" })
            }
            Self::BudgetSoft(b) => format!("budget   {}: starting nothing new; the steps in flight finish", b.reason),
            Self::BudgetStop(r) | Self::WatchdogStop(r) => {
                format!("stopping {}; stopping every agent now", r.reason)
            }
            Self::NoProgress(n) => format!(
                "watchdog {} (running: {}); {}",
                n.reason,
                n.tasks.join(", "),
                match n.policy {
                    Policy::Retry => "running them again in fresh sessions",
                    Policy::Block => "blocking them",
                    Policy::Stop => "stopping the run",
                }
            ),
            Self::RepeatedFailure(r) => format!(
                "watchdog {} failed the same way twice in a row ({}); {}",
                r.task,
                first(&r.reason),
                match r.policy {
                    Policy::Retry => "its next attempt starts a fresh session",
                    Policy::Block => "blocking it",
                    Policy::Stop => "stopping the run",
                }
            ),
            Self::RateLimited(r) => format!(
                "paused   {} for {} ({}); {} runs again after; other agents go on",
                r.agent,
                human(Duration::from_millis(r.wait_ms)),
                first(&r.reason),
                r.task
            ),
            Self::ProviderError(r) | Self::AgentUnavailable(r) => {
                format!("stopped  {}: {}; starting nothing new", r.task, first(&r.reason))
            }
            Self::FinalCheck(_) => {
                "check    the final check: the plan's verify commands (else the project's own)".to_owned()
            }
            Self::FinalCheckPassed(_) => "passed   the final check".to_owned(),
            Self::FinalCheckFailed(r) => format!("failed   the final check: {}", first(&r.reason)),
            Self::Draining(d) => format!(
                "planrun: interrupted; starting nothing new, waiting up to {} for {} running step{} (Ctrl-C again to stop them now)",
                human(d.timeout),
                d.running,
                if d.running == 1 { "" } else { "s" }
            ),
            Self::Stopping(_) => "planrun: stopping every running step".to_owned(),
            Self::Finished(f) => f.summary.clone(),
        }
    }
}

/// One line about what an agent's run used: `agent    a: claude, 250 in / 30 out tokens, $0.0020`.
pub(super) fn agent_line(u: &AgentUsage) -> String {
    let a = &u.agent;
    let mut line = if u.step == "implement" {
        format!("agent    {}: {}", u.task, a.agent)
    } else {
        format!("agent    {} ({}): {}", u.task, u.step, a.agent)
    };
    if let Some(m) = &a.model {
        line.push_str(&format!(" ({m})"));
    }
    if a.resumed {
        line.push_str(", resumed its session");
    }
    line.push_str(&format!(", {}", a.usage.text()));
    line.push_str(&format!(", {}", dollars(a.cost_usd, &a.cost_source)));
    if !u.denied.is_empty() {
        line.push_str(&format!(", {} tool call(s) denied: {}", u.denied.len(), u.denied.join(", ")));
    }
    line
}

/// The first line of a reason.
pub(super) fn first(reason: &str) -> &str {
    reason.lines().next().unwrap_or("")
}

/// A commit's first ten characters.
pub(super) fn short(commit: &str) -> &str {
    commit.get(..10).unwrap_or(commit)
}

/// A duration the way people write it: `90s`, `5m`, `1h30m`, `250ms` (the engine's form, so the
/// policy's messages and the events read alike).
pub(crate) fn human(d: Duration) -> String {
    planrun_engine::policy::human_ms(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A count with thousands separators: `1,234,567`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Dollars in one phrase, saying where the figure came from.
pub(crate) fn dollars(cost: Option<f64>, source: &str) -> String {
    match (cost, source) {
        (Some(c), "priced") => format!("${c:.4} (from the price table)"),
        (Some(c), _) => format!("${c:.4}"),
        (None, _) => "cost unknown (no price for this model; add one under [prices] in planrun.toml)".to_owned(),
    }
}
