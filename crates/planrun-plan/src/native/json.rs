//! planrun's JSON plan format: a lenient reader (comments, trailing commas, ids as numbers,
//! a string where a list is expected) that points every problem at its line, and a writer.
//! The shape is the [`Plan`] model; `planrun schema` prints its JSON Schema.

use crate::diag::Diagnostic;
use crate::json::{self, JKind, JValue, Lenient};
use crate::model::{self, Plan, Task};
use crate::reader::{Detection, Format, LoadError, Loaded, PlanBuilder};
use crate::source::{SourceId, Span, TaskSpans};
use std::path::{Path, PathBuf};

const FOLDER_NAMES: [&str; 2] = ["planrun.json", "plan.json"];

pub(crate) fn detect(path: &Path) -> Detection {
    if path.is_dir() {
        return FOLDER_NAMES
            .iter()
            .map(|n| path.join(n))
            .find(|p| p.is_file() && looks_native(p))
            .map_or(Detection::No, Detection::Yes);
    }
    if looks_native(path) { Detection::Yes(path.to_owned()) } else { Detection::No }
}

/// A `.json` file whose top level is an object with a `tasks` array (or nothing yet).
fn looks_native(path: &Path) -> bool {
    if path.extension().and_then(|e| e.to_str()) != Some("json") {
        return false;
    }
    let Some(text) = crate::reader::peek_text(path) else {
        return false;
    };
    // Parsing the whole file here, only for `load` to parse it again, took a fifth of
    // `planrun check` on a 10,000-task plan; a byte scan answers for every plan we write.
    quick_shape(&text).unwrap_or_else(|| full_shape(&text))
}

/// The shape test done with a full parse: an object whose first `tasks` member (if any) is an
/// array, or text starting with `{` that does not parse (read as native JSON, it gets a syntax
/// diagnostic).
fn full_shape(text: &str) -> bool {
    let mut sources = crate::source::Sources::default();
    let id = sources.add("", String::new());
    match json::parse(text, id) {
        Ok(v) => v.is_object() && v.get("tasks").is_none_or(JValue::is_array),
        Err(_) => text.trim_start().starts_with('{'),
    }
}

/// What a byte scan of the top-level object can tell without building a tree: `Some(true)` when
/// `full_shape` would say true (text starting with `{` whose first top-level `tasks` key holds
/// an array, or that has no such key); `None` when only a full parse can tell: not starting with
/// `{`, a `tasks` value that is not an array, single quotes, unquoted or escaped keys.
fn quick_shape(text: &str) -> Option<bool> {
    #[derive(Clone, Copy, PartialEq)]
    enum Str {
        Tasks,
        Escaped,
        Other,
    }
    let bytes = text.as_bytes();
    let mut i = text.len() - text.trim_start().len();
    if bytes.get(i) != Some(&b'{') {
        return None;
    }
    i += 1;
    let mut depth = 1usize;
    // The string just closed at depth 1 (a key if `:` follows), and whether `tasks:` was seen.
    let mut last: Option<Str> = None;
    let mut tasks_value = false;
    while let Some(&c) = bytes.get(i) {
        match (c, bytes.get(i + 1)) {
            (b' ' | b'\t' | b'\n' | b'\r', _) => {
                i += 1;
                continue;
            }
            (b'/', Some(b'/')) => {
                i = bytes.get(i..)?.iter().position(|&b| b == b'\n').map_or(bytes.len(), |p| i + p);
                continue;
            }
            (b'/', Some(b'*')) => {
                let end = text.get(i + 2..)?.find("*/")?;
                i += 2 + end + 2;
                continue;
            }
            _ => {}
        }
        if tasks_value {
            return (c == b'[').then_some(true);
        }
        if let Some(key) = last.take() {
            if c == b':' {
                match key {
                    Str::Tasks => tasks_value = true,
                    Str::Escaped => return None,
                    Str::Other => {}
                }
                i += 1;
                continue;
            }
        }
        match c {
            b'"' => {
                let start = i + 1;
                let mut j = start;
                let mut escaped = false;
                loop {
                    match bytes.get(j) {
                        None => return Some(true),
                        Some(b'\\') => {
                            escaped = true;
                            j += 2;
                        }
                        Some(b'"') => break,
                        Some(_) => j += 1,
                    }
                }
                if depth == 1 {
                    last = Some(if escaped {
                        Str::Escaped
                    } else if bytes.get(start..j) == Some(b"tasks") {
                        Str::Tasks
                    } else {
                        Str::Other
                    });
                }
                i = j + 1;
            }
            b'\'' => return None,
            b'{' | b'[' => {
                depth += 1;
                i += 1;
            }
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(true);
                }
                i += 1;
            }
            _ if depth == 1 && bytes.get(i..i + 5) == Some(b"tasks") => return None,
            _ => i += 1,
        }
    }
    // The text ends inside the object: it does not parse, and starts with `{`.
    Some(true)
}

pub(crate) fn load(path: &Path) -> Result<Loaded, LoadError> {
    crate::reader::load_file(Format::Json, path, parse_into)
}

/// Parses a native JSON text (for tests, fuzzing and benchmarks).
pub fn parse(text: &str, path: impl Into<PathBuf>) -> Loaded {
    crate::reader::parse_text(Format::Json, text, path.into(), parse_into)
}

/// Writes a plan as pretty JSON in the native shape.
pub fn write(plan: &Plan) -> String {
    let mut out = serde_json::to_string_pretty(plan).unwrap_or_else(|_| String::from("{}"));
    out.push('\n');
    out
}

fn parse_into(b: &mut PlanBuilder, src: SourceId) {
    let text = b.text(src).to_owned();
    let root = match json::parse(&text, src) {
        Ok(v) => v,
        Err(d) => {
            b.warn(d);
            return;
        }
    };
    if !root.is_object() {
        b.warn(
            Diagnostic::error("json-shape", format!("a plan must be a JSON object, found {}", root.kind_name()))
                .at(Some(root.span))
                .help("write {\"title\": \"…\", \"tasks\": [{\"id\": \"a\", \"title\": \"…\"}]}"),
        );
        return;
    }
    let mut r = Reader { b };
    for (key, value) in root.members() {
        match key.as_str() {
            "title" => r.b.plan.title = r.text(value, "title").unwrap_or_default(),
            "context" => r.b.plan.context = r.text(value, "context").unwrap_or_default(),
            "verify" => {
                for (cmd, span) in r.list(value, "verify").into_iter().map(trimmed).filter(|(c, _)| !c.is_empty()) {
                    r.b.push_verify(cmd, Some(span));
                }
            }
            "tasks" => match &value.kind {
                JKind::Array(items) => {
                    for item in items {
                        r.task(item);
                    }
                }
                _ => r.shape(value, "`tasks` must be an array of task objects"),
            },
            "$schema" => {}
            other => r.unknown(other, value, "plan"),
        }
    }
}

fn trimmed((text, span): (String, Span)) -> (String, Span) {
    (text.trim().to_owned(), span)
}

struct Reader<'b> {
    b: &'b mut PlanBuilder,
}

impl Reader<'_> {
    fn lenient(&mut self) -> Lenient<'_> {
        Lenient { diagnostics: &mut self.b.diagnostics, help: "see `planrun schema` for the shape of a plan" }
    }

    fn shape(&mut self, value: &JValue, message: &str) {
        self.lenient().shape(value, message);
    }

    fn unknown(&mut self, key: &str, value: &JValue, what: &str) {
        self.b.warn(
            Diagnostic::warning("unknown-field", format!("unknown {what} field `{key}` is ignored"))
                .at(Some(value.span))
                .help("see `planrun schema` for the fields planrun reads"),
        );
    }

    fn text(&mut self, value: &JValue, name: &str) -> Option<String> {
        self.lenient().text(value, name)
    }

    fn list(&mut self, value: &JValue, name: &str) -> Vec<(String, Span)> {
        self.lenient().list(value, name)
    }

    fn task(&mut self, value: &JValue) {
        if !value.is_object() {
            self.shape(value, "each task must be an object");
            return;
        }
        let mut task = Task::default();
        let mut spans = TaskSpans::at(value.span);
        for (key, v) in value.members() {
            match key.as_str() {
                "id" => {
                    task.id = self.text(v, "id").unwrap_or_default();
                    spans.id = Some(v.span);
                }
                "title" => {
                    task.title = model::one_line(&self.text(v, "title").unwrap_or_default());
                    spans.title = Some(v.span);
                }
                "description" => {
                    spans.description = Some(v.span);
                    task.description = model::block(&self.text(v, "description").unwrap_or_default());
                }
                "depends_on" | "dependencies" => {
                    for (dep, span) in self.list(v, key).into_iter().map(trimmed).filter(|(d, _)| !d.is_empty()) {
                        task.depends_on.push(dep);
                        spans.depends_on.push(span);
                    }
                }
                "files" => {
                    for (file, span) in self.list(v, "files").into_iter().map(trimmed).filter(|(f, _)| !f.is_empty()) {
                        task.files.push(file);
                        spans.files.push(span);
                    }
                }
                "acceptance" => {
                    let (items, at) =
                        self.list(v, "acceptance").into_iter().map(|(a, s)| (model::one_line(&a), s)).unzip();
                    (task.acceptance, spans.acceptance) = (items, at);
                }
                "verify" => {
                    let (items, at) = self.list(v, "verify").into_iter().map(|(c, s)| (c.trim().to_owned(), s)).unzip();
                    (task.verify, spans.verify) = (items, at);
                }

                "persona" => task.persona = self.text(v, "persona").map(|t| model::one_line(&t)),
                "agent" => task.agent = self.text(v, "agent").map(|t| model::one_line(&t)),
                "milestone" => task.milestone = self.text(v, "milestone").map(|t| model::one_line(&t)),
                "priority" => {
                    let word = self.text(v, "priority").unwrap_or_default();
                    task.priority = crate::reader::priority_word(self.b, &word, Some(v.span));
                }
                "status" => {
                    let word = self.text(v, "status").unwrap_or_default();
                    match crate::reader::status_word(&word) {
                        Some(s) => {
                            task.status = s;
                            spans.status = Some(v.span);
                        }
                        None => self.b.warn(
                            Diagnostic::warning(
                                "unknown-status",
                                format!("unknown status `{word}`; the task is treated as pending"),
                            )
                            .at(Some(v.span))
                            .help("use \"pending\" or \"done\""),
                        ),
                    }
                }
                "instructions" => {
                    if !v.is_object() {
                        self.shape(v, "`instructions` must be an object with build, review and verify");
                        continue;
                    }
                    for (phase, text) in v.members() {
                        let text = self.text(text, phase).map(|t| model::block(&t)).filter(|t| !t.is_empty());
                        match phase.as_str() {
                            "build" => task.instructions.build = text,
                            "review" => task.instructions.review = text,
                            "verify" => task.instructions.verify = text,
                            other => self.unknown(other, v, "instructions"),
                        }
                    }
                }
                other => self.unknown(other, v, "task"),
            }
        }
        self.b.push(task, spans);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn agrees(text: &str) {
        if let Some(quick) = quick_shape(text) {
            assert_eq!(quick, full_shape(text), "quick scan disagrees on {text:?}");
        }
    }

    #[test]
    fn quick_shape_of_plans() {
        let plan = crate::model::Plan {
            title: "t".to_owned(),
            context: "a \"quoted\" line\nand tasks: {".to_owned(),
            ..Default::default()
        };
        assert_eq!(quick_shape(&write(&plan)), Some(true));
        assert_eq!(quick_shape("{\"title\": \"tasks\", \"tasks\": []}"), Some(true));
        assert_eq!(quick_shape("{\"x\": {\"tasks\": 1}, \"tasks\": [1]}"), Some(true));
        assert_eq!(quick_shape("{\"tasks\": {}}"), None);
        assert_eq!(quick_shape("[1]"), None);
        assert_eq!(quick_shape("{tasks: 1}"), None);
        assert_eq!(quick_shape("{\"ta\\u0073ks\": 1}"), None);
        for text in [
            "{\"tasks\": {}}",
            "{\"tasks\" /* c */ : // c\n [",
            "{\"a\": \"\\\"tasks\", \"tasks\": null}",
            "{\"tasks\": [], \"tasks\": 1}",
            "{\"a\": 1} {\"tasks\": 1}",
            "{\"a\": [}, \"tasks\": 1}",
            "{\"a\": \"unterminated",
            "{/* unterminated",
        ] {
            agrees(text);
        }
    }

    proptest! {
        /// Wherever the quick scan answers, it answers as a full parse would.
        #[test]
        fn quick_shape_agrees_with_a_full_parse(tokens in prop::collection::vec(
            prop::sample::select(vec![
                "{", "}", "[", "]", ":", ",", " ", "\n", "\"tasks\"", "\"title\"", "\"a\\\"b\"",
                "\"ta\\u0073ks\"", "tasks", "'tasks'", "1", "null", "// c\n", "/* c */", "/*", "\"",
            ]),
            0..24,
        )) {
            agrees(&tokens.concat());
            agrees(&format!("{{{}", tokens.concat()));
            agrees(&format!("{{\"tasks\": {}", tokens.concat()));
        }
    }
}
