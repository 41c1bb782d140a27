//! The test kit's scripted model server: it speaks a model provider's wire format on 127.0.0.1
//! and answers each request from a scenario (which text or tool call to return for which
//! request, or an error, a dropped stream, a stall), recording every request for assertions.
//! Real agent CLIs are pointed at it, so tests drive them for real without a network or a key.
//! Today: the Anthropic Messages API (streamed with SSE, or as one JSON body), the OpenAI
//! Responses API (streamed with SSE) and Gemini's `streamGenerateContent` (SSE). Used only by tests; never part of the release binary.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use thiserror::Error;

/// Where `.ci/agent-clis.sh` installs the pinned agent CLIs: `PLANRUN_AGENT_CLIS`, else
/// `$XDG_CACHE_HOME/planrun/agent-clis`, else `~/.cache/planrun/agent-clis`.
pub fn agent_clis_dir() -> std::path::PathBuf {
    if let Some(dir) = std::env::var_os("PLANRUN_AGENT_CLIS") {
        return dir.into();
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache"));
    cache.join("planrun/agent-clis")
}

/// The installed agent CLI `name` (`claude`, `codex`, `gemini`, `opencode`), or what to run to
/// install it.
pub fn agent_cli(name: &str) -> Result<std::path::PathBuf, String> {
    let bin = agent_clis_dir().join("node_modules/.bin").join(name);
    if bin.exists() {
        Ok(bin)
    } else {
        Err(format!("the `{name}` CLI is not installed at {}: run `bash .ci/agent-clis.sh`", bin.display()))
    }
}

/// Prepares `home` so that opencode run with `HOME=home` stays offline: its background install
/// of `@opencode-ai/plugin` into its config folder is skipped when that folder's `node_modules`
/// and `package-lock.json` already list it. (Also set `npm_config_registry` to a closed port,
/// `OPENCODE_DISABLE_MODELS_FETCH=1` and `OPENCODE_DISABLE_AUTOUPDATE=1`.)
pub fn opencode_offline_home(home: &std::path::Path) -> std::io::Result<()> {
    let config_dir = home.join(".config/opencode");
    std::fs::create_dir_all(config_dir.join("node_modules"))?;
    std::fs::write(
        config_dir.join("package-lock.json"),
        r#"{"packages": {"": {"dependencies": {"@opencode-ai/plugin": "*"}}}}"#,
    )
}

/// An opencode configuration (`OPENCODE_CONFIG_CONTENT`) whose provider `mock`, model
/// `mock-model` (`-m mock/mock-model`), is the Anthropic endpoint of the server at `url`.
pub fn opencode_config(url: &str, api_key: &str) -> Value {
    json!({
        "$schema": "https://opencode.ai/config.json",
        "autoupdate": false,
        "share": "disabled",
        "provider": {"mock": {
            "npm": "@ai-sdk/anthropic",
            "name": "Scripted server",
            "options": {"baseURL": format!("{url}/v1"), "apiKey": api_key},
            "models": {"mock-model": {"name": "Scripted model"}},
        }},
    })
}

/// What the server answers, in order.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Scenario {
    pub turns: Vec<Turn>,
    /// The answer to a request no turn matches (e.g. an agent's background title request).
    #[serde(default)]
    pub fallback: Option<Reply>,
}

/// One answer, given to the first request that matches it and only once.
#[derive(Debug, Clone, Deserialize)]
pub struct Turn {
    /// Match only a request whose body contains this text.
    #[serde(default)]
    pub when: Option<String>,
    /// Match only a request whose body does not contain this text.
    #[serde(default)]
    pub unless: Option<String>,
    /// Hold the answer back until the server has received a request holding this text (the
    /// held request itself, an earlier one, or one that comes while it waits), at most
    /// `hold_ms`: how a test keeps an agent at a chosen point until another one gets somewhere.
    #[serde(default)]
    pub hold_until: Option<String>,
    /// The longest `hold_until` waits (default 30 s); then the answer goes out anyway.
    #[serde(default)]
    pub hold_ms: Option<u64>,
    pub reply: Reply,
    /// The usage the answer reports.
    #[serde(default)]
    pub usage: Usage,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
pub struct Usage {
    #[serde(default)]
    pub input_tokens: u64,
    #[serde(default)]
    pub output_tokens: u64,
}

/// How the server answers.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reply {
    /// A text answer that ends the turn.
    Text { text: String },
    /// A tool call (the agent runs the tool and sends the result in its next request).
    ToolUse { name: String, input: Value },
    /// An HTTP error with the provider's error body (e.g. 429 rate limit, 500). With
    /// `retry_after_ms`, the response also says when to retry (`retry-after-ms`, and `retry-after`
    /// in whole seconds); opencode waits that long between its retries, so 0 makes them immediate.
    Error {
        status: u16,
        message: String,
        #[serde(default)]
        retry_after_ms: Option<u64>,
    },
    /// Starts the stream, sends `text`, then sends nothing more, ever.
    Stall { text: String },
    /// Starts the stream, sends `text`, then closes the connection mid-stream.
    Drop { text: String },
}

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    /// Header names in lower case with their values; API keys are kept, so tests can check
    /// which key was sent (they are test keys).
    pub headers: Vec<(String, String)>,
    pub body: Value,
    /// Which turn answered it (`None`: the fallback).
    pub turn: Option<usize>,
}

#[derive(Debug, Error)]
pub enum ServerError {
    #[error("cannot start the model server: {0}")]
    Start(#[source] std::io::Error),
    #[error("the scenario is not valid: {0}")]
    Scenario(#[source] serde_json::Error),
}

#[derive(Debug, Default)]
struct Shared {
    scenario: Scenario,
    used: Vec<bool>,
    requests: Vec<Recorded>,
}

/// A running server; it stops when dropped.
#[derive(Debug)]
pub struct ModelServer {
    addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ModelServer {
    /// Parses a scenario from JSON.
    pub fn scenario(json: &str) -> Result<Scenario, ServerError> {
        serde_json::from_str(json).map_err(ServerError::Scenario)
    }

    /// Starts a server on 127.0.0.1 with a free port, on a thread of its own.
    pub fn start(scenario: Scenario) -> Result<Self, ServerError> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(ServerError::Start)?;
        listener.set_nonblocking(true).map_err(ServerError::Start)?;
        let addr = listener.local_addr().map_err(ServerError::Start)?;
        let used = vec![false; scenario.turns.len()];
        let shared = Arc::new(Mutex::new(Shared { scenario, used, requests: Vec::new() }));
        let app = Router::new()
            .route("/v1/messages", post(anthropic))
            .route("/v1/responses", post(openai))
            .route("/v1beta/models/{model_action}", post(gemini))
            .with_state(Arc::clone(&shared));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(ServerError::Start)?;
        let thread = std::thread::Builder::new()
            .name("model-server".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
                    let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                        let _ = stopped.await;
                    });
                    let _ = serve.await;
                });
            })
            .map_err(ServerError::Start)?;
        Ok(Self { addr, shared, stop: Some(stop), thread: Some(thread) })
    }

    /// `http://127.0.0.1:PORT`, the base URL to give an agent.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.lock().map(|s| s.requests.clone()).unwrap_or_default()
    }

    /// Turns not used yet (a test usually expects none).
    pub fn unused_turns(&self) -> Vec<usize> {
        self.shared
            .lock()
            .map(|s| s.used.iter().enumerate().filter(|(_, u)| !**u).map(|(i, _)| i).collect())
            .unwrap_or_default()
    }
}

impl Drop for ModelServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // A stalled stream keeps its connection open; the thread is left to end with the process
        // rather than block the test that drops the server.
        drop(self.thread.take());
    }
}

/// What a request is answered with, and what the answer waits for first.
struct Answer {
    reply: Reply,
    usage: Usage,
    /// `hold_until` and how long at most.
    hold: Option<(String, Duration)>,
}

/// How long a `hold_until` waits when the turn does not say.
const HOLD_DEFAULT: Duration = Duration::from_secs(30);

/// Waits until a received request holds the text, or the time is up.
async fn held(shared: &Mutex<Shared>, hold: Option<(String, Duration)>) {
    let Some((text, most)) = hold else { return };
    let until = tokio::time::Instant::now() + most;
    loop {
        let seen = shared
            .lock()
            .map(|s| s.requests.iter().any(|r| r.body.to_string().contains(text.as_str())))
            .unwrap_or(true);
        if seen || tokio::time::Instant::now() >= until {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Records the request, picks its answer and waits as its turn says.
async fn answer(shared: &Mutex<Shared>, uri: &Uri, headers: &HeaderMap, body: &Bytes) -> (Reply, Usage) {
    let a = pick(shared, uri, headers, body);
    held(shared, a.hold).await;
    (a.reply, a.usage)
}

/// Records the request and picks its answer.
fn pick(shared: &Mutex<Shared>, uri: &Uri, headers: &HeaderMap, body: &Bytes) -> Answer {
    let text = String::from_utf8_lossy(body);
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let Ok(mut s) = shared.lock() else {
        return Answer {
            reply: Reply::Error { status: 500, message: "the scenario lock is poisoned".into(), retry_after_ms: None },
            usage: Usage::default(),
            hold: None,
        };
    };
    let chosen = s
        .scenario
        .turns
        .iter()
        .enumerate()
        .find(|(i, t)| {
            !s.used.get(*i).copied().unwrap_or(true)
                && t.when.as_ref().is_none_or(|w| text.contains(w.as_str()))
                && t.unless.as_ref().is_none_or(|u| !text.contains(u.as_str()))
        })
        .map(|(i, _)| i);
    if let Some(i) = chosen {
        if let Some(u) = s.used.get_mut(i) {
            *u = true;
        }
    }
    let headers =
        headers.iter().map(|(k, v)| (k.as_str().to_ascii_lowercase(), v.to_str().unwrap_or("").to_owned())).collect();
    s.requests.push(Recorded { path: uri.to_string(), headers, body, turn: chosen });
    match chosen.and_then(|i| s.scenario.turns.get(i)) {
        Some(t) => Answer {
            reply: t.reply.clone(),
            usage: t.usage,
            hold: t.hold_until.clone().map(|h| (h, t.hold_ms.map_or(HOLD_DEFAULT, Duration::from_millis))),
        },
        None => Answer {
            reply: s.scenario.fallback.clone().unwrap_or(Reply::Text { text: "OK".into() }),
            usage: Usage { input_tokens: 1, output_tokens: 1 },
            hold: None,
        },
    }
}

/// `POST /v1/messages`: the Anthropic Messages API.
async fn anthropic(State(shared): State<Arc<Mutex<Shared>>>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let streaming =
        serde_json::from_slice::<Value>(&body).ok().and_then(|b| b.get("stream")?.as_bool()).unwrap_or(false);
    let model = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|b| b.get("model")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| "mock-model".into());
    let (reply, usage) = answer(&shared, &uri, &headers, &body).await;
    if let Reply::Error { status, message, retry_after_ms } = &reply {
        let kind = match status {
            429 => "rate_limit_error",
            529 => "overloaded_error",
            400 => "invalid_request_error",
            _ => "api_error",
        };
        let body = json!({"type": "error", "error": {"type": kind, "message": message}});
        return error_response(*status, &body, *retry_after_ms);
    }
    let id = format!("msg_mock_{}", shared.lock().map(|s| s.requests.len()).unwrap_or(0));
    let blocks = anthropic_blocks(&reply);
    let stop_reason = if matches!(reply, Reply::ToolUse { .. }) { "tool_use" } else { "end_turn" };
    if !streaming {
        let body = json!({
            "id": id, "type": "message", "role": "assistant", "model": model,
            "content": blocks, "stop_reason": stop_reason, "stop_sequence": null,
            "usage": {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens},
        });
        return (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response();
    }
    let mut events: Vec<String> = Vec::new();
    let sse = |name: &str, data: Value| format!("event: {name}\ndata: {data}\n\n");
    events.push(sse(
        "message_start",
        json!({"type": "message_start", "message": {
            "id": id, "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": usage.input_tokens, "output_tokens": 1}}}),
    ));
    for (index, block) in blocks.iter().enumerate() {
        let (start, delta) = match block.get("type").and_then(Value::as_str) {
            Some("tool_use") => (
                json!({"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}),
                json!({"type": "input_json_delta", "partial_json": block["input"].to_string()}),
            ),
            _ => (json!({"type": "text", "text": ""}), json!({"type": "text_delta", "text": block["text"]})),
        };
        events.push(sse(
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": start}),
        ));
        events.push(sse("content_block_delta", json!({"type": "content_block_delta", "index": index, "delta": delta})));
        events.push(sse("content_block_stop", json!({"type": "content_block_stop", "index": index})));
    }
    events.push(sse(
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": null},
               "usage": {"output_tokens": usage.output_tokens}}),
    ));
    events.push(sse("message_stop", json!({"type": "message_stop"})));
    let cut = match &reply {
        // message_start and the first block's start and delta, then the fault.
        Reply::Stall { .. } | Reply::Drop { .. } => Some(3),
        _ => None,
    };
    stream(events, cut, matches!(reply, Reply::Stall { .. }))
}

/// `POST /v1/responses`: the OpenAI Responses API, streamed as data-only SSE.
async fn openai(State(shared): State<Arc<Mutex<Shared>>>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let (reply, usage) = answer(&shared, &uri, &headers, &body).await;
    let n = shared.lock().map(|s| s.requests.len()).unwrap_or(0);
    if let Reply::Error { status, message, retry_after_ms } = &reply {
        let kind = if *status == 429 { "rate_limit_exceeded" } else { "server_error" };
        let body = json!({"error": {"message": message, "type": kind, "code": kind}});
        return error_response(*status, &body, *retry_after_ms);
    }
    let item = match &reply {
        Reply::ToolUse { name, input } => json!({
            "type": "function_call", "id": format!("fc_{n}"), "call_id": format!("call_{n}"),
            "name": name, "arguments": input.to_string(), "status": "completed"}),
        Reply::Text { text } | Reply::Stall { text } | Reply::Drop { text } => json!({
            "type": "message", "id": format!("msg_{n}"), "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}]}),
        Reply::Error { .. } => Value::Null,
    };
    let id = format!("resp_{n}");
    let data = |v: Value| format!("data: {v}\n\n");
    let events = vec![
        data(
            json!({"type": "response.created", "response": {"id": id, "object": "response", "status": "in_progress", "output": []}}),
        ),
        data(json!({"type": "response.output_item.added", "output_index": 0, "item": item})),
        data(json!({"type": "response.output_item.done", "output_index": 0, "item": item})),
        data(json!({"type": "response.completed", "response": {
            "id": id, "object": "response", "status": "completed", "output": [item],
            "usage": {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens,
                      "total_tokens": usage.input_tokens + usage.output_tokens,
                      "input_tokens_details": {"cached_tokens": 0},
                      "output_tokens_details": {"reasoning_tokens": 0}}}})),
    ];
    let cut = matches!(reply, Reply::Stall { .. } | Reply::Drop { .. }).then_some(2);
    stream(events, cut, matches!(reply, Reply::Stall { .. }))
}

/// `POST /v1beta/models/MODEL:streamGenerateContent?alt=sse`: Gemini, streamed as data-only SSE
/// (`:generateContent` gets the same chunk as one JSON body).
async fn gemini(State(shared): State<Arc<Mutex<Shared>>>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let (reply, usage) = answer(&shared, &uri, &headers, &body).await;
    if let Reply::Error { status, message, retry_after_ms } = &reply {
        let kind = if *status == 429 { "RESOURCE_EXHAUSTED" } else { "INTERNAL" };
        let body = json!({"error": {"code": status, "message": message, "status": kind}});
        return error_response(*status, &body, *retry_after_ms);
    }
    let part = match &reply {
        Reply::ToolUse { name, input } => json!({"functionCall": {"name": name, "args": input}}),
        Reply::Text { text } | Reply::Stall { text } | Reply::Drop { text } => json!({"text": text}),
        Reply::Error { .. } => Value::Null,
    };
    let chunk = json!({
        "candidates": [{"content": {"role": "model", "parts": [part]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": usage.input_tokens, "candidatesTokenCount": usage.output_tokens,
                          "totalTokenCount": usage.input_tokens + usage.output_tokens},
        "modelVersion": "gemini-mock",
    });
    if !uri.path().ends_with(":streamGenerateContent") {
        return (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], chunk.to_string()).into_response();
    }
    let events = vec![format!("data: {chunk}\r\n\r\n")];
    let cut = matches!(reply, Reply::Stall { .. } | Reply::Drop { .. }).then_some(0);
    stream(events, cut, matches!(reply, Reply::Stall { .. }))
}

/// An error `status` with a JSON `body`, saying when to retry if the scenario does.
fn error_response(status: u16, body: &Value, retry_after_ms: Option<u64>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response();
    if let Some(ms) = retry_after_ms {
        let headers = response.headers_mut();
        headers.insert("retry-after-ms", ms.into());
        headers.insert(header::RETRY_AFTER, ms.div_ceil(1000).into());
    }
    response
}

fn anthropic_blocks(reply: &Reply) -> Vec<Value> {
    match reply {
        Reply::Text { text } | Reply::Stall { text } | Reply::Drop { text } => {
            vec![json!({"type": "text", "text": text})]
        }
        Reply::ToolUse { name, input } => {
            vec![
                json!({"type": "tool_use", "id": format!("toolu_{name}_{}", input.to_string().len()), "name": name, "input": input}),
            ]
        }
        Reply::Error { .. } => Vec::new(),
    }
}

/// An SSE response of `events`; with `cut`, only the first `cut` events are sent, then the
/// stream either hangs (`stall`) or ends abruptly.
fn stream(events: Vec<String>, cut: Option<usize>, stall: bool) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(64);
    tokio::spawn(async move {
        let n = cut.unwrap_or(events.len());
        for e in events.into_iter().take(n) {
            if tx.send(Ok(Bytes::from(e))).await.is_err() {
                return;
            }
        }
        if cut.is_some() {
            if stall {
                // Hold the connection open without a byte until the client gives up.
                loop {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    if tx.is_closed() {
                        return;
                    }
                }
            }
            // Let the partial events reach the client first; then break the connection.
            tokio::time::sleep(Duration::from_millis(100)).await;
            let _ = tx.send(Err(std::io::Error::other("the scenario drops the stream here"))).await;
        }
    });
    let body = Body::from_stream(tokio_stream(rx));
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(body)
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// A receiver as a stream of body chunks.
fn tokio_stream(
    mut rx: tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}
