//! Cost control while a run goes: what running agents have used so far, read from their event
//! streams as they arrive (the meter), the run's and each task's budget against that (soft:
//! start nothing new; hard: stop every agent), agents paused by their provider's rate limits,
//! and the watchdog (a run making no progress, a task failing the same way twice). Decides what
//! to stop; the runner carries it out.

use serde::Deserialize;

/// What the watchdog does about what it finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WatchPolicy {
    /// Run the task again in a fresh session.
    Retry,
    /// Block the task.
    Block,
    /// Stop the run (exit 4).
    Stop,
}

impl WatchPolicy {
    /// Its name in run events.
    pub(crate) fn event(self) -> super::events::Policy {
        match self {
            Self::Retry => super::events::Policy::Retry,
            Self::Block => super::events::Policy::Block,
            Self::Stop => super::events::Policy::Stop,
        }
    }
}

use planrun_agents::{AgentKind, Reader, Usage};
use rustc_hash::FxHashMap;
use std::io::{Read as _, Seek as _};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Tokens and dollars.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(crate) struct Spend {
    /// Input + output + cache tokens.
    pub(crate) tokens: u64,
    /// Dollars, over the steps whose cost is known.
    pub(crate) usd: f64,
}

impl Spend {
    pub(crate) fn of(usage: &Usage, usd: Option<f64>) -> Self {
        Spend { tokens: usage.total(), usd: usd.unwrap_or(0.0) }
    }

    pub(crate) fn add(&mut self, o: Spend) {
        self.tokens = self.tokens.saturating_add(o.tokens);
        self.usd += o.usd;
    }

    pub(crate) fn plus(mut self, o: Spend) -> Spend {
        self.add(o);
        self
    }
}

/// One agent run in progress, as far as its events have come.
#[derive(Debug, Clone)]
pub(crate) struct Live {
    pub(crate) task: usize,
    pub(crate) attempt: u32,
    /// `implement`, `take`, `review` or `test`.
    pub(crate) role: &'static str,
    pub(crate) agent: AgentKind,
    pub(crate) spend: Spend,
    /// When it last printed anything.
    pub(crate) last_output: Instant,
}

/// What running agents have used so far, updated as their events arrive; the runner clears a
/// run's entry when its step is journaled (its usage then counts from the journal).
#[derive(Debug, Default)]
pub(crate) struct Meter {
    runs: Mutex<FxHashMap<u64, Live>>,
    next: AtomicU64,
}

impl Meter {
    /// A new agent run; its id for `update`.
    pub(crate) fn start(&self, task: usize, attempt: u32, role: &'static str, agent: AgentKind) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let live = Live { task, attempt, role, agent, spend: Spend::default(), last_output: Instant::now() };
        if let Ok(mut runs) = self.runs.lock() {
            runs.insert(id, live);
        }
        id
    }

    /// What run `id` has used so far; `output` when it printed something since the last update.
    pub(crate) fn update(&self, id: u64, spend: Option<Spend>, output: bool) {
        if let Ok(mut runs) = self.runs.lock() {
            if let Some(l) = runs.get_mut(&id) {
                if let Some(s) = spend {
                    l.spend = s;
                }
                if output {
                    l.last_output = Instant::now();
                }
            }
        }
    }

    /// Every agent run in progress.
    pub(crate) fn snapshot(&self) -> Vec<Live> {
        self.runs.lock().map(|r| r.values().cloned().collect()).unwrap_or_default()
    }

    /// Forgets the runs of `task`'s attempt in `role` (their step is journaled now).
    pub(crate) fn clear(&self, task: usize, attempt: u32, role: &str) {
        if let Ok(mut runs) = self.runs.lock() {
            runs.retain(|_, l| !(l.task == task && l.attempt == attempt && l.role == role));
        }
    }
}

/// Follows an agent's log while it runs: each complete line through the CLI's event reader,
/// the usage so far (and its cost) into the meter, and whether it printed anything. Runs until
/// aborted.
pub(crate) async fn follow(
    meter: std::sync::Arc<Meter>,
    id: u64,
    kind: AgentKind,
    log: std::path::PathBuf,
    from: u64,
    before: Usage,
    price: impl Fn(Option<&str>, &Usage) -> Option<f64>,
) {
    let mut reader = (kind != AgentKind::Command).then(|| Reader::new(kind));
    let mut offset = from;
    let mut partial: Vec<u8> = Vec::new();
    loop {
        tokio::time::sleep(FOLLOW_EVERY).await;
        let len = std::fs::metadata(&log).map_or(offset, |m| m.len());
        if len <= offset {
            continue;
        }
        let Some(reader) = reader.as_mut() else {
            // A command agent's output is not read: only that it printed.
            offset = len;
            meter.update(id, None, true);
            continue;
        };
        let chunk = read_at(&log, offset, FOLLOW_CHUNK);
        offset = offset.saturating_add(chunk.len() as u64);
        partial.extend_from_slice(&chunk);
        while let Some(end) = partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = partial.drain(..=end).collect();
            reader.line(&String::from_utf8_lossy(&line));
        }
        if partial.len() > FOLLOW_LINE {
            // A line no event is this long: skip it.
            partial.clear();
        }
        let r = &reader.report;
        let usage = if kind.cumulative_usage() { r.usage.since(&before) } else { r.usage };
        let usd = r.cost_usd.or_else(|| price(r.model.as_deref(), &usage));
        meter.update(id, Some(Spend::of(&usage, usd)), true);
    }
}

const FOLLOW_EVERY: Duration = Duration::from_millis(250);
const FOLLOW_CHUNK: u64 = 1 << 20;
const FOLLOW_LINE: usize = 16 << 20;

fn read_at(path: &Path, offset: u64, limit: u64) -> Vec<u8> {
    let mut buf = Vec::new();
    if let Ok(mut f) = std::fs::File::open(path) {
        if f.seek(std::io::SeekFrom::Start(offset)).is_ok() {
            let _ = f.take(limit).read_to_end(&mut buf);
        }
    }
    buf
}

/// The run's and each task's budget.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Budgets {
    pub(crate) usd: Option<f64>,
    pub(crate) tokens: Option<u64>,
    pub(crate) task_usd: Option<f64>,
    pub(crate) task_tokens: Option<u64>,
    /// The share of a run budget at which nothing new starts.
    pub(crate) soft: f64,
}

/// How far a spend is into a budget.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Reached {
    Under,
    /// Past the soft threshold: start nothing new.
    Soft(String),
    /// At or past the budget: stop.
    Hard(String),
}

impl Budgets {
    /// Where the run's spend stands against the run's budget.
    pub(crate) fn run(&self, spent: Spend) -> Reached {
        let mut soft = None;
        if let Some(b) = self.usd {
            if spent.usd >= b {
                return Reached::Hard(format!("spent ${:.4} of the run's budget of ${b:.2}", spent.usd));
            }
            if spent.usd >= b * self.soft {
                soft = Some(format!(
                    "spent ${:.4}, {:.0}% of the run's budget of ${b:.2}",
                    spent.usd,
                    spent.usd / b * 100.0
                ));
            }
        }
        if let Some(b) = self.tokens {
            if spent.tokens >= b {
                return Reached::Hard(format!("used {} tokens of the run's budget of {b}", spent.tokens));
            }
            if (spent.tokens as f64) >= (b as f64) * self.soft && soft.is_none() {
                soft = Some(format!(
                    "used {} tokens, {:.0}% of the run's budget of {b}",
                    spent.tokens,
                    spent.tokens as f64 / b as f64 * 100.0
                ));
            }
        }
        soft.map_or(Reached::Under, Reached::Soft)
    }

    /// Why `task`'s spend is over its own budget, if it is.
    pub(crate) fn task(&self, spent: Spend) -> Option<String> {
        if let Some(b) = self.task_usd.filter(|b| spent.usd >= *b) {
            return Some(format!("the task alone spent ${:.4}, over its budget of ${b:.2}", spent.usd));
        }
        if let Some(b) = self.task_tokens.filter(|b| spent.tokens >= *b) {
            return Some(format!("the task alone used {} tokens, over its budget of {b}", spent.tokens));
        }
        None
    }

    pub(crate) fn to_json(self) -> serde_json::Value {
        serde_json::json!({
            "usd": self.usd,
            "tokens": self.tokens,
            "task_usd": self.task_usd,
            "task_tokens": self.task_tokens,
            "soft_percent": (self.soft * 100.0).round(),
        })
    }
}

/// Whether a provider's error is a rate limit or an overload (HTTP 429 or 529, or its words):
/// the agent waits and goes on, instead of the run stopping.
pub(crate) fn is_rate_limit(error: &str) -> bool {
    let e = error.to_ascii_lowercase();
    ["429", "529", "rate limit", "rate_limit", "ratelimit", "overloaded", "too many requests", "quota"]
        .iter()
        .any(|w| e.contains(w))
}

/// The wait a provider's error names (`retry-after: 30`, `try again in 1m30s`, `reset in 12s`,
/// `retry after 5 seconds`), if any.
pub(crate) fn reset_in(error: &str) -> Option<Duration> {
    let e = error.to_ascii_lowercase();
    for key in ["retry-after-ms", "retry-after", "retry after", "try again in", "reset in", "resets in", "retry in"] {
        let Some(at) = e.find(key) else { continue };
        let rest = e.get(at + key.len()..).unwrap_or("").trim_start_matches([':', ' ', '"', '=']);
        let num: String = rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
        let Ok(n) = num.parse::<f64>() else { continue };
        let unit = rest.get(num.len()..).unwrap_or("").trim_start();
        let secs = if key == "retry-after-ms" || unit.starts_with("ms") {
            n / 1000.0
        } else if unit.starts_with('m') && !unit.starts_with("ms") {
            n * 60.0
        } else if unit.starts_with('h') {
            n * 3600.0
        } else {
            n
        };
        if secs.is_finite() && (0.0..7.0 * 86_400.0).contains(&secs) {
            return Some(Duration::from_secs_f64(secs));
        }
    }
    None
}

/// A failure's reason with what changes between identical failures (numbers: timings, line
/// counts, ids) taken out, to tell a task failing the same way twice.
pub(crate) fn failure_key(reason: &str) -> String {
    let mut out = String::with_capacity(reason.len().min(4096));
    let mut last_space = false;
    for c in reason.chars().take(4096) {
        if c.is_ascii_digit() {
            continue;
        }
        if c.is_whitespace() {
            if !last_space {
                out.push(' ');
            }
            last_space = true;
        } else {
            out.push(c);
            last_space = false;
        }
    }
    out.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_have_a_soft_and_a_hard_line() {
        let b = Budgets { usd: Some(1.0), tokens: Some(1000), task_usd: Some(0.5), soft: 0.8, ..Budgets::default() };
        assert_eq!(b.run(Spend { tokens: 10, usd: 0.5 }), Reached::Under);
        assert!(matches!(b.run(Spend { tokens: 10, usd: 0.85 }), Reached::Soft(m) if m.contains("85%")));
        assert!(matches!(b.run(Spend { tokens: 850, usd: 0.1 }), Reached::Soft(m) if m.contains("850 tokens")));
        assert!(matches!(b.run(Spend { tokens: 10, usd: 1.0 }), Reached::Hard(m) if m.contains("$1.00")));
        assert!(matches!(b.run(Spend { tokens: 1000, usd: 0.0 }), Reached::Hard(_)));
        assert_eq!(b.task(Spend { tokens: 1, usd: 0.4 }), None);
        assert!(b.task(Spend { tokens: 1, usd: 0.6 }).unwrap().contains("over its budget of $0.50"));
    }

    #[test]
    fn rate_limits_and_their_reset_times_are_read_from_the_providers_words() {
        assert!(is_rate_limit("API Error: 429 {\"type\":\"rate_limit_error\"}"));
        assert!(is_rate_limit("Overloaded (HTTP 529)"));
        assert!(!is_rate_limit("API Error: 500 internal"));
        assert_eq!(reset_in("429: retry-after: 30"), Some(Duration::from_secs(30)));
        assert_eq!(reset_in("Rate limit reached. Please try again in 1m"), Some(Duration::from_secs(60)));
        assert_eq!(reset_in("retry-after-ms: 1500"), Some(Duration::from_millis(1500)));
        assert_eq!(reset_in("try again in 250ms"), Some(Duration::from_millis(250)));
        assert_eq!(reset_in("429 too many requests"), None);
    }

    #[test]
    fn the_same_failure_is_recognised_whatever_its_numbers() {
        let a = failure_key("the check `cargo test` exited with code 101\n test x ... FAILED (0.12s)");
        let b = failure_key("the check `cargo test` exited with code 101\n  test x ... FAILED (0.31s)");
        assert_eq!(a, b);
        assert_ne!(a, failure_key("the check `cargo test` exited with code 101\n test y ... FAILED"));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn the_meter_follows_a_log_as_it_grows() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("a.log");
        std::fs::write(&log, "").unwrap();
        let meter = std::sync::Arc::new(Meter::default());
        let id = meter.start(3, 1, "implement", AgentKind::Claude);
        let m = std::sync::Arc::clone(&meter);
        let l = log.clone();
        let task = tokio::spawn(follow(m, id, AgentKind::Claude, l, 0, Usage::default(), |_, u| {
            Some(u.total() as f64 / 1000.0)
        }));
        let line = r#"{"type":"assistant","message":{"model":"m","usage":{"input_tokens":100,"output_tokens":20},"content":[]},"session_id":"s"}"#;
        std::fs::write(&log, format!("{line}\n{{\"partial")).unwrap();
        tokio::time::sleep(Duration::from_millis(700)).await;
        task.abort();
        let live = meter.snapshot();
        assert_eq!(live.len(), 1);
        assert_eq!(live[0].spend.tokens, 120, "{live:?}");
        assert!((live[0].spend.usd - 0.12).abs() < 1e-9);
        meter.clear(3, 1, "implement");
        assert!(meter.snapshot().is_empty());
    }
}
