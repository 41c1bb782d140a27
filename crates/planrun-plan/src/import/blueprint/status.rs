//! Writing back what a run did in blueprint plans: ✅ before the step heading's text and every
//! box of the step ticked (see `crate::status`).

use crate::edit::{Ctx, block, done_mark_at, eol, insert_line_after, line_at, next_task_start, set_field, tick_all};
use crate::md;

/// blueprint: ✅ before the step heading's text and every box of the step ticked.
pub(crate) fn blueprint(ctx: &mut Ctx<'_>) {
    for i in ctx.done_tasks() {
        let Some(span) = ctx.loaded.spans(i).task else { continue };
        let src = span.source;
        let text = ctx.text(src);
        let (start, head) = line_at(text, span.start);
        let next = next_task_start(ctx.loaded, src, span.start);
        let lines = block(text, start, next);
        tick_all(ctx, src, &lines);
        if ctx.already_done(i) {
            continue;
        }
        let is_step = {
            let t = md::heading(head).map_or(head.trim(), |(_, t)| t);
            let t = md::strip_done_mark(t).1.trim_start_matches('*');
            t.get(..4).is_some_and(|w| w.eq_ignore_ascii_case("step"))
        };
        if is_step {
            if let Some(at) = done_mark_at(head) {
                ctx.patch(src, start + at, start + at, "✅ ");
            }
        } else if !set_field(ctx, src, &lines, "status", "done") {
            // A step file without a `Step N` heading: a field line says it.
            if md::heading(head).is_some() {
                insert_line_after(ctx, src, start, "Status: done");
            } else {
                ctx.patch(src, 0, 0, format!("Status: done{}", eol(text)));
            }
        }
    }
}
