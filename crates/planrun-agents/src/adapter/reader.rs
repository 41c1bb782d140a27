//! Reading each CLI's JSON-lines event stream (Claude Code, Codex, Gemini CLI, opencode) into
//! events, line by line.

use super::AgentKind;
use super::event::{Event, Report, Usage};
use serde_json::Value;

/// Reads a CLI's output line by line (its own events among any other lines it prints).
#[derive(Debug)]
pub struct Reader {
    pub(super) kind: AgentKind,
    pub report: Report,
    /// Claude's `result` event replaces the per-message usage seen before it.
    pub(super) saw_result: bool,
    /// The last model message Claude reported (one message comes as several events, each with
    /// the same usage: counted once, for the usage so far while it runs).
    pub(super) last_message: Option<String>,
    /// The answer so far, for CLIs that print it in pieces (Gemini CLI, opencode).
    pub(super) answer: Answer,
}

/// The assistant's last text, put together from a stream that has no final-answer event of
/// its own: Gemini CLI prints its text as `delta` chunks (a `tool_use` in between starts a new
/// model turn) and only a bare status in `result`; opencode prints each finished text part,
/// tagged with the model message it belongs to, and no result event at all.
#[derive(Debug, Default)]
pub(super) struct Answer {
    /// The text of the current model turn (Gemini) or of the last message with text (opencode).
    pub(super) current: String,
    /// Gemini: the text of the last turn before a tool call, the answer when the turn after the
    /// tool call says nothing (as Gemini CLI's own `-o json` answer does).
    pub(super) before_tool: String,
    /// opencode: the message `current` belongs to.
    pub(super) message: Option<String>,
}

impl Reader {
    pub fn new(kind: AgentKind) -> Self {
        Self { kind, report: Report::default(), saw_result: false, last_message: None, answer: Answer::default() }
    }

    /// The events in one line of output; lines that are not JSON objects give none.
    pub fn line(&mut self, line: &str) -> Vec<Event> {
        let line = line.trim();
        if !line.starts_with('{') {
            return Vec::new();
        }
        let Ok(v) = serde_json::from_str::<Value>(line) else { return Vec::new() };
        let events = match self.kind {
            AgentKind::Claude => claude(&v, &mut self.saw_result, &mut self.last_message),
            AgentKind::Codex => codex(&v),
            AgentKind::Gemini => gemini(&v, &mut self.answer),
            AgentKind::Opencode => opencode(&v, &mut self.answer),
            AgentKind::Command => Vec::new(),
        };
        if !events.is_empty() {
            self.report.events += 1;
        }
        for e in &events {
            self.report.add(e);
        }
        events
    }
}

pub(super) fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k)).and_then(Value::as_str)
}

pub(super) fn u64_at(v: &Value, path: &[&str]) -> u64 {
    path.iter().try_fold(v, |v, k| v.get(k)).and_then(Value::as_u64).unwrap_or(0)
}

/// A tool input shown in one short line.
pub(super) fn summary(input: &Value) -> String {
    let text = match input {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut short: String = text.chars().take(200).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short.replace('\n', " ")
}

/// Usage as Anthropic's API reports it (Claude Code passes it on).
pub(super) fn anthropic_usage(u: &Value) -> Usage {
    Usage {
        input: u64_at(u, &["input_tokens"]),
        output: u64_at(u, &["output_tokens"]),
        cache_read: u64_at(u, &["cache_read_input_tokens"]),
        cache_write: u64_at(u, &["cache_creation_input_tokens"]),
    }
}

pub(super) fn claude(v: &Value, saw_result: &mut bool, last_message: &mut Option<String>) -> Vec<Event> {
    let mut out = Vec::new();
    match v.get("type").and_then(Value::as_str) {
        Some("system") if str_at(v, &["subtype"]) == Some("init") => {
            if let Some(id) = str_at(v, &["session_id"]) {
                out.push(Event::Session { id: id.to_owned() });
            }
            if let Some(m) = str_at(v, &["model"]) {
                out.push(Event::Model { name: m.to_owned() });
            }
        }
        Some("assistant") => {
            // The usage so far, while the run goes (the `result` event's total replaces it).
            let id = v.pointer("/message/id").and_then(Value::as_str).map(str::to_owned);
            if let (Some(u), false) = (v.pointer("/message/usage"), *saw_result) {
                if id.is_none() || id != *last_message {
                    out.push(Event::Usage { usage: anthropic_usage(u), total: false });
                }
            }
            *last_message = id;
            for block in v.pointer("/message/content").and_then(Value::as_array).into_iter().flatten() {
                match block.get("type").and_then(Value::as_str) {
                    Some("text") => {
                        out.push(Event::Text { text: str_at(block, &["text"]).unwrap_or("").to_owned() });
                    }
                    Some("tool_use") => out.push(Event::ToolUse {
                        name: str_at(block, &["name"]).unwrap_or("?").to_owned(),
                        input: block.get("input").map(summary).unwrap_or_default(),
                    }),
                    _ => {}
                }
            }
        }
        Some("result") => {
            *saw_result = true;
            if let Some(id) = str_at(v, &["session_id"]) {
                out.push(Event::Session { id: id.to_owned() });
            }
            if let Some(u) = v.get("usage") {
                out.push(Event::Usage { usage: anthropic_usage(u), total: true });
            }
            if let Some(usd) = v.get("total_cost_usd").and_then(Value::as_f64) {
                out.push(Event::Cost { usd });
            }
            for d in v.get("permission_denials").and_then(Value::as_array).into_iter().flatten() {
                out.push(Event::Denied { tool: str_at(d, &["tool_name"]).unwrap_or("?").to_owned() });
            }
            // With `--json-schema`, the answer is the `StructuredOutput` tool's input
            // (`structured_output`); `result` (in 2.1.197 already that input as JSON text) is the
            // answer otherwise, also when the model never called the tool.
            let text = str_at(v, &["result"]).unwrap_or("").to_owned();
            if v.get("is_error").and_then(Value::as_bool) == Some(true) {
                let status = v.get("api_error_status").filter(|s| !s.is_null()).map(|s| format!(" (HTTP {s})"));
                let what = if text.is_empty() { str_at(v, &["subtype"]).unwrap_or("error").to_owned() } else { text };
                out.push(Event::Error { message: format!("{what}{}", status.unwrap_or_default()) });
            } else {
                let text = match v.get("structured_output").filter(|s| !s.is_null()) {
                    Some(structured) => structured.to_string(),
                    None => text,
                };
                out.push(Event::Final { text });
            }
        }
        _ => {}
    }
    out
}

pub(super) fn codex(v: &Value) -> Vec<Event> {
    let mut out = Vec::new();
    match v.get("type").and_then(Value::as_str) {
        Some("thread.started") => {
            if let Some(id) = str_at(v, &["thread_id"]) {
                out.push(Event::Session { id: id.to_owned() });
            }
        }
        Some("item.completed") => {
            let item = v.get("item").unwrap_or(&Value::Null);
            match item.get("type").and_then(Value::as_str) {
                Some("agent_message") => {
                    let text = str_at(item, &["text"]).unwrap_or("").to_owned();
                    out.push(Event::Text { text: text.clone() });
                    out.push(Event::Final { text });
                }
                Some("command_execution") => out.push(Event::ToolUse {
                    name: "command".into(),
                    input: str_at(item, &["command"]).unwrap_or("").to_owned(),
                }),
                Some("file_change") => out.push(Event::ToolUse {
                    name: "file_change".into(),
                    input: item.get("changes").map(summary).unwrap_or_default(),
                }),
                Some("mcp_tool_call") => out.push(Event::ToolUse {
                    name: str_at(item, &["tool"]).unwrap_or("mcp").to_owned(),
                    input: item.get("arguments").map(summary).unwrap_or_default(),
                }),
                // `error` items are warnings (e.g. unknown model metadata); fatal errors come as
                // `error` or `turn.failed` events.
                _ => {}
            }
        }
        Some("turn.completed") => {
            if let Some(u) = v.get("usage") {
                let input = u64_at(u, &["input_tokens"]);
                let cached = u64_at(u, &["cached_input_tokens"]);
                out.push(Event::Usage {
                    usage: Usage {
                        input: input.saturating_sub(cached),
                        output: u64_at(u, &["output_tokens"]),
                        cache_read: cached,
                        cache_write: u64_at(u, &["cache_write_input_tokens"]),
                    },
                    // Totals for the whole thread so far, also across `resume`.
                    total: true,
                });
            }
        }
        Some("turn.failed") => {
            let m = str_at(v, &["error", "message"]).unwrap_or("the turn failed");
            out.push(Event::Error { message: m.to_owned() });
        }
        // "Reconnecting... 2/5 (…)" is Codex retrying a dropped stream, not a failure; if the
        // retries run out, `turn.failed` says so.
        Some("error") => match str_at(v, &["message"]) {
            Some(m) if m.starts_with("Reconnecting") => out.push(Event::Text { text: m.to_owned() }),
            m => out.push(Event::Error { message: m.unwrap_or("error").to_owned() }),
        },
        _ => {}
    }
    out
}

/// Whether a line of Gemini CLI's `-o stream-json` output shows that its session file holds
/// something to resume: the model's first text or tool call, or the run's end. Until then (from
/// `init` and the echo of the prompt until the model router has picked a model and the prompt is
/// recorded) the file holds nothing to resume, and Gemini CLI 0.61.0, as it starts, deletes such
/// files of its project (`general.sessionRetention`, on by default): another Gemini CLI starting
/// in the same folder then would take this session away from a later `--resume`.
pub fn gemini_session_kept(line: &str) -> bool {
    let Ok(v) = serde_json::from_str::<Value>(line.trim()) else { return false };
    match v.get("type").and_then(Value::as_str) {
        Some("message") => str_at(&v, &["role"]) == Some("assistant"),
        Some("tool_use" | "tool_result" | "result") => true,
        _ => false,
    }
}

pub(super) fn gemini(v: &Value, answer: &mut Answer) -> Vec<Event> {
    let mut out = Vec::new();
    match v.get("type").and_then(Value::as_str) {
        Some("init") => {
            if let Some(id) = str_at(v, &["session_id"]) {
                out.push(Event::Session { id: id.to_owned() });
            }
            if let Some(m) = str_at(v, &["model"]) {
                out.push(Event::Model { name: m.to_owned() });
            }
        }
        // 0.61.0 prints every piece of the model's text as it streams (`"delta": true`).
        Some("message") if str_at(v, &["role"]) == Some("assistant") => {
            let text = str_at(v, &["content"]).unwrap_or("");
            answer.current.push_str(text);
            out.push(Event::Text { text: text.to_owned() });
        }
        Some("tool_use") => {
            // The model's next turn (after the tool's result) starts a new answer.
            if !answer.current.trim().is_empty() {
                answer.before_tool = std::mem::take(&mut answer.current);
            }
            answer.current.clear();
            out.push(Event::ToolUse {
                name: str_at(v, &["tool_name"]).unwrap_or("?").to_owned(),
                input: v.get("parameters").map(summary).unwrap_or_default(),
            });
        }
        Some("error") => {
            out.push(Event::Error { message: str_at(v, &["message"]).unwrap_or("error").to_owned() });
        }
        Some("result") => {
            if let Some(s) = v.get("stats") {
                let cached = u64_at(s, &["cached"]);
                let input = match s.get("input").and_then(Value::as_u64) {
                    Some(i) => i,
                    None => u64_at(s, &["input_tokens"]).saturating_sub(cached),
                };
                out.push(Event::Usage {
                    usage: Usage { input, output: u64_at(s, &["output_tokens"]), cache_read: cached, cache_write: 0 },
                    total: true,
                });
            }
            if str_at(v, &["status"]) == Some("success") {
                let text = if answer.current.trim().is_empty() { &answer.before_tool } else { &answer.current };
                out.push(Event::Final { text: text.clone() });
            } else {
                let m = str_at(v, &["error", "message"]).or_else(|| str_at(v, &["status"])).unwrap_or("error");
                out.push(Event::Error { message: m.to_owned() });
            }
        }
        _ => {}
    }
    out
}

pub(super) fn opencode(v: &Value, answer: &mut Answer) -> Vec<Event> {
    let mut out = Vec::new();
    if let Some(id) = str_at(v, &["sessionID"]).or_else(|| str_at(v, &["part", "sessionID"])) {
        out.push(Event::Session { id: id.to_owned() });
    }
    let part = v.get("part").unwrap_or(&Value::Null);
    match v.get("type").and_then(Value::as_str) {
        // 1.18.33 prints a text part once it is finished (`time.end` set), whole. The answer is
        // the text of the last model message that has any: its parts in order.
        Some("text") => {
            let text = str_at(part, &["text"]).unwrap_or("");
            if !text.trim().is_empty() {
                let message = str_at(part, &["messageID"]).map(str::to_owned);
                if message.is_none() || message != answer.message {
                    answer.current.clear();
                    answer.message = message;
                } else if !answer.current.is_empty() {
                    answer.current.push('\n');
                }
                answer.current.push_str(text);
            }
            out.push(Event::Text { text: text.to_owned() });
            if !answer.current.is_empty() {
                out.push(Event::Final { text: answer.current.clone() });
            }
        }
        Some("tool_use") => out.push(Event::ToolUse {
            name: str_at(part, &["tool"]).unwrap_or("?").to_owned(),
            input: part.pointer("/state/input").map(summary).unwrap_or_default(),
        }),
        Some("step_finish") => {
            let t = part.get("tokens").unwrap_or(&Value::Null);
            out.push(Event::Usage {
                usage: Usage {
                    input: u64_at(t, &["input"]),
                    output: u64_at(t, &["output"]) + u64_at(t, &["reasoning"]),
                    cache_read: u64_at(t, &["cache", "read"]),
                    cache_write: u64_at(t, &["cache", "write"]),
                },
                total: false,
            });
            // A model without a configured price reports 0: that is "unknown", not free.
            if let Some(usd) = part.get("cost").and_then(Value::as_f64).filter(|c| *c > 0.0) {
                out.push(Event::Cost { usd });
            }
        }
        Some("error") => {
            let m = str_at(v, &["error", "data", "message"])
                .or_else(|| str_at(v, &["error", "message"]))
                .or_else(|| str_at(v, &["error", "name"]))
                .unwrap_or("error");
            out.push(Event::Error { message: m.to_owned() });
        }
        _ => {}
    }
    out
}
