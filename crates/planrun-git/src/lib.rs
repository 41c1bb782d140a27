//! How planrun uses git, through the `git` binary (never a library reimplementation): a task's
//! worktree and branch, the files a task really changed against where it started and whether
//! they stay inside its declared files, the task's commit with its `Planrun-Task` trailer (and
//! finding it again after a crash), and integrating a task branch onto the integration branch
//! one at a time (rebase, conflicts reported with their hunks, fast-forward). Knows nothing of
//! agents, the engine or the journal.

pub mod commit;
pub mod keep;
pub mod merge;
pub mod scope;
pub mod worktree;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, OnceLock};
use thiserror::Error;

/// A git command that failed.
#[derive(Debug, Error)]
pub enum GitError {
    #[error("cannot run git: {0} (is git installed and in PATH?)")]
    Spawn(#[source] std::io::Error),
    #[error("`git {args}` failed{}: {stderr}", code.map(|c| format!(" with code {c}")).unwrap_or_default())]
    Failed { args: String, code: Option<i32>, stderr: String },
    #[error("git printed something planrun cannot read for `git {args}`: {what}")]
    Unexpected { args: String, what: String },
}

/// A repository or worktree folder, and how planrun runs git in it.
#[derive(Debug, Clone)]
pub struct Git {
    dir: PathBuf,
    /// Variables set for every git command (e.g. `GIT_CONFIG_GLOBAL` in tests).
    env: Vec<(String, String)>,
    /// What planrun asks of the repository's configuration, once per repository.
    config: Arc<OnceLock<Asked>>,
}

impl PartialEq for Git {
    fn eq(&self, other: &Self) -> bool {
        self.dir == other.dir && self.env == other.env
    }
}

impl Eq for Git {}

impl Git {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into(), env: Vec::new(), config: Arc::default() }
    }

    /// The same, with `key=value` set for every git command it runs.
    #[must_use]
    pub fn with_env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// The same, with git configuration `key=value` for every git command it runs (through
    /// `GIT_CONFIG_COUNT`, after any entries the environment already holds).
    #[must_use]
    pub fn with_config(mut self, key: &str, value: &str) -> Self {
        let inherited = std::env::var("GIT_CONFIG_COUNT").ok().and_then(|n| n.parse::<usize>().ok()).unwrap_or(0);
        let n = self
            .env
            .iter()
            .rev()
            .find(|(k, _)| k == "GIT_CONFIG_COUNT")
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or(inherited);
        self.env.push((format!("GIT_CONFIG_KEY_{n}"), key.to_owned()));
        self.env.push((format!("GIT_CONFIG_VALUE_{n}"), value.to_owned()));
        self.env.push(("GIT_CONFIG_COUNT".to_owned(), (n + 1).to_string()));
        self
    }

    /// The same, working on the index file `index` instead of the tree's own: a scratch index
    /// planrun alone reads, written without its trailing checksum (`index.skipHash`), which
    /// costs a hash of the whole index at each write (tens of ms for 100,000 files).
    #[must_use]
    pub fn with_scratch_index(self, index: &Path) -> Self {
        self.with_env("GIT_INDEX_FILE", &index.display().to_string()).with_config("index.skipHash", "true")
    }

    /// A `Git` for another folder with the same settings (a worktree of this repository).
    #[must_use]
    pub fn at(&self, dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into(), env: self.env.clone(), config: Arc::clone(&self.config) }
    }

    /// The index file of this working tree, found without running git: `.git/index` in a
    /// repository's own tree, `GITDIR/index` in a worktree (whose `.git` file names GITDIR).
    /// `None` when `.git` is neither (then ask git: `rev-parse --git-path index`).
    pub fn index_file(&self) -> Option<PathBuf> {
        let dot = self.dir.join(".git");
        if dot.is_dir() {
            return Some(dot.join("index"));
        }
        let text = std::fs::read_to_string(&dot).ok()?;
        let gitdir = text.lines().next()?.strip_prefix("gitdir: ")?.trim();
        Some(self.dir.join(gitdir).join("index"))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `git ARGS` in this folder, never interactive, in the C locale (so messages parse),
    /// without a pager; returns its output whatever the exit code.
    pub fn output(&self, args: &[&str]) -> Result<Output, GitError> {
        self.command(args).stdin(Stdio::null()).output().map_err(GitError::Spawn)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new("git");
        c.arg("-C")
            .arg(&self.dir)
            .args(args)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_PAGER", "cat")
            .env("LC_ALL", "C")
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_INDEX_FILE")
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        c
    }

    /// `git ARGS` with `input` on its standard input, which must succeed; its stdout.
    pub fn run_with_input(&self, args: &[&str], input: &[u8]) -> Result<String, GitError> {
        use std::io::Write;
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(GitError::Spawn)?;
        let mut stdin = child.stdin.take();
        let input = input.to_vec();
        // Written beside the reading, so a large input never waits on a full output pipe.
        let writer = std::thread::spawn(move || stdin.as_mut().map(|s| s.write_all(&input)));
        let out = child.wait_with_output().map_err(GitError::Spawn)?;
        let _ = writer.join();
        Self::checked(args, out)
    }

    /// `git ARGS`, which must succeed; its stdout.
    pub fn run(&self, args: &[&str]) -> Result<String, GitError> {
        Self::checked(args, self.output(args)?)
    }

    fn checked(args: &[&str], out: Output) -> Result<String, GitError> {
        if !out.status.success() {
            return Err(GitError::Failed {
                args: args.join(" "),
                code: out.status.code(),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The commit `rev` names.
    pub fn rev_parse(&self, rev: &str) -> Result<String, GitError> {
        let spec = format!("{rev}^{{commit}}");
        Ok(self.run(&["rev-parse", "--verify", "--quiet", &spec])?.trim().to_owned())
    }

    /// The current commit.
    pub fn head(&self) -> Result<String, GitError> {
        self.rev_parse("HEAD")
    }

    /// The branch checked out here, if any (`None` on a detached HEAD).
    pub fn current_branch(&self) -> Result<Option<String>, GitError> {
        let out = self.output(&["symbolic-ref", "--quiet", "--short", "HEAD"])?;
        let name = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        Ok((out.status.success() && !name.is_empty()).then_some(name))
    }

    /// Whether branch `name` exists.
    pub fn branch_exists(&self, name: &str) -> Result<bool, GitError> {
        let r = format!("refs/heads/{name}");
        Ok(self.output(&["show-ref", "--verify", "--quiet", &r])?.status.success())
    }

    /// Creates branch `name` at `start` (an error if it exists).
    pub fn create_branch(&self, name: &str, start: &str) -> Result<(), GitError> {
        self.run(&["branch", "--no-track", name, start]).map(|_| ())
    }

    /// Deletes branch `name` (merged or not); a branch already gone is fine.
    pub fn delete_branch(&self, name: &str) -> Result<(), GitError> {
        let out = self.output(&["branch", "--quiet", "-D", name])?;
        if out.status.success() || !self.branch_exists(name)? {
            return Ok(());
        }
        Err(GitError::Failed {
            args: format!("branch --quiet -D {name}"),
            code: out.status.code(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }

    /// The commit branch `name` points at, `None` when there is no such branch.
    pub fn branch_tip(&self, name: &str) -> Result<Option<String>, GitError> {
        let spec = format!("refs/heads/{name}^{{commit}}");
        let out = self.output(&["rev-parse", "--verify", "--quiet", &spec])?;
        let tip = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        Ok((out.status.success() && !tip.is_empty()).then_some(tip))
    }

    /// The commit branch `name` points at.
    pub fn branch_head(&self, name: &str) -> Result<String, GitError> {
        self.rev_parse(&format!("refs/heads/{name}"))
    }

    /// `-c user.name=… -c user.email=…` when the repository has no identity of its own, so
    /// planrun's commits never fail on a fresh machine; empty when one is configured. Asked
    /// of git once per repository (the `Git` it was made from and those made with `at`).
    pub fn identity_args(&self) -> Vec<String> {
        self.asked().identity.clone()
    }

    /// Whether the repository signs its commits (`commit.gpgSign`): then planrun commits only
    /// through `git commit`, which signs.
    pub fn signs_commits(&self) -> bool {
        self.asked().signs
    }

    fn asked(&self) -> &Asked {
        self.config.get_or_init(|| self.ask_config())
    }

    fn ask_config(&self) -> Asked {
        // One process for all keys: `-z` prints `key\nvalue\0` for each one set (keys in
        // lower case).
        let out = self.output(&["config", "-z", "--get-regexp", r"^(user\.(name|email)|commit\.gpgsign)$"]);
        let text = out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
        let value = |key: &str| {
            // A key set without a value (`gpgsign` alone) prints no newline: it means true.
            nul_split(&text)
                .map(|e| e.split_once('\n').unwrap_or((e, "")))
                .filter(|(k, _)| *k == key)
                .map(|(_, v)| v.trim())
                .last()
        };
        let has = |key: &str| value(key).is_some_and(|v| !v.is_empty());
        let env = |k: &str| std::env::var_os(k).is_some();
        let mut args = Vec::new();
        if !has("user.name") && !env("GIT_AUTHOR_NAME") {
            args.extend(["-c".to_owned(), "user.name=planrun".to_owned()]);
        }
        if !has("user.email") && !env("GIT_AUTHOR_EMAIL") {
            args.extend(["-c".to_owned(), "user.email=planrun@localhost".to_owned()]);
        }
        let signs = value("commit.gpgsign")
            .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "yes" | "on" | "1" | ""));
        Asked { identity: args, signs }
    }
}

/// What planrun asked of a repository's configuration.
#[derive(Debug, Clone, Default)]
struct Asked {
    identity: Vec<String>,
    signs: bool,
}

/// Splits `git … -z` output into its entries.
pub(crate) fn nul_split(text: &str) -> impl Iterator<Item = &str> {
    text.split('\0').filter(|s| !s.is_empty())
}
