//! The backlog `cm-tasks.json` beside a handoff plan: the done status it records.

use super::*;

/// Marks plan tasks done when the backlog records them done, matching by id, then by title.
pub(super) fn merge_backlog(b: &mut PlanBuilder, src: SourceId, tasks: &mut [(Task, TaskSpans)]) {
    let text = b.text(src).to_owned();
    let root = match json::parse(&text, src) {
        Ok(v) => v,
        Err(d) => {
            b.warn(d.help("fix the JSON syntax of cm-tasks.json; done status was not read from it"));
            return;
        }
    };
    let list = if root.is_array() { Some(&root) } else { root.get_any(TASK_LIST_KEYS) };
    let Some(list) = list.filter(|l| l.is_array()) else {
        b.warn(
            Diagnostic::warning("no-tasks", "cm-tasks.json has no `tasks` array; no done status was read from it")
                .at(Some(root.span))
                .help("the backlog keeps its tasks in \"tasks\": [ … ]"),
        );
        return;
    };
    for item in list.items() {
        let id = item.get_any(ID_KEYS).and_then(JValue::as_text).map(|t| t.trim().to_owned());
        let title = item.get_any(TASK_TITLE_KEYS).and_then(JValue::as_str).map(|t| model::one_line(t).to_lowercase());
        let status_value = item.get_any(STATUS_KEYS);
        let status = status_value.and_then(JValue::as_text);
        let done = status.as_deref().and_then(crate::reader::status_word) == Some(Status::Done)
            || DONE_FLAGS.iter().any(|k| item.get(k).and_then(JValue::as_bool) == Some(true));
        let by_id = id.as_deref().and_then(|id| {
            let fixed = if valid_id(id) { id.to_owned() } else { crate::reader::slug(id) };
            tasks.iter().position(|(t, _)| t.id == fixed)
        });
        let by_title =
            || title.as_deref().and_then(|title| tasks.iter().position(|(t, _)| t.title.to_lowercase() == title));
        match by_id.or_else(by_title) {
            Some(i) => {
                if let (true, Some((task, spans))) = (done, tasks.get_mut(i)) {
                    task.status = Status::Done;
                    // Where the done status came from: the backlog entry.
                    spans.status = Some(status_value.map_or(item.span, |v| v.span));
                }
            }
            None => {
                let name = id.or(title).unwrap_or_else(|| "?".to_owned());
                b.warn(
                    Diagnostic::warning(
                        "unmatched-task",
                        format!("backlog task `{name}` is not in handoff/plan.json; its status is ignored"),
                    )
                    .at(Some(item.get_any(ID_KEYS).map_or(item.span, |v| v.span)))
                    .help("give the backlog task the same id (or title) as in the plan"),
                );
            }
        }
    }
}
