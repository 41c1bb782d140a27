//! The chaos test of "no work lost, ever": random interleavings of `planrun run`, `planrun
//! continue`, `planrun retry TASK` and `planrun skip TASK` on generated plans (4–8 tasks, random
//! dependencies, a chain of tasks appending a line each to `shared/d.txt`, some verify commands
//! that fail on a task's first attempt), with the run's settings switched between invocations
//! (`--commit manual`, `--batch N`, reviews on or off, `--workspace`, `--into`) and SIGINT or
//! SIGKILL a few ms to a few hundred ms after a start, in both workspace modes. The real binary,
//! a shell script as the agent and another as the reviewer.
//!
//! After every step, one checker per invariant:
//! - [`no_work_lost`]: every file version an agent wrote (it logs task, attempt, path and blob id
//!   outside the repository once it is done) is in a commit reachable from some ref, or is the
//!   content of that file in the main working tree or in a listed worktree; a version an agent
//!   later started from and replaced (its log names the version it started from) need not
//!   survive;
//! - [`no_task_committed_twice`]: on HEAD and on every integration branch, a task has no more
//!   `Planrun-Task` commits than its attempts that could have committed: those that passed, and
//!   those cut short once at their commit or merge stage (the journal's `change` events);
//! - [`journal_intact`]: SQLite's `PRAGMA integrity_check`;
//! - [`exit_is_valid`]: each command's exit code is one its situation allows; a switch planrun
//!   refuses (exit 64) changed nothing; `planrun continue` is never refused.
//!
//! After a `--commit manual` invocation the test, as the user, commits the tasks' files.
//!
//! At the end of each interleaving `planrun run` (commits on, no signals) runs until it exits 0
//! or 3, and [`finished`] checks that every task not skipped is done with its work on the
//! integration branch (worktree mode) or in the working tree (shared).
//!
//! `PLANRUN_CHAOS=N` sets the number of interleavings (default 6; `bench/chaos.sh` runs 500).
//! Each interleaving prints its seed; `PLANRUN_CHAOS_SEED=S PLANRUN_CHAOS=1` replays it (the
//! same plan and steps; signal timing depends on the machine).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{Repo, Rng};

// ---------------------------------------------------------------------------------------------
// The plan and the scripts

/// One generated task.
struct Task {
    id: String,
    deps: BTreeSet<usize>,
    /// It also appends a line to `shared/d.txt` (after the previous task that does).
    shared: bool,
    /// Its verify command fails until its file has two lines: the first attempt always fails.
    flaky: bool,
}

fn gen_tasks(rng: &mut Rng) -> Vec<Task> {
    let n = 4 + rng.below(5) as usize;
    let mut tasks: Vec<Task> = Vec::new();
    let mut last_shared: Option<usize> = None;
    for i in 0..n {
        let mut deps: BTreeSet<usize> =
            (0..rng.below(3)).filter(|_| i > 0).map(|_| rng.below(i as u64) as usize).collect();
        let shared = rng.chance(40);
        if shared {
            deps.extend(last_shared);
            last_shared = Some(i);
        }
        tasks.push(Task { id: format!("t{i}"), deps, shared, flaky: rng.chance(35) });
    }
    tasks
}

fn plan_text(tasks: &[Task]) -> String {
    let mut s = String::from("# Chaos\n\n");
    for t in tasks {
        let _ = write!(s, "## Task {}: Write {}\n\n", t.id, t.id);
        if !t.deps.is_empty() {
            let list: Vec<String> = t.deps.iter().map(|d| format!("`{}`", tasks[*d].id)).collect();
            let _ = writeln!(s, "Depends on: {}", list.join(", "));
        }
        let shared = if t.shared { ", `shared/d.txt`" } else { "" };
        let _ = writeln!(s, "Files: `out/{}.txt`{shared}", t.id);
        if t.flaky {
            let _ = writeln!(s, "\n### Verify\n\n- `test $(grep -c . out/{}.txt) -ge 2`", t.id);
        }
        s.push('\n');
    }
    s
}

/// Appends one line to each of its files (its own, and `shared/d.txt` when `$CHAOS_DIR/shared`
/// names it; git's conflict markers are dropped first), then logs each file's final blob id and
/// the one it started from to `$CHAOS_DIR/log`. The new content is prepared outside the
/// repository and moved into place right before it is logged, with SIGTERM and SIGINT ignored in
/// between: an agent stopped before it logs changed nothing, so it wrote nothing we count.
const AGENT: &str = r#"
rnd() { od -An -N2 -tu2 /dev/urandom | tr -d ' '; }
sleep 0.0$(( $(rnd) % 8 ))
mkdir -p out shared
files="out/$PLANRUN_TASK_ID.txt"
grep -qx "$PLANRUN_TASK_ID" "$CHAOS_DIR/shared" && files="$files shared/d.txt"
plan=""
i=0
for f in $files; do
  i=$((i + 1))
  tmp="$CHAOS_DIR/tmp.$$.$i"
  prev=none
  if [ -f "$f" ]; then prev=$(git hash-object "$f"); sed '/^<<<<<<<\|^=======\|^>>>>>>>/d' "$f" > "$tmp"; else : > "$tmp"; fi
  echo "$PLANRUN_TASK_ID attempt $PLANRUN_ATTEMPT $(rnd)$(rnd)" >> "$tmp"
  plan="$plan$f $tmp $prev $(git hash-object "$tmp")
"
done
sleep 0.0$(( $(rnd) % 8 ))
trap '' TERM INT HUP
printf '%s' "$plan" | while read -r f tmp prev blob; do
  mv "$tmp" "$f"
  echo "$PLANRUN_TASK_ID $PLANRUN_ATTEMPT $f $blob $prev" >> "$CHAOS_DIR/log"
done
"#;

/// Passes everything.
const REVIEWER: &str = r#"echo '{"verdict": "pass", "findings": []}'"#;

// ---------------------------------------------------------------------------------------------
// Steps

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Worktree,
    Shared,
}

/// What is sent to a running planrun, and when.
#[derive(Clone, Copy, Debug)]
enum Signal {
    None,
    Int { after_ms: u64, again_ms: Option<u64> },
    Kill { after_ms: u64 },
}

#[derive(Clone, Debug)]
enum Step {
    Run { flags: Vec<String>, signal: Signal },
    Continue { signal: Signal },
    Retry(String),
    Skip(String),
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sig = |s: &Signal| match s {
            Signal::None => String::new(),
            Signal::Int { after_ms, again_ms: None } => format!(" [SIGINT at {after_ms} ms]"),
            Signal::Int { after_ms, again_ms: Some(a) } => format!(" [SIGINT at {after_ms} ms, again {a} ms later]"),
            Signal::Kill { after_ms } => format!(" [SIGKILL at {after_ms} ms]"),
        };
        match self {
            Step::Run { flags, signal } => write!(f, "run {}{}", flags.join(" "), sig(signal)),
            Step::Continue { signal } => write!(f, "continue{}", sig(signal)),
            Step::Retry(t) => write!(f, "retry {t}"),
            Step::Skip(t) => write!(f, "skip {t}"),
        }
    }
}

fn gen_signal(rng: &mut Rng) -> Signal {
    let after_ms = 5 + rng.below(400);
    match rng.below(10) {
        0..=3 => Signal::None,
        4..=6 => Signal::Int { after_ms, again_ms: rng.chance(30).then(|| 5 + rng.below(300)) },
        _ => Signal::Kill { after_ms },
    }
}

/// The settings of a `planrun run`: the first one sets the mode; later ones switch some of them.
fn gen_flags(rng: &mut Rng, mode: Mode, first: bool) -> Vec<String> {
    let mut f: Vec<&str> = Vec::new();
    let switch = !first && rng.chance(35);
    let workspace = match (mode, switch && rng.chance(50)) {
        (Mode::Worktree, false) => (first || rng.chance(50)).then_some("worktree"),
        (Mode::Shared, false) => (first || rng.chance(50)).then_some("shared"),
        (Mode::Worktree, true) => Some("shared"),
        (Mode::Shared, true) => Some("worktree"),
    };
    let manual = if first { mode == Mode::Shared && rng.chance(40) } else { rng.chance(if switch { 40 } else { 10 }) };
    if let Some(w) = workspace {
        f.extend(["--workspace", w]);
    }
    if manual {
        f.extend(["--commit", "manual"]);
    }
    if mode == Mode::Worktree && (first && rng.chance(30) || switch && rng.chance(30)) {
        f.extend(["--into", if rng.chance(50) { "chaos/int" } else { "chaos/other" }]);
    }
    let batch = ["1", "2", "3"][rng.below(3) as usize];
    if rng.chance(20) {
        f.extend(["--batch", batch]);
    }
    if rng.chance(50) {
        f.extend(["--reviews", "none"]);
    } else {
        f.extend(["--review-command", "./review.sh {prompt_file}"]);
    }
    f.into_iter().map(str::to_owned).collect()
}

fn gen_steps(rng: &mut Rng, tasks: &[Task], mode: Mode) -> Vec<Step> {
    let n = 4 + rng.below(5);
    let mut steps = vec![Step::Run { flags: gen_flags(rng, mode, true), signal: gen_signal(rng) }];
    for _ in 1..n {
        let task = tasks[rng.below(tasks.len() as u64) as usize].id.clone();
        steps.push(match rng.below(20) {
            0..=8 => Step::Run { flags: gen_flags(rng, mode, false), signal: gen_signal(rng) },
            9..=13 => Step::Continue { signal: gen_signal(rng) },
            14..=16 => Step::Retry(task),
            _ => Step::Skip(task),
        });
    }
    steps
}

// ---------------------------------------------------------------------------------------------
// One interleaving

/// A repository under test, and the folder outside it holding the agents' log.
struct World {
    repo: Repo,
    outside: tempfile::TempDir,
    tasks: Vec<Task>,
    mode: Mode,
    /// Each step done so far, with how it ended.
    history: Vec<String>,
}

/// How a command ended.
struct Ended {
    code: Option<i32>,
    killed: bool,
    hung: bool,
    output: String,
}

const COMMON: [&str; 12] = [
    "plan.md",
    "--agent-command",
    "./agent.sh",
    "--pass-env",
    "CHAOS_DIR",
    "-j",
    "3",
    "--grace",
    "100ms",
    "--drain-timeout",
    "3s",
    "--yes",
];

impl World {
    fn new(tasks: Vec<Task>, mode: Mode) -> World {
        let repo = Repo::new(&plan_text(&tasks), AGENT);
        repo.script("review.sh", REVIEWER);
        git(repo.path(), &["add", "-A"]);
        git(repo.path(), &["-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "start"]);
        let outside = tempfile::tempdir().unwrap();
        let shared: String = tasks.iter().filter(|t| t.shared).map(|t| format!("{}\n", t.id)).collect();
        std::fs::write(outside.path().join("shared"), shared).unwrap();
        std::fs::write(outside.path().join("log"), "").unwrap();
        World { repo, outside, tasks, mode, history: Vec::new() }
    }

    fn path(&self) -> &Path {
        self.repo.path()
    }

    fn journal(&self) -> PathBuf {
        self.path().join(".planrun/journal.db")
    }

    /// Runs `planrun ARGS`, sends `signal`, waits for the end (at most a minute after the last
    /// signal, then SIGKILL and `hung`).
    fn planrun(&self, args: &[&str], signal: Signal) -> Ended {
        let out_path = self.outside.path().join("out.txt");
        let file = std::fs::File::create(&out_path).unwrap();
        let mut child = self
            .repo
            .cmd(args)
            .env("CHAOS_DIR", self.outside.path())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap();
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let start = Instant::now();
        let send = |s| {
            let _ = nix::sys::signal::kill(pid, s);
        };
        let mut plan: Vec<(u64, nix::sys::signal::Signal)> = match signal {
            Signal::None => vec![],
            Signal::Int { after_ms, again_ms } => {
                let mut v = vec![(after_ms, nix::sys::signal::Signal::SIGINT)];
                v.extend(again_ms.map(|a| (after_ms + a, nix::sys::signal::Signal::SIGINT)));
                v
            }
            Signal::Kill { after_ms } => vec![(after_ms, nix::sys::signal::Signal::SIGKILL)],
        };
        plan.reverse();
        let mut killed = false;
        let mut hung = false;
        let mut deadline = start + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if let Some(&(at, sig)) = plan.last()
                && start.elapsed() >= Duration::from_millis(at)
            {
                plan.pop();
                send(sig);
                killed |= sig == nix::sys::signal::Signal::SIGKILL;
                deadline = Instant::now() + Duration::from_secs(60);
            }
            if Instant::now() > deadline {
                send(nix::sys::signal::Signal::SIGKILL);
                hung = true;
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        if killed {
            // What the killed planrun had started (agents in their own process groups, git)
            // finishes or is stopped by the next run; give it time to finish first.
            std::thread::sleep(Duration::from_millis(400));
        }
        let output = std::fs::read_to_string(&out_path).unwrap_or_default();
        Ended { code: status.code(), killed: status.code().is_none(), hung, output }
    }

    fn execute(&self, step: &Step) -> Ended {
        match step {
            Step::Run { flags, signal } => {
                let mut args: Vec<&str> = vec!["run"];
                args.extend(COMMON);
                args.extend(flags.iter().map(String::as_str));
                self.planrun(&args, *signal)
            }
            Step::Continue { signal } => self.planrun(&["continue"], *signal),
            Step::Retry(t) => self.planrun(&["retry", t], Signal::None),
            Step::Skip(t) => self.planrun(&["skip", t], Signal::None),
        }
    }

    /// What must not change when planrun refuses a command: the journal, the refs, the
    /// worktrees, the working tree.
    fn snapshot(&self) -> String {
        let events = read_journal(&self.journal()).map(|j| j.events.len()).unwrap_or(0);
        format!(
            "events {events}\n{}\n{}\n{}",
            git(self.path(), &["for-each-ref", "--format=%(refname) %(objectname)"]),
            git(self.path(), &["worktree", "list", "--porcelain"]),
            git(self.path(), &["status", "--porcelain", "--untracked-files=all", "--", ".", ":!.planrun"]),
        )
    }

    /// What a user of `--commit manual` does when planrun stops: commits the tasks' work
    /// (`out/`, `shared/`) in the shared tree with a commit of their own, or in worktree mode
    /// the work of each task that waits for it in its worktree.
    fn user_commits_after_manual(&mut self) {
        let Ok(journal) = read_journal(&self.journal()) else { return };
        let Some(last) = journal.runs().last() else { return };
        let manual = !last["stages"].as_array().is_some_and(|s| s.iter().any(|s| s == "commit"));
        if !manual {
            return;
        }
        if last["workspace"] == "worktree" {
            // Tasks that passed wait in their worktrees for the user's commit.
            let status = Command::new(support::bin()).args(["status", "--json"]).current_dir(self.path()).output();
            let Ok(status) = status else { return };
            let Ok(status) = serde_json::from_slice::<serde_json::Value>(&status.stdout) else { return };
            for t in status["tasks"].as_array().into_iter().flatten() {
                let (Some(id), Some(wt)) = (t["id"].as_str(), t["waits_for_commit"].as_str()) else { continue };
                let wt = self.path().join(wt);
                let _ = git_ok(&wt, &["add", "-A"]);
                if git_ok(&wt, &["diff", "--cached", "--quiet"]).is_none() {
                    // A planrun killed inside a git command can leave a lock that makes this
                    // fail, as it would for a person; the next run clears it.
                    let commit =
                        ["-c", "user.name=me", "-c", "user.email=me@example.invalid", "commit", "-qm", "my commit"];
                    let done = if git_ok(&wt, &commit).is_some() { "commits" } else { "fails to commit" };
                    self.history.push(format!("(the user {done} {id}'s work in its worktree)"));
                }
            }
            return;
        }
        let _ = git_ok(self.path(), &["add", "-A", "--", "out", "shared"]);
        if git_ok(self.path(), &["diff", "--cached", "--quiet"]).is_none() {
            git(
                self.path(),
                &["-c", "user.name=me", "-c", "user.email=me@example.invalid", "commit", "-qm", "my commit"],
            );
            self.history.push("(the user commits out/ and shared/)".into());
        }
    }

    /// The checks after every step.
    fn check(&self) -> Result<(), String> {
        journal_intact(self)?;
        no_work_lost(self)?;
        no_task_committed_twice(self)
    }

    /// Everything a failure report needs: the steps, the agents' log, the refs and worktrees.
    fn report(&self, seed: u64, why: &str) -> String {
        let mut r = format!("chaos interleaving failed (PLANRUN_CHAOS_SEED={seed} PLANRUN_CHAOS=1)\n");
        let _ = writeln!(r, "mode {:?}, plan:\n{}", self.mode, plan_text(&self.tasks));
        let _ = writeln!(r, "steps:");
        for (i, h) in self.history.iter().enumerate() {
            let _ = writeln!(r, "  {}. {h}", i + 1);
        }
        let _ = writeln!(r, "failure: {why}");
        let _ = writeln!(r, "refs:\n{}", git(self.path(), &["log", "--all", "--format=%h %D %s", "--graph"]));
        let _ = writeln!(r, "worktrees:\n{}", git(self.path(), &["worktree", "list"]));
        let _ = writeln!(
            r,
            "git status:\n{}",
            git(self.path(), &["status", "--porcelain", "--untracked-files=all", "--", ".", ":!.planrun"])
        );
        r
    }
}

/// splitmix64's finalizer: interleavings whose seeds follow each other in one xorshift stream
/// would otherwise draw the same numbers one step apart.
fn mix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)) | 1
}

/// Runs one interleaving; `Err` with the report on the first broken invariant.
fn interleaving(seed: u64) -> Result<usize, String> {
    let mut rng = Rng(mix(seed));
    let tasks = gen_tasks(&mut rng);
    let mode = if rng.chance(50) { Mode::Worktree } else { Mode::Shared };
    let steps = gen_steps(&mut rng, &tasks, mode);
    let mut world = World::new(tasks, mode);
    for (i, step) in steps.iter().enumerate() {
        let before = world.snapshot();
        let ended = world.execute(step);
        world.history.push(format!("{step} -> {}", describe(&ended)));
        let checked = exit_is_valid(&world, step, &ended, &before).and_then(|()| world.check());
        if let Err(why) = checked {
            return Err(world.report(
                seed,
                &format!("at step {} ({step}): {why}\n--- output of the last command\n{}", i + 1, tail(&ended.output)),
            ));
        }
        world.user_commits_after_manual();
    }
    finish(&mut world).map_err(|why| world.report(seed, &format!("at the end: {why}")))?;
    if std::env::var_os("PLANRUN_CHAOS_VERBOSE").is_some() {
        eprintln!("{}", world.report(seed, "none (passed)"));
    }
    Ok(steps.len())
}

/// The last step: `planrun run` with commits on and no signal until it exits 0 or 3 (or
/// `continue` when planrun refuses that command line), then the checks and [`finished`].
fn finish(world: &mut World) -> Result<(), String> {
    let workspace = if world.mode == Mode::Worktree { "worktree" } else { "shared" };
    let mut last = None;
    for _ in 0..8 {
        let step = Step::Run {
            flags: vec![
                "--workspace".into(),
                workspace.into(),
                "--commit".into(),
                "auto".into(),
                "--reviews".into(),
                "none".into(),
            ],
            signal: Signal::None,
        };
        let mut ended = world.execute(&step);
        let mut shown = format!("final {step}");
        if ended.code == Some(64) {
            shown = "final continue".into();
            ended = world.execute(&Step::Continue { signal: Signal::None });
        }
        world.history.push(format!("{shown} -> {}", describe(&ended)));
        world.check()?;
        match ended.code {
            Some(0 | 3) => {
                last = ended.code;
                break;
            }
            Some(5 | 130) => continue,
            _ => return Err(format!("the final run ended {}:\n{}", describe(&ended), tail(&ended.output))),
        }
    }
    if last.is_none() {
        return Err("the final runs never ended with 0 or 3".into());
    }
    finished(world)
}

fn describe(e: &Ended) -> String {
    match (e.hung, e.killed, e.code) {
        (true, _, _) => "hung (killed after a minute)".into(),
        (_, true, _) => "killed".into(),
        (_, _, Some(c)) => format!("exit {c}"),
        _ => "ended by a signal".into(),
    }
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

// ---------------------------------------------------------------------------------------------
// The invariants

/// Each command's exit is one its situation allows. A refusal (64) changed nothing, and
/// `planrun continue` of a run that recorded its command line is never refused.
fn exit_is_valid(world: &World, step: &Step, ended: &Ended, before: &str) -> Result<(), String> {
    if ended.hung {
        return Err(format!("`{step}` did not end within a minute"));
    }
    let code = match ended.code {
        None if ended.killed => return Ok(()),
        None => return Err(format!("`{step}` died of a signal it was not sent")),
        Some(c) => c,
    };
    let allowed: &[i32] = match step {
        Step::Run { .. } => &[0, 3, 5, 64, 130],
        Step::Continue { .. } => &[0, 2, 3, 5, 64, 130],
        Step::Retry(_) | Step::Skip(_) => &[0, 2, 64],
    };
    if !allowed.contains(&code) {
        return Err(format!("`{step}` exited {code}, which is not one of {allowed:?}"));
    }
    if code == 2 && !ended.output.contains("there is no run here") && !ended.output.contains("there is no run in") {
        return Err(format!("`{step}` exited 2, and not because no run had started yet"));
    }
    if code == 64 {
        let never_ran = ended.output.contains("recorded no command line") || ended.output.contains("no run");
        if matches!(step, Step::Continue { .. }) && !never_ran {
            return Err("`planrun continue` was refused (exit 64) though the run recorded its command line".into());
        }
        let after = world.snapshot();
        if after != before {
            return Err(format!(
                "`{step}` was refused (exit 64) but changed things:\n--- before\n{before}\n--- after\n{after}"
            ));
        }
    }
    Ok(())
}

/// The journal passes SQLite's own integrity check.
fn journal_intact(world: &World) -> Result<(), String> {
    if !world.journal().exists() {
        return Ok(());
    }
    let conn = rusqlite::Connection::open_with_flags(world.journal(), rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE)
        .map_err(|e| format!("cannot open the journal: {e}"))?;
    let result: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| format!("integrity_check failed to run: {e}"))?;
    if result == "ok" { Ok(()) } else { Err(format!("the journal fails PRAGMA integrity_check: {result}")) }
}

/// One line of the agents' log: a file version an agent left at the end of an attempt.
#[derive(Debug, Clone)]
struct Written {
    task: String,
    attempt: String,
    path: String,
    blob: String,
    /// The version of the file the agent started from (`none` when there was none).
    prev: String,
}

fn written(world: &World) -> Vec<Written> {
    let log = std::fs::read_to_string(world.outside.path().join("log")).unwrap_or_default();
    log.lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (w.len() == 5).then(|| Written {
                task: w[0].into(),
                attempt: w[1].into(),
                path: w[2].into(),
                blob: w[3].into(),
                prev: w[4].into(),
            })
        })
        .collect()
}

/// Every version an agent left is reachable from a ref or is a file's content in a worktree,
/// unless an agent later started from it and replaced it (in a shared tree the next task that
/// appends to a file builds on what an interrupted attempt left there: its agent took that
/// version in, planrun removed nothing).
fn no_work_lost(world: &World) -> Result<(), String> {
    let written = written(world);
    if written.is_empty() {
        return Ok(());
    }
    let mut present: BTreeSet<String> = git(world.path(), &["rev-list", "--objects", "--all"])
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect();
    let paths: BTreeSet<&str> = written.iter().map(|w| w.path.as_str()).collect();
    let roots = worktree_roots(world.path());
    let files: Vec<String> = roots
        .iter()
        .flat_map(|r| paths.iter().map(move |p| r.join(p)))
        .filter(|p| p.is_file())
        .map(|p| p.display().to_string())
        .collect();
    if !files.is_empty() {
        let mut args = vec!["hash-object", "--"];
        args.extend(files.iter().map(String::as_str));
        present.extend(git(world.path(), &args).lines().map(str::to_owned));
    }
    let lost: Vec<&Written> = written
        .iter()
        .filter(|w| !present.contains(&w.blob))
        .filter(|w| !written.iter().any(|l| l.path == w.path && l.prev == w.blob))
        .collect();
    if lost.is_empty() {
        return Ok(());
    }
    let list: Vec<String> =
        lost.iter().map(|w| format!("  {} attempt {}: {} (blob {})", w.task, w.attempt, w.path, w.blob)).collect();
    Err(format!(
        "work lost: {} version(s) an agent wrote are in no commit reachable from a ref and in no worktree:\n{}",
        lost.len(),
        list.join("\n")
    ))
}

/// The main working tree and every worktree `git worktree list` names.
fn worktree_roots(repo: &Path) -> Vec<PathBuf> {
    git(repo, &["worktree", "list", "--porcelain"])
        .lines()
        .filter_map(|l| l.strip_prefix("worktree "))
        .map(PathBuf::from)
        .collect()
}

/// On HEAD and on every integration branch a run named, no task has more `Planrun-Task` commits
/// than attempts that could have committed it.
fn no_task_committed_twice(world: &World) -> Result<(), String> {
    let Ok(journal) = read_journal(&world.journal()) else { return Ok(()) };
    let allowed = commit_allowance(&journal.events);
    let mut refs: Vec<String> = vec!["HEAD".into()];
    refs.extend(journal.integration_branches());
    for r in &refs {
        if git_ok(world.path(), &["rev-parse", "--verify", "-q", r]).is_none() {
            continue;
        }
        for (task, commits) in task_commits(world.path(), r) {
            let may = allowed.get(&task).copied().unwrap_or(0);
            if commits.len() > may {
                let changes: Vec<String> = journal
                    .events
                    .iter()
                    .filter(|e| e.kind == "change" && e.task.as_deref() == Some(task.as_str()))
                    .map(|e| e.payload.to_string())
                    .collect();
                return Err(format!(
                    "task {task} has {} commits on {r}, but only {may} attempt(s) that could commit:\n  {}\n  journal: {}",
                    commits.len(),
                    commits.join("\n  "),
                    changes.join(" ")
                ));
            }
        }
    }
    Ok(())
}

/// Per task: its attempts (from one `start` to the next) that passed after a commit or merge
/// stage, or were cut short at one (their commit may have landed before the cut).
fn commit_allowance(events: &[Event]) -> BTreeMap<String, usize> {
    let mut allowed: BTreeMap<String, usize> = BTreeMap::new();
    let mut reached: BTreeMap<String, bool> = BTreeMap::new();
    for e in events.iter().filter(|e| e.kind == "change") {
        let Some(task) = e.task.clone() else { continue };
        let t = e.payload["t"].as_str().unwrap_or("");
        let stage = e.payload["stage"].as_str().unwrap_or("");
        let r = reached.entry(task.clone()).or_default();
        match t {
            "advance" if stage == "commit" || stage == "merge" => *r = true,
            "fail" => *r = false,
            "start" | "pass" | "interrupt" | "block" | "skip" | "retry" => {
                if *r {
                    *allowed.entry(task).or_default() += 1;
                }
                *r = false;
            }
            _ => {}
        }
    }
    for (task, r) in reached {
        if r {
            *allowed.entry(task).or_default() += 1;
        }
    }
    allowed
}

/// Each task's commits (`hash subject`) reachable from `rev`, by their `Planrun-Task` trailer.
fn task_commits(repo: &Path, rev: &str) -> BTreeMap<String, Vec<String>> {
    let log = git(repo, &["log", "--format=%x1e%h %s%x1f%(trailers:key=Planrun-Task,valueonly)", rev, "--"]);
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for entry in log.split('\x1e').filter(|e| !e.trim().is_empty()) {
        let Some((commit, tasks)) = entry.split_once('\x1f') else { continue };
        for t in tasks.lines().map(str::trim).filter(|t| !t.is_empty()) {
            out.entry(t.to_owned()).or_default().push(commit.to_owned());
        }
    }
    out
}

/// After the final run: every task not skipped is done, and the version of its file its last
/// attempt left is the one on the integration branch (worktree mode) or at HEAD (shared), when
/// that attempt passed in an invocation that commits.
fn finished(world: &World) -> Result<(), String> {
    world.check()?;
    let journal = read_journal(&world.journal()).map_err(|e| format!("no journal at the end: {e}"))?;
    let states: BTreeMap<String, String> = journal.tasks.iter().cloned().collect();
    let tip = journal.last_integration().unwrap_or_else(|| "HEAD".into());
    let written = written(world);
    for t in &world.tasks {
        let state = states.get(&t.id).map_or("missing", String::as_str);
        match state {
            "skipped" => continue,
            "done" => {}
            other => return Err(format!("task {} is {other} at the end", t.id)),
        }
        if !journal.last_pass_committed(&t.id) {
            continue;
        }
        let file = format!("out/{}.txt", t.id);
        let Some(last) = written.iter().rev().find(|w| w.task == t.id && w.path == file) else { continue };
        let at_tip = git_ok(world.path(), &["rev-parse", &format!("{tip}:{file}")]).unwrap_or_default();
        if at_tip.trim() != last.blob {
            return Err(format!(
                "task {} is done and was committed, but {file} on {tip} is not what its last attempt ({}) left: {} there, {} written",
                t.id,
                last.attempt,
                if at_tip.is_empty() { "missing" } else { at_tip.trim() },
                last.blob
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The journal, read with rusqlite (not through planrun's own replay, which is under test)

struct Event {
    kind: String,
    task: Option<String>,
    payload: serde_json::Value,
}

struct JournalView {
    events: Vec<Event>,
    /// `(id, state)` of the view table.
    tasks: Vec<(String, String)>,
}

impl JournalView {
    /// Whether the invocation in which `task` last passed commits (its stages include `commit`).
    fn last_pass_committed(&self, task: &str) -> bool {
        let mut commits = false;
        let mut last = false;
        for e in &self.events {
            if e.kind == "run" {
                commits = e.payload["stages"].as_array().is_some_and(|s| s.iter().any(|s| s == "commit"));
            } else if e.kind == "change" && e.task.as_deref() == Some(task) && e.payload["t"] == "pass" {
                last = commits;
            }
        }
        last
    }

    fn runs(&self) -> impl Iterator<Item = &serde_json::Value> {
        self.events.iter().filter(|e| e.kind == "run").map(|e| &e.payload)
    }

    /// Every integration branch an invocation in worktree mode named.
    fn integration_branches(&self) -> BTreeSet<String> {
        self.runs()
            .filter(|r| r["workspace"] == "worktree")
            .filter_map(|r| r["integration"].as_str().map(str::to_owned))
            .collect()
    }

    /// The last invocation's integration branch, when it was in worktree mode.
    fn last_integration(&self) -> Option<String> {
        self.runs()
            .last()
            .filter(|r| r["workspace"] == "worktree")
            .and_then(|r| r["integration"].as_str().map(str::to_owned))
    }
}

fn read_journal(path: &Path) -> Result<JournalView, String> {
    if !path.exists() {
        return Err("no journal".into());
    }
    let conn = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE)
        .map_err(|e| e.to_string())?;
    let mut stmt = conn.prepare("SELECT kind, task, payload FROM events ORDER BY seq").map_err(|e| e.to_string())?;
    let events = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?, r.get::<_, String>(2)?)))
        .map_err(|e| e.to_string())?
        .filter_map(Result::ok)
        .map(|(kind, task, payload)| Event { kind, task, payload: serde_json::from_str(&payload).unwrap_or_default() })
        .collect();
    let mut stmt = conn.prepare("SELECT id, state FROM tasks").map_err(|e| e.to_string())?;
    let tasks = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .map_err(|e| e.to_string())?
        .filter_map(Result::ok)
        .collect();
    Ok(JournalView { events, tasks })
}

// ---------------------------------------------------------------------------------------------
// git

/// `git ARGS` in `repo`; its stdout (panics when git fails).
fn git(repo: &Path, args: &[&str]) -> String {
    git_ok(repo, args).unwrap_or_else(|| panic!("git {args:?} failed in {}", repo.display()))
}

/// `git ARGS` in `repo`; its stdout, or `None` when git fails.
fn git_ok(repo: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).current_dir(repo).stdin(Stdio::null()).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

// ---------------------------------------------------------------------------------------------

#[test]
fn random_interleavings_of_runs_signals_and_switches_never_lose_work() {
    let count: usize = std::env::var("PLANRUN_CHAOS").ok().and_then(|v| v.parse().ok()).unwrap_or(6);
    let seed: u64 = std::env::var("PLANRUN_CHAOS_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1
    });
    eprintln!("chaos: {count} interleavings, PLANRUN_CHAOS_SEED={seed}");
    let started = Instant::now();
    let mut next = Rng(seed);
    let mut failures: Vec<String> = Vec::new();
    let mut steps = 0;
    for i in 0..count {
        // Interleaving i's own seed: the first is the given one, so it replays alone.
        let s = if i == 0 { seed } else { next.next() | 1 };
        match interleaving(s) {
            Ok(n) => steps += n,
            Err(report) => {
                eprintln!("{report}");
                failures.push(format!("PLANRUN_CHAOS_SEED={s}: {}", first_failure_line(&report)));
            }
        }
    }
    eprintln!(
        "chaos: {count} interleavings run, {} failed, {steps} steps in the passing ones, {:.1} s",
        failures.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(failures.is_empty(), "{} of {count} interleavings failed:\n{}", failures.len(), failures.join("\n"));
}

/// The failure's first two lines: which step, which invariant, and the first piece of evidence.
fn first_failure_line(report: &str) -> String {
    let mut lines = report.lines().skip_while(|l| !l.starts_with("failure: "));
    let first = lines.next().unwrap_or("").trim_start_matches("failure: ");
    format!("{first} {}", lines.next().unwrap_or("").trim())
}
