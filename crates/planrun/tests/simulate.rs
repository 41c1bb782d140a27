//! Drives the real `planrun simulate`: the JSON contract, the ordering of policies on a wide
//! plan, determinism, and the exit codes for invalid plans and bad flag values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use assert_cmd::Command;
use serde_json::Value;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn planrun() -> Command {
    let mut cmd = Command::cargo_bin("planrun").unwrap();
    cmd.current_dir(root()).env("NO_COLOR", "1");
    cmd
}

const QUICKSTART: &str = "examples/quickstart/plan.md";
const BROKEN: &str = "crates/planrun-plan/tests/fixtures/markdown/broken/plan.md";

fn json_of(args: &[&str]) -> Value {
    let out = planrun().args(args).assert().success().get_output().stdout.clone();
    serde_json::from_slice(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out)))
}

/// A wide plan: 12 independent tasks of which some start chains of 2–4 tasks, each task with
/// its own file.
fn wide_plan(dir: &Path) -> PathBuf {
    let mut s = String::from("# A wide plan\n\n");
    let mut n = 0;
    for root in 0..12 {
        let chain = 1 + root % 4;
        for k in 0..chain {
            write!(s, "## Task t{n}: Step {k} of chain {root}\n\n").unwrap();
            if k > 0 {
                writeln!(s, "Depends on: `t{}`", n - 1).unwrap();
            }
            write!(s, "Files: `src/t{n}.rs`\n\nDo step {k}.\n\n").unwrap();
            n += 1;
        }
    }
    let path = dir.join("plan.md");
    std::fs::write(&path, s).unwrap();
    path
}

#[test]
fn json_has_every_field_and_ratios_are_at_least_one() {
    let v = json_of(&["simulate", QUICKSTART, "--policy", "all", "--json", "--runs", "5"]);
    for key in [
        "plan",
        "tasks",
        "run_alone",
        "concurrency",
        "runs",
        "seed",
        "unit",
        "duration",
        "fail_rate",
        "max_rework",
        "batch_pause_seconds",
        "lower_bound",
        "critical_path",
        "total_work",
        "policies",
    ] {
        assert!(v.get(key).is_some(), "no `{key}` in {v}");
    }
    assert_eq!(v["tasks"], 4);
    assert_eq!(v["concurrency"], 3, "planrun's default for 4 tasks");
    assert_eq!(v["duration"], "uniform:5-30");
    assert_eq!(v["unit"], "minutes");
    let lb = v["lower_bound"].as_f64().unwrap();
    assert!(lb >= v["critical_path"].as_f64().unwrap() - 1e-9);
    for name in ["planrun", "serial3", "waves"] {
        let p = &v["policies"][name];
        for key in [
            "makespan",
            "lower_bound",
            "ratio",
            "utilization",
            "attempts",
            "blocked_runs",
            "tasks_done",
            "spent_usd",
            "spent_tokens",
            "budget_stops",
            "soft_budget_runs",
            "rate_limits",
            "rate_limit_wait",
        ] {
            assert!(p.get(key).is_some(), "{name} lacks `{key}`: {p}");
        }
        assert!(p["ratio"].as_f64().unwrap() >= 1.0, "{name}: {p}");
        assert!(p["makespan"].as_f64().unwrap() >= lb - 1e-9, "{name}: {p}");
        let u = p["utilization"].as_f64().unwrap();
        assert!(u > 0.0 && u <= 1.0, "{name}: {p}");
        assert!(p["attempts"].as_f64().unwrap() >= 4.0);
    }
    let only = json_of(&["simulate", QUICKSTART, "--json", "--runs", "2"]);
    let names: Vec<&String> = only["policies"].as_object().unwrap().keys().collect();
    assert_eq!(names, ["planrun"], "planrun alone by default");
}

#[test]
fn planrun_beats_waves_beats_serial3_on_a_wide_plan() {
    let dir = tempfile::tempdir().unwrap();
    let plan = wide_plan(dir.path());
    let plan = plan.to_str().unwrap();
    let v = json_of(&["simulate", plan, "--policy", "all", "--json"]);
    assert_eq!(v["tasks"], 30);
    assert_eq!(v["concurrency"], 4);
    let m = |name: &str| v["policies"][name]["makespan"].as_f64().unwrap();
    assert!(m("planrun") <= m("waves"), "{v}");
    assert!(m("waves") <= m("serial3"), "{v}");
    assert!(m("planrun") < m("serial3") / 2.0, "{v}");
    // The same seed gives the same figures; -j and the models are honoured.
    assert_eq!(v, json_of(&["simulate", plan, "--policy", "all", "--json"]));
    let fixed =
        json_of(&["simulate", plan, "--json", "-j", "1", "--duration", "fixed:10", "--fail-rate", "0", "--runs", "1"]);
    assert_eq!(fixed["policies"]["planrun"]["makespan"], 300.0, "30 tasks of 10 minutes one at a time");
    assert_eq!(fixed["policies"]["planrun"]["ratio"], 1.0);
}

#[test]
fn human_output_is_a_table() {
    let out = planrun().args(["simulate", QUICKSTART, "--policy", "all"]).assert().success().get_output().clone();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("lower bound:"), "{stdout}");
    assert!(stdout.contains("critical path:"), "{stdout}");
    assert!(stdout.contains("total work:"), "{stdout}");
    assert!(stdout.contains("vs lower bound"), "{stdout}");
    for name in ["planrun ", "waves ", "serial3 "] {
        assert!(stdout.lines().any(|l| l.starts_with(name) && l.contains(" min ")), "{name}: {stdout}");
    }
}

#[test]
fn an_invalid_plan_exits_2_with_its_errors() {
    let out = planrun().args(["simulate", BROKEN]).assert().code(2).get_output().clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("before simulating it"), "{stderr}");
    assert!(stderr.contains("cycle"), "{stderr}");
    assert!(out.stdout.is_empty());
    planrun().args(["simulate", "no/such/plan.md"]).assert().code(2);
}

#[test]
fn bad_flag_values_exit_64() {
    for args in [
        ["--duration", "normal:5"],
        ["--duration", "uniform:30-5"],
        ["--duration", "fixed:0"],
        ["--fail-rate", "1.5"],
        ["--runs", "0"],
        ["-j", "0"],
        ["--policy", "fastest"],
    ] {
        let out = planrun().args(["simulate", QUICKSTART]).args(args).assert().code(64).get_output().clone();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains("invalid value"), "{args:?}: {stderr}");
    }
    let out = planrun().args(["simulate", QUICKSTART, "--duration", "gauss:3"]).assert().code(64).get_output().clone();
    assert!(String::from_utf8(out.stderr).unwrap().contains("use fixed:N, uniform:A-B or lognormal:MEDIAN,SIGMA"));
}

#[test]
fn the_run_policy_budgets_and_rate_limits_shape_planruns_schedule() {
    let dir = tempfile::tempdir().unwrap();
    let plan = wide_plan(dir.path());
    let plan = plan.to_str().unwrap();
    // 30 tasks of 10 minutes, one at a time, that never fail: 300 minutes, $1 a minute.
    let base = ["simulate", plan, "--json", "-j", "1", "--duration", "fixed:10", "--fail-rate", "0", "--runs", "1"];
    let run = |more: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(more);
        json_of(&args)["policies"]["planrun"].clone()
    };
    let free = run(&["--usd-per-minute", "1"]);
    assert_eq!((free["makespan"].as_f64(), free["tasks_done"].as_f64()), (Some(300.0), Some(30.0)), "{free}");
    assert_eq!((free["spent_usd"].as_f64(), free["budget_stops"].as_u64()), (Some(300.0), Some(0)), "{free}");
    // A hard budget of $55 stops the agent in the middle of the sixth task, at 55 minutes.
    let hard = run(&["--usd-per-minute", "1", "--budget-usd", "55", "--soft-budget", "100"]);
    assert_eq!((hard["makespan"].as_f64(), hard["tasks_done"].as_f64()), (Some(55.0), Some(5.0)), "{hard}");
    assert_eq!((hard["spent_usd"].as_f64(), hard["budget_stops"].as_u64()), (Some(55.0), Some(1)), "{hard}");
    // At half of it nothing new starts: the third task, running at 27.5 minutes, finishes.
    let soft = run(&["--usd-per-minute", "1", "--budget-usd", "55", "--soft-budget", "50"]);
    assert_eq!((soft["makespan"].as_f64(), soft["tasks_done"].as_f64()), (Some(30.0), Some(3.0)), "{soft}");
    assert_eq!((soft["budget_stops"].as_u64(), soft["soft_budget_runs"].as_u64()), (Some(0), Some(1)), "{soft}");
    // Every attempt turned away once by the provider: each waits the first backoff (a minute;
    // the limits are 20 minutes apart, not in a row).
    let mut limited = base.to_vec();
    limited[6] = "fixed:20";
    limited.extend_from_slice(&["--rate-limit-rate", "1", "--policy", "all"]);
    let v = json_of(&limited);
    let p = &v["policies"]["planrun"];
    assert_eq!((p["rate_limits"].as_f64(), p["rate_limit_wait"].as_f64()), (Some(30.0), Some(30.0)), "{p}");
    assert_eq!(p["makespan"].as_f64(), Some(30.0 * 21.0), "{p}");
    assert_eq!(v["policies"]["waves"]["makespan"].as_f64(), Some(600.0), "the baselines have no run policy: {v}");
    // The human table says when the budget cut runs short.
    let out = planrun()
        .args(["simulate", plan, "--usd-per-minute", "0.5", "--budget-usd", "20", "--policy", "all"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("planrun under the run policy"), "{text}");
    assert!(text.contains("not comparable"), "{text}");
    assert!(!text.contains("less time than"), "no comparison with runs the budget cut short: {text}");
    // A budget needs what agents spend.
    let out = planrun().args(["simulate", plan, "--budget-usd", "5"]).assert().code(64).get_output().clone();
    assert!(String::from_utf8(out.stderr).unwrap().contains("--usd-per-minute"));
}
