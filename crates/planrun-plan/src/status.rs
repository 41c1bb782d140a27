//! Writing back what a run did, in the files the plan's own format uses for progress: ✅ headings
//! and ticked boxes in markdown plans, status fields in JSON task files, and the status and summary
//! files some tools keep beside the plan (see `docs/importers/README.md`, "Status files").
//!
//! [`edits`] computes every file's new contents from a [`Loaded`] plan without writing anything
//! (it only looks at whether files it would create already exist); [`write`] replaces each file
//! atomically. Edits to plan files are minimal: only the marks of tasks reported done change, the
//! rest of each file is kept byte for byte, and applying the edits again changes nothing. A mark
//! a user set is never removed. Compute edits from a fresh load: they replace whole files.
//!
//! This module holds what every format shares: the reports, [`edits`] and [`write`], `Ctx` (the
//! patches and files being built), and the text and JSON helpers. Each format's own writer sits
//! beside its reader (`import/<format>/status.rs`, `native/status.rs`); OpenSpec and spec-kit share
//! the checkbox writer kept here.

use crate::import::blueprint::status::blueprint;
use crate::import::ccw::status::ccw;
use crate::import::cm::status::cm;
use crate::import::planpipe::status::planpipe;
use crate::import::superpowers::status::superpowers;
use crate::import::taskmaster::status::taskmaster;
use crate::import::uc::status::uc;
use crate::json::{JKind, JValue};
use crate::md;
use crate::model::{Status, Task};
use crate::native::status::{markdown, native_json};
use crate::reader::{Format, Loaded};
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

pub(crate) struct Ctx<'a> {
    pub(crate) loaded: &'a Loaded,
    pub(crate) reports: &'a [TaskReport],
    /// Ids reported done.
    pub(crate) done: HashSet<&'a str>,
    patches: BTreeMap<SourceId, Vec<Patch>>,
    /// Whole files, by path: files created or rewritten outright.
    files: BTreeMap<PathBuf, String>,
    pub(crate) base: PathBuf,
}

impl<'a> Ctx<'a> {
    fn new(loaded: &'a Loaded, reports: &'a [TaskReport]) -> Self {
        let done = reports.iter().filter(|r| r.state == TaskOutcome::Done).map(|r| r.id.as_str()).collect();
        Self { loaded, reports, done, patches: BTreeMap::new(), files: BTreeMap::new(), base: base_dir(loaded) }
    }

    /// Indices of the tasks reported done (every task carrying a reported id).
    pub(crate) fn done_tasks(&self) -> Vec<usize> {
        (0..self.loaded.plan.tasks.len())
            .filter(|&i| self.loaded.plan.tasks.get(i).is_some_and(|t| self.done.contains(t.id.as_str())))
            .collect()
    }

    /// Whether the loaded plan already reads task `i` as done.
    pub(crate) fn already_done(&self, i: usize) -> bool {
        self.loaded.plan.tasks.get(i).is_some_and(|t| t.status == Status::Done)
    }

    pub(crate) fn report(&self, id: &str) -> Option<&'a TaskReport> {
        self.reports.iter().rev().find(|r| r.id == id)
    }

    pub(crate) fn text(&self, src: SourceId) -> &'a str {
        self.loaded.sources.text(src)
    }

    pub(crate) fn patch(&mut self, src: SourceId, start: usize, end: usize, text: impl Into<String>) {
        let text = text.into();
        if self.text(src).get(start..end) == Some(text.as_str()) {
            return;
        }
        self.patches.entry(src).or_default().push(Patch { start, end, text });
    }

    /// A file planrun creates when it does not exist yet; an existing one is left alone.
    pub(crate) fn create(&mut self, path: PathBuf, contents: String) {
        if !path.exists() {
            self.files.insert(path, contents);
        }
    }

    /// A file planrun owns and rewrites whole.
    pub(crate) fn replace(&mut self, path: PathBuf, contents: String) {
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
pub(crate) fn eol(text: &str) -> &'static str {
    if text.contains("\r\n") { "\r\n" } else { "\n" }
}

/// The line (without its ending) holding byte `offset`, with its start.
pub(crate) fn line_at(text: &str, offset: usize) -> (usize, &str) {
    let offset = offset.min(text.len());
    let start = text.get(..offset).and_then(|t| t.rfind('\n')).map_or(0, |i| i + 1);
    let rest = text.get(start..).unwrap_or("");
    let line = rest.split('\n').next().unwrap_or("");
    (start, line.strip_suffix('\r').unwrap_or(line))
}

/// The offset just after the line starting at `start` (after its ending), or `None` at the end
/// of a text that does not end with a newline.
pub(crate) fn after_line(text: &str, start: usize) -> Option<usize> {
    text.get(start..).and_then(|r| r.find('\n')).map(|i| start + i + 1)
}

/// If `line` is a checkbox item that is not ticked: the byte range of its `[…]` mark.
pub(crate) fn unticked_mark(line: &str) -> Option<(usize, usize)> {
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
pub(crate) fn bare_item(line: &str) -> Option<usize> {
    let item = md::bullet(line)?;
    if item.is_empty() || item.starts_with('[') {
        return None;
    }
    md::offset_in(line, item)
}

/// The lines of a markdown task block: from its heading line to the next heading of the same or a
/// higher level (or the next task's start in the same file). Fenced lines are marked.
pub(crate) fn block<'t>(text: &'t str, head_start: usize, next_task: Option<usize>) -> Vec<md::Line<'t>> {
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
pub(crate) fn next_task_start(loaded: &Loaded, src: SourceId, start: usize) -> Option<usize> {
    loaded
        .task_spans
        .iter()
        .filter_map(|s| s.task)
        .filter(|s| s.source == src && s.start > start)
        .map(|s| s.start)
        .min()
}

/// Where to put a ✅ on a heading (or bold) line: before its text.
pub(crate) fn done_mark_at(line: &str) -> Option<usize> {
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
pub(crate) fn tick_all(ctx: &mut Ctx<'_>, src: SourceId, lines: &[md::Line<'_>]) -> usize {
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
pub(crate) fn set_field(ctx: &mut Ctx<'_>, src: SourceId, lines: &[md::Line<'_>], key: &str, value: &str) -> bool {
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
pub(crate) fn insert_line_after(ctx: &mut Ctx<'_>, src: SourceId, start: usize, new_line: &str) {
    let text = ctx.text(src);
    let nl = eol(text);
    match after_line(text, start) {
        Some(at) => ctx.patch(src, at, at, format!("{new_line}{nl}")),
        None => ctx.patch(src, text.len(), text.len(), format!("{nl}{new_line}")),
    }
}

// ---------------------------------------------------------------------------------------------
// JSON helpers

pub(crate) fn parse_json(text: &str, src: SourceId) -> Option<JValue> {
    crate::json::parse(text, src).ok()
}

/// The object starting at `start` anywhere in the tree.
pub(crate) fn object_at(value: &JValue, start: usize) -> Option<&JValue> {
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
pub(crate) fn json_set(ctx: &mut Ctx<'_>, src: SourceId, obj: &JValue, key: &str, value: &str) {
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

pub(crate) fn status_is_done(value: Option<&JValue>) -> bool {
    value.and_then(JValue::as_text).as_deref().and_then(crate::reader::status_word) == Some(Status::Done)
}

// ---------------------------------------------------------------------------------------------
// Formats

/// Sets the status member of each done task's own object (the task span).
pub(crate) fn json_tasks(ctx: &mut Ctx<'_>, value: &str) {
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
