//! How a run shows itself: live progress on a terminal (one line per running step with its
//! phase, attempt and elapsed time, events printed above), a plain line per event otherwise, or
//! one JSON object per event with `--json` (the events are [`RunEvent`]s). A consumer of what the runner reports; decides nothing.

use super::events::{Line, RunEvent, SCHEMA_VERSION};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use rustc_hash::FxHashMap;
use std::io::Write as _;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Live,
    Plain,
    Json,
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
    pub(crate) fn new(json: bool, live: bool) -> Self {
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

    pub(crate) fn mode(&self) -> Mode {
        self.mode
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// One event: with `--json` its line of NDJSON on stdout, otherwise its human line.
    pub(crate) fn emit(&mut self, event: &RunEvent) {
        if self.quiet {
            return;
        }
        match self.mode {
            Mode::Json => {
                // Through a `Value`, whose keys are sorted: the same order as before events were typed.
                let line = Line { v: SCHEMA_VERSION, elapsed_ms: self.elapsed_ms(), event };
                let Ok(text) = serde_json::to_value(&line).map(|v| v.to_string()) else { return };
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

    /// A message for people only (not an event in `--json`): printed on stderr.
    pub(crate) fn note(&mut self, text: &str) {
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

    /// A step starts: on a terminal, it gets its own line until it ends.
    pub(crate) fn step_started(&mut self, task: &str, step: &'static str, attempt: u32) {
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
    pub(crate) fn usage(&mut self, task: &str, text: &str) {
        for ((t, _), (bar, message)) in &self.bars {
            if t == task {
                bar.set_message(format!("{message} {text} ·"));
            }
        }
    }

    /// The totals line under the running steps (a terminal only).
    pub(crate) fn footer(&mut self, text: &str) {
        let Some(multi) = &self.multi else { return };
        let bar = self.footer.get_or_insert_with(|| {
            let bar = multi.add(ProgressBar::new_spinner());
            let style = ProgressStyle::with_template("  {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner());
            bar.set_style(style);
            bar
        });
        bar.set_message(text.to_owned());
    }

    pub(crate) fn step_ended(&mut self, task: &str, step: &'static str) {
        if let Some((bar, _)) = self.bars.remove(&(task.to_owned(), step)) {
            bar.finish_and_clear();
            if let Some(m) = &self.multi {
                m.remove(&bar);
            }
        }
    }

    /// Clears the live lines before the final summary.
    pub(crate) fn finish(&mut self) {
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
}
