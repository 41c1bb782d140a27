//! The superpowers importer: a markdown plan under `docs/superpowers/plans/` made of
//! `### Task N: <Component>` sections with `**Files:**` lists and ticked `- [ ] **Step N: …**`
//! checkboxes, plus the progress ledger `.superpowers/sdd/<plan>/progress.md` when one exists.
//! Tasks run in plan order; the ledger and fully ticked steps carry over what is done.

mod fields;
mod files;
mod ledger;
mod shell;
pub(crate) mod status;
mod verify;

use fields::*;
use files::*;
use ledger::*;
use shell::*;
use verify::*;

use crate::diag::Diagnostic;
use crate::md::{self, Line};
use crate::model::{self, Status, Task};
use crate::reader::commands;
use crate::reader::{Detection, Format, LoadError, Loaded, PlanBuilder};
use crate::source::{SourceId, Span, TaskSpans};
use std::path::{Path, PathBuf};

/// Folders (relative to a repository root) plans are saved in; `docs/plans` is where older
/// releases of the tool wrote them.
const PLAN_DIRS: [&str; 2] = ["docs/superpowers/plans", "docs/plans"];

pub(crate) fn detect(path: &Path) -> Detection {
    if !path.is_dir() {
        return if looks_superpowers(path) { Detection::Yes(path.to_owned()) } else { Detection::No };
    }
    let mut dirs: Vec<PathBuf> = PLAN_DIRS.iter().map(|d| path.join(d)).collect();
    // The user may also point at `docs/superpowers`, `docs/superpowers/plans` or `docs/plans`.
    dirs.push(path.join("plans"));
    if path.file_name().is_some_and(|n| n == "plans") {
        dirs.push(path.to_owned());
    }
    let mut found: Vec<PathBuf> = Vec::new();
    for dir in dirs.iter().filter(|d| d.is_dir()) {
        for entry in crate::reader::sorted_entries(dir) {
            let is_md = entry.extension().is_some_and(|e| e.eq_ignore_ascii_case("md"));
            if is_md && entry.is_file() && looks_superpowers(&entry) && !found.contains(&entry) {
                found.push(entry);
            }
        }
    }
    match found.len() {
        0 => Detection::No,
        1 => found.pop().map_or(Detection::No, Detection::Yes),
        _ => Detection::Ambiguous(found),
    }
}

/// A markdown text with numbered `Task N:` headings (in English or another language) and
/// something only superpowers writes: a `**Files:**` field under `###` task headings, step
/// checkboxes (`- [ ] **Step 1: …**`), `Run:` / `Expected:` lines, or a mention of superpowers.
/// planrun's own markdown also has `## Task <id>:` headings and a `Files:` field, so `##` task
/// headings need one of the signs other than `Files:`.
fn looks_superpowers(path: &Path) -> bool {
    if crate::reader::is_json(path) {
        return false;
    }
    let Some(bytes) = crate::reader::peek_bytes(path) else {
        return false;
    };
    let text = String::from_utf8_lossy(&bytes);
    let lines = md::lines_nested(&text);
    let outside = || lines.iter().filter(|l| !l.in_fence);
    let task_levels: Vec<usize> = outside()
        .filter_map(|l| md::heading(l.text))
        .filter(|(lvl, t)| (2..=4).contains(lvl) && task_heading(t).is_some_and(|h| !h.number.is_empty()))
        .map(|(lvl, _)| lvl)
        .collect();
    if task_levels.is_empty() {
        return false;
    }
    let has_files = outside().any(|l| field(l.text).is_some_and(|(k, _, _)| key_in(k, FILES_KEYS)));
    let entries =
        || outside().any(|l| md::bullet(l.text).is_some() && field(l.text).is_some_and(|(k, _, _)| is_entry_key(k)));
    let steps = || outside().any(|l| step_title(l.text).is_some_and(is_numbered_step));
    let run_expected =
        || outside().any(|l| field(l.text).is_some_and(|(k, _, _)| key_in(k, RUN_KEYS) || key_in(k, EXPECTED_KEYS)));
    let mention = || text.contains("superpowers:") || text.contains("REQUIRED SUB-SKILL");
    let others = || entries() || steps() || run_expected() || mention();
    if task_levels.iter().any(|&l| l > 2) { has_files || others() } else { others() }
}

pub(crate) fn load(path: &Path) -> Result<Loaded, LoadError> {
    let mut b = PlanBuilder::new(Format::Superpowers, path);
    let src = b.read(path)?;
    parse_into(&mut b, src);
    if let Some(ledger) = find_ledger(path) {
        let id = b.read(&ledger)?;
        apply_ledger(&mut b, id);
    }
    Ok(b.finish())
}

/// A parsed task heading.
#[derive(Debug, Clone, Copy)]
struct Heading<'a> {
    done: bool,
    /// The task number as written (`3`, `2.1`, `4b`), empty when missing.
    number: &'a str,
    title: &'a str,
}

/// The word a task heading starts with, in the languages plans are written in.
const TASK_WORDS: &[&str] =
    &["task", "任务", "任務", "タスク", "작업", "tarea", "tarefa", "aufgabe", "tâche", "tache", "задача", "compito"];

/// `text` without a leading `word` (compared case-insensitively), if it starts with it.
fn strip_word<'a>(text: &'a str, word: &str) -> Option<&'a str> {
    let mut rest = text;
    for w in word.chars() {
        let c = rest.chars().next()?;
        if !c.to_lowercase().eq(w.to_lowercase()) {
            return None;
        }
        rest = rest.get(c.len_utf8()..)?;
    }
    Some(rest)
}

/// `Task N: <Component>` (also `Task N - …`, `Task N. …`, `task n …`, `任务 1：…`, `タスク1: …`),
/// with an optional done mark before it (✅) or after it (✅, `(done)`, `(complete)`).
fn task_heading(text: &str) -> Option<Heading<'_>> {
    let (done_before, rest) = md::strip_done_mark(text);
    let (word, after) = TASK_WORDS.iter().find_map(|w| strip_word(rest, w).map(|a| (*w, a)))?;
    let trimmed = after.trim_start();
    let number = if trimmed.starts_with([':', '：']) {
        ""
    } else {
        // Latin words need a space before the number ("Task 3", not "Tasks"); CJK ones do not.
        let spaced = after.starts_with([' ', '\t']) || !word.is_ascii();
        if !spaced || !trimmed.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        let end = trimmed.find(|c: char| !(c.is_ascii_alphanumeric() || c == '.')).unwrap_or(trimmed.len());
        trimmed.get(..end).unwrap_or("").trim_end_matches('.')
    };
    let tail = trimmed.get(number.len()..).unwrap_or("").trim_start();
    let tail = tail.strip_prefix([':', '：', '—', '–', '-', '.', '、']).unwrap_or(tail).trim();
    let (done_after, title) = strip_trailing_done(tail);
    Some(Heading { done: done_before || done_after, number, title })
}

/// Whether a heading or bold line reads like a task heading planrun could not take: `Task A: …`
/// (no number), or `**Task 3: …**` written in bold instead of as a heading.
fn looks_like_task(text: &str) -> bool {
    let t = text.trim().trim_start_matches("**").trim_start();
    let Some(after) = TASK_WORDS.iter().find_map(|w| strip_word(t, w)) else {
        return false;
    };
    let after = after.trim_start();
    let token_end = after.find([':', '：']).unwrap_or(after.len());
    let token = after.get(..token_end).unwrap_or("");
    token_end < after.len() && !token.is_empty() && !token.contains(char::is_whitespace)
}

/// Removes a done mark written after a heading's text.
fn strip_trailing_done(text: &str) -> (bool, &str) {
    let t = text.trim_end();
    for mark in ["✅", "✔️", "✔", "☑"] {
        if let Some(rest) = t.strip_suffix(mark) {
            return (true, rest.trim_end());
        }
    }
    let lower = t.to_ascii_lowercase();
    for mark in ["(done)", "[done]", "(complete)", "(completed)", "[complete]", "[completed]"] {
        if lower.ends_with(mark) {
            return (true, t.get(..t.len() - mark.len()).unwrap_or(t).trim_end());
        }
    }
    (false, t)
}

/// A task being read: its heading and body lines.
struct Draft<'a> {
    heading: Heading<'a>,
    level: usize,
    line: Line<'a>,
    body: Vec<Line<'a>>,
}

/// Commands each step ran, by task number and step number, for steps that say "run the command
/// of Task 1 Step 2".
/// The commands the plan has shown so far, for steps that refer back to them.
#[derive(Default)]
struct StepCommands {
    /// By task and step number: "Run the command of Task 1 Step 2".
    by_step: std::collections::HashMap<(String, String), Vec<(String, Span)>>,
    /// Every command in plan order, checks or not: "Run `RelicTest.tscn`" names one of them.
    all: Vec<(String, Span)>,
    /// The last commands of the task being read, checks or not: "run it again", "same command".
    last: Vec<(String, Span)>,
}

fn parse_into(b: &mut PlanBuilder, src: SourceId) {
    let text = b.text(src).to_owned();
    let mut refs = StepCommands::default();
    let lines = md::lines_nested(&text);
    let mut title_seen = false;
    let mut context: Vec<&str> = Vec::new();
    let mut draft: Option<Draft<'_>> = None;

    for line in &lines {
        let heading = if line.in_fence { None } else { md::heading(line.text) };
        if let Some((level, t)) = heading {
            if level == 1 && !title_seen && draft.is_none() && b.plan.tasks.is_empty() {
                title_seen = true;
                b.plan.title = t.to_owned();
                continue;
            }
            if let Some(h) = task_heading(t).filter(|_| (2..=4).contains(&level)) {
                flush(b, src, draft.take(), &mut refs);
                draft = Some(Draft { heading: h, level, line: *line, body: Vec::new() });
                continue;
            }
            if task_heading(t).is_some() || looks_like_task(t) {
                warn_unread_task(
                    b,
                    src,
                    line,
                    "this heading looks like a task but has no task number, or is not a `##`–`####` heading",
                );
            }
            // A heading as high as the task's own ends the task: what follows is plan-wide.
            if draft.as_ref().is_some_and(|d| level <= d.level) {
                flush(b, src, draft.take(), &mut refs);
            }
        } else if !line.in_fence && line.text.trim_start().starts_with("**") && looks_like_task(line.text) {
            warn_unread_task(b, src, line, "this bold line looks like a task heading");
        }
        match draft.as_mut() {
            Some(d) => d.body.push(*line),
            None => context.push(line.text),
        }
    }
    flush(b, src, draft.take(), &mut refs);
    follow_numbers(b);
    b.plan.context = clean_context(&context);
    if b.plan.tasks.is_empty() {
        b.warn(
            Diagnostic::error("no-tasks", "no `### Task N: …` headings were found in this plan")
                .at(Some(Span::new(src, 0, 0)))
                .help("write each task as `### Task 1: <Component>`"),
        );
    }
}

/// Tasks written out of their numbers' order (1, 2, 4, 3, 5, often with a note that Task 3 runs
/// before Task 4) run in the order of their numbers: the dependency each task had on the one
/// written before it goes to the one numbered before it. Plans whose numbers cannot all be
/// compared (missing or repeated) keep the written order.
fn follow_numbers(b: &mut PlanBuilder) {
    fn key(id: &str) -> Option<Vec<(u64, String)>> {
        let number = id.strip_prefix("task-")?;
        number
            .split('.')
            .map(|part| {
                let digits = part.len() - part.trim_start_matches(|c: char| c.is_ascii_digit()).len();
                let n = part.get(..digits)?.parse().ok()?;
                Some((n, part.get(digits..)?.to_owned()))
            })
            .collect()
    }
    let Some(keys) = b.plan.tasks.iter().map(|t| key(&t.id)).collect::<Option<Vec<_>>>() else {
        return;
    };
    let mut order: Vec<(Vec<(u64, String)>, usize)> = keys.into_iter().zip(0..).collect();
    order.sort();
    let repeated = order.windows(2).any(|w| matches!(w, [x, y] if x.0 == y.0));
    if repeated || order.iter().enumerate().all(|(i, (_, t))| i == *t) {
        return;
    }
    let mut numbered_prev: Vec<Option<String>> = vec![None; b.plan.tasks.len()];
    for w in order.windows(2) {
        if let [(_, before), (_, after)] = w
            && let Some(slot) = numbered_prev.get_mut(*after)
        {
            *slot = b.plan.tasks.get(*before).map(|t| t.id.clone());
        }
    }
    let mut written_prev: Option<String> = None;
    for ((task, spans), numbered) in b.plan.tasks.iter_mut().zip(b.task_spans.iter_mut()).zip(numbered_prev) {
        let head = spans.head();
        let implied = match &written_prev {
            Some(prev) if task.depends_on.first() == Some(prev) => {
                task.depends_on.remove(0);
                (!spans.depends_on.is_empty()).then(|| spans.depends_on.remove(0))
            }
            // The task written first depends on nothing by plan order.
            None => head,
            Some(_) => None,
        };
        written_prev = Some(task.id.clone());
        if let (Some(prev), Some(span)) = (numbered, implied)
            && !task.depends_on.contains(&prev)
        {
            task.depends_on.insert(0, prev);
            spans.depends_on.insert(0, span);
        }
    }
}

fn warn_unread_task(b: &mut PlanBuilder, src: SourceId, line: &Line<'_>, what: &str) {
    b.warn(
        Diagnostic::warning("unread-task", format!("`{}`: {what}; it is not read as a task", line.text.trim()))
            .at(Some(line_span(src, line)))
            .help("write tasks as `### Task 3: <Component>` headings, numbered"),
    );
}

/// The plan's context without the note addressed to the agent that executes the plan by hand:
/// planrun is that executor, and an implementer told to run the whole plan would overreach.
fn clean_context(lines: &[&str]) -> String {
    let mut out: Vec<&str> = Vec::new();
    let mut skipping = false;
    for l in lines {
        let quoted = l.trim_start().starts_with('>');
        if quoted && (l.to_ascii_uppercase().contains("REQUIRED SUB-SKILL") || l.contains("superpowers:")) {
            skipping = true;
            continue;
        }
        if skipping && quoted && !l.trim_start().trim_start_matches('>').trim().is_empty() {
            continue;
        }
        skipping = false;
        out.push(l);
    }
    // A lone horizontal rule left between the header and the first task says nothing.
    while out.last().is_some_and(|l| l.trim().is_empty() || l.trim() == "---") {
        out.pop();
    }
    model::block(&out.join("\n"))
}

fn line_span(src: SourceId, line: &Line<'_>) -> Span {
    Span::new(src, line.start, line.start + line.text.len())
}

fn flush(b: &mut PlanBuilder, src: SourceId, draft: Option<Draft<'_>>, refs: &mut StepCommands) {
    let Some(d) = draft else { return };
    let head_span = line_span(src, &d.line);
    let id = if d.heading.number.is_empty() {
        String::new()
    } else {
        format!("task-{}", d.heading.number.to_ascii_lowercase())
    };
    let mut task = Task::new(id, model::one_line(d.heading.title));
    let mut spans = TaskSpans::at(head_span);
    // An empty title is reported by validation, at the heading.
    spans.title =
        Some(sub_span(src, &d.line, d.heading.title).filter(|_| !d.heading.title.is_empty()).unwrap_or(head_span));
    if d.heading.number.is_empty() {
        b.warn(
            Diagnostic::error("missing-id", "this task heading has no task number")
                .at(Some(head_span))
                .help("number every task: `### Task 3: <Component>`"),
        );
    } else {
        spans.id = sub_span(src, &d.line, d.heading.number);
    }
    // Plan order: each task starts after the one written before it. The dependency is implied
    // by the heading's place, so the heading is where it is "written".
    if let Some(prev) = b.plan.tasks.iter().rev().find(|t| !t.id.is_empty()) {
        task.depends_on.push(prev.id.clone());
        spans.depends_on.push(head_span);
    }
    read_files(b, src, &d.body, &mut task, &mut spans);
    read_dependencies(b, src, &d.body, &mut task, &mut spans);
    let criteria = read_acceptance(src, &d.body, d.level);
    for (c, span) in criteria.items {
        task.acceptance.push(c);
        spans.acceptance.push(span);
    }
    for (cmd, span) in read_verify(b, src, &d.body, d.heading.number, refs) {
        task.verify.push(cmd);
        spans.verify.push(span);
    }
    // Steps are done when every step box is ticked; boxes of the acceptance list do not count
    // unless there are no others.
    let boxes: Vec<(bool, &Line<'_>)> = d
        .body
        .iter()
        .enumerate()
        .filter(|(_, l)| !l.in_fence)
        .filter_map(|(i, l)| md::checkbox(l.text).map(|(c, _)| (i, c, l)))
        .filter(|(i, _, _)| !criteria.lines.contains(i))
        .map(|(_, c, l)| (c, l))
        .collect();
    let boxes = if boxes.is_empty() {
        d.body
            .iter()
            .filter(|l| !l.in_fence)
            .filter_map(|l| md::checkbox(l.text).map(|(c, _)| (c, l)))
            .collect::<Vec<_>>()
    } else {
        boxes
    };
    if d.heading.done {
        task.status = Status::Done;
        spans.status = Some(head_span);
    } else if !boxes.is_empty() && boxes.iter().all(|(c, _)| *c) {
        task.status = Status::Done;
        if let (Some((_, first)), Some((_, last))) = (boxes.first(), boxes.last()) {
            spans.status = Some(Span::new(src, first.start, last.start + last.text.len()));
        }
    }
    task.description = model::block(&d.body.iter().map(|l| l.text).collect::<Vec<_>>().join("\n"));
    let first = d.body.iter().find(|l| !l.text.trim().is_empty());
    let last = d.body.iter().rev().find(|l| !l.text.trim().is_empty());
    if let (Some(f), Some(l), false) = (first, last, task.description.is_empty()) {
        spans.description = Some(Span::new(src, f.start, l.start + l.text.len()));
    }
    b.push(task, spans);
}

/// The span of `part` (a sub-slice of the line's text) in the source.
fn sub_span(src: SourceId, line: &Line<'_>, part: &str) -> Option<Span> {
    let off = md::offset_in(line.text, part)?;
    Some(Span::new(src, line.start + off, line.start + off + part.len()))
}

#[cfg(test)]
mod tests;
