//! The run's workspaces: the shared working tree or a worktree and branch per task, the record
//! of where a task's work began, the scope check's diff, the task's commit, and dropping a
//! workspace with what only it held kept.

use super::choices::WorkspaceMode;
use super::integrate::FINAL;
use super::status_paths;
use planrun_git::keep::{self, Kept};
use planrun_git::scope::{self, Changed};
use planrun_git::{Git, commit, worktree};
use planrun_plan::globs::Pattern;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Where one task's work began: recorded before its agent first runs, removed once the task
/// is integrated (or its workspace is dropped), so a restarted run picks its work up again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Place {
    /// The folder the task works in.
    pub(crate) path: PathBuf,
    /// Its branch (worktree mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) branch: Option<String>,
    /// What its changes are measured against: the commit its worktree started from, or (shared
    /// mode) a snapshot of the shared tree as a tree object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) base: Option<String>,
    /// The commit the task was integrated as (worktree mode), once it is: kept after its
    /// worktree is removed, so a run stopped before the pass was journaled finds it again.
    /// The task's next attempt (a retry) replaces the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) merged: Option<String>,
}

/// The run's workspaces.
#[derive(Debug, Clone)]
pub(crate) struct Workspaces {
    pub(crate) mode: WorkspaceMode,
    /// The repository, when the workspace is a git work tree.
    pub(crate) repo: Option<Git>,
    /// The branch tasks are merged onto (worktree mode).
    pub(crate) integration: Option<String>,
    pub(crate) run_id: String,
    /// The shared working tree (the git top level, or the plan's folder).
    pub(crate) root: PathBuf,
    /// The state directory.
    pub(crate) state: PathBuf,
    /// Held around git commands that change the repository's worktree list or branches
    /// (adding, removing and pruning worktrees, rebasing, moving the integration branch): git
    /// takes locks for them and fails, not waits, when another command holds one.
    pub(crate) git_lock: std::sync::Arc<std::sync::Mutex<()>>,
    /// Worktrees waiting for the next task (`pool`).
    pub(crate) pool: std::sync::Arc<super::pool::Pool>,
    /// The last snapshot of the shared tree (`tree`).
    pub(crate) tree: std::sync::Arc<super::tree::TreeState>,
    /// `--sparse`: the folders each task's worktree checks out.
    pub(crate) sparse: Option<std::sync::Arc<super::Sparse>>,
}

/// A git error as a reason a step gives.
pub(super) fn git(what: &str, e: &planrun_git::GitError) -> String {
    format!("{what}: {e}")
}

/// `id` as a piece of a branch name (task ids are letters, digits, `.`, `_`, `-`; git refuses
/// `..`, a trailing `.` and a trailing `.lock`).
pub(super) fn ref_piece(id: &str) -> String {
    let mut s = id.replace("..", "-");
    while s.ends_with('.') || s.ends_with(".lock") {
        s = format!("{}-", s.trim_end_matches('.'));
        if s.ends_with(".lock-") {
            s = s.replace(".lock-", "-lock");
        }
    }
    s
}

impl Workspaces {
    pub(super) fn record(&self, id: &str) -> PathBuf {
        self.state.join("workspaces").join(format!("{id}.json"))
    }

    /// The folder task `id` works in.
    pub(crate) fn path(&self, id: &str) -> PathBuf {
        match self.mode {
            WorkspaceMode::Worktree => self.state.join("worktrees").join(id),
            WorkspaceMode::Shared => self.root.clone(),
        }
    }

    /// The branch of task `id` (worktree mode): beside the integration branch, since git
    /// cannot hold `planrun/RUN` and branches under it at once.
    pub(crate) fn branch(&self, id: &str) -> String {
        format!("planrun/task/{}/{}", self.run_id, ref_piece(id))
    }

    /// Where task `id`'s work began, if it has begun.
    pub(crate) fn place(&self, id: &str) -> Option<Place> {
        let text = std::fs::read(self.record(id)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    pub(super) fn save(&self, id: &str, place: &Place) -> Result<(), String> {
        let path = self.record(id);
        let dir = path.parent().unwrap_or(&self.state);
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
        let text = serde_json::to_vec_pretty(place).map_err(|e| e.to_string())?;
        // Durable before the worktree or snapshot it names is used: after a crash the record
        // says where the task's work began.
        crate::layout::replace_durably(&path, &text).map_err(|e| format!("cannot write `{}`: {e}", path.display()))
    }

    /// Makes task `id`'s workspace ready for an attempt and returns it: its worktree as the
    /// previous attempt left it (so rework builds on it), or a new one from the integration
    /// branch's tip; in a shared tree, the snapshot its changes are measured against, taken
    /// before its first attempt.
    pub(crate) fn prepare(&self, id: &str, attempt: u32) -> Result<(Place, Vec<Kept>), String> {
        let _git = self.git_lock.lock();
        let known = self.place(id);
        match (self.mode, &self.repo) {
            (WorkspaceMode::Worktree, Some(repo)) => {
                let path = self.path(id);
                // Rework builds on the worktree as the last attempt left it; a worktree whose
                // work was merged already (its removal was cut short) is started afresh.
                if let Some(p) = known.filter(|p| p.path == path && p.merged.is_none() && path.join(".git").exists()) {
                    return Ok((p, Vec::new()));
                }
                let integration = self.integration.as_deref().unwrap_or("HEAD");
                let tip = repo
                    .branch_head(integration)
                    .map_err(|e| git(&format!("cannot read the integration branch `{integration}`"), &e))?;
                let branch = self.branch(id);
                // A folder or branch of that name without a record (a crash while it was
                // created, an older run): whatever it holds is kept before it is replaced.
                let mut kept = self.keep(repo, id, &format!("{attempt}"))?;
                if path.exists() {
                    worktree::remove(repo, &path).map_err(|e| git("cannot clear the task's old worktree", &e))?;
                }
                kept.extend(self.checkout(repo, (id, &path), &branch, &tip)?);
                let place = Place { path, branch: Some(branch), base: Some(tip), merged: None };
                self.save(id, &place)?;
                Ok((place, kept))
            }
            (WorkspaceMode::Shared, Some(repo)) => {
                if let Some(p) = known.filter(|p| p.base.is_some()) {
                    // The tree's own path, not the recorded one: the repository may have moved.
                    return Ok((Place { path: self.root.clone(), ..p }, Vec::new()));
                }
                let base = self
                    .tree_snapshot(repo, &self.scratch_index(id))
                    .map_err(|e| git("cannot take a snapshot of the working tree", &e))?;
                let place = Place { path: self.root.clone(), branch: None, base: Some(base), merged: None };
                self.save(id, &place)?;
                Ok((place, Vec::new()))
            }
            _ => Ok((Place { path: self.root.clone(), branch: None, base: None, merged: None }, Vec::new())),
        }
    }

    /// The no-lost-work rule before task `id`'s worktree or branch is removed or reset: what
    /// they hold that no protected ref reaches is kept under
    /// `refs/planrun/kept/RUN/ID/LABEL` (`planrun_git::keep`). An error means nothing may be
    /// removed. Call with the git lock held.
    pub(super) fn keep(&self, repo: &Git, id: &str, label: &str) -> Result<Vec<Kept>, String> {
        self.keep_checked(repo, id, label).map(|(kept, _)| kept)
    }

    /// `keep`, and whether the worktree held nothing uncommitted.
    fn keep_checked(&self, repo: &Git, id: &str, label: &str) -> Result<(Vec<Kept>, bool), String> {
        let reference = keep::reference(&self.run_id, id, label);
        let scratch = self.state.join("workspaces").join(format!("{id}.keep.index"));
        if let Some(dir) = scratch.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let kept =
            keep::preserve_checked(repo, &self.path(id), Some(&self.branch(id)), &reference, &scratch).map_err(|e| {
                git("cannot check whether the task's worktree holds work no branch has (nothing was removed)", &e)
            });
        let _ = std::fs::remove_file(&scratch);
        kept
    }

    pub(super) fn scratch_index(&self, id: &str) -> PathBuf {
        self.state.join("workspaces").join(format!("{id}.index"))
    }

    /// What task `id` changed since its work began. In a shared tree, paths that `others`
    /// (the files of the tasks running beside it) may change are not counted; what tasks that
    /// finished beside it changed was taken into its starting point (`absorb`), and what it
    /// changed in files an earlier task declared is its own.
    pub(crate) fn changed(&self, id: &str, others: &[String]) -> Result<Vec<Changed>, String> {
        let (Some(repo), Some(place)) = (&self.repo, self.place(id)) else { return Ok(Vec::new()) };
        let Some(base) = &place.base else { return Ok(Vec::new()) };
        match self.mode {
            WorkspaceMode::Worktree => {
                scope::changed(&repo.at(&place.path), base).map_err(|e| git("cannot list the task's changes", &e))
            }
            WorkspaceMode::Shared => {
                let all = self
                    .tree_changes(repo, base, &self.scratch_index(id))
                    .map_err(|e| git("cannot list the task's changes", &e))?;
                let others: Vec<Pattern> = others.iter().filter_map(|g| Pattern::parse(g).ok()).collect();
                Ok(all.into_iter().filter(|c| !others.iter().any(|p| p.matches(&c.path))).collect())
            }
        }
    }

    /// In a shared tree, when a task that worked beside the tasks `ids` is done: what it changed
    /// in its own files (`globs`) since each of them began becomes part of that task's starting
    /// point, so each one's change set stays its own. Tasks whose files overlap never run
    /// together, so the paths taken over are never theirs. One snapshot of the tree serves them
    /// all. Returns the tasks whose starting point could not be moved, with why.
    pub(crate) fn absorb(&self, ids: &[String], globs: &[String]) -> Vec<(String, String)> {
        let (WorkspaceMode::Shared, Some(repo)) = (self.mode, &self.repo) else { return Vec::new() };
        let theirs: Vec<Pattern> = globs.iter().filter_map(|g| Pattern::parse(g).ok()).collect();
        let places: Vec<(&String, Place, String)> =
            ids.iter().filter_map(|id| self.place(id).and_then(|p| p.base.clone().map(|b| (id, p, b)))).collect();
        if theirs.is_empty() || places.is_empty() {
            return Vec::new();
        }
        let scratch = self.state.join("workspaces").join("absorb.index");
        let now = match self.tree_snapshot(repo, &scratch) {
            Ok(t) => t,
            Err(e) => {
                let why = git("cannot take a snapshot of the working tree", &e);
                return places.into_iter().map(|(id, _, _)| (id.clone(), why.clone())).collect();
            }
        };
        let mut failed = Vec::new();
        for (id, place, base) in places {
            let moved = scope::between(repo, &base, &now).map(|all| {
                all.into_iter()
                    .filter(|c| theirs.iter().any(|p| p.matches(&c.path)))
                    .map(|c| c.path)
                    .collect::<Vec<_>>()
            });
            let moved = match moved {
                Ok(m) if m.is_empty() => continue,
                Ok(m) => m,
                Err(e) => {
                    failed.push((id.clone(), git("cannot list the changes", &e)));
                    continue;
                }
            };
            let _ = std::fs::remove_file(&scratch);
            let g = repo.clone().with_scratch_index(&scratch);
            let mut add: Vec<&str> = vec!["update-index", "--add", "--remove", "--"];
            add.extend(moved.iter().map(String::as_str));
            let tree = g
                .run(&["read-tree", &base])
                .and_then(|_| g.run(&add))
                .and_then(|_| g.run(&["write-tree"]))
                .map_err(|e| git("cannot move the task's starting point", &e))
                .and_then(|t| self.save(id, &Place { base: Some(t.trim().to_owned()), ..place }));
            if let Err(e) = tree {
                failed.push((id.clone(), e));
            }
        }
        let _ = std::fs::remove_file(&scratch);
        failed
    }

    /// A snapshot of task `id`'s worktree (worktree mode only: a shared tree also holds other
    /// tasks' edits), to see whether a reviewer changed anything.
    pub(crate) fn worktree_state(&self, id: &str) -> Option<String> {
        let (WorkspaceMode::Worktree, Some(repo)) = (self.mode, &self.repo) else { return None };
        let scratch = self.state.join("workspaces").join(format!("{id}.review.index"));
        scope::snapshot(&repo.at(self.path(id)), &scratch).ok()
    }

    /// The paths that differ between two snapshots of task `id`'s worktree.
    pub(crate) fn differences(&self, id: &str, before: &str, after: &str) -> Vec<String> {
        let Some(repo) = &self.repo else { return Vec::new() };
        scope::between(&repo.at(self.path(id)), before, after)
            .map(|c| c.into_iter().map(|c| c.path).collect())
            .unwrap_or_default()
    }

    /// The diff of task `id`'s work, for its reviewers (worktree mode, or a shared tree against
    /// HEAD), at most `limit` bytes.
    pub(crate) fn patch(&self, id: &str, limit: usize) -> String {
        let (Some(repo), Some(place)) = (&self.repo, self.place(id)) else { return String::new() };
        let base = match (self.mode, &place.base) {
            (WorkspaceMode::Worktree, Some(b)) => b.clone(),
            _ => "HEAD".to_owned(),
        };
        scope::patch(&repo.at(&place.path), &base, limit).unwrap_or_default()
    }

    /// Commits task `id`'s work as one commit with `message`: in its worktree, everything since
    /// its base (the agent's own commits folded in); in a shared tree, exactly `paths`.
    /// `None` when there was nothing to commit.
    pub(crate) fn commit(&self, id: &str, message: &str, paths: &[String]) -> Result<Option<String>, String> {
        let Some(repo) = &self.repo else { return Ok(None) };
        match self.mode {
            WorkspaceMode::Worktree => {
                let place = self.place(id).ok_or_else(|| format!("task {id} has no worktree to commit"))?;
                let base = place.base.as_deref().unwrap_or("HEAD");
                commit::squash(&repo.at(&place.path), base, message).map_err(|e| git("cannot commit the task", &e))
            }
            WorkspaceMode::Shared => {
                let made = commit::commit_paths(repo, paths, message).map_err(|e| git("cannot commit the task", &e))?;
                if let Some(c) = &made {
                    self.tree.committed(c, paths);
                }
                Ok(made)
            }
        }
    }

    /// What task `id`'s checks made (`paths`, none of them changed by the task's agent) is set
    /// aside so that it is never committed: in its own worktree, files the checks created are
    /// removed and tracked files they changed are restored from the task's base (planrun's own
    /// commands made them, not the agent); in a shared tree, which is yours, nothing is touched
    /// and the paths are recorded for the commit to leave out.
    /// `committed`: the task's work is committed already (the checks after a rebase), so
    /// tracked files are restored from its commit rather than from its base.
    pub(crate) fn set_aside_check_output(&self, id: &str, paths: &[String], committed: bool) -> Result<(), String> {
        match (self.mode, &self.repo, self.place(id)) {
            (WorkspaceMode::Worktree, Some(repo), Some(place)) => {
                let wt = repo.at(&place.path);
                let base = if committed { "HEAD" } else { place.base.as_deref().unwrap_or("HEAD") };
                let mut ls: Vec<&str> = vec!["--literal-pathspecs", "ls-tree", "-r", "-z", "--name-only", base, "--"];
                ls.extend(paths.iter().map(String::as_str));
                let tracked = wt.run(&ls).map_err(|e| git("cannot read the task's base", &e))?;
                let tracked: Vec<&str> = tracked.split('\0').filter(|p| !p.is_empty()).collect();
                if !tracked.is_empty() {
                    let mut checkout: Vec<&str> = vec!["--literal-pathspecs", "checkout", base, "--"];
                    checkout.extend(tracked.iter().copied());
                    wt.run(&checkout).map_err(|e| git("cannot restore the files the checks changed", &e))?;
                }
                for p in paths.iter().filter(|p| !tracked.contains(&p.as_str())) {
                    let path = place.path.join(p);
                    match std::fs::remove_file(&path) {
                        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                            return Err(format!("cannot remove `{}`, made by the checks: {e}", path.display()));
                        }
                        _ => {}
                    }
                    // Folders the checks made and left empty go too.
                    let mut dir = path.parent();
                    while let Some(d) = dir.filter(|d| *d != place.path.as_path()) {
                        if std::fs::remove_dir(d).is_err() {
                            break;
                        }
                        dir = d.parent();
                    }
                }
                Ok(())
            }
            (WorkspaceMode::Shared, Some(_), _) => {
                let mut all = self.check_output(id);
                all.extend(paths.iter().cloned());
                all.sort();
                all.dedup();
                let path = self.state.join("workspaces").join(format!("{id}.made-by-checks.json"));
                let text = serde_json::to_vec(&all).map_err(|e| e.to_string())?;
                std::fs::create_dir_all(self.state.join("workspaces"))
                    .and_then(|()| crate::layout::replace_durably(&path, &text))
                    .map_err(|e| format!("cannot write `{}`: {e}", path.display()))
            }
            _ => Ok(()),
        }
    }

    /// The uncommitted paths of task `id`'s worktree (worktree mode).
    pub(crate) fn uncommitted_paths(&self, id: &str) -> Vec<String> {
        match (self.mode, &self.repo) {
            (WorkspaceMode::Worktree, Some(repo)) if self.path(id).join(".git").exists() => {
                status_paths(&repo.at(self.path(id)), "--untracked-files=all")
            }
            _ => Vec::new(),
        }
    }

    /// What task `id`'s checks made in a shared tree (see `set_aside_check_output`).
    pub(crate) fn check_output(&self, id: &str) -> Vec<String> {
        let path = self.state.join("workspaces").join(format!("{id}.made-by-checks.json"));
        std::fs::read(path).ok().and_then(|t| serde_json::from_slice(&t).ok()).unwrap_or_default()
    }

    /// Whether task `id`'s worktree holds changes not committed (untracked files included).
    pub(crate) fn uncommitted_in(&self, id: &str) -> Result<bool, String> {
        let (WorkspaceMode::Worktree, Some(repo)) = (self.mode, &self.repo) else { return Ok(false) };
        let wt = repo.at(self.path(id));
        if !wt.dir().join(".git").exists() {
            return Ok(false);
        }
        wt.run(&["status", "--porcelain", "-z", "--untracked-files=normal"])
            .map(|s| !s.is_empty())
            .map_err(|e| git("cannot read the task's worktree", &e))
    }

    /// In worktree mode, commits task `id`'s work with `message` when nothing of it is
    /// committed yet but its worktree holds changes (its commit stage did not run).
    pub(crate) fn commit_if_uncommitted(&self, id: &str, message: &str) -> Result<Option<String>, String> {
        let (WorkspaceMode::Worktree, Some(repo), Some(place)) = (self.mode, &self.repo, self.place(id)) else {
            return Ok(None);
        };
        if !place.path.join(".git").exists() {
            // Removed after its merge (a run stopped before it forgot the task): the merge
            // finds the task's commit on the integration branch.
            return Ok(None);
        }
        let wt = repo.at(&place.path);
        let head = wt.head().map_err(|e| git("cannot read the task's branch", &e))?;
        if place.base.as_deref() != Some(head.as_str()) || !self.uncommitted_in(id)? {
            return Ok(None);
        }
        self.commit(id, message, &[])
    }

    /// Drops task `id`'s workspace: its worktree and branch (worktree mode) and its record.
    /// What they hold that no protected ref reaches is kept first, under `label` (the attempt);
    /// returns what was kept.
    pub(crate) fn release(&self, id: &str, label: &str) -> Result<Vec<Kept>, String> {
        if self.repo.is_none() {
            // Outside git a task has no worktree, snapshot or record.
            return Ok(Vec::new());
        }
        let _git = self.git_lock.lock();
        let mut kept = Vec::new();
        if let (WorkspaceMode::Worktree, Some(repo)) = (self.mode, &self.repo) {
            let clean;
            (kept, clean) = self.keep_checked(repo, id, label)?;
            let path = self.path(id);
            // Its work is kept: the worktree serves the next task, or goes.
            if path.exists() && !self.recycle(repo, &path, clean) {
                worktree::remove(repo, &path).map_err(|e| git("cannot remove the task's worktree", &e))?;
                self.removed_one();
            }
            repo.delete_branch(&self.branch(id)).map_err(|e| git("cannot delete the task's branch", &e))?;
        }
        let _ = std::fs::remove_file(self.scratch_index(id));
        if self.place(id).is_some_and(|p| p.merged.is_some()) {
            // Its record says where it was integrated, for a run that stops before the pass.
            return Ok(kept);
        }
        match std::fs::remove_file(self.record(id)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(format!("cannot remove `{}`: {e}", self.record(id).display()))
            }
            _ => Ok(kept),
        }
    }

    /// Worktrees under the state directory that no task needs any more (`keep` are the ids of
    /// tasks with work in flight): what a crash or a finished run left behind. What they hold
    /// that no protected ref reaches is kept first, labelled by `label(id)` (the task's last
    /// attempt). Returns the ids removed and the work kept.
    pub(crate) fn sweep(&self, keep: &[&str], label: impl Fn(&str) -> String) -> (Vec<String>, Vec<Kept>) {
        let (WorkspaceMode::Worktree, Some(repo)) = (self.mode, &self.repo) else { return Default::default() };
        let dir = self.state.join("worktrees");
        let Ok(entries) = std::fs::read_dir(&dir) else { return Default::default() };
        let mut removed = Vec::new();
        let mut kept = Vec::new();
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name == FINAL || name == super::pool::POOL {
                continue;
            }
            if keep.contains(&name.as_str()) {
                // A run killed inside a git command may have left its locks behind.
                let refs = vec![format!("refs/heads/{}", self.branch(&name))];
                let _ = worktree::clear_stale_locks(repo, Some(&self.path(&name)), &refs);
                continue;
            }
            if let Ok(k) = self.release(&name, &label(&name)) {
                removed.push(name);
                kept.extend(k);
            }
        }
        // The final check's worktree holds planrun's own check output, never an agent's work.
        self.drop_final();
        if let Some(integration) = &self.integration {
            let _ = worktree::clear_stale_locks(repo, None, &[format!("refs/heads/{integration}")]);
        }
        let _ = repo.run(&["worktree", "prune"]);
        (removed, kept)
    }
}
