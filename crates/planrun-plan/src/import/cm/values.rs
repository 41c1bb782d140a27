//! Reading JSON values leniently: their shape, text, string lists and commands.

use super::*;

pub(super) fn shape(b: &mut PlanBuilder, value: &JValue, message: &str) {
    crate::json::Lenient {
        diagnostics: &mut b.diagnostics,
        help: "see docs/importers/cm.md for the fields planrun reads",
    }
    .shape(value, message);
}

pub(super) fn unknown(b: &mut PlanBuilder, key: &str, value: &JValue, what: &str) {
    b.warn(
        Diagnostic::warning("unknown-field", format!("unknown {what} field `{key}` is ignored"))
            .at(Some(value.span))
            .help("see docs/importers/cm.md for the fields planrun reads"),
    );
}

/// A text field: a string or number, or a list of strings joined by lines.
pub(super) fn text_of(b: &mut PlanBuilder, value: Option<&JValue>) -> Option<String> {
    let value = value?;
    match &value.kind {
        JKind::Null => None,
        JKind::Array(_) => {
            let lines: Vec<String> = strings(b, value).into_iter().map(|(s, _)| s).collect();
            (!lines.is_empty()).then(|| lines.join("\n"))
        }
        JKind::Object(_) => {
            shape(b, value, "expected text");
            None
        }
        _ => value.as_text().filter(|t| !t.trim().is_empty()),
    }
}

/// Every string in a value, leniently: a string, a list, objects naming an id/path/title, or an
/// object of lists (`{"create": […], "modify": […]}`). Booleans are reported, nulls skipped.
pub(super) fn strings(b: &mut PlanBuilder, value: &JValue) -> Vec<(String, Span)> {
    const NAMED: &[&str] =
        &["id", "path", "file", "title", "name", "description", "text", "command", "cmd", "criterion"];
    let mut out = Vec::new();
    match &value.kind {
        JKind::Null => {}
        JKind::String(s) if s.trim().is_empty() => {}
        JKind::String(s) | JKind::Number(s) => out.push((s.clone(), value.span)),
        JKind::Bool(_) => shape(b, value, "expected text"),
        JKind::Array(items) => {
            for item in items {
                out.extend(strings(b, item));
            }
        }
        JKind::Object(members) => match value.get_any(NAMED) {
            Some(named) => out.extend(strings(b, named)),
            None => {
                for (_, v) in members {
                    out.extend(strings(b, v));
                }
            }
        },
    }
    out
}

/// The shell commands in a verify entry: the whole entry when it is wholly backticked or starts
/// with a known tool (or a script path), else every backticked span that does. Prose yields
/// nothing.
pub(super) fn commands_in(item: &str) -> Vec<String> {
    let t = item.trim();
    let ticked = t.strip_prefix('`').and_then(|r| r.strip_suffix('`')).filter(|r| !r.contains('`'));
    if let Some(inner) = ticked.map(str::trim).filter(|i| !i.is_empty()) {
        return vec![inner.to_owned()];
    }
    if is_command(t) {
        return vec![t.to_owned()];
    }
    crate::md::code_spans(t).into_iter().filter(|(s, _)| is_command(s)).map(|(s, _)| s.trim().to_owned()).collect()
}

pub(super) fn is_command(text: &str) -> bool {
    let line = text.trim();
    if line.contains('\n') && !line.lines().all(|l| l.trim().is_empty() || is_command(l)) {
        return false;
    }
    crate::reader::commands::first_program(line).is_some_and(crate::reader::commands::is_program)
}
