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
    // `- Test: none needed` says there is no test file: nothing to warn about.
    assert_eq!(codes(&l), ["unknown-task"]);
    let ledger = l.diagnostics[0].location(&l.sources).unwrap();
    assert!(ledger.file.ends_with("progress.md"));
    assert_eq!(ledger.line, 6);
}

#[test]
fn broken_plan_gives_located_diagnostics() {
    let l = common::load("superpowers/broken/plan.md");
    insta::assert_json_snapshot!(common::snapshot(&l));
    assert_eq!(ids(&l), ["task-1", "", "task-3", "task-3"], "no task is dropped");
    assert_eq!(codes(&l), ["missing-id", "unread-file"]);
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

/// Reads `text` as a superpowers plan saved under `docs/superpowers/plans/`.
fn read(text: &str) -> planrun_plan::Loaded {
    let dir = tempfile::tempdir().unwrap();
    let plans = dir.path().join("docs/superpowers/plans");
    std::fs::create_dir_all(&plans).unwrap();
    let plan = plans.join("2026-01-01-x.md");
    std::fs::write(&plan, text).unwrap();
    planrun_plan::load(&plan, Some(Format::Superpowers)).unwrap()
}

#[test]
fn a_path_wrapped_onto_the_next_line_is_kept() {
    let l = read(
        "# P\n\n### Task 1: A\n\n**Files:**\n- Create: `src/components/settings/very/long/\n  NotificationPanel.tsx`\n- Modify:\n  `src/app.ts`\n- Test: `tests/panel.test.ts`\n",
    );
    assert_eq!(
        task(&l, "task-1").files,
        ["src/components/settings/very/long/NotificationPanel.tsx", "src/app.ts", "tests/panel.test.ts"]
    );
    assert_eq!(l.spans(0).files.len(), 3);
}

#[test]
fn blank_lines_between_entries_keep_the_list_going() {
    let l = read(
        "# P\n\n### Task 1: A\n\n**Files:**\n\n- Create: `a.py`\n\n- Modify: `b.py`\n\n- Test: `t.py`\n\nSome prose.\n\n- not a file\n",
    );
    assert_eq!(task(&l, "task-1").files, ["a.py", "b.py", "t.py"]);
}

#[test]
fn a_quote_between_entries_and_files_already_committed() {
    let l = read(
        "# P\n\n### Task 1: A\n\n**Files:**\n- Create: `migrations/012_runs.sql`\n\n> Numbered 012: `migrations/011_x.sql` lands on\n> another branch.\n- Test: `tests/runs.test.ts`\n- Fixtures (already committed): `tests/fixtures/a.html`, `tests/fixtures/b.html`\n\n> A note after the list.\n\n- not a file\n",
    );
    assert_eq!(task(&l, "task-1").files, ["migrations/012_runs.sql", "tests/runs.test.ts"]);
    assert_eq!(l.spans(0).files.len(), 2);
}

#[test]
fn applying_a_migration_after_a_check_is_not_a_check() {
    let l = read(
        "# P\n\n### Task 1: A\n\n**Files:**\n- Create: `migrations/012_runs.sql`\n\n- [ ] **Step 4: Run test to verify it passes**\n\nRun: `npx vitest run tests/runs.test.ts`\nExpected: PASS.\n\nThen apply it:\n\n```bash\nset -a; source .env.local; set +a\npsql \"$DATABASE_URL\" -f migrations/012_runs.sql\n```\nExpected: `CREATE TABLE`.\n",
    );
    assert_eq!(task(&l, "task-1").verify, ["npx vitest run tests/runs.test.ts"]);
}

#[test]
fn powershell_backtick_continuations_are_one_command() {
    let l = read(
        "# P\n\n### Task 1: A\n\n**Files:**\n- Create: `a.cs`\n\n- [ ] **Step 1: Run the tests**\n\n```powershell\n$env:APP_ENV='Development'\ndotnet test `\n  --project \"tests/A.Tests\" `\n  --no-build\n```\n\nExpected: PASS\n",
    );
    assert_eq!(task(&l, "task-1").verify, ["dotnet test --project \"tests/A.Tests\" --no-build"]);
}

#[test]
fn expected_no_errors_or_pass_is_a_passing_check() {
    let l = read(
        "# P\n\n### Task 1: A\n\n**Files:**\n- Create: `a.ts`\n\n- [ ] **Step 1: Type-check**\n\nRun: `npx tsc --noEmit`\nExpected: No errors\n\n- [ ] **Step 2: Tests**\n\nRun: `npm test`\nExpected: All tests pass\n\n- [ ] **Step 3: Red**\n\nRun: `npx vitest run a`\nExpected: FAIL with \"not defined\"\n",
    );
    assert_eq!(task(&l, "task-1").verify, ["npx tsc --noEmit", "npm test"]);
    assert_eq!(l.spans(0).verify.len(), 2);
}

#[test]
fn a_fenced_block_under_a_verify_step_is_read() {
    let l = read(
        "# P\n\n### Task 1: A\n\n**Files:**\n- Create: `a.ts`\n\n- [ ] **Step 2: Run tests, verify they fail**\n\n```bash\n( cd app && bun test src/a.test.ts )\n```\n\nExpected: FAIL — not exported.\n\n- [ ] **Step 4: Run tests; verify PASS**\n\n```bash\n( cd app && bun test src/a.test.ts )\nbun run lint\n```\n\n- [ ] **Step 5: Commit**\n\n```bash\ngit add src/a.ts\ngit commit -m \"feat: a\"\n```\n",
    );
    assert_eq!(task(&l, "task-1").verify, ["( cd app && bun test src/a.test.ts )", "bun run lint"]);
}

#[test]
fn setup_commands_are_not_checks() {
    let l = read(
        "# P\n\n### Task 1: A\n\n**Files:**\n- Create: `go.mod`\n\n- [ ] **Step 1: Init**\n\nRun: `go mod init shop`\nExpected: go.mod created\n\n- [ ] **Step 2: Dirs**\n\nRun:\n```bash\nmkdir -p pkg/api\ntouch pkg/api/.gitkeep\necho 'x' > notes.txt\nnpm install\n```\n\n- [ ] **Step 3: Verify**\n\nRun:\n```bash\ncd web\nnpm run build\n```\nExpected: build succeeds\n\n- [ ] **Step 4: Commit**\n\nRun: `git add -A && git commit -m \"x\"`\n",
    );
    assert_eq!(task(&l, "task-1").verify, ["cd web && npm run build"]);
}

#[test]
fn level_two_task_plans_without_create_entries_are_superpowers() {
    let dir = tempfile::tempdir().unwrap();
    let plans = dir.path().join("docs/plans");
    std::fs::create_dir_all(&plans).unwrap();
    let text = "# Scaffold Implementation Plan\n\n> **For Claude:** REQUIRED SUB-SKILL: Use superpowers:executing-plans\n\n## Task 1: Config\n\n**Files:**\n- `src/config.ts`\n\n**Step 1: Run it**\n\nRun: `npm test`\nExpected: PASS\n";
    std::fs::write(plans.join("2026-02-01-scaffold.md"), text).unwrap();
    std::fs::write(plans.join("notes.md"), "# Notes\n\nNothing here.\n").unwrap();
    // The file itself, and the repository root it sits in.
    assert_eq!(detect(&plans.join("2026-02-01-scaffold.md")).unwrap().0, Format::Superpowers);
    let (format, found) = detect(dir.path()).unwrap();
    assert_eq!((format, found), (Format::Superpowers, plans.join("2026-02-01-scaffold.md")));
    // A second plan makes the root ambiguous.
    std::fs::write(plans.join("2026-02-02-more.md"), text).unwrap();
    assert!(matches!(planrun_plan::load(dir.path(), None), Err(planrun_plan::LoadError::Ambiguous { .. })));
}

#[test]
fn plans_written_in_chinese_and_japanese_are_read() {
    let l = read(
        "# 计划\n\n## 任务 1：抽离纯函数\n\n**文件：**\n\n- 创建：`src/utils/tree.ts`\n- 测试：`test/tree.test.ts`\n\n- [ ] **步骤 2：运行测试验证失败**\n\n运行：`npx vitest run test/tree.test.ts`\n预期：FAIL，找不到模块\n\n- [ ] **步骤 4：运行测试验证通过**\n\n运行：`npx vitest run test/tree.test.ts`\n预期：PASS\n\n### タスク2: 設定\n\n**ファイル:**\n- 変更: `config.yml`\n\n実行: `make check`\n期待: エラーなし\n",
    );
    assert_eq!(ids(&l), ["task-1", "task-2"]);
    assert_eq!(task(&l, "task-1").files, ["src/utils/tree.ts", "test/tree.test.ts"]);
    assert_eq!(task(&l, "task-1").verify, ["npx vitest run test/tree.test.ts"]);
    assert_eq!(task(&l, "task-2").files, ["config.yml"]);
    assert_eq!(task(&l, "task-2").verify, ["make check"]);
}

#[test]
fn what_cannot_be_read_is_a_located_warning() {
    let l = read(
        "# P\n\n### Task 1: A\n\n**Files:**\n- Modify:\n\n**Depends on:** the config work\n\nRun: the focused test\n\n**Task 2: Bold heading**\n\n### Task B: Lettered\n",
    );
    assert_eq!(codes(&l), ["unread-task", "unread-task", "unread-file", "unread-dependency", "unread-verify"]);
    assert!(l.diagnostics.iter().all(|d| d.span.is_some()));
}

#[test]
fn acceptance_status_and_description_spans() {
    let l = read(
        "# P\n\n### Task 1: A\n\n**Files:**\n- Create: `a.py`\n\n**Acceptance criteria:**\n- [ ] the export has a header row\n- [ ] empty input gives an empty file\n\n- [x] **Step 1: Write it**\n- [x] **Step 2: Commit**\n\n### Task 2: B ✅\n\nNothing.\n",
    );
    let t = task(&l, "task-1");
    assert_eq!(t.acceptance, ["the export has a header row", "empty input gives an empty file"]);
    assert_eq!(t.status, Status::Done, "acceptance boxes are not steps");
    let s = l.spans(0);
    assert_eq!(s.acceptance.len(), 2);
    assert!(s.status.is_some() && s.description.is_some());
    assert!(l.spans(1).status.is_some());
}
