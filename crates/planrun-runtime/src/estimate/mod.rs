//! The estimate before a run: how many tasks will run, how many at once, the stages each goes
//! through, and the tokens, dollars and wall time that should take, each as a point estimate
//! inside a range (low to high) with what it is based on: defaults scaled to each task's size, or,
//! once runs exist, this repository's own history of them (kept in the state directory by
//! `record`). "Unknown" where nothing says: a `command` agent's tokens and dollars, and its time
//! until a run here has measured it. Reads; never runs anything, and never fails a run: an
//! unreadable or odd history is ignored.
//!
//! The model. Each pending task goes through its steps: the reviewer's take (`--take`), the
//! implement step (× the expected attempts), then each stage of the run (verify only when the
//! task or the plan has commands; the reviews side by side, each by the reviewer). Per step, a
//! CLI agent is a session of turns, and every turn resends the whole context (the CLI's system
//! prompt and tools, the prompt, and what the session has read and written so far), so input
//! dominates and most of it is a prefix the provider has cached. The low end of the range is the
//! shortest session that does the job, as the real CLIs run it against the scripted model server;
//! the point that session as measured there, with a little room; the high end a real model's
//! longer and slower session; all grow with the task's size (`work`: its files, acceptance
//! criteria and text). Dollars come from the price table, wall time from per-step durations
//! combined with the dependency graph and the limit: max(critical path, total work / limit).
//! Where the history has figures for a role and agent (tokens and dollars per run, runs and
//! seconds per step), they replace the defaults, scaled to each task's size against the tasks
//! they were measured on: the point their mean, the range as wide as the runs differed (at least
//! ±25% for tokens and dollars, ±50% for time).

use super::steps::Agent;
use planrun_agents::PriceTable;
use planrun_engine::Stage;
use planrun_plan::Checked;
use planrun_plan::model::Plan;
use std::path::PathBuf;

mod history;
mod model;
mod pass;
mod report;
#[cfg(test)]
mod tests;

use history::read_history;
pub(crate) use history::record;
use model::Bound;
use pass::pass;
pub(crate) use report::Estimate;

/// What an estimate is made from.
#[derive(Debug)]
pub(crate) struct Inputs<'a> {
    pub(crate) plan: &'a Plan,
    pub(crate) checked: &'a Checked,
    /// For each task of the plan: whether it still has to run (not done or skipped).
    pub(crate) pending: Vec<bool>,
    /// For each task: the agent that implements it.
    pub(crate) agents: Vec<&'a Agent>,
    /// The reviewers' agent (also the take and the tester), if any.
    pub(crate) reviewer: Option<&'a Agent>,
    /// The stages every task goes through after implementing (verify is added per task that
    /// has commands, its own or the plan's).
    pub(crate) stages: &'a [Stage],
    /// Reviews per review stage (task, code).
    pub(crate) reviews: usize,
    /// The reviews run one after the other (`--review-order sequential`), not side by side.
    pub(crate) reviews_in_turn: bool,
    pub(crate) take: bool,
    /// How many tasks run at once.
    pub(crate) limit: usize,
    /// The machine's cores: the CLIs' own work, the checks and the tools the agents run share
    /// them, so a scripted model's run gains nothing from running more tasks at once than this.
    pub(crate) cores: usize,
    pub(crate) prices: &'a PriceTable,
    /// The history file in the state directory.
    pub(crate) history: PathBuf,
}

/// The estimate of a run: the point estimate, and a pass at each end of its range.
pub(crate) fn estimate(inputs: &Inputs<'_>) -> Estimate {
    let history = read_history(&inputs.history);
    let lo = pass(inputs, &history, Bound::Low);
    let hi = pass(inputs, &history, Bound::High);
    let mut est = pass(inputs, &history, Bound::Point);
    est.attempts_range = (lo.attempts, hi.attempts);
    est.tokens_range = (lo.usage.total(), hi.usage.total());
    est.cost_range = lo.cost_usd.zip(hi.cost_usd);
    est.wall_range = lo.wall.zip(hi.wall);
    est
}
