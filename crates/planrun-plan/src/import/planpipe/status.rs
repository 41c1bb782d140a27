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
    let mut escaped = false;
    for &(i, c) in bytes.iter().skip(1) {
        // `\|` is a pipe inside a cell.
        if c == '|' && !escaped {
            out.push((base + from, base + i));
            from = i + 1;
        }
        escaped = c == '\\' && !escaped;
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

/// What a row of `execution-status.md` should say of one subtask: its state word and, when
/// planrun has something to say, its note.
struct Row {
    word: &'static str,
    note: Option<String>,
    /// The note replaces only one planrun wrote (a live state's), not the user's.
    note_over_ours_only: bool,
}

/// Whether a note is one planrun wrote for a live state.
fn our_note(note: &str) -> bool {
    note.trim().strip_prefix("attempt ").is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
}

/// The words of planpipe's states that mean done.
const DONE_WORDS: &[&str] = &["done", "completed", "complete", "closed", "passed"];
/// The states planrun writes while a subtask is worked on; stale once it is not.
const LIVE_WORDS: &[&str] = &["in_progress", "in_review", "rework"];

/// The row a report asks for, given the row's current word (`None`: leave the row alone).
/// Done is never taken back, blocked is only replaced by done, and a live state planrun wrote
/// goes back to `pending` when the subtask is no longer worked on.
fn row_for(ctx: &Ctx<'_>, id: &str, current: &str) -> Option<Row> {
    let report = ctx.report(id);
    let attempt = report.map_or(0, |r| r.attempts);
    let done_before = DONE_WORDS.contains(&current);
    if ctx.done.contains(id) {
        let note = report.and_then(|r| r.summary.clone());
        return (!done_before).then_some(Row { word: "done", note, note_over_ours_only: true });
    }
    if done_before {
        return None;
    }
    let state = report.map(|r| &r.state);
    let (word, note) = match state {
        Some(TaskOutcome::Blocked { reason }) => ("blocked", reason.clone()),
        Some(TaskOutcome::InProgress) => ("in_progress", format!("attempt {attempt}")),
        Some(TaskOutcome::InReview) => ("in_review", format!("attempt {attempt}: checks and reviews running")),
        Some(TaskOutcome::Rework { reason }) => ("rework", format!("attempt {attempt}, rework: {reason}")),
        _ if LIVE_WORDS.contains(&current) => {
            return Some(Row { word: "pending", note: Some(String::new()), note_over_ours_only: true });
        }
        _ => return None,
    };
    Some(Row { word, note: Some(note), note_over_ours_only: false })
}

/// planpipe: each subtask's row of `execution-status.md` follows the run (`in_progress`,
/// `in_review`, `rework` with the reason, `blocked` with the reason, `done`), the file created
/// in `stage-6/` when missing, and `execution-summary.md` once every subtask is done.
pub(crate) fn planpipe(ctx: &mut Ctx<'_>) {
    let status_src = ctx
        .loaded
        .sources
        .ids()
        .find(|&id| ctx.loaded.sources.path(id).file_name().is_some_and(|n| n == "execution-status.md"));
    match status_src {
        Some(src) => planpipe_edit_status(ctx, src),
        None => {
            let dir = ctx.base.clone();
            let stage6 = if ctx.base != base_dir_plain(ctx.loaded) { dir.join("stage-6") } else { dir };
            let mut out = String::from(
                "# Execution Status\n\n## Current State\n\n| ID | Title | Status | Notes |\n|----|-------|--------|-------|\n",
            );
            let mut any_change = false;
            for t in &ctx.loaded.plan.tasks {
                if t.id.is_empty() {
                    continue;
                }
                let current = if t.status == Status::Done { "done" } else { "pending" };
                let row = row_for(ctx, &t.id, current);
                any_change |= row.is_some();
                let (word, note) = row.map_or((current, String::new()), |r| (r.word, r.note.unwrap_or_default()));
                out.push_str(&format!("| {} | {} | {word} | {} |\n", t.id, cell_text(&t.title), cell_text(&note)));
            }
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

/// Where the status table keeps what planrun writes.
#[derive(Debug, Clone, Copy)]
struct Columns {
    id: usize,
    status: usize,
    title: Option<usize>,
    notes: Option<usize>,
    /// Review cycles: the rejected attempts.
    cycles: Option<usize>,
    /// How many columns there are.
    count: usize,
}

fn planpipe_edit_status(ctx: &mut Ctx<'_>, src: SourceId) {
    let text = ctx.text(src);
    let nl = eol(text);
    let mut header: Option<Columns> = None;
    let mut in_table = false;
    let mut seen: HashSet<String> = HashSet::new();
    let mut last_row_end: Option<usize> = None;
    let mut first_table_done = false;
    // Each listed subtask's word once the run's rows are written, in the table's order.
    let mut finals: Vec<(String, String)> = Vec::new();
    let mut changed = false;
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
            let notes = lower.iter().position(|c| matches!(c.as_str(), "notes" | "note" | "reason" | "details"));
            if header.is_none() {
                if let (Some(i), Some(s)) = (id, st) {
                    let cycles = lower.iter().position(|c| {
                        let c = c.replace(['_', '-'], " ");
                        c == "review cycles" || c == "rework cycles" || c == "cycles"
                    });
                    header = Some(Columns { id: i, status: s, title, notes, cycles, count: cs.len() });
                }
            }
            continue;
        }
        let Some(Columns { id: ic, status: sc, notes: nc, cycles: cycles_col, .. }) = header else { continue };
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
        if let (Some(r), Some(&cell)) =
            (ctx.report(&key).filter(|r| r.attempts > 0), cycles_col.and_then(|c| cs.get(c)))
        {
            let (ca, cb) = trimmed_range(line.text, cell);
            let n = r.failures.to_string();
            if line.text.get(ca..cb) != Some(n.as_str()) {
                let (ca, cb, n) = if ca == cb { (cell.0, cell.1, format!(" {n} ")) } else { (ca, cb, n) };
                ctx.patch(src, line.start + ca, line.start + cb, n);
            }
        }
        let row = row_for(ctx, &key, &current);
        finals.push((key.clone(), row.as_ref().map_or_else(|| current.clone(), |r| r.word.to_owned())));
        seen.insert(key);
        let Some(row) = row else { continue };
        changed = true;
        ctx.patch(src, line.start + a, line.start + b, row.word);
        if let (Some(note), Some(&cell)) = (row.note, nc.and_then(|c| cs.get(c))) {
            let (na, nb) = trimmed_range(line.text, cell);
            let current = line.text.get(na..nb).unwrap_or("");
            if row.note_over_ours_only && !current.is_empty() && !our_note(current) {
                continue;
            }
            let replace = if na == nb { format!(" {} ", cell_text(&note)) } else { cell_text(&note) };
            let (na, nb) = if na == nb { cell } else { (na, nb) };
            ctx.patch(src, line.start + na, line.start + nb, replace);
        }
    }
    // Subtasks without a row get one when there is something to say.
    let missing: Vec<(String, String, Row)> = ctx
        .loaded
        .plan
        .tasks
        .iter()
        .filter(|t| !t.id.is_empty() && !seen.contains(&t.id))
        .filter_map(|t| {
            let current = if t.status == Status::Done { "done" } else { "pending" };
            row_for(ctx, &t.id, current).map(|r| (t.id.clone(), t.title.clone(), r))
        })
        .collect();
    finals.extend(missing.iter().map(|(id, _, r)| (id.clone(), r.word.to_owned())));
    if changed || !missing.is_empty() {
        refresh_counts(ctx, src, &finals);
    }
    if missing.is_empty() {
        return;
    }
    match (header, last_row_end) {
        (Some(Columns { id: ic, status: sc, title: tc, notes, count: n, .. }), Some(end)) => {
            let mut rows = String::new();
            for (id, title, row) in &missing {
                let cols: Vec<String> = (0..n)
                    .map(|c| {
                        if c == ic {
                            id.clone()
                        } else if c == sc {
                            row.word.to_owned()
                        } else if Some(c) == tc {
                            cell_text(title)
                        } else if Some(c) == notes {
                            cell_text(row.note.as_deref().unwrap_or(""))
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
                "{nl}## Subtask Status{nl}{nl}| ID | Title | Status | Notes |{nl}|----|-------|--------|-------|{nl}"
            ));
            for (id, title, row) in &missing {
                add.push_str(&format!(
                    "| {id} | {} | {} | {} |{nl}",
                    cell_text(title),
                    row.word,
                    cell_text(row.note.as_deref().unwrap_or(""))
                ));
            }
            ctx.patch(src, text.len(), text.len(), add);
        }
    }
}

/// The "Status Summary" table of `execution-status.md` (`| Status | Count | Subtasks |`), when
/// there is one, rewritten from the subtasks' words: one row per state, in the order planpipe
/// lists them, states no subtask is in left out.
fn refresh_counts(ctx: &mut Ctx<'_>, src: SourceId, words: &[(String, String)]) {
    const ORDER: &[&str] = &["done", "in_review", "in_progress", "rework", "blocked", "ready", "pending"];
    let text = ctx.text(src);
    let nl = eol(text);
    // (status, count, list) columns, and the byte range of the table's rows.
    let mut cols: Option<(usize, Option<usize>, usize, usize)> = None;
    let mut rows: Option<(usize, usize)> = None;
    let mut in_table = false;
    for line in md::lines(text) {
        let table_line = !line.in_fence && cells(line.text).is_some();
        if !table_line {
            if rows.is_some() {
                break;
            }
            in_table = false;
            continue;
        }
        let Some(cs) = cells(line.text) else { continue };
        let words: Vec<String> =
            cs.iter().map(|&(a, b)| line.text.get(a..b).unwrap_or("").trim().to_ascii_lowercase()).collect();
        if words.iter().all(|w| !w.is_empty() && w.chars().all(|c| matches!(c, '-' | ':' | ' '))) {
            continue;
        }
        if !in_table {
            in_table = true;
            if cols.is_none() {
                let st = words.iter().position(|c| c == "status" || c == "state");
                let count = words.iter().position(|c| c == "count" || c == "#");
                let list = words.iter().position(|c| c.contains("subtasks") || c.contains("tasks"));
                let id = words.iter().position(|c| c == "id" || c == "subtask" || c == "task" || c == "st");
                if let (Some(s), Some(l), None) = (st, list, id) {
                    cols = Some((s, count, l, cs.len()));
                }
            }
            continue;
        }
        if cols.is_some() {
            let end = line.start + line.text.len();
            rows = Some(rows.map_or((line.start, end), |(a, _)| (a, end)));
        }
    }
    let (Some((sc, cc, lc, n)), Some((start, end))) = (cols, rows) else { return };
    let mut states: Vec<&str> = ORDER.iter().copied().filter(|o| words.iter().any(|(_, w)| w == o)).collect();
    for (_, w) in words {
        if !states.contains(&w.as_str()) {
            states.push(w);
        }
    }
    let mut out: Vec<String> = Vec::new();
    for state in states {
        let ids: Vec<&str> = words.iter().filter(|(_, w)| w == state).map(|(id, _)| id.as_str()).collect();
        let row: Vec<String> = (0..n)
            .map(|c| {
                if c == sc {
                    state.to_owned()
                } else if Some(c) == cc {
                    ids.len().to_string()
                } else if c == lc {
                    ids.join(", ")
                } else {
                    String::new()
                }
            })
            .collect();
        out.push(format!("| {} |", row.join(" | ")));
    }
    ctx.patch(src, start, end, out.join(nl));
}
