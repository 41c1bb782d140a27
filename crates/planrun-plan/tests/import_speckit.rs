//! The spec-kit importer against its fixtures: ids, `[P]` groups and phase barriers, the
//! Dependencies section, story labels, paths as files, done items, diagnostics for broken files,
//! detection, and no panics on any input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{codes, ids, task};

use planrun_plan::import::detect;
use planrun_plan::{Format, Status};
use proptest::prelude::*;

const CLEAN_FILE: &str = "speckit/clean/specs/001-photo-albums/tasks.md";

#[test]
fn clean_tasks() {
    let l = common::load("speckit/clean");
    insta::assert_json_snapshot!(common::snapshot(&l));
    assert_eq!(l.format, Format::Speckit);
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    assert_eq!(l.plan.title, "Photo Albums");
    assert_eq!(l.plan.tasks.len(), 14);
    assert_eq!(ids(&l)[..3], ["T001", "T002", "T003"]);
    // Sequential items chain; consecutive [P] items share the group before them.
    assert_eq!(task(&l, "T002").depends_on, ["T001"]);
    assert_eq!(task(&l, "T003").depends_on, ["T002"]);
    assert_eq!(task(&l, "T004").depends_on, ["T002"]);
    assert_eq!(task(&l, "T005").depends_on, ["T003", "T004"], "the next phase waits for the whole group");
    assert_eq!(task(&l, "T006").depends_on, ["T005"]);
    assert_eq!(task(&l, "T007").depends_on, ["T005"]);
    assert_eq!(task(&l, "T008").depends_on, ["T006", "T007"]);
    assert_eq!(task(&l, "T009").depends_on, ["T006", "T007"]);
    // A sub-heading ends a [P] run: implementation waits for the tests.
    assert_eq!(task(&l, "T010").depends_on, ["T008", "T009"]);
    assert_eq!(task(&l, "T011").depends_on, ["T010"]);
    assert_eq!(task(&l, "T012").depends_on, ["T011"]);
    assert_eq!(task(&l, "T001").files, ["backend/src/**", "backend/tests/**"], "folders are globs");
    assert_eq!(task(&l, "T010").files, ["backend/src/models/album.py"]);
    assert_eq!(task(&l, "T004").files, [".github/workflows/ci.yml"]);
    assert_eq!(task(&l, "T013").files, ["**/README.md"]);
    assert_eq!(
        task(&l, "T010").milestone.as_deref(),
        Some("Phase 3: User Story 1 - Create an album (Priority: P1) 🎯 MVP")
    );
    assert!(task(&l, "T010").description.contains("User story: US1"));
    assert!(task(&l, "T010").description.contains("Independent Test: POST /albums then GET /albums"));
    assert_eq!(task(&l, "T010").title, "Create the Album model in backend/src/models/album.py");
    assert_eq!(
        task(&l, "T007").acceptance,
        ["Foundation ready - user stories can start"],
        "a checkpoint belongs to the phase's last task"
    );
    assert_eq!(task(&l, "T012").acceptance, ["User Story 1 works on its own"]);
    assert!(l.plan.context.contains("`specs/001-photo-albums/spec.md`"));
    assert!(l.plan.context.contains("`specs/001-photo-albums/contracts/`"));
    assert!(!l.plan.context.contains("description:"), "front matter is dropped");
    assert!(!l.plan.context.contains("Parallel Example"));
    assert!(l.plan.context.contains("Commit after each task"));
    assert!(l.plan.tasks.iter().all(|t| t.status == Status::Pending));
}

#[test]
fn messy_old_template() {
    let l = common::load("speckit/messy");
    insta::assert_json_snapshot!(common::snapshot(&l));
    assert_eq!(l.plan.tasks.len(), 14);
    let done: Vec<&str> = l.plan.tasks.iter().filter(|t| t.status == Status::Done).map(|t| t.id.as_str()).collect();
    assert_eq!(done, ["T001", "T002", "T003", "T004"]);
    assert_eq!(task(&l, "T003").depends_on, ["T001"], "[p] in lower case");
    assert_eq!(task(&l, "T008").title, "Row model in src/export/row.rs", "bold ids");
    assert_eq!(task(&l, "T008").description, "- one struct per CSV line\n- derive `serde::Serialize`");
    // "Tests (T004-T007) before implementation (T008-T012)": ranges expand.
    assert_eq!(task(&l, "T008").depends_on, ["T007", "T004", "T005", "T006"]);
    // "T008 blocks T009, T013" and "T012 requires T010".
    assert!(task(&l, "T009").depends_on.contains(&"T008".to_owned()));
    assert!(task(&l, "T013").depends_on.contains(&"T008".to_owned()));
    assert!(task(&l, "T012").depends_on.contains(&"T010".to_owned()));
    assert_eq!(task(&l, "T004").files, ["tests/contract/export_get.rs"], "`GET /invoices.csv` is a route");
    assert_eq!(task(&l, "T002").files, ["**/Cargo.toml"]);
    // Node.js and e.g. are not files, and `(see docs/errors.md)` cites a document.
    assert!(task(&l, "T012").files.is_empty(), "{:?}", task(&l, "T012").files);
    assert_eq!(task(&l, "T001").milestone.as_deref(), Some("Phase 3.1: Setup"));
    assert_eq!(codes(&l), ["unknown-task"]);
    let loc = l.diagnostics[0].location(&l.sources).unwrap();
    assert_eq!((loc.line, loc.column), (32, 3));
}

#[test]
fn broken_file_gives_located_diagnostics() {
    let l = common::load("speckit/broken/tasks.md");
    insta::assert_json_snapshot!(common::snapshot(&l));
    assert_eq!(ids(&l), ["T001", "", "T002", "T001", "T003", "T004"], "no item is dropped");
    assert_eq!(codes(&l), ["missing-id", "unknown-task"]);
    let loc = l.diagnostics[0].location(&l.sources).unwrap();
    assert_eq!((loc.line, loc.column), (6, 1));
    assert!(task(&l, "T002").title.is_empty());
    // An item without an id cannot be waited for; the chain goes around it.
    assert_eq!(l.plan.tasks[2].depends_on, ["T001"]);
    assert_eq!(task(&l, "T004").depends_on, ["T003", "T777", "T098"]);
    // Unknown dependencies keep their place for validation: the inline one and the section one.
    let spans = l.spans(5);
    assert_eq!(l.sources.line_col(spans.depends_on[1].source, spans.depends_on[1].start), (13, 53));
    assert_eq!(l.sources.line_col(spans.depends_on[2].source, spans.depends_on[2].start).0, 18);
}

#[test]
fn detection() {
    let file = common::fixture(CLEAN_FILE);
    assert_eq!(detect(&common::fixture("speckit/clean")).unwrap(), (Format::Speckit, file.clone()));
    assert_eq!(detect(&common::fixture("speckit/clean/specs")).unwrap(), (Format::Speckit, file.clone()));
    assert_eq!(
        detect(&common::fixture("speckit/clean/specs/001-photo-albums")).unwrap(),
        (Format::Speckit, file.clone())
    );
    assert_eq!(detect(&file).unwrap(), (Format::Speckit, file));
    assert_eq!(detect(&common::fixture("speckit/broken/tasks.md")).unwrap().0, Format::Speckit);
    match planrun_plan::load(&common::fixture("speckit/two-features"), None) {
        Err(planrun_plan::LoadError::Ambiguous { candidates, .. }) => {
            assert_eq!(candidates.len(), 2)
        }
        other => panic!("expected ambiguity, got {other:?}"),
    }
}

#[test]
fn other_markdown_is_not_speckit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tasks.md");
    std::fs::write(&path, "# Tasks\n\n- [ ] 1.1 Add a table\n- [ ] Write T1000ms timeout\n").unwrap();
    assert!(!matches!(detect(&path), Ok((Format::Speckit, _))));
}

fn tasks_text() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        Just("# Tasks: X".to_owned()),
        Just("## Phase 1: Setup".to_owned()),
        Just("### Tests".to_owned()),
        Just("## Dependencies".to_owned()),
        Just("- [ ] T001 [P] [US1] Do src/a.py".to_owned()),
        Just("- [x] T002 [P] x (depends on T001-T003)".to_owned()),
        Just("- [ ] T3 [".to_owned()),
        Just("- [ ] no id".to_owned()),
        Just("#### T005: Heading task ✅".to_owned()),
        Just("- **Files**:".to_owned()),
        Just("  - `src/app/[id]/page.tsx`（新）".to_owned()),
        Just("**Dependencies**: T001-T003".to_owned()),
        Just("- Verify: `npm test`".to_owned()),
        Just("- T010 and T011 depend on T004 and T005 respectively".to_owned()),
        Just("Phase 3 depends on Phase 2 → Phase 1 → T001".to_owned()),
        Just("  - detail".to_owned()),
        Just("- T004-T002 before T001 → T009".to_owned()),
        Just("**Checkpoint**: ok".to_owned()),
        Just("---".to_owned()),
        Just("```".to_owned()),
        "[#*`:\\-\\[\\]()/. PTa-z0-9é→\r]{0,24}",
    ];
    prop::collection::vec(line, 0..40).prop_map(|l| l.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tasks.md");
        std::fs::write(&path, &bytes).unwrap();
        prop_assert!(planrun_plan::load(&path, Some(Format::Speckit)).is_ok());
    }

    #[test]
    fn never_panics_on_tasks_like_text(text in tasks_text()) {
        let dir = tempfile::tempdir().unwrap();
        let feature = dir.path().join("specs/001-x");
        std::fs::create_dir_all(&feature).unwrap();
        std::fs::write(feature.join("tasks.md"), &text).unwrap();
        prop_assert!(planrun_plan::load(&feature.join("tasks.md"), Some(Format::Speckit)).is_ok());
        let _ = planrun_plan::load(dir.path(), None);
    }
}

/// Writes `text` as `specs/001-x/tasks.md` in a fresh folder and reads it as spec-kit.
fn read_text(text: &str) -> planrun_plan::Loaded {
    let dir = tempfile::tempdir().unwrap();
    let feature = dir.path().join("specs/001-x");
    std::fs::create_dir_all(&feature).unwrap();
    std::fs::write(feature.join("tasks.md"), text).unwrap();
    planrun_plan::load(&feature.join("tasks.md"), Some(Format::Speckit)).unwrap()
}

#[test]
fn backticked_paths_before_full_width_punctuation_are_files() {
    let l = read_text(
        "# Tasks: X\n\n## Phase 1: 基础\n\n- [ ] T001 [P] 在 `src/config/limits.py`（或等价）新增常量：`MAX_ROWS`\n- [ ] T002 实现 `src/store/cache.ts`：读写缓存，见 `docs/cache.md`。\n- [ ] T003 更新 src/api/routes.go，并补测试\n",
    );
    assert_eq!(task(&l, "T001").files, ["src/config/limits.py"]);
    assert_eq!(task(&l, "T002").files, ["src/store/cache.ts", "docs/cache.md"]);
    assert_eq!(task(&l, "T003").files, ["src/api/routes.go"]);
}

#[test]
fn route_groups_dynamic_segments_and_dotfiles_are_files() {
    let l = read_text(
        "# Tasks: X\n\n## Phase 1: Setup\n\n- [ ] T001 Add the sign-in page in src/app/(auth)/login/page.tsx\n- [ ] T002 Add `src/app/notes/[id]/page.tsx` and src/app/api/notes/[noteId]/route.ts\n- [ ] T003 [P] Put the keys in .env.local and `.env.example`\n- [ ] T004 [P] Add CI in .github/workflows/ci.yml and `.github/CODEOWNERS`\n",
    );
    assert_eq!(task(&l, "T001").files, ["src/app/(auth)/login/page.tsx"]);
    // Brackets are escaped: the pattern matches that exact path, not `src/app/notes/i/page.tsx`.
    assert_eq!(task(&l, "T002").files, ["src/app/notes/\\[id\\]/page.tsx", "src/app/api/notes/\\[noteId\\]/route.ts"]);
    let pattern = planrun_plan::globs::Pattern::parse(&task(&l, "T002").files[0]).unwrap();
    assert!(pattern.matches("src/app/notes/[id]/page.tsx"));
    assert!(!pattern.matches("src/app/notes/i/page.tsx"));
    assert_eq!(task(&l, "T003").files, ["**/.env.local", "**/.env.example"]);
    assert_eq!(task(&l, "T004").files, [".github/workflows/ci.yml", ".github/CODEOWNERS"]);
}

#[test]
fn tasks_written_as_headings_are_read() {
    let l = read_text(
        "# Tasks: X\n\n## Task Breakdown\n\n### Phase 1: Setup\n\n#### T001: Create the config module\n- **Status**: [x] Completed\n- **Dependencies**: None\n- **Files**:\n  - Create: `src/config.ts`\n- **Acceptance Criteria**:\n  - [x] defaults load from the environment\n  - [ ] bad values are rejected\n\n#### T002: Wire the config ✅\n**Dependencies**: T001\n**Files**: `src/main.ts`\n**Verify**: `npm test -- config`\n\n### T003 Document the settings\n\nWrite the table of settings.\n",
    );
    assert_eq!(ids(&l), ["T001", "T002", "T003"], "no task called Breakdown");
    assert_eq!(l.format, Format::Speckit);
    assert_eq!(task(&l, "T001").status, Status::Done);
    assert_eq!(task(&l, "T002").status, Status::Done);
    assert_eq!(task(&l, "T003").status, Status::Pending);
    assert!(task(&l, "T001").depends_on.is_empty(), "Dependencies: None");
    assert_eq!(task(&l, "T002").depends_on, ["T001"]);
    assert_eq!(task(&l, "T003").depends_on, ["T002"], "the list's order");
    assert_eq!(task(&l, "T001").files, ["src/config.ts"]);
    assert_eq!(task(&l, "T001").acceptance, ["defaults load from the environment", "bad values are rejected"]);
    assert_eq!(task(&l, "T002").verify, ["npm test -- config"]);
    assert!(task(&l, "T003").description.starts_with("Write the table of settings.\n"));
    let spans = l.spans(0);
    assert_eq!(spans.acceptance.len(), 2);
    assert!(spans.status.is_some() && spans.description.is_none());
    assert_eq!(l.spans(1).verify.len(), 1);
}

#[test]
fn dependencies_section_forms() {
    let l = read_text(
        "# Tasks: X\n\n## Phase 1: Setup\n\n- [ ] T001 a\n- [ ] T002 [P] b\n- [ ] T003 [P] c\n\n## Phase 2: Core\n\n- [ ] T004 [P] d\n- [ ] T005 [P] e\n- [ ] T006 f\n\n## Phase 3: Stories\n\n- [ ] T010 [P] g\n- [ ] T011 [P] h\n- [ ] T012 i\n\n## Dependencies\n\n- T010 and T011 depend on T004 and T005 respectively\n- T012 depends on T001\n- T003 → T004 → T006\n- T002 blocks T012\n- T005 waits on T003 somehow, T004\n",
    );
    assert_eq!(task(&l, "T010").depends_on, ["T006", "T004"]);
    assert_eq!(task(&l, "T011").depends_on, ["T006", "T005"]);
    assert!(task(&l, "T012").depends_on.contains(&"T001".to_owned()));
    assert!(task(&l, "T012").depends_on.contains(&"T002".to_owned()));
    assert!(task(&l, "T004").depends_on.contains(&"T003".to_owned()));
    assert!(task(&l, "T006").depends_on.contains(&"T004".to_owned()));
    assert_eq!(codes(&l), ["unread-dependency"]);
}

#[test]
fn a_phase_waits_for_the_last_tasks_of_the_phase_it_names() {
    let l = read_text(
        "# Tasks: X\n\n## Phase 1: Setup\n\n- [ ] T001 a\n- [ ] T002 b\n\n## Phase 2: A\n\n- [ ] T003 c\n\n## Phase 3: B\n\n- [ ] T004 d\n- [ ] T005 e\n\n## Dependencies\n\n- Phase 3 depends on Phase 1\n",
    );
    assert_eq!(task(&l, "T004").depends_on, ["T003", "T002"]);
    assert_eq!(task(&l, "T005").depends_on, ["T004"]);
}

#[test]
fn a_file_without_tasks_gets_no_reader_diagnostic() {
    let l = read_text("# Tasks: X\n\n## Phase 1: Setup\n\nNothing yet.\n");
    assert!(l.plan.tasks.is_empty());
    assert!(l.diagnostics.is_empty(), "validation reports an empty plan, once: {:?}", l.diagnostics);
}

#[test]
fn unreadable_fields_are_warnings_with_spans() {
    let l = read_text(
        "# Tasks: X\n\n## Phase 1: Setup\n\n#### T001: Scaffold\n- **Files**: the whole repository layout\n- **Dependencies**: the database work\n- **Verify**: `openspec validate x --strict`\n",
    );
    assert_eq!(codes(&l), ["unread-file", "unread-dependency", "unread-verify"]);
    assert!(l.diagnostics.iter().all(|d| d.location(&l.sources).is_some_and(|loc| loc.line >= 6)));
    assert_eq!(task(&l, "T001").acceptance, ["`openspec validate x --strict`"]);
    assert!(task(&l, "T001").verify.is_empty());
}

#[test]
fn item_status_and_fields_have_spans() {
    let l = read_text("# Tasks: X\n\n## Phase 1: Setup\n\n- [X] T001 Add a\n  - Verify: `cargo test a`\n  - Note\n");
    let spans = l.spans(0);
    let s = spans.status.unwrap();
    assert_eq!(&l.sources.text(s.source)[s.start..s.end], "[X]");
    let v = spans.verify[0];
    assert_eq!(&l.sources.text(v.source)[v.start..v.end], "cargo test a");
    assert_eq!(task(&l, "T001").description, "- Note");
}

#[test]
fn a_list_of_heading_tasks_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let feature = dir.path().join("specs/002-y");
    std::fs::create_dir_all(&feature).unwrap();
    std::fs::write(feature.join("tasks.md"), "# Tasks: Y\n\n## Task Breakdown\n\n### T001: Add a\n\n### T002: Add b\n")
        .unwrap();
    let l = planrun_plan::load(dir.path(), None).unwrap();
    assert_eq!(l.format, Format::Speckit);
    assert_eq!(ids(&l), ["T001", "T002"]);
}

/// A large plan with every kind of order is read whole (its speed is the parse benchmark's
/// business, not a test's).
#[test]
fn ten_thousand_tasks_with_orders_are_read() {
    let mut text = String::from("# Tasks: Big\n\n## Phase 1: Setup\n\n");
    for i in 1..=5000 {
        text.push_str(&format!("- [ ] T{i:05} [P] Add `src/app/(g)/m{i}/[id]/page.tsx`（新）\n"));
    }
    text.push_str("## Phase 2: More\n\n");
    for i in 5001..=10000 {
        text.push_str(&format!(
            "#### T{i:05}: Step {i}\n- **Dependencies**: T{:05}\n- **Files**: `src/x{i}.rs`\n",
            i - 1
        ));
    }
    text.push_str("\n## Dependencies\n\n");
    for i in 1..=2000 {
        text.push_str(&format!(
            "- T{:05} and T{:05} depend on T{i:05} and T{:05} respectively\n",
            i + 5000,
            i + 5001,
            i + 1
        ));
    }
    text.push_str("- Phase 2 depends on Phase 1\n");
    let l = read_text(&text);
    assert_eq!(l.plan.tasks.len(), 10000);
    // "T06001 and T06002 depend on T01001 and T01002 respectively", and the heading's own field.
    let t = l.plan.task("T06001").unwrap();
    assert!(
        t.depends_on.contains(&"T01001".to_owned()) && t.depends_on.contains(&"T06000".to_owned()),
        "{:?}",
        t.depends_on
    );
    assert!(!t.depends_on.contains(&"T01002".to_owned()), "{:?}", t.depends_on);
}

#[test]
fn ids_in_brackets_are_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let feature = dir.path().join("specs/002-export");
    std::fs::create_dir_all(&feature).unwrap();
    std::fs::write(
        feature.join("tasks.md"),
        "# Tasks: Meter export\n\n## Phase 1: Setup\n\n```\n- [ ] [T000] [P] [US1] Description (file path)\n```\n\n- [x] [T001] Add the export settings (src/export/settings.py)\n- [ ] [T002] [P] [US1] Write the CSV writer (src/export/csv_writer.py)\n- [ ] **[T003]** [P] Document the export (docs/export.md)\n- [ ] [T004] [US1] [保存]ボタンを追加 (web/save.html)\n",
    )
    .unwrap();
    // Detected without naming the format.
    let l = planrun_plan::load(dir.path(), None).unwrap();
    assert_eq!(l.format, Format::Speckit);
    assert_eq!(ids(&l), ["T001", "T002", "T003", "T004"], "the example in a fence is not a task");
    assert_eq!(task(&l, "T001").status, Status::Done);
    assert_eq!(task(&l, "T001").files, ["src/export/settings.py"]);
    assert_eq!(task(&l, "T002").depends_on, ["T001"]);
    assert_eq!(task(&l, "T003").depends_on, ["T001"], "[P] after the bracketed id");
    assert!(task(&l, "T002").description.contains("User story: US1"));
    // A bracketed word glued to the title is the title's, not a label.
    assert_eq!(task(&l, "T004").title, "[保存]ボタンを追加 (web/save.html)");
}

#[test]
fn japanese_orders_checkpoints_and_completion_criteria_are_read() {
    let l = read_text(
        "# タスク: 在庫メモ\n\n## Phase 1: 準備\n\n- [ ] T001 `pyproject.toml` を作成する\n- [ ] T002 `src/app/db.py` に接続を実装する\n- [ ] T003 `tests/test_db.py` を作成する\n\n**完了基準**:\n\n- DB接続テストが通る\n- 設定が読み込める\n\n## Phase 2: 機能\n\n**依存関係**: Phase 1完了後\n\n- [ ] T004 `src/app/items.py` に一覧を実装する\n- [ ] T005 `src/app/cli.py` に登録コマンドを追加してT002を通す\n- [ ] T006 `src/app/report.py` を実装する\n\n**チェックポイント**: 一覧と登録が動く。\n\n## 依存関係と実行順序\n\n- **Phase 1**: 依存なし。T003はT002と並行可能。\n- **Phase 2**: T006、T005の順に統合する。\n",
    );
    // `T003はT002と並行可能` (T003 may run alongside T002): the list's order between them goes.
    assert!(task(&l, "T003").depends_on.is_empty());
    // `**依存関係**: Phase 1完了後`: the phase waits for every last task of phase 1.
    assert_eq!(task(&l, "T004").depends_on, ["T003", "T002"]);
    // `T002を通す` (make T002 pass) in the item, `T006、T005の順に` (T006, then T005).
    assert_eq!(task(&l, "T005").depends_on, ["T004", "T002", "T006"]);
    assert_eq!(task(&l, "T003").acceptance, ["DB接続テストが通る", "設定が読み込める"]);
    assert_eq!(l.spans(2).acceptance.len(), 2);
    assert_eq!(task(&l, "T006").acceptance, ["一覧と登録が動く。"]);
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
}

#[test]
fn in_parallel_with_drops_the_order_of_the_list() {
    let l = read_text(
        "# Tasks: X\n\n## Phase 1: Setup\n\n- [ ] T001 a in src/a.py\n- [ ] T002 b in src/b.py\n- [ ] T003 c in src/c.py\n\n**Checkpoint**: setup done\n\n## Dependencies\n\n- T003 can run in parallel with T002\n- T001, T002 and T003 can be written in parallel before T004\n",
    );
    assert_eq!(task(&l, "T002").depends_on, ["T001"], "a list of tasks in parallel names no other side");
    assert!(task(&l, "T003").depends_on.is_empty());
    assert_eq!(task(&l, "T003").acceptance, ["setup done"]);
    assert_eq!(l.spans(2).acceptance.len(), 1);
}

/// Four phases and two stories, for the tests of phase orders below.
const STORY_PHASES: &str = "# Tasks: X\n\n## Phase 1: Setup\n\n- [ ] T001 a\n\n## Phase 2: Foundational\n\n- [ ] T002 b\n\n## Phase 3: User Story 1 - Add\n\n- [ ] T003 [US1] c\n\n## Phase 4: User Story 2 - List\n\n- [ ] T004 [US2] d\n\n## Phase 5: Polish\n\n- [ ] T005 e\n\n## Dependencies & Execution Order\n\n";

fn deps_of(l: &planrun_plan::Loaded, id: &str) -> Vec<String> {
    let mut d = task(l, id).depends_on.clone();
    d.sort();
    d
}

#[test]
fn phases_named_by_name_and_story_are_read() {
    let l = read_text(&format!(
        "{STORY_PHASES}- **Foundational (Phase 2)**: Depends on Setup\n- **User Story 2 (Phase 4)**: Depends on US1 and Foundational\n- **Polish**: Depends on User Story 1\n"
    ));
    assert_eq!(deps_of(&l, "T004"), ["T002", "T003"]);
    assert_eq!(deps_of(&l, "T005"), ["T003", "T004"]);
}

#[test]
fn phase_plus_all_stories_and_all_prior_phases_are_read() {
    let l = read_text(&format!(
        "{STORY_PHASES}- **User Stories (Phase 3+)**: Depend on Foundational (Phase 2)\n- **Polish (Phase 5)**: Depends on all desired user stories\n"
    ));
    assert_eq!(deps_of(&l, "T004"), ["T002", "T003"], "Phase 3+ stands for each story phase from 3 on");
    assert_eq!(deps_of(&l, "T005"), ["T003", "T004"]);
    let l = read_text(&format!("{STORY_PHASES}- **Polish (Phase 5)**: Depends on all prior phases\n"));
    assert_eq!(deps_of(&l, "T005"), ["T001", "T002", "T003", "T004"]);
    let l =
        read_text(&format!("{STORY_PHASES}- **Polish (Final Phase)**: Depends on all other phases being complete\n"));
    assert_eq!(deps_of(&l, "T005"), ["T001", "T002", "T003", "T004"]);
}

#[test]
fn a_wrong_phase_number_beside_a_name_is_read_by_the_name() {
    let l = read_text(&format!("{STORY_PHASES}- **Polish (Phase 4)**: Depends on Setup\n"));
    assert_eq!(deps_of(&l, "T005"), ["T001", "T004"], "Polish is phase 5");
    assert_eq!(deps_of(&l, "T004"), ["T003"]);
}

#[test]
fn a_phase_completion_narrowed_to_a_task_is_that_task() {
    let l = read_text(
        "# Tasks: X\n\n## Phase 1: Setup\n\n- [ ] T001 [P] a\n- [ ] T002 [P] b\n\n## Phase 2: Story\n\n- [ ] T003 c\n\n## Phase 3: Other\n\n- [ ] T004 d\n\n## Dependencies\n\n- **Other (Phase 3)**: Depends on Phase 1 completion (specifically T001) - can run in parallel with Phase 2\n",
    );
    // T001 only, not T002; and not T003 either: the phase runs in parallel with Phase 2.
    assert_eq!(deps_of(&l, "T004"), ["T001"], "T001 only, not T002");
}

#[test]
fn a_singular_phase_range_and_a_second_order_are_read() {
    let l = read_text(&format!(
        "{STORY_PHASES}- **Phase 3–4 (stories)**: All depend on Phase 1\n- Foundational depends on Setup and blocks Polish\n"
    ));
    assert_eq!(deps_of(&l, "T004"), ["T001", "T003"]);
    assert_eq!(deps_of(&l, "T005"), ["T002", "T004"]);
}

#[test]
fn a_word_defined_by_ids_stands_for_them() {
    let l = read_text(
        "# Tasks: X\n\n## Phase 3.1: Tests\n\n- [ ] T001 [P] a\n- [ ] T002 [P] b\n\n## Phase 3.2: Core\n\n- [ ] T003 [P] c\n- [ ] T004 [P] d\n\n## Phase 3.3: Polish\n\n- [ ] T005 [P] e\n- [ ] T006 f\n\n## Dependencies\n\n- Tests (T001-T002) before implementation (T003-T004)\n- Implementation before polish (T005-T006)\n",
    );
    assert_eq!(deps_of(&l, "T006"), ["T003", "T004", "T005"]);
}

#[test]
fn orders_in_parallel_sections_are_read() {
    let l = read_text(&format!(
        "{}## Parallel Execution Examples\n\n- T005 can be done in parallel after all user stories\n- T004 can be done in parallel after T001\n",
        STORY_PHASES.trim_end_matches("## Dependencies & Execution Order\n\n")
    ));
    assert_eq!(deps_of(&l, "T005"), ["T003", "T004"]);
    assert_eq!(deps_of(&l, "T004"), ["T001", "T003"]);
}

#[test]
fn depends_fields_short_ids_and_license_files_are_read() {
    let l = read_text(
        "# Tasks: X\n\n## Phase 1: Setup\n\n### T001: Licenses\n\n**File(s)**: `LICENSE-MIT`, `LICENSE-APACHE`\n**Depends**: None\n\n### T002: Feature\n\n**File(s)**: `specs/x/login.gherkin`\n**Depends**: None\n",
    );
    assert!(task(&l, "T002").depends_on.is_empty(), "Depends: None");
    assert_eq!(task(&l, "T001").files, ["**/LICENSE-MIT", "**/LICENSE-APACHE"]);
    assert_eq!(task(&l, "T002").files, ["specs/x/login.gherkin"]);
    let l = read_text("# Tasks 001: engine\n\n- [ ] T1 `lattice.py`: domain\n- [ ] T2 `defaults.rules`: rules\n");
    assert_eq!(ids(&l), ["T1", "T2"]);
    assert_eq!(task(&l, "T2").depends_on, ["T1"]);
    assert_eq!(task(&l, "T2").files, ["**/defaults.rules"]);
}

#[test]
fn words_shaped_like_paths_that_are_not_files() {
    let l = read_text(
        "# Tasks: X\n\n## Phase 1: Setup\n\n- [ ] T001 Add the `modernc.org/sqlite` dependency to `go.mod`\n- [ ] T002 Read the profile from `~/.vault/profile.txt` in internal/layers/profile.go\n- [ ] T003 Create docs/kql/latency.kql with p50/p95/p99 by operation and `Directory.Packages.props`\n- [ ] T004 Remove the old `cmd/x/main.go`. Keep `.github/`, `Dockerfile`, `README.md`.\n",
    );
    assert_eq!(task(&l, "T001").files, ["**/go.mod"]);
    assert_eq!(task(&l, "T002").files, ["internal/layers/profile.go"]);
    assert_eq!(task(&l, "T003").files, ["docs/kql/latency.kql", "**/Directory.Packages.props"]);
    assert_eq!(task(&l, "T004").files, ["cmd/x/main.go"]);
}

#[test]
fn paths_an_item_only_handles_reads_or_runs_in_are_not_files() {
    let l = read_text(
        "# Tasks: X\n\n## Phase 1: Setup\n\n- [ ] T001 Implement version extraction from Cargo.toml in src/cli/version.rs\n- [ ] T002 Implement path rewriting (memory/ → .stencil/memory/) in src/core/package.rs\n- [ ] T003 Add a timeout (see `GRACE` in cli.py) to src/x/runner.py\n- [ ] T004 Lint the chart using helm lint charts/box/ command\n- [ ] T005 Change directory to `catalog` and run `flutter pub get`. (`catalog/`)\n- [ ] T006 实现配置加载器，解析 configs/app.yaml 到结构体（svc/internal/config/config.go）\n",
    );
    assert_eq!(task(&l, "T001").files, ["src/cli/version.rs"]);
    assert_eq!(task(&l, "T002").files, ["src/core/package.rs"]);
    assert_eq!(task(&l, "T003").files, ["src/x/runner.py"]);
    assert!(task(&l, "T004").files.is_empty());
    assert!(task(&l, "T005").files.is_empty());
    assert_eq!(task(&l, "T006").files, ["svc/internal/config/config.go"]);
}

#[test]
fn folders_without_a_slash_sub_folders_and_a_listed_file_in_a_folder() {
    let l = read_text(
        "# Tasks: X\n\n## Phase 1: Setup\n\n- [ ] T001 Check the code exists at sunny-app/web and sunny-app/api\n- [ ] T002 在 svc/ 下创建目录骨架（cmd/server/, internal/{a,b}）\n- [ ] T003 Verify that `a.g.dart` is generated in `lib/src/tokens/`. (`lib/src/tokens/a.g.dart`)\n- [ ] T004 Run quickstart.md validation and update if needed\n",
    );
    assert_eq!(task(&l, "T001").files, ["sunny-app/web", "sunny-app/api"]);
    assert_eq!(task(&l, "T002").files, ["svc/**"]);
    assert_eq!(task(&l, "T003").files, ["lib/src/tokens/a.g.dart"]);
    assert_eq!(task(&l, "T004").files, ["**/quickstart.md"]);
    let l = read_text(
        "# Tasks: X\n\n## Phase 1: Setup\n\n- [ ] T001 Copy schema.yaml from config/shared/ to src/app/schemas/\n",
    );
    assert_eq!(task(&l, "T001").files, ["**/schema.yaml", "src/app/schemas/**"], "the source folder is read");
}

#[test]
fn decimal_ids_stay_distinct() {
    let l = read_text(
        "# Tasks: X\n\n## Phase 3: A\n\n- [ ] T011 Do a\n\n## Phase 3.5: B\n\n- [ ] T011.1 [P] Create `app/x.rb`\n- [ ] T011.2 Register it in `config/application.rb`\n",
    );
    assert_eq!(ids(&l), ["T011", "T011.1", "T011.2"]);
    assert_eq!(task(&l, "T011.2").depends_on, ["T011.1"]);
    assert_eq!(task(&l, "T011.1").files, ["app/x.rb"]);
}

#[test]
fn root_paths_written_with_a_leading_slash_or_dot_slash() {
    let l = read_text(
        "# Tasks: X\n\n## Phase 1: Setup\n\n- [ ] T001 Create root package.json at `/package.json`\n- [ ] T002 Create .env.example at `/.env.example`\n- [ ] T003 Create apps/api package.json at `/apps/api/package.json`\n- [ ] T004 Create requirements.txt at ./requirements.txt\n- [ ] T005 Create the media directory at ./site/media/\n- [ ] T006 Call `GET /albums` from src/client.ts\n",
    );
    assert_eq!(task(&l, "T001").files, ["package.json"]);
    assert_eq!(task(&l, "T002").files, [".env.example"]);
    assert_eq!(task(&l, "T003").files, ["apps/api/package.json"], "the folder says where the file is");
    assert_eq!(task(&l, "T004").files, ["requirements.txt"]);
    assert_eq!(task(&l, "T005").files, ["site/media/**"]);
    assert_eq!(task(&l, "T006").files, ["src/client.ts"]);
}

#[test]
fn ignore_entries_sources_and_tools_are_not_files() {
    let l = read_text(
        "# Tasks: X\n\n## Phase 1: Setup\n\n- [ ] T001 Create `.gitignore` file with Rails patterns (node_modules, .env, log/, tmp/)\n- [ ] T002 [P] .dockerignore 파일 작성 (build/, logs/, .git/ 등 제외)\n- [ ] T003 Verify .env is in .gitignore at ./.gitignore\n- [ ] T004 Install dependencies from requirements.txt into the venv\n- [ ] T005 Migrate api.py from old_app/utils/ to common/api.py\n- [ ] T006 Create README-ES.md - exact translation of README.md\n- [ ] T007 Verify README-ES.md matches README.md using `tools/check_parity.rb`\n- [ ] T008 Contrôler la structure avec `check-prerequisites.ps1`.\n- [ ] T009 Configure DATABASES at `{WORKING_DIR}/database.sqlite`\n",
    );
    assert_eq!(task(&l, "T001").files, ["**/.gitignore"]);
    assert_eq!(task(&l, "T002").files, ["**/.dockerignore"]);
    assert_eq!(task(&l, "T003").files, [".gitignore"]);
    assert!(task(&l, "T004").files.is_empty());
    assert_eq!(task(&l, "T005").files, ["common/api.py"]);
    assert_eq!(task(&l, "T006").files, ["**/README-ES.md"]);
    assert_eq!(task(&l, "T007").files, ["**/README-ES.md", "**/README.md"]);
    assert!(task(&l, "T008").files.is_empty());
    assert!(task(&l, "T009").files.is_empty());
    let l =
        read_text("# Tasks: X\n\n## Phase 1: Setup\n\n- [ ] T001 Add .gitignore and the settings (config/app.yml)\n");
    assert_eq!(task(&l, "T001").files, ["**/.gitignore", "config/app.yml"], "a file named after the ignore file");
}

#[test]
fn folders_with_their_files_variants_and_mangled_dunder_names() {
    let l = read_text(
        "# Tasks: X\n\n## Phase 1: Setup\n\n- [ ] T001 Create issue templates in `.github/ISSUE_TEMPLATE/` (bug.yml, idea.yml)\n- [ ] T002 프로젝트 루트에 docker/ 디렉토리 구조 생성 (docker/scripts/, docker/config/)\n- [ ] T003 CI 전용 Dockerfile 작성 in Dockerfile.ci\n- [ ] T004 Update hdtools/settings/**init**.py to pick the settings\n- [ ] T005 Create `FakeRepo.kt` in `test/` source set\n",
    );
    assert_eq!(task(&l, "T001").files, [".github/ISSUE_TEMPLATE/**", "**/bug.yml", "**/idea.yml"]);
    assert_eq!(task(&l, "T002").files, ["docker/**"]);
    assert_eq!(task(&l, "T003").files, ["**/Dockerfile.ci"]);
    assert_eq!(task(&l, "T004").files, ["hdtools/settings/__init__.py"]);
    assert_eq!(task(&l, "T005").files, ["**/FakeRepo.kt"]);
}

#[test]
fn a_stated_project_root_prefixes_folders() {
    let l = read_text(
        "# Tasks: X\n\n## Format\n\n- Paths are relative to `Lift/` (the project root)\n\n## Phase 1: Setup\n\n- [ ] T001 Create folders (`Models/`, `Services/`)\n- [ ] T002 Register types in Lift/LiftApp.swift and App.swift\n",
    );
    assert_eq!(task(&l, "T001").files, ["Lift/Models/**", "Lift/Services/**"]);
    assert_eq!(task(&l, "T002").files, ["Lift/LiftApp.swift", "**/App.swift"]);
}

#[test]
fn detail_headings_of_listed_tasks_are_not_new_tasks() {
    let l = read_text(
        "# Tasks: X\n\n## Phase 1: Setup\n\n- [ ] T001 Set up\n- [ ] T002 Build\n\n## Details\n\n### T001: Setup\n\n- run `make`\n\n### T002: Build\n\nmore\n",
    );
    assert_eq!(ids(&l), ["T001", "T002"]);
}

#[test]
fn phase_lines_with_a_parallel_note_only_and_overlap() {
    let plan = "# Tasks: X\n\n## Phase 1: Setup\n\n- [ ] T001 a\n\n## Phase 2: Foundational\n\n- [ ] T002 b\n\n## Phase 3: User Story 1 - A\n\n- [ ] T003 c\n- [ ] T004 d\n\n## Phase 4: User Story 2 - B\n\n- [ ] T005 e\n\n## Phase 5: User Story 3 - C\n\n- [ ] T006 f\n\n## Phase 6: Polish\n\n- [ ] T007 g\n\n## Dependencies\n\n";
    // A parenthesis with a parallel note: the line's subject runs alongside.
    let l = read_text(&format!("{plan}- **Phase 4 (US2)**: Depends on Phase 2 completion (can run parallel to US1)\n"));
    assert_eq!(task(&l, "T005").depends_on, ["T002"]);
    // `only`: nothing the list's order implied besides what is named.
    let l = read_text(&format!(
        "{plan}- **US3 (Phase 5)**: Depends on Phase 2 only — can run in parallel with US1\n- US3: Can proceed in parallel with US1 and US2 after Phase 2\n"
    ));
    assert_eq!(task(&l, "T006").depends_on, ["T002"]);
    assert_eq!(task(&l, "T005").depends_on, ["T004"], "US2 is not ordered after Phase 2 by that line");
    // A second clause without a subject of its own; `all phases`.
    let l = read_text(&format!(
        "{plan}- **Phase 5 (C)**: Depends on Phase 1; can overlap with Phase 4 after T003\n- **Phase 6 (Polish)**: Depends on all phases complete\n"
    ));
    assert_eq!(task(&l, "T006").depends_on, ["T001", "T003"]);
    assert_eq!(task(&l, "T007").depends_on, ["T006", "T001", "T002", "T004", "T005"]);
    // `Phase 3+ (User Stories)` in a chain: the story phases only.
    let l = read_text(&format!(
        "{plan}- Phase 1 (Setup) → Phase 2 (Foundation) → Phase 3+ (User Stories) → Phase 6 (Polish)\n"
    ));
    assert_eq!(task(&l, "T007").depends_on, ["T006", "T004", "T005"]);
    assert!(!task(&l, "T006").depends_on.contains(&"T007".to_owned()));
}

#[test]
fn chinese_blocks_before_and_words_defined_by_ids() {
    let l = read_text(
        "# Tasks: X\n\n## Phase 1: Tests\n\n- [ ] T001 [P] a\n- [ ] T002 [P] b\n\n## Phase 2: Core\n\n- [ ] T003 [P] c\n- [ ] T004 [P] d\n- [ ] T005 e\n\n## Phase 3: Polish\n\n- [ ] T006 [P] f\n- [ ] T007 [P] g\n\n## Dependencies\n\n**測試階段 (T001-T002) 必須在實作階段 (T003-T005) 之前完成**\n\n- T003 (模型) 阻塞 T006 (測試)\n- 所有實作完成後才能進行 Polish (T006-T007)\n",
    );
    assert_eq!(task(&l, "T005").depends_on, ["T003", "T004", "T001", "T002"], "tests before implementation");
    assert_eq!(task(&l, "T006").depends_on, ["T005", "T003", "T004"], "阻塞 (blocks), then all of 實作");
    assert_eq!(task(&l, "T007").depends_on, ["T005", "T003", "T004"]);
}

#[test]
fn korean_after_and_independent_of_on_phase_lines() {
    let l = read_text(
        "# Tasks: X\n\n## Phase 1: Setup\n\n- [ ] T001 a\n\n## Phase 2: Foundational\n\n- [ ] T002 b\n\n## Phase 3: User Story 1 - A\n\n- [ ] T003 c\n\n## Phase 4: User Story 2 - B\n\n- [ ] T004 d\n\n## Phase 5: Polish\n\n- [ ] T005 e\n\n## Dependencies\n\n- **User Story 2 (P2)**: Foundational 후 시작 - US1과 독립적\n- **Polish (Phase 5)**: 원하는 User Story 완료 후\n",
    );
    assert_eq!(task(&l, "T004").depends_on, ["T002"]);
    assert_eq!(task(&l, "T005").depends_on, ["T004", "T003"]);
}

#[test]
fn a_stated_absolute_root_is_the_repository_root() {
    let dir = tempfile::tempdir().unwrap();
    let feature = dir.path().join("specs/003-z");
    std::fs::create_dir_all(&feature).unwrap();
    std::fs::write(
        feature.join("tasks.md"),
        "# Tasks: Z\n\n- All paths are absolute under `/home/ana/work/app/`\n\n## Phase 1: Setup\n\n\
         - [ ] T001 Add the key to `/home/ana/work/app/src/core/config.ts`\n\
         - [ ] T002 Add the type in `/home/ana/work/app/@types/env.d.ts`\n",
    )
    .unwrap();
    let l = planrun_plan::load(dir.path(), None).unwrap();
    assert_eq!(task(&l, "T001").files, ["src/core/config.ts"]);
    assert_eq!(task(&l, "T002").files, ["@types/env.d.ts"]);
}

#[test]
fn japanese_phase_lines_name_phases_by_words_defined_earlier() {
    let dir = tempfile::tempdir().unwrap();
    let feature = dir.path().join("specs/004-j");
    std::fs::create_dir_all(&feature).unwrap();
    std::fs::write(
        feature.join("tasks.md"),
        "# Tasks: J\n\n## Phase 1: 準備\n\n- [ ] T001 準備する\n\n## Phase 2: 基盤\n\n\
         - [ ] T002 [P] 型を作る\n- [ ] T003 [P] ラベルを作る\n\n## Phase 3: ストーリー 1\n\n\
         - [ ] T004 [US1] 作成コマンド\n\n## Phase 4: ストーリー 2\n\n- [ ] T005 [US2] 割り当て\n\n\
         ## Phase 5: 仕上げ\n\n- [ ] T006 [P] 文書\n\n## 依存関係\n\n\
         - **基盤（Phase 2）**: 準備完了後\n\
         - **ユーザーストーリー（Phase 3-4）**: 基盤完了後に開始可能\n\
         - **仕上げ（Phase 5）**: 全ユーザーストーリー完了後\n",
    )
    .unwrap();
    let l = planrun_plan::load(dir.path(), None).unwrap();
    let mut t5 = task(&l, "T005").depends_on.clone();
    t5.sort();
    assert_eq!(t5, ["T002", "T003", "T004"], "stories wait for the foundation phase named by its word");
    let mut t6 = task(&l, "T006").depends_on.clone();
    t6.sort();
    assert_eq!(t6, ["T004", "T005"], "polish waits for every story phase");
}
