//! The cm importer: the approved plan `handoff/plan.json` handed from planning to execution, and
//! the autonomous backlog `cm-tasks.json` (tasks with statuses, logs and retry counters). When a
//! repository holds both, the plan comes from `handoff/plan.json` and done status from the backlog.

use super::{Detection, Format, LoadError, Loaded, PlanBuilder};
use crate::diag::Diagnostic;
use crate::json::{self, JKind, JValue};
use crate::model::{self, Status, Task};
use crate::source::{SourceId, Span, TaskSpans};
use crate::validate::valid_id;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Where the approved plan lives, relative to a repository root (some setups keep it under `.cm`).
const PLAN_PATHS: &[&str] = &["handoff/plan.json", ".cm/handoff/plan.json"];
/// Where the backlog lives, relative to a repository root.
const BACKLOG_PATHS: &[&str] = &["cm-tasks.json", ".cm/cm-tasks.json"];
const BACKLOG_NAME: &str = "cm-tasks.json";

pub(crate) fn detect(path: &Path) -> Detection {
    if path.is_dir() {
        if is_handoff_dir(path) {
            return Detection::Yes(path.to_owned());
        }
        let plans: Vec<PathBuf> = existing(path, PLAN_PATHS);
        if plans.len() > 1 {
            return Detection::Ambiguous(plans);
        }
        let backlogs = existing(path, BACKLOG_PATHS);
        if plans.is_empty() && backlogs.len() > 1 {
            return Detection::Ambiguous(backlogs);
        }
        return if plans.is_empty() && backlogs.is_empty() { Detection::No } else { Detection::Yes(path.to_owned()) };
    }
    // The file names are specific enough on their own; a broken file there is still reported.
    let by_name = path.is_file() && (file_name(path) == BACKLOG_NAME || is_handoff_plan(path));
    // Renamed or copied backlogs still carry the RARV retry counter, which nothing else writes.
    let by_content = path.extension().is_some_and(|e| e == "json")
        && looks_json(path)
        && super::peek_text(path).is_some_and(|t| t.contains("\"rarv_cycles"));
    if by_name || by_content { Detection::Yes(path.to_owned()) } else { Detection::No }
}

pub(crate) fn load(path: &Path) -> Result<Loaded, LoadError> {
    let (plan, backlog) = resolve(path);
    let mut b = PlanBuilder::new(Format::Cm, path);
    match (plan, backlog) {
        (Some(plan), backlog) => {
            let src = b.read(&plan)?;
            let drafts = read_plan(&mut b, src, Kind::Handoff);
            let mut tasks = finish_tasks(&mut b, drafts);
            if let Some(backlog) = backlog {
                let src = b.read(&backlog)?;
                merge_backlog(&mut b, src, &mut tasks);
            }
            push_all(&mut b, tasks);
        }
        (None, Some(backlog)) => {
            let src = b.read(&backlog)?;
            let drafts = read_plan(&mut b, src, Kind::Backlog);
            let tasks = finish_tasks(&mut b, drafts);
            push_all(&mut b, tasks);
        }
        (None, None) => {
            return Err(LoadError::WrongFormat {
                path: path.to_owned(),
                format: Format::Cm,
                reason: "neither handoff/plan.json nor cm-tasks.json was found there".to_owned(),
            });
        }
    }
    Ok(b.finish())
}

fn file_name(path: &Path) -> &str {
    path.file_name().and_then(|n| n.to_str()).unwrap_or("")
}

fn existing(dir: &Path, rels: &[&str]) -> Vec<PathBuf> {
    rels.iter().map(|r| dir.join(r)).filter(|p| p.is_file()).collect()
}

fn is_handoff_dir(dir: &Path) -> bool {
    file_name(dir) == "handoff" && dir.join("plan.json").is_file()
}

fn is_handoff_plan(file: &Path) -> bool {
    file_name(file) == "plan.json" && file.parent().is_some_and(|p| file_name(p) == "handoff")
}

/// A readable file whose text starts like JSON (comments allowed), for files sniffed by content.
fn looks_json(path: &Path) -> bool {
    let Some(text) = super::peek_text(path) else { return false };
    let t = text.trim_start_matches('\u{feff}').trim_start();
    t.starts_with('{') || t.starts_with('[') || t.starts_with("//") || t.starts_with("/*")
}

/// The plan file and the backlog file to read for what the user passed. An explicitly named
/// backlog (or any JSON file that is not `handoff/plan.json`) is read on its own.
fn resolve(path: &Path) -> (Option<PathBuf>, Option<PathBuf>) {
    if path.is_file() {
        if is_handoff_plan(path) {
            let repo = path.parent().and_then(Path::parent);
            return (Some(path.to_owned()), repo.and_then(backlog_near));
        }
        if file_name(path) == BACKLOG_NAME {
            return (None, Some(path.to_owned()));
        }
        return (Some(path.to_owned()), None);
    }
    if is_handoff_dir(path) {
        return (Some(path.join("plan.json")), path.parent().and_then(backlog_near));
    }
    let plan = existing(path, PLAN_PATHS).into_iter().next();
    (plan, backlog_near(path))
}

/// The backlog that belongs to a repository (or to its `.cm` folder).
fn backlog_near(repo: &Path) -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = BACKLOG_PATHS.iter().map(|r| repo.join(r)).collect();
    if file_name(repo) == ".cm" {
        if let Some(parent) = repo.parent() {
            candidates.push(parent.join(BACKLOG_NAME));
        }
    }
    candidates.into_iter().find(|p| p.is_file())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Handoff,
    Backlog,
}

/// A task as read, before ids are checked and dependencies resolved.
#[derive(Debug)]
struct Draft {
    task: Task,
    spans: TaskSpans,
    /// The id as written, when there was one.
    raw_id: Option<String>,
    /// Whether the task had a dependency field at all (even an empty one).
    has_deps: bool,
}

const TITLE_KEYS: &[&str] = &["title", "name", "plan_title", "project", "initiative"];
const GOAL_KEYS: &[&str] = &["goal", "objective", "purpose"];
const SUMMARY_KEYS: &[&str] = &["summary", "overview", "description", "context", "background"];
/// Plan-level lists shown to every agent under a label.
const CONTEXT_LISTS: &[(&str, &str)] = &[
    ("constraints", "Constraints"),
    ("assumptions", "Assumptions"),
    ("non_goals", "Non-goals"),
    ("out_of_scope", "Out of scope"),
    ("risks", "Risks"),
    ("notes", "Notes"),
];
const PLAN_VERIFY_KEYS: &[&str] =
    &["verify", "verify_commands", "test_command", "test_commands", "tests", "verification", "checks"];
const TASK_LIST_KEYS: &[&str] = &["tasks", "steps", "items", "todos", "backlog"];
const PHASE_KEYS: &[&str] = &["phases", "milestones", "groups", "waves"];
/// Plan-level bookkeeping that says nothing about the work.
const PLAN_IGNORED: &[&str] = &[
    "stats",
    "updated",
    "updated_at",
    "created",
    "created_at",
    "version",
    "schema",
    "$schema",
    "id",
    "status",
    "approved",
    "approved_by",
    "approved_at",
    "author",
    "date",
    "mode",
    "source",
    "generated_by",
    "generated_at",
    "session",
];

const ID_KEYS: &[&str] = &["id", "task_id", "taskId", "step", "number", "key"];
const TASK_TITLE_KEYS: &[&str] = &["title", "name", "task", "subject", "summary"];
const DESCRIPTION_KEYS: &[&str] = &[
    "description",
    "details",
    "desc",
    "body",
    "instructions",
    "prompt",
    "summary",
    "implementation",
    "approach",
    "how",
];
const STEP_KEYS: &[&str] = &["steps", "subtasks", "substeps", "checklist", "todo"];
const NOTE_KEYS: &[&str] = &["notes", "hints", "context", "rationale"];
const FILE_KEYS: &[&str] = &[
    "files",
    "file",
    "paths",
    "file_paths",
    "affected_files",
    "files_to_modify",
    "files_to_create",
    "modified_files",
    "touches",
    "targets",
];
const DEP_KEYS: &[&str] =
    &["depends_on", "dependencies", "dependsOn", "deps", "after", "blocked_by", "blockedBy", "requires", "needs"];
const ACCEPTANCE_KEYS: &[&str] = &[
    "acceptance",
    "acceptance_criteria",
    "acceptanceCriteria",
    "success_criteria",
    "successCriteria",
    "criteria",
    "done_when",
    "definition_of_done",
    "expected",
    "expected_outcome",
    "outcome",
];
const VERIFY_KEYS: &[&str] = &[
    "verify",
    "verification",
    "verify_command",
    "verify_commands",
    "test",
    "tests",
    "test_command",
    "test_commands",
    "testCommand",
    "validation",
    "check",
    "checks",
    "commands",
];
const PERSONA_KEYS: &[&str] = &["persona", "agent_type", "agentType", "subagent_type", "subagentType", "role"];
const SKILL_KEYS: &[&str] = &["skill", "skills", "cm_skill"];
const MILESTONE_KEYS: &[&str] = &["milestone", "phase", "group", "wave", "epic"];
const STATUS_KEYS: &[&str] = &["status", "state"];
const DONE_FLAGS: &[&str] = &["done", "completed", "complete"];
/// Per-task bookkeeping of the RARV loop and of planning tools: read by nobody here.
const TASK_IGNORED: &[&str] = &[
    "priority",
    "logs",
    "log",
    "rarv_cycles",
    "created_at",
    "started_at",
    "completed_at",
    "updated_at",
    "created",
    "updated",
    "blocked_at",
    "blocked_reason",
    "error",
    "errors",
    "attempts",
    "retries",
    "result",
    "output",
    "commit",
    "branch",
    "pr",
    "assignee",
    "owner",
    "tags",
    "labels",
    "type",
    "estimate",
    "complexity",
    "est_complexity",
];
/// Agent backends planrun can run; any other `agent` value names a persona.
const BACKENDS: &[&str] =
    &["claude", "claude-code", "codex", "gemini", "opencode", "aider", "cursor", "copilot", "amp", "qwen"];

fn read_plan(b: &mut PlanBuilder, src: SourceId, kind: Kind) -> Vec<Draft> {
    let text = b.text(src).to_owned();
    b.plan.title = default_title(kind).to_owned();
    let root = match json::parse(&text, src) {
        Ok(v) => v,
        Err(d) => {
            b.warn(d);
            return Vec::new();
        }
    };
    let mut drafts = Vec::new();
    let mut index = 0;
    if root.is_array() {
        for item in root.items() {
            read_task(b, item, &mut index, None, &mut drafts);
        }
        return drafts;
    }
    if !root.is_object() {
        b.warn(
            Diagnostic::error("json-shape", format!("a cm plan must be a JSON object, found {}", root.kind_name()))
                .at(Some(root.span))
                .help("write {\"title\": \"…\", \"tasks\": [{\"id\": \"T1\", \"title\": \"…\"}]}"),
        );
        return drafts;
    }
    // Some planners wrap the plan: {"plan": {…}}.
    let root = match root.get("plan") {
        Some(inner) if inner.is_object() && root.get_any(TASK_LIST_KEYS).is_none() => inner,
        _ => &root,
    };

    let title = text_of(b, root.get_any(TITLE_KEYS));
    let goal = text_of(b, root.get_any(GOAL_KEYS));
    let mut context: Vec<String> = Vec::new();
    if let Some(goal) = &goal {
        context.push(format!("Goal: {}", model::block(goal)));
    }
    let mut summary: Option<String> = None;
    for key in SUMMARY_KEYS {
        if let Some(text) = text_of(b, root.get(key)) {
            context.push(model::block(&text));
            summary.get_or_insert(text);
        }
    }
    for (key, label) in CONTEXT_LISTS {
        if let Some(v) = root.get(key) {
            let items: Vec<String> = strings(b, v).into_iter().map(|(s, _)| model::one_line(&s)).collect();
            if !items.is_empty() {
                context.push(format!(
                    "{label}:\n{}",
                    items.iter().map(|i| format!("- {i}")).collect::<Vec<_>>().join("\n")
                ));
            }
        }
    }
    if let Some(v) = root.get_any(PLAN_VERIFY_KEYS) {
        let mut prose = Vec::new();
        for (item, span) in strings(b, v) {
            let commands = commands_in(&item);
            if commands.is_empty() {
                prose.push(model::one_line(&item));
            }
            for cmd in commands {
                b.push_verify(cmd, Some(span));
            }
        }
        if !prose.is_empty() {
            context.push(format!(
                "Verification:\n{}",
                prose.iter().map(|i| format!("- {i}")).collect::<Vec<_>>().join("\n")
            ));
        }
    }
    b.plan.title = title
        .or_else(|| goal.as_deref().and_then(first_line))
        .or_else(|| summary.as_deref().and_then(first_line))
        .unwrap_or_else(|| default_title(kind).to_owned());
    b.plan.context = context.join("\n\n");

    let mut tasks_seen = false;
    // Where the file says its tasks are, when it does not hold them: `"tasks_file": "…"`.
    let mut pointer: Option<(String, String, Span)> = None;
    for (key, value) in root.members() {
        let key = key.as_str();
        if TASK_LIST_KEYS.contains(&key) && !tasks_seen {
            tasks_seen = true;
            match &value.kind {
                JKind::Array(items) => {
                    for item in items {
                        read_task(b, item, &mut index, None, &mut drafts);
                    }
                }
                JKind::String(s) if looks_like_path(s) => {
                    pointer.get_or_insert((key.to_owned(), s.trim().to_owned(), value.span));
                }
                _ => shape(b, value, &format!("`{key}` must be an array of task objects")),
            }
        } else if is_pointer_key(key) && value.as_str().is_some_and(looks_like_path) {
            let to = value.as_str().unwrap_or_default().trim().to_owned();
            pointer.get_or_insert((key.to_owned(), to, value.span));
        } else if PHASE_KEYS.contains(&key) && value.is_array() {
            tasks_seen = true;
            read_phases(b, value, &mut index, &mut drafts);
        } else if TITLE_KEYS.contains(&key)
            || GOAL_KEYS.contains(&key)
            || SUMMARY_KEYS.contains(&key)
            || PLAN_VERIFY_KEYS.contains(&key)
            || CONTEXT_LISTS.iter().any(|(k, _)| *k == key)
            || PLAN_IGNORED.contains(&key)
            || key == "plan"
        {
        } else {
            unknown(b, key, value, "plan");
        }
    }
    let file = file_name(b.sources.path(src)).to_owned();
    if drafts.is_empty() {
        match pointer {
            Some((key, to, span)) => b.warn(
                Diagnostic::error(
                    "tasks-elsewhere",
                    format!("`{file}` holds no tasks: its `{key}` says they live in `{to}`"),
                )
                .at(Some(span))
                .help(format!("point planrun at {to}")),
            ),
            None if !tasks_seen => b.warn(
                Diagnostic::error(
                    "no-tasks",
                    format!("`{file}` has no `tasks` (or `steps`, `phases`) array, so there is nothing to run"),
                )
                .at(Some(root.span))
                .help("list the work as \"tasks\": [{\"id\": \"T1\", \"title\": \"…\"}]"),
            ),
            None => {
                let at =
                    root.get_any(TASK_LIST_KEYS).or_else(|| root.get_any(PHASE_KEYS)).map_or(root.span, |v| v.span);
                b.warn(
                    Diagnostic::error(
                        "no-tasks",
                        format!("the task list of `{file}` is empty, so there is nothing to run"),
                    )
                    .at(Some(at))
                    .help("list the work as \"tasks\": [{\"id\": \"T1\", \"title\": \"…\"}]"),
                );
            }
        }
    }
    drafts
}

/// A plan field that names the file holding the tasks: `tasks_file`, `plan_path`, `tasksFile`…
fn is_pointer_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase().replace(['_', '-'], "");
    (k.contains("task") || k.contains("plan") || k == "source")
        && (k.ends_with("file") || k.ends_with("path") || k.ends_with("ref") || k == "source")
}

/// A string that names a file rather than saying something: no spaces, a folder or an extension.
fn looks_like_path(s: &str) -> bool {
    let s = s.trim();
    !s.is_empty() && !s.contains(char::is_whitespace) && (s.contains('/') || s.contains('.'))
}

fn default_title(kind: Kind) -> &'static str {
    match kind {
        Kind::Handoff => "Handoff plan",
        Kind::Backlog => "cm backlog",
    }
}

fn first_line(text: &str) -> Option<String> {
    text.lines().map(str::trim).find(|l| !l.is_empty()).map(str::to_owned)
}

/// `phases: [{name, tasks: […]}]`: each phase becomes the milestone of its tasks.
fn read_phases(b: &mut PlanBuilder, value: &JValue, index: &mut usize, drafts: &mut Vec<Draft>) {
    for (n, phase) in value.items().iter().enumerate() {
        if !phase.is_object() {
            shape(b, phase, "each phase must be an object with a name and tasks");
            continue;
        }
        let name = text_of(b, phase.get_any(TITLE_KEYS).or_else(|| phase.get("id")))
            .map(|t| model::one_line(&t))
            .unwrap_or_else(|| format!("Phase {}", n + 1));
        match phase.get_any(TASK_LIST_KEYS) {
            Some(list) if list.is_array() => {
                for item in list.items() {
                    read_task(b, item, index, Some(&name), drafts);
                }
            }
            Some(list) => shape(b, list, "a phase's `tasks` must be an array of task objects"),
            None => b.warn(
                Diagnostic::warning("no-tasks", format!("phase `{name}` has no `tasks` array"))
                    .at(Some(phase.span))
                    .help("list the phase's work as \"tasks\": [ … ]"),
            ),
        }
    }
}

fn read_task(b: &mut PlanBuilder, value: &JValue, index: &mut usize, phase: Option<&str>, drafts: &mut Vec<Draft>) {
    *index += 1;
    if !value.is_object() {
        shape(b, value, "each task must be an object");
        // A bare string is still a task someone wrote down: keep it rather than lose it.
        if let Some(title) = value.as_str().map(model::one_line).filter(|t| !t.is_empty()) {
            let mut spans = TaskSpans::at(value.span);
            spans.title = Some(value.span);
            drafts.push(Draft {
                task: Task::new(format!("task-{index}"), title),
                spans,
                raw_id: None,
                has_deps: false,
            });
        }
        return;
    }
    let mut task = Task::default();
    let mut spans = TaskSpans::at(value.span);
    let mut raw_id = None;
    let mut has_deps = false;
    let mut description: Vec<String> = Vec::new();
    let mut tail: Vec<String> = Vec::new();

    let id_key = ID_KEYS.iter().find(|k| value.get(k).is_some()).copied();
    let title_key = TASK_TITLE_KEYS.iter().find(|k| value.get(k).is_some_and(|v| v.as_text().is_some())).copied();
    let persona_key = PERSONA_KEYS.iter().find(|k| value.get(k).is_some()).copied();

    for (key, v) in value.members() {
        let key = key.as_str();
        if Some(key) == id_key {
            match v.as_text().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()) {
                Some(id) => raw_id = Some(id),
                None => shape(b, v, &format!("`{key}` must be a string or a number")),
            }
            spans.id = Some(v.span);
        } else if Some(key) == title_key {
            task.title = model::one_line(&text_of(b, Some(v)).unwrap_or_default());
            spans.title = Some(v.span);
        } else if key == "instructions" && v.is_object() {
            // planrun's own per-phase instructions, for a native plan kept in `handoff/`.
            for (phase, text) in v.members() {
                let text = text_of(b, Some(text)).map(|t| model::block(&t)).filter(|t| !t.is_empty());
                match phase.as_str() {
                    "build" => task.instructions.build = text,
                    "review" => task.instructions.review = text,
                    "verify" => task.instructions.verify = text,
                    other => unknown(b, other, v, "instructions"),
                }
            }
        } else if DESCRIPTION_KEYS.contains(&key) {
            if let Some(t) = text_of(b, Some(v)) {
                description.push(model::block(&t));
                spans.description.get_or_insert(v.span);
            }
        } else if STEP_KEYS.contains(&key) {
            let items = strings(b, v);
            if !items.is_empty() {
                let list: Vec<String> = items.iter().map(|(s, _)| format!("- {}", model::one_line(s))).collect();
                tail.push(format!("Steps:\n{}", list.join("\n")));
            }
        } else if NOTE_KEYS.contains(&key) {
            if let Some(t) = text_of(b, Some(v)) {
                tail.push(format!("Notes: {}", model::block(&t)));
            }
        } else if FILE_KEYS.contains(&key) {
            for (file, span) in strings(b, v) {
                let file = file.trim().to_owned();
                if !file.is_empty() && !task.files.contains(&file) {
                    task.files.push(file);
                    spans.files.push(span);
                }
            }
        } else if DEP_KEYS.contains(&key) {
            has_deps = true;
            for (dep, span) in strings(b, v) {
                for part in dep.split([',', ';']).map(str::trim).filter(|p| !p.is_empty()) {
                    task.depends_on.push(part.trim_start_matches('#').to_owned());
                    spans.depends_on.push(span);
                }
            }
        } else if ACCEPTANCE_KEYS.contains(&key) {
            for (item, span) in strings(b, v) {
                let item = model::one_line(&item);
                if !item.is_empty() {
                    task.acceptance.push(item);
                    spans.acceptance.push(span);
                }
            }
        } else if VERIFY_KEYS.contains(&key) {
            for (item, span) in strings(b, v) {
                let commands = commands_in(&item);
                if commands.is_empty() {
                    let prose = model::one_line(&item);
                    if !prose.is_empty() {
                        task.acceptance.push(prose);
                        spans.acceptance.push(span);
                    }
                }
                for cmd in commands {
                    task.verify.push(cmd);
                    spans.verify.push(span);
                }
            }
        } else if Some(key) == persona_key {
            task.persona = text_of(b, Some(v)).and_then(|t| persona_name(&t));
        } else if key == "agent" {
            if let Some(t) = text_of(b, Some(v)).map(|t| model::one_line(&t)).filter(|t| !t.is_empty()) {
                if BACKENDS.contains(&t.to_ascii_lowercase().as_str()) {
                    task.agent = Some(t.to_ascii_lowercase());
                } else if task.persona.is_none() && persona_key.is_none() {
                    task.persona = persona_name(&t);
                }
            }
        } else if SKILL_KEYS.contains(&key) {
            let skills: Vec<String> = strings(b, v).into_iter().map(|(s, _)| format!("`{}`", s.trim())).collect();
            if !skills.is_empty() {
                tail.push(format!("Skill: {}", skills.join(", ")));
            }
        } else if MILESTONE_KEYS.contains(&key) {
            task.milestone = text_of(b, Some(v)).map(|t| model::one_line(&t)).filter(|t| !t.is_empty());
        } else if STATUS_KEYS.contains(&key) {
            let word = text_of(b, Some(v)).unwrap_or_default();
            match crate::native::status_word(&word) {
                Some(s) => {
                    task.status = s;
                    spans.status = Some(v.span);
                }
                None => b.warn(
                    Diagnostic::warning(
                        "unknown-status",
                        format!("unknown status `{word}`; the task is treated as pending"),
                    )
                    .at(Some(v.span))
                    .help("use backlog, in_progress, blocked or done"),
                ),
            }
        } else if DONE_FLAGS.contains(&key) && v.as_bool().is_some() {
            if v.as_bool() == Some(true) {
                task.status = Status::Done;
                spans.status = Some(v.span);
            }
        } else if ID_KEYS.contains(&key)
            || TASK_TITLE_KEYS.contains(&key)
            || PERSONA_KEYS.contains(&key)
            || TASK_IGNORED.contains(&key)
        {
            // A second spelling of a field already read, or bookkeeping.
        } else {
            unknown(b, key, v, "task");
        }
    }
    if task.milestone.is_none() {
        task.milestone = phase.map(str::to_owned);
    }
    description.extend(tail);
    task.description = model::block(&description.join("\n\n"));
    if task.title.is_empty() {
        b.warn(
            Diagnostic::error("missing-title", "this task has no `title`")
                .at(spans.id.or(Some(value.span)))
                .help("give every task a one-line \"title\""),
        );
        if let Some(line) = first_line(&task.description) {
            task.title = model::one_line(&line);
        }
    }
    if raw_id.is_none() {
        b.warn(
            Diagnostic::error("missing-id", format!("this task has no `id`; it was given the id `task-{index}`"))
                .at(Some(value.span))
                .help("give every task a unique id, e.g. \"id\": \"T1\""),
        );
        task.id = format!("task-{index}");
    }
    drafts.push(Draft { task, spans, raw_id, has_deps });
}

/// Assigns final ids (rewriting ones that cannot be branch names), resolves dependencies written
/// with the original ids, chains tasks in file order when no task names dependencies, and infers
/// personas from titles.
fn finish_tasks(b: &mut PlanBuilder, mut drafts: Vec<Draft>) -> Vec<(Task, TaskSpans)> {
    let mut renamed: HashMap<String, String> = HashMap::new();
    for d in &mut drafts {
        let Some(raw) = d.raw_id.clone() else { continue };
        if valid_id(&raw) {
            d.task.id = raw;
            continue;
        }
        let new = super::slug(&raw);
        b.warn(
            Diagnostic::warning(
                "id-rewritten",
                format!("task id `{raw}` cannot be used as a branch name; it is read as `{new}`"),
            )
            .at(d.spans.id)
            .help("use ids made of letters, digits, '.', '_' and '-', e.g. \"T3\""),
        );
        renamed.insert(raw, new.clone());
        d.task.id = new;
    }
    let explicit = drafts.iter().any(|d| d.has_deps);
    let mut previous: Option<String> = None;
    let mut out = Vec::with_capacity(drafts.len());
    for mut d in drafts {
        if explicit {
            for dep in &mut d.task.depends_on {
                if let Some(new) = renamed.get(dep.as_str()) {
                    dep.clone_from(new);
                }
            }
        } else if let Some(prev) = previous.take() {
            // No task names its dependencies: run them in the order written.
            d.task.depends_on = vec![prev];
            d.spans.depends_on.clear();
        }
        previous = Some(d.task.id.clone());
        if d.task.persona.is_none() {
            d.task.persona = infer_persona(&d.task.title).map(str::to_owned);
        }
        out.push((d.task, d.spans));
    }
    out
}

fn push_all(b: &mut PlanBuilder, tasks: Vec<(Task, TaskSpans)>) {
    for (task, spans) in tasks {
        b.push(task, spans);
    }
}

/// Marks plan tasks done when the backlog records them done, matching by id, then by title.
fn merge_backlog(b: &mut PlanBuilder, src: SourceId, tasks: &mut [(Task, TaskSpans)]) {
    let text = b.text(src).to_owned();
    let root = match json::parse(&text, src) {
        Ok(v) => v,
        Err(d) => {
            b.warn(d.help("fix the JSON syntax of cm-tasks.json; done status was not read from it"));
            return;
        }
    };
    let list = if root.is_array() { Some(&root) } else { root.get_any(TASK_LIST_KEYS) };
    let Some(list) = list.filter(|l| l.is_array()) else {
        b.warn(
            Diagnostic::warning("no-tasks", "cm-tasks.json has no `tasks` array; no done status was read from it")
                .at(Some(root.span))
                .help("the backlog keeps its tasks in \"tasks\": [ … ]"),
        );
        return;
    };
    for item in list.items() {
        let id = item.get_any(ID_KEYS).and_then(JValue::as_text).map(|t| t.trim().to_owned());
        let title = item.get_any(TASK_TITLE_KEYS).and_then(JValue::as_str).map(|t| model::one_line(t).to_lowercase());
        let status_value = item.get_any(STATUS_KEYS);
        let status = status_value.and_then(JValue::as_text);
        let done = status.as_deref().and_then(crate::native::status_word) == Some(Status::Done)
            || DONE_FLAGS.iter().any(|k| item.get(k).and_then(JValue::as_bool) == Some(true));
        let by_id = id.as_deref().and_then(|id| {
            let fixed = if valid_id(id) { id.to_owned() } else { super::slug(id) };
            tasks.iter().position(|(t, _)| t.id == fixed)
        });
        let by_title =
            || title.as_deref().and_then(|title| tasks.iter().position(|(t, _)| t.title.to_lowercase() == title));
        match by_id.or_else(by_title) {
            Some(i) => {
                if let (true, Some((task, spans))) = (done, tasks.get_mut(i)) {
                    task.status = Status::Done;
                    // Where the done status came from: the backlog entry.
                    spans.status = Some(status_value.map_or(item.span, |v| v.span));
                }
            }
            None => {
                let name = id.or(title).unwrap_or_else(|| "?".to_owned());
                b.warn(
                    Diagnostic::warning(
                        "unmatched-task",
                        format!("backlog task `{name}` is not in handoff/plan.json; its status is ignored"),
                    )
                    .at(Some(item.get_any(ID_KEYS).map_or(item.span, |v| v.span)))
                    .help("give the backlog task the same id (or title) as in the plan"),
                );
            }
        }
    }
}

fn shape(b: &mut PlanBuilder, value: &JValue, message: &str) {
    crate::json::Lenient {
        diagnostics: &mut b.diagnostics,
        help: "see docs/importers/cm.md for the fields planrun reads",
    }
    .shape(value, message);
}

fn unknown(b: &mut PlanBuilder, key: &str, value: &JValue, what: &str) {
    b.warn(
        Diagnostic::warning("unknown-field", format!("unknown {what} field `{key}` is ignored"))
            .at(Some(value.span))
            .help("see docs/importers/cm.md for the fields planrun reads"),
    );
}

/// A text field: a string or number, or a list of strings joined by lines.
fn text_of(b: &mut PlanBuilder, value: Option<&JValue>) -> Option<String> {
    let value = value?;
    match &value.kind {
        JKind::Null => None,
        JKind::Array(_) => {
            let lines: Vec<String> = strings(b, value).into_iter().map(|(s, _)| s).collect();
            (!lines.is_empty()).then(|| lines.join("\n"))
        }
        JKind::Object(_) => {
            shape(b, value, "expected text");
            None
        }
        _ => value.as_text().filter(|t| !t.trim().is_empty()),
    }
}

/// Every string in a value, leniently: a string, a list, objects naming an id/path/title, or an
/// object of lists (`{"create": […], "modify": […]}`). Booleans are reported, nulls skipped.
fn strings(b: &mut PlanBuilder, value: &JValue) -> Vec<(String, Span)> {
    const NAMED: &[&str] =
        &["id", "path", "file", "title", "name", "description", "text", "command", "cmd", "criterion"];
    let mut out = Vec::new();
    match &value.kind {
        JKind::Null => {}
        JKind::String(s) if s.trim().is_empty() => {}
        JKind::String(s) | JKind::Number(s) => out.push((s.clone(), value.span)),
        JKind::Bool(_) => shape(b, value, "expected text"),
        JKind::Array(items) => {
            for item in items {
                out.extend(strings(b, item));
            }
        }
        JKind::Object(members) => match value.get_any(NAMED) {
            Some(named) => out.extend(strings(b, named)),
            None => {
                for (_, v) in members {
                    out.extend(strings(b, v));
                }
            }
        },
    }
    out
}

/// The shell commands in a verify entry: the whole entry when it is wholly backticked or starts
/// with a known tool (or a script path), else every backticked span that does. Prose yields
/// nothing.
fn commands_in(item: &str) -> Vec<String> {
    let t = item.trim();
    let ticked = t.strip_prefix('`').and_then(|r| r.strip_suffix('`')).filter(|r| !r.contains('`'));
    if let Some(inner) = ticked.map(str::trim).filter(|i| !i.is_empty()) {
        return vec![inner.to_owned()];
    }
    if is_command(t) {
        return vec![t.to_owned()];
    }
    crate::md::code_spans(t).into_iter().filter(|(s, _)| is_command(s)).map(|(s, _)| s.trim().to_owned()).collect()
}

fn is_command(text: &str) -> bool {
    let line = text.trim();
    if line.contains('\n') && !line.lines().all(|l| l.trim().is_empty() || is_command(l)) {
        return false;
    }
    super::commands::first_program(line).is_some_and(super::commands::is_program)
}

/// `agents/security.md`, `Security` or `security` → `security`.
fn persona_name(text: &str) -> Option<String> {
    let t = model::one_line(text);
    let t = t.rsplit('/').next().unwrap_or(&t);
    let t = t.strip_suffix(".md").unwrap_or(t).trim().to_ascii_lowercase();
    (!t.is_empty()).then_some(t)
}

/// Persona signals, most specific first: a title touching secrets or deployment goes to the
/// security persona even when it also says "fix"; "implement/fix/refactor" is the most generic
/// signal and comes last.
const PERSONA_SIGNALS: &[(&str, &[&str])] = &[
    (
        "security",
        &[
            "secret",
            "secrets",
            "auth",
            "authn",
            "authz",
            "authentication",
            "authenticate",
            "authorization",
            "authorisation",
            "authorize",
            "authorise",
            "oauth",
            "deploy",
            "deploys",
            "deploying",
            "deployment",
            "input validation",
        ],
    ),
    (
        "architect",
        &[
            "design",
            "designs",
            "designing",
            "architecture",
            "architectural",
            "trade-off",
            "trade-offs",
            "tradeoff",
            "tradeoffs",
        ],
    ),
    (
        "reviewer",
        &["review", "reviews", "reviewing", "audit", "audits", "auditing", "verify", "verifies", "verification"],
    ),
    ("pm", &["scope", "scoping", "intent", "user story", "user stories"]),
    (
        "engineer",
        &[
            "implement",
            "implements",
            "implementing",
            "implementation",
            "fix",
            "fixes",
            "fixing",
            "refactor",
            "refactors",
            "refactoring",
        ],
    ),
];

/// The persona a title asks for, from the signal words above (whole words, any case).
fn infer_persona(title: &str) -> Option<&'static str> {
    let lower = title.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !(c.is_alphanumeric() || c == '-'))
        .map(|w| w.trim_matches('-'))
        .filter(|w| !w.is_empty())
        .collect();
    let padded = format!(" {} ", words.join(" "));
    PERSONA_SIGNALS
        .iter()
        .find(|(_, signals)| signals.iter().any(|s| padded.contains(&format!(" {s} "))))
        .map(|(persona, _)| *persona)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personas_from_titles() {
        assert_eq!(infer_persona("Design the sync queue"), Some("architect"));
        assert_eq!(infer_persona("Fix OAuth token refresh"), Some("security"));
        assert_eq!(infer_persona("Refactor money helpers"), Some("engineer"));
        assert_eq!(infer_persona("Audit PDF export"), Some("reviewer"));
        assert_eq!(infer_persona("Write user story for refunds"), Some("pm"));
        assert_eq!(infer_persona("Show the author name"), None);
        assert_eq!(infer_persona("Add test fixtures"), None);
        assert_eq!(infer_persona("Weigh storage trade-offs"), Some("architect"));
    }

    #[test]
    fn commands_and_prose() {
        assert_eq!(commands_in("npm test"), vec!["npm test"]);
        assert_eq!(commands_in("`pnpm vitest run`"), vec!["pnpm vitest run"]);
        assert_eq!(commands_in("CI=1 cargo test"), vec!["CI=1 cargo test"]);
        assert_eq!(commands_in("Run `make check` and read the output"), vec!["make check"]);
        assert!(commands_in("All tests pass").is_empty());
        assert!(commands_in("Check that `/health` answers 200").is_empty());
        assert_eq!(commands_in("`./run-e2e --headless`"), vec!["./run-e2e --headless"]);
    }

    #[test]
    fn persona_names() {
        assert_eq!(persona_name("agents/security.md").as_deref(), Some("security"));
        assert_eq!(persona_name(" Engineer ").as_deref(), Some("engineer"));
        assert_eq!(persona_name("  "), None);
    }
}
