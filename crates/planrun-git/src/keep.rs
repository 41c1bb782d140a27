//! The "no work lost" rule, in one place: before planrun removes or resets a worktree or a
//! branch, whatever it holds that no protected ref reaches (its commits, and its uncommitted
//! files, untracked ones included, ignored ones not) is kept under `refs/planrun/kept/…` as one
//! commit. Protected refs are the integration branch and every ref planrun did not make for a
//! task (the user's branches, tags, the main tree's `HEAD`, kept refs themselves). Knows nothing
//! of the journal: callers say which ref names the work.

use crate::{Git, GitError, nul_split, scope};
use std::path::Path;

/// Where kept work lives: `refs/planrun/kept/<run>/<task>/<attempt>`.
pub const PREFIX: &str = "refs/planrun/kept/";

/// Work kept under a ref.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    /// The full ref name (`refs/planrun/kept/RUN/TASK/ATTEMPT`).
    pub reference: String,
    /// The commit it points at.
    pub commit: String,
}

/// The ref that keeps `task`'s work of `attempt` in `run` (each piece a valid ref component).
pub fn reference(run: &str, task: &str, attempt: &str) -> String {
    format!("{PREFIX}{}/{}/{}", piece(run), piece(task), piece(attempt))
}

/// Where one run's kept work lives: `refs/planrun/kept/<run>/`.
pub fn run_prefix(run: &str) -> String {
    format!("{PREFIX}{}/", piece(run))
}

/// `s` as one ref component (how a task id or a run id appears in a kept ref): git refuses `..`, a leading `.`, a trailing `.` or `.lock`,
/// and some characters; those become `-`.
pub fn piece(s: &str) -> String {
    let mut out: String =
        s.chars().map(|c| if c.is_ascii_control() || " ~^:?*[\\/@{".contains(c) { '-' } else { c }).collect();
    while out.contains("..") {
        out = out.replace("..", "-");
    }
    if out.starts_with('.') {
        out.replace_range(..1, "-");
    }
    while out.ends_with('.') || out.ends_with(".lock") {
        out = format!("{}-", out.trim_end_matches('.').trim_end_matches(".lock"));
    }
    if out.is_empty() { "-".to_owned() } else { out }
}

/// Whether `commit` is reachable from a protected ref: anything but the task branches.
pub fn protected(repo: &Git, commit: &str) -> Result<bool, GitError> {
    // Not `--all`: it counts every worktree's `HEAD`, so a task's worktree would protect itself.
    // `HEAD` too (ignored before the first commit).
    let args = [
        "rev-list",
        "--ignore-missing",
        "-n",
        "1",
        commit,
        "--not",
        "--exclude=planrun/task/*",
        "--branches",
        "--tags",
        "--remotes",
        "--glob=refs/planrun/*",
        "HEAD",
        "--",
    ];
    let out = repo.run(&args)?;
    Ok(out.trim().is_empty())
}

/// The whole state of the worktree at `wt` as a commit: its `HEAD` when nothing is
/// uncommitted, else a new commit (parent `HEAD`) of its tree as it is on disk, untracked files
/// included and ignored ones not. The worktree, its index and its branch are left as they were.
/// `None` for a folder that is no working tree with a commit.
pub fn state(wt: &Git, scratch_index: &Path) -> Result<Option<String>, GitError> {
    state_checked(wt, scratch_index).map(|s| s.map(|(commit, _)| commit))
}

/// `state`, and whether the worktree is exactly `HEAD` (`git status` lists nothing).
fn state_checked(wt: &Git, scratch_index: &Path) -> Result<Option<(String, bool)>, GitError> {
    let Ok(head) = wt.head() else { return Ok(None) };
    let tree = scope::snapshot(wt, scratch_index)?;
    if tree == head {
        // Nothing uncommitted.
        return Ok(Some((head, true)));
    }
    let head_tree = wt.run(&["rev-parse", "--verify", "--quiet", &format!("{head}^{{tree}}")])?.trim().to_owned();
    if tree == head_tree {
        // The same files, but the index or the tree is not as `HEAD` left it (a path removed
        // from the index and still on disk): nothing to keep, something to clean.
        return Ok(Some((head, false)));
    }
    // Dated as its parent, so the same state gives the same commit each time it is taken (and,
    // once kept, counts as protected rather than being kept again).
    let when = format!("@{} +0000", wt.run(&["show", "-s", "--format=%ct", &head])?.trim());
    let g = wt.clone().with_env("GIT_AUTHOR_DATE", &when).with_env("GIT_COMMITTER_DATE", &when);
    let identity = g.identity_args();
    let mut args: Vec<&str> = identity.iter().map(String::as_str).collect();
    args.extend(["commit-tree", &tree, "-p", &head, "-m", "planrun: work kept from a worktree before it was removed"]);
    Ok(Some((g.run(&args)?.trim().to_owned(), false)))
}

/// Points `reference` at `commit` unless a protected ref already reaches it. A ref of that
/// name that holds other work is not moved: the new work goes under `reference.2`, `.3`, …
pub fn keep_commit(repo: &Git, commit: &str, reference: &str) -> Result<Option<Kept>, GitError> {
    if protected(repo, commit)? {
        return Ok(None);
    }
    let mut name = reference.to_owned();
    for n in 2..1000 {
        match repo.output(&["rev-parse", "--verify", "--quiet", &name])? {
            out if !out.status.success() => break,
            _ => name = format!("{reference}.{n}"),
        }
    }
    repo.run(&["update-ref", "-m", "planrun: keep work", &name, commit, ""])?;
    Ok(Some(Kept { reference: name, commit: commit.to_owned() }))
}

/// Before the worktree at `path` (on `branch`, if any) is removed or reset: its uncommitted
/// files and its commits, and the commits of `branch`, when no protected ref reaches them, are
/// kept under `reference` (and `reference.2`, … for a branch that points elsewhere than the
/// worktree's `HEAD`, e.g. in the middle of a rebase). Returns what was kept.
pub fn preserve(
    repo: &Git,
    path: &Path,
    branch: Option<&str>,
    reference: &str,
    scratch_index: &Path,
) -> Result<Vec<Kept>, GitError> {
    preserve_checked(repo, path, branch, reference, scratch_index).map(|(kept, _)| kept)
}

/// `preserve`, and whether the worktree held nothing uncommitted (then it needs no cleaning
/// before another use).
pub fn preserve_checked(
    repo: &Git,
    path: &Path,
    branch: Option<&str>,
    reference: &str,
    scratch_index: &Path,
) -> Result<(Vec<Kept>, bool), GitError> {
    let mut kept = Vec::new();
    let mut seen = Vec::new();
    let mut clean = false;
    if path.join(".git").exists() {
        if let Some((c, unchanged)) = state_checked(&repo.at(path), scratch_index)? {
            clean = unchanged;
            if let Some(k) = keep_commit(repo, &c, reference)? {
                kept.push(k);
            }
            seen.push(c);
        }
    }
    if let Some(b) = branch {
        if let Some(head) = repo.branch_tip(b)? {
            // Already kept or protected through the worktree's state (its ancestor)?
            let covered = seen
                .iter()
                .any(|s| repo.output(&["merge-base", "--is-ancestor", &head, s]).is_ok_and(|o| o.status.success()));
            if !covered {
                if let Some(k) = keep_commit(repo, &head, reference)? {
                    kept.push(k);
                }
            }
        }
    }
    Ok((kept, clean))
}

/// Every kept ref under `prefix` (e.g. `refs/planrun/kept/` or one run's), sorted by name.
pub fn list(repo: &Git, prefix: &str) -> Result<Vec<Kept>, GitError> {
    let out = repo.run(&["for-each-ref", "--format=%(refname)%00%(objectname)%00", prefix])?;
    let mut fields = nul_split(&out).map(|s| s.trim_start_matches('\n'));
    let mut kept = Vec::new();
    while let (Some(reference), Some(commit)) = (fields.next(), fields.next()) {
        kept.push(Kept { reference: reference.to_owned(), commit: commit.to_owned() });
    }
    kept.sort_by(|a, b| a.reference.cmp(&b.reference));
    Ok(kept)
}

/// Deletes the kept ref `reference` (the user said the work may go).
pub fn forget(repo: &Git, reference: &str) -> Result<(), GitError> {
    if !reference.starts_with(PREFIX) {
        return Err(GitError::Unexpected {
            args: format!("update-ref -d {reference}"),
            what: "not a ref of kept work".into(),
        });
    }
    repo.run(&["update-ref", "-d", reference]).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_are_valid_ref_components() {
        for (s, want) in [("a", "a"), ("1.2", "1.2"), ("a..b", "a-b"), ("v1.", "v1-"), ("x.lock", "x-"), (".h", "-h")] {
            assert_eq!(piece(s), want, "{s}");
        }
        let r = reference("20260101-000000", "T/1 x", "3");
        assert_eq!(r, "refs/planrun/kept/20260101-000000/T-1-x/3");
        let ok = std::process::Command::new("git").args(["check-ref-format", &r]).output().unwrap();
        assert!(ok.status.success());
    }
}
