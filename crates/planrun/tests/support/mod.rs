//! A small builder for tests that run the real `planrun` binary on a real git repository in a
//! temporary folder, with a shell script as the agent.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

pub mod clis;

use serde_json::Value;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("planrun")
}

/// A git repository in a temporary folder holding `plan.md` and `agent.sh`.
pub struct Repo {
    pub dir: tempfile::TempDir,
}

impl Repo {
    pub fn new(plan: &str, agent: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let git = Command::new("git").args(["init", "-q"]).current_dir(dir.path()).status().unwrap();
        assert!(git.success());
        let repo = Self { dir };
        repo.write("plan.md", plan);
        repo.script("agent.sh", agent);
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, name: &str, text: &str) {
        let p = self.path().join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(p, text).unwrap();
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path().join(name)).unwrap_or_default()
    }

    pub fn script(&self, name: &str, body: &str) {
        self.write(name, &format!("#!/bin/sh\n{body}\n"));
        let p = self.path().join(name);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// `planrun ARGS` in the repository, without a terminal, colour off.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.args(args).current_dir(self.path()).env("NO_COLOR", "1").env_remove("PLANRUN_AGENT_COMMAND");
        c
    }

    /// `planrun run plan.md --agent-command ./agent.sh EXTRA…`.
    pub fn run(&self, extra: &[&str]) -> Output {
        let mut args = vec!["run", "plan.md", "--agent-command", "./agent.sh"];
        args.extend_from_slice(extra);
        self.cmd(&args).output().unwrap()
    }

    pub fn status(&self) -> Value {
        let out = self.cmd(&["status", "--json"]).output().unwrap();
        assert!(out.status.success(), "status failed: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Each task's state, by id.
    pub fn states(&self) -> Vec<(String, String)> {
        let s = self.status();
        s["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["id"].as_str().unwrap().to_owned(), t["state"].as_str().unwrap().to_owned()))
            .collect()
    }

    pub fn task(&self, id: &str) -> Value {
        let s = self.status();
        s["tasks"].as_array().unwrap().iter().find(|t| t["id"] == id).cloned().unwrap()
    }
}

pub fn text(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The NDJSON events of a `--json` run, each checked against `planrun schema --events`.
pub fn events(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
            let errors: Vec<String> =
                events_schema().iter_errors(&v).map(|e| format!("{e} at {}", e.instance_path())).collect();
            assert!(errors.is_empty(), "{l}\ndoes not match `planrun schema --events`:\n{}", errors.join("\n"));
            v
        })
        .collect()
}

/// The validator of the schema `planrun schema --events` prints (made once per test binary).
pub fn events_schema() -> &'static jsonschema::Validator {
    static SCHEMA: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(|| {
        let out = Command::new(bin()).args(["schema", "--events"]).output().unwrap();
        assert!(out.status.success(), "planrun schema --events failed: {}", String::from_utf8_lossy(&out.stderr));
        let schema: Value = serde_json::from_slice(&out.stdout).unwrap();
        jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("not a JSON Schema: {e}"))
    })
}

/// Whether a process is alive (a zombie is not: it has exited but nobody reaped it).
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit_once(')').and_then(|(_, r)| r.split_whitespace().next()).is_some_and(|s| s != "Z"),
        Err(_) => false,
    }
}

/// Waits up to `secs` for `cond`.
pub fn wait_for(secs: f64, mut cond: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + std::time::Duration::from_secs_f64(secs);
    while std::time::Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    cond()
}

/// `git ARGS` in the repository, which must succeed; its stdout.
pub fn git(repo: &Repo, args: &[&str]) -> String {
    let out = Command::new("git").args(args).current_dir(repo.path()).output().unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A repository whose files (plan, agent, `extra`: scripts when they end in `.sh`) are
/// committed: worktree mode.
pub fn committed(plan: &str, agent: &str, extra: &[(&str, &str)]) -> Repo {
    let repo = Repo::new(plan, agent);
    for (name, body) in extra {
        if name.ends_with(".sh") {
            repo.script(name, body);
        } else {
            repo.write(name, body);
        }
    }
    git(&repo, &["add", "-A"]);
    git(&repo, &["-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "start"]);
    repo
}

/// A small deterministic generator (xorshift), so a failing seed replays the same choices.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}
