//! The run's reports, written at the end of every `planrun run` into
//! `.planrun/runs/<id>/`: `summary.md` (the outcome, each task's state, attempts, tokens,
//! dollars and why it is blocked, then the costs by stage and by agent beside the budget and
//! the estimate, from `costs.rs`) and `junit.xml` (one test case per task and per task's
//! checks, and one for the final check), both replaced atomically, and for every blocked task
//! its escalation report in `escalations/TASK.md` (see `explain.rs`). The id is when the run's
//! first invocation started (UTC), so a resumed run keeps its folder. Reads the session only.

use super::session::Session;
use super::totals::Totals;
use super::views::summary;
use planrun_engine::{FinalCheck, TaskState};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Writes `summary.md` and `junit.xml` for the run; returns the summary's path.
pub(crate) fn write(s: &Session, id: &str, outcome: &str) -> std::io::Result<PathBuf> {
    let dir = s.layout.dir.join("runs").join(id);
    std::fs::create_dir_all(&dir)?;
    let summary_path = dir.join("summary.md");
    replace(&summary_path, &summary_md(s, id, outcome))?;
    replace(&dir.join("junit.xml"), &junit(s))?;
    // An escalation report for every blocked task.
    let blocked: Vec<usize> = s
        .engine
        .states()
        .iter()
        .enumerate()
        .filter(|(_, st)| matches!(st, TaskState::Blocked { .. }))
        .map(|(i, _)| i)
        .collect();
    if !blocked.is_empty() {
        let events = s.journal.as_ref().and_then(|j| j.events_after(0).ok()).unwrap_or_default();
        let esc = dir.join("escalations");
        std::fs::create_dir_all(&esc)?;
        for t in blocked {
            let (text, _) = super::explain::report(s, t, &super::journal_event::decode_all(&events));
            replace(&esc.join(format!("{}.md", s.id(t))), &text)?;
        }
    }
    Ok(summary_path)
}

/// What one task's last attempt amounted to: the step report written after each task.
#[derive(Debug, Default)]
pub(crate) struct TaskReport {
    /// Whether a scope step looked at the task's changes (not outside git, nor with
    /// `--scope off`): without one, `files` says nothing.
    pub(crate) scoped: bool,
    pub(crate) files: Vec<String>,
    pub(crate) outside: Vec<String>,
    pub(crate) blocking: usize,
    pub(crate) advisory: Vec<String>,
    /// Checks passed of checks run (verify, then again after a rebase).
    pub(crate) checks: Option<(u64, u64)>,
    pub(crate) git: Option<String>,
    pub(crate) attempts: u32,
}

impl TaskReport {
    /// Read from the task's step records (the last attempt's stages).
    pub(crate) fn of(s: &Session, id: &str) -> Self {
        let mut r = TaskReport::default();
        let records = s.steps.get(id).map(Vec::as_slice).unwrap_or_default();
        r.attempts = records.iter().map(|x| x.attempt).max().unwrap_or(0);
        let last = records.iter().filter(|x| x.attempt == r.attempts);
        for step in last {
            let Some(d) = &step.detail else { continue };
            match step.step.as_str() {
                "scope" => {
                    r.scoped = true;
                    r.files = d.changed.clone().unwrap_or_default();
                    r.outside = d.outside.clone().unwrap_or_default();
                }
                "verify" | "merge" => {
                    if let (Some(n), Some(p)) = (d.checks, d.passed) {
                        r.checks = Some((p, n));
                    }
                    if let Some(c) = &d.merged {
                        let into = d.into.as_deref().unwrap_or("");
                        r.git = Some(format!("merged {} onto {into}", c.get(..10).unwrap_or(c)));
                    }
                }
                "review" | "test" => {
                    for review in d.reviews.iter().flatten() {
                        for f in &review.findings {
                            match f.severity {
                                planrun_agents::verdict::Severity::Blocking => r.blocking += 1,
                                planrun_agents::verdict::Severity::Advisory => r.advisory.push(format!(
                                    "[{}] {}: {}",
                                    review.review,
                                    f.file.as_deref().unwrap_or(""),
                                    f.message
                                )),
                            }
                        }
                    }
                }
                "commit" => {
                    if let Some(c) = &d.commit {
                        if r.git.is_none() {
                            r.git = Some(format!("committed {}", c.get(..10).unwrap_or(c)));
                        }
                    }
                }
                _ => {}
            }
        }
        r
    }

    /// One line: `3 files, checks 2/2, 0 blocking / 1 advisory, merged … onto …`.
    pub(crate) fn line(&self) -> String {
        let mut parts = vec![if self.scoped {
            format!("{} file{} changed", self.files.len(), if self.files.len() == 1 { "" } else { "s" })
        } else {
            "changed files not tracked (no scope check: not a git repository, or --scope off)".to_owned()
        }];
        if !self.outside.is_empty() {
            parts.push(format!("{} outside its files", self.outside.len()));
        }
        if let Some((p, n)) = self.checks {
            parts.push(format!("checks {p}/{n}"));
        }
        parts.push(format!("{} blocking / {} advisory", self.blocking, self.advisory.len()));
        parts.push(self.git.clone().unwrap_or_else(|| "not committed".into()));
        parts.join(", ")
    }
}

/// Writes `runs/ID/tasks/TASK.md`, the step report of a finished task; returns its path.
/// `windows`: each usage window's fill at the task's start and end.
pub(crate) fn write_task(
    s: &Session,
    run: &str,
    task: usize,
    windows: &[String],
) -> std::io::Result<(PathBuf, String)> {
    let id = s.id(task);
    let r = TaskReport::of(s, id);
    let used = Totals::of_task(s, id);
    let mut out = String::new();
    let title = s.task(task).map_or("", |t| t.title.as_str());
    let _ = writeln!(
        out,
        "# Task {id}: {title}
"
    );
    let state = s.engine.state(task).map_or("?", TaskState::name);
    let _ = writeln!(out, "- state: {state} after {} attempt{}", r.attempts, if r.attempts == 1 { "" } else { "s" });
    let _ = writeln!(out, "- git: {}", r.git.as_deref().unwrap_or("not committed"));
    if let Some((p, n)) = r.checks {
        let _ = writeln!(out, "- checks passed: {p}/{n}");
    }
    let _ = writeln!(out, "- findings: {} blocking, {} advisory", r.blocking, r.advisory.len());
    if let Some(line) = used.line() {
        let _ = writeln!(out, "- used {line}");
    }
    for w in windows {
        let _ = writeln!(out, "- usage window {w}");
    }
    let _ = writeln!(
        out,
        "
## Files changed
"
    );
    if !r.scoped {
        let _ = writeln!(out, "(not tracked: no scope check ran, outside a git repository or with --scope off)");
    } else if r.files.is_empty() {
        let _ = writeln!(out, "(none)");
    }
    for f in &r.files {
        let mark = if r.outside.contains(f) { " (outside the task's files)" } else { "" };
        let _ = writeln!(out, "- `{f}`{mark}");
    }
    if !r.advisory.is_empty() {
        let _ = writeln!(
            out,
            "
## Advisory findings
"
        );
        for a in &r.advisory {
            let _ = writeln!(out, "- {a}");
        }
    }
    let dir = s.layout.dir.join("runs").join(run).join("tasks");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{id}.md"));
    // Atomic, not synced: one per task, and the journal (synced) is what a rerun reads.
    super::layout::replace_atomically(&path, out.as_bytes())?;
    let mut line = r.line();
    if used.steps > 0 {
        line.push_str(&format!(
            ", {}, {}",
            super::totals::tokens(&used.usage),
            cost(&used).replace('?', "cost unknown")
        ));
    }
    Ok((path, line))
}

/// Replaces `path` with `text` atomically and durably (see `layout::replace_durably`).
fn replace(path: &Path, text: &str) -> std::io::Result<()> {
    super::layout::replace_durably(path, text.as_bytes())
}

fn cell(text: &str) -> String {
    text.lines().next().unwrap_or("").replace('|', "\\|")
}

fn cost(t: &Totals) -> String {
    super::costs::cost(t)
}

fn summary_md(s: &Session, id: &str, outcome: &str) -> String {
    let plan = &s.loaded.plan;
    let sum = summary(s);
    let mut out = String::new();
    let title = if plan.title.is_empty() { "plan" } else { plan.title.as_str() };
    let _ = writeln!(out, "# planrun run {id}: {title}\n");
    let _ = writeln!(out, "- plan: `{}` ({})", s.plan_path.display(), s.loaded.format.name());
    let _ = writeln!(out, "- outcome: {}", outcome.replace('_', " "));
    let _ = writeln!(out, "- {}", sum.line);
    if let Some(line) = Totals::of(s).line() {
        let _ = writeln!(out, "- used {line}");
    }
    let _ =
        writeln!(out, "\n| task | title | state | attempts | tokens | cost | note |\n|---|---|---|---:|---:|---:|---|");
    for (i, st) in s.engine.states().iter().enumerate() {
        let id = s.id(i);
        let t = Totals::of_task(s, id);
        let attempts = s.steps.get(id).and_then(|r| r.iter().map(|x| x.attempt).max()).unwrap_or(0);
        let note = match st {
            TaskState::Blocked { reason } | TaskState::Rework { reason, .. } => cell(reason),
            _ => s.engine.blocked_upstream(i).map(|b| format!("waiting behind {}", s.id(b))).unwrap_or_default(),
        };
        let tokens = if t.steps == 0 { String::new() } else { t.usage.total().to_string() };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {attempts} | {tokens} | {} | {note} |",
            cell(id),
            cell(s.task(i).map_or("", |t| t.title.as_str())),
            st.name(),
            cost(&t)
        );
    }
    if !sum.blocked_lines.is_empty() {
        let _ = writeln!(out, "\n## Blocked\n");
        for l in &sum.blocked_lines {
            let _ = writeln!(out, "- {l}");
        }
        let _ =
            writeln!(out, "\n`planrun log TASK` shows each attempt; after fixing, `planrun retry TASK` and run again.");
    }
    let kept = super::kept::of_run(s);
    if !kept.is_empty() {
        let _ = writeln!(out, "\n## Kept work\n");
        let _ = writeln!(out, "Work no branch had, kept before a worktree or branch was removed or reset:\n");
        for k in &kept {
            let _ = writeln!(out, "- {} (attempt {}): {}", cell(&k.task), k.label, k.line());
        }
        let _ = writeln!(out, "\nTake it back with `git checkout REF -- .`; `planrun gc --yes` removes it.");
    }
    out.push_str(&super::costs::summary_section(s, latest_run(s).as_ref()));
    out
}

/// The run's latest `run` record: read again from the journal when it is open (the session's
/// copy predates this invocation's own record), else the session's.
fn latest_run(s: &Session) -> Option<super::journal_event::RunRecord> {
    let recorded = s.journal.as_ref().and_then(|j| j.events_of(&["run"]).ok()).and_then(|events| {
        super::journal_event::decode_all(&events).into_iter().rev().find_map(|e| match e.event {
            super::journal_event::JournalEvent::Run(run) => Some(*run),
            _ => None,
        })
    });
    recorded.or_else(|| s.last_run.clone())
}

/// Text made safe for an XML attribute or element.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot hold at all.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

fn junit(s: &Session) -> String {
    let mut cases = String::new();
    let (mut tests, mut failures, mut skipped) = (0usize, 0usize, 0usize);
    let mut case = |name: &str, class: &str, secs: f64, result: Result<bool, &str>| {
        tests += 1;
        let _ = write!(cases, "    <testcase classname=\"{}\" name=\"{}\" time=\"{secs:.3}\"", xml(class), xml(name));
        match result {
            Ok(true) => cases.push_str("/>\n"),
            Ok(false) => {
                skipped += 1;
                cases.push_str("><skipped/></testcase>\n");
            }
            Err(reason) => {
                failures += 1;
                let first = reason.lines().next().unwrap_or("");
                let _ = writeln!(cases, "><failure message=\"{}\">{}</failure></testcase>", xml(first), xml(reason));
            }
        }
    };
    for (i, st) in s.engine.states().iter().enumerate() {
        let id = s.id(i);
        let title = s.task(i).map_or("", |t| t.title.as_str());
        let records = s.steps.get(id).map(Vec::as_slice).unwrap_or_default();
        let secs = records.iter().map(|r| r.elapsed_ms).sum::<u64>() as f64 / 1000.0;
        let name = format!("{id}: {title}");
        let result = match st {
            TaskState::Done => Ok(true),
            TaskState::Blocked { reason } => Err(reason.as_str()),
            TaskState::Skipped => Ok(false),
            _ => Err("not finished"),
        };
        case(
            &name,
            "planrun.task",
            secs,
            if matches!(st, TaskState::Pending | TaskState::Ready) { Ok(false) } else { result },
        );
        // The task's checks: its last verify step.
        if let Some(v) = records.iter().rev().find(|r| r.step == "verify") {
            let verdict = if v.ok { Ok(true) } else { Err(v.summary.as_str()) };
            case(&format!("{id}: checks"), "planrun.check", v.elapsed_ms as f64 / 1000.0, verdict);
        }
    }
    if !s.loaded.plan.verify.is_empty() {
        let result = match s.engine.final_check() {
            FinalCheck::Passed => Ok(true),
            FinalCheck::Failed { reason } => Err(reason.as_str()),
            FinalCheck::NotRun | FinalCheck::Running => Ok(false),
        };
        case("final check: the plan's verify commands", "planrun.final-check", 0.0, result);
    }
    let title = if s.loaded.plan.title.is_empty() { "plan" } else { s.loaded.plan.title.as_str() };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"planrun\" tests=\"{tests}\" failures=\"{failures}\" skipped=\"{skipped}\">\n  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" skipped=\"{skipped}\">\n{cases}  </testsuite>\n</testsuites>\n",
        xml(title)
    )
}

/// Where each task stands, for the plan's own status files: its state (the live ones included),
/// its attempts and rejected attempts, its log step by step, and when it passed.
pub(crate) fn status_reports(s: &Session) -> Vec<planrun_plan::status::TaskReport> {
    use planrun_plan::status::{LogEntry, TaskOutcome, TaskReport};
    let line = |text: &str| {
        let one = planrun_plan::model::one_line(text);
        let mut cut: String = one.chars().take(300).collect();
        if cut.len() < one.len() {
            cut.push('…');
        }
        cut
    };
    s.engine
        .states()
        .iter()
        .enumerate()
        .map(|(i, st)| {
            let id = s.id(i);
            let title = s.task(i).map_or("", |t| t.title.as_str());
            let records = s.steps.get(id).map(Vec::as_slice).unwrap_or_default();
            let recorded = records.iter().map(|r| r.attempt).max().unwrap_or(0);
            let rejected = {
                let mut a: Vec<u32> = records.iter().filter(|r| !r.ok).map(|r| r.attempt).collect();
                a.dedup();
                a.len() as u32
            };
            let (state, attempts, failures) = match st {
                TaskState::Done => (TaskOutcome::Done, recorded, rejected),
                TaskState::Blocked { reason } => (TaskOutcome::Blocked { reason: reason.clone() }, recorded, rejected),
                TaskState::Skipped => (TaskOutcome::Skipped, recorded, rejected),
                // An attempt after a rejection is the rework the seeds name: with its reason.
                TaskState::InProgress { attempt, failures } if *failures > 0 => {
                    let reason = records.iter().rev().find(|r| !r.ok).map_or_else(
                        || "an earlier attempt was rejected".to_owned(),
                        |r| format!("{} failed: {}", r.step, line(&r.summary)),
                    );
                    (TaskOutcome::Rework { reason }, *attempt, *failures)
                }
                TaskState::InProgress { attempt, failures } => (TaskOutcome::InProgress, *attempt, *failures),
                TaskState::InReview { attempt, failures } => (TaskOutcome::InReview, *attempt, *failures),
                TaskState::Rework { attempt, failures, reason } => {
                    (TaskOutcome::Rework { reason: reason.clone() }, *attempt, *failures)
                }
                TaskState::Pending | TaskState::Ready => (TaskOutcome::NotRun, recorded, rejected),
            };
            // The log: each attempt's selection, then its steps as they ended.
            let mut log: Vec<LogEntry> = Vec::new();
            let entry = |phase: &str, message: String| LogEntry { phase: phase.to_owned(), message };
            for attempt in 1..=attempts.max(recorded) {
                log.push(entry("REASON", format!("Selected: {} (attempt {attempt})", line(title))));
                for r in records.iter().filter(|r| r.attempt == attempt) {
                    let outcome = |what: &str| {
                        if r.ok { format!("✅ {what} passed") } else { format!("❌ {what}: {}", line(&r.summary)) }
                    };
                    let (phase, message) = match r.step.as_str() {
                        "implement" if r.ok => ("ACT", format!("implemented: {}", line(&r.summary))),
                        "implement" => ("ACT", format!("❌ the agent failed: {}", line(&r.summary))),
                        "verify" | "test" | "scope" => ("VERIFY", outcome(&r.step)),
                        step if step.ends_with("review") => ("REFLECT", outcome(step)),
                        step => ("REFLECT", outcome(step)),
                    };
                    log.push(entry(phase, message));
                }
            }
            let used = Totals::of_task(s, id);
            let mut summary = format!("Run by planrun: {} after {attempts} attempt(s)", st.name().replace('_', " "));
            if let Some(line) = used.line() {
                summary.push_str(&format!("; used {line}"));
            }
            summary.push('.');
            let completed_at = (*st == TaskState::Done)
                .then(|| records.iter().filter_map(|r| r.ended_ms).max())
                .flatten()
                .map(super::layout::utc);
            let details = (*st == TaskState::Done).then(|| task_details(records)).filter(|d| !d.is_empty());
            TaskReport {
                id: id.to_owned(),
                state,
                summary: Some(summary),
                attempts,
                failures,
                log,
                completed_at,
                details,
            }
        })
        .collect()
}

/// What a passed task's last attempt did, in markdown: the files it changed, its checks, each
/// review's verdict with its findings, its commit, and the agent's own closing words.
pub(crate) fn task_details(records: &[super::session::StepRecord]) -> String {
    use std::fmt::Write as _;
    let Some(last) = records.iter().map(|r| r.attempt).max() else { return String::new() };
    let steps: Vec<&super::session::StepRecord> = records.iter().filter(|r| r.attempt == last).collect();
    let detail = |step: &str| steps.iter().rev().find(|r| r.step == step).and_then(|r| r.detail.as_ref());
    let mut out = String::new();
    if let Some(changed) = detail("scope").and_then(|d| d.changed.as_ref()).filter(|c| !c.is_empty()) {
        out.push_str("## Files changed\n\n");
        for f in changed {
            let _ = writeln!(out, "- `{f}`");
        }
    }
    if let Some(d) = detail("verify") {
        if let (Some(n), Some(p)) = (d.checks, d.passed) {
            let _ = write!(out, "\n## Checks\n\n{p} of {n} passed (run by planrun).\n");
        }
    }
    let reviews: Vec<&super::journal_event::ReviewDetail> =
        ["test", "review"].iter().filter_map(|s| detail(s)).filter_map(|d| d.reviews.as_ref()).flatten().collect();
    if !reviews.is_empty() {
        out.push_str("\n## Reviews\n\n");
        for r in reviews {
            let verdict = r.verdict.map_or_else(|| "no verdict".to_owned(), |v| snake(&v));
            let _ = writeln!(out, "- {}: {verdict}", r.review);
            for f in &r.findings {
                let at = match (&f.file, f.line) {
                    (Some(file), Some(line)) => format!("{file}:{line}: "),
                    (Some(file), None) => format!("{file}: "),
                    _ => String::new(),
                };
                let _ = writeln!(out, "  - {}: {at}{}", snake(&f.severity), planrun_plan::model::one_line(&f.message));
            }
        }
    }
    if let Some(commit) = detail("commit").and_then(|d| d.commit.as_ref()) {
        let _ = write!(out, "\n## Commit\n\n{commit}\n");
    }
    if let Some(words) =
        steps.iter().find(|r| r.step == "implement" && r.ok).map(|r| r.summary.trim()).filter(|w| !w.is_empty())
    {
        let _ = write!(out, "\n## Notes from the agent\n\n{}\n", crate::prompt::keep_tail(words, 2048).trim());
    }
    out.trim().to_owned()
}

/// A unit enum's serde name (`changes_requested`).
fn snake(v: &impl serde::Serialize) -> String {
    serde_json::to_value(v).ok().and_then(|j| j.as_str().map(str::to_owned)).unwrap_or_default()
}

/// Writes back what the run did into the files the plan's own format keeps progress in
/// (`planrun_plan::status`): from a fresh read of the plan, so nothing a user changed meanwhile
/// is lost. Returns the files written.
pub(crate) fn status_files(s: &Session) -> Result<Vec<PathBuf>, String> {
    write_status_files(&s.plan_path, s.loaded.format, &status_reports(s), &super::layout::utc(crate::unix_ms()))
}

/// [`status_files`] from a snapshot of the reports: what the live writer runs off the
/// dispatcher's thread.
pub(crate) fn write_status_files(
    plan: &Path,
    format: planrun_plan::Format,
    reports: &[planrun_plan::status::TaskReport],
    now: &str,
) -> Result<Vec<PathBuf>, String> {
    use planrun_plan::status;
    let loaded = planrun_plan::load(plan, Some(format)).map_err(|e| e.to_string())?;
    let edits = status::edits_at(&loaded, reports, Some(now)).map_err(|e| e.to_string())?;
    // A file written meanwhile (an agent ticking its own box) is left to the next write.
    let (written, _later) = status::write_unchanged(&loaded, &edits).map_err(|e| e.to_string())?;
    Ok(written)
}

/// Every file the status writer may write for the plan at `plan`: its own files, and those a
/// run marking every task done would create. A shared tree's scope checks leave them out, since
/// planrun writes them while tasks run.
pub(crate) fn status_paths(s: &Session) -> Vec<PathBuf> {
    use planrun_plan::status::{self, TaskOutcome, TaskReport};
    let loaded = &s.loaded;
    let mut paths: Vec<PathBuf> = loaded.sources.ids().map(|id| loaded.sources.path(id).to_path_buf()).collect();
    let all: Vec<TaskReport> =
        loaded.plan.tasks.iter().map(|t| TaskReport::new(t.id.clone(), TaskOutcome::Done)).collect();
    if let Ok(edits) = status::edits(loaded, &all) {
        paths.extend(edits.into_iter().map(|e| e.path));
    }
    // The implementers' plans planrun keeps in the format's own place (uc's plan.md).
    paths.extend(loaded.plan_files.values().cloned());
    paths.sort();
    paths.dedup();
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes_everything_it_must() {
        assert_eq!(xml("a<b>&\"c'\u{1}"), "a&lt;b&gt;&amp;&quot;c&apos;\u{FFFD}");
    }
}
