//! Command-line arguments (clap derive). Every flag is documented here; `--help` is generated.

use clap::{Args, Parser, Subcommand, ValueEnum};
use planrun_plan::Format;
use std::path::PathBuf;

const AFTER_HELP: &str = "\
Exit codes:
  0   success (warnings alone still exit 0)
  1   unexpected failure (e.g. the output could not be written)
  2   the plan has errors or could not be read
  64  wrong command-line usage

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

/// Check and run implementation plans written for coding agents. Today: read a plan in any
/// supported format, check it before a token is spent, and convert it.
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
        after_help = "Exit codes: 0 no errors (warnings allowed), 2 the plan has errors or could not be read.\n\n\
With --json, stdout holds one JSON object:\n  {\"tasks\": [{\"id\", \"title\", \"depends_on\", \"files\", \"verify\", \"status\"}],\n   \"waves\": [[id, ...]], \"critical_path\": [id, ...], \"conflicts\": [[a, b], ...],\n   \"diagnostics\": [{\"severity\", \"code\", \"message\", \"file\", \"line\", \"column\", \"help\"}], \"format\", \"title\"}"
    )]
    Check(CheckArgs),
    /// Convert a plan in any supported format to planrun's markdown or JSON format.
    #[command(
        after_help = "The converted plan is written to stdout, or to --output. Problems found while reading are\n\
reported on stderr; a plan with errors is still converted (exit code 2) so nothing is lost."
    )]
    Import(ImportArgs),
    /// Simulate running a plan on a virtual clock (no agents, no waiting) with the real engine,
    /// and compare planrun's schedule with the lower bound and with other orchestrators' policies.
    #[command(after_help = SIMULATE_HELP)]
    Simulate(crate::simulate::SimulateArgs),
    /// Print the JSON Schema of planrun's JSON plan format.
    Schema,
    /// List the plan formats planrun reads and how each is recognised.
    Formats,
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
