//! A change's `tasks.md`: `## 1. Group` headings, `- [ ] 1.1 Task` checkboxes and the fields and
//! notes under them.

use super::*;

/// One list item of `tasks.md`, as far as the line alone tells.
#[derive(Debug)]
pub(super) struct TaskLine<'a> {
    /// Leading whitespace width (a tab counts 4).
    pub(super) indent: usize,
    pub(super) checkbox: bool,
    /// Ticked; `None` for a mark that is neither blank nor a tick (`[~]`, `[-]`).
    pub(super) done: Option<bool>,
    pub(super) mark: &'a str,
    pub(super) id: Option<String>,
    pub(super) id_off: usize,
    pub(super) title: &'a str,
    pub(super) title_off: usize,
    /// A `## N. Title` heading read as a task (a tasks.md without any task items).
    pub(super) heading: bool,
}

pub(super) fn indent_of(line: &str) -> usize {
    line.chars().take_while(|c| c.is_whitespace()).map(|c| if c == '\t' { 4 } else { 1 }).sum()
}

/// `- [ ] 1.1 Title`, `* [x] 1.2. Title`, `- [ ]1.3 Title`, `- [~] Title`, `- 1.4 Title`,
/// `- [ ] **1.5** Title`.
pub(super) fn task_line(line: &str) -> Option<TaskLine<'_>> {
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
pub(super) fn number_prefix(text: &str) -> Option<(&str, &str)> {
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
pub(super) struct Parsed {
    pub(super) h1: Option<String>,
    /// Text outside any task: the preamble and prose under group headings.
    pub(super) notes: Vec<String>,
}

pub(super) struct Draft<'a> {
    pub(super) task: Task,
    pub(super) spans: TaskSpans,
    pub(super) line: Line<'a>,
    pub(super) parsed: TaskLine<'a>,
    pub(super) body: Vec<Line<'a>>,
    /// The group's number (`2` for `## 2. Backend`, else the group's position) and the item's
    /// position in it, for items written without a number.
    pub(super) group: Option<String>,
    pub(super) position: usize,
    pub(super) overall: usize,
    pub(super) explicit_deps: bool,
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Field {
    Files,
    DependsOn,
    Verify,
    Acceptance,
    Persona,
}

pub(super) fn field_kind(key: &str) -> Option<Field> {
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

pub(super) fn parse_tasks(b: &mut PlanBuilder, src: SourceId) -> Parsed {
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
pub(super) fn noted_path(value: &str) -> Option<&str> {
    let t = value.trim_start();
    if !t.starts_with('`') {
        return None;
    }
    let &(path, at) = md::code_spans(t).first()?;
    let after = t.get(at + path.len()..)?.trim_start_matches('`').trim_start();
    (after.starts_with(['—', '–', '-', '(', ':'])).then_some(path)
}

/// A heading task's title without its done mark (`✅ Title`, `Title ✅`, `[x] Title`, `Title (done)`).
pub(super) fn heading_done(title: &str) -> (bool, &str) {
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
pub(super) fn finish_body(b: &mut PlanBuilder, src: SourceId, d: &mut Draft<'_>) {
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
pub(super) fn is_command(text: &str) -> bool {
    crate::reader::commands::first_program(text)
        .is_some_and(|p| p == "openspec" || crate::reader::commands::is_program(p))
}

/// Looks like a command even if its program is not one planrun knows: two or more words, the
/// first a plain lower-case name.
pub(super) fn looks_like_command(text: &str) -> bool {
    let mut words = text.split_whitespace();
    let first = words.next().unwrap_or("");
    words.next().is_some()
        && !first.is_empty()
        && first.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
}

/// Whether a list value means "nothing".
pub(super) fn is_none(value: &str) -> bool {
    let v = value.trim().trim_matches(['*', '_', '`', '.']).trim().to_lowercase();
    v.is_empty() || ["none", "-", "—", "n/a", "na", "nothing"].contains(&v.as_str()) || v.starts_with("none ")
}

/// Reads one field value (or one item of a field's list) starting at byte `start` of the file.
pub(super) fn read_field(
    b: &mut PlanBuilder,
    src: SourceId,
    d: &mut Draft<'_>,
    kind: Field,
    value: &str,
    start: usize,
) {
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
pub(super) fn dedent(lines: &[&str]) -> String {
    let common =
        lines.iter().filter(|l| !l.trim().is_empty()).map(|l| l.len() - l.trim_start().len()).min().unwrap_or(0);
    lines.iter().map(|l| l.get(common..).unwrap_or_else(|| l.trim_start())).collect::<Vec<_>>().join("\n")
}

/// Status, and the problems an item can have on its own line.
pub(super) fn check_item(b: &mut PlanBuilder, src: SourceId, d: &mut Draft<'_>) {
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
