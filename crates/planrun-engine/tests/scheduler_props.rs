//! Property tests: the state machine and the scheduler driven together on random plans, with
//! random finishing order and random failures, never run more than the limit, never run two
//! clashing tasks at once, never start a task before its dependencies, and always end with every
//! task done, blocked (by its own failures or a blocked dependency) or on a cycle.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use planrun_engine::schedule::{newly_ready, stopped_by_blocked};
use planrun_engine::{Conflicts, TaskState, Transition, pick, priorities};
use planrun_plan::analysis::Graph;
use planrun_plan::model::{Plan, Task};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Case {
    deps: Vec<Vec<usize>>,
    clashes: Vec<(usize, usize)>,
    /// For each task, how many attempts fail before one passes.
    failures: Vec<u32>,
    limit: usize,
    /// Which running task finishes next, as an index into the running list (mod its length).
    order: Vec<usize>,
}

fn case() -> impl Strategy<Value = Case> {
    (2usize..20).prop_flat_map(|n| {
        (
            prop::collection::vec(prop::collection::vec(0..n, 0..3), n),
            prop::collection::vec((0..n, 0..n), 0..6),
            prop::collection::vec(prop::sample::select(vec![0u32, 0, 0, 1, 2, 5]), n),
            1usize..5,
            prop::collection::vec(any::<usize>(), 200),
        )
            .prop_map(|(deps, clashes, failures, limit, order)| Case { deps, clashes, failures, limit, order })
    })
}

fn plan_of(case: &Case) -> Plan {
    let tasks = case
        .deps
        .iter()
        .enumerate()
        .map(|(i, ds)| {
            let mut t = Task::new(format!("t{i}"), "t");
            // Mostly edges to earlier tasks (a DAG); an edge forward now and then makes cycles.
            t.depends_on = ds.iter().filter(|&&d| d < i || (d + i) % 5 == 0).map(|d| format!("t{d}")).collect();
            t
        })
        .collect();
    Plan { tasks, ..Plan::default() }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn scheduling_invariants(case in case()) {
        const MAX_REWORK: u32 = 2;
        let plan = plan_of(&case);
        let graph = Graph::new(&plan);
        let prio = priorities(&graph);
        let mut conflicts = Conflicts::default();
        for &(a, b) in &case.clashes {
            conflicts.add_pair(a, b);
        }
        let n = plan.tasks.len();
        let mut states = vec![TaskState::Pending; n];
        let mut failed = vec![0u32; n];
        let mut steps = 0;
        let mut order = case.order.iter().cycle();
        loop {
            for i in newly_ready(&states, &graph) {
                states[i] = states[i].apply(Transition::Ready, MAX_REWORK).unwrap();
            }
            for (i, dep) in stopped_by_blocked(&states, &graph) {
                let reason = format!("dependency t{dep} is blocked");
                states[i] = states[i].apply(Transition::Block { reason }, MAX_REWORK).unwrap();
            }
            let running: Vec<usize> = (0..n).filter(|&i| states[i].is_running()).collect();
            let ready: Vec<usize> =
                (0..n).filter(|&i| matches!(states[i], TaskState::Ready | TaskState::Rework { .. })).collect();
            let started = pick(&ready, &running, case.limit, &prio, &conflicts);
            for &i in &started {
                // Dependencies are satisfied when a task starts, every time.
                prop_assert!(graph.deps[i].iter().all(|&d| states[d].satisfies_dependents()));
                states[i] = states[i].apply(Transition::Start, MAX_REWORK).unwrap();
            }
            let running: Vec<usize> = (0..n).filter(|&i| states[i].is_running()).collect();
            prop_assert!(running.len() <= case.limit, "{} running, limit {}", running.len(), case.limit);
            for (k, &a) in running.iter().enumerate() {
                for &b in &running[k + 1..] {
                    prop_assert!(!conflicts.clash(a, b), "t{a} and t{b} clash but run together");
                }
            }
            if running.is_empty() {
                prop_assert!(started.is_empty());
                break;
            }
            // One running task finishes: it passes, or fails as its failure budget says.
            let i = running[order.next().unwrap() % running.len()];
            states[i] = states[i].apply(Transition::Submit, MAX_REWORK).unwrap();
            let outcome = if failed[i] < case.failures[i] {
                failed[i] += 1;
                Transition::Fail { reason: "verify failed".into() }
            } else {
                Transition::Pass
            };
            states[i] = states[i].apply(outcome, MAX_REWORK).unwrap();
            steps += 1;
            prop_assert!(steps < 10_000, "the run does not end");
        }
        // Every task ended somewhere that explains itself.
        let on_cycle: std::collections::HashSet<usize> = graph.cycles.iter().flatten().copied().collect();
        let scheduled: std::collections::HashSet<usize> = graph.topo.iter().copied().collect();
        for (i, state) in states.iter().enumerate() {
            match state {
                TaskState::Done => prop_assert!(case.failures[i] <= MAX_REWORK),
                TaskState::Blocked { reason } => prop_assert!(
                    case.failures[i] > MAX_REWORK || reason.starts_with("dependency"),
                    "t{i} blocked for no reason: {reason}"
                ),
                TaskState::Pending => prop_assert!(
                    on_cycle.contains(&i) || !scheduled.contains(&i),
                    "t{i} never started though nothing stops it"
                ),
                other => prop_assert!(false, "t{i} ended {}", other.name()),
            }
        }
    }
}
