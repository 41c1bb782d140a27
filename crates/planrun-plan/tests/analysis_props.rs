//! Property tests of the graph analysis on random plans: waves respect every dependency, hold
//! each runnable task once, the critical path is a real chain as long as the waves are deep, and
//! reported conflicts are exactly the unordered pairs with overlapping files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use planrun_plan::globs::{Pattern, overlaps};
use planrun_plan::model::{Plan, Status, Task};
use proptest::prelude::*;
use std::collections::{HashMap, HashSet};

/// Random plans of up to 24 tasks; dependencies may point anywhere (cycles, unknown ids).
fn plan() -> impl Strategy<Value = Plan> {
    let task = (
        prop::collection::vec(0usize..30, 0..4),
        prop::collection::vec(
            prop::sample::select(vec![
                "src/**",
                "src/a/*.rs",
                "src/a/x.rs",
                "docs/",
                "lib/b",
                "lib/*",
                "tests/**/*.rs",
            ]),
            0..3,
        ),
        prop::bool::weighted(0.2),
    );
    prop::collection::vec(task, 1..24).prop_map(|tasks| {
        let n = tasks.len();
        let tasks = tasks
            .into_iter()
            .enumerate()
            .map(|(i, (deps, files, done))| {
                let mut t = Task::new(format!("t{i}"), format!("task {i}"));
                // Mostly backwards edges (a DAG), a few forward ones to make cycles.
                t.depends_on =
                    deps.into_iter().filter(|&d| d < i || d % 7 == 0).map(|d| format!("t{}", d.min(n + 1))).collect();
                t.files = files.into_iter().map(str::to_owned).collect();
                t.status = if done { Status::Done } else { Status::Pending };
                t
            })
            .collect();
        Plan { title: "p".into(), tasks, ..Plan::default() }
    })
}

fn analyse(plan: &Plan) -> planrun_plan::Checked {
    let text = planrun_plan::native::json::write(plan);
    let loaded = planrun_plan::native::json::parse(&text, "p.json");
    assert_eq!(&loaded.plan, plan);
    planrun_plan::check(&loaded)
}

/// Index of every task that reaches task `i` through dependencies (ancestors), by brute force.
fn ancestors(plan: &Plan, i: usize) -> HashSet<usize> {
    let index: HashMap<&str, usize> = plan.tasks.iter().enumerate().map(|(k, t)| (t.id.as_str(), k)).collect();
    let mut seen = HashSet::new();
    let mut stack = vec![i];
    while let Some(v) = stack.pop() {
        for d in &plan.tasks[v].depends_on {
            if let Some(&j) = index.get(d.as_str()) {
                if seen.insert(j) {
                    stack.push(j);
                }
            }
        }
    }
    seen
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn waves_respect_dependencies(plan in plan()) {
        let checked = analyse(&plan);
        let a = &checked.analysis;
        let mut wave_of = HashMap::new();
        for (w, tasks) in a.waves.iter().enumerate() {
            for &t in tasks {
                prop_assert!(wave_of.insert(t, w).is_none(), "task {t} in two waves");
                prop_assert_eq!(plan.tasks[t].status, Status::Pending);
            }
        }
        let on_cycle: HashSet<usize> = checked.graph.cycles.iter().flatten().copied().collect();
        for (i, t) in plan.tasks.iter().enumerate() {
            let anc = ancestors(&plan, i);
            let blocked = anc.contains(&i) || anc.iter().any(|a| on_cycle.contains(a)) || on_cycle.contains(&i);
            if t.status == Status::Pending {
                // A pending task is scheduled exactly when no cycle stands in its way.
                prop_assert_eq!(wave_of.contains_key(&i), !blocked, "task {}", i);
            }
            if let Some(&w) = wave_of.get(&i) {
                for &d in &checked.graph.deps[i] {
                    if plan.tasks[d].status == Status::Pending {
                        prop_assert!(wave_of[&d] < w, "dependency {d} of {i} not in an earlier wave");
                    }
                }
            }
        }
        // The critical path is a chain of dependencies, one per wave.
        prop_assert_eq!(a.critical_path.len(), a.waves.len());
        for pair in a.critical_path.windows(2) {
            prop_assert!(checked.graph.deps[pair[1]].contains(&pair[0]));
        }
    }

    #[test]
    fn conflicts_are_exactly_the_unordered_overlapping_pairs(plan in plan()) {
        let checked = analyse(&plan);
        let scheduled: HashSet<usize> = checked.analysis.waves.iter().flatten().copied().collect();
        let reported: HashSet<(usize, usize)> = checked.analysis.conflicts.iter().map(|c| (c.a, c.b)).collect();
        let anc: Vec<HashSet<usize>> = (0..plan.tasks.len()).map(|i| ancestors(&plan, i)).collect();
        for a in 0..plan.tasks.len() {
            for b in a + 1..plan.tasks.len() {
                let both = scheduled.contains(&a) && scheduled.contains(&b);
                let ordered = anc[a].contains(&b) || anc[b].contains(&a);
                let overlap = plan.tasks[a].files.iter().any(|x| {
                    plan.tasks[b].files.iter().any(|y| overlaps(&Pattern::parse(x).unwrap(), &Pattern::parse(y).unwrap()))
                });
                prop_assert_eq!(reported.contains(&(a, b)), both && !ordered && overlap, "pair ({}, {})", a, b);
                // The scheduler's view: every overlapping pair of tasks to run, ordered or not.
                prop_assert_eq!(checked.analysis.overlapping.overlap(a, b), both && overlap, "overlap ({}, {})", a, b);
                prop_assert_eq!(checked.analysis.overlapping.overlap(b, a), both && overlap, "overlap ({}, {})", b, a);
            }
        }
    }
}
