//! The steps a plan asks to run before a task's agent starts (CCW's `flow_control.pre_analysis`):
//! shell commands, and `Read`/`Glob`/`Grep` of the task's workspace, each step's output kept
//! under its `output_to` variable for later steps (`[name]`, shell-quoted in a command) and
//! handed to the agent in its prompt. `on_error` decides what a failure does. What planrun
//! cannot run (`Extract(…)`, MCP tools, prose) is left to the agent, which is told so.

use super::*;
use planrun_plan::prepare::{OnError, PrepCommand, PrepStep, substitute};

/// At most this much of one step's output goes into the prompt (the end is kept).
const OUTPUT_LIMIT: usize = 16 * 1024;
/// A `Glob` lists at most this many files.
const GLOB_LIMIT: usize = 500;

/// What the steps gave: the prompt section, and variables with short values to put in place of
/// `[name]` in the prompt.
pub(crate) struct Prepared {
    pub(crate) section: String,
    pub(crate) vars: Vec<(String, String)>,
}

/// Runs `steps` in order in `cwd`. `Err((reason, interrupted))` when a step whose `on_error`
/// is `fail` (or `retry_once`, twice) failed, or when planrun was interrupted.
pub(crate) async fn run_steps(
    ctx: &Ctx,
    steps: &[PrepStep],
    cwd: &Path,
    log: &Path,
    env: Vec<(String, String)>,
    cancel: watch::Receiver<bool>,
) -> Result<Prepared, (String, bool)> {
    if let Some(reason) = workspace_missing(cwd) {
        return Err((reason, false));
    }
    prepare_log(log).map_err(|e| (e, false))?;
    let mut vars: Vec<(String, String)> = Vec::new();
    let mut parts: Vec<String> = Vec::new();
    let mut left: Vec<String> = Vec::new();
    for step in steps {
        let tries = if step.on_error == OnError::RetryOnce { 2 } else { 1 };
        let mut outcome = Ok(String::new());
        for _ in 0..tries {
            outcome = run_step(ctx, step, &vars, cwd, log, &env, cancel.clone(), &mut left).await;
            match &outcome {
                Err((_, true)) => return Err(outcome.err().unwrap_or_default()),
                Ok(_) => break,
                Err(_) => {}
            }
        }
        let label = step.output_to.as_ref().map_or_else(|| step.name.clone(), |o| format!("[{o}] ({})", step.name));
        let output = match outcome {
            Ok(out) => out,
            Err((reason, _)) if step.on_error == OnError::SkipOptional => {
                parts
                    .push(format!("### {label}\n\nThis optional step failed and was skipped: {}\n", one_line(&reason)));
                if let Some(o) = &step.output_to {
                    vars.push((o.clone(), String::new()));
                }
                continue;
            }
            Err((reason, _)) => {
                return Err((
                    format!(
                        "the pre-analysis step `{}` failed (on_error: {}): {reason}",
                        step.name,
                        step.on_error.as_str()
                    ),
                    false,
                ));
            }
        };
        if let Some(o) = &step.output_to {
            vars.push((o.clone(), output.trim_end().to_owned()));
        }
        if !output.trim().is_empty() {
            let kept = keep_tail(output.trim_end(), OUTPUT_LIMIT);
            let cut = if kept.len() < output.trim_end().len() { " (its end)" } else { "" };
            parts.push(format!("### {label}{cut}\n\n{}\n", fence(kept)));
        }
    }
    let mut section = String::new();
    if !parts.is_empty() || !left.is_empty() {
        section.push_str(
            "\n\n## Context planrun gathered before you start\n\nplanrun ran the task's pre-analysis steps; each \
             output is under the variable its step names (`[name]` in the task's text).\n\n",
        );
        section.push_str(&parts.join("\n"));
        if !left.is_empty() {
            section.push_str(
                "\n### Steps left to you\n\nplanrun cannot run these; do them yourself if you need their result:\n\n",
            );
            for l in &left {
                section.push_str(&format!("- `{}`\n", l.replace('`', "'")));
            }
        }
    }
    let short = vars.into_iter().filter(|(_, v)| !v.is_empty() && v.len() <= 200 && !v.contains('\n')).collect();
    Ok(Prepared { section, vars: short })
}

/// One try of one step: its commands in order; the output of all of them.
#[allow(clippy::too_many_arguments)]
async fn run_step(
    ctx: &Ctx,
    step: &PrepStep,
    vars: &[(String, String)],
    cwd: &Path,
    log: &Path,
    env: &[(String, String)],
    cancel: watch::Receiver<bool>,
    left: &mut Vec<String>,
) -> Result<String, (String, bool)> {
    let value = |n: &str| vars.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()).unwrap_or_default();
    let mut out = String::new();
    for command in &step.commands {
        let _ = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .and_then(|mut f| writeln!(f, "$ [{}] {}", step.name, command.shown()));
        match command {
            PrepCommand::Shell(c) => {
                // An earlier step's output reaches the shell as one quoted word, never as code.
                let line = substitute(c, vars, |n| shell_quote(&value(n)));
                out.push_str(&shell(ctx, &line, cwd, log, env, cancel.clone()).await?);
            }
            PrepCommand::Read(p) => {
                let p = substitute(p, vars, value);
                // The plan's own files (a session's `.process/`) are often neither committed nor
                // in a task's worktree: a path missing there is read from your tree.
                let read = read_inside(cwd, p.trim())
                    .or_else(|e| if e.contains("no such file") { read_inside(&ctx.ws.root, p.trim()) } else { Err(e) });
                out.push_str(&read.map_err(|e| (e, false))?);
            }
            PrepCommand::Glob(p) => {
                let p = substitute(p, vars, value);
                out.push_str(&glob(cwd, p.trim()).map_err(|e| (e, false))?);
            }
            PrepCommand::Grep(p) => {
                let p = substitute(p, vars, value);
                out.push_str(&grep(cwd, &p).map_err(|e| (e, false))?);
            }
            PrepCommand::Agent(t) => {
                if !left.contains(t) {
                    left.push(t.clone());
                }
            }
        }
    }
    Ok(out)
}

/// One shell command, its output read back from the log it went to (redacted there).
async fn shell(
    ctx: &Ctx,
    line: &str,
    cwd: &Path,
    log: &Path,
    env: &[(String, String)],
    cancel: watch::Receiver<bool>,
) -> Result<String, (String, bool)> {
    let from = log_start(log);
    let spec = command_spec(ctx, line, cwd, log, env);
    let busy = ctx.ws.tree.busy();
    let finished = supervise::run(&spec, cancel).await;
    drop(busy);
    let finished = finished.map_err(|e| (format!("`{line}` could not be started: {e}"), false))?;
    if finished.outcome == Outcome::Cancelled {
        return Err(("interrupted".into(), true));
    }
    if let Some(reason) = describe(&format!("`{line}`"), &finished) {
        return Err((with_tail(reason, log, from), false));
    }
    let mut f =
        std::fs::File::open(log).map_err(|e| (format!("cannot read the log `{}`: {e}", log.display()), false))?;
    let _ = f.seek(std::io::SeekFrom::Start(from));
    let mut buf = Vec::new();
    let _ = f.take(4 * OUTPUT_LIMIT as u64).read_to_end(&mut buf);
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// A file of the workspace; a path that leaves it (absolute, `..`, a symbolic link out) is
/// refused.
fn read_inside(cwd: &Path, rel: &str) -> Result<String, String> {
    let rel = rel.trim_start_matches("./");
    let path = Path::new(rel);
    if rel.is_empty() || path.is_absolute() || path.components().any(|c| matches!(c, std::path::Component::ParentDir)) {
        return Err(format!("`Read({rel})` names a path outside the task's workspace; only its files are read"));
    }
    let full = cwd.join(path);
    let (Ok(real), Ok(base)) = (full.canonicalize(), cwd.canonicalize()) else {
        return Err(format!("cannot read `{rel}`: no such file in the task's workspace"));
    };
    if !real.starts_with(&base) {
        return Err(format!("`Read({rel})` leads outside the task's workspace (a symbolic link); it is not read"));
    }
    let mut buf = Vec::new();
    std::fs::File::open(&real)
        .and_then(|f| f.take(4 * OUTPUT_LIMIT as u64).read_to_end(&mut buf))
        .map_err(|e| format!("cannot read `{rel}`: {e}"))?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// The workspace's files (tracked, and untracked but not ignored) that match `pattern`.
fn glob(cwd: &Path, pattern: &str) -> Result<String, String> {
    let p = Pattern::parse(pattern.trim_start_matches("./")).map_err(|e| format!("`Glob({pattern})`: {e}"))?;
    let out = std::process::Command::new("git")
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        .current_dir(cwd)
        .output()
        .map_err(|e| format!("`Glob({pattern})` needs git: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`Glob({pattern})` needs a git repository: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let mut names: Vec<String> = out
        .stdout
        .split(|b| *b == 0)
        .filter_map(|n| std::str::from_utf8(n).ok())
        .filter(|n| !n.is_empty() && p.matches(n))
        .map(str::to_owned)
        .collect();
    names.sort();
    names.dedup();
    let more = names.len().saturating_sub(GLOB_LIMIT);
    names.truncate(GLOB_LIMIT);
    let mut text = names.join("\n");
    if more > 0 {
        text.push_str(&format!("\n… and {more} more"));
    }
    text.push('\n');
    Ok(text)
}

/// `Grep(pattern)` or `Grep(pattern, path)`: `git grep -n` of the workspace (no match: empty).
fn grep(cwd: &Path, args: &str) -> Result<String, String> {
    let (pattern, path) = match args.rsplit_once(',') {
        Some((p, path)) if !path.trim().is_empty() => (p.trim(), Some(path.trim())),
        _ => (args.trim(), None),
    };
    let pattern = pattern.trim_matches(|c| c == '"' || c == '\'' || c == '`');
    let mut cmd = std::process::Command::new("git");
    cmd.args(["grep", "-n", "-I", "--untracked", "-e", pattern, "--"]).current_dir(cwd);
    if let Some(path) = path {
        cmd.arg(path.trim_matches(|c| c == '"' || c == '\'' || c == '`'));
    }
    let out = cmd.output().map_err(|e| format!("`Grep({args})` needs git: {e}"))?;
    match out.status.code() {
        Some(0) => Ok(String::from_utf8_lossy(&out.stdout).into_owned()),
        Some(1) => Ok(String::new()),
        _ => Err(format!("`Grep({args})` failed: {}", String::from_utf8_lossy(&out.stderr).trim())),
    }
}

/// `text` as one single-quoted shell word.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// A fence no run of backticks in `text` can close.
fn fence(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let f = "`".repeat(longest.max(2) + 1);
    format!("{f}text\n{text}\n{f}")
}

fn one_line(text: &str) -> String {
    let one = planrun_plan::model::one_line(text);
    keep_tail(&one, 600).to_owned()
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn quoting_and_fences_hold() {
        assert_eq!(shell_quote("a'b; rm -rf /"), "'a'\\''b; rm -rf /'");
        assert!(fence("x ```` y").starts_with("`````text"));
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.md"), "hello").unwrap();
        assert_eq!(read_inside(dir.path(), "./a.md").unwrap(), "hello");
        assert!(read_inside(dir.path(), "../etc/passwd").unwrap_err().contains("outside"));
        assert!(read_inside(dir.path(), "/etc/passwd").unwrap_err().contains("outside"));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/etc", dir.path().join("out")).unwrap();
            assert!(read_inside(dir.path(), "out/hostname").unwrap_err().contains("symbolic link"));
        }
    }
}
