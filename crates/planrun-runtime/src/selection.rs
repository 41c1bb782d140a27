//! `planrun run --only SEL` and `--skip SEL`: which tasks this invocation may start. A selector
//! is a task id, a plan position (1 is the first task) or a range of positions (`3-5`); several
//! are separated by commas. An id wins over a reading as a number, so a task named `2` is that
//! task, not the second one.

use planrun_plan::Plan;

/// One selector, read.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pick {
    Task(usize),
    Range(usize, usize),
}

/// Reads one selector against `plan`; why not, when it names nothing.
fn pick(plan: &Plan, sel: &str) -> Result<Pick, String> {
    let sel = sel.trim();
    let n = plan.tasks.len();
    if let Some(i) = plan.tasks.iter().position(|t| t.id == sel) {
        return Ok(Pick::Task(i));
    }
    let position = |s: &str| -> Option<usize> { s.trim().parse::<usize>().ok().filter(|&p| (1..=n).contains(&p)) };
    if sel.chars().all(|c| c.is_ascii_digit()) && !sel.is_empty() {
        return position(sel)
            .map(|p| Pick::Task(p - 1))
            .ok_or_else(|| format!("there is no task at position {sel}: the plan has {n}"));
    }
    if let Some((a, b)) = sel.split_once('-') {
        if let (Some(a), Some(b)) = (position(a), position(b)) {
            if a <= b {
                return Ok(Pick::Range(a - 1, b - 1));
            }
            return Err(format!("the range `{sel}` runs backwards"));
        }
    }
    Err(format!("no task has the id `{sel}`, and it is not a position (1-{n}) or a range of them like `3-5`"))
}

/// The tasks to start in this invocation: those `only` names (all when it is empty), less
/// those `skip` names. `None` when neither is given.
pub(crate) fn resolve(plan: &Plan, only: &[String], skip: &[String]) -> Result<Option<Vec<bool>>, String> {
    let only: Vec<&str> = only.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).collect();
    let skip: Vec<&str> = skip.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).collect();
    if only.is_empty() && skip.is_empty() {
        return Ok(None);
    }
    let n = plan.tasks.len();
    let mark = |sels: &[&str], chosen: &mut Vec<bool>, to: bool| -> Result<(), String> {
        for sel in sels {
            match pick(plan, sel)? {
                Pick::Task(i) => {
                    if let Some(c) = chosen.get_mut(i) {
                        *c = to;
                    }
                }
                Pick::Range(a, b) => {
                    for c in chosen.iter_mut().take(b + 1).skip(a) {
                        *c = to;
                    }
                }
            }
        }
        Ok(())
    };
    let mut chosen = vec![only.is_empty(); n];
    mark(&only, &mut chosen, true)?;
    mark(&skip, &mut chosen, false)?;
    Ok(Some(chosen))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use planrun_plan::Task;

    fn plan(ids: &[&str]) -> Plan {
        Plan { tasks: ids.iter().map(|i| Task::new(*i, "t")).collect(), ..Plan::default() }
    }

    fn sel(p: &Plan, only: &[&str], skip: &[&str]) -> Result<Option<Vec<bool>>, String> {
        let v = |s: &[&str]| s.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        resolve(p, &v(only), &v(skip))
    }

    #[test]
    fn ids_positions_and_ranges() {
        let p = plan(&["a", "b", "c", "d", "e"]);
        assert_eq!(sel(&p, &[], &[]).unwrap(), None);
        assert_eq!(sel(&p, &["b", "4"], &[]).unwrap(), Some(vec![false, true, false, true, false]));
        assert_eq!(sel(&p, &["2-4"], &["c"]).unwrap(), Some(vec![false, true, false, true, false]));
        assert_eq!(sel(&p, &[], &["1", "5"]).unwrap(), Some(vec![false, true, true, true, false]));
        assert_eq!(sel(&p, &[" 3-3 "], &[]).unwrap(), Some(vec![false, false, true, false, false]));
    }

    #[test]
    fn an_id_wins_over_a_position_and_ids_may_hold_dashes() {
        let p = plan(&["ST-1", "2", "ST-3", "1-2"]);
        assert_eq!(sel(&p, &["2"], &[]).unwrap(), Some(vec![false, true, false, false]), "the task named 2");
        assert_eq!(sel(&p, &["ST-3"], &[]).unwrap(), Some(vec![false, false, true, false]));
        assert_eq!(sel(&p, &["1-2"], &[]).unwrap(), Some(vec![false, false, false, true]), "the task named 1-2");
        assert_eq!(sel(&p, &["1"], &[]).unwrap(), Some(vec![true, false, false, false]), "position 1");
    }

    #[test]
    fn what_names_nothing_is_an_error_that_says_why() {
        let p = plan(&["a", "b"]);
        assert!(sel(&p, &["zz"], &[]).unwrap_err().contains("no task has the id `zz`"));
        assert!(sel(&p, &["3"], &[]).unwrap_err().contains("no task at position 3: the plan has 2"));
        assert!(sel(&p, &["2-1"], &[]).unwrap_err().contains("runs backwards"));
        assert!(sel(&p, &["0"], &[]).is_err());
        assert!(sel(&p, &[], &["1-9"]).is_err());
    }
}
