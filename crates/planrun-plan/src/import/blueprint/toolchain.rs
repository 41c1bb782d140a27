//! The plan-level Tool Chain table: the toolchain commands every step may run.

use super::*;

/// First words of the tool chain's commands, so checklist items using them count as commands.
pub(super) fn toolchain_words(toolchain: &[(String, Span)]) -> HashSet<String> {
    toolchain.iter().filter_map(|(c, _)| c.split_whitespace().next().map(str::to_owned)).collect()
}

/// Plan-level verify commands from a Tool Chain table (or list).
pub(super) fn read_toolchain(b: &mut PlanBuilder, acc: &mut Acc, src: SourceId, lines: &[Line<'_>]) {
    let rows: Vec<(&Line<'_>, Vec<(String, usize)>)> =
        lines.iter().filter(|l| !l.in_fence).filter_map(|l| table_row(l.text).map(|r| (l, r))).collect();
    let mut found: Vec<(String, String, Span)> = Vec::new();
    if rows.is_empty() {
        for l in lines.iter().filter(|l| !l.in_fence) {
            let Some(item) = md::bullet(l.text) else {
                continue;
            };
            // `- Test runner: `pytest -q``: the name before the colon, commands after it.
            let colon = item.find(':').filter(|&c| item.find('`').is_none_or(|t| c < t));
            let (name, rest) = match colon {
                Some(c) => (item.get(..c).unwrap_or(""), item.get(c + 1..).unwrap_or("")),
                None => ("", item),
            };
            let base = l.start + md::offset_in(l.text, rest).unwrap_or(0);
            let spans = md::code_spans(rest);
            if spans.is_empty() && !name.is_empty() {
                let c = rest.trim();
                let off = md::offset_in(rest, c).unwrap_or(0);
                found.push((name.to_owned(), c.to_owned(), Span::new(src, base + off, base + off + c.len())));
            }
            for (cmd, off) in spans {
                found.push((
                    name.to_owned(),
                    cmd.trim().to_owned(),
                    Span::new(src, base + off, base + off + cmd.len()),
                ));
            }
        }
    } else {
        let header: Vec<String> =
            rows.first().map(|(_, r)| r.iter().map(|(c, _)| c.to_lowercase()).collect()).unwrap_or_default();
        let data: Vec<&(&Line<'_>, Vec<(String, usize)>)> =
            rows.iter().skip(1).filter(|(_, r)| !is_separator(r)).collect();
        let cmd_col = header
            .iter()
            .position(|h| h.contains("command") || h.contains("cmd") || h.contains("invocation") || h == "run")
            .or_else(|| {
                (0..header.len()).max_by_key(|&i| {
                    data.iter().filter(|(_, r)| r.get(i).is_some_and(|(c, _)| c.contains('`'))).count()
                })
            })
            .unwrap_or(header.len().saturating_sub(1));
        for (line, row) in data {
            let Some((cell, cell_off)) = row.get(cmd_col) else {
                continue;
            };
            let name: Vec<&str> =
                row.iter().enumerate().filter(|(i, _)| *i != cmd_col).map(|(_, (c, _))| c.as_str()).collect();
            let name = name.join(" ");
            let base = line.start + cell_off;
            let spans = md::code_spans(cell);
            if spans.is_empty() {
                let c = cell.trim();
                found.push((name, c.to_owned(), Span::new(src, base, base + cell.len())));
            } else {
                for (c, off) in spans {
                    found.push((name.clone(), c.trim().to_owned(), Span::new(src, base + off, base + off + c.len())));
                }
            }
        }
    }
    for (name, cmd, span) in found {
        let lowered = cmd.trim_matches(['(', ')', '_', '*', '.']).to_ascii_lowercase();
        if matches!(
            lowered.as_str(),
            "" | "n/a" | "na" | "none" | "-" | "—" | "tbd" | "not configured" | "not used" | "not applicable"
        ) {
            continue;
        }
        if skip_tool(&name, &cmd) {
            b.warn(
                Diagnostic::warning(
                    "toolchain-command-ignored",
                    format!(
                        "`{cmd}` ({}) is not a check, so it is not run as a verify command",
                        model::one_line(&name)
                    ),
                )
                .at(Some(span))
                .help("only test, lint, type-check, format-check and build commands run after each step"),
            );
            continue;
        }
        if !acc.toolchain.iter().any(|(c, _)| *c == cmd) {
            acc.toolchain.push((cmd, span));
        }
    }
}

/// A Tool Chain row that names something other than a check: a dev server, an installer.
pub(super) fn skip_tool(name: &str, cmd: &str) -> bool {
    let n = name.to_lowercase();
    let checks = [
        "test", "lint", "type", "format", "check", "build", "compile", "coverage", "audit", "analy", "e2e", "verif",
        "clippy", "spec",
    ];
    if checks.iter().any(|w| n.contains(w)) {
        return false;
    }
    let others = [
        "server",
        "start",
        "serve",
        "watch",
        "deploy",
        "install",
        "package manager",
        "runtime",
        "language",
        "framework",
        "database",
        "version",
        "dev",
    ];
    let c = cmd.to_lowercase();
    others.iter().any(|w| n.contains(w))
        || c.contains("--watch")
        || c.ends_with(" dev")
        || c.ends_with(" start")
        || c.ends_with(" serve")
}

/// The cells of a table row with their byte offsets in `line`; `|` inside code spans or
/// escaped as `\|` does not split.
pub(super) fn table_row(line: &str) -> Option<Vec<(String, usize)>> {
    let t = line.trim();
    if !t.starts_with('|') {
        return None;
    }
    let mut cells = Vec::new();
    let mut in_code = false;
    let mut start = md::offset_in(line, t).unwrap_or(0) + 1;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        if i < start {
            prev = c;
            continue;
        }
        match c {
            '`' => in_code = !in_code,
            '|' if !in_code && prev != '\\' => {
                cells.push(cell(line, start, i));
                start = i + 1;
            }
            _ => {}
        }
        prev = c;
    }
    let rest = line.get(start..).unwrap_or("");
    if !rest.trim().is_empty() {
        cells.push(cell(line, start, line.len()));
    }
    Some(cells)
}

pub(super) fn cell(line: &str, start: usize, end: usize) -> (String, usize) {
    let raw = line.get(start..end).unwrap_or("");
    let trimmed = raw.trim();
    let off = start + md::offset_in(raw, trimmed).unwrap_or(0);
    (trimmed.replace("\\|", "|"), off)
}

pub(super) fn is_separator(row: &[(String, usize)]) -> bool {
    !row.is_empty() && row.iter().all(|(c, _)| c.contains('-') && c.chars().all(|ch| matches!(ch, '-' | ':' | ' ')))
}

// ---------------------------------------------------------------------------------------------
// Loading
