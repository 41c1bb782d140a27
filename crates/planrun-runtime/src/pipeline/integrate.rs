//! The merge step: a task's branch rebased onto the integration branch (its conflicts replayed
//! for rework), the branch advanced, and the final check's worktree.

use super::choices::WorkspaceMode;
use super::workspaces::{Place, Workspaces, git};
use planrun_git::merge::{self, Rebased};
use planrun_git::{commit, worktree};
use std::path::PathBuf;

impl Workspaces {
    /// The first part of a merge: whether task `id` is already on the integration branch (a
    /// restarted run), else its branch rebased onto the branch's tip.
    pub(crate) fn rebase(&self, id: &str, attempt: u32) -> Result<Merging, String> {
        let _git = self.git_lock.lock();
        let (Some(repo), Some(integration)) = (&self.repo, &self.integration) else {
            return Ok(Merging::Merged { commit: None });
        };
        let place = self.place(id).ok_or_else(|| format!("task {id} has no worktree to merge"))?;
        let base = place.base.as_deref();
        let tip = repo.branch_head(integration).map_err(|e| git("cannot read the integration branch", &e))?;
        if !place.path.join(".git").exists() {
            // Its worktree was removed after its merge, and the run stopped before the pass
            // was journaled: the record, or the trailer on the integration branch, says where.
            if let Some(c) = &place.merged {
                return Ok(Merging::Merged { commit: Some(c.clone()) });
            }
            return match commit::find(repo, &tip, base, id)
                .map_err(|e| git("cannot read the integration branch", &e))?
            {
                Some(c) => Ok(Merging::Merged { commit: Some(c) }),
                None => Err(format!(
                    "task {id}'s worktree `{}` is gone and its work is not on `{integration}`",
                    place.path.display()
                )),
            };
        }
        let wt = repo.at(&place.path);
        // A run killed in the middle of a rebase left it in progress: start it again.
        merge::abort_in_progress(&wt).map_err(|e| git("cannot clean up an interrupted rebase", &e))?;
        let head = wt.head().map_err(|e| git("cannot read the task's branch", &e))?;
        if base == Some(head.as_str()) {
            // Nothing was committed: nothing to merge.
            return Ok(Merging::Merged { commit: None });
        }
        // Already integrated (a run stopped after moving the branch). Only this worktree's own
        // commit counts: an earlier attempt's commit on the branch says nothing of this one.
        let on_tip = repo
            .output(&["merge-base", "--is-ancestor", &head, &tip])
            .map_err(|e| git("cannot read the integration branch", &e))?;
        if on_tip.status.success() {
            return Ok(Merging::Merged { commit: Some(head) });
        }
        let rebased = match merge::rebase(&wt, &tip) {
            Ok(r) => r,
            Err(e) => {
                // git refused to start (uncommitted edits in the worktree, left beside a commit
                // of your own): the task goes back to rework in this worktree, so what is
                // uncommitted there is kept first, whatever the agent does next.
                let mut why = git("cannot rebase the task", &e);
                if self.uncommitted_in(id).unwrap_or(true) {
                    match self.keep(repo, id, &format!("{attempt}-uncommitted")) {
                        Ok(kept) => {
                            if let Some(k) = kept.first() {
                                why.push_str(&format!(
                                    "\nWhat was uncommitted in the task's worktree is kept at `{}` \
                                     (`git diff {head} {}` shows it).",
                                    k.reference, k.commit
                                ));
                            }
                        }
                        Err(e) => why.push_str(&format!("\n{e}")),
                    }
                }
                return Err(why);
            }
        };
        match rebased {
            Rebased::Current { head } => Ok(Merging::Ready { tip, head, rebased: false }),
            Rebased::Moved { head } => {
                // Its changes are now measured from the tip.
                self.save(id, &Place { base: Some(tip.clone()), ..place })?;
                Ok(Merging::Ready { tip, head, rebased: true })
            }
            Rebased::Conflict { files, hunks } => {
                // The worktree and branch are set up again from the tip: the task's commit as
                // it was is kept first (its changes come back with conflict markers).
                self.keep(repo, id, &format!("{attempt}"))?;
                let replayed = merge::replay_on(repo, &place.path, &self.branch(id), &head, &tip)
                    .map_err(|e| git("cannot set the task up again after the conflict", &e))?;
                self.save(id, &Place { base: Some(tip.clone()), ..place })?;
                Ok(Merging::Conflict { files, hunks, replayed })
            }
        }
    }

    /// Records that task `id` is on the integration branch as `commit`, before its worktree
    /// and branch are released.
    pub(crate) fn mark_merged(&self, id: &str, commit: &str) -> Result<(), String> {
        let Some(place) = self.place(id) else { return Ok(()) };
        self.save(id, &Place { merged: Some(commit.to_owned()), ..place })
    }

    /// The last part of a merge: the integration branch moved from `tip` to `head`.
    pub(crate) fn advance(&self, tip: &str, head: &str) -> Result<(), String> {
        let _git = self.git_lock.lock();
        let (Some(repo), Some(integration)) = (&self.repo, &self.integration) else { return Ok(()) };
        merge::advance(repo, integration, tip, head)
            .map_err(|e| git(&format!("cannot move `{integration}` to the task's commit"), &e))
    }

    /// Where the final check runs: where the tasks' work came together. In worktree mode, a
    /// worktree of the integration branch's tip (the shared tree may have another branch out).
    pub(crate) fn final_tree(&self) -> Result<PathBuf, String> {
        let _git = self.git_lock.lock();
        let (WorkspaceMode::Worktree, Some(repo), Some(integration)) = (self.mode, &self.repo, &self.integration)
        else {
            return Ok(self.root.clone());
        };
        let path = self.state.join("worktrees").join(FINAL);
        let tip = repo.branch_head(integration).map_err(|e| git("cannot read the integration branch", &e))?;
        worktree::remove(repo, &path).map_err(|e| git("cannot clear the final check's worktree", &e))?;
        let p = path.display().to_string();
        repo.run(&["worktree", "add", "--quiet", "--detach", &p, &tip])
            .map_err(|e| git("cannot create the final check's worktree", &e))?;
        Ok(path)
    }

    /// Removes the final check's worktree, if there is one.
    pub(crate) fn drop_final(&self) {
        let _git = self.git_lock.lock();
        if let (WorkspaceMode::Worktree, Some(repo)) = (self.mode, &self.repo) {
            let _ = worktree::remove(repo, &self.state.join("worktrees").join(FINAL));
        }
    }
}

/// The folder of the final check's worktree (task ids start with a letter or digit).
pub(super) const FINAL: &str = "_final";

/// Where a merge stands after its first part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Merging {
    /// Already on the integration branch (or nothing to merge).
    Merged { commit: Option<String> },
    /// The task's branch sits on `tip`; `advance(tip, head)` integrates it (after verify, when
    /// it was rebased).
    Ready { tip: String, head: String, rebased: bool },
    /// The rebase conflicted; the task's worktree was set up again on the tip with its changes
    /// replayed, conflict markers in `replayed`.
    Conflict { files: Vec<String>, hunks: String, replayed: Vec<String> },
}

impl Workspaces {
    /// Where task `id`'s implementer plans ahead (`--pipeline`), before its own worktree
    /// exists: a detached worktree at the integration branch's tip (in a shared tree, at
    /// `HEAD`). A leftover one (a crash) is emptied first, its work kept.
    pub(crate) fn plan_tree(&self, id: &str) -> Result<PathBuf, String> {
        let Some(repo) = &self.repo else {
            return Err("planning ahead needs a git repository".into());
        };
        self.drop_plan_tree(id)?;
        let _git = self.git_lock.lock();
        let path = self.plan_path(id);
        let tip = match (&self.integration, self.mode) {
            (Some(i), WorkspaceMode::Worktree) => repo.branch_head(i),
            _ => repo.run(&["rev-parse", "--verify", "HEAD"]).map(|h| h.trim().to_owned()),
        }
        .map_err(|e| git("cannot read the commit to plan on", &e))?;
        let p = path.display().to_string();
        repo.run(&["worktree", "add", "--quiet", "--detach", &p, &tip])
            .map_err(|e| git("cannot create the planner's worktree", &e))?;
        Ok(path)
    }

    /// Removes task `id`'s planning worktree. What a planner wrote there (it must write
    /// nothing) is kept first under `refs/planrun/kept/RUN/ID/plan`; returns the paths it
    /// changed, and the refs that keep them.
    pub(crate) fn drop_plan_tree(&self, id: &str) -> Result<(Vec<String>, Vec<planrun_git::keep::Kept>), String> {
        let (Some(repo), path) = (&self.repo, self.plan_path(id)) else { return Ok((Vec::new(), Vec::new())) };
        if !path.exists() {
            return Ok((Vec::new(), Vec::new()));
        }
        let _git = self.git_lock.lock();
        let changed: Vec<String> = planrun_git::scope::status(&repo.at(&path))
            .map(|s| s.dirty.into_iter().map(|d| d.path).collect())
            .unwrap_or_default();
        let reference = planrun_git::keep::reference(&self.run_id, id, "plan");
        let scratch = self.state.join("workspaces").join(format!("{id}.plan.index"));
        let _ = scratch.parent().map(std::fs::create_dir_all);
        let kept = planrun_git::keep::preserve(repo, &path, None, &reference, &scratch)
            .map_err(|e| git("cannot check whether the planner's worktree holds work (nothing was removed)", &e))?;
        let _ = std::fs::remove_file(&scratch);
        worktree::remove(repo, &path).map_err(|e| git("cannot remove the planner's worktree", &e))?;
        Ok((changed, kept))
    }

    fn plan_path(&self, id: &str) -> PathBuf {
        self.state.join("worktrees").join(format!("_plan-{id}"))
    }
}
