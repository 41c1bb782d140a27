//! `--sparse`, end to end on real git: each task's worktree holds the top-level files, the
//! folders its `files` name and the `--sparse-dir` ones, and nothing else; a task whose pattern
//! starts with a wildcard sees the whole tree; one reused worktree changes folders between
//! tasks; every task's work lands on the integration branch and none of the files a task never
//! saw is lost from it. Without worktrees, `--sparse` is refused before anything starts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use serde_json::Value;
use support::{committed, events, git, text};

/// Notes which of the tree's folders it can see, then writes its own file where its files
/// pattern points.
const AGENT: &str = r#"case "$PLANRUN_TASK_ID" in
  a) out=svc/a/out.txt ;;
  b) out=svc/b/out.txt ;;
  c) out=NOTES.md ;;
esac
mkdir -p "$(dirname "$out")"
seen=""
for d in svc/a svc/b big tests; do [ -d "$d" ] && seen="$seen $d"; done
echo "$PLANRUN_TASK_ID saw:$seen" > "$out""#;

const REVIEWER: &str = r#"echo '{"verdict": "pass", "findings": []}'"#;

const PLAN: &str = "# Sparse\n\n\
## Task a: Service a\n\nFiles: `svc/a/**`\n\n### Verify\n\n- `test -s svc/a/out.txt && sh tests/check.inc`\n\n\
## Task b: Service b\n\nDepends on: `a`\nFiles: `svc/b/**`\n\n### Verify\n\n- `test -s svc/b/out.txt`\n\n\
## Task c: Notes everywhere\n\nDepends on: `b`\nFiles: `**/*.md`\n\n### Verify\n\n- `test -s NOTES.md`\n";

fn tree_with_big_folder() -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = (0..40).map(|i| (format!("big/f{i}.txt"), format!("{i}\n"))).collect();
    files.push(("svc/a/keep.txt".into(), "a\n".into()));
    files.push(("svc/b/keep.txt".into(), "b\n".into()));
    files.push(("tests/check.inc".into(), "exit 0\n".into()));
    files
}

#[test]
fn each_task_sees_its_folders_and_the_branch_keeps_everything() {
    let files = tree_with_big_folder();
    let mut extra: Vec<(&str, &str)> = files.iter().map(|(p, b)| (p.as_str(), b.as_str())).collect();
    extra.push(("review.sh", REVIEWER));
    let repo = committed(PLAN, AGENT, &extra);
    let out = repo.run(&["--json", "-j", "1", "--sparse", "--sparse-dir", "tests", "--review-command", "./review.sh"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let fin: Value = events(&out).into_iter().find(|e| e["event"] == "finished").unwrap();
    let branch = fin["integration"].as_str().unwrap();
    let show = |path: &str| git(&repo, &["show", &format!("{branch}:{path}")]);
    // a: its folder and tests/, not b's folder nor big/.
    assert_eq!(show("svc/a/out.txt"), "a saw: svc/a tests\n");
    // b: the worktree a used, moved to b's folders (a's out.txt is on the branch, not on disk).
    assert_eq!(show("svc/b/out.txt"), "b saw: svc/b tests\n");
    // c: `**/*.md` may be anywhere, so the whole tree.
    assert_eq!(show("NOTES.md"), "c saw: svc/a svc/b big tests\n");
    let w = &fin["worktrees"];
    assert_eq!((w["checkouts"].as_u64(), w["reused"].as_u64()), (Some(1), Some(2)), "{fin}");
    // Nothing a task never saw went missing: every file of the start is on the branch as it was.
    let listed = git(&repo, &["ls-tree", "-r", "--name-only", branch]);
    for (path, body) in &files {
        assert!(listed.lines().any(|l| l == path), "{path} left the branch");
        assert_eq!(&show(path), body, "{path} changed");
    }
    // No worktree, task branch or kept ref left; the user's own tree is whole and not sparse.
    let wts = git(&repo, &["worktree", "list", "--porcelain"]);
    assert_eq!(wts.lines().filter(|l| l.starts_with("worktree ")).count(), 1, "{wts}");
    assert_eq!(git(&repo, &["for-each-ref", "refs/heads/planrun/task/", "refs/planrun/kept/"]), "");
    assert!(repo.path().join("big/f39.txt").is_file());
    let skipped = git(&repo, &["ls-files", "-t"]);
    assert!(skipped.lines().all(|l| l.starts_with("H ")), "the user's own tree turned sparse: {skipped}");
}

#[test]
fn sparse_without_worktrees_is_refused_before_anything_starts() {
    let repo = committed(PLAN, AGENT, &[("review.sh", REVIEWER)]);
    let out = repo.run(&["--workspace", "shared", "--sparse", "--review-command", "./review.sh"]);
    assert_eq!(out.status.code(), Some(64), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--sparse") && err.contains("--workspace worktree"), "{err}");
    assert!(!repo.path().join(".planrun/journal.db").exists(), "a refused run leaves no journal");
    // The same from planrun.toml.
    repo.write("planrun.toml", "[pipeline]\nworkspace = \"shared\"\nsparse = true\n");
    let out = repo.run(&["--review-command", "./review.sh"]);
    assert_eq!(out.status.code(), Some(64), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--sparse"), "{}", text(&out));
    std::fs::remove_file(repo.path().join("planrun.toml")).unwrap();
    let out = repo.run(&["--sparse-dir", "../up", "--review-command", "./review.sh"]);
    assert_eq!(out.status.code(), Some(64), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a folder inside the repository"), "{}", text(&out));
}
