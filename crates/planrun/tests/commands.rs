//! The commands around running a plan, through the real binary: short and long help, shell
//! completions, the manual page, `init`, `--quiet` / `--verbose`, `status --watch`,
//! `log --follow` and `log --json`. Runs use real git and a shell script as the agent.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use serde_json::Value;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::{Repo, text, wait_for};

fn planrun(args: &[&str]) -> std::process::Output {
    Command::new(support::bin()).args(args).env("NO_COLOR", "1").output().unwrap()
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The commands `planrun -h` lists (the binary's own command tree), without `help`.
fn subcommands() -> Vec<String> {
    let out = planrun(&["-h"]);
    assert!(out.status.success(), "{}", text(&out));
    let help = stdout(&out);
    let list = help.split("Commands:\n").nth(1).unwrap().split("\n\n").next().unwrap();
    let names: Vec<String> = list
        .lines()
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .filter(|n| n != "help")
        .collect();
    assert!(names.len() >= 19, "{names:?}");
    names
}

#[test]
fn every_command_has_a_short_help_of_at_most_40_lines_and_its_exit_codes_in_both_helps() {
    for cmd in subcommands() {
        let short = planrun(&[&cmd, "-h"]);
        assert!(short.status.success(), "{cmd} -h: {}", text(&short));
        let short = stdout(&short);
        assert!(short.lines().count() <= 40, "`planrun {cmd} -h` has {} lines:\n{short}", short.lines().count());
        assert!(short.contains("Exit codes"), "`planrun {cmd} -h` names no exit codes:\n{short}");
        let long = stdout(&planrun(&[&cmd, "--help"]));
        assert!(long.contains("Exit codes"), "`planrun {cmd} --help` names no exit codes");
        assert!(long.lines().count() >= short.lines().count(), "{cmd}: --help is the full text");
    }
    // The detail lives in --help: the run's pipeline and events, every flag.
    let long = stdout(&planrun(&["run", "--help"]));
    assert!(long.contains("The pipeline (each task, in order") && long.contains("--drain-timeout"), "{long}");
    let short = stdout(&planrun(&["run", "-h"]));
    assert!(!short.contains("--drain-timeout") && short.contains("--agent"), "{short}");
    // Exit code 5 (paused) is in the top-level help.
    assert!(stdout(&planrun(&["-h"])).contains("  5    `run`, `continue`: paused for you"));
}

#[test]
fn continue_says_and_returns_2_when_there_is_no_run() {
    let dir = tempfile::tempdir().unwrap();
    let help = stdout(&planrun(&["continue", "--help"]));
    assert!(help.contains("2 no run in the state directory"), "{help}");
    let out = planrun(&["continue", "--state-dir", dir.path().join("none").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn estimate_help_describes_its_own_json_and_leaves_out_run_only_flags() {
    let help = stdout(&planrun(&["estimate", "--help"]));
    assert!(help.contains("Print the estimate as one JSON object"), "{help}");
    assert!(!help.contains("one JSON object per event"), "{help}");
    for run_only in ["--drain-timeout", "--budget-usd", "--no-status-files", "--watchdog", "--yes"] {
        assert!(!help.contains(run_only), "estimate --help lists {run_only}");
    }
    // Still accepted, so a run's command line can be estimated as it is.
    let out = planrun(&[
        "estimate",
        "../../examples/quickstart/plan.md",
        "--agent-command",
        "true",
        "--drain-timeout",
        "5s",
        "--yes",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn completions_are_generated_for_every_shell_and_name_the_commands() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = planrun(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {}", text(&out));
        let script = stdout(&out);
        for word in ["check", "status", "continue", "init", "completions", "watch", "follow"] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
    let out = planrun(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(64), "{}", text(&out));
}

#[test]
fn the_manual_page_renders_and_one_page_per_command_is_written() {
    let out = planrun(&["man"]);
    assert!(out.status.success(), "{}", text(&out));
    let roff = stdout(&out);
    assert!(roff.contains(".TH planrun 1") && roff.contains(".SH NAME"), "{roff}");
    assert!(roff.contains("planrun\\-run(1)") || roff.contains("run"), "the commands are listed");
    // groff renders it without a warning.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("planrun.1"), &roff).unwrap();
    let rendered = Command::new("groff").args(["-man", "-Tutf8", "-ww", "planrun.1"]).current_dir(dir.path()).output();
    if let Ok(r) = rendered {
        assert!(r.status.success() && r.stderr.is_empty(), "{}", String::from_utf8_lossy(&r.stderr));
        let page = String::from_utf8_lossy(&r.stdout);
        assert!(page.contains("Exit codes") && page.contains("completions"), "{page}");
    }
    let run = stdout(&planrun(&["man", "run"]));
    assert!(run.contains(".TH planrun-run 1") && run.contains("drain\\-timeout"), "{run}");
    let pages = dir.path().join("man1");
    let out = planrun(&["man", "--dir", pages.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    for name in subcommands() {
        assert!(pages.join(format!("planrun-{name}.1")).is_file(), "no page for {name}");
    }
    assert!(pages.join("planrun.1").is_file());
    assert_eq!(planrun(&["man", "nosuch"]).status.code(), Some(64));
}

/// Answers the example plan's two tasks.
const INIT_AGENT: &str = r#"
case "$PLANRUN_TASK_ID" in
  greeting) echo 'Hello, world' > greeting.txt ;;
  shout) echo 'HELLO, WORLD' > shout.txt ;;
esac
"#;

#[test]
fn init_writes_a_plan_check_accepts_and_a_config_run_reads_and_never_overwrites_unasked() {
    let repo = Repo::new("", INIT_AGENT);
    std::fs::remove_file(repo.path().join("plan.md")).unwrap();
    let out = repo.cmd(&["init"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let config = repo.read("planrun.toml");
    assert!(config.contains("# resume_rounds = 2") && config.contains("# [budget]"), "{config}");
    let check = repo.cmd(&["check", "plan.md"]).output().unwrap();
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
    assert!(String::from_utf8_lossy(&check.stderr).contains("0 errors, 0 warnings"), "{}", text(&check));

    // A second init changes nothing and says so; --force overwrites.
    repo.write("plan.md", "# mine\n");
    let again = repo.cmd(&["init"]).output().unwrap();
    assert_eq!(again.status.code(), Some(64), "{}", text(&again));
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("already exist") && err.contains("--force"), "{err}");
    assert_eq!(repo.read("plan.md"), "# mine\n");
    let forced = repo.cmd(&["init", "--force"]).output().unwrap();
    assert_eq!(forced.status.code(), Some(0), "{}", text(&forced));
    assert!(repo.read("plan.md").starts_with("# Example plan"));

    // `run` reads the written planrun.toml (a key uncommented in it takes effect) and runs
    // the example plan to the end.
    let config = config.replace("# [pipeline]\n", "[pipeline]\n").replace("# scope = \"strict\"", "scope = \"off\"");
    repo.write("planrun.toml", &config);
    let run = repo.run(&["--json"]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    let events = support::events(&run);
    assert!(events.iter().all(|e| e["event"] != "scope"), "scope = \"off\" from planrun.toml was not honoured");
    assert_eq!(repo.states(), [("greeting".to_owned(), "done".to_owned()), ("shout".to_owned(), "done".to_owned())]);
    // And a typo in it is an error naming the file: run does read it.
    repo.write("planrun.toml", &format!("{config}\nresume_round = 1\n"));
    let bad = repo.cmd(&["run", "plan.md", "--agent-command", "./agent.sh"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(64), "{}", text(&bad));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("planrun.toml"), "{}", text(&bad));
}

const WARNED: &str = "\
# Warned

## Task a: first

Files: `a.txt`
Status: maybe

## Task b: second

Files: `b.txt`
Status: perhaps

## Task c: third

Files: `c.txt`
Status: later

## Task d: fourth

Files: `d.txt`
Status: sometime
";

#[test]
fn quiet_prints_only_errors_and_the_result_and_verbose_shows_every_warning() {
    let repo = Repo::new(WARNED, "true");
    let normal = repo.cmd(&["check", "plan.md"]).output().unwrap();
    assert!(String::from_utf8_lossy(&normal.stderr).contains("--verbose shows each in full"), "{}", text(&normal));
    let verbose = repo.cmd(&["check", "plan.md", "--verbose"]).output().unwrap();
    let v = String::from_utf8_lossy(&verbose.stderr);
    assert_eq!(v.matches("unknown-status").count(), 4, "{v}");
    let quiet = repo.cmd(&["-q", "check", "plan.md"]).output().unwrap();
    assert_eq!(quiet.status.code(), Some(0));
    assert_eq!(stdout(&quiet), "", "{}", text(&quiet));
    assert_eq!(String::from_utf8_lossy(&quiet.stderr).trim(), "check: 0 errors, 8 warnings: the plan can run");
    let both = repo.cmd(&["check", "plan.md", "-q", "-v"]).output().unwrap();
    assert_eq!(both.status.code(), Some(64), "{}", text(&both));

    // A run: no progress lines, only the final result.
    let repo = Repo::new("# P\n\n## Task a: one\n\nFiles: `a.txt`\n", "echo done > a.txt");
    let out = repo.run(&["--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let o = stdout(&out);
    assert!(o.starts_with("planrun: 1 task: 1 done; all done"), "{}", text(&out));
    assert!(!o.contains("start ") && out.stderr.is_empty(), "{}", text(&out));
}

#[test]
fn verbose_shows_a_blocked_tasks_whole_reason_where_it_is_otherwise_cut_to_its_first_line() {
    let plan = "# One\n\n## Task a: first\n\nFiles: `a.txt`\n\n### Verify\n\n- `echo checking; echo tail-line | tr a-z A-Z; grep -q good a.txt`\n";
    let repo = Repo::new(plan, "echo bad > a.txt");
    let out = repo.run(&["--max-rework", "0"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let reason = repo.task("a")["reason"].as_str().unwrap().to_owned();
    let lines: Vec<&str> = reason.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 2, "a reason of several lines: {reason}");
    // What the check printed is in the reason, below its first line.
    let last = "TAIL-LINE";
    assert!(reason.contains(last) && !lines[0].contains(last), "{reason}");
    let status = stdout(&repo.cmd(&["status"]).output().unwrap());
    assert!(status.contains(lines[0].trim()) && !status.contains(last), "{status}");
    let verbose = stdout(&repo.cmd(&["status", "--verbose"]).output().unwrap());
    assert!(verbose.contains(last), "{verbose}");
    let quiet = stdout(&repo.cmd(&["status", "-q"]).output().unwrap());
    assert_eq!(quiet, "1 task: 1 blocked\n");
    // The run's last lines too; its written summary stays the same either way.
    repo.cmd(&["retry", "a"]).output().unwrap();
    let again =
        repo.cmd(&["run", "plan.md", "--agent-command", "./agent.sh", "--max-rework", "0", "-v"]).output().unwrap();
    assert_eq!(again.status.code(), Some(3), "{}", text(&again));
    assert!(stdout(&again).contains(last), "{}", text(&again));
}

/// Prints a line, then waits for the test's `go.ATTEMPT` file before its second line; the first
/// attempt writes what fails the check, the second what passes it.
fn gated_agent(control: &Path) -> String {
    format!(
        r#"
echo "attempt $PLANRUN_ATTEMPT first"
while [ ! -f '{dir}/go.'"$PLANRUN_ATTEMPT" ]; do sleep 0.05; done
echo "attempt $PLANRUN_ATTEMPT second"
if [ "$PLANRUN_ATTEMPT" = 2 ]; then echo good > a.txt; else echo bad > a.txt; fi
"#,
        dir = control.display()
    )
}

const ONE: &str = "\
# One

## Task a: first

Files: `a.txt`

### Verify

- `grep -q good a.txt`
";

/// The lines a child prints, as they come.
fn lines_of(child: &mut std::process::Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            if tx.send(line.unwrap_or_default()).is_err() {
                break;
            }
        }
    });
    rx
}

/// Reads lines until one contains `want` (within 20 s); everything read is added to `seen`.
fn until(rx: &mpsc::Receiver<String>, want: &str, seen: &mut Vec<String>) {
    let end = Instant::now() + Duration::from_secs(20);
    while Instant::now() < end {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) {
            let hit = line.contains(want);
            seen.push(line);
            if hit {
                return;
            }
        }
    }
    panic!("no line with {want:?} in:\n{}", seen.join("\n"));
}

#[test]
fn log_follow_shows_output_while_the_step_runs_goes_into_the_next_attempt_and_ends_with_the_task() {
    let control = tempfile::tempdir().unwrap();
    let repo = Repo::new(ONE, &gated_agent(control.path()));
    let mut run = repo
        .cmd(&["run", "plan.md", "--agent-command", "./agent.sh"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let log = repo.path().join(".planrun/logs/a.1.implement.log");
    assert!(wait_for(20.0, || std::fs::read_to_string(&log).is_ok_and(|l| l.contains("first"))));
    let mut follow = repo.cmd(&["log", "a", "--follow"]).stdout(Stdio::piped()).spawn().unwrap();
    let rx = lines_of(&mut follow);
    let mut seen = Vec::new();
    // What the agent printed so far, while it still waits.
    until(&rx, "attempt 1 first", &mut seen);
    assert!(seen.iter().any(|l| l.contains("── attempt 1 · implement · running")), "{seen:#?}");
    // Appended while the step runs.
    std::fs::write(control.path().join("go.1"), "").unwrap();
    until(&rx, "attempt 1 second", &mut seen);
    // The failed check, then the next attempt's step, followed as it runs.
    until(&rx, "── attempt 2 · implement · running", &mut seen);
    until(&rx, "attempt 2 first", &mut seen);
    assert!(seen.iter().any(|l| l.contains("exited with code 1")), "the failed verify is shown: {seen:#?}");
    std::fs::write(control.path().join("go.2"), "").unwrap();
    until(&rx, "attempt 2 second", &mut seen);
    until(&rx, "task a is done", &mut seen);
    let status = follow.wait().unwrap();
    assert!(status.success(), "{seen:#?}");
    assert_eq!(run.wait().unwrap().code(), Some(0));
    // Each line of the agent's output was shown once.
    assert_eq!(seen.iter().filter(|l| l.as_str() == "attempt 1 first").count(), 1, "{seen:#?}");
    assert_eq!(seen.iter().filter(|l| l.as_str() == "attempt 2 second").count(), 1, "{seen:#?}");

    // --json: the recorded steps, parseable, with their logs.
    let out = repo.cmd(&["log", "a", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((v["task"].as_str(), v["state"].as_str()), (Some("a"), Some("done")));
    assert!(v["running"].is_null());
    let steps = v["steps"].as_array().unwrap();
    let implement: Vec<&Value> = steps.iter().filter(|s| s["step"] == "implement").collect();
    assert_eq!(implement.len(), 2);
    let first_log = implement[0]["logs"][0].as_str().unwrap();
    assert!(std::fs::read_to_string(first_log).unwrap().contains("attempt 1 second"));
    let verify: Vec<&Value> = steps.iter().filter(|s| s["step"] == "verify").collect();
    assert_eq!(verify.iter().map(|s| s["ok"].as_bool().unwrap()).collect::<Vec<_>>(), [false, true]);
    let only2 = repo.cmd(&["log", "a", "--json", "--attempt", "2"]).output().unwrap();
    let v: Value = serde_json::from_slice(&only2.stdout).unwrap();
    assert!(v["steps"].as_array().unwrap().iter().all(|s| s["attempt"] == 2));
}

#[test]
fn status_watch_shows_changes_and_ends_when_the_run_ends() {
    let control = tempfile::tempdir().unwrap();
    let repo = Repo::new(ONE, &gated_agent(control.path()));
    let mut run = repo
        .cmd(&["run", "plan.md", "--agent-command", "./agent.sh"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let log = repo.path().join(".planrun/logs/a.1.implement.log");
    assert!(wait_for(20.0, || std::fs::read_to_string(&log).is_ok_and(|l| l.contains("first"))));
    let mut watch = repo.cmd(&["status", "--watch"]).stdout(Stdio::piped()).spawn().unwrap();
    let rx = lines_of(&mut watch);
    let mut seen = Vec::new();
    until(&rx, "run: in progress", &mut seen);
    until(&rx, "--", &mut seen);
    // Nothing changes while the agent waits: no second block.
    std::thread::sleep(Duration::from_millis(2500));
    while let Ok(l) = rx.try_recv() {
        seen.push(l);
    }
    assert_eq!(seen.iter().filter(|l| l.as_str() == "--").count(), 1, "{seen:#?}");
    std::fs::write(control.path().join("go.1"), "").unwrap();
    std::fs::write(control.path().join("go.2"), "").unwrap();
    assert_eq!(run.wait().unwrap().code(), Some(0));
    until(&rx, "run: last ended done", &mut seen);
    // It ends by itself once the run has ended.
    let ended = wait_for(5.0, || watch.try_wait().unwrap().is_some());
    if !ended {
        let _ = watch.kill();
    }
    assert!(ended, "status --watch went on after the run ended: {seen:#?}");
    assert!(watch.wait().unwrap().success());
    assert!(seen.iter().any(|l| l.contains("in_progress") || l.contains("rework") || l.contains("in_review")));

    // --json --watch on an ended run: one object, then it ends.
    let out = repo.cmd(&["status", "--watch", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let objects: Vec<Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(objects.len(), 1);
    assert_eq!(objects[0]["running"], false);
}

#[test]
fn log_follow_ends_when_no_run_is_going_on_even_if_the_task_waits_mid_pipeline() {
    // --commit manual in worktree mode: the run pauses (exit 5) with the task waiting for your
    // commit, still marked running; nothing more will be written until `planrun continue`.
    let repo = support::committed(ONE, "echo good > a.txt", &[]);
    let out = repo.run(&["--commit", "manual", "--workspace", "worktree"]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert_eq!(repo.task("a")["state"], "in_review");
    let mut follow = repo.cmd(&["log", "a", "--follow"]).stdout(Stdio::piped()).spawn().unwrap();
    let ended = wait_for(10.0, || follow.try_wait().unwrap().is_some());
    if !ended {
        let _ = follow.kill();
    }
    let out = follow.wait_with_output().unwrap();
    assert!(ended, "log --follow went on with no run going on: {}", String::from_utf8_lossy(&out.stdout));
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("task a is in_review; no run is going on"));
}
