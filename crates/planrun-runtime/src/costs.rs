//! `planrun report [RUN] [--json]`: what a run cost and did, per task, per stage and per agent,
//! with its budget and estimate beside the actual figures. Also the breakdown itself
//! (`Breakdown`), shared by `status`, the run's `summary.md` and the report. Reads the journal;
//! decides nothing.

use super::journal_event::RunRecord;
use super::layout;
use super::session::{Session, StepRecord};
use super::totals::{Totals, thousands};
use crate::exit;
use crate::options::ReportOptions;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

/// The order stages run in; a stage not listed (a future one) comes after them, by name.
const STAGE_ORDER: [&str; 9] =
    ["take", "implement", "scope", "test", "verify", "review", "commit", "merge", "final-check"];

/// What a set of steps took: how many, how long, and what their agents used.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Group {
    /// Steps recorded, whether an agent ran them or not.
    pub(crate) steps: u64,
    pub(crate) elapsed_ms: u64,
    /// What the agent steps among them used.
    pub(crate) used: Totals,
}

impl Group {
    fn add(&mut self, r: &StepRecord) {
        self.steps += 1;
        self.elapsed_ms = self.elapsed_ms.saturating_add(r.elapsed_ms);
        if let Some(a) = &r.agent {
            self.used.add(a);
        }
    }

    /// The figures as JSON fields: `steps`, `elapsed_ms` and those of `Totals::to_json`.
    fn fields(&self) -> Map<String, Value> {
        let mut m = object(self.used.to_json());
        m.insert("steps".into(), json!(self.steps));
        m.insert("elapsed_ms".into(), json!(self.elapsed_ms));
        m
    }
}

/// One agent CLI with one model, and what its steps used.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AgentUse {
    pub(crate) agent: String,
    pub(crate) model: Option<String>,
    pub(crate) used: Totals,
}

/// Steps broken down by stage (every step, in pipeline order) and by agent and model (agent
/// steps only). Stage and agent figures each add up to `total`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Breakdown {
    pub(crate) total: Group,
    pub(crate) stages: Vec<(String, Group)>,
    pub(crate) agents: Vec<AgentUse>,
}

impl Breakdown {
    pub(crate) fn of<'a>(steps: impl IntoIterator<Item = &'a StepRecord>) -> Self {
        let mut total = Group::default();
        let mut stages: BTreeMap<(usize, String), Group> = BTreeMap::new();
        let mut agents: BTreeMap<(String, Option<String>), Totals> = BTreeMap::new();
        for r in steps {
            total.add(r);
            let rank = STAGE_ORDER.iter().position(|s| *s == r.step).unwrap_or(STAGE_ORDER.len());
            stages.entry((rank, r.step.clone())).or_default().add(r);
            if let Some(a) = &r.agent {
                agents.entry((a.agent.clone(), a.model.clone())).or_default().add(a);
            }
        }
        Breakdown {
            total,
            stages: stages.into_iter().map(|((_, name), g)| (name, g)).collect(),
            agents: agents.into_iter().map(|((agent, model), used)| AgentUse { agent, model, used }).collect(),
        }
    }

    /// Over every step of the run (tasks in id order, so sums do not depend on hashing).
    pub(crate) fn of_run(s: &Session) -> Self {
        let mut ids: Vec<&String> = s.steps.keys().collect();
        ids.sort();
        Self::of(ids.into_iter().filter_map(|id| s.steps.get(id)).flatten())
    }

    /// Over the steps of one task.
    pub(crate) fn of_task(s: &Session, id: &str) -> Self {
        Self::of(s.steps.get(id).into_iter().flatten())
    }

    /// `[{"stage", "steps", "elapsed_ms", "input", "output", "cache_read", "cache_write",
    /// "tokens", "cost_usd", "agent_steps", "unpriced_steps"}]`.
    pub(crate) fn stages_json(&self) -> Value {
        Value::Array(
            self.stages
                .iter()
                .map(|(name, g)| {
                    let mut m = Map::new();
                    m.insert("stage".into(), json!(name));
                    m.extend(g.fields());
                    Value::Object(m)
                })
                .collect(),
        )
    }

    /// `[{"agent", "model", "steps", "input", "output", "cache_read", "cache_write", "tokens",
    /// "cost_usd", "unpriced_steps"}]`.
    pub(crate) fn agents_json(&self) -> Value {
        Value::Array(
            self.agents
                .iter()
                .map(|a| {
                    let mut m = Map::new();
                    m.insert("agent".into(), json!(a.agent));
                    m.insert("model".into(), json!(a.model));
                    let mut used = object(a.used.to_json());
                    used.remove("agent_steps");
                    m.insert("steps".into(), json!(a.used.steps));
                    m.extend(used);
                    Value::Object(m)
                })
                .collect(),
        )
    }

    /// `implement 1,234 tokens $0.1200, review 567 tokens $0.0400`: the stages where an agent
    /// ran, or `None` when none did.
    pub(crate) fn stage_line(&self) -> Option<String> {
        let parts: Vec<String> = self
            .stages
            .iter()
            .filter(|(_, g)| g.used.steps > 0)
            .map(|(name, g)| format!("{name} {} tokens {}", thousands(g.used.usage.total()), cost(&g.used)))
            .collect();
        (!parts.is_empty()).then(|| parts.join(", "))
    }

    /// `claude (claude-sonnet-4) 1,234 tokens $0.1200, codex 567 tokens ?`, or `None` when no
    /// agent ran.
    pub(crate) fn agent_line(&self) -> Option<String> {
        let parts: Vec<String> = self
            .agents
            .iter()
            .map(|a| format!("{} {} tokens {}", agent_name(a), thousands(a.used.usage.total()), cost(&a.used)))
            .collect();
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

/// `claude (model)`, or the CLI alone when the model is unknown.
fn agent_name(a: &AgentUse) -> String {
    match &a.model {
        Some(m) => format!("{} ({m})", a.agent),
        None => a.agent.clone(),
    }
}

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Dollars in a table cell: empty without agent steps, `?` when none had a price.
pub(crate) fn cost(t: &Totals) -> String {
    if t.steps == 0 {
        String::new()
    } else if t.unpriced == t.steps {
        "?".into()
    } else {
        format!("${:.4}", t.cost_usd)
    }
}

/// Tokens in a table cell: empty without agent steps.
fn tokens_cell(t: &Totals) -> String {
    if t.steps == 0 { String::new() } else { thousands(t.usage.total()) }
}

/// The budget a run recorded (`{"usd", "tokens", "task_usd", "task_tokens", "soft_percent"}`,
/// any of them null) with how much of it was used: `"used_percent": {"usd", "tokens"}` and the
/// tasks over a per-task limit (`"tasks_over"`). `Null` when the run recorded none.
pub(crate) fn budget_json(s: &Session, run: Option<&RunRecord>, total: &Totals) -> Value {
    let Some(recorded) = run.and_then(|r| r.budget.as_object()) else {
        return Value::Null;
    };
    // `soft_percent` alone (always recorded) is no budget.
    if ["usd", "tokens", "task_usd", "task_tokens"].iter().all(|k| recorded.get(*k).is_none_or(Value::is_null)) {
        return Value::Null;
    }
    let limit = |k: &str| recorded.get(k).and_then(Value::as_f64).filter(|l| *l > 0.0);
    let percent = |used: f64, k: &str| limit(k).map(|l| (used / l * 1000.0).round() / 10.0);
    let mut out = recorded.clone();
    out.insert(
        "used_percent".into(),
        json!({
            "usd": percent(total.cost_usd, "usd"),
            "tokens": percent(total.usage.total() as f64, "tokens"),
        }),
    );
    let (task_usd, task_tokens) = (limit("task_usd"), limit("task_tokens"));
    if task_usd.is_some() || task_tokens.is_some() {
        let mut ids: Vec<&String> = s.steps.keys().collect();
        ids.sort();
        let over: Vec<&String> = ids
            .into_iter()
            .filter(|id| {
                let t = Totals::of_task(s, id);
                task_usd.is_some_and(|l| t.cost_usd > l) || task_tokens.is_some_and(|l| t.usage.total() as f64 > l)
            })
            .collect();
        out.insert("tasks_over".into(), json!(over));
    }
    Value::Object(out)
}

/// The estimate a run recorded before it started (`{"tasks", "tokens": {"input", "output"},
/// "cost_usd", "wall_ms", "source"}`), or `Null`.
pub(crate) fn estimate_json(run: Option<&RunRecord>) -> Value {
    run.map(|r| &r.estimate).filter(|e| e.is_object()).cloned().unwrap_or(Value::Null)
}

/// `budget: $1.2000 of $5.00 (24%), …`, or `None` without a budget.
fn budget_line(budget: &Value, total: &Totals) -> Option<String> {
    let b = budget.as_object()?;
    let num = |k: &str| b.get(k).and_then(Value::as_f64);
    let pct = |k: &str| {
        b.get("used_percent")
            .and_then(|p| p.get(k))
            .and_then(Value::as_f64)
            .map(|p| format!(" ({p}%)"))
            .unwrap_or_default()
    };
    let mut parts = Vec::new();
    if let Some(usd) = num("usd") {
        parts.push(format!("${:.4} of ${usd:.2}{}", total.cost_usd, pct("usd")));
    }
    if let Some(t) = num("tokens") {
        parts.push(format!("{} of {} tokens{}", thousands(total.usage.total()), thousands(t as u64), pct("tokens")));
    }
    let mut per_task = Vec::new();
    if let Some(usd) = num("task_usd") {
        per_task.push(format!("${usd:.2}"));
    }
    if let Some(t) = num("task_tokens") {
        per_task.push(format!("{} tokens", thousands(t as u64)));
    }
    if !per_task.is_empty() {
        let over: Vec<&str> =
            b.get("tasks_over").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
        let over = if over.is_empty() { String::new() } else { format!(", over it: {}", over.join(", ")) };
        parts.push(format!("per task {}{over}", per_task.join(" and ")));
    }
    if let Some(p) = num("soft_percent") {
        parts.push(format!("nothing new starts past {p}%"));
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// `~1.3M tokens (1.1M–4.3M), ~$0.55 ($0.40–$2.10), ~3m (2m–25m) for 3 task(s) (defaults); used …`,
/// or `None`: each figure's point estimate and its range. A figure the estimate did not know
/// (`null`: a `command` agent's tokens, dollars or time) reads "unknown"; an estimate recorded
/// before ranges existed reads `~N`.
fn estimate_line(est: &Value, total: &Totals) -> Option<String> {
    let e = est.as_object()?;
    let range = |k: &str| {
        let r = e.get(k).and_then(Value::as_array)?;
        Some((r.first().and_then(Value::as_f64)?, r.get(1).and_then(Value::as_f64)?))
    };
    let span = |lo: String, hi: String| if lo == hi { lo } else { format!("{lo}–{hi}") };
    let tokens = match e.get("tokens").filter(|t| t.is_object()) {
        None => "tokens unknown".to_owned(),
        Some(t) => {
            let n = |k: &str| t.get(k).and_then(Value::as_u64);
            match (n("low"), n("high"), n("total")) {
                (Some(lo), Some(hi), Some(total)) => {
                    format!("~{} tokens ({})", thousands(total), span(thousands(lo), thousands(hi)))
                }
                (_, _, Some(total)) => format!("~{} tokens", thousands(total)),
                _ => {
                    let sum: u64 = ["input", "output", "cache_read", "cache_write"].iter().filter_map(|k| n(k)).sum();
                    format!("~{} tokens", thousands(sum))
                }
            }
        }
    };
    let cost = match (range("cost_usd_range"), e.get("cost_usd").and_then(Value::as_f64)) {
        (Some((lo, hi)), Some(c)) => format!("~${c:.2} ({})", span(format!("${lo:.2}"), format!("${hi:.2}"))),
        (Some((lo, hi)), None) => span(format!("${lo:.2}"), format!("${hi:.2}")),
        (None, Some(c)) => format!("~${c:.2}"),
        (None, None) => "cost unknown".to_owned(),
    };
    let human = |ms: f64| super::steps::human(std::time::Duration::from_millis(ms.max(0.0) as u64));
    let wall = match (range("wall_ms_range"), e.get("wall_ms").and_then(Value::as_f64)) {
        (Some((lo, hi)), Some(w)) => format!("~{} ({})", human(w), span(human(lo), human(hi))),
        (Some((lo, hi)), None) => span(human(lo), human(hi)),
        (None, Some(w)) => format!("~{}", human(w)),
        (None, None) => "time unknown".to_owned(),
    };
    let tasks = e.get("tasks").and_then(Value::as_u64).unwrap_or(0);
    let source = e.get("source").and_then(Value::as_str).unwrap_or("?");
    let source = match (source, e.get("history_runs").and_then(Value::as_u64)) {
        ("history" | "mixed", Some(n)) => format!("{source}: {n} run{}", if n == 1 { "" } else { "s" }),
        _ => source.to_owned(),
    };
    let used = if total.steps == 0 {
        "no agent reported usage".to_owned()
    } else {
        format!(
            "used {} tokens, {}",
            thousands(total.usage.total()),
            match cost_of(total) {
                Some(c) => c,
                None => "cost unknown".into(),
            }
        )
    };
    Some(format!("{tokens}, {cost}, {wall} for {tasks} task(s) ({source}); {used}"))
}

/// Dollars over the priced steps, or `None` when no step had a price.
fn cost_of(t: &Totals) -> Option<String> {
    (t.steps > t.unpriced).then(|| format!("${:.4}", t.cost_usd))
}

/// The `## Costs` section of `summary.md`: the breakdown by stage and by agent, the budget and
/// the estimate. `run` is the run's latest `run` record.
pub(crate) fn summary_section(s: &Session, run: Option<&RunRecord>) -> String {
    let b = Breakdown::of_run(s);
    let mut out = String::from("\n## Costs\n\n");
    // The run's total is the summary's `used` line, above.
    if b.total.used.steps == 0 {
        let _ = writeln!(out, "- no agent reported usage (a `command` agent reports none)");
    }
    if let Some(line) = budget_line(&budget_json(s, run, &b.total.used), &b.total.used) {
        let _ = writeln!(out, "- budget: {line}");
    }
    if let Some(line) = estimate_line(&estimate_json(run), &b.total.used) {
        let _ = writeln!(out, "- estimate: {line}");
    }
    if b.stages.is_empty() {
        let _ = writeln!(out, "- no step has run yet");
        return out;
    }
    if !out.ends_with("\n\n") {
        out.push('\n');
    }
    let _ = writeln!(out, "| stage | steps | agent steps | tokens | cost | time |\n|---|---:|---:|---:|---:|---:|");
    for (name, g) in &b.stages {
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} | {} | {} |",
            g.steps,
            g.used.steps,
            tokens_cell(&g.used),
            cost(&g.used),
            duration(g.elapsed_ms)
        );
    }
    if !b.agents.is_empty() {
        let _ = writeln!(
            out,
            "\n| agent | model | steps | tokens in | tokens out | cache read | cache written | cost |\n|---|---|---:|---:|---:|---:|---:|---:|"
        );
        for a in &b.agents {
            let u = &a.used.usage;
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                a.agent,
                a.model.as_deref().unwrap_or(""),
                a.used.steps,
                u.input,
                u.output,
                u.cache_read,
                u.cache_write,
                cost(&a.used)
            );
        }
    }
    out
}

fn duration(ms: u64) -> String {
    super::steps::human(std::time::Duration::from_millis(ms))
}

/// One task's line of the report.
struct TaskRow {
    id: String,
    title: String,
    state: String,
    attempts: u32,
    failures: u32,
    breakdown: Breakdown,
    report: Option<PathBuf>,
}

/// Every task of the plan, then tasks the journal has steps of that the plan no longer holds
/// (as `removed`), so the rows add up to the run's totals.
fn task_rows(s: &Session, run_dir: Option<&std::path::Path>) -> Vec<TaskRow> {
    let report_of = |id: &str| run_dir.map(|d| d.join("tasks").join(format!("{id}.md"))).filter(|p| p.is_file());
    let mut rows: Vec<TaskRow> = s
        .engine
        .states()
        .iter()
        .enumerate()
        .map(|(i, st)| {
            let id = s.id(i).to_owned();
            TaskRow {
                title: s.task(i).map_or("", |t| t.title.as_str()).to_owned(),
                state: st.name().to_owned(),
                attempts: super::session::attempts(s, i),
                failures: super::session::failures(st),
                breakdown: Breakdown::of_task(s, &id),
                report: report_of(&id),
                id,
            }
        })
        .collect();
    let mut gone: Vec<&String> = s.steps.keys().filter(|id| !s.index.contains_key(id.as_str())).collect();
    gone.sort();
    for id in gone {
        let records = s.steps.get(id).map(Vec::as_slice).unwrap_or_default();
        rows.push(TaskRow {
            id: id.clone(),
            title: String::new(),
            state: "removed".into(),
            attempts: records.iter().map(|r| r.attempt).max().unwrap_or(0),
            failures: 0,
            breakdown: Breakdown::of(records),
            report: report_of(id),
        });
    }
    rows
}

pub fn report(args: &ReportOptions, console: &mut crate::console::Console<'_>) -> Result<u8, crate::Error> {
    let s = super::session::read(None, &args.state)?;
    let id = s.first_started_ms.map(layout::run_id);
    let runs = s.layout.dir.join("runs");
    if let Some(want) = &args.run {
        if id.as_deref() != Some(want.as_str()) {
            let kept = runs.join(want).join("summary.md");
            if kept.is_file() {
                return Err(crate::Error::OnlySummary {
                    dir: s.layout.dir.clone(),
                    current: id.unwrap_or_else(|| "?".into()),
                    want: want.clone(),
                    summary: kept,
                });
            } else {
                let mut known: Vec<String> = std::fs::read_dir(&runs)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .filter(|e| e.path().is_dir())
                    .filter_map(|e| e.file_name().to_str().map(str::to_owned))
                    .chain(id.clone())
                    .collect();
                known.sort();
                known.dedup();
                return Err(crate::Error::NoSuchRun { dir: s.layout.dir.clone(), want: want.clone(), known });
            }
        }
    }
    let running = s.layout.probe();
    let run_dir = id.as_ref().map(|id| runs.join(id));
    let rows = task_rows(&s, run_dir.as_deref());
    let all = Breakdown::of_run(&s);
    let run = s.last_run.as_ref();
    let budget = budget_json(&s, run, &all.total.used);
    let estimate = estimate_json(run);
    if args.json {
        console.println(
            &report_json(&s, id.as_deref(), running.is_some(), (&rows, &all), (&budget, &estimate)).to_string(),
        );
        return Ok(exit::OK);
    }
    let text = report_text(&s, id.as_deref(), running, (&rows, &all), (&budget, &estimate), run_dir.as_deref());
    console.print(&text);
    Ok(exit::OK)
}

fn report_json(
    s: &Session,
    id: Option<&str>,
    running: bool,
    (rows, all): (&[TaskRow], &Breakdown),
    (budget, estimate): (&Value, &Value),
) -> Value {
    let first = s.first_run.as_ref();
    let recorded = |field: fn(&RunRecord) -> &Option<String>| json!(first.and_then(|r| field(r).as_ref()));
    let summary = id.map(|id| s.layout.dir.join("runs").join(id).join("summary.md")).filter(|p| p.is_file());
    let tasks: Vec<Value> = rows
        .iter()
        .map(|r| {
            let mut m = Map::new();
            m.insert("id".into(), json!(r.id));
            m.insert("title".into(), json!(r.title));
            m.insert("state".into(), json!(r.state));
            m.insert("attempts".into(), json!(r.attempts));
            m.insert("failures".into(), json!(r.failures));
            m.extend(r.breakdown.total.fields());
            m.insert("per_stage".into(), r.breakdown.stages_json());
            m.insert("report".into(), json!(r.report.as_ref().map(|p| p.display().to_string())));
            Value::Object(m)
        })
        .collect();
    let mut totals = all.total.fields();
    totals.insert("tasks".into(), json!(rows.len()));
    json!({
        "run": {
            "id": id,
            "plan": s.plan_path.display().to_string(),
            "format": s.loaded.format.name(),
            "state_dir": s.layout.dir.display().to_string(),
            "outcome": if running { None } else { s.last_outcome.as_deref() },
            "running": running,
            "started_unix_ms": s.first_started_ms,
            "started": s.first_started_ms.map(layout::utc),
            "workspace": recorded(|r| &r.workspace),
            "integration": recorded(|r| &r.integration),
            "agent": s.last_run.as_ref().and_then(|r| r.agent.as_ref()),
            "model": s.last_run.as_ref().and_then(|r| r.model.as_ref()),
            "summary": summary.map(|p| p.display().to_string()),
        },
        "totals": totals,
        "tasks": tasks,
        "per_stage": all.stages_json(),
        "per_agent": all.agents_json(),
        "budget": budget,
        "estimate": estimate,
    })
}

fn report_text(
    s: &Session,
    id: Option<&str>,
    running: Option<Option<u32>>,
    (rows, all): (&[TaskRow], &Breakdown),
    (budget, estimate): (&Value, &Value),
    run_dir: Option<&std::path::Path>,
) -> String {
    let mut out = String::new();
    let outcome = match (running, s.last_outcome.as_deref()) {
        (Some(pid), _) => format!("in progress{}", pid.map(|p| format!(" (process {p})")).unwrap_or_default()),
        (None, Some("budget")) => "stopped at its budget".to_owned(),
        (None, Some("provider_error")) => "stopped by a model provider's error".to_owned(),
        (None, Some("final_check_failed")) => "every task done, the final check failed".to_owned(),
        (None, Some(o)) => o.replace('_', " "),
        (None, None) => "stopped before it finished".to_owned(),
    };
    let started = s
        .first_started_ms
        .map(|ms| format!(", started {} UTC", layout::utc(ms).replace('T', " ").trim_end_matches('Z')))
        .unwrap_or_default();
    let _ = writeln!(out, "run {}: {}{started}", id.unwrap_or("?"), outcome);
    let _ = writeln!(out, "plan: {} ({})", s.plan_path.display(), s.loaded.format.name());
    if let Some(branch) = s.first_run.as_ref().and_then(|r| r.integration.as_deref()) {
        let _ = writeln!(out, "integration branch: {branch}");
    }
    let _ = writeln!(out);
    let mut table = vec![["task", "state", "attempts", "tokens", "cost"].map(str::to_owned).to_vec()];
    for r in rows {
        let t = &r.breakdown.total.used;
        table.push(vec![r.id.clone(), r.state.clone(), r.attempts.to_string(), tokens_cell(t), cost(t)]);
    }
    let attempts: u32 = rows.iter().map(|r| r.attempts).sum();
    let t = &all.total.used;
    table.push(vec!["total".into(), String::new(), attempts.to_string(), tokens_cell(t), cost(t)]);
    out.push_str(&columns(&table, &[false, false, true, true, true]));
    let _ = writeln!(out);
    match t.line() {
        Some(line) => {
            let _ = writeln!(out, "used {line}");
        }
        None => {
            let _ = writeln!(out, "no agent reported usage (a `command` agent reports none)");
        }
    }
    if !all.stages.is_empty() {
        let _ = writeln!(out, "\nby stage:");
        let rows: Vec<Vec<String>> = all
            .stages
            .iter()
            .map(|(name, g)| {
                vec![
                    name.clone(),
                    format!("{} step{}", g.steps, if g.steps == 1 { "" } else { "s" }),
                    if g.used.steps == 0 {
                        String::new()
                    } else {
                        format!("{} tokens", thousands(g.used.usage.total()))
                    },
                    cost(&g.used),
                    duration(g.elapsed_ms),
                ]
            })
            .collect();
        out.push_str(&indent(&columns(&rows, &[false, true, true, true, true])));
    }
    if !all.agents.is_empty() {
        let _ = writeln!(out, "\nby agent:");
        let rows: Vec<Vec<String>> = all
            .agents
            .iter()
            .map(|a| {
                vec![
                    agent_name(a),
                    format!("{} step{}", a.used.steps, if a.used.steps == 1 { "" } else { "s" }),
                    format!("{} tokens", thousands(a.used.usage.total())),
                    cost(&a.used),
                ]
            })
            .collect();
        out.push_str(&indent(&columns(&rows, &[false, true, true, true])));
    }
    let mut tail = Vec::new();
    if let Some(line) = budget_line(budget, t) {
        tail.push(format!("budget: {line}"));
    }
    if let Some(line) = estimate_line(estimate, t) {
        tail.push(format!("estimate: {line}"));
    }
    if let Some(dir) = run_dir.filter(|d| d.join("summary.md").is_file()) {
        tail.push(format!("summary: {}", dir.join("summary.md").display()));
    }
    if rows.iter().any(|r| r.report.is_some()) {
        if let Some(dir) = run_dir {
            tail.push(format!("step reports: {}", dir.join("tasks").display()));
        }
    }
    if !tail.is_empty() {
        let _ = writeln!(out);
        for line in tail {
            let _ = writeln!(out, "{line}");
        }
    }
    out
}

/// Rows as aligned columns (two spaces apart), `right` saying which are right-aligned.
fn columns(rows: &[Vec<String>], right: &[bool]) -> String {
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> =
        (0..n).map(|c| rows.iter().filter_map(|r| r.get(c)).map(|x| x.chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            let w = widths.get(c).copied().unwrap_or(0);
            if c > 0 {
                line.push_str("  ");
            }
            if right.get(c).copied().unwrap_or(false) {
                let _ = write!(line, "{cell:>w$}");
            } else {
                let _ = write!(line, "{cell:<w$}");
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::session::AgentRecord;
    use planrun_agents::Usage;

    fn step(step: &str, agent: Option<(&str, Option<&str>, u64, Option<f64>)>) -> StepRecord {
        StepRecord {
            attempt: 1,
            step: step.into(),
            ok: true,
            summary: String::new(),
            elapsed_ms: 100,
            ended_ms: None,
            agent: agent.map(|(a, m, tokens, cost)| AgentRecord {
                agent: a.into(),
                model: m.map(str::to_owned),
                usage: Usage { input: tokens, output: 1, ..Usage::default() },
                cost_usd: cost,
                cost_source: if cost.is_some() { "reported".into() } else { "unknown".into() },
                ..AgentRecord::default()
            }),
            detail: None,
        }
    }

    #[test]
    fn stages_come_in_pipeline_order_and_every_breakdown_adds_up() {
        let steps = [
            step("review", Some(("codex", None, 50, None))),
            step("verify", None),
            step("implement", Some(("claude", Some("m"), 10, Some(0.5)))),
            step("implement", Some(("claude", Some("m"), 20, Some(0.25)))),
            step("zeta", None),
        ];
        let b = Breakdown::of(&steps);
        let names: Vec<&str> = b.stages.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["implement", "verify", "review", "zeta"]);
        assert_eq!(b.total.steps, 5);
        assert_eq!(b.total.elapsed_ms, 500);
        assert_eq!(b.stages.iter().map(|(_, g)| g.used.usage.total()).sum::<u64>(), b.total.used.usage.total());
        assert_eq!(b.agents.iter().map(|a| a.used.usage.total()).sum::<u64>(), 83);
        assert_eq!(b.agents.len(), 2);
        assert_eq!(b.agents[0].agent, "claude");
        assert_eq!((b.agents[0].used.steps, b.agents[0].used.cost_usd), (2, 0.75));
        assert_eq!((b.agents[1].used.steps, b.agents[1].used.unpriced), (1, 1));
        assert_eq!(b.stage_line().unwrap(), "implement 32 tokens $0.7500, review 51 tokens ?");
        assert_eq!(b.agent_line().unwrap(), "claude (m) 32 tokens $0.7500, codex 51 tokens ?");
        let stages = b.stages_json();
        assert_eq!(stages[0]["stage"], "implement");
        assert_eq!(stages[0]["tokens"], 32);
        assert_eq!(stages[1]["agent_steps"], 0);
        let agents = b.agents_json();
        assert_eq!(agents[1]["model"], Value::Null);
        assert_eq!(agents[1]["unpriced_steps"], 1);
    }

    #[test]
    fn no_steps_give_no_lines() {
        let b = Breakdown::of(&[step("verify", None)]);
        assert_eq!((b.stage_line(), b.agent_line()), (None, None));
    }

    #[test]
    fn the_estimate_line_says_unknown_where_the_estimate_did() {
        let none = Totals::default();
        let unknown = json!({"tasks": 2, "tokens": null, "cost_usd": null, "cost_usd_range": null,
                             "wall_ms": null, "wall_ms_range": null, "source": "defaults", "history_runs": 0});
        assert_eq!(
            estimate_line(&unknown, &none).unwrap(),
            "tokens unknown, cost unknown, time unknown for 2 task(s) (defaults); no agent reported usage"
        );
        let ranged = json!({"tasks": 1, "tokens": {"total": 150, "low": 100, "high": 2_000}, "cost_usd": 0.15,
                            "cost_usd_range": [0.1, 0.2], "wall_ms": 90_000, "wall_ms_range": [60_000, 120_000],
                            "source": "history", "history_runs": 3});
        let mut used = Totals::default();
        used.add(&crate::session::AgentRecord {
            usage: Usage { input: 1_000, output: 10, ..Usage::default() },
            cost_usd: Some(0.5),
            ..crate::session::AgentRecord::default()
        });
        assert_eq!(
            estimate_line(&ranged, &used).unwrap(),
            "~150 tokens (100–2,000), ~$0.15 ($0.10–$0.20), ~1m30s (1m–2m) for 1 task(s) (history: 3 runs); \
             used 1,010 tokens, $0.5000"
        );
        // An estimate recorded before ranges: its single figures.
        let old = json!({"tasks": 1, "tokens": {"input": 1_000, "output": 234}, "cost_usd": 0.42, "wall_ms": 300_000,
                         "source": "defaults"});
        assert_eq!(
            estimate_line(&old, &none).unwrap(),
            "~1,234 tokens, ~$0.42, ~5m for 1 task(s) (defaults); no agent reported usage"
        );
        assert_eq!(estimate_line(&Value::Null, &none), None);
    }

    #[test]
    fn columns_align_and_trim() {
        let rows = vec![vec!["a".to_owned(), "10".to_owned()], vec!["long".to_owned(), "2".to_owned()]];
        assert_eq!(columns(&rows, &[false, true]), "a     10\nlong   2\n");
    }
}
