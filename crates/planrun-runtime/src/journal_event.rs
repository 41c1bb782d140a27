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
    /// What the step found: changed files for `scope`, checks for `verify`, findings for
    /// reviews, commits for `commit` and `merge`. A detail this version cannot read is dropped
    /// alone, never the step with it.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient_detail")]
    pub(crate) detail: Option<StepDetail>,
}

/// What a step found. Each stage sets its own fields; the rest stay out of the journal.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct StepDetail {
    /// `implement`, `merge`: work a removed worktree held that no branch reaches, kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) kept: Vec<KeptRef>,
    /// `merge`: why the worktree could not be removed (it stays, with its work).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) not_removed: Option<String>,
    /// `verify`, `merge` after a rebase: how many checks ran and passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) checks: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) passed: Option<u64>,
    /// Files the checks made (never committed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) made_by_checks: Option<Vec<String>>,
    /// `scope`: every changed path, those outside the task's files, and the policy applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) changed: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) outside: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) policy: Option<String>,
    /// `commit`: the commit made (none: nothing to commit) and its branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) branch: Option<String>,
    /// `merge`: the commit now on the integration branch, which branch, whether it was merged
    /// by an earlier attempt already, whether it was rebased first, and conflicting files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) merged: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) into: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) already: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) rebased: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) conflict: Option<Vec<String>>,
    /// `review`, `test`: each reviewer's verdict, or why it gave none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) reviews: Option<Vec<ReviewDetail>>,
}

/// Work kept under a ref.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct KeptRef {
    #[serde(rename = "ref")]
    pub(crate) reference: String,
    pub(crate) commit: String,
}

/// One reviewer's part of a review step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ReviewDetail {
    pub(crate) review: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) verdict: Option<planrun_agents::verdict::Decision>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) findings: Vec<planrun_agents::verdict::Finding>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
}

impl ReviewDetail {
    /// The verdict's word (`pass`, `changes_requested`), or the error.
    pub(crate) fn outcome(&self) -> &str {
        match (self.verdict, &self.error) {
            (Some(planrun_agents::verdict::Decision::Pass), _) => "pass",
            (Some(planrun_agents::verdict::Decision::ChangesRequested), _) => "changes_requested",
            (None, Some(e)) => e,
            (None, None) => "?",
        }
    }
}

/// Reads a step's detail, or nothing when this version cannot read it.
fn lenient_detail<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<StepDetail>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.and_then(|v| serde_json::from_value(v).ok()))
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
    /// `retry`, `skip` or `review`.
    pub(crate) action: String,
    /// `retry --note`: the user's instructions for the task's next attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) note: Option<String>,
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
        match Self::typed(kind, payload) {
            Some(Ok(event)) => event,
            Some(Err(e)) => {
                JournalEvent::Unknown { kind: kind.to_owned(), payload: payload.clone(), error: Some(e.to_string()) }
            }
            None => JournalEvent::Unknown { kind: kind.to_owned(), payload: payload.clone(), error: None },
        }
    }

    /// `decode`, from the payload's JSON text in one pass (no JSON value in between for the
    /// kinds this planrun knows; what it cannot read goes through `decode` for its reason).
    /// `None` when the text is no JSON at all.
    pub(crate) fn decode_text(kind: &str, payload: &str) -> Option<JournalEvent> {
        let mut de = serde_json::Deserializer::from_str(payload);
        match Self::typed(kind, &mut de) {
            Some(Ok(event)) if de.end().is_ok() => Some(event),
            _ => serde_json::from_str::<Value>(payload).ok().map(|v| Self::decode(kind, &v)),
        }
    }

    /// The event of a known `kind` read from `payload` (a JSON value or text); `None` for a
    /// kind this planrun does not know.
    fn typed<'de, D: serde::Deserializer<'de>>(kind: &str, payload: D) -> Option<Result<JournalEvent, D::Error>> {
        use serde::Deserialize;
        Some(match kind {
            "run" => RunRecord::deserialize(payload).map(|r| JournalEvent::Run(Box::new(r))),
            "plan" => Deserialize::deserialize(payload).map(JournalEvent::Plan),
            "orphans" => Deserialize::deserialize(payload).map(JournalEvent::Orphans),
            "kept" => Deserialize::deserialize(payload).map(JournalEvent::Kept),
            "change" => Deserialize::deserialize(payload).map(JournalEvent::Change),
            "final" => Deserialize::deserialize(payload).map(JournalEvent::Final),
            "step" => Deserialize::deserialize(payload).map(|s| JournalEvent::Step(Box::new(s))),
            "hold" => Deserialize::deserialize(payload).map(JournalEvent::Hold),
            "finished" => Deserialize::deserialize(payload).map(JournalEvent::Finished),
            "user" => Deserialize::deserialize(payload).map(JournalEvent::User),
            _ => return None,
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

/// Every stored event, decoded from its JSON text, in order; an event whose payload is no JSON
/// is an error, as `Journal::events_after` says it.
pub(crate) fn decode_raw(events: Vec<planrun_store::RawEvent>) -> Result<Vec<Entry>, planrun_store::StoreError> {
    events
        .into_iter()
        .map(|e| match JournalEvent::decode_text(&e.kind, &e.payload) {
            Some(event) => Ok(Entry { seq: e.seq, task: e.task, event }),
            None => Err(planrun_store::StoreError::Corrupt(format!("event {} has an unreadable payload", e.seq))),
        })
        .collect()
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

    /// A step's detail is typed: what earlier versions wrote (nulls for absent commits, empty
    /// findings) reads the same, and a detail of a shape this version does not know is dropped
    /// alone while the step itself is kept.
    #[test]
    fn step_details_read_typed_and_an_unknown_shape_drops_only_the_detail() {
        let step = |detail: &str| -> Value {
            serde_json::from_str(&format!(
                r#"{{"attempt":2,"elapsed_ms":5,"ok":true,"interrupted":false,"step":"merge","summary":"passed","detail":{detail}}}"#
            ))
            .unwrap_or(Value::Null)
        };
        let JournalEvent::Step(p) =
            JournalEvent::decode("step", &step(r#"{"merged":"abc","into":"main","already":true,"commit":null}"#))
        else {
            panic!("not a step")
        };
        let d = p.detail.clone().unwrap_or_default();
        assert_eq!(
            (d.merged.as_deref(), d.into.as_deref(), d.already, d.commit),
            (Some("abc"), Some("main"), Some(true), None)
        );
        let reviews = step(
            r#"{"reviews":[{"review":"code","verdict":"changes_requested","findings":[{"severity":"blocking","file":"a.rs","line":3,"message":"m"}]},{"review":"task","error":"no verdict"}]}"#,
        );
        let JournalEvent::Step(p) = JournalEvent::decode("step", &reviews) else { panic!("not a step") };
        let r = p.detail.and_then(|d| d.reviews).unwrap_or_default();
        assert_eq!(r.iter().map(ReviewDetail::outcome).collect::<Vec<_>>(), ["changes_requested", "no verdict"]);
        assert_eq!(r[0].findings[0].file.as_deref(), Some("a.rs"));
        // A detail of another shape: the step is kept, without its detail.
        let JournalEvent::Step(p) = JournalEvent::decode("step", &step(r#"{"checks":"many"}"#)) else {
            panic!("the step itself must be kept")
        };
        assert_eq!((p.attempt, p.detail), (2, None));
        // Writing leaves out what a stage did not set.
        let written = serde_json::to_value(StepDetail { commit: Some("c".into()), ..StepDetail::default() });
        assert_eq!(written.ok(), Some(serde_json::json!({"commit": "c"})));
    }

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
            // Read from the stored text in one pass: the same event.
            assert_eq!(JournalEvent::decode_text(kind, &payload.to_string()), Some(event.clone()), "{kind}");
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
        // From the text: the same, and text that is no JSON at all is none.
        assert_eq!(JournalEvent::decode_text("from-the-future", r#"{"x": 1}"#), Some(e));
        assert_eq!(JournalEvent::decode_text("orphans", &bad.to_string()), Some(JournalEvent::decode("orphans", &bad)));
        assert_eq!(JournalEvent::decode_text("orphans", "{not json"), None);
        let old_step = JournalEvent::decode("step", &serde_json::json!({"attempt": 1, "step": "implement"}));
        let JournalEvent::Step(s) = old_step else { panic!("an older step still reads") };
        assert_eq!((s.ok, s.ended_unix_ms, s.summary.as_str()), (false, None, ""));
    }
}
