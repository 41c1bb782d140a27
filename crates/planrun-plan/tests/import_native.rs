//! planrun's own formats read from the fixture corpus: clean, messy (CRLF, odd spacing, lenient
//! spellings) and broken files, each snapshotted and with its key facts asserted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use planrun_plan::model::Priority;
use planrun_plan::{Format, Status};

fn codes(loaded: &planrun_plan::Loaded) -> Vec<&'static str> {
    planrun_plan::check(loaded).diagnostics.iter().map(|d| d.code).collect()
}

#[test]
fn markdown_clean() {
    let l = common::load("markdown/clean");
    assert_eq!(l.format, Format::Markdown);
    let ids: Vec<&str> = l.plan.tasks.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["api-search", "web-box", "web-page"]);
    assert_eq!(l.plan.tasks[1].status, Status::Done, "✅ in the heading marks done");
    assert_eq!(l.plan.tasks[2].depends_on, ["api-search", "web-box"]);
    assert_eq!(l.plan.tasks[2].verify, ["npm --prefix web test -- --run Search\nnpm --prefix web run lint"]);
    assert_eq!(l.plan.verify, ["npm --prefix web run build"]);
    assert_eq!(l.plan.tasks[0].acceptance.len(), 2);
    assert!(l.plan.tasks[2].instructions.build.as_deref().unwrap().starts_with("Reuse"));
    assert!(codes(&l).is_empty(), "{:?}", codes(&l));
    insta::assert_json_snapshot!(common::snapshot(&l));
}

#[test]
fn markdown_messy() {
    let l = common::load_as("markdown/messy/plan.md", Format::Markdown);
    let t = &l.plan.tasks;
    assert_eq!(t.len(), 3);
    assert_eq!((t[0].id.as_str(), t[0].title.as_str(), t[0].status), ("one", "Spaced out title", Status::Done));
    assert_eq!(t[0].files, ["src/one.rs", "src/shared/*.rs"]);
    assert!(t[0].depends_on.is_empty(), "`none` is an empty list");
    assert_eq!(t[1].depends_on, ["one", "three"]);
    assert!(t[1].description.contains("Notes: this line is description"));
    assert_eq!(t[2].acceptance, ["first continued", "plain line criterion"]);
    assert_eq!(t[2].verify, ["cargo test three"]);
    assert!(l.plan.context.contains("## Background"), "other sections before the tasks stay in the context");
    let codes = codes(&l);
    for c in ["unknown-section", "ignored-line", "empty-title"] {
        assert!(codes.contains(&c), "{c} missing from {codes:?}");
    }
    insta::assert_json_snapshot!(common::snapshot(&l));
}

#[test]
fn markdown_broken() {
    let l = common::load("markdown/broken/plan.md");
    let checked = planrun_plan::check(&l);
    assert_eq!(checked.errors(), 7);
    insta::assert_json_snapshot!(common::snapshot(&l));
}

#[test]
fn json_clean() {
    let l = common::load("json/clean");
    assert_eq!(l.format, Format::Json);
    assert_eq!(l.plan.verify, ["go vet ./...", "go test ./..."]);
    assert_eq!(l.plan.tasks[0].status, Status::Done);
    assert_eq!(l.plan.tasks[1].agent.as_deref(), Some("codex"));
    assert_eq!(l.plan.tasks[2].milestone.as_deref(), Some("M2"));
    assert!(codes(&l).is_empty(), "{:?}", codes(&l));
    insta::assert_json_snapshot!(common::snapshot(&l));
}

#[test]
fn json_messy() {
    let l = common::load("json/messy/plan.json");
    let t = &l.plan.tasks;
    assert_eq!(l.plan.title, "Migrate the queue");
    assert_eq!(t[0].id, "1", "numeric ids become strings");
    assert_eq!(t[0].files, ["pkg/queue/**"], "a string stands for a one-item list");
    assert_eq!(t[1].depends_on, ["1"], "`dependencies` is accepted");
    assert_eq!(t[1].status, Status::Done, "`completed` means done");
    assert_eq!(t[2].status, Status::Pending);
    let codes = codes(&l);
    assert_eq!(codes.iter().filter(|c| **c == "unknown-field").count(), 1);
    assert_eq!(t[2].priority, Some(Priority::High), "`priority` is read");
    assert!(codes.contains(&"unknown-status"));
    insta::assert_json_snapshot!(common::snapshot(&l));
}

#[test]
fn json_broken_is_a_located_error_not_a_failure() {
    let l = common::load("json/broken/plan.json");
    let checked = planrun_plan::check(&l);
    let syntax = checked.diagnostics.iter().find(|d| d.code == "json-syntax").unwrap();
    assert_eq!(syntax.location(&l.sources).unwrap().line, 6);
    insta::assert_json_snapshot!(common::snapshot(&l));
}

#[test]
fn json_wrong_types_are_reported_where_they_are() {
    let l = common::load("json/wrong-types/plan.json");
    let checked = planrun_plan::check(&l);
    let at = |code: &str| -> Vec<usize> {
        checked.diagnostics.iter().filter(|d| d.code == code).map(|d| d.location(&l.sources).unwrap().line).collect()
    };
    assert_eq!(at("json-shape"), [2, 5, 5, 6, 7]);
    assert_eq!(at("missing-id"), [4]);
    assert_eq!(at("invalid-id"), [7]);
    assert_eq!(at("empty-title"), [5]);
    insta::assert_json_snapshot!(common::snapshot(&l));
}

#[test]
fn detection_prefers_the_file_and_finds_plan_files_in_folders() {
    assert_eq!(planrun_plan::detect(&common::fixture("markdown/clean")).unwrap().0, Format::Markdown);
    assert_eq!(planrun_plan::detect(&common::fixture("json/clean")).unwrap().0, Format::Json);
    assert_eq!(planrun_plan::detect(&common::fixture("json/clean/plan.json")).unwrap().0, Format::Json);
}

fn md(text: &str) -> planrun_plan::Loaded {
    planrun_plan::native::markdown::parse(text, "plan.md")
}

fn warnings_at(l: &planrun_plan::Loaded, code: &str) -> Vec<usize> {
    l.diagnostics.iter().filter(|d| d.code == code).map(|d| d.location(&l.sources).unwrap().line).collect()
}

#[test]
fn markdown_task_heading_at_the_wrong_level_is_reported() {
    let l = md("# P\n\n## Task a: First\n\nDo a.\n\n### Task b: Second\n\nDo b.\n");
    assert_eq!(l.plan.tasks.len(), 1, "a `###` heading starts no task");
    assert_eq!(warnings_at(&l, "unread-task"), [7]);
    let d = l.diagnostics.iter().find(|d| d.code == "unread-task").unwrap();
    assert!(d.message.contains("task `a`"), "{}", d.message);
    assert_eq!(d.help.as_deref(), Some("task headings are `## Task <id>: <title>`"));
    // Ordinary sub-headings are not task headings.
    let l = md("# P\n\n## Task a: First\n\n### Task list\n\n### Tasks\n");
    assert!(warnings_at(&l, "unread-task").is_empty());
}

#[test]
fn markdown_verify_acceptance_and_depends_field_lines_are_read() {
    let l = md(
        "# P\n\n## Task a: A\n\nDo a.\n\n## Task b: B\n\nDepends: `a`\nVerify: `cargo test b`\nAcceptance: b answers 200\n\nDo b.\n\nVerify: npm run lint\nAcceptance: the docs mention b\n",
    );
    let b = &l.plan.tasks[1];
    assert_eq!(b.depends_on, ["a"]);
    assert_eq!(b.verify, ["cargo test b", "npm run lint"]);
    assert_eq!(b.acceptance, ["b answers 200", "the docs mention b"]);
    assert_eq!(b.description, "Do b.");
    assert_eq!(l.spans(1).verify.len(), 2);
    assert_eq!(l.spans(1).acceptance.len(), 2);
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
}

#[test]
fn markdown_label_lists_and_prose_verify_lines() {
    let l = md(
        "# P\n\n## Task a: A\n\nDo a.\n\nAcceptance:\n- [ ] one\n- [ ] two\n\nMore prose.\n\nVerify: the page looks right\nFiles: see the design notes\n",
    );
    let a = &l.plan.tasks[0];
    assert_eq!(a.acceptance, ["one", "two"]);
    assert!(a.verify.is_empty() && a.files.is_empty());
    assert!(a.description.contains("More prose.") && a.description.contains("Verify: the page looks right"));
    assert_eq!(warnings_at(&l, "unread-verify"), [13]);
    assert_eq!(warnings_at(&l, "unread-file"), [14]);
    // A blank line after the label's items ends its list.
    let l = md("# P\n\n## Task a: A\n\nAcceptance:\n\n- one\n\n- a list of the description\n");
    assert_eq!(l.plan.tasks[0].acceptance, ["one"]);
    assert_eq!(l.plan.tasks[0].description, "- a list of the description");
}

#[test]
fn markdown_description_lines_that_look_like_fields_round_trip() {
    let mut plan = md("# P\n\n## Task a: A\n\nx\n").plan;
    plan.tasks[0].description = "Intro.\n\nVerify: by hand\n- Acceptance: none\n\n### Task 2: not a task".to_owned();
    let text = planrun_plan::native::markdown::write(&plan);
    let back = md(&text);
    assert!(back.diagnostics.is_empty(), "{text}\n{:?}", back.diagnostics);
    assert_eq!(back.plan, plan, "{text}");
}

#[test]
fn an_agent_planrun_cannot_run_is_an_error_before_the_run() {
    let l = md("# P\n\n## Task a: Write a\n\nAgent: qwen\nFiles: `a.txt`\n\n## Task b: Write b\n\nAgent: codex\n");
    let checked = planrun_plan::check(&l);
    let unknown: Vec<_> = checked.diagnostics.iter().filter(|d| d.code == "unknown-agent").collect();
    assert_eq!(unknown.len(), 1, "{:?}", checked.diagnostics);
    assert!(unknown[0].message.contains("`qwen`") && unknown[0].severity == planrun_plan::Severity::Error);
    assert!(unknown[0].span.is_some(), "it says where");
}
