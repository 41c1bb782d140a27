//! planrun-git against the real `git` binary in temporary repositories: worktrees (add, list,
//! remove, a stale one after a crash), what a task really changed (edits, new, deleted, staged
//! and committed-by-the-agent files; ignored ones left out) and the scope check against its
//! globs, the task commit and finding it again by its trailer, and integration: a clean
//! fast-forward, a rebase when the integration branch moved, a conflict reported with its
//! files and hunks and nothing changed, and a checked-out integration branch that follows.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use planrun_git::merge::{self, Rebased};
use planrun_git::scope::{self, Changed, Kind};
use planrun_git::{Git, commit, worktree};
use planrun_plan::globs::Pattern;
use std::path::Path;

/// A repository with one commit holding `files`, and no identity of its own (as on a fresh
/// machine; planrun supplies one).
fn repo(files: &[(&str, &str)]) -> (tempfile::TempDir, Git) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    std::fs::create_dir_all(&root).unwrap();
    // Nothing from this machine's git configuration: as on a fresh machine.
    let git = Git::new(&root).with_env("GIT_CONFIG_GLOBAL", "/dev/null").with_env("GIT_CONFIG_NOSYSTEM", "1");
    git.run(&["init", "--quiet", "--initial-branch=main"]).unwrap();
    for (path, text) in files {
        write(&root, path, text);
    }
    commit::commit_all(&git, "initial\n").unwrap().unwrap();
    (dir, git)
}

fn write(root: &Path, path: &str, text: &str) {
    let p = root.join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// Task branches live beside the integration branch `planrun/run1`, not under it: git cannot
/// hold both `planrun/run1` and `planrun/run1/a`.
fn task_worktree(dir: &tempfile::TempDir, repo: &Git, task: &str, start: &str) -> Git {
    worktree::add(repo, &dir.path().join(format!("wt-{task}")), &format!("planrun/task/run1/{task}"), start).unwrap()
}

#[test]
fn worktrees_are_added_listed_and_removed_also_after_a_crash() {
    let (dir, repo) = repo(&[("README.md", "hi\n")]);
    let base = repo.head().unwrap();
    let wt = task_worktree(&dir, &repo, "a", &base);
    assert_eq!(wt.current_branch().unwrap().as_deref(), Some("planrun/task/run1/a"));
    assert_eq!(std::fs::read_to_string(wt.dir().join("README.md")).unwrap(), "hi\n");
    let all = worktree::list(&repo).unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].branch.as_deref(), Some("planrun/task/run1/a"));
    assert_eq!(worktree::holding(&repo, "planrun/task/run1/a").unwrap().unwrap().head.as_deref(), Some(base.as_str()));
    // A crash left the folder deleted but registered: adding it again works (pruned first).
    std::fs::remove_dir_all(wt.dir()).unwrap();
    let again = task_worktree(&dir, &repo, "a", &base);
    write(again.dir(), "junk.txt", "x");
    worktree::remove(&repo, again.dir()).unwrap();
    assert!(!again.dir().exists());
    assert_eq!(worktree::list(&repo).unwrap().len(), 1);
    // Removing what is already gone is fine.
    worktree::remove(&repo, again.dir()).unwrap();
}

#[test]
fn changed_files_come_from_git_and_the_scope_check_finds_what_is_outside() {
    let (dir, repo) = repo(&[
        ("src/lib.rs", "fn a() {}\n"),
        ("src/old.rs", "old\n"),
        ("docs/guide.md", "guide\n"),
        (".gitignore", "target/\n"),
    ]);
    let base = repo.head().unwrap();
    let wt = task_worktree(&dir, &repo, "a", &base);
    let root = wt.dir().to_owned();
    write(&root, "src/lib.rs", "fn a() { b() }\n"); // modified, unstaged
    write(&root, "src/new.rs", "fn b() {}\n"); // new, untracked
    std::fs::remove_file(root.join("src/old.rs")).unwrap(); // deleted
    write(&root, "target/out.o", "binary"); // ignored
    write(&root, "docs/guide.md", "changed\n");
    wt.run(&["add", "docs/guide.md"]).unwrap(); // staged
    // An agent that commits its own work: still seen against the base.
    write(&root, "Cargo.toml", "[package]\n");
    wt.run(&["add", "Cargo.toml"]).unwrap();
    wt.run(&["-c", "user.name=a", "-c", "user.email=a@b", "commit", "-q", "-m", "agent"]).unwrap();
    let changed = scope::changed(&wt, &base).unwrap();
    let got: Vec<(&str, Kind)> = changed.iter().map(|c| (c.path.as_str(), c.kind)).collect();
    assert_eq!(
        got,
        [
            ("Cargo.toml", Kind::Added),
            ("docs/guide.md", Kind::Modified),
            ("src/lib.rs", Kind::Modified),
            ("src/new.rs", Kind::Added),
            ("src/old.rs", Kind::Deleted),
        ]
    );
    let declared: Vec<Pattern> = ["src/**/*.rs", "docs"].iter().map(|g| Pattern::parse(g).unwrap()).collect();
    let out: Vec<&str> = scope::outside(&changed, &declared).iter().map(|c| c.path.as_str()).collect();
    assert_eq!(out, ["Cargo.toml"]);
    assert!(scope::outside(&changed, &[]).is_empty(), "a task without files is not checked");
    // Nothing changed: nothing reported.
    let clean = task_worktree(&dir, &repo, "b", &base);
    assert_eq!(scope::changed(&clean, &base).unwrap(), Vec::<Changed>::new());
}

#[test]
fn a_task_commit_carries_its_trailer_and_is_found_again() {
    let (dir, repo) = repo(&[("a.txt", "1\n")]);
    let base = repo.head().unwrap();
    let wt = task_worktree(&dir, &repo, "parse", &base);
    let msg = commit::message("feat", "parse", "Parse the header.\nmore", "Task parse of \"Demo\".");
    assert_eq!(msg, "feat(parse): Parse the header\n\nTask parse of \"Demo\".\n\nPlanrun-Task: parse\n");
    assert_eq!(commit::commit_all(&wt, &msg).unwrap(), None, "nothing to commit yet");
    write(wt.dir(), "a.txt", "2\n");
    write(wt.dir(), "b.txt", "new\n");
    let c = commit::commit_all(&wt, &msg).unwrap().unwrap();
    assert_eq!(wt.run(&["log", "-1", "--format=%B"]).unwrap().trim_end(), msg.trim_end());
    assert_eq!(wt.run(&["show", "--name-only", "--format=", &c]).unwrap(), "a.txt\nb.txt\n");
    assert_eq!(commit::find(&repo, "planrun/task/run1/parse", None, "parse").unwrap(), Some(c.clone()));
    assert_eq!(commit::find(&repo, "planrun/task/run1/parse", Some(&base), "other").unwrap(), None);
    assert_eq!(commit::find(&repo, "planrun/task/run1/parse", Some(&c), "parse").unwrap(), None, "outside the range");
    // No identity configured in the repository: planrun's fallback was used.
    assert_eq!(wt.run(&["log", "-1", "--format=%an <%ae>"]).unwrap().trim(), "planrun <planrun@localhost>");
}

#[test]
fn integration_fast_forwards_rebases_and_reports_conflicts() {
    let (dir, repo) = repo(&[("shared.txt", "one\ntwo\nthree\n"), ("a.txt", "a\n"), ("b.txt", "b\n")]);
    let base = repo.head().unwrap();
    repo.create_branch("planrun/run1", &base).unwrap();
    // Task a: edits a.txt; integrates by fast-forward.
    let a = task_worktree(&dir, &repo, "a", &base);
    write(a.dir(), "a.txt", "A\n");
    commit::commit_all(&a, &commit::message("feat", "a", "a", "")).unwrap().unwrap();
    let tip = repo.branch_head("planrun/run1").unwrap();
    let Rebased::Current { head } = merge::rebase(&a, &tip).unwrap() else { panic!("a starts at the tip") };
    merge::advance(&repo, "planrun/run1", &tip, &head).unwrap();
    assert_eq!(repo.branch_head("planrun/run1").unwrap(), head);
    // Task b started from the old base and edits b.txt: rebased onto a, then fast-forwarded.
    let b = task_worktree(&dir, &repo, "b", &base);
    write(b.dir(), "b.txt", "B\n");
    commit::commit_all(&b, &commit::message("feat", "b", "b", "")).unwrap().unwrap();
    let tip = repo.branch_head("planrun/run1").unwrap();
    let Rebased::Moved { head } = merge::rebase(&b, &tip).unwrap() else { panic!("b must move") };
    merge::advance(&repo, "planrun/run1", &tip, &head).unwrap();
    let files =
        repo.run(&["show", "planrun/run1:a.txt"]).unwrap() + &repo.run(&["show", "planrun/run1:b.txt"]).unwrap();
    assert_eq!(files, "A\nB\n");
    assert_eq!(repo.run(&["rev-list", "--count", "planrun/run1"]).unwrap().trim(), "3", "linear: base, a, b");
    // Tasks c and d both change the same line: d conflicts after c; nothing moves.
    let tip = repo.branch_head("planrun/run1").unwrap();
    let c = task_worktree(&dir, &repo, "c", &tip);
    let d = task_worktree(&dir, &repo, "d", &tip);
    write(c.dir(), "shared.txt", "one\nTWO from c\nthree\n");
    write(d.dir(), "shared.txt", "one\ntwo from d\nthree\n");
    commit::commit_all(&c, &commit::message("feat", "c", "c", "")).unwrap().unwrap();
    let d_head = commit::commit_all(&d, &commit::message("feat", "d", "d", "")).unwrap().unwrap();
    let tip = repo.branch_head("planrun/run1").unwrap();
    let Rebased::Current { head } = merge::rebase(&c, &tip).unwrap() else { panic!("c starts at the tip") };
    merge::advance(&repo, "planrun/run1", &tip, &head).unwrap();
    let tip = repo.branch_head("planrun/run1").unwrap();
    let Rebased::Conflict { files, hunks } = merge::rebase(&d, &tip).unwrap() else { panic!("d must conflict") };
    assert_eq!(files, ["shared.txt"]);
    assert!(hunks.contains("TWO from c") && hunks.contains("two from d"), "{hunks}");
    assert_eq!(d.head().unwrap(), d_head, "the rebase was aborted: d is as it was");
    assert_eq!(repo.branch_head("planrun/run1").unwrap(), tip);
    assert!(d.output(&["status", "--porcelain"]).unwrap().stdout.is_empty(), "no rebase left in progress");
    // A fast-forward that is not one is refused.
    assert!(merge::advance(&repo, "planrun/run1", &tip, &d_head).is_err());
    // d's next attempt starts from the tip with its change replayed: the conflicting line
    // between markers, its clean changes in place, no cherry-pick left in progress.
    write(d.dir(), "d.txt", "clean\n");
    let d_head =
        commit::squash(&d, d.run(&["merge-base", "HEAD", &tip]).unwrap().trim(), "feat(d): d\n").unwrap().unwrap();
    let path = d.dir().to_owned();
    let conflicted = merge::replay_on(&repo, &path, "planrun/task/run1/d", &d_head, &tip).unwrap();
    assert_eq!(conflicted, ["shared.txt"]);
    assert_eq!(d.head().unwrap(), tip, "the new attempt starts at the tip");
    let text = std::fs::read_to_string(path.join("shared.txt")).unwrap();
    assert!(text.contains("<<<<<<<") && text.contains("TWO from c") && text.contains("two from d"), "{text}");
    assert_eq!(std::fs::read_to_string(path.join("d.txt")).unwrap(), "clean\n");
    assert!(!repo.dir().join(".git/worktrees/wt-d/CHERRY_PICK_HEAD").exists());
    let staged = d.output(&["diff", "--cached", "--quiet"]).unwrap();
    assert!(staged.status.success(), "the index is clean: markers are plain edits");
    let changed: Vec<String> = scope::changed(&d, &tip).unwrap().into_iter().map(|c| c.path).collect();
    assert_eq!(changed, ["d.txt", "shared.txt"]);
}

#[test]
fn a_rebase_that_uncommitted_changes_stop_says_why_and_changes_nothing() {
    let (dir, repo) = repo(&[("a.txt", "a\n"), ("b.txt", "b\n")]);
    let base = repo.head().unwrap();
    repo.create_branch("planrun/run1", &base).unwrap();
    let a = task_worktree(&dir, &repo, "a", &base);
    write(a.dir(), "a.txt", "A\n");
    let tip = commit::commit_all(&a, &commit::message("feat", "a", "a", "")).unwrap().unwrap();
    merge::advance(&repo, "planrun/run1", &base, &tip).unwrap();
    // b's work is committed, with a further edit of a tracked file left uncommitted beside it.
    let b = task_worktree(&dir, &repo, "b", &base);
    write(b.dir(), "b.txt", "B\n");
    let b_head = commit::commit_all(&b, &commit::message("feat", "b", "b", "")).unwrap().unwrap();
    write(b.dir(), "b.txt", "B, and more\n");
    let e = merge::rebase(&b, &tip).unwrap_err().to_string();
    assert!(e.contains("rebase") && e.contains("unstaged changes") && !e.contains("--abort"), "git's reason: {e}");
    assert_eq!(b.head().unwrap(), b_head, "nothing moved");
    assert_eq!(std::fs::read_to_string(b.dir().join("b.txt")).unwrap(), "B, and more\n");
}

#[test]
fn a_squash_folds_the_agents_own_commits_into_one_and_can_run_twice() {
    let (dir, repo) = repo(&[("a.txt", "1\n")]);
    let base = repo.head().unwrap();
    let wt = task_worktree(&dir, &repo, "t", &base);
    write(wt.dir(), "a.txt", "2\n");
    commit::commit_all(&wt, "wip by the agent\n").unwrap().unwrap();
    write(wt.dir(), "b.txt", "b\n");
    let msg = commit::message("feat", "t", "T", "");
    let first = commit::squash(&wt, &base, &msg).unwrap().unwrap();
    assert_eq!(wt.run(&["rev-list", "--count", &format!("{base}..HEAD")]).unwrap().trim(), "1");
    // A crash after the commit, and the stage runs again: still one commit, same tree.
    let again = commit::squash(&wt, &base, &msg).unwrap().unwrap();
    assert_eq!(wt.run(&["rev-list", "--count", &format!("{base}..HEAD")]).unwrap().trim(), "1");
    assert_eq!(wt.rev_parse(&format!("{first}^{{tree}}")).ok(), wt.rev_parse(&format!("{again}^{{tree}}")).ok());
    assert_eq!(commit::find(&wt, "HEAD", Some(&base), "t").unwrap(), Some(again));
    assert_eq!(wt.run(&["show", "--name-only", "--format=", "HEAD"]).unwrap(), "a.txt\nb.txt\n");
    let patch = scope::patch(&wt, &base, 10_000).unwrap();
    assert!(patch.contains("+2") && patch.contains("+b"), "{patch}");
}

#[test]
fn in_a_shared_tree_snapshots_tell_what_changed_and_only_a_tasks_paths_are_committed() {
    let (dir, repo) = repo(&[("a.txt", "1\n"), ("b.txt", "1\n")]);
    let scratch = dir.path().join("scratch.index");
    write(repo.dir(), "staged-by-user.txt", "mine\n");
    repo.run(&["add", "staged-by-user.txt"]).unwrap();
    let before = scope::snapshot(&repo, &scratch).unwrap();
    write(repo.dir(), "a.txt", "2\n");
    write(repo.dir(), "new.txt", "n\n");
    std::fs::remove_file(repo.dir().join("b.txt")).unwrap();
    let after = scope::snapshot(&repo, &scratch).unwrap();
    let changed: Vec<(String, Kind)> =
        scope::between(&repo, &before, &after).unwrap().into_iter().map(|c| (c.path, c.kind)).collect();
    assert_eq!(
        changed,
        [("a.txt".into(), Kind::Modified), ("b.txt".into(), Kind::Deleted), ("new.txt".into(), Kind::Added)]
    );
    let paths: Vec<String> = changed.into_iter().map(|(p, _)| p).collect();
    let c = commit::commit_paths(&repo, &paths, &commit::message("feat", "t", "T", "")).unwrap().unwrap();
    assert_eq!(repo.run(&["show", "--name-only", "--format=", &c]).unwrap(), "a.txt\nb.txt\nnew.txt\n");
    let status = repo.run(&["status", "--porcelain"]).unwrap();
    assert_eq!(status, "A  staged-by-user.txt\n", "the user's staged file is left staged, uncommitted");
    assert_eq!(commit::commit_paths(&repo, &paths, "again\n").unwrap(), None, "nothing more to commit");
}

#[test]
fn a_checked_out_integration_branch_follows_with_its_files() {
    let (dir, repo) = repo(&[("a.txt", "a\n")]);
    let base = repo.head().unwrap();
    // `--into main`, which the main worktree has checked out.
    let a = task_worktree(&dir, &repo, "a", &base);
    write(a.dir(), "a.txt", "A\n");
    let head = commit::commit_all(&a, &commit::message("fix", "a", "a", "")).unwrap().unwrap();
    merge::advance(&repo, "main", &base, &head).unwrap();
    assert_eq!(repo.head().unwrap(), head);
    assert_eq!(std::fs::read_to_string(repo.dir().join("a.txt")).unwrap(), "A\n", "the checkout followed");
    assert!(repo.output(&["status", "--porcelain"]).unwrap().stdout.is_empty());
}

/// The blob id of the file `path` in `commit`, if it holds one.
fn blob_in(repo: &Git, commit: &str, path: &str) -> Option<String> {
    repo.run(&["rev-parse", "--verify", "--quiet", &format!("{commit}:{path}")]).ok().map(|s| s.trim().to_owned())
}

#[test]
fn work_no_protected_ref_reaches_is_kept_before_removal_and_nothing_else() {
    use planrun_git::keep;
    let (dir, repo) = repo(&[("README.md", "hi\n"), (".gitignore", "*.log\n")]);
    let base = repo.head().unwrap();
    let scratch = dir.path().join("scratch.index");

    // A clean worktree at a commit the main branch has: nothing to keep.
    let clean = task_worktree(&dir, &repo, "clean", &base);
    assert!(
        keep::preserve(&repo, clean.dir(), Some("planrun/task/run1/clean"), "refs/planrun/kept/r/clean/1", &scratch)
            .unwrap()
            .is_empty()
    );

    // Uncommitted edits, a new file and an ignored one: the first two are kept, as one commit
    // on top of the worktree's HEAD; the worktree itself is untouched.
    let dirty = task_worktree(&dir, &repo, "dirty", &base);
    write(dirty.dir(), "README.md", "changed\n");
    write(dirty.dir(), "new/file.txt", "new\n");
    write(dirty.dir(), "build.log", "noise\n");
    let kept =
        keep::preserve(&repo, dirty.dir(), Some("planrun/task/run1/dirty"), "refs/planrun/kept/r/dirty/1", &scratch)
            .unwrap();
    assert_eq!(kept.len(), 1, "{kept:?}");
    let k = &kept[0];
    assert_eq!(k.reference, "refs/planrun/kept/r/dirty/1");
    assert_eq!(repo.run(&["show", &format!("{}:README.md", k.commit)]).unwrap(), "changed\n");
    assert_eq!(repo.run(&["show", &format!("{}:new/file.txt", k.commit)]).unwrap(), "new\n");
    assert!(blob_in(&repo, &k.commit, "build.log").is_none(), "ignored files are not work");
    assert_eq!(repo.run(&["rev-parse", &format!("{}^", k.commit)]).unwrap().trim(), base);
    assert_eq!(dirty.run(&["status", "--porcelain"]).unwrap().lines().count(), 2, "the worktree is left as it was");
    // Kept work is protected from then on, so keeping it again adds nothing (also a second
    // later: the same state is the same commit).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert!(keep::preserve(&repo, dirty.dir(), None, "refs/planrun/kept/r/dirty/1", &scratch).unwrap().is_empty());
    worktree::remove(&repo, dirty.dir()).unwrap();
    assert_eq!(repo.run(&["show", &format!("{}:new/file.txt", k.commit)]).unwrap(), "new\n");

    // The agent's own commit on its task branch, merged nowhere: kept. The same ref name
    // holding other work is never moved: the new work gets `.2`.
    let committed = task_worktree(&dir, &repo, "committed", &base);
    write(committed.dir(), "c.txt", "c\n");
    let c = commit::commit_all(&committed, "agent's commit\n").unwrap().unwrap();
    let kept = keep::preserve(
        &repo,
        committed.dir(),
        Some("planrun/task/run1/committed"),
        "refs/planrun/kept/r/dirty/1",
        &scratch,
    )
    .unwrap();
    assert_eq!(kept, vec![keep::Kept { reference: "refs/planrun/kept/r/dirty/1.2".into(), commit: c.clone() }]);

    // Once the integration branch holds the commit, there is nothing to keep.
    let merged = task_worktree(&dir, &repo, "merged", &base);
    write(merged.dir(), "m.txt", "m\n");
    let m = commit::commit_all(&merged, "merged\n").unwrap().unwrap();
    repo.create_branch("planrun/run1", &m).unwrap();
    assert!(
        keep::preserve(&repo, merged.dir(), Some("planrun/task/run1/merged"), "refs/planrun/kept/r/merged/1", &scratch)
            .unwrap()
            .is_empty()
    );

    // A branch that points elsewhere than its worktree (left by a crash): both are kept.
    let moved = task_worktree(&dir, &repo, "moved", &base);
    write(moved.dir(), "x.txt", "x\n");
    let x = commit::commit_all(&moved, "x\n").unwrap().unwrap();
    moved.run(&["checkout", "--quiet", "--detach", &base]).unwrap();
    write(moved.dir(), "y.txt", "y\n");
    let kept =
        keep::preserve(&repo, moved.dir(), Some("planrun/task/run1/moved"), "refs/planrun/kept/r/moved/1", &scratch)
            .unwrap();
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(blob_in(&repo, &kept[0].commit, "y.txt").is_some());
    assert_eq!(kept[1].commit, x);

    let all = keep::list(&repo, keep::PREFIX).unwrap();
    let names: Vec<&str> = all.iter().map(|k| k.reference.as_str()).collect();
    assert_eq!(
        names,
        [
            "refs/planrun/kept/r/dirty/1",
            "refs/planrun/kept/r/dirty/1.2",
            "refs/planrun/kept/r/moved/1",
            "refs/planrun/kept/r/moved/1.2"
        ]
    );
    keep::forget(&repo, "refs/planrun/kept/r/moved/1.2").unwrap();
    assert_eq!(keep::list(&repo, "refs/planrun/kept/r/moved/").unwrap().len(), 1);
    assert!(keep::forget(&repo, "refs/heads/main").is_err(), "only kept refs are forgotten");
}

#[test]
fn new_commits_are_taken_into_a_run_branch_by_fast_forward_merge_or_not_at_all_on_a_conflict() {
    let (_dir, repo) = repo(&[("README.md", "hi\n"), ("shared.txt", "one\n")]);
    let root = repo.dir().to_owned();
    repo.create_branch("planrun/run1", "HEAD").unwrap();
    assert_eq!(merge::take_in(&repo, "planrun/run1", "HEAD", "m").unwrap(), merge::TakenIn::UpToDate);

    // The user commits a file the tasks need: the branch, with nothing of its own, follows.
    write(&root, "agent.sh", "echo hi\n");
    commit::commit_all(&repo, "add the agent\n").unwrap();
    let head = repo.head().unwrap();
    assert_eq!(merge::take_in(&repo, "planrun/run1", "HEAD", "m").unwrap(), merge::TakenIn::FastForward);
    assert_eq!(repo.branch_head("planrun/run1").unwrap(), head);

    // The branch has a task's commit and the user commits again: a merge commit joins them,
    // without touching the user's working tree.
    let dir = tempfile::tempdir().unwrap();
    let wt = worktree::add(&repo, &dir.path().join("wt"), "planrun/task/run1/a", &head).unwrap();
    write(wt.dir(), "a.txt", "a\n");
    let task = commit::commit_all(&wt, "task a\n").unwrap().unwrap();
    merge::advance(&repo, "planrun/run1", &head, &task).unwrap();
    write(&root, "more.txt", "more\n");
    commit::commit_all(&repo, "more\n").unwrap();
    let user = repo.head().unwrap();
    let merged = match merge::take_in(&repo, "planrun/run1", "HEAD", "planrun: take in main\n").unwrap() {
        merge::TakenIn::Merged(c) => c,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        repo.run(&["rev-parse", &format!("{merged}^1"), &format!("{merged}^2")]).unwrap(),
        format!("{task}\n{user}\n")
    );
    assert_eq!(repo.run(&["show", "planrun/run1:more.txt"]).unwrap(), "more\n");
    assert_eq!(repo.run(&["show", "planrun/run1:a.txt"]).unwrap(), "a\n");
    assert_eq!(repo.run(&["status", "--porcelain"]).unwrap(), "", "the user's tree is untouched");

    // A conflict: the files are named and the branch stays where it was.
    write(wt.dir(), "shared.txt", "task\n");
    let wt2 = repo.at(wt.dir());
    wt2.run(&["checkout", "--quiet", "-B", "planrun/task/run1/b", &merged]).unwrap();
    write(wt.dir(), "shared.txt", "task\n");
    let b = commit::commit_all(&wt2, "task b\n").unwrap().unwrap();
    merge::advance(&repo, "planrun/run1", &merged, &b).unwrap();
    write(&root, "shared.txt", "user\n");
    commit::commit_all(&repo, "user edit\n").unwrap();
    assert_eq!(
        merge::take_in(&repo, "planrun/run1", "HEAD", "m").unwrap(),
        merge::TakenIn::Conflict(vec!["shared.txt".to_owned()])
    );
    assert_eq!(repo.branch_head("planrun/run1").unwrap(), b);
}

#[test]
fn configuration_given_to_a_git_adds_to_what_its_environment_gives() {
    let (_dir, repo) = repo(&[("a.txt", "1\n")]);
    let g = repo
        .clone()
        .with_env("GIT_CONFIG_COUNT", "1")
        .with_env("GIT_CONFIG_KEY_0", "planrun.first")
        .with_env("GIT_CONFIG_VALUE_0", "one")
        .with_config("planrun.second", "two")
        .with_config("planrun.third", "three");
    for (key, value) in [("planrun.first", "one"), ("planrun.second", "two"), ("planrun.third", "three")] {
        assert_eq!(g.run(&["config", "--get", key]).unwrap().trim(), value);
    }
    // A scratch index is written without its checksum; the tree's own index keeps it.
    let dir = tempfile::tempdir().unwrap();
    let scratch = dir.path().join("scratch.index");
    let s = repo.clone().with_scratch_index(&scratch);
    s.run(&["read-tree", "HEAD"]).unwrap();
    let bytes = std::fs::read(&scratch).unwrap();
    assert!(bytes[bytes.len() - 20..].iter().all(|&b| b == 0), "a scratch index has no checksum");
    let own = std::fs::read(repo.dir().join(".git/index")).unwrap();
    assert!(own[own.len() - 20..].iter().any(|&b| b != 0));
}
