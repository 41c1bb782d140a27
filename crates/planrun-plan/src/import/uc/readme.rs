//! The plan README: its title and the task index whose entries may mark tasks done.

use super::*;

#[derive(Debug)]
pub(super) struct IndexEntry {
    pub(super) number: u64,
    pub(super) title: String,
    pub(super) done: bool,
    pub(super) span: Span,
}

/// The README: title, context, and the task index (headings or list items naming `Task N`).
pub(super) fn read_readme(b: &mut PlanBuilder, src: SourceId) -> (Option<String>, String, Vec<IndexEntry>) {
    let text = b.text(src).to_owned();
    let mut title = None;
    let mut context = Vec::new();
    let mut index = Vec::new();
    for line in md::lines(&text) {
        let raw = line.text.strip_prefix('\u{feff}').unwrap_or(line.text);
        if !line.in_fence {
            if let Some((1, t)) = md::heading(raw) {
                if title.is_none() {
                    title = Some(plan_title(t));
                    continue;
                }
            }
            if let Some(entry) = index_entry(raw, Span::new(src, line.start, line.start + line.text.len())) {
                index.push(entry);
                continue;
            }
        }
        // A bare `Tasks` line introduces the index, which is not context.
        let bare = raw.trim().trim_start_matches('#').trim().trim_matches(['*', '_', ':']).to_ascii_lowercase();
        if !line.in_fence && matches!(bare.as_str(), "tasks" | "task index" | "task list") {
            continue;
        }
        context.push(raw.to_owned());
    }
    (title, prune_empty_headings(&context.join("\n")), index)
}

/// `### Task 3: Title`, `- [x] task-3 — Title`, `3. ✅ **Task 3** Title`, `| task-3 | Title | ✅ |`.
pub(super) fn index_entry(line: &str, span: Span) -> Option<IndexEntry> {
    let (checked, body) = match md::checkbox(line) {
        Some((c, t)) => (c, t),
        None => (false, md::heading(line).map(|(_, t)| t).or_else(|| md::bullet(line)).unwrap_or(line.trim())),
    };
    let body = body.trim_start_matches('|').trim();
    let (mark, body) = md::strip_done_mark(body);
    let plain = body.replace("**", "").replace('`', "");
    let number = task_number(&plain)?;
    let rest = plain.get(4..).unwrap_or("").trim_start_matches([' ', '-', '_', '#']);
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
    let rest = rest.trim_start_matches([':', '—', '–', '-', '.', ')', '|', ' ']);
    let lower = rest.to_lowercase();
    let (trailing, rest) = strip_trailing_done(rest);
    let done_word =
        lower.contains("| ✅") || lower.contains("| done") || lower.contains("— done") || lower.contains("(done)");
    let title = model::one_line(rest.split('|').next().unwrap_or(rest));
    Some(IndexEntry { number, title, done: checked || mark || trailing || done_word, span })
}

pub(super) fn plan_title(heading: &str) -> String {
    let t = heading.trim();
    let lower = t.to_ascii_lowercase();
    for prefix in ["implementation plan:", "plan:"] {
        if lower.starts_with(prefix) {
            let rest = t.get(prefix.len()..).unwrap_or("").trim();
            if !rest.is_empty() {
                return model::one_line(rest);
            }
        }
    }
    model::one_line(t)
}

/// Drops headings with nothing under them, so that `## Tasks` does not dangle in the context.
pub(super) fn prune_empty_headings(text: &str) -> String {
    let lines = md::lines(text);
    let mut keep: Vec<&str> = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if !l.in_fence {
            if let Some((level, _)) = md::heading(l.text) {
                let next = lines.iter().skip(i + 1).find(|n| !n.text.trim().is_empty());
                let empty = next.is_none_or(|n| !n.in_fence && md::heading(n.text).is_some_and(|(nl, _)| nl <= level));
                if empty {
                    continue;
                }
            }
        }
        keep.push(l.text);
    }
    model::block(&keep.join("\n"))
}
