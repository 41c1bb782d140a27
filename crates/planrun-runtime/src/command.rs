//! The `run`, `continue` and `estimate` commands: read and check the plan and the settings, agree
//! to the estimate, take the lock, open the run and hand it to the dispatcher.

use super::*;

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
    let chosen = chosen_of(args, &loaded.plan)?;
    let is_chosen = |i: usize| chosen.as_ref().is_none_or(|c| c.get(i).copied().unwrap_or(false));
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
        let pending: Vec<bool> = loaded
            .plan
            .tasks
            .iter()
            .enumerate()
            .map(|(i, t)| t.status != planrun_plan::model::Status::Done && is_chosen(i))
            .collect();
        let est = estimate_of(args, &config, (&loaded.plan, &checked, loaded.format), pending, &agents, &dry, &layout);
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
    let run_id = layout::run_id(started_ms);
    let first = session.first_run.clone();
    let mut pipe = pipeline_setup(args, &config, (first.as_ref(), &session.layout), &agents, &run_id, false)?;
    if let Some(sparse) = pipe.ws.sparse.take() {
        let tasks = session.loaded.plan.tasks.iter().map(|t| (t.id.as_str(), t.files.as_slice()));
        pipe.ws.sparse = Some(Arc::new(Arc::unwrap_or_clone(sparse).with_tasks(tasks)));
    }
    let tester = tester_agent(&config, &pipe, &session.layout.workspace)?;
    if !fresh {
        let pending: Vec<bool> = session
            .engine
            .states()
            .iter()
            .enumerate()
            .map(|(i, st)| !st.satisfies_dependents() && is_chosen(i))
            .collect();
        let est = estimate_of(
            args,
            &config,
            (&session.loaded.plan, &session.checked, session.loaded.format),
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
    // A plan without a final check: the project's own build and tests run once, after the last task.
    let detected: Vec<String> = if session.loaded.plan.verify.is_empty() && !args.no_detect {
        let found = crate::detect::project_commands(&session.layout.workspace);
        if !found.is_empty() {
            let shown: Vec<String> = found.iter().map(|d| format!("`{}` ({})", d.command, d.from)).collect();
            reporter.note(&format!(
                "planrun: the plan has no final check; after the last task the project's own run once: {} (--no-detect: none)",
                shown.join(", ")
            ));
            session.engine.set_final_check(true);
        }
        found.into_iter().map(|d| d.command).collect()
    } else {
        Vec::new()
    };
    if session.loaded.barriers && !args.no_barriers {
        match crate::barriers::edges(&session.loaded.plan, &session.checked.graph.deps) {
            Ok(edges) => session.engine.add_deps(&edges),
            Err(why) => reporter.note(&format!("planrun: warning: the plan's milestones are not waited for: {why}")),
        }
    }
    if let Some(chosen) = chosen {
        let left_out = chosen.iter().filter(|c| !**c).count();
        session.engine.select(chosen);
        for (task, deps) in session.engine.unmet_dependencies() {
            let names: Vec<&str> = deps.iter().map(|&d| session.id(d)).collect();
            reporter.note(&format!(
                "planrun: warning: task {} is chosen but depends on {}, neither done nor chosen: it starts without {}",
                session.id(task),
                names.join(", "),
                if names.len() == 1 { "it" } else { "them" }
            ));
        }
        if left_out > 0 {
            reporter.note(&format!(
                "planrun: {left_out} task(s) left out by --only/--skip do not start in this run; a run without them does the rest"
            ));
        }
    }
    // With reviews, the tester runs beside the reviewers in the review stage.
    let tester_beside = pipe.stages.contains(&Stage::Test) && pipe.stages.contains(&Stage::Review);
    for (i, t) in session.loaded.plan.tasks.iter().enumerate() {
        let mut stages = pipe.stages.clone();
        if tester_beside {
            stages.retain(|s| *s != Stage::Test);
        }
        if !t.verify.is_empty() || !session.loaded.plan.verify.is_empty() {
            stages.push(Stage::Verify);
        }
        session.engine.set_stages(i, stages);
        // A plan kept from an earlier invocation (or in the format's own place) is not written again.
        let own = session.loaded.plan_files.get(&t.id).is_some_and(|p| p.is_file());
        if pipe.plan_ahead && (own || session.layout.dir.join("plans").join(format!("{}.md", t.id)).is_file()) {
            session.engine.set_planned(i);
        }
    }
    session.engine.set_pipeline(pipe.plan_ahead);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(Error::Runtime)?;
    let (reports, report_rx) = tokio::sync::mpsc::unbounded_channel();
    let ctx = Ctx {
        layout: session.layout.clone(),
        agent_limits: Limits { wall: args.timeout, stall: args.stall_timeout, grace: args.grace },
        verify_limits: Limits { wall: args.verify_timeout, stall: None, grace: args.grace },
        plan_verify: session.loaded.plan.verify.clone(),
        final_verify: if detected.is_empty() { session.loaded.plan.verify.clone() } else { detected },
        pass_env,
        redact,
        prices: config.prices(),
        root,
        sandbox,
        ws: pipe.ws.clone(),
        scope_policy: pipe.scope,
        commit: pipe.commit,
        reviews: pipe.reviews.clone(),
        reviews_in_turn: reviews_in_turn(&pipe, session.loaded.format),
        reviewer: pipe.reviewer.clone(),
        tester: tester.clone(),
        tester_beside,
        templates: templates.clone(),
        reports,
        agent_envs: std::sync::Mutex::default(),
        draining: tokio::sync::watch::channel(false).0,
        marks: match (&pipe.ws.repo, args.no_status_files, pipe.commit) {
            (Some(repo), false, crate::pipeline::CommitMode::Auto) => crate::pipeline::CommitMarks::new(
                &session.plan_path,
                session.loaded.format,
                &pipe.ws.root,
                repo,
                pipe.ws.mode == crate::pipeline::WorkspaceMode::Worktree,
            ),
            _ => None,
        },
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
    if ctx.marks.is_some() {
        reporter.note(&if pipe.ws.mode == crate::pipeline::WorkspaceMode::Worktree {
            format!(
                "planrun: each step's ✅ and ticked boxes go into its own commit on `{}`; your copy of the plan is left as it is",
                pipe.ws.integration.as_deref().unwrap_or("the integration branch")
            )
        } else {
            "planrun: each step's ✅ and ticked boxes go into its own commit (while the plan has no other uncommitted change)"
                .to_owned()
        });
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
    // Not waiting for an output copy that a leftover process outside an agent's group keeps
    // blocked on its pipe.
    runtime.shutdown_background();
    reporter.finish();
    code
}

/// The command line `planrun continue` runs again, set before it does: the invocation it starts
/// records that one as its own, never `planrun continue`, so the next `continue` finds it too.
static CONTINUED: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();

/// The command line to record for this invocation: the one `planrun continue` runs again, or
/// this process's own.
pub(crate) fn command_line() -> Vec<String> {
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
    console: &mut crate::console::Console<'_>,
) -> Result<RunOptions, Error> {
    let s = session::read(None, &args.state)?;
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
    let shown: Vec<String> = argv.iter().skip(1).map(|a| shell_words_quote(a)).collect();
    console.eprintln(&format!("planrun: continuing: {}", shown.join(" ")));
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
    (plan, checked, format): (&planrun_plan::model::Plan, &planrun_plan::Checked, planrun_plan::Format),
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
        reviews_in_turn: reviews_in_turn(pipe, format),
        take: pipe.take,
        limit: args.jobs.map_or_else(|| planrun_engine::default_concurrency(plan.tasks.len()), usize::from),
        cores: std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        prices: &prices,
        history: layout.dir.join("history.jsonl"),
    };
    estimate::estimate(&inputs)
}

/// Whether the task review runs first and the code review only once it passed: as asked, else
/// as the plan's format runs them (planpipe in turn, the others side by side).
fn reviews_in_turn(pipe: &Pipe, format: planrun_plan::Format) -> bool {
    let default = if format == planrun_plan::Format::Planpipe {
        crate::pipeline::ReviewOrder::Sequential
    } else {
        crate::pipeline::ReviewOrder::Parallel
    };
    pipe.review_order.unwrap_or(default) == crate::pipeline::ReviewOrder::Sequential
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
/// The tasks `--only` and `--skip` leave to this invocation (`None`: every task).
fn chosen_of(args: &RunOptions, plan: &planrun_plan::Plan) -> Result<Option<Vec<bool>>, Error> {
    crate::selection::resolve(plan, &args.only, &args.skip).map_err(|message| Error::Setting {
        message: format!("--only/--skip: {message}"),
        help: "name tasks by id, by position in the plan (1 is the first; `planrun check PLAN` lists them) or by a range of positions like `3-5`".into(),
    })
}

pub fn estimate_only(args: &RunOptions, console: &mut crate::console::Console<'_>) -> Result<u8, Error> {
    let Prepared { loaded, checked, layout, config, agents } = prepare(args)?;
    let chosen = chosen_of(args, &loaded.plan)?;
    let is_chosen = |i: usize| chosen.as_ref().is_none_or(|c| c.get(i).copied().unwrap_or(false));
    // An existing run: what is left of it, with the settings it started with.
    let existing = if layout.exists() { session::read(Some(&args.plan.plan), &args.state).ok() } else { None };
    let first = existing.as_ref().and_then(|s| s.first_run.clone());
    let pipe = pipeline_setup(args, &config, (first.as_ref(), &layout), &agents, "new", true)?;
    let pending: Vec<bool> = match &existing {
        Some(s) => {
            s.engine.states().iter().enumerate().map(|(i, st)| !st.satisfies_dependents() && is_chosen(i)).collect()
        }
        None => loaded
            .plan
            .tasks
            .iter()
            .enumerate()
            .map(|(i, t)| t.status != planrun_plan::model::Status::Done && is_chosen(i))
            .collect(),
    };
    let est = estimate_of(args, &config, (&loaded.plan, &checked, loaded.format), pending, &agents, &pipe, &layout);
    console.println(&if args.json { est.to_json().to_string() } else { est.text() });
    Ok(exit::OK)
}
