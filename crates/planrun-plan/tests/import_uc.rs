//! The uc task-folder importer: plan folders, one task.md, progress carried over from README
//! index marks, status lines and checkpoints, broken folders, detection and robustness.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::ids;

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
    let loaded = common::load("uc/clean");
    assert_eq!(loaded.format, Format::Uc);
    assert!(loaded.root.ends_with("documentation/plans/session-auth"));
    insta::assert_json_snapshot!(common::snapshot(&loaded));

    assert_eq!(loaded.plan.title, "Session-based authentication");
    assert_eq!(ids(&loaded), ["task-1", "task-2", "task-3"]);
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);

    let t1 = task(&loaded, "task-1");
    assert_eq!(t1.status, Status::Done);
    assert!(t1.depends_on.is_empty());
    assert_eq!(t1.files, ["src/session/store.ts", "src/session/index.ts"]);
    assert_eq!(t1.acceptance.len(), 2);
    assert!(
        t1.description.contains("documentation/technology/research/redis-node-client.md"),
        "research pointers stay visible"
    );
    assert!(t1.description.contains("src/cache/redis.ts"), "patterns stay visible");

    let t2 = task(&loaded, "task-2");
    assert_eq!(t2.status, Status::Pending);
    assert_eq!(t2.depends_on, ["task-1"]);
    assert_eq!(t2.files, ["src/routes/auth.ts", "src/app.ts"]);
    assert_eq!(task(&loaded, "task-3").depends_on, ["task-1", "task-2"]);
}

#[test]
fn plan_folder_tasks_folder_and_readme_all_detect() {
    let plan = "uc/clean/documentation/plans/session-auth";
    for rel in
        [plan.to_owned(), format!("{plan}/tasks"), format!("{plan}/README.md"), "uc/clean/documentation".to_owned()]
    {
        let loaded = common::load(&rel);
        assert_eq!(loaded.format, Format::Uc, "{rel}");
        assert!(loaded.root.ends_with("session-auth"), "{rel}: {}", loaded.root.display());
        assert_eq!(loaded.plan.tasks.len(), 3, "{rel}");
    }
}

#[test]
fn a_single_task_file_is_a_one_task_plan() {
    let loaded = common::load("uc/clean/documentation/plans/session-auth/tasks/task-2/task.md");
    assert_eq!(loaded.format, Format::Uc);
    insta::assert_json_snapshot!(common::snapshot(&loaded));
    assert_eq!(ids(&loaded), ["task-2"]);
    assert_eq!(loaded.plan.title, "Login and logout routes");
    assert!(loaded.plan.tasks[0].depends_on.is_empty());
    let d = &loaded.diagnostics[0];
    assert_eq!(d.code, "dependency-outside-plan");
    assert_eq!(d.location(&loaded.sources).map(|l| (l.line, l.column)), Some((19, 19)));
    let folder = common::load("uc/clean/documentation/plans/session-auth/tasks/task-2");
    assert_eq!(folder.plan, loaded.plan);
}

#[test]
fn messy_plan_carries_over_progress_from_every_record() {
    let loaded = common::load("uc/messy");
    assert_eq!(loaded.format, Format::Uc);
    insta::assert_json_snapshot!(common::snapshot(&loaded));

    assert_eq!(loaded.plan.title, "Full-text search");
    assert_eq!(ids(&loaded), ["task-1", "task-2", "task-3", "task-4", "task-10"], "natural order");
    let status: Vec<Status> = loaded.plan.tasks.iter().map(|t| t.status).collect();
    // task-1: [x] in the README; task-2: checkpoint (over its stale status line); task-4: ✅
    // title and checkpoint; task-3 has only an impl.md, which is not proof of passing.
    assert_eq!(status, [Status::Done, Status::Done, Status::Pending, Status::Done, Status::Pending]);

    let t1 = task(&loaded, "task-1");
    assert_eq!(t1.title, "Tokenizer");
    assert!(t1.depends_on.is_empty());
    assert_eq!(t1.files, ["src/search/tokenizer.rs", "src/search/stopwords.txt"]);
    assert_eq!(t1.acceptance.len(), 2);
    assert!(t1.description.contains("unicode-segmentation.md"));

    let t2 = task(&loaded, "task-2");
    assert_eq!(t2.depends_on, ["task-1"]);
    assert_eq!(t2.files, ["src/search/index.rs", "src/search/mod.rs"]);
    assert!(t2.description.starts_with("Write an inverted index"));
    assert!(t2.description.contains("Notes for reviewer"));
    assert_eq!(t2.acceptance[1], "SC-2: a crash mid-write leaves the previous segment readable");

    let t3 = task(&loaded, "task-3");
    assert_eq!(t3.title, "Query parser", "title from the README index when task.md has none");
    assert_eq!(t3.depends_on, ["task-2"], "no dependency line: after the previous task");
    assert_eq!(t3.acceptance.len(), 2);
    assert_eq!(task(&loaded, "task-4").depends_on, ["task-2", "task-3"]);
    assert_eq!(task(&loaded, "task-10").depends_on, ["task-3", "task-4"]);
    assert!(task(&loaded, "task-10").description.contains("mdbook.md"));

    let codes: Vec<&str> = loaded.diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(codes, ["unconfirmed-implementation"]);
}

#[test]
fn broken_plan_yields_located_diagnostics() {
    let loaded = common::load("uc/broken");
    insta::assert_json_snapshot!(common::snapshot(&loaded));
    assert_eq!(ids(&loaded), ["task-1", "task-2", "task-3"], "a folder without task.md is still a task");
    let checked = planrun_plan::check(&loaded);
    let found: Vec<(&str, String, usize)> = checked
        .diagnostics
        .iter()
        .map(|d| {
            let loc = d.location(&loaded.sources);
            let file =
                loc.as_ref().map(|l| l.file.rsplit("billing/").next().unwrap_or("").to_owned()).unwrap_or_default();
            (d.code, file, loc.map_or(0, |l| l.line))
        })
        .collect();
    for (code, file, line) in [
        ("unreadable-checkpoint", "checkpoint.json", 1),
        ("unknown-status", "tasks/task-1/task.md", 3),
        ("missing-task-file", "README.md", 6),
        ("missing-task-folder", "README.md", 7),
        ("unknown-dependency", "tasks/task-2/task.md", 5),
        ("self-dependency", "tasks/task-2/task.md", 5),
    ] {
        assert!(
            found.iter().any(|f| f.0 == code && f.1 == file && f.2 == line),
            "missing {code} at {file}:{line} in {found:?}"
        );
    }
    assert_eq!(task(&loaded, "task-2").depends_on, ["task-1", "task-9"]);
    assert_eq!(task(&loaded, "task-3").title, "Email invoices");
    assert!(loaded.plan.tasks.iter().all(|t| t.status == Status::Pending));
}

#[test]
fn several_plans_are_ambiguous() {
    for rel in ["uc/ambiguous", "uc/ambiguous/documentation", "uc/ambiguous/documentation/plans"] {
        match planrun_plan::load(&common::fixture(rel), None) {
            Err(LoadError::Ambiguous { candidates, .. }) => assert_eq!(candidates.len(), 2),
            other => panic!("{rel}: expected an ambiguity, got {other:?}"),
        }
    }
    let one = common::load("uc/ambiguous/documentation/plans/beta");
    assert_eq!(one.plan.tasks[0].title, "Start beta");
}

#[test]
fn checkpoint_formats() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("documentation/plans/p");
    for n in 1..=5 {
        let t = plan.join(format!("tasks/task-{n}"));
        std::fs::create_dir_all(&t).unwrap();
        std::fs::write(t.join("task.md"), format!("# Task {n}: T{n}\n\nDo {n}.\n")).unwrap();
    }
    std::fs::create_dir_all(plan.join("checkpoints")).unwrap();
    std::fs::write(
        plan.join("checkpoints/checkpoint-1.md"),
        "# Checkpoint\n\n## Completed\n- task-1\n- task-2\n\n## In progress\n- task-3\n",
    )
    .unwrap();
    std::fs::write(
        plan.join("plan.json"),
        r#"{"tasks": {"task-4": {"status": "completed", "usage_start": 12}, "task-5": {"status": "in_progress"}}}"#,
    )
    .unwrap();
    let loaded = planrun_plan::load(dir.path(), None).unwrap();
    let status: Vec<Status> = loaded.plan.tasks.iter().map(|t| t.status).collect();
    assert_eq!(status, [Status::Done, Status::Done, Status::Pending, Status::Done, Status::Pending]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text_never_panics(text in "(# ✅? ?Task [0-9]{0,2}:? ?[a-z ]{0,8}\n|\\*\\*(Files|Dependencies|Status|Research):\\*\\* [a-z0-9 ,`-]{0,12}\n|- \\[[ x]\\] [a-z -]{0,10}\n|## (Success Criteria|Files|Dependencies|Notes)\n|```\n|\r\n|.{0,20}\n){0,30}", readme in ".{0,80}", checkpoint in ".{0,80}") {
        let dir = tempfile::tempdir().unwrap();
        let plan = dir.path().join("documentation/plans/p");
        let t = plan.join("tasks/task-1");
        std::fs::create_dir_all(&t).unwrap();
        std::fs::write(t.join("task.md"), &text).unwrap();
        std::fs::write(plan.join("README.md"), &readme).unwrap();
        std::fs::write(plan.join("checkpoint.json"), &checkpoint).unwrap();
        std::fs::write(plan.join("checkpoint.md"), &text).unwrap();
        let _ = planrun_plan::load(dir.path(), None);
        let _ = planrun_plan::load(&t.join("task.md"), Some(Format::Uc));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path().join("tasks/task-1");
        std::fs::create_dir_all(&t).unwrap();
        std::fs::write(t.join("task.md"), &bytes).unwrap();
        std::fs::write(dir.path().join("checkpoint.json"), &bytes).unwrap();
        let _ = planrun_plan::load(dir.path(), Some(Format::Uc));
    }
}

#[test]
fn unreadable_files_items_and_dependency_lines_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("documentation/plans/p");
    let t1 = plan.join("tasks/task-1");
    let t2 = plan.join("tasks/task-2");
    std::fs::create_dir_all(&t1).unwrap();
    std::fs::create_dir_all(&t2).unwrap();
    std::fs::write(t1.join("task.md"), "# Task 1: One\n\n**Dependencies:** None\n\nDo one.\n").unwrap();
    std::fs::write(
        t2.join("task.md"),
        "# Task 2: Two\n\n**Dependencies:** after the auth work lands\n\n## Files\n\n- `src/two.rs`\n- the config loader\n\nDo two.\n",
    )
    .unwrap();
    let l = planrun_plan::load(&plan, None).unwrap();
    assert_eq!(task(&l, "task-2").files, ["src/two.rs"]);
    let at = |code: &str| -> Vec<usize> {
        l.diagnostics.iter().filter(|d| d.code == code).map(|d| d.location(&l.sources).unwrap().line).collect()
    };
    assert_eq!(at("unread-dependency"), [3]);
    assert_eq!(at("unread-file"), [8]);
    // The brief after an inline `**Dependencies:** None` is the description, not lost.
    assert_eq!(task(&l, "task-1").description, "Do one.");
    assert!(task(&l, "task-1").depends_on.is_empty());
    // `None` is no dependency and no warning.
    assert!(!l.diagnostics.iter().any(|d| d.code == "unread-dependency" && d.message.contains("None")));
}

#[test]
fn spans_cover_acceptance_status_and_description() {
    let dir = tempfile::tempdir().unwrap();
    let t1 = dir.path().join("documentation/plans/p/tasks/task-1");
    std::fs::create_dir_all(&t1).unwrap();
    std::fs::write(
        t1.join("task.md"),
        "# Task 1: One\n\n**Status:** done\n\n## Description\n\nDo one.\n\n## Success Criteria\n\n- [ ] first\n- [ ] second\n  continued\n",
    )
    .unwrap();
    let l = planrun_plan::load(&dir.path().join("documentation/plans/p"), None).unwrap();
    assert_eq!(task(&l, "task-1").acceptance, ["first", "second continued"]);
    let s = l.spans(0);
    let line = |span: planrun_plan::Span| l.sources.line_col(span.source, span.start).0;
    assert_eq!(s.acceptance.iter().map(|&x| line(x)).collect::<Vec<_>>(), [11, 12]);
    assert_eq!(line(s.status.unwrap()), 3);
    assert_eq!(line(s.description.unwrap()), 7);
}
