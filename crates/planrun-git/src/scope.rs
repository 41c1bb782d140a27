//! What a task really changed, from git and not from the agent's word: every path that differs
//! between the commit the task started from and its working tree (committed by the agent or
//! not, staged or not, new files included, ignored files not), and which of those lie outside
//! the files the task declared.

use crate::{Git, GitError, nul_split};
use planrun_plan::globs::Pattern;

/// How a path changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Added,
    Modified,
    Deleted,
}

/// One changed path, relative to the worktree's top.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    pub path: String,
    pub kind: Kind,
}

/// Every path that differs between `base` and the working tree of `wt`: one look at the tree
/// (`status`), then only the paths that differ are read.
pub fn changed(wt: &Git, base: &str) -> Result<Vec<Changed>, GitError> {
    changed_in(wt, &status(wt)?, base)
}

/// `changed`, for the working tree of `wt` whose `status` is `st`, taken just before: when
/// `base` is the commit checked out, what `status` listed; else a snapshot compared with `base`.
/// Renames are a deletion and an addition.
pub fn changed_in(wt: &Git, st: &Status, base: &str) -> Result<Vec<Changed>, GitError> {
    if st.head.as_deref() == Some(base) {
        if let Some(changes) = st.changes() {
            return Ok(changes);
        }
    }
    let scratch = scratch_beside_index(wt);
    let now = tree_of(wt, st, &scratch);
    let _ = std::fs::remove_file(&scratch);
    between(wt, base, &now?)
}

/// A scratch index file of this process's own beside `wt`'s index (so a split index finds its
/// shared part), else in the system's temporary folder.
fn scratch_beside_index(wt: &Git) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let name = format!("planrun-{}-{}.index", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
    match wt.index_file().and_then(|i| i.parent().map(|d| d.join(&name))) {
        Some(p) if p.parent().is_some_and(std::path::Path::is_dir) => p,
        _ => std::env::temp_dir().join(name),
    }
}

/// What `git status` says of a working tree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// The commit checked out (`None` before the first commit).
    pub head: Option<String>,
    /// Every path whose content differs from that commit's, staged or not, untracked ones
    /// included and ignored ones not.
    pub dirty: Vec<Dirty>,
}

/// One path `git status` lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dirty {
    pub path: String,
    /// The file on disk differs from the index (changed, deleted, untracked or unmerged); when
    /// `false` the index holds what is on disk (a staged change).
    pub on_disk: bool,
    /// The commit checked out has the path.
    pub in_head: bool,
    /// There is no file at the path on disk.
    pub gone: bool,
    /// Whether the file on disk surely differs from `HEAD`: not when both the index and the
    /// file changed (the file may be back as it was), nor for a conflict or a rename.
    pub sure: bool,
}

impl Status {
    /// How the files on disk differ from the commit checked out, path by path (sorted);
    /// `None` when `status` alone cannot tell (a path both staged and changed again, listed
    /// twice, in conflict): then compare a snapshot (`tree_of`) instead.
    pub fn changes(&self) -> Option<Vec<Changed>> {
        let mut out: Vec<Changed> = Vec::new();
        for d in &self.dirty {
            if !d.sure {
                return None;
            }
            let kind = match (d.in_head, d.gone) {
                (true, false) => Kind::Modified,
                (false, false) => Kind::Added,
                (true, true) => Kind::Deleted,
                // Added to the index, then deleted: nothing differs.
                (false, true) => continue,
            };
            out.push(Changed { path: d.path.clone(), kind });
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        // A path listed twice (removed from the index, still on disk): is it as it was?
        if out.windows(2).any(|w| matches!(w, [a, b] if a.path == b.path)) {
            return None;
        }
        Some(out)
    }
}

/// One `git status` of the working tree of `wt`: the stat cache of its own index, and its
/// untracked cache and fsmonitor when the repository has them on. It takes no lock, so it never
/// gets in the way of a commit (and writes no refreshed stat data back).
pub fn status(wt: &Git) -> Result<Status, GitError> {
    let args =
        ["--no-optional-locks", "status", "--porcelain=v2", "-z", "--branch", "--no-renames", "--untracked-files=all"];
    let text = wt.run(&args)?;
    parse_status(&text).map_err(|what| GitError::Unexpected { args: args.join(" "), what })
}

/// Reads `git status --porcelain=v2 -z --branch` output.
pub fn parse_status(text: &str) -> Result<Status, String> {
    const NONE: &str = "000000";
    let mut st = Status::default();
    let mut fields = nul_split(text);
    while let Some(entry) = fields.next() {
        let bad = || format!("an entry it cannot read: `{entry}`");
        let dirty = match entry.as_bytes().first() {
            Some(b'#') => {
                if let Some(oid) = entry.strip_prefix("# branch.oid ") {
                    st.head = (oid != "(initial)").then(|| oid.to_owned());
                }
                continue;
            }
            // `1 XY sub mH mI mW hH hI path`: Y says whether the file on disk differs from the
            // index; a mode of 000000 says the path is absent (from HEAD, from disk).
            Some(b'1') => {
                let f: Vec<&str> = entry.splitn(9, ' ').collect();
                let [_, xy, _, m_head, _, m_disk, _, _, path] = f[..] else { return Err(bad()) };
                let on_disk = xy.as_bytes().get(1) != Some(&b'.');
                let staged = xy.as_bytes().first() != Some(&b'.');
                let (in_head, gone) = (m_head != NONE, m_disk == NONE);
                Dirty { path: path.to_owned(), on_disk, in_head, gone, sure: !(staged && on_disk) }
            }
            // A rename or copy (not asked for, but a configuration could): the old path follows.
            Some(b'2') => {
                let f: Vec<&str> = entry.splitn(10, ' ').collect();
                let [_, _, _, m_head, _, m_disk, _, _, _, path] = f[..] else { return Err(bad()) };
                if let Some(old) = fields.next() {
                    st.dirty.push(Dirty {
                        path: old.to_owned(),
                        on_disk: true,
                        in_head: true,
                        gone: true,
                        sure: false,
                    });
                }
                Dirty {
                    path: path.to_owned(),
                    on_disk: true,
                    in_head: m_head != NONE,
                    gone: m_disk == NONE,
                    sure: false,
                }
            }
            // Unmerged: `u XY sub m1 m2 m3 mW h1 h2 h3 path`.
            Some(b'u') => {
                let f: Vec<&str> = entry.splitn(11, ' ').collect();
                let [_, _, _, _, m_ours, _, m_disk, _, _, _, path] = f[..] else { return Err(bad()) };
                Dirty {
                    path: path.to_owned(),
                    on_disk: true,
                    in_head: m_ours != NONE,
                    gone: m_disk == NONE,
                    sure: false,
                }
            }
            Some(b'?') => {
                let path = entry.get(2..).filter(|p| !p.is_empty()).ok_or_else(bad)?;
                Dirty { path: path.to_owned(), on_disk: true, in_head: false, gone: false, sure: true }
            }
            Some(b'!') => continue,
            _ => return Err(bad()),
        };
        st.dirty.push(dirty);
    }
    Ok(st)
}

/// The changed paths outside every one of `declared` (the task's `files` globs). A task that
/// declared no files is not checked here: it runs alone (the scheduler's rule).
pub fn outside<'a>(changed: &'a [Changed], declared: &[Pattern]) -> Vec<&'a Changed> {
    if declared.is_empty() {
        return Vec::new();
    }
    changed.iter().filter(|c| !declared.iter().any(|p| p.matches(&c.path))).collect()
}

/// A snapshot of the working tree of `repo` (tracked and untracked files, ignored ones not),
/// as a tree-ish: the commit checked out when nothing differs from it, else a tree object,
/// written through the scratch index `scratch_index` so that the real index is untouched. Two
/// snapshots compared with `between` say what changed in between. One `git status` looks at
/// the tree; only the paths it lists are read and hashed (never the whole tree again).
pub fn snapshot(repo: &Git, scratch_index: &std::path::Path) -> Result<String, GitError> {
    tree_of(repo, &status(repo)?, scratch_index)
}

/// The snapshot (`snapshot`) of the working tree of `repo` whose `status` is `st`, taken just
/// before: only the paths it lists are read.
pub fn tree_of(repo: &Git, st: &Status, scratch_index: &std::path::Path) -> Result<String, GitError> {
    if st.dirty.is_empty() {
        if let Some(head) = &st.head {
            return Ok(head.clone());
        }
    }
    let fail = |e: std::io::Error, what: &str| GitError::Failed {
        args: "write-tree".into(),
        code: None,
        stderr: format!("{what}: {e}"),
    };
    let _ = std::fs::remove_file(scratch_index);
    if let Some(dir) = scratch_index.parent() {
        std::fs::create_dir_all(dir).map_err(|e| fail(e, &format!("cannot create `{}`", dir.display())))?;
    }
    let g = repo.clone().with_scratch_index(scratch_index);
    // Start from a copy of the tree's own index: what is staged is on disk already, and its
    // cached trees spare `write-tree` the folders nothing changed in.
    let index = match repo.index_file() {
        Some(i) => Some(i),
        None => repo.run(&["rev-parse", "--git-path", "index"]).ok().map(|p| repo.dir().join(p.trim())),
    };
    let copied = index.is_some_and(|i| i.is_file() && copy_index(&i, scratch_index).is_ok());
    if !copied && st.head.is_some() {
        g.run(&["read-tree", "HEAD"])?;
    }
    let mut paths = Vec::new();
    for d in st.dirty.iter().filter(|d| d.on_disk) {
        paths.extend_from_slice(d.path.as_bytes());
        paths.push(0);
    }
    if !paths.is_empty() {
        // `update-index` takes paths, not patterns, and drops the ones that are gone.
        let updated = g.run_with_input(&["update-index", "--add", "--remove", "-z", "--stdin"], &paths);
        if updated.is_err() {
            // What it refuses (a nested repository, a file turned folder): `add` knows them all.
            g.run(&["add", "--all", "--", "."])?;
        }
    }
    let tree = g.run(&["write-tree"]);
    let _ = std::fs::remove_file(scratch_index);
    Ok(tree?.trim().to_owned())
}

/// Copies the index file `from` to `to` with its modification time. git trusts an entry whose
/// cached stat data matches the file unless the entry is as new as the index file itself (a
/// file changed in the same clock tick as the index was written looks unchanged); a copy
/// with a new time would make such an entry look older than the index, and `update-index`
/// would keep the old content of a file `status` had just reported changed.
fn copy_index(from: &std::path::Path, to: &std::path::Path) -> std::io::Result<()> {
    let modified = std::fs::metadata(from)?.modified()?;
    std::fs::copy(from, to)?;
    std::fs::OpenOptions::new().write(true).open(to)?.set_modified(modified)
}

/// The paths that differ between two trees (or commits).
pub fn between(repo: &Git, from: &str, to: &str) -> Result<Vec<Changed>, GitError> {
    let diff = repo.run(&["diff", "--no-renames", "--name-status", "-z", from, to, "--"])?;
    Ok(name_status(&diff))
}

/// The paths of `git diff --name-status -z` output, with how each changed.
fn name_status(diff: &str) -> Vec<Changed> {
    let mut out = Vec::new();
    let mut fields = nul_split(diff);
    while let (Some(status), Some(path)) = (fields.next(), fields.next()) {
        let kind = match status.chars().next() {
            Some('A') => Kind::Added,
            Some('D') => Kind::Deleted,
            _ => Kind::Modified,
        };
        out.push(Changed { path: path.to_owned(), kind });
    }
    out
}

/// The diff of what a task changed since `base` (committed or not, new files included), at
/// most `limit` bytes, for a reviewer to read.
pub fn patch(wt: &Git, base: &str, limit: usize) -> Result<String, GitError> {
    let mut text = wt.run(&["diff", "--no-color", "--no-ext-diff", base, "--"])?;
    let untracked = wt.run(&["ls-files", "-z", "--others", "--exclude-standard"])?;
    for path in nul_split(&untracked) {
        // New files git does not track yet, as additions.
        let out = wt.output(&["diff", "--no-color", "--no-index", "--", "/dev/null", path])?;
        text.push_str(&String::from_utf8_lossy(&out.stdout));
    }
    if text.len() > limit {
        let mut cut = limit;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("\n… (the diff is longer; read the files themselves)\n");
    }
    Ok(text)
}
