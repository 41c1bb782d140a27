//! A newcomer's first hour, scripted: a small project of their own with an agent script they
//! have not committed, `check`, a run, the usual commands piped into `head`, a second plan once
//! the first run has ended, and `doctor` on a machine without an agent CLI. Every step exits as
//! documented, nothing panics, and no advice is given that does not fit. (The fresh clone and
//! the quickstart are what CI runs: `.ci/run`; the Codex CLI with a custom provider, run against
//! the scripted server without `--pass-env`, is `provider_config.rs`.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use std::process::{Output, Stdio};
use support::{Repo, git, text};

const PLAN: &str = "\
# Greeting tool

## Task greet: write the greeting

Files: `greet.txt`

### Verify

- `grep -q hello greet.txt`

## Task shout: write it loud

Depends on: `greet`
Files: `shout.txt`

### Verify

- `grep -q HELLO shout.txt`
";

const NEXT: &str = "\
# Farewell

## Task bye: write the farewell

Files: `bye.txt`
";

/// An agent script a newcomer would write: it does what the prompt's task id says.
const AGENT: &str = r#"
case "$PLANRUN_TASK_ID" in
  greet) echo hello > greet.txt ;;
  shout) tr a-z A-Z < greet.txt > shout.txt ;;
  bye) echo bye > bye.txt ;;
esac
"#;

/// Asserts what every step must hold: the documented exit code, no panic, no traceback.
fn step(what: &str, out: &Output, code: i32) -> String {
    let all = text(out);
    assert_eq!(out.status.code(), Some(code), "{what}: {all}");
    assert!(!all.contains("panicked") && !all.contains("RUST_BACKTRACE"), "{what} panicked: {all}");
    assert!(!all.contains("Traceback"), "{what}: {all}");
    all
}

/// `planrun ARGS | head -c 1`, as a shell runs it: the reader leaves after one byte.
fn piped_into_head(repo: &Repo, args: &[&str]) -> Output {
    let mut child = repo.cmd(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut one = [0u8; 1];
    let _ = std::io::Read::read(&mut stdout, &mut one);
    drop(stdout);
    child.wait_with_output().unwrap()
}

#[test]
fn a_newcomers_first_hour() {
    // Their project: committed, except the agent script they just wrote.
    let repo = Repo::new(PLAN, AGENT);
    repo.write("README.md", "# greeting tool\n");
    git(&repo, &["add", "README.md", "plan.md"]);
    git(&repo, &["-c", "user.name=n", "-c", "user.email=n@example.invalid", "commit", "-qm", "start"]);

    let check = repo.cmd(&["check", "plan.md"]).output().unwrap();
    step("check", &check, 0);

    let run = repo.run(&["--yes"]);
    let all = step("the first run", &run, 0);
    assert!(all.contains("`agent.sh`"), "the uncommitted script is named: {all}");
    assert!(!all.contains("run the same command"), "a run that succeeded needs no resume advice: {all}");
    assert!(all.contains("review it (`git log -p planrun/"), "{all}");

    for args in [&["status", "--json"][..], &["status"], &["schema"], &["log", "greet"], &["report"]] {
        let out = piped_into_head(&repo, args);
        step(&format!("planrun {} | head -c 1", args.join(" ")), &out, 0);
    }
    repo.write("next.md", NEXT);
    let out = piped_into_head(&repo, &["run", "next.md", "--agent-command", "./agent.sh", "--yes"]);
    step("a second plan, piped into head", &out, 0);
    let all = text(&out);
    assert!(all.contains("the run of `plan.md` had ended (done); it was set aside"), "{all}");
    let status = repo.status();
    assert!(status["plan"].as_str().unwrap().ends_with("next.md"), "{status}");
    assert_eq!(repo.read("bye.txt"), "", "worktree mode: the user's tree is untouched until they merge");

    let doctor = repo.cmd(&["doctor"]).env("PATH", "/usr/bin:/bin").output().unwrap();
    let all = step("doctor without an agent CLI", &doctor, 1);
    assert!(all.contains("--agent-command"), "{all}");
}
