//! Nothing an agent wrote is lost, on real git repositories with the real binary: a worktree
//! run switched to `--commit manual` leaves each passed task in its worktree for the user's
//! commit and merges only what the user committed; switching back commits and merges the rest;
//! a skipped task's worktree is kept under `refs/planrun/kept/…` before it is removed, named in
//! `status`, `explain` and the summary, and `planrun gc --yes` removes it; a shared tree counts
//! a task's edits to a file an earlier task declared as its own and commits them; settings a
//! resumed run cannot honour are refused before anything changes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use std::process::Command;
use support::{Repo, committed, events, git, text};

/// The subjects of the commits on `branch` after the first, oldest first.
fn subjects(repo: &Repo, branch: &str) -> Vec<String> {
    git(repo, &["log", "--reverse", "--format=%s", &format!("{branch}~0"), "--not", "HEAD"])
        .lines()
        .map(str::to_owned)
        .collect()
}

fn state(repo: &Repo, id: &str) -> String {
    repo.task(id)["state"].as_str().unwrap().to_owned()
}

const THREE: &str = "# Three\n\n\
## Task a: Write a\n\nFiles: `a.txt`\n\n\
## Task b: Write b\n\nDepends on: `a`\nFiles: `b.txt`\n\n\
## Task c: Write c\n\nDepends on: `b`\nFiles: `c.txt`\n";

const WRITE: &str = "echo \"$PLANRUN_TASK_ID by the agent\" > \"$PLANRUN_TASK_ID.txt\"";

#[test]
fn a_worktree_run_switched_to_manual_commits_merges_only_what_the_user_committed() {
    let repo = committed(THREE, WRITE, &[]);
    let out = repo.run(&["--batch", "1", "--reviews", "none", "--json"]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    let branch =
        events(&out).iter().find(|e| e["event"] == "finished").unwrap()["integration"].as_str().unwrap().to_owned();
    assert_eq!(subjects(&repo, &branch), ["feat(a): Write a"]);

    // Switched to manual commits: b passes its checks and waits in its worktree, uncommitted.
    let out = repo.run(&["--commit", "manual", "--reviews", "none"]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert!(text(&out).contains("waiting  b: it passed its checks"), "{}", text(&out));
    assert_eq!(state(&repo, "b"), "in_review", "b is not done before its work is committed");
    assert_eq!(repo.read(".planrun/worktrees/b/b.txt"), "b by the agent\n");
    assert_eq!(subjects(&repo, &branch), ["feat(a): Write a"], "nothing was merged without a commit");
    let plan = repo.read("plan.md");
    let b_section = &plan[plan.find("## Task b").unwrap()..plan.find("## Task c").unwrap()];
    assert!(!b_section.contains("Status: done"), "b is not marked done in the plan: {b_section}");
    assert!(plan[..plan.find("## Task b").unwrap()].contains("Status: done"), "a is: {plan}");
    let status = repo.cmd(&["status"]).output().unwrap();
    assert!(text(&status).contains("waits for your commit in `.planrun/worktrees/b`"), "{}", text(&status));

    // Running again without committing: still waiting, still not merged, nothing removed.
    let out = repo.run(&["--commit", "manual", "--reviews", "none"]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert!(text(&out).contains("still holds uncommitted changes"), "{}", text(&out));
    assert_eq!(repo.read(".planrun/worktrees/b/b.txt"), "b by the agent\n");

    // The user edits and commits in the worktree; the next invocation merges that commit.
    let wt = repo.path().join(".planrun/worktrees/b");
    std::fs::write(wt.join("b.txt"), "b, reviewed by me\n").unwrap();
    for args in [
        &["add", "-A"][..],
        &["-c", "user.name=me", "-c", "user.email=me@example.invalid", "commit", "-qm", "b, my way"],
    ] {
        let ok = Command::new("git").args(args).current_dir(&wt).status().unwrap();
        assert!(ok.success());
    }
    let out = repo.run(&["--commit", "manual", "--reviews", "none"]);
    assert_eq!(out.status.code(), Some(5), "c waits for its commit now: {}", text(&out));
    assert_eq!(state(&repo, "b"), "done");
    assert_eq!(subjects(&repo, &branch), ["feat(a): Write a", "b, my way"]);
    assert_eq!(git(&repo, &["show", &format!("{branch}:b.txt")]), "b, reviewed by me\n");
    assert!(repo.read(".planrun/worktrees/c/c.txt").starts_with("c by the agent"));

    // Back to automatic commits: planrun commits c's waiting work and merges it.
    let out = repo.run(&["--reviews", "none"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(subjects(&repo, &branch), ["feat(a): Write a", "b, my way", "feat(c): Write c"]);
    assert_eq!(git(&repo, &["show", &format!("{branch}:c.txt")]), "c by the agent\n");
    assert!(git(&repo, &["for-each-ref", "refs/planrun/kept/"]).is_empty(), "nothing needed keeping");
}

#[test]
fn a_skipped_tasks_worktree_is_kept_before_it_is_removed_and_gc_removes_it_when_asked() {
    let plan = "# P\n\n## Task a: Write a\n\nFiles: `a.txt`\n\n### Verify\n\n- `grep -qx right a.txt`\n\n\
                ## Task b: Write b\n\nFiles: `b.txt`\n";
    let repo = committed(plan, "echo wrong > \"$PLANRUN_TASK_ID.txt\"; echo notes > notes-$PLANRUN_TASK_ID.md", &[]);
    let out = repo.run(&["--reviews", "none", "--max-rework", "0", "--scope", "off"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert_eq!(state(&repo, "a"), "blocked");
    assert!(repo.path().join(".planrun/worktrees/a/a.txt").exists());
    let out = repo.cmd(&["skip", "a"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // The next run sweeps the skipped task's worktree, but keeps what the agent wrote there.
    let out = repo.run(&["--reviews", "none", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!repo.path().join(".planrun/worktrees/a").exists());
    let kept: Vec<String> =
        git(&repo, &["for-each-ref", "--format=%(refname)", "refs/planrun/kept/"]).lines().map(str::to_owned).collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(kept[0].ends_with("/a/1"), "{kept:?}");
    assert_eq!(git(&repo, &["show", &format!("{}:a.txt", kept[0])]), "wrong\n");
    assert_eq!(git(&repo, &["show", &format!("{}:notes-a.md", kept[0])]), "notes\n");
    let ev = events(&out);
    assert!(ev.iter().any(|e| e["event"] == "kept" && e["ref"] == kept[0].as_str()), "{ev:?}");
    // Named in status (text and JSON), explain and the summary.
    let status = repo.cmd(&["status"]).output().unwrap();
    assert!(text(&status).contains(&kept[0]), "{}", text(&status));
    assert_eq!(repo.status()["kept"][0]["ref"], kept[0].as_str());
    let explain = repo.cmd(&["explain", "a"]).output().unwrap();
    assert!(text(&explain).contains("## Kept work") && text(&explain).contains(&kept[0]), "{}", text(&explain));
    let runs = std::fs::read_dir(repo.path().join(".planrun/runs")).unwrap().next().unwrap().unwrap().path();
    let summary = std::fs::read_to_string(runs.join("summary.md")).unwrap();
    assert!(summary.contains("## Kept work") && summary.contains(&kept[0]), "{summary}");
    // gc lists it and removes it only when asked.
    let gc = repo.cmd(&["gc"]).output().unwrap();
    assert_eq!(gc.status.code(), Some(0));
    assert!(text(&gc).contains(&kept[0]) && text(&gc).contains("planrun gc --yes"), "{}", text(&gc));
    assert_eq!(git(&repo, &["for-each-ref", "refs/planrun/kept/"]).lines().count(), 1);
    let gc = repo.cmd(&["gc", "--yes"]).output().unwrap();
    assert_eq!(gc.status.code(), Some(0), "{}", text(&gc));
    assert!(git(&repo, &["for-each-ref", "refs/planrun/kept/"]).is_empty());
}

#[test]
fn in_a_shared_tree_a_tasks_edits_to_a_file_an_earlier_task_declared_are_its_own() {
    let plan = "# Shared\n\n\
                ## Task one: First line\n\nFiles: `shared/d.txt`\n\n\
                ## Task two: Second line\n\nDepends on: `one`\nFiles: `shared/d.txt`\n";
    let agent = "mkdir -p shared; echo \"line of $PLANRUN_TASK_ID\" >> shared/d.txt";
    let reviewer = "if grep -q 'shared/d.txt' \"$1\"; then echo \"$PLANRUN_TASK_ID saw it\" >> ../seen.log; fi\n\
                    echo '{\"verdict\": \"pass\", \"findings\": []}'";
    let repo = committed(plan, agent, &[("review.sh", reviewer)]);
    let out = repo.run(&[
        "--workspace",
        "shared",
        "--commit",
        "auto",
        "--reviews",
        "code",
        "--review-command",
        "./review.sh {prompt_file}",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(repo.read("shared/d.txt"), "line of one\nline of two\n");
    assert_eq!(git(&repo, &["show", "HEAD:shared/d.txt"]), "line of one\nline of two\n", "both lines committed");
    let log = git(&repo, &["log", "--format=%s", "--name-only", "-2"]);
    assert!(log.contains("feat(two): Second line\n\nshared/d.txt"), "{log}");
    assert!(git(&repo, &["status", "--porcelain", "shared"]).is_empty(), "nothing left uncommitted");
    let ev = events(&out);
    let scope = ev.iter().find(|e| e["event"] == "scope_warning" && e["task"] == "two");
    assert!(scope.is_none(), "two's change is inside its files: {scope:?}");
}

#[test]
fn a_resumed_run_refuses_another_integration_branch_before_anything_changes() {
    let repo = committed(THREE, WRITE, &[]);
    let out = repo.run(&["--batch", "1", "--reviews", "none"]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    let before = git(&repo, &["for-each-ref"]);
    let journal = std::fs::metadata(repo.path().join(".planrun/journal.db")).unwrap().len();
    let out = repo.run(&["--into", "elsewhere", "--reviews", "none"]);
    assert_eq!(out.status.code(), Some(64), "{}", text(&out));
    assert!(text(&out).contains("a resumed run keeps its integration branch"), "{}", text(&out));
    assert_eq!(git(&repo, &["for-each-ref"]), before, "no branch was made or moved");
    assert_eq!(std::fs::metadata(repo.path().join(".planrun/journal.db")).unwrap().len(), journal);
    let out = repo.run(&["--workspace", "shared", "--reviews", "none"]);
    assert_eq!(out.status.code(), Some(64), "{}", text(&out));
    assert!(text(&out).contains("a resumed run keeps it"), "{}", text(&out));
}

#[test]
fn a_task_the_plan_marks_done_and_the_user_retries_never_runs_beside_one_sharing_its_files() {
    // t0 is done in the plan, so `check`'s conflicts leave it out; retried, it runs again and
    // must not run beside t1, which changes the same file.
    let plan = "# P\n\n## Task t0: First\n\nStatus: done\nFiles: `shared/d.txt`\n\n\
                ## Task t1: Second\n\nFiles: `shared/d.txt`\n";
    let agent = "echo \"start $PLANRUN_TASK_ID\" >> .git/times.log; sleep 0.4; mkdir -p shared; \
                 echo \"line of $PLANRUN_TASK_ID\" >> shared/d.txt; echo \"end $PLANRUN_TASK_ID\" >> .git/times.log";
    let repo = committed(plan, agent, &[]);
    let out = repo.cmd(&["retry", "t0", "--plan", "plan.md"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = repo.run(&["--workspace", "shared", "--reviews", "none", "-j", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let times = std::fs::read_to_string(repo.path().join(".git/times.log")).unwrap();
    let order: Vec<&str> = times.lines().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(order, ["start", "end", "start", "end"], "one after the other: {times}");
    let d = git(&repo, &["show", "HEAD:shared/d.txt"]);
    assert_eq!(d.lines().count(), 2, "{d}");
}
