//! planrun's markdown plan format (specified with examples in `docs/plan-format.md`): reader and
//! writer. The writer escapes what the reader would take for structure, so a written plan reads
//! back unchanged.
//!
//! ```text
//! # Title
//! context …
//! ## Verify            plan-level commands, one `- `cmd`` per line
//! ## Task <id>: <title>
//! Depends on: `a`, `b`
//! Files: `src/a/**`
//! Agent: … / Persona: … / Milestone: … / Status: done
//! description …
//! ### Acceptance | ### Verify | ### Build instructions | ### Review instructions | ### Verify instructions
//! ```

mod writer;

pub use writer::write;

use crate::diag::Diagnostic;
use crate::md::{self, Line};
use crate::model::{self, Plan, Status, Task};
use crate::reader::{Detection, Format, LoadError, Loaded, PlanBuilder};
use crate::source::{SourceId, Span, TaskSpans};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// File names a folder may hold a native plan under.
const FOLDER_NAMES: [&str; 3] = ["planrun.md", "plan.md", "PLAN.md"];

pub(crate) fn detect(path: &Path) -> Detection {
    if path.is_dir() {
        return FOLDER_NAMES
            .iter()
            .map(|n| path.join(n))
            .find(|p| p.is_file() && looks_native(p))
            .map_or(Detection::No, Detection::Yes);
    }
    if looks_native(path) { Detection::Yes(path.to_owned()) } else { Detection::No }
}

fn looks_native(path: &Path) -> bool {
    let Some(text) = crate::reader::peek_text(path) else {
        return false;
    };
    has_task_heading(&text)
}

/// Whether a `## Task …` heading appears outside code fences. Tracks fences as `md::lines` does
/// but stops at the first task and allocates nothing: detection runs on every file `check` is
/// given, a 6 MB JSON plan included.
fn has_task_heading(text: &str) -> bool {
    let mut fence: Option<(char, usize)> = None;
    for raw in text.split_inclusive('\n') {
        let line = raw.trim_end_matches(['\n', '\r']);
        match (fence, md::fence_of(line)) {
            (None, Some((ch, len, _))) => fence = Some((ch, len)),
            (Some((ch, len)), Some((c2, l2, true))) if c2 == ch && l2 >= len => fence = None,
            (Some(_), _) => {}
            (None, None) => {
                if md::heading(line).is_some_and(|(level, t)| level == 2 && task_heading(t).is_some()) {
                    return true;
                }
            }
        }
    }
    false
}

pub(crate) fn load(path: &Path) -> Result<Loaded, LoadError> {
    crate::reader::load_file(Format::Markdown, path, parse_into)
}

/// Parses a native markdown text (for tests, fuzzing and benchmarks).
pub fn parse(text: &str, path: impl Into<PathBuf>) -> Loaded {
    crate::reader::parse_text(Format::Markdown, text, path.into(), parse_into)
}

/// `Task <id>: <title>` (a leading ✅ or `[x]` marks it done): done, id, title, id offset.
fn task_heading(text: &str) -> Option<(bool, &str, &str)> {
    let (done, rest) = md::strip_done_mark(text);
    let rest = rest.strip_prefix("Task").or_else(|| rest.strip_prefix("task"))?;
    if !rest.starts_with([' ', '\t', ':']) {
        return None;
    }
    let rest = rest.trim_start();
    let rest = rest.strip_prefix(':').map_or(rest, str::trim_start);
    let end = rest.find(|c: char| c == ':' || c.is_whitespace()).unwrap_or(rest.len());
    let (id, title) = rest.split_at(end);
    let title = title.trim_start();
    let title = title
        .strip_prefix(':')
        .or_else(|| title.strip_prefix('—'))
        .or_else(|| title.strip_prefix("-"))
        .unwrap_or(title);
    Some((done, id, title.trim()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Acceptance,
    Verify,
    Build,
    Review,
    VerifyInstructions,
}

fn section(title: &str) -> Option<Section> {
    match title.trim().trim_end_matches(':').to_ascii_lowercase().as_str() {
        "acceptance" | "acceptance criteria" | "done when" => Some(Section::Acceptance),
        "verify" | "verification" | "verify commands" => Some(Section::Verify),
        "build instructions" => Some(Section::Build),
        "review instructions" => Some(Section::Review),
        "verify instructions" | "verification instructions" => Some(Section::VerifyInstructions),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    DependsOn,
    Files,
    Agent,
    Persona,
    Milestone,
    Priority,
    Status,
    Verify,
    Acceptance,
}

fn field_key(key: &str) -> Option<Field> {
    match key.trim().to_ascii_lowercase().replace(['_', '-'], " ").as_str() {
        "depends on" | "depends" | "dependencies" | "after" | "deps" => Some(Field::DependsOn),
        "files" => Some(Field::Files),
        "agent" => Some(Field::Agent),
        "persona" => Some(Field::Persona),
        "milestone" => Some(Field::Milestone),
        "priority" => Some(Field::Priority),
        "status" => Some(Field::Status),
        "verify" | "verification" | "verify command" | "verify commands" => Some(Field::Verify),
        "acceptance" | "acceptance criteria" | "done when" => Some(Field::Acceptance),
        _ => None,
    }
}

/// Whether a line would read as structure: a heading, or (at the start of a description) a
/// task field. Leading backslashes are ignored so that escaping is reversible.
fn structural(line: &str, first: bool) -> bool {
    let bare = line.trim_start_matches('\\');
    md::heading(bare).is_some() || (first && is_field_line(bare)) || is_loose_field_line(bare)
}

/// A field line the reader takes (or warns about) anywhere in a description, not only right
/// after the heading: `Verify:`, `Acceptance:`, `Depends on:` and `Files:` (people write them
/// below the prose too).
fn loose_field(line: &str) -> Option<(Field, &str, usize)> {
    let (key, value, off) = md::field(line)?;
    let f = field_key(key)?;
    matches!(f, Field::DependsOn | Field::Files | Field::Verify | Field::Acceptance).then_some((f, value, off))
}

fn is_loose_field_line(line: &str) -> bool {
    loose_field(line).is_some()
}

/// A heading that reads like a task heading at the wrong level: `### Task 2: Title`.
fn misplaced_task_heading(text: &str) -> bool {
    task_heading(text)
        .is_some_and(|(_, id, title)| !id.is_empty() && (!title.is_empty() || id.chars().any(|c| c.is_ascii_digit())))
}

/// Removes the escape the writer adds before lines that would read as structure.
fn unescape(line: &str, first: bool) -> &str {
    match line.strip_prefix('\\') {
        Some(rest) if structural(rest, first) => rest,
        _ => line,
    }
}

fn is_field_line(line: &str) -> bool {
    md::field(line).is_some_and(|(k, _, _)| field_key(k).is_some())
}

struct Reader<'a> {
    src: SourceId,
    text: &'a str,
}

impl Reader<'_> {
    fn span(&self, line: &Line<'_>) -> Span {
        Span::new(self.src, line.start, line.start + line.text.len())
    }
}

struct TaskDraft<'a> {
    task: Task,
    spans: TaskSpans,
    description: Vec<Line<'a>>,
    section: Option<(Section, Vec<Line<'a>>)>,
    fields_open: bool,
    /// A `Verify:` or `Acceptance:` label with nothing after it: the list items right below it
    /// are its entries. With the label's line and how many entries it has taken so far.
    label: Option<(Section, Span, usize)>,
    /// A task heading at the wrong level was seen: everything after it, up to the next task,
    /// belongs to that unread task and is kept as prose (not read as this task's fields).
    unread_task: bool,
}

fn parse_into(b: &mut PlanBuilder, src: SourceId) {
    let text = b.text(src).to_owned();
    let r = Reader { src, text: &text };
    let lines = md::lines(&text);
    // Room for a task per level-2 heading at most: a plan of thousands of tasks is not moved
    // in memory again and again as it grows.
    let headings = lines.iter().filter(|l| !l.in_fence && l.text.starts_with("## ")).count();
    b.reserve(headings);
    let mut title_seen = false;
    let mut context: Vec<String> = Vec::new();
    let mut plan_verify: Option<Vec<Line<'_>>> = None;
    let mut draft: Option<TaskDraft<'_>> = None;

    for line in &lines {
        let heading = if line.in_fence { None } else { md::heading(line.text) };
        if let Some((level, t)) = heading {
            let is_title = level == 1 && !title_seen && draft.is_none();
            if level != 2 && !is_title && misplaced_task_heading(t) {
                let owner = draft.as_ref().map_or_else(
                    || "the plan's context".to_owned(),
                    |d| format!("the description of task `{}`", d.task.id),
                );
                b.warn(
                    Diagnostic::warning(
                        "unread-task",
                        format!(
                            "`{}` is a level-{level} heading, not a task; it and the lines below it are kept in {owner}",
                            line.text.trim()
                        ),
                    )
                    .at(Some(r.span(line)))
                    .help("task headings are `## Task <id>: <title>`"),
                );
                if let Some(d) = draft.as_mut() {
                    // What follows belongs to the unread task: keep it as prose rather than
                    // reading it as more of the section above (a Verify list would drop it).
                    close_label(b, d);
                    close_section(b, &r, d);
                    d.fields_open = false;
                    d.unread_task = true;
                }
            }
        }
        match heading {
            Some((1, t)) if !title_seen && draft.is_none() => {
                title_seen = true;
                b.plan.title = t.to_owned();
                continue;
            }
            Some((2, t)) => {
                if let Some((done, id, title)) = task_heading(t) {
                    flush(b, &r, draft.take());
                    finish_plan_verify(b, &r, plan_verify.take());
                    let span = r.span(line);
                    let id_off = md::offset_in(line.text, id).unwrap_or(0);
                    let mut task = Task::new(id, title);
                    if done {
                        task.status = Status::Done;
                    }
                    let spans = TaskSpans {
                        task: Some(span),
                        id: Some(Span::new(src, line.start + id_off, line.start + id_off + id.len())),
                        title: Some(span),
                        status: done.then_some(span),
                        ..TaskSpans::default()
                    };
                    draft = Some(TaskDraft {
                        task,
                        spans,
                        description: Vec::new(),
                        section: None,
                        fields_open: true,
                        label: None,
                        unread_task: false,
                    });
                    continue;
                }
                if section(t) == Some(Section::Verify) && draft.is_none() {
                    finish_plan_verify(b, &r, plan_verify.take());
                    plan_verify = Some(Vec::new());
                    continue;
                }
                if let Some(d) = draft.as_mut() {
                    b.warn(
                        Diagnostic::warning(
                            "unknown-section",
                            format!("section `## {t}` inside task `{}` is kept in its description", d.task.id),
                        )
                        .at(Some(r.span(line)))
                        .help("use `###` for sub-sections of a task, or `## Task <id>: <title>` to start a task"),
                    );
                }
            }
            Some((3, t)) => {
                if let (Some(d), Some(s)) = (draft.as_mut().filter(|d| !d.unread_task), section(t)) {
                    close_label(b, d);
                    close_section(b, &r, d);
                    d.fields_open = false;
                    d.section = Some((s, Vec::new()));
                    continue;
                }
            }
            _ => {}
        }

        if let Some(body) = plan_verify.as_mut() {
            body.push(*line);
            continue;
        }
        let Some(d) = draft.as_mut() else {
            if title_seen || !line.text.trim().is_empty() {
                context.push(unescape_line(line).to_owned());
            }
            continue;
        };
        if let Some((sec, _, taken)) = d.label {
            // The label's list is the items right below it: a blank line before the first item
            // is fine, one after an item ends the list.
            if !line.in_fence && line.text.trim().is_empty() && taken == 0 {
                continue;
            }
            if !line.in_fence && md::bullet(line.text).is_some() {
                label_item(b, &r, d, sec, line);
                continue;
            }
            close_label(b, d);
        }
        if d.fields_open {
            if line.text.trim().is_empty() {
                continue;
            }
            if let Some((key, value, off)) = md::field(line.text).filter(|_| !line.in_fence) {
                if let Some(f) = field_key(key) {
                    if apply_field(b, &r, d, f, value, line.start + off, line, false) {
                        continue;
                    }
                }
            }
            d.fields_open = false;
        }
        if d.section.is_none() && !line.in_fence && !d.unread_task {
            if let Some((f, value, off)) = loose_field(line.text) {
                if apply_field(b, &r, d, f, value, line.start + off, line, true) {
                    continue;
                }
            }
        }
        match d.section.as_mut() {
            Some((_, body)) => body.push(*line),
            None => d.description.push(*line),
        }
    }
    flush(b, &r, draft.take());
    finish_plan_verify(b, &r, plan_verify.take());
    b.plan.context = model::block(&context.join("\n"));
}

fn finish_plan_verify(b: &mut PlanBuilder, r: &Reader<'_>, body: Option<Vec<Line<'_>>>) {
    for (cmd, span) in read_commands(b, r, &body.unwrap_or_default()) {
        b.push_verify(cmd, Some(span));
    }
}

/// Commands of a Verify section: list items (every code span, or the item's text) and fenced
/// code blocks (one command each).
fn read_commands(b: &mut PlanBuilder, r: &Reader<'_>, body: &[Line<'_>]) -> Vec<(String, Span)> {
    let mut out = Vec::new();
    let mut fence: Option<((char, usize), Vec<&str>, usize)> = None;
    for line in body {
        if line.in_fence {
            let marker = md::fence_of(line.text);
            match (fence.as_mut(), marker) {
                (None, Some((ch, len, _))) => fence = Some(((ch, len), Vec::new(), line.start + line.text.len() + 1)),
                (Some(((ch, len), _, _)), Some((c2, l2, true))) if c2 == *ch && l2 >= *len => {
                    if let Some((_, cmd, start)) = fence.take() {
                        push_fenced(&mut out, r, &cmd, start, line.start);
                    }
                }
                (Some((_, cmd, _)), _) => cmd.push(line.text),
                (None, None) => {}
            }
            continue;
        }
        if let Some((_, cmd, start)) = fence.take() {
            push_fenced(&mut out, r, &cmd, start, line.start);
        }
        out.extend(list_commands(b, r, line));
    }
    if let Some((_, cmd, start)) = fence.take() {
        push_fenced(&mut out, r, &cmd, start, r.text.len());
    }
    out
}

fn push_fenced(out: &mut Vec<(String, Span)>, r: &Reader<'_>, lines: &[&str], start: usize, end: usize) {
    let joined = lines.join("\n");
    let cmd = joined.trim();
    if !cmd.is_empty() {
        out.push((cmd.to_owned(), Span::new(r.src, start.min(end), end)));
    }
}

fn unescape_line<'a>(line: &Line<'a>) -> &'a str {
    if line.in_fence { line.text } else { unescape(line.text, false) }
}

/// Commands on one line of a verify list: every code span of a bullet, or the bullet's text.
fn list_commands(b: &mut PlanBuilder, r: &Reader<'_>, line: &Line<'_>) -> Vec<(String, Span)> {
    if line.in_fence || line.text.trim().is_empty() {
        return Vec::new();
    }
    let Some(item) = md::bullet(line.text) else {
        b.warn(
            Diagnostic::warning("ignored-line", "this line in a Verify section is not a command and is ignored")
                .at(Some(r.span(line)))
                .help("write each command as a list item: - `cargo test`"),
        );
        return Vec::new();
    };
    let item = md::checkbox(line.text).map_or(item, |(_, t)| t);
    let base = line.start + md::offset_in(line.text, item).unwrap_or(0);
    let spans = md::code_spans(item);
    if spans.is_empty() {
        let cmd = item.trim();
        return if cmd.is_empty() {
            Vec::new()
        } else {
            vec![(cmd.to_owned(), Span::new(r.src, base, base + item.len()))]
        };
    }
    spans
        .into_iter()
        .filter(|(s, _)| !s.trim().is_empty())
        .map(|(s, off)| (s.trim().to_owned(), Span::new(r.src, base + off, base + off + s.len())))
        .collect()
}

/// Reads one field line into the task; false when it could not be read (a warning says why)
/// and the line stays in the description. `below` is a line under the description rather than
/// among the field lines right after the heading: there lists must be backticked, so that prose
/// such as `Files: see the design doc` is not read as a file.
#[allow(clippy::too_many_arguments)]
fn apply_field(
    b: &mut PlanBuilder,
    r: &Reader<'_>,
    d: &mut TaskDraft<'_>,
    f: Field,
    value: &str,
    value_start: usize,
    line: &Line<'_>,
    below: bool,
) -> bool {
    let scalar = || {
        let spans = md::code_spans(value);
        let v = match spans.as_slice() {
            [(s, off)] if whole_span(value, s, *off) => (*s).to_owned(),
            _ => value.to_owned(),
        };
        let v = model::one_line(&v);
        (!v.is_empty()).then_some(v)
    };
    let line_span = r.span(line);
    if below
        && matches!(f, Field::DependsOn | Field::Files)
        && md::code_spans(value).is_empty()
        && !md::split_list(value).is_empty()
    {
        let (code, what, example) = if f == Field::DependsOn {
            ("unread-dependency", "task ids", "Depends on: `api`, `db`")
        } else {
            ("unread-file", "paths", "Files: `src/a.rs`")
        };
        b.warn(
            Diagnostic::warning(
                code,
                format!("this field line below the description has no {what} in backticks, so it is kept as prose"),
            )
            .at(Some(line_span))
            .help(format!(
                "write it among the field lines right after the task heading, or backtick the {what}: {example}"
            )),
        );
        return false;
    }
    match f {
        Field::Verify => {
            let spans = md::code_spans(value);
            if value.trim().is_empty() {
                d.label = Some((Section::Verify, line_span, 0));
            } else if !spans.is_empty() {
                for (s, off) in spans.into_iter().filter(|(s, _)| !s.trim().is_empty()) {
                    d.spans.verify.push(Span::new(r.src, value_start + off, value_start + off + s.len()));
                    d.task.verify.push(s.trim().to_owned());
                }
            } else if crate::reader::commands::first_program(value).is_some_and(crate::reader::commands::is_program) {
                d.spans.verify.push(Span::new(r.src, value_start, value_start + value.len()));
                d.task.verify.push(value.trim().to_owned());
            } else {
                b.warn(
                    Diagnostic::warning(
                        "unread-verify",
                        "this `Verify:` line holds no command, so it is kept as prose",
                    )
                    .at(Some(line_span))
                    .help("write the command in backticks (Verify: `cargo test`), or a criterion as `Acceptance: …`"),
                );
                return false;
            }
        }
        Field::Acceptance => {
            let v = model::one_line(value);
            if v.is_empty() {
                d.label = Some((Section::Acceptance, line_span, 0));
            } else {
                d.spans.acceptance.push(Span::new(r.src, value_start, value_start + value.len()));
                d.task.acceptance.push(v);
            }
        }
        Field::DependsOn => {
            for (item, off) in md::split_list(value) {
                d.spans.depends_on.push(Span::new(r.src, value_start + off, value_start + off + item.len()));
                d.task.depends_on.push(item);
            }
        }
        Field::Files => {
            for (item, off) in md::split_list(value) {
                d.spans.files.push(Span::new(r.src, value_start + off, value_start + off + item.len()));
                d.task.files.push(item);
            }
        }
        Field::Agent => d.task.agent = scalar(),
        Field::Persona => d.task.persona = scalar(),
        Field::Milestone => d.task.milestone = scalar(),
        Field::Priority => d.task.priority = crate::reader::priority_word(b, value, Some(line_span)),
        Field::Status => match crate::reader::status_word(value) {
            Some(s) => {
                if s == Status::Done || d.task.status != Status::Done {
                    d.task.status = s;
                    d.spans.status = Some(line_span);
                }
            }
            None => b.warn(
                Diagnostic::warning(
                    "unknown-status",
                    format!("unknown status `{}`; the task is treated as pending", value.trim()),
                )
                .at(Some(r.span(line)))
                .help("write `Status: done` or `Status: pending`"),
            ),
        },
    }
    true
}

/// One list item under a `Verify:` or `Acceptance:` label.
fn label_item(b: &mut PlanBuilder, r: &Reader<'_>, d: &mut TaskDraft<'_>, sec: Section, line: &Line<'_>) {
    let before = d.task.verify.len() + d.task.acceptance.len();
    if sec == Section::Verify {
        for (cmd, span) in list_commands(b, r, line) {
            d.task.verify.push(cmd);
            d.spans.verify.push(span);
        }
    } else {
        let text = md::checkbox(line.text).map(|(_, t)| t).or_else(|| md::bullet(line.text)).unwrap_or("");
        let text = model::one_line(text);
        if !text.is_empty() {
            d.task.acceptance.push(text);
            d.spans.acceptance.push(r.span(line));
        }
    }
    let added = d.task.verify.len() + d.task.acceptance.len() - before;
    if let Some((_, _, n)) = d.label.as_mut() {
        *n += added;
    }
}

/// Ends a `Verify:`/`Acceptance:` label; one that took no entries is reported.
fn close_label(b: &mut PlanBuilder, d: &mut TaskDraft<'_>) {
    let Some((sec, span, n)) = d.label.take() else {
        return;
    };
    if n == 0 {
        let (code, key) =
            if sec == Section::Verify { ("unread-verify", "Verify") } else { ("unread-criterion", "Acceptance") };
        b.warn(
            Diagnostic::warning(code, format!("`{key}:` is followed by no list items, so it holds nothing"))
                .at(Some(span))
                .help(format!("list the entries right below it (- `…`), or use a `### {key}` section")),
        );
    }
}

/// Whether the code span `s` at `off` is all of `value` (apart from its backticks and spaces).
fn whole_span(value: &str, s: &str, off: usize) -> bool {
    let before = value.get(..off).unwrap_or("");
    let after = value.get(off + s.len()..).unwrap_or("");
    before.trim().chars().all(|c| c == '`') && after.trim().chars().all(|c| c == '`')
}

fn close_section(b: &mut PlanBuilder, r: &Reader<'_>, d: &mut TaskDraft<'_>) {
    let Some((section, body)) = d.section.take() else {
        return;
    };
    match section {
        Section::Acceptance => {
            let mut items: Vec<(String, Span)> = Vec::new();
            for line in &body {
                let l = line.text;
                if l.trim().is_empty() {
                    continue;
                }
                match md::bullet(l) {
                    Some(_) => {
                        let text = md::checkbox(l).map(|(_, t)| t).or_else(|| md::bullet(l)).unwrap_or("");
                        items.push((text.trim().to_owned(), r.span(line)));
                    }
                    None => match items.last_mut() {
                        Some((last, span)) if l.starts_with([' ', '\t']) => {
                            last.push(' ');
                            last.push_str(l.trim());
                            span.end = line.start + l.len();
                        }
                        _ => items.push((l.trim().to_owned(), r.span(line))),
                    },
                }
            }
            for (item, span) in items {
                let item = model::one_line(&item);
                if !item.is_empty() {
                    d.task.acceptance.push(item);
                    d.spans.acceptance.push(span);
                }
            }
        }
        Section::Verify => {
            for (cmd, span) in read_commands(b, r, &body) {
                d.task.verify.push(cmd);
                d.spans.verify.push(span);
            }
        }
        Section::Build | Section::Review | Section::VerifyInstructions => {
            let text = model::block(&body.iter().map(unescape_line).collect::<Vec<_>>().join("\n"));
            let slot = match section {
                Section::Build => &mut d.task.instructions.build,
                Section::Review => &mut d.task.instructions.review,
                _ => &mut d.task.instructions.verify,
            };
            if !text.is_empty() {
                *slot = Some(text);
            }
        }
    }
}

fn flush(b: &mut PlanBuilder, r: &Reader<'_>, draft: Option<TaskDraft<'_>>) {
    let Some(mut d) = draft else { return };
    close_label(b, &mut d);
    close_section(b, r, &mut d);
    if let (Some(first), Some(last)) = (
        d.description.iter().find(|l| !l.text.trim().is_empty()),
        d.description.iter().rev().find(|l| !l.text.trim().is_empty()),
    ) {
        d.spans.description = Some(Span::new(r.src, first.start, last.start + last.text.len()));
    }
    let mut first = true;
    let lines: Vec<&str> = d
        .description
        .iter()
        .map(|l| {
            let text = if l.in_fence { l.text } else { unescape(l.text, first) };
            first &= l.text.trim().is_empty();
            text
        })
        .collect();
    d.task.description = model::block(&lines.join("\n"));
    d.task.title = model::one_line(&d.task.title);
    b.push(d.task, d.spans);
}

#[cfg(test)]
mod tests;
