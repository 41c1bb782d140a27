//! Tokens and dollars summed over a run's recorded agent steps, and how they read: the figures
//! `status`, `report`, `explain`, the run's summary and the budgets all count from.

use crate::session::{AgentRecord, Session};
use planrun_agents::Usage;

/// Tokens and dollars summed over steps.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Totals {
    pub(crate) usage: Usage,
    /// Dollars over the steps whose cost is known.
    pub(crate) cost_usd: f64,
    /// Agent steps, and how many of them had no known cost.
    pub(crate) steps: u64,
    pub(crate) unpriced: u64,
}

impl Totals {
    pub(crate) fn add(&mut self, r: &AgentRecord) {
        self.usage.add(&r.usage);
        self.steps += 1;
        match r.cost_usd {
            Some(c) => self.cost_usd += c,
            None => self.unpriced += 1,
        }
    }

    /// Over the steps of one task.
    pub(crate) fn of_task(s: &Session, id: &str) -> Self {
        let mut t = Totals::default();
        for r in s.steps.get(id).into_iter().flatten().filter_map(|r| r.agent.as_ref()) {
            t.add(r);
        }
        t
    }

    /// Over the whole run.
    pub(crate) fn of(s: &Session) -> Self {
        let mut t = Totals::default();
        for r in s.steps.values().flatten().filter_map(|r| r.agent.as_ref()) {
            t.add(r);
        }
        t
    }

    /// Tokens (all kinds) and the known dollars, for budgets.
    pub(crate) fn spend(&self) -> crate::budget::Spend {
        crate::budget::Spend { tokens: self.usage.total(), usd: self.cost_usd }
    }

    pub(crate) fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self.event()).unwrap_or(serde_json::Value::Null)
    }

    /// What the `finished` event says the run used.
    pub(crate) fn event(&self) -> crate::events::RunUsage {
        crate::events::RunUsage {
            input: self.usage.input,
            output: self.usage.output,
            cache_read: self.usage.cache_read,
            cache_write: self.usage.cache_write,
            tokens: self.usage.total(),
            cost_usd: self.cost_usd,
            agent_steps: self.steps,
            unpriced_steps: self.unpriced,
        }
    }

    /// `1,234 in / 56 out tokens (cache 0 read, 0 written), $0.0123 over 3 agent runs`, or
    /// `None` when no agent reported anything.
    pub(crate) fn line(&self) -> Option<String> {
        if self.steps == 0 {
            return None;
        }
        let cost = if self.unpriced == self.steps {
            "cost unknown".to_owned()
        } else if self.unpriced > 0 {
            format!("${:.4} (+ {} run(s) of unknown price)", self.cost_usd, self.unpriced)
        } else {
            format!("${:.4}", self.cost_usd)
        };
        Some(format!(
            "{}, {cost} over {} agent run{}",
            tokens(&self.usage),
            self.steps,
            if self.steps == 1 { "" } else { "s" }
        ))
    }
}

// A count with thousands separators.
pub(crate) use crate::events::thousands;

/// Tokens in one phrase: `1,234 in / 56 out tokens`, with cache figures when there are any.
pub(crate) fn tokens(u: &Usage) -> String {
    crate::events::Tokens::from(*u).text()
}

// Dollars in one phrase, saying where the figure came from.
pub(crate) use crate::events::dollars;
