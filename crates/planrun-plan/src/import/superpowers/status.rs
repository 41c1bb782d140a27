//! Writing back what a run did in superpowers plans: every step box of a done task ticked, or ✅
//! on its heading when it has none (see `crate::status`).

use crate::edit::{Ctx, block, done_mark_at, line_at, next_task_start, tick_all};

/// superpowers: every step box of the task ticked; a task without boxes gets ✅ on its heading.
pub(crate) fn superpowers(ctx: &mut Ctx<'_>) {
    for i in ctx.done_tasks() {
        if ctx.already_done(i) {
            continue;
        }
        let Some(span) = ctx.loaded.spans(i).task else { continue };
        let src = span.source;
        let text = ctx.text(src);
        let (start, head) = line_at(text, span.start);
        let lines = block(text, start, next_task_start(ctx.loaded, src, span.start));
        if tick_all(ctx, src, &lines) == 0 {
            if let Some(at) = done_mark_at(head) {
                ctx.patch(src, start + at, start + at, "✅ ");
            }
        }
    }
}
