//! `planrun check`, `import`, `schema` and `formats`: read a plan, validate it, and print the
//! result for people (stdout report, diagnostics on stderr) or as a stable JSON contract.

use crate::cli::{CheckArgs, ImportArgs, PlanArgs, Target};
use crate::error::{CliError, Outcome};
use crate::exit;
use crate::render::{Output, Renderer, severity_word};
use planrun_plan::{Checked, Diagnostic, Format, LoadError, Loaded, Span, Status, TaskSpans, native};
use serde::Serialize;
use std::io::Write as _;

/// The JSON printed by `planrun check --json`. Fields are only ever added, never renamed.
#[derive(Debug, Serialize)]
struct CheckJson<'a> {
    format: Option<&'static str>,
    title: &'a str,
    tasks: Vec<TaskJson<'a>>,
    waves: Vec<Vec<&'a str>>,
    critical_path: Vec<&'a str>,
    conflicts: Vec<[&'a str; 2]>,
    diagnostics: Vec<DiagnosticJson>,
    errors: usize,
    warnings: usize,
}

#[derive(Debug, Serialize)]
struct TaskJson<'a> {
    id: &'a str,
    title: &'a str,
    depends_on: &'a [String],
    files: &'a [String],
    verify: &'a [String],
    acceptance: &'a [String],
    status: &'static str,
}

#[derive(Debug, Serialize)]
struct DiagnosticJson {
    severity: &'static str,
    code: &'static str,
    message: String,
    file: Option<String>,
    line: Option<usize>,
    column: Option<usize>,
    help: Option<String>,
    task: Option<String>,
}

fn load(args: &PlanArgs) -> Result<Loaded, LoadError> {
    planrun_plan::load(&args.plan, args.format)
}

pub(crate) fn check(args: &CheckArgs, out: &Output) -> Outcome {
    let loaded = match load(&args.plan) {
        Ok(l) => l,
        Err(e) => return load_failed(e, args.json),
    };
    let checked = planrun_plan::check(&loaded);
    if let Some(id) = &args.explain {
        return explain(&loaded, &checked, id, args.json, out);
    }
    let printed = if args.json {
        print_json(&loaded, &checked)
    } else {
        print_human(&loaded, &checked, out, crate::out::verbose())
    };
    if let Err(e) = printed {
        // A closed pipe (e.g. `| head`) is not worth a message, and the plan's verdict stands.
        if !planrun_runtime::console::is_closed_pipe(&e) {
            return Err(CliError::Report(e));
        }
    }
    let code = if checked.errors() > 0 { exit::INVALID_PLAN } else { exit::OK };
    // The process ends right after this: freeing a 10,000-task plan piece by piece would only
    // cost time the operating system spends anyway.
    std::mem::forget(checked);
    std::mem::forget(loaded);
    Ok(code)
}

/// A plan that cannot be read: with `--json`, a report of it on stdout (and the code of a plan
/// with errors).
fn load_failed(e: LoadError, json: bool) -> Outcome {
    if !json {
        return Err(e.into());
    }
    {
        let report = CheckJson {
            format: None,
            title: "",
            tasks: Vec::new(),
            waves: Vec::new(),
            critical_path: Vec::new(),
            conflicts: Vec::new(),
            diagnostics: vec![DiagnosticJson {
                severity: "error",
                code: "unreadable-plan",
                message: e.to_string(),
                file: None,
                line: None,
                column: None,
                help: Some(e.help()),
                task: None,
            }],
            errors: 1,
            warnings: 0,
        };
        let _ = writeln!(std::io::stdout(), "{}", serde_json::to_string_pretty(&report).unwrap_or_default());
    }
    Ok(exit::INVALID_PLAN)
}

fn print_json(loaded: &Loaded, checked: &Checked) -> std::io::Result<()> {
    let plan = &loaded.plan;
    let id = |i: &usize| plan.tasks.get(*i).map_or("", |t| t.id.as_str());
    let report = CheckJson {
        format: Some(loaded.format.name()),
        title: &plan.title,
        tasks: plan
            .tasks
            .iter()
            .map(|t| TaskJson {
                id: &t.id,
                title: &t.title,
                depends_on: &t.depends_on,
                files: &t.files,
                verify: &t.verify,
                acceptance: &t.acceptance,
                status: t.status.as_str(),
            })
            .collect(),
        waves: checked.analysis.waves.iter().map(|w| w.iter().map(id).collect()).collect(),
        critical_path: checked.analysis.critical_path.iter().map(id).collect(),
        conflicts: checked.analysis.conflicts.iter().map(|c| [id(&c.a), id(&c.b)]).collect(),
        diagnostics: checked
            .diagnostics
            .iter()
            .map(|d| {
                let loc = d.location(&loaded.sources);
                DiagnosticJson {
                    severity: severity_word(d.severity),
                    code: d.code,
                    message: d.message.clone(),
                    file: loc.as_ref().map(|l| l.file.clone()),
                    line: loc.as_ref().map(|l| l.line),
                    column: loc.as_ref().map(|l| l.column),
                    help: d.help.clone(),
                    task: d.task.clone(),
                }
            })
            .collect(),
        errors: checked.errors(),
        warnings: checked.warnings(),
    };
    // Buffered: a 10,000-task report is about 170,000 lines, and stdout is line-buffered.
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    serde_json::to_writer_pretty(&mut stdout, &report).map_err(|e| match e.io_error_kind() {
        Some(kind) => std::io::Error::from(kind),
        None => std::io::Error::other(e),
    })?;
    writeln!(stdout)?;
    stdout.flush()
}

fn print_human(loaded: &Loaded, checked: &Checked, out: &Output, verbose: bool) -> std::io::Result<()> {
    let plan = &loaded.plan;
    let mut s = String::new();
    let done = plan.tasks.iter().filter(|t| t.status == Status::Done).count();
    let title = if plan.title.is_empty() { "(untitled)" } else { plan.title.as_str() };
    s.push_str(&format!("plan: {title}\n"));
    s.push_str(&format!("read: {} as {}\n", loaded.root.display(), loaded.format.describe()));
    s.push_str(&format!("tasks: {} ({} done, {} to run)\n", plan.tasks.len(), done, plan.tasks.len() - done));
    if !plan.verify.is_empty() {
        s.push_str(&format!(
            "plan verify: {}\n",
            plan.verify.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
        ));
    } else {
        let found = planrun_runtime::detect::for_plan(&loaded.root);
        let shown: Vec<String> = found.iter().map(|d| format!("`{}` ({})", d.command, d.from)).collect();
        if !shown.is_empty() {
            s.push_str(&format!("final check (the project's own, no plan verify): {}\n", shown.join(", ")));
        }
    }
    let width = plan.tasks.iter().map(|t| t.id.chars().count()).max().unwrap_or(0).min(24);
    s.push('\n');
    for t in &plan.tasks {
        let mark = if t.status == Status::Done { "✓" } else { "·" };
        let mut line = format!("  {mark} {:<width$}  {}", t.id, t.title);
        if !t.depends_on.is_empty() {
            line.push_str(&format!("  (after {})", t.depends_on.join(", ")));
        }
        s.push_str(line.trim_end());
        s.push('\n');
    }
    let id = |i: &usize| plan.tasks.get(*i).map_or("?", |t| t.id.as_str());
    if checked.analysis.waves.is_empty() {
        s.push_str("\nwaves: nothing left to run\n");
    } else {
        s.push_str("\nwaves (tasks in one wave can run at the same time):\n");
        for (n, w) in checked.analysis.waves.iter().enumerate() {
            s.push_str(&format!("  {:>3}: {}\n", n + 1, w.iter().map(id).collect::<Vec<_>>().join(", ")));
        }
    }
    if !checked.analysis.critical_path.is_empty() {
        let path = &checked.analysis.critical_path;
        s.push_str(&format!(
            "critical path ({} task{}): {}\n",
            path.len(),
            if path.len() == 1 { "" } else { "s" },
            path.iter().map(id).collect::<Vec<_>>().join(" → ")
        ));
    }
    if checked.analysis.conflicts.is_empty() {
        s.push_str("file conflicts: none\n");
    } else {
        s.push_str("file conflicts (planrun runs each pair one after the other):\n");
        for c in &checked.analysis.conflicts {
            s.push_str(&format!("  {} ↔ {}: `{}` overlaps `{}`\n", id(&c.a), id(&c.b), c.patterns.0, c.patterns.1));
        }
    }
    // --quiet: only the errors and the verdict line.
    if !crate::out::quiet() {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(s.as_bytes())?;
        stdout.flush()?;
    }

    let mut stderr = std::io::stderr().lock();
    let grouped = diagnostics(loaded, checked, out, verbose, &mut stderr)?;
    let (errors, warnings) = (checked.errors(), checked.warnings());
    let verdict = if errors > 0 { "the plan has errors; fix them before running it" } else { "the plan can run" };
    writeln!(
        stderr,
        "check: {errors} error{}, {warnings} warning{}: {verdict}{}",
        if errors == 1 { "" } else { "s" },
        if warnings == 1 { "" } else { "s" },
        if grouped { " (--verbose shows each in full)" } else { "" }
    )
}

/// Warnings shown in full when there are at most this many and they take, with the errors, at
/// most `FULL_LINES` lines; beyond, they are grouped.
const FULL_WARNINGS: usize = 3;
const FULL_LINES: usize = 28;
/// Errors of one kind shown in full; more are one line each.
const FULL_ERRORS: usize = 1;
/// How many tasks a grouped line names before "and N more".
const NAMED: usize = 4;

/// Writes the diagnostics for people: errors always in full (each must be fixed), warnings in
/// full when they are few or `verbose`, else one line per kind with the count and the first
/// tasks. Warnings every plan of a format has (Task Master lists no files) are said once, with
/// what to do. Returns whether anything was grouped.
fn diagnostics(
    loaded: &Loaded,
    checked: &Checked,
    out: &Output,
    verbose: bool,
    w: &mut impl std::io::Write,
) -> std::io::Result<bool> {
    let mut renderer = Renderer::new(&loaded.sources, out);
    let warnings: Vec<&Diagnostic> = checked.diagnostics.iter().filter(|d| !d.is_error()).collect();
    let mut lines = 0;
    let mut grouped = false;
    // Errors: each must be fixed, so the first of each kind is shown in full, with its source;
    // more of the same kind are listed one line each (all in full with --verbose).
    let mut shown: Vec<(&str, usize)> = Vec::new();
    for d in checked.diagnostics.iter().filter(|d| d.is_error()) {
        let n = match shown.iter_mut().find(|(c, _)| *c == d.code) {
            Some((_, n)) => {
                *n += 1;
                *n
            }
            None => {
                shown.push((d.code, 1));
                1
            }
        };
        let r = if verbose || n <= FULL_ERRORS {
            renderer.render(d)
        } else {
            grouped = true;
            let at = d.location(&loaded.sources).map(|l| format!(" ({}:{})", l.file, l.line)).unwrap_or_default();
            format!("error[{}]: {}{at}\n", d.code, d.message)
        };
        lines += r.lines().count();
        w.write_all(r.as_bytes())?;
    }
    if grouped {
        writeln!(w)?;
        lines += 1;
    }
    if crate::out::quiet() {
        return Ok(grouped);
    }
    if verbose || warnings.len() <= FULL_WARNINGS {
        let full: Vec<String> = warnings.iter().map(|d| renderer.render(d)).collect();
        if verbose || lines + full.iter().map(|r| r.lines().count()).sum::<usize>() <= FULL_LINES {
            for r in &full {
                w.write_all(r.as_bytes())?;
            }
            return Ok(grouped);
        }
    }
    // Kinds in the order they first appear.
    let mut kinds: Vec<(&'static str, Vec<&Diagnostic>)> = Vec::new();
    for d in warnings {
        match kinds.iter_mut().find(|(code, _)| *code == d.code) {
            Some((_, list)) => list.push(d),
            None => kinds.push((d.code, vec![d])),
        }
    }
    for (code, list) in &kinds {
        let Some(&first) = list.first() else { continue };
        if let Some((note, help)) = usual(loaded.format, code) {
            writeln!(w, "note[{code}] ×{}: {note}\n  help: {help}", list.len())?;
            continue;
        }
        let place = |d: &Diagnostic| match (&d.task, d.location(&loaded.sources)) {
            (Some(id), _) if !id.is_empty() => format!("`{id}`"),
            (_, Some(l)) => format!("{}:{}", l.file, l.line),
            _ => "?".to_owned(),
        };
        let at = first.location(&loaded.sources).map(|l| format!(" ({}:{})", l.file, l.line)).unwrap_or_default();
        if list.len() == 1 {
            writeln!(w, "warning[{code}]: {}{at}", first.message)?;
        } else {
            let mut places: Vec<String> = Vec::new();
            for d in list.iter().skip(1) {
                let p = place(d);
                if p != place(first) && !places.contains(&p) {
                    places.push(p);
                }
            }
            let others: Vec<String> = places.iter().take(NAMED).cloned().collect();
            let rest = places.len() - others.len();
            let more = if rest > 0 { format!(" and {rest} more") } else { String::new() };
            let also = if others.is_empty() { String::new() } else { format!("; also {}{more}", others.join(", ")) };
            writeln!(w, "warning[{code}] ×{}: {}{at}{also}", list.len(), first.message)?;
        }
        if let Some(help) = &first.help {
            writeln!(w, "  help: {}", help.lines().next().unwrap_or_default())?;
        }
    }
    writeln!(w)?;
    Ok(true)
}

/// Warnings that every plan of a format gets, said once with what to do instead of per task.
fn usual(format: Format, code: &str) -> Option<(&'static str, &'static str)> {
    match (format, code) {
        (Format::Taskmaster, "no-files") => Some((
            "Task Master tasks list no files, so planrun cannot check their scope and runs them one at a time",
            "to run tasks side by side, convert the plan (`planrun import PLAN --to markdown -o plan.md`) and add a `Files:` line to each task",
        )),
        (Format::Taskmaster, "nothing-to-verify") => Some((
            "Task Master's testStrategy is prose for the reviewers, not a command planrun can run",
            "give the plan a command to run after every task: convert it (`planrun import PLAN --to markdown -o plan.md`) and add a `## Verify` section",
        )),
        _ => None,
    }
}

/// `check --explain TASK`: where each field of one task was read from, and what was said about it.
fn explain(loaded: &Loaded, checked: &Checked, id: &str, json: bool, out: &Output) -> Outcome {
    let Some((index, task)) = loaded.plan.tasks.iter().enumerate().find(|(_, t)| t.id == id) else {
        let known: Vec<String> = loaded.plan.tasks.iter().map(|t| t.id.clone()).take(12).collect();
        let more = loaded.plan.tasks.len() > known.len();
        return Err(CliError::NoSuchTask { id: id.to_owned(), known, more });
    };
    let spans = loaded.spans(index);
    let fields = explained_fields(task, spans);
    let about: Vec<&Diagnostic> = checked
        .diagnostics
        .iter()
        .filter(|d| {
            d.task.as_deref() == Some(id)
                || d.span.zip(spans.task).is_some_and(|(s, t)| {
                    d.task.is_none() && s.source == t.source && s.start >= t.start && s.start < t.end.max(t.start + 1)
                })
        })
        .collect();
    let at = |span: Option<Span>| {
        span.map(|s| {
            let (line, _) = loaded.sources.line_col(s.source, s.start);
            (loaded.sources.path(s.source).display().to_string(), line)
        })
    };
    let whole = at(spans.task);
    let printed = if json {
        let fields: Vec<serde_json::Value> = fields
            .iter()
            .map(|(field, value, span)| {
                let place = at(*span).or_else(|| whole.clone());
                serde_json::json!({
                    "field": field,
                    "value": value,
                    "file": place.as_ref().map(|p| &p.0),
                    "line": place.as_ref().map(|p| p.1),
                    "located": span.is_some(),
                })
            })
            .collect();
        let diagnostics: Vec<serde_json::Value> = about
            .iter()
            .map(|d| {
                let loc = d.location(&loaded.sources);
                serde_json::json!({
                    "severity": severity_word(d.severity),
                    "code": d.code,
                    "message": d.message,
                    "file": loc.as_ref().map(|l| &l.file),
                    "line": loc.as_ref().map(|l| l.line),
                    "help": d.help,
                })
            })
            .collect();
        let report = serde_json::json!({
            "id": task.id,
            "title": task.title,
            "status": task.status.as_str(),
            "format": loaded.format.name(),
            "fields": fields,
            "diagnostics": diagnostics,
        });
        writeln!(std::io::stdout(), "{}", serde_json::to_string_pretty(&report).unwrap_or_default())
    } else {
        let mut s = format!("task {}: {}\n", task.id, task.title);
        let file = spans.task.map(|t| loaded.sources.path(t.source).display().to_string());
        let lines = spans.task.map(|t| format!("line {}", loaded.sources.line_col(t.source, t.start).0));
        match (&file, &lines) {
            (Some(f), Some(l)) => s.push_str(&format!("read as {} from {f}, {l}\n\n", loaded.format.describe())),
            _ => s.push_str(&format!("read as {}\n\n", loaded.format.describe())),
        }
        let width = fields.iter().map(|(_, v, _)| v.chars().count()).max().unwrap_or(0).min(60);
        for (field, value, span) in &fields {
            let same_file = span.zip(spans.task).is_some_and(|(a, b)| a.source == b.source);
            let place = match at(*span) {
                Some((_, l)) if same_file => format!("line {l}"),
                Some((f, l)) => format!("{f}:{l}"),
                None if *field == "status" && task.status == Status::Pending => {
                    "no mark: pending is the default".to_owned()
                }
                None => {
                    lines.as_ref().map_or("not located".to_owned(), |l| format!("not located; the task starts at {l}"))
                }
            };
            // Long values (a whole criterion) are cut so that the places stay in one column;
            // --json has them whole.
            let value = if value.is_empty() {
                "(empty)".to_owned()
            } else if value.chars().count() > 60 {
                format!("{}…", value.chars().take(59).collect::<String>())
            } else {
                value.clone()
            };
            s.push_str(&format!("  {field:<11} {value:<width$}  ← {place}\n"));
        }
        let missing: Vec<&str> = ["depends_on", "files", "verify", "acceptance"]
            .into_iter()
            .filter(|f| !fields.iter().any(|(field, _, _)| field == f))
            .collect();
        if !missing.is_empty() {
            s.push_str(&format!("  (none read: {})\n", missing.join(", ")));
        }
        let mut stdout = std::io::stdout().lock();
        let mut done = stdout.write_all(s.as_bytes()).and_then(|()| stdout.flush());
        if done.is_ok() && !about.is_empty() {
            let mut renderer = Renderer::new(&loaded.sources, out);
            let mut stderr = std::io::stderr().lock();
            for d in &about {
                done = done.and_then(|()| stderr.write_all(renderer.render(d).as_bytes()));
            }
        }
        done
    };
    match printed {
        Ok(()) => Ok(exit::OK),
        Err(e) if planrun_runtime::console::is_closed_pipe(&e) => Ok(exit::OK),
        Err(e) => Err(CliError::Report(e)),
    }
}

/// Each field of a task with the span it was read from, when the reader located it.
fn explained_fields(task: &planrun_plan::Task, spans: &TaskSpans) -> Vec<(&'static str, String, Option<Span>)> {
    let mut out = vec![
        ("id", task.id.clone(), spans.id.or(spans.task)),
        ("title", task.title.clone(), spans.title),
        ("status", task.status.as_str().to_owned(), spans.status),
    ];
    let list = |out: &mut Vec<_>, name, values: &[String], at: &[Span]| {
        for (k, v) in values.iter().enumerate() {
            out.push((name, v.clone(), at.get(k).copied()));
        }
    };
    list(&mut out, "depends_on", &task.depends_on, &spans.depends_on);
    list(&mut out, "files", &task.files, &spans.files);
    list(&mut out, "verify", &task.verify, &spans.verify);
    list(&mut out, "acceptance", &task.acceptance, &spans.acceptance);
    if !task.description.is_empty() {
        let lines = task.description.lines().count();
        out.push(("description", format!("{lines} line{}", if lines == 1 { "" } else { "s" }), spans.description));
    }
    out
}

pub(crate) fn import(args: &ImportArgs, out: &Output) -> Outcome {
    let loaded = load(&args.plan)?;
    let checked = planrun_plan::check(&loaded);
    let text = match args.to {
        Target::Markdown => native::markdown::write(&loaded.plan),
        Target::Json => native::json::write(&loaded.plan),
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, &text).map_err(|source| CliError::WritePlan { path: path.clone(), source })?;
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()).map_err(CliError::PrintPlan)?;
        }
    }
    let mut stderr = std::io::stderr().lock();
    let _ = diagnostics(&loaded, &checked, out, false, &mut stderr);
    let _ = writeln!(
        stderr,
        "import: {} tasks read as {}, written as {}",
        loaded.plan.tasks.len(),
        loaded.format.name(),
        match args.to {
            Target::Markdown => "markdown",
            Target::Json => "json",
        }
    );
    Ok(if checked.errors() > 0 { exit::INVALID_PLAN } else { exit::OK })
}

/// `planrun schema`: the plan format's JSON Schema, or (`--events`) that of a run's events.
pub(crate) fn schema(events: bool) -> Outcome {
    let schema = if events { crate::run::events::schema() } else { schemars::schema_for!(planrun_plan::Plan) };
    outln!("{}", serde_json::to_string_pretty(&schema).map_err(CliError::Schema)?);
    Ok(exit::OK)
}

pub(crate) fn formats() -> u8 {
    for f in Format::ALL {
        outln!("{:<12} {}", f.name(), f.describe());
    }
    exit::OK
}
