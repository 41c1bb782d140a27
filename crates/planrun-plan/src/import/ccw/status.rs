//! Writing back what a run did in a CCW session: the TODO list's boxes and the task JSON files'
//! statuses (see `crate::status`).

use crate::edit::{Ctx, bare_item, json_set, parse_json, unticked_mark};
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
    let done = ctx.done_tasks();
    for i in done {
        let Some(task) = ctx.loaded.plan.tasks.get(i) else { continue };
        let id = task.id.clone();
        if id.is_empty() {
            continue;
        }
        // TODO_LIST.md
        if let Some(src) = todo {
            let text = ctx.text(src);
            let bold = format!("**{id}**");
            for line in md::lines(text) {
                if line.in_fence {
                    continue;
                }
                let Some(item) = md::bullet(line.text) else { continue };
                let after_box = md::checkbox(line.text).map_or(item, |(_, t)| t);
                if !after_box.starts_with(&bold) {
                    continue;
                }
                if let Some((a, b)) = unticked_mark(line.text) {
                    ctx.patch(src, line.start + a, line.start + b, "[x]");
                } else if md::checkbox(line.text).is_none() {
                    if let Some(at) = bare_item(line.text) {
                        ctx.patch(src, line.start + at, line.start + at, "[x] ");
                    }
                }
            }
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
            if !matches!(st.as_deref(), Some("completed" | "done")) {
                json_set(ctx, src, &root, "status", "\"completed\"");
            }
        }
        // .summaries/<id>-summary.md
        let summary = ctx.report(&id).and_then(|r| r.summary.clone());
        let mut body =
            format!("# {id}: {}\n\nStatus: completed (recorded by planrun)\n", crate::model::one_line(&task.title));
        if let Some(s) = summary {
            body.push_str(&format!("\n{}\n", s.trim_end()));
        }
        ctx.create(session.join(".summaries").join(format!("{id}-summary.md")), body);
    }
}
