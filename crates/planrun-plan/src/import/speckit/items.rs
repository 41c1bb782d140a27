//! The task items of a spec-kit `tasks.md`: the `- [ ] T012 [P] [US1] …` line and the heading
//! form, their fields (`**Files**:`, `**Depends on**:` …), and closing an open item into a task.

use super::*;

/// One `T012 [P] [US1] Create …` item, after its checkbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Item<'a> {
    pub(super) id: &'a str,
    pub(super) parallel: bool,
    pub(super) labels: Vec<&'a str>,
    pub(super) title: &'a str,
}

/// Reads the id, the `[P]` mark and the story labels of an item's text.
pub(super) fn parse_item(text: &str) -> Option<Item<'_>> {
    let t = text.trim_start().trim_start_matches(['*', '`']);
    // `[T001]`: the id in brackets, as some plans write it (`- [X] [T001] [P] …`).
    let (t, bracketed) = match t.strip_prefix('[') {
        Some(inner) => (inner, true),
        None => (t, false),
    };
    let id_len = task_id_len(t)?;
    let id = t.get(..id_len)?;
    let mut rest = t.get(id_len..)?;
    if bracketed {
        rest = rest.strip_prefix(']')?;
    }
    rest = rest.trim_start_matches(['*', '`']);
    if !(rest.is_empty() || rest.starts_with([' ', '\t', ':', '.', '[', '('])) {
        return None;
    }
    rest = rest.trim_start_matches([':', '.']).trim_start();
    let mut item = Item { id, parallel: false, labels: Vec::new(), title: "" };
    loop {
        let (open, close) = match rest.chars().next() {
            Some('[') => ('[', ']'),
            Some('(') if rest.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("(p)")) => ('(', ')'),
            _ => break,
        };
        let Some(end) = rest.find(close) else { break };
        let token = rest.get(open.len_utf8()..end).unwrap_or("").trim();
        if token.is_empty()
            || token.len() > 16
            || token.contains(char::is_whitespace) && !token.to_ascii_lowercase().starts_with("story")
        {
            break;
        }
        // A bracketed word glued to the text after it (`[学習]ボタン`) is part of the title.
        let glued = rest.get(end + 1..).and_then(|r| r.chars().next()).is_some_and(|c| !c.is_whitespace() && c != '[');
        if token.eq_ignore_ascii_case("p") {
            item.parallel = true;
        } else if glued {
            break;
        } else {
            item.labels.push(token);
        }
        rest = rest.get(end + 1..).unwrap_or("").trim_start();
    }
    item.title = rest.trim_start_matches([':', '-', '—']).trim();
    Some(item)
}

/// Length of a task id (`T` or `t`, digits, an optional letter suffix) at the start of `text`.
pub(super) fn task_id_len(text: &str) -> Option<usize> {
    let rest = text.strip_prefix(['T', 't'])?;
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let mut suffix = rest.get(digits..)?.chars().next().filter(|c| c.is_ascii_lowercase()).map_or(0, |_| 1);
    // A decimal id (`T011.1`), inserted between two others: the dot and the digits after it
    // are part of the id (a dot then a space or the end closes a sentence).
    if suffix == 0 {
        if let Some(sub) = rest.get(digits..).and_then(|r| r.strip_prefix('.')) {
            let more = sub.chars().take_while(char::is_ascii_digit).count();
            if more > 0 {
                suffix = 1 + more;
            }
        }
    }
    let after = rest.get(digits + suffix..)?.chars().next();
    // `T1000ms` is a word, not an id; Japanese and Chinese write ids against their words
    // (`T004を通す`).
    if after.is_some_and(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    Some(1 + digits + suffix)
}

pub(super) fn read_task<'a>(
    b: &mut PlanBuilder,
    src: SourceId,
    line: &Line<'a>,
    done: bool,
    item_text: &str,
    phase: &mut Phase,
    groups: &mut Groups,
) -> Open<'a> {
    let line_span = Span::new(src, line.start, line.start + line.text.len());
    let item = parse_item(item_text);
    let (id, title, parallel, labels) = match &item {
        Some(i) => (i.id.to_owned(), i.title, i.parallel, i.labels.clone()),
        None => (String::new(), item_text.trim(), false, Vec::new()),
    };
    let mut task = Task::new(id.clone(), model::one_line(title));
    let mut spans = TaskSpans::at(line_span);
    let at = |part: &str| {
        md::offset_in(line.text, part).map(|o| Span::new(src, line.start + o, line.start + o + part.len()))
    };
    spans.title = if title.is_empty() { Some(line_span) } else { at(title) };
    match &item {
        Some(i) => spans.id = at(i.id),
        None => b.warn(
            Diagnostic::error("missing-id", "this task has no `T` number")
                .at(Some(line_span))
                .help("start every task with its id: `- [ ] T014 [P] [US1] …`"),
        ),
    }
    if done {
        task.status = Status::Done;
    }
    spans.status = status_mark(line.text).map(|(o, l)| Span::new(src, line.start + o, line.start + o + l));
    task.milestone = phase.name.clone();

    // Groups: a `[P]` item joins the run of `[P]` items before it; any other item starts a group.
    // An item without an id cannot be waited for, so it leaves the groups as they are.
    let joins = parallel && groups.parallel;
    let waits_for = if joins { groups.previous.clone() } else { groups.current.clone() };
    let implicit_deps = waits_for.len();
    for dep in waits_for {
        task.depends_on.push(dep);
        spans.depends_on.push(line_span);
    }
    if !id.is_empty() {
        if !joins {
            groups.previous = std::mem::take(&mut groups.current);
        }
        groups.parallel = parallel;
    }
    for (first, last, off, len) in inline_deps(title) {
        let base = md::offset_in(line.text, title).unwrap_or(0) + off;
        for dep in std::iter::once(first).chain(last) {
            if !task.depends_on.contains(&dep) && dep != task.id {
                task.depends_on.push(dep);
                spans.depends_on.push(Span::new(src, line.start + base, line.start + base + len));
            }
        }
    }
    for (path, off, len) in paths_in(title) {
        let base = md::offset_in(line.text, title).unwrap_or(0) + off;
        if !task.files.contains(&path) {
            task.files.push(path);
            spans.files.push(Span::new(src, line.start + base, line.start + base + len));
        }
    }
    if !id.is_empty() {
        groups.current.push(id);
    }

    let mut header: Vec<String> = Vec::new();
    for label in &labels {
        let is_story = label.len() > 2 && label.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("us"));
        header.push(if is_story { format!("User story: {label}") } else { format!("Label: {label}") });
    }
    if let Some(s) = &phase.section {
        header.push(format!("Section: {s}"));
    }
    header.extend(phase.notes.iter().cloned());
    phase.last_task = Some(b.plan.tasks.len());
    let index = b.plan.tasks.len();
    b.push(task, spans);
    Open { index, lines: Vec::new(), header: header.join("\n"), heading: false, implicit_deps }
}

/// Ids named after "depends on", "after", "requires", "blocked by", "once" (or the same words in
/// Spanish, Portuguese, French, German and Chinese) in an item's text.
pub(super) fn inline_deps(title: &str) -> Vec<(String, Option<String>, usize, usize)> {
    // ASCII lowercasing keeps byte positions.
    let lower = title.to_ascii_lowercase();
    let words = [
        "depends on",
        "depend on",
        "blocked by",
        "requires",
        "after",
        "once",
        "depende de",
        "depende solo de",
        "depende apenas de",
        "depende só de",
        "dependen de",
        "dependem de",
        "dépend de",
        "después de",
        "após",
        "nach",
        "abhängig von",
        "hängt von",
        "依赖于",
        "依赖",
        "取决于",
    ];
    let whole = |p: usize, w: &str| {
        let before_ok =
            lower.get(..p).and_then(|s| s.chars().last()).is_none_or(|c| !c.is_alphanumeric() || !w.is_ascii());
        let after_ok = lower
            .get(p + w.len()..)
            .and_then(|s| s.chars().next())
            .is_none_or(|c| !c.is_alphanumeric() || !w.is_ascii());
        before_ok && after_ok
    };
    // Japanese and Chinese write the word after the ids: `T004を通す` (make T004 pass),
    // `T003完了後` (after T003), `T003に依存`.
    let mut out: Vec<(String, Option<String>, usize, usize)> = Vec::new();
    for suffix in AFTER_SUFFIXES {
        for (p, _) in title.match_indices(suffix) {
            out.extend(refs_just_before(title, p).into_iter().filter(|r| !r.4).map(|(a, b, o, l, _)| (a, b, o, l)));
        }
    }
    let Some(pos) = words.iter().filter_map(|w| lower.match_indices(w).map(|(p, _)| p).find(|p| whole(*p, w))).min()
    else {
        return out;
    };
    let end = title.get(pos..).and_then(|r| r.find([')', ';', '）', '；'])).map_or(title.len(), |e| pos + e);
    let clause = title.get(pos..end).unwrap_or("");
    out.extend(id_refs(clause).into_iter().map(|(a, b, off, len)| (a, b, pos + off, len)));
    out
}

/// A heading that is a task (`T001: Title`, `✅ T002 Title`, `T003 Title ✅`): whether it is
/// marked done, and its text from the id on.
pub(super) fn heading_item(text: &str) -> Option<(bool, &str)> {
    let (done_before, t) = md::strip_done_mark(text);
    let t = t.trim();
    let (done_after, t) =
        match ["✅", "✔️", "✔", "✓", "(done)", "(DONE)", "[x]", "[X]"].iter().find_map(|m| t.strip_suffix(m)) {
            Some(rest) => (true, rest.trim_end()),
            None => (false, t),
        };
    parse_item(t).filter(|i| !i.title.is_empty())?;
    Some((done_before || done_after, t))
}

/// Where the checkbox mark of an item line is (`[x]`), as (offset, length).
pub(super) fn status_mark(line: &str) -> Option<(usize, usize)> {
    let item = md::bullet(line)?;
    if !item.starts_with('[') {
        return None;
    }
    let close = item.find(']')?;
    Some((md::offset_in(line, item)?, close + 1))
}

/// A field of a task's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
    Files,
    DependsOn,
    Verify,
    Acceptance,
    Status,
}

pub(super) fn field_kind(key: &str) -> Option<Field> {
    let k = key.trim().trim_end_matches(':').to_lowercase().replace(['_', '-'], " ");
    let k = k.trim();
    Some(match k {
        "files" | "file" | "file(s)" | "files affected" | "affected files" | "files to create" | "files to modify"
        | "files changed" | "file paths" | "paths" | "path" | "file path" | "location" | "deliverables"
        | "deliverable" | "output files" => Field::Files,
        "depends on" | "depends" | "dependencies" | "dependency" | "deps" | "blocked by" | "requires"
        | "prerequisites" => Field::DependsOn,
        "verify" | "verification" | "test" | "tests" | "test command" | "validation" | "validate" | "run" => {
            Field::Verify
        }
        "acceptance"
        | "acceptance criteria"
        | "done when"
        | "success criteria"
        | "acs"
        | "ac"
        | "definition of done"
        | "dod" => Field::Acceptance,
        "status" => Field::Status,
        _ => return None,
    })
}

/// Whether a field's value means "nothing".
pub(super) fn is_none(value: &str) -> bool {
    let v = value.trim().trim_matches(['*', '_', '`']).trim().to_lowercase();
    v.is_empty()
        || ["none", "-", "—", "n/a", "na", "nothing", "无", "無"].contains(&v.as_str())
        || v.starts_with("none ")
        || v.starts_with("none (")
        || v.starts_with("none,")
        || v.starts_with("none.")
}

/// What a status value says: done, pending, or unknown.
pub(super) fn status_value(value: &str) -> Option<bool> {
    let v = value.trim().trim_matches('*').trim().to_lowercase();
    if v.starts_with("[x]") || v.contains('✅') || v.starts_with('✓') || v.starts_with('✔') {
        return Some(true);
    }
    if v.starts_with("[ ]") || v.is_empty() {
        return Some(false);
    }
    let word = v.split(|c: char| !c.is_alphanumeric() && c != ' ').next().unwrap_or("").trim();
    match word {
        "done" | "complete" | "completed" | "finished" | "closed" | "merged" | "pass" | "passed" => Some(true),
        "pending" | "todo" | "to do" | "not started" | "open" | "in progress" | "blocked" | "planned" | "ready" => {
            Some(false)
        }
        _ => None,
    }
}

/// A shell command written in a plan: its first word is a program planrun knows.
pub(super) fn is_command(text: &str) -> bool {
    crate::reader::commands::first_program(text).is_some_and(crate::reader::commands::is_program)
}

/// Looks like a command even if its program is not one planrun knows: two or more words, the
/// first a plain lower-case name.
pub(super) fn looks_like_command(text: &str) -> bool {
    let mut words = text.split_whitespace();
    let first = words.next().unwrap_or("");
    words.next().is_some()
        && !first.is_empty()
        && first.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_./".contains(c))
        && !first.contains('/')
}

/// Reads a task's body: field lines (`**Files**:`, `Depends on:`, `Verify:`, `Acceptance
/// Criteria:`, `Status:`), with the list under a field whose value is empty; the rest is the
/// description.
pub(super) fn close(b: &mut PlanBuilder, src: SourceId, open: Option<Open<'_>>) {
    let Some(o) = open else { return };
    let mut description: Vec<&str> = Vec::new();
    let mut desc_span: Option<(usize, usize)> = None;
    let mut files: Vec<(String, Span)> = Vec::new();
    let mut deps: Option<Vec<(String, Span)>> = None;
    let mut verify: Vec<(String, Span)> = Vec::new();
    let mut acceptance: Vec<(String, Span)> = Vec::new();
    let mut status: Option<(bool, Span)> = None;
    let mut warnings: Vec<Diagnostic> = Vec::new();
    // The field whose list is being read, and the indentation of its line.
    let mut list: Option<(Field, usize)> = None;
    let mut list_under_plain_line = false;
    let indent_of = |l: &str| l.len() - l.trim_start().len();
    let span_of = |line: &Line<'_>, part: &str| {
        let o = md::offset_in(line.text, part).unwrap_or(0);
        Span::new(src, line.start + o, line.start + o + part.len())
    };
    for line in &o.lines {
        let text = line.text;
        if text.trim().is_empty() {
            if !line.in_fence {
                description.push(text);
            }
            continue;
        }
        // A fenced block under a `Verify:` field: its command lines.
        if line.in_fence {
            if let Some((Field::Verify, _)) = list {
                let t = text.trim();
                if md::fence_of(t).is_none() && !t.starts_with('#') && is_command(t) {
                    verify.push((t.trim_start_matches("$ ").to_owned(), span_of(line, t)));
                    continue;
                }
                if md::fence_of(t).is_some() {
                    continue;
                }
            }
            description.push(text);
            continue;
        }
        if let Some((field, indent)) = list {
            // The list under a field: more indented lines, or bullets at the same indentation
            // under a field line that is not itself a bullet (`**Acceptance**:` then `- [ ] …`).
            let under = indent_of(text) > indent
                || indent_of(text) == indent && md::bullet(text).is_some() && list_under_plain_line;
            if under || (field == Field::Verify && md::fence_of(text.trim()).is_some()) {
                if md::fence_of(text.trim()).is_some() {
                    continue;
                }
                let item = md::bullet(text).unwrap_or(text.trim());
                let (ticked, item) = match md::checkbox(text) {
                    Some((t, rest)) => (t, rest),
                    None => (false, item),
                };
                let _ = ticked;
                read_field(
                    field,
                    item,
                    line,
                    src,
                    &mut files,
                    &mut deps,
                    &mut verify,
                    &mut acceptance,
                    &mut status,
                    &mut warnings,
                );
                continue;
            }
            list = None;
        }
        let parsed = md::field(text).and_then(|(k, v, _)| field_kind(k).map(|f| (f, v)));
        if let Some((field, value)) = parsed {
            list_under_plain_line = md::bullet(text).is_none() && value.trim().is_empty();
            if value.trim().is_empty() {
                list = Some((field, indent_of(text)));
                if field == Field::DependsOn && deps.is_none() {
                    deps = Some(Vec::new());
                }
            } else {
                read_field(
                    field,
                    value,
                    line,
                    src,
                    &mut files,
                    &mut deps,
                    &mut verify,
                    &mut acceptance,
                    &mut status,
                    &mut warnings,
                );
                // A field written with a value may still have a list under it.
                list = Some((field, indent_of(text)));
            }
            continue;
        }
        description.push(text);
        let end = line.start + text.len();
        desc_span = Some(desc_span.map_or((line.start, end), |(s, _)| (s, end)));
    }
    for w in warnings {
        b.warn(w);
    }
    let body = model::block(&dedent(&description));
    let description = match (o.header.is_empty(), body.is_empty()) {
        (true, _) => body,
        (false, true) => o.header,
        (false, false) => format!("{body}\n\n{}", o.header),
    };
    let (Some(task), Some(spans)) = (b.plan.tasks.get_mut(o.index), b.task_spans.get_mut(o.index)) else { return };
    task.description = description;
    spans.description = desc_span.map(|(s, e)| Span::new(src, s, e));
    for (f, span) in files {
        if !task.files.contains(&f) {
            task.files.push(f);
            spans.files.push(span);
        }
    }
    if let Some(deps) = deps {
        // A dependencies field states the task's dependencies: it replaces the list's order.
        let drop = o.implicit_deps.min(task.depends_on.len()).min(spans.depends_on.len());
        task.depends_on.drain(..drop);
        spans.depends_on.drain(..drop);
        for (d, span) in deps {
            if d != task.id && !task.depends_on.contains(&d) {
                task.depends_on.push(d);
                spans.depends_on.push(span);
            }
        }
    }
    for (v, span) in verify {
        task.verify.push(v);
        spans.verify.push(span);
    }
    for (a, span) in acceptance {
        task.acceptance.push(a);
        spans.acceptance.push(span);
    }
    if let Some((done, span)) = status {
        task.status = if done { Status::Done } else { Status::Pending };
        spans.status = Some(span);
    }
}

/// Reads one field value (or one item of a field's list) into the task's parts.
#[allow(clippy::too_many_arguments)]
pub(super) fn read_field(
    field: Field,
    value: &str,
    line: &Line<'_>,
    src: SourceId,
    files: &mut Vec<(String, Span)>,
    deps: &mut Option<Vec<(String, Span)>>,
    verify: &mut Vec<(String, Span)>,
    acceptance: &mut Vec<(String, Span)>,
    status: &mut Option<(bool, Span)>,
    warnings: &mut Vec<Diagnostic>,
) {
    let base = md::offset_in(line.text, value).unwrap_or(0);
    let at = |off: usize, len: usize| Span::new(src, line.start + base + off, line.start + base + off + len);
    let whole = at(0, value.len());
    match field {
        Field::Files => {
            let found = paths_in(value);
            if found.is_empty() && !is_none(value) {
                warnings.push(
                    Diagnostic::warning(
                        "unread-file",
                        format!("files entry `{}` names no path planrun can read", model::one_line(value)),
                    )
                    .at(Some(whole))
                    .help("write each file as a path in backticks: `src/x.ts`"),
                );
            }
            for (p, off, len) in found {
                files.push((p, at(off, len)));
            }
        }
        Field::DependsOn => {
            let list = deps.get_or_insert_with(Vec::new);
            if is_none(value) {
                return;
            }
            let refs = id_refs(value);
            if refs.is_empty() {
                warnings.push(
                    Diagnostic::warning(
                        "unread-dependency",
                        format!("dependencies entry `{}` names no task id", model::one_line(value)),
                    )
                    .at(Some(whole))
                    .help("name the tasks by id: `Dependencies: T001, T002`"),
                );
            }
            for (first, last, off, len) in refs {
                // Ranges are expanded once every task is known; here only their ends are kept.
                match (last, id_number(&first)) {
                    (Some(last), Some(lo)) => {
                        let prefix: String = first.chars().take_while(|c| !c.is_ascii_digit()).collect();
                        let width = first.len() - prefix.len();
                        let hi = id_number(&last).unwrap_or(lo);
                        if hi >= lo && hi - lo <= 200 {
                            for n in lo..=hi {
                                list.push((format!("{prefix}{n:0width$}"), at(off, len)));
                            }
                        }
                    }
                    _ => list.push((first, at(off, len))),
                }
            }
        }
        Field::Verify => {
            let spans = md::code_spans(value);
            let commands: Vec<(&str, usize)> = spans.iter().copied().filter(|(c, _)| is_command(c)).collect();
            for (c, off) in &commands {
                verify.push((c.trim().to_owned(), at(*off, c.len())));
            }
            if commands.is_empty() {
                if let Some((c, off)) = spans.iter().find(|(c, _)| looks_like_command(c) && !is_command(c)) {
                    warnings.push(
                        Diagnostic::warning(
                            "unread-verify",
                            format!("`{c}` looks like a command, but planrun does not know the program `{}`; it is kept as an acceptance criterion", c.split_whitespace().next().unwrap_or("")),
                        )
                        .at(Some(at(*off, c.len())))
                        .help("write a command planrun knows (`npm test`, `cargo test`, `./scripts/check.sh` …) to have it run"),
                    );
                }
                let text = model::one_line(value);
                if !text.is_empty() {
                    acceptance.push((text, whole));
                }
            }
        }
        Field::Acceptance => {
            let (_, v) =
                md::checkbox(&format!("- {value}")).map_or((false, value.to_owned()), |(t, r)| (t, r.to_owned()));
            let text = model::one_line(&v);
            if !text.is_empty() {
                acceptance.push((text, whole));
            }
        }
        Field::Status => {
            if let Some(done) = status_value(value) {
                *status = Some((done, whole));
            }
        }
    }
}

/// Removes the common indentation of an item's continuation lines.
pub(super) fn dedent(lines: &[&str]) -> String {
    let indent =
        lines.iter().filter(|l| !l.trim().is_empty()).map(|l| l.len() - l.trim_start().len()).min().unwrap_or(0);
    lines.iter().map(|l| l.get(indent..).unwrap_or_else(|| l.trim_start())).collect::<Vec<_>>().join("\n")
}

/// The number of a phase heading (`Phase 3: …` → `3`).
pub(super) fn phase_number(milestone: &str) -> Option<&str> {
    let m = milestone.trim();
    m.get(..6).filter(|p| p.eq_ignore_ascii_case("phase "))?;
    let tail = m.get(6..)?;
    let end = tail.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(tail.len());
    let n = tail.get(..end)?.trim_end_matches('.');
    (!n.is_empty()).then_some(n)
}
