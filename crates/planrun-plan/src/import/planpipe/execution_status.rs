//! A stage-6 `execution-status.md` from an earlier run: the subtasks it marks done carry over.

use super::*;

pub(super) fn apply_status(b: &mut PlanBuilder, src: SourceId) {
    let text = b.text(src).to_owned();
    let mut id_col: Option<usize> = None;
    let mut status_col: Option<usize> = None;
    let mut list_col: Option<usize> = None;
    let mut header = true;
    let mut seen: HashSet<String> = HashSet::new();
    let mut summary: Vec<(String, Status, Span)> = Vec::new();
    for line in md::lines(&text) {
        if line.in_fence {
            continue;
        }
        let Some(cells) = table_cells(line.text) else {
            header = true;
            continue;
        };
        if is_separator_row(&cells) {
            continue;
        }
        if header {
            header = false;
            let lower: Vec<String> = cells.iter().map(|(c, _)| c.to_ascii_lowercase()).collect();
            status_col = lower.iter().position(|c| c == "status" || c == "state");
            id_col = lower.iter().position(|c| c == "id" || c == "subtask" || c == "task" || c == "st");
            list_col = lower.iter().position(|c| c.contains("subtasks") || c.contains("tasks"));
            continue;
        }
        match (id_col, status_col) {
            (Some(ic), Some(sc)) => {
                let (Some((id_cell, id_off)), Some((word, word_off))) = (cells.get(ic), cells.get(sc)) else {
                    continue;
                };
                let id = st_ids(id_cell)
                    .into_iter()
                    .next()
                    .map_or_else(|| id_cell.trim_matches('`').to_owned(), |(id, _)| id);
                let span = Span::new(src, line.start + id_off, line.start + id_off + id_cell.len());
                let wspan = Span::new(src, line.start + word_off, line.start + word_off + word.len());
                let Some(status) = state_word(b, word, wspan) else {
                    continue;
                };
                seen.insert(id.clone());
                set_status(b, &id, status, span);
            }
            (None, Some(sc)) => {
                // "Status Summary": | done | 3 | ST-1, ST-2 |
                let (Some((word, _)), Some((list, list_off))) = (cells.get(sc), list_col.and_then(|c| cells.get(c)))
                else {
                    continue;
                };
                let Some(status) = planpipe_state(word) else {
                    continue;
                };
                for (id, o) in st_ids(list) {
                    let start = line.start + list_off + o;
                    summary.push((id.clone(), status, Span::new(src, start, start + id.len())));
                }
            }
            _ => {}
        }
    }
    for (id, status, span) in summary {
        if !seen.contains(&id) {
            set_status(b, &id, status, span);
        }
    }
}

pub(super) fn planpipe_state(word: &str) -> Option<Status> {
    let w = word.trim().trim_matches(['*', '_', '`']).trim().to_ascii_lowercase().replace([' ', '-'], "_");
    let w = w.trim_start_matches('✅').trim_start_matches('_');
    match w {
        "done" | "completed" | "complete" | "closed" | "passed" => Some(Status::Done),
        "pending" | "ready" | "in_progress" | "in_review" | "rework" | "blocked" | "todo" | "started" | "review"
        | "failed" | "escalated" => Some(Status::Pending),
        _ => crate::reader::status_word(word),
    }
}

pub(super) fn state_word(b: &mut PlanBuilder, word: &str, span: Span) -> Option<Status> {
    let status = planpipe_state(word);
    if status.is_none() {
        b.warn(
            Diagnostic::warning(
                "unknown-status",
                format!("unknown execution state `{}`; the subtask is treated as not done", word.trim()),
            )
            .at(Some(span))
            .help("use one of pending, ready, in_progress, in_review, rework, done, blocked"),
        );
    }
    status
}

pub(super) fn set_status(b: &mut PlanBuilder, id: &str, status: Status, span: Span) {
    match b.plan.tasks.iter_mut().find(|t| t.id.eq_ignore_ascii_case(id)) {
        Some(task) => {
            if status == Status::Done {
                task.status = Status::Done;
            }
        }
        None => b.warn(
            Diagnostic::warning(
                "unknown-task",
                format!("the execution status lists `{id}`, which is not a subtask of this plan"),
            )
            .at(Some(span))
            .help("remove the row, or restore the subtask in the backlog"),
        ),
    }
}
