//! The barriers a plan declares (blueprint milestones, planpipe waves, a CCW plan's phases when
//! its execution model is phased): a milestone's tasks start once every task of the milestones
//! before it is done. They become dependencies the engine waits for (`Engine::add_deps`): each
//! task of a milestone on each task of the one before (which waits for the one before it).

use planrun_plan::Plan;

/// More edges than this and the barriers are not applied (a plan of thousands of tasks in a
/// few milestones; its stated dependencies still hold).
const MAX_EDGES: usize = 250_000;

/// The `(task, dependency)` edges of the plan's barriers, by plan index; none when fewer than
/// two milestones are named. Why not, when they contradict the plan (a task depending on one of
/// a later milestone) or are too many.
pub(crate) fn edges(plan: &Plan, deps: &[Vec<usize>]) -> Result<Vec<(usize, usize)>, String> {
    // Milestones in the order the plan first names them, with their tasks.
    let mut groups: Vec<(&str, Vec<usize>)> = Vec::new();
    let mut group_of: Vec<Option<usize>> = vec![None; plan.tasks.len()];
    for (i, t) in plan.tasks.iter().enumerate() {
        let Some(m) = t.milestone.as_deref().map(str::trim).filter(|m| !m.is_empty()) else { continue };
        let g = match groups.iter().position(|(name, _)| *name == m) {
            Some(g) => g,
            None => {
                groups.push((m, Vec::new()));
                groups.len() - 1
            }
        };
        if let Some((_, members)) = groups.get_mut(g) {
            members.push(i);
        }
        if let Some(slot) = group_of.get_mut(i) {
            *slot = Some(g);
        }
    }
    if groups.len() < 2 {
        return Ok(Vec::new());
    }
    for (i, ds) in deps.iter().enumerate() {
        for &d in ds {
            if let (Some(Some(gi)), Some(Some(gd))) = (group_of.get(i), group_of.get(d)) {
                if gd > gi {
                    let id = |k: usize| plan.tasks.get(k).map_or("?", |t| t.id.as_str());
                    let name = |g: usize| groups.get(g).map_or("?", |(n, _)| *n);
                    return Err(format!(
                        "task {} (\"{}\") depends on {} of a later milestone (\"{}\")",
                        id(i),
                        name(*gi),
                        id(d),
                        name(*gd)
                    ));
                }
            }
        }
    }
    let pairs: Vec<(&Vec<usize>, &Vec<usize>)> =
        groups.iter().zip(groups.iter().skip(1)).map(|(a, b)| (&a.1, &b.1)).collect();
    let count: usize = pairs.iter().map(|(a, b)| a.len() * b.len()).sum();
    if count > MAX_EDGES {
        return Err(format!("its {} milestones would need {count} waits between their tasks", groups.len()));
    }
    let mut out = Vec::with_capacity(count);
    for (before, after) in pairs {
        for &t in after {
            out.extend(before.iter().map(|&p| (t, p)));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use planrun_plan::Task;

    fn plan(milestones: &[Option<&str>]) -> Plan {
        let tasks = milestones
            .iter()
            .enumerate()
            .map(|(i, m)| Task { milestone: m.map(str::to_owned), ..Task::new(format!("t{i}"), "t") })
            .collect();
        Plan { tasks, ..Plan::default() }
    }

    #[test]
    fn each_milestone_waits_for_the_one_before() {
        let p = plan(&[Some("A"), Some("A"), Some("B"), None, Some("C")]);
        let e = edges(&p, &vec![Vec::new(); 5]).unwrap();
        assert_eq!(e, vec![(2, 0), (2, 1), (4, 2)], "a task without a milestone is free");
        assert!(edges(&plan(&[Some("A"), Some("A")]), &[vec![], vec![]]).unwrap().is_empty());
    }

    #[test]
    fn a_dependency_on_a_later_milestone_is_a_contradiction() {
        let p = plan(&[Some("A"), Some("B")]);
        let err = edges(&p, &[vec![1], vec![]]).unwrap_err();
        assert!(err.contains("task t0 (\"A\") depends on t1 of a later milestone (\"B\")"), "{err}");
    }
}
