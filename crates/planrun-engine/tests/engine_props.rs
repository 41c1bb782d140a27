//! Property tests of the engine as the runtime drives it: random plans, random finishing order,
//! random failures, and a crash at a random moment after which a new engine is rebuilt from the
//! journaled changes alone. Checks that the limit and conflicts hold, that dependencies come
//! first, that replay rebuilds exactly the same state, and that no task done before the crash is
//! ever implemented again.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use planrun_engine::{Change, Conflicts, Decision, Engine, Input, RunOutcome, Setup, Stage, TaskSpec, TaskState};
use proptest::prelude::*;
use std::collections::{BTreeMap, HashSet};

#[derive(Debug, Clone)]
struct Case {
    deps: Vec<Vec<usize>>,
    clashes: Vec<(usize, usize)>,
    alone: Vec<usize>,
    failures: Vec<u32>,
    verify: Vec<bool>,
    limit: usize,
    order: Vec<usize>,
    crash_at: Vec<usize>,
    final_check: bool,
    /// `--pipeline`: tasks plan in free slots while a dependency is in review.
    pipeline: bool,
}

fn case() -> impl Strategy<Value = Case> {
    (2usize..16).prop_flat_map(|n| {
        (
            prop::collection::vec(prop::collection::vec(0..n, 0..3), n),
            prop::collection::vec((0..n, 0..n), 0..5),
            prop::collection::vec(0..n, 0..2),
            prop::collection::vec(prop::sample::select(vec![0u32, 0, 0, 1, 3]), n),
            prop::collection::vec(any::<bool>(), n),
            1usize..5,
            prop::collection::vec(any::<usize>(), 64),
            prop::collection::vec(0usize..40, 0..3),
            (any::<bool>(), any::<bool>()),
        )
            .prop_map(
                |(deps, clashes, alone, failures, verify, limit, order, crash_at, (final_check, pipeline))| Case {
                    // Edges only to earlier tasks: validated plans have no cycles.
                    deps: deps
                        .into_iter()
                        .enumerate()
                        .map(|(i, ds)| {
                            let mut ds: Vec<usize> = ds.into_iter().filter(|&d| d < i).collect();
                            ds.sort_unstable();
                            ds.dedup();
                            ds
                        })
                        .collect(),
                    clashes,
                    alone,
                    failures,
                    verify,
                    limit,
                    order,
                    crash_at,
                    final_check,
                    pipeline,
                },
            )
    })
}

const MAX_REWORK: u32 = 2;

/// The stages of a task with checks: the whole pipeline.
fn stages(checked: bool) -> Vec<Stage> {
    if checked { vec![Stage::Scope, Stage::Verify, Stage::Review, Stage::Commit, Stage::Merge] } else { Vec::new() }
}

fn setup(case: &Case) -> Setup {
    let mut conflicts = Conflicts::default();
    for &(a, b) in &case.clashes {
        conflicts.add_pair(a, b);
    }
    for &a in &case.alone {
        conflicts.add_alone(a);
    }
    Setup {
        tasks: case
            .deps
            .iter()
            .enumerate()
            .map(|(i, ds)| TaskSpec {
                id: format!("t{i}"),
                deps: ds.clone(),
                stages: stages(case.verify[i]),
                done: false,
            })
            .collect(),
        priority: (0..case.deps.len() as u32).rev().collect(),
        conflicts,
        limit: case.limit,
        max_rework: MAX_REWORK,
        final_check: case.final_check,
    }
}

/// A step the runtime is carrying out.
#[derive(Debug, Clone)]
enum Pending {
    Implement(usize, u32),
    Check(usize, u32, Stage),
    Final,
    Plan(usize),
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn engine_runs_and_resumes(case in case()) {
        let n = case.deps.len();
        let mut journal: Vec<Change> = Vec::new();
        let mut engine = Engine::new(setup(&case));
        engine.set_pipeline(case.pipeline);
        // Plans written (kept on disk by the runtime: a rebuilt engine is told of them).
        let mut planned: HashSet<usize> = HashSet::new();
        let mut work: Vec<Pending> = Vec::new();
        let mut failed = vec![0u32; n];
        let mut implemented: BTreeMap<usize, u32> = BTreeMap::new();
        let mut order = case.order.iter().cycle();
        let crashes: HashSet<usize> = case.crash_at.iter().copied().collect();

        let take = |out: planrun_engine::Output, engine: &Engine, journal: &mut Vec<Change>, work: &mut Vec<Pending>| {
            journal.extend(out.changes);
            for d in out.decisions {
                match d {
                    Decision::Implement { task, attempt, .. } => work.push(Pending::Implement(task, attempt)),
                    Decision::Check { task, attempt, stage } => work.push(Pending::Check(task, attempt, stage)),
                    Decision::FinalCheck => work.push(Pending::Final),
                    Decision::Plan { task } => {
                        assert!(case.pipeline, "a plan step without --pipeline");
                        assert_eq!(engine.states()[task], TaskState::Pending, "t{task} plans but is not pending");
                        let deps = &case.deps[task];
                        assert!(deps.iter().all(|&d| engine.states()[d].satisfies_dependents()
                            || matches!(engine.states()[d], TaskState::InReview { .. })), "t{task} plans before its dependencies are coded");
                        assert!(!work.iter().any(|w| matches!(w, Pending::Plan(t) if *t == task)), "t{task} plans twice at once");
                        work.push(Pending::Plan(task));
                    }
                }
            }
            let running = engine.running();
            assert!(running.len() + engine.planning().len() <= case.limit, "more steps than slots");
            let exclusive = work.iter().filter(|w| matches!(w, Pending::Check(_, _, s) if s.exclusive())).count();
            assert!(exclusive <= 1, "{exclusive} tasks commit or merge at once");
            for (k, &a) in running.iter().enumerate() {
                for &b in &running[k + 1..] {
                    let alone = case.alone.contains(&a) || case.alone.contains(&b);
                    let pair = case.clashes.iter().any(|&(x, y)| (x, y) == (a, b) || (x, y) == (b, a));
                    assert!(a == b || !(alone || pair), "t{a} and t{b} clash but run together");
                }
            }
        };
        let out = engine.start();
        take(out, &engine, &mut journal, &mut work);

        let mut steps = 0;
        let mut ever_done: HashSet<usize> = HashSet::new();
        while !work.is_empty() {
            ever_done.extend((0..n).filter(|&i| engine.states()[i] == TaskState::Done));
            steps += 1;
            prop_assert!(steps < 2_000, "the run does not end");
            if crashes.contains(&steps) {
                // Crash: everything in flight is lost; rebuild from the journal alone.
                let done_before: HashSet<usize> =
                    (0..n).filter(|&i| engine.states()[i] == TaskState::Done).collect();
                let mut fresh = Engine::new(setup(&case));
                fresh.set_pipeline(case.pipeline);
                for &t in &planned {
                    fresh.set_planned(t);
                }
                for c in &journal {
                    fresh.replay(c).unwrap();
                }
                prop_assert_eq!(fresh.states(), engine.states(), "replay rebuilds the same state");
                work.clear();
                engine = fresh;
                let out = engine.resume();
                for d in &out.decisions {
                    if let Decision::Implement { task, .. } = d {
                        prop_assert!(!done_before.contains(task), "t{task} was done and runs again");
                    }
                }
                take(out, &engine, &mut journal, &mut work);
                continue;
            }
            let k = order.next().unwrap() % work.len();
            let step = work.swap_remove(k);
            let input = match step {
                Pending::Implement(task, attempt) => {
                    for &d in &case.deps[task] {
                        prop_assert!(engine.states()[d].satisfies_dependents(), "t{task} started before t{d}");
                    }
                    prop_assert!(!work.iter().any(|w| matches!(w, Pending::Plan(t) if *t == task)), "t{task} codes while it plans");
                    prop_assert!(!ever_done.contains(&task), "t{task} was done and runs again");
                    *implemented.entry(task).or_default() += 1;
                    let fail = !case.verify[task] && failed[task] < case.failures[task];
                    if fail {
                        failed[task] += 1;
                    }
                    Input::Implemented { task, attempt, result: if fail { Err("agent failed".into()) } else { Ok(()) } }
                }
                Pending::Check(task, attempt, stage) => {
                    // Failures come from a different stage each time (a failed verify, a
                    // blocking review, a merge conflict…).
                    let all = stages(true);
                    let failing = all[(task + failed[task] as usize) % all.len()];
                    let fail = stage == failing && failed[task] < case.failures[task];
                    if fail {
                        failed[task] += 1;
                    }
                    Input::Checked { task, attempt, stage, result: if fail { Err(format!("{stage} failed")) } else { Ok(()) } }
                }
                Pending::Final => Input::FinalChecked { result: Ok(()) },
                Pending::Plan(task) => {
                    prop_assert!(!planned.contains(&task), "t{task} planned again");
                    // Some planners fail; the task codes without a plan then.
                    let ok = (task + steps) % 4 != 0;
                    if ok {
                        planned.insert(task);
                    }
                    Input::Planned { task, result: if ok { Ok(()) } else { Err("no plan".into()) } }
                }
            };
            let out = engine.handle(input).unwrap();
            take(out, &engine, &mut journal, &mut work);
        }
        let outcome = engine.outcome();
        let blocked: Vec<usize> = (0..n).filter(|&i| case.failures[i] > MAX_REWORK).collect();
        if blocked.is_empty() {
            prop_assert_eq!(outcome, Some(RunOutcome::Done));
            for i in 0..n {
                prop_assert_eq!(&engine.states()[i], &TaskState::Done);
            }
        } else {
            match outcome {
                Some(RunOutcome::Blocked { tasks }) => {
                    for &t in &tasks {
                        prop_assert!(case.failures[t] > MAX_REWORK);
                    }
                    for i in 0..n {
                        let s = &engine.states()[i];
                        prop_assert!(
                            *s == TaskState::Done
                                || matches!(s, TaskState::Blocked { .. })
                                || engine.blocked_upstream(i).is_some(),
                            "t{} ended {} with nothing blocked upstream", i, s.name()
                        );
                    }
                }
                other => prop_assert!(false, "expected blocked, got {other:?}"),
            }
        }
    }
}

fn simple(deps: Vec<Vec<usize>>, verify: bool, final_check: bool) -> Engine {
    let n = deps.len();
    Engine::new(Setup {
        tasks: deps
            .into_iter()
            .enumerate()
            .map(|(i, deps)| TaskSpec {
                id: format!("t{i}"),
                deps,
                stages: if verify { vec![Stage::Verify] } else { vec![] },
                done: false,
            })
            .collect(),
        priority: vec![0; n],
        conflicts: Conflicts::default(),
        limit: 4,
        max_rework: 1,
        final_check,
    })
}

#[test]
fn rework_feedback_reaches_the_next_attempt() {
    let mut e = simple(vec![vec![]], true, false);
    let out = e.start();
    assert_eq!(out.decisions, vec![Decision::Implement { task: 0, attempt: 1, feedback: None }]);
    let out = e.handle(Input::Implemented { task: 0, attempt: 1, result: Ok(()) }).unwrap();
    assert_eq!(out.decisions, vec![Decision::Check { task: 0, attempt: 1, stage: Stage::Verify }]);
    let out = e
        .handle(Input::Checked { task: 0, attempt: 1, stage: Stage::Verify, result: Err("test x failed".into()) })
        .unwrap();
    assert_eq!(
        out.decisions,
        vec![Decision::Implement { task: 0, attempt: 2, feedback: Some("test x failed".into()) }]
    );
    // A late report about the old attempt is refused, not applied.
    assert!(e.handle(Input::Checked { task: 0, attempt: 1, stage: Stage::Verify, result: Ok(()) }).is_err());
    e.handle(Input::Implemented { task: 0, attempt: 2, result: Ok(()) }).unwrap();
    let out =
        e.handle(Input::Checked { task: 0, attempt: 2, stage: Stage::Verify, result: Err("still".into()) }).unwrap();
    assert!(out.decisions.is_empty());
    assert_eq!(e.states()[0], TaskState::Blocked { reason: "failed 2 times; last: still".into() });
    assert_eq!(e.outcome(), Some(RunOutcome::Blocked { tasks: vec![0] }));
}

#[test]
fn a_blocked_task_stops_its_downstream_and_retry_resumes_it() {
    // t0 → t1 → t2, and t3 on its own.
    let mut e = simple(vec![vec![], vec![0], vec![1], vec![]], false, false);
    e.start();
    e.handle(Input::Implemented { task: 0, attempt: 1, result: Err("crash".into()) }).unwrap();
    e.handle(Input::Implemented { task: 0, attempt: 2, result: Err("crash".into()) }).unwrap();
    e.handle(Input::Implemented { task: 3, attempt: 1, result: Ok(()) }).unwrap();
    assert_eq!(e.outcome(), Some(RunOutcome::Blocked { tasks: vec![0] }));
    assert_eq!(e.blocked_upstream(2), Some(0));
    assert_eq!(e.states()[3], TaskState::Done, "the rest of the graph went on");
    let out = e.handle(Input::Retry { task: 0 }).unwrap();
    // Attempt numbers go on across the retry: attempts 1 and 2 keep their logs and records.
    assert_eq!(out.decisions, vec![Decision::Implement { task: 0, attempt: 3, feedback: None }]);
    e.handle(Input::Implemented { task: 0, attempt: 3, result: Ok(()) }).unwrap();
    e.handle(Input::Implemented { task: 1, attempt: 1, result: Ok(()) }).unwrap();
    e.handle(Input::Implemented { task: 2, attempt: 1, result: Ok(()) }).unwrap();
    assert_eq!(e.outcome(), Some(RunOutcome::Done));
}

#[test]
fn attempts_after_a_retry_go_on_from_the_highest_live_and_on_replay() {
    let mut e = simple(vec![vec![]], true, false);
    let mut journal: Vec<Change> = e.start().changes;
    let mut step = |e: &mut Engine, input: Input| journal_of(e.handle(input).unwrap(), &mut journal);
    step(&mut e, Input::Implemented { task: 0, attempt: 1, result: Err("no".into()) });
    step(&mut e, Input::Implemented { task: 0, attempt: 2, result: Err("no".into()) });
    step(&mut e, Input::Retry { task: 0 });
    assert_eq!(e.states()[0].attempt(), Some(3));
    step(&mut e, Input::Implemented { task: 0, attempt: 3, result: Err("no".into()) });
    step(&mut e, Input::Implemented { task: 0, attempt: 4, result: Err("no".into()) });
    step(&mut e, Input::Skip { task: 0 });
    step(&mut e, Input::Retry { task: 0 });
    assert_eq!(e.states()[0].attempt(), Some(5));
    // A new engine rebuilt from the journal numbers them the same way, and goes on from there.
    let mut again = simple(vec![vec![]], true, false);
    for c in &journal {
        again.replay(c).unwrap();
    }
    assert_eq!(again.states(), e.states());
    again.handle(Input::Interrupted { task: 0, attempt: 5, reason: "stopped".into() }).unwrap();
    assert_eq!(again.states()[0].attempt(), Some(6));
}

fn journal_of(out: planrun_engine::Output, journal: &mut Vec<Change>) {
    journal.extend(out.changes);
}

#[test]
fn drain_stops_dispatch_but_lets_running_work_finish() {
    let mut e = simple(vec![vec![], vec![0]], true, true);
    e.start();
    e.handle(Input::Drain).unwrap();
    let out = e.handle(Input::Implemented { task: 0, attempt: 1, result: Ok(()) }).unwrap();
    assert_eq!(
        out.decisions,
        vec![Decision::Check { task: 0, attempt: 1, stage: Stage::Verify }],
        "a running attempt is finished"
    );
    let out = e.handle(Input::Checked { task: 0, attempt: 1, stage: Stage::Verify, result: Ok(()) }).unwrap();
    assert!(out.decisions.is_empty(), "nothing new starts while draining");
    assert_eq!(e.outcome(), Some(RunOutcome::Interrupted));
}

#[test]
fn the_final_check_runs_once_everything_is_done_and_a_failure_is_reported() {
    let mut e = simple(vec![vec![], vec![0]], false, true);
    let mut journal = e.start().changes;
    journal.extend(e.handle(Input::Implemented { task: 0, attempt: 1, result: Ok(()) }).unwrap().changes);
    let out = e.handle(Input::Implemented { task: 1, attempt: 1, result: Ok(()) }).unwrap();
    assert_eq!(out.decisions, vec![Decision::FinalCheck]);
    journal.extend(out.changes);
    assert_eq!(e.outcome(), None);
    journal.extend(e.handle(Input::FinalChecked { result: Err("lint failed".into()) }).unwrap().changes);
    assert_eq!(e.outcome(), Some(RunOutcome::FinalCheckFailed { reason: "lint failed".into() }));
    // On the next run, the final check is tried again; done tasks are not.
    let mut again = simple(vec![vec![], vec![0]], false, true);
    for c in &journal {
        again.replay(c).unwrap();
    }
    assert_eq!(again.states(), e.states());
    let out = again.resume();
    assert_eq!(out.decisions, vec![Decision::FinalCheck]);
    again.handle(Input::FinalChecked { result: Ok(()) }).unwrap();
    assert_eq!(again.outcome(), Some(RunOutcome::Done));
}

#[test]
fn an_interrupted_attempt_resumes_as_a_new_attempt_with_its_failures_kept() {
    let mut e = simple(vec![vec![]], true, false);
    let mut journal = e.start().changes;
    journal.extend(e.handle(Input::Implemented { task: 0, attempt: 1, result: Ok(()) }).unwrap().changes);
    journal.extend(
        e.handle(Input::Checked { task: 0, attempt: 1, stage: Stage::Verify, result: Err("red".into()) })
            .unwrap()
            .changes,
    );
    // The crash happens during attempt 2.
    let mut fresh = simple(vec![vec![]], true, false);
    for c in &journal {
        fresh.replay(c).unwrap();
    }
    assert_eq!(fresh.states()[0], TaskState::InProgress { attempt: 2, failures: 1 });
    let out = fresh.resume();
    assert_eq!(
        out.decisions,
        vec![Decision::Implement {
            task: 0,
            attempt: 3,
            feedback: Some("the previous run stopped during this attempt".into())
        }]
    );
    // One more failure blocks it (max_rework 1): the interruption did not count.
    fresh.handle(Input::Implemented { task: 0, attempt: 3, result: Ok(()) }).unwrap();
    fresh.handle(Input::Checked { task: 0, attempt: 3, stage: Stage::Verify, result: Err("red".into()) }).unwrap();
    assert!(matches!(fresh.states()[0], TaskState::Blocked { .. }));
}

#[test]
fn tasks_the_plan_marks_done_are_not_run() {
    let mut e = Engine::new(Setup {
        tasks: vec![
            TaskSpec { id: "a".into(), deps: vec![], stages: vec![], done: true },
            TaskSpec { id: "b".into(), deps: vec![0], stages: vec![], done: false },
        ],
        priority: vec![0, 0],
        conflicts: Conflicts::default(),
        limit: 2,
        max_rework: 1,
        final_check: false,
    });
    let out = e.start();
    assert_eq!(out.decisions, vec![Decision::Implement { task: 1, attempt: 1, feedback: None }]);
}

fn piped(n: usize) -> Engine {
    Engine::new(Setup {
        tasks: (0..n)
            .map(|i| TaskSpec {
                id: format!("t{i}"),
                deps: vec![],
                stages: vec![Stage::Verify, Stage::Commit, Stage::Merge],
                done: false,
            })
            .collect(),
        priority: vec![0; n],
        conflicts: Conflicts::default(),
        limit: 4,
        max_rework: 1,
        final_check: false,
    })
}

fn check(task: usize, stage: Stage) -> Decision {
    Decision::Check { task, attempt: 1, stage }
}

fn ok(task: usize, stage: Stage) -> Input {
    Input::Checked { task, attempt: 1, stage, result: Ok(()) }
}

#[test]
fn commits_and_merges_take_turns_and_a_task_keeps_its_turn_from_commit_to_merge() {
    let mut e = piped(2);
    e.start();
    e.handle(Input::Implemented { task: 0, attempt: 1, result: Ok(()) }).unwrap();
    e.handle(Input::Implemented { task: 1, attempt: 1, result: Ok(()) }).unwrap();
    assert_eq!(e.handle(ok(0, Stage::Verify)).unwrap().decisions, vec![check(0, Stage::Commit)]);
    let out = e.handle(ok(1, Stage::Verify)).unwrap();
    assert!(out.decisions.is_empty(), "t1 waits for t0's commit and merge: {out:?}");
    assert_eq!(e.stage(1), Some(Stage::Commit), "its place in the queue is journaled");
    assert_eq!(e.handle(ok(0, Stage::Commit)).unwrap().decisions, vec![check(0, Stage::Merge)]);
    // A report for the waiting task's stage is refused until it has its turn.
    assert!(e.handle(ok(1, Stage::Commit)).is_err());
    let out = e.handle(ok(0, Stage::Merge)).unwrap();
    assert_eq!(out.decisions, vec![check(1, Stage::Commit)]);
    assert_eq!(e.states()[0], TaskState::Done);
    e.handle(ok(1, Stage::Commit)).unwrap();
    // A merge that fails (a conflict) sends the task back and gives up the turn.
    let out =
        e.handle(Input::Checked { task: 1, attempt: 1, stage: Stage::Merge, result: Err("conflict".into()) }).unwrap();
    assert_eq!(out.decisions, vec![Decision::Implement { task: 1, attempt: 2, feedback: Some("conflict".into()) }]);
}

#[test]
fn a_run_stopped_after_the_implement_step_goes_on_at_its_stage() {
    let mut e = piped(3);
    let mut journal = e.start().changes;
    for t in 0..3 {
        journal.extend(e.handle(Input::Implemented { task: t, attempt: 1, result: Ok(()) }).unwrap().changes);
    }
    journal.extend(e.handle(ok(0, Stage::Verify)).unwrap().changes);
    journal.extend(e.handle(ok(1, Stage::Verify)).unwrap().changes);
    journal.extend(e.handle(ok(0, Stage::Commit)).unwrap().changes);
    // Crash: t0 is merging, t1 waits for its turn, t2 is being verified.
    let mut fresh = piped(3);
    for c in &journal {
        fresh.replay(c).unwrap();
    }
    let out = fresh.resume();
    assert!(out.changes.is_empty(), "nothing is interrupted: {:?}", out.changes);
    assert_eq!(out.decisions, vec![check(2, Stage::Verify), check(0, Stage::Merge)]);
    assert_eq!(fresh.handle(ok(0, Stage::Merge)).unwrap().decisions, vec![check(1, Stage::Commit)]);
    assert_eq!(fresh.states()[0], TaskState::Done);
}

#[test]
fn a_running_task_can_be_blocked_and_a_late_report_about_it_is_refused() {
    let mut e = piped(2);
    e.start();
    let out = e.handle(Input::Block { task: 0, reason: "its budget of $1 is spent".into() }).unwrap();
    assert!(out.decisions.is_empty(), "{out:?}");
    assert_eq!(e.states()[0], TaskState::Blocked { reason: "its budget of $1 is spent".into() });
    assert!(e.handle(Input::Implemented { task: 0, attempt: 1, result: Ok(()) }).is_err());
    // In review, holding the merge turn: blocking it gives the turn to the next task.
    e.handle(Input::Implemented { task: 1, attempt: 1, result: Ok(()) }).unwrap();
    e.handle(ok(1, Stage::Verify)).unwrap();
    e.handle(Input::Block { task: 1, reason: "watchdog".into() }).unwrap();
    assert_eq!(e.stage(1), None);
    assert_eq!(e.outcome(), Some(RunOutcome::Blocked { tasks: vec![0, 1] }));
}

#[test]
fn a_stage_the_settings_no_longer_have_is_passed_over_on_resume() {
    let mut e = piped(2);
    let mut journal = e.start().changes;
    for t in 0..2 {
        journal.extend(e.handle(Input::Implemented { task: t, attempt: 1, result: Ok(()) }).unwrap().changes);
    }
    journal.extend(e.handle(ok(0, Stage::Verify)).unwrap().changes);
    journal.extend(e.handle(ok(1, Stage::Verify)).unwrap().changes);
    // Stopped with t0 committing and t1 waiting for the commit; the next invocation commits
    // by hand (no commit stage): each goes on to its merge, one at a time.
    let mut manual = piped(2);
    for c in &journal {
        manual.replay(c).unwrap();
    }
    for t in 0..2 {
        manual.set_stages(t, vec![Stage::Verify, Stage::Merge]);
    }
    let out = manual.resume();
    assert_eq!(out.decisions, vec![check(0, Stage::Merge)], "{out:?}");
    assert_eq!(manual.stage(1), Some(Stage::Merge));
    assert_eq!(manual.handle(ok(0, Stage::Merge)).unwrap().decisions, vec![check(1, Stage::Merge)]);
    // Without a commit or a merge stage (a shared tree committed by hand) they simply pass.
    let mut shared = piped(2);
    for c in &journal {
        shared.replay(c).unwrap();
    }
    for t in 0..2 {
        shared.set_stages(t, vec![Stage::Verify]);
    }
    let out = shared.resume();
    assert!(out.decisions.is_empty(), "{out:?}");
    assert_eq!(shared.states(), &[TaskState::Done, TaskState::Done]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// `--only`/`--skip`: on any plan with any choice of tasks, only chosen tasks start; a
    /// chosen task starts after its chosen dependencies are done (and despite the ones left
    /// out, which `unmet_dependencies` names first); every chosen task ends done, and the run
    /// says done. A later invocation without a choice finishes the rest.
    #[test]
    fn only_chosen_tasks_run(case in case(), mask in prop::collection::vec(any::<bool>(), 16)) {
        let n = case.deps.len();
        let chosen: Vec<bool> = mask[..n].to_vec();
        let mut engine = Engine::new(setup(&case));
        engine.select(chosen.clone());
        engine.set_pipeline(case.pipeline);
        let unmet = engine.unmet_dependencies();
        for t in 0..n {
            let expected: Vec<usize> = case.deps[t].iter().copied().filter(|&d| !chosen[d]).collect();
            let named = unmet.iter().find(|(u, _)| *u == t).map(|(_, d)| d.clone()).unwrap_or_default();
            prop_assert_eq!(named, if chosen[t] { expected } else { Vec::new() });
        }
        let mut journal: Vec<Change> = Vec::new();
        let mut work: Vec<Pending> = Vec::new();
        let mut order = case.order.iter().cycle();
        let push = |out: planrun_engine::Output, journal: &mut Vec<Change>, work: &mut Vec<Pending>| {
            journal.extend(out.changes);
            for d in out.decisions {
                match d {
                    Decision::Implement { task, attempt, .. } => work.push(Pending::Implement(task, attempt)),
                    Decision::Check { task, attempt, stage } => work.push(Pending::Check(task, attempt, stage)),
                    Decision::FinalCheck => work.push(Pending::Final),
                    Decision::Plan { task } => work.push(Pending::Plan(task)),
                }
            }
        };
        push(engine.start(), &mut journal, &mut work);
        let mut steps = 0;
        while !work.is_empty() {
            steps += 1;
            prop_assert!(steps < 2_000, "the run does not end");
            let k = order.next().unwrap() % work.len();
            let input = match work.swap_remove(k) {
                Pending::Implement(task, attempt) => {
                    prop_assert!(chosen[task], "t{} was left out and started", task);
                    for &d in &case.deps[task] {
                        prop_assert!(!chosen[d] || engine.states()[d].satisfies_dependents(), "t{} started before t{}", task, d);
                    }
                    Input::Implemented { task, attempt, result: Ok(()) }
                }
                Pending::Check(task, attempt, stage) => Input::Checked { task, attempt, stage, result: Ok(()) },
                Pending::Final => {
                    prop_assert!(chosen.iter().all(|&c| c), "the final check runs only once the whole plan is done");
                    Input::FinalChecked { result: Ok(()) }
                }
                Pending::Plan(task) => {
                    prop_assert!(chosen[task], "t{} was left out and plans", task);
                    Input::Planned { task, result: Ok(()) }
                }
            };
            push(engine.handle(input).unwrap(), &mut journal, &mut work);
        }
        prop_assert_eq!(engine.outcome(), Some(RunOutcome::Done));
        for (t, (state, &c)) in engine.states().iter().zip(&chosen).enumerate() {
            prop_assert_eq!(*state == TaskState::Done, c, "t{} ended {}", t, state.name());
        }
        // The next invocation, with no choice, rebuilt from the journal: the rest runs.
        let mut next = Engine::new(setup(&case));
        next.set_pipeline(case.pipeline);
        for c in &journal {
            next.replay(c).unwrap();
        }
        let mut work: Vec<Pending> = Vec::new();
        let mut journal2 = Vec::new();
        push(next.resume(), &mut journal2, &mut work);
        let mut steps = 0;
        while !work.is_empty() {
            steps += 1;
            prop_assert!(steps < 2_000, "the second run does not end");
            let k = order.next().unwrap() % work.len();
            let input = match work.swap_remove(k) {
                Pending::Implement(task, attempt) => {
                    prop_assert!(!chosen[task], "t{} was done and runs again", task);
                    for &d in &case.deps[task] {
                        prop_assert!(next.states()[d].satisfies_dependents(), "t{} started before t{}", task, d);
                    }
                    Input::Implemented { task, attempt, result: Ok(()) }
                }
                Pending::Check(task, attempt, stage) => Input::Checked { task, attempt, stage, result: Ok(()) },
                Pending::Final => Input::FinalChecked { result: Ok(()) },
                Pending::Plan(task) => Input::Planned { task, result: Ok(()) },
            };
            push(next.handle(input).unwrap(), &mut journal2, &mut work);
        }
        prop_assert_eq!(next.outcome(), Some(RunOutcome::Done));
        prop_assert!(next.states().iter().all(|s| *s == TaskState::Done));
    }
}

#[test]
fn review_sends_a_blocked_attempt_back_to_its_checks_without_the_agent() {
    // t0 → t1; t0's checks keep failing until the user fixes the work by hand.
    let mut e = simple(vec![vec![], vec![0]], true, false);
    let mut journal: Vec<Change> = e.start().changes;
    let step = |e: &mut Engine, journal: &mut Vec<Change>, input: Input| {
        let out = e.handle(input).unwrap();
        journal.extend(out.changes.clone());
        out.decisions
    };
    let j = &mut journal;
    step(&mut e, j, Input::Implemented { task: 0, attempt: 1, result: Ok(()) });
    step(&mut e, j, Input::Checked { task: 0, attempt: 1, stage: Stage::Verify, result: Err("red".into()) });
    step(&mut e, j, Input::Implemented { task: 0, attempt: 2, result: Ok(()) });
    step(&mut e, j, Input::Checked { task: 0, attempt: 2, stage: Stage::Verify, result: Err("red".into()) });
    assert!(matches!(e.states()[0], TaskState::Blocked { .. }));
    // Only a blocked task can be reviewed.
    assert!(e.handle(Input::Review { task: 1 }).is_err());
    let decisions = step(&mut e, j, Input::Review { task: 0 });
    assert_eq!(
        decisions,
        vec![Decision::Check { task: 0, attempt: 2, stage: Stage::Verify }],
        "the checks, not the agent"
    );
    assert_eq!(e.states()[0], TaskState::InReview { attempt: 2, failures: 0 });
    // Replayed (a later `planrun run` reads what `planrun review` journaled), it resumes at
    // the checks of the same attempt.
    let mut again = simple(vec![vec![], vec![0]], true, false);
    for c in j.iter() {
        again.replay(c).unwrap();
    }
    assert_eq!(again.states(), e.states());
    assert_eq!(again.resume().decisions, vec![Decision::Check { task: 0, attempt: 2, stage: Stage::Verify }]);
    let decisions = step(&mut e, j, Input::Checked { task: 0, attempt: 2, stage: Stage::Verify, result: Ok(()) });
    assert_eq!(e.states()[0], TaskState::Done);
    assert_eq!(decisions, vec![Decision::Implement { task: 1, attempt: 1, feedback: None }]);
}

/// `--pipeline`: once a task's code is in review, a dependent plans in a free slot; it codes
/// only when the dependency passed; a run with one slot never plans early.
#[test]
fn a_dependent_plans_while_its_dependency_is_in_review() {
    let task = |id: &str, deps: Vec<usize>| TaskSpec {
        id: id.into(),
        deps,
        stages: vec![Stage::Verify, Stage::Review],
        done: false,
    };
    let setup = |limit| Setup {
        tasks: vec![task("a", vec![]), task("b", vec![0])],
        priority: vec![2, 1],
        conflicts: Conflicts::default(),
        limit,
        max_rework: 2,
        final_check: false,
    };
    let mut e = Engine::new(setup(2));
    e.set_pipeline(true);
    assert_eq!(e.start().decisions, [Decision::Implement { task: 0, attempt: 1, feedback: None }]);
    let out = e.handle(Input::Implemented { task: 0, attempt: 1, result: Ok(()) }).unwrap();
    assert_eq!(
        out.decisions,
        [Decision::Check { task: 0, attempt: 1, stage: Stage::Verify }, Decision::Plan { task: 1 }]
    );
    assert_eq!(e.planning(), [1]);
    assert!(e.handle(Input::Planned { task: 0, result: Ok(()) }).is_err(), "a was not planning");
    let out = e.handle(Input::Checked { task: 0, attempt: 1, stage: Stage::Verify, result: Ok(()) }).unwrap();
    assert_eq!(out.decisions, [Decision::Check { task: 0, attempt: 1, stage: Stage::Review }]);
    // a passes while b still plans: b is ready but codes only once its plan is written.
    let out = e.handle(Input::Checked { task: 0, attempt: 1, stage: Stage::Review, result: Ok(()) }).unwrap();
    assert!(out.decisions.is_empty(), "{:?}", out.decisions);
    assert_eq!(e.outcome(), None, "a planning step is work in flight");
    let out = e.handle(Input::Planned { task: 1, result: Ok(()) }).unwrap();
    assert_eq!(out.decisions, [Decision::Implement { task: 1, attempt: 1, feedback: None }]);

    // a runs alone (it declares no files): b's plan, read-only in a worktree of its own, still
    // goes on beside it.
    let mut alone = setup(2);
    alone.conflicts.add_alone(0);
    let mut e = Engine::new(alone);
    e.set_pipeline(true);
    e.start();
    let out = e.handle(Input::Implemented { task: 0, attempt: 1, result: Ok(()) }).unwrap();
    assert!(out.decisions.contains(&Decision::Plan { task: 1 }), "{:?}", out.decisions);

    // One slot: a's review holds it, nothing plans.
    let mut e = Engine::new(setup(1));
    e.set_pipeline(true);
    e.start();
    let out = e.handle(Input::Implemented { task: 0, attempt: 1, result: Ok(()) }).unwrap();
    assert_eq!(out.decisions, [Decision::Check { task: 0, attempt: 1, stage: Stage::Verify }]);
    // Without --pipeline, two slots: nothing plans either.
    let mut e = Engine::new(setup(2));
    e.start();
    let out = e.handle(Input::Implemented { task: 0, attempt: 1, result: Ok(()) }).unwrap();
    assert!(!out.decisions.iter().any(|d| matches!(d, Decision::Plan { .. })));
}
