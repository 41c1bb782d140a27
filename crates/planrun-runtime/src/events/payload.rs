//! The payloads the run events carry: one plain struct per kind of event (tasks, reasons,
//! budgets, usage, merges, the estimate report).

use super::schema::always_present;
use super::text::thousands;
use planrun_agents::Usage;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// What the watchdog does about what it found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Policy {
    Retry,
    Block,
    Stop,
}

/// A task.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct TaskRef {
    pub(crate) task: String,
}

/// A task and why (the whole reason; the human line shows its first line).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct TaskReason {
    pub(crate) task: String,
    pub(crate) reason: String,
}

/// Why, and nothing more.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct Reason {
    pub(crate) reason: String,
}

/// No fields.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct Empty {}

/// The run starts or resumes.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct Started {
    pub(crate) plan: String,
    /// Tasks in the plan.
    pub(crate) tasks: usize,
    /// Of them, done already.
    pub(crate) done: usize,
    /// How many run at once.
    pub(crate) jobs: usize,
    pub(crate) state_dir: String,
}

/// A budget stopped one task.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct TaskBudget {
    pub(crate) task: String,
    pub(crate) reason: String,
    /// Whether its running steps are stopped now (else it is blocked before its next stage).
    #[serde(skip)]
    pub(crate) stopping: bool,
}

/// What was spent when the soft budget was reached.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
pub(crate) struct Spent {
    pub(crate) tokens: u64,
    pub(crate) usd: f64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct BudgetSoft {
    pub(crate) reason: String,
    pub(crate) spent: Spent,
}

/// No agent printed anything for too long.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct NoProgress {
    /// The tasks running then.
    pub(crate) tasks: Vec<String>,
    pub(crate) policy: Policy,
    pub(crate) reason: String,
}

/// A provider's rate limit pauses one agent.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct RateLimited {
    pub(crate) task: String,
    pub(crate) agent: String,
    pub(crate) wait_ms: u64,
    pub(crate) reason: String,
}

/// A task failed the same way twice in a row.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct RepeatedFailure {
    pub(crate) task: String,
    pub(crate) reason: String,
    pub(crate) policy: Policy,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct OrphansStopped {
    pub(crate) pids: Vec<i32>,
}

/// A task's step report was written.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct TaskReport {
    pub(crate) task: String,
    /// Its one-line summary.
    pub(crate) summary: String,
    /// The report's path.
    pub(crate) report: String,
}

/// Interrupted once: the running steps may finish.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct Draining {
    /// Steps running.
    pub(crate) running: usize,
    /// How long they may take.
    #[serde(skip)]
    pub(crate) timeout: Duration,
}

/// Tokens as agents report them (`input` is input not read from a cache).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub(crate) struct Tokens {
    pub(crate) input: u64,
    pub(crate) output: u64,
    pub(crate) cache_read: u64,
    pub(crate) cache_write: u64,
}

impl From<Usage> for Tokens {
    fn from(u: Usage) -> Self {
        Self { input: u.input, output: u.output, cache_read: u.cache_read, cache_write: u.cache_write }
    }
}

impl Tokens {
    /// `1,234 in / 56 out tokens`, with cache figures when there are any.
    pub(crate) fn text(&self) -> String {
        let mut s = format!("{} in / {} out tokens", thousands(self.input), thousands(self.output));
        if self.cache_read + self.cache_write > 0 {
            s.push_str(&format!(
                " (cache {} read, {} written)",
                thousands(self.cache_read),
                thousands(self.cache_write)
            ));
        }
        s
    }
}

/// What one agent run used, as the journal records it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(transform = always_present)]
pub(crate) struct AgentUse {
    pub(crate) agent: String,
    pub(crate) model: Option<String>,
    /// The agent CLI's session id, when it reports one.
    pub(crate) session: Option<String>,
    /// Whether it resumed an earlier session.
    pub(crate) resumed: bool,
    pub(crate) usage: Tokens,
    /// What the whole session used, when the CLI reports it cumulatively.
    pub(crate) session_usage: Option<Tokens>,
    pub(crate) cost_usd: Option<f64>,
    /// Where the cost came from: `reported`, `priced`, `mixed`, `unknown`.
    pub(crate) cost_source: String,
}

/// An agent step ended: what it used.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct AgentUsage {
    pub(crate) task: String,
    pub(crate) attempt: u32,
    pub(crate) step: String,
    pub(crate) agent: AgentUse,
    /// Tool calls the agent's CLI denied.
    #[serde(skip)]
    pub(crate) denied: Vec<String>,
}

/// Files a task changed outside its own (`--scope warn`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct ScopeWarning {
    pub(crate) task: String,
    pub(crate) outside: Vec<String>,
}

/// An advisory finding of a review.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct Advisory {
    pub(crate) task: String,
    /// The review's name.
    pub(crate) review: String,
    /// The finding as the review's verdict gave it (`severity`, `message`, and `file`, `line`
    /// when it names them): passed through as read, so a field a reviewer adds is kept.
    pub(crate) finding: Value,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct Committed {
    pub(crate) task: String,
    pub(crate) commit: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct Merged {
    pub(crate) task: String,
    pub(crate) commit: String,
    /// The integration branch.
    pub(crate) into: String,
    /// Whether the task was rebased first (its checks then passed again).
    #[serde(skip)]
    pub(crate) rebased: bool,
}

/// A stage of an attempt starts: `scope`, `test`, `verify`, `review`, `commit`, `merge`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct StageStarted {
    pub(crate) task: String,
    pub(crate) attempt: u32,
    /// The same as the event's name.
    #[schemars(extend("enum" = ["scope", "test", "verify", "review", "commit", "merge"]))]
    pub(crate) stage: String,
}

/// A task passed its checks in its worktree and waits for the user's commit.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct WaitingForCommit {
    pub(crate) task: String,
    pub(crate) attempt: u32,
    pub(crate) worktree: String,
    pub(crate) branch: String,
    /// The worktree as shown to people (relative to the repository).
    #[serde(skip)]
    pub(crate) shown: String,
    /// The integration branch.
    #[serde(skip)]
    pub(crate) into: String,
    /// Whether it was shown before and still holds uncommitted changes.
    #[serde(skip)]
    pub(crate) again: bool,
}

/// An implement attempt starts.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(transform = always_present)]
pub(crate) struct Implementing {
    pub(crate) task: String,
    pub(crate) attempt: u32,
    #[schemars(extend("const" = "implement"))]
    pub(crate) step: String,
    pub(crate) agent: String,
    pub(crate) model: Option<String>,
    /// Whether it resumes the agent's session of the attempt sent back.
    pub(crate) resumed: bool,
}

/// A task waits for its agent's rate limit to pass.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct Waiting {
    pub(crate) task: String,
    pub(crate) agent: String,
    pub(crate) seconds: u64,
}

/// Kept work: what a removed worktree held that no branch had.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct Kept {
    #[serde(rename = "ref")]
    pub(crate) reference: String,
    pub(crate) commit: String,
}

/// What the whole run used.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
pub(crate) struct RunUsage {
    pub(crate) input: u64,
    pub(crate) output: u64,
    pub(crate) cache_read: u64,
    pub(crate) cache_write: u64,
    /// All four together.
    pub(crate) tokens: u64,
    /// Over the agent steps whose cost is known.
    pub(crate) cost_usd: f64,
    pub(crate) agent_steps: u64,
    /// Agent steps of unknown cost.
    pub(crate) unpriced_steps: u64,
}

/// The run ends: always the last event.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct Finished {
    /// How the run ended.
    #[schemars(extend("enum" = ["done", "blocked", "final_check_failed", "paused", "interrupted", "budget", "watchdog", "agent_unavailable", "provider_error"]))]
    pub(crate) outcome: String,
    pub(crate) exit_code: u8,
    /// Tasks per state.
    pub(crate) counts: BTreeMap<String, usize>,
    pub(crate) usage: RunUsage,
    /// Why the final check failed (`final_check_failed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) final_check: Option<String>,
    /// Why the run stopped (`budget`, `watchdog`, `agent_unavailable`, `provider_error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) reason: Option<String>,
    /// What kind of provider failure (`provider_error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) class: Option<String>,
    /// What to do about it (`provider_error`, `agent_unavailable`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) help: Option<String>,
    /// The integration branch holding the tasks' commits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) integration: Option<String>,
    /// The run's report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) report: Option<String>,
    /// The plan's files where progress was marked (`--status-files`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) status_files: Option<Vec<String>>,
    /// What the run's worktrees cost (worktree mode, when a task got one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) worktrees: Option<Worktrees>,
    /// The summary people read (it says more than the fields: what to do next).
    #[serde(skip)]
    pub(crate) summary: String,
}

/// What the run's worktrees cost: tasks get a worktree from the pool when one is free.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
pub(crate) struct Worktrees {
    /// Full checkouts made (`git worktree add`).
    pub(crate) checkouts: u64,
    /// Task starts served by a worktree from the pool (only the differing files written).
    pub(crate) reused: u64,
    /// The most worktrees that existed at once.
    pub(crate) peak: u64,
    /// The disk one checkout took, in bytes (its files, as `du` counts them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) checkout_bytes: Option<u64>,
}

/// Tokens of an estimate: the point estimate, and the range of the total.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
pub(crate) struct EstimateTokens {
    pub(crate) input: u64,
    pub(crate) output: u64,
    pub(crate) cache_read: u64,
    pub(crate) cache_write: u64,
    pub(crate) total: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) low: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) high: Option<u64>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(transform = always_present)]
pub(crate) struct EstimateTask {
    pub(crate) id: String,
    /// Its size in units of about one file's work.
    pub(crate) work: f64,
    pub(crate) tokens: Option<u64>,
    pub(crate) cost_usd: Option<f64>,
    pub(crate) time_ms: Option<u64>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(transform = always_present)]
pub(crate) struct EstimateRole {
    pub(crate) role: String,
    pub(crate) agent: String,
    pub(crate) model: Option<String>,
    pub(crate) steps: f64,
    pub(crate) runs: f64,
    pub(crate) tokens: Option<EstimateTokens>,
    pub(crate) cost_usd: Option<f64>,
    pub(crate) work_ms: Option<u64>,
    pub(crate) source: String,
}

/// An estimate of what is left to run (also `planrun estimate --json`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(transform = always_present)]
pub(crate) struct EstimateReport {
    pub(crate) tasks: usize,
    pub(crate) jobs: usize,
    /// The slots the point estimate spreads the work over (`jobs`, or fewer cores).
    pub(crate) slots: usize,
    pub(crate) stages: Vec<String>,
    pub(crate) verify_tasks: usize,
    pub(crate) reviews: usize,
    pub(crate) attempts: f64,
    pub(crate) attempts_range: [f64; 2],
    /// `defaults`, `history` or `mixed`.
    pub(crate) source: String,
    pub(crate) history_runs: usize,
    pub(crate) basis: String,
    /// `null` when no agent reports tokens.
    pub(crate) tokens: Option<EstimateTokens>,
    pub(crate) tokens_unknown: Vec<String>,
    /// `null` when some agent's cost is unknown.
    pub(crate) cost_usd: Option<f64>,
    pub(crate) cost_usd_range: Option<[f64; 2]>,
    pub(crate) priced_usd: f64,
    pub(crate) unpriced: Vec<String>,
    pub(crate) wall_ms: Option<u64>,
    pub(crate) wall_ms_range: Option<[u64; 2]>,
    pub(crate) time_unknown: Vec<String>,
    pub(crate) critical_path_ms: Option<u64>,
    pub(crate) work_ms: Option<u64>,
    pub(crate) per_task: Vec<EstimateTask>,
    pub(crate) per_role: Vec<EstimateRole>,
}

/// The estimate before a run starts.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct EstimateEvent {
    #[serde(flatten)]
    pub(crate) report: EstimateReport,
    /// The estimate as `planrun estimate` words it.
    #[serde(skip)]
    pub(crate) text: String,
}
