//! One supervised child process: started in its own process group with stdin from /dev/null,
//! stdout and stderr read through pipes by two copying threads that redact secrets and append
//! to a log file line by line (so memory stays flat whatever the child prints),
//! and watched by one `select!` over its exit, a wall-clock limit, a no-output (stall) limit and
//! a cancellation signal. On any limit or cancellation the whole group gets SIGTERM, a grace
//! period, then SIGKILL; whatever the group leaves behind after the leader exits is killed too.
//! Decides nothing about what runs next.

use crate::redact::{MAX_SECRET, Redactor};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::io::Write as _;
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use thiserror::Error;
use tokio::process::Child;
use tokio::sync::watch;
use tokio::time::Instant;

/// What to run and how to watch it.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The program and its arguments; never passed through a shell.
    pub argv: Vec<String>,
    /// The working directory.
    pub cwd: PathBuf,
    /// Variables added to the environment.
    pub env: Vec<(String, String)>,
    /// Start from an empty environment (then `env` is all the child gets) instead of planrun's.
    pub clear_env: bool,
    /// What is taken out of the output before it reaches the log.
    pub redact: Arc<Redactor>,
    /// Where stdout and stderr are appended, whole lines of each as they arrive.
    pub log: PathBuf,
    /// Kill the child after this long in total.
    pub wall_limit: Option<Duration>,
    /// Kill the child after this long without a byte of output.
    pub stall_limit: Option<Duration>,
    /// Time between SIGTERM and SIGKILL.
    pub grace: Duration,
}

/// How a supervised run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The child exited by itself with this code.
    Exited { code: i32 },
    /// The child was killed by a signal planrun did not send.
    Signaled { signal: i32 },
    /// The wall-clock limit ran out; the group was stopped.
    TimedOut { limit: Duration },
    /// No output for the stall limit; the group was stopped.
    Stalled { limit: Duration },
    /// Cancellation was asked for; the group was stopped.
    Cancelled,
}

impl Outcome {
    pub fn success(&self) -> bool {
        *self == Outcome::Exited { code: 0 }
    }
}

/// The end of a supervised run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub outcome: Outcome,
    pub elapsed: Duration,
    /// The child's process id, which is also its process group id.
    pub pid: u32,
    /// Bytes the child wrote to the log during this run.
    pub output_bytes: u64,
    /// Whether SIGKILL was needed because SIGTERM and the grace period did not end the group.
    pub killed: bool,
}

/// Why a run could not be supervised at all.
#[derive(Debug, Error)]
pub enum SuperviseError {
    #[error("no program to run: the command is empty")]
    EmptyCommand,
    #[error("cannot open the log file `{}`: {source}", path.display())]
    Log {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start `{program}`: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot wait for `{program}`: {source}")]
    Wait {
        program: String,
        #[source]
        source: std::io::Error,
    },
}

/// How often the log's size is looked at for the stall limit.
/// `program` found on the `PATH` the child gets (its own `PATH` in `spec.env`, else ours),
/// relative folders taken from the child's folder, as `execvp` would. Named by its path, the
/// child is started with `posix_spawn` (a `vfork`); a program git must look up on a `PATH` the
/// command changes makes the standard library fork the whole process instead, copying its
/// memory map on every spawn. Unchanged when it names a path or is not found (the spawn then
/// reports it as before).
fn resolve(program: &str, spec: &Spec) -> PathBuf {
    use std::collections::HashMap;
    use std::sync::Mutex;
    type Key = (String, Option<std::ffi::OsString>, PathBuf);
    /// What was found, for the same program, `PATH` and folder (a run starts the same agent
    /// thousands of times).
    static FOUND: Mutex<Option<HashMap<Key, PathBuf>>> = Mutex::new(None);
    if program.contains('/') {
        return PathBuf::from(program);
    }
    let path = match spec.env.iter().rev().find(|(k, _)| k == "PATH") {
        Some((_, v)) => Some(std::ffi::OsString::from(v)),
        None if spec.clear_env => None,
        None => std::env::var_os("PATH"),
    };
    let key = (program.to_owned(), path.clone(), spec.cwd.clone());
    if let Some(found) = FOUND.lock().ok().and_then(|m| m.as_ref().and_then(|m| m.get(&key).cloned())) {
        // Still there (a program removed or replaced meanwhile is looked up again).
        if found.is_file() {
            return found;
        }
    }
    let found = lookup(program, path.as_deref(), &spec.cwd);
    if found.is_absolute() {
        if let Ok(mut m) = FOUND.lock() {
            m.get_or_insert_with(HashMap::new).insert(key, found.clone());
        }
    }
    found
}

fn lookup(program: &str, path: Option<&std::ffi::OsStr>, cwd: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let Some(path) = path else { return PathBuf::from(program) };
    for dir in std::env::split_paths(&path) {
        let dir = if dir.as_os_str().is_empty() { PathBuf::from(".") } else { dir };
        let candidate = if dir.is_absolute() { dir.join(program) } else { cwd.join(dir).join(program) };
        let runnable = std::fs::metadata(&candidate).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
        if runnable {
            return candidate;
        }
    }
    PathBuf::from(program)
}

fn stall_poll(limit: Duration) -> Duration {
    (limit / 4).clamp(Duration::from_millis(10), Duration::from_millis(500))
}

fn log_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// Runs `spec` to its end. `cancel` turning `true` stops the run (e.g. on a second Ctrl-C).
pub async fn run(spec: &Spec, mut cancel: watch::Receiver<bool>) -> Result<Finished, SuperviseError> {
    let (program, args) = spec.argv.split_first().ok_or(SuperviseError::EmptyCommand)?;
    let open = || {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&spec.log)
            .map_err(|source| SuperviseError::Log { path: spec.log.clone(), source })
    };
    // Both streams append whole lines to one log (interleaved as a terminal shows them).
    let out_log = open()?;
    let err_log = open()?;
    let start_len = log_len(&spec.log);
    let started = Instant::now();
    let mut command = tokio::process::Command::new(resolve(program, spec));
    if spec.clear_env {
        command.env_clear();
    }
    let mut child = command
        .args(args)
        .current_dir(&spec.cwd)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|source| SuperviseError::Spawn { program: program.clone(), source })?;
    let pid = child.id().unwrap_or(0);
    // Bytes read from the child's pipes: the stall limit watches these, not the log, which grows
    // only at whole lines (a child printing dots without a newline is not silent).
    let received = Arc::new(AtomicU64::new(0));
    let mut copies = Vec::new();
    if let Some(out) = child.stdout.take() {
        copies.push(copy(out, out_log, Arc::clone(&spec.redact), Arc::clone(&received)));
    }
    if let Some(err) = child.stderr.take() {
        copies.push(copy(err, err_log, Arc::clone(&spec.redact), Arc::clone(&received)));
    }
    let wait_err = |source| SuperviseError::Wait { program: program.clone(), source };

    let wall = spec.wall_limit.map(|l| started + l);
    let mut last_len = 0;
    let mut last_output = started;
    let mut poll = tokio::time::interval(spec.stall_limit.map_or(Duration::from_secs(3600), stall_poll));
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut cancel_open = true;

    let stop_reason = loop {
        tokio::select! {
            status = child.wait() => {
                let status = status.map_err(wait_err)?;
                // The leader is gone; anything it left running in its group goes too. (Its pid
                // could in principle be reused as a new group id in the instant since it was
                // reaped; an orchestrator's leftovers are the far likelier risk.)
                signal_group(pid, Signal::SIGKILL);
                drained(copies).await;
                let outcome = match (status.code(), status.signal()) {
                    (Some(code), _) => Outcome::Exited { code },
                    (None, Some(signal)) => Outcome::Signaled { signal },
                    (None, None) => Outcome::Exited { code: -1 },
                };
                return Ok(finished(outcome, started, pid, &spec.log, start_len, false));
            }
            () = sleep_until_opt(wall) => {
                break Outcome::TimedOut { limit: spec.wall_limit.unwrap_or_default() };
            }
            _ = poll.tick(), if spec.stall_limit.is_some() => {
                let len = received.load(Ordering::Relaxed);
                if len != last_len {
                    last_len = len;
                    last_output = Instant::now();
                } else if let Some(limit) = spec.stall_limit {
                    if last_output.elapsed() >= limit {
                        break Outcome::Stalled { limit };
                    }
                }
            }
            changed = cancel.changed(), if cancel_open => {
                if changed.is_err() {
                    // Nobody can cancel any more; keep supervising.
                    cancel_open = false;
                } else if *cancel.borrow() {
                    break Outcome::Cancelled;
                }
            }
        }
    };
    let killed = stop(&mut child, pid, spec.grace).await.map_err(wait_err)?;
    drained(copies).await;
    Ok(finished(stop_reason, started, pid, &spec.log, start_len, killed))
}

fn finished(outcome: Outcome, started: Instant, pid: u32, log: &Path, start_len: u64, killed: bool) -> Finished {
    Finished { outcome, elapsed: started.elapsed(), pid, output_bytes: log_len(log).saturating_sub(start_len), killed }
}

/// A line longer than this is written in pieces (keeping memory flat for output without
/// newlines).
const LINE_CAP: usize = 4 << 20;

/// Copies a pipe to the log as a task of the runtime (no thread of its own: handing each
/// step's output to other threads cost more than a quick agent): whole lines, secrets redacted.
/// The receiver learns when the pipe reached its end. A pipe that a process outside the group
/// keeps open keeps its task waiting; the runtime is shut down without waiting for it.
fn copy(
    mut from: impl tokio::io::AsyncRead + Unpin + Send + 'static,
    mut to: std::fs::File,
    redact: Arc<Redactor>,
    received: Arc<AtomicU64>,
) -> tokio::sync::oneshot::Receiver<()> {
    use tokio::io::AsyncReadExt as _;
    let (tx, rx) = tokio::sync::oneshot::channel();
    // Dropping the handle detaches the task; the receiver says when it is done.
    drop(tokio::spawn(async move {
        let mut buf: Vec<u8> = Vec::with_capacity(8 << 10);
        let mut chunk = vec![0u8; 64 << 10];
        // A log that cannot be written any more (full disk) still has its pipe read to the end,
        // so the child never blocks on a full pipe.
        let mut writable = true;
        let mut write = |bytes: &[u8], writable: &mut bool| {
            if *writable && !bytes.is_empty() && to.write_all(&redact.bytes(bytes)).is_err() {
                *writable = false;
            }
        };
        loop {
            let n = match from.read(&mut chunk).await {
                Ok(0) => break,
                Ok(n) => {
                    received.fetch_add(n as u64, Ordering::Relaxed);
                    n
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            let old = buf.len();
            buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
            let fresh = buf.get(old..).unwrap_or_default();
            if let Some(pos) = memchr::memrchr(b'\n', fresh) {
                let end = old + pos + 1;
                write(buf.get(..end).unwrap_or_default(), &mut writable);
                buf.drain(..end);
            } else if buf.len() > LINE_CAP {
                let cut = redact.safe_cut(&buf, buf.len() - MAX_SECRET);
                write(buf.get(..cut).unwrap_or_default(), &mut writable);
                buf.drain(..cut);
            }
        }
        write(&buf, &mut writable);
        let _ = tx.send(());
    }));
    rx
}

/// Waits for the copying threads to reach the end of their pipes: at once when the whole group
/// is gone, bounded when something outside the group still holds a pipe open.
async fn drained(copies: Vec<tokio::sync::oneshot::Receiver<()>>) {
    for c in copies {
        let _ = tokio::time::timeout(Duration::from_secs(5), c).await;
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Sends `signal` to the process group led by `pid`; a group that is already gone is fine.
fn signal_group(pid: u32, signal: Signal) {
    if let Ok(raw) = i32::try_from(pid) {
        if raw > 0 {
            let _ = killpg(Pid::from_raw(raw), signal);
        }
    }
}

/// SIGTERM to the group, the grace period, then SIGKILL. Returns whether SIGKILL was needed.
async fn stop(child: &mut Child, pid: u32, grace: Duration) -> std::io::Result<bool> {
    signal_group(pid, Signal::SIGTERM);
    let killed = tokio::time::timeout(grace, child.wait()).await.is_err();
    // Whatever is left of the group, leader or not, goes now.
    signal_group(pid, Signal::SIGKILL);
    child.wait().await?;
    Ok(killed)
}
