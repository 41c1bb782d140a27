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
    /// operating system when the process ends, however it ends. A lock held for a moment only
    /// (a `status` or `report` looking whether a run is on, see [`Layout::probe`]) is waited for
    /// a little, so looking never makes a run that starts meanwhile fail as busy.
    pub(crate) fn lock(&self) -> Result<Lock, LockError> {
        let path = self.lock_file();
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| LockError::Io(path.clone(), e))?;
        let mut tries = 0;
        let mut file = loop {
            match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(f) => break f,
                Err((f, Errno::EWOULDBLOCK)) if tries < LOCK_TRIES => {
                    tries += 1;
                    file = f;
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err((_, Errno::EWOULDBLOCK)) => {
                    let holder = std::fs::read_to_string(&path).ok().and_then(|s| s.trim().parse::<u32>().ok());
                    return Err(LockError::Held { holder });
                }
                Err((_, e)) => return Err(LockError::Io(path, e.into())),
            }
        };
        use std::io::{Seek as _, Write as _};
        let _ = file.set_len(0);
        let _ = file.seek(std::io::SeekFrom::Start(0));
        let _ = write!(file, "{}", std::process::id());
        let _ = file.flush();
        Ok(Lock { _file: file })
    }
}

/// How many times `lock` tries again, 20 ms apart, before it says the lock is held.
const LOCK_TRIES: u32 = 10;

impl Layout {
    /// Whether a run holds the lock, without taking it for more than a moment and without
    /// writing to it: `Some` with the holder's process id when it says. A lock file that does
    /// not exist, or cannot be opened, says no run is on.
    pub(crate) fn probe(&self) -> Option<Option<u32>> {
        let path = self.lock_file();
        let file = std::fs::File::open(&path).ok()?;
        match Flock::lock(file, FlockArg::LockSharedNonblock) {
            Ok(_shared) => None,
            Err((_, Errno::EWOULDBLOCK)) => {
                Some(std::fs::read_to_string(&path).ok().and_then(|s| s.trim().parse::<u32>().ok()))
            }
            Err(_) => None,
        }
    }
}

/// The held run lock; dropping it releases the lock.
#[derive(Debug)]
pub(crate) struct Lock {
    _file: Flock<File>,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another planrun is working on this run{}", holder.map(|p| format!(" (process {p})")).unwrap_or_default())]
    Held { holder: Option<u32> },
    #[error("cannot lock `{path}`: {1}", path = .0.display())]
    Io(PathBuf, #[source] std::io::Error),
}

/// Replaces `path` with `bytes` atomically and durably: a temporary file in the same folder,
/// synced, renamed over `path`, then the folder synced, so a crash or a power cut leaves the old
/// file or the new one, never a torn or missing one.
pub(crate) fn replace_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    // The rename is durable once the folder is.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Replaces `path` with `bytes` atomically (a temporary file renamed over it: a reader sees the
/// old text or the new), without waiting for the disk: for files that can be written again
/// from the journal.
pub(crate) fn replace_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The UTC calendar date and time of milliseconds since the epoch: (year, month, day, hours,
/// minutes, seconds).
fn civil(unix_ms: u64) -> (i64, i64, i64, u64, u64, u64) {
    let secs = unix_ms / 1000;
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Days to a civil date (proleptic Gregorian), after Howard Hinnant's algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, rem / 3600, (rem % 3600) / 60, rem % 60)
}

/// `YYYYMMDD-HHMMSS` (UTC) of a time in milliseconds since the epoch.
pub(crate) fn run_id(unix_ms: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(unix_ms);
    format!("{y:04}{mo:02}{d:02}-{h:02}{mi:02}{s:02}")
}

/// `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339, UTC) of a time in milliseconds since the epoch.
pub(crate) fn utc(unix_ms: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(unix_ms);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn run_ids_are_utc_dates() {
        assert_eq!(run_id(0), "19700101-000000");
        // Checked with Python: datetime.utcfromtimestamp(1795268695).
        assert_eq!(run_id(1_795_268_695_083), "20261121-134455");
        assert_eq!(run_id(951_782_400_000), "20000229-000000");
        assert_eq!(utc(1_795_268_695_083), "2026-11-21T13:44:55Z");
    }

    fn layout(dir: &Path) -> Layout {
        Layout { dir: dir.to_owned(), workspace: dir.to_owned() }
    }

    #[test]
    fn looking_never_takes_the_lock_from_a_run_nor_rewrites_its_holder() {
        let d = tempfile::tempdir().unwrap();
        let l = layout(d.path());
        // No lock file: no run.
        assert_eq!(l.probe(), None);
        assert!(!l.lock_file().exists(), "looking creates nothing");
        // A run holds it: looking says so, with its process id, and leaves the file alone.
        let held = l.lock().unwrap();
        assert_eq!(l.probe(), Some(Some(std::process::id())));
        assert_eq!(std::fs::read_to_string(l.lock_file()).unwrap(), std::process::id().to_string());
        drop(held);
        assert_eq!(l.probe(), None);
        // Someone looking at the instant a run starts: the run waits for the look to end.
        let look = Flock::lock(File::open(l.lock_file()).unwrap(), FlockArg::LockSharedNonblock).unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(60));
            drop(look);
        });
        let run = l.lock();
        release.join().unwrap();
        assert!(run.is_ok(), "{run:?}");
        drop(run);
        // A run that really holds it is still reported as busy.
        let other = Flock::lock(File::open(l.lock_file()).unwrap(), FlockArg::LockSharedNonblock).unwrap();
        assert!(matches!(l.lock(), Err(LockError::Held { .. })));
        drop(other);
    }
}
