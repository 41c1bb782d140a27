//! Planning ahead (`--pipeline`): a pending task whose dependencies are each done, skipped or in
//! review plans in a slot no ready task can use; it codes only once it is ready and its planning
//! ended. A plan is read-only and written in a worktree of its own, so it may go on beside a
//! task that runs alone. Not journaled: the runtime keeps the plans and says which exist.

use super::*;

impl Engine {
    /// Lets a pending task plan in a free slot while a task it depends on is in review
    /// (`Decision::Plan`); planning never takes a slot a ready task could use.
    pub fn set_pipeline(&mut self, on: bool) {
        self.pipeline = on;
    }

    /// Task `task` has its plan already (written by an earlier invocation).
    pub fn set_planned(&mut self, task: usize) {
        if let Some(p) = self.planned.get_mut(task) {
            *p = true;
        }
    }

    /// The tasks whose planning step runs now.
    pub fn planning(&self) -> &[usize] {
        &self.planning
    }

    /// Fills slots no ready task could take with planning steps of pending tasks whose
    /// dependencies are each done, skipped or in review (one at least in review).
    pub(super) fn dispatch_plans(&mut self, out: &mut Output) {
        if !self.pipeline || self.early.is_empty() {
            return;
        }
        // A ready task kept out only by the limit (not by a clash with what runs) waits for the
        // next free slot: planning never takes it.
        let waiting_ready = self.queue.iter().any(|&(_, t)| {
            self.is_selected(t)
                && !self.running.contains(&t)
                && !self.planning.contains(&t)
                && !self.running.iter().any(|&r| self.conflicts.clash(t, r))
        });
        let mut done_with = Vec::new();
        let mut picked = Vec::new();
        for &(key, task) in &self.early {
            if self.running.len() + self.planning.len() + picked.len() + usize::from(waiting_ready) >= self.limit {
                break;
            }
            let pending = self.states.get(task) == Some(&TaskState::Pending);
            if !pending || self.planned.get(task).copied().unwrap_or(true) || self.planning.contains(&task) {
                done_with.push((key, task));
                continue;
            }
            let deps = self.tasks.get(task).map(|t| t.deps.as_slice()).unwrap_or_default();
            let state = |d: usize| self.states.get(d);
            let fit = deps.iter().all(|&d| {
                state(d).is_some_and(|s| s.satisfies_dependents() || matches!(s, TaskState::InReview { .. }))
            }) && deps.iter().any(|&d| matches!(state(d), Some(TaskState::InReview { .. })));
            if fit && self.is_selected(task) {
                picked.push((key, task));
            }
        }
        for k in done_with {
            self.early.remove(&k);
        }
        for (key, task) in picked {
            self.early.remove(&(key, task));
            self.planning.push(task);
            out.decisions.push(Decision::Plan { task });
        }
    }
}
