//! The estimate before a run: how many tasks will run, how many at once, the stages each goes
//! through, and the tokens, dollars and wall time that should take, from the plan's size and
//! per-role figures, or, once runs exist, from this repository's own history of them (kept in
//! the state directory by `record`). Reads; never runs anything.

#![allow(dead_code)] // Until the estimate model lands.

use super::steps::Agent;
use planrun_agents::PriceTable;
use planrun_engine::Stage;
use planrun_plan::Checked;
use planrun_plan::model::Plan;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;

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
    pub(crate) take: bool,
    /// How many tasks run at once.
    pub(crate) limit: usize,
    pub(crate) prices: &'a PriceTable,
    /// The history file in the state directory.
    pub(crate) history: PathBuf,
}

/// An estimate of a run.
#[derive(Debug, Clone, Default)]
pub(crate) struct Estimate {
    /// Tasks still to run.
    pub(crate) tasks: usize,
    pub(crate) input_tokens: u64,
    pub(crate) output_tokens: u64,
    /// `None` when some agent's model has no price.
    pub(crate) cost_usd: Option<f64>,
    pub(crate) wall: Duration,
    /// `defaults` or `history`.
    pub(crate) source: &'static str,
}

impl Estimate {
    pub(crate) fn tokens(&self) -> u64 {
        self.input_tokens.saturating_add(self.output_tokens)
    }

    /// The `--json` form (also journaled with the run).
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "tasks": self.tasks,
            "tokens": {"input": self.input_tokens, "output": self.output_tokens},
            "cost_usd": self.cost_usd,
            "wall_ms": u64::try_from(self.wall.as_millis()).unwrap_or(u64::MAX),
            "source": self.source,
        })
    }

    /// The human lines.
    pub(crate) fn text(&self) -> String {
        let cost = self.cost_usd.map_or_else(|| "cost unknown".to_owned(), |c| format!("~${c:.2}"));
        format!(
            "estimate: {} task(s), ~{} tokens, {cost}, ~{} ({})",
            self.tasks,
            self.tokens(),
            super::steps::human(self.wall),
            self.source
        )
    }
}

/// The estimate of a run.
pub(crate) fn estimate(inputs: &Inputs<'_>) -> Estimate {
    let tasks = inputs.pending.iter().filter(|p| **p).count();
    Estimate { tasks, source: "defaults", ..Estimate::default() }
}

/// Adds what this run's steps used to the repository's history (read by later estimates).
pub(crate) fn record(_session: &super::session::Session, _history: &std::path::Path) {}
