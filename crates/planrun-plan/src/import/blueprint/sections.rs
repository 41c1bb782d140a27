//! The bodies of a step's sections: checklists, procedures and fenced blocks, read into acceptance
//! criteria and verify commands (with the outcome a command is expected to have).

use super::*;

pub(super) fn block_of(lines: &[Line<'_>]) -> String {
    model::block(&lines.iter().map(|l| l.text).collect::<Vec<_>>().join("\n"))
}

/// List items of a section (checkboxes and bullets unwrapped, indented lines joined), with the
/// offset of each in the file.
pub(super) fn items(lines: &[Line<'_>]) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = Vec::new();
    for l in lines {
        if l.text.trim().is_empty() || l.in_fence || is_rule(l.text) {
            continue;
        }
        match md::bullet(l.text) {
            Some(item) => {
                let item = md::checkbox(l.text).map_or(item, |(_, t)| t);
                out.push((item.trim().to_owned(), l.start + md::offset_in(l.text, item).unwrap_or(0)));
            }
            None => match out.last_mut() {
                Some((last, _)) if l.text.starts_with([' ', '\t']) => {
                    last.push(' ');
                    last.push_str(l.text.trim());
                }
                _ => out.push((l.text.trim().to_owned(), l.start)),
            },
        }
    }
    out.retain(|(s, _)| !s.is_empty());
    out
}

/// Byte ranges of the code blocks in a section that change the repository (`git add`, `git
/// commit`, `git merge`, …): a procedure to follow, not checks.
pub(super) fn procedure_blocks(lines: &[Line<'_>]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut open: Option<(usize, bool)> = None;
    for l in lines {
        if !l.in_fence {
            continue;
        }
        if md::fence_of(l.text).is_some() {
            match open.take() {
                Some((start, true)) => out.push((start, l.start)),
                Some(_) => {}
                None => open = Some((l.start, false)),
            }
            continue;
        }
        let mut words = l.text.split_whitespace();
        let changes = words.next() == Some("git")
            && words.next().is_some_and(|w| {
                matches!(
                    w,
                    "add"
                        | "commit"
                        | "merge"
                        | "checkout"
                        | "switch"
                        | "branch"
                        | "push"
                        | "pull"
                        | "rebase"
                        | "reset"
                        | "stash"
                        | "tag"
                )
            });
        if let Some((_, c)) = open.as_mut() {
            *c |= changes;
        }
    }
    if let Some((start, true)) = open {
        out.push((start, usize::MAX));
    }
    out
}

/// A dependency value up to a sentence saying what may run in parallel with the step.
pub(super) fn without_parallel_note(value: &str) -> &str {
    let mut start = 0;
    for (i, _) in value.match_indices(". ").chain(std::iter::once((value.len(), ""))) {
        let sentence = value.get(start..i).unwrap_or("").to_lowercase();
        if start > 0
            && ["parallel", "concurrently", "alongside", "at the same time"].iter().any(|w| sentence.contains(w))
        {
            return value.get(..start).unwrap_or(value).trim_end();
        }
        start = (i + 2).min(value.len());
    }
    value
}

/// The label of a verification routine step: `**Build:** …`, `**Unit tests:** …`, `**Commit.**`.
pub(super) fn routine_label(item: &str) -> Option<String> {
    let label = match md::field(item) {
        Some((key, _, _)) if item.trim_start().starts_with("**") => key.to_lowercase(),
        _ => item.trim().strip_prefix("**")?.strip_suffix("**")?.trim_end_matches(['.', ':']).to_lowercase(),
    };
    let words = ["build", "compile", "test", "lint", "script", "commit", "format", "typecheck", "type check", "push"];
    words.iter().any(|w| label.contains(w)).then_some(label)
}

/// Only the list items of a section (a checklist): prose around them is not a check.
pub(super) fn list_items(lines: &[Line<'_>]) -> Vec<(String, (usize, usize))> {
    let mut out: Vec<(String, (usize, usize))> = Vec::new();
    let mut open = false;
    for l in lines.iter().filter(|l| !l.in_fence) {
        match md::bullet(l.text) {
            Some(item) => {
                let item = md::checkbox(l.text).map_or(item, |(_, t)| t).trim();
                let off = l.start + md::offset_in(l.text, item).unwrap_or(0);
                out.push((item.to_owned(), (off, off + item.len())));
                open = true;
            }
            None if open && l.text.starts_with([' ', '\t']) && !l.text.trim().is_empty() => {
                if let Some((last, span)) = out.last_mut() {
                    last.push(' ');
                    last.push_str(l.text.trim());
                    span.1 = l.start + l.text.len();
                }
            }
            None => open = false,
        }
    }
    out.retain(|(s, _)| !s.is_empty());
    out
}

pub(super) fn close_section(b: &mut PlanBuilder, acc: &mut Acc, sec: Sec, lines: &[Line<'_>]) {
    let known = toolchain_words(&acc.toolchain);
    let Some(d) = acc.steps.last_mut() else {
        return;
    };
    let src = d.head_span.source;
    match sec {
        Sec::Description | Sec::Other => {
            // A step about testing and verification (`### Step 4: Testing & Verification`): its
            // checklist items that run a command (`Run web tests: `pnpm test``, `Build passes:
            // `pnpm build``) are its verify commands; the other items are work.
            if sec == Sec::Description && section_kind(&d.title) == Some(Sec::Verify) {
                for (item, (start, end)) in list_items(lines) {
                    if let Some(cmd) = labelled_run(&item, &known) {
                        if !d.verify.contains(&cmd) {
                            d.verify.push(cmd);
                            d.verify_spans.push(Span::new(src, start, end));
                        }
                    }
                }
            }
            let text = block_of(lines);
            if !text.is_empty() {
                if let Some(first) = lines.iter().find(|l| !l.text.trim().is_empty()) {
                    d.description_span.get_or_insert(Span::new(src, first.start, first.start + first.text.len()));
                }
                d.description.push(text);
            }
        }
        Sec::Acceptance => {
            // With a list, only its items are criteria: a line introducing it (`… shows that:`)
            // or a note after it is prose, kept in the description.
            if lines.iter().any(|l| !l.in_fence && md::bullet(l.text).is_some()) {
                let listed = list_items(lines);
                let prose: Vec<&str> = lines
                    .iter()
                    .filter(|l| !l.in_fence && md::bullet(l.text).is_none() && !l.text.starts_with([' ', '\t']))
                    .map(|l| l.text.trim())
                    .filter(|t| !t.is_empty())
                    .collect();
                if !prose.is_empty() {
                    d.description.push(prose.join("\n"));
                }
                for (item, (start, end)) in listed {
                    d.acceptance.push(model::one_line(&item));
                    d.acceptance_spans.push(Span::new(src, start, end));
                }
                return;
            }
            for (item, off) in items(lines) {
                let item = model::one_line(&item);
                let len = item.len();
                d.acceptance.push(item);
                d.acceptance_spans.push(Span::new(src, off, off + len));
            }
        }
        Sec::Build | Sec::Review => {
            let text = block_of(lines);
            if !text.is_empty() {
                if sec == Sec::Build { d.build.push(text) } else { d.review.push(text) }
            }
        }
        Sec::Verify => {
            let text = block_of(lines);
            if !text.is_empty() {
                d.verify_text.push(text);
            }
            let procedures = procedure_blocks(lines);
            for (c, off) in fenced_commands(lines, &known) {
                if procedures.iter().any(|&(a, z)| a <= off && off < z) {
                    continue;
                }
                if !d.verify.contains(&c) {
                    d.verify_spans.push(Span::new(src, off, off + c.len()));
                    d.verify.push(c);
                }
            }
            // `**Verify**: `cmd` → exit 0. Every test must still pass.` written as a paragraph
            // (wrapped over lines) rather than a list: read like a list item when it starts
            // with a command.
            let mut entries = list_items(lines);
            entries.extend(command_paragraphs(lines, &known));
            for (item, span) in entries {
                let span = Span::new(src, span.0, span.1);
                // `Stage only the files above, … and commit:`, `Manual check with `make play`: …`:
                // a step of the routine for a person, neither a command that must pass nor a
                // criterion (it stays in the verify instructions).
                let first = item.split_whitespace().next().unwrap_or("").trim_matches(['*', ':', ',']).to_lowercase();
                if item.trim_end().ends_with(':')
                    || matches!(first.as_str(), "stage" | "commit" | "merge" | "push" | "manual" | "manually")
                {
                    continue;
                }
                // `Run `make check`, `git diff --check`, and `godot --headless …`.`: every code
                // span of a Run item is a command when one of them is a known one.
                if matches!(first.as_str(), "run" | "re-run" | "rerun") {
                    let spans: Vec<&str> = md::code_spans(&item).into_iter().map(|(c, _)| c.trim()).collect();
                    if spans.iter().any(|c| is_command(c, &known)) {
                        for c in spans.into_iter().filter(|c| {
                            let w = c.split_whitespace().next().unwrap_or("");
                            c.contains(' ') && (!w.contains('/') || w.starts_with("./")) && !w.starts_with('-')
                        }) {
                            if !d.verify.iter().any(|v| v == c) {
                                d.verify.push(c.to_owned());
                                d.verify_spans.push(span);
                            }
                        }
                        continue;
                    }
                }
                // "`pytest x` fails with the reported error": a check that the command fails is
                // not a command that must pass.
                if expects_failure(&item) {
                    d.acceptance.push(model::one_line(&item));
                    d.acceptance_spans.push(span);
                    continue;
                }
                // `` `cmd` → exit 0. Then … ``, `` `git status` clean ``, `` `grep …` → no output ``:
                // the outcome written after the command says whether it is run as a check.
                match command_outcome(&item, &known) {
                    Some(Outcome::Passes(cmd, rest)) => {
                        if !d.verify.contains(&cmd) {
                            d.verify.push(cmd);
                            d.verify_spans.push(span);
                        }
                        if let Some(rest) = rest {
                            d.acceptance.push(rest);
                            d.acceptance_spans.push(span);
                        }
                        continue;
                    }
                    Some(Outcome::ByOutput) => {
                        d.acceptance.push(model::one_line(&item));
                        d.acceptance_spans.push(span);
                        continue;
                    }
                    None => {}
                }
                let commands: Vec<String> = md::code_spans(&item)
                    .into_iter()
                    .map(|(s, _)| s.trim())
                    .filter(|s| is_command(s, &known))
                    .map(str::to_owned)
                    .collect();
                // `**Build:** `kmake core`, then the full build.`, `**Commit.**`: a labelled step
                // of the verification routine, not a criterion; a build or test step's command
                // (a code span of several words) is a verify command.
                if commands.is_empty() {
                    if let Some(label) = routine_label(&item) {
                        let runs = ["build", "compile", "test", "check"].iter().any(|w| label.contains(w));
                        let cmd = md::code_spans(&item).into_iter().map(|(c, _)| c.trim()).find(|c| {
                            let first = c.split_whitespace().next().unwrap_or("");
                            c.contains(' ') && !first.contains(['/', '.', '(']) && !first.starts_with('-')
                        });
                        if let (true, Some(c)) = (runs, cmd) {
                            if !d.verify.iter().any(|v| v == c) {
                                d.verify.push(c.to_owned());
                                d.verify_spans.push(span);
                            }
                        }
                        continue;
                    }
                }
                if commands.is_empty() {
                    d.acceptance.push(model::one_line(&item));
                    d.acceptance_spans.push(span);
                } else {
                    for c in commands {
                        if !d.verify.contains(&c) {
                            d.verify.push(c);
                            d.verify_spans.push(span);
                        }
                    }
                }
            }
        }
        Sec::Depends => {
            for l in lines.iter().filter(|l| !l.text.trim().is_empty()) {
                let body = md::bullet(l.text).unwrap_or(l.text.trim());
                let off = l.start + md::offset_in(l.text, body).unwrap_or(0);
                let refs = parse_deps(body, Span::new(src, off, off + body.len())).unwrap_or_default();
                d.depends.get_or_insert_with(Vec::new).extend(refs);
            }
        }
        Sec::Files => {
            let indent = |t: &str| t.len() - t.trim_start().len();
            let base = lines.iter().find(|l| !l.in_fence && md::bullet(l.text).is_some()).map(|l| indent(l.text));
            // Another bold label after the paths (`**Module renames:**`, `**References to
            // update:**`) ends the list: what follows is description, not files.
            let end = lines
                .iter()
                .enumerate()
                .skip_while(|(_, l)| l.in_fence || md::bullet(l.text).is_none())
                .find(|(_, l)| !l.in_fence && md::bullet(l.text).is_none() && l.text.trim_start().starts_with("**"))
                .map_or(lines.len(), |(i, _)| i);
            let rest: Vec<&str> = lines.get(end..).unwrap_or_default().iter().map(|l| l.text.trim_end()).collect();
            let rest = rest.join("\n");
            if !rest.trim().is_empty() {
                d.description.push(rest.trim().to_owned());
            }
            for l in lines.get(..end).unwrap_or_default().iter().filter(|l| !l.in_fence) {
                let Some(item) = md::bullet(l.text) else {
                    continue;
                };
                // A bullet nested under a file describes it.
                if base.is_some_and(|b| indent(l.text) > b) {
                    continue;
                }
                let off = l.start + md::offset_in(l.text, item).unwrap_or(0);
                let quoted = md::code_spans(item).first().map(|&(p, at)| (p.trim(), at));
                // `- **Risk**: …` after the paths: another field of the step, not a file.
                if quoted.is_none() && md::field(item).is_some() {
                    d.description.push(l.text.trim().to_owned());
                    continue;
                }
                let path = quoted.or_else(|| {
                    md::item_path(item)
                        .filter(|(p, _)| (p.contains('/') || p.contains('.')) && !p.ends_with([':', ',']))
                });
                match path {
                    Some((path, at)) if !path.is_empty() && !path.contains(char::is_whitespace) => {
                        d.files.push((folder_glob(path), Span::new(src, off + at, off + at + path.len())));
                        // `` `lib/old.ex` → `new.ex` ``: a rename touches the new file too (in the
                        // same folder when the new name has none).
                        let spans = md::code_spans(item);
                        if let [_, (new, nat), ..] = spans.as_slice() {
                            let between = item.get(at + path.len()..*nat).unwrap_or("");
                            let new = new.trim();
                            if (between.contains('→') || between.contains("->"))
                                && !new.is_empty()
                                && !new.contains(char::is_whitespace)
                            {
                                let full = match (new.contains('/'), path.rsplit_once('/')) {
                                    (false, Some((dir, _))) => format!("{dir}/{new}"),
                                    _ => new.to_owned(),
                                };
                                d.files.push((full, Span::new(src, off + nat, off + nat + new.len())));
                            }
                        }
                    }
                    _ => b.warn(
                        Diagnostic::warning(
                            "unread-file",
                            format!("`{}` is listed under files but names no path; it was not read", item.trim()),
                        )
                        .at(Some(Span::new(src, off, off + item.len())))
                        .help("write the path in backticks: `- `src/admin/headers.ts` (security headers)`"),
                    ),
                }
            }
        }
    }
}

/// The command lines of the code blocks in a verification section: every line of a `bash`,
/// `sh`, `shell`, `console` or `zsh` block, and the lines of a block without a language that
/// start with a known program. Comments, blank lines and `$ ` prompts are dropped; a block in any
/// other language (expected output, JSON) gives nothing.
pub(super) fn fenced_commands(lines: &[Line<'_>], known: &HashSet<String>) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut open: Option<Option<bool>> = None;
    for l in lines {
        if !l.in_fence {
            open = None;
            continue;
        }
        if let Some((ch, _, _)) = md::fence_of(l.text) {
            if open.is_some() {
                open = None;
            } else {
                let info = l.text.trim().trim_start_matches(ch).trim().to_ascii_lowercase();
                let lang = info.split_whitespace().next().unwrap_or("");
                open = Some(match lang {
                    "" => None,
                    "bash" | "sh" | "shell" | "console" | "zsh" | "shell-session" => Some(true),
                    _ => Some(false),
                });
            }
            continue;
        }
        let line = without_comment(l.text.trim().trim_start_matches("$ ").trim());
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = l.start + md::offset_in(l.text, line).unwrap_or(0);
        match open {
            Some(Some(true)) => out.push((line.to_owned(), at)),
            Some(None) => {
                let runs = line.strip_prefix("cd ").and_then(|r| r.split_once("&&")).map_or(line, |(_, r)| r.trim());
                if is_command(runs, known) {
                    out.push((line.to_owned(), at));
                }
            }
            _ => {}
        }
    }
    out
}

/// A shell line without its trailing comment (`go test ./...   # stays green` → `go test ./...`):
/// a `#` after a space, outside quotes, starts a comment as the shell reads it.
pub(super) fn without_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut prev_space = false;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (Some(q), _) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '#') if prev_space => return line.get(..i).unwrap_or(line).trim_end(),
            _ => {}
        }
        prev_space = c.is_whitespace();
    }
    line
}

/// Whether a code span from a checklist is a shell command (not a file or symbol name).
pub(super) fn is_command(span: &str, known: &HashSet<String>) -> bool {
    let s = span.trim();
    if s.is_empty() || s.contains('\n') {
        return false;
    }
    // `cd web && npm test`: the command is what runs in that folder.
    if let Some((_, rest)) = s.strip_prefix("cd ").and_then(|r| r.split_once("&&")) {
        return is_command(rest, known);
    }
    // `RUST_LOG=debug cargo test`: skip environment assignments.
    let first = s.split_whitespace().find(|w| !w.contains('=') || w.starts_with('-')).unwrap_or("");
    if first.starts_with("./") || first.starts_with("../") {
        let last = first.rsplit('/').next().unwrap_or("");
        return s.contains(' ') || last.ends_with(".sh") || !last.contains('.');
    }
    crate::reader::commands::PROGRAMS.contains(&first) || known.contains(first)
}

/// What the words after a check's leading command say about it.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Run, it must pass (`→ passes`, `→ exit 0`, `succeeds`): a verify command, with the
    /// sentences after the outcome as a criterion of their own.
    Passes(String, Option<String>),
    /// Judged by what it prints or finds (`matches …`, `clean`, `shows `6.3.5``, `→ no
    /// output`): the whole item is a criterion.
    ByOutput,
}

/// Reads an item that starts with a backticked command and says what to expect of it.
/// `None` when the item does not start with a known command, or says nothing after it.
pub(super) fn command_outcome(item: &str, known: &HashSet<String>) -> Option<Outcome> {
    let t = item.trim();
    if !t.starts_with('`') {
        return None;
    }
    let &(cmd, at) = md::code_spans(t).first()?;
    if !is_command(cmd, known) {
        return None;
    }
    let after = t.get(at + cmd.len()..)?.trim_start_matches('`').trim_start();
    let after = after.trim_start_matches(['→', '-', '>', '—', '–', ':', '=']).trim_start();
    let after = after.trim_start_matches(['*', '_']).trim_start();
    if after.is_empty() || after == "." {
        return None;
    }
    let lower = after.to_lowercase();
    let lower = lower.replace(['*', '_'], "");
    const PASS: [&str; 14] = [
        "passes",
        "pass",
        "succeeds",
        "exit 0",
        "exits 0",
        "exit code 0",
        "exits with 0",
        "exits with code 0",
        "returns 0",
        "all pass",
        "all green",
        "green",
        "ok",
        "no errors",
    ];
    // `reports no errors`, `with zero warnings`: a clean run, which its exit status tells.
    let clean = ["no errors", "no error", "without errors", "0 errors", "zero errors", "no failures", "no warnings"];
    let first_sentence = lower.split(". ").next().unwrap_or("");
    let passes = PASS
        .iter()
        .any(|p| lower.strip_prefix(p).is_some_and(|r| r.is_empty() || r.starts_with(|c: char| !c.is_alphanumeric())))
        || clean.iter().any(|c| first_sentence.contains(c));
    if passes {
        // `→ exit 0. Every existing test must still pass; …`: what follows the outcome.
        let rest = after.split_once(". ").map(|(_, r)| model::one_line(r)).filter(|r| !r.is_empty());
        // `` `a` exits 0, and `grep X src` returns no matches. ``: a second check in the same
        // sentence, judged by its output, so the whole item is also a criterion.
        let head = after.split_once(". ").map_or(after, |(h, _)| h);
        if head.contains('`') {
            return Some(Outcome::Passes(cmd.trim().to_owned(), Some(model::one_line(t))));
        }
        return Some(Outcome::Passes(cmd.trim().to_owned(), rest));
    }
    let first = lower.split(|c: char| !c.is_alphanumeric()).next().unwrap_or("");
    const BY_OUTPUT: [&str; 22] = [
        "matches", "match", "shows", "show", "prints", "print", "outputs", "output", "lists", "contains", "returns",
        "reports", "displays", "includes", "equals", "clean", "empty", "has", "gives", "finds", "no", "nothing",
    ];
    BY_OUTPUT.contains(&first).then_some(Outcome::ByOutput)
}

/// Paragraphs of a verification section (outside lists and code) that start with a backticked
/// command, wrapped lines joined, with their byte ranges.
pub(super) fn command_paragraphs(lines: &[Line<'_>], known: &HashSet<String>) -> Vec<(String, (usize, usize))> {
    let mut out: Vec<(String, (usize, usize))> = Vec::new();
    let mut open: Option<(String, (usize, usize))> = None;
    let mut in_list = false;
    for l in lines {
        let blank = l.text.trim().is_empty();
        if l.in_fence || blank || md::bullet(l.text).is_some() {
            out.extend(open.take());
            in_list = md::bullet(l.text).is_some() || (in_list && !blank && !l.in_fence);
            continue;
        }
        if in_list && l.text.starts_with([' ', '\t']) {
            continue;
        }
        in_list = false;
        match open.as_mut() {
            Some((text, span)) => {
                text.push(' ');
                text.push_str(l.text.trim());
                span.1 = l.start + l.text.len();
            }
            None => open = Some((l.text.trim().to_owned(), (l.start, l.start + l.text.len()))),
        }
    }
    out.extend(open);
    out.retain(|(p, _)| {
        p.starts_with('`') && md::code_spans(p).first().is_some_and(|&(c, at)| at == 1 && is_command(c, known))
    });
    out
}

/// A checklist item that runs a command as a check: `Run web tests: `cmd``, `Build passes:
/// `cmd``, `Run `cmd``. The command must be the item's last words.
pub(super) fn labelled_run(item: &str, known: &HashSet<String>) -> Option<String> {
    let t = item.trim().trim_end_matches('.').trim_end();
    let &(cmd, at) = md::code_spans(t).last()?;
    let cmd_end = at + cmd.len();
    if t.get(cmd_end..).is_none_or(|r| r.trim_start_matches('`').trim() != "") || !is_command(cmd, known) {
        return None;
    }
    if expects_failure(item) || md::code_spans(t).len() != 1 {
        return None;
    }
    let label = t.get(..at)?.trim_end_matches('`').trim().trim_end_matches(':').to_lowercase();
    let words: Vec<&str> = label.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    let runs = words.first().is_some_and(|w| matches!(*w, "run" | "rerun" | "execute"))
        || words.iter().any(|w| matches!(*w, "passes" | "pass" | "succeeds" | "green"));
    runs.then(|| cmd.trim().to_owned())
}

/// Whether a checklist item says its command fails (a red test), outside its code spans.
pub(super) fn expects_failure(item: &str) -> bool {
    let mut prose = item.to_owned();
    for (span, _) in md::code_spans(item) {
        prose = prose.replacen(span, " ", 1);
    }
    prose
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .any(|w| matches!(w, "fail" | "fails" | "failing" | "red"))
}

/// A thematic break (`---`, `***`, `___`): a separator, never content.
pub(super) fn is_rule(line: &str) -> bool {
    let t: String = line.chars().filter(|c| !c.is_whitespace()).collect();
    t.len() >= 3 && (t.chars().all(|c| c == '-') || t.chars().all(|c| c == '*') || t.chars().all(|c| c == '_'))
}

/// A path ending with `/` names a folder: everything under it.
pub(super) fn folder_glob(path: &str) -> String {
    match path.strip_suffix('/') {
        Some(dir) if !dir.is_empty() && !dir.contains('*') => format!("{dir}/**"),
        _ => path.to_owned(),
    }
}
