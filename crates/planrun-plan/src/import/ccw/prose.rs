//! What the prose of `TODO_LIST.md` states outside the items: orders in sentences, tables of files
//! and commands, and dependency diagrams drawn with arrows and box lines.

use super::*;

/// Words that state an order between tasks, and whether the tasks named before the word come
/// after (`false`: "IMPL-7 can start after IMPL-2") or before (`true`: "IMPL-2 before IMPL-7")
/// the ones named after it.
pub(super) const ORDER_WORDS: [(&str, bool); 10] = [
    ("can start after", false),
    ("starts after", false),
    ("depends on", false),
    ("blocked by", false),
    ("requires", false),
    ("waits for", false),
    ("after", false),
    ("until", false),
    ("依赖", false),
    ("before", true),
];

/// Task ids named in `text`, in order, with their byte offsets.
pub(super) fn ids_in(text: &str, known: &HashSet<String>) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let is_id_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    for (i, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
        if is_id_char(c) {
            start.get_or_insert(i);
        } else if let Some(s) = start.take() {
            let word = text.get(s..i).unwrap_or("").trim_end_matches('.');
            if known.contains(word) {
                out.push((word.to_owned(), s));
            }
        }
    }
    out
}

/// The (dependent, prerequisite) pairs a prose line states, and whether it states them clearly
/// enough to read. `None` when the line states no order between tasks.
pub(super) fn stated_order(text: &str, known: &HashSet<String>) -> Option<(Vec<(String, String)>, bool)> {
    let ids = ids_in(text, known);
    if ids.is_empty() {
        return None;
    }
    // Arrows: every task after an arrow comes after every task before it.
    let arrows = ["→", "->", "⟶", "=>"];
    if arrows.iter().any(|a| text.contains(a)) {
        let mut segments: Vec<Vec<String>> = vec![Vec::new()];
        let mut rest = text;
        let mut offset = 0;
        loop {
            let next = arrows.iter().filter_map(|a| rest.find(a).map(|i| (i, a.len()))).min();
            let end = next.map_or(rest.len(), |(i, _)| i);
            if let Some(seg) = segments.last_mut() {
                seg.extend(ids.iter().filter(|(_, at)| *at >= offset && *at < offset + end).map(|(id, _)| id.clone()));
            }
            let Some((i, len)) = next else { break };
            offset += i + len;
            rest = rest.get(i + len..).unwrap_or("");
            segments.push(Vec::new());
        }
        let mut pairs = Vec::new();
        let mut clear = true;
        for w in segments.windows(2) {
            let (Some(before), Some(after)) = (w.first(), w.get(1)) else { continue };
            if before.is_empty() || after.is_empty() {
                clear = false;
                continue;
            }
            for a in after {
                for p in before {
                    pairs.push((a.clone(), p.clone()));
                }
            }
        }
        return Some((pairs, clear));
    }
    let lower = text.to_lowercase();
    for (word, reverse) in ORDER_WORDS {
        let Some(at) = find_word(&lower, word) else { continue };
        let before: Vec<String> = ids.iter().filter(|(_, i)| *i < at).map(|(id, _)| id.clone()).collect();
        // The tasks right after the word: a run of ids joined by commas, `and`, `+` or `/`.
        let mut after: Vec<String> = Vec::new();
        let mut rest = text.get(at + word.len()..).unwrap_or("");
        let base = at + word.len();
        let mut pos = base;
        loop {
            let trimmed = rest.trim_start_matches(|c: char| {
                c.is_whitespace() || matches!(c, ',' | '+' | '/' | '&' | '`' | '*' | '、' | '，' | '(' | ':')
            });
            pos += rest.len() - trimmed.len();
            rest = trimmed;
            if let Some(r) = rest.strip_prefix("and ").or_else(|| rest.strip_prefix("和")) {
                pos += rest.len() - r.len();
                rest = r;
                continue;
            }
            match ids.iter().find(|(_, i)| *i == pos) {
                Some((id, _)) => {
                    after.push(id.clone());
                    pos += id.len();
                    rest = rest.get(id.len()..).unwrap_or("");
                }
                None => break,
            }
        }
        let clear = !before.is_empty() && !after.is_empty();
        let (dependents, prerequisites) = if reverse { (after, before) } else { (before, after) };
        let pairs = dependents
            .iter()
            .flat_map(|d| prerequisites.iter().map(move |p| (d.clone(), p.clone())))
            .filter(|(d, p)| d != p)
            .collect();
        return Some((pairs, clear));
    }
    None
}

/// The cells of a table row `| a | b |`, with their offsets in the line.
pub(super) fn table_cells(line: &str) -> Option<Vec<(&str, usize)>> {
    let t = line.trim_end();
    let lead = t.len() - t.trim_start().len();
    let inner = t.trim_start().strip_prefix('|')?;
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    let mut out = Vec::new();
    let mut at = lead + 1;
    for cell in inner.split('|') {
        let off = at + (cell.len() - cell.trim_start().len());
        out.push((cell.trim(), off));
        at += cell.len() + 1;
    }
    Some(out)
}

/// `src/Alert.{h,cpp}` → `src/Alert.h`, `src/Alert.cpp` (one brace group, no glob).
pub(super) fn expand_braces(path: &str) -> Vec<String> {
    if let (Some(open), Some(close)) = (path.find('{'), path.find('}')) {
        if open < close && !path.contains('*') && path.matches('{').count() == 1 {
            let (head, tail) = (path.get(..open).unwrap_or(""), path.get(close + 1..).unwrap_or(""));
            let alts: Vec<String> = path
                .get(open + 1..close)
                .unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(|a| format!("{head}{a}{tail}"))
                .collect();
            if !alts.is_empty() {
                return alts;
            }
        }
    }
    vec![path.to_owned()]
}

/// Files and verify commands written for tasks outside their entries: tables with a task
/// column and a `Files`/`File` or `Command`/`Verify` column, and bullets under a heading about
/// files that tag a path with its tasks (`- src/a.py (IMPL-001, IMPL-002)`). A row or bullet
/// with a path but no task, or a files cell with no path, is `unread-file`.
pub(super) fn side_fields(b: &mut PlanBuilder, prose: &[ProseLine], out: &mut [Entry]) {
    let known: HashSet<String> = out.iter().map(|(t, _, _, _)| t.id.clone()).collect();
    let index: HashMap<String, usize> = out.iter().enumerate().map(|(i, (t, _, _, _))| (t.id.clone(), i)).collect();
    let mut files_section = false;
    // Column indexes of the current table: (task, files, command).
    let mut table: Option<(Option<usize>, Option<usize>, Option<usize>)> = None;
    let mut header: Option<Vec<String>> = None;
    let add_file = |out: &mut [Entry], id: &str, path: &str, span: Span| {
        if let Some((task, spans, _, _)) = index.get(id).and_then(|&i| out.get_mut(i)) {
            for p in expand_braces(path) {
                if !task.files.contains(&p) {
                    task.files.push(p);
                    spans.files.push(span);
                }
            }
        }
    };
    let unread_file = |b: &mut PlanBuilder, what: String, span: Span| {
        b.warn(
            Diagnostic::warning("unread-file", what)
                .at(Some(span))
                .help("list the files under the task itself (`Files: `src/a.ts``) or tag the path with its task id"),
        );
    };
    for line in prose.iter().filter(|l| !l.fenced) {
        if line.heading {
            let l = line.text.to_lowercase();
            files_section = l.contains("file") || l.contains("文件");
            table = None;
            header = None;
            continue;
        }
        let Some(cells) = table_cells(&line.text) else {
            table = None;
            header = None;
            if files_section {
                if let Some(entry) = md::bullet(&line.text) {
                    let off = md::offset_in(&line.text, entry).unwrap_or(0);
                    let spans = md::code_spans(entry);
                    let path = match spans.first() {
                        Some((p, _)) => Some((*p).trim().to_owned()),
                        None => entry.split_whitespace().next().map(str::to_owned),
                    };
                    let path = path.and_then(|p| clean_target(&p)).filter(|p| {
                        (p.contains('/') || p.contains('.')) && !p.starts_with("http") && !known.contains(p)
                    });
                    let Some(path) = path else { continue };
                    let ids: Vec<String> = ids_in(entry, &known).into_iter().map(|(id, _)| id).collect();
                    let span = Span::new(line.span.source, line.span.start + off, line.span.end);
                    if ids.is_empty() {
                        unread_file(b, format!("`{}` is listed among the files but names no task", entry.trim()), span);
                    }
                    for id in ids {
                        add_file(out, &id, &path, span);
                    }
                }
            }
            continue;
        };
        let texts: Vec<String> = cells.iter().map(|(c, _)| c.trim_matches('*').trim().to_lowercase()).collect();
        if texts.iter().all(|c| !c.is_empty() && c.chars().all(|ch| matches!(ch, '-' | ':' | ' '))) {
            // The separator under a header: the header names the columns.
            if let Some(h) = header.take() {
                let find = |f: &dyn Fn(&str) -> bool| h.iter().position(|c| f(c));
                let task = find(&|c| matches!(c, "task" | "id" | "task id" | "任务" | "impl"));
                let files = find(&|c| c.starts_with("file") || c == "path" || c == "paths" || c.contains("文件"));
                let cmd = find(&|c| c.contains("command") || c.starts_with("verif") || c.contains("命令"));
                table = (files.is_some() || cmd.is_some()).then_some((task, files, cmd));
            }
            continue;
        }
        let Some((task_col, files_col, cmd_col)) = table else {
            header = Some(texts);
            continue;
        };
        let cell = |i: Option<usize>| i.and_then(|i| cells.get(i)).copied();
        let id = match cell(task_col).or_else(|| cells.first().copied()) {
            Some((c, _)) => ids_in(c, &known).into_iter().next().map(|(id, _)| id),
            None => None,
        };
        let Some(id) = id else { continue };
        if let Some((c, off)) = cell(files_col) {
            let span = Span::new(line.span.source, line.span.start + off, line.span.start + off + c.len());
            let paths = note_paths(c);
            if paths.is_empty() && !c.is_empty() && !is_none_word(c) && c.chars().any(char::is_alphanumeric) {
                unread_file(b, format!("`{c}` is in the files column of {id} but is not a path"), span);
            }
            for p in paths {
                add_file(out, &id, &p, span);
            }
        }
        if let Some((c, off)) = cell(cmd_col) {
            let span = Span::new(line.span.source, line.span.start + off, line.span.start + off + c.len());
            if let Some(cmds) = commands(c) {
                if let Some((task, spans, _, _)) = index.get(&id).and_then(|&i| out.get_mut(i)) {
                    for cmd in cmds.into_iter().filter(|c| is_command(c)) {
                        if !task.verify.contains(&cmd) {
                            task.verify.push(cmd);
                            spans.verify.push(span);
                        }
                    }
                }
            }
        }
    }
}

/// Where `word` starts in `text` as a whole word (or anywhere, for a word in a script without spaces).
pub(super) fn find_word(text: &str, word: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text.get(from..).and_then(|t| t.find(word)) {
        let at = from + i;
        let before_ok =
            !word.is_ascii() || text.get(..at).and_then(|t| t.chars().last()).is_none_or(|c| !c.is_alphanumeric());
        let after_ok = !word.is_ascii()
            || text.get(at + word.len()..).and_then(|t| t.chars().next()).is_none_or(|c| !c.is_alphanumeric());
        if before_ok && after_ok {
            return Some(at);
        }
        from = at + word.len();
    }
    None
}

/// Whether `from` already waits for `to`, directly or through other tasks.
pub(super) fn reaches(deps: &HashMap<String, Vec<String>>, from: &str, to: &str) -> bool {
    let mut stack = vec![from.to_owned()];
    let mut seen: HashSet<String> = HashSet::new();
    while let Some(t) = stack.pop() {
        if t == to {
            return true;
        }
        if seen.insert(t.clone()) {
            if let Some(ds) = deps.get(&t) {
                stack.extend(ds.iter().cloned());
            }
        }
    }
    false
}

pub(super) fn prose_dependencies(b: &mut PlanBuilder, prose: &[ProseLine], out: &mut [Entry]) {
    if prose.is_empty() {
        return;
    }
    let known: HashSet<String> = out.iter().map(|(t, _, _, _)| t.id.clone()).collect();
    let mut deps: HashMap<String, Vec<String>> =
        out.iter().map(|(t, _, _, _)| (t.id.clone(), t.depends_on.clone())).collect();
    let mut warned: HashSet<usize> = HashSet::new();
    let warn = |b: &mut PlanBuilder, line: &ProseLine| {
        let text = model::one_line(line.text.replace("**", "").trim_start_matches(['-', ' ']));
        b.warn(
            Diagnostic::warning(
                "unread-dependency",
                format!("`{text}` states an order between tasks that planrun did not read"),
            )
            .at(Some(line.span))
            .help("list the prerequisites in each task's `depends_on` (or a `Depends on:` note under its TODO line)"),
        );
    };
    let add = |out: &mut [Entry], deps: &mut HashMap<String, Vec<String>>, d: &str, p: &str, span: Span| {
        if let Some((task, spans, declares, _)) = out.iter_mut().find(|(t, _, _, _)| t.id == d) {
            if !task.depends_on.iter().any(|x| x == p) {
                task.depends_on.push(p.to_owned());
                spans.depends_on.push(span);
                *declares = true;
                deps.entry(d.to_owned()).or_default().push(p.to_owned());
            }
        }
    };
    // Prose outside code blocks first: clear statements are read.
    for line in prose.iter().filter(|l| !l.fenced && !l.heading) {
        let Some((pairs, clear)) = stated_order(&line.text, &known) else { continue };
        let missing: Vec<(String, String)> = pairs.into_iter().filter(|(d, p)| !reaches(&deps, d, p)).collect();
        if clear {
            for (d, p) in missing {
                add(out, &mut deps, &d, &p, line.span);
            }
        } else {
            warn(b, line);
        }
    }
    // Diagrams in code blocks: their edges are read for tasks that state no dependency anywhere
    // else (the diagram is then the only statement); otherwise an edge the tasks do not already
    // imply is reported.
    let silent: HashSet<String> = out.iter().filter(|(_, _, d, _)| !*d).map(|(t, _, _, _)| t.id.clone()).collect();
    let mut blocks: Vec<Vec<&ProseLine>> = Vec::new();
    for line in prose.iter().filter(|l| l.fenced) {
        match blocks.last_mut() {
            Some(bl) if bl.first().is_some_and(|f| f.block == line.block) => bl.push(line),
            _ => blocks.push(vec![line]),
        }
    }
    for bl in blocks {
        let texts: Vec<&str> = bl.iter().map(|l| l.text.as_str()).collect();
        let (edges, unread) = diagram_edges(&texts, &known);
        for i in unread {
            if let Some(line) = bl.get(i) {
                if warned.insert(line.span.start) {
                    warn(b, line);
                }
            }
        }
        for (i, d, p) in edges {
            if d == p || reaches(&deps, &d, &p) {
                continue;
            }
            let Some(line) = bl.get(i) else { continue };
            if silent.contains(&d) {
                add(out, &mut deps, &d, &p, line.span);
            } else if warned.insert(line.span.start) {
                warn(b, line);
            }
        }
    }
}

/// Display columns of a character: wide (CJK, emoji) characters take two, combining marks none.
pub(super) fn char_width(c: char) -> usize {
    let u = c as u32;
    if matches!(u, 0x300..=0x36F | 0x200B..=0x200F | 0xFE00..=0xFE0F) {
        return 0;
    }
    let wide = matches!(u,
        0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6 | 0x2705 | 0x274C | 0x1F300..=0x1FAFF | 0x20000..=0x3FFFD);
    if wide { 2 } else { 1 }
}

/// A diagram line as (display column, character) pairs.
pub(super) fn columns(line: &str) -> Vec<(usize, char)> {
    let mut col = 0;
    line.chars()
        .map(|c| {
            let at = col;
            col += char_width(c);
            (at, c)
        })
        .collect()
}

/// Task ids on a diagram line with the columns they cover.
pub(super) fn ids_at(cols: &[(usize, char)], known: &HashSet<String>) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < cols.len() {
        let is_id = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        if cols.get(i).is_some_and(|&(_, c)| is_id(c)) {
            let start = i;
            while cols.get(i).is_some_and(|&(_, c)| is_id(c)) {
                i += 1;
            }
            let word: String = cols.get(start..i).unwrap_or_default().iter().map(|&(_, c)| c).collect();
            let word = word.trim_end_matches('.');
            if known.contains(word) {
                let (a, z) = (cols.get(start).map_or(0, |p| p.0), cols.get(i - 1).map_or(0, |p| p.0));
                out.push((word.to_owned(), a, z));
            }
        } else {
            i += 1;
        }
    }
    out
}

pub(super) const H_LINE: [char; 3] = ['─', '━', '-'];
pub(super) const JOINS: [char; 9] = ['┬', '┴', '├', '┤', '┼', '└', '┘', '┌', '+'];
pub(super) const V_LINE: [char; 9] = ['│', '┃', '|', '├', '┤', '┼', '+', '↓', '▼'];

/// The task a vertical connector at `col` leads up to, from line `row` upwards: the id covering
/// that column on the first line that is not a connector, or the nearest id left of a join.
pub(super) fn up_from(
    rows: &[Vec<(usize, char)>],
    ids: &[Vec<(String, usize, usize)>],
    row: usize,
    col: usize,
) -> Option<String> {
    let mut r = row;
    while r > 0 {
        r -= 1;
        let line = rows.get(r)?;
        let ch = line.iter().find(|&&(c, _)| c == col).map(|&(_, ch)| ch);
        let here = ids.get(r)?;
        if let Some((id, _, _)) = here.iter().find(|(_, a, z)| *a <= col && col <= *z) {
            return Some(id.clone());
        }
        match ch {
            Some(c) if V_LINE.contains(&c) => continue,
            // `──┬──>`: the branch starts from the task left of the join.
            // `──┬──>`: the branch starts from the task left of the join; a connector ending
            // under a node's label (`A-1 (schema)`) starts from that node.
            _ => {
                return here
                    .iter()
                    .filter(|(_, _, z)| *z < col)
                    .max_by_key(|(_, _, z)| *z)
                    .map(|(id, _, _)| id.clone());
            }
        }
    }
    None
}

/// The edges a dependency diagram draws, as (line index, dependent, prerequisite): `A → B`,
/// `A ──> B`, `A ──┬──> B` and `└──> C` under it, `C <───┘` joining from a task above, and
/// `↓` between tasks on lines above and below. Lines without arrows are read as prose
/// (`Batch 3: IMPL-7 (after IMPL-3)`).
pub(super) fn diagram_edges(lines: &[&str], known: &HashSet<String>) -> (Vec<(usize, String, String)>, Vec<usize>) {
    let rows: Vec<Vec<(usize, char)>> = lines.iter().map(|l| columns(l)).collect();
    let ids: Vec<Vec<(String, usize, usize)>> = rows.iter().map(|r| ids_at(r, known)).collect();
    let mut out = Vec::new();
    // Lines with an arrow planrun could not follow to a task at both ends.
    let mut unread: Vec<usize> = Vec::new();
    // Rows whose arrow continues a diagonal from the row above (`\` then `-> C`).
    let mut continued: HashSet<usize> = HashSet::new();
    for (i, row) in rows.iter().enumerate() {
        let here = ids.get(i).cloned().unwrap_or_default();
        let mut found_arrow = false;
        let mut k = 0;
        while k < row.len() {
            let Some(&(col, ch)) = row.get(k) else { break };
            let next = row.get(k + 1).map(|&(_, c)| c);
            // Forward arrow heads: `>` after a line, `→`, `▶`.
            let forward = matches!(ch, '→' | '▶' | '⟶')
                || (ch == '>' && k > 0 && row.get(k - 1).is_some_and(|&(_, c)| H_LINE.contains(&c) || c == '='));
            let backward = (ch == '<' || ch == '◀') && next.is_some_and(|c| H_LINE.contains(&c));
            if forward {
                found_arrow = true;
                let target = here.iter().find(|(_, a, _)| *a > col).map(|(id, _, _)| id.clone());
                // Walk back along the shaft to where it starts.
                let mut j = k;
                while j > 0
                    && row.get(j - 1).is_some_and(|&(_, c)| H_LINE.contains(&c) || JOINS.contains(&c) || c == '=')
                {
                    j -= 1;
                }
                let start = row.get(j).map_or(col, |p| p.0);
                let left =
                    here.iter().filter(|(_, _, z)| *z < start).max_by_key(|(_, _, z)| *z).map(|(id, _, _)| id.clone());
                let bracket = bracket_sources(&rows, &ids, i, start);
                let source = match row.get(j).map(|&(_, c)| c) {
                    _ if !bracket.is_empty() => None,
                    Some(c @ ('└' | '├' | '┌' | '+')) if left.is_none() || c == '└' || c == '├' => {
                        up_from(&rows, &ids, i, start)
                    }
                    _ => left,
                };
                if let Some(t) = &target {
                    for s in &bracket {
                        out.push((i, t.clone(), s.clone()));
                    }
                }
                match (target.clone(), source) {
                    (Some(t), Some(s)) => out.push((i, t, s)),
                    _ if !bracket.is_empty() || continued.contains(&i) => {}
                    // `──> Done`: the end of the drawing, not a task.
                    (None, _) if is_end_word(row.get(k + 1..).unwrap_or_default()) => {}
                    _ => unread.push(i),
                }
                // `+---> IMPL-7 (Persistence) [depends on IMPL-1, IMPL-2]`, `[depends on ALL above]`.
                if let Some(t) = target {
                    let rest: String = row.get(k + 1..).unwrap_or_default().iter().map(|&(_, c)| c).collect();
                    let lower = rest.to_lowercase();
                    if let Some(at) = find_word(&lower, "depends on").or_else(|| find_word(&lower, "after")) {
                        if lower.get(at..).is_some_and(|r| r.contains("all above")) {
                            let mut seen: HashSet<String> = HashSet::new();
                            for id in ids.iter().take(i).flatten().map(|(id, _, _)| id) {
                                if *id != t && seen.insert(id.clone()) {
                                    out.push((i, t.clone(), id.clone()));
                                }
                            }
                        } else {
                            for (id, _) in ids_in(rest.get(at..).unwrap_or(""), known) {
                                if id != t {
                                    out.push((i, t.clone(), id));
                                }
                            }
                        }
                    }
                }
            } else if backward {
                found_arrow = true;
                let target =
                    here.iter().filter(|(_, _, z)| *z < col).max_by_key(|(_, _, z)| *z).map(|(id, _, _)| id.clone());
                let mut j = k + 1;
                while row.get(j).is_some_and(|&(_, c)| H_LINE.contains(&c)) {
                    j += 1;
                }
                let source = match row.get(j) {
                    Some(&(c, '┘' | '┴' | '┐')) => up_from(&rows, &ids, i, c),
                    _ => here.iter().find(|(_, a, _)| *a > col).map(|(id, _, _)| id.clone()),
                };
                match (target, source) {
                    (Some(t), Some(s)) => out.push((i, t, s)),
                    _ => unread.push(i),
                }
            } else if ch == '↓' {
                found_arrow = true;
                let below = (i + 1..rows.len()).find_map(|r| {
                    ids.get(r)?
                        .iter()
                        .find(|(_, a, z)| *a <= col + 2 && col <= *z + 2)
                        .map(|(id, _, _)| (r, id.clone()))
                });
                let above = up_from(&rows, &ids, i, col);
                // `↓` over a tree (`├─→ B` right under it) only leads into the branches.
                let into_tree = rows
                    .get(i + 1)
                    .and_then(|r| r.iter().find(|&&(c, _)| c == col))
                    .is_some_and(|&(_, c)| JOINS.contains(&c) || V_LINE.contains(&c));
                match (below, above) {
                    (Some((_, t)), Some(s)) => out.push((i, t, s)),
                    _ if into_tree => {}
                    _ => unread.push(i),
                }
            } else if is_diagonal(row, k) {
                // `↘` / `\` from the task above it down to the task right of it on the next line;
                // `↙` / `/` down to the task left of it.
                found_arrow = true;
                let right = matches!(ch, '↘' | '\\');
                let above = ids.get(i.wrapping_sub(1)).filter(|_| i > 0).and_then(|up| {
                    up.iter()
                        .find(|(_, a, z)| *a <= col && col <= *z)
                        .or_else(|| {
                            if right {
                                up.iter().filter(|(_, _, z)| *z < col).max_by_key(|(_, _, z)| *z)
                            } else {
                                up.iter().filter(|(_, a, _)| *a > col).min_by_key(|(_, a, _)| *a)
                            }
                        })
                        .map(|(id, _, _)| id.clone())
                });
                // `A → B → C` over `↘ ↗`: a curve under the line, from A over to C.
                let rise = row.get(k + 1..).and_then(|r| r.iter().find(|&&(_, c)| c == '↗')).map(|&(c, _)| c);
                if let (true, Some(rc)) = (ch == '↘', rise) {
                    let over = ids.get(i.wrapping_sub(1)).filter(|_| i > 0).and_then(|up| {
                        up.iter()
                            .find(|(_, a, z)| *a <= rc && rc <= *z)
                            .or_else(|| up.iter().filter(|(_, a, _)| *a > rc).min_by_key(|(_, a, _)| *a))
                            .map(|(id, _, _)| id.clone())
                    });
                    match (over, above) {
                        (Some(t), Some(s)) => out.push((i, t, s)),
                        _ => unread.push(i),
                    }
                    k += 1;
                    continue;
                }
                let below = ids.get(i + 1).and_then(|down| {
                    if right {
                        down.iter().filter(|(_, a, _)| *a >= col).min_by_key(|(_, a, _)| *a)
                    } else {
                        down.iter().filter(|(_, _, z)| *z <= col).max_by_key(|(_, _, z)| *z)
                    }
                    .map(|(id, _, _)| id.clone())
                });
                match (below, above) {
                    (Some(t), Some(s)) => {
                        out.push((i, t, s));
                        continued.insert(i + 1);
                    }
                    _ => unread.push(i),
                }
            }
            k += 1;
        }
        if !found_arrow {
            if let Some((pairs, true)) = stated_order(lines.get(i).copied().unwrap_or(""), known) {
                out.extend(pairs.into_iter().map(|(d, p)| (i, d, p)));
            }
        }
    }
    unread.retain(|i| !continued.contains(i));
    unread.dedup();
    (out, unread)
}

/// Whether the text after an arrow names the end of the drawing (`──> Done`, `→ 完成`).
pub(super) fn is_end_word(rest: &[(usize, char)]) -> bool {
    let text: String = rest.iter().map(|&(_, c)| c).collect();
    let word = text.split_whitespace().next().unwrap_or("").to_lowercase();
    let word = word.trim_matches(|c: char| !c.is_alphanumeric());
    matches!(
        word,
        "done" | "end" | "complete" | "completed" | "finish" | "finished" | "release" | "ship" | "完成" | "结束"
    )
}

/// Whether the character at `k` is a diagonal connector: `↘`, `↙`, or a `\` / `/` standing
/// alone on a line of connectors (not part of a path or of text).
pub(super) fn is_diagonal(row: &[(usize, char)], k: usize) -> bool {
    match row.get(k).map(|&(_, c)| c) {
        Some('↘' | '↙') => true,
        Some('\\' | '/') => {
            let blank = |c: Option<&(usize, char)>| c.is_none_or(|&(_, c)| c.is_whitespace());
            // Only on a line of connectors: `A / B` in text is not a drawing.
            !row.iter().any(|&(_, c)| c.is_alphanumeric())
                && blank(k.checked_sub(1).and_then(|j| row.get(j)))
                && blank(row.get(k + 1))
        }
        _ => false,
    }
}

/// The tasks a bracket joins into the branch starting at `col` on line `row`:
///
/// ```text
/// A ──┐
///     ├──> C
/// B ──┘
/// ```
///
/// The `├` (or `┤`, `┼`, `│`) at `col` must have a `┐` above and a `┘` below it along a vertical
/// run (the corners may sit one column off); every line from the `┐` to the `┘` gives the task
/// nearest left of the run. Empty when there is no such bracket.
pub(super) fn bracket_sources(
    rows: &[Vec<(usize, char)>],
    ids: &[Vec<(String, usize, usize)>],
    row: usize,
    col: usize,
) -> Vec<String> {
    let at = |r: usize, c: usize| rows.get(r).and_then(|l| l.iter().find(|&&(x, _)| x == c)).map(|&(_, ch)| ch);
    if !matches!(at(row, col), Some('├' | '┤' | '┼' | '│')) {
        return Vec::new();
    }
    // Walk one way until a corner; a connector continues the run.
    let walk = |up: bool, corner: char| -> Option<(usize, usize)> {
        let mut r = row;
        let mut c = col;
        loop {
            r = if up { r.checked_sub(1)? } else { r + 1 };
            if r >= rows.len() {
                return None;
            }
            let hit = [c, c.wrapping_sub(1), c + 1].into_iter().find_map(|x| at(r, x).map(|ch| (x, ch)));
            match hit {
                Some((x, ch)) if ch == corner => return Some((r, x)),
                Some((x, '│' | '┃' | '├' | '┤' | '┼')) => c = x,
                _ => return None,
            }
        }
    };
    let (Some((top, _)), Some((bottom, _))) = (walk(true, '┐'), walk(false, '┘')) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for r in top..=bottom {
        let edge = col.saturating_sub(1);
        if let Some((id, _, _)) =
            ids.get(r).and_then(|h| h.iter().filter(|(_, _, z)| *z < edge).max_by_key(|(_, _, z)| *z))
        {
            if !out.contains(id) {
                out.push(id.clone());
            }
        }
    }
    out
}
