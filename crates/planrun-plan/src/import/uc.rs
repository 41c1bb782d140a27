//! Task-folder plans: `documentation/plans/<plan>/tasks/task-N/task.md`, one brief per task
//! (description, **Files:**, **Research:** pointers, success criteria, dependencies), with an
//! optional plan README (title and task index) and checkpoint files recording finished tasks.
//!
//! Done status is read leniently from whatever a real folder shows: a `Status: done` line or a
//! ✅ title in `task.md`, a ✅ or `[x]` on the task's README index entry, or the task listed as
//! completed in a checkpoint file or `plan.json`. An `impl.md` alone is not enough (it is written
//! before review and test pass); such tasks stay pending with a warning.

use super::{Detection, Format, LoadError, Loaded, PlanBuilder, natural_cmp, sorted_entries};
use crate::diag::Diagnostic;
use crate::json::{self, JKind, JValue};
use crate::md::{self, Line};
use crate::model::{self, Status, Task};
use crate::source::{SourceId, Span, TaskSpans};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Detection and loading look at no more entries than this in one folder.
const MAX_ENTRIES: usize = 500;
/// Checkpoint and state files larger than this are not read: they are not hand-written notes.
const MAX_STATE_BYTES: u64 = 4 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Detection

pub(crate) fn detect(path: &Path) -> Detection {
    if path.is_file() {
        let name = file_name(path).to_ascii_lowercase();
        if name == "task.md"
            && (task_number(&file_name(path.parent().unwrap_or(path))).is_some() || looks_like_task(path))
        {
            return Detection::Yes(path.to_owned());
        }
        if name == "readme.md" {
            if let Some(dir) = path.parent() {
                if is_plan_dir(dir) {
                    return Detection::Yes(dir.to_owned());
                }
            }
        }
        return Detection::No;
    }
    if !path.is_dir() {
        return Detection::No;
    }
    if is_plan_dir(path) {
        return Detection::Yes(path.to_owned());
    }
    let name = file_name(path).to_ascii_lowercase();
    if name == "tasks" && has_task_dirs(path) {
        return Detection::Yes(path.parent().map_or_else(|| path.to_owned(), Path::to_path_buf));
    }
    let task_md = path.join("task.md");
    if task_number(&name).is_some() && task_md.is_file() {
        return Detection::Yes(task_md);
    }
    let containers = [
        (name == "plans").then(|| path.to_owned()),
        (name == "documentation").then(|| path.join("plans")),
        Some(path.join("documentation").join("plans")),
    ];
    for dir in containers.into_iter().flatten() {
        if !dir.is_dir() {
            continue;
        }
        let plans: Vec<PathBuf> =
            sorted_entries(&dir).into_iter().take(MAX_ENTRIES).filter(|p| is_plan_dir(p)).collect();
        match plans.len() {
            0 => {}
            1 => {
                return plans.into_iter().next().map_or(Detection::No, Detection::Yes);
            }
            _ => return Detection::Ambiguous(plans),
        }
    }
    Detection::No
}

/// A folder with `tasks/task-N/task.md` (or `tasks/task-N.md`).
fn is_plan_dir(dir: &Path) -> bool {
    let tasks = dir.join("tasks");
    tasks.is_dir() && has_task_dirs(&tasks)
}

fn has_task_dirs(tasks: &Path) -> bool {
    sorted_entries(tasks).into_iter().take(MAX_ENTRIES).any(|p| {
        let name = file_name(&p);
        if p.is_dir() {
            task_number(&name).is_some() && p.join("task.md").is_file()
        } else {
            name.to_ascii_lowercase().ends_with(".md")
                && task_number(name.get(..name.len().saturating_sub(3)).unwrap_or("")).is_some()
        }
    })
}

/// A `task.md` outside a `task-N` folder: it must read like a task brief.
fn looks_like_task(path: &Path) -> bool {
    let Some(text) = super::peek_text(path) else {
        return false;
    };
    md::lines(&text).iter().filter(|l| !l.in_fence).any(|l| {
        let label =
            md::heading(l.text).map(|(_, t)| t.to_owned()).or_else(|| md::field(l.text).map(|(k, _, _)| k.to_owned()));
        label.is_some_and(|k| matches!(section_kind(&k), Some(Sec::Criteria | Sec::Research | Sec::Depends)))
    })
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// `task-3`, `Task 3`, `task_03`, `task3` -> 3.
fn task_number(text: &str) -> Option<u64> {
    let t = text.trim();
    let word = t.get(..4)?;
    if !word.eq_ignore_ascii_case("task") {
        return None;
    }
    let rest = t.get(4..)?.trim_start_matches([' ', '-', '_', '#']);
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    if digits.is_empty() || rest.get(digits.len()..).is_some_and(|r| r.starts_with(|c: char| c.is_alphanumeric())) {
        return None;
    }
    digits.parse().ok()
}

fn id_of(n: u64) -> String {
    format!("task-{n}")
}

// ---------------------------------------------------------------------------------------------
// task.md

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sec {
    /// The description proper: its heading is dropped.
    Description,
    /// Research pointers, patterns and anything unknown: kept in the description with the label.
    Kept,
    Files,
    Criteria,
    Depends,
    Status,
    Research,
}

fn section_kind(label: &str) -> Option<Sec> {
    let l = label.trim().trim_end_matches(':').trim().trim_matches(['*', '_']).to_lowercase();
    let has = |w: &str| l.contains(w);
    if l.is_empty() || l.chars().count() > 50 {
        return None;
    }
    if ["description", "overview", "summary", "goal", "objective", "what", "task", "context", "scope"]
        .contains(&l.as_str())
    {
        return Some(Sec::Description);
    }
    if l == "files" || l.starts_with("files ") || l == "affected files" || l == "key files" || l == "file scope" {
        return Some(Sec::Files);
    }
    if has("success criteria") || has("acceptance") || l == "criteria" || has("done when") || has("definition of done")
    {
        return Some(Sec::Criteria);
    }
    if l.starts_with("depend") || l == "blocked by" || l == "deps" {
        return Some(Sec::Depends);
    }
    if l == "status" {
        return Some(Sec::Status);
    }
    if l.starts_with("research") {
        return Some(Sec::Research);
    }
    None
}

#[derive(Debug, Default)]
struct TaskDoc {
    title: Option<String>,
    title_span: Option<Span>,
    done: bool,
    status: Option<(Status, Span)>,
    description: Vec<String>,
    files: Vec<(String, Span)>,
    acceptance: Vec<(String, Span)>,
    /// The first line of the description, for `check --explain`.
    description_span: Option<Span>,
    /// `None` when task.md says nothing about dependencies.
    depends: Option<Vec<(u64, Span)>>,
}

/// Reads one `task.md`.
fn read_task(b: &mut PlanBuilder, src: SourceId) -> TaskDoc {
    let text = b.text(src).to_owned();
    let lines = md::lines(&text);
    let mut doc = TaskDoc::default();
    let mut sec = Sec::Description;
    let mut body: Vec<Line<'_>> = Vec::new();
    let mut seen_h1 = false;
    for line in &lines {
        let raw = line.text.strip_prefix('\u{feff}').unwrap_or(line.text);
        let span = Span::new(src, line.start, line.start + line.text.len());
        if line.in_fence {
            body.push(*line);
            continue;
        }
        if let Some((level, t)) = md::heading(raw) {
            if level == 1 && !seen_h1 {
                seen_h1 = true;
                let (done, rest) = md::strip_done_mark(t);
                let (trailing, rest) = strip_trailing_done(rest);
                doc.done |= done || trailing;
                doc.title = Some(strip_task_prefix(rest));
                doc.title_span = Some(span);
                continue;
            }
            close(b, &mut doc, sec, &body, src);
            body.clear();
            sec = section_kind(t).unwrap_or(Sec::Kept);
            if matches!(sec, Sec::Kept | Sec::Research) {
                body.push(*line);
            }
            continue;
        }
        if let Some((key, value, off)) = md::field(raw) {
            // `**Patterns:** …` and other bold labels we do not know open a kept section, so
            // they never end up in a Files or criteria list.
            if section_kind(key).is_none() && raw.trim_start().starts_with("**") {
                close(b, &mut doc, sec, &body, src);
                body.clear();
                sec = Sec::Kept;
                body.push(*line);
                continue;
            }
            if let Some(kind) = section_kind(key).filter(|_| md::bullet(raw).is_none() || !value.is_empty()) {
                if matches!(
                    kind,
                    Sec::Files | Sec::Criteria | Sec::Depends | Sec::Status | Sec::Research | Sec::Description
                ) {
                    close(b, &mut doc, sec, &body, src);
                    body.clear();
                    sec = kind;
                    let vstart = line.start + off;
                    let vspan = Span::new(src, vstart, vstart + value.len());
                    match kind {
                        Sec::Depends if !value.is_empty() => {
                            let deps = parse_deps(value, vspan);
                            let unread = deps.is_empty() && !says_none(value);
                            if unread {
                                b.warn(
                                    Diagnostic::warning(
                                        "unread-dependency",
                                        format!("this dependency field names no task: `{}`", value.trim()),
                                    )
                                    .at(Some(vspan))
                                    .help("name tasks as `task-2` or `Task 2`, or write `None`"),
                                );
                            }
                            doc.depends.get_or_insert_with(Vec::new).extend(deps);
                            // The field said it all: what follows is the brief again.
                            sec = Sec::Description;
                            if unread {
                                body.push(*line);
                            }
                        }
                        Sec::Files if !value.is_empty() => {
                            for (item, o) in md::split_list(value) {
                                let s = vstart + o;
                                doc.files.push((item.clone(), Span::new(src, s, s + item.len())));
                            }
                        }
                        Sec::Status => {
                            doc.status = crate::native::status_word(value).map(|s| (s, vspan));
                            if doc.status.is_none() && !value.is_empty() {
                                b.warn(
                                    Diagnostic::warning(
                                        "unknown-status",
                                        format!("unknown status `{}`; the task is treated as pending", value.trim()),
                                    )
                                    .at(Some(vspan))
                                    .help("write `**Status:** done` once the task passed review and test"),
                                );
                            }
                            sec = Sec::Description;
                        }
                        Sec::Research => body.push(*line),
                        Sec::Criteria | Sec::Description if !value.is_empty() => {
                            body.push(Line { start: vstart, text: value, in_fence: false });
                        }
                        _ => {}
                    }
                    continue;
                }
            }
        }
        body.push(*line);
    }
    close(b, &mut doc, sec, &body, src);
    doc
}

/// `Task 3: Add session store` -> `Add session store`.
fn strip_task_prefix(title: &str) -> String {
    let t = title.trim();
    if task_number(t).is_some() {
        let rest = t.get(4..).unwrap_or("").trim_start_matches([' ', '-', '_', '#']);
        let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit()).trim_start();
        let rest = rest.trim_start_matches([':', '—', '–', '-', '.', ')']).trim();
        if !rest.is_empty() {
            return model::one_line(rest);
        }
    }
    model::one_line(t)
}

fn strip_trailing_done(title: &str) -> (bool, &str) {
    for mark in ["✅", "✔️", "✔", "(done)", "(complete)", "(completed)", "[done]"] {
        if let Some(rest) = title.trim_end().strip_suffix(mark) {
            return (true, rest.trim_end().trim_end_matches(['—', '–', '-']).trim_end());
        }
    }
    (false, title)
}

fn close(b: &mut PlanBuilder, doc: &mut TaskDoc, sec: Sec, body: &[Line<'_>], src: SourceId) {
    match sec {
        Sec::Description | Sec::Kept | Sec::Research | Sec::Status => {
            let text = model::block(&body.iter().map(|l| l.text).collect::<Vec<_>>().join("\n"));
            if !text.is_empty() {
                doc.description.push(text);
                if doc.description_span.is_none() {
                    if let Some(l) = body.iter().find(|l| !l.text.trim().is_empty()) {
                        doc.description_span = Some(Span::new(src, l.start, l.start + l.text.len()));
                    }
                }
            }
        }
        Sec::Files => {
            let prose: Vec<&str> =
                body.iter().filter(|l| l.in_fence || md::bullet(l.text).is_none()).map(|l| l.text).collect();
            let prose = model::block(&prose.join("\n"));
            if !prose.is_empty() {
                doc.description.push(prose);
            }
            for l in body.iter().filter(|l| !l.in_fence) {
                let Some(item) = md::bullet(l.text) else {
                    continue;
                };
                let off = l.start + md::offset_in(l.text, item).unwrap_or(0);
                // A bare first word is only a path when it looks like one: `the config loader`
                // is prose, `src/x.rs (create)` is a path.
                let path = md::item_path(item).filter(|(p, _)| {
                    !md::code_spans(item).is_empty() || looks_like_path(p.trim_end_matches([':', ',']))
                });
                match path {
                    Some((path, at)) => {
                        doc.files.push((path.to_owned(), Span::new(src, off + at, off + at + path.len())));
                    }
                    None if !item.trim().is_empty() => b.warn(
                        Diagnostic::warning(
                            "unread-file",
                            format!("this Files item has no path planrun can read: `{}`", item.trim()),
                        )
                        .at(Some(Span::new(src, l.start, l.start + l.text.len())))
                        .help("start the item with the path, in backticks: - `src/session.rs` (create)"),
                    ),
                    None => {}
                }
            }
        }
        Sec::Criteria => {
            let mut items: Vec<(String, Span)> = Vec::new();
            for l in body.iter().filter(|l| !l.in_fence && !l.text.trim().is_empty()) {
                let span = Span::new(src, l.start, l.start + l.text.len());
                match md::bullet(l.text) {
                    Some(item) => items.push((md::checkbox(l.text).map_or(item, |(_, t)| t).to_owned(), span)),
                    None => match items.last_mut() {
                        Some((last, at)) if l.text.starts_with([' ', '\t']) => {
                            last.push(' ');
                            last.push_str(l.text.trim());
                            at.end = span.end;
                        }
                        _ => items.push((l.text.trim().to_owned(), span)),
                    },
                }
            }
            doc.acceptance
                .extend(items.into_iter().map(|(i, s)| (model::one_line(&i), s)).filter(|(i, _)| !i.is_empty()));
        }
        Sec::Depends => {
            // A line that names no task is reported and kept in the description, not lost.
            let mut prose: Vec<&str> = Vec::new();
            for l in body.iter().filter(|l| !l.text.trim().is_empty()) {
                let item = md::bullet(l.text).unwrap_or(l.text.trim());
                let off = l.start + md::offset_in(l.text, item).unwrap_or(0);
                let at = Span::new(src, off, off + item.len());
                if l.in_fence {
                    prose.push(l.text);
                    continue;
                }
                let deps = parse_deps(item, at);
                if deps.is_empty() && !says_none(item) {
                    prose.push(l.text);
                    b.warn(
                        Diagnostic::warning(
                            "unread-dependency",
                            format!("this dependency line names no task: `{}`", item.trim()),
                        )
                        .at(Some(at))
                        .help("name tasks as `task-2` or `Task 2`, or write `None`"),
                    );
                }
                doc.depends.get_or_insert_with(Vec::new).extend(deps);
            }
            let prose = model::block(&prose.join("\n"));
            if !prose.is_empty() {
                doc.description.push(prose);
            }
        }
    }
}

/// A word that names a file: it has a folder or an extension, or is a known extensionless file.
fn looks_like_path(word: &str) -> bool {
    const NAMES: [&str; 7] = ["Dockerfile", "Makefile", "Justfile", "Procfile", "Gemfile", "Rakefile", "LICENSE"];
    word.contains('/') || (word.contains('.') && !word.ends_with('.')) || NAMES.contains(&word)
}

/// Whether a dependency value says there are none (`None`, `-`, `n/a`, `No dependencies`).
fn says_none(value: &str) -> bool {
    if md::split_list(value).is_empty() {
        return true;
    }
    let first = value.split(|c: char| !c.is_alphanumeric() && c != '/').find(|w| !w.is_empty()).unwrap_or("");
    matches!(first.to_ascii_lowercase().as_str(), "none" | "nothing" | "n/a" | "no")
}

/// `task-1, task-3`, `Task 2`, `Tasks 1 and 2`, `#4`, `None`: task numbers with their spans.
fn parse_deps(value: &str, span: Span) -> Vec<(u64, Span)> {
    let mut out = Vec::new();
    if md::split_list(value).is_empty() {
        return out;
    }
    let first = value.split(|c: char| !c.is_alphanumeric() && c != '/').find(|w| !w.is_empty()).unwrap_or("");
    if matches!(first.to_ascii_lowercase().as_str(), "none" | "nothing" | "n/a" | "no") {
        return out;
    }
    for w in value.split(|c: char| {
        c.is_whitespace() || matches!(c, ',' | ';' | '&' | '(' | ')' | '`' | '[' | ']' | '*' | '#' | '+')
    }) {
        let w = w.trim_end_matches(['.', ':']);
        if w.is_empty() {
            continue;
        }
        let Some(off) = md::offset_in(value, w) else {
            continue;
        };
        let at = Span::new(span.source, span.start + off, span.start + off + w.len());
        if let Some(n) = task_number(w) {
            out.push((n, at));
            continue;
        }
        if let Ok(n) = w.parse::<u64>() {
            out.push((n, at));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// README index and progress records

#[derive(Debug)]
struct IndexEntry {
    number: u64,
    title: String,
    done: bool,
    span: Span,
}

/// The README: title, context, and the task index (headings or list items naming `Task N`).
fn read_readme(b: &mut PlanBuilder, src: SourceId) -> (Option<String>, String, Vec<IndexEntry>) {
    let text = b.text(src).to_owned();
    let mut title = None;
    let mut context = Vec::new();
    let mut index = Vec::new();
    for line in md::lines(&text) {
        let raw = line.text.strip_prefix('\u{feff}').unwrap_or(line.text);
        if !line.in_fence {
            if let Some((1, t)) = md::heading(raw) {
                if title.is_none() {
                    title = Some(plan_title(t));
                    continue;
                }
            }
            if let Some(entry) = index_entry(raw, Span::new(src, line.start, line.start + line.text.len())) {
                index.push(entry);
                continue;
            }
        }
        // A bare `Tasks` line introduces the index, which is not context.
        let bare = raw.trim().trim_start_matches('#').trim().trim_matches(['*', '_', ':']).to_ascii_lowercase();
        if !line.in_fence && matches!(bare.as_str(), "tasks" | "task index" | "task list") {
            continue;
        }
        context.push(raw.to_owned());
    }
    (title, prune_empty_headings(&context.join("\n")), index)
}

/// `### Task 3: Title`, `- [x] task-3 — Title`, `3. ✅ **Task 3** Title`, `| task-3 | Title | ✅ |`.
fn index_entry(line: &str, span: Span) -> Option<IndexEntry> {
    let (checked, body) = match md::checkbox(line) {
        Some((c, t)) => (c, t),
        None => (false, md::heading(line).map(|(_, t)| t).or_else(|| md::bullet(line)).unwrap_or(line.trim())),
    };
    let body = body.trim_start_matches('|').trim();
    let (mark, body) = md::strip_done_mark(body);
    let plain = body.replace("**", "").replace('`', "");
    let number = task_number(&plain)?;
    let rest = plain.get(4..).unwrap_or("").trim_start_matches([' ', '-', '_', '#']);
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
    let rest = rest.trim_start_matches([':', '—', '–', '-', '.', ')', '|', ' ']);
    let lower = rest.to_lowercase();
    let (trailing, rest) = strip_trailing_done(rest);
    let done_word =
        lower.contains("| ✅") || lower.contains("| done") || lower.contains("— done") || lower.contains("(done)");
    let title = model::one_line(rest.split('|').next().unwrap_or(rest));
    Some(IndexEntry { number, title, done: checked || mark || trailing || done_word, span })
}

fn plan_title(heading: &str) -> String {
    let t = heading.trim();
    let lower = t.to_ascii_lowercase();
    for prefix in ["implementation plan:", "plan:"] {
        if lower.starts_with(prefix) {
            let rest = t.get(prefix.len()..).unwrap_or("").trim();
            if !rest.is_empty() {
                return model::one_line(rest);
            }
        }
    }
    model::one_line(t)
}

/// Drops headings with nothing under them, so that `## Tasks` does not dangle in the context.
fn prune_empty_headings(text: &str) -> String {
    let lines = md::lines(text);
    let mut keep: Vec<&str> = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if !l.in_fence {
            if let Some((level, _)) = md::heading(l.text) {
                let next = lines.iter().skip(i + 1).find(|n| !n.text.trim().is_empty());
                let empty = next.is_none_or(|n| !n.in_fence && md::heading(n.text).is_some_and(|(nl, _)| nl <= level));
                if empty {
                    continue;
                }
            }
        }
        keep.push(l.text);
    }
    model::block(&keep.join("\n"))
}

/// Files in the plan folder that record progress: `checkpoint*`, `checkpoints/*`, `plan.json`,
/// `progress*`, `status*`.
fn progress_files(plan_dir: &Path) -> Vec<PathBuf> {
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
fn completed_in(b: &mut PlanBuilder, path: &Path) -> Vec<(u64, Span)> {
    if std::fs::metadata(path).map(|m| m.len()).unwrap_or(u64::MAX) > MAX_STATE_BYTES {
        return Vec::new();
    }
    let Some(bytes) = super::peek_bytes(path) else {
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

fn has_word(text: &str, word: &str) -> bool {
    text.split(|c: char| !c.is_alphanumeric()).any(|w| w == word)
}

/// Walks a JSON progress record: arrays under keys like `completed`, objects keyed by task id
/// with a `status`, and arrays of `{ "id": …, "status": … }`.
fn json_completed(v: &JValue, done_list: bool, out: &mut Vec<(u64, Span)>) {
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
                let done = status.as_deref().and_then(crate::native::status_word) == Some(Status::Done)
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
                    if st.as_deref().and_then(crate::native::status_word) == Some(Status::Done)
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

pub(crate) fn load(path: &Path) -> Result<Loaded, LoadError> {
    let mut b = PlanBuilder::new(Format::Uc, path);
    if path.is_file() {
        load_single(&mut b, path)?;
    } else {
        load_plan(&mut b, path)?;
    }
    Ok(b.finish())
}

/// A single task.md: the plan is that one task.
fn load_single(b: &mut PlanBuilder, path: &Path) -> Result<(), LoadError> {
    let src = b.read(path)?;
    let doc = read_task(b, src);
    let folder = path.parent().map(file_name).unwrap_or_default();
    let n = task_number(&folder);
    let id = n.map_or_else(|| "task-1".to_owned(), id_of);
    b.plan.title = doc.title.clone().unwrap_or_else(|| id.clone());
    // Progress records live two folders up, next to `tasks/`.
    let plan_dir = path.parent().and_then(Path::parent).filter(|p| file_name(p) == "tasks").and_then(Path::parent);
    let mut done_elsewhere = HashSet::new();
    if let (Some(dir), Some(n)) = (plan_dir, n) {
        for f in progress_files(dir) {
            if completed_in(b, &f).iter().any(|(k, _)| *k == n) {
                done_elsewhere.insert(n);
            }
        }
    }
    let mut task = Task::new(id.clone(), String::new());
    let spans = fill(b, &mut task, doc, src, n.is_some_and(|n| done_elsewhere.contains(&n)), path);
    // The other tasks are not part of this plan: their order is the user's business.
    for (k, dep) in std::mem::take(&mut task.depends_on).into_iter().enumerate() {
        b.warn(
            Diagnostic::warning(
                "dependency-outside-plan",
                format!("`{id}` depends on `{dep}`, which is not part of this one-task plan; ignored"),
            )
            .at(spans.dependency(k))
            .help("load the plan folder instead to run the tasks in dependency order"),
        );
    }
    let spans = TaskSpans { depends_on: Vec::new(), ..spans };
    b.push(task, spans);
    Ok(())
}

/// Fills a task from its task.md; returns its spans. Dependencies are `task-N` strings.
fn fill(
    b: &mut PlanBuilder,
    task: &mut Task,
    doc: TaskDoc,
    src: SourceId,
    recorded_done: bool,
    path: &Path,
) -> TaskSpans {
    let head = Span::new(src, 0, b.text(src).find('\n').unwrap_or(b.text(src).len()));
    let mut spans = TaskSpans {
        task: Some(doc.title_span.unwrap_or(head)),
        id: None,
        title: doc.title_span,
        ..TaskSpans::default()
    };
    task.title = doc.title.unwrap_or_default();
    task.description = model::block(&doc.description.join("\n\n"));
    for (a, s) in doc.acceptance {
        task.acceptance.push(a);
        spans.acceptance.push(s);
    }
    spans.description = doc.description_span;
    spans.status = doc.status.map(|(_, s)| s).or(if doc.done { doc.title_span } else { None });
    for (f, s) in doc.files {
        if !task.files.contains(&f) {
            task.files.push(f);
            spans.files.push(s);
        }
    }
    if let Some(deps) = doc.depends {
        for (n, s) in deps {
            let dep = id_of(n);
            if !task.depends_on.contains(&dep) {
                task.depends_on.push(dep);
                spans.depends_on.push(s);
            }
        }
    }
    let status_done = doc.status.is_some_and(|(s, _)| s == Status::Done);
    task.status = if doc.done || status_done || recorded_done { Status::Done } else { Status::Pending };
    let impl_md = path.parent().map(|d| d.join("impl.md"));
    if task.status == Status::Pending && impl_md.is_some_and(|p| p.is_file()) {
        b.warn(
            Diagnostic::warning(
                "unconfirmed-implementation",
                format!(
                    "`{}` has an impl.md but nothing records that it passed review and test; it will run again",
                    task.id
                ),
            )
            .at(spans.task)
            .help("if it passed, add `**Status:** done` to its task.md"),
        );
    }
    spans
}

/// One entry of the plan's `tasks/` folder.
struct Entry {
    number: u64,
    /// `task.md` (or `task-N.md`), if there is one.
    file: Option<PathBuf>,
    dir: PathBuf,
}

fn load_plan(b: &mut PlanBuilder, dir: &Path) -> Result<(), LoadError> {
    let (dir, tasks_dir) = if file_name(dir).eq_ignore_ascii_case("tasks") && !dir.join("tasks").is_dir() {
        (dir.parent().unwrap_or(dir).to_path_buf(), dir.to_path_buf())
    } else {
        (dir.to_path_buf(), dir.join("tasks"))
    };
    let dir = dir.as_path();

    let mut index: Vec<IndexEntry> = Vec::new();
    if let Some(readme) =
        sorted_entries(dir).into_iter().find(|p| file_name(p).eq_ignore_ascii_case("readme.md") && p.is_file())
    {
        let src = b.read(&readme)?;
        let (title, context, entries) = read_readme(b, src);
        if let Some(t) = title {
            b.plan.title = t;
        }
        b.plan.context = context;
        index = entries;
    }
    if b.plan.title.trim().is_empty() {
        b.plan.title = model::one_line(&file_name(dir).replace(['-', '_'], " "));
    }

    let mut recorded: HashMap<u64, Span> = HashMap::new();
    for f in progress_files(dir) {
        for (n, s) in completed_in(b, &f) {
            recorded.entry(n).or_insert(s);
        }
    }

    let mut entries: Vec<Entry> = Vec::new();
    let mut seen: HashMap<u64, PathBuf> = HashMap::new();
    for p in sorted_entries(&tasks_dir) {
        let name = file_name(&p);
        let (number, file) = if p.is_dir() {
            let Some(n) = task_number(&name) else {
                continue;
            };
            let f = p.join("task.md");
            (n, f.is_file().then_some(f))
        } else if name.to_ascii_lowercase().ends_with(".md") {
            let Some(n) = task_number(name.get(..name.len().saturating_sub(3)).unwrap_or("")) else {
                continue;
            };
            (n, Some(p.clone()))
        } else {
            continue;
        };
        if let Some(first) = seen.get(&number) {
            let src = b.sources.add(p.clone(), String::new());
            b.warn(
                Diagnostic::error(
                    "duplicate-task",
                    format!("`{}` and `{}` are both task {number}", file_name(first), name),
                )
                .at(Some(Span::new(src, 0, 0)))
                .help("give each task folder its own number"),
            );
            continue;
        }
        seen.insert(number, p.clone());
        entries.push(Entry { number, file, dir: p });
    }
    entries.sort_by(|a, c| {
        a.number.cmp(&c.number).then_with(|| natural_cmp(&a.dir.to_string_lossy(), &c.dir.to_string_lossy()))
    });

    let index_of: HashMap<u64, &IndexEntry> = index.iter().map(|e| (e.number, e)).collect();
    let mut explicit: Vec<bool> = Vec::new();
    for e in &entries {
        let id = id_of(e.number);
        let mut task = Task::new(id.clone(), String::new());
        let indexed = index_of.get(&e.number);
        let done_elsewhere = indexed.is_some_and(|i| i.done) || recorded.contains_key(&e.number);
        let spans = match &e.file {
            Some(file) => {
                let src = b.read(file)?;
                let doc = read_task(b, src);
                explicit.push(doc.depends.is_some());
                fill(b, &mut task, doc, src, done_elsewhere, file)
            }
            None => {
                explicit.push(false);
                let src = b.sources.add(e.dir.join("task.md"), String::new());
                let span = indexed.map_or(Span::new(src, 0, 0), |i| i.span);
                b.warn(
                    Diagnostic::error(
                        "missing-task-file",
                        format!("`{}` has no task.md, so `{id}` has nothing to do", file_name(&e.dir)),
                    )
                    .at(Some(span))
                    .help("write the task brief to task.md, or remove the folder"),
                );
                if done_elsewhere {
                    task.status = Status::Done;
                }
                TaskSpans::at(span)
            }
        };
        if task.title.trim().is_empty() {
            task.title = indexed.map(|i| i.title.clone()).filter(|t| !t.is_empty()).unwrap_or_else(|| {
                task.description
                    .lines()
                    .find(|l| !l.trim().is_empty())
                    .map(|l| model::one_line(l.trim_start_matches(['#', '-', '*', ' '])))
                    .unwrap_or_default()
            });
        }
        if task.title.trim().is_empty() {
            b.warn(
                Diagnostic::warning("missing-title", format!("`{id}` has no title"))
                    .at(spans.task)
                    .help("start task.md with `# Task N: Title`"),
            );
            task.title = id.clone();
        }
        b.push(task, spans);
    }

    // Index entries without a folder are tasks the planner listed but never wrote.
    for i in &index {
        if !seen.contains_key(&i.number) {
            b.warn(
                Diagnostic::error(
                    "missing-task-folder",
                    format!("the README lists task {} but there is no tasks/task-{}/task.md", i.number, i.number),
                )
                .at(Some(i.span))
                .help("write the task's brief, or remove it from the index"),
            );
        }
    }

    // Tasks that say nothing about dependencies run after the previous task.
    let mut prev: Option<String> = None;
    let mut problems: Vec<Diagnostic> = Vec::new();
    for ((task, spans), explicit) in b.plan.tasks.iter_mut().zip(b.task_spans.iter_mut()).zip(explicit) {
        if !explicit {
            if let Some(p) = &prev {
                task.depends_on = vec![p.clone()];
                spans.depends_on = Vec::new();
            }
        } else {
            let mut keep = Vec::new();
            let mut keep_spans = Vec::new();
            for (k, dep) in task.depends_on.iter().enumerate() {
                let span = spans.dependency(k);
                if *dep == task.id {
                    problems.push(
                        Diagnostic::warning(
                            "self-dependency",
                            format!("`{}` lists itself as a dependency; ignored", task.id),
                        )
                        .at(span)
                        .help("remove it from **Dependencies:**"),
                    );
                    continue;
                }
                keep.push(dep.clone());
                if let Some(s) = span {
                    keep_spans.push(s);
                }
            }
            task.depends_on = keep;
            spans.depends_on = keep_spans;
        }
        prev = Some(task.id.clone());
    }
    for p in problems {
        b.warn(p);
    }
    if b.plan.tasks.is_empty() {
        b.warn(
            Diagnostic::warning("no-tasks", format!("no task folders were found in `{}`", tasks_dir.display()))
                .help("each task lives in tasks/task-N/task.md"),
        );
    }
    Ok(())
}
