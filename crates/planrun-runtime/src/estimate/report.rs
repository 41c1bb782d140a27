//! The estimate as a result (per role and task, the point and its range) and its renderings:
//! the one-line brief, the text `planrun estimate` prints and the JSON report.

use super::model::{ms, short};
use crate::events::{EstimateReport, EstimateRole, EstimateTask, EstimateTokens};
use planrun_agents::Usage;
use serde_json::Value;
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// The estimate.
// ---------------------------------------------------------------------------------------------

/// One role, run by one agent, over the pending tasks.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RoleEstimate {
    pub(crate) role: &'static str,
    /// The agent (`planrun` for the stages planrun runs itself).
    pub(crate) agent: String,
    pub(crate) model: Option<String>,
    /// Whether the model is the CLI's default (assumed or seen in the history).
    pub(crate) default_model: bool,
    /// Steps over all pending tasks (a review step holds every review of one attempt).
    pub(crate) steps: f64,
    /// Agent runs.
    pub(crate) runs: f64,
    /// `None` when the agent reports no tokens (a `command` agent), and for planrun's stages.
    pub(crate) usage: Option<Usage>,
    /// `None` when the tokens or the model's price are unknown.
    pub(crate) cost_usd: Option<f64>,
    /// Time spent in this role, summed over tasks; `None` when unknown (a `command` agent with
    /// no history).
    pub(crate) work: Option<Duration>,
    /// `defaults` or `history`.
    pub(crate) source: &'static str,
}

/// One pending task.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TaskEstimate {
    pub(crate) id: String,
    /// Its size in units of about one file's work (files, criteria, text).
    pub(crate) work: f64,
    pub(crate) usage: Option<Usage>,
    pub(crate) cost_usd: Option<f64>,
    /// Its steps one after another; `None` when some step's time is unknown.
    pub(crate) time: Option<Duration>,
}

/// An estimate of a run: each figure a point estimate inside a range, low to high.
#[derive(Debug, Clone, Default)]
pub(crate) struct Estimate {
    /// Tasks still to run.
    pub(crate) tasks: usize,
    /// How many run at once.
    pub(crate) jobs: usize,
    /// The slots the point's work is spread over: `jobs`, or the machine's cores when fewer and
    /// the time comes from the defaults.
    pub(crate) slots: usize,
    /// The stages, in order: the take (with `--take`), implement, then the run's stages, verify
    /// among them when some task has commands.
    pub(crate) stages: Vec<&'static str>,
    /// Pending tasks with verify commands (their own or the plan's).
    pub(crate) verify_tasks: usize,
    pub(crate) reviews: usize,
    /// The reviews run one after the other.
    pub(crate) reviews_in_turn: bool,
    /// Implement attempts per task: the point and the range.
    pub(crate) attempts: f64,
    pub(crate) attempts_range: (f64, f64),
    /// The tokens of the agents that report them (`input` is input not read from a cache), at
    /// the point, and the range of their total.
    pub(crate) usage: Usage,
    pub(crate) tokens_range: (u64, u64),
    /// Whether some agent reports tokens.
    pub(crate) tokens_known: bool,
    /// The roles whose agent reports no tokens: `implement (command)`.
    pub(crate) tokens_unknown: Vec<String>,
    /// `None` when some agent's cost is unknown (no price for its model, or a `command` agent).
    pub(crate) cost_usd: Option<f64>,
    pub(crate) cost_range: Option<(f64, f64)>,
    /// Dollars over the parts whose cost is known (the point).
    pub(crate) priced_usd: f64,
    /// Why the cost is unknown, one phrase each.
    pub(crate) unpriced: Vec<String>,
    /// `None` when some step's time is unknown (`time_unknown` says which).
    pub(crate) wall: Option<Duration>,
    pub(crate) wall_range: Option<(Duration, Duration)>,
    /// The roles whose time nothing says: `implement (command)`.
    pub(crate) time_unknown: Vec<String>,
    pub(crate) critical_path: Option<Duration>,
    /// All steps of all tasks one after another.
    pub(crate) work: Option<Duration>,
    /// `defaults`, `history` or `mixed`.
    pub(crate) source: &'static str,
    /// Runs the history held.
    pub(crate) history_runs: usize,
    /// The roles the history had figures for (`implement (claude)`), when mixed.
    pub(crate) history_roles: Vec<String>,
    pub(crate) per_task: Vec<TaskEstimate>,
    pub(crate) per_role: Vec<RoleEstimate>,
}

/// `a` alone when both ends read the same, else `a–b`.
pub(super) fn span(lo: String, hi: String) -> String {
    if lo == hi { lo } else { format!("{lo}–{hi}") }
}

impl Estimate {
    /// The point estimate's total tokens.
    #[cfg(test)]
    pub(super) fn tokens(&self) -> u64 {
        self.usage.total()
    }

    /// What the estimate is based on, one line.
    pub(crate) fn basis(&self) -> String {
        let runs = |n: usize| format!("{n} run{}", if n == 1 { "" } else { "s" });
        match self.source {
            "history" => format!(
                "this repository's history of {}, scaled to each task's size (files, criteria, text)",
                runs(self.history_runs)
            ),
            "mixed" => format!(
                "this repository's history of {} for {}, defaults for the rest",
                runs(self.history_runs),
                self.history_roles.join(", ")
            ),
            _ => "defaults, scaled to each task's files, criteria and text: the point is the real CLIs' \
                  sessions as measured with a scripted model that answers at once; a real model takes more \
                  and slower turns, up to the high end; each finished run adds to the history the next \
                  estimate uses"
                .to_owned(),
        }
    }

    /// The estimate in a few words, for the progress line: `~$0.60 ($0.40–$2.10)`,
    /// `~1.3M tokens (1.1M–4.3M)`, or `unknown`.
    pub(crate) fn brief(&self) -> String {
        match (self.cost_range, self.tokens_known) {
            (Some((lo, hi)), _) => format!(
                "~${:.2} ({})",
                self.cost_usd.unwrap_or_default(),
                span(format!("${lo:.2}"), format!("${hi:.2}"))
            ),
            (None, true) => format!(
                "~{} tokens ({})",
                short(self.usage.total() as f64),
                span(short(self.tokens_range.0 as f64), short(self.tokens_range.1 as f64))
            ),
            (None, false) => "unknown".to_owned(),
        }
    }

    /// The `--json` form (also journaled with the run). Every figure is the point estimate, with
    /// its range beside it; `null` when unknown.
    pub(crate) fn to_json(&self) -> Value {
        serde_json::to_value(self.report()).unwrap_or(Value::Null)
    }

    /// [`Estimate::to_json`] without the per-task list: what the run record keeps (read by
    /// every invocation; for a plan of 10,000 tasks that list is most of a megabyte, and the
    /// `estimate` event shown before the run has it).
    pub(crate) fn summary_json(&self) -> Value {
        let mut v = serde_json::to_value(self.report_with(false)).unwrap_or(Value::Null);
        if let Some(o) = v.as_object_mut() {
            o.remove("per_task");
        }
        v
    }

    /// The typed form of [`Estimate::to_json`]: what the `estimate` event of a run carries.
    pub(crate) fn report(&self) -> EstimateReport {
        self.report_with(true)
    }

    fn report_with(&self, per_task: bool) -> EstimateReport {
        let tokens = |u: &Usage| EstimateTokens {
            input: u.input,
            output: u.output,
            cache_read: u.cache_read,
            cache_write: u.cache_write,
            total: u.total(),
            low: None,
            high: None,
        };
        let round = |x: f64| (x * 100.0).round() / 100.0;
        let all =
            EstimateTokens { low: Some(self.tokens_range.0), high: Some(self.tokens_range.1), ..tokens(&self.usage) };
        EstimateReport {
            tasks: self.tasks,
            jobs: self.jobs,
            slots: self.slots,
            stages: self.stages.iter().map(|s| (*s).to_owned()).collect(),
            verify_tasks: self.verify_tasks,
            reviews: self.reviews,
            attempts: round(self.attempts),
            attempts_range: [round(self.attempts_range.0), round(self.attempts_range.1)],
            source: self.source.to_owned(),
            history_runs: self.history_runs,
            basis: self.basis(),
            tokens: self.tokens_known.then_some(all),
            tokens_unknown: self.tokens_unknown.clone(),
            cost_usd: self.cost_usd,
            cost_usd_range: self.cost_range.map(|(lo, hi)| [lo, hi]),
            priced_usd: self.priced_usd,
            unpriced: self.unpriced.clone(),
            wall_ms: self.wall.map(ms),
            wall_ms_range: self.wall_range.map(|(lo, hi)| [ms(lo), ms(hi)]),
            time_unknown: self.time_unknown.clone(),
            critical_path_ms: self.critical_path.map(ms),
            work_ms: self.work.map(ms),
            per_task: self
                .per_task
                .iter()
                .take(if per_task { usize::MAX } else { 0 })
                .map(|t| EstimateTask {
                    id: t.id.clone(),
                    work: round(t.work),
                    tokens: t.usage.as_ref().map(Usage::total),
                    cost_usd: t.cost_usd,
                    time_ms: t.time.map(ms),
                })
                .collect(),
            per_role: self
                .per_role
                .iter()
                .map(|r| EstimateRole {
                    role: r.role.to_owned(),
                    agent: r.agent.clone(),
                    model: r.model.clone(),
                    steps: round(r.steps),
                    runs: round(r.runs),
                    tokens: r.usage.as_ref().map(tokens),
                    cost_usd: r.cost_usd,
                    work_ms: r.work.map(ms),
                    source: r.source.to_owned(),
                })
                .collect(),
        }
    }

    /// The human lines.
    pub(crate) fn text(&self) -> String {
        let human = crate::steps::human;
        let from = format!("\n  from    {}", self.basis());
        if self.tasks == 0 {
            return format!("estimate: no task left to run{from}");
        }
        let mut stages: Vec<String> = Vec::new();
        // With reviews, the tester runs beside the reviewers.
        let beside = self.stages.contains(&"test") && self.stages.contains(&"review");
        for s in &self.stages {
            stages.push(match *s {
                "test" if beside => continue,
                "review" if beside && self.reviews_in_turn => {
                    format!("review ({} in turn, beside the tester)", self.reviews)
                }
                "review" if beside => format!("review ({} side by side, and the tester)", self.reviews),
                "review" if self.reviews_in_turn && self.reviews > 1 => format!("review ({} in turn)", self.reviews),
                "verify" if self.verify_tasks < self.tasks => {
                    format!("verify ({} of {} tasks)", self.verify_tasks, self.tasks)
                }
                "review" => format!("review ({} side by side)", self.reviews),
                other => other.to_owned(),
            });
        }
        let mut out = format!(
            "estimate: {} task(s), {} at a time; each goes through {}",
            self.tasks,
            self.jobs,
            stages.join(" → ")
        );
        let attempts = format!(
            "{} attempt(s) per task",
            span(format!("{:.1}", self.attempts_range.0), format!("{:.1}", self.attempts_range.1))
        );
        if self.tokens_known {
            let u = &self.usage;
            let parts: Vec<String> = [
                (u.cache_read, "read from cache"),
                (u.cache_write, "written to it"),
                (u.input, "other input"),
                (u.output, "output"),
            ]
            .into_iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!("{} {what}", short(n as f64)))
            .collect();
            out.push_str(&format!(
                "\n  tokens  ~{} ({}); {}; {attempts}",
                short(u.total() as f64),
                span(short(self.tokens_range.0 as f64), short(self.tokens_range.1 as f64)),
                parts.join(", ")
            ));
            if !self.tokens_unknown.is_empty() {
                out.push_str(&format!(
                    "; not counted: {} (a command agent reports no tokens)",
                    self.tokens_unknown.join(", ")
                ));
            }
        } else if self.tokens_unknown.is_empty() {
            out.push_str(&format!("\n  tokens  none: no agent step left, {attempts}"));
        } else {
            out.push_str(&format!(
                "\n  tokens  unknown: {} (a command agent reports no tokens), {attempts}",
                self.tokens_unknown.join(", ")
            ));
        }
        let models: Vec<String> = {
            let mut seen: Vec<String> = Vec::new();
            for r in self.per_role.iter().filter(|r| r.usage.is_some()) {
                let m = match (&r.model, r.default_model) {
                    (Some(m), true) => format!("{}: {m}, its default", r.agent),
                    (Some(m), false) => format!("{}: {m}", r.agent),
                    (None, _) => format!("{}: its default model", r.agent),
                };
                if !seen.contains(&m) {
                    seen.push(m);
                }
            }
            seen
        };
        let models = if models.is_empty() { String::new() } else { format!(" ({})", models.join("; ")) };
        match self.cost_range {
            Some((lo, hi)) => out.push_str(&format!(
                "\n  cost    ~${:.2} ({}){models}",
                self.cost_usd.unwrap_or_default(),
                span(format!("${lo:.2}"), format!("${hi:.2}"))
            )),
            None if self.priced_usd > 0.0 => out.push_str(&format!(
                "\n  cost    unknown: {}; the priced part ~${:.2}{models}",
                self.unpriced.join("; "),
                self.priced_usd
            )),
            None => out.push_str(&format!("\n  cost    unknown: {}{models}", self.unpriced.join("; "))),
        }
        match (self.wall_range, self.critical_path, self.work) {
            (Some((lo, hi)), Some(critical), Some(work)) => out.push_str(&format!(
                "\n  time    ~{} ({}); critical path {}; {} of work over {} slot(s){}",
                human(self.wall.unwrap_or_default()),
                span(human(lo), human(hi)),
                human(critical),
                human(work),
                self.slots,
                if self.slots < self.jobs {
                    format!(", as the machine has {} cores", self.slots)
                } else {
                    String::new()
                }
            )),
            _ => out.push_str(&format!(
                "\n  time    unknown: {} (a command agent is any program: no run here says how long it takes; \
                 the next estimate takes it from this run's)",
                self.time_unknown.join(", ")
            )),
        }
        out.push_str(&from);
        out
    }
}
