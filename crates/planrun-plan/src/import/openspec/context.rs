//! `proposal.md` and `design.md` beside `tasks.md`: the plan title and the context summarised from
//! them.

use super::*;

pub(super) fn read_optional(b: &mut PlanBuilder, path: &Path) -> Option<SourceId> {
    if !path.is_file() {
        return None;
    }
    match b.read(path) {
        Ok(id) => Some(id),
        Err(e) => {
            b.warn(Diagnostic::warning("unreadable-file", format!("{e}; it is left out of the context")));
            None
        }
    }
}

pub(super) fn humanise(name: &str) -> String {
    let spaced = name.replace(['-', '_'], " ");
    let mut chars = spaced.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// The proposal's first `#` heading, without a leading "Change:".
pub(super) fn proposal_title(text: &str) -> Option<String> {
    let lines = md::lines(text);
    let (_, t) =
        lines.iter().filter(|l| !l.in_fence).find_map(|l| md::heading(l.text).filter(|(level, _)| *level == 1))?;
    let lower = t.to_lowercase();
    let t = ["change:", "proposal:"]
        .iter()
        .find_map(|p| lower.starts_with(p).then(|| t.get(p.len()..).unwrap_or(t)))
        .unwrap_or(t);
    let t = model::one_line(t);
    (!t.is_empty()).then_some(t)
}

/// The proposal's Why and What Changes sections (or its whole body when it has neither), capped.
pub(super) fn proposal_excerpt(text: &str, shown: &str) -> String {
    let lines = md::lines(text);
    let mut sections: Vec<(String, Vec<&str>)> = Vec::new();
    let mut body: Vec<&str> = Vec::new();
    let mut current: Option<(usize, usize)> = None; // (index in sections, heading level)
    for l in &lines {
        let heading = if l.in_fence { None } else { md::heading(l.text) };
        if let Some((level, t)) = heading {
            if current.is_some_and(|(_, open)| level > open) {
                if let Some(s) = current.and_then(|(i, _)| sections.get_mut(i)) {
                    s.1.push(l.text);
                }
                continue;
            }
            current = None;
            let name = t.trim_end_matches(':').trim();
            if level > 1 && matches!(name.to_lowercase().as_str(), "why" | "what changes") {
                sections.push((name.to_owned(), Vec::new()));
                current = Some((sections.len() - 1, level));
            }
            if level > 1 {
                body.push(l.text);
            }
            continue;
        }
        match current.and_then(|(i, _)| sections.get_mut(i)) {
            Some(s) => s.1.push(l.text),
            None => body.push(l.text),
        }
    }
    let full = if sections.is_empty() {
        model::block(&body.join("\n"))
    } else {
        sections
            .iter()
            .map(|(name, lines)| format!("{name}:\n{}", model::block(&lines.join("\n"))))
            .collect::<Vec<_>>()
            .join("\n\n")
    };
    cap(&full, shown)
}

/// Cuts `text` at a line boundary before [`PROPOSAL_CAP`] bytes, saying where the rest is.
pub(super) fn cap(text: &str, shown: &str) -> String {
    if text.len() <= PROPOSAL_CAP {
        return text.to_owned();
    }
    let mut out = String::new();
    for line in text.lines() {
        if out.len() + line.len() + 1 > PROPOSAL_CAP {
            break;
        }
        out.push_str(line);
        out.push('\n');
    }
    format!("{}\n… (cut short; the full proposal is in `{shown}`)", out.trim_end())
}

/// Where the change's documents are, so agents can read them when they need the detail.
pub(super) fn pointers(change_dir: &Path, shown: &str, has_proposal: bool, design: Option<&str>) -> String {
    let mut out = vec![format!("OpenSpec change: `{shown}`")];
    if has_proposal {
        out.push(format!("- proposal: `{shown}{PROPOSAL}`"));
    }
    if let Some(design) = design {
        let headings: Vec<String> = md::lines(design)
            .iter()
            .filter(|l| !l.in_fence)
            .filter_map(|l| md::heading(l.text).filter(|(level, _)| *level == 2).map(|(_, t)| model::one_line(t)))
            .collect();
        let sections =
            if headings.is_empty() { String::new() } else { format!(" (sections: {})", headings.join(", ")) };
        out.push(format!("- design: `{shown}{DESIGN}`{sections}"));
    }
    let specs = change_dir.join("specs");
    if specs.is_dir() {
        let capabilities: Vec<String> = crate::reader::sorted_entries(&specs)
            .iter()
            .filter(|p| p.is_dir())
            .filter_map(|p| p.file_name().and_then(|n| n.to_str()).map(str::to_owned))
            .collect();
        let list = if capabilities.is_empty() { String::new() } else { format!(" ({})", capabilities.join(", ")) };
        out.push(format!("- spec deltas: `{shown}specs/`{list}"));
    }
    out.join("\n")
}
