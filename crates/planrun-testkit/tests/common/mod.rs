//! What the real-CLI tests share: a temporary git repository to work in, and running a CLI
//! headless (stdin from /dev/null) with its JSON-lines events parsed.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use std::process::{Command, Stdio};

/// How a CLI run ended: exit code, its JSON events (other lines skipped), and stderr.
pub struct CliRun {
    pub code: Option<i32>,
    pub events: Vec<Value>,
    pub stderr: String,
}

/// The installed agent CLI `name`; a missing one fails the test with what to run.
pub fn cli(name: &str) -> Command {
    Command::new(planrun_testkit::agent_cli(name).unwrap_or_else(|e| panic!("{e}")))
}

/// Runs `cmd` with stdin from /dev/null and collects its events.
pub fn run(cmd: &mut Command) -> CliRun {
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    let events =
        String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).collect();
    CliRun { code: out.status.code(), events, stderr: String::from_utf8_lossy(&out.stderr).into_owned() }
}

/// A temporary git repository with an empty `.home` folder for the CLI's own configuration.
pub fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    assert!(Command::new("git").args(["init", "-q"]).current_dir(dir.path()).status().unwrap().success());
    std::fs::create_dir_all(dir.path().join(".home")).unwrap();
    dir
}
