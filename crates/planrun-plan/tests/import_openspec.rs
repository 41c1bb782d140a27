//! The OpenSpec importer against its fixtures: a clean change, a messy one (CRLF, odd spacing,
//! unnumbered items, nested checkboxes, fields), a broken one, several active changes; detection
//! from every entry point; and arbitrary input that must never panic.
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

/// Code and line of every diagnostic.
fn diags(loaded: &Loaded) -> Vec<(&'static str, usize)> {
    loaded.diagnostics.iter().map(|d| (d.code, d.location(&loaded.sources).map_or(0, |l| l.line))).collect()
}

const CLEAN_CHANGE: &str = "openspec/clean/openspec/changes/add-two-factor-auth";

#[test]
fn clean_change() {
    let loaded = common::load("openspec/clean");
    insta::assert_json_snapshot!(common::snapshot(&loaded));
    assert_eq!(loaded.format, Format::Openspec);
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    assert_eq!(loaded.root, common::fixture(CLEAN_CHANGE));
    assert_eq!(loaded.plan.title, "Add two-factor authentication");
    let context = &loaded.plan.context;
    assert!(context.starts_with("Why:\nAccounts with only a password"), "{context}");
    assert!(context.contains("What Changes:\n- Add TOTP enrolment"));
    assert!(!context.contains("Affected specs"), "the Impact section is left in the file");
    assert!(context.contains("- design: `openspec/changes/add-two-factor-auth/design.md` (sections: Context,"));
    assert!(context.contains("- spec deltas: `openspec/changes/add-two-factor-auth/specs/` (auth)"));
    assert_eq!(ids(&loaded), vec!["1.1", "1.2", "2.1", "2.2", "2.3", "3.1", "3.2", "4.1", "4.2"]);
    assert_eq!(done(&loaded), vec!["1.1", "1.2"]);
    // File order: each task depends on the one before it, across groups.
    assert!(deps(&loaded, "1.1").is_empty());
    assert_eq!(deps(&loaded, "2.1"), vec!["1.2"]);
    assert_eq!(deps(&loaded, "4.2"), vec!["4.1"]);
    assert_eq!(loaded.plan.task("2.3").and_then(|t| t.milestone.as_deref()), Some("2. Backend"));
    // The archived change is not read.
    assert!(loaded.plan.tasks.iter().all(|t| !t.title.contains("reset")));
    for spans in &loaded.task_spans {
        assert!(spans.id.is_some() && spans.title.is_some() && spans.task.is_some());
    }
}

#[test]
fn messy_change() {
    let loaded = common::load("openspec/messy");
    insta::assert_json_snapshot!(common::snapshot(&loaded));
    // No `#` heading in the proposal and a generic one in tasks.md: the folder name.
    assert_eq!(loaded.plan.title, "Offline sync queue");
    let context = &loaded.plan.context;
    assert!(
        context.contains("… (cut short; the full proposal is in `openspec/changes/offline-sync-queue/proposal.md`)")
    );
    assert!(context.contains("Work top to bottom"));
    assert!(context.contains("Notes:\nKeep each PR under 400 lines."));
    assert!(!context.contains('\r'));
    assert!(!context.contains("- design:"), "there is no design.md");
    assert_eq!(ids(&loaded), vec!["1.1", "1.2", "1.3", "2.1", "2.2", "2.3", "2.4", "3.1", "3.2"]);
    assert_eq!(done(&loaded), vec!["1.1", "1.2", "3.2"]);
    let milestones: Vec<&str> = loaded.plan.tasks.iter().filter_map(|t| t.milestone.as_deref()).collect();
    assert_eq!(milestones.first(), Some(&"1. Storage"));
    assert_eq!(milestones.last(), Some(&"Docs"));
    let t12 = loaded.plan.task("1.2");
    assert_eq!(
        t12.map(|t| (t.files.clone(), t.description.as_str())),
        Some((
            vec!["web/src/sync/queue.ts".to_owned(), "web/src/sync/queue.test.ts".to_owned()],
            "- keep payloads under 64 KB"
        ))
    );
    let t21 = loaded.plan.task("2.1");
    assert!(
        t21.is_some_and(|t| t.description.contains("## not a heading") && t.description.starts_with("Use exponential"))
    );
    // Nested checkboxes stay in the description and do not become tasks.
    assert!(loaded.plan.task("2.2").is_some_and(|t| t.description.contains("- [x] 2.2.2 show")));
    assert_eq!(
        loaded.plan.task("2.4").map(|t| t.verify.clone()),
        Some(vec!["pnpm vitest run web/src/sync".to_owned()])
    );
    assert_eq!(deps(&loaded, "2.4"), vec!["2.1", "2.2"]);
    assert_eq!(deps(&loaded, "2.3"), vec!["2.2"]);
    assert_eq!(deps(&loaded, "3.1"), vec!["2.4"]);
    assert_eq!(diags(&loaded), vec![("unknown-mark", 21)]);
}

#[test]
fn broken_change() {
    let loaded = common::load("openspec/broken");
    insta::assert_json_snapshot!(common::snapshot(&loaded));
    assert_eq!(diags(&loaded), vec![("missing-title", 7), ("unknown-mark", 9), ("no-checkbox", 10)]);
    assert_eq!(ids(&loaded), vec!["0.1", "1.1", "1.2", "1.1", "1.3", "1.4", "2.1", "2.2"]);
    assert_eq!(loaded.plan.task("0.1").and_then(|t| t.milestone.as_deref()), None);
    // An explicit dependency replaces file order; an unknown one is left for validation.
    assert_eq!(deps(&loaded, "1.4"), vec!["9.9"]);
    assert_eq!(loaded.task_spans.get(5).map(|s| s.depends_on.len()), Some(1));
    assert_eq!(done(&loaded), vec!["2.2"]);
    // No proposal: the title comes from the change folder.
    assert_eq!(loaded.plan.title, "Fix export");
}

#[test]
fn several_active_changes_are_ambiguous() {
    let root = common::fixture("openspec/two-changes");
    for path in [root.clone(), root.join("openspec"), root.join("openspec/changes")] {
        match detect(&path) {
            Err(LoadError::Ambiguous { candidates, .. }) => assert_eq!(candidates.len(), 2),
            other => panic!("{}: expected ambiguity, got {other:?}", path.display()),
        }
    }
    let one = planrun_plan::load(&root.join("openspec/changes/drop-legacy-api"), None).unwrap();
    assert_eq!(ids(&one), vec!["1.1"]);
}

#[test]
fn detected_from_every_entry_point() {
    let root = common::fixture("openspec/clean");
    let change = common::fixture(CLEAN_CHANGE);
    for (path, expected) in [
        (root.clone(), change.clone()),
        (root.join("openspec"), change.clone()),
        (root.join("openspec/changes"), change.clone()),
        (change.clone(), change.clone()),
        (change.join("tasks.md"), change.join("tasks.md")),
        (change.join("proposal.md"), change.clone()),
        (common::fixture("openspec/messy"), common::fixture("openspec/messy/openspec/changes/offline-sync-queue")),
    ] {
        match detect(&path) {
            Ok((format, found)) => {
                assert_eq!(format, Format::Openspec, "{}", path.display());
                assert_eq!(found, expected);
            }
            Err(e) => panic!("{}: {e}", path.display()),
        }
    }
    let from_file = common::load(&format!("{CLEAN_CHANGE}/tasks.md"));
    assert_eq!(from_file.plan, common::load("openspec/clean").plan);
}

fn write(dir: &Path, rel: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_tasks_file_elsewhere_is_sniffed_by_content() {
    let dir = tempfile::tempdir().unwrap();
    let ours = write(dir.path(), "notes/tasks.md", "## 1. Setup\n- [ ] 1.1 Create the module\n- [x] 1.2 Wire it up\n");
    assert_eq!(detect(&ours).map(|(f, _)| f).ok(), Some(Format::Openspec));
    let loaded = planrun_plan::load(&ours, None).unwrap();
    assert_eq!(ids(&loaded), vec!["1.1", "1.2"]);
    assert_eq!(loaded.plan.title, "Notes");
    // spec-kit's tasks.md is not OpenSpec.
    let speckit = write(
        dir.path(),
        "specs/001/tasks.md",
        "## Phase 1: Setup\n- [ ] T001 [P] Create project\n- [ ] T002 Add lint\n",
    );
    assert_ne!(detect(&speckit).map(|(f, _)| f).ok(), Some(Format::Openspec));
    // Numbered checkboxes without `## 1.` groups are not enough outside a change folder.
    let bare = write(dir.path(), "todo/tasks.md", "# Todo\n- [ ] 1.1 Something\n");
    assert_ne!(detect(&bare).map(|(f, _)| f).ok(), Some(Format::Openspec));
    // Another format's task headings are not OpenSpec even with numbered checkboxes.
    let other = write(dir.path(), "plan/tasks.md", "## 1. Setup\n### Task 1: Create\n- [ ] 1.1 step\n");
    assert_ne!(detect(&other).map(|(f, _)| f).ok(), Some(Format::Openspec));
}

#[test]
fn only_archived_or_proposed_changes_are_not_a_plan() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "openspec/changes/archive/2025-01-01-old/tasks.md", "## 1. Old\n- [x] 1.1 Done\n");
    write(dir.path(), "openspec/changes/new-idea/proposal.md", "# Change: New idea\n");
    assert_ne!(detect(dir.path()).map(|(f, _)| f).ok(), Some(Format::Openspec));
    assert!(planrun_plan::load(dir.path(), Some(Format::Openspec)).is_err());
}

#[test]
fn items_outside_groups_and_invalid_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = b"- [ ] Write the plan\n- [ ] Check it \xff\n## Build\n- [ ] Do it\n".to_vec();
    bytes.extend_from_slice(b"  - Persona: Engineer\n  - Acceptance: it works\n  - Verify: by hand\n");
    let path = dir.path().join("openspec/changes/x/tasks.md");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    let loaded = planrun_plan::load(dir.path(), None).unwrap();
    assert_eq!(ids(&loaded), vec!["task-1", "task-2", "1.1"]);
    assert_eq!(deps(&loaded, "1.1"), vec!["task-2"]);
    let last = loaded.plan.task("1.1");
    assert_eq!(last.and_then(|t| t.persona.as_deref()), Some("engineer"));
    assert_eq!(last.map(|t| t.acceptance.clone()), Some(vec!["it works".to_owned(), "by hand".to_owned()]));
    assert!(last.is_some_and(|t| t.verify.is_empty()));
    assert_eq!(loaded.diagnostics.iter().map(|d| d.code).collect::<Vec<_>>(), vec!["not-utf8"]);
}

#[test]
fn derived_ids_do_not_collide_with_written_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path =
        write(dir.path(), "openspec/changes/x/tasks.md", "## 1. A\n- [ ] First\n- [ ] 1.1 Second\n- [ ] Third\n");
    let loaded = planrun_plan::load(&path, None).unwrap();
    assert_eq!(ids(&loaded), vec!["1.2", "1.1", "1.3"]);
}

/// Lines in the shapes the reader cares about, so generated inputs exercise groups, items,
/// nesting, fields and fences rather than plain text.
fn tasksish() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        "#{1,3} ?[0-9]{0,2}\\.? ?[A-Za-z ]{0,10}",
        "[ \t]{0,6}[-*+] ?\\[[ xX~?✓]{0,2}\\]? ?(\\*\\*)?[0-9]{0,2}(\\.[0-9]{0,2}){0,2}\\.?(\\*\\*)? ?[A-Za-z `]{0,12}",
        "[ \t]{0,4}-? ?(Files|Depends on|Verify|Acceptance|Persona): ?[`a-z0-9., ]{0,16}",
        "[ ]{0,4}(```|~~~)[a-z]{0,3}",
        "[A-Za-zé✅ :]{0,20}",
    ];
    (prop::collection::vec(line, 0..40), any::<bool>())
        .prop_map(|(lines, crlf)| lines.join(if crlf { "\r\n" } else { "\n" }))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_input_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..1024), text in tasksish()) {
        let dir = tempfile::tempdir().unwrap();
        let change = dir.path().join("openspec/changes/c");
        std::fs::create_dir_all(&change).unwrap();
        std::fs::write(change.join("tasks.md"), &text).unwrap();
        std::fs::write(change.join("proposal.md"), &bytes).unwrap();
        std::fs::write(change.join("design.md"), &text).unwrap();
        let _ = planrun_plan::load(dir.path(), None);
        let _ = planrun_plan::load(dir.path(), Some(Format::Openspec));
        std::fs::write(change.join("tasks.md"), &bytes).unwrap();
        std::fs::write(change.join("proposal.md"), &text).unwrap();
        let _ = planrun_plan::load(&change.join("tasks.md"), Some(Format::Openspec));
        let _ = detect(&change.join("proposal.md"));
    }
}

/// Writes `text` as the tasks of a change and reads it.
fn read_change(text: &str) -> Loaded {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "openspec/changes/add-x/tasks.md", text);
    planrun_plan::load(dir.path(), None).unwrap()
}

fn codes(l: &Loaded) -> Vec<&'static str> {
    l.diagnostics.iter().map(|d| d.code).collect()
}

#[test]
fn verify_prose_is_a_criterion_and_only_real_commands_are_run() {
    let l = read_change(
        "## 1. Core\n- [ ] 1.1 Add the flag\n  - Verify: `foo` returns `bar` when `baz` is set\n- [ ] 1.2 Build it\n  - Verify: `pnpm build` succeeds and `dist/index.js` exists\n- [ ] 1.3 Validate the change\n  - Verify: `openspec validate add-x --strict`\n\
         - [ ] 1.4 Check the docs\n  - Verify: `mdcheck docs/`\n",
    );
    let t = &l.plan.tasks;
    assert!(t[0].verify.is_empty(), "{:?}", t[0].verify);
    assert_eq!(t[0].acceptance, ["`foo` returns `bar` when `baz` is set"]);
    assert_eq!(t[1].verify, ["pnpm build"]);
    assert!(t[1].acceptance.is_empty());
    // The change's own validator is a command in an OpenSpec plan.
    assert_eq!(t[2].verify, ["openspec validate add-x --strict"]);
    assert!(t[3].verify.is_empty());
    assert_eq!(t[3].acceptance, ["`mdcheck docs/`"]);
    assert_eq!(codes(&l), ["unread-verify"]);
    let s = l.spans(1).verify[0];
    assert_eq!(&l.sources.text(s.source)[s.start..s.end], "pnpm build");
    assert_eq!(l.spans(0).acceptance.len(), 1);
}

#[test]
fn field_lists_spans_and_unreadable_fields() {
    let l = read_change(
        "## 1. Core\n- [x] 1.1 Add the flag\n  - Acceptance criteria:\n    - GIVEN a user\n    - THEN it works\n  - Test plan:\n    - Run: `npm test -- flag`\n  - Files: the config module\n  - Depends on: the database work\n  - Some note\n",
    );
    let t = &l.plan.tasks[0];
    assert_eq!(t.acceptance, ["GIVEN a user", "THEN it works"]);
    assert_eq!(t.verify, ["npm test -- flag"]);
    assert!(t.files.is_empty() && t.depends_on.is_empty());
    assert_eq!(t.description, "- Some note");
    assert_eq!(codes(&l), ["unread-file", "unread-dependency"]);
    let spans = l.spans(0);
    let s = spans.status.unwrap();
    assert_eq!(&l.sources.text(s.source)[s.start..s.end], "[x]");
    assert!(spans.description.is_some());
    assert_eq!(spans.acceptance.len(), 2);
}

#[test]
fn numbered_headings_are_the_tasks_when_there_are_no_items() {
    let l = read_change(
        "# Tasks\n\nRun in order.\n\n## 1. ✅ Save the clippings\n\n**Files (2 new):**\n\n- `notes/a.md`\n\
         - `notes/b.md` — `title` updated.\n\n**Acceptance:** Both files have front matter.\n\n\
         ### Hashes\n\n- `a.md`: `abc123`\n\n## 2. Restructure the README\n\n**File (1 modified):** `README.md`\n\n\
         ## 3. Run the validator\n\n**Command:**\n\n```bash\nopenspec validate add-x --strict\n```\n\n\
         **Acceptance:** Exit code 0.\n",
    );
    assert_eq!(ids(&l), ["1", "2", "3"]);
    let t = &l.plan.tasks;
    assert_eq!(t[0].status, Status::Done);
    assert_eq!(t[0].title, "Save the clippings");
    assert_eq!(t[0].files, ["notes/a.md", "notes/b.md"]);
    assert_eq!(t[0].acceptance, ["Both files have front matter."]);
    assert!(t[0].description.contains("Hashes"));
    assert_eq!(t[1].status, Status::Pending);
    assert_eq!(t[1].files, ["README.md"]);
    assert_eq!(deps(&l, "2"), ["1"]);
    assert_eq!(t[2].verify, ["openspec validate add-x --strict"]);
    assert_eq!(t[2].acceptance, ["Exit code 0."]);
    assert!(codes(&l).is_empty(), "{:?}", l.diagnostics);
    for (i, t) in t.iter().enumerate() {
        assert_eq!(l.spans(i).files.len(), t.files.len());
        assert_eq!(l.spans(i).verify.len(), t.verify.len());
    }
}

#[test]
fn a_lettered_id_is_the_task_inserted_after_its_number() {
    let l = read_change(
        "## 1. Build\n\n- [x] 1.3 Write the generator\n\n- [ ] 1.3a Split the name fixes out\n  - keep them apart\n\n\
         - [ ] **1.3b.** Check the split\n- [ ] 1.4 Report\n  - Depends on: 1.3a\n",
    );
    assert_eq!(ids(&l), ["1.3", "1.3a", "1.3b", "1.4"]);
    assert_eq!(l.plan.tasks[1].title, "Split the name fixes out");
    assert_eq!(deps(&l, "1.3a"), ["1.3"]);
    assert_eq!(deps(&l, "1.3b"), ["1.3a"]);
    assert_eq!(deps(&l, "1.4"), ["1.3a"]);
    assert!(codes(&l).is_empty(), "{:?}", l.diagnostics);
}

#[test]
fn front_matter_is_not_context() {
    let l = read_change(
        "---\nticket: LIC-1\nupdated:\n  - date: '2026-03-02'\n---\n# Tasks\n\n## 1. Build\n- [ ] 1.1 Do it\n",
    );
    assert_eq!(ids(&l), ["1.1"]);
    assert!(!l.plan.context.contains("LIC-1"), "{}", l.plan.context);
}
