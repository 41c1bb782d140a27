//! `planrun simulate`: reads and checks a plan, samples seeded worlds (attempt durations and
//! failures), runs the chosen policies over them with `planrun_engine::sim`, and prints the mean
//! makespans beside the lower bound, for people or as JSON. Holds no scheduling rules; those live
//! in the engine crate.

use crate::cli::PlanArgs;
use crate::exit;
use crate::render::{Output, Renderer};
use clap::{Args, ValueEnum};
use planrun_engine::RunOutcome;
use planrun_engine::policy::{Budgets, Pauses, Rules, Spend, WatchPolicy};
use planrun_engine::sim::{self, DurationModel, Policy, SplitMix64, Ticks, World};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write as _;

/// Ticks per minute: the simulation counts seconds.
const TICKS_PER_MINUTE: f64 = 60.0;

#[derive(Debug, Args)]
pub(crate) struct SimulateArgs {
    #[command(flatten)]
    pub(crate) plan: PlanArgs,
    /// The policy to simulate: planrun's own schedule, or a prompt-based orchestrator's (see
    /// below); `all` runs the three on the same sampled durations and failures.
    #[arg(long, value_enum, default_value_t = PolicyChoice::Planrun)]
    pub(crate) policy: PolicyChoice,
    /// How long one attempt takes (implement step plus verification), in minutes:
    /// `fixed:N`, `uniform:A-B` or `lognormal:MEDIAN,SIGMA`.
    #[arg(long, value_name = "MODEL", default_value = "uniform:5-30", value_parser = parse_model)]
    pub(crate) duration: DurationModel,
    /// The probability that an attempt fails and is sent back for rework (0 to 1).
    #[arg(long, value_name = "P", default_value_t = 0.15, value_parser = parse_rate)]
    pub(crate) fail_rate: f64,
    /// Failed attempts a task may have before it is blocked.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub(crate) max_rework: u32,
    /// How many tasks may run at once [default: 2 for plans of 1–3 tasks, 3 for 4–8, 4 beyond].
    #[arg(short = 'j', long = "jobs", value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub(crate) jobs: Option<u64>,
    /// The seed of the first run; run k uses seed + k.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub(crate) seed: u64,
    /// How many runs (seeds) to average over.
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub(crate) runs: u64,
    /// Seconds `serial3` waits between two batches of 3 tasks.
    #[arg(long, value_name = "SECS", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub(crate) batch_pause: u64,
    /// Dollars an agent spends per minute of implementing; with --budget-usd, planrun's
    /// schedule runs under the run policy's budget rules.
    #[arg(long, value_name = "USD", value_parser = parse_amount)]
    pub(crate) usd_per_minute: Option<f64>,
    /// Tokens an agent uses per minute of implementing (for --budget-tokens).
    #[arg(long, value_name = "N", hide_short_help = true)]
    pub(crate) tokens_per_minute: Option<u64>,
    /// The run's budget in dollars, as `planrun run --budget-usd`: planrun's schedule stops
    /// when its agents reach it.
    #[arg(long, value_name = "USD", value_parser = parse_amount, requires = "usd_per_minute")]
    pub(crate) budget_usd: Option<f64>,
    /// The run's budget in tokens, as `planrun run --budget-tokens`.
    #[arg(long, value_name = "N", requires = "tokens_per_minute", hide_short_help = true)]
    pub(crate) budget_tokens: Option<u64>,
    /// At this share of a budget nothing new starts, as `planrun run --soft-budget`.
    #[arg(long, value_name = "PERCENT", default_value_t = 80, value_parser = clap::value_parser!(u8).range(1..=100), hide_short_help = true)]
    pub(crate) soft_budget: u8,
    /// The probability that the provider turns an attempt away with a rate limit (0 to 1);
    /// the agent then waits as `planrun run` would (see --rate-limit-wait).
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = parse_rate)]
    pub(crate) rate_limit_rate: f64,
    /// Seconds a rate-limited agent first waits, doubling with each limit in a row (up to
    /// 15 minutes), as `planrun run --rate-limit-wait`.
    #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400), hide_short_help = true)]
    pub(crate) rate_limit_wait: u64,
    /// Print one JSON object on stdout instead of the table.
    #[arg(long)]
    pub(crate) json: bool,
}

impl SimulateArgs {
    /// The run policy's rules for planrun's schedule, when a budget or rate limits are asked for.
    fn limits(&self) -> Option<sim::Limits> {
        if self.usd_per_minute.is_none() && self.tokens_per_minute.is_none() && self.rate_limit_rate == 0.0 {
            return None;
        }
        let budgets = Budgets {
            usd: self.budget_usd,
            tokens: self.budget_tokens,
            soft: f64::from(self.soft_budget) / 100.0,
            ..Budgets::default()
        };
        let minute = Spend { tokens: self.tokens_per_minute.unwrap_or(0), usd: self.usd_per_minute.unwrap_or(0.0) };
        let rules = Rules {
            budgets,
            rate_wait_ms: self.rate_limit_wait.saturating_mul(1000),
            watchdog_ms: None,
            on_no_progress: WatchPolicy::Retry,
            on_repeat: WatchPolicy::Retry,
            windows: Vec::new(),
            pauses: Pauses::default(),
        };
        // Ticks are seconds; agents report what they spent every 10 s.
        Some(sim::Limits { rules, spend: minute, spend_every: 60, tick_ms: 1000, look_every: 10 })
    }
}

fn parse_amount(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
        _ => Err(format!("`{s}` is not an amount; give a number of 0 or more, e.g. 2.50")),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum PolicyChoice {
    /// The engine itself: longest remaining path first, as soon as a slot and the files allow.
    Planrun,
    /// One task at a time in dependency order, in batches of 3.
    Serial3,
    /// Dependency waves; each waits for every task of the wave before.
    Waves,
    /// All three side by side.
    All,
}

impl PolicyChoice {
    fn policies(self) -> Vec<Policy> {
        match self {
            PolicyChoice::Planrun => vec![Policy::Planrun],
            PolicyChoice::Serial3 => vec![Policy::Serial3],
            PolicyChoice::Waves => vec![Policy::Waves],
            PolicyChoice::All => Policy::ALL.to_vec(),
        }
    }
}

fn parse_model(s: &str) -> Result<DurationModel, String> {
    s.parse()
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!("`{s}` is not a probability; give a number from 0 to 1, e.g. 0.15")),
    }
}

/// Sums over runs, divided by the number of runs when printed.
#[derive(Debug, Default, Clone)]
struct Totals {
    makespan: f64,
    ratio: f64,
    utilization: f64,
    attempts: f64,
    done: f64,
    blocked_runs: u64,
    usd: f64,
    tokens: f64,
    budget_stops: u64,
    soft_stops: u64,
    rate_limits: f64,
    waited: f64,
}

/// The JSON printed by `planrun simulate --json`. Fields are only ever added, never renamed.
#[derive(Debug, Serialize)]
struct SimulateJson<'a> {
    plan: String,
    tasks: usize,
    /// Tasks that declare no files, so run with nothing beside them.
    run_alone: usize,
    concurrency: usize,
    runs: u64,
    seed: u64,
    unit: &'static str,
    duration: String,
    fail_rate: f64,
    max_rework: u32,
    batch_pause_seconds: u64,
    lower_bound: f64,
    critical_path: f64,
    total_work: f64,
    policies: BTreeMap<&'a str, PolicyJson>,
}

#[derive(Debug, Serialize)]
struct PolicyJson {
    makespan: f64,
    lower_bound: f64,
    ratio: f64,
    utilization: f64,
    attempts: f64,
    /// Mean tasks done at the end of a run.
    tasks_done: f64,
    blocked_runs: u64,
    /// Mean dollars and tokens spent (planrun's schedule, with a cost per minute).
    spent_usd: f64,
    spent_tokens: f64,
    /// Runs the budget stopped (hard), and runs in which it stopped new work (soft).
    budget_stops: u64,
    soft_budget_runs: u64,
    /// Mean rate limits met per run, and mean minutes waited for them.
    rate_limits: f64,
    rate_limit_wait: f64,
}

pub(crate) fn simulate(args: &SimulateArgs, out: &Output) -> crate::error::Outcome {
    let loaded = planrun_plan::load(&args.plan.plan, args.plan.format)?;
    let checked = planrun_plan::check(&loaded);
    if checked.errors() > 0 {
        let mut renderer = Renderer::new(&loaded.sources, out);
        let mut stderr = std::io::stderr().lock();
        for d in checked.diagnostics.iter().filter(|d| d.is_error()) {
            let _ = stderr.write_all(renderer.render(d).as_bytes());
        }
        let n = checked.errors();
        let _ = writeln!(
            stderr,
            "simulate: the plan has {n} error{}; fix {} (`planrun check` shows them all) before simulating it",
            if n == 1 { "" } else { "s" },
            if n == 1 { "it" } else { "them" }
        );
        return Ok(exit::INVALID_PLAN);
    }
    let mut setup = planrun_runtime::simulation_setup(&loaded, &checked);
    setup.max_rework = args.max_rework;
    if let Some(j) = args.jobs {
        setup.limit = usize::try_from(j).unwrap_or(1);
    }

    let policies = args.policy.policies();
    let mut totals: Vec<Totals> = vec![Totals::default(); policies.len()];
    let limits = args.limits();
    let (mut lower, mut critical, mut work) = (0.0, 0.0, 0.0);
    for run in 0..args.runs {
        let mut rng = SplitMix64::new(args.seed.wrapping_add(run));
        let world =
            World::sample(&setup.tasks, &args.duration, args.fail_rate, args.max_rework, TICKS_PER_MINUTE, &mut rng)
                .with_rate_limits(args.rate_limit_rate, &mut rng);
        let (lb, cp, total) = sim::bounds(&setup, &world);
        lower += minutes(lb);
        critical += minutes(cp);
        work += minutes(total);
        for (policy, sums) in policies.iter().zip(&mut totals) {
            let report = match (policy, &limits) {
                (Policy::Planrun, Some(l)) => sim::run_planrun_with(setup.clone(), &world, Some(l)),
                _ => sim::run(*policy, &setup, &world, args.batch_pause),
            }
            .map_err(|e| crate::error::CliError::Simulation { policy: policy.name(), reason: e.to_string() })?;
            sums.done += report.done as f64;
            sums.usd += report.spent.usd;
            sums.tokens += report.spent.tokens as f64;
            sums.budget_stops += u64::from(report.stopped.is_some());
            sums.soft_stops += u64::from(report.soft);
            sums.rate_limits += f64::from(report.rate_limits);
            sums.waited += minutes(report.waited);
            sums.makespan += minutes(report.makespan);
            sums.ratio += report.ratio();
            sums.utilization += report.utilization;
            sums.attempts += f64::from(report.attempts);
            if matches!(report.outcome, RunOutcome::Blocked { .. }) {
                sums.blocked_runs += 1;
            }
        }
    }
    let runs = args.runs.max(1) as f64;
    let mean = |x: f64| x / runs;
    let report = SimulateJson {
        plan: args.plan.plan.display().to_string(),
        tasks: setup.tasks.len(),
        run_alone: (0..setup.tasks.len()).filter(|&t| setup.conflicts.runs_alone(t)).count(),
        concurrency: setup.limit,
        runs: args.runs,
        seed: args.seed,
        unit: "minutes",
        duration: args.duration.to_string(),
        fail_rate: args.fail_rate,
        max_rework: args.max_rework,
        batch_pause_seconds: args.batch_pause,
        lower_bound: mean(lower),
        critical_path: mean(critical),
        total_work: mean(work),
        policies: policies
            .iter()
            .zip(&totals)
            .map(|(p, t)| {
                let json = PolicyJson {
                    makespan: mean(t.makespan),
                    lower_bound: mean(lower),
                    ratio: mean(t.ratio),
                    utilization: mean(t.utilization),
                    attempts: mean(t.attempts),
                    tasks_done: mean(t.done),
                    blocked_runs: t.blocked_runs,
                    spent_usd: mean(t.usd),
                    spent_tokens: mean(t.tokens),
                    budget_stops: t.budget_stops,
                    soft_budget_runs: t.soft_stops,
                    rate_limits: mean(t.rate_limits),
                    rate_limit_wait: mean(t.waited),
                };
                (p.name(), json)
            })
            .collect(),
    };
    let printed = if args.json { print_json(&report) } else { print_human(&report, &policies, args) };
    match printed {
        Ok(()) => Ok(exit::OK),
        Err(e) if planrun_runtime::console::is_closed_pipe(&e) => Ok(exit::OK),
        Err(e) => Err(crate::error::CliError::Report(e)),
    }
}

fn minutes(t: Ticks) -> f64 {
    t as f64 / TICKS_PER_MINUTE
}

/// The engine's setup for the tasks still to run (done tasks already satisfy their dependents).
fn print_json(report: &SimulateJson<'_>) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    let text = serde_json::to_string_pretty(report).map_err(std::io::Error::other)?;
    writeln!(stdout, "{text}")?;
    stdout.flush()
}

fn print_human(report: &SimulateJson<'_>, policies: &[Policy], args: &SimulateArgs) -> std::io::Result<()> {
    let mut s = String::new();
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    s.push_str(&format!(
        "simulate: {}, {} task{} to run, -j {}, {} run{} (seeds {}..={})\n",
        report.plan,
        report.tasks,
        plural(report.tasks),
        report.concurrency,
        report.runs,
        plural(usize::try_from(report.runs).unwrap_or(2)),
        report.seed,
        report.seed.wrapping_add(report.runs.saturating_sub(1)),
    ));
    s.push_str(&format!(
        "model: each attempt takes {} minutes (mean {:.1} min) and fails with probability {}, up to {} rework{}\n",
        report.duration,
        args.duration.mean(),
        report.fail_rate,
        report.max_rework,
        plural(usize::try_from(report.max_rework).unwrap_or(2)),
    ));
    if report.tasks == 0 {
        s.push_str("\nnothing to simulate: every task is already done\n");
    } else {
        let per_slot = report.total_work / report.concurrency.max(1) as f64;
        s.push_str(&format!(
            "\nlower bound: {:.1} min, the mean over runs of max(critical path, total work / {})\n",
            report.lower_bound, report.concurrency
        ));
        s.push_str(&format!("  critical path: {:.1} min (mean, reworks included)\n", report.critical_path));
        s.push_str(&format!(
            "  total work:    {:.1} min (mean) / {} slot{} = {:.1} min\n\n",
            report.total_work,
            report.concurrency,
            plural(report.concurrency),
            per_slot
        ));
        s.push_str(&format!("{:<9} {:>12} {:>16} {:>12}\n", "policy", "makespan", "vs lower bound", "utilization"));
        for p in policies {
            let Some(r) = report.policies.get(p.name()) else { continue };
            s.push_str(&format!(
                "{:<9} {:>8.1} min {:>15.2}× {:>11.0}%\n",
                p.name(),
                r.makespan,
                r.ratio,
                r.utilization * 100.0
            ));
        }
        let held = report.policies.get(Policy::Planrun.name()).filter(|r| r.budget_stops + r.soft_budget_runs > 0);
        if let Some(ours) = report.policies.get(Policy::Planrun.name()).filter(|_| held.is_none()) {
            for other in [Policy::Waves, Policy::Serial3] {
                if let Some(r) = report.policies.get(other.name()).filter(|r| r.makespan > 0.0) {
                    let saved = 100.0 * (1.0 - ours.makespan / r.makespan);
                    let how = if saved >= 0.5 {
                        format!("{saved:.0}% less time than")
                    } else if saved <= -0.5 {
                        format!("{:.0}% more time than", -saved)
                    } else {
                        "as long as".to_owned()
                    };
                    s.push_str(&format!("\nplanrun takes {how} {}", other.name()));
                }
            }
            if policies.len() > 1 {
                s.push('\n');
            }
        }
        if report.run_alone > 0 {
            s.push_str(&format!(
                "\nnote: {} task{} declare{} no files and run{} alone; give {} `Files:` to let other tasks run beside {}\n",
                report.run_alone,
                plural(report.run_alone),
                if report.run_alone == 1 { "s" } else { "" },
                if report.run_alone == 1 { "s" } else { "" },
                if report.run_alone == 1 { "it" } else { "them" },
                if report.run_alone == 1 { "it" } else { "them" },
            ));
        }
        if let Some(r) = report.policies.get(Policy::Planrun.name()).filter(|_| args.limits().is_some()) {
            let mut spent = Vec::new();
            if args.usd_per_minute.is_some() {
                spent.push(format!("${:.2}", r.spent_usd));
            }
            if args.tokens_per_minute.is_some() {
                spent.push(format!("{:.0} tokens", r.spent_tokens));
            }
            let spent = if spent.is_empty() { String::new() } else { format!("{} spent a run, ", spent.join(" and ")) };
            s.push_str(&format!(
                "\nplanrun under the run policy (the rules of `planrun run`): {spent}{:.1} of {} task{} done (means)\n  \
                 {:.1} rate limits a run, {:.1} min waited for them\n",
                r.tasks_done,
                report.tasks,
                plural(report.tasks),
                r.rate_limits,
                r.rate_limit_wait
            ));
            if held.is_some() {
                s.push_str(&format!(
                    "  the budget stopped {} of {} runs and held back new work in {} more: those runs end early, so \
                     planrun's makespan above is not comparable; raise the budget to compare\n",
                    r.budget_stops,
                    report.runs,
                    r.soft_budget_runs.saturating_sub(r.budget_stops)
                ));
            }
        }
        let blocked = report.policies.values().map(|r| r.blocked_runs).max().unwrap_or(0);
        if blocked > 0 {
            s.push_str(&format!(
                "\nin {blocked} of {} runs a task failed {} times and was blocked; tasks behind it never ran\n",
                report.runs,
                u64::from(report.max_rework) + 1
            ));
        }
    }
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(s.as_bytes())?;
    stdout.flush()
}
