//! The `**Files:**` list of a task: its entries (`Create:`, `Modify:`, `Test:` …), paths with notes,
//! braces and line ranges cleaned into the files the task may touch.

use super::*;

/// Files people name without an extension or a folder.
pub(super) const EXTENSIONLESS: &[&str] = &[
    "Makefile",
    "GNUmakefile",
    "Dockerfile",
    "Containerfile",
    "Jenkinsfile",
    "Procfile",
    "Gemfile",
    "Rakefile",
    "Brewfile",
    "Justfile",
    "Vagrantfile",
    "Pipfile",
    "Podfile",
    "Caddyfile",
    "Taskfile",
    "Earthfile",
    "Tiltfile",
    "LICENSE",
    "README",
    "CHANGELOG",
    "CODEOWNERS",
    "AUTHORS",
    "CONTRIBUTORS",
    "NOTICE",
    "VERSION",
    "BUILD",
    "WORKSPACE",
    "OWNERS",
];

/// One entry of a `Files` list, possibly wrapped over several lines.
pub(super) struct Entry {
    /// The entry's value (after `Create:`), continuation lines joined.
    pub(super) value: String,
    /// Where the value starts and ends in the source.
    pub(super) start: usize,
    pub(super) end: usize,
    /// Whether the entry had a file key (`Create:`, `修改：`).
    pub(super) keyed: bool,
    /// A non-file key with nothing after it: a group label such as `- Backend:`.
    pub(super) label: bool,
}

/// Whether `text` has an odd number of backticks: a code span left open at the line's end.
pub(super) fn open_backtick(text: &str) -> bool {
    text.matches('`').count() % 2 == 1
}

/// Reads `**Files:**` and the list under it: `- Create: path`, `- Modify: path:12-40`,
/// `- Test: path`, or bare paths, with entries wrapped onto the next line and blank lines
/// between entries.
pub(super) fn read_files(
    b: &mut PlanBuilder,
    src: SourceId,
    body: &[Line<'_>],
    task: &mut Task,
    spans: &mut TaskSpans,
) {
    let mut i = 0;
    while let Some(line) = body.get(i) {
        i += 1;
        if line.in_fence {
            continue;
        }
        let Some((_, value, off)) = field(line.text).filter(|(k, _, _)| key_in(k, FILES_KEYS)) else {
            continue;
        };
        let start = line.start + off;
        let inline = Entry { value: value.to_owned(), start, end: start + value.len(), keyed: true, label: false };
        add_entry(b, src, &inline, task, spans);
        // The list under the field.
        while let Some(next) = body.get(i) {
            if next.in_fence {
                break;
            }
            if next.text.trim().is_empty() {
                // A blank line ends the list unless another entry follows it.
                let rest = body.get(i..).unwrap_or_default();
                let blanks = rest.iter().take_while(|l| l.text.trim().is_empty()).count();
                let ahead = rest.get(blanks);
                let quote_then_entry = quote_before_entry(rest.get(blanks..).unwrap_or_default()).is_some();
                if quote_then_entry || ahead.is_some_and(|l| !l.in_fence && is_file_entry(l.text)) {
                    i += 1;
                    continue;
                }
                break;
            }
            // A blockquote note between entries ("> Numbered 012, not 011: …") is prose: the list
            // goes on after it when another entry follows.
            if next.text.trim_start().starts_with('>') {
                match quote_before_entry(body.get(i..).unwrap_or_default()) {
                    Some(quoted) => {
                        i += quoted;
                        continue;
                    }
                    None => break,
                }
            }
            let Some(item) = md::bullet(next.text).filter(|_| md::checkbox(next.text).is_none()) else {
                break;
            };
            i += 1;
            let (mut value, keyed, label, voff) = match field(next.text) {
                Some((k, v, o)) if is_entry_key(k) => (v.to_owned(), true, false, o),
                Some((_, "", o)) => (String::new(), false, true, o),
                // Files the task only reads, and build output that is not committed, are not
                // files of the task: they stay in the description.
                Some((k, _, _)) if key_in(k, READ_ONLY_KEYS) || names_existing(k) => continue,
                _ => (item.to_owned(), false, false, md::offset_in(next.text, item).unwrap_or(0)),
            };
            let start = next.start + voff;
            let mut end = next.start + next.text.len();
            // Continuation lines: indented text that is not a list item, or anything while a
            // backticked path is still open, or the path of an entry whose key stood alone.
            while let Some(cont) = body.get(i) {
                let t = cont.text.trim();
                let wraps = open_backtick(&value)
                    || (keyed && value.is_empty())
                    || (cont.text.starts_with([' ', '\t']) && md::bullet(cont.text).is_none());
                if cont.in_fence || t.is_empty() || !wraps || md::heading(cont.text).is_some() {
                    break;
                }
                if open_backtick(&value) {
                    value.push_str(t);
                } else {
                    if !value.is_empty() {
                        value.push(' ');
                    }
                    value.push_str(t);
                }
                end = cont.start + cont.text.len();
                i += 1;
            }
            let entry = Entry { value, start, end, keyed, label: label && end == next.start + next.text.len() };
            if entry.label {
                continue;
            }
            if entry.keyed && entry.value.is_empty() {
                b.warn(
                    Diagnostic::warning("unread-file", format!("`{}` names no file", next.text.trim()))
                        .at(Some(Span::new(src, next.start, end)))
                        .help("write the path after the key: `- Modify: `src/x.rs``"),
                );
                continue;
            }
            add_entry(b, src, &entry, task, spans);
        }
    }
}

/// The number of blockquote lines at the start of `rest` when an entry of the files list follows
/// them right away (a note between entries), else `None`.
pub(super) fn quote_before_entry(rest: &[Line<'_>]) -> Option<usize> {
    let quoted = rest.iter().take_while(|l| !l.in_fence && l.text.trim_start().starts_with('>')).count();
    let after = rest.get(quoted)?;
    (quoted > 0 && !after.in_fence && is_file_entry(after.text)).then_some(quoted)
}

/// Whether a files-list key says its files already exist and the task leaves them as they are
/// (`- Fixtures (already committed):`, `- Data (read-only):`).
pub(super) fn names_existing(key: &str) -> bool {
    let lower = key.to_lowercase();
    let first = lower.split([' ', '(']).next().unwrap_or("");
    !key_in(first, FILE_ENTRY_KEYS)
        && ["already committed", "already in the repo", "already exist", "read-only", "read only", "unchanged"]
            .iter()
            .any(|w| lower.contains(w))
}

/// Whether a line is an entry of a files list: a (non-checkbox) list item with a file key or a
/// backticked path.
pub(super) fn is_file_entry(text: &str) -> bool {
    md::bullet(text).is_some()
        && md::checkbox(text).is_none()
        && (field(text).is_some_and(|(k, _, _)| is_entry_key(k)) || text.contains('`'))
}

/// Adds every path of one `Files` entry: each backticked span, or the comma-separated words.
pub(super) fn add_entry(b: &mut PlanBuilder, src: SourceId, entry: &Entry, task: &mut Task, spans: &mut TaskSpans) {
    let value = entry.value.trim();
    let lowered = value.to_lowercase();
    let none = ["none", "n/a", "no files", "无", "なし", "ninguno", "keine"];
    if value.is_empty() || none.iter().any(|w| lowered.starts_with(w)) {
        return;
    }
    // "Modify: this plan file" (to tick its boxes): the plan itself, from the repository's root.
    let own = ["this plan", "this file", "the plan file", "本计划", "本文件", "この計画", "este plano", "este plan"];
    if own.iter().any(|w| lowered.starts_with(w)) {
        let path = b.sources.path(src).to_path_buf();
        match plan_in_repo(&path) {
            Some(p) if !task.files.contains(&p) => {
                task.files.push(p);
                spans.files.push(Span::new(src, entry.start, entry.end));
            }
            Some(_) => {}
            None => b.warn(
                Diagnostic::warning(
                    "unread-file",
                    format!("`{value}`: planrun cannot tell where this plan sits in the repository"),
                )
                .at(Some(Span::new(src, entry.start, entry.end)))
                .help("name the plan's path from the repository's root: `- Modify: `docs/plans/x.md``"),
            ),
        }
        return;
    }
    if ["not committed", "do not commit", "don't commit", "不提交", "gitignored"].iter().any(|w| lowered.contains(w))
    {
        return;
    }
    if open_backtick(value) {
        b.warn(
            Diagnostic::warning("unread-file", format!("`{value}` opens a backticked path that never closes"))
                .at(Some(Span::new(src, entry.start, entry.end)))
                .help("close the backticks around the path: `- Create: `src/x.rs``"),
        );
        return;
    }
    // Notes in parentheses (`` `a.ts` (`TurnDeps`), `b.ts` (`x`) ``), and a note after a dash
    // following the first path, may hold more backticks: they are not files. They are blanked,
    // so offsets stay those of the line.
    let blanked = without_notes(value);
    let value = blanked.as_str();
    let one_line = entry.end <= entry.start + entry.value.len();
    // The folders a brace group named (`crates/{a,b}/Cargo.toml` → `crates/a/`, `crates/b/`), for a
    // later "and each crate's `src/lib.rs`".
    let mut each_base: Vec<String> = Vec::new();
    let mut prev_end = 0;
    for (index, (item, off)) in md::split_list(value).into_iter().enumerate() {
        let before = value.get(prev_end..off).unwrap_or("").to_lowercase();
        prev_end = off + item.len();
        // Offsets are exact on one line; a wrapped entry is located as a whole.
        let span = if one_line {
            Span::new(src, entry.start + off, entry.start + off + item.len())
        } else {
            Span::new(src, entry.start, entry.end)
        };
        // A bare name after the first path is a word of the entry's prose (`the `parse` fn`).
        let bare = !item.contains(['/', '.', '*', '\\']) && !EXTENSIONLESS.contains(&item.as_str());
        if bare && index > 0 && value.contains('`') {
            continue;
        }
        let Some(path) = clean_path(&item) else {
            b.warn(
                Diagnostic::warning(
                    "unread-file",
                    format!("`{item}` does not look like a path and is not a file of task `{}`", task.id),
                )
                .at(Some(span))
                .help("list one path per entry: `- Modify: src/app.py:10-40`"),
            );
            continue;
        };
        let paths = if !each_base.is_empty() && before.contains("each ") && before.trim_end().ends_with(['s', '`']) {
            each_base.iter().map(|base| format!("{base}{path}")).collect()
        } else {
            if let Some(base) = brace_base(&path) {
                each_base = expand_braces(&base);
            }
            expand_braces(&path)
        };
        for path in paths {
            if !task.files.contains(&path) {
                task.files.push(path);
                spans.files.push(span);
            }
        }
    }
}

/// A files entry with its notes blanked out (replaced by spaces of the same byte length): text in
/// parentheses that open after a space, a backtick, a comma or the start (not `(auth)` inside a
/// path), and everything after a dash (` — `, ` – `, ` - `) that follows a backticked path.
/// Backticked text is never a note.
pub(super) fn without_notes(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut in_code = false;
    let mut depth = 0usize;
    let mut code_in_note = false;
    let mut prev: Option<char> = None;
    let mut seen_path = false;
    let mut rest_blank = false;
    for (at, c) in value.char_indices() {
        let blank = |out: &mut String| out.extend(std::iter::repeat_n(' ', c.len_utf8()));
        if rest_blank {
            blank(&mut out);
            continue;
        }
        if depth > 0 {
            match c {
                '`' => code_in_note = !code_in_note,
                '(' | '（' if !code_in_note => depth += 1,
                ')' | '）' if !code_in_note => depth -= 1,
                _ => {}
            }
            blank(&mut out);
            prev = Some(c);
            continue;
        }
        if c == '`' {
            in_code = !in_code;
            if !in_code {
                seen_path = true;
            }
        } else if !in_code {
            let opens = matches!(c, '(' | '（')
                && prev.is_none_or(|p| p.is_whitespace() || matches!(p, '`' | ',' | '，' | '、'));
            if opens {
                depth = 1;
                code_in_note = false;
                blank(&mut out);
                prev = Some(c);
                continue;
            }
            let tail = value.get(at..).unwrap_or("");
            if seen_path && c == ' ' && [" — ", " – ", " - ", " —", " –"].iter().any(|d| tail.starts_with(d)) {
                rest_blank = true;
                blank(&mut out);
                continue;
            }
        }
        out.push(c);
        prev = Some(c);
    }
    out
}

/// The plan's path from the root of its repository: from its `docs/` folder in the layouts
/// superpowers writes (`docs/superpowers/plans/`, `docs/plans/`, always at the root), else from
/// the nearest folder above it holding `.git`.
pub(super) fn plan_in_repo(path: &Path) -> Option<String> {
    let parts: Vec<_> = path.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    let docs = parts
        .windows(2)
        .rposition(|w| matches!(w, [d, next] if d == "docs" && (next == "superpowers" || next == "plans")));
    let rel = match docs {
        Some(at) => parts.get(at..)?.join("/"),
        None => {
            let root = path.ancestors().skip(1).find(|dir| dir.join(".git").exists())?;
            path.strip_prefix(root).ok()?.to_str()?.replace('\\', "/")
        }
    };
    (!rel.is_empty()).then_some(rel)
}

/// Expands the first `{a,b,c}` group of a path (`crates/{a,b}/lib.rs` → `crates/a/lib.rs`,
/// `crates/b/lib.rs`), and the groups after it in turn. A path without one is itself.
pub(super) fn expand_braces(path: &str) -> Vec<String> {
    let group = path.find('{').and_then(|open| Some((open, open + path.get(open..)?.find('}')?)));
    match group {
        Some((open, close)) if path.get(open + 1..close).is_some_and(|g| g.contains(',')) => {
            let (head, tail) = (path.get(..open).unwrap_or(""), path.get(close + 1..).unwrap_or(""));
            path.get(open + 1..close)
                .unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|alt| !alt.is_empty())
                .flat_map(|alt| expand_braces(&format!("{head}{alt}{tail}")))
                .collect()
        }
        _ => vec![path.to_owned()],
    }
}

/// The folder a path's brace group ends in (`crates/{a,b}/Cargo.toml` → `crates/{a,b}/`).
pub(super) fn brace_base(path: &str) -> Option<String> {
    let close = path.find('}')?;
    path.find('{').filter(|&open| open < close)?;
    let slash = close + 1 + path.get(close + 1..)?.find('/')?;
    Some(path.get(..=slash)?.to_owned())
}

/// A path from a `Files` entry: without `:12-40` line ranges, a leading `./` or `/`, or a
/// trailing note in parentheses. `None` for prose.
pub(super) fn clean_path(item: &str) -> Option<String> {
    let mut p = item.trim().trim_matches('`').trim();
    // A test id (`tests/test_x.py::test_y`) names its file.
    if let Some(at) = p.find("::") {
        p = p.get(..at).unwrap_or(p);
    }
    for open in [" (", "（", " —", " - "] {
        if let Some(at) = p.find(open) {
            p = p.get(..at).unwrap_or(p).trim_end();
        }
    }
    if let Some(colon) = p.rfind(':') {
        let range = p.get(colon + 1..).unwrap_or("");
        if range.chars().all(|c| c.is_ascii_digit() || matches!(c, '-' | ',' | 'L' | ' ')) {
            p = p.get(..colon).unwrap_or(p);
        }
    }
    let p = p.trim_start_matches("./").trim_start_matches('/').trim();
    // An unquoted lowercase word ("migration (generated)") is prose; `Makefile` is a file.
    let quoted = item.trim().starts_with('`');
    if !quoted && !p.contains(['/', '.', '*']) && p.starts_with(|c: char| c.is_lowercase()) {
        return None;
    }
    // A name from the code in a note (`ADVISOR_PROMPT`, `TurnDeps`) is not a file; `Makefile` is.
    if !p.contains(['/', '.', '*', '\\']) && p.chars().any(char::is_uppercase) && !EXTENSIONLESS.contains(&p) {
        return None;
    }
    // Files are globs: a folder stands for everything below it.
    let glob = if p.ends_with('/') { format!("{p}**") } else { p.to_owned() };
    (!p.is_empty() && !p.contains(char::is_whitespace) && !p.ends_with(':')).then_some(glob)
}
