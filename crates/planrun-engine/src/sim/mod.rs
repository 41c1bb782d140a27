//! `planrun simulate` without the I/O: drives the real [`Engine`] on a virtual clock over a
//! pre-sampled world (each attempt's durations and whether it fails), and runs the baseline
//! policies of prompt-based orchestrators (`serial3`, `waves`) over the same world. Also the
//! seeded generator and duration models that sample worlds, so every policy sees the same one.
//! Pure: no processes, no sleeping, no files; time is a number of ticks the caller gives a unit.

mod planrun;

pub use planrun::{Limits, run_planrun, run_planrun_with};

use crate::engine::{EngineError, RunOutcome, Setup, TaskSpec};
use crate::policy::Spend;
use crate::schedule::Conflicts;
use crate::state::Stage;
use std::fmt;
use std::str::FromStr;
use thiserror::Error;

/// Virtual time. `planrun simulate` uses seconds.
pub type Ticks = u64;

/// A small seeded generator (SplitMix64): deterministic on every platform, no dependency.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..n (0 when n is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next_u64() % n as u64) as usize }
    }
}

/// How long one attempt (implement step plus verification) takes, in the caller's unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DurationModel {
    /// Always `N`.
    Fixed(f64),
    /// Uniform between `lo` and `hi`.
    Uniform { lo: f64, hi: f64 },
    /// Log-normal: half the attempts take less than `median`; `sigma` is the spread of the log.
    LogNormal { median: f64, sigma: f64 },
}

/// The largest duration or sigma a model accepts, so that sums of ticks stay far from overflow.
const MAX_DURATION: f64 = 1.0e6;
const MAX_SIGMA: f64 = 3.0;

impl DurationModel {
    pub fn sample(&self, rng: &mut SplitMix64) -> f64 {
        match *self {
            DurationModel::Fixed(n) => n,
            DurationModel::Uniform { lo, hi } => lo + (hi - lo) * rng.next_f64(),
            DurationModel::LogNormal { median, sigma } => {
                // Box–Muller; 1 - u is in (0, 1], so the logarithm is finite.
                let u1 = 1.0 - rng.next_f64();
                let u2 = rng.next_f64();
                let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                (median * (sigma * z).exp()).min(MAX_DURATION)
            }
        }
    }

    /// The expected duration.
    pub fn mean(&self) -> f64 {
        match *self {
            DurationModel::Fixed(n) => n,
            DurationModel::Uniform { lo, hi } => (lo + hi) / 2.0,
            DurationModel::LogNormal { median, sigma } => median * (sigma * sigma / 2.0).exp(),
        }
    }
}

impl fmt::Display for DurationModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DurationModel::Fixed(n) => write!(f, "fixed:{n}"),
            DurationModel::Uniform { lo, hi } => write!(f, "uniform:{lo}-{hi}"),
            DurationModel::LogNormal { median, sigma } => write!(f, "lognormal:{median},{sigma}"),
        }
    }
}

const MODEL_HELP: &str = "use fixed:N, uniform:A-B or lognormal:MEDIAN,SIGMA (e.g. uniform:5-30)";

fn positive(what: &str, s: &str) -> Result<f64, String> {
    let v: f64 = s.trim().parse().map_err(|_| format!("{what} `{s}` is not a number; {MODEL_HELP}"))?;
    if !(v > 0.0 && v <= MAX_DURATION) {
        return Err(format!("{what} must be more than 0 and at most {MAX_DURATION}, not `{s}`"));
    }
    Ok(v)
}

impl FromStr for DurationModel {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (kind, args) = s.split_once(':').ok_or_else(|| format!("`{s}` names no model; {MODEL_HELP}"))?;
        match kind.trim() {
            "fixed" => Ok(DurationModel::Fixed(positive("the duration", args)?)),
            "uniform" => {
                let (lo, hi) = args
                    .split_once('-')
                    .ok_or_else(|| format!("`{s}` needs a range like uniform:5-30; {MODEL_HELP}"))?;
                let (lo, hi) = (positive("the shortest duration", lo)?, positive("the longest duration", hi)?);
                if lo > hi {
                    return Err(format!("`{s}`: the shortest duration is above the longest; write uniform:{hi}-{lo}"));
                }
                Ok(DurationModel::Uniform { lo, hi })
            }
            "lognormal" => {
                let (median, sigma) = args
                    .split_once(',')
                    .ok_or_else(|| format!("`{s}` needs a median and a sigma like lognormal:15,0.6; {MODEL_HELP}"))?;
                let median = positive("the median", median)?;
                let sigma: f64 =
                    sigma.trim().parse().map_err(|_| format!("the sigma `{sigma}` is not a number; {MODEL_HELP}"))?;
                if !(0.0..=MAX_SIGMA).contains(&sigma) {
                    return Err(format!("the sigma must be between 0 and {MAX_SIGMA}, not `{sigma}`"));
                }
                Ok(DurationModel::LogNormal { median, sigma })
            }
            other => Err(format!("unknown duration model `{other}`; {MODEL_HELP}")),
        }
    }
}

/// One attempt of one task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    pub implement: Ticks,
    /// 0 for a task with nothing to verify.
    pub verify: Ticks,
    /// Whether the attempt is rejected (by verification, or at the implement step when the task
    /// has nothing to verify).
    pub fails: bool,
    /// Whether the agent's provider turns the attempt away with a rate limit the first time it
    /// starts (see [`World::with_rate_limits`]).
    pub limited: bool,
}

impl Attempt {
    pub fn time(&self) -> Ticks {
        self.implement.saturating_add(self.verify)
    }
}

/// Everything chance decides in one simulated run: for each task, its attempts in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct World {
    pub attempts: Vec<Vec<Attempt>>,
}

impl World {
    /// Samples `max_rework + 1` attempts per task: each attempt's whole duration from `model`
    /// (times `ticks_per_unit`, at least one tick), of which a task that verifies spends the last
    /// fifth verifying; each attempt fails with probability `fail_rate`.
    pub fn sample(
        tasks: &[TaskSpec],
        model: &DurationModel,
        fail_rate: f64,
        max_rework: u32,
        ticks_per_unit: f64,
        rng: &mut SplitMix64,
    ) -> Self {
        let per_task = max_rework.saturating_add(1) as usize;
        let attempts = tasks
            .iter()
            .map(|t| {
                (0..per_task)
                    .map(|_| {
                        let total = ((model.sample(rng) * ticks_per_unit).round() as Ticks).max(1);
                        let fails = rng.next_f64() < fail_rate;
                        let verify = if t.stages.is_empty() { 0 } else { total / 5 };
                        Attempt { implement: total - verify, verify, fails, limited: false }
                    })
                    .collect()
            })
            .collect();
        Self { attempts }
    }

    /// Marks each attempt, with probability `rate`, as one the provider turns away with a rate
    /// limit the first time it starts. Sampled after the durations, so a world with rate limits
    /// has the same durations and failures as the one without.
    #[must_use]
    pub fn with_rate_limits(mut self, rate: f64, rng: &mut SplitMix64) -> Self {
        for a in self.attempts.iter_mut().flatten() {
            a.limited = rng.next_f64() < rate;
        }
        self
    }

    /// Attempt number `attempt` (from 1) of `task`.
    pub fn attempt(&self, task: usize, attempt: u32) -> Option<&Attempt> {
        self.attempts.get(task)?.get((attempt as usize).checked_sub(1)?)
    }

    /// The time `task` keeps a slot in total (its attempts up to the first that passes, or all
    /// of them), and whether it ends done (else blocked).
    pub fn work(&self, task: usize) -> (Ticks, bool) {
        let mut time: Ticks = 0;
        for a in self.attempts.get(task).map_or(&[][..], Vec::as_slice) {
            time = time.saturating_add(a.time());
            if !a.fails {
                return (time, true);
            }
        }
        (time, false)
    }
}

/// The three scheduling policies `planrun simulate` compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Policy {
    /// The engine itself: longest remaining path first, as soon as a slot and the files allow.
    Planrun,
    /// One task at a time in dependency order (plan order breaks ties), in batches of 3.
    Serial3,
    /// Dependency waves; a wave starts when every task of the one before has finished.
    Waves,
}

impl Policy {
    pub const ALL: [Policy; 3] = [Policy::Planrun, Policy::Waves, Policy::Serial3];

    pub fn name(self) -> &'static str {
        match self {
            Policy::Planrun => "planrun",
            Policy::Serial3 => "serial3",
            Policy::Waves => "waves",
        }
    }
}

/// What one simulated run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// When the last task finished.
    pub makespan: Ticks,
    /// `max(critical_path_time, ceil(total_work / limit))`: no schedule can be shorter.
    pub lower_bound: Ticks,
    /// The longest dependency chain, each task weighted by its total work.
    pub critical_path_time: Ticks,
    /// Slot time of every attempt that ran.
    pub total_work: Ticks,
    /// Busy slot time / (makespan × limit); 1 when nothing ran.
    pub utilization: f64,
    /// Attempts started.
    pub attempts: u32,
    /// Tasks that ended done.
    pub done: usize,
    pub outcome: RunOutcome,
    /// What the agents spent (with [`Limits`]; nothing otherwise).
    pub spent: Spend,
    /// Why the run policy stopped the run (its budget), if it did.
    pub stopped: Option<String>,
    /// Whether the soft budget stopped new work from starting.
    pub soft: bool,
    /// Attempts a provider's rate limit turned away.
    pub rate_limits: u32,
    /// Time steps waited for a rate-limited agent before they could start.
    pub waited: Ticks,
}

impl Report {
    /// Makespan over the lower bound; 1 when both are 0.
    pub fn ratio(&self) -> f64 {
        if self.lower_bound == 0 { 1.0 } else { self.makespan as f64 / self.lower_bound as f64 }
    }
}

/// A simulation that could not finish.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SimError {
    #[error("the engine refused a simulated input: {0}")]
    Engine(#[from] EngineError),
    #[error("task {task} has no sampled attempt {attempt}; sample max_rework + 1 attempts per task")]
    MissingAttempt { task: usize, attempt: u32 },
    #[error("the engine stopped without an outcome: nothing runs, yet the run is not over")]
    Stalled,
}

/// The lower bound of any schedule of `setup` in `world`: (lower bound, critical path time,
/// total work). Tasks behind a blocked one never run, so they add no work.
pub fn bounds(setup: &Setup, world: &World) -> (Ticks, Ticks, Ticks) {
    let n = setup.tasks.len();
    let runs = runnable(&setup.tasks, world);
    let mut finish: Vec<Ticks> = vec![0; n];
    let mut total: Ticks = 0;
    for &i in &topo_order(&setup.tasks) {
        if !runs.get(i).copied().unwrap_or(false) {
            continue;
        }
        let work = world.work(i).0;
        total = total.saturating_add(work);
        let start = deps(&setup.tasks, i).filter_map(|d| finish.get(d).copied()).max().unwrap_or(0);
        if let Some(f) = finish.get_mut(i) {
            *f = start.saturating_add(work);
        }
    }
    let critical = finish.iter().copied().max().unwrap_or(0);
    let limit = setup.limit.max(1) as Ticks;
    (critical.max(total.div_ceil(limit)), critical, total)
}

/// Runs `policy`. `batch_pause` is the time `serial3` adds between two batches.
pub fn run(policy: Policy, setup: &Setup, world: &World, batch_pause: Ticks) -> Result<Report, SimError> {
    match policy {
        Policy::Planrun => run_planrun(setup.clone(), world),
        Policy::Serial3 => Ok(run_serial(setup, world, 3, batch_pause)),
        Policy::Waves => Ok(run_waves(setup, world)),
    }
}

/// Strict serial execution in dependency order (plan order breaks ties), `batch` tasks per
/// batch, `batch_pause` between batches: each task, reworks included, ends before the next.
pub fn run_serial(setup: &Setup, world: &World, batch: usize, batch_pause: Ticks) -> Report {
    let (lower_bound, critical_path_time, _) = bounds(setup, world);
    let runs = runnable(&setup.tasks, world);
    let order: Vec<usize> =
        topo_order(&setup.tasks).into_iter().filter(|&i| runs.get(i).copied().unwrap_or(false)).collect();
    let mut now: Ticks = 0;
    for (k, &task) in order.iter().enumerate() {
        if k > 0 && k % batch.max(1) == 0 {
            now = now.saturating_add(batch_pause);
        }
        now = now.saturating_add(world.work(task).0);
    }
    baseline_report(setup, world, &order, now, lower_bound, critical_path_time)
}

/// Wave-synchronous execution: wave `k` holds the tasks whose longest dependency chain above
/// them has `k` tasks; the tasks of a wave start in plan order as slots and files allow, and the
/// next wave starts when every task of this one has finished.
pub fn run_waves(setup: &Setup, world: &World) -> Report {
    let (lower_bound, critical_path_time, _) = bounds(setup, world);
    let runs = runnable(&setup.tasks, world);
    let n = setup.tasks.len();
    let mut level = vec![0usize; n];
    let mut waves: Vec<Vec<usize>> = Vec::new();
    for &i in &topo_order(&setup.tasks) {
        let l = deps(&setup.tasks, i).filter_map(|d| level.get(d).map(|l| l + 1)).max().unwrap_or(0);
        if let Some(slot) = level.get_mut(i) {
            *slot = l;
        }
        if waves.len() <= l {
            waves.resize_with(l + 1, Vec::new);
        }
        if runs.get(i).copied().unwrap_or(false) {
            if let Some(w) = waves.get_mut(l) {
                w.push(i);
            }
        }
    }
    let mut now: Ticks = 0;
    let mut ran = Vec::new();
    for mut wave in waves {
        wave.sort_unstable();
        now = list_schedule(&wave, world, &setup.conflicts, setup.limit.max(1), now);
        ran.extend(wave);
    }
    baseline_report(setup, world, &ran, now, lower_bound, critical_path_time)
}

/// Runs independent `tasks` from `start`, each in the given order as soon as a slot is free and
/// nothing running clashes with it; returns when the last one finishes.
fn list_schedule(tasks: &[usize], world: &World, conflicts: &Conflicts, limit: usize, start: Ticks) -> Ticks {
    let mut waiting: Vec<usize> = tasks.to_vec();
    let mut running: Vec<(Ticks, usize)> = Vec::new();
    let mut now = start;
    loop {
        let mut k = 0;
        while k < waiting.len() && running.len() < limit {
            let Some(&task) = waiting.get(k) else { break };
            if running.iter().any(|&(_, r)| conflicts.clash(task, r)) {
                k += 1;
                continue;
            }
            waiting.remove(k);
            running.push((now.saturating_add(world.work(task).0), task));
        }
        let Some(next) = running.iter().map(|&(end, _)| end).min() else { return now };
        now = next;
        running.retain(|&(end, _)| end > now);
    }
}

fn baseline_report(
    setup: &Setup,
    world: &World,
    ran: &[usize],
    makespan: Ticks,
    lower_bound: Ticks,
    critical_path_time: Ticks,
) -> Report {
    let mut busy: Ticks = 0;
    let mut attempts: u32 = 0;
    let mut blocked = Vec::new();
    for &task in ran {
        let (work, done) = world.work(task);
        busy = busy.saturating_add(work);
        let list = world.attempts.get(task).map_or(&[][..], Vec::as_slice);
        let tried = list.iter().position(|a| !a.fails).map_or(list.len(), |p| p + 1);
        attempts = attempts.saturating_add(u32::try_from(tried).unwrap_or(u32::MAX));
        if !done {
            blocked.push(task);
        }
    }
    blocked.sort_unstable();
    let done = ran.len() - blocked.len();
    let outcome = if blocked.is_empty() { RunOutcome::Done } else { RunOutcome::Blocked { tasks: blocked } };
    Report {
        makespan,
        lower_bound,
        critical_path_time,
        total_work: busy,
        utilization: utilization(busy, makespan, setup.limit.max(1)),
        attempts,
        done,
        outcome,
        spent: Spend::default(),
        stopped: None,
        soft: false,
        rate_limits: 0,
        waited: 0,
    }
}

fn utilization(busy: Ticks, makespan: Ticks, limit: usize) -> f64 {
    if makespan == 0 { 1.0 } else { busy as f64 / (makespan as f64 * limit as f64) }
}

fn deps(tasks: &[TaskSpec], i: usize) -> impl Iterator<Item = usize> + '_ {
    tasks.get(i).map(|t| t.deps.iter().copied()).into_iter().flatten()
}

/// Tasks in dependency order, plan order breaking ties (Kahn's algorithm); tasks on a cycle
/// and dependencies that name no task are left out.
fn topo_order(tasks: &[TaskSpec]) -> Vec<usize> {
    let n = tasks.len();
    let deps: Vec<Vec<usize>> = tasks.iter().map(|t| t.deps.iter().copied().filter(|&d| d < n).collect()).collect();
    let mut dependents = vec![Vec::new(); n];
    for (i, ds) in deps.iter().enumerate() {
        for &d in ds {
            if let Some(list) = dependents.get_mut(d) {
                list.push(i);
            }
        }
    }
    planrun_plan::analysis::topological_order(&deps, &dependents)
}

/// For each task, whether it runs in `world`: every dependency runs and ends done.
fn runnable(tasks: &[TaskSpec], world: &World) -> Vec<bool> {
    let mut runs = vec![false; tasks.len()];
    let mut done = vec![false; tasks.len()];
    for i in topo_order(tasks) {
        let ok = deps(tasks, i).all(|d| done.get(d).copied().unwrap_or(true));
        if let Some(r) = runs.get_mut(i) {
            *r = ok;
        }
        if let Some(dn) = done.get_mut(i) {
            *dn = ok && world.work(i).1;
        }
    }
    runs
}

/// Longest-remaining-path priorities weighted by each task's expected duration: a task's value
/// is its own expected duration plus the largest value among its dependents, scaled so the
/// largest is 1,000,000. With equal durations this orders tasks like [`crate::priorities`].
pub fn weighted_priorities(tasks: &[TaskSpec], expected: &[f64]) -> Vec<u32> {
    let n = tasks.len();
    let mut dependents = vec![Vec::new(); n];
    for (i, t) in tasks.iter().enumerate() {
        for &d in &t.deps {
            if let Some(list) = dependents.get_mut(d) {
                list.push(i);
            }
        }
    }
    let mut path = vec![0.0f64; n];
    for &i in topo_order(tasks).iter().rev() {
        let own = expected.get(i).copied().filter(|e| e.is_finite() && *e > 0.0).unwrap_or(0.0);
        let after =
            dependents.get(i).map_or(0.0, |ds| ds.iter().filter_map(|&k| path.get(k).copied()).fold(0.0, f64::max));
        if let Some(p) = path.get_mut(i) {
            *p = own + after;
        }
    }
    let top = path.iter().copied().fold(0.0, f64::max);
    if top <= 0.0 {
        return vec![0; n];
    }
    path.iter().map(|p| (p / top * 1_000_000.0).round() as u32).collect()
}

/// A random plan for benchmarks and tests: `n` tasks, each depending on up to three random
/// earlier tasks, each with its own files (so no conflicts) and verify commands; concurrency as
/// planrun would choose it.
pub fn random_setup(rng: &mut SplitMix64, n: usize, max_rework: u32) -> Setup {
    let tasks: Vec<TaskSpec> = (0..n)
        .map(|i| {
            let mut deps: Vec<usize> = (0..rng.below(4)).filter(|_| i > 0).map(|_| rng.below(i)).collect();
            deps.sort_unstable();
            deps.dedup();
            TaskSpec { id: format!("t{i}"), deps, stages: vec![Stage::Verify], done: false }
        })
        .collect();
    let priority = weighted_priorities(&tasks, &vec![1.0; n]);
    Setup {
        tasks,
        priority,
        conflicts: Conflicts::default(),
        limit: crate::default_concurrency(n),
        max_rework,
        final_check: true,
    }
}

#[cfg(test)]
mod tests;
