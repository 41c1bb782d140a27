//! What the scheduler decides with: the default concurrency, each task's priority (its longest
//! remaining path to the end of the graph) and which tasks may not run at the same time. The
//! `Engine` picks among ready tasks with these. Pure functions over task indices; owns no state
//! and no I/O.

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

/// [`priorities`] with the plan's own priority as the second key: among tasks on equally long
/// chains, the one of higher `rank` (0–3, see `planrun_plan::Priority::rank`) starts first.
pub fn ranked_priorities(graph: &Graph, ranks: &[u32]) -> Vec<u32> {
    priorities(graph)
        .into_iter()
        .enumerate()
        .map(|(i, p)| p.saturating_mul(4).saturating_add(ranks.get(i).copied().unwrap_or(1).min(3)))
        .collect()
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
    fn critical_path_first() {
        // a → b → c is the longest chain; d and e are single tasks.
        let p = plan(&[("d", &[]), ("a", &[]), ("b", &["a"]), ("c", &["b"]), ("e", &[])]);
        let g = Graph::new(&p);
        assert_eq!(priorities(&g), vec![1, 3, 2, 1, 1]);
        // The plan's priority only orders tasks on chains of equal length: a `critical` single
        // task (rank 3) stays behind the head of the longest chain, and passes a `low` one.
        let ranked = ranked_priorities(&g, &[3, 1, 1, 1, 0]);
        assert!(ranked[1] > ranked[0] && ranked[0] > ranked[4] && ranked[0] > ranked[3]);
        assert_eq!(ranked_priorities(&g, &[]), priorities(&g).iter().map(|p| p * 4 + 1).collect::<Vec<_>>());
    }

    #[test]
    fn pairs_and_tasks_alone_clash() {
        let mut c = Conflicts::default();
        c.add_pair(1, 0);
        assert!(c.clash(0, 1) && c.clash(1, 0));
        assert!(!c.clash(0, 2) && !c.runs_alone(0));
        c.add_alone(3);
        assert!(c.runs_alone(3) && c.clash(3, 2) && c.clash(2, 3), "a task without files runs alone");
        assert!(!c.clash(3, 3));
    }
}
