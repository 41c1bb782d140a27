//! One task entry: its fields read into a task, the persona it names or implies, and the finished
//! list of tasks.

use super::*;

pub(super) fn read_task(
    b: &mut PlanBuilder,
    value: &JValue,
    index: &mut usize,
    phase: Option<&str>,
    drafts: &mut Vec<Draft>,
) {
    *index += 1;
    if !value.is_object() {
        shape(b, value, "each task must be an object");
        // A bare string is still a task someone wrote down: keep it rather than lose it.
        if let Some(title) = value.as_str().map(model::one_line).filter(|t| !t.is_empty()) {
            let mut spans = TaskSpans::at(value.span);
            spans.title = Some(value.span);
            drafts.push(Draft {
                task: Task::new(format!("task-{index}"), title),
                spans,
                raw_id: None,
                has_deps: false,
            });
        }
        return;
    }
    let mut task = Task::default();
    let mut spans = TaskSpans::at(value.span);
    let mut raw_id = None;
    let mut has_deps = false;
    let mut description: Vec<String> = Vec::new();
    let mut tail: Vec<String> = Vec::new();

    let id_key = ID_KEYS.iter().find(|k| value.get(k).is_some()).copied();
    let title_key = TASK_TITLE_KEYS.iter().find(|k| value.get(k).is_some_and(|v| v.as_text().is_some())).copied();
    let persona_key = PERSONA_KEYS.iter().find(|k| value.get(k).is_some()).copied();

    for (key, v) in value.members() {
        let key = key.as_str();
        if Some(key) == id_key {
            match v.as_text().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()) {
                Some(id) => raw_id = Some(id),
                None => shape(b, v, &format!("`{key}` must be a string or a number")),
            }
            spans.id = Some(v.span);
        } else if Some(key) == title_key {
            task.title = model::one_line(&text_of(b, Some(v)).unwrap_or_default());
            spans.title = Some(v.span);
        } else if key == "instructions" && v.is_object() {
            // planrun's own per-phase instructions, for a native plan kept in `handoff/`.
            for (phase, text) in v.members() {
                let text = text_of(b, Some(text)).map(|t| model::block(&t)).filter(|t| !t.is_empty());
                match phase.as_str() {
                    "build" => task.instructions.build = text,
                    "review" => task.instructions.review = text,
                    "verify" => task.instructions.verify = text,
                    other => unknown(b, other, v, "instructions"),
                }
            }
        } else if DESCRIPTION_KEYS.contains(&key) {
            if let Some(t) = text_of(b, Some(v)) {
                description.push(model::block(&t));
                spans.description.get_or_insert(v.span);
            }
        } else if STEP_KEYS.contains(&key) {
            let items = strings(b, v);
            if !items.is_empty() {
                let list: Vec<String> = items.iter().map(|(s, _)| format!("- {}", model::one_line(s))).collect();
                tail.push(format!("Steps:\n{}", list.join("\n")));
            }
        } else if NOTE_KEYS.contains(&key) {
            if let Some(t) = text_of(b, Some(v)) {
                tail.push(format!("Notes: {}", model::block(&t)));
            }
        } else if FILE_KEYS.contains(&key) {
            for (file, span) in strings(b, v) {
                let file = file.trim().to_owned();
                if !file.is_empty() && !task.files.contains(&file) {
                    task.files.push(file);
                    spans.files.push(span);
                }
            }
        } else if DEP_KEYS.contains(&key) {
            has_deps = true;
            for (dep, span) in strings(b, v) {
                for part in dep.split([',', ';']).map(str::trim).filter(|p| !p.is_empty()) {
                    task.depends_on.push(part.trim_start_matches('#').to_owned());
                    spans.depends_on.push(span);
                }
            }
        } else if ACCEPTANCE_KEYS.contains(&key) {
            for (item, span) in strings(b, v) {
                let item = model::one_line(&item);
                if !item.is_empty() {
                    task.acceptance.push(item);
                    spans.acceptance.push(span);
                }
            }
        } else if VERIFY_KEYS.contains(&key) {
            for (item, span) in strings(b, v) {
                let commands = commands_in(&item);
                if commands.is_empty() {
                    let prose = model::one_line(&item);
                    if !prose.is_empty() {
                        task.acceptance.push(prose);
                        spans.acceptance.push(span);
                    }
                }
                for cmd in commands {
                    task.verify.push(cmd);
                    spans.verify.push(span);
                }
            }
        } else if Some(key) == persona_key {
            task.persona = text_of(b, Some(v)).and_then(|t| persona_name(&t));
        } else if key == "agent" {
            if let Some(t) = text_of(b, Some(v)).map(|t| model::one_line(&t)).filter(|t| !t.is_empty()) {
                if BACKENDS.contains(&t.to_ascii_lowercase().as_str()) {
                    task.agent = Some(t.to_ascii_lowercase());
                } else if task.persona.is_none() && persona_key.is_none() {
                    task.persona = persona_name(&t);
                }
            }
        } else if SKILL_KEYS.contains(&key) {
            let skills: Vec<String> = strings(b, v).into_iter().map(|(s, _)| format!("`{}`", s.trim())).collect();
            if !skills.is_empty() {
                tail.push(format!("Skill: {}", skills.join(", ")));
            }
        } else if MILESTONE_KEYS.contains(&key) {
            task.milestone = text_of(b, Some(v)).map(|t| model::one_line(&t)).filter(|t| !t.is_empty());
        } else if PRIORITY_KEYS.contains(&key) {
            let word = text_of(b, Some(v)).unwrap_or_default();
            task.priority = crate::reader::priority_word(b, &word, Some(v.span));
        } else if STATUS_KEYS.contains(&key) {
            let word = text_of(b, Some(v)).unwrap_or_default();
            match crate::reader::status_word(&word) {
                Some(s) => {
                    task.status = s;
                    spans.status = Some(v.span);
                }
                None => b.warn(
                    Diagnostic::warning(
                        "unknown-status",
                        format!("unknown status `{word}`; the task is treated as pending"),
                    )
                    .at(Some(v.span))
                    .help("use backlog, in_progress, blocked or done"),
                ),
            }
        } else if DONE_FLAGS.contains(&key) && v.as_bool().is_some() {
            if v.as_bool() == Some(true) {
                task.status = Status::Done;
                spans.status = Some(v.span);
            }
        } else if ID_KEYS.contains(&key)
            || TASK_TITLE_KEYS.contains(&key)
            || PERSONA_KEYS.contains(&key)
            || TASK_IGNORED.contains(&key)
        {
            // A second spelling of a field already read, or bookkeeping.
        } else {
            unknown(b, key, v, "task");
        }
    }
    if task.milestone.is_none() {
        task.milestone = phase.map(str::to_owned);
    }
    description.extend(tail);
    task.description = model::block(&description.join("\n\n"));
    if task.title.is_empty() {
        b.warn(
            Diagnostic::error("missing-title", "this task has no `title`")
                .at(spans.id.or(Some(value.span)))
                .help("give every task a one-line \"title\""),
        );
        if let Some(line) = first_line(&task.description) {
            task.title = model::one_line(&line);
        }
    }
    if raw_id.is_none() {
        b.warn(
            Diagnostic::error("missing-id", format!("this task has no `id`; it was given the id `task-{index}`"))
                .at(Some(value.span))
                .help("give every task a unique id, e.g. \"id\": \"T1\""),
        );
        task.id = format!("task-{index}");
    }
    drafts.push(Draft { task, spans, raw_id, has_deps });
}

/// Assigns final ids (rewriting ones that cannot be branch names), resolves dependencies written
/// with the original ids, chains tasks in file order when no task names dependencies, and infers
/// personas from titles.
pub(super) fn finish_tasks(b: &mut PlanBuilder, mut drafts: Vec<Draft>) -> Vec<(Task, TaskSpans)> {
    let mut renamed: HashMap<String, String> = HashMap::new();
    for d in &mut drafts {
        let Some(raw) = d.raw_id.clone() else { continue };
        if valid_id(&raw) {
            d.task.id = raw;
            continue;
        }
        let new = crate::reader::slug(&raw);
        b.warn(
            Diagnostic::warning(
                "id-rewritten",
                format!("task id `{raw}` cannot be used as a branch name; it is read as `{new}`"),
            )
            .at(d.spans.id)
            .help("use ids made of letters, digits, '.', '_' and '-', e.g. \"T3\""),
        );
        renamed.insert(raw, new.clone());
        d.task.id = new;
    }
    let explicit = drafts.iter().any(|d| d.has_deps);
    let mut previous: Option<String> = None;
    let mut out = Vec::with_capacity(drafts.len());
    for mut d in drafts {
        if explicit {
            for dep in &mut d.task.depends_on {
                if let Some(new) = renamed.get(dep.as_str()) {
                    dep.clone_from(new);
                }
            }
        } else if let Some(prev) = previous.take() {
            // No task names its dependencies: run them in the order written.
            d.task.depends_on = vec![prev];
            d.spans.depends_on.clear();
        }
        previous = Some(d.task.id.clone());
        if d.task.persona.is_none() {
            d.task.persona = infer_persona(&d.task.title).map(str::to_owned);
        }
        out.push((d.task, d.spans));
    }
    out
}

pub(super) fn push_all(b: &mut PlanBuilder, tasks: Vec<(Task, TaskSpans)>) {
    for (task, spans) in tasks {
        b.push(task, spans);
    }
}

/// `agents/security.md`, `Security` or `security` → `security`.
pub(super) fn persona_name(text: &str) -> Option<String> {
    let t = model::one_line(text);
    let t = t.rsplit('/').next().unwrap_or(&t);
    let t = t.strip_suffix(".md").unwrap_or(t).trim().to_ascii_lowercase();
    (!t.is_empty()).then_some(t)
}

/// Persona signals, most specific first: a title touching secrets or deployment goes to the
/// security persona even when it also says "fix"; "implement/fix/refactor" is the most generic
/// signal and comes last.
pub(super) const PERSONA_SIGNALS: &[(&str, &[&str])] = &[
    (
        "security",
        &[
            "secret",
            "secrets",
            "auth",
            "authn",
            "authz",
            "authentication",
            "authenticate",
            "authorization",
            "authorisation",
            "authorize",
            "authorise",
            "oauth",
            "deploy",
            "deploys",
            "deploying",
            "deployment",
            "input validation",
        ],
    ),
    (
        "architect",
        &[
            "design",
            "designs",
            "designing",
            "architecture",
            "architectural",
            "trade-off",
            "trade-offs",
            "tradeoff",
            "tradeoffs",
        ],
    ),
    (
        "reviewer",
        &["review", "reviews", "reviewing", "audit", "audits", "auditing", "verify", "verifies", "verification"],
    ),
    ("pm", &["scope", "scoping", "intent", "user story", "user stories"]),
    (
        "engineer",
        &[
            "implement",
            "implements",
            "implementing",
            "implementation",
            "fix",
            "fixes",
            "fixing",
            "refactor",
            "refactors",
            "refactoring",
        ],
    ),
];

/// The persona a title asks for, from the signal words above (whole words, any case).
pub(super) fn infer_persona(title: &str) -> Option<&'static str> {
    let lower = title.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !(c.is_alphanumeric() || c == '-'))
        .map(|w| w.trim_matches('-'))
        .filter(|w| !w.is_empty())
        .collect();
    let padded = format!(" {} ", words.join(" "));
    PERSONA_SIGNALS
        .iter()
        .find(|(_, signals)| signals.iter().any(|s| padded.contains(&format!(" {s} "))))
        .map(|(persona, _)| *persona)
}
