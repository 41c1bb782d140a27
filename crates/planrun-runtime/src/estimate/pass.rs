//! One pass of the model over a plan at one bound (low, point or high): each pending task's
//! steps, priced and timed, combined with the dependency graph and the limit.

use super::Inputs;
use super::history::{Figures, History};
use super::model::{
    Bound, DIFF_TOKENS, NOTES_TOKENS, Role, SHARED_BASE, TEMPLATE_TOKENS, Tokens, base_context, default_model,
    session_tokens, work, writes_cache,
};
use super::report::{Estimate, RoleEstimate, TaskEstimate};
use crate::steps::Agent;
use planrun_agents::{AgentKind, Usage};
use planrun_engine::Stage;
use planrun_plan::model::{Plan, Task};
use std::collections::BTreeMap;
use std::time::Duration;

/// Adds `b` to a sum that is `None` once any part is unknown.
pub(super) fn add_known(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(a? + b?)
}

/// The prompt tokens of one role for `task` (the brief, the role's text, and what the role adds:
/// the notes of the tasks it builds on, the diff a reviewer reads, a few hundred tokens for a
/// one-file change at the low end).
pub(super) fn prompt_tokens(plan: &Plan, task: &Task, role: Role, bound: Bound) -> f64 {
    let brief = crate::prompt::brief(plan, task, &[], None).len() as f64 / 4.0;
    let notes = if task.depends_on.is_empty() { 0.0 } else { NOTES_TOKENS };
    let diff = bound.pick([300.0, 600.0, DIFF_TOKENS]);
    brief
        + TEMPLATE_TOKENS
        + match role {
            Role::Implement => notes,
            Role::Review | Role::Test => diff,
            _ => 0.0,
        }
}

/// One figure of the estimate (an end of its range, or the point): every figure at it (the
/// range fields unset).
pub(super) fn pass(inputs: &Inputs<'_>, history: &History, bound: Bound) -> Estimate {
    let plan = inputs.plan;
    let limit = inputs.limit.max(1);
    let reviewer = inputs.reviewer;
    let reviews = if reviewer.is_some() { inputs.reviews } else { 0 };
    let mut stages: Vec<Stage> = inputs.stages.to_vec();
    let has_commands = |t: &Task| !t.verify.is_empty() || !plan.verify.is_empty();
    let pending: Vec<usize> =
        (0..plan.tasks.len()).filter(|&i| inputs.pending.get(i).copied().unwrap_or(false)).collect();
    let verify_tasks = pending.iter().filter_map(|&i| plan.tasks.get(i)).filter(|t| has_commands(t)).count();
    if verify_tasks > 0 && !stages.contains(&Stage::Verify) {
        stages.push(Stage::Verify);
    }
    stages.sort();
    stages.dedup();

    let mut est = Estimate {
        tasks: pending.len(),
        jobs: limit,
        verify_tasks,
        reviews,
        reviews_in_turn: inputs.reviews_in_turn,
        history_runs: history.runs,
        ..Estimate::default()
    };
    let take = inputs.take && reviewer.is_some();
    if take {
        est.stages.push(Role::Take.name());
    }
    est.stages.push(Role::Implement.name());
    for s in &stages {
        let shown = match s {
            Stage::Test => reviewer.is_some(),
            Stage::Review => reviews > 0,
            _ => true,
        };
        if shown {
            est.stages.push(s.name());
        }
    }

    let mut roles: BTreeMap<(Role, String, Option<String>), RoleEstimate> = BTreeMap::new();
    let mut durations: Vec<Option<Duration>> = vec![Some(Duration::ZERO); plan.tasks.len()];
    let (mut from_history, mut from_defaults) = (0usize, 0usize);
    let mut cost: Option<f64> = Some(0.0);
    let mut usage = Tokens::default();
    let mut unpriced: Vec<String> = Vec::new();
    let mut exclusive = Duration::ZERO;
    let mut attempts = 0.0;
    let shared = bound.pick([SHARED_BASE, SHARED_BASE, 0.0]);
    for &i in &pending {
        let Some(task) = plan.tasks.get(i) else { continue };
        let Some(&implementer) = inputs.agents.get(i) else { continue };
        let size = work(task);
        let mut steps: Vec<(Role, Option<&Agent>)> = Vec::new();
        if take {
            steps.push((Role::Take, reviewer));
        }
        steps.push((Role::Implement, Some(implementer)));
        for &s in &stages {
            let role = Role::of_stage(s);
            match role {
                Role::Verify if !has_commands(task) => {}
                Role::Test | Role::Review if reviewer.is_none() => {}
                Role::Review if reviews == 0 => {}
                Role::Test | Role::Review => steps.push((role, reviewer)),
                _ => steps.push((role, None)),
            }
        }
        let mut t = TaskEstimate {
            id: task.id.clone(),
            work: size,
            usage: None,
            cost_usd: Some(0.0),
            time: Some(Duration::ZERO),
        };
        let mut task_tokens: Option<Tokens> = None;
        for (role, agent) in steps {
            let kind = agent.map(|a| a.kind);
            let agent_name = kind.map_or("planrun", AgentKind::name);
            let cli = role.agent() && kind.is_some_and(|k| k != AgentKind::Command);
            let fig = history.get(role, agent_name);
            if fig.is_some() {
                from_history += 1;
                let label = format!("{} ({agent_name})", role.name());
                if role.agent() && !est.history_roles.contains(&label) {
                    est.history_roles.push(label);
                }
            } else {
                from_defaults += 1;
            }
            let rate = fig.and_then(Figures::steps_per_task).unwrap_or_else(|| role.default_rate(bound));
            let runs = rate * if role == Role::Review { reviews as f64 } else { 1.0 };
            // A CLI's session grows with the task; a command's or planrun's own steps do not.
            let scale = if cli { fig.map_or(1.0, |f| f.scale(size)) } else { 1.0 };
            let shape = role.shape(bound, size);
            let step_time = match fig.and_then(|f| f.step_time().map(|d| (f, d))) {
                Some((f, d)) => Some(d.mul_f64(scale * f.time_factor(bound))),
                None if role == Role::Review && inputs.reviews_in_turn => {
                    role.default_step(bound, kind, shape.turns, 1).map(|d| d * reviews.max(1) as u32)
                }
                None => {
                    let sessions = if role == Role::Review { reviews } else { 1 };
                    role.default_step(bound, kind, shape.turns, sessions)
                }
            };
            let work = step_time.map(|d| d.mul_f64(rate));
            t.time = t.time.zip(work).map(|(a, b)| a + b);
            if work.is_none() {
                let label = format!("{} ({agent_name})", role.name());
                if !est.time_unknown.contains(&label) {
                    est.time_unknown.push(label);
                }
            }
            if role == Role::Implement {
                attempts += rate;
            }
            if matches!(role, Role::Commit | Role::Merge) {
                exclusive += work.unwrap_or_default();
            }
            // The model: the agent's own, else the CLI's default (the one it chose in earlier
            // runs, else the one the pinned version asks for).
            let (model, is_default) = match agent {
                Some(a) if a.kind != AgentKind::Command => match &a.model {
                    Some(m) => (Some(m.clone()), false),
                    None => {
                        (history.default_model(agent_name).or_else(|| default_model(a.kind)).map(str::to_owned), true)
                    }
                },
                _ => (None, false),
            };
            // Tokens and dollars of the agent's runs.
            let (tokens, dollars) = match (agent, role.agent()) {
                (Some(a), true) if cli => {
                    let learned = fig.and_then(|f| f.tokens_per_run().map(|t| (f, t)));
                    let factor = fig.map_or(1.0, |f| scale * f.token_factor(bound));
                    let per_run = match learned {
                        Some((_, t)) => t.scaled(factor),
                        None => session_tokens(
                            base_context(a.kind, model.as_deref()),
                            prompt_tokens(plan, task, role, bound),
                            shape,
                            writes_cache(a.kind, model.as_deref()),
                            shared,
                        ),
                    };
                    let tokens = per_run.scaled(runs);
                    let dollars = match fig.and_then(|f| f.cost_per_run(model.as_deref())) {
                        Some(per) => Some(per * runs * factor),
                        None => inputs.prices.cost(model.as_deref(), &tokens.usage()),
                    };
                    if dollars.is_none() {
                        let why = match &model {
                            Some(m) => format!("no price for {m} (add [prices.\"{m}\"] to planrun.toml)"),
                            None => format!("{agent_name}'s default model is not known (name one with --model)"),
                        };
                        if !unpriced.contains(&why) {
                            unpriced.push(why);
                        }
                    }
                    (Some(tokens), dollars)
                }
                (Some(_), true) => {
                    let label = format!("{} (command)", role.name());
                    if !est.tokens_unknown.contains(&label) {
                        est.tokens_unknown.push(label);
                    }
                    let why = "a command agent's cost is not known".to_owned();
                    if !unpriced.contains(&why) {
                        unpriced.push(why);
                    }
                    (None, None)
                }
                _ => (None, Some(0.0)),
            };
            if let Some(tk) = tokens {
                usage = usage.plus(tk);
                task_tokens = Some(task_tokens.unwrap_or_default().plus(tk));
                est.priced_usd += dollars.unwrap_or(0.0);
            }
            cost = add_known(cost, dollars);
            t.cost_usd = add_known(t.cost_usd, dollars);
            let entry = roles.entry((role, agent_name.to_owned(), model.clone())).or_insert_with(|| RoleEstimate {
                role: role.name(),
                agent: agent_name.to_owned(),
                model: model.clone(),
                default_model: is_default,
                steps: 0.0,
                runs: 0.0,
                usage: tokens.map(|_| Usage::default()),
                cost_usd: Some(0.0),
                work: Some(Duration::ZERO),
                source: if fig.is_some() { "history" } else { "defaults" },
            });
            entry.steps += rate;
            entry.runs += if role.agent() { runs } else { 0.0 };
            if let (Some(u), Some(tk)) = (entry.usage.as_mut(), tokens) {
                let mut sum = Tokens::of(u).plus(tk);
                // Kept as whole tokens per role; the fractions are summed in `usage` above.
                if !sum.total().is_finite() {
                    sum = Tokens::default();
                }
                *u = sum.usage();
            }
            entry.cost_usd = add_known(entry.cost_usd, dollars);
            entry.work = entry.work.zip(work).map(|(a, b)| a + b);
            if fig.is_some() {
                entry.source = "history";
            }
        }
        t.usage = task_tokens.map(Tokens::usage);
        if let Some(d) = durations.get_mut(i) {
            *d = t.time;
        }
        est.per_task.push(t);
    }
    est.attempts = if pending.is_empty() { 0.0 } else { attempts / pending.len() as f64 };
    est.usage = usage.usage();
    est.tokens_known = roles.values().any(|r| r.usage.is_some());
    est.cost_usd = cost;
    est.unpriced = unpriced;
    est.per_role = roles.into_values().collect();
    est.source = match (from_history, from_defaults) {
        (0, 0) if history.runs > 0 => "history",
        (0, _) => "defaults",
        (_, 0) => "history",
        _ => "mixed",
    };
    if !est.time_unknown.is_empty() {
        return est;
    }

    // Wall time: the longest chain of pending tasks, against the work spread over the slots.
    // A task without declared files runs alone, and commits and merges go one at a time.
    let durations: Vec<Duration> = durations.into_iter().map(Option::unwrap_or_default).collect();
    let mut finish = vec![Duration::ZERO; plan.tasks.len()];
    let mut critical = Duration::ZERO;
    for &i in &inputs.checked.graph.topo {
        let before =
            inputs.checked.graph.deps.get(i).into_iter().flatten().filter_map(|&d| finish.get(d)).max().copied();
        let end = before.unwrap_or_default() + durations.get(i).copied().unwrap_or_default();
        if let Some(f) = finish.get_mut(i) {
            *f = end;
        }
        critical = critical.max(end);
    }
    let unscoped: Duration = inputs
        .checked
        .analysis
        .unscoped
        .iter()
        .filter(|&&i| inputs.pending.get(i).copied().unwrap_or(false))
        .filter_map(|&i| durations.get(i))
        .sum();
    let work: Duration = durations.iter().sum();
    // The point without history: a scripted model's run is bound by the machine, not the model.
    let slots = if bound == Bound::Point && from_history == 0 { limit.min(inputs.cores.max(1)) } else { limit };
    let spread = unscoped + (work.saturating_sub(unscoped)) / u32::try_from(slots).unwrap_or(u32::MAX);
    let final_check = if plan.verify.is_empty() || pending.is_empty() {
        Duration::ZERO
    } else {
        let fig = history.get(Role::Verify, "planrun");
        match fig.and_then(|f| f.step_time().map(|d| (f, d))) {
            Some((f, d)) => d.mul_f64(f.time_factor(bound)),
            None => Role::Verify.default_step(bound, None, 0.0, 1).unwrap_or_default(),
        }
    };
    est.critical_path = Some(critical);
    est.work = Some(work);
    est.slots = slots;
    est.wall = Some(critical.max(spread).max(exclusive) + final_check);
    est
}
