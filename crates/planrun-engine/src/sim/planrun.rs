//! planrun's own schedule, simulated: the real [`Engine`] driven over a sampled world on a
//! virtual clock, and with [`Limits`] the real run [`Policy`] beside it: what each running
//! agent has spent is reported to it as time passes, its budgets stop new work (soft) or the
//! whole run (hard), and an agent its provider rate-limited waits the policy's backoff before
//! its next step starts.

use super::{Report, SimError, Ticks, World, bounds, utilization};
use crate::engine::{Decision, Engine, Input, Setup};
use crate::policy::{Action, Policy, Rules, Spend};
use crate::state::{Stage, TaskState};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

/// The one agent every simulated step runs.
const AGENT: &str = "agent";

/// What the run policy sees of a simulated run.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// The rules a run goes by (budgets, the rate-limit backoff), as `planrun run` builds them.
    pub rules: Rules,
    /// What an agent spends while it implements: `spend` every `spend_every` ticks.
    pub spend: Spend,
    pub spend_every: Ticks,
    /// Milliseconds in a tick (1000 when ticks are seconds).
    pub tick_ms: u64,
    /// How often, in ticks, running agents report what they spent and the policy looks.
    pub look_every: Ticks,
}

/// Drives the engine over `world` on a virtual clock; the final check passes at once.
pub fn run_planrun(setup: Setup, world: &World) -> Result<Report, SimError> {
    run_planrun_with(setup, world, None)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Implemented {
        task: usize,
        attempt: u32,
        fails: bool,
    },
    Checked {
        task: usize,
        attempt: u32,
        stage: Stage,
        fails: bool,
    },
    /// The provider turned the attempt away before it did anything.
    RateLimited {
        task: usize,
        attempt: u32,
    },
    FinalChecked,
    /// The policy looks at the spend.
    Look,
}

impl Event {
    fn input(self) -> Option<Input> {
        let result = |fails: bool| if fails { Err("the simulated attempt failed".to_owned()) } else { Ok(()) };
        Some(match self {
            Event::Implemented { task, attempt, fails } => Input::Implemented { task, attempt, result: result(fails) },
            Event::Checked { task, attempt, stage, fails } => {
                Input::Checked { task, attempt, stage, result: result(fails) }
            }
            Event::RateLimited { task, attempt } => {
                Input::Interrupted { task, attempt, reason: "the provider's rate limit".into() }
            }
            Event::FinalChecked => Input::FinalChecked { result: Ok(()) },
            Event::Look => return None,
        })
    }

    /// The running step it ends, if it ends one.
    fn step(self) -> Option<(usize, u32)> {
        match self {
            Event::Implemented { task, attempt, .. }
            | Event::Checked { task, attempt, .. }
            | Event::RateLimited { task, attempt } => Some((task, attempt)),
            Event::FinalChecked | Event::Look => None,
        }
    }
}

/// The policy's side of a simulated run.
struct Watch<'a> {
    limits: &'a Limits,
    policy: Policy,
    /// Implement steps running: their start, by (task, attempt).
    running: BTreeMap<(usize, u32), Ticks>,
    /// Attempts that ended interrupted so far, by task: the engine numbers the next attempt on,
    /// the world's attempt stays the same.
    interrupted: Vec<u32>,
    /// World attempts whose rate limit was met already.
    hit: BTreeSet<(usize, usize)>,
}

impl Watch<'_> {
    fn ms(&self, t: Ticks) -> u64 {
        t.saturating_mul(self.limits.tick_ms)
    }

    fn spend(&self, ticks: Ticks) -> Spend {
        let (p, every) = (self.limits.spend, self.limits.spend_every.max(1));
        let tokens = u128::from(p.tokens) * u128::from(ticks) / u128::from(every);
        Spend { tokens: u64::try_from(tokens).unwrap_or(u64::MAX), usd: p.usd * ticks as f64 / every as f64 }
    }

    fn key(task: usize, attempt: u32) -> String {
        format!("{task}/{attempt}")
    }
}

/// [`run_planrun`], with the run policy's rules when `limits` are given.
pub fn run_planrun_with(setup: Setup, world: &World, limits: Option<&Limits>) -> Result<Report, SimError> {
    let (lower_bound, critical_path_time, _) = bounds(&setup, world);
    let stages: Vec<Vec<Stage>> = setup.tasks.iter().map(|t| t.stages.clone()).collect();
    let limit = setup.limit.max(1);
    let n = setup.tasks.len();
    let mut watch = limits.map(|limits| Watch {
        limits,
        policy: Policy::new(limits.rules.clone(), Spend::default(), vec![Spend::default(); n], 0),
        running: BTreeMap::new(),
        interrupted: vec![0; n],
        hit: BTreeSet::new(),
    });
    let mut engine = Engine::new(setup);
    // (time, sequence, event): the sequence keeps events of one instant in the order they were
    // scheduled, so runs are deterministic.
    let mut events: BinaryHeap<Reverse<(Ticks, u64, Event)>> = BinaryHeap::new();
    let mut seq: u64 = 0;
    let mut now: Ticks = 0;
    let mut busy: Ticks = 0;
    let mut attempts: u32 = 0;
    let (mut rate_limits, mut waited, mut soft) = (0u32, 0 as Ticks, false);
    let mut stopped: Option<String> = None;
    let mut decisions = engine.start().decisions;
    let mut look_at: Option<Ticks> = None;
    loop {
        for decision in decisions {
            let (at, delay, event) = match decision {
                Decision::Implement { task, attempt, .. } => {
                    let shift = watch.as_ref().map_or(0, |w| w.interrupted.get(task).copied().unwrap_or(0));
                    let nth = attempt.saturating_sub(shift);
                    let a = world.attempt(task, nth).ok_or(SimError::MissingAttempt { task, attempt: nth })?;
                    let mut start = now;
                    if let Some(w) = watch.as_mut() {
                        // The agent waits out a rate limit before it starts.
                        let wait = w.policy.not_before(AGENT, w.ms(now)).unwrap_or(0);
                        let wait = wait.div_ceil(w.limits.tick_ms.max(1));
                        waited = waited.saturating_add(wait);
                        start = now.saturating_add(wait);
                        if a.limited && w.hit.insert((task, nth as usize)) {
                            rate_limits = rate_limits.saturating_add(1);
                            let at = w.ms(start);
                            w.policy.rate_limited(AGENT, None, at);
                            if let Some(i) = w.interrupted.get_mut(task) {
                                *i = i.saturating_add(1);
                            }
                            events.push(Reverse((start, seq, Event::RateLimited { task, attempt })));
                            seq += 1;
                            continue;
                        }
                        let at = w.ms(start);
                        w.policy.started(&Watch::key(task, attempt), task, attempt, "implement", AGENT, at);
                        w.running.insert((task, attempt), start);
                    }
                    attempts = attempts.saturating_add(1);
                    busy = busy.saturating_add(a.implement);
                    let checked = stages.get(task).is_some_and(|s| !s.is_empty());
                    (start, a.implement, Event::Implemented { task, attempt, fails: a.fails && !checked })
                }
                Decision::Check { task, attempt, stage } => {
                    // The checks take the attempt's check time at their first stage; the last
                    // stage says whether the attempt fails.
                    let shift = watch.as_ref().map_or(0, |w| w.interrupted.get(task).copied().unwrap_or(0));
                    let nth = attempt.saturating_sub(shift);
                    let a = world.attempt(task, nth).ok_or(SimError::MissingAttempt { task, attempt: nth })?;
                    let own = stages.get(task).map(Vec::as_slice).unwrap_or_default();
                    let time = if own.first() == Some(&stage) { a.verify } else { 0 };
                    busy = busy.saturating_add(time);
                    (now, time, Event::Checked { task, attempt, stage, fails: a.fails && own.last() == Some(&stage) })
                }
                Decision::FinalCheck => (now, 0, Event::FinalChecked),
                // The simulation runs without `--pipeline`: no planning step is ever decided.
                Decision::Plan { .. } => continue,
            };
            events.push(Reverse((at.saturating_add(delay), seq, event)));
            seq += 1;
        }
        // While agents run, the policy looks at what they spent every `look_every` ticks.
        if let Some(w) = &watch
            && !w.running.is_empty()
            && look_at.is_none()
        {
            let at = now.saturating_add(w.limits.look_every.max(1));
            look_at = Some(at);
            events.push(Reverse((at, seq, Event::Look)));
            seq += 1;
        }
        let Some(Reverse((time, _, event))) = events.pop() else { break };
        if event == Event::Look {
            look_at = None;
            // Nothing runs any more: no need to look, and no time passes for it.
            if watch.as_ref().is_none_or(|w| w.running.is_empty()) {
                decisions = Vec::new();
                continue;
            }
        }
        now = time;
        let mut actions = Vec::new();
        if let Some(w) = watch.as_mut() {
            if let (Event::Implemented { task, attempt, .. }, Some(start)) =
                (event, event.step().and_then(|s| w.running.remove(&s)))
            {
                let used = w.spend(now.saturating_sub(start));
                w.policy.step_ended(Some(task), attempt, "implement", Some((AGENT, used)), w.ms(now));
            }
            for (&(task, attempt), &start) in &w.running {
                let used = w.spend(now.saturating_sub(start));
                w.policy.usage(&Watch::key(task, attempt), Some(used), true, w.ms(now));
            }
            actions = w.policy.tick(w.ms(now));
        }
        decisions = match event.input() {
            Some(input) => engine.handle(input)?.decisions,
            None => Vec::new(),
        };
        for action in actions {
            match action {
                Action::Soft { .. } => {
                    soft = true;
                    decisions.extend(engine.handle(Input::Drain)?.decisions);
                }
                Action::Stop { reason, .. } => {
                    // Every running step is stopped: it ends interrupted, now.
                    stopped = Some(reason.clone());
                    engine.handle(Input::Drain)?;
                    // Steps under way, and those the engine decided at this very instant (not
                    // yet scheduled): each is stopped. A final check, decided only once every
                    // task is done, is not an agent's: it finishes.
                    let mut stop: Vec<(usize, u32)> = Vec::new();
                    let mut final_check = false;
                    for Reverse((end, _, e)) in std::mem::take(&mut events).into_sorted_vec().into_iter().rev() {
                        if matches!(e, Event::Implemented { .. } | Event::Checked { .. }) {
                            busy = busy.saturating_sub(end.saturating_sub(now));
                        }
                        final_check |= e == Event::FinalChecked;
                        stop.extend(e.step());
                    }
                    for d in std::mem::take(&mut decisions) {
                        match d {
                            Decision::Implement { task, attempt, .. } | Decision::Check { task, attempt, .. } => {
                                stop.push((task, attempt));
                            }
                            Decision::FinalCheck => final_check = true,
                            Decision::Plan { .. } => {}
                        }
                    }
                    for (task, attempt) in stop {
                        engine.handle(Input::Interrupted { task, attempt, reason: reason.clone() })?;
                    }
                    if final_check {
                        engine.handle(Input::FinalChecked { result: Ok(()) })?;
                    }
                }
                Action::TaskOverBudget { .. } | Action::NoProgress { .. } => {}
            }
        }
        if stopped.is_some() {
            break;
        }
    }
    let outcome = engine.outcome().ok_or(SimError::Stalled)?;
    let spent = watch.as_ref().map_or_else(Spend::default, |w| w.policy.run_spend());
    Ok(Report {
        makespan: now,
        lower_bound,
        critical_path_time,
        total_work: busy,
        utilization: utilization(busy, now, limit),
        attempts,
        done: engine.states().iter().filter(|s| matches!(s, TaskState::Done)).count(),
        outcome,
        spent,
        stopped,
        soft,
        rate_limits,
        waited,
    })
}
