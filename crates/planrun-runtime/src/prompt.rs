//! The brief an agent gets for one attempt (the context package): the task, what done means,
//! what planrun will run to verify it, the plan's context, notes left by the tasks it depends on,
//! and on rework the failure that sent it back. Not the whole plan. Plain text assembled from the
//! plan and placed into a role's template; nothing here is ever handed to a shell.

use planrun_plan::model::{Plan, Task};

/// At most this much of a dependency's notes, or of a failure, goes into a prompt.
const NOTE_LIMIT: usize = 4096;

/// Cuts `text` to at most `limit` bytes at a character boundary, keeping the end (where test
/// failures and summaries usually are).
pub(crate) fn keep_tail(text: &str, limit: usize) -> &str {
    if text.len() <= limit {
        return text;
    }
    let mut start = text.len() - limit;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text.get(start..).unwrap_or("")
}

/// Notes left by one finished dependency.
#[derive(Debug)]
pub(crate) struct DepNote<'a> {
    pub(crate) task: &'a Task,
    pub(crate) state: &'static str,
    pub(crate) notes: Option<String>,
}

/// The failure that sent an attempt back, fenced so that nothing in it can close the fence.
pub(crate) fn fenced_feedback(feedback: &str) -> String {
    format!("```text\n{}\n```", keep_tail(feedback, NOTE_LIMIT).trim_end().replace("```", "` ` `"))
}

/// The context package of one attempt (the `{{brief}}` of a role's template): the task, the
/// files it may change, what done means, the checks, the plan's context, the notes of the tasks
/// it builds on, and on rework the failure.
pub(crate) fn brief(plan: &Plan, task: &Task, deps: &[DepNote<'_>], feedback: Option<&str>) -> String {
    let mut s = String::new();
    s.push_str(&format!("# Task {}: {}\n\n", task.id, task.title));
    if task.files.is_empty() {
        s.push_str("No files were declared for this task; keep your changes small and on topic.\n");
    } else {
        s.push_str("Change only these files:\n");
        for f in &task.files {
            s.push_str(&format!("- `{f}`\n"));
        }
    }
    if !task.description.is_empty() {
        s.push_str(&format!("\n## What to do\n\n{}\n", task.description.trim_end()));
    }
    if let Some(build) = &task.instructions.build {
        s.push_str(&format!("\n## Instructions\n\n{}\n", build.trim_end()));
    }
    if !task.acceptance.is_empty() {
        s.push_str("\n## Done means\n\n");
        for a in &task.acceptance {
            s.push_str(&format!("- {a}\n"));
        }
    }
    let verify: Vec<&String> = task.verify.iter().chain(&plan.verify).collect();
    if !verify.is_empty() {
        s.push_str("\n## planrun will run these checks after you finish; each must exit 0\n\n");
        for v in verify {
            s.push_str(&format!("- `{v}`\n"));
        }
    }
    if !plan.context.is_empty() {
        s.push_str(&format!("\n## Plan context\n\n{}\n", plan.context.trim_end()));
    }
    if !deps.is_empty() {
        s.push_str("\n## Tasks this one builds on\n");
        for d in deps {
            s.push_str(&format!("\n### {}: {} ({})\n", d.task.id, d.task.title, d.state));
            if let Some(n) = d.notes.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
                s.push('\n');
                s.push_str(keep_tail(n, NOTE_LIMIT));
                s.push('\n');
            }
        }
    }
    if let Some(f) = feedback {
        s.push_str(&format!("\n## Why the previous attempt was sent back\n\n{}\n", fenced_feedback(f)));
    }
    s
}

/// The brief a reviewer (or the tester) gets: the implementer's, then what the plan asks of the
/// review and its own verification checklist (a blueprint step's Phase 2 and Phase 3).
pub(crate) fn review_brief(plan: &Plan, task: &Task) -> String {
    let mut s = brief(plan, task, &[], None);
    if let Some(review) = task.instructions.review.as_deref().map(str::trim_end).filter(|r| !r.is_empty()) {
        s.push_str(&format!("\n## What the plan asks the review to check\n\n{review}\n"));
    }
    if let Some(verify) = task.instructions.verify.as_deref().map(str::trim_end).filter(|v| !v.is_empty()) {
        s.push_str(&format!("\n## The plan's verification checklist (judge each item)\n\n{verify}\n"));
    }
    s
}

/// The reviewer's take, as a section of the implementer's prompt.
/// The user's instructions given with `planrun retry TASK --note`.
pub(crate) fn note_section(note: &str) -> String {
    format!(
        "\n\n## Instructions from the user\n\nThe previous attempt was stopped for the user, who sent it back with these instructions; they come before anything else:\n\n{}\n",
        fenced_feedback(note)
    )
}

/// What the tasks this one depends on left in their summary files (those that exist), each cut
/// to its end.
/// `accounts`: planrun's own account of a dependency whose file is not written yet.
pub(crate) fn summaries_section(files: &[std::path::PathBuf], accounts: &[(String, String)]) -> String {
    let mut out = String::new();
    for (dep, details) in accounts {
        out.push_str(&format!("\n### {dep} (as planrun recorded it)\n\n{}\n", fenced_feedback(details)));
    }
    for f in files {
        let Ok(text) = std::fs::read_to_string(f) else { continue };
        if text.trim().is_empty() {
            continue;
        }
        let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        out.push_str(&format!("\n### {name}\n\n{}\n", fenced_feedback(&text)));
    }
    if out.is_empty() {
        return out;
    }
    format!("\n\n## Summaries of the tasks this one depends on\n{out}")
}

/// The implementer's own plan, written before its code step.
pub(crate) fn plan_section(plan: &str) -> String {
    format!(
        "\n\n## Your plan for this task (written before this step: follow it, and say where you depart from it)\n\n{}\n",
        plan.trim()
    )
}

pub(crate) fn take_section(take: &str) -> String {
    format!("\n\n## A reviewer's constraints for this task (read before you start)\n\n{}\n", take.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prompt_holds_the_brief_and_the_feedback() {
        let mut plan = Plan { title: "Demo".into(), context: "Rust 2024.".into(), ..Plan::default() };
        plan.verify = vec!["cargo test".into()];
        let mut dep = Task::new("a", "Model");
        dep.files = vec!["src/model.rs".into()];
        let mut t = Task::new("b", "Parser");
        t.files = vec!["src/parse.rs".into()];
        t.acceptance = vec!["parses `x`".into()];
        t.verify = vec!["cargo test parse".into()];
        let deps = [DepNote { task: &dep, state: "done", notes: Some("Model is in src/model.rs".into()) }];
        let p = brief(&plan, &t, &deps, Some("test parse::x failed\n```oops"));
        for needle in [
            "# Task b: Parser",
            "- `src/parse.rs`",
            "- parses `x`",
            "- `cargo test parse`\n- `cargo test`",
            "Rust 2024.",
            "### a: Model (done)",
            "Model is in src/model.rs",
            "test parse::x failed",
        ] {
            assert!(p.contains(needle), "missing {needle:?} in\n{p}");
        }
        assert!(!p.contains("```oops"), "a fence in the feedback cannot close ours");
    }

    #[test]
    fn tails_cut_at_character_boundaries() {
        assert_eq!(keep_tail("héllo", 3), "llo");
        assert_eq!(keep_tail("aé", 1), "");
        assert_eq!(keep_tail("abc", 10), "abc");
    }
}
