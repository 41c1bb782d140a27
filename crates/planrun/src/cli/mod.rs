//! Command-line arguments (clap derive). Every flag is documented here; `--help` is generated.
//!
//! `-h` is the short help (at most 40 lines, each command's exit codes at the end); `--help`
//! adds the detail: the doc comments' later paragraphs (`long_help`, `long_about`) and each
//! command's `after_long_help`.

use crate::run::options as opts;
use clap::{Parser, Subcommand};

/// Each command's exit codes, shown at the end of both its `-h` and its `--help`.
macro_rules! exits {
    (top) => {
        "Exit codes:
  0    success (warnings alone still exit 0); 1 unexpected failure (output or journal not written)
  2    the plan has errors or could not be read, or there is no run where one is needed
  3    `run`: tasks blocked, or the final check failed; 4 stopped, no task blamed: see its advice
  5    `run`, `continue`: paused for you (--on-fail ask, --commit manual, --batch N)
  64   wrong command-line usage (`init`: a file it would write exists)
  75   `run`, `retry`, `skip`, `review`: a run is going on in that state directory; stop it first
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
with no task blamed (a provider's error, a budget, an agent that cannot start; see its advice), 5 paused for you (--on-fail ask, --commit manual, --batch;
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

mod args;
mod convert;
mod run;
#[cfg(test)]
mod tests;
mod values;

use args::{
    CHECK_HELP, ContinueArgs, DOCTOR_HELP, EXPLAIN_HELP, ExplainArgs, GC_HELP, GcArgs, IMPORT_HELP, LOG_HELP, LogArgs,
    REPORT_HELP, ReportArgs, RetryArgs, SIMULATE_HELP, STATUS_HELP, StatusArgs, TASK_CHOICE_HELP, TaskArgs,
};
pub(crate) use args::{CheckArgs, ImportArgs, PlanArgs};
use run::{ESTIMATE_HELP, RUN_HELP, RunArgs};
pub(crate) use values::{ColorChoice, Target};

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
    pub(crate) fn verbosity(&self) -> planrun_runtime::console::Verbosity {
        match (self.quiet, self.verbose) {
            (true, _) => planrun_runtime::console::Verbosity::Quiet,
            (false, true) => planrun_runtime::console::Verbosity::Verbose,
            (false, false) => planrun_runtime::console::Verbosity::Normal,
        }
    }
}

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
    /// With --note, your instructions go into its next prompts.
    #[command(after_help = exits!(task), after_long_help = TASK_CHOICE_HELP)]
    Retry(RetryArgs),
    /// Skip a task that is not running: its dependents go on as if it were done.
    #[command(after_help = exits!(task), after_long_help = TASK_CHOICE_HELP)]
    Skip(TaskArgs),
    /// Check a blocked task's work again, after your fix by hand (its checks and reviews)
    #[command(after_help = exits!(task), after_long_help = TASK_CHOICE_HELP)]
    Review(TaskArgs),
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

/// `planrun continue`'s reading of a recorded command line (the program's name first): the
/// options of `planrun run`, or `None` when it is not a valid `planrun run` command line.
pub(crate) fn parse_run(argv: &[String]) -> Option<opts::RunOptions> {
    match Cli::try_parse_from(argv).ok()?.command {
        Command::Run(args) => Some(args.into()),
        _ => None,
    }
}
