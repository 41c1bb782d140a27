//! Writing back what a run did in task folders: `**Status:** done` in `task.md`, and an `impl.md`
//! note when the agent left none (see `crate::status`).

use crate::edit::{Ctx, eol, set_field};
use crate::md;

/// Task folders: `**Status:** done` in task.md, and an `impl.md` note when the agent left none.
pub(crate) fn uc(ctx: &mut Ctx<'_>) {
    for i in ctx.done_tasks() {
        let Some(span) = ctx.loaded.spans(i).task else { continue };
        let src = span.source;
        let path = ctx.loaded.sources.path(src).to_path_buf();
        let name = path.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
        let is_task_file =
            name == "task.md" || (name.starts_with("task") && name != "readme.md" && name.ends_with(".md"));
        if !is_task_file {
            continue;
        }
        let Some(task) = ctx.loaded.plan.tasks.get(i) else { continue };
        if name == "task.md" {
            if let Some(dir) = path.parent() {
                let summary = ctx.report(&task.id).and_then(|r| r.summary.clone());
                let mut body = format!("# Implementation: {}\n\nStatus: done (recorded by planrun)\n", task.title);
                if let Some(s) = summary {
                    body.push_str(&format!("\n{}\n", s.trim_end()));
                }
                ctx.create(dir.join("impl.md"), body);
            }
        }
        if ctx.already_done(i) {
            continue;
        }
        let text = ctx.text(src);
        let lines = md::lines(text);
        if set_field(ctx, src, &lines, "status", "done") {
            continue;
        }
        let nl = eol(text);
        match lines.iter().find(|l| !l.in_fence && md::heading(l.text).is_some_and(|(lvl, _)| lvl == 1)) {
            Some(title) => {
                let at = title.start + title.text.len();
                ctx.patch(src, at, at, format!("{nl}{nl}**Status:** done"));
            }
            None => ctx.patch(src, 0, 0, format!("**Status:** done{nl}{nl}")),
        }
    }
}
