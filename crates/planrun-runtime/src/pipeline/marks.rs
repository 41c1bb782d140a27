//! A blueprint step's ✅ heading and ticked boxes in the step's own commit, as the blueprint
//! loop commits them: in a shared tree, written into the plan just before the task's commit and
//! committed with it (only when the plan has no other uncommitted change, so nobody's edit of
//! the plan is swept into a task's commit); in worktree mode, written into the task's copy of
//! the plan after its rebase onto the integration branch (so marks never conflict) and folded
//! into its commit before the branch moves.

use planrun_git::Git;
use planrun_plan::Format;
use planrun_plan::status::{self, TaskOutcome, TaskReport};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
pub(crate) struct CommitMarks {
    /// The plan (a file or folder) relative to the top of the repository.
    rel: PathBuf,
    format: Format,
    /// Held while planrun writes the plan's status files in the shared tree (the live writer
    /// and the commit stage), so that neither undoes the other's marks.
    pub(crate) lock: Arc<Mutex<()>>,
}

impl CommitMarks {
    /// Marks go into commits for a blueprint plan inside the repository at `top`, with status
    /// files on and planrun committing; in worktree mode only when the plan is committed (a
    /// task's worktree has a copy of it).
    pub(crate) fn new(plan: &Path, format: Format, top: &Path, repo: &Git, worktrees: bool) -> Option<Self> {
        if format != Format::Blueprint {
            return None;
        }
        let abs = std::path::absolute(plan).ok()?.canonicalize().ok()?;
        let top = top.canonicalize().ok()?;
        let rel = abs.strip_prefix(&top).ok()?.to_path_buf();
        if rel.as_os_str().is_empty() {
            return None;
        }
        if worktrees {
            let r = rel.to_string_lossy().into_owned();
            let tracked = repo.run(&["ls-tree", "-r", "--name-only", "HEAD", "--", &r]).ok()?;
            if tracked.trim().is_empty() {
                return None;
            }
        }
        Some(Self { rel, format, lock: Arc::default() })
    }

    fn rel_str(&self) -> String {
        self.rel.to_string_lossy().replace('\\', "/")
    }

    /// Writes task `id`'s done marks into the copy of the plan in the working tree at `tree`;
    /// the files written, relative to `tree`. Nothing when that copy is missing or already
    /// marked.
    pub(crate) fn write(&self, tree: &Path, id: &str) -> Result<Vec<String>, String> {
        let plan = tree.join(&self.rel);
        if !plan.exists() {
            return Ok(Vec::new());
        }
        let loaded = planrun_plan::load(&plan, Some(self.format)).map_err(|e| e.to_string())?;
        let edits = status::edits(&loaded, &[TaskReport::new(id, TaskOutcome::Done)]).map_err(|e| e.to_string())?;
        // Only the plan's own files: nothing new is created in a task's commit.
        let edits: Vec<_> = edits.into_iter().filter(|e| e.path.exists()).collect();
        // A plan file written meanwhile keeps what was written; its marks come later.
        let (written, _later) = status::write_unchanged(&loaded, &edits).map_err(|e| e.to_string())?;
        let tree = tree.canonicalize().unwrap_or_else(|_| tree.to_path_buf());
        Ok(written
            .iter()
            .filter_map(|e| {
                let p = e.canonicalize().ok()?;
                p.strip_prefix(&tree).ok().map(|r| r.to_string_lossy().replace('\\', "/"))
            })
            .collect())
    }

    /// In a shared tree: task `id`'s marks written into the plan when it has no uncommitted
    /// change; the paths to commit with the task.
    pub(crate) fn for_shared_commit(&self, repo: &Git, tree: &Path, id: &str) -> Result<Vec<String>, String> {
        let dirty = repo
            .run(&["status", "--porcelain", "-z", "--untracked-files=no", "--", &self.rel_str()])
            .map_err(|e| format!("cannot read the plan's state in git: {e}"))?;
        if !dirty.is_empty() {
            return Ok(Vec::new());
        }
        self.write(tree, id)
    }

    /// In worktree mode, after the rebase: task `id`'s marks written into its worktree's plan
    /// and folded into its commit. The commit the branch now points at.
    pub(crate) fn fold_into_commit(&self, wt: &Git, path: &Path, id: &str, head: &str) -> Result<String, String> {
        let written = self.write(path, id)?;
        if written.is_empty() {
            return Ok(head.to_owned());
        }
        let mut add: Vec<&str> = vec!["add", "--"];
        add.extend(written.iter().map(String::as_str));
        wt.run(&add).map_err(|e| format!("cannot stage the step's marks: {e}"))?;
        let identity = wt.identity_args();
        let mut amend: Vec<&str> = identity.iter().map(String::as_str).collect();
        amend.extend(["commit", "--quiet", "--amend", "--no-edit", "--no-verify"]);
        wt.run(&amend).map_err(|e| format!("cannot add the step's marks to its commit: {e}"))?;
        wt.head().map_err(|e| format!("cannot read the task's commit: {e}"))
    }
}
