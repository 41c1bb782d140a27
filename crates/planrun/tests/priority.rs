//! Priority fields (seed 000's cm-tasks.json "pick the highest-priority backlog task"): among
//! ready tasks, the head of the longest dependency chain starts first, then the plan's own
//! priority decides (critical, high, none or medium, low), then the plan's order.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use support::text;

const AGENT: &str = r#"echo "$PLANRUN_TASK_ID" >> .git/starts
mkdir -p out && echo ok > "out/t$PLANRUN_TASK_ID.txt"
"#;

fn task(id: u32, priority: Option<&str>, deps: &[u32]) -> String {
    let priority = priority.map(|p| format!(r#", "priority": "{p}""#)).unwrap_or_default();
    format!(
        r#"{{"id": {id}, "title": "Write file {id}", "status": "backlog"{priority}, "depends_on": {deps:?}, "files": ["out/t{id}.txt"]}}"#
    )
}

#[test]
fn ready_tasks_start_by_critical_path_then_priority() {
    let tasks = [
        task(1, Some("low"), &[]),
        task(2, Some("low"), &[1]),
        task(3, Some("critical"), &[]),
        task(4, None, &[]),
        task(5, Some("high"), &[]),
        task(6, Some("low"), &[]),
    ];
    let plan = format!(r#"{{"project": "demo", "tasks": [{}]}}"#, tasks.join(",\n"));
    let repo = support::committed("# unused\n", AGENT, &[("cm-tasks.json", &plan)]);
    let out = repo
        .cmd(&[
            "run",
            "cm-tasks.json",
            "--agent-command",
            "./agent.sh",
            "--workspace",
            "shared",
            "-j",
            "1",
            "--reviews",
            "none",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let starts: Vec<String> = repo.read(".git/starts").lines().map(str::to_owned).collect();
    // 1 heads the only chain of two; 3, 5, 4 by their priority; 2 and 6 (both low, both at
    // the end of their chains) in the plan's order.
    assert_eq!(starts, ["1", "3", "5", "4", "2", "6"], "{}", text(&out));
}

#[test]
fn an_unknown_priority_is_named_with_its_line() {
    let plan = format!(r#"{{"project": "demo", "tasks": [{}]}}"#, task(1, Some("whenever"), &[]));
    let repo = support::committed("# unused\n", AGENT, &[("cm-tasks.json", &plan)]);
    let out = repo.cmd(&["check", "cm-tasks.json"]).output().unwrap();
    let t = text(&out);
    assert!(t.contains("unknown priority `whenever`") && t.contains("cm-tasks.json:1"), "{t}");
}
