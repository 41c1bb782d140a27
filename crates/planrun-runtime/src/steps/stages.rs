//! The check stages after an implement step: verify, scope against the real `git diff`, commit
//! and merge.

use super::*;
use crate::journal_event::StepDetail;

/// One stage of one attempt, as the runner decided it.
#[derive(Debug, Clone)]
pub(crate) struct CheckRun {
    pub(crate) task: usize,
    pub(crate) id: String,
    pub(crate) attempt: u32,
    pub(crate) stage: Stage,
    /// The task's own verify commands (the plan's are added).
    pub(crate) verify: Vec<String>,
    /// The task's declared files, and the files other tasks may change beside it (a shared
    /// tree's changes by them are not the task's).
    pub(crate) files: Vec<String>,
    pub(crate) others: Vec<String>,
    /// For the agent stages: the prompt's fixed parts (`persona`, `plan_title`, `task_id`,
    /// `task_title`, `attempt`, `brief`).
    pub(crate) vars: Vec<(&'static str, String)>,
    /// The commit message (commit stage).
    pub(crate) message: String,
    /// Not before this instant: the reviewer's provider rate-limited it.
    pub(crate) not_before: Option<tokio::time::Instant>,
    /// The same for the tester beside the reviewers (its agent may be another).
    pub(crate) tester_not_before: Option<tokio::time::Instant>,
}

/// Runs one stage of an attempt.
pub(crate) async fn check(ctx: Arc<Ctx>, run: CheckRun, cancel: watch::Receiver<bool>) -> StepDone {
    let started = std::time::Instant::now();
    let log = ctx.layout.attempt_log(&run.id, run.attempt, run.stage.name());
    let (result, interrupted, agent, detail) = match run.stage {
        Stage::Scope => scope_stage(&ctx, &run).await,
        Stage::Verify => verify_stage(&ctx, &run, &log, cancel).await,
        Stage::Test | Stage::Review => agent_stage(&ctx, &run, &log, cancel).await,
        Stage::Commit => commit_stage(&ctx, &run).await,
        Stage::Merge => merge_stage(&ctx, &run, &log, cancel).await,
    };
    StepDone {
        kind: Kind::Check(run.stage),
        task: Some(run.task),
        attempt: run.attempt,
        result,
        interrupted,
        elapsed: started.elapsed(),
        log,
        agent,
        detail,
        pre: None,
    }
}

/// The verify stage: the task's own commands and the plan's, every one run; what the checks
/// themselves make is set aside. Also run again after a tester beside the reviewers changed files.
pub(super) async fn verify_stage(ctx: &Arc<Ctx>, run: &CheckRun, log: &Path, cancel: watch::Receiver<bool>) -> Staged {
    let cwd = ctx.ws.path(&run.id);
    let prompt = ctx.layout.prompt(&run.id, run.attempt);
    let env = env(ctx, &run.id, "verify", run.attempt, &prompt, &cwd);
    let mut all = run.verify.clone();
    all.extend(ctx.plan_verify.iter().cloned());
    // What the checks themselves make (`__pycache__/`, coverage files, build output not
    // ignored) is not the task's work: it is never committed.
    let before = changed_paths(ctx, run).await.ok();
    let (result, interrupted, passed) = run_commands(ctx, &all, &cwd, log, env, cancel).await;
    let made = match (before, changed_paths(ctx, run).await.ok()) {
        (Some(before), Some(after)) => {
            let before: std::collections::HashSet<String> = before.into_iter().map(|c| c.path).collect();
            after.into_iter().map(|c| c.path).filter(|p| !before.contains(p)).collect::<Vec<_>>()
        }
        _ => Vec::new(),
    };
    if !made.is_empty() {
        let (c, id, paths) = (Arc::clone(ctx), run.id.clone(), made.clone());
        if let Err(e) = blocking(move || c.ws.set_aside_check_output(&id, &paths, false)).await {
            return (Err(e), interrupted, None, None);
        }
    }
    let detail = StepDetail {
        checks: Some(all.len() as u64),
        passed: Some(passed as u64),
        made_by_checks: Some(made),
        ..StepDetail::default()
    };
    (result, interrupted, None, Some(detail))
}

pub(super) type Staged = (Result<(), String>, bool, Option<AgentRun>, Option<StepDetail>);

/// Runs blocking git work off the dispatcher's thread.
pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(f).await.map_err(|e| format!("planrun's git work failed: {e}"))?
}

/// The paths task `run.id` changed, from git.
pub(super) async fn changed_paths(ctx: &Arc<Ctx>, run: &CheckRun) -> Result<Vec<planrun_git::scope::Changed>, String> {
    let (c, id, others) = (Arc::clone(ctx), run.id.clone(), run.others.clone());
    blocking(move || c.ws.changed(&id, &others)).await
}

/// The scope check: the real diff against the task's declared files.
pub(super) async fn scope_stage(ctx: &Arc<Ctx>, run: &CheckRun) -> Staged {
    let changed = match changed_paths(ctx, run).await {
        Ok(c) => c,
        Err(e) => return (Err(e), false, None, None),
    };
    let declared = patterns(&run.files);
    let outside: Vec<String> =
        planrun_git::scope::outside(&changed, &declared).into_iter().map(|c| c.path.clone()).collect();
    drop(declared);
    let detail = StepDetail {
        changed: Some(changed.iter().map(|c| c.path.clone()).collect()),
        outside: Some(outside.clone()),
        policy: Some(ctx.scope_policy.name().to_owned()),
        ..StepDetail::default()
    };
    if outside.is_empty() || ctx.scope_policy != crate::pipeline::ScopePolicy::Strict {
        return (Ok(()), false, None, Some(detail));
    }
    // The first line is what `status` and the summary show: it names the files itself.
    let shown: Vec<&str> = outside.iter().take(3).map(String::as_str).collect();
    let more =
        if outside.len() > shown.len() { format!(" and {} more", outside.len() - shown.len()) } else { String::new() };
    let named = if run.files.is_empty() { "none".to_owned() } else { run.files.join(", ") };
    let mut reason = format!(
        "the scope check found {} changed file{} outside the task's files: {}{more} (the task names {named})",
        outside.len(),
        if outside.len() == 1 { "" } else { "s" },
        shown.join(", "),
    );
    reason.push_str("\nFiles changed outside the task's files:");
    for p in &outside {
        reason.push_str(&format!("\n- {p}"));
    }
    reason.push_str("\nUndo those changes (or, if the task truly needs them, they belong in another task).");
    (Err(reason), false, None, Some(detail))
}

/// The task's commit.
pub(super) async fn commit_stage(ctx: &Arc<Ctx>, run: &CheckRun) -> Staged {
    // In a shared tree, the task's commit holds what it changed in its own files (all it
    // changed, when it names no files; those tasks run alone); changes elsewhere stay as they
    // are, reported by the scope check.
    let paths = match ctx.ws.mode {
        crate::pipeline::WorkspaceMode::Shared => match changed_paths(ctx, run).await {
            Ok(c) => {
                let own = patterns(&run.files);
                let made = ctx.ws.check_output(&run.id);
                c.into_iter()
                    .filter(|c| own.is_empty() || own.iter().any(|p| p.matches(&c.path)))
                    .filter(|c| !made.contains(&c.path))
                    .map(|c| c.path)
                    .collect()
            }
            Err(e) => return (Err(e), false, None, None),
        },
        crate::pipeline::WorkspaceMode::Worktree => Vec::new(),
    };
    let (c, id, message) = (Arc::clone(ctx), run.id.clone(), run.message.clone());
    let committed = blocking(move || {
        let mut paths = paths;
        // A blueprint step's marks go into its own commit (when planrun commits in your tree).
        let marks = c.marks.as_ref().filter(|_| c.ws.mode == crate::pipeline::WorkspaceMode::Shared);
        let _written = match (marks, &c.ws.repo) {
            (Some(m), Some(repo)) => {
                let guard = m.lock.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                // When they cannot be written, the live writer tries again; the commit goes on.
                if let Ok(extra) = m.for_shared_commit(repo, &c.ws.root, &id) {
                    let new: Vec<String> = extra.into_iter().filter(|p| !paths.contains(p)).collect();
                    paths.extend(new);
                }
                Some(guard)
            }
            _ => None,
        };
        c.ws.commit(&id, &message, &paths)
    })
    .await;
    match committed {
        Ok(commit) => {
            let detail =
                StepDetail { commit, branch: ctx.ws.place(&run.id).and_then(|p| p.branch), ..StepDetail::default() };
            if ctx.ws.mode == crate::pipeline::WorkspaceMode::Shared {
                let c = Arc::clone(ctx);
                let (id, label) = (run.id.clone(), run.attempt.to_string());
                let _ = blocking(move || c.ws.release(&id, &label)).await;
            }
            (Ok(()), false, None, Some(detail))
        }
        Err(e) => (Err(e), false, None, None),
    }
}

/// The merge: onto the integration branch's tip (rebased when it moved, and verified again
/// then), or back to rework with the conflict replayed in the task's worktree.
pub(super) async fn merge_stage(ctx: &Arc<Ctx>, run: &CheckRun, log: &Path, cancel: watch::Receiver<bool>) -> Staged {
    let into = ctx.ws.integration.clone().unwrap_or_default();
    if ctx.commit == crate::pipeline::CommitMode::Auto {
        // The work of a task whose commit stage did not run (the run was switched from
        // `--commit manual`) is committed here, never left behind.
        let (c, id, message) = (Arc::clone(ctx), run.id.clone(), run.message.clone());
        if let Err(e) = blocking(move || c.ws.commit_if_uncommitted(&id, &message)).await {
            return (Err(e), false, None, None);
        }
    }
    let (c, id, attempt) = (Arc::clone(ctx), run.id.clone(), run.attempt);
    let merging = match blocking(move || c.ws.rebase(&id, attempt)).await {
        Ok(m) => m,
        Err(e) => return (Err(e), false, None, None),
    };
    // The worktree and branch go once the task is integrated; what no branch reaches (files
    // left uncommitted, by-products of the checks) is kept first. A failure to check that
    // leaves them in place.
    let release = |ctx: &Arc<Ctx>| {
        let (c, id, label) = (Arc::clone(ctx), run.id.clone(), run.attempt.to_string());
        blocking(move || c.ws.release(&id, &label))
    };
    let add_kept = |detail: &mut StepDetail, kept: Result<Vec<planrun_git::keep::Kept>, String>| match kept {
        Ok(k) => detail.kept = kept_refs(&k),
        Err(e) => detail.not_removed = Some(e),
    };
    match merging {
        crate::pipeline::Merging::Merged { commit } => {
            if let Some(c) = &commit {
                if let Err(e) = ctx.ws.mark_merged(&run.id, c) {
                    return (Err(e), false, None, None);
                }
            }
            let already = commit.is_some();
            let mut detail =
                StepDetail { merged: commit, into: Some(into), already: Some(already), ..StepDetail::default() };
            add_kept(&mut detail, release(ctx).await);
            (Ok(()), false, None, Some(detail))
        }
        crate::pipeline::Merging::Conflict { files, hunks, replayed } => {
            let mut reason = format!(
                "merging onto `{into}` conflicted in {}: another task changed the same lines first.\n\
                 Your work was carried onto the branch's new tip; git left conflict markers in {} where the two \
                 changes meet. Resolve them, keeping both tasks' intent, and remove every marker.",
                files.join(", "),
                if replayed.is_empty() { "no file (it applied cleanly)".to_owned() } else { replayed.join(", ") },
            );
            reason.push_str(&format!("\n\nThe conflicting hunks:\n{hunks}"));
            (
                Err(reason),
                false,
                None,
                Some(StepDetail { conflict: Some(files), into: Some(into), ..StepDetail::default() }),
            )
        }
        crate::pipeline::Merging::Ready { tip, head, rebased } => {
            let mut detail = StepDetail { into: Some(into.clone()), rebased: Some(rebased), ..StepDetail::default() };
            if rebased {
                let cwd = ctx.ws.path(&run.id);
                let prompt = ctx.layout.prompt(&run.id, run.attempt);
                let env = env(ctx, &run.id, "verify", run.attempt, &prompt, &cwd);
                let mut all = run.verify.clone();
                all.extend(ctx.plan_verify.iter().cloned());
                // What is uncommitted before the checks (files left beside a commit of your
                // own with --commit manual) is not theirs to set aside: only what they add.
                let before: std::collections::HashSet<String> = ctx.ws.uncommitted_paths(&run.id).into_iter().collect();
                let (result, interrupted, passed) = run_commands(ctx, &all, &cwd, log, env, cancel).await;
                let made: Vec<String> =
                    ctx.ws.uncommitted_paths(&run.id).into_iter().filter(|p| !before.contains(p)).collect();
                if !made.is_empty() {
                    let (c, id, paths) = (Arc::clone(ctx), run.id.clone(), made.clone());
                    if let Err(e) = blocking(move || c.ws.set_aside_check_output(&id, &paths, true)).await {
                        return (Err(e), false, None, Some(detail));
                    }
                }
                detail.checks = Some(all.len() as u64);
                detail.passed = Some(passed as u64);
                detail.made_by_checks = Some(made);
                if let Err(e) = result {
                    let reason = if interrupted {
                        e
                    } else {
                        format!("after rebasing onto `{into}` (other tasks were merged first), the checks failed:\n{e}")
                    };
                    return (Err(reason), interrupted, None, Some(detail));
                }
            }
            // A blueprint step's marks, written on the rebased work, go into its commit.
            let head = match ctx.marks.clone() {
                Some(m) if ctx.commit == crate::pipeline::CommitMode::Auto => {
                    let (c, id, h) = (Arc::clone(ctx), run.id.clone(), head.clone());
                    match blocking(move || {
                        let repo = c.ws.repo.as_ref().ok_or_else(|| "no repository".to_owned())?;
                        let path = c.ws.path(&id);
                        m.fold_into_commit(&repo.at(&path), &path, &id, &h)
                    })
                    .await
                    {
                        Ok(h) => h,
                        Err(e) => return (Err(e), false, None, Some(detail)),
                    }
                }
                _ => head,
            };
            let (c, t, h) = (Arc::clone(ctx), tip, head.clone());
            if let Err(e) = blocking(move || c.ws.advance(&t, &h)).await {
                return (Err(e), false, None, Some(detail));
            }
            if let Err(e) = ctx.ws.mark_merged(&run.id, &head) {
                return (Err(e), false, None, Some(detail));
            }
            add_kept(&mut detail, release(ctx).await);
            detail.merged = Some(head);
            (Ok(()), false, None, Some(detail))
        }
    }
}
