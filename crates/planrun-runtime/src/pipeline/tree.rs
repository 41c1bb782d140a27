//! The shared working tree's last snapshot, taken again only when something may have changed
//! it. Every snapshot looks at the whole tree (one `git status`); a task needs one when it
//! starts and one for each of its scope check, checks and commit. Between two of them that no
//! process of planrun's ran in between (an agent, a check command), the tree is as it was, so
//! the last snapshot serves, for a short while: long enough for the stages of a task that run
//! one after the other, short enough that what you change by hand is seen by the next look.

use super::workspaces::Workspaces;
use planrun_git::{Git, GitError, scope};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a snapshot serves while nothing of planrun's runs in the tree.
const REUSE: Duration = Duration::from_secs(2);

/// The shared tree's state as planrun knows it.
#[derive(Debug, Default)]
pub(crate) struct TreeState {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Bumped whenever a process of planrun's starts or ends in the tree.
    generation: u64,
    /// Processes of planrun's working in the tree now.
    running: usize,
    /// The last look: the generation it was taken in, when, and what it saw.
    last: Option<(u64, Instant, Look)>,
}

/// One look at the shared tree: `git status`, and the tree object of what is on disk once it
/// was needed.
#[derive(Debug, Clone)]
struct Look {
    status: scope::Status,
    tree: Option<String>,
}

/// Held while a process of planrun's works in the tree (see `TreeState::busy`).
pub(crate) struct Busy(Arc<TreeState>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.with(|s| {
            s.running = s.running.saturating_sub(1);
            s.generation += 1;
        });
    }
}

impl TreeState {
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        let mut guard = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard)
    }

    /// A process of planrun's starts in the tree: until the guard is dropped, and after it,
    /// no earlier look is taken for the tree as it is.
    pub(crate) fn busy(self: &Arc<Self>) -> Busy {
        self.with(|s| {
            s.running += 1;
            s.generation += 1;
        });
        Busy(Arc::clone(self))
    }

    /// The last look when it still holds, else a new one (kept when nothing ran meanwhile),
    /// with the generation it belongs to (`None`: not kept).
    fn look(&self, repo: &Git) -> Result<(Option<u64>, Look), GitError> {
        let cached = self.with(|s| match &s.last {
            Some((g, at, look)) if s.running == 0 && *g == s.generation && at.elapsed() < REUSE => {
                Ok((Some(*g), look.clone()))
            }
            _ => Err((s.running == 0).then_some(s.generation)),
        });
        let generation = match cached {
            Ok(hit) => return Ok(hit),
            Err(g) => g,
        };
        let started = Instant::now();
        let look = Look { status: scope::status(repo)?, tree: None };
        let kept = self.with(|s| {
            let still = generation == Some(s.generation) && s.running == 0;
            if still {
                s.last = Some((s.generation, started, look.clone()));
            }
            still.then_some(s.generation)
        });
        Ok((kept, look))
    }

    /// Keeps what was learnt of the look of `generation` (its tree).
    fn learnt(&self, generation: Option<u64>, look: &Look) {
        self.with(|s| {
            if let Some((g, _, last)) = &mut s.last {
                if Some(*g) == generation && *g == s.generation {
                    last.tree.clone_from(&look.tree);
                }
            }
        });
    }

    /// planrun committed `paths` as `commit` on top of the checked-out commit, exactly as they
    /// were on disk (nothing ran in the tree since its last look): the look stays true, now
    /// measured from `commit`.
    pub(crate) fn committed(&self, commit: &str, paths: &[String]) {
        self.with(|s| {
            let generation = s.generation;
            if let Some((g, _, look)) = &mut s.last {
                if *g == generation {
                    look.status.head = Some(commit.to_owned());
                    look.status.dirty.retain(|d| !paths.contains(&d.path));
                    return;
                }
            }
            s.last = None;
        });
    }
}

impl Workspaces {
    /// A snapshot of the shared tree (`scope::snapshot`), from the last look when it holds.
    pub(super) fn tree_snapshot(&self, repo: &Git, scratch: &Path) -> Result<String, GitError> {
        let (generation, mut look) = self.tree.look(repo)?;
        if let Some(tree) = &look.tree {
            return Ok(tree.clone());
        }
        let tree = scope::tree_of(repo, &look.status, scratch)?;
        look.tree = Some(tree.clone());
        self.tree.learnt(generation, &look);
        Ok(tree)
    }

    /// Every path of the shared tree that differs from `base` (a snapshot), from the last look
    /// when it holds: when `base` is the commit checked out, what `git status` listed.
    pub(super) fn tree_changes(&self, repo: &Git, base: &str, scratch: &Path) -> Result<Vec<scope::Changed>, GitError> {
        let (_, look) = self.tree.look(repo)?;
        if look.status.head.as_deref() == Some(base) {
            if let Some(changes) = look.status.changes() {
                return Ok(changes);
            }
        }
        let now = self.tree_snapshot(repo, scratch)?;
        scope::between(repo, base, &now)
    }
}
