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

mod prose;
pub(crate) mod status;
mod task_json;
mod todo;

use prose::*;
use task_json::*;
use todo::*;

use crate::diag::Diagnostic;
use crate::json::{self, JKind, JValue};
use crate::md::{self, Line};
use crate::model::{self, Status, Task};
use crate::reader::{Detection, Format, LoadError, Loaded, PlanBuilder, sorted_entries};
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

/// The folder of CCW session `id` (`WFS-auth`, or `auth`) under `root` (a repository, its
/// `.workflow` or `.workflow/active`): the first that exists, else where it would be (reading it
/// then says it is missing).
pub fn session_path(root: &Path, id: &str) -> PathBuf {
    let id = id.trim().trim_end_matches('/');
    let names = if id.starts_with("WFS-") { vec![id.to_owned()] } else { vec![format!("WFS-{id}"), id.to_owned()] };
    let bases = [root.join(".workflow").join("active"), root.join(".workflow"), root.join("active"), root.to_owned()];
    let candidates: Vec<PathBuf> = bases.iter().flat_map(|b| names.iter().map(move |n| b.join(n))).collect();
    candidates.iter().find(|c| c.is_dir()).cloned().unwrap_or_else(|| candidates.into_iter().next().unwrap_or_default())
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
    let Some(bytes) = crate::reader::peek_bytes(path) else {
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
    b.barriers = s.phased;
    // What the tasks a task depends on left in `.summaries/` goes into its prompt.
    let summaries = session.join(".summaries");
    let context: Vec<(String, Vec<PathBuf>)> = b
        .plan
        .tasks
        .iter()
        .filter(|t| !t.depends_on.is_empty())
        .map(|t| {
            let files = t
                .depends_on
                .iter()
                .flat_map(|d| [summaries.join(format!("{d}-summary.md")), summaries.join(format!("{d}.md"))])
                .collect();
            (t.id.clone(), files)
        })
        .collect();
    b.context_files.extend(context);
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
    /// `Phased`: the phases (the TODO list's groups) run one after the other.
    phased: bool,
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
                let model = value.trim_start_matches(['*', '`']).to_ascii_lowercase();
                s.sequential = model.starts_with("sequential");
                s.phased = model.starts_with("phased");
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

#[cfg(test)]
mod tests;
