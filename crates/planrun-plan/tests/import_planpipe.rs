//! The planpipe importer against fixture repositories: a stage-5 backlog with a stage-6 status,
//! a `subtasks/` folder with a dependency graph, raw task lists and a broken backlog.

#![allow(clippy::panic, clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{ids, task};

use planrun_plan::{Format, Severity, Status};
use proptest::prelude::*;

#[test]
fn backlog_with_handoff_and_status() {
    let loaded = common::load("planpipe/backlog");
    assert_eq!(loaded.format, Format::Planpipe);
    assert!(loaded.root.ends_with(".planpipe/api-rate-limits/stage-5"));
    assert_eq!(loaded.plan.title, "Per-client rate limiting for the billing API");
    assert!(loaded.plan.context.contains("token-bucket limiter"));
    assert!(loaded.plan.context.contains("Retry-After"));
    assert!(!loaded.plan.context.contains("Subtask Summary"));
    assert_eq!(ids(&loaded), ["ST-1", "ST-2", "ST-3", "ST-4"]);

    let st1 = task(&loaded, "ST-1");
    assert_eq!(st1.title, "Rate limit configuration");
    assert!(st1.depends_on.is_empty());
    assert_eq!(st1.files, ["internal/config/config.go", "internal/config/config_test.go"]);
    assert_eq!(st1.acceptance.len(), 3);
    assert_eq!(st1.milestone.as_deref(), Some("Wave 1 — Foundation"));
    assert_eq!(st1.status, Status::Done, "done in execution-status.md");
    assert!(st1.description.contains("#### Boundaries"));
    assert!(!st1.description.contains("**Priority:**"));
    assert_eq!(st1.priority, Some(planrun_plan::model::Priority::Critical), "`critical-path`");

    // in_review is not done.
    assert_eq!(task(&loaded, "ST-2").status, Status::Pending);

    let st3 = task(&loaded, "ST-3");
    assert_eq!(st3.depends_on, ["ST-1", "ST-2"]);
    assert_eq!(st3.verify, ["go test ./internal/ratelimit/..."]);
    assert!(st3.acceptance.iter().any(|a| a.starts_with("Manual check")));
    assert_eq!(st3.milestone.as_deref(), Some("Wave 2 — Enforcement"));

    // The soft dependency on ST-2 is not a blocking one.
    let st4 = task(&loaded, "ST-4");
    assert_eq!(st4.depends_on, ["ST-3"]);
    assert_eq!(st4.files, ["cmd/api/main.go", "docs/api/rate-limits.md"]);
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    insta::assert_json_snapshot!(common::snapshot(&loaded));
}

#[test]
fn subtasks_folder_with_graph() {
    let loaded = common::load("planpipe/subtasks");
    assert_eq!(loaded.plan.title, "CSV export for invoices");
    assert!(loaded.plan.context.contains("Finance wants"));
    assert!(!loaded.plan.context.contains("Risks"));
    // Natural order: st-10 after st-3; notes.txt is not a subtask.
    assert_eq!(ids(&loaded), ["ST-1", "ST-2", "ST-3", "ST-10"]);

    let st1 = task(&loaded, "ST-1");
    assert_eq!(st1.files, ["internal/invoice/query.go", "internal/invoice/query_test.go"]);
    assert_eq!(st1.status, Status::Done, "`Done` in the status table");
    assert!(st1.depends_on.is_empty());

    // CRLF file, heading with an em dash, a checked criterion is still a criterion.
    let st2 = task(&loaded, "ST-2");
    assert_eq!(st2.title, "CSV writer");
    assert_eq!(st2.files, ["internal/export/csv.go", "internal/export/csv_test.go"]);
    assert_eq!(st2.acceptance.len(), 2);
    assert_eq!(st2.status, Status::Pending);

    // Id from the **ID:** field, title from the heading.
    let st3 = task(&loaded, "ST-3");
    assert_eq!(st3.title, "Export endpoint");
    assert_eq!(st3.depends_on, ["ST-1", "ST-2"]);
    assert_eq!(st3.files, ["internal/admin/export_handler.go", "internal/admin/routes.go"]);
    assert_eq!(st3.acceptance.len(), 2);
    assert!(st3.acceptance[1].ends_with("instead of streaming"));
    assert!(st3.description.contains("reuse it"));
    assert_eq!(st3.milestone.as_deref(), Some("Wave 2"));

    // Lowercase id, ✅ after the title, DONE status; the soft graph edge is skipped.
    let st10 = task(&loaded, "ST-10");
    assert_eq!(st10.title, "Background export job");
    assert_eq!(st10.status, Status::Done);
    assert_eq!(st10.depends_on, ["ST-3"]);
    assert_eq!(st10.files, ["internal/jobs/export_job.go", "internal/mail/templates/export_ready.html"]);
    assert_eq!(st10.acceptance.len(), 2);
    insta::assert_json_snapshot!(common::snapshot(&loaded));
}

#[test]
fn raw_list_in_a_stage_folder() {
    let loaded = common::load("planpipe/raw-list");
    assert_eq!(loaded.format, Format::Planpipe);
    assert_eq!(loaded.plan.title, "Quick fixes before the release");
    assert_eq!(loaded.plan.context, "Small things found in QA.");
    assert_eq!(ids(&loaded), ["task-1", "task-2", "task-3", "task-4"]);
    assert_eq!(task(&loaded, "task-1").status, Status::Done);
    assert_eq!(task(&loaded, "task-1").files, ["internal/invoice/handler.go"]);
    assert_eq!(task(&loaded, "task-2").depends_on, ["task-1"]);
    assert_eq!(task(&loaded, "task-2").acceptance, ["searching \" acme \" finds Acme"]);
    assert_eq!(task(&loaded, "task-3").title, "Fix date picker off-by-one in UTC+ timezones");
    assert_eq!(task(&loaded, "task-3").milestone.as_deref(), Some("Frontend"));
    assert_eq!(task(&loaded, "task-4").depends_on, ["task-2"], "explicit `Depends on: 2`");
    insta::assert_json_snapshot!(common::snapshot(&loaded));
}

#[test]
fn raw_list_of_numbered_headings_needs_format() {
    let path = common::fixture("planpipe/raw-headings/tasks.md");
    assert!(planrun_plan::load(&path, None).is_err(), "arbitrary markdown is not claimed by detection");
    let loaded = common::load_as("planpipe/raw-headings/tasks.md", Format::Planpipe);
    assert_eq!(ids(&loaded), ["task-1", "task-2", "task-3"]);
    let t1 = task(&loaded, "task-1");
    assert_eq!(t1.title, "Add health check endpoint");
    assert_eq!(t1.acceptance.len(), 2);
    assert!(t1.description.contains("GET /health"));
    let t2 = task(&loaded, "task-2");
    assert_eq!(t2.title, "Add request logging middleware");
    assert_eq!(t2.status, Status::Done);
    assert_eq!(t2.depends_on, ["task-1"]);
    assert_eq!(task(&loaded, "task-3").depends_on, ["task-2"]);
    insta::assert_json_snapshot!(common::snapshot(&loaded));
}

#[test]
fn broken_backlog_gives_located_diagnostics() {
    let loaded = common::load("planpipe/broken");
    assert_eq!(ids(&loaded), ["ST-1", "task-2", "ST-3", "ST-1"]);
    assert_eq!(task(&loaded, "task-2").depends_on, ["ST-1"]);
    let c = common::checked_codes(&loaded);
    for code in ["missing-id", "duplicate-id", "unknown-dependency", "unknown-status", "unknown-task"] {
        assert!(c.contains(&code), "missing {code} in {c:?}");
    }
    for d in &loaded.diagnostics {
        assert!(d.location(&loaded.sources).is_some(), "{} has no location", d.code);
    }
    let checked = planrun_plan::check(&loaded);
    assert!(checked.diagnostics.iter().any(|d| d.code == "empty-title"), "an untitled subtask is reported");
    let missing = loaded.diagnostics.iter().find(|d| d.code == "missing-id");
    let loc = missing.and_then(|d| d.location(&loaded.sources));
    assert_eq!(loc.map(|l| (l.line, l.column)), Some((19, 1)));
    assert!(loaded.diagnostics.iter().any(|d| d.severity == Severity::Error));
    insta::assert_json_snapshot!(common::snapshot(&loaded));
}

#[test]
fn detection_from_every_entry_point() {
    let stage5 = common::fixture("planpipe/backlog/.planpipe/api-rate-limits/stage-5");
    for rel in [
        "planpipe/backlog",
        "planpipe/backlog/.planpipe",
        "planpipe/backlog/.planpipe/api-rate-limits",
        "planpipe/backlog/.planpipe/api-rate-limits/stage-5",
        "planpipe/backlog/.planpipe/api-rate-limits/stage-6",
        "planpipe/backlog/.planpipe/api-rate-limits/stage-6/execution-status.md",
        "planpipe/backlog/.planpipe/api-rate-limits/stage-5/stage-5-handoff.md",
    ] {
        let found = planrun_plan::import::detect(&common::fixture(rel));
        match found {
            Ok((format, path)) => {
                assert_eq!(format, Format::Planpipe, "{rel}");
                assert_eq!(path, stage5, "{rel}");
            }
            Err(e) => panic!("{rel}: {e}"),
        }
    }
    let file = common::fixture("planpipe/backlog/.planpipe/api-rate-limits/stage-5/execution-backlog.md");
    assert!(matches!(planrun_plan::import::detect(&file), Ok((Format::Planpipe, p)) if p == file));
    let st = common::fixture("planpipe/subtasks/.planpipe/csv-export/stage-5/subtasks/st-3.md");
    assert!(matches!(planrun_plan::import::detect(&st), Ok((Format::Planpipe, _))));
    match planrun_plan::import::detect(&common::fixture("planpipe/two-ids")) {
        Err(planrun_plan::LoadError::Ambiguous { candidates, .. }) => {
            assert_eq!(candidates.len(), 2)
        }
        other => panic!("expected Ambiguous, got {other:?}"),
    }
}

#[test]
fn status_file_without_plan_is_not_claimed() {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    let status = dir.path().join("execution-status.md");
    let _ = std::fs::write(&status, "| ID | Status |\n|--|--|\n| ST-1 | done |\n");
    assert!(planrun_plan::import::detect(&status).is_err());
}

fn write_and_load(files: &[(&str, Vec<u8>)], target: &str) {
    let Ok(dir) = tempfile::tempdir() else { return };
    for (rel, bytes) in files {
        let path = dir.path().join(rel);
        if let Some(parent) = path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        let _ = std::fs::write(&path, bytes);
    }
    let _ = planrun_plan::load(&dir.path().join(target), Some(Format::Planpipe));
    let _ = planrun_plan::load(&dir.path().join(target), None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(backlog in proptest::collection::vec(any::<u8>(), 0..600), status in proptest::collection::vec(any::<u8>(), 0..300)) {
        write_and_load(
            &[(".planpipe/x/stage-5/execution-backlog.md", backlog.clone()), (".planpipe/x/stage-6/execution-status.md", status)],
            "",
        );
        write_and_load(&[("tasks.md", backlog)], "tasks.md");
    }

    #[test]
    fn planpipe_like_text_never_panics(
        lines in proptest::collection::vec(
            prop_oneof![
                Just("### ST-1: A".to_owned()),
                Just("#### Dependencies".to_owned()),
                Just("#### Change Area".to_owned()),
                Just("#### Completion Criteria".to_owned()),
                Just("| File | Type |".to_owned()),
                Just("|---|---|".to_owned()),
                Just("| `a/b.rs` | soft |".to_owned()),
                Just("- [ ] ST-2 ──→ ST-3".to_owned()),
                Just("  Depends on: 1, ST-9".to_owned()),
                Just("**Wave:** 2".to_owned()),
                Just("```".to_owned()),
                Just("## Subtasks".to_owned()),
                Just("ST ← ←→ -> st-".to_owned()),
                "[ -~]{0,30}",
                "\\PC{0,20}",
            ],
            0..40,
        )
    ) {
        let text = lines.join("\n");
        write_and_load(
            &[
                (".planpipe/x/stage-5/execution-backlog.md", text.clone().into_bytes()),
                (".planpipe/y/stage-5/subtasks/st-1.md", text.clone().into_bytes()),
                (".planpipe/y/stage-5/dependency-graph.md", text.clone().into_bytes()),
            ],
            ".planpipe/y",
        );
        write_and_load(&[("x/stage-5/execution-backlog.md", text.clone().into_bytes())], "x/stage-5");
        write_and_load(&[("list.md", text.into_bytes())], "list.md");
    }
}

#[test]
fn a_backlog_or_list_without_tasks_is_an_error_saying_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let stage = dir.path().join(".planpipe/empty-one/stage-5");
    std::fs::create_dir_all(&stage).unwrap();
    std::fs::write(
        stage.join("execution-backlog.md"),
        "# Execution Backlog\n\n## Waves\n\n| ID | Title |\n|---|---|\n| ST-1 | Add the table |\n| ST-2 | Use it |\n",
    )
    .unwrap();
    let loaded = planrun_plan::load(&stage.join("execution-backlog.md"), Some(Format::Planpipe)).unwrap();
    assert!(loaded.plan.tasks.is_empty());
    let errs: Vec<_> = loaded.diagnostics.iter().filter(|d| d.code == "no-tasks").collect();
    assert_eq!(errs.len(), 1, "{:?}", loaded.diagnostics);
    assert_eq!(errs[0].severity, Severity::Error);
    assert!(
        errs[0].message.contains("execution-backlog.md") && errs[0].message.contains("ST-1, ST-2"),
        "{}",
        errs[0].message
    );

    let raw = dir.path().join("list.md");
    std::fs::write(&raw, "# Nothing here\n\nJust prose.\n").unwrap();
    let loaded = planrun_plan::load(&raw, Some(Format::Planpipe)).unwrap();
    let d = loaded.diagnostics.iter().find(|d| d.code == "no-tasks").unwrap();
    assert_eq!(d.severity, Severity::Error);
}

#[test]
fn files_and_dependencies_that_cannot_be_read_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let stage = dir.path().join(".planpipe/probe/stage-5");
    std::fs::create_dir_all(&stage).unwrap();
    std::fs::write(
        stage.join("execution-backlog.md"),
        "# Execution Backlog\n\n## Subtasks\n\n### ST-1: Add the cache\n\n#### Change Area\n\n| File | Change |\n|---|---|\n| `src/cache.ts` | new |\n| the config loader | modify |\n\n#### Dependencies\n\n- None\n\n### ST-2: Use it\n\n#### Dependencies\n\n- after the cache lands\n- ST-1\n\n#### Files\n\n- src/quote.ts\n- the quote handler\n",
    )
    .unwrap();
    let loaded = planrun_plan::load(&stage, None).unwrap();
    assert_eq!(task(&loaded, "ST-1").files, ["src/cache.ts"]);
    assert_eq!(task(&loaded, "ST-2").depends_on, ["ST-1"]);
    let at = |code: &str| -> Vec<usize> {
        loaded
            .diagnostics
            .iter()
            .filter(|d| d.code == code)
            .map(|d| d.location(&loaded.sources).unwrap().line)
            .collect()
    };
    assert_eq!(at("unread-file"), [12, 28]);
    assert_eq!(at("unread-dependency"), [22], "`None` is not reported");
}

#[test]
fn spans_cover_verify_and_acceptance() {
    let dir = tempfile::tempdir().unwrap();
    let stage = dir.path().join(".planpipe/spans/stage-5");
    std::fs::create_dir_all(&stage).unwrap();
    std::fs::write(
        stage.join("execution-backlog.md"),
        "# Execution Backlog\n\n## Subtasks\n\n### ST-1: Add the cache\n\n#### Completion Criteria\n\n- [ ] entries expire\n  after five minutes\n\n#### Verification\n\n- `npx vitest run src/cache`\n- the logs show a hit\n",
    )
    .unwrap();
    let loaded = planrun_plan::load(&stage, None).unwrap();
    let t = task(&loaded, "ST-1");
    assert_eq!(t.verify, ["npx vitest run src/cache"]);
    assert_eq!(t.acceptance, ["entries expire after five minutes", "the logs show a hit"]);
    let s = loaded.spans(0);
    let line = |span: planrun_plan::Span| loaded.sources.line_col(span.source, span.start).0;
    assert_eq!(s.verify.iter().map(|&x| line(x)).collect::<Vec<_>>(), [14]);
    assert_eq!(s.acceptance.iter().map(|&x| line(x)).collect::<Vec<_>>(), [9, 15]);
}
