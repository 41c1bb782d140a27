//! What a run reports as it goes: one [`RunEvent`] per thing that happened. With `--json` each
//! event is one line of NDJSON on stdout (its serde form, plus the schema version `v` and
//! `elapsed_ms`: see [`Line`]); otherwise its [`RunEvent::text`] is the human progress line.
//! `planrun schema --events` prints the JSON Schema of a line.
//!
//! Plain data and formatting only: no printing, no command line, no runtime state.

use planrun_agents::Usage;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// The version of the event stream's format, in every line as `v`. It goes up when an event
/// or a field is removed or changes meaning or type; new events and new fields keep it.
pub(crate) const SCHEMA_VERSION: u32 = 1;

/// One line of `--json` output: the event with the stream's version and the time since the
/// run started.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(title = "planrun run event", extend("unevaluatedProperties" = false))]
pub(crate) struct Line<'a> {
    /// The version of this format: 1. It goes up when an event or a field is removed or changes
    /// meaning or type; new events and new fields keep it.
    #[schemars(range(min = 1, max = 1))]
    pub(crate) v: u32,
    /// Milliseconds since this invocation started.
    pub(crate) elapsed_ms: u64,
    #[serde(flatten)]
    pub(crate) event: &'a RunEvent,
}

/// The JSON Schema of one line of `planrun run --json`.
pub fn schema() -> schemars::Schema {
    schemars::schema_for!(Line<'static>)
}

/// Every property is required: a field that may be `null` is still always there.
fn always_present(schema: &mut schemars::Schema) {
    let keys: Vec<Value> = schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().map(Value::String).collect())
        .unwrap_or_default();
    schema.insert("required".into(), Value::Array(keys));
}

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
    /// The summary people read (it says more than the fields: what to do next).
    #[serde(skip)]
    pub(crate) summary: String,
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

/// Every event of a run. The variant's snake_case name is the line's `event`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(tag = "event", rename_all = "snake_case")]
pub(crate) enum RunEvent {
    /// The estimate of what is left to run, before the run starts (when a task is left).
    Estimate(EstimateEvent),
    /// A new run starts.
    Started(Started),
    /// A run resumes (`continue`, or the same command again).
    Resumed(Started),
    /// Processes a previous run left running were stopped.
    OrphansStopped(OrphansStopped),
    /// A done task's definition changed since; it does not run again by itself.
    ChangedAfterDone(TaskRef),
    /// Work no branch had was kept before its worktree was removed.
    Kept(Kept),
    /// A task's first attempt (or its first after `planrun retry`) starts.
    Start(Implementing),
    /// A task runs again, told why its attempt was sent back.
    Retry(Implementing),
    /// A task waits for its agent's rate limit.
    Waiting(Waiting),
    /// The scope check of an attempt starts.
    Scope(StageStarted),
    /// The tester's stage starts.
    Test(StageStarted),
    /// The verify commands start.
    Verify(StageStarted),
    /// The reviews start.
    Review(StageStarted),
    /// The commit starts.
    Commit(StageStarted),
    /// The merge onto the integration branch starts.
    Merge(StageStarted),
    /// An agent step ended: what it used.
    AgentUsage(AgentUsage),
    /// Changes outside the task's files (`--scope warn`).
    ScopeWarning(ScopeWarning),
    /// A review's advisory finding.
    Advisory(Advisory),
    /// A task's work was committed.
    Committed(Committed),
    /// A task's commits were merged onto the integration branch.
    Merged(Merged),
    /// A task passed every stage.
    Done(TaskRef),
    /// A task's step report was written.
    TaskReport(TaskReport),
    /// An attempt failed and goes back to its agent.
    Rework(TaskReason),
    /// An attempt was interrupted; it runs again.
    Interrupted(TaskReason),
    /// A task is blocked.
    Blocked(TaskReason),
    /// A task is skipped.
    Skipped(TaskRef),
    /// A task passed its checks in its worktree and waits for the user's commit.
    WaitingForCommit(WaitingForCommit),
    /// The run pauses (`--commit manual`, `--batch N`): nothing new starts.
    Pausing(TaskReason),
    /// A task's budget is spent.
    TaskBudget(TaskBudget),
    /// The run's soft budget is reached: nothing new starts.
    BudgetSoft(BudgetSoft),
    /// The run's budget is spent: every agent stops.
    BudgetStop(Reason),
    /// The watchdog stops the run.
    WatchdogStop(Reason),
    /// No agent printed anything for too long.
    NoProgress(NoProgress),
    /// A task failed the same way twice in a row.
    RepeatedFailure(RepeatedFailure),
    /// A provider's rate limit pauses an agent.
    RateLimited(RateLimited),
    /// A provider failed: nothing new starts.
    ProviderError(TaskReason),
    /// An agent program cannot be started: nothing new starts.
    AgentUnavailable(TaskReason),
    /// The plan's verify commands run once more, after every task.
    FinalCheck(Empty),
    FinalCheckPassed(Empty),
    FinalCheckFailed(Reason),
    /// Interrupted once: running steps may finish.
    Draining(Draining),
    /// Interrupted twice: every running step stops.
    Stopping(Empty),
    /// The run ends.
    Finished(Finished),
}

impl RunEvent {
    /// The stage-start event of `stage` (a stage's name), if it is one.
    pub(crate) fn stage_started(stage: &str, e: StageStarted) -> Option<Self> {
        Some(match stage {
            "scope" => Self::Scope(e),
            "test" => Self::Test(e),
            "verify" => Self::Verify(e),
            "review" => Self::Review(e),
            "commit" => Self::Commit(e),
            "merge" => Self::Merge(e),
            _ => return None,
        })
    }

    /// The line people read for this event.
    pub(crate) fn text(&self) -> String {
        match self {
            Self::Estimate(e) => format!("planrun: {}", e.text),
            Self::Started(s) | Self::Resumed(s) => format!(
                "planrun: {} {} ({} task{}, {} done, up to {} at once; state in {})",
                if matches!(self, Self::Resumed(_)) { "resuming" } else { "running" },
                s.plan,
                s.tasks,
                if s.tasks == 1 { "" } else { "s" },
                s.done,
                s.jobs,
                s.state_dir
            ),
            Self::OrphansStopped(o) => format!(
                "planrun: stopped {} process{} the previous run left running (pid {})",
                o.pids.len(),
                if o.pids.len() == 1 { "" } else { "es" },
                o.pids.iter().map(i32::to_string).collect::<Vec<_>>().join(", ")
            ),
            Self::ChangedAfterDone(TaskRef { task }) => format!(
                "planrun: task {task} is done, but its definition changed since; it will not run again unless you run `planrun retry {task}`"
            ),
            Self::Kept(k) => format!(
                "planrun: work no branch had was kept before its worktree was removed: {} ({}); `planrun gc` lists kept work",
                k.reference,
                short(&k.commit)
            ),
            Self::Start(s) | Self::Retry(s) => {
                let before = s.attempt.saturating_sub(1);
                let how = match (s.resumed, matches!(self, Self::Retry(_))) {
                    (true, _) => format!(", resuming its {} session with why attempt {before} was sent back", s.agent),
                    (false, true) => format!(", told why attempt {before} was sent back"),
                    (false, false) => String::new(),
                };
                let label = match &s.model {
                    Some(m) => format!("{} ({m})", s.agent),
                    None => s.agent.clone(),
                };
                format!("start    {} (attempt {}{how}; {label})", s.task, s.attempt)
            }
            Self::Waiting(w) => {
                format!("waiting  {}: {} is paused for {}s (its provider's rate limit)", w.task, w.agent, w.seconds)
            }
            Self::Scope(s) | Self::Test(s) | Self::Verify(s) | Self::Review(s) | Self::Commit(s) | Self::Merge(s) => {
                format!("{:<8} {} (attempt {})", s.stage, s.task, s.attempt)
            }
            Self::AgentUsage(u) => agent_line(u),
            Self::ScopeWarning(w) => format!(
                "scope    {}: changed outside its files (reported, --scope warn): {}",
                w.task,
                w.outside.join(", ")
            ),
            Self::Advisory(a) => {
                let f = &a.finding;
                let at = match (f.get("file").and_then(Value::as_str), f.get("line").and_then(Value::as_u64)) {
                    (Some(file), Some(line)) => format!("{file}:{line}: "),
                    (Some(file), None) => format!("{file}: "),
                    _ => String::new(),
                };
                let msg = f.get("message").and_then(Value::as_str).unwrap_or("");
                format!("advisory {} ({}): {at}{msg}", a.task, a.review)
            }
            Self::Committed(c) => format!("commit   {}: {}", c.task, short(&c.commit)),
            Self::Merged(m) => format!(
                "merge    {}: {} onto {}{}",
                m.task,
                short(&m.commit),
                m.into,
                if m.rebased { " (rebased, checks passed again)" } else { "" }
            ),
            Self::Done(TaskRef { task }) => format!("done     {task}"),
            Self::TaskReport(r) => format!("report   {}: {}\n         {}", r.task, r.summary, r.report),
            Self::Rework(r) => format!("rework   {}: {}", r.task, first(&r.reason)),
            Self::Interrupted(r) => format!("interrupted {}: {}", r.task, first(&r.reason)),
            Self::Blocked(r) => format!("blocked  {}: {}", r.task, first(&r.reason)),
            Self::Skipped(TaskRef { task }) => format!("skipped  {task}"),
            Self::WaitingForCommit(w) => {
                let (shown, branch, into) = (&w.shown, &w.branch, &w.into);
                if w.again {
                    format!(
                        "waiting  {}: its worktree `{shown}` still holds uncommitted changes: commit what you accept there \
                         (`git -C {shown} add -A && git -C {shown} commit`) and discard the rest, then `planrun continue` merges \
                         your commits onto `{into}`",
                        w.task
                    )
                } else {
                    format!(
                        "waiting  {}: it passed its checks; its work is in `{shown}` on branch `{branch}`, not committed: \
                         inspect it, commit what you accept there (`git -C {shown} add -A && git -C {shown} commit`), then \
                         `planrun continue` merges your commits onto `{into}`",
                        w.task
                    )
                }
            }
            Self::Pausing(p) => format!("pausing  {}; starting nothing new", p.reason),
            Self::TaskBudget(b) => {
                format!("budget   {}: {}{}", b.task, b.reason, if b.stopping { "; stopping it" } else { "" })
            }
            Self::BudgetSoft(b) => format!("budget   {}: starting nothing new; the steps in flight finish", b.reason),
            Self::BudgetStop(r) | Self::WatchdogStop(r) => {
                format!("stopping {}; stopping every agent now", r.reason)
            }
            Self::NoProgress(n) => format!(
                "watchdog {} (running: {}); {}",
                n.reason,
                n.tasks.join(", "),
                match n.policy {
                    Policy::Retry => "running them again in fresh sessions",
                    Policy::Block => "blocking them",
                    Policy::Stop => "stopping the run",
                }
            ),
            Self::RepeatedFailure(r) => format!(
                "watchdog {} failed the same way twice in a row ({}); {}",
                r.task,
                first(&r.reason),
                match r.policy {
                    Policy::Retry => "its next attempt starts a fresh session",
                    Policy::Block => "blocking it",
                    Policy::Stop => "stopping the run",
                }
            ),
            Self::RateLimited(r) => format!(
                "paused   {} for {} ({}); {} runs again after; other agents go on",
                r.agent,
                human(Duration::from_millis(r.wait_ms)),
                first(&r.reason),
                r.task
            ),
            Self::ProviderError(r) | Self::AgentUnavailable(r) => {
                format!("stopped  {}: {}; starting nothing new", r.task, first(&r.reason))
            }
            Self::FinalCheck(_) => "check    the plan's verify commands, once more".to_owned(),
            Self::FinalCheckPassed(_) => "passed   the final check".to_owned(),
            Self::FinalCheckFailed(r) => format!("failed   the final check: {}", first(&r.reason)),
            Self::Draining(d) => format!(
                "planrun: interrupted; starting nothing new, waiting up to {} for {} running step{} (Ctrl-C again to stop them now)",
                human(d.timeout),
                d.running,
                if d.running == 1 { "" } else { "s" }
            ),
            Self::Stopping(_) => "planrun: stopping every running step".to_owned(),
            Self::Finished(f) => f.summary.clone(),
        }
    }
}

/// One line about what an agent's run used: `agent    a: claude, 250 in / 30 out tokens, $0.0020`.
fn agent_line(u: &AgentUsage) -> String {
    let a = &u.agent;
    let mut line = if u.step == "implement" {
        format!("agent    {}: {}", u.task, a.agent)
    } else {
        format!("agent    {} ({}): {}", u.task, u.step, a.agent)
    };
    if let Some(m) = &a.model {
        line.push_str(&format!(" ({m})"));
    }
    if a.resumed {
        line.push_str(", resumed its session");
    }
    line.push_str(&format!(", {}", a.usage.text()));
    line.push_str(&format!(", {}", dollars(a.cost_usd, &a.cost_source)));
    if !u.denied.is_empty() {
        line.push_str(&format!(", {} tool call(s) denied: {}", u.denied.len(), u.denied.join(", ")));
    }
    line
}

/// The first line of a reason.
fn first(reason: &str) -> &str {
    reason.lines().next().unwrap_or("")
}

/// A commit's first ten characters.
fn short(commit: &str) -> &str {
    commit.get(..10).unwrap_or(commit)
}

/// A duration the way people write it: `90s`, `5m`, `1h30m`, `250ms`.
pub(crate) fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let s = d.as_secs();
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, 0, 0) => format!("{h}h"),
        (h, m, _) => format!("{h}h{m}m"),
    }
}

/// A count with thousands separators: `1,234,567`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Dollars in one phrase, saying where the figure came from.
pub(crate) fn dollars(cost: Option<f64>, source: &str) -> String {
    match (cost, source) {
        (Some(c), "priced") => format!("${c:.4} (from the price table)"),
        (Some(c), _) => format!("${c:.4}"),
        (None, _) => "cost unknown (no price for this model; add one under [prices] in planrun.toml)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(e: &RunEvent) -> Value {
        serde_json::to_value(Line { v: SCHEMA_VERSION, elapsed_ms: 5, event: e }).unwrap_or(Value::Null)
    }

    #[test]
    fn the_wire_keeps_names_and_fields() {
        let e = RunEvent::Kept(Kept { reference: "refs/planrun/kept/a/1".into(), commit: "0123456789abcdef".into() });
        assert_eq!(
            wire(&e),
            serde_json::json!({"event": "kept", "v": 1, "elapsed_ms": 5, "ref": "refs/planrun/kept/a/1", "commit": "0123456789abcdef"})
        );
        let e = RunEvent::TaskBudget(TaskBudget { task: "a".into(), reason: "over".into(), stopping: true });
        assert_eq!(
            wire(&e),
            serde_json::json!({"event": "task_budget", "v": 1, "elapsed_ms": 5, "task": "a", "reason": "over"})
        );
        assert_eq!(e.text(), "budget   a: over; stopping it");
        let e = RunEvent::FinalCheck(Empty {});
        assert_eq!(wire(&e), serde_json::json!({"event": "final_check", "v": 1, "elapsed_ms": 5}));
    }

    #[test]
    fn policies_are_snake_case() {
        let e = RunEvent::NoProgress(NoProgress {
            tasks: vec!["a".into(), "b".into()],
            policy: Policy::Block,
            reason: "quiet".into(),
        });
        assert_eq!(wire(&e)["event"], "no_progress");
        assert_eq!(wire(&e)["policy"], "block");
        assert_eq!(e.text(), "watchdog quiet (running: a, b); blocking them");
    }

    /// The human lines, as they read before events were typed.
    #[test]
    fn human_lines() {
        let tr = |task: &str, reason: &str| TaskReason { task: task.into(), reason: reason.into() };
        let agent = AgentUse {
            agent: "claude".into(),
            model: Some("sonnet".into()),
            session: Some("s1".into()),
            resumed: true,
            usage: Tokens { input: 1234, output: 56, cache_read: 7, cache_write: 0 },
            session_usage: None,
            cost_usd: Some(0.5),
            cost_source: "priced".into(),
        };
        let cases = [
            (
                RunEvent::Resumed(Started {
                    plan: "p.md".into(),
                    tasks: 1,
                    done: 0,
                    jobs: 2,
                    state_dir: ".planrun".into(),
                }),
                "planrun: resuming p.md (1 task, 0 done, up to 2 at once; state in .planrun)",
            ),
            (
                RunEvent::OrphansStopped(OrphansStopped { pids: vec![10, 11] }),
                "planrun: stopped 2 processes the previous run left running (pid 10, 11)",
            ),
            (
                RunEvent::ChangedAfterDone(TaskRef { task: "a".into() }),
                "planrun: task a is done, but its definition changed since; it will not run again unless you run `planrun retry a`",
            ),
            (
                RunEvent::Retry(Implementing {
                    task: "a".into(),
                    attempt: 3,
                    step: "implement".into(),
                    agent: "codex".into(),
                    model: Some("gpt".into()),
                    resumed: true,
                }),
                "start    a (attempt 3, resuming its codex session with why attempt 2 was sent back; codex (gpt))",
            ),
            (
                RunEvent::Waiting(Waiting { task: "a".into(), agent: "claude".into(), seconds: 30 }),
                "waiting  a: claude is paused for 30s (its provider's rate limit)",
            ),
            (
                RunEvent::AgentUsage(AgentUsage {
                    task: "a".into(),
                    attempt: 1,
                    step: "code-review".into(),
                    agent,
                    denied: vec!["Bash".into()],
                }),
                "agent    a (code-review): claude (sonnet), resumed its session, 1,234 in / 56 out tokens (cache 7 read, 0 written), $0.5000 (from the price table), 1 tool call(s) denied: Bash",
            ),
            (
                RunEvent::Merged(Merged {
                    task: "a".into(),
                    commit: "0123456789abc".into(),
                    into: "pr".into(),
                    rebased: true,
                }),
                "merge    a: 0123456789 onto pr (rebased, checks passed again)",
            ),
            (RunEvent::Interrupted(tr("a", "stopped\nmore")), "interrupted a: stopped"),
            (
                RunEvent::WaitingForCommit(WaitingForCommit {
                    task: "a".into(),
                    attempt: 1,
                    worktree: "/r/.planrun/worktrees/a".into(),
                    branch: "planrun/task/x/a".into(),
                    shown: ".planrun/worktrees/a".into(),
                    into: "planrun/x".into(),
                    again: true,
                }),
                "waiting  a: its worktree `.planrun/worktrees/a` still holds uncommitted changes: commit what you accept there \
                 (`git -C .planrun/worktrees/a add -A && git -C .planrun/worktrees/a commit`) and discard the rest, then `planrun continue` merges \
                 your commits onto `planrun/x`",
            ),
            (
                RunEvent::TaskBudget(TaskBudget { task: "a".into(), reason: "over $1".into(), stopping: false }),
                "budget   a: over $1",
            ),
            (
                RunEvent::BudgetSoft(BudgetSoft { reason: "soft".into(), spent: Spent { tokens: 1, usd: 0.1 } }),
                "budget   soft: starting nothing new; the steps in flight finish",
            ),
            (RunEvent::WatchdogStop(Reason { reason: "quiet".into() }), "stopping quiet; stopping every agent now"),
            (
                RunEvent::RepeatedFailure(RepeatedFailure {
                    task: "a".into(),
                    reason: "x\ny".into(),
                    policy: Policy::Retry,
                }),
                "watchdog a failed the same way twice in a row (x); its next attempt starts a fresh session",
            ),
            (
                RunEvent::RateLimited(RateLimited {
                    task: "a".into(),
                    agent: "gemini".into(),
                    wait_ms: 90_000,
                    reason: "429\nslow down".into(),
                }),
                "paused   gemini for 1m30s (429); a runs again after; other agents go on",
            ),
            (RunEvent::AgentUnavailable(tr("a", "no such file")), "stopped  a: no such file; starting nothing new"),
            (RunEvent::FinalCheckFailed(Reason { reason: "exit 1\nlog".into() }), "failed   the final check: exit 1"),
            (
                RunEvent::Draining(Draining { running: 1, timeout: Duration::from_secs(120) }),
                "planrun: interrupted; starting nothing new, waiting up to 2m for 1 running step (Ctrl-C again to stop them now)",
            ),
            (RunEvent::Stopping(Empty {}), "planrun: stopping every running step"),
        ];
        for (event, line) in cases {
            assert_eq!(event.text(), line);
        }
    }

    #[test]
    fn human_durations() {
        assert_eq!(human(Duration::from_millis(850)), "850ms");
        assert_eq!(human(Duration::from_secs(200)), "3m20s");
        assert_eq!(human(Duration::from_secs(3900)), "1h5m");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
