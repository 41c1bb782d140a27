//! Benchmark for the target "parse and validate a generated 10,000-task plan (markdown and JSON)
//! in under 200 ms": generates a realistic plan in memory, writes it with the native writers, and
//! times `parse` + `check` for each format (warm-up, then 10 timed iterations; min/median/max).
//!
//! `cargo bench -p planrun-plan --bench parse` runs it. With `-- --write DIR` it instead writes
//! the generated plan to `DIR/plan-10k.md` and `DIR/plan-10k.json` and exits; `bench/check-10k.sh`
//! uses that to time the release binary on the same plan. `-- --tasks N` changes the size.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use planrun_plan::model::{Plan, Task};
use planrun_plan::native::{json, markdown};
use planrun_plan::{Loaded, check};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Tasks per dependency wave: 10,000 tasks form 100 waves of 100.
const WAVE: usize = 100;
/// Files some tasks share, so that a few unordered tasks conflict.
const SHARED: [&str; 4] = ["Cargo.toml", "src/lib.rs", "docs/api.md", "README.md"];
const ITERATIONS: usize = 10;

/// A small deterministic generator (64-bit LCG), so that every run times the same plan.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn id(i: usize) -> String {
    format!("t{i:05}")
}

/// A plan of `n` tasks in waves of [`WAVE`]: each task depends on 1–3 tasks of the previous wave
/// close to its own position (one in ten also on a random earlier task), owns `src/modN/**` and
/// `tests/modN/**`, and every 100th task also touches one of [`SHARED`].
fn generate(n: usize) -> Plan {
    let mut rng = Lcg(0x5EED);
    let mut plan = Plan {
        title: format!("Generated {n}-task benchmark plan"),
        context: "A synthetic plan for the parse-and-validate benchmark.\n\
                  Every task owns one module; a few share top-level files."
            .to_owned(),
        verify: vec!["cargo build --workspace".to_owned()],
        tasks: Vec::with_capacity(n),
    };
    for i in 0..n {
        let wave = i / WAVE;
        let pos = i % WAVE;
        let mut task = Task::new(id(i), format!("Implement module {i} (wave {wave})"));
        task.description = format!(
            "Add the `mod{i}` module with its public types and functions.\n\
             Keep the interface small; callers in wave {} use it.\n\
             Document every public item and cover the error paths with tests.",
            wave + 1
        );
        if wave > 0 {
            let count = 1 + rng.below(3);
            for _ in 0..count {
                let near = (pos + WAVE + rng.below(11) - 5) % WAVE;
                let dep = id((wave - 1) * WAVE + near);
                if !task.depends_on.contains(&dep) {
                    task.depends_on.push(dep);
                }
            }
            if rng.below(10) == 0 {
                let dep = id(rng.below(wave * WAVE));
                if !task.depends_on.contains(&dep) {
                    task.depends_on.push(dep);
                }
            }
        }
        task.files = vec![format!("src/mod{i}/**"), format!("tests/mod{i}/**")];
        if i % 100 == 37 {
            task.files.push(SHARED[(i / 100) % SHARED.len()].to_owned());
        }
        task.acceptance = vec![
            format!("`mod{i}` compiles without warnings"),
            format!("every public function of `mod{i}` has a test"),
        ];
        task.verify = vec![format!("cargo test -p mod{i}")];
        plan.tasks.push(task);
    }
    plan
}

struct Timing {
    parse: Vec<Duration>,
    check: Vec<Duration>,
    total: Vec<Duration>,
}

fn time(text: &str, parse: impl Fn(&str) -> Loaded) -> (Timing, usize, usize) {
    // Warm-up, and the figures printed beside the timings.
    let loaded = parse(text);
    let checked = check(&loaded);
    let (tasks, diagnostics) = (loaded.plan.tasks.len(), checked.diagnostics.len());
    let mut t = Timing { parse: Vec::new(), check: Vec::new(), total: Vec::new() };
    for _ in 0..ITERATIONS {
        let start = Instant::now();
        let loaded = std::hint::black_box(parse(text));
        let parsed = Instant::now();
        let checked = std::hint::black_box(check(&loaded));
        let done = Instant::now();
        drop(checked);
        drop(loaded);
        t.parse.push(parsed - start);
        t.check.push(done - parsed);
        t.total.push(done - start);
    }
    (t, tasks, diagnostics)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// min / median / max in milliseconds.
fn stats(v: &[Duration]) -> String {
    let mut v = v.to_vec();
    v.sort();
    let median = if v.len() % 2 == 0 { (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2 } else { v[v.len() / 2] };
    format!("{:7.1} {:7.1} {:7.1}", ms(v[0]), ms(median), ms(v[v.len() - 1]))
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut write_to: Option<PathBuf> = None;
    let mut n = 10_000;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--write" => write_to = Some(PathBuf::from(args.next().expect("--write needs a DIR"))),
            "--tasks" => n = args.next().and_then(|s| s.parse().ok()).expect("--tasks needs N"),
            // `cargo bench` passes `--bench`; filters are not used here.
            _ => {}
        }
    }
    let plan = generate(n);
    let md_text = markdown::write(&plan);
    let json_text = json::write(&plan);

    if let Some(dir) = write_to {
        std::fs::create_dir_all(&dir).expect("cannot create the output folder");
        for (name, text) in
            [(format!("plan-{}.md", label(n)), &md_text), (format!("plan-{}.json", label(n)), &json_text)]
        {
            let path = dir.join(name);
            std::fs::write(&path, text).expect("cannot write the plan");
            println!("{} ({} bytes)", path.display(), text.len());
        }
        return;
    }

    // Both writers must produce a plan that reads back unchanged, or the timings mean nothing.
    assert_eq!(markdown::parse(&md_text, "plan.md").plan, plan);
    assert_eq!(json::parse(&json_text, "plan.json").plan, plan);

    println!("parse + check of a generated {n}-task plan; {ITERATIONS} iterations after a warm-up; ms");
    println!(
        "{:<9} {:>9} {:>6} {:>6} | {:^23} | {:^23} | {:^23}",
        "format", "bytes", "tasks", "diags", "parse min/med/max", "check min/med/max", "total min/med/max"
    );
    for (name, text, parse) in [
        ("markdown", &md_text, (|t: &str| markdown::parse(t, "plan.md")) as fn(&str) -> Loaded),
        ("json", &json_text, |t: &str| json::parse(t, "plan.json")),
    ] {
        let (t, tasks, diags) = time(text, parse);
        println!(
            "{:<9} {:>9} {:>6} {:>6} | {} | {} | {}",
            name,
            text.len(),
            tasks,
            diags,
            stats(&t.parse),
            stats(&t.check),
            stats(&t.total)
        );
    }
}

/// `10k` for 10,000 tasks, the count otherwise.
fn label(n: usize) -> String {
    if n % 1000 == 0 { format!("{}k", n / 1000) } else { n.to_string() }
}
