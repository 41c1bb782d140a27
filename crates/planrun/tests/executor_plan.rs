//! Executor planning (seed 001): with `--take` the reviewer speaks first, then the implementer
//! writes its plan (read-only; kept in `.planrun/plans/ID.md` and, for a uc plan, as `plan.md`
//! beside the task's `task.md`), and only then writes code, with the take and its plan in its
//! prompt. A planner that changes files sends the attempt back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use support::text;

const PLAN_DIR: &str = "documentation/plans/notes";

fn task_md(n: u32, deps: &str) -> String {
    format!(
        "# Task {n}: Write note {n}\n\n## Description\n\nWrite the note.\n\n**Files:**\n- `out/n{n}.txt` (create)\n\n\
         ## Success Criteria\n\n- [ ] SC-1: out/n{n}.txt says ok\n\n**Dependencies:** {deps}\n"
    )
}

/// The implementer: as the planner it answers with a plan (and on attempt 1 of task 2 also
/// scribbles a file); as the coder it keeps its prompt and writes the note.
const AGENT: &str = r#"G=$(git rev-parse --git-common-dir)
echo "$PLANRUN_TASK_ID $PLANRUN_ROLE" >> "$G/roles"
case "$PLANRUN_ROLE" in
  plan)
    [ "$PLANRUN_TASK_ID" = task-2 ] && [ "$PLANRUN_ATTEMPT" = 1 ] && echo scribble > out-of-plan.txt
    echo "PLAN for $PLANRUN_TASK_ID: create out/ and write ok; keep it to one line." ;;
  *)
    cp "$PLANRUN_PROMPT_FILE" "$G/prompt-$PLANRUN_TASK_ID-$PLANRUN_ATTEMPT"
    rm -f out-of-plan.txt
    n=$(echo "$PLANRUN_TASK_ID" | tr -dc 0-9); mkdir -p out; echo ok > "out/n$n.txt" ;;
esac
"#;

#[test]
fn the_implementer_plans_after_the_take_and_before_code() {
    let files = [
        (format!("{PLAN_DIR}/README.md"), "# Notes\n\nTwo notes.\n".to_owned()),
        (format!("{PLAN_DIR}/tasks/task-1/task.md"), task_md(1, "None")),
        (format!("{PLAN_DIR}/tasks/task-2/task.md"), task_md(2, "task-1")),
        (
            "review.sh".to_owned(),
            r#"G=$(git rev-parse --git-common-dir); echo "$PLANRUN_TASK_ID $PLANRUN_ROLE" >> "$G/roles"
case "$PLANRUN_ROLE" in take) echo 'TAKE: one line only.' ;; *) echo '{"verdict": "pass", "findings": []}' ;; esac"#
                .to_owned(),
        ),
    ];
    let extra: Vec<(&str, &str)> = files.iter().map(|(n, b)| (n.as_str(), b.as_str())).collect();
    let repo = support::committed("# unused\n", AGENT, &extra);
    let out = repo
        .cmd(&[
            "run",
            PLAN_DIR,
            "--agent-command",
            "./agent.sh",
            "--review-command",
            "./review.sh",
            "--take",
            "--reviews",
            "code",
            "--workspace",
            "worktree",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let roles = repo.read(".git/roles");
    let task1: Vec<&str> = roles.lines().filter(|l| l.starts_with("task-1 ")).collect();
    assert_eq!(task1, ["task-1 take", "task-1 plan", "task-1 implement", "task-1 review"], "{roles}");
    // The planner saw the take; the coder saw the take and its own plan.
    let plan_prompt = repo.read(".planrun/prompts/task-1.1.plan.md");
    assert!(
        plan_prompt.contains("TAKE: one line only.") && plan_prompt.contains("Do not change any file"),
        "{plan_prompt}"
    );
    let coder = repo.read(".git/prompt-task-1-1");
    assert!(coder.contains("TAKE: one line only."), "{coder}");
    assert!(coder.contains("## Your plan for this task") && coder.contains("PLAN for task-1:"), "{coder}");
    // Kept in planrun's state and beside the task, as uc keeps it.
    assert!(repo.read(".planrun/plans/task-1.md").starts_with("PLAN for task-1:"));
    assert!(repo.read(&format!("{PLAN_DIR}/tasks/task-1/plan.md")).starts_with("PLAN for task-1:"));

    // task-2's first planner changed a file: that attempt went back; the second planned cleanly.
    let ev = support::events(&out);
    let rework = ev
        .iter()
        .find(|e| e["event"] == "rework" && e["task"] == "task-2")
        .unwrap_or_else(|| panic!("{}\n{}", text(&out), repo.read(".git/roles")));
    assert!(
        rework["reason"]
            .as_str()
            .unwrap()
            .contains("the planning step changed files, which a plan must not do: out-of-plan.txt"),
        "{rework}"
    );
    let coder2 = repo.read(".git/prompt-task-2-2");
    assert!(coder2.contains("PLAN for task-2:"), "{coder2}");
    let integration =
        ev.iter().find(|e| e["event"] == "finished").and_then(|e| e["integration"].as_str()).unwrap().to_owned();
    let tree = support::git(&repo, &["ls-tree", "-r", "--name-only", &integration]);
    assert!(!tree.contains("out-of-plan.txt"), "{tree}");
}

#[test]
fn a_plan_already_beside_the_task_is_used_and_never_replaced() {
    let mine = "MY PLAN: write ok into out/n1.txt, nothing else.\n";
    let files = [
        (format!("{PLAN_DIR}/README.md"), "# Notes\n".to_owned()),
        (format!("{PLAN_DIR}/tasks/task-1/task.md"), task_md(1, "None")),
        (format!("{PLAN_DIR}/tasks/task-1/plan.md"), mine.to_owned()),
        ("review.sh".to_owned(), "echo 'TAKE: none.'".to_owned()),
    ];
    let extra: Vec<(&str, &str)> = files.iter().map(|(n, b)| (n.as_str(), b.as_str())).collect();
    let repo = support::committed("# unused\n", AGENT, &extra);
    let out = repo
        .cmd(&[
            "run",
            PLAN_DIR,
            "--agent-command",
            "./agent.sh",
            "--review-command",
            "./review.sh",
            "--take",
            "--reviews",
            "none",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!repo.read(".git/roles").contains("task-1 plan"), "no second plan: {}", repo.read(".git/roles"));
    assert!(repo.read(".git/prompt-task-1-1").contains("MY PLAN: write ok"), "the existing plan is the coder's");
    assert_eq!(repo.read(&format!("{PLAN_DIR}/tasks/task-1/plan.md")), mine);
}
