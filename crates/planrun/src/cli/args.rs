//! The arguments of every command but `run` and `estimate` (check, import, status, retry, skip,
//! log, explain, report, gc, continue, the state directory) and their long help.

use super::values::{Target, parse_format};
use clap::Args;
use planrun_plan::Format;
use std::path::PathBuf;

pub(super) const SIMULATE_HELP: &str = concat!(
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
pub(super) const CHECK_HELP: &str = concat!(
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

pub(super) const IMPORT_HELP: &str = concat!(
    "The converted plan is written to stdout, or to --output. Problems found while reading are
reported on stderr; a plan with errors is still converted (exit code 2) so nothing is lost.

",
    exits!(import)
);

pub(super) const GC_HELP: &str = concat!(
    "planrun never deletes work that no branch reaches: it keeps it first under
refs/planrun/kept/RUN/TASK/ATTEMPT (one commit with the worktree's files, untracked ones
included). `git show --stat REF` shows one; `git checkout REF -- .` or `git cherry-pick REF`
takes it back. `planrun gc --yes` deletes those refs.

With --json, stdout holds one JSON object: {\"kept\": [{\"ref\", \"commit\"}], \"removed\"}.

",
    exits!(gc)
);

pub(super) const STATUS_HELP: &str = concat!(
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

pub(super) const TASK_CHOICE_HELP: &str = concat!(
    "Before the plan's first run, name the plan (`--plan PLAN`): the choice is kept in the state
directory, which is created, and the first `planrun run` of that plan honours it.

",
    exits!(task)
);

pub(super) const LOG_HELP: &str = concat!(
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

pub(super) const EXPLAIN_HELP: &str = concat!(
    "With --json, stdout holds one JSON object:
  {\"task\", \"title\", \"state\", \"required\": {\"description\", \"files\", \"acceptance\", \"checks\"},
   \"rejections\": [{\"attempt\", \"gate\", \"reason\", \"interrupted\"}], \"usage\", \"recommendation\"}
A run also writes this report for every blocked task to .planrun/runs/ID/escalations/TASK.md.

",
    exits!(explain)
);

pub(super) const DOCTOR_HELP: &str = concat!(
    "With --json, stdout holds one JSON object:
  {\"ok\", \"agents\": [{\"agent\", \"installed\", \"path\", \"version\", \"endpoint\", \"reachable\",
   \"credentials\", \"probe\": {\"ok\", \"error\", \"elapsed_ms\", \"session\", \"model\", \"usage\", \"cost_usd\",
   \"answer\", \"log\"}, \"problems\", \"notes\"}]}
Credentials are reported by where they come from, never by value.

",
    exits!(doctor)
);
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
#[derive(Debug, Args)]
pub(crate) struct StateArgs {
    /// The state directory [default: .planrun/ at the git top level].
    ///
    /// Outside git: .planrun/ beside the plan.
    #[arg(long, value_name = "DIR")]
    pub(crate) state_dir: Option<PathBuf>,
}
pub(super) const REPORT_HELP: &str = concat!(
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
pub(crate) struct RetryArgs {
    #[command(flatten)]
    pub(crate) task: TaskArgs,
    /// Instructions for the task's next attempts: they go into its prompt, before the rest.
    #[arg(long, value_name = "TEXT")]
    pub(crate) note: Option<String>,
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
