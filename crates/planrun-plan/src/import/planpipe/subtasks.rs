//! A `subtasks/` folder: one `st-N.md` per subtask, and the orders of `dependency-graph.md`.

use super::*;

pub(super) fn read_st_file(b: &mut PlanBuilder, src: SourceId, path: &Path, ctx: &mut Ctx) {
    let text = b.text(src).to_owned();
    let lines = md::lines(&text);
    let first = lines.iter().position(|l| !l.in_fence && md::heading(l.text).is_some());
    let head = first.and_then(|i| lines.get(i));
    let body_lines: Vec<Line<'_>> = match first {
        Some(i) => lines.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, l)| *l).collect(),
        None => lines.clone(),
    };
    let body = read_body(src, &body_lines, false);
    let file_span = Span::new(src, 0, text.find('\n').unwrap_or(text.len()));
    let head_span = head.map_or(file_span, |h| line_span(src, h));
    let htext = head.and_then(|h| md::heading(h.text)).map_or("", |(_, t)| t);
    let mut spans = TaskSpans { task: Some(head_span), title: Some(head_span), ..TaskSpans::default() };

    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let (done, id, title) = match subtask_heading(htext) {
        Some((done, id, id_off, title)) => {
            if let Some(h) = head {
                let start = h.start + md::offset_in(h.text, htext).unwrap_or(0) + id_off;
                spans.id = Some(Span::new(src, start, start + id.len()));
            }
            (done, id, title)
        }
        None => {
            let (done, t) = md::strip_done_mark(htext);
            let t = t.strip_prefix("Subtask:").unwrap_or(t).trim().to_owned();
            // The file name carries the id when the heading does not: st-3.md -> ST-3.
            let id = match (&body.id_field, st_ids(&stem).into_iter().next()) {
                (Some((id, span)), _) => {
                    spans.id = Some(*span);
                    id.clone()
                }
                (None, Some((id, 0))) => id,
                _ => crate::reader::slug(&stem),
            };
            (done, id, t)
        }
    };
    let title =
        if title.is_empty() { body.title_field.as_ref().map(|t| t.0.clone()).unwrap_or_default() } else { title };
    let task = task_from(id, title, done, &body, ctx);
    push_task(b, ctx, task, spans, &body);
}

/// Applies graph edges (to every task the graph names, or only to tasks that declared nothing)
/// and warns about references to unknown subtasks.
pub(super) fn finish_deps(b: &mut PlanBuilder, ctx: &Ctx, graph_wins: bool) {
    if ctx.graph.is_empty() {
        return;
    }
    let named: HashSet<&str> = ctx.graph.iter().map(|(d, _, _)| d.as_str()).collect();
    for (i, task) in b.plan.tasks.iter_mut().enumerate() {
        let use_graph = if graph_wins { named.contains(task.id.as_str()) } else { !ctx.declared.contains(&i) };
        if !use_graph {
            continue;
        }
        let Some(spans) = b.task_spans.get_mut(i) else {
            continue;
        };
        if graph_wins {
            task.depends_on.clear();
            spans.depends_on.clear();
        }
        for (dep, pre, span) in &ctx.graph {
            if *dep == task.id && *pre != task.id && !task.depends_on.contains(pre) {
                task.depends_on.push(pre.clone());
                spans.depends_on.push(*span);
            }
        }
    }
}

/// Edges of a dependency graph written as arrows (`ST-1 → ST-2`, `ST-1 ──→ ST-4`, chains,
/// `ST-7 + ST-8 → ST-9`, continuation lines starting with an arrow, `ST-3 ← ST-1`) or as lists
/// (`- ST-4: depends on ST-1, ST-3`, `ST-1 blocks ST-2`, table rows). Returns (dependent,
/// prerequisite, span of the prerequisite). `[soft]` edges are skipped.
pub(super) fn parse_graph(text: &str, src: SourceId, base: usize) -> Vec<(String, String, Span)> {
    const FORWARD: [&str; 8] = ["→", "⟶", "➜", "➔", "►", "▶", "->", "=>"];
    const BACKWARD: [&str; 3] = ["←", "⟵", "<-"];
    let mut out = Vec::new();
    let mut last_left: Vec<(String, usize)> = Vec::new();
    let mut header_reversed = false;
    let mut offset = base;
    for raw in text.split_inclusive('\n') {
        let line_start = offset;
        offset += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        let find_arrows = |arrows: &[&str]| -> Vec<(usize, usize)> {
            let mut found: Vec<(usize, usize)> = Vec::new();
            for a in arrows {
                for (i, _) in line.match_indices(a) {
                    if !found.iter().any(|(s, e)| i < *e && i + a.len() > *s) {
                        found.push((i, i + a.len()));
                    }
                }
            }
            found.sort_unstable();
            found
        };
        let ids_in = |from: usize, to: usize| -> Vec<(String, usize)> {
            line.get(from..to)
                .map(|seg| st_ids(seg).into_iter().map(|(id, o)| (id, from + o)).collect())
                .unwrap_or_default()
        };
        let forward = find_arrows(&FORWARD);
        let backward = if forward.is_empty() { find_arrows(&BACKWARD) } else { Vec::new() };
        let arrows = if forward.is_empty() { &backward } else { &forward };
        if !arrows.is_empty() {
            // Segments between arrows, in the direction prerequisites -> dependents.
            let mut bounds = vec![0];
            for (s, e) in arrows {
                bounds.push(*s);
                bounds.push(*e);
            }
            bounds.push(line.len());
            let mut segs: Vec<(Vec<(String, usize)>, bool)> = bounds
                .chunks(2)
                .map(|c| match c {
                    [s, e] => {
                        (ids_in(*s, *e), line.get(*s..*e).is_some_and(|t| t.to_ascii_lowercase().contains("soft")))
                    }
                    _ => (Vec::new(), false),
                })
                .collect();
            if forward.is_empty() {
                segs.reverse();
            }
            if let Some(first) = segs.first_mut() {
                if first.0.is_empty() && !forward.is_empty() {
                    first.0 = last_left.clone();
                } else if !forward.is_empty() {
                    last_left = first.0.clone();
                }
            }
            for pair in segs.windows(2) {
                let [(pres, _), (deps, soft)] = pair else {
                    continue;
                };
                if *soft {
                    continue;
                }
                for (dep, _) in deps {
                    for (pre, o) in pres {
                        out.push((
                            dep.clone(),
                            pre.clone(),
                            Span::new(src, line_start + o, line_start + o + pre.len()),
                        ));
                    }
                }
            }
            continue;
        }
        // A table header says which way its rows read.
        if let Some(cells) = table_cells(line) {
            if is_separator_row(&cells) {
                continue;
            }
            if cells.iter().all(|(c, _)| st_ids(c).is_empty()) {
                header_reversed = cells.iter().skip(1).any(|(c, _)| {
                    let c = c.to_ascii_lowercase();
                    (c.contains("blocks") || c.contains("unblocks") || c.contains("enables"))
                        && !c.contains("blocked by")
                });
                continue;
            }
        }
        let ids = st_ids(line);
        let Some(((subject, subject_off), others)) = ids.split_first() else {
            continue;
        };
        if others.is_empty() || is_soft(line) {
            continue;
        }
        // The subject must lead the line; "Wave 1: ST-1, ST-2" lists, it does not depend.
        let prefix = line.get(..*subject_off).unwrap_or("");
        if prefix.chars().any(char::is_alphabetic) {
            continue;
        }
        let lower = line.to_ascii_lowercase();
        let is_table = table_cells(line).is_some();
        let reversed = if is_table {
            header_reversed
        } else if ["blocked by", "depends", "after", "needs", "requires", "waits"].iter().any(|w| lower.contains(w)) {
            false
        } else if ["blocks", "unblocks", "enables", "before", "required by", "needed by"]
            .iter()
            .any(|w| lower.contains(w))
        {
            true
        } else if lower.contains(':') {
            false
        } else {
            continue;
        };
        for (other, o) in others {
            if reversed {
                let s = Span::new(src, line_start + subject_off, line_start + subject_off + subject.len());
                out.push((other.clone(), subject.clone(), s));
            } else {
                out.push((
                    subject.clone(),
                    other.clone(),
                    Span::new(src, line_start + o, line_start + o + other.len()),
                ));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Format C: a raw task list
