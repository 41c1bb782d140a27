//! The task pipeline end to end on real git repositories, with shell scripts as the implementer
//! and the reviewers: parallel tasks in their own worktrees merged onto the integration branch
//! in dependency order; a lying agent caught by verify; an out-of-scope edit caught by the scope
//! check; a reviewer's blocking finding reworked; an unreadable verdict retried once with the
//! reminder; a merge conflict sent back with git's markers and resolved; three failed cycles
//! blocking a task while independent ones finish; kill -9 during the merge queue leaving one
//! commit per task; `--commit manual` and `--batch` pausing for `planrun continue`; the reviewer's
//! take and the tester. (The same pipeline with the real Claude Code and Codex CLIs is in
//! `pipeline_agents.rs`.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use serde_json::Value;
use std::io::BufRead as _;
use std::process::Stdio;
use support::{Repo, committed, events, git, text};

/// The integration branch a run reported.
fn integration(out: &std::process::Output) -> String {
    let ev = events(out);
    let fin = ev.iter().find(|e| e["event"] == "finished").unwrap_or_else(|| panic!("{}", text(out)));
    fin["integration"].as_str().unwrap_or_else(|| panic!("no integration branch: {fin}")).to_owned()
}

/// `(task, subject, files)` of each commit on `branch` after `start`, oldest first.
fn commits(repo: &Repo, branch: &str) -> Vec<(String, String, Vec<String>)> {
    let log = git(
        repo,
        &["log", "--reverse", "--format=%x1e%(trailers:key=Planrun-Task,valueonly)%x1f%s", "--name-only", branch],
    );
    log.split('\x1e')
        .filter(|e| !e.trim().is_empty())
        .filter_map(|e| {
            let (task, rest) = e.split_once('\x1f')?;
            let mut lines = rest.lines();
            let subject = lines.next()?.to_owned();
            let files: Vec<String> = lines.filter(|l| !l.trim().is_empty()).map(str::to_owned).collect();
            let task = task.trim();
            (!task.is_empty()).then(|| (task.to_owned(), subject, files))
        })
        .collect()
}

fn worktrees(repo: &Repo) -> usize {
    git(repo, &["worktree", "list", "--porcelain"]).lines().filter(|l| l.starts_with("worktree ")).count()
}

fn reason(ev: &[Value], event: &str, task: &str) -> String {
    ev.iter()
        .find(|e| e["event"] == event && e["task"] == task)
        .and_then(|e| e["reason"].as_str())
        .unwrap_or_else(|| panic!("no {event} event for {task}: {ev:?}"))
        .to_owned()
}

const FOUR: &str = "# Four\n\n\
## Task a: Write a\n\nFiles: `a.txt`\n\n### Verify\n\n- `grep -qx a a.txt`\n\n\
## Task b: Write b\n\nFiles: `b.txt`\n\n### Verify\n\n- `grep -qx b b.txt`\n\n\
## Task c: Write c from a and b\n\nDepends on: `a`, `b`\nFiles: `c.txt`\n\n### Verify\n\n- `test -s a.txt && test -s b.txt && grep -qx c c.txt`\n\n\
## Task d: Fix d after c\n\nDepends on: `c`\nFiles: `d.txt`\n\n### Verify\n\n- `test -s c.txt && grep -qx d d.txt`\n";

/// Writes its task's file after a short pause (so a and b overlap).
const WRITER: &str = r#"sleep 0.3
echo "$PLANRUN_TASK_ID" > "$PLANRUN_TASK_ID.txt"
echo "wrote $PLANRUN_TASK_ID.txt in $PWD""#;

/// A reviewer that passes everything, with one advisory note in the code review.
const PASSING_REVIEWER: &str = r#"if grep -q 'the code review:' "$1"; then
  echo '{"verdict": "pass", "findings": [{"severity": "advisory", "file": "x.txt", "line": 1, "message": "consider a comment"}]}'
else
  echo 'Reads well.'
  echo '{"verdict": "pass", "findings": []}'
fi"#;

#[test]
fn parallel_tasks_in_worktrees_merge_onto_the_integration_branch_in_dependency_order() {
    let repo = committed(FOUR, WRITER, &[("review.sh", PASSING_REVIEWER)]);
    let out = repo.run(&["--review-command", "./review.sh {prompt_file}", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let branch = integration(&out);
    assert!(branch.starts_with("planrun/"), "{branch}");
    let log = commits(&repo, &branch);
    let order: Vec<&str> = log.iter().map(|(t, _, _)| t.as_str()).collect();
    assert_eq!(order.len(), 4, "one commit per task: {log:?}");
    let pos = |t: &str| order.iter().position(|o| *o == t).unwrap();
    assert!(pos("a") < pos("c") && pos("b") < pos("c") && pos("c") < pos("d"), "{order:?}");
    for (task, subject, files) in &log {
        assert_eq!(files, &[format!("{task}.txt")], "each commit holds its task's file only");
        let kind = if task == "d" { "fix" } else { "feat" };
        assert!(subject.starts_with(&format!("{kind}({task}): ")), "{subject}");
    }
    let body = git(&repo, &["log", "-1", "--format=%B", &branch]);
    assert!(body.contains("Planrun-Task: d") && !body.to_lowercase().contains("generated"), "{body}");
    // The work is on the branch, not in the user's working tree; nothing is left behind.
    assert!(!repo.path().join("a.txt").exists());
    assert_eq!(git(&repo, &["show", &format!("{branch}:c.txt")]), "c\n");
    assert_eq!(worktrees(&repo), 1, "{}", git(&repo, &["worktree", "list"]));
    assert_eq!(git(&repo, &["branch", "--list", "planrun/task/*"]), "", "task branches are deleted once merged");
    let ev = events(&out);
    // a and b ran side by side, each in its own worktree.
    let idx = |event: &str, task: &str| ev.iter().position(|e| e["event"] == event && e["task"] == task).unwrap();
    assert!(idx("start", "b") < idx("done", "a") && idx("start", "a") < idx("done", "b"), "{ev:?}");
    let merged: Vec<&Value> = ev.iter().filter(|e| e["event"] == "merged").collect();
    assert_eq!(merged.len(), 4);
    // Reviews ran for each task; the advisory note is reported and in the step report.
    assert_eq!(ev.iter().filter(|e| e["event"] == "advisory").count(), 4);
    let report = ev.iter().find(|e| e["event"] == "task_report" && e["task"] == "a").unwrap();
    let summary = report["summary"].as_str().unwrap();
    assert!(
        summary.contains("1 file changed")
            && summary.contains("checks 1/1")
            && summary.contains("0 blocking / 1 advisory")
            && summary.contains("merged"),
        "{summary}"
    );
    let file = std::fs::read_to_string(report["report"].as_str().unwrap()).unwrap();
    assert!(file.contains("`a.txt`") && file.contains("consider a comment"), "{file}");
}

#[test]
fn a_lying_agent_is_caught_by_verify_and_an_out_of_scope_edit_by_the_scope_check() {
    let plan = "# P\n\n## Task a: Write a\n\nFiles: `a.txt`\n\n### Verify\n\n- `grep -qx a a.txt`\n\n\
                ## Task b: Write b\n\nFiles: `b.txt`\n";
    // a: attempt 1 claims success and changes nothing; attempt 2 does the work.
    // b: attempt 1 also edits README.md; attempt 2 undoes that.
    let agent = r#"case "$PLANRUN_TASK_ID.$PLANRUN_ATTEMPT" in
  a.1) echo "Done! All tests pass." ;;
  a.*) echo a > a.txt ;;
  b.1) echo b > b.txt; echo "tweaked" >> README.md ;;
  b.*) git checkout -- README.md ;;
esac"#;
    let repo = committed(plan, agent, &[("README.md", "# Project\n")]);
    let out = repo.run(&["--json", "--reviews", "none"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let ev = events(&out);
    let lie = reason(&ev, "rework", "a");
    assert!(lie.contains("grep -qx a a.txt") && lie.contains("exited with code"), "{lie}");
    let scope = reason(&ev, "rework", "b");
    assert!(scope.contains("- README.md"), "{scope}");
    // Its first line, the one `status` and the summary show, names the file itself.
    assert_eq!(
        scope.lines().next(),
        Some("the scope check found 1 changed file outside the task's files: README.md (the task names b.txt)"),
        "{scope}"
    );
    let log = commits(&repo, &integration(&out));
    let b = log.iter().find(|(t, _, _)| t == "b").unwrap();
    assert_eq!(b.2, ["b.txt"], "the out-of-scope edit never reached the branch");
    assert_eq!(repo.read("README.md"), "# Project\n");
}

#[test]
fn under_scope_warn_an_outside_edit_is_reported_and_goes_on() {
    let plan = "# P\n\n## Task b: Write b\n\nFiles: `b.txt`\n";
    let repo = committed(plan, "echo b > b.txt; echo more >> README.md", &[("README.md", "# Project\n")]);
    let out = repo.run(&["--json", "--reviews", "none", "--scope", "warn"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let ev = events(&out);
    let warn = ev.iter().find(|e| e["event"] == "scope_warning").unwrap();
    assert_eq!(warn["outside"], serde_json::json!(["README.md"]));
    assert!(!ev.iter().any(|e| e["event"] == "rework"));
}

#[test]
fn a_blocking_review_finding_sends_the_task_back_and_the_rework_fixes_it() {
    let plan = "# P\n\n## Task a: Write a\n\nFiles: `a.txt`\n";
    // The implementer adds the test line only once a review asked for it.
    let agent = r#"if grep -q 'add a test line' "$PLANRUN_PROMPT_FILE"; then printf 'a\ntested\n' > a.txt; else echo a > a.txt; fi"#;
    // The code review blocks until a.txt has its test line; the task review passes.
    let reviewer = r#"if grep -q 'the code review:' "$1" && ! grep -q tested a.txt; then
  echo 'Missing coverage.'
  echo '{"verdict": "changes_requested", "findings": [{"severity": "blocking", "file": "a.txt", "line": 1, "message": "add a test line"}, {"severity": "advisory", "message": "nice otherwise"}]}'
else
  echo '{"verdict": "pass", "findings": []}'
fi"#;
    let repo = committed(plan, agent, &[("review.sh", reviewer)]);
    let out = repo.run(&["--json", "--review-command", "./review.sh {prompt_file}"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let ev = events(&out);
    let why = reason(&ev, "rework", "a");
    assert!(why.contains("[code-review] a.txt:1: add a test line"), "{why}");
    assert!(!why.contains("nice otherwise"), "advisory findings never block: {why}");
    let second = repo.read(".planrun/prompts/a.2.md");
    assert!(second.contains("add a test line"), "the rework prompt carries the finding: {second}");
    let branch = integration(&out);
    assert_eq!(git(&repo, &["show", &format!("{branch}:a.txt")]), "a\ntested\n");
    // The reviewers saw the real diff.
    let review_prompt = repo.read(".planrun/prompts/a.1.code-review.md");
    assert!(review_prompt.contains("+a") && review_prompt.contains("Files changed: a.txt"), "{review_prompt}");
}

#[test]
fn an_unreadable_verdict_gets_one_reminder_then_fails_the_review() {
    let plan = "# P\n\n## Task a: Write a\n\nFiles: `a.txt`\n";
    // The task review answers in prose, then gives its verdict once reminded; the code review
    // never gives one.
    let reviewer = r#"if grep -q 'the task review:' "$1"; then
  if grep -q 'did not end with a verdict' "$1"; then echo '{"verdict": "pass", "findings": []}'; else echo 'LGTM!'; fi
else
  echo 'Looks fine to me.'
fi"#;
    let repo = committed(plan, "echo a > a.txt", &[("review.sh", reviewer)]);
    let out = repo.run(&["--json", "--review-command", "./review.sh {prompt_file}", "--max-rework", "0"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let ev = events(&out);
    let why = reason(&ev, "blocked", "a");
    assert!(why.contains("code-review: gave no verdict planrun can read, even after a reminder"), "{why}");
    assert!(!why.contains("task-review"), "the reminded task review passed: {why}");
    let log = repo.read(".planrun/logs/a.1.task-review.log");
    assert!(log.contains("LGTM!") && log.contains("\"verdict\": \"pass\""), "two runs in one log: {log}");
}

#[test]
fn a_merge_conflict_goes_back_to_rework_with_the_markers_and_is_resolved() {
    let plan = "# P\n\n## Task a: Write a\n\nFiles: `a.txt`\n\n## Task b: Write b\n\nFiles: `b.txt`\n";
    // Both tasks also change the same line of notes.txt (allowed by --scope warn); whichever
    // merges second conflicts, and its next attempt resolves git's markers.
    let agent = r#"if grep -q '<<<<<<<' notes.txt; then
  printf 'notes\nfrom a and b\n' > notes.txt
else
  sleep 0.2
  echo "$PLANRUN_TASK_ID" > "$PLANRUN_TASK_ID.txt"
  printf 'notes\nfrom %s\n' "$PLANRUN_TASK_ID" > notes.txt
fi"#;
    let repo = committed(plan, agent, &[("notes.txt", "notes\nfrom nobody\n")]);
    let out = repo.run(&["--json", "--reviews", "none", "--scope", "warn"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let ev = events(&out);
    let conflicted: Vec<&Value> = ev.iter().filter(|e| e["event"] == "rework").collect();
    assert_eq!(conflicted.len(), 1, "{ev:?}");
    let why = conflicted[0]["reason"].as_str().unwrap();
    assert!(why.contains("conflicted in notes.txt") && why.contains("conflict markers in notes.txt"), "{why}");
    assert!(why.contains("from a") || why.contains("from b"), "the hunks are included: {why}");
    let branch = integration(&out);
    assert_eq!(git(&repo, &["show", &format!("{branch}:notes.txt")]), "notes\nfrom a and b\n");
    let log = commits(&repo, &branch);
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(
        git(&repo, &["show", &format!("{branch}:a.txt")]) == "a\n"
            && git(&repo, &["show", &format!("{branch}:b.txt")]) == "b\n"
    );
}

#[test]
fn three_failed_cycles_block_a_task_while_independent_tasks_finish() {
    let plan = "# P\n\n## Task bad: Never right\n\nFiles: `bad.txt`\n\n### Verify\n\n- `grep -qx right bad.txt`\n\n\
                ## Task good: Fine\n\nFiles: `good.txt`\n\n\
                ## Task after: Needs bad\n\nDepends on: `bad`\nFiles: `after.txt`\n";
    let agent = r#"echo wrong > bad.txt; echo fine > good.txt; echo x > after.txt
case "$PLANRUN_TASK_ID" in bad) ;; good) git checkout -q -- . 2>/dev/null; rm -f bad.txt after.txt; echo fine > good.txt ;; esac
[ "$PLANRUN_TASK_ID" = bad ] && rm -f good.txt after.txt; true"#;
    let repo = committed(plan, agent, &[]);
    let out = repo.run(&["--json", "--reviews", "none", "--max-rework", "2"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let states: std::collections::BTreeMap<String, String> = repo.states().into_iter().collect();
    assert_eq!(states["bad"], "blocked");
    assert_eq!(states["good"], "done");
    assert_eq!(states["after"], "pending");
    let ev = events(&out);
    assert_eq!(
        ev.iter().filter(|e| e["event"] == "start" || e["event"] == "retry").filter(|e| e["task"] == "bad").count(),
        3
    );
    let why = reason(&ev, "blocked", "bad");
    assert!(why.starts_with("failed 3 times"), "{why}");
    let log = commits(&repo, &integration(&out));
    assert_eq!(log.iter().map(|(t, _, _)| t.as_str()).collect::<Vec<_>>(), ["good"]);
    // The blocked task's worktree is kept for inspection; the escalation report says why.
    assert!(repo.path().join(".planrun/worktrees/bad/bad.txt").exists());
    let runs = std::fs::read_dir(repo.path().join(".planrun/runs")).unwrap().next().unwrap().unwrap().path();
    let esc = std::fs::read_to_string(runs.join("escalations/bad.md")).unwrap();
    assert!(esc.contains("grep -qx right bad.txt"), "{esc}");
}

#[test]
fn kill_9_during_the_merge_queue_then_a_rerun_leaves_exactly_one_commit_per_task() {
    let mut plan = String::from("# Many\n\n## Verify\n\n- `sleep 0.2`\n\n");
    let n = 6;
    for i in 0..n {
        plan.push_str(&format!("## Task t{i}: Write t{i}\n\nFiles: `t{i}.txt`\n\n"));
    }
    let repo = committed(&plan, "echo \"$PLANRUN_TASK_ID\" > \"$PLANRUN_TASK_ID.txt\"", &[]);
    let mut kills = 0;
    // Each run is killed the moment a task's merge starts (the merge rebases and verifies
    // again, so it takes a while), once per task, until a run gets through.
    let mut killed_merging: Vec<(String, u64)> = Vec::new();
    for _ in 0..(n + 4) {
        let mut child = repo
            .cmd(&["run", "plan.md", "--agent-command", "./agent.sh", "--json", "--reviews", "none", "-j", "4"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut killed = false;
        for line in std::io::BufReader::new(stdout).lines() {
            let e: Value = serde_json::from_str(&line.unwrap()).unwrap();
            let task = e["task"].as_str().unwrap_or("").to_owned();
            if e["event"] == "merge" && !killed_merging.iter().any(|(t, _)| *t == task) {
                child.kill().unwrap();
                killed = true;
                killed_merging.push((task, e["attempt"].as_u64().unwrap()));
                break;
            }
        }
        let status = child.wait().unwrap();
        if killed {
            kills += 1;
        } else {
            assert_eq!(status.code(), Some(0));
            break;
        }
    }
    assert!(kills >= 2, "the runs were killed {kills} times");
    let out = repo.run(&["--json", "--reviews", "none"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(repo.states().iter().all(|(_, s)| s == "done"), "{:?}", repo.states());
    let branch = integration(&out);
    let log = commits(&repo, &branch);
    let mut tasks: Vec<&str> = log.iter().map(|(t, _, _)| t.as_str()).collect();
    tasks.sort_unstable();
    let want: Vec<String> = (0..n).map(|i| format!("t{i}")).collect();
    assert_eq!(
        tasks,
        want.iter().map(String::as_str).collect::<Vec<_>>(),
        "exactly one commit per task after {kills} kills"
    );
    assert_eq!(worktrees(&repo), 1, "{}", git(&repo, &["worktree", "list"]));
    // A task killed during its merge went on with the merge: it was not implemented again.
    for (task, attempt) in &killed_merging {
        let again = repo.path().join(format!(".planrun/logs/{task}.{}.implement.log", attempt + 1));
        assert!(!again.exists(), "{task} was implemented again after a kill during its merge");
    }
}

#[test]
fn manual_commits_pause_after_each_task_and_continue_goes_on() {
    let plan = "# P\n\n## Task a: Write a\n\nFiles: `a.txt`\n\n## Task b: Write b\n\nDepends on: `a`\nFiles: `b.txt`\n";
    let repo = committed(plan, WRITER, &[]);
    let out = repo.run(&["--commit", "manual", "--reviews", "none"]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    let all = text(&out);
    assert!(all.contains("paused: task a is done and waits for you") && all.contains("planrun continue"), "{all}");
    // Nothing was committed for the user; a's work is in the working tree.
    assert_eq!(repo.read("a.txt"), "a\n");
    assert!(!repo.path().join("b.txt").exists());
    assert_eq!(git(&repo, &["rev-list", "--count", "HEAD"]).trim(), "1");
    git(&repo, &["add", "a.txt"]);
    git(&repo, &["-c", "user.name=me", "-c", "user.email=me@example.invalid", "commit", "-qm", "my commit of a"]);
    let out = repo.cmd(&["continue"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("continuing: run plan.md"), "{}", text(&out));
    assert_eq!(repo.read("b.txt"), "b\n");
    let subjects = git(&repo, &["log", "--format=%s"]);
    assert_eq!(subjects, "my commit of a\nstart\n", "planrun made no commit of its own");
}

#[test]
fn a_batch_pauses_after_every_n_tasks() {
    let mut plan = String::from("# P\n\n");
    for t in ["a", "b", "c"] {
        plan.push_str(&format!("## Task {t}: Write {t}\n\nFiles: `{t}.txt`\n\n"));
    }
    let repo = committed(&plan, WRITER, &[]);
    let out = repo.run(&["--batch", "2", "-j", "1", "--reviews", "none"]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert!(text(&out).contains("paused: a batch of 2 tasks is done"), "{}", text(&out));
    let done = repo.states().iter().filter(|(_, s)| s == "done").count();
    assert_eq!(done, 2);
    let out = repo.cmd(&["continue"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(repo.states().iter().all(|(_, s)| s == "done"));
}

#[test]
fn the_reviewers_take_comes_first_and_without_reviews_the_tester_adds_tests_before_verify() {
    let plan = "# P\n\n## Task a: Write a\n\nFiles: `a.txt`, `a_test.txt`\n\n### Verify\n\n- `test -s a_test.txt`\n";
    let reviewer = r#"case "$PLANRUN_ROLE" in
  take) echo 'Keep the file to one line.' ;;
  test) echo 'checks a' > a_test.txt; echo '{"verdict": "pass", "findings": []}' ;;
  *) echo '{"verdict": "pass", "findings": []}' ;;
esac"#;
    let repo = committed(plan, "echo a > a.txt", &[("review.sh", reviewer)]);
    let out = repo.run(&[
        "--json",
        "--review-command",
        "./review.sh {prompt_file}",
        "--take",
        "--tester",
        "--reviews",
        "none",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let prompt = repo.read(".planrun/prompts/a.1.md");
    assert!(prompt.contains("A reviewer's constraints") && prompt.contains("Keep the file to one line."), "{prompt}");
    let branch = integration(&out);
    let log = commits(&repo, &branch);
    assert_eq!(log[0].2, ["a.txt", "a_test.txt"], "the tester's file is part of the task's commit");
    let ev = events(&out);
    let stages: Vec<&str> = ev
        .iter()
        .filter(|e| e["task"] == "a" && e["stage"].is_string())
        .map(|e| e["stage"].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["scope", "test", "verify", "commit", "merge"]);
}

/// Seed 001's "Reviewer and Tester run in parallel. Both must PASS": with reviews, the tester
/// (its own agent, `[roles.test]`) runs beside them; its tests are verified again; a tester
/// writing outside the task's files, or failing the work, sends it back. In a shared tree and
/// in worktrees.
#[test]
fn the_tester_runs_beside_the_reviewers_and_both_must_pass() {
    for mode in ["shared", "worktree"] {
        tester_beside_reviewers(mode);
    }
}

fn tester_beside_reviewers(mode: &str) {
    let plan = "# P\n\n## Task a: Write a\n\nFiles: `a.txt`, `a_test.txt`\n\n### Verify\n\n\
                - `if [ -e a_test.txt ]; then echo present; else echo absent; fi >> \"$(git rev-parse --git-common-dir)/verify-log\"`\n";
    // Each side notes when it starts and waits (up to 10 s) to see the other start too.
    let wait = r#"G=$(git rev-parse --git-common-dir); touch "$G/$1-started"; i=0
while [ ! -e "$G/$2-started" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
if [ -e "$G/$2-started" ]; then echo "$1 saw $2" >> "$G/together"; fi"#;
    let reviewer = format!("{wait}\necho '{{\"verdict\": \"pass\", \"findings\": []}}'\n");
    let tester = format!(
        r#"{wait}
case "$PLANRUN_ATTEMPT" in
  1) echo oops > stray.txt; echo '{{"verdict": "pass", "findings": []}}' ;;
  2) echo '{{"verdict": "fail", "findings": [{{"severity": "blocking", "file": "a.txt", "line": 1, "message": "a.txt must say b"}}]}}' ;;
  *) echo 'checks a' > a_test.txt; echo '{{"verdict": "pass", "findings": []}}' ;;
esac"#
    );
    let repo = committed(
        plan,
        r#"G=$(git rev-parse --git-common-dir); rm -f stray.txt "$G"/*-started; echo a > a.txt"#,
        &[
            ("review.sh", &format!("set -- review test\n{reviewer}")),
            ("tester.sh", &format!("set -- test review\n{tester}")),
            ("planrun.toml", "[roles.test]\ncommand = './tester.sh'\n"),
        ],
    );
    let out =
        repo.run(&["--json", "--workspace", mode, "--reviews", "code", "--review-command", "./review.sh", "--tester"]);
    assert_eq!(out.status.code(), Some(0), "{mode}: {}", text(&out));
    let ev = events(&out);
    let reworks: Vec<&str> =
        ev.iter().filter(|e| e["event"] == "rework" && e["task"] == "a").filter_map(|e| e["reason"].as_str()).collect();
    assert_eq!(reworks.len(), 2, "{mode}: {reworks:?}\n{}", text(&out));
    assert!(reworks[0].contains("outside the task's files changed during the review: stray.txt"), "{}", reworks[0]);
    assert!(reworks[1].contains("[test] a.txt:1: a.txt must say b"), "{}", reworks[1]);
    let together = repo.read(".git/together");
    for seen in ["review saw test", "test saw review"] {
        assert_eq!(together.matches(seen).count(), 3, "{mode}: the tester ran beside the reviewer: {together}");
    }
    // Verify ran before the review (no test yet) and again after the tester wrote one.
    let verified = repo.read(".git/verify-log");
    assert!(verified.ends_with("absent\npresent\n"), "{mode}: {verified}");
    let head = if mode == "worktree" { integration(&out) } else { "HEAD".to_owned() };
    let files = git(&repo, &["show", "--name-only", "--format=", &head]);
    assert_eq!(files, "a.txt\na_test.txt\n", "{mode}: the tester's test is in the task's commit");
    let stages: Vec<&str> = ev
        .iter()
        .filter(|e| e["task"] == "a" && e["stage"].is_string() && e["attempt"] == 3)
        .map(|e| e["stage"].as_str().unwrap())
        .collect();
    let expected: &[&str] = if mode == "worktree" {
        &["scope", "verify", "review", "commit", "merge"]
    } else {
        &["scope", "verify", "review", "commit"]
    };
    assert_eq!(stages, expected);
}

#[test]
fn a_reviewer_that_changes_files_fails_the_review() {
    let plan = "# P\n\n## Task a: Write a\n\nFiles: `a.txt`\n";
    // The code review "fixes" a.txt itself on the first attempt.
    let reviewer = r#"if grep -q 'the code review:' "$1" && [ "$PLANRUN_ATTEMPT" = 1 ]; then echo edited >> a.txt; fi
echo '{"verdict": "pass", "findings": []}'"#;
    let repo = committed(plan, "echo a > a.txt", &[("review.sh", reviewer)]);
    let out = repo.run(&["--json", "--review-command", "./review.sh {prompt_file}"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let why = reason(&events(&out), "rework", "a");
    assert!(why.contains("a reviewer changed files, which a review must not do: a.txt"), "{why}");
    let branch = integration(&out);
    assert_eq!(git(&repo, &["show", &format!("{branch}:a.txt")]), "a\n", "the second attempt rewrote it");
}

#[test]
fn pipeline_settings_that_cannot_work_are_usage_errors_before_anything_is_created() {
    let plan = "# P\n\n## Task a: Write a\n\nFiles: `a.txt`\n";
    // No commit yet: a worktree has nothing to start from.
    let fresh = Repo::new(plan, "echo a > a.txt");
    let out = fresh.run(&["--workspace", "worktree"]);
    assert_eq!(out.status.code(), Some(64), "{}", text(&out));
    assert!(
        text(&out).contains("needs a git repository with at least one commit") && text(&out).contains("git commit")
    );
    assert!(!fresh.path().join(".planrun").exists(), "nothing was created");
    let repo = committed(plan, "echo a > a.txt", &[]);
    for (args, words) in [
        (vec!["--tester"], "need a reviewer agent"),
        (vec!["--review-agent", "command"], "the review agent `command` needs a command"),
        (vec!["--review-command", "./missing-reviewer.sh"], "was not found"),
    ] {
        let out = repo.run(&args);
        assert_eq!(out.status.code(), Some(64), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(words), "{args:?}: {}", text(&out));
        assert!(!repo.path().join(".planrun").exists(), "{args:?}: nothing was created");
    }
    assert_eq!(git(&repo, &["branch", "--list", "planrun/*"]), "", "no integration branch was created");
}
