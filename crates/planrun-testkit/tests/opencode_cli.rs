//! The real opencode CLI (pinned by `.ci/agent-clis.sh`) against the scripted model server's
//! Anthropic Messages endpoint, configured as a provider through `OPENCODE_CONFIG_CONTENT`: it
//! must write a file with its own `write` tool in a temporary git repository, report the
//! server's usage per step, and end with a clear error when the server returns one: at once for
//! a 400, after its five retries for a 429 (made immediate by the server's `retry-after-ms: 0`).
//! A missing CLI fails the test with what to run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::repo;
use planrun_testkit::ModelServer;
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

/// `opencode run --format json PROMPT` in `dir` with a HOME of its own, the scripted server as
/// provider `mock`, and nothing that reaches the network: no models list download, no update
/// check, and no background install of `@opencode-ai/plugin` into its config folder (skipped
/// when that folder's `node_modules` and `package-lock.json` already list it; the registry is a
/// closed port should a new version try anyway). `--dir`, because opencode takes its project
/// folder from `$PWD`, not from the working directory it is started in; `--title`, because
/// without one it first asks the model for a session title. The CLI itself is found before
/// `XDG_CACHE_HOME` is removed from its environment.
fn run_opencode(server: &ModelServer, dir: &Path, prompt: &str) -> (Option<i32>, Vec<Value>, String) {
    let home = tempfile::tempdir().unwrap();
    planrun_testkit::opencode_offline_home(home.path()).unwrap();
    let mut config = planrun_testkit::opencode_config(&server.url(), "sk-ant-test-0000");
    config["permission"] = json!({"edit": "allow", "bash": "allow", "external_directory": "deny"});
    let mut cmd = common::cli("opencode");
    cmd.args(["run", "--format", "json", "--title", "planrun test", "-m", "mock/mock-model", "--dir"])
        .arg(dir)
        .arg(prompt)
        .current_dir(dir)
        .env("HOME", home.path())
        // Its config, data, state and cache folders follow these when they are set.
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_DATA_HOME")
        .env_remove("XDG_STATE_HOME")
        .env_remove("XDG_CACHE_HOME")
        .env("OPENCODE_CONFIG_CONTENT", config.to_string())
        .env("OPENCODE_DISABLE_AUTOUPDATE", "1")
        .env("OPENCODE_DISABLE_MODELS_FETCH", "1")
        .env("npm_config_registry", "http://127.0.0.1:9/");
    let r = common::run(&mut cmd);
    (r.code, r.events, r.stderr)
}

#[test]
fn opencode_writes_a_file_with_its_own_tool_and_reports_the_servers_usage() {
    let dir = repo();
    let file = dir.path().join("hello.txt");
    let scenario = format!(
        r#"{{"turns": [
          {{"when": "Create hello.txt", "reply": {{"kind": "tool_use", "name": "write",
            "input": {{"filePath": "{}", "content": "hello from opencode\n"}}}}, "usage": {{"input_tokens": 100, "output_tokens": 20}}}},
          {{"when": "tool_result", "reply": {{"kind": "text", "text": "I wrote hello.txt."}},
            "usage": {{"input_tokens": 150, "output_tokens": 10}}}}
        ]}}"#,
        file.display()
    );
    let server = ModelServer::start(ModelServer::scenario(&scenario).unwrap()).unwrap();
    let (code, events, stderr) = run_opencode(&server, dir.path(), "Create hello.txt with a greeting.");
    assert_eq!(code, Some(0), "stderr: {stderr}\nevents: {events:?}");
    assert_eq!(std::fs::read_to_string(&file).ok().as_deref(), Some("hello from opencode\n"), "{events:?}");

    let session = events[0]["sessionID"].as_str().unwrap();
    assert!(session.starts_with("ses_"), "{session}");
    assert!(events.iter().all(|e| e["sessionID"] == session && e["part"]["sessionID"] == session), "{events:?}");
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["step_start", "tool_use", "step_finish", "step_start", "text", "step_finish"], "{events:?}");
    let tool = &events[1]["part"];
    assert_eq!((tool["tool"].as_str(), tool["state"]["status"].as_str()), (Some("write"), Some("completed")), "{tool}");
    assert_eq!(tool["state"]["input"]["filePath"], file.display().to_string());
    assert_eq!(events[4]["part"]["text"], "I wrote hello.txt.");
    let steps: Vec<(&str, Option<u64>, Option<u64>)> = events
        .iter()
        .filter(|e| e["type"] == "step_finish")
        .map(|e| {
            let p = &e["part"];
            (p["reason"].as_str().unwrap(), p["tokens"]["input"].as_u64(), p["tokens"]["output"].as_u64())
        })
        .collect();
    assert_eq!(steps, [("tool-calls", Some(100), Some(20)), ("stop", Some(150), Some(10))]);

    let requests = server.requests();
    assert_eq!(requests.len(), 2, "no title request: {:?}", requests.iter().map(|r| &r.body).collect::<Vec<_>>());
    assert!(requests.iter().all(|r| r.path == "/v1/messages" && r.body["model"] == "mock-model"));
    assert!(requests.iter().all(|r| r.headers.iter().any(|(k, v)| k == "x-api-key" && v == "sk-ant-test-0000")));
    assert!(server.unused_turns().is_empty(), "both turns were used: {:?}", server.unused_turns());
}

#[test]
fn an_api_error_ends_opencode_at_once_with_an_error_event() {
    let dir = repo();
    let scenario = r#"{"turns": [], "fallback": {"kind": "error", "status": 400, "message": "scripted refusal"}}"#;
    let server = ModelServer::start(ModelServer::scenario(scenario).unwrap()).unwrap();
    let started = Instant::now();
    let (code, events, stderr) = run_opencode(&server, dir.path(), "Do anything.");
    assert_eq!(code, Some(1), "stderr: {stderr}\nevents: {events:?}");
    assert!(started.elapsed() < Duration::from_secs(30), "a 400 is not retried: {:?}", started.elapsed());
    let error = events.iter().find(|e| e["type"] == "error").expect("an error event");
    assert_eq!(error["error"]["name"], "APIError", "{error}");
    assert_eq!(error["error"]["data"]["statusCode"], 400, "{error}");
    assert_eq!(error["error"]["data"]["message"], "scripted refusal", "{error}");
    assert!(error["sessionID"].as_str().is_some_and(|s| s.starts_with("ses_")), "{error}");
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn a_rate_limit_is_retried_five_times_then_ends_opencode_with_an_error_event() {
    let dir = repo();
    let scenario = r#"{"turns": [],
      "fallback": {"kind": "error", "status": 429, "message": "scripted rate limit", "retry_after_ms": 0}}"#;
    let server = ModelServer::start(ModelServer::scenario(scenario).unwrap()).unwrap();
    let (code, events, stderr) = run_opencode(&server, dir.path(), "Do anything.");
    assert_eq!(code, Some(1), "stderr: {stderr}\nevents: {events:?}");
    let error = events.iter().find(|e| e["type"] == "error").expect("an error event");
    assert_eq!(
        (error["error"]["data"]["statusCode"].as_u64(), error["error"]["data"]["isRetryable"].as_bool()),
        (Some(429), Some(true))
    );
    assert_eq!(server.requests().len(), 6, "the first request and five retries");
}
