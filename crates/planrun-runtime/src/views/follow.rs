//! Watching a run from outside while it goes on: `planrun status --watch` (the status again
//! every second until the run ends) and `planrun log TASK --follow` (the running step's log as
//! it grows, into the next steps and attempts, until the task ends). Both only read: the journal
//! replayed again on each look, and the logs from where they were left.

use crate::console::Console;
use crate::options::{LogOptions, StatusOptions};
use crate::session::{Session, StepRecord};
use crate::{Error, exit};
use planrun_engine::TaskState;
use std::collections::HashMap;
use std::io::{Read as _, Seek as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How often `status --watch` looks again.
const WATCH_EVERY: Duration = Duration::from_secs(1);
/// How often `log --follow` looks again.
const FOLLOW_EVERY: Duration = Duration::from_millis(250);
/// Looks in a row that may fail (a plan file being rewritten at the end of a run) before the
/// error is reported.
const RETRIES: u32 = 8;

/// Opens the run again for the next look; after the first, a failure is retried a few times.
fn reopen(plan: Option<&Path>, state: &crate::options::StateOptions) -> Result<Session, Error> {
    let mut tries = 0;
    loop {
        match crate::session::read(plan, state) {
            Ok(s) => return Ok(s),
            Err(e) if tries >= RETRIES => return Err(e.into()),
            Err(_) => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// `planrun status --watch`: on a terminal the screen is redrawn every second; otherwise a
/// block (or a JSON object) is printed each time what it shows changed. Ends once no run holds
/// the state directory, after showing how it ended.
pub(crate) fn watch(args: &StatusOptions, console: &mut Console<'_>) -> Result<u8, Error> {
    let redraw = !args.json && console.is_terminal();
    let mut s = crate::session::read(args.plan.as_deref(), &args.state)?;
    let mut last: Option<String> = None;
    loop {
        let active = crate::session::running(&s);
        let block = if args.json {
            format!("{}\n", super::status_json(&s, active))
        } else {
            super::status_text(&s, active, console.verbosity())
        };
        if redraw {
            // Home, clear the screen, then the status.
            console.print(&format!("\x1b[H\x1b[2J{block}"));
        } else if last.as_deref() != Some(block.as_str()) {
            if args.json {
                console.print(&block);
            } else {
                console.print(&format!("{block}--\n"));
            }
        }
        last = Some(block);
        if active.is_none() {
            return Ok(exit::OK);
        }
        drop(s);
        std::thread::sleep(WATCH_EVERY);
        s = reopen(args.plan.as_deref(), &args.state)?;
    }
}

/// Prints what `path` holds past `offsets[path]`, and moves the offset to its end. A log that
/// does not exist (yet) prints nothing.
fn drain(path: &Path, offsets: &mut HashMap<PathBuf, u64>, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let offset = offsets.entry(path.to_path_buf()).or_insert(0);
    let Ok(mut file) = std::fs::File::open(path) else { return Ok(()) };
    file.seek(std::io::SeekFrom::Start(*offset))?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        out.write_all(buf.get(..n).unwrap_or_default())?;
        *offset += n as u64;
    }
    out.flush()
}

/// The logs a running step writes (the reviews side by side each have their own).
fn running_logs(s: &Session, id: &str, attempt: u32, step: &str) -> Vec<PathBuf> {
    let names: Vec<&str> = match step {
        "review" => vec!["task-review", "code-review", "review"],
        other => vec![other],
    };
    names.into_iter().map(|n| s.layout.attempt_log(id, attempt, n)).collect()
}

/// `planrun log TASK --follow`.
pub(crate) fn follow(args: &LogOptions, s: Session, task: usize, out: &mut dyn std::io::Write) -> Result<u8, Error> {
    match follow_into(args, s, task, out) {
        Ok(code) => code,
        // The reader went away (`| head`): nothing more to show.
        Err(e) if crate::console::is_closed_pipe(&e) => Ok(exit::OK),
        Err(e) => Err(Error::WriteLog(e)),
    }
}

fn follow_into(
    args: &LogOptions,
    mut s: Session,
    task: usize,
    out: &mut dyn std::io::Write,
) -> std::io::Result<Result<u8, Error>> {
    let id = s.id(task).to_owned();
    let wanted = |attempt: u32| args.attempt.is_none_or(|a| a == attempt);
    // How far each log has been printed; the recorded steps already shown; the running step
    // whose heading is shown.
    let mut offsets: HashMap<PathBuf, u64> = HashMap::new();
    let mut shown = 0;
    let mut heading: Option<(u32, &'static str)> = None;
    writeln!(out, "{}", super::log_title(&s, task))?;
    loop {
        let records: Vec<StepRecord> =
            s.steps.get(&id).into_iter().flatten().filter(|r| wanted(r.attempt)).cloned().collect();
        for r in records.iter().skip(shown) {
            let logs = super::step_logs(&s, &id, r.attempt, &r.step);
            if logs.iter().any(|l| offsets.contains_key(l)) {
                // Followed while it ran: its rest, then how it ended.
                for log in &logs {
                    drain(log, &mut offsets, out)?;
                }
                write!(out, "{}", super::step_text(&s, &id, r))?;
            } else {
                write!(out, "{}", super::step_text(&s, &id, r))?;
                for log in &logs {
                    writeln!(out, "   log: {}", log.display())?;
                    if !args.summary {
                        drain(log, &mut offsets, out)?;
                    }
                }
            }
        }
        shown = records.len();
        let running = super::running_step(&s, task).filter(|(a, _)| wanted(*a));
        if let Some((attempt, step)) = running {
            if heading != Some((attempt, step)) {
                writeln!(out, "\n── attempt {attempt} · {step} · running")?;
                heading = Some((attempt, step));
            }
            for log in running_logs(&s, &id, attempt, step) {
                let known = offsets.contains_key(&log);
                if !known && !log.is_file() {
                    continue;
                }
                if !known {
                    writeln!(out, "   log: {}", log.display())?;
                }
                if args.summary {
                    // Only its place: it counts as shown.
                    offsets.insert(log.clone(), std::fs::metadata(&log).map_or(0, |m| m.len()));
                } else {
                    drain(&log, &mut offsets, out)?;
                }
            }
        }
        let ended =
            matches!(s.engine.state(task), Some(TaskState::Done | TaskState::Blocked { .. } | TaskState::Skipped));
        // A task still marked running when no run is going on waits for one (a paused or
        // interrupted run): nothing more will be written until then.
        if ended || crate::session::running(&s).is_none() {
            let state = s.engine.state(task).map_or("pending", TaskState::name);
            writeln!(out, "\ntask {id} is {state}{}", if ended { "" } else { "; no run is going on" })?;
            out.flush()?;
            return Ok(Ok(exit::OK));
        }
        drop(s);
        std::thread::sleep(FOLLOW_EVERY);
        s = match reopen(args.task.plan.as_deref(), &args.task.state) {
            Ok(s) => s,
            Err(e) => return Ok(Err(e)),
        };
    }
}
