//! Writing back what a run did, in the files the plan's own format uses for progress: ✅ headings
//! and ticked boxes in markdown plans, status fields in JSON task files, and the status and summary
//! files some tools keep beside the plan (see `docs/importers/README.md`, "Status files").
//!
//! [`edits`] computes every file's new contents from a [`Loaded`] plan without writing anything
//! (it only looks at whether files it would create already exist); [`write`] replaces each file
//! atomically. Edits to plan files are minimal: only the marks of tasks reported done change, the
//! rest of each file is kept byte for byte, and applying the edits again changes nothing. A mark
//! a user set is never removed. Compute edits from a fresh load: they replace whole files.

use crate::import::{Format, Loaded};
use crate::json::{JKind, JValue};
use crate::md;
use crate::model::{Status, Task};
use crate::source::SourceId;
use std::collections::{BTreeMap, HashSet};
use std::io::Write as _;
use std::path::{Component, Path, PathBuf};

/// What a run did with one task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskReport {
    pub id: String,
    pub state: TaskOutcome,
    /// A short account for the summary files (attempts, checks, reason), when there is one.
    pub summary: Option<String>,
}

/// How a task ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskOutcome {
    Done,
    Blocked { reason: String },
    Skipped,
    NotRun,
}

impl TaskReport {
    /// A report without a summary.
    pub fn new(id: impl Into<String>, state: TaskOutcome) -> Self {
        Self { id: id.into(), state, summary: None }
    }
}

/// One file's new contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEdit {
    pub path: PathBuf,
    pub contents: String,
}

/// Why status files could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error("`{}` lies outside the plan's folder `{}`; planrun does not write there", path.display(), base.display())]
    OutsideRoot { path: PathBuf, base: PathBuf },
}

/// The new contents of every status file of `loaded`'s format, given what a run did. Nothing is
/// written. Formats without a status marker give no edits.
pub fn edits(loaded: &Loaded, reports: &[TaskReport]) -> Result<Vec<FileEdit>, StatusError> {
    let mut ctx = Ctx::new(loaded, reports);
    match loaded.format {
        Format::Markdown => markdown(&mut ctx),
        Format::Json => native_json(&mut ctx),
        Format::Blueprint => blueprint(&mut ctx),
        Format::Uc => uc(&mut ctx),
        Format::Planpipe => planpipe(&mut ctx),
        Format::Ccw => ccw(&mut ctx),
        Format::Cm => cm(&mut ctx),
        Format::Openspec | Format::Speckit => checkbox_lines(&mut ctx),
        Format::Superpowers => superpowers(&mut ctx),
        Format::Taskmaster => taskmaster(&mut ctx),
    }
    ctx.finish()
}

/// `task` without any mark [`edits`] can write in the plan's files: its status pending, every
/// ticked checkbox in its texts unticked and a done mark (✅, ✔, `[x]`…) dropped from the start of
/// its title. Two loads of a task that differ only by the marks of a run compare equal this way,
/// so a run's own progress marks never read as an edit of what the task asks for.
pub fn unmarked(task: &Task) -> Task {
    let mut t = task.clone();
    t.status = Status::Pending;
    t.title = md::strip_done_mark(&t.title).1.to_owned();
    t.description = untick(&t.description);
    for a in &mut t.acceptance {
        *a = untick(a);
    }
    for v in &mut t.verify {
        *v = untick(v);
    }
    for text in
        [&mut t.instructions.build, &mut t.instructions.review, &mut t.instructions.verify].into_iter().flatten()
    {
        *text = untick(text);
    }
    t
}

/// `text` with the mark of every ticked checkbox item (`- [x] …`) replaced by an empty one.
fn untick(text: &str) -> String {
    if !text.contains('[') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    for piece in text.split_inclusive('\n') {
        let ticked = md::checkbox(piece.trim_end_matches(['\n', '\r'])).is_some_and(|(done, _)| done);
        match (ticked, md::bullet(piece).and_then(|item| md::offset_in(piece, item))) {
            (true, Some(at)) => {
                let close = piece.get(at..).and_then(|r| r.find(']')).map(|c| at + c + 1);
                match (piece.get(..at), close.and_then(|c| piece.get(c..))) {
                    (Some(head), Some(tail)) => {
                        out.push_str(head);
                        out.push_str("[ ]");
                        out.push_str(tail);
                    }
                    _ => out.push_str(piece),
                }
            }
            _ => out.push_str(piece),
        }
    }
    out
}

/// Replaces each file atomically: a temporary file in the same folder, written, synced and
/// renamed over the old one (keeping its permissions); missing folders are created.
pub fn write(edits: &[FileEdit]) -> std::io::Result<()> {
    for edit in edits {
        let dir = match edit.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(&dir)?;
        tmp.write_all(edit.contents.as_bytes())?;
        let perms = match std::fs::metadata(&edit.path) {
            Ok(meta) => Some(meta.permissions()),
            Err(_) => default_permissions(),
        };
        if let Some(perms) = perms {
            tmp.as_file().set_permissions(perms)?;
        }
        tmp.as_file().sync_all()?;
        tmp.persist(&edit.path).map_err(|e| e.error)?;
        sync_dir(&dir);
    }
    Ok(())
}

#[cfg(unix)]
fn default_permissions() -> Option<std::fs::Permissions> {
    use std::os::unix::fs::PermissionsExt as _;
    Some(std::fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn default_permissions() -> Option<std::fs::Permissions> {
    None
}

/// Makes a rename durable; best effort (not every platform can open a folder).
fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

// ---------------------------------------------------------------------------------------------
// Collecting edits

/// A replacement of `start..end` in a source text.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Patch {
    start: usize,
    end: usize,
    text: String,
}

struct Ctx<'a> {
    loaded: &'a Loaded,
    reports: &'a [TaskReport],
    /// Ids reported done.
    done: HashSet<&'a str>,
    patches: BTreeMap<SourceId, Vec<Patch>>,
    /// Whole files, by path: files created or rewritten outright.
    files: BTreeMap<PathBuf, String>,
    base: PathBuf,
}

impl<'a> Ctx<'a> {
    fn new(loaded: &'a Loaded, reports: &'a [TaskReport]) -> Self {
        let done = reports.iter().filter(|r| r.state == TaskOutcome::Done).map(|r| r.id.as_str()).collect();
        Self { loaded, reports, done, patches: BTreeMap::new(), files: BTreeMap::new(), base: base_dir(loaded) }
    }

    /// Indices of the tasks reported done (every task carrying a reported id).
    fn done_tasks(&self) -> Vec<usize> {
        (0..self.loaded.plan.tasks.len())
            .filter(|&i| self.loaded.plan.tasks.get(i).is_some_and(|t| self.done.contains(t.id.as_str())))
            .collect()
    }

    /// Whether the loaded plan already reads task `i` as done.
    fn already_done(&self, i: usize) -> bool {
        self.loaded.plan.tasks.get(i).is_some_and(|t| t.status == Status::Done)
    }

    fn report(&self, id: &str) -> Option<&'a TaskReport> {
        self.reports.iter().rev().find(|r| r.id == id)
    }

    fn text(&self, src: SourceId) -> &'a str {
        self.loaded.sources.text(src)
    }

    fn patch(&mut self, src: SourceId, start: usize, end: usize, text: impl Into<String>) {
        let text = text.into();
        if self.text(src).get(start..end) == Some(text.as_str()) {
            return;
        }
        self.patches.entry(src).or_default().push(Patch { start, end, text });
    }

    /// A file planrun creates when it does not exist yet; an existing one is left alone.
    fn create(&mut self, path: PathBuf, contents: String) {
        if !path.exists() {
            self.files.insert(path, contents);
        }
    }

    /// A file planrun owns and rewrites whole.
    fn replace(&mut self, path: PathBuf, contents: String) {
        if std::fs::read_to_string(&path).ok().as_deref() != Some(contents.as_str()) {
            self.files.insert(path, contents);
        }
    }

    fn finish(self) -> Result<Vec<FileEdit>, StatusError> {
        let mut out: Vec<FileEdit> = Vec::new();
        for (src, mut patches) in self.patches {
            let text = self.loaded.sources.text(src);
            patches.sort_by_key(|p| (p.start, p.end));
            patches.dedup();
            let mut contents = String::with_capacity(text.len() + 64);
            let mut at = 0;
            for p in patches {
                // Overlapping patches cannot both apply; the first wins.
                if p.start < at {
                    continue;
                }
                let (Some(keep), true) = (text.get(at..p.start), text.get(p.start..p.end).is_some()) else {
                    continue;
                };
                contents.push_str(keep);
                contents.push_str(&p.text);
                at = p.end;
            }
            contents.push_str(text.get(at..).unwrap_or(""));
            if contents != text {
                out.push(FileEdit { path: self.loaded.sources.path(src).to_path_buf(), contents });
            }
        }
        for (path, contents) in self.files {
            out.push(FileEdit { path, contents });
        }
        for edit in &out {
            check_inside(&self.base, &edit.path)?;
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }
}

/// The folder status files must stay in: the plan's folder (the folder of a plan file), or for
/// formats that keep files beside the plan (planpipe's `stage-6/`, cm's `handoff/`) the folder above.
fn base_dir(loaded: &Loaded) -> PathBuf {
    let root = &loaded.root;
    let dir = if root.is_dir() { root.clone() } else { root.parent().map(Path::to_path_buf).unwrap_or_default() };
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let up = match loaded.format {
        Format::Planpipe => name.starts_with("stage-"),
        Format::Cm => name == "handoff",
        _ => false,
    };
    if up { dir.parent().map(Path::to_path_buf).unwrap_or(dir) } else { dir }
}

fn check_inside(base: &Path, path: &Path) -> Result<(), StatusError> {
    let outside = || StatusError::OutsideRoot { path: path.to_path_buf(), base: base.to_path_buf() };
    let rest = path.strip_prefix(base).map_err(|_| outside())?;
    if rest.as_os_str().is_empty() || !rest.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(outside());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Text helpers

/// The line ending a text mostly uses.
fn eol(text: &str) -> &'static str {
    if text.contains("\r\n") { "\r\n" } else { "\n" }
}

/// The line (without its ending) holding byte `offset`, with its start.
fn line_at(text: &str, offset: usize) -> (usize, &str) {
    let offset = offset.min(text.len());
    let start = text.get(..offset).and_then(|t| t.rfind('\n')).map_or(0, |i| i + 1);
    let rest = text.get(start..).unwrap_or("");
    let line = rest.split('\n').next().unwrap_or("");
    (start, line.strip_suffix('\r').unwrap_or(line))
}

/// The offset just after the line starting at `start` (after its ending), or `None` at the end
/// of a text that does not end with a newline.
fn after_line(text: &str, start: usize) -> Option<usize> {
    text.get(start..).and_then(|r| r.find('\n')).map(|i| start + i + 1)
}

/// If `line` is a checkbox item that is not ticked: the byte range of its `[…]` mark.
fn unticked_mark(line: &str) -> Option<(usize, usize)> {
    let item = md::bullet(line)?;
    if !item.starts_with('[') {
        return None;
    }
    let off = md::offset_in(line, item)?;
    let close = item.find(']')?;
    let mark = item.get(1..close)?.trim();
    if matches!(mark, "x" | "X" | "✓" | "✔" | "✅") || mark.chars().count() > 1 {
        return None;
    }
    Some((off, off + close + 1))
}

/// A list item without a checkbox: where to insert one (the start of its text).
fn bare_item(line: &str) -> Option<usize> {
    let item = md::bullet(line)?;
    if item.is_empty() || item.starts_with('[') {
        return None;
    }
    md::offset_in(line, item)
}

/// The lines of a markdown task block: from its heading line to the next heading of the same or a
/// higher level (or the next task's start in the same file). Fenced lines are marked.
fn block<'t>(text: &'t str, head_start: usize, next_task: Option<usize>) -> Vec<md::Line<'t>> {
    let (start, head) = line_at(text, head_start);
    let level = md::heading(head).map_or(usize::MAX, |(l, _)| l);
    let end = next_task.filter(|&n| n > start).unwrap_or(text.len());
    let mut out = Vec::new();
    for line in md::lines(text) {
        if line.start < start {
            continue;
        }
        if line.start >= end {
            break;
        }
        if line.start > start && !line.in_fence && md::heading(line.text).is_some_and(|(l, _)| l <= level) {
            break;
        }
        out.push(line);
    }
    out
}

/// The start of the next task written after `start` in the same source.
fn next_task_start(loaded: &Loaded, src: SourceId, start: usize) -> Option<usize> {
    loaded
        .task_spans
        .iter()
        .filter_map(|s| s.task)
        .filter(|s| s.source == src && s.start > start)
        .map(|s| s.start)
        .min()
}

/// Where to put a ✅ on a heading (or bold) line: before its text.
fn done_mark_at(line: &str) -> Option<usize> {
    let text = match md::heading(line) {
        Some((_, t)) => t,
        None => line.trim_start(),
    };
    if text.is_empty() || md::strip_done_mark(text).0 {
        return None;
    }
    md::offset_in(line, text)
}

/// Ticks every unticked box of a block; returns how many boxes the block has in all.
fn tick_all(ctx: &mut Ctx<'_>, src: SourceId, lines: &[md::Line<'_>]) -> usize {
    let mut boxes = 0;
    for line in lines.iter().filter(|l| !l.in_fence) {
        if md::checkbox(line.text).is_some() {
            boxes += 1;
        }
        if let Some((a, b)) = unticked_mark(line.text) {
            if md::checkbox(line.text).is_some() {
                ctx.patch(src, line.start + a, line.start + b, "[x]");
            }
        }
    }
    boxes
}

/// Sets a `Key: value` field among `lines` to `value`, or reports that there is none.
fn set_field(ctx: &mut Ctx<'_>, src: SourceId, lines: &[md::Line<'_>], key: &str, value: &str) -> bool {
    for line in lines.iter().filter(|l| !l.in_fence) {
        if let Some((k, v, off)) = md::field(line.text) {
            if k.trim().eq_ignore_ascii_case(key) {
                ctx.patch(src, line.start + off, line.start + off + v.len(), value);
                return true;
            }
        }
    }
    false
}

/// Inserts `new_line` right after the line starting at `start`.
fn insert_line_after(ctx: &mut Ctx<'_>, src: SourceId, start: usize, new_line: &str) {
    let text = ctx.text(src);
    let nl = eol(text);
    match after_line(text, start) {
        Some(at) => ctx.patch(src, at, at, format!("{new_line}{nl}")),
        None => ctx.patch(src, text.len(), text.len(), format!("{nl}{new_line}")),
    }
}

// ---------------------------------------------------------------------------------------------
// JSON helpers

fn parse_json(text: &str, src: SourceId) -> Option<JValue> {
    crate::json::parse(text, src).ok()
}

/// The object starting at `start` anywhere in the tree.
fn object_at(value: &JValue, start: usize) -> Option<&JValue> {
    if value.span.start == start && value.is_object() {
        return Some(value);
    }
    match &value.kind {
        JKind::Array(items) => items.iter().find_map(|v| object_at(v, start)),
        JKind::Object(members) => members.iter().find_map(|(_, v)| object_at(v, start)),
        _ => None,
    }
}

/// Sets member `key` of `obj` to the JSON `value` (written as is), adding it after the last member
/// in the object's own layout when it is missing.
fn json_set(ctx: &mut Ctx<'_>, src: SourceId, obj: &JValue, key: &str, value: &str) {
    if let Some(v) = obj.get(key) {
        ctx.patch(src, v.span.start, v.span.end, value);
        return;
    }
    let text = ctx.text(src);
    let member = format!("{}: {value}", serde_json::Value::from(key));
    match obj.members().last() {
        None => {
            let at = obj.span.start + 1;
            ctx.patch(src, at, at, member);
        }
        Some((_, last)) => {
            let inner = text.get(obj.span.start..last.span.start).unwrap_or("");
            let sep = if inner.contains('\n') {
                let (_, line) = line_at(text, last.span.start);
                let indent: String = line.chars().take_while(|c| c.is_whitespace()).collect();
                format!(",{}{indent}", eol(text))
            } else {
                ", ".to_owned()
            };
            ctx.patch(src, last.span.end, last.span.end, format!("{sep}{member}"));
        }
    }
}

fn status_is_done(value: Option<&JValue>) -> bool {
    value.and_then(JValue::as_text).as_deref().and_then(crate::native::status_word) == Some(Status::Done)
}

// ---------------------------------------------------------------------------------------------
// Formats

/// planrun markdown: `Status: done` among the task's field lines.
fn markdown(ctx: &mut Ctx<'_>) {
    for i in ctx.done_tasks() {
        if ctx.already_done(i) {
            continue;
        }
        let Some(span) = ctx.loaded.spans(i).task else { continue };
        let text = ctx.text(span.source);
        let (start, _) = line_at(text, span.start);
        // The field lines right after the heading (blank lines between them are allowed).
        let lines: Vec<md::Line<'_>> = md::lines(text)
            .into_iter()
            .skip_while(|l| l.start <= start)
            .take_while(|l| {
                !l.in_fence
                    && md::heading(l.text).is_none()
                    && (l.text.trim().is_empty() || md::field(l.text).is_some())
            })
            .collect();
        if !set_field(ctx, span.source, &lines, "status", "done") {
            insert_line_after(ctx, span.source, start, "Status: done");
        }
    }
}

/// planrun JSON: `"status": "done"` in the task's object.
fn native_json(ctx: &mut Ctx<'_>) {
    json_tasks(ctx, "\"done\"");
}

/// Sets the status member of each done task's own object (the task span).
fn json_tasks(ctx: &mut Ctx<'_>, value: &str) {
    let mut trees: BTreeMap<SourceId, Option<JValue>> = BTreeMap::new();
    for i in ctx.done_tasks() {
        let Some(span) = ctx.loaded.spans(i).task else { continue };
        let tree = trees.entry(span.source).or_insert_with(|| parse_json(ctx.text(span.source), span.source));
        let Some(obj) = tree.as_ref().and_then(|t| object_at(t, span.start)).cloned() else { continue };
        if ctx.already_done(i) && status_is_done(obj.get("status")) {
            continue;
        }
        json_set(ctx, span.source, &obj, "status", value);
    }
}

/// blueprint: ✅ before the step heading's text and every box of the step ticked.
fn blueprint(ctx: &mut Ctx<'_>) {
    for i in ctx.done_tasks() {
        let Some(span) = ctx.loaded.spans(i).task else { continue };
        let src = span.source;
        let text = ctx.text(src);
        let (start, head) = line_at(text, span.start);
        let next = next_task_start(ctx.loaded, src, span.start);
        let lines = block(text, start, next);
        tick_all(ctx, src, &lines);
        if ctx.already_done(i) {
            continue;
        }
        let is_step = {
            let t = md::heading(head).map_or(head.trim(), |(_, t)| t);
            let t = md::strip_done_mark(t).1.trim_start_matches('*');
            t.get(..4).is_some_and(|w| w.eq_ignore_ascii_case("step"))
        };
        if is_step {
            if let Some(at) = done_mark_at(head) {
                ctx.patch(src, start + at, start + at, "✅ ");
            }
        } else if !set_field(ctx, src, &lines, "status", "done") {
            // A step file without a `Step N` heading: a field line says it.
            if md::heading(head).is_some() {
                insert_line_after(ctx, src, start, "Status: done");
            } else {
                ctx.patch(src, 0, 0, format!("Status: done{}", eol(text)));
            }
        }
    }
}

/// Task folders: `**Status:** done` in task.md, and an `impl.md` note when the agent left none.
fn uc(ctx: &mut Ctx<'_>) {
    for i in ctx.done_tasks() {
        let Some(span) = ctx.loaded.spans(i).task else { continue };
        let src = span.source;
        let path = ctx.loaded.sources.path(src).to_path_buf();
        let name = path.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
        let is_task_file =
            name == "task.md" || (name.starts_with("task") && name != "readme.md" && name.ends_with(".md"));
        if !is_task_file {
            continue;
        }
        let Some(task) = ctx.loaded.plan.tasks.get(i) else { continue };
        if name == "task.md" {
            if let Some(dir) = path.parent() {
                let summary = ctx.report(&task.id).and_then(|r| r.summary.clone());
                let mut body = format!("# Implementation: {}\n\nStatus: done (recorded by planrun)\n", task.title);
                if let Some(s) = summary {
                    body.push_str(&format!("\n{}\n", s.trim_end()));
                }
                ctx.create(dir.join("impl.md"), body);
            }
        }
        if ctx.already_done(i) {
            continue;
        }
        let text = ctx.text(src);
        let lines = md::lines(text);
        if set_field(ctx, src, &lines, "status", "done") {
            continue;
        }
        let nl = eol(text);
        match lines.iter().find(|l| !l.in_fence && md::heading(l.text).is_some_and(|(lvl, _)| lvl == 1)) {
            Some(title) => {
                let at = title.start + title.text.len();
                ctx.patch(src, at, at, format!("{nl}{nl}**Status:** done"));
            }
            None => ctx.patch(src, 0, 0, format!("**Status:** done{nl}{nl}")),
        }
    }
}

/// A table row's cells with their byte offsets in the line, or `None` for a non-table line.
fn cells(line: &str) -> Option<Vec<(usize, usize)>> {
    let t = line.trim();
    if !t.starts_with('|') {
        return None;
    }
    let base = md::offset_in(line, t)?;
    let mut out = Vec::new();
    let mut from = 1;
    let bytes: Vec<(usize, char)> = t.char_indices().collect();
    for &(i, c) in bytes.iter().skip(1) {
        if c == '|' {
            out.push((base + from, base + i));
            from = i + 1;
        }
    }
    if from < t.len() && !t.get(from..).unwrap_or("").trim().is_empty() {
        out.push((base + from, base + t.len()));
    }
    Some(out)
}

fn trimmed_range(line: &str, (a, b): (usize, usize)) -> (usize, usize) {
    let cell = line.get(a..b).unwrap_or("");
    let lead = cell.len() - cell.trim_start().len();
    let t = cell.trim();
    (a + lead, a + lead + t.len())
}

fn planpipe_word(word: &str) -> String {
    word.trim()
        .trim_matches(['*', '_', '`'])
        .trim()
        .trim_start_matches('✅')
        .trim()
        .to_ascii_lowercase()
        .replace([' ', '-'], "_")
}

/// planpipe: rows of `execution-status.md` set to `done` (or `blocked`), the file created in
/// `stage-6/` when missing, and `execution-summary.md` once every subtask is done.
fn planpipe(ctx: &mut Ctx<'_>) {
    let status_src = ctx
        .loaded
        .sources
        .ids()
        .find(|&id| ctx.loaded.sources.path(id).file_name().is_some_and(|n| n == "execution-status.md"));
    let blocked: Vec<(&str, &str)> = ctx
        .reports
        .iter()
        .filter_map(|r| match &r.state {
            TaskOutcome::Blocked { reason } => Some((r.id.as_str(), reason.as_str())),
            _ => None,
        })
        .collect();
    let state_of = |ctx: &Ctx<'_>, id: &str, current: Status| -> &'static str {
        if ctx.done.contains(id) || current == Status::Done {
            "done"
        } else if blocked.iter().any(|(b, _)| *b == id) {
            "blocked"
        } else {
            "pending"
        }
    };
    match status_src {
        Some(src) => planpipe_edit_status(ctx, src, &blocked),
        None => {
            let dir = ctx.base.clone();
            let stage6 = if ctx.base != base_dir_plain(ctx.loaded) { dir.join("stage-6") } else { dir };
            let mut out = String::from(
                "# Execution Status\n\n## Current State\n\n| ID | Title | Status | Notes |\n|----|-------|--------|-------|\n",
            );
            for t in &ctx.loaded.plan.tasks {
                if t.id.is_empty() {
                    continue;
                }
                let state = state_of(ctx, &t.id, t.status);
                let note = blocked.iter().find(|(b, _)| *b == t.id).map(|(_, r)| *r).unwrap_or("");
                out.push_str(&format!("| {} | {} | {state} | {} |\n", t.id, cell_text(&t.title), cell_text(note)));
            }
            let any_change =
                ctx.loaded.plan.tasks.iter().any(|t| ctx.done.contains(t.id.as_str()) && t.status != Status::Done)
                    || !blocked.is_empty();
            if any_change {
                ctx.create(stage6.join("execution-status.md"), out);
            }
        }
    }
    // execution-summary.md, once every subtask is done.
    let tasks = &ctx.loaded.plan.tasks;
    if !tasks.is_empty() && tasks.iter().all(|t| t.status == Status::Done || ctx.done.contains(t.id.as_str())) {
        let dir = match status_src {
            Some(src) => ctx.loaded.sources.path(src).parent().map(Path::to_path_buf).unwrap_or_default(),
            None if ctx.base != base_dir_plain(ctx.loaded) => ctx.base.join("stage-6"),
            None => ctx.base.clone(),
        };
        let mut out = format!(
            "# Execution Summary: {}\n\n## Result\n\nAll {} subtasks are done.\n\n## Subtasks\n\n| ID | Title | Status | Notes |\n|----|-------|--------|-------|\n",
            cell_text(&ctx.loaded.plan.title),
            tasks.len()
        );
        for t in tasks {
            let note = ctx.report(&t.id).and_then(|r| r.summary.as_deref()).map_or_else(
                || if ctx.done.contains(t.id.as_str()) { String::new() } else { "done before this run".to_owned() },
                cell_text,
            );
            out.push_str(&format!("| {} | {} | done | {note} |\n", t.id, cell_text(&t.title)));
        }
        ctx.replace(dir.join("execution-summary.md"), out);
    }
}

/// The plan's folder without the planpipe/cm adjustment.
fn base_dir_plain(loaded: &Loaded) -> PathBuf {
    let root = &loaded.root;
    if root.is_dir() { root.clone() } else { root.parent().map(Path::to_path_buf).unwrap_or_default() }
}

/// Text safe inside a table cell: one line, `|` escaped.
fn cell_text(s: &str) -> String {
    crate::model::one_line(s).replace('|', "\\|")
}

fn planpipe_edit_status(ctx: &mut Ctx<'_>, src: SourceId, blocked: &[(&str, &str)]) {
    let text = ctx.text(src);
    let nl = eol(text);
    let mut header: Option<(usize, usize, Option<usize>, usize)> = None; // id, status, title columns; count
    let mut in_table = false;
    let mut seen: HashSet<String> = HashSet::new();
    let mut last_row_end: Option<usize> = None;
    let mut first_table_done = false;
    for line in md::lines(text) {
        if line.in_fence {
            in_table = false;
            continue;
        }
        let Some(cs) = cells(line.text) else {
            if in_table && header.is_some() {
                first_table_done = true;
            }
            in_table = false;
            continue;
        };
        let words: Vec<&str> = cs.iter().map(|&(a, b)| line.text.get(a..b).unwrap_or("").trim()).collect();
        if words.iter().all(|w| !w.is_empty() && w.chars().all(|c| matches!(c, '-' | ':' | ' '))) {
            continue;
        }
        if !in_table {
            in_table = true;
            let lower: Vec<String> = words.iter().map(|w| w.to_ascii_lowercase()).collect();
            let id = lower.iter().position(|c| c == "id" || c == "subtask" || c == "task" || c == "st");
            let st = lower.iter().position(|c| c == "status" || c == "state");
            let title = lower.iter().position(|c| c == "title" || c == "name");
            if header.is_none() {
                if let (Some(i), Some(s)) = (id, st) {
                    header = Some((i, s, title, cs.len()));
                }
            }
            continue;
        }
        let Some((ic, sc, _, _)) = header else { continue };
        if first_table_done {
            continue;
        }
        last_row_end = Some(line.start + line.text.len());
        let (Some(id_word), Some(&range)) = (words.get(ic), cs.get(sc)) else { continue };
        let id = id_word.trim_matches('`').trim().to_owned();
        let key = ctx
            .loaded
            .plan
            .tasks
            .iter()
            .map(|t| t.id.as_str())
            .find(|t| t.eq_ignore_ascii_case(&id))
            .map(str::to_owned)
            .unwrap_or(id);
        let (a, b) = trimmed_range(line.text, range);
        let current = planpipe_word(line.text.get(a..b).unwrap_or(""));
        if ctx.done.contains(key.as_str()) {
            if !matches!(current.as_str(), "done" | "completed" | "complete" | "closed" | "passed") {
                ctx.patch(src, line.start + a, line.start + b, "done");
            }
        } else if blocked.iter().any(|(b, _)| *b == key)
            && !matches!(current.as_str(), "done" | "completed" | "complete" | "closed" | "passed" | "blocked")
        {
            ctx.patch(src, line.start + a, line.start + b, "blocked");
        }
        seen.insert(key);
    }
    // Done subtasks without a row get one.
    let missing: Vec<(String, String)> = ctx
        .loaded
        .plan
        .tasks
        .iter()
        .filter(|t| !t.id.is_empty() && ctx.done.contains(t.id.as_str()) && !seen.contains(&t.id))
        .map(|t| (t.id.clone(), t.title.clone()))
        .collect();
    if missing.is_empty() {
        return;
    }
    match (header, last_row_end) {
        (Some((ic, sc, tc, n)), Some(end)) => {
            let mut rows = String::new();
            for (id, title) in &missing {
                let cols: Vec<String> = (0..n)
                    .map(|c| {
                        if c == ic {
                            id.clone()
                        } else if c == sc {
                            "done".to_owned()
                        } else if Some(c) == tc {
                            cell_text(title)
                        } else {
                            String::new()
                        }
                    })
                    .collect();
                rows.push_str(&format!("{nl}| {} |", cols.join(" | ")));
            }
            ctx.patch(src, end, end, rows);
        }
        _ => {
            let mut add = String::new();
            if !text.is_empty() && !text.ends_with('\n') {
                add.push_str(nl);
            }
            add.push_str(&format!(
                "{nl}## Subtask Status{nl}{nl}| ID | Title | Status |{nl}|----|-------|--------|{nl}"
            ));
            for (id, title) in &missing {
                add.push_str(&format!("| {id} | {} | done |{nl}", cell_text(title)));
            }
            ctx.patch(src, text.len(), text.len(), add);
        }
    }
}

/// CCW: `[x]` on the task's TODO_LIST.md line, `"status": "completed"` in its `.task/` file, and
/// `.summaries/<id>-summary.md` when the agent wrote none.
fn ccw(ctx: &mut Ctx<'_>) {
    let sources = &ctx.loaded.sources;
    let todo = sources.ids().find(|&id| sources.path(id).file_name().is_some_and(|n| n == "TODO_LIST.md"));
    let task_files: Vec<SourceId> = sources
        .ids()
        .filter(|&id| {
            let p = sources.path(id);
            p.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"))
                && p.parent().and_then(Path::file_name).is_some_and(|n| n == ".task")
        })
        .collect();
    let session = todo
        .and_then(|t| sources.path(t).parent().map(Path::to_path_buf))
        .or_else(|| task_files.first().and_then(|&t| sources.path(t).parent()?.parent().map(Path::to_path_buf)))
        .unwrap_or_else(|| ctx.base.clone());
    let done = ctx.done_tasks();
    for i in done {
        let Some(task) = ctx.loaded.plan.tasks.get(i) else { continue };
        let id = task.id.clone();
        if id.is_empty() {
            continue;
        }
        // TODO_LIST.md
        if let Some(src) = todo {
            let text = ctx.text(src);
            let bold = format!("**{id}**");
            for line in md::lines(text) {
                if line.in_fence {
                    continue;
                }
                let Some(item) = md::bullet(line.text) else { continue };
                let after_box = md::checkbox(line.text).map_or(item, |(_, t)| t);
                if !after_box.starts_with(&bold) {
                    continue;
                }
                if let Some((a, b)) = unticked_mark(line.text) {
                    ctx.patch(src, line.start + a, line.start + b, "[x]");
                } else if md::checkbox(line.text).is_none() {
                    if let Some(at) = bare_item(line.text) {
                        ctx.patch(src, line.start + at, line.start + at, "[x] ");
                    }
                }
            }
        }
        // .task/<id>.json
        for &src in &task_files {
            let path = ctx.loaded.sources.path(src);
            let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            let Some(root) = parse_json(ctx.text(src), src) else { continue };
            let named = root.get("id").and_then(JValue::as_text);
            let matches = named.as_deref().map_or_else(|| stem.eq_ignore_ascii_case(&id), |n| n == id);
            if !matches || !root.is_object() {
                continue;
            }
            let st = root.get("status").and_then(JValue::as_text).map(|s| s.to_ascii_lowercase());
            if !matches!(st.as_deref(), Some("completed" | "done")) {
                json_set(ctx, src, &root, "status", "\"completed\"");
            }
        }
        // .summaries/<id>-summary.md
        let summary = ctx.report(&id).and_then(|r| r.summary.clone());
        let mut body =
            format!("# {id}: {}\n\nStatus: completed (recorded by planrun)\n", crate::model::one_line(&task.title));
        if let Some(s) = summary {
            body.push_str(&format!("\n{}\n", s.trim_end()));
        }
        ctx.create(session.join(".summaries").join(format!("{id}-summary.md")), body);
    }
}

/// cm: `"status": "done"` on the backlog entry in `cm-tasks.json` (matched by id, else title) with
/// its `stats` counts recomputed; a task without a backlog entry gets it in its own object.
fn cm(ctx: &mut Ctx<'_>) {
    let sources = &ctx.loaded.sources;
    let backlog = sources.ids().find(|&id| sources.path(id).file_name().is_some_and(|n| n == "cm-tasks.json"));
    let tree = backlog.and_then(|src| parse_json(ctx.text(src), src).map(|t| (src, t)));
    let entries: Vec<JValue> = tree
        .as_ref()
        .map(|(_, t)| {
            let list = if t.is_array() { Some(t) } else { t.get_any(&["tasks", "backlog", "items", "todos", "steps"]) };
            list.map(|l| l.items().iter().filter(|v| v.is_object()).cloned().collect()).unwrap_or_default()
        })
        .unwrap_or_default();
    let mut new_done: HashSet<usize> = HashSet::new();
    for i in ctx.done_tasks() {
        let Some(task) = ctx.loaded.plan.tasks.get(i) else { continue };
        let Some(span) = ctx.loaded.spans(i).task else { continue };
        let id_of = |e: &JValue| e.get_any(&["id", "task_id", "taskId", "key"]).and_then(JValue::as_text);
        let title_of = |e: &JValue| e.get_any(&["title", "name", "task"]).and_then(JValue::as_text);
        let entry = entries
            .iter()
            .position(|e| e.span == span)
            .or_else(|| entries.iter().position(|e| id_of(e).is_some_and(|x| x == task.id)))
            .or_else(|| {
                entries
                    .iter()
                    .position(|e| title_of(e).is_some_and(|x| x.trim().eq_ignore_ascii_case(task.title.trim())))
            });
        match (entry, &tree) {
            (Some(k), Some((src, _))) => {
                let Some(e) = entries.get(k) else { continue };
                if !status_is_done(e.get_any(&["status", "state"])) {
                    let key = if e.get("status").is_none() && e.get("state").is_some() { "state" } else { "status" };
                    json_set(ctx, *src, e, key, "\"done\"");
                    new_done.insert(k);
                }
            }
            _ => {
                if ctx.already_done(i) {
                    continue;
                }
                let text = ctx.text(span.source);
                let Some(t) = parse_json(text, span.source) else { continue };
                if let Some(obj) = object_at(&t, span.start) {
                    if !status_is_done(obj.get_any(&["status", "state"])) {
                        let key =
                            if obj.get("status").is_none() && obj.get("state").is_some() { "state" } else { "status" };
                        json_set(ctx, span.source, obj, key, "\"done\"");
                    }
                }
            }
        }
    }
    // stats: counts by status after the change, for the counters the file already has.
    if let (Some((src, t)), false) = (&tree, new_done.is_empty()) {
        let Some(stats) = t.get("stats").filter(|s| s.is_object()) else { return };
        let word = |k: usize, e: &JValue| -> String {
            if new_done.contains(&k) {
                return "done".to_owned();
            }
            e.get_any(&["status", "state"]).and_then(JValue::as_text).unwrap_or_default().trim().to_ascii_lowercase()
        };
        let count = |w: &[&str]| entries.iter().enumerate().filter(|(k, e)| w.contains(&word(*k, e).as_str())).count();
        let counts = [
            ("total", entries.len()),
            ("done", count(&["done", "completed"])),
            ("in_progress", count(&["in_progress", "in-progress"])),
            ("blocked", count(&["blocked"])),
            ("backlog", count(&["backlog", "pending", "todo", ""])),
        ];
        for (key, n) in counts {
            if let Some(v) = stats.get(key).filter(|v| matches!(v.kind, JKind::Number(_))) {
                ctx.patch(*src, v.span.start, v.span.end, n.to_string());
            }
        }
    }
}

/// OpenSpec and spec-kit: the task's own list item ticked (a checkbox added to a bare item).
fn checkbox_lines(ctx: &mut Ctx<'_>) {
    for i in ctx.done_tasks() {
        if ctx.already_done(i) {
            continue;
        }
        let Some(span) = ctx.loaded.spans(i).task else { continue };
        let text = ctx.text(span.source);
        let (start, line) = line_at(text, span.start);
        if let Some((a, b)) = unticked_mark(line) {
            ctx.patch(span.source, start + a, start + b, "[x]");
        } else if md::checkbox(line).is_none() {
            if let Some((a, b)) = odd_mark(line) {
                ctx.patch(span.source, start + a, start + b, "[x]");
            } else if let Some(at) = bare_item(line) {
                ctx.patch(span.source, start + at, start + at, "[x] ");
            }
        }
    }
}

/// A checkbox with a mark the readers do not count as done (`[~]`, `[-]`): its range.
fn odd_mark(line: &str) -> Option<(usize, usize)> {
    let item = md::bullet(line)?;
    let rest = item.strip_prefix('[')?;
    let close = rest.find(']')?;
    let mark = rest.get(..close)?.trim();
    if mark.chars().count() > 2 || mark.contains(char::is_alphanumeric) {
        return None;
    }
    let off = md::offset_in(line, item)?;
    Some((off, off + close + 2))
}

/// superpowers: every step box of the task ticked; a task without boxes gets ✅ on its heading.
fn superpowers(ctx: &mut Ctx<'_>) {
    for i in ctx.done_tasks() {
        if ctx.already_done(i) {
            continue;
        }
        let Some(span) = ctx.loaded.spans(i).task else { continue };
        let src = span.source;
        let text = ctx.text(src);
        let (start, head) = line_at(text, span.start);
        let lines = block(text, start, next_task_start(ctx.loaded, src, span.start));
        if tick_all(ctx, src, &lines) == 0 {
            if let Some(at) = done_mark_at(head) {
                ctx.patch(src, start + at, start + at, "✅ ");
            }
        }
    }
}

/// task-master: `"status": "done"` on the task or subtask object.
fn taskmaster(ctx: &mut Ctx<'_>) {
    json_tasks(ctx, "\"done\"");
}
