//! `planrun run --only SEL` / `--skip SEL` on a blueprint plan (the seed that asks for "execute
//! steps 3-5" and "skip step 2"): only the chosen steps run, in dependency order; a chosen step
//! whose dependency is neither done nor chosen is named in a warning before anything starts; the
//! run ends once the chosen steps are done and a later run does the rest; a selector that names
//! nothing is refused before anything is created; and `skip` works before any run exists.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use support::{events, text};

const PLAN: &str = "# Plan: Five notes\n\n## Steps\n\n### Step 1: One\n**Files:** `n/1.md`\n\n### Step 2: Two\n**Files:** `n/2.md`\n\n### Step 3: Three\n**Depends on:** Step 2\n**Files:** `n/3.md`\n\n### Step 4: Four\n**Files:** `n/4.md`\n\n### Step 5: Five\n**Depends on:** Step 3\n**Files:** `n/5.md`\n";

/// A repository with the plan and an agent that writes its step's note and appends the step to
/// `order` (outside the repository).
fn repo(order: &std::path::Path) -> support::Repo {
    let agent = format!(
        "mkdir -p n\nn=${{PLANRUN_TASK_ID#step-}}\necho ok > n/$n.md\necho \"$PLANRUN_TASK_ID\" >> '{}'\n",
        order.display()
    );
    support::committed("# unused\n", &agent, &[("PLAN.md", PLAN)])
}

fn run(repo: &support::Repo, extra: &[&str]) -> std::process::Output {
    let mut args =
        vec!["run", "PLAN.md", "--agent-command", "./agent.sh", "--workspace", "shared", "--reviews", "none", "--json"];
    args.extend_from_slice(extra);
    repo.cmd(&args).output().unwrap()
}

fn ran(order: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(order).unwrap_or_default().lines().map(str::to_owned).collect()
}

#[test]
fn only_and_skip_run_the_chosen_steps_and_a_later_run_does_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let order = dir.path().join("order");
    let repo = repo(&order);

    // "execute steps 3-5": step 3 needs step 2, which is neither done nor chosen.
    let out = run(&repo, &["--only", "3-5"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "warning: task step-3 is chosen but depends on step-2, neither done nor chosen: it starts without it"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("2 task(s) left out by --only/--skip"), "{stderr}");
    let first = ran(&order);
    assert_eq!(first[0], "step-3", "{first:?}");
    assert_eq!(first.len(), 3, "{first:?}");
    assert!(first.contains(&"step-4".to_owned()) && first.contains(&"step-5".to_owned()), "{first:?}");
    let finished = events(&out).pop().unwrap();
    assert_eq!(finished["outcome"], "done", "{finished}");
    assert_eq!(finished["counts"]["done"], 3, "{finished}");
    assert!(!repo.path().join("n/1.md").exists() && !repo.path().join("n/2.md").exists());
    // The estimate before it counted only the chosen steps.
    let estimate = events(&out).into_iter().find(|e| e["event"] == "estimate").unwrap();
    assert_eq!(estimate["tasks"], 3, "{estimate}");

    // "skip step 2": of what is left (steps 1 and 2), only step 1 runs.
    let out = run(&repo, &["--skip", "step-2"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(ran(&order)[3..], ["step-1"]);
    assert!(!repo.path().join("n/2.md").exists());

    // A run without a choice does the rest; nothing done runs again.
    let out = run(&repo, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(ran(&order)[4..], ["step-2"]);
    let plan = repo.read("PLAN.md");
    assert_eq!(plan.matches("### ✅ Step").count(), 5, "{plan}");
}

#[test]
fn a_selector_that_names_nothing_is_refused_before_anything_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let order = dir.path().join("order");
    let repo = repo(&order);
    for (sel, says) in [
        ("9", "there is no task at position 9: the plan has 5"),
        ("step-9", "no task has the id `step-9`"),
        ("4-2", "the range `4-2` runs backwards"),
    ] {
        let out = run(&repo, &["--only", sel]);
        assert_eq!(out.status.code(), Some(64), "{sel}: {}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says) && stderr.contains("`3-5`"), "{sel}: {stderr}");
        assert!(!repo.path().join(".planrun").exists(), "{sel}: nothing is created");
    }
    assert!(ran(&order).is_empty());
}

#[test]
fn skip_before_any_run_is_honoured_by_the_first_run() {
    let dir = tempfile::tempdir().unwrap();
    let order = dir.path().join("order");
    let repo = repo(&order);
    let out = repo.cmd(&["skip", "step-4", "--plan", "PLAN.md"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = run(&repo, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(ran(&order), ["step-1", "step-2", "step-3", "step-5"]);
    assert_eq!(repo.task("step-4")["state"], "skipped");
}
