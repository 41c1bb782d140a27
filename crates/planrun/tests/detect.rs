//! A plan with no final check of its own (no plan-level verify commands): after the last task
//! planrun runs the project's own build and tests once, found from its files (here a Makefile's
//! `build` and `test` targets), shows them in `check` and at the start, and `--no-detect` turns
//! that off. A failing project test fails the run's final check (exit 3).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use support::text;

const PLAN: &str = "# Demo\n\n## Task a: write a\n\nFiles: `a.txt`\n";
const MAKEFILE: &str = "build:\n\techo built >> .git/final\ntest:\n\techo tested >> .git/final\n\tgrep -q ok a.txt\n";

fn repo(agent: &str) -> support::Repo {
    support::committed(PLAN, agent, &[("Makefile", MAKEFILE)])
}

#[test]
fn the_projects_own_build_and_tests_are_the_final_check() {
    let repo = repo("echo ok > a.txt");
    let check = repo.cmd(&["check", "plan.md"]).output().unwrap();
    assert!(
        text(&check).contains(
            "final check (the project's own, no plan verify): `make build` (the Makefile), `make test` (the Makefile)"
        ),
        "{}",
        text(&check)
    );
    let out = repo.run(&["--workspace", "shared", "--reviews", "none"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("the plan has no final check; after the last task the project's own run once"),
        "{}",
        text(&out)
    );
    assert_eq!(repo.read(".git/final"), "built\ntested\n", "each once, after the task");
}

#[test]
fn a_failing_project_test_fails_the_final_check_and_no_detect_turns_it_off() {
    let repo = repo("echo wrong > a.txt");
    let out = repo.run(&["--workspace", "shared", "--reviews", "none"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("grep -q ok a.txt"), "{}", text(&out));

    let repo = self::repo("echo wrong > a.txt");
    let out = repo.run(&["--workspace", "shared", "--reviews", "none", "--no-detect"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(repo.read(".git/final"), "", "nothing of the project's ran");
}
