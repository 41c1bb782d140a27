//! `planrun check`, `import`, `schema` and `formats`: read a plan, validate it, and print the
//! result for people (stdout report, diagnostics on stderr) or as a stable JSON contract.

use crate::cli::{CheckArgs, ImportArgs, PlanArgs, Target};
use crate::exit;
use crate::render::{Output, Renderer, severity_word};
use planrun_plan::{Checked, Format, LoadError, Loaded, Status, native};
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
}

fn load(args: &PlanArgs) -> Result<Loaded, LoadError> {
    planrun_plan::load(&args.plan, args.format)
}

pub(crate) fn check(args: &CheckArgs, out: &Output) -> u8 {
    let loaded = match load(&args.plan) {
        Ok(l) => l,
        Err(e) => return load_failed(&e, args.json),
    };
    let checked = planrun_plan::check(&loaded);
    let printed = if args.json { print_json(&loaded, &checked) } else { print_human(&loaded, &checked, out) };
    if let Err(e) = printed {
        // A closed pipe (e.g. `| head`) is not worth a message.
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("error: cannot write the report: {e}");
        }
        return exit::FAILURE;
    }
    let code = if checked.errors() > 0 { exit::INVALID_PLAN } else { exit::OK };
    // The process ends right after this: freeing a 10,000-task plan piece by piece would only
    // cost time the operating system spends anyway.
    std::mem::forget(checked);
    std::mem::forget(loaded);
    code
}

fn load_failed(e: &LoadError, json: bool) -> u8 {
    if json {
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
            }],
            errors: 1,
            warnings: 0,
        };
        let _ = writeln!(std::io::stdout(), "{}", serde_json::to_string_pretty(&report).unwrap_or_default());
    } else {
        eprintln!("error: {e}\n  help: {}", e.help());
    }
    exit::INVALID_PLAN
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

fn print_human(loaded: &Loaded, checked: &Checked, out: &Output) -> std::io::Result<()> {
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
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(s.as_bytes())?;
    stdout.flush()?;
    drop(stdout);

    let mut renderer = Renderer::new(&loaded.sources, out);
    let mut stderr = std::io::stderr().lock();
    for d in &checked.diagnostics {
        stderr.write_all(renderer.render(d).as_bytes())?;
    }
    let (errors, warnings) = (checked.errors(), checked.warnings());
    let verdict = if errors > 0 { "the plan has errors; fix them before running it" } else { "the plan can run" };
    writeln!(
        stderr,
        "check: {errors} error{}, {warnings} warning{}: {verdict}",
        if errors == 1 { "" } else { "s" },
        if warnings == 1 { "" } else { "s" }
    )
}

pub(crate) fn import(args: &ImportArgs, out: &Output) -> u8 {
    let loaded = match load(&args.plan) {
        Ok(l) => l,
        Err(e) => return load_failed(&e, false),
    };
    let checked = planrun_plan::check(&loaded);
    let text = match args.to {
        Target::Markdown => native::markdown::write(&loaded.plan),
        Target::Json => native::json::write(&loaded.plan),
    };
    let written = match &args.output {
        Some(path) => std::fs::write(path, &text).map_err(|e| format!("cannot write `{}`: {e}", path.display())),
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
                .map_err(|e| format!("cannot write the plan: {e}"))
        }
    };
    if let Err(e) = written {
        eprintln!("error: {e}");
        return exit::FAILURE;
    }
    let mut renderer = Renderer::new(&loaded.sources, out);
    let mut stderr = std::io::stderr().lock();
    for d in &checked.diagnostics {
        let _ = stderr.write_all(renderer.render(d).as_bytes());
    }
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
    if checked.errors() > 0 { exit::INVALID_PLAN } else { exit::OK }
}

pub(crate) fn schema() -> u8 {
    let schema = schemars::schema_for!(planrun_plan::Plan);
    match serde_json::to_string_pretty(&schema) {
        Ok(s) => {
            println!("{s}");
            exit::OK
        }
        Err(e) => {
            eprintln!("error: cannot print the schema: {e}");
            exit::FAILURE
        }
    }
}

pub(crate) fn formats() -> u8 {
    for f in Format::ALL {
        println!("{:<12} {}", f.name(), f.describe());
    }
    exit::OK
}
