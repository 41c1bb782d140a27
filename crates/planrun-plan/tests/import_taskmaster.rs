//! The task-master importer against its fixtures: the active tag, subtasks as tasks `P.S` that
//! their parent waits for, dependency spellings, statuses, the untagged shape, diagnostics for
//! broken files, detection, and no panics on any input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{codes, ids, task};

use planrun_plan::import::detect;
use planrun_plan::model::Priority;
use planrun_plan::{Format, Loaded, Status};
use proptest::prelude::*;

const CLEAN_FILE: &str = "taskmaster/clean/.taskmaster/tasks/tasks.json";

fn line_of(l: &Loaded, index: usize) -> usize {
    l.diagnostics[index].location(&l.sources).unwrap().line
}

#[test]
fn clean_tasks() {
    let l = common::load("taskmaster/clean");
    insta::assert_json_snapshot!(common::snapshot(&l));
    assert_eq!(l.format, Format::Taskmaster);
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    assert_eq!(l.plan.title, "Notes API", "projectName of config.json");
    assert_eq!(ids(&l), ["1", "2", "3", "3.1", "3.2", "3.3", "4"]);
    assert_eq!(task(&l, "1").status, Status::Done);
    assert_eq!(task(&l, "2").depends_on, ["1"]);
    // The parent waits for its own dependencies and for every subtask.
    assert_eq!(task(&l, "3").depends_on, ["2", "3.1", "3.2", "3.3"]);
    // A subtask that waits for no sibling waits for what its parent waits for.
    assert_eq!(task(&l, "3.1").depends_on, ["2"]);
    assert_eq!(task(&l, "3.2").depends_on, ["3.1"], "a bare number is a sibling");
    assert_eq!(task(&l, "3.3").depends_on, ["3.1"], "a \"P.S\" string");
    assert_eq!(task(&l, "3.1").status, Status::Done);
    assert_eq!(task(&l, "3").status, Status::Pending, "in-progress");
    assert_eq!(task(&l, "4").depends_on, ["3"]);
    let t2 = task(&l, "2");
    assert_eq!(t2.acceptance, ["Migration applies on an empty database; duplicate emails are rejected."]);
    assert!(t2.description.contains("## Details\n\nPostgres via Prisma"));
    assert!(t2.description.contains("## Test strategy"));
    assert_eq!(t2.priority, Some(Priority::High), "read as the task's priority");
    assert!(!t2.description.contains("Priority:"), "not left in the prose");
    assert!(task(&l, "4").acceptance.is_empty(), "an empty testStrategy is no criterion");
    assert!(l.plan.tasks.iter().all(|t| t.verify.is_empty()), "test strategies are prose, not commands");
}

#[test]
fn messy_tags_and_statuses() {
    let l = common::load("taskmaster/messy");
    insta::assert_json_snapshot!(common::snapshot(&l));
    // state.json names feature-oauth; master is ignored with a warning.
    assert_eq!(ids(&l), ["1", "2", "2.1", "2.2", "2.3", "3", "3.1", "4", "4.1", "4.2"]);
    assert_eq!(task(&l, "1").title, "Register the OAuth app");
    assert_eq!(codes(&l), ["other-tags", "unknown-field", "unknown-status", "parent-dependency"]);
    assert!(l.diagnostics[0].message.contains("`master`"));
    assert_eq!(line_of(&l, 1), 28);
    assert_eq!(line_of(&l, 2), 59);
    let done: Vec<&str> = l.plan.tasks.iter().filter(|t| t.status == Status::Done).map(|t| t.id.as_str()).collect();
    // "Done" in any case; cancelled counts as done and takes its subtasks along.
    assert_eq!(done, ["1", "2.1", "3", "3.1"]);
    assert_eq!(
        task(&l, "2").files,
        ["src/auth/oauth.ts", "src/auth/callback.ts"],
        "referenced files are not the task's"
    );
    assert_eq!(
        task(&l, "2").acceptance,
        ["Mock GitHub; a bad state parameter is rejected.", "State is checked", "Token never logged"]
    );
    assert_eq!(task(&l, "2.2").depends_on, ["2.1"], "1 and \"2.1\" are the same sibling");
    assert_eq!(task(&l, "2.3").depends_on, ["2.2"]);
    assert_eq!(task(&l, "4").depends_on, ["2.3", "3", "4.1", "4.2"]);
    assert_eq!(task(&l, "4.1").depends_on, ["3", "2.3"], "no sibling 3: top-level task 3");
    assert_eq!(task(&l, "4.2").depends_on, ["2.3", "3"], "the parent itself is dropped");
    assert!(task(&l, "2").description.contains("Exchange the code for a token.\nStore the token encrypted."));
}

#[test]
fn legacy_untagged_file() {
    let l = common::load("taskmaster/legacy");
    insta::assert_json_snapshot!(common::snapshot(&l));
    assert!(l.root.ends_with("tasks/tasks.json"));
    assert_eq!(l.plan.title, "CLI Timer");
    assert_eq!(ids(&l), ["1", "2"]);
    assert_eq!(task(&l, "2").depends_on, ["1"]);
    assert_eq!(task(&l, "1").status, Status::Done);
}

#[test]
fn broken_shapes_give_located_diagnostics() {
    let l = common::load("taskmaster/broken");
    insta::assert_json_snapshot!(common::snapshot(&l));
    assert_eq!(ids(&l), ["", "2", "", "2.2", "3"], "no task object is dropped");
    assert_eq!(
        codes(&l),
        [
            "missing-id",
            "missing-id",
            "parent-dependency",
            "json-shape",
            "json-shape",
            "json-shape",
            "json-shape",
            "json-shape"
        ]
    );
    assert_eq!(line_of(&l, 0), 4);
    assert_eq!(line_of(&l, 1), 15);
    assert!(task(&l, "2").title.is_empty());
    // An unknown dependency is kept where it was written, for validation to report.
    let t2 = task(&l, "2");
    assert_eq!(t2.depends_on, ["99", "1.4", "2.2"]);
    let span = l.spans(1).depends_on[0];
    assert_eq!(l.sources.line_col(span.source, span.start), (13, 26));
}

#[test]
fn bad_json_is_a_diagnostic() {
    let l = common::load("taskmaster/bad-json");
    insta::assert_json_snapshot!(common::snapshot(&l));
    assert!(l.plan.tasks.is_empty());
    assert_eq!(codes(&l), ["json-syntax"]);
    let loc = l.diagnostics[0].location(&l.sources).unwrap();
    assert_eq!(loc.line, 5);
}

#[test]
fn detection() {
    let file = common::fixture(CLEAN_FILE);
    assert_eq!(detect(&common::fixture("taskmaster/clean")).unwrap(), (Format::Taskmaster, file.clone()));
    assert_eq!(detect(&common::fixture("taskmaster/clean/.taskmaster")).unwrap(), (Format::Taskmaster, file.clone()));
    assert_eq!(detect(&file).unwrap(), (Format::Taskmaster, file));
    assert_eq!(detect(&common::fixture("taskmaster/legacy")).unwrap().0, Format::Taskmaster);
    assert_eq!(detect(&common::fixture("taskmaster/legacy/tasks/tasks.json")).unwrap().0, Format::Taskmaster);
    // Broken JSON in the usual place is still task-master's, so its errors are shown.
    assert_eq!(detect(&common::fixture("taskmaster/bad-json")).unwrap().0, Format::Taskmaster);
}

#[test]
fn planrun_json_is_not_taskmaster() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.json");
    std::fs::write(&path, r#"{"title": "x", "tasks": [{"id": "a", "title": "A", "depends_on": []}]}"#).unwrap();
    assert_eq!(detect(&path).unwrap().0, Format::Json);
    // A tasks.json elsewhere with task-master's shape is found by its content.
    let path = dir.path().join("backlog.json");
    std::fs::write(&path, r#"{"feature": {"tasks": [{"id": 1, "title": "A", "details": "d", "dependencies": []}]}}"#)
        .unwrap();
    assert_eq!(detect(&path).unwrap().0, Format::Taskmaster);
}

fn json_text() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("1".to_owned()),
        Just("\"2.1\"".to_owned()),
        Just("null".to_owned()),
        Just("\"done\"".to_owned()),
        Just("\"cancelled\"".to_owned()),
        "\"[a-z0-9.]{0,4}\"",
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        let keys = prop_oneof![
            Just("id"),
            Just("title"),
            Just("status"),
            Just("dependencies"),
            Just("subtasks"),
            Just("tasks"),
            Just("master"),
            Just("details"),
            Just("testStrategy"),
            Just("relevantFiles"),
            Just("path"),
            Just("x"),
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec((keys, inner), 0..5).prop_map(|v| format!(
                "{{{}}}",
                v.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect::<Vec<_>>().join(",")
            )),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400), state in prop::collection::vec(any::<u8>(), 0..60)) {
        let dir = tempfile::tempdir().unwrap();
        let tasks = dir.path().join(".taskmaster/tasks");
        std::fs::create_dir_all(&tasks).unwrap();
        std::fs::write(tasks.join("tasks.json"), &bytes).unwrap();
        std::fs::write(dir.path().join(".taskmaster/state.json"), &state).unwrap();
        let l = planrun_plan::load(dir.path(), None);
        prop_assert!(l.is_ok());
        let _ = planrun_plan::load(&tasks.join("tasks.json"), Some(Format::Taskmaster));
    }

    #[test]
    fn never_panics_on_json(text in json_text(), tag in "[a-z]{0,6}") {
        let dir = tempfile::tempdir().unwrap();
        let tasks = dir.path().join(".taskmaster/tasks");
        std::fs::create_dir_all(&tasks).unwrap();
        std::fs::write(tasks.join("tasks.json"), &text).unwrap();
        std::fs::write(dir.path().join(".taskmaster/state.json"), format!("{{\"currentTag\": \"{tag}\"}}")).unwrap();
        let l = planrun_plan::load(dir.path(), None);
        prop_assert!(l.is_ok());
        let loose = dir.path().join("loose.json");
        std::fs::write(&loose, &text).unwrap();
        let _ = planrun_plan::load(&loose, None);
    }
}

#[test]
fn test_strategy_commands_are_verify_and_prose_is_acceptance() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".taskmaster/tasks/tasks.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        &path,
        r#"{"master": {"tasks": [
  {"id": 1, "title": "Scaffold", "status": "done", "dependencies": [],
   "testStrategy": "cargo test --workspace"},
  {"id": 2, "title": "Router", "status": "review", "dependencies": [1],
   "testStrategy": "Run `cargo check` and a smoke test that hits /healthz and sees 200.",
   "acceptanceCriteria": ["GET /healthz answers 200"]},
  {"id": 3, "title": "Docs", "status": "deferred", "dependencies": ["2"],
   "testStrategy": "Read the page and make sure every example works."}
]}}"#,
    )
    .unwrap();
    let l = planrun_plan::load(&path, None).unwrap();
    assert_eq!(task(&l, "1").verify, ["cargo test --workspace"]);
    assert!(task(&l, "1").acceptance.is_empty(), "a strategy that is a command is not also a criterion");
    assert_eq!(task(&l, "2").verify, ["cargo check"]);
    assert_eq!(
        task(&l, "2").acceptance,
        ["Run `cargo check` and a smoke test that hits /healthz and sees 200.", "GET /healthz answers 200"]
    );
    assert!(task(&l, "3").verify.is_empty());
    assert_eq!(task(&l, "3").acceptance.len(), 1);
    // Spans point at where each field was written.
    let s = l.spans(1);
    assert_eq!((s.verify.len(), s.acceptance.len()), (1, 2));
    let line = |span: planrun_plan::Span| l.sources.line_col(span.source, span.start).0;
    assert_eq!(line(s.verify[0]), 5);
    assert_eq!(line(s.acceptance[1]), 6);
    assert_eq!(line(s.status.unwrap()), 4);
    assert!(l.spans(0).status.is_some());
}

#[test]
fn a_hand_added_files_list_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".taskmaster/tasks/tasks.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        &path,
        r#"{"master": {"tasks": [{"id": 1, "title": "Skeleton", "status": "pending", "dependencies": [],
  "subtasks": [{"id": "1.1", "title": "App", "files": ["main.py", "./app/__init__.py"]}]}]}}"#,
    )
    .unwrap();
    let l = planrun_plan::load(&path, None).unwrap();
    assert_eq!(task(&l, "1.1").files, ["main.py", "app/__init__.py"]);
    assert_eq!(l.spans(1).files.len(), 2);
    assert!(!codes(&l).contains(&"unknown-field"), "{:?}", codes(&l));
}
