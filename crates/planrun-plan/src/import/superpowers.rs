//! The superpowers importer: a markdown plan under `docs/superpowers/plans/` made of
//! `### Task N: <Component>` sections with `**Files:**` lists and ticked `- [ ] **Step N: …**`
//! checkboxes, plus the progress ledger `.superpowers/sdd/<plan>/progress.md` when one exists.
//! Tasks run in plan order; the ledger and fully ticked steps carry over what is done.

use super::{Detection, Format, LoadError, Loaded, PlanBuilder};
use crate::diag::Diagnostic;
use crate::md::{self, Line};
use crate::model::{self, Status, Task};
use crate::source::{SourceId, Span, TaskSpans};
use std::path::{Path, PathBuf};

/// Folders (relative to a repository root) plans are saved in; `docs/plans` is where older
/// releases of the tool wrote them.
const PLAN_DIRS: [&str; 2] = ["docs/superpowers/plans", "docs/plans"];

/// How far up from a plan the ledger is looked for, at most (the repository root is usually
/// three levels up).
const MAX_LEDGER_DEPTH: usize = 8;

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
        for entry in super::sorted_entries(dir) {
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

/// A markdown text with `Task N:` headings and a `**Files:**` field. planrun's own markdown also
/// has `## Task <id>:` headings and a `Files:` field, so `##` task headings only count together
/// with superpowers' `- Create:` / `- Modify:` / `- Test:` entries.
fn looks_superpowers(path: &Path) -> bool {
    if super::is_json(path) {
        return false;
    }
    let Some(bytes) = super::peek_bytes(path) else {
        return false;
    };
    let text = String::from_utf8_lossy(&bytes);
    let lines = md::lines(&text);
    let outside = || lines.iter().filter(|l| !l.in_fence);
    let task_levels: Vec<usize> = outside()
        .filter_map(|l| md::heading(l.text))
        .filter(|(lvl, t)| (2..=4).contains(lvl) && task_heading(t).is_some())
        .map(|(lvl, _)| lvl)
        .collect();
    let field_is = |l: &&Line<'_>, keys: &[&str]| {
        md::field(l.text).is_some_and(|(k, _, _)| keys.iter().any(|w| k.eq_ignore_ascii_case(w)))
    };
    let has_files = outside().any(|l| field_is(&l, &["files"]));
    let entries = || outside().any(|l| md::bullet(l.text).is_some() && field_is(&l, &["create", "modify", "test"]));
    has_files && (task_levels.iter().any(|&l| l > 2) || (!task_levels.is_empty() && entries()))
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

/// `Task N: <Component>` (also `Task N - …`, `Task N. …`, `task n …`), with an optional done mark
/// before it (✅) or after it (✅, `(done)`, `(complete)`).
fn task_heading(text: &str) -> Option<Heading<'_>> {
    let (done_before, rest) = md::strip_done_mark(text);
    let head = rest.get(..4)?;
    if !head.eq_ignore_ascii_case("task") {
        return None;
    }
    let after = rest.get(4..)?;
    let trimmed = after.trim_start();
    let number = if trimmed.starts_with(':') {
        ""
    } else {
        if !after.starts_with([' ', '\t']) || !trimmed.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        let end = trimmed.find(|c: char| !(c.is_ascii_alphanumeric() || c == '.')).unwrap_or(trimmed.len());
        trimmed.get(..end).unwrap_or("").trim_end_matches('.')
    };
    let tail = trimmed.get(number.len()..).unwrap_or("").trim_start();
    let tail = tail.strip_prefix([':', '—', '–', '-', '.']).unwrap_or(tail).trim();
    let (done_after, title) = strip_trailing_done(tail);
    Some(Heading { done: done_before || done_after, number, title })
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

fn parse_into(b: &mut PlanBuilder, src: SourceId) {
    let text = b.text(src).to_owned();
    let lines = md::lines(&text);
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
                flush(b, src, draft.take());
                draft = Some(Draft { heading: h, level, line: *line, body: Vec::new() });
                continue;
            }
            // A heading as high as the task's own ends the task: what follows is plan-wide.
            if draft.as_ref().is_some_and(|d| level <= d.level) {
                flush(b, src, draft.take());
            }
        }
        match draft.as_mut() {
            Some(d) => d.body.push(*line),
            None => context.push(line.text),
        }
    }
    flush(b, src, draft.take());
    b.plan.context = clean_context(&context);
    if b.plan.tasks.is_empty() {
        b.warn(
            Diagnostic::error("no-tasks", "no `### Task N: …` headings were found in this plan")
                .at(Some(Span::new(src, 0, 0)))
                .help("write each task as `### Task 1: <Component>`"),
        );
    }
}

/// The plan's context without the note addressed to the agent that executes the plan by hand:
/// planrun is that executor, and an implementer told to run the whole plan would overreach.
fn clean_context(lines: &[&str]) -> String {
    let mut out: Vec<&str> = Vec::new();
    let mut skipping = false;
    for l in lines {
        let quoted = l.trim_start().starts_with('>');
        if quoted && l.to_ascii_uppercase().contains("REQUIRED SUB-SKILL") {
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

fn flush(b: &mut PlanBuilder, src: SourceId, draft: Option<Draft<'_>>) {
    let Some(d) = draft else { return };
    let head_span = Span::new(src, d.line.start, d.line.start + d.line.text.len());
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
    task.verify = read_verify(&d.body);
    let (boxes, ticked) = d
        .body
        .iter()
        .filter(|l| !l.in_fence)
        .filter_map(|l| md::checkbox(l.text))
        .fold((0, 0), |(n, t), (c, _)| (n + 1, t + usize::from(c)));
    if d.heading.done || (boxes > 0 && ticked == boxes) {
        task.status = Status::Done;
    }
    task.description = model::block(&d.body.iter().map(|l| l.text).collect::<Vec<_>>().join("\n"));
    b.push(task, spans);
}

/// The span of `part` (a sub-slice of the line's text) in the source.
fn sub_span(src: SourceId, line: &Line<'_>, part: &str) -> Option<Span> {
    let off = md::offset_in(line.text, part)?;
    Some(Span::new(src, line.start + off, line.start + off + part.len()))
}

/// Keys of the entries of a `**Files:**` list.
const FILE_KEYS: [&str; 9] = ["create", "modify", "test", "tests", "update", "delete", "add", "edit", "rename"];

/// Reads `**Files:**` and the list under it: `- Create: path`, `- Modify: path:12-40`,
/// `- Test: path`, or bare paths.
fn read_files(b: &mut PlanBuilder, src: SourceId, body: &[Line<'_>], task: &mut Task, spans: &mut TaskSpans) {
    let mut in_list = false;
    let mut entries = 0;
    for line in body {
        if line.in_fence {
            in_list = false;
            continue;
        }
        if let Some((_, value, off)) = md::field(line.text).filter(|(k, _, _)| k.eq_ignore_ascii_case("files")) {
            in_list = true;
            entries = 0;
            add_paths(b, src, line, value, off, task, spans);
            continue;
        }
        if !in_list {
            continue;
        }
        if line.text.trim().is_empty() {
            // A blank line after the entries closes the list; one right after `**Files:**` does not.
            in_list = entries == 0;
            continue;
        }
        let Some(item) = md::bullet(line.text).filter(|_| md::checkbox(line.text).is_none()) else {
            in_list = false;
            continue;
        };
        entries += 1;
        match md::field(line.text) {
            Some((k, value, off)) if FILE_KEYS.iter().any(|f| k.eq_ignore_ascii_case(f)) => {
                add_paths(b, src, line, value, off, task, spans);
            }
            _ => {
                let off = md::offset_in(line.text, item).unwrap_or(0);
                add_paths(b, src, line, item, off, task, spans);
            }
        }
    }
}

/// Adds every path of one `Files` entry: each backticked span, or the comma-separated words.
fn add_paths(
    b: &mut PlanBuilder,
    src: SourceId,
    line: &Line<'_>,
    value: &str,
    value_off: usize,
    task: &mut Task,
    spans: &mut TaskSpans,
) {
    for (item, off) in md::split_list(value) {
        let start = line.start + value_off + off;
        let span = Span::new(src, start, start + item.len());
        let Some(path) = clean_path(&item) else {
            b.warn(
                Diagnostic::warning(
                    "ignored-file",
                    format!("`{item}` does not look like a path and is not a file of task `{}`", task.id),
                )
                .at(Some(span))
                .help("list one path per entry: `- Modify: src/app.py:10-40`"),
            );
            continue;
        };
        if !task.files.contains(&path) {
            task.files.push(path);
            spans.files.push(span);
        }
    }
}

/// A path from a `Files` entry: without `:12-40` line ranges, a leading `./` or `/`, or a
/// trailing note in parentheses. `None` for prose.
fn clean_path(item: &str) -> Option<String> {
    let mut p = item.trim().trim_matches('`').trim();
    if let Some(open) = p.find(" (") {
        p = p.get(..open).unwrap_or(p).trim_end();
    }
    if let Some(colon) = p.rfind(':') {
        let range = p.get(colon + 1..).unwrap_or("");
        if range.chars().all(|c| c.is_ascii_digit() || matches!(c, '-' | ',' | 'L' | ' ')) {
            p = p.get(..colon).unwrap_or(p);
        }
    }
    let p = p.trim_start_matches("./").trim_start_matches('/').trim();
    // Files are globs: a folder stands for everything below it.
    let glob = if p.ends_with('/') { format!("{p}**") } else { p.to_owned() };
    (!p.is_empty() && !p.contains(char::is_whitespace)).then_some(glob)
}

/// Commands written after `Run:` whose `Expected:` outcome is not a failure (the red step of
/// test-first work runs the same test expecting it to fail).
fn read_verify(body: &[Line<'_>]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while let Some(line) = body.get(i) {
        i += 1;
        if line.in_fence {
            continue;
        }
        let Some((key, value, _)) = md::field(line.text) else {
            continue;
        };
        if !key.eq_ignore_ascii_case("run") {
            continue;
        }
        let mut commands: Vec<String> = md::code_spans(value).into_iter().map(|(c, _)| c.trim().to_owned()).collect();
        if commands.is_empty() && !value.is_empty() {
            commands.push(value.to_owned());
        }
        if commands.is_empty() {
            // `Run:` alone on its line: the command is the fenced block under it.
            let fence: Vec<&str> = body
                .iter()
                .skip(i)
                .skip_while(|l| !l.in_fence && l.text.trim().is_empty())
                .take_while(|l| l.in_fence)
                .map(|l| l.text)
                .collect();
            let inner = fence.get(1..fence.len().saturating_sub(1)).unwrap_or_default();
            let cmd = model::block(&inner.join("\n"));
            if !cmd.is_empty() {
                commands.push(cmd);
            }
        }
        if expects_failure(body.get(i..).unwrap_or_default()) {
            continue;
        }
        for cmd in commands {
            if !cmd.is_empty() && !out.contains(&cmd) {
                out.push(cmd);
            }
        }
    }
    out
}

/// Whether the `Expected:` line that follows a `Run:` (before the next step) announces a failure.
fn expects_failure(rest: &[Line<'_>]) -> bool {
    for line in rest.iter().filter(|l| !l.in_fence) {
        if md::checkbox(line.text).is_some() || md::heading(line.text).is_some() {
            return false;
        }
        if let Some((key, value, _)) = md::field(line.text) {
            if key.eq_ignore_ascii_case("run") {
                return false;
            }
            if key.eq_ignore_ascii_case("expected") {
                let v = value.to_ascii_lowercase();
                return (v.contains("fail") || v.contains("error")) && !v.contains("pass");
            }
        }
    }
    false
}

/// `<repo>/.superpowers/sdd/<plan file stem>/progress.md`, looked for from the plan's folder
/// upwards until a repository root (a folder holding `.git`).
fn find_ledger(plan: &Path) -> Option<PathBuf> {
    let stem = plan.file_stem()?;
    let start = plan.parent()?;
    for dir in start.ancestors().take(MAX_LEDGER_DEPTH) {
        let ledger = dir.join(".superpowers").join("sdd").join(stem).join("progress.md");
        if ledger.is_file() {
            return Some(ledger);
        }
        if dir.join(".git").exists() {
            break;
        }
    }
    None
}

/// Marks done every task the ledger records as complete (`Task 3: complete (commits a..b)`).
fn apply_ledger(b: &mut PlanBuilder, src: SourceId) {
    let text = b.text(src).to_owned();
    for line in md::lines(&text).iter().filter(|l| !l.in_fence) {
        let body =
            md::checkbox(line.text).map(|(_, t)| t).or_else(|| md::bullet(line.text)).unwrap_or(line.text.trim());
        let body = body.replace("**", "");
        let Some(h) = task_heading(&body) else {
            continue;
        };
        if h.number.is_empty() {
            continue;
        }
        let word = h.title.split(|c: char| c.is_whitespace() || c == '(' || c == ',').next().unwrap_or("");
        let done = h.done
            || matches!(word.to_ascii_lowercase().as_str(), "complete" | "completed" | "done" | "finished" | "✅");
        let id = format!("task-{}", h.number.to_ascii_lowercase());
        let span = Span::new(src, line.start, line.start + line.text.len());
        match b.plan.tasks.iter_mut().find(|t| t.id == id) {
            Some(task) if done => task.status = Status::Done,
            Some(_) => {}
            None => b.warn(
                Diagnostic::warning(
                    "unknown-task",
                    format!("the progress ledger names `Task {}`, which this plan does not have", h.number),
                )
                .at(Some(span))
                .help("the ledger may belong to an older version of the plan; its line is ignored"),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings() {
        let parts = |t: &'static str| task_heading(t).map(|h| (h.done, h.number, h.title));
        assert_eq!(parts("Task 3: Rate limiter"), Some((false, "3", "Rate limiter")));
        assert_eq!(parts("✅ task 4b — Export (done)"), Some((true, "4b", "Export")));
        assert_eq!(parts("Task: nothing"), Some((false, "", "nothing")));
        assert_eq!(parts("Task 2.1. Sub ✅"), Some((true, "2.1", "Sub")));
        assert!(task_heading("Tasks").is_none());
        assert!(task_heading("Task list").is_none());
        assert!(task_heading("Tas").is_none());
    }

    #[test]
    fn paths() {
        assert_eq!(clean_path("`src/a.py:12-40`").as_deref(), Some("src/a.py"));
        assert_eq!(clean_path("./src/b.rs (new)").as_deref(), Some("src/b.rs"));
        assert_eq!(clean_path("src/c.rs:L10-L20").as_deref(), Some("src/c.rs"));
        assert_eq!(clean_path("none needed"), None);
        assert_eq!(clean_path("`src/limiter/`").as_deref(), Some("src/limiter/**"));
    }
}
