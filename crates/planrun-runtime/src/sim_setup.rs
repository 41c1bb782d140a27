//! What `planrun simulate` runs the engine on: the plan's tasks still to do, in wave order, with
//! their dependencies, checks and file conflicts.

use planrun_engine::{Conflicts, Setup, TaskSpec, default_concurrency};
use planrun_plan::{Checked, Loaded};

/// The engine's setup for a simulated run of the plan's tasks, in wave order.
pub fn simulation_setup(loaded: &Loaded, checked: &Checked) -> Setup {
    let plan = &loaded.plan;
    let pending: Vec<usize> = checked.analysis.waves.iter().flatten().copied().collect();
    let mut index: Vec<Option<usize>> = vec![None; plan.tasks.len()];
    for (new, &old) in pending.iter().enumerate() {
        if let Some(slot) = index.get_mut(old) {
            *slot = Some(new);
        }
    }
    let map = |old: usize| index.get(old).copied().flatten();
    let tasks: Vec<TaskSpec> = pending
        .iter()
        .map(|&old| {
            let task = plan.tasks.get(old);
            TaskSpec {
                id: task.map(|t| t.id.clone()).unwrap_or_default(),
                deps: checked.graph.deps.get(old).into_iter().flatten().filter_map(|&d| map(d)).collect(),
                stages: if !plan.verify.is_empty() || task.is_some_and(|t| !t.verify.is_empty()) {
                    vec![planrun_engine::Stage::Verify]
                } else {
                    Vec::new()
                },
                done: false,
            }
        })
        .collect();
    let mut conflicts = Conflicts::default();
    for c in &checked.analysis.conflicts {
        if let (Some(a), Some(b)) = (map(c.a), map(c.b)) {
            conflicts.add_pair(a, b);
        }
    }
    for &t in &checked.analysis.unscoped {
        if let Some(t) = map(t) {
            conflicts.add_alone(t);
        }
    }
    // As a run orders ready tasks: the longest chain first, then the plan's own priority.
    let chains = planrun_engine::sim::weighted_priorities(&tasks, &vec![1.0; tasks.len()]);
    let priority = chains
        .iter()
        .zip(&pending)
        .map(|(p, &old)| {
            let rank = planrun_plan::model::Priority::rank(plan.tasks.get(old).and_then(|t| t.priority));
            p.saturating_mul(4).saturating_add(rank)
        })
        .collect();
    Setup {
        limit: default_concurrency(tasks.len()),
        tasks,
        priority,
        conflicts,
        max_rework: 0,
        final_check: !plan.verify.is_empty(),
    }
}
