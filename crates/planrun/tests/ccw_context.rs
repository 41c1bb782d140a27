//! CCW context (seed 004): `--resume-session` picks one of several sessions; a task's
//! `flow_control.pre_analysis` steps run by planrun before its agent (`on_error` skip_optional,
//! fail, retry_once; `output_to` variables substituted, shell-quoted, into later steps and into
//! the prompt); the `.summaries/` of its dependencies in its prompt; and the summary planrun
//! writes when the task passes holds what it did.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use serde_json::json;
use support::text;

const SESSION: &str = ".workflow/active/WFS-demo";

/// The agent keeps its prompt where the test reads it, and writes its file.
const AGENT: &str = r#"G=$(git rev-parse --git-common-dir)
cp "$PLANRUN_PROMPT_FILE" "$G/prompt-$PLANRUN_TASK_ID"
touch "$G/ran-$PLANRUN_TASK_ID"
mkdir -p out && echo ok > out/a.txt
"#;

fn session(pre_analysis: serde_json::Value) -> support::Repo {
    let todo = "# Tasks: Demo\n\n## Task Progress\n- [x] **IMPL-0**: Schema → [📋](./.task/IMPL-0.json)\n- [ ] **IMPL-1**: Build on it → [📋](./.task/IMPL-1.json)\n";
    let impl0 = json!({"id": "IMPL-0", "title": "Schema", "status": "completed", "meta": {"type": "feature"}, "focus_paths": ["docs/schema.sql"]});
    let impl1 = json!({
        "id": "IMPL-1", "title": "Build on it", "status": "pending", "depends_on": ["IMPL-0"],
        "meta": {"type": "test-fix", "agent": "@test-fix-agent"},
        "focus_paths": ["out/a.txt"],
        "convergence": {"criteria": ["out/a.txt says ok"], "verification": "grep -q ok out/a.txt"},
        "flow_control": {"pre_analysis": pre_analysis}
    });
    let other = ".workflow/active/WFS-other";
    let files = [
        (format!("{SESSION}/workflow-session.json"), r#"{"session_id": "WFS-demo", "status": "active"}"#.to_owned()),
        (format!("{SESSION}/TODO_LIST.md"), todo.to_owned()),
        (format!("{SESSION}/.task/IMPL-0.json"), impl0.to_string()),
        (format!("{SESSION}/.task/IMPL-1.json"), impl1.to_string()),
        (format!("{SESSION}/.summaries/IMPL-0-summary.md"), "IMPL-0 left the schema in docs/schema.sql\n".to_owned()),
        (format!("{other}/workflow-session.json"), r#"{"session_id": "WFS-other", "status": "active"}"#.to_owned()),
        (
            format!("{other}/TODO_LIST.md"),
            "# Tasks\n\n- [ ] **IMPL-9**: Other → [📋](./.task/IMPL-9.json)\n".to_owned(),
        ),
        (
            format!("{other}/.task/IMPL-9.json"),
            json!({"id": "IMPL-9", "title": "Other", "status": "pending"}).to_string(),
        ),
        ("docs/spec.md".to_owned(), "line one\nline two\nline three\n".to_owned()),
        ("docs/schema.sql".to_owned(), "create table t (id int);\n".to_owned()),
    ];
    let extra: Vec<(&str, &str)> = files.iter().map(|(n, b)| (n.as_str(), b.as_str())).collect();
    support::committed("# unused\n", AGENT, &extra)
}

fn run(repo: &support::Repo, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["run", ".", "--agent-command", "./agent.sh", "--reviews", "none"];
    args.extend_from_slice(extra);
    repo.cmd(&args).output().unwrap()
}

#[test]
fn pre_analysis_runs_before_the_agent_and_its_output_reaches_the_prompt() {
    let repo = session(json!([
        {"step": "count_lines", "command": "wc -l < docs/spec.md | tr -d ' '", "output_to": "spec_lines", "on_error": "fail"},
        {"step": "load_spec", "action": "Load the spec", "commands": ["Read(docs/spec.md)"], "output_to": "spec"},
        {"step": "use_it", "command": "echo lines=[spec_lines]", "output_to": "echoed", "on_error": "fail"},
        {"step": "optional_missing", "commands": ["Read(docs/missing.md)"], "output_to": "missing", "on_error": "skip_optional"},
        {"step": "flaky", "command": "G=$(git rev-parse --git-common-dir); test -e \"$G/flaky\" || { touch \"$G/flaky\"; exit 1; }; echo second-try", "output_to": "flaky", "on_error": "retry_once"},
        {"step": "hostile", "command": "printf '%s' \"x'; touch pwned; echo '\"", "output_to": "evil"},
        {"step": "quoted", "command": "echo [evil] > /dev/null", "on_error": "fail"},
        {"step": "escape", "commands": ["Read(../outside.txt)"], "output_to": "outside"},
        {"step": "extract", "commands": ["Extract(brainstorm_artifacts.synthesis_output)", "Glob(docs/*.md)"], "output_to": "docs"},
        "Review the role analyses before you start"
    ]));
    // Two sessions: without naming one, planrun does not guess.
    let out = run(&repo, &["--workspace", "shared"]);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("WFS-other") && text(&out).contains("WFS-demo"), "{}", text(&out));
    assert!(!repo.path().join(".git/ran-IMPL-1").exists());

    let out = run(&repo, &["--resume-session", "demo", "--workspace", "shared"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!repo.path().join(".git/ran-IMPL-9").exists(), "the other session did not run");
    let prompt = repo.read(".git/prompt-IMPL-1");
    for want in [
        "## Context planrun gathered before you start",
        "### [spec_lines] (count_lines)",
        "line two",
        "lines=3",
        "This optional step failed and was skipped",
        "second-try",
        "names a path outside the task's workspace",
        "docs/spec.md",
        "### Steps left to you",
        "`Extract(brainstorm_artifacts.synthesis_output)`",
        "`Review the role analyses before you start`",
        "## Summaries of the tasks this one depends on",
        "IMPL-0 left the schema in docs/schema.sql",
    ] {
        assert!(prompt.contains(want), "the prompt lacks {want:?}:\n{prompt}");
    }
    assert!(!repo.path().join("pwned").exists(), "an earlier step's output ran as shell code");
    // meta.agent @test-fix-agent is an engineer.
    assert!(prompt.contains("You are a senior software engineer"), "{prompt}");

    // The summary planrun wrote says what the task did.
    let summary = repo.read(&format!("{SESSION}/.summaries/IMPL-1-summary.md"));
    for want in ["Status: completed", "## Files changed", "`out/a.txt`", "## Checks", "1 of 1 passed", "## Commit"] {
        assert!(summary.contains(want), "the summary lacks {want:?}:\n{summary}");
    }
}

#[test]
fn a_failing_step_that_must_not_fail_stops_the_attempt_before_the_agent() {
    let repo = session(json!([
        {"step": "needs_tool", "command": "echo looking; exit 7", "output_to": "x", "on_error": "fail"}
    ]));
    let out = run(&repo, &["--resume-session", "WFS-demo", "--max-rework", "0", "--json", "--workspace", "shared"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let all = text(&out);
    assert!(all.contains("the pre-analysis step `needs_tool` failed (on_error: fail)"), "{all}");
    assert!(all.contains("exited with code 7") && all.contains("looking"), "{all}");
    assert!(!repo.path().join(".git/ran-IMPL-1").exists(), "the agent never started");
}

#[test]
fn a_session_file_kept_out_of_git_is_read_from_your_tree_in_a_worktree() {
    // CCW's `.process/context-package.json` is often ignored by git: a task's worktree lacks it.
    let repo = session(json!([
        {"step": "load_context_package", "commands": [format!("Read({SESSION}/.process/context-package.json)")],
         "output_to": "context_package", "on_error": "fail"}
    ]));
    repo.write(&format!("{SESSION}/.process/context-package.json"), "{\"synthesis\": \"CTX-PKG-9\"}\n");
    repo.write(".gitignore", ".workflow/active/*/.process/\n");
    let out = run(&repo, &["--resume-session", "demo", "--workspace", "worktree"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let prompt = repo.read(".git/prompt-IMPL-1");
    assert!(
        prompt.contains("### [context_package] (load_context_package)") && prompt.contains("CTX-PKG-9"),
        "{prompt}"
    );
}

#[test]
fn a_dependency_done_in_the_same_run_reaches_its_dependents_prompt() {
    let task = |id: &str, deps: &[&str], file: &str| {
        json!({"id": id, "title": format!("Write {file}"), "status": "pending", "depends_on": deps,
               "meta": {"type": "feature"}, "focus_paths": [file],
               "convergence": {"criteria": [format!("{file} says ok")], "verification": format!("grep -q ok {file}")}})
        .to_string()
    };
    let todo = "# Tasks\n\n- [ ] **IMPL-1**: One → [📋](./.task/IMPL-1.json)\n- [ ] **IMPL-2**: Two → [📋](./.task/IMPL-2.json)\n";
    let agent = r#"G=$(git rev-parse --git-common-dir)
cp "$PLANRUN_PROMPT_FILE" "$G/prompt-$PLANRUN_TASK_ID"
mkdir -p out; echo ok > "out/$PLANRUN_TASK_ID.txt"
"#;
    let files = [
        (format!("{SESSION}/TODO_LIST.md"), todo.to_owned()),
        (format!("{SESSION}/.task/IMPL-1.json"), task("IMPL-1", &[], "out/IMPL-1.txt")),
        (format!("{SESSION}/.task/IMPL-2.json"), task("IMPL-2", &["IMPL-1"], "out/IMPL-2.txt")),
    ];
    let extra: Vec<(&str, &str)> = files.iter().map(|(n, b)| (n.as_str(), b.as_str())).collect();
    let repo = support::committed("# unused\n", agent, &extra);
    let out = run(&repo, &["--workspace", "worktree", "-j", "1"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // From its summary file, or (written a moment later) from planrun's own account: the same.
    let prompt = repo.read(".git/prompt-IMPL-2");
    assert!(prompt.contains("## Summaries of the tasks this one depends on"), "{prompt}");
    assert!(prompt.contains("`out/IMPL-1.txt`") && prompt.contains("1 of 1 passed"), "{prompt}");
}
