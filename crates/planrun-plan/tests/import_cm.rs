//! The cm importer against its fixtures: the approved `handoff/plan.json`, the RARV backlog
//! `cm-tasks.json`, both in one repository, and broken files; detection from every entry point;
//! and arbitrary input that must never panic.
// A test fails by panicking: unwrapping and indexing are how it says what went wrong.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::ids;

use planrun_plan::import::detect;
use planrun_plan::{Format, LoadError, Loaded, Status};
use proptest::prelude::*;
use std::path::Path;

fn deps<'a>(loaded: &'a Loaded, id: &str) -> Vec<&'a str> {
    loaded.plan.task(id).map(|t| t.depends_on.iter().map(String::as_str).collect()).unwrap_or_default()
}

fn done(loaded: &Loaded) -> Vec<&str> {
    loaded.plan.tasks.iter().filter(|t| t.status == Status::Done).map(|t| t.id.as_str()).collect()
}

fn persona<'a>(loaded: &'a Loaded, id: &str) -> Option<&'a str> {
    loaded.plan.task(id).and_then(|t| t.persona.as_deref())
}

/// Code, file (relative to the fixtures) and line of every diagnostic.
fn diags(loaded: &Loaded) -> Vec<(&'static str, String, usize)> {
    loaded
        .diagnostics
        .iter()
        .map(|d| {
            let loc = d.location(&loaded.sources);
            let file = loc.as_ref().map(|l| l.file.replace('\\', "/")).unwrap_or_default();
            let file = file.rsplit_once("fixtures/").map_or(file.clone(), |(_, f)| f.to_owned());
            (d.code, file, loc.map_or(0, |l| l.line))
        })
        .collect()
}

#[test]
fn handoff_plan_clean() {
    let loaded = common::load("cm/handoff-clean");
    insta::assert_json_snapshot!(common::snapshot(&loaded));
    assert_eq!(loaded.format, Format::Cm);
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    assert_eq!(loaded.plan.title, "Rate-limit the public API");
    assert!(loaded.plan.context.starts_with("Goal: Stop abusive clients"));
    assert!(loaded.plan.context.contains("token-bucket limiter"));
    assert_eq!(loaded.plan.verify, vec!["npm test", "npm run lint"]);
    assert_eq!(ids(&loaded), vec!["T1", "T2", "T3", "T4", "T5"]);
    assert!(deps(&loaded, "T1").is_empty());
    assert_eq!(deps(&loaded, "T2"), vec!["T1"]);
    assert_eq!(deps(&loaded, "T4"), vec!["T2"]);
    assert_eq!(deps(&loaded, "T5"), vec!["T3", "T4"]);
    assert!(done(&loaded).is_empty());
    let t2 = loaded.plan.task("T2").map(|t| (t.files.clone(), t.verify.clone(), t.acceptance.len()));
    assert_eq!(
        t2,
        Some((
            vec!["src/middleware/rateLimit.ts".to_owned(), "src/middleware/rateLimit.test.ts".to_owned()],
            vec!["npx vitest run src/middleware/rateLimit.test.ts".to_owned()],
            1
        ))
    );
    // Explicit persona kept; the others inferred from the title's signal words.
    assert_eq!(persona(&loaded, "T1"), Some("architect"));
    assert_eq!(persona(&loaded, "T2"), Some("engineer"));
    assert_eq!(persona(&loaded, "T3"), Some("engineer"));
    assert_eq!(persona(&loaded, "T4"), Some("reviewer"));
    assert_eq!(persona(&loaded, "T5"), Some("security"));
    // Every dependency and file is located in the file.
    for (task, spans) in loaded.plan.tasks.iter().zip(&loaded.task_spans) {
        assert_eq!(task.depends_on.len(), spans.depends_on.len(), "{}", task.id);
        assert_eq!(task.files.len(), spans.files.len(), "{}", task.id);
        assert!(spans.id.is_some() && spans.title.is_some());
    }
}

#[test]
fn backlog_mid_run() {
    let loaded = common::load("cm/backlog-rarv");
    insta::assert_json_snapshot!(common::snapshot(&loaded));
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    assert_eq!(loaded.plan.title, "invoice-service");
    // Numeric ids become strings.
    assert_eq!(ids(&loaded), vec!["1", "2", "3", "4", "5"]);
    // "done" and "completed" are done; in_progress, blocked and backlog are pending.
    assert_eq!(done(&loaded), vec!["1", "2"]);
    // No task names dependencies: file order.
    assert!(deps(&loaded, "1").is_empty());
    assert_eq!(deps(&loaded, "2"), vec!["1"]);
    assert_eq!(deps(&loaded, "5"), vec!["4"]);
    assert_eq!(persona(&loaded, "1"), Some("engineer"));
    assert_eq!(persona(&loaded, "3"), Some("reviewer"));
    assert_eq!(persona(&loaded, "4"), Some("pm"));
    assert_eq!(persona(&loaded, "5"), Some("security"));
    assert!(loaded.plan.task("3").is_some_and(|t| t.description.contains("Skill: `cm-debugging`")));
    assert!(loaded.plan.verify.is_empty());
}

#[test]
fn handoff_with_backlog_messy() {
    let loaded = common::load("cm/both-messy");
    insta::assert_json_snapshot!(common::snapshot(&loaded));
    assert_eq!(loaded.plan.title, "Offline mode for the field app");
    assert!(loaded.plan.context.contains("Constraints:\n- No new native dependencies"));
    assert!(loaded.plan.context.contains("Risks:\n- IndexedDB quota"));
    assert_eq!(loaded.plan.verify, vec!["pnpm test"]);
    // `steps` instead of `tasks`, `step` numbers as ids.
    assert_eq!(ids(&loaded), vec!["1", "2", "3", "4", "5"]);
    assert!(deps(&loaded, "1").is_empty());
    assert_eq!(deps(&loaded, "2"), vec!["1"]);
    assert_eq!(deps(&loaded, "4"), vec!["3"]);
    assert_eq!(deps(&loaded, "5"), vec!["3", "4"]);
    // Done from cm-tasks.json: 1 by id, 2 by title; 3 is in progress there.
    assert_eq!(done(&loaded), vec!["1", "2"]);
    let t2 = loaded.plan.task("2");
    assert_eq!(t2.map(|t| t.files.clone()), Some(vec!["src/sync/queue.ts".to_owned(), "src/api/client.ts".to_owned()]));
    assert_eq!(persona(&loaded, "1"), Some("pm"));
    assert_eq!(persona(&loaded, "2"), Some("architect"));
    assert_eq!(persona(&loaded, "3"), Some("engineer"));
    assert_eq!(persona(&loaded, "5"), Some("security"));
    let t4 = loaded.plan.task("4");
    assert_eq!(t4.and_then(|t| t.agent.as_deref()), Some("codex"));
    assert_eq!(t4.map(|t| t.verify.clone()), Some(vec!["pnpm vitest run src/sync/conflict.test.ts".to_owned()]));
    assert_eq!(t4.map(|t| t.acceptance.len()), Some(3));
    let t3 = loaded.plan.task("3");
    assert!(t3.is_some_and(|t| t.description.contains("- wire it into the queue")));
    assert_eq!(diags(&loaded), vec![("unmatched-task", "cm/both-messy/cm-tasks.json".to_owned(), 9)]);
}

#[test]
fn broken_json_is_a_located_diagnostic() {
    let loaded = common::load("cm/broken-json");
    insta::assert_json_snapshot!(common::snapshot(&loaded));
    assert!(loaded.plan.tasks.is_empty());
    assert_eq!(diags(&loaded), vec![("json-syntax", "cm/broken-json/cm-tasks.json".to_owned(), 12)]);
    assert!(loaded.diagnostics.iter().all(|d| d.is_error()));
}

#[test]
fn broken_fields_are_located_diagnostics() {
    let loaded = common::load("cm/broken-fields");
    insta::assert_json_snapshot!(common::snapshot(&loaded));
    let file = "cm/broken-fields/handoff/plan.json".to_owned();
    let mut found = diags(&loaded);
    found.sort();
    assert_eq!(
        found,
        vec![
            ("id-rewritten", file.clone(), 5),
            ("json-shape", file.clone(), 7),
            ("json-shape", file.clone(), 8),
            ("missing-id", file.clone(), 4),
            ("missing-title", file.clone(), 6),
            ("unknown-field", file.clone(), 10),
            ("unknown-status", file, 8),
        ]
    );
    // Nothing is dropped: a missing id or a bare string still makes a task.
    assert_eq!(ids(&loaded), vec!["task-1", "index-builder", "3", "task-4", "4"]);
    assert_eq!(deps(&loaded, "index-builder"), vec!["task-1"]);
    // Dependencies written with a rewritten id follow it; unknown ones are kept for validation.
    assert_eq!(deps(&loaded, "3"), vec!["index-builder", "42"]);
    assert_eq!(loaded.plan.task("4").map(|t| t.files.clone()), Some(vec!["scripts/backfill.ts".to_owned()]));
    assert_eq!(loaded.plan.task("4").map(|t| t.status), Some(Status::Pending));
}

#[test]
fn detected_from_every_entry_point() {
    let root = common::fixture("cm/both-messy");
    for (path, expected) in [
        (root.clone(), root.clone()),
        (root.join("handoff"), root.join("handoff")),
        (root.join("handoff/plan.json"), root.join("handoff/plan.json")),
        (root.join("cm-tasks.json"), root.join("cm-tasks.json")),
        (common::fixture("cm/backlog-rarv"), common::fixture("cm/backlog-rarv")),
    ] {
        match detect(&path) {
            Ok((format, found)) => {
                assert_eq!(format, Format::Cm, "{}", path.display());
                assert_eq!(found, expected);
            }
            Err(e) => panic!("{}: {e}", path.display()),
        }
    }
}

#[test]
fn the_plan_file_alone_still_takes_status_from_the_backlog() {
    let loaded = common::load("cm/both-messy/handoff/plan.json");
    assert_eq!(done(&loaded), vec!["1", "2"]);
    let loaded = common::load("cm/both-messy/handoff");
    assert_eq!(done(&loaded), vec!["1", "2"]);
}

#[test]
fn the_backlog_file_named_explicitly_is_read_alone() {
    let loaded = common::load("cm/both-messy/cm-tasks.json");
    assert_eq!(ids(&loaded), vec!["1", "design-sync", "3", "4", "T-9"]);
    assert_eq!(done(&loaded), vec!["1", "design-sync", "T-9"]);
    assert_eq!(loaded.plan.title, "cm backlog");
}

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn renamed_backlog_is_sniffed_by_content_and_plain_json_is_not() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "backup.json", r#"{"tasks": [{"id": 1, "title": "Fix x", "status": "done", "rarv_cycles": 0}]}"#);
    write(dir.path(), "other.json", r#"{"tasks": [{"id": 1, "title": "Fix x"}]}"#);
    let (format, _) = detect(&dir.path().join("backup.json")).unwrap();
    assert_eq!(format, Format::Cm);
    let (format, _) = detect(&dir.path().join("other.json")).unwrap();
    assert_ne!(format, Format::Cm);
    // A repository with neither file is not cm, even when forced.
    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(planrun_plan::load(empty.path(), Some(Format::Cm)), Err(LoadError::WrongFormat { .. })));
}

#[test]
fn two_handoff_plans_are_ambiguous() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "handoff/plan.json", r#"{"tasks": []}"#);
    write(dir.path(), ".cm/handoff/plan.json", r#"{"tasks": []}"#);
    match detect(dir.path()) {
        Err(LoadError::Ambiguous { candidates, .. }) => assert_eq!(candidates.len(), 2),
        other => panic!("expected ambiguity, got {other:?}"),
    }
}

#[test]
fn cm_folder_layout_and_phases() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        ".cm/handoff/plan.json",
        r#"{"goal": "Ship search", "phases": [
            {"name": "Index", "tasks": [{"id": "a", "title": "Build index"}, {"id": "b", "title": "Refactor tokenizer"}]},
            {"name": "API", "steps": [{"id": "c", "title": "Expose endpoint", "completed": true}]}
        ]}"#,
    );
    write(dir.path(), ".cm/cm-tasks.json", r#"{"tasks": [{"id": "a", "status": "done"}]}"#);
    let loaded = planrun_plan::load(dir.path(), None).unwrap();
    assert_eq!(loaded.format, Format::Cm);
    assert_eq!(loaded.plan.title, "Ship search");
    assert_eq!(ids(&loaded), vec!["a", "b", "c"]);
    assert_eq!(deps(&loaded, "c"), vec!["b"]);
    assert_eq!(done(&loaded), vec!["a", "c"]);
    let milestones: Vec<Option<&str>> = loaded.plan.tasks.iter().map(|t| t.milestone.as_deref()).collect();
    assert_eq!(milestones, vec![Some("Index"), Some("Index"), Some("API")]);
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
}

#[test]
fn top_level_array_and_non_object() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "cm-tasks.json", r#"[{"id": 7, "title": "Implement export"}, 3]"#);
    let loaded = planrun_plan::load(dir.path(), None).unwrap();
    assert_eq!(ids(&loaded), vec!["7"]);
    assert_eq!(loaded.diagnostics.iter().map(|d| d.code).collect::<Vec<_>>(), vec!["json-shape"]);
    write(dir.path(), "cm-tasks.json", "[]");
    write(dir.path(), "handoff/plan.json", "\"just a string\"");
    let loaded = planrun_plan::load(dir.path(), Some(Format::Cm)).unwrap();
    assert!(loaded.plan.tasks.is_empty());
    assert!(loaded.diagnostics.iter().any(|d| d.code == "json-shape" && d.span.is_some()));
}

#[test]
fn a_native_plan_in_the_handoff_folder_keeps_its_instructions() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "handoff/plan.json",
        r#"{"title": "T", "context": "Shared notes", "tasks": [{"id": "a", "title": "Do a", "milestone": "M1",
            "instructions": {"build": "Use TDD", "review": "Check names"}, "status": "done"}]}"#,
    );
    let loaded = planrun_plan::load(dir.path(), None).unwrap();
    assert_eq!(loaded.format, Format::Cm);
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    assert_eq!(loaded.plan.context, "Shared notes");
    let a = loaded.plan.task("a").unwrap();
    assert_eq!(a.instructions.build.as_deref(), Some("Use TDD"));
    assert_eq!(a.instructions.review.as_deref(), Some("Check names"));
    assert_eq!((a.milestone.as_deref(), a.status), (Some("M1"), Status::Done));
}

/// Text made of JSON punctuation, the field names the importer reads and a few values, so that
/// generated inputs reach deep into the reader instead of failing on the first byte.
fn jsonish() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just(",".to_owned()),
        Just(":".to_owned()),
        Just("null".to_owned()),
        Just("true".to_owned()),
        Just("7".to_owned()),
        prop::sample::select(vec![
            "tasks",
            "steps",
            "phases",
            "plan",
            "id",
            "step",
            "title",
            "name",
            "status",
            "done",
            "depends_on",
            "dependencies",
            "files",
            "verify",
            "acceptance",
            "persona",
            "agent",
            "skill",
            "goal",
            "summary",
            "index builder",
            "",
            "T1",
            "1",
            "2",
            "npm test",
            "Fix auth",
        ])
        .prop_map(|s| format!("\"{s}\"")),
    ];
    prop::collection::vec(token, 0..80).prop_map(|v| v.join(""))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..1024), jsonish in jsonish()) {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "handoff/plan.json", &jsonish);
        std::fs::write(dir.path().join("cm-tasks.json"), &bytes).unwrap();
        let _ = planrun_plan::load(dir.path(), Some(Format::Cm));
        let _ = planrun_plan::load(&dir.path().join("cm-tasks.json"), Some(Format::Cm));
        std::fs::write(dir.path().join("cm-tasks.json"), &jsonish).unwrap();
        std::fs::write(dir.path().join("handoff/plan.json"), &bytes).unwrap();
        let _ = planrun_plan::load(dir.path(), None);
        let _ = planrun_plan::load(&dir.path().join("cm-tasks.json"), Some(Format::Cm));
    }
}

#[test]
fn a_title_the_reader_had_to_derive_is_still_reported_by_check() {
    // The importer fills a missing title from the description; `check` must still say so.
    let loaded = common::load("cm/broken-fields");
    let checked = planrun_plan::check(&loaded);
    assert!(checked.diagnostics.iter().any(|d| d.code == "missing-title" && d.is_error()), "{:?}", checked.diagnostics);
}

#[test]
fn a_backlog_that_points_at_its_tasks_elsewhere_is_an_error_saying_where() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "cm-tasks.json",
        "{\n  \"initiative\": \"billing\",\n  \"objective\": \"Invoices by mail\",\n  \"tasks_file\": \"docs/billing/tasks.md\",\n  \"next_actions\": [\"write the mailer\"]\n}\n",
    );
    let loaded = planrun_plan::load(dir.path(), None).unwrap();
    assert!(loaded.plan.tasks.is_empty());
    let d = loaded.diagnostics.iter().find(|d| d.code == "tasks-elsewhere").expect("tasks-elsewhere");
    assert_eq!(d.severity, planrun_plan::Severity::Error);
    assert!(d.message.contains("cm-tasks.json") && d.message.contains("docs/billing/tasks.md"), "{}", d.message);
    assert_eq!(d.help.as_deref(), Some("point planrun at docs/billing/tasks.md"));
    assert_eq!(d.location(&loaded.sources).unwrap().line, 4);
    assert!(!loaded.diagnostics.iter().any(|d| d.code == "no-tasks"), "one error, not two");

    // An empty list with a pointer beside it says the same.
    write(dir.path(), "cm-tasks.json", "{\"tasks\": [], \"plan_file\": \"handoff/next.json\"}");
    let loaded = planrun_plan::load(&dir.path().join("cm-tasks.json"), None).unwrap();
    assert!(loaded.diagnostics.iter().any(|d| d.code == "tasks-elsewhere"));
}

#[test]
fn plans_without_tasks_are_errors_that_say_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "handoff/plan.json", "{\"title\": \"Empty\", \"goal\": \"nothing yet\"}");
    let loaded = planrun_plan::load(dir.path(), None).unwrap();
    let errs: Vec<_> = loaded.diagnostics.iter().filter(|d| d.code == "no-tasks").collect();
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].severity, planrun_plan::Severity::Error);
    assert!(errs[0].message.contains("plan.json") && errs[0].message.contains("no `tasks`"), "{}", errs[0].message);

    write(dir.path(), "handoff/plan.json", "{\"title\": \"Empty\", \"tasks\": []}");
    let loaded = planrun_plan::load(dir.path(), None).unwrap();
    let d = loaded.diagnostics.iter().find(|d| d.code == "no-tasks").unwrap();
    assert_eq!(d.severity, planrun_plan::Severity::Error);
    assert!(d.message.contains("empty"), "{}", d.message);
}

#[test]
fn spans_cover_verify_acceptance_status_and_description() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "handoff/plan.json",
        "{\"title\": \"P\", \"tasks\": [\n{\"id\": \"T1\", \"title\": \"One\",\n \"description\": \"Do one.\",\n \"verify\": [\"npm test\", \"the page loads\"],\n \"acceptance\": [\"answers 200\"]}]}",
    );
    write(dir.path(), "cm-tasks.json", "{\"tasks\": [\n{\"id\": \"T1\",\n \"status\": \"done\"}]}");
    let loaded = planrun_plan::load(dir.path(), None).unwrap();
    let s = loaded.spans(0);
    let line = |span: planrun_plan::Span| loaded.sources.line_col(span.source, span.start).0;
    assert_eq!(s.verify.iter().map(|&x| line(x)).collect::<Vec<_>>(), [4]);
    assert_eq!(s.acceptance.iter().map(|&x| line(x)).collect::<Vec<_>>(), [4, 5], "prose verify, then acceptance");
    assert_eq!(line(s.description.unwrap()), 3);
    let status = s.status.unwrap();
    assert!(loaded.sources.path(status.source).ends_with("cm-tasks.json"));
    assert_eq!(line(status), 3);
}
