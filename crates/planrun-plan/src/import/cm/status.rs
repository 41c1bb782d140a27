//! Writing back what a run did in cm's files: task statuses in the backlog and the handoff plan
//! (see `crate::status`).

use crate::edit::{Ctx, LogEntry, TaskOutcome, eol, json_set, line_at, object_at, parse_json, status_is_done};
use crate::json::{JKind, JValue};
use std::collections::HashMap;

/// A cm status word read from an entry.
fn word_of(e: &JValue) -> String {
    e.get_any(&["status", "state"]).and_then(JValue::as_text).unwrap_or_default().trim().to_ascii_lowercase()
}

/// Whether an entry of `logs[]` is one planrun wrote.
fn ours(entry: &JValue) -> bool {
    entry.get("by").and_then(JValue::as_text).as_deref() == Some("planrun")
}

/// The leading whitespace of the line holding `offset`.
fn indent_at(text: &str, offset: usize) -> String {
    line_at(text, offset).1.chars().take_while(|c| c.is_whitespace()).collect()
}

/// cm: each task's backlog entry in `cm-tasks.json` (matched by id, else title) follows the run
/// the way cm's RARV protocol keeps it: `status` (`in_progress` while it is worked on, `blocked`,
/// `done`), `logs[]` with planrun's `{phase, message}` entries (marked `"by": "planrun"`, so that
/// the next write replaces them and keeps everyone else's), `rarv_cycles` (rejected attempts),
/// `completed_at`, and the file's `updated` and `stats` (every counter recounted). A task without
/// a backlog entry gets `"status": "done"` in its own object once it passes.
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
    // Each entry's status word and rarv_cycles once this write is done, where they change.
    let mut words: HashMap<usize, String> = HashMap::new();
    let mut cycles: HashMap<usize, u64> = HashMap::new();
    // Whether any backlog entry changed.
    let mut touched = false;
    for i in 0..ctx.loaded.plan.tasks.len() {
        let Some(task) = ctx.loaded.plan.tasks.get(i) else { continue };
        let done = ctx.done.contains(task.id.as_str());
        let report = ctx.report(&task.id);
        if !done && report.is_none() {
            continue;
        }
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
                let src = *src;
                let current = word_of(e);
                let finished = status_is_done(e.get_any(&["status", "state"]));
                // planrun worked on it (this run or an earlier one).
                let ran =
                    e.get("logs").is_some_and(|l| l.items().iter().any(ours)) || report.is_some_and(|r| r.attempts > 0);
                let state = report.map_or(TaskOutcome::NotRun, |r| r.state.clone());
                let want = match &state {
                    _ if done => (!finished).then_some("done"),
                    _ if finished => None,
                    TaskOutcome::InProgress | TaskOutcome::InReview | TaskOutcome::Rework { .. } => Some("in_progress"),
                    TaskOutcome::Blocked { .. } => Some("blocked"),
                    // Left in progress by a run that stopped: back to the backlog.
                    _ if current == "in_progress" && ran => Some("backlog"),
                    _ => None,
                };
                let key = if e.get("status").is_none() && e.get("state").is_some() { "state" } else { "status" };
                if let Some(w) = want.filter(|w| *w != current) {
                    json_set(ctx, src, e, key, &format!("\"{w}\""));
                    words.insert(k, w.to_owned());
                }
                let Some(r) = report.filter(|r| r.attempts > 0) else { continue };
                let rarv = u64::from(r.failures);
                if e.get("rarv_cycles").and_then(JValue::as_text) != Some(rarv.to_string()) {
                    json_set(ctx, src, e, "rarv_cycles", &rarv.to_string());
                    cycles.insert(k, rarv);
                }
                if !r.log.is_empty() {
                    let logs = logs_json(ctx.text(src), e, &r.log);
                    if e.get("logs").map(|l| ctx.text(src).get(l.span.start..l.span.end)) != Some(Some(logs.as_str())) {
                        json_set(ctx, src, e, "logs", &logs);
                        touched = true;
                    }
                }
                if let (true, Some(at)) = (done, &r.completed_at) {
                    if e.get("completed_at").and_then(JValue::as_text).as_deref() != Some(at.as_str()) && !finished {
                        json_set(ctx, src, e, "completed_at", &serde_json::Value::from(at.as_str()).to_string());
                        touched = true;
                    }
                }
            }
            _ => {
                if !done || ctx.already_done(i) {
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
    // The file's own bookkeeping, when an entry changed: `stats` recounted and `updated`.
    let Some((src, t)) = &tree else { return };
    if !(touched || !words.is_empty() || !cycles.is_empty()) || !t.is_object() {
        return;
    }
    let word = |k: usize, e: &JValue| words.get(&k).cloned().unwrap_or_else(|| word_of(e));
    let count = |w: &[&str]| entries.iter().enumerate().filter(|(k, e)| w.contains(&word(*k, e).as_str())).count();
    let rarv_total: u64 = entries
        .iter()
        .enumerate()
        .map(|(k, e)| {
            cycles.get(&k).copied().unwrap_or_else(|| {
                e.get("rarv_cycles").and_then(JValue::as_text).and_then(|n| n.parse().ok()).unwrap_or(0)
            })
        })
        .sum();
    let counts = [
        ("total", entries.len() as u64),
        ("done", count(&["done", "completed"]) as u64),
        ("in_progress", count(&["in_progress", "in-progress"]) as u64),
        ("blocked", count(&["blocked"]) as u64),
        ("backlog", count(&["backlog", "pending", "todo", ""]) as u64),
        ("rarv_cycles_total", rarv_total),
    ];
    let src = *src;
    match t.get("stats").filter(|s| s.is_object()) {
        Some(stats) => {
            for (key, n) in counts {
                match stats.get(key) {
                    Some(v) if matches!(v.kind, JKind::Number(_)) => {
                        ctx.patch(src, v.span.start, v.span.end, n.to_string())
                    }
                    Some(_) => {}
                    None => json_set(ctx, src, stats, key, &n.to_string()),
                }
            }
        }
        None => {
            let body: Vec<String> = counts.iter().map(|(k, n)| format!("\"{k}\": {n}")).collect();
            json_set(ctx, src, t, "stats", &format!("{{ {} }}", body.join(", ")));
        }
    }
    if let Some(now) = ctx.now {
        json_set(ctx, src, t, "updated", &serde_json::Value::from(now).to_string());
    }
}

/// The new `logs` array of entry `e`: the entries others wrote, then planrun's `log`, in the
/// layout of the file (one entry a line when the entry's members are one a line).
fn logs_json(text: &str, e: &JValue, log: &[LogEntry]) -> String {
    let mut items: Vec<String> = e
        .get("logs")
        .map(|l| {
            l.items()
                .iter()
                .filter(|x| !ours(x))
                .filter_map(|x| text.get(x.span.start..x.span.end).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    for entry in log {
        let phase = serde_json::Value::from(entry.phase.as_str());
        let message = serde_json::Value::from(entry.message.as_str());
        items.push(format!("{{ \"phase\": {phase}, \"message\": {message}, \"by\": \"planrun\" }}"));
    }
    if items.is_empty() {
        return "[]".to_owned();
    }
    let multiline = text.get(e.span.start..e.span.end).is_some_and(|t| t.contains('\n'));
    match e.members().first() {
        Some((_, first)) if multiline => {
            let nl = eol(text);
            let indent = indent_at(text, first.span.start);
            let inner = format!("{indent}  ");
            let body: Vec<String> = items.iter().map(|i| format!("{inner}{i}")).collect();
            format!("[{nl}{}{nl}{indent}]", body.join(&format!(",{nl}")))
        }
        _ => format!("[{}]", items.join(", ")),
    }
}
