//! The scripted model server over real HTTP on 127.0.0.1 (a plain TCP client, no mock of the
//! transport): the Anthropic Messages stream for text and tool calls, the non-streamed form,
//! error bodies, turn matching and fallbacks, a dropped stream and a stalled one, the record of
//! every request; and the shapes of the OpenAI Responses and Gemini streams.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use planrun_testkit::{ModelServer, Reply};
use serde_json::{Value, json};
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

/// POSTs `body` to `path` with HTTP/1.1 and returns the status line's code and the raw body
/// (chunked encoding left in place: the tests look for whole SSE lines in it).
fn post(server: &ModelServer, path: &str, body: &Value, timeout: Duration) -> (u16, String) {
    let addr = server.url().trim_start_matches("http://").to_owned();
    let mut s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(timeout)).unwrap();
    let body = body.to_string();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\nx-api-key: sk-ant-test\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let code = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (code, text)
}

/// The `data:` payloads of the SSE events in a raw response, in order.
fn events(raw: &str) -> Vec<Value> {
    raw.lines().filter_map(|l| l.strip_prefix("data: ")).map(|d| serde_json::from_str(d).unwrap()).collect()
}

fn request(text: &str) -> Value {
    json!({"model": "claude-test", "stream": true, "max_tokens": 100, "messages": [{"role": "user", "content": text}]})
}

const SCENARIO: &str = r#"{
  "turns": [
    {"when": "write the file", "reply": {"kind": "tool_use", "name": "Write", "input": {"file_path": "/w/a.txt", "content": "hi"}},
     "usage": {"input_tokens": 100, "output_tokens": 20}},
    {"when": "tool_result", "reply": {"kind": "text", "text": "Done."}, "usage": {"input_tokens": 150, "output_tokens": 5}},
    {"reply": {"kind": "error", "status": 429, "message": "slow down"}}
  ],
  "fallback": {"kind": "text", "text": "fallback answer"}
}"#;

#[test]
fn a_tool_call_then_text_streams_like_the_messages_api_and_every_request_is_recorded() {
    let server = ModelServer::start(ModelServer::scenario(SCENARIO).unwrap()).unwrap();
    let (code, raw) =
        post(&server, "/v1/messages?beta=true", &request("please write the file"), Duration::from_secs(5));
    assert_eq!(code, 200, "{raw}");
    assert!(raw.to_ascii_lowercase().contains("content-type: text/event-stream"));
    let ev = events(&raw);
    let kinds: Vec<&str> = ev.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    assert_eq!(ev[0]["message"]["usage"]["input_tokens"], 100);
    assert_eq!(ev[1]["content_block"]["type"], "tool_use");
    assert_eq!(ev[1]["content_block"]["name"], "Write");
    let args: Value = serde_json::from_str(ev[2]["delta"]["partial_json"].as_str().unwrap()).unwrap();
    assert_eq!(args, json!({"file_path": "/w/a.txt", "content": "hi"}));
    assert_eq!(ev[4]["delta"]["stop_reason"], "tool_use");
    assert_eq!(ev[4]["usage"]["output_tokens"], 20);

    // The third turn has no condition but the second does: a request carrying a tool result
    // gets the second.
    let (_, raw) = post(&server, "/v1/messages", &request("here is the tool_result"), Duration::from_secs(5));
    let ev = events(&raw);
    assert_eq!(ev[2]["delta"], json!({"type": "text_delta", "text": "Done."}));
    assert_eq!(ev[4]["delta"]["stop_reason"], "end_turn");

    let rec = server.requests();
    assert_eq!(rec.len(), 2);
    assert_eq!(rec[0].path, "/v1/messages?beta=true");
    assert_eq!(rec[0].turn, Some(0));
    assert_eq!(rec[1].turn, Some(1));
    assert_eq!(rec[0].body["messages"][0]["content"], "please write the file");
    assert!(rec[0].headers.iter().any(|(k, v)| k == "x-api-key" && v == "sk-ant-test"));
    assert_eq!(server.unused_turns(), [2]);
}

#[test]
fn errors_use_the_providers_status_and_body_and_unmatched_requests_get_the_fallback() {
    let server = ModelServer::start(ModelServer::scenario(SCENARIO).unwrap()).unwrap();
    let (code, raw) = post(&server, "/v1/messages", &request("anything"), Duration::from_secs(5));
    assert_eq!(code, 429, "the only unconditional turn answers first: {raw}");
    let body: Value = serde_json::from_str(raw.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body, json!({"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}));
    let (code, raw) = post(&server, "/v1/messages", &request("anything else"), Duration::from_secs(5));
    assert_eq!(code, 200);
    assert!(events(&raw).iter().any(|e| e["delta"]["text"] == "fallback answer"), "{raw}");
    assert_eq!(server.requests()[1].turn, None);
}

#[test]
fn an_error_says_when_to_retry_only_when_the_scenario_does() {
    let scenario = r#"{"turns": [
      {"when": "now", "reply": {"kind": "error", "status": 429, "message": "again now", "retry_after_ms": 0}},
      {"when": "later", "reply": {"kind": "error", "status": 500, "message": "again later", "retry_after_ms": 1500}},
      {"when": "plain", "reply": {"kind": "error", "status": 429, "message": "no hint"}}
    ]}"#;
    let server = ModelServer::start(ModelServer::scenario(scenario).unwrap()).unwrap();
    let headers = |raw: &str| raw.split("\r\n\r\n").next().unwrap().to_ascii_lowercase();
    let (code, raw) = post(&server, "/v1/messages", &request("now"), Duration::from_secs(5));
    assert_eq!(code, 429);
    assert!(headers(&raw).contains("retry-after-ms: 0\r\n") && headers(&raw).contains("retry-after: 0\r\n"), "{raw}");
    let (code, raw) = post(&server, "/v1/responses", &json!({"input": "later"}), Duration::from_secs(5));
    assert_eq!(code, 500);
    assert!(
        headers(&raw).contains("retry-after-ms: 1500\r\n") && headers(&raw).contains("retry-after: 2\r\n"),
        "{raw}"
    );
    let (code, raw) = post(&server, "/v1/messages", &request("plain"), Duration::from_secs(5));
    assert_eq!(code, 429);
    assert!(!headers(&raw).contains("retry-after"), "{raw}");
}

#[test]
fn a_request_without_stream_gets_one_json_message() {
    let scenario = ModelServer::scenario(r#"{"turns": [{"reply": {"kind": "text", "text": "plain"}, "usage": {"input_tokens": 3, "output_tokens": 4}}]}"#).unwrap();
    let server = ModelServer::start(scenario).unwrap();
    let mut req = request("hi");
    req["stream"] = json!(false);
    let (code, raw) = post(&server, "/v1/messages", &req, Duration::from_secs(5));
    assert_eq!(code, 200);
    let body: Value = serde_json::from_str(raw.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["content"], json!([{"type": "text", "text": "plain"}]));
    assert_eq!(body["usage"], json!({"input_tokens": 3, "output_tokens": 4}));
    assert_eq!(body["model"], "claude-test");
}

#[test]
fn a_dropped_stream_ends_before_message_stop_and_a_stalled_one_sends_nothing_more() {
    let scenario = ModelServer::scenario(
        r#"{"turns": [{"when": "drop", "reply": {"kind": "drop", "text": "partial"}},
                      {"when": "stall", "reply": {"kind": "stall", "text": "partial"}}]}"#,
    )
    .unwrap();
    let server = ModelServer::start(scenario).unwrap();
    let (code, raw) = post(&server, "/v1/messages", &request("drop"), Duration::from_secs(5));
    assert_eq!(code, 200);
    let kinds: Vec<String> = events(&raw).iter().map(|e| e["type"].as_str().unwrap().to_owned()).collect();
    assert_eq!(kinds, ["message_start", "content_block_start", "content_block_delta"]);
    // The stall: the same three events, then silence until the client's own timeout.
    let started = std::time::Instant::now();
    let (_, raw) = post(&server, "/v1/messages", &request("stall"), Duration::from_millis(800));
    assert!(started.elapsed() >= Duration::from_millis(700), "the stream did not stall");
    assert_eq!(events(&raw).len(), 3, "{raw}");
    assert!(!raw.contains("message_stop"));
}

#[test]
fn a_bad_scenario_is_a_clear_error() {
    let e = ModelServer::scenario(r#"{"turns": [{"reply": {"kind": "poem"}}]}"#).unwrap_err();
    assert!(e.to_string().starts_with("the scenario is not valid"), "{e}");
    assert!(matches!(
        ModelServer::scenario(r#"{"turns": [{"reply": {"kind": "text", "text": "x"}}]}"#).unwrap().turns[0].reply,
        Reply::Text { .. }
    ));
}

#[test]
fn the_responses_and_gemini_streams_carry_the_call_and_the_usage() {
    let scenario = ModelServer::scenario(
        r#"{"turns": [
          {"when": "openai", "reply": {"kind": "tool_use", "name": "exec_command", "input": {"cmd": "ls"}},
           "usage": {"input_tokens": 7, "output_tokens": 3}},
          {"when": "gemini", "reply": {"kind": "text", "text": "hi"}, "usage": {"input_tokens": 5, "output_tokens": 2}},
          {"when": "limited", "reply": {"kind": "error", "status": 429, "message": "quota"}}
        ]}"#,
    )
    .unwrap();
    let server = ModelServer::start(scenario).unwrap();
    let (code, raw) =
        post(&server, "/v1/responses", &json!({"input": "openai", "stream": true}), Duration::from_secs(5));
    assert_eq!(code, 200);
    let ev = events(&raw);
    let kinds: Vec<&str> = ev.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["response.created", "response.output_item.added", "response.output_item.done", "response.completed"]
    );
    let item = &ev[2]["item"];
    assert_eq!((item["type"].as_str(), item["name"].as_str()), (Some("function_call"), Some("exec_command")));
    assert_eq!(serde_json::from_str::<Value>(item["arguments"].as_str().unwrap()).unwrap(), json!({"cmd": "ls"}));
    assert_eq!(ev[3]["response"]["usage"]["total_tokens"], 10);

    let path = "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse";
    let (code, raw) =
        post(&server, path, &json!({"contents": [{"parts": [{"text": "gemini"}]}]}), Duration::from_secs(5));
    assert_eq!(code, 200);
    let ev = events(&raw);
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["candidates"][0]["content"]["parts"][0]["text"], "hi");
    assert_eq!(ev[0]["usageMetadata"]["totalTokenCount"], 7);

    let (code, raw) = post(&server, path, &json!({"contents": "limited"}), Duration::from_secs(5));
    assert_eq!(code, 429);
    assert!(raw.contains("RESOURCE_EXHAUSTED") && raw.contains("quota"), "{raw}");
}

#[test]
fn unless_skips_a_turn_and_a_held_answer_waits_for_the_request_it_names_or_its_time() {
    let scenario = r#"{
      "turns": [
        {"when": "first", "unless": "skip me", "hold_until": "release", "hold_ms": 20000,
         "reply": {"kind": "text", "text": "HELD"}},
        {"when": "first", "reply": {"kind": "text", "text": "NOT HELD"}},
        {"when": "late", "hold_until": "never sent", "hold_ms": 300, "reply": {"kind": "text", "text": "LATE"}}
      ],
      "fallback": {"kind": "text", "text": "fallback answer"}
    }"#;
    let server = std::sync::Arc::new(ModelServer::start(ModelServer::scenario(scenario).unwrap()).unwrap());
    // `unless`: the first turn is not this request's.
    let (_, raw) = post(&server, "/v1/messages", &request("first, skip me"), Duration::from_secs(5));
    assert!(raw.contains("NOT HELD"), "{raw}");
    // The held answer goes out only once a request holding `release` has come.
    let s = std::sync::Arc::clone(&server);
    let held = std::thread::spawn(move || {
        let (_, raw) = post(&s, "/v1/messages", &request("first"), Duration::from_secs(20));
        (raw, std::time::Instant::now())
    });
    std::thread::sleep(Duration::from_millis(500));
    assert!(!held.is_finished(), "the answer was not held");
    let released = std::time::Instant::now();
    let (_, raw) = post(&server, "/v1/messages", &request("release it"), Duration::from_secs(5));
    assert!(raw.contains("fallback answer"), "{raw}");
    let (raw, answered) = held.join().unwrap();
    assert!(raw.contains(r#""HELD""#) && answered >= released, "{raw}");
    // Nothing names what a hold waits for: it ends after `hold_ms`.
    let started = std::time::Instant::now();
    let (_, raw) = post(&server, "/v1/messages", &request("late"), Duration::from_secs(5));
    assert!(raw.contains("LATE") && started.elapsed() >= Duration::from_millis(300), "{raw}");
    assert!(server.unused_turns().is_empty());
}
