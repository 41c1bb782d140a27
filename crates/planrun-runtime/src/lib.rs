//! planrun's runtime: everything between the command line and the engine. `run` opens the run
//! (replaying the journal), stops what a crashed run left behind, then loops: journal the
//! engine's changes, act on its decisions by starting supervised steps, feed their ends back as
//! inputs. One dispatcher owns the truth; steps report by message. Ctrl-C drains, a second
//! Ctrl-C stops everything. Business rules stay in the engine.
//!
//! The crate knows nothing of clap: commands reach it as the plain options of [`options`]. It
//! writes human text only through [`out`], and a run's progress only as [`events::RunEvent`]s.

// First: its macros (`outln!`, `errln!`, ...) are used by every module below.
#[macro_use]
pub mod out;
pub mod exit;
pub mod render;

mod archive;
mod budget;
pub mod config;
pub mod costs;
mod error;
mod estimate;
pub mod events;
pub mod explain;
pub mod follow;
mod gemini_gate;
mod journal_event;
pub mod kept;
mod layout;
pub mod options;
mod orphans;
mod pipeline;
pub mod progress;
mod prompt;
mod provider;
mod report;
mod session;
mod steps;
mod templates;
pub mod views;
mod writer;

use crate::options::RunOptions;
pub use budget::WatchPolicy;
use config::Config;
pub use error::Error;
use events as ev;
use events::RunEvent;
use journal_event::JournalEvent;
pub use layout::LockError;
pub use pipeline::{CommitMode, ReviewKind, ScopePolicy, WorkspaceMode};
use planrun_agents::provider::ProviderKind;
use planrun_agents::{AgentKind, Redactor, Template, Usage};
use planrun_engine::policy::{self, Action, Repeat, StopKind};
use planrun_engine::{Decision, Input, RunOutcome, Stage, TaskState};
use progress::{Mode, Progress};
use serde_json::Value;
pub use session::SessionError;
pub(crate) use session::{OpenArgs, Session};
use std::sync::Arc;
use std::time::Duration;
use steps::{Agent, Ctx, ImplementRun, Kind, Limits, StepDone};
use templates::Templates;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Exit code: some tasks are blocked or the final check failed.
pub const BLOCKED: u8 = 3;
/// Exit code: stopped by an error of an agent's model provider (API error, rate limit); resumable.
pub const PROVIDER: u8 = 4;
/// What to do when an agent's program could not be started.
const UNSTARTABLE_HELP: &str = "nothing was lost and no task is counted as failed: check the agent command (a path is taken from the repository's top level, a bare name from PATH; a script needs a `#!` line and the executable bit), `planrun doctor` for the agent CLIs, then run the same command to resume";
/// Exit code: paused for the user (`--commit manual`, `--batch N`); `planrun continue` goes on.
pub const PAUSED: u8 = 5;
/// Exit code: interrupted by Ctrl-C (128 + SIGINT).
pub const INTERRUPTED: u8 = 130;

/// What `run` and `estimate` read before anything else: the plan (checked), where its state
/// lives, planrun.toml and the agents.
struct Prepared {
    loaded: planrun_plan::Loaded,
    checked: planrun_plan::Checked,
    layout: layout::Layout,
    config: Config,
    agents: Agents,
}

/// Reads and checks the plan, planrun.toml and the agent settings.
fn prepare(args: &RunOptions) -> Result<Prepared, Error> {
    let loaded = planrun_plan::load(&args.plan.plan, args.plan.format).map_err(SessionError::Load)?;
    let checked = planrun_plan::check(&loaded);
    if checked.errors() > 0 {
        return Err(SessionError::Invalid(Box::new(loaded), Box::new(checked)).into());
    }
    let layout = layout::Layout::for_plan(&args.plan.plan, args.state.state_dir.as_deref());
    let (config, _) = Config::load(args.config.as_deref(), &layout.workspace)?;
    let agents = resolve_agents(args, &config, &loaded.plan)?;
    Ok(Prepared { loaded, checked, layout, config, agents })
}

/// `planrun run`: runs the plan, reporting to `reporter`. `Ok` holds the exit code of a run
/// that could start: [`exit::OK`], [`BLOCKED`], [`PROVIDER`], [`PAUSED`], [`INTERRUPTED`], or
/// [`exit::FAILURE`] after a journal write failed (said on stderr).
pub fn run(args: &RunOptions, reporter: &mut dyn Progress) -> Result<u8, Error> {
    let open = OpenArgs {
        plan: Some(args.plan.plan.clone()),
        format: args.plan.format,
        state_dir: args.state.state_dir.clone(),
        create: true,
        limit: args.jobs.map(usize::from),
        max_rework: args.max_rework,
    };
    // The plan is read and checked, and the agent program found, before anything is created on
    // disk: a plan with errors or a typo in the template leaves no trace.
    let Prepared { loaded, checked, layout, config, agents } = prepare(args)?;
    for agent in agents.distinct() {
        agent_exists(agent, &layout.workspace)?;
    }
    let templates = Templates::load(&layout.dir.join("prompts")).map_err(Error::Template)?;
    let root = nix::unistd::geteuid().is_root();
    let sandbox = std::env::var("IS_SANDBOX").is_ok_and(|v| v == "1");
    let mut pass_env = config.pass_env.clone();
    pass_env.extend(args.pass_env.iter().cloned());
    let redact = Arc::new(redactor(&agents, &pass_env, &config.redact_env, &layout.workspace));
    // A new run's pipeline settings are checked, and its estimate agreed to, before anything is
    // created on disk.
    // A finished run of another plan does not stand in the way: it is set aside once the lock
    // is held (below), and this plan starts as a new run.
    let previous = archive::previous(&layout, &args.plan.plan)
        .map_err(|reason| Error::PreviousJournal { path: layout.journal(), reason })?;
    let fresh = !layout.exists() || matches!(previous, archive::Previous::Ended(_));
    let mut shown = None;
    if fresh {
        let dry = pipeline_setup(args, &config, (None, &layout), &agents, "new", true)?;
        tester_agent(&config, &dry, &layout.workspace)?;
        let pending: Vec<bool> =
            loaded.plan.tasks.iter().map(|t| t.status != planrun_plan::model::Status::Done).collect();
        let est = estimate_of(args, &config, (&loaded.plan, &checked), pending, &agents, &dry, &layout);
        if !confirm(&est, args, &agents, &dry, reporter)? {
            return Ok(exit::OK);
        }
        shown = Some(est);
    }
    // The lock is taken before the journal is read, so two planruns never share a run.
    layout.create().map_err(|source| Error::StateDir { dir: layout.dir.clone(), source })?;
    let _lock = layout.lock().map_err(Error::Busy)?;
    if let Ok(archive::Previous::Ended(ended)) = archive::previous(&layout, &args.plan.plan) {
        match archive::set_aside(&layout, &ended) {
            Ok(aside) => {
                let mut text = format!(
                    "planrun: the run of `{}` had ended ({}); it was set aside in `{}` and `{}` starts a run of its own",
                    archive::shown(&ended.plan, &layout.workspace),
                    ended.outcome.replace('_', " "),
                    aside.to.display(),
                    args.plan.plan.display()
                );
                if !aside.released.is_empty() {
                    text.push_str(&format!("\n  its worktrees were released: {}", aside.released.join(", ")));
                }
                if !aside.kept.is_empty() {
                    text.push_str(&format!(
                        "\n  work its worktrees held is kept: {} (`planrun gc` lists it)",
                        aside.kept.join(", ")
                    ));
                }
                reporter.note(&text);
            }
            Err(reason) => {
                return Err(Error::SetAside { plan: archive::shown(&ended.plan, &layout.workspace), reason });
            }
        }
    }
    let mut session = Session::open_with(&open, Some((loaded, checked)))?;
    // A new run's id is its start, to the second: the same instant is recorded as its start,
    // so its folder under `runs/` and its branch never fall on two sides of a second.
    let started_ms = *session.first_started_ms.get_or_insert_with(unix_ms);
    let run_id = report::run_id(started_ms);
    let first = session.first_run.clone();
    let pipe = pipeline_setup(args, &config, (first.as_ref(), &session.layout), &agents, &run_id, false)?;
    let tester = tester_agent(&config, &pipe, &session.layout.workspace)?;
    if !fresh {
        let pending: Vec<bool> = session.engine.states().iter().map(|st| !st.satisfies_dependents()).collect();
        let est = estimate_of(
            args,
            &config,
            (&session.loaded.plan, &session.checked),
            pending,
            &agents,
            &pipe,
            &session.layout,
        );
        if !confirm(&est, args, &agents, &pipe, reporter)? {
            return Ok(exit::OK);
        }
        shown = Some(est);
    }
    for (i, t) in session.loaded.plan.tasks.iter().enumerate() {
        let mut stages = pipe.stages.clone();
        if !t.verify.is_empty() || !session.loaded.plan.verify.is_empty() {
            stages.push(Stage::Verify);
        }
        session.engine.set_stages(i, stages);
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(Error::Runtime)?;
    let (reports, report_rx) = tokio::sync::mpsc::unbounded_channel();
    let ctx = Ctx {
        layout: session.layout.clone(),
        agent_limits: Limits { wall: args.timeout, stall: args.stall_timeout, grace: args.grace },
        verify_limits: Limits { wall: args.verify_timeout, stall: None, grace: args.grace },
        plan_verify: session.loaded.plan.verify.clone(),
        pass_env,
        redact,
        prices: config.prices(),
        root,
        sandbox,
        ws: pipe.ws.clone(),
        scope_policy: pipe.scope,
        commit: pipe.commit,
        reviews: pipe.reviews.clone(),
        reviewer: pipe.reviewer.clone(),
        tester: tester.clone(),
        templates: templates.clone(),
        reports,
    };
    let call = planrun_agents::Call { root, sandbox, ..planrun_agents::Call::default() };
    let mut kinds: Vec<AgentKind> = Vec::new();
    for agent in agents.distinct().into_iter().chain(pipe.reviewer.as_ref()).chain(tester.as_ref()) {
        if kinds.contains(&agent.kind) {
            continue;
        }
        kinds.push(agent.kind);
        for notice in planrun_agents::adapter::notices(agent.kind, &call) {
            reporter.note(&format!("planrun: {notice}"));
        }
    }
    for note in &pipe.notes {
        reporter.note(&format!("planrun: {note}"));
    }
    let setup = Setup {
        templates,
        agents,
        resume_rounds: args.resume_rounds.or(config.resume_rounds).unwrap_or(DEFAULT_RESUME_ROUNDS),
        pipe,
        run_id,
        cost: cost_setup(args, &config, shown),
        reports: report_rx,
    };
    let code = runtime.block_on(async {
        // A file-size limit (`ulimit -f`) would kill planrun with SIGXFSZ in the middle of a
        // journal write; with a handler installed, the write fails with EFBIG instead and is
        // reported like a full disk. Children get the default action back when they exec.
        let _xfsz = signal(SignalKind::from_raw(nix::libc::SIGXFSZ));
        Runner::new(session, ctx, setup, args, &mut *reporter).drive().await
    });
    reporter.finish();
    Ok(code)
}

/// Changes and decisions waiting for their batch to be durable.
struct Pending {
    batch: u64,
    changes: Vec<planrun_engine::Change>,
    decisions: Vec<Decision>,
}

/// How many rework rounds resume the implementer's session unless configured.
const DEFAULT_RESUME_ROUNDS: u32 = 2;

/// The agents of a run: the implement role's, and a task's own where its `agent` field names
/// another.
#[derive(Debug)]
struct Agents {
    implement: Agent,
    per_task: Vec<Option<Agent>>,
}

impl Agents {
    fn for_task(&self, task: usize) -> &Agent {
        self.per_task.get(task).and_then(Option::as_ref).unwrap_or(&self.implement)
    }

    /// Each agent the run may use, once.
    fn distinct(&self) -> Vec<&Agent> {
        let mut out: Vec<&Agent> = vec![&self.implement];
        for a in self.per_task.iter().flatten() {
            if !out.iter().any(|o| o.kind == a.kind) {
                out.push(a);
            }
        }
        out
    }
}

/// What the runner needs beyond the steps' context.
#[derive(Debug)]
struct Setup {
    templates: Templates,
    agents: Agents,
    resume_rounds: u32,
    pipe: Pipe,
    run_id: String,
    cost: CostSetup,
    /// What running agents report (`budget::Report`), sent by the steps.
    reports: tokio::sync::mpsc::UnboundedReceiver<budget::Report>,
}

/// Budgets, rate-limit waits, usage windows and the watchdog, from the flags and planrun.toml.
#[derive(Debug, Clone)]
struct CostSetup {
    /// The engine's run policy: budgets, rate-limit waits, usage windows, the watchdog.
    rules: policy::Rules,
    estimate: Option<estimate::Estimate>,
}

fn cost_setup(args: &RunOptions, config: &Config, estimate: Option<estimate::Estimate>) -> CostSetup {
    let c = &args.cost;
    let b = &config.budget;
    let soft = c.soft_budget.or(b.soft_percent).unwrap_or(80);
    let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    let rules = policy::Rules {
        budgets: budget::Budgets {
            usd: c.budget_usd.or(b.usd),
            tokens: c.budget_tokens.or(b.tokens),
            task_usd: c.task_budget_usd.or(b.task_usd),
            task_tokens: c.task_budget_tokens.or(b.task_tokens),
            soft: f64::from(soft) / 100.0,
        },
        rate_wait_ms: ms(c
            .rate_limit_wait
            .or_else(|| b.rate_limit_wait.as_deref().and_then(|d| crate::options::parse_duration(d).ok()))
            .unwrap_or(Duration::from_secs(60))),
        watchdog_ms: c
            .watchdog
            .or_else(|| b.watchdog.as_deref().and_then(|d| crate::options::parse_limit(d).ok()))
            .unwrap_or(Some(Duration::from_secs(20 * 60)))
            .map(ms),
        on_no_progress: c.on_no_progress.or(b.on_no_progress).unwrap_or(WatchPolicy::Retry),
        on_repeat: c.on_repeat.or(b.on_repeat).unwrap_or(WatchPolicy::Retry),
        windows: config
            .windows
            .iter()
            .filter_map(|(k, w)| {
                let kind: AgentKind = k.parse().ok()?;
                Some(policy::Window { agent: kind.name().to_owned(), hours: w.hours, usd: w.usd, tokens: w.tokens })
            })
            .collect(),
        // Set from the pipeline by the runner.
        pauses: policy::Pauses::default(),
    };
    CostSetup { rules, estimate }
}

/// The run's pipeline, as the flags, planrun.toml and (on resume) the run's first invocation
/// set it.
#[derive(Debug, Clone)]
struct Pipe {
    ws: pipeline::Workspaces,
    /// The stages every task goes through after its implement step (verify is added per task).
    stages: Vec<Stage>,
    scope: ScopePolicy,
    reviews: Vec<ReviewKind>,
    reviewer: Option<Agent>,
    take: bool,
    commit: CommitMode,
    batch: Option<u32>,
    /// What to tell the user at the start.
    notes: Vec<String>,
}

/// Settles the pipeline: where tasks work (a resumed run keeps its first mode and
/// integration branch), which stages run, and the reviewers' agent.
/// `first` is the run's first `run` record (none for a new run); `dry` checks the settings
/// without creating the integration branch (before anything is created on disk).
fn pipeline_setup(
    args: &RunOptions,
    config: &Config,
    (first, layout): (Option<&journal_event::RunRecord>, &layout::Layout),
    agents: &Agents,
    run_id: &str,
    dry: bool,
) -> Result<Pipe, Problem> {
    let p = &args.pipeline;
    let c = &config.pipeline;
    let recorded = |k: &str| {
        first.and_then(|f| match k {
            "workspace" => f.workspace.clone(),
            "integration" => f.integration.clone(),
            "pipeline_run" => f.pipeline_run.clone(),
            _ => None,
        })
    };
    let repo = layout::git_toplevel(&layout.workspace).map(planrun_git::Git::new);
    let has_commit = repo.as_ref().is_some_and(pipeline::has_commit);
    let commit = p.commit.or(c.commit).unwrap_or(CommitMode::Auto);
    let asked = p.workspace.or(c.workspace);
    let mut notes = Vec::new();
    let recorded_mode: Option<WorkspaceMode> =
        recorded("workspace").and_then(|m| serde_json::from_value(Value::String(m)).ok());
    let mode = match (recorded_mode, asked) {
        (Some(m), Some(a)) if a != m => {
            return Err((
                format!("this run started with --workspace {}; a resumed run keeps it", m.name()),
                "drop --workspace to resume, or start a separate run with --state-dir DIR".into(),
            ));
        }
        (Some(m), _) => m,
        (None, Some(WorkspaceMode::Worktree)) if !has_commit => {
            return Err((
                "--workspace worktree needs a git repository with at least one commit: each task's worktree starts from one".into(),
                "commit your files first (`git add -A && git commit -m start`), or use --workspace shared".into(),
            ));
        }
        (None, Some(a)) => a,
        (None, None) if commit == CommitMode::Auto && has_commit => WorkspaceMode::Worktree,
        (None, None) => WorkspaceMode::Shared,
    };
    if let (WorkspaceMode::Shared, Some(repo), CommitMode::Auto, None) = (mode, &repo, commit, recorded_mode) {
        let branch = repo
            .run(&["symbolic-ref", "--short", "-q", "HEAD"])
            .map(|b| b.trim().to_owned())
            .ok()
            .filter(|b| !b.is_empty())
            .map_or_else(|| "the checked-out commit (no branch)".to_owned(), |b| format!("`{b}`"));
        notes.push(if has_commit {
            format!("tasks work in your working tree, and each task's commit goes straight onto {branch}")
        } else {
            format!(
                "the repository has no commit yet: tasks work in your working tree, and each task's commit goes straight onto {branch} (make a first commit to have each task work in its own worktree, merged onto a branch of the run's own)"
            )
        });
    }
    let mut integration = None;
    if mode == WorkspaceMode::Worktree {
        let Some(repo) = &repo else {
            return Err((
                "this run works in git worktrees, but its workspace is no longer a git repository".into(),
                "run it where it started".into(),
            ));
        };
        let asked_into = p.into.clone().or_else(|| c.into.clone());
        if let (Some(r), Some(a)) = (recorded("integration"), &asked_into) {
            if &r != a {
                return Err((
                    format!("this run merges its tasks onto `{r}`; a resumed run keeps its integration branch"),
                    format!(
                        "drop --into (or `into` in planrun.toml) to resume; to move the work, merge `{r}` into `{a}` once the run is done"
                    ),
                ));
            }
        }
        let name = recorded("integration").or(asked_into).unwrap_or_else(|| format!("planrun/{run_id}"));
        let exists = repo.branch_exists(&name).map_err(|e| (e.to_string(), "check the repository".to_owned()))?;
        let dirty = pipeline::uncommitted(repo);
        let include = p.include_uncommitted && !dirty.is_empty();
        if p.include_uncommitted && recorded("integration").is_some() {
            notes.push("--include-uncommitted applies to a new run: this one keeps the base it started from".into());
        }
        if !exists && !dry {
            let start = if include {
                pipeline::snapshot_commit(repo, &layout.dir.join("workspaces").join("start.index"), run_id)
                    .map_err(|e| (e, "commit the files yourself, or run without --include-uncommitted".to_owned()))?
            } else {
                "HEAD".to_owned()
            };
            repo.create_branch(&name, &start).map_err(|e| {
                (
                    format!("cannot create the integration branch `{name}`: {e}"),
                    "pass --into BRANCH with a valid branch name".to_owned(),
                )
            })?;
        }
        if p.update_base && exists && !dry {
            let message = format!("chore: take the commits made since the run began into `{name}`");
            match planrun_git::merge::take_in(repo, &name, "HEAD", &message) {
                Ok(planrun_git::merge::TakenIn::UpToDate) => {
                    notes.push(format!("--update-base: `{name}` already holds your current commit"));
                }
                Ok(planrun_git::merge::TakenIn::FastForward) => {
                    notes.push(format!("--update-base: `{name}` moved up to your current commit"));
                }
                Ok(planrun_git::merge::TakenIn::Merged(c)) => notes.push(format!(
                    "--update-base: your current commit was merged into `{name}` ({}); tasks that start now see it",
                    short(&c)
                )),
                Ok(planrun_git::merge::TakenIn::Conflict(files)) => {
                    return Err((
                        format!(
                            "--update-base: your current commit conflicts with the run's work on `{name}` in {}",
                            files.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ")
                        ),
                        format!(
                            "nothing was changed; merge it yourself (`git switch {name} && git merge -`), or run without --update-base"
                        ),
                    ));
                }
                Err(e) => return Err((format!("--update-base: {e}"), "check the repository".to_owned())),
            }
        }
        notes.push(format!("each task works in its own git worktree and is merged onto `{name}` one at a time"));
        if include && recorded("integration").is_none() {
            notes.push(format!(
                "the run starts from your working tree as it is: {} uncommitted change{} recorded as the first commit of `{name}`",
                dirty.len(),
                if dirty.len() == 1 { "" } else { "s" }
            ));
        } else if !dirty.is_empty() && recorded("integration").is_none() {
            let shown: Vec<String> = dirty.iter().take(5).map(|p| format!("`{p}`")).collect();
            let more = if dirty.len() > shown.len() {
                format!(" and {} more", dirty.len() - shown.len())
            } else {
                String::new()
            };
            notes.push(format!(
                "{} uncommitted change{} in your working tree {} not seen by the tasks, which start from the last commit: {}{more}; if the tasks need {}, commit {} first or pass --include-uncommitted",
                dirty.len(),
                if dirty.len() == 1 { "" } else { "s" },
                if dirty.len() == 1 { "is" } else { "are" },
                shown.join(", "),
                if dirty.len() == 1 { "it" } else { "them" },
                if dirty.len() == 1 { "it" } else { "them" },
            ));
        }
        integration = Some(name);
    }
    // In a worktree, every change is the task's own: strict by default. In a shared tree,
    // planrun cannot tell a task's edits from yours (or another program's) made meanwhile, so
    // changes outside its files are reported, not sent back, unless asked.
    let scope = p.scope.or(c.scope).unwrap_or(match mode {
        WorkspaceMode::Worktree => ScopePolicy::Strict,
        WorkspaceMode::Shared => ScopePolicy::Warn,
    });
    if repo.is_none() && scope != ScopePolicy::Off {
        notes.push("the workspace is not a git repository: no scope check and no commits".into());
    }
    let review_kind = match p.review_agent {
        Some(k) => Some(k),
        None => match config.role("review", |r| r.agent.as_ref()) {
            Some(name) => Some(name.parse().map_err(|e: String| (e, "fix planrun.toml".to_owned()))?),
            None => None,
        },
    };
    let command_text =
        p.review_command.clone().or_else(|| config.role("review", |r| r.command.as_ref()).map(str::to_owned));
    let review_model =
        p.review_model.clone().or_else(|| config.role("review", |r| r.model.as_ref()).map(str::to_owned));
    let kind = review_kind.or(command_text.as_ref().map(|_| AgentKind::Command));
    let reviewer = match kind {
        Some(AgentKind::Command) => {
            let Some(text) = command_text else {
                return Err((
                    "the review agent `command` needs a command".into(),
                    "pass --review-command 'PROGRAM ARGS…' (or set [roles.review] command in planrun.toml)".into(),
                ));
            };
            let template = Template::parse(&text).map_err(|e| {
                (
                    format!("--review-command: {e}"),
                    "see `planrun run --help` for the template's placeholders".to_owned(),
                )
            })?;
            Some(Agent { kind: AgentKind::Command, model: review_model, template: Some(template) })
        }
        Some(kind) => Some(Agent { kind, model: review_model, template: None }),
        None if agents.implement.kind != AgentKind::Command => Some(Agent {
            kind: agents.implement.kind,
            model: review_model.or_else(|| agents.implement.model.clone()),
            template: None,
        }),
        None => None,
    };
    if let Some(r) = &reviewer {
        agent_exists(r, &layout.workspace)?;
    }
    let mut reviews: Vec<ReviewKind> = match p.reviews.clone().or_else(|| c.reviews.clone()) {
        Some(list) => list,
        None if reviewer.is_some() => vec![ReviewKind::Task, ReviewKind::Code],
        None => Vec::new(),
    };
    if reviews.contains(&ReviewKind::None) {
        reviews.clear();
    }
    reviews.sort();
    reviews.dedup();
    let take = p.take || c.take;
    let tester = p.tester || c.tester;
    let own_tester = config.roles.get("test").is_some_and(|r| r.agent.is_some() || r.command.is_some());
    if reviewer.is_none() && (!reviews.is_empty() || take || (tester && !own_tester)) {
        return Err((
            "reviews, the reviewer's take and the tester need a reviewer agent, and a `command` implementer names none".into(),
            "pass --review-agent claude|codex|gemini|opencode (or --review-agent command --review-command '…'), or --reviews none".into(),
        ));
    }
    if reviewer.is_none() && args.pipeline.reviews.is_none() && c.reviews.is_none() {
        notes.push(
            "no reviewer: tasks are not reviewed (name one with --review-agent claude|codex|gemini|opencode, or a program with --review-agent command --review-command '…')"
                .into(),
        );
    }
    let mut stages = Vec::new();
    if repo.is_some() && scope != ScopePolicy::Off {
        stages.push(Stage::Scope);
    }
    if tester {
        stages.push(Stage::Test);
    }
    if !reviews.is_empty() {
        stages.push(Stage::Review);
    }
    if repo.is_some() && commit == CommitMode::Auto {
        stages.push(Stage::Commit);
    }
    if mode == WorkspaceMode::Worktree {
        stages.push(Stage::Merge);
    }
    let ws = pipeline::Workspaces {
        mode,
        repo,
        integration,
        run_id: recorded("pipeline_run").unwrap_or_else(|| run_id.to_owned()),
        root: layout.workspace.clone(),
        state: layout.dir.clone(),
        git_lock: Arc::default(),
    };
    Ok(Pipe { ws, stages, scope, reviews, reviewer, take, commit, batch: p.batch.or(c.batch), notes })
}

type Problem = (String, String);

/// The tester's agent (`--tester`): `[roles.test]` in planrun.toml when it names an agent, a
/// command or a model (a model alone keeps the reviewer's agent), else the reviewer. `None`
/// when the run has no test stage.
fn tester_agent(config: &Config, pipe: &Pipe, workspace: &std::path::Path) -> Result<Option<Agent>, Problem> {
    if !pipe.stages.contains(&Stage::Test) {
        return Ok(None);
    }
    let Some(role) = config.roles.get("test").filter(|r| r.agent.is_some() || r.command.is_some() || r.model.is_some())
    else {
        return Ok(pipe.reviewer.clone());
    };
    let kind = match (&role.agent, &role.command) {
        (Some(name), _) => name.parse().map_err(|e: String| (e, "fix [roles.test] in planrun.toml".to_owned()))?,
        (None, Some(_)) => AgentKind::Command,
        (None, None) => match &pipe.reviewer {
            Some(r) => r.kind,
            None => {
                return Err((
                    "[roles.test] names a model but no agent, and the run has no reviewer agent to give it to".into(),
                    "set agent = \"claude\" (or another) or command = '…' in [roles.test]".into(),
                ));
            }
        },
    };
    let template = match (kind, &role.command) {
        (AgentKind::Command, Some(text)) => Some(Template::parse(text).map_err(|e| {
            (
                format!("[roles.test] command: {e}"),
                "see `planrun run --help` for the template's placeholders".to_owned(),
            )
        })?),
        (AgentKind::Command, None) => match pipe.reviewer.as_ref().filter(|r| r.kind == AgentKind::Command) {
            Some(r) => r.template.clone(),
            None => {
                return Err((
                    "the test agent `command` needs a command".into(),
                    "set command = 'PROGRAM ARGS…' in [roles.test] of planrun.toml".into(),
                ));
            }
        },
        _ => None,
    };
    let model = role.model.clone().or_else(|| {
        pipe.reviewer.as_ref().filter(|r| r.kind == kind && role.agent.is_none()).and_then(|r| r.model.clone())
    });
    let agent = Agent { kind, model, template };
    agent_exists(&agent, workspace)?;
    Ok(Some(agent))
}

/// The implement role's agent from the flags, then planrun.toml; and each task's own.
fn resolve_agents(args: &RunOptions, config: &Config, plan: &planrun_plan::model::Plan) -> Result<Agents, Problem> {
    let configured = |pick: fn(&config::RoleConfig) -> Option<&String>, top: Option<&String>| {
        config.role("implement", pick).map(str::to_owned).or_else(|| top.cloned())
    };
    let template_text =
        args.agent_command.clone().or_else(|| configured(|r| r.command.as_ref(), config.command.as_ref()));
    let kind = match args.agent {
        Some(k) => k,
        None if args.agent_command.is_some() => AgentKind::Command,
        None => match configured(|r| r.agent.as_ref(), config.agent.as_ref()) {
            Some(name) => name.parse().map_err(|e: String| (e, "fix planrun.toml".to_owned()))?,
            None => {
                return Err((
                    "no agent to run the tasks".into(),
                    "pass --agent claude|codex|gemini|opencode, or --agent-command 'PROGRAM ARGS…' for your own \
                     (e.g. --agent-command 'my-agent {prompt_file}'), or set `agent` in planrun.toml; `planrun doctor` \
                     shows which CLIs are installed"
                        .into(),
                ));
            }
        },
    };
    let template = |text: Option<&String>| -> Result<Option<Template>, Problem> {
        let Some(text) = text else {
            return Err((
                "the command agent needs a command".into(),
                "pass --agent-command 'PROGRAM ARGS…' (or set PLANRUN_AGENT_COMMAND, or `command` in planrun.toml)"
                    .into(),
            ));
        };
        Template::parse(text).map(Some).map_err(|e| {
            (format!("--agent-command: {e}"), "see `planrun run --help` for the template's placeholders".into())
        })
    };
    let implement = Agent {
        kind,
        model: args.model.clone().or_else(|| configured(|r| r.model.as_ref(), config.model.as_ref())),
        template: if kind == AgentKind::Command { template(template_text.as_ref())? } else { None },
    };
    let mut per_task = Vec::with_capacity(plan.tasks.len());
    for t in &plan.tasks {
        let own = match t.agent.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
            None => None,
            Some(name) => {
                let k: AgentKind = name.parse().map_err(|e: String| {
                    (format!("task {}: {e}", t.id), "fix the task's `agent` field, or remove it".to_owned())
                })?;
                (k != kind).then(|| -> Result<Agent, Problem> {
                    Ok(Agent {
                        kind: k,
                        model: None,
                        template: if k == AgentKind::Command { template(template_text.as_ref())? } else { None },
                    })
                })
            }
        };
        per_task.push(own.transpose()?);
    }
    Ok(Agents { implement, per_task })
}

/// Whether an agent's program can be found before any task is started: a typo in the
/// template, or a CLI that is not installed, should be one clear error, not every task failing
/// in turn.
fn agent_exists(agent: &Agent, workspace: &std::path::Path) -> Result<(), Problem> {
    let program = match (&agent.template, agent.kind.program()) {
        (Some(t), _) => {
            let vars = planrun_agents::Vars {
                workspace: workspace.display().to_string(),
                role: "implement".into(),
                attempt: 1,
                ..planrun_agents::Vars::default()
            };
            t.render(&vars).into_iter().next().unwrap_or_default()
        }
        (None, Some(p)) => p.to_owned(),
        (None, None) => String::new(),
    };
    if program.is_empty() {
        return Err(("the agent command is empty".into(), "check --agent-command".into()));
    }
    if let Some(found) = find_program(&program, workspace) {
        use std::os::unix::fs::PermissionsExt as _;
        let executable = std::fs::metadata(&found).is_ok_and(|m| m.permissions().mode() & 0o111 != 0);
        if !executable {
            return Err((
                format!("the agent program `{program}` is not executable"),
                format!(
                    "make it executable (`chmod +x {}`), or run it through its interpreter (e.g. `sh {program} …`)",
                    found.display()
                ),
            ));
        }
        return Ok(());
    }
    let help = match agent.kind.package() {
        Some(pkg) => format!(
            "install it with `npm install -g {pkg}` (or put it in PATH); `planrun doctor` checks every agent CLI"
        ),
        None => "check --agent-command; a program without a `/` is looked up in PATH".into(),
    };
    Err((format!("the agent program `{program}` was not found"), help))
}

/// Where `program` is: relative to `workspace` if it has a `/`, else in PATH.
pub fn find_program(program: &str, workspace: &std::path::Path) -> Option<std::path::PathBuf> {
    if program.contains('/') {
        let p = workspace.join(program.strip_prefix("./").unwrap_or(program));
        return p.is_file().then_some(p);
    }
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths).map(|dir| dir.join(program)).find(|p| p.is_file())
}

/// The redactor of a run: the values of the secret variables any of its agents may see (by
/// their names, or read as a key by the CLI's configuration), and of those planrun.toml names.
fn redactor(agents: &Agents, pass_env: &[String], redact_env: &[String], workspace: &std::path::Path) -> Redactor {
    let mut values: Vec<String> = Vec::new();
    for a in agents.distinct() {
        values.extend(planrun_agents::env::secret_values(a.kind, pass_env, std::env::vars_os(), Some(workspace)));
    }
    for name in redact_env {
        if let Ok(v) = std::env::var(name) {
            values.push(v);
        }
    }
    Redactor::new(values)
}

struct Runner<'a> {
    s: Session,
    writer: Option<writer::Writer>,
    acks: tokio::sync::mpsc::UnboundedReceiver<writer::Ack>,
    next_batch: u64,
    durable: u64,
    pending: std::collections::VecDeque<Pending>,
    ctx: Arc<Ctx>,
    reporter: &'a mut dyn Progress,
    steps: JoinSet<StepDone>,
    cancel: watch::Sender<bool>,
    drain_timeout: Duration,
    grace: Duration,
    final_interrupted: bool,
    templates: Templates,
    agents: Agents,
    resume_rounds: u32,
    /// Set when a model provider's error stopped the run.
    provider_stop: Option<String>,
    /// Why an agent's program could not be started, once one could not.
    unstartable: Option<String>,
    /// Whether files made by the checks were mentioned already.
    told_check_output: bool,
    /// The run's id: when its first invocation started.
    run_id: String,
    /// Whether to mark progress in the plan's own files at the end.
    status_files: bool,
    /// The reviewer's take before each task's first attempt.
    take: bool,
    commit: CommitMode,
    /// Why the run pauses for the user (`--commit manual`, `--batch`).
    pause: Option<String>,
    /// The tasks that passed since the last pause, for the batch summary.
    passed_ids: Vec<String>,
    /// Tasks whose work waits in their worktree for the user's commit (`--commit manual` in
    /// worktree mode): their merge runs on a later invocation, once the worktree is committed.
    held: Vec<String>,
    /// What the first invocation recorded about the pipeline (kept on resume).
    pipe_record: journal_event::RunRecord,
    /// Budgets, rate-limit waits, usage windows and the watchdog.
    cost: CostSetup,
    /// The engine's run policy: what was spent, the budgets, the watchdog, rate-limit waits,
    /// usage windows, and what it decided for tasks whose steps are still running.
    policy: planrun_engine::Policy,
    /// What running agents report about their usage.
    reports: tokio::sync::mpsc::UnboundedReceiver<budget::Report>,
    /// Each running step's own stop switch, by task.
    step_cancels: Vec<(Option<usize>, watch::Sender<bool>)>,
}

impl<'a> Runner<'a> {
    fn new(mut s: Session, ctx: Ctx, setup: Setup, args: &RunOptions, reporter: &'a mut dyn Progress) -> Self {
        let (cancel, _) = watch::channel(false);
        let spent = views::Totals::of(&s).spend();
        let spent_task = (0..s.loaded.plan.tasks.len()).map(|t| views::Totals::of_task(&s, s.id(t)).spend()).collect();
        let mut rules = setup.cost.rules.clone();
        rules.pauses = policy::Pauses {
            after_each: setup.pipe.commit == CommitMode::Manual && setup.pipe.ws.mode == WorkspaceMode::Shared,
            batch: setup.pipe.batch,
        };
        let mut policy = planrun_engine::Policy::new(rules, spent, spent_task, unix_ms());
        for (i, st) in s.engine.states().iter().enumerate() {
            if let TaskState::Rework { reason, failures, .. } = st
                && *failures > 0
            {
                policy.failed_before(i, reason);
            }
        }
        for r in s.steps.values().flatten() {
            if let (Some(a), Some(end)) = (&r.agent, r.ended_ms) {
                policy.used_before(&a.agent, end, budget::spend_of(&a.usage, a.cost_usd));
            }
        }
        let (writer, acks) = match s.journal.take() {
            Some(journal) => {
                let (w, a) = writer::Writer::start(journal);
                (Some(w), a)
            }
            None => {
                let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
                let _ = tx.send(Err("the journal is not open".to_owned()));
                (None, rx)
            }
        };
        Self {
            s,
            writer,
            acks,
            next_batch: 0,
            durable: 0,
            pending: std::collections::VecDeque::new(),
            ctx: Arc::new(ctx),
            reporter,
            steps: JoinSet::new(),
            cancel,
            drain_timeout: args.drain_timeout,
            grace: args.grace,
            final_interrupted: false,
            templates: setup.templates,
            agents: setup.agents,
            resume_rounds: setup.resume_rounds,
            provider_stop: None,
            unstartable: None,
            told_check_output: false,
            run_id: setup.run_id.clone(),
            status_files: !args.no_status_files,
            take: setup.pipe.take,
            commit: setup.pipe.commit,
            pause: None,
            passed_ids: Vec::new(),
            held: Vec::new(),
            policy,
            reports: setup.reports,
            step_cancels: Vec::new(),
            cost: setup.cost.clone(),
            pipe_record: journal_event::RunRecord {
                workspace: Some(setup.pipe.ws.mode.name().to_owned()),
                integration: setup.pipe.ws.integration.clone(),
                pipeline_run: Some(setup.pipe.ws.run_id.clone()),
                stages: setup.pipe.stages.iter().map(|s| s.name().to_owned()).collect(),
                commit: Some(
                    match setup.pipe.commit {
                        CommitMode::Auto => "auto",
                        CommitMode::Manual => "manual",
                    }
                    .to_owned(),
                ),
                batch: setup.pipe.batch,
                scope: Some(setup.pipe.scope.name().to_owned()),
                reviews: setup.pipe.reviews.iter().map(|r| r.name().to_owned()).collect(),
                reviewer: setup.pipe.reviewer.as_ref().map(|r| r.kind.name().to_owned()),
                ..journal_event::RunRecord::default()
            },
        }
    }

    async fn drive(mut self) -> u8 {
        let stopped = orphans::stop(&self.s.layout.dir, self.grace);
        // This invocation's start; a new run's is the instant its id was taken from.
        let started = if self.s.resumed { unix_ms() } else { self.s.first_started_ms.unwrap_or_else(unix_ms) };
        // Worktrees no task needs (done, pending, skipped), left by a crash or an old run;
        // those of tasks with work in flight or to rework (and blocked ones, to inspect) stay.
        let keep: Vec<String> = (0..self.s.engine.states().len())
            .filter(|&t| {
                matches!(
                    self.s.engine.state(t),
                    Some(
                        TaskState::InProgress { .. }
                            | TaskState::InReview { .. }
                            | TaskState::Rework { .. }
                            | TaskState::Blocked { .. }
                    )
                )
            })
            .map(|t| self.s.id(t).to_owned())
            .collect();
        // What such a worktree holds that no branch has is kept under the task's last attempt.
        let last_attempt: rustc_hash::FxHashMap<String, u32> = self
            .s
            .steps
            .iter()
            .map(|(id, steps)| (id.clone(), steps.iter().map(|r| r.attempt).max().unwrap_or(0)))
            .collect();
        let ctx = Arc::clone(&self.ctx);
        let (swept, kept) = tokio::task::spawn_blocking(move || {
            let keep: Vec<&str> = keep.iter().map(String::as_str).collect();
            ctx.ws.sweep(&keep, |id| last_attempt.get(id).copied().unwrap_or(0).to_string())
        })
        .await
        .unwrap_or_default();
        if !swept.is_empty() {
            self.reporter.note(&format!("planrun: removed {} worktree(s) no task needs any more", swept.len()));
        }
        let mut records: Vec<session::Record> = Vec::new();
        for k in &kept {
            self.reporter.emit(&RunEvent::Kept(ev::Kept { reference: k.reference.clone(), commit: k.commit.clone() }));
            let kept = journal_event::KeptRecord {
                reference: k.reference.clone(),
                commit: k.commit.clone(),
                why: "swept".to_owned(),
            };
            records.push((None, JournalEvent::Kept(kept)));
        }
        let run_record = journal_event::RunRecord {
            plan: Some(self.s.plan_path.display().to_string()),
            plan_in_workspace: session::in_workspace(&self.s.plan_path, &self.s.layout.workspace),
            format: Some(self.s.loaded.format.name().to_owned()),
            pid: Some(std::process::id()),
            version: Some(env!("CARGO_PKG_VERSION").to_owned()),
            jobs: Some(self.s.limit as u64),
            max_rework: Some(u64::from(self.max_rework())),
            agent: Some(self.agents.implement.kind.name().to_owned()),
            model: self.agents.implement.model.clone(),
            resume_rounds: Some(self.resume_rounds),
            started_unix_ms: Some(started),
            argv: command_line().iter().map(|a| self.ctx.redact.text(a).into_owned()).collect(),
            budget: budget::budgets_json(&self.cost.rules.budgets),
            estimate: self.cost.estimate.as_ref().map_or(Value::Null, estimate::Estimate::to_json),
            cwd: Some(std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default()),
            journal_v: Some(journal_event::JOURNAL_EVENTS_VERSION),
            ..self.pipe_record.clone()
        };
        self.s.last_run = Some(run_record.clone());
        records.push((None, JournalEvent::Run(Box::new(run_record))));
        let fingerprints: std::collections::BTreeMap<String, String> = self
            .s
            .loaded
            .plan
            .tasks
            .iter()
            .zip(&self.s.fingerprints)
            .map(|(t, fp)| (t.id.clone(), fp.clone()))
            .collect();
        records.push((None, JournalEvent::Plan(journal_event::PlanRecord { fingerprints })));
        if !stopped.is_empty() {
            records.push((None, JournalEvent::Orphans(journal_event::OrphansRecord { pids: stopped.clone() })));
        }
        self.announce(&stopped);
        // A budget already reached (by earlier invocations of the run) starts nothing.
        if self.policy.reached_at_start().is_some() {
            if let Err(message) = self.submit(&records, Vec::new(), Vec::new()) {
                return self.abort(&message).await;
            }
            return self.finish(RunOutcome::Interrupted, false).await;
        }
        let out = self.s.engine.resume();
        if let Err(message) = self.submit(&records, out.changes, out.decisions) {
            return self.abort(&message).await;
        }

        let mut sigint = match signal(SignalKind::interrupt()) {
            Ok(s) => s,
            Err(e) => return self.abort(&format!("cannot watch for Ctrl-C: {e}")).await,
        };
        let mut sigterm = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(e) => return self.abort(&format!("cannot watch for SIGTERM: {e}")).await,
        };
        let mut interrupts = 0u32;
        let mut deadline: Option<tokio::time::Instant> = None;
        let mut ticks = tokio::time::interval(Duration::from_millis(500));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            if let Some(outcome) = self.s.engine.outcome() {
                if self.steps.is_empty() && self.pending.is_empty() {
                    return self.finish(outcome, interrupts > 0).await;
                }
            }
            tokio::select! {
                ack = self.acks.recv() => {
                    if let Err(message) = self.acknowledged(ack) {
                        return self.abort(&message).await;
                    }
                }
                joined = self.steps.join_next() => {
                    let Some(first) = joined else {
                        if self.pending.is_empty() && !self.held.is_empty() {
                            // Nothing runs; what is left waits for the user's commits.
                            return self.finish(RunOutcome::Interrupted, interrupts > 0).await;
                        }
                        if self.pending.is_empty() {
                            // Nothing runs, nothing waits and the engine has no outcome: cannot
                            // happen with a validated plan; stop rather than spin.
                            return self.finish(RunOutcome::Interrupted, true).await;
                        }
                        // Only journal acknowledgements can move the run on; wait for them.
                        let ack = self.acks.recv().await;
                        if let Err(message) = self.acknowledged(ack) {
                            return self.abort(&message).await;
                        }
                        continue;
                    };
                    let mut batch = vec![first];
                    while let Some(more) = self.steps.try_join_next() {
                        batch.push(more);
                    }
                    if let Err(message) = self.take(batch) {
                        return self.abort(&message).await;
                    }
                }
                _ = sigint.recv() => {
                    interrupts += 1;
                    self.interrupt(interrupts, &mut deadline);
                }
                _ = sigterm.recv() => {
                    interrupts += 1;
                    self.interrupt(interrupts, &mut deadline);
                }
                Some(report) = self.reports.recv() => self.report(report),
                _ = ticks.tick() => self.tick(),
                () = sleep_until(deadline) => {
                    self.reporter.note("planrun: the drain deadline passed; stopping the steps still running");
                    self.cancel_all();
                    deadline = None;
                }
            }
        }
    }

    /// A stop switch for one step: set by `cancel_all`, or for its task by `cancel_task`.
    fn subscribe(&mut self, task: Option<usize>) -> watch::Receiver<bool> {
        self.step_cancels.retain(|(_, tx)| !tx.is_closed());
        let (tx, rx) = watch::channel(*self.cancel.borrow());
        self.step_cancels.push((task, tx));
        rx
    }

    /// Stops every running step (their process groups get SIGTERM, then SIGKILL).
    fn cancel_all(&mut self) {
        self.cancel.send_replace(true);
        for (_, tx) in &self.step_cancels {
            tx.send_replace(true);
        }
    }

    /// Stops the running steps of one task.
    fn cancel_task(&mut self, task: usize) {
        for (t, tx) in &self.step_cancels {
            if *t == Some(task) {
                tx.send_replace(true);
            }
        }
    }

    /// When an agent of `kind` may run next: after its provider's rate limit, or when its usage
    /// window has room again; `None` for now.
    fn not_before(&self, kind: AgentKind) -> Option<tokio::time::Instant> {
        let wait = self.policy.not_before(kind.name(), unix_ms())?;
        Some(tokio::time::Instant::now() + Duration::from_millis(wait))
    }

    /// A running agent's report: that it started, or what it used so far.
    fn report(&mut self, report: budget::Report) {
        let now = unix_ms();
        match report {
            budget::Report::Started { run, task, attempt, role, agent } => {
                self.policy.started(&run, task, attempt, role, agent.name(), now);
            }
            budget::Report::Used { run, spend } => self.policy.usage(&run, spend, true, now),
        }
    }

    /// A task's own spend (journaled and running) when it is over the task budget.
    fn task_over_budget(&self, task: usize) -> Option<String> {
        self.policy.task_over_budget(task)
    }

    /// Blocks a task that is about to start a step (its budget is spent).
    fn block_now(&mut self, task: usize, reason: String) {
        let id = self.s.id(task).to_owned();
        self.reporter.emit(&RunEvent::TaskBudget(ev::TaskBudget { task: id, reason: reason.clone(), stopping: false }));
        match self.s.engine.handle(Input::Block { task, reason }) {
            Ok(out) => {
                if let Err(message) = self.submit(&[], out.changes, out.decisions) {
                    self.reporter.note(&format!("planrun: {message}"));
                }
            }
            Err(e) => self.reporter.note(&format!("planrun: {e}")),
        }
    }

    /// The policy stopped the run: every agent's process group, nothing new; exit 4.
    fn stopping(&mut self, kind: StopKind, reason: String) {
        let r = ev::Reason { reason };
        self.reporter.emit(&match kind {
            StopKind::Budget => RunEvent::BudgetStop(r),
            StopKind::Watchdog => RunEvent::WatchdogStop(r),
        });
        let _ = self.s.engine.handle(Input::Drain);
        self.cancel_all();
    }

    /// Every half second: the policy's budgets against what is spent (journaled plus what
    /// running agents have reported so far), its watchdog, and the live lines.
    fn tick(&mut self) {
        for action in self.policy.tick(unix_ms()) {
            match action {
                Action::Soft { reason, spent } => {
                    self.reporter.emit(&RunEvent::BudgetSoft(ev::BudgetSoft {
                        reason,
                        spent: ev::Spent { tokens: spent.tokens, usd: spent.usd },
                    }));
                    let _ = self.s.engine.handle(Input::Drain);
                }
                Action::Stop { kind, reason } => self.stopping(kind, reason),
                Action::TaskOverBudget { task, reason } => {
                    let id = self.s.id(task).to_owned();
                    self.reporter.emit(&RunEvent::TaskBudget(ev::TaskBudget { task: id, reason, stopping: true }));
                    self.cancel_task(task);
                }
                Action::NoProgress { tasks, policy, reason } => {
                    let ids: Vec<String> = tasks.iter().map(|&t| self.s.id(t).to_owned()).collect();
                    self.reporter.emit(&RunEvent::NoProgress(ev::NoProgress {
                        tasks: ids,
                        policy: policy.into(),
                        reason,
                    }));
                    if policy != WatchPolicy::Stop {
                        for t in tasks {
                            self.cancel_task(t);
                        }
                    }
                }
            }
        }
        let run = self.policy.run_spend();
        let budgeted = self.policy.rules().budgets.any_run_budget();
        if self.reporter.mode() == Mode::Live && (run.tokens > 0 || budgeted) {
            for (task, total) in self.policy.running_tasks() {
                let id = self.s.id(task).to_owned();
                self.reporter.usage(&id, &spend_text(total));
            }
            let mut footer = format!("total {}", spend_text(run));
            if let Some(b) = self.policy.rules().budgets.usd {
                footer.push_str(&format!(" of ${b:.2} budget"));
            } else if let Some(b) = self.policy.rules().budgets.tokens {
                footer.push_str(&format!(" of {b} tokens budget"));
            }
            if let Some(e) = &self.cost.estimate {
                footer.push_str(&format!(" · estimate {}", e.brief()));
            }
            self.reporter.footer(&footer);
        }
    }

    /// A rate limit or overload from an agent's provider: that agent waits (the reset time the
    /// provider gave, else the policy's backoff) and its task's attempt runs again after it;
    /// other agents go on.
    fn rate_limited(&mut self, task: usize, kind: AgentKind, reset: Option<Duration>, reason: &str) {
        let reset_ms = reset.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let wait_ms = self.policy.rate_limited(kind.name(), reset_ms, unix_ms());
        let id = self.s.id(task).to_owned();
        self.reporter.emit(&RunEvent::RateLimited(ev::RateLimited {
            task: id,
            agent: kind.name().to_owned(),
            wait_ms,
            reason: reason.to_owned(),
        }));
    }

    /// A failing step: when it failed exactly as the task's previous attempt did, the policy's
    /// repeat rule applies. Returns the input to give the engine instead, if any.
    fn repeated(&mut self, task: usize, reason: &str) -> Option<Input> {
        let id = self.s.id(task).to_owned();
        let already_stopped = self.policy.stopped().is_some();
        let verdict = self.policy.failed(task, reason, &id);
        if verdict == Repeat::New {
            return None;
        }
        self.reporter.emit(&RunEvent::RepeatedFailure(ev::RepeatedFailure {
            task: id,
            reason: reason.to_owned(),
            policy: self.policy.rules().on_repeat.into(),
        }));
        match verdict {
            Repeat::New | Repeat::Fresh => None,
            Repeat::Block(reason) => Some(Input::Block { task, reason }),
            Repeat::Stop(why) => {
                if !already_stopped {
                    self.stopping(StopKind::Watchdog, why);
                }
                None
            }
        }
    }

    fn max_rework(&self) -> u32 {
        self.s.engine.max_rework()
    }

    fn announce(&mut self, stopped: &[i32]) {
        let plan = &self.s.loaded.plan;
        let n = plan.tasks.len();
        let states = self.s.engine.states();
        let count = |f: fn(&TaskState) -> bool| states.iter().filter(|s| f(s)).count();
        let done = count(|s| *s == TaskState::Done);
        let started = ev::Started {
            plan: self.s.plan_path.display().to_string(),
            tasks: n,
            done,
            jobs: self.s.limit,
            state_dir: self.s.layout.dir.display().to_string(),
        };
        self.reporter.emit(&if self.s.resumed { RunEvent::Resumed(started) } else { RunEvent::Started(started) });
        if !stopped.is_empty() {
            self.reporter.emit(&RunEvent::OrphansStopped(ev::OrphansStopped { pids: stopped.to_vec() }));
        }
        for &t in &self.s.changed_done.clone() {
            let task = self.s.id(t).to_owned();
            self.reporter.emit(&RunEvent::ChangedAfterDone(ev::TaskRef { task }));
        }
    }

    /// A task passed every stage: its step report, and a pause for the user when
    /// `--commit manual` or `--batch N` asks for one.
    fn task_done(&mut self, task: usize) {
        let id = self.s.id(task).to_owned();
        let report = match report::write_task(&self.s, &self.run_id, task) {
            Ok((path, line)) => {
                self.reporter.emit(&RunEvent::TaskReport(ev::TaskReport {
                    task: id.clone(),
                    summary: line,
                    report: path.display().to_string(),
                }));
                path.display().to_string()
            }
            Err(e) => {
                self.reporter.note(&format!("planrun: the step report of {id} could not be written: {e}"));
                String::new()
            }
        };
        if self.ctx.ws.mode == WorkspaceMode::Shared {
            // Only a record file in a shared tree: the next attempt (after a retry) measures
            // its changes from a fresh snapshot.
            let _ = self.ctx.ws.release(&id, "done");
            // Tasks that worked beside it no longer count its changes as theirs.
            let files = self.s.task(task).map(|t| t.files.clone()).unwrap_or_default();
            let begun: Vec<String> = (0..self.s.loaded.plan.tasks.len())
                .filter(|&o| {
                    o != task
                        && matches!(
                            self.s.engine.state(o),
                            Some(TaskState::InProgress { .. } | TaskState::InReview { .. } | TaskState::Rework { .. })
                        )
                })
                .map(|o| self.s.id(o).to_owned())
                .collect();
            for (other, e) in self.ctx.ws.absorb(&begun, &files) {
                self.reporter.note(&format!("planrun: {other}: {e}"));
            }
        }
        self.passed_ids.push(id.clone());
        // In worktree mode a manual commit pauses before the merge (`hold`), not here.
        let all_done = self.s.engine.states().iter().all(TaskState::satisfies_dependents);
        let why = self.policy.passed(all_done).filter(|_| self.pause.is_none());
        let reason = why.map(|why| match why {
            policy::PauseWhy::Commit => format!(
                "task {id} is done and waits for you: inspect its changes and commit them as you see fit (its report: {report})"
            ),
            policy::PauseWhy::Batch(n) => format!("a batch of {n} task{} is done", if n == 1 { "" } else { "s" }),
        });
        if let Some(reason) = reason {
            self.reporter.emit(&RunEvent::Pausing(ev::TaskReason { task: id.clone(), reason: reason.clone() }));
            self.pause = Some(reason);
            let _ = self.s.engine.handle(Input::Drain);
        }
    }

    fn interrupt(&mut self, n: u32, deadline: &mut Option<tokio::time::Instant>) {
        if n == 1 {
            let _ = self.s.engine.handle(Input::Drain);
            *deadline = Some(tokio::time::Instant::now() + self.drain_timeout);
            let running = self.steps.len();
            self.reporter.emit(&RunEvent::Draining(ev::Draining { running, timeout: self.drain_timeout }));
        } else {
            self.reporter.emit(&RunEvent::Stopping(ev::Empty {}));
            self.cancel_all();
            *deadline = None;
        }
    }

    /// Journals one finished step (and the step that ran inside it first), and reports it.
    fn record_step(&mut self, done: &StepDone, records: &mut Vec<session::Record>) {
        if let Some(pre) = &done.pre {
            self.record_step(pre, records);
        }
        let id = done.task.map(|t| self.s.id(t).to_owned());
        let name = done.kind.name();
        if done.pre.is_none() || done.kind != Kind::Take {
            self.reporter.step_ended(id.as_deref().unwrap_or("plan"), name);
        }
        let summary = match &done.result {
            Ok(()) => "passed".to_owned(),
            Err(r) => r.lines().next().unwrap_or("").to_owned(),
        };
        let elapsed_ms = u64::try_from(done.elapsed.as_millis()).unwrap_or(u64::MAX);
        let agent = done.agent.as_ref().map(|a| a.record.clone());
        // Stages that only run git have no log of their own.
        let log = done.log.is_file().then(|| done.log.clone());
        let ended_ms = unix_ms();
        let payload = journal_event::StepPayload {
            attempt: done.attempt,
            step: name.to_owned(),
            ok: done.result.is_ok(),
            interrupted: done.interrupted,
            summary: summary.clone(),
            elapsed_ms,
            ended_unix_ms: Some(ended_ms),
            log: log.as_ref().map(|l| l.display().to_string()),
            agent: agent.clone(),
            detail: done.detail.clone(),
        };
        if let Some(task) = done.task {
            // From now on the journal holds what the step used, not the meter.
            let role = match done.kind {
                Kind::Check(stage) => stage.name(),
                other => other.name(),
            };
            let used = agent.as_ref().map(|a| (a.agent.as_str(), budget::spend_of(&a.usage, a.cost_usd)));
            self.policy.step_ended(Some(task), done.attempt, role, used, ended_ms);
        } else {
            self.policy.step_ended(None, done.attempt, name, None, ended_ms);
        }
        // The run's own record of the step is the journal's, read the way replay reads it.
        let record = session::StepRecord::of(&payload);
        records.push((id.clone(), JournalEvent::Step(Box::new(payload))));
        if let Some(id) = &id {
            self.s.steps.entry(id.clone()).or_default().push(record);
            if let Some(a) = &done.agent {
                self.reporter.emit(&RunEvent::AgentUsage(ev::AgentUsage {
                    task: id.clone(),
                    attempt: done.attempt,
                    step: name.to_owned(),
                    agent: a.record.event(),
                    denied: a.denied.clone(),
                }));
            }
            self.report_detail(id, done);
        }
    }

    /// What a stage found that the user should see even when it passed: changes outside the
    /// task's files under `--scope warn`, advisory findings, a commit or a merge.
    fn report_detail(&mut self, id: &str, done: &StepDone) {
        let Some(d) = &done.detail else { return };
        match done.kind {
            Kind::Check(Stage::Scope) if done.result.is_ok() => {
                let outside = d.outside.clone().unwrap_or_default();
                if !outside.is_empty() {
                    self.reporter.emit(&RunEvent::ScopeWarning(ev::ScopeWarning { task: id.to_owned(), outside }));
                }
            }
            Kind::Check(Stage::Review | Stage::Test) => {
                for r in d.reviews.iter().flatten() {
                    for f in r.findings.iter().filter(|f| f.severity == planrun_agents::verdict::Severity::Advisory) {
                        self.reporter.emit(&RunEvent::Advisory(ev::Advisory {
                            task: id.to_owned(),
                            review: r.review.clone(),
                            finding: serde_json::to_value(f).unwrap_or_default(),
                        }));
                    }
                }
            }
            Kind::Check(Stage::Commit) if done.result.is_ok() => {
                if let Some(c) = &d.commit {
                    self.reporter.emit(&RunEvent::Committed(ev::Committed { task: id.to_owned(), commit: c.clone() }));
                }
            }
            Kind::Check(Stage::Merge) if done.result.is_ok() => {
                if let Some(c) = &d.merged {
                    self.reporter.emit(&RunEvent::Merged(ev::Merged {
                        task: id.to_owned(),
                        commit: c.clone(),
                        into: d.into.clone().unwrap_or_default(),
                        rebased: d.rebased == Some(true),
                    }));
                }
            }
            _ => {}
        }
    }

    /// Turns finished steps into engine inputs, journals what they changed with the steps'
    /// records in one transaction, then acts on the decisions.
    fn take(&mut self, batch: Vec<Result<StepDone, tokio::task::JoinError>>) -> Result<(), String> {
        // Reports sent before these steps ended are taken first, so none arrives after its
        // step is journaled.
        while let Ok(report) = self.reports.try_recv() {
            self.report(report);
        }
        let mut records = Vec::new();
        let mut changes = Vec::new();
        let mut decisions = Vec::new();
        for joined in batch {
            let done = match joined {
                Ok(d) => d,
                Err(e) => return Err(format!("a step failed inside planrun: {e}")),
            };
            self.record_step(&done, &mut records);
            self.tell_check_output(&done);
            let id = done.task.map(|t| self.s.id(t).to_owned());
            let provider_error = done.agent.as_ref().and_then(|a| a.provider_error.clone());
            let unstartable = done.agent.as_ref().and_then(|a| a.unstartable.clone());
            let input = match (done.kind, done.task) {
                (Kind::Final, _) => {
                    if done.interrupted {
                        self.final_interrupted = true;
                    }
                    Input::FinalChecked { result: done.result }
                }
                (_, None) | (Kind::Take, _) => continue,
                (_, Some(task)) if self.policy.blocks(task) => {
                    // Its budget is spent, or the watchdog stopped it.
                    let reason = self.policy.take_block(task).unwrap_or_default();
                    Input::Block { task, reason }
                }
                (_, Some(task)) if done.interrupted => {
                    let reason = match (self.policy.stopped(), self.policy.fresh(task)) {
                        (Some((_, why)), _) => format!("stopped: {why}"),
                        (None, true) => "stopped by the watchdog: no agent printed anything for too long".into(),
                        (None, false) => "planrun was interrupted during this attempt".into(),
                    };
                    Input::Interrupted { task, attempt: done.attempt, reason }
                }
                (_, Some(task)) if unstartable.is_some() => {
                    let reason = unstartable.unwrap_or_default();
                    // Every attempt would fail the same way: the run stops (exit 4) with what
                    // to fix, and the attempt does not count as a failure.
                    self.stop_starting(true, id.as_deref().unwrap_or("?"), &reason);
                    Input::Interrupted { task, attempt: done.attempt, reason }
                }
                (_, Some(task)) if provider_error.is_some() && done.result.is_err() => {
                    let reason = done.result.clone().err().unwrap_or_default();
                    let kind = done.agent.as_ref().and_then(|a| a.record.agent.parse::<AgentKind>().ok());
                    match (kind, provider_error.map(|p| p.kind)) {
                        (Some(kind), Some(ProviderKind::RateLimit { reset })) => {
                            self.rate_limited(task, kind, reset, &reason);
                        }
                        _ => self.stop_for_provider(id.as_deref().unwrap_or("?"), &reason),
                    }
                    Input::Interrupted { task, attempt: done.attempt, reason }
                }
                (Kind::Implement | Kind::Check(_), Some(task))
                    if done.result.is_err()
                        && self.repeated(task, done.result.as_ref().err().map_or("", String::as_str)).is_some() =>
                {
                    let reason = done.result.clone().err().unwrap_or_default();
                    Input::Block { task, reason: format!("failed the same way twice in a row: {reason}") }
                }
                (Kind::Implement, Some(task)) => {
                    Input::Implemented { task, attempt: done.attempt, result: done.result }
                }
                (Kind::Check(stage), Some(task)) => {
                    Input::Checked { task, attempt: done.attempt, stage, result: done.result }
                }
            };
            if self.pauses_after(&input) {
                // The task's pass will pause the run: nothing new may start with it.
                let _ = self.s.engine.handle(Input::Drain);
            }
            match self.s.engine.handle(input) {
                Ok(out) => {
                    changes.extend(out.changes);
                    decisions.extend(out.decisions);
                }
                Err(e) => self.reporter.note(&format!("planrun: ignored a late report: {e}")),
            }
        }
        self.submit(&records, changes, decisions)
    }

    /// Whether `input` passes a task and that pass pauses the run (`--batch N`, or
    /// `--commit manual` in a shared tree; see `task_done`), so the engine must drain first
    /// rather than start a task the pause would only interrupt. Not when every other task is
    /// done: the run then ends (with its final check) instead of pausing.
    fn pauses_after(&self, input: &Input) -> bool {
        let (task, passes) = match input {
            Input::Checked { task, stage, result: Ok(()), .. } => {
                (*task, self.s.engine.stages(*task).last() == Some(stage))
            }
            Input::Implemented { task, result: Ok(()), .. } => (*task, self.s.engine.stages(*task).is_empty()),
            _ => return false,
        };
        if !passes || self.pause.is_some() {
            return false;
        }
        let others_done =
            self.s.engine.states().iter().enumerate().all(|(i, st)| i == task || st.satisfies_dependents());
        self.policy.next_pass_pauses(others_done)
    }

    /// A model provider failed (API error, rate limit): nothing new starts, running steps
    /// finish, and the run ends resumable with exit 4. The attempt does not count as a failure.
    fn stop_for_provider(&mut self, id: &str, reason: &str) {
        self.stop_starting(false, id, reason);
    }

    /// Nothing new starts and running steps finish, for a reason that is no task's fault: a
    /// provider's error, or (`unstartable`) an agent program that cannot be started.
    fn stop_starting(&mut self, unstartable: bool, id: &str, reason: &str) {
        let first = reason.lines().next().unwrap_or("");
        let r = ev::TaskReason { task: id.to_owned(), reason: reason.to_owned() };
        self.reporter.emit(&if unstartable { RunEvent::AgentUnavailable(r) } else { RunEvent::ProviderError(r) });
        let slot = if unstartable { &mut self.unstartable } else { &mut self.provider_stop };
        if slot.is_none() {
            *slot = Some(first.to_owned());
            let _ = self.s.engine.handle(Input::Drain);
        }
    }

    /// Says once per invocation that the checks made files (never committed), with the first
    /// few names: the same files usually come back with every task.
    fn tell_check_output(&mut self, done: &StepDone) {
        if self.told_check_output {
            return;
        }
        let made = done.detail.as_ref().and_then(|d| d.made_by_checks.as_ref());
        let Some(made) = made.filter(|m| !m.is_empty()) else { return };
        self.told_check_output = true;
        let names: Vec<String> = made.iter().take(5).map(|p| format!("`{p}`")).collect();
        let more =
            if made.len() > names.len() { format!(" and {} more", made.len() - names.len()) } else { String::new() };
        self.reporter.note(&format!(
            "planrun: the checks made files that are not the tasks' work, so they are never committed: {}{more} (list them in .gitignore to keep them out of sight)",
            names.join(", ")
        ));
    }

    /// Hands the records and changes to the journal writer; the decisions wait until the
    /// batch is durable.
    fn submit(
        &mut self,
        records: &[session::Record],
        changes: Vec<planrun_engine::Change>,
        decisions: Vec<Decision>,
    ) -> Result<(), String> {
        let batch = self.s.batch(records, &changes);
        if batch.is_empty() && decisions.is_empty() {
            return Ok(());
        }
        self.next_batch += 1;
        let id = self.next_batch;
        if !self.writer.as_ref().is_some_and(|w| w.send(id, batch)) {
            return Err(journal_failed("the journal writer stopped"));
        }
        self.pending.push_back(Pending { batch: id, changes, decisions });
        Ok(())
    }

    /// A batch is durable: report its changes and act on its decisions, in order.
    fn acknowledged(&mut self, ack: Option<writer::Ack>) -> Result<(), String> {
        match ack {
            Some(Ok(n)) => self.durable = self.durable.max(n),
            Some(Err(e)) => return Err(journal_failed(&e)),
            None => return Err(journal_failed("the journal writer stopped")),
        }
        while self.pending.front().is_some_and(|p| p.batch <= self.durable) {
            let Some(p) = self.pending.pop_front() else { break };
            self.report_changes(&p.changes);
            self.act(p.decisions);
        }
        Ok(())
    }

    /// Stops every running step, waits for their process groups to end, and exits 1: used when
    /// the journal cannot be written, since nothing may happen that is not recorded.
    async fn abort(&mut self, message: &str) -> u8 {
        self.cancel_all();
        while self.steps.join_next().await.is_some() {}
        if let Some(w) = self.writer.take() {
            let _ = w.stop();
        }
        self.reporter.finish();
        errln!("error: {message}");
        exit::FAILURE
    }

    fn report_changes(&mut self, changes: &[planrun_engine::Change]) {
        for c in changes {
            if let planrun_engine::Change::FinalCheck { check } = c {
                match check {
                    planrun_engine::FinalCheck::Passed => {
                        self.reporter.emit(&RunEvent::FinalCheckPassed(ev::Empty {}));
                    }
                    planrun_engine::FinalCheck::Failed { reason } if !self.final_interrupted => {
                        self.reporter.emit(&RunEvent::FinalCheckFailed(ev::Reason { reason: reason.clone() }));
                    }
                    _ => {}
                }
                continue;
            }
            let planrun_engine::Change::Task { task, transition } = c else { continue };
            let id = self.s.id(*task).to_owned();
            let state = self.s.engine.state(*task).cloned();
            use planrun_engine::Transition as T;
            match transition {
                T::Pass => {
                    self.reporter.emit(&RunEvent::Done(ev::TaskRef { task: id.clone() }));
                    self.task_done(*task);
                }
                T::Fail { reason } | T::Interrupt { reason } => match state {
                    Some(TaskState::Blocked { reason: why }) => {
                        self.reporter.emit(&RunEvent::Blocked(ev::TaskReason { task: id, reason: why }));
                    }
                    _ => {
                        let r = ev::TaskReason { task: id, reason: reason.clone() };
                        let fail = matches!(transition, T::Fail { .. });
                        self.reporter.emit(&if fail { RunEvent::Rework(r) } else { RunEvent::Interrupted(r) });
                    }
                },
                T::Skip => self.reporter.emit(&RunEvent::Skipped(ev::TaskRef { task: id })),
                _ => {}
            }
        }
    }

    /// Starts the steps the engine decided on. Called only after their changes are journaled.
    fn act(&mut self, decisions: Vec<Decision>) {
        for d in decisions {
            match d {
                Decision::Implement { task, attempt, feedback } => self.start_implement(task, attempt, feedback),
                Decision::Check { task, attempt, stage } => self.start_check(task, attempt, stage),
                Decision::FinalCheck => {
                    self.s.final_checks += 1;
                    let n = self.s.final_checks;
                    self.reporter.emit(&RunEvent::FinalCheck(ev::Empty {}));
                    self.reporter.step_started("plan", "final-check", 1);
                    let rx = self.subscribe(None);
                    self.steps.spawn(steps::final_check(Arc::clone(&self.ctx), n, rx));
                }
            }
        }
    }

    /// Starts stage `stage` of an attempt.
    fn start_check(&mut self, task: usize, attempt: u32, stage: Stage) {
        let Some(t) = self.s.task(task).cloned() else { return };
        if stage == Stage::Merge && self.commit == CommitMode::Manual && self.ctx.ws.mode == WorkspaceMode::Worktree {
            // Never merged without the user's commit: the first time, and while its worktree
            // still holds uncommitted changes, the task waits for the user.
            let shown = self.s.holds.get(&t.id) == Some(&attempt);
            let uncommitted = self.ctx.ws.uncommitted_in(&t.id).unwrap_or(true);
            if !shown || uncommitted {
                self.hold(task, attempt, shown);
                return;
            }
        }
        if matches!(stage, Stage::Review | Stage::Test) {
            if let Some(reason) = self.task_over_budget(task) {
                self.block_now(task, reason);
                return;
            }
        }
        let id = t.id.clone();
        let started = ev::StageStarted { task: id.clone(), attempt, stage: stage.name().to_owned() };
        if let Some(e) = RunEvent::stage_started(stage.name(), started) {
            self.reporter.emit(&e);
        }
        self.reporter.step_started(&id, stage.name(), attempt);
        let plan = &self.s.loaded.plan;
        let title = if plan.title.is_empty() { "this plan".to_owned() } else { plan.title.clone() };
        let body = format!("Task {id} of \"{title}\".");
        let message = planrun_git::commit::message(pipeline::commit_kind(&t.title), &id, &t.title, &body);
        // Files other tasks may change beside this one in a shared tree: those running now
        // (what tasks that finished meanwhile changed was taken into its starting point).
        let others: Vec<String> = (0..plan.tasks.len())
            .filter(|&o| o != task)
            .filter(|&o| self.s.engine.state(o).is_some_and(TaskState::is_running))
            .filter_map(|o| plan.tasks.get(o))
            .flat_map(|o| o.files.iter().cloned())
            .collect();
        let persona = self
            .templates
            .text(if stage == Stage::Test { templates::persona_for(&t) } else { "reviewer" })
            .trim_end()
            .to_owned();
        let brief = prompt::brief(plan, &t, &[], None);
        let vars = vec![
            ("persona", persona),
            ("plan_title", title),
            ("task_id", id.clone()),
            ("task_title", t.title.clone()),
            ("attempt", attempt.to_string()),
            ("brief", brief),
        ];
        let run = steps::CheckRun {
            task,
            id,
            attempt,
            stage,
            verify: t.verify.clone(),
            files: t.files.clone(),
            others,
            vars,
            message,
            not_before: if stage == Stage::Test { self.ctx.tester.as_ref() } else { self.ctx.reviewer.as_ref() }
                .and_then(|r| self.not_before(r.kind)),
        };
        let rx = self.subscribe(Some(task));
        self.steps.spawn(steps::check(Arc::clone(&self.ctx), run, rx));
    }

    /// Leaves task `task`'s passed work in its worktree for the user to commit, and pauses
    /// the run: its merge runs when a later invocation finds the worktree committed.
    fn hold(&mut self, task: usize, attempt: u32, again: bool) {
        let id = self.s.id(task).to_owned();
        let path = self.ctx.ws.path(&id);
        let branch = self.ctx.ws.branch(&id);
        let shown = path.strip_prefix(&self.ctx.ws.root).unwrap_or(&path).display().to_string();
        let into = self.ctx.ws.integration.clone().unwrap_or_default();
        self.reporter.emit(&RunEvent::WaitingForCommit(ev::WaitingForCommit {
            task: id.clone(),
            attempt,
            worktree: path.display().to_string(),
            branch: branch.clone(),
            shown: shown.clone(),
            into,
            again,
        }));
        self.s.holds.insert(id.clone(), attempt);
        self.held.push(id.clone());
        let hold = journal_event::HoldRecord { attempt, worktree: path.display().to_string(), branch: branch.clone() };
        let record = (Some(id.clone()), JournalEvent::Hold(hold));
        if let Err(message) = self.submit(&[record], Vec::new(), Vec::new()) {
            self.reporter.note(&format!("planrun: {message}"));
        }
        if self.pause.is_none() {
            self.pause = Some(format!("task {id} waits for your commit in `{shown}`"));
        }
        let _ = self.s.engine.handle(Input::Drain);
    }

    fn start_implement(&mut self, task: usize, attempt: u32, feedback: Option<String>) {
        let id = self.s.id(task).to_owned();
        let not_started = |reason: &str, interrupted: bool, log: std::path::PathBuf| {
            let reason = reason.to_owned();
            async move {
                StepDone {
                    kind: Kind::Implement,
                    task: Some(task),
                    attempt,
                    result: Err(reason),
                    interrupted,
                    elapsed: Duration::ZERO,
                    log,
                    agent: None,
                    detail: None,
                    pre: None,
                }
            }
        };
        if self.s.engine.is_draining() {
            // Decided before Ctrl-C, durable only after it: do not start it; record it as
            // interrupted (not a failure) so the next run starts it again.
            let log = self.ctx.layout.attempt_log(&id, attempt, "implement");
            self.steps.spawn(not_started("interrupted before it started", true, log));
            return;
        }
        if let Some(reason) = self.task_over_budget(task) {
            self.block_now(task, reason);
            return;
        }
        let agent = self.agents.for_task(task).clone();
        let resume = feedback.as_ref().and_then(|_| self.resumable(task, &agent));
        self.policy.started_fresh(task);
        let path = self.s.layout.prompt(&id, attempt);
        let take_file = self.s.layout.dir.join("takes").join(format!("{id}.md"));
        let mut text = match (&resume, &feedback) {
            (Some(_), Some(f)) => self.resume_prompt(task, attempt, f),
            _ => self.prompt_for(task, attempt, feedback.as_deref()),
        };
        // The reviewer's take: given once before the first attempt, then part of every fresh
        // prompt (a resumed session has it already).
        let mut take = None;
        if self.take {
            match std::fs::read_to_string(&take_file) {
                Ok(t) if resume.is_none() => text.push_str(&prompt::take_section(&t)),
                Ok(_) => {}
                Err(_) => take = self.take_run(task, attempt, &take_file),
            }
        }
        let written = path.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|()| std::fs::write(&path, &text));
        // A task's first attempt, or its first after `planrun retry`, starts; a rework retries.
        let start = ev::Implementing {
            task: id.clone(),
            attempt,
            step: "implement".to_owned(),
            agent: agent.kind.name().to_owned(),
            model: agent.model.clone(),
            resumed: resume.is_some(),
        };
        self.reporter.emit(&if feedback.is_none() { RunEvent::Start(start) } else { RunEvent::Retry(start) });
        self.reporter.step_started(&id, "implement", attempt);
        let ctx = Arc::clone(&self.ctx);
        if let Err(e) = written {
            let reason = format!("cannot write the prompt file `{}`: {e}", path.display());
            let log = ctx.layout.attempt_log(&id, attempt, "implement");
            self.steps.spawn(not_started(&reason, false, log));
            return;
        }
        let not_before = self.not_before(agent.kind);
        if let Some(at) = not_before {
            let secs = at.saturating_duration_since(tokio::time::Instant::now()).as_secs();
            self.reporter.emit(&RunEvent::Waiting(ev::Waiting {
                task: id.clone(),
                agent: agent.kind.name().to_owned(),
                seconds: secs,
            }));
        }
        let rx = self.subscribe(Some(task));
        let run = ImplementRun { task, id, attempt, agent, prompt: path, text, resume, take, not_before };
        self.steps.spawn(steps::implement(ctx, run, rx));
    }

    /// The reviewer's take for `task`, to run before its implementer.
    fn take_run(&self, task: usize, attempt: u32, keep: &std::path::Path) -> Option<steps::TakeRun> {
        let agent = self.ctx.reviewer.clone()?;
        let t = self.s.task(task)?;
        let plan = &self.s.loaded.plan;
        let title = if plan.title.is_empty() { "this plan" } else { plan.title.as_str() };
        let persona = self.templates.text("architect").trim_end().to_owned();
        let brief = prompt::brief(plan, t, &[], None);
        let text = self.templates.render(
            "take",
            &[
                ("persona", &persona),
                ("plan_title", title),
                ("task_id", &t.id),
                ("task_title", &t.title),
                ("brief", &brief),
            ],
        );
        let prompt = self.s.layout.dir.join("prompts").join(format!("{}.{attempt}.take.md", t.id));
        std::fs::write(&prompt, &text).ok()?;
        if let Some(dir) = keep.parent() {
            std::fs::create_dir_all(dir).ok()?;
        }
        let call = steps::AgentCall {
            task,
            not_before: self.not_before(agent.kind),
            id: t.id.clone(),
            role: "take",
            attempt,
            agent,
            prompt,
            text,
            resume: None,
            cwd: self.ctx.ws.path(&t.id),
            log: self.ctx.layout.attempt_log(&t.id, attempt, "take"),
        };
        Some(steps::TakeRun { call, keep: keep.to_owned() })
    }

    /// The session to resume for `task`'s rework with `agent`, if any: the last implement step's
    /// session, by the same CLI, unless it was already resumed `resume_rounds` times in a row.
    fn resumable(&self, task: usize, agent: &Agent) -> Option<(String, Usage)> {
        if agent.kind == AgentKind::Command || self.resume_rounds == 0 || self.policy.fresh(task) {
            return None;
        }
        let records: Vec<&session::AgentRecord> = self
            .s
            .steps
            .get(self.s.id(task))?
            .iter()
            .filter(|r| r.step == "implement")
            .filter_map(|r| r.agent.as_ref())
            .collect();
        let last = records.last()?;
        let session = last.session.clone()?;
        if last.agent != agent.kind.name() {
            return None;
        }
        let in_a_row = records.iter().rev().take_while(|r| r.resumed && r.session.as_ref() == Some(&session)).count();
        if u32::try_from(in_a_row).unwrap_or(u32::MAX) >= self.resume_rounds {
            return None;
        }
        Some((session, last.session_usage.unwrap_or_default()))
    }

    /// The short prompt of a resumed session: it knows the task; it needs the failure.
    fn resume_prompt(&self, task: usize, attempt: u32, feedback: &str) -> String {
        let Some(t) = self.s.task(task) else { return String::new() };
        let attempt = attempt.to_string();
        let feedback = prompt::fenced_feedback(feedback);
        self.templates.render(
            "resume",
            &[("task_id", &t.id), ("task_title", &t.title), ("attempt", &attempt), ("feedback", &feedback)],
        )
    }

    fn prompt_for(&self, task: usize, attempt: u32, feedback: Option<&str>) -> String {
        let plan = &self.s.loaded.plan;
        let Some(t) = plan.tasks.get(task) else { return String::new() };
        let deps: Vec<prompt::DepNote<'_>> = self
            .s
            .checked
            .graph
            .deps
            .get(task)
            .into_iter()
            .flatten()
            .filter_map(|&d| {
                let dt = plan.tasks.get(d)?;
                let notes =
                    std::fs::read(self.s.layout.notes(&dt.id)).ok().map(|b| String::from_utf8_lossy(&b).into_owned());
                let state = self.s.engine.state(d).map_or("pending", TaskState::name);
                Some(prompt::DepNote { task: dt, state, notes })
            })
            .collect();
        let notes_file = self.s.layout.notes(&t.id).display().to_string();
        let brief = prompt::brief(plan, t, &deps, feedback);
        let persona = self.templates.text(templates::persona_for(t)).trim_end().to_owned();
        let title = if plan.title.is_empty() { "this plan" } else { plan.title.as_str() };
        let attempt = attempt.to_string();
        self.templates.render(
            "implement",
            &[
                ("persona", &persona),
                ("plan_title", title),
                ("task_id", &t.id),
                ("task_title", &t.title),
                ("attempt", &attempt),
                ("brief", &brief),
                ("notes_file", &notes_file),
            ],
        )
    }

    async fn finish(&mut self, outcome: RunOutcome, interrupted: bool) -> u8 {
        self.reporter.finish();
        let ending = self.policy.ending(
            &outcome,
            policy::Halts {
                interrupted,
                final_interrupted: self.final_interrupted,
                unstartable: self.unstartable.is_some(),
                provider: self.provider_stop.is_some(),
                paused: self.pause.is_some(),
            },
        );
        let (name, code) = (ending.name(), ending.code());
        let record = [(None, JournalEvent::Finished(journal_event::FinishedRecord { outcome: name.to_owned() }))];
        if let Err(message) = self.submit(&record, Vec::new(), Vec::new()) {
            return self.abort(&message).await;
        }
        while !self.pending.is_empty() {
            let ack = self.acks.recv().await;
            if let Err(message) = self.acknowledged(ack) {
                return self.abort(&message).await;
            }
        }
        if let Some(w) = self.writer.take() {
            self.s.journal = w.stop();
        }
        let summary = views::summary(&self.s);
        let used = views::Totals::of(&self.s);
        let report = report::write(&self.s, &self.run_id, name);
        estimate::record(&self.s, &self.s.layout.dir.join("history.jsonl"));
        let status_files = if self.status_files { Some(report::status_files(&self.s)) } else { None };
        let mut fields = ev::Finished {
            outcome: name.to_owned(),
            exit_code: code,
            counts: summary.counts.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
            usage: used.event(),
            final_check: None,
            reason: None,
            class: None,
            help: None,
            integration: None,
            report: None,
            status_files: None,
            summary: String::new(),
        };
        if let RunOutcome::FinalCheckFailed { reason } = &outcome {
            fields.final_check = Some(reason.clone());
        }
        let advice = self.provider_stop.as_deref().map(|r| provider::advice(r, &self.ctx.ws.root));
        if let (Some(reason), Some(a), "provider_error") = (&self.provider_stop, &advice, name) {
            fields.reason = Some(reason.clone());
            fields.class = Some(a.class.name().to_owned());
            fields.help = Some(a.help.clone());
        }
        let mut text = format!("planrun: {}", summary.line);
        match &outcome {
            RunOutcome::Done => {
                text.push_str("; all done");
                if self.commit == CommitMode::Manual
                    && self.ctx.ws.mode == WorkspaceMode::Shared
                    && self.ctx.ws.repo.is_some()
                    && !self.passed_ids.is_empty()
                {
                    text.push_str(&format!(
                        "\n  not committed (--commit manual): the work of {}; inspect with `git status` and `git diff`, commit what you accept",
                        self.passed_ids.join(", ")
                    ));
                }
            }
            _ if name == "budget" || name == "watchdog" => {
                let why = self.policy.stopped().map(|(_, w)| w.to_owned()).or_else(|| {
                    self.policy.soft().map(|w| format!("{w}: nothing new was started and the steps in flight finished"))
                });
                text.push_str(&format!("; stopped: {}", why.unwrap_or_default()));
                text.push_str(&spent_lines(&self.s));
                if name == "budget" {
                    text.push_str("\n  nothing was lost: raise the budget (--budget-usd, --budget-tokens; what was spent still counts) and run the same command to resume");
                } else {
                    text.push_str("\n  nothing was lost: `planrun log TASK` shows where the agents stopped; run the same command to resume");
                }
                fields.reason = Some(why_json(&self.policy));
            }
            _ if name == "agent_unavailable" => {
                let reason = self.unstartable.clone().unwrap_or_default();
                text.push_str(&format!("; stopped: {reason}\n  {UNSTARTABLE_HELP}"));
                fields.reason = Some(reason);
                fields.help = Some(UNSTARTABLE_HELP.to_owned());
            }
            _ if code == PROVIDER => text.push_str(&format!(
                "; stopped by {}:\n  {}\n  {}",
                advice.as_ref().map_or("the model provider", |a| a.what),
                self.provider_stop.as_deref().unwrap_or("the model provider failed"),
                advice.as_ref().map_or("", |a| a.help.as_str())
            )),
            _ if code == INTERRUPTED => text.push_str("; interrupted: run the same command again to resume"),
            _ if code == PAUSED => {
                text.push_str(&format!("; paused: {}", self.pause.as_deref().unwrap_or("")));
                if !self.passed_ids.is_empty() {
                    text.push_str(&format!("\n  done since the last pause: {}", self.passed_ids.join(", ")));
                }
                if !self.held.is_empty() {
                    for id in &self.held {
                        let path = self.ctx.ws.path(id);
                        let shown = path.strip_prefix(&self.ctx.ws.root).unwrap_or(&path).display().to_string();
                        text.push_str(&format!("\n  {id} waits for your commit in `{shown}`"));
                    }
                    text.push_str("\n  commit what you accept in each (`git -C DIR add -A && git -C DIR commit`),");
                    text.push_str(" discard the rest,");
                } else if self.commit == CommitMode::Manual {
                    text.push_str("\n  inspect with `git status` and `git diff`, commit (or edit) what you accept,");
                }
                text.push_str("\n  then `planrun continue` goes on");
            }
            RunOutcome::Interrupted => {}
            RunOutcome::Blocked { .. } => {
                for line in if crate::out::verbose() { &summary.blocked_full } else { &summary.blocked_lines } {
                    text.push_str(&format!("\n  {line}"));
                }
                text.push_str(
                    "\n  `planrun explain TASK` says why and what to do, `planrun log TASK` shows each attempt; after fixing, `planrun retry TASK` and run again",
                );
            }
            RunOutcome::FinalCheckFailed { reason } => {
                text.push_str(&format!(
                    "; every task is done, but the final check failed:\n  {}",
                    reason.replace('\n', "\n  ")
                ));
            }
        }
        if let Some(line) = used.line() {
            text.push_str(&format!("\n  used {line}"));
        }
        if let Some(branch) = &self.ctx.ws.integration {
            let current = self.ctx.ws.repo.as_ref().and_then(|r| r.current_branch().ok().flatten());
            // Commits on the integration branch that the checked-out branch lacks.
            let ahead = self
                .ctx
                .ws
                .repo
                .as_ref()
                .and_then(|r| r.run(&["rev-list", "--count", &format!("HEAD..refs/heads/{branch}")]).ok())
                .and_then(|n| n.trim().parse::<u64>().ok());
            if current.as_deref() != Some(branch.as_str()) && ahead == Some(0) {
                text.push_str(&format!("\n  `{branch}` holds no commit that your branch lacks: nothing to merge"));
            } else if current.as_deref() == Some(branch.as_str()) {
                text.push_str(&format!("\n  the tasks' commits are on `{branch}`"));
            } else {
                text.push_str(&format!(
                    "\n  the tasks' commits are on `{branch}`: review it (`git log -p {branch}`), then merge it (`git merge {branch}`)"
                ));
            }
            fields.integration = Some(branch.clone());
        }
        match &report {
            Ok(path) => {
                text.push_str(&format!("\n  report: {}", path.display()));
                fields.report = Some(path.display().to_string());
            }
            Err(e) => text.push_str(&format!("\n  (the run's report could not be written: {e})")),
        }
        match &status_files {
            Some(Ok(paths)) if !paths.is_empty() => {
                text.push_str(&format!("\n  progress marked in {} file(s) of the plan", paths.len()));
                fields.status_files = Some(paths.iter().map(|p| p.display().to_string()).collect());
            }
            Some(Err(e)) => text.push_str(&format!("\n  (the plan's status marks could not be written: {e})")),
            _ => {}
        }
        fields.summary = text;
        let finished = RunEvent::Finished(fields);
        if self.reporter.mode() == Mode::Json {
            self.reporter.emit(&finished);
        } else {
            outln!("{}", finished.text());
        }
        code
    }
}

fn journal_failed(e: &str) -> String {
    format!(
        "cannot write the journal: {e}\n  help: nothing recorded was lost; free some space (or repair the state directory) and run the same command again to resume"
    )
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

pub(crate) fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(0))
}

/// The first 10 characters of a commit id, as people quote them.
pub(crate) fn short(commit: &str) -> &str {
    commit.get(..10).unwrap_or(commit)
}

/// The command line `planrun continue` runs again, set before it does: the invocation it starts
/// records that one as its own, never `planrun continue`, so the next `continue` finds it too.
static CONTINUED: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();

/// The command line to record for this invocation: the one `planrun continue` runs again, or
/// this process's own.
fn command_line() -> Vec<String> {
    CONTINUED.get().cloned().unwrap_or_else(|| std::env::args().collect())
}

/// `planrun continue`: goes on with a paused run (`--commit manual`, `--batch N`), or any
/// stopped one, with the command line its last invocation had, from where it was started:
/// goes back to that folder and returns the options to pass to [`run`], which records that
/// command line as its own. `parse_run` reads the recorded command line (the program's name
/// first) as `planrun run`'s options, or says `None` when it is not one.
pub fn continue_run(
    args: &options::ContinueOptions,
    parse_run: fn(&[String]) -> Option<RunOptions>,
) -> Result<RunOptions, Error> {
    let s = views::open(None, &args.state)?;
    let Some(last) = s.last_run.clone() else {
        return Err(Error::NothingToContinue(s.layout.dir.clone()));
    };
    drop(s);
    let argv: Vec<String> = last.argv.clone();
    if let Some(cwd) = last.cwd.as_deref().filter(|c| !c.is_empty()) {
        std::env::set_current_dir(cwd).map_err(|source| Error::StartFolder { cwd: cwd.to_owned(), source })?;
    }
    let Some(run_args) = parse_run(&argv) else {
        return Err(Error::RecordedCommand(argv));
    };
    errln!("planrun: continuing: {}", argv.iter().skip(1).map(|a| shell_words_quote(a)).collect::<Vec<_>>().join(" "));
    let _ = CONTINUED.set(argv);
    Ok(run_args)
}

/// A word as a shell would need it written (for showing a command line, never for running).
fn shell_words_quote(word: &str) -> String {
    if !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c)) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// The estimate of what is left of a run.
fn estimate_of(
    args: &RunOptions,
    config: &Config,
    (plan, checked): (&planrun_plan::model::Plan, &planrun_plan::Checked),
    pending: Vec<bool>,
    agents: &Agents,
    pipe: &Pipe,
    layout: &layout::Layout,
) -> estimate::Estimate {
    let prices = config.prices();
    let inputs = estimate::Inputs {
        plan,
        checked,
        pending,
        agents: (0..plan.tasks.len()).map(|t| agents.for_task(t)).collect(),
        reviewer: pipe.reviewer.as_ref(),
        stages: &pipe.stages,
        reviews: pipe.reviews.len(),
        take: pipe.take,
        limit: args.jobs.map_or_else(|| planrun_engine::default_concurrency(plan.tasks.len()), usize::from),
        cores: std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        prices: &prices,
        history: layout.dir.join("history.jsonl"),
    };
    estimate::estimate(&inputs)
}

/// Whether an agent that may cost money will run (a CLI; a `command` agent is the user's own).
fn paid(agents: &Agents, pipe: &Pipe) -> bool {
    agents.distinct().iter().any(|a| a.kind != AgentKind::Command)
        || pipe.reviewer.as_ref().is_some_and(|r| r.kind != AgentKind::Command)
}

/// Shows the estimate and, when an agent CLI will run, asks `reporter` whether to proceed;
/// when nobody can answer, `--yes` is required. `Ok(false)`: the user said no.
fn confirm(
    est: &estimate::Estimate,
    args: &RunOptions,
    agents: &Agents,
    pipe: &Pipe,
    reporter: &mut dyn Progress,
) -> Result<bool, Error> {
    if est.tasks == 0 {
        return Ok(true);
    }
    reporter.emit(&RunEvent::Estimate(events::EstimateEvent { report: est.report(), text: est.text() }));
    if args.cost.yes || !paid(agents, pipe) {
        return Ok(true);
    }
    reporter.confirm(&est.text()).ok_or(Error::Unconfirmed)
}

/// `planrun estimate`: the estimate `planrun run` would show, without running or creating
/// anything.
pub fn estimate_only(args: &RunOptions) -> Result<u8, Error> {
    let Prepared { loaded, checked, layout, config, agents } = prepare(args)?;
    // An existing run: what is left of it, with the settings it started with.
    let existing = if layout.exists() { views::open(Some(&args.plan.plan), &args.state).ok() } else { None };
    let first = existing.as_ref().and_then(|s| s.first_run.clone());
    let pipe = pipeline_setup(args, &config, (first.as_ref(), &layout), &agents, "new", true)?;
    let pending: Vec<bool> = match &existing {
        Some(s) => s.engine.states().iter().map(|st| !st.satisfies_dependents()).collect(),
        None => loaded.plan.tasks.iter().map(|t| t.status != planrun_plan::model::Status::Done).collect(),
    };
    let est = estimate_of(args, &config, (&loaded.plan, &checked), pending, &agents, &pipe, &layout);
    if args.json {
        outln!("{}", est.to_json());
    } else {
        outln!("{}", est.text());
    }
    Ok(exit::OK)
}

/// `12.3k tokens, $0.0400` for the live lines.
fn spend_text(s: budget::Spend) -> String {
    let tokens = if s.tokens >= 10_000 { format!("{:.1}k", s.tokens as f64 / 1000.0) } else { s.tokens.to_string() };
    format!("{tokens} tokens, ${:.4}", s.usd)
}

fn why_json(p: &planrun_engine::Policy) -> String {
    p.stopped().map(|(_, w)| w.to_owned()).or_else(|| p.soft().map(str::to_owned)).unwrap_or_default()
}

/// What was spent on what: each task that used anything, most first, and its stages.
fn spent_lines(s: &Session) -> String {
    let mut rows: Vec<(String, costs::Breakdown)> = s
        .loaded
        .plan
        .tasks
        .iter()
        .map(|t| (t.id.clone(), costs::Breakdown::of_task(s, &t.id)))
        .filter(|(_, b)| b.total.used.steps > 0)
        .collect();
    rows.sort_by(|a, b| {
        let (x, y) = (&a.1.total.used, &b.1.total.used);
        y.cost_usd.total_cmp(&x.cost_usd).then(y.usage.total().cmp(&x.usage.total()))
    });
    let mut out = String::from("\n  spent:");
    if rows.is_empty() {
        out.push_str(" nothing recorded yet");
    }
    for (id, b) in rows.iter().take(20) {
        let parts: Vec<String> = b
            .stages
            .iter()
            .filter(|(_, g)| g.used.steps > 0)
            .map(|(step, g)| format!("{step} {}", spend_text(g.used.spend())))
            .collect();
        out.push_str(&format!("\n    {id}: {} ({})", spend_text(b.total.used.spend()), parts.join(", ")));
    }
    out
}
