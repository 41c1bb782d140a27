//! The seeds' execution behaviours with the real Claude Code CLI in every role, against the
//! scripted model server: the reviewer's take, the implementer's plan before its code, the
//! tester beside the code review, and stop-and-ask (`--on-fail ask`): a blocking finding pauses
//! the run with its file:line, `planrun retry --note` sends the user's words to the next
//! attempt, which passes. A missing CLI fails the test with what to run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use planrun_testkit::ModelServer;
use serde_json::json;
use std::process::Output;
use support::clis::{point_at, turn, write};
use support::{events, text};

const PLAN: &str = "# Letters\n\n## Task a: Write alpha\n\nFiles: `a.txt`, `a_test.sh`\n\n\
                    Create a.txt holding the word alpha (MARK-A).\n\n### Verify\n\n- `grep -q alpha a.txt`\n";

/// Claude Code as a reviewer or tester is held to the verdict's schema: it gives its verdict as
/// the input of its `StructuredOutput` tool.
fn verdict(verdict: &str, findings: serde_json::Value) -> serde_json::Value {
    json!({"kind": "tool_use", "name": "StructuredOutput", "input": {"verdict": verdict, "findings": findings}})
}

/// `planrun run plan.md` with Claude Code implementing and reviewing, then `extra`.
fn claude_everywhere(extra: &[&'static str]) -> Vec<&'static str> {
    let mut args = vec![
        "run",
        "plan.md",
        "--agent",
        "claude",
        "--model",
        "claude-sonnet-4-5",
        "--review-agent",
        "claude",
        "--review-model",
        "claude-sonnet-4-5",
        "--reviews",
        "code",
        "--json",
        "--grace",
        "1s",
        "--yes",
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn take_plan_tester_and_stop_and_ask_with_claude_code() {
    let repo = support::committed(PLAN, "exit 1", &[]);
    let worktrees = repo.path().canonicalize().unwrap().join(".planrun/worktrees");
    let home = tempfile::tempdir().unwrap();
    let blocking = "the TODO line must go (FINDING-TODO)";
    // A request takes the first unused turn whose text it holds; every prompt of task a holds
    // MARK-A, so each role's own words come first.
    let turns = vec![
        turn("Hand the implementer its constraints", json!({"kind": "text", "text": "TAKE-1: one line in a.txt."})),
        turn("write your plan", json!({"kind": "text", "text": "PLAN-1: write alpha into a.txt."})),
        // Attempt 1: alpha and a stray TODO line.
        turn("MARK-A", write(&worktrees, "a", "a.txt", "alpha\nTODO\n")),
        turn("tool_result", json!({"kind": "text", "text": "Wrote a.txt."})),
        // The tester and the code review, side by side.
        turn("You are testing one task", write(&worktrees, "a", "a_test.sh", "grep -qx alpha a.txt\n")),
        turn("tool_result", verdict("pass", json!([]))),
        turn(
            "the code review:",
            verdict(
                "changes_requested",
                json!([{"severity": "blocking", "file": "a.txt", "line": 2, "message": blocking}]),
            ),
        ),
        // Attempt 2, with the user's note, on attempt 1's work (Claude Code reads a file it
        // did not write in this session before it writes it).
        turn(
            "NOTE-1",
            json!({"kind": "tool_use", "name": "Read", "input": {"file_path": worktrees.join("a/a.txt").display().to_string()}}),
        ),
        turn("tool_result", write(&worktrees, "a", "a.txt", "alpha\n")),
        turn("tool_result", json!({"kind": "text", "text": "Removed the TODO line."})),
        turn("You are testing one task", verdict("pass", json!([]))),
        turn("the code review:", verdict("pass", json!([]))),
    ];
    let scenario = json!({"turns": turns, "fallback": {"kind": "text", "text": "ok"}});
    let server = ModelServer::start(ModelServer::scenario(&scenario.to_string()).unwrap()).unwrap();
    let run = |args: &[&str]| -> Output {
        let mut cmd = repo.cmd(args);
        point_at(&mut cmd, home.path(), &server.url());
        cmd.output().unwrap()
    };
    let flags = claude_everywhere(&["--take", "--tester", "--on-fail", "ask"]);
    let out = run(&flags);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    let paused = events(&out).into_iter().find(|e| e["event"] == "pausing").unwrap_or_else(|| panic!("{}", text(&out)));
    let why = paused["reason"].as_str().unwrap();
    assert!(why.contains("[code-review] a.txt:2:") && why.contains("FINDING-TODO"), "{why}");
    // The implementer planned with the take, and coded with both.
    let plan_prompt = repo.read(".planrun/prompts/a.1.plan.md");
    assert!(plan_prompt.contains("TAKE-1: one line in a.txt."), "{plan_prompt}");
    let coder = repo.read(".planrun/prompts/a.1.md");
    assert!(coder.contains("TAKE-1") && coder.contains("PLAN-1: write alpha into a.txt."), "{coder}");
    assert_eq!(repo.read(".planrun/plans/a.md").trim(), "PLAN-1: write alpha into a.txt.");
    // The tester ran beside the review, as Claude Code with its own prompt.
    assert!(repo.read(".planrun/logs/a.1.test.log").contains("a_test.sh"), "the tester wrote its test");

    let retry = run(&["retry", "a", "--note", "drop the TODO line (NOTE-1)"]);
    assert_eq!(retry.status.code(), Some(0), "{}", text(&retry));
    let out = run(&flags);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(server.unused_turns().is_empty(), "unused turns: {:?}\n{}", server.unused_turns(), text(&out));
    let second = repo.read(".planrun/prompts/a.2.md");
    assert!(second.contains("Instructions from the user") && second.contains("NOTE-1"), "{second}");
    assert!(second.contains("PLAN-1"), "the kept plan: {second}");
    let fin = events(&out).into_iter().find(|e| e["event"] == "finished").unwrap();
    let branch = fin["integration"].as_str().unwrap().to_owned();
    assert_eq!(support::git(&repo, &["show", &format!("{branch}:a.txt")]), "alpha\n");
    // The note reworked the attempt's work: the tester's test from attempt 1 is in the commit.
    assert_eq!(support::git(&repo, &["show", &format!("{branch}:a_test.sh")]), "grep -qx alpha a.txt\n");
}

/// A CCW task's pre-analysis output and its dependency's summary reach the real Claude Code's
/// model request: the scripted model answers the implement request only when it holds both.
#[test]
fn ccw_context_reaches_claude_code() {
    let session = ".workflow/active/WFS-demo";
    let task = json!({
        "id": "IMPL-2", "title": "Write alpha", "status": "pending", "depends_on": ["IMPL-1"],
        "meta": {"type": "feature", "agent": "@code-developer"},
        "focus_paths": ["a.txt"],
        "convergence": {"criteria": ["a.txt says alpha"], "verification": "grep -qx alpha a.txt"},
        "flow_control": {"pre_analysis": [
            {"step": "read_spec", "commands": ["Read(docs/spec.md)"], "output_to": "spec", "on_error": "fail"}
        ]}
    });
    let done = json!({"id": "IMPL-1", "title": "Spec", "status": "completed", "focus_paths": ["docs/spec.md"]});
    let todo = "# Tasks\n\n- [x] **IMPL-1**: Spec → [📋](./.task/IMPL-1.json)\n- [ ] **IMPL-2**: Write alpha → [📋](./.task/IMPL-2.json)\n";
    let files = [
        (format!("{session}/workflow-session.json"), r#"{"session_id": "WFS-demo"}"#.to_owned()),
        (format!("{session}/TODO_LIST.md"), todo.to_owned()),
        (format!("{session}/.task/IMPL-1.json"), done.to_string()),
        (format!("{session}/.task/IMPL-2.json"), task.to_string()),
        (format!("{session}/.summaries/IMPL-1-summary.md"), "IMPL-1 chose the word alpha (SUMMARY-7).\n".to_owned()),
        ("docs/spec.md".to_owned(), "The file holds one word (SPEC-42).\n".to_owned()),
    ];
    let extra: Vec<(&str, &str)> = files.iter().map(|(n, b)| (n.as_str(), b.as_str())).collect();
    let repo = support::committed("# unused\n", "exit 1", &extra);
    let worktrees = repo.path().canonicalize().unwrap().join(".planrun/worktrees");
    let home = tempfile::tempdir().unwrap();
    let scenario = json!({
        "turns": [
            {"when": "SPEC-42", "reply": write(&worktrees, "IMPL-2", "a.txt", "alpha\n"), "usage": {"input_tokens": 100, "output_tokens": 20}},
            {"when": "tool_result", "reply": {"kind": "text", "text": "Wrote a.txt."}, "usage": {"input_tokens": 100, "output_tokens": 20}}
        ],
        "fallback": {"kind": "text", "text": "ok"}
    });
    let server = ModelServer::start(ModelServer::scenario(&scenario.to_string()).unwrap()).unwrap();
    let mut cmd = repo.cmd(&[
        "run",
        session,
        "--agent",
        "claude",
        "--model",
        "claude-sonnet-4-5",
        "--reviews",
        "none",
        "--json",
        "--grace",
        "1s",
        "--yes",
    ]);
    point_at(&mut cmd, home.path(), &server.url());
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(server.unused_turns().is_empty(), "unused turns: {:?}\n{}", server.unused_turns(), text(&out));
    // The model's first request held the pre-analysis output and the dependency's summary.
    let first = server.requests().into_iter().find(|r| r.path.starts_with("/v1/messages")).unwrap();
    let body = first.body.to_string();
    assert!(body.contains("SPEC-42") && body.contains("SUMMARY-7") && body.contains("[spec]"), "{body}");
    assert!(body.contains("senior software engineer"), "@code-developer is the engineer");
    let summary = repo.read(&format!("{session}/.summaries/IMPL-2-summary.md"));
    assert!(summary.contains("`a.txt`") && summary.contains("1 of 1 passed"), "{summary}");
}

/// `--pipeline` with the real Claude Code: b plans while a's code is in review (a's reviewer
/// is held until b's planning request reaches the model), then codes with its plan once a passed.
#[test]
fn a_dependent_plans_ahead_with_claude_code() {
    let plan = "# Letters\n\n## Task a: Write alpha\n\nFiles: `a.txt`\n\nCreate a.txt holding alpha (MARK-A).\n\n\
                ## Task b: Write beta\n\nDepends on: `a`\nFiles: `b.txt`\n\nCreate b.txt holding beta (MARK-B).\n";
    let repo = support::committed(plan, "exit 1", &[]);
    let worktrees = repo.path().canonicalize().unwrap().join(".planrun/worktrees");
    let home = tempfile::tempdir().unwrap();
    let mut held_review = turn("the code review:", verdict("pass", json!([])));
    held_review["hold_until"] = json!("MARK-B");
    held_review["hold_ms"] = json!(30_000);
    let turns = vec![
        // b's planning request (the first to hold MARK-B); listed first so a's requests skip it.
        turn("MARK-B", json!({"kind": "text", "text": "PLAN-B: one line, beta."})),
        turn("write your plan", json!({"kind": "text", "text": "PLAN-A: one line, alpha."})),
        turn("MARK-A", write(&worktrees, "a", "a.txt", "alpha\n")),
        turn("tool_result", json!({"kind": "text", "text": "Wrote a.txt."})),
        held_review,
        turn("PLAN-B", write(&worktrees, "b", "b.txt", "beta\n")),
        turn("tool_result", json!({"kind": "text", "text": "Wrote b.txt."})),
        turn("the code review:", verdict("pass", json!([]))),
    ];
    let scenario = json!({"turns": turns, "fallback": {"kind": "text", "text": "ok"}});
    let server = ModelServer::start(ModelServer::scenario(&scenario.to_string()).unwrap()).unwrap();
    let mut cmd = repo.cmd(&claude_everywhere(&["--pipeline", "-j", "2"]));
    point_at(&mut cmd, home.path(), &server.url());
    let started = std::time::Instant::now();
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(started.elapsed().as_secs() < 25, "a's review was released by b's planning, not by its time limit");
    assert!(server.unused_turns().is_empty(), "unused turns: {:?}\n{}", server.unused_turns(), text(&out));
    let ev = events(&out);
    let at = |event: &str, task: &str| ev.iter().position(|e| e["event"] == event && e["task"] == task).unwrap();
    assert!(at("planning", "b") < at("done", "a") && at("done", "a") < at("start", "b"), "{}", text(&out));
    assert!(repo.read(".planrun/prompts/b.1.md").contains("PLAN-B: one line, beta."));
    assert!(!worktrees.join("_plan-b").exists());
}
