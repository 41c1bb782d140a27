//! `planrun explain TASK`: the escalation report of a task that did not get through, for the
//! person who has to decide what happens next: what the task required, what each attempt
//! produced and which gate rejected it and why (in full, from the journal), and a
//! recommendation drawn from how the attempts failed. Also written for every blocked task to
//! `.planrun/runs/ID/escalations/TASK.md` at the end of a run. Reads only.

use super::journal_event::{Entry, JournalEvent, decode_all};
use super::session::Session;
use super::totals::{Totals, dollars, tokens};
use planrun_engine::{TaskState, Transition};
use serde_json::{Value, json};
use std::fmt::Write as _;

/// `planrun explain TASK [--json]`.
pub fn explain(
    args: &crate::options::ExplainOptions,
    console: &mut crate::console::Console<'_>,
) -> Result<u8, crate::Error> {
    let (s, task) = super::session::open_task(&args.task)?;
    let events = match s.journal.as_ref().map(|j| j.events_after(0)) {
        Some(Ok(e)) => decode_all(&e),
        Some(Err(e)) => return Err(crate::Error::JournalRead(e)),
        None => Vec::new(),
    };
    let (text, json) = report(&s, task, &events);
    if args.json {
        console.println(&json.to_string());
    } else {
        console.print(&text);
    }
    Ok(crate::exit::OK)
}

/// One rejected (or interrupted) attempt, from the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rejection {
    attempt: u32,
    gate: String,
    reason: String,
    interrupted: bool,
}

/// Every rejection of `task`, in order: the reasons of its `fail` and `interrupt` changes,
/// matched with the failing step of the same attempt.
fn rejections(s: &Session, id: &str, events: &[Entry]) -> Vec<Rejection> {
    let steps = s.steps.get(id).map(Vec::as_slice).unwrap_or_default();
    let mut attempt = 0u32;
    let mut out = Vec::new();
    for e in events.iter().filter(|e| e.task.as_deref() == Some(id)) {
        let JournalEvent::Change(t) = &e.event else { continue };
        match t {
            Transition::Start => attempt += 1,
            Transition::Fail { reason } | Transition::Interrupt { reason } => {
                let interrupted = matches!(t, Transition::Interrupt { .. });
                let reason = reason.clone();
                let gate = steps
                    .iter()
                    .rev()
                    .find(|r| r.attempt == attempt && !r.ok)
                    .map_or("planrun".to_owned(), |r| r.step.clone());
                out.push(Rejection { attempt, gate, reason, interrupted });
            }
            Transition::Retry => {}
            _ => {}
        }
    }
    out
}

/// What to do, from how the attempts failed.
fn recommend(rejections: &[Rejection], verify: &[String]) -> String {
    let failed: Vec<&Rejection> = rejections.iter().filter(|r| !r.interrupted).collect();
    let Some(last) = failed.last() else {
        return "nothing rejected this task yet; run the plan again to continue it".into();
    };
    let first_line = |r: &Rejection| r.reason.lines().next().unwrap_or("").to_owned();
    let same = failed.len() > 1 && failed.iter().all(|r| first_line(r) == first_line(last));
    let reason = &last.reason;
    if reason.contains("exited with code 127") || reason.contains("not found") && last.gate == "verify" {
        return "a check's program is missing (exit code 127): install it, or fix the verify command in the plan, \
                then `planrun retry TASK`"
            .into();
    }
    if reason.contains("longer than its limit") {
        return "the agent ran out of time: give it more with --timeout, or split the task into smaller ones, then \
                `planrun retry TASK`"
            .into();
    }
    if reason.contains("printed nothing for") {
        return "the agent went silent (a hung model stream or a command waiting for input): check the log with \
                `planrun log TASK`, raise --stall-timeout if it was working, then `planrun retry TASK`"
            .into();
    }
    if reason.contains("could not be started") || reason.contains("was not found") {
        return "the agent could not run at all: check `planrun doctor`, then `planrun retry TASK`".into();
    }
    if last.gate == "verify" && same {
        let checks = if verify.is_empty() { String::new() } else { format!(" (`{}`)", verify.join("`, `")) };
        return format!(
            "the same check failed on every attempt{checks}: run it yourself to see whether the task or the check \
             is wrong; add instructions to the task or fix the check, then `planrun retry TASK`"
        );
    }
    if last.gate == "verify" && failed.len() == 1 {
        let checks = if verify.is_empty() { String::new() } else { format!(" (`{}`)", verify.join("`, `")) };
        return format!(
            "the check failed{checks}: read its output with `planrun log TASK`, run it yourself to see whether the \
             task or the check is wrong, add instructions to the task or fix the check, then `planrun retry TASK`"
        );
    }
    if last.gate == "scope" {
        return "the agent changed files outside the task's `Files:` (listed above): if the task truly needs them, \
                add them to its files (or split the work into another task); otherwise tell it in the task's \
                instructions to leave them alone; `--scope warn` only reports such changes; then `planrun retry TASK`"
            .into();
    }
    if last.gate == "review" || last.gate == "test" {
        return "the reviewers kept finding blocking problems (listed above; `planrun log TASK` has each verdict): if \
                they ask for more than the task does, sharpen its description and acceptance criteria; if the \
                implementer cannot meet them, split the task; then `planrun retry TASK`"
            .into();
    }
    if last.gate == "merge" {
        return "the task's changes conflict with, or break after, work merged before it: make one task depend on the \
                other (`Depends on:`) or give them separate files, then `planrun retry TASK`"
            .into();
    }
    if last.gate == "implement" {
        return "the agent itself failed: read its output with `planrun log TASK`; if the task is too large for one \
                attempt, split it; then `planrun retry TASK`"
            .into();
    }
    "the attempts failed in different ways: read them with `planrun log TASK`, narrow the task (its files, its \
     acceptance criteria, instructions), then `planrun retry TASK`"
        .into()
}

/// The report as text and as JSON.
pub(crate) fn report(s: &Session, task: usize, events: &[Entry]) -> (String, Value) {
    let id = s.id(task).to_owned();
    let t = s.task(task);
    let state = s.engine.state(task).cloned().unwrap_or(TaskState::Pending);
    let rej = rejections(s, &id, events);
    let verify: Vec<String> = t.map(|t| t.verify.clone()).unwrap_or_default();
    let advice = match &state {
        TaskState::Done => {
            if rej.iter().any(|r| !r.interrupted) {
                "nothing to do: the task is done (the rejected attempts above came before the one that passed)".into()
            } else {
                "nothing to do: the task is done".into()
            }
        }
        TaskState::Skipped => format!(
            "nothing to do: the task was skipped and its dependents went on; `planrun retry {id}` runs it on the next run"
        ),
        TaskState::InProgress { .. } | TaskState::InReview { .. } => {
            format!("the task is running now: `planrun log {id}` shows its attempts")
        }
        _ => recommend(&rej, &verify).replace("TASK", &id),
    };
    let mut text = String::new();
    let title = t.map_or("", |t| t.title.as_str());
    let _ = writeln!(text, "# Task {id}: {title} ({})\n", state.name().replace('_', " "));
    if let TaskState::Blocked { reason } = &state {
        let _ = writeln!(text, "Blocked: {}\n", reason.lines().next().unwrap_or(""));
    }
    let _ = writeln!(text, "## What it required\n");
    if let Some(t) = t {
        if !t.description.trim().is_empty() {
            let _ = writeln!(text, "{}\n", t.description.trim());
        }
        if !t.files.is_empty() {
            let _ =
                writeln!(text, "Files: {}", t.files.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", "));
        }
        for a in &t.acceptance {
            let _ = writeln!(text, "- [ ] {a}");
        }
        for v in t.verify.iter().chain(&s.loaded.plan.verify) {
            let _ = writeln!(text, "- check: `{v}`");
        }
    }
    let _ = writeln!(text, "\n## What was produced, and what rejected it\n");
    let steps = s.steps.get(&id).map(Vec::as_slice).unwrap_or_default();
    let attempts = steps.iter().map(|r| r.attempt).max().unwrap_or(0);
    if attempts == 0 {
        let _ = writeln!(text, "No attempt has run yet.");
    }
    for n in 1..=attempts {
        let _ = writeln!(text, "### Attempt {n}\n");
        for r in steps.iter().filter(|r| r.attempt == n) {
            let verdict = if r.ok { "passed".to_owned() } else { r.summary.clone() };
            let _ = write!(text, "- {}: {verdict}", r.step);
            if let Some(a) = &r.agent {
                let _ = write!(text, " ({}, {}, {})", a.agent, tokens(&a.usage), dollars(a.cost_usd, &a.cost_source));
            }
            let _ = writeln!(text);
        }
        for r in rej.iter().filter(|r| r.attempt == n) {
            let what = if r.interrupted { "interrupted" } else { "rejected by" };
            let _ = writeln!(
                text,
                "\n{what} {}:\n\n```text\n{}\n```\n",
                r.gate,
                r.reason.trim_end().replace("```", "` ` `")
            );
        }
        let _ = writeln!(text, "Log: `planrun log {id} --attempt {n}`\n");
    }
    let used = Totals::of_task(s, &id);
    if let Some(line) = used.line() {
        let _ = writeln!(text, "Used {line}.\n");
    }
    let kept = super::kept::of_task(s, &id);
    if !kept.is_empty() {
        let _ = writeln!(text, "## Kept work\n");
        let _ =
            writeln!(text, "Work of this task that no branch had, kept before its worktree was removed or reset:\n");
        for k in &kept {
            let _ = writeln!(text, "- attempt {}: {}", k.label, k.line());
        }
        let _ = writeln!(
            text,
            "\nTake it back with `git checkout REF -- .` (or `git cherry-pick REF`); `planrun gc --yes` removes it.\n"
        );
    }
    let _ = writeln!(text, "## Recommendation\n\n{advice}");
    let json = json!({
        "task": id,
        "title": title,
        "state": state.name(),
        "required": {
            "description": t.map(|t| t.description.clone()),
            "files": t.map(|t| t.files.clone()),
            "acceptance": t.map(|t| t.acceptance.clone()),
            "checks": verify,
        },
        "rejections": rej.iter().map(|r| json!({"attempt": r.attempt, "gate": r.gate, "reason": r.reason, "interrupted": r.interrupted})).collect::<Vec<_>>(),
        "usage": used.to_json(),
        "kept": kept.iter().map(super::kept::KeptWork::to_json).collect::<Vec<_>>(),
        "recommendation": advice,
    });
    (text, json)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rej(gate: &str, reason: &str) -> Rejection {
        Rejection { attempt: 1, gate: gate.into(), reason: reason.into(), interrupted: false }
    }

    #[test]
    fn recommendations_follow_the_failures() {
        let same = [
            rej("verify", "the check `cargo test` exited with code 1"),
            rej("verify", "the check `cargo test` exited with code 1"),
        ];
        assert!(
            recommend(&same, &["cargo test".into()]).contains("the same check failed on every attempt (`cargo test`)")
        );
        assert!(recommend(&[rej("verify", "the check `x` exited with code 127")], &[]).contains("missing"));
        assert!(
            recommend(&[rej("implement", "the agent ran longer than its limit of 30m")], &[]).contains("--timeout")
        );
        assert!(recommend(&[rej("implement", "the agent printed nothing for 10m")], &[]).contains("--stall-timeout"));
        assert!(
            recommend(&[rej("implement", "the agent exited with code 2")], &[]).contains("the agent itself failed")
        );
        assert!(recommend(&[], &[]).contains("nothing rejected"));
        assert!(
            recommend(&[rej("verify", "the check `x` exited with code 1")], &["x".into()])
                .contains("the check failed (`x`)")
        );
        let mixed =
            [rej("implement", "the agent exited with code 1"), rej("verify", "the check `x` exited with code 1")];
        assert!(recommend(&mixed, &[]).contains("failed in different ways"));
        assert!(
            recommend(&[rej("scope", "the scope check found 1 changed file outside")], &[]).contains("--scope warn")
        );
        assert!(
            recommend(&[rej("review", "The reviewers found blocking problems")], &[]).contains("acceptance criteria")
        );
        assert!(recommend(&[rej("merge", "merging onto `x` conflicted in a.txt")], &[]).contains("Depends on:"));
    }
}
