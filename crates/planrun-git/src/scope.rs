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
    // Tracked files: the working tree against `base` (this also covers commits the agent
    // made itself, and staged changes). Renames are a deletion and an addition.
    let diff = wt.run(&["diff", "--no-renames", "--name-status", "-z", base, "--"])?;
    let mut out = name_status(&diff);
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

/// A snapshot of the working tree of `repo` as a tree object (tracked and untracked files,
/// ignored ones not), written through a temporary index so the real index is untouched. Two
/// snapshots compared with `between` say what changed in a shared working tree in between.
pub fn snapshot(repo: &Git, scratch_index: &std::path::Path) -> Result<String, GitError> {
    let _ = std::fs::remove_file(scratch_index);
    if let Some(dir) = scratch_index.parent() {
        std::fs::create_dir_all(dir).map_err(|e| GitError::Failed {
            args: "write-tree".into(),
            code: None,
            stderr: format!("cannot create `{}`: {e}", dir.display()),
        })?;
    }
    let g = repo.clone().with_env("GIT_INDEX_FILE", &scratch_index.display().to_string());
    // Start from the tree's own index (a copy: the real one is untouched), whose stat cache
    // spares re-hashing unchanged files; else from HEAD.
    let index = repo.run(&["rev-parse", "--git-path", "index"]).map(|p| repo.dir().join(p.trim()));
    match index {
        Ok(index) if index.is_file() && std::fs::copy(&index, scratch_index).is_ok() => {}
        _ => {
            if repo.head().is_ok() {
                g.run(&["read-tree", "HEAD"])?;
            }
        }
    }
    g.run(&["add", "--all", "--", "."])?;
    let tree = g.run(&["write-tree"])?.trim().to_owned();
    let _ = std::fs::remove_file(scratch_index);
    Ok(tree)
}

/// The paths that differ between two trees (or commits).
pub fn between(repo: &Git, from: &str, to: &str) -> Result<Vec<Changed>, GitError> {
    let diff = repo.run(&["diff", "--no-renames", "--name-status", "-z", from, to, "--"])?;
    Ok(name_status(&diff))
}

/// The paths of `git diff --name-status -z` output, with how each changed.
fn name_status(diff: &str) -> Vec<Changed> {
    let mut out = Vec::new();
    let mut fields = nul_split(diff);
    while let (Some(status), Some(path)) = (fields.next(), fields.next()) {
        let kind = match status.chars().next() {
            Some('A') => Kind::Added,
            Some('D') => Kind::Deleted,
            _ => Kind::Modified,
        };
        out.push(Changed { path: path.to_owned(), kind });
    }
    out
}

/// The diff of what a task changed since `base` (committed or not, new files included), at
/// most `limit` bytes, for a reviewer to read.
pub fn patch(wt: &Git, base: &str, limit: usize) -> Result<String, GitError> {
    let mut text = wt.run(&["diff", "--no-color", "--no-ext-diff", base, "--"])?;
    let untracked = wt.run(&["ls-files", "-z", "--others", "--exclude-standard"])?;
    for path in nul_split(&untracked) {
        // New files git does not track yet, as additions.
        let out = wt.output(&["diff", "--no-color", "--no-index", "--", "/dev/null", path])?;
        text.push_str(&String::from_utf8_lossy(&out.stdout));
    }
    if text.len() > limit {
        let mut cut = limit;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("\n… (the diff is longer; read the files themselves)\n");
    }
    Ok(text)
}
