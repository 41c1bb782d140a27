//! `--on-fail ask` (the blueprint loop's default): a failed check or a blocking review finding
//! pauses the run (exit 5) with the findings (file:line for reviews) and the choices; `planrun
//! retry TASK --note` sends the task back with the user's instructions in its prompt, `planrun
//! review TASK` runs only its checks and reviews again after a fix by hand, `planrun skip TASK`
//! goes on without it; advisory findings are listed once a task passes. Other formats keep
//! reworking on their own.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use support::{git, text};

const PLAN: &str = "# Plan: Notes\n\n## Steps\n\n### Step 1: First note\n\n**Files:** `n/1.md`\n\n#### Phase 3: Verification\n\n- [ ] `grep -q ok n/1.md`\n\n### Step 2: Second note\n\n**Files:** `n/2.md`\n\n#### Phase 3: Verification\n\n- [ ] `grep -q ok n/2.md`\n";

/// Writes `bad` for step 1 unless its prompt carries the user's note; `ok` otherwise. Every
/// call is counted in `calls`.
const AGENT: &str = r#"mkdir -p n
echo "$PLANRUN_TASK_ID.$PLANRUN_ATTEMPT" >> .git/agent-calls
case "$PLANRUN_TASK_ID" in
  step-1) if grep -q 'write ok, never bad' "$PLANRUN_PROMPT_FILE"; then echo ok > n/1.md; else echo bad > n/1.md; fi ;;
  *) echo ok > n/2.md ;;
esac
"#;

fn run(repo: &support::Repo, extra: &[&str]) -> std::process::Output {
    let mut args =
        vec!["run", "PLAN.md", "--agent-command", "./agent.sh", "--workspace", "shared", "--reviews", "none"];
    args.extend_from_slice(extra);
    repo.cmd(&args).output().unwrap()
}

fn calls(repo: &support::Repo) -> Vec<String> {
    repo.read(".git/agent-calls").lines().map(str::to_owned).collect()
}

fn go_on(repo: &support::Repo) -> std::process::Output {
    repo.cmd(&["continue"]).output().unwrap()
}

#[test]
fn a_failed_check_pauses_and_retry_with_a_note_reworks_it_with_the_users_instructions() {
    let repo = support::committed("# unused\n", AGENT, &[("PLAN.md", PLAN)]);
    let out = run(&repo, &[]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    let all = text(&out);
    assert!(all.contains("task step-1 waits for you; its checks or reviews found:"), "{all}");
    assert!(all.contains("the check `grep -q ok n/1.md` exited with code 1"), "{all}");
    for choice in ["planrun retry step-1 --note", "planrun review step-1", "planrun skip step-1", "planrun continue"] {
        assert!(all.contains(choice), "{choice}: {all}");
    }
    // One attempt, no rework on its own, nothing after it started.
    assert_eq!(calls(&repo), ["step-1.1"]);
    assert_eq!(repo.task("step-1")["state"], "blocked");

    let out = repo.cmd(&["retry", "step-1", "--note", "write ok, never bad"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("with your note in its prompt"), "{}", text(&out));
    let out = go_on(&repo);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(calls(&repo), ["step-1.1", "step-1.2", "step-2.1"]);
    let prompt = repo.read(".planrun/prompts/step-1.2.md");
    assert!(prompt.contains("## Instructions from the user") && prompt.contains("write ok, never bad"), "{prompt}");
    assert!(!repo.read(".planrun/prompts/step-2.1.md").contains("Instructions from the user"));
    assert_eq!(repo.read("n/1.md"), "ok\n");
}

#[test]
fn review_runs_only_the_checks_again_after_a_fix_by_hand() {
    let repo = support::committed("# unused\n", AGENT, &[("PLAN.md", PLAN)]);
    let out = run(&repo, &[]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    // Not yet fixed: review is refused for a task that does not wait for the user.
    let out = repo.cmd(&["review", "step-2"]).output().unwrap();
    assert_eq!(out.status.code(), Some(64), "{}", text(&out));
    assert!(text(&out).contains("only a blocked task"), "{}", text(&out));
    // The fix, by hand, in the tree the task works in.
    repo.write("n/1.md", "ok\n");
    let out = repo.cmd(&["review", "step-1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = go_on(&repo);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // The agent did not run again for step 1: its checks did, on the fixed work, and passed.
    assert_eq!(calls(&repo), ["step-1.1", "step-2.1"]);
    assert_eq!(repo.task("step-1")["state"], "done");
    let log = git(&repo, &["log", "--format=%s", "--name-only"]);
    assert!(log.contains("n/1.md"), "the fixed work is step 1's commit: {log}");
}

#[test]
fn skip_goes_on_without_it_and_other_formats_rework_on_their_own() {
    let repo = support::committed("# unused\n", AGENT, &[("PLAN.md", PLAN)]);
    let out = run(&repo, &[]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert_eq!(repo.cmd(&["skip", "step-1"]).output().unwrap().status.code(), Some(0));
    let out = go_on(&repo);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(calls(&repo), ["step-1.1", "step-2.1"]);

    // The same work with --on-fail rework: step 1 reworks by itself until it is blocked.
    let repo = support::committed("# unused\n", AGENT, &[("PLAN.md", PLAN)]);
    let out = run(&repo, &["--on-fail", "rework", "--max-rework", "1"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert_eq!(calls(&repo)[..2], ["step-1.1", "step-1.2"]);
    // A planrun markdown plan reworks by default; --on-fail ask makes it ask.
    let md = "# P\n\n## Task a: one\n\nFiles: `n/1.md`\n\n### Verify\n\n- `grep -q ok n/1.md`\n";
    let agent = "mkdir -p n\necho \"$PLANRUN_TASK_ID.$PLANRUN_ATTEMPT\" >> .git/agent-calls\necho bad > n/1.md\n";
    let repo = support::committed("# unused\n", agent, &[("PLAN.md", md)]);
    let out = run(&repo, &["--max-rework", "1"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert_eq!(calls(&repo), ["a.1", "a.2"]);
    let repo = support::committed("# unused\n", agent, &[("PLAN.md", md)]);
    let out = run(&repo, &["--on-fail", "ask"]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert_eq!(calls(&repo), ["a.1"]);
}

/// A reviewer with a blocking finding on the first pass of step 1, and an advisory one after.
const REVIEWER: &str = r#"n=$(cat .git/reviews 2>/dev/null || echo 0); echo $((n+1)) > .git/reviews
if [ "$n" = 0 ]; then
  echo '{"verdict": "changes_requested", "findings": [{"severity": "blocking", "file": "n/1.md", "line": 1, "message": "say why it is ok"}]}'
else
  echo '{"verdict": "pass", "findings": [{"severity": "advisory", "file": "n/1.md", "line": 1, "message": "a heading would help"}]}'
fi"#;

#[test]
fn a_blocking_review_finding_pauses_with_its_file_and_line_and_advice_is_listed_after_the_pass() {
    let agent = "mkdir -p n\necho ok > n/$(echo ${PLANRUN_TASK_ID#step-}).md\n";
    let repo = support::committed("# unused\n", agent, &[("PLAN.md", PLAN), ("review.sh", REVIEWER)]);
    let review = ["--reviews", "code", "--review-agent", "command", "--review-command", "./review.sh {prompt_file}"];
    let mut args = vec!["run", "PLAN.md", "--agent-command", "./agent.sh", "--workspace", "shared", "-j", "1"];
    args.extend(review);
    let out = repo.cmd(&args).output().unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    let all = text(&out);
    assert!(all.contains("n/1.md:1: say why it is ok"), "{all}");
    assert!(all.contains("planrun review step-1"), "{all}");
    // Nothing to change: the user asks for the review again, which now passes with advice.
    assert_eq!(repo.cmd(&["review", "step-1"]).output().unwrap().status.code(), Some(0));
    let out = go_on(&repo);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let all = text(&out);
    assert!(all.contains("step-1 passed; its reviewers advised (not blocking), for you to consider:"), "{all}");
    assert!(all.contains("a heading would help"), "{all}");
}

/// A blueprint step with its Phase 2 (review) and Phase 3 (verification checklist) text.
const PHASED: &str = "# Plan: Notes\n\n## Steps\n\n### Step 1: First note\n\n**Files:** `n/1.md`\n\n#### Phase 1: Build\n\nWrite n/1.md.\n\n#### Phase 2: Review\n\nCheck that the note names its author.\n\n#### Phase 3: Verification\n\n- [ ] `grep -q ok n/1.md`\n- [ ] The note is one line long\n";

#[test]
fn the_reviewer_gets_the_steps_review_and_verification_phases() {
    let agent = "mkdir -p n\necho ok > n/1.md\n";
    let reviewer = "cp \"$1\" .git/review-prompt\necho '{\"verdict\": \"pass\", \"findings\": []}'\n";
    let repo = support::committed("# unused\n", agent, &[("PLAN.md", PHASED), ("review.sh", reviewer)]);
    let mut args = vec!["run", "PLAN.md", "--agent-command", "./agent.sh", "--workspace", "shared"];
    args.extend(["--reviews", "task", "--review-agent", "command", "--review-command", "./review.sh {prompt_file}"]);
    let out = repo.cmd(&args).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let prompt = repo.read(".git/review-prompt");
    assert!(
        prompt.contains("## What the plan asks the review to check") && prompt.contains("names its author"),
        "{prompt}"
    );
    assert!(prompt.contains("verification checklist") && prompt.contains("The note is one line long"), "{prompt}");
    // The implementer's prompt has its build phase, not the reviewer's sections.
    let implement = repo.read(".planrun/prompts/step-1.1.md");
    assert!(implement.contains("Write n/1.md.") && !implement.contains("What the plan asks the review"), "{implement}");
}
