//! Change detection that reads only what changed, checked against the slow way that reads
//! everything: for trees edited at random (files written, deleted, staged, unstaged, removed
//! from the index, names with spaces, quotes and newlines, ignored files), the snapshot from
//! one `git status` is the tree a scratch index with `git add --all` gives, the changes
//! `status` lists are those `git diff` finds between that tree and `HEAD`, and the real index
//! is never touched. Then the moves of a reused worktree: cleaned, detached, moved, switched to
//! another branch with only the difference written.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use planrun_git::scope::{self, Kind};
use planrun_git::{Git, commit, worktree};
use proptest::prelude::*;
use std::path::Path;

fn repo(root: &Path, files: &[(&str, &str)]) -> Git {
    std::fs::create_dir_all(root).unwrap();
    let git = Git::new(root).with_env("GIT_CONFIG_GLOBAL", "/dev/null").with_env("GIT_CONFIG_NOSYSTEM", "1");
    git.run(&["init", "--quiet", "--initial-branch=main"]).unwrap();
    std::fs::write(root.join(".gitignore"), "*.log\n").unwrap();
    for (path, text) in files {
        write(root, path, text);
    }
    commit::commit_all(&git, "initial\n").unwrap().unwrap();
    git
}

fn write(root: &Path, path: &str, text: &str) {
    let p = root.join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// The slow way: every file of the tree added to a scratch index started from `HEAD`.
fn oracle(git: &Git, scratch: &Path) -> String {
    let _ = std::fs::remove_file(scratch);
    let g = git.clone().with_env("GIT_INDEX_FILE", &scratch.display().to_string());
    g.run(&["read-tree", "HEAD"]).unwrap();
    g.run(&["add", "--all", "--", "."]).unwrap();
    let tree = g.run(&["write-tree"]).unwrap().trim().to_owned();
    let _ = std::fs::remove_file(scratch);
    tree
}

/// The tree a commit or tree names.
fn tree_of(git: &Git, treeish: &str) -> String {
    git.run(&["rev-parse", &format!("{treeish}^{{tree}}")]).unwrap().trim().to_owned()
}

const NAMES: [&str; 8] =
    ["a.txt", "d/b.txt", "d/e/c.txt", "with space.txt", "quo\"te.txt", "new\nline.txt", "x.log", "n/new.txt"];

#[derive(Debug, Clone)]
enum Op {
    Write(usize, u8),
    Delete(usize),
    Stage(usize),
    Unstage(usize),
    RemoveCached(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let i = 0..NAMES.len();
    prop_oneof![
        (i.clone(), any::<u8>()).prop_map(|(i, b)| Op::Write(i, b)),
        i.clone().prop_map(Op::Delete),
        i.clone().prop_map(Op::Stage),
        i.clone().prop_map(Op::Unstage),
        i.prop_map(Op::RemoveCached),
    ]
}

fn apply(git: &Git, op: &Op) {
    let root = git.dir();
    match *op {
        Op::Write(i, b) => write(root, NAMES[i], &format!("{b}\n")),
        Op::Delete(i) => {
            let _ = std::fs::remove_file(root.join(NAMES[i]));
        }
        // Whatever git says (a path it does not know): the tree is as it is.
        Op::Stage(i) => {
            let _ = git.output(&["add", "--", NAMES[i]]);
        }
        Op::Unstage(i) => {
            let _ = git.output(&["reset", "--quiet", "--", NAMES[i]]);
        }
        Op::RemoveCached(i) => {
            let _ = git.output(&["rm", "--quiet", "--cached", "--", NAMES[i]]);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn a_snapshot_from_status_is_the_tree_of_everything_on_disk(ops in prop::collection::vec(op(), 0..10)) {
        let dir = tempfile::tempdir().unwrap();
        let git = repo(&dir.path().join("r"), &[("a.txt", "a\n"), ("d/b.txt", "b\n"), ("with space.txt", "s\n")]);
        for op in &ops {
            apply(&git, op);
        }
        let index = std::fs::read(dir.path().join("r/.git/index")).unwrap();
        let head = git.head().unwrap();
        let st = scope::status(&git).unwrap();
        let snap = scope::snapshot(&git, &dir.path().join("scratch.index")).unwrap();
        let slow = oracle(&git, &dir.path().join("oracle.index"));
        // The same files, and the commit itself when nothing differs from it.
        prop_assert_eq!(tree_of(&git, &snap), slow.clone());
        if tree_of(&git, &head) == slow && st.changes().is_some() {
            prop_assert_eq!(&snap, &head);
        }
        // What status lists, when it can tell, is what differs between HEAD and the tree on disk.
        let diffed: Vec<(String, Kind)> =
            scope::between(&git, &head, &slow).unwrap().into_iter().map(|c| (c.path, c.kind)).collect();
        if let Some(listed) = st.changes() {
            prop_assert_eq!(listed.into_iter().map(|c| (c.path, c.kind)).collect::<Vec<_>>(), diffed.clone());
        }
        prop_assert_eq!(scope::changed(&git, &head).unwrap().into_iter().map(|c| (c.path, c.kind)).collect::<Vec<_>>(), diffed);
        // Nothing of the user's was touched: the index, byte for byte.
        prop_assert_eq!(std::fs::read(dir.path().join("r/.git/index")).unwrap(), index);
    }
}

#[test]
fn a_clean_tree_is_its_commit_and_an_unreadable_status_line_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let git = repo(&dir.path().join("r"), &[("a.txt", "a\n")]);
    write(git.dir(), "x.log", "ignored\n");
    let head = git.head().unwrap();
    assert_eq!(scope::snapshot(&git, &dir.path().join("s.index")).unwrap(), head);
    assert!(scope::status(&git).unwrap().dirty.is_empty());
    let err = scope::parse_status("# branch.oid abc\0Z what is this\0").unwrap_err();
    assert!(err.contains("Z what is this"), "{err}");
    assert!(scope::parse_status("1 .M N...\0").is_err(), "a short entry is an error, not a panic");
    assert_eq!(scope::parse_status("# branch.oid (initial)\0? new.txt\0").unwrap().head, None);
}

#[test]
fn a_reused_worktree_is_cleaned_moved_and_switched_with_only_the_difference_written() {
    let dir = tempfile::tempdir().unwrap();
    let git = repo(&dir.path().join("r"), &[("a.txt", "a\n"), ("b.txt", "b\n")]);
    let base = git.head().unwrap();
    // A second commit for the next task to start from: b.txt changed, c.txt added.
    write(git.dir(), "b.txt", "b2\n");
    write(git.dir(), "c.txt", "c\n");
    let next = commit::commit_all(&git, "next\n").unwrap().unwrap();

    let first = dir.path().join("wt/t1");
    let wt = worktree::add(&git, &first, "planrun/task/r/t1", &base).unwrap();
    write(wt.dir(), "a.txt", "edited\n");
    write(wt.dir(), "untracked.txt", "u\n");
    write(wt.dir(), "build.log", "ignored output\n");
    // Cleaned (after its work was kept): changes reverted, untracked files gone, ignored kept.
    worktree::scrub(&wt, false).unwrap();
    assert_eq!(std::fs::read_to_string(first.join("a.txt")).unwrap(), "a\n");
    assert!(!first.join("untracked.txt").exists());
    assert!(first.join("build.log").exists(), "ignored files (build output) stay for the next task");
    assert_eq!(wt.current_branch().unwrap(), None, "detached, so that its branch can go");
    git.delete_branch("planrun/task/r/t1").unwrap();

    let pooled = dir.path().join("wt/.pool/1");
    worktree::relocate(&git, &first, &pooled).unwrap();
    assert!(!first.exists() && pooled.join("a.txt").exists());
    let second = dir.path().join("wt/t2");
    let wt2 = worktree::relocate(&git, &pooled, &second).unwrap();
    let untouched = inode(&second.join("a.txt"));
    worktree::switch(&wt2, "planrun/task/r/t2", &next).unwrap();
    assert_eq!(wt2.current_branch().unwrap().as_deref(), Some("planrun/task/r/t2"));
    assert_eq!(wt2.head().unwrap(), next);
    assert_eq!(std::fs::read_to_string(second.join("b.txt")).unwrap(), "b2\n");
    assert_eq!(std::fs::read_to_string(second.join("c.txt")).unwrap(), "c\n");
    assert!(wt2.run(&["status", "--porcelain"]).unwrap().is_empty());
    // a.txt, the same in both commits, was not written again.
    assert_eq!(inode(&second.join("a.txt")), untouched);
    let listed: Vec<_> = worktree::list(&git).unwrap().into_iter().map(|w| w.path).collect();
    assert_eq!(listed.len(), 2, "{listed:?}");

    // A clean worktree is only detached: no file is looked at or written.
    worktree::scrub(&wt2, true).unwrap();
    assert_eq!(wt2.current_branch().unwrap(), None);
    assert_eq!(wt2.head().unwrap(), next);
    assert_eq!(inode(&second.join("a.txt")), untouched);
    // A worktree holding changes of its own is not switched over them.
    write(&second, "b.txt", "mine\n");
    assert!(worktree::switch(&wt2, "planrun/task/r/t3", &base).is_err());
    assert_eq!(std::fs::read_to_string(second.join("b.txt")).unwrap(), "mine\n");
}

#[test]
fn a_tasks_paths_are_committed_without_git_commit_when_nothing_else_is_staged_and_signed_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let git = repo(&dir.path().join("r"), &[("a.txt", "a\n"), ("b.txt", "b\n")]);
    let before = git.head().unwrap();
    write(git.dir(), "a.txt", "changed\n");
    write(git.dir(), "new.txt", "new\n");
    write(git.dir(), "other.txt", "not the task's\n");
    let paths = vec!["a.txt".to_owned(), "new.txt".to_owned()];
    let message = commit::message("feat", "t1", "Write a", "Task t1.");
    let made = commit::commit_paths(&git, &paths, &message).unwrap().unwrap();
    assert_eq!(git.head().unwrap(), made, "the branch moved to it");
    assert_eq!(git.run(&["rev-parse", &format!("{made}^")]).unwrap().trim(), before);
    assert_eq!(
        git.run(&["show", "--name-only", "--format=%s", &made]).unwrap(),
        "feat(t1): Write a\n\na.txt\nnew.txt\n"
    );
    assert_eq!(commit::find(&git, "HEAD", None, "t1").unwrap(), Some(made.clone()), "its trailer");
    assert!(git.run(&["reflog", "-1", "--format=%gs", "main"]).unwrap().starts_with("commit: feat(t1)"));
    assert_eq!(git.run(&["status", "--porcelain"]).unwrap(), "?? other.txt\n", "the index holds the commit");
    assert_eq!(commit::commit_paths(&git, &paths, "again\n").unwrap(), None, "nothing more to commit");

    // A repository that signs its commits gets them signed (through `git commit`).
    let gpg = dir.path().join("fake-gpg.sh");
    std::fs::write(
        &gpg,
        "#!/bin/sh\ncat >/dev/null\necho '[GNUPG:] SIG_CREATED D 1 8 00 0 X' >&2\nprintf -- '-----BEGIN PGP SIGNATURE-----\\nZmFrZQ==\\n-----END PGP SIGNATURE-----\\n'\n",
    )
    .unwrap();
    std::fs::set_permissions(&gpg, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    git.run(&["config", "gpg.program", &gpg.display().to_string()]).unwrap();
    git.run(&["config", "user.signingkey", "X"]).unwrap();
    git.run(&["config", "commit.gpgsign", "true"]).unwrap();
    let signing = Git::new(git.dir()).with_env("GIT_CONFIG_GLOBAL", "/dev/null").with_env("GIT_CONFIG_NOSYSTEM", "1");
    write(git.dir(), "b.txt", "signed\n");
    let signed = commit::commit_paths(&signing, &["b.txt".to_owned()], "fix(t2): b\n").unwrap().unwrap();
    let raw = signing.run(&["cat-file", "commit", &signed]).unwrap();
    assert!(raw.contains("gpgsig -----BEGIN PGP SIGNATURE-----"), "{raw}");
}

fn inode(p: &Path) -> (u64, i64) {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(p).unwrap();
    (m.ino(), m.mtime_nsec())
}

#[test]
fn a_sparse_worktree_holds_only_its_folders_and_changes_them_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let git = repo(
        &dir.path().join("repo"),
        &[("top.txt", "t"), ("a/x/1.txt", "1"), ("a/2.txt", "2"), ("b/3.txt", "3"), ("c/4.txt", "4")],
    );
    let at = dir.path().join("wt");
    let wt = worktree::add_sparse(&git, &at, "t1", "HEAD", &["a/x".to_owned(), "new/none".to_owned()]).unwrap();
    // The top level, the cone (and the files directly in folders above it), nothing else.
    let on_disk = |p: &str| at.join(p).exists();
    assert!(on_disk("top.txt") && on_disk("a/x/1.txt") && on_disk("a/2.txt"));
    assert!(!on_disk("b/3.txt") && !on_disk("c/4.txt"));
    assert!(worktree::is_sparse(&at));
    // Nothing reads as changed: the files outside are in the index, marked skip-worktree.
    assert_eq!(scope::status(&wt).unwrap().changes(), Some(Vec::new()));
    // Another task's folders, in place; then the whole tree.
    worktree::set_sparse(&wt, Some(&["c".to_owned()])).unwrap();
    assert!(on_disk("c/4.txt") && !on_disk("a/x/1.txt") && !on_disk("b/3.txt"));
    worktree::set_sparse(&wt, None).unwrap();
    assert!(on_disk("a/x/1.txt") && on_disk("b/3.txt") && on_disk("c/4.txt"));
    assert!(!worktree::is_sparse(&at));
    assert!(!worktree::is_sparse(&dir.path().join("repo")), "the main tree has no `.git` file to follow");
}

/// A file changed in the same clock tick as the index was written has the stat data git
/// cached for it; git then compares contents ("racily clean"), and so must the snapshot's
/// copy of the index. Made certain here: stat data compared by mtime and size only, and the
/// file, its cached entry and the index file all given one time in the past.
#[test]
fn a_change_within_the_index_clock_tick_is_seen_by_the_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let git = repo(&dir.path().join("repo"), &[("a.txt", "1\n")]);
    git.run(&["config", "core.checkStat", "minimal"]).unwrap();
    git.run(&["config", "core.trustctime", "false"]).unwrap();
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(100);
    let touch = |p: &Path| std::fs::OpenOptions::new().write(true).open(p).unwrap().set_modified(past).unwrap();
    let a = git.dir().join("a.txt");
    touch(&a);
    git.run(&["update-index", "--refresh"]).unwrap();
    std::fs::write(&a, "2\n").unwrap();
    touch(&a);
    touch(&git.dir().join(".git/index"));
    let tree = scope::snapshot(&git, &dir.path().join("scratch.index")).unwrap();
    assert_eq!(git.run(&["show", &format!("{tree}:a.txt")]).unwrap(), "2\n");
}
