//! Tests of the estimate: the model's figures, their ranges, the wall time, and the history.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use super::{history::*, model::*, pass::*, report::*};
use crate::session::{AgentRecord, StepRecord};
use crate::steps::Agent;
use planrun_agents::{AgentKind, PriceTable, Usage};
use planrun_engine::Stage;
use planrun_plan::Checked;
use serde_json::{Value, json};
use std::time::Duration;

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
        reviews_in_turn: false,
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
    // In turn (planpipe's way): the same tokens, each review's time one after the other.
    let mut inputs = self::inputs(&small, &claude, Some(&claude), &ALL, 3);
    let side = estimate(&inputs);
    inputs.reviews_in_turn = true;
    let turn = estimate(&inputs);
    assert!(turn.text().contains("review (2 in turn)"), "{}", turn.text());
    assert_eq!(turn.tokens(), side.tokens());
    let time = |e: &Estimate, role: &str| e.per_role.iter().find(|r| r.role == role).and_then(|r| r.work);
    assert!(
        time(&turn, "review") > time(&side, "review"),
        "{:?} vs {:?}",
        time(&turn, "review"),
        time(&side, "review")
    );
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
        text.contains(&format!("tokens  ~{} ({}–{});", short(e.tokens() as f64), short(lo as f64), short(hi as f64))),
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
        detail: (step == "review").then(|| crate::journal_event::StepDetail {
            reviews: Some(
                ["task-review", "code-review"]
                    .map(|r| crate::journal_event::ReviewDetail {
                        review: r.into(),
                        verdict: None,
                        findings: Vec::new(),
                        error: None,
                    })
                    .to_vec(),
            ),
            ..Default::default()
        }),
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
        reviews_in_turn: false,
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
        reviews_in_turn: false,
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
        let steps = vec![record("implement", 1, Some(("claude", tokens, 0.0)), ms), record("verify", 1, None, 1_000)];
        let line = history_line(Some(run), Value::Null, std::iter::once((w / 4.0, steps.as_slice()))).unwrap();
        write_history(&path, &line).unwrap();
    }
    let fig = read_history(&path).get(Role::Implement, "claude").cloned().unwrap();
    assert!((fig.scale(w) - 2.0).abs() < 1e-9, "{}", fig.scale(w));
    assert!((fig.scale(w / 4.0) - 1.0).abs() < 1e-9);
    assert!((fig.scale(w * 100.0) - 2.0).abs() < 1e-9, "at most twice");
    assert!((fig.scale(w / 400.0) - 0.5).abs() < 1e-9, "at least half");
    // The runs lay ±50% from their mean: the range is as wide (time: at least ±50% anyway).
    assert!((fig.token_factor(Bound::Low) - 0.5).abs() < 1e-9 && (fig.token_factor(Bound::High) - 1.5).abs() < 1e-9);
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
