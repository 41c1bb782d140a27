//! Live status files, end to end: while `planrun run` goes on, the plan's own progress files
//! (planpipe's `execution-status.md`, CCW's `TODO_LIST.md` and task files, cm's
//! `cm-tasks.json`) show each task in progress, in review, in rework and blocked with their
//! reasons, within a second of the change, the way the seeds' loops keep them. The agents and
//! checks here are shell scripts that wait for what they must see in those files and keep a copy
//! of it; a wait that runs out leaves a `.missed` copy and fails the test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use serde_json::Value;
use support::{events, git, text};

/// A shell function `want FILE PATTERN NAME`: waits up to 10 s for an extended regular expression
/// in FILE, then copies FILE to `SEEN/NAME` (`SEEN/NAME.missed` when it never came).
fn want_fn(seen: &std::path::Path) -> String {
    format!(
        r#"want() {{
  i=0
  while [ $i -lt 100 ]; do
    if grep -Eq -- "$2" "$1" 2>/dev/null; then cp "$1" '{seen}'/"$3"; return 0; fi
    sleep 0.1; i=$((i+1))
  done
  cp "$1" '{seen}'/"$3.missed" 2>/dev/null || touch '{seen}'/"$3.missed"
  return 0
}}"#,
        seen = seen.display()
    )
}

/// What the scripts saw, by name; no wait ran out.
fn seen(dir: &std::path::Path, names: &[&str]) -> Vec<String> {
    let missed: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.ends_with(".missed"))
        .collect();
    let show = |n: &String| format!("{n}:\n{}", std::fs::read_to_string(dir.join(n)).unwrap_or_default());
    assert!(missed.is_empty(), "waits that ran out: {}", missed.iter().map(show).collect::<Vec<_>>().join("\n"));
    names
        .iter()
        .map(|n| std::fs::read_to_string(dir.join(n)).unwrap_or_else(|_| panic!("{n} was never seen")))
        .collect()
}

fn subtask(i: u32, verify: &str) -> String {
    format!(
        "# ST-{i}: Write file {i}\n\n**Wave:** 1\n\n## Change area\n- `out/st-{i}.txt`\n\n## Dependencies\nnone\n\n## Verification\n- `{verify}`\n"
    )
}

#[test]
fn planpipe_execution_status_follows_every_state_change() {
    let seen_dir = tempfile::tempdir().unwrap();
    let want = want_fn(seen_dir.path());
    let status = ".planpipe/demo/stage-6/execution-status.md";
    // ST-2's first attempt writes the wrong word; ST-3 never passes; ST-4 works beside ST-3 and
    // waits until ST-3 shows blocked.
    let agent = format!(
        r#"{want}
S={status}
mkdir -p out
case "$PLANRUN_TASK_ID:$PLANRUN_ATTEMPT" in
  ST-1:1) want "$S" '^\| ST-1 \| .* \| in_progress \| attempt 1 \|' st1-progress ;;
  ST-2:1) echo bad > out/st-2.txt; exit 0 ;;
  ST-2:2) want "$S" '^\| ST-2 \| .* \| rework \| attempt 2, rework: verify failed: .*grep -q ok out/st-2.txt' st2-rework ;;
  ST-4:1) want "$S" '^\| ST-3 \| .* \| blocked \| .*(failed|rejected|attempt)' st3-blocked ;;
esac
echo ok > "out/$(echo "$PLANRUN_TASK_ID" | tr A-Z a-z).txt"
"#
    );
    let review = format!(
        "{want}\nwant {status} '^\\| ST-1 \\| .* \\| in_review \\| attempt 1: checks and reviews running' st1-review\ngrep -q ok out/st-1.txt\n"
    );
    let mut files: Vec<(String, String)> = vec![("check-st1.sh".into(), review)];
    files.push((".planpipe/demo/stage-5/subtasks/st-1.md".into(), subtask(1, "./check-st1.sh")));
    for i in 2..=4 {
        let verify = if i == 3 { "test -f out/never".to_owned() } else { format!("grep -q ok out/st-{i}.txt") };
        files.push((format!(".planpipe/demo/stage-5/subtasks/st-{i}.md"), subtask(i, &verify)));
    }
    let extra: Vec<(&str, &str)> = files.iter().map(|(n, b)| (n.as_str(), b.as_str())).collect();
    let repo = support::committed("# unused\n", &agent, &extra);
    let out = repo
        .cmd(&[
            "run",
            ".planpipe/demo",
            "--agent-command",
            "./agent.sh",
            "--workspace",
            "shared",
            "-j",
            "2",
            "--max-rework",
            "1",
            "--reviews",
            "none",
            "--json",
        ])
        .output()
        .unwrap();
    // ST-3 is blocked: the run ends with blocked work (exit 3).
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let saw = seen(seen_dir.path(), &["st1-progress", "st1-review", "st2-rework", "st3-blocked"]);
    assert!(saw[2].contains("exited with code 1"), "the check's failure is in the rework note:\n{}", saw[2]);
    // The run's end: each row as it ended, the blocked one with its reason.
    let end = repo.read(status);
    for (id, word) in [("ST-1", "done"), ("ST-2", "done"), ("ST-3", "blocked"), ("ST-4", "done")] {
        assert!(
            end.lines().any(|l| l.starts_with(&format!("| {id} |")) && l.contains(&format!("| {word} |"))),
            "{id} {word}:\n{end}"
        );
    }
    // The status file is planrun's, not a task's: no scope complaint, and no task committed it.
    let ev = events(&out);
    assert!(
        !ev.iter().any(|e| e.to_string().contains("execution-status.md") && e["event"] != "finished"),
        "{}",
        text(&out)
    );
    let log = git(&repo, &["log", "--name-only", "--format=%s"]);
    assert!(!log.contains("execution-status.md"), "{log}");
    for id in ["st-1", "st-2", "st-4"] {
        assert!(log.contains(&format!("out/{id}.txt")), "{log}");
    }
    // A rerun reads the file planrun wrote: the done subtasks stay done, ST-3 is still to do.
    let check = repo.cmd(&["check", ".planpipe/demo", "--json"]).output().unwrap();
    let v: Value = serde_json::from_slice(&check.stdout).unwrap_or(Value::Null);
    let done: Vec<&str> = v["tasks"]
        .as_array()
        .map(|t| t.iter().filter(|t| t["status"] == "done").filter_map(|t| t["id"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(done, ["ST-1", "ST-2", "ST-4"], "{}", text(&check));
}

fn ccw_task(id: &str, title: &str, file: &str, verify: &str) -> String {
    serde_json::json!({
        "id": id,
        "title": title,
        "status": "pending",
        "depends_on": [],
        "meta": { "type": "feature", "agent": "@code-developer" },
        "focus_paths": [file],
        "convergence": { "criteria": [format!("{file} says ok")], "verification": verify }
    })
    .to_string()
}

#[test]
fn ccw_todo_list_and_task_files_follow_the_run_from_the_worktrees() {
    let seen_dir = tempfile::tempdir().unwrap();
    let want = want_fn(seen_dir.path());
    let session = ".workflow/active/WFS-demo";
    // The agents work in worktrees; the session's files they watch are the user's tree's.
    let agent = format!(
        r#"{want}
main=$(dirname "$(git rev-parse --path-format=absolute --git-common-dir)")
T="$main/{session}/TODO_LIST.md"
J="$main/{session}/.task"
mkdir -p out
case "$PLANRUN_TASK_ID:$PLANRUN_ATTEMPT" in
  IMPL-1:1) want "$T" '^- \[ \] \*\*IMPL-1\*\*.*$' todo-any
            want "$T" '^  - Status: in progress \(attempt 1\)$' impl1-progress
            want "$J/IMPL-1.json" '"status": *"active"' impl1-json
            echo bad > out/a.txt; exit 0 ;;
  IMPL-1:2) want "$T" '^  - Status: in progress \(attempt 2\); error: verify failed: .*grep -q ok out/a.txt' impl1-rework ;;
  IMPL-3:1) want "$T" '^  - Status: blocked: ' impl2-blocked
            want "$J/IMPL-2.json" '"status": *"blocked"' impl2-json ;;
esac
case "$PLANRUN_TASK_ID" in IMPL-1) f=a ;; IMPL-2) f=b ;; *) f=c ;; esac
echo ok > "out/$f.txt"
"#
    );
    let todo = "# Tasks: Demo\n\n## Task Progress\n- [ ] **IMPL-1**: First → [📋](./.task/IMPL-1.json)\n- [ ] **IMPL-2**: Second → [📋](./.task/IMPL-2.json)\n- [ ] **IMPL-3**: Third → [📋](./.task/IMPL-3.json)\n\n## Status Legend\n- `- [ ]` = Pending leaf task\n- `- [x]` = Completed leaf task\n";
    let files = [
        (format!("{session}/workflow-session.json"), r#"{"session_id": "WFS-demo", "status": "active"}"#.to_owned()),
        (format!("{session}/IMPL_PLAN.md"), "# Implementation plan: Demo\n".to_owned()),
        (format!("{session}/TODO_LIST.md"), todo.to_owned()),
        (format!("{session}/.task/IMPL-1.json"), ccw_task("IMPL-1", "First", "out/a.txt", "grep -q ok out/a.txt")),
        (format!("{session}/.task/IMPL-2.json"), ccw_task("IMPL-2", "Second", "out/b.txt", "test -f out/never")),
        (format!("{session}/.task/IMPL-3.json"), ccw_task("IMPL-3", "Third", "out/c.txt", "grep -q ok out/c.txt")),
    ];
    let extra: Vec<(&str, &str)> = files.iter().map(|(n, b)| (n.as_str(), b.as_str())).collect();
    let repo = support::committed("# unused\n", &agent, &extra);
    let out = repo
        .cmd(&[
            "run",
            session,
            "--agent-command",
            "./agent.sh",
            "--workspace",
            "worktree",
            "-j",
            "2",
            "--max-rework",
            "1",
            "--reviews",
            "none",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let saw = seen(
        seen_dir.path(),
        &["todo-any", "impl1-progress", "impl1-json", "impl1-rework", "impl2-blocked", "impl2-json"],
    );
    assert!(saw[3].contains("exited with code 1"), "{}", saw[3]);
    let end = repo.read(&format!("{session}/TODO_LIST.md"));
    assert!(end.contains("- [x] **IMPL-1**: First → [📋](./.task/IMPL-1.json)\n  - Status: completed\n"), "{end}");
    assert!(
        end.contains("- [ ] **IMPL-2**: Second → [📋](./.task/IMPL-2.json)\n  - Status: blocked: failed 2 times"),
        "{end}"
    );
    assert!(end.contains("- [x] **IMPL-3**: Third → [📋](./.task/IMPL-3.json)\n"), "{end}");
    let json = |id: &str| -> Value { serde_json::from_str(&repo.read(&format!("{session}/.task/{id}.json"))).unwrap() };
    assert_eq!(json("IMPL-1")["status"], "completed");
    assert_eq!(json("IMPL-2")["status"], "blocked");
    assert!(repo.read(&format!("{session}/.summaries/IMPL-1-summary.md")).contains("Status: completed"));
    // Read again, the session has the same tasks, two of them done.
    let check = repo.cmd(&["check", session, "--json"]).output().unwrap();
    let v: Value = serde_json::from_slice(&check.stdout).unwrap_or(Value::Null);
    let states: Vec<(&str, &str)> = v["tasks"]
        .as_array()
        .map(|t| t.iter().map(|t| (t["id"].as_str().unwrap(), t["status"].as_str().unwrap())).collect())
        .unwrap_or_default();
    assert_eq!(states, [("IMPL-1", "done"), ("IMPL-2", "pending"), ("IMPL-3", "done")], "{}", text(&check));
}

#[test]
fn cm_tasks_json_keeps_the_rarv_protocol_as_the_run_goes() {
    let seen_dir = tempfile::tempdir().unwrap();
    let want = want_fn(seen_dir.path());
    let agent = format!(
        r#"{want}
mkdir -p out
case "$PLANRUN_TASK_ID:$PLANRUN_ATTEMPT" in
  a:1) want cm-tasks.json '"status": *"in_progress"' a-progress
       echo bad > out/a.txt; exit 0 ;;
  a:2) want cm-tasks.json '"rarv_cycles": *1' a-rework ;;
esac
echo ok > "out/$PLANRUN_TASK_ID.txt"
"#
    );
    let backlog = serde_json::json!({
        "project": "demo",
        "updated": "2025-01-01T00:00:00Z",
        "stats": { "total": 2, "done": 0, "in_progress": 0, "blocked": 0, "backlog": 2, "rarv_cycles_total": 0 },
        "tasks": [
            { "id": "a", "title": "Write a", "description": "out/a.txt says ok", "status": "backlog", "priority": "high",
              "files": ["out/a.txt"], "verify": "grep -q ok out/a.txt", "rarv_cycles": 0,
              "logs": [{ "phase": "REASON", "message": "planned by hand" }] },
            { "id": "b", "title": "Write b", "description": "out/b.txt says ok", "status": "backlog", "priority": "low",
              "files": ["out/b.txt"], "verify": "grep -q ok out/b.txt", "rarv_cycles": 0, "logs": [] }
        ]
    });
    let repo = support::Repo::new("# unused\n", &agent);
    repo.write("cm-tasks.json", &serde_json::to_string_pretty(&backlog).unwrap());
    let check = repo.cmd(&["check", "cm-tasks.json", "--json"]).output().unwrap();
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
    let out = repo
        .cmd(&["run", "cm-tasks.json", "--agent-command", "./agent.sh", "-j", "1", "--reviews", "none", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let saw = seen(seen_dir.path(), &["a-progress", "a-rework"]);
    let during: Value = serde_json::from_str(&saw[0]).unwrap();
    assert_eq!(during["tasks"][0]["status"], "in_progress");
    assert_eq!(during["tasks"][0]["logs"][1]["phase"], "REASON", "{during}");
    assert_eq!(during["stats"]["in_progress"], 1, "{during}");
    assert_ne!(during["updated"], "2025-01-01T00:00:00Z");
    let rework: Value = serde_json::from_str(&saw[1]).unwrap();
    assert_eq!(rework["tasks"][0]["status"], "in_progress");
    let last = rework["tasks"][0]["logs"].as_array().unwrap().last().cloned().unwrap();
    assert!(last["message"].as_str().unwrap().starts_with("Selected: Write a (attempt 2)"), "{rework}");
    assert!(rework["tasks"][0]["logs"].to_string().contains("❌ verify"), "{rework}");
    let end: Value = serde_json::from_str(&repo.read("cm-tasks.json")).unwrap();
    let a = &end["tasks"][0];
    assert_eq!(a["status"], "done");
    assert_eq!(a["rarv_cycles"], 1);
    assert!(a["completed_at"].as_str().is_some_and(|t| t.ends_with('Z')), "{a}");
    let logs: Vec<String> =
        a["logs"].as_array().unwrap().iter().map(|l| format!("{} {}", l["phase"], l["message"])).collect();
    assert_eq!(logs[0], "\"REASON\" \"planned by hand\"", "the log's own entries stay first: {logs:?}");
    assert!(logs.iter().any(|l| l.starts_with("\"VERIFY\" \"✅ verify passed")), "{logs:?}");
    assert_eq!(end["tasks"][1]["status"], "done");
    assert_eq!(
        end["stats"],
        serde_json::json!({ "total": 2, "done": 2, "in_progress": 0, "blocked": 0, "backlog": 0, "rarv_cycles_total": 1 })
    );
}

const BLUEPRINT: &str = "# Plan: Notes\n\n## Steps\n\n### Step 1: First note\n\n**Files:** `notes/one.md`\n\n#### Phase 1: Build\n\nWrite notes/one.md.\n\n#### Phase 3: Verification\n\n- [ ] `grep -q ok notes/one.md`\n\n### Step 2: Second note\n\n**Depends on:** Step 1\n**Files:** `notes/two.md`\n\n#### Phase 1: Build\n\nWrite notes/two.md.\n\n#### Phase 3: Verification\n\n- [ ] `grep -q ok notes/two.md`\n";

/// The plan as a commit holds it.
fn plan_at(repo: &support::Repo, rev: &str) -> String {
    git(repo, &["show", &format!("{rev}:PLAN.md")])
}

#[test]
fn a_blueprint_steps_marks_go_into_its_own_commit() {
    for mode in ["shared", "worktree"] {
        let agent =
            "mkdir -p notes\ncase \"$PLANRUN_TASK_ID\" in *1) f=one ;; *) f=two ;; esac\necho ok > notes/$f.md\n";
        let repo = support::committed("# unused\n", agent, &[("PLAN.md", BLUEPRINT)]);
        let out = repo
            .cmd(&[
                "run",
                "PLAN.md",
                "--agent-command",
                "./agent.sh",
                "--workspace",
                mode,
                "--reviews",
                "none",
                "--json",
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{mode}: {}", text(&out));
        assert!(text(&out).contains("go into its own commit"), "{mode}: the run says so: {}", text(&out));
        // The branch the steps' commits are on: yours in a shared tree, the run's otherwise.
        let finished = events(&out).pop().unwrap();
        let branch = finished["integration"].as_str().map_or_else(|| "HEAD".to_owned(), str::to_owned);
        let first = plan_at(&repo, &format!("{branch}~1"));
        let second = plan_at(&repo, &branch);
        assert!(
            first.contains("### ✅ Step 1: First note") && first.contains("- [x] `grep -q ok notes/one.md`"),
            "{mode}:\n{first}"
        );
        assert!(
            first.contains("### Step 2: Second note") && first.contains("- [ ] `grep -q ok notes/two.md`"),
            "{mode}:\n{first}"
        );
        assert!(
            second.contains("### ✅ Step 2: Second note") && second.contains("- [x] `grep -q ok notes/two.md`"),
            "{mode}:\n{second}"
        );
        let files = |rev: &str| git(&repo, &["show", "--name-only", "--format=", rev]);
        assert_eq!(files(&format!("{branch}~1")).lines().collect::<Vec<_>>(), ["PLAN.md", "notes/one.md"], "{mode}");
        assert_eq!(files(&branch).lines().collect::<Vec<_>>(), ["PLAN.md", "notes/two.md"], "{mode}");
        // Your copy of the plan: committed with the steps in a shared tree (nothing left over),
        // untouched in worktree mode (the marks arrive with the branch).
        let dirty = git(&repo, &["status", "--porcelain", "--", "PLAN.md"]);
        assert_eq!(dirty, "", "{mode}");
        if mode == "worktree" {
            assert_eq!(repo.read("PLAN.md"), BLUEPRINT);
        }
    }
}

#[test]
fn a_plan_you_are_editing_is_not_swept_into_a_steps_commit() {
    let agent = "mkdir -p notes\ncase \"$PLANRUN_TASK_ID\" in *1) f=one ;; *) f=two ;; esac\necho ok > notes/$f.md\n";
    let repo = support::committed("# unused\n", agent, &[("PLAN.md", BLUEPRINT)]);
    // An edit of yours, not committed.
    let edited = BLUEPRINT.replace("Write notes/two.md.", "Write notes/two.md, in French.");
    repo.write("PLAN.md", &edited);
    let out = repo
        .cmd(&[
            "run",
            "PLAN.md",
            "--agent-command",
            "./agent.sh",
            "--workspace",
            "shared",
            "--reviews",
            "none",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let log = git(&repo, &["log", "--name-only", "--format=%s"]);
    assert_eq!(log.lines().filter(|l| *l == "PLAN.md").count(), 1, "only the first commit has the plan: {log}");
    assert!(
        !git(&repo, &["show", "HEAD~1", "--", "PLAN.md"]).contains("in French"),
        "your edit is not in a step's commit"
    );
    assert!(!git(&repo, &["show", "HEAD", "--", "PLAN.md"]).contains("in French"));
    // It is still in your tree, with the run's marks beside it.
    let now = repo.read("PLAN.md");
    assert!(now.contains("in French") && now.contains("### ✅ Step 2: Second note"), "{now}");
}
