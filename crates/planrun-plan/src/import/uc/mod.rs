//! Task-folder plans: `documentation/plans/<plan>/tasks/task-N/task.md`, one brief per task
//! (description, **Files:**, **Research:** pointers, success criteria, dependencies), with an
//! optional plan README (title and task index) and checkpoint files recording finished tasks.
//!
//! Done status is read leniently from whatever a real folder shows: a `Status: done` line or a
//! ✅ title in `task.md`, a ✅ or `[x]` on the task's README index entry, or the task listed as
//! completed in a checkpoint file or `plan.json`. An `impl.md` alone is not enough (it is written
//! before review and test pass); such tasks stay pending with a warning.

mod checkpoints;
mod readme;
pub(crate) mod status;
mod task;

use checkpoints::*;
use readme::*;
use task::*;

use crate::diag::Diagnostic;
use crate::json::{self, JKind, JValue};
use crate::md::{self, Line};
use crate::model::{self, Status, Task};
use crate::reader::{Detection, Format, LoadError, Loaded, PlanBuilder, natural_cmp, sorted_entries};
use crate::source::{SourceId, Span, TaskSpans};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Detection and loading look at no more entries than this in one folder.
const MAX_ENTRIES: usize = 500;
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
    let Some(text) = crate::reader::peek_text(path) else {
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
    if let Some(dir) = path.parent() {
        // The implementer's plan goes beside task.md (`plan.md`), as uc keeps it.
        b.plan_files.insert(task.id.clone(), dir.join("plan.md"));
    }
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
