//! Benchmark of planrun's schedule against the lower bound on random plans: generates random
//! DAGs (20–200 tasks, each depending on up to three random earlier tasks, each with its own
//! files so any two may run together), samples one world per plan (the default model: attempts
//! of 5–30 minutes, 15% failures, up to 3 reworks), and prints for each policy the mean makespan
//! over the lower bound, its worst case and the mean utilization, plus the time simulating took.
//!
//! `cargo bench -p planrun-engine --bench simulate` runs it; `-- --plans N` and `-- --seed S`
//! change the number of plans and the first seed. Deterministic: the same seed prints the same
//! figures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use planrun_engine::sim::{self, DurationModel, Policy, SplitMix64, World};
use std::time::Instant;

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).map_or(default, |v| v.parse().unwrap())
}

fn main() {
    let plans = arg("--plans", 50);
    let first = arg("--seed", 1);
    let model = DurationModel::Uniform { lo: 5.0, hi: 30.0 };
    let (fail_rate, max_rework) = (0.15, 3);
    let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); Policy::ALL.len()];
    let mut utilization: Vec<f64> = vec![0.0; Policy::ALL.len()];
    let (mut tasks, mut blocked) = (0usize, 0usize);
    // planrun's worst ratio: (ratio, seed, tasks, makespan, critical path, total work).
    let mut worst = (0.0f64, 0u64, 0usize, 0u64, 0u64, 0u64);
    let started = Instant::now();
    for seed in first..first + plans {
        let mut rng = SplitMix64::new(seed);
        let n = 20 + rng.below(181);
        tasks += n;
        let setup = sim::random_setup(&mut rng, n, max_rework);
        let world = World::sample(&setup.tasks, &model, fail_rate, max_rework, 60.0, &mut rng);
        for (k, policy) in Policy::ALL.into_iter().enumerate() {
            let r = sim::run(policy, &setup, &world, 0).unwrap();
            assert!(r.makespan >= r.lower_bound, "{policy:?} beat the lower bound on seed {seed}");
            if policy == Policy::Planrun {
                if r.outcome != planrun_engine::RunOutcome::Done {
                    blocked += 1;
                }
                if r.ratio() > worst.0 {
                    worst = (r.ratio(), seed, n, r.makespan, r.critical_path_time, r.total_work);
                }
            }
            ratios[k].push(r.ratio());
            utilization[k] += r.utilization;
        }
    }
    let elapsed = started.elapsed();
    println!(
        "{plans} random plans (seeds {first}..{}), {tasks} tasks in all, -j 4 (planrun's default for 9+ tasks)",
        first + plans - 1
    );
    println!(
        "model: attempts uniform 5-30 min, fail rate {fail_rate}, max rework {max_rework}; {blocked} plans ended with a blocked task"
    );
    println!("{:<8} {:>16} {:>10} {:>12}", "policy", "mean makespan/LB", "worst", "utilization");
    for (k, policy) in Policy::ALL.into_iter().enumerate() {
        let r = &ratios[k];
        let mean = r.iter().sum::<f64>() / r.len() as f64;
        let worst = r.iter().copied().fold(0.0, f64::max);
        println!(
            "{:<8} {:>16.3} {:>10.3} {:>11.1}%",
            policy.name(),
            mean,
            worst,
            100.0 * utilization[k] / plans as f64
        );
    }
    let (ratio, seed, n, makespan, critical, work) = worst;
    println!(
        "planrun's worst: seed {seed}, {n} tasks, makespan {:.1} min = {ratio:.3} × max(critical path {:.1} min, total work / 4 = {:.1} min)",
        makespan as f64 / 60.0,
        critical as f64 / 60.0,
        work as f64 / 240.0
    );
    println!("simulated 3 policies × {plans} plans in {:.1} ms", elapsed.as_secs_f64() * 1000.0);
}
