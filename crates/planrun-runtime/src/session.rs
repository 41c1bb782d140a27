//! A run as it stands on disk: the plan (re-read every time), the state directory and its
//! journal, and the engine rebuilt by replaying the journal's changes onto the plan's tasks by
//! id (so added, removed and reordered tasks are honoured). Also what `status` and `log` show:
//! each attempt's steps and how they ended. Shared by `run`, `status`, `retry`, `skip` and `log`.

use super::layout::Layout;
use planrun_engine::{
    Change, Conflicts, Engine, FinalCheck, Setup, Stage, TaskSpec, TaskState, Transition, default_concurrency,
};
use planrun_plan::model::{Status, Task};
use planrun_plan::{Checked, Format, LoadError, Loaded};
use planrun_store::{EventLog, Journal, StoreError};
use rustc_hash::FxHashMap;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// What opening a run needs.
#[derive(Debug, Clone)]
pub(crate) struct OpenArgs {
    /// The plan; `None` to use the one the journal recorded.
    pub(crate) plan: Option<PathBuf>,
    pub(crate) format: Option<Format>,
    pub(crate) state_dir: Option<PathBuf>,
    /// Create the state directory if there is none (only `run` does).
    pub(crate) create: bool,
    pub(crate) limit: Option<usize>,
    pub(crate) max_rework: u32,
}

/// One step of one attempt, as recorded.
#[derive(Debug, Clone)]
pub(crate) struct StepRecord {
    pub(crate) attempt: u32,
    pub(crate) step: String,
    pub(crate) ok: bool,
    pub(crate) summary: String,
    pub(crate) elapsed_ms: u64,
    /// When it ended (Unix milliseconds; absent in journals of older versions).
    pub(crate) ended_ms: Option<u64>,
    /// For a step run by a CLI agent: which, its session and what it used.
    pub(crate) agent: Option<AgentRecord>,
    /// What the step found (changed files, findings, checks passed, commits), for reports.
    pub(crate) detail: Option<super::journal_event::StepDetail>,
}

pub(crate) use super::journal_event::AgentRecord;
use super::journal_event::{Entry, JournalEvent, RunRecord, StepPayload};

impl AgentRecord {
    /// The journal form.
    pub(crate) fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The form run events carry: the same fields as the journal's.
    pub(crate) fn event(&self) -> super::events::AgentUse {
        super::events::AgentUse {
            agent: self.agent.clone(),
            model: self.model.clone(),
            session: self.session.clone(),
            resumed: self.resumed,
            usage: self.usage.into(),
            session_usage: self.session_usage.map(Into::into),
            cost_usd: self.cost_usd,
            cost_source: self.cost_source.clone(),
        }
    }
}

impl StepRecord {
    /// The record of a journaled step.
    pub(crate) fn of(p: &StepPayload) -> StepRecord {
        StepRecord {
            attempt: p.attempt,
            step: if p.step.is_empty() { "?".to_owned() } else { p.step.clone() },
            ok: p.ok,
            summary: p.summary.clone(),
            elapsed_ms: p.elapsed_ms,
            ended_ms: p.ended_unix_ms,
            agent: p.agent.clone(),
            detail: p.detail.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("{0}")]
    Load(#[from] LoadError),
    #[error("the plan has errors")]
    Invalid(Box<Loaded>, Box<Checked>),
    #[error("there is no run here: no journal at `{}`", .0.display())]
    NoRun(PathBuf),
    #[error("the state directory `{}` belongs to a run of `{}`, not `{}`", dir.display(), recorded.display(), plan.display())]
    OtherPlan { dir: PathBuf, recorded: PathBuf, plan: PathBuf },
    #[error("cannot create the state directory `{path}`: {1}", path = .0.display())]
    Create(PathBuf, #[source] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the journal does not fit the plan: {0}")]
    Replay(String),
}

impl SessionError {
    pub fn help(&self) -> String {
        match self {
            SessionError::Load(e) => e.help(),
            SessionError::Invalid(..) => "run `planrun check` on the plan and fix its errors".into(),
            SessionError::NoRun(_) => {
                "start one with `planrun run PLAN`, or point at its state with `--state-dir`".into()
            }
            SessionError::OtherPlan { recorded, dir, .. } => format!(
                "that run has not ended: finish it with `planrun run {}` (once it has ended, a new plan sets it aside by itself), or give this plan its own state with `--state-dir DIR` (not inside `{}`)",
                recorded.display(),
                dir.display()
            ),
            SessionError::Create(..) => "check the permissions and free space of that folder".into(),
            SessionError::Store(StoreError::TooNew { .. }) => "use a newer planrun for this run".into(),
            SessionError::Store(_) | SessionError::Replay(_) => {
                "the state directory is damaged; move it away to start the run afresh (finished work in the \
                 repository is kept)"
                    .into()
            }
        }
    }
}

/// A run opened from disk.
#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) loaded: Loaded,
    pub(crate) checked: Checked,
    pub(crate) plan_path: PathBuf,
    pub(crate) layout: Layout,
    /// The journal; `None` while a run's writer thread holds it.
    pub(crate) journal: Option<Box<dyn EventLog>>,
    pub(crate) engine: Engine,
    pub(crate) limit: usize,
    /// Task ids by index, and indices by id.
    pub(crate) index: FxHashMap<String, usize>,
    /// Each task's recorded steps, in order.
    pub(crate) steps: FxHashMap<String, Vec<StepRecord>>,
    /// Fingerprints of every task's definition as this plan has it.
    pub(crate) fingerprints: Vec<String>,
    /// The journal's last `plan` record holds exactly these fingerprints (nothing to record).
    pub(crate) plan_recorded: bool,
    /// Done tasks whose definition changed since they were done.
    pub(crate) changed_done: Vec<usize>,
    /// Whether the journal held a run before this one.
    pub(crate) resumed: bool,
    /// How many final checks were run before.
    pub(crate) final_checks: u64,
    /// How the last run ended, if it said.
    pub(crate) last_outcome: Option<String>,
    /// When the first run of this state directory started (ms since the epoch): the run's id.
    pub(crate) first_started_ms: Option<u64>,
    /// The first invocation's `run` record: the settings a resumed run keeps (workspace mode,
    /// integration branch).
    pub(crate) first_run: Option<RunRecord>,
    /// The last invocation's `run` record (its command line, for `planrun continue`).
    pub(crate) last_run: Option<RunRecord>,
    /// Tasks whose passed work was left in their worktree for the user to commit
    /// (`--commit manual` in worktree mode), with the attempt: its merge waits for the commit.
    pub(crate) holds: FxHashMap<String, u32>,
    /// `planrun retry TASK --note`: the user's instructions, with the last attempt before them
    /// (the attempts after it get them).
    pub(crate) notes: FxHashMap<String, (u32, String)>,
}

/// A stable fingerprint of what a task asks for: FNV-1a over its JSON form, without the marks
/// planrun writes in the plan's files when it is done (its status, ticked boxes, a ✅ in its
/// title), so a run's own marks never read as an edit.
pub(crate) fn fingerprint(task: &Task) -> String {
    /// FNV-1a over the bytes written to it.
    struct Fnv(u64);
    impl std::io::Write for Fnv {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            for &b in buf {
                self.0 ^= u64::from(b);
                self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut hash = Fnv(0xcbf2_9ce4_8422_2325);
    // Hashed as it is written: the same bytes as its JSON text, without the text.
    let _ = serde_json::to_writer(&mut hash, &planrun_plan::status::unmarked_cow(task));
    format!("{:016x}", hash.0)
}

/// The tasks that must not run together. `check`'s analysis leaves out tasks the plan marks
/// done, but those run again after a `retry` (or when the journal disagrees with the plan), and
/// then their files count like any other task's.
fn conflicts(plan: &planrun_plan::Plan, checked: &Checked) -> Conflicts {
    if plan.tasks.iter().all(|t| t.status == Status::Pending) {
        return Conflicts::from_analysis(&checked.analysis);
    }
    let mut all = plan.clone();
    for t in &mut all.tasks {
        t.status = Status::Pending;
    }
    Conflicts::from_analysis(&planrun_plan::Analysis::new(&all, &checked.graph))
}

/// The plan a journal recorded last, if any: by its path inside the workspace when known (so a
/// moved or re-cloned repository keeps its run), else as recorded.
fn recorded_plan(events: &[Entry], workspace: &Path) -> Option<(PathBuf, Option<String>)> {
    events
        .iter()
        .rev()
        .find_map(|e| match &e.event {
            JournalEvent::Run(run) => Some(run),
            _ => None,
        })
        .and_then(|run| Some((plan_of_run(run, workspace)?, run.format.clone())))
}

/// The plan a `run` record names: by its path inside the workspace when known, else as recorded.
pub(crate) fn plan_of_run(run: &RunRecord, workspace: &Path) -> Option<PathBuf> {
    if let Some(rel) = &run.plan_in_workspace {
        return Some(workspace.join(rel));
    }
    run.plan.as_ref().map(PathBuf::from)
}

/// `plan` relative to `workspace`, when it lies inside it.
pub(crate) fn in_workspace(plan: &Path, workspace: &Path) -> Option<String> {
    let plan = plan.canonicalize().ok()?;
    let workspace = workspace.canonicalize().ok()?;
    plan.strip_prefix(&workspace).ok().map(|p| p.display().to_string())
}

impl Session {
    pub(crate) fn open(args: &OpenArgs) -> Result<Session, SessionError> {
        Self::open_with(args, None)
    }

    /// Like `open`, with the plan already read and checked (by `run`, before it creates
    /// anything on disk).
    pub(crate) fn open_with(args: &OpenArgs, preloaded: Option<(Loaded, Checked)>) -> Result<Session, SessionError> {
        let layout = match &args.plan {
            Some(plan) => Layout::for_plan(plan, args.state_dir.as_deref()),
            None => Layout::from_cwd(args.state_dir.as_deref()),
        };
        if !layout.exists() && !args.create {
            return Err(SessionError::NoRun(layout.journal()));
        }
        if args.create {
            layout.create().map_err(|e| SessionError::Create(layout.dir.clone(), e))?;
        }
        let opened = Journal::open(&layout.journal())?;
        let events = super::journal_event::decode_raw(opened.raw_events_after(0)?)?;
        let journal: Box<dyn EventLog> = Box::new(opened);
        let recorded = recorded_plan(&events, &layout.workspace);
        let (plan_path, format) = match (&args.plan, &recorded) {
            (Some(p), Some((r, _))) => {
                let p = std::path::absolute(p).unwrap_or_else(|_| p.clone());
                if !same_path(&p, r) {
                    return Err(SessionError::OtherPlan { dir: layout.dir.clone(), recorded: r.clone(), plan: p });
                }
                (p, args.format)
            }
            (Some(p), None) => (std::path::absolute(p).unwrap_or_else(|_| p.clone()), args.format),
            (None, Some((r, f))) => (r.clone(), args.format.or_else(|| f.as_deref().and_then(|f| f.parse().ok()))),
            // A journal without a run (e.g. the run stopped at a usage error) is no run yet.
            (None, None) => return Err(SessionError::NoRun(layout.journal())),
        };
        let (loaded, checked) = match preloaded {
            Some(pre) => pre,
            None => {
                let loaded = planrun_plan::load(&plan_path, format)?;
                let checked = planrun_plan::check(&loaded);
                (loaded, checked)
            }
        };
        if checked.errors() > 0 {
            return Err(SessionError::Invalid(Box::new(loaded), Box::new(checked)));
        }
        Self::build(loaded, checked, plan_path, layout, journal, &events, args)
    }

    fn build(
        loaded: Loaded,
        checked: Checked,
        plan_path: PathBuf,
        layout: Layout,
        journal: Box<dyn EventLog>,
        events: &[Entry],
        args: &OpenArgs,
    ) -> Result<Session, SessionError> {
        let plan = &loaded.plan;
        let mut index: FxHashMap<String, usize> = FxHashMap::default();
        for (i, t) in plan.tasks.iter().enumerate() {
            index.entry(t.id.clone()).or_insert(i);
        }
        // Each journaled task's first change: a task the plan marks done starts done unless the
        // journal holds its history, which then rules, except when that history starts with a
        // retry (`planrun retry` of a task the plan marks done, before any run touched it).
        let mut journaled: FxHashMap<&str, bool> = FxHashMap::default();
        for e in events {
            if let (JournalEvent::Change(t), Some(id)) = (&e.event, e.task.as_deref()) {
                journaled.entry(id).or_insert_with(|| *t == Transition::Retry);
            }
        }
        let plan_verify = !plan.verify.is_empty();
        let tasks = plan
            .tasks
            .iter()
            .enumerate()
            .map(|(i, t)| TaskSpec {
                id: t.id.clone(),
                deps: checked.graph.deps.get(i).cloned().unwrap_or_default(),
                stages: if plan_verify || !t.verify.is_empty() { vec![Stage::Verify] } else { Vec::new() },
                done: t.status == Status::Done && journaled.get(t.id.as_str()).is_none_or(|&retry| retry),
            })
            .collect();
        let limit = args.limit.unwrap_or_else(|| default_concurrency(plan.tasks.len())).max(1);
        let mut engine = Engine::new(Setup {
            tasks,
            priority: planrun_engine::ranked_priorities(
                &checked.graph,
                &plan.tasks.iter().map(|t| planrun_plan::model::Priority::rank(t.priority)).collect::<Vec<_>>(),
            ),
            conflicts: conflicts(plan, &checked),
            limit,
            max_rework: args.max_rework,
            final_check: plan_verify,
        });
        let mut steps: FxHashMap<String, Vec<StepRecord>> = FxHashMap::default();
        let mut recorded_fp: FxHashMap<String, String> = FxHashMap::default();
        let mut final_checks = 0;
        let mut last_outcome = None;
        let mut first_started_ms = None;
        let mut first_run = None;
        let mut last_run = None;
        let mut resumed = false;
        let mut holds: FxHashMap<String, u32> = FxHashMap::default();
        let mut notes: FxHashMap<String, (u32, String)> = FxHashMap::default();
        for e in events {
            match &e.event {
                JournalEvent::Run(run) => {
                    resumed = true;
                    last_run = Some((**run).clone());
                    if first_started_ms.is_none() {
                        first_started_ms = run.started_unix_ms;
                        first_run = Some((**run).clone());
                    }
                    // Replay with the rework limit each run had, so failures land where they did.
                    if let Some(m) = run.max_rework {
                        engine.set_max_rework(u32::try_from(m).unwrap_or(u32::MAX));
                    }
                }
                JournalEvent::Change(transition) => {
                    let Some(&task) = e.task.as_deref().and_then(|id| index.get(id)) else { continue };
                    engine
                        .replay(&Change::Task { task, transition: transition.clone() })
                        .map_err(|err| SessionError::Replay(format!("event {}: {err}", e.seq)))?;
                }
                JournalEvent::Final(check) => {
                    if *check == FinalCheck::Running {
                        final_checks += 1;
                    }
                    let _ = engine.replay(&Change::FinalCheck { check: check.clone() });
                }
                JournalEvent::Plan(plan) => {
                    recorded_fp = plan.fingerprints.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                }
                JournalEvent::Step(p) => {
                    let Some(task) = e.task.clone() else { continue };
                    steps.entry(task).or_default().push(StepRecord::of(p));
                }
                JournalEvent::Hold(h) => {
                    if let Some(task) = e.task.clone() {
                        holds.insert(task, h.attempt);
                    }
                }
                JournalEvent::Finished(f) => last_outcome = Some(f.outcome.clone()),
                // A change this planrun cannot read would replay wrong: refused, as before; other
                // events it cannot read (from a newer planrun) are passed over.
                JournalEvent::Unknown { kind, error: Some(err), .. }
                    if kind == "final"
                        || (kind == "change" && e.task.as_deref().is_some_and(|id| index.contains_key(id))) =>
                {
                    return Err(SessionError::Replay(format!("event {}: {err}", e.seq)));
                }
                JournalEvent::User(u) => {
                    if let (Some(task), Some(note)) = (e.task.clone(), u.note.clone()) {
                        let last = steps.get(&task).and_then(|r| r.iter().map(|x| x.attempt).max()).unwrap_or(0);
                        notes.insert(task, (last, note));
                    }
                }
                JournalEvent::Kept(_) | JournalEvent::Orphans(_) | JournalEvent::Unknown { .. } => {}
            }
        }
        engine.set_max_rework(args.max_rework);
        let fingerprints: Vec<String> = plan.tasks.iter().map(fingerprint).collect();
        let changed_done = plan
            .tasks
            .iter()
            .enumerate()
            .filter(|(i, t)| {
                engine.state(*i) == Some(&TaskState::Done)
                    && recorded_fp.get(&t.id).is_some_and(|fp| Some(fp) != fingerprints.get(*i))
            })
            .map(|(i, _)| i)
            .collect();
        let plan_recorded = recorded_fp.len() == plan.tasks.len()
            && plan.tasks.iter().zip(&fingerprints).all(|(t, fp)| recorded_fp.get(&t.id) == Some(fp));
        Ok(Session {
            loaded,
            checked,
            plan_path,
            layout,
            journal: Some(journal),
            engine,
            limit,
            index,
            steps,
            fingerprints,
            plan_recorded,
            changed_done,
            resumed,
            final_checks,
            last_outcome,
            first_started_ms,
            first_run,
            last_run,
            holds,
            notes,
        })
    }

    pub(crate) fn task(&self, i: usize) -> Option<&Task> {
        self.loaded.plan.tasks.get(i)
    }

    pub(crate) fn id(&self, i: usize) -> &str {
        self.task(i).map_or("?", |t| t.id.as_str())
    }

    /// The task an id names, or an error with the closest ids.
    pub(crate) fn find(&self, id: &str) -> Result<usize, String> {
        self.index.get(id).copied().ok_or_else(|| {
            let mut known: Vec<&str> = self.loaded.plan.tasks.iter().map(|t| t.id.as_str()).collect();
            known.truncate(12);
            format!("the plan has no task `{id}` (its tasks: {})", known.join(", "))
        })
    }

    /// Journals `records` and `changes` in one transaction, with the view rows of the tasks
    /// they touched. Nothing the changes decided may happen before this returns `Ok`.
    pub(crate) fn commit(&mut self, records: &[Record], changes: &[Change]) -> Result<(), StoreError> {
        let batch = self.batch(records, changes);
        match &mut self.journal {
            Some(journal) => batch.write(journal.as_mut()),
            None => Err(StoreError::Corrupt("the journal is held by the run's writer".into())),
        }
    }

    /// The events and view rows that journal `records` and `changes`, as owned data that a
    /// writer thread can commit.
    pub(crate) fn batch(&self, records: &[Record], changes: &[Change]) -> Batch {
        let mut events: Vec<Record> = records.to_vec();
        let mut touched: Vec<usize> = Vec::new();
        for c in changes {
            match c {
                Change::Task { task, transition } => {
                    events.push((Some(self.id(*task).to_owned()), JournalEvent::Change(transition.clone())));
                    touched.push(*task);
                }
                Change::FinalCheck { check } => {
                    events.push((None, JournalEvent::Final(check.clone())));
                }
            }
        }
        touched.sort_unstable();
        touched.dedup();
        let view = touched
            .iter()
            .map(|&t| {
                let state = self.engine.state(t);
                let detail = match state {
                    Some(TaskState::InProgress { attempt, failures } | TaskState::InReview { attempt, failures }) => {
                        json!({"attempt": attempt, "failures": failures})
                    }
                    Some(TaskState::Rework { attempt, failures, reason }) => {
                        json!({"attempt": attempt, "failures": failures, "reason": reason})
                    }
                    Some(TaskState::Blocked { reason }) => json!({"reason": reason}),
                    _ => json!({}),
                };
                (self.id(t).to_owned(), state.map_or("pending", TaskState::name), detail)
            })
            .collect();
        Batch { events, view }
    }
}

/// An event to journal: its task and the event.
pub(crate) type Record = (Option<String>, JournalEvent);

/// Events and view rows committed together.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    pub(crate) events: Vec<Record>,
    pub(crate) view: Vec<(String, &'static str, Value)>,
}

impl Batch {
    pub(crate) fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Adds `other` after this batch's events; later view rows win.
    pub(crate) fn extend(&mut self, other: Batch) {
        self.events.extend(other.events);
        for row in other.view {
            if let Some(old) = self.view.iter_mut().find(|r| r.0 == row.0) {
                *old = row;
            } else {
                self.view.push(row);
            }
        }
    }

    /// Commits the batch in one transaction.
    pub(crate) fn write(&self, journal: &mut dyn EventLog) -> Result<(), StoreError> {
        if self.events.is_empty() {
            return Ok(());
        }
        let payloads: Vec<Value> = self.events.iter().map(|(_, e)| e.payload()).collect();
        let events: Vec<(&str, Option<&str>, &Value)> =
            self.events.iter().zip(&payloads).map(|((t, e), p)| (e.kind(), t.as_deref(), p)).collect();
        let view: Vec<(&str, &str, &Value)> = self.view.iter().map(|(id, s, d)| (id.as_str(), *s, d)).collect();
        journal.commit(&events, &view).map(|_| ())
    }
}

/// Whether two paths name the same file (by canonical form when both exist).
pub(crate) fn same_path(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

pub(crate) fn read(
    plan: Option<&std::path::Path>,
    state: &crate::options::StateOptions,
) -> Result<Session, SessionError> {
    Session::open(&OpenArgs {
        plan: plan.map(std::path::Path::to_path_buf),
        format: None,
        state_dir: state.state_dir.clone(),
        create: false,
        limit: None,
        max_rework: 3,
    })
}

/// The attempts a task has had: the highest recorded, or the one running.
pub(crate) fn attempts(s: &Session, i: usize) -> u32 {
    let recorded = s.steps.get(s.id(i)).and_then(|r| r.iter().map(|x| x.attempt).max()).unwrap_or(0);
    recorded.max(s.engine.state(i).and_then(TaskState::attempt).unwrap_or(0))
}

/// The rejected attempts of the task's current round.
pub(crate) fn failures(state: &TaskState) -> u32 {
    match state {
        TaskState::InProgress { failures, .. }
        | TaskState::InReview { failures, .. }
        | TaskState::Rework { failures, .. } => *failures,
        _ => 0,
    }
}

/// Whether a run holds the state directory: `Some` with its process id when it says.
pub(crate) fn running(s: &Session) -> Option<Option<u32>> {
    s.layout.probe()
}

/// The run and the task a `log` or `explain` command names.
pub(crate) fn open_task(args: &crate::options::TaskOptions) -> Result<(Session, usize), crate::Error> {
    let s = read(args.plan.as_deref(), &args.state)?;
    let task = s.find(&args.task).map_err(crate::Error::NoSuchTask)?;
    Ok((s, task))
}
