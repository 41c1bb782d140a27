//! The OpenSpec importer: one active change `openspec/changes/<name>/`, whose `tasks.md` holds
//! `## 1. Group` headings and `- [ ] 1.1 Task` checkboxes, with `proposal.md` and `design.md`
//! beside it summarised into the plan's context. Archived changes are never read.

mod context;
mod tasks;

use context::*;
use tasks::*;

use crate::diag::Diagnostic;
use crate::md::{self, Line};
use crate::model::{self, Status, Task};
use crate::reader::{Detection, Format, LoadError, Loaded, PlanBuilder};
use crate::source::{SourceId, Span, TaskSpans};
use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

const TASKS: &str = "tasks.md";
const PROPOSAL: &str = "proposal.md";
const DESIGN: &str = "design.md";
const ARCHIVE: &str = "archive";
/// How much of the proposal goes into the context; the rest is a pointer to the file.
const PROPOSAL_CAP: usize = 1500;
/// `tasks.md` titles that name the file, not the change.
const GENERIC_TITLES: &[&str] = &["tasks", "task list", "implementation", "implementation tasks", "todo", "checklist"];

pub(crate) fn detect(path: &Path) -> Detection {
    if path.is_dir() {
        if let Some(changes) = changes_dir(path) {
            let mut active = active_changes(&changes);
            return match active.len() {
                0 => Detection::No,
                1 => active.pop().map_or(Detection::No, Detection::Yes),
                _ => Detection::Ambiguous(active),
            };
        }
        return if is_change_dir(path) { Detection::Yes(path.to_owned()) } else { Detection::No };
    }
    match name_of(path) {
        TASKS if in_changes_folder(path) || looks_openspec(path) => Detection::Yes(path.to_owned()),
        PROPOSAL | DESIGN => match path.parent() {
            Some(dir) if is_change_dir(dir) => Detection::Yes(dir.to_owned()),
            _ => Detection::No,
        },
        _ => Detection::No,
    }
}

pub(crate) fn load(path: &Path) -> Result<Loaded, LoadError> {
    let (tasks_file, change_dir) = if path.is_dir() {
        (path.join(TASKS), path.to_owned())
    } else {
        (path.to_owned(), path.parent().map_or_else(PathBuf::new, Path::to_owned))
    };
    let mut b = PlanBuilder::new(Format::Openspec, path);
    let src = b.read(&tasks_file)?;
    let proposal = read_optional(&mut b, &change_dir.join(PROPOSAL));
    let design = read_optional(&mut b, &change_dir.join(DESIGN));
    let parsed = parse_tasks(&mut b, src);
    let shown = shown_dir(&change_dir);

    let proposal_text = proposal.map(|id| b.text(id).to_owned());
    let design_text = design.map(|id| b.text(id).to_owned());
    b.plan.title = proposal_text
        .as_deref()
        .and_then(proposal_title)
        .or(parsed.h1.filter(|t| !GENERIC_TITLES.contains(&t.trim_end_matches(':').to_lowercase().as_str())))
        .or_else(|| change_dir.file_name().and_then(|n| n.to_str()).map(humanise))
        .unwrap_or_else(|| "OpenSpec change".to_owned());

    let mut context: Vec<String> = Vec::new();
    if let Some(text) = &proposal_text {
        let excerpt = proposal_excerpt(text, &format!("{shown}{PROPOSAL}"));
        if !excerpt.is_empty() {
            context.push(excerpt);
        }
    }
    context.extend(parsed.notes);
    context.push(pointers(&change_dir, &shown, proposal_text.is_some(), design_text.as_deref()));
    b.plan.context = context.join("\n\n");
    Ok(b.finish())
}

fn name_of(path: &Path) -> &str {
    path.file_name().and_then(|n| n.to_str()).unwrap_or("")
}

/// The real path, so that `.` and relative paths still show their folder names.
fn real(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned())
}

/// The `changes` folder for a repository root, its `openspec` folder, or the folder itself.
fn changes_dir(dir: &Path) -> Option<PathBuf> {
    let nested = dir.join("openspec").join("changes");
    if nested.is_dir() {
        return Some(nested);
    }
    let real = real(dir);
    if name_of(&real) == "openspec" && dir.join("changes").is_dir() {
        return Some(dir.join("changes"));
    }
    let parent_is_openspec = real.parent().is_some_and(|p| name_of(p) == "openspec");
    (name_of(&real) == "changes" && parent_is_openspec).then(|| dir.to_owned())
}

/// Active changes: folders of `changes/` holding a `tasks.md`, except the archive. A change that
/// is only proposed (no `tasks.md` yet) has nothing to run.
fn active_changes(changes: &Path) -> Vec<PathBuf> {
    crate::reader::sorted_entries(changes)
        .into_iter()
        .filter(|p| p.is_dir() && name_of(p) != ARCHIVE && !name_of(p).starts_with('.') && p.join(TASKS).is_file())
        .collect()
}

fn is_change_dir(dir: &Path) -> bool {
    let tasks = dir.join(TASKS);
    tasks.is_file() && (in_changes_folder(&tasks) || looks_openspec(&tasks))
}

/// `…/openspec/changes/<name>/tasks.md` (not under the archive).
fn in_changes_folder(tasks: &Path) -> bool {
    let real = real(tasks);
    let mut up = real.ancestors().skip(2);
    let changes = up.next();
    let openspec = up.next();
    changes.is_some_and(|c| name_of(c) == "changes") && openspec.is_some_and(|o| name_of(o) == "openspec")
}

/// A `tasks.md` anywhere: `## 1. Group` headings with `- [ ] 1.1 Task` items, and no other
/// format's task headings (`### Task 3:`, `### Step 2:`). spec-kit's `T001` ids do not match.
fn looks_openspec(path: &Path) -> bool {
    let Some(text) = crate::reader::peek_text(path) else { return false };
    let lines = md::lines(&text);
    let mut group = false;
    let mut item = false;
    for l in lines.iter().filter(|l| !l.in_fence) {
        if let Some((level, t)) = md::heading(l.text) {
            let first = t.split_whitespace().next().unwrap_or("");
            if matches!(first.to_ascii_lowercase().as_str(), "task" | "step") {
                return false;
            }
            group |= level == 2 && number_prefix(t).is_some();
        } else if let Some(parsed) = task_line(l.text) {
            item |= parsed.checkbox && parsed.id.as_deref().is_some_and(|id| id.contains('.'));
        }
    }
    group && item
}

/// The folder as written in the context: from the repository's `openspec/` down, else its name.
fn shown_dir(change_dir: &Path) -> String {
    let real = real(change_dir);
    let parts: Vec<String> = real
        .components()
        .filter_map(|c| if let Component::Normal(s) = c { s.to_str().map(str::to_owned) } else { None })
        .collect();
    let from = parts.iter().rposition(|p| p == "openspec").or_else(|| parts.len().checked_sub(1)).unwrap_or(0);
    let shown: Vec<&str> = parts.iter().skip(from).map(String::as_str).collect();
    if shown.is_empty() { String::new() } else { format!("{}/", shown.join("/")) }
}

#[cfg(test)]
mod tests;
