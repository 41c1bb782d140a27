//! The real Claude Code CLI (pinned by `.ci/agent-clis.sh`) against the scripted model server:
//! it must write a file with its own Write tool in a temporary git repository, report the
//! server's usage, and end with a clear error when the server returns one. The CLI is found in
//! the cache `.ci/agent-clis.sh` fills (`PLANRUN_AGENT_CLIS` or ~/.cache/planrun/agent-clis); a
//! missing CLI fails the test with what to run, rather than skipping it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::repo;
use planrun_testkit::ModelServer;
use serde_json::Value;
use std::path::Path;

/// `claude -p PROMPT` headless in `dir`, pointed at `server`, quiet and offline.
fn run_claude(server: &ModelServer, dir: &Path, prompt: &str) -> (Option<i32>, Vec<Value>, String) {
    let mut cmd = common::cli("claude");
    cmd.args(["-p", prompt, "--output-format", "stream-json", "--verbose", "--permission-mode", "acceptEdits"])
        .current_dir(dir)
        .env("ANTHROPIC_BASE_URL", server.url())
        .env("ANTHROPIC_API_KEY", "sk-ant-test-0000")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env("DISABLE_TELEMETRY", "1")
        .env("DISABLE_AUTOUPDATER", "1")
        .env("DISABLE_ERROR_REPORTING", "1")
        .env("CLAUDE_CODE_MAX_RETRIES", "0")
        .env("HOME", dir.join(".home"));
    let r = common::run(&mut cmd);
    (r.code, r.events, r.stderr)
}

#[test]
fn claude_writes_a_file_with_its_own_tool_and_reports_the_servers_usage() {
    let dir = repo();
    let file = dir.path().join("hello.txt");
    let scenario = format!(
        r#"{{"turns": [
          {{"when": "Create hello.txt", "reply": {{"kind": "tool_use", "name": "Write",
            "input": {{"file_path": "{}", "content": "hello from the scripted server\n"}}}},
            "usage": {{"input_tokens": 100, "output_tokens": 20}}}},
          {{"when": "tool_result", "reply": {{"kind": "text", "text": "I wrote hello.txt."}},
            "usage": {{"input_tokens": 150, "output_tokens": 10}}}}
        ]}}"#,
        file.display()
    );
    let server = ModelServer::start(ModelServer::scenario(&scenario).unwrap()).unwrap();
    let (code, events, stderr) = run_claude(&server, dir.path(), "Create hello.txt with a greeting.");
    assert_eq!(code, Some(0), "stderr: {stderr}\nevents: {events:?}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "hello from the scripted server\n");
    let result = events.iter().find(|e| e["type"] == "result").expect("a result event");
    assert_eq!(result["is_error"], false);
    assert_eq!(result["result"], "I wrote hello.txt.");
    assert_eq!(result["usage"]["input_tokens"], 250);
    assert_eq!(result["usage"]["output_tokens"], 30);
    assert!(result["session_id"].as_str().is_some_and(|s| !s.is_empty()));
    let requests = server.requests();
    assert!(requests.iter().all(|r| r.path.starts_with("/v1/messages")));
    assert!(requests.iter().any(|r| r.headers.iter().any(|(k, v)| k == "x-api-key" && v == "sk-ant-test-0000")));
    assert!(server.unused_turns().is_empty(), "both turns were used: {:?}", server.unused_turns());
}

#[test]
fn an_api_error_ends_claude_with_an_error_result() {
    let dir = repo();
    let scenario =
        r#"{"turns": [{"reply": {"kind": "error", "status": 400, "message": "the scripted server refuses"}}]}"#;
    let server = ModelServer::start(ModelServer::scenario(scenario).unwrap()).unwrap();
    let (code, events, stderr) = run_claude(&server, dir.path(), "Do anything.");
    assert_eq!(code, Some(1), "stderr: {stderr}\nevents: {events:?}");
    let result = events.iter().find(|e| e["type"] == "result").expect("a result event");
    assert_eq!(result["is_error"], true, "{result}");
    assert!(result.to_string().contains("the scripted server refuses"), "{result}");
}
