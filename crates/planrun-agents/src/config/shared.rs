//! The reading every CLI's configuration shares: where to look (home, workspace, environment),
//! a file read as text or as JSON with comments, line numbers, variable names.

use super::{Found, Problem};
use std::path::{Path, PathBuf};

pub(super) struct Ctx<'a> {
    pub(super) env: &'a dyn Fn(&str) -> Option<String>,
    pub(super) home: Option<&'a Path>,
    pub(super) workspace: Option<&'a Path>,
}

impl Ctx<'_> {
    pub(super) fn var(&self, name: &str) -> Option<String> {
        (self.env)(name).filter(|v| !v.is_empty())
    }

    /// The workspace and its parents up to the repository's top level (the first with `.git`),
    /// nearest first; outside a repository, the workspace alone.
    pub(super) fn project_dirs(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut dir = self.workspace;
        while let Some(d) = dir {
            out.push(d.to_owned());
            if d.join(".git").exists() {
                return out;
            }
            dir = d.parent();
        }
        out.truncate(1);
        out
    }
}

/// A file's text, or `None` when it does not exist. A file that exists but cannot be read is a
/// problem.
pub(super) fn read_text(path: &Path, found: &mut Found) -> Option<String> {
    match std::fs::read(path) {
        Ok(bytes) => {
            found.files.push(path.to_owned());
            match String::from_utf8(bytes) {
                Ok(t) => Some(t),
                Err(_) => {
                    found.problems.push(Problem {
                        file: path.to_owned(),
                        line: None,
                        message: "not UTF-8 text".into(),
                    });
                    None
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) if e.kind() == std::io::ErrorKind::IsADirectory => None,
        Err(e) => {
            found.problems.push(Problem { file: path.to_owned(), line: None, message: format!("cannot read it: {e}") });
            None
        }
    }
}

/// Drops the later copies of a path that is listed twice (the user's folder can also be a
/// project's), keeping the order.
pub(super) fn unique(files: &mut Vec<PathBuf>) {
    let mut seen: Vec<PathBuf> = Vec::new();
    files.retain(|f| {
        let new = !seen.contains(f);
        seen.push(f.clone());
        new
    });
}

/// The 1-based line of byte offset `at` in `text`.
pub(super) fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes().iter().take(at).filter(|b| **b == b'\n').count() + 1
}

pub(super) fn is_var_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Parses a JSON-with-comments file; a syntax error is a problem with its line.
pub(super) fn parse_jsonc(text: &str, file: &Path, found: &mut Found) -> Option<serde_json::Value> {
    let options = jsonc_parser::ParseOptions {
        allow_comments: true,
        allow_trailing_commas: true,
        allow_loose_object_property_names: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        ..Default::default()
    };
    match jsonc_parser::parse_to_value(text, &options) {
        Ok(Some(v)) => Some(to_serde(v)),
        Ok(None) => None,
        Err(e) => {
            found.problems.push(Problem {
                file: file.to_owned(),
                line: Some(e.line_display()),
                message: format!("not valid JSON: {} (column {})", e.kind(), e.column_display()),
            });
            None
        }
    }
}

pub(super) fn to_serde(v: jsonc_parser::JsonValue<'_>) -> serde_json::Value {
    use jsonc_parser::JsonValue as J;
    use serde_json::Value as V;
    match v {
        J::String(s) => V::String(s.into_owned()),
        J::Number(n) => n.parse::<serde_json::Number>().map_or_else(|_| V::String(n.to_owned()), V::Number),
        J::Boolean(b) => V::Bool(b),
        J::Null => V::Null,
        J::Array(a) => V::Array(a.into_iter().map(to_serde).collect()),
        J::Object(o) => V::Object(o.into_iter().map(|(k, v)| (k.into_owned(), to_serde(v))).collect()),
    }
}

/// Every string value in `v` with its key path (`provider.gw.options.apiKey`).
pub(super) fn strings<'a>(v: &'a serde_json::Value, path: &mut Vec<String>, out: &mut Vec<(String, &'a str)>) {
    match v {
        serde_json::Value::String(s) => out.push((path.join("."), s)),
        serde_json::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                path.push(i.to_string());
                strings(x, path, out);
                path.pop();
            }
        }
        serde_json::Value::Object(o) => {
            for (k, x) in o {
                path.push(k.clone());
                strings(x, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

/// Whether a value at key path `at` holding variable `name` is a credential.
pub(super) fn secret_at(at: &str, name: &str) -> bool {
    let last = at.rsplit('.').next().unwrap_or(at);
    crate::redact::is_secret_name(name)
        || crate::redact::is_secret_name(last)
        || at.split('.').any(|k| k.eq_ignore_ascii_case("headers"))
}
