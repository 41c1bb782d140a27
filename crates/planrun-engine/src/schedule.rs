//! Which tasks run next: ready tasks in order of their longest remaining path to the end of the
//! graph (plan order breaks ties), up to the concurrency limit, never two tasks with overlapping
//! files at once, never a task whose dependency is blocked. Pure functions over task indices;
//! owns no state and no I/O.

use crate::state::TaskState;
use planrun_plan::analysis::{Analysis, Graph, Overlaps};
use std::collections::HashSet;

/// Concurrency when the user gives no `-j`: 2 for plans of 1–3 tasks, 3 for 4–8, 4 beyond.
pub fn default_concurrency(tasks: usize) -> usize {
    match tasks {
        0..=3 => 2,
        4..=8 => 3,
        _ => 4,
    }
}

/// For each task, the number of tasks on the longest dependency chain from it to the end of the
/// graph, itself included: the critical path starts at a task with the highest value. Tasks on a
/// cycle, which never run, get 0.
pub fn priorities(graph: &Graph) -> Vec<u32> {
    let mut prio = vec![0u32; graph.deps.len()];
    for &i in graph.topo.iter().rev() {
        let longest =
            graph.dependents.get(i).map_or(0, |ds| ds.iter().filter_map(|&k| prio.get(k).copied()).max().unwrap_or(0));
        if let Some(p) = prio.get_mut(i) {
            *p = longest.saturating_add(1);
        }
    }
    prio
}

/// Pairs of tasks that must not run at the same time because their files overlap, and tasks
/// that declare no files (which run alone).
#[derive(Debug, Default, Clone)]
pub struct Conflicts {
    pairs: HashSet<(usize, usize)>,
    alone: HashSet<usize>,
    /// Tasks whose files overlap, as `planrun check` found them.
    overlaps: Overlaps,
}

impl Conflicts {
    /// The conflicts `planrun check` found.
    pub fn from_analysis(analysis: &Analysis) -> Self {
        let mut c = Self::default();
        for conflict in &analysis.conflicts {
            c.add_pair(conflict.a, conflict.b);
        }
        for &t in &analysis.unscoped {
            c.add_alone(t);
        }
        // Pairs the dependencies order, and tasks without files that are ordered with every
        // other, never meet while their order holds; a skipped task between them removes it.
        c.overlaps = analysis.overlapping.clone();
        for &t in &analysis.no_files {
            c.add_alone(t);
        }
        c
    }

    pub fn add_pair(&mut self, a: usize, b: usize) {
        self.pairs.insert((a.min(b), a.max(b)));
    }

    pub fn add_alone(&mut self, task: usize) {
        self.alone.insert(task);
    }

    /// Whether `task` declares no files and so runs with nothing beside it.
    pub fn runs_alone(&self, task: usize) -> bool {
        self.alone.contains(&task)
    }

    /// Whether `a` and `b` may not run at the same time.
    pub fn clash(&self, a: usize, b: usize) -> bool {
        a != b
            && (self.alone.contains(&a)
                || self.alone.contains(&b)
                || self.pairs.contains(&(a.min(b), a.max(b)))
                || self.overlaps.overlap(a, b))
    }
}

/// The tasks to start now: from `ready`, highest priority first (plan order breaks ties), while
/// fewer than `limit` run, skipping any task that clashes with one running or already picked.
pub fn pick(ready: &[usize], running: &[usize], limit: usize, priority: &[u32], conflicts: &Conflicts) -> Vec<usize> {
    let mut order: Vec<usize> = ready.to_vec();
    order.sort_by_key(|&t| (std::cmp::Reverse(priority.get(t).copied().unwrap_or(0)), t));
    order.dedup();
    let mut picked: Vec<usize> = Vec::new();
    for t in order {
        if running.len() + picked.len() >= limit {
            break;
        }
        if running.contains(&t) || running.iter().chain(&picked).any(|&o| conflicts.clash(t, o)) {
            continue;
        }
        picked.push(t);
    }
    picked
}

/// Pending tasks whose dependencies are all done or skipped.
pub fn newly_ready(states: &[TaskState], graph: &Graph) -> Vec<usize> {
    states
        .iter()
        .enumerate()
        .filter(|(i, s)| {
            **s == TaskState::Pending
                && graph
                    .deps
                    .get(*i)
                    .is_some_and(|ds| ds.iter().all(|&d| states.get(d).is_some_and(TaskState::satisfies_dependents)))
        })
        .map(|(i, _)| i)
        .collect()
}

/// Pending or ready tasks that can never start because a dependency is blocked, directly or
/// through other such tasks, each with the dependency that stops it (the first in its
/// `depends_on` that is blocked or stopped). The whole downstream of a blocked task is found in
/// one call.
pub fn stopped_by_blocked(states: &[TaskState], graph: &Graph) -> Vec<(usize, usize)> {
    let mut stopped = vec![false; states.len()];
    let mut out = Vec::new();
    for &i in &graph.topo {
        if !matches!(states.get(i), Some(TaskState::Pending | TaskState::Ready)) {
            continue;
        }
        let blocker = graph.deps.get(i).and_then(|ds| {
            ds.iter().copied().find(|&d| {
                matches!(states.get(d), Some(TaskState::Blocked { .. })) || stopped.get(d).copied().unwrap_or(false)
            })
        });
        if let Some(d) = blocker {
            if let Some(flag) = stopped.get_mut(i) {
                *flag = true;
            }
            out.push((i, d));
        }
    }
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use planrun_plan::model::{Plan, Task};

    #[test]
    fn tasks_on_one_file_clash_ordered_or_not() {
        // 2000 tasks on `src/lib.rs`, each after the one before, and one task on a file of its own.
        let mut plan = Plan::default();
        for i in 0..2000 {
            let mut t = Task::new(format!("t{i}"), "x");
            t.files = vec!["src/lib.rs".to_owned(), format!("src/m{i}/**")];
            if i > 0 {
                t.depends_on = vec![format!("t{}", i - 1)];
            }
            plan.tasks.push(t);
        }
        let mut own = Task::new("own", "x");
        own.files = vec!["docs/own.md".to_owned()];
        plan.tasks.push(own);
        let graph = Graph::new(&plan);
        let analysis = Analysis::new(&plan, &graph);
        assert!(analysis.conflicts.is_empty(), "the chain orders every pair");
        let c = Conflicts::from_analysis(&analysis);
        assert!(c.clash(0, 1999) && c.clash(1999, 0) && c.clash(5, 6), "a skipped task between them removes the order");
        assert!(!c.clash(0, 2000) && !c.clash(2000, 1999), "a file of its own clashes with nothing");
        assert!(!c.clash(7, 7));
    }

    fn plan(edges: &[(&str, &[&str])]) -> Plan {
        Plan {
            tasks: edges
                .iter()
                .map(|(id, deps)| {
                    let mut t = Task::new(*id, *id);
                    t.depends_on = deps.iter().map(|d| (*d).to_owned()).collect();
                    t
                })
                .collect(),
            ..Plan::default()
        }
    }

    #[test]
    fn concurrency_follows_plan_size() {
        assert_eq!([1, 3, 4, 8, 9, 10_000].map(default_concurrency), [2, 2, 3, 3, 4, 4]);
    }

    #[test]
    fn critical_path_first_then_plan_order() {
        // a → b → c is the longest chain; d and e are single tasks.
        let p = plan(&[("d", &[]), ("a", &[]), ("b", &["a"]), ("c", &["b"]), ("e", &[])]);
        let g = Graph::new(&p);
        let prio = priorities(&g);
        assert_eq!(prio, vec![1, 3, 2, 1, 1]);
        let picked = pick(&[0, 1, 4], &[], 2, &prio, &Conflicts::default());
        assert_eq!(picked, vec![1, 0], "a (longest path) first, then d before e by plan order");
    }

    #[test]
    fn limits_and_conflicts_are_respected() {
        let prio = vec![5, 4, 3, 2];
        let mut c = Conflicts::default();
        c.add_pair(0, 1);
        assert_eq!(pick(&[0, 1, 2, 3], &[], 3, &prio, &c), vec![0, 2, 3]);
        assert_eq!(pick(&[1, 2, 3], &[0], 3, &prio, &c), vec![2, 3], "1 clashes with running 0");
        assert_eq!(pick(&[1, 2, 3], &[0, 2], 2, &prio, &c), Vec::<usize>::new(), "no free slot");
        c.add_alone(3);
        assert_eq!(pick(&[2, 3], &[], 4, &prio, &c), vec![2], "a task without files runs alone");
        assert_eq!(pick(&[3], &[], 4, &prio, &c), vec![3]);
    }

    #[test]
    fn readiness_and_blocked_dependencies() {
        let p = plan(&[("a", &[]), ("b", &["a"]), ("c", &["b"]), ("d", &[])]);
        let g = Graph::new(&p);
        let mut states = vec![TaskState::Pending; 4];
        assert_eq!(newly_ready(&states, &g), vec![0, 3]);
        states[0] = TaskState::Skipped;
        assert_eq!(newly_ready(&states, &g), vec![1, 3], "a skipped dependency counts as done");
        states[1] = TaskState::Blocked { reason: "x".into() };
        assert_eq!(stopped_by_blocked(&states, &g), vec![(2, 1)]);
        states[1] = TaskState::Pending;
        states[0] = TaskState::Blocked { reason: "x".into() };
        assert_eq!(stopped_by_blocked(&states, &g), vec![(1, 0), (2, 1)], "the whole downstream at once");
        assert!(!newly_ready(&states, &g).contains(&2));
    }
}
