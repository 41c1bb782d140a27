//! Reading one blueprint file into step drafts: the step lines, their fields (status, files,
//! `Depends on:`), and closing a step.

use super::*;

/// A reference to another step, as written after `Depends on:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum DepRef {
    /// `Step 3` (in the referencing step's milestone) or `m1-step-3` / `Milestone 1 Step 3`.
    Step { milestone: Option<u64>, number: String },
}

#[derive(Debug)]
pub(super) struct Milestone {
    pub(super) number: Option<u64>,
    pub(super) name: String,
    /// The text between a `## Phase` / `## Milestone` heading and its first step: it may say
    /// the steps run in parallel, or what the group waits for.
    pub(super) intro: Vec<String>,
}

#[derive(Debug)]
pub(super) struct StepDraft {
    pub(super) number: Option<String>,
    /// A number to fall back on when the heading has none (a step file's name prefix).
    pub(super) fallback_number: Option<String>,
    /// True when a `Step` heading was written without a number.
    pub(super) unnumbered_heading: bool,
    pub(super) number_span: Option<Span>,
    pub(super) head_span: Span,
    pub(super) title: String,
    pub(super) done: bool,
    pub(super) status: Option<Status>,
    pub(super) milestone: Option<usize>,
    pub(super) description: Vec<String>,
    pub(super) acceptance: Vec<String>,
    /// One per acceptance entry.
    pub(super) acceptance_spans: Vec<Span>,
    pub(super) verify: Vec<String>,
    /// One per verify command.
    pub(super) verify_spans: Vec<Span>,
    /// Where the `Status:` field that marked the step was written.
    pub(super) status_span: Option<Span>,
    /// Where the description starts.
    pub(super) description_span: Option<Span>,
    pub(super) build: Vec<String>,
    pub(super) review: Vec<String>,
    pub(super) verify_text: Vec<String>,
    pub(super) files: Vec<(String, Span)>,
    pub(super) depends: Option<Vec<(DepRef, Span)>>,
    pub(super) boxes: usize,
    pub(super) ticked: usize,
}

impl StepDraft {
    pub(super) fn new(head: &StepHead, head_span: Span, number_span: Option<Span>, milestone: Option<usize>) -> Self {
        Self {
            number: head.number.clone(),
            fallback_number: None,
            unnumbered_heading: head.number.is_none(),
            number_span,
            head_span,
            title: head.title.clone(),
            done: head.done,
            status: None,
            milestone,
            description: Vec::new(),
            acceptance: Vec::new(),
            acceptance_spans: Vec::new(),
            verify: Vec::new(),
            verify_spans: Vec::new(),
            status_span: None,
            description_span: None,
            build: Vec::new(),
            review: Vec::new(),
            verify_text: Vec::new(),
            files: Vec::new(),
            depends: None,
            boxes: 0,
            ticked: 0,
        }
    }
}

/// Everything read from the files of one plan.
#[derive(Debug, Default)]
pub(super) struct Acc {
    pub(super) title: Option<String>,
    pub(super) context: Vec<String>,
    pub(super) toolchain: Vec<(String, Span)>,
    pub(super) milestones: Vec<Milestone>,
    pub(super) steps: Vec<StepDraft>,
    /// Whether `## Milestone` headings (rather than folders) grouped the steps.
    pub(super) milestone_headings: bool,
}

/// How one file is read.
#[derive(Debug, Clone, Copy)]
pub(super) struct FileMode {
    /// The milestone the file's steps belong to, unless a `## Milestone` heading says otherwise.
    pub(super) milestone: Option<usize>,
    /// The file's first H1 names the plan (single plans and plan-folder overviews).
    pub(super) h1_is_title: bool,
    /// The whole file is one step (a numbered step file without a `Step N` heading).
    pub(super) single_step: bool,
}

/// What the lines between headings are being collected into.
pub(super) enum Target<'a> {
    Context,
    Toolchain { level: usize, src: SourceId, lines: Vec<Line<'a>> },
    Step { level: usize, sec: Sec, lines: Vec<Line<'a>> },
}

pub(super) fn read_file(
    b: &mut PlanBuilder,
    acc: &mut Acc,
    src: SourceId,
    mode: FileMode,
    fallback_title: &str,
    fallback_number: Option<u64>,
) {
    let text = b.text(src).to_owned();
    let lines = md::lines(&text);
    let heading_steps =
        lines.iter().any(|l| !l.in_fence && md::heading(no_bom(l.text)).and_then(|(_, t)| step_head(t)).is_some());
    let bold_steps =
        !heading_steps && !mode.single_step && lines.iter().any(|l| !l.in_fence && bold_step(l.text).is_some());
    let mut milestone = mode.milestone;
    let mut seen_h1 = false;
    let mut target = Target::Context;
    // `## Phase N` headings above the step headings group steps, like `## Milestone N`.
    let step_level = lines
        .iter()
        .filter(|l| !l.in_fence)
        .filter_map(|l| md::heading(no_bom(l.text)).filter(|(_, t)| step_head(t).is_some()).map(|(lv, _)| lv))
        .min();
    // Collecting the text between a group heading and its first step.
    let mut intro_open = false;
    // `> **Status:** Complete` in the file's header (after its title, before any section or
    // step): the state of the whole document, so of every step that states none of its own.
    let first_step = acc.steps.len();
    let mut in_header = true;
    let mut header_done: Option<Span> = None;

    let implicit = mode.single_step && !heading_steps;
    if implicit {
        let head = StepHead { done: false, number: None, number_off: None, title: String::new() };
        let mut d = StepDraft::new(&head, Span::new(src, 0, 0), None, milestone);
        d.unnumbered_heading = false;
        d.fallback_number = fallback_number.map(|n| n.to_string());
        acc.steps.push(d);
        target = Target::Step { level: 1, sec: Sec::Description, lines: Vec::new() };
    }

    for line in &lines {
        let raw = no_bom(line.text);
        let span = Span::new(src, line.start + (line.text.len() - raw.len()), line.start + line.text.len());
        let heading = if line.in_fence { None } else { md::heading(raw) };
        if heading.is_some_and(|(level, _)| level > 1) || acc.steps.len() > first_step {
            in_header = false;
        }
        if in_header && !line.in_fence {
            let quoted = raw.trim_start().strip_prefix('>').unwrap_or(raw);
            let field = md::field(quoted).map(|(k, v, _)| (k, v)).or_else(|| bold_field(quoted));
            if let Some((key, value)) = field {
                if key.eq_ignore_ascii_case("status") && header_status(value) == Some(Status::Done) {
                    header_done = Some(span);
                }
            }
        }
        let step = if line.in_fence {
            None
        } else if let Some((_, t)) = heading {
            step_head(t).map(|h| (h, md::offset_in(raw, t)))
        } else if bold_steps {
            bold_step(raw).map(|h| (h, None))
        } else {
            None
        };

        if let Some((head, text_off)) = step {
            intro_open = false;
            close(b, acc, &mut target);
            let number_span = match (head.number_off, text_off, &head.number) {
                (Some(n), Some(t), Some(num)) => {
                    let s = span.start + t + n;
                    Some(Span::new(src, s, s + num.len()))
                }
                _ => None,
            };
            let mut d = StepDraft::new(&head, span, number_span, milestone);
            if mode.single_step {
                d.fallback_number = fallback_number.map(|n| n.to_string());
            }
            acc.steps.push(d);
            target = Target::Step { level: heading.map_or(7, |h| h.0), sec: Sec::Description, lines: Vec::new() };
            continue;
        }

        if let Some((level, t)) = heading {
            let ends_step = match &target {
                Target::Step { level: sl, .. } => level <= *sl,
                Target::Toolchain { level: tl, .. } => level <= *tl,
                Target::Context => true,
            };
            if ends_step {
                let implicit_open = implicit && acc.steps.last().is_some_and(|d| d.title.is_empty());
                if level == 1 && !seen_h1 && (matches!(target, Target::Context) || implicit_open) {
                    seen_h1 = true;
                    if mode.h1_is_title {
                        // Later READMEs' H1s repeat the plan's name: drop them.
                        if acc.title.is_none() {
                            acc.title = Some(plan_title(t));
                        }
                        continue;
                    }
                    if implicit_open {
                        if let Some(d) = acc.steps.last_mut() {
                            d.title = model::one_line(t);
                        }
                        continue;
                    }
                    if mode.single_step {
                        continue;
                    }
                    if let Some(m) = mode.milestone.and_then(|i| acc.milestones.get_mut(i)) {
                        m.name = milestone_head(t).map_or_else(|| model::one_line(t), |(_, n)| n);
                        continue;
                    }
                }
                let group =
                    milestone_head(t).or_else(|| step_level.filter(|sl| level < *sl).and_then(|_| phase_head(t)));
                if let Some((number, name)) = group {
                    close(b, acc, &mut target);
                    acc.milestones.push(Milestone { number, name, intro: Vec::new() });
                    acc.milestone_headings = true;
                    milestone = Some(acc.milestones.len() - 1);
                    target = Target::Context;
                    intro_open = true;
                    continue;
                }
                if looks_like_step(t) {
                    b.warn(
                        Diagnostic::warning(
                            "unread-task",
                            format!("`{}` looks like a step heading but has no step number planrun can read; it is not a task", t.trim()),
                        )
                        .at(Some(span))
                        .help("number the step: `### Step 3: Title` (`Step 3.5` and `Step 3a` work too)"),
                    );
                }
                intro_open = false;
                if is_toolchain_label(t) {
                    close(b, acc, &mut target);
                    target = Target::Toolchain { level, src, lines: Vec::new() };
                    continue;
                }
                if !(mode.single_step && matches!(target, Target::Step { .. })) {
                    close(b, acc, &mut target);
                    target = Target::Context;
                }
            }
        }

        if intro_open && matches!(target, Target::Context) {
            if let Some(m) = milestone.and_then(|i| acc.milestones.get_mut(i)) {
                m.intro.push(raw.to_owned());
            }
        }
        match &mut target {
            Target::Context => acc.context.push(raw.to_owned()),
            Target::Toolchain { lines: body, .. } => body.push(*line),
            Target::Step { .. } => step_line(b, acc, &mut target, line, raw, span, heading),
        }
    }
    close(b, acc, &mut target);
    if mode.single_step {
        if let Some(d) = acc.steps.last_mut() {
            if d.title.is_empty() {
                d.title = fallback_title.to_owned();
            }
        }
    }
    if let Some(at) = header_done {
        for d in acc.steps.iter_mut().skip(first_step).filter(|d| !d.done && d.status.is_none()) {
            d.status = Some(Status::Done);
            d.status_span = Some(at);
        }
    }
}

/// The status a document's header gives the whole document: `Complete`, `✅ Done`. Anything
/// more (`✅ PHASE B COMPLETE`, `Step 1 in planning`, `Done — not yet run`) is about a part.
pub(super) fn header_status(value: &str) -> Option<Status> {
    status_value(value.trim().trim_start_matches(['✅', '✔', '☑']).trim_start_matches('\u{fe0f}'))
}

/// One line inside a step: a sub-section label, a field, or content of the current section.
#[allow(clippy::too_many_arguments)]
pub(super) fn step_line<'a>(
    b: &mut PlanBuilder,
    acc: &mut Acc,
    target: &mut Target<'a>,
    line: &Line<'a>,
    raw: &'a str,
    span: Span,
    heading: Option<(usize, &str)>,
) {
    let Target::Step { level, sec, .. } = &*target else {
        return;
    };
    let (level, sec) = (*level, *sec);
    if line.in_fence {
        push_line(target, line);
        return;
    }
    if let Some((_, t)) = heading {
        let kind = section_kind(t).unwrap_or(Sec::Other);
        close(b, acc, target);
        *target = Target::Step { level, sec: kind, lines: Vec::new() };
        if kind == Sec::Other {
            push_line(target, line);
        }
        return;
    }
    if let Some(d) = acc.steps.last_mut() {
        if let Some((true, _)) = md::checkbox(raw) {
            d.ticked += 1;
        }
        if md::checkbox(raw).is_some() {
            d.boxes += 1;
        }
    }
    if let Some((key, value, off)) = md::field(raw) {
        // `- **Test:** `pkg/a_test.go` — what it checks`, `**Implement:** `pkg/a.go`, `b.go`.`:
        // the files the step writes, named before what it does with them.
        if sec != Sec::Verify && is_work_label(key) {
            if let Some(d) = acc.steps.last_mut() {
                let value_start = span.start + off;
                for (path, at, len) in leading_paths(value) {
                    if !d.files.iter().any(|(f, _)| *f == path) {
                        let s = value_start + at;
                        d.files.push((path, Span::new(span.source, s, s + len)));
                    }
                }
            }
        }
        // `- **Validation:** `go test ./pkg/`` or `- **Done when:** it responds` as one bullet
        // among the step's fields: a verification (or acceptance) part of its own, one line long.
        if sec != Sec::Verify
            && md::bullet(raw).is_some()
            && !value.is_empty()
            && field_kind(key).is_none()
            && sec != Sec::Acceptance
        {
            if let Some(kind @ (Sec::Verify | Sec::Acceptance)) = section_kind(key) {
                close(b, acc, target);
                let value_line = Line { start: span.start + off, text: value, in_fence: false };
                close_section(b, acc, kind, &[value_line]);
                return;
            }
        }
        if let Some(kind) = field_kind(key) {
            let in_phase = matches!(sec, Sec::Build | Sec::Review | Sec::Verify);
            // A `Status:` bullet inside a phase is one of its checks; a `**Status:**` line of its
            // own after the checks is the step's status.
            if !value.is_empty() && (kind != FieldKind::Status || !in_phase || md::bullet(raw).is_none()) {
                let value_start = span.start + off;
                apply_field(b, acc, kind, value, Span::new(span.source, value_start, value_start + value.len()), span);
                return;
            }
            // `Files to create:` on its own line, or as a bullet (`- **Files to create**:`) with
            // the paths nested under it.
            if value.is_empty() && (md::bullet(raw).is_none() || kind != FieldKind::Status) {
                close(b, acc, target);
                let s = if kind == FieldKind::Files { Sec::Files } else { Sec::Depends };
                *target = Target::Step { level, sec: s, lines: Vec::new() };
                return;
            }
        }
    }
    if let Some((kind, rest)) = label_line(raw) {
        close(b, acc, target);
        *target = Target::Step { level, sec: kind, lines: Vec::new() };
        if !rest.is_empty() {
            // The text after `**Objective:**` belongs to the section it opens; keep its line so
            // spans stay right, with the label cut off below in `close`.
            push_line(
                target,
                &Line { start: line.start + md::offset_in(line.text, rest).unwrap_or(0), text: rest, in_fence: false },
            );
        }
        return;
    }
    push_line(target, line);
}

pub(super) fn push_line<'a>(target: &mut Target<'a>, line: &Line<'a>) {
    if let Target::Step { lines, .. } | Target::Toolchain { lines, .. } = target {
        lines.push(*line);
    }
}

pub(super) fn apply_field(
    b: &mut PlanBuilder,
    acc: &mut Acc,
    kind: FieldKind,
    value: &str,
    value_span: Span,
    line_span: Span,
) {
    let Some(d) = acc.steps.last_mut() else {
        return;
    };
    match kind {
        FieldKind::Depends => {
            // `step 2 (…). It can run in parallel with step 4.`: the sentence about what may run
            // alongside names no prerequisite.
            let value = without_parallel_note(value);
            let value_span = Span::new(value_span.source, value_span.start, value_span.start + value.len());
            let Some(refs) = parse_deps(value, value_span) else {
                b.warn(
                    Diagnostic::warning(
                        "unreadable-dependency",
                        format!("no step number found in `{}`; the step runs after the previous one", value.trim()),
                    )
                    .at(Some(value_span))
                    .help("write `Depends on: Step 2, Step 3` or `Depends on: none`"),
                );
                return;
            };
            d.depends.get_or_insert_with(Vec::new).extend(refs);
        }
        FieldKind::Files => {
            for (item, off) in md::split_list(value) {
                let s = value_span.start + off;
                // `new `src/x/``: only the path counts; a folder means everything under it.
                let path = item.trim().trim_start_matches("./");
                // `src/main.tsx lines 40-44`, `Card.tsx (L118)`: where in the file, not part of its path.
                let path = match path.split_once(char::is_whitespace) {
                    Some((p, note)) if is_location_note(note) && (p.contains('/') || p.contains('.')) => p,
                    _ => path,
                };
                if path.is_empty() || path.contains(char::is_whitespace) {
                    b.warn(
                        Diagnostic::warning(
                            "unread-file",
                            format!("`{}` is not a file path; it was not read", item.trim()),
                        )
                        .at(Some(Span::new(value_span.source, s, s + item.len())))
                        .help("write each path in backticks: `Files: `src/a.rs`, `src/b.rs``"),
                    );
                    continue;
                }
                d.files.push((folder_glob(path), Span::new(value_span.source, s, s + item.len())));
            }
        }
        FieldKind::Status => match status_value(value) {
            Some(s) => {
                d.status = Some(s);
                d.status_span = Some(line_span);
            }
            None => b.warn(
                Diagnostic::warning(
                    "unknown-status",
                    format!("unknown status `{}`; only a ✅ heading or `Status: done` marks a step done", value.trim()),
                )
                .at(Some(line_span))
                .help("write `Status: done`, or put ✅ before `Step` in the heading"),
            ),
        },
    }
}

/// Labels of a step's work that name the files written before saying what is done with them:
/// `Test:`, `Tests:`, `Implement:`, `Implementation:`.
pub(super) fn is_work_label(key: &str) -> bool {
    matches!(key.trim().to_ascii_lowercase().as_str(), "test" | "tests" | "implement" | "implementation")
}

/// The backticked file paths a value starts with, up to the first other word: ``
/// `pkg/a.go`, `b.go`. `` gives `pkg/a.go` and `pkg/b.go` (a bare name is in the folder of the
/// path before it); `` `pkg/a.go` — `newThread()` `` gives `pkg/a.go` only. With each path, the
/// offset and length of what was written in `value`.
pub(super) fn leading_paths(value: &str) -> Vec<(String, usize, usize)> {
    let mut out: Vec<(String, usize, usize)> = Vec::new();
    let mut folder: Option<String> = None;
    let mut pos = 0;
    for (span, at) in md::code_spans(value) {
        let between = value.get(pos..at.saturating_sub(1)).unwrap_or("");
        let glue = between.split(|c: char| c.is_whitespace() || c == ',').all(|w| w.is_empty() || w == "and");
        if !glue {
            break;
        }
        let p = span.trim().trim_start_matches("./");
        let last = p.rsplit('/').next().unwrap_or(p);
        let is_path = !p.is_empty()
            && !p.contains(char::is_whitespace)
            && !p.contains(['(', ')', '*', '<', '>', '"', '\'', '='])
            && !p.starts_with('-')
            && !p.contains("://")
            && last.contains('.')
            && !last.ends_with('.')
            && (p.contains('/') || last.rsplit('.').next().is_some_and(|ext| ext.len() <= 5));
        if !is_path {
            break;
        }
        let full = match (&folder, p.contains('/')) {
            (Some(dir), false) => format!("{dir}/{p}"),
            _ => p.to_owned(),
        };
        if let Some((dir, _)) = full.rsplit_once('/') {
            folder = Some(dir.to_owned());
        }
        out.push((full, at, span.len()));
        pos = at + span.len() + 1;
    }
    out
}

/// A note after a path saying where in the file: `lines 40-44`, `line 118`, `(L118-131)`,
/// `L40-52, L96-130`.
pub(super) fn is_location_note(note: &str) -> bool {
    let n = note.trim().trim_start_matches('(').trim_end_matches(')').trim().to_ascii_lowercase();
    let body = ["lines", "line", "ll.", "l."].iter().find_map(|p| n.strip_prefix(p)).or_else(|| n.strip_prefix('l'));
    body.map(str::trim_start).is_some_and(|b| {
        b.starts_with(|c: char| c.is_ascii_digit())
            && b.chars().all(|c| c.is_ascii_digit() || matches!(c, '-' | '–' | ',' | ' ' | 'l' | '+'))
    })
}

/// Reads a `Status:` value: a status word, or a checkbox written before one
/// (`` `[x] done` ``, `` `[x]` done ``, `[ ] todo`): the box decides.
pub(super) fn status_value(value: &str) -> Option<Status> {
    let v = value.trim().trim_start_matches('`').trim_start();
    let boxed = v.strip_prefix("[x]").or_else(|| v.strip_prefix("[X]")).map(|_| Status::Done);
    let boxed = boxed.or_else(|| v.strip_prefix("[ ]").map(|_| Status::Pending));
    boxed.or_else(|| crate::reader::status_word(value)).or_else(|| dated_status(v))
}

/// A status word with the date it was reached: `DONE (2026-05-02)`, `DONE — 2026-07-14.`,
/// `Complete, 2026-01-09`. Anything else after the word (`DONE for the API`) is not a status.
pub(super) fn dated_status(value: &str) -> Option<Status> {
    let end = value.find(|c: char| c.is_whitespace() || c == '(' || c == ',').unwrap_or(value.len());
    let (word, rest) = value.split_at(end);
    let rest = rest.trim_matches(|c: char| c.is_whitespace() || "()—–-,.;:".contains(c));
    let is_date = !rest.is_empty()
        && rest.chars().any(|c| c.is_ascii_digit())
        && rest.chars().all(|c| c.is_ascii_digit() || "-/.".contains(c));
    if is_date { crate::reader::status_word(word) } else { None }
}

/// `**Status: DONE — 2026-07-14.** All steps ran.`: a key and value both inside one bold span,
/// with more prose after it.
pub(super) fn bold_field(line: &str) -> Option<(&str, &str)> {
    let inner = line.trim_start().strip_prefix("**")?;
    let inner = inner.get(..inner.find("**")?)?;
    let (key, value) = inner.split_once(':')?;
    Some((key.trim(), value.trim()))
}

/// Finishes whatever was being collected.
pub(super) fn close(b: &mut PlanBuilder, acc: &mut Acc, target: &mut Target<'_>) {
    match std::mem::replace(target, Target::Context) {
        Target::Context => {}
        Target::Toolchain { lines, src, .. } => read_toolchain(b, acc, src, &lines),
        Target::Step { sec, lines, level } => {
            close_section(b, acc, sec, &lines);
            // Keep collecting the same step: only the section changed.
            *target = Target::Step { level, sec: Sec::Description, lines: Vec::new() };
        }
    }
}

/// `Step 2`, `Steps 1 and 3`, `Steps 1-3`, `step-2`, `m1-step-2`, `Milestone 1 Step 2`, `none`.
/// `Some(empty)` when the value says there are none; `None` when no step could be read from it.
pub(super) fn parse_deps(value: &str, value_span: Span) -> Option<Vec<(DepRef, Span)>> {
    let mut out = Vec::new();
    let first = value.split(|c: char| !c.is_alphanumeric() && c != '/').find(|w| !w.is_empty()).unwrap_or("");
    if md::split_list(value).is_empty()
        || matches!(first.to_ascii_lowercase().as_str(), "none" | "nothing" | "n/a" | "no")
    {
        return Some(out);
    }
    let words: Vec<(&str, usize)> = value
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '&' | '(' | ')' | '`' | '[' | ']' | '*' | '+'))
        .filter(|w| !w.is_empty())
        .filter_map(|w| md::offset_in(value, w).map(|o| (w.trim_end_matches(['.', ':']), o)))
        .filter(|(w, _)| !w.is_empty())
        .collect();
    let mut milestone: Option<u64> = None;
    let mut expect_milestone = false;
    let mut prev_num: Option<u64> = None;
    let mut range_open = false;
    let at = |o: usize, len: usize| Span::new(value_span.source, value_span.start + o, value_span.start + o + len);
    let is_num =
        |p: &str| !p.is_empty() && p.split('.').all(|x| !x.is_empty() && x.chars().all(|c| c.is_ascii_digit()));
    let mut after_step = false;
    for (w, off) in words {
        let mut lower = w.to_ascii_lowercase();
        // `Step 25a (#52)`: `#52` is an issue, unless it follows the word `Step` (`Step #3`).
        if let Some(issue) = lower.strip_prefix('#') {
            if !after_step {
                range_open = false;
                continue;
            }
            lower = issue.to_owned();
        }
        // `Step 25a`: a lettered step, only right after the word `Step`.
        let last = lower.char_indices().last().map_or(0, |(i, _)| i);
        if after_step && last > 0 {
            let (digits, letter) = lower.split_at(last);
            if is_num(digits) && !digits.contains('.') && letter.chars().all(|c| c.is_ascii_lowercase()) {
                prev_num = None;
                out.push((DepRef::Step { milestone: milestone.take(), number: lower.clone() }, at(off, w.len())));
                after_step = false;
                continue;
            }
        }
        after_step = matches!(lower.as_str(), "step" | "steps");
        if lower == "milestone" {
            expect_milestone = true;
            continue;
        }
        if expect_milestone {
            expect_milestone = false;
            if let Ok(m) = lower.parse::<u64>() {
                milestone = Some(m);
                continue;
            }
        }
        if let Some(m) = lower.strip_prefix('m').and_then(|r| r.parse::<u64>().ok()) {
            milestone = Some(m);
            continue;
        }
        if matches!(lower.as_str(), "to" | "through" | "-" | "–" | "—" | "..") {
            range_open = prev_num.is_some();
            continue;
        }
        let parts: Vec<&str> = lower.split(['-', '–', '_']).filter(|p| !p.is_empty()).collect();
        let step_word = |p: &&str| *p == "step" || *p == "steps";
        match parts.as_slice() {
            // `m1-step-2` and `01-step-2`: a milestone and a step.
            [m, s, n] if step_word(s) && is_num(n) => {
                let m = m.strip_prefix('m').unwrap_or(m).parse::<u64>().ok();
                if m.is_some() {
                    out.push((DepRef::Step { milestone: m, number: (*n).to_owned() }, at(off, w.len())));
                }
            }
            // `1-3`: a range.
            [a, z] if is_num(a) && is_num(z) => {
                if let (Ok(a), Ok(z)) = (a.parse::<u64>(), z.parse::<u64>()) {
                    for n in a..=z.min(a + 100) {
                        out.push((DepRef::Step { milestone, number: n.to_string() }, at(off, w.len())));
                    }
                    milestone = None;
                    prev_num = Some(z);
                }
            }
            // `2`, `step-2`, `2.1`.
            [n] | [_, n] if is_num(n) && parts.iter().filter(|p| !is_num(p)).all(step_word) => {
                if range_open {
                    if let (Some(a), Ok(z)) = (prev_num, n.parse::<u64>()) {
                        for k in (a + 1)..z.min(a + 100) {
                            out.push((DepRef::Step { milestone, number: k.to_string() }, at(off, w.len())));
                        }
                    }
                }
                prev_num = n.parse().ok();
                // `M1 Step 2, Step 1`: the milestone qualifies only the step right after it.
                out.push((DepRef::Step { milestone: milestone.take(), number: (*n).to_owned() }, at(off, w.len())));
            }
            _ => {}
        }
        if !step_word(&lower.as_str()) {
            range_open = false;
        }
    }
    (!out.is_empty()).then_some(out)
}

/// `Plan: Bookmark API` -> `Bookmark API`.
pub(super) fn plan_title(heading: &str) -> String {
    let t = heading.trim();
    let lower = t.to_ascii_lowercase();
    for prefix in ["implementation plan:", "blueprint:", "plan:"] {
        if lower.starts_with(prefix) {
            let rest = t.get(prefix.len()..).unwrap_or("").trim();
            if !rest.is_empty() {
                return model::one_line(rest);
            }
        }
    }
    model::one_line(t)
}
