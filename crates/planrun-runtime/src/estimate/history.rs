//! The history of this repository's runs (`history.jsonl` in the state directory): reading its
//! last runs into figures per role and agent, and recording a finished run.

use super::model::{Bound, Role, Tokens, ms, secs, work};
use crate::session::{Session, StepRecord};
use planrun_agents::{AgentKind, Usage};
use planrun_engine::TaskState;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::Path;
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// The history.
// ---------------------------------------------------------------------------------------------

/// The history keeps this many runs (one line each; a resumed run's line is replaced).
pub(super) const HISTORY_RUNS: usize = 50;
/// A history file larger than this is read from its last part only.
pub(super) const HISTORY_BYTES: u64 = 4 << 20;

/// What the history says about one role run by one agent (`planrun` for the stages planrun runs
/// itself), summed over the runs it holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Figures {
    /// Finished tasks that had at least one such step.
    pub(super) tasks: f64,
    /// Steps (a review step holds every review of one attempt).
    pub(super) steps: f64,
    /// Agent runs (the reviews of a review step counted one by one).
    pub(super) runs: f64,
    pub(super) usage: Tokens,
    /// Agent runs whose usage was reported (a `command` agent reports none).
    pub(super) usage_runs: f64,
    pub(super) cost: f64,
    /// Agent runs with a known cost.
    pub(super) priced_runs: f64,
    pub(super) elapsed_ms: f64,
    /// The model the agent reported last.
    pub(super) model: Option<String>,
    /// Whether every run reported the same model.
    pub(super) one_model: bool,
    /// The work (`work`) of the finished tasks of the runs that recorded it, and how many tasks
    /// those were.
    pub(super) work: f64,
    pub(super) sized_tasks: f64,
    /// Per run: tokens per agent run, and milliseconds per step (how much runs differ).
    pub(super) line_tokens: Vec<f64>,
    pub(super) line_times: Vec<f64>,
}

impl Figures {
    pub(super) fn steps_per_task(&self) -> Option<f64> {
        (self.tasks > 0.0 && self.steps > 0.0).then(|| self.steps / self.tasks)
    }

    pub(super) fn step_time(&self) -> Option<Duration> {
        (self.steps > 0.0).then(|| secs(self.elapsed_ms / self.steps / 1000.0))
    }

    pub(super) fn tokens_per_run(&self) -> Option<Tokens> {
        (self.usage_runs > 0.0).then(|| self.usage.scaled(1.0 / self.usage_runs))
    }

    /// Dollars per run, when every run was priced with this model.
    pub(super) fn cost_per_run(&self, model: Option<&str>) -> Option<f64> {
        let same = self.one_model && model.is_some() && self.model.as_deref() == model;
        (same && self.runs > 0.0 && self.priced_runs >= self.runs).then(|| self.cost / self.runs)
    }

    /// How a task of `work` units compares with the tasks these figures come from: the square
    /// root of the ratio of their work (a session has a fixed part, the CLI's context, that does
    /// not grow with the task), within ½ and 2. One for runs that did not record it.
    pub(super) fn scale(&self, work: f64) -> f64 {
        if self.sized_tasks <= 0.0 || self.work <= 0.0 || !work.is_finite() {
            return 1.0;
        }
        (work / (self.work / self.sized_tasks)).sqrt().clamp(0.5, 2.0)
    }

    /// How far either end of the range lies from the mean, as a fraction of it: at least
    /// `least` (one run says little about the next), else as far as the runs' own means lay
    /// from the mean of all of them; at most 0.9.
    pub(super) fn spread(lines: &[f64], least: f64) -> f64 {
        let n = lines.len() as f64;
        let mean = lines.iter().sum::<f64>() / n;
        let far =
            if n > 0.0 && mean > 0.0 { lines.iter().map(|x| (x / mean - 1.0).abs()).fold(0.0, f64::max) } else { 0.0 };
        far.max(least).min(0.9)
    }

    /// The factor of one end of the range of tokens and dollars.
    pub(super) fn token_factor(&self, bound: Bound) -> f64 {
        let d = Self::spread(&self.line_tokens, 0.25);
        bound.pick([1.0 - d, 1.0, 1.0 + d])
    }

    /// The factor of one end of the range of time (a machine's load alone changes it by half).
    pub(super) fn time_factor(&self, bound: Bound) -> f64 {
        let d = Self::spread(&self.line_times, 0.5);
        bound.pick([1.0 - d, 1.0, 1.0 + d])
    }
}

/// The history, by (role, agent).
#[derive(Debug, Clone, Default)]
pub(super) struct History {
    pub(super) roles: BTreeMap<(String, String), Figures>,
    /// Runs read.
    pub(super) runs: usize,
    /// The model each CLI reported in the last run where its implementer was given none: its
    /// default.
    pub(super) defaults: BTreeMap<String, String>,
}

impl History {
    pub(super) fn get(&self, role: Role, agent: &str) -> Option<&Figures> {
        self.roles.get(&(role.name().to_owned(), agent.to_owned())).filter(|f| f.steps > 0.0)
    }

    /// The model a CLI chose itself in earlier runs.
    pub(super) fn default_model(&self, agent: &str) -> Option<&str> {
        self.defaults.get(agent).map(String::as_str)
    }
}

/// The last part of a file, at most `HISTORY_BYTES` of it, from a line's start.
pub(super) fn read_tail(path: &Path) -> Option<String> {
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

pub(super) fn read_history(path: &Path) -> History {
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
pub(super) struct Acc {
    pub(super) tasks: u64,
    pub(super) steps: u64,
    pub(super) runs: u64,
    pub(super) usage: Usage,
    pub(super) usage_runs: u64,
    pub(super) cost: f64,
    pub(super) priced_runs: u64,
    pub(super) elapsed_ms: u64,
    pub(super) model: Option<String>,
    pub(super) work: f64,
}

/// The history line of one run: per role and agent, the finished tasks' steps summed, with each
/// task's `work`. `run` names the run (its first invocation's start), so that a resumed run
/// replaces its line; `asked` is the implementer's agent and the model it was given (`null`: the
/// CLI's default).
pub(super) fn history_line<'a>(
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
                r.detail.as_ref().and_then(|d| d.reviews.as_ref()).map_or(1, |a| a.len().max(1) as u64)
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
pub(super) fn write_history(path: &Path, line: &Value) -> std::io::Result<()> {
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
