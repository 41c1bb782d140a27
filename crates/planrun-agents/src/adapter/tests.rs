//! Tests of the argv each CLI gets and of reading each CLI's events.

use super::*;
use super::{argv::*, event::*, notices::*, reader::*};
use serde_json::Value;

#[test]
fn names_round_trip_and_unknown_names_list_the_known_ones() {
    for k in AgentKind::ALL {
        assert_eq!(k.name().parse::<AgentKind>(), Ok(k));
    }
    let e = "aider".parse::<AgentKind>().unwrap_err();
    assert!(e.contains("claude, codex, gemini, opencode, command"), "{e}");
}

#[test]
fn claude_as_root_gets_accept_edits_and_a_notice() {
    let root = Call { prompt: "-x", root: true, ..Call::default() };
    let a = argv(AgentKind::Claude, &root).unwrap();
    assert!(a.windows(2).any(|w| w == ["--permission-mode", "acceptEdits"]), "{a:?}");
    assert!(a.windows(2).any(|w| w == ["-p", "-x"]), "the prompt is the value of -p: {a:?}");
    assert_eq!(notices(AgentKind::Claude, &root).len(), 1);
    let sandbox = Call { root: true, sandbox: true, resume: Some("s1"), ..root };
    let a = argv(AgentKind::Claude, &sandbox).unwrap();
    assert!(a.contains(&"--dangerously-skip-permissions".to_owned()));
    assert!(a.windows(2).any(|w| w == ["--resume", "s1"]));
    assert!(notices(AgentKind::Claude, &sandbox).is_empty());
}

#[test]
fn codex_resume_is_a_subcommand_and_the_prompt_follows_a_double_dash() {
    let a = argv(AgentKind::Codex, &Call { prompt: "--help", resume: Some("t1"), model: Some("m"), ..Call::default() })
        .unwrap();
    let tail: Vec<&str> = a.iter().rev().take(4).rev().map(String::as_str).collect();
    assert_eq!(tail, ["resume", "t1", "--", "--help"]);
    assert!(a.windows(2).any(|w| w == ["-m", "m"]));
    assert_eq!(argv(AgentKind::Command, &Call::default()), None);
}

#[test]
fn a_schema_goes_to_each_cli_that_has_a_structured_output_option() {
    let schema = r#"{"type":"object"}"#;
    let call = Call { prompt: "review", schema: Some(schema), schema_file: Some("/s/verdict.json"), ..Call::default() };
    let claude = argv(AgentKind::Claude, &call).unwrap();
    assert!(claude.windows(2).any(|w| w == ["--json-schema", schema]), "{claude:?}");
    let resumed = argv(AgentKind::Claude, &Call { resume: Some("s1"), ..call.clone() }).unwrap();
    assert!(resumed.windows(2).any(|w| w == ["--json-schema", schema]), "{resumed:?}");

    // Codex takes a file, among `exec`'s options (before `resume`, which accepts it too).
    let codex = argv(AgentKind::Codex, &call).unwrap();
    let tail: Vec<&str> = codex.iter().rev().take(4).rev().map(String::as_str).collect();
    assert_eq!(tail, ["--output-schema", "/s/verdict.json", "--", "review"]);
    let codex = argv(AgentKind::Codex, &Call { resume: Some("t1"), ..call.clone() }).unwrap();
    let tail: Vec<&str> = codex.iter().rev().take(6).rev().map(String::as_str).collect();
    assert_eq!(tail, ["--output-schema", "/s/verdict.json", "resume", "t1", "--", "review"]);

    // Gemini and opencode have no such option: the same argv as without a schema.
    for kind in [AgentKind::Gemini, AgentKind::Opencode] {
        let plain = Call { schema: None, schema_file: None, ..call.clone() };
        assert_eq!(argv(kind, &call), argv(kind, &plain), "{kind}");
    }
    // Without a schema, no option.
    for kind in [AgentKind::Claude, AgentKind::Codex] {
        let a = argv(kind, &Call { prompt: "implement", ..Call::default() }).unwrap();
        assert!(!a.iter().any(|w| w.contains("schema")), "{a:?}");
    }
}

#[test]
fn claudes_structured_output_is_its_final_answer() {
    let mut r = Reader::new(AgentKind::Claude);
    r.line(r#"{"type":"result","subtype":"success","is_error":false,"result":"","session_id":"s","structured_output":{"verdict":"pass","findings":[]}}"#);
    let text = r.report.final_text.clone().unwrap();
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["verdict"], "pass", "{text}");
    let mut r = Reader::new(AgentKind::Claude);
    r.line(r#"{"type":"result","subtype":"success","is_error":false,"result":"All good. {\"verdict\": \"pass\"}","session_id":"s","structured_output":null}"#);
    assert_eq!(r.report.final_text.as_deref(), Some(r#"All good. {"verdict": "pass"}"#));
}

#[test]
fn a_gemini_session_is_kept_once_the_model_has_answered() {
    let not_yet = [
        r#"{"type":"init","timestamp":"t","session_id":"4413cbb4-ac41-4bda-9df6-5751bff8eab5","model":"auto"}"#,
        r#"{"type":"message","timestamp":"t","role":"user","content":"review the change"}"#,
        "Warning: 256-color support not detected.",
        "",
        r#"{"type":"error","severity":"warning","message":"x"}"#,
    ];
    for line in not_yet {
        assert!(!gemini_session_kept(line), "{line}");
    }
    let kept = [
        r#"{"type":"message","timestamp":"t","role":"assistant","content":"hello","delta":true}"#,
        r#"{"type":"tool_use","timestamp":"t","tool_name":"read_file","tool_id":"1","parameters":{}}"#,
        r#"{"type":"result","timestamp":"t","status":"error","error":{"type":"x","message":"y"}}"#,
    ];
    for line in kept {
        assert!(gemini_session_kept(line), "{line}");
    }
}

/// Gemini CLI 0.61.0 `-o stream-json` lines (as it prints them against the model server):
/// the answer is the text chunks of the last model turn, put together.
#[test]
fn geminis_answer_is_its_last_turns_text_chunks() {
    let chunk = |t: &str| {
        serde_json::json!({"type": "message", "timestamp": "2026-12-03T08:26:22.412Z", "role": "assistant", "content": t, "delta": true}).to_string()
    };
    let tool = r#"{"type":"tool_use","timestamp":"2026-12-03T08:26:22.096Z","tool_name":"read_file","tool_id":"read_file__1","parameters":{"file_path":"x.txt"}}"#;
    let result = r#"{"type":"result","timestamp":"2026-12-03T08:26:22.421Z","status":"success","stats":{"total_tokens":312,"input_tokens":270,"output_tokens":42,"cached":0,"input":270}}"#;
    let mut r = Reader::new(AgentKind::Gemini);
    r.line(r#"{"type":"message","timestamp":"2026-12-03T08:26:21.680Z","role":"user","content":"review {\"verdict\": \"pass\"}"}"#);
    r.line(&chunk("Let me read x.txt first."));
    r.line(tool);
    r.line(r#"{"type":"tool_result","timestamp":"2026-12-03T08:26:22.388Z","tool_id":"read_file__1","status":"success","output":""}"#);
    r.line(&chunk("It says hi.\n{\"verdict\": \"changes_"));
    r.line(&chunk("requested\", \"findings\": []}"));
    assert_eq!(r.report.final_text, None, "no answer before the result");
    r.line(result);
    assert_eq!(
        r.report.final_text.as_deref(),
        Some("It says hi.\n{\"verdict\": \"changes_requested\", \"findings\": []}"),
        "the user's prompt and the text before the tool call are not the answer"
    );

    // Nothing said after the tool call: the text before it is the answer (as in Gemini
    // CLI's own `-o json`).
    let mut r = Reader::new(AgentKind::Gemini);
    r.line(&chunk("{\"verdict\": \"pass\"}"));
    r.line(tool);
    r.line(result);
    assert_eq!(r.report.final_text.as_deref(), Some("{\"verdict\": \"pass\"}"));

    // A failed run has no answer.
    let mut r = Reader::new(AgentKind::Gemini);
    r.line(&chunk("partial"));
    r.line(r#"{"type":"result","status":"error","error":{"type":"Error","message":"quota"}}"#);
    assert_eq!((r.report.final_text, r.report.errors), (None, vec!["quota".to_owned()]));
}

/// opencode 1.18.33 `run --format json` lines: each finished text part whole, tagged with
/// its message; the answer is the text of the last message that has any.
#[test]
fn opencodes_answer_is_its_last_messages_text() {
    let text = |msg: &str, t: &str| {
        serde_json::json!({"type": "text", "timestamp": 1796286277259u64, "sessionID": "ses_1", "part": {
            "id": format!("prt_{msg}_{}", t.len()), "messageID": msg, "sessionID": "ses_1", "type": "text", "text": t,
            "time": {"start": 1796286277245u64, "end": 1796286277253u64}}})
        .to_string()
    };
    let mut r = Reader::new(AgentKind::Opencode);
    assert_eq!(r.report.final_text, None);
    r.line(&text("msg_1", "Let me read x.txt."));
    r.line(r#"{"type":"tool_use","timestamp":1,"sessionID":"ses_1","part":{"type":"tool","tool":"read","callID":"c1","state":{"status":"completed","input":{"filePath":"x.txt"},"output":"hi"},"id":"prt_2","sessionID":"ses_1","messageID":"msg_1"}}"#);
    r.line(&text("msg_2", "It says hi."));
    r.line(&text("msg_2", "{\"verdict\": \"pass\", \"findings\": []}"));
    // An empty part does not replace the answer.
    r.line(&text("msg_3", "  "));
    r.line(r#"{"type":"step_finish","timestamp":1,"sessionID":"ses_1","part":{"id":"prt_9","reason":"stop","messageID":"msg_3","sessionID":"ses_1","type":"step-finish","tokens":{"total":12,"input":10,"output":2,"reasoning":0,"cache":{"write":0,"read":0}},"cost":0}}"#);
    assert_eq!(r.report.final_text.as_deref(), Some("It says hi.\n{\"verdict\": \"pass\", \"findings\": []}"));
    assert_eq!(r.report.session.as_deref(), Some("ses_1"));
}

#[test]
fn usage_differences_never_go_below_zero() {
    let a = Usage { input: 10, output: 5, cache_read: 1, cache_write: 0 };
    let b = Usage { input: 4, output: 7, cache_read: 0, cache_write: 0 };
    assert_eq!(a.since(&b), Usage { input: 6, output: 0, cache_read: 1, cache_write: 0 });
}
