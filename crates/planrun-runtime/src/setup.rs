//! A run's setup from the flags, planrun.toml and the run's first invocation: the agents, the
//! pipeline (stages, workspaces, reviewers), the cost rules, and the redactor.

use super::*;

/// How many rework rounds resume the implementer's session unless configured.
pub(crate) const DEFAULT_RESUME_ROUNDS: u32 = 2;

/// The agents of a run: the implement role's, and a task's own where its `agent` field names
/// another.
#[derive(Debug)]
pub(crate) struct Agents {
    pub(crate) implement: Agent,
    pub(crate) per_task: Vec<Option<Agent>>,
}

impl Agents {
    pub(crate) fn for_task(&self, task: usize) -> &Agent {
        self.per_task.get(task).and_then(Option::as_ref).unwrap_or(&self.implement)
    }

    /// Each agent the run may use, once.
    pub(crate) fn distinct(&self) -> Vec<&Agent> {
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
pub(crate) struct Setup {
    pub(crate) templates: Templates,
    pub(crate) agents: Agents,
    pub(crate) resume_rounds: u32,
    pub(crate) pipe: Pipe,
    pub(crate) run_id: String,
    pub(crate) cost: CostSetup,
    /// What running agents report (`budget::Report`), sent by the steps.
    pub(crate) reports: tokio::sync::mpsc::UnboundedReceiver<budget::Report>,
}

/// Budgets, rate-limit waits, usage windows and the watchdog, from the flags and planrun.toml.
#[derive(Debug, Clone)]
pub(crate) struct CostSetup {
    /// The engine's run policy: budgets, rate-limit waits, usage windows, the watchdog.
    pub(crate) rules: policy::Rules,
    pub(crate) estimate: Option<estimate::Estimate>,
}

pub(crate) fn cost_setup(args: &RunOptions, config: &Config, estimate: Option<estimate::Estimate>) -> CostSetup {
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
            .filter_map(|(k, ws)| Some((k.parse::<AgentKind>().ok()?, ws)))
            .flat_map(|(kind, ws)| {
                ws.0.iter().map(move |w| policy::Window {
                    agent: kind.name().to_owned(),
                    hours: w.hours,
                    usd: w.usd,
                    tokens: w.tokens,
                    soft: w.soft_percent.map(|p| f64::from(p) / 100.0),
                    hard: w.hard_percent.map(|p| f64::from(p) / 100.0),
                })
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
pub(crate) struct Pipe {
    pub(crate) ws: pipeline::Workspaces,
    /// The stages every task goes through after its implement step (verify is added per task).
    pub(crate) stages: Vec<Stage>,
    pub(crate) scope: ScopePolicy,
    pub(crate) reviews: Vec<ReviewKind>,
    pub(crate) reviewer: Option<Agent>,
    pub(crate) take: bool,
    /// `--pipeline`: the implementer's plan before its code, written early in a free slot
    /// while a dependency is in review.
    pub(crate) plan_ahead: bool,
    pub(crate) commit: CommitMode,
    /// `--on-fail` or planrun.toml's; `None`: the plan format's default.
    pub(crate) on_fail: Option<pipeline::OnFail>,
    /// `--review-order` or planrun.toml's; `None`: the plan format's default.
    pub(crate) review_order: Option<pipeline::ReviewOrder>,
    pub(crate) batch: Option<u32>,
    /// What to tell the user at the start.
    pub(crate) notes: Vec<String>,
}

/// Settles the pipeline: where tasks work (a resumed run keeps its first mode and
/// integration branch), which stages run, and the reviewers' agent.
/// `first` is the run's first `run` record (none for a new run); `dry` checks the settings
/// without creating the integration branch (before anything is created on disk).
pub(crate) fn pipeline_setup(
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
    let sparse = p.sparse || c.sparse || !p.sparse_dirs.is_empty();
    if sparse && mode != WorkspaceMode::Worktree {
        return Err((
            format!(
                "--sparse checks out part of the tree in each task's worktree, and this run works in {}",
                match mode {
                    WorkspaceMode::Shared => "one shared working tree",
                    WorkspaceMode::Worktree => "worktrees",
                }
            ),
            "add --workspace worktree (a git repository with a commit), or drop --sparse".into(),
        ));
    }
    let mut sparse_dirs: Vec<String> = c.sparse_dirs.iter().chain(&p.sparse_dirs).cloned().collect();
    for dir in &mut sparse_dirs {
        let clean = dir.trim().trim_matches('/').to_owned();
        if clean.is_empty() || clean.split('/').any(|c| c == ".." || c == "." || c.is_empty()) || clean.contains('\\') {
            return Err((
                format!("--sparse-dir `{dir}` is not a folder inside the repository"),
                "name a folder relative to the repository root, such as `tests` or `libs/core`".into(),
            ));
        }
        *dir = clean;
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
        pool: std::sync::Arc::default(),
        tree: std::sync::Arc::default(),
        sparse: sparse.then(|| std::sync::Arc::new(pipeline::Sparse::new(sparse_dirs))),
    };
    let (on_fail, review_order) = (p.on_fail.or(c.on_fail), p.review_order.or(c.review_order));
    let batch = p.batch.or(c.batch);
    let plan_ahead = p.plan_ahead || c.plan_ahead;
    Ok(Pipe { ws, stages, scope, reviews, reviewer, take, plan_ahead, commit, on_fail, review_order, batch, notes })
}

pub(crate) type Problem = (String, String);

/// The tester's agent (`--tester`): `[roles.test]` in planrun.toml when it names an agent, a
/// command or a model (a model alone keeps the reviewer's agent), else the reviewer. `None`
/// when the run has no test stage.
pub(crate) fn tester_agent(
    config: &Config,
    pipe: &Pipe,
    workspace: &std::path::Path,
) -> Result<Option<Agent>, Problem> {
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
pub(crate) fn resolve_agents(
    args: &RunOptions,
    config: &Config,
    plan: &planrun_plan::model::Plan,
) -> Result<Agents, Problem> {
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
pub(crate) fn agent_exists(agent: &Agent, workspace: &std::path::Path) -> Result<(), Problem> {
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
pub(crate) fn redactor(
    agents: &Agents,
    pass_env: &[String],
    redact_env: &[String],
    workspace: &std::path::Path,
) -> Redactor {
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
