//! Writing back what a run did in a CCW session: the TODO list's boxes and the task JSON files'
//! statuses (see `crate::status`).

use crate::edit::{Ctx, TaskOutcome, bare_item, eol, json_set, parse_json, unticked_mark};
use crate::json::JValue;
use crate::md;
use crate::source::SourceId;
use std::path::Path;

/// CCW: `[x]` on the task's TODO_LIST.md line, `"status": "completed"` in its `.task/` file, and
/// `.summaries/<id>-summary.md` when the agent wrote none.
pub(crate) fn ccw(ctx: &mut Ctx<'_>) {
    let sources = &ctx.loaded.sources;
    let todo = sources.ids().find(|&id| sources.path(id).file_name().is_some_and(|n| n == "TODO_LIST.md"));
    let task_files: Vec<SourceId> = sources
        .ids()
        .filter(|&id| {
            let p = sources.path(id);
            p.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"))
                && p.parent().and_then(Path::file_name).is_some_and(|n| n == ".task")
        })
        .collect();
    let session = todo
        .and_then(|t| sources.path(t).parent().map(Path::to_path_buf))
        .or_else(|| task_files.first().and_then(|&t| sources.path(t).parent()?.parent().map(Path::to_path_buf)))
        .unwrap_or_else(|| ctx.base.clone());
    for i in 0..ctx.loaded.plan.tasks.len() {
        let Some(task) = ctx.loaded.plan.tasks.get(i) else { continue };
        let id = task.id.clone();
        if id.is_empty() {
            continue;
        }
        let done = ctx.done.contains(id.as_str());
        let report = ctx.report(&id);
        if !done && report.is_none() {
            continue;
        }
        let state = report.map_or(TaskOutcome::NotRun, |r| r.state.clone());
        let attempts = report.map_or(0, |r| r.attempts);
        // TODO_LIST.md
        if let Some(src) = todo {
            todo_item(ctx, src, &id, done, &state, attempts);
        }
        // .task/<id>.json
        for &src in &task_files {
            let path = ctx.loaded.sources.path(src);
            let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            let Some(root) = parse_json(ctx.text(src), src) else { continue };
            let named = root.get("id").and_then(JValue::as_text);
            let matches = named.as_deref().map_or_else(|| stem.eq_ignore_ascii_case(&id), |n| n == id);
            if !matches || !root.is_object() {
                continue;
            }
            let st = root.get("status").and_then(JValue::as_text).map(|s| s.to_ascii_lowercase());
            let finished = matches!(st.as_deref(), Some("completed" | "done"));
            let want = match &state {
                _ if done => (!finished).then_some("completed"),
                _ if finished => None,
                TaskOutcome::InProgress | TaskOutcome::InReview | TaskOutcome::Rework { .. } => Some("active"),
                TaskOutcome::Blocked { .. } => Some("blocked"),
                _ if st.as_deref() == Some("active") => Some("pending"),
                _ => None,
            };
            if let Some(want) = want.filter(|w| st.as_deref() != Some(*w)) {
                json_set(ctx, src, &root, "status", &format!("\"{want}\""));
            }
        }
        if !done {
            continue;
        }
        // .summaries/<id>-summary.md
        let summary = ctx.report(&id).and_then(|r| r.summary.clone());
        let mut body =
            format!("# {id}: {}\n\nStatus: completed (recorded by planrun)\n", crate::model::one_line(&task.title));
        if let Some(s) = summary {
            body.push_str(&format!("\n{}\n", s.trim_end()));
        }
        if let Some(d) = ctx.report(&id).and_then(|r| r.details.clone()) {
            body.push_str(&format!("\n{}\n", d.trim_end()));
        }
        ctx.create(session.join(".summaries").join(format!("{id}-summary.md")), body);
    }
}

/// The value of the `Status:` note planrun keeps under a TODO item while the task is worked on
/// (CCW keeps a task "in progress" with an error note until it completes).
fn live_note(state: &TaskOutcome, attempts: u32) -> Option<String> {
    // No ✅ in a note: CCW's readers take it for done.
    let clean = |r: &str| {
        let one = crate::model::one_line(r).replace('✅', "");
        let mut cut: String = one.chars().take(200).collect();
        if cut.len() < one.len() {
            cut.push('…');
        }
        cut
    };
    match state {
        TaskOutcome::InProgress => Some(format!("in progress (attempt {attempts})")),
        TaskOutcome::InReview => Some(format!("in review (attempt {attempts})")),
        TaskOutcome::Rework { reason } => Some(format!("in progress (attempt {attempts}); error: {}", clean(reason))),
        TaskOutcome::Blocked { reason } => Some(format!("blocked: {}", clean(reason))),
        _ => None,
    }
}

/// Whether a `Status:` note's value is one planrun wrote for a live state.
fn our_live_note(value: &str) -> bool {
    let v = value.trim();
    (v.starts_with("in progress") || v.starts_with("in review")) && v.contains("attempt ")
}

/// Task `id`'s line in TODO_LIST.md: the box ticked when it is done, and a `Status:` note
/// under it while it is worked on or blocked (set to `completed` once it is done, back to
/// `pending` when a note of planrun's is left from a run that stopped).
fn todo_item(ctx: &mut Ctx<'_>, src: SourceId, id: &str, done: bool, state: &TaskOutcome, attempts: u32) {
    let text = ctx.text(src);
    let nl = eol(text);
    let bold = format!("**{id}**");
    let indent_of = |t: &str| t.len() - t.trim_start().len();
    let lines = md::lines(text);
    for (k, line) in lines.iter().enumerate() {
        if line.in_fence {
            continue;
        }
        let Some(item) = md::bullet(line.text) else { continue };
        let after_box = md::checkbox(line.text).map_or(item, |(_, t)| t);
        if !after_box.starts_with(&bold) {
            continue;
        }
        if done {
            if let Some((a, b)) = unticked_mark(line.text) {
                ctx.patch(src, line.start + a, line.start + b, "[x]");
            } else if md::checkbox(line.text).is_none() {
                if let Some(at) = bare_item(line.text) {
                    ctx.patch(src, line.start + at, line.start + at, "[x] ");
                }
            }
        }
        // Its notes: the lines below it indented deeper (blank lines in between).
        let indent = indent_of(line.text);
        let note = lines
            .iter()
            .skip(k + 1)
            .take_while(|l| l.text.trim().is_empty() || indent_of(l.text) > indent)
            // A nested item's notes are its own.
            .take_while(|l| {
                md::bullet(l.text).is_none_or(|b| !md::checkbox(l.text).map_or(b, |(_, t)| t).starts_with("**"))
            })
            .filter(|l| !l.in_fence)
            .find_map(|l| {
                let (key, value, off) = md::field(l.text)?;
                key.trim().eq_ignore_ascii_case("status").then(|| (l.start + off, l.start + off + value.len(), value))
            });
        let want = match (done, live_note(state, attempts), &note) {
            (true, _, Some((_, _, v))) if !super::todo::is_done_word(v) => Some("completed".to_owned()),
            (true, _, _) => None,
            (false, Some(w), _) => Some(w),
            (false, None, Some((_, _, v))) if our_live_note(v) => Some("pending".to_owned()),
            (false, None, _) => None,
        };
        let Some(want) = want else { continue };
        match note {
            Some((a, b, v)) => {
                if v != want {
                    ctx.patch(src, a, b, want);
                }
            }
            None => {
                let pad = " ".repeat(indent + 2);
                let at = line.start + line.text.len();
                ctx.patch(src, at, at, format!("{nl}{pad}- Status: {want}"));
            }
        }
    }
}
