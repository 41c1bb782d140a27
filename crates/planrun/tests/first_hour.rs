//! What a new user meets in their first runs: an agent script they have not committed, files the
//! tasks need that are not committed, an agent that cannot start, and the messages around a run
//! (a task done after a failed attempt, a run that committed nothing, a repository without a
//! commit, a folder outside git, no reviewer, no agent CLI). Each exits as documented and says
//! what is true.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use std::process::Command;
use support::{Repo, committed, git, text};

const ONE: &str = "\
# One

## Task a: write a

Files: `a.txt`

### Verify

- `grep -q data a.txt`
";

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn an_uncommitted_agent_script_runs_and_uncommitted_files_are_named() {
    // Only the plan is committed: the agent script and a draft are not.
    let repo = Repo::new(ONE, "echo data > a.txt");
    git(&repo, &["add", "plan.md"]);
    git(&repo, &["-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "plan"]);
    repo.write("draft.md", "notes\n");
    let out = repo.run(&["--yes"]);
    assert_eq!(out.status.code(), Some(0), "the agent script is found though it is not committed: {}", text(&out));
    let err = stderr(&out);
    assert!(
        err.contains("2 uncommitted changes in your working tree are not seen by the tasks")
            && err.contains("`agent.sh`")
            && err.contains("`draft.md`")
            && err.contains("--include-uncommitted"),
        "{err}"
    );
}

#[test]
fn include_uncommitted_starts_the_run_from_the_working_tree_and_leaves_it_as_it_was() {
    // The task's check needs a file the user has not committed.
    let plan = "# P\n\n## Task a: use the data\n\nFiles: `a.txt`\n\n### Verify\n\n- `cmp data.txt a.txt`\n";
    let repo = committed(plan, "cp data.txt a.txt", &[]);
    repo.write("data.txt", "local data\n");
    let out = repo.run(&["--yes", "--include-uncommitted"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(stderr(&out).contains("the run starts from your working tree as it is"), "{}", text(&out));
    let branch = git(&repo, &["for-each-ref", "--format=%(refname:short)", "refs/heads/planrun/"]);
    let branch = branch.lines().find(|b| !b.contains("/task/")).unwrap().to_owned();
    let subjects = git(&repo, &["log", "--format=%s", &format!("HEAD..{branch}")]);
    assert!(subjects.lines().last().unwrap().contains("uncommitted changes included"), "{subjects}");
    assert_eq!(git(&repo, &["show", &format!("{branch}:a.txt")]), "local data\n");
    // The user's tree and index are as they were: data.txt still untracked, nothing staged.
    assert_eq!(git(&repo, &["status", "--porcelain", "--", "data.txt"]), "?? data.txt\n");
    assert_eq!(git(&repo, &["diff", "--cached", "--name-only"]), "");
}

#[test]
fn an_agent_that_is_not_executable_is_refused_before_anything_starts() {
    let repo = committed(ONE, "echo data > a.txt", &[]);
    std::fs::set_permissions(repo.path().join("agent.sh"), std::os::unix::fs::PermissionsExt::from_mode(0o644))
        .unwrap();
    let out = repo.run(&["--yes"]);
    assert_eq!(out.status.code(), Some(64), "{}", text(&out));
    assert!(stderr(&out).contains("is not executable") && stderr(&out).contains("chmod +x"), "{}", text(&out));
    assert!(!repo.path().join(".planrun/journal.db").exists(), "nothing was started");
}

#[test]
fn an_agent_that_cannot_start_stops_the_run_without_blocking_tasks_and_a_rerun_resumes() {
    let plan = "# P\n\n## Task a: one\n\nFiles: `a.txt`\n\n## Task b: two\n\nFiles: `b.txt`\n";
    let repo = committed(plan, "echo x > \"$PLANRUN_TASK_ID.txt\"", &[]);
    // An interpreter that does not exist: the program cannot be started at all.
    std::fs::write(repo.path().join("agent.sh"), "#!/nonexistent/interpreter\n").unwrap();
    let out = repo.run(&["--yes"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let all = text(&out);
    assert!(all.contains("the agent could not be started") && all.contains("no task is counted as failed"), "{all}");
    assert!(repo.states().iter().all(|(_, s)| s != "blocked"), "{:?}", repo.states());
    // Fixed, the same command finishes the run.
    repo.script("agent.sh", "echo x > \"$PLANRUN_TASK_ID.txt\"");
    let again = repo.run(&["--yes"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert!(repo.states().iter().all(|(_, s)| s == "done"));
}

#[test]
fn messages_around_a_run_say_what_is_true() {
    // a fails its check once, then passes.
    let agent = r#"if [ "$PLANRUN_ATTEMPT" = 1 ]; then echo nope > a.txt; else echo data > a.txt; fi"#;
    let repo = committed(ONE, agent, &[]);
    let out = repo.run(&["--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let err = stderr(&out);
    assert!(err.contains("--review-command"), "the no-reviewer note names both ways to get one: {err}");
    // explain on the done task does not ask to fix its check.
    let explain = repo.cmd(&["explain", "a"]).output().unwrap();
    let explained = String::from_utf8_lossy(&explain.stdout);
    assert!(explained.contains("nothing to do: the task is done"), "{explained}");
    assert!(!explained.contains("fix the check"), "{explained}");

    // A plan whose task changes nothing: no "review it" for an empty branch.
    let quiet = committed("# P\n\n## Task q: look\n\nFiles: `q.txt`\n", "true", &[]);
    let out = quiet.run(&["--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let all = text(&out);
    assert!(all.contains("holds no commit that your branch lacks: nothing to merge"), "{all}");
    assert!(!all.contains("review it"), "{all}");
}

#[test]
fn a_repository_without_a_commit_and_a_folder_outside_git_are_said_as_such() {
    let fresh = Repo::new(ONE, "echo data > a.txt");
    let out = fresh.run(&["--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(stderr(&out).contains("the repository has no commit yet"), "{}", text(&out));

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plan.md"), ONE).unwrap();
    std::fs::write(dir.path().join("agent.sh"), "#!/bin/sh\necho data > a.txt\n").unwrap();
    std::fs::set_permissions(dir.path().join("agent.sh"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = Command::new(support::bin())
        .args(["run", "plan.md", "--agent-command", "./agent.sh", "--yes"])
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .env("GIT_CEILING_DIRECTORIES", dir.path().parent().unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let all = text(&out);
    assert!(!all.contains("0 files changed"), "{all}");
    assert!(all.contains("changed files not tracked"), "{all}");
}

#[test]
fn doctor_without_any_agent_cli_points_at_agent_command() {
    let out = Command::new(support::bin()).arg("doctor").env("PATH", "/usr/bin:/bin").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("no agent CLI is installed") && stdout.contains("--agent-command"), "{stdout}");
}

#[test]
fn files_the_checks_make_are_never_committed_nor_kept() {
    // Each check leaves a cache file and a log beside the task's file, as `python -m pytest`
    // leaves `__pycache__/` and coverage tools their data.
    let plan = "# P\n\n## Task a: write a\n\nFiles: `a.txt`\n\n### Verify\n\n\
                - `sh -c 'mkdir -p cache && date > cache/a.pyc && echo run >> check.log && grep -q a a.txt'`\n\n\
                ## Task b: write b\n\nFiles: `b.txt`\n\n### Verify\n\n\
                - `sh -c 'mkdir -p cache && date > cache/b.pyc && echo run >> check.log && grep -q b b.txt'`\n";
    let repo = committed(plan, "echo \"$PLANRUN_TASK_ID\" > \"$PLANRUN_TASK_ID.txt\"", &[("check.log", "")]);
    let out = repo.run(&["--yes", "-j", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let all = text(&out);
    assert_eq!(all.matches("the checks made files that are not the tasks' work").count(), 1, "said once: {all}");
    let branch = git(&repo, &["for-each-ref", "--format=%(refname:short)", "refs/heads/planrun/"]);
    let branch = branch.lines().find(|b| !b.contains("/task/")).unwrap().to_owned();
    let files = git(&repo, &["diff", "--name-only", &format!("HEAD...{branch}")]);
    assert_eq!(files.lines().collect::<Vec<_>>(), ["a.txt", "b.txt"], "only the tasks' files are committed");
    let kept = git(&repo, &["for-each-ref", "refs/planrun/kept/"]);
    assert_eq!(kept, "", "nothing the checks made is kept as if it were work");
}

#[test]
fn a_file_committed_after_the_run_began_reaches_the_tasks_with_update_base() {
    let plan = "# P\n\n## Task a: use the data\n\nFiles: `a.txt`\n\n### Verify\n\n- `cmp data.txt a.txt`\n";
    let repo = committed(plan, "cp data.txt a.txt 2>/dev/null; echo tried >> a.txt; exit 0", &[]);
    repo.write("data.txt", "the data\n");
    let first = repo.run(&["--yes", "--max-rework", "0"]);
    assert_eq!(first.status.code(), Some(3), "data.txt is not committed: {}", text(&first));
    // The user commits it, retries the task, and asks the run to take the new commit in.
    git(&repo, &["add", "data.txt"]);
    git(&repo, &["-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "data"]);
    repo.script("agent.sh", "cp data.txt a.txt");
    let retry = repo.cmd(&["retry", "a"]).output().unwrap();
    assert_eq!(retry.status.code(), Some(0), "{}", text(&retry));
    let again = repo.run(&["--yes", "--update-base"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert!(text(&again).contains("--update-base: `planrun/"), "{}", text(&again));
    assert_eq!(repo.states(), [("a".to_owned(), "done".to_owned())]);
}

#[test]
fn checks_after_a_rebase_set_aside_only_what_they_make_not_what_you_left_uncommitted() {
    // Two tasks side by side in worktrees, committed by hand; each check leaves a cache file
    // behind, as `python -m pytest` leaves `__pycache__/`.
    let check =
        |t: &str| format!("`sh -c 'mkdir -p __pycache__ && date > __pycache__/{t}.pyc && grep -qx {t} {t}.txt'`");
    let plan = format!(
        "# P\n\n## Task a: write a\n\nFiles: `a.txt`\n\n### Verify\n\n- {}\n\n\
         ## Task b: write b\n\nFiles: `b.txt`\n\n### Verify\n\n- {}\n",
        check("a"),
        check("b")
    );
    let repo = committed(&plan, "echo \"$PLANRUN_TASK_ID\" > \"$PLANRUN_TASK_ID.txt\"", &[]);
    let out = repo.run(&["--yes", "--workspace", "worktree", "--commit", "manual", "--reviews", "none", "-j", "2"]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert_eq!(repo.states(), [("a".to_owned(), "in_review".to_owned()), ("b".to_owned(), "in_review".to_owned())]);
    // In each worktree you commit the task's file and leave notes of your own uncommitted.
    for t in ["a", "b"] {
        let wt = repo.path().join(format!(".planrun/worktrees/{t}"));
        assert!(!wt.join("__pycache__").exists(), "the first checks' cache file was set aside");
        std::fs::write(wt.join(format!("notes-{t}.md")), format!("my notes on {t}\n")).unwrap();
        for args in [
            &["add", &format!("{t}.txt")][..],
            &["-c", "user.name=me", "-c", "user.email=me@example.invalid", "commit", "-qm", &format!("{t}, my way")],
        ] {
            let ok = Command::new("git").args(args).current_dir(&wt).status().unwrap();
            assert!(ok.success());
        }
    }
    // With manual commits the tasks go on waiting for the notes; switched to automatic ones,
    // planrun merges your commits as they are. The second merged is rebased onto the first and
    // checked again: the cache file those checks make is named in the run's note.
    let out = repo.cmd(&["continue"]).output().unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert_eq!(repo.states(), [("a".to_owned(), "in_review".to_owned()), ("b".to_owned(), "in_review".to_owned())]);
    for t in ["a", "b"] {
        assert_eq!(repo.read(&format!(".planrun/worktrees/{t}/notes-{t}.md")), format!("my notes on {t}\n"));
    }
    let out = repo.run(&["--yes", "--commit", "auto", "--reviews", "none", "-j", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let err = stderr(&out);
    assert!(!err.contains("notes-"), "your notes are not taken for the checks' output: {err}");
    let rebased = ["a", "b"]
        .into_iter()
        .find(|t| err.contains(&format!("never committed: `__pycache__/{t}.pyc`")))
        .unwrap_or_else(|| panic!("the checks after the rebase ran and their cache file is named: {}", text(&out)));
    let branch = git(&repo, &["for-each-ref", "--format=%(refname:short)", "refs/heads/planrun/"]);
    let branch = branch.lines().find(|b| !b.contains("/task/")).unwrap().to_owned();
    let subjects = git(&repo, &["log", "--format=%s", &format!("HEAD..{branch}")]);
    let mut subjects: Vec<&str> = subjects.lines().collect();
    subjects.sort_unstable();
    assert_eq!(subjects, ["a, my way", "b, my way"], "your two commits are merged as they are");
    let files = git(&repo, &["diff", "--name-only", &format!("HEAD...{branch}")]);
    assert_eq!(files.lines().collect::<Vec<_>>(), ["a.txt", "b.txt"], "only your commits' files are merged");
    // Your notes were kept with the worktree they were left in (rebased or not); the cache file
    // the checks made is not.
    let kept: Vec<String> =
        git(&repo, &["for-each-ref", "--format=%(refname)", "refs/planrun/kept/"]).lines().map(str::to_owned).collect();
    for t in ["a", "b"] {
        let Some(k) = kept.iter().find(|k| k.ends_with(&format!("/{t}/1"))) else {
            panic!("task {t}'s notes are kept (task {rebased} was rebased): {kept:?}\n{}", text(&out));
        };
        assert_eq!(git(&repo, &["show", &format!("{k}:notes-{t}.md")]), format!("my notes on {t}\n"));
        let tree = git(&repo, &["ls-tree", "-r", "--name-only", k]);
        assert!(!tree.contains("__pycache__"), "nothing the checks made is kept: {tree}");
        assert!(repo.status()["kept"].as_array().unwrap().iter().any(|e| e["ref"] == k.as_str()), "status names {k}");
    }
    assert_eq!(kept.len(), 2, "{kept:?}");
}

#[test]
fn an_edit_you_left_uncommitted_that_stops_a_rebase_is_kept_before_the_rework() {
    // Two tasks side by side in worktrees, committed by hand; in each you then edit the task's
    // file again and leave the edit uncommitted.
    let plan = "# P\n\n## Task a: write a\n\nFiles: `a.txt`\n\n### Verify\n\n- `test -s a.txt`\n\n\
                ## Task b: write b\n\nFiles: `b.txt`\n\n### Verify\n\n- `test -s b.txt`\n";
    let repo = committed(plan, "echo \"$PLANRUN_TASK_ID\" > \"$PLANRUN_TASK_ID.txt\"", &[]);
    let out = repo.run(&["--yes", "--workspace", "worktree", "--commit", "manual", "--reviews", "none", "-j", "2"]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    for t in ["a", "b"] {
        let wt = repo.path().join(format!(".planrun/worktrees/{t}"));
        for args in [
            &["add", &format!("{t}.txt")][..],
            &["-c", "user.name=me", "-c", "user.email=me@example.invalid", "commit", "-qm", &format!("{t}, my way")],
        ] {
            let ok = Command::new("git").args(args).current_dir(&wt).status().unwrap();
            assert!(ok.success());
        }
        std::fs::write(wt.join(format!("{t}.txt")), format!("my second thoughts on {t}\n")).unwrap();
    }
    // Switched to automatic commits: the first task merges with your edit committed; the second
    // must be rebased onto it. Whatever happens to it next, your edit is reachable.
    let out = repo.run(&["--yes", "--commit", "auto", "--reviews", "none", "-j", "2"]);
    let all = text(&out);
    let kept: Vec<String> =
        git(&repo, &["for-each-ref", "--format=%(refname)", "refs/planrun/kept/"]).lines().map(str::to_owned).collect();
    let branch = git(&repo, &["for-each-ref", "--format=%(refname:short)", "refs/heads/planrun/"]);
    let branch = branch.lines().find(|b| !b.contains("/task/")).unwrap().to_owned();
    for t in ["a", "b"] {
        let edit = format!("my second thoughts on {t}\n");
        let show = |rev: &str| {
            let o = Command::new("git").args(["show", rev]).current_dir(repo.path()).output().unwrap();
            String::from_utf8_lossy(&o.stdout).into_owned()
        };
        let merged = show(&format!("{branch}:{t}.txt")) == edit;
        let in_kept = kept.iter().any(|k| show(&format!("{k}:{t}.txt")) == edit);
        assert!(merged || in_kept, "your edit of {t}.txt is merged or kept: {kept:?}\n{all}");
    }
    // The task whose rebase your edit stopped says where its edit is kept.
    let k = kept.iter().find(|k| k.ends_with("-uncommitted")).unwrap_or_else(|| panic!("{kept:?}\n{all}"));
    assert!(all.contains(k.as_str()) || repo.status().to_string().contains(k.as_str()), "{k} is named: {all}");
}
