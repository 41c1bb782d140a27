//! A reviewer's structured verdict: `{"verdict": "pass"|"changes_requested", "findings":
//! [{"severity": "blocking"|"advisory", "file", "line", "message"}]}`, read leniently from the
//! end of an agent's answer (the last JSON object that looks like a verdict, fenced or not,
//! with common spellings of the words accepted). A verdict is never guessed: no such object is
//! an error that says so, for the caller's one retry with a reminder.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// At most this much of the end of an answer is searched.
const SEARCH_LIMIT: usize = 64 * 1024;

/// What the reviewer decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Pass,
    ChangesRequested,
}

/// How much a finding matters: blocking ones send the task back, advisory ones are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Blocking,
    Advisory,
}

/// One thing a reviewer found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub severity: Severity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    pub message: String,
}

/// A reviewer's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub verdict: Decision,
    #[serde(default)]
    pub findings: Vec<Finding>,
}

impl Verdict {
    /// Whether the task goes back to its implementer: changes were requested, or any finding
    /// is blocking (whatever the verdict word says).
    pub fn blocks(&self) -> bool {
        self.verdict == Decision::ChangesRequested || self.blocking().next().is_some()
    }

    pub fn blocking(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.severity == Severity::Blocking)
    }

    pub fn advisory(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.severity == Severity::Advisory)
    }
}

/// Why no verdict could be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerdictError {
    #[error("the answer holds no JSON verdict (an object with a \"verdict\" field)")]
    Missing,
    #[error("the verdict cannot be read: {0}")]
    Invalid(String),
}

/// The reminder sent with the one retry after an unreadable verdict.
pub const REMINDER: &str = "Your answer did not end with a verdict planrun can read. End it with one line of JSON, \
exactly: {\"verdict\": \"pass\" or \"changes_requested\", \"findings\": [{\"severity\": \"blocking\" or \"advisory\", \
\"file\": \"path\", \"line\": 1, \"message\": \"what and why\"}]}";

/// The verdict as a JSON Schema, for CLIs that can hold a final answer to one.
pub const SCHEMA: &str = r#"{"type":"object","additionalProperties":false,"required":["verdict","findings"],"properties":{"verdict":{"type":"string","enum":["pass","changes_requested"]},"findings":{"type":"array","items":{"type":"object","additionalProperties":false,"required":["severity","file","line","message"],"properties":{"severity":{"type":"string","enum":["blocking","advisory"]},"file":{"type":["string","null"]},"line":{"type":["integer","null"]},"message":{"type":"string"}}}}}}"#;

/// The last verdict in `text`.
pub fn parse(text: &str) -> Result<Verdict, VerdictError> {
    let mut start = text.len().saturating_sub(SEARCH_LIMIT);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    let tail = text.get(start..).unwrap_or("");
    let mut invalid: Option<String> = None;
    // Each `{` from the end: the first JSON object there with a "verdict" field decides.
    for (pos, _) in tail.match_indices('{').collect::<Vec<_>>().into_iter().rev() {
        let Some(rest) = tail.get(pos..) else { continue };
        let mut values = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
        let Some(Ok(Value::Object(obj))) = values.next() else { continue };
        if !obj.contains_key("verdict") {
            continue;
        }
        match normalize(&Value::Object(obj)) {
            Ok(v) => return Ok(v),
            Err(e) => {
                invalid.get_or_insert(e);
            }
        }
    }
    Err(invalid.map_or(VerdictError::Missing, VerdictError::Invalid))
}

fn word(v: &Value) -> Option<String> {
    Some(v.as_str()?.trim().to_lowercase().replace([' ', '-'], "_"))
}

fn normalize(v: &Value) -> Result<Verdict, String> {
    let verdict = match word(v.get("verdict").unwrap_or(&Value::Null)).as_deref() {
        Some("pass" | "passed" | "approve" | "approved" | "lgtm" | "accept" | "accepted" | "ok") => Decision::Pass,
        Some(
            "changes_requested" | "request_changes" | "changes_required" | "reject" | "rejected" | "fail" | "failed"
            | "rework",
        ) => Decision::ChangesRequested,
        Some(other) => return Err(format!("unknown verdict `{other}`; expected pass or changes_requested")),
        None => return Err("\"verdict\" is not a string".into()),
    };
    let mut findings = Vec::new();
    let list = match v.get("findings") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(a)) => a.as_slice(),
        Some(_) => return Err("\"findings\" is not a list".into()),
    };
    for f in list {
        let severity = match word(f.get("severity").unwrap_or(&Value::Null)).as_deref() {
            Some("blocking" | "blocker" | "critical" | "major" | "high" | "error" | "must_fix") => Severity::Blocking,
            Some("advisory" | "minor" | "nit" | "low" | "info" | "suggestion" | "warning" | "optional") => {
                Severity::Advisory
            }
            // A finding without a readable severity does not block on a guess.
            _ => Severity::Advisory,
        };
        let message = ["message", "description", "issue"]
            .iter()
            .find_map(|k| f.get(*k).and_then(Value::as_str))
            .map(str::to_owned)
            .or_else(|| f.as_str().map(str::to_owned))
            .unwrap_or_else(|| f.to_string());
        let file = f.get("file").and_then(Value::as_str).map(str::to_owned).filter(|s| !s.is_empty());
        let line = match f.get("line") {
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        };
        findings.push(Finding { severity, file, line, message });
    }
    Ok(Verdict { verdict, findings })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_schema_is_json_and_a_verdict_that_follows_it_reads() {
        let schema: serde_json::Value = serde_json::from_str(SCHEMA).unwrap();
        assert_eq!(schema["properties"]["verdict"]["enum"][1], "changes_requested");
        let v =
            parse(r#"{"verdict":"pass","findings":[{"severity":"advisory","file":null,"line":null,"message":"m"}]}"#)
                .unwrap();
        assert_eq!(v.verdict, Decision::Pass);
        assert_eq!(v.findings.len(), 1);
    }

    #[test]
    fn the_last_verdict_in_prose_or_a_fence_is_read() {
        let text = "I looked at {\"verdict\": \"pass\"} earlier, but:\n```json\n{\"verdict\": \"changes_requested\", \
                    \"findings\": [{\"severity\": \"blocking\", \"file\": \"src/a.rs\", \"line\": \"12\", \"message\": \"panics on empty input\"}, \
                    {\"severity\": \"nit\", \"message\": \"naming\"}]}\n```\nThanks.";
        let v = parse(text).unwrap();
        assert_eq!(v.verdict, Decision::ChangesRequested);
        assert!(v.blocks());
        assert_eq!(v.blocking().count(), 1);
        assert_eq!(v.findings[0].line, Some(12));
        assert_eq!(v.findings[1].severity, Severity::Advisory);
    }

    #[test]
    fn blocking_findings_block_even_under_a_pass() {
        let v = parse(r#"{"verdict": "Approved", "findings": [{"severity": "critical", "message": "sql injection"}]}"#)
            .unwrap();
        assert_eq!(v.verdict, Decision::Pass);
        assert!(v.blocks());
        let v = parse(r#"{"verdict": "pass", "findings": [{"severity": "advisory", "message": "ok"}]}"#).unwrap();
        assert!(!v.blocks());
    }

    #[test]
    fn no_verdict_is_an_error_never_a_guess() {
        assert_eq!(parse("Looks good to me!"), Err(VerdictError::Missing));
        assert_eq!(parse("{\"summary\": \"fine\"}"), Err(VerdictError::Missing));
        assert!(matches!(parse("{\"verdict\": \"maybe\"}"), Err(VerdictError::Invalid(m)) if m.contains("maybe")));
        assert_eq!(parse("{\"verdict\": \"pass\""), Err(VerdictError::Missing), "an unclosed object is no verdict");
    }

    proptest! {
        #[test]
        fn any_text_is_read_without_panicking(text in ".{0,400}") {
            let _ = parse(&text);
        }

        #[test]
        fn a_verdict_after_any_prose_is_read_back(
            prose in "[^{}]{0,200}",
            pass in any::<bool>(),
            findings in prop::collection::vec(("[a-z/]{0,12}", 0u64..500, "[ -~&&[^\"\\\\]]{1,40}", any::<bool>()), 0..4),
        ) {
            let v = Verdict {
                verdict: if pass { Decision::Pass } else { Decision::ChangesRequested },
                findings: findings.into_iter().map(|(file, line, message, blocking)| Finding {
                    severity: if blocking { Severity::Blocking } else { Severity::Advisory },
                    file: (!file.is_empty()).then_some(file),
                    line: Some(line),
                    message,
                }).collect(),
            };
            let text = format!("{prose}\n{}\n", serde_json::to_string(&v).unwrap());
            prop_assert_eq!(parse(&text), Ok(v));
        }
    }
}
