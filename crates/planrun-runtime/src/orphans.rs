//! Finding and stopping the processes a crashed run left behind. Every child planrun starts
//! carries `PLANRUN_STATE=<state dir>` in its environment, and so do its own children; after a
//! crash, the next run (holding the run lock, so no live planrun owns them) looks through
//! `/proc` for processes with that variable and stops their process groups: SIGTERM, a grace
//! period, then SIGKILL. Linux only; elsewhere nothing is found.

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use std::path::Path;
use std::time::{Duration, Instant};

/// The environment variable that marks a run's processes.
pub(crate) const MARK: &str = "PLANRUN_STATE";

/// Processes whose environment holds `PLANRUN_STATE=<state_dir>`, with their process groups.
pub(crate) fn find(state_dir: &Path) -> Vec<(i32, i32)> {
    let mut needle = format!("{MARK}=").into_bytes();
    needle.extend_from_slice(state_dir.as_os_str().as_encoded_bytes());
    let me = std::process::id();
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else { continue };
        if u32::try_from(pid).is_ok_and(|p| p == me) {
            continue;
        }
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else { continue };
        if !environ.split(|&b| b == 0).any(|var| var == needle.as_slice()) {
            continue;
        }
        if let Some(pgid) = process_group(pid) {
            found.push((pid, pgid));
        }
    }
    found
}

/// The process group of `pid`, from `/proc/<pid>/stat` (a zombie has none worth stopping).
fn process_group(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces; fields after it are plain.
    let rest = stat.rsplit_once(')')?.1;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?;
    if state == "Z" || state == "X" {
        return None;
    }
    let _ppid = fields.next()?;
    fields.next()?.parse().ok()
}

/// Stops every process of a crashed run: SIGTERM to each group, up to `grace` for them to end,
/// then SIGKILL. Returns the pids that were found.
pub(crate) fn stop(state_dir: &Path, grace: Duration) -> Vec<i32> {
    let found = find(state_dir);
    if found.is_empty() {
        return Vec::new();
    }
    // Never our own group: that would stop planrun (and whatever started it).
    let own = nix::unistd::getpgrp().as_raw();
    let mut groups: Vec<i32> = found.iter().map(|&(_, g)| g).filter(|&g| g != own).collect();
    groups.sort_unstable();
    groups.dedup();
    for &g in &groups {
        signal(g, Signal::SIGTERM);
    }
    let pids: Vec<i32> = found.iter().map(|&(p, _)| p).collect();
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline && !find(state_dir).is_empty() {
        std::thread::sleep(Duration::from_millis(20));
    }
    for &g in &groups {
        signal(g, Signal::SIGKILL);
    }
    // Stragglers that left their group still carry the mark.
    for (pid, _) in find(state_dir) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
    pids
}

fn signal(group: i32, sig: Signal) {
    if group > 1 {
        let _ = killpg(Pid::from_raw(group), sig);
    }
}
