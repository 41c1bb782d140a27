//! How a run shows itself: live progress on a terminal (one line per running step with its
//! phase, attempt and elapsed time, events printed above), a plain line per event otherwise, or
//! one JSON object per event with `--json`; and the question whether to start a run that will
//! cost money. A consumer of what the runner reports; decides nothing.

use crate::run::progress::{Event, Mode, Progress, Verbosity};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use rustc_hash::FxHashMap;
use std::io::{IsTerminal as _, Write as _};
use std::time::{Duration, Instant};

/// `planrun run` (and `continue`) with the progress `args` ask for.
pub(crate) fn run(args: &crate::run::options::RunOptions) -> crate::error::Outcome {
    // Live lines need a real terminal of a known size (a pseudo-terminal of size 0 would have
    // the progress lines erase the events printed above them).
    let live = !args.json
        && std::io::stderr().is_terminal()
        && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
        && console::Term::stderr().size_checked().is_some_and(|(rows, cols)| rows > 0 && cols > 0);
    Ok(crate::run::run(args, &mut Reporter::new(args.json, live))?)
}

#[derive(Debug)]
pub(crate) struct Reporter {
    mode: Mode,
    /// `--quiet` without `--json`: events and notes are not shown.
    quiet: bool,
    started: Instant,
    multi: Option<MultiProgress>,
    /// Each running step's line, and its message without the usage.
    bars: FxHashMap<(String, &'static str), (ProgressBar, String)>,
    /// The line under the steps: totals against the budget and the estimate.
    footer: Option<ProgressBar>,
}

impl Reporter {
    fn new(json: bool, live: bool) -> Self {
        let mode = if json {
            Mode::Json
        } else if live {
            Mode::Live
        } else {
            Mode::Plain
        };
        // --quiet: no progress at all, only errors and the final result.
        let quiet = crate::out::quiet() && mode != Mode::Json;
        let multi =
            (mode == Mode::Live && !quiet).then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Self { mode, quiet, started: Instant::now(), multi, bars: FxHashMap::default(), footer: None }
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn line(&self, text: &str) {
        match &self.multi {
            Some(m) => {
                let _ = m.println(text);
            }
            None => {
                let _ = writeln!(std::io::stderr(), "{text}");
            }
        }
    }
}

impl Progress for Reporter {
    fn mode(&self) -> Mode {
        self.mode
    }

    /// One event: with `--json` its line of NDJSON on stdout, otherwise its human line.
    fn event(&mut self, event: Event<'_>) {
        if self.quiet {
            return;
        }
        match self.mode {
            Mode::Json => {
                let Some(text) = event.json(self.elapsed_ms()) else { return };
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{text}");
                let _ = out.flush();
            }
            Mode::Plain => {
                let secs = self.started.elapsed().as_secs_f64();
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "[{secs:>8.2}s] {}", event.text());
            }
            Mode::Live => self.line(&event.text()),
        }
    }

    fn verbosity(&self) -> Verbosity {
        crate::out::verbosity()
    }

    /// The result: with `--json` its line, otherwise its text, on stdout even with `--quiet`.
    fn result(&mut self, event: Event<'_>) {
        match self.mode {
            Mode::Json => outln!("{}", event.json(self.elapsed_ms()).unwrap_or_default()),
            Mode::Plain | Mode::Live => outln!("{}", event.text()),
        }
    }

    /// A message for people only (not an event in `--json`): printed on stderr.
    fn note(&mut self, text: &str) {
        if self.quiet {
            return;
        }
        match self.mode {
            Mode::Live => self.line(text),
            Mode::Plain | Mode::Json => {
                let _ = writeln!(std::io::stderr(), "{text}");
            }
        }
    }

    /// A step starts: on a terminal, it gets its own line until it ends.
    fn step_started(&mut self, task: &str, step: &'static str, attempt: u32) {
        let Some(multi) = &self.multi else { return };
        let bar = multi.add(ProgressBar::new_spinner());
        let style = ProgressStyle::with_template("{spinner} {prefix:.bold} {msg} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        bar.set_style(style);
        bar.set_prefix(task.to_owned());
        let message = format!("{step} · attempt {attempt} ·");
        bar.set_message(message.clone());
        bar.enable_steady_tick(Duration::from_millis(120));
        // The footer stays the last line.
        if let (Some(footer), Some(m)) = (&self.footer, &self.multi) {
            m.remove(footer);
            let footer = m.add(footer.clone());
            self.footer = Some(footer);
        }
        self.bars.insert((task.to_owned(), step), (bar, message));
    }

    /// What a task's running steps have used so far, on their lines (a terminal only).
    fn usage(&mut self, task: &str, text: &str) {
        for ((t, _), (bar, message)) in &self.bars {
            if t == task {
                bar.set_message(format!("{message} {text} ·"));
            }
        }
    }

    /// The totals line under the running steps (a terminal only).
    fn footer(&mut self, text: &str) {
        let Some(multi) = &self.multi else { return };
        let bar = self.footer.get_or_insert_with(|| {
            let bar = multi.add(ProgressBar::new_spinner());
            let style = ProgressStyle::with_template("  {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner());
            bar.set_style(style);
            bar
        });
        bar.set_message(text.to_owned());
    }

    fn step_ended(&mut self, task: &str, step: &'static str) {
        if let Some((bar, _)) = self.bars.remove(&(task.to_owned(), step)) {
            bar.finish_and_clear();
            if let Some(m) = &self.multi {
                m.remove(&bar);
            }
        }
    }

    /// Clears the live lines before the final summary.
    fn finish(&mut self) {
        for (_, (bar, _)) in self.bars.drain() {
            bar.finish_and_clear();
        }
        if let Some(bar) = self.footer.take() {
            bar.finish_and_clear();
        }
        if let Some(m) = &self.multi {
            let _ = m.clear();
        }
    }

    /// On a terminal, asks whether to proceed; without one (or with `--json`) nobody can say.
    fn confirm(&mut self, estimate: &str) -> Option<bool> {
        if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal() && self.mode != Mode::Json) {
            return None;
        }
        if crate::out::quiet() {
            // The question needs what it is about, even with --quiet.
            errln!("planrun: {estimate}");
        }
        err!("planrun: proceed? [y/N] ");
        let mut answer = String::new();
        let _ = std::io::stdin().read_line(&mut answer);
        let yes = matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes");
        if !yes {
            errln!("planrun: not started; nothing was run");
        }
        Some(yes)
    }
}
