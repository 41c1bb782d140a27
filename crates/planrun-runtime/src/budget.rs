//! What running agents have used so far, read from their event streams as they arrive and
//! sent to the dispatcher as messages; the rules that act on it (budgets, the watchdog,
//! rate-limit waits, usage windows) are the engine's (`planrun_engine::policy`). Also the
//! budgets' record in the journal.

pub use planrun_engine::policy::WatchPolicy;
pub(crate) use planrun_engine::policy::{Budgets, Spend};

use planrun_agents::{AgentKind, Reader, Usage};
use std::io::{Read as _, Seek as _};
use std::path::Path;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;

/// Its name in run events.
impl From<WatchPolicy> for super::events::Policy {
    fn from(p: WatchPolicy) -> Self {
        match p {
            WatchPolicy::Retry => Self::Retry,
            WatchPolicy::Block => Self::Block,
            WatchPolicy::Stop => Self::Stop,
        }
    }
}

/// The spend of a usage record.
pub(crate) fn spend_of(usage: &Usage, usd: Option<f64>) -> Spend {
    Spend::new(usage.total(), usd)
}

/// A report from a running agent to the dispatcher.
#[derive(Debug, Clone)]
pub(crate) enum Report {
    /// An agent run starts; `run` is its key (its log's path).
    Started { run: String, task: usize, attempt: u32, role: &'static str, agent: AgentKind },
    /// What it has used so far (`None`: a command agent, whose output is not read), and that
    /// it printed something.
    Used { run: String, spend: Option<Spend> },
}

/// The budgets as the journal's run record holds them.
#[derive(Debug, serde::Serialize)]
struct BudgetRecord {
    usd: Option<f64>,
    tokens: Option<u64>,
    task_usd: Option<f64>,
    task_tokens: Option<u64>,
    soft_percent: f64,
}

/// The budgets' record in the journal's run record.
pub(crate) fn budgets_json(b: &Budgets) -> serde_json::Value {
    let record = BudgetRecord {
        usd: b.usd,
        tokens: b.tokens,
        task_usd: b.task_usd,
        task_tokens: b.task_tokens,
        soft_percent: (b.soft * 100.0).round(),
    };
    serde_json::to_value(record).unwrap_or_default()
}

/// Follows an agent's log while it runs: each complete line through the CLI's event reader,
/// the usage so far (and its cost) into the meter, and whether it printed anything. Runs until
/// aborted.
pub(crate) async fn follow(
    reports: UnboundedSender<Report>,
    run: String,
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
            let _ = reports.send(Report::Used { run: run.clone(), spend: None });
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
        let _ = reports.send(Report::Used { run: run.clone(), spend: Some(spend_of(&usage, usd)) });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn the_follower_reports_what_a_growing_log_has_used() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("a.log");
        std::fs::write(&log, "").unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let l = log.clone();
        let task = tokio::spawn(follow(tx, "a".into(), AgentKind::Claude, l, 0, Usage::default(), |_, u| {
            Some(u.total() as f64 / 1000.0)
        }));
        let line = r#"{"type":"assistant","message":{"model":"m","usage":{"input_tokens":100,"output_tokens":20},"content":[]},"session_id":"s"}"#;
        std::fs::write(&log, format!("{line}\n{{\"partial")).unwrap();
        tokio::time::sleep(Duration::from_millis(700)).await;
        task.abort();
        let mut last = None;
        while let Ok(r) = rx.try_recv() {
            last = Some(r);
        }
        let Some(Report::Used { run, spend: Some(spend) }) = last else { panic!("no usage reported: {last:?}") };
        assert_eq!(run, "a");
        assert_eq!(spend.tokens, 120, "{spend:?}");
        assert!((spend.usd - 0.12).abs() < 1e-9);
    }
}
