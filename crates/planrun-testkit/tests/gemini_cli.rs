//! The real Gemini CLI (pinned by `.ci/agent-clis.sh`) against the scripted model server's
//! `streamGenerateContent` endpoint: it must write a file with its own `write_file` tool in a
//! temporary git repository, report the server's usage, and end with a clear error when the
//! server returns one. A missing CLI fails the test with what to run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::repo;
use planrun_testkit::ModelServer;
use serde_json::Value;
use std::path::Path;

/// `gemini -p PROMPT -o stream-json` in `dir` with a HOME of its own selecting API-key auth. A
/// model is named: the default `auto` first asks a router model, which a scenario would have to
/// answer too.
fn run_gemini(server: &ModelServer, dir: &Path, prompt: &str) -> (Option<i32>, Vec<Value>, String) {
    let home = dir.join(".home");
    std::fs::create_dir_all(home.join(".gemini")).unwrap();
    std::fs::write(home.join(".gemini/settings.json"), r#"{"security": {"auth": {"selectedType": "gemini-api-key"}}}"#)
        .unwrap();
    let mut cmd = common::cli("gemini");
    cmd.args(["-p", prompt, "-o", "stream-json", "--yolo", "--skip-trust", "-m", "gemini-2.5-pro"])
        .current_dir(dir)
        .env("HOME", &home)
        .env("GOOGLE_GEMINI_BASE_URL", server.url())
        .env("GEMINI_API_KEY", "gemini-test-0000");
    let r = common::run(&mut cmd);
    (r.code, r.events, r.stderr)
}

#[test]
fn gemini_writes_a_file_with_its_own_tool_and_reports_the_servers_usage() {
    let dir = repo();
    let file = dir.path().join("hello.txt");
    let scenario = format!(
        r#"{{"turns": [
          {{"when": "Create hello.txt", "reply": {{"kind": "tool_use", "name": "write_file",
            "input": {{"file_path": "{}", "content": "hello from gemini\n"}}}}, "usage": {{"input_tokens": 100, "output_tokens": 20}}}},
          {{"when": "functionResponse", "reply": {{"kind": "text", "text": "Wrote hello.txt."}},
            "usage": {{"input_tokens": 150, "output_tokens": 10}}}}
        ]}}"#,
        file.display()
    );
    let server = ModelServer::start(ModelServer::scenario(&scenario).unwrap()).unwrap();
    let (code, events, stderr) = run_gemini(&server, dir.path(), "Create hello.txt with a greeting.");
    assert_eq!(code, Some(0), "stderr: {stderr}\nevents: {events:?}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "hello from gemini\n");
    assert!(events.iter().any(|e| e["type"] == "tool_use"), "{events:?}");
    let result = events.iter().find(|e| e["type"] == "result").expect("a result event");
    assert_eq!(result["status"], "success");
    assert_eq!(
        (result["stats"]["input_tokens"].as_u64(), result["stats"]["output_tokens"].as_u64()),
        (Some(250), Some(30))
    );
    let requests = server.requests();
    assert!(requests.iter().all(|r| r.path.starts_with("/v1beta/models/gemini-2.5-pro:streamGenerateContent")));
    assert!(requests.iter().any(|r| r.headers.iter().any(|(k, v)| k == "x-goog-api-key" && v == "gemini-test-0000")));
    assert!(server.unused_turns().is_empty());
}

#[test]
fn a_server_error_ends_gemini_with_an_error() {
    let dir = repo();
    let scenario = r#"{"turns": [], "fallback": {"kind": "error", "status": 400, "message": "scripted refusal"}}"#;
    let server = ModelServer::start(ModelServer::scenario(scenario).unwrap()).unwrap();
    let (code, events, stderr) = run_gemini(&server, dir.path(), "Do anything.");
    assert_ne!(code, Some(0), "stderr: {stderr}\nevents: {events:?}");
    assert!(
        stderr.contains("scripted refusal") || format!("{events:?}").contains("scripted refusal"),
        "stderr: {stderr}\nevents: {events:?}"
    );
}
