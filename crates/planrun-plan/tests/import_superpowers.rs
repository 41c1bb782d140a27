//! The superpowers importer against its fixtures: plan order, files without line ranges, `Run:`
//! commands as verify, done status from ticked steps and from the progress ledger, diagnostics
//! for broken plans, detection, and no panics on any input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{codes, ids, task};

use planrun_plan::import::detect;
use planrun_plan::{Format, Status};
use proptest::prelude::*;

const CLEAN_PLAN: &str = "superpowers/clean/docs/superpowers/plans/2025-03-14-rate-limiter.md";
const MESSY_PLAN: &str = "superpowers/messy/docs/superpowers/plans/2025-06-02-csv-export.md";

#[test]
fn clean_plan() {
    let l = common::load("superpowers/clean");
    insta::assert_json_snapshot!(common::snapshot(&l));
    assert_eq!(l.format, Format::Superpowers);
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    assert_eq!(l.plan.title, "Request Rate Limiter Implementation Plan");
    assert!(l.plan.context.contains("## Global Constraints"));
    assert!(l.plan.context.contains("**Tech Stack:**"));
    assert!(!l.plan.context.contains("REQUIRED SUB-SKILL"), "the executor's note is dropped");
    assert_eq!(ids(&l), ["task-1", "task-2", "task-3"]);
    assert!(task(&l, "task-1").depends_on.is_empty());
    assert_eq!(task(&l, "task-2").depends_on, ["task-1"]);
    assert_eq!(task(&l, "task-3").depends_on, ["task-2"]);
    assert_eq!(
        task(&l, "task-2").files,
        ["src/limiter/store.py", "src/limiter/__init__.py", "tests/limiter/test_store.py"]
    );
    assert_eq!(task(&l, "task-3").files[0], "src/app/main.py");
    // The red step (`Expected: FAIL`) is not a verify command; the green one is, once.
    assert_eq!(task(&l, "task-1").verify, ["pytest tests/limiter/test_bucket.py -v"]);
    assert_eq!(task(&l, "task-3").verify, ["pytest -q"]);
    assert!(task(&l, "task-1").description.contains("- [ ] **Step 1: Write the failing test**"));
    assert!(task(&l, "task-1").description.contains("def test_bucket_refuses_when_empty"));
    assert!(l.plan.tasks.iter().all(|t| t.status == Status::Pending));
}

#[test]
fn messy_plan_with_ledger() {
    let l = common::load("superpowers/messy");
    insta::assert_json_snapshot!(common::snapshot(&l));
    assert_eq!(l.plan.title, "CSV export plan");
    assert_eq!(ids(&l), ["task-1", "task-2", "task-3", "task-4", "task-5"]);
    let status: Vec<Status> = l.plan.tasks.iter().map(|t| t.status).collect();
    // 1: ✅ and all steps ticked; 2: one step open but the ledger says complete; 3: "in
    // progress" in the ledger; 4: nothing; 5: "(done)" after the heading.
    assert_eq!(status, [Status::Done, Status::Done, Status::Pending, Status::Pending, Status::Done]);
    assert_eq!(
        task(&l, "task-2").files,
        ["src/export/mod.rs", "src/lib.rs", "src/export/writer.rs", "tests/export_writer.rs"]
    );
    assert_eq!(task(&l, "task-3").files, ["src/routes/export.rs", "src/routes/mod.rs"]);
    assert_eq!(task(&l, "task-3").verify, ["cargo test routes::export"], "a `Run:` followed by a fenced block");
    assert_eq!(task(&l, "task-4").verify, ["cargo doc --no-deps"]);
    assert!(task(&l, "task-4").files.is_empty());
    assert!(task(&l, "task-3").description.contains("#### Notes"), "sub-headings stay in the task");
    assert!(l.plan.context.contains("global constraints"));
    assert!(l.plan.context.contains("Rollout notes"), "a later top-level section is plan context");
    assert!(!l.plan.tasks.iter().any(|t| t.description.contains('\r')));
    assert_eq!(codes(&l), ["ignored-file", "unknown-task"]);
    let ledger = l.diagnostics[1].location(&l.sources).unwrap();
    assert!(ledger.file.ends_with("progress.md"));
    assert_eq!(ledger.line, 6);
    let file = l.diagnostics[0].location(&l.sources).unwrap();
    assert_eq!((file.line, file.column), (65, 9));
}

#[test]
fn broken_plan_gives_located_diagnostics() {
    let l = common::load("superpowers/broken/plan.md");
    insta::assert_json_snapshot!(common::snapshot(&l));
    assert_eq!(ids(&l), ["task-1", "", "task-3", "task-3"], "no task is dropped");
    assert_eq!(codes(&l), ["missing-id", "ignored-file"]);
    let missing = l.diagnostics[0].location(&l.sources).unwrap();
    assert_eq!((missing.line, missing.column), (10, 1));
    assert!(l.plan.tasks[2].title.is_empty());
    let title = l.spans(2).title.unwrap();
    assert_eq!(l.sources.line_col(title.source, title.start).0, 15);
    // A task without a number cannot be waited for: the next one waits for the last numbered.
    assert_eq!(l.plan.tasks[2].depends_on, ["task-1"]);
    // A heading inside an unclosed fence is not a task.
    assert!(l.plan.tasks[3].description.contains("### Task 4"));
}

#[test]
fn detection() {
    let (format, found) = detect(&common::fixture("superpowers/clean")).unwrap();
    assert_eq!(format, Format::Superpowers);
    assert_eq!(found, common::fixture(CLEAN_PLAN));
    let (format, found) = detect(&common::fixture(CLEAN_PLAN)).unwrap();
    assert_eq!((format, found), (Format::Superpowers, common::fixture(CLEAN_PLAN)));
    let (format, _) = detect(&common::fixture("superpowers/clean/docs/superpowers/plans")).unwrap();
    assert_eq!(format, Format::Superpowers);
    let (format, found) = detect(&common::fixture(MESSY_PLAN)).unwrap();
    assert_eq!((format, found), (Format::Superpowers, common::fixture(MESSY_PLAN)));
    // Forcing the format on a root resolves to the plan too.
    let l = common::load_as("superpowers/clean", Format::Superpowers);
    assert_eq!(l.plan.tasks.len(), 3);
}

#[test]
fn several_plans_are_ambiguous() {
    match planrun_plan::load(&common::fixture("superpowers/two-plans"), None) {
        Err(planrun_plan::LoadError::Ambiguous { candidates, .. }) => {
            assert_eq!(candidates.len(), 2, "README.md is not a plan: {candidates:?}");
        }
        other => panic!("expected ambiguity, got {other:?}"),
    }
    // Passing one of them works.
    let l = common::load("superpowers/two-plans/docs/superpowers/plans/2025-04-01-audit-log.md");
    assert_eq!(ids(&l), ["task-1"]);
}

#[test]
fn planrun_markdown_is_not_superpowers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.md");
    std::fs::write(&path, "# Plan\n\n## Task 1: Setup\n\nFiles: `src/**`\n\nDo it.\n").unwrap();
    assert_eq!(detect(&path).unwrap().0, Format::Markdown);
    // With superpowers' file entries, `##` task headings are superpowers'.
    std::fs::write(&path, "# Plan\n\n## Task 1: Setup\n\n**Files:**\n- Create: `src/a.rs`\n").unwrap();
    assert_eq!(detect(&path).unwrap().0, Format::Superpowers);
}

/// Lines that steer the reader into its less common paths.
fn plan_text() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        Just("# Title".to_owned()),
        Just("### Task 1: A".to_owned()),
        Just("## Task 2b - B ✅".to_owned()),
        Just("### Task:".to_owned()),
        Just("**Files:**".to_owned()),
        Just("- Modify: `src/a.rs:1-2`, b.rs:".to_owned()),
        Just("- Test: none".to_owned()),
        Just("- [x] **Step 1: x**".to_owned()),
        Just("- [ ] **Step 2: y**".to_owned()),
        Just("Run: `cargo test`".to_owned()),
        Just("Run:".to_owned()),
        Just("Expected: FAIL".to_owned()),
        Just("```".to_owned()),
        Just("> REQUIRED SUB-SKILL".to_owned()),
        "[#*`:\\-\\[\\] a-zé✅\r]{0,20}",
    ];
    prop::collection::vec(line, 0..40).prop_map(|l| l.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400), ledger in prop::collection::vec(any::<u8>(), 0..100)) {
        let dir = tempfile::tempdir().unwrap();
        let plans = dir.path().join("docs/superpowers/plans");
        std::fs::create_dir_all(&plans).unwrap();
        let plan = plans.join("p.md");
        std::fs::write(&plan, &bytes).unwrap();
        let sdd = dir.path().join(".superpowers/sdd/p");
        std::fs::create_dir_all(&sdd).unwrap();
        std::fs::write(sdd.join("progress.md"), &ledger).unwrap();
        let _ = planrun_plan::load(&plan, Some(Format::Superpowers));
        let _ = planrun_plan::load(dir.path(), None);
    }

    #[test]
    fn never_panics_on_plan_like_text(text in plan_text(), ledger in plan_text()) {
        let dir = tempfile::tempdir().unwrap();
        let plans = dir.path().join("docs/superpowers/plans");
        std::fs::create_dir_all(&plans).unwrap();
        let plan = plans.join("p.md");
        std::fs::write(&plan, &text).unwrap();
        let sdd = dir.path().join(".superpowers/sdd/p");
        std::fs::create_dir_all(&sdd).unwrap();
        std::fs::write(sdd.join("progress.md"), ledger.replace("###", "")).unwrap();
        let l = planrun_plan::load(&plan, Some(Format::Superpowers));
        prop_assert!(l.is_ok());
        let _ = planrun_plan::load(dir.path(), None);
    }
}
