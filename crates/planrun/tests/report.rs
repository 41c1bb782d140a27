//! `planrun report` and the cost breakdown of `status` and `summary.md`: after a run with a fake
//! `claude` on PATH (it prints usage and dollars, and as a reviewer a passing verdict), the
//! figures per task, per stage and per agent add up to the run's totals; a `command` agent (no
//! usage) reports zeros without failing; a run that is not here exits 2 with the ones that are.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use serde_json::Value;
use support::{Repo, text};

/// Implements with model `claude-fake` (10 in / 2 out tokens, $0.25 a run; task a's first
/// attempt fails its check) and reviews with `claude-review` (100 in / 20 out, $1.00).
const FAKE_CLAUDE: &str = r#"#!/bin/sh
if [ "$PLANRUN_ROLE" = review ]; then
  echo '{"type":"system","subtype":"init","session_id":"rev","model":"claude-review"}'
  echo '{"type":"result","subtype":"success","is_error":false,"result":"","session_id":"rev","structured_output":{"verdict":"pass","findings":[]},"total_cost_usd":1.0,"usage":{"input_tokens":100,"output_tokens":20}}'
  exit 0
fi
if [ "$PLANRUN_TASK_ID" = a ] && [ "$PLANRUN_ATTEMPT" = 1 ]; then echo bad > a.txt; else echo ok > "$PLANRUN_TASK_ID.txt"; fi
echo '{"type":"system","subtype":"init","session_id":"s-'$PLANRUN_TASK_ID'","model":"claude-fake"}'
echo '{"type":"result","subtype":"success","is_error":false,"result":"done","session_id":"s-'$PLANRUN_TASK_ID'","total_cost_usd":0.25,"usage":{"input_tokens":10,"output_tokens":2}}'
"#;

const TWO: &str = "# P\n\n## Task a: first\n\nFiles: `a.txt`\n\n### Verify\n\n- `grep -q ok a.txt`\n\n## Task b: second\n\nFiles: `b.txt`\n\n### Verify\n\n- `grep -q ok b.txt`\n";

fn report_json(repo: &Repo, extra: &[&str]) -> Value {
    let mut args = vec!["report", "--json"];
    args.extend_from_slice(extra);
    let out = repo.cmd(&args).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn stdout(repo: &Repo, args: &[&str]) -> String {
    let out = repo.cmd(args).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    String::from_utf8(out.stdout).unwrap()
}

fn u(v: &Value, k: &str) -> u64 {
    v[k].as_u64().unwrap_or_else(|| panic!("no {k} in {v}"))
}

fn usd(v: &Value) -> f64 {
    v["cost_usd"].as_f64().unwrap_or_else(|| panic!("no cost_usd in {v}"))
}

/// Whether `parts` sum, field by field, to `total` (tokens, steps and dollars).
fn adds_up(parts: &[Value], total: &Value, fields: &[&str]) {
    for k in fields {
        assert_eq!(parts.iter().map(|p| u(p, k)).sum::<u64>(), u(total, k), "{k}: {parts:?} vs {total}");
    }
    let dollars: f64 = parts.iter().map(usd).sum();
    assert!((dollars - usd(total)).abs() < 1e-9, "cost: {parts:?} vs {total}");
}

/// The whitespace-separated cells of the line starting with `first`.
fn row(text: &str, first: &str) -> Vec<String> {
    let line = text
        .lines()
        .find(|l| l.split_whitespace().next() == Some(first))
        .unwrap_or_else(|| panic!("no line starting with {first}:\n{text}"));
    line.split_whitespace().map(str::to_owned).collect()
}

#[test]
fn the_report_breaks_the_costs_down_per_task_stage_and_agent_and_they_add_up() {
    let repo = Repo::new(TWO, "exit 1");
    repo.script("bin/claude", FAKE_CLAUDE.trim_start_matches("#!/bin/sh\n"));
    let path = format!("{}:{}", repo.path().join("bin").display(), std::env::var("PATH").unwrap());
    let out = repo
        .cmd(&["run", "plan.md", "--agent", "claude", "--reviews", "code", "--yes", "--budget-usd", "100"])
        .env("PATH", &path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let r = report_json(&repo, &[]);
    // The run.
    let id = r["run"]["id"].as_str().unwrap().to_owned();
    assert!(repo.path().join(".planrun/runs").join(&id).join("summary.md").is_file(), "{}", r["run"]);
    assert_eq!(r["run"]["outcome"], "done");
    assert_eq!(r["run"]["running"], false);
    assert_eq!(r["run"]["workspace"], "shared");
    assert!(r["run"]["plan"].as_str().unwrap().ends_with("plan.md"));
    assert!(r["run"]["started"].as_str().unwrap().ends_with('Z'), "{}", r["run"]);
    // Totals: three implement runs (10 in / 2 out, $0.25 each) and two reviews (100 / 20, $1).
    let totals = &r["totals"];
    assert_eq!((u(totals, "input"), u(totals, "output"), u(totals, "tokens")), (230, 46, 276), "{totals}");
    assert!((usd(totals) - 2.75).abs() < 1e-9, "{totals}");
    assert_eq!((u(totals, "agent_steps"), u(totals, "unpriced_steps")), (5, 0));
    let fields = ["input", "output", "cache_read", "cache_write", "tokens", "agent_steps", "unpriced_steps"];
    // Per task, each with its stages inside.
    let tasks = r["tasks"].as_array().unwrap();
    let a = &tasks[0];
    assert_eq!((a["id"].as_str(), a["state"].as_str(), u(a, "attempts")), (Some("a"), Some("done"), 2));
    assert_eq!((u(a, "input"), u(a, "output"), u(a, "agent_steps")), (120, 24, 3));
    assert!((usd(a) - 1.5).abs() < 1e-9);
    let b = &tasks[1];
    assert_eq!((b["id"].as_str(), u(b, "attempts"), u(b, "tokens")), (Some("b"), 1, 132));
    assert!((usd(b) - 1.25).abs() < 1e-9);
    let mut all_fields = fields.to_vec();
    all_fields.extend(["steps", "elapsed_ms"]);
    adds_up(tasks, totals, &all_fields);
    for t in tasks {
        adds_up(t["per_stage"].as_array().unwrap(), t, &all_fields);
        let report = t["report"].as_str().unwrap();
        assert!(std::path::Path::new(report).is_file(), "{report}");
        assert!(report.ends_with(&format!("runs/{id}/tasks/{}.md", t["id"].as_str().unwrap())), "{report}");
    }
    let a_implement = a["per_stage"].as_array().unwrap().iter().find(|s| s["stage"] == "implement").unwrap();
    assert_eq!((u(a_implement, "steps"), u(a_implement, "tokens")), (2, 24));
    // Per stage, in pipeline order; stages without an agent have steps and time, no tokens.
    let stages = r["per_stage"].as_array().unwrap();
    let names: Vec<&str> = stages.iter().map(|s| s["stage"].as_str().unwrap()).collect();
    assert_eq!(names, ["implement", "scope", "verify", "review", "commit"]);
    adds_up(stages, totals, &all_fields);
    let stage = |n: &str| stages.iter().find(|s| s["stage"] == n).unwrap();
    assert_eq!((u(stage("implement"), "agent_steps"), u(stage("implement"), "tokens")), (3, 36));
    assert!((usd(stage("implement")) - 0.75).abs() < 1e-9);
    assert_eq!((u(stage("review"), "agent_steps"), u(stage("review"), "tokens")), (2, 240));
    assert!((usd(stage("review")) - 2.0).abs() < 1e-9);
    assert_eq!(
        (u(stage("verify"), "steps"), u(stage("verify"), "agent_steps"), u(stage("verify"), "tokens")),
        (3, 0, 0)
    );
    // Per agent and model.
    let agents = r["per_agent"].as_array().unwrap();
    assert_eq!(agents.len(), 2, "{agents:?}");
    assert_eq!((agents[0]["agent"].as_str(), agents[0]["model"].as_str()), (Some("claude"), Some("claude-fake")));
    assert_eq!((u(&agents[0], "steps"), u(&agents[0], "input"), u(&agents[0], "output")), (3, 30, 6));
    assert_eq!(
        (agents[1]["model"].as_str(), u(&agents[1], "steps"), u(&agents[1], "tokens")),
        (Some("claude-review"), 2, 240)
    );
    assert!((usd(&agents[1]) - 2.0).abs() < 1e-9);
    let agent_steps: Vec<Value> = agents
        .iter()
        .map(|a| {
            let mut a = a.clone();
            a["agent_steps"] = a["steps"].clone();
            a
        })
        .collect();
    adds_up(&agent_steps, totals, &fields);
    // The budget the run was given, beside what it used; the estimate it showed.
    assert_eq!(r["budget"]["usd"].as_f64(), Some(100.0), "{}", r["budget"]);
    assert_eq!(r["budget"]["used_percent"]["usd"].as_f64(), Some(2.8), "{}", r["budget"]);
    assert!(r["estimate"].is_object(), "{}", r["estimate"]);
    // The same run by its id.
    assert_eq!(report_json(&repo, &[&id]), r);

    // The human report: the table, then per stage and per agent.
    let human = stdout(&repo, &["report"]);
    assert!(human.starts_with(&format!("run {id}: done, started ")), "{human}");
    assert_eq!(row(&human, "task"), ["task", "state", "attempts", "tokens", "cost"]);
    assert_eq!(row(&human, "a"), ["a", "done", "2", "144", "$1.5000"]);
    assert_eq!(row(&human, "b"), ["b", "done", "1", "132", "$1.2500"]);
    assert_eq!(row(&human, "total"), ["total", "3", "276", "$2.7500"]);
    assert!(human.contains("used 230 in / 46 out tokens, $2.7500 over 5 agent runs"), "{human}");
    assert_eq!(row(&human, "implement")[..6], ["implement", "3", "steps", "36", "tokens", "$0.7500"]);
    assert_eq!(row(&human, "review")[..6], ["review", "2", "steps", "240", "tokens", "$2.0000"]);
    assert_eq!(row(&human, "verify")[..3], ["verify", "3", "steps"]);
    assert!(human.contains("by agent:\n  claude (claude-fake)    3 steps   36 tokens  $0.7500\n  claude (claude-review)  2 steps  240 tokens  $2.0000\n"), "{human}");
    assert!(human.contains("budget: $2.7500 of $100.00 (2.8%)"), "{human}");
    assert!(human.contains("estimate: "), "{human}");

    // A run that is not here: exit 2, naming the one that is.
    let out = repo.cmd(&["report", "NOSUCHRUN"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no run `NOSUCHRUN`") && err.contains(&id), "{err}");

    // summary.md has the costs section.
    let md = repo.read(&format!(".planrun/runs/{id}/summary.md"));
    assert!(md.contains("\n## Costs\n"), "{md}");
    assert!(md.contains("| implement | 3 | 3 | 36 | $0.7500 |"), "{md}");
    assert!(md.contains("| review | 2 | 2 | 240 | $2.0000 |"), "{md}");
    assert!(md.contains("| claude | claude-review | 2 | 200 | 40 | 0 | 0 | $2.0000 |"), "{md}");
    assert!(md.contains("- budget: $2.7500 of $100.00 (2.8%)"), "{md}");

    // status: the same breakdown, in JSON and in two lines.
    let st = repo.status();
    assert_eq!(st["costs"]["per_stage"], r["per_stage"]);
    assert_eq!(st["costs"]["per_agent"], r["per_agent"]);
    let human = stdout(&repo, &["status"]);
    assert!(human.contains("\n  by stage: implement 36 tokens $0.7500, review 240 tokens $2.0000\n"), "{human}");
    assert!(
        human.contains(
            "\n  by agent: claude (claude-fake) 36 tokens $0.7500, claude (claude-review) 240 tokens $2.0000\n"
        ),
        "{human}"
    );
}

#[test]
fn a_command_agent_reports_zeros_and_an_unknown_cost_without_failing() {
    let repo = Repo::new(TWO, "echo ok > \"$PLANRUN_TASK_ID.txt\"");
    // No run yet: nothing to report.
    let out = repo.cmd(&["report"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = repo.run(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let r = report_json(&repo, &[]);
    let totals = &r["totals"];
    assert_eq!((u(totals, "tokens"), u(totals, "agent_steps"), u(totals, "unpriced_steps")), (0, 0, 0), "{totals}");
    assert_eq!(usd(totals), 0.0);
    assert!(u(totals, "steps") >= 4, "implement and verify of each task: {totals}");
    assert_eq!(r["per_agent"], serde_json::json!([]));
    let implement = r["per_stage"].as_array().unwrap().iter().find(|s| s["stage"] == "implement").unwrap();
    assert_eq!((u(implement, "steps"), u(implement, "agent_steps"), u(implement, "tokens")), (2, 0, 0));
    for t in r["tasks"].as_array().unwrap() {
        assert_eq!((t["state"].as_str(), u(t, "attempts"), u(t, "tokens")), (Some("done"), 1, 0), "{t}");
    }
    assert!(r["budget"].is_null(), "no budget was given: {}", r["budget"]);

    let human = stdout(&repo, &["report"]);
    assert_eq!(row(&human, "a"), ["a", "done", "1"]);
    assert!(human.contains("no agent reported usage"), "{human}");
    assert!(human.contains("by stage:") && !human.contains("by agent:"), "{human}");

    let id = r["run"]["id"].as_str().unwrap();
    let md = repo.read(&format!(".planrun/runs/{id}/summary.md"));
    assert!(md.contains("## Costs") && md.contains("no agent reported usage"), "{md}");
    assert!(md.contains("| implement | 2 | 0 |  |  |"), "{md}");

    let st = repo.status();
    assert_eq!(st["costs"]["per_agent"], serde_json::json!([]));
    assert!(!stdout(&repo, &["status"]).contains("by stage"));
}
