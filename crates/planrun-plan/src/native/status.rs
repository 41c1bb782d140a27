//! Writing back what a run did in planrun's own formats: `Status: done` among a markdown task's
//! fields, `"status": "done"` in a JSON task's object (see `crate::status`).

use crate::edit::{Ctx, insert_line_after, json_tasks, line_at, set_field};
use crate::md;

/// planrun markdown: `Status: done` among the task's field lines.
pub(crate) fn markdown(ctx: &mut Ctx<'_>) {
    for i in ctx.done_tasks() {
        if ctx.already_done(i) {
            continue;
        }
        let Some(span) = ctx.loaded.spans(i).task else { continue };
        let text = ctx.text(span.source);
        let (start, _) = line_at(text, span.start);
        // The field lines right after the heading (blank lines between them are allowed).
        let lines: Vec<md::Line<'_>> = md::lines(text)
            .into_iter()
            .skip_while(|l| l.start <= start)
            .take_while(|l| {
                !l.in_fence
                    && md::heading(l.text).is_none()
                    && (l.text.trim().is_empty() || md::field(l.text).is_some())
            })
            .collect();
        if !set_field(ctx, span.source, &lines, "status", "done") {
            insert_line_after(ctx, span.source, start, "Status: done");
        }
    }
}

/// planrun JSON: `"status": "done"` in the task's object.
pub(crate) fn native_json(ctx: &mut Ctx<'_>) {
    json_tasks(ctx, "\"done\"");
}
