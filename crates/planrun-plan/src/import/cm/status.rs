//! Writing back what a run did in cm's files: task statuses in the backlog and the handoff plan
//! (see `crate::status`).

use crate::edit::{Ctx, json_set, object_at, parse_json, status_is_done};
use crate::json::{JKind, JValue};
use std::collections::HashSet;

/// cm: `"status": "done"` on the backlog entry in `cm-tasks.json` (matched by id, else title) with
/// its `stats` counts recomputed; a task without a backlog entry gets it in its own object.
pub(crate) fn cm(ctx: &mut Ctx<'_>) {
    let sources = &ctx.loaded.sources;
    let backlog = sources.ids().find(|&id| sources.path(id).file_name().is_some_and(|n| n == "cm-tasks.json"));
    let tree = backlog.and_then(|src| parse_json(ctx.text(src), src).map(|t| (src, t)));
    let entries: Vec<JValue> = tree
        .as_ref()
        .map(|(_, t)| {
            let list = if t.is_array() { Some(t) } else { t.get_any(&["tasks", "backlog", "items", "todos", "steps"]) };
            list.map(|l| l.items().iter().filter(|v| v.is_object()).cloned().collect()).unwrap_or_default()
        })
        .unwrap_or_default();
    let mut new_done: HashSet<usize> = HashSet::new();
    for i in ctx.done_tasks() {
        let Some(task) = ctx.loaded.plan.tasks.get(i) else { continue };
        let Some(span) = ctx.loaded.spans(i).task else { continue };
        let id_of = |e: &JValue| e.get_any(&["id", "task_id", "taskId", "key"]).and_then(JValue::as_text);
        let title_of = |e: &JValue| e.get_any(&["title", "name", "task"]).and_then(JValue::as_text);
        let entry = entries
            .iter()
            .position(|e| e.span == span)
            .or_else(|| entries.iter().position(|e| id_of(e).is_some_and(|x| x == task.id)))
            .or_else(|| {
                entries
                    .iter()
                    .position(|e| title_of(e).is_some_and(|x| x.trim().eq_ignore_ascii_case(task.title.trim())))
            });
        match (entry, &tree) {
            (Some(k), Some((src, _))) => {
                let Some(e) = entries.get(k) else { continue };
                if !status_is_done(e.get_any(&["status", "state"])) {
                    let key = if e.get("status").is_none() && e.get("state").is_some() { "state" } else { "status" };
                    json_set(ctx, *src, e, key, "\"done\"");
                    new_done.insert(k);
                }
            }
            _ => {
                if ctx.already_done(i) {
                    continue;
                }
                let text = ctx.text(span.source);
                let Some(t) = parse_json(text, span.source) else { continue };
                if let Some(obj) = object_at(&t, span.start) {
                    if !status_is_done(obj.get_any(&["status", "state"])) {
                        let key =
                            if obj.get("status").is_none() && obj.get("state").is_some() { "state" } else { "status" };
                        json_set(ctx, span.source, obj, key, "\"done\"");
                    }
                }
            }
        }
    }
    // stats: counts by status after the change, for the counters the file already has.
    if let (Some((src, t)), false) = (&tree, new_done.is_empty()) {
        let Some(stats) = t.get("stats").filter(|s| s.is_object()) else { return };
        let word = |k: usize, e: &JValue| -> String {
            if new_done.contains(&k) {
                return "done".to_owned();
            }
            e.get_any(&["status", "state"]).and_then(JValue::as_text).unwrap_or_default().trim().to_ascii_lowercase()
        };
        let count = |w: &[&str]| entries.iter().enumerate().filter(|(k, e)| w.contains(&word(*k, e).as_str())).count();
        let counts = [
            ("total", entries.len()),
            ("done", count(&["done", "completed"])),
            ("in_progress", count(&["in_progress", "in-progress"])),
            ("blocked", count(&["blocked"])),
            ("backlog", count(&["backlog", "pending", "todo", ""])),
        ];
        for (key, n) in counts {
            if let Some(v) = stats.get(key).filter(|v| matches!(v.kind, JKind::Number(_))) {
                ctx.patch(*src, v.span.start, v.span.end, n.to_string());
            }
        }
    }
}
