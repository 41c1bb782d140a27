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
