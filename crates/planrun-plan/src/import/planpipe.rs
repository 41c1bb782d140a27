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

use super::{Detection, Format, LoadError, Loaded, PlanBuilder, sorted_entries};
use crate::diag::Diagnostic;
use crate::md::{self, Line};
use crate::model::{self, Status, Task};
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
    super::peek_bytes(path).map(|b| String::from_utf8_lossy(&b).into_owned())
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

/// Every `ST-N` (also `ST N`, `ST_N`, `st-N`, `ST-N.M`) in `text`, canonicalised to `ST-…`, with
/// byte offsets.
fn st_ids(text: &str) -> Vec<(String, usize)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 2 < bytes.len() + 1 {
        let (Some(&a), Some(&c)) = (bytes.get(i), bytes.get(i + 1)) else {
            break;
        };
        let boundary = i == 0 || bytes.get(i - 1).is_none_or(|p| !p.is_ascii_alphanumeric());
        if boundary && a.eq_ignore_ascii_case(&b's') && c.eq_ignore_ascii_case(&b't') {
            let mut j = i + 2;
            if bytes.get(j).is_some_and(|&s| s == b'-' || s == b'_' || s == b' ') {
                j += 1;
            }
            let digits_start = j;
            while bytes.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
                // `ST-1.2` subtask numbering.
                if bytes.get(j) == Some(&b'.') && bytes.get(j + 1).is_some_and(u8::is_ascii_digit) {
                    j += 1;
                }
            }
            let after_ok = bytes.get(j).is_none_or(|n| !n.is_ascii_alphabetic());
            if j > digits_start && after_ok {
                if let Some(num) = text.get(digits_start..j) {
                    out.push((format!("ST-{num}"), i));
                }
                i = j;
                continue;
            }
        }
        i += 1;
    }
    out
}

/// `ST-3: Title` (or `ST-3 — Title`, `Subtask ST-3. Title`, a leading ✅): done, id, id offset,
/// title.
fn subtask_heading(text: &str) -> Option<(bool, String, usize, String)> {
    let (mut done, rest) = md::strip_done_mark(text);
    let rest = rest.strip_prefix("Subtask").or_else(|| rest.strip_prefix("subtask")).map_or(rest, str::trim_start);
    let rest = rest.trim_start_matches(['*', '`']);
    let (id, off) = st_ids(rest).into_iter().next()?;
    if off != 0 {
        return None;
    }
    let id_len = rest.get(2..).map_or(0, |r| {
        let sep = usize::from(r.starts_with(['-', '_', ' ']));
        2 + sep + r.get(sep..).map_or(0, |d| d.chars().take_while(|c| c.is_ascii_digit() || *c == '.').count())
    });
    let id_off = md::offset_in(text, rest).unwrap_or(0);
    let title = rest.get(id_len..).unwrap_or("").trim_start_matches(['*', '`']).trim();
    let title = title.trim_start_matches([':', '—', '–', '-', '.', ')']).trim();
    let mut title = title.to_owned();
    for mark in ["✅", "✔", "(done)", "[done]", "[x]"] {
        if let Some(t) = title.strip_suffix(mark) {
            title = t.trim_end().to_owned();
            done = true;
        }
    }
    let id = id.trim_end_matches('.').to_owned();
    Some((done, id, id_off, title))
}

// ---------------------------------------------------------------------------------------------
// One subtask's body, shared by every input form

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sec {
    Desc,
    Change,
    Accept,
    Deps,
    Verify,
}

fn section_of(name: &str) -> Option<Sec> {
    let n = name.trim().trim_matches(['*', '_', ':', ' ']).trim_end_matches(':').to_ascii_lowercase();
    let has = |w: &str| n.contains(w);
    if has("completion criteria")
        || has("acceptance")
        || has("done when")
        || has("definition of done")
        || has("success criteria")
        || n == "criteria"
    {
        Some(Sec::Accept)
    } else if has("dependenc") || has("depends on") || has("blocked by") || has("prerequisite") {
        Some(Sec::Deps)
    } else if has("change area") || n == "files" || has("affected files") || has("file changes") || has("files to") {
        Some(Sec::Change)
    } else if n == "verification" || n == "verify" || has("verification commands") || n == "how to verify" {
        Some(Sec::Verify)
    } else {
        None
    }
}

#[derive(Debug, Default)]
struct Body {
    description: Vec<String>,
    acceptance: Vec<String>,
    verify: Vec<String>,
    files: Vec<(String, Span)>,
    deps: Vec<(String, Span)>,
    deps_declared: bool,
    wave: Option<String>,
    id_field: Option<(String, Span)>,
    title_field: Option<(String, Span)>,
    done: bool,
    /// Lines that look like files or dependencies but could not be read.
    warnings: Vec<Diagnostic>,
    /// Where each acceptance criterion and verify command was written (parallel lists).
    acceptance_spans: Vec<Span>,
    verify_spans: Vec<Span>,
}

/// Finds references to other tasks: `ST-N` ids, or in a raw list plain numbers (`2`, `#2`,
/// `task 2`) which name derived `task-N` ids.
fn refs(text: &str, raw: bool) -> Vec<(String, usize)> {
    let ids = st_ids(text);
    if !ids.is_empty() || !raw {
        return ids;
    }
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let boundary = i == 0 || bytes.get(i - 1).is_none_or(|p| !p.is_ascii_alphanumeric() && *p != b'.');
        if boundary && bytes.get(i).is_some_and(u8::is_ascii_digit) {
            let start = i;
            while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if let Some(n) = text.get(start..i) {
                let n = n.trim_start_matches('0');
                out.push((format!("task-{}", if n.is_empty() { "0" } else { n }), start));
            }
            continue;
        }
        i += 1;
    }
    out
}

/// Cells of a markdown table row with their byte offsets in `line`, or `None` for other lines.
fn table_cells(line: &str) -> Option<Vec<(&str, usize)>> {
    let t = line.trim();
    if !t.starts_with('|') {
        return None;
    }
    let inner = t.strip_prefix('|')?;
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    let base = md::offset_in(line, inner)?;
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in inner.char_indices() {
        if c == '|' && !inner.get(..i).is_some_and(|s| s.ends_with('\\')) {
            push_cell(inner, start, i, base, &mut out);
            start = i + 1;
        }
    }
    push_cell(inner, start, inner.len(), base, &mut out);
    Some(out)
}

fn push_cell<'a>(inner: &'a str, start: usize, end: usize, base: usize, out: &mut Vec<(&'a str, usize)>) {
    let Some(raw) = inner.get(start..end) else {
        return;
    };
    let cell = raw.trim();
    let off = md::offset_in(inner, cell).unwrap_or(start);
    out.push((cell, base + off));
}

fn is_separator_row(cells: &[(&str, usize)]) -> bool {
    !cells.is_empty() && cells.iter().all(|(c, _)| !c.is_empty() && c.chars().all(|ch| matches!(ch, '-' | ':' | ' ')))
}

/// A file path as written in a change area: not prose, not a URL.
fn looks_like_path(s: &str) -> bool {
    let s = s.trim();
    !s.is_empty()
        && !s.contains(char::is_whitespace)
        && !s.contains("://")
        && (s.contains('/') || s.contains('.') || s.contains('*'))
        && s.chars().any(char::is_alphanumeric)
}

/// Strips `./`, a trailing `:line` and a `(new)` note from a path.
fn clean_path(s: &str) -> String {
    let s = s.trim().trim_start_matches("./");
    let s = match s.find(" (") {
        Some(i) => s.get(..i).unwrap_or(s),
        None => s,
    };
    let s = match s.find(':') {
        Some(i) if s.get(i + 1..).is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit())) => {
            s.get(..i).unwrap_or(s)
        }
        _ => s,
    };
    s.trim().to_owned()
}

struct BodyReader {
    src: SourceId,
    raw: bool,
    body: Body,
    sec: Sec,
    /// Column of a dependency table that says whether a dependency blocks.
    type_col: Option<usize>,
    file_col: Option<usize>,
    in_table_header: bool,
}

fn read_body(src: SourceId, lines: &[Line<'_>], raw: bool) -> Body {
    let mut r = BodyReader {
        src,
        raw,
        body: Body::default(),
        sec: Sec::Desc,
        type_col: None,
        file_col: None,
        in_table_header: false,
    };
    for line in lines {
        r.line(line);
    }
    r.body
}

impl BodyReader {
    fn line(&mut self, line: &Line<'_>) {
        if !line.in_fence && is_rule(line.text) {
            // A thematic break separates subtasks; it carries nothing.
            return;
        }
        if !line.in_fence {
            if let Some((_, t)) = md::heading(line.text) {
                self.type_col = None;
                self.file_col = None;
                self.in_table_header = true;
                match section_of(t) {
                    Some(sec) => {
                        self.sec = sec;
                        if sec == Sec::Deps {
                            self.body.deps_declared = true;
                        }
                        if sec == Sec::Change {
                            self.body.description.push(line.text.to_owned());
                        }
                    }
                    None => {
                        self.sec = Sec::Desc;
                        self.body.description.push(line.text.to_owned());
                    }
                }
                return;
            }
            // A label paragraph ("Done when:", "**Completion criteria:**") opens a section too.
            let label = line.text.trim().trim_matches('*').trim();
            if label.ends_with(':') && md::bullet(line.text).is_none() {
                if let Some(sec) = section_of(label) {
                    self.sec = sec;
                    if sec == Sec::Deps {
                        self.body.deps_declared = true;
                    }
                    if sec == Sec::Change {
                        self.body.description.push(line.text.to_owned());
                    }
                    self.in_table_header = true;
                    return;
                }
            }
            if self.sec == Sec::Desc && self.field(line) {
                return;
            }
        }
        match self.sec {
            Sec::Desc => self.body.description.push(line.text.to_owned()),
            Sec::Change => {
                self.body.description.push(line.text.to_owned());
                if !line.in_fence {
                    self.change_line(line);
                }
            }
            Sec::Accept => self.accept_line(line),
            Sec::Deps => self.deps_line(line),
            Sec::Verify => self.verify_line(line),
        }
    }

    /// `Key: value` lines planpipe uses for subtask metadata. Returns whether the line was used.
    fn field(&mut self, line: &Line<'_>) -> bool {
        if line.text.trim_start().starts_with('|') || md::checkbox(line.text).is_some() {
            return false;
        }
        let Some((key, value, off)) = md::field(line.text) else {
            return false;
        };
        let vspan = Span::new(self.src, line.start + off, line.start + off + value.len());
        let key = key.trim().to_ascii_lowercase().replace(['_', '-'], " ");
        match key.as_str() {
            "id" => {
                if let Some((id, o)) = st_ids(value).into_iter().next() {
                    self.body.id_field = Some((id, Span::new(self.src, vspan.start + o, vspan.end)));
                } else if !value.is_empty() {
                    self.body.id_field = Some((value.trim_matches('`').to_owned(), vspan));
                }
                true
            }
            "title" | "name" if !value.is_empty() => {
                self.body.title_field = Some((value.to_owned(), vspan));
                true
            }
            "wave" | "execution wave" => {
                let n: String =
                    value.chars().skip_while(|c| !c.is_ascii_digit()).take_while(char::is_ascii_digit).collect();
                self.body.wave = Some(if n.is_empty() { value.to_owned() } else { n });
                true
            }
            "status" | "state" => match crate::native::status_word(value) {
                Some(s) => {
                    self.body.done |= s == Status::Done;
                    true
                }
                None => false,
            },
            "depends on" | "dependencies" | "dependency" | "blocked by" | "deps" | "after" | "requires"
            | "prerequisites" => {
                self.body.deps_declared = true;
                if value.is_empty() {
                    self.sec = Sec::Deps;
                    return true;
                }
                let found = refs(value, self.raw);
                if found.is_empty() && !says_none(value) {
                    self.unread_dependency(value, vspan);
                }
                for (id, o) in found {
                    self.body.deps.push((id.clone(), Span::new(self.src, vspan.start + o, vspan.start + o + id.len())));
                }
                true
            }
            "blocks" | "unblocks" | "enables" | "type" | "priority" | "estimated scope" | "scope" | "size"
            | "effort" | "complexity" => true,
            "files" | "file" | "change area" | "touches" | "affected files" => {
                if value.is_empty() {
                    self.sec = Sec::Change;
                    return true;
                }
                for (item, o) in md::split_list(value) {
                    let path = clean_path(&item);
                    let span = Span::new(self.src, vspan.start + o, vspan.start + o + item.len());
                    if looks_like_path(&path) {
                        self.body.files.push((path, span));
                    } else {
                        self.unread_file(&item, span);
                    }
                }
                true
            }
            "done when" | "completion criteria" | "acceptance" | "acceptance criteria" => {
                if value.is_empty() {
                    self.sec = Sec::Accept;
                } else {
                    self.body.acceptance.push(model::one_line(value));
                    self.body.acceptance_spans.push(vspan);
                }
                true
            }
            _ => false,
        }
    }

    fn change_line(&mut self, line: &Line<'_>) {
        if let Some(cells) = table_cells(line.text) {
            if is_separator_row(&cells) {
                return;
            }
            if self.in_table_header {
                self.in_table_header = false;
                self.file_col = cells.iter().position(|(c, _)| {
                    let c = c.to_ascii_lowercase();
                    c.contains("file") || c.contains("path")
                });
                return;
            }
            let chosen: Vec<(&str, usize)> = match self.file_col {
                Some(col) => cells.get(col).copied().into_iter().collect(),
                None => cells,
            };
            for (cell, off) in chosen {
                let before = self.body.files.len();
                self.paths_in(cell, line.start + off, self.file_col.is_some());
                if self.file_col.is_some() && self.body.files.len() == before && !says_none(cell) {
                    self.unread_file(cell, Span::new(self.src, line.start + off, line.start + off + cell.len()));
                }
            }
            return;
        }
        self.in_table_header = true;
        let text = md::bullet(line.text).unwrap_or(line.text);
        let off = md::offset_in(line.text, text).unwrap_or(0);
        let before = self.body.files.len();
        self.paths_in(text, line.start + off, false);
        // A list item of a Files section is meant to be a file; prose paragraphs are not.
        if md::bullet(line.text).is_some() && self.body.files.len() == before && !says_none(text) {
            self.unread_file(text, Span::new(self.src, line.start + off, line.start + off + text.len()));
        }
    }

    fn unread_file(&mut self, text: &str, span: Span) {
        self.body.warnings.push(
            Diagnostic::warning(
                "unread-file",
                format!("`{}` is listed as a file but holds no path planrun can read", text.trim()),
            )
            .at(Some(span))
            .help("write the path first, in backticks: `src/cache.ts`"),
        );
    }

    fn unread_dependency(&mut self, text: &str, span: Span) {
        self.body.warnings.push(
            Diagnostic::warning("unread-dependency", format!("this dependency names no subtask: `{}`", text.trim()))
                .at(Some(span))
                .help("name the subtask it waits for by id, e.g. `ST-2`, or write `None`"),
        );
    }

    /// Paths in a change-area cell or item: its code spans, or the leading word when it looks
    /// like a path (`src/a.rs — what changes`).
    fn paths_in(&mut self, text: &str, base: usize, whole_cell: bool) {
        let spans = md::code_spans(text);
        if spans.is_empty() {
            let head = text.split([' ', '\t']).next().unwrap_or("").trim_end_matches([':', ',']);
            let candidate = if whole_cell { text.trim() } else { head };
            let path = clean_path(candidate);
            if looks_like_path(&path) {
                let off = md::offset_in(text, candidate).unwrap_or(0);
                self.push_file(path, Span::new(self.src, base + off, base + off + candidate.len()));
            }
            return;
        }
        for (s, off) in spans {
            let path = clean_path(s);
            if looks_like_path(&path) {
                self.push_file(path, Span::new(self.src, base + off, base + off + s.len()));
            }
        }
    }

    fn push_file(&mut self, path: String, span: Span) {
        if !self.body.files.iter().any(|(p, _)| *p == path) {
            self.body.files.push((path, span));
        }
    }

    fn accept_line(&mut self, line: &Line<'_>) {
        let t = line.text.trim();
        if t.is_empty() || line.in_fence {
            return;
        }
        if let Some(cells) = table_cells(line.text) {
            if is_separator_row(&cells) || std::mem::take(&mut self.in_table_header) {
                return;
            }
            let text: Vec<&str> = cells
                .iter()
                .map(|(c, _)| *c)
                .filter(|c| !c.is_empty() && !c.chars().all(|ch| ch.is_ascii_digit()))
                .collect();
            if !text.is_empty() {
                self.body.acceptance.push(model::one_line(&text.join(" — ")));
                self.body.acceptance_spans.push(self.line_span(line));
            }
            return;
        }
        let item = md::checkbox(line.text).map(|(_, t)| t).or_else(|| md::bullet(line.text));
        let span = self.line_span(line);
        match item {
            Some(item) => {
                self.body.acceptance.push(model::one_line(item));
                self.body.acceptance_spans.push(span);
            }
            None => match (self.body.acceptance.last_mut(), self.body.acceptance_spans.last_mut()) {
                (Some(last), Some(at)) if line.text.starts_with([' ', '\t']) => {
                    last.push(' ');
                    last.push_str(t);
                    at.end = span.end;
                }
                _ => {
                    self.body.acceptance.push(model::one_line(t));
                    self.body.acceptance_spans.push(span);
                }
            },
        }
    }

    fn deps_line(&mut self, line: &Line<'_>) {
        if line.in_fence || line.text.trim().is_empty() {
            return;
        }
        if let Some(cells) = table_cells(line.text) {
            if is_separator_row(&cells) {
                return;
            }
            if self.in_table_header {
                self.in_table_header = false;
                self.type_col = cells.iter().position(|(c, _)| {
                    let c = c.to_ascii_lowercase();
                    c == "type" || c.contains("kind") || c.contains("blocking")
                });
                if self.type_col.is_some() || cells.iter().any(|(c, _)| st_ids(c).is_empty() && !c.is_empty()) {
                    return;
                }
            }
            let soft = match self.type_col.and_then(|c| cells.get(c)) {
                Some((kind, _)) => is_soft(kind),
                None => is_soft(line.text),
            };
            if !soft {
                self.push_refs(line.text, line.start);
            }
            return;
        }
        self.in_table_header = true;
        if is_soft(line.text) {
            return;
        }
        if let Some((key, _, _)) = md::field(line.text) {
            let k = key.trim().to_ascii_lowercase();
            if k.starts_with("blocks") || k.starts_with("unblocks") || k.starts_with("enables") {
                return;
            }
        }
        let item = md::bullet(line.text).unwrap_or(line.text).trim();
        if refs(line.text, self.raw).is_empty() && !says_none(item) {
            let off = md::offset_in(line.text, item).unwrap_or(0);
            self.unread_dependency(item, Span::new(self.src, line.start + off, line.start + off + item.len()));
            return;
        }
        self.push_refs(line.text, line.start);
    }

    fn push_refs(&mut self, text: &str, base: usize) {
        for (id, o) in refs(text, self.raw) {
            if !self.body.deps.iter().any(|(d, _)| *d == id) {
                let span = Span::new(self.src, base + o, base + o + id.len());
                self.body.deps.push((id, span));
            }
        }
    }

    fn verify_line(&mut self, line: &Line<'_>) {
        if line.in_fence {
            if md::fence_of(line.text).is_none() && !line.text.trim().is_empty() {
                self.body.verify.push(line.text.trim().to_owned());
                self.body.verify_spans.push(self.line_span(line));
            }
            return;
        }
        let item =
            md::checkbox(line.text).map(|(_, t)| t).or_else(|| md::bullet(line.text)).unwrap_or(line.text).trim();
        if item.is_empty() {
            return;
        }
        // Only a backticked command is a command; prose checks stay acceptance criteria.
        let spans = md::code_spans(item);
        match spans.as_slice() {
            [(cmd, _)] if item.starts_with('`') && item.trim_end_matches('.').ends_with('`') => {
                self.body.verify.push(cmd.trim().to_owned());
                self.body.verify_spans.push(self.line_span(line));
            }
            _ => {
                self.body.acceptance.push(model::one_line(item));
                self.body.acceptance_spans.push(self.line_span(line));
            }
        }
    }

    fn line_span(&self, line: &Line<'_>) -> Span {
        Span::new(self.src, line.start, line.start + line.text.len())
    }
}

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Top {
    Other,
    Overview,
    Waves,
    Graph,
    Subtasks,
}

fn read_backlog(b: &mut PlanBuilder, src: SourceId, ctx: &mut Ctx, with_tasks: bool) {
    let text = b.text(src).to_owned();
    let lines = md::lines(&text);
    let level = lines
        .iter()
        .filter(|l| !l.in_fence)
        .find_map(|l| md::heading(l.text).filter(|(lv, t)| *lv >= 2 && subtask_heading(t).is_some()).map(|(lv, _)| lv))
        .unwrap_or(3);

    let mut h1: Option<String> = None;
    let mut quote_task: Option<String> = None;
    let mut overview: Vec<&str> = Vec::new();
    let mut graph_text: Vec<&Line<'_>> = Vec::new();
    let mut top = Top::Other;
    let mut current_wave: Option<String> = None;
    // The subtask being read: its heading line and body lines.
    let mut open: Option<(usize, Vec<Line<'_>>)> = None;
    let mut blocks: Vec<(usize, Vec<Line<'_>>)> = Vec::new();

    for (idx, line) in lines.iter().enumerate() {
        let heading = if line.in_fence { None } else { md::heading(line.text) };
        if let Some((lv, t)) = heading {
            if lv == 1 && h1.is_none() {
                h1 = Some(t.to_owned());
                continue;
            }
            if lv <= level {
                if let Some(block) = open.take() {
                    blocks.push(block);
                }
                let is_subtask = subtask_heading(t).is_some() || (lv == level && top == Top::Subtasks);
                if lv == level && is_subtask {
                    open = Some((idx, Vec::new()));
                    continue;
                }
                if lv < level {
                    let lower = t.to_ascii_lowercase();
                    top = if lower.contains("subtask") && !lower.contains("summary") {
                        Top::Subtasks
                    } else if lower.contains("wave") {
                        Top::Waves
                    } else if lower.contains("dependency graph") || lower.contains("dependencies") {
                        Top::Graph
                    } else if lower.contains("overview") || lower == "task summary" || lower.contains("approach") {
                        Top::Overview
                    } else {
                        Top::Other
                    };
                    if top == Top::Overview {
                        overview.push(line.text);
                    }
                    continue;
                }
            }
            if top == Top::Waves {
                if let Some(n) = wave_number(t) {
                    ctx.wave_names.insert(n.clone(), t.to_owned());
                    current_wave = Some(n);
                }
            }
        }
        if let Some((_, body)) = open.as_mut() {
            body.push(*line);
            continue;
        }
        if let Some(v) = quote_field(line.text, "Task") {
            quote_task.get_or_insert_with(|| v.to_owned());
        }
        match top {
            Top::Overview => overview.push(line.text),
            Top::Graph => graph_text.push(line),
            Top::Waves => {
                // Wave tables: | ST-1 | Title | … | ; the first id of a row is the subtask.
                if let (Some(w), Some(cells)) = (current_wave.as_ref(), table_cells(line.text)) {
                    if let Some((id, _)) = cells.first().and_then(|(c, _)| st_ids(c).into_iter().next()) {
                        ctx.wave_of.entry(id).or_insert_with(|| w.clone());
                    }
                }
            }
            Top::Other | Top::Subtasks => {}
        }
    }
    if let Some(block) = open.take() {
        blocks.push(block);
    }

    if b.plan.title.trim().is_empty() {
        if let Some(t) = quote_task.or_else(|| h1.clone().filter(|t| !heading_is_generic(t))) {
            b.plan.title = t;
        }
    }
    let overview = model::block(&overview.join("\n"));
    if !overview.is_empty() {
        ctx.context_fallback.push(overview);
    }
    for line in graph_text {
        ctx.graph.extend(parse_graph(line.text, src, line.start));
    }
    if !with_tasks {
        return;
    }
    if blocks.is_empty() {
        let mut named: Vec<String> = Vec::new();
        for (id, _) in st_ids(&text) {
            if named.len() == 3 {
                break;
            }
            if !named.contains(&id) {
                named.push(id);
            }
        }
        let names = if named.is_empty() {
            String::new()
        } else {
            format!(" (it names {} but gives them no section of their own)", named.join(", "))
        };
        b.warn(
            Diagnostic::error(
                "no-tasks",
                format!(
                    "`{}` has no subtask sections (`### ST-1: Title`){names}, so there is nothing to run",
                    file_name(b.sources.path(src))
                ),
            )
            .at(Some(Span::new(src, 0, 0)))
            .help("give each subtask a heading `### ST-N: Title`, or put one file per subtask in `subtasks/st-N.md`"),
        );
    }

    for (n, (head_idx, body_lines)) in blocks.iter().enumerate() {
        let Some(head) = lines.get(*head_idx) else {
            continue;
        };
        let (_, htext) = md::heading(head.text).unwrap_or((level, ""));
        let hoff = md::offset_in(head.text, htext).unwrap_or(0);
        let head_span = line_span(src, head);
        let body = read_body(src, body_lines, false);
        let mut spans = TaskSpans { task: Some(head_span), title: Some(head_span), ..TaskSpans::default() };
        let (done, id, title) = match subtask_heading(htext) {
            Some((done, id, id_off, title)) => {
                let start = head.start + hoff + id_off;
                spans.id = Some(Span::new(src, start, start + id.len()));
                (done, id, title)
            }
            None => match &body.id_field {
                Some((id, span)) => {
                    spans.id = Some(*span);
                    (md::strip_done_mark(htext).0, id.clone(), md::strip_done_mark(htext).1.to_owned())
                }
                None => {
                    let id = format!("task-{}", n + 1);
                    b.warn(
                        Diagnostic::error(
                            "missing-id",
                            format!("this subtask heading has no `ST-N` id; it was read as `{id}`"),
                        )
                        .at(Some(head_span))
                        .help("start the heading with the subtask id, e.g. `### ST-4: Add rate limits`"),
                    );
                    (md::strip_done_mark(htext).0, id, md::strip_done_mark(htext).1.to_owned())
                }
            },
        };
        let title =
            if title.is_empty() { body.title_field.as_ref().map(|t| t.0.clone()).unwrap_or_default() } else { title };
        let task = task_from(id, title, done, &body, ctx);
        push_task(b, ctx, task, spans, &body);
    }
    finish_deps(b, ctx, false);
}

fn wave_number(heading: &str) -> Option<String> {
    let lower = heading.to_ascii_lowercase();
    let rest = lower.trim().strip_prefix("wave")?;
    let n: String = rest.trim_start().chars().take_while(char::is_ascii_digit).collect();
    (!n.is_empty()).then_some(n)
}

// ---------------------------------------------------------------------------------------------
// Format B: subtasks/st-N.md

fn read_st_file(b: &mut PlanBuilder, src: SourceId, path: &Path, ctx: &mut Ctx) {
    let text = b.text(src).to_owned();
    let lines = md::lines(&text);
    let first = lines.iter().position(|l| !l.in_fence && md::heading(l.text).is_some());
    let head = first.and_then(|i| lines.get(i));
    let body_lines: Vec<Line<'_>> = match first {
        Some(i) => lines.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, l)| *l).collect(),
        None => lines.clone(),
    };
    let body = read_body(src, &body_lines, false);
    let file_span = Span::new(src, 0, text.find('\n').unwrap_or(text.len()));
    let head_span = head.map_or(file_span, |h| line_span(src, h));
    let htext = head.and_then(|h| md::heading(h.text)).map_or("", |(_, t)| t);
    let mut spans = TaskSpans { task: Some(head_span), title: Some(head_span), ..TaskSpans::default() };

    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let (done, id, title) = match subtask_heading(htext) {
        Some((done, id, id_off, title)) => {
            if let Some(h) = head {
                let start = h.start + md::offset_in(h.text, htext).unwrap_or(0) + id_off;
                spans.id = Some(Span::new(src, start, start + id.len()));
            }
            (done, id, title)
        }
        None => {
            let (done, t) = md::strip_done_mark(htext);
            let t = t.strip_prefix("Subtask:").unwrap_or(t).trim().to_owned();
            // The file name carries the id when the heading does not: st-3.md -> ST-3.
            let id = match (&body.id_field, st_ids(&stem).into_iter().next()) {
                (Some((id, span)), _) => {
                    spans.id = Some(*span);
                    id.clone()
                }
                (None, Some((id, 0))) => id,
                _ => super::slug(&stem),
            };
            (done, id, t)
        }
    };
    let title =
        if title.is_empty() { body.title_field.as_ref().map(|t| t.0.clone()).unwrap_or_default() } else { title };
    let task = task_from(id, title, done, &body, ctx);
    push_task(b, ctx, task, spans, &body);
}

/// Applies graph edges (to every task the graph names, or only to tasks that declared nothing)
/// and warns about references to unknown subtasks.
fn finish_deps(b: &mut PlanBuilder, ctx: &Ctx, graph_wins: bool) {
    if ctx.graph.is_empty() {
        return;
    }
    let named: HashSet<&str> = ctx.graph.iter().map(|(d, _, _)| d.as_str()).collect();
    for (i, task) in b.plan.tasks.iter_mut().enumerate() {
        let use_graph = if graph_wins { named.contains(task.id.as_str()) } else { !ctx.declared.contains(&i) };
        if !use_graph {
            continue;
        }
        let Some(spans) = b.task_spans.get_mut(i) else {
            continue;
        };
        if graph_wins {
            task.depends_on.clear();
            spans.depends_on.clear();
        }
        for (dep, pre, span) in &ctx.graph {
            if *dep == task.id && *pre != task.id && !task.depends_on.contains(pre) {
                task.depends_on.push(pre.clone());
                spans.depends_on.push(*span);
            }
        }
    }
}

/// Edges of a dependency graph written as arrows (`ST-1 → ST-2`, `ST-1 ──→ ST-4`, chains,
/// `ST-7 + ST-8 → ST-9`, continuation lines starting with an arrow, `ST-3 ← ST-1`) or as lists
/// (`- ST-4: depends on ST-1, ST-3`, `ST-1 blocks ST-2`, table rows). Returns (dependent,
/// prerequisite, span of the prerequisite). `[soft]` edges are skipped.
fn parse_graph(text: &str, src: SourceId, base: usize) -> Vec<(String, String, Span)> {
    const FORWARD: [&str; 8] = ["→", "⟶", "➜", "➔", "►", "▶", "->", "=>"];
    const BACKWARD: [&str; 3] = ["←", "⟵", "<-"];
    let mut out = Vec::new();
    let mut last_left: Vec<(String, usize)> = Vec::new();
    let mut header_reversed = false;
    let mut offset = base;
    for raw in text.split_inclusive('\n') {
        let line_start = offset;
        offset += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        let find_arrows = |arrows: &[&str]| -> Vec<(usize, usize)> {
            let mut found: Vec<(usize, usize)> = Vec::new();
            for a in arrows {
                for (i, _) in line.match_indices(a) {
                    if !found.iter().any(|(s, e)| i < *e && i + a.len() > *s) {
                        found.push((i, i + a.len()));
                    }
                }
            }
            found.sort_unstable();
            found
        };
        let ids_in = |from: usize, to: usize| -> Vec<(String, usize)> {
            line.get(from..to)
                .map(|seg| st_ids(seg).into_iter().map(|(id, o)| (id, from + o)).collect())
                .unwrap_or_default()
        };
        let forward = find_arrows(&FORWARD);
        let backward = if forward.is_empty() { find_arrows(&BACKWARD) } else { Vec::new() };
        let arrows = if forward.is_empty() { &backward } else { &forward };
        if !arrows.is_empty() {
            // Segments between arrows, in the direction prerequisites -> dependents.
            let mut bounds = vec![0];
            for (s, e) in arrows {
                bounds.push(*s);
                bounds.push(*e);
            }
            bounds.push(line.len());
            let mut segs: Vec<(Vec<(String, usize)>, bool)> = bounds
                .chunks(2)
                .map(|c| match c {
                    [s, e] => {
                        (ids_in(*s, *e), line.get(*s..*e).is_some_and(|t| t.to_ascii_lowercase().contains("soft")))
                    }
                    _ => (Vec::new(), false),
                })
                .collect();
            if forward.is_empty() {
                segs.reverse();
            }
            if let Some(first) = segs.first_mut() {
                if first.0.is_empty() && !forward.is_empty() {
                    first.0 = last_left.clone();
                } else if !forward.is_empty() {
                    last_left = first.0.clone();
                }
            }
            for pair in segs.windows(2) {
                let [(pres, _), (deps, soft)] = pair else {
                    continue;
                };
                if *soft {
                    continue;
                }
                for (dep, _) in deps {
                    for (pre, o) in pres {
                        out.push((
                            dep.clone(),
                            pre.clone(),
                            Span::new(src, line_start + o, line_start + o + pre.len()),
                        ));
                    }
                }
            }
            continue;
        }
        // A table header says which way its rows read.
        if let Some(cells) = table_cells(line) {
            if is_separator_row(&cells) {
                continue;
            }
            if cells.iter().all(|(c, _)| st_ids(c).is_empty()) {
                header_reversed = cells.iter().skip(1).any(|(c, _)| {
                    let c = c.to_ascii_lowercase();
                    (c.contains("blocks") || c.contains("unblocks") || c.contains("enables"))
                        && !c.contains("blocked by")
                });
                continue;
            }
        }
        let ids = st_ids(line);
        let Some(((subject, subject_off), others)) = ids.split_first() else {
            continue;
        };
        if others.is_empty() || is_soft(line) {
            continue;
        }
        // The subject must lead the line; "Wave 1: ST-1, ST-2" lists, it does not depend.
        let prefix = line.get(..*subject_off).unwrap_or("");
        if prefix.chars().any(char::is_alphabetic) {
            continue;
        }
        let lower = line.to_ascii_lowercase();
        let is_table = table_cells(line).is_some();
        let reversed = if is_table {
            header_reversed
        } else if ["blocked by", "depends", "after", "needs", "requires", "waits"].iter().any(|w| lower.contains(w)) {
            false
        } else if ["blocks", "unblocks", "enables", "before", "required by", "needed by"]
            .iter()
            .any(|w| lower.contains(w))
        {
            true
        } else if lower.contains(':') {
            false
        } else {
            continue;
        };
        for (other, o) in others {
            if reversed {
                let s = Span::new(src, line_start + subject_off, line_start + subject_off + subject.len());
                out.push((other.clone(), subject.clone(), s));
            } else {
                out.push((
                    subject.clone(),
                    other.clone(),
                    Span::new(src, line_start + o, line_start + o + other.len()),
                ));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Format C: a raw task list

fn read_raw(b: &mut PlanBuilder, src: SourceId) {
    let text = b.text(src).to_owned();
    let lines = md::lines(&text);
    let task_heading = |t: &str| {
        let (_, t) = md::strip_done_mark(t);
        let t = t.trim_start_matches("[ ]").trim_start();
        let digits = t.chars().take_while(char::is_ascii_digit).count();
        (digits > 0 && t.get(digits..).is_some_and(|r| r.starts_with(['.', ')', ':'])))
            || t.starts_with("Task")
            || subtask_heading(t).is_some()
    };
    let heading_level = lines
        .iter()
        .filter(|l| !l.in_fence)
        .filter_map(|l| md::heading(l.text))
        .filter(|(lv, t)| *lv >= 2 && task_heading(t))
        .map(|(lv, _)| lv)
        .min();
    let mut items: Vec<(Line<'_>, Vec<Line<'_>>, Option<String>)> = Vec::new();
    let mut milestone: Option<String> = None;
    let mut h1: Option<String> = None;
    let mut preamble: Vec<&str> = Vec::new();
    match heading_level {
        Some(level) => {
            for line in &lines {
                let heading = if line.in_fence { None } else { md::heading(line.text) };
                match heading {
                    Some((1, t)) if h1.is_none() && items.is_empty() => h1 = Some(t.to_owned()),
                    Some((lv, t)) if lv == level && task_heading(t) => {
                        items.push((*line, Vec::new(), milestone.clone()))
                    }
                    Some((lv, t)) if lv < level => {
                        milestone = Some(t.to_owned());
                    }
                    _ => match items.last_mut() {
                        Some((_, body, _)) => body.push(*line),
                        None => preamble.push(line.text),
                    },
                }
            }
        }
        None => {
            let indent_of = |l: &Line<'_>| l.text.len() - l.text.trim_start().len();
            let top =
                lines.iter().filter(|l| !l.in_fence && md::bullet(l.text).is_some()).map(indent_of).min().unwrap_or(0);
            // After a heading, lines belong to no task until the next item.
            let mut detached = false;
            for line in &lines {
                let heading = if line.in_fence { None } else { md::heading(line.text) };
                if let Some((lv, t)) = heading {
                    if lv == 1 && h1.is_none() && items.is_empty() {
                        h1 = Some(t.to_owned());
                    } else {
                        // A heading groups the items after it; it is not part of a task.
                        milestone = Some(t.to_owned()).filter(|t| !heading_is_generic(t));
                    }
                    detached = true;
                    continue;
                }
                if !line.in_fence && indent_of(line) == top && md::bullet(line.text).is_some() {
                    items.push((*line, Vec::new(), milestone.clone()));
                    detached = false;
                } else if items.is_empty() && milestone.is_none() {
                    preamble.push(line.text);
                } else if let (false, Some((_, body, _))) = (detached, items.last_mut()) {
                    body.push(*line);
                }
            }
        }
    }
    if let Some(t) = h1.filter(|t| !heading_is_generic(t)) {
        b.plan.title = t;
    }
    // Text before the first task describes the whole list.
    b.plan.context = preamble.join("\n");
    let mut ctx = Ctx::default();
    let mut prev: Option<String> = None;
    for (n, (head, body_lines, milestone)) in items.iter().enumerate() {
        let head_span = line_span(src, head);
        let (mut done, text) = match md::heading(head.text) {
            Some((_, t)) => {
                let (done, t) = md::strip_done_mark(t);
                let t = t.strip_prefix("[ ]").map_or(t, str::trim_start);
                (done, t)
            }
            None => match md::checkbox(head.text) {
                Some((done, t)) => (done, t),
                None => (false, md::bullet(head.text).unwrap_or(head.text)),
            },
        };
        let text_off = head.start + md::offset_in(head.text, text).unwrap_or(0);
        let dedented = dedent(body_lines);
        let body = read_body(src, &dedented, true);
        let mut spans = TaskSpans { task: Some(head_span), title: Some(head_span), ..TaskSpans::default() };
        let (id, title) = match subtask_heading(text.trim_start_matches("**")) {
            Some((_, id, off, title)) => {
                let start = text_off + md::offset_in(text, text.trim_start_matches("**")).unwrap_or(0) + off;
                spans.id = Some(Span::new(src, start, start + id.len()));
                (id, title.trim_matches('*').trim().to_owned())
            }
            None => {
                // `2. ✅ Title`: the done mark may follow the numbering.
                let (numbered_done, t) = md::strip_done_mark(strip_number(text));
                done |= numbered_done;
                (format!("task-{}", n + 1), t.to_owned())
            }
        };
        let title = model::one_line(title.trim_matches('*').trim());
        let mut task = task_from(id.clone(), title, done, &body, &ctx);
        task.milestone = task.milestone.or_else(|| milestone.clone());
        let mut spans_deps = Vec::new();
        if !body.deps_declared {
            // A raw list has no dependencies unless it names them: tasks run in list order.
            if let Some(p) = &prev {
                task.depends_on.push(p.clone());
                spans_deps.push(head_span);
            }
        }
        spans.depends_on = spans_deps;
        prev = Some(id);
        push_task(b, &mut ctx, task, spans, &body);
    }
    if b.plan.tasks.is_empty() {
        b.warn(
            Diagnostic::error(
                "no-tasks",
                "this task list holds no list items or numbered headings, so there is nothing to run",
            )
            .at(Some(Span::new(src, 0, 0)))
            .help("write one task per list item, e.g. `- [ ] Add a /health endpoint`"),
        );
    }
}

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

fn apply_status(b: &mut PlanBuilder, src: SourceId) {
    let text = b.text(src).to_owned();
    let mut id_col: Option<usize> = None;
    let mut status_col: Option<usize> = None;
    let mut list_col: Option<usize> = None;
    let mut header = true;
    let mut seen: HashSet<String> = HashSet::new();
    let mut summary: Vec<(String, Status, Span)> = Vec::new();
    for line in md::lines(&text) {
        if line.in_fence {
            continue;
        }
        let Some(cells) = table_cells(line.text) else {
            header = true;
            continue;
        };
        if is_separator_row(&cells) {
            continue;
        }
        if header {
            header = false;
            let lower: Vec<String> = cells.iter().map(|(c, _)| c.to_ascii_lowercase()).collect();
            status_col = lower.iter().position(|c| c == "status" || c == "state");
            id_col = lower.iter().position(|c| c == "id" || c == "subtask" || c == "task" || c == "st");
            list_col = lower.iter().position(|c| c.contains("subtasks") || c.contains("tasks"));
            continue;
        }
        match (id_col, status_col) {
            (Some(ic), Some(sc)) => {
                let (Some((id_cell, id_off)), Some((word, word_off))) = (cells.get(ic), cells.get(sc)) else {
                    continue;
                };
                let id = st_ids(id_cell)
                    .into_iter()
                    .next()
                    .map_or_else(|| id_cell.trim_matches('`').to_owned(), |(id, _)| id);
                let span = Span::new(src, line.start + id_off, line.start + id_off + id_cell.len());
                let wspan = Span::new(src, line.start + word_off, line.start + word_off + word.len());
                let Some(status) = state_word(b, word, wspan) else {
                    continue;
                };
                seen.insert(id.clone());
                set_status(b, &id, status, span);
            }
            (None, Some(sc)) => {
                // "Status Summary": | done | 3 | ST-1, ST-2 |
                let (Some((word, _)), Some((list, list_off))) = (cells.get(sc), list_col.and_then(|c| cells.get(c)))
                else {
                    continue;
                };
                let Some(status) = planpipe_state(word) else {
                    continue;
                };
                for (id, o) in st_ids(list) {
                    let start = line.start + list_off + o;
                    summary.push((id.clone(), status, Span::new(src, start, start + id.len())));
                }
            }
            _ => {}
        }
    }
    for (id, status, span) in summary {
        if !seen.contains(&id) {
            set_status(b, &id, status, span);
        }
    }
}

fn planpipe_state(word: &str) -> Option<Status> {
    let w = word.trim().trim_matches(['*', '_', '`']).trim().to_ascii_lowercase().replace([' ', '-'], "_");
    let w = w.trim_start_matches('✅').trim_start_matches('_');
    match w {
        "done" | "completed" | "complete" | "closed" | "passed" => Some(Status::Done),
        "pending" | "ready" | "in_progress" | "in_review" | "rework" | "blocked" | "todo" | "started" | "review"
        | "failed" | "escalated" => Some(Status::Pending),
        _ => crate::native::status_word(word),
    }
}

fn state_word(b: &mut PlanBuilder, word: &str, span: Span) -> Option<Status> {
    let status = planpipe_state(word);
    if status.is_none() {
        b.warn(
            Diagnostic::warning(
                "unknown-status",
                format!("unknown execution state `{}`; the subtask is treated as not done", word.trim()),
            )
            .at(Some(span))
            .help("use one of pending, ready, in_progress, in_review, rework, done, blocked"),
        );
    }
    status
}

fn set_status(b: &mut PlanBuilder, id: &str, status: Status, span: Span) {
    match b.plan.tasks.iter_mut().find(|t| t.id.eq_ignore_ascii_case(id)) {
        Some(task) => {
            if status == Status::Done {
                task.status = Status::Done;
            }
        }
        None => b.warn(
            Diagnostic::warning(
                "unknown-task",
                format!("the execution status lists `{id}`, which is not a subtask of this plan"),
            )
            .at(Some(span))
            .help("remove the row, or restore the subtask in the backlog"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_found() {
        let ids: Vec<String> =
            st_ids("ST-1 (x) ──→ st-4, ST 5 and ST_6; FAST-7 ST-1.2 STx").into_iter().map(|x| x.0).collect();
        assert_eq!(ids, vec!["ST-1", "ST-4", "ST-5", "ST-6", "ST-1.2"]);
    }

    #[test]
    fn headings() {
        assert_eq!(
            subtask_heading("ST-3: Add limits").map(|h| (h.0, h.1, h.3)),
            Some((false, "ST-3".into(), "Add limits".into()))
        );
        assert_eq!(
            subtask_heading("✅ ST-10 — Done thing").map(|h| (h.0, h.1, h.3)),
            Some((true, "ST-10".into(), "Done thing".into()))
        );
        assert_eq!(subtask_heading("Wave 1 — ST-1").map(|h| h.1), None);
        assert_eq!(subtask_heading("ST-2:").map(|h| h.3), Some(String::new()));
    }

    #[test]
    fn graph_forms() {
        let mut s = crate::source::Sources::default();
        let id = s.add("g", String::new());
        let text = "ST-1 (a) ──→ ST-4\n         ──→ ST-5\nST-7 + ST-8 → ST-9\nST-3 ← ST-2\n- ST-6: depends on ST-2\nST-2 blocks ST-10\nWave 1: ST-1, ST-2\nST-3 → ST-6 [soft]\n";
        let edges: Vec<(String, String)> = parse_graph(text, id, 0).into_iter().map(|(a, b, _)| (a, b)).collect();
        let want = [
            ("ST-4", "ST-1"),
            ("ST-5", "ST-1"),
            ("ST-9", "ST-7"),
            ("ST-9", "ST-8"),
            ("ST-3", "ST-2"),
            ("ST-6", "ST-2"),
            ("ST-10", "ST-2"),
        ];
        let want: Vec<(String, String)> = want.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect();
        assert_eq!(edges, want);
    }
}
