//! A second plan in a repository whose first run has ended: it starts a run of its own, the
//! first run's history is set aside under `runs/`, and the work its worktrees held is kept. A
//! run that has not ended still stands in the way, with advice that names it; a run in
//! progress is refused with exit 75.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::process::Stdio;
use support::{committed, git, text, wait_for};

const FIRST: &str = "\
# First

## Task a: works

Files: `a.txt`

## Task b: strays

Files: `b.txt`
";

const SECOND: &str = "\
# Second

## Task c: next

Files: `c.txt`
";

/// Task b also writes a file outside its list, so it is blocked with its work in its worktree;
/// task c sleeps when `SLEEP` says so.
const AGENT: &str = r#"
echo "$PLANRUN_TASK_ID was here" > "$PLANRUN_TASK_ID.txt"
if [ "$PLANRUN_TASK_ID" = b ]; then echo "b's extra work" > stray.txt; fi
if [ "$PLANRUN_TASK_ID" = c ] && [ -n "$SLEEP" ]; then sleep "$SLEEP"; fi
exit 0
"#;

#[test]
fn a_second_plan_after_a_finished_run_starts_its_own_and_keeps_the_first_runs_history_and_work() {
    let repo = committed(FIRST, AGENT, &[("second.md", SECOND)]);
    let first = repo.run(&["--yes"]);
    assert_eq!(first.status.code(), Some(3), "b is blocked: {}", text(&first));
    let old_journal_events = repo.status()["tasks"].as_array().unwrap().len();
    assert_eq!(old_journal_events, 2);

    let second = repo.cmd(&["run", "second.md", "--agent-command", "./agent.sh", "--yes"]).output().unwrap();
    assert_eq!(second.status.code(), Some(0), "{}", text(&second));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("the run of `plan.md` had ended (blocked); it was set aside in"), "{stderr}");
    // The new run is the one `status` shows.
    let status = repo.status();
    assert!(status["plan"].as_str().unwrap().ends_with("second.md"), "{status}");
    assert_eq!(repo.states(), [("c".to_owned(), "done".to_owned())]);

    // The first run's journal, logs and summary are under runs/ID/.
    let runs: Vec<_> =
        std::fs::read_dir(repo.path().join(".planrun/runs")).unwrap().flatten().map(|e| e.path()).collect();
    assert_eq!(runs.len(), 2, "{runs:?}");
    let old = runs.iter().find(|r| r.join("state").is_dir()).expect("the first run's state was set aside");
    assert!(old.join("state/journal.db").is_file());
    assert!(old.join("summary.md").is_file());
    let logs: Vec<_> = std::fs::read_dir(old.join("state/logs")).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(logs.iter().any(|n| n.to_string_lossy().starts_with("b.1.")), "b's logs went with its run: {logs:?}");
    assert!(repo.path().join(".planrun/history.jsonl").is_file(), "the estimate history stays");

    // b's worktree is gone, and its work (the stray file too) is kept under the first run's id.
    let old_id = old.file_name().unwrap().to_string_lossy().into_owned();
    assert!(!repo.path().join(".planrun/worktrees/b").exists());
    let kept = git(&repo, &["for-each-ref", "--format=%(refname)", &format!("refs/planrun/kept/{old_id}/")]);
    let kept_b = kept.lines().find(|r| r.contains("/b/")).unwrap_or_else(|| panic!("b's work is kept: {kept}"));
    assert_eq!(git(&repo, &["show", &format!("{kept_b}:stray.txt")]), "b's extra work\n");
    // The two runs have their own branches.
    let new_id =
        runs.iter().find(|r| !r.join("state").is_dir()).unwrap().file_name().unwrap().to_string_lossy().into_owned();
    assert_ne!(old_id, new_id);
    git(&repo, &["rev-parse", "--verify", &format!("planrun/{old_id}")]);
    git(&repo, &["rev-parse", "--verify", &format!("planrun/{new_id}")]);
}

#[test]
fn a_run_in_progress_or_not_ended_is_not_set_aside() {
    let repo = committed(SECOND, AGENT, &[("other.md", FIRST)]);
    let mut running = repo
        .cmd(&["run", "plan.md", "--agent-command", "./agent.sh", "--yes", "--pass-env", "SLEEP"])
        .env("SLEEP", "30")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let log = repo.path().join(".planrun/logs/c.1.implement.log");
    assert!(wait_for(20.0, || log.is_file()), "task c never started");

    // In progress: refused, exit 75, nothing changed.
    let busy = repo.cmd(&["run", "other.md", "--agent-command", "./agent.sh", "--yes"]).output().unwrap();
    assert_eq!(busy.status.code(), Some(75), "{}", text(&busy));
    assert!(String::from_utf8_lossy(&busy.stderr).contains("another planrun is working on this run"));

    // Killed: the run has not ended, so the other plan is refused with advice naming it.
    kill(Pid::from_raw(i32::try_from(running.id()).unwrap()), Signal::SIGKILL).unwrap();
    running.wait().unwrap();
    let refused = repo.cmd(&["run", "other.md", "--agent-command", "./agent.sh", "--yes"]).output().unwrap();
    assert_eq!(refused.status.code(), Some(64), "{}", text(&refused));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("that run has not ended: finish it with `planrun run"), "{stderr}");
    assert!(stderr.contains("plan.md`"), "{stderr}");
    assert!(
        !repo.path().join(".planrun/runs").read_dir().is_ok_and(|mut d| d.any(|e| e
            .unwrap()
            .path()
            .join("state")
            .exists()))
    );

    // Finishing it lets the other plan start.
    let finished = repo.run(&["--yes"]);
    assert_eq!(finished.status.code(), Some(0), "{}", text(&finished));
    let next = repo.cmd(&["run", "other.md", "--agent-command", "./agent.sh", "--yes"]).output().unwrap();
    assert_eq!(next.status.code(), Some(3), "{}", text(&next));
    assert!(String::from_utf8_lossy(&next.stderr).contains("had ended (done); it was set aside"));
}
