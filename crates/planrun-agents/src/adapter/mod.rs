//! The agent CLIs planrun drives headless, and what they print: for each of `claude`, `codex`,
//! `gemini` and `opencode`, the argv that passes the prompt, runs without interactive approval,
//! chooses the model and resumes a session; and a reader that turns its JSON-lines event stream
//! into one normalized [`Event`] type (text, tool use, usage, cost, session id, final answer,
//! error), folded into a [`Report`]. The `command` agent is the user's own template instead.
//! Spawning and supervising are `supervise`'s; this module only builds words and reads lines.

use serde::Serialize;
use std::fmt;
use std::str::FromStr;

mod argv;
mod event;
mod notices;
mod reader;
#[cfg(test)]
mod tests;

pub use argv::{Call, MAX_PROMPT_ARG, argv, claude_permissions};
pub use event::{Event, Report, Usage};
pub use notices::notices;
pub use reader::{Reader, gemini_session_kept};

/// Which agent runs a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentKind {
    /// The user's own `--agent-command` template.
    Command,
    Claude,
    Codex,
    Gemini,
    Opencode,
}

impl AgentKind {
    /// Every agent, in the order `--help` and `doctor` list them.
    pub const ALL: [AgentKind; 5] =
        [AgentKind::Claude, AgentKind::Codex, AgentKind::Gemini, AgentKind::Opencode, AgentKind::Command];

    /// The name used on the command line and in `planrun.toml`.
    pub fn name(self) -> &'static str {
        match self {
            AgentKind::Command => "command",
            AgentKind::Claude => "claude",
            AgentKind::Codex => "codex",
            AgentKind::Gemini => "gemini",
            AgentKind::Opencode => "opencode",
        }
    }

    /// The program a CLI agent runs (looked up in PATH); `None` for the command agent.
    pub fn program(self) -> Option<&'static str> {
        match self {
            AgentKind::Command => None,
            other => Some(other.name()),
        }
    }

    /// The npm package a CLI agent comes from, for the install hint.
    pub fn package(self) -> Option<&'static str> {
        match self {
            AgentKind::Command => None,
            AgentKind::Claude => Some("@anthropic-ai/claude-code"),
            AgentKind::Codex => Some("@openai/codex"),
            AgentKind::Gemini => Some("@google/gemini-cli"),
            AgentKind::Opencode => Some("opencode-ai"),
        }
    }

    /// Whether the CLI reports token usage summed over a whole session (so a resumed session's
    /// report includes the earlier runs), rather than per run.
    pub fn cumulative_usage(self) -> bool {
        self == AgentKind::Codex
    }
}

impl fmt::Display for AgentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for AgentKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AgentKind::ALL.into_iter().find(|k| k.name() == s).ok_or_else(|| {
            format!(
                "unknown agent `{s}`; known: {}",
                AgentKind::ALL.iter().map(|k| k.name()).collect::<Vec<_>>().join(", ")
            )
        })
    }
}
