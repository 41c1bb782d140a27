//! Cost control with the real Claude Code and Codex CLIs against the scripted model server
//! (which reports the tokens each answer used): a run that would exceed `--budget-tokens` is
//! stopped at the hard cap with every agent killed and nothing lost, and resumes when the
//! budget is raised; the soft cap lets the steps in flight finish and starts nothing new; a 429
//! pauses that agent only and resumes it; a task failing the same way twice is caught.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use planrun_testkit::ModelServer;
use serde_json::{Value, json};
use std::process::Output;
use support::clis::{agent_env, bash, path_with_clis, turn_using};
use support::{Repo, events, text};

fn server(turns: Vec<Value>) -> ModelServer {
    let scenario = json!({"turns": turns, "fallback": {"kind": "text", "text": "ok"}});
    ModelServer::start(ModelServer::scenario(&scenario.to_string()).unwrap()).unwrap()
}

/// `planrun run plan.md --agent claude --json --yes EXTRA…` against `server`.
fn run(repo: &Repo, home: &std::path::Path, server: &ModelServer, extra: &[&str]) -> Output {
    let mut args = vec!["run", "plan.md", "--agent", "claude", "--json", "--yes", "--reviews", "none", "--grace", "1s"];
    args.extend_from_slice(extra);
    let mut cmd = repo.cmd(&args);
    cmd.env("PATH", path_with_clis()).env("IS_SANDBOX", "1");
    for (k, v) in agent_env(home, &server.url()) {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn finished(out: &Output) -> Value {
    events(out).into_iter().find(|e| e["event"] == "finished").unwrap_or_else(|| panic!("{}", text(out)))
}

fn state(repo: &Repo, id: &str) -> String {
    repo.task(id)["state"].as_str().unwrap().to_owned()
}

#[test]
fn the_hard_budget_stops_every_agent_and_a_raised_budget_resumes_the_run() {
    let plan = "# P\n\n## Task a: Write alpha\n\nFiles: `a.txt`\n\nWrite alpha (MARK-A).\n\n### Verify\n\n- `grep -qx alpha a.txt`\n\n\
                ## Task b: Write beta\n\nDepends on: `a`\nFiles: `b.txt`\n\nWrite beta (MARK-B).\n\n### Verify\n\n- `grep -qx beta b.txt`\n";
    let repo = Repo::new(plan, "exit 1");
    let home = tempfile::tempdir().unwrap();
    // a uses 2,020 tokens; b's first answer alone reports 5,000 (past the 4,000 budget) and its
    // next one never comes: planrun must stop it from the usage streamed so far.
    let first = server(vec![
        turn_using("MARK-A", bash("echo alpha > a.txt"), 1000, 10),
        turn_using("tool_result", json!({"kind": "text", "text": "done"}), 1000, 10),
        turn_using("MARK-B", bash("echo beta > b.txt"), 5000, 10),
        turn_using("tool_result", json!({"kind": "stall", "text": "thinking"}), 1, 1),
    ]);
    let started = std::time::Instant::now();
    let out = run(&repo, home.path(), &first, &["--budget-tokens", "4000", "--stall-timeout", "60s"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(started.elapsed().as_secs() < 30, "stopped at once, not by a timeout");
    let fin = finished(&out);
    assert_eq!(fin["outcome"], "budget");
    let all = text(&out);
    assert!(all.contains("of the run's budget of 4000"), "{all}");
    let ev = events(&out);
    assert!(ev.iter().any(|e| e["event"] == "budget_stop"), "{ev:?}");
    assert_eq!(state(&repo, "a"), "done");
    let b = repo.task("b");
    assert_eq!(b["state"], "rework", "{b}");
    assert_eq!(b["failures"], 0, "a budget stop is not the task's failure");
    // What b used before it was stopped is journaled and counted.
    let used = repo.status()["usage"]["input"].as_u64().unwrap();
    assert!(used >= 7000, "a's 2,000 and b's 5,000 input tokens: {used}");
    // The same budget again: nothing starts.
    let again = run(&repo, home.path(), &first, &["--budget-tokens", "4000"]);
    assert_eq!(again.status.code(), Some(4), "{}", text(&again));
    assert!(text(&again).contains("nothing was started"), "{}", text(&again));
    assert!(!events(&again).iter().any(|e| e["event"] == "start" || e["event"] == "retry"));
    // Raised: b runs again and the run finishes.
    let second = server(vec![
        turn_using("MARK-B", bash("echo beta > b.txt"), 100, 10),
        turn_using("tool_result", json!({"kind": "text", "text": "done"}), 100, 10),
    ]);
    let out = run(&repo, home.path(), &second, &["--budget-tokens", "100000"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(state(&repo, "b"), "done");
    assert_eq!(repo.read("b.txt"), "beta\n");
}

#[test]
fn the_soft_budget_lets_steps_in_flight_finish_and_starts_nothing_new() {
    let plan = "# P\n\n## Task a: Write alpha\n\nFiles: `a.txt`\n\nWrite alpha (MARK-A).\n\n\
                ## Task b: Write beta slowly\n\nFiles: `b.txt`\n\nWrite beta (MARK-B).\n\n\
                ## Task c: After both\n\nDepends on: `a`, `b`\nFiles: `c.txt`\n\nWrite gamma (MARK-C).\n";
    let repo = Repo::new(plan, "exit 1");
    let home = tempfile::tempdir().unwrap();
    // a alone crosses 80% of the 10,000-token budget; b is still working then (it sleeps) and
    // finishes; c is never started.
    let s = server(vec![
        turn_using("MARK-A", bash("echo alpha > a.txt"), 8500, 10),
        turn_using("MARK-B", bash("sleep 3; echo beta > b.txt"), 100, 10),
        turn_using("tool_result", json!({"kind": "text", "text": "done"}), 10, 10),
        turn_using("tool_result", json!({"kind": "text", "text": "done"}), 10, 10),
    ]);
    let out = run(&repo, home.path(), &s, &["--budget-tokens", "10000", "-j", "2"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert_eq!(finished(&out)["outcome"], "budget");
    let ev = events(&out);
    let pos = |f: &dyn Fn(&Value) -> bool| ev.iter().position(f);
    let soft = pos(&|e| e["event"] == "budget_soft").unwrap_or_else(|| panic!("{ev:?}"));
    let b_done = pos(&|e| e["event"] == "done" && e["task"] == "b").unwrap();
    assert!(soft < b_done, "b was in flight when the soft line was crossed, and finished");
    assert_eq!(repo.read("b.txt"), "beta\n");
    assert!(!ev.iter().any(|e| e["task"] == "c" && e["event"] == "agent_usage"), "c's agent never ran");
    assert_ne!(state(&repo, "c"), "done");
    assert!(!ev.iter().any(|e| e["event"] == "budget_stop"), "no agent was stopped");
}

#[test]
fn a_rate_limited_agent_waits_while_the_others_go_on() {
    // a is Claude Code's, b is Codex's; Claude's first request gets a 429.
    let plan = "# P\n\n## Task a: Write alpha\n\nFiles: `a.txt`\n\nWrite alpha (MARK-A).\n\n### Verify\n\n- `grep -qx alpha a.txt`\n\n\
                ## Task b: Write beta\n\nAgent: codex\nFiles: `b.txt`\n\nWrite beta (MARK-B).\n\n### Verify\n\n- `grep -qx beta b.txt`\n";
    let repo = Repo::new(plan, "exit 1");
    let home = tempfile::tempdir().unwrap();
    let codex_write = json!({"kind": "tool_use", "name": "exec_command",
        "input": {"cmd": "echo beta > b.txt", "workdir": repo.path().canonicalize().unwrap().display().to_string()}});
    let s = server(vec![
        turn_using(
            "MARK-A",
            json!({"kind": "error", "status": 429, "message": "rate limited", "retry_after_ms": 2000}),
            0,
            0,
        ),
        turn_using("MARK-B", codex_write, 100, 10),
        turn_using("function_call_output", json!({"kind": "text", "text": "done"}), 100, 10),
        turn_using("MARK-A", bash("echo alpha > a.txt"), 100, 10),
        turn_using("tool_result", json!({"kind": "text", "text": "done"}), 100, 10),
    ]);
    let out = run(&repo, home.path(), &s, &["--rate-limit-wait", "3s", "-j", "2", "--model", "claude-sonnet-4-5"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let ev = events(&out);
    let limited = ev.iter().find(|e| e["event"] == "rate_limited").unwrap_or_else(|| panic!("{ev:?}"));
    assert_eq!(limited["agent"], "claude");
    let wait = limited["wait_ms"].as_u64().unwrap();
    assert!((2000..=3000).contains(&wait), "the provider's reset time, or the configured wait: {wait}");
    let at = |f: &dyn Fn(&Value) -> bool| ev.iter().find(|e| f(e)).map(|e| e["elapsed_ms"].as_u64().unwrap()).unwrap();
    let limited_at = limited["elapsed_ms"].as_u64().unwrap();
    let b_done = at(&|e| e["event"] == "done" && e["task"] == "b");
    let a_done = at(&|e| e["event"] == "done" && e["task"] == "a");
    assert!(b_done < limited_at + wait, "codex went on while claude waited");
    assert!(a_done >= limited_at + wait, "claude's task ran again only after the wait");
    let a = repo.task("a");
    assert_eq!(a["failures"], 0, "a rate limit is not the task's failure: {a}");
    assert!(ev.iter().any(|e| e["event"] == "waiting" && e["task"] == "a"));
}

#[test]
fn a_task_failing_the_same_way_twice_gets_a_fresh_session() {
    let plan = "# P\n\n## Task a: Write alpha\n\nFiles: `a.txt`\n\nWrite alpha (MARK-A).\n\n### Verify\n\n- `grep -qx alpha a.txt`\n";
    let repo = Repo::new(plan, "exit 1");
    let home = tempfile::tempdir().unwrap();
    // The first two attempts write the same wrong word; the third, in a fresh session, is right.
    let s = server(vec![
        turn_using("MARK-A", bash("echo wrong > a.txt"), 100, 10),
        turn_using("tool_result", json!({"kind": "text", "text": "done"}), 100, 10),
        turn_using("checked your work on task a", bash("echo wrong > a.txt"), 100, 10),
        turn_using("tool_result", json!({"kind": "text", "text": "done"}), 100, 10),
        turn_using("MARK-A", bash("echo alpha > a.txt"), 100, 10),
        turn_using("tool_result", json!({"kind": "text", "text": "done"}), 100, 10),
    ]);
    let out = run(&repo, home.path(), &s, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let ev = events(&out);
    let repeat = ev.iter().find(|e| e["event"] == "repeated_failure").unwrap_or_else(|| panic!("{ev:?}"));
    assert_eq!(repeat["policy"], "retry");
    let starts: Vec<&Value> =
        ev.iter().filter(|e| e["task"] == "a" && (e["event"] == "start" || e["event"] == "retry")).collect();
    let resumed: Vec<bool> = starts.iter().map(|e| e["resumed"].as_bool().unwrap()).collect();
    assert_eq!(resumed, [false, true, false], "the attempt after the repeat starts a fresh session");
    assert!(repo.read(".planrun/prompts/a.3.md").contains("MARK-A"), "the fresh session gets the whole brief");
}

/// Seed 001's two usage windows per agent, with the real Claude Code CLI: past a window's soft
/// threshold the agent's next step waits (the task in flight had finished), past its hard one
/// the step in flight is stopped and the run ends (exit 4), and a rerun while it is still past
/// starts nothing. Each task's report gives each window's fill at its start and end.
#[test]
fn usage_windows_wait_past_soft_and_stop_past_hard() {
    use std::io::BufRead as _;
    let plan = "# P\n\n## Task a: Write alpha\n\nFiles: `a.txt`\n\nWrite alpha (MARK-A).\n\n\
                ## Task b: Write beta\n\nDepends on: `a`\nFiles: `b.txt`\n\nWrite beta (MARK-B).\n";
    let windows = |soft: u8, hard: u8| {
        format!(
            "[[windows.claude]]\nhours = 5\ntokens = 10000\nsoft_percent = {soft}\nhard_percent = {hard}\n\n\
             [[windows.claude]]\nhours = 168\ntokens = 100000\nsoft_percent = 90\nhard_percent = 95\n"
        )
    };
    // Soft at 15%: a uses 2,020 tokens (20% of the 5-hour window); b then waits for room.
    let repo = support::committed(plan, "exit 1", &[("planrun.toml", &windows(15, 90))]);
    let home = tempfile::tempdir().unwrap();
    let s = server(vec![
        turn_using("MARK-A", bash("echo alpha > a.txt"), 1000, 10),
        turn_using("tool_result", json!({"kind": "text", "text": "done"}), 1000, 10),
    ]);
    let mut cmd = repo.cmd(&["run", "plan.md", "--agent", "claude", "--json", "--yes", "--reviews", "none"]);
    cmd.env("PATH", path_with_clis()).env("IS_SANDBOX", "1").stdout(std::process::Stdio::piped());
    for (k, v) in agent_env(home.path(), &s.url()) {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.map_while(Result::ok) {
        let e: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
        seen.push(line);
        if e["event"] == "waiting" && e["task"] == "b" {
            assert_eq!(e["agent"], "claude", "{e}");
            break;
        }
        assert!(seen.len() < 500, "b never waited: {seen:?}");
    }
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGINT).unwrap();
    // A step waiting for its agent's window is no work in flight: the drain does not wait.
    let drained = std::time::Instant::now();
    let status = child.wait().unwrap();
    assert!(drained.elapsed().as_secs() < 20, "the waiting step held the drain for {:?}", drained.elapsed());
    assert_ne!(status.code(), Some(0));
    assert_eq!(state(&repo, "a"), "done");
    assert_ne!(state(&repo, "b"), "done", "b never started: {seen:?}");
    assert!(!repo.path().join("b.txt").exists());
    let reports: Vec<_> = std::fs::read_dir(repo.path().join(".planrun/runs")).unwrap().flatten().collect();
    let report = std::fs::read_to_string(reports[0].path().join("tasks/a.md")).unwrap();
    assert!(report.contains("- usage window claude 5h: 0% at start, 20% at end"), "{report}");
    assert!(report.contains("- usage window claude 7d: 0% at start, 2% at end"), "{report}");

    // Hard at 50%: a's first answer alone reports 6,000 tokens; a is stopped in flight.
    let repo = support::committed(plan, "exit 1", &[("planrun.toml", &windows(40, 50))]);
    let home = tempfile::tempdir().unwrap();
    let s = server(vec![
        turn_using("MARK-A", bash("echo alpha > a.txt"), 6000, 10),
        turn_using("tool_result", json!({"kind": "stall", "text": "thinking"}), 1, 1),
    ]);
    let started = std::time::Instant::now();
    let out = run(&repo, home.path(), &s, &["--stall-timeout", "60s"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(started.elapsed().as_secs() < 30, "stopped at once, not by a timeout");
    let stop =
        events(&out).into_iter().find(|e| e["event"] == "budget_stop").unwrap_or_else(|| panic!("{}", text(&out)));
    assert!(stop["reason"].as_str().unwrap().contains("claude's 5h usage window is at 60%"), "{stop}");
    assert_eq!(repo.task("a")["failures"], 0, "a window stop is not the task's failure");
    let again = run(&repo, home.path(), &s, &[]);
    assert_eq!(again.status.code(), Some(4), "{}", text(&again));
    assert!(text(&again).contains("nothing was started"), "{}", text(&again));
    assert!(!events(&again).iter().any(|e| e["event"] == "start" || e["event"] == "retry"));
}
