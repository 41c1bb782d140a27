//! The plan document (`handoff/plan.json`, or the top of `cm-tasks.json`): title, context, verify
//! commands and the phases or task list it holds.

use super::*;

pub(super) fn read_plan(b: &mut PlanBuilder, src: SourceId, kind: Kind) -> Vec<Draft> {
    let text = b.text(src).to_owned();
    b.plan.title = default_title(kind).to_owned();
    let root = match json::parse(&text, src) {
        Ok(v) => v,
        Err(d) => {
            b.warn(d);
            return Vec::new();
        }
    };
    let mut drafts = Vec::new();
    let mut index = 0;
    if root.is_array() {
        for item in root.items() {
            read_task(b, item, &mut index, None, &mut drafts);
        }
        return drafts;
    }
    if !root.is_object() {
        b.warn(
            Diagnostic::error("json-shape", format!("a cm plan must be a JSON object, found {}", root.kind_name()))
                .at(Some(root.span))
                .help("write {\"title\": \"…\", \"tasks\": [{\"id\": \"T1\", \"title\": \"…\"}]}"),
        );
        return drafts;
    }
    // Some planners wrap the plan: {"plan": {…}}.
    let root = match root.get("plan") {
        Some(inner) if inner.is_object() && root.get_any(TASK_LIST_KEYS).is_none() => inner,
        _ => &root,
    };

    let title = text_of(b, root.get_any(TITLE_KEYS));
    let goal = text_of(b, root.get_any(GOAL_KEYS));
    let mut context: Vec<String> = Vec::new();
    if let Some(goal) = &goal {
        context.push(format!("Goal: {}", model::block(goal)));
    }
    let mut summary: Option<String> = None;
    for key in SUMMARY_KEYS {
        if let Some(text) = text_of(b, root.get(key)) {
            context.push(model::block(&text));
            summary.get_or_insert(text);
        }
    }
    for (key, label) in CONTEXT_LISTS {
        if let Some(v) = root.get(key) {
            let items: Vec<String> = strings(b, v).into_iter().map(|(s, _)| model::one_line(&s)).collect();
            if !items.is_empty() {
                context.push(format!(
                    "{label}:\n{}",
                    items.iter().map(|i| format!("- {i}")).collect::<Vec<_>>().join("\n")
                ));
            }
        }
    }
    if let Some(v) = root.get_any(PLAN_VERIFY_KEYS) {
        let mut prose = Vec::new();
        for (item, span) in strings(b, v) {
            let commands = commands_in(&item);
            if commands.is_empty() {
                prose.push(model::one_line(&item));
            }
            for cmd in commands {
                b.push_verify(cmd, Some(span));
            }
        }
        if !prose.is_empty() {
            context.push(format!(
                "Verification:\n{}",
                prose.iter().map(|i| format!("- {i}")).collect::<Vec<_>>().join("\n")
            ));
        }
    }
    b.plan.title = title
        .or_else(|| goal.as_deref().and_then(first_line))
        .or_else(|| summary.as_deref().and_then(first_line))
        .unwrap_or_else(|| default_title(kind).to_owned());
    b.plan.context = context.join("\n\n");

    let mut tasks_seen = false;
    // Where the file says its tasks are, when it does not hold them: `"tasks_file": "…"`.
    let mut pointer: Option<(String, String, Span)> = None;
    for (key, value) in root.members() {
        let key = key.as_str();
        if TASK_LIST_KEYS.contains(&key) && !tasks_seen {
            tasks_seen = true;
            match &value.kind {
                JKind::Array(items) => {
                    for item in items {
                        read_task(b, item, &mut index, None, &mut drafts);
                    }
                }
                JKind::String(s) if looks_like_path(s) => {
                    pointer.get_or_insert((key.to_owned(), s.trim().to_owned(), value.span));
                }
                _ => shape(b, value, &format!("`{key}` must be an array of task objects")),
            }
        } else if is_pointer_key(key) && value.as_str().is_some_and(looks_like_path) {
            let to = value.as_str().unwrap_or_default().trim().to_owned();
            pointer.get_or_insert((key.to_owned(), to, value.span));
        } else if PHASE_KEYS.contains(&key) && value.is_array() {
            tasks_seen = true;
            read_phases(b, value, &mut index, &mut drafts);
        } else if TITLE_KEYS.contains(&key)
            || GOAL_KEYS.contains(&key)
            || SUMMARY_KEYS.contains(&key)
            || PLAN_VERIFY_KEYS.contains(&key)
            || CONTEXT_LISTS.iter().any(|(k, _)| *k == key)
            || PLAN_IGNORED.contains(&key)
            || key == "plan"
        {
        } else {
            unknown(b, key, value, "plan");
        }
    }
    let file = file_name(b.sources.path(src)).to_owned();
    if drafts.is_empty() {
        match pointer {
            Some((key, to, span)) => b.warn(
                Diagnostic::error(
                    "tasks-elsewhere",
                    format!("`{file}` holds no tasks: its `{key}` says they live in `{to}`"),
                )
                .at(Some(span))
                .help(format!("point planrun at {to}")),
            ),
            None if !tasks_seen => b.warn(
                Diagnostic::error(
                    "no-tasks",
                    format!("`{file}` has no `tasks` (or `steps`, `phases`) array, so there is nothing to run"),
                )
                .at(Some(root.span))
                .help("list the work as \"tasks\": [{\"id\": \"T1\", \"title\": \"…\"}]"),
            ),
            None => {
                let at =
                    root.get_any(TASK_LIST_KEYS).or_else(|| root.get_any(PHASE_KEYS)).map_or(root.span, |v| v.span);
                b.warn(
                    Diagnostic::error(
                        "no-tasks",
                        format!("the task list of `{file}` is empty, so there is nothing to run"),
                    )
                    .at(Some(at))
                    .help("list the work as \"tasks\": [{\"id\": \"T1\", \"title\": \"…\"}]"),
                );
            }
        }
    }
    drafts
}

/// A plan field that names the file holding the tasks: `tasks_file`, `plan_path`, `tasksFile`…
pub(super) fn is_pointer_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase().replace(['_', '-'], "");
    (k.contains("task") || k.contains("plan") || k == "source")
        && (k.ends_with("file") || k.ends_with("path") || k.ends_with("ref") || k == "source")
}

/// A string that names a file rather than saying something: no spaces, a folder or an extension.
pub(super) fn looks_like_path(s: &str) -> bool {
    let s = s.trim();
    !s.is_empty() && !s.contains(char::is_whitespace) && (s.contains('/') || s.contains('.'))
}

pub(super) fn default_title(kind: Kind) -> &'static str {
    match kind {
        Kind::Handoff => "Handoff plan",
        Kind::Backlog => "cm backlog",
    }
}

pub(super) fn first_line(text: &str) -> Option<String> {
    text.lines().map(str::trim).find(|l| !l.is_empty()).map(str::to_owned)
}

/// `phases: [{name, tasks: […]}]`: each phase becomes the milestone of its tasks.
pub(super) fn read_phases(b: &mut PlanBuilder, value: &JValue, index: &mut usize, drafts: &mut Vec<Draft>) {
    for (n, phase) in value.items().iter().enumerate() {
        if !phase.is_object() {
            shape(b, phase, "each phase must be an object with a name and tasks");
            continue;
        }
        let name = text_of(b, phase.get_any(TITLE_KEYS).or_else(|| phase.get("id")))
            .map(|t| model::one_line(&t))
            .unwrap_or_else(|| format!("Phase {}", n + 1));
        match phase.get_any(TASK_LIST_KEYS) {
            Some(list) if list.is_array() => {
                for item in list.items() {
                    read_task(b, item, index, Some(&name), drafts);
                }
            }
            Some(list) => shape(b, list, "a phase's `tasks` must be an array of task objects"),
            None => b.warn(
                Diagnostic::warning("no-tasks", format!("phase `{name}` has no `tasks` array"))
                    .at(Some(phase.span))
                    .help("list the phase's work as \"tasks\": [ … ]"),
            ),
        }
    }
}
