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
pub(crate) type Limit = Option<Duration>;

/// A limit as written on the command line or in planrun.toml: a duration, or `none`, `off` or
/// `0` for no limit.
pub(crate) fn parse_limit(s: &str) -> Result<Limit, String> {
    if matches!(s, "none" | "off" | "0") { Ok(None) } else { parse_duration(s).map(Some) }
}

/// `250ms`, `90s`, `5m`, `2h`, `1h30m`, or plain seconds.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
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
pub(crate) struct PlanOptions {
    pub(crate) plan: PathBuf,
    pub(crate) format: Option<Format>,
}

/// Where the state directory is (`None`: the default one).
#[derive(Debug, Clone, Default)]
pub(crate) struct StateOptions {
    pub(crate) state_dir: Option<PathBuf>,
}

/// `planrun run` and `planrun estimate`.
#[derive(Debug, Clone)]
pub(crate) struct RunOptions {
    pub(crate) plan: PlanOptions,
    pub(crate) jobs: Option<u16>,
    pub(crate) agent: Option<AgentKind>,
    pub(crate) model: Option<String>,
    pub(crate) agent_command: Option<String>,
    pub(crate) config: Option<PathBuf>,
    pub(crate) pass_env: Vec<String>,
    pub(crate) resume_rounds: Option<u32>,
    pub(crate) max_rework: u32,
    pub(crate) state: StateOptions,
    pub(crate) json: bool,
    pub(crate) no_status_files: bool,
    pub(crate) timeout: Limit,
    pub(crate) stall_timeout: Limit,
    pub(crate) verify_timeout: Limit,
    pub(crate) grace: Duration,
    pub(crate) drain_timeout: Duration,
    pub(crate) pipeline: PipelineOptions,
    pub(crate) cost: CostOptions,
}

/// Estimates, budgets, rate limits and the watchdog.
#[derive(Debug, Clone, Default)]
pub(crate) struct CostOptions {
    pub(crate) yes: bool,
    pub(crate) budget_usd: Option<f64>,
    pub(crate) budget_tokens: Option<u64>,
    pub(crate) task_budget_usd: Option<f64>,
    pub(crate) task_budget_tokens: Option<u64>,
    pub(crate) soft_budget: Option<u8>,
    pub(crate) rate_limit_wait: Option<Duration>,
    pub(crate) watchdog: Option<Limit>,
    pub(crate) on_no_progress: Option<WatchPolicy>,
    pub(crate) on_repeat: Option<WatchPolicy>,
}

/// The stages of each task's pipeline, where tasks work and who commits.
#[derive(Debug, Clone, Default)]
pub(crate) struct PipelineOptions {
    pub(crate) workspace: Option<WorkspaceMode>,
    pub(crate) into: Option<String>,
    pub(crate) include_uncommitted: bool,
    pub(crate) update_base: bool,
    pub(crate) commit: Option<CommitMode>,
    pub(crate) batch: Option<u32>,
    pub(crate) scope: Option<ScopePolicy>,
    pub(crate) reviews: Option<Vec<ReviewKind>>,
    pub(crate) review_agent: Option<AgentKind>,
    pub(crate) review_model: Option<String>,
    pub(crate) review_command: Option<String>,
    pub(crate) take: bool,
    pub(crate) tester: bool,
}

/// `planrun continue`.
#[derive(Debug, Clone, Default)]
pub(crate) struct ContinueOptions {
    pub(crate) state: StateOptions,
}

/// `planrun report`.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReportOptions {
    pub(crate) run: Option<String>,
    pub(crate) state: StateOptions,
    pub(crate) json: bool,
}

/// `planrun gc`.
#[derive(Debug, Clone, Default)]
pub(crate) struct GcOptions {
    pub(crate) yes: bool,
    pub(crate) json: bool,
}

/// `planrun status`.
#[derive(Debug, Clone, Default)]
pub(crate) struct StatusOptions {
    pub(crate) plan: Option<PathBuf>,
    pub(crate) state: StateOptions,
    pub(crate) json: bool,
    pub(crate) watch: bool,
}

/// One task of a run: `retry`, `skip`, and the task of `explain` and `log`.
#[derive(Debug, Clone, Default)]
pub(crate) struct TaskOptions {
    pub(crate) task: String,
    pub(crate) plan: Option<PathBuf>,
    pub(crate) state: StateOptions,
}

/// `planrun explain`.
#[derive(Debug, Clone, Default)]
pub(crate) struct ExplainOptions {
    pub(crate) task: TaskOptions,
    pub(crate) json: bool,
}

/// `planrun log`.
#[derive(Debug, Clone, Default)]
pub(crate) struct LogOptions {
    pub(crate) task: TaskOptions,
    pub(crate) attempt: Option<u32>,
    pub(crate) summary: bool,
    pub(crate) follow: bool,
    pub(crate) json: bool,
}
