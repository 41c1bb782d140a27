//! Command-line arguments (clap derive). Every flag is documented here; `--help` is generated.
//!
//! `-h` is the short help (at most 40 lines, each command's exit codes at the end); `--help`
//! adds the detail: the doc comments' later paragraphs (`long_help`, `long_about`) and each
//! command's `after_long_help`.

use crate::run::options::{self as opts, Limit, parse_duration, parse_limit};
use clap::{Args, Parser, Subcommand, ValueEnum};
use planrun_plan::Format;
use std::path::PathBuf;

/// Each command's exit codes, shown at the end of both its `-h` and its `--help`.
macro_rules! exits {
    (top) => {
        "Exit codes:
  0    success (warnings alone still exit 0); 1 unexpected failure (output or journal not written)
  2    the plan has errors or could not be read, or there is no run where one is needed
  3    `run`: some tasks are blocked, or the final check failed
  4    `run`: stopped, no task blamed (provider error, budget, agent not startable): see advice
  5    `run`, `continue`: paused for you (--commit manual, --batch N); `planrun continue` goes on
  64   wrong command-line usage (`init`: a file it would write exists)
  75   `run`, `retry`, `skip`: a run is going on in that state directory; stop it first
  130  `run`: interrupted (Ctrl-C); run it again to resume"
    };
    (check) => {
        "Exit codes: 0 no errors (warnings allowed), 2 the plan has errors or could not be read, 64 --explain
names no task of the plan, 1 the report could not be written."
    };
    (import) => {
        "Exit codes: 0 converted, 2 the plan has errors (it is still converted) or could not be read, 1 the
output could not be written."
    };
    (run) => {
        "Exit codes: 0 all tasks done, 2 invalid plan, 3 tasks blocked or the final check failed, 4 stopped
with no task blamed (a provider's error, a budget, an agent that cannot start; see its advice), 5 paused for you (--commit manual, --batch;
`planrun continue`), 130 interrupted, 1 the journal could not be written, 64 wrong usage (e.g. no
agent, or its CLI is not installed), 75 a run is going on in that state directory."
    };
    (continue) => {
        "Exit codes: those of `planrun run`; 2 no run in the state directory (or its plan cannot be read),
64 the run recorded no command line, or it cannot be read again or started from its folder."
    };
    (gc) => {
        "Exit codes: 0 listed or removed, 1 a ref could not be removed, 64 not in a git repository."
    };
    (status) => {
        "Exit codes: 0 shown (with --watch: once the run ended), 2 no run or the plan cannot be read, 64 the
plan named is not the run's, 1 the state cannot be read."
    };
    (task) => {
        "Exit codes: 0 recorded, 2 no run here and no plan named (or the plan cannot be read), 64 no such
task or its state refuses it, 75 a run is going on in that state directory (stop it, then try
again), 1 the journal could not be written."
    };
    (log) => {
        "Exit codes: 0 shown (with --follow: once the task is done, blocked or skipped, or the run ended),
2 no run or the plan cannot be read, 64 no such task, 1 the state cannot be read."
    };
    (explain) => {
        "Exit codes: 0 explained, 2 no run or the plan cannot be read, 64 no such task, 1 the report could
not be made."
    };
    (estimate) => {
        "Exit codes: 0 estimated, 2 the plan has errors or could not be read, 64 wrong usage."
    };
    (report) => {
        "Exit codes: 0 shown, 2 no run here or no run of that id."
    };
    (simulate) => {
        "Exit codes: 0 done, 2 the plan has errors or could not be read, 64 a flag has a wrong value."
    };
    (print) => {
        "Exit codes: 0 printed, 1 stdout could not be written."
    };
    (doctor) => {
        "Exit codes: 0 ready (every agent named with --agent works; without --agent, at least one CLI is
installed and every installed one works), 1 a problem was found, 64 wrong usage."
    };
    (completions) => {
        "Exit codes: 0 printed, 64 unknown shell."
    };
    (man) => {
        "Exit codes: 0 written, 64 no such command, 1 a page could not be written."
    };
    (init) => {
        "Exit codes: 0 written, 64 a file it would write exists (--force overwrites it), 1 a file could not
be written."
    };
}

const AFTER_LONG_HELP: &str = concat!(
    exits!(top),
    "

Each command's --help lists its own exit codes.

Output: --quiet prints only errors and the final result line (`run`: no progress; `check`: the
errors and the verdict); --verbose shows in full what is otherwise grouped or cut (repeated
warnings in `check`, whole reasons in `run` and `status`).

Environment:
  NO_COLOR   set to any value to disable colour (colour is also off when stderr is not a terminal)

Plan formats are detected from the path (a file or a folder); see `planrun formats`. Shell
completions: `planrun completions SHELL`; the manual page: `planrun man`."
);

const SIMULATE_HELP: &str = concat!(
    "\
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

With --json, stdout holds one JSON object:
  {\"plan\", \"tasks\", \"run_alone\", \"concurrency\", \"runs\", \"seed\", \"unit\": \"minutes\", \"duration\", \"fail_rate\",
   \"max_rework\", \"batch_pause_seconds\", \"lower_bound\", \"critical_path\", \"total_work\",
   \"policies\": {NAME: {\"makespan\", \"lower_bound\", \"ratio\", \"utilization\", \"attempts\", \"blocked_runs\"}}}

",
    exits!(simulate)
);

/// Check and run implementation plans written for coding agents: read a plan in any supported
/// format, check it before a token is spent, and run its tasks in parallel through agents, with
/// verification run by planrun itself and a journal that survives any crash.
#[derive(Debug, Parser)]
#[command(
    name = "planrun",
    version,
    about,
    long_about = None,
    after_help = exits!(top),
    after_long_help = AFTER_LONG_HELP,
    propagate_version = true,
    // `-h` and `--help` on every command say it all, within 40 lines.
    disable_help_subcommand = true
)]
pub(crate) struct Cli {
    /// When to colour diagnostics.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true, hide_short_help = true, display_order = 1000)]
    pub(crate) color: ColorChoice,
    /// Print only errors and the final result line.
    #[arg(long, short, global = true, conflicts_with = "verbose", display_order = 1000)]
    pub(crate) quiet: bool,
    /// Show in full what is otherwise grouped or summarised.
    ///
    /// `check`: every warning in full, not grouped by kind; `run` and `status`: a blocked or
    /// sent-back task's whole reason, not only its first line.
    #[arg(long, short, global = true, display_order = 1000)]
    pub(crate) verbose: bool,
    #[command(subcommand)]
    pub(crate) command: Command,
}

impl Cli {
    /// The verbosity the global flags ask for.
    pub(crate) fn verbosity(&self) -> crate::out::Verbosity {
        match (self.quiet, self.verbose) {
            (true, _) => crate::out::Verbosity::Quiet,
            (false, true) => crate::out::Verbosity::Verbose,
            (false, false) => crate::out::Verbosity::Normal,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorChoice {
    /// Colour when stderr is a terminal and NO_COLOR is not set.
    Auto,
    Always,
    Never,
}

const CHECK_HELP: &str = concat!(
    "Repeated warnings of one kind are grouped into one line with the count and the first tasks;
--verbose shows each in full. --explain TASK shows where each of the task's fields was read from.
--quiet prints only the errors and the verdict line.

With --json, stdout holds one JSON object:
  {\"tasks\": [{\"id\", \"title\", \"depends_on\", \"files\", \"verify\", \"acceptance\", \"status\"}],
   \"waves\": [[id, ...]], \"critical_path\": [id, ...], \"conflicts\": [[a, b], ...],
   \"diagnostics\": [{\"severity\", \"code\", \"message\", \"file\", \"line\", \"column\", \"help\", \"task\"}],
   \"format\", \"title\"}
With --json --explain TASK: {\"id\", \"title\", \"status\", \"fields\": [{\"field\", \"value\", \"file\", \"line\",
\"located\"}], \"diagnostics\": [...]}; located is false when only the task's own place is known.

",
    exits!(check)
);

const IMPORT_HELP: &str = concat!(
    "The converted plan is written to stdout, or to --output. Problems found while reading are
reported on stderr; a plan with errors is still converted (exit code 2) so nothing is lost.

",
    exits!(import)
);

const GC_HELP: &str = concat!(
    "planrun never deletes work that no branch reaches: it keeps it first under
refs/planrun/kept/RUN/TASK/ATTEMPT (one commit with the worktree's files, untracked ones
included). `git show --stat REF` shows one; `git checkout REF -- .` or `git cherry-pick REF`
takes it back. `planrun gc --yes` deletes those refs.

With --json, stdout holds one JSON object: {\"kept\": [{\"ref\", \"commit\"}], \"removed\"}.

",
    exits!(gc)
);

const STATUS_HELP: &str = concat!(
    "With --watch, the status is shown again every second until the run ends (or Ctrl-C): on a
terminal the screen is redrawn; otherwise a new block is printed only when something changed,
each block ending with a line `--`. With --json --watch, one JSON object per change.

With --json, stdout holds one JSON object:
  {\"plan\", \"state_dir\", \"running\", \"outcome\",
   \"tasks\": [{\"id\", \"title\", \"state\", \"stage\", \"attempts\", \"failures\", \"reason\", \"waiting_for\",
              \"waits_for_commit\", \"usage\"}],
   \"counts\": {state: n}, \"kept\": [{\"task\", \"attempt\", \"ref\", \"commit\"}], \"usage\", \"costs\"}
States: pending, ready, in_progress, in_review, rework, done, blocked, skipped; stage (while in
review): scope, test, verify, review, commit, merge.

",
    exits!(status)
);

const TASK_CHOICE_HELP: &str = concat!(
    "Before the plan's first run, name the plan (`--plan PLAN`): the choice is kept in the state
directory, which is created, and the first `planrun run` of that plan honours it.

",
    exits!(task)
);

const LOG_HELP: &str = concat!(
    "Each recorded step of each attempt: how it ended, how long it took, the agent's session, tokens
and cost, what the stage found, and the step's log (.planrun/logs/TASK.ATTEMPT.STEP.log).

--follow prints the log of the step running now as it grows (like `tail -f`), then the next
step's and the next attempt's, and ends when the task is done, blocked or skipped, or the run
stops.

With --json, stdout holds one JSON object:
  {\"task\", \"title\", \"state\", \"running\": {\"attempt\", \"step\", \"log\"} | null,
   \"steps\": [{\"attempt\", \"step\", \"ok\", \"summary\", \"elapsed_ms\", \"logs\": [path, ...],
              \"agent\": {\"agent\", \"model\", \"session\", \"resumed\", \"usage\", \"cost_usd\", \"cost_source\"} | null,
              \"detail\"}]}

",
    exits!(log)
);

const EXPLAIN_HELP: &str = concat!(
    "With --json, stdout holds one JSON object:
  {\"task\", \"title\", \"state\", \"required\": {\"description\", \"files\", \"acceptance\", \"checks\"},
   \"rejections\": [{\"attempt\", \"gate\", \"reason\", \"interrupted\"}], \"usage\", \"recommendation\"}
A run also writes this report for every blocked task to .planrun/runs/ID/escalations/TASK.md.

",
    exits!(explain)
);

const DOCTOR_HELP: &str = concat!(
    "With --json, stdout holds one JSON object:
  {\"ok\", \"agents\": [{\"agent\", \"installed\", \"path\", \"version\", \"endpoint\", \"reachable\",
   \"credentials\", \"probe\": {\"ok\", \"error\", \"elapsed_ms\", \"session\", \"model\", \"usage\", \"cost_usd\",
   \"answer\", \"log\"}, \"problems\", \"notes\"}]}
Credentials are reported by where they come from, never by value.

",
    exits!(doctor)
);

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Check a plan before running it: tasks, waves, critical path, file conflicts, problems.
    ///
    /// Every problem found is shown with its file, line and column.
    #[command(after_help = exits!(check), after_long_help = CHECK_HELP)]
    Check(CheckArgs),
    /// Convert a plan in any supported format to planrun's markdown or JSON format.
    #[command(after_help = exits!(import), after_long_help = IMPORT_HELP)]
    Import(ImportArgs),
    /// Run a plan: each task through its pipeline, in parallel where the plan allows.
    ///
    /// The pipeline: implement, scope check, verify, reviews, commit, merge; tasks run in
    /// parallel where the dependency graph and file sets allow. Running it again resumes an
    /// unfinished run.
    #[command(after_help = exits!(run), after_long_help = RUN_HELP)]
    Run(Box<RunArgs>),
    /// Go on with a paused or stopped run: its last `planrun run` command line, run again.
    ///
    /// A run pauses with `--commit manual` and `--batch N` (exit 5); one stopped by a provider
    /// error, a budget or Ctrl-C goes on too. The command line is run from the folder it was
    /// started in.
    #[command(after_help = exits!(continue), after_long_help = exits!(continue))]
    Continue(ContinueArgs),
    /// List the work planrun kept because no branch had it, and remove it with --yes.
    ///
    /// Work is kept before planrun removes or resets a worktree or branch.
    #[command(after_help = exits!(gc), after_long_help = GC_HELP)]
    Gc(GcArgs),
    /// Show where each task of a run is (--watch: until the run ends).
    #[command(after_help = exits!(status), after_long_help = STATUS_HELP)]
    Status(StatusArgs),
    /// Run a blocked, skipped or done task again on the next `planrun run`.
    ///
    /// The task goes back to pending; its dependents that wait for it go on once it is done.
    #[command(after_help = exits!(task), after_long_help = TASK_CHOICE_HELP)]
    Retry(TaskArgs),
    /// Skip a task that is not running: its dependents go on as if it were done.
    #[command(after_help = exits!(task), after_long_help = TASK_CHOICE_HELP)]
    Skip(TaskArgs),
    /// Show a task's attempts: each step, how it ended, its output (--follow: live).
    #[command(after_help = exits!(log), after_long_help = LOG_HELP)]
    Log(LogArgs),
    /// Explain a task that did not get through, and what to do next.
    ///
    /// The escalation report: what the task required, what each attempt produced, which gate
    /// rejected it and why, and what to do next.
    #[command(after_help = exits!(explain), after_long_help = EXPLAIN_HELP)]
    Explain(ExplainArgs),
    /// Estimate a run before it starts: tasks, stages, tokens, dollars and wall time.
    ///
    /// The tasks, how many run at once, the stages each goes through, and the tokens, dollars
    /// and wall time it should take (from the plan's size and per-role figures, or from this
    /// repository's own earlier runs). Takes the options of `planrun run` that shape a run (the
    /// plan, agents, models, -j, the pipeline, the state directory); `run`'s other options are
    /// accepted and ignored, so a run's command line can be estimated as it is. Runs nothing and
    /// creates nothing.
    #[command(
        after_help = exits!(estimate),
        after_long_help = ESTIMATE_HELP
    )]
    Estimate(Box<RunArgs>),
    /// What a run cost and did: per task, stage and agent, against budget and estimate.
    #[command(after_help = exits!(report), after_long_help = REPORT_HELP)]
    Report(ReportArgs),
    /// Simulate a plan's run on a virtual clock and compare schedules.
    ///
    /// No agents, no waiting: the real engine on a virtual clock, compared with the lower bound
    /// and with other orchestrators' policies.
    #[command(after_help = exits!(simulate), after_long_help = SIMULATE_HELP)]
    Simulate(crate::simulate::SimulateArgs),
    /// Print the JSON Schema of planrun's JSON plan format, or of `run --json` events.
    #[command(after_help = exits!(print), after_long_help = exits!(print))]
    Schema {
        /// The schema of one line of `planrun run --json` / `continue --json` instead.
        #[arg(long)]
        events: bool,
    },
    /// List the plan formats planrun reads and how each is recognised.
    #[command(after_help = exits!(print), after_long_help = exits!(print))]
    Formats,
    /// Check the agent CLIs: installed, version, endpoint, credentials; says what to fix.
    ///
    /// With --probe, one real headless run of each.
    #[command(after_help = exits!(doctor), after_long_help = DOCTOR_HELP)]
    Doctor(crate::doctor::DoctorArgs),
    /// Write a commented planrun.toml and an example plan.md to start from.
    #[command(after_help = exits!(init), after_long_help = crate::init::LONG_HELP)]
    Init(crate::init::InitArgs),
    /// Print the shell completion script for bash, zsh, fish, elvish or powershell.
    #[command(after_help = exits!(completions), after_long_help = crate::completions::COMPLETIONS_HELP)]
    Completions(crate::completions::CompletionsArgs),
    /// Print planrun's manual page (roff), or write one page per command with --dir.
    #[command(after_help = exits!(man), after_long_help = crate::completions::MAN_HELP)]
    Man(crate::completions::ManArgs),
}

#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    /// The plan: a file, or a folder holding one.
    ///
    /// A folder: e.g. a repository with `.workflow/active/WFS-*`; see `planrun formats`.
    pub(crate) plan: PathBuf,
    /// Read the plan as this format instead of detecting it (see `planrun formats`).
    ///
    /// markdown, json, blueprint, uc, planpipe, ccw, cm, openspec, superpowers, taskmaster or
    /// speckit.
    #[arg(long, value_parser = parse_format, value_name = "FORMAT", hide_short_help = true)]
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

const RUN_HELP: &str = concat!(
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

Durations: 90s, 5m, 1h30m, 250ms, or `none` for no limit.

",
    exits!(run)
);

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub(crate) plan: PlanArgs,
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
    #[command(flatten)]
    pub(crate) state: StateArgs,
    /// Print one JSON object per event on stdout instead of progress.
    #[arg(long)]
    pub(crate) json: bool,
    /// Do not mark progress in the plan's own files at the end.
    ///
    /// By default done tasks get the marks their format uses: `Status: done`, ✅ headings,
    /// ticked boxes, status fields, status and summary files; see docs/importers/README.md.
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
    /// Who commits: planrun (`auto`), or you while it pauses (`manual`).
    ///
    /// `auto` commits each task that passes every stage (`feat(ID): title`, with a
    /// `Planrun-Task: ID` trailer) and merges it; `manual` pauses after each task with its
    /// report for you to inspect and commit, then `planrun continue` (in worktree mode the task
    /// waits in its worktree and only your commits are merged).
    #[arg(long, value_name = "MODE", value_enum)]
    pub(crate) commit: Option<CommitModeArg>,
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
    /// Before verify and the reviews, with the review agent.
    #[arg(long, hide_short_help = true)]
    pub(crate) tester: bool,
}

fn parse_agent(s: &str) -> Result<planrun_agents::AgentKind, String> {
    s.parse()
}

#[derive(Debug, Args)]
pub(crate) struct StateArgs {
    /// The state directory [default: .planrun/ at the git top level].
    ///
    /// Outside git: .planrun/ beside the plan.
    #[arg(long, value_name = "DIR")]
    pub(crate) state_dir: Option<PathBuf>,
}

const ESTIMATE_HELP: &str = concat!(
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

const REPORT_HELP: &str = concat!(
    "\
RUN is a folder name under .planrun/runs/ (the run's id, YYYYMMDD-HHMMSS). A state directory
holds one run: RUN checks that it is that one; without it, the report is of that run.
With --json, stdout holds one JSON object: run, totals, tasks (each with per_stage and its step
report), per_stage, per_agent, budget, estimate (see docs/running.md).

",
    exits!(report)
);

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
    /// Show it again every second until the run ends (or Ctrl-C).
    ///
    /// On a terminal the screen is redrawn; otherwise a new block is printed only when
    /// something changed.
    #[arg(long, short = 'w')]
    pub(crate) watch: bool,
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
    /// Follow the running step's log as it grows, into the next steps and attempts.
    ///
    /// Like `tail -f`; ends when the task is done, blocked or skipped, or the run stops.
    #[arg(long, short = 'f', conflicts_with = "json")]
    pub(crate) follow: bool,
    /// Print the recorded steps as one JSON object on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

/// The whole command tree: the derived one, with `estimate`'s help trimmed to what it uses.
pub(crate) fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command().mut_subcommand("estimate", |c| c.mut_args(estimate_arg))
}

/// Parses the process's arguments with [`command`].
pub(crate) fn parse() -> Result<Cli, clap::Error> {
    let mut matches = command().try_get_matches()?;
    <Cli as clap::FromArgMatches>::from_arg_matches_mut(&mut matches)
}

/// `estimate` takes `run`'s command line as it is, but only the options that shape a run matter
/// to it: the others are accepted and left out of its help.
fn estimate_arg(a: clap::Arg) -> clap::Arg {
    const RUN_ONLY: [&str; 17] = [
        "yes",
        "budget_usd",
        "budget_tokens",
        "task_budget_usd",
        "task_budget_tokens",
        "soft_budget",
        "rate_limit_wait",
        "watchdog",
        "on_no_progress",
        "on_repeat",
        "no_status_files",
        "timeout",
        "stall_timeout",
        "verify_timeout",
        "grace",
        "drain_timeout",
        "pass_env",
    ];
    let id = a.get_id().as_str().to_owned();
    if id == "json" {
        a.help("Print the estimate as one JSON object on stdout (its fields: see --help).")
    } else if RUN_ONLY.contains(&id.as_str()) {
        a.hide(true)
    } else {
        a
    }
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

/// The runtime's choices as command-line values: each value's name and its line in `--help`.
/// The runtime's enums stay free of clap: each gets a mirror here (`WorkspaceMode` →
/// `WorkspaceModeArg`) that converts into it; the names are theirs in planrun.toml too.
macro_rules! value_enum {
    ($ty:ident => $arg:ident { $($variant:ident => $name:literal: $help:literal,)* }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum $arg {
            $($variant,)*
        }

        impl ValueEnum for $arg {
            fn value_variants<'a>() -> &'a [Self] {
                &[$($arg::$variant),*]
            }

            fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
                Some(match self {
                    $($arg::$variant => clap::builder::PossibleValue::new($name).help($help),)*
                })
            }
        }

        impl From<$arg> for crate::run::$ty {
            fn from(a: $arg) -> Self {
                match a {
                    $($arg::$variant => crate::run::$ty::$variant,)*
                }
            }
        }
    };
}

value_enum!(WorkspaceMode => WorkspaceModeArg {
    Shared => "shared": "One working tree for every task; tasks whose files overlap never run together",
    Worktree => "worktree": "Each task in its own git worktree and branch, merged onto the integration branch one at a time",
});

value_enum!(ScopePolicy => ScopePolicyArg {
    Strict => "strict": "Send the task back to rework with the list",
    Warn => "warn": "Report them and go on",
    Off => "off": "Do not check",
});

value_enum!(CommitMode => CommitModeArg {
    Auto => "auto": "planrun commits each task that passes (and merges it in worktree mode)",
    Manual => "manual": "planrun pauses after each task with its report; you inspect and commit, then `planrun continue`",
});

value_enum!(ReviewKind => ReviewKindArg {
    Task => "task": "Does the work do what the task asks, completely, meeting its acceptance criteria?",
    Code => "code": "Is the code correct, clear, tested and safe?",
    None => "none": "No reviews",
});

value_enum!(WatchPolicy => WatchPolicyArg {
    Retry => "retry": "Run the task again in a fresh session",
    Block => "block": "Block the task",
    Stop => "stop": "Stop the run (exit 4)",
});

/// `planrun continue`'s reading of a recorded command line (the program's name first): the
/// options of `planrun run`, or `None` when it is not a valid `planrun run` command line.
pub(crate) fn parse_run(argv: &[String]) -> Option<opts::RunOptions> {
    match Cli::try_parse_from(argv).ok()?.command {
        Command::Run(args) => Some(args.into()),
        _ => None,
    }
}

// The runtime takes plain options; these turn the parsed arguments into them field by field.

impl From<PlanArgs> for opts::PlanOptions {
    fn from(a: PlanArgs) -> Self {
        Self { plan: a.plan, format: a.format }
    }
}

impl From<StateArgs> for opts::StateOptions {
    fn from(a: StateArgs) -> Self {
        Self { state_dir: a.state_dir }
    }
}

impl From<RunArgs> for opts::RunOptions {
    fn from(a: RunArgs) -> Self {
        Self {
            plan: a.plan.into(),
            jobs: a.jobs,
            agent: a.agent,
            model: a.model,
            agent_command: a.agent_command,
            config: a.config,
            pass_env: a.pass_env,
            resume_rounds: a.resume_rounds,
            max_rework: a.max_rework,
            state: a.state.into(),
            json: a.json,
            no_status_files: a.no_status_files,
            timeout: a.timeout,
            stall_timeout: a.stall_timeout,
            verify_timeout: a.verify_timeout,
            grace: a.grace,
            drain_timeout: a.drain_timeout,
            pipeline: a.pipeline.into(),
            cost: a.cost.into(),
        }
    }
}

impl From<Box<RunArgs>> for opts::RunOptions {
    fn from(a: Box<RunArgs>) -> Self {
        (*a).into()
    }
}

impl From<CostArgs> for opts::CostOptions {
    fn from(a: CostArgs) -> Self {
        Self {
            yes: a.yes,
            budget_usd: a.budget_usd,
            budget_tokens: a.budget_tokens,
            task_budget_usd: a.task_budget_usd,
            task_budget_tokens: a.task_budget_tokens,
            soft_budget: a.soft_budget,
            rate_limit_wait: a.rate_limit_wait,
            watchdog: a.watchdog,
            on_no_progress: a.on_no_progress.map(Into::into),
            on_repeat: a.on_repeat.map(Into::into),
        }
    }
}

impl From<PipelineArgs> for opts::PipelineOptions {
    fn from(a: PipelineArgs) -> Self {
        Self {
            workspace: a.workspace.map(Into::into),
            into: a.into,
            include_uncommitted: a.include_uncommitted,
            update_base: a.update_base,
            commit: a.commit.map(Into::into),
            batch: a.batch,
            scope: a.scope.map(Into::into),
            reviews: a.reviews.map(|r| r.into_iter().map(Into::into).collect()),
            review_agent: a.review_agent,
            review_model: a.review_model,
            review_command: a.review_command,
            take: a.take,
            tester: a.tester,
        }
    }
}

impl From<ContinueArgs> for opts::ContinueOptions {
    fn from(a: ContinueArgs) -> Self {
        Self { state: a.state.into() }
    }
}

impl From<ReportArgs> for opts::ReportOptions {
    fn from(a: ReportArgs) -> Self {
        Self { run: a.run, state: a.state.into(), json: a.json }
    }
}

impl From<GcArgs> for opts::GcOptions {
    fn from(a: GcArgs) -> Self {
        Self { yes: a.yes, json: a.json }
    }
}

impl From<StatusArgs> for opts::StatusOptions {
    fn from(a: StatusArgs) -> Self {
        Self { plan: a.plan, state: a.state.into(), json: a.json, watch: a.watch }
    }
}

impl From<TaskArgs> for opts::TaskOptions {
    fn from(a: TaskArgs) -> Self {
        Self { task: a.task, plan: a.plan, state: a.state.into() }
    }
}

impl From<ExplainArgs> for opts::ExplainOptions {
    fn from(a: ExplainArgs) -> Self {
        Self { task: a.task.into(), json: a.json }
    }
}

impl From<LogArgs> for opts::LogOptions {
    fn from(a: LogArgs) -> Self {
        Self { task: a.task.into(), attempt: a.attempt, summary: a.summary, follow: a.follow, json: a.json }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn every_command_has_a_short_help_of_at_most_40_lines_ending_with_its_exit_codes() {
        let mut root = command();
        root.build();
        let mut checked = 0;
        for sub in root.get_subcommands() {
            // Rendered as on a terminal 100 columns wide (the width used without a terminal).
            let mut sub = sub.clone().term_width(100);
            let short = sub.render_help().to_string();
            let name = sub.get_name().to_owned();
            assert!(short.lines().count() <= 40, "`planrun {name} -h` has {} lines:\n{short}", short.lines().count());
            if name != "help" {
                assert!(short.contains("Exit codes"), "`planrun {name} -h` says no exit codes:\n{short}");
                let long = sub.render_long_help().to_string();
                assert!(long.contains("Exit codes"), "`planrun {name} --help` says no exit codes:\n{long}");
                checked += 1;
            }
        }
        assert!(checked >= 19, "{checked}");
        let top = root.clone().term_width(100).render_help().to_string();
        assert!(top.lines().count() <= 40, "`planrun -h` has {} lines:\n{top}", top.lines().count());
        assert!(top.contains("Exit codes"), "{top}");
    }

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
