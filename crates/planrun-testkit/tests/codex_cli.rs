//! The real Codex CLI (pinned by `.ci/agent-clis.sh`) against the scripted model server's
//! OpenAI Responses endpoint: it must run a shell command with its own `exec_command` tool in a
//! temporary git repository (sandboxed to the workspace), report the server's usage, and end
//! with a clear error when the server returns one. A missing CLI fails the test with what to run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::repo;
use planrun_testkit::ModelServer;
use serde_json::Value;
use std::path::Path;

/// `codex exec --json PROMPT` in `dir` with its own CODEX_HOME pointing at `server`.
fn run_codex(server: &ModelServer, dir: &Path, prompt: &str) -> (Option<i32>, Vec<Value>, String) {
    let home = dir.join(".codex-home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(
        home.join("config.toml"),
        format!(
            "model_provider = \"mock\"\nmodel = \"gpt-test\"\ncheck_for_update_on_startup = false\n\n\
             [model_providers.mock]\nname = \"mock\"\nbase_url = \"{}/v1\"\nenv_key = \"MOCK_API_KEY\"\n\
             wire_api = \"responses\"\nrequest_max_retries = 0\nstream_max_retries = 0\n\n[analytics]\nenabled = false\n",
            server.url()
        ),
    )
    .unwrap();
    let mut cmd = common::cli("codex");
    cmd.args(["exec", "--json", "--skip-git-repo-check", "--disable", "plugins", "--disable", "remote_plugin"])
        .args(["--disable", "apps", "-s", "workspace-write", prompt])
        .current_dir(dir)
        .env("CODEX_HOME", &home)
        .env("MOCK_API_KEY", "sk-openai-test-0000");
    let r = common::run(&mut cmd);
    (r.code, r.events, r.stderr)
}

#[test]
fn codex_runs_a_command_with_its_own_tool_and_reports_the_servers_usage() {
    let dir = repo();
    let scenario = r#"{"turns": [
      {"when": "Create hello.txt", "reply": {"kind": "tool_use", "name": "exec_command",
        "input": {"cmd": "printf 'hello from codex\\n' > hello.txt"}}, "usage": {"input_tokens": 100, "output_tokens": 20}},
      {"when": "function_call_output", "reply": {"kind": "text", "text": "Created hello.txt."},
        "usage": {"input_tokens": 150, "output_tokens": 10}}
    ]}"#;
    let server = ModelServer::start(ModelServer::scenario(scenario).unwrap()).unwrap();
    let (code, events, stderr) = run_codex(&server, dir.path(), "Create hello.txt with a greeting.");
    assert_eq!(code, Some(0), "stderr: {stderr}\nevents: {events:?}");
    assert_eq!(std::fs::read_to_string(dir.path().join("hello.txt")).unwrap(), "hello from codex\n");
    assert!(events.iter().any(|e| e["type"] == "thread.started" && e["thread_id"].is_string()));
    assert!(
        events.iter().any(|e| e["type"] == "item.completed" && e["item"]["type"] == "command_execution"),
        "{events:?}"
    );
    assert!(events.iter().any(|e| e["item"]["text"] == "Created hello.txt."), "{events:?}");
    let usage = &events.iter().rev().find(|e| e["type"] == "turn.completed").expect("turn.completed")["usage"];
    assert_eq!((usage["input_tokens"].as_u64(), usage["output_tokens"].as_u64()), (Some(250), Some(30)), "{usage}");
    let requests = server.requests();
    assert!(requests.iter().all(|r| r.path == "/v1/responses"));
    assert!(
        requests
            .iter()
            .any(|r| r.headers.iter().any(|(k, v)| k == "authorization" && v == "Bearer sk-openai-test-0000"))
    );
    assert!(server.unused_turns().is_empty());
}

#[test]
fn a_rate_limit_ends_codex_with_an_error_event() {
    let dir = repo();
    let scenario = r#"{"turns": [{"reply": {"kind": "error", "status": 429, "message": "scripted rate limit"}}],
                       "fallback": {"kind": "error", "status": 429, "message": "scripted rate limit"}}"#;
    let server = ModelServer::start(ModelServer::scenario(scenario).unwrap()).unwrap();
    let (code, events, stderr) = run_codex(&server, dir.path(), "Do anything.");
    assert_ne!(code, Some(0), "stderr: {stderr}\nevents: {events:?}");
    assert!(
        events.iter().any(|e| e["type"] == "turn.failed" || e["type"] == "error"),
        "stderr: {stderr}\nevents: {events:?}"
    );
}
