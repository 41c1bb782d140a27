//! Tests of the run events: their wire form, the policies' names, and their human text.

use super::*;
use serde_json::Value;
use std::time::Duration;

fn wire(e: &RunEvent) -> Value {
    serde_json::to_value(Line { v: SCHEMA_VERSION, elapsed_ms: 5, event: e }).unwrap_or(Value::Null)
}

#[test]
fn the_wire_keeps_names_and_fields() {
    let e = RunEvent::Kept(Kept { reference: "refs/planrun/kept/a/1".into(), commit: "0123456789abcdef".into() });
    assert_eq!(
        wire(&e),
        serde_json::json!({"event": "kept", "v": 1, "elapsed_ms": 5, "ref": "refs/planrun/kept/a/1", "commit": "0123456789abcdef"})
    );
    let e = RunEvent::TaskBudget(TaskBudget { task: "a".into(), reason: "over".into(), stopping: true });
    assert_eq!(
        wire(&e),
        serde_json::json!({"event": "task_budget", "v": 1, "elapsed_ms": 5, "task": "a", "reason": "over"})
    );
    assert_eq!(e.text(), "budget   a: over; stopping it");
    let e = RunEvent::FinalCheck(Empty {});
    assert_eq!(wire(&e), serde_json::json!({"event": "final_check", "v": 1, "elapsed_ms": 5}));
}

#[test]
fn policies_are_snake_case() {
    let e = RunEvent::NoProgress(NoProgress {
        tasks: vec!["a".into(), "b".into()],
        policy: Policy::Block,
        reason: "quiet".into(),
    });
    assert_eq!(wire(&e)["event"], "no_progress");
    assert_eq!(wire(&e)["policy"], "block");
    assert_eq!(e.text(), "watchdog quiet (running: a, b); blocking them");
}

/// The human lines, as they read before events were typed.
#[test]
fn human_lines() {
    let tr = |task: &str, reason: &str| TaskReason { task: task.into(), reason: reason.into() };
    let agent = AgentUse {
        agent: "claude".into(),
        model: Some("sonnet".into()),
        session: Some("s1".into()),
        resumed: true,
        usage: Tokens { input: 1234, output: 56, cache_read: 7, cache_write: 0 },
        session_usage: None,
        cost_usd: Some(0.5),
        cost_source: "priced".into(),
    };
    let cases = [
        (
            RunEvent::Resumed(Started {
                plan: "p.md".into(),
                tasks: 1,
                done: 0,
                jobs: 2,
                state_dir: ".planrun".into(),
            }),
            "planrun: resuming p.md (1 task, 0 done, up to 2 at once; state in .planrun)",
        ),
        (
            RunEvent::OrphansStopped(OrphansStopped { pids: vec![10, 11] }),
            "planrun: stopped 2 processes the previous run left running (pid 10, 11)",
        ),
        (
            RunEvent::ChangedAfterDone(TaskRef { task: "a".into() }),
            "planrun: task a is done, but its definition changed since; it will not run again unless you run `planrun retry a`",
        ),
        (
            RunEvent::Retry(Implementing {
                task: "a".into(),
                attempt: 3,
                step: "implement".into(),
                agent: "codex".into(),
                model: Some("gpt".into()),
                resumed: true,
            }),
            "start    a (attempt 3, resuming its codex session with why attempt 2 was sent back; codex (gpt))",
        ),
        (
            RunEvent::Waiting(Waiting { task: "a".into(), agent: "claude".into(), seconds: 30 }),
            "waiting  a: claude is paused for 30s (its provider's rate limit)",
        ),
        (
            RunEvent::AgentUsage(AgentUsage {
                task: "a".into(),
                attempt: 1,
                step: "code-review".into(),
                agent,
                denied: vec!["Bash".into()],
            }),
            "agent    a (code-review): claude (sonnet), resumed its session, 1,234 in / 56 out tokens (cache 7 read, 0 written), $0.5000 (from the price table), 1 tool call(s) denied: Bash",
        ),
        (
            RunEvent::Merged(Merged {
                task: "a".into(),
                commit: "0123456789abc".into(),
                into: "pr".into(),
                rebased: true,
            }),
            "merge    a: 0123456789 onto pr (rebased, checks passed again)",
        ),
        (RunEvent::Interrupted(tr("a", "stopped\nmore")), "interrupted a: stopped"),
        (
            RunEvent::WaitingForCommit(WaitingForCommit {
                task: "a".into(),
                attempt: 1,
                worktree: "/r/.planrun/worktrees/a".into(),
                branch: "planrun/task/x/a".into(),
                shown: ".planrun/worktrees/a".into(),
                into: "planrun/x".into(),
                again: true,
            }),
            "waiting  a: its worktree `.planrun/worktrees/a` still holds uncommitted changes: commit what you accept there \
             (`git -C .planrun/worktrees/a add -A && git -C .planrun/worktrees/a commit`) and discard the rest, then `planrun continue` merges \
             your commits onto `planrun/x`",
        ),
        (
            RunEvent::TaskBudget(TaskBudget { task: "a".into(), reason: "over $1".into(), stopping: false }),
            "budget   a: over $1",
        ),
        (
            RunEvent::BudgetSoft(BudgetSoft { reason: "soft".into(), spent: Spent { tokens: 1, usd: 0.1 } }),
            "budget   soft: starting nothing new; the steps in flight finish",
        ),
        (RunEvent::WatchdogStop(Reason { reason: "quiet".into() }), "stopping quiet; stopping every agent now"),
        (
            RunEvent::RepeatedFailure(RepeatedFailure {
                task: "a".into(),
                reason: "x\ny".into(),
                policy: Policy::Retry,
            }),
            "watchdog a failed the same way twice in a row (x); its next attempt starts a fresh session",
        ),
        (
            RunEvent::RateLimited(RateLimited {
                task: "a".into(),
                agent: "gemini".into(),
                wait_ms: 90_000,
                reason: "429\nslow down".into(),
            }),
            "paused   gemini for 1m30s (429); a runs again after; other agents go on",
        ),
        (RunEvent::AgentUnavailable(tr("a", "no such file")), "stopped  a: no such file; starting nothing new"),
        (RunEvent::FinalCheckFailed(Reason { reason: "exit 1\nlog".into() }), "failed   the final check: exit 1"),
        (
            RunEvent::Draining(Draining { running: 1, timeout: Duration::from_secs(120) }),
            "planrun: interrupted; starting nothing new, waiting up to 2m for 1 running step (Ctrl-C again to stop them now)",
        ),
        (RunEvent::Stopping(Empty {}), "planrun: stopping every running step"),
    ];
    for (event, line) in cases {
        assert_eq!(event.text(), line);
    }
}

#[test]
fn human_durations() {
    assert_eq!(human(Duration::from_millis(850)), "850ms");
    assert_eq!(human(Duration::from_secs(200)), "3m20s");
    assert_eq!(human(Duration::from_secs(3900)), "1h5m");
    assert_eq!(thousands(1_234_567), "1,234,567");
}
