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
mod tests {
    use super::*;

    fn setup(deps: &[&[usize]], limit: usize) -> Setup {
        let tasks: Vec<TaskSpec> = deps
            .iter()
            .enumerate()
            .map(|(i, d)| TaskSpec { id: format!("t{i}"), deps: d.to_vec(), stages: vec![Stage::Verify], done: false })
            .collect();
        let priority = weighted_priorities(&tasks, &vec![1.0; tasks.len()]);
        Setup { tasks, priority, conflicts: Conflicts::default(), limit, max_rework: 3, final_check: true }
    }

    /// Each task passes at once, taking `times[i]` (implement only, verify 0).
    fn world(times: &[Ticks]) -> World {
        World {
            attempts: times
                .iter()
                .map(|&t| vec![Attempt { implement: t, verify: 0, fails: false, limited: false }; 4])
                .collect(),
        }
    }

    /// The run policy's rules with a dollar budget (`soft`: the share at which nothing new
    /// starts) and a first rate-limit wait of 60 s; ticks are seconds, agents spend 1¢ a tick.
    fn limits(usd: Option<f64>, soft: f64) -> Limits {
        use crate::policy::{Budgets, Pauses, Rules, WatchPolicy};
        Limits {
            rules: Rules {
                budgets: Budgets { usd, soft, ..Budgets::default() },
                rate_wait_ms: 60_000,
                watchdog_ms: None,
                on_no_progress: WatchPolicy::Retry,
                on_repeat: WatchPolicy::Retry,
                windows: Vec::new(),
                pauses: Pauses::default(),
            },
            spend: Spend { tokens: 10, usd: 0.01 },
            spend_every: 1,
            tick_ms: 1000,
            look_every: 5,
        }
    }

    #[test]
    fn the_budget_stops_the_run_when_the_running_agents_reach_it() {
        // Four tasks of 100 s, two at a time, $1 each: $1.50 is reached at 75 s.
        let s = setup(&[&[], &[], &[], &[]], 2);
        let r = run_planrun_with(s.clone(), &world(&[100; 4]), Some(&limits(Some(1.5), 1.0))).unwrap();
        assert_eq!(r.makespan, 75);
        assert!(r.stopped.as_deref().is_some_and(|w| w.contains("budget of $1.50")), "{:?}", r.stopped);
        assert_eq!(r.outcome, RunOutcome::Interrupted);
        assert!((r.spent.usd - 1.5).abs() < 1e-9 && r.spent.tokens == 1500, "{:?}", r.spent);
        assert_eq!((r.attempts, r.total_work, r.done), (2, 150, 0));
        // Without a budget the same world runs to the end and says what it spent.
        let free = run_planrun_with(s, &world(&[100; 4]), Some(&limits(None, 1.0))).unwrap();
        assert_eq!((free.makespan, free.outcome, free.stopped), (200, RunOutcome::Done, None));
        assert!((free.spent.usd - 4.0).abs() < 1e-9);
    }

    #[test]
    fn the_soft_budget_lets_the_running_tasks_finish_and_starts_nothing_new() {
        // Half of $3 is reached at 75 s: the two running tasks finish, the others never start.
        let s = setup(&[&[], &[], &[], &[]], 2);
        let r = run_planrun_with(s, &world(&[100; 4]), Some(&limits(Some(3.0), 0.5))).unwrap();
        assert_eq!((r.makespan, r.attempts, r.soft, r.stopped, r.done), (100, 2, true, None, 2));
        assert_eq!(r.outcome, RunOutcome::Interrupted);
        assert!((r.spent.usd - 2.0).abs() < 1e-9);
    }

    #[test]
    fn a_rate_limited_agent_waits_the_backoff_before_its_next_step() {
        // t0 is turned away at 0 and waits 60 s; t1 behind it, turned away at 160 s, waits
        // double (a limit in a row) before it starts.
        let s = setup(&[&[], &[0]], 2);
        let mut w = world(&[100, 50]);
        w.attempts[0][0].limited = true;
        w.attempts[1][0].limited = true;
        let r = run_planrun_with(s.clone(), &w, Some(&limits(None, 1.0))).unwrap();
        assert_eq!((r.rate_limits, r.waited, r.attempts), (2, 60 + 120, 2));
        assert_eq!((r.makespan, r.outcome), (60 + 100 + 120 + 50, RunOutcome::Done));
        // The limits are the policy's: without them the same world takes no wait.
        let plain = run_planrun(s, &w).unwrap();
        assert_eq!((plain.makespan, plain.rate_limits, plain.waited), (150, 0, 0));
    }

    #[test]
    fn a_chain_takes_the_sum_of_its_tasks() {
        let s = setup(&[&[], &[0], &[1], &[2]], 4);
        let w = world(&[3, 5, 7, 11]);
        for policy in Policy::ALL {
            let r = run(policy, &s, &w, 0).unwrap();
            assert_eq!(r.makespan, 26, "{policy:?}");
            assert_eq!((r.lower_bound, r.critical_path_time, r.total_work), (26, 26, 26));
            assert_eq!(r.outcome, RunOutcome::Done);
            assert_eq!((r.attempts, r.done), (4, 4));
        }
    }

    #[test]
    fn independent_equal_tasks_fill_both_slots() {
        for n in 1..=7usize {
            let s = setup(&vec![&[][..]; n], 2);
            let w = world(&vec![10; n]);
            let r = run_planrun(s, &w).unwrap();
            assert_eq!(r.makespan, 10 * n.div_ceil(2) as Ticks, "{n} tasks");
            assert_eq!(r.lower_bound, (10 * n as Ticks).div_ceil(2).max(10), "total work over 2 slots");
        }
    }

    #[test]
    fn a_failure_adds_a_rework_attempt() {
        let s = setup(&[&[], &[0]], 2);
        let mut w = world(&[10, 10]);
        w.attempts[0][0] = Attempt { implement: 8, verify: 2, fails: true, limited: false };
        let r = run_planrun(s.clone(), &w).unwrap();
        assert_eq!((r.makespan, r.attempts, r.total_work), (30, 3, 30));
        assert_eq!(r.outcome, RunOutcome::Done);
        // Every attempt failing blocks the task; its dependent never runs.
        for a in &mut w.attempts[0] {
            a.fails = true;
        }
        for policy in Policy::ALL {
            let r = run(policy, &s, &w, 0).unwrap();
            assert_eq!((r.makespan, r.attempts), (8 + 2 + 30, 4), "{policy:?}");
            assert_eq!(r.outcome, RunOutcome::Blocked { tasks: vec![0] }, "{policy:?}");
        }
    }

    #[test]
    fn serial3_takes_the_total_work_plus_pauses() {
        let s = setup(&[&[], &[], &[0], &[], &[2, 3], &[]], 4);
        let w = world(&[1, 2, 3, 4, 5, 6]);
        let r = run_serial(&s, &w, 3, 0);
        assert_eq!(r.makespan, 21);
        assert_eq!(r.makespan, r.total_work);
        assert_eq!(run_serial(&s, &w, 3, 100).makespan, 121, "one pause between two batches");
    }

    #[test]
    fn waves_wait_for_a_long_task_in_an_early_wave() {
        // Wave 1: a long task and a short one; the short one's chain of three follows it.
        let s = setup(&[&[], &[], &[1], &[2], &[3]], 2);
        let w = world(&[40, 5, 10, 10, 10]);
        let waves = run_waves(&s, &w);
        let planrun = run_planrun(s.clone(), &w).unwrap();
        assert_eq!(waves.makespan, 40 + 30);
        assert_eq!(planrun.makespan, 40, "the chain runs beside the long task");
        assert_eq!(planrun.lower_bound, 40);
        assert!(run_serial(&s, &w, 3, 0).makespan >= waves.makespan);
    }

    #[test]
    fn waves_respect_conflicts_and_limits() {
        let mut s = setup(&[&[], &[], &[], &[]], 3);
        s.conflicts.add_pair(0, 1);
        s.conflicts.add_alone(3);
        let w = world(&[10, 10, 10, 10]);
        // 0 and 2 together, then 1, then 3 alone.
        assert_eq!(run_waves(&s, &w).makespan, 30);
        assert_eq!(run_planrun(s, &w).unwrap().makespan, 30);
    }

    #[test]
    fn durations_weigh_the_priorities() {
        // A chain of two short tasks, a short single task and a long single task on two slots.
        // Counting tasks, the chain's head goes first and plan order puts the short single task
        // before the long one, which then ends at 60; weighted by duration the long one starts
        // at once and everything ends at 50.
        let s0 = setup(&[&[], &[0], &[], &[]], 2);
        let w = world(&[10, 10, 10, 50]);
        assert_eq!(run_planrun(s0.clone(), &w).unwrap().makespan, 60);
        let mut s = s0;
        s.priority = weighted_priorities(&s.tasks, &[10.0, 10.0, 10.0, 50.0]);
        assert_eq!(s.priority, vec![400_000, 200_000, 200_000, 1_000_000]);
        let weighted = run_planrun(s, &w).unwrap();
        assert_eq!((weighted.makespan, weighted.lower_bound), (50, 50));
        assert_eq!(weighted_priorities(&[], &[]), Vec::<u32>::new());
    }

    #[test]
    fn the_same_seed_gives_the_same_world() {
        let s = setup(&[&[], &[0]], 2);
        let model: DurationModel = "lognormal:15,0.6".parse().unwrap();
        let a = World::sample(&s.tasks, &model, 0.2, 3, 60.0, &mut SplitMix64::new(7));
        let b = World::sample(&s.tasks, &model, 0.2, 3, 60.0, &mut SplitMix64::new(7));
        assert_eq!(a, b);
        assert_eq!(a.attempts[1].len(), 4);
        assert!(a.attempts.iter().flatten().all(|x| x.time() >= 1 && x.verify == x.time() / 5));
    }

    #[test]
    fn duration_models_parse_with_clear_errors() {
        assert_eq!("fixed:10".parse::<DurationModel>().unwrap(), DurationModel::Fixed(10.0));
        assert_eq!("uniform:5-30".parse::<DurationModel>().unwrap(), DurationModel::Uniform { lo: 5.0, hi: 30.0 });
        assert_eq!(
            "lognormal:15,0.5".parse::<DurationModel>().unwrap(),
            DurationModel::LogNormal { median: 15.0, sigma: 0.5 }
        );
        assert_eq!("uniform:5-30".parse::<DurationModel>().unwrap().to_string(), "uniform:5-30");
        for bad in
            ["", "10", "fixed:", "fixed:-1", "fixed:NaN", "uniform:30-5", "uniform:5", "normal:3", "lognormal:5,9"]
        {
            let e = bad.parse::<DurationModel>().unwrap_err();
            assert!(!e.is_empty(), "{bad}");
        }
        assert!("gauss:1".parse::<DurationModel>().unwrap_err().contains("fixed:N, uniform:A-B"));
        let mut rng = SplitMix64::new(1);
        let u = DurationModel::Uniform { lo: 5.0, hi: 30.0 };
        assert!((0..1000).map(|_| u.sample(&mut rng)).all(|x| (5.0..30.0).contains(&x)));
    }

    /// The mean makespan over the lower bound on a fixed set of random plans (20–200 tasks, the
    /// default model: 5–30 minutes, 15% failures, 3 reworks): regressions in scheduling fail here.
    #[test]
    fn planrun_stays_within_ten_percent_of_the_lower_bound() {
        let model = DurationModel::Uniform { lo: 5.0, hi: 30.0 };
        let mut ratios = Vec::new();
        for seed in 0..30u64 {
            let mut rng = SplitMix64::new(seed);
            let n = 20 + rng.below(181);
            let s = random_setup(&mut rng, n, 3);
            let w = World::sample(&s.tasks, &model, 0.15, 3, 60.0, &mut rng);
            let r = run_planrun(s.clone(), &w).unwrap();
            assert!(r.makespan >= r.lower_bound);
            assert!(run_waves(&s, &w).makespan >= r.lower_bound);
            ratios.push(r.ratio());
        }
        let mean = ratios.iter().sum::<f64>() / ratios.len() as f64;
        assert!(mean <= 1.10, "planrun's mean ratio to the lower bound is {mean:.3}");
    }
}
