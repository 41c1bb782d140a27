//! The wire form of a `--json` line (the event with the stream's version and elapsed time) and
//! its JSON Schema.

use super::RunEvent;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

/// The version of the event stream's format, in every line as `v`. It goes up when an event
/// or a field is removed or changes meaning or type; new events and new fields keep it.
pub(crate) const SCHEMA_VERSION: u32 = 1;

/// One line of `--json` output: the event with the stream's version and the time since the
/// run started.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(title = "planrun run event", extend("unevaluatedProperties" = false))]
pub(crate) struct Line<'a> {
    /// The version of this format: 1. It goes up when an event or a field is removed or changes
    /// meaning or type; new events and new fields keep it.
    #[schemars(range(min = 1, max = 1))]
    pub(crate) v: u32,
    /// Milliseconds since this invocation started.
    pub(crate) elapsed_ms: u64,
    #[serde(flatten)]
    pub(crate) event: &'a RunEvent,
}

/// The JSON Schema of one line of `planrun run --json`.
pub fn schema() -> schemars::Schema {
    schemars::schema_for!(Line<'static>)
}

/// Every property is required: a field that may be `null` is still always there.
pub(super) fn always_present(schema: &mut schemars::Schema) {
    let keys: Vec<Value> = schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().map(Value::String).collect())
        .unwrap_or_default();
    schema.insert("required".into(), Value::Array(keys));
}
