//! The body of one subtask, the same in `execution-backlog.md` and in `st-N.md`: its heading, its
//! sections (change area, dependencies, acceptance, verification) and the tables and paths in them.

use super::*;

/// Every `ST-N` (also `ST N`, `ST_N`, `st-N`, `ST-N.M`) in `text`, canonicalised to `ST-…`, with
/// byte offsets.
pub(super) fn st_ids(text: &str) -> Vec<(String, usize)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 2 < bytes.len() + 1 {
        let (Some(&a), Some(&c)) = (bytes.get(i), bytes.get(i + 1)) else {
            break;
        };
        let boundary = i == 0 || bytes.get(i - 1).is_none_or(|p| !p.is_ascii_alphanumeric());
        if boundary && a.eq_ignore_ascii_case(&b's') && c.eq_ignore_ascii_case(&b't') {
            let mut j = i + 2;
            if bytes.get(j).is_some_and(|&s| s == b'-' || s == b'_' || s == b' ') {
                j += 1;
            }
            let digits_start = j;
            while bytes.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
                // `ST-1.2` subtask numbering.
                if bytes.get(j) == Some(&b'.') && bytes.get(j + 1).is_some_and(u8::is_ascii_digit) {
                    j += 1;
                }
            }
            let after_ok = bytes.get(j).is_none_or(|n| !n.is_ascii_alphabetic());
            if j > digits_start && after_ok {
                if let Some(num) = text.get(digits_start..j) {
                    out.push((format!("ST-{num}"), i));
                }
                i = j;
                continue;
            }
        }
        i += 1;
    }
    out
}

/// `ST-3: Title` (or `ST-3 — Title`, `Subtask ST-3. Title`, a leading ✅): done, id, id offset,
/// title.
pub(super) fn subtask_heading(text: &str) -> Option<(bool, String, usize, String)> {
    let (mut done, rest) = md::strip_done_mark(text);
    let rest = rest.strip_prefix("Subtask").or_else(|| rest.strip_prefix("subtask")).map_or(rest, str::trim_start);
    let rest = rest.trim_start_matches(['*', '`']);
    let (id, off) = st_ids(rest).into_iter().next()?;
    if off != 0 {
        return None;
    }
    let id_len = rest.get(2..).map_or(0, |r| {
        let sep = usize::from(r.starts_with(['-', '_', ' ']));
        2 + sep + r.get(sep..).map_or(0, |d| d.chars().take_while(|c| c.is_ascii_digit() || *c == '.').count())
    });
    let id_off = md::offset_in(text, rest).unwrap_or(0);
    let title = rest.get(id_len..).unwrap_or("").trim_start_matches(['*', '`']).trim();
    let title = title.trim_start_matches([':', '—', '–', '-', '.', ')']).trim();
    let mut title = title.to_owned();
    for mark in ["✅", "✔", "(done)", "[done]", "[x]"] {
        if let Some(t) = title.strip_suffix(mark) {
            title = t.trim_end().to_owned();
            done = true;
        }
    }
    let id = id.trim_end_matches('.').to_owned();
    Some((done, id, id_off, title))
}

// ---------------------------------------------------------------------------------------------
// One subtask's body, shared by every input form

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sec {
    Desc,
    Change,
    Accept,
    Deps,
    Verify,
}

pub(super) fn section_of(name: &str) -> Option<Sec> {
    let n = name.trim().trim_matches(['*', '_', ':', ' ']).trim_end_matches(':').to_ascii_lowercase();
    let has = |w: &str| n.contains(w);
    if has("completion criteria")
        || has("acceptance")
        || has("done when")
        || has("definition of done")
        || has("success criteria")
        || n == "criteria"
    {
        Some(Sec::Accept)
    } else if has("dependenc") || has("depends on") || has("blocked by") || has("prerequisite") {
        Some(Sec::Deps)
    } else if has("change area") || n == "files" || has("affected files") || has("file changes") || has("files to") {
        Some(Sec::Change)
    } else if n == "verification" || n == "verify" || has("verification commands") || n == "how to verify" {
        Some(Sec::Verify)
    } else {
        None
    }
}

#[derive(Debug, Default)]
pub(super) struct Body {
    pub(super) description: Vec<String>,
    pub(super) acceptance: Vec<String>,
    pub(super) verify: Vec<String>,
    pub(super) files: Vec<(String, Span)>,
    pub(super) deps: Vec<(String, Span)>,
    pub(super) deps_declared: bool,
    pub(super) wave: Option<String>,
    pub(super) id_field: Option<(String, Span)>,
    pub(super) title_field: Option<(String, Span)>,
    pub(super) done: bool,
    pub(super) priority: Option<crate::model::Priority>,
    /// Lines that look like files or dependencies but could not be read.
    pub(super) warnings: Vec<Diagnostic>,
    /// Where each acceptance criterion and verify command was written (parallel lists).
    pub(super) acceptance_spans: Vec<Span>,
    pub(super) verify_spans: Vec<Span>,
}

/// Finds references to other tasks: `ST-N` ids, or in a raw list plain numbers (`2`, `#2`,
/// `task 2`) which name derived `task-N` ids.
pub(super) fn refs(text: &str, raw: bool) -> Vec<(String, usize)> {
    let ids = st_ids(text);
    if !ids.is_empty() || !raw {
        return ids;
    }
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let boundary = i == 0 || bytes.get(i - 1).is_none_or(|p| !p.is_ascii_alphanumeric() && *p != b'.');
        if boundary && bytes.get(i).is_some_and(u8::is_ascii_digit) {
            let start = i;
            while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if let Some(n) = text.get(start..i) {
                let n = n.trim_start_matches('0');
                out.push((format!("task-{}", if n.is_empty() { "0" } else { n }), start));
            }
            continue;
        }
        i += 1;
    }
    out
}

/// Cells of a markdown table row with their byte offsets in `line`, or `None` for other lines.
pub(super) fn table_cells(line: &str) -> Option<Vec<(&str, usize)>> {
    let t = line.trim();
    if !t.starts_with('|') {
        return None;
    }
    let inner = t.strip_prefix('|')?;
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    let base = md::offset_in(line, inner)?;
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in inner.char_indices() {
        if c == '|' && !inner.get(..i).is_some_and(|s| s.ends_with('\\')) {
            push_cell(inner, start, i, base, &mut out);
            start = i + 1;
        }
    }
    push_cell(inner, start, inner.len(), base, &mut out);
    Some(out)
}

pub(super) fn push_cell<'a>(inner: &'a str, start: usize, end: usize, base: usize, out: &mut Vec<(&'a str, usize)>) {
    let Some(raw) = inner.get(start..end) else {
        return;
    };
    let cell = raw.trim();
    let off = md::offset_in(inner, cell).unwrap_or(start);
    out.push((cell, base + off));
}

pub(super) fn is_separator_row(cells: &[(&str, usize)]) -> bool {
    !cells.is_empty() && cells.iter().all(|(c, _)| !c.is_empty() && c.chars().all(|ch| matches!(ch, '-' | ':' | ' ')))
}

/// A file path as written in a change area: not prose, not a URL.
pub(super) fn looks_like_path(s: &str) -> bool {
    let s = s.trim();
    !s.is_empty()
        && !s.contains(char::is_whitespace)
        && !s.contains("://")
        && (s.contains('/') || s.contains('.') || s.contains('*'))
        && s.chars().any(char::is_alphanumeric)
}

/// Strips `./`, a trailing `:line` and a `(new)` note from a path.
pub(super) fn clean_path(s: &str) -> String {
    let s = s.trim().trim_start_matches("./");
    let s = match s.find(" (") {
        Some(i) => s.get(..i).unwrap_or(s),
        None => s,
    };
    let s = match s.find(':') {
        Some(i) if s.get(i + 1..).is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit())) => {
            s.get(..i).unwrap_or(s)
        }
        _ => s,
    };
    s.trim().to_owned()
}

pub(super) struct BodyReader {
    pub(super) src: SourceId,
    pub(super) raw: bool,
    pub(super) body: Body,
    pub(super) sec: Sec,
    /// Column of a dependency table that says whether a dependency blocks.
    pub(super) type_col: Option<usize>,
    pub(super) file_col: Option<usize>,
    pub(super) in_table_header: bool,
}

pub(super) fn read_body(src: SourceId, lines: &[Line<'_>], raw: bool) -> Body {
    let mut r = BodyReader {
        src,
        raw,
        body: Body::default(),
        sec: Sec::Desc,
        type_col: None,
        file_col: None,
        in_table_header: false,
    };
    for line in lines {
        r.line(line);
    }
    r.body
}

impl BodyReader {
    pub(super) fn line(&mut self, line: &Line<'_>) {
        if !line.in_fence && is_rule(line.text) {
            // A thematic break separates subtasks; it carries nothing.
            return;
        }
        if !line.in_fence {
            if let Some((_, t)) = md::heading(line.text) {
                self.type_col = None;
                self.file_col = None;
                self.in_table_header = true;
                match section_of(t) {
                    Some(sec) => {
                        self.sec = sec;
                        if sec == Sec::Deps {
                            self.body.deps_declared = true;
                        }
                        if sec == Sec::Change {
                            self.body.description.push(line.text.to_owned());
                        }
                    }
                    None => {
                        self.sec = Sec::Desc;
                        self.body.description.push(line.text.to_owned());
                    }
                }
                return;
            }
            // A label paragraph ("Done when:", "**Completion criteria:**") opens a section too.
            let label = line.text.trim().trim_matches('*').trim();
            if label.ends_with(':') && md::bullet(line.text).is_none() {
                if let Some(sec) = section_of(label) {
                    self.sec = sec;
                    if sec == Sec::Deps {
                        self.body.deps_declared = true;
                    }
                    if sec == Sec::Change {
                        self.body.description.push(line.text.to_owned());
                    }
                    self.in_table_header = true;
                    return;
                }
            }
            if self.sec == Sec::Desc && self.field(line) {
                return;
            }
        }
        match self.sec {
            Sec::Desc => self.body.description.push(line.text.to_owned()),
            Sec::Change => {
                self.body.description.push(line.text.to_owned());
                if !line.in_fence {
                    self.change_line(line);
                }
            }
            Sec::Accept => self.accept_line(line),
            Sec::Deps => self.deps_line(line),
            Sec::Verify => self.verify_line(line),
        }
    }

    /// `Key: value` lines planpipe uses for subtask metadata. Returns whether the line was used.
    pub(super) fn field(&mut self, line: &Line<'_>) -> bool {
        if line.text.trim_start().starts_with('|') || md::checkbox(line.text).is_some() {
            return false;
        }
        let Some((key, value, off)) = md::field(line.text) else {
            return false;
        };
        let vspan = Span::new(self.src, line.start + off, line.start + off + value.len());
        let key = key.trim().to_ascii_lowercase().replace(['_', '-'], " ");
        match key.as_str() {
            "id" => {
                if let Some((id, o)) = st_ids(value).into_iter().next() {
                    self.body.id_field = Some((id, Span::new(self.src, vspan.start + o, vspan.end)));
                } else if !value.is_empty() {
                    self.body.id_field = Some((value.trim_matches('`').to_owned(), vspan));
                }
                true
            }
            "title" | "name" if !value.is_empty() => {
                self.body.title_field = Some((value.to_owned(), vspan));
                true
            }
            "wave" | "execution wave" => {
                let n: String =
                    value.chars().skip_while(|c| !c.is_ascii_digit()).take_while(char::is_ascii_digit).collect();
                self.body.wave = Some(if n.is_empty() { value.to_owned() } else { n });
                true
            }
            "status" | "state" => match crate::reader::status_word(value) {
                Some(s) => {
                    self.body.done |= s == Status::Done;
                    true
                }
                None => false,
            },
            "depends on" | "dependencies" | "dependency" | "blocked by" | "deps" | "after" | "requires"
            | "prerequisites" => {
                self.body.deps_declared = true;
                if value.is_empty() {
                    self.sec = Sec::Deps;
                    return true;
                }
                let found = refs(value, self.raw);
                if found.is_empty() && !says_none(value) {
                    self.unread_dependency(value, vspan);
                }
                for (id, o) in found {
                    self.body.deps.push((id.clone(), Span::new(self.src, vspan.start + o, vspan.start + o + id.len())));
                }
                true
            }
            "priority" => {
                // `High`, `critical-path`, `P1 (blocks wave 2)`: the first word says it.
                let word = value.split(|c: char| !c.is_alphanumeric()).find(|w| !w.is_empty()).unwrap_or("");
                self.body.priority = crate::model::Priority::parse(word);
                if self.body.priority.is_none() && !word.is_empty() {
                    self.body.warnings.push(crate::reader::unknown_priority(value, Some(vspan)));
                }
                true
            }
            "blocks" | "unblocks" | "enables" | "type" | "estimated scope" | "scope" | "size" | "effort"
            | "complexity" => true,
            "files" | "file" | "change area" | "touches" | "affected files" => {
                if value.is_empty() {
                    self.sec = Sec::Change;
                    return true;
                }
                for (item, o) in md::split_list(value) {
                    let path = clean_path(&item);
                    let span = Span::new(self.src, vspan.start + o, vspan.start + o + item.len());
                    if looks_like_path(&path) {
                        self.body.files.push((path, span));
                    } else {
                        self.unread_file(&item, span);
                    }
                }
                true
            }
            "done when" | "completion criteria" | "acceptance" | "acceptance criteria" => {
                if value.is_empty() {
                    self.sec = Sec::Accept;
                } else {
                    self.body.acceptance.push(model::one_line(value));
                    self.body.acceptance_spans.push(vspan);
                }
                true
            }
            _ => false,
        }
    }

    pub(super) fn change_line(&mut self, line: &Line<'_>) {
        if let Some(cells) = table_cells(line.text) {
            if is_separator_row(&cells) {
                return;
            }
            if self.in_table_header {
                self.in_table_header = false;
                self.file_col = cells.iter().position(|(c, _)| {
                    let c = c.to_ascii_lowercase();
                    c.contains("file") || c.contains("path")
                });
                return;
            }
            let chosen: Vec<(&str, usize)> = match self.file_col {
                Some(col) => cells.get(col).copied().into_iter().collect(),
                None => cells,
            };
            for (cell, off) in chosen {
                let before = self.body.files.len();
                self.paths_in(cell, line.start + off, self.file_col.is_some());
                if self.file_col.is_some() && self.body.files.len() == before && !says_none(cell) {
                    self.unread_file(cell, Span::new(self.src, line.start + off, line.start + off + cell.len()));
                }
            }
            return;
        }
        self.in_table_header = true;
        let text = md::bullet(line.text).unwrap_or(line.text);
        let off = md::offset_in(line.text, text).unwrap_or(0);
        let before = self.body.files.len();
        self.paths_in(text, line.start + off, false);
        // A list item of a Files section is meant to be a file; prose paragraphs are not.
        if md::bullet(line.text).is_some() && self.body.files.len() == before && !says_none(text) {
            self.unread_file(text, Span::new(self.src, line.start + off, line.start + off + text.len()));
        }
    }

    pub(super) fn unread_file(&mut self, text: &str, span: Span) {
        self.body.warnings.push(
            Diagnostic::warning(
                "unread-file",
                format!("`{}` is listed as a file but holds no path planrun can read", text.trim()),
            )
            .at(Some(span))
            .help("write the path first, in backticks: `src/cache.ts`"),
        );
    }

    pub(super) fn unread_dependency(&mut self, text: &str, span: Span) {
        self.body.warnings.push(
            Diagnostic::warning("unread-dependency", format!("this dependency names no subtask: `{}`", text.trim()))
                .at(Some(span))
                .help("name the subtask it waits for by id, e.g. `ST-2`, or write `None`"),
        );
    }

    /// Paths in a change-area cell or item: its code spans, or the leading word when it looks
    /// like a path (`src/a.rs — what changes`).
    pub(super) fn paths_in(&mut self, text: &str, base: usize, whole_cell: bool) {
        let spans = md::code_spans(text);
        if spans.is_empty() {
            let head = text.split([' ', '\t']).next().unwrap_or("").trim_end_matches([':', ',']);
            let candidate = if whole_cell { text.trim() } else { head };
            let path = clean_path(candidate);
            if looks_like_path(&path) {
                let off = md::offset_in(text, candidate).unwrap_or(0);
                self.push_file(path, Span::new(self.src, base + off, base + off + candidate.len()));
            }
            return;
        }
        for (s, off) in spans {
            let path = clean_path(s);
            if looks_like_path(&path) {
                self.push_file(path, Span::new(self.src, base + off, base + off + s.len()));
            }
        }
    }

    pub(super) fn push_file(&mut self, path: String, span: Span) {
        if !self.body.files.iter().any(|(p, _)| *p == path) {
            self.body.files.push((path, span));
        }
    }

    pub(super) fn accept_line(&mut self, line: &Line<'_>) {
        let t = line.text.trim();
        if t.is_empty() || line.in_fence {
            return;
        }
        if let Some(cells) = table_cells(line.text) {
            if is_separator_row(&cells) || std::mem::take(&mut self.in_table_header) {
                return;
            }
            let text: Vec<&str> = cells
                .iter()
                .map(|(c, _)| *c)
                .filter(|c| !c.is_empty() && !c.chars().all(|ch| ch.is_ascii_digit()))
                .collect();
            if !text.is_empty() {
                self.body.acceptance.push(model::one_line(&text.join(" — ")));
                self.body.acceptance_spans.push(self.line_span(line));
            }
            return;
        }
        let item = md::checkbox(line.text).map(|(_, t)| t).or_else(|| md::bullet(line.text));
        let span = self.line_span(line);
        match item {
            Some(item) => {
                self.body.acceptance.push(model::one_line(item));
                self.body.acceptance_spans.push(span);
            }
            None => match (self.body.acceptance.last_mut(), self.body.acceptance_spans.last_mut()) {
                (Some(last), Some(at)) if line.text.starts_with([' ', '\t']) => {
                    last.push(' ');
                    last.push_str(t);
                    at.end = span.end;
                }
                _ => {
                    self.body.acceptance.push(model::one_line(t));
                    self.body.acceptance_spans.push(span);
                }
            },
        }
    }

    pub(super) fn deps_line(&mut self, line: &Line<'_>) {
        if line.in_fence || line.text.trim().is_empty() {
            return;
        }
        if let Some(cells) = table_cells(line.text) {
            if is_separator_row(&cells) {
                return;
            }
            if self.in_table_header {
                self.in_table_header = false;
                self.type_col = cells.iter().position(|(c, _)| {
                    let c = c.to_ascii_lowercase();
                    c == "type" || c.contains("kind") || c.contains("blocking")
                });
                if self.type_col.is_some() || cells.iter().any(|(c, _)| st_ids(c).is_empty() && !c.is_empty()) {
                    return;
                }
            }
            let soft = match self.type_col.and_then(|c| cells.get(c)) {
                Some((kind, _)) => is_soft(kind),
                None => is_soft(line.text),
            };
            if !soft {
                self.push_refs(line.text, line.start);
            }
            return;
        }
        self.in_table_header = true;
        if is_soft(line.text) {
            return;
        }
        if let Some((key, _, _)) = md::field(line.text) {
            let k = key.trim().to_ascii_lowercase();
            if k.starts_with("blocks") || k.starts_with("unblocks") || k.starts_with("enables") {
                return;
            }
        }
        let item = md::bullet(line.text).unwrap_or(line.text).trim();
        if refs(line.text, self.raw).is_empty() && !says_none(item) {
            let off = md::offset_in(line.text, item).unwrap_or(0);
            self.unread_dependency(item, Span::new(self.src, line.start + off, line.start + off + item.len()));
            return;
        }
        self.push_refs(line.text, line.start);
    }

    pub(super) fn push_refs(&mut self, text: &str, base: usize) {
        for (id, o) in refs(text, self.raw) {
            if !self.body.deps.iter().any(|(d, _)| *d == id) {
                let span = Span::new(self.src, base + o, base + o + id.len());
                self.body.deps.push((id, span));
            }
        }
    }

    pub(super) fn verify_line(&mut self, line: &Line<'_>) {
        if line.in_fence {
            if md::fence_of(line.text).is_none() && !line.text.trim().is_empty() {
                self.body.verify.push(line.text.trim().to_owned());
                self.body.verify_spans.push(self.line_span(line));
            }
            return;
        }
        let item =
            md::checkbox(line.text).map(|(_, t)| t).or_else(|| md::bullet(line.text)).unwrap_or(line.text).trim();
        if item.is_empty() {
            return;
        }
        // Only a backticked command is a command; prose checks stay acceptance criteria.
        let spans = md::code_spans(item);
        match spans.as_slice() {
            [(cmd, _)] if item.starts_with('`') && item.trim_end_matches('.').ends_with('`') => {
                self.body.verify.push(cmd.trim().to_owned());
                self.body.verify_spans.push(self.line_span(line));
            }
            _ => {
                self.body.acceptance.push(model::one_line(item));
                self.body.acceptance_spans.push(self.line_span(line));
            }
        }
    }

    pub(super) fn line_span(&self, line: &Line<'_>) -> Span {
        Span::new(self.src, line.start, line.start + line.text.len())
    }
}
