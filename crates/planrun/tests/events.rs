//! The `--json` event stream against its contract: every line a real `planrun run --json` prints
//! (a shell script as the agent and the reviewer, on a real git repository) validates against the
//! JSON Schema `planrun schema --events` prints, across the events a run of reworks, a scope
//! warning, advisory findings, a blocked task and a later run that keeps the blocked task's work
//! produces.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use std::collections::BTreeSet;
use support::{bin, committed, events, events_schema, text};

const PLAN: &str = "# Events\n\n\
## Task a: Write a\n\nFiles: `a.txt`\n\n### Verify\n\n- `grep -qx right a.txt`\n\n\
## Task b: Write b\n\nFiles: `b.txt`\n\n\
## Task c: Write c\n\nFiles: `c.txt`\n\n### Verify\n\n- `grep -qx right c.txt`\n";

/// `a` is wrong once (a rework), `b` also edits the README (a scope warning under
/// `--scope warn`), `c` is always wrong (blocked).
const AGENT: &str = r#"case "$PLANRUN_TASK_ID.$PLANRUN_ATTEMPT" in
  a.1) echo wrong > a.txt ;;
  a.*) echo right > a.txt ;;
  b.*) echo b > b.txt; echo more >> README.md ;;
  c.*) echo wrong > c.txt ;;
esac"#;

/// Passes everything, with one advisory note.
const REVIEWER: &str = r#"echo '{"verdict": "pass", "findings": [{"severity": "advisory", "file": "a.txt", "line": 1, "message": "consider a comment"}]}'"#;

/// Every stdout line validated (by `support::events`, against `planrun schema --events`); the
/// events' names, in order.
fn names(out: &std::process::Output) -> Vec<String> {
    let events = events(out);
    assert!(!events.is_empty(), "{}", text(out));
    events
        .iter()
        .map(|e| {
            assert_eq!(e["v"], 1, "{e}");
            e["event"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[test]
fn every_line_of_run_json_matches_the_events_schema() {
    let repo = committed(PLAN, AGENT, &[("README.md", "# Project\n"), ("review.sh", REVIEWER)]);

    let out =
        repo.run(&["--json", "--scope", "warn", "--max-rework", "1", "--review-command", "./review.sh {prompt_file}"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let mut seen: BTreeSet<String> = names(&out).into_iter().collect();

    // The blocked task is skipped; the next run removes its worktree and keeps what was in it.
    let skip = repo.cmd(&["skip", "c"]).output().unwrap();
    assert_eq!(skip.status.code(), Some(0), "{}", text(&skip));
    let out = repo.run(&["--json", "--review-command", "./review.sh {prompt_file}"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let second = names(&out);
    assert_eq!(second.last().map(String::as_str), Some("finished"), "{second:?}");
    seen.extend(second);

    let expected = [
        "estimate",
        "started",
        "resumed",
        "start",
        "retry",
        "scope",
        "verify",
        "review",
        "commit",
        "merge",
        "scope_warning",
        "advisory",
        "committed",
        "merged",
        "done",
        "task_report",
        "rework",
        "repeated_failure",
        "blocked",
        "kept",
        "finished",
    ];
    let missing: Vec<&str> = expected.iter().copied().filter(|e| !seen.contains(*e)).collect();
    assert!(missing.is_empty(), "events not seen: {missing:?}; seen: {seen:?}");
}

#[test]
fn the_schema_rejects_what_no_event_is() {
    let validator = events_schema();
    let ok = serde_json::json!({"event": "done", "v": 1, "elapsed_ms": 3, "task": "a"});
    assert!(validator.is_valid(&ok));
    for bad in [
        serde_json::json!({"event": "done", "v": 1, "elapsed_ms": 3}),
        serde_json::json!({"event": "done", "v": 1, "elapsed_ms": 3, "task": 1}),
        serde_json::json!({"event": "done", "v": 1, "elapsed_ms": 3, "task": "a", "extra": true}),
        serde_json::json!({"event": "no_such_event", "v": 1, "elapsed_ms": 3}),
        serde_json::json!({"event": "done", "v": 2, "elapsed_ms": 3, "task": "a"}),
        serde_json::json!({"event": "done", "elapsed_ms": 3, "task": "a"}),
        serde_json::json!({"event": "start", "v": 1, "elapsed_ms": 3, "task": "a", "attempt": 1, "step": "implement", "agent": "command", "resumed": false}),
    ] {
        assert!(!validator.is_valid(&bad), "accepted {bad}");
    }
}

#[test]
fn the_committed_events_schema_is_current() {
    let out = std::process::Command::new(bin()).args(["schema", "--events"]).output().unwrap();
    let printed = String::from_utf8(out.stdout).unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let committed = std::fs::read_to_string(root.join("docs/events.schema.json")).unwrap_or_default();
    assert!(
        committed.trim_end() == printed.trim_end(),
        "docs/events.schema.json is stale: run `cargo run -p planrun -- schema --events > docs/events.schema.json`"
    );
}
