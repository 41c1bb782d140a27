//! planrun driving the real agent CLIs (pinned and installed by `.ci/agent-clis.sh`) against the
//! test kit's scripted model server on 127.0.0.1. For each CLI, a 3-task plan: the files are
//! written by the CLI's own tools, planrun's verify passes, usage is recorded, a failed verify is
//! reworked in the resumed session, and an API error, a rate limit and a hung stream each end in
//! a clear state that a rerun resumes. A missing CLI fails the test with what to run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use planrun_testkit::ModelServer;
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Output};
use support::{Repo, text};

/// What differs between the CLIs.
struct Cli {
    name: &'static str,
    /// `--model` for planrun (and so for the CLI).
    model: &'static str,
    /// Text that only the request after a tool call holds (the tool's result).
    followup: &'static str,
    /// Whether the CLI reports its own dollars.
    reports_cost: bool,
    /// The API key it is given (it must never reach a log).
    key: &'static str,
    /// Whether the CLI retries errors on its own with no way to turn that off (opencode: five
    /// retries with backoff), so the server's errors say `retry-after-ms: 0`.
    retries: bool,
}

const CLAUDE: Cli = Cli {
    name: "claude",
    model: "claude-sonnet-4-5",
    followup: "tool_result",
    reports_cost: true,
    key: "sk-ant-e2e-000000000000000000000000",
    retries: false,
};
const CODEX: Cli = Cli {
    name: "codex",
    model: "gpt-test",
    followup: "function_call_output",
    reports_cost: false,
    key: "sk-e2e-codex-0000000000000000000000",
    retries: false,
};
const GEMINI: Cli = Cli {
    name: "gemini",
    model: "gemini-2.5-pro",
    followup: "functionResponse",
    reports_cost: false,
    key: "AIzaE2E0000000000000000000000000000000000",
    retries: false,
};
const OPENCODE: Cli = Cli {
    name: "opencode",
    model: "mock/mock-model",
    followup: "tool_result",
    reports_cost: false,
    key: "sk-ant-e2e-opencode-0000000000000000",
    retries: true,
};

impl Cli {
    /// The tool call that writes `content` and a newline to `file` (relative to `dir`).
    fn write(&self, dir: &Path, file: &str, content: &str) -> Value {
        let abs = dir.join(file).display().to_string();
        match self.name {
            "claude" => {
                json!({"kind": "tool_use", "name": "Write", "input": {"file_path": abs, "content": format!("{content}\n")}})
            }
            "codex" => {
                json!({"kind": "tool_use", "name": "exec_command", "input": {"cmd": format!("printf '%s\\n' {content} > {file}")}})
            }
            "gemini" => {
                json!({"kind": "tool_use", "name": "write_file", "input": {"file_path": abs, "content": format!("{content}\n")}})
            }
            "opencode" => {
                json!({"kind": "tool_use", "name": "write", "input": {"filePath": abs, "content": format!("{content}\n")}})
            }
            other => panic!("no tool for {other}"),
        }
    }

    /// A reviewer's answer with `verdict` and `findings`: Claude Code, run with `--json-schema`,
    /// gives it as the input of its `StructuredOutput` tool (and ends its run there); the
    /// others as the text of their last message.
    fn verdict(&self, verdict: &str, findings: Value) -> Value {
        let v = json!({"verdict": verdict, "findings": findings});
        match self.name {
            "claude" => json!({"kind": "tool_use", "name": "StructuredOutput", "input": v}),
            _ => json!({"kind": "text", "text": format!("I read the change.\n{v}")}),
        }
    }

    /// The environment that points the CLI at `url` with a configuration home of its own.
    fn env(&self, home: &Path, url: &str) -> Vec<(String, String)> {
        let mut env = vec![("HOME".to_owned(), home.display().to_string())];
        match self.name {
            "claude" => {
                for (k, v) in [
                    ("ANTHROPIC_BASE_URL", url),
                    ("ANTHROPIC_API_KEY", self.key),
                    ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
                    ("DISABLE_TELEMETRY", "1"),
                    ("DISABLE_AUTOUPDATER", "1"),
                    ("DISABLE_ERROR_REPORTING", "1"),
                    ("CLAUDE_CODE_MAX_RETRIES", "0"),
                ] {
                    env.push((k.into(), v.into()));
                }
            }
            "codex" => {
                let codex_home = home.join(".codex");
                std::fs::create_dir_all(&codex_home).unwrap();
                std::fs::write(
                    codex_home.join("config.toml"),
                    format!(
                        "model_provider = \"mock\"\nmodel = \"gpt-test\"\ncheck_for_update_on_startup = false\n\
                         [model_providers.mock]\nname = \"mock\"\nbase_url = \"{url}/v1\"\nenv_key = \"OPENAI_API_KEY\"\n\
                         wire_api = \"responses\"\nrequest_max_retries = 0\nstream_max_retries = 0\n[analytics]\nenabled = false\n"
                    ),
                )
                .unwrap();
                env.push(("CODEX_HOME".into(), codex_home.display().to_string()));
                env.push(("OPENAI_API_KEY".into(), self.key.into()));
            }
            "gemini" => {
                std::fs::create_dir_all(home.join(".gemini")).unwrap();
                // One attempt per request: by default Gemini CLI retries a rate limit or a server
                // error up to 10 times with backoff, minutes before planrun hears of it.
                std::fs::write(
                    home.join(".gemini/settings.json"),
                    r#"{"security": {"auth": {"selectedType": "gemini-api-key"}}, "general": {"maxAttempts": 1}}"#,
                )
                .unwrap();
                env.push(("GOOGLE_GEMINI_BASE_URL".into(), url.into()));
                env.push(("GEMINI_API_KEY".into(), self.key.into()));
            }
            "opencode" => {
                // No background install of its plugin package (it is listed as present) and a
                // closed registry port should it try anyway; no models list download.
                planrun_testkit::opencode_offline_home(home).unwrap();
                let config = planrun_testkit::opencode_config(url, self.key);
                env.push(("OPENCODE_CONFIG_CONTENT".into(), config.to_string()));
                env.push(("OPENCODE_DISABLE_AUTOUPDATE".into(), "1".into()));
                env.push(("OPENCODE_DISABLE_MODELS_FETCH".into(), "1".into()));
                env.push(("npm_config_registry".into(), "http://127.0.0.1:9/".into()));
            }
            other => panic!("no environment for {other}"),
        }
        env
    }
}

const PLAN: &str = "# Letters

## Task a: Write alpha

Files: `a.txt`

Create a.txt holding the word alpha (MARK-A).

### Verify

- `grep -qx alpha a.txt`

## Task b: Write beta

Depends on: `a`
Files: `b.txt`

Create b.txt holding the word beta (MARK-B).

### Verify

- `grep -qx beta b.txt`

## Task c: Write gamma

Files: `c.txt`

Create c.txt holding the word gamma (MARK-C).

### Verify

- `grep -qx gamma c.txt`
";

const TOOL_USAGE: &str = r#"{"input_tokens": 100, "output_tokens": 20}"#;
const TEXT_USAGE: &str = r#"{"input_tokens": 50, "output_tokens": 5}"#;

/// A turn that calls a tool when a request holds `when`.
fn tool_turn(when: &str, reply: Value) -> Value {
    json!({"when": when, "reply": reply, "usage": serde_json::from_str::<Value>(TOOL_USAGE).unwrap()})
}

/// The text that ends a task's run, given after its tool call. All alike, so which task's
/// request takes which does not matter.
fn done_turn(cli: &Cli) -> Value {
    json!({"when": cli.followup, "reply": {"kind": "text", "text": "Done."}, "usage": serde_json::from_str::<Value>(TEXT_USAGE).unwrap()})
}

/// Each task's file written right the first time.
fn plain_turns(cli: &Cli, dir: &Path) -> Vec<Value> {
    let mut turns = Vec::new();
    for (mark, file, word) in [("MARK-A", "a.txt", "alpha"), ("MARK-B", "b.txt", "beta"), ("MARK-C", "c.txt", "gamma")]
    {
        turns.push(tool_turn(mark, cli.write(dir, file, word)));
        turns.push(done_turn(cli));
    }
    turns
}

/// A repository with the plan, a price for the model, the CLIs in PATH, and a home.
struct Setup {
    repo: Repo,
    home: tempfile::TempDir,
}

fn setup() -> Setup {
    let repo = Repo::new(PLAN, "exit 1");
    repo.write(
        "planrun.toml",
        "[prices.\"gpt-test\"]\ninput = 1.0\noutput = 2.0\n\n[prices.\"gemini-2.5-pro\"]\ninput = 1.0\noutput = 2.0\n\n[prices.\"mock/mock-model\"]\ninput = 1.0\noutput = 2.0\n",
    );
    Setup { repo, home: tempfile::tempdir().unwrap() }
}

/// `planrun ARGS` with `cli` pointed at `server`.
fn planrun(s: &Setup, cli: &Cli, server: &ModelServer, args: &[&str]) -> Output {
    planrun_with(s, cli, server, args, &[])
}

/// `planrun ARGS` with `cli` pointed at `server` and `extra` variables set.
fn planrun_with(s: &Setup, cli: &Cli, server: &ModelServer, args: &[&str], extra: &[(&str, &str)]) -> Output {
    let bin_dir = planrun_testkit::agent_cli(cli.name).unwrap_or_else(|e| panic!("{e}"));
    let path = format!("{}:{}", bin_dir.parent().unwrap().display(), std::env::var("PATH").unwrap_or_default());
    let mut cmd: Command = s.repo.cmd(args);
    cmd.env("PATH", path);
    // The CLIs' configuration, data and cache folders follow these when set: HOME decides.
    for v in ["XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"] {
        cmd.env_remove(v);
    }
    for (k, v) in cli.env(s.home.path(), &server.url()) {
        cmd.env(k, v);
    }
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn run_args<'a>(cli: &'a Cli, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        "run",
        "plan.md",
        "--agent",
        cli.name,
        "--model",
        cli.model,
        "-j",
        "1",
        "--json",
        "--grace",
        "1s",
        "--reviews",
        "none",
        "--yes",
    ];
    a.extend_from_slice(extra);
    a
}

fn events(out: &Output) -> Vec<Value> {
    support::events(out)
}

/// Every file under the state directory, as text.
fn state_files(repo: &Repo) -> String {
    let mut all = String::new();
    let mut stack = vec![repo.path().join(".planrun")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                all.push_str(&String::from_utf8_lossy(&std::fs::read(&p).unwrap()));
            }
        }
    }
    all
}

/// The whole story with one CLI: three tasks, one reworked in its resumed session.
fn three_tasks_with_a_resumed_rework(cli: &Cli) {
    let s = setup();
    let dir = s.repo.path();
    let turns = vec![
        tool_turn("MARK-A", cli.write(dir, "a.txt", "alpha")),
        done_turn(cli),
        // b's first attempt writes the wrong word: planrun's verify sends it back.
        tool_turn("MARK-B", cli.write(dir, "b.txt", "WRONGBETA")),
        done_turn(cli),
        // The resumed session gets the short rework prompt (and still holds its history).
        tool_turn("checked your work on task b", cli.write(dir, "b.txt", "beta")),
        done_turn(cli),
        tool_turn("MARK-C", cli.write(dir, "c.txt", "gamma")),
        done_turn(cli),
    ];
    let scenario = json!({"turns": turns, "fallback": {"kind": "text", "text": "ok"}});
    let server = ModelServer::start(ModelServer::scenario(&scenario.to_string()).unwrap()).unwrap();
    let out = planrun(&s, cli, &server, &run_args(cli, &[]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(s.repo.read("a.txt"), "alpha\n");
    assert_eq!(s.repo.read("b.txt"), "beta\n");
    assert_eq!(s.repo.read("c.txt"), "gamma\n");
    assert!(server.unused_turns().is_empty(), "unused turns: {:?}", server.unused_turns());

    // b was reworked once, in the session of its first attempt.
    let ev = events(&out);
    let starts: Vec<&Value> =
        ev.iter().filter(|e| e["task"] == "b" && e["step"] == "implement" && e["event"] != "agent_usage").collect();
    assert_eq!(starts.len(), 2, "{ev:?}");
    assert_eq!((starts[0]["resumed"].as_bool(), starts[1]["resumed"].as_bool()), (Some(false), Some(true)));
    assert!(ev.iter().any(|e| e["event"] == "rework"
        && e["task"] == "b"
        && e["reason"].as_str().unwrap().contains("grep -qx beta b.txt")));
    let second = s.repo.read(".planrun/prompts/b.2.md");
    assert!(second.contains("checked your work on task b") && second.contains("grep -qx beta b.txt"), "{second}");
    assert!(!second.contains("MARK-B"), "a resumed session gets the failure, not the brief again: {second}");
    let rework =
        server.requests().into_iter().find(|r| r.body.to_string().contains("checked your work on task b")).unwrap();
    assert!(rework.body.to_string().contains("WRONGBETA"), "the resumed request carries the first attempt's history");
    let usages: Vec<&Value> = ev.iter().filter(|e| e["event"] == "agent_usage" && e["task"] == "b").collect();
    assert_eq!(usages.len(), 2);
    let (s1, s2) = (&usages[0]["agent"]["session"], &usages[1]["agent"]["session"]);
    assert!(s1.is_string() && s1 == s2, "one session across the rework: {s1} {s2}");

    // Usage: each run is one tool turn and one text turn; b ran twice. Codex reports session
    // totals; planrun stores each run's own share.
    let status: Value = serde_json::from_slice(&s.repo.cmd(&["status", "--json"]).output().unwrap().stdout).unwrap();
    let task = |id: &str| status["tasks"].as_array().unwrap().iter().find(|t| t["id"] == id).unwrap().clone();
    for (id, runs) in [("a", 1), ("b", 2), ("c", 1)] {
        let u = &task(id)["usage"];
        assert_eq!((u["input"].as_u64(), u["output"].as_u64()), (Some(150 * runs), Some(25 * runs)), "{id}: {u}");
    }
    let total = &status["usage"];
    assert_eq!(
        (total["input"].as_u64(), total["output"].as_u64(), total["agent_steps"].as_u64()),
        (Some(600), Some(100), Some(4))
    );
    if cli.reports_cost {
        assert!(total["cost_usd"].as_f64().unwrap() > 0.0, "{total}");
    } else {
        // From planrun.toml's price: $1 per million in, $2 per million out.
        let want = 600.0 / 1e6 + 100.0 * 2.0 / 1e6;
        assert!((total["cost_usd"].as_f64().unwrap() - want).abs() < 1e-12, "{total} {}", text(&out));
    }
    assert_eq!(total["unpriced_steps"].as_u64(), Some(0));
    let finished = ev.last().unwrap();
    assert_eq!(finished["usage"]["input"].as_u64(), Some(600));
    // The human status shows the same.
    let human = String::from_utf8(s.repo.cmd(&["status"]).output().unwrap().stdout).unwrap();
    assert!(human.contains("used 600 in / 100 out tokens"), "{human}");
    // The key never reached planrun's logs, prompts or journal.
    assert!(!state_files(&s.repo).contains(cli.key));
    // `planrun log` names the agent, its session and what it used.
    let log = String::from_utf8(s.repo.cmd(&["log", "b", "--summary"]).output().unwrap().stdout).unwrap();
    assert!(log.contains(&format!("agent: {}", cli.name)) && log.contains("resumed session"), "{log}");
}

/// A provider error (HTTP `status`) stops the run without blaming the task; a rerun against a
/// working server finishes it.
fn a_provider_error_stops_the_run_and_a_rerun_resumes(cli: &Cli, status: u16, message: &str) {
    let s = setup();
    let dir = s.repo.path();
    let mut error = json!({"kind": "error", "status": status, "message": message});
    if cli.retries {
        error["retry_after_ms"] = json!(0);
    }
    let failing = json!({"turns": [], "fallback": error});
    let server = ModelServer::start(ModelServer::scenario(&failing.to_string()).unwrap()).unwrap();
    let out = planrun(&s, cli, &server, &run_args(cli, &[]));
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let ev = events(&out);
    let stop = ev.iter().find(|e| e["event"] == "provider_error").unwrap_or_else(|| panic!("{}", text(&out)));
    let reason = stop["reason"].as_str().unwrap();
    assert!(reason.contains("error from its model provider"), "{reason}");
    let finished = ev.last().unwrap();
    assert_eq!((finished["outcome"].as_str(), finished["exit_code"].as_u64()), (Some("provider_error"), Some(4)));
    // The CLI's own words for the error (Codex words a 5xx as "high demand"); a rate limit
    // says 429.
    let said = finished["reason"].as_str().unwrap();
    assert!(said.contains("model provider") && said.len() > 60, "{finished}");
    assert!(finished["help"].as_str().unwrap().contains("run the same command to resume"), "{finished}");
    // Nothing blocked, nothing counted as a failure.
    let st: Value = serde_json::from_slice(&s.repo.cmd(&["status", "--json"]).output().unwrap().stdout).unwrap();
    for t in st["tasks"].as_array().unwrap() {
        assert_ne!(t["state"], "blocked", "{t}");
        assert_eq!(t["failures"].as_u64(), Some(0), "{t}");
    }
    drop(server);
    // The provider works again: the same command finishes the plan.
    let good = json!({"turns": plain_turns(cli, dir), "fallback": {"kind": "text", "text": "ok"}});
    let server = ModelServer::start(ModelServer::scenario(&good.to_string()).unwrap()).unwrap();
    let out = planrun(&s, cli, &server, &run_args(cli, &[]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(s.repo.read("b.txt"), "beta\n");
}

/// A rate limit (429) on the first request: the CLI reports it (those that retry by themselves
/// are told to retry at once, and may get through on their own), planrun pauses that agent for
/// `--rate-limit-wait` and runs the attempt again, not counted as a failure; the run finishes.
fn a_rate_limit_pauses_the_agent_and_the_run_goes_on(cli: &Cli) {
    let s = setup();
    let dir = s.repo.path();
    let mut error = json!({"kind": "error", "status": 429, "message": "scripted rate limit"});
    if cli.retries {
        error["retry_after_ms"] = json!(0);
    }
    let mut turns = vec![json!({"when": "MARK-A", "reply": error})];
    turns.extend(plain_turns(cli, dir));
    let scenario = json!({"turns": turns, "fallback": {"kind": "text", "text": "ok"}});
    let server = ModelServer::start(ModelServer::scenario(&scenario.to_string()).unwrap()).unwrap();
    let started = std::time::Instant::now();
    let out = planrun(&s, cli, &server, &run_args(cli, &["--rate-limit-wait", "1s"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let ev = events(&out);
    match ev.iter().find(|e| e["event"] == "rate_limited") {
        Some(limited) => {
            assert_eq!(limited["agent"], cli.name, "{limited}");
            let wait = limited["wait_ms"].as_u64().unwrap();
            assert!(wait <= 1000, "the provider said 0 ms or nothing; the configured wait is 1 s: {wait}");
            assert!(started.elapsed() >= std::time::Duration::from_millis(wait));
        }
        // Only a CLI that retries by itself may have got through without planrun seeing it.
        None => assert!(cli.retries, "{} reported no rate limit: {}", cli.name, text(&out)),
    }
    assert!(!ev.iter().any(|e| e["event"] == "provider_error"), "a rate limit does not stop the run");
    let st: Value = serde_json::from_slice(&s.repo.cmd(&["status", "--json"]).output().unwrap().stdout).unwrap();
    for t in st["tasks"].as_array().unwrap() {
        assert_eq!(t["failures"].as_u64(), Some(0), "{t}");
    }
    assert_eq!(s.repo.read("c.txt"), "gamma\n");
}

/// A stream that stalls is stopped at --stall-timeout, and the task is reworked with a clear
/// reason; the next attempt finishes it.
fn a_hung_stream_is_stopped_and_the_task_goes_on(cli: &Cli) {
    let s = setup();
    let dir = s.repo.path();
    let mut turns = vec![json!({"when": "MARK-A", "reply": {"kind": "stall", "text": "Let me"}})];
    turns.extend(plain_turns(cli, dir));
    let scenario = json!({"turns": turns, "fallback": {"kind": "text", "text": "ok"}});
    let server = ModelServer::start(ModelServer::scenario(&scenario.to_string()).unwrap()).unwrap();
    // opencode prints its first event only once the model answers, after starting its own
    // server and taking a git snapshot of the worktree: on a loaded 2-core machine that alone
    // has taken over 15 s, so its limit leaves room for that.
    let stall = if cli.name == "opencode" { "30s" } else { "15s" };
    let out = planrun(&s, cli, &server, &run_args(cli, &["--stall-timeout", stall]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let ev = events(&out);
    let rework =
        ev.iter().find(|e| e["event"] == "rework" && e["task"] == "a").unwrap_or_else(|| panic!("{}", text(&out)));
    assert!(rework["reason"].as_str().unwrap().contains(&format!("printed nothing for {stall}")), "{rework}");
    assert_eq!(s.repo.read("a.txt"), "alpha\n");
}

const REVIEW_PLAN: &str = "# Review

## Task a: Write alpha

Files: `a.txt`

Create a.txt holding the word alpha (MARK-A).

### Verify

- `grep -q alpha a.txt`
";

/// The CLI as its own reviewer (planrun's default: the implementer's CLI), with both reviews
/// (`task,code`, the default) in worktree mode: on attempt 1 each review blocks with a finding,
/// which reaches the reworked attempt's prompt and the model; on attempt 2 both pass (one with
/// an advisory finding), and the task is merged.
fn reviews_send_back_then_pass(cli: &Cli) {
    let s = setup();
    s.repo.write("plan.md", REVIEW_PLAN);
    support::git(&s.repo, &["add", "-A"]);
    support::git(&s.repo, &["-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "start"]);
    let top = s.repo.path().canonicalize().unwrap();
    let worktree = top.join(".planrun/worktrees/a");
    let blocking =
        |file: &str, message: &str| json!([{"severity": "blocking", "file": file, "line": 1, "message": message}]);
    // A request takes the first unused turn whose text it holds; the two reviews of an attempt
    // run side by side, each prompt naming its own review.
    let turns = vec![
        tool_turn("MARK-A", cli.write(&worktree, "a.txt", "alpha1")),
        done_turn(cli),
        tool_turn(
            "the task review:",
            cli.verdict("changes_requested", blocking("a.txt", "not the word alpha (FINDING-TASK)")),
        ),
        tool_turn("the code review:", cli.verdict("pass", blocking("a.txt", "a digit after the word (FINDING-CODE)"))),
        tool_turn("checked your work on task a", cli.write(&worktree, "a.txt", "alpha")),
        done_turn(cli),
        tool_turn("the task review:", cli.verdict("pass", json!([]))),
        tool_turn(
            "the code review:",
            cli.verdict(
                "pass",
                json!([{"severity": "advisory", "file": "a.txt", "line": 1, "message": "ADVICE-ALPHA"}]),
            ),
        ),
    ];
    let scenario = json!({"turns": turns, "fallback": {"kind": "text", "text": "ok"}});
    let server = ModelServer::start(ModelServer::scenario(&scenario.to_string()).unwrap()).unwrap();
    let args = ["run", "plan.md", "--agent", cli.name, "--model", cli.model, "--json", "--grace", "1s", "--yes"];
    let out = planrun(&s, cli, &server, &args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(server.unused_turns().is_empty(), "unused turns: {:?}\n{}", server.unused_turns(), text(&out));
    let ev = events(&out);

    // Attempt 1: both reviews' blocking findings sent the task back (a finding blocks under a
    // `pass` too), and reached the next attempt's prompt and the model in the resumed session.
    let reworks: Vec<&Value> = ev.iter().filter(|e| e["event"] == "rework" && e["task"] == "a").collect();
    assert_eq!(reworks.len(), 1, "{ev:?}");
    let reason = reworks[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("a.txt:1: not the word alpha (FINDING-TASK)") && reason.contains("FINDING-CODE"),
        "{reason}"
    );
    let prompt = s.repo.read(".planrun/prompts/a.2.md");
    assert!(prompt.contains("checked your work on task a"), "{prompt}");
    assert!(prompt.contains("[task-review] a.txt:1: not the word alpha (FINDING-TASK)"), "{prompt}");
    assert!(prompt.contains("[code-review] a.txt:1: a digit after the word (FINDING-CODE)"), "{prompt}");
    let requests = server.requests();
    let rework = requests.iter().find(|r| r.body.to_string().contains("checked your work on task a")).unwrap();
    assert!(rework.body.to_string().contains("FINDING-TASK"), "the finding reached the model");
    assert!(!text(&out).contains("gave no verdict"), "{}", text(&out));

    // Attempt 2: both passed; the advisory finding is reported; the task merged onto the
    // integration branch with the fixed file.
    assert!(ev.iter().any(|e| e["event"] == "advisory" && e["task"] == "a"), "{ev:?}");
    let finished = ev.iter().find(|e| e["event"] == "finished").unwrap_or_else(|| panic!("{}", text(&out)));
    let branch = finished["integration"].as_str().unwrap_or_else(|| panic!("{finished}"));
    assert_eq!(support::git(&s.repo, &["show", &format!("{branch}:a.txt")]), "alpha\n");
    assert_eq!(s.repo.states(), [("a".to_owned(), "done".to_owned())]);
    for name in ["a.1.task-review", "a.1.code-review", "a.2.task-review", "a.2.code-review"] {
        assert!(!s.repo.read(&format!(".planrun/logs/{name}.log")).is_empty(), "{name}");
    }

    // Four review runs, each a request of its own; the CLIs with a structured-output option
    // were held to the verdict's schema.
    let reviews: Vec<&Value> = requests
        .iter()
        .map(|r| &r.body)
        .filter(|b| {
            let b = b.to_string();
            b.contains("the task review:") || b.contains("the code review:")
        })
        .collect();
    assert!(reviews.len() >= 4, "{reviews:?}");
    for body in &reviews {
        match cli.name {
            "claude" => {
                let tools = body["tools"].to_string();
                assert!(tools.contains("StructuredOutput"), "{tools}");
            }
            "codex" => assert_eq!(body["text"]["format"]["type"], "json_schema", "{}", body["text"]),
            _ => {}
        }
    }
    assert!(!state_files(&s.repo).contains(cli.key));
}

/// The scenarios for each CLI, as `CLI::runs_a_plan` (implementing, without reviews),
/// `CLI::reviews` (implementing and reviewing), `CLI::provider_errors` and `CLI::hung_stream`.
macro_rules! cli_tests {
    ($name:ident, $cli:ident) => {
        mod $name {
            #[test]
            fn runs_a_plan() {
                super::three_tasks_with_a_resumed_rework(&super::$cli);
            }

            #[test]
            fn reviews() {
                super::reviews_send_back_then_pass(&super::$cli);
            }

            #[test]
            fn provider_errors() {
                super::a_rate_limit_pauses_the_agent_and_the_run_goes_on(&super::$cli);
                super::a_provider_error_stops_the_run_and_a_rerun_resumes(&super::$cli, 500, "scripted server error");
            }

            #[test]
            fn hung_stream() {
                super::a_hung_stream_is_stopped_and_the_task_goes_on(&super::$cli);
            }
        }
    };
}

cli_tests!(claude, CLAUDE);
cli_tests!(codex, CODEX);
cli_tests!(gemini, GEMINI);
cli_tests!(opencode, OPENCODE);

/// `planrun doctor` with `cli` pointed at `url`, and PATH holding the CLIs or only `/usr/bin:/bin`.
fn doctor(cli: &Cli, url: &str, with_clis: bool, args: &[&str]) -> (Option<i32>, Value, String) {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(support::bin());
    cmd.arg("doctor").args(args).env("NO_COLOR", "1");
    let path = if with_clis {
        let bin = planrun_testkit::agent_cli(cli.name).unwrap_or_else(|e| panic!("{e}"));
        format!("{}:/usr/bin:/bin", bin.parent().unwrap().display())
    } else {
        "/usr/bin:/bin".to_owned()
    };
    cmd.env("PATH", path);
    for v in ["XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "ANTHROPIC_API_KEY"] {
        cmd.env_remove(v);
    }
    for (k, v) in cli.env(home.path(), url) {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (out.status.code(), json, stdout)
}

#[test]
fn doctor_finds_each_cli_probes_it_and_says_what_to_fix() {
    let scenario = json!({"turns": [{"reply": {"kind": "text", "text": "OK"}, "usage": {"input_tokens": 12, "output_tokens": 1}}]});
    let server = ModelServer::start(ModelServer::scenario(&scenario.to_string()).unwrap()).unwrap();
    let (code, report, stdout) = doctor(&CLAUDE, &server.url(), true, &["--agent", "claude", "--probe", "--json"]);
    assert_eq!(code, Some(0), "{stdout}");
    let a = &report["agents"][0];
    assert_eq!(
        (a["agent"].as_str(), a["installed"].as_bool(), a["reachable"].as_bool()),
        (Some("claude"), Some(true), Some(true))
    );
    assert!(a["version"].as_str().unwrap().contains("2.1.197"), "{a}");
    assert!(a["credentials"].as_str().unwrap().contains("ANTHROPIC_API_KEY is set"), "{a}");
    assert_eq!(a["probe"]["ok"], true, "{a}");
    assert_eq!(a["probe"]["usage"]["input"].as_u64(), Some(12), "{a}");
    assert!(a["probe"]["session"].is_string(), "{a}");
    assert!(!stdout.contains(CLAUDE.key), "the key is never shown");
    assert_eq!(server.requests().len(), 1);

    // Nothing listens: the endpoint is reported, and the probe fails with the CLI's own error.
    let closed = "http://127.0.0.1:9";
    let (code, report, stdout) = doctor(&CLAUDE, closed, true, &["--agent", "claude", "--json"]);
    assert_eq!(code, Some(1), "{stdout}");
    let problems = report["agents"][0]["problems"].to_string();
    assert!(problems.contains("nothing answers at 127.0.0.1:9"), "{problems}");

    // Not installed: how to install it. The human form too.
    let (code, _, stdout) = doctor(&GEMINI, closed, false, &["--agent", "gemini"]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("gemini    missing") && stdout.contains("npm install -g @google/gemini-cli"), "{stdout}");
}

#[test]
fn a_cli_that_is_not_installed_is_one_clear_error_before_anything_runs() {
    let s = setup();
    let out = s.repo.cmd(&["run", "plan.md", "--agent", "codex"]).env("PATH", "/usr/bin:/bin").output().unwrap();
    assert_eq!(out.status.code(), Some(64), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the agent program `codex` was not found") && err.contains("npm install -g @openai/codex"),
        "{err}"
    );
    assert!(!s.repo.path().join(".planrun").exists(), "nothing was created");
}

#[test]
fn an_api_key_printed_by_an_agents_tool_is_redacted_in_every_log() {
    let s = setup();
    let bash =
        |cmd: &str| json!({"kind": "tool_use", "name": "Bash", "input": {"command": cmd, "description": "write"}});
    let turns = vec![
        tool_turn("MARK-A", bash("echo leaked=$ANTHROPIC_API_KEY; printf 'alpha\\n' > a.txt")),
        done_turn(&CLAUDE),
        tool_turn("MARK-B", bash("printf 'beta\\n' > b.txt")),
        done_turn(&CLAUDE),
        tool_turn("MARK-C", bash("printf 'gamma\\n' > c.txt")),
        done_turn(&CLAUDE),
    ];
    let scenario = json!({"turns": turns, "fallback": {"kind": "text", "text": "ok"}});
    let server = ModelServer::start(ModelServer::scenario(&scenario.to_string()).unwrap()).unwrap();
    // As root, claude refuses to skip permission checks unless IS_SANDBOX=1, and its narrower
    // mode refuses commands with `$VAR` expansions: this test runs the sandbox mode.
    let out = planrun_with(&s, &CLAUDE, &server, &run_args(&CLAUDE, &[]), &[("IS_SANDBOX", "1")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(s.repo.read("a.txt"), "alpha\n");
    // The tool really printed the key: the model server received it in the tool result.
    let tool_result = server.requests().iter().map(|r| r.body.to_string()).find(|b| b.contains("leaked=")).unwrap();
    assert!(tool_result.contains(&format!("leaked={}", CLAUDE.key)), "the agent's tool saw the key");
    // planrun's log of that run has it redacted, and no file planrun wrote holds it.
    let log = s.repo.read(".planrun/logs/a.1.implement.log");
    assert!(log.contains("leaked=[redacted]"), "{log}");
    assert!(!state_files(&s.repo).contains(CLAUDE.key));
    assert!(!String::from_utf8_lossy(&out.stdout).contains(CLAUDE.key));
}
