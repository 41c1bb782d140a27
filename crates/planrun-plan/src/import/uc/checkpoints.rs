//! Checkpoint and progress files, and `plan.json`: the tasks they record as completed.

use super::*;

/// Checkpoint and state files larger than this are not read: they are not hand-written notes.
pub(super) const MAX_STATE_BYTES: u64 = 4 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Detection

/// Files in the plan folder that record progress: `checkpoint*`, `checkpoints/*`, `plan.json`,
/// `progress*`, `status*`.
pub(super) fn progress_files(plan_dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in sorted_entries(plan_dir).into_iter().take(MAX_ENTRIES) {
        let name = file_name(&p).to_ascii_lowercase();
        let stateful = name.contains("checkpoint")
            || name.starts_with("progress")
            || name.starts_with("status")
            || name == "plan.json"
            || name == ".checkpoint";
        if !stateful {
            continue;
        }
        if p.is_dir() {
            out.extend(sorted_entries(&p).into_iter().take(MAX_ENTRIES).filter(|f| f.is_file()));
        } else if p.is_file() {
            out.push(p);
        }
    }
    out
}

/// Task numbers a progress file records as completed, with where.
pub(super) fn completed_in(b: &mut PlanBuilder, path: &Path) -> Vec<(u64, Span)> {
    if std::fs::metadata(path).map(|m| m.len()).unwrap_or(u64::MAX) > MAX_STATE_BYTES {
        return Vec::new();
    }
    let Some(bytes) = crate::reader::peek_bytes(path) else {
        return Vec::new();
    };
    let src = b.add_bytes(path, bytes.to_vec());
    let text = b.text(src).to_owned();
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    let mut out = Vec::new();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        match json::parse(&text, src) {
            Ok(v) => json_completed(&v, false, &mut out),
            Err(d) => b.warn(
                Diagnostic::warning(
                    "unreadable-checkpoint",
                    format!("{}; finished tasks recorded there are not carried over", d.message),
                )
                .at(d.span)
                .help("fix the JSON, or mark finished tasks with `**Status:** done` in their task.md"),
            ),
        }
        return out;
    }
    let mut under_done_heading = false;
    for line in md::lines(&text).iter().filter(|l| !l.in_fence) {
        let span = Span::new(src, line.start, line.start + line.text.len());
        if let Some((_, t)) = md::heading(line.text) {
            let l = t.to_lowercase();
            under_done_heading = (l.contains("complete") || l.contains("done") || l.contains("finished"))
                && !l.contains("incomplete")
                && !l.contains("not ");
            continue;
        }
        let lower = line.text.to_lowercase();
        let numbers = parse_deps(line.text, span);
        if numbers.is_empty() {
            continue;
        }
        let negative = [
            "not ",
            "pending",
            "in progress",
            "in_progress",
            "incomplete",
            "remaining",
            "todo",
            "blocked",
            "failed",
            "next",
        ]
        .iter()
        .any(|w| lower.contains(w));
        let key_done = md::field(line.text).is_some_and(|(k, _, _)| {
            let k = k.to_lowercase();
            (k.contains("complete") || k.contains("done") || k.contains("finished")) && !k.contains("incomplete")
        });
        let ticked = md::checkbox(line.text).is_some_and(|(c, _)| c);
        let marked =
            line.text.contains('✅') || ["done", "complete", "completed", "passed"].iter().any(|w| has_word(&lower, w));
        let task_refs: Vec<(u64, Span)> = numbers
            .into_iter()
            .filter(|(_, s)| {
                text.get(s.start..s.end).is_some_and(|w| task_number(w).is_some() || key_done || under_done_heading)
            })
            .collect();
        if key_done
            || ticked
            || (under_done_heading && md::bullet(line.text).is_some())
            || (marked && !negative && task_refs.len() == 1)
        {
            out.extend(task_refs);
        }
    }
    out
}

pub(super) fn has_word(text: &str, word: &str) -> bool {
    text.split(|c: char| !c.is_alphanumeric()).any(|w| w == word)
}

/// Walks a JSON progress record: arrays under keys like `completed`, objects keyed by task id
/// with a `status`, and arrays of `{ "id": …, "status": … }`.
pub(super) fn json_completed(v: &JValue, done_list: bool, out: &mut Vec<(u64, Span)>) {
    match &v.kind {
        JKind::Array(items) => {
            for item in items {
                match &item.kind {
                    JKind::String(s) if done_list => {
                        if let Some(n) = task_number(s).or_else(|| s.trim().parse().ok()) {
                            out.push((n, item.span));
                        }
                    }
                    JKind::Number(s) if done_list => {
                        if let Ok(n) = s.parse() {
                            out.push((n, item.span));
                        }
                    }
                    _ => json_completed(item, done_list, out),
                }
            }
        }
        JKind::Object(members) => {
            let id = v.get_any(&["id", "task", "task_id", "taskId", "name"]).and_then(JValue::as_text);
            let status = v.get_any(&["status", "state", "result"]).and_then(JValue::as_text);
            let done_flag = v.get_any(&["done", "completed", "complete"]).and_then(JValue::as_bool);
            if let Some(n) = id.as_deref().and_then(|i| task_number(i).or_else(|| i.trim().parse().ok())) {
                let done = status.as_deref().and_then(crate::reader::status_word) == Some(Status::Done)
                    || done_flag == Some(true)
                    || done_list;
                if done {
                    out.push((n, v.span));
                }
            }
            for (key, value) in members {
                let k = key.to_lowercase();
                let is_done_key =
                    (k.contains("complete") || k.contains("done") || k.contains("finished") || k.contains("passed"))
                        && !k.contains("incomplete")
                        && !k.contains("not");
                if let Some(n) = task_number(key) {
                    let st = value.get_any(&["status", "state"]).and_then(JValue::as_text).or_else(|| value.as_text());
                    if st.as_deref().and_then(crate::reader::status_word) == Some(Status::Done)
                        || value.get_any(&["done", "completed"]).and_then(JValue::as_bool) == Some(true)
                    {
                        out.push((n, value.span));
                        continue;
                    }
                }
                if value.is_array() || value.is_object() {
                    json_completed(value, is_done_key, out);
                }
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Loading
