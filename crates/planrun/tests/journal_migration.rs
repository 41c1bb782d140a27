//! Journals written by planrun 0.1.0, before journal events were typed, open unchanged: the
//! fixture's events (`fixtures/journal-0.1.0/journal.jsonl`) were written by that planrun with
//! `agent.sh` (`planrun run plan.md --agent-command ./agent.sh --max-rework 1`, `planrun skip c`,
//! the same run again: done tasks, a task reworked after a failed verify, a task blocked and then
//! skipped whose worktree was kept under a ref, two finished invocations); `plan.md` is the plan
//! as those runs left it (marked done where they marked it), and the expected
//! `status --json`, `report --json` and resumed `run --json` are what that planrun printed on
//! the same journal. To regenerate the expected files with another binary:
//! `PLANRUN_MIGRATION_BIN=/path/to/planrun PLANRUN_MIGRATION_WRITE=1 cargo test --test journal_migration`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::{Repo, committed};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/journal-0.1.0");

fn fixture(name: &str) -> String {
    std::fs::read_to_string(Path::new(DIR).join(name)).unwrap()
}

fn bin() -> PathBuf {
    std::env::var_os("PLANRUN_MIGRATION_BIN").map_or_else(support::bin, PathBuf::from)
}

/// A repository with the fixture's plan and agent, and its journal rebuilt event by event
/// through the store, exactly as the old planrun stored them.
fn restored() -> Repo {
    let agent = fixture("agent.sh");
    let agent = agent.strip_prefix("#!/bin/sh\n").unwrap_or(&agent);
    let repo = committed(&fixture("plan.md"), agent.trim_end(), &[]);
    std::fs::create_dir_all(repo.path().join(".planrun")).unwrap();
    let mut journal = planrun_store::Journal::open(&repo.path().join(".planrun/journal.db")).unwrap();
    for line in fixture("journal.jsonl").lines() {
        let e: Value = serde_json::from_str(line).unwrap();
        journal.append(e["kind"].as_str().unwrap(), e["task"].as_str(), &e["payload"]).unwrap();
    }
    repo
}

/// `planrun ARGS` in the repository; its exit code and its output with the repository's path
/// (which differs from run to run) as `<repo>`.
fn planrun(repo: &Repo, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(bin())
        .args(args)
        .current_dir(repo.path())
        .env("NO_COLOR", "1")
        .env_remove("PLANRUN_AGENT_COMMAND")
        .output()
        .unwrap();
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    for p in [repo.path().canonicalize().unwrap(), repo.path().to_owned()] {
        text = text.replace(&p.display().to_string(), "<repo>");
    }
    (out.status.code(), text)
}

/// A JSON value without the fields that measure time, which differ from run to run.
fn timeless(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|k, _| !(k.ends_with("_ms") || k.ends_with("_at") || k == "elapsed" || k == "at"));
            m.values_mut().for_each(timeless);
        }
        Value::Array(a) => a.iter_mut().for_each(timeless),
        _ => {}
    }
}

/// The output as JSON values (one document, or one per line), without time.
fn values(text: &str) -> Value {
    let mut v = serde_json::from_str::<Value>(text)
        .unwrap_or_else(|_| Value::Array(text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()));
    timeless(&mut v);
    v
}

fn check(name: &str, got: (Option<i32>, String)) {
    let got = serde_json::json!({"exit": got.0, "output": values(&got.1)});
    let path = Path::new(DIR).join(format!("{name}.expected.json"));
    if std::env::var_os("PLANRUN_MIGRATION_WRITE").is_some() {
        std::fs::write(&path, serde_json::to_string_pretty(&got).unwrap() + "\n").unwrap();
        return;
    }
    let want: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(got, want, "`{name}` differs from what planrun 0.1.0 printed on the same journal");
}

#[test]
fn status_of_an_old_journal_is_unchanged() {
    let repo = restored();
    check("status", planrun(&repo, &["status", "--json"]));
}

#[test]
fn report_of_an_old_journal_is_unchanged() {
    let repo = restored();
    check("report", planrun(&repo, &["report", "--json"]));
}

#[test]
fn resuming_an_old_journal_is_unchanged() {
    let repo = restored();
    check("run", planrun(&repo, &["run", "plan.md", "--agent-command", "./agent.sh", "--json"]));
    check("status-after-run", planrun(&repo, &["status", "--json"]));
}
