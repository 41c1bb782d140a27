//! `planrun run`, `status`, `retry`, `skip` and `log` on real git repositories with a shell
//! script as the agent: parallel tasks, verification and rework, blocked tasks and their
//! downstream, the agent's environment and prompt, faults of the agent (crash, hang, stall,
//! non-zero exit, huge output, a vanished workspace), Ctrl-C, edited plans, and the run lock.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use std::process::Stdio;
use support::{Repo, alive, events, text, wait_for};

const THREE: &str = "\
# Demo

## Task a: first

Files: `a.txt`

### Verify

- `grep -q good a.txt`

## Task b: second

Depends on: `a`
Files: `b.txt`

## Task c: third

Files: `c.txt`
";

/// Writes `good` to TASK.txt, except on task a's first attempt.
const AGENT: &str = r#"
echo "agent $PLANRUN_TASK_ID attempt $PLANRUN_ATTEMPT"
if [ "$PLANRUN_TASK_ID" = a ] && [ "$PLANRUN_ATTEMPT" = 1 ]; then echo bad > a.txt; exit 0; fi
echo good > "$PLANRUN_TASK_ID.txt"
"#;

#[test]
fn tasks_run_in_parallel_and_a_failed_verify_is_reworked_with_its_output() {
    let repo = Repo::new(THREE, AGENT);
    let out = repo.run(&["--json", "-j", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let ev = events(&out);
    let kinds: Vec<&str> = ev.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(&kinds[..2], ["estimate", "started"], "the estimate comes before anything starts");
    assert_eq!(ev[0]["tasks"], 3);
    assert_eq!(kinds.last(), Some(&"finished"));
    // a and c start together (no shared files, no dependency); b only after a is done.
    let starts: Vec<(&str, u64)> = ev
        .iter()
        .filter(|e| e["event"] == "start" || e["event"] == "retry")
        .map(|e| (e["task"].as_str().unwrap(), e["attempt"].as_u64().unwrap()))
        .collect();
    assert_eq!(&starts[..2], &[("a", 1), ("c", 1)]);
    let pos = |k: &str, task: &str| ev.iter().position(|e| e["event"] == k && e["task"] == task).unwrap();
    assert!(pos("done", "a") < pos("start", "b"));
    let rework = &ev[pos("rework", "a")];
    assert!(rework["reason"].as_str().unwrap().contains("the check `grep -q good a.txt` exited with code 1"));
    assert_eq!(ev.last().unwrap()["outcome"], "done");

    let a = repo.task("a");
    assert_eq!((a["state"].as_str(), a["attempts"].as_u64()), (Some("done"), Some(2)));
    // The second attempt's prompt says why the first was sent back; the first's does not.
    let p1 = repo.read(".planrun/prompts/a.1.md");
    let p2 = repo.read(".planrun/prompts/a.2.md");
    // The built-in implement template: the persona the task's wording calls for, then the brief.
    assert!(p1.starts_with("You are a senior software engineer"), "{p1}");
    assert!(p1.contains("\n# Task a: first") && !p1.contains("sent back"), "{p1}");
    assert!(p2.contains("Why the previous attempt was sent back") && p2.contains("grep -q good a.txt"), "{p2}");
    assert!(repo.read(".planrun/logs/a.1.implement.log").contains("agent a attempt 1"));
    // The state directory keeps itself out of git.
    let st =
        std::process::Command::new("git").args(["status", "--porcelain"]).current_dir(repo.path()).output().unwrap();
    assert!(!String::from_utf8_lossy(&st.stdout).contains(".planrun"));
}

#[test]
fn the_agent_sees_only_allowed_variables_and_secrets_never_reach_the_state_directory() {
    let plan = "# P\n\n## Task t: one\n\nFiles: `t.txt`\n\n### Verify\n\n- `echo check sees $MY_SERVICE_TOKEN; grep -q good t.txt`\n";
    let agent = r#"env | sort > env.txt
echo "token: $MY_SERVICE_TOKEN" ; echo "shape: sk-proj-abcdefghijklmnopqrstuvwxyz123456" >&2
[ "$PLANRUN_ATTEMPT" = 2 ] && echo good > t.txt
exit 0"#;
    let repo = Repo::new(plan, agent);
    let secret = "s3cr3t-value-of-the-service";
    let out = repo
        .cmd(&["run", "plan.md", "--agent-command", "./agent.sh", "--pass-env", "MY_SERVICE_*"])
        .env("MY_SERVICE_TOKEN", secret)
        .env("AWS_SECRET_ACCESS_KEY", "not-for-agents-1234")
        .env("UNRELATED_SETTING", "x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // The agent saw the allow-listed and passed variables, and nothing else of planrun's.
    let env = repo.read("env.txt");
    let names: Vec<&str> = env.lines().filter_map(|l| l.split_once('=').map(|(k, _)| k)).collect();
    for want in ["PATH", "HOME", "MY_SERVICE_TOKEN", "PLANRUN_TASK_ID"] {
        assert!(names.contains(&want), "{want} missing: {names:?}");
    }
    for gone in ["AWS_SECRET_ACCESS_KEY", "UNRELATED_SETTING", "CARGO_MANIFEST_DIR"] {
        assert!(!names.contains(&gone), "{gone} reached the agent: {names:?}");
    }
    // The agent's and the check's output, the journal's reasons and the rework prompt hold the
    // secret only as [redacted] (the failing check's output went into attempt 2's prompt).
    let log = repo.read(".planrun/logs/t.1.implement.log");
    assert!(log.contains("token: [redacted]") && log.contains("shape: [redacted]"), "{log}");
    assert!(repo.read(".planrun/logs/t.1.verify.log").contains("check sees [redacted]"));
    assert!(repo.read(".planrun/prompts/t.2.md").contains("check sees [redacted]"));
    let mut all = Vec::new();
    for dir in [".planrun", ".planrun/logs", ".planrun/prompts"] {
        for e in std::fs::read_dir(repo.path().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.is_file() {
                all.extend(std::fs::read(p).unwrap());
            }
        }
    }
    let all = String::from_utf8_lossy(&all);
    assert!(!all.contains(secret) && !all.contains("sk-proj-abcdef"), "a secret reached the state directory");
}

#[test]
fn the_agent_gets_its_words_placeholders_and_environment_without_a_shell() {
    let plan = "# P\n\n## Task t1: one\n\nFiles: `x`\n";
    let repo = Repo::new(plan, r#"printf '%s\n' "$@" > args.txt; env | grep '^PLANRUN_' | sort > env.txt"#);
    let template = "./agent.sh 'two words' {task_id}:{attempt} {role} $HOME;echo {{literal}}";
    let out = repo.cmd(&["run", "plan.md", "--agent-command", template]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let args: Vec<String> = repo.read("args.txt").lines().map(str::to_owned).collect();
    assert_eq!(args, ["two words", "t1:1", "implement", "$HOME;echo", "{literal}"]);
    let env = repo.read("env.txt");
    let root = repo.path().canonicalize().unwrap();
    for want in [
        "PLANRUN_TASK_ID=t1".to_owned(),
        "PLANRUN_ROLE=implement".to_owned(),
        "PLANRUN_ATTEMPT=1".to_owned(),
        format!("PLANRUN_WORKSPACE={}", root.display()),
        format!("PLANRUN_PROMPT_FILE={}/.planrun/prompts/t1.1.md", root.display()),
    ] {
        assert!(env.lines().any(|l| l == want), "missing {want} in\n{env}");
    }
}

#[test]
fn a_task_that_keeps_failing_is_blocked_its_downstream_waits_and_retry_resumes_it() {
    // The agent cannot do a or b until `fixed` exists; c is independent.
    let agent = "[ \"$PLANRUN_TASK_ID\" = c ] || [ -f fixed ] || { echo 'cannot do it' >&2; exit 7; }\necho good > \"$PLANRUN_TASK_ID.txt\"";
    let repo = Repo::new(THREE, agent);
    let out = repo.run(&["--max-rework", "1"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("blocked a: failed 2 times; last: the agent exited with code 7"), "{stdout}");
    assert!(stdout.contains("waiting behind a: b"), "{stdout}");
    let states = repo.states();
    assert_eq!(states, [("a".into(), "blocked".into()), ("b".into(), "pending".into()), ("c".into(), "done".into())]);
    assert_eq!(repo.task("b")["waiting_for"], "a");
    // The log shows both attempts with the agent's own words.
    let log = repo.cmd(&["log", "a"]).output().unwrap();
    let log = String::from_utf8_lossy(&log.stdout);
    assert!(log.contains("attempt 1 · implement") && log.contains("attempt 2 · implement"), "{log}");
    assert!(log.contains("cannot do it"), "{log}");
    // Running again without a retry changes nothing.
    assert_eq!(repo.run(&[]).status.code(), Some(3));
    // Fix, retry, run: a and b run, c does not run again.
    repo.write("fixed", "");
    let retry = repo.cmd(&["retry", "a"]).output().unwrap();
    assert!(retry.status.success(), "{}", text(&retry));
    let out = repo.run(&["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let started: Vec<String> =
        events(&out).iter().filter(|e| e["event"] == "start").map(|e| e["task"].as_str().unwrap().to_owned()).collect();
    assert_eq!(started, ["a", "b"]);
    // Retrying something that is not finished is refused with a reason.
    let again = repo.cmd(&["retry", "nope"]).output().unwrap();
    assert_eq!(again.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&again.stderr).contains("the plan has no task `nope`"));
}

#[test]
fn skip_lets_dependents_go_on() {
    let repo = Repo::new(THREE, "[ \"$PLANRUN_TASK_ID\" = a ] && exit 1\necho good > \"$PLANRUN_TASK_ID.txt\"");
    assert_eq!(repo.run(&["--max-rework", "0"]).status.code(), Some(3));
    let skip = repo.cmd(&["skip", "a"]).output().unwrap();
    assert!(skip.status.success(), "{}", text(&skip));
    let out = repo.run(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(repo.task("a")["state"], "skipped");
    assert_eq!(repo.task("b")["state"], "done");
}

fn one_task(agent: &str) -> Repo {
    Repo::new("# P\n\n## Task t: the task\n\nFiles: `out.txt`\n", agent)
}

fn blocked_reason(repo: &Repo) -> String {
    let t = repo.task("t");
    assert_eq!(t["state"], "blocked", "{t}");
    t["reason"].as_str().unwrap().to_owned()
}

#[test]
fn an_agent_that_crashes_is_reported_with_its_signal() {
    let repo = one_task("echo about to crash\nkill -SEGV $$");
    let out = repo.run(&["--max-rework", "0"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let reason = blocked_reason(&repo);
    assert!(reason.contains("the agent was killed by signal 11") && reason.contains("about to crash"), "{reason}");
}

#[test]
fn an_agent_that_hangs_is_stopped_at_the_wall_clock_limit_with_its_children() {
    let repo = one_task("sleep 600 &\necho $! > child.pid\nwhile :; do echo busy; sleep 0.05; done");
    let out = repo.run(&["--max-rework", "0", "--timeout", "700ms", "--grace", "200ms"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(blocked_reason(&repo).contains("ran longer than its limit of 700ms and was stopped"));
    let child: i32 = repo.read("child.pid").trim().parse().unwrap();
    assert!(wait_for(2.0, || !alive(child)), "the agent's own child outlived it");
}

#[test]
fn an_agent_that_stops_printing_is_stopped_at_the_stall_limit() {
    let repo = one_task("echo starting\nexec sleep 600");
    let out = repo.run(&["--max-rework", "0", "--stall-timeout", "400ms", "--grace", "100ms"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let reason = blocked_reason(&repo);
    assert!(reason.contains("printed nothing for 400ms (the stall limit)") && reason.contains("starting"), "{reason}");
}

#[test]
fn an_agent_that_exits_non_zero_is_reworked_then_blocked() {
    let repo = one_task("echo \"try $PLANRUN_ATTEMPT\"\nexit 3");
    let out = repo.run(&["--max-rework", "2"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let reason = blocked_reason(&repo);
    assert!(reason.starts_with("failed 3 times; last: the agent exited with code 3"), "{reason}");
    assert!(reason.contains("try 3"), "{reason}");
}

#[test]
fn huge_output_goes_to_the_log_and_not_into_memory() {
    // 2 GiB of output; planrun's own peak memory is measured by the kernel.
    let repo = one_task("head -c 2147483648 /dev/zero | tr '\\0' 'x'\necho\necho the end");
    let out = repo.run(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let log = repo.path().join(".planrun/logs/t.1.implement.log");
    assert_eq!(std::fs::metadata(&log).unwrap().len(), 2_147_483_648 + 1 + 8);
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN).unwrap();
    // ru_maxrss is in KiB: the largest child of this test process, planrun included.
    assert!(usage.max_rss() < 150 * 1024, "peak RSS {} KiB", usage.max_rss());
    std::fs::remove_file(log).unwrap();
}

#[test]
fn a_vanished_workspace_ends_in_a_clear_blocked_state() {
    let state = tempfile::tempdir().unwrap();
    let repo = one_task("rm -rf \"$PLANRUN_WORKSPACE\"");
    let sd = state.path().join("st");
    let sd = sd.to_str().unwrap();
    let out = repo.run(&["--state-dir", sd, "--max-rework", "1"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("does not exist any more"), "{}", text(&out));
}

#[test]
fn ctrl_c_drains_and_the_next_run_resumes_without_repeating_done_work() {
    let plan = "# P\n\n## Task quick: q\n\nFiles: `q`\n\n## Task slow: s\n\nFiles: `s`\n\n## Task after: a\n\nDepends on: `slow`\nFiles: `a`\n";
    let repo =
        Repo::new(plan, "echo \"$PLANRUN_TASK_ID\" >> runs.log\n[ \"$PLANRUN_TASK_ID\" = slow ] && sleep 1\nexit 0");
    let child = repo
        .cmd(&["run", "plan.md", "--agent-command", "./agent.sh", "--json"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(wait_for(10.0, || repo.read("runs.log").contains("slow")));
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    let ev = events(&out);
    assert!(ev.iter().any(|e| e["event"] == "draining"));
    assert!(ev.iter().any(|e| e["event"] == "done" && e["task"] == "slow"), "the running step finished: {ev:?}");
    assert!(!ev.iter().any(|e| e["event"] == "start" && e["task"] == "after"), "nothing new started");
    assert_eq!(repo.status()["outcome"], "interrupted");
    let out = repo.run(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let runs = repo.read("runs.log");
    assert_eq!(runs.lines().filter(|l| *l == "slow").count(), 1, "{runs}");
    assert_eq!(runs.lines().filter(|l| *l == "after").count(), 1, "{runs}");
}

#[test]
fn a_second_ctrl_c_stops_running_steps_at_once() {
    let repo = one_task("echo $$ > agent.pid\nexec sleep 600");
    let mut child = repo
        .cmd(&["run", "plan.md", "--agent-command", "./agent.sh", "--grace", "200ms"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    assert!(wait_for(10.0, || !repo.read("agent.pid").is_empty()));
    let agent: i32 = repo.read("agent.pid").trim().parse().unwrap();
    let pid = Pid::from_raw(child.id() as i32);
    kill(pid, Signal::SIGINT).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(alive(agent), "the first Ctrl-C lets the step run");
    kill(pid, Signal::SIGINT).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(!alive(agent), "the second Ctrl-C stops the agent");
    // The cut-short attempt is not a failure; it runs again as a new attempt.
    let t = repo.task("t");
    assert_eq!((t["state"].as_str(), t["failures"].as_u64()), (Some("rework"), Some(0)), "{t}");
}

#[test]
fn an_edited_plan_is_honoured_and_a_changed_done_task_is_reported_not_rerun() {
    let repo = Repo::new(THREE, "echo \"$PLANRUN_TASK_ID\" >> runs.log\necho good > \"$PLANRUN_TASK_ID.txt\"");
    assert_eq!(repo.run(&[]).status.code(), Some(0));
    // c's definition changes, b is removed, d is added before a.
    let edited = "# Demo\n\n## Task d: new\n\nFiles: `d.txt`\n\n## Task a: first\n\nFiles: `a.txt`\n\n### Verify\n\n- `grep -q good a.txt`\n\n## Task c: third, reworded\n\nFiles: `c.txt`\n";
    repo.write("plan.md", edited);
    let out = repo.run(&["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let ev = events(&out);
    assert!(ev.iter().any(|e| e["event"] == "changed_after_done" && e["task"] == "c"), "{ev:?}");
    let started: Vec<&str> = ev.iter().filter(|e| e["event"] == "start").map(|e| e["task"].as_str().unwrap()).collect();
    assert_eq!(started, ["d"]);
    assert_eq!(repo.states().iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(), ["d", "a", "c"]);
    // `retry` runs the changed task again.
    assert!(repo.cmd(&["retry", "c"]).output().unwrap().status.success());
    let out = repo.run(&["--json"]);
    let started: Vec<String> =
        events(&out).iter().filter(|e| e["event"] == "start").map(|e| e["task"].as_str().unwrap().to_owned()).collect();
    assert_eq!(started, ["c"]);
}

#[test]
fn the_plan_final_check_runs_once_all_tasks_are_done_and_its_failure_exits_3() {
    // The plan's check passes once and fails after: it passes in the task's verify step, then
    // fails as the final check.
    let plan = "# P\n\n## Verify\n\n- `if [ -f once ]; then exit 1; fi; touch once`\n\n## Task t: one\n\nFiles: `x`\n";
    let repo = Repo::new(plan, "exit 0");
    let out = repo.run(&["--json"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let ev = events(&out);
    assert!(ev.iter().any(|e| e["event"] == "done" && e["task"] == "t"));
    let last = ev.last().unwrap();
    assert_eq!(last["outcome"], "final_check_failed");
    assert!(last["final_check"].as_str().unwrap().contains("touch once` exited with code 1"), "{last}");
    // Run again: only the final check is tried again; the done task is not.
    std::fs::remove_file(repo.path().join("once")).unwrap();
    let out = repo.run(&["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let ev = events(&out);
    assert!(ev.iter().any(|e| e["event"] == "final_check_passed"));
    assert!(!ev.iter().any(|e| e["event"] == "start"), "{ev:?}");
}

#[test]
fn an_invalid_plan_runs_nothing_and_exits_2() {
    let repo =
        Repo::new("# P\n\n## Task a: one\n\nDepends on: `b`\n\n## Task b: two\n\nDepends on: `a`\n", "touch ran");
    let out = repo.run(&[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing was run"));
    assert!(!repo.path().join("ran").exists());
    assert!(!repo.path().join(".planrun").exists(), "an invalid plan leaves no state behind");
}

#[test]
fn a_missing_agent_command_is_a_usage_error_that_says_what_to_pass() {
    let repo = Repo::new(THREE, "exit 0");
    let out = repo.cmd(&["run", "plan.md"]).output().unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--agent-command"));
    let out = repo.cmd(&["run", "plan.md", "--agent-command", "'unbalanced"]).output().unwrap();
    assert_eq!(out.status.code(), Some(64), "{}", text(&out));
    for missing in ["./no-such-agent.sh {prompt_file}", "no-such-agent-anywhere --flag"] {
        let out = repo.cmd(&["run", "plan.md", "--agent-command", missing]).output().unwrap();
        assert_eq!(out.status.code(), Some(64), "{}", text(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains("was not found"), "{}", text(&out));
    }
    let status = repo.cmd(&["status"]).output().unwrap();
    assert!(String::from_utf8_lossy(&status.stderr).contains("there is no run here"), "{}", text(&status));
}

#[test]
fn two_runs_of_one_plan_never_overlap() {
    let repo = one_task("echo $$ > agent.pid\nsleep 2");
    let mut first =
        repo.cmd(&["run", "plan.md", "--agent-command", "./agent.sh"]).stdout(Stdio::null()).spawn().unwrap();
    assert!(wait_for(10.0, || !repo.read("agent.pid").is_empty()));
    let second = repo.run(&[]);
    assert_eq!(second.status.code(), Some(75), "{}", text(&second));
    assert!(String::from_utf8_lossy(&second.stderr).contains("another planrun is working on this run"));
    let status = repo.status();
    assert_eq!(status["running"], Value::Bool(true));
    assert_eq!(first.wait().unwrap().code(), Some(0));
}

#[test]
fn status_without_a_run_says_how_to_start_one() {
    let repo = Repo::new(THREE, "exit 0");
    let out = repo.cmd(&["status"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("planrun run PLAN"), "{}", text(&out));
}

#[test]
fn a_rerun_stops_the_agents_a_killed_run_left_behind() {
    let repo = one_task("echo $$ > agent.pid\nsleep 600 &\necho $! > child.pid\nwait");
    let mut first =
        repo.cmd(&["run", "plan.md", "--agent-command", "./agent.sh"]).stdout(Stdio::null()).spawn().unwrap();
    assert!(wait_for(10.0, || !repo.read("child.pid").is_empty()));
    kill(Pid::from_raw(first.id() as i32), Signal::SIGKILL).unwrap();
    first.wait().unwrap();
    let agent: i32 = repo.read("agent.pid").trim().parse().unwrap();
    let child: i32 = repo.read("child.pid").trim().parse().unwrap();
    assert!(alive(agent) && alive(child), "kill -9 of planrun leaves its agent running");
    repo.script("agent.sh", "echo good > out.txt");
    let out = repo.run(&["--json", "--grace", "200ms"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let ev = events(&out);
    let stopped = ev.iter().find(|e| e["event"] == "orphans_stopped").expect("orphans reported");
    let pids: Vec<i64> = stopped["pids"].as_array().unwrap().iter().map(|p| p.as_i64().unwrap()).collect();
    assert!(pids.contains(&i64::from(agent)) && pids.contains(&i64::from(child)), "{pids:?}");
    assert!(!alive(agent) && !alive(child));
    // The interrupted attempt became a new one, and it did not count as a failure.
    assert!(ev.iter().any(|e| e["event"] == "interrupted" && e["task"] == "t"));
    let t = repo.task("t");
    assert_eq!((t["state"].as_str(), t["attempts"].as_u64()), (Some("done"), Some(2)));
}

#[test]
fn a_journal_that_cannot_be_written_stops_the_run_and_loses_nothing() {
    // A file-size limit stands in for a full disk: the journal's writes fail with EFBIG once it
    // outgrows the limit, as they would with ENOSPC.
    let mut plan = String::from("# P\n\n");
    for i in 0..60 {
        plan.push_str(&format!(
            "## Task t{i}: task {i} with a title long enough to fill pages quickly\n\nFiles: `f{i}`\n\n"
        ));
    }
    let repo = Repo::new(&plan, "echo \"$PLANRUN_TASK_ID\" >> runs.log");
    let bin = support::bin();
    let script = format!("ulimit -f 400; exec '{}' run plan.md --agent-command ./agent.sh -j 4", bin.display());
    let out = std::process::Command::new("sh")
        .args(["-c", &script])
        .current_dir(repo.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot write the journal") && stderr.contains("run the same command again"), "{stderr}");
    let before = repo.read("runs.log").lines().count();
    assert!(before > 0 && before < 60, "the journal filled up mid-run ({before} agent runs)");
    // With room again, the run resumes and finishes; nothing recorded done runs twice.
    let out = repo.run(&["-j", "4"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let runs = repo.read("runs.log");
    let mut seen = std::collections::BTreeMap::<&str, usize>::new();
    for l in runs.lines() {
        *seen.entry(l).or_default() += 1;
    }
    assert_eq!(seen.len(), 60);
    // A task may run twice only if the failed commit was the one that recorded it done.
    assert!(seen.values().filter(|&&n| n > 1).count() <= 4, "{seen:?}");
}

#[test]
fn a_moved_repository_keeps_its_run() {
    let repo =
        Repo::new(THREE, "[ \"$PLANRUN_TASK_ID\" = a ] && [ ! -f ok ] && exit 1\necho good > \"$PLANRUN_TASK_ID.txt\"");
    assert_eq!(repo.run(&["--max-rework", "0"]).status.code(), Some(3));
    let moved = tempfile::tempdir().unwrap();
    let to = moved.path().join("elsewhere");
    std::fs::rename(repo.path(), &to).unwrap();
    std::fs::write(to.join("ok"), "").unwrap();
    let planrun = |args: &[&str]| {
        std::process::Command::new(support::bin()).args(args).current_dir(&to).env("NO_COLOR", "1").output().unwrap()
    };
    let status = planrun(&["status"]);
    assert!(status.status.success(), "{}", text(&status));
    assert!(String::from_utf8_lossy(&status.stdout).contains("blocked     a"), "{}", text(&status));
    assert!(planrun(&["retry", "a"]).status.success());
    let out = planrun(&["run", "plan.md", "--agent-command", "./agent.sh", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let started: Vec<String> =
        events(&out).iter().filter(|e| e["event"] == "start").map(|e| e["task"].as_str().unwrap().to_owned()).collect();
    assert_eq!(started, ["a", "b"], "c stayed done");
    let log = planrun(&["log", "a", "--summary"]);
    assert!(
        String::from_utf8_lossy(&log.stdout).contains(&format!("{}/.planrun/logs/a.1.implement.log", to.display()))
    );
    // Give the folder back so the TempDir can remove it.
    std::fs::rename(&to, repo.path()).unwrap();
}

/// A stand-in `claude` (a script, not the real CLI: the real one is tested in agents.rs) that
/// logs the session it was asked to resume and prints stream-json events with a new session id
/// unless it was resumed.
const FAKE_CLAUDE: &str = r#"#!/bin/sh
r=none; prev=""
for a in "$@"; do [ "$prev" = --resume ] && r="$a"; prev="$a"; done
echo "$r" >> "$PLANRUN_WORKSPACE/resumes.log"
n=$(wc -l < "$PLANRUN_WORKSPACE/resumes.log")
sid="sess-$n"; [ "$r" != none ] && sid="$r"
[ "$PLANRUN_ATTEMPT" = 5 ] && echo ok > t.txt
grep -q ok t.txt 2>/dev/null || echo "draft $(echo "$PLANRUN_ATTEMPT" | tr 1234 abcd)" > t.txt
[ -f garbage ] && { echo "this is not json"; exit 0; }
[ -f long ] && head -c 300000000 /dev/zero | tr '\0' x && echo
echo '{"type":"system","subtype":"init","session_id":"'$sid'","model":"claude-fake"}'
echo '{"type":"result","subtype":"success","is_error":false,"result":"done","session_id":"'$sid'","total_cost_usd":0.25,"usage":{"input_tokens":10,"output_tokens":2}}'
"#;

fn fake_cli_repo() -> (Repo, String) {
    // Each failing attempt fails differently (its draft is shown), so the watchdog's "same
    // failure twice" does not step in.
    let plan =
        "# P\n\n## Task t: one\n\nFiles: `t.txt`\n\n### Verify\n\n- `grep -q ok t.txt || { cat t.txt; exit 1; }`\n";
    let repo = Repo::new(plan, "exit 1");
    repo.write("bin/claude", FAKE_CLAUDE);
    std::fs::set_permissions(repo.path().join("bin/claude"), std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .unwrap();
    let path = format!("{}:{}", repo.path().join("bin").display(), std::env::var("PATH").unwrap());
    (repo, path)
}

#[test]
fn the_first_reworks_resume_the_session_then_a_fresh_one_starts() {
    let (repo, path) = fake_cli_repo();
    let out = repo
        .cmd(&[
            "run",
            "plan.md",
            "--agent",
            "claude",
            "--max-rework",
            "4",
            "--resume-rounds",
            "2",
            "--reviews",
            "none",
            "--yes",
        ])
        .env("PATH", &path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let resumed = repo.read("resumes.log");
    // Attempt 1 new; 2 and 3 resume it; 4 starts fresh (two resumes in a row were the limit); 5
    // resumes the session of 4.
    assert_eq!(resumed.lines().collect::<Vec<_>>(), ["none", "sess-1", "sess-1", "none", "sess-4"]);
    // The fresh attempt 4 got the whole brief again, the resumed ones only the failure.
    assert!(repo.read(".planrun/prompts/t.4.md").contains("# Task t: one"));
    let p3 = repo.read(".planrun/prompts/t.3.md");
    assert!(p3.contains("checked your work on task t") && !p3.contains("# Task t: one"), "{p3}");
    // Usage and dollars add up over the five runs.
    let st = repo.status();
    assert_eq!((st["usage"]["input"].as_u64(), st["usage"]["output"].as_u64()), (Some(50), Some(10)));
    assert!((st["usage"]["cost_usd"].as_f64().unwrap() - 1.25).abs() < 1e-9, "{}", st["usage"]);
    let human = String::from_utf8(repo.cmd(&["status"]).output().unwrap().stdout).unwrap();
    assert!(human.contains("used 50 in / 10 out tokens, $1.2500 over 5 agent runs"), "{human}");
}

#[test]
fn an_agent_cli_that_prints_no_events_is_reworked_with_a_clear_reason() {
    let (repo, path) = fake_cli_repo();
    repo.write("garbage", "");
    let out = repo
        .cmd(&["run", "plan.md", "--agent", "claude", "--max-rework", "0", "--json", "--reviews", "none", "--yes"])
        .env("PATH", &path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let reason = blocked_reason(&repo);
    assert!(reason.contains("exited 0 but printed none of the events planrun reads"), "{reason}");
    assert!(reason.contains("this is not json"), "the reason shows its output: {reason}");
}

#[test]
fn a_cli_line_of_hundreds_of_megabytes_is_skipped_and_the_events_after_it_are_read() {
    let (repo, path) = fake_cli_repo();
    repo.write("long", "");
    repo.write("t.txt", "ok\n");
    let out = repo
        .cmd(&["run", "plan.md", "--agent", "claude", "--reviews", "none", "--yes"])
        .env("PATH", &path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let st = repo.status();
    assert_eq!(st["usage"]["input"].as_u64(), Some(10), "the events after the long line were read");
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN).unwrap();
    assert!(usage.max_rss() < 150 * 1024, "peak RSS {} KiB", usage.max_rss());
}

#[test]
fn every_run_leaves_a_summary_and_a_junit_report_that_a_resume_keeps_in_one_folder() {
    let repo = Repo::new(THREE, "[ \"$PLANRUN_TASK_ID\" = c ] && exit 1\necho good > \"$PLANRUN_TASK_ID.txt\"");
    let out = repo.run(&["--max-rework", "0", "--json"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let finished = events(&out).pop().unwrap();
    let summary = std::path::PathBuf::from(finished["report"].as_str().unwrap());
    let dir = summary.parent().unwrap().to_owned();
    assert_eq!(
        dir.parent().unwrap(),
        repo.path().join(".planrun/runs").canonicalize().unwrap_or(repo.path().join(".planrun/runs"))
    );
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.contains("- outcome: blocked") && md.contains("| a | first | done | 1 |"), "{md}");
    assert!(md.contains("| c | third | blocked | 1 |") && md.contains("## Blocked"), "{md}");
    // The JUnit file is well-formed XML (read by Python's parser) with a test case per task and
    // per task's checks; the blocked task is a failure.
    let check = r#"
import sys, xml.etree.ElementTree as E
root = E.parse(sys.argv[1]).getroot()
suite = root.find("testsuite")
cases = suite.findall("testcase")
print(root.get("tests"), root.get("failures"), ",".join(c.get("name") for c in cases), "/", ",".join(c.get("name") for c in cases if c.find("failure") is not None))
"#;
    let py = std::process::Command::new("python3").args(["-c", check]).arg(dir.join("junit.xml")).output().unwrap();
    assert!(py.status.success(), "{}", String::from_utf8_lossy(&py.stderr));
    assert_eq!(
        String::from_utf8_lossy(&py.stdout).trim(),
        "4 1 a: first,a: checks,b: second,c: third / c: third",
        "{}",
        std::fs::read_to_string(dir.join("junit.xml")).unwrap()
    );
    // A resumed run writes into the same folder.
    repo.script("agent.sh", "echo good > \"$PLANRUN_TASK_ID.txt\"");
    assert_eq!(repo.cmd(&["retry", "c"]).output().unwrap().status.code(), Some(0));
    let out = repo.run(&["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let again = std::path::PathBuf::from(events(&out).pop().unwrap()["report"].as_str().unwrap().to_owned());
    assert_eq!(again, summary);
    assert!(std::fs::read_to_string(&again).unwrap().contains("- outcome: done"));
}

#[test]
fn a_blocked_task_is_explained_with_each_rejection_and_a_recommendation() {
    let plan = "# P\n\n## Task t: Parse the header\n\nFiles: `t.txt`\n\nRead the header line.\n\n### Acceptance\n\n- [ ] the header is parsed\n\n### Verify\n\n- `grep -q parsed t.txt`\n";
    let repo = Repo::new(plan, "echo 'I am sure it works'; echo wrong > t.txt");
    let out = repo.run(&["--max-rework", "1", "--json"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let out = repo.cmd(&["explain", "t"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "# Task t: Parse the header (blocked)",
        "Read the header line.",
        "- [ ] the header is parsed",
        "- check: `grep -q parsed t.txt`",
        "### Attempt 1",
        "### Attempt 2",
        "rejected by verify:",
        "the check `grep -q parsed t.txt` exited with code 1",
        "the same check failed on every attempt (`grep -q parsed t.txt`)",
        "`planrun retry t`",
    ] {
        assert!(report.contains(needle), "missing {needle:?} in\n{report}");
    }
    let json: Value = serde_json::from_slice(&repo.cmd(&["explain", "t", "--json"]).output().unwrap().stdout).unwrap();
    let gates: Vec<&str> = json["rejections"].as_array().unwrap().iter().map(|r| r["gate"].as_str().unwrap()).collect();
    assert_eq!(gates, ["verify", "verify"]);
    // The run wrote the same report for its blocked task.
    let runs = repo.path().join(".planrun/runs");
    let run = std::fs::read_dir(&runs).unwrap().next().unwrap().unwrap().path();
    assert_eq!(std::fs::read_to_string(run.join("escalations/t.md")).unwrap(), report);
    let out = repo.cmd(&["explain", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(64));
}

#[test]
fn done_tasks_are_marked_in_the_plan_itself_unless_asked_not_to() {
    let repo = Repo::new(THREE, "[ \"$PLANRUN_TASK_ID\" = c ] && exit 1\necho good > \"$PLANRUN_TASK_ID.txt\"");
    let before = repo.read("plan.md");
    let out = repo.run(&["--max-rework", "0", "--no-status-files"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert_eq!(repo.read("plan.md"), before, "--no-status-files leaves the plan alone");
    repo.cmd(&["retry", "c"]).output().unwrap();
    repo.script("agent.sh", "echo good > \"$PLANRUN_TASK_ID.txt\"");
    let out = repo.run(&["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let after = repo.read("plan.md");
    assert_eq!(after.matches("Status: done").count(), 3, "{after}");
    let finished = events(&out).pop().unwrap();
    assert_eq!(finished["status_files"].as_array().unwrap().len(), 1, "{finished}");
    // The plan still reads the same, now with its tasks done; a rerun has nothing to do.
    let check = repo.cmd(&["check", "plan.md"]).output().unwrap();
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
    let out = repo.run(&["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!events(&out).iter().any(|e| e["event"] == "start"), "nothing ran again");
    assert_eq!(repo.read("plan.md"), after, "marking again changes nothing");
}

#[test]
fn a_task_failing_the_same_way_twice_is_caught_by_the_watchdog() {
    let plan = "# P\n\n## Task t: one\n\nFiles: `t.txt`\n\n### Verify\n\n- `grep -q ok t.txt`\n\n## Task u: two\n\nFiles: `u.txt`\n";
    // t's agent never changes anything that matters: its check fails identically every time.
    let repo = Repo::new(
        plan,
        r#"[ "$PLANRUN_TASK_ID" = u ] && echo u > u.txt; echo "attempt $PLANRUN_ATTEMPT at $(date +%s%N)""#,
    );
    let out = repo.run(&["--json", "--on-repeat", "block"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let ev = events(&out);
    let repeat = ev.iter().find(|e| e["event"] == "repeated_failure").unwrap();
    assert_eq!(repeat["task"], "t");
    assert_eq!(repeat["policy"], "block");
    let t = repo.task("t");
    assert_eq!(t["state"], "blocked");
    assert!(t["reason"].as_str().unwrap().starts_with("failed the same way twice in a row"), "{t}");
    assert_eq!(t["attempts"], 2, "blocked after its second identical failure, not after --max-rework");
    assert_eq!(repo.task("u")["state"], "done");
    // With the default policy the next attempt starts afresh instead, up to --max-rework.
    let again = Repo::new(plan, "true");
    let out = again.run(&["--json", "--max-rework", "2"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let ev = events(&out);
    assert!(ev.iter().any(|e| e["event"] == "repeated_failure" && e["policy"] == "retry"));
    assert_eq!(again.task("t")["attempts"], 3);
}

#[test]
fn a_usage_window_pauses_its_agent_until_room_comes_back() {
    let plan = "# P\n\n## Task t: one\n\nFiles: `t.txt`\n\n## Task u: two\n\nDepends on: `t`\nFiles: `u.txt`\n";
    let (repo, path) = fake_cli_repo();
    repo.write("plan.md", plan);
    // The stand-in claude reports 12 tokens a run; the window holds 10 for about 3 seconds.
    repo.write("planrun.toml", "[windows.claude]\nhours = 0.0008\ntokens = 10\n");
    let out = repo
        .cmd(&["run", "plan.md", "--agent", "claude", "--reviews", "none", "--yes", "--json"])
        .env("PATH", &path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let ev = events(&out);
    let waiting = ev.iter().find(|e| e["event"] == "waiting").unwrap_or_else(|| panic!("{ev:?}"));
    assert_eq!(waiting["task"], "u");
    assert_eq!(waiting["agent"], "claude");
    assert!(waiting["seconds"].as_u64().unwrap() <= 3, "{waiting}");
    let at = |event: &str, task: &str| {
        ev.iter().find(|e| e["event"] == event && e["task"] == task).unwrap()["elapsed_ms"].as_u64().unwrap()
    };
    assert!(at("agent_usage", "u") >= at("done", "t") + 2000, "u's agent ran only once the window had room");
}

#[test]
fn the_watchdog_acts_on_a_run_whose_agents_print_nothing() {
    let plan = "# P\n\n## Task t: one\n\nFiles: `t.txt`\n";
    // The agent prints nothing for 20 s; the per-step stall limit (10 m) would not notice.
    let repo = Repo::new(plan, r#"[ "$PLANRUN_ATTEMPT" = 1 ] && sleep 20; echo ok > t.txt"#);
    let started = std::time::Instant::now();
    let out = repo.run(&["--json", "--watchdog", "1s", "--grace", "200ms"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(started.elapsed().as_secs() < 15, "the watchdog stepped in, not the agent's own end");
    let ev = events(&out);
    let seen = ev.iter().find(|e| e["event"] == "no_progress").unwrap_or_else(|| panic!("{ev:?}"));
    assert_eq!(seen["policy"], "retry");
    assert_eq!(seen["tasks"], serde_json::json!(["t"]));
    let t = repo.task("t");
    assert_eq!((t["attempts"].as_u64(), t["failures"].as_u64()), (Some(2), Some(0)), "run again, not failed: {t}");
    // With `block`, the silent task is blocked with the watchdog's reason.
    let again = Repo::new(plan, "sleep 20");
    let out = again.run(&["--json", "--watchdog", "1s", "--grace", "200ms", "--on-no-progress", "block"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let reason = again.task("t")["reason"].as_str().unwrap().to_owned();
    assert!(reason.contains("stopped by the watchdog: no agent printed anything for 1s"), "{reason}");
}

#[test]
fn a_task_over_its_own_budget_is_blocked_while_the_others_go_on() {
    let (repo, path) = fake_cli_repo();
    // t keeps failing its check; each run of the stand-in claude reports $0.25. u is fine.
    repo.write(
        "plan.md",
        "# P\n\n## Task t: one\n\nFiles: `t.txt`\n\n### Verify\n\n- `grep -q ok t.txt || { cat t.txt; exit 1; }`\n\n## Task u: two\n\nFiles: `u.txt`\n",
    );
    let out = repo
        .cmd(&[
            "run",
            "plan.md",
            "--agent",
            "claude",
            "--reviews",
            "none",
            "--yes",
            "--json",
            "--task-budget-usd",
            "0.6",
        ])
        .env("PATH", &path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let t = repo.task("t");
    assert_eq!(t["state"], "blocked");
    let reason = t["reason"].as_str().unwrap();
    assert!(reason.contains("the task alone spent $0.7500, over its budget of $0.60"), "{reason}");
    assert_eq!(t["attempts"], 3, "blocked before a fourth run: {t}");
    assert_eq!(repo.task("u")["state"], "done");
    assert!(events(&out).iter().any(|e| e["event"] == "task_budget" && e["task"] == "t"));
}

#[test]
fn verify_runs_every_check_and_reports_each_failure_with_how_many_passed() {
    let plan = "# P\n\n## Task t: one\n\nFiles: `t.txt`\n\n### Verify\n\n- `grep -q a t.txt`\n- `echo second-ran >> .git/ran; grep -q b t.txt`\n- `echo third-ran >> .git/ran; grep -q x t.txt`\n";
    let repo = Repo::new(plan, "echo a > t.txt");
    let out = repo.run(&["--json", "--max-rework", "0", "--reviews", "none"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert_eq!(repo.read(".git/ran"), "second-ran\nthird-ran\n", "the checks after a failure still ran");
    let ev = events(&out);
    let blocked = ev.iter().find(|e| e["event"] == "blocked").unwrap();
    let reason = blocked["reason"].as_str().unwrap();
    assert!(reason.contains("2 of 3 checks failed (1/3 passed):"), "{reason}");
    assert!(
        reason.contains("- the check `echo second-ran >> .git/ran; grep -q b t.txt` exited with code 1"),
        "{reason}"
    );
    assert!(
        reason.contains("- the check `echo third-ran >> .git/ran; grep -q x t.txt` exited with code 1"),
        "{reason}"
    );
    let report = ev.iter().find(|e| e["event"] == "task_report");
    assert!(report.is_none(), "a blocked task has no pass report");
}

/// A reviewer that notes which review it gives (from its prompt file's name) and blocks the
/// task review of the first attempt.
const ORDERED_REVIEWER: &str = r#"case "$1" in *task-review*) r=task ;; *) r=code ;; esac
n=$(basename "$1" | cut -d. -f2)
echo "$r.$n" >> .git/reviews
if [ "$r.$n" = task.1 ]; then
  echo '{"verdict": "changes_requested", "findings": [{"severity": "blocking", "file": "t.txt", "line": 1, "message": "say more"}]}'
else
  echo '{"verdict": "pass", "findings": []}'
fi"#;

#[test]
fn review_order_sequential_runs_the_code_review_only_after_the_task_review_passed() {
    for (order, expected) in
        [("sequential", vec!["task.1", "task.2", "code.2"]), ("parallel", vec!["code.1", "code.2", "task.1", "task.2"])]
    {
        let plan = "# P\n\n## Task t: one\n\nFiles: `t.txt`\n";
        let repo = Repo::new(plan, "echo more >> t.txt");
        repo.script("review.sh", ORDERED_REVIEWER);
        let out = repo.run(&[
            "--reviews",
            "task,code",
            "--review-agent",
            "command",
            "--review-command",
            "./review.sh {prompt_file}",
            "--review-order",
            order,
        ]);
        assert_eq!(out.status.code(), Some(0), "{order}: {}", text(&out));
        let mut got: Vec<String> = repo.read(".git/reviews").lines().map(str::to_owned).collect();
        if order == "parallel" {
            got.sort();
        }
        assert_eq!(got, expected, "{order}");
    }
}
