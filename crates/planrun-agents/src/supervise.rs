//! One supervised child process: started in its own process group with stdin from /dev/null,
//! stdout and stderr appended to a log file (so memory stays flat whatever the child prints),
//! and watched by one `select!` over its exit, a wall-clock limit, a no-output (stall) limit and
//! a cancellation signal. On any limit or cancellation the whole group gets SIGTERM, a grace
//! period, then SIGKILL; whatever the group leaves behind after the leader exits is killed too.
//! Decides nothing about what runs next.

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
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
    /// Variables added to the inherited environment.
    pub env: Vec<(String, String)>,
    /// Where stdout and stderr are appended, interleaved as a terminal would show them.
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
    let out = open()?;
    // One open file shared by both streams (appends interleave as a terminal shows them).
    let err = out.try_clone().map_err(|source| SuperviseError::Log { path: spec.log.clone(), source })?;
    let start_len = log_len(&spec.log);
    let started = Instant::now();
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .current_dir(&spec.cwd)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .process_group(0)
        .spawn()
        .map_err(|source| SuperviseError::Spawn { program: program.clone(), source })?;
    let pid = child.id().unwrap_or(0);
    let wait_err = |source| SuperviseError::Wait { program: program.clone(), source };

    let wall = spec.wall_limit.map(|l| started + l);
    let mut last_len = start_len;
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
                let len = log_len(&spec.log);
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
    Ok(finished(stop_reason, started, pid, &spec.log, start_len, killed))
}

fn finished(outcome: Outcome, started: Instant, pid: u32, log: &Path, start_len: u64, killed: bool) -> Finished {
    Finished { outcome, elapsed: started.elapsed(), pid, output_bytes: log_len(log).saturating_sub(start_len), killed }
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
