//! A lenient JSON reader that keeps the byte span of every value, so that importers of JSON
//! formats can point diagnostics at the exact line. Accepts comments and trailing commas, which
//! hand-edited task files often contain. Knows nothing about plans.

use crate::diag::Diagnostic;
use crate::source::{SourceId, Span};
use jsonc_parser::ast;

/// A JSON value with where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct JValue {
    pub kind: JKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum JKind {
    Null,
    Bool(bool),
    /// The number as written.
    Number(String),
    String(String),
    Array(Vec<JValue>),
    /// Members in written order; a repeated key keeps every occurrence.
    Object(Vec<(String, JValue)>),
}

/// Parses `text` (registered as `source`) into a spanned tree, or a diagnostic for the first
/// syntax error.
#[expect(clippy::result_large_err, reason = "a syntax error ends the read; its size does not matter")]
pub fn parse(text: &str, source: SourceId) -> Result<JValue, Diagnostic> {
    let result = jsonc_parser::parse_to_ast(text, &Default::default(), &Default::default()).map_err(|e| {
        let range = e.range();
        Diagnostic::error("json-syntax", format!("invalid JSON: {}", e.kind()))
            .at(Some(Span::new(source, range.start, range.end)))
            .help("fix the JSON syntax at this place; comments and trailing commas are accepted")
    })?;
    match result.value {
        Some(value) => Ok(convert(value, source)),
        None => Err(Diagnostic::error("json-syntax", "the file holds no JSON value")
            .at(Some(Span::new(source, 0, 0)))
            .help("write a JSON object such as {\"title\": \"…\", \"tasks\": []}")),
    }
}

fn convert(value: ast::Value<'_>, source: SourceId) -> JValue {
    let span = |r: jsonc_parser::common::Range| Span::new(source, r.start, r.end);
    match value {
        ast::Value::StringLit(s) => JValue { span: span(s.range), kind: JKind::String(s.value.into_owned()) },
        ast::Value::NumberLit(n) => JValue { span: span(n.range), kind: JKind::Number(n.value.to_owned()) },
        ast::Value::BooleanLit(b) => JValue { span: span(b.range), kind: JKind::Bool(b.value) },
        ast::Value::NullKeyword(n) => JValue { span: span(n.range), kind: JKind::Null },
        ast::Value::Array(a) => JValue {
            span: span(a.range),
            kind: JKind::Array(a.elements.into_iter().map(|v| convert(v, source)).collect()),
        },
        ast::Value::Object(o) => JValue {
            span: span(o.range),
            kind: JKind::Object(
                o.properties.into_iter().map(|p| (p.name.into_string(), convert(p.value, source))).collect(),
            ),
        },
    }
}

impl JValue {
    /// The first member named `key`, if this is an object.
    pub fn get(&self, key: &str) -> Option<&JValue> {
        match &self.kind {
            JKind::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The first member whose name is one of `keys` (aliases), in the order of `keys`.
    pub fn get_any(&self, keys: &[&str]) -> Option<&JValue> {
        keys.iter().find_map(|k| self.get(k))
    }

    /// Follows a path of member names, e.g. `["context", "depends_on"]`.
    pub fn path(&self, keys: &[&str]) -> Option<&JValue> {
        keys.iter().try_fold(self, |v, k| v.get(k))
    }

    pub fn members(&self) -> &[(String, JValue)] {
        match &self.kind {
            JKind::Object(m) => m,
            _ => &[],
        }
    }

    pub fn items(&self) -> &[JValue] {
        match &self.kind {
            JKind::Array(a) => a,
            _ => &[],
        }
    }

    pub fn is_object(&self) -> bool {
        matches!(self.kind, JKind::Object(_))
    }

    pub fn is_array(&self) -> bool {
        matches!(self.kind, JKind::Array(_))
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            JKind::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.kind {
            JKind::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// A string, or a number or boolean written as text (ids are often numbers).
    pub fn as_text(&self) -> Option<String> {
        match &self.kind {
            JKind::String(s) => Some(s.clone()),
            JKind::Number(n) => Some(n.clone()),
            JKind::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// A list of strings with their spans: an array of strings or numbers, or a single string.
    /// Elements of other kinds are skipped.
    pub fn text_list(&self) -> Vec<(String, Span)> {
        match &self.kind {
            JKind::Array(items) => items.iter().filter_map(|v| v.as_text().map(|t| (t, v.span))).collect(),
            JKind::String(s) if s.trim().is_empty() => Vec::new(),
            JKind::String(s) | JKind::Number(s) => vec![(s.clone(), self.span)],
            _ => Vec::new(),
        }
    }

    /// A short name of the value's kind for messages ("an object", "a string", …).
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            JKind::Null => "null",
            JKind::Bool(_) => "a boolean",
            JKind::Number(_) => "a number",
            JKind::String(_) => "a string",
            JKind::Array(_) => "an array",
            JKind::Object(_) => "an object",
        }
    }
}

/// Reads typed values out of a JSON tree leniently for an importer: a value of the wrong kind
/// becomes an error diagnostic (with the importer's `help`) and is skipped, so one bad field
/// never stops the read of the rest.
#[derive(Debug)]
pub struct Lenient<'d> {
    pub diagnostics: &'d mut Vec<Diagnostic>,
    /// Where the user can read which fields are expected.
    pub help: &'static str,
}

impl Lenient<'_> {
    /// Reports a value of the wrong kind: `message, found <kind>`.
    pub fn shape(&mut self, value: &JValue, message: &str) {
        self.diagnostics.push(
            Diagnostic::error("json-shape", format!("{message}, found {}", value.kind_name()))
                .at(Some(value.span))
                .help(self.help),
        );
    }

    /// A string (numbers and booleans are taken as written); `null` is absent.
    pub fn text(&mut self, value: &JValue, name: &str) -> Option<String> {
        match &value.kind {
            JKind::Null => None,
            _ => match value.as_text() {
                Some(t) => Some(t),
                None => {
                    self.shape(value, &format!("`{name}` must be a string"));
                    None
                }
            },
        }
    }

    /// A list of strings or numbers (a single one stands for a list of one), each trimmed, empty
    /// ones dropped; entries of other kinds are reported.
    pub fn list(&mut self, value: &JValue, name: &str) -> Vec<(String, Span)> {
        let items = match &value.kind {
            JKind::Null => Vec::new(),
            JKind::Array(items) => {
                for item in items.iter().filter(|i| i.as_text().is_none()) {
                    self.shape(item, &format!("each entry of `{name}` must be a string or a number"));
                }
                value.text_list()
            }
            JKind::String(_) | JKind::Number(_) => value.text_list(),
            _ => {
                self.shape(value, &format!("`{name}` must be a list of strings"));
                Vec::new()
            }
        };
        items.into_iter().map(|(s, span)| (s.trim().to_owned(), span)).filter(|(s, _)| !s.is_empty()).collect()
    }
}
