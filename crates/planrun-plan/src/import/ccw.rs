//! The CCW importer: one workflow session folder, `.workflow/active/WFS-<slug>/`, read from its
//! `IMPL_PLAN.md` (title, context, execution model), `TODO_LIST.md` (order, nesting, `[x]`) and
//! `.task/IMPL-*.json` task files (the full task definitions, old and new schema).
//!
//! ```text
//! .workflow/active/WFS-auth/workflow-session.json
//! .workflow/active/WFS-auth/IMPL_PLAN.md
//! .workflow/active/WFS-auth/TODO_LIST.md      - [x] **IMPL-1**: Title → [📋](./.task/IMPL-1.json)
//! .workflow/active/WFS-auth/.task/IMPL-1.json {"id", "title", "status", "meta", "context", "flow_control", …}
//! ```

use super::{Detection, Format, LoadError, Loaded, PlanBuilder, sorted_entries};
use crate::diag::Diagnostic;
use crate::json::{self, JKind, JValue};
use crate::md::{self, Line};
use crate::model::{self, Status, Task};
use crate::source::{SourceId, Span, TaskSpans};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

const SESSION_JSON: &str = "workflow-session.json";
const IMPL_PLAN: &str = "IMPL_PLAN.md";
const TODO_LIST: &str = "TODO_LIST.md";
const TASK_DIR: &str = ".task";

// ---------------------------------------------------------------------------------------------
// Detection

pub(crate) fn detect(path: &Path) -> Detection {
    if path.is_file() {
        return detect_file(path);
    }
    if !path.is_dir() {
        return Detection::No;
    }
    if is_session(path) {
        return Detection::Yes(path.to_owned());
    }
    let name = file_name(path);
    let workflow = if name == ".workflow" {
        path.to_owned()
    } else if name == "active" && path.parent().is_some_and(|p| file_name(p) == ".workflow") {
        path.parent().map(Path::to_path_buf).unwrap_or_default()
    } else {
        path.join(".workflow")
    };
    if !workflow.is_dir() {
        return Detection::No;
    }
    // Active sessions live in `.workflow/active/`; older layouts keep them in `.workflow/`.
    let mut sessions = sessions_in(&workflow.join("active"));
    if sessions.is_empty() {
        sessions = sessions_in(&workflow);
    }
    match sessions.len() {
        0 => Detection::No,
        1 => sessions.into_iter().next().map_or(Detection::No, Detection::Yes),
        _ => Detection::Ambiguous(sessions),
    }
}

fn sessions_in(dir: &Path) -> Vec<PathBuf> {
    sorted_entries(dir).into_iter().filter(|p| file_name(p).starts_with("WFS-") && is_session(p)).collect()
}

fn detect_file(path: &Path) -> Detection {
    let name = file_name(path);
    let parent = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let session = match name.as_str() {
        TODO_LIST | IMPL_PLAN | SESSION_JSON => parent,
        _ if file_name(&parent) == TASK_DIR && looks_like_task_json(path) => {
            parent.parent().map(Path::to_path_buf).unwrap_or_default()
        }
        _ => return Detection::No,
    };
    if is_session(&session) { Detection::Yes(session) } else { Detection::No }
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// A session folder: a `WFS-` name or a `workflow-session.json`, plus a task list or task files.
fn is_session(dir: &Path) -> bool {
    let named = file_name(dir).starts_with("WFS-") || dir.join(SESSION_JSON).is_file();
    named && (dir.join(TODO_LIST).is_file() || dir.join(IMPL_PLAN).is_file() || dir.join(TASK_DIR).is_dir())
}

/// A JSON task file: an object naming a task and holding one of CCW's task blocks.
fn looks_like_task_json(path: &Path) -> bool {
    if !path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) {
        return false;
    }
    let Some(bytes) = super::peek_bytes(path) else {
        return false;
    };
    let text = String::from_utf8_lossy(&bytes);
    let mut sources = crate::source::Sources::default();
    let id = sources.add(path, String::new());
    match json::parse(&text, id) {
        Ok(v) => {
            v.get_any(&["id", "title"]).is_some()
                && v.get_any(&["meta", "context", "flow_control", "convergence"]).is_some()
        }
        Err(_) => file_name(path).to_ascii_uppercase().starts_with("IMPL"),
    }
}

// ---------------------------------------------------------------------------------------------
// Loading

pub(crate) fn load(path: &Path) -> Result<Loaded, LoadError> {
    // A file given under --format names its session.
    let session = if path.is_dir() {
        path.to_owned()
    } else {
        let parent = path.parent().map(Path::to_path_buf).unwrap_or_default();
        if file_name(&parent) == TASK_DIR { parent.parent().map(Path::to_path_buf).unwrap_or_default() } else { parent }
    };
    let mut b = PlanBuilder::new(Format::Ccw, &session);
    let mut s = Session::default();

    let plan_path = session.join(IMPL_PLAN);
    if plan_path.is_file() {
        let id = b.read(&plan_path)?;
        read_impl_plan(&mut b, id, &mut s);
    }
    let todo_path = session.join(TODO_LIST);
    let mut todo = Todo::default();
    if todo_path.is_file() {
        let id = b.read(&todo_path)?;
        todo = read_todo(&mut b, id, &mut s);
    }
    let session_json = session.join(SESSION_JSON);
    if session_json.is_file() {
        let id = b.read(&session_json)?;
        read_session_json(&mut b, id, &s);
    }
    let files: Vec<PathBuf> = sorted_entries(&session.join(TASK_DIR))
        .into_iter()
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")))
        .collect();
    if todo.items.is_empty() && files.is_empty() {
        return Err(LoadError::WrongFormat {
            path: path.to_owned(),
            format: Format::Ccw,
            reason: format!("the session has neither a {TODO_LIST} with tasks nor {TASK_DIR}/*.json task files"),
        });
    }
    let mut jsons: Vec<TaskJson> = Vec::new();
    let mut failed: HashSet<String> = HashSet::new();
    for file in &files {
        let id = b.read(file)?;
        match read_task_json(&mut b, id, file) {
            Some(t) => jsons.push(t),
            None => {
                failed.insert(file_name(file).to_ascii_lowercase());
            }
        }
    }
    build(&mut b, &s, todo, jsons, &failed);
    if b.plan.title.trim().is_empty() {
        b.plan.title = file_name(&session).trim_start_matches("WFS-").to_owned();
    }
    Ok(b.finish())
}

#[derive(Debug, Default)]
struct Session {
    title_from_todo: Option<String>,
    /// `Sequential` execution model declared in IMPL_PLAN.md.
    sequential: bool,
}

fn read_session_json(b: &mut PlanBuilder, src: SourceId, s: &Session) {
    let text = b.text(src).to_owned();
    match json::parse(&text, src) {
        Ok(v) => {
            if b.plan.title.trim().is_empty() {
                let title = s.title_from_todo.clone().or_else(|| {
                    v.get_any(&["title", "project", "topic", "description"])
                        .and_then(JValue::as_text)
                        .filter(|t| !t.trim().is_empty())
                });
                if let Some(t) = title {
                    b.plan.title = t;
                }
            }
        }
        Err(d) => b.warn(
            Diagnostic::warning("json-syntax", d.message)
                .at(d.span)
                .help("the session file is only read for its title; fix or recreate it"),
        ),
    }
}

fn read_impl_plan(b: &mut PlanBuilder, src: SourceId, s: &mut Session) {
    let text = b.text(src).to_owned();
    let lines = md::lines(&text);
    // YAML front matter carries metadata only.
    let mut skip = 0;
    if lines.first().is_some_and(|l| l.text.trim() == "---") {
        skip = lines.iter().skip(1).position(|l| l.text.trim() == "---").map_or(0, |p| p + 2);
    }
    let mut title: Option<String> = None;
    let mut intro: Vec<&str> = Vec::new();
    let mut picked: Vec<&str> = Vec::new();
    let mut picking: Option<usize> = None;
    for line in lines.iter().skip(skip) {
        if let Some((key, value, _)) = md::field(line.text).filter(|_| !line.in_fence) {
            let key = key.to_ascii_lowercase();
            if key.contains("execution model") || key == "execution strategy" {
                s.sequential = value.trim_start_matches(['*', '`']).to_ascii_lowercase().starts_with("sequential");
            }
        }
        let heading = if line.in_fence { None } else { md::heading(line.text) };
        if let Some((level, t)) = heading {
            if level == 1 && title.is_none() {
                title = Some(strip_plan_prefix(t).to_owned());
                continue;
            }
            if picking.is_some_and(|l| level <= l) {
                picking = None;
            }
            let lower = t.to_ascii_lowercase();
            let wanted = [
                "overview",
                "summary",
                "strategy",
                "approach",
                "objective",
                "goal",
                "scope",
                "context",
                "background",
                "requirement",
            ];
            if picking.is_none() && wanted.iter().any(|w| lower.contains(w)) {
                picking = Some(level);
            }
        }
        if picking.is_some() {
            picked.push(line.text);
        } else if title.is_some() && picked.is_empty() {
            intro.push(line.text);
        }
    }
    if let Some(t) = title.filter(|t| !t.is_empty()) {
        b.plan.title = t;
    }
    let body = if picked.is_empty() { intro } else { picked };
    b.plan.context = body.join("\n");
}

fn strip_plan_prefix(title: &str) -> &str {
    for prefix in [
        "Implementation Plan:",
        "Implementation Plan -",
        "Implementation Plan —",
        "IMPL_PLAN:",
        "IMPL Plan:",
        "Tasks:",
        "TODO List:",
    ] {
        if let Some(rest) = title.strip_prefix(prefix) {
            return rest.trim();
        }
    }
    title.trim()
}

// ---------------------------------------------------------------------------------------------
// TODO_LIST.md

#[derive(Debug, Clone)]
struct TodoItem {
    id: String,
    title: String,
    /// `Some(true)` for `[x]`, `Some(false)` for `[ ]`, `None` for a `▸` container line.
    checked: Option<bool>,
    container: bool,
    /// A `### IMPL-1: Title` heading rather than a list line: every line up to the next heading
    /// is its notes.
    heading: bool,
    indent: usize,
    parent: Option<usize>,
    milestone: Option<String>,
    /// The linked task file, relative to the session.
    link: Option<String>,
    /// Lines nested under the item, trimmed, with where each was written.
    notes: Vec<(String, Span)>,
    /// Paths named after the title (`Title — `pkg/a.py`, `b.py``), with where each was written.
    files: Vec<(String, Span)>,
    line_span: Span,
    id_span: Span,
    /// Where the ticked box or done mark is, when there is one.
    status_span: Option<Span>,
}

/// A line of TODO_LIST.md outside every task: a legend, a note, a parallelization strategy, a
/// dependency diagram. Read for the dependencies it states.
#[derive(Debug, Clone)]
struct ProseLine {
    text: String,
    span: Span,
    fenced: bool,
    /// Which code block a fenced line belongs to (lines of one diagram share it).
    block: usize,
    /// A heading outside every task (`## Critical Files`): kept only to know the section.
    heading: bool,
}

#[derive(Debug, Default)]
struct Todo {
    items: Vec<TodoItem>,
    prose: Vec<ProseLine>,
}

fn read_todo(b: &mut PlanBuilder, src: SourceId, s: &mut Session) -> Todo {
    let text = b.text(src).to_owned();
    let mut todo = Todo::default();
    let items = &mut todo.items;
    let mut seen: HashSet<String> = HashSet::new();
    // The grouping heading (Wave, Phase, …) and its level: deeper headings keep it.
    let mut milestone: Option<(usize, String)> = None;
    let mut owner: Option<usize> = None;
    let mut block = 0;
    for line in md::lines(&text) {
        let span = Span::new(src, line.start, line.start + line.text.len());
        if line.in_fence {
            if md::fence_of(line.text).is_none() {
                todo.prose.push(ProseLine { text: line.text.to_owned(), span, fenced: true, block, heading: false });
            } else {
                block += 1;
            }
            continue;
        }
        if let Some((level, t)) = md::heading(line.text) {
            owner = None;
            if level == 1 {
                s.title_from_todo = Some(strip_plan_prefix(t).to_owned()).filter(|t| !t.is_empty());
                continue;
            }
            if let Some(mut item) = heading_item(&line, t, src) {
                if seen.insert(item.id.clone()) {
                    item.milestone = milestone.as_ref().map(|(_, m)| m.clone());
                    items.push(item);
                    owner = Some(items.len() - 1);
                    continue;
                }
            }
            todo.prose.push(ProseLine { text: t.to_owned(), span, fenced: false, block: 0, heading: true });
            let lower = t.trim_start_matches(|c: char| !c.is_alphanumeric()).to_ascii_lowercase();
            let grouping = ["wave", "phase", "stage", "milestone", "step", "batch"];
            if grouping.iter().any(|w| lower.starts_with(w)) {
                milestone = Some((level, t.to_owned()));
            } else if milestone.as_ref().is_some_and(|(l, _)| *l >= level) {
                milestone = None;
            }
            continue;
        }
        let indent = indent_width(line.text);
        let item = todo_item(&line, src).filter(|item| {
            // `- [ ] IMPL-1 Red phase` after `**IMPL-1**` was listed: a progress line of that
            // task, not a second task; so is a plain or numbered item repeating a listed id
            // (`1. **IMPL-1** (must go first): …` in an execution sequence).
            !((item.bare || item.plain) && seen.contains(&item.item.id))
        });
        match item {
            Some(found) => {
                let mut item = found.item;
                item.indent = indent;
                // `- [ ] **IMPL-4**: Fix it` right before `- [x] **IMPL-4**: Fix it -> [📋](…)`: a
                // stale copy of the same line left above its updated one; the later line wins.
                if items
                    .last()
                    .is_some_and(|p| !p.heading && p.id == item.id && p.indent == indent && p.notes.is_empty())
                    && owner == Some(items.len() - 1)
                {
                    items.pop();
                }
                item.milestone = milestone.as_ref().map(|(_, m)| m.clone());
                item.parent = items.iter().rposition(|p| !p.heading && p.indent < indent);
                // A parent must be an ancestor in the current block, not an earlier sibling's child.
                if let Some(p) = item.parent {
                    if items.iter().skip(p + 1).any(|q| q.indent <= items.get(p).map_or(0, |x| x.indent)) {
                        item.parent = None;
                    }
                }
                seen.insert(item.id.clone());
                items.push(item);
                owner = Some(items.len() - 1);
            }
            None => {
                let blank = line.text.trim().is_empty();
                // Lines nested under an item (or under a task heading) are its notes.
                if let Some(o) = owner.and_then(|i| items.get_mut(i)) {
                    if (o.heading || indent > o.indent) && !blank {
                        if !is_rule(line.text) {
                            o.notes.push((line.text.trim().to_owned(), span));
                        }
                        continue;
                    }
                    if !blank {
                        owner = None;
                    }
                }
                if !blank {
                    todo.prose.push(ProseLine {
                        text: line.text.to_owned(),
                        span,
                        fenced: false,
                        block: 0,
                        heading: false,
                    });
                }
            }
        }
    }
    todo
}

fn is_rule(line: &str) -> bool {
    let t = line.trim();
    t.len() >= 3 && (t.chars().all(|c| c == '-') || t.chars().all(|c| c == '*') || t.chars().all(|c| c == '_'))
}

fn indent_width(line: &str) -> usize {
    line.chars().take_while(|c| c.is_whitespace()).map(|c| if c == '\t' { 4 } else { 1 }).sum()
}

/// A task line read from TODO_LIST.md, and whether its id was written bare (not bold).
struct Found {
    item: TodoItem,
    bare: bool,
    /// A list item without a checkbox or `▸`.
    plain: bool,
}

/// A task line: `- [ ] **IMPL-1.2**: Title → [📋](./.task/IMPL-1.2.json)`, `▸ **IMPL-1**: Group`,
/// `- [x] IMPL-3 Title`, `- **IMPL-4**: Title`. A plain bullet is a task only with a bold id:
/// `- IMPL-7 can start after IMPL-2` is prose about tasks.
fn todo_item(line: &Line<'_>, src: SourceId) -> Option<Found> {
    let t = line.text.trim_start();
    let (checked, container, plain, rest) = if let Some(rest) = t.strip_prefix(['▸', '▶', '►']) {
        (None, true, false, rest.trim_start())
    } else if let Some((done, rest)) = md::checkbox(line.text) {
        (Some(done), false, false, rest)
    } else if let Some(rest) = md::bullet(line.text) {
        match rest.strip_prefix(['▸', '▶', '►']) {
            Some(r) => (None, true, false, r.trim_start()),
            None => (None, false, true, rest),
        }
    } else {
        return None;
    };
    let (id, after, bare) = split_id(rest)?;
    if plain && bare {
        return None;
    }
    let id_off = line.start + md::offset_in(line.text, id).unwrap_or(0);
    let (title, link) = title_and_link(after);
    let line_span = Span::new(src, line.start, line.start + line.text.len());
    let (title, files) = title_files(title, line, src);
    let status_span = (checked == Some(true))
        .then(|| line.text.find("[x]").or_else(|| line.text.find("[X]")))
        .flatten()
        .map(|i| Span::new(src, line.start + i, line.start + i + 3));
    Some(Found {
        item: TodoItem {
            id: id.to_owned(),
            title,
            checked,
            container,
            heading: false,
            indent: 0,
            parent: None,
            milestone: None,
            link,
            notes: Vec::new(),
            files,
            line_span,
            id_span: Span::new(src, id_off, id_off + id.len()),
            status_span,
        },
        bare,
        plain,
    })
}

/// The id at the start of a task line's text: `**IMPL-1**`, `**IMPL-1:**` or a bare `IMPL-1`.
fn split_id(rest: &str) -> Option<(&str, &str, bool)> {
    let (id, after, bare) = if let Some(inner) = rest.strip_prefix("**") {
        let close = inner.find("**")?;
        (inner.get(..close)?.trim().trim_end_matches(':'), inner.get(close + 2..)?, false)
    } else {
        let end = rest.find(|c: char| c.is_whitespace() || c == ':').unwrap_or(rest.len());
        (rest.get(..end)?, rest.get(end..)?, true)
    };
    looks_like_id(id).then_some((id, after, bare))
}

/// The title of a task line and the task file its link names.
fn title_and_link(after: &str) -> (String, Option<String>) {
    let mut title = after.trim_start().trim_start_matches([':', '：', '—', '–', '-']).trim();
    let mut link = None;
    for arrow in ["→", "->", "⟶"] {
        if let Some(i) = title.find(arrow) {
            link = link_target(title.get(i..).unwrap_or(""));
            title = title.get(..i).unwrap_or(title).trim();
        }
    }
    if link.is_none() {
        if let Some(i) = title.find("](") {
            link = link_target(title.get(i.saturating_sub(4)..).unwrap_or(""));
            let cut = title.get(..i).and_then(|h| h.rfind('[')).unwrap_or(i);
            title = title.get(..cut).unwrap_or(title).trim();
        }
    }
    (model::one_line(title.trim_end_matches(['|', ' ']).trim()), link)
}

/// A task written as a heading: `### IMPL-001: Title`, `### ✅ IMPL-2 — Title`, `#### **IMPL-3**`.
fn heading_item(line: &Line<'_>, t: &str, src: SourceId) -> Option<TodoItem> {
    let (done, rest) = md::strip_done_mark(t);
    let (id, after, _) = split_id(rest)?;
    let id_off = line.start + md::offset_in(line.text, id).unwrap_or(0);
    let (mut title, link) = title_and_link(after);
    let mut done = done;
    for mark in ["✅", "✔️", "✔", "(done)", "(completed)", "(complete)", "✓"] {
        if let Some(r) = title.strip_suffix(mark) {
            done = true;
            title = r.trim_end().trim_end_matches(['—', '–', '-']).trim_end().to_owned();
        }
    }
    let line_span = Span::new(src, line.start, line.start + line.text.len());
    let (title, files) = title_files(title, line, src);
    Some(TodoItem {
        id: id.to_owned(),
        title,
        checked: done.then_some(true),
        container: false,
        heading: true,
        indent: 0,
        parent: None,
        milestone: None,
        link,
        notes: Vec::new(),
        files,
        line_span,
        id_span: Span::new(src, id_off, id_off + id.len()),
        status_span: done.then_some(line_span),
    })
}

/// A task line whose title ends with the files it changes after a dash (`SignalSpec & Registry —
/// `quantlab/signals/spec.py`, `registry.py``): the title without them, and the paths. A bare name
/// after a path is in that path's folder. Anything but backticked paths after the dash (`— SEC-001:
/// Title`, `— `config` cleanup`) leaves the title as it is.
fn title_files(title: String, line: &Line<'_>, src: SourceId) -> (String, Vec<(String, Span)>) {
    let cut = ["—", "–"].iter().filter_map(|d| title.rfind(&format!(" {d} "))).max();
    let Some(cut) = cut else {
        return (title, Vec::new());
    };
    let tail = title.get(cut..).unwrap_or("").trim_start().trim_start_matches(['—', '–']);
    let spans = md::code_spans(tail);
    // Nothing but the code spans, commas and `and` between them.
    let mut rest = tail.to_owned();
    for (p, _) in &spans {
        rest = rest.replacen(&format!("`{p}`"), " ", 1);
    }
    let glue_only = rest.split(|c: char| c.is_whitespace() || c == ',').all(|w| w.is_empty() || w == "and" || w == "&");
    let paths: Vec<&str> = spans.iter().map(|(p, _)| p.trim()).collect();
    let all_paths = paths.iter().all(|p| {
        let p = p.trim_start_matches("./");
        !p.is_empty()
            && !p.contains(char::is_whitespace)
            && !p.starts_with("http")
            && (p.contains('/') || p.contains('.') || EXTENSIONLESS_FILES.contains(&p))
    });
    let head = title.get(..cut).unwrap_or("").trim_end();
    if spans.is_empty() || !glue_only || !all_paths || head.is_empty() {
        return (title, Vec::new());
    }
    let line_span = Span::new(src, line.start, line.start + line.text.len());
    let mut folder: Option<String> = None;
    let mut files = Vec::new();
    for p in paths {
        let p = p.trim_start_matches("./");
        let full = match (&folder, p.contains('/')) {
            (Some(dir), false) => format!("{dir}/{p}"),
            _ => p.to_owned(),
        };
        if let Some((dir, _)) = full.rsplit_once('/') {
            folder = Some(dir.to_owned());
        }
        let span = line
            .text
            .find(&format!("`{p}`"))
            .map_or(line_span, |i| Span::new(src, line.start + i + 1, line.start + i + 1 + p.len()));
        if !files.iter().any(|(f, _)| *f == full) {
            files.push((full, span));
        }
    }
    (head.to_owned(), files)
}

/// The first `.json` link target in `text`.
fn link_target(text: &str) -> Option<String> {
    let mut rest = text;
    while let Some(i) = rest.find("](") {
        let after = rest.get(i + 2..)?;
        let end = after.find(')')?;
        let target = after.get(..end)?.trim();
        if target.to_ascii_lowercase().ends_with(".json") {
            return Some(target.trim_start_matches("./").to_owned());
        }
        rest = after.get(end..)?;
    }
    None
}

/// A CCW-like task id: letters, a dash, then digits and dots (`IMPL-1.2`, `TEST-001`).
fn looks_like_id(id: &str) -> bool {
    let Some((prefix, num)) = id.split_once('-') else {
        return false;
    };
    !prefix.is_empty()
        && prefix.chars().all(|c| c.is_ascii_alphabetic())
        && !num.is_empty()
        && num.starts_with(|c: char| c.is_ascii_digit())
        && num.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_')
}

// ---------------------------------------------------------------------------------------------
// .task/*.json

#[derive(Debug)]
struct TaskJson {
    file: PathBuf,
    id: String,
    task: Task,
    spans: TaskSpans,
    /// Whether the file declares dependencies at all (an empty list counts).
    declares_deps: bool,
    /// `Some` when the file has a status.
    done: Option<bool>,
    status_span: Option<Span>,
    group: Option<String>,
    /// Tasks this one holds back (`is_blocking`, `blocks`): each of them waits for it.
    blocks: Vec<(String, Span)>,
}

fn read_task_json(b: &mut PlanBuilder, src: SourceId, file: &Path) -> Option<TaskJson> {
    let text = b.text(src).to_owned();
    let root = match json::parse(&text, src) {
        Ok(v) => v,
        Err(d) => {
            b.warn(d.help(format!(
                "fix the JSON of `{}`; the task is kept from TODO_LIST.md if it is listed there",
                file_name(file)
            )));
            return None;
        }
    };
    if !root.is_object() {
        b.warn(
            Diagnostic::error("json-shape", format!("a task file must hold a JSON object, found {}", root.kind_name()))
                .at(Some(root.span))
                .help("write {\"id\": \"IMPL-1\", \"title\": \"…\", …}"),
        );
        return None;
    }
    let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let mut spans = TaskSpans::at(root.span);
    let id = match root.get("id") {
        Some(v) => {
            spans.id = Some(v.span);
            let id = v.as_text().unwrap_or_default();
            if id.trim().is_empty() {
                b.warn(
                    Diagnostic::error("missing-id", "the task `id` is empty")
                        .at(Some(v.span))
                        .help(format!("write \"id\": \"{stem}\"")),
                );
                stem.clone()
            } else {
                if !id.eq_ignore_ascii_case(&stem) {
                    b.warn(
                        Diagnostic::warning(
                            "id-mismatch",
                            format!("task file `{}` holds task `{id}`", file_name(file)),
                        )
                        .at(Some(v.span))
                        .help("name the file after the task id; planrun uses the id inside the file"),
                    );
                }
                id
            }
        }
        None => {
            b.warn(
                Diagnostic::error(
                    "missing-id",
                    format!("task file `{}` has no `id`; it was read as `{stem}`", file_name(file)),
                )
                .at(Some(Span::new(src, root.span.start, root.span.start + 1)))
                .help(format!("add \"id\": \"{stem}\"")),
            );
            stem.clone()
        }
    };
    let mut task = Task::new(id.trim(), "");
    if let Some(v) = root.get("title") {
        spans.title = Some(v.span);
        task.title = model::one_line(&v.as_text().unwrap_or_default());
    }

    // description: the task's own text, its requirements, then how to implement it.
    let mut desc: Vec<String> = Vec::new();
    for v in [root.get("description"), root.path(&["context", "description"])].into_iter().flatten() {
        if let Some(d) = v.as_text().filter(|d| !d.trim().is_empty()) {
            desc.push(d);
            spans.description.get_or_insert(v.span);
        }
    }
    let requirements = texts(root.path(&["context", "requirements"]).or_else(|| root.get("requirements")));
    if !requirements.is_empty() {
        desc.push(format!("Requirements:\n{}", bullets(&requirements)));
    }
    if let Some(approach) =
        root.path(&["flow_control", "implementation_approach"]).or_else(|| root.get("implementation"))
    {
        let steps = render_steps(approach);
        if !steps.is_empty() {
            desc.push(format!("Implementation approach:\n{steps}"));
        }
    }
    task.description = model::block(&desc.join("\n\n"));

    // files: focus paths (folders mean everything under them) and target files.
    let mut files: Vec<(String, Span)> = Vec::new();
    let mut add_file = |raw: &str, span: Span, from_focus: bool| {
        let Some(path) = clean_target(raw) else {
            return;
        };
        let path = if from_focus || path.ends_with('/') { as_glob(&path, file) } else { path };
        if !files.iter().any(|(p, _)| *p == path) {
            files.push((path, span));
        }
    };
    for v in [root.path(&["context", "focus_paths"]), root.get("focus_paths")].into_iter().flatten() {
        for (p, span) in v.text_list() {
            add_file(&p, span, true);
        }
    }
    for v in [
        root.path(&["flow_control", "target_files"]),
        root.get("target_files"),
        root.get("files"),
        root.get("affected_files"),
        root.path(&["context", "affected_files"]),
    ]
    .into_iter()
    .flatten()
    {
        for item in list_items(v) {
            let text = item.as_text().or_else(|| item.get_any(&["path", "file", "target"]).and_then(JValue::as_text));
            if let Some(p) = text {
                add_file(&p, item.span, false);
            }
        }
    }
    task.files = files.iter().map(|(p, _)| p.clone()).collect();
    spans.files = files.iter().map(|(_, s)| *s).collect();

    // dependencies: wherever the schema version put them (top level, `context`, `meta`,
    // `dependencies.depends_on` / `dependencies.upstream` or a bare `dependencies` list).
    let mut declares_deps = false;
    let dependencies = root.get("dependencies");
    let dep_lists = [
        root.get("depends_on"),
        root.path(&["context", "depends_on"]),
        root.path(&["meta", "depends_on"]),
        dependencies.and_then(|d| d.get("depends_on")),
        dependencies.and_then(|d| d.get("upstream")),
        dependencies.filter(|d| matches!(d.kind, JKind::Array(_) | JKind::String(_))),
    ];
    for v in dep_lists.into_iter().flatten() {
        declares_deps = true;
        for item in list_items(v) {
            let Some(raw) = item.as_text() else {
                unread_dep(b, item.span, "a dependency that is not a task id");
                continue;
            };
            let dep = raw.trim().to_owned();
            if dep.is_empty() || is_none_word(&dep) {
                continue;
            }
            if !looks_like_id(&dep) {
                unread_dep(b, item.span, &format!("`{dep}`, which is not a task id"));
                continue;
            }
            if dep != task.id && !task.depends_on.contains(&dep) {
                task.depends_on.push(dep);
                spans.depends_on.push(item.span);
            }
        }
    }

    // `is_blocking` / `blocks`: the tasks named wait for this one (read when the tasks are merged).
    let mut blocks: Vec<(String, Span)> = Vec::new();
    for v in [root.get("is_blocking"), root.get("blocks"), root.get("blocking")].into_iter().flatten() {
        declares_deps = true;
        for item in list_items(v) {
            let Some(raw) = item.as_text() else {
                unread_dep(b, item.span, "a blocked task that is not a task id");
                continue;
            };
            let id = raw.trim().to_owned();
            if id.is_empty() || is_none_word(&id) {
                continue;
            }
            if !looks_like_id(&id) {
                unread_dep(b, item.span, &format!("`{id}` as blocked, which is not a task id"));
                continue;
            }
            if id != task.id && !blocks.iter().any(|(x, _)| *x == id) {
                blocks.push((id, item.span));
            }
        }
    }

    // acceptance and verify: criteria lists, convergence, and verification steps; a criterion
    // that says how to check it ("…: verify by `cmd`") also gives that command.
    let mut acceptance: Vec<(String, Span)> = Vec::new();
    for v in [
        root.path(&["context", "acceptance"]),
        root.path(&["context", "acceptance_criteria"]),
        root.get("acceptance"),
        root.get("acceptance_criteria"),
        root.path(&["convergence", "criteria"]),
    ]
    .into_iter()
    .flatten()
    {
        acceptance.extend(text_spans(v));
    }
    let mut verify: Vec<(String, Span)> = Vec::new();
    for (criterion, span) in &acceptance {
        if let Some(cmd) = verify_in_criterion(criterion) {
            if !verify.iter().any(|(c, _)| *c == cmd) {
                verify.push((cmd, *span));
            }
        }
    }
    for v in [
        root.path(&["convergence", "verification"]),
        root.path(&["flow_control", "verification"]),
        root.get("verification"),
    ]
    .into_iter()
    .flatten()
    {
        for (text, span) in text_spans(v) {
            match commands(&text) {
                Some(cmds) => {
                    for c in cmds {
                        if !verify.iter().any(|(v, _)| *v == c) {
                            verify.push((c, span));
                        }
                    }
                }
                None => acceptance.push((text, span)),
            }
        }
    }
    if let Some(v) = root.path(&["convergence", "definition_of_done"]) {
        acceptance.extend(text_spans(v));
    }
    for (a, span) in acceptance {
        let a = model::one_line(&a);
        if !a.is_empty() && !task.acceptance.contains(&a) {
            task.acceptance.push(a);
            spans.acceptance.push(span);
        }
    }
    for (c, span) in verify {
        task.verify.push(c);
        spans.verify.push(span);
    }

    // agent (CLI tool) and persona (the CCW agent role).
    if let Some(tool) = root.path(&["meta", "execution_config", "cli_tool"]).and_then(JValue::as_text) {
        task.agent = Some(model::one_line(&tool)).filter(|t| !t.is_empty());
    }
    task.persona = root
        .path(&["meta", "agent"])
        .and_then(JValue::as_text)
        .map(|a| model::one_line(a.trim_start_matches('@')))
        .filter(|a| !a.is_empty())
        .or_else(|| persona_for_type(root.path(&["meta", "type"]).and_then(JValue::as_str)?));

    // pre-analysis steps are context gathering the implementing agent runs first.
    if let Some(pre) = root.path(&["flow_control", "pre_analysis"]) {
        let steps = render_steps(pre);
        if !steps.is_empty() {
            task.instructions.build = Some(format!("Before implementing, gather context:\n{steps}"));
        }
    }

    let status = root.get("status");
    spans.status = status.map(|v| v.span);
    let done = status.and_then(|v| {
        let word = v.as_text().unwrap_or_default();
        match crate::native::status_word(&word).or_else(|| ccw_status(&word)) {
            Some(s) => Some(s == Status::Done),
            None => {
                b.warn(
                    Diagnostic::warning(
                        "unknown-status",
                        format!("unknown status `{word}`; the task is treated as pending"),
                    )
                    .at(Some(v.span))
                    .help("use pending, active, completed or blocked"),
                );
                None
            }
        }
    });
    let group = root
        .get("parallel_group")
        .or_else(|| root.path(&["meta", "execution_group"]))
        .and_then(JValue::as_text)
        .filter(|g| !g.trim().is_empty());

    warn_unknown(b, &root);
    Some(TaskJson {
        file: file.to_owned(),
        id: task.id.clone(),
        task,
        spans,
        declares_deps,
        done,
        status_span: status.map(|v| v.span),
        group,
        blocks,
    })
}

fn unread_dep(b: &mut PlanBuilder, span: Span, what: &str) {
    b.warn(
        Diagnostic::warning(
            "unread-dependency",
            format!("the task file lists {what}; it was not read as a dependency"),
        )
        .at(Some(span))
        .help("list dependencies by task id: \"depends_on\": [\"IMPL-1\"]"),
    );
}

fn is_none_word(s: &str) -> bool {
    matches!(
        s.trim().trim_end_matches('.').to_ascii_lowercase().as_str(),
        "none" | "n/a" | "-" | "—" | "无" | "nothing"
    )
}

/// Strings of a value with the span of each (a string, a list of strings, or of objects with text).
fn text_spans(v: &JValue) -> Vec<(String, Span)> {
    list_items(v)
        .into_iter()
        .filter_map(|item| {
            let text = item.as_text().or_else(|| {
                item.get_any(&["criterion", "description", "text", "title", "name", "command"])
                    .and_then(JValue::as_text)
            })?;
            let text = text.trim().to_owned();
            (!text.is_empty()).then_some((text, item.span))
        })
        .collect()
}

/// The command a criterion names as its check: `…: verify by npm test -- auth`,
/// `… (verify: \`cargo test\`)`. Only when what follows reads as a command run as written: a
/// known program, no comparison of its output (`| wc -l = 4`) and no prose around it. A trailing
/// `(exit code 0)` is a note, not part of the command.
fn verify_in_criterion(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let at = ["verify by ", "verified by ", "verify with ", "verify: ", "verify:", "验证：", "验证:", "验证 "]
        .iter()
        .find_map(|k| lower.find(k).map(|i| i + k.len()))?;
    let mut rest = text.get(at..)?.trim();
    if lower.get(..at).is_some_and(|head| head.trim_end().ends_with("(verify:")) {
        rest = rest.strip_suffix(')').unwrap_or(rest).trim();
    }
    for note in ["(exit code 0)", "exit code 0", "(exit 0)", "(退出码 0)", "退出码 0", "退出码为 0"] {
        if let Some(r) = rest.strip_suffix(note) {
            rest = r.trim();
        }
    }
    let rest = rest.trim_end_matches('.').trim();
    let spans = md::code_spans(rest);
    let cmd = match spans.as_slice() {
        [(inner, _)] if rest.starts_with('`') && rest.ends_with('`') => inner.trim(),
        _ if !spans.is_empty() => return None,
        _ => rest,
    };
    if cmd.is_empty() || !cmd.is_ascii() {
        return None;
    }
    let compares = cmd.split_whitespace().any(|w| matches!(w, "=" | "==" | ">=" | "<=" | "!=" | "→"));
    // `cd dir && cmd`: the command is what runs after moving into the folder.
    let runs = cmd.strip_prefix("cd ").and_then(|r| r.split_once("&&")).map_or(cmd, |(_, r)| r.trim());
    let program = super::commands::first_program(runs).unwrap_or("");
    let known = super::commands::is_program(program) || program == "ls";
    let prose = runs.split_whitespace().any(|w| PROSE.contains(&w.to_ascii_lowercase().as_str())) || says_where(runs);
    (known && !compares && !prose).then(|| cmd.to_owned())
}

fn ccw_status(word: &str) -> Option<Status> {
    match word.trim().to_ascii_lowercase().as_str() {
        "failed" | "skipped" | "cancelled" | "canceled" | "paused" | "container" => Some(Status::Pending),
        _ => None,
    }
}

/// Persona when `meta.agent` is missing, as CCW infers it from `meta.type`.
fn persona_for_type(kind: &str) -> Option<String> {
    let p = match kind.trim().to_ascii_lowercase().as_str() {
        "feature" | "test-gen" => "code-developer",
        "test-fix" => "test-fix-agent",
        "review" => "universal-executor",
        "docs" => "doc-generator",
        _ => return None,
    };
    Some(p.to_owned())
}

/// Top-level fields CCW writes that planrun reads or knowingly ignores.
const KNOWN_FIELDS: [&str; 31] = [
    "id",
    "title",
    "description",
    "status",
    "meta",
    "context",
    "flow_control",
    "depends_on",
    "convergence",
    "parallel_group",
    "focus_paths",
    "target_files",
    "files",
    "requirements",
    "acceptance",
    "acceptance_criteria",
    "affected_files",
    "is_blocking",
    "blocks",
    "dependencies",
    "verification",
    "cli_execution_id",
    "implementation",
    "cli_execution",
    "context_package_path",
    "artifacts",
    "priority",
    "type",
    "created_at",
    "updated_at",
    "$schema",
];

fn warn_unknown(b: &mut PlanBuilder, root: &JValue) {
    for (key, value) in root.members() {
        if !KNOWN_FIELDS.contains(&key.as_str()) && !key.ends_with("_at") && !key.starts_with('_') {
            b.warn(
                Diagnostic::warning(
                    "unknown-field",
                    format!("task field `{key}` is not read by planrun and is ignored"),
                )
                .at(Some(value.span))
                .help("move what the agent needs into `description` or `context.requirements`"),
            );
        }
    }
}

fn list_items(v: &JValue) -> Vec<&JValue> {
    match &v.kind {
        JKind::Array(items) => items.iter().collect(),
        JKind::Null => Vec::new(),
        _ => vec![v],
    }
}

/// Strings of a value that may be a string, a list of strings, or a list of objects with text.
fn texts(v: Option<&JValue>) -> Vec<String> {
    let Some(v) = v else { return Vec::new() };
    list_items(v)
        .into_iter()
        .filter_map(|item| {
            item.as_text().or_else(|| {
                item.get_any(&["criterion", "description", "text", "title", "name"]).and_then(JValue::as_text)
            })
        })
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect()
}

fn bullets(items: &[String]) -> String {
    items.iter().map(|i| format!("- {}", model::one_line(i))).collect::<Vec<_>>().join("\n")
}

/// Renders implementation or pre-analysis steps as a numbered markdown list.
fn render_steps(v: &JValue) -> String {
    let mut out: Vec<String> = Vec::new();
    for (n, step) in list_items(v).into_iter().enumerate() {
        if let Some(t) = step.as_text() {
            out.push(format!("{}. {}", n + 1, model::one_line(&t)));
            continue;
        }
        if !step.is_object() {
            continue;
        }
        let name = step.get_any(&["title", "step", "name"]).and_then(JValue::as_text).unwrap_or_default();
        let what = step.get_any(&["description", "action"]).and_then(JValue::as_text).unwrap_or_default();
        let head = match (name.trim().is_empty() || name.chars().all(|c| c.is_ascii_digit()), what.trim().is_empty()) {
            (false, false) => format!("**{}**: {}", model::one_line(&name), model::one_line(&what)),
            (false, true) => model::one_line(&name),
            (true, _) => model::one_line(&what),
        };
        out.push(format!("{}. {head}", n + 1));
        for key in ["modification_points", "logic_flow", "commands", "command"] {
            for item in texts(step.get(key)) {
                let item = model::one_line(&item);
                out.push(if key.starts_with("command") { format!("   - `{item}`") } else { format!("   - {item}") });
            }
        }
    }
    out.join("\n")
}

/// `src/auth/service.ts:validateToken:45-80` -> `src/auth/service.ts`; drops `./` and notes.
fn clean_target(raw: &str) -> Option<String> {
    let t = raw.trim().trim_matches('`').trim_start_matches("./");
    let t = t.split(" (").next().unwrap_or(t);
    let t = t.split(':').next().unwrap_or(t).trim().trim_end_matches(',');
    (!t.is_empty() && t != "." && !t.contains(char::is_whitespace)).then(|| t.to_owned())
}

/// File names without an extension that are files, not folders.
const EXTENSIONLESS_FILES: [&str; 8] =
    ["Makefile", "Dockerfile", "LICENSE", "Justfile", "Procfile", "Gemfile", "Rakefile", "Jenkinsfile"];

/// A focus path naming a folder becomes a glob for everything under it. A folder is a path that
/// exists as one in the repository, ends with `/`, or (when it does not exist yet) has no
/// extension in its last component.
fn as_glob(path: &str, task_file: &Path) -> String {
    if path.contains('*') {
        return path.to_owned();
    }
    let trimmed = path.trim_end_matches('/');
    let root = task_file.ancestors().find(|p| file_name(p) == ".workflow").and_then(Path::parent);
    let on_disk = root.map(|r| r.join(trimmed));
    let is_dir = path.ends_with('/')
        || on_disk.as_ref().is_some_and(|p| p.is_dir())
        || (!on_disk.as_ref().is_some_and(|p| p.exists()) && {
            let last = trimmed.rsplit('/').next().unwrap_or(trimmed);
            !last.contains('.') && !EXTENSIONLESS_FILES.contains(&last)
        });
    if is_dir { format!("{trimmed}/**") } else { trimmed.to_owned() }
}

/// The commands of a verification text when it is only commands: one backticked command, or
/// lines that each start with a known command and read like one, not like prose.
fn commands(text: &str) -> Option<Vec<String>> {
    let t = text.trim();
    let spans = md::code_spans(t);
    if let [(inner, _)] = spans.as_slice() {
        if t.starts_with('`') && t.trim_end_matches('.').ends_with('`') && !inner.trim().is_empty() {
            return Some(vec![inner.trim().to_owned()]);
        }
    }
    if !spans.is_empty() {
        return None;
    }
    let lines: Vec<&str> = t.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    if lines.is_empty() || !lines.iter().all(|l| is_command(l)) {
        return None;
    }
    Some(lines.iter().map(|l| l.trim_start_matches("$ ").to_owned()).collect())
}

/// Words that turn a line starting with a program name into prose ("npm test passes").
const PROSE: [&str; 12] = [
    "pass",
    "passes",
    "succeed",
    "succeeds",
    "should",
    "must",
    "shows",
    "returns",
    "without",
    "successfully",
    "works",
    "green",
];

/// `grep 'a\|b' in test`: a bare `in` after the program says where to look, in words; it is
/// no argument a shell could run (unless the line is a `for … in` loop or a `case … in`).
fn says_where(cmd: &str) -> bool {
    // Only the words outside quotes: `grep -r "used in tests" src/` is a command.
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    for c in cmd.chars() {
        match (quote, c) {
            (Some(q), _) if c == q => quote = None,
            (Some(_), _) => word.push('"'),
            (None, '\'' | '"') => quote = Some(c),
            (None, _) if c.is_whitespace() => words.extend((!word.is_empty()).then(|| std::mem::take(&mut word))),
            (None, _) => word.push(c),
        }
    }
    words.extend((!word.is_empty()).then_some(word));
    words.iter().skip(1).any(|w| w == "in") && !words.iter().any(|w| matches!(w.as_str(), "for" | "case" | "select"))
}

fn is_command(line: &str) -> bool {
    let line = line.trim_start_matches("$ ");
    let known = super::commands::first_program(line).is_some_and(super::commands::is_program);
    // Prose in another script, or a comparison of the output (`… | wc -l >= 2`), is a check
    // described for a person, not a command whose exit status says it passed.
    let compares = line.split_whitespace().any(|w| matches!(w, "=" | "==" | ">=" | "<=" | "!=" | "→"));
    known
        && line.is_ascii()
        && !compares
        && !line.ends_with('.')
        && !says_where(line)
        && !line.split_whitespace().any(|w| PROSE.contains(&w.to_ascii_lowercase().as_str()))
}

// ---------------------------------------------------------------------------------------------
// Merging TODO_LIST.md with the task files

fn build(b: &mut PlanBuilder, s: &Session, todo: Todo, jsons: Vec<TaskJson>, failed: &HashSet<String>) {
    if b.plan.title.trim().is_empty() {
        if let Some(t) = &s.title_from_todo {
            b.plan.title = t.clone();
        }
    }
    let Todo { items: todo, prose } = todo;
    let mut by_id: HashMap<String, usize> = HashMap::new();
    let mut by_file: HashMap<String, usize> = HashMap::new();
    for (i, j) in jsons.iter().enumerate() {
        by_id.entry(j.id.to_ascii_lowercase()).or_insert(i);
        by_file.insert(file_name(&j.file).to_ascii_lowercase(), i);
    }
    let mut jsons: Vec<Option<TaskJson>> = jsons.into_iter().map(Some).collect();
    let has_children: HashSet<usize> = todo.iter().filter_map(|t| t.parent).collect();
    let mut todo_index: HashMap<String, usize> = HashMap::new();
    // (task, spans, declares deps, group) in TODO order, then the unlisted task files.
    let mut out: Vec<Entry> = Vec::new();
    let mut children_of: HashMap<String, Vec<String>> = HashMap::new();
    // (blocker, blocked, where): `is_blocking` lists and `Blocks:` notes, read once every task is known.
    let mut blocking: Vec<(String, String, Span)> = Vec::new();

    for (i, item) in todo.iter().enumerate() {
        let notes = read_notes(b, item);
        let link = item.link.as_ref().or(notes.link.as_ref());
        let found = link
            .and_then(|l| by_file.get(&file_name(Path::new(l)).to_ascii_lowercase()))
            .or_else(|| by_id.get(&item.id.to_ascii_lowercase()))
            .copied();
        let json = found.and_then(|j| jsons.get_mut(j).and_then(Option::take));
        let parent_title = item.parent.and_then(|p| todo.get(p)).map(|p| p.title.clone());
        if let Some(parent) = item.parent.and_then(|p| todo.get(p)) {
            children_of.entry(parent.id.clone()).or_default().push(item.id.clone());
        }
        let milestone = parent_title.filter(|t| !t.is_empty()).or_else(|| item.milestone.clone());
        let todo_done = match (item.checked, notes.status) {
            (Some(true), _) | (_, Some((true, _))) => Some(true),
            (Some(false), _) | (_, Some((false, _))) => Some(false),
            _ => None,
        };
        let todo_status_span = item.status_span.or(notes.status.filter(|(d, _)| *d).map(|(_, s)| s));
        match json {
            Some(j) => {
                let mut task = j.task;
                let mut spans = j.spans;
                if task.title.is_empty() {
                    task.title = item.title.clone();
                    spans.title = Some(item.line_span);
                }
                if let (Some(a), Some(bx)) = (j.done, todo_done) {
                    if a != bx {
                        b.warn(
                            Diagnostic::warning(
                                "status-mismatch",
                                format!(
                                    "`{}` is {} in its task file but {} in TODO_LIST.md; it is treated as done",
                                    task.id,
                                    if a { "completed" } else { "not completed" },
                                    if bx { "ticked" } else { "not ticked" }
                                ),
                            )
                            .at(Some(item.line_span))
                            .related(j.status_span, "status in the task file")
                            .help("tick the box and set \"status\": \"completed\" together, or neither"),
                        );
                    }
                }
                if j.done == Some(true) || todo_done == Some(true) {
                    task.status = Status::Done;
                    if j.done != Some(true) {
                        spans.status = todo_status_span;
                    }
                } else {
                    spans.status = None;
                }
                // Dependencies noted under the TODO line add to the task file's.
                for (dep, span) in &notes.deps {
                    if *dep != task.id && !task.depends_on.contains(dep) {
                        task.depends_on.push(dep.clone());
                        spans.depends_on.push(*span);
                    }
                }
                // Paths on the TODO line stand in for a task file that names none.
                if task.files.is_empty() {
                    for (f, span) in &item.files {
                        if !task.files.contains(f) {
                            task.files.push(f.clone());
                            spans.files.push(*span);
                        }
                    }
                }
                for (blocked, span) in j.blocks.iter().chain(&notes.blocks) {
                    blocking.push((task.id.clone(), blocked.clone(), *span));
                }
                task.milestone = milestone;
                todo_index.insert(task.id.clone(), out.len());
                out.push((task, spans, j.declares_deps || notes.declares, j.group));
            }
            None => {
                // A `▸` group line with children and no task file only groups its subtasks.
                if item.container && has_children.contains(&i) {
                    continue;
                }
                let unreadable = link.is_some_and(|l| failed.contains(&file_name(Path::new(l)).to_ascii_lowercase()))
                    || failed.contains(&format!("{}.json", item.id.to_ascii_lowercase()));
                let what = if unreadable { "its task file could not be read" } else { "it has no task file" };
                // A list without any task files is a plan of its own, not a broken session.
                if !by_id.is_empty() || unreadable {
                    b.warn(
                        Diagnostic::warning(
                            "missing-task-file",
                            format!("`{}` is listed in TODO_LIST.md but {what}", item.id),
                        )
                        .at(Some(item.line_span))
                        .help(format!(
                            "add .task/{}.json, or remove the line; the task is kept with what the list says",
                            item.id
                        )),
                    );
                }
                let mut task = Task::new(item.id.clone(), item.title.clone());
                let mut spans = TaskSpans {
                    task: Some(item.line_span),
                    id: Some(item.id_span),
                    title: Some(item.line_span),
                    ..TaskSpans::default()
                };
                for (dep, span) in &notes.deps {
                    if *dep != task.id && !task.depends_on.contains(dep) {
                        task.depends_on.push(dep.clone());
                        spans.depends_on.push(*span);
                    }
                }
                for (f, span) in item.files.iter().chain(&notes.files) {
                    if !task.files.contains(f) {
                        task.files.push(f.clone());
                        spans.files.push(*span);
                    }
                }
                task.description = model::block(&notes.desc.join("\n"));
                if !task.description.is_empty() {
                    spans.description = notes.desc_span;
                }
                if todo_done == Some(true) {
                    task.status = Status::Done;
                    spans.status = todo_status_span;
                }
                for (blocked, span) in &notes.blocks {
                    blocking.push((task.id.clone(), blocked.clone(), *span));
                }
                task.milestone = milestone;
                todo_index.insert(task.id.clone(), out.len());
                out.push((task, spans, notes.declares, None));
            }
        }
    }
    for j in jsons.into_iter().flatten() {
        if !todo.is_empty() {
            b.warn(
                Diagnostic::warning(
                    "not-in-todo-list",
                    format!(
                        "task file `{}` is not listed in TODO_LIST.md; it runs after the listed tasks",
                        file_name(&j.file)
                    ),
                )
                .at(j.spans.id.or(j.spans.task))
                .help(format!("add `- [ ] **{}**: {}` to TODO_LIST.md", j.id, j.task.title)),
            );
        }
        let mut task = j.task;
        let mut spans = j.spans;
        if j.done == Some(true) {
            task.status = Status::Done;
        } else {
            spans.status = None;
        }
        for (blocked, span) in &j.blocks {
            blocking.push((task.id.clone(), blocked.clone(), *span));
        }
        out.push((task, spans, j.declares_deps, j.group));
    }

    // `IMPL-1` blocks `IMPL-3`: `IMPL-3` waits for `IMPL-1`. A blocked id that is no task is
    // reported, not invented.
    let position: HashMap<String, usize> =
        out.iter().enumerate().map(|(i, (t, _, _, _))| (t.id.to_ascii_lowercase(), i)).collect();
    for (blocker, blocked, span) in blocking {
        match position.get(&blocked.to_ascii_lowercase()).and_then(|&i| out.get_mut(i)) {
            Some((task, spans, declares, _)) => {
                *declares = true;
                if task.id != blocker && !task.depends_on.contains(&blocker) {
                    task.depends_on.push(blocker);
                    spans.depends_on.push(span);
                }
            }
            None => b.warn(
                Diagnostic::warning(
                    "unread-dependency",
                    format!("`{blocker}` is said to block `{blocked}`, which is not a task of this session"),
                )
                .at(Some(span))
                .help("name tasks of this session in `is_blocking` / `Blocks:`"),
            ),
        }
    }

    // A parent task in TODO_LIST.md is finished by its subtasks: it waits for them.
    for (task, spans, _, _) in &mut out {
        if let Some(kids) = children_of.get(&task.id) {
            for kid in kids {
                if !task.depends_on.contains(kid) && todo_index.contains_key(kid) {
                    task.depends_on.push(kid.clone());
                    if let Some(span) = spans.task {
                        spans.depends_on.push(span);
                    }
                }
            }
        }
    }

    // Orders stated in prose ("IMPL-7 can start after IMPL-2", a critical path): read when clear,
    // else reported unless the tasks already say as much.
    prose_dependencies(b, &prose, &mut out);
    // Files and commands given per task outside the tasks: `Task | Files` tables, a
    // `## Critical Files` list tagging each path with its tasks.
    side_fields(b, &prose, &mut out);

    // Parents follow their subtasks, so that list order is also a possible run order.
    let mut out = children_first(out, &children_of);

    // Without any declared dependency (or with a Sequential model) tasks run in list order;
    // tasks sharing a parallel group run side by side.
    let any_declared = out.iter().any(|(_, _, d, _)| *d);
    if s.sequential || !any_declared {
        let mut prev_group: Vec<String> = Vec::new();
        let mut current: (Option<String>, Vec<String>) = (None, Vec::new());
        for (task, spans, _, group) in &mut out {
            let same = !s.sequential && group.is_some() && *group == current.0;
            if !same {
                prev_group = std::mem::take(&mut current.1);
                current.0 = group.clone();
            }
            for p in &prev_group {
                if !task.depends_on.contains(p) && *p != task.id {
                    task.depends_on.push(p.clone());
                    if let Some(span) = spans.task {
                        spans.depends_on.push(span);
                    }
                }
            }
            current.1.push(task.id.clone());
        }
    }

    // Unknown dependencies and repeated ids are reported by validation, for every format alike.
    for (task, spans, _, _) in out {
        b.push(task, spans);
    }
}

type Entry = (Task, TaskSpans, bool, Option<String>);

/// Words that state an order between tasks, and whether the tasks named before the word come
/// after (`false`: "IMPL-7 can start after IMPL-2") or before (`true`: "IMPL-2 before IMPL-7")
/// the ones named after it.
const ORDER_WORDS: [(&str, bool); 10] = [
    ("can start after", false),
    ("starts after", false),
    ("depends on", false),
    ("blocked by", false),
    ("requires", false),
    ("waits for", false),
    ("after", false),
    ("until", false),
    ("依赖", false),
    ("before", true),
];

/// Task ids named in `text`, in order, with their byte offsets.
fn ids_in(text: &str, known: &HashSet<String>) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let is_id_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    for (i, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
        if is_id_char(c) {
            start.get_or_insert(i);
        } else if let Some(s) = start.take() {
            let word = text.get(s..i).unwrap_or("").trim_end_matches('.');
            if known.contains(word) {
                out.push((word.to_owned(), s));
            }
        }
    }
    out
}

/// The (dependent, prerequisite) pairs a prose line states, and whether it states them clearly
/// enough to read. `None` when the line states no order between tasks.
fn stated_order(text: &str, known: &HashSet<String>) -> Option<(Vec<(String, String)>, bool)> {
    let ids = ids_in(text, known);
    if ids.is_empty() {
        return None;
    }
    // Arrows: every task after an arrow comes after every task before it.
    let arrows = ["→", "->", "⟶", "=>"];
    if arrows.iter().any(|a| text.contains(a)) {
        let mut segments: Vec<Vec<String>> = vec![Vec::new()];
        let mut rest = text;
        let mut offset = 0;
        loop {
            let next = arrows.iter().filter_map(|a| rest.find(a).map(|i| (i, a.len()))).min();
            let end = next.map_or(rest.len(), |(i, _)| i);
            if let Some(seg) = segments.last_mut() {
                seg.extend(ids.iter().filter(|(_, at)| *at >= offset && *at < offset + end).map(|(id, _)| id.clone()));
            }
            let Some((i, len)) = next else { break };
            offset += i + len;
            rest = rest.get(i + len..).unwrap_or("");
            segments.push(Vec::new());
        }
        let mut pairs = Vec::new();
        let mut clear = true;
        for w in segments.windows(2) {
            let (Some(before), Some(after)) = (w.first(), w.get(1)) else { continue };
            if before.is_empty() || after.is_empty() {
                clear = false;
                continue;
            }
            for a in after {
                for p in before {
                    pairs.push((a.clone(), p.clone()));
                }
            }
        }
        return Some((pairs, clear));
    }
    let lower = text.to_lowercase();
    for (word, reverse) in ORDER_WORDS {
        let Some(at) = find_word(&lower, word) else { continue };
        let before: Vec<String> = ids.iter().filter(|(_, i)| *i < at).map(|(id, _)| id.clone()).collect();
        // The tasks right after the word: a run of ids joined by commas, `and`, `+` or `/`.
        let mut after: Vec<String> = Vec::new();
        let mut rest = text.get(at + word.len()..).unwrap_or("");
        let base = at + word.len();
        let mut pos = base;
        loop {
            let trimmed = rest.trim_start_matches(|c: char| {
                c.is_whitespace() || matches!(c, ',' | '+' | '/' | '&' | '`' | '*' | '、' | '，' | '(' | ':')
            });
            pos += rest.len() - trimmed.len();
            rest = trimmed;
            if let Some(r) = rest.strip_prefix("and ").or_else(|| rest.strip_prefix("和")) {
                pos += rest.len() - r.len();
                rest = r;
                continue;
            }
            match ids.iter().find(|(_, i)| *i == pos) {
                Some((id, _)) => {
                    after.push(id.clone());
                    pos += id.len();
                    rest = rest.get(id.len()..).unwrap_or("");
                }
                None => break,
            }
        }
        let clear = !before.is_empty() && !after.is_empty();
        let (dependents, prerequisites) = if reverse { (after, before) } else { (before, after) };
        let pairs = dependents
            .iter()
            .flat_map(|d| prerequisites.iter().map(move |p| (d.clone(), p.clone())))
            .filter(|(d, p)| d != p)
            .collect();
        return Some((pairs, clear));
    }
    None
}

/// The cells of a table row `| a | b |`, with their offsets in the line.
fn table_cells(line: &str) -> Option<Vec<(&str, usize)>> {
    let t = line.trim_end();
    let lead = t.len() - t.trim_start().len();
    let inner = t.trim_start().strip_prefix('|')?;
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    let mut out = Vec::new();
    let mut at = lead + 1;
    for cell in inner.split('|') {
        let off = at + (cell.len() - cell.trim_start().len());
        out.push((cell.trim(), off));
        at += cell.len() + 1;
    }
    Some(out)
}

/// `src/Alert.{h,cpp}` → `src/Alert.h`, `src/Alert.cpp` (one brace group, no glob).
fn expand_braces(path: &str) -> Vec<String> {
    if let (Some(open), Some(close)) = (path.find('{'), path.find('}')) {
        if open < close && !path.contains('*') && path.matches('{').count() == 1 {
            let (head, tail) = (path.get(..open).unwrap_or(""), path.get(close + 1..).unwrap_or(""));
            let alts: Vec<String> = path
                .get(open + 1..close)
                .unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(|a| format!("{head}{a}{tail}"))
                .collect();
            if !alts.is_empty() {
                return alts;
            }
        }
    }
    vec![path.to_owned()]
}

/// Files and verify commands written for tasks outside their entries: tables with a task
/// column and a `Files`/`File` or `Command`/`Verify` column, and bullets under a heading about
/// files that tag a path with its tasks (`- src/a.py (IMPL-001, IMPL-002)`). A row or bullet
/// with a path but no task, or a files cell with no path, is `unread-file`.
fn side_fields(b: &mut PlanBuilder, prose: &[ProseLine], out: &mut [Entry]) {
    let known: HashSet<String> = out.iter().map(|(t, _, _, _)| t.id.clone()).collect();
    let index: HashMap<String, usize> = out.iter().enumerate().map(|(i, (t, _, _, _))| (t.id.clone(), i)).collect();
    let mut files_section = false;
    // Column indexes of the current table: (task, files, command).
    let mut table: Option<(Option<usize>, Option<usize>, Option<usize>)> = None;
    let mut header: Option<Vec<String>> = None;
    let add_file = |out: &mut [Entry], id: &str, path: &str, span: Span| {
        if let Some((task, spans, _, _)) = index.get(id).and_then(|&i| out.get_mut(i)) {
            for p in expand_braces(path) {
                if !task.files.contains(&p) {
                    task.files.push(p);
                    spans.files.push(span);
                }
            }
        }
    };
    let unread_file = |b: &mut PlanBuilder, what: String, span: Span| {
        b.warn(
            Diagnostic::warning("unread-file", what)
                .at(Some(span))
                .help("list the files under the task itself (`Files: `src/a.ts``) or tag the path with its task id"),
        );
    };
    for line in prose.iter().filter(|l| !l.fenced) {
        if line.heading {
            let l = line.text.to_lowercase();
            files_section = l.contains("file") || l.contains("文件");
            table = None;
            header = None;
            continue;
        }
        let Some(cells) = table_cells(&line.text) else {
            table = None;
            header = None;
            if files_section {
                if let Some(entry) = md::bullet(&line.text) {
                    let off = md::offset_in(&line.text, entry).unwrap_or(0);
                    let spans = md::code_spans(entry);
                    let path = match spans.first() {
                        Some((p, _)) => Some((*p).trim().to_owned()),
                        None => entry.split_whitespace().next().map(str::to_owned),
                    };
                    let path = path.and_then(|p| clean_target(&p)).filter(|p| {
                        (p.contains('/') || p.contains('.')) && !p.starts_with("http") && !known.contains(p)
                    });
                    let Some(path) = path else { continue };
                    let ids: Vec<String> = ids_in(entry, &known).into_iter().map(|(id, _)| id).collect();
                    let span = Span::new(line.span.source, line.span.start + off, line.span.end);
                    if ids.is_empty() {
                        unread_file(b, format!("`{}` is listed among the files but names no task", entry.trim()), span);
                    }
                    for id in ids {
                        add_file(out, &id, &path, span);
                    }
                }
            }
            continue;
        };
        let texts: Vec<String> = cells.iter().map(|(c, _)| c.trim_matches('*').trim().to_lowercase()).collect();
        if texts.iter().all(|c| !c.is_empty() && c.chars().all(|ch| matches!(ch, '-' | ':' | ' '))) {
            // The separator under a header: the header names the columns.
            if let Some(h) = header.take() {
                let find = |f: &dyn Fn(&str) -> bool| h.iter().position(|c| f(c));
                let task = find(&|c| matches!(c, "task" | "id" | "task id" | "任务" | "impl"));
                let files = find(&|c| c.starts_with("file") || c == "path" || c == "paths" || c.contains("文件"));
                let cmd = find(&|c| c.contains("command") || c.starts_with("verif") || c.contains("命令"));
                table = (files.is_some() || cmd.is_some()).then_some((task, files, cmd));
            }
            continue;
        }
        let Some((task_col, files_col, cmd_col)) = table else {
            header = Some(texts);
            continue;
        };
        let cell = |i: Option<usize>| i.and_then(|i| cells.get(i)).copied();
        let id = match cell(task_col).or_else(|| cells.first().copied()) {
            Some((c, _)) => ids_in(c, &known).into_iter().next().map(|(id, _)| id),
            None => None,
        };
        let Some(id) = id else { continue };
        if let Some((c, off)) = cell(files_col) {
            let span = Span::new(line.span.source, line.span.start + off, line.span.start + off + c.len());
            let paths = note_paths(c);
            if paths.is_empty() && !c.is_empty() && !is_none_word(c) && c.chars().any(char::is_alphanumeric) {
                unread_file(b, format!("`{c}` is in the files column of {id} but is not a path"), span);
            }
            for p in paths {
                add_file(out, &id, &p, span);
            }
        }
        if let Some((c, off)) = cell(cmd_col) {
            let span = Span::new(line.span.source, line.span.start + off, line.span.start + off + c.len());
            if let Some(cmds) = commands(c) {
                if let Some((task, spans, _, _)) = index.get(&id).and_then(|&i| out.get_mut(i)) {
                    for cmd in cmds.into_iter().filter(|c| is_command(c)) {
                        if !task.verify.contains(&cmd) {
                            task.verify.push(cmd);
                            spans.verify.push(span);
                        }
                    }
                }
            }
        }
    }
}

/// Where `word` starts in `text` as a whole word (or anywhere, for a word in a script without spaces).
fn find_word(text: &str, word: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text.get(from..).and_then(|t| t.find(word)) {
        let at = from + i;
        let before_ok =
            !word.is_ascii() || text.get(..at).and_then(|t| t.chars().last()).is_none_or(|c| !c.is_alphanumeric());
        let after_ok = !word.is_ascii()
            || text.get(at + word.len()..).and_then(|t| t.chars().next()).is_none_or(|c| !c.is_alphanumeric());
        if before_ok && after_ok {
            return Some(at);
        }
        from = at + word.len();
    }
    None
}

/// Whether `from` already waits for `to`, directly or through other tasks.
fn reaches(deps: &HashMap<String, Vec<String>>, from: &str, to: &str) -> bool {
    let mut stack = vec![from.to_owned()];
    let mut seen: HashSet<String> = HashSet::new();
    while let Some(t) = stack.pop() {
        if t == to {
            return true;
        }
        if seen.insert(t.clone()) {
            if let Some(ds) = deps.get(&t) {
                stack.extend(ds.iter().cloned());
            }
        }
    }
    false
}

fn prose_dependencies(b: &mut PlanBuilder, prose: &[ProseLine], out: &mut [Entry]) {
    if prose.is_empty() {
        return;
    }
    let known: HashSet<String> = out.iter().map(|(t, _, _, _)| t.id.clone()).collect();
    let mut deps: HashMap<String, Vec<String>> =
        out.iter().map(|(t, _, _, _)| (t.id.clone(), t.depends_on.clone())).collect();
    let mut warned: HashSet<usize> = HashSet::new();
    let warn = |b: &mut PlanBuilder, line: &ProseLine| {
        let text = model::one_line(line.text.replace("**", "").trim_start_matches(['-', ' ']));
        b.warn(
            Diagnostic::warning(
                "unread-dependency",
                format!("`{text}` states an order between tasks that planrun did not read"),
            )
            .at(Some(line.span))
            .help("list the prerequisites in each task's `depends_on` (or a `Depends on:` note under its TODO line)"),
        );
    };
    let add = |out: &mut [Entry], deps: &mut HashMap<String, Vec<String>>, d: &str, p: &str, span: Span| {
        if let Some((task, spans, declares, _)) = out.iter_mut().find(|(t, _, _, _)| t.id == d) {
            if !task.depends_on.iter().any(|x| x == p) {
                task.depends_on.push(p.to_owned());
                spans.depends_on.push(span);
                *declares = true;
                deps.entry(d.to_owned()).or_default().push(p.to_owned());
            }
        }
    };
    // Prose outside code blocks first: clear statements are read.
    for line in prose.iter().filter(|l| !l.fenced && !l.heading) {
        let Some((pairs, clear)) = stated_order(&line.text, &known) else { continue };
        let missing: Vec<(String, String)> = pairs.into_iter().filter(|(d, p)| !reaches(&deps, d, p)).collect();
        if clear {
            for (d, p) in missing {
                add(out, &mut deps, &d, &p, line.span);
            }
        } else {
            warn(b, line);
        }
    }
    // Diagrams in code blocks: their edges are read for tasks that state no dependency anywhere
    // else (the diagram is then the only statement); otherwise an edge the tasks do not already
    // imply is reported.
    let silent: HashSet<String> = out.iter().filter(|(_, _, d, _)| !*d).map(|(t, _, _, _)| t.id.clone()).collect();
    let mut blocks: Vec<Vec<&ProseLine>> = Vec::new();
    for line in prose.iter().filter(|l| l.fenced) {
        match blocks.last_mut() {
            Some(bl) if bl.first().is_some_and(|f| f.block == line.block) => bl.push(line),
            _ => blocks.push(vec![line]),
        }
    }
    for bl in blocks {
        let texts: Vec<&str> = bl.iter().map(|l| l.text.as_str()).collect();
        let (edges, unread) = diagram_edges(&texts, &known);
        for i in unread {
            if let Some(line) = bl.get(i) {
                if warned.insert(line.span.start) {
                    warn(b, line);
                }
            }
        }
        for (i, d, p) in edges {
            if d == p || reaches(&deps, &d, &p) {
                continue;
            }
            let Some(line) = bl.get(i) else { continue };
            if silent.contains(&d) {
                add(out, &mut deps, &d, &p, line.span);
            } else if warned.insert(line.span.start) {
                warn(b, line);
            }
        }
    }
}

/// Display columns of a character: wide (CJK, emoji) characters take two, combining marks none.
fn char_width(c: char) -> usize {
    let u = c as u32;
    if matches!(u, 0x300..=0x36F | 0x200B..=0x200F | 0xFE00..=0xFE0F) {
        return 0;
    }
    let wide = matches!(u,
        0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6 | 0x2705 | 0x274C | 0x1F300..=0x1FAFF | 0x20000..=0x3FFFD);
    if wide { 2 } else { 1 }
}

/// A diagram line as (display column, character) pairs.
fn columns(line: &str) -> Vec<(usize, char)> {
    let mut col = 0;
    line.chars()
        .map(|c| {
            let at = col;
            col += char_width(c);
            (at, c)
        })
        .collect()
}

/// Task ids on a diagram line with the columns they cover.
fn ids_at(cols: &[(usize, char)], known: &HashSet<String>) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < cols.len() {
        let is_id = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        if cols.get(i).is_some_and(|&(_, c)| is_id(c)) {
            let start = i;
            while cols.get(i).is_some_and(|&(_, c)| is_id(c)) {
                i += 1;
            }
            let word: String = cols.get(start..i).unwrap_or_default().iter().map(|&(_, c)| c).collect();
            let word = word.trim_end_matches('.');
            if known.contains(word) {
                let (a, z) = (cols.get(start).map_or(0, |p| p.0), cols.get(i - 1).map_or(0, |p| p.0));
                out.push((word.to_owned(), a, z));
            }
        } else {
            i += 1;
        }
    }
    out
}

const H_LINE: [char; 3] = ['─', '━', '-'];
const JOINS: [char; 9] = ['┬', '┴', '├', '┤', '┼', '└', '┘', '┌', '+'];
const V_LINE: [char; 9] = ['│', '┃', '|', '├', '┤', '┼', '+', '↓', '▼'];

/// The task a vertical connector at `col` leads up to, from line `row` upwards: the id covering
/// that column on the first line that is not a connector, or the nearest id left of a join.
fn up_from(rows: &[Vec<(usize, char)>], ids: &[Vec<(String, usize, usize)>], row: usize, col: usize) -> Option<String> {
    let mut r = row;
    while r > 0 {
        r -= 1;
        let line = rows.get(r)?;
        let ch = line.iter().find(|&&(c, _)| c == col).map(|&(_, ch)| ch);
        let here = ids.get(r)?;
        if let Some((id, _, _)) = here.iter().find(|(_, a, z)| *a <= col && col <= *z) {
            return Some(id.clone());
        }
        match ch {
            Some(c) if V_LINE.contains(&c) => continue,
            // `──┬──>`: the branch starts from the task left of the join.
            // `──┬──>`: the branch starts from the task left of the join; a connector ending
            // under a node's label (`A-1 (schema)`) starts from that node.
            _ => {
                return here
                    .iter()
                    .filter(|(_, _, z)| *z < col)
                    .max_by_key(|(_, _, z)| *z)
                    .map(|(id, _, _)| id.clone());
            }
        }
    }
    None
}

/// The edges a dependency diagram draws, as (line index, dependent, prerequisite): `A → B`,
/// `A ──> B`, `A ──┬──> B` and `└──> C` under it, `C <───┘` joining from a task above, and
/// `↓` between tasks on lines above and below. Lines without arrows are read as prose
/// (`Batch 3: IMPL-7 (after IMPL-3)`).
fn diagram_edges(lines: &[&str], known: &HashSet<String>) -> (Vec<(usize, String, String)>, Vec<usize>) {
    let rows: Vec<Vec<(usize, char)>> = lines.iter().map(|l| columns(l)).collect();
    let ids: Vec<Vec<(String, usize, usize)>> = rows.iter().map(|r| ids_at(r, known)).collect();
    let mut out = Vec::new();
    // Lines with an arrow planrun could not follow to a task at both ends.
    let mut unread: Vec<usize> = Vec::new();
    // Rows whose arrow continues a diagonal from the row above (`\` then `-> C`).
    let mut continued: HashSet<usize> = HashSet::new();
    for (i, row) in rows.iter().enumerate() {
        let here = ids.get(i).cloned().unwrap_or_default();
        let mut found_arrow = false;
        let mut k = 0;
        while k < row.len() {
            let Some(&(col, ch)) = row.get(k) else { break };
            let next = row.get(k + 1).map(|&(_, c)| c);
            // Forward arrow heads: `>` after a line, `→`, `▶`.
            let forward = matches!(ch, '→' | '▶' | '⟶')
                || (ch == '>' && k > 0 && row.get(k - 1).is_some_and(|&(_, c)| H_LINE.contains(&c) || c == '='));
            let backward = (ch == '<' || ch == '◀') && next.is_some_and(|c| H_LINE.contains(&c));
            if forward {
                found_arrow = true;
                let target = here.iter().find(|(_, a, _)| *a > col).map(|(id, _, _)| id.clone());
                // Walk back along the shaft to where it starts.
                let mut j = k;
                while j > 0
                    && row.get(j - 1).is_some_and(|&(_, c)| H_LINE.contains(&c) || JOINS.contains(&c) || c == '=')
                {
                    j -= 1;
                }
                let start = row.get(j).map_or(col, |p| p.0);
                let left =
                    here.iter().filter(|(_, _, z)| *z < start).max_by_key(|(_, _, z)| *z).map(|(id, _, _)| id.clone());
                let bracket = bracket_sources(&rows, &ids, i, start);
                let source = match row.get(j).map(|&(_, c)| c) {
                    _ if !bracket.is_empty() => None,
                    Some(c @ ('└' | '├' | '┌' | '+')) if left.is_none() || c == '└' || c == '├' => {
                        up_from(&rows, &ids, i, start)
                    }
                    _ => left,
                };
                if let Some(t) = &target {
                    for s in &bracket {
                        out.push((i, t.clone(), s.clone()));
                    }
                }
                match (target.clone(), source) {
                    (Some(t), Some(s)) => out.push((i, t, s)),
                    _ if !bracket.is_empty() || continued.contains(&i) => {}
                    // `──> Done`: the end of the drawing, not a task.
                    (None, _) if is_end_word(row.get(k + 1..).unwrap_or_default()) => {}
                    _ => unread.push(i),
                }
                // `+---> IMPL-7 (Persistence) [depends on IMPL-1, IMPL-2]`, `[depends on ALL above]`.
                if let Some(t) = target {
                    let rest: String = row.get(k + 1..).unwrap_or_default().iter().map(|&(_, c)| c).collect();
                    let lower = rest.to_lowercase();
                    if let Some(at) = find_word(&lower, "depends on").or_else(|| find_word(&lower, "after")) {
                        if lower.get(at..).is_some_and(|r| r.contains("all above")) {
                            let mut seen: HashSet<String> = HashSet::new();
                            for id in ids.iter().take(i).flatten().map(|(id, _, _)| id) {
                                if *id != t && seen.insert(id.clone()) {
                                    out.push((i, t.clone(), id.clone()));
                                }
                            }
                        } else {
                            for (id, _) in ids_in(rest.get(at..).unwrap_or(""), known) {
                                if id != t {
                                    out.push((i, t.clone(), id));
                                }
                            }
                        }
                    }
                }
            } else if backward {
                found_arrow = true;
                let target =
                    here.iter().filter(|(_, _, z)| *z < col).max_by_key(|(_, _, z)| *z).map(|(id, _, _)| id.clone());
                let mut j = k + 1;
                while row.get(j).is_some_and(|&(_, c)| H_LINE.contains(&c)) {
                    j += 1;
                }
                let source = match row.get(j) {
                    Some(&(c, '┘' | '┴' | '┐')) => up_from(&rows, &ids, i, c),
                    _ => here.iter().find(|(_, a, _)| *a > col).map(|(id, _, _)| id.clone()),
                };
                match (target, source) {
                    (Some(t), Some(s)) => out.push((i, t, s)),
                    _ => unread.push(i),
                }
            } else if ch == '↓' {
                found_arrow = true;
                let below = (i + 1..rows.len()).find_map(|r| {
                    ids.get(r)?
                        .iter()
                        .find(|(_, a, z)| *a <= col + 2 && col <= *z + 2)
                        .map(|(id, _, _)| (r, id.clone()))
                });
                let above = up_from(&rows, &ids, i, col);
                // `↓` over a tree (`├─→ B` right under it) only leads into the branches.
                let into_tree = rows
                    .get(i + 1)
                    .and_then(|r| r.iter().find(|&&(c, _)| c == col))
                    .is_some_and(|&(_, c)| JOINS.contains(&c) || V_LINE.contains(&c));
                match (below, above) {
                    (Some((_, t)), Some(s)) => out.push((i, t, s)),
                    _ if into_tree => {}
                    _ => unread.push(i),
                }
            } else if is_diagonal(row, k) {
                // `↘` / `\` from the task above it down to the task right of it on the next line;
                // `↙` / `/` down to the task left of it.
                found_arrow = true;
                let right = matches!(ch, '↘' | '\\');
                let above = ids.get(i.wrapping_sub(1)).filter(|_| i > 0).and_then(|up| {
                    up.iter()
                        .find(|(_, a, z)| *a <= col && col <= *z)
                        .or_else(|| {
                            if right {
                                up.iter().filter(|(_, _, z)| *z < col).max_by_key(|(_, _, z)| *z)
                            } else {
                                up.iter().filter(|(_, a, _)| *a > col).min_by_key(|(_, a, _)| *a)
                            }
                        })
                        .map(|(id, _, _)| id.clone())
                });
                // `A → B → C` over `↘ ↗`: a curve under the line, from A over to C.
                let rise = row.get(k + 1..).and_then(|r| r.iter().find(|&&(_, c)| c == '↗')).map(|&(c, _)| c);
                if let (true, Some(rc)) = (ch == '↘', rise) {
                    let over = ids.get(i.wrapping_sub(1)).filter(|_| i > 0).and_then(|up| {
                        up.iter()
                            .find(|(_, a, z)| *a <= rc && rc <= *z)
                            .or_else(|| up.iter().filter(|(_, a, _)| *a > rc).min_by_key(|(_, a, _)| *a))
                            .map(|(id, _, _)| id.clone())
                    });
                    match (over, above) {
                        (Some(t), Some(s)) => out.push((i, t, s)),
                        _ => unread.push(i),
                    }
                    k += 1;
                    continue;
                }
                let below = ids.get(i + 1).and_then(|down| {
                    if right {
                        down.iter().filter(|(_, a, _)| *a >= col).min_by_key(|(_, a, _)| *a)
                    } else {
                        down.iter().filter(|(_, _, z)| *z <= col).max_by_key(|(_, _, z)| *z)
                    }
                    .map(|(id, _, _)| id.clone())
                });
                match (below, above) {
                    (Some(t), Some(s)) => {
                        out.push((i, t, s));
                        continued.insert(i + 1);
                    }
                    _ => unread.push(i),
                }
            }
            k += 1;
        }
        if !found_arrow {
            if let Some((pairs, true)) = stated_order(lines.get(i).copied().unwrap_or(""), known) {
                out.extend(pairs.into_iter().map(|(d, p)| (i, d, p)));
            }
        }
    }
    unread.retain(|i| !continued.contains(i));
    unread.dedup();
    (out, unread)
}

/// Whether the text after an arrow names the end of the drawing (`──> Done`, `→ 完成`).
fn is_end_word(rest: &[(usize, char)]) -> bool {
    let text: String = rest.iter().map(|&(_, c)| c).collect();
    let word = text.split_whitespace().next().unwrap_or("").to_lowercase();
    let word = word.trim_matches(|c: char| !c.is_alphanumeric());
    matches!(
        word,
        "done" | "end" | "complete" | "completed" | "finish" | "finished" | "release" | "ship" | "完成" | "结束"
    )
}

/// Whether the character at `k` is a diagonal connector: `↘`, `↙`, or a `\` / `/` standing
/// alone on a line of connectors (not part of a path or of text).
fn is_diagonal(row: &[(usize, char)], k: usize) -> bool {
    match row.get(k).map(|&(_, c)| c) {
        Some('↘' | '↙') => true,
        Some('\\' | '/') => {
            let blank = |c: Option<&(usize, char)>| c.is_none_or(|&(_, c)| c.is_whitespace());
            // Only on a line of connectors: `A / B` in text is not a drawing.
            !row.iter().any(|&(_, c)| c.is_alphanumeric())
                && blank(k.checked_sub(1).and_then(|j| row.get(j)))
                && blank(row.get(k + 1))
        }
        _ => false,
    }
}

/// The tasks a bracket joins into the branch starting at `col` on line `row`:
///
/// ```text
/// A ──┐
///     ├──> C
/// B ──┘
/// ```
///
/// The `├` (or `┤`, `┼`, `│`) at `col` must have a `┐` above and a `┘` below it along a vertical
/// run (the corners may sit one column off); every line from the `┐` to the `┘` gives the task
/// nearest left of the run. Empty when there is no such bracket.
fn bracket_sources(
    rows: &[Vec<(usize, char)>],
    ids: &[Vec<(String, usize, usize)>],
    row: usize,
    col: usize,
) -> Vec<String> {
    let at = |r: usize, c: usize| rows.get(r).and_then(|l| l.iter().find(|&&(x, _)| x == c)).map(|&(_, ch)| ch);
    if !matches!(at(row, col), Some('├' | '┤' | '┼' | '│')) {
        return Vec::new();
    }
    // Walk one way until a corner; a connector continues the run.
    let walk = |up: bool, corner: char| -> Option<(usize, usize)> {
        let mut r = row;
        let mut c = col;
        loop {
            r = if up { r.checked_sub(1)? } else { r + 1 };
            if r >= rows.len() {
                return None;
            }
            let hit = [c, c.wrapping_sub(1), c + 1].into_iter().find_map(|x| at(r, x).map(|ch| (x, ch)));
            match hit {
                Some((x, ch)) if ch == corner => return Some((r, x)),
                Some((x, '│' | '┃' | '├' | '┤' | '┼')) => c = x,
                _ => return None,
            }
        }
    };
    let (Some((top, _)), Some((bottom, _))) = (walk(true, '┐'), walk(false, '┘')) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for r in top..=bottom {
        let edge = col.saturating_sub(1);
        if let Some((id, _, _)) =
            ids.get(r).and_then(|h| h.iter().filter(|(_, _, z)| *z < edge).max_by_key(|(_, _, z)| *z))
        {
            if !out.contains(id) {
                out.push(id.clone());
            }
        }
    }
    out
}

/// Reorders tasks so that every parent comes right after the last of its subtasks.
fn children_first(out: Vec<Entry>, children_of: &HashMap<String, Vec<String>>) -> Vec<Entry> {
    let ids: HashSet<String> = out.iter().map(|(t, _, _, _)| t.id.clone()).collect();
    let mut emitted: HashSet<String> = HashSet::new();
    let mut held: Vec<Entry> = Vec::new();
    let mut result: Vec<Entry> = Vec::new();
    let ready = |e: &Entry, emitted: &HashSet<String>| {
        children_of
            .get(&e.0.id)
            .is_none_or(|kids| kids.iter().all(|k| !ids.contains(k) || emitted.contains(k) || *k == e.0.id))
    };
    for entry in out {
        if ready(&entry, &emitted) {
            emitted.insert(entry.0.id.clone());
            result.push(entry);
            while let Some(pos) = held.iter().rposition(|h| ready(h, &emitted)) {
                let h = held.remove(pos);
                emitted.insert(h.0.id.clone());
                result.push(h);
            }
        } else {
            held.push(entry);
        }
    }
    result.extend(held);
    result
}

/// What the lines under a TODO item say.
#[derive(Debug, Default)]
struct Notes {
    deps: Vec<(String, Span)>,
    /// Whether a dependency note was written (an empty or `none` one counts).
    declares: bool,
    files: Vec<(String, Span)>,
    /// `Status:` note: done or not, and where.
    status: Option<(bool, Span)>,
    link: Option<String>,
    desc: Vec<String>,
    desc_span: Option<Span>,
    /// `Blocks: IMPL-2, IMPL-3`: the tasks that wait for this one.
    blocks: Vec<(String, Span)>,
}

const DEP_KEYS: [&str; 9] =
    ["depends on", "dependencies", "dependency", "depends_on", "依赖", "前置", "prerequisites", "blocked by", "after"];
/// Notes naming the tasks that wait for this one.
const BLOCK_KEYS: [&str; 4] = ["blocks", "blocking", "is blocking", "unblocks"];
const FILE_KEYS: [&str; 11] = [
    "files",
    "file",
    "文件",
    "target files",
    "focus paths",
    "target",
    "targets",
    "tests",
    "test file",
    "test files",
    "modified files",
];

/// Dependencies, files, status and link written under a TODO item; the rest of its notes become
/// its description. Notes that name dependencies or files planrun cannot read are reported.
fn read_notes(b: &mut PlanBuilder, item: &TodoItem) -> Notes {
    let mut n = Notes::default();
    // A `**Files:**` or `Depends on:` label with nothing after it: the bullets below it are its entries.
    let mut open_list: Option<bool> = None;
    for (note, span) in &item.notes {
        let field = md::field(note).map(|(k, v, off)| (k.trim().to_lowercase(), v, off));
        let key = field.as_ref().map(|(k, _, _)| k.as_str()).unwrap_or("");
        let value_span = |v: &str, off: usize| Span::new(span.source, span.start + off, span.start + off + v.len());
        if let Some(files) = open_list {
            if let Some(entry) = md::bullet(note) {
                if files {
                    let off = md::offset_in(note, entry).unwrap_or(0);
                    match md::item_path(entry) {
                        Some((p, at)) => {
                            if let Some(p) = clean_target(p) {
                                if !n.files.iter().any(|(f, _)| *f == p) {
                                    let start = span.start + off + at;
                                    n.files.push((p.clone(), Span::new(span.source, start, start + p.len())));
                                }
                            }
                        }
                        None => b.warn(
                            Diagnostic::warning(
                                "unread-file",
                                format!("`{}` is listed under files but has no path in backticks", entry.trim()),
                            )
                            .at(Some(*span))
                            .help("write it as `- Create: `src/x.rs``"),
                        ),
                    }
                } else {
                    for dep in id_tokens(entry) {
                        if dep != item.id && !n.deps.iter().any(|(d, _)| *d == dep) {
                            n.deps.push((dep, *span));
                        }
                    }
                }
                continue;
            }
            open_list = None;
        }
        if let Some((_, v, _)) = &field {
            if v.trim().is_empty() && (DEP_KEYS.contains(&key) || FILE_KEYS.contains(&key)) {
                open_list = Some(FILE_KEYS.contains(&key));
                n.declares |= DEP_KEYS.contains(&key);
                continue;
            }
        }
        match &field {
            Some((_, v, off)) if DEP_KEYS.contains(&key) => {
                n.declares = true;
                let ids = id_tokens(v);
                if ids.is_empty() && !is_none_word(v) && !v.trim().is_empty() {
                    b.warn(
                        Diagnostic::warning(
                            "unread-dependency",
                            format!("`{}: {}` names no task id; the dependency was not read", key, v.trim()),
                        )
                        .at(Some(value_span(v, *off)))
                        .help("name the tasks by id: `Depends on: IMPL-1, IMPL-2`"),
                    );
                }
                for dep in ids {
                    if dep != item.id && !n.deps.iter().any(|(d, _)| *d == dep) {
                        n.deps.push((dep, value_span(v, *off)));
                    }
                }
            }
            Some((_, v, off)) if FILE_KEYS.contains(&key) => {
                let paths = note_paths(v);
                if paths.is_empty() && !is_none_word(v) {
                    b.warn(
                        Diagnostic::warning(
                            "unread-file",
                            format!("`{}: {}` has no file path planrun could read", key, v.trim()),
                        )
                        .at(Some(value_span(v, *off)))
                        .help("write the paths in backticks: `Files: `src/a.ts`, `src/b.ts``"),
                    );
                }
                for p in paths {
                    if !n.files.iter().any(|(f, _)| *f == p) {
                        n.files.push((p, value_span(v, *off)));
                    }
                }
            }
            // `Test: `tests/unit/test_x.py``: the test file the task writes (a command there is
            // description).
            Some((_, v, off)) if key == "test" && test_file(v).is_some() => {
                if let Some(p) = test_file(v) {
                    if !n.files.iter().any(|(f, _)| *f == p) {
                        n.files.push((p, value_span(v, *off)));
                    }
                }
            }
            Some((_, v, off)) if BLOCK_KEYS.contains(&key) => {
                n.declares = true;
                let ids = id_tokens(v);
                if ids.is_empty() && !is_none_word(v) && !v.trim().is_empty() {
                    b.warn(
                        Diagnostic::warning(
                            "unread-dependency",
                            format!("`{}: {}` names no task id; the order was not read", key, v.trim()),
                        )
                        .at(Some(value_span(v, *off)))
                        .help("name the blocked tasks by id: `Blocks: IMPL-2, IMPL-3`"),
                    );
                }
                for id in ids {
                    if id != item.id && !n.blocks.iter().any(|(d, _)| *d == id) {
                        n.blocks.push((id, value_span(v, *off)));
                    }
                }
            }
            Some((_, v, off)) if key == "status" || key == "状态" || key == "estado" => {
                n.status = Some((is_done_word(v), value_span(v, *off)));
            }
            Some((_, v, _)) if key == "link" || key == "task" || key == "task file" => {
                n.link = link_target(v);
                if n.link.is_none() {
                    n.desc.push(note.clone());
                }
            }
            _ => {
                n.desc_span.get_or_insert(*span);
                n.desc.push(md::bullet(note).map_or_else(|| note.clone(), |t| format!("- {t}")));
            }
        }
    }
    n
}

/// The task ids written in a note's value, in order.
fn id_tokens(value: &str) -> Vec<String> {
    value
        .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .map(|w| w.trim_end_matches('.'))
        .filter(|w| looks_like_id(w))
        .map(str::to_owned)
        .collect()
}

/// The file paths of a note's value: its code spans, else its comma-separated entries that look
/// like paths.
fn note_paths(value: &str) -> Vec<String> {
    let spans = md::code_spans(value);
    let raw: Vec<String> = if spans.is_empty() {
        md::split_list(value).into_iter().map(|(s, _)| s).collect()
    } else {
        spans.into_iter().map(|(s, _)| s.to_owned()).collect()
    };
    raw.iter()
        .filter_map(|r| clean_target(r))
        .filter(|p| p.contains('/') || p.contains('.') || EXTENSIONLESS_FILES.contains(&p.as_str()))
        .filter(|p| !p.starts_with("http"))
        .collect()
}

/// The value of a `Test:` note when it is one backticked file path (`` `tests/unit/test_a.py` ``),
/// not a command or prose.
fn test_file(value: &str) -> Option<String> {
    let v = value.trim();
    let inner = v.strip_prefix('`')?.strip_suffix('`')?.trim().trim_start_matches("./");
    let last = inner.rsplit('/').next().unwrap_or(inner);
    (!inner.is_empty() && !inner.contains(['`', ' ', '\t']) && last.contains('.') && !inner.starts_with("http"))
        .then(|| inner.to_owned())
}

fn is_done_word(value: &str) -> bool {
    let v = value.trim().trim_start_matches(['✅', '✔', '☑', ' ']).trim().to_lowercase();
    value.contains('✅')
        || ["done", "complete", "completed", "finished", "implemented", "已完成", "完成", "implementado", "merged"]
            .iter()
            .any(|w| v.starts_with(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_lose_function_and_lines() {
        assert_eq!(clean_target("src/auth/service.ts:validateToken:45-80").as_deref(), Some("src/auth/service.ts"));
        assert_eq!(clean_target("./src/new.ts (new)").as_deref(), Some("src/new.ts"));
        assert_eq!(clean_target("  "), None);
    }

    #[test]
    fn verification_commands() {
        assert_eq!(commands("`npm test -- auth`"), Some(vec!["npm test -- auth".to_owned()]));
        assert_eq!(commands("cargo test -p auth"), Some(vec!["cargo test -p auth".to_owned()]));
        assert_eq!(commands("npm test passes with no failures"), None);
        assert_eq!(commands("Manually log in and check the dashboard"), None);
        assert_eq!(commands("Run `npm test` and check output"), None);
    }

    #[test]
    fn diagram_edges_of_box_drawings() {
        let known: HashSet<String> = ["A-1", "A-2", "A-3", "A-4"].iter().map(|s| (*s).to_owned()).collect();
        let lines =
            ["A-1 (数据库) ──┬──> A-2 ───> A-3", "               │              │", "               └──> A-4 <─────┘"];
        let mut edges: Vec<(String, String)> =
            diagram_edges(&lines, &known).0.into_iter().map(|(_, d, p)| (d, p)).collect();
        edges.sort();
        let want: Vec<(String, String)> = [("A-2", "A-1"), ("A-3", "A-2"), ("A-4", "A-1"), ("A-4", "A-3")]
            .iter()
            .map(|(d, p)| ((*d).to_owned(), (*p).to_owned()))
            .collect();
        assert_eq!(edges, want);
        let tree = ["A-1 (schema)", "    ↓", "A-2 (users)", "    ├──→ A-3 (guards)", "    └──→ A-4 (tokens)"];
        let mut edges: Vec<(String, String)> =
            diagram_edges(&tree, &known).0.into_iter().map(|(_, d, p)| (d, p)).collect();
        edges.sort();
        let want: Vec<(String, String)> = [("A-2", "A-1"), ("A-3", "A-2"), ("A-4", "A-2")]
            .iter()
            .map(|(d, p)| ((*d).to_owned(), (*p).to_owned()))
            .collect();
        assert_eq!(edges, want);
    }

    fn edges_of(lines: &[&str], ids: &[&str]) -> (Vec<(String, String)>, Vec<usize>) {
        let known: HashSet<String> = ids.iter().map(|s| (*s).to_owned()).collect();
        let (edges, unread) = diagram_edges(lines, &known);
        let mut edges: Vec<(String, String)> = edges.into_iter().map(|(_, d, p)| (d, p)).collect();
        edges.sort();
        edges.dedup();
        (edges, unread)
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(d, p)| ((*d).to_owned(), (*p).to_owned())).collect()
    }

    #[test]
    fn diagonal_arrows_and_backslash_branches() {
        let ids = ["A-1", "A-2", "A-3", "A-4", "A-5"];
        let diag = ["A-1 → A-2 → A-3", "              ↘", "A-4 ──────────→ A-5"];
        let (edges, unread) = edges_of(&diag, &ids);
        assert_eq!(edges, pairs(&[("A-2", "A-1"), ("A-3", "A-2"), ("A-5", "A-3"), ("A-5", "A-4")]));
        assert!(unread.is_empty());
        let slash = ["A-1 -> A-2 -> A-3", "        \\", "         -> A-4"];
        let (edges, unread) = edges_of(&slash, &ids);
        assert_eq!(edges, pairs(&[("A-2", "A-1"), ("A-3", "A-2"), ("A-4", "A-2")]));
        assert!(unread.is_empty());
        let curve = ["A-1 → A-2 → A-3", "    ↘       ↗"];
        assert_eq!(edges_of(&curve, &ids).0, pairs(&[("A-2", "A-1"), ("A-3", "A-1"), ("A-3", "A-2")]));
        // A diagonal leading nowhere is reported, not dropped.
        let lost = ["A-1 → A-2", "        ↘"];
        assert_eq!(edges_of(&lost, &ids).1, [1]);
    }

    #[test]
    fn tree_under_a_down_arrow_and_bracket_joins() {
        let ids = ["A-1", "A-2", "A-3", "A-4", "A-5", "A-6"];
        let tree =
            ["A-1 (base)", "    ↓", "    ├─→ A-2 → A-3", "    ├─→ A-4 ──┐", "    ├─→ A-5   ├─→ A-6", "    └─→ A-3 ──┘"];
        let (edges, unread) = edges_of(&tree, &ids);
        assert_eq!(
            edges,
            pairs(&[
                ("A-2", "A-1"),
                ("A-3", "A-1"),
                ("A-3", "A-2"),
                ("A-4", "A-1"),
                ("A-5", "A-1"),
                ("A-6", "A-3"),
                ("A-6", "A-4"),
                ("A-6", "A-5")
            ])
        );
        assert!(unread.is_empty());
        // Corners one column off from the branch.
        let off = ["A-1 (x) ──┐", "           ├──> A-2 ──> A-3", "A-4 (y) ──┘"];
        assert_eq!(edges_of(&off, &ids).0, pairs(&[("A-2", "A-1"), ("A-2", "A-4"), ("A-3", "A-2")]));
        // An arrow into a task from nothing planrun can trace is reported.
        let loose = ["   ?", "   └──> A-2"];
        assert_eq!(edges_of(&loose, &ids).1, [1]);
        // An arrow to the end of the drawing is not.
        assert!(edges_of(&["A-1 ──> Done"], &ids).1.is_empty());
    }

    #[test]
    fn chinese_verify_leads() {
        assert_eq!(
            verify_in_criterion("测试通过: 验证 pytest tests/a.py -v 退出码 0").as_deref(),
            Some("pytest tests/a.py -v")
        );
        assert_eq!(verify_in_criterion("无残留: 验证 grep -r 'utcnow()' app/ 无结果"), None);
    }

    #[test]
    fn a_place_named_in_words_is_no_argument() {
        assert_eq!(verify_in_criterion("covers tags — verify by grep 'tags\\|links' in test"), None);
        assert_eq!(
            verify_in_criterion("All pass — verify by npx vitest run src/a (exit code 0)").as_deref(),
            Some("npx vitest run src/a")
        );
        assert_eq!(commands("grep 'x' in the tests"), None);
        assert_eq!(commands("grep -rn \"used in tests\" src/").map(|c| c.len()), Some(1));
    }

    #[test]
    fn todo_lines() {
        let mut s = crate::source::Sources::default();
        let src = s.add("t", String::new());
        let line = Line {
            start: 0,
            text: "  - [x] **IMPL-1.2**: Add JWT → [📋](./.task/IMPL-1.2.json) | [✅](./.summaries/IMPL-1.2.md)",
            in_fence: false,
        };
        let item = todo_item(&line, src).map(|f| f.item);
        assert_eq!(
            item.as_ref().map(|i| (i.id.as_str(), i.title.as_str(), i.checked)),
            Some(("IMPL-1.2", "Add JWT", Some(true)))
        );
        assert_eq!(item.and_then(|i| i.link).as_deref(), Some(".task/IMPL-1.2.json"));
        let line = Line { start: 0, text: "▸ **IMPL-1**: Group", in_fence: false };
        assert_eq!(todo_item(&line, src).map(|i| (i.item.container, i.item.checked)), Some((true, None)));
        let line = Line { start: 0, text: "- [ ] plain text", in_fence: false };
        assert!(todo_item(&line, src).is_none());
        // A plain bullet naming a task is prose about it, not a task.
        let line = Line { start: 0, text: "- IMPL-7 can start after IMPL-2", in_fence: false };
        assert!(todo_item(&line, src).is_none());
    }
}
