//! What the runtime's commands are asked to do, as plain data. `cli.rs` parses the command line
//! with clap and turns its arguments into these; nothing under `run/` knows clap or `cli.rs`.
//! The field names follow the command-line options (`--max-rework` is `max_rework`), and the
//! defaults clap applies are already in the values here.

use super::{CommitMode, ReviewKind, ScopePolicy, WatchPolicy, WorkspaceMode};
use planrun_agents::AgentKind;
use planrun_plan::Format;
use std::path::PathBuf;
use std::time::Duration;

/// A limit that may be switched off.
pub type Limit = Option<Duration>;

/// A limit as written on the command line or in planrun.toml: a duration, or `none`, `off` or
/// `0` for no limit.
pub fn parse_limit(s: &str) -> Result<Limit, String> {
    if matches!(s, "none" | "off" | "0") { Ok(None) } else { parse_duration(s).map(Some) }
}

/// `250ms`, `90s`, `5m`, `2h`, `1h30m`, or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("`{s}` is not a duration; write e.g. 90s, 5m, 1h30m or 250ms");
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let (num, tail) = rest.split_at(digits);
        let n: u64 = num.parse().map_err(|_| bad())?;
        let unit_len = tail.find(|c: char| c.is_ascii_digit()).unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_len);
        let part = match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.saturating_mul(60)),
            "h" => Duration::from_secs(n.saturating_mul(3600)),
            _ => return Err(bad()),
        };
        total = total.saturating_add(part);
        rest = next;
    }
    Ok(total)
}

/// The plan and how to read it.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    pub plan: PathBuf,
    pub format: Option<Format>,
}

/// Where the state directory is (`None`: the default one).
#[derive(Debug, Clone, Default)]
pub struct StateOptions {
    pub state_dir: Option<PathBuf>,
}

/// `planrun run` and `planrun estimate`.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub plan: PlanOptions,
    pub jobs: Option<u16>,
    pub agent: Option<AgentKind>,
    pub model: Option<String>,
    pub agent_command: Option<String>,
    pub config: Option<PathBuf>,
    pub pass_env: Vec<String>,
    pub resume_rounds: Option<u32>,
    pub max_rework: u32,
    /// `--only`: the tasks this invocation may start (ids, positions, ranges); empty: all.
    pub only: Vec<String>,
    /// `--skip`: tasks this invocation leaves out.
    pub skip: Vec<String>,
    /// `--barriers off`: the plan's milestones do not wait for each other.
    pub no_barriers: bool,
    /// `--no-detect`: no final check of the project's own commands for a plan without one.
    pub no_detect: bool,
    pub state: StateOptions,
    pub json: bool,
    pub no_status_files: bool,
    pub timeout: Limit,
    pub stall_timeout: Limit,
    pub verify_timeout: Limit,
    pub grace: Duration,
    pub drain_timeout: Duration,
    pub pipeline: PipelineOptions,
    pub cost: CostOptions,
}

/// Estimates, budgets, rate limits and the watchdog.
#[derive(Debug, Clone, Default)]
pub struct CostOptions {
    pub yes: bool,
    pub budget_usd: Option<f64>,
    pub budget_tokens: Option<u64>,
    pub task_budget_usd: Option<f64>,
    pub task_budget_tokens: Option<u64>,
    pub soft_budget: Option<u8>,
    pub rate_limit_wait: Option<Duration>,
    pub watchdog: Option<Limit>,
    pub on_no_progress: Option<WatchPolicy>,
    pub on_repeat: Option<WatchPolicy>,
}

/// The stages of each task's pipeline, where tasks work and who commits.
#[derive(Debug, Clone, Default)]
pub struct PipelineOptions {
    pub workspace: Option<WorkspaceMode>,
    pub into: Option<String>,
    pub include_uncommitted: bool,
    pub update_base: bool,
    /// Worktrees check out only the folders of each task's files (and `sparse_dirs`).
    pub sparse: bool,
    pub sparse_dirs: Vec<String>,
    pub commit: Option<CommitMode>,
    /// `--on-fail`: pause and ask, or rework [default: ask for blueprint plans, else rework].
    pub on_fail: Option<crate::pipeline::OnFail>,
    /// `--review-order` [default: sequential for planpipe plans, else parallel].
    pub review_order: Option<crate::pipeline::ReviewOrder>,
    pub batch: Option<u32>,
    pub scope: Option<ScopePolicy>,
    pub reviews: Option<Vec<ReviewKind>>,
    pub review_agent: Option<AgentKind>,
    pub review_model: Option<String>,
    pub review_command: Option<String>,
    pub take: bool,
    pub tester: bool,
    /// `--pipeline`: implementers plan (read-only) before their code, and a task plans in a
    /// free slot while a dependency is in review.
    pub plan_ahead: bool,
}

/// `planrun continue`.
#[derive(Debug, Clone, Default)]
pub struct ContinueOptions {
    pub state: StateOptions,
}

/// `planrun report`.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    pub run: Option<String>,
    pub state: StateOptions,
    pub json: bool,
}

/// `planrun doctor`.
#[derive(Debug, Clone, Default)]
pub struct DoctorOptions {
    /// Also run each installed CLI once on a one-line prompt.
    pub probe: bool,
    /// The model for the probe.
    pub model: Option<String>,
    /// Variables the probed CLI may see too.
    pub pass_env: Vec<String>,
}

/// `planrun gc`.
#[derive(Debug, Clone, Default)]
pub struct GcOptions {
    pub yes: bool,
    pub json: bool,
}

/// `planrun status`.
#[derive(Debug, Clone, Default)]
pub struct StatusOptions {
    pub plan: Option<PathBuf>,
    pub state: StateOptions,
    pub json: bool,
    pub watch: bool,
}

/// One task of a run: `retry`, `skip`, and the task of `explain` and `log`.
#[derive(Debug, Clone, Default)]
pub struct TaskOptions {
    pub task: String,
    pub plan: Option<PathBuf>,
    pub state: StateOptions,
    /// `retry --note`: instructions for the task's next attempts.
    pub note: Option<String>,
}

/// `planrun explain`.
#[derive(Debug, Clone, Default)]
pub struct ExplainOptions {
    pub task: TaskOptions,
    pub json: bool,
}

/// `planrun log`.
#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    pub task: TaskOptions,
    pub attempt: Option<u32>,
    pub summary: bool,
    pub follow: bool,
    pub json: bool,
}
