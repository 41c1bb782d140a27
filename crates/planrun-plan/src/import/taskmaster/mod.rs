//! The task-master importer: `.taskmaster/tasks/tasks.json` (tagged `{"<tag>": {"tasks": [...]}}`
//! or the older untagged `{"tasks": [...]}`), read for the active tag of `.taskmaster/state.json`.
//! Each subtask becomes its own task `P.S`; its parent `P` runs after all of them.

pub(crate) mod status;

use crate::diag::Diagnostic;
use crate::json::{self, JKind, JValue};
use crate::model::{self, Status, Task};
use crate::reader::{Detection, Format, LoadError, Loaded, PlanBuilder, commands};
use crate::source::{Span, TaskSpans};
use std::fmt::Write as _;
use std::path::Path;

/// The tag task-master uses when no other is active.
const DEFAULT_TAG: &str = "master";

/// Task fields that hold nothing planrun uses (timestamps, estimates, bookkeeping).
const IGNORED_FIELDS: [&str; 17] = [
    "createdAt",
    "updatedAt",
    "effort",
    "actualEffort",
    "tags",
    "assignee",
    "databaseId",
    "complexity",
    "recommendedSubtasks",
    "expansionPrompt",
    "complexityReasoning",
    "metadata",
    "skills",
    "category",
    "parentId",
    "parentTaskId",
    "previousStatus",
];

pub(crate) fn detect(path: &Path) -> Detection {
    if path.is_dir() {
        // A repository root, the `.taskmaster` folder, its `tasks` folder, or (before tags
        // existed) a repository root with `tasks/tasks.json`.
        let candidates = [
            path.join(".taskmaster").join("tasks").join("tasks.json"),
            path.join("tasks").join("tasks.json"),
            path.join("tasks.json"),
        ];
        return candidates
            .into_iter()
            .find(|c| c.is_file() && (in_taskmaster_dir(c) || looks_taskmaster(c)))
            .map_or(Detection::No, Detection::Yes);
    }
    if looks_taskmaster(path) { Detection::Yes(path.to_owned()) } else { Detection::No }
}

/// `…/.taskmaster/tasks/<file>`: the file belongs to task-master whatever it holds, so that a
/// broken file is still read (and its errors shown) rather than left undetected.
fn in_taskmaster_dir(path: &Path) -> bool {
    let tasks = path.parent();
    let tm = tasks.and_then(Path::parent);
    tasks.and_then(Path::file_name).is_some_and(|n| n == "tasks")
        && tm.and_then(Path::file_name).is_some_and(|n| n == ".taskmaster")
}

/// The `.taskmaster` folder of a tasks file in its usual place.
fn taskmaster_dir(path: &Path) -> Option<&Path> {
    if in_taskmaster_dir(path) { path.parent().and_then(Path::parent) } else { None }
}

/// A `.json` file with task-master's tagged or untagged shape.
fn looks_taskmaster(path: &Path) -> bool {
    if !path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) {
        return false;
    }
    if in_taskmaster_dir(path) {
        return true;
    }
    let Some(bytes) = crate::reader::peek_bytes(path) else {
        return false;
    };
    // Cheap refusal first: every shape accepted below needs one of these keys, and parsing a
    // large plan of another format just to sniff it is most of the cost of detecting it.
    let text = String::from_utf8_lossy(&bytes);
    if !["testStrategy", "details", "subtasks", "priority", "metadata"].iter().any(|k| text.contains(k)) {
        return false;
    }
    let mut sources = crate::source::Sources::default();
    let id = sources.add(path, String::new());
    let Ok(root) = json::parse(&text, id) else {
        return false;
    };
    if let Some(tasks) = root.get("tasks") {
        return tm_tasks(tasks, false);
    }
    root.get("title").is_none()
        && root
            .members()
            .iter()
            .any(|(_, tag)| tag.get("tasks").is_some_and(|t| tm_tasks(t, tag.get("metadata").is_some())))
}

/// A task-master task list: numeric ids and task-master's own fields, and none of planrun's.
/// An empty list counts only when the tag also carries task-master's `metadata`.
fn tm_tasks(tasks: &JValue, has_metadata: bool) -> bool {
    let items = tasks.items();
    if items.is_empty() {
        return tasks.is_array() && has_metadata;
    }
    let numeric = items.iter().any(|t| t.get("id").is_some_and(|id| matches!(id.kind, JKind::Number(_))));
    let own = items.iter().any(|t| t.get_any(&["testStrategy", "details", "subtasks", "priority"]).is_some());
    let planrun = items.iter().any(|t| t.get_any(&["depends_on", "acceptance", "verify", "files"]).is_some());
    numeric && own && !planrun
}

pub(crate) fn load(path: &Path) -> Result<Loaded, LoadError> {
    let mut b = PlanBuilder::new(Format::Taskmaster, path);
    let src = b.read(path)?;
    let text = b.text(src).to_owned();
    let root = match json::parse(&text, src) {
        Ok(v) => v,
        Err(d) => {
            b.warn(d);
            return Ok(b.finish());
        }
    };
    if !root.is_object() {
        b.warn(
            Diagnostic::error("json-shape", format!("tasks.json must hold an object, found {}", root.kind_name()))
                .at(Some(root.span))
                .help("task-master writes {\"master\": {\"tasks\": [...]}}"),
        );
        return Ok(b.finish());
    }
    let tm_dir = taskmaster_dir(path).map(Path::to_path_buf);
    b.plan.title = project_name(path, tm_dir.as_deref()).unwrap_or_default();
    let (tag, tasks) = match root.get("tasks") {
        Some(tasks) => {
            if let Some(meta) = root.get_any(&["meta", "metadata"]) {
                describe(&mut b, meta, None);
            }
            (None, tasks)
        }
        None => match pick_tag(&mut b, &root, tm_dir.as_deref()) {
            Some((tag, value)) => match value.get("tasks") {
                Some(tasks) => {
                    if let Some(meta) = value.get("metadata") {
                        describe(&mut b, meta, Some(&tag));
                    }
                    (Some(tag), tasks)
                }
                None => {
                    b.warn(
                        Diagnostic::error("json-shape", format!("tag `{tag}` has no `tasks` list"))
                            .at(Some(value.span))
                            .help("a tag is an object such as {\"tasks\": [], \"metadata\": {}}"),
                    );
                    return Ok(b.finish());
                }
            },
            None => return Ok(b.finish()),
        },
    };
    if b.plan.title.trim().is_empty() {
        b.plan.title = match &tag {
            Some(tag) => format!("task-master tasks ({tag})"),
            None => "task-master tasks".to_owned(),
        };
    }
    if !tasks.is_array() {
        b.warn(
            Diagnostic::error(
                "json-shape",
                format!("`tasks` must be an array of task objects, found {}", tasks.kind_name()),
            )
            .at(Some(tasks.span))
            .help("write \"tasks\": [{\"id\": 1, \"title\": \"…\"}]"),
        );
        return Ok(b.finish());
    }
    let mut r = Reader { b: &mut b };
    let top_ids: Vec<String> = tasks
        .items()
        .iter()
        .filter_map(|t| t.get("id").and_then(JValue::as_text))
        .map(|s| s.trim().to_owned())
        .collect();
    for item in tasks.items() {
        r.task(item, &top_ids);
    }
    Ok(b.finish())
}

/// `global.projectName` of `.taskmaster/config.json` (or of the older `.taskmasterconfig`).
fn project_name(path: &Path, tm_dir: Option<&Path>) -> Option<String> {
    let config = match tm_dir {
        Some(dir) => dir.join("config.json"),
        None => path.parent()?.parent()?.join(".taskmasterconfig"),
    };
    let text = crate::reader::peek_text(&config)?;
    let mut sources = crate::source::Sources::default();
    let id = sources.add("config.json", String::new());
    let value = json::parse(&text, id).ok()?;
    let name = value.path(&["global", "projectName"])?.as_str()?;
    let name = model::one_line(name);
    (!name.is_empty()).then_some(name)
}

/// Uses a tag's (or an untagged file's) metadata: its project name as the title when the config
/// gave none, its description as context.
fn describe(b: &mut PlanBuilder, meta: &JValue, tag: Option<&str>) {
    if b.plan.title.trim().is_empty() {
        if let Some(name) = meta.get("projectName").and_then(JValue::as_str) {
            b.plan.title = name.to_owned();
        }
    }
    let mut context = String::new();
    if let Some(tag) = tag {
        let _ = writeln!(context, "task-master tag `{tag}`.");
    }
    if let Some(desc) = meta.get("description").and_then(JValue::as_str) {
        let _ = writeln!(context, "{}", desc.trim());
    }
    b.plan.context = context;
}

/// Chooses the tag to read: `currentTag` of `.taskmaster/state.json`, else `master`, else the
/// only tag there is. The others are named in one warning.
fn pick_tag<'v>(b: &mut PlanBuilder, root: &'v JValue, tm_dir: Option<&Path>) -> Option<(String, &'v JValue)> {
    let tags: Vec<&(String, JValue)> = root.members().iter().filter(|(_, v)| v.is_object()).collect();
    let (wanted, wanted_span) = current_tag(b, tm_dir);
    let chosen = match tags.iter().find(|(k, _)| *k == wanted) {
        Some(t) => Some(*t),
        None => {
            let fallback = tags.iter().find(|(k, _)| k == DEFAULT_TAG).or_else(|| tags.first()).copied();
            if let Some((name, _)) = fallback {
                if wanted_span.is_some() || tags.len() > 1 {
                    b.warn(
                        Diagnostic::warning("unknown-tag", format!("tag `{wanted}` is not in tasks.json; reading tag `{name}` instead"))
                            .at(wanted_span.or(Some(root.span)))
                            .help("switch tags with `task-master use-tag <name>`, or pass the tag's tasks in a file of their own"),
                    );
                }
            }
            fallback
        }
    };
    let Some((name, value)) = chosen else {
        b.warn(
            Diagnostic::error("json-shape", "tasks.json holds no tag with a `tasks` list")
                .at(Some(root.span))
                .help("task-master writes {\"master\": {\"tasks\": [...]}}"),
        );
        return None;
    };
    let others: Vec<&str> = tags.iter().filter(|(k, _)| k != name).map(|(k, _)| k.as_str()).collect();
    if let Some((_, first)) = tags.iter().find(|(k, _)| k != name) {
        b.warn(
            Diagnostic::warning(
                "other-tags",
                format!(
                    "only tag `{name}` is read; tag(s) {} are ignored",
                    others.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", ")
                ),
            )
            .at(Some(first.span))
            .help("switch the active tag with `task-master use-tag <name>` to run another tag's tasks"),
        );
    }
    Some((name.clone(), value))
}

/// The active tag named by `.taskmaster/state.json`, with where it is written; `master` when
/// there is no state file.
fn current_tag(b: &mut PlanBuilder, tm_dir: Option<&Path>) -> (String, Option<Span>) {
    let default = (DEFAULT_TAG.to_owned(), None);
    let Some(state) = tm_dir.map(|d| d.join("state.json")) else {
        return default;
    };
    // An unreadable state file only loses the tag choice, not the plan.
    let Some(bytes) = crate::reader::peek_bytes(&state) else {
        return default;
    };
    let id = b.add_bytes(&state, bytes.to_vec());
    let text = b.text(id).to_owned();
    let value = match json::parse(&text, id) {
        Ok(v) => v,
        Err(d) => {
            b.warn(
                Diagnostic { severity: crate::diag::Severity::Warning, ..d }
                    .help("state.json is unreadable; tag `master` is read"),
            );
            return default;
        }
    };
    match value.get("currentTag") {
        Some(tag) => match tag.as_str().map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) => (t.to_owned(), Some(tag.span)),
            None => default,
        },
        None => default,
    }
}

/// task-master's status words: done and cancelled tasks are not run again.
fn status(word: &str) -> Option<Status> {
    match word.trim().to_ascii_lowercase().replace('_', "-").as_str() {
        "done" | "completed" | "complete" | "cancelled" | "canceled" => Some(Status::Done),
        "pending" | "in-progress" | "review" | "deferred" | "blocked" => Some(Status::Pending),
        other => crate::reader::status_word(other),
    }
}

struct Reader<'b> {
    b: &'b mut PlanBuilder,
}

/// What one task object holds, before it becomes a task.
#[derive(Default)]
struct Fields {
    id: Option<(String, Span)>,
    title: Option<(String, Span)>,
    status: Option<(Status, Span)>,
    deps: Vec<(String, Span)>,
    files: Vec<(String, Span)>,
    acceptance: Vec<(String, Span)>,
    verify: Vec<(String, Span)>,
    description: String,
    description_span: Option<Span>,
    priority: Option<crate::model::Priority>,
}

impl Reader<'_> {
    fn lenient(&mut self) -> json::Lenient<'_> {
        json::Lenient {
            diagnostics: &mut self.b.diagnostics,
            help: "see docs/importers/taskmaster.md for the fields planrun reads",
        }
    }

    fn shape(&mut self, value: &JValue, message: &str) {
        self.lenient().shape(value, message);
    }

    fn text(&mut self, value: &JValue, name: &str) -> Option<String> {
        self.lenient().text(value, name)
    }

    /// Strings of a list (or a single string); other entries are reported.
    fn strings(&mut self, value: &JValue, name: &str) -> Vec<(String, Span)> {
        self.lenient().list(value, name)
    }

    /// Reads the fields of a task or subtask object.
    fn fields(&mut self, value: &JValue, what: &str) -> Fields {
        let mut f = Fields::default();
        let mut description = String::new();
        let mut details = String::new();
        let mut test_strategy = String::new();
        let mut test_span: Option<Span> = None;
        let mut extra = String::new();
        for (key, v) in value.members() {
            match key.as_str() {
                "id" => f.id = self.text(v, "id").map(|t| (t.trim().to_owned(), v.span)),
                "title" => f.title = self.text(v, "title").map(|t| (model::one_line(&t), v.span)),
                "description" => {
                    description = self.text(v, key).unwrap_or_default();
                    f.description_span = Some(v.span);
                }
                "details" => details = self.text(v, key).unwrap_or_default(),
                "testStrategy" | "test_strategy" => {
                    test_strategy = self.text(v, key).unwrap_or_default();
                    test_span = Some(v.span);
                }
                "status" => {
                    let word = self.text(v, "status").unwrap_or_default();
                    match status(&word) {
                        Some(s) => f.status = Some((s, v.span)),
                        None => self.b.warn(
                            Diagnostic::warning("unknown-status", format!("unknown status `{word}`; the {what} is treated as pending"))
                                .at(Some(v.span))
                                .help("task-master's statuses are pending, in-progress, review, deferred, blocked, done and cancelled"),
                        ),
                    }
                }
                "dependencies" => f.deps = self.strings(v, "dependencies"),
                "priority" => {
                    let word = self.text(v, key).unwrap_or_default();
                    f.priority = crate::reader::priority_word(self.b, &word, Some(v.span));
                }
                "acceptanceCriteria" => f.acceptance.extend(
                    self.strings(v, key)
                        .into_iter()
                        .map(|(a, s)| (model::one_line(&a), s))
                        .filter(|(a, _)| !a.is_empty()),
                ),
                "relevantFiles" => self.relevant_files(v, &mut f),
                // Not task-master's own, but hand-extended files add it to tasks and subtasks.
                "files" => {
                    for (path, span) in self.strings(v, key) {
                        let path = path.trim().trim_start_matches("./").to_owned();
                        if !path.is_empty() {
                            f.files.push((path, span));
                        }
                    }
                }
                "implementationApproach" => {
                    if let Some(t) = self.text(v, key) {
                        let _ = write!(extra, "\n## Implementation approach\n\n{}\n", t.trim());
                    }
                }
                "codebasePatterns" | "technicalConstraints" => {
                    let items = self.strings(v, key);
                    if !items.is_empty() {
                        let heading =
                            if key == "codebasePatterns" { "Codebase patterns" } else { "Technical constraints" };
                        let _ = writeln!(extra, "\n## {heading}\n");
                        for (item, _) in items {
                            let _ = writeln!(extra, "- {}", model::one_line(&item));
                        }
                    }
                }
                "scopeBoundaries" => {
                    for (k, label) in [("included", "In scope"), ("excluded", "Out of scope")] {
                        if let Some(t) = v.get(k).and_then(JValue::as_str) {
                            let _ = writeln!(extra, "\n{label}: {}", t.trim());
                        }
                    }
                }
                "existingInfrastructure" => {
                    let _ = writeln!(extra, "\n## Existing infrastructure\n");
                    for item in v.items() {
                        let get = |k: &str| item.get(k).and_then(JValue::as_str).unwrap_or("").trim().to_owned();
                        let _ = writeln!(extra, "- {} ({}): {}", get("name"), get("location"), get("usage"));
                    }
                }
                "subtasks" => {}
                k if IGNORED_FIELDS.contains(&k) => {}
                other => self.b.warn(
                    Diagnostic::warning("unknown-field", format!("unknown {what} field `{other}` is ignored"))
                        .at(Some(v.span))
                        .help("see docs/importers/taskmaster.md for the fields planrun reads"),
                ),
            }
        }
        let mut out = model::block(&description);
        for (heading, body) in [("Details", &details), ("Test strategy", &test_strategy)] {
            let body = model::block(body);
            if !body.is_empty() {
                let _ = write!(out, "\n\n## {heading}\n\n{body}");
            }
        }
        if let Some(span) = test_span {
            let (verify, acceptance) = test_strategy_parts(&test_strategy);
            f.verify.extend(verify.into_iter().map(|c| (c, span)));
            if let Some(a) = acceptance {
                f.acceptance.insert(0, (a, span));
            }
        }
        out.push_str(&extra);
        f.description = model::block(&out);
        f
    }

    /// `relevantFiles: [{"path": …, "action": "create" | "modify" | "reference"}]`; files only
    /// referenced are not files the task may change.
    fn relevant_files(&mut self, value: &JValue, f: &mut Fields) {
        for item in value.items() {
            let (path, span) = match (&item.kind, item.get("path")) {
                (JKind::String(s), _) => (s.clone(), item.span),
                (_, Some(p)) => match p.as_str() {
                    Some(s) => (s.to_owned(), p.span),
                    None => continue,
                },
                _ => continue,
            };
            let action = item.get("action").and_then(JValue::as_str).unwrap_or("");
            let path = path.trim().trim_start_matches("./").to_owned();
            if !action.eq_ignore_ascii_case("reference") && !path.is_empty() {
                f.files.push((path, span));
            }
        }
    }

    /// Reads one top-level task and its subtasks.
    fn task(&mut self, value: &JValue, top_ids: &[String]) {
        if !value.is_object() {
            self.shape(value, "each task must be an object");
            return;
        }
        let f = self.fields(value, "task");
        let id = f.id.as_ref().map(|(i, _)| i.clone()).unwrap_or_default();
        if f.id.is_none() {
            self.b.warn(
                Diagnostic::error("missing-id", "this task has no `id`")
                    .at(Some(value.span))
                    .help("give every task a unique number: \"id\": 7"),
            );
        }
        let (mut task, mut spans) = self.build(f, value.span, id.clone());
        let subtasks = match value.get("subtasks") {
            Some(s) if s.is_array() => s.items(),
            Some(s) if matches!(s.kind, JKind::Null) => &[],
            Some(s) => {
                self.shape(s, "`subtasks` must be an array");
                &[]
            }
            None => &[],
        };
        let sub_numbers: Vec<String> = subtasks
            .iter()
            .filter_map(|s| s.get("id").and_then(JValue::as_text))
            .map(|s| local_number(&id, &s))
            .collect();
        let parent_deps: Vec<(String, Span)> =
            task.depends_on.iter().cloned().zip(spans.depends_on.iter().copied()).collect();
        let parent_done = task.status == Status::Done;
        let mut subs: Vec<(Task, TaskSpans)> = Vec::new();
        for sub in subtasks {
            if let Some(mut s) = self.subtask(sub, &id, &sub_numbers, top_ids, &parent_deps, parent_done) {
                // A subtask without a priority of its own is as urgent as its parent.
                s.0.priority = s.0.priority.or(task.priority);
                subs.push(s);
            }
        }
        if !subs.is_empty() {
            // The parent is done when its subtasks are: it runs after all of them and finishes
            // what they leave (its own details and test strategy).
            let names: Vec<&str> = subs.iter().map(|(t, _)| t.id.as_str()).filter(|i| !i.is_empty()).collect();
            for (sub, sub_spans) in &subs {
                if !sub.id.is_empty() && !task.depends_on.contains(&sub.id) {
                    task.depends_on.push(sub.id.clone());
                    spans.depends_on.push(sub_spans.task.unwrap_or(value.span));
                }
            }
            let note = format!(
                "Subtasks {} run as tasks of their own before this one; this task completes and checks the whole.",
                names.join(", ")
            );
            task.description = model::block(&format!("{}\n\n{note}", task.description));
        }
        self.b.push(task, spans);
        for (sub, sub_spans) in subs {
            self.b.push(sub, sub_spans);
        }
    }

    /// Reads one subtask of task `parent` as task `parent.N`.
    fn subtask(
        &mut self,
        value: &JValue,
        parent: &str,
        siblings: &[String],
        top_ids: &[String],
        parent_deps: &[(String, Span)],
        parent_done: bool,
    ) -> Option<(Task, TaskSpans)> {
        if !value.is_object() {
            self.shape(value, "each subtask must be an object");
            return None;
        }
        let mut f = self.fields(value, "subtask");
        let id = match &f.id {
            Some((n, _)) => format!("{parent}.{}", local_number(parent, n)),
            None => {
                self.b.warn(
                    Diagnostic::error("missing-id", format!("this subtask of task `{parent}` has no `id`"))
                        .at(Some(value.span))
                        .help("number the subtasks of a task 1, 2, 3…"),
                );
                String::new()
            }
        };
        let mut deps: Vec<(String, Span)> = Vec::new();
        let mut sibling_dep = false;
        let own = f.id.as_ref().map(|(n, _)| local_number(parent, n)).unwrap_or_default();
        for (dep, span) in std::mem::take(&mut f.deps) {
            let sibling = siblings.contains(&dep) && dep != own;
            let resolved = if dep.contains('.') {
                dep
            } else if sibling || !top_ids.contains(&dep) {
                // A bare number is a sibling subtask, as task-master writes them.
                format!("{parent}.{dep}")
            } else {
                dep
            };
            if resolved == parent {
                self.b.warn(
                    Diagnostic::warning(
                        "parent-dependency",
                        format!("subtask `{id}` depends on its own parent `{parent}`; that dependency is dropped"),
                    )
                    .at(Some(span))
                    .help("a parent runs after its subtasks in planrun; depend on a sibling subtask instead"),
                );
                continue;
            }
            sibling_dep |= resolved.strip_prefix(parent).is_some_and(|r| r.starts_with('.'));
            if !deps.iter().any(|(d, _)| *d == resolved) {
                deps.push((resolved, span));
            }
        }
        // Subtasks that wait for no sibling wait for what their parent waits for.
        if !sibling_dep {
            for (dep, span) in parent_deps {
                if !deps.iter().any(|(d, _)| d == dep) {
                    deps.push((dep.clone(), *span));
                }
            }
        }
        f.deps = deps;
        let (mut task, spans) = self.build(f, value.span, id);
        if parent_done {
            task.status = Status::Done;
        }
        Some((task, spans))
    }

    fn build(&mut self, f: Fields, span: Span, id: String) -> (Task, TaskSpans) {
        let mut task = Task::new(id, f.title.as_ref().map(|(t, _)| t.clone()).unwrap_or_default());
        let mut spans = TaskSpans::at(span);
        spans.id = f.id.as_ref().map(|(_, s)| *s);
        spans.title = f.title.as_ref().map(|(_, s)| *s);
        task.description = f.description;
        spans.description = f.description_span;
        task.priority = f.priority;
        if let Some((status, span)) = f.status {
            task.status = status;
            spans.status = Some(span);
        }
        for (a, s) in f.acceptance {
            task.acceptance.push(a);
            spans.acceptance.push(s);
        }
        for (v, s) in f.verify {
            if !task.verify.contains(&v) {
                task.verify.push(v);
                spans.verify.push(s);
            }
        }
        for (dep, s) in f.deps {
            if !task.depends_on.contains(&dep) {
                task.depends_on.push(dep);
                spans.depends_on.push(s);
            }
        }
        for (file, s) in f.files {
            if !task.files.contains(&file) {
                task.files.push(file);
                spans.files.push(s);
            }
        }
        (task, spans)
    }
}

/// What a `testStrategy` states: verify commands and an acceptance criterion. A strategy that
/// is one shell command as a whole (`pytest tests/test_api.py`, or that in backticks) is that
/// verify command and nothing else. Otherwise the prose, on one line, is an acceptance
/// criterion, and each backticked command in it (``Run `cargo check` and …``) is also a verify
/// command. What counts as a command is decided by `import/commands.rs`.
fn test_strategy_parts(text: &str) -> (Vec<String>, Option<String>) {
    let line = model::one_line(text);
    if line.is_empty() {
        return (Vec::new(), None);
    }
    let bare = line.trim_matches('`').trim();
    let single_line = text.trim().lines().count() == 1;
    if single_line && !line.trim_matches('`').contains('`') && is_command(bare) && !bare.ends_with('.') {
        return (vec![bare.to_owned()], None);
    }
    let verify = crate::md::code_spans(&line)
        .into_iter()
        .map(|(s, _)| s.trim().to_owned())
        .chain(single_quoted(&line))
        .filter(|s| is_command(s) && !never_exits(s))
        .fold(Vec::new(), |mut out: Vec<String>, s| {
            if !out.contains(&s) {
                out.push(s);
            }
            out
        });
    (verify, Some(line))
}

/// Parts of a line in single quotes (`Run 'npm run build' to …`): a quote opens after a space or
/// the line start and closes before a space, punctuation or the line end, so apostrophes
/// (`user's`) are not quotes.
fn single_quoted(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    let mut at_start = true;
    while let Some(i) = rest.find('\'') {
        let before_ok = (at_start && i == 0) || rest.get(..i).is_some_and(|b| b.ends_with([' ', '(', '"']));
        let after = rest.get(i + 1..).unwrap_or("");
        at_start = false;
        if !before_ok {
            rest = after;
            continue;
        }
        let close = after.char_indices().find(|&(j, c)| {
            c == '\''
                && after
                    .get(j + 1..)
                    .is_none_or(|a| a.is_empty() || a.starts_with([' ', '.', ',', ';', ':', ')', '!', '?']))
        });
        match close {
            Some((j, _)) => {
                out.push(after.get(..j).unwrap_or("").trim().to_owned());
                rest = after.get(j + 1..).unwrap_or("");
            }
            None => break,
        }
    }
    out
}

/// A shell command per `import/commands.rs`, except English that starts like one: `test` on its
/// own, `make sure …`, `test the …`.
fn is_command(s: &str) -> bool {
    const PROSE: [&str; 12] = ["sure", "the", "that", "it", "a", "an", "all", "each", "every", "whether", "if", "this"];
    let mut words = s.split_whitespace();
    let (first, second) = (words.next().unwrap_or(""), words.next());
    // A program named on its own (`curl`, `git`) is a tool mentioned in prose, unless it is one
    // that checks something when run bare (`pytest`, `make`) or a script of the repository.
    const BARE: [&str; 14] = [
        "pytest", "make", "tsc", "jest", "vitest", "mypy", "tox", "nox", "ctest", "phpunit", "rspec", "rake",
        "pyright", "just",
    ];
    if second.is_none() && !BARE.contains(&first) && !first.contains('/') {
        return false;
    }
    if second.is_some_and(|w| PROSE.contains(&w.to_ascii_lowercase().as_str())) {
        return false;
    }
    crate::reader::commands::first_program(s).is_some_and(crate::reader::commands::is_program)
}

/// A dev server named in a strategy never exits, so it is no check.
fn never_exits(cmd: &str) -> bool {
    commands::never_exits(&cmd.split_whitespace().collect::<Vec<_>>())
}

/// A subtask's number within its parent: `2` stays `2`; `"7.2"` under task 7 becomes `2`.
fn local_number(parent: &str, id: &str) -> String {
    let id = id.trim();
    id.strip_prefix(parent).and_then(|r| r.strip_prefix('.')).unwrap_or(id).to_owned()
}

#[cfg(test)]
mod tests;
