//! Command-line arguments (clap derive). Every flag is documented here; `--help` is generated.

use clap::{Args, Parser, Subcommand, ValueEnum};
use planrun_plan::Format;
use std::path::PathBuf;

const AFTER_HELP: &str = "\
Exit codes:
  0    success (warnings alone still exit 0)
  1    unexpected failure (e.g. the output or the journal could not be written)
  2    the plan has errors or could not be read
  3    `run`: some tasks are blocked, or the final check failed
  4    `run`: stopped by a model provider's error (rate limit, API error); run again to resume
  64   wrong command-line usage
  75   `run`, `retry`, `skip`: a run is going on in that state directory; stop it first
  130  `run`: interrupted (Ctrl-C); run it again to resume

Environment:
  NO_COLOR   set to any value to disable colour (colour is also off when stderr is not a terminal)

Plan formats are detected from the path (a file or a folder); see `planrun formats`.";

const SIMULATE_HELP: &str = "\
Output: the mean makespan (first task started to last task finished) of each policy over --runs
seeded runs, its ratio to the lower bound max(critical path, total work / -j), both terms of the
bound, and the utilization (busy slot time / (makespan x -j)). Times are in minutes.

Models: each attempt of a task (implement step plus verification, the last fifth of it when the
task has verify commands) takes a duration drawn from --duration and fails with probability
--fail-rate; a failed attempt is reworked, and a task that fails --max-rework + 1 times is
blocked, so the tasks behind it never run. The plan's final check passes at once. Run k uses seed
--seed + k; every policy sees the same durations and failures.

Policies:
  planrun  the engine: the longest remaining path first, as soon as a slot is free and no running
           task's files overlap (tasks without files run alone)
  serial3  one task at a time in dependency order (plan order breaks ties), in batches of 3,
           --batch-pause seconds between batches
  waves    dependency waves; a wave's tasks run in plan order as slots and files allow, and the
           next wave starts when all of them finished

Exit codes: 0 done, 2 the plan has errors or could not be read, 64 a flag has a wrong value.

With --json, stdout holds one JSON object:
  {\"plan\", \"tasks\", \"run_alone\", \"concurrency\", \"runs\", \"seed\", \"unit\": \"minutes\", \"duration\", \"fail_rate\",
   \"max_rework\", \"batch_pause_seconds\", \"lower_bound\", \"critical_path\", \"total_work\",
   \"policies\": {NAME: {\"makespan\", \"lower_bound\", \"ratio\", \"utilization\", \"attempts\", \"blocked_runs\"}}}";

/// Check and run implementation plans written for coding agents: read a plan in any supported
/// format, check it before a token is spent, and run its tasks in parallel through agents, with
/// verification run by planrun itself and a journal that survives any crash.
#[derive(Debug, Parser)]
#[command(name = "planrun", version, about, long_about = None, after_help = AFTER_HELP, propagate_version = true)]
pub(crate) struct Cli {
    /// When to colour diagnostics.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub(crate) color: ColorChoice,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorChoice {
    /// Colour when stderr is a terminal and NO_COLOR is not set.
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Check a plan before running it: tasks, dependency waves, critical path, file conflicts
    /// and every problem found, with file, line and column.
    #[command(
        after_help = "Repeated warnings of one kind are grouped into one line with the count and the first tasks;\n\
--verbose shows each in full. --explain TASK shows where each of the task's fields was read from.\n\n\
Exit codes: 0 no errors (warnings allowed), 2 the plan has errors or could not be read,\n\
64 --explain names no task of the plan.\n\n\
With --json, stdout holds one JSON object:\n  {\"tasks\": [{\"id\", \"title\", \"depends_on\", \"files\", \"verify\", \"acceptance\", \"status\"}],\n   \"waves\": [[id, ...]], \"critical_path\": [id, ...], \"conflicts\": [[a, b], ...],\n   \"diagnostics\": [{\"severity\", \"code\", \"message\", \"file\", \"line\", \"column\", \"help\", \"task\"}], \"format\", \"title\"}\n\
With --json --explain TASK: {\"id\", \"title\", \"status\", \"fields\": [{\"field\", \"value\", \"file\", \"line\", \"located\"}],\n   \"diagnostics\": [...]}; located is false when only the task's own place is known."
    )]
    Check(CheckArgs),
    /// Convert a plan in any supported format to planrun's markdown or JSON format.
    #[command(
        after_help = "The converted plan is written to stdout, or to --output. Problems found while reading are\n\
reported on stderr; a plan with errors is still converted (exit code 2) so nothing is lost."
    )]
    Import(ImportArgs),
    /// Run a plan: each task through its pipeline (implement, scope check, verify, reviews,
    /// commit, merge), in parallel where the dependency graph and file sets allow. Running it
    /// again resumes an unfinished run.
    #[command(after_help = RUN_HELP)]
    Run(Box<RunArgs>),
    /// Go on with a paused run (`--commit manual`, `--batch N`) or a stopped one: runs its last
    /// `planrun run` command line again, from the folder it was started in.
    #[command(after_help = "Exit codes: those of `planrun run`; 64 when the state directory holds no run to continue.")]
    Continue(ContinueArgs),
    /// List the work planrun kept because no branch had it (before it removed or reset a
    /// worktree or branch), and remove it with --yes.
    #[command(after_help = "planrun never deletes work that no branch reaches: it keeps it first under\n\
refs/planrun/kept/RUN/TASK/ATTEMPT (one commit with the worktree's files, untracked ones\n\
included). `git show --stat REF` shows one; `git checkout REF -- .` or `git cherry-pick REF`\n\
takes it back. `planrun gc --yes` deletes those refs.\n\n\
With --json, stdout holds one JSON object: {\"kept\": [{\"ref\", \"commit\"}], \"removed\"}.\n\n\
Exit codes: 0 listed or removed, 1 a ref could not be removed, 64 not in a git repository.")]
    Gc(GcArgs),
    /// Show where each task of a run is.
    #[command(
        after_help = "With --json, stdout holds one JSON object:\n  {\"plan\", \"state_dir\", \"outcome\",\n   \"tasks\": [{\"id\", \"title\", \"state\", \"stage\", \"attempts\", \"failures\", \"reason\", \"waiting_for\",\n              \"waits_for_commit\"}],\n   \"counts\": {state: n}, \"kept\": [{\"task\", \"attempt\", \"ref\", \"commit\"}]}\nStates: pending, ready, in_progress, in_review, rework, done, blocked, skipped; stage (while in\nreview): scope, test, verify, review, commit, merge.\n\nExit codes: 0 shown, 2 no run or the plan cannot be read."
    )]
    Status(StatusArgs),
    /// Run a task again on the next `planrun run`: a blocked, skipped or done task goes back to
    /// pending (its dependents that wait for it go on once it is done).
    #[command(after_help = TASK_CHOICE_HELP)]
    Retry(TaskArgs),
    /// Skip a task that is not running: its dependents go on as if it were done.
    #[command(after_help = TASK_CHOICE_HELP)]
    Skip(TaskArgs),
    /// Show a task's attempts: each step, how it ended, and its output.
    Log(LogArgs),
    /// Explain a task that did not get through (the escalation report): what it required, what
    /// each attempt produced and which gate rejected it and why, and what to do next.
    #[command(
        after_help = "With --json, stdout holds one JSON object:\n  {\"task\", \"title\", \"state\", \"required\": {\"description\", \"files\", \"acceptance\", \"checks\"},\n   \"rejections\": [{\"attempt\", \"gate\", \"reason\", \"interrupted\"}], \"usage\", \"recommendation\"}\nA run also writes this report for every blocked task to .planrun/runs/ID/escalations/TASK.md."
    )]
    Explain(ExplainArgs),
    /// Estimate a run before it starts: the tasks, how many at once, the stages each goes
    /// through, and the tokens, dollars and wall time it should take (from the plan's size and
    /// per-role figures, or from this repository's own earlier runs). Takes the same options as
    /// `planrun run`; runs nothing and creates nothing.
    #[command(after_help = ESTIMATE_HELP)]
    Estimate(Box<RunArgs>),
    /// What a run cost and did, for people or scripts: per task, per stage and per agent, with
    /// the budget and the estimate beside the actual figures.
    #[command(after_help = REPORT_HELP)]
    Report(ReportArgs),
    /// Simulate running a plan on a virtual clock (no agents, no waiting) with the real engine,
    /// and compare planrun's schedule with the lower bound and with other orchestrators' policies.
    #[command(after_help = SIMULATE_HELP)]
    Simulate(crate::simulate::SimulateArgs),
    /// Print the JSON Schema of planrun's JSON plan format.
    Schema,
    /// List the plan formats planrun reads and how each is recognised.
    Formats,
    /// Check the agent CLIs: installed, version, endpoint, credentials, and with --probe one
    /// real headless run each; says what to fix.
    #[command(
        after_help = "Exit codes: 0 ready (every agent named with --agent works; without --agent, at least one CLI is\n\
installed and every installed one works), 1 a problem was found, 64 wrong usage.\n\n\
With --json, stdout holds one JSON object:\n  {\"ok\", \"agents\": [{\"agent\", \"installed\", \"path\", \"version\", \"endpoint\", \"reachable\",\n   \"credentials\", \"probe\": {\"ok\", \"error\", \"elapsed_ms\", \"session\", \"model\", \"usage\", \"cost_usd\", \"answer\", \"log\"},\n   \"problems\", \"notes\"}]}\nCredentials are reported by where they come from, never by value."
    )]
    Doctor(crate::doctor::DoctorArgs),
}

#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    /// The plan: a file, or a folder holding one (e.g. a repository with `.workflow/active/WFS-*`).
    pub(crate) plan: PathBuf,
    /// Read the plan as this format instead of detecting it: markdown, json, blueprint, uc,
    /// planpipe, ccw, cm, openspec, superpowers, taskmaster or speckit (see `planrun formats`).
    #[arg(long, value_parser = parse_format, value_name = "FORMAT")]
    pub(crate) format: Option<Format>,
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    #[command(flatten)]
    pub(crate) plan: PlanArgs,
    /// Print the result as one JSON object on stdout (a stable contract; see below).
    #[arg(long)]
    pub(crate) json: bool,
    /// Show where each field of this task was read from (file:line) and what was said about it.
    #[arg(long, value_name = "TASK")]
    pub(crate) explain: Option<String>,
    /// Show every warning in full instead of grouping repeated ones.
    #[arg(long, short)]
    pub(crate) verbose: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    #[command(flatten)]
    pub(crate) plan: PlanArgs,
    /// The format to write.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub(crate) to: Target,
    /// Write to this file instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
}

const RUN_HELP: &str = "\
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
  scope/reviews/take/tester, and [prices.\"MODEL\"] input/output/cache_read/cache_write in USD
  per million tokens. See docs/agents.md.

The pipeline (each task, in order; see docs/running.md):
  implement   the agent, in the task's workspace (with --take, a reviewer's constraints first)
  scope       the real `git diff` against the task's `Files:`; --scope strict sends changes
              outside them back, warn reports them, off skips [default: strict in worktrees,
              warn in a shared tree, where planrun cannot tell a task's edits from yours]
  test        with --tester: an agent writes the tests the task lacks
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

Exit codes: 0 all tasks done, 2 invalid plan, 3 tasks blocked or the final check failed,
4 stopped by the model provider's error (resumable), 5 paused for you (--commit manual,
--batch; `planrun continue`), 130 interrupted, 1 the journal could not be written, 64 wrong
usage (e.g. no agent, or its CLI is not installed).

Durations: 90s, 5m, 1h30m, 250ms, or `none` for no limit.";

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub(crate) plan: PlanArgs,
    /// How many tasks run at once (default: 2 for 1–3 tasks, 3 for 4–8, 4 for more).
    #[arg(short = 'j', long = "jobs", value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) jobs: Option<u16>,
    /// The agent that implements each task: claude, codex, gemini, opencode, or command (your
    /// own program, see --agent-command). Default: planrun.toml's, else `command` when
    /// --agent-command is given. A task's own `agent` field overrides it for that task.
    #[arg(long, value_name = "NAME", value_parser = parse_agent)]
    pub(crate) agent: Option<planrun_agents::AgentKind>,
    /// The model the agent uses (passed to the CLI's model option); default: planrun.toml's,
    /// else the CLI's own default.
    #[arg(long, value_name = "MODEL")]
    pub(crate) model: Option<String>,
    /// The program that implements a task, as a template (see below): the `command` agent.
    /// Also read from PLANRUN_AGENT_COMMAND.
    #[arg(long, value_name = "TEMPLATE", env = "PLANRUN_AGENT_COMMAND")]
    pub(crate) agent_command: Option<String>,
    /// The configuration file (default: planrun.toml at the repository's top level, if any).
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Let agents see this environment variable too (a name, or a PREFIX*); repeatable. Agents
    /// see only PATH, HOME, locale and proxy settings, their CLI's own variables, and these.
    #[arg(long = "pass-env", value_name = "NAME")]
    pub(crate) pass_env: Vec<String>,
    /// How many rework rounds resume the implementer's own session (it keeps its context)
    /// before a fresh session starts [default: 2, or planrun.toml's resume_rounds].
    #[arg(long, value_name = "N")]
    pub(crate) resume_rounds: Option<u32>,
    /// How many times a failed task goes back to its agent (rework); one more failure blocks it.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub(crate) max_rework: u32,
    #[command(flatten)]
    pub(crate) pipeline: PipelineArgs,
    #[command(flatten)]
    pub(crate) cost: CostArgs,
    #[command(flatten)]
    pub(crate) state: StateArgs,
    /// Print one JSON object per event on stdout instead of progress.
    #[arg(long)]
    pub(crate) json: bool,
    /// Do not mark progress in the plan's own files at the end (by default done tasks get the
    /// marks their format uses: `Status: done`, ✅ headings, ticked boxes, status fields, status
    /// and summary files; see docs/importers/README.md).
    #[arg(long)]
    pub(crate) no_status_files: bool,
    /// Wall-clock limit for one agent run.
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = parse_limit)]
    pub(crate) timeout: Limit,
    /// Stop an agent that prints nothing for this long.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_limit)]
    pub(crate) stall_timeout: Limit,
    /// Wall-clock limit for one verify command.
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = parse_limit)]
    pub(crate) verify_timeout: Limit,
    /// Time between SIGTERM and SIGKILL when a step is stopped.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub(crate) grace: std::time::Duration,
    /// After the first Ctrl-C, how long running steps may take to finish before they are stopped.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub(crate) drain_timeout: std::time::Duration,
}

/// Estimates, budgets, rate limits and the watchdog.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Cost")]
pub(crate) struct CostArgs {
    /// Start without asking after the estimate (required without a terminal when an agent CLI
    /// will run).
    #[arg(long, short = 'y')]
    pub(crate) yes: bool,
    /// Stop every agent at once when the run has spent this many dollars (counting what earlier
    /// invocations of the run spent); exit 4. New steps stop starting at --soft-budget percent.
    #[arg(long, value_name = "USD")]
    pub(crate) budget_usd: Option<f64>,
    /// The same, in tokens (input + output, cache included).
    #[arg(long, value_name = "N")]
    pub(crate) budget_tokens: Option<u64>,
    /// A task that alone spends this many dollars is stopped and blocked with that reason.
    #[arg(long, value_name = "USD")]
    pub(crate) task_budget_usd: Option<f64>,
    /// The same, in tokens.
    #[arg(long, value_name = "N")]
    pub(crate) task_budget_tokens: Option<u64>,
    /// At this share of a run budget, nothing new starts and the steps in flight finish
    /// [default: 80].
    #[arg(long, value_name = "PERCENT", value_parser = clap::value_parser!(u8).range(1..=100))]
    pub(crate) soft_budget: Option<u8>,
    /// How long an agent whose provider rate-limits it waits before its next step, when the
    /// provider gives no reset time [default: 60s, doubling up to 15m].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub(crate) rate_limit_wait: Option<std::time::Duration>,
    /// Report a run in which no agent printed anything for this long, and apply --on-no-progress
    /// [default: 20m; `none` to switch off].
    #[arg(long, value_name = "DURATION", value_parser = parse_limit)]
    pub(crate) watchdog: Option<Limit>,
    /// What the watchdog does about a run making no progress: `retry` (stop the steps and run
    /// them again in fresh sessions), `block` (block the running tasks) or `stop` (stop the run,
    /// exit 4) [default: retry].
    #[arg(long, value_name = "POLICY", value_enum)]
    pub(crate) on_no_progress: Option<crate::run::WatchPolicy>,
    /// What to do when a task fails the same way twice in a row: `retry` (the next attempt in a
    /// fresh session), `block` or `stop` [default: retry].
    #[arg(long, value_name = "POLICY", value_enum)]
    pub(crate) on_repeat: Option<crate::run::WatchPolicy>,
}

/// The stages of each task's pipeline, where tasks work and who commits.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Pipeline")]
pub(crate) struct PipelineArgs {
    /// Where tasks work: `worktree` (each task in its own git worktree and branch, merged onto
    /// the integration branch one at a time; the default in a git repository with a commit) or
    /// `shared` (one working tree; the default elsewhere). A resumed run keeps its first mode.
    #[arg(long, value_name = "MODE", value_enum)]
    pub(crate) workspace: Option<crate::run::WorkspaceMode>,
    /// The branch tasks are merged onto in worktree mode [default: a new branch planrun/RUN
    /// from where the run started].
    #[arg(long, value_name = "BRANCH")]
    pub(crate) into: Option<String>,
    /// Worktree mode: start the run from your working tree as it is, uncommitted and untracked
    /// files included (not ignored ones), recorded as one commit at the base of the run's branch,
    /// instead of from the last commit.
    #[arg(long)]
    pub(crate) include_uncommitted: bool,
    /// Worktree mode, a resumed run: bring the run's branch up to date with your current commit
    /// (HEAD) first, so tasks that start from now on see what you committed since the run began
    /// (a fast-forward, or a merge commit; on a conflict nothing changes and the files are named).
    #[arg(long)]
    pub(crate) update_base: bool,
    /// `auto`: planrun commits each task that passes every stage (`feat(ID): title`, with a
    /// `Planrun-Task: ID` trailer) and merges it; `manual`: planrun pauses after each task with
    /// its report for you to inspect and commit, then `planrun continue` (in worktree mode the
    /// task waits in its worktree and only your commits are merged).
    #[arg(long, value_name = "MODE", value_enum)]
    pub(crate) commit: Option<crate::run::CommitMode>,
    /// Pause after every N finished tasks with a batch summary; `planrun continue` goes on.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) batch: Option<u32>,
    /// Changes outside a task's declared files, found from the real git diff: `strict` sends
    /// the task back with the list, `warn` reports them, `off` does not check [default: strict in
    /// worktree mode; warn in a shared tree, where others' edits cannot be told apart].
    #[arg(long, value_name = "POLICY", value_enum)]
    pub(crate) scope: Option<crate::run::ScopePolicy>,
    /// The reviews each task gets after its checks pass, side by side: `task` (does it do what
    /// the task asks?), `code` (correct, tested, safe?), both (`task,code`, the default when
    /// there is a reviewer) or `none`.
    #[arg(long, value_name = "LIST", value_enum, value_delimiter = ',')]
    pub(crate) reviews: Option<Vec<crate::run::ReviewKind>>,
    /// The reviewers' agent [default: planrun.toml's [roles.review], else the implementer's CLI;
    /// a `command` implementer has no reviewer unless one is named].
    #[arg(long, value_name = "NAME", value_parser = parse_agent)]
    pub(crate) review_agent: Option<planrun_agents::AgentKind>,
    /// The reviewers' model.
    #[arg(long, value_name = "MODEL")]
    pub(crate) review_model: Option<String>,
    /// The reviewers' program when the review agent is `command` (a template like
    /// --agent-command; it must end its output with the verdict's JSON line).
    #[arg(long, value_name = "TEMPLATE")]
    pub(crate) review_command: Option<String>,
    /// Before a task's first attempt, a reviewer reads it and the project's standards and hands
    /// the implementer its constraints.
    #[arg(long)]
    pub(crate) take: bool,
    /// After implementation, a tester agent writes the tests the task lacks (before verify and
    /// the reviews), with the review agent.
    #[arg(long)]
    pub(crate) tester: bool,
}

fn parse_agent(s: &str) -> Result<planrun_agents::AgentKind, String> {
    s.parse()
}

#[derive(Debug, Args)]
pub(crate) struct StateArgs {
    /// The state directory (default: .planrun/ at the git top level of the plan, or beside the
    /// plan outside git).
    #[arg(long, value_name = "DIR")]
    pub(crate) state_dir: Option<PathBuf>,
}

const ESTIMATE_HELP: &str = "\
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

Exit codes: 0 estimated, 2 the plan has errors or could not be read, 64 wrong usage.";

const REPORT_HELP: &str = "\
RUN is a folder name under .planrun/runs/ (the run's id, YYYYMMDD-HHMMSS). A state directory
holds one run: RUN checks that it is that one; without it, the report is of that run.
With --json, stdout holds one JSON object: run, totals, tasks (each with per_stage and its step
report), per_stage, per_agent, budget, estimate (see docs/running.md).

Exit codes: 0 shown, 2 no run here or no run of that id.";

#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// The run (its id); default: the state directory's run.
    pub(crate) run: Option<String>,
    #[command(flatten)]
    pub(crate) state: StateArgs,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct GcArgs {
    /// Remove the kept work (without it, only list it).
    #[arg(long, short = 'y')]
    pub(crate) yes: bool,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ContinueArgs {
    #[command(flatten)]
    pub(crate) state: StateArgs,
}

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// The plan (default: the one the run in the state directory recorded).
    pub(crate) plan: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) state: StateArgs,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct TaskArgs {
    /// The task's id.
    pub(crate) task: String,
    /// The plan (default: the one the run in the state directory recorded).
    #[arg(long, value_name = "PLAN")]
    pub(crate) plan: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) state: StateArgs,
}

const TASK_CHOICE_HELP: &str = "\
Before the plan's first run, name the plan (`--plan PLAN`): the choice is kept in the state
directory, which is created, and the first `planrun run` of that plan honours it.

Exit codes: 0 recorded, 2 no run here and no plan named (or the plan cannot be read), 64 no such
task or its state refuses it, 75 a run is going on in that state directory (stop it, then try
again), 1 the journal could not be written.";

#[derive(Debug, Args)]
pub(crate) struct ExplainArgs {
    #[command(flatten)]
    pub(crate) task: TaskArgs,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct LogArgs {
    #[command(flatten)]
    pub(crate) task: TaskArgs,
    /// Only this attempt.
    #[arg(long, value_name = "N")]
    pub(crate) attempt: Option<u32>,
    /// Only the list of steps, without their output.
    #[arg(long)]
    pub(crate) summary: bool,
}

/// A limit that may be switched off.
pub(crate) type Limit = Option<std::time::Duration>;

pub(crate) fn parse_limit(s: &str) -> Result<Limit, String> {
    if matches!(s, "none" | "off" | "0") { Ok(None) } else { parse_duration(s).map(Some) }
}

/// `250ms`, `90s`, `5m`, `2h`, `1h30m`, or plain seconds.
pub(crate) fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let bad = || format!("`{s}` is not a duration; write e.g. 90s, 5m, 1h30m or 250ms");
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(std::time::Duration::from_secs(secs));
    }
    let mut total = std::time::Duration::ZERO;
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
            "ms" => std::time::Duration::from_millis(n),
            "s" => std::time::Duration::from_secs(n),
            "m" => std::time::Duration::from_secs(n.saturating_mul(60)),
            "h" => std::time::Duration::from_secs(n.saturating_mul(3600)),
            _ => return Err(bad()),
        };
        total = total.saturating_add(part);
        rest = next;
    }
    Ok(total)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Target {
    /// planrun markdown (docs/plan-format.md).
    Markdown,
    /// planrun JSON (`planrun schema`).
    Json,
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations_parse_and_bad_ones_say_how_to_write_them() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("12"), Ok(Duration::from_secs(12)));
        assert_eq!(parse_limit("none"), Ok(None));
        for bad in ["", "5x", "m", "1.5s", "-3s"] {
            let e = parse_duration(bad).unwrap_err();
            assert!(e.contains("not a duration"), "{bad}: {e}");
        }
    }
}
