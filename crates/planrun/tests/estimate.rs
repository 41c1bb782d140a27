//! `planrun estimate` and the estimate `planrun run` shows before any agent starts: printed
//! without creating anything, required to be agreed to (`--yes`) without a terminal when an
//! agent CLI will run, and made from the repository's own history once runs exist.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use serde_json::Value;
use support::{Repo, text};

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
    // b waits for a: the critical path is both tasks.
    assert!(e["wall_ms"].as_u64().unwrap() >= e["critical_path_ms"].as_u64().unwrap());
    assert_eq!(e["critical_path_ms"], e["work_ms"]);
    assert_eq!(e["per_task"].as_array().unwrap().len(), 2);
    assert!(!repo.path().join(".planrun").exists(), "planrun estimate created the state directory");

    let out = repo.cmd(&["estimate", "plan.md", "--agent-command", "./agent.sh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.starts_with("estimate: 2 task(s), 2 at a time"), "{shown}");
    assert!(shown.contains("implement → scope → verify → commit\n"), "{shown}");
    assert!(shown.contains("tokens  unknown: implement (command)"), "{shown}");
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
        String::from_utf8_lossy(&out.stdout).contains("from    this repository's history (1 run(s))"),
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
    assert_eq!(e["tokens"]["total"], 2 * 1_112, "{e}");
    assert_eq!(e["tokens"]["cache_read"], 2 * 1_000, "{e}");
    assert_eq!(e["cost_usd"], 0.5, "{e}");
    let implement = &e["per_role"].as_array().unwrap().iter().find(|r| r["role"] == "implement").unwrap().clone();
    assert_eq!(implement["model"], "claude-fake");
}
