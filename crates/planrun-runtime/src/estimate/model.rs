//! The estimate's model before any history: each CLI's base context, the size of a task, the
//! roles a task's steps play, and the tokens a session of turns sends.

use planrun_agents::{AgentKind, Usage};
use planrun_engine::Stage;
use planrun_plan::model::Task;
use std::time::Duration;

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
pub(super) fn base_context(kind: AgentKind, model: Option<&str>) -> f64 {
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
pub(super) fn default_model(kind: AgentKind) -> Option<&'static str> {
    match kind {
        AgentKind::Claude => Some("claude-opus-4-8"),
        AgentKind::Codex => Some("gpt-6.1-sol"),
        _ => None,
    }
}

/// The role text around the brief (persona, the role's opening and closing paragraphs: about
/// 960 bytes, docs/benchmarks.md "Context package"), in tokens.
pub(super) const TEMPLATE_TOKENS: f64 = 250.0;
/// The notes of the tasks a task builds on (about 1,000 bytes where it has dependencies).
pub(super) const NOTES_TOKENS: f64 = 250.0;
/// The diff a reviewer or the tester reads in its prompt (cut at 48 KiB by planrun; a typical
/// task's diff is a few hundred lines).
pub(super) const DIFF_TOKENS: f64 = 2_000.0;

/// How an agent's session on one step grows: turns (a model call and its tool), tokens added to
/// the context per turn, tokens the model writes per turn.
#[derive(Debug, Clone, Copy)]
pub(super) struct Shape {
    pub(super) turns: f64,
    pub(super) growth: f64,
    pub(super) output: f64,
}

/// Which figure a pass of the estimate computes: an end of the range, or the point estimate
/// inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Bound {
    Low,
    /// The point: without history, a CLI's session as measured against the scripted model,
    /// with a little room for a longer one; from history, the history's mean.
    Point,
    High,
}

impl Bound {
    /// This bound's figure out of (low, point, high).
    pub(super) fn pick(self, [low, point, high]: [f64; 3]) -> f64 {
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
pub(super) fn work(task: &Task) -> f64 {
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
pub(super) const SHARED_BASE: f64 = 0.9;

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
pub(super) const SESSION_START: [f64; 3] = [1.0, 2.5, 5.0];
pub(super) const TURN_SECONDS: [f64; 3] = [0.3, 0.6, 20.0];

// ---------------------------------------------------------------------------------------------
// Roles.
// ---------------------------------------------------------------------------------------------

/// A step of a task's pipeline, as the estimate and the history see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Role {
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

    pub(super) fn name(self) -> &'static str {
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

    pub(super) fn of_step(step: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.name() == step)
    }

    pub(super) fn of_stage(stage: Stage) -> Role {
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
    pub(super) fn agent(self) -> bool {
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
    pub(super) fn shape(self, bound: Bound, work: f64) -> Shape {
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
    pub(super) fn default_rate(self, bound: Bound) -> f64 {
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
    pub(super) fn default_step(
        self,
        bound: Bound,
        agent: Option<AgentKind>,
        turns: f64,
        sessions: usize,
    ) -> Option<Duration> {
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
pub(super) const ATTEMPTS_POINT: f64 = 1.1;
pub(super) const ATTEMPTS_HIGH: f64 = 1.6;

// ---------------------------------------------------------------------------------------------
// Token arithmetic.
// ---------------------------------------------------------------------------------------------

/// Tokens as fractions (means and expectations), rounded when shown.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Tokens {
    pub(super) input: f64,
    pub(super) output: f64,
    pub(super) cache_read: f64,
    pub(super) cache_write: f64,
}

impl Tokens {
    pub(super) fn of(u: &Usage) -> Self {
        Self {
            input: u.input as f64,
            output: u.output as f64,
            cache_read: u.cache_read as f64,
            cache_write: u.cache_write as f64,
        }
    }

    pub(super) fn scaled(self, k: f64) -> Self {
        Self {
            input: self.input * k,
            output: self.output * k,
            cache_read: self.cache_read * k,
            cache_write: self.cache_write * k,
        }
    }

    pub(super) fn plus(self, o: Self) -> Self {
        Self {
            input: self.input + o.input,
            output: self.output + o.output,
            cache_read: self.cache_read + o.cache_read,
            cache_write: self.cache_write + o.cache_write,
        }
    }

    pub(super) fn usage(self) -> Usage {
        let r = |x: f64| if x.is_finite() && x > 0.0 { x.round() as u64 } else { 0 };
        Usage {
            input: r(self.input),
            output: r(self.output),
            cache_read: r(self.cache_read),
            cache_write: r(self.cache_write),
        }
    }

    pub(super) fn total(self) -> f64 {
        self.input + self.output + self.cache_read + self.cache_write
    }
}

/// One step's tokens from the default shape: a session whose first request holds `base` +
/// `prompt` tokens, `shared` of the base already in the provider's cache. `writes` for providers
/// that charge cache writes (Anthropic's).
pub(super) fn session_tokens(base: f64, prompt: f64, shape: Shape, writes: bool, shared: f64) -> Tokens {
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
pub(super) fn writes_cache(kind: AgentKind, model: Option<&str>) -> bool {
    kind == AgentKind::Claude || model.is_some_and(|m| m.contains("claude") || m.starts_with("anthropic/"))
}

/// `1.2M`, `41k`, `950`.
pub(super) fn short(n: f64) -> String {
    if n >= 999_500.0 {
        format!("{:.1}M", n / 1_000_000.0)
    } else if n >= 999.5 {
        format!("{:.0}k", n / 1_000.0)
    } else {
        format!("{:.0}", n.max(0.0))
    }
}

pub(super) fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

pub(super) fn secs(s: f64) -> Duration {
    if s.is_finite() && s > 0.0 { Duration::from_secs_f64(s.min(1e12)) } else { Duration::ZERO }
}
