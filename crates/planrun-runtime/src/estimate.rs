//! The estimate before a run: how many tasks will run, how many at once, the stages each goes
//! through, and the tokens, dollars and wall time that should take, each as a point estimate
//! inside a range (low to high) with what it is based on: defaults scaled to each task's size, or,
//! once runs exist, this repository's own history of them (kept in the state directory by
//! `record`). "Unknown" where nothing says: a `command` agent's tokens and dollars, and its time
//! until a run here has measured it. Reads; never runs anything, and never fails a run: an
//! unreadable or odd history is ignored.
//!
//! The model. Each pending task goes through its steps: the reviewer's take (`--take`), the
//! implement step (× the expected attempts), then each stage of the run (verify only when the
//! task or the plan has commands; the reviews side by side, each by the reviewer). Per step, a
//! CLI agent is a session of turns, and every turn resends the whole context (the CLI's system
//! prompt and tools, the prompt, and what the session has read and written so far), so input
//! dominates and most of it is a prefix the provider has cached. The low end of the range is the
//! shortest session that does the job, as the real CLIs run it against the scripted model server;
//! the point that session as measured there, with a little room; the high end a real model's
//! longer and slower session; all grow with the task's size (`work`: its files, acceptance
//! criteria and text). Dollars come from the price table, wall time from per-step durations
//! combined with the dependency graph and the limit: max(critical path, total work / limit).
//! Where the history has figures for a role and agent (tokens and dollars per run, runs and
//! seconds per step), they replace the defaults, scaled to each task's size against the tasks
//! they were measured on: the point their mean, the range as wide as the runs differed (at least
//! ±25% for tokens and dollars, ±50% for time).

use super::events::{EstimateReport, EstimateRole, EstimateTask, EstimateTokens};
use super::session::{Session, StepRecord};
use super::steps::Agent;
use planrun_agents::{AgentKind, PriceTable, Usage};
use planrun_engine::{Stage, TaskState};
use planrun_plan::Checked;
use planrun_plan::model::{Plan, Task};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What an estimate is made from.
#[derive(Debug)]
pub(crate) struct Inputs<'a> {
    pub(crate) plan: &'a Plan,
    pub(crate) checked: &'a Checked,
    /// For each task of the plan: whether it still has to run (not done or skipped).
    pub(crate) pending: Vec<bool>,
    /// For each task: the agent that implements it.
    pub(crate) agents: Vec<&'a Agent>,
    /// The reviewers' agent (also the take and the tester), if any.
    pub(crate) reviewer: Option<&'a Agent>,
    /// The stages every task goes through after implementing (verify is added per task that
    /// has commands, its own or the plan's).
    pub(crate) stages: &'a [Stage],
    /// Reviews per review stage (task, code).
    pub(crate) reviews: usize,
    pub(crate) take: bool,
    /// How many tasks run at once.
    pub(crate) limit: usize,
    /// The machine's cores: the CLIs' own work, the checks and the tools the agents run share
    /// them, so a scripted model's run gains nothing from running more tasks at once than this.
    pub(crate) cores: usize,
    pub(crate) prices: &'a PriceTable,
    /// The history file in the state directory.
    pub(crate) history: PathBuf,
}

// ---------------------------------------------------------------------------------------------
// The default figures, used for a role until the history has its own.
//
// Tokens are counted as the providers count them: `input` is input not read from a cache,
// `cache_read` the prefix a turn shares with the turn before it, `cache_write` what Anthropic's
// API writes to its cache (Claude Code marks the end of every request as a cache breakpoint, so
// everything new is written once and read on every later turn). A session of T turns whose first
// request holds C tokens (the CLI's base context plus the prompt) and which grows by G tokens a
// turn (the model's last answer and the tool's result) sends T·C + G·T(T−1)/2 input tokens, of
// which C + (T−1)·G are new and the rest a cached prefix.
// ---------------------------------------------------------------------------------------------

/// The tokens each CLI sends with every request before the task's own text: its system prompt
/// and tool definitions. Measured from the first request each CLI pinned in
/// `.ci/agent-clis.sh` sends to the test kit's scripted server (2026-11-21, a two-word prompt),
/// as bytes / 4: Claude Code 2.1.197 76,219 bytes (24 tools) for its default `claude-opus-4-8`
/// and 115,353 for `claude-sonnet-4-5` (longer instructions for the older model; other named
/// models are taken to be like it), Codex 0.169.0 55,922, Gemini CLI 0.61.0 48,728 (with
/// `gemini-2.5-pro`), opencode 1.18.33 30,492.
fn base_context(kind: AgentKind, model: Option<&str>) -> f64 {
    match kind {
        AgentKind::Claude if model.is_none_or(|m| m.contains("opus-4-8")) => 19_000.0,
        AgentKind::Claude => 28_800.0,
        AgentKind::Codex => 14_000.0,
        AgentKind::Gemini => 12_200.0,
        AgentKind::Opencode => 7_600.0,
        AgentKind::Command => 0.0,
    }
}

/// The model a CLI asks for when given none, read from the same first requests: Claude Code
/// 2.1.197 asks for `claude-opus-4-8`, Codex 0.169.0 (with a provider of its own) for
/// `gpt-6.1-sol`. Gemini CLI's default `auto` first asks a router model which model to use, and
/// opencode's depends on its configuration: unknown. A newer CLI may differ; once a run exists,
/// the model the CLI reported is used instead.
fn default_model(kind: AgentKind) -> Option<&'static str> {
    match kind {
        AgentKind::Claude => Some("claude-opus-4-8"),
        AgentKind::Codex => Some("gpt-6.1-sol"),
        _ => None,
    }
}

/// The role text around the brief (persona, the role's opening and closing paragraphs: about
/// 960 bytes, docs/benchmarks.md "Context package"), in tokens.
const TEMPLATE_TOKENS: f64 = 250.0;
/// The notes of the tasks a task builds on (about 1,000 bytes where it has dependencies).
const NOTES_TOKENS: f64 = 250.0;
/// The diff a reviewer or the tester reads in its prompt (cut at 48 KiB by planrun; a typical
/// task's diff is a few hundred lines).
const DIFF_TOKENS: f64 = 2_000.0;

/// How an agent's session on one step grows: turns (a model call and its tool), tokens added to
/// the context per turn, tokens the model writes per turn.
#[derive(Debug, Clone, Copy)]
struct Shape {
    turns: f64,
    growth: f64,
    output: f64,
}

/// Which figure a pass of the estimate computes: an end of the range, or the point estimate
/// inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    Low,
    /// The point: without history, a CLI's session as measured against the scripted model,
    /// with a little room for a longer one; from history, the history's mean.
    Point,
    High,
}

impl Bound {
    /// This bound's figure out of (low, point, high).
    fn pick(self, [low, point, high]: [f64; 3]) -> f64 {
        match self {
            Bound::Low => low,
            Bound::Point => point,
            Bound::High => high,
        }
    }
}

/// How much a task asks for, in units of about one file's work: its declared files (at least
/// one), half a unit per acceptance criterion, one per 600 bytes of title and description.
/// Sessions are taken to grow with it; the history keeps it per role, so that figures learned
/// on small tasks are scaled for a larger one.
fn work(task: &Task) -> f64 {
    let files = task.files.len().max(1) as f64;
    let criteria = task.acceptance.len() as f64;
    let text = (task.description.len() + task.title.len()) as f64;
    (files + 0.5 * criteria + text / 600.0).min(40.0)
}

/// The part of a CLI's base context (its tools and the start of its system prompt) that a
/// session finds already in the provider's cache, written by an earlier session of the run (the
/// low end; the high end takes every session to start cold, as when they are more than the
/// cache's five minutes apart). Measured with Claude Code 2.1.197 and claude-sonnet-4-5 on the
/// scripted server (2026-12-03): the first request of every session after the run's first reads
/// 26.6k-27.0k of its 29.1k-29.8k tokens from the cache, 91% (the rest, written, is the end of
/// the system prompt, which names the session's folder and git state, and the prompt).
const SHARED_BASE: f64 = 0.9;

/// A CLI session's time without history: its start, then each turn (a model call and its tool).
/// The point is the CLI against the scripted server, whose model answers at once, measured with
/// Claude Code on a 2-core machine (docs/benchmarks.md, 2026-12-03): an implement session of 4
/// turns took 2.8-4.8 s under a load of 3 and 5.4-9.7 s under a load of 10, a review step (two
/// sessions of 2 turns side by side) 3.6-8.5 s and 10-18.5 s. A CLI's start is work for the
/// machine (a Node.js program loading), so the sessions of a review step, side by side, start
/// one after another; their turns overlap. The low end is an idle machine; the high end a real
/// model, about
/// 20 s a turn (writing a few hundred tokens of tool call or code at 30-60 tokens a second, plus
/// its latency and the tool), judgement.
const SESSION_START: [f64; 3] = [1.0, 2.5, 5.0];
const TURN_SECONDS: [f64; 3] = [0.3, 0.6, 20.0];

// ---------------------------------------------------------------------------------------------
// Roles.
// ---------------------------------------------------------------------------------------------

/// A step of a task's pipeline, as the estimate and the history see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    Take,
    Implement,
    Scope,
    Test,
    Verify,
    Review,
    Commit,
    Merge,
}

impl Role {
    const ALL: [Role; 8] =
        [Role::Take, Role::Implement, Role::Scope, Role::Test, Role::Verify, Role::Review, Role::Commit, Role::Merge];

    fn name(self) -> &'static str {
        match self {
            Role::Take => "take",
            Role::Implement => "implement",
            Role::Scope => "scope",
            Role::Test => "test",
            Role::Verify => "verify",
            Role::Review => "review",
            Role::Commit => "commit",
            Role::Merge => "merge",
        }
    }

    fn of_step(step: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.name() == step)
    }

    fn of_stage(stage: Stage) -> Role {
        match stage {
            Stage::Scope => Role::Scope,
            Stage::Test => Role::Test,
            Stage::Verify => Role::Verify,
            Stage::Review => Role::Review,
            Stage::Commit => Role::Commit,
            Stage::Merge => Role::Merge,
        }
    }

    /// Whether an agent runs this step.
    fn agent(self) -> bool {
        matches!(self, Role::Take | Role::Implement | Role::Test | Role::Review)
    }

    /// One session of this role on a task of `work` units, at either end of the range.
    ///
    /// The low end is the shortest session that does the job, as measured with the real CLIs on
    /// the scripted server (docs/benchmarks.md "Estimate vs actual"): an implementer that looks,
    /// writes and checks in 3-4 turns, a reviewer that reads the diff and gives its verdict in
    /// 1-2, a few hundred tokens of tool output a turn and a few dozen written. The high end is
    /// a real model's longer session, judgement: it reads the files around the task, writes each
    /// file, runs the checks and fixes what they find, about 8 turns plus 3 per unit of work for
    /// an implementer (15 for a one-file task with two criteria), 4 plus 1 per unit for a review,
    /// 1,500 tokens of tool output and 250-500 written a turn.
    ///
    /// The point is the session as the real CLIs run it against the scripted server, measured
    /// (docs/benchmarks.md): 4 turns to implement a one-file task, 2 per review, a few hundred
    /// tokens of tool output and a few dozen written a turn; growing by a quarter of a turn per
    /// unit of work (an eighth for a review), as a longer task takes a model more reads and
    /// writes (the scripted model's sessions do not grow: the point stays within 1.4 times them
    /// for tasks of up to 7 units).
    fn shape(self, bound: Bound, work: f64) -> Shape {
        let w = work.clamp(1.0, 40.0);
        let turns = match self {
            Role::Implement => [3.0, 3.4 + w / 4.0, 8.0 + 3.0 * w],
            Role::Test => [2.0, 2.2 + w / 8.0, 6.0 + 2.0 * w],
            Role::Review => [1.0, 1.7 + w / 8.0, 4.0 + w],
            _ => [1.0, 1.0 + w / 8.0, 2.0 + w / 2.0],
        };
        let output = if self == Role::Review { [40.0, 60.0, 250.0] } else { [40.0, 60.0, 500.0] };
        Shape { turns: bound.pick(turns), growth: bound.pick([300.0, 350.0, 1_500.0]), output: bound.pick(output) }
    }

    /// Steps per task without history (a review step holds every review of one attempt): each
    /// stage an attempt reaches runs once per attempt, and an attempt is sent back at most about
    /// one time in three (1 to 1.6 attempts; the simulation benchmark assumes 0.15 a try).
    fn default_rate(self, bound: Bound) -> f64 {
        match self {
            Role::Take | Role::Commit | Role::Merge => 1.0,
            _ => bound.pick([1.0, ATTEMPTS_POINT, ATTEMPTS_HIGH]),
        }
    }

    /// How long a step takes without history, or `None` when nothing is known: a `command`
    /// agent is any program, and only its own history says how long it takes. A CLI's session
    /// takes its start and its turns; verify commands are the project's own (a tenth of a second
    /// to a minute, half a second at the point, judgement); planrun's git stages take well under
    /// a second to a few seconds.
    /// `sessions` run side by side in the step (the reviews of a review step).
    fn default_step(self, bound: Bound, agent: Option<AgentKind>, turns: f64, sessions: usize) -> Option<Duration> {
        let pick = |x: [f64; 3]| bound.pick(x);
        let s = match (self.agent(), agent) {
            (true, Some(AgentKind::Command) | None) => return None,
            (true, Some(_)) => pick(SESSION_START) * sessions.max(1) as f64 + turns * pick(TURN_SECONDS),
            (false, _) => match self {
                Role::Verify => pick([0.1, 0.5, 60.0]),
                Role::Merge => pick([0.05, 0.3, 5.0]),
                _ => pick([0.02, 0.1, 2.0]),
            },
        };
        Some(secs(s))
    }
}

/// Implement attempts per task at the point and the high end (the low end: one).
const ATTEMPTS_POINT: f64 = 1.1;
const ATTEMPTS_HIGH: f64 = 1.6;

// ---------------------------------------------------------------------------------------------
// Token arithmetic.
// ---------------------------------------------------------------------------------------------

/// Tokens as fractions (means and expectations), rounded when shown.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Tokens {
    input: f64,
    output: f64,
    cache_read: f64,
    cache_write: f64,
}

impl Tokens {
    fn of(u: &Usage) -> Self {
        Self {
            input: u.input as f64,
            output: u.output as f64,
            cache_read: u.cache_read as f64,
            cache_write: u.cache_write as f64,
        }
    }

    fn scaled(self, k: f64) -> Self {
        Self {
            input: self.input * k,
            output: self.output * k,
            cache_read: self.cache_read * k,
            cache_write: self.cache_write * k,
        }
    }

    fn plus(self, o: Self) -> Self {
        Self {
            input: self.input + o.input,
            output: self.output + o.output,
            cache_read: self.cache_read + o.cache_read,
            cache_write: self.cache_write + o.cache_write,
        }
    }

    fn usage(self) -> Usage {
        let r = |x: f64| if x.is_finite() && x > 0.0 { x.round() as u64 } else { 0 };
        Usage {
            input: r(self.input),
            output: r(self.output),
            cache_read: r(self.cache_read),
            cache_write: r(self.cache_write),
        }
    }

    fn total(self) -> f64 {
        self.input + self.output + self.cache_read + self.cache_write
    }
}

/// One step's tokens from the default shape: a session whose first request holds `base` +
/// `prompt` tokens, `shared` of the base already in the provider's cache. `writes` for providers
/// that charge cache writes (Anthropic's).
fn session_tokens(base: f64, prompt: f64, shape: Shape, writes: bool, shared: f64) -> Tokens {
    let t = shape.turns.max(1.0);
    let first = base + prompt;
    let all = t * first + shape.growth * t * (t - 1.0) / 2.0;
    let cached = (base * shared.clamp(0.0, 1.0)).min(first);
    let new = first + (t - 1.0) * shape.growth - cached;
    let reused = (all - new).max(0.0);
    let output = t * shape.output;
    if writes {
        Tokens { input: 0.0, output, cache_read: reused, cache_write: new }
    } else {
        Tokens { input: new, output, cache_read: reused, cache_write: 0.0 }
    }
}

/// Whether an agent's provider charges cache writes: Anthropic's models.
fn writes_cache(kind: AgentKind, model: Option<&str>) -> bool {
    kind == AgentKind::Claude || model.is_some_and(|m| m.contains("claude") || m.starts_with("anthropic/"))
}

/// `1.2M`, `41k`, `950`.
fn short(n: f64) -> String {
    if n >= 999_500.0 {
        format!("{:.1}M", n / 1_000_000.0)
    } else if n >= 999.5 {
        format!("{:.0}k", n / 1_000.0)
    } else {
        format!("{:.0}", n.max(0.0))
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn secs(s: f64) -> Duration {
    if s.is_finite() && s > 0.0 { Duration::from_secs_f64(s.min(1e12)) } else { Duration::ZERO }
}

// ---------------------------------------------------------------------------------------------
// The history.
// ---------------------------------------------------------------------------------------------

/// The history keeps this many runs (one line each; a resumed run's line is replaced).
const HISTORY_RUNS: usize = 50;
/// A history file larger than this is read from its last part only.
const HISTORY_BYTES: u64 = 4 << 20;

/// What the history says about one role run by one agent (`planrun` for the stages planrun runs
/// itself), summed over the runs it holds.
#[derive(Debug, Clone, Default, PartialEq)]
struct Figures {
    /// Finished tasks that had at least one such step.
    tasks: f64,
    /// Steps (a review step holds every review of one attempt).
    steps: f64,
    /// Agent runs (the reviews of a review step counted one by one).
    runs: f64,
    usage: Tokens,
    /// Agent runs whose usage was reported (a `command` agent reports none).
    usage_runs: f64,
    cost: f64,
    /// Agent runs with a known cost.
    priced_runs: f64,
    elapsed_ms: f64,
    /// The model the agent reported last.
    model: Option<String>,
    /// Whether every run reported the same model.
    one_model: bool,
    /// The work (`work`) of the finished tasks of the runs that recorded it, and how many tasks
    /// those were.
    work: f64,
    sized_tasks: f64,
    /// Per run: tokens per agent run, and milliseconds per step (how much runs differ).
    line_tokens: Vec<f64>,
    line_times: Vec<f64>,
}

impl Figures {
    fn steps_per_task(&self) -> Option<f64> {
        (self.tasks > 0.0 && self.steps > 0.0).then(|| self.steps / self.tasks)
    }

    fn step_time(&self) -> Option<Duration> {
        (self.steps > 0.0).then(|| secs(self.elapsed_ms / self.steps / 1000.0))
    }

    fn tokens_per_run(&self) -> Option<Tokens> {
        (self.usage_runs > 0.0).then(|| self.usage.scaled(1.0 / self.usage_runs))
    }

    /// Dollars per run, when every run was priced with this model.
    fn cost_per_run(&self, model: Option<&str>) -> Option<f64> {
        let same = self.one_model && model.is_some() && self.model.as_deref() == model;
        (same && self.runs > 0.0 && self.priced_runs >= self.runs).then(|| self.cost / self.runs)
    }

    /// How a task of `work` units compares with the tasks these figures come from: the square
    /// root of the ratio of their work (a session has a fixed part, the CLI's context, that does
    /// not grow with the task), within ½ and 2. One for runs that did not record it.
    fn scale(&self, work: f64) -> f64 {
        if self.sized_tasks <= 0.0 || self.work <= 0.0 || !work.is_finite() {
            return 1.0;
        }
        (work / (self.work / self.sized_tasks)).sqrt().clamp(0.5, 2.0)
    }

    /// How far either end of the range lies from the mean, as a fraction of it: at least
    /// `least` (one run says little about the next), else as far as the runs' own means lay
    /// from the mean of all of them; at most 0.9.
    fn spread(lines: &[f64], least: f64) -> f64 {
        let n = lines.len() as f64;
        let mean = lines.iter().sum::<f64>() / n;
        let far =
            if n > 0.0 && mean > 0.0 { lines.iter().map(|x| (x / mean - 1.0).abs()).fold(0.0, f64::max) } else { 0.0 };
        far.max(least).min(0.9)
    }

    /// The factor of one end of the range of tokens and dollars.
    fn token_factor(&self, bound: Bound) -> f64 {
        let d = Self::spread(&self.line_tokens, 0.25);
        bound.pick([1.0 - d, 1.0, 1.0 + d])
    }

    /// The factor of one end of the range of time (a machine's load alone changes it by half).
    fn time_factor(&self, bound: Bound) -> f64 {
        let d = Self::spread(&self.line_times, 0.5);
        bound.pick([1.0 - d, 1.0, 1.0 + d])
    }
}

/// The history, by (role, agent).
#[derive(Debug, Clone, Default)]
struct History {
    roles: BTreeMap<(String, String), Figures>,
    /// Runs read.
    runs: usize,
    /// The model each CLI reported in the last run where its implementer was given none: its
    /// default.
    defaults: BTreeMap<String, String>,
}

impl History {
    fn get(&self, role: Role, agent: &str) -> Option<&Figures> {
        self.roles.get(&(role.name().to_owned(), agent.to_owned())).filter(|f| f.steps > 0.0)
    }

    /// The model a CLI chose itself in earlier runs.
    fn default_model(&self, agent: &str) -> Option<&str> {
        self.defaults.get(agent).map(String::as_str)
    }
}

/// The last part of a file, at most `HISTORY_BYTES` of it, from a line's start.
fn read_tail(path: &Path) -> Option<String> {
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    let skip = len.saturating_sub(HISTORY_BYTES);
    if skip > 0 {
        use std::io::Seek as _;
        f.seek(std::io::SeekFrom::Start(skip)).ok()?;
    }
    let mut buf = Vec::new();
    f.take(HISTORY_BYTES).read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    Some(if skip > 0 { text.split_once('\n').map(|(_, rest)| rest.to_owned()).unwrap_or_default() } else { text })
}

fn read_history(path: &Path) -> History {
    let mut h = History::default();
    let Some(text) = read_tail(path) else { return h };
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else { continue };
        let Some(roles) = v.get("roles").and_then(Value::as_array) else { continue };
        h.runs += 1;
        // The implementer's CLI when it was given no model: the model it reported is its default.
        let asked = v.get("asked").filter(|a| a.get("model").is_some_and(Value::is_null));
        if let Some(cli) = asked.and_then(|a| a.get("agent")).and_then(Value::as_str) {
            let reported = roles
                .iter()
                .filter(|r| r.get("role").and_then(Value::as_str) == Some("implement"))
                .filter(|r| r.get("agent").and_then(Value::as_str) == Some(cli))
                .find_map(|r| r.get("model").and_then(Value::as_str));
            if let Some(m) = reported {
                h.defaults.insert(cli.to_owned(), m.to_owned());
            }
        }
        for r in roles {
            let (Some(role), Some(agent)) =
                (r.get("role").and_then(Value::as_str), r.get("agent").and_then(Value::as_str))
            else {
                continue;
            };
            let num = |k: &str| r.get(k).and_then(Value::as_f64).filter(|x| x.is_finite() && *x >= 0.0).unwrap_or(0.0);
            let f = h
                .roles
                .entry((role.to_owned(), agent.to_owned()))
                .or_insert_with(|| Figures { one_model: true, ..Figures::default() });
            f.tasks += num("tasks");
            f.steps += num("steps");
            f.runs += num("runs");
            if let Some(u) = r.get("usage").and_then(|u| serde_json::from_value::<Usage>(u.clone()).ok()) {
                f.usage = f.usage.plus(Tokens::of(&u));
                f.usage_runs += num("usage_runs");
            }
            f.cost += num("cost_usd");
            f.priced_runs += num("priced_runs");
            f.elapsed_ms += num("elapsed_ms");
            if r.get("work").is_some_and(Value::is_number) {
                f.work += num("work");
                f.sized_tasks += num("tasks");
            }
            if num("usage_runs") > 0.0 {
                if let Some(u) = r.get("usage").and_then(|u| serde_json::from_value::<Usage>(u.clone()).ok()) {
                    f.line_tokens.push(u.total() as f64 / num("usage_runs"));
                }
            }
            if num("steps") > 0.0 {
                f.line_times.push(num("elapsed_ms") / num("steps"));
            }
            if let Some(m) = r.get("model").and_then(Value::as_str) {
                if f.model.as_deref().is_some_and(|old| old != m) {
                    f.one_model = false;
                }
                f.model = Some(m.to_owned());
            }
        }
    }
    h
}

/// What one run's steps add up to, per role and agent.
#[derive(Debug, Default)]
struct Acc {
    tasks: u64,
    steps: u64,
    runs: u64,
    usage: Usage,
    usage_runs: u64,
    cost: f64,
    priced_runs: u64,
    elapsed_ms: u64,
    model: Option<String>,
    work: f64,
}

/// The history line of one run: per role and agent, the finished tasks' steps summed, with each
/// task's `work`. `run` names the run (its first invocation's start), so that a resumed run
/// replaces its line; `asked` is the implementer's agent and the model it was given (`null`: the
/// CLI's default).
fn history_line<'a>(
    run: Option<u64>,
    asked: Value,
    finished: impl Iterator<Item = (f64, &'a [StepRecord])>,
) -> Option<Value> {
    let mut acc: BTreeMap<(Role, String), Acc> = BTreeMap::new();
    let mut tasks = 0u64;
    for (size, records) in finished {
        if records.is_empty() {
            continue;
        }
        tasks += 1;
        let mut seen: Vec<(Role, String)> = Vec::new();
        for r in records {
            let Some(role) = Role::of_step(&r.step) else { continue };
            let agent = match (&r.agent, role.agent()) {
                (Some(a), _) => a.agent.clone(),
                (None, true) => AgentKind::Command.name().to_owned(),
                (None, false) => "planrun".to_owned(),
            };
            // The implement step's time includes the take that ran before it in that attempt.
            let mut elapsed = r.elapsed_ms;
            if role == Role::Implement {
                let take: u64 =
                    records.iter().filter(|t| t.step == "take" && t.attempt == r.attempt).map(|t| t.elapsed_ms).sum();
                elapsed = elapsed.saturating_sub(take);
            }
            let runs = if role == Role::Review {
                r.detail
                    .as_ref()
                    .and_then(|d| d.get("reviews"))
                    .and_then(Value::as_array)
                    .map_or(1, |a| a.len().max(1) as u64)
            } else {
                1
            };
            let key = (role, agent);
            if !seen.contains(&key) {
                seen.push(key.clone());
            }
            let a = acc.entry(key).or_default();
            a.steps += 1;
            a.runs += runs;
            a.elapsed_ms = a.elapsed_ms.saturating_add(elapsed);
            if let Some(rec) = &r.agent {
                a.usage.add(&rec.usage);
                a.usage_runs += runs;
                if let Some(c) = rec.cost_usd.filter(|c| c.is_finite() && *c >= 0.0) {
                    a.cost += c;
                    a.priced_runs += runs;
                }
                if rec.model.is_some() {
                    a.model.clone_from(&rec.model);
                }
            }
        }
        for key in seen {
            if let Some(a) = acc.get_mut(&key) {
                a.tasks += 1;
                a.work += if size.is_finite() { size.max(0.0) } else { 0.0 };
            }
        }
    }
    if tasks == 0 {
        return None;
    }
    let roles: Vec<Value> = acc
        .into_iter()
        .map(|((role, agent), a)| {
            let agent_role = role.agent() && agent != AgentKind::Command.name();
            json!({
                "role": role.name(),
                "agent": agent,
                "model": a.model,
                "tasks": a.tasks,
                "steps": a.steps,
                "runs": a.runs,
                "usage": if agent_role && a.usage_runs > 0 { json!(a.usage) } else { Value::Null },
                "usage_runs": a.usage_runs,
                "cost_usd": a.cost,
                "priced_runs": a.priced_runs,
                "elapsed_ms": a.elapsed_ms,
                "work": a.work,
            })
        })
        .collect();
    let at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, ms);
    Some(json!({"v": 1, "run": run, "at_ms": at, "asked": asked, "tasks": tasks, "roles": roles}))
}

/// Writes `line` into the history file: a line of the same run is replaced, the last
/// `HISTORY_RUNS` lines are kept, the file is replaced atomically.
fn write_history(path: &Path, line: &Value) -> std::io::Result<()> {
    let run = line.get("run").filter(|r| !r.is_null());
    let old = read_tail(path).unwrap_or_default();
    let mut lines: Vec<String> = old
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter(|l| match (run, serde_json::from_str::<Value>(l)) {
            (Some(run), Ok(v)) => v.get("run") != Some(run),
            (None, Ok(_)) => true,
            (_, Err(_)) => false,
        })
        .map(str::to_owned)
        .collect();
    lines.push(line.to_string());
    let keep = lines.len().saturating_sub(HISTORY_RUNS);
    let mut text = lines.split_off(keep).join("\n");
    text.push('\n');
    let tmp = path.with_extension("jsonl.tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// Adds what this run's steps used to the repository's history (read by later estimates): one
/// line per run, replaced by each later invocation of the same run, with the steps of its
/// finished (done or blocked) tasks. Errors are ignored: the history never fails a run.
pub(crate) fn record(session: &Session, history: &Path) {
    let plan = &session.loaded.plan;
    let finished = (0..plan.tasks.len())
        .filter(|&i| matches!(session.engine.state(i), Some(TaskState::Done | TaskState::Blocked { .. })))
        .filter_map(|i| Some((work(plan.tasks.get(i)?), session.steps.get(session.id(i))?.as_slice())));
    let asked = session.last_run.as_ref().map_or(Value::Null, |r| json!({"agent": r.agent, "model": r.model}));
    if let Some(line) = history_line(session.first_started_ms, asked, finished) {
        let _ = write_history(history, &line);
    }
}

// ---------------------------------------------------------------------------------------------
// The estimate.
// ---------------------------------------------------------------------------------------------

/// One role, run by one agent, over the pending tasks.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RoleEstimate {
    pub(crate) role: &'static str,
    /// The agent (`planrun` for the stages planrun runs itself).
    pub(crate) agent: String,
    pub(crate) model: Option<String>,
    /// Whether the model is the CLI's default (assumed or seen in the history).
    pub(crate) default_model: bool,
    /// Steps over all pending tasks (a review step holds every review of one attempt).
    pub(crate) steps: f64,
    /// Agent runs.
    pub(crate) runs: f64,
    /// `None` when the agent reports no tokens (a `command` agent), and for planrun's stages.
    pub(crate) usage: Option<Usage>,
    /// `None` when the tokens or the model's price are unknown.
    pub(crate) cost_usd: Option<f64>,
    /// Time spent in this role, summed over tasks; `None` when unknown (a `command` agent with
    /// no history).
    pub(crate) work: Option<Duration>,
    /// `defaults` or `history`.
    pub(crate) source: &'static str,
}

/// One pending task.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TaskEstimate {
    pub(crate) id: String,
    /// Its size in units of about one file's work (files, criteria, text).
    pub(crate) work: f64,
    pub(crate) usage: Option<Usage>,
    pub(crate) cost_usd: Option<f64>,
    /// Its steps one after another; `None` when some step's time is unknown.
    pub(crate) time: Option<Duration>,
}

/// An estimate of a run: each figure a point estimate inside a range, low to high.
#[derive(Debug, Clone, Default)]
pub(crate) struct Estimate {
    /// Tasks still to run.
    pub(crate) tasks: usize,
    /// How many run at once.
    pub(crate) jobs: usize,
    /// The slots the point's work is spread over: `jobs`, or the machine's cores when fewer and
    /// the time comes from the defaults.
    pub(crate) slots: usize,
    /// The stages, in order: the take (with `--take`), implement, then the run's stages, verify
    /// among them when some task has commands.
    pub(crate) stages: Vec<&'static str>,
    /// Pending tasks with verify commands (their own or the plan's).
    pub(crate) verify_tasks: usize,
    pub(crate) reviews: usize,
    /// Implement attempts per task: the point and the range.
    pub(crate) attempts: f64,
    pub(crate) attempts_range: (f64, f64),
    /// The tokens of the agents that report them (`input` is input not read from a cache), at
    /// the point, and the range of their total.
    pub(crate) usage: Usage,
    pub(crate) tokens_range: (u64, u64),
    /// Whether some agent reports tokens.
    pub(crate) tokens_known: bool,
    /// The roles whose agent reports no tokens: `implement (command)`.
    pub(crate) tokens_unknown: Vec<String>,
    /// `None` when some agent's cost is unknown (no price for its model, or a `command` agent).
    pub(crate) cost_usd: Option<f64>,
    pub(crate) cost_range: Option<(f64, f64)>,
    /// Dollars over the parts whose cost is known (the point).
    pub(crate) priced_usd: f64,
    /// Why the cost is unknown, one phrase each.
    pub(crate) unpriced: Vec<String>,
    /// `None` when some step's time is unknown (`time_unknown` says which).
    pub(crate) wall: Option<Duration>,
    pub(crate) wall_range: Option<(Duration, Duration)>,
    /// The roles whose time nothing says: `implement (command)`.
    pub(crate) time_unknown: Vec<String>,
    pub(crate) critical_path: Option<Duration>,
    /// All steps of all tasks one after another.
    pub(crate) work: Option<Duration>,
    /// `defaults`, `history` or `mixed`.
    pub(crate) source: &'static str,
    /// Runs the history held.
    pub(crate) history_runs: usize,
    /// The roles the history had figures for (`implement (claude)`), when mixed.
    pub(crate) history_roles: Vec<String>,
    pub(crate) per_task: Vec<TaskEstimate>,
    pub(crate) per_role: Vec<RoleEstimate>,
}

/// `a` alone when both ends read the same, else `a–b`.
fn span(lo: String, hi: String) -> String {
    if lo == hi { lo } else { format!("{lo}–{hi}") }
}

impl Estimate {
    /// The point estimate's total tokens.
    #[cfg(test)]
    fn tokens(&self) -> u64 {
        self.usage.total()
    }

    /// What the estimate is based on, one line.
    pub(crate) fn basis(&self) -> String {
        let runs = |n: usize| format!("{n} run{}", if n == 1 { "" } else { "s" });
        match self.source {
            "history" => format!(
                "this repository's history of {}, scaled to each task's size (files, criteria, text)",
                runs(self.history_runs)
            ),
            "mixed" => format!(
                "this repository's history of {} for {}, defaults for the rest",
                runs(self.history_runs),
                self.history_roles.join(", ")
            ),
            _ => "defaults, scaled to each task's files, criteria and text: the point is the real CLIs' \
                  sessions as measured with a scripted model that answers at once; a real model takes more \
                  and slower turns, up to the high end; each finished run adds to the history the next \
                  estimate uses"
                .to_owned(),
        }
    }

    /// The estimate in a few words, for the progress line: `~$0.60 ($0.40–$2.10)`,
    /// `~1.3M tokens (1.1M–4.3M)`, or `unknown`.
    pub(crate) fn brief(&self) -> String {
        match (self.cost_range, self.tokens_known) {
            (Some((lo, hi)), _) => format!(
                "~${:.2} ({})",
                self.cost_usd.unwrap_or_default(),
                span(format!("${lo:.2}"), format!("${hi:.2}"))
            ),
            (None, true) => format!(
                "~{} tokens ({})",
                short(self.usage.total() as f64),
                span(short(self.tokens_range.0 as f64), short(self.tokens_range.1 as f64))
            ),
            (None, false) => "unknown".to_owned(),
        }
    }

    /// The `--json` form (also journaled with the run). Every figure is the point estimate, with
    /// its range beside it; `null` when unknown.
    pub(crate) fn to_json(&self) -> Value {
        serde_json::to_value(self.report()).unwrap_or(Value::Null)
    }

    /// The typed form of [`Estimate::to_json`]: what the `estimate` event of a run carries.
    pub(crate) fn report(&self) -> EstimateReport {
        let tokens = |u: &Usage| EstimateTokens {
            input: u.input,
            output: u.output,
            cache_read: u.cache_read,
            cache_write: u.cache_write,
            total: u.total(),
            low: None,
            high: None,
        };
        let round = |x: f64| (x * 100.0).round() / 100.0;
        let all =
            EstimateTokens { low: Some(self.tokens_range.0), high: Some(self.tokens_range.1), ..tokens(&self.usage) };
        EstimateReport {
            tasks: self.tasks,
            jobs: self.jobs,
            slots: self.slots,
            stages: self.stages.iter().map(|s| (*s).to_owned()).collect(),
            verify_tasks: self.verify_tasks,
            reviews: self.reviews,
            attempts: round(self.attempts),
            attempts_range: [round(self.attempts_range.0), round(self.attempts_range.1)],
            source: self.source.to_owned(),
            history_runs: self.history_runs,
            basis: self.basis(),
            tokens: self.tokens_known.then_some(all),
            tokens_unknown: self.tokens_unknown.clone(),
            cost_usd: self.cost_usd,
            cost_usd_range: self.cost_range.map(|(lo, hi)| [lo, hi]),
            priced_usd: self.priced_usd,
            unpriced: self.unpriced.clone(),
            wall_ms: self.wall.map(ms),
            wall_ms_range: self.wall_range.map(|(lo, hi)| [ms(lo), ms(hi)]),
            time_unknown: self.time_unknown.clone(),
            critical_path_ms: self.critical_path.map(ms),
            work_ms: self.work.map(ms),
            per_task: self
                .per_task
                .iter()
                .map(|t| EstimateTask {
                    id: t.id.clone(),
                    work: round(t.work),
                    tokens: t.usage.as_ref().map(Usage::total),
                    cost_usd: t.cost_usd,
                    time_ms: t.time.map(ms),
                })
                .collect(),
            per_role: self
                .per_role
                .iter()
                .map(|r| EstimateRole {
                    role: r.role.to_owned(),
                    agent: r.agent.clone(),
                    model: r.model.clone(),
                    steps: round(r.steps),
                    runs: round(r.runs),
                    tokens: r.usage.as_ref().map(tokens),
                    cost_usd: r.cost_usd,
                    work_ms: r.work.map(ms),
                    source: r.source.to_owned(),
                })
                .collect(),
        }
    }

    /// The human lines.
    pub(crate) fn text(&self) -> String {
        let human = super::steps::human;
        let from = format!("\n  from    {}", self.basis());
        if self.tasks == 0 {
            return format!("estimate: no task left to run{from}");
        }
        let mut stages: Vec<String> = Vec::new();
        for s in &self.stages {
            stages.push(match *s {
                "verify" if self.verify_tasks < self.tasks => {
                    format!("verify ({} of {} tasks)", self.verify_tasks, self.tasks)
                }
                "review" => format!("review ({} side by side)", self.reviews),
                other => other.to_owned(),
            });
        }
        let mut out = format!(
            "estimate: {} task(s), {} at a time; each goes through {}",
            self.tasks,
            self.jobs,
            stages.join(" → ")
        );
        let attempts = format!(
            "{} attempt(s) per task",
            span(format!("{:.1}", self.attempts_range.0), format!("{:.1}", self.attempts_range.1))
        );
        if self.tokens_known {
            let u = &self.usage;
            let parts: Vec<String> = [
                (u.cache_read, "read from cache"),
                (u.cache_write, "written to it"),
                (u.input, "other input"),
                (u.output, "output"),
            ]
            .into_iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!("{} {what}", short(n as f64)))
            .collect();
            out.push_str(&format!(
                "\n  tokens  ~{} ({}); {}; {attempts}",
                short(u.total() as f64),
                span(short(self.tokens_range.0 as f64), short(self.tokens_range.1 as f64)),
                parts.join(", ")
            ));
            if !self.tokens_unknown.is_empty() {
                out.push_str(&format!(
                    "; not counted: {} (a command agent reports no tokens)",
                    self.tokens_unknown.join(", ")
                ));
            }
        } else if self.tokens_unknown.is_empty() {
            out.push_str(&format!("\n  tokens  none: no agent step left, {attempts}"));
        } else {
            out.push_str(&format!(
                "\n  tokens  unknown: {} (a command agent reports no tokens), {attempts}",
                self.tokens_unknown.join(", ")
            ));
        }
        let models: Vec<String> = {
            let mut seen: Vec<String> = Vec::new();
            for r in self.per_role.iter().filter(|r| r.usage.is_some()) {
                let m = match (&r.model, r.default_model) {
                    (Some(m), true) => format!("{}: {m}, its default", r.agent),
                    (Some(m), false) => format!("{}: {m}", r.agent),
                    (None, _) => format!("{}: its default model", r.agent),
                };
                if !seen.contains(&m) {
                    seen.push(m);
                }
            }
            seen
        };
        let models = if models.is_empty() { String::new() } else { format!(" ({})", models.join("; ")) };
        match self.cost_range {
            Some((lo, hi)) => out.push_str(&format!(
                "\n  cost    ~${:.2} ({}){models}",
                self.cost_usd.unwrap_or_default(),
                span(format!("${lo:.2}"), format!("${hi:.2}"))
            )),
            None if self.priced_usd > 0.0 => out.push_str(&format!(
                "\n  cost    unknown: {}; the priced part ~${:.2}{models}",
                self.unpriced.join("; "),
                self.priced_usd
            )),
            None => out.push_str(&format!("\n  cost    unknown: {}{models}", self.unpriced.join("; "))),
        }
        match (self.wall_range, self.critical_path, self.work) {
            (Some((lo, hi)), Some(critical), Some(work)) => out.push_str(&format!(
                "\n  time    ~{} ({}); critical path {}; {} of work over {} slot(s){}",
                human(self.wall.unwrap_or_default()),
                span(human(lo), human(hi)),
                human(critical),
                human(work),
                self.slots,
                if self.slots < self.jobs {
                    format!(", as the machine has {} cores", self.slots)
                } else {
                    String::new()
                }
            )),
            _ => out.push_str(&format!(
                "\n  time    unknown: {} (a command agent is any program: no run here says how long it takes; \
                 the next estimate takes it from this run's)",
                self.time_unknown.join(", ")
            )),
        }
        out.push_str(&from);
        out
    }
}

/// Adds `b` to a sum that is `None` once any part is unknown.
fn add_known(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(a? + b?)
}

/// The prompt tokens of one role for `task` (the brief, the role's text, and what the role adds:
/// the notes of the tasks it builds on, the diff a reviewer reads, a few hundred tokens for a
/// one-file change at the low end).
fn prompt_tokens(plan: &Plan, task: &Task, role: Role, bound: Bound) -> f64 {
    let brief = super::prompt::brief(plan, task, &[], None).len() as f64 / 4.0;
    let notes = if task.depends_on.is_empty() { 0.0 } else { NOTES_TOKENS };
    let diff = bound.pick([300.0, 600.0, DIFF_TOKENS]);
    brief
        + TEMPLATE_TOKENS
        + match role {
            Role::Implement => notes,
            Role::Review | Role::Test => diff,
            _ => 0.0,
        }
}

/// The estimate of a run: the point estimate, and a pass at each end of its range.
pub(crate) fn estimate(inputs: &Inputs<'_>) -> Estimate {
    let history = read_history(&inputs.history);
    let lo = pass(inputs, &history, Bound::Low);
    let hi = pass(inputs, &history, Bound::High);
    let mut est = pass(inputs, &history, Bound::Point);
    est.attempts_range = (lo.attempts, hi.attempts);
    est.tokens_range = (lo.usage.total(), hi.usage.total());
    est.cost_range = lo.cost_usd.zip(hi.cost_usd);
    est.wall_range = lo.wall.zip(hi.wall);
    est
}

/// One figure of the estimate (an end of its range, or the point): every figure at it (the
/// range fields unset).
fn pass(inputs: &Inputs<'_>, history: &History, bound: Bound) -> Estimate {
    let plan = inputs.plan;
    let limit = inputs.limit.max(1);
    let reviewer = inputs.reviewer;
    let reviews = if reviewer.is_some() { inputs.reviews } else { 0 };
    let mut stages: Vec<Stage> = inputs.stages.to_vec();
    let has_commands = |t: &Task| !t.verify.is_empty() || !plan.verify.is_empty();
    let pending: Vec<usize> =
        (0..plan.tasks.len()).filter(|&i| inputs.pending.get(i).copied().unwrap_or(false)).collect();
    let verify_tasks = pending.iter().filter_map(|&i| plan.tasks.get(i)).filter(|t| has_commands(t)).count();
    if verify_tasks > 0 && !stages.contains(&Stage::Verify) {
        stages.push(Stage::Verify);
    }
    stages.sort();
    stages.dedup();

    let mut est = Estimate {
        tasks: pending.len(),
        jobs: limit,
        verify_tasks,
        reviews,
        history_runs: history.runs,
        ..Estimate::default()
    };
    let take = inputs.take && reviewer.is_some();
    if take {
        est.stages.push(Role::Take.name());
    }
    est.stages.push(Role::Implement.name());
    for s in &stages {
        let shown = match s {
            Stage::Test => reviewer.is_some(),
            Stage::Review => reviews > 0,
            _ => true,
        };
        if shown {
            est.stages.push(s.name());
        }
    }

    let mut roles: BTreeMap<(Role, String, Option<String>), RoleEstimate> = BTreeMap::new();
    let mut durations: Vec<Option<Duration>> = vec![Some(Duration::ZERO); plan.tasks.len()];
    let (mut from_history, mut from_defaults) = (0usize, 0usize);
    let mut cost: Option<f64> = Some(0.0);
    let mut usage = Tokens::default();
    let mut unpriced: Vec<String> = Vec::new();
    let mut exclusive = Duration::ZERO;
    let mut attempts = 0.0;
    let shared = bound.pick([SHARED_BASE, SHARED_BASE, 0.0]);
    for &i in &pending {
        let Some(task) = plan.tasks.get(i) else { continue };
        let Some(&implementer) = inputs.agents.get(i) else { continue };
        let size = work(task);
        let mut steps: Vec<(Role, Option<&Agent>)> = Vec::new();
        if take {
            steps.push((Role::Take, reviewer));
        }
        steps.push((Role::Implement, Some(implementer)));
        for &s in &stages {
            let role = Role::of_stage(s);
            match role {
                Role::Verify if !has_commands(task) => {}
                Role::Test | Role::Review if reviewer.is_none() => {}
                Role::Review if reviews == 0 => {}
                Role::Test | Role::Review => steps.push((role, reviewer)),
                _ => steps.push((role, None)),
            }
        }
        let mut t = TaskEstimate {
            id: task.id.clone(),
            work: size,
            usage: None,
            cost_usd: Some(0.0),
            time: Some(Duration::ZERO),
        };
        let mut task_tokens: Option<Tokens> = None;
        for (role, agent) in steps {
            let kind = agent.map(|a| a.kind);
            let agent_name = kind.map_or("planrun", AgentKind::name);
            let cli = role.agent() && kind.is_some_and(|k| k != AgentKind::Command);
            let fig = history.get(role, agent_name);
            if fig.is_some() {
                from_history += 1;
                let label = format!("{} ({agent_name})", role.name());
                if role.agent() && !est.history_roles.contains(&label) {
                    est.history_roles.push(label);
                }
            } else {
                from_defaults += 1;
            }
            let rate = fig.and_then(Figures::steps_per_task).unwrap_or_else(|| role.default_rate(bound));
            let runs = rate * if role == Role::Review { reviews as f64 } else { 1.0 };
            // A CLI's session grows with the task; a command's or planrun's own steps do not.
            let scale = if cli { fig.map_or(1.0, |f| f.scale(size)) } else { 1.0 };
            let shape = role.shape(bound, size);
            let step_time = match fig.and_then(|f| f.step_time().map(|d| (f, d))) {
                Some((f, d)) => Some(d.mul_f64(scale * f.time_factor(bound))),
                None => {
                    let sessions = if role == Role::Review { reviews } else { 1 };
                    role.default_step(bound, kind, shape.turns, sessions)
                }
            };
            let work = step_time.map(|d| d.mul_f64(rate));
            t.time = t.time.zip(work).map(|(a, b)| a + b);
            if work.is_none() {
                let label = format!("{} ({agent_name})", role.name());
                if !est.time_unknown.contains(&label) {
                    est.time_unknown.push(label);
                }
            }
            if role == Role::Implement {
                attempts += rate;
            }
            if matches!(role, Role::Commit | Role::Merge) {
                exclusive += work.unwrap_or_default();
            }
            // The model: the agent's own, else the CLI's default (the one it chose in earlier
            // runs, else the one the pinned version asks for).
            let (model, is_default) = match agent {
                Some(a) if a.kind != AgentKind::Command => match &a.model {
                    Some(m) => (Some(m.clone()), false),
                    None => {
                        (history.default_model(agent_name).or_else(|| default_model(a.kind)).map(str::to_owned), true)
                    }
                },
                _ => (None, false),
            };
            // Tokens and dollars of the agent's runs.
            let (tokens, dollars) = match (agent, role.agent()) {
                (Some(a), true) if cli => {
                    let learned = fig.and_then(|f| f.tokens_per_run().map(|t| (f, t)));
                    let factor = fig.map_or(1.0, |f| scale * f.token_factor(bound));
                    let per_run = match learned {
                        Some((_, t)) => t.scaled(factor),
                        None => session_tokens(
                            base_context(a.kind, model.as_deref()),
                            prompt_tokens(plan, task, role, bound),
                            shape,
                            writes_cache(a.kind, model.as_deref()),
                            shared,
                        ),
                    };
                    let tokens = per_run.scaled(runs);
                    let dollars = match fig.and_then(|f| f.cost_per_run(model.as_deref())) {
                        Some(per) => Some(per * runs * factor),
                        None => inputs.prices.cost(model.as_deref(), &tokens.usage()),
                    };
                    if dollars.is_none() {
                        let why = match &model {
                            Some(m) => format!("no price for {m} (add [prices.\"{m}\"] to planrun.toml)"),
                            None => format!("{agent_name}'s default model is not known (name one with --model)"),
                        };
                        if !unpriced.contains(&why) {
                            unpriced.push(why);
                        }
                    }
                    (Some(tokens), dollars)
                }
                (Some(_), true) => {
                    let label = format!("{} (command)", role.name());
                    if !est.tokens_unknown.contains(&label) {
                        est.tokens_unknown.push(label);
                    }
                    let why = "a command agent's cost is not known".to_owned();
                    if !unpriced.contains(&why) {
                        unpriced.push(why);
                    }
                    (None, None)
                }
                _ => (None, Some(0.0)),
            };
            if let Some(tk) = tokens {
                usage = usage.plus(tk);
                task_tokens = Some(task_tokens.unwrap_or_default().plus(tk));
                est.priced_usd += dollars.unwrap_or(0.0);
            }
            cost = add_known(cost, dollars);
            t.cost_usd = add_known(t.cost_usd, dollars);
            let entry = roles.entry((role, agent_name.to_owned(), model.clone())).or_insert_with(|| RoleEstimate {
                role: role.name(),
                agent: agent_name.to_owned(),
                model: model.clone(),
                default_model: is_default,
                steps: 0.0,
                runs: 0.0,
                usage: tokens.map(|_| Usage::default()),
                cost_usd: Some(0.0),
                work: Some(Duration::ZERO),
                source: if fig.is_some() { "history" } else { "defaults" },
            });
            entry.steps += rate;
            entry.runs += if role.agent() { runs } else { 0.0 };
            if let (Some(u), Some(tk)) = (entry.usage.as_mut(), tokens) {
                let mut sum = Tokens::of(u).plus(tk);
                // Kept as whole tokens per role; the fractions are summed in `usage` above.
                if !sum.total().is_finite() {
                    sum = Tokens::default();
                }
                *u = sum.usage();
            }
            entry.cost_usd = add_known(entry.cost_usd, dollars);
            entry.work = entry.work.zip(work).map(|(a, b)| a + b);
            if fig.is_some() {
                entry.source = "history";
            }
        }
        t.usage = task_tokens.map(Tokens::usage);
        if let Some(d) = durations.get_mut(i) {
            *d = t.time;
        }
        est.per_task.push(t);
    }
    est.attempts = if pending.is_empty() { 0.0 } else { attempts / pending.len() as f64 };
    est.usage = usage.usage();
    est.tokens_known = roles.values().any(|r| r.usage.is_some());
    est.cost_usd = cost;
    est.unpriced = unpriced;
    est.per_role = roles.into_values().collect();
    est.source = match (from_history, from_defaults) {
        (0, 0) if history.runs > 0 => "history",
        (0, _) => "defaults",
        (_, 0) => "history",
        _ => "mixed",
    };
    if !est.time_unknown.is_empty() {
        return est;
    }

    // Wall time: the longest chain of pending tasks, against the work spread over the slots.
    // A task without declared files runs alone, and commits and merges go one at a time.
    let durations: Vec<Duration> = durations.into_iter().map(Option::unwrap_or_default).collect();
    let mut finish = vec![Duration::ZERO; plan.tasks.len()];
    let mut critical = Duration::ZERO;
    for &i in &inputs.checked.graph.topo {
        let before =
            inputs.checked.graph.deps.get(i).into_iter().flatten().filter_map(|&d| finish.get(d)).max().copied();
        let end = before.unwrap_or_default() + durations.get(i).copied().unwrap_or_default();
        if let Some(f) = finish.get_mut(i) {
            *f = end;
        }
        critical = critical.max(end);
    }
    let unscoped: Duration = inputs
        .checked
        .analysis
        .unscoped
        .iter()
        .filter(|&&i| inputs.pending.get(i).copied().unwrap_or(false))
        .filter_map(|&i| durations.get(i))
        .sum();
    let work: Duration = durations.iter().sum();
    // The point without history: a scripted model's run is bound by the machine, not the model.
    let slots = if bound == Bound::Point && from_history == 0 { limit.min(inputs.cores.max(1)) } else { limit };
    let spread = unscoped + (work.saturating_sub(unscoped)) / u32::try_from(slots).unwrap_or(u32::MAX);
    let final_check = if plan.verify.is_empty() || pending.is_empty() {
        Duration::ZERO
    } else {
        let fig = history.get(Role::Verify, "planrun");
        match fig.and_then(|f| f.step_time().map(|d| (f, d))) {
            Some((f, d)) => d.mul_f64(f.time_factor(bound)),
            None => Role::Verify.default_step(bound, None, 0.0, 1).unwrap_or_default(),
        }
    };
    est.critical_path = Some(critical);
    est.work = Some(work);
    est.slots = slots;
    est.wall = Some(critical.max(spread).max(exclusive) + final_check);
    est
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

    use super::*;
    use crate::session::AgentRecord;

    fn agent(kind: AgentKind, model: Option<&str>) -> Agent {
        Agent { kind, model: model.map(str::to_owned), template: None }
    }

    /// `n` independent tasks, each with a file and a verify command.
    fn plan_text(n: usize, chain: bool) -> String {
        let mut s = String::from("# P\n\n");
        for i in 0..n {
            s.push_str(&format!("## Task t{i}: Task number {i}\n\n"));
            if chain && i > 0 {
                s.push_str(&format!("Depends on: `t{}`\n", i - 1));
            }
            s.push_str(&format!("Files: `f{i}.txt`\n\nWrite f{i}.txt with a greeting.\n\n### Verify\n\n- `true`\n\n"));
        }
        s
    }

    struct Fixture {
        loaded: planrun_plan::Loaded,
        checked: Checked,
        prices: PriceTable,
        dir: tempfile::TempDir,
    }

    fn fixture(text: &str) -> Fixture {
        let loaded = planrun_plan::native::markdown::parse(text, "plan.md");
        let checked = planrun_plan::check(&loaded);
        assert_eq!(checked.errors(), 0, "{:?}", checked.diagnostics);
        Fixture { loaded, checked, prices: PriceTable::default(), dir: tempfile::tempdir().unwrap() }
    }

    const ALL: [Stage; 4] = [Stage::Scope, Stage::Review, Stage::Commit, Stage::Merge];

    fn inputs<'a>(
        f: &'a Fixture,
        impl_agent: &'a Agent,
        reviewer: Option<&'a Agent>,
        stages: &'a [Stage],
        limit: usize,
    ) -> Inputs<'a> {
        let n = f.loaded.plan.tasks.len();
        Inputs {
            plan: &f.loaded.plan,
            checked: &f.checked,
            pending: vec![true; n],
            agents: vec![impl_agent; n],
            reviewer,
            stages,
            reviews: 2,
            take: false,
            limit,
            cores: 2,
            prices: &f.prices,
            history: f.dir.path().join("history.jsonl"),
        }
    }

    fn run(f: &Fixture, impl_agent: &Agent, reviewer: Option<&Agent>, stages: &[Stage], limit: usize) -> Estimate {
        estimate(&inputs(f, impl_agent, reviewer, stages, limit))
    }

    #[test]
    fn more_tasks_use_more_tokens_and_reviews_add_their_share() {
        let claude = agent(AgentKind::Claude, Some("claude-sonnet-4-5"));
        let small = fixture(&plan_text(2, false));
        let big = fixture(&plan_text(6, false));
        let a = run(&small, &claude, Some(&claude), &ALL, 3);
        let b = run(&big, &claude, Some(&claude), &ALL, 3);
        assert_eq!((a.tasks, b.tasks), (2, 6));
        assert!(b.tokens() > 2 * a.tokens(), "{} vs {}", b.tokens(), a.tokens());
        assert!(b.cost_usd.unwrap() > a.cost_usd.unwrap());
        assert_eq!(a.source, "defaults");
        assert_eq!(a.stages, ["implement", "scope", "verify", "review", "commit", "merge"]);
        assert_eq!(a.attempts_range, (1.0, ATTEMPTS_HIGH));
        assert!((a.attempts - ATTEMPTS_POINT).abs() < 1e-9);
        // Input dominates, and most of it is read from the cache.
        assert!(a.usage.cache_read > 5 * a.usage.output && a.usage.cache_read > a.usage.cache_write);

        let no_review = run(&small, &claude, Some(&claude), &[Stage::Scope, Stage::Commit, Stage::Merge], 3);
        assert!(no_review.tokens() < a.tokens());
        let review = a.per_role.iter().find(|r| r.role == "review").unwrap();
        // (Rounded to whole tokens per role and in the total.)
        assert!((a.tokens() - no_review.tokens()).abs_diff(review.usage.unwrap().total()) <= 8);
        // Two reviews per attempt, 1.1 attempts per task at the point, two tasks.
        assert!((review.runs - 2.0 * 2.0 * ATTEMPTS_POINT).abs() < 1e-9);
        let json = a.to_json();
        assert_eq!(json["tokens"]["total"], a.tokens());
        assert_eq!(json["tokens"]["low"], a.tokens_range.0);
        assert_eq!(json["tokens"]["high"], a.tokens_range.1);
        assert_eq!(json["per_task"].as_array().unwrap().len(), 2);
        assert!(a.text().contains("2 task(s), 3 at a time"), "{}", a.text());
        assert!(a.text().contains("review (2 side by side)"), "{}", a.text());
        assert!(a.text().contains("from    defaults"), "{}", a.text());
    }

    #[test]
    fn every_figure_is_a_point_inside_its_range() {
        let claude = agent(AgentKind::Claude, Some("claude-sonnet-4-5"));
        let f = fixture(&plan_text(3, true));
        let e = run(&f, &claude, Some(&claude), &ALL, 2);
        let (lo, hi) = e.tokens_range;
        assert!(lo > 0 && lo < e.tokens() && e.tokens() < hi, "{lo} {} {hi}", e.tokens());
        let (clo, chi) = e.cost_range.unwrap();
        let cost = e.cost_usd.unwrap();
        assert!(clo < cost && cost < chi, "{clo} {cost} {chi}");
        let (wlo, whi) = e.wall_range.unwrap();
        assert!(wlo < e.wall.unwrap() && e.wall.unwrap() < whi, "{wlo:?} {:?} {whi:?}", e.wall);
        // The ends and the point are the three passes; without history the point is the
        // measured session, near the low end, and far from a real model's high end.
        let i = inputs(&f, &claude, Some(&claude), &ALL, 2);
        let none = History::default();
        let (l, p, h) = (pass(&i, &none, Bound::Low), pass(&i, &none, Bound::Point), pass(&i, &none, Bound::High));
        assert_eq!((l.usage.total(), h.usage.total()), e.tokens_range);
        assert_eq!(p.usage.total(), e.tokens());
        assert_eq!((l.wall.unwrap(), h.wall.unwrap()), (wlo, whi));
        assert!(e.tokens() < 2 * lo && e.wall.unwrap() < 3 * wlo, "{e:?}");
        assert!(cost < 2.0 * clo, "{clo} {cost}");
        assert!(4 * e.tokens() < hi && 20 * e.wall.unwrap() < whi, "{e:?}");
        // The low end is a short session that shares the CLI's context with the sessions
        // before it; the high end a long one that starts cold.
        assert!(l.usage.cache_write * 3 < h.usage.cache_write, "{:?} {:?}", l.usage, h.usage);
        let json = e.to_json();
        assert_eq!(json["cost_usd_range"][0], clo);
        assert_eq!(json["wall_ms_range"][1], ms(whi));
        let text = e.text();
        assert!(
            text.contains(&format!(
                "tokens  ~{} ({}–{});",
                short(e.tokens() as f64),
                short(lo as f64),
                short(hi as f64)
            )),
            "{text}"
        );
        assert!(text.contains(&format!("cost    ~${cost:.2} (${clo:.2}–${chi:.2})")), "{text}");
        assert!(text.contains("1.0–1.6 attempt(s) per task"), "{text}");
        assert_eq!(e.brief(), format!("~${cost:.2} (${clo:.2}–${chi:.2})"));
    }

    #[test]
    fn sessions_grow_with_the_task() {
        let claude = agent(AgentKind::Claude, Some("claude-sonnet-4-5"));
        let one = fixture(&plan_text(1, false));
        // The same task with four more files and three acceptance criteria.
        let text = plan_text(1, false)
            .replace("Files: `f0.txt`", "Files: `f0.txt`, `a.txt`, `b.txt`, `c.txt`, `d.txt`")
            .replace("### Verify", "### Acceptance\n\n- [ ] one\n- [ ] two\n- [ ] three\n\n### Verify");
        let five = fixture(&text);
        assert!((work(&five.loaded.plan.tasks[0]) - work(&one.loaded.plan.tasks[0]) - 5.5).abs() < 1e-9);
        let a = run(&one, &claude, Some(&claude), &ALL, 1);
        let b = run(&five, &claude, Some(&claude), &ALL, 1);
        // The high end: 16.5 more implement turns, 5.5 more per review, on a longer prompt.
        assert!(b.tokens_range.1 as f64 > 2.0 * a.tokens_range.1 as f64, "{:?} {:?}", a.tokens_range, b.tokens_range);
        assert!(b.wall_range.unwrap().1 > a.wall_range.unwrap().1 + Duration::from_secs(16 * 20));
        // The low end, the shortest session, only reads the longer brief.
        let (la, lb) = (a.tokens_range.0 as f64, b.tokens_range.0 as f64);
        assert!(lb > la && lb < 1.1 * la, "{la} {lb}");
        assert!(b.per_task[0].work > a.per_task[0].work);
    }

    #[test]
    fn a_longer_prompt_costs_more_input() {
        let claude = agent(AgentKind::Claude, Some("claude-sonnet-4-5"));
        let short_plan = fixture(&plan_text(1, false));
        let long_plan = fixture(&plan_text(1, false).replace("a greeting.", &"a greeting, carefully. ".repeat(400)));
        let a = run(&short_plan, &claude, None, &[], 2);
        let b = run(&long_plan, &claude, None, &[], 2);
        // At the low end, 9,000 more bytes of brief are resent on each of 3 turns, once.
        let more = b.tokens_range.0 as f64 - a.tokens_range.0 as f64;
        assert!(more > 3.0 * 2_000.0 && more < 3.0 * 2_600.0, "{more}");
        // At the high end the session is also longer (15 more units of work: 45 more turns).
        assert!(b.tokens_range.1 > 4 * a.tokens_range.1, "{:?} {:?}", a.tokens_range, b.tokens_range);
    }

    #[test]
    fn unknown_prices_and_command_agents_leave_the_cost_unknown() {
        let f = fixture(&plan_text(2, false));
        let unknown = agent(AgentKind::Claude, Some("my-local-model"));
        let e = run(&f, &unknown, None, &[], 2);
        assert!(e.tokens() > 0);
        assert_eq!((e.cost_usd, e.cost_range), (None, None));
        assert!(e.text().contains("no price for my-local-model"), "{}", e.text());
        assert_eq!(e.to_json()["cost_usd"], Value::Null);
        assert_eq!(e.to_json()["cost_usd_range"], Value::Null);
        assert!(e.brief().starts_with('~') && e.brief().contains(" tokens ("), "{}", e.brief());

        // Gemini's default model is not known.
        let gemini = agent(AgentKind::Gemini, None);
        assert_eq!(run(&f, &gemini, None, &[], 2).cost_usd, None);

        // Claude's default model is assumed, and priced.
        let claude = agent(AgentKind::Claude, None);
        let e = run(&f, &claude, None, &[], 2);
        assert!(e.cost_usd.is_some());
        assert!(e.text().contains("claude-opus-4-8, its default"), "{}", e.text());

        let command = agent(AgentKind::Command, None);
        let e = run(&f, &command, None, &[Stage::Scope], 2);
        assert_eq!((e.tokens(), e.tokens_known, e.cost_usd), (0, false, None));
        assert_eq!(e.tokens_unknown, ["implement (command)"]);
        assert!(e.text().contains("tokens  unknown: implement (command)"), "{}", e.text());
        assert_eq!(e.to_json()["tokens"], Value::Null);
        assert_eq!(e.brief(), "unknown");

        // A command implementer with a priced reviewer: the reviews are counted, the cost is not
        // complete.
        let sonnet = agent(AgentKind::Claude, Some("claude-sonnet-4-5"));
        let e = run(&f, &command, Some(&sonnet), &[Stage::Review], 2);
        assert!(e.tokens_known && e.tokens() > 0);
        assert_eq!(e.cost_usd, None);
        assert!(e.priced_usd > 0.0);
    }

    #[test]
    fn a_command_agent_without_history_takes_an_unknown_time() {
        let f = fixture(&plan_text(2, false));
        let command = agent(AgentKind::Command, None);
        let e = run(&f, &command, None, &[Stage::Scope], 2);
        assert_eq!((e.wall, e.wall_range, e.critical_path, e.work), (None, None, None, None));
        assert_eq!(e.time_unknown, ["implement (command)"]);
        assert!(e.per_task.iter().all(|t| t.time.is_none()));
        assert!(e.text().contains("time    unknown: implement (command)"), "{}", e.text());
        let json = e.to_json();
        assert_eq!((&json["wall_ms"], &json["wall_ms_range"]), (&Value::Null, &Value::Null));
        assert_eq!(json["time_unknown"][0], "implement (command)");
        // A command reviewer too; a CLI implementer with it still leaves the time unknown.
        let claude = agent(AgentKind::Claude, Some("claude-sonnet-4-5"));
        let e = run(&f, &claude, Some(&command), &[Stage::Review], 2);
        assert_eq!((e.wall, e.time_unknown.clone()), (None, vec!["review (command)".to_owned()]));
        // A CLI alone has a time from the defaults.
        assert!(run(&f, &claude, None, &[], 2).wall.is_some());
    }

    #[test]
    fn wall_time_respects_the_critical_path_and_the_limit() {
        let claude = agent(AgentKind::Claude, Some("claude-sonnet-4-5"));
        let none = History::default();
        let high = |f: &Fixture, limit: usize| pass(&inputs(f, &claude, None, &[], limit), &none, Bound::High);
        // The plans have no plan-level verify; their tasks are alike.
        let wide = fixture(&plan_text(6, false));
        let e = high(&wide, 2);
        let step = e.per_task[0].time.unwrap();
        assert!(e.per_task.iter().all(|t| t.time == Some(step)));
        // Implement (turns: 8 + 3 × work, 20 s each, 5 s to start) and verify (60 s), 1.6 times.
        let turns = 8.0 + 3.0 * work(&wide.loaded.plan.tasks[0]);
        let expected = (5.0 + 20.0 * turns + 60.0) * ATTEMPTS_HIGH;
        assert!((step.as_secs_f64() - expected).abs() < 0.01, "{step:?} vs {expected}");
        // Six independent tasks: the work over the slots.
        assert_eq!(e.critical_path, Some(step));
        assert_eq!(e.wall, Some(step * 3));
        assert_eq!(high(&wide, 6).wall, Some(step));
        // The point without history spreads the work over no more slots than the machine has
        // cores (a scripted model's run is bound by the machine); the ends over the limit.
        let on = |cores: usize, bound: Bound| {
            let mut i = inputs(&wide, &claude, None, &[], 6);
            i.cores = cores;
            pass(&i, &none, bound)
        };
        let (two, six) = (on(2, Bound::Point), on(6, Bound::Point));
        let point_step = two.per_task[0].time.unwrap();
        assert_eq!((two.wall, six.wall), (Some(point_step * 3), Some(point_step)));
        assert_eq!(on(2, Bound::Low).wall, on(6, Bound::Low).wall);
        assert_eq!(on(2, Bound::High).wall, Some(step));
        // A chain of six: the critical path, whatever the limit.
        let chain = fixture(&plan_text(6, true));
        let e = high(&chain, 6);
        let step = e.per_task[0].time.unwrap();
        assert_eq!(e.critical_path, Some(step * 6));
        assert_eq!(e.wall, Some(step * 6));
        assert_eq!(e.work, Some(step * 6));
        // A task without files runs alone.
        let mut text = plan_text(4, false);
        text.push_str("## Task loose: No files\n\nAnything.\n\n### Verify\n\n- `true`\n");
        let loose = fixture(&text);
        let e = high(&loose, 4);
        assert_eq!(e.wall, Some(e.per_task[0].time.unwrap() + e.per_task[4].time.unwrap()));
        // Done tasks take no time.
        let mut i = inputs(&chain, &claude, None, &[], 2);
        i.pending = vec![false; 6];
        i.pending[5] = true;
        let e = pass(&i, &none, Bound::High);
        assert_eq!((e.tasks, e.wall), (1, Some(step)));
    }

    fn record(step: &str, attempt: u32, agent: Option<(&str, u64, f64)>, elapsed_ms: u64) -> StepRecord {
        StepRecord {
            attempt,
            step: step.into(),
            ok: true,
            summary: String::new(),
            elapsed_ms,
            ended_ms: None,
            agent: agent.map(|(a, tokens, cost)| AgentRecord {
                agent: a.into(),
                model: Some("claude-test".into()),
                usage: Usage { input: tokens, output: tokens / 10, cache_read: 0, cache_write: 0 },
                cost_usd: Some(cost),
                ..AgentRecord::default()
            }),
            detail: (step == "review")
                .then(|| json!({"reviews": [{"review": "task-review"}, {"review": "code-review"}]})),
        }
    }

    #[test]
    fn the_history_replaces_the_defaults() {
        let f = fixture(&plan_text(2, false));
        let claude = agent(AgentKind::Claude, None);
        let before = run(&f, &claude, Some(&claude), &ALL, 2);
        assert_eq!(before.source, "defaults");

        // One run: two tasks, one needed two attempts; each implement run used 1,000 + 100
        // tokens and cost $0.10, each review run 500 + 50 and $0.02; steps took 10 s and 1 s.
        let t1 = vec![
            record("implement", 1, Some(("claude", 1_000, 0.10)), 10_000),
            record("scope", 1, None, 100),
            record("verify", 1, None, 1_000),
            record("review", 1, Some(("claude", 1_000, 0.04)), 2_000),
            record("commit", 1, None, 100),
            record("merge", 1, None, 100),
        ];
        let mut t2 = vec![
            record("implement", 1, Some(("claude", 1_000, 0.10)), 10_000),
            record("scope", 1, None, 100),
            record("verify", 1, None, 1_000),
        ];
        t2.extend(t1.clone().into_iter().map(|mut r| {
            r.attempt = 2;
            r
        }));
        let w = work(&f.loaded.plan.tasks[0]);
        let line = history_line(
            Some(7),
            json!({"agent": "claude", "model": null}),
            [(w, t1.as_slice()), (w, t2.as_slice())].into_iter(),
        )
        .unwrap();
        let path = f.dir.path().join("history.jsonl");
        write_history(&path, &line).unwrap();
        // The same run again replaces its line; another run adds one.
        write_history(&path, &line).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 1);

        let after = run(&f, &claude, Some(&claude), &ALL, 2);
        assert_eq!(after.source, "history");
        assert!(after.text().contains("from    this repository's history of 1 run,"), "{}", after.text());
        // 1.5 attempts per task, 1,100 tokens each; 1 review step per task with 2 reviews of
        // 550 tokens.
        assert!((after.attempts - 1.5).abs() < 1e-9);
        let per_task = 1.5 * 1_100.0 + 2.0 * 550.0;
        assert!(after.tokens().abs_diff((2.0 * per_task) as u64) <= 2, "{}", after.tokens());
        // One run: ±25% around it.
        let (lo, hi) = after.tokens_range;
        assert!(lo.abs_diff((1.5 * per_task) as u64) <= 2 && hi.abs_diff((2.5 * per_task) as u64) <= 2, "{lo} {hi}");
        // Dollars as the CLI reported them, for the model it reported.
        let cost = after.cost_usd.unwrap();
        assert!((cost - 2.0 * (1.5 * 0.10 + 2.0 * 0.02)).abs() < 1e-9, "{cost}");
        assert!(after.text().contains("claude-test, its default"), "{}", after.text());
        // Time: 1.5 × (10 s + 0.1 s + 1 s) + 2 s + 0.1 s + 0.1 s per task, two tasks on two slots.
        let task_ms = 1.5 * 11_100.0 + 2_200.0;
        assert!((after.wall.unwrap().as_secs_f64() * 1000.0 - task_ms).abs() < 1.0, "{:?}", after.wall);
        // ±50% for time.
        let (lo, hi) = after.wall_range.unwrap();
        assert!((lo.as_secs_f64() * 1000.0 - task_ms / 2.0).abs() < 1.0, "{lo:?}");
        assert!((hi.as_secs_f64() * 1000.0 - task_ms * 1.5).abs() < 1.0, "{hi:?}");

        // A history whose implementer was given its model says nothing of the CLI's default:
        // the pinned CLI's default is priced, on the history's tokens.
        let other = f.dir.path().join("named.jsonl");
        let named =
            history_line(Some(8), json!({"agent": "claude", "model": "claude-test"}), [(w, t1.as_slice())].into_iter());
        write_history(&other, &named.unwrap()).unwrap();
        let h = read_history(&other);
        assert_eq!(h.default_model("claude"), None);
        let n = f.loaded.plan.tasks.len();
        let e = estimate(&Inputs {
            plan: &f.loaded.plan,
            checked: &f.checked,
            pending: vec![true; n],
            agents: vec![&claude; n],
            reviewer: Some(&claude),
            stages: &ALL,
            reviews: 2,
            take: false,
            limit: 2,
            cores: 2,
            prices: &f.prices,
            history: other,
        });
        assert_eq!(e.source, "history");
        assert!(e.tokens().abs_diff(2 * (1_100 + 2 * 550)) <= 2, "{}", e.tokens());
        assert!(e.text().contains("claude-opus-4-8, its default"), "{}", e.text());
        let u = e.usage;
        let opus = f.prices.cost(Some("claude-opus-4-8"), &u).unwrap();
        assert!((e.cost_usd.unwrap() - opus).abs() < 1e-4, "{:?} vs {opus}", e.cost_usd);

        // A role the history lacks keeps its defaults: the take.
        let mixed = estimate(&Inputs {
            plan: &f.loaded.plan,
            checked: &f.checked,
            pending: vec![true; n],
            agents: vec![&claude; n],
            reviewer: Some(&claude),
            stages: &ALL,
            reviews: 2,
            take: true,
            limit: 2,
            cores: 2,
            prices: &f.prices,
            history: path.clone(),
        });
        assert_eq!(mixed.source, "mixed");
        assert_eq!(mixed.per_role.iter().find(|r| r.role == "take").unwrap().source, "defaults");
        assert!(
            mixed.text().contains("history of 1 run for implement (claude), review (claude), defaults for the rest"),
            "{}",
            mixed.text()
        );

        // With another model named, the history's tokens stay and its dollars do not: the
        // price table prices them.
        let sonnet = agent(AgentKind::Claude, Some("claude-sonnet-4-5"));
        let priced = run(&f, &sonnet, Some(&sonnet), &ALL, 2);
        assert_eq!(priced.tokens(), after.tokens());
        let u = priced.usage;
        let expected = f.prices.cost(Some("claude-sonnet-4-5"), &u).unwrap();
        assert!((priced.cost_usd.unwrap() - expected).abs() < 1e-4);
    }

    #[test]
    fn the_history_is_bounded_and_odd_lines_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.jsonl");
        std::fs::write(&path, "not json\n{\"roles\": [{\"role\": 1}]}\n").unwrap();
        assert_eq!(read_history(&path).roles.len(), 0);
        let steps = vec![record("implement", 1, Some(("claude", 10, 0.0)), 5)];
        for run in 0..(HISTORY_RUNS as u64 + 10) {
            let line = history_line(Some(run), Value::Null, std::iter::once((1.0, steps.as_slice()))).unwrap();
            write_history(&path, &line).unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), HISTORY_RUNS);
        assert!(text.lines().last().unwrap().contains(&format!("\"run\":{}", HISTORY_RUNS + 9)));
        let h = read_history(&path);
        assert_eq!(h.runs, HISTORY_RUNS);
        assert_eq!(h.get(Role::Implement, "claude").unwrap().steps, HISTORY_RUNS as f64);
        // No finished task: no line.
        assert!(history_line(Some(1), Value::Null, std::iter::empty()).is_none());
        // A folder that cannot be written: no error reaches the caller.
        assert!(write_history(&dir.path().join("missing/history.jsonl"), &json!({})).is_err());
    }

    #[test]
    fn the_history_is_scaled_to_the_task_and_widened_by_how_runs_differ() {
        let f = fixture(&plan_text(1, false));
        let claude = agent(AgentKind::Claude, Some("claude-test"));
        let w = work(&f.loaded.plan.tasks[0]);
        let path = f.dir.path().join("history.jsonl");
        // Two runs on tasks a quarter of this one's size: 1,100 and 3,300 tokens per implement
        // run, 10 s and 30 s a step.
        for (run, tokens, ms) in [(1, 1_000, 10_000), (2, 3_000, 30_000)] {
            let steps =
                vec![record("implement", 1, Some(("claude", tokens, 0.0)), ms), record("verify", 1, None, 1_000)];
            let line = history_line(Some(run), Value::Null, std::iter::once((w / 4.0, steps.as_slice()))).unwrap();
            write_history(&path, &line).unwrap();
        }
        let fig = read_history(&path).get(Role::Implement, "claude").cloned().unwrap();
        assert!((fig.scale(w) - 2.0).abs() < 1e-9, "{}", fig.scale(w));
        assert!((fig.scale(w / 4.0) - 1.0).abs() < 1e-9);
        assert!((fig.scale(w * 100.0) - 2.0).abs() < 1e-9, "at most twice");
        assert!((fig.scale(w / 400.0) - 0.5).abs() < 1e-9, "at least half");
        // The runs lay ±50% from their mean: the range is as wide (time: at least ±50% anyway).
        assert!(
            (fig.token_factor(Bound::Low) - 0.5).abs() < 1e-9 && (fig.token_factor(Bound::High) - 1.5).abs() < 1e-9
        );
        let e = run(&f, &claude, None, &[], 1);
        assert_eq!(e.source, "history");
        // 2,200 tokens per run on average, ×2 for a task four times the size, ±50%.
        assert!(e.tokens().abs_diff(4_400) <= 2, "{}", e.tokens());
        assert!(e.tokens_range.0.abs_diff(2_200) <= 2 && e.tokens_range.1.abs_diff(6_600) <= 2, "{:?}", e.tokens_range);
        let (lo, hi) = e.wall_range.unwrap();
        // 20 s a step on average, ×2, ±50%; then verify, 1 s ±50% (not scaled: the project's own).
        assert_eq!((lo.as_millis(), hi.as_millis()), (20_500, 61_500));
        assert!(e.text().contains("history of 2 runs, scaled to each task's size"), "{}", e.text());
        // A history from before sizes were kept: not scaled.
        let old = f.dir.path().join("old.jsonl");
        let text = std::fs::read_to_string(&path).unwrap().replace("\"work\":", "\"w\":");
        std::fs::write(&old, text).unwrap();
        assert!((read_history(&old).get(Role::Implement, "claude").unwrap().scale(w) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn the_default_session_shape_resends_the_context() {
        let s = Shape { turns: 3.0, growth: 10.0, output: 5.0 };
        // Requests of 100, 110 and 120 tokens: 330 in all, 120 of them new.
        let t = session_tokens(90.0, 10.0, s, false, 0.0);
        assert_eq!(t, Tokens { input: 120.0, output: 15.0, cache_read: 210.0, cache_write: 0.0 });
        let t = session_tokens(90.0, 10.0, s, true, 0.0);
        assert_eq!(t, Tokens { input: 0.0, output: 15.0, cache_read: 210.0, cache_write: 120.0 });
        // Half the base already cached by an earlier session: 45 fewer written, 45 more read.
        let t = session_tokens(90.0, 10.0, s, true, 0.5);
        assert_eq!(t, Tokens { input: 0.0, output: 15.0, cache_read: 255.0, cache_write: 75.0 });
        assert_eq!(short(1_234_567.0), "1.2M");
        assert_eq!(short(41_200.0), "41k");
        assert_eq!(short(950.0), "950");
    }
}
