//! Writing back what a run did in task-master's `tasks.json`: `"status": "done"` on the task or
//! subtask object (see `crate::status`).

use crate::edit::{Ctx, json_tasks};

/// task-master: `"status": "done"` on the task or subtask object.
pub(crate) fn taskmaster(ctx: &mut Ctx<'_>) {
    json_tasks(ctx, "\"done\"");
}
