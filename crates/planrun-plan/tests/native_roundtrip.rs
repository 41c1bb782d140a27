//! Property tests: planrun's own formats round-trip losslessly. Any plan the model can hold
//! (normalised as every reader normalises it) is written, read back and compared, in markdown and
//! in JSON, and converting between the two keeps the plan.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use planrun_plan::model::{self, Instructions, Plan, Priority, Status, Task};
use planrun_plan::native::{json, markdown};
use proptest::prelude::*;
use std::collections::HashSet;

/// One line of free text, including characters that mean something in markdown.
fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 ,.!?()'\"-]{0,30}",
        "[#`*_\\[\\]:>|~\\\\ a-z]{0,12}",
        Just("## Task x: looks like a task".to_owned()),
        Just("### Acceptance".to_owned()),
        Just("### Verify".to_owned()),
        Just("# Title".to_owned()),
        Just("  ## indented heading".to_owned()),
        Just("\\## already escaped".to_owned()),
        Just("Files: `src/**`".to_owned()),
        Just("Status: done".to_owned()),
        Just("- Depends on: a".to_owned()),
        Just("- [ ] a checkbox".to_owned()),
        Just("- [x] a ticked checkbox".to_owned()),
        Just("```".to_owned()),
        Just("```sh".to_owned()),
        Just("~~~".to_owned()),
        "\\PC{0,20}",
    ]
}

/// A markdown block, normalised as every reader stores one (unclosed fences get closed).
fn block() -> impl Strategy<Value = String> {
    prop::collection::vec(line(), 0..8).prop_map(|lines| model::block(&lines.join("\n")))
}

fn one_line() -> impl Strategy<Value = String> {
    "\\PC{0,24}".prop_map(|s| model::one_line(&s))
}

fn nonempty_line() -> impl Strategy<Value = String> {
    one_line().prop_filter("non-empty", |s| !s.is_empty())
}

fn id() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9._-]{0,8}".prop_filter("no ..", |s| !s.contains(".."))
}

fn command() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z0-9 ./|&>'\"$=-]{1,30}",
        1 => "[a-z `]{1,12}",
        1 => prop::collection::vec("[a-z0-9 #`~-]{0,12}", 2..4).prop_map(|l| l.join("\n")),
    ]
    .prop_map(|c| c.trim().to_owned())
    .prop_filter("non-empty", |c| !c.is_empty())
}

fn glob() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z]{1,6}(/[a-z*]{1,6}){0,3}", "[a-z]{1,4}/\\*\\*", "[a-z{},]{1,10}", "[a-z`, ]{1,10}"]
        .prop_map(|g| g.trim().to_owned())
        .prop_filter("non-empty", |g| !g.is_empty())
}

fn opt_block() -> impl Strategy<Value = Option<String>> {
    prop::option::of(block()).prop_map(|b| b.filter(|t| !t.is_empty()))
}

fn task() -> impl Strategy<Value = Task> {
    (
        (id(), one_line(), block(), prop::collection::vec(id(), 0..3), prop::collection::vec(glob(), 0..3)),
        (prop::collection::vec(nonempty_line(), 0..3), prop::collection::vec(command(), 0..3)),
        (prop::option::of(nonempty_line()), prop::option::of(nonempty_line()), prop::option::of(nonempty_line())),
        (opt_block(), opt_block(), opt_block(), any::<bool>()),
        prop::option::of(prop::sample::select(vec![
            Priority::Low,
            Priority::Medium,
            Priority::High,
            Priority::Critical,
        ])),
    )
        .prop_map(
            |(
                (id, title, description, depends_on, files),
                (acceptance, verify),
                (persona, agent, milestone),
                (b, r, v, done),
                priority,
            )| Task {
                id,
                title,
                description,
                depends_on,
                files,
                acceptance,
                verify,
                persona,
                agent,
                instructions: Instructions { build: b, review: r, verify: v },
                milestone,
                priority,
                status: if done { Status::Done } else { Status::Pending },
            },
        )
}

fn plan() -> impl Strategy<Value = Plan> {
    (one_line(), block(), prop::collection::vec(command(), 0..3), prop::collection::vec(task(), 0..6)).prop_map(
        |(title, context, verify, tasks)| {
            // Ids are unique in a valid plan; round-tripping does not depend on it, but keep
            // the generated plans realistic.
            let mut seen = HashSet::new();
            let tasks = tasks.into_iter().filter(|t| seen.insert(t.id.clone())).collect();
            Plan { title, context, verify, tasks }
        },
    )
}

fn reader_errors(loaded: &planrun_plan::Loaded) -> Vec<String> {
    loaded.diagnostics.iter().map(|d| format!("{}: {}", d.code, d.message)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn markdown_round_trips(plan in plan()) {
        let text = markdown::write(&plan);
        let back = markdown::parse(&text, "plan.md");
        prop_assert_eq!(reader_errors(&back), Vec::<String>::new(), "written:\n{}", text);
        prop_assert_eq!(&back.plan, &plan, "written:\n{}", text);
        // Writing again gives the same text.
        prop_assert_eq!(markdown::write(&back.plan), text);
    }

    #[test]
    fn json_round_trips(plan in plan()) {
        let text = json::write(&plan);
        let back = json::parse(&text, "plan.json");
        prop_assert_eq!(reader_errors(&back), Vec::<String>::new());
        prop_assert_eq!(&back.plan, &plan);
    }

    #[test]
    fn markdown_and_json_agree(plan in plan()) {
        let via_md = markdown::parse(&markdown::write(&plan), "plan.md").plan;
        let via_json = json::parse(&json::write(&via_md), "plan.json").plan;
        prop_assert_eq!(via_json, plan);
    }

    #[test]
    fn readers_never_panic(text in "\\PC{0,400}") {
        let md = markdown::parse(&text, "plan.md");
        let _ = planrun_plan::check(&md);
        let js = json::parse(&text, "plan.json");
        let _ = planrun_plan::check(&js);
    }

    #[test]
    fn markdown_reader_survives_plan_like_noise(lines in prop::collection::vec(line(), 0..40)) {
        let text = lines.join("\n");
        let loaded = markdown::parse(&text, "plan.md");
        let _ = planrun_plan::check(&loaded);
        let again = markdown::parse(&markdown::write(&loaded.plan), "plan.md");
        prop_assert_eq!(again.plan, loaded.plan);
    }
}
