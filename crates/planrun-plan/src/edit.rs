//! The machinery every format's status writer shares (see `status` for what they write and why):
//! the reports a run hands in, [`Ctx`] (the patches to source texts and the whole files being
//! built, kept inside the plan's folder), and the text and JSON helpers that patch a file without
//! touching the rest of it. Knows no format's layout beyond the folders status files may go in.

use crate::json::{JKind, JValue};
use crate::md;
use crate::model::Status;
use crate::reader::{Format, Loaded};
use crate::source::SourceId;
use std::collections::{BTreeMap, HashSet};
use std::path::{Component, Path, PathBuf};

/// What a run did with one task, as far as it has gone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskReport {
    pub id: String,
    pub state: TaskOutcome,
    /// A short account for the summary files (attempts, checks, reason), when there is one.
    pub summary: Option<String>,
    /// Attempts started so far (0: it never ran).
    pub attempts: u32,
    /// Attempts its checks or reviews rejected (cm's `rarv_cycles`).
    pub failures: u32,
    /// What happened to it, step by step, oldest first (cm's `logs[]`).
    pub log: Vec<LogEntry>,
    /// When it passed (ISO 8601, UTC), for the formats that record it.
    pub completed_at: Option<String>,
    /// A fuller account in markdown (files changed, checks, review verdicts, notes), for the
    /// formats that keep a summary file per task (CCW's `.summaries/`).
    pub details: Option<String>,
}

/// One entry of a task's log: the phase (cm's RARV words: `REASON`, `ACT`, `REFLECT`,
/// `VERIFY`) and what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub phase: String,
    pub message: String,
}

/// Where a task stands. The live states (`InProgress`, `InReview`, `Rework`) are written
/// while a run goes on by the formats whose files follow a task through its work (planpipe,
/// CCW, cm); the others mark only what passed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TaskOutcome {
    Done,
    Blocked {
        reason: String,
    },
    Skipped,
    /// Not run, or not running now: marks are left as they are, and a live state planrun wrote
    /// earlier goes back to pending.
    #[default]
    NotRun,
    /// An agent works on it.
    InProgress,
    /// Implemented; its checks and reviews run.
    InReview,
    /// An attempt was rejected for `reason`: the task waits for, or is in, the attempt that
    /// fixes it (`attempts` is the latest attempt).
    Rework {
        reason: String,
    },
}

impl TaskOutcome {
    /// Whether the task is being worked on (in progress, in review, or waiting for rework).
    pub fn is_live(&self) -> bool {
        matches!(self, TaskOutcome::InProgress | TaskOutcome::InReview | TaskOutcome::Rework { .. })
    }
}

impl TaskReport {
    /// A report without a summary.
    pub fn new(id: impl Into<String>, state: TaskOutcome) -> Self {
        Self { id: id.into(), state, ..Self::default() }
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
    /// The time of this write (ISO 8601, UTC), for formats that stamp their files.
    pub(crate) now: Option<&'a str>,
    /// Ids reported done.
    pub(crate) done: HashSet<&'a str>,
    patches: BTreeMap<SourceId, Vec<Patch>>,
    /// Whole files, by path: files created or rewritten outright.
    files: BTreeMap<PathBuf, String>,
    pub(crate) base: PathBuf,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(loaded: &'a Loaded, reports: &'a [TaskReport]) -> Self {
        let done = reports.iter().filter(|r| r.state == TaskOutcome::Done).map(|r| r.id.as_str()).collect();
        Self {
            loaded,
            reports,
            now: None,
            done,
            patches: BTreeMap::new(),
            files: BTreeMap::new(),
            base: base_dir(loaded),
        }
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

    pub(crate) fn finish(self) -> Result<Vec<FileEdit>, StatusError> {
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
