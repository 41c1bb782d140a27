//! Worktrees reused across a run's tasks, end to end on real git: serial tasks share one
//! checkout (each starts from the integration branch's tip with the earlier tasks' files, and
//! what the agent left ignored, such as build output, is still there), nothing is left behind
//! when the run ends, and a run killed with worktrees waiting in the pool takes them up again
//! when rerun, with exactly one commit per task and no worktree left.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use serde_json::Value;
use std::io::BufRead as _;
use std::process::Stdio;
use support::{Repo, committed, events, git, text};

/// Writes its task's file; the first task also leaves ignored build output behind.
const AGENT: &str = r#"echo "$PLANRUN_TASK_ID" > "$PLANRUN_TASK_ID.txt"
if [ "$PLANRUN_TASK_ID" = a ]; then mkdir -p build && echo cache > build/cache.bin; fi
if [ -f build/cache.bin ]; then echo "saw the build cache" >> "$PLANRUN_TASK_ID.txt"; fi"#;

const REVIEWER: &str = r#"echo '{"verdict": "pass", "findings": []}'"#;

const CHAIN: &str = "# Chain\n\n\
## Task a: Write a\n\nFiles: `a.txt`, `build/**`\n\n### Verify\n\n- `grep -qx a a.txt`\n\n\
## Task b: Write b\n\nDepends on: `a`\nFiles: `b.txt`\n\n### Verify\n\n- `test -s a.txt && grep -qx b b.txt`\n\n\
## Task c: Write c\n\nDepends on: `b`\nFiles: `c.txt`\n\n### Verify\n\n- `test -s b.txt && grep -qx c c.txt`\n";

fn worktrees(repo: &Repo) -> Vec<String> {
    git(repo, &["worktree", "list", "--porcelain"])
        .lines()
        .filter_map(|l| l.strip_prefix("worktree ").map(str::to_owned))
        .collect()
}

fn finished(out: &std::process::Output) -> Value {
    events(out).into_iter().find(|e| e["event"] == "finished").unwrap_or_else(|| panic!("{}", text(out)))
}

#[test]
fn serial_tasks_share_one_checkout_and_nothing_is_left_behind() {
    let repo = committed(CHAIN, AGENT, &[(".gitignore", "build/\n*.log\n"), ("review.sh", REVIEWER)]);
    let out = repo.run(&["--json", "-j", "1", "--review-command", "./review.sh"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let fin = finished(&out);
    // One checkout for the three tasks, with its size.
    let w = &fin["worktrees"];
    assert_eq!(
        (w["checkouts"].as_u64(), w["reused"].as_u64(), w["peak"].as_u64()),
        (Some(1), Some(2), Some(1)),
        "{fin}"
    );
    assert!(w["checkout_bytes"].as_u64().unwrap() > 0, "{fin}");
    // The ignored build output task a left was there for b and c, as in a folder reused by hand.
    for t in ["b", "c"] {
        let seen = git(&repo, &["show", &format!("{}:{t}.txt", fin["integration"].as_str().unwrap())]);
        assert_eq!(seen, format!("{t}\nsaw the build cache\n"));
    }
    let branch = fin["integration"].as_str().unwrap();
    let files = git(&repo, &["ls-tree", "-r", "--name-only", branch]);
    for f in ["a.txt", "b.txt", "c.txt"] {
        assert!(files.lines().any(|l| l == f), "{f} is not on {branch}: {files}");
    }
    assert!(!files.contains("build/"), "ignored output is never committed: {files}");
    // Nothing left: one worktree (the repository's own), no pool, no task branch, nothing kept.
    assert_eq!(worktrees(&repo).len(), 1, "{:?}", worktrees(&repo));
    assert!(!repo.path().join(".planrun/worktrees/.pool").exists());
    assert_eq!(git(&repo, &["for-each-ref", "refs/heads/planrun/task/", "refs/planrun/kept/"]), "");
}

#[test]
fn a_run_killed_with_worktrees_in_the_pool_takes_them_up_again() {
    // a and b run side by side; c waits for both and runs long enough to be killed while the
    // other worktree waits in the pool; d comes after c.
    let plan = "# Join\n\n\
        ## Task a: Write a\n\nFiles: `a.txt`\n\n\
        ## Task b: Write b\n\nFiles: `b.txt`\n\n\
        ## Task c: Write c\n\nDepends on: `a`, `b`\nFiles: `c.txt`\n\n\
        ## Task d: Write d\n\nDepends on: `c`\nFiles: `d.txt`\n";
    let agent = r#"if [ "$PLANRUN_TASK_ID" = c ] && [ ! -f "$(git rev-parse --git-common-dir)/../rerun" ]; then sleep 30; fi
echo "$PLANRUN_TASK_ID" > "$PLANRUN_TASK_ID.txt""#;
    let repo = committed(plan, agent, &[]);
    let mut child = repo
        .cmd(&["run", "plan.md", "--agent-command", "./agent.sh", "--json", "--reviews", "none", "-j", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    for line in std::io::BufReader::new(stdout).lines() {
        let e: Value = serde_json::from_str(&line.unwrap()).unwrap();
        if e["event"] == "start" && e["task"] == "c" {
            break;
        }
    }
    // c's agent is sleeping in its recorded worktree; a's or b's waits in the pool.
    let pool = repo.path().join(".planrun/worktrees/.pool");
    let record = repo.path().join(".planrun/workspaces/c.json");
    assert!(support::wait_for(10.0, || record.is_file() && std::fs::read_dir(&pool).is_ok_and(|d| d.count() == 1)));
    // SIGKILL: no chance to clean up.
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(worktrees(&repo).len(), 3, "the main tree, c's and the pooled one: {:?}", worktrees(&repo));

    std::fs::write(repo.path().join("rerun"), "").unwrap();
    let out = repo
        .cmd(&["run", "plan.md", "--agent-command", "./agent.sh", "--json", "--reviews", "none", "-j", "2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let fin = finished(&out);
    // c resumed in its own worktree; d started in the one the killed run left in the pool.
    let w = &fin["worktrees"];
    assert_eq!((w["checkouts"].as_u64(), w["reused"].as_u64()), (Some(0), Some(1)), "{fin}");
    let branch = fin["integration"].as_str().unwrap();
    let log = git(&repo, &["log", "--format=%(trailers:key=Planrun-Task,valueonly)", branch]);
    let mut tasks: Vec<&str> = log.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    tasks.sort_unstable();
    assert_eq!(tasks, ["a", "b", "c", "d"], "exactly one commit per task");
    assert_eq!(worktrees(&repo).len(), 1, "{:?}", worktrees(&repo));
    assert!(!repo.path().join(".planrun/worktrees/.pool").exists());
    assert_eq!(git(&repo, &["for-each-ref", "refs/planrun/kept/"]), "", "nothing held work of its own");
}
