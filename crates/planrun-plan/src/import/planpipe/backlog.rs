//! A stage-5 `execution-backlog.md`: the subtasks under its top-level sections, grouped in waves.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Top {
    Other,
    Overview,
    Waves,
    Graph,
    Subtasks,
}

pub(super) fn read_backlog(b: &mut PlanBuilder, src: SourceId, ctx: &mut Ctx, with_tasks: bool) {
    let text = b.text(src).to_owned();
    let lines = md::lines(&text);
    let level = lines
        .iter()
        .filter(|l| !l.in_fence)
        .find_map(|l| md::heading(l.text).filter(|(lv, t)| *lv >= 2 && subtask_heading(t).is_some()).map(|(lv, _)| lv))
        .unwrap_or(3);

    let mut h1: Option<String> = None;
    let mut quote_task: Option<String> = None;
    let mut overview: Vec<&str> = Vec::new();
    let mut graph_text: Vec<&Line<'_>> = Vec::new();
    let mut top = Top::Other;
    let mut current_wave: Option<String> = None;
    // The subtask being read: its heading line and body lines.
    let mut open: Option<(usize, Vec<Line<'_>>)> = None;
    let mut blocks: Vec<(usize, Vec<Line<'_>>)> = Vec::new();

    for (idx, line) in lines.iter().enumerate() {
        let heading = if line.in_fence { None } else { md::heading(line.text) };
        if let Some((lv, t)) = heading {
            if lv == 1 && h1.is_none() {
                h1 = Some(t.to_owned());
                continue;
            }
            if lv <= level {
                if let Some(block) = open.take() {
                    blocks.push(block);
                }
                let is_subtask = subtask_heading(t).is_some() || (lv == level && top == Top::Subtasks);
                if lv == level && is_subtask {
                    open = Some((idx, Vec::new()));
                    continue;
                }
                if lv < level {
                    let lower = t.to_ascii_lowercase();
                    top = if lower.contains("subtask") && !lower.contains("summary") {
                        Top::Subtasks
                    } else if lower.contains("wave") {
                        Top::Waves
                    } else if lower.contains("dependency graph") || lower.contains("dependencies") {
                        Top::Graph
                    } else if lower.contains("overview") || lower == "task summary" || lower.contains("approach") {
                        Top::Overview
                    } else {
                        Top::Other
                    };
                    if top == Top::Overview {
                        overview.push(line.text);
                    }
                    continue;
                }
            }
            if top == Top::Waves {
                if let Some(n) = wave_number(t) {
                    ctx.wave_names.insert(n.clone(), t.to_owned());
                    current_wave = Some(n);
                }
            }
        }
        if let Some((_, body)) = open.as_mut() {
            body.push(*line);
            continue;
        }
        if let Some(v) = quote_field(line.text, "Task") {
            quote_task.get_or_insert_with(|| v.to_owned());
        }
        match top {
            Top::Overview => overview.push(line.text),
            Top::Graph => graph_text.push(line),
            Top::Waves => {
                // Wave tables: | ST-1 | Title | … | ; the first id of a row is the subtask.
                if let (Some(w), Some(cells)) = (current_wave.as_ref(), table_cells(line.text)) {
                    if let Some((id, _)) = cells.first().and_then(|(c, _)| st_ids(c).into_iter().next()) {
                        ctx.wave_of.entry(id).or_insert_with(|| w.clone());
                    }
                }
            }
            Top::Other | Top::Subtasks => {}
        }
    }
    if let Some(block) = open.take() {
        blocks.push(block);
    }

    if b.plan.title.trim().is_empty() {
        if let Some(t) = quote_task.or_else(|| h1.clone().filter(|t| !heading_is_generic(t))) {
            b.plan.title = t;
        }
    }
    let overview = model::block(&overview.join("\n"));
    if !overview.is_empty() {
        ctx.context_fallback.push(overview);
    }
    for line in graph_text {
        ctx.graph.extend(parse_graph(line.text, src, line.start));
    }
    if !with_tasks {
        return;
    }
    if blocks.is_empty() {
        let mut named: Vec<String> = Vec::new();
        for (id, _) in st_ids(&text) {
            if named.len() == 3 {
                break;
            }
            if !named.contains(&id) {
                named.push(id);
            }
        }
        let names = if named.is_empty() {
            String::new()
        } else {
            format!(" (it names {} but gives them no section of their own)", named.join(", "))
        };
        b.warn(
            Diagnostic::error(
                "no-tasks",
                format!(
                    "`{}` has no subtask sections (`### ST-1: Title`){names}, so there is nothing to run",
                    file_name(b.sources.path(src))
                ),
            )
            .at(Some(Span::new(src, 0, 0)))
            .help("give each subtask a heading `### ST-N: Title`, or put one file per subtask in `subtasks/st-N.md`"),
        );
    }

    for (n, (head_idx, body_lines)) in blocks.iter().enumerate() {
        let Some(head) = lines.get(*head_idx) else {
            continue;
        };
        let (_, htext) = md::heading(head.text).unwrap_or((level, ""));
        let hoff = md::offset_in(head.text, htext).unwrap_or(0);
        let head_span = line_span(src, head);
        let body = read_body(src, body_lines, false);
        let mut spans = TaskSpans { task: Some(head_span), title: Some(head_span), ..TaskSpans::default() };
        let (done, id, title) = match subtask_heading(htext) {
            Some((done, id, id_off, title)) => {
                let start = head.start + hoff + id_off;
                spans.id = Some(Span::new(src, start, start + id.len()));
                (done, id, title)
            }
            None => match &body.id_field {
                Some((id, span)) => {
                    spans.id = Some(*span);
                    (md::strip_done_mark(htext).0, id.clone(), md::strip_done_mark(htext).1.to_owned())
                }
                None => {
                    let id = format!("task-{}", n + 1);
                    b.warn(
                        Diagnostic::error(
                            "missing-id",
                            format!("this subtask heading has no `ST-N` id; it was read as `{id}`"),
                        )
                        .at(Some(head_span))
                        .help("start the heading with the subtask id, e.g. `### ST-4: Add rate limits`"),
                    );
                    (md::strip_done_mark(htext).0, id, md::strip_done_mark(htext).1.to_owned())
                }
            },
        };
        let title =
            if title.is_empty() { body.title_field.as_ref().map(|t| t.0.clone()).unwrap_or_default() } else { title };
        let task = task_from(id, title, done, &body, ctx);
        push_task(b, ctx, task, spans, &body);
    }
    finish_deps(b, ctx, false);
}

pub(super) fn wave_number(heading: &str) -> Option<String> {
    let lower = heading.to_ascii_lowercase();
    let rest = lower.trim().strip_prefix("wave")?;
    let n: String = rest.trim_start().chars().take_while(char::is_ascii_digit).collect();
    (!n.is_empty()).then_some(n)
}

// ---------------------------------------------------------------------------------------------
// Format B: subtasks/st-N.md
