//! A task's own working tree: `git worktree add` on a branch of its own, started from a given
//! commit, removed when no longer needed (also what a crashed run left behind: `list`, `prune`).

use crate::{Git, GitError};
use std::path::{Path, PathBuf};

/// One worktree of a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Worktree {
    pub path: PathBuf,
    /// The commit checked out.
    pub head: Option<String>,
    /// The branch checked out, without `refs/heads/`.
    pub branch: Option<String>,
}

/// Creates (or resets) branch `branch` at `start` and checks it out in a new worktree at
/// `path`. A stale registration of `path` (its folder deleted by a crash) is pruned, and the
/// worktree added again.
pub fn add(repo: &Git, path: &Path, branch: &str, start: &str) -> Result<Git, GitError> {
    let p = path.display().to_string();
    let args = ["worktree", "add", "--quiet", "-B", branch, &p, start];
    if repo.run(&args).is_err() {
        repo.run(&["worktree", "prune"])?;
        repo.run(&args)?;
    }
    Ok(repo.at(path))
}

/// [`add`] with a sparse checkout: only the files at the top level and the folders `dirs`
/// (git's cone mode, which also keeps the files directly inside each folder above them) are
/// written; the rest stays in the index, marked skip-worktree. The setting is the worktree's
/// own (git turns on `extensions.worktreeConfig`), so git commands run in it by an agent see
/// the same sparse tree. `dirs` need not exist yet.
pub fn add_sparse(repo: &Git, path: &Path, branch: &str, start: &str, dirs: &[String]) -> Result<Git, GitError> {
    let p = path.display().to_string();
    let args = ["worktree", "add", "--quiet", "--no-checkout", "-B", branch, &p, start];
    if repo.run(&args).is_err() {
        repo.run(&["worktree", "prune"])?;
        repo.run(&args)?;
    }
    let wt = repo.at(path);
    set_sparse(&wt, Some(dirs))?;
    // The index is empty after `--no-checkout`: filled from the commit, and the files inside
    // the cone written.
    wt.run(&["read-tree", "--reset", "-u", "HEAD"])?;
    Ok(wt)
}

/// Sets which folders the worktree `wt` holds: `Some(dirs)` as in [`add_sparse`], `None` the
/// whole tree. Files that leave the tree must be unchanged (git refuses otherwise, changing
/// nothing); call it on a clean worktree.
pub fn set_sparse(wt: &Git, dirs: Option<&[String]>) -> Result<(), GitError> {
    match dirs {
        None => wt.run(&["sparse-checkout", "disable"]).map(|_| ()),
        Some(dirs) => {
            let mut args = vec!["sparse-checkout", "set", "--cone", "--skip-checks", "--"];
            args.extend(dirs.iter().map(String::as_str));
            wt.run(&args).map(|_| ())
        }
    }
}

/// Whether the linked worktree at `path` has a sparse checkout turned on (read from its own
/// `config.worktree`, no git process). `false` when that cannot be read.
pub fn is_sparse(path: &Path) -> bool {
    let Ok(link) = std::fs::read_to_string(path.join(".git")) else { return false };
    let Some(dir) = link.trim().strip_prefix("gitdir:").map(|d| PathBuf::from(d.trim())) else { return false };
    let dir = if dir.is_relative() { path.join(dir) } else { dir };
    let Ok(config) = std::fs::read_to_string(dir.join("config.worktree")) else { return false };
    config.lines().any(|l| {
        let l = l.trim().to_ascii_lowercase();
        l.split_once('=').is_some_and(|(k, v)| k.trim() == "sparsecheckout" && v.trim() == "true")
    })
}

/// Removes the worktree at `path` (with whatever is in it) and its registration. A worktree
/// already gone is fine (its registration is pruned).
pub fn remove(repo: &Git, path: &Path) -> Result<(), GitError> {
    let p = path.display().to_string();
    if path.exists() {
        let out = repo.output(&["worktree", "remove", "--force", "--force", &p])?;
        if out.status.success() {
            return Ok(());
        }
        if path.exists() {
            // Not a registered worktree any more (or damaged): remove the folder itself.
            std::fs::remove_dir_all(path).map_err(|e| GitError::Failed {
                args: format!("worktree remove {p}"),
                code: None,
                stderr: e.to_string(),
            })?;
        }
    }
    repo.run(&["worktree", "prune"]).map(|_| ())
}

/// Moves the worktree at `from` to `to` (a rename: nothing is checked out again).
pub fn relocate(repo: &Git, from: &Path, to: &Path) -> Result<Git, GitError> {
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir).map_err(|e| GitError::Failed {
            args: "worktree move".into(),
            code: None,
            stderr: format!("cannot create `{}`: {e}", dir.display()),
        })?;
    }
    let (f, t) = (from.display().to_string(), to.display().to_string());
    repo.run(&["worktree", "move", &f, &t])?;
    Ok(repo.at(to))
}

/// Checks out branch `branch`, created (or reset) at `start`, in the clean worktree `wt`: only
/// the files that differ between what it has and `start` are written. Refuses, changing
/// nothing, when a file it would write holds changes of its own.
pub fn switch(wt: &Git, branch: &str, start: &str) -> Result<(), GitError> {
    wt.run(&["checkout", "--quiet", "--no-track", "-B", branch, start]).map(|_| ())
}

/// Cleans the worktree `wt`, whose work is kept elsewhere, for another use: its files back to
/// its commit, untracked files removed (ignored ones, such as build output, stay), and `HEAD`
/// detached so that its branch can be deleted. Only for planrun's own worktrees, after the
/// no-lost-work check; `clean`: that check found nothing uncommitted (only `HEAD` moves).
pub fn scrub(wt: &Git, clean: bool) -> Result<(), GitError> {
    if clean {
        // Nothing to put back: `HEAD` detached where it is, no file looked at.
        return wt.run(&["update-ref", "--no-deref", "-m", "planrun: detach", "HEAD", "HEAD"]).map(|_| ());
    }
    wt.run(&["checkout", "--quiet", "--force", "--detach"])?;
    wt.run(&["clean", "--quiet", "-d", "--force"]).map(|_| ())
}

/// Every worktree of the repository, the main one first.
pub fn list(repo: &Git) -> Result<Vec<Worktree>, GitError> {
    let text = repo.run(&["worktree", "list", "--porcelain", "-z"])?;
    let mut out = Vec::new();
    let mut current: Option<Worktree> = None;
    for field in text.split('\0') {
        if field.is_empty() {
            if let Some(w) = current.take() {
                out.push(w);
            }
            continue;
        }
        if let Some(path) = field.strip_prefix("worktree ") {
            if let Some(w) = current.take() {
                out.push(w);
            }
            current = Some(Worktree { path: PathBuf::from(path), head: None, branch: None });
        } else if let Some(w) = current.as_mut() {
            if let Some(h) = field.strip_prefix("HEAD ") {
                w.head = Some(h.to_owned());
            } else if let Some(b) = field.strip_prefix("branch ") {
                w.branch = Some(b.strip_prefix("refs/heads/").unwrap_or(b).to_owned());
            }
        }
    }
    if let Some(w) = current {
        out.push(w);
    }
    Ok(out)
}

/// The worktree that has `branch` checked out, if any.
pub fn holding(repo: &Git, branch: &str) -> Result<Option<Worktree>, GitError> {
    Ok(list(repo)?.into_iter().find(|w| w.branch.as_deref() == Some(branch)))
}

/// Lock files a killed git command left in the worktree at `path` (its index and `HEAD`; never
/// pass the user's main working tree) and for `refs` (full ref names, e.g. its branch): git
/// refuses to work while they exist. Call only when no git command of planrun's can be running
/// there: a lock still present after a short wait (a command finishing) is stale and removed.
/// Returns the files removed.
pub fn clear_stale_locks(repo: &Git, path: Option<&Path>, refs: &[String]) -> Vec<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(path) = path.filter(|p| p.join(".git").exists()) {
        if let Ok(dir) = repo.at(path).run(&["rev-parse", "--absolute-git-dir"]) {
            let dir = PathBuf::from(dir.trim());
            candidates.extend(["index.lock", "HEAD.lock"].map(|f| dir.join(f)));
        }
    }
    if let Ok(common) = repo.run(&["rev-parse", "--path-format=absolute", "--git-common-dir"]) {
        let common = PathBuf::from(common.trim());
        candidates.extend(refs.iter().map(|r| common.join(format!("{r}.lock"))));
    }
    let mut removed = Vec::new();
    for lock in candidates {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        while lock.exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        if lock.exists() && std::fs::remove_file(&lock).is_ok() {
            removed.push(lock);
        }
    }
    removed
}
