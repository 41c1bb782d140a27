//! Supervision of real child processes: exit codes, logs, wall-clock and stall limits, the
//! SIGTERM → grace → SIGKILL escalation, grandchildren in the process group, huge output,
//! cancellation, stdin from /dev/null, programs that cannot start, secrets redacted on their
//! way to the log (also when split over many writes), and a cleared environment.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use planrun_agents::Redactor;
use planrun_agents::supervise::{Outcome, Spec, SuperviseError, run};
use std::path::Path;
use std::time::Duration;
use tokio::sync::watch;

fn spec(dir: &Path, script: &str) -> Spec {
    Spec {
        argv: vec!["sh".into(), "-c".into(), script.into()],
        cwd: dir.to_owned(),
        env: vec![("PLANRUN_TASK_ID".into(), "t1".into())],
        clear_env: false,
        redact: std::sync::Arc::new(Redactor::default()),
        log: dir.join("attempt.log"),
        wall_limit: Some(Duration::from_secs(30)),
        stall_limit: None,
        grace: Duration::from_millis(300),
    }
}

fn no_cancel() -> watch::Receiver<bool> {
    watch::channel(false).1
}

/// Whether `pid` is still running: gone, or a zombie waiting for a parent that may never reap it
/// (an orphan's new parent in a container need not be a reaping init), both count as dead.
fn alive(pid: i32) -> bool {
    for _ in 0..50 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // The state letter follows the parenthesised command name.
        let state = stat.rsplit_once(')').and_then(|(_, rest)| rest.trim_start().chars().next());
        if matches!(state, None | Some('Z' | 'X')) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

#[tokio::test]
async fn exit_code_log_env_cwd_and_stdin() {
    let dir = tempfile::tempdir().unwrap();
    // `cat` would wait forever on an open stdin; /dev/null ends it at once.
    let s = spec(dir.path(), "echo out; echo err >&2; echo task=$PLANRUN_TASK_ID; pwd; cat; exit 3");
    let f = run(&s, no_cancel()).await.unwrap();
    assert_eq!(f.outcome, Outcome::Exited { code: 3 });
    let log = std::fs::read_to_string(&s.log).unwrap();
    let cwd = dir.path().canonicalize().unwrap();
    // Each stream's lines in order; the two streams' lines interleave as they arrive.
    let mut lines: Vec<&str> = log.lines().collect();
    assert_eq!(
        lines.iter().filter(|l| **l != "err").copied().collect::<Vec<_>>(),
        ["out", "task=t1", cwd.to_str().unwrap()]
    );
    lines.sort_unstable();
    assert_eq!(lines.iter().filter(|l| **l == "err").count(), 1, "{log}");
    assert_eq!(f.output_bytes, log.len() as u64);
    assert!(!f.killed);
}

#[tokio::test]
async fn wall_clock_limit_stops_the_whole_group() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = spec(dir.path(), "sleep 30 & echo $! > bg.pid; sleep 30");
    s.wall_limit = Some(Duration::from_millis(400));
    let f = run(&s, no_cancel()).await.unwrap();
    assert_eq!(f.outcome, Outcome::TimedOut { limit: Duration::from_millis(400) });
    assert!(f.elapsed < Duration::from_secs(10), "{:?}", f.elapsed);
    let bg: i32 = std::fs::read_to_string(dir.path().join("bg.pid")).unwrap().trim().parse().unwrap();
    assert!(!alive(bg), "the background grandchild {bg} survived");
}

#[tokio::test]
async fn sigterm_ignored_means_sigkill_after_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = spec(dir.path(), "trap '' TERM; echo ready; while :; do sleep 0.05; done");
    s.wall_limit = Some(Duration::from_millis(300));
    s.grace = Duration::from_millis(500);
    let f = run(&s, no_cancel()).await.unwrap();
    assert!(matches!(f.outcome, Outcome::TimedOut { .. }));
    assert!(f.killed, "SIGTERM was ignored, so SIGKILL must have been sent");
    assert!(f.elapsed >= Duration::from_millis(800), "grace not honoured: {:?}", f.elapsed);
    assert!(!alive(i32::try_from(f.pid).unwrap()));
}

#[tokio::test]
async fn silence_past_the_stall_limit_stops_the_child_but_output_keeps_it_alive() {
    let dir = tempfile::tempdir().unwrap();
    let mut quiet = spec(dir.path(), "echo started; sleep 30");
    quiet.stall_limit = Some(Duration::from_millis(400));
    let f = run(&quiet, no_cancel()).await.unwrap();
    assert_eq!(f.outcome, Outcome::Stalled { limit: Duration::from_millis(400) });
    assert!(f.elapsed < Duration::from_secs(10));

    let dir = tempfile::tempdir().unwrap();
    let mut chatty = spec(dir.path(), "for i in 1 2 3 4 5 6 7 8; do echo $i; sleep 0.1; done");
    // Ten times the output interval, so a loaded machine cannot turn this into a stall.
    chatty.stall_limit = Some(Duration::from_secs(1));
    let f = run(&chatty, no_cancel()).await.unwrap();
    assert_eq!(f.outcome, Outcome::Exited { code: 0 }, "output every 100 ms is not a stall");
    // Progress without newlines (dots) is output too, though the log only grows at whole lines.
    let dir = tempfile::tempdir().unwrap();
    let mut dots =
        spec(dir.path(), "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do printf .; sleep 0.1; done; echo");
    dots.stall_limit = Some(Duration::from_secs(1));
    let f = run(&dots, no_cancel()).await.unwrap();
    assert_eq!(f.outcome, Outcome::Exited { code: 0 }, "dots every 100 ms are not a stall");
    assert_eq!(std::fs::read_to_string(&dots.log).unwrap(), format!("{}\n", ".".repeat(16)));
}

#[tokio::test]
async fn huge_output_goes_to_the_log_not_to_memory() {
    let dir = tempfile::tempdir().unwrap();
    // 256 MiB: planrun never holds the output; the kernel writes it to the log file.
    let s = spec(dir.path(), "head -c 268435456 /dev/zero; echo; echo done >&2");
    let f = run(&s, no_cancel()).await.unwrap();
    assert!(f.outcome.success(), "{:?}", f.outcome);
    assert_eq!(f.output_bytes, 268_435_456 + 1 + 5);
}

#[tokio::test]
async fn cancellation_stops_the_group() {
    let dir = tempfile::tempdir().unwrap();
    let s = spec(dir.path(), "sleep 30");
    let (tx, rx) = watch::channel(false);
    let handle = tokio::spawn(async move { run(&s, rx).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    tx.send(true).unwrap();
    let f = handle.await.unwrap().unwrap();
    assert_eq!(f.outcome, Outcome::Cancelled);
    assert!(!alive(i32::try_from(f.pid).unwrap()));
}

#[tokio::test]
async fn a_child_killed_by_someone_else_is_reported_as_signaled() {
    let dir = tempfile::tempdir().unwrap();
    let s = spec(dir.path(), "kill -KILL $$");
    let f = run(&s, no_cancel()).await.unwrap();
    assert_eq!(f.outcome, Outcome::Signaled { signal: 9 });
}

#[tokio::test]
async fn programs_that_cannot_start_are_errors_with_their_name() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = spec(dir.path(), "");
    s.argv = vec!["/no/such/agent".into()];
    let e = run(&s, no_cancel()).await.unwrap_err();
    assert!(matches!(e, SuperviseError::Spawn { .. }));
    assert!(e.to_string().starts_with("cannot start `/no/such/agent`"), "{e}");
    s.argv.clear();
    assert!(matches!(run(&s, no_cancel()).await, Err(SuperviseError::EmptyCommand)));
    s.argv = vec!["true".into()];
    s.log = dir.path().join("no/such/dir/log");
    assert!(matches!(run(&s, no_cancel()).await, Err(SuperviseError::Log { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_the_log_even_split_over_many_writes() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "configured-secret-value-1234";
    // The configured value printed a byte at a time on stdout, a known key shape on stderr, a
    // value in the middle of a line longer than the line cap, and ordinary text.
    let script = format!(
        "for c in $(echo {secret} | sed 's/./& /g'); do printf %s \"$c\"; sleep 0.001; done; echo; \
         echo 'key sk-ant-api03-AAAAAAAAAAAAAAAAAAAAAAAA' >&2; \
         head -c 5000000 /dev/zero | tr '\\0' z; printf '{secret}'; head -c 100 /dev/zero | tr '\\0' z; echo; \
         echo done"
    );
    let mut s = spec(dir.path(), &script);
    s.redact = std::sync::Arc::new(Redactor::new([secret]));
    let f = run(&s, no_cancel()).await.unwrap();
    assert_eq!(f.outcome, Outcome::Exited { code: 0 });
    let log = std::fs::read_to_string(dir.path().join("attempt.log")).unwrap();
    assert!(!log.contains(secret) && !log.contains("sk-ant-api03"), "a secret reached the log");
    assert_eq!(log.matches("[redacted]").count(), 3, "{}", &log[..200]);
    assert!(log.ends_with("done\n"));
    assert_eq!(log.bytes().filter(|&b| b == b'z').count(), 5_000_100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cleared_environment_holds_only_what_was_given() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = spec(dir.path(), "env > env.txt");
    s.argv[0] = "/bin/sh".into();
    s.clear_env = true;
    s.env.push(("KEPT".into(), "yes".into()));
    let f = run(&s, no_cancel()).await.unwrap();
    assert_eq!(f.outcome, Outcome::Exited { code: 0 });
    let env = std::fs::read_to_string(dir.path().join("env.txt")).unwrap();
    assert!(env.contains("KEPT=yes") && env.contains("PLANRUN_TASK_ID=t1"), "{env}");
    assert!(!env.contains("HOME=") && !env.contains("CARGO"), "{env}");
}
