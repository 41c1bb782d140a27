//! The merge queue's one step: put a task's branch on top of the integration branch and move
//! the integration branch to it, one task at a time. When the integration branch moved since
//! the task started, the task branch is rebased first (the caller re-runs verify before
//! calling `advance`); a conflict aborts the rebase and reports the files and hunks, leaving
//! both branches as they were.

use crate::worktree;
use crate::{Git, GitError};

/// At most this much of the conflicting hunks is kept for the rework prompt.
const HUNKS_LIMIT: usize = 16 * 1024;

/// How putting a task branch on the integration branch went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rebased {
    /// The task branch already sits on the integration branch's tip.
    Current { head: String },
    /// The task branch was rebased onto the tip; its commits are new.
    Moved { head: String },
    /// The rebase stopped on conflicts; nothing changed.
    Conflict { files: Vec<String>, hunks: String },
}

/// Rebases the branch checked out in `task_wt` onto `integration` (whose tip the caller read
/// from the repository). Must be run in the task's worktree.
pub fn rebase(task_wt: &Git, integration_tip: &str) -> Result<Rebased, GitError> {
    let base = task_wt.run(&["merge-base", "HEAD", integration_tip])?.trim().to_owned();
    if base == integration_tip {
        return Ok(Rebased::Current { head: task_wt.head()? });
    }
    let identity = task_wt.identity_args();
    let mut args: Vec<&str> = identity.iter().map(String::as_str).collect();
    args.extend(["rebase", "--quiet", "--no-autostash", integration_tip]);
    let out = task_wt.output(&args)?;
    if out.status.success() {
        return Ok(Rebased::Moved { head: task_wt.head()? });
    }
    let files: Vec<String> = task_wt
        .run(&["diff", "--name-only", "--diff-filter=U"])?
        .lines()
        .map(str::to_owned)
        .filter(|l| !l.is_empty())
        .collect();
    let mut hunks = task_wt.run(&["diff"]).unwrap_or_default();
    if hunks.len() > HUNKS_LIMIT {
        let mut cut = HUNKS_LIMIT;
        while !hunks.is_char_boundary(cut) {
            cut -= 1;
        }
        hunks.truncate(cut);
        hunks.push_str("\n… (cut)\n");
    }
    // A rebase git refused to start (uncommitted changes to tracked files are in the way) left
    // nothing to abort: only one in progress is.
    abort_in_progress(task_wt)?;
    if files.is_empty() {
        // Not a content conflict: report what git said.
        return Err(GitError::Failed {
            args: args.join(" "),
            code: out.status.code(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(Rebased::Conflict { files, hunks })
}

/// Aborts a rebase or cherry-pick left in progress in `wt` (a run killed in the middle of
/// one): the branch goes back to where it was before it.
pub fn abort_in_progress(wt: &Git) -> Result<(), GitError> {
    // The worktree's own git folder, where git keeps them (found without running git).
    let gitdir = wt.index_file().and_then(|i| i.parent().map(std::path::Path::to_path_buf));
    for (marker, abort) in [("rebase-merge", "rebase"), ("rebase-apply", "rebase"), ("CHERRY_PICK_HEAD", "cherry-pick")]
    {
        let path = match &gitdir {
            Some(d) => d.join(marker),
            None => {
                std::path::PathBuf::from(wt.run(&["rev-parse", "--path-format=absolute", "--git-path", marker])?.trim())
            }
        };
        if path.exists() {
            let flag = if abort == "rebase" { "--abort" } else { "--quit" };
            wt.run(&[abort, flag])?;
        }
    }
    Ok(())
}

/// Moves branch `integration` from `expected` to `to`, which must descend from it (a
/// fast-forward). If a worktree has the branch checked out, it is fast-forwarded there so its
/// files follow; otherwise the ref is updated only if it still points at `expected`.
pub fn advance(repo: &Git, integration: &str, expected: &str, to: &str) -> Result<(), GitError> {
    if let Some(w) = worktree::holding(repo, integration)? {
        let wt = repo.at(w.path);
        if wt.head()? != expected {
            return Err(GitError::Unexpected {
                args: format!("merge --ff-only {to}"),
                what: format!("`{integration}` moved while the task was being integrated"),
            });
        }
        return wt.run(&["merge", "--quiet", "--ff-only", to]).map(|_| ());
    }
    let r = format!("refs/heads/{integration}");
    let ancestor = repo.output(&["merge-base", "--is-ancestor", expected, to])?;
    if !ancestor.status.success() {
        return Err(GitError::Unexpected {
            args: format!("update-ref {r}"),
            what: format!("{to} does not descend from {expected}: not a fast-forward"),
        });
    }
    repo.run(&["update-ref", "-m", "planrun: integrate", &r, to, expected]).map(|_| ())
}

/// After a conflict: a fresh worktree at `path` on `branch`, started from `tip`, holding the
/// changes of the task's commit `commit` applied with a three-way merge (a cherry-pick
/// without committing). Changes that apply cleanly are in place; the conflicting ones are left
/// in their files between conflict markers, as git leaves them, for the task's next attempt to
/// resolve. Git's own record of the cherry-pick and the index are reset, so the markers are
/// plain edits in the working tree. Returns the files that hold markers.
pub fn replay_on(
    repo: &Git,
    path: &std::path::Path,
    branch: &str,
    commit: &str,
    tip: &str,
) -> Result<Vec<String>, GitError> {
    worktree::remove(repo, path)?;
    let wt = worktree::add(repo, path, branch, tip)?;
    let identity = wt.identity_args();
    let mut args: Vec<&str> = identity.iter().map(String::as_str).collect();
    args.extend(["cherry-pick", "--no-commit", commit]);
    let picked = wt.output(&args)?;
    let files: Vec<String> = wt
        .run(&["diff", "--name-only", "--diff-filter=U"])?
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    if !picked.status.success() && files.is_empty() {
        return Err(GitError::Failed {
            args: args.join(" "),
            code: picked.status.code(),
            stderr: String::from_utf8_lossy(&picked.stderr).trim().to_owned(),
        });
    }
    let _ = wt.output(&["cherry-pick", "--quit"]);
    wt.run(&["reset", "--quiet"])?;
    Ok(files)
}

/// How `take_in` brought a branch up to date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TakenIn {
    /// The branch already holds the commit.
    UpToDate,
    /// The branch had nothing of its own: it now points at the commit.
    FastForward,
    /// A merge commit joins the branch and the commit.
    Merged(String),
    /// The two conflict in these files; nothing was changed.
    Conflict(Vec<String>),
}

/// Brings branch `branch` up to date with `commit` (work committed after the branch was cut):
/// a fast-forward when the branch holds nothing of its own, else a merge commit with `message`,
/// made without touching any working tree (`git merge-tree`) unless a worktree has the branch
/// checked out, where `git merge` runs so its files follow. On a conflict nothing is changed.
pub fn take_in(repo: &Git, branch: &str, commit: &str, message: &str) -> Result<TakenIn, GitError> {
    let tip = repo.branch_head(branch)?;
    let commit = repo.rev_parse(commit)?;
    let is_ancestor =
        |a: &str, b: &str| repo.output(&["merge-base", "--is-ancestor", a, b]).map(|o| o.status.success());
    if is_ancestor(&commit, &tip)? {
        return Ok(TakenIn::UpToDate);
    }
    if is_ancestor(&tip, &commit)? {
        advance(repo, branch, &tip, &commit)?;
        return Ok(TakenIn::FastForward);
    }
    let out = repo.output(&["merge-tree", "--write-tree", "--name-only", "--no-messages", &tip, &commit])?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines = text.lines();
    let tree = lines.next().unwrap_or("").trim().to_owned();
    if !out.status.success() {
        let files: Vec<String> = lines.filter(|l| !l.trim().is_empty()).map(str::to_owned).collect();
        if out.status.code() == Some(1) {
            return Ok(TakenIn::Conflict(files));
        }
        return Err(GitError::Unexpected { args: "merge-tree --write-tree".into(), what: text });
    }
    if let Some(w) = worktree::holding(repo, branch)? {
        let wt = repo.at(w.path);
        let mut args = repo.identity_args();
        args.extend(["merge".into(), "--quiet".into(), "--no-edit".into(), "-m".into(), message.into(), commit]);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        wt.run(&argv)?;
        return Ok(TakenIn::Merged(wt.head()?));
    }
    let mut args = repo.identity_args();
    args.extend([
        "commit-tree".into(),
        tree,
        "-p".into(),
        tip.clone(),
        "-p".into(),
        commit,
        "-m".into(),
        message.into(),
    ]);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let merged = repo.run(&argv)?.trim().to_owned();
    repo.run(&["update-ref", "-m", "planrun: take in new commits", &format!("refs/heads/{branch}"), &merged, &tip])?;
    Ok(TakenIn::Merged(merged))
}
