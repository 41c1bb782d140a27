//! Drives the real `planrun` binary: `check` (human and JSON), `import`, `schema`, `formats`,
//! exit codes, and output conventions (no colour when not a terminal or with NO_COLOR).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// `planrun` run from the repository root, so paths in output are the relative ones given.
fn planrun() -> Command {
    let mut cmd = Command::cargo_bin("planrun").unwrap();
    cmd.current_dir(root()).env_remove("NO_COLOR");
    cmd
}

const QUICKSTART: &str = "examples/quickstart/plan.md";
const BROKEN: &str = "crates/planrun-plan/tests/fixtures/markdown/broken/plan.md";

fn json_of(output: &[u8]) -> Value {
    serde_json::from_slice(output).unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(output)))
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_owned()).collect()
}

#[test]
fn check_quickstart_human() {
    let out = planrun().args(["check", QUICKSTART]).assert().success().get_output().clone();
    let stdout = String::from_utf8(out.stdout).unwrap();
    insta::assert_snapshot!("check_quickstart_stdout", stdout);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.trim(), "check: 0 errors, 0 warnings: the plan can run");
}

#[test]
fn check_quickstart_json_contract() {
    let out = planrun().args(["check", QUICKSTART, "--json"]).assert().success().get_output().stdout.clone();
    let v = json_of(&out);
    let tasks = v["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 4);
    for t in tasks {
        for key in ["id", "title", "depends_on", "files", "verify", "status"] {
            assert!(t.get(key).is_some(), "task lacks {key}: {t}");
        }
    }
    assert_eq!(tasks[1]["depends_on"], serde_json::json!(["lib"]));
    assert_eq!(tasks[0]["files"], serde_json::json!(["src/greet/**", "tests/test_greet.py"]));
    let waves: Vec<Vec<String>> = v["waves"].as_array().unwrap().iter().map(ids).collect();
    assert_eq!(waves, vec![vec!["lib"], vec!["cli", "docs"], vec!["release"]]);
    assert_eq!(ids(&v["critical_path"]), vec!["lib", "cli", "release"]);
    assert_eq!(v["conflicts"], serde_json::json!([]));
    assert_eq!(v["diagnostics"], serde_json::json!([]));
}

#[test]
fn check_broken_plan_reports_every_problem_and_exits_2() {
    let out = planrun().args(["check", BROKEN, "--json"]).assert().code(2).get_output().stdout.clone();
    let v = json_of(&out);
    let diags = v["diagnostics"].as_array().unwrap();
    let find = |code: &str| -> &Value {
        diags.iter().find(|d| d["code"] == code).unwrap_or_else(|| panic!("no {code} in {diags:#?}"))
    };
    let cycle = find("dependency-cycle");
    assert_eq!(cycle["severity"], "error");
    assert_eq!(cycle["message"], "dependency cycle: a → b → c → a");
    assert_eq!(cycle["file"], BROKEN);
    assert_eq!(cycle["line"], 3);
    let unknown = find("unknown-dependency");
    assert_eq!((unknown["line"].as_u64(), unknown["column"].as_u64()), (Some(8), Some(19)));
    assert_eq!(find("duplicate-id")["line"], 14);
    assert_eq!(find("empty-title")["line"], 17);
    assert_eq!(find("invalid-glob")["line"], 9);
    let escapes: Vec<&Value> = diags.iter().filter(|d| d["code"] == "path-escapes").collect();
    assert_eq!(escapes.len(), 2, "`../outside/**` and `/etc/passwd`");
    assert_eq!(find("file-conflict")["severity"], "warning");
    assert_eq!(find("nothing-to-verify")["severity"], "warning");
    assert_eq!(find("unknown-status")["line"], 22);
    let conflicts: Vec<Vec<String>> = v["conflicts"].as_array().unwrap().iter().map(ids).collect();
    assert!(conflicts.contains(&vec!["f".to_owned(), "g".to_owned()]), "{conflicts:?}");
    assert_eq!(v["errors"], 7);
}

#[test]
fn check_broken_plan_human_output_has_no_colour_when_piped() {
    let out = planrun().args(["check", BROKEN]).assert().code(2).get_output().clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stderr.contains('\u{1b}'), "ANSI escapes in piped output");
    assert!(stderr.contains("dependency cycle: a → b → c → a"));
    assert!(stderr.contains("did you mean") || stderr.contains("name an existing task id"));
    assert!(stderr.contains(&format!("[{BROKEN}:8:19]")), "{stderr}");
    assert!(
        stderr.trim_end().ends_with(
            "check: 7 errors, 10 warnings: the plan has errors; fix them before running it (--verbose shows each in full)"
        ),
        "{stderr}"
    );
    // The whole rendering (source excerpts, labels, help), as a person sees it.
    insta::assert_snapshot!("check_broken_stderr", stderr);
}

#[test]
fn colour_can_be_forced_and_no_color_wins_over_auto() {
    let forced = planrun().args(["--color", "always", "check", BROKEN]).assert().code(2).get_output().stderr.clone();
    assert!(String::from_utf8(forced).unwrap().contains('\u{1b}'));
    let off = planrun().env("NO_COLOR", "1").args(["check", BROKEN]).assert().code(2).get_output().stderr.clone();
    assert!(!String::from_utf8(off).unwrap().contains('\u{1b}'));
}

#[test]
fn unreadable_plans_exit_2_with_a_hint() {
    let out = planrun().args(["check", "no/such/plan.md"]).assert().code(2).get_output().clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("cannot read `no/such/plan.md`"), "{stderr}");
    assert!(stderr.contains("help:"));
    let json = planrun().args(["check", "no/such/plan.md", "--json"]).assert().code(2).get_output().stdout.clone();
    let v = json_of(&json);
    assert_eq!(v["diagnostics"][0]["code"], "unreadable-plan");
    assert_eq!(v["tasks"], serde_json::json!([]));
}

#[test]
fn unknown_format_is_a_usage_error() {
    let out = planrun().args(["check", QUICKSTART, "--format", "yaml"]).assert().code(64).get_output().clone();
    assert!(String::from_utf8(out.stderr).unwrap().contains("unknown format `yaml`"));
}

#[test]
fn an_empty_file_or_folder_says_it_is_empty() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("empty.md"), "").unwrap();
    std::fs::write(dir.path().join("blank.md"), "\n  \n\t\n").unwrap();
    std::fs::create_dir(dir.path().join("nothing")).unwrap();
    for (name, words) in [
        ("empty.md", "`empty.md` is empty: there is no plan in it"),
        ("blank.md", "`blank.md` is empty: there is no plan in it"),
        ("nothing", "`nothing` is an empty folder: there is no plan in it"),
    ] {
        let out = planrun().current_dir(dir.path()).args(["check", name]).assert().code(2).get_output().clone();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains(words) && stderr.contains("help:"), "{name}: {stderr}");
        assert!(!stderr.contains("does not look like"), "{name}: {stderr}");
        let run = planrun().current_dir(dir.path()).args(["run", name, "--agent-command", "true"]).assert().code(2);
        assert!(String::from_utf8_lossy(&run.get_output().stderr).contains(words));
        assert!(!dir.path().join(".planrun").exists(), "{name}: nothing was created");
    }
}

#[test]
fn a_folder_of_unknown_files_says_how_to_name_the_format() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "just notes").unwrap();
    let out = planrun().arg("check").arg(dir.path()).assert().code(2).get_output().clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("does not look like any plan format"), "{stderr}");
    assert!(stderr.contains("--format"), "{stderr}");
}

#[test]
fn import_to_json_and_back_keeps_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    let json_path = dir.path().join("plan.json");
    let md_path = dir.path().join("again.md");
    planrun().args(["import", QUICKSTART, "--to", "json", "-o"]).arg(&json_path).assert().success();
    planrun().arg("import").arg(&json_path).args(["--to", "markdown", "-o"]).arg(&md_path).assert().success();
    let original = std::fs::read_to_string(root().join(QUICKSTART)).unwrap();
    let original_plan = planrun_plan::native::markdown::parse(&original, "a.md").plan;
    let again = planrun_plan::native::markdown::parse(&std::fs::read_to_string(&md_path).unwrap(), "b.md").plan;
    assert_eq!(original_plan, again);
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    assert_eq!(v["tasks"][3]["depends_on"], serde_json::json!(["cli", "docs"]));
}

#[test]
fn import_to_stdout_and_plan_with_errors_exits_2_but_still_converts() {
    let out = planrun().args(["import", BROKEN, "--to", "markdown"]).assert().code(2).get_output().clone();
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(md.contains("## Task a: Same id again"), "nothing may be lost: {md}");
    assert!(String::from_utf8(out.stderr).unwrap().contains("import: 7 tasks read as markdown"));
}

#[test]
fn schema_describes_the_json_format() {
    let out = planrun().arg("schema").assert().success().get_output().stdout.clone();
    let v = json_of(&out);
    assert_eq!(v["title"], "Plan");
    assert!(v["properties"]["tasks"].is_object());
    let task = &v["$defs"]["Task"]["properties"];
    for key in ["id", "title", "description", "depends_on", "files", "acceptance", "verify", "status"] {
        assert!(task.get(key).is_some(), "schema lacks task.{key}");
    }
}

#[test]
fn formats_lists_every_format() {
    let out = planrun().arg("formats").assert().success().get_output().stdout.clone();
    let text = String::from_utf8(out).unwrap();
    for f in planrun_plan::Format::ALL {
        assert!(text.contains(f.name()), "missing {f}");
    }
}

#[test]
fn help_documents_exit_codes_and_no_color() {
    let out = planrun().arg("--help").assert().success().get_output().stdout.clone();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("Exit codes:") && text.contains("NO_COLOR"));
    let check = planrun().args(["check", "--help"]).assert().success().get_output().stdout.clone();
    let text = String::from_utf8(check).unwrap();
    assert!(text.contains("--json") && text.contains("--format") && text.contains("critical_path"));
}

#[test]
fn huge_files_and_pipes_are_refused_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.md");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(planrun_plan::import::MAX_FILE_BYTES + 1).unwrap();
    let out = planrun().args(["check", "--format", "markdown"]).arg(&big).assert().code(2).get_output().clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("planrun reads plan files of at most"), "{stderr}");

    let fifo = dir.path().join("plan.md");
    let status = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(status.success());
    // Nothing ever writes to the pipe: reading it would hang, so this finishing proves it is not read.
    planrun().arg("check").arg(&fifo).timeout(std::time::Duration::from_secs(20)).assert().code(2);
    planrun()
        .args(["check", "--format", "markdown"])
        .arg(&fifo)
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .code(2);
}

#[test]
fn the_committed_schema_is_current() {
    let out = planrun().arg("schema").assert().success().get_output().stdout.clone();
    let committed = std::fs::read_to_string(root().join("docs/plan.schema.json")).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        committed,
        "docs/plan.schema.json is stale: run `cargo run -p planrun -- schema > docs/plan.schema.json`"
    );
}
