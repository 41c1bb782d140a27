//! `--pipeline` (seed 001): while a task's code is in review, a task that depends on it plans
//! in a free slot, read-only, in a worktree of its own; it writes code only once its
//! dependency passed, with that plan in its prompt. What a planner writes is kept under a ref,
//! never used.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use support::{git, text};

const PLAN: &str = "# P\n\n## Task a: Write a\n\nFiles: `a.txt`\n\n## Task b: Write b\n\nDepends on: `a`\nFiles: `b.txt`\n\n\
                    ## Task c: Write c\n\nDepends on: `a`\nFiles: `c.txt`\n";

/// The implementer: as a planner it notes whether a's review is still going, and (task c)
/// scribbles a file; as a coder it keeps its prompt and writes its file.
const AGENT: &str = r#"G=$(git rev-parse --git-common-dir)
case "$PLANRUN_ROLE" in
  plan)
    if [ -e "$G/a-reviewed" ]; then s=after; else s=during; fi
    echo "$PLANRUN_TASK_ID plan attempt=$PLANRUN_ATTEMPT $s $(basename "$(pwd)")" >> "$G/log"
    [ "$PLANRUN_TASK_ID" = c ] && [ "$PLANRUN_ATTEMPT" = 0 ] && echo scribble > scribble.txt
    echo "PLAN-$PLANRUN_TASK_ID: write the file." ;;
  *)
    echo "$PLANRUN_TASK_ID implement" >> "$G/log"
    cp "$PLANRUN_PROMPT_FILE" "$G/prompt-$PLANRUN_TASK_ID"
    echo "$PLANRUN_TASK_ID" > "$PLANRUN_TASK_ID.txt" ;;
esac
"#;

/// a's review takes a while (it waits for b's plan, up to 10 s); the others pass at once.
const REVIEW: &str = r#"G=$(git rev-parse --git-common-dir)
if [ "$PLANRUN_TASK_ID" = a ]; then
  i=0
  while ! grep -q '^b plan' "$G/log" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
  touch "$G/a-reviewed"
fi
echo '{"verdict": "pass", "findings": []}'"#;

#[test]
fn a_dependent_plans_while_its_dependency_is_reviewed_and_codes_after_it_passed() {
    let repo = support::committed(PLAN, AGENT, &[("review.sh", REVIEW)]);
    let out = repo
        .cmd(&[
            "run",
            "plan.md",
            "--agent-command",
            "./agent.sh",
            "--review-command",
            "./review.sh",
            "--reviews",
            "code",
            "--pipeline",
            "-j",
            "3",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let log = repo.read(".git/log");
    let lines: Vec<&str> = log.lines().collect();
    // b planned ahead (attempt 0, in its own worktree) while a was in review, then coded.
    assert!(lines.contains(&"b plan attempt=0 during _plan-b"), "{log}");
    let pos = |l: &str| lines.iter().position(|x| *x == l).unwrap_or_else(|| panic!("no {l:?} in {log}"));
    assert!(pos("b plan attempt=0 during _plan-b") < pos("b implement"), "{log}");
    assert!(!lines.iter().any(|l| l.starts_with("b plan attempt=1")), "b did not plan twice: {log}");
    let ev = support::events(&out);
    let at = |event: &str, task: &str| ev.iter().position(|e| e["event"] == event && e["task"] == task).unwrap();
    assert!(at("planning", "b") < at("done", "a") && at("done", "a") < at("start", "b"), "{ev:?}");
    let prompt = repo.read(".git/prompt-b");
    assert!(prompt.contains("## Your plan for this task") && prompt.contains("PLAN-b: write the file."), "{prompt}");
    // c's planner wrote a file: the plan is not used, the file is kept under a ref, the
    // planner's worktree is gone, and c planned again before its code (in its own worktree).
    assert!(text(&out).contains("c: planning ahead failed: the planning step changed files"), "{}", text(&out));
    let kept = git(&repo, &["for-each-ref", "--format=%(refname)", "refs/planrun/kept/"]);
    let kept_ref = kept.lines().find(|r| r.ends_with("/c/plan")).unwrap_or_else(|| panic!("{kept}"));
    assert_eq!(git(&repo, &["show", &format!("{kept_ref}:scribble.txt")]), "scribble\n");
    assert!(lines.iter().any(|l| l.starts_with("c plan attempt=1")), "{log}");
    let integration =
        ev.iter().find(|e| e["event"] == "finished").and_then(|e| e["integration"].as_str()).unwrap().to_owned();
    let tree = git(&repo, &["ls-tree", "-r", "--name-only", &integration]);
    assert!(tree.contains("b.txt") && tree.contains("c.txt"), "{tree}");
    assert!(
        !repo.path().join(".planrun/worktrees/_plan-b").exists()
            && !repo.path().join(".planrun/worktrees/_plan-c").exists()
    );
}
