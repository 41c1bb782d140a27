//! The spec-kit importer: `specs/<feature>/tasks.md` with `## Phase N: …` sections of
//! `- [ ] T012 [P] [US1] Create model in src/models/x.py` items. Consecutive `[P]` items form one
//! parallel group, every group waits for the group before it, and a "Dependencies" section adds
//! the explicit orders it states (best effort). Paths named in an item become its files.

use super::{Detection, Format, LoadError, Loaded, PlanBuilder};
use crate::diag::Diagnostic;
use crate::md::{self, Line};
use crate::model::{self, Status, Task};
use crate::source::{SourceId, Span, TaskSpans};
use std::path::{Path, PathBuf};

/// Design documents spec-kit writes next to `tasks.md`, named in the plan's context.
const DESIGN_DOCS: [&str; 6] = ["spec.md", "plan.md", "research.md", "data-model.md", "quickstart.md", "contracts"];

/// File extensions that make a bare word (`user.py`) a file name.
const EXTENSIONS: [&str; 64] = [
    "py", "rs", "ts", "tsx", "js", "jsx", "mjs", "cjs", "go", "java", "kt", "kts", "swift", "rb", "php", "cs", "c",
    "h", "cc", "cpp", "hpp", "m", "mm", "md", "mdx", "json", "yaml", "yml", "toml", "sql", "sh", "bash", "ps1", "html",
    "css", "scss", "sass", "less", "vue", "svelte", "txt", "xml", "proto", "graphql", "gql", "env", "ini", "cfg",
    "conf", "lock", "gradle", "dart", "ex", "exs", "scala", "lua", "r", "tf", "csv", "ipynb", "rst", "astro", "prisma",
    "zig",
];

/// Extension-less file names.
const BARE_FILES: [&str; 7] =
    ["Dockerfile", "Makefile", "Justfile", "Procfile", "Gemfile", "Rakefile", "Containerfile"];

/// Words shaped like file names that name technologies or abbreviations instead.
const NOT_FILES: [&str; 14] = [
    "node.js",
    "vue.js",
    "next.js",
    "nuxt.js",
    "express.js",
    "react.js",
    "d3.js",
    "three.js",
    "chart.js",
    "nest.js",
    "e.g",
    "i.e",
    "etc",
    "solid.js",
];

/// First folders of repository paths, which make a one-slash word (`src/models`) a path.
const SOURCE_DIRS: [&str; 24] = [
    "src",
    "lib",
    "test",
    "tests",
    "app",
    "apps",
    "backend",
    "frontend",
    "api",
    "docs",
    "scripts",
    "cmd",
    "pkg",
    "internal",
    "packages",
    "crates",
    "ios",
    "android",
    "web",
    "server",
    "client",
    "components",
    "specs",
    "config",
];

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
    let mut found: Vec<PathBuf> = super::sorted_entries(&specs)
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

/// A markdown text with at least one `- [ ] T001 …` item.
fn looks_speckit(path: &Path) -> bool {
    if super::is_json(path) {
        return false;
    }
    let Some(bytes) = super::peek_bytes(path) else {
        return false;
    };
    let text = String::from_utf8_lossy(&bytes);
    // Every spec-kit item is a checkbox followed by its id (`- [ ] T001`): a cheap refusal first.
    if !text.contains("] T") {
        return false;
    }
    md::lines(&text).iter().any(|l| !l.in_fence && md::checkbox(l.text).is_some_and(|(_, t)| parse_item(t).is_some()))
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

/// One `T012 [P] [US1] Create …` item, after its checkbox.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Item<'a> {
    id: &'a str,
    parallel: bool,
    labels: Vec<&'a str>,
    title: &'a str,
}

/// Reads the id, the `[P]` mark and the story labels of an item's text.
fn parse_item(text: &str) -> Option<Item<'_>> {
    let t = text.trim_start().trim_start_matches(['*', '`']);
    let id_len = task_id_len(t)?;
    let id = t.get(..id_len)?;
    let mut rest = t.get(id_len..)?.trim_start_matches(['*', '`']);
    if !(rest.is_empty() || rest.starts_with([' ', '\t', ':', '.', '[', '('])) {
        return None;
    }
    rest = rest.trim_start_matches([':', '.']).trim_start();
    let mut item = Item { id, parallel: false, labels: Vec::new(), title: "" };
    loop {
        let (open, close) = match rest.chars().next() {
            Some('[') => ('[', ']'),
            Some('(') if rest.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("(p)")) => ('(', ')'),
            _ => break,
        };
        let Some(end) = rest.find(close) else { break };
        let token = rest.get(open.len_utf8()..end).unwrap_or("").trim();
        if token.is_empty()
            || token.len() > 16
            || token.contains(char::is_whitespace) && !token.to_ascii_lowercase().starts_with("story")
        {
            break;
        }
        if token.eq_ignore_ascii_case("p") {
            item.parallel = true;
        } else {
            item.labels.push(token);
        }
        rest = rest.get(end + 1..).unwrap_or("").trim_start();
    }
    item.title = rest.trim_start_matches([':', '-', '—']).trim();
    Some(item)
}

/// Length of a task id (`T` or `t`, digits, an optional letter suffix) at the start of `text`.
fn task_id_len(text: &str) -> Option<usize> {
    let rest = text.strip_prefix(['T', 't'])?;
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let suffix = rest.get(digits..)?.chars().next().filter(|c| c.is_ascii_lowercase()).map_or(0, |_| 1);
    let after = rest.get(digits + suffix..)?.chars().next();
    // `T1000ms` is a word, not an id.
    if after.is_some_and(char::is_alphanumeric) {
        return None;
    }
    Some(1 + digits + suffix)
}

/// Every task id mentioned in `text`, with ranges (`T004-T007`) expanded later: (first, last,
/// byte offset, byte length).
fn id_refs(text: &str) -> Vec<(String, Option<String>, usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let Some(rest) = text.get(i..) else { break };
        let starts_word = i == 0 || text.get(..i).and_then(|s| s.chars().last()).is_none_or(|c| !c.is_alphanumeric());
        match task_id_len(rest).filter(|_| rest.starts_with('T') && starts_word) {
            Some(len) => {
                let first = rest.get(..len).unwrap_or("").to_owned();
                let after = rest.get(len..).unwrap_or("");
                let sep = ["-", "–", "..", " - ", " to "].iter().find(|s| after.starts_with(**s));
                let last = sep.and_then(|s| {
                    let tail = after.get(s.len()..)?;
                    let l = task_id_len(tail).filter(|_| tail.starts_with('T'))?;
                    Some((tail.get(..l)?.to_owned(), s.len() + l))
                });
                let total = len + last.as_ref().map_or(0, |(_, l)| *l);
                out.push((first, last.map(|(id, _)| id), i, total));
                i += total;
            }
            None => i += rest.chars().next().map_or(1, char::len_utf8),
        }
    }
    out
}

/// The number of an id, for ranges.
fn id_number(id: &str) -> Option<u64> {
    id.get(1..)?.trim_end_matches(|c: char| c.is_ascii_lowercase()).parse().ok()
}

/// An explicit order from the "Dependencies" section, applied once every task is known.
struct Order {
    dependents: Vec<(String, Option<String>, Span)>,
    prerequisites: Vec<(String, Option<String>, Span)>,
}

/// Words that order the ids around them: `A depends on B` (A after B) or `A blocks B` (B after A).
const AFTER_WORDS: [&str; 6] = [" depends on ", " depend on ", " requires ", " require ", " after ", " needs "];
const BEFORE_WORDS: [&str; 6] = [" blocks ", " block ", " before ", " → ", " -> ", " then "];

fn order_of(src: SourceId, line: &Line<'_>) -> Option<Order> {
    let lower = line.text.to_lowercase();
    // Lowercasing may change byte lengths outside ASCII; positions are only trusted when not.
    if lower.len() != line.text.len() {
        return None;
    }
    let refs = id_refs(line.text);
    let find = |words: &[&str]| words.iter().filter_map(|w| lower.find(w).map(|p| (p, w.len()))).min();
    let (pos, len, dependents_first) = match (find(&AFTER_WORDS), find(&BEFORE_WORDS)) {
        (Some((p, l)), Some((q, _))) if p <= q => (p, l, true),
        (Some((p, l)), None) => (p, l, true),
        (_, Some((q, l))) => (q, l, false),
        (None, None) => return None,
    };
    let to_span = |(a, b, off, l): (String, Option<String>, usize, usize)| {
        (a, b, Span::new(src, line.start + off, line.start + off + l))
    };
    let (left, right): (Vec<_>, Vec<_>) = refs.into_iter().partition(|r| r.2 < pos + len);
    let right: Vec<_> = right.into_iter().map(to_span).collect();
    let left: Vec<_> = left.into_iter().map(to_span).collect();
    if left.is_empty() || right.is_empty() {
        return None;
    }
    Some(if dependents_first {
        Order { dependents: left, prerequisites: right }
    } else {
        Order { dependents: right, prerequisites: left }
    })
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
struct Open {
    index: usize,
    lines: Vec<String>,
    header: String,
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
    let mut title_seen = false;
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
            close(b, open.take());
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
                mode = if lower.contains("dependenc") || lower.contains("execution order") {
                    Mode::Dependencies
                } else if ["parallel example", "table of contents", "implementation strategy"]
                    .iter()
                    .any(|p| lower.starts_with(p))
                {
                    Mode::Other
                } else {
                    Mode::Tasks
                };
                let is_phase = lower.contains("phase") || lower.contains("user story");
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
            Mode::Header => {
                if !line.text.trim().is_empty() || !context.is_empty() {
                    context.push(line.text.to_owned());
                }
                continue;
            }
            Mode::Other => continue,
            Mode::Dependencies => {
                if !line.in_fence {
                    orders.extend(order_of(src, line));
                }
                continue;
            }
            Mode::Tasks => {}
        }
        if !line.in_fence {
            let item = md::checkbox(line.text).filter(|(_, t)| phase.is_phase || parse_item(t).is_some());
            if let Some((done, item_text)) = item {
                close(b, open.take());
                section_has_tasks = true;
                open = Some(read_task(b, src, line, done, item_text, &mut phase, &mut groups));
                continue;
            }
        }
        // Indented lines (and fenced blocks) under an item belong to it.
        if let Some(o) = open.as_mut() {
            let indented = line.text.starts_with([' ', '\t']) || line.in_fence;
            if indented || (line.text.trim().is_empty() && !o.lines.is_empty()) {
                o.lines.push(line.text.to_owned());
                continue;
            }
            if line.text.trim().is_empty() {
                continue;
            }
            close(b, open.take());
        }
        section.push(line.text);
        if line.in_fence {
            continue;
        }
        if let Some((key, value, _)) = md::field(line.text) {
            let k = key.to_ascii_lowercase();
            if k.starts_with("checkpoint") {
                if let Some(task) = phase.last_task.and_then(|i| b.plan.tasks.get_mut(i)) {
                    task.acceptance.push(model::one_line(value));
                }
            } else if ["purpose", "goal", "independent test"].contains(&k.as_str()) {
                phase.notes.push(format!("{key}: {}", model::one_line(value)));
            }
        }
    }
    close(b, open.take());
    end_section(&mut context, &mut section, section_has_tasks);
    b.plan.context = collapse_blank_lines(&context);
    apply_orders(b, orders);
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

fn read_task(
    b: &mut PlanBuilder,
    src: SourceId,
    line: &Line<'_>,
    done: bool,
    item_text: &str,
    phase: &mut Phase,
    groups: &mut Groups,
) -> Open {
    let line_span = Span::new(src, line.start, line.start + line.text.len());
    let item = parse_item(item_text);
    let (id, title, parallel, labels) = match &item {
        Some(i) => (i.id.to_owned(), i.title, i.parallel, i.labels.clone()),
        None => (String::new(), item_text.trim(), false, Vec::new()),
    };
    let mut task = Task::new(id.clone(), model::one_line(title));
    let mut spans = TaskSpans::at(line_span);
    let at = |part: &str| {
        md::offset_in(line.text, part).map(|o| Span::new(src, line.start + o, line.start + o + part.len()))
    };
    spans.title = if title.is_empty() { Some(line_span) } else { at(title) };
    match &item {
        Some(i) => spans.id = at(i.id),
        None => b.warn(
            Diagnostic::error("missing-id", "this task has no `T` number")
                .at(Some(line_span))
                .help("start every task with its id: `- [ ] T014 [P] [US1] …`"),
        ),
    }
    if done {
        task.status = Status::Done;
    }
    task.milestone = phase.name.clone();

    // Groups: a `[P]` item joins the run of `[P]` items before it; any other item starts a group.
    // An item without an id cannot be waited for, so it leaves the groups as they are.
    let joins = parallel && groups.parallel;
    let waits_for = if joins { groups.previous.clone() } else { groups.current.clone() };
    for dep in waits_for {
        task.depends_on.push(dep);
        spans.depends_on.push(line_span);
    }
    if !id.is_empty() {
        if !joins {
            groups.previous = std::mem::take(&mut groups.current);
        }
        groups.parallel = parallel;
    }
    for (first, last, off, len) in inline_deps(title) {
        let base = md::offset_in(line.text, title).unwrap_or(0) + off;
        for dep in std::iter::once(first).chain(last) {
            if !task.depends_on.contains(&dep) && dep != task.id {
                task.depends_on.push(dep);
                spans.depends_on.push(Span::new(src, line.start + base, line.start + base + len));
            }
        }
    }
    for (path, off, len) in paths_in(title) {
        let base = md::offset_in(line.text, title).unwrap_or(0) + off;
        if !task.files.contains(&path) {
            task.files.push(path);
            spans.files.push(Span::new(src, line.start + base, line.start + base + len));
        }
    }
    if !id.is_empty() {
        groups.current.push(id);
    }

    let mut header: Vec<String> = Vec::new();
    for label in &labels {
        let is_story = label.len() > 2 && label.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("us"));
        header.push(if is_story { format!("User story: {label}") } else { format!("Label: {label}") });
    }
    if let Some(s) = &phase.section {
        header.push(format!("Section: {s}"));
    }
    header.extend(phase.notes.iter().cloned());
    phase.last_task = Some(b.plan.tasks.len());
    let index = b.plan.tasks.len();
    b.push(task, spans);
    Open { index, lines: Vec::new(), header: header.join("\n") }
}

/// Ids named after "depends on", "after", "requires" or "blocked by" in an item's text.
fn inline_deps(title: &str) -> Vec<(String, Option<String>, usize, usize)> {
    let lower = title.to_lowercase();
    if lower.len() != title.len() {
        return Vec::new();
    }
    let Some(pos) =
        ["depends on", "depend on", "blocked by", "requires", "after"].iter().filter_map(|w| lower.find(w)).min()
    else {
        return Vec::new();
    };
    let end = title.get(pos..).and_then(|r| r.find([')', ';'])).map_or(title.len(), |e| pos + e);
    let clause = title.get(pos..end).unwrap_or("");
    id_refs(clause).into_iter().map(|(a, b, off, len)| (a, b, pos + off, len)).collect()
}

/// Paths named in an item's text, with their offsets: words with a `/` that look like paths, and
/// file names with a known extension (matched anywhere in the repository as `**/<name>`).
fn paths_in(text: &str) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    for word in text.split_whitespace() {
        let ticked = word.starts_with('`');
        let w = word
            .trim_start_matches(['(', '"', '\'', '`', '['])
            .trim_end_matches([')', ',', ';', ':', '"', '\'', '`', ']', '.']);
        let w = w.trim_end_matches(['(', ')', ',', ';', ':', '.']);
        let Some(off) = md::offset_in(text, w) else {
            continue;
        };
        if let Some(p) = as_path(w, ticked) {
            out.push((p, off, w.len()));
        }
    }
    out
}

fn as_path(word: &str, ticked: bool) -> Option<String> {
    // A word starting with `/` is an API route (`GET /albums`), not a repository path.
    if word.is_empty() || word.starts_with('/') || word.contains("://") || word.starts_with('@') && !word.contains('/')
    {
        return None;
    }
    let path_char = |c: char| c.is_alphanumeric() || "/._-*[]{}@+~".contains(c);
    if !word.chars().all(path_char) || task_id_len(word).is_some_and(|l| l == word.len()) {
        return None;
    }
    let clean = word.trim_start_matches("./").trim_start_matches('/');
    let last = clean.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    let has_ext = last.rsplit_once('.').is_some_and(|(stem, ext)| {
        !stem.is_empty()
            && EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str())
            && !NOT_FILES.contains(&last.to_ascii_lowercase().as_str())
    });
    let bare_file = BARE_FILES.contains(&last);
    if clean.contains('/') {
        let first = clean.split('/').next().unwrap_or("");
        let slashes = clean.matches('/').count();
        let pathy =
            has_ext || bare_file || clean.ends_with('/') || SOURCE_DIRS.contains(&first) || ticked || slashes >= 2;
        // Files are globs: a folder stands for everything below it.
        let glob = if clean.ends_with('/') { format!("{clean}**") } else { clean.to_owned() };
        return pathy.then_some(glob);
    }
    (has_ext || bare_file).then(|| format!("**/{clean}"))
}

fn close(b: &mut PlanBuilder, open: Option<Open>) {
    let Some(o) = open else { return };
    let body = model::block(&dedent(&o.lines));
    let description = match (o.header.is_empty(), body.is_empty()) {
        (true, _) => body,
        (false, true) => o.header,
        (false, false) => format!("{body}\n\n{}", o.header),
    };
    if let Some(task) = b.plan.tasks.get_mut(o.index) {
        task.description = description;
    }
}

/// Removes the common indentation of an item's continuation lines.
fn dedent(lines: &[String]) -> String {
    let indent =
        lines.iter().filter(|l| !l.trim().is_empty()).map(|l| l.len() - l.trim_start().len()).min().unwrap_or(0);
    lines.iter().map(|l| l.get(indent..).unwrap_or(l.trim_start())).collect::<Vec<_>>().join("\n")
}

/// Adds the orders of the "Dependencies" section; ranges take the tasks whose numbers they span.
fn apply_orders(b: &mut PlanBuilder, orders: Vec<Order>) {
    let ids: Vec<String> = b.plan.tasks.iter().map(|t| t.id.clone()).collect();
    let expand = |first: &str, last: Option<&str>| -> Vec<String> {
        match (last, id_number(first), last.and_then(id_number)) {
            (Some(_), Some(lo), Some(hi)) => ids
                .iter()
                .filter(|i| id_number(i).is_some_and(|n| n >= lo.min(hi) && n <= hi.max(lo)))
                .cloned()
                .collect(),
            _ => vec![first.to_owned()],
        }
    };
    for order in orders {
        let mut prereqs: Vec<(String, Span)> = Vec::new();
        for (first, last, span) in &order.prerequisites {
            prereqs.extend(expand(first, last.as_deref()).into_iter().map(|id| (id, *span)));
        }
        for (first, last, span) in &order.dependents {
            for dependent in expand(first, last.as_deref()) {
                let Some(index) = b.plan.tasks.iter().position(|t| t.id == dependent) else {
                    b.warn(
                        Diagnostic::warning(
                            "unknown-task",
                            format!("the dependencies section names `{dependent}`, which is not a task of this file"),
                        )
                        .at(Some(*span))
                        .help("this order is ignored; check the task id"),
                    );
                    continue;
                };
                for (dep, dep_span) in &prereqs {
                    let (Some(task), Some(spans)) = (b.plan.tasks.get_mut(index), b.task_spans.get_mut(index)) else {
                        continue;
                    };
                    if *dep != task.id && !task.depends_on.contains(dep) {
                        task.depends_on.push(dep.clone());
                        spans.depends_on.push(*dep_span);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items() {
        let i = parse_item("T012 [P] [US1] Create model in src/models/x.py");
        assert_eq!(
            i,
            Some(Item { id: "T012", parallel: true, labels: vec!["US1"], title: "Create model in src/models/x.py" })
        );
        let i = parse_item("**T003**: [p] Lint");
        assert_eq!(i.map(|i| (i.id, i.parallel, i.title)), Some(("T003", true, "Lint")));
        assert_eq!(parse_item("T1000ms timeout"), None);
        assert_eq!(parse_item("Task 1"), None);
        assert_eq!(parse_item("T7a [Story 2] Fix").map(|i| (i.id, i.labels)), Some(("T7a", vec!["Story 2"])));
    }

    #[test]
    fn paths() {
        let found: Vec<String> = paths_in(
            "Implement authentication/authorization in src/auth/, see Node.js docs and `README.md`, (quickstart.md).",
        )
        .into_iter()
        .map(|p| p.0)
        .collect();
        assert_eq!(found, vec!["src/auth/**", "**/README.md", "**/quickstart.md"]);
        let found: Vec<String> = paths_in("Contract test in tests/contract/test_users.py e.g. with backend/src")
            .into_iter()
            .map(|p| p.0)
            .collect();
        assert_eq!(found, vec!["tests/contract/test_users.py", "backend/src"]);
    }

    #[test]
    fn refs() {
        let r: Vec<(String, Option<String>)> =
            id_refs("Tests (T004-T007) before T008, xT009").into_iter().map(|r| (r.0, r.1)).collect();
        assert_eq!(r, vec![("T004".to_owned(), Some("T007".to_owned())), ("T008".to_owned(), None)]);
    }
}
