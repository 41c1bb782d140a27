//! Where a run keeps its state: the state directory (default `.planrun/` at the git top level of
//! the plan, or beside the plan outside git), the journal, per-attempt logs and prompt files, the
//! notes tasks leave for their dependents, and the lock that keeps two planruns off one run.
//! Knows paths and the lock; nothing about scheduling.

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use std::fs::File;
use std::path::{Path, PathBuf};

/// The files of one state directory.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub(crate) dir: PathBuf,
    /// Where agents and verify commands run: the git top level, or the plan's folder.
    pub(crate) workspace: PathBuf,
}

/// The git top level of `dir`, if `dir` is inside a work tree.
pub(crate) fn git_toplevel(dir: &Path) -> Option<PathBuf> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--show-toplevel"])
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let top = text.trim_end_matches(['\n', '\r']);
    if top.is_empty() { None } else { Some(PathBuf::from(top)) }
}

/// The folder a plan path lives in (the path itself for a folder plan), made absolute.
pub(crate) fn plan_dir(plan: &Path) -> PathBuf {
    let abs = std::path::absolute(plan).unwrap_or_else(|_| plan.to_owned());
    if abs.is_dir() { abs } else { abs.parent().map_or_else(|| PathBuf::from("/"), Path::to_owned) }
}

impl Layout {
    /// The layout for a plan: `state_dir` if given, else `.planrun/` at the git top level of the
    /// plan's folder, else `.planrun/` beside the plan.
    pub(crate) fn for_plan(plan: &Path, state_dir: Option<&Path>) -> Self {
        let dir = plan_dir(plan);
        let workspace = git_toplevel(&dir).unwrap_or(dir);
        Self::new(workspace, state_dir)
    }

    /// The layout for commands given no plan: from the current directory.
    pub(crate) fn from_cwd(state_dir: Option<&Path>) -> Self {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        let workspace = git_toplevel(&cwd).unwrap_or(cwd);
        Self::new(workspace, state_dir)
    }

    fn new(workspace: PathBuf, state_dir: Option<&Path>) -> Self {
        let dir = match state_dir {
            Some(d) => std::path::absolute(d).unwrap_or_else(|_| d.to_owned()),
            None => workspace.join(".planrun"),
        };
        Self { dir, workspace }
    }

    pub(crate) fn journal(&self) -> PathBuf {
        self.dir.join("journal.db")
    }

    pub(crate) fn lock_file(&self) -> PathBuf {
        self.dir.join("lock")
    }

    // Flat folders with the task id in each file name (ids are validated to be safe file
    // names before anything runs): no directory to create per task, which a 10,000-task run
    // would feel.
    pub(crate) fn attempt_log(&self, task: &str, attempt: u32, step: &str) -> PathBuf {
        self.dir.join("logs").join(format!("{task}.{attempt}.{step}.log"))
    }

    pub(crate) fn final_log(&self, n: u64) -> PathBuf {
        self.dir.join("logs").join(format!("final-check.{n}.log"))
    }

    pub(crate) fn prompt(&self, task: &str, attempt: u32) -> PathBuf {
        self.dir.join("prompts").join(format!("{task}.{attempt}.md"))
    }

    pub(crate) fn notes(&self, task: &str) -> PathBuf {
        self.dir.join("notes").join(format!("{task}.md"))
    }

    /// Whether a journal exists here.
    pub(crate) fn exists(&self) -> bool {
        self.journal().is_file()
    }

    /// Creates the state directory and its folders, with a `.gitignore` so its files never show
    /// in `git status`.
    pub(crate) fn create(&self) -> std::io::Result<()> {
        for sub in ["logs", "prompts", "notes"] {
            std::fs::create_dir_all(self.dir.join(sub))?;
        }
        let ignore = self.dir.join(".gitignore");
        if !ignore.exists() {
            std::fs::write(ignore, "# planrun's state: the journal, logs and prompts of runs.\n*\n")?;
        }
        Ok(())
    }

    /// Takes the run lock, or says which process holds it. The lock is released by the
    /// operating system when the process ends, however it ends.
    pub(crate) fn lock(&self) -> Result<Lock, LockError> {
        let path = self.lock_file();
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| LockError::Io(path.clone(), e))?;
        let mut file = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(f) => f,
            Err((_, Errno::EWOULDBLOCK)) => {
                let holder = std::fs::read_to_string(&path).ok().and_then(|s| s.trim().parse::<u32>().ok());
                return Err(LockError::Held { holder });
            }
            Err((_, e)) => return Err(LockError::Io(path, e.into())),
        };
        use std::io::{Seek as _, Write as _};
        let _ = file.set_len(0);
        let _ = file.seek(std::io::SeekFrom::Start(0));
        let _ = write!(file, "{}", std::process::id());
        let _ = file.flush();
        Ok(Lock { _file: file })
    }
}

/// The held run lock; dropping it releases the lock.
#[derive(Debug)]
pub(crate) struct Lock {
    _file: Flock<File>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum LockError {
    #[error("another planrun is working on this run{}", holder.map(|p| format!(" (process {p})")).unwrap_or_default())]
    Held { holder: Option<u32> },
    #[error("cannot lock `{path}`: {1}", path = .0.display())]
    Io(PathBuf, #[source] std::io::Error),
}
