//! `planrun estimate` and the estimate `planrun run` shows before any agent starts: printed
//! without creating anything, required to be agreed to (`--yes`) without a terminal when an
//! agent CLI will run, and made from the repository's own history once runs exist.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use serde_json::Value;
use support::{Repo, committed, events, text};

const PLAN: &str = "# Two files

## Task a: Write a

Files: `a.txt`

Write a.txt.

### Verify

- `test -f a.txt`

## Task b: Write b

Depends on: `a`
Files: `b.txt`

Write b.txt next to a.txt.

### Verify

- `test -f b.txt`
";

/// The agent: writes its task's file.
const AGENT: &str = "echo ok > \"$PLANRUN_TASK_ID.txt\"";

/// A stand-in `claude`: writes its task's file and reports a session, a model without a price,
/// tokens and a cost, as Claude Code's `result` event does.
const FAKE_CLAUDE: &str = r#"#!/bin/sh
echo ok > "$PLANRUN_TASK_ID.txt"
echo '{"type":"system","subtype":"init","session_id":"s-1","model":"claude-fake"}'
echo '{"type":"result","subtype":"success","is_error":false,"result":"done","session_id":"s-1","total_cost_usd":0.25,"usage":{"input_tokens":10,"output_tokens":2,"cache_read_input_tokens":1000,"cache_creation_input_tokens":100}}'
"#;

fn json(out: &std::process::Output) -> Value {
    assert_eq!(out.status.code(), Some(0), "{}", text(out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(out)))
}

/// A repository with the plan, the agent script and a `claude` stand-in in `bin/`; the PATH
/// that finds it.
fn new_repo() -> (Repo, String) {
    let repo = Repo::new(PLAN, AGENT);
    repo.write("bin/claude", FAKE_CLAUDE);
    std::fs::set_permissions(repo.path().join("bin/claude"), std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .unwrap();
    let path = format!("{}:{}", repo.path().join("bin").display(), std::env::var("PATH").unwrap());
    (repo, path)
}

#[test]
fn estimate_prints_the_estimate_and_creates_nothing() {
    let (repo, _) = new_repo();
    let out = repo.cmd(&["estimate", "plan.md", "--agent-command", "./agent.sh", "--json"]).output().unwrap();
    let e = json(&out);
    assert_eq!(e["tasks"], 2);
    assert_eq!(e["jobs"], 2);
    assert_eq!(e["source"], "defaults");
    assert_eq!(e["stages"][0], "implement");
    assert!(e["stages"].as_array().unwrap().contains(&"verify".into()), "{e}");
    assert_eq!(e["verify_tasks"], 2);
    // A command agent reports no tokens and costs nothing known.
    assert_eq!(e["tokens"], Value::Null);
    assert_eq!(e["tokens_unknown"][0], "implement (command)");
    assert_eq!(e["cost_usd"], Value::Null);
    // Nor does anything say how long a command takes before it has run here.
    assert_eq!((&e["wall_ms"], &e["wall_ms_range"]), (&Value::Null, &Value::Null), "{e}");
    assert_eq!(e["time_unknown"][0], "implement (command)");
    assert_eq!(e["per_task"].as_array().unwrap().len(), 2);
    assert!(!repo.path().join(".planrun").exists(), "planrun estimate created the state directory");

    let out = repo.cmd(&["estimate", "plan.md", "--agent-command", "./agent.sh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.starts_with("estimate: 2 task(s), 2 at a time"), "{shown}");
    assert!(shown.contains("implement → scope → verify → commit\n"), "{shown}");
    assert!(shown.contains("tokens  unknown: implement (command)"), "{shown}");
    assert!(shown.contains("time    unknown: implement (command)"), "{shown}");
    assert!(shown.contains("from    defaults"), "{shown}");
    assert!(!repo.path().join(".planrun").exists());
}

#[test]
fn after_a_run_the_estimate_comes_from_the_history() {
    let (repo, _) = new_repo();
    let out = repo.run(&["--reviews", "none"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let history = repo.read(".planrun/history.jsonl");
    assert_eq!(history.lines().count(), 1, "{history}");
    let line: Value = serde_json::from_str(history.trim()).unwrap();
    assert_eq!(line["tasks"], 2);
    let implement = line["roles"].as_array().unwrap().iter().find(|r| r["role"] == "implement").unwrap();
    assert_eq!((implement["agent"].as_str(), implement["steps"].as_u64()), (Some("command"), Some(2)));

    // What is left of the run: nothing, from the history.
    let args = ["estimate", "plan.md", "--agent-command", "./agent.sh", "--reviews", "none", "--json"];
    let e = json(&repo.cmd(&args).output().unwrap());
    assert_eq!((e["tasks"].as_u64(), e["source"].as_str()), (Some(0), Some("history")), "{e}");

    // The same plan in another repository holding this history: every figure from it, and
    // the agent script takes far less than the default five minutes a step.
    let (other, _) = new_repo();
    other.write(".planrun/history.jsonl", &history);
    let e = json(&other.cmd(&args).output().unwrap());
    assert_eq!(
        (e["tasks"].as_u64(), e["source"].as_str(), e["history_runs"].as_u64()),
        (Some(2), Some("history"), Some(1))
    );
    assert_eq!(e["attempts"], 1.0);
    assert!(e["wall_ms"].as_u64().unwrap() < 60_000, "{e}");
    let out = other.cmd(&args[..args.len() - 1]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("from    this repository's history of 1 run,"),
        "{}",
        text(&out)
    );
}

#[test]
fn an_agent_cli_needs_yes_without_a_terminal() {
    let (repo, path) = new_repo();
    let out =
        repo.cmd(&["run", "plan.md", "--agent", "claude", "--reviews", "none"]).env("PATH", &path).output().unwrap();
    assert_eq!(out.status.code(), Some(64), "{}", text(&out));
    let all = text(&out);
    assert!(all.contains("estimate: 2 task(s)"), "{all}");
    assert!(all.contains("--yes"), "{all}");
    assert!(!repo.path().join(".planrun").exists(), "a refused run created the state directory");
    assert!(!repo.path().join("a.txt").exists());

    let out = repo
        .cmd(&["run", "plan.md", "--agent", "claude", "--reviews", "none", "--yes"])
        .env("PATH", &path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(repo.read("b.txt"), "ok\n");

    // The next estimate of the same plan uses what claude reported: its model, its tokens, and
    // its own dollars (the model has no price of planrun's).
    let (other, _) = new_repo();
    other.write(".planrun/history.jsonl", &repo.read(".planrun/history.jsonl"));
    let out = other
        .cmd(&["estimate", "plan.md", "--agent", "claude", "--reviews", "none", "--json"])
        .env("PATH", &path)
        .output()
        .unwrap();
    let e = json(&out);
    assert_eq!(e["source"], "history", "{e}");
    // (Each task's figures are scaled by its size against the two tasks' mean: b's text is a
    // little longer than a's, so within a percent.)
    let near = |v: &Value, want: f64| (v.as_f64().unwrap() - want).abs() <= want / 100.0;
    assert!(near(&e["tokens"]["total"], 2.0 * 1_112.0), "{e}");
    assert!(near(&e["tokens"]["cache_read"], 2.0 * 1_000.0), "{e}");
    assert!(near(&e["cost_usd"], 0.5), "{e}");
    // One run: a range of ±25% around it.
    assert!(near(&e["tokens"]["low"], 0.75 * 2_224.0) && near(&e["tokens"]["high"], 1.25 * 2_224.0), "{e}");
    assert!(near(&e["cost_usd_range"][0], 0.375) && near(&e["cost_usd_range"][1], 0.625), "{e}");
    let implement = &e["per_role"].as_array().unwrap().iter().find(|r| r["role"] == "implement").unwrap().clone();
    assert_eq!(implement["model"], "claude-fake");
}

/// The second plan run in the repository of `a_command_agents_time_is_unknown_until_a_run_here_measured_it`.
const SECOND: &str = "# Next

## Task c: Write c

Files: `c.txt`

Write c.txt.
";

fn estimate_event(out: &std::process::Output) -> Value {
    assert_eq!(out.status.code(), Some(0), "{}", text(out));
    events(out).into_iter().find(|e| e["event"] == "estimate").unwrap_or_else(|| panic!("no estimate: {}", text(out)))
}

#[test]
fn a_command_agents_time_is_unknown_until_a_run_here_measured_it() {
    let repo = committed(PLAN, "sleep 0.2; echo ok > \"$PLANRUN_TASK_ID.txt\"", &[("second.md", SECOND)]);
    // The first run: nothing says how long the script takes.
    let first = estimate_event(&repo.run(&["--reviews", "none", "--json"]));
    assert_eq!((first["source"].as_str(), first["tasks"].as_u64()), (Some("defaults"), Some(2)), "{first}");
    assert_eq!((&first["wall_ms"], &first["wall_ms_range"]), (&Value::Null, &Value::Null), "{first}");
    assert_eq!(first["time_unknown"], serde_json::json!(["implement (command)"]), "{first}");

    // The report says so beside what was used, never "~0".
    let out = repo.cmd(&["report"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report = String::from_utf8_lossy(&out.stdout);
    let line = report.lines().find(|l| l.starts_with("estimate: ")).unwrap_or_else(|| panic!("{report}"));
    assert_eq!(
        line,
        "estimate: tokens unknown, cost unknown, time unknown for 2 task(s) (defaults); no agent reported usage"
    );
    assert!(!report.contains("~0"), "{report}");
    let out = repo.cmd(&["report", "--json"]).output().unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((&r["estimate"]["tokens"], &r["estimate"]["wall_ms"]), (&Value::Null, &Value::Null), "{r}");

    // The next plan's run: the script's time from the first run, as a range around it.
    let out = repo.cmd(&["run", "second.md", "--agent-command", "./agent.sh", "--reviews", "none", "--json"]).output();
    let second = estimate_event(&out.unwrap());
    assert_eq!((second["source"].as_str(), second["history_runs"].as_u64()), (Some("history"), Some(1)), "{second}");
    assert_eq!(second["time_unknown"], serde_json::json!([]), "{second}");
    let (lo, mid, hi) = (
        second["wall_ms_range"][0].as_u64().unwrap(),
        second["wall_ms"].as_u64().unwrap(),
        second["wall_ms_range"][1].as_u64().unwrap(),
    );
    // The script sleeps 0.2 s; the step takes that and planrun's own stages.
    assert!(lo < mid && mid < hi && hi < 30_000, "{second}");
    assert!(mid >= 150, "{second}");
    assert!(second["basis"].as_str().unwrap().starts_with("this repository's history of 1 run"), "{second}");
    let out = repo.cmd(&["report"]).output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    let line = report.lines().find(|l| l.starts_with("estimate: ")).unwrap_or_else(|| panic!("{report}"));
    assert!(line.starts_with("estimate: tokens unknown, cost unknown, "), "{line}");
    assert!(line.contains("for 1 task(s) (history: 1 run)") && !line.contains("time unknown"), "{line}");
}
