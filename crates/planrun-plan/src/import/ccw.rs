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
    let mut todo: Vec<TodoItem> = Vec::new();
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
    if todo.is_empty() && files.is_empty() {
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
    indent: usize,
    parent: Option<usize>,
    milestone: Option<String>,
    /// The linked task file, relative to the session.
    link: Option<String>,
    notes: Vec<String>,
    line_span: Span,
    id_span: Span,
}

fn read_todo(b: &mut PlanBuilder, src: SourceId, s: &mut Session) -> Vec<TodoItem> {
    let text = b.text(src).to_owned();
    let mut items: Vec<TodoItem> = Vec::new();
    let mut milestone: Option<String> = None;
    let mut last_indent_owner: Option<usize> = None;
    for line in md::lines(&text) {
        if line.in_fence {
            continue;
        }
        if let Some((level, t)) = md::heading(line.text) {
            if level == 1 {
                s.title_from_todo = Some(strip_plan_prefix(t).to_owned()).filter(|t| !t.is_empty());
            } else {
                let lower = t.to_ascii_lowercase();
                let grouping = ["wave", "phase", "stage", "milestone", "step", "batch"];
                milestone = grouping.iter().any(|w| lower.starts_with(w)).then(|| t.to_owned());
            }
            last_indent_owner = None;
            continue;
        }
        let indent = indent_width(line.text);
        match todo_item(&line, src) {
            Some(mut item) => {
                item.indent = indent;
                item.milestone = milestone.clone();
                item.parent = items.iter().rposition(|p| p.indent < indent);
                // A parent must be an ancestor in the current block, not an earlier sibling's child.
                if let Some(p) = item.parent {
                    if items.iter().skip(p + 1).any(|q| q.indent <= items.get(p).map_or(0, |x| x.indent)) {
                        item.parent = None;
                    }
                }
                items.push(item);
                last_indent_owner = Some(items.len() - 1);
            }
            None => {
                // Lines nested under an item are its notes (files, dependencies, priority …).
                if let Some(owner) = last_indent_owner.and_then(|i| items.get_mut(i)) {
                    if indent > owner.indent && !line.text.trim().is_empty() {
                        owner.notes.push(line.text.trim().to_owned());
                    } else if indent <= owner.indent && !line.text.trim().is_empty() {
                        last_indent_owner = None;
                    }
                }
            }
        }
    }
    items
}

fn indent_width(line: &str) -> usize {
    line.chars().take_while(|c| c.is_whitespace()).map(|c| if c == '\t' { 4 } else { 1 }).sum()
}

/// A task line: `- [ ] **IMPL-1.2**: Title → [📋](./.task/IMPL-1.2.json)`, `▸ **IMPL-1**: Group`.
fn todo_item(line: &Line<'_>, src: SourceId) -> Option<TodoItem> {
    let t = line.text.trim_start();
    let (checked, container, rest) = if let Some(rest) = t.strip_prefix(['▸', '▶', '►']) {
        (None, true, rest.trim_start())
    } else if let Some((done, rest)) = md::checkbox(line.text) {
        (Some(done), false, rest)
    } else if let Some(rest) = md::bullet(line.text) {
        let rest = rest.strip_prefix(['▸', '▶', '►']).map_or(rest, str::trim_start);
        (None, rest.len() != md::bullet(line.text).map_or(0, str::len), rest)
    } else {
        return None;
    };
    // The id is bold at the start: **IMPL-1**, or a bare IMPL-1 token.
    let (id, after) = if let Some(inner) = rest.strip_prefix("**") {
        let close = inner.find("**")?;
        (inner.get(..close)?.trim().trim_end_matches(':'), inner.get(close + 2..)?)
    } else {
        let end = rest.find(|c: char| c.is_whitespace() || c == ':').unwrap_or(rest.len());
        (rest.get(..end)?, rest.get(end..)?)
    };
    if !looks_like_id(id) {
        return None;
    }
    let id_off = line.start + md::offset_in(line.text, id).unwrap_or(0);
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
    let title = title.trim_end_matches(['|', ' ']).trim();
    Some(TodoItem {
        id: id.to_owned(),
        title: model::one_line(title),
        checked,
        container,
        indent: 0,
        parent: None,
        milestone: None,
        link,
        notes: Vec::new(),
        line_span: Span::new(src, line.start, line.start + line.text.len()),
        id_span: Span::new(src, id_off, id_off + id.len()),
    })
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
    if let Some(d) = root.get("description").and_then(JValue::as_text) {
        desc.push(d);
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
    for v in [root.path(&["flow_control", "target_files"]), root.get("target_files"), root.get("files")]
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

    // dependencies: the newer top-level list and the older context one.
    let mut declares_deps = false;
    for v in [root.get("depends_on"), root.path(&["context", "depends_on"])].into_iter().flatten() {
        declares_deps = true;
        for (dep, span) in v.text_list() {
            let dep = dep.trim().to_owned();
            if !dep.is_empty() && dep != task.id && !task.depends_on.contains(&dep) {
                task.depends_on.push(dep);
                spans.depends_on.push(span);
            }
        }
    }

    // acceptance and verify.
    let mut acceptance = texts(root.path(&["context", "acceptance"]).or_else(|| root.get("acceptance")));
    if let Some(conv) = root.get("convergence") {
        acceptance.extend(texts(conv.get("criteria")));
        for (v, _) in conv.get("verification").map(JValue::text_list).unwrap_or_default() {
            match commands(&v) {
                Some(cmds) => task.verify.extend(cmds),
                None => acceptance.push(v),
            }
        }
        acceptance.extend(texts(conv.get("definition_of_done")));
    }
    task.acceptance = acceptance.iter().map(|a| model::one_line(a)).filter(|a| !a.is_empty()).collect();

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
    })
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
const KNOWN_FIELDS: [&str; 24] = [
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

fn is_command(line: &str) -> bool {
    let line = line.trim_start_matches("$ ");
    let known = super::commands::first_program(line).is_some_and(super::commands::is_program);
    known && !line.ends_with('.') && !line.split_whitespace().any(|w| PROSE.contains(&w.to_ascii_lowercase().as_str()))
}

// ---------------------------------------------------------------------------------------------
// Merging TODO_LIST.md with the task files

fn build(b: &mut PlanBuilder, s: &Session, todo: Vec<TodoItem>, jsons: Vec<TaskJson>, failed: &HashSet<String>) {
    if b.plan.title.trim().is_empty() {
        if let Some(t) = &s.title_from_todo {
            b.plan.title = t.clone();
        }
    }
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

    for (i, item) in todo.iter().enumerate() {
        let found = item
            .link
            .as_ref()
            .and_then(|l| by_file.get(&file_name(Path::new(l)).to_ascii_lowercase()))
            .or_else(|| by_id.get(&item.id.to_ascii_lowercase()))
            .copied();
        let json = found.and_then(|j| jsons.get_mut(j).and_then(Option::take));
        let parent_title = item.parent.and_then(|p| todo.get(p)).map(|p| p.title.clone());
        if let Some(parent) = item.parent.and_then(|p| todo.get(p)) {
            children_of.entry(parent.id.clone()).or_default().push(item.id.clone());
        }
        let milestone = parent_title.filter(|t| !t.is_empty()).or_else(|| item.milestone.clone());
        match json {
            Some(j) => {
                let mut task = j.task;
                let mut spans = j.spans;
                if task.title.is_empty() {
                    task.title = item.title.clone();
                    spans.title = Some(item.line_span);
                }
                let todo_done = item.checked;
                match (j.done, todo_done) {
                    (Some(a), Some(bx)) if a != bx => b.warn(
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
                    ),
                    _ => {}
                }
                if j.done == Some(true) || todo_done == Some(true) {
                    task.status = Status::Done;
                }
                task.milestone = milestone;
                todo_index.insert(task.id.clone(), out.len());
                out.push((task, spans, j.declares_deps, j.group));
            }
            None => {
                // A `▸` group line with children and no task file only groups its subtasks.
                if item.container && has_children.contains(&i) {
                    continue;
                }
                let unreadable =
                    item.link.as_ref().is_some_and(|l| failed.contains(&file_name(Path::new(l)).to_ascii_lowercase()))
                        || failed.contains(&format!("{}.json", item.id.to_ascii_lowercase()));
                let what = if unreadable { "its task file could not be read" } else { "it has no task file" };
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
                let mut task = Task::new(item.id.clone(), item.title.clone());
                let mut spans = TaskSpans {
                    task: Some(item.line_span),
                    id: Some(item.id_span),
                    title: Some(item.line_span),
                    ..TaskSpans::default()
                };
                let declares = notes_into(&mut task, &mut spans, item);
                if item.checked == Some(true) {
                    task.status = Status::Done;
                }
                task.milestone = milestone;
                todo_index.insert(task.id.clone(), out.len());
                out.push((task, spans, declares, None));
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
        if j.done == Some(true) {
            task.status = Status::Done;
        }
        out.push((task, j.spans, j.declares_deps, j.group));
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

/// Dependencies and files written under a TODO item without a task file; the rest of its notes
/// become its description. Returns whether the notes declared dependencies.
fn notes_into(task: &mut Task, spans: &mut TaskSpans, item: &TodoItem) -> bool {
    let mut declares = false;
    let mut desc: Vec<String> = Vec::new();
    for note in &item.notes {
        let field = md::field(note).map(|(k, v, _)| (k.trim().to_ascii_lowercase(), v));
        match field {
            Some((k, v))
                if ["depends on", "dependencies", "depends_on", "依赖", "prerequisites"].contains(&k.as_str()) =>
            {
                declares = true;
                for (dep, _) in md::split_list(v) {
                    if looks_like_id(&dep) && !task.depends_on.contains(&dep) {
                        task.depends_on.push(dep);
                        spans.depends_on.push(item.line_span);
                    }
                }
            }
            Some((k, v)) if ["files", "file", "文件", "target files", "focus paths"].contains(&k.as_str()) => {
                for (f, _) in md::split_list(v) {
                    if let Some(p) = clean_target(&f) {
                        task.files.push(p);
                        spans.files.push(item.line_span);
                    }
                }
            }
            _ => desc.push(md::bullet(note).map_or_else(|| note.clone(), |t| format!("- {t}"))),
        }
    }
    task.description = model::block(&desc.join("\n"));
    declares
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
    fn todo_lines() {
        let mut s = crate::source::Sources::default();
        let src = s.add("t", String::new());
        let line = Line {
            start: 0,
            text: "  - [x] **IMPL-1.2**: Add JWT → [📋](./.task/IMPL-1.2.json) | [✅](./.summaries/IMPL-1.2.md)",
            in_fence: false,
        };
        let item = todo_item(&line, src);
        assert_eq!(
            item.as_ref().map(|i| (i.id.as_str(), i.title.as_str(), i.checked)),
            Some(("IMPL-1.2", "Add JWT", Some(true)))
        );
        assert_eq!(item.and_then(|i| i.link).as_deref(), Some(".task/IMPL-1.2.json"));
        let line = Line { start: 0, text: "▸ **IMPL-1**: Group", in_fence: false };
        assert_eq!(todo_item(&line, src).map(|i| (i.container, i.checked)), Some((true, None)));
        let line = Line { start: 0, text: "- [ ] plain text", in_fence: false };
        assert!(todo_item(&line, src).is_none());
    }
}
