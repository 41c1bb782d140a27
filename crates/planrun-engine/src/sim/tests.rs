//! The simulations on hand-made and random worlds.

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
fn a_budget_reached_as_a_step_ends_stops_what_that_step_started() {
    // The only task's implement step spends the whole $1 as it ends: the verify stage the
    // engine decided at that moment is stopped with it, and the run ends interrupted.
    let r = run_planrun_with(setup(&[&[]], 1), &world(&[100]), Some(&limits(Some(1.0), 1.0))).unwrap();
    assert_eq!((r.makespan, r.done, r.outcome), (100, 0, RunOutcome::Interrupted));
    assert!(r.stopped.is_some());
    // Two tasks, the budget reached by the first's end: the second never finishes.
    let r = run_planrun_with(setup(&[&[], &[0]], 1), &world(&[100, 100]), Some(&limits(Some(1.0), 1.0))).unwrap();
    assert_eq!((r.makespan, r.attempts, r.outcome), (100, 1, RunOutcome::Interrupted));
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
    for bad in ["", "10", "fixed:", "fixed:-1", "fixed:NaN", "uniform:30-5", "uniform:5", "normal:3", "lognormal:5,9"] {
        let e = bad.parse::<DurationModel>().unwrap_err();
        assert!(!e.is_empty(), "{bad}");
    }
    assert!("gauss:1".parse::<DurationModel>().unwrap_err().contains("fixed:N, uniform:A-B"));
    let mut rng = SplitMix64::new(1);
    let u = DurationModel::Uniform { lo: 5.0, hi: 30.0 };
    assert!((0..1000).map(|_| u.sample(&mut rng)).all(|x| (5.0..30.0).contains(&x)));
}

/// Random plans and worlds under random budgets and rate limits: every run ends with an
/// outcome (a stop never strands a step the engine decided), a budget stop never lets the
/// spend run more than one look of the running agents past the budget, and rate limits
/// alone delay tasks without changing how any of them ends.
#[test]
fn random_runs_under_the_policy_always_end() {
    let model = DurationModel::Uniform { lo: 1.0, hi: 10.0 };
    for seed in 0..150u64 {
        let mut rng = SplitMix64::new(seed);
        let n = 2 + rng.below(40);
        let mut s = random_setup(&mut rng, n, 2);
        s.limit = 1 + rng.below(4);
        let w = World::sample(&s.tasks, &model, 0.2, 2, 60.0, &mut rng).with_rate_limits(0.3, &mut rng);
        let budget = 0.5 + rng.next_f64() * 20.0;
        let soft = [1.0, 0.8, 0.5][rng.below(3)];
        let limited = limits(Some(budget), soft);
        let r = run_planrun_with(s.clone(), &w, Some(&limited)).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let slack = 0.01 * 5.0 * s.limit as f64;
        assert!(r.spent.usd <= budget + slack + 1e-9, "seed {seed}: spent {} of {budget}", r.spent.usd);
        if r.stopped.is_some() || r.soft {
            assert_eq!(r.outcome, RunOutcome::Interrupted, "seed {seed}");
        }
        let free = run_planrun_with(s.clone(), &w, Some(&limits(None, 1.0))).unwrap();
        let plain = run_planrun(s, &w).unwrap();
        assert_eq!((free.outcome, free.done), (plain.outcome, plain.done), "seed {seed}");
        assert!(free.makespan >= plain.makespan, "seed {seed}: waiting never makes a run shorter");
    }
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
