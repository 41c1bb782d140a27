//! The run's worktrees, reused: a task's worktree, once its work is kept or integrated, is
//! cleaned and set aside under `worktrees/.pool/N`, and the next task that needs a worktree
//! gets it moved to its own folder and switched to its branch, which rewrites only the files
//! that differ, not the whole tree. So a run checks out no more trees than it has tasks in
//! worktrees at once (at most its concurrency, plus tasks waiting for your commit), and the
//! cost of a task grows with what changed rather than with the size of the repository.
//!
//! A worktree enters the pool only after the no-lost-work check kept what it held (see
//! `Workspaces::release`), and is cleaned then: back to its commit, untracked files removed;
//! ignored files (build output, installed dependencies) stay, as they would in a folder you
//! reuse yourself. The pool is emptied when the invocation ends (each worktree checked and kept
//! first, like any other); one a crash left behind is
//! taken up by the next invocation. A waiting worktree someone changed by hand: when the switch
//! refuses (the change is in a file it would write), what it holds is kept under
//! `refs/planrun/kept/RUN/pool/N` before it is removed and a new checkout made; a change in a
//! file the switch does not touch is carried into the task's worktree and shows in its diff.

use super::workspaces::{Workspaces, git};
use planrun_git::keep::{self, Kept};
use planrun_git::{Git, worktree};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The folder of the pool, under the state directory's `worktrees/` (task ids start with a
/// letter or a digit, so it is never a task's).
pub(super) const POOL: &str = ".pool";

/// Worktrees waiting for a task, and what the pool saved.
#[derive(Debug, Default)]
pub(crate) struct Pool {
    inner: Mutex<PoolState>,
}

#[derive(Debug, Default)]
struct PoolState {
    free: Vec<PathBuf>,
    /// The free worktrees a crashed invocation left were looked for.
    adopted: bool,
    stats: PoolStats,
}

/// What the run's worktrees cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PoolStats {
    /// Full checkouts made (`git worktree add`).
    pub(crate) created: usize,
    /// Tasks given a worktree from the pool instead.
    pub(crate) reused: usize,
    /// The disk one checkout took (the first one measured), in bytes.
    pub(crate) checkout_bytes: Option<u64>,
    /// The most worktrees that existed at once (in use or waiting in the pool).
    pub(crate) peak: usize,
    /// Worktrees that exist now.
    live: usize,
}

impl PoolStats {
    /// What the summary says of the run's worktrees, when one was reused.
    pub(crate) fn line(&self) -> Option<String> {
        let s = |n: usize| if n == 1 { "" } else { "s" };
        match (self.created, self.reused) {
            (_, 0) => None,
            (0, r) => Some(format!("{r} task start{} reused a worktree, no new checkout", s(r))),
            (c, r) => {
                let size = self.checkout_bytes.map(|b| format!(" of {}", size(b))).unwrap_or_default();
                Some(format!("{c} checkout{}{size} served {} task starts ({} at most at once)", s(c), c + r, self.peak))
            }
        }
    }
}

/// `bytes` for people: KiB, MiB or GiB with one decimal.
fn size(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1} GiB", b / (1024.0 * 1024.0 * 1024.0))
    } else if b >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", b / (1024.0 * 1024.0))
    } else {
        format!("{:.1} KiB", b / 1024.0)
    }
}

impl Pool {
    /// What the pool has cost and saved so far.
    pub(crate) fn stats(&self) -> PoolStats {
        self.inner.lock().map(|s| s.stats).unwrap_or_default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut PoolState) -> T) -> T {
        let mut guard = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard)
    }
}

impl Workspaces {
    fn pool_dir(&self) -> PathBuf {
        self.state.join("worktrees").join(POOL)
    }

    /// A worktree for task `id` at `path` on a new `branch` at `start`: one from the pool when
    /// there is one (moved, then switched: only the files that differ are written), else a new
    /// checkout. Call with the git lock held, once `path` is clear. Returns what a pooled
    /// worktree that could not be used held and was kept before it was removed. In a sparse
    /// run (`--sparse`) the worktree holds only task `id`'s folders.
    pub(super) fn checkout(
        &self,
        repo: &Git,
        (id, path): (&str, &Path),
        branch: &str,
        start: &str,
    ) -> Result<Vec<Kept>, String> {
        self.adopt_left_behind(repo);
        let cone = self.sparse.as_ref().map(|s| s.cone(id));
        let mut kept = Vec::new();
        while let Some(free) = self.pool.with(|s| s.free.pop()) {
            // The folders change while the worktree is clean and detached, then the branch.
            let moved = worktree::relocate(repo, &free, path).and_then(|wt| {
                match &cone {
                    Some(cone) => worktree::set_sparse(&wt, cone.dirs())?,
                    // A sparse worktree a killed `--sparse` run left in the pool: whole again.
                    None if worktree::is_sparse(path) => worktree::set_sparse(&wt, None)?,
                    None => {}
                }
                worktree::switch(&wt, branch, start)
            });
            if moved.is_ok() {
                self.pool.with(|s| s.stats.reused += 1);
                return Ok(kept);
            }
            // Not usable (damaged, or changed by hand, so that the switch refused): what it
            // holds that no protected ref reaches is kept, then it goes and the next is tried.
            let at = if path.exists() { path.to_path_buf() } else { free };
            kept.extend(self.keep_pooled(repo, &at).map_err(|e| {
                git("cannot check whether a reused worktree holds work of its own (nothing was removed)", &e)
            })?);
            worktree::remove(repo, &at).map_err(|e| git("cannot remove a worktree that could not be reused", &e))?;
            self.pool.with(|s| s.stats.live = s.stats.live.saturating_sub(1));
        }
        match cone.as_ref().and_then(super::Cone::dirs) {
            Some(dirs) => worktree::add_sparse(repo, path, branch, start, dirs),
            None => worktree::add(repo, path, branch, start),
        }
        .map_err(|e| git("cannot create the task's worktree", &e))?;
        let first = self.pool.with(|s| {
            s.stats.created += 1;
            s.stats.live += 1;
            s.stats.peak = s.stats.peak.max(s.stats.live);
            s.stats.checkout_bytes.is_none()
        });
        if first {
            let bytes = disk_usage(path);
            self.pool.with(|s| s.stats.checkout_bytes = Some(bytes));
        }
        Ok(kept)
    }

    /// What the pooled worktree at `at` holds that no protected ref reaches (someone changed it
    /// by hand), kept under `refs/planrun/kept/RUN/pool/N` before it is removed.
    fn keep_pooled(&self, repo: &Git, at: &Path) -> Result<Vec<Kept>, planrun_git::GitError> {
        let slot = at.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let reference = keep::reference(&self.run_id, "pool", &slot);
        let scratch = self.state.join("workspaces").join("pool.keep.index");
        let _ = std::fs::create_dir_all(self.state.join("workspaces"));
        let found = keep::preserve(repo, at, None, &reference, &scratch);
        let _ = std::fs::remove_file(&scratch);
        found
    }

    /// Sets the worktree at `path`, whose work was kept, aside for another task: cleaned,
    /// detached from its branch (which may then be deleted) and moved into the pool. `false`
    /// when that failed: then remove it. Call with the git lock held.
    pub(super) fn recycle(&self, repo: &Git, path: &Path, clean: bool) -> bool {
        if !path.join(".git").is_file() {
            return false;
        }
        let slot = (1..).map(|n| self.pool_dir().join(n.to_string())).find(|p| !p.exists());
        let Some(slot) = slot else { return false };
        let _ = std::fs::create_dir_all(self.pool_dir());
        let done = worktree::scrub(&repo.at(path), clean).and_then(|()| worktree::relocate(repo, path, &slot));
        if done.is_ok() {
            self.pool.with(|s| s.free.push(slot));
            true
        } else {
            false
        }
    }

    /// Worktrees in the pool that a crashed invocation left: clean by construction (a worktree
    /// is moved there only once cleaned), so they serve this invocation's tasks.
    fn adopt_left_behind(&self, repo: &Git) {
        if self.pool.with(|s| std::mem::replace(&mut s.adopted, true)) {
            return;
        }
        let Ok(entries) = std::fs::read_dir(self.pool_dir()) else { return };
        let registered: Vec<PathBuf> =
            worktree::list(repo).map(|l| l.into_iter().map(|w| w.path).collect()).unwrap_or_default();
        for e in entries.flatten() {
            let p = e.path();
            let known = registered.iter().any(|r| same_file(r, &p));
            if known && p.join(".git").is_file() {
                self.pool.with(|s| {
                    s.free.push(p);
                    s.stats.live += 1;
                    s.stats.peak = s.stats.peak.max(s.stats.live);
                });
            }
            // Anything else there (not a registered worktree) is not planrun's to remove.
        }
    }

    /// Removes the worktrees waiting in the pool (when the invocation ends); what the pool saved.
    pub(crate) fn drain_pool(&self) -> PoolStats {
        let _git = self.git_lock.lock();
        if let Some(repo) = &self.repo {
            self.adopt_left_behind(repo);
            let free = self.pool.with(|s| std::mem::take(&mut s.free));
            for p in free {
                // Clean when planrun put it there; kept first all the same (one a killed run
                // left may have been changed by hand). One whose check fails stays.
                if self.keep_pooled(repo, &p).is_ok() && worktree::remove(repo, &p).is_ok() {
                    self.pool.with(|s| s.stats.live = s.stats.live.saturating_sub(1));
                }
            }
            let _ = std::fs::remove_dir(self.pool_dir());
        }
        self.pool.stats()
    }

    /// A worktree was removed (not recycled).
    pub(super) fn removed_one(&self) {
        self.pool.with(|s| s.stats.live = s.stats.live.saturating_sub(1));
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

/// The disk the files under `path` take (their allocated blocks), as `du` counts it.
pub(crate) fn disk_usage(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for e in entries.flatten() {
            let Ok(meta) = e.metadata() else { continue };
            total += meta.blocks() * 512;
            if meta.is_dir() {
                stack.push(e.path());
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_line_says_what_the_worktrees_cost() {
        let stats = |created, reused, bytes| PoolStats { created, reused, checkout_bytes: bytes, peak: 2, live: 0 };
        assert_eq!(stats(3, 0, None).line(), None, "nothing reused: nothing to say");
        assert_eq!(
            stats(2, 8, Some(84_410_368)).line().unwrap(),
            "2 checkouts of 80.5 MiB served 10 task starts (2 at most at once)"
        );
        assert_eq!(
            stats(1, 1, Some(4096)).line().unwrap(),
            "1 checkout of 4.0 KiB served 2 task starts (2 at most at once)"
        );
        assert_eq!(stats(0, 1, None).line().unwrap(), "1 task start reused a worktree, no new checkout");
    }
}
