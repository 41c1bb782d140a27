//! `TODO_LIST.md`: its items (order, nesting, `[x]`, the link to the task JSON), headings that are
//! tasks, and the notes written under an item (dependencies, files, status).

use super::*;

#[derive(Debug, Clone)]
pub(super) struct TodoItem {
    pub(super) id: String,
    pub(super) title: String,
    /// `Some(true)` for `[x]`, `Some(false)` for `[ ]`, `None` for a `▸` container line.
    pub(super) checked: Option<bool>,
    pub(super) container: bool,
    /// A `### IMPL-1: Title` heading rather than a list line: every line up to the next heading
    /// is its notes.
    pub(super) heading: bool,
    pub(super) indent: usize,
    pub(super) parent: Option<usize>,
    pub(super) milestone: Option<String>,
    /// The linked task file, relative to the session.
    pub(super) link: Option<String>,
    /// Lines nested under the item, trimmed, with where each was written.
    pub(super) notes: Vec<(String, Span)>,
    /// Paths named after the title (`Title — `pkg/a.py`, `b.py``), with where each was written.
    pub(super) files: Vec<(String, Span)>,
    pub(super) line_span: Span,
    pub(super) id_span: Span,
    /// Where the ticked box or done mark is, when there is one.
    pub(super) status_span: Option<Span>,
}

/// A line of TODO_LIST.md outside every task: a legend, a note, a parallelization strategy, a
/// dependency diagram. Read for the dependencies it states.
#[derive(Debug, Clone)]
pub(super) struct ProseLine {
    pub(super) text: String,
    pub(super) span: Span,
    pub(super) fenced: bool,
    /// Which code block a fenced line belongs to (lines of one diagram share it).
    pub(super) block: usize,
    /// A heading outside every task (`## Critical Files`): kept only to know the section.
    pub(super) heading: bool,
}

#[derive(Debug, Default)]
pub(super) struct Todo {
    pub(super) items: Vec<TodoItem>,
    pub(super) prose: Vec<ProseLine>,
}

pub(super) fn read_todo(b: &mut PlanBuilder, src: SourceId, s: &mut Session) -> Todo {
    let text = b.text(src).to_owned();
    let mut todo = Todo::default();
    let items = &mut todo.items;
    let mut seen: HashSet<String> = HashSet::new();
    // The grouping heading (Wave, Phase, …) and its level: deeper headings keep it.
    let mut milestone: Option<(usize, String)> = None;
    let mut owner: Option<usize> = None;
    let mut block = 0;
    for line in md::lines(&text) {
        let span = Span::new(src, line.start, line.start + line.text.len());
        if line.in_fence {
            if md::fence_of(line.text).is_none() {
                todo.prose.push(ProseLine { text: line.text.to_owned(), span, fenced: true, block, heading: false });
            } else {
                block += 1;
            }
            continue;
        }
        if let Some((level, t)) = md::heading(line.text) {
            owner = None;
            if level == 1 {
                s.title_from_todo = Some(strip_plan_prefix(t).to_owned()).filter(|t| !t.is_empty());
                continue;
            }
            if let Some(mut item) = heading_item(&line, t, src) {
                if seen.insert(item.id.clone()) {
                    item.milestone = milestone.as_ref().map(|(_, m)| m.clone());
                    items.push(item);
                    owner = Some(items.len() - 1);
                    continue;
                }
            }
            todo.prose.push(ProseLine { text: t.to_owned(), span, fenced: false, block: 0, heading: true });
            let lower = t.trim_start_matches(|c: char| !c.is_alphanumeric()).to_ascii_lowercase();
            let grouping = ["wave", "phase", "stage", "milestone", "step", "batch"];
            if grouping.iter().any(|w| lower.starts_with(w)) {
                milestone = Some((level, t.to_owned()));
            } else if milestone.as_ref().is_some_and(|(l, _)| *l >= level) {
                milestone = None;
            }
            continue;
        }
        let indent = indent_width(line.text);
        let item = todo_item(&line, src).filter(|item| {
            // `- [ ] IMPL-1 Red phase` after `**IMPL-1**` was listed: a progress line of that
            // task, not a second task; so is a plain or numbered item repeating a listed id
            // (`1. **IMPL-1** (must go first): …` in an execution sequence).
            !((item.bare || item.plain) && seen.contains(&item.item.id))
        });
        match item {
            Some(found) => {
                let mut item = found.item;
                item.indent = indent;
                // `- [ ] **IMPL-4**: Fix it` right before `- [x] **IMPL-4**: Fix it -> [📋](…)`: a
                // stale copy of the same line left above its updated one; the later line wins.
                if items
                    .last()
                    .is_some_and(|p| !p.heading && p.id == item.id && p.indent == indent && p.notes.is_empty())
                    && owner == Some(items.len() - 1)
                {
                    items.pop();
                }
                item.milestone = milestone.as_ref().map(|(_, m)| m.clone());
                item.parent = items.iter().rposition(|p| !p.heading && p.indent < indent);
                // A parent must be an ancestor in the current block, not an earlier sibling's child.
                if let Some(p) = item.parent {
                    if items.iter().skip(p + 1).any(|q| q.indent <= items.get(p).map_or(0, |x| x.indent)) {
                        item.parent = None;
                    }
                }
                seen.insert(item.id.clone());
                items.push(item);
                owner = Some(items.len() - 1);
            }
            None => {
                let blank = line.text.trim().is_empty();
                // Lines nested under an item (or under a task heading) are its notes.
                if let Some(o) = owner.and_then(|i| items.get_mut(i)) {
                    if (o.heading || indent > o.indent) && !blank {
                        if !is_rule(line.text) {
                            o.notes.push((line.text.trim().to_owned(), span));
                        }
                        continue;
                    }
                    if !blank {
                        owner = None;
                    }
                }
                if !blank {
                    todo.prose.push(ProseLine {
                        text: line.text.to_owned(),
                        span,
                        fenced: false,
                        block: 0,
                        heading: false,
                    });
                }
            }
        }
    }
    todo
}

pub(super) fn is_rule(line: &str) -> bool {
    let t = line.trim();
    t.len() >= 3 && (t.chars().all(|c| c == '-') || t.chars().all(|c| c == '*') || t.chars().all(|c| c == '_'))
}

pub(super) fn indent_width(line: &str) -> usize {
    line.chars().take_while(|c| c.is_whitespace()).map(|c| if c == '\t' { 4 } else { 1 }).sum()
}

/// A task line read from TODO_LIST.md, and whether its id was written bare (not bold).
pub(super) struct Found {
    pub(super) item: TodoItem,
    pub(super) bare: bool,
    /// A list item without a checkbox or `▸`.
    pub(super) plain: bool,
}

/// A task line: `- [ ] **IMPL-1.2**: Title → [📋](./.task/IMPL-1.2.json)`, `▸ **IMPL-1**: Group`,
/// `- [x] IMPL-3 Title`, `- **IMPL-4**: Title`. A plain bullet is a task only with a bold id:
/// `- IMPL-7 can start after IMPL-2` is prose about tasks.
pub(super) fn todo_item(line: &Line<'_>, src: SourceId) -> Option<Found> {
    let t = line.text.trim_start();
    let (checked, container, plain, rest) = if let Some(rest) = t.strip_prefix(['▸', '▶', '►']) {
        (None, true, false, rest.trim_start())
    } else if let Some((done, rest)) = md::checkbox(line.text) {
        (Some(done), false, false, rest)
    } else if let Some(rest) = md::bullet(line.text) {
        match rest.strip_prefix(['▸', '▶', '►']) {
            Some(r) => (None, true, false, r.trim_start()),
            None => (None, false, true, rest),
        }
    } else {
        return None;
    };
    let (id, after, bare) = split_id(rest)?;
    if plain && bare {
        return None;
    }
    let id_off = line.start + md::offset_in(line.text, id).unwrap_or(0);
    let (title, link) = title_and_link(after);
    let line_span = Span::new(src, line.start, line.start + line.text.len());
    let (title, files) = title_files(title, line, src);
    let status_span = (checked == Some(true))
        .then(|| line.text.find("[x]").or_else(|| line.text.find("[X]")))
        .flatten()
        .map(|i| Span::new(src, line.start + i, line.start + i + 3));
    Some(Found {
        item: TodoItem {
            id: id.to_owned(),
            title,
            checked,
            container,
            heading: false,
            indent: 0,
            parent: None,
            milestone: None,
            link,
            notes: Vec::new(),
            files,
            line_span,
            id_span: Span::new(src, id_off, id_off + id.len()),
            status_span,
        },
        bare,
        plain,
    })
}

/// The id at the start of a task line's text: `**IMPL-1**`, `**IMPL-1:**` or a bare `IMPL-1`.
pub(super) fn split_id(rest: &str) -> Option<(&str, &str, bool)> {
    let (id, after, bare) = if let Some(inner) = rest.strip_prefix("**") {
        let close = inner.find("**")?;
        (inner.get(..close)?.trim().trim_end_matches(':'), inner.get(close + 2..)?, false)
    } else {
        let end = rest.find(|c: char| c.is_whitespace() || c == ':').unwrap_or(rest.len());
        (rest.get(..end)?, rest.get(end..)?, true)
    };
    looks_like_id(id).then_some((id, after, bare))
}

/// The title of a task line and the task file its link names.
pub(super) fn title_and_link(after: &str) -> (String, Option<String>) {
    let mut title = after.trim_start().trim_start_matches([':', '：', '—', '–', '-']).trim();
    let mut link = None;
    for arrow in ["→", "->", "⟶"] {
        if let Some(i) = title.find(arrow) {
            link = link_target(title.get(i..).unwrap_or(""));
            title = title.get(..i).unwrap_or(title).trim();
        }
    }
    if link.is_none() {
        if let Some(i) = title.find("](") {
            link = link_target(title.get(i.saturating_sub(4)..).unwrap_or(""));
            let cut = title.get(..i).and_then(|h| h.rfind('[')).unwrap_or(i);
            title = title.get(..cut).unwrap_or(title).trim();
        }
    }
    (model::one_line(title.trim_end_matches(['|', ' ']).trim()), link)
}

/// A task written as a heading: `### IMPL-001: Title`, `### ✅ IMPL-2 — Title`, `#### **IMPL-3**`.
pub(super) fn heading_item(line: &Line<'_>, t: &str, src: SourceId) -> Option<TodoItem> {
    let (done, rest) = md::strip_done_mark(t);
    let (id, after, _) = split_id(rest)?;
    let id_off = line.start + md::offset_in(line.text, id).unwrap_or(0);
    let (mut title, link) = title_and_link(after);
    let mut done = done;
    for mark in ["✅", "✔️", "✔", "(done)", "(completed)", "(complete)", "✓"] {
        if let Some(r) = title.strip_suffix(mark) {
            done = true;
            title = r.trim_end().trim_end_matches(['—', '–', '-']).trim_end().to_owned();
        }
    }
    let line_span = Span::new(src, line.start, line.start + line.text.len());
    let (title, files) = title_files(title, line, src);
    Some(TodoItem {
        id: id.to_owned(),
        title,
        checked: done.then_some(true),
        container: false,
        heading: true,
        indent: 0,
        parent: None,
        milestone: None,
        link,
        notes: Vec::new(),
        files,
        line_span,
        id_span: Span::new(src, id_off, id_off + id.len()),
        status_span: done.then_some(line_span),
    })
}

/// A task line whose title ends with the files it changes after a dash (`SignalSpec & Registry —
/// `quantlab/signals/spec.py`, `registry.py``): the title without them, and the paths. A bare name
/// after a path is in that path's folder. Anything but backticked paths after the dash (`— SEC-001:
/// Title`, `— `config` cleanup`) leaves the title as it is.
pub(super) fn title_files(title: String, line: &Line<'_>, src: SourceId) -> (String, Vec<(String, Span)>) {
    let cut = ["—", "–"].iter().filter_map(|d| title.rfind(&format!(" {d} "))).max();
    let Some(cut) = cut else {
        return (title, Vec::new());
    };
    let tail = title.get(cut..).unwrap_or("").trim_start().trim_start_matches(['—', '–']);
    let spans = md::code_spans(tail);
    // Nothing but the code spans, commas and `and` between them.
    let mut rest = tail.to_owned();
    for (p, _) in &spans {
        rest = rest.replacen(&format!("`{p}`"), " ", 1);
    }
    let glue_only = rest.split(|c: char| c.is_whitespace() || c == ',').all(|w| w.is_empty() || w == "and" || w == "&");
    let paths: Vec<&str> = spans.iter().map(|(p, _)| p.trim()).collect();
    let all_paths = paths.iter().all(|p| {
        let p = p.trim_start_matches("./");
        !p.is_empty()
            && !p.contains(char::is_whitespace)
            && !p.starts_with("http")
            && (p.contains('/') || p.contains('.') || EXTENSIONLESS_FILES.contains(&p))
    });
    let head = title.get(..cut).unwrap_or("").trim_end();
    if spans.is_empty() || !glue_only || !all_paths || head.is_empty() {
        return (title, Vec::new());
    }
    let line_span = Span::new(src, line.start, line.start + line.text.len());
    let mut folder: Option<String> = None;
    let mut files = Vec::new();
    for p in paths {
        let p = p.trim_start_matches("./");
        let full = match (&folder, p.contains('/')) {
            (Some(dir), false) => format!("{dir}/{p}"),
            _ => p.to_owned(),
        };
        if let Some((dir, _)) = full.rsplit_once('/') {
            folder = Some(dir.to_owned());
        }
        let span = line
            .text
            .find(&format!("`{p}`"))
            .map_or(line_span, |i| Span::new(src, line.start + i + 1, line.start + i + 1 + p.len()));
        if !files.iter().any(|(f, _)| *f == full) {
            files.push((full, span));
        }
    }
    (head.to_owned(), files)
}

/// The first `.json` link target in `text`.
pub(super) fn link_target(text: &str) -> Option<String> {
    let mut rest = text;
    while let Some(i) = rest.find("](") {
        let after = rest.get(i + 2..)?;
        let end = after.find(')')?;
        let target = after.get(..end)?.trim();
        if target.to_ascii_lowercase().ends_with(".json") {
            return Some(target.trim_start_matches("./").to_owned());
        }
        rest = after.get(end..)?;
    }
    None
}

/// A CCW-like task id: letters, a dash, then digits and dots (`IMPL-1.2`, `TEST-001`).
pub(super) fn looks_like_id(id: &str) -> bool {
    let Some((prefix, num)) = id.split_once('-') else {
        return false;
    };
    !prefix.is_empty()
        && prefix.chars().all(|c| c.is_ascii_alphabetic())
        && !num.is_empty()
        && num.starts_with(|c: char| c.is_ascii_digit())
        && num.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_')
}

// ---------------------------------------------------------------------------------------------
// .task/*.json

/// What the lines under a TODO item say.
#[derive(Debug, Default)]
pub(super) struct Notes {
    pub(super) deps: Vec<(String, Span)>,
    /// Whether a dependency note was written (an empty or `none` one counts).
    pub(super) declares: bool,
    pub(super) files: Vec<(String, Span)>,
    /// `Status:` note: done or not, and where.
    pub(super) status: Option<(bool, Span)>,
    pub(super) link: Option<String>,
    pub(super) desc: Vec<String>,
    pub(super) desc_span: Option<Span>,
    /// `Blocks: IMPL-2, IMPL-3`: the tasks that wait for this one.
    pub(super) blocks: Vec<(String, Span)>,
}

pub(super) const DEP_KEYS: [&str; 9] =
    ["depends on", "dependencies", "dependency", "depends_on", "依赖", "前置", "prerequisites", "blocked by", "after"];
/// Notes naming the tasks that wait for this one.
pub(super) const BLOCK_KEYS: [&str; 4] = ["blocks", "blocking", "is blocking", "unblocks"];
pub(super) const FILE_KEYS: [&str; 11] = [
    "files",
    "file",
    "文件",
    "target files",
    "focus paths",
    "target",
    "targets",
    "tests",
    "test file",
    "test files",
    "modified files",
];

/// Dependencies, files, status and link written under a TODO item; the rest of its notes become
/// its description. Notes that name dependencies or files planrun cannot read are reported.
pub(super) fn read_notes(b: &mut PlanBuilder, item: &TodoItem) -> Notes {
    let mut n = Notes::default();
    // A `**Files:**` or `Depends on:` label with nothing after it: the bullets below it are its entries.
    let mut open_list: Option<bool> = None;
    for (note, span) in &item.notes {
        let field = md::field(note).map(|(k, v, off)| (k.trim().to_lowercase(), v, off));
        let key = field.as_ref().map(|(k, _, _)| k.as_str()).unwrap_or("");
        let value_span = |v: &str, off: usize| Span::new(span.source, span.start + off, span.start + off + v.len());
        if let Some(files) = open_list {
            if let Some(entry) = md::bullet(note) {
                if files {
                    let off = md::offset_in(note, entry).unwrap_or(0);
                    match md::item_path(entry) {
                        Some((p, at)) => {
                            if let Some(p) = clean_target(p) {
                                if !n.files.iter().any(|(f, _)| *f == p) {
                                    let start = span.start + off + at;
                                    n.files.push((p.clone(), Span::new(span.source, start, start + p.len())));
                                }
                            }
                        }
                        None => b.warn(
                            Diagnostic::warning(
                                "unread-file",
                                format!("`{}` is listed under files but has no path in backticks", entry.trim()),
                            )
                            .at(Some(*span))
                            .help("write it as `- Create: `src/x.rs``"),
                        ),
                    }
                } else {
                    for dep in id_tokens(entry) {
                        if dep != item.id && !n.deps.iter().any(|(d, _)| *d == dep) {
                            n.deps.push((dep, *span));
                        }
                    }
                }
                continue;
            }
            open_list = None;
        }
        if let Some((_, v, _)) = &field {
            if v.trim().is_empty() && (DEP_KEYS.contains(&key) || FILE_KEYS.contains(&key)) {
                open_list = Some(FILE_KEYS.contains(&key));
                n.declares |= DEP_KEYS.contains(&key);
                continue;
            }
        }
        match &field {
            Some((_, v, off)) if DEP_KEYS.contains(&key) => {
                n.declares = true;
                let ids = id_tokens(v);
                if ids.is_empty() && !is_none_word(v) && !v.trim().is_empty() {
                    b.warn(
                        Diagnostic::warning(
                            "unread-dependency",
                            format!("`{}: {}` names no task id; the dependency was not read", key, v.trim()),
                        )
                        .at(Some(value_span(v, *off)))
                        .help("name the tasks by id: `Depends on: IMPL-1, IMPL-2`"),
                    );
                }
                for dep in ids {
                    if dep != item.id && !n.deps.iter().any(|(d, _)| *d == dep) {
                        n.deps.push((dep, value_span(v, *off)));
                    }
                }
            }
            Some((_, v, off)) if FILE_KEYS.contains(&key) => {
                let paths = note_paths(v);
                if paths.is_empty() && !is_none_word(v) {
                    b.warn(
                        Diagnostic::warning(
                            "unread-file",
                            format!("`{}: {}` has no file path planrun could read", key, v.trim()),
                        )
                        .at(Some(value_span(v, *off)))
                        .help("write the paths in backticks: `Files: `src/a.ts`, `src/b.ts``"),
                    );
                }
                for p in paths {
                    if !n.files.iter().any(|(f, _)| *f == p) {
                        n.files.push((p, value_span(v, *off)));
                    }
                }
            }
            // `Test: `tests/unit/test_x.py``: the test file the task writes (a command there is
            // description).
            Some((_, v, off)) if key == "test" && test_file(v).is_some() => {
                if let Some(p) = test_file(v) {
                    if !n.files.iter().any(|(f, _)| *f == p) {
                        n.files.push((p, value_span(v, *off)));
                    }
                }
            }
            Some((_, v, off)) if BLOCK_KEYS.contains(&key) => {
                n.declares = true;
                let ids = id_tokens(v);
                if ids.is_empty() && !is_none_word(v) && !v.trim().is_empty() {
                    b.warn(
                        Diagnostic::warning(
                            "unread-dependency",
                            format!("`{}: {}` names no task id; the order was not read", key, v.trim()),
                        )
                        .at(Some(value_span(v, *off)))
                        .help("name the blocked tasks by id: `Blocks: IMPL-2, IMPL-3`"),
                    );
                }
                for id in ids {
                    if id != item.id && !n.blocks.iter().any(|(d, _)| *d == id) {
                        n.blocks.push((id, value_span(v, *off)));
                    }
                }
            }
            Some((_, v, off)) if key == "status" || key == "状态" || key == "estado" => {
                n.status = Some((is_done_word(v), value_span(v, *off)));
            }
            Some((_, v, _)) if key == "link" || key == "task" || key == "task file" => {
                n.link = link_target(v);
                if n.link.is_none() {
                    n.desc.push(note.clone());
                }
            }
            _ => {
                n.desc_span.get_or_insert(*span);
                n.desc.push(md::bullet(note).map_or_else(|| note.clone(), |t| format!("- {t}")));
            }
        }
    }
    n
}

/// The task ids written in a note's value, in order.
pub(super) fn id_tokens(value: &str) -> Vec<String> {
    value
        .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .map(|w| w.trim_end_matches('.'))
        .filter(|w| looks_like_id(w))
        .map(str::to_owned)
        .collect()
}

/// The file paths of a note's value: its code spans, else its comma-separated entries that look
/// like paths.
pub(super) fn note_paths(value: &str) -> Vec<String> {
    let spans = md::code_spans(value);
    let raw: Vec<String> = if spans.is_empty() {
        md::split_list(value).into_iter().map(|(s, _)| s).collect()
    } else {
        spans.into_iter().map(|(s, _)| s.to_owned()).collect()
    };
    raw.iter()
        .filter_map(|r| clean_target(r))
        .filter(|p| p.contains('/') || p.contains('.') || EXTENSIONLESS_FILES.contains(&p.as_str()))
        .filter(|p| !p.starts_with("http"))
        .collect()
}

/// The value of a `Test:` note when it is one backticked file path (`` `tests/unit/test_a.py` ``),
/// not a command or prose.
pub(super) fn test_file(value: &str) -> Option<String> {
    let v = value.trim();
    let inner = v.strip_prefix('`')?.strip_suffix('`')?.trim().trim_start_matches("./");
    let last = inner.rsplit('/').next().unwrap_or(inner);
    (!inner.is_empty() && !inner.contains(['`', ' ', '\t']) && last.contains('.') && !inner.starts_with("http"))
        .then(|| inner.to_owned())
}

pub(super) fn is_done_word(value: &str) -> bool {
    let v = value.trim().trim_start_matches(['✅', '✔', '☑', ' ']).trim().to_lowercase();
    value.contains('✅')
        || ["done", "complete", "completed", "finished", "implemented", "已完成", "完成", "implementado", "merged"]
            .iter()
            .any(|w| v.starts_with(w))
}
