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
//! This module holds [`edits`] (which hands the plan to its format's writer), [`write`],
//! [`unmarked`], and the checkbox writer OpenSpec and spec-kit share. Each other format's writer
//! sits beside its reader (`import/<format>/status.rs`, `native/status.rs`); what the writers
//! share (the reports, `Ctx`, the text and JSON helpers) is in `edit`, below them all.

use crate::edit::{Ctx, bare_item, line_at, unticked_mark};
pub use crate::edit::{FileEdit, LogEntry, StatusError, TaskOutcome, TaskReport};
use crate::import::blueprint::status::blueprint;
use crate::import::ccw::status::ccw;
use crate::import::cm::status::cm;
use crate::import::planpipe::status::planpipe;
use crate::import::superpowers::status::superpowers;
use crate::import::taskmaster::status::taskmaster;
use crate::import::uc::status::uc;
use crate::md;
use crate::model::{Status, Task};
use crate::native::status::{markdown, native_json};
use crate::reader::{Format, Loaded};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The new contents of every status file of `loaded`'s format, given what a run did. Nothing is
/// written. Formats without a status marker give no edits.
pub fn edits(loaded: &Loaded, reports: &[TaskReport]) -> Result<Vec<FileEdit>, StatusError> {
    edits_at(loaded, reports, None)
}

/// [`edits`], stamped with the time `now` (ISO 8601, UTC) where a format records when its file
/// was last written (cm's `updated`).
pub fn edits_at(loaded: &Loaded, reports: &[TaskReport], now: Option<&str>) -> Result<Vec<FileEdit>, StatusError> {
    let mut ctx = Ctx::new(loaded, reports);
    ctx.now = now;
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
    unmarked_cow(task).into_owned()
}

/// [`unmarked`], borrowing `task` when it carries no mark to drop (the usual case: no copy).
pub fn unmarked_cow(task: &Task) -> std::borrow::Cow<'_, Task> {
    let bracket = |s: &String| s.contains('[');
    let marked = task.status != Status::Pending
        || md::strip_done_mark(&task.title).1 != task.title
        || bracket(&task.description)
        || task.acceptance.iter().any(bracket)
        || task.verify.iter().any(bracket)
        || [&task.instructions.build, &task.instructions.review, &task.instructions.verify]
            .into_iter()
            .flatten()
            .any(bracket);
    if marked { std::borrow::Cow::Owned(strip_marks(task)) } else { std::borrow::Cow::Borrowed(task) }
}

fn strip_marks(task: &Task) -> Task {
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

/// [`write`], leaving out the edits of every file of `loaded` that changed on disk since it was
/// read (an agent, or you, wrote it meanwhile: an edit computed from the old text would undo
/// that). Returns the files written and those left for a later write.
pub fn write_unchanged(loaded: &Loaded, edits: &[FileEdit]) -> std::io::Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let (mut keep, mut later) = (Vec::new(), Vec::new());
    for edit in edits {
        let read_then = loaded.sources.ids().find(|&id| loaded.sources.path(id) == edit.path);
        let moved = read_then
            .is_some_and(|id| std::fs::read(&edit.path).ok().as_deref() != Some(loaded.sources.text(id).as_bytes()));
        if moved {
            later.push(edit.path.clone());
        } else {
            keep.push(edit.clone());
        }
    }
    write(&keep)?;
    Ok((keep.into_iter().map(|e| e.path).collect(), later))
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
// Formats
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    /// Short texts from an alphabet rich in what marks are made of.
    fn text() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just("- [x] "),
                Just("- [ ] "),
                Just("[X]"),
                Just("✅"),
                Just("✔"),
                Just(" "),
                Just("\n"),
                Just("a"),
                Just("["),
                Just("]")
            ],
            0..6,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        /// Borrowing a task only when it has no mark never changes what `unmarked` gives.
        #[test]
        fn borrowed_only_when_nothing_to_drop(
            title in text(), description in text(), acceptance in proptest::collection::vec(text(), 0..3),
            verify in proptest::collection::vec(text(), 0..3), build in proptest::option::of(text()),
            done in any::<bool>(),
        ) {
            let mut t = Task { id: "t1".into(), title, description, acceptance, verify, ..Task::default() };
            t.instructions.build = build;
            if done {
                t.status = Status::Done;
            }
            let cow = unmarked_cow(&t);
            prop_assert_eq!(cow.as_ref(), &strip_marks(&t));
            if matches!(cow, std::borrow::Cow::Borrowed(_)) {
                prop_assert_eq!(&strip_marks(&t), &t);
            }
        }
    }
}
