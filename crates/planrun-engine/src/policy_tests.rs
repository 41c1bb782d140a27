//! The run policy on a virtual clock: every test sets the time by hand, so a 20-minute
//! watchdog or a 5-hour window is checked in microseconds.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::*;

const S: u64 = 1_000;
const MIN: u64 = 60 * S;

fn rules() -> Rules {
    Rules {
        budgets: Budgets { soft: 0.8, ..Budgets::default() },
        rate_wait_ms: 60 * S,
        watchdog_ms: Some(20 * MIN),
        on_no_progress: WatchPolicy::Retry,
        on_repeat: WatchPolicy::Retry,
        windows: Vec::new(),
        pauses: Pauses::default(),
    }
}

fn policy(r: Rules) -> Policy {
    Policy::new(r, Spend::default(), vec![Spend::default(); 3], 0)
}

fn usd(x: f64) -> Spend {
    Spend { tokens: 0, usd: x }
}

#[test]
fn budgets_have_a_soft_and_a_hard_line() {
    let b = Budgets { usd: Some(1.0), tokens: Some(1000), task_usd: Some(0.5), soft: 0.8, ..Budgets::default() };
    assert_eq!(b.run(Spend { tokens: 10, usd: 0.5 }), Reached::Under);
    assert!(matches!(b.run(Spend { tokens: 10, usd: 0.85 }), Reached::Soft(m) if m.contains("85%")));
    assert!(matches!(b.run(Spend { tokens: 850, usd: 0.1 }), Reached::Soft(m) if m.contains("850 tokens")));
    assert!(matches!(b.run(Spend { tokens: 10, usd: 1.0 }), Reached::Hard(m) if m.contains("$1.00")));
    assert!(matches!(b.run(Spend { tokens: 1000, usd: 0.0 }), Reached::Hard(_)));
    assert_eq!(b.task(Spend { tokens: 1, usd: 0.4 }), None);
    assert!(b.task(Spend { tokens: 1, usd: 0.6 }).unwrap().contains("over its budget of $0.50"));
}

#[test]
fn live_usage_passes_the_soft_line_once_then_the_hard_line_stops_the_run_once() {
    let mut r = rules();
    r.budgets.usd = Some(1.0);
    let mut p = policy(r);
    p.started("a.log", 0, 1, "implement", "claude", 0);
    p.usage("a.log", Some(usd(0.5)), true, S);
    assert_eq!(p.tick(S), vec![]);
    p.usage("a.log", Some(usd(0.85)), true, 2 * S);
    let soft = p.tick(2 * S);
    assert!(
        matches!(&soft[..], [Action::Soft { reason, spent }] if reason.contains("85%") && spent.usd == 0.85),
        "{soft:?}"
    );
    assert_eq!(p.tick(3 * S), vec![], "the soft line is announced once");
    p.usage("a.log", Some(usd(1.2)), true, 4 * S);
    let hard = p.tick(4 * S);
    assert!(
        matches!(&hard[..], [Action::Stop { kind: StopKind::Budget, reason }] if reason.contains("$1.2000 of the run's budget of $1.00")),
        "{hard:?}"
    );
    assert_eq!(p.tick(5 * S), vec![], "the stop is decided once");
    assert_eq!(p.ending(&RunOutcome::Interrupted, Halts::default()), Ending::Budget);
}

#[test]
fn a_journaled_step_counts_once_not_twice_with_its_live_reports() {
    let mut r = rules();
    r.budgets.usd = Some(1.0);
    let mut p = policy(r);
    p.started("a.log", 0, 1, "implement", "claude", 0);
    p.usage("a.log", Some(usd(0.6)), true, S);
    assert_eq!(p.run_spend().usd, 0.6);
    p.step_ended(Some(0), 1, "implement", Some(("claude", usd(0.6))), 2 * S);
    assert_eq!(p.run_spend().usd, 0.6, "the live report is replaced by the journaled spend");
    assert!(p.running_tasks().is_empty());
    // A late report of the finished run changes nothing.
    p.usage("a.log", Some(usd(5.0)), true, 3 * S);
    assert_eq!(p.run_spend().usd, 0.6);
}

#[test]
fn a_task_over_its_own_budget_is_stopped_once_and_blocked_when_its_step_returns() {
    let mut r = rules();
    r.budgets.task_usd = Some(0.6);
    let mut p = policy(r);
    p.started("t.log", 1, 1, "implement", "claude", 0);
    p.started("u.log", 2, 1, "implement", "codex", 0);
    p.usage("t.log", Some(usd(0.75)), true, S);
    p.usage("u.log", Some(usd(0.1)), true, S);
    let a = p.tick(S);
    assert_eq!(
        a,
        vec![Action::TaskOverBudget {
            task: 1,
            reason: "the task alone spent $0.7500, over its budget of $0.60".into()
        }]
    );
    assert_eq!(p.tick(2 * S), vec![], "asked once");
    assert!(p.blocks(1) && !p.blocks(2));
    assert!(p.take_block(1).unwrap().contains("over its budget"));
    assert!(p.take_block(1).is_none());
    // Before its next step starts, the task's own journaled spend still counts.
    p.step_ended(Some(1), 1, "implement", Some(("claude", usd(0.75))), 3 * S);
    assert!(p.task_over_budget(1).is_some() && p.task_over_budget(2).is_none());
}

#[test]
fn the_watchdog_acts_after_its_time_without_output_and_only_while_agents_run() {
    for (policy_kind, expect_stop) in
        [(WatchPolicy::Retry, false), (WatchPolicy::Block, false), (WatchPolicy::Stop, true)]
    {
        let mut r = rules();
        r.on_no_progress = policy_kind;
        let mut p = policy(r);
        // Nothing runs: a long quiet is not the agents' fault.
        assert_eq!(p.tick(60 * MIN), vec![]);
        p.started("a.log", 0, 1, "implement", "claude", 60 * MIN);
        p.usage("a.log", None, true, 70 * MIN);
        assert_eq!(p.tick(89 * MIN), vec![], "19 minutes since the last output");
        let a = p.tick(90 * MIN);
        assert_eq!(
            a.first(),
            Some(&Action::NoProgress {
                tasks: vec![0],
                policy: policy_kind,
                reason: "no agent printed anything for 20m".into()
            })
        );
        assert_eq!(a.len(), if expect_stop { 2 } else { 1 }, "{a:?}");
        match policy_kind {
            WatchPolicy::Retry => assert!(p.fresh(0) && !p.blocks(0)),
            WatchPolicy::Block => {
                assert_eq!(
                    p.take_block(0).as_deref(),
                    Some("stopped by the watchdog: no agent printed anything for 20m")
                );
            }
            WatchPolicy::Stop => {
                assert!(matches!(&a[1], Action::Stop { kind: StopKind::Watchdog, .. }));
                assert_eq!(p.ending(&RunOutcome::Interrupted, Halts::default()).code(), 4);
            }
        }
        // Its clock starts again: the next 20 minutes are quiet too before it acts again.
        if !expect_stop {
            assert_eq!(p.tick(100 * MIN), vec![]);
            assert_eq!(p.tick(110 * MIN).len(), 1);
        }
    }
}

#[test]
fn rate_limits_wait_what_the_provider_names_else_a_doubling_backoff() {
    let mut p = policy(rules());
    assert_eq!(p.rate_limited("claude", Some(30 * S), 0), 30 * S);
    assert_eq!(p.not_before("claude", 10 * S), Some(20 * S));
    assert_eq!(p.not_before("codex", 10 * S), None, "other agents go on");
    assert_eq!(p.not_before("claude", 30 * S), None);
    // In a row: 60s, then 120s, 240s, ... up to 15 minutes.
    assert_eq!(p.rate_limited("claude", None, 31 * S), 120 * S);
    assert_eq!(p.rate_limited("claude", None, 200 * S), 240 * S);
    let mut t = 500 * S;
    let mut last = 0;
    for _ in 0..6 {
        last = p.rate_limited("claude", None, t);
        t += last;
    }
    assert_eq!(last, 900 * S, "capped at 15 minutes");
    // Ten minutes after the last wait ended, the count starts over.
    assert_eq!(p.rate_limited("claude", None, t + 11 * MIN), 60 * S);
}

#[test]
fn a_full_usage_window_holds_its_agent_until_the_oldest_use_ages_out() {
    let mut r = rules();
    r.windows =
        vec![Window { agent: "claude".into(), hours: 5.0, usd: Some(1.0), tokens: None, soft: None, hard: None }];
    let mut p = policy(r);
    let hour = 60 * MIN;
    p.used_before("claude", hour, usd(0.7));
    assert_eq!(p.not_before("claude", hour + S), None);
    p.started("a.log", 0, 1, "implement", "claude", 2 * hour);
    p.usage("a.log", Some(usd(0.4)), true, 2 * hour);
    // 1.1 of 1.0 used: room comes back when the use at hour 1 leaves the window, at hour 6.
    assert_eq!(p.not_before("claude", 3 * hour), Some(3 * hour));
    assert_eq!(p.not_before("codex", 3 * hour), None);
    p.step_ended(Some(0), 1, "implement", Some(("claude", usd(0.4))), 3 * hour);
    assert_eq!(p.not_before("claude", 6 * hour + S), None, "the first use aged out");
}

#[test]
fn the_same_failure_twice_applies_the_repeat_policy() {
    for (kind, expect) in [
        (WatchPolicy::Retry, Repeat::Fresh),
        (WatchPolicy::Block, Repeat::Block("failed the same way twice in a row: verify failed after 31s".into())),
        (WatchPolicy::Stop, Repeat::Stop("task T1 failed the same way twice in a row: verify failed after 31s".into())),
    ] {
        let mut r = rules();
        r.on_repeat = kind;
        let mut p = policy(r);
        assert_eq!(p.failed(0, VERIFY, "verify failed after 12s", "T1"), Repeat::New);
        // Numbers (timings, counts) differ between identical failures.
        assert_eq!(p.failed(0, VERIFY, "verify failed after 31s", "T1"), expect);
        assert_eq!(p.failed(1, VERIFY, "verify failed after 31s", "T2"), Repeat::New, "per task");
        assert_eq!(p.stopped().is_some(), kind == WatchPolicy::Stop);
    }
    let mut p = policy(rules());
    let scope = FailureClass::Check(crate::Stage::Scope);
    p.failed_before(0, scope, "scope: changed a.rs");
    assert_eq!(p.failed(0, scope, "scope: changed b.rs", "T1"), Repeat::New);
    assert_eq!(p.failed(0, scope, "scope: changed b.rs", "T1"), Repeat::Fresh);
    // The same words from another gate are another failure: the class is part of the key.
    assert_eq!(p.failed(0, FailureClass::Agent, "scope: changed b.rs", "T1"), Repeat::New);
    assert_eq!(p.failed(0, VERIFY, "scope: changed b.rs", "T1"), Repeat::New);
}

const VERIFY: FailureClass = FailureClass::Check(crate::Stage::Verify);

#[test]
fn a_halt_is_kept_once_and_decides_how_the_run_ends() {
    let blocked = RunOutcome::Blocked { tasks: vec![0] };
    let mut p = policy(rules());
    assert_eq!(p.halted(), None);
    assert!(p.halt(Halt::Unstartable, "`claude` was not found\nsecond line"));
    assert!(!p.halt(Halt::Provider, "401 Unauthorized"), "only the first halt counts");
    assert_eq!(p.halted(), Some((Halt::Unstartable, "`claude` was not found")));
    assert_eq!(p.ending(&blocked, Halts::default()), Ending::AgentUnavailable);
    let interrupted = Halts { interrupted: true, ..Halts::default() };
    assert_eq!(p.ending(&RunOutcome::Interrupted, interrupted), Ending::Interrupted, "Ctrl-C wins");
    let mut p = policy(rules());
    p.halt(Halt::Provider, "401 Unauthorized");
    assert_eq!((p.ending(&RunOutcome::Interrupted, Halts::default()).code()), 4);
    assert_eq!(p.ending(&RunOutcome::Done, Halts::default()), Ending::Done, "every task done despite it");
}

#[test]
fn a_budget_reached_by_earlier_invocations_starts_nothing() {
    let mut r = rules();
    r.budgets.usd = Some(1.0);
    let mut p = Policy::new(r.clone(), usd(0.9), vec![usd(0.9)], 0);
    assert!(p.reached_at_start(0).unwrap().ends_with("; nothing was started"));
    assert_eq!(p.stopped().map(|(k, _)| k), Some(StopKind::Budget));
    let mut under = Policy::new(r, usd(0.1), vec![usd(0.1)], 0);
    assert_eq!(under.reached_at_start(0), None);
}

#[test]
fn how_a_run_ends_and_its_exit_code() {
    let p = policy(rules());
    let blocked = RunOutcome::Blocked { tasks: vec![0] };
    let int = RunOutcome::Interrupted;
    let h = |f: fn(&mut Halts)| {
        let mut h = Halts::default();
        f(&mut h);
        h
    };
    let done = RunOutcome::Done;
    let failed = RunOutcome::FinalCheckFailed { reason: "x".into() };
    let cases: Vec<(&RunOutcome, Halts, Ending, u8)> = vec![
        (&done, h(|h| h.interrupted = true), Ending::Done, 0),
        (&blocked, Halts::default(), Ending::Blocked, 3),
        (&failed, Halts::default(), Ending::FinalCheckFailed, 3),
        (&blocked, h(|h| h.final_interrupted = true), Ending::Interrupted, 130),
        (&int, Halts::default(), Ending::Interrupted, 130),
        (&int, h(|h| h.paused = true), Ending::Paused, 5),
        (&int, h(|h| (h.paused, h.interrupted) = (true, true)), Ending::Interrupted, 130),
    ];
    for (outcome, halts, ending, code) in cases {
        let got = p.ending(outcome, halts);
        assert_eq!((got, got.code()), (ending, code), "{outcome:?} {halts:?}");
    }
    let mut soft = policy(Rules { budgets: Budgets { usd: Some(1.0), soft: 0.5, ..Budgets::default() }, ..rules() });
    soft.started("a", 0, 1, "implement", "claude", 0);
    soft.usage("a", Some(usd(0.6)), true, S);
    assert!(matches!(&soft.tick(S)[..], [Action::Soft { .. }]));
    assert_eq!(soft.ending(&int, Halts::default()), Ending::Budget);
    assert_eq!(soft.ending(&int, h(|h| h.interrupted = true)), Ending::Interrupted);
    assert_eq!(soft.ending(&blocked, Halts::default()), Ending::Blocked, "a soft stop is not why tasks blocked");
}

#[test]
fn durations_read_as_the_user_wrote_them() {
    assert_eq!(human_ms(500), "500ms");
    assert_eq!(human_ms(1_000), "1s");
    assert_eq!(human_ms(90_000), "1m30s");
    assert_eq!(human_ms(20 * MIN), "20m");
    assert_eq!(human_ms(120 * MIN), "2h");
    assert_eq!(human_ms(90 * MIN), "1h30m");
}

#[test]
fn a_batch_pauses_after_every_n_passes_and_manual_commits_after_each_unless_all_is_done() {
    let mut r = rules();
    r.pauses = Pauses { after_each: false, batch: Some(2) };
    let mut p = policy(r.clone());
    assert!(!p.next_pass_pauses(false));
    assert_eq!(p.passed(false), None);
    assert!(p.next_pass_pauses(false), "the second pass pauses: nothing new may start beside it");
    assert!(!p.next_pass_pauses(true), "not when every other task is done: the run ends instead");
    assert_eq!(p.passed(false), Some(PauseWhy::Batch(2)));
    assert_eq!(p.passed(false), None, "paused once");
    assert_eq!(p.ending(&RunOutcome::Interrupted, Halts::default()), Ending::Paused);
    assert_eq!(
        p.ending(&RunOutcome::Interrupted, Halts { interrupted: true, ..Halts::default() }),
        Ending::Interrupted
    );

    let mut last = policy(r.clone());
    assert_eq!(last.passed(false), None);
    assert_eq!(last.passed(true), None, "the last task's pass ends the run, it does not pause it");
    assert_eq!(last.paused(), None);

    r.pauses = Pauses { after_each: true, batch: None };
    let mut manual = policy(r);
    assert!(manual.next_pass_pauses(false));
    assert_eq!(manual.passed(false), Some(PauseWhy::Commit));
    assert!(!manual.next_pass_pauses(false), "paused already");
}

#[test]
fn usage_windows_wait_past_soft_and_stop_past_hard() {
    let hour = 60 * MIN;
    let five =
        Window { agent: "claude".into(), hours: 5.0, usd: Some(10.0), tokens: None, soft: Some(0.8), hard: Some(0.9) };
    let week = Window {
        agent: "claude".into(),
        hours: 168.0,
        usd: None,
        tokens: Some(1_000),
        soft: Some(0.9),
        hard: Some(0.95),
    };
    assert_eq!((five.label(), week.label()), ("5h".to_owned(), "7d".to_owned()));
    let mut r = rules();
    r.windows = vec![five, week];
    let mut p = policy(r.clone());
    p.used_before("claude", hour, usd(7.0));
    assert_eq!(p.not_before("claude", hour + S), None, "70% of the 5h window: under soft");
    assert!(p.tick(hour + S).is_empty());
    p.started("a.log", 0, 1, "implement", "claude", 2 * hour);
    p.usage("a.log", Some(usd(1.5)), true, 2 * hour);
    // 85%: past soft, under hard: new steps wait, nothing stops.
    assert!(p.not_before("claude", 2 * hour).is_some());
    assert!(p.tick(2 * hour).is_empty());
    assert_eq!(p.stopped(), None);
    // 95%: past hard: the run stops.
    p.usage("a.log", Some(usd(2.5)), true, 2 * hour + S);
    let actions = p.tick(2 * hour + S);
    assert!(
        matches!(&actions[..], [Action::Stop { kind: StopKind::Window, reason }] if reason.contains("claude's 5h usage window is at 95%") && reason.contains("hard threshold 90%")),
        "{actions:?}"
    );
    assert_eq!(p.ending(&RunOutcome::Interrupted, Halts::default()), Ending::Budget);
    // The week's tokens count on their own; shares at an instant count journaled uses only.
    let mut p = policy(r);
    p.used_before("claude", hour, Spend { tokens: 960, usd: 0.0 });
    assert!(p.reached_at_start(hour + S).is_some_and(|w| w.contains("7d") && w.ends_with("nothing was started")));
    let shares = p.window_shares("claude", hour + S);
    assert_eq!(shares.len(), 2);
    assert!((shares[1].1 - 0.96).abs() < 1e-9 && shares[0].1 == 0.0, "{shares:?}");
    assert_eq!(p.window_shares("claude", hour - S)[1].1, 0.0, "before the use");
}
