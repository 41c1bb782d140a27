//! `planrun init`: writes a `planrun.toml` with every key commented out beside its default, and
//! an example `plan.md` in planrun's markdown format, to start from. Never overwrites a file
//! unless asked (`--force`).

use crate::error::CliError;
use crate::exit;
use clap::Args;
use std::path::{Path, PathBuf};

pub(crate) const LONG_HELP: &str = concat!(
    "Writes two files into DIR (default: the current folder):
  planrun.toml  every setting planrun reads, commented out beside its default and what it does
                (docs/agents.md); uncomment what you change
  plan.md       a two-task example plan in planrun's markdown format (docs/plan-format.md) that
                `planrun check plan.md` accepts; replace its tasks with yours
Nothing is written when either file exists, unless --force is given.

",
    exits!(init)
);

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// The folder to write into [default: the current folder].
    #[arg(value_name = "DIR")]
    pub(crate) dir: Option<PathBuf>,
    /// Overwrite planrun.toml and plan.md if they exist.
    #[arg(long)]
    pub(crate) force: bool,
}

/// `planrun.toml`: every key `run/config.rs` reads, commented out, with its default (or, for a
/// key without one, an example) and what it does.
pub(crate) const CONFIG: &str = r#"# planrun.toml: planrun's settings for this repository (docs/agents.md, docs/running.md).
# Every key is optional and shown commented out with its default; uncomment what you change.
# A command-line flag of the same name wins over the file. A typo is an error with its line.

# The agent of every role that names none: claude, codex, gemini, opencode or command
# [default: none; `planrun run` then needs --agent or --agent-command].
# agent = "claude"
# The model the agent uses [default: the CLI's own].
# model = "claude-sonnet-4-5"
# The program of the `command` agent, a template: {prompt_file} {task_id} {workspace} {role}
# {attempt} are replaced in each word; it is never run by a shell.
# command = "my-agent --prompt {prompt_file}"
# Rework rounds that resume the implementer's own session before a fresh one starts.
# resume_rounds = 2
# Extra environment variables agents may see (names, or PREFIX*) [default: none].
# pass_env = ["AWS_PROFILE", "MY_TOOL_*"]
# Variables whose values are secrets, redacted from every log and report [default: none;
# values of variables named like *KEY*, *TOKEN*, *SECRET*, *PASSWORD* are redacted anyway].
# redact_env = ["MY_TOOL_TOKEN"]

# Per role: implement, review (the reviewers and the reviewer's take) and test (the tester;
# without its own settings it uses the reviewer's). Each takes agent, model and command.
# [roles.implement]
# agent = "codex"
# model = "gpt-5-codex"
# command = "my-agent --prompt {prompt_file}"
# [roles.review]
# agent = "claude"
# model = "claude-sonnet-4-5"
# [roles.test]
# model = "claude-haiku-4-5"

# The pipeline each task goes through (docs/running.md).
# [pipeline]
# Where tasks work: "worktree" (each in its own git worktree and branch; the default in a git
# repository with a commit) or "shared" (one working tree; the default elsewhere).
# workspace = "worktree"
# The branch tasks are merged onto [default: a new branch planrun/RUN].
# into = "main"
# "auto": planrun commits and merges each task that passes; "manual": it pauses for you.
# commit = "auto"
# Pause after every N finished tasks [default: never].
# batch = 3
# Changes outside a task's files: "strict" sends it back, "warn" reports them, "off"
# [default: "strict" in worktree mode, "warn" in a shared tree].
# scope = "strict"
# The reviews after the checks pass: "task", "code", both, or [] for none [default: both when
# there is a reviewer].
# reviews = ["task", "code"]
# A reviewer hands the implementer its constraints before the first attempt.
# take = false
# A tester agent writes the tests a task lacks, beside the reviews.
# tester = false
# Implementers plan before code, a task early in a free slot while a dependency is reviewed.
# plan_ahead = false

# Budgets, rate limits and the watchdog (docs/running.md).
# [budget]
# Stop every agent when the run has spent this many dollars, or tokens [default: no limit].
# usd = 20.0
# tokens = 2_000_000
# Stop and block a task that alone spends this much [default: no limit].
# task_usd = 5.0
# task_tokens = 500_000
# At this share of a run budget nothing new starts.
# soft_percent = 80
# How long a rate-limited agent waits when the provider gives no reset time (doubling up to 15m).
# rate_limit_wait = "60s"
# Report a run in which no agent printed anything for this long ("none": never).
# watchdog = "20m"
# What the watchdog does: "retry", "block" or "stop".
# on_no_progress = "retry"
# What to do when a task fails the same way twice in a row: "retry", "block" or "stop".
# on_repeat = "retry"

# Usage windows per agent (repeat the table for a 7-day one): past soft_percent of the cap
# (usd and/or tokens) used in the last `hours` its next steps wait, past hard_percent the run
# stops, resumable [default: none; soft: the cap].
# [[windows.claude]]
# hours = 5
# usd = 20.0
# soft_percent = 80
# hard_percent = 90

# Prices in USD per million tokens, by model name or PREFIX*, before the built-in ones.
# [prices."gpt-5-codex"]
# input = 1.25
# output = 10.0
# cache_read = 0.125
# cache_write = 0.0
"#;

/// `plan.md`: an example in planrun's markdown format (docs/plan-format.md).
pub(crate) const PLAN: &str = r#"# Example plan

The context: what every agent working on any task should know (the project, its conventions,
what not to touch). This example writes two small files; replace its tasks with yours and check
it with `planrun check plan.md`. The format is described in docs/plan-format.md.

## Task greeting: Write the greeting

Files: `greeting.txt`

Write `greeting.txt` holding one line: `Hello, world`.

### Acceptance

- [ ] `greeting.txt` holds exactly that one line

### Verify

- `grep -qx 'Hello, world' greeting.txt`

## Task shout: Write the greeting in capitals

Depends on: `greeting`
Files: `shout.txt`

Write `shout.txt` holding the line of `greeting.txt` in capital letters.

### Acceptance

- [ ] `shout.txt` holds `HELLO, WORLD` and nothing else

### Verify

- `grep -qx 'HELLO, WORLD' shout.txt`
"#;

pub(crate) fn init(args: &InitArgs) -> crate::error::Outcome {
    let dir = args.dir.clone().unwrap_or_default();
    let files = [(dir.join("planrun.toml"), CONFIG), (dir.join("plan.md"), PLAN)];
    let existing: Vec<&Path> =
        files.iter().map(|(p, _)| p.as_path()).filter(|p| std::fs::symlink_metadata(p).is_ok()).collect();
    if !args.force && !existing.is_empty() {
        return Err(CliError::Exists(existing.iter().map(|p| p.to_path_buf()).collect()));
    }
    std::fs::create_dir_all(&dir)
        .or_else(|e| if dir.as_os_str().is_empty() { Ok(()) } else { Err(e) })
        .map_err(|source| CliError::CreateFolder { dir: dir.clone(), source })?;
    for (path, text) in &files {
        std::fs::write(path, text).map_err(|source| CliError::WriteFile { path: path.clone(), source })?;
        if !crate::out::quiet() {
            errln!("wrote {}", path.display());
        }
    }
    let plan = files[1].0.display();
    outln!("planrun init: edit {plan}, then `planrun check {plan}` and `planrun run {plan} --agent NAME`");
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::config::Config;

    /// The file with every commented-out key line uncommented (the explanations stay comments).
    fn uncommented() -> String {
        CONFIG
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest)
                    if (rest.starts_with('[') && !rest.contains(' '))
                        || rest.split_once(" = ").is_some_and(|(k, _)| !k.contains(' ')) =>
                {
                    rest.to_owned()
                }
                _ => l.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn the_commented_config_loads_and_every_key_in_it_is_real() {
        let c = Config::parse(CONFIG).unwrap();
        assert!(c.agent.is_none() && c.roles.is_empty(), "everything is commented out");
        // With every key uncommented, the file still parses: no key is misspelt or unknown
        // (the configuration denies unknown fields) and every value is valid.
        let all = uncommented();
        let c = Config::parse(&all).unwrap_or_else(|e| panic!("{e}\n{all}"));
        assert_eq!(c.resume_rounds, Some(2));
        assert_eq!(c.budget.soft_percent, Some(80));
        assert_eq!(c.roles.len(), 3);
        assert!(c.windows.contains_key("claude") && c.prices.contains_key("gpt-5-codex"));
    }

    #[test]
    fn every_key_the_configuration_reads_is_in_the_file() {
        let all = uncommented();
        let keys: Vec<&str> = all.lines().filter_map(|l| l.split_once(" = ").map(|(k, _)| k)).collect();
        for key in [
            "agent",
            "model",
            "command",
            "resume_rounds",
            "pass_env",
            "redact_env",
            "workspace",
            "into",
            "commit",
            "batch",
            "scope",
            "reviews",
            "take",
            "tester",
            "usd",
            "tokens",
            "task_usd",
            "task_tokens",
            "soft_percent",
            "rate_limit_wait",
            "watchdog",
            "on_no_progress",
            "on_repeat",
            "hours",
            "input",
            "output",
            "cache_read",
            "cache_write",
        ] {
            assert!(keys.contains(&key), "{key} is not in the file");
        }
        for table in ["[roles.implement]", "[roles.review]", "[roles.test]", "[pipeline]", "[budget]"] {
            assert!(all.lines().any(|l| l == table), "{table}");
        }
    }
}
