//! Where each task works and what git does for it: the workspace mode (one shared working tree,
//! or a git worktree and branch per task started from the integration branch), the record of
//! where a task's work began (so a restarted run finds it), and the git stages of the pipeline
//! (the scope check from the real diff, the task's one commit, the merge onto the integration
//! branch with its rebase and its conflicts replayed for rework). Every function here blocks on
//! git; the steps call them off the dispatcher's thread. Decides nothing about what runs next.

use planrun_git::Git;
use planrun_git::scope;
use std::path::Path;

mod choices;
mod integrate;
mod marks;
mod pool;
mod sparse;
#[cfg(test)]
mod tests;
mod tree;
mod workspaces;

pub use choices::{CommitMode, OnFail, ReviewKind, ReviewOrder, ScopePolicy, WorkspaceMode};
pub(crate) use integrate::Merging;
pub(crate) use marks::CommitMarks;
pub(crate) use sparse::{Cone, Sparse};
pub(crate) use workspaces::Workspaces;

/// Whether `path` is a git work tree with at least one commit.
pub(crate) fn has_commit(repo: &Git) -> bool {
    repo.head().is_ok()
}

/// The paths with uncommitted changes in `repo` (what worktrees, started from commits, do not see).
pub(crate) fn uncommitted(repo: &Git) -> Vec<String> {
    status_paths(repo, "--untracked-files=normal")
}

/// The paths `git status` lists in `repo`, untracked ones as `untracked` says (`normal`: a new
/// folder as one entry; `all`: each file).
fn status_paths(repo: &Git, untracked: &str) -> Vec<String> {
    let Ok(out) = repo.run(&["status", "--porcelain", "-z", untracked]) else { return Vec::new() };
    let mut paths = Vec::new();
    let mut fields = out.split('\0').filter(|l| !l.is_empty());
    while let Some(entry) = fields.next() {
        let (code, path) = (entry.get(..2).unwrap_or(""), entry.get(3..).unwrap_or(""));
        // A rename or copy is followed by the path it came from.
        if code.contains('R') || code.contains('C') {
            fields.next();
        }
        paths.push(path.to_owned());
    }
    paths
}

/// A commit of the working tree of `repo` as it is (tracked and untracked files, ignored ones
/// not) on top of HEAD, on no branch: the base of a run started with `--include-uncommitted`.
/// The user's index and files are untouched.
pub(crate) fn snapshot_commit(repo: &Git, scratch_index: &Path, run_id: &str) -> Result<String, String> {
    let tree =
        scope::snapshot(repo, scratch_index).map_err(|e| format!("cannot take a snapshot of the working tree: {e}"))?;
    if repo.head().is_ok_and(|h| h == tree) {
        // Nothing uncommitted after all: the commit itself.
        return Ok(tree);
    }
    let mut args: Vec<String> = repo.identity_args();
    args.extend(["commit-tree".into(), tree, "-p".into(), "HEAD".into(), "-m".into()]);
    args.push(format!("chore: the working tree as run {run_id} started (uncommitted changes included)"));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    repo.run(&argv).map(|c| c.trim().to_owned()).map_err(|e| format!("cannot record the working tree as a commit: {e}"))
}

/// The conventional commit type of a task from its title: `fix` for fixes, `test`, `docs`,
/// `refactor`, `chore`, else `feat`.
pub(crate) fn commit_kind(title: &str) -> &'static str {
    let t = title.to_lowercase();
    let starts = |w: &[&str]| w.iter().any(|p| t.starts_with(p));
    if starts(&["fix", "repair", "correct", "resolve"]) {
        "fix"
    } else if starts(&["test", "add test", "write test", "cover"]) {
        "test"
    } else if starts(&["document", "docs", "write doc", "update doc", "readme"]) {
        "docs"
    } else if starts(&["refactor", "rename", "extract", "move", "clean"]) {
        "refactor"
    } else if starts(&["chore", "bump", "upgrade", "configure", "set up ci"]) {
        "chore"
    } else {
        "feat"
    }
}
