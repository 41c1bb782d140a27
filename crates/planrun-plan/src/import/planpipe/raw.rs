//! A raw markdown task list: numbered or bulleted tasks with indented notes.

use super::*;

pub(super) fn read_raw(b: &mut PlanBuilder, src: SourceId) {
    let text = b.text(src).to_owned();
    let lines = md::lines(&text);
    let task_heading = |t: &str| {
        let (_, t) = md::strip_done_mark(t);
        let t = t.trim_start_matches("[ ]").trim_start();
        let digits = t.chars().take_while(char::is_ascii_digit).count();
        (digits > 0 && t.get(digits..).is_some_and(|r| r.starts_with(['.', ')', ':'])))
            || t.starts_with("Task")
            || subtask_heading(t).is_some()
    };
    let heading_level = lines
        .iter()
        .filter(|l| !l.in_fence)
        .filter_map(|l| md::heading(l.text))
        .filter(|(lv, t)| *lv >= 2 && task_heading(t))
        .map(|(lv, _)| lv)
        .min();
    let mut items: Vec<(Line<'_>, Vec<Line<'_>>, Option<String>)> = Vec::new();
    let mut milestone: Option<String> = None;
    let mut h1: Option<String> = None;
    let mut preamble: Vec<&str> = Vec::new();
    match heading_level {
        Some(level) => {
            for line in &lines {
                let heading = if line.in_fence { None } else { md::heading(line.text) };
                match heading {
                    Some((1, t)) if h1.is_none() && items.is_empty() => h1 = Some(t.to_owned()),
                    Some((lv, t)) if lv == level && task_heading(t) => {
                        items.push((*line, Vec::new(), milestone.clone()))
                    }
                    Some((lv, t)) if lv < level => {
                        milestone = Some(t.to_owned());
                    }
                    _ => match items.last_mut() {
                        Some((_, body, _)) => body.push(*line),
                        None => preamble.push(line.text),
                    },
                }
            }
        }
        None => {
            let indent_of = |l: &Line<'_>| l.text.len() - l.text.trim_start().len();
            let top =
                lines.iter().filter(|l| !l.in_fence && md::bullet(l.text).is_some()).map(indent_of).min().unwrap_or(0);
            // After a heading, lines belong to no task until the next item.
            let mut detached = false;
            for line in &lines {
                let heading = if line.in_fence { None } else { md::heading(line.text) };
                if let Some((lv, t)) = heading {
                    if lv == 1 && h1.is_none() && items.is_empty() {
                        h1 = Some(t.to_owned());
                    } else {
                        // A heading groups the items after it; it is not part of a task.
                        milestone = Some(t.to_owned()).filter(|t| !heading_is_generic(t));
                    }
                    detached = true;
                    continue;
                }
                if !line.in_fence && indent_of(line) == top && md::bullet(line.text).is_some() {
                    items.push((*line, Vec::new(), milestone.clone()));
                    detached = false;
                } else if items.is_empty() && milestone.is_none() {
                    preamble.push(line.text);
                } else if let (false, Some((_, body, _))) = (detached, items.last_mut()) {
                    body.push(*line);
                }
            }
        }
    }
    if let Some(t) = h1.filter(|t| !heading_is_generic(t)) {
        b.plan.title = t;
    }
    // Text before the first task describes the whole list.
    b.plan.context = preamble.join("\n");
    let mut ctx = Ctx::default();
    let mut prev: Option<String> = None;
    for (n, (head, body_lines, milestone)) in items.iter().enumerate() {
        let head_span = line_span(src, head);
        let (mut done, text) = match md::heading(head.text) {
            Some((_, t)) => {
                let (done, t) = md::strip_done_mark(t);
                let t = t.strip_prefix("[ ]").map_or(t, str::trim_start);
                (done, t)
            }
            None => match md::checkbox(head.text) {
                Some((done, t)) => (done, t),
                None => (false, md::bullet(head.text).unwrap_or(head.text)),
            },
        };
        let text_off = head.start + md::offset_in(head.text, text).unwrap_or(0);
        let dedented = dedent(body_lines);
        let body = read_body(src, &dedented, true);
        let mut spans = TaskSpans { task: Some(head_span), title: Some(head_span), ..TaskSpans::default() };
        let (id, title) = match subtask_heading(text.trim_start_matches("**")) {
            Some((_, id, off, title)) => {
                let start = text_off + md::offset_in(text, text.trim_start_matches("**")).unwrap_or(0) + off;
                spans.id = Some(Span::new(src, start, start + id.len()));
                (id, title.trim_matches('*').trim().to_owned())
            }
            None => {
                // `2. ✅ Title`: the done mark may follow the numbering.
                let (numbered_done, t) = md::strip_done_mark(strip_number(text));
                done |= numbered_done;
                (format!("task-{}", n + 1), t.to_owned())
            }
        };
        let title = model::one_line(title.trim_matches('*').trim());
        let mut task = task_from(id.clone(), title, done, &body, &ctx);
        task.milestone = task.milestone.or_else(|| milestone.clone());
        let mut spans_deps = Vec::new();
        if !body.deps_declared {
            // A raw list has no dependencies unless it names them: tasks run in list order.
            if let Some(p) = &prev {
                task.depends_on.push(p.clone());
                spans_deps.push(head_span);
            }
        }
        spans.depends_on = spans_deps;
        prev = Some(id);
        push_task(b, &mut ctx, task, spans, &body);
    }
    if b.plan.tasks.is_empty() {
        b.warn(
            Diagnostic::error(
                "no-tasks",
                "this task list holds no list items or numbered headings, so there is nothing to run",
            )
            .at(Some(Span::new(src, 0, 0)))
            .help("write one task per list item, e.g. `- [ ] Add a /health endpoint`"),
        );
    }
}
