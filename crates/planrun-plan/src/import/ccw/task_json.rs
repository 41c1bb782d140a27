//! `.task/IMPL-*.json`: the full task definitions (old and new schema), their steps, targets and
//! verification commands.

use super::*;

#[derive(Debug)]
pub(super) struct TaskJson {
    pub(super) file: PathBuf,
    pub(super) id: String,
    pub(super) task: Task,
    pub(super) spans: TaskSpans,
    /// Whether the file declares dependencies at all (an empty list counts).
    pub(super) declares_deps: bool,
    /// `Some` when the file has a status.
    pub(super) done: Option<bool>,
    pub(super) status_span: Option<Span>,
    pub(super) group: Option<String>,
    /// Tasks this one holds back (`is_blocking`, `blocks`): each of them waits for it.
    pub(super) blocks: Vec<(String, Span)>,
}

pub(super) fn read_task_json(b: &mut PlanBuilder, src: SourceId, file: &Path) -> Option<TaskJson> {
    let text = b.text(src).to_owned();
    let root = match json::parse(&text, src) {
        Ok(v) => v,
        Err(d) => {
            b.warn(d.help(format!(
                "fix the JSON of `{}`; the task is kept from TODO_LIST.md if it is listed there",
                file_name(file)
            )));
            return None;
        }
    };
    if !root.is_object() {
        b.warn(
            Diagnostic::error("json-shape", format!("a task file must hold a JSON object, found {}", root.kind_name()))
                .at(Some(root.span))
                .help("write {\"id\": \"IMPL-1\", \"title\": \"…\", …}"),
        );
        return None;
    }
    let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let mut spans = TaskSpans::at(root.span);
    let id = match root.get("id") {
        Some(v) => {
            spans.id = Some(v.span);
            let id = v.as_text().unwrap_or_default();
            if id.trim().is_empty() {
                b.warn(
                    Diagnostic::error("missing-id", "the task `id` is empty")
                        .at(Some(v.span))
                        .help(format!("write \"id\": \"{stem}\"")),
                );
                stem.clone()
            } else {
                if !id.eq_ignore_ascii_case(&stem) {
                    b.warn(
                        Diagnostic::warning(
                            "id-mismatch",
                            format!("task file `{}` holds task `{id}`", file_name(file)),
                        )
                        .at(Some(v.span))
                        .help("name the file after the task id; planrun uses the id inside the file"),
                    );
                }
                id
            }
        }
        None => {
            b.warn(
                Diagnostic::error(
                    "missing-id",
                    format!("task file `{}` has no `id`; it was read as `{stem}`", file_name(file)),
                )
                .at(Some(Span::new(src, root.span.start, root.span.start + 1)))
                .help(format!("add \"id\": \"{stem}\"")),
            );
            stem.clone()
        }
    };
    let mut task = Task::new(id.trim(), "");
    if let Some(v) = root.get("title") {
        spans.title = Some(v.span);
        task.title = model::one_line(&v.as_text().unwrap_or_default());
    }

    // description: the task's own text, its requirements, then how to implement it.
    let mut desc: Vec<String> = Vec::new();
    for v in [root.get("description"), root.path(&["context", "description"])].into_iter().flatten() {
        if let Some(d) = v.as_text().filter(|d| !d.trim().is_empty()) {
            desc.push(d);
            spans.description.get_or_insert(v.span);
        }
    }
    let requirements = texts(root.path(&["context", "requirements"]).or_else(|| root.get("requirements")));
    if !requirements.is_empty() {
        desc.push(format!("Requirements:\n{}", bullets(&requirements)));
    }
    if let Some(approach) =
        root.path(&["flow_control", "implementation_approach"]).or_else(|| root.get("implementation"))
    {
        let steps = render_steps(approach);
        if !steps.is_empty() {
            desc.push(format!("Implementation approach:\n{steps}"));
        }
    }
    task.description = model::block(&desc.join("\n\n"));

    // files: focus paths (folders mean everything under them) and target files.
    let mut files: Vec<(String, Span)> = Vec::new();
    let mut add_file = |raw: &str, span: Span, from_focus: bool| {
        let Some(path) = clean_target(raw) else {
            return;
        };
        let path = if from_focus || path.ends_with('/') { as_glob(&path, file) } else { path };
        if !files.iter().any(|(p, _)| *p == path) {
            files.push((path, span));
        }
    };
    for v in [root.path(&["context", "focus_paths"]), root.get("focus_paths")].into_iter().flatten() {
        for (p, span) in v.text_list() {
            add_file(&p, span, true);
        }
    }
    for v in [
        root.path(&["flow_control", "target_files"]),
        root.get("target_files"),
        root.get("files"),
        root.get("affected_files"),
        root.path(&["context", "affected_files"]),
    ]
    .into_iter()
    .flatten()
    {
        for item in list_items(v) {
            let text = item.as_text().or_else(|| item.get_any(&["path", "file", "target"]).and_then(JValue::as_text));
            if let Some(p) = text {
                add_file(&p, item.span, false);
            }
        }
    }
    task.files = files.iter().map(|(p, _)| p.clone()).collect();
    spans.files = files.iter().map(|(_, s)| *s).collect();

    // dependencies: wherever the schema version put them (top level, `context`, `meta`,
    // `dependencies.depends_on` / `dependencies.upstream` or a bare `dependencies` list).
    let mut declares_deps = false;
    let dependencies = root.get("dependencies");
    let dep_lists = [
        root.get("depends_on"),
        root.path(&["context", "depends_on"]),
        root.path(&["meta", "depends_on"]),
        dependencies.and_then(|d| d.get("depends_on")),
        dependencies.and_then(|d| d.get("upstream")),
        dependencies.filter(|d| matches!(d.kind, JKind::Array(_) | JKind::String(_))),
    ];
    for v in dep_lists.into_iter().flatten() {
        declares_deps = true;
        for item in list_items(v) {
            let Some(raw) = item.as_text() else {
                unread_dep(b, item.span, "a dependency that is not a task id");
                continue;
            };
            let dep = raw.trim().to_owned();
            if dep.is_empty() || is_none_word(&dep) {
                continue;
            }
            if !looks_like_id(&dep) {
                unread_dep(b, item.span, &format!("`{dep}`, which is not a task id"));
                continue;
            }
            if dep != task.id && !task.depends_on.contains(&dep) {
                task.depends_on.push(dep);
                spans.depends_on.push(item.span);
            }
        }
    }

    // `is_blocking` / `blocks`: the tasks named wait for this one (read when the tasks are merged).
    let mut blocks: Vec<(String, Span)> = Vec::new();
    for v in [root.get("is_blocking"), root.get("blocks"), root.get("blocking")].into_iter().flatten() {
        declares_deps = true;
        for item in list_items(v) {
            let Some(raw) = item.as_text() else {
                unread_dep(b, item.span, "a blocked task that is not a task id");
                continue;
            };
            let id = raw.trim().to_owned();
            if id.is_empty() || is_none_word(&id) {
                continue;
            }
            if !looks_like_id(&id) {
                unread_dep(b, item.span, &format!("`{id}` as blocked, which is not a task id"));
                continue;
            }
            if id != task.id && !blocks.iter().any(|(x, _)| *x == id) {
                blocks.push((id, item.span));
            }
        }
    }

    // acceptance and verify: criteria lists, convergence, and verification steps; a criterion
    // that says how to check it ("…: verify by `cmd`") also gives that command.
    let mut acceptance: Vec<(String, Span)> = Vec::new();
    for v in [
        root.path(&["context", "acceptance"]),
        root.path(&["context", "acceptance_criteria"]),
        root.get("acceptance"),
        root.get("acceptance_criteria"),
        root.path(&["convergence", "criteria"]),
    ]
    .into_iter()
    .flatten()
    {
        acceptance.extend(text_spans(v));
    }
    let mut verify: Vec<(String, Span)> = Vec::new();
    for (criterion, span) in &acceptance {
        if let Some(cmd) = verify_in_criterion(criterion) {
            if !verify.iter().any(|(c, _)| *c == cmd) {
                verify.push((cmd, *span));
            }
        }
    }
    for v in [
        root.path(&["convergence", "verification"]),
        root.path(&["flow_control", "verification"]),
        root.get("verification"),
    ]
    .into_iter()
    .flatten()
    {
        for (text, span) in text_spans(v) {
            match commands(&text) {
                Some(cmds) => {
                    for c in cmds {
                        if !verify.iter().any(|(v, _)| *v == c) {
                            verify.push((c, span));
                        }
                    }
                }
                None => acceptance.push((text, span)),
            }
        }
    }
    if let Some(v) = root.path(&["convergence", "definition_of_done"]) {
        acceptance.extend(text_spans(v));
    }
    for (a, span) in acceptance {
        let a = model::one_line(&a);
        if !a.is_empty() && !task.acceptance.contains(&a) {
            task.acceptance.push(a);
            spans.acceptance.push(span);
        }
    }
    for (c, span) in verify {
        task.verify.push(c);
        spans.verify.push(span);
    }

    // agent (CLI tool) and persona (the CCW agent role).
    if let Some(tool) = root.path(&["meta", "execution_config", "cli_tool"]).and_then(JValue::as_text) {
        task.agent = Some(model::one_line(&tool)).filter(|t| !t.is_empty());
    }
    task.persona = root
        .path(&["meta", "agent"])
        .and_then(JValue::as_text)
        .map(|a| model::one_line(a.trim_start_matches('@')))
        .filter(|a| !a.is_empty())
        .or_else(|| persona_for_type(root.path(&["meta", "type"]).and_then(JValue::as_str)?));

    // Pre-analysis steps gather context: planrun runs what it can before the agent starts and
    // gives it the output; the steps themselves stay in the instructions (for the rest).
    if let Some(pre) = root.path(&["flow_control", "pre_analysis"]) {
        let steps = render_steps(pre);
        if !steps.is_empty() {
            task.instructions.build = Some(format!("Before implementing, gather context:\n{steps}"));
        }
        let prep = prep_steps(b, pre);
        if !prep.is_empty() {
            b.prepare.insert(task.id.clone(), prep);
        }
    }

    let status = root.get("status");
    spans.status = status.map(|v| v.span);
    let done = status.and_then(|v| {
        let word = v.as_text().unwrap_or_default();
        match crate::reader::status_word(&word).or_else(|| ccw_status(&word)) {
            Some(s) => Some(s == Status::Done),
            None => {
                b.warn(
                    Diagnostic::warning(
                        "unknown-status",
                        format!("unknown status `{word}`; the task is treated as pending"),
                    )
                    .at(Some(v.span))
                    .help("use pending, active, completed or blocked"),
                );
                None
            }
        }
    });
    let group = root
        .get("parallel_group")
        .or_else(|| root.path(&["meta", "execution_group"]))
        .and_then(JValue::as_text)
        .filter(|g| !g.trim().is_empty());

    warn_unknown(b, &root);
    Some(TaskJson {
        file: file.to_owned(),
        id: task.id.clone(),
        task,
        spans,
        declares_deps,
        done,
        status_span: status.map(|v| v.span),
        group,
        blocks,
    })
}

pub(super) fn unread_dep(b: &mut PlanBuilder, span: Span, what: &str) {
    b.warn(
        Diagnostic::warning(
            "unread-dependency",
            format!("the task file lists {what}; it was not read as a dependency"),
        )
        .at(Some(span))
        .help("list dependencies by task id: \"depends_on\": [\"IMPL-1\"]"),
    );
}

pub(super) fn is_none_word(s: &str) -> bool {
    matches!(
        s.trim().trim_end_matches('.').to_ascii_lowercase().as_str(),
        "none" | "n/a" | "-" | "—" | "无" | "nothing"
    )
}

/// Strings of a value with the span of each (a string, a list of strings, or of objects with text).
pub(super) fn text_spans(v: &JValue) -> Vec<(String, Span)> {
    list_items(v)
        .into_iter()
        .filter_map(|item| {
            let text = item.as_text().or_else(|| {
                item.get_any(&["criterion", "description", "text", "title", "name", "command"])
                    .and_then(JValue::as_text)
            })?;
            let text = text.trim().to_owned();
            (!text.is_empty()).then_some((text, item.span))
        })
        .collect()
}

/// The command a criterion names as its check: `…: verify by npm test -- auth`,
/// `… (verify: \`cargo test\`)`. Only when what follows reads as a command run as written: a
/// known program, no comparison of its output (`| wc -l = 4`) and no prose around it. A trailing
/// `(exit code 0)` is a note, not part of the command.
pub(super) fn verify_in_criterion(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let at = ["verify by ", "verified by ", "verify with ", "verify: ", "verify:", "验证：", "验证:", "验证 "]
        .iter()
        .find_map(|k| lower.find(k).map(|i| i + k.len()))?;
    let mut rest = text.get(at..)?.trim();
    if lower.get(..at).is_some_and(|head| head.trim_end().ends_with("(verify:")) {
        rest = rest.strip_suffix(')').unwrap_or(rest).trim();
    }
    for note in ["(exit code 0)", "exit code 0", "(exit 0)", "(退出码 0)", "退出码 0", "退出码为 0"] {
        if let Some(r) = rest.strip_suffix(note) {
            rest = r.trim();
        }
    }
    let rest = rest.trim_end_matches('.').trim();
    let spans = md::code_spans(rest);
    let cmd = match spans.as_slice() {
        [(inner, _)] if rest.starts_with('`') && rest.ends_with('`') => inner.trim(),
        _ if !spans.is_empty() => return None,
        _ => rest,
    };
    if cmd.is_empty() || !cmd.is_ascii() {
        return None;
    }
    let compares = cmd.split_whitespace().any(|w| matches!(w, "=" | "==" | ">=" | "<=" | "!=" | "→"));
    // `cd dir && cmd`: the command is what runs after moving into the folder.
    let runs = cmd.strip_prefix("cd ").and_then(|r| r.split_once("&&")).map_or(cmd, |(_, r)| r.trim());
    let program = crate::reader::commands::first_program(runs).unwrap_or("");
    let known = crate::reader::commands::is_program(program) || program == "ls";
    let prose = runs.split_whitespace().any(|w| PROSE.contains(&w.to_ascii_lowercase().as_str())) || says_where(runs);
    (known && !compares && !prose).then(|| cmd.to_owned())
}

pub(super) fn ccw_status(word: &str) -> Option<Status> {
    match word.trim().to_ascii_lowercase().as_str() {
        "failed" | "skipped" | "cancelled" | "canceled" | "paused" | "container" => Some(Status::Pending),
        _ => None,
    }
}

/// Persona when `meta.agent` is missing, as CCW infers it from `meta.type`.
pub(super) fn persona_for_type(kind: &str) -> Option<String> {
    let p = match kind.trim().to_ascii_lowercase().as_str() {
        "feature" | "test-gen" => "code-developer",
        "test-fix" => "test-fix-agent",
        "review" => "universal-executor",
        "docs" => "doc-generator",
        _ => return None,
    };
    Some(p.to_owned())
}

/// Top-level fields CCW writes that planrun reads or knowingly ignores.
pub(super) const KNOWN_FIELDS: [&str; 31] = [
    "id",
    "title",
    "description",
    "status",
    "meta",
    "context",
    "flow_control",
    "depends_on",
    "convergence",
    "parallel_group",
    "focus_paths",
    "target_files",
    "files",
    "requirements",
    "acceptance",
    "acceptance_criteria",
    "affected_files",
    "is_blocking",
    "blocks",
    "dependencies",
    "verification",
    "cli_execution_id",
    "implementation",
    "cli_execution",
    "context_package_path",
    "artifacts",
    "priority",
    "type",
    "created_at",
    "updated_at",
    "$schema",
];

pub(super) fn warn_unknown(b: &mut PlanBuilder, root: &JValue) {
    for (key, value) in root.members() {
        if !KNOWN_FIELDS.contains(&key.as_str()) && !key.ends_with("_at") && !key.starts_with('_') {
            b.warn(
                Diagnostic::warning(
                    "unknown-field",
                    format!("task field `{key}` is not read by planrun and is ignored"),
                )
                .at(Some(value.span))
                .help("move what the agent needs into `description` or `context.requirements`"),
            );
        }
    }
}

pub(super) fn list_items(v: &JValue) -> Vec<&JValue> {
    match &v.kind {
        JKind::Array(items) => items.iter().collect(),
        JKind::Null => Vec::new(),
        _ => vec![v],
    }
}

/// Strings of a value that may be a string, a list of strings, or a list of objects with text.
pub(super) fn texts(v: Option<&JValue>) -> Vec<String> {
    let Some(v) = v else { return Vec::new() };
    list_items(v)
        .into_iter()
        .filter_map(|item| {
            item.as_text().or_else(|| {
                item.get_any(&["criterion", "description", "text", "title", "name"]).and_then(JValue::as_text)
            })
        })
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect()
}

pub(super) fn bullets(items: &[String]) -> String {
    items.iter().map(|i| format!("- {}", model::one_line(i))).collect::<Vec<_>>().join("\n")
}

/// Renders implementation or pre-analysis steps as a numbered markdown list.
/// `flow_control.pre_analysis` as steps planrun runs: each object's `command` or `commands`,
/// `output_to` and `on_error` (a bare string is a step of one command).
fn prep_steps(b: &mut PlanBuilder, v: &JValue) -> Vec<crate::prepare::PrepStep> {
    use crate::prepare::{OnError, PrepCommand, PrepStep};
    let mut out = Vec::new();
    for (n, step) in list_items(v).into_iter().enumerate() {
        let name_of = |s: &JValue| s.get_any(&["step", "name", "title"]).and_then(JValue::as_text);
        let (name, action, commands, output_to, on_error) = if let Some(t) = step.as_text() {
            let shell =
                crate::reader::commands::first_program(t.trim()).is_some_and(crate::reader::commands::is_program);
            (String::new(), String::new(), vec![PrepCommand::parse(&t, shell)], None, OnError::default())
        } else if step.is_object() {
            let mut commands: Vec<PrepCommand> =
                texts(step.get("command")).iter().map(|c| PrepCommand::parse(c, true)).collect();
            let program = |c: &str| {
                crate::reader::commands::first_program(c.trim()).is_some_and(crate::reader::commands::is_program)
            };
            commands.extend(texts(step.get("commands")).iter().map(|c| PrepCommand::parse(c, program(c))));
            let on_error = match step.get("on_error") {
                Some(e) => {
                    let word = e.as_text().unwrap_or_default();
                    OnError::parse(&word).unwrap_or_else(|| {
                        b.warn(
                            Diagnostic::warning(
                                "unknown-on-error",
                                format!("unknown `on_error` `{word}`; the step is optional"),
                            )
                            .at(Some(e.span))
                            .help("use skip_optional, fail or retry_once"),
                        );
                        OnError::default()
                    })
                }
                None => OnError::default(),
            };
            let output_to = step
                .get("output_to")
                .and_then(JValue::as_text)
                .map(|o| o.trim().trim_matches(|c| c == '[' || c == ']').to_owned())
                .filter(|o| !o.is_empty());
            let action = step.get_any(&["action", "description"]).and_then(JValue::as_text).unwrap_or_default();
            (name_of(step).unwrap_or_default(), model::one_line(&action), commands, output_to, on_error)
        } else {
            continue;
        };
        if commands.is_empty() {
            continue;
        }
        let name = if name.trim().is_empty() { format!("step {}", n + 1) } else { model::one_line(&name) };
        out.push(PrepStep { name, action, commands, output_to, on_error });
    }
    out
}

pub(super) fn render_steps(v: &JValue) -> String {
    let mut out: Vec<String> = Vec::new();
    for (n, step) in list_items(v).into_iter().enumerate() {
        if let Some(t) = step.as_text() {
            out.push(format!("{}. {}", n + 1, model::one_line(&t)));
            continue;
        }
        if !step.is_object() {
            continue;
        }
        let name = step.get_any(&["title", "step", "name"]).and_then(JValue::as_text).unwrap_or_default();
        let what = step.get_any(&["description", "action"]).and_then(JValue::as_text).unwrap_or_default();
        let head = match (name.trim().is_empty() || name.chars().all(|c| c.is_ascii_digit()), what.trim().is_empty()) {
            (false, false) => format!("**{}**: {}", model::one_line(&name), model::one_line(&what)),
            (false, true) => model::one_line(&name),
            (true, _) => model::one_line(&what),
        };
        out.push(format!("{}. {head}", n + 1));
        for key in ["modification_points", "logic_flow", "commands", "command"] {
            for item in texts(step.get(key)) {
                let item = model::one_line(&item);
                out.push(if key.starts_with("command") { format!("   - `{item}`") } else { format!("   - {item}") });
            }
        }
    }
    out.join("\n")
}

/// `src/auth/service.ts:validateToken:45-80` -> `src/auth/service.ts`; drops `./` and notes.
pub(super) fn clean_target(raw: &str) -> Option<String> {
    let t = raw.trim().trim_matches('`').trim_start_matches("./");
    let t = t.split(" (").next().unwrap_or(t);
    let t = t.split(':').next().unwrap_or(t).trim().trim_end_matches(',');
    (!t.is_empty() && t != "." && !t.contains(char::is_whitespace)).then(|| t.to_owned())
}

/// File names without an extension that are files, not folders.
pub(super) const EXTENSIONLESS_FILES: [&str; 8] =
    ["Makefile", "Dockerfile", "LICENSE", "Justfile", "Procfile", "Gemfile", "Rakefile", "Jenkinsfile"];

/// A focus path naming a folder becomes a glob for everything under it. A folder is a path that
/// exists as one in the repository, ends with `/`, or (when it does not exist yet) has no
/// extension in its last component.
pub(super) fn as_glob(path: &str, task_file: &Path) -> String {
    if path.contains('*') {
        return path.to_owned();
    }
    let trimmed = path.trim_end_matches('/');
    let root = task_file.ancestors().find(|p| file_name(p) == ".workflow").and_then(Path::parent);
    let on_disk = root.map(|r| r.join(trimmed));
    let is_dir = path.ends_with('/')
        || on_disk.as_ref().is_some_and(|p| p.is_dir())
        || (!on_disk.as_ref().is_some_and(|p| p.exists()) && {
            let last = trimmed.rsplit('/').next().unwrap_or(trimmed);
            !last.contains('.') && !EXTENSIONLESS_FILES.contains(&last)
        });
    if is_dir { format!("{trimmed}/**") } else { trimmed.to_owned() }
}

/// The commands of a verification text when it is only commands: one backticked command, or
/// lines that each start with a known command and read like one, not like prose.
pub(super) fn commands(text: &str) -> Option<Vec<String>> {
    let t = text.trim();
    let spans = md::code_spans(t);
    if let [(inner, _)] = spans.as_slice() {
        if t.starts_with('`') && t.trim_end_matches('.').ends_with('`') && !inner.trim().is_empty() {
            return Some(vec![inner.trim().to_owned()]);
        }
    }
    if !spans.is_empty() {
        return None;
    }
    let lines: Vec<&str> = t.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    if lines.is_empty() || !lines.iter().all(|l| is_command(l)) {
        return None;
    }
    Some(lines.iter().map(|l| l.trim_start_matches("$ ").to_owned()).collect())
}

/// Words that turn a line starting with a program name into prose ("npm test passes").
pub(super) const PROSE: [&str; 12] = [
    "pass",
    "passes",
    "succeed",
    "succeeds",
    "should",
    "must",
    "shows",
    "returns",
    "without",
    "successfully",
    "works",
    "green",
];

/// `grep 'a\|b' in test`: a bare `in` after the program says where to look, in words; it is
/// no argument a shell could run (unless the line is a `for … in` loop or a `case … in`).
pub(super) fn says_where(cmd: &str) -> bool {
    // Only the words outside quotes: `grep -r "used in tests" src/` is a command.
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    for c in cmd.chars() {
        match (quote, c) {
            (Some(q), _) if c == q => quote = None,
            (Some(_), _) => word.push('"'),
            (None, '\'' | '"') => quote = Some(c),
            (None, _) if c.is_whitespace() => words.extend((!word.is_empty()).then(|| std::mem::take(&mut word))),
            (None, _) => word.push(c),
        }
    }
    words.extend((!word.is_empty()).then_some(word));
    words.iter().skip(1).any(|w| w == "in") && !words.iter().any(|w| matches!(w.as_str(), "for" | "case" | "select"))
}

pub(super) fn is_command(line: &str) -> bool {
    let line = line.trim_start_matches("$ ");
    let known = crate::reader::commands::first_program(line).is_some_and(crate::reader::commands::is_program);
    // Prose in another script, or a comparison of the output (`… | wc -l >= 2`), is a check
    // described for a person, not a command whose exit status says it passed.
    let compares = line.split_whitespace().any(|w| matches!(w, "=" | "==" | ">=" | "<=" | "!=" | "→"));
    known
        && line.is_ascii()
        && !compares
        && !line.ends_with('.')
        && !says_where(line)
        && !line.split_whitespace().any(|w| PROSE.contains(&w.to_ascii_lowercase().as_str()))
}

// ---------------------------------------------------------------------------------------------
// Merging TODO_LIST.md with the task files
