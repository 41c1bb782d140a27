//! `planrun check` on plans as people write them: one policy for bad input in every format,
//! warnings grouped so that what matters is not buried, and `--explain TASK` naming where each
//! field came from. Drives the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn planrun(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("planrun").unwrap();
    cmd.current_dir(dir).env_remove("NO_COLOR");
    cmd
}

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Runs `planrun check ARGS` in `dir`: (exit code, stdout, stderr).
fn check(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = planrun(dir).arg("check").args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn a_folder_of_a_known_format_says_which_format_and_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "tm/.taskmaster/docs/prd.txt", "A product.\n");
    write(d, "os/openspec/changes/archive/2025-01-01-old/tasks.md", "- [x] 1.1 Done long ago\n");
    write(d, "sk/specs/001-login/spec.md", "# Login\n");
    std::fs::create_dir_all(d.join("cw/.workflow/active")).unwrap();
    for (folder, format, missing) in [
        ("tm", "taskmaster", ".taskmaster/tasks/tasks.json"),
        ("os", "openspec", "openspec/changes/"),
        ("sk", "speckit", "tasks.md"),
        ("cw", "ccw", ".workflow/active/"),
    ] {
        let (code, _, stderr) = check(d, &[folder]);
        assert_eq!(code, 2, "{folder}: {stderr}");
        assert!(stderr.contains(&format!("`{folder}` looks like a {format} plan, but")), "{folder}: {stderr}");
        assert!(stderr.contains(missing) && stderr.contains("help:"), "{folder}: {stderr}");
        assert!(!stderr.contains("does not look like any plan format"), "{folder}: {stderr}");
    }
}

#[test]
fn a_plan_without_tasks_is_an_error_that_names_the_file_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let plans = [
        ("md/plan.md", "# A plan\n\nSome context, and no task yet.\n"),
        ("js/plan.json", "{\"title\": \"A plan\", \"tasks\": []}\n"),
        ("sk/specs/001-x/tasks.md", "# Tasks: X\n\n## Phase 1: Setup\n\nNothing here yet.\n"),
        ("os/openspec/changes/add-x/tasks.md", "## 1. Setup\n\nTo be written.\n"),
        ("cm/cm-tasks.json", "{\"tasks\": []}\n"),
    ];
    for (rel, text) in plans {
        write(d, rel, text);
    }
    for (rel, _) in plans {
        let (code, _, stderr) = check(d, &[rel]);
        assert_eq!(code, 2, "{rel} should be an error:\n{stderr}");
        assert!(stderr.contains("no task") || stderr.contains("is empty"), "{rel}: {stderr}");
        let file = Path::new(rel).file_name().unwrap().to_string_lossy().into_owned();
        assert!(stderr.contains(&file), "{rel}: the file is named: {stderr}");
        let (code, stdout, _) = check(d, &[rel, "--json"]);
        assert_eq!(code, 2);
        let v: Value = serde_json::from_str(&stdout).unwrap();
        assert!(v["errors"].as_u64().unwrap() >= 1, "{rel}: {v}");
        // `run` refuses it the same way, before creating anything.
        let run = planrun(d).args(["run", rel, "--agent-command", "true"]).output().unwrap();
        assert_eq!(run.status.code(), Some(2), "{rel}: {}", String::from_utf8_lossy(&run.stderr));
        let said = String::from_utf8_lossy(&run.stderr).into_owned();
        assert!(said.contains("no task") || said.contains("is empty"), "{rel}: {said}");
        assert!(!d.join(".planrun").exists(), "{rel}: nothing was created");
    }
}

/// A Task Master plan of `n` tasks, a chain after the first ten, none with files or commands.
fn taskmaster(dir: &Path, n: usize) {
    let tasks: Vec<Value> = (1..=n)
        .map(|i| {
            serde_json::json!({
                "id": i, "title": format!("Task {i}"), "description": "Do it.", "details": "",
                "testStrategy": "Check that it works.", "status": "pending", "priority": "medium",
                "dependencies": if i > 10 { vec![i - 1] } else { vec![] },
            })
        })
        .collect();
    let file = serde_json::json!({ "master": { "tasks": tasks, "metadata": {} } });
    write(dir, ".taskmaster/tasks/tasks.json", &serde_json::to_string_pretty(&file).unwrap());
}

#[test]
fn repeated_warnings_are_grouped_and_usual_ones_said_once() {
    let dir = tempfile::tempdir().unwrap();
    taskmaster(dir.path(), 131);
    let (code, _, stderr) = check(dir.path(), &["."]);
    assert_eq!(code, 0, "{stderr}");
    let lines = stderr.lines().count();
    assert!(lines <= 30, "{lines} lines of warnings:\n{stderr}");
    // What every Task Master plan gets is said once, with what to do.
    assert_eq!(stderr.matches("[no-files]").count(), 1, "{stderr}");
    assert_eq!(stderr.matches("[nothing-to-verify]").count(), 1, "{stderr}");
    assert!(stderr.contains("×131") && stderr.contains("planrun import"), "{stderr}");
    assert!(stderr.contains("--verbose"), "{stderr}");

    let (_, _, verbose) = check(dir.path(), &[".", "--verbose"]);
    assert!(verbose.matches("nothing-to-verify").count() >= 131, "--verbose shows each");
    let (_, stdout, _) = check(dir.path(), &[".", "--json"]);
    let v: Value = serde_json::from_str(&stdout).unwrap();
    let all = v["diagnostics"].as_array().unwrap();
    let nothing: Vec<&Value> = all.iter().filter(|d| d["code"] == "nothing-to-verify").collect();
    assert_eq!(nothing.len(), 131, "--json keeps every diagnostic");
    assert_eq!(nothing[0]["task"], "1");
}

#[test]
fn repeated_warnings_of_one_kind_name_the_count_and_the_first_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let mut plan = String::from("# Many\n\n");
    for i in 1..=9 {
        plan.push_str(&format!("## Task t{i}: Step {i}\n\nFiles: `src/m{i}.rs`\n\nDo step {i}.\n\n"));
    }
    write(dir.path(), "plan.md", &plan);
    let (code, _, stderr) = check(dir.path(), &["plan.md"]);
    assert_eq!(code, 0, "{stderr}");
    let line = stderr.lines().find(|l| l.contains("[nothing-to-verify]")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(line.contains("×9"), "{line}");
    assert!(line.contains("task `t1` has nothing to verify"), "{line}");
    assert!(line.contains("`t2`, `t3`, `t4`, `t5` and 4 more"), "{line}");
    assert_eq!(stderr.matches("nothing-to-verify").count(), 1, "{stderr}");
    // Few warnings are shown in full, with the source excerpt.
    write(dir.path(), "two.md", "# Two\n\n## Task a: A\n\nFiles: `a.rs`\n\n## Task b: B\n\nFiles: `b.rs`\n");
    let (_, _, stderr) = check(dir.path(), &["two.md"]);
    assert!(stderr.contains("two.md:3:") && stderr.contains("help:"), "{stderr}");
}

#[test]
fn explain_names_where_each_field_was_read() {
    let dir = tempfile::tempdir().unwrap();
    let plan = "# Health\n\n## Task api: Health route\n\nFiles: `src/health.rs`, `tests/health.rs`\n\nAdd it.\n\n\
                ### Acceptance\n\n- [ ] GET /health answers 200\n\n### Verify\n\n- `cargo test health`\n\n\
                ## Task docs: Document it\n\nDepends on: `api`\nStatus: done\n";
    write(dir.path(), "plan.md", plan);
    let (code, stdout, _) = check(dir.path(), &["plan.md", "--explain", "api"]);
    assert_eq!(code, 0, "{stdout}");
    let row = |field: &str, value: &str| {
        stdout
            .lines()
            .find(|l| l.trim_start().starts_with(field) && l.contains(value))
            .unwrap_or_else(|| panic!("no {field} {value} in:\n{stdout}"))
            .to_owned()
    };
    assert!(row("id", "api").ends_with("← line 3"), "{stdout}");
    assert!(row("files", "src/health.rs").ends_with("← line 5"), "{stdout}");
    assert!(row("files", "tests/health.rs").ends_with("← line 5"), "{stdout}");
    assert!(row("acceptance", "GET /health").ends_with("← line 11"), "{stdout}");
    assert!(row("verify", "cargo test health").ends_with("← line 15"), "{stdout}");

    let (_, stdout, _) = check(dir.path(), &["plan.md", "--explain", "docs", "--json"]);
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["status"], "done");
    let dep = v["fields"].as_array().unwrap().iter().find(|f| f["field"] == "depends_on").unwrap();
    assert_eq!(
        (dep["value"].as_str(), dep["line"].as_u64(), dep["located"].as_bool()),
        (Some("api"), Some(19), Some(true))
    );

    let (code, _, stderr) = check(dir.path(), &["plan.md", "--explain", "nope"]);
    assert_eq!(code, 64, "{stderr}");
    assert!(stderr.contains("no task `nope`") && stderr.contains("api, docs"), "{stderr}");
}

/// Every plan of the importer corpus checks with at most 30 lines of warnings.
#[test]
fn no_corpus_plan_prints_more_than_30_lines_of_warnings() {
    let corpus = root().join("crates/planrun-plan/tests/corpus");
    let mut seen = 0;
    let mut over = Vec::new();
    for format in std::fs::read_dir(&corpus).unwrap().filter_map(Result::ok) {
        for case in std::fs::read_dir(format.path()).unwrap().filter_map(Result::ok) {
            let expect: Value =
                serde_json::from_str(&std::fs::read_to_string(case.path().join("expect.json")).unwrap()).unwrap();
            let repo = case.path().join("repo");
            let mut args = vec![expect["path"].as_str().unwrap().to_owned()];
            if let Some(f) = expect["forced"].as_str() {
                args.extend(["--format".to_owned(), f.to_owned()]);
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let (_, _, stderr) = check(&repo, &args);
            seen += 1;
            let lines = stderr.lines().count();
            if lines > 30 {
                over.push(format!("{}: {lines} lines\n{stderr}", case.path().display()));
            }
        }
    }
    assert!(seen > 0);
    assert!(over.is_empty(), "{}", over.join("\n"));
}
