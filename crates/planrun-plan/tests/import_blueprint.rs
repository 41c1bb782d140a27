//! The blueprint importer: single plan files, milestone folders and files, `## Milestone`
//! headings, broken plans, detection and robustness against arbitrary input.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::{codes, ids};

use planrun_plan::{Format, LoadError, Loaded, Status};
use proptest::prelude::*;

fn task<'a>(l: &'a Loaded, id: &str) -> &'a planrun_plan::Task {
    match l.plan.task(id) {
        Some(t) => t,
        None => panic!("no task {id} in {:?}", ids(l)),
    }
}

#[test]
fn clean_plan_from_repository_root() {
    let loaded = common::load("blueprint/clean");
    assert_eq!(loaded.format, Format::Blueprint);
    assert!(loaded.root.ends_with("plans/bookmark-api.md"));
    insta::assert_json_snapshot!(common::snapshot(&loaded));

    assert_eq!(loaded.plan.title, "Bookmark API");
    assert_eq!(ids(&loaded), ["step-1", "step-2", "step-3"]);
    assert_eq!(loaded.plan.verify, ["npm test", "npm run lint", "npx tsc --noEmit"], "the dev server is not a check");
    assert_eq!(codes(&loaded), ["toolchain-command-ignored"]);

    let s1 = task(&loaded, "step-1");
    assert_eq!(s1.status, Status::Done);
    assert!(s1.depends_on.is_empty());
    assert_eq!(s1.verify, ["npm test -- db"]);
    assert!(s1.acceptance.contains(&"Running the migrations twice is a no-op".to_owned()));
    assert!(s1.acceptance.contains(&"Migration file is named with a zero-padded sequence number".to_owned()));
    assert!(s1.instructions.build.as_deref().is_some_and(|b| b.contains("src/db/migrate.ts")));
    assert!(s1.instructions.review.as_deref().is_some_and(|r| r.contains("idempotent")));
    assert!(s1.instructions.verify.as_deref().is_some_and(|v| v.contains("- [x] `npm test -- db` passes")));

    let s2 = task(&loaded, "step-2");
    assert_eq!(s2.status, Status::Pending);
    assert_eq!(s2.depends_on, ["step-1"]);
    assert_eq!(s2.files, ["src/routes/bookmarks.ts", "src/validation.ts"]);
    assert_eq!(s2.verify, ["npm test -- bookmarks", "npx tsc --noEmit"]);
    assert!(s2.acceptance.contains(&"Error responses never include a stack trace".to_owned()));
    assert_eq!(task(&loaded, "step-3").depends_on, ["step-2"]);
}

#[test]
fn clean_plan_from_the_file_itself() {
    let loaded = common::load("blueprint/clean/plans/bookmark-api.md");
    assert_eq!(loaded.format, Format::Blueprint);
    assert_eq!(loaded.plan.tasks.len(), 3);
    let forced = common::load_as("blueprint/clean", Format::Blueprint);
    assert_eq!(forced.plan, loaded.plan);
}

#[test]
fn messy_crlf_plan_with_partial_progress() {
    let loaded = common::load("blueprint/messy");
    assert_eq!(loaded.format, Format::Blueprint);
    insta::assert_json_snapshot!(common::snapshot(&loaded));

    assert_eq!(loaded.plan.title, "Migrate CLI config to TOML");
    assert_eq!(ids(&loaded), ["step-1", "step-2", "step-3", "step-4"], "the step inside a code fence is not a step");
    let status: Vec<Status> = loaded.plan.tasks.iter().map(|t| t.status).collect();
    assert_eq!(status, [Status::Done, Status::Done, Status::Pending, Status::Pending]);
    assert_eq!(
        loaded.plan.verify,
        ["cargo test --workspace", "cargo clippy --all-targets -- -D warnings", "cargo fmt --check"]
    );

    let s1 = task(&loaded, "step-1");
    assert_eq!(s1.verify, ["cargo test config::model"]);
    assert_eq!(s1.acceptance.len(), 3);
    assert!(s1.instructions.review.is_some());
    assert!(!s1.title.is_empty(), "a heading without a title takes the objective's first line");

    let s2 = task(&loaded, "step-2");
    assert_eq!(s2.title, "TOML loader");
    assert_eq!(s2.depends_on, ["step-1"]);
    assert!(s2.instructions.build.as_deref().is_some_and(|b| b.contains("### Step 9")));

    let s3 = task(&loaded, "step-3");
    assert_eq!(s3.depends_on, ["step-1", "step-2"]);
    assert!(s3.description.contains("Notes from the spike"), "unknown sections stay in the description");
    assert_eq!(s3.acceptance.len(), 3);

    let s4 = task(&loaded, "step-4");
    assert!(s4.depends_on.is_empty(), "`Dependencies: none` is explicit");
    assert_eq!(s4.verify, ["mdbook build docs"]);
    assert_eq!(s4.acceptance, ["`docs/config.md` shows a TOML example"]);

    assert!(loaded.plan.context.contains("Ship behind no flag"));
    assert_eq!(codes(&loaded), ["checklist-ticked"]);
}

#[test]
fn milestone_folders_of_step_files() {
    let loaded = common::load("blueprint/milestones");
    assert_eq!(loaded.format, Format::Blueprint);
    assert!(loaded.root.ends_with(".blueprint/plans"));
    insta::assert_json_snapshot!(common::snapshot(&loaded));

    assert_eq!(loaded.plan.title, "Shop backend: accounts and billing");
    assert_eq!(ids(&loaded), ["m1-step-1", "m1-step-2", "m2-step-1", "m2-step-2"]);
    let milestones: Vec<Option<&str>> = loaded.plan.tasks.iter().map(|t| t.milestone.as_deref()).collect();
    assert_eq!(milestones, [Some("accounts"), Some("accounts"), Some("billing"), Some("billing")]);
    assert_eq!(task(&loaded, "m1-step-1").status, Status::Done);
    assert_eq!(task(&loaded, "m1-step-2").depends_on, ["m1-step-1"]);
    assert_eq!(task(&loaded, "m2-step-1").depends_on, ["m1-step-2"], "milestones follow each other");
    assert_eq!(task(&loaded, "m2-step-1").title, "Invoices", "a step file without a Step heading is one step");
    assert_eq!(task(&loaded, "m2-step-2").depends_on, ["m1-step-2", "m2-step-1"]);
    assert_eq!(task(&loaded, "m2-step-2").verify, ["uv run pytest tests/billing", "uv run mypy src"]);
    assert_eq!(loaded.plan.verify, ["uv run pytest -q", "uv run ruff check .", "uv run mypy src"]);
    assert!(loaded.plan.context.contains("argon2id"));
}

#[test]
fn one_milestone_folder_on_its_own() {
    let loaded = common::load("blueprint/milestones/.blueprint/plans/01_milestone_accounts");
    assert_eq!(loaded.format, Format::Blueprint);
    assert_eq!(ids(&loaded), ["m1-step-1", "m1-step-2"]);
    assert!(loaded.plan.tasks.iter().all(|t| t.milestone.as_deref() == Some("accounts")));
}

#[test]
fn milestone_files_holding_several_steps() {
    let loaded = common::load("blueprint/milestone_files");
    insta::assert_json_snapshot!(common::snapshot(&loaded));
    assert_eq!(loaded.plan.title, "milestone files");
    assert_eq!(ids(&loaded), ["m1-step-1", "m1-step-2", "m2-step-1", "m2-step-2"]);
    assert_eq!(task(&loaded, "m1-step-2").milestone.as_deref(), Some("Project setup"));
    assert_eq!(task(&loaded, "m2-step-1").depends_on, ["m1-step-1"]);
    assert_eq!(task(&loaded, "m2-step-2").depends_on, ["m2-step-1", "m1-step-2"]);
    assert_eq!(task(&loaded, "m1-step-1").status, Status::Done);
    assert!(loaded.diagnostics.is_empty());
}

#[test]
fn milestone_headings_that_restart_numbering() {
    let loaded = common::load("blueprint/milestone_headings/plan.md");
    insta::assert_json_snapshot!(common::snapshot(&loaded));
    assert_eq!(ids(&loaded), ["m1-step-1", "m1-step-2", "m2-step-1", "m2-step-2"]);
    assert_eq!(task(&loaded, "m2-step-1").depends_on, ["m1-step-2"]);
    assert_eq!(task(&loaded, "m2-step-2").milestone.as_deref(), Some("Push notifications"));
    assert_eq!(task(&loaded, "m2-step-2").status, Status::Done);
}

#[test]
fn broken_plan_yields_located_diagnostics() {
    let loaded = common::load("blueprint/broken");
    insta::assert_json_snapshot!(common::snapshot(&loaded));
    assert_eq!(loaded.plan.tasks.len(), 5, "no step is dropped");
    let checked = planrun_plan::check(&loaded);
    let found: Vec<(&str, usize)> =
        checked.diagnostics.iter().map(|d| (d.code, d.location(&loaded.sources).map_or(0, |l| l.line))).collect();
    for expected in [
        ("toolchain-command-ignored", 8),
        ("missing-step-number", 14),
        ("duplicate-step", 20),
        ("unknown-dependency", 18),
        ("unreadable-dependency", 21),
        ("unknown-status", 22),
        ("self-dependency", 25),
        ("checklist-ticked", 24),
    ] {
        assert!(found.contains(&expected), "missing {expected:?} in {found:?}");
    }
    assert_eq!(ids(&loaded), ["step-1", "step-2-2", "step-2", "step-2", "step-3"]);
    assert_eq!(task(&loaded, "step-3").depends_on, ["step-1", "step-2"]);
    assert_eq!(loaded.plan.verify, ["pytest"]);
}

#[test]
fn several_unrelated_plans_are_ambiguous() {
    match planrun_plan::load(&common::fixture("blueprint/ambiguous"), None) {
        Err(LoadError::Ambiguous { candidates, .. }) => assert_eq!(candidates.len(), 2),
        other => panic!("expected an ambiguity, got {other:?}"),
    }
    let one = common::load("blueprint/ambiguous/plans/search.md");
    assert_eq!(ids(&one), ["step-1"]);
}

#[test]
fn other_markdown_is_not_a_blueprint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.md");
    std::fs::write(&path, "# Notes\n\nStep 1: this is prose, not a heading.\n\n### Steps to reproduce\n").unwrap();
    assert!(planrun_plan::load(&path, None).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text_never_panics(text in "(### ✅? ?Step [0-9]{0,2}[:—]? ?[a-z ]{0,8}\n|Depends on: [a-z0-9 ,-]{0,12}\n|- \\[[ x]\\] `[a-z -]{0,10}`\n|#### Phase [0-4]\n|\\| [a-z ]{0,6} \\| `[a-z]{0,5}` \\|\n|## (Tool Chain|Milestone [0-9])\n|```\n|\r\n|.{0,20}\n){0,30}") {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.md");
        std::fs::write(&path, &text).unwrap();
        let _ = planrun_plan::load(&path, Some(Format::Blueprint));
        let folder = dir.path().join("plans").join("01_milestone_x");
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("01_step.md"), &text).unwrap();
        let _ = planrun_plan::load(dir.path(), Some(Format::Blueprint));
        let _ = planrun_plan::load(dir.path(), None);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.md");
        std::fs::write(&path, &bytes).unwrap();
        let _ = planrun_plan::load(&path, Some(Format::Blueprint));
    }
}

#[test]
fn step_headings_with_symbols_letters_and_words() {
    let loaded = common::load("blueprint/unread_steps/plan.md");
    // `Step 2a` and `🚀 Step 3` are read; `Step Two` is reported where it is, not dropped silently.
    assert_eq!(ids(&loaded), ["step-1", "step-2a", "step-3"]);
    assert_eq!(task(&loaded, "step-3").title, "Deploy");
    let unread: Vec<_> = loaded.diagnostics.iter().filter(|d| d.code == "unread-task").collect();
    assert_eq!(unread.len(), 1, "{:?}", loaded.diagnostics);
    assert_eq!(unread[0].location(&loaded.sources).map(|l| l.line), Some(5));
}

#[test]
fn verify_acceptance_status_and_description_are_located() {
    for rel in ["blueprint/clean", "blueprint/messy/PLAN.md", "blueprint/milestones"] {
        let loaded = common::load(rel);
        for (i, t) in loaded.plan.tasks.iter().enumerate() {
            let spans = loaded.spans(i);
            assert_eq!(spans.verify.len(), t.verify.len(), "{rel} {}", t.id);
            assert_eq!(spans.acceptance.len(), t.acceptance.len(), "{rel} {}", t.id);
            assert_eq!(spans.status.is_some(), t.status == Status::Done, "{rel} {}", t.id);
            if !t.description.is_empty() {
                assert!(spans.description.is_some(), "{rel} {}", t.id);
            }
            for s in spans.verify.iter().chain(&spans.acceptance) {
                let text = loaded.sources.text(s.source).get(s.start..s.end).unwrap_or("");
                assert!(!text.trim().is_empty(), "{rel} {}: empty span", t.id);
            }
        }
    }
}

fn load_text(text: &str) -> Loaded {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.md");
    std::fs::write(&path, text).unwrap();
    planrun_plan::load(&path, Some(Format::Blueprint)).unwrap()
}

#[test]
fn status_field_with_a_checkbox_after_the_checks_and_a_step_log() {
    let loaded = load_text(
        "# P\n\n### Step 1 - Gate\n\n**Verification:**\n\n- `pwsh -File tools/gate.ps1 -Gate` exits 0.\n\
         - The gate names the new stage.\n\n**Status:** `[x] done`\n\n**Step Log:**\n\n\
         - 2026-01-02 - Verification 2/2 PASS.\n\n### Step 2 - Next\n\n**Status:** `[x]` done\n\n\
         ### Step 3 - Later\n\n**Status:** `[ ] todo`\n",
    );
    let s1 = task(&loaded, "step-1");
    assert_eq!(s1.status, Status::Done);
    assert_eq!(s1.verify, ["pwsh -File tools/gate.ps1 -Gate"]);
    assert_eq!(s1.acceptance, ["The gate names the new stage."], "the step log is not a check");
    assert_eq!(task(&loaded, "step-2").status, Status::Done);
    assert_eq!(task(&loaded, "step-3").status, Status::Pending);
}

#[test]
fn a_folder_of_files_named_after_their_steps_is_one_plan() {
    let dir = tempfile::tempdir().unwrap();
    let plans = dir.path().join("plans").join("fixes");
    std::fs::create_dir_all(&plans).unwrap();
    std::fs::write(plans.join("step-1-coverage.md"), "# Step 1: Coverage\n\n**Files:** `src/a.gd`\n").unwrap();
    std::fs::write(plans.join("step-2-seeds.md"), "# Step 2: Seeds\n\nDepends on: Step 1\n").unwrap();
    let loaded = planrun_plan::load(&plans, None).unwrap();
    assert_eq!(ids(&loaded), ["step-1", "step-2"]);
    assert_eq!(task(&loaded, "step-2").depends_on, ["step-1"]);
}

#[test]
fn steps_regrouped_by_state_run_in_number_order_with_created_files() {
    let loaded = load_text(
        "# Report\n\n## Completed Steps\n\n### ✅ Step 1: Setup\n- **Status:** Completed\n- **Files Created:**\n  \
         - `docs/SETUP.md` - guide\n  - Updated `USAGE.md` with keys\n- **Tests:** all pass\n\n### ✅ Step 3: Parse\n\n\
         ## Pending Steps\n\n### ⏳ Step 2: Load\n- **Files Updated:**\n  - `config/app.json`\n",
    );
    assert_eq!(ids(&loaded), ["step-1", "step-2", "step-3"]);
    assert_eq!(task(&loaded, "step-2").depends_on, ["step-1"]);
    assert_eq!(task(&loaded, "step-3").depends_on, ["step-2"]);
    assert_eq!(task(&loaded, "step-1").files, ["docs/SETUP.md", "USAGE.md"]);
    assert_eq!(task(&loaded, "step-2").files, ["config/app.json"]);
}

#[test]
fn renamed_files_and_labels_after_the_file_list() {
    let loaded = load_text(
        "# Rename\n\n### Step 1: Modules\n\n**Files to rename:**\n1. `lib/app/old_store.ex` → `new_store.ex`\n\
         2. `lib/app/old_sync.ex` -> `lib/app/new_sync.ex`\n\n**Module renames:**\n- `App.OldStore` → `App.NewStore`\n\n\
         **References to update:**\n- `lib/app/embeddings.ex` (3 references)\n",
    );
    let s1 = task(&loaded, "step-1");
    assert_eq!(
        s1.files,
        ["lib/app/old_store.ex", "lib/app/new_store.ex", "lib/app/old_sync.ex", "lib/app/new_sync.ex"]
    );
    assert!(s1.description.contains("`App.OldStore` → `App.NewStore`"), "{}", s1.description);
    assert!(s1.description.contains("**References to update:**"));
}

#[test]
fn done_when_lists_verification_routines_and_parallel_notes() {
    let loaded = load_text(
        "# P\n\n## Step 1: Core\n\n### Done when\n\n- Core builds.\n\n## Step 2: Api\n\n\
         **Depends on:** step 1 (`core`). It can run in parallel with step 3.\n\n### Done when\n\n\
         A scratch script shows that:\n- `api.list()` returns 8 names;\n- `api.set(\"x\")` raises.\n\n\
         If lib mode works, also check that\n`api.auto()` raises.\n\n### Verification\n\n\
         1. **Build:** `kmake api`, then the full build.\n2. **Unit tests:** the `api` tests.\n3. **Commit.**\n\n\
         ## Step 3: Docs\n",
    );
    let s2 = task(&loaded, "step-2");
    assert_eq!(s2.depends_on, ["step-1"], "the parallel note names no prerequisite");
    assert_eq!(s2.acceptance, ["`api.list()` returns 8 names;", "`api.set(\"x\")` raises."]);
    assert!(s2.description.contains("A scratch script shows that:"), "{}", s2.description);
    assert!(s2.description.contains("`api.auto()` raises."));
    assert_eq!(s2.verify, ["kmake api"]);
}

#[test]
fn a_verify_task_runs_its_checks_and_skips_the_commit_routine() {
    let loaded = load_text(
        "# P\n\n## Step 1: Healer\n\n### Task 3: Verify, sign off, commit\n\n\
         1. Run `make check`, `git diff --check`, and `godot --headless --path . --quit`.\n\
         2. Manual check with `make play`: form the party.\n\
         3. Stage only the files above, run `git diff --cached --check`, and commit:\n\n   \
         ```bash\n   git add tools/a.gd\n   git diff --cached --check\n   git commit -m \"fix\"\n   ```\n\n\
         4. The log shows one line per run.\n",
    );
    let s1 = task(&loaded, "step-1");
    assert_eq!(s1.verify, ["make check", "git diff --check", "godot --headless --path . --quit"]);
    assert_eq!(s1.acceptance, ["The log shows one line per run."]);
    assert!(s1.instructions.verify.as_deref().is_some_and(|v| v.contains("git commit")));
}

#[test]
fn outcomes_after_commands_decide_verify_or_criterion() {
    let l = load_text(
        "# Plan: X\n\n## Steps\n\n### Step 1: Red test\n\nAdd it.\n\n\
         **Verify**: `npm test -- --grep dots` → **fails**:\nthe parser rejects it. If it\npasses, STOP.\n\n\
         ### Step 2: Fix\n\nFix it.\n\n**Verify**:\n\n- `npm test -- --grep dots` → passes.\n\
         - `grep -n \"OLD_RE\" src/a.ts` → no\n  output.\n- `git status` clean\n- `npm ls vite` shows `6.3.5`\n\n\
         ### Step 3: Gate\n\n**Verify**: `npm run check` → exit 0. Every old test must still pass.\n\n\
         **Manual database checks:**\n\n- 14 tables present\n",
    );
    assert_eq!(ids(&l), ["step-1", "step-2", "step-3"]);
    let t1 = task(&l, "step-1");
    assert!(t1.verify.is_empty(), "{:?}", t1.verify);
    assert_eq!(t1.acceptance, ["`npm test -- --grep dots` → **fails**: the parser rejects it. If it passes, STOP."]);
    let t2 = task(&l, "step-2");
    assert_eq!(t2.verify, ["npm test -- --grep dots"]);
    assert_eq!(
        t2.acceptance,
        ["`grep -n \"OLD_RE\" src/a.ts` → no output.", "`git status` clean", "`npm ls vite` shows `6.3.5`"]
    );
    let t3 = task(&l, "step-3");
    assert_eq!(t3.verify, ["npm run check"]);
    assert_eq!(t3.acceptance, ["Every old test must still pass.", "14 tables present"]);
    for (i, t) in l.plan.tasks.iter().enumerate() {
        assert_eq!(l.spans(i).verify.len(), t.verify.len(), "{}", t.id);
        assert_eq!(l.spans(i).acceptance.len(), t.acceptance.len(), "{}", t.id);
    }
}

#[test]
fn artifacts_are_files_and_a_verification_step_runs_its_labelled_commands() {
    let l = load_text(
        "# Task: X\n\n## Steps\n\n### Step 1: Change\n\n- [ ] Modify `a.tsx`\n\n**Artifacts:**\n\
         - `src/a.tsx` (modified)\n- `src/lib/b.ts` (potentially modified)\n\n\
         ### Step 2: Testing & Verification\n\n> Zero failures.\n\n- [ ] Run web tests: `pnpm test --filter web`\n\
         - [ ] Fix all test failures\n- [ ] Build passes: `pnpm build`\n- [ ] Read `docs/a.md`\n",
    );
    assert_eq!(task(&l, "step-1").files, ["src/a.tsx", "src/lib/b.ts"]);
    assert!(task(&l, "step-1").verify.is_empty());
    assert_eq!(task(&l, "step-2").verify, ["pnpm test --filter web", "pnpm build"]);
    assert!(task(&l, "step-2").acceptance.is_empty());
}

#[test]
fn a_location_after_an_unquoted_path_is_not_part_of_it() {
    let l = load_text(
        "# Plan\n\n### Step 1: Revert the cache\n- **File:** src/main.tsx lines 40-44\n- **Risk:** None\n\n\
         ### Step 2: Badge\n- **Files:** RecipeCard.tsx line 118, src/api.ts (L10-12)\n\n\
         ### Step 3: Prose\n- **File:** the card component\n",
    );
    assert_eq!(task(&l, "step-1").files, ["src/main.tsx"]);
    assert_eq!(task(&l, "step-2").files, ["RecipeCard.tsx", "src/api.ts"]);
    assert!(task(&l, "step-3").files.is_empty());
    let unread: Vec<_> = l.diagnostics.iter().filter(|d| d.code == "unread-file").collect();
    assert_eq!(unread.len(), 1, "{:?}", l.diagnostics);
}

#[test]
fn test_and_implement_bullets_name_files_and_a_validation_bullet_is_verify() {
    let l = load_text(
        "# Plan\n\n## Steps\n\n### Step 1: Sandbox\n\
         - **Test:** `internal/rules/sandbox_test.go` — `load` of an unknown module fails; loops\n  are cancelled.\n\
         - **Implement:** `internal/rules/compile.go`, `pool.go`.\n\
         - **Implement:** `internal/rules/thread.go` — `newThread(cfg Config)`; register in `boot.go` later\n\
         - **Constraint:** step limits are the timeout.\n\
         - **Validation:** `go test -race ./internal/rules/`\n\n\
         ### Step 2: Docs\n- **Test:** `go test ./...` after the change\n- **Validation:** by hand\n",
    );
    let one = task(&l, "step-1");
    assert_eq!(
        one.files,
        [
            "internal/rules/sandbox_test.go",
            "internal/rules/compile.go",
            "internal/rules/pool.go",
            "internal/rules/thread.go"
        ]
    );
    assert_eq!(one.verify, ["go test -race ./internal/rules/"]);
    assert!(one.description.contains("step limits"), "{}", one.description);
    let two = task(&l, "step-2");
    // A command is not a file; a validation bullet without a command runs nothing.
    assert!(two.files.is_empty(), "{:?}", two.files);
    assert!(two.verify.is_empty(), "{:?}", two.verify);
    for (i, t) in l.plan.tasks.iter().enumerate() {
        assert_eq!(l.spans(i).files.len(), t.files.len());
        assert_eq!(l.spans(i).verify.len(), t.verify.len());
    }
}

#[test]
fn a_complete_status_in_the_header_marks_the_steps_done() {
    let done = load_text(
        "# Include paths\n\n> **Status:** Complete\n> **Completed:** 2026-04-12\n\n## Summary\n\nText.\n\n\
         ### Step 1: Spec\nWrite it.\n\n### Step 2: Impl\n**Status:** pending\n",
    );
    assert_eq!(task(&done, "step-1").status, Status::Done);
    // A step's own status wins over the document's.
    assert_eq!(task(&done, "step-2").status, Status::Pending);
    // A status under a section (a handoff's `## Status`) or about a part is not the document's.
    for text in [
        "# Handoff\n\n## Status\n\n- **Status:** Done\n\n### Step 1: Next\nDo it.\n",
        "# Migration\n\n**Status:** ✅ PHASE B COMPLETE\n\n### Step 1: Next\nDo it.\n",
    ] {
        let l = load_text(text);
        assert!(l.plan.tasks.iter().all(|t| t.status == Status::Pending), "{text}");
    }
    // A status written inside a step is that step's only.
    let l = load_text("# Plan\n\n### Step 1: First\nDo it.\n\n**Status:** Complete\n\n### Step 2: Next\nDo it.\n");
    assert_eq!(task(&l, "step-1").status, Status::Done);
    assert_eq!(task(&l, "step-2").status, Status::Pending);
    let l = load_text("# Plan\n\n**Status:** ✅ Done\n\n### Step 1: First\nDo it.\n");
    assert_eq!(task(&l, "step-1").status, Status::Done);
}

#[test]
fn done_when_bullet_among_step_fields_is_acceptance() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.md");
    std::fs::write(
        &path,
        "# Plan\n\n## Step 1: Probe\n\n- **Problem:** add a probe.\n- **Status:** DONE (2026-05-02)\n- **Done when:** the probe answers; a marker is written.\n",
    )
    .unwrap();
    let loaded = planrun_plan::load(&path, Some(Format::Blueprint)).unwrap();
    let task = &loaded.plan.tasks[0];
    assert_eq!(task.acceptance, ["the probe answers; a marker is written."]);
    assert_eq!(task.status, Status::Done);
}
