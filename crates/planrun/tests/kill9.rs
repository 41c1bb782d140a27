//! `kill -9` of the real `planrun` binary at random moments, then a rerun, again and again, on a
//! 30-task plan whose agent logs every execution. Checks, for every kill: no task recorded done
//! before the kill is executed again afterwards, the journal passes SQLite's integrity check, and
//! in the end every task is done. `PLANRUN_KILLS=N` sets the number of kills (default 20; the
//! soak script `bench/soak-kill9.sh` runs 1,000). The seed is printed so a failure can be replayed
//! with `PLANRUN_KILL_SEED`. Every execution appends to one shared log outside the tasks' files, so the
//! scope check is off here (each task still gets its own commit).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::time::Duration;
use support::{Repo, Rng, text};

fn plan(rng: &mut Rng, n: usize) -> String {
    let mut s = String::from("# Kill test\n\n");
    for i in 0..n {
        s.push_str(&format!("## Task t{i}: task {i}\n\n"));
        let deps: BTreeSet<u64> = (0..rng.below(3)).filter(|_| i > 0).map(|_| rng.below(i as u64)).collect();
        if !deps.is_empty() {
            let list: Vec<String> = deps.iter().map(|d| format!("`t{d}`")).collect();
            s.push_str(&format!("Depends on: {}\n", list.join(", ")));
        }
        s.push_str(&format!("Files: `out/t{i}`\n"));
        if i % 2 == 0 {
            s.push_str(&format!("\n### Verify\n\n- `test -s out/t{i}`\n"));
        }
        s.push('\n');
    }
    s
}

/// Appends `run task attempt` to executions.log, works a little, writes its file.
const AGENT: &str = r#"
echo "$KILL_RUN $PLANRUN_TASK_ID $PLANRUN_ATTEMPT" >> executions.log
sleep 0.0$(( $(od -An -N1 -tu1 /dev/urandom) % 5 ))
mkdir -p out
echo done > "out/$PLANRUN_TASK_ID"
"#;

/// Tasks the journal records as done, read from its materialized view directly (not through
/// planrun's own replay, which is what is under test).
fn done(repo: &Repo) -> BTreeSet<String> {
    let path = repo.path().join(".planrun/journal.db");
    if !path.exists() {
        return BTreeSet::new();
    }
    let j = planrun_store::Journal::open(&path).unwrap();
    j.tasks().unwrap().into_iter().filter(|r| r.state == "done").map(|r| r.id).collect()
}

fn integrity(repo: &Repo) {
    let path = repo.path().join(".planrun/journal.db");
    // Killed before it made its journal (it reads the plan, the agents' settings and the
    // repository first): nothing was started, so there is nothing to check.
    if !path.exists() {
        return;
    }
    let j = planrun_store::Journal::open(&path).unwrap();
    j.integrity_check().unwrap();
    j.events_after(0).unwrap();
}

#[test]
fn kill_9_at_random_moments_never_loses_or_repeats_finished_work() {
    let kills: usize = std::env::var("PLANRUN_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    let seed: u64 = std::env::var("PLANRUN_KILL_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1
    });
    eprintln!("kill -9 test: {kills} kills, PLANRUN_KILL_SEED={seed}");
    let mut rng = Rng(seed);
    let n = 30;
    let repo = Repo::new(&plan(&mut rng, n), AGENT);
    // done_before[r]: tasks recorded done before run r started.
    let mut done_before: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    let mut run = 0;
    let mut killed = 0;
    while killed < kills {
        run += 1;
        let before = if run == 1 { BTreeSet::new() } else { done(&repo) };
        if before.len() == n {
            // Finished between kills: start over so every kill lands in a live run.
            for id in &before {
                let out = repo.cmd(&["retry", id]).output().unwrap();
                assert!(out.status.success(), "{}", text(&out));
            }
            done_before.insert(run, BTreeSet::new());
        } else {
            done_before.insert(run, before);
        }
        let mut child = repo
            .cmd(&[
                "run",
                "plan.md",
                "--agent-command",
                "./agent.sh",
                "-j",
                "4",
                "--grace",
                "100ms",
                "--pass-env",
                "KILL_RUN",
                "--scope",
                "off",
            ])
            .env("KILL_RUN", run.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(20 + rng.below(400)));
        match child.try_wait().unwrap() {
            Some(status) => assert!(status.success() || status.code() == Some(3), "run {run} ended {status}"),
            None => {
                nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(child.id() as i32),
                    nix::sys::signal::Signal::SIGKILL,
                )
                .unwrap();
                child.wait().unwrap();
                killed += 1;
            }
        }
        integrity(&repo);
    }
    // The last run goes to the end.
    run += 1;
    done_before.insert(run, done(&repo));
    let out = repo
        .cmd(&[
            "run",
            "plan.md",
            "--agent-command",
            "./agent.sh",
            "-j",
            "4",
            "--pass-env",
            "KILL_RUN",
            "--scope",
            "off",
        ])
        .env("KILL_RUN", run.to_string())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(done(&repo).len(), n);
    assert!(repo.states().iter().all(|(_, s)| s == "done"), "status agrees with the journal");
    integrity(&repo);
    // No task recorded done before a run started was executed by that run or a later one
    // (unless this test itself retried it, which resets the record).
    let log = repo.read("executions.log");
    for line in log.lines() {
        let mut parts = line.split_whitespace();
        let (Some(r), Some(task)) = (parts.next(), parts.next()) else { continue };
        let r: usize = r.parse().unwrap();
        assert!(
            !done_before[&r].contains(task),
            "run {r} executed {task}, which was recorded done before it started (seed {seed})"
        );
    }
    // Each task's work is committed exactly once, however often a kill hit its commit.
    let trailers = std::process::Command::new("git")
        .args(["log", "--format=%(trailers:key=Planrun-Task,valueonly)"])
        .current_dir(repo.path())
        .output()
        .unwrap();
    let mut commits: BTreeMap<String, usize> = BTreeMap::new();
    for t in String::from_utf8_lossy(&trailers.stdout).lines().filter(|l| !l.trim().is_empty()) {
        *commits.entry(t.trim().to_owned()).or_default() += 1;
    }
    assert_eq!(commits.len(), n, "every task has a commit: {commits:?} (seed {seed})");
    assert!(commits.values().all(|&c| c == 1), "one commit per task: {commits:?} (seed {seed})");
    eprintln!("kill -9 test: {killed} kills over {run} runs, {} executions", log.lines().count());
}
