//! How a run shows itself, as the runner sees it: a [`Progress`] receives the run's events, its
//! notes for people and the start and end of each step, and asks the user to confirm an
//! estimate. The binary's implementation draws live lines on a terminal, a plain line per event
//! otherwise, or one JSON object per event with `--json`. A consumer of what the runner
//! reports; decides nothing.

pub use crate::console::Verbosity;
use crate::events::{Line, RunEvent, SCHEMA_VERSION};

/// How the run's progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A line per running step on a terminal, events printed above them.
    Live,
    /// A line per event.
    Plain,
    /// `--json`: one JSON object per event on stdout.
    Json,
}

/// One event of a run, as shown to people or as a line of `--json`.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a>(pub(crate) &'a RunEvent);

impl Event<'_> {
    /// Its human line.
    pub fn text(&self) -> String {
        self.0.text()
    }

    /// Its line of `planrun run --json` (without the newline), `elapsed_ms` after the start.
    pub fn json(&self, elapsed_ms: u64) -> Option<String> {
        // Through a `Value`, whose keys are sorted: the same order as before events were typed.
        let line = Line { v: SCHEMA_VERSION, elapsed_ms, event: self.0 };
        serde_json::to_value(&line).map(|v| v.to_string()).ok()
    }
}

/// Where a run reports what it does.
pub trait Progress {
    /// How it shows the run.
    fn mode(&self) -> Mode;
    /// One event.
    fn event(&mut self, event: Event<'_>);
    /// How much to say (`--quiet`, `--verbose`).
    fn verbosity(&self) -> Verbosity;
    /// The run's last event, its result: on standard output, as its JSON line with `--json`,
    /// otherwise as its text (even with `--quiet`).
    fn result(&mut self, event: Event<'_>);
    /// A message for people only (not an event in `--json`).
    fn note(&mut self, text: &str);
    /// A step starts.
    fn step_started(&mut self, task: &str, step: &'static str, attempt: u32);
    /// A step ended.
    fn step_ended(&mut self, task: &str, step: &'static str);
    /// What a task's running steps have used so far.
    fn usage(&mut self, task: &str, text: &str);
    /// The totals line under the running steps.
    fn footer(&mut self, text: &str);
    /// Clears what is drawn before the final summary or an error.
    fn finish(&mut self);
    /// Asks the user whether to start the run whose estimate (`estimate`, its text) was just
    /// shown: `None` when there is nobody to ask (no terminal, `--json`).
    fn confirm(&mut self, estimate: &str) -> Option<bool>;
}

impl dyn Progress + '_ {
    /// One event of the run.
    pub(crate) fn emit(&mut self, event: &RunEvent) {
        self.event(Event(event));
    }
}
