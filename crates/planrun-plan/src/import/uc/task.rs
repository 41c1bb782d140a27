//! One `tasks/task-N/task.md` brief: its sections (description, **Files:**, **Research:**, success
//! criteria, dependencies), its done marks, and closing it into a task.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sec {
    /// The description proper: its heading is dropped.
    Description,
    /// Research pointers, patterns and anything unknown: kept in the description with the label.
    Kept,
    Files,
    Criteria,
    Depends,
    Status,
    Research,
}

pub(super) fn section_kind(label: &str) -> Option<Sec> {
    let l = label.trim().trim_end_matches(':').trim().trim_matches(['*', '_']).to_lowercase();
    let has = |w: &str| l.contains(w);
    if l.is_empty() || l.chars().count() > 50 {
        return None;
    }
    if ["description", "overview", "summary", "goal", "objective", "what", "task", "context", "scope"]
        .contains(&l.as_str())
    {
        return Some(Sec::Description);
    }
    if l == "files" || l.starts_with("files ") || l == "affected files" || l == "key files" || l == "file scope" {
        return Some(Sec::Files);
    }
    if has("success criteria") || has("acceptance") || l == "criteria" || has("done when") || has("definition of done")
    {
        return Some(Sec::Criteria);
    }
    if l.starts_with("depend") || l == "blocked by" || l == "deps" {
        return Some(Sec::Depends);
    }
    if l == "status" {
        return Some(Sec::Status);
    }
    if l.starts_with("research") {
        return Some(Sec::Research);
    }
    None
}

#[derive(Debug, Default)]
pub(super) struct TaskDoc {
    pub(super) title: Option<String>,
    pub(super) title_span: Option<Span>,
    pub(super) done: bool,
    pub(super) status: Option<(Status, Span)>,
    pub(super) description: Vec<String>,
    pub(super) files: Vec<(String, Span)>,
    pub(super) acceptance: Vec<(String, Span)>,
    /// The first line of the description, for `check --explain`.
    pub(super) description_span: Option<Span>,
    /// `None` when task.md says nothing about dependencies.
    pub(super) depends: Option<Vec<(u64, Span)>>,
}

/// Reads one `task.md`.
pub(super) fn read_task(b: &mut PlanBuilder, src: SourceId) -> TaskDoc {
    let text = b.text(src).to_owned();
    let lines = md::lines(&text);
    let mut doc = TaskDoc::default();
    let mut sec = Sec::Description;
    let mut body: Vec<Line<'_>> = Vec::new();
    let mut seen_h1 = false;
    for line in &lines {
        let raw = line.text.strip_prefix('\u{feff}').unwrap_or(line.text);
        let span = Span::new(src, line.start, line.start + line.text.len());
        if line.in_fence {
            body.push(*line);
            continue;
        }
        if let Some((level, t)) = md::heading(raw) {
            if level == 1 && !seen_h1 {
                seen_h1 = true;
                let (done, rest) = md::strip_done_mark(t);
                let (trailing, rest) = strip_trailing_done(rest);
                doc.done |= done || trailing;
                doc.title = Some(strip_task_prefix(rest));
                doc.title_span = Some(span);
                continue;
            }
            close(b, &mut doc, sec, &body, src);
            body.clear();
            sec = section_kind(t).unwrap_or(Sec::Kept);
            if matches!(sec, Sec::Kept | Sec::Research) {
                body.push(*line);
            }
            continue;
        }
        if let Some((key, value, off)) = md::field(raw) {
            // `**Patterns:** …` and other bold labels we do not know open a kept section, so
            // they never end up in a Files or criteria list.
            if section_kind(key).is_none() && raw.trim_start().starts_with("**") {
                close(b, &mut doc, sec, &body, src);
                body.clear();
                sec = Sec::Kept;
                body.push(*line);
                continue;
            }
            if let Some(kind) = section_kind(key).filter(|_| md::bullet(raw).is_none() || !value.is_empty()) {
                if matches!(
                    kind,
                    Sec::Files | Sec::Criteria | Sec::Depends | Sec::Status | Sec::Research | Sec::Description
                ) {
                    close(b, &mut doc, sec, &body, src);
                    body.clear();
                    sec = kind;
                    let vstart = line.start + off;
                    let vspan = Span::new(src, vstart, vstart + value.len());
                    match kind {
                        Sec::Depends if !value.is_empty() => {
                            let deps = parse_deps(value, vspan);
                            let unread = deps.is_empty() && !says_none(value);
                            if unread {
                                b.warn(
                                    Diagnostic::warning(
                                        "unread-dependency",
                                        format!("this dependency field names no task: `{}`", value.trim()),
                                    )
                                    .at(Some(vspan))
                                    .help("name tasks as `task-2` or `Task 2`, or write `None`"),
                                );
                            }
                            doc.depends.get_or_insert_with(Vec::new).extend(deps);
                            // The field said it all: what follows is the brief again.
                            sec = Sec::Description;
                            if unread {
                                body.push(*line);
                            }
                        }
                        Sec::Files if !value.is_empty() => {
                            for (item, o) in md::split_list(value) {
                                let s = vstart + o;
                                doc.files.push((item.clone(), Span::new(src, s, s + item.len())));
                            }
                        }
                        Sec::Status => {
                            doc.status = crate::reader::status_word(value).map(|s| (s, vspan));
                            if doc.status.is_none() && !value.is_empty() {
                                b.warn(
                                    Diagnostic::warning(
                                        "unknown-status",
                                        format!("unknown status `{}`; the task is treated as pending", value.trim()),
                                    )
                                    .at(Some(vspan))
                                    .help("write `**Status:** done` once the task passed review and test"),
                                );
                            }
                            sec = Sec::Description;
                        }
                        Sec::Research => body.push(*line),
                        Sec::Criteria | Sec::Description if !value.is_empty() => {
                            body.push(Line { start: vstart, text: value, in_fence: false });
                        }
                        _ => {}
                    }
                    continue;
                }
            }
        }
        body.push(*line);
    }
    close(b, &mut doc, sec, &body, src);
    doc
}

/// `Task 3: Add session store` -> `Add session store`.
pub(super) fn strip_task_prefix(title: &str) -> String {
    let t = title.trim();
    if task_number(t).is_some() {
        let rest = t.get(4..).unwrap_or("").trim_start_matches([' ', '-', '_', '#']);
        let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit()).trim_start();
        let rest = rest.trim_start_matches([':', '—', '–', '-', '.', ')']).trim();
        if !rest.is_empty() {
            return model::one_line(rest);
        }
    }
    model::one_line(t)
}

pub(super) fn strip_trailing_done(title: &str) -> (bool, &str) {
    for mark in ["✅", "✔️", "✔", "(done)", "(complete)", "(completed)", "[done]"] {
        if let Some(rest) = title.trim_end().strip_suffix(mark) {
            return (true, rest.trim_end().trim_end_matches(['—', '–', '-']).trim_end());
        }
    }
    (false, title)
}

pub(super) fn close(b: &mut PlanBuilder, doc: &mut TaskDoc, sec: Sec, body: &[Line<'_>], src: SourceId) {
    match sec {
        Sec::Description | Sec::Kept | Sec::Research | Sec::Status => {
            let text = model::block(&body.iter().map(|l| l.text).collect::<Vec<_>>().join("\n"));
            if !text.is_empty() {
                doc.description.push(text);
                if doc.description_span.is_none() {
                    if let Some(l) = body.iter().find(|l| !l.text.trim().is_empty()) {
                        doc.description_span = Some(Span::new(src, l.start, l.start + l.text.len()));
                    }
                }
            }
        }
        Sec::Files => {
            let prose: Vec<&str> =
                body.iter().filter(|l| l.in_fence || md::bullet(l.text).is_none()).map(|l| l.text).collect();
            let prose = model::block(&prose.join("\n"));
            if !prose.is_empty() {
                doc.description.push(prose);
            }
            for l in body.iter().filter(|l| !l.in_fence) {
                let Some(item) = md::bullet(l.text) else {
                    continue;
                };
                let off = l.start + md::offset_in(l.text, item).unwrap_or(0);
                // A bare first word is only a path when it looks like one: `the config loader`
                // is prose, `src/x.rs (create)` is a path.
                let path = md::item_path(item).filter(|(p, _)| {
                    !md::code_spans(item).is_empty() || looks_like_path(p.trim_end_matches([':', ',']))
                });
                match path {
                    Some((path, at)) => {
                        doc.files.push((path.to_owned(), Span::new(src, off + at, off + at + path.len())));
                    }
                    None if !item.trim().is_empty() => b.warn(
                        Diagnostic::warning(
                            "unread-file",
                            format!("this Files item has no path planrun can read: `{}`", item.trim()),
                        )
                        .at(Some(Span::new(src, l.start, l.start + l.text.len())))
                        .help("start the item with the path, in backticks: - `src/session.rs` (create)"),
                    ),
                    None => {}
                }
            }
        }
        Sec::Criteria => {
            let mut items: Vec<(String, Span)> = Vec::new();
            for l in body.iter().filter(|l| !l.in_fence && !l.text.trim().is_empty()) {
                let span = Span::new(src, l.start, l.start + l.text.len());
                match md::bullet(l.text) {
                    Some(item) => items.push((md::checkbox(l.text).map_or(item, |(_, t)| t).to_owned(), span)),
                    None => match items.last_mut() {
                        Some((last, at)) if l.text.starts_with([' ', '\t']) => {
                            last.push(' ');
                            last.push_str(l.text.trim());
                            at.end = span.end;
                        }
                        _ => items.push((l.text.trim().to_owned(), span)),
                    },
                }
            }
            doc.acceptance
                .extend(items.into_iter().map(|(i, s)| (model::one_line(&i), s)).filter(|(i, _)| !i.is_empty()));
        }
        Sec::Depends => {
            // A line that names no task is reported and kept in the description, not lost.
            let mut prose: Vec<&str> = Vec::new();
            for l in body.iter().filter(|l| !l.text.trim().is_empty()) {
                let item = md::bullet(l.text).unwrap_or(l.text.trim());
                let off = l.start + md::offset_in(l.text, item).unwrap_or(0);
                let at = Span::new(src, off, off + item.len());
                if l.in_fence {
                    prose.push(l.text);
                    continue;
                }
                let deps = parse_deps(item, at);
                if deps.is_empty() && !says_none(item) {
                    prose.push(l.text);
                    b.warn(
                        Diagnostic::warning(
                            "unread-dependency",
                            format!("this dependency line names no task: `{}`", item.trim()),
                        )
                        .at(Some(at))
                        .help("name tasks as `task-2` or `Task 2`, or write `None`"),
                    );
                }
                doc.depends.get_or_insert_with(Vec::new).extend(deps);
            }
            let prose = model::block(&prose.join("\n"));
            if !prose.is_empty() {
                doc.description.push(prose);
            }
        }
    }
}

/// A word that names a file: it has a folder or an extension, or is a known extensionless file.
pub(super) fn looks_like_path(word: &str) -> bool {
    const NAMES: [&str; 7] = ["Dockerfile", "Makefile", "Justfile", "Procfile", "Gemfile", "Rakefile", "LICENSE"];
    word.contains('/') || (word.contains('.') && !word.ends_with('.')) || NAMES.contains(&word)
}

/// Whether a dependency value says there are none (`None`, `-`, `n/a`, `No dependencies`).
pub(super) fn says_none(value: &str) -> bool {
    if md::split_list(value).is_empty() {
        return true;
    }
    let first = value.split(|c: char| !c.is_alphanumeric() && c != '/').find(|w| !w.is_empty()).unwrap_or("");
    matches!(first.to_ascii_lowercase().as_str(), "none" | "nothing" | "n/a" | "no")
}

/// `task-1, task-3`, `Task 2`, `Tasks 1 and 2`, `#4`, `None`: task numbers with their spans.
pub(super) fn parse_deps(value: &str, span: Span) -> Vec<(u64, Span)> {
    let mut out = Vec::new();
    if md::split_list(value).is_empty() {
        return out;
    }
    let first = value.split(|c: char| !c.is_alphanumeric() && c != '/').find(|w| !w.is_empty()).unwrap_or("");
    if matches!(first.to_ascii_lowercase().as_str(), "none" | "nothing" | "n/a" | "no") {
        return out;
    }
    for w in value.split(|c: char| {
        c.is_whitespace() || matches!(c, ',' | ';' | '&' | '(' | ')' | '`' | '[' | ']' | '*' | '#' | '+')
    }) {
        let w = w.trim_end_matches(['.', ':']);
        if w.is_empty() {
            continue;
        }
        let Some(off) = md::offset_in(value, w) else {
            continue;
        };
        let at = Span::new(span.source, span.start + off, span.start + off + w.len());
        if let Some(n) = task_number(w) {
            out.push((n, at));
            continue;
        }
        if let Ok(n) = w.parse::<u64>() {
            out.push((n, at));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// README index and progress records
