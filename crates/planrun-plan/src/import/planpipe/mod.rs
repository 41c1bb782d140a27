//! The planpipe importer: a stage-5 `execution-backlog.md` (with `stage-5-handoff.md` beside it),
//! a `subtasks/` folder of `st-N.md` files with `dependency-graph.md`, or a raw markdown task
//! list; a stage-6 `execution-status.md` from an earlier run carries over `done` subtasks.
//!
//! ```text
//! .planpipe/<id>/stage-5/execution-backlog.md     ### ST-1: Title / **Wave:** 1 / #### Change Area …
//! .planpipe/<id>/stage-5/stage-5-handoff.md       plan title and context
//! .planpipe/<id>/stage-5/subtasks/st-1.md …       one subtask per file, plus dependency-graph.md
//! .planpipe/<id>/stage-6/execution-status.md      | ID | Title | Status | … |
//! ```

mod backlog;
mod body;
mod execution_status;
mod raw;
pub(crate) mod status;
mod subtasks;

use backlog::*;
use body::*;
use execution_status::*;
use raw::*;
use subtasks::*;

use crate::diag::Diagnostic;
use crate::md::{self, Line};
use crate::model::{self, Status, Task};
use crate::reader::{Detection, Format, LoadError, Loaded, PlanBuilder, sorted_entries};
use crate::source::{SourceId, Span, TaskSpans};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

const BACKLOG: &str = "execution-backlog.md";
const HANDOFF: &str = "stage-5-handoff.md";
const STATUS: &str = "execution-status.md";
const GRAPH: &str = "dependency-graph.md";
const SUBTASKS: &str = "subtasks";

/// Files of a stage folder that are pipeline artifacts, never a raw task list.
const ARTIFACTS: [&str; 16] = [
    BACKLOG,
    HANDOFF,
    STATUS,
    GRAPH,
    "execution-summary.md",
    "implementation-design.md",
    "change-map.md",
    "system-analysis.md",
    "constraints-risks-analysis.md",
    "design-decisions.md",
    "agreed-task-model.md",
    "coverage-matrix.md",
    "decomposition-review-package.md",
    "task-completion-log.md",
    "README.md",
    "readme.md",
];

// ---------------------------------------------------------------------------------------------
// Detection

pub(crate) fn detect(path: &Path) -> Detection {
    if path.is_file() {
        return detect_file(path);
    }
    if !path.is_dir() {
        return Detection::No;
    }
    if has_plan(path) {
        return Detection::Yes(path.to_owned());
    }
    let name = file_name(path);
    // A stage-6 folder points back at the stage-5 plan it tracks.
    if name.starts_with("stage-") {
        if let Some(parent) = path.parent() {
            let stage5 = parent.join("stage-5");
            if stage5.is_dir() && has_plan(&stage5) {
                return Detection::Yes(stage5);
            }
        }
        return if in_planpipe(path) && raw_list_in(path).is_some() {
            Detection::Yes(path.to_owned())
        } else {
            Detection::No
        };
    }
    if in_planpipe(path) {
        // `.planpipe/<id>`: its stage-5 plan.
        return match plan_of_id(path) {
            Some(p) => Detection::Yes(p),
            None => Detection::No,
        };
    }
    let dot = if name == ".planpipe" { path.to_owned() } else { path.join(".planpipe") };
    if !dot.is_dir() {
        return Detection::No;
    }
    let plans: Vec<PathBuf> =
        sorted_entries(&dot).into_iter().filter(|p| p.is_dir()).filter_map(|p| plan_of_id(&p)).collect();
    match plans.len() {
        0 => Detection::No,
        1 => plans.into_iter().next().map_or(Detection::No, Detection::Yes),
        _ => Detection::Ambiguous(plans),
    }
}

fn detect_file(path: &Path) -> Detection {
    let name = file_name(path);
    let parent = path.parent().map(Path::to_path_buf).unwrap_or_default();
    match name.as_str() {
        BACKLOG => {
            if read(path).is_some_and(|t| has_subtask_heading(&t)) {
                Detection::Yes(path.to_owned())
            } else {
                Detection::No
            }
        }
        HANDOFF | GRAPH if has_plan(&parent) => Detection::Yes(parent),
        STATUS => {
            let stage5 = parent.parent().map(|p| p.join("stage-5")).unwrap_or_default();
            if stage5.is_dir() && has_plan(&stage5) { Detection::Yes(stage5) } else { Detection::No }
        }
        _ if file_name(&parent) == SUBTASKS && is_st_file(path) => {
            let stage = parent.parent().map(Path::to_path_buf).unwrap_or_default();
            if has_plan(&stage) { Detection::Yes(stage) } else { Detection::No }
        }
        _ => Detection::No,
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

fn read(path: &Path) -> Option<String> {
    crate::reader::peek_bytes(path).map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// Whether `dir/..` is a `.planpipe/<id>` folder or `dir` is one.
fn in_planpipe(dir: &Path) -> bool {
    let parent_is = |p: Option<&Path>| p.is_some_and(|p| file_name(p) == ".planpipe");
    parent_is(dir.parent()) || parent_is(dir.parent().and_then(Path::parent))
}

/// The plan of `.planpipe/<id>`: its stage-5 folder, or the id folder itself.
fn plan_of_id(id_dir: &Path) -> Option<PathBuf> {
    let stage5 = id_dir.join("stage-5");
    if stage5.is_dir() && (has_plan(&stage5) || raw_list_in(&stage5).is_some()) {
        return Some(stage5);
    }
    has_plan(id_dir).then(|| id_dir.to_owned())
}

/// A folder holding a backlog with subtasks or a `subtasks/` folder of `st-N.md` files.
fn has_plan(dir: &Path) -> bool {
    let backlog = dir.join(BACKLOG);
    (backlog.is_file() && read(&backlog).is_some_and(|t| has_subtask_heading(&t))) || !st_files(dir).is_empty()
}

fn is_st_file(path: &Path) -> bool {
    let name = file_name(path).to_ascii_lowercase();
    name.ends_with(".md") && (name.starts_with("st-") || name.starts_with("st_") || name.starts_with("subtask"))
}

/// The markdown files of `dir/subtasks`, in natural order.
fn st_files(dir: &Path) -> Vec<PathBuf> {
    let sub = dir.join(SUBTASKS);
    if !sub.is_dir() {
        return Vec::new();
    }
    sorted_entries(&sub)
        .into_iter()
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e.eq_ignore_ascii_case("md")))
        .filter(|p| !ARTIFACTS.contains(&file_name(p).as_str()))
        .collect()
}

/// The one markdown file of a stage folder that is not a pipeline artifact, if it lists tasks.
fn raw_list_in(dir: &Path) -> Option<PathBuf> {
    let candidates: Vec<PathBuf> = sorted_entries(dir)
        .into_iter()
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e.eq_ignore_ascii_case("md")))
        .filter(|p| !ARTIFACTS.contains(&file_name(p).as_str()) && !file_name(p).ends_with("-handoff.md"))
        .collect();
    match candidates.as_slice() {
        [one]
            if read(one).is_some_and(|t| md::lines(&t).iter().any(|l| !l.in_fence && md::bullet(l.text).is_some())) =>
        {
            Some(one.clone())
        }
        _ => None,
    }
}

fn has_subtask_heading(text: &str) -> bool {
    md::lines(text).iter().any(|l| {
        !l.in_fence && md::heading(l.text).is_some_and(|(level, t)| level >= 2 && subtask_heading(t).is_some())
    })
}

// ---------------------------------------------------------------------------------------------
// Loading

pub(crate) fn load(path: &Path) -> Result<Loaded, LoadError> {
    let mut b = PlanBuilder::new(Format::Planpipe, path);
    let (dir, backlog_file) = if path.is_dir() {
        (path.to_owned(), None)
    } else {
        (path.parent().map(Path::to_path_buf).unwrap_or_default(), Some(path.to_owned()))
    };
    let mut ctx = Ctx::default();

    // The handoff gives the plan its title and context whichever input holds the subtasks.
    let handoff = dir.join(HANDOFF);
    if handoff.is_file() {
        let id = b.read(&handoff)?;
        read_handoff(&mut b, id);
    }

    match backlog_file {
        Some(file) => {
            let id = b.read(&file)?;
            if file_name(&file) == BACKLOG || has_subtask_heading(b.text(id)) {
                read_backlog(&mut b, id, &mut ctx, true);
            } else if is_st_file(&file) {
                read_st_file(&mut b, id, &file, &mut ctx);
                finish_deps(&mut b, &ctx, false);
            } else {
                read_raw(&mut b, id);
            }
        }
        None => {
            let files = st_files(&dir);
            let backlog = dir.join(BACKLOG);
            if !files.is_empty() {
                if backlog.is_file() {
                    let id = b.read(&backlog)?;
                    read_backlog(&mut b, id, &mut ctx, false);
                }
                for file in &files {
                    let id = b.read(file)?;
                    read_st_file(&mut b, id, file, &mut ctx);
                }
                let graph = dir.join(GRAPH);
                let from_graph = if graph.is_file() {
                    let id = b.read(&graph)?;
                    ctx.graph = parse_graph(b.text(id), id, 0);
                    true
                } else {
                    false
                };
                finish_deps(&mut b, &ctx, from_graph);
            } else if backlog.is_file() {
                let id = b.read(&backlog)?;
                read_backlog(&mut b, id, &mut ctx, true);
            } else if let Some(raw) = raw_list_in(&dir) {
                let id = b.read(&raw)?;
                read_raw(&mut b, id);
            } else {
                return Err(LoadError::WrongFormat {
                    path: path.to_owned(),
                    format: Format::Planpipe,
                    reason: format!("no {BACKLOG}, {SUBTASKS}/ folder or task list was found there"),
                });
            }
        }
    }

    if b.plan.title.trim().is_empty() {
        b.plan.title = default_title(&dir);
    }
    if b.plan.context.trim().is_empty() {
        b.plan.context = ctx.context_fallback.join("\n\n");
    }

    // A previous stage-6 run records which subtasks are done.
    let status = [dir.join(STATUS), dir.parent().map(|p| p.join("stage-6").join(STATUS)).unwrap_or_default()]
        .into_iter()
        .find(|p| p.is_file());
    if let Some(status) = status {
        let id = b.read(&status)?;
        apply_status(&mut b, id);
    }
    Ok(b.finish())
}

/// The `.planpipe/<id>` name, or the folder's name.
fn default_title(dir: &Path) -> String {
    let id_dir = if file_name(dir).starts_with("stage-") { dir.parent().unwrap_or(dir) } else { dir };
    let name = file_name(id_dir);
    if name.is_empty() { "planpipe plan".to_owned() } else { name }
}

/// What the plan-level files said, gathered before the tasks are final.
#[derive(Debug, Default)]
struct Ctx {
    context_fallback: Vec<String>,
    /// Wave number -> its name from an "Execution Waves" section.
    wave_names: HashMap<String, String>,
    /// Subtask id -> wave number, from wave tables.
    wave_of: HashMap<String, String>,
    /// Edges from a dependency graph: (dependent, prerequisite, span of the prerequisite).
    graph: Vec<(String, String, Span)>,
    /// Index of each task whose own text declared its dependencies.
    declared: HashSet<usize>,
}

fn line_span(src: SourceId, line: &Line<'_>) -> Span {
    Span::new(src, line.start, line.start + line.text.len())
}

fn heading_is_generic(title: &str) -> bool {
    let t = title.to_ascii_lowercase();
    t.is_empty()
        || t.contains("handoff")
        || t.contains("backlog")
        || t.starts_with("stage ")
        || t == "tasks"
        || t == "subtasks"
}

/// `> Task: …` lines at the top of backlog and handoff files.
fn quote_field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let rest = line.trim_start().strip_prefix('>')?;
    let (k, v, _) = md::field(rest)?;
    k.eq_ignore_ascii_case(key).then_some(v).filter(|v| !v.is_empty())
}

fn read_handoff(b: &mut PlanBuilder, src: SourceId) {
    let text = b.text(src).to_owned();
    let lines = md::lines(&text);
    let mut h1: Option<String> = None;
    let mut quote_task: Option<String> = None;
    let mut sections: Vec<String> = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in &lines {
        let heading = if line.in_fence { None } else { md::heading(line.text) };
        if let Some((level, t)) = heading {
            if level == 1 && h1.is_none() {
                h1 = Some(t.to_owned());
                continue;
            }
            if level == 2 {
                if let Some(body) = current.take() {
                    sections.push(model::block(&body.join("\n")));
                }
                let lower = t.to_ascii_lowercase();
                let wanted =
                    ["summary", "overview", "approach", "strategy", "acceptance", "constraint", "goal", "context"];
                if wanted.iter().any(|w| lower.contains(w)) && !lower.contains("subtask") {
                    current = Some(vec![line.text]);
                }
                continue;
            }
        }
        if let Some(v) = quote_field(line.text, "Task") {
            quote_task.get_or_insert_with(|| v.to_owned());
        }
        if let Some(body) = current.as_mut() {
            body.push(line.text);
        }
    }
    if let Some(body) = current.take() {
        sections.push(model::block(&body.join("\n")));
    }
    let title = quote_task.or(h1.filter(|t| !heading_is_generic(t)));
    if let Some(t) = title {
        b.plan.title = t;
    }
    b.plan.context = sections.into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join("\n\n");
}

// ---------------------------------------------------------------------------------------------
// Subtask ids and headings

/// `None`, `-`, `n/a`, `No dependencies …`: an entry that says there is nothing.
fn says_none(text: &str) -> bool {
    let t = text.trim().trim_matches(['`', '*', '_', '(', ')']).trim();
    if t.is_empty() || t.chars().all(|c| matches!(c, '-' | '—' | '–' | '/')) {
        return true;
    }
    let first = t.split(|c: char| !c.is_alphanumeric() && c != '/').find(|w| !w.is_empty()).unwrap_or("");
    matches!(first.to_ascii_lowercase().as_str(), "none" | "nothing" | "n/a" | "na" | "no")
}

fn is_rule(text: &str) -> bool {
    let t: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    t.len() >= 3 && (t.chars().all(|c| c == '-') || t.chars().all(|c| c == '*') || t.chars().all(|c| c == '_'))
}

fn is_soft(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    ["soft", "optional", "non-blocking", "nice to have"].iter().any(|w| t.contains(w))
}

/// Builds a task from its heading and body; the caller pushes it.
fn task_from(id: String, title: String, done: bool, body: &Body, ctx: &Ctx) -> Task {
    let mut task = Task::new(id, model::one_line(&title));
    // Horizontal rules separate subtasks in a backlog; they are not part of one.
    let mut desc: Vec<&str> = body.description.iter().map(String::as_str).collect();
    while desc.last().is_some_and(|l| l.trim().is_empty() || is_rule(l)) {
        desc.pop();
    }
    task.description = model::block(&desc.join("\n"));
    task.acceptance = body.acceptance.iter().filter(|a| !a.is_empty()).cloned().collect();
    task.verify = body.verify.clone();
    task.priority = body.priority;
    task.files = body.files.iter().map(|(f, _)| f.clone()).collect();
    let wave = body.wave.clone().or_else(|| ctx.wave_of.get(&task.id).cloned());
    task.milestone = wave.map(|w| ctx.wave_names.get(&w).cloned().unwrap_or_else(|| format!("Wave {w}")));
    if done || body.done {
        task.status = Status::Done;
    }
    task
}

fn push_task(b: &mut PlanBuilder, ctx: &mut Ctx, mut task: Task, mut spans: TaskSpans, body: &Body) {
    for w in &body.warnings {
        b.warn(w.clone());
    }
    for (dep, span) in &body.deps {
        if *dep != task.id && !task.depends_on.contains(dep) {
            task.depends_on.push(dep.clone());
            spans.depends_on.push(*span);
        }
    }
    spans.files = body.files.iter().map(|(_, s)| *s).collect();
    spans.acceptance =
        body.acceptance.iter().zip(&body.acceptance_spans).filter(|(a, _)| !a.is_empty()).map(|(_, s)| *s).collect();
    spans.verify = body.verify_spans.clone();
    if body.deps_declared {
        ctx.declared.insert(b.plan.tasks.len());
    }
    b.push(task, spans);
}

// ---------------------------------------------------------------------------------------------
// Format A: execution-backlog.md

/// Drops a leading `1.`/`1)`/`Task 1:` numbering from a heading title.
fn strip_number(text: &str) -> &str {
    let t = text.trim();
    let t = t.strip_prefix("Task").map_or(t, str::trim_start);
    let digits = t.chars().take_while(char::is_ascii_digit).count();
    match t.get(digits..) {
        Some(rest) if digits > 0 && rest.starts_with(['.', ')', ':']) => rest.get(1..).unwrap_or("").trim(),
        _ => t,
    }
}

/// Nested lines of a list item, with their common indentation removed so that nested lists
/// and labels read as top-level ones.
fn dedent<'a>(lines: &[Line<'a>]) -> Vec<Line<'a>> {
    let indent = lines
        .iter()
        .filter(|l| !l.text.trim().is_empty())
        .map(|l| l.text.len() - l.text.trim_start().len())
        .min()
        .unwrap_or(0);
    lines
        .iter()
        .map(|l| {
            let cut = (l.text.len() - l.text.trim_start().len()).min(indent);
            Line { start: l.start + cut, text: l.text.get(cut..).unwrap_or(""), in_fence: l.in_fence }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// execution-status.md and final checks

#[cfg(test)]
mod tests;
