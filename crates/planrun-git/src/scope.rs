//! What a task really changed, from git and not from the agent's word: every path that differs
//! between the commit the task started from and its working tree (committed by the agent or
//! not, staged or not, new files included, ignored files not), and which of those lie outside
//! the files the task declared.

use crate::{Git, GitError, nul_split};
use planrun_plan::globs::Pattern;

/// How a path changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Added,
    Modified,
    Deleted,
}

/// One changed path, relative to the worktree's top.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    pub path: String,
    pub kind: Kind,
}

/// Every path that differs between `base` and the working tree of `wt`.
pub fn changed(wt: &Git, base: &str) -> Result<Vec<Changed>, GitError> {
    let mut out: Vec<Changed> = Vec::new();
    // Tracked files: the working tree against `base` (this also covers commits the agent
    // made itself, and staged changes). Renames are a deletion and an addition.
    let diff = wt.run(&["diff", "--no-renames", "--name-status", "-z", base, "--"])?;
    let mut fields = nul_split(&diff);
    while let (Some(status), Some(path)) = (fields.next(), fields.next()) {
        let kind = match status.chars().next() {
            Some('A') => Kind::Added,
            Some('D') => Kind::Deleted,
            _ => Kind::Modified,
        };
        out.push(Changed { path: path.to_owned(), kind });
    }
    // New files git does not track yet (and does not ignore).
    let untracked = wt.run(&["ls-files", "-z", "--others", "--exclude-standard"])?;
    for path in nul_split(&untracked) {
        if !out.iter().any(|c| c.path == path) {
            out.push(Changed { path: path.to_owned(), kind: Kind::Added });
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// The changed paths outside every one of `declared` (the task's `files` globs). A task that
/// declared no files is not checked here: it runs alone (the scheduler's rule).
pub fn outside<'a>(changed: &'a [Changed], declared: &[Pattern]) -> Vec<&'a Changed> {
    if declared.is_empty() {
        return Vec::new();
    }
    changed.iter().filter(|c| !declared.iter().any(|p| p.matches(&c.path))).collect()
}
