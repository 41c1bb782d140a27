//! The cm importer: the approved plan `handoff/plan.json` handed from planning to execution, and
//! the autonomous backlog `cm-tasks.json` (tasks with statuses, logs and retry counters). When a
//! repository holds both, the plan comes from `handoff/plan.json` and done status from the backlog.

mod backlog;
mod keys;
mod plan;
pub(crate) mod status;
mod task;
mod values;

use backlog::*;
use keys::*;
use plan::*;
use task::*;
use values::*;

use crate::diag::Diagnostic;
use crate::json::{self, JKind, JValue};
use crate::model::valid_id;
use crate::model::{self, Status, Task};
use crate::reader::{Detection, Format, LoadError, Loaded, PlanBuilder};
use crate::source::{SourceId, Span, TaskSpans};
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
        && crate::reader::peek_text(path).is_some_and(|t| t.contains("\"rarv_cycles"));
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
    let Some(text) = crate::reader::peek_text(path) else { return false };
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

#[cfg(test)]
mod tests;
