//! Writing back what a run did in planpipe's stage-6 files: rows of `execution-status.md` set to
//! `done` (or `blocked`), and `execution-summary.md` once every subtask is done (see `crate::status`).

use crate::edit::{Ctx, TaskOutcome, eol};
use crate::md;
use crate::model::Status;
use crate::reader::Loaded;
use crate::source::SourceId;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// A table row's cells with their byte offsets in the line, or `None` for a non-table line.
fn cells(line: &str) -> Option<Vec<(usize, usize)>> {
    let t = line.trim();
    if !t.starts_with('|') {
        return None;
    }
    let base = md::offset_in(line, t)?;
    let mut out = Vec::new();
    let mut from = 1;
    let bytes: Vec<(usize, char)> = t.char_indices().collect();
    for &(i, c) in bytes.iter().skip(1) {
        if c == '|' {
            out.push((base + from, base + i));
            from = i + 1;
        }
    }
    if from < t.len() && !t.get(from..).unwrap_or("").trim().is_empty() {
        out.push((base + from, base + t.len()));
    }
    Some(out)
}

fn trimmed_range(line: &str, (a, b): (usize, usize)) -> (usize, usize) {
    let cell = line.get(a..b).unwrap_or("");
    let lead = cell.len() - cell.trim_start().len();
    let t = cell.trim();
    (a + lead, a + lead + t.len())
}

fn planpipe_word(word: &str) -> String {
    word.trim()
        .trim_matches(['*', '_', '`'])
        .trim()
        .trim_start_matches('✅')
        .trim()
        .to_ascii_lowercase()
        .replace([' ', '-'], "_")
}

/// planpipe: rows of `execution-status.md` set to `done` (or `blocked`), the file created in
/// `stage-6/` when missing, and `execution-summary.md` once every subtask is done.
pub(crate) fn planpipe(ctx: &mut Ctx<'_>) {
    let status_src = ctx
        .loaded
        .sources
        .ids()
        .find(|&id| ctx.loaded.sources.path(id).file_name().is_some_and(|n| n == "execution-status.md"));
    let blocked: Vec<(&str, &str)> = ctx
        .reports
        .iter()
        .filter_map(|r| match &r.state {
            TaskOutcome::Blocked { reason } => Some((r.id.as_str(), reason.as_str())),
            _ => None,
        })
        .collect();
    let state_of = |ctx: &Ctx<'_>, id: &str, current: Status| -> &'static str {
        if ctx.done.contains(id) || current == Status::Done {
            "done"
        } else if blocked.iter().any(|(b, _)| *b == id) {
            "blocked"
        } else {
            "pending"
        }
    };
    match status_src {
        Some(src) => planpipe_edit_status(ctx, src, &blocked),
        None => {
            let dir = ctx.base.clone();
            let stage6 = if ctx.base != base_dir_plain(ctx.loaded) { dir.join("stage-6") } else { dir };
            let mut out = String::from(
                "# Execution Status\n\n## Current State\n\n| ID | Title | Status | Notes |\n|----|-------|--------|-------|\n",
            );
            for t in &ctx.loaded.plan.tasks {
                if t.id.is_empty() {
                    continue;
                }
                let state = state_of(ctx, &t.id, t.status);
                let note = blocked.iter().find(|(b, _)| *b == t.id).map(|(_, r)| *r).unwrap_or("");
                out.push_str(&format!("| {} | {} | {state} | {} |\n", t.id, cell_text(&t.title), cell_text(note)));
            }
            let any_change =
                ctx.loaded.plan.tasks.iter().any(|t| ctx.done.contains(t.id.as_str()) && t.status != Status::Done)
                    || !blocked.is_empty();
            if any_change {
                ctx.create(stage6.join("execution-status.md"), out);
            }
        }
    }
    // execution-summary.md, once every subtask is done.
    let tasks = &ctx.loaded.plan.tasks;
    if !tasks.is_empty() && tasks.iter().all(|t| t.status == Status::Done || ctx.done.contains(t.id.as_str())) {
        let dir = match status_src {
            Some(src) => ctx.loaded.sources.path(src).parent().map(Path::to_path_buf).unwrap_or_default(),
            None if ctx.base != base_dir_plain(ctx.loaded) => ctx.base.join("stage-6"),
            None => ctx.base.clone(),
        };
        let mut out = format!(
            "# Execution Summary: {}\n\n## Result\n\nAll {} subtasks are done.\n\n## Subtasks\n\n| ID | Title | Status | Notes |\n|----|-------|--------|-------|\n",
            cell_text(&ctx.loaded.plan.title),
            tasks.len()
        );
        for t in tasks {
            let note = ctx.report(&t.id).and_then(|r| r.summary.as_deref()).map_or_else(
                || if ctx.done.contains(t.id.as_str()) { String::new() } else { "done before this run".to_owned() },
                cell_text,
            );
            out.push_str(&format!("| {} | {} | done | {note} |\n", t.id, cell_text(&t.title)));
        }
        ctx.replace(dir.join("execution-summary.md"), out);
    }
}

/// The plan's folder without the planpipe/cm adjustment.
fn base_dir_plain(loaded: &Loaded) -> PathBuf {
    let root = &loaded.root;
    if root.is_dir() { root.clone() } else { root.parent().map(Path::to_path_buf).unwrap_or_default() }
}

/// Text safe inside a table cell: one line, `|` escaped.
fn cell_text(s: &str) -> String {
    crate::model::one_line(s).replace('|', "\\|")
}

fn planpipe_edit_status(ctx: &mut Ctx<'_>, src: SourceId, blocked: &[(&str, &str)]) {
    let text = ctx.text(src);
    let nl = eol(text);
    let mut header: Option<(usize, usize, Option<usize>, usize)> = None; // id, status, title columns; count
    let mut in_table = false;
    let mut seen: HashSet<String> = HashSet::new();
    let mut last_row_end: Option<usize> = None;
    let mut first_table_done = false;
    for line in md::lines(text) {
        if line.in_fence {
            in_table = false;
            continue;
        }
        let Some(cs) = cells(line.text) else {
            if in_table && header.is_some() {
                first_table_done = true;
            }
            in_table = false;
            continue;
        };
        let words: Vec<&str> = cs.iter().map(|&(a, b)| line.text.get(a..b).unwrap_or("").trim()).collect();
        if words.iter().all(|w| !w.is_empty() && w.chars().all(|c| matches!(c, '-' | ':' | ' '))) {
            continue;
        }
        if !in_table {
            in_table = true;
            let lower: Vec<String> = words.iter().map(|w| w.to_ascii_lowercase()).collect();
            let id = lower.iter().position(|c| c == "id" || c == "subtask" || c == "task" || c == "st");
            let st = lower.iter().position(|c| c == "status" || c == "state");
            let title = lower.iter().position(|c| c == "title" || c == "name");
            if header.is_none() {
                if let (Some(i), Some(s)) = (id, st) {
                    header = Some((i, s, title, cs.len()));
                }
            }
            continue;
        }
        let Some((ic, sc, _, _)) = header else { continue };
        if first_table_done {
            continue;
        }
        last_row_end = Some(line.start + line.text.len());
        let (Some(id_word), Some(&range)) = (words.get(ic), cs.get(sc)) else { continue };
        let id = id_word.trim_matches('`').trim().to_owned();
        let key = ctx
            .loaded
            .plan
            .tasks
            .iter()
            .map(|t| t.id.as_str())
            .find(|t| t.eq_ignore_ascii_case(&id))
            .map(str::to_owned)
            .unwrap_or(id);
        let (a, b) = trimmed_range(line.text, range);
        let current = planpipe_word(line.text.get(a..b).unwrap_or(""));
        if ctx.done.contains(key.as_str()) {
            if !matches!(current.as_str(), "done" | "completed" | "complete" | "closed" | "passed") {
                ctx.patch(src, line.start + a, line.start + b, "done");
            }
        } else if blocked.iter().any(|(b, _)| *b == key)
            && !matches!(current.as_str(), "done" | "completed" | "complete" | "closed" | "passed" | "blocked")
        {
            ctx.patch(src, line.start + a, line.start + b, "blocked");
        }
        seen.insert(key);
    }
    // Done subtasks without a row get one.
    let missing: Vec<(String, String)> = ctx
        .loaded
        .plan
        .tasks
        .iter()
        .filter(|t| !t.id.is_empty() && ctx.done.contains(t.id.as_str()) && !seen.contains(&t.id))
        .map(|t| (t.id.clone(), t.title.clone()))
        .collect();
    if missing.is_empty() {
        return;
    }
    match (header, last_row_end) {
        (Some((ic, sc, tc, n)), Some(end)) => {
            let mut rows = String::new();
            for (id, title) in &missing {
                let cols: Vec<String> = (0..n)
                    .map(|c| {
                        if c == ic {
                            id.clone()
                        } else if c == sc {
                            "done".to_owned()
                        } else if Some(c) == tc {
                            cell_text(title)
                        } else {
                            String::new()
                        }
                    })
                    .collect();
                rows.push_str(&format!("{nl}| {} |", cols.join(" | ")));
            }
            ctx.patch(src, end, end, rows);
        }
        _ => {
            let mut add = String::new();
            if !text.is_empty() && !text.ends_with('\n') {
                add.push_str(nl);
            }
            add.push_str(&format!(
                "{nl}## Subtask Status{nl}{nl}| ID | Title | Status |{nl}|----|-------|--------|{nl}"
            ));
            for (id, title) in &missing {
                add.push_str(&format!("| {id} | {} | done |{nl}", cell_text(title)));
            }
            ctx.patch(src, text.len(), text.len(), add);
        }
    }
}
