//! A task's commit: a conventional message (`feat(scope): title`, a body naming the task, a
//! `Planrun-Task: <id>` trailer, no tool attribution), everything in the worktree committed,
//! and, after a crash, the commit found again by its trailer so a task is never committed twice.

use crate::{Git, GitError, nul_split};

/// The trailer that names a commit's task.
pub const TRAILER: &str = "Planrun-Task";

/// The conventional commit message of a task: `kind(scope): title`, then `body`, then the
/// trailer. The scope is the task id; the title's first line, without a trailing period.
pub fn message(kind: &str, task_id: &str, title: &str, body: &str) -> String {
    let title = title.lines().next().unwrap_or("").trim().trim_end_matches('.');
    let title = if title.is_empty() { task_id } else { title };
    let mut m = format!("{kind}({task_id}): {title}\n");
    let body = body.trim();
    if !body.is_empty() {
        m.push('\n');
        m.push_str(body);
        m.push('\n');
    }
    m.push_str(&format!("\n{TRAILER}: {task_id}\n"));
    m
}

/// Commits everything in `wt` (new, changed and deleted files) with `message`; the new
/// commit, or `None` when there was nothing to commit.
pub fn commit_all(wt: &Git, message: &str) -> Result<Option<String>, GitError> {
    wt.run(&["add", "--all", "--", "."])?;
    let staged = wt.output(&["diff", "--cached", "--quiet"])?;
    if staged.status.success() {
        return Ok(None);
    }
    let identity = wt.identity_args();
    let mut args: Vec<&str> = identity.iter().map(String::as_str).collect();
    args.extend(["commit", "--quiet", "--no-verify", "--cleanup=verbatim", "-m", message]);
    wt.run(&args)?;
    wt.head().map(Some)
}

/// The newest commit reachable from `rev` (and not from `since`, when given) whose
/// `Planrun-Task` trailer is `task`.
pub fn find(repo: &Git, rev: &str, since: Option<&str>, task: &str) -> Result<Option<String>, GitError> {
    let format = format!("--format=%H%x1f%(trailers:key={TRAILER},valueonly,separator=%x1f)%x00");
    let range = match since {
        Some(s) => format!("{s}..{rev}"),
        None => rev.to_owned(),
    };
    let log = repo.run(&["log", &format, &range, "--"])?;
    for entry in nul_split(&log) {
        let mut parts = entry.trim_start_matches('\n').split('\x1f');
        let Some(hash) = parts.next() else { continue };
        if parts.any(|v| v.trim() == task) {
            return Ok(Some(hash.to_owned()));
        }
    }
    Ok(None)
}

/// The task's one commit: whatever the agent committed on its own since `base` is folded into
/// it (a soft reset to `base`, then everything committed with `message`). Running it again
/// after a crash gives the same single commit. `None` when the task changed nothing.
pub fn squash(wt: &Git, base: &str, message: &str) -> Result<Option<String>, GitError> {
    wt.run(&["reset", "--quiet", "--soft", base])?;
    commit_all(wt, message)
}

/// Commits exactly `paths` (new, changed or deleted) in the shared working tree `repo` with
/// `message`, leaving anything else, staged or not, as it was. `None` when they hold no change.
pub fn commit_paths(repo: &Git, paths: &[String], message: &str) -> Result<Option<String>, GitError> {
    if paths.is_empty() {
        return Ok(None);
    }
    // `update-index` takes paths, not patterns, and accepts paths that are gone.
    let mut add: Vec<&str> = vec!["update-index", "--add", "--remove", "--"];
    add.extend(paths.iter().map(String::as_str));
    repo.run(&add)?;
    if let Some(made) = commit_index(repo, paths, message)? {
        return Ok(made);
    }
    let identity = repo.identity_args();
    let commit = |only: &[&str]| {
        let mut args: Vec<&str> = identity.iter().map(String::as_str).collect();
        args.extend(["--literal-pathspecs", "commit", "--quiet", "--no-verify", "--cleanup=verbatim", "-m", message]);
        args.extend(["--only", "--"]);
        args.extend(only);
        repo.output(&args).map(|o| (args.join(" "), o))
    };
    // Straight away: every path changed, as a task's usually are.
    let all: Vec<&str> = paths.iter().map(String::as_str).collect();
    let (_, first) = commit(&all)?;
    if !first.status.success() {
        // Some path holds no change, or git knows it nowhere (made and deleted again): only
        // the paths whose staged content differs from HEAD.
        let mut staged: Vec<&str> = vec!["--literal-pathspecs", "diff", "--cached", "--name-only", "-z", "--"];
        staged.extend(paths.iter().map(String::as_str));
        let staged = repo.run(&staged)?;
        let staged: Vec<&str> = nul_split(&staged).collect();
        if staged.is_empty() {
            return Ok(None);
        }
        let (args, out) = commit(&staged)?;
        if !out.status.success() {
            return Err(GitError::Failed {
                args,
                code: out.status.code(),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            });
        }
    }
    repo.head().map(Some)
}

/// The quick way to commit `paths`, just staged, when they are all the index holds beyond
/// `HEAD` (the usual case): the index's tree (its cached trees make that cheap) committed on
/// `HEAD` and the branch moved, without `git commit` looking at every file again. `None` when
/// it does not apply (something else is staged, commits are signed, no commit yet, a conflict):
/// then nothing was changed and `git commit --only` does it.
fn commit_index(repo: &Git, paths: &[String], message: &str) -> Result<Option<Option<String>>, GitError> {
    if repo.signs_commits() {
        return Ok(None);
    }
    let Ok(head) = repo.head() else { return Ok(None) };
    let Ok(tree) = repo.run(&["write-tree"]) else { return Ok(None) };
    let tree = tree.trim();
    let diff = repo.run(&["diff-tree", "-r", "--no-renames", "--name-only", "-z", &head, tree, "--"])?;
    let listed: Vec<&str> = nul_split(&diff).collect();
    if listed.is_empty() {
        return Ok(Some(None));
    }
    if listed.iter().any(|p| !paths.iter().any(|q| q == p)) {
        return Ok(None);
    }
    let identity = repo.identity_args();
    let mut args: Vec<&str> = identity.iter().map(String::as_str).collect();
    args.extend(["commit-tree", tree, "-p", &head, "-m", message]);
    let made = repo.run(&args)?.trim().to_owned();
    let subject = message.lines().next().unwrap_or("");
    let reflog = format!("commit: {subject}");
    // Only if `HEAD` is still where it was: else another commit came first, and nothing moves.
    repo.run(&["update-ref", "-m", &reflog, "HEAD", &made, &head])?;
    Ok(Some(Some(made)))
}
