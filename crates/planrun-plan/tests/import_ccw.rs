//! The CCW importer against fixture repositories: a clean session, a messy hand-edited one, an
//! old-layout sequential one and a broken one.
#![allow(clippy::panic, clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{codes, ids, task};

use planrun_plan::{Format, Severity, Status};
use proptest::prelude::*;

#[test]
fn clean_session() {
    let loaded = common::load("ccw/session");
    assert_eq!(loaded.format, Format::Ccw);
    assert!(loaded.root.ends_with(".workflow/active/WFS-user-auth"));
    assert_eq!(loaded.plan.title, "JWT authentication");
    assert!(loaded.plan.context.contains("argon2id"));
    assert!(loaded.plan.context.contains("Execution Model"));
    // The `▸` group line without a task file only groups its subtasks.
    assert_eq!(ids(&loaded), ["IMPL-1.1", "IMPL-1.2", "IMPL-2", "IMPL-3"]);

    let t11 = task(&loaded, "IMPL-1.1");
    assert_eq!(t11.status, Status::Done);
    assert_eq!(t11.persona.as_deref(), Some("code-developer"));
    assert_eq!(t11.files, ["src/models/user.ts", "src/db/migrations/004_users.sql"]);
    assert_eq!(t11.milestone.as_deref(), Some("Auth core"));
    assert!(t11.description.contains("- Hash passwords with argon2id"));
    assert!(t11.depends_on.is_empty());

    let t12 = task(&loaded, "IMPL-1.2");
    assert_eq!(t12.status, Status::Pending);
    assert_eq!(t12.depends_on, ["IMPL-1.1"]);
    // A focus path that is a folder covers everything under it; target files lose `:fn:lines`.
    assert_eq!(t12.files, ["src/auth/**", "src/auth/jwt.ts"]);
    assert!(t12.description.contains("**Token service**: Implement signToken and verifyToken"));
    assert!(t12.instructions.build.as_deref().is_some_and(|b| b.contains("cat .workflow/active")));
    assert_eq!(t12.agent, None);

    let t2 = task(&loaded, "IMPL-2");
    assert_eq!(t2.depends_on, ["IMPL-1.2"]);
    assert_eq!(t2.agent.as_deref(), Some("codex"));
    assert_eq!(t2.verify, ["npm test -- src/routes/auth"]);
    assert_eq!(t2.acceptance.len(), 3, "two criteria and the definition of done");
    assert_eq!(t2.files, ["src/routes/auth.ts"]);
    assert!(t2.description.starts_with("POST /auth/login"));

    let t3 = task(&loaded, "IMPL-3");
    assert_eq!(t3.verify, ["npx vitest run tests/auth"]);
    assert!(t3.acceptance.iter().any(|a| a.starts_with("Manually confirm")));
    assert_eq!(t3.persona.as_deref(), Some("code-developer"), "inferred from meta.type test-gen");
    assert_eq!(t3.files, ["tests/auth/**"]);
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    insta::assert_json_snapshot!(common::snapshot(&loaded));
}

#[test]
fn messy_session() {
    let loaded = common::load("ccw/messy");
    assert_eq!(loaded.plan.title, "Billing v2");
    // Subtask before its parent; the unlisted task file last.
    assert_eq!(ids(&loaded), ["IMPL-1", "IMPL-2", "IMPL-3", "IMPL-4", "IMPL-5.1", "IMPL-5", "IMPL-6"]);

    let t1 = task(&loaded, "IMPL-1");
    assert_eq!(t1.status, Status::Done);
    assert_eq!(t1.files, ["src/billing/**", "internal/pricing/**"]);
    assert_eq!(t1.milestone.as_deref(), Some("Wave 1: Pricing"));
    assert_eq!(t1.persona.as_deref(), Some("code-developer"));

    // Either source marks done; both disagreements are reported.
    let t2 = task(&loaded, "IMPL-2");
    assert_eq!(t2.status, Status::Done);
    assert_eq!(t2.agent.as_deref(), Some("gemini"));
    assert_eq!(t2.files, ["src/billing/**", "Makefile"]);
    assert!(t2.verify.is_empty(), "prose verification stays acceptance");
    assert!(t2.acceptance.iter().any(|a| a.contains("passes")));
    let t3 = task(&loaded, "IMPL-3");
    assert_eq!(t3.status, Status::Done);
    assert_eq!(t3.files, ["src/billing/tax.go"]);
    assert_eq!(t3.verify, ["go test ./src/billing -run Tax"]);
    assert_eq!(codes(&loaded).iter().filter(|c| **c == "status-mismatch").count(), 2);

    // No dependencies declared anywhere: list order, with one parallel group.
    assert_eq!(t2.depends_on, ["IMPL-1"]);
    assert_eq!(t3.depends_on, ["IMPL-1"]);
    let t4 = task(&loaded, "IMPL-4");
    assert_eq!(t4.depends_on, ["IMPL-2", "IMPL-3"]);
    assert_eq!(t4.files, ["src/billing/round.go"]);
    assert_eq!(t4.description, "- Only after finance signs off");
    assert_eq!(task(&loaded, "IMPL-5.1").depends_on, ["IMPL-4"]);
    assert_eq!(task(&loaded, "IMPL-5.1").milestone.as_deref(), Some("Rollout"));
    assert_eq!(task(&loaded, "IMPL-5").depends_on, ["IMPL-5.1"]);
    assert_eq!(task(&loaded, "IMPL-5").persona.as_deref(), Some("doc-generator"));
    assert_eq!(task(&loaded, "IMPL-6").depends_on, ["IMPL-5"]);

    let c = codes(&loaded);
    for code in ["missing-task-file", "not-in-todo-list", "unknown-field"] {
        assert!(c.contains(&code), "missing {code} in {c:?}");
    }
    assert!(loaded.diagnostics.iter().all(|d| d.severity == Severity::Warning));
    insta::assert_json_snapshot!(common::snapshot(&loaded));
}

#[test]
fn sequential_model_in_the_old_layout() {
    let loaded = common::load("ccw/sequential");
    assert!(loaded.root.ends_with(".workflow/WFS-docs-refresh"));
    assert_eq!(loaded.plan.title, "Docs refresh");
    assert_eq!(task(&loaded, "IMPL-1").depends_on, Vec::<String>::new());
    assert_eq!(task(&loaded, "IMPL-2").depends_on, ["IMPL-1"]);
    assert_eq!(task(&loaded, "IMPL-3").depends_on, ["IMPL-1", "IMPL-2"]);
    assert_eq!(task(&loaded, "IMPL-3").persona.as_deref(), Some("doc-generator"));
    insta::assert_json_snapshot!(common::snapshot(&loaded));
}

#[test]
fn broken_session_gives_located_diagnostics() {
    let loaded = common::load("ccw/broken");
    assert_eq!(ids(&loaded), ["IMPL-1", "IMPL-2", "IMPL-03"]);
    assert_eq!(task(&loaded, "IMPL-1").title, "Parse config", "kept from TODO_LIST.md");
    assert_eq!(task(&loaded, "IMPL-2").depends_on, ["IMPL-1", "IMPL-9"]);
    let c = common::checked_codes(&loaded);
    for code in
        ["json-syntax", "missing-task-file", "missing-id", "unknown-status", "unknown-dependency", "id-mismatch"]
    {
        assert!(c.contains(&code), "missing {code} in {c:?}");
    }
    for d in &loaded.diagnostics {
        assert!(d.location(&loaded.sources).is_some(), "{} has no location", d.code);
    }
    // A task without a title keeps an empty one, which validation reports where the task is listed.
    let checked = planrun_plan::check(&loaded);
    let empty = checked.diagnostics.iter().find(|d| d.code == "empty-title").expect("empty-title");
    assert_eq!(empty.message, "task `IMPL-03` has no title");
    assert!(empty.location(&loaded.sources).is_some_and(|l| l.file.ends_with("TODO_LIST.md") && l.line == 5));
    let syntax = loaded.diagnostics.iter().find(|d| d.code == "json-syntax").and_then(|d| d.location(&loaded.sources));
    assert_eq!(syntax.map(|l| (l.file.ends_with("IMPL-1.json"), l.line)), Some((true, 4)));
    insta::assert_json_snapshot!(common::snapshot(&loaded));
}

#[test]
fn detection_from_every_entry_point() {
    let session = common::fixture("ccw/session/.workflow/active/WFS-user-auth");
    for rel in [
        "ccw/session",
        "ccw/session/.workflow",
        "ccw/session/.workflow/active",
        "ccw/session/.workflow/active/WFS-user-auth",
        "ccw/session/.workflow/active/WFS-user-auth/TODO_LIST.md",
        "ccw/session/.workflow/active/WFS-user-auth/IMPL_PLAN.md",
        "ccw/session/.workflow/active/WFS-user-auth/.task/IMPL-2.json",
    ] {
        match planrun_plan::import::detect(&common::fixture(rel)) {
            Ok((format, path)) => {
                assert_eq!(format, Format::Ccw, "{rel}");
                assert_eq!(path, session, "{rel}");
            }
            Err(e) => panic!("{rel}: {e}"),
        }
    }
    match planrun_plan::import::detect(&common::fixture("ccw/two-sessions")) {
        Err(planrun_plan::LoadError::Ambiguous { candidates, .. }) => {
            assert_eq!(candidates.len(), 2)
        }
        other => panic!("expected Ambiguous, got {other:?}"),
    }
    // --format ccw on a task file reads its whole session.
    let loaded = common::load_as("ccw/session/.workflow/active/WFS-user-auth/.task/IMPL-3.json", Format::Ccw);
    assert_eq!(loaded.plan.tasks.len(), 4);
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
    let _ = planrun_plan::load(&dir.path().join(target), Some(Format::Ccw));
    let _ = planrun_plan::load(&dir.path().join(target), None);
}

const S: &str = ".workflow/active/WFS-x";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(
        todo in proptest::collection::vec(any::<u8>(), 0..400),
        task_json in proptest::collection::vec(any::<u8>(), 0..400),
        plan in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        write_and_load(
            &[
                (&format!("{S}/TODO_LIST.md"), todo),
                (&format!("{S}/IMPL_PLAN.md"), plan.clone()),
                (&format!("{S}/workflow-session.json"), plan),
                (&format!("{S}/.task/IMPL-1.json"), task_json),
            ],
            "",
        );
    }

    #[test]
    fn ccw_like_text_never_panics(
        todo in proptest::collection::vec(
            prop_oneof![
                Just("▸ **IMPL-1**: Group".to_owned()),
                Just("  - [x] **IMPL-1.1**: Sub → [📋](./.task/IMPL-1.1.json)".to_owned()),
                Just("- [ ] **IMPL-2** -> [t](./.task/IMPL-2.json) | [✅](x)".to_owned()),
                Just("    - Files: `a.rs:f:1-2`".to_owned()),
                Just("## Wave 2".to_owned()),
                Just("- **Execution Model**: Sequential".to_owned()),
                "[ -~]{0,30}",
                "\\PC{0,20}",
            ],
            0..20,
        ),
        json_values in proptest::collection::vec(
            prop_oneof![
                Just("\"IMPL-1\"".to_owned()),
                Just("[\"IMPL-1.1\", 3, null]".to_owned()),
                Just("{\"criteria\": [\"a\"], \"verification\": [\"`x`\", \"npm test\"]}".to_owned()),
                Just("[{\"step\": 1, \"title\": \"t\", \"modification_points\": [\"m\"]}]".to_owned()),
                Just("\"completed\"".to_owned()),
                Just("{}".to_owned()),
                "[ -~]{0,12}",
            ],
            8,
        ),
    ) {
        let text = todo.join("\n");
        let keys = ["id", "title", "status", "depends_on", "convergence", "flow_control", "context", "meta"];
        let body: Vec<String> = keys.iter().zip(json_values.iter()).map(|(k, v)| format!("\"{k}\": {v}")).collect();
        let json = format!("{{{}}}", body.join(", "));
        write_and_load(
            &[
                (&format!("{S}/TODO_LIST.md"), text.clone().into_bytes()),
                (&format!("{S}/IMPL_PLAN.md"), text.into_bytes()),
                (&format!("{S}/.task/IMPL-1.json"), json.clone().into_bytes()),
                (&format!("{S}/.task/IMPL-1.1.json"), json.into_bytes()),
            ],
            S,
        );
    }
}

#[test]
fn dependencies_from_every_place_and_prose_about_them() {
    let loaded = common::load("ccw/waves");
    assert_eq!(ids(&loaded), ["IMPL-001", "IMPL-002", "IMPL-003", "IMPL-004"]);
    // `dependencies.upstream`, `meta.depends_on` plus a bare `dependencies` list, `context.depends_on`.
    assert_eq!(task(&loaded, "IMPL-001").depends_on, Vec::<String>::new());
    assert_eq!(task(&loaded, "IMPL-002").depends_on, ["IMPL-001"]);
    // "IMPL-003 can start after IMPL-002 is merged" is clear and adds to the task file's list; no
    // serial chain is invented because the files declare dependencies.
    assert_eq!(task(&loaded, "IMPL-003").depends_on, ["IMPL-001", "IMPL-002"]);
    assert_eq!(task(&loaded, "IMPL-004").depends_on, ["IMPL-002", "IMPL-003"]);
    assert_eq!(task(&loaded, "IMPL-001").description, "Record the current release state.");
    assert_eq!(task(&loaded, "IMPL-001").acceptance, ["Baseline file written"]);
    assert_eq!(task(&loaded, "IMPL-002").verify, ["npm run lint:workflows"]);
    assert_eq!(task(&loaded, "IMPL-004").verify, ["test -f docs/handoff.md"]);
    // Every verify and acceptance entry, and the done status, is located.
    for (i, t) in loaded.plan.tasks.iter().enumerate() {
        let spans = loaded.spans(i);
        assert_eq!(spans.verify.len(), t.verify.len(), "{}", t.id);
        assert_eq!(spans.acceptance.len(), t.acceptance.len(), "{}", t.id);
        assert_eq!(spans.depends_on.len(), t.depends_on.len(), "{}", t.id);
    }
    assert!(loaded.spans(0).status.is_some() && loaded.spans(1).status.is_none());
    assert!(loaded.spans(0).description.is_some());
    // The unreadable: a number in a dependency list, and a rule naming no dependent task. Prose
    // naming an unknown task states nothing about this plan.
    let unread: Vec<usize> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.code == "unread-dependency")
        .map(|d| d.location(&loaded.sources).map_or(0, |l| l.line))
        .collect();
    assert_eq!(unread.len(), 2, "{:?}", loaded.diagnostics);
    assert!(unread.contains(&19), "the `until` rule in TODO_LIST.md: {unread:?}");
    assert!(!codes(&loaded).contains(&"duplicate-id"));
}

fn load_todo(todo: &str) -> planrun_plan::Loaded {
    let dir = tempfile::tempdir().unwrap();
    let session = dir.path().join(".workflow/active/WFS-x");
    std::fs::create_dir_all(&session).unwrap();
    std::fs::write(session.join("TODO_LIST.md"), todo).unwrap();
    planrun_plan::load(dir.path(), None).unwrap()
}

#[test]
fn files_and_commands_given_per_task_outside_the_tasks() {
    let loaded = load_todo(
        "# Tasks: X\n\n- [ ] **IMPL-1**: Model\n- [ ] **IMPL-2**: Service\n- [ ] **IMPL-3**: Tests\n\n\
         ## Critical Files\n\n**Core**:\n- src/core/model.py (IMPL-1, IMPL-2)\n- configs/run_*.yaml (IMPL-3)\n\
         - src/orphan.py\n\n## File Changes Summary\n\n| Task | Files |\n|------|-------|\n\
         | IMPL-2 | `src/svc/Service.{h,cpp}` |\n| IMPL-3 | a few helpers |\n\n## Test Counts\n\n\
         | Task | Tests | Command |\n|---|---|---|\n| IMPL-1 | -- | -- |\n| IMPL-3 | 4 | `py -m pytest tests/unit -q` |\n\
         | **Total** | 4 | |\n",
    );
    assert_eq!(task(&loaded, "IMPL-1").files, ["src/core/model.py"]);
    assert_eq!(task(&loaded, "IMPL-2").files, ["src/core/model.py", "src/svc/Service.h", "src/svc/Service.cpp"]);
    assert_eq!(task(&loaded, "IMPL-3").files, ["configs/run_*.yaml"]);
    assert_eq!(task(&loaded, "IMPL-3").verify, ["py -m pytest tests/unit -q"]);
    assert!(task(&loaded, "IMPL-1").verify.is_empty());
    // A path tagged with no task and a files cell with no path are reported, not dropped.
    let unread: Vec<_> = loaded.diagnostics.iter().filter(|d| d.code == "unread-file").collect();
    assert_eq!(unread.len(), 2, "{:?}", loaded.diagnostics);
}

#[test]
fn a_backslash_branch_in_a_chain_is_read() {
    let loaded = load_todo(
        "# Tasks: X\n\n- [ ] **IMPL-1**: A\n- [ ] **IMPL-2**: B\n- [ ] **IMPL-3**: C\n- [ ] **IMPL-4**: D\n\n\
         ## Dependency Chain\n\n```\nIMPL-1 -> IMPL-2 -> IMPL-3\n              \\\n               -> IMPL-4\n```\n",
    );
    assert_eq!(task(&loaded, "IMPL-3").depends_on, ["IMPL-2"]);
    assert_eq!(task(&loaded, "IMPL-4").depends_on, ["IMPL-2"]);
    assert!(!codes(&loaded).contains(&"unread-dependency"), "{:?}", loaded.diagnostics);
}

#[test]
fn affected_files_and_blocked_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let session = dir.path().join(".workflow/active/WFS-x");
    std::fs::create_dir_all(session.join(".task")).unwrap();
    std::fs::write(
        session.join("TODO_LIST.md"),
        "# Tasks\n\n- [ ] **IMPL-1** — First (5 min)\n  - Blocks: IMPL-3\n\
         - [ ] **IMPL-2** — Second\n  - Blocks: None\n- [ ] **IMPL-3** — Third\n- [ ] **IMPL-4** — Fourth\n",
    )
    .unwrap();
    let json = |id: &str, deps: &str, blocks: &str| {
        format!(
            "{{\"id\": \"{id}\", \"title\": \"{id}\", \"affected_files\": [\"src/{id}.ts\"], \
             \"depends_on\": [{deps}], \"is_blocking\": [{blocks}], \"status\": \"pending\"}}"
        )
    };
    std::fs::write(session.join(".task/IMPL-1.json"), json("IMPL-1", "", "")).unwrap();
    std::fs::write(session.join(".task/IMPL-2.json"), json("IMPL-2", "", "\"IMPL-4\"")).unwrap();
    std::fs::write(session.join(".task/IMPL-3.json"), json("IMPL-3", "", "")).unwrap();
    std::fs::write(session.join(".task/IMPL-4.json"), json("IMPL-4", "", "")).unwrap();
    let loaded = planrun_plan::load(dir.path(), None).unwrap();
    assert_eq!(task(&loaded, "IMPL-1").files, ["src/IMPL-1.ts"]);
    // `Blocks: IMPL-3` under IMPL-1 and `"is_blocking": ["IMPL-4"]` in IMPL-2: the blocked wait.
    assert_eq!(task(&loaded, "IMPL-3").depends_on, ["IMPL-1"]);
    assert_eq!(task(&loaded, "IMPL-4").depends_on, ["IMPL-2"]);
    assert!(task(&loaded, "IMPL-2").depends_on.is_empty());
    for (i, t) in loaded.plan.tasks.iter().enumerate() {
        assert_eq!(loaded.spans(i).depends_on.len(), t.depends_on.len(), "{}", t.id);
    }
    assert!(!codes(&loaded).contains(&"unknown-field"), "{:?}", loaded.diagnostics);
}

#[test]
fn paths_after_a_dash_on_the_task_line_and_test_notes_are_files() {
    let loaded = load_todo(
        "# TODO\n\n## Wave 1\n\n- [x] **IMPL-1**: Spec & Registry — `pkg/sig/spec.py`, `registry.py`, `base.py`\n\
         \x20 - Dependencies: None\n  - Test: `tests/unit/test_spec.py`\n\n\
         - [ ] **IMPL-2**: Engine — `pkg/sig/engine.py` and `docs/engine.md`\n  - Test: `pytest -q tests/unit`\n\n\
         - [ ] **IMPL-3** — SEC-001: Escape the title\n- [ ] **IMPL-4**: Rename — `config` keys everywhere\n",
    );
    let one = task(&loaded, "IMPL-1");
    assert_eq!(one.title, "Spec & Registry");
    assert_eq!(one.files, ["pkg/sig/spec.py", "pkg/sig/registry.py", "pkg/sig/base.py", "tests/unit/test_spec.py"]);
    assert!(!one.description.contains("Test:"), "{}", one.description);
    let two = task(&loaded, "IMPL-2");
    assert_eq!(two.files, ["pkg/sig/engine.py", "docs/engine.md"]);
    // A test command is not a file: it stays in the description.
    assert!(two.description.contains("pytest -q tests/unit"), "{}", two.description);
    // A dash that is not followed by paths only is part of the title.
    assert_eq!(task(&loaded, "IMPL-3").title, "SEC-001: Escape the title");
    assert_eq!(task(&loaded, "IMPL-4").title, "Rename — `config` keys everywhere");
    assert!(task(&loaded, "IMPL-4").files.is_empty());
    for (i, t) in loaded.plan.tasks.iter().enumerate() {
        assert_eq!(loaded.spans(i).files.len(), t.files.len());
    }
}

#[test]
fn a_stale_copy_of_a_line_right_above_it_is_one_task() {
    let loaded = load_todo(
        "# Tasks: X\n\n- [x] **IMPL-1**: A -> [📋](./.task/IMPL-1.json)\n- [ ] **IMPL-2**: B\n\
         - [x] **IMPL-2**: B -> [📋](./.task/IMPL-2.json)\n- [ ] **IMPL-3**: C\n",
    );
    let ids: Vec<_> = loaded.plan.tasks.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["IMPL-1", "IMPL-2", "IMPL-3"]);
    assert_eq!(task(&loaded, "IMPL-2").status, Status::Done);
}

#[test]
fn a_phased_execution_model_makes_the_groups_barriers() {
    let todo =
        "# Tasks: X\n\n## Phase 1: Base\n- [ ] **IMPL-1**: Model\n\n## Phase 2: Use\n- [ ] **IMPL-2**: Service\n";
    let dir = tempfile::tempdir().unwrap();
    let session = dir.path().join(".workflow/active/WFS-x");
    std::fs::create_dir_all(&session).unwrap();
    std::fs::write(session.join("TODO_LIST.md"), todo).unwrap();
    for (model, barriers) in [("Phased", true), ("Parallel", false), ("Sequential", false)] {
        std::fs::write(session.join("IMPL_PLAN.md"), format!("# Plan\n\n**Execution Model**: {model}\n")).unwrap();
        let loaded = planrun_plan::load(dir.path(), None).unwrap();
        assert_eq!(loaded.barriers, barriers, "{model}");
        assert_eq!(task(&loaded, "IMPL-2").milestone.as_deref(), Some("Phase 2: Use"));
    }
    assert!(!load_todo(todo).barriers, "no IMPL_PLAN.md: no barriers");
    assert!(common::load("blueprint/milestones").barriers && common::load("planpipe/subtasks").barriers);
    assert!(!common::load("markdown/clean").barriers);
}
