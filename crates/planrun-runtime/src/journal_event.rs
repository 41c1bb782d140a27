//! The journal's events, typed: every kind the runtime writes, with its payload as a struct.
//! Writers build a [`JournalEvent`] and [`JournalEvent::payload`] turns it into the stored JSON;
//! readers turn each stored event back with [`JournalEvent::decode`]. The stored form is the
//! one planrun has always written (the same `kind` strings, field names and JSON types; objects
//! are stored with their keys sorted), so journals of earlier versions open unchanged; fields
//! added later are optional. A kind this planrun does not know, or a payload it cannot read
//! (written by a newer planrun), decodes as [`JournalEvent::Unknown`] and is passed over.
//! No printing and no command line here.

use planrun_agents::Usage;
use planrun_engine::{FinalCheck, Transition};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The version of the journal's event payloads this planrun writes, recorded in every `run`
/// record as `journal_v` (journals written before it was recorded hold version 1's payloads).
pub(crate) const JOURNAL_EVENTS_VERSION: u32 = 1;

/// One journal event, by kind.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum JournalEvent {
    /// `run`: an invocation of `planrun run` started, with its settings.
    Run(Box<RunRecord>),
    /// `plan`: the fingerprints of the plan's tasks as this invocation read them.
    Plan(PlanRecord),
    /// `orphans`: the process groups left by an earlier planrun that this one stopped.
    Orphans(OrphansRecord),
    /// `kept`: work a removed worktree held, kept under a ref.
    Kept(KeptRecord),
    /// `change`: a task's state changed (the engine's transition, under the task).
    Change(Transition),
    /// `final`: the plan's final check changed.
    Final(FinalCheck),
    /// `step`: a step of a task's attempt ended (under the task).
    Step(Box<StepPayload>),
    /// `hold`: a task's passed work waits in its worktree for the user's commit.
    Hold(HoldRecord),
    /// `finished`: the invocation ended, and how.
    Finished(FinishedRecord),
    /// `user`: the user asked for a change (`planrun retry`/`skip`).
    User(UserRecord),
    /// A kind this planrun does not know, or a payload it cannot read: kept as stored.
    Unknown { kind: String, payload: Value, error: Option<String> },
}

/// The settings an invocation of `planrun run` started with. Every field is optional when
/// read, since older journals lack some; those written as `null` are written so still.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct RunRecord {
    pub(crate) plan: Option<String>,
    /// The plan's path inside the workspace, when it lies there.
    pub(crate) plan_in_workspace: Option<String>,
    pub(crate) format: Option<String>,
    pub(crate) pid: Option<u32>,
    pub(crate) version: Option<String>,
    pub(crate) jobs: Option<u64>,
    pub(crate) max_rework: Option<u64>,
    pub(crate) agent: Option<String>,
    pub(crate) model: Option<String>,
    pub(crate) resume_rounds: Option<u32>,
    pub(crate) started_unix_ms: Option<u64>,
    /// The command line, with secret values redacted.
    pub(crate) argv: Vec<String>,
    /// The budget module's own record (`budget::Budgets::to_json`).
    pub(crate) budget: Value,
    /// The estimate module's own record (`estimate::Estimate::to_json`).
    pub(crate) estimate: Value,
    pub(crate) cwd: Option<String>,
    pub(crate) workspace: Option<String>,
    pub(crate) integration: Option<String>,
    pub(crate) pipeline_run: Option<String>,
    pub(crate) stages: Vec<String>,
    pub(crate) commit: Option<String>,
    pub(crate) batch: Option<u32>,
    pub(crate) scope: Option<String>,
    pub(crate) reviews: Vec<String>,
    pub(crate) reviewer: Option<String>,
    /// [`JOURNAL_EVENTS_VERSION`] of the planrun that wrote it; absent before it was recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) journal_v: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct PlanRecord {
    /// Each task's fingerprint, by id.
    pub(crate) fingerprints: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct OrphansRecord {
    pub(crate) pids: Vec<i32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct KeptRecord {
    #[serde(rename = "ref")]
    pub(crate) reference: String,
    pub(crate) commit: String,
    /// What removed the worktree (`swept`).
    pub(crate) why: String,
}

/// A step that ended. Fields absent in older journals read as their defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct StepPayload {
    pub(crate) attempt: u32,
    pub(crate) step: String,
    pub(crate) ok: bool,
    pub(crate) interrupted: bool,
    /// `passed`, or the first line of why it failed.
    pub(crate) summary: String,
    pub(crate) elapsed_ms: u64,
    /// When it ended (Unix milliseconds).
    pub(crate) ended_unix_ms: Option<u64>,
    /// The step's log, when it has one.
    pub(crate) log: Option<String>,
    /// For a step run by an agent: which, its session and what it used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) agent: Option<AgentRecord>,
    /// What the step found; its shape is the step's own (changed files for `scope`, checks for
    /// `verify`, findings for reviews, commits for `commit` and `merge`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) detail: Option<Value>,
}

/// What an agent's step used.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct AgentRecord {
    pub(crate) agent: String,
    #[serde(default)]
    pub(crate) model: Option<String>,
    #[serde(default)]
    pub(crate) session: Option<String>,
    #[serde(default)]
    pub(crate) resumed: bool,
    #[serde(default)]
    pub(crate) usage: Usage,
    #[serde(default)]
    pub(crate) session_usage: Option<Usage>,
    #[serde(default)]
    pub(crate) cost_usd: Option<f64>,
    #[serde(default = "unknown")]
    pub(crate) cost_source: String,
}

fn unknown() -> String {
    "unknown".to_owned()
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct HoldRecord {
    pub(crate) attempt: u32,
    pub(crate) worktree: String,
    pub(crate) branch: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct FinishedRecord {
    /// `done`, `blocked`, `final_check_failed`, `interrupted`, `paused`, `budget`, …
    pub(crate) outcome: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct UserRecord {
    /// `retry` or `skip`.
    pub(crate) action: String,
}

impl JournalEvent {
    /// The kind it is stored under.
    pub(crate) fn kind(&self) -> &str {
        match self {
            JournalEvent::Run(_) => "run",
            JournalEvent::Plan(_) => "plan",
            JournalEvent::Orphans(_) => "orphans",
            JournalEvent::Kept(_) => "kept",
            JournalEvent::Change(_) => "change",
            JournalEvent::Final(_) => "final",
            JournalEvent::Step(_) => "step",
            JournalEvent::Hold(_) => "hold",
            JournalEvent::Finished(_) => "finished",
            JournalEvent::User(_) => "user",
            JournalEvent::Unknown { kind, .. } => kind,
        }
    }

    /// The payload it is stored with.
    pub(crate) fn payload(&self) -> Value {
        let value = match self {
            JournalEvent::Run(r) => serde_json::to_value(r),
            JournalEvent::Plan(r) => serde_json::to_value(r),
            JournalEvent::Orphans(r) => serde_json::to_value(r),
            JournalEvent::Kept(r) => serde_json::to_value(r),
            JournalEvent::Change(t) => serde_json::to_value(t),
            JournalEvent::Final(c) => serde_json::to_value(c),
            JournalEvent::Step(s) => serde_json::to_value(s),
            JournalEvent::Hold(r) => serde_json::to_value(r),
            JournalEvent::Finished(r) => serde_json::to_value(r),
            JournalEvent::User(r) => serde_json::to_value(r),
            JournalEvent::Unknown { payload, .. } => Ok(payload.clone()),
        };
        value.unwrap_or(Value::Null)
    }

    /// The event a stored kind and payload hold; `Unknown` (with why, for a known kind) when
    /// this planrun cannot read it.
    pub(crate) fn decode(kind: &str, payload: &Value) -> JournalEvent {
        fn typed<T: serde::de::DeserializeOwned>(payload: &Value) -> Result<T, serde_json::Error> {
            T::deserialize(payload)
        }
        let decoded = match kind {
            "run" => typed(payload).map(|r| JournalEvent::Run(Box::new(r))),
            "plan" => typed(payload).map(JournalEvent::Plan),
            "orphans" => typed(payload).map(JournalEvent::Orphans),
            "kept" => typed(payload).map(JournalEvent::Kept),
            "change" => typed(payload).map(JournalEvent::Change),
            "final" => typed(payload).map(JournalEvent::Final),
            "step" => typed(payload).map(|s| JournalEvent::Step(Box::new(s))),
            "hold" => typed(payload).map(JournalEvent::Hold),
            "finished" => typed(payload).map(JournalEvent::Finished),
            "user" => typed(payload).map(JournalEvent::User),
            _ => return JournalEvent::Unknown { kind: kind.to_owned(), payload: payload.clone(), error: None },
        };
        decoded.unwrap_or_else(|e| JournalEvent::Unknown {
            kind: kind.to_owned(),
            payload: payload.clone(),
            error: Some(e.to_string()),
        })
    }
}

/// A stored event, decoded: its sequence number, its task and what it says.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub(crate) seq: i64,
    pub(crate) task: Option<String>,
    pub(crate) event: JournalEvent,
}

/// Every stored event, decoded, in order.
pub(crate) fn decode_all(events: &[planrun_store::Event]) -> Vec<Entry> {
    events
        .iter()
        .map(|e| Entry { seq: e.seq, task: e.task.clone(), event: JournalEvent::decode(&e.kind, &e.payload) })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each kind as planrun 0.1.0 stored it (from `tests/fixtures/journal-0.1.0`, plus `hold`,
    /// `orphans` and an agent step): decoding and encoding again gives the same JSON.
    #[test]
    fn stored_payloads_round_trip_unchanged() {
        let fixture = include_str!("../../planrun/tests/fixtures/journal-0.1.0/journal.jsonl");
        let mut stored: Vec<(String, Value)> = fixture
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap_or(Value::Null);
                (v["kind"].as_str().unwrap_or("").to_owned(), v["payload"].clone())
            })
            .collect();
        for (kind, payload) in [
            ("hold", r#"{"attempt":2,"branch":"planrun/task/1/a","worktree":"/w/a"}"#),
            ("orphans", r#"{"pids":[12,34]}"#),
            ("final", r#"{"state":"running"}"#),
            (
                "step",
                r#"{"agent":{"agent":"claude","cost_source":"reported","cost_usd":0.25,"model":null,"resumed":true,"session":"s1","session_usage":null,"usage":{"cache_read":0,"cache_write":0,"input":10,"output":5}},"attempt":1,"elapsed_ms":3,"ended_unix_ms":9,"interrupted":false,"log":"/l","ok":true,"step":"implement","summary":"passed"}"#,
            ),
        ] {
            stored.push((kind.to_owned(), serde_json::from_str(payload).unwrap_or(Value::Null)));
        }
        let mut kinds: Vec<&str> = Vec::new();
        for (kind, payload) in &stored {
            let event = JournalEvent::decode(kind, payload);
            assert!(!matches!(event, JournalEvent::Unknown { .. }), "{kind} {payload} decodes: {event:?}");
            assert_eq!(event.kind(), kind);
            assert_eq!(&event.payload(), payload, "{kind} is stored as before");
            assert_eq!(event.payload().to_string(), payload.to_string());
            kinds.push(kind);
        }
        kinds.sort_unstable();
        kinds.dedup();
        let all = ["change", "final", "finished", "hold", "kept", "orphans", "plan", "run", "step", "user"];
        assert_eq!(kinds, all);
    }

    #[test]
    fn unknown_kinds_and_unreadable_payloads_are_kept_as_stored() {
        let payload = serde_json::json!({"x": 1});
        let e = JournalEvent::decode("from-the-future", &payload);
        assert_eq!(e, JournalEvent::Unknown { kind: "from-the-future".into(), payload: payload.clone(), error: None });
        assert_eq!((e.kind(), e.payload()), ("from-the-future", payload));
        let bad = serde_json::json!({"pids": "many"});
        assert!(matches!(JournalEvent::decode("orphans", &bad), JournalEvent::Unknown { error: Some(_), .. }));
        let old_step = JournalEvent::decode("step", &serde_json::json!({"attempt": 1, "step": "implement"}));
        let JournalEvent::Step(s) = old_step else { panic!("an older step still reads") };
        assert_eq!((s.ok, s.ended_unix_ms, s.summary.as_str()), (false, None, ""));
    }
}
