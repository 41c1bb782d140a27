//! Running one agent: its environment, its log, the supervised process, and reading what it
//! reported (usage, session, answer) from its event stream.

use super::*;

/// The environment of an agent run: the allow-listed part of planrun's own (with what the CLI's
/// configuration names, project files as seen from where it runs), then planrun's variables.
pub(super) fn agent_env(ctx: &Ctx, kind: AgentKind, call: &AgentCall) -> Vec<(String, String)> {
    let key = (kind, call.cwd.clone());
    let known = ctx.agent_envs.lock().ok().and_then(|m| m.get(&key).cloned());
    let mut vars = known.unwrap_or_else(|| {
        let vars = planrun_agents::env::allowed_in(kind, &ctx.pass_env, std::env::vars_os(), Some(&call.cwd));
        if let Ok(mut m) = ctx.agent_envs.lock() {
            m.insert(key, vars.clone());
        }
        vars
    });
    vars.extend(env(ctx, &call.id, call.role, call.attempt, &call.prompt, &call.cwd));
    vars
}

pub(super) fn env(ctx: &Ctx, task: &str, role: &str, attempt: u32, prompt: &Path, cwd: &Path) -> Vec<(String, String)> {
    vec![
        ("PWD".into(), cwd.display().to_string()),
        ("PLANRUN_TASK_ID".into(), task.to_owned()),
        ("PLANRUN_ROLE".into(), role.to_owned()),
        ("PLANRUN_ATTEMPT".into(), attempt.to_string()),
        ("PLANRUN_PROMPT_FILE".into(), prompt.display().to_string()),
        ("PLANRUN_WORKSPACE".into(), cwd.display().to_string()),
        ("PLANRUN_NOTES_FILE".into(), ctx.layout.notes(task).display().to_string()),
        (orphans::MARK.into(), ctx.layout.dir.display().to_string()),
    ]
}

pub(super) fn log_start(log: &Path) -> u64 {
    std::fs::metadata(log).map_or(0, |m| m.len())
}

pub(super) fn prepare_log(log: &Path) -> Result<(), String> {
    if let Some(parent) = log.parent().filter(|p| !p.is_dir()) {
        std::fs::create_dir_all(parent).map_err(|e| format!("cannot create `{}`: {e}", parent.display()))?;
    }
    Ok(())
}

/// Whether the folder a step works in is still there: a vanished folder is reported as such,
/// not as an unstartable program.
pub(super) fn workspace_missing(cwd: &Path) -> Option<String> {
    (!cwd.is_dir()).then(|| format!("the workspace `{}` does not exist any more", cwd.display()))
}

/// One agent run in one role, as the runner or a step decided it.
#[derive(Debug, Clone)]
pub(crate) struct AgentCall {
    pub(crate) task: usize,
    pub(crate) id: String,
    /// `implement`, `take`, `review` or `test`.
    pub(crate) role: &'static str,
    pub(crate) attempt: u32,
    pub(crate) agent: Agent,
    /// The prompt file, already written, and its text.
    pub(crate) prompt: PathBuf,
    pub(crate) text: String,
    /// The session to resume, and the usage it had reported so far (for CLIs that report
    /// session totals).
    pub(crate) resume: Option<(String, Usage)>,
    pub(crate) cwd: PathBuf,
    pub(crate) log: PathBuf,
    /// Not before this instant: the agent's provider rate-limited it.
    pub(crate) not_before: Option<tokio::time::Instant>,
}

/// How an agent run ended.
#[derive(Debug)]
pub(crate) struct Called {
    pub(crate) result: Result<(), String>,
    pub(crate) interrupted: bool,
    pub(crate) run: Option<AgentRun>,
    /// Its answer: a CLI's final message, or the end of a command agent's output.
    pub(crate) answer: String,
}

/// How much of a command agent's output is its answer.
pub(super) const ANSWER: u64 = 64 * 1024;

/// Runs one agent: the argv of its CLI (or the command template) with the prompt, in
/// `call.cwd`, with an allow-listed environment; a CLI's events are read afterwards for its
/// session, usage, errors and final answer.
/// [`call_agent_once`], started again (twice at most, after a short wait) when opencode stopped
/// on its own database being locked: two opencode processes starting at the same moment (the
/// two reviews of an attempt, tasks side by side) contend for the SQLite file they share, and
/// the one that loses exits before it asked the model anything. Not the task's fault.
pub(crate) async fn call_agent(ctx: &Arc<Ctx>, call: &AgentCall, cancel: watch::Receiver<bool>) -> Called {
    let mut tries = 0u64;
    loop {
        let called = call_agent_once(ctx, call, cancel.clone()).await;
        let locked = call.agent.kind == AgentKind::Opencode
            && !called.interrupted
            && called.result.as_ref().err().is_some_and(|e| e.contains("database is locked"));
        if !locked || tries >= 2 {
            return called;
        }
        tries += 1;
        tokio::time::sleep(Duration::from_millis(250 * tries)).await;
    }
}

async fn call_agent_once(ctx: &Arc<Ctx>, call: &AgentCall, mut cancel: watch::Receiver<bool>) -> Called {
    let AgentCall { task, id, role, attempt, agent, prompt, text, resume, cwd, log, not_before } = call;
    let fail = |reason: String| Called { result: Err(reason), interrupted: false, run: None, answer: String::new() };
    if let Some(at) = *not_before {
        // The provider asked this agent to wait; planrun may stop meanwhile.
        // A run that drains does not wait to start an attempt: nothing of it has begun. (A
        // check of an attempt that runs waits on: it is work in flight.)
        let mut drain = ctx.draining.subscribe();
        let starts_attempt = matches!(*role, "implement" | "take" | "plan");
        let stopped = *cancel.borrow() || (starts_attempt && *drain.borrow());
        if stopped {
            return Called { result: Err("interrupted".into()), interrupted: true, run: None, answer: String::new() };
        }
        tokio::select! {
            () = tokio::time::sleep_until(at) => {}
            _ = cancel.changed() => {
                return Called { result: Err("interrupted".into()), interrupted: true, run: None, answer: String::new() };
            }
            _ = drain.changed(), if starts_attempt => {
                return Called { result: Err("interrupted".into()), interrupted: true, run: None, answer: String::new() };
            }
        }
    }
    if let Some(reason) = workspace_missing(cwd) {
        return fail(reason);
    }
    if let Err(e) = prepare_log(log) {
        return fail(e);
    }
    let argv = match agent.kind {
        AgentKind::Command => {
            let vars = Vars {
                prompt_file: prompt.display().to_string(),
                task_id: id.clone(),
                workspace: cwd.display().to_string(),
                role: (*role).to_owned(),
                attempt: *attempt,
            };
            let mut argv = agent.template.as_ref().map(|t| t.render(&vars)).unwrap_or_default();
            anchor_program(&mut argv, &ctx.ws.root);
            argv
        }
        kind => {
            if text.len() > MAX_PROMPT_ARG {
                return fail(format!(
                    "the prompt is {} bytes, more than the {MAX_PROMPT_ARG} a single argument may hold; shorten the \
                     task's description or the plan's context (the prompt is in `{}`)",
                    text.len(),
                    prompt.display()
                ));
            }
            let workspace = cwd.display().to_string();
            // Reviewers and the tester answer with a verdict: CLIs that can hold their final
            // answer to a schema are given it.
            let verdict = matches!(*role, "review" | "test");
            let schema_file = ctx.layout.dir.join("verdict.schema.json");
            let schema_path = schema_file.display().to_string();
            let schema_ok = verdict
                && (schema_file.is_file() || std::fs::write(&schema_file, planrun_agents::verdict::SCHEMA).is_ok());
            let c = Call {
                prompt: text,
                model: agent.model.as_deref(),
                resume: resume.as_ref().map(|(s, _)| s.as_str()),
                workspace: Some(&workspace),
                root: ctx.root,
                sandbox: ctx.sandbox,
                schema: schema_ok.then_some(planrun_agents::verdict::SCHEMA),
                schema_file: schema_ok.then_some(schema_path.as_str()),
            };
            adapter::argv(kind, &c).unwrap_or_default()
        }
    };
    let spec = Spec {
        argv,
        cwd: cwd.clone(),
        env: agent_env(ctx, agent.kind, call),
        clear_env: true,
        redact: Arc::clone(&ctx.redact),
        log: log.clone(),
        wall_limit: ctx.agent_limits.wall,
        stall_limit: ctx.agent_limits.stall,
        grace: ctx.agent_limits.grace,
    };
    // Gemini CLI's start deletes the sessions of its folder that hold nothing to resume yet:
    // one Gemini CLI at a time through that window in a folder (see `gemini_gate`).
    let gate = if agent.kind == AgentKind::Gemini {
        match crate::gemini_gate::enter(cwd, &mut cancel).await {
            Some(g) => Some(g),
            None => {
                return Called {
                    result: Err("interrupted".into()),
                    interrupted: true,
                    run: None,
                    answer: String::new(),
                };
            }
        }
    } else {
        None
    };
    let from = log_start(log);
    let gate = gate.map(|g| crate::gemini_gate::hold_until_kept(g, log.clone(), from));
    let run_key = log.display().to_string();
    let _ = ctx.reports.send(crate::budget::Report::Started {
        run: run_key.clone(),
        task: *task,
        attempt: *attempt,
        role,
        agent: agent.kind,
    });
    let prices = ctx.prices.clone();
    let model = agent.model.clone();
    let follower = tokio::spawn(crate::budget::follow(
        ctx.reports.clone(),
        run_key,
        agent.kind,
        log.clone(),
        from,
        resume.as_ref().map(|(_, u)| *u).unwrap_or_default(),
        move |m: Option<&str>, u: &Usage| prices.cost(m.or(model.as_deref()), u),
    ));
    // The agent may change the tree: no snapshot taken before it ends serves after it.
    let busy = ctx.ws.tree.busy();
    let finished = supervise::run(&spec, cancel).await;
    drop(busy);
    follower.abort();
    drop(gate);
    // Off the dispatcher's thread: a log can be large.
    let report = if agent.kind == AgentKind::Command {
        None
    } else {
        let (c, a, l, r) = (Arc::clone(ctx), agent.clone(), log.clone(), resume.clone());
        tokio::task::spawn_blocking(move || read_events(&c, &a, &l, from, r.as_ref())).await.ok()
    };
    let answer = match &report {
        Some(r) => r.answer.clone().unwrap_or_default(),
        // At most ANSWER bytes of a file just written (in the page cache): read here, not
        // handed to another thread.
        None => output_since(log, from, ANSWER),
    };
    let called = |result: Result<(), String>, interrupted: bool, run: Option<AgentRun>| Called {
        result,
        interrupted,
        run,
        answer: answer.clone(),
    };
    match finished {
        Ok(f) if f.outcome == Outcome::Cancelled => called(Err("interrupted".into()), true, report),
        Ok(f) => {
            let who = match agent.kind {
                AgentKind::Command => "the agent".to_owned(),
                kind => format!("the agent ({kind})"),
            };
            let result = match (describe(&who, &f), workspace_missing(cwd), &report) {
                (_, _, Some(r)) if r.provider_error.is_some() => {
                    let e = r.provider_error.as_ref().map_or("", |p| p.message.as_str());
                    Err(format!("{who} stopped on an error from its model provider: {e}"))
                }
                (Some(reason), _, _) => Err(with_tail(reason, log, from)),
                (None, Some(gone), _) => Err(format!("{gone} after the agent ran")),
                (None, None, Some(r)) if r.record.session.is_none() && r.tool_uses == 0 && r.record.usage.is_zero() => {
                    Err(with_tail(
                        format!(
                            "{who} exited 0 but printed none of the events planrun reads (is this a supported version of `{}`?)",
                            agent.kind
                        ),
                        log,
                        from,
                    ))
                }
                (None, None, _) => Ok(()),
            };
            called(result, false, report)
        }
        Err(e) => {
            let reason = workspace_missing(cwd).unwrap_or_else(|| format!("the agent could not be started: {e}"));
            let report = match &e {
                supervise::SuperviseError::Spawn { .. } | supervise::SuperviseError::EmptyCommand
                    if workspace_missing(cwd).is_none() =>
                {
                    Some(AgentRun { unstartable: Some(reason.clone()), ..report.unwrap_or_default() })
                }
                _ => report,
            };
            called(Err(reason), false, report)
        }
    }
}

/// The text a file holds from byte `from` on, at most its last `limit` bytes.
pub(super) fn output_since(path: &Path, from: u64, limit: u64) -> String {
    let Ok(mut f) = std::fs::File::open(path) else { return String::new() };
    let len = f.metadata().map_or(0, |m| m.len());
    let start = from.max(len.saturating_sub(limit));
    if f.seek(std::io::SeekFrom::Start(start)).is_err() {
        return String::new();
    }
    let mut buf = Vec::new();
    let _ = f.take(limit).read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// Two runs of one step (a verdict's retry, two reviewers) as one record: usage and dollars
/// added up, the later session kept.
pub(crate) fn merge_runs(a: Option<AgentRun>, b: Option<AgentRun>) -> Option<AgentRun> {
    match (a, b) {
        (None, x) | (x, None) => x,
        (Some(mut a), Some(b)) => {
            a.record.usage.add(&b.record.usage);
            a.record.cost_usd = match (a.record.cost_usd, b.record.cost_usd) {
                (None, None) => None,
                (x, y) => Some(x.unwrap_or(0.0) + y.unwrap_or(0.0)),
            };
            if a.record.cost_source != b.record.cost_source {
                a.record.cost_source = if a.record.cost_usd.is_some() { "mixed".into() } else { "unknown".into() };
            }
            a.record.session = b.record.session.or(a.record.session);
            a.record.session_usage = b.record.session_usage.or(a.record.session_usage);
            a.provider_error = a.provider_error.or(b.provider_error);
            a.tool_uses += b.tool_uses;
            a.denied.extend(b.denied);
            a.answer = b.answer.or(a.answer);
            Some(a)
        }
    }
}

/// The longest line of a CLI's output read as an event.
pub(super) const MAX_EVENT_LINE: u64 = 16 << 20;

/// Skips the rest of an over-long line, a buffer at a time.
pub(super) fn skip_line(lines: &mut impl std::io::BufRead) {
    loop {
        let (used, done) = match lines.fill_buf() {
            Ok([]) | Err(_) => return,
            Ok(buf) => match memchr_newline(buf) {
                Some(i) => (i + 1, true),
                None => (buf.len(), false),
            },
        };
        lines.consume(used);
        if done {
            return;
        }
    }
}

pub(super) fn memchr_newline(buf: &[u8]) -> Option<usize> {
    buf.iter().position(|&b| b == b'\n')
}

/// Reads a CLI agent's events from its log (from byte `from` on) into what the run amounted to.
pub(super) fn read_events(
    ctx: &Ctx,
    agent: &Agent,
    log: &Path,
    from: u64,
    resume: Option<&(String, Usage)>,
) -> AgentRun {
    let mut reader = Reader::new(agent.kind);
    if let Ok(mut f) = std::fs::File::open(log) {
        if f.seek(std::io::SeekFrom::Start(from)).is_ok() {
            let mut lines = std::io::BufReader::new(f);
            let mut line = Vec::new();
            // Lines are read as bytes (a CLI's non-UTF-8 output must not end the reading), at
            // most `MAX_EVENT_LINE` of each: a longer one is no event planrun needs, and a CLI
            // printing gigabytes without a newline must not fill memory.
            loop {
                line.clear();
                match (&mut lines).take(MAX_EVENT_LINE).read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) if line.ends_with(b"\n") || line.len() < MAX_EVENT_LINE as usize => {
                        reader.line(&String::from_utf8_lossy(&line));
                    }
                    Ok(_) => skip_line(&mut lines),
                }
            }
        }
    }
    let r = reader.report;
    let model = r.model.clone().or_else(|| agent.model.clone());
    let (usage, session_usage) = if agent.kind.cumulative_usage() {
        let before = resume.map(|(_, u)| *u).unwrap_or_default();
        (r.usage.since(&before), Some(r.usage))
    } else {
        (r.usage, None)
    };
    let (cost_usd, cost_source) = match (r.cost_usd, ctx.prices.cost(model.as_deref(), &usage)) {
        (Some(usd), _) => (Some(usd), "reported"),
        (None, Some(usd)) => (Some(usd), "priced"),
        (None, None) => (None, "unknown"),
    };
    AgentRun {
        record: AgentRecord {
            agent: agent.kind.to_string(),
            model,
            session: r.session,
            resumed: resume.is_some(),
            usage,
            session_usage,
            cost_usd,
            cost_source: cost_source.to_owned(),
        },
        provider_error: (!r.errors.is_empty())
            .then(|| planrun_agents::provider::ProviderError::read(r.errors.join("; "))),
        tool_uses: r.tool_uses,
        denied: r.denied,
        answer: r.final_text,
        unstartable: None,
    }
}

/// A program named by a relative path (`./agent.sh`, `tools/agent`) is the one in the
/// repository planrun was started on, as `planrun run` checked before starting: a task's worktree
/// starts from the last commit and would lack it while it is uncommitted, or hold an older copy.
pub(super) fn anchor_program(argv: &mut [String], root: &std::path::Path) {
    if let Some(program) = argv.first_mut() {
        let path = std::path::Path::new(program.as_str());
        if program.contains('/') && path.is_relative() {
            *program = root.join(path.strip_prefix("./").unwrap_or(path)).display().to_string();
        }
    }
}
