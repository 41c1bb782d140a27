//! The OpenSpec importer: one active change `openspec/changes/<name>/`, whose `tasks.md` holds
//! `## 1. Group` headings and `- [ ] 1.1 Task` checkboxes, with `proposal.md` and `design.md`
//! beside it summarised into the plan's context. Archived changes are never read.

use super::{Detection, Format, LoadError, Loaded, PlanBuilder};
use crate::diag::Diagnostic;
use crate::md::{self, Line};
use crate::model::{self, Status, Task};
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
    super::sorted_entries(changes)
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
    let Some(text) = super::peek_text(path) else { return false };
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

fn read_optional(b: &mut PlanBuilder, path: &Path) -> Option<SourceId> {
    if !path.is_file() {
        return None;
    }
    match b.read(path) {
        Ok(id) => Some(id),
        Err(e) => {
            b.warn(Diagnostic::warning("unreadable-file", format!("{e}; it is left out of the context")));
            None
        }
    }
}

fn humanise(name: &str) -> String {
    let spaced = name.replace(['-', '_'], " ");
    let mut chars = spaced.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// The proposal's first `#` heading, without a leading "Change:".
fn proposal_title(text: &str) -> Option<String> {
    let lines = md::lines(text);
    let (_, t) =
        lines.iter().filter(|l| !l.in_fence).find_map(|l| md::heading(l.text).filter(|(level, _)| *level == 1))?;
    let lower = t.to_lowercase();
    let t = ["change:", "proposal:"]
        .iter()
        .find_map(|p| lower.starts_with(p).then(|| t.get(p.len()..).unwrap_or(t)))
        .unwrap_or(t);
    let t = model::one_line(t);
    (!t.is_empty()).then_some(t)
}

/// The proposal's Why and What Changes sections (or its whole body when it has neither), capped.
fn proposal_excerpt(text: &str, shown: &str) -> String {
    let lines = md::lines(text);
    let mut sections: Vec<(String, Vec<&str>)> = Vec::new();
    let mut body: Vec<&str> = Vec::new();
    let mut current: Option<(usize, usize)> = None; // (index in sections, heading level)
    for l in &lines {
        let heading = if l.in_fence { None } else { md::heading(l.text) };
        if let Some((level, t)) = heading {
            if current.is_some_and(|(_, open)| level > open) {
                if let Some(s) = current.and_then(|(i, _)| sections.get_mut(i)) {
                    s.1.push(l.text);
                }
                continue;
            }
            current = None;
            let name = t.trim_end_matches(':').trim();
            if level > 1 && matches!(name.to_lowercase().as_str(), "why" | "what changes") {
                sections.push((name.to_owned(), Vec::new()));
                current = Some((sections.len() - 1, level));
            }
            if level > 1 {
                body.push(l.text);
            }
            continue;
        }
        match current.and_then(|(i, _)| sections.get_mut(i)) {
            Some(s) => s.1.push(l.text),
            None => body.push(l.text),
        }
    }
    let full = if sections.is_empty() {
        model::block(&body.join("\n"))
    } else {
        sections
            .iter()
            .map(|(name, lines)| format!("{name}:\n{}", model::block(&lines.join("\n"))))
            .collect::<Vec<_>>()
            .join("\n\n")
    };
    cap(&full, shown)
}

/// Cuts `text` at a line boundary before [`PROPOSAL_CAP`] bytes, saying where the rest is.
fn cap(text: &str, shown: &str) -> String {
    if text.len() <= PROPOSAL_CAP {
        return text.to_owned();
    }
    let mut out = String::new();
    for line in text.lines() {
        if out.len() + line.len() + 1 > PROPOSAL_CAP {
            break;
        }
        out.push_str(line);
        out.push('\n');
    }
    format!("{}\n… (cut short; the full proposal is in `{shown}`)", out.trim_end())
}

/// Where the change's documents are, so agents can read them when they need the detail.
fn pointers(change_dir: &Path, shown: &str, has_proposal: bool, design: Option<&str>) -> String {
    let mut out = vec![format!("OpenSpec change: `{shown}`")];
    if has_proposal {
        out.push(format!("- proposal: `{shown}{PROPOSAL}`"));
    }
    if let Some(design) = design {
        let headings: Vec<String> = md::lines(design)
            .iter()
            .filter(|l| !l.in_fence)
            .filter_map(|l| md::heading(l.text).filter(|(level, _)| *level == 2).map(|(_, t)| model::one_line(t)))
            .collect();
        let sections =
            if headings.is_empty() { String::new() } else { format!(" (sections: {})", headings.join(", ")) };
        out.push(format!("- design: `{shown}{DESIGN}`{sections}"));
    }
    let specs = change_dir.join("specs");
    if specs.is_dir() {
        let capabilities: Vec<String> = super::sorted_entries(&specs)
            .iter()
            .filter(|p| p.is_dir())
            .filter_map(|p| p.file_name().and_then(|n| n.to_str()).map(str::to_owned))
            .collect();
        let list = if capabilities.is_empty() { String::new() } else { format!(" ({})", capabilities.join(", ")) };
        out.push(format!("- spec deltas: `{shown}specs/`{list}"));
    }
    out.join("\n")
}

/// One list item of `tasks.md`, as far as the line alone tells.
#[derive(Debug)]
struct TaskLine<'a> {
    /// Leading whitespace width (a tab counts 4).
    indent: usize,
    checkbox: bool,
    /// Ticked; `None` for a mark that is neither blank nor a tick (`[~]`, `[-]`).
    done: Option<bool>,
    mark: &'a str,
    id: Option<String>,
    id_off: usize,
    title: &'a str,
    title_off: usize,
    /// A `## N. Title` heading read as a task (a tasks.md without any task items).
    heading: bool,
}

fn indent_of(line: &str) -> usize {
    line.chars().take_while(|c| c.is_whitespace()).map(|c| if c == '\t' { 4 } else { 1 }).sum()
}

/// `- [ ] 1.1 Title`, `* [x] 1.2. Title`, `- [ ]1.3 Title`, `- [~] Title`, `- 1.4 Title`,
/// `- [ ] **1.5** Title`.
fn task_line(line: &str) -> Option<TaskLine<'_>> {
    let item = md::bullet(line)?;
    let mut text = item;
    let mut checkbox = false;
    let mut done = Some(false);
    let mut mark = "";
    if let Some(rest) = item.strip_prefix('[') {
        if let Some(close) = rest.find(']').filter(|&c| c <= 4) {
            checkbox = true;
            mark = rest.get(..close).unwrap_or("").trim();
            done = match mark {
                "" => Some(false),
                "x" | "X" | "✓" | "✔" | "✅" => Some(true),
                _ => None,
            };
            text = rest.get(close + 1..).unwrap_or("").trim_start();
        }
    }
    let (id, rest) = match number_prefix(text) {
        Some((id, rest)) => (Some(id.to_owned()), rest),
        None => (None, text),
    };
    let id_off =
        id.as_deref().and_then(|i| text.find(i)).and_then(|o| md::offset_in(line, text).map(|t| t + o)).unwrap_or(0);
    let title = rest.trim();
    let title_off = md::offset_in(line, title).unwrap_or(id_off);
    Some(TaskLine { indent: indent_of(line), checkbox, done, mark, id, id_off, title, title_off, heading: false })
}

/// A leading dotted number (`1.1`, `1.1.`, `2.`, `**1.1**`) and the text after it. A bare
/// number without a dot (`3 retries`) is text, not a number. A dotted number may end with one
/// lowercase letter (`1.3a`: a task inserted after `1.3` without renumbering).
fn number_prefix(text: &str) -> Option<(&str, &str)> {
    if let Some(inner) = text.strip_prefix("**") {
        let close = inner.find("**")?;
        let (id, _) = number_prefix(inner.get(..close)?.trim())?;
        return Some((id, inner.get(close + 2..)?.trim_start_matches([':', ')']).trim_start()));
    }
    let mut len = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    // `1.3a`: one lowercase letter right after the digits of a dotted number.
    let head = text.get(..len).unwrap_or("");
    if head.contains('.') && head.ends_with(|c: char| c.is_ascii_digit()) {
        let mut after = text.get(len..).unwrap_or("").chars();
        let letter = after.next().is_some_and(|c| c.is_ascii_lowercase());
        let next = after.next();
        if letter && next.is_none_or(|c| c.is_whitespace() || matches!(c, '.' | ':' | ')')) {
            len += if next == Some('.') { 2 } else { 1 };
        }
    }
    let token = text.get(..len)?;
    let rest = text.get(len..)?;
    let rest = match rest.chars().next() {
        None => rest,
        Some(c) if c.is_whitespace() => rest,
        Some(':' | ')') => rest.get(1..)?,
        Some(_) => return None,
    };
    let id = token.trim_end_matches('.');
    let digits = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit());
    let plain = id.strip_suffix(|c: char| c.is_ascii_lowercase()).unwrap_or(id);
    let numeric = plain.split('.').all(digits);
    (numeric && token.contains('.')).then(|| (id, rest.trim_start()))
}

/// What `parse_tasks` found besides the tasks, for the plan's title and context.
#[derive(Debug, Default)]
struct Parsed {
    h1: Option<String>,
    /// Text outside any task: the preamble and prose under group headings.
    notes: Vec<String>,
}

struct Draft<'a> {
    task: Task,
    spans: TaskSpans,
    line: Line<'a>,
    parsed: TaskLine<'a>,
    body: Vec<Line<'a>>,
    /// The group's number (`2` for `## 2. Backend`, else the group's position) and the item's
    /// position in it, for items written without a number.
    group: Option<String>,
    position: usize,
    overall: usize,
    explicit_deps: bool,
}

#[derive(Debug, Clone, Copy)]
enum Field {
    Files,
    DependsOn,
    Verify,
    Acceptance,
    Persona,
}

fn field_kind(key: &str) -> Option<Field> {
    // `Files (3 new)`, `File (1 modified)`: a count or note in brackets after the key.
    let key = key.split_once(" (").map_or(key, |(k, _)| k);
    match key.trim().to_lowercase().replace(['_', '-'], " ").as_str() {
        "files" | "file" => Some(Field::Files),
        "depends on" | "dependencies" | "deps" | "after" | "requires" => Some(Field::DependsOn),
        "verify" | "verification" | "test" | "tests" | "test command" | "test plan" | "validation" | "run"
        | "command" | "commands" => Some(Field::Verify),
        "acceptance" | "acceptance criteria" | "done when" | "success criteria" | "expected" | "assert" => {
            Some(Field::Acceptance)
        }
        "persona" | "agent type" | "role" => Some(Field::Persona),
        _ => None,
    }
}

fn parse_tasks(b: &mut PlanBuilder, src: SourceId) -> Parsed {
    let text = b.text(src).to_owned();
    let lines = md::lines(&text);
    let mut out = Parsed::default();
    let mut drafts: Vec<Draft<'_>> = Vec::new();
    let mut current: Option<usize> = None;
    let mut group: Option<(String, String)> = None; // (number, heading text)
    let mut ordinal = 0;
    let mut position = 0;
    let mut criteria = false;
    let mut notes: Vec<(Option<String>, Vec<&str>)> = vec![(None, Vec::new())];
    // A tasks.md without a single task item whose numbered headings are the tasks
    // (`## 1. ✅ Title` over `**Files:**` / `**Acceptance:**` parts).
    let heading_tasks = !lines.iter().any(|l| !l.in_fence && task_line(l.text).is_some_and(|p| p.checkbox || p.id.is_some()))
            && lines.iter().any(|l| {
                !l.in_fence && md::heading(l.text).is_some_and(|(lv, t)| lv >= 2 && number_prefix(t).is_some())
            })
            // ...and that state what a task needs (a bare `## 1. Setup` outline holds no task).
            && lines.iter().any(|l| {
                let t = l.text.trim_start().trim_start_matches(['-', '*', ' ']).to_lowercase();
                !l.in_fence
                    && t.split_once(':').is_some_and(|(key, _)| {
                        ["files", "acceptance", "command", "verify", "done when"].iter().any(|k| key.starts_with(k))
                    })
            });
    let mut task_level = usize::MAX;
    // YAML front matter (`---` … `---` at the top) is metadata for the tool that wrote the file.
    let front_matter = match lines.first() {
        Some(first) if first.text.trim_end() == "---" => {
            lines.iter().skip(1).position(|l| l.text.trim_end() == "---").map_or(0, |p| p + 2)
        }
        _ => 0,
    };

    for line in lines.iter().skip(front_matter) {
        if let Some((level, t)) = if line.in_fence { None } else { md::heading(line.text) } {
            // A heading inside a heading task is part of its body.
            if heading_tasks && level > task_level {
                if let Some(d) = current.and_then(|i| drafts.get_mut(i)) {
                    d.body.push(*line);
                    continue;
                }
            }
            current = None;
            task_level = usize::MAX;
            if level == 1 && out.h1.is_none() && group.is_none() && drafts.is_empty() {
                out.h1 = Some(model::one_line(t));
                continue;
            }
            ordinal += 1;
            position = 0;
            // A "Success Criteria" section lists what the whole change must achieve: its
            // checkboxes are notes of the plan, not tasks.
            let name = number_prefix(t).map_or(t, |(_, rest)| rest).trim().trim_end_matches(':').to_lowercase();
            criteria = ["success criteria", "acceptance criteria", "definition of done", "done when", "exit criteria"]
                .contains(&name.as_str());
            let number = number_prefix(t).map_or_else(|| ordinal.to_string(), |(n, _)| n.to_owned());
            if heading_tasks && level >= 2 && !criteria {
                if let Some((id, rest)) = number_prefix(t) {
                    let (done, title) = heading_done(rest);
                    let head_off = md::offset_in(line.text, t).unwrap_or(0);
                    let id_off = head_off + t.find(id).unwrap_or(0);
                    let title_off = md::offset_in(line.text, title).unwrap_or(id_off);
                    let span = Span::new(src, line.start, line.start + line.text.len());
                    let mut spans = TaskSpans::at(span);
                    spans.id = Some(Span::new(src, line.start + id_off, line.start + id_off + id.len()));
                    spans.title = Some(Span::new(src, line.start + title_off, line.start + title_off + title.len()));
                    let parsed = TaskLine {
                        indent: 0,
                        checkbox: false,
                        done: Some(done),
                        mark: "",
                        id: Some(id.to_owned()),
                        id_off,
                        title,
                        title_off,
                        heading: true,
                    };
                    let overall = drafts.len() + 1;
                    drafts.push(Draft {
                        task: Task::new(id, model::one_line(title)),
                        spans,
                        line: *line,
                        parsed,
                        body: Vec::new(),
                        group: None,
                        position: 0,
                        overall,
                        explicit_deps: false,
                    });
                    current = Some(drafts.len() - 1);
                    task_level = level;
                    group = None;
                    continue;
                }
            }
            group = Some((number, model::one_line(t)));
            notes.push((Some(model::one_line(t)), Vec::new()));
            continue;
        }
        if !line.in_fence && !heading_tasks {
            if let Some(parsed) = task_line(line.text) {
                let top = current.and_then(|i| drafts.get(i)).is_none_or(|d| parsed.indent < d.parsed.indent + 2);
                // `- [ ] _Requirements: 1.1, 2.3_` traces the task above to the spec; it is not a task.
                let trace = parsed.id.is_none()
                    && parsed.title.trim_start_matches(['_', '*']).to_lowercase().starts_with("requirement")
                    && current.is_some();
                if top && !criteria && !trace && (parsed.checkbox || parsed.id.is_some()) {
                    position += 1;
                    let overall = drafts.len() + 1;
                    let span = Span::new(src, line.start, line.start + line.text.len());
                    let mut spans = TaskSpans::at(span);
                    if let Some(id) = &parsed.id {
                        spans.id =
                            Some(Span::new(src, line.start + parsed.id_off, line.start + parsed.id_off + id.len()));
                    }
                    spans.title = Some(Span::new(
                        src,
                        line.start + parsed.title_off,
                        line.start + parsed.title_off + parsed.title.len(),
                    ));
                    let mut task = Task::new(parsed.id.clone().unwrap_or_default(), model::one_line(parsed.title));
                    task.milestone = group.as_ref().map(|(_, name)| name.clone());
                    drafts.push(Draft {
                        task,
                        spans,
                        line: *line,
                        parsed,
                        body: Vec::new(),
                        group: group.as_ref().map(|(n, _)| n.clone()),
                        position,
                        overall,
                        explicit_deps: false,
                    });
                    current = Some(drafts.len() - 1);
                    continue;
                }
            }
        }
        match current.and_then(|i| drafts.get_mut(i)) {
            Some(d) => d.body.push(*line),
            None => {
                if let Some((_, body)) = notes.last_mut() {
                    body.push(line.text);
                }
            }
        }
    }

    for (heading, body) in notes {
        let text = model::block(&body.join("\n"));
        if text.is_empty() {
            continue;
        }
        out.notes.push(match heading {
            Some(h) => format!("{h}:\n{text}"),
            None => text,
        });
    }

    let mut taken: HashSet<String> = drafts.iter().filter_map(|d| d.parsed.id.clone()).collect();
    let mut previous: Option<String> = None;
    for mut d in drafts {
        finish_body(b, src, &mut d);
        if d.parsed.id.is_none() {
            let (prefix, start) = match &d.group {
                Some(g) => (format!("{g}."), d.position),
                None => ("task-".to_owned(), d.overall),
            };
            let mut k = start;
            while taken.contains(&format!("{prefix}{k}")) {
                k += 1;
            }
            d.task.id = format!("{prefix}{k}");
            taken.insert(d.task.id.clone());
        }
        check_item(b, src, &mut d);
        if !d.explicit_deps {
            // OpenSpec has no dependencies between tasks: they are done in the order written.
            d.task.depends_on = previous.iter().cloned().collect();
        }
        previous = Some(d.task.id.clone());
        b.push(d.task, d.spans);
    }
    out
}

/// The path of a files entry that has a note after it (`` `a.json` — `field` updated. ``,
/// `` `a.ts` (modified) ``): the first code span when the value starts with it and a dash, a
/// bracket or a colon follows it.
fn noted_path(value: &str) -> Option<&str> {
    let t = value.trim_start();
    if !t.starts_with('`') {
        return None;
    }
    let &(path, at) = md::code_spans(t).first()?;
    let after = t.get(at + path.len()..)?.trim_start_matches('`').trim_start();
    (after.starts_with(['—', '–', '-', '(', ':'])).then_some(path)
}

/// A heading task's title without its done mark (`✅ Title`, `Title ✅`, `[x] Title`, `Title (done)`).
fn heading_done(title: &str) -> (bool, &str) {
    let (done, rest) = md::strip_done_mark(title);
    let t = rest.trim_end();
    for mark in ["✅", "✔️", "✔", "(done)", "(DONE)", "— done", "- done"] {
        if let Some(r) = t.strip_suffix(mark) {
            return (true, r.trim_end());
        }
    }
    (done, t)
}

/// Reads an item's indented lines: `Files:`, `Depends on:`, `Verify:`, `Acceptance:` and
/// `Persona:` lines are fields (a field with nothing after its colon takes the more indented
/// list under it); everything else (sub-bullets, nested checkboxes, code) is the description,
/// dedented. Lines that name files, dependencies or commands planrun cannot read are warnings.
fn finish_body(b: &mut PlanBuilder, src: SourceId, d: &mut Draft<'_>) {
    let mut description: Vec<&str> = Vec::new();
    let mut desc_span: Option<(usize, usize)> = None;
    // The field whose list is being read, the indentation of its line, and whether that line is
    // a paragraph label (`**Files (3 new):**`) whose list may sit at its own indentation.
    let mut list: Option<(Field, usize, bool)> = None;
    let body = std::mem::take(&mut d.body);
    for line in &body {
        if let Some((field, indent, paragraph)) = list {
            let blank = line.text.trim().is_empty();
            // `**Command:**` over a fenced block: each command line of the block is a verify command.
            if line.in_fence && matches!(field, Field::Verify) {
                let c = line.text.trim().trim_start_matches("$ ");
                if md::fence_of(line.text).is_none() && !c.is_empty() && !c.starts_with('#') {
                    if is_command(c) {
                        let off = md::offset_in(line.text, c).unwrap_or(0);
                        d.spans.verify.push(Span::new(src, line.start + off, line.start + off + c.len()));
                        d.task.verify.push(c.to_owned());
                    } else {
                        description.push(line.text);
                    }
                }
                continue;
            }
            let nested = indent_of(line.text) > indent || (paragraph && md::bullet(line.text).is_some());
            if !blank && !line.in_fence && nested {
                let item = md::checkbox(line.text)
                    .map(|(_, t)| t)
                    .or_else(|| md::bullet(line.text))
                    .unwrap_or_else(|| line.text.trim());
                // An item may be a field of its own (`Run: `npm test``, `Assert: …`).
                let (kind, value) = md::field(item)
                    .and_then(|(k, v, _)| field_kind(k).map(|f| (f, v)))
                    .filter(|(f, _)| matches!((field, f), (Field::Verify, Field::Verify | Field::Acceptance)))
                    .unwrap_or((field, item));
                // `- `path` — `field` updated.`: the path is the entry, the note after it is not.
                let value = match kind {
                    Field::Files => noted_path(value).unwrap_or(value),
                    _ => value,
                };
                let off = md::offset_in(line.text, value).unwrap_or(0);
                read_field(b, src, d, kind, value, line.start + off);
                continue;
            }
            if !blank {
                list = None;
            }
        }
        let field = if line.in_fence { None } else { md::field(line.text) };
        let Some((kind, value, off)) = field.and_then(|(k, v, o)| field_kind(k).map(|f| (f, v, o))) else {
            description.push(line.text);
            if !line.text.trim().is_empty() {
                let end = line.start + line.text.len();
                desc_span = Some(desc_span.map_or((line.start, end), |(s, _)| (s, end)));
            }
            continue;
        };
        list = Some((kind, indent_of(line.text), value.trim().is_empty() && md::bullet(line.text).is_none()));
        if value.trim().is_empty() {
            if matches!(kind, Field::DependsOn) {
                d.explicit_deps = true;
            }
            continue;
        }
        read_field(b, src, d, kind, value, line.start + off);
    }
    d.body = body;
    d.task.description = model::block(&dedent(&description));
    d.spans.description = desc_span.map(|(s, e)| Span::new(src, s, e));
}

/// A shell command: its first word is a program planrun knows (or `openspec`, the change's own
/// validator).
fn is_command(text: &str) -> bool {
    super::commands::first_program(text).is_some_and(|p| p == "openspec" || super::commands::is_program(p))
}

/// Looks like a command even if its program is not one planrun knows: two or more words, the
/// first a plain lower-case name.
fn looks_like_command(text: &str) -> bool {
    let mut words = text.split_whitespace();
    let first = words.next().unwrap_or("");
    words.next().is_some()
        && !first.is_empty()
        && first.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
}

/// Whether a list value means "nothing".
fn is_none(value: &str) -> bool {
    let v = value.trim().trim_matches(['*', '_', '`', '.']).trim().to_lowercase();
    v.is_empty() || ["none", "-", "—", "n/a", "na", "nothing"].contains(&v.as_str()) || v.starts_with("none ")
}

/// Reads one field value (or one item of a field's list) starting at byte `start` of the file.
fn read_field(b: &mut PlanBuilder, src: SourceId, d: &mut Draft<'_>, kind: Field, value: &str, start: usize) {
    let whole = Span::new(src, start, start + value.len());
    match kind {
        Field::Files => {
            if is_none(value) {
                return;
            }
            for (item, o) in md::split_list(value) {
                let span = Span::new(src, start + o, start + o + item.len());
                if item.contains(char::is_whitespace) || item.is_empty() {
                    b.warn(
                        Diagnostic::warning(
                            "unread-file",
                            format!("files entry `{item}` of task `{}` is not a path", d.task.id),
                        )
                        .at(Some(span))
                        .help("write each file as a path in backticks: `- Files: `src/a.ts`, `src/b.ts``"),
                    );
                    continue;
                }
                d.spans.files.push(span);
                d.task.files.push(item);
            }
        }
        Field::DependsOn => {
            d.explicit_deps = true;
            if is_none(value) {
                return;
            }
            for (item, o) in md::split_list(value) {
                let span = Span::new(src, start + o, start + o + item.len());
                let id = item.trim_start_matches('#').trim_start_matches("Task ").trim_start_matches("task ").trim();
                if id.is_empty() || id.contains(char::is_whitespace) {
                    b.warn(
                        Diagnostic::warning(
                            "unread-dependency",
                            format!("dependency `{item}` of task `{}` is not a task number", d.task.id),
                        )
                        .at(Some(span))
                        .help("name the tasks by number: `- Depends on: 1.2, 2.1`"),
                    );
                    continue;
                }
                d.spans.depends_on.push(span);
                d.task.depends_on.push(id.to_owned());
            }
        }
        Field::Verify => {
            if is_none(value) {
                return;
            }
            let spans = md::code_spans(value);
            let mut any = false;
            for (c, o) in &spans {
                let c = c.trim();
                if !c.is_empty() && is_command(c) {
                    any = true;
                    d.spans.verify.push(Span::new(src, start + o, start + o + c.len()));
                    d.task.verify.push(c.to_owned());
                }
            }
            if !any {
                if let Some((c, o)) = spans.iter().find(|(c, _)| looks_like_command(c)) {
                    b.warn(
                        Diagnostic::warning(
                            "unread-verify",
                            format!(
                                "`{c}` looks like a command, but planrun does not know the program `{}`; the line is kept as an acceptance criterion",
                                c.split_whitespace().next().unwrap_or("")
                            ),
                        )
                        .at(Some(Span::new(src, start + o, start + o + c.len())))
                        .help("write a command planrun knows (`npm test`, `cargo test`, `./scripts/check.sh` …) to have it run"),
                    );
                }
                let text = model::one_line(value);
                if !text.is_empty() {
                    d.task.acceptance.push(text);
                    d.spans.acceptance.push(whole);
                }
            }
        }
        Field::Acceptance => {
            let text = model::one_line(value);
            if !text.is_empty() {
                d.task.acceptance.push(text);
                d.spans.acceptance.push(whole);
            }
        }
        Field::Persona => {
            let persona = model::one_line(value.trim_matches('`')).to_lowercase();
            d.task.persona = (!persona.is_empty()).then_some(persona);
        }
    }
}

/// Removes the indentation every non-blank line shares.
fn dedent(lines: &[&str]) -> String {
    let common =
        lines.iter().filter(|l| !l.trim().is_empty()).map(|l| l.len() - l.trim_start().len()).min().unwrap_or(0);
    lines.iter().map(|l| l.get(common..).unwrap_or_else(|| l.trim_start())).collect::<Vec<_>>().join("\n")
}

/// Status, and the problems an item can have on its own line.
fn check_item(b: &mut PlanBuilder, src: SourceId, d: &mut Draft<'_>) {
    let line_span = d.spans.task;
    if d.parsed.checkbox {
        let item = md::bullet(d.line.text).filter(|i| i.starts_with('['));
        if let (Some(item), Some(close)) = (item, item.and_then(|i| i.find(']'))) {
            if let Some(o) = md::offset_in(d.line.text, item) {
                d.spans.status = Some(Span::new(src, d.line.start + o, d.line.start + o + close + 1));
            }
        }
    }
    match d.parsed.done {
        Some(true) => d.task.status = Status::Done,
        Some(false) => {}
        None => {
            let at = md::offset_in(d.line.text, d.parsed.mark)
                .map_or(line_span, |o| Some(Span::new(src, d.line.start + o, d.line.start + o + d.parsed.mark.len())));
            b.warn(
                Diagnostic::warning(
                    "unknown-mark",
                    format!(
                        "checkbox mark `[{}]` of task `{}` is neither blank nor ticked; the task is pending",
                        d.parsed.mark, d.task.id
                    ),
                )
                .at(at)
                .help("write `- [ ]` for open tasks and `- [x]` for done ones"),
            );
        }
    }
    if d.parsed.heading && d.task.status == Status::Done {
        d.spans.status = line_span;
    }
    if !d.parsed.checkbox && !d.parsed.heading {
        b.warn(
            Diagnostic::warning(
                "no-checkbox",
                format!("task `{}` has no checkbox; it is read as an open task", d.task.id),
            )
            .at(line_span)
            .help(format!("write it as `- [ ] {} …` so that OpenSpec tracks it too", d.task.id)),
        );
    }
    if d.task.title.is_empty() {
        b.warn(
            Diagnostic::error("missing-title", format!("task `{}` has no text", d.task.id))
                .at(d.spans.id.or(line_span))
                .help("say what the task does after its number, e.g. `- [ ] 1.2 Add the model`"),
        );
        if let Some(first) = d.task.description.lines().map(str::trim).find(|l| !l.is_empty()) {
            d.task.title = model::one_line(md::bullet(first).unwrap_or(first));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(number_prefix("1.1 Add x"), Some(("1.1", "Add x")));
        assert_eq!(number_prefix("1.1. Add x"), Some(("1.1", "Add x")));
        assert_eq!(number_prefix("2. Backend"), Some(("2", "Backend")));
        assert_eq!(number_prefix("**1.2** Bold"), Some(("1.2", "Bold")));
        assert_eq!(number_prefix("3.4"), Some(("3.4", "")));
        assert_eq!(number_prefix("3 retries"), None);
        assert_eq!(number_prefix("1.a thing"), None);
        assert_eq!(number_prefix("T001 spec-kit"), None);
        assert_eq!(number_prefix(".5 x"), None);
        assert_eq!(number_prefix("1.3a Generate"), Some(("1.3a", "Generate")));
        assert_eq!(number_prefix("2.10b. Later"), Some(("2.10b", "Later")));
        assert_eq!(number_prefix("1.3ab x"), None);
        assert_eq!(number_prefix("3a x"), None);
    }

    #[test]
    fn items() {
        let t = task_line("- [ ]1.3 Migrate").map(|t| (t.checkbox, t.done, t.id, t.title));
        assert_eq!(t, Some((true, Some(false), Some("1.3".to_owned()), "Migrate")));
        let t = task_line("* [~] 2.2 Conflicts").map(|t| (t.done, t.mark));
        assert_eq!(t, Some((None, "~")));
        let t = task_line("- 1.4 No box").map(|t| (t.checkbox, t.id));
        assert_eq!(t, Some((false, Some("1.4".to_owned()))));
        let line = "  - [x] 1.2 Title";
        let t = task_line(line).map(|t| (t.indent, &line[t.id_off..t.id_off + 3], &line[t.title_off..]));
        assert_eq!(t, Some((2, "1.2", "Title")));
    }

    #[test]
    fn titles() {
        assert_eq!(proposal_title("# Change: Add 2FA\n").as_deref(), Some("Add 2FA"));
        assert_eq!(proposal_title("## Why\n"), None);
        assert_eq!(humanise("offline-sync_queue"), "Offline sync queue");
    }
}
