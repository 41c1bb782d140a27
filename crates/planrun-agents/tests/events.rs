//! The event readers against streams the real CLIs printed (captured from `claude` 2.1.197,
//! `codex` 0.169.0, `gemini` 0.61.0 and `opencode` 1.18.33 run against the test kit's model
//! server: a first run that writes a file with a tool, then a resumed run; a reviewer's run with
//! `--json-schema`; a Gemini and an opencode reviewer that read a file and then answer), and
//! against error lines.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use planrun_agents::{AgentKind, Event, Reader, Report, Usage};

fn read(kind: AgentKind, fixture: &str) -> (Report, Vec<Event>) {
    let text = std::fs::read_to_string(format!("{}/tests/fixtures/{fixture}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let mut r = Reader::new(kind);
    let mut events = Vec::new();
    // Other lines (a CLI's warnings) are mixed in on the way, as in a real log.
    for line in format!("WARNING: something\n{text}\nnot json {{\n").lines() {
        events.extend(r.line(line));
    }
    (r.report, events)
}

#[test]
fn claude_stream_json() {
    let (r, events) = read(AgentKind::Claude, "claude1.jsonl");
    assert_eq!(r.session.as_deref(), Some("eb842665-dc2b-4b31-8c64-288be3107ee4"));
    assert_eq!(r.usage, Usage { input: 250, output: 30, cache_read: 0, cache_write: 0 });
    assert_eq!(r.cost_usd, Some(0.002));
    assert_eq!(r.final_text.as_deref(), Some("Done."));
    assert_eq!(r.tool_uses, 1);
    assert!(r.errors.is_empty());
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::ToolUse { name, input } if name == "Write" && input.contains("a.txt")))
    );
    let (r2, _) = read(AgentKind::Claude, "claude2.jsonl");
    assert_eq!(r2.session, r.session, "the resumed run keeps the session");
    assert_eq!(r2.usage.input, 300, "Claude reports each run on its own");
}

/// `--json-schema` (captured with planrun's verdict schema): the model calls the
/// `StructuredOutput` tool, and the `result` event carries `structured_output`.
#[test]
fn claude_structured_output_is_the_final_answer() {
    let (r, events) = read(AgentKind::Claude, "claude-schema.jsonl");
    assert!(events.iter().any(|e| matches!(e, Event::ToolUse { name, .. } if name == "StructuredOutput")));
    let text = r.final_text.unwrap();
    let v = planrun_agents::verdict::parse(&text).unwrap();
    assert!(v.blocks());
    assert_eq!(v.findings[0].message, "wrong word");
    assert_eq!(v.findings[0].file.as_deref(), Some("a.txt"));
    assert_eq!(r.usage.input, 100);
    assert!(r.errors.is_empty());

    // A model that answers in text instead is asked once more to call the tool; when it still
    // does not, the run succeeds with its text, which the lenient reader then reads.
    let (r, _) = read(AgentKind::Claude, "claude-schema-text.jsonl");
    let v = planrun_agents::verdict::parse(r.final_text.as_deref().unwrap()).unwrap();
    assert!(!v.blocks());
    assert!(r.errors.is_empty());
}

#[test]
fn claude_api_error() {
    let mut r = Reader::new(AgentKind::Claude);
    r.line(r#"{"type":"result","subtype":"success","is_error":true,"api_error_status":429,"result":"API Error: 429 rate limited","session_id":"s","total_cost_usd":0,"usage":{"input_tokens":0,"output_tokens":0}}"#);
    assert_eq!(r.report.errors, ["API Error: 429 rate limited (HTTP 429)"]);
    assert_eq!(r.report.final_text, None);
}

#[test]
fn codex_exec_json_reports_thread_totals() {
    let (r, events) = read(AgentKind::Codex, "codex1.jsonl");
    assert_eq!(r.session.as_deref(), Some("01a1fe5a-3482-7d33-ba37-6e08475fe6d7"));
    assert_eq!(r.usage, Usage { input: 250, output: 30, cache_read: 0, cache_write: 0 });
    assert_eq!(r.final_text.as_deref(), Some("Done."));
    assert!(r.errors.is_empty(), "a model-metadata warning item is not an error: {:?}", r.errors);
    assert!(events.iter().any(|e| matches!(e, Event::ToolUse { input, .. } if input.contains("b.txt"))));
    let (r2, _) = read(AgentKind::Codex, "codex2.jsonl");
    assert_eq!(r2.session, r.session);
    // Cumulative over the thread: the resumed run's own share is the difference.
    assert_eq!(r2.usage, Usage { input: 550, output: 35, cache_read: 0, cache_write: 0 });
    assert!(AgentKind::Codex.cumulative_usage());
    assert_eq!(r2.usage.since(&r.usage), Usage { input: 300, output: 5, cache_read: 0, cache_write: 0 });
}

#[test]
fn codex_errors() {
    let mut r = Reader::new(AgentKind::Codex);
    r.line(r#"{"type":"error","message":"Reconnecting... 2/5 (stream disconnected before completion)"}"#);
    assert!(r.report.errors.is_empty(), "a reconnect is not a failure");
    r.line(r#"{"type":"error","message":"exceeded retry limit, last status: 429 Too Many Requests"}"#);
    r.line(r#"{"type":"turn.failed","error":{"message":"exceeded retry limit, last status: 429 Too Many Requests"}}"#);
    assert_eq!(r.report.errors, ["exceeded retry limit, last status: 429 Too Many Requests"]);
}

#[test]
fn gemini_stream_json() {
    let (r, events) = read(AgentKind::Gemini, "gem1.jsonl");
    assert_eq!(r.session.as_deref(), Some("6bb825a6-f48c-489f-813f-464c76663446"));
    assert_eq!(r.model.as_deref(), Some("gemini-2.5-pro"));
    assert_eq!(r.usage, Usage { input: 250, output: 30, cache_read: 0, cache_write: 0 });
    assert_eq!(r.cost_usd, None, "Gemini reports no dollars");
    assert!(events.iter().any(|e| matches!(e, Event::ToolUse { name, .. } if name == "write_file")));
    let (r2, _) = read(AgentKind::Gemini, "gem2.jsonl");
    assert_eq!(r2.session, r.session);
    assert_eq!(r2.usage.input, 300);
}

/// A Gemini CLI reviewer (captured from `gemini` 0.61.0 against the model server): it reads a
/// file, then answers in `delta` message chunks; `result` carries only a status. The answer is
/// the text after the tool call, and the verdict in it reads.
#[test]
fn a_gemini_reviewers_answer_is_its_last_text() {
    let (r, _) = read(AgentKind::Gemini, "gem-review.jsonl");
    let text = r.final_text.unwrap();
    assert!(text.starts_with("x.txt says hi, not hello.\n"), "{text}");
    let v = planrun_agents::verdict::parse(&text).unwrap();
    assert!(v.blocks());
    assert_eq!((v.findings[0].file.as_deref(), v.findings[0].line), (Some("x.txt"), Some(1)));
    assert_eq!(v.findings[0].message, "says hi, not hello");
    assert_eq!(r.usage.input, 270);
    assert!(r.errors.is_empty());
    // A plain implementer run's answer too.
    let (r, _) = read(AgentKind::Gemini, "gem1.jsonl");
    assert_eq!(r.final_text.as_deref(), Some("Done."));
}

/// An opencode reviewer (captured from `opencode run --format json` 1.18.33 against the model
/// server): a `tool_use` step, then a step whose finished `text` part holds the verdict; no
/// result event follows.
#[test]
fn an_opencode_reviewers_answer_is_its_last_text() {
    let (r, events) = read(AgentKind::Opencode, "opencode-review.jsonl");
    assert!(events.iter().any(|e| matches!(e, Event::ToolUse { name, .. } if name == "read")));
    let text = r.final_text.unwrap();
    assert!(text.starts_with("x.txt says hi, not hello.\n"), "{text}");
    let v = planrun_agents::verdict::parse(&text).unwrap();
    assert!(v.blocks());
    assert_eq!(v.findings[0].message, "says hi, not hello");
    assert_eq!(r.usage, Usage { input: 270, output: 42, cache_read: 0, cache_write: 0 });
    assert!(r.session.as_deref().is_some_and(|s| s.starts_with("ses_")));
    assert!(r.errors.is_empty());
}
