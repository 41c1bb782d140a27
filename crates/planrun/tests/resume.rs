//! No work lost across invocations, on real git repositories with shell scripts as the agents:
//! `planrun continue` any number of times, planrun's own progress marks in the plan never read
//! as an edit, attempt numbers that go on after `planrun retry`, `retry` and `skip` before the
//! first run, and the tester's own agent from `[roles.test]`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use support::{Repo, committed, events, git, text};

/// The tasks of the commits on `branch` (by their `Planrun-Task` trailer), oldest first.
fn committed_tasks(repo: &Repo, branch: &str) -> Vec<String> {
    git(repo, &["log", "--reverse", "--format=%(trailers:key=Planrun-Task,valueonly)", branch])
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The attempt numbers of `task`'s implement logs.
fn implement_logs(repo: &Repo, task: &str) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(repo.path().join(".planrun/logs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!("{task}.")) && n.ends_with(".implement.log"))
        .collect();
    out.sort();
    out
}

fn changed_after_done(out: &std::process::Output) -> Vec<String> {
    events(out)
        .iter()
        .filter(|e| e["event"] == "changed_after_done")
        .map(|e| e["task"].as_str().unwrap_or("").to_owned())
        .collect()
}

/// Writes its task's file.
const WRITER: &str = r#"echo "$PLANRUN_TASK_ID" > "$PLANRUN_TASK_ID.txt""#;

#[test]
fn planruns_own_marks_in_a_markdown_plan_are_not_an_edit() {
    let plan = "# P\n\n## Task a: Write a\n\nFiles: `a.txt`\n\n- [ ] a step to tick\n\n### Verify\n\n- `grep -qx a a.txt`\n\n\
                ## Task b: Write b\n\nFiles: `b.txt`\n\n### Verify\n\n- `grep -qx b b.txt`\n";
    let repo = Repo::new(plan, WRITER);
    let out = repo.run(&["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(repo.read("plan.md").contains("Status: done"), "{}", repo.read("plan.md"));
    let out = repo.run(&["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(changed_after_done(&out), Vec::<String>::new(), "{}", text(&out));
    // The fingerprints are journaled when they change, not by every invocation.
    let plan_records = || {
        let db = rusqlite::Connection::open(repo.path().join(".planrun/journal.db")).unwrap();
        db.query_row("SELECT count(*) FROM events WHERE kind = 'plan'", [], |r| r.get::<_, i64>(0)).unwrap()
    };
    assert_eq!(plan_records(), 1);
    // A real edit of what a task asks for is still reported, against the first record.
    repo.write("plan.md", &repo.read("plan.md").replace("grep -qx b b.txt", "grep -q b b.txt"));
    let out = repo.run(&["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(changed_after_done(&out), ["b"], "{}", text(&out));
    assert_eq!(plan_records(), 2);
}

#[test]
fn planruns_own_ticks_in_a_superpowers_plan_are_not_an_edit() {
    let plan = "# Files Implementation Plan\n\n**Goal:** two files.\n\n---\n\n\
                ### Task 1: Write a\n\n**Files:**\n- Create: `a.txt`\n\n\
                - [ ] **Step 1: Write it**\n\n- [ ] **Step 2: Check it**\n\nRun: `grep -qx task-1 a.txt`\nExpected: PASS\n\n\
                ### Task 2: Write b\n\n**Files:**\n- Create: `b.txt`\n\n\
                - [ ] **Step 1: Write it**\n\nRun: `grep -qx task-2 b.txt`\nExpected: PASS\n";
    let agent = r#"case "$PLANRUN_TASK_ID" in task-1) echo task-1 > a.txt ;; task-2) echo task-2 > b.txt ;; esac"#;
    let repo = Repo::new("", agent);
    let path = "docs/superpowers/plans/2025-01-01-files.md";
    repo.write(path, plan);
    let run = |repo: &Repo| repo.cmd(&["run", path, "--agent-command", "./agent.sh", "--json"]).output().unwrap();
    let out = run(&repo);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!repo.read(path).contains("- [ ]"), "every step is ticked: {}", repo.read(path));
    let out = run(&repo);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(changed_after_done(&out), Vec::<String>::new(), "{}", text(&out));
    repo.write(path, &repo.read(path).replace("grep -qx task-2 b.txt", "grep -q task-2 b.txt"));
    let out = run(&repo);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(changed_after_done(&out), ["task-2"], "{}", text(&out));
}

#[test]
fn planruns_own_checkmarks_in_a_blueprint_plan_are_not_an_edit() {
    let plan = "# Plan: Files\n\nTwo files.\n\n## Steps\n\n\
                ### Step 1: Write a\n\n**Objective:** a.txt holds a.\n\n**Files:** `a.txt`\n\n\
                #### Phase 3: Verification\n\n- [ ] `grep -qx step-1 a.txt` passes\n\n\
                ### Step 2: Write b\n\n**Objective:** b.txt holds b.\n\n**Files:** `b.txt`\n\n\
                #### Phase 3: Verification\n\n- [ ] `grep -qx step-2 b.txt` passes\n";
    let agent = r#"case "$PLANRUN_TASK_ID" in step-1) echo step-1 > a.txt ;; step-2) echo step-2 > b.txt ;; esac"#;
    let repo = Repo::new("", agent);
    let path = "plans/files.md";
    repo.write(path, plan);
    let run = |repo: &Repo| repo.cmd(&["run", path, "--agent-command", "./agent.sh", "--json"]).output().unwrap();
    let out = run(&repo);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let marked = repo.read(path);
    assert!(marked.contains("### ✅ Step 2") && !marked.contains("- [ ]"), "{marked}");
    let out = run(&repo);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(changed_after_done(&out), Vec::<String>::new(), "{}", text(&out));
    repo.write(path, &marked.replace("grep -qx step-2 b.txt", "grep -q step-2 b.txt"));
    let out = run(&repo);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(changed_after_done(&out), ["step-2"], "{}", text(&out));
}

#[test]
fn continue_goes_on_after_every_pause_until_the_run_is_done() {
    let mut plan = String::from("# P\n\n");
    for t in ["a", "b", "c", "d"] {
        plan.push_str(&format!(
            "## Task {t}: Write {t}\n\nFiles: `{t}.txt`\n\n### Verify\n\n- `grep -qx {t} {t}.txt`\n\n"
        ));
    }
    let repo = committed(&plan, WRITER, &[]);
    let out = repo.run(&["--batch", "1", "-j", "1", "--reviews", "none", "--json"]);
    let mut codes = vec![out.status.code()];
    let mut last = out;
    while codes.last() == Some(&Some(5)) && codes.len() < 8 {
        last = repo.cmd(&["continue"]).output().unwrap();
        assert!(
            String::from_utf8_lossy(&last.stderr)
                .contains("continuing: run plan.md --agent-command ./agent.sh --batch 1"),
            "{}",
            text(&last)
        );
        codes.push(last.status.code());
    }
    assert_eq!(codes, [Some(5), Some(5), Some(5), Some(0)], "{}", text(&last));
    assert!(repo.states().iter().all(|(_, s)| s == "done"), "{:?}", repo.states());
    let fin = events(&last).into_iter().find(|e| e["event"] == "finished").unwrap();
    let branch = fin["integration"].as_str().unwrap().to_owned();
    let mut tasks = committed_tasks(&repo, &branch);
    tasks.sort();
    assert_eq!(tasks, ["a", "b", "c", "d"], "one commit per task");
    for t in ["a", "b", "c", "d"] {
        assert_eq!(implement_logs(&repo, t).len(), 1, "{t} was implemented once: {:?}", implement_logs(&repo, t));
    }
}

#[test]
fn attempts_go_on_after_a_retry_and_the_report_speaks_of_the_latest() {
    let plan = "# P\n\n## Task a: Write a\n\nFiles: `a.txt`\n\n### Verify\n\n- `grep -qx a a.txt`\n";
    // Both reviews block until the flag file (outside the repository) exists.
    let flag_dir = tempfile::tempdir().unwrap();
    let flag = flag_dir.path().join("fixed");
    let reviewer = format!(
        r#"if [ -e '{}' ]; then
  echo '{{"verdict": "pass", "findings": []}}'
else
  echo '{{"verdict": "changes_requested", "findings": [{{"severity": "blocking", "file": "a.txt", "line": 1, "message": "not yet"}}]}}'
fi"#,
        flag.display()
    );
    let repo = committed(plan, WRITER, &[("review.sh", &reviewer)]);
    let args = ["--review-command", "./review.sh {prompt_file}", "--max-rework", "0", "--json"];
    let out = repo.run(&args);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let first_log = repo.read(".planrun/logs/a.1.code-review.log");
    assert!(first_log.contains("not yet"), "{first_log}");
    std::fs::write(&flag, "").unwrap();
    let retry = repo.cmd(&["retry", "a"]).output().unwrap();
    assert_eq!(retry.status.code(), Some(0), "{}", text(&retry));
    let out = repo.run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let ev = events(&out);
    let start = ev.iter().find(|e| e["event"] == "start" && e["task"] == "a").unwrap();
    assert_eq!(start["attempt"], 2, "{start}");
    assert_eq!(repo.read(".planrun/logs/a.1.code-review.log"), first_log, "the first attempt's log is kept");
    assert!(repo.read(".planrun/logs/a.2.code-review.log").contains("\"pass\""));
    let report = ev.iter().find(|e| e["event"] == "task_report" && e["task"] == "a").unwrap();
    let summary = report["summary"].as_str().unwrap();
    assert!(summary.contains("0 blocking") && summary.contains("merged"), "{summary}");
    let file = std::fs::read_to_string(report["report"].as_str().unwrap()).unwrap();
    assert!(file.contains("done after 2 attempts") && !file.contains("not yet"), "{file}");
    let log = repo.cmd(&["log", "a", "--summary"]).output().unwrap();
    let log = String::from_utf8_lossy(&log.stdout).into_owned();
    assert!(log.contains("attempt 1") && log.contains("attempt 2"), "{log}");
    assert_eq!(repo.task("a")["attempts"], 2);
}

#[test]
fn skip_and_retry_before_any_run_are_honoured_by_the_first_run() {
    let plan = "# P\n\n## Task a: Write a\n\nFiles: `a.txt`\n\n\
                ## Task b: Write b after a\n\nDepends on: `a`\nFiles: `b.txt`\n\n\
                ## Task c: Write c\n\nStatus: done\nFiles: `c.txt`\n";
    let repo = Repo::new(plan, WRITER);
    // Without a run and without the plan, planrun says so and how to name it.
    let out = repo.cmd(&["skip", "a"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("there is no run") && err.contains("--plan PLAN") && !err.contains("lock"), "{err}");
    assert!(!repo.path().join(".planrun").exists());
    // With the plan: a is skipped, and c, which the plan marks done, will run again.
    let out = repo.cmd(&["skip", "a", "--plan", "plan.md"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = repo.cmd(&["retry", "c", "--plan", "plan.md"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = repo.run(&["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let started: Vec<String> =
        events(&out).iter().filter(|e| e["event"] == "start").map(|e| e["task"].as_str().unwrap().to_owned()).collect();
    assert_eq!(started, ["b", "c"], "a was skipped, its dependent went on");
    assert!(!repo.path().join("a.txt").exists());
    let states: Vec<(String, String)> = repo.states();
    assert_eq!(states, [("a".into(), "skipped".into()), ("b".into(), "done".into()), ("c".into(), "done".into())]);
}

#[test]
fn skip_during_a_run_is_refused_with_its_own_exit_code() {
    let plan = "# P\n\n## Task a: Write a\n\nFiles: `a.txt`\n\n## Task b: Write b\n\nDepends on: `a`\nFiles: `b.txt`\n";
    let repo = Repo::new(plan, "touch started; sleep 2; echo \"$PLANRUN_TASK_ID\" > \"$PLANRUN_TASK_ID.txt\"");
    let mut child = repo
        .cmd(&["run", "plan.md", "--agent-command", "./agent.sh"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    assert!(support::wait_for(20.0, || repo.path().join("started").exists()));
    let out = repo.cmd(&["skip", "b"]).output().unwrap();
    assert_eq!(out.status.code(), Some(75), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("another planrun is working on this run") && err.contains("stop it"), "{err}");
    assert_eq!(child.wait().unwrap().code(), Some(0));
    assert_eq!(repo.task("b")["state"], "done", "the refused skip changed nothing");
    let help = repo.cmd(&["skip", "--help"]).output().unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("75 a run is going on"));
}

#[test]
fn the_tester_runs_with_the_agent_of_roles_test() {
    // Verify runs before the tester (beside the reviews) and again on its test.
    let plan = "# P\n\n## Task a: Write a\n\nFiles: `a.txt`, `a_test.txt`\n\n### Verify\n\n- `test -s a.txt`\n";
    let reviewer = r#"[ "$PLANRUN_ROLE" = test ] && echo reviewer > a_test.txt
echo '{"verdict": "pass", "findings": []}'"#;
    let tester = r#"echo "tester as $PLANRUN_ROLE" > a_test.txt
echo 'Added a test.'
echo '{"verdict": "pass", "findings": []}'"#;
    let repo = committed(
        plan,
        "echo a > a.txt",
        &[
            ("review.sh", reviewer),
            ("tester.sh", tester),
            ("planrun.toml", "[roles.test]\ncommand = './tester.sh {prompt_file}'\n"),
        ],
    );
    let out = repo.run(&["--json", "--review-command", "./review.sh {prompt_file}", "--tester"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let fin = events(&out).into_iter().find(|e| e["event"] == "finished").unwrap();
    let branch = fin["integration"].as_str().unwrap().to_owned();
    assert_eq!(git(&repo, &["show", &format!("{branch}:a_test.txt")]), "tester as test\n");
    assert!(repo.read(".planrun/logs/a.1.test.log").contains("Added a test."));
    assert!(repo.path().join(".planrun/logs/a.1.code-review.log").exists(), "the reviews ran too");
}
