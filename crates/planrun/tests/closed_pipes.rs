//! A reader that goes away early (`planrun status --json | head -1`, a pager quit at once) must
//! not crash planrun: every command ends with the exit code it has with its output read, prints
//! no panic, and a run finishes its tasks all the same.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use std::process::Stdio;
use support::{committed, text};

const PLAN: &str = "\
# Pipes

## Task a: first

Files: `a.txt`

### Verify

- `grep -q good a.txt`

## Task b: second

Depends on: `a`
Files: `b.txt`
";

const AGENT: &str = r#"echo "agent $PLANRUN_TASK_ID"; echo good > "$PLANRUN_TASK_ID.txt""#;

/// The write end of a pipe whose read end is already closed: every write to it fails with EPIPE.
fn closed() -> Stdio {
    let (reader, writer) = nix::unistd::pipe().unwrap();
    drop(reader);
    Stdio::from(writer)
}

#[test]
fn every_command_survives_a_closed_stdout_and_stderr() {
    let repo = committed(PLAN, AGENT, &[]);
    // The run itself, with both streams closed from the start: it still does all its work.
    let status = repo
        .cmd(&["run", "plan.md", "--agent-command", "./agent.sh", "--yes"])
        .stdout(closed())
        .stderr(closed())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0), "a run whose output nobody reads still succeeds");
    let states = repo.states();
    assert_eq!(states, [("a".to_owned(), "done".to_owned()), ("b".to_owned(), "done".to_owned())]);

    let commands: &[&[&str]] = &[
        &["status", "--json"],
        &["status"],
        &["log", "a"],
        &["report"],
        &["report", "--json"],
        &["explain", "a"],
        &["schema"],
        &["formats"],
        &["check", "plan.md"],
        &["check", "plan.md", "--json"],
        &["check", "plan.md", "--explain", "a"],
        &["simulate", "plan.md"],
        &["estimate", "plan.md", "--agent-command", "./agent.sh"],
        &["doctor"],
        &["doctor", "--json"],
        &["--help"],
        &["run", "-h"],
        &["completions", "bash"],
        &["man"],
        &["log", "a", "--json"],
        &["log", "a", "--follow"],
        &["status", "--watch"],
    ];
    for args in commands {
        let read = repo.cmd(args).output().unwrap();
        let expected = read.status.code();
        assert_ne!(expected, Some(101), "{args:?} panics even when read: {}", text(&read));
        // stdout closed, stderr read: no panic message and the same exit code.
        let out = repo.cmd(args).stdout(closed()).stderr(Stdio::piped()).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?} with stdout closed panics:\n{stderr}");
        assert_eq!(out.status.code(), expected, "{args:?} with stdout closed exits differently:\n{stderr}");
        // Both closed.
        let both = repo.cmd(args).stdout(closed()).stderr(closed()).status().unwrap();
        assert_eq!(both.code(), expected, "{args:?} with stdout and stderr closed exits differently");
    }
}

#[test]
fn a_run_whose_reader_leaves_after_two_lines_ends_as_it_would_have() {
    let repo = committed(PLAN, AGENT, &[]);
    let mut child = repo
        .cmd(&["run", "plan.md", "--agent-command", "./agent.sh", "--yes"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    for _ in 0..2 {
        std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    }
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(repo.states().iter().filter(|(_, s)| s == "done").count(), 2);
}
