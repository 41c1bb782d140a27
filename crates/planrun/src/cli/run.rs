//! `run`'s options (also `estimate`'s): the agents, the cost and the pipeline flag groups, and
//! their long help.

use super::args::{PlanArgs, StateArgs};
use super::values::{
    CommitModeArg, OnFailArg, ReviewKindArg, ReviewOrderArg, ScopePolicyArg, WatchPolicyArg, WorkspaceModeArg,
};
use crate::run::options::{Limit, parse_duration, parse_limit};
use clap::Args;
use std::path::PathBuf;

pub(super) const RUN_HELP: &str = concat!(
    "\
Agents:
  --agent claude    Claude Code: claude -p PROMPT --output-format stream-json --verbose, with
                    --dangerously-skip-permissions (as root, where claude refuses that unless
                    IS_SANDBOX=1: --permission-mode acceptEdits); reports tokens and dollars
  --agent codex     Codex: codex exec --json -s workspace-write; tokens priced from the table
  --agent gemini    Gemini CLI: gemini -p PROMPT -o stream-json --yolo; tokens priced
  --agent opencode  opencode: opencode run --format json; reports tokens and dollars
  --agent command   your program (--agent-command)
  Each runs in the workspace (the plan's git top level) with stdin from /dev/null. Its events
  give the session, tokens, dollars and errors. On the first --resume-rounds reworks the same
  session is resumed with the failure; then a fresh session starts. A rate limit from the model
  provider pauses that agent (--rate-limit-wait) while others go on; another provider error
  stops the run without counting against the task (exit 4); run the same command again to
  resume. `planrun doctor` checks the CLIs.

Environment of an agent:
  Only PATH, HOME, USER, SHELL, TMPDIR, TERM, locale (LANG, LC_*), XDG_*_HOME, certificate and
  proxy variables, git identity, the CLI's own variables (claude: ANTHROPIC_*, CLAUDE_*,
  IS_SANDBOX; codex: CODEX_*, OPENAI_*; gemini: GEMINI_*, GOOGLE_*; opencode: OPENCODE_* and
  provider keys), --pass-env names, and PLANRUN_TASK_ID, PLANRUN_ROLE, PLANRUN_ATTEMPT,
  PLANRUN_PROMPT_FILE, PLANRUN_WORKSPACE and PLANRUN_NOTES_FILE. Values of passed variables named
  like *KEY*, *TOKEN*, *SECRET*, *PASSWORD* (and planrun.toml's redact_env), and anything shaped
  like a known API key, are replaced by [redacted] in every log and report.

The command agent:
  --agent-command is split into words like a shell would, but never run by a shell. In each word,
  {prompt_file} {task_id} {workspace} {role} {attempt} are replaced ({{ and }} are literal braces).
  The prompt file holds the task's brief and, on rework, why the previous attempt was sent back.
  Example: --agent-command 'my-agent --prompt {prompt_file}'

Prompts and planrun.toml:
  Prompts come from built-in templates per role (implement, review, test, resume) and persona
  (architect, engineer, reviewer, security, pm; chosen from the task's `persona` field or its
  wording); a file .planrun/prompts/NAME.md replaces one. planrun.toml at the repository's top
  level (or --config) sets agent, model, resume_rounds, pass_env, redact_env, [roles.implement],
  [roles.review] and [roles.test] agent/model/command, [pipeline] workspace/into/commit/batch/
  scope/reviews/take/tester/sparse/sparse_dirs, and [prices.\"MODEL\"] input/output/cache_read/cache_write in USD
  per million tokens. See docs/agents.md.

The pipeline (each task, in order; see docs/running.md):
  implement   the agent, in the task's workspace (with --take, a reviewer's constraints first)
  scope       the real `git diff` against the task's `Files:`; --scope strict sends changes
              outside them back, warn reports them, off skips [default: strict in worktrees,
              warn in a shared tree, where planrun cannot tell a task's edits from yours]
  test        with --tester: an agent writes the tests the task lacks, beside the reviews
              (both must pass; verify runs again on its tests), or before verify without reviews
  verify      the task's verify commands, then the plan's, `sh -c` in the workspace; a failure
              goes back to the agent with the output
  review      the task review and the code review, side by side, by the review agent; each ends
              with a JSON verdict {\"verdict\": \"pass\"|\"changes_requested\", \"findings\":
              [{\"severity\": \"blocking\"|\"advisory\", \"file\", \"line\", \"message\"}]} (a CLI's
              structured-output option holds it to that where there is one); blocking findings
              go back to the implementer, advisory ones are reported; an unreadable verdict gets
              one reminder, then fails the review
  commit      one conventional commit per task, `feat(ID): title` with a `Planrun-Task: ID`
              trailer (--commit auto)
  merge       worktree mode: onto the integration branch, one task at a time; when it moved, the
              task is rebased and verified again; a conflict goes back with git's markers
  A rejected attempt goes back up to --max-rework times; then the task is blocked and
  `planrun explain TASK` says why. When every task is done, the plan's verify commands run once
  more where the work came together (the final check).

Workspaces:
  --workspace worktree (the default in a git repository with a commit): each task in its own
  worktree (.planrun/worktrees/ID) and branch planrun/task/RUN/ID, started from the integration
  branch (planrun/RUN, or --into BRANCH) once its dependencies are merged; removed once merged
  (a blocked task's stays for you to inspect). Tasks start from commits: uncommitted changes in
  your working tree are not seen by them. --workspace shared: one working tree; tasks whose
  files overlap never run together; with --commit auto each task's changes to its own files are
  committed on the current branch. --commit manual pauses after each task (exit 5) for you to
  inspect and commit (in a worktree run the task waits in its worktree; your commits are what
  gets merged); --batch N pauses after every N tasks; `planrun continue` goes on. Work planrun
  would otherwise remove is kept under refs/planrun/kept/ (`planrun gc`).

State:
  Everything is journaled in the state directory (default: .planrun/ at the git top level of the
  plan) before it takes effect. Run the same command again after a crash or Ctrl-C to resume:
  done tasks are never run again. Logs: .planrun/logs/TASK.ATTEMPT.STEP.log (or `planrun log`).

Ctrl-C:
  first: start nothing new, let running steps finish (up to --drain-timeout), exit 130.
  second: stop every running step at once, exit 130. Both can be resumed.

Output:
  live progress on a terminal, a line per event otherwise, one JSON object per event with --json:
  {\"event\", \"elapsed_ms\", ...} where event is started or resumed, orphans_stopped,
  changed_after_done, start or retry (task, attempt), a stage's start (scope, test, verify,
  review, commit, merge: task, attempt, stage), scope_warning (task, outside), advisory (task,
  review, finding), committed (task, commit), merged (task, commit, into), done, task_report
  (task, summary, report), rework, interrupted, blocked (task, reason), skipped, pausing,
  final_check, final_check_passed, final_check_failed, draining, stopping, provider_error
  (task, reason), agent_usage (task, attempt, step, agent: usage, cost_usd, session), and last
  finished (outcome: done, blocked, final_check_failed, provider_error, paused or interrupted;
  exit_code; counts per state; usage; integration: the branch; report: the path of
  .planrun/runs/ID/summary.md, beside which junit.xml and tasks/ID.md are written).
  See docs/running.md.

Durations: 90s, 5m, 1h30m, 250ms, or `none` for no limit.

",
    exits!(run)
);

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub(crate) plan: PlanArgs,
    /// Run this CCW session (`WFS-auth`) of the repository PLAN names.
    #[arg(long, value_name = "ID", hide_short_help = true)]
    pub(crate) resume_session: Option<String>,
    /// How many tasks run at once [default: 2, 3 or 4 by the plan's size].
    ///
    /// 2 for 1–3 tasks, 3 for 4–8, 4 for more.
    #[arg(short = 'j', long = "jobs", value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) jobs: Option<u16>,
    /// The agent: claude, codex, gemini, opencode, or command.
    ///
    /// `command` is your own program (see --agent-command). Default: planrun.toml's, else
    /// `command` when --agent-command is given. A task's own `agent` field overrides it for that
    /// task.
    #[arg(long, value_name = "NAME", value_parser = parse_agent)]
    pub(crate) agent: Option<planrun_agents::AgentKind>,
    /// The agent's model [default: planrun.toml's, else the CLI's].
    ///
    /// Passed to the CLI's model option.
    #[arg(long, value_name = "MODEL")]
    pub(crate) model: Option<String>,
    /// The `command` agent's program, a template.
    ///
    /// See "The command agent" in `planrun run --help`. Also read from PLANRUN_AGENT_COMMAND.
    #[arg(long, value_name = "TEMPLATE", env = "PLANRUN_AGENT_COMMAND")]
    pub(crate) agent_command: Option<String>,
    /// The configuration file [default: planrun.toml at the repository's top level, if any].
    #[arg(long, value_name = "FILE", hide_short_help = true)]
    pub(crate) config: Option<PathBuf>,
    /// Let agents see this environment variable too (a name, or a PREFIX*); repeatable.
    ///
    /// Agents see only PATH, HOME, locale and proxy settings, their CLI's own variables, and
    /// these.
    #[arg(long = "pass-env", value_name = "NAME", hide_short_help = true)]
    pub(crate) pass_env: Vec<String>,
    /// Rework rounds that resume the implementer's own session [default: 2].
    ///
    /// After them a fresh session starts. planrun.toml's resume_rounds sets the default.
    #[arg(long, value_name = "N", hide_short_help = true)]
    pub(crate) resume_rounds: Option<u32>,
    /// Reworks of a failed task before it is blocked.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub(crate) max_rework: u32,
    /// Run only these tasks: ids, positions or ranges like 3-5.
    ///
    /// Comma-separated (1 is the first task); a later run does the rest (docs/running.md).
    #[arg(long, value_name = "SEL", value_delimiter = ',')]
    pub(crate) only: Vec<String>,
    /// Leave these tasks out of this run, as --only names them (`planrun skip TASK`: for good).
    #[arg(long = "skip", value_name = "SEL", value_delimiter = ',', hide_short_help = true)]
    pub(crate) skip_tasks: Vec<String>,
    /// `off`: the plan's milestones (blueprint, planpipe waves, CCW phases) do not wait for each other.
    #[arg(long, value_name = "ON|OFF", default_value = "on", value_parser = ["on", "off"], hide_short_help = true)]
    pub(crate) barriers: String,
    /// Without plan-level verify commands, do not run the project's build and tests at the end.
    #[arg(long, hide_short_help = true)]
    pub(crate) no_detect: bool,
    #[command(flatten)]
    pub(crate) state: StateArgs,
    /// Print one JSON object per event on stdout instead of progress.
    #[arg(long)]
    pub(crate) json: bool,
    /// Do not mark progress in the plan's own files.
    ///
    /// By default, as the run goes and at its end, tasks get the marks their format uses:
    /// `Status: done`, ✅ headings, ticked boxes, status fields, status and summary files (live
    /// states for planpipe, CCW and cm); see docs/importers/README.md.
    #[arg(long, hide_short_help = true)]
    pub(crate) no_status_files: bool,
    /// Wall-clock limit for one agent run.
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = parse_limit, hide_short_help = true)]
    pub(crate) timeout: Limit,
    /// Stop an agent that prints nothing for this long.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_limit, hide_short_help = true)]
    pub(crate) stall_timeout: Limit,
    /// Wall-clock limit for one verify command.
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = parse_limit, hide_short_help = true)]
    pub(crate) verify_timeout: Limit,
    /// Time between SIGTERM and SIGKILL when a step is stopped.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration, hide_short_help = true)]
    pub(crate) grace: std::time::Duration,
    /// After the first Ctrl-C, how long running steps may take to finish before they are stopped.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration, hide_short_help = true)]
    pub(crate) drain_timeout: std::time::Duration,
    // Last: their headings would otherwise carry over to the options after them.
    #[command(flatten)]
    pub(crate) pipeline: PipelineArgs,
    #[command(flatten)]
    pub(crate) cost: CostArgs,
}

/// Estimates, budgets, rate limits and the watchdog.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Cost")]
pub(crate) struct CostArgs {
    /// Start without asking after the estimate.
    ///
    /// Needed without a terminal whenever an agent CLI will run.
    #[arg(long, short = 'y')]
    pub(crate) yes: bool,
    /// Stop every agent when the run has spent this many dollars.
    ///
    /// Counts what earlier invocations of the run spent. New steps stop starting at
    /// --soft-budget percent.
    #[arg(long, value_name = "USD")]
    pub(crate) budget_usd: Option<f64>,
    /// The same, in tokens (input + output, cache included).
    #[arg(long, value_name = "N", hide_short_help = true)]
    pub(crate) budget_tokens: Option<u64>,
    /// A task that alone spends this many dollars is stopped and blocked with that reason.
    #[arg(long, value_name = "USD", hide_short_help = true)]
    pub(crate) task_budget_usd: Option<f64>,
    /// The same, in tokens.
    #[arg(long, value_name = "N", hide_short_help = true)]
    pub(crate) task_budget_tokens: Option<u64>,
    /// At this share of a run budget, nothing new starts and the steps in flight finish
    /// [default: 80].
    #[arg(long, value_name = "PERCENT", value_parser = clap::value_parser!(u8).range(1..=100), hide_short_help = true)]
    pub(crate) soft_budget: Option<u8>,
    /// How long a rate-limited agent waits before its next step [default: 60s, doubling up to
    /// 15m].
    ///
    /// Used when the provider gives no reset time.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, hide_short_help = true)]
    pub(crate) rate_limit_wait: Option<std::time::Duration>,
    /// Report a run in which no agent printed anything for this long [default: 20m].
    ///
    /// Then --on-no-progress applies; `none` switches the watchdog off.
    #[arg(long, value_name = "DURATION", value_parser = parse_limit, hide_short_help = true)]
    pub(crate) watchdog: Option<Limit>,
    /// What the watchdog does about a run making no progress: retry, block or stop
    /// [default: retry].
    ///
    /// `retry` stops the steps and runs them again in fresh sessions, `block` blocks the running
    /// tasks, `stop` stops the run (exit 4).
    #[arg(long, value_name = "POLICY", value_enum, hide_short_help = true)]
    pub(crate) on_no_progress: Option<WatchPolicyArg>,
    /// What to do when a task fails the same way twice in a row: retry, block or stop
    /// [default: retry].
    ///
    /// `retry` runs the next attempt in a fresh session.
    #[arg(long, value_name = "POLICY", value_enum, hide_short_help = true)]
    pub(crate) on_repeat: Option<WatchPolicyArg>,
}

/// The stages of each task's pipeline, where tasks work and who commits.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Pipeline")]
pub(crate) struct PipelineArgs {
    /// Where tasks work: a git worktree each, or one shared tree.
    ///
    /// `worktree` is the default in a git repository with a commit: each task works in its own
    /// worktree and branch and is merged onto the integration branch one at a time. `shared`
    /// (the default elsewhere) is one working tree. A resumed run keeps its first mode.
    #[arg(long, value_name = "MODE", value_enum)]
    pub(crate) workspace: Option<WorkspaceModeArg>,
    /// The branch tasks are merged onto in worktree mode [default: a new branch planrun/RUN].
    ///
    /// The new branch starts from where the run started.
    #[arg(long, value_name = "BRANCH", hide_short_help = true)]
    pub(crate) into: Option<String>,
    /// Worktree mode: start a new run from your working tree as it is.
    ///
    /// Uncommitted and untracked files (not ignored ones) are recorded as one commit at the base
    /// of the run's branch, instead of starting from the last commit. Your index and files stay
    /// as they were.
    #[arg(long, hide_short_help = true)]
    pub(crate) include_uncommitted: bool,
    /// Worktree mode, a resumed run: take your current commit into the run's branch first.
    ///
    /// Tasks that start from now on see what you committed since the run began (a fast-forward,
    /// or a merge commit; on a conflict nothing changes and the files are named).
    #[arg(long, hide_short_help = true)]
    pub(crate) update_base: bool,
    /// Worktree mode: check out only the folders of each task's files (a sparse checkout).
    ///
    /// For large repositories. Each worktree holds the files at the top level, the folders
    /// named by the task's `files` patterns (for `src/api/**` the folder `src/api`, for
    /// `src/api/mod.rs` its folder) and the folders given with --sparse-dir; a task whose
    /// patterns start with a wildcard gets the whole tree. The rest of the tree is not on disk
    /// in the worktree, so a task's build and tests must not need it. git records it in the
    /// worktree's own configuration (`extensions.worktreeConfig` is turned on).
    #[arg(long, hide_short_help = true)]
    pub(crate) sparse: bool,
    /// With --sparse: a folder every task's worktree also holds (repeatable), e.g. `tests`.
    #[arg(long, value_name = "DIR", hide_short_help = true)]
    pub(crate) sparse_dir: Vec<String>,
    /// Who commits: planrun (`auto`), or you while it pauses (`manual`).
    ///
    /// `auto` commits each task that passes every stage (`feat(ID): title`, with a
    /// `Planrun-Task: ID` trailer) and merges it; `manual` pauses after each task with its
    /// report for you to inspect and commit, then `planrun continue` (in worktree mode the task
    /// waits in its worktree and only your commits are merged).
    #[arg(long, value_name = "MODE", value_enum)]
    pub(crate) commit: Option<CommitModeArg>,
    /// On failed checks or a blocking review: ask (exit 5) or rework [default: ask for blueprints]
    #[arg(long, value_name = "WHAT", value_enum, hide_short_help = true)]
    pub(crate) on_fail: Option<OnFailArg>,
    /// Reviews at once, or the code review only after the task review passed [default: sequential for planpipe]
    #[arg(long, value_name = "ORDER", value_enum, hide_short_help = true)]
    pub(crate) review_order: Option<ReviewOrderArg>,
    /// Pause after every N finished tasks with a batch summary; `planrun continue` goes on.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..), hide_short_help = true)]
    pub(crate) batch: Option<u32>,
    /// Changes outside a task's declared files: `strict` sends it back, `warn`, `off`.
    ///
    /// Found from the real git diff: `strict` sends the task back with the list, `warn` reports
    /// them, `off` does not check [default: strict in worktree mode; warn in a shared tree, where
    /// others' edits cannot be told apart].
    #[arg(long, value_name = "POLICY", value_enum, hide_short_help = true)]
    pub(crate) scope: Option<ScopePolicyArg>,
    /// The reviews after the checks pass (`task,code`: both).
    ///
    /// Side by side: `task` (does it do what the task asks?), `code` (correct, tested, safe?);
    /// both are the default when there is a reviewer.
    #[arg(long, value_name = "LIST", value_enum, value_delimiter = ',')]
    pub(crate) reviews: Option<Vec<ReviewKindArg>>,
    /// The reviewers' agent [default: planrun.toml's, else the implementer's].
    ///
    /// A `command` implementer has no reviewer unless one is named.
    #[arg(long, value_name = "NAME", value_parser = parse_agent)]
    pub(crate) review_agent: Option<planrun_agents::AgentKind>,
    /// The reviewers' model.
    #[arg(long, value_name = "MODEL", hide_short_help = true)]
    pub(crate) review_model: Option<String>,
    /// The reviewers' program when the review agent is `command` (a template).
    ///
    /// Written like --agent-command; it must end its output with the verdict's JSON line.
    #[arg(long, value_name = "TEMPLATE", hide_short_help = true)]
    pub(crate) review_command: Option<String>,
    /// Before a task's first attempt, a reviewer hands the implementer its constraints.
    ///
    /// The reviewer reads the task and the project's standards first.
    #[arg(long, hide_short_help = true)]
    pub(crate) take: bool,
    /// After implementation, a tester agent writes the tests the task lacks.
    ///
    /// Beside the reviewers (both must pass; its tests are verified again), or before verify
    /// with `--reviews none`; with the agent of `[roles.test]`, else the review agent.
    #[arg(long, hide_short_help = true)]
    pub(crate) tester: bool,
    /// Implementers plan before code; a task plans in a free slot while a dependency is reviewed.
    #[arg(long, hide_short_help = true)]
    pub(crate) pipeline: bool,
}
pub(super) fn parse_agent(s: &str) -> Result<planrun_agents::AgentKind, String> {
    s.parse()
}
pub(super) const ESTIMATE_HELP: &str = concat!(
    "\
The figures come from defaults (per role: turns, context and output per turn, step durations,
1.3 attempts per task) until runs exist, then from this repository's own history of them
(.planrun/history.jsonl, the last 50 runs): tokens and dollars per agent run, steps and time per
task, per role and agent. Wall time is max(critical path, work / jobs).

With --json, stdout holds one JSON object:
  {\"tasks\", \"jobs\", \"stages\": [...], \"verify_tasks\", \"reviews\", \"attempts\",
   \"source\": \"defaults\"|\"history\"|\"mixed\", \"history_runs\",
   \"tokens\": {\"input\", \"output\", \"cache_read\", \"cache_write\", \"total\"} (null when no agent
   reports tokens), \"tokens_unknown\": [roles of command agents],
   \"cost_usd\" (null when a model has no price or a command agent runs), \"priced_usd\", \"unpriced\",
   \"wall_ms\", \"critical_path_ms\", \"work_ms\",
   \"per_task\": [{\"id\", \"tokens\", \"cost_usd\", \"time_ms\"}],
   \"per_role\": [{\"role\", \"agent\", \"model\", \"steps\", \"runs\", \"tokens\", \"cost_usd\", \"work_ms\",
   \"source\"}]}

",
    exits!(estimate)
);
