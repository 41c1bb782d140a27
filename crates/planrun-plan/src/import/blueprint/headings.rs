//! The headings and labels of a blueprint file: step, phase and milestone headings, the section a
//! heading or label opens, and the fields a bold label names.

use super::*;

/// A parsed `Step N: Title` heading.
#[derive(Debug)]
pub(super) struct StepHead {
    pub(super) done: bool,
    pub(super) number: Option<String>,
    /// Byte offset of the number inside the parsed text.
    pub(super) number_off: Option<usize>,
    pub(super) title: String,
}

/// `Step N: Title`, `Step N — Title`, `Step N`, `✅ Step N: Title`, `Step N: Title ✅`, and with
/// symbols before `Step` (`⚠️ Step 11.5: Title`, `🔧 Step 2`), a letter after the number
/// (`Step 1A: Title`, `Step 3a`) or bold around the label (`**Step 3**: Title`).
pub(super) fn step_head(text: &str) -> Option<StepHead> {
    let (done, rest) = md::strip_done_mark(text);
    let rest = rest.trim_start_matches(|c: char| !c.is_alphanumeric());
    let (done2, rest) = md::strip_done_mark(rest);
    let done = done || done2;
    let word = rest.get(..4)?;
    if !word.eq_ignore_ascii_case("step") {
        return None;
    }
    let after = rest.get(4..)?;
    if after.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_') {
        return None;
    }
    let after = after.trim_start();
    let mut len = after.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(after.len());
    // `1A`, `3a`: one letter right after the number, ending the word.
    if len > 0 {
        let mut chars = after.get(len..).unwrap_or("").chars();
        if let (Some(l), next) = (chars.next(), chars.next()) {
            if l.is_ascii_alphabetic() && next.is_none_or(|c| !c.is_alphanumeric()) {
                len += 1;
            }
        }
    }
    let raw = after.get(..len)?;
    let num = raw.trim_end_matches('.');
    let number = (!num.is_empty() && num.starts_with(|c: char| c.is_ascii_digit())).then_some(num);
    let tail = after.get(len..)?.trim_start().trim_start_matches('*').trim_start();
    let first = tail.chars().next();
    if number.is_none() && !matches!(first, Some(':' | '—' | '–')) {
        return None;
    }
    let title = match first {
        Some(c @ (':' | '—' | '–' | '-' | ')' | '.')) => tail.get(c.len_utf8()..).unwrap_or("").trim(),
        _ => tail.trim(),
    };
    let title = title.trim_start_matches('*').trim();
    let (trailing_done, title) = strip_trailing_done(title);
    Some(StepHead {
        done: done || trailing_done,
        number: number.map(str::to_owned),
        number_off: number.and_then(|n| md::offset_in(text, n)),
        title: title.to_owned(),
    })
}

/// A heading that names a step planrun cannot read (`Step Three: …`, `Step IV`): reported, not
/// dropped silently.
pub(super) fn looks_like_step(text: &str) -> bool {
    let t = text.trim_start_matches(|c: char| !c.is_alphanumeric()).to_ascii_lowercase();
    t.starts_with("step ") && !t.starts_with("step by step") && !t.starts_with("steps ")
}

/// `## Phase 2: Distribution` grouping steps: its number and name.
pub(super) fn phase_head(text: &str) -> Option<(Option<u64>, String)> {
    let t = text.trim_start_matches(|c: char| !c.is_alphanumeric());
    let word = t.get(..5)?;
    if !word.eq_ignore_ascii_case("phase") {
        return None;
    }
    let rest = t.get(5..)?.trim_start();
    let num = number_prefix(rest)?;
    let name = rest.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.').trim_start();
    let name = name.trim_start_matches([':', '—', '–', '-', ')']).trim();
    Some((Some(num), if name.is_empty() { model::one_line(t) } else { model::one_line(name) }))
}

pub(super) fn strip_trailing_done(title: &str) -> (bool, &str) {
    for mark in ["✅", "✔️", "✔", "(done)", "(complete)", "(completed)"] {
        if let Some(rest) = title.strip_suffix(mark) {
            return (true, rest.trim_end().trim_end_matches(['—', '–', '-']).trim_end());
        }
    }
    (false, title)
}

/// A step written as a bold line (`**Step 3 — Title**`) in a file without step headings.
pub(super) fn bold_step(line: &str) -> Option<StepHead> {
    let t = line.trim();
    let (done, t) = md::strip_done_mark(t);
    if !t.starts_with("**") {
        return None;
    }
    let cleaned = t.replace("**", "");
    let mut head = step_head(&cleaned)?;
    head.done |= done;
    head.number_off = None;
    Some(head)
}

/// A `## Milestone 2: Payments` heading: its number and name.
pub(super) fn milestone_head(text: &str) -> Option<(Option<u64>, String)> {
    let (_, t) = md::strip_done_mark(text);
    let word = t.get(..9)?;
    if !word.eq_ignore_ascii_case("milestone") {
        return None;
    }
    let rest = t.get(9..)?;
    if rest.chars().next().is_some_and(char::is_alphabetic) {
        return None;
    }
    let rest = rest.trim_start();
    let num = number_prefix(rest);
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.').trim_start();
    let name = rest.trim_start_matches([':', '—', '–', '-', ')']).trim();
    let name = if name.is_empty() { model::one_line(t) } else { model::one_line(name) };
    Some((num, name))
}

pub(super) fn is_toolchain_label(label: &str) -> bool {
    let l = label.trim().trim_end_matches(':').to_ascii_lowercase();
    l.contains("tool chain") || l.contains("toolchain") || l.contains("tooling") || l == "tools"
}

/// The parts of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sec {
    /// Objective and any prose the plan does not name: the description.
    Description,
    /// A sub-section we do not know: kept in the description with its heading.
    Other,
    Acceptance,
    Build,
    Review,
    Verify,
    Depends,
    Files,
}

pub(super) fn section_kind(label: &str) -> Option<Sec> {
    let l = label.trim().trim_end_matches(':').trim().to_lowercase();
    let l = l.trim_matches(['*', '_']).trim();
    if l.is_empty() || l.chars().count() > 60 {
        return None;
    }
    if let Some(rest) = l.strip_prefix("phase") {
        let rest = rest.trim_start();
        let n: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let word = rest.split(|c: char| !c.is_alphanumeric()).next().unwrap_or("");
        match (n.as_str(), word) {
            ("1", _) | (_, "one" | "i") => return Some(Sec::Build),
            ("2", _) | (_, "two" | "ii") => return Some(Sec::Review),
            ("3", _) | (_, "three" | "iii") => return Some(Sec::Verify),
            _ => {}
        }
    }
    let has = |w: &str| l.contains(w);
    if has("acceptance")
        || has("success criteria")
        || has("done when")
        || has("definition of done")
        || has("exit criteria")
    {
        return Some(Sec::Acceptance);
    }
    if ["objective", "objectives", "goal", "goals", "description", "summary", "overview", "purpose", "context", "why"]
        .contains(&l)
        || l.starts_with("objective")
    {
        return Some(Sec::Description);
    }
    // A record of what was done (`**Step Log:**`, `Notes:`) ends the verification list: its
    // bullets are history, not checks.
    if l == "log" || l.ends_with(" log") || matches!(l, "notes" | "history" | "changelog" | "outcome" | "results") {
        return Some(Sec::Other);
    }
    if l.starts_with("depends") || l == "dependencies" || l == "dependency" {
        return Some(Sec::Depends);
    }
    if l == "files"
        || l.starts_with("files to")
        || l.starts_with("files touched")
        || l == "affected files"
        || l == "key files"
        || l == "artifacts"
        || l == "artefacts"
    {
        return Some(Sec::Files);
    }
    if has("review") {
        return Some(Sec::Review);
    }
    if has("verif")
        || has("checklist")
        || has("validation")
        || matches!(l, "confirm" | "checks" | "check" | "proof")
        || l.ends_with(" checks")
        || l.ends_with(" check")
    {
        return Some(Sec::Verify);
    }
    if has("build") || l.starts_with("implement") {
        return Some(Sec::Build);
    }
    None
}

/// A label line that is not a heading: `**Phase 1 — Build**`, `**Objective:** text`,
/// `Acceptance criteria:`. Returns the section and any text after the label.
pub(super) fn label_line(line: &str) -> Option<(Sec, &str)> {
    if md::bullet(line).is_some() {
        return None;
    }
    let t = line.trim();
    if let Some(inner) = t.strip_prefix("**").and_then(|s| s.strip_suffix("**")) {
        if !inner.contains("**") {
            return section_kind(inner).map(|s| (s, ""));
        }
    }
    if t.starts_with("**") {
        let (key, value, _) = md::field(line)?;
        return section_kind(key).map(|s| (s, value));
    }
    let key = t.strip_suffix(':')?;
    if key.contains(':') {
        return None;
    }
    section_kind(key).map(|s| (s, ""))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FieldKind {
    Depends,
    Files,
    Status,
}

pub(super) fn field_kind(key: &str) -> Option<FieldKind> {
    match key.trim().to_ascii_lowercase().replace(['_', '-'], " ").as_str() {
        "depends on" | "depends" | "dependencies" | "dependency" | "deps" | "after" | "blocked by"
        | "requires step" | "requires steps" => Some(FieldKind::Depends),
        "files" | "file" | "files touched" | "files to modify" | "files to change" | "files to create"
        | "files created" | "files updated" | "files modified" | "files changed" | "files added" | "files edited" => {
            Some(FieldKind::Files)
        }
        "status" => Some(FieldKind::Status),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Reading one file
