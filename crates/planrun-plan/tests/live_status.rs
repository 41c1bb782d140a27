//! Live status files: while a run goes on, planpipe's `execution-status.md`, CCW's TODO list and
//! task files, and cm's `cm-tasks.json` follow each task through its work (in progress, in
//! review, rework and blocked with their reasons, done), the way those tools' own loops keep
//! them. Whatever a live write leaves, the plan reads the same once marks are set aside (so a
//! rerun never takes planrun's own progress for an edit of the plan), and a task no longer worked
//! on goes back to pending.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use planrun_plan::Loaded;
use planrun_plan::status::{self, LogEntry, TaskOutcome, TaskReport};
use proptest::prelude::*;
use std::path::Path;

const NOW: &str = "2026-12-04T21:00:00Z";

use common::copy_case;

fn load(path: &Path) -> Loaded {
    planrun_plan::load(path, None).unwrap_or_else(|e| panic!("loading {}: {e}", path.display()))
}

fn report(id: &str, state: TaskOutcome, attempts: u32, failures: u32) -> TaskReport {
    let mut log = vec![LogEntry { phase: "REASON".into(), message: format!("Selected: {id}") }];
    if failures > 0 {
        log.push(LogEntry { phase: "VERIFY".into(), message: "❌ `cargo test` failed: 2 tests".into() });
    }
    let completed_at = (state == TaskOutcome::Done).then(|| NOW.to_owned());
    TaskReport { id: id.to_owned(), state, summary: None, attempts, failures, log, completed_at, details: None }
}

/// Writes the live edits for `reports` (stamped `NOW`) and returns the files' new texts by name.
fn write_live(loaded: &Loaded, reports: &[TaskReport]) -> Vec<(String, String)> {
    let edits = status::edits_at(loaded, reports, Some(NOW)).unwrap();
    status::write(&edits).unwrap();
    edits.iter().map(|e| (e.path.file_name().unwrap().to_string_lossy().into_owned(), e.contents.clone())).collect()
}

fn text_of<'a>(files: &'a [(String, String)], name: &str) -> &'a str {
    files.iter().find(|(n, _)| n == name).map(|(_, t)| t.as_str()).unwrap_or_else(|| panic!("{name} not written"))
}

/// The cells of the markdown table row for `id`, trimmed (`\\|` stays inside its cell).
fn row(text: &str, id: &str) -> Vec<String> {
    let split = |l: &str| -> Vec<String> {
        l.replace("\\|", "\u{1}").split('|').map(|c| c.trim().replace('\u{1}', "\\|")).collect()
    };
    text.lines()
        .map(split)
        .find(|cells| cells.get(1).is_some_and(|c| c == id))
        .unwrap_or_else(|| panic!("no row for {id} in\n{text}"))
}

#[test]
fn planpipe_rows_follow_the_run_and_go_back_to_pending() {
    let (_tmp, dir) = copy_case("planpipe/backlog");
    let before = load(&dir);
    let reports = vec![
        report("ST-2", TaskOutcome::Rework { reason: "verify failed: `cargo test` | exit 101".into() }, 2, 1),
        report("ST-3", TaskOutcome::InProgress, 1, 0),
        report("ST-4", TaskOutcome::Blocked { reason: "3 attempts failed the same way".into() }, 3, 3),
    ];
    let files = write_live(&before, &reports);
    let text = text_of(&files, "execution-status.md");
    assert_eq!(row(text, "ST-2")[3], "rework");
    assert_eq!(row(text, "ST-2")[5], "1", "review cycles: the rejected attempts");
    assert_eq!(row(text, "ST-2")[6], "attempt 2, rework: verify failed: `cargo test` \\| exit 101", "{text}");
    assert_eq!(row(text, "ST-3")[3], "in_progress");
    assert_eq!(row(text, "ST-4")[3], "blocked");
    assert_eq!(row(text, "ST-4")[6], "3 attempts failed the same way");
    // The summary table counts the rows as they are now.
    assert!(text.contains("| rework | 1 | ST-2 |"), "{text}");
    assert!(text.contains("| in_progress | 1 | ST-3 |"), "{text}");
    assert!(text.contains("| done | 1 | ST-1 |"), "{text}");

    // ST-3 goes to review, then passes; ST-2 is no longer worked on (the run stopped).
    let mid = load(&dir);
    let files = write_live(&mid, &[report("ST-3", TaskOutcome::InReview, 1, 0)]);
    let text = text_of(&files, "execution-status.md");
    assert_eq!(row(text, "ST-3")[3], "in_review");
    assert_eq!(row(text, "ST-2")[3], "pending", "a live state left by a stopped run goes back");
    assert_eq!(row(text, "ST-2")[6], "", "with planrun's note");
    let mid = load(&dir);
    let mut passed = report("ST-3", TaskOutcome::Done, 1, 0);
    passed.summary = Some("Run by planrun: done after 1 attempt(s).".into());
    let files = write_live(&mid, &[passed]);
    let text = text_of(&files, "execution-status.md");
    assert_eq!(row(text, "ST-3")[3], "done");
    assert_eq!(row(text, "ST-3")[6], "Run by planrun: done after 1 attempt(s).");
    let after = load(&dir);
    assert_eq!(after.plan.task("ST-3").unwrap().status, planrun_plan::Status::Done);
    // A user's note stays when planrun has nothing of its own to replace.
    assert_eq!(row(text, "ST-1")[6], "passed both reviews");
}

#[test]
fn ccw_todo_list_and_task_files_follow_the_run() {
    let (_tmp, dir) = copy_case("ccw/session");
    let before = load(&dir);
    let reports = vec![
        report("IMPL-1.2", TaskOutcome::InProgress, 1, 0),
        report("IMPL-2", TaskOutcome::Rework { reason: "✅ 3 passed, ❌ 1 failed: test_refresh".into() }, 1, 1),
        report("IMPL-3", TaskOutcome::Blocked { reason: "its budget is spent".into() }, 2, 1),
    ];
    let files = write_live(&before, &reports);
    let todo = text_of(&files, "TODO_LIST.md");
    assert!(todo.contains("  - [ ] **IMPL-1.2**: Issue and verify JWTs → [📋](./.task/IMPL-1.2.json)\n    - Status: in progress (attempt 1)\n"), "{todo}");
    assert!(
        todo.contains("\n  - Status: in progress (attempt 1); error:  3 passed, ❌ 1 failed: test_refresh\n"),
        "{todo}"
    );
    assert!(todo.contains("\n  - Status: blocked: its budget is spent"), "{todo}");
    assert!(!todo.contains("✅ 3 passed"), "a ✅ in a note would read as done");
    assert!(text_of(&files, "IMPL-1.2.json").contains("\"status\": \"active\""));
    assert!(text_of(&files, "IMPL-3.json").contains("\"status\": \"blocked\""));
    let mid = load(&dir);
    for t in &mid.plan.tasks {
        assert_eq!(
            status::unmarked(t),
            status::unmarked(before.plan.task(&t.id).unwrap()),
            "{} reads differently",
            t.id
        );
        if t.id != "IMPL-1.1" {
            assert_eq!(t.status, planrun_plan::Status::Pending, "{}", t.id);
        }
    }

    // IMPL-1.2 passes; IMPL-2 is not worked on any more (the run stopped).
    // The run hands in every task: those not worked on any more as not run.
    let mut reports = vec![report("IMPL-1.2", TaskOutcome::Done, 1, 0)];
    reports.extend(["IMPL-2", "IMPL-3"].map(|id| TaskReport::new(id, TaskOutcome::NotRun)));
    let files = write_live(&mid, &reports);
    let todo = text_of(&files, "TODO_LIST.md");
    assert!(
        todo.contains(
            "  - [x] **IMPL-1.2**: Issue and verify JWTs → [📋](./.task/IMPL-1.2.json)\n    - Status: completed\n"
        ),
        "{todo}"
    );
    assert!(
        todo.contains("**IMPL-2**: Login and refresh endpoints → [📋](./.task/IMPL-2.json)\n  - Status: pending\n"),
        "{todo}"
    );
    assert!(todo.contains("- Status: blocked: its budget is spent"), "a blocked note stays: {todo}");
    assert!(text_of(&files, "IMPL-1.2.json").contains("\"status\": \"completed\""));
    assert!(text_of(&files, "IMPL-2.json").contains("\"status\": \"pending\""));
    let after = load(&dir);
    assert_eq!(after.plan.task("IMPL-1.2").unwrap().status, planrun_plan::Status::Done);
    assert_eq!(after.plan.task("IMPL-2").unwrap().status, planrun_plan::Status::Pending);
}

#[test]
fn cm_backlog_follows_the_rarv_protocol() {
    let (_tmp, dir) = copy_case("cm/backlog-rarv");
    let before = load(&dir);
    let ids: Vec<String> = before.plan.tasks.iter().map(|t| t.id.clone()).collect();
    // Task 5 (backlog) starts; task 2 is done already; task 4 was left in progress by cm itself.
    let five = &ids[4];
    let files = write_live(&before, &[report(five, TaskOutcome::InProgress, 1, 0)]);
    let text = text_of(&files, "cm-tasks.json");
    let json: serde_json::Value = serde_json::from_str(text).unwrap();
    let entry = &json["tasks"][4];
    assert_eq!(entry["status"], "in_progress");
    assert_eq!(entry["rarv_cycles"], 0);
    assert_eq!(
        entry["logs"][0],
        serde_json::json!({"phase": "REASON", "message": format!("Selected: {five}"), "by": "planrun"})
    );
    assert_eq!(json["updated"], NOW);
    assert_eq!(
        json["stats"],
        serde_json::json!({"total": 5, "done": 2, "in_progress": 2, "blocked": 1, "backlog": 0, "rarv_cycles_total": 6})
    );

    // It fails once, then passes: one rejected cycle, planrun's entries replaced, not repeated.
    let mid = load(&dir);
    let mut passed = report(five, TaskOutcome::Done, 2, 1);
    passed.log.push(LogEntry { phase: "VERIFY".into(), message: "✅ passed".into() });
    let files = write_live(&mid, &[passed]);
    let json: serde_json::Value = serde_json::from_str(text_of(&files, "cm-tasks.json")).unwrap();
    let entry = &json["tasks"][4];
    assert_eq!(entry["status"], "done");
    assert_eq!(entry["rarv_cycles"], 1);
    assert_eq!(entry["completed_at"], NOW);
    let phases: Vec<&str> = entry["logs"].as_array().unwrap().iter().map(|l| l["phase"].as_str().unwrap()).collect();
    assert_eq!(phases, ["REASON", "VERIFY", "VERIFY"]);
    assert_eq!(json["stats"]["done"], 3);
    assert_eq!(json["stats"]["in_progress"], 1);
    assert_eq!(json["stats"]["rarv_cycles_total"], 7);
    // Others' log entries stay: task 1's three.
    assert_eq!(json["tasks"][0]["logs"].as_array().unwrap().len(), 3);
    let after = load(&dir);
    assert_eq!(after.plan.task(five).unwrap().status, planrun_plan::Status::Done);
    // The same reports again change nothing.
    let mut again = report(five, TaskOutcome::Done, 2, 1);
    again.log.push(LogEntry { phase: "VERIFY".into(), message: "✅ passed".into() });
    assert!(status::edits_at(&after, &[again], Some(NOW)).unwrap().is_empty());
}

/// Every fixture a live status can be written for, with its format.
fn cases() -> Vec<String> {
    let mut out = Vec::new();
    for fmt_dir in std::fs::read_dir(common::fixtures()).unwrap() {
        let fmt_dir = fmt_dir.unwrap().path();
        for case in std::fs::read_dir(&fmt_dir).unwrap() {
            let case = case.unwrap().path();
            if planrun_plan::load(&case, None).is_ok() {
                let rel = case.strip_prefix(common::fixtures()).unwrap().to_string_lossy().replace('\\', "/");
                out.push(rel);
            }
        }
    }
    out.sort();
    out
}

fn outcome(pick: u8) -> TaskOutcome {
    match pick % 7 {
        0 => TaskOutcome::Done,
        1 => TaskOutcome::Blocked { reason: "it | broke ✅ done\nsecond line".into() },
        2 => TaskOutcome::Skipped,
        3 => TaskOutcome::NotRun,
        4 => TaskOutcome::InProgress,
        5 => TaskOutcome::InReview,
        _ => TaskOutcome::Rework { reason: "`make test` | failed: ✅ 1 passed, done".into() },
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Any sequence of live writes on any fixture: every file stays inside the case, each task
    /// reads the same once marks are set aside (its status aside), only tasks reported done read
    /// done that did not before, and repeating the last write changes nothing.
    #[test]
    fn live_writes_never_change_what_a_task_asks(pick in 0usize..1000, rounds in proptest::collection::vec(proptest::collection::vec(0u8..7, 0..12), 1..4)) {
        let cases = cases();
        let rel = &cases[pick % cases.len()];
        let (_tmp, dir) = copy_case(rel);
        let first = load(&dir);
        let mut reports = Vec::new();
        let mut ever_done: Vec<String> = Vec::new();
        for round in &rounds {
            let now = load(&dir);
            reports = now
                .plan
                .tasks
                .iter()
                .zip(round)
                .map(|(t, p)| report(&t.id, outcome(*p), u32::from(*p % 3) + 1, u32::from(*p % 2)))
                .collect();
            ever_done.extend(reports.iter().filter(|r| r.state == TaskOutcome::Done).map(|r| r.id.clone()));
            let edits = status::edits_at(&now, &reports, Some(NOW)).unwrap();
            for e in &edits {
                prop_assert!(e.path.starts_with(&dir), "{}", e.path.display());
            }
            status::write(&edits).unwrap();
            let after = load(&dir);
            prop_assert_eq!(after.plan.tasks.len(), first.plan.tasks.len(), "{}", rel);
            for (b, a) in first.plan.tasks.iter().zip(&after.plan.tasks) {
                prop_assert_eq!(status::unmarked(b), status::unmarked(a), "{}: task {} reads differently", rel, b.id);
                // (A Task Master subtask reads done with its parent.)
                let reported_done = ever_done.iter().any(|d| *d == a.id || a.id.starts_with(&format!("{d}.")));
                // (A task without an id cannot be told apart from another: not checked.)
                if a.status == planrun_plan::Status::Done && b.status != planrun_plan::Status::Done && !a.id.is_empty() {
                    prop_assert!(reported_done, "{}: {} reads done, but was never reported done", rel, a.id);
                }
            }
        }
        let last = load(&dir);
        let again = status::edits_at(&last, &reports, Some(NOW)).unwrap();
        prop_assert!(
            again.is_empty(),
            "{}: the same write again changes {}",
            rel,
            again.iter().map(|e| format!("{}:\n{}\n--- was:\n{}", e.path.display(), e.contents, std::fs::read_to_string(&e.path).unwrap_or_default())).collect::<Vec<_>>().join("\n")
        );
    }
}

#[test]
fn a_file_changed_since_it_was_read_is_not_overwritten() {
    let (_tmp, dir) = copy_case("planpipe/backlog");
    let loaded = load(&dir);
    let edits = status::edits_at(&loaded, &[report("ST-3", TaskOutcome::InProgress, 1, 0)], Some(NOW)).unwrap();
    let path = edits.iter().find(|e| e.path.ends_with("execution-status.md")).unwrap().path.clone();
    // Someone (an agent, the user) writes the file after planrun read it.
    let theirs = std::fs::read_to_string(&path).unwrap().replace("code review pending", "their own words");
    std::fs::write(&path, &theirs).unwrap();
    let (written, later) = status::write_unchanged(&loaded, &edits).unwrap();
    assert!(!written.contains(&path) && later.contains(&path));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), theirs, "their change is kept");
    // Read again, the next write goes through, their words with it.
    let again = load(&dir);
    let edits = status::edits_at(&again, &[report("ST-3", TaskOutcome::InProgress, 1, 0)], Some(NOW)).unwrap();
    let (written, later) = status::write_unchanged(&again, &edits).unwrap();
    assert!(written.contains(&path) && later.is_empty());
    let now = std::fs::read_to_string(&path).unwrap();
    assert!(now.contains("their own words") && now.contains("| ST-3 | Rate limit middleware | in_progress |"), "{now}");
}
