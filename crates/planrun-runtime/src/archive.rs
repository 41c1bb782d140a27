//! A state directory holds one run at a time. When `planrun run` is given another plan than the
//! one the state directory's run was started with, and that run has ended (done, or ended with
//! blocked tasks or a failed final check), the old run is set aside and the new plan gets a run
//! of its own: its journal, logs, notes, attempt prompts and workspace records move to
//! `runs/RUN/state/` beside its summary, the estimate history stays for the next estimate, and
//! worktrees it left are released under the no-lost-work rule first (what no branch reaches is
//! kept under `refs/planrun/kept/RUN/…`, listed by `planrun gc`). Nothing is deleted.
//!
//! A run that has not ended (interrupted, paused, stopped by a provider or a budget) is not set
//! aside: it would be resumed by running its own plan again.

use super::journal_event::{JournalEvent, RunRecord, decode_all};
use super::layout::{Layout, git_toplevel};
use super::pipeline::{WorkspaceMode, Workspaces};
use super::session::{in_workspace, plan_of_run, same_path};
use planrun_store::Journal;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// What the state directory holds, seen from a new `run` of `plan`.
#[derive(Debug)]
pub(crate) enum Previous {
    /// No run, or a run of this same plan (resumed as usual).
    NoneOrSame,
    /// A run of another plan that has ended: it can be set aside.
    Ended(Ended),
    /// A run of another plan that has not ended: opening the run says so.
    Unfinished,
}

/// A run of another plan that has ended.
#[derive(Debug)]
pub(crate) struct Ended {
    pub(crate) plan: PathBuf,
    pub(crate) outcome: String,
    /// Its id: the name of its folder under `runs/` and of its branches and kept refs.
    pub(crate) run_id: String,
    first_run: Box<RunRecord>,
}

/// What setting a run aside did.
#[derive(Debug)]
pub(crate) struct SetAside {
    /// Where its state went.
    pub(crate) to: PathBuf,
    /// Worktrees it left that were released, and the refs their work was kept under.
    pub(crate) released: Vec<String>,
    pub(crate) kept: Vec<String>,
}

/// Outcomes after which a run has ended: nothing would resume it.
const ENDED: [&str; 3] = ["done", "blocked", "final_check_failed"];

/// Reads the state directory's journal (without changing it) to say what a new run of `plan`
/// finds there.
pub(crate) fn previous(layout: &Layout, plan: &Path) -> Result<Previous, String> {
    if !layout.exists() {
        return Ok(Previous::NoneOrSame);
    }
    let journal = Journal::open(&layout.journal()).map_err(|e| e.to_string())?;
    // Only the invocations and how they ended: not every step of a long run.
    let events = decode_all(&journal.events_of(&["run", "finished"]).map_err(|e| e.to_string())?);
    drop(journal);
    let mut first_run: Option<&RunRecord> = None;
    let mut last_run: Option<&RunRecord> = None;
    // The outcome of the last invocation, if it finished (a `run` after it means it did not).
    let mut outcome: Option<String> = None;
    for e in &events {
        match &e.event {
            JournalEvent::Run(run) => {
                first_run.get_or_insert(run);
                last_run = Some(run);
                outcome = None;
            }
            JournalEvent::Finished(f) => outcome = Some(f.outcome.clone()),
            _ => {}
        }
    }
    let (Some(first), Some(last)) = (first_run, last_run) else { return Ok(Previous::NoneOrSame) };
    let Some(recorded) = plan_of_run(last, &layout.workspace) else { return Ok(Previous::NoneOrSame) };
    let asked = std::path::absolute(plan).unwrap_or_else(|_| plan.to_owned());
    if same_path(&asked, &recorded) {
        return Ok(Previous::NoneOrSame);
    }
    match outcome {
        Some(o) if ENDED.contains(&o.as_str()) => {
            let recorded_id = first.pipeline_run.clone();
            let started = first.started_unix_ms.unwrap_or(0);
            let run_id = recorded_id.unwrap_or_else(|| super::layout::run_id(started));
            Ok(Previous::Ended(Ended { plan: recorded, outcome: o, run_id, first_run: Box::new(first.clone()) }))
        }
        _ => Ok(Previous::Unfinished),
    }
}

/// Sets the ended run aside (see the module). Call with the run lock held. On an error nothing
/// more is moved, and what was moved stays where it went (under `runs/RUN/state/`).
pub(crate) fn set_aside(layout: &Layout, ended: &Ended) -> Result<SetAside, String> {
    let mode: WorkspaceMode = ended
        .first_run
        .workspace
        .clone()
        .and_then(|m| serde_json::from_value(Value::String(m)).ok())
        .unwrap_or(WorkspaceMode::Shared);
    let ws = Workspaces {
        mode,
        repo: git_toplevel(&layout.workspace).map(planrun_git::Git::new),
        integration: ended.first_run.integration.clone(),
        run_id: ended.run_id.clone(),
        root: layout.workspace.clone(),
        state: layout.dir.clone(),
        git_lock: std::sync::Arc::default(),
        sparse: None,
        pool: std::sync::Arc::default(),
        tree: std::sync::Arc::default(),
    };
    // Released first, while their records are where the workspaces expect them.
    let (released, kept) = ws.sweep(&[], |_| "set-aside".to_owned());
    // The worktrees waiting for a task (clean: what they held was kept as they were released).
    ws.drain_pool();
    let leftover: Vec<String> = std::fs::read_dir(layout.dir.join("worktrees"))
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    if !leftover.is_empty() {
        return Err(format!(
            "the worktrees {} of the finished run could not be released (their work is not yet kept elsewhere)",
            leftover.join(", ")
        ));
    }
    let to = unused(&layout.dir.join("runs").join(&ended.run_id).join("state"));
    std::fs::create_dir_all(&to).map_err(|e| format!("cannot create `{}`: {e}", to.display()))?;
    let mut moving: Vec<PathBuf> =
        ["journal.db", "journal.db-wal", "journal.db-shm", "logs", "notes", "takes", "workspaces"]
            .iter()
            .map(|name| layout.dir.join(name))
            .collect();
    // Attempts' prompts (`TASK.N.md`, …) belong to the run; templates (`implement.md`, …) stay.
    if let Ok(dir) = std::fs::read_dir(layout.dir.join("prompts")) {
        moving.extend(
            dir.flatten()
                .filter(|e| !super::templates::is_template(&e.file_name().to_string_lossy()))
                .map(|e| e.path()),
        );
    }
    for from in moving.into_iter().filter(|p| p.exists()) {
        let rel = from.strip_prefix(&layout.dir).unwrap_or(&from);
        let dest = to.join(rel);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("cannot create `{}`: {e}", parent.display()))?;
        }
        std::fs::rename(&from, &dest)
            .map_err(|e| format!("cannot move `{}` to `{}`: {e}", from.display(), dest.display()))?;
    }
    layout.create().map_err(|e| format!("cannot create the state directory again: {e}"))?;
    // Run ids are the start time to the second: a new run started in the second the old one
    // did would share its folder under `runs/`, its branches and its kept refs.
    let taken = |now: u64| layout.dir.join("runs").join(super::layout::run_id(now)).exists();
    let until = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while taken(super::unix_ms()) && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Ok(SetAside { to, released, kept: kept.into_iter().map(|k| k.reference).collect() })
}

/// `path`, or `path-2`, `path-3`, … if it is taken.
fn unused(path: &Path) -> PathBuf {
    if !path.exists() {
        return path.to_owned();
    }
    (2..).map(|n| PathBuf::from(format!("{}-{n}", path.display()))).find(|p| !p.exists()).unwrap_or_default()
}

/// How the new run names the old plan to people: relative to the workspace when inside it.
pub(crate) fn shown(plan: &Path, workspace: &Path) -> String {
    in_workspace(plan, workspace).unwrap_or_else(|| plan.display().to_string())
}
