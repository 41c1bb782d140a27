//! Tests of the workspaces and the merge step (branch names, merges, locks left in a worktree)
//! on real git repositories, and of commit types.

use super::*;
use super::{integrate::*, workspaces::*};
use planrun_git::{Git, commit};

#[test]
fn task_ids_make_valid_branch_names() {
    for (id, want) in [("a", "a"), ("1.2", "1.2"), ("a..b", "a-b"), ("v1.", "v1-"), ("x.lock", "x-lock")] {
        assert_eq!(ref_piece(id), want);
        let ok = std::process::Command::new("git")
            .args(["check-ref-format", "--branch", &format!("planrun/task/r/{}", ref_piece(id))])
            .output()
            .unwrap();
        assert!(ok.status.success(), "{id}");
    }
}

/// A committed repository and its workspaces in `mode`, integrating onto `planrun/r` in
/// worktree mode; the state directory ignores itself, as a run's does.
fn run_in(mode: WorkspaceMode) -> (tempfile::TempDir, Workspaces) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    std::fs::create_dir_all(root.join(".planrun")).unwrap();
    std::fs::write(root.join(".planrun/.gitignore"), "*\n").unwrap();
    let repo = Git::new(&root).with_env("GIT_CONFIG_GLOBAL", "/dev/null").with_env("GIT_CONFIG_NOSYSTEM", "1");
    repo.run(&["init", "--quiet", "--initial-branch=main"]).unwrap();
    std::fs::write(root.join("README.md"), "hi\n").unwrap();
    commit::commit_all(&repo, "start\n").unwrap();
    let worktrees = mode == WorkspaceMode::Worktree;
    if worktrees {
        repo.create_branch("planrun/r", "HEAD").unwrap();
    }
    let ws = Workspaces {
        mode,
        repo: Some(repo),
        integration: worktrees.then(|| "planrun/r".into()),
        run_id: "r".into(),
        root: root.clone(),
        state: root.join(".planrun"),
        git_lock: std::sync::Arc::default(),
        sparse: None,
        pool: std::sync::Arc::default(),
        tree: std::sync::Arc::default(),
    };
    (dir, ws)
}

fn worktree_run() -> (tempfile::TempDir, Workspaces) {
    run_in(WorkspaceMode::Worktree)
}

#[test]
fn a_merge_stopped_after_its_worktree_was_released_finds_the_task_merged() {
    let (_dir, ws) = worktree_run();
    let (place, kept) = ws.prepare("a", 1).unwrap();
    assert!(kept.is_empty());
    std::fs::write(place.path.join("a.txt"), "a\n").unwrap();
    let c = ws.commit("a", &commit::message("feat", "a", "Write a", ""), &[]).unwrap().unwrap();
    let Merging::Ready { tip, head, .. } = ws.rebase("a", 1).unwrap() else { panic!("not ready") };
    assert_eq!(head, c);
    ws.advance(&tip, &head).unwrap();
    ws.mark_merged("a", &head).unwrap();
    assert!(ws.release("a", "1").unwrap().is_empty(), "the merged work needs no keeping");
    assert!(!place.path.exists());
    // A run stopped here (before the pass is journaled) goes on at the merge: found, not
    // failed for want of a worktree (which would implement the task again).
    assert_eq!(ws.rebase("a", 1).unwrap(), Merging::Merged { commit: Some(head.clone()) });
    // A retry's attempt replaces the record with a fresh worktree from the tip.
    let (again, _) = ws.prepare("a", 2).unwrap();
    assert_eq!(again.merged, None);
    assert_eq!(again.base.as_deref(), Some(head.as_str()));
}

#[test]
fn an_earlier_attempts_commit_on_the_branch_does_not_pass_for_the_next_attempts_work() {
    let (_dir, ws) = worktree_run();
    let (place, _) = ws.prepare("a", 1).unwrap();
    std::fs::write(place.path.join("a.txt"), "first\n").unwrap();
    ws.commit("a", &commit::message("feat", "a", "Write a", ""), &[]).unwrap().unwrap();
    let Merging::Ready { tip, head, .. } = ws.rebase("a", 1).unwrap() else { panic!("not ready") };
    ws.advance(&tip, &head).unwrap();
    // The merge failed after the branch moved, and the next attempt changed the work.
    std::fs::write(place.path.join("a.txt"), "second\n").unwrap();
    let second = ws.commit("a", &commit::message("feat", "a", "Write a", ""), &[]).unwrap().unwrap();
    assert_ne!(second, head);
    let merging = ws.rebase("a", 2).unwrap();
    assert!(!matches!(merging, Merging::Merged { .. }), "the second attempt's work was never merged: {merging:?}");
}

#[test]
fn locks_a_killed_git_left_in_a_task_worktree_are_cleared() {
    let (_dir, ws) = worktree_run();
    let (place, _) = ws.prepare("a", 1).unwrap();
    let repo = ws.repo.clone().unwrap();
    let gitdir = repo.at(&place.path).run(&["rev-parse", "--absolute-git-dir"]).unwrap();
    let lock = std::path::Path::new(gitdir.trim()).join("index.lock");
    std::fs::write(&lock, "").unwrap();
    std::fs::write(place.path.join("a.txt"), "a\n").unwrap();
    assert!(ws.commit("a", "feat(a): a\n", &[]).is_err(), "git refuses while the lock is there");
    let (swept, _) = ws.sweep(&["a"], |_| "1".into());
    assert!(swept.is_empty());
    assert!(!lock.exists());
    assert!(ws.commit("a", "feat(a): a\n", &[]).unwrap().is_some());
}

#[test]
fn a_worktree_is_reused_only_after_what_it_held_is_kept() {
    let (_dir, ws) = worktree_run();
    let repo = ws.repo.clone().unwrap();
    let (a, _) = ws.prepare("a", 1).unwrap();
    std::fs::write(a.path.join("left.txt"), "a's uncommitted work\n").unwrap();
    // Released with work no branch has: kept first, then the worktree is cleaned into the pool.
    let kept = ws.release("a", "1").unwrap();
    assert_eq!(kept.len(), 1, "{kept:?}");
    let file = repo.run(&["show", &format!("{}:left.txt", kept[0].reference)]).unwrap();
    assert_eq!(file, "a's uncommitted work\n");
    assert!(!a.path.exists());
    // b gets that worktree (no new checkout), clean, on its own branch at the tip.
    let (b, _) = ws.prepare("b", 1).unwrap();
    assert!(!b.path.join("left.txt").exists());
    assert_eq!(repo.at(&b.path).current_branch().unwrap(), Some(ws.branch("b")));
    let stats = ws.pool.stats();
    assert_eq!((stats.created, stats.reused), (1, 1), "{stats:?}");
    // The pool is emptied at the end: only b's worktree (in use) and the main tree remain.
    ws.release("b", "1").unwrap();
    ws.drain_pool();
    assert_eq!(planrun_git::worktree::list(&repo).unwrap().len(), 1);
}

#[test]
fn a_pooled_worktree_changed_by_hand_is_kept_not_overwritten() {
    let (_dir, ws) = worktree_run();
    let repo = ws.repo.clone().unwrap();
    let (a, _) = ws.prepare("a", 1).unwrap();
    ws.release("a", "1").unwrap();
    assert!(!a.path.exists());
    let pooled = ws.state.join("worktrees/.pool/1");
    // Someone edits README.md in the waiting worktree; meanwhile the integration branch moves
    // on with its own README.md, so switching would overwrite the edit: git refuses.
    std::fs::write(pooled.join("README.md"), "edited in the pool\n").unwrap();
    let tip = repo.branch_head("planrun/r").unwrap();
    let blob = repo.run_with_input(&["hash-object", "-w", "--stdin"], b"moved on\n").unwrap();
    let tree =
        repo.run_with_input(&["mktree"], format!("100644 blob {}\tREADME.md\n", blob.trim()).as_bytes()).unwrap();
    let identity = repo.identity_args();
    let mut args: Vec<&str> = identity.iter().map(String::as_str).collect();
    args.extend(["commit-tree", tree.trim(), "-p", &tip, "-m", "moved on"]);
    let next = repo.run(&args).unwrap();
    repo.run(&["update-ref", "refs/heads/planrun/r", next.trim(), &tip]).unwrap();
    let (b, kept) = ws.prepare("b", 1).unwrap();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(kept[0].reference.contains("/pool/"), "{kept:?}");
    assert_eq!(repo.run(&["show", &format!("{}:README.md", kept[0].commit)]).unwrap(), "edited in the pool\n");
    assert_eq!(std::fs::read_to_string(b.path.join("README.md")).unwrap(), "moved on\n");
    assert_eq!(ws.pool.stats().created, 2, "a new checkout replaced the one that could not be reused");
}

#[test]
fn a_shared_trees_last_look_serves_until_a_process_of_planruns_ran_in_it() {
    let (_dir, ws) = run_in(WorkspaceMode::Shared);
    let (repo, root) = (ws.repo.clone().unwrap(), ws.root.clone());
    let (place, _) = ws.prepare("a", 1).unwrap();
    assert_eq!(place.base.as_deref(), Some(repo.head().unwrap().as_str()), "a clean tree's snapshot is its commit");
    // An agent runs (it holds the tree busy) and writes a file: the next look sees it.
    let busy = ws.tree.busy();
    std::fs::write(root.join("a.txt"), "a\n").unwrap();
    drop(busy);
    let changed: Vec<String> = ws.changed("a", &[]).unwrap().into_iter().map(|c| c.path).collect();
    assert_eq!(changed, ["a.txt"]);
    // Committed: the look moves on to the new commit and still says what is on disk.
    let c = ws.commit("a", "feat(a): a\n", &["a.txt".to_owned()]).unwrap().unwrap();
    assert_eq!(repo.head().unwrap(), c);
    let (next, _) = ws.prepare("b", 1).unwrap();
    assert_eq!(next.base.as_deref(), Some(c.as_str()), "b starts from the tree as a left it");
    assert!(ws.changed("b", &[]).unwrap().is_empty());
    // A check command that leaves a file behind is seen too.
    let busy = ws.tree.busy();
    std::fs::write(root.join("made.log"), "x\n").unwrap();
    drop(busy);
    let changed: Vec<String> = ws.changed("b", &[]).unwrap().into_iter().map(|c| c.path).collect();
    assert_eq!(changed, ["made.log"]);
}

#[test]
fn commit_types_follow_the_title() {
    assert_eq!(commit_kind("Fix the parser's crash"), "fix");
    assert_eq!(commit_kind("Add the login page"), "feat");
    assert_eq!(commit_kind("Tests for the cache"), "test");
    assert_eq!(commit_kind("Document the API"), "docs");
    assert_eq!(commit_kind("Refactor storage"), "refactor");
}

#[test]
fn a_sparse_worktree_left_in_the_pool_is_whole_again_for_a_run_without_sparse() {
    let (_dir, mut ws) = worktree_run();
    let repo = ws.repo.clone().unwrap();
    // Two folders on the integration branch.
    for f in ["src/a/x.txt", "docs/y.txt"] {
        let p = ws.root.join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, "x\n").unwrap();
    }
    commit::commit_all(&repo, "folders\n").unwrap();
    repo.run(&["branch", "-f", "planrun/r", "HEAD"]).unwrap();
    ws.sparse = Some(std::sync::Arc::new(Sparse::new(Vec::new()).with_tasks([("a", &["src/a/**".to_owned()][..])])));
    let (a, _) = ws.prepare("a", 1).unwrap();
    assert!(a.path.join("src/a/x.txt").exists() && !a.path.join("docs/y.txt").exists());
    ws.release("a", "1").unwrap();
    // The next invocation runs without --sparse and takes the pooled worktree: all of it.
    ws.sparse = None;
    let (b, _) = ws.prepare("b", 1).unwrap();
    assert_eq!(ws.pool.stats().reused, 1);
    assert!(b.path.join("src/a/x.txt").exists() && b.path.join("docs/y.txt").exists());
    assert!(!planrun_git::worktree::is_sparse(&b.path));
}
