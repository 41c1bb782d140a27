//! The spec-kit importer: `specs/<feature>/tasks.md` with `## Phase N: …` sections of
//! `- [ ] T012 [P] [US1] Create model in src/models/x.py` items. Consecutive `[P]` items form one
//! parallel group, every group waits for the group before it, and a "Dependencies" section adds
//! the explicit orders it states (best effort). Paths named in an item become its files.

mod items;
mod orders;
mod paths;
mod refs;
mod targets;

use items::*;
use orders::*;
use paths::*;
use refs::*;
use targets::*;

use crate::diag::Diagnostic;
use crate::md::{self, Line};
use crate::model::{self, Status, Task};
use crate::reader::{Detection, Format, LoadError, Loaded, PlanBuilder};
use crate::source::{SourceId, Span, TaskSpans};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Design documents spec-kit writes next to `tasks.md`, named in the plan's context.
const DESIGN_DOCS: [&str; 6] = ["spec.md", "plan.md", "research.md", "data-model.md", "quickstart.md", "contracts"];

pub(crate) fn detect(path: &Path) -> Detection {
    if !path.is_dir() {
        return if looks_speckit(path) { Detection::Yes(path.to_owned()) } else { Detection::No };
    }
    // A feature folder (or a repository holding a single tasks.md at its root).
    let own = path.join("tasks.md");
    if own.is_file() && looks_speckit(&own) {
        return Detection::Yes(own);
    }
    // A repository root with `specs/<feature>/tasks.md`, or the `specs` folder itself.
    let specs = if path.file_name().is_some_and(|n| n == "specs") { path.to_owned() } else { path.join("specs") };
    let mut found: Vec<PathBuf> = crate::reader::sorted_entries(&specs)
        .into_iter()
        .filter(|d| d.is_dir())
        .map(|d| d.join("tasks.md"))
        .filter(|t| t.is_file() && looks_speckit(t))
        .collect();
    match found.len() {
        0 => Detection::No,
        1 => found.pop().map_or(Detection::No, Detection::Yes),
        _ => Detection::Ambiguous(found),
    }
}

/// A markdown text with at least one `- [ ] T001 …` item or `### T001 …` heading.
fn looks_speckit(path: &Path) -> bool {
    if crate::reader::is_json(path) {
        return false;
    }
    let Some(bytes) = crate::reader::peek_bytes(path) else {
        return false;
    };
    let text = String::from_utf8_lossy(&bytes);
    // Every spec-kit item is a checkbox or a heading followed by its id (`- [ ] T001`, `### T001`,
    // `[T001]`): a cheap refusal first, for a text where no `T` after those is followed by a digit
    // (planrun's own `## Task t1:` headings among them).
    let id_after = |marker: &str| {
        text.match_indices(marker).any(|(at, m)| text.as_bytes().get(at + m.len()).is_some_and(u8::is_ascii_digit))
    };
    if !id_after("] T") && !id_after("# T") && !id_after("[T") {
        return false;
    }
    md::lines(&text).iter().filter(|l| !l.in_fence).any(|l| {
        md::checkbox(l.text).is_some_and(|(_, t)| parse_item(t).is_some())
            || md::heading(l.text).is_some_and(|(level, t)| level >= 2 && heading_item(t).is_some())
    })
}

pub(crate) fn load(path: &Path) -> Result<Loaded, LoadError> {
    let mut b = PlanBuilder::new(Format::Speckit, path);
    let src = b.read(path)?;
    parse_into(&mut b, src);
    if let Some(note) = design_docs(path) {
        b.plan.context =
            if b.plan.context.trim().is_empty() { note } else { format!("{}\n\n{note}", b.plan.context.trim_end()) };
    }
    Ok(b.finish())
}

/// Names the design documents next to `tasks.md`, relative to the repository root when the file
/// sits in `specs/<feature>/`.
fn design_docs(path: &Path) -> Option<String> {
    let dir = path.parent()?;
    let prefix = match (dir.file_name(), dir.parent().and_then(Path::file_name)) {
        (Some(feature), Some(specs)) if specs == "specs" => {
            format!("specs/{}/", feature.to_string_lossy())
        }
        _ => String::new(),
    };
    let docs: Vec<String> = DESIGN_DOCS
        .iter()
        .filter(|d| dir.join(d).exists())
        .map(|d| format!("`{prefix}{d}{}`", if dir.join(d).is_dir() { "/" } else { "" }))
        .collect();
    (!docs.is_empty()).then(|| format!("Design documents of this feature: {}.", docs.join(", ")))
}

/// Notes of the phase being read, repeated in each of its tasks.
#[derive(Default)]
struct Phase {
    name: Option<String>,
    /// A `Phase N` or `User Story` section, where even an item without an id is a task.
    is_phase: bool,
    notes: Vec<String>,
    section: Option<String>,
    /// Index (in the plan) of the phase's last task, for its checkpoint.
    last_task: Option<usize>,
}

/// A task whose continuation lines are still being read.
struct Open<'a> {
    index: usize,
    lines: Vec<Line<'a>>,
    header: String,
    /// A `### T001 …` heading task: every line up to the next heading is its body.
    heading: bool,
    /// How many of the task's dependencies come from the list's order (before its own text's).
    implicit_deps: usize,
}

#[derive(Default)]
struct Groups {
    previous: Vec<String>,
    current: Vec<String>,
    /// Whether the current group is a run of `[P]` items that the next `[P]` item may join.
    parallel: bool,
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Mode {
    Header,
    Tasks,
    Dependencies,
    /// A "Parallel …" section: only its lines that order tasks are read.
    Parallel,
    Other,
}

fn parse_into(b: &mut PlanBuilder, src: SourceId) {
    let text = b.text(src).to_owned();
    let lines = md::lines(&text);
    let mut context: Vec<String> = Vec::new();
    let mut section: Vec<&str> = Vec::new();
    let mut section_has_tasks = false;
    let mut mode = Mode::Header;
    let mut phase = Phase::default();
    let mut groups = Groups::default();
    let mut open: Option<Open> = None;
    let mut orders: Vec<Order> = Vec::new();
    let mut names = Names::default();
    let mut title_seen = false;
    // Under a `**Checkpoint**:` / `**完了基準**:` field without a value: its list of criteria.
    let mut criteria = false;
    // Each task's dependencies taken from the list's order, for `in parallel with` notes.
    let mut implicit: HashMap<String, Vec<String>> = HashMap::new();
    // YAML front matter (`---` … `---` at the top) is metadata for the tool that wrote the file.
    let front_matter = match lines.first() {
        Some(first) if first.text.trim_end() == "---" => {
            lines.iter().skip(1).position(|l| l.text.trim_end() == "---").map_or(0, |p| p + 2)
        }
        _ => 0,
    };

    for line in lines.iter().skip(front_matter) {
        let heading = if line.in_fence { None } else { md::heading(line.text) };
        if let Some((level, t)) = heading {
            criteria = false;
            close(b, src, open.take());
            // `### T001: Title` (or `## T001 …`): a task written as a heading.
            if level >= 2 && matches!(mode, Mode::Tasks | Mode::Header) && heading_item(t).is_some() {
                // A heading that repeats the id of a task already listed (`### T001: …` in a
                // details section after the list) explains that task: not a new one.
                let known = heading_item(t)
                    .and_then(|(_, text)| parse_item(text))
                    .is_some_and(|i| b.plan.tasks.iter().any(|k| k.id == i.id));
                if known && mode == Mode::Tasks && !section_has_tasks {
                    mode = Mode::Other;
                    continue;
                }
                if mode == Mode::Header {
                    mode = Mode::Tasks;
                }
                section_has_tasks = true;
                let (done, text) = heading_item(t).unwrap_or((false, t));
                let mut o = read_task(b, src, line, done, text, &mut phase, &mut groups);
                note_implicit(b, &o, &mut implicit);
                o.heading = true;
                open = Some(o);
                continue;
            }
            groups.parallel = false;
            if level == 1 && !title_seen {
                title_seen = true;
                let t = t.trim();
                let stripped =
                    t.get(..6).filter(|p| p.eq_ignore_ascii_case("tasks:")).and_then(|_| t.get(6..)).unwrap_or(t);
                b.plan.title = stripped.trim().to_owned();
                continue;
            }
            if level <= 2 {
                end_section(&mut context, &mut section, section_has_tasks);
                section_has_tasks = false;
                let lower = t.to_ascii_lowercase();
                mode = if is_dependencies_heading(&lower) {
                    Mode::Dependencies
                } else if lower.starts_with("parallel") {
                    // "Parallel Execution Examples", "Parallel Opportunities": notes whose
                    // orders (`T007, T008 can be done in parallel after T006`) are read.
                    Mode::Parallel
                } else if [
                    "parallel example",
                    "table of contents",
                    "implementation strategy",
                    "task summary",
                    "progress",
                ]
                .iter()
                .any(|p| lower.starts_with(p))
                    || lower.starts_with("us") && lower.contains("task") && lower.contains('↔')
                {
                    Mode::Other
                } else {
                    Mode::Tasks
                };
                let is_phase = lower.contains("phase") || lower.contains("user story");
                if matches!(mode, Mode::Dependencies | Mode::Parallel) {
                    names.phases = phase_infos(&b.plan.tasks);
                }
                phase = Phase { name: Some(model::one_line(t)), is_phase, ..Phase::default() };
                if mode == Mode::Tasks {
                    section.push(line.text);
                }
                continue;
            }
            phase.section = Some(model::one_line(t));
            if mode == Mode::Tasks {
                section.push(line.text);
            }
            continue;
        }
        match mode {
            // A list without any section (`- [ ] T1 \`lattice.py\`: …` right under the title):
            // its first item starts the tasks.
            Mode::Header
                if !line.in_fence
                    && md::checkbox(line.text)
                        .and_then(|(_, t)| parse_item(t))
                        .is_some_and(|i| !i.title.is_empty()) =>
            {
                mode = Mode::Tasks;
            }
            Mode::Header => {
                if !line.text.trim().is_empty() || !context.is_empty() {
                    context.push(line.text.to_owned());
                }
                continue;
            }
            Mode::Other => continue,
            Mode::Parallel => {
                let lower = format!(" {} ", line.text.to_lowercase());
                if !line.in_fence && AFTER_WORDS.iter().any(|w| lower.contains(w)) {
                    orders.extend(order_of(src, line, &mut names).unwrap_or_default());
                }
                continue;
            }
            Mode::Dependencies => {
                // A task item in a section taken for Dependencies: the section holds tasks.
                let new_task = !line.in_fence
                    && md::checkbox(line.text).and_then(|(_, t)| parse_item(t)).is_some_and(|i| {
                        !i.title.is_empty()
                            && !b.plan.tasks.iter().any(|k| k.id == i.id)
                            && !has_order_word(&format!(" {} ", i.title.to_lowercase()))
                    });
                if new_task {
                    mode = Mode::Tasks;
                } else if !line.in_fence {
                    match order_of(src, line, &mut names) {
                        Some(o) => orders.extend(o),
                        None => warn_unread_order(b, src, line),
                    }
                    continue;
                } else {
                    continue;
                }
            }
            Mode::Tasks => {}
        }
        let in_heading_task = open.as_ref().is_some_and(|o| o.heading);
        if criteria && open.is_none() && !line.in_fence {
            // The list under a checkpoint field: each bullet (or id-less checkbox) a criterion.
            let entry = match md::checkbox(line.text) {
                Some((_, t)) => Some(t).filter(|t| parse_item(t).is_none()),
                None => md::bullet(line.text),
            };
            match entry {
                Some(t) if !t.is_empty() => {
                    push_criterion(b, src, line, t, phase.last_task);
                    section.push(line.text);
                    continue;
                }
                _ if line.text.trim().is_empty() => {}
                _ => criteria = false,
            }
        }
        if !line.in_fence {
            // A checkbox item; under a heading task only one with its own id is a new task. A
            // plain bullet starting with an id (`- T001 Create …`) is a task too.
            let item = md::checkbox(line.text)
                .filter(|(_, t)| {
                    let known = |id: &str| b.plan.tasks.iter().any(|k| k.id == id);
                    if in_heading_task {
                        // Under a heading task, a checkbox naming a known task is a criterion.
                        parse_item(t).is_some_and(|i| !known(i.id))
                    } else {
                        phase.is_phase || parse_item(t).is_some()
                    }
                })
                .or_else(|| {
                    md::bullet(line.text)
                        .filter(|t| phase.is_phase && !t.starts_with('[') && !line.text.starts_with([' ', '\t']))
                        .filter(|t| parse_item(t).is_some_and(|i| !b.plan.tasks.iter().any(|k| k.id == i.id)))
                        .filter(|t| parse_item(t).is_some_and(|i| !i.title.is_empty()))
                        .map(|t| (false, t))
                });
            if let Some((done, item_text)) = item {
                close(b, src, open.take());
                section_has_tasks = true;
                let o = read_task(b, src, line, done, item_text, &mut phase, &mut groups);
                note_implicit(b, &o, &mut implicit);
                open = Some(o);
                continue;
            }
        }
        // Indented lines (and fenced blocks) under an item belong to it; every line under a
        // heading task does.
        if let Some(o) = open.as_mut() {
            let indented = line.text.starts_with([' ', '\t']) || line.in_fence || o.heading;
            if indented || (line.text.trim().is_empty() && !o.lines.is_empty()) {
                o.lines.push(*line);
                continue;
            }
            if line.text.trim().is_empty() {
                continue;
            }
            close(b, src, open.take());
        }
        section.push(line.text);
        if line.in_fence {
            continue;
        }
        if let Some((key, value, _)) = md::field(line.text) {
            let k = key.to_ascii_lowercase();
            if is_checkpoint_key(key) {
                if value.trim().is_empty() {
                    criteria = true;
                } else {
                    push_criterion(b, src, line, value, phase.last_task);
                }
            } else if is_dependencies_key(key) && !value.trim().is_empty() {
                // The phase's own dependencies (`**依存関係**: Phase 1完了後`): its first tasks
                // wait for what the value names.
                if let Some(n) = phase.name.as_deref().and_then(phase_number) {
                    let base = md::offset_in(line.text, value).unwrap_or(0);
                    let lower = value.to_lowercase();
                    let prerequisites: Vec<Ref> =
                        refs_of(src, line, value, base).into_iter().filter(|r| !(r.phase && r.first == n)).collect();
                    let parallel = PARALLEL_WORDS.iter().any(|w| lower.contains(w));
                    if !prerequisites.is_empty() && !parallel && lower.len() == value.len() {
                        let span = Span::new(src, line.start, line.start + line.text.len());
                        let me = Ref { first: n.to_owned(), last: None, span, phase: true, milestone: None };
                        orders.push(Order {
                            dependents: vec![me],
                            prerequisites,
                            paired: false,
                            parallel: false,
                            only: false,
                        });
                    }
                }
            } else if ["purpose", "goal", "independent test"].contains(&k.as_str()) {
                phase.notes.push(format!("{key}: {}", model::one_line(value)));
            }
        }
    }
    close(b, src, open.take());
    end_section(&mut context, &mut section, section_has_tasks);
    b.plan.context = collapse_blank_lines(&context);
    apply_orders(b, orders, &implicit);
    // `All paths are absolute under \`/home/me/app/\``: that folder is the repository root.
    if let Some(abs) = stated_absolute_root(&text) {
        for t in &mut b.plan.tasks {
            for f in &mut t.files {
                if let Some(rest) = f.strip_prefix(abs.as_str()).filter(|r| !r.is_empty()) {
                    *f = rest.to_owned();
                }
            }
        }
    }
    // `Paths are relative to \`Lift/\``: folders written without that root are under it.
    if let Some(root) = stated_root(&text) {
        for t in &mut b.plan.tasks {
            for f in &mut t.files {
                if !f.starts_with("**/") && !f.starts_with(root.as_str()) && !f.starts_with('.') {
                    *f = format!("{root}{f}");
                }
            }
        }
    }
}

/// The folder a plan says its paths are relative to (`- Paths are relative to \`Lift/\` (the
/// Xcode project root)`): a backticked relative folder right after "paths are relative to".
fn stated_root(text: &str) -> Option<String> {
    for line in md::lines(text) {
        if line.in_fence {
            continue;
        }
        let lower = line.text.to_ascii_lowercase();
        let Some(p) = lower.find("paths are relative to `") else { continue };
        let rest = line.text.get(p + "paths are relative to `".len()..)?;
        let folder = rest.split('`').next()?;
        let ok = folder.ends_with('/')
            && folder.len() > 1
            && !folder.starts_with(['/', '~', '.'])
            && folder.chars().all(|c| c.is_ascii_alphanumeric() || "/_-".contains(c));
        return ok.then(|| folder.to_owned());
    }
    None
}

/// The absolute folder a plan says its paths are written under (`All paths are absolute under
/// \`/home/me/app/\``), without its leading `/`: that folder is the repository root.
fn stated_absolute_root(text: &str) -> Option<String> {
    for line in md::lines(text) {
        if line.in_fence {
            continue;
        }
        let lower = line.text.to_ascii_lowercase();
        let Some(p) = lower.find("absolute") else { continue };
        if !lower.contains("path") {
            continue;
        }
        let rest = line.text.get(p..)?;
        let folder = rest.split('`').nth(1)?;
        let ok = folder.starts_with('/') && folder.ends_with('/') && folder.len() > 2 && !folder.contains(' ');
        if ok {
            return Some(folder.trim_start_matches('/').to_owned());
        }
    }
    None
}

/// Records the dependencies a task took from the list's order.
fn note_implicit(b: &PlanBuilder, o: &Open<'_>, implicit: &mut HashMap<String, Vec<String>>) {
    if let Some(t) = b.plan.tasks.get(o.index) {
        if !t.id.is_empty() {
            implicit.insert(t.id.clone(), t.depends_on.iter().take(o.implicit_deps).cloned().collect());
        }
    }
}

/// A checkpoint or completion criterion of a phase, on its last task.
fn push_criterion(b: &mut PlanBuilder, src: SourceId, line: &Line<'_>, text: &str, last: Option<usize>) {
    let Some(i) = last else { return };
    let o = md::offset_in(line.text, text).unwrap_or(0);
    let span = Span::new(src, line.start + o, line.start + o + text.len());
    if let Some(task) = b.plan.tasks.get_mut(i) {
        task.acceptance.push(model::one_line(text));
        if let Some(spans) = b.task_spans.get_mut(i) {
            spans.acceptance.push(span);
        }
    }
}

/// A phase's checkpoint or completion criteria (`**Checkpoint**:`, `**チェックポイント**:`,
/// `**完了基準**:`): acceptance of the phase's last task.
fn is_checkpoint_key(key: &str) -> bool {
    let k = key.trim().to_lowercase();
    k.starts_with("checkpoint")
        || [
            "completion criteria",
            "exit criteria",
            "punto de control",
            "ponto de controle",
            "チェックポイント",
            "完了基準",
            "完了条件",
            "検証ポイント",
            "检查点",
            "验收标准",
            "完成标准",
        ]
        .contains(&k.as_str())
}

/// A phase's `**Dependencies**:` line (`**依存関係**: Phase 1完了後`).
fn is_dependencies_key(key: &str) -> bool {
    let k = key.trim().to_lowercase();
    ["dependencies", "dependency", "depends on", "依存関係", "依存", "依赖", "依赖关系", "前提"].contains(&k.as_str())
}

/// A heading that names a Dependencies section ("Dependencies", "Dependencies & Execution
/// Order", "Task Dependencies", "User Story Dependencies"), not one that merely holds the word
/// ("Phase 2: Install core dependencies").
fn is_dependencies_heading(lower: &str) -> bool {
    const WORDS: [&str; 33] = [
        "parallelization",
        "parallelism",
        "within",
        "sequence",
        "diagram",
        "notes",
        "dependencies",
        "dependency",
        "execution",
        "order",
        "task",
        "tasks",
        "phase",
        "story",
        "stories",
        "user",
        "cross",
        "inter",
        "and",
        "graph",
        "map",
        "chain",
        "parallel",
        "opportunities",
        "critical",
        "path",
        "overview",
        "summary",
        "of",
        "the",
        "between",
        "completion",
        "flow",
    ];
    let words: Vec<&str> = lower.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).collect();
    let names = words.iter().any(|w| w.starts_with("dependenc")) || lower.contains("execution order");
    // Japanese and Chinese: `依存関係と実行順序`, `依赖关系`.
    let cjk =
        ["依存関係", "実行順序", "依赖关系", "执行顺序", "依赖与"].iter().any(|w| lower.trim_start().starts_with(w));
    cjk || names && words.iter().all(|w| WORDS.contains(w))
}

/// Joins context lines, keeping at most one blank line in a row.
fn collapse_blank_lines(lines: &[String]) -> String {
    let mut out: Vec<&str> = Vec::new();
    for l in lines {
        if l.trim().is_empty() && out.last().is_none_or(|p| p.trim().is_empty()) {
            continue;
        }
        out.push(l);
    }
    out.join("\n")
}

/// A section without tasks (notes, path conventions) is plan-wide context.
fn end_section(context: &mut Vec<String>, section: &mut Vec<&str>, had_tasks: bool) {
    if !had_tasks && section.iter().any(|l| !l.trim().is_empty() && !l.trim().starts_with('#') && l.trim() != "---") {
        context.push(String::new());
        context.extend(section.iter().map(|l| (*l).to_owned()));
    }
    section.clear();
}

#[cfg(test)]
mod tests;
