//! What the dependency graph says before anything runs: the waves of tasks that can run
//! together, the critical path, and pairs of tasks that could run at the same time but declare
//! overlapping files. Works on indices into `plan.tasks`; reports, never decides.

use crate::globs::{self, Pattern};
use crate::model::{Plan, Status};
use rustc_hash::FxHashMap;
use std::collections::HashMap;

/// The graph of a plan, with unknown dependencies and cycles already set aside.
#[derive(Debug)]
pub struct Graph {
    /// For each task, the indices of the tasks it depends on (known ids only, no repeats).
    pub deps: Vec<Vec<usize>>,
    /// For each task, the indices of the tasks that depend on it.
    pub dependents: Vec<Vec<usize>>,
    /// Tasks in a dependency order; tasks on or behind a cycle are missing.
    pub topo: Vec<usize>,
    /// Strongly connected components with more than one task, or a task depending on itself.
    pub cycles: Vec<Vec<usize>>,
}

impl Graph {
    /// Builds the graph. The first task with a given id is the one dependencies point at.
    pub fn new(plan: &Plan) -> Self {
        let n = plan.tasks.len();
        let mut index: FxHashMap<&str, usize> = FxHashMap::with_capacity_and_hasher(n, Default::default());
        for (i, t) in plan.tasks.iter().enumerate() {
            index.entry(t.id.as_str()).or_insert(i);
        }
        let mut deps = vec![Vec::new(); n];
        let mut dependents = vec![Vec::new(); n];
        for (i, t) in plan.tasks.iter().enumerate() {
            for d in &t.depends_on {
                if let Some(&j) = index.get(d.as_str()) {
                    if let Some(list) = deps.get_mut(i) {
                        if !list.contains(&j) {
                            list.push(j);
                            if let Some(back) = dependents.get_mut(j) {
                                back.push(i);
                            }
                        }
                    }
                }
            }
        }
        let cycles = strongly_connected(&deps);
        let topo = topological_order(&deps, &dependents);
        Self { deps, dependents, topo, cycles }
    }
}

/// Kahn's algorithm in plan order (the lowest index first among ready tasks); tasks that never
/// become ready (cycles) are left out. `dependents` must be the reverse of `deps`.
pub fn topological_order(deps: &[Vec<usize>], dependents: &[Vec<usize>]) -> Vec<usize> {
    let mut missing: Vec<usize> = deps.iter().map(Vec::len).collect();
    let mut ready: std::collections::BTreeSet<usize> =
        missing.iter().enumerate().filter(|(_, m)| **m == 0).map(|(i, _)| i).collect();
    let mut order = Vec::with_capacity(deps.len());
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for &k in dependents.get(i).map_or(&[][..], Vec::as_slice) {
            if let Some(m) = missing.get_mut(k) {
                *m = m.saturating_sub(1);
                if *m == 0 {
                    ready.insert(k);
                }
            }
        }
    }
    order
}

/// Tarjan's algorithm, iterative so that a 10,000-task chain cannot overflow the stack.
/// Returns components that form cycles, each in dependency order along the cycle.
fn strongly_connected(deps: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = deps.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut next = 0;
    let mut out = Vec::new();
    for root in 0..n {
        if index.get(root) != Some(&usize::MAX) {
            continue;
        }
        let mut work: Vec<(usize, usize)> = vec![(root, 0)];
        while let Some((v, child)) = work.pop() {
            if child == 0 {
                set(&mut index, v, next);
                set(&mut low, v, next);
                next += 1;
                stack.push(v);
                set(&mut on_stack, v, true);
            }
            let edges = deps.get(v).map_or(&[][..], Vec::as_slice);
            if let Some(&w) = edges.get(child) {
                work.push((v, child + 1));
                if get(&index, w) == usize::MAX {
                    work.push((w, 0));
                } else if get(&on_stack, w) {
                    let m = get(&low, v).min(get(&index, w));
                    set(&mut low, v, m);
                }
                continue;
            }
            // All edges of v are done: fold its low-link into its parent, then maybe pop a component.
            if let Some(&(parent, _)) = work.last() {
                let m = get(&low, parent).min(get(&low, v));
                set(&mut low, parent, m);
            }
            if get(&low, v) == get(&index, v) {
                let mut comp = Vec::new();
                while let Some(w) = stack.pop() {
                    set(&mut on_stack, w, false);
                    comp.push(w);
                    if w == v {
                        break;
                    }
                }
                let self_loop = comp.len() == 1 && deps.get(v).is_some_and(|d| d.contains(&v));
                if comp.len() > 1 || self_loop {
                    out.push(cycle_in(&comp, deps));
                }
            }
        }
    }
    out.sort_by_key(|c| c.iter().copied().min());
    out
}

fn get<T: Copy + Default>(v: &[T], i: usize) -> T {
    v.get(i).copied().unwrap_or_default()
}

fn set<T>(v: &mut [T], i: usize, value: T) {
    if let Some(slot) = v.get_mut(i) {
        *slot = value;
    }
}

/// One concrete cycle through a strongly connected component, starting at its first task in
/// plan order and following dependencies, so it can be printed as `a → b → c → a`.
fn cycle_in(comp: &[usize], deps: &[Vec<usize>]) -> Vec<usize> {
    let members: std::collections::HashSet<usize> = comp.iter().copied().collect();
    let Some(&start) = comp.iter().min() else {
        return Vec::new();
    };
    // Breadth-first search from start back to start inside the component.
    let mut prev: HashMap<usize, usize> = HashMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for &w in deps.get(v).map_or(&[][..], Vec::as_slice) {
            if !members.contains(&w) {
                continue;
            }
            if w == start {
                let mut path = vec![v];
                let mut cur = v;
                while cur != start {
                    match prev.get(&cur) {
                        Some(&p) => {
                            path.push(p);
                            cur = p;
                        }
                        None => break,
                    }
                }
                path.reverse();
                return path;
            }
            if w != start && !prev.contains_key(&w) {
                prev.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    vec![start]
}

/// Two tasks that may run at the same time and may both change the same files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub a: usize,
    pub b: usize,
    /// The first pair of patterns found to overlap (from `a`, from `b`).
    pub patterns: (String, String),
}

/// The dependency waves, critical path and file conflicts of the tasks still to run.
#[derive(Debug, Default)]
pub struct Analysis {
    /// Tasks still to run, grouped by how many dependency steps precede them. Done tasks count
    /// as finished; tasks on a cycle or behind one are not in any wave.
    pub waves: Vec<Vec<usize>>,
    /// The longest chain of dependent tasks still to run (ties: earliest in the plan).
    pub critical_path: Vec<usize>,
    /// Pending tasks that may run at the same time and declare overlapping files.
    pub conflicts: Vec<Conflict>,
    /// Pending tasks that declare no files yet may run beside other tasks.
    pub unscoped: Vec<usize>,
    /// Which pending tasks' files overlap, ordered by their dependencies or not: the scheduler
    /// keeps these apart too, since skipping a task between them removes their order.
    pub overlapping: Overlaps,
    /// Every pending task that declares no files (it runs alone), ordered with the rest or not.
    pub no_files: Vec<usize>,
}

impl Analysis {
    pub fn new(plan: &Plan, graph: &Graph) -> Self {
        Self::with_patterns(plan, graph, &parse_patterns(plan))
    }

    /// Like [`Analysis::new`], with every task's file patterns already parsed (one entry per
    /// `files` entry; `None` for patterns that do not parse, which the analysis skips).
    pub fn with_patterns(plan: &Plan, graph: &Graph, patterns: &[Vec<Option<Pattern>>]) -> Self {
        let pending = |i: usize| plan.tasks.get(i).is_some_and(|t| t.status == Status::Pending);
        // Waves: depth among pending tasks; a done dependency is already satisfied.
        let n = plan.tasks.len();
        let mut depth = vec![0usize; n];
        let mut best_prev: Vec<Option<usize>> = vec![None; n];
        let mut waves: Vec<Vec<usize>> = Vec::new();
        for &i in &graph.topo {
            if !pending(i) {
                continue;
            }
            let mut d = 0;
            let mut prev = None;
            for &j in graph.deps.get(i).map_or(&[][..], Vec::as_slice) {
                if pending(j) {
                    let dj = get(&depth, j) + 1;
                    if dj > d || (dj == d && prev.is_some_and(|p| j < p)) {
                        d = dj;
                        prev = Some(j);
                    }
                }
            }
            set(&mut depth, i, d);
            set(&mut best_prev, i, prev);
            if waves.len() <= d {
                waves.resize_with(d + 1, Vec::new);
            }
            if let Some(w) = waves.get_mut(d) {
                w.push(i);
            }
        }
        for w in &mut waves {
            w.sort_unstable();
        }
        let critical_path = waves
            .last()
            .and_then(|w| w.first().copied())
            .map(|mut end| {
                let mut path = vec![end];
                while let Some(p) = best_prev.get(end).copied().flatten() {
                    path.push(p);
                    end = p;
                }
                path.reverse();
                path
            })
            .unwrap_or_default();

        let scheduled: Vec<usize> = waves.iter().flatten().copied().collect();
        let mut analysis = Self { waves, critical_path, ..Self::default() };
        analysis.find_conflicts(plan, graph, &scheduled, patterns);
        analysis
    }

    fn find_conflicts(&mut self, plan: &Plan, graph: &Graph, scheduled: &[usize], parsed: &[Vec<Option<Pattern>>]) {
        if scheduled.len() < 2 {
            return;
        }
        // Distinct patterns first: a thousand tasks naming `src/lib.rs` share one pattern, so
        // the work below grows with the patterns, not with the pairs of tasks.
        let mut distinct: Vec<(&str, &Pattern)> = Vec::new();
        let mut index: FxHashMap<&str, u32> = FxHashMap::default();
        let mut of_task: Vec<Vec<u32>> = vec![Vec::new(); plan.tasks.len()];
        let mut members: Vec<Vec<usize>> = Vec::new();
        let mut unscoped = Vec::new();
        for &t in scheduled {
            let Some(task) = plan.tasks.get(t) else {
                continue;
            };
            let mut any = false;
            let task_patterns = parsed.get(t).map_or(&[][..], Vec::as_slice);
            for (f, p) in task.files.iter().zip(task_patterns) {
                let Some(p) = p else { continue };
                any = true;
                let id = *index.entry(f.as_str()).or_insert_with(|| {
                    distinct.push((f.as_str(), p));
                    members.push(Vec::new());
                    u32::try_from(distinct.len() - 1).unwrap_or(u32::MAX)
                });
                if let Some(list) = of_task.get_mut(t) {
                    if !list.contains(&id) {
                        list.push(id);
                        if let Some(m) = members.get_mut(id as usize) {
                            m.push(t);
                        }
                    }
                }
            }
            // A task whose patterns are all invalid has errors of its own; "no files" would mislead.
            if !any && task.files.is_empty() {
                unscoped.push(t);
            }
        }
        // Index every distinct pattern by its literal leading directories: two patterns can only
        // match a common path if one's literal prefix starts the other's.
        let mut by_prefix: FxHashMap<&[String], Vec<usize>> = FxHashMap::default();
        for (k, (_, p)) in distinct.iter().enumerate() {
            by_prefix.entry(p.literal_prefix()).or_default().push(k);
        }
        let mut pattern_pairs: Vec<(u32, u32)> = Vec::new();
        for (k, (_, p)) in distinct.iter().enumerate() {
            let prefix = p.literal_prefix();
            for len in 0..=prefix.len() {
                let Some(others) = prefix.get(..len).and_then(|key| by_prefix.get(key)) else {
                    continue;
                };
                for &o in others {
                    // Same-prefix pairs are seen from both sides; look at each once.
                    if o == k || (len == prefix.len() && o < k) {
                        continue;
                    }
                    if distinct.get(o).is_some_and(|(_, op)| globs::overlaps(p, op)) {
                        let (a, b) = (k.min(o), k.max(o));
                        pattern_pairs
                            .push((u32::try_from(a).unwrap_or(u32::MAX), u32::try_from(b).unwrap_or(u32::MAX)));
                    }
                }
            }
        }
        pattern_pairs.sort_unstable();
        pattern_pairs.dedup();
        self.overlapping = Overlaps { of_task, pattern_pairs: pattern_pairs.iter().copied().collect() };
        self.no_files.clone_from(&unscoped);

        // Tasks that share a pattern, or hold two patterns that overlap.
        let mut involved: Vec<usize> = members.iter().filter(|m| m.len() > 1).flatten().copied().collect();
        for &(a, b) in &pattern_pairs {
            for p in [a, b] {
                involved.extend(members.get(p as usize).map_or(&[][..], Vec::as_slice));
            }
        }
        involved.sort_unstable();
        involved.dedup();
        if involved.is_empty() && unscoped.is_empty() {
            return;
        }
        let n = plan.tasks.len();
        // Only pairs to settle: when few tasks are in them, walk up from each of those instead
        // of building the n×n ancestor and descendant bitsets (2 × 12.5 MB and a third of
        // `check` for 10,000 tasks, to answer a few hundred questions).
        let order: Box<dyn Fn(usize, usize) -> bool> = if unscoped.is_empty() && involved.len() <= n.div_ceil(64) {
            let walks = Walks::new(graph, &involved, n);
            Box::new(move |a, b| walks.ordered(a, b))
        } else {
            let reach = Reach::new(n, graph);
            if !unscoped.is_empty() {
                let mut mask = vec![0u64; reach.words];
                for &t in scheduled {
                    set_bit(&mut mask, 0, 0, t);
                }
                let total = scheduled.len();
                self.unscoped = unscoped.iter().copied().filter(|&t| reach.related(t, &mask) + 1 < total).collect();
            }
            Box::new(move |a, b| reach.ordered(a, b))
        };
        // The conflicts: pairs of tasks on one pattern, or on two that overlap, that nothing
        // orders. Each pair keeps the first pair of its patterns, in the tasks' file order.
        let mut found: FxHashMap<(usize, usize), (usize, usize, String, String)> = FxHashMap::default();
        let file_pos = |t: usize, p: u32| self.overlapping.position(t, p);
        let mut consider = |a: usize, pa: u32, b: usize, pb: u32| {
            if a == b {
                return;
            }
            let ((a, pa), (b, pb)) = if a < b { ((a, pa), (b, pb)) } else { ((b, pb), (a, pa)) };
            let rank = (file_pos(a, pa), file_pos(b, pb));
            if found.get(&(a, b)).is_some_and(|f| (f.0, f.1) <= rank) || order(a, b) {
                return;
            }
            let name = |p: u32| distinct.get(p as usize).map_or("", |d| d.0).to_owned();
            found.insert((a, b), (rank.0, rank.1, name(pa), name(pb)));
        };
        // A group that dependencies put in one line (each task after the one before it, in
        // dependency order) holds no conflict: ordering is transitive.
        let mut topo_pos = vec![usize::MAX; n];
        for (k, &t) in graph.topo.iter().enumerate() {
            set(&mut topo_pos, t, k);
        }
        for (p, m) in members.iter_mut().enumerate() {
            let p = u32::try_from(p).unwrap_or(u32::MAX);
            m.sort_by_key(|&t| get(&topo_pos, t));
            if m.windows(2).all(|w| matches!(w, [a, b] if order(*a, *b))) {
                continue;
            }
            for (i, &a) in m.iter().enumerate() {
                for &b in m.get(i + 1..).unwrap_or_default() {
                    consider(a, p, b, p);
                }
            }
        }
        for &(p, q) in &pattern_pairs {
            for &a in members.get(p as usize).map_or(&[][..], Vec::as_slice) {
                for &b in members.get(q as usize).map_or(&[][..], Vec::as_slice) {
                    consider(a, p, b, q);
                }
            }
        }
        let mut conflicts: Vec<Conflict> =
            found.into_iter().map(|((a, b), (_, _, pa, pb))| Conflict { a, b, patterns: (pa, pb) }).collect();
        conflicts.sort_unstable_by_key(|c| (c.a, c.b));
        self.conflicts = conflicts;
    }
}

/// Which pending tasks declare overlapping files, kept as the distinct patterns of each task and
/// the pairs of distinct patterns that overlap: its size grows with the tasks and their patterns,
/// not with the pairs of tasks (a thousand tasks on one file are a thousand entries, not half a
/// million pairs).
#[derive(Debug, Default, Clone)]
pub struct Overlaps {
    /// For each task, the distinct patterns it declares, in its file order (empty for tasks not
    /// to run).
    of_task: Vec<Vec<u32>>,
    /// Pairs of distinct patterns (lower index first) that can match a common path.
    pattern_pairs: rustc_hash::FxHashSet<(u32, u32)>,
}

impl Overlaps {
    /// Whether two different tasks declare files that overlap, ordered by their dependencies
    /// or not.
    pub fn overlap(&self, a: usize, b: usize) -> bool {
        if a == b {
            return false;
        }
        let of = |t: usize| self.of_task.get(t).map_or(&[][..], Vec::as_slice);
        of(a).iter().any(|&p| of(b).iter().any(|&q| p == q || self.pattern_pairs.contains(&(p.min(q), p.max(q)))))
    }

    /// Every overlapping pair of tasks (lower index first), in order. Grows with the square of
    /// the tasks sharing a file: for tests and small plans.
    pub fn pairs(&self) -> Vec<(usize, usize)> {
        let n = self.of_task.len();
        (0..n).flat_map(|a| (a + 1..n).map(move |b| (a, b))).filter(|&(a, b)| self.overlap(a, b)).collect()
    }

    /// Where pattern `p` stands among task `t`'s distinct patterns.
    fn position(&self, t: usize, p: u32) -> usize {
        self.of_task.get(t).and_then(|ps| ps.iter().position(|&q| q == p)).unwrap_or(usize::MAX)
    }
}

/// The ancestor sets of a few tasks, each found by a walk up its dependencies.
struct Walks {
    anc: HashMap<usize, Vec<u64>>,
}

impl Walks {
    fn new(graph: &Graph, tasks: &[usize], n: usize) -> Self {
        let words = n.div_ceil(64);
        let anc = tasks
            .iter()
            .map(|&t| {
                let mut seen = vec![0u64; words];
                let mut stack: Vec<usize> = graph.deps.get(t).cloned().unwrap_or_default();
                while let Some(j) = stack.pop() {
                    let Some(w) = seen.get_mut(j / 64) else {
                        continue;
                    };
                    let bit = 1u64 << (j % 64);
                    if *w & bit != 0 {
                        continue;
                    }
                    *w |= bit;
                    stack.extend(graph.deps.get(j).map_or(&[][..], Vec::as_slice));
                }
                (t, seen)
            })
            .collect();
        Self { anc }
    }

    /// True when one task must finish before the other starts (both must be among `tasks`).
    fn ordered(&self, a: usize, b: usize) -> bool {
        let has = |t: usize, other: usize| {
            self.anc.get(&t).and_then(|row| row.get(other / 64)).is_some_and(|w| w & (1 << (other % 64)) != 0)
        };
        has(a, b) || has(b, a)
    }
}

/// Parses every file pattern of every task (`None` where a pattern does not parse).
pub fn parse_patterns(plan: &Plan) -> Vec<Vec<Option<Pattern>>> {
    plan.tasks.iter().map(|t| t.files.iter().map(|f| Pattern::parse(f).ok()).collect()).collect()
}

/// Ancestor and descendant sets as bitsets, built only when a conflict question needs them.
struct Reach {
    words: usize,
    anc: Vec<u64>,
    desc: Vec<u64>,
}

impl Reach {
    fn new(n: usize, graph: &Graph) -> Self {
        let words = n.div_ceil(64);
        let mut anc = vec![0u64; n * words];
        let mut desc = vec![0u64; n * words];
        for &i in &graph.topo {
            for &j in graph.deps.get(i).map_or(&[][..], Vec::as_slice) {
                or_row(&mut anc, words, i, j);
                set_bit(&mut anc, words, i, j);
            }
        }
        for &i in graph.topo.iter().rev() {
            for &k in graph.dependents.get(i).map_or(&[][..], Vec::as_slice) {
                or_row(&mut desc, words, i, k);
                set_bit(&mut desc, words, i, k);
            }
        }
        Self { words, anc, desc }
    }

    fn bit(rows: &[u64], words: usize, row: usize, bit: usize) -> bool {
        rows.get(row * words + bit / 64).is_some_and(|w| w & (1 << (bit % 64)) != 0)
    }

    /// True when one task must finish before the other starts.
    fn ordered(&self, a: usize, b: usize) -> bool {
        Self::bit(&self.anc, self.words, a, b) || Self::bit(&self.anc, self.words, b, a)
    }

    /// How many tasks in `mask` are ancestors or descendants of `t`.
    fn related(&self, t: usize, mask: &[u64]) -> usize {
        let row = |rows: &[u64]| -> usize {
            rows.get(t * self.words..(t + 1) * self.words)
                .map_or(0, |r| r.iter().zip(mask).map(|(w, m)| (w & m).count_ones() as usize).sum())
        };
        row(&self.anc) + row(&self.desc)
    }
}

/// rows[dst] |= rows[src]
fn or_row(rows: &mut [u64], words: usize, dst: usize, src: usize) {
    if dst == src {
        return;
    }
    for w in 0..words {
        let v = rows.get(src * words + w).copied().unwrap_or(0);
        if let Some(slot) = rows.get_mut(dst * words + w) {
            *slot |= v;
        }
    }
}

fn set_bit(rows: &mut [u64], words: usize, row: usize, bit: usize) {
    if let Some(w) = rows.get_mut(row * words + bit / 64) {
        *w |= 1 << (bit % 64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Task;
    use proptest::prelude::*;

    /// A plan of `n` tasks where task `i` depends on the earlier tasks listed in `edges`.
    fn plan(n: usize, edges: &[(usize, usize)]) -> Plan {
        let mut plan = Plan::default();
        for i in 0..n {
            let mut t = Task::new(format!("t{i}"), "x");
            t.depends_on =
                edges.iter().filter(|&&(a, b)| a % n == i && b % n < i).map(|&(_, b)| format!("t{}", b % n)).collect();
            plan.tasks.push(t);
        }
        plan
    }

    proptest! {
        /// The walks answer "must one finish before the other?" exactly as the full closure.
        #[test]
        fn walks_agree_with_the_full_closure(
            n in 1usize..150,
            edges in prop::collection::vec((0usize..150, 0usize..150), 0..300),
        ) {
            let plan = plan(n, &edges);
            let graph = Graph::new(&plan);
            let all: Vec<usize> = (0..n).collect();
            let walks = Walks::new(&graph, &all, n);
            let reach = Reach::new(n, &graph);
            for a in 0..n {
                for b in 0..n {
                    prop_assert_eq!(walks.ordered(a, b), reach.ordered(a, b), "{} {}", a, b);
                }
            }
        }
    }

    #[test]
    fn conflicts_skip_ordered_pairs() {
        // Tasks 0 and 1 share a file and may run together; 2 shares it too but waits for 0.
        // With 3 tasks the full closure answers; with 300 (the rest on files of their own),
        // the walks from the three tasks involved.
        for n in [3, 300] {
            let mut plan = plan(n, &[(2, 0)]);
            for (i, t) in plan.tasks.iter_mut().enumerate() {
                t.files = vec![if i < 3 { "Cargo.toml".to_owned() } else { format!("src/m{i}/**") }];
            }
            let graph = Graph::new(&plan);
            let analysis = Analysis::new(&plan, &graph);
            let pairs: Vec<(usize, usize)> = analysis.conflicts.iter().map(|c| (c.a, c.b)).collect();
            assert_eq!(pairs, vec![(0, 1), (1, 2)], "{n} tasks");
            // The scheduler still keeps 0 and 2 apart: skipping a task between them would
            // remove their order.
            assert_eq!(analysis.overlapping.pairs(), vec![(0, 1), (0, 2), (1, 2)], "{n} tasks");
        }
    }
}
