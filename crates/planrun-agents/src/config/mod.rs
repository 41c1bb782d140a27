//! The environment variables each agent CLI's own configuration names, read from its real
//! configuration files: Codex's `env_key` (and `env_http_headers`, MCP servers' `env_vars` and
//! `bearer_token_env_var`) in `CODEX_HOME/config.toml`; opencode's `{env:NAME}` references in
//! `opencode.json`/`opencode.jsonc`; Gemini CLI's `$NAME`/`${NAME}` references in its
//! `settings.json` files (and the variables its `.env` files set); Claude Code's
//! `apiKeyHelper` (and the other helper commands') `$NAME` references and its `env` block.
//!
//! A configured provider reads its key from the variable its configuration names, so the agent
//! must see that variable without `--pass-env`. A file that cannot be read as its CLI reads it
//! is a [`Problem`] with its line; nothing is guessed from it.

use crate::adapter::AgentKind;
use std::path::{Path, PathBuf};

mod claude;
mod codex;
mod gemini;
mod opencode;
mod shared;
#[cfg(test)]
mod tests;

use claude::claude;
use codex::codex;
pub use codex::codex_provider;
use gemini::gemini;
pub use gemini::{dollar_refs, dotenv_names};
use opencode::opencode;
pub use opencode::opencode_refs;
use shared::Ctx;

/// A variable a configuration file names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    /// The variable, as the file spells it.
    pub name: String,
    /// The file (or `OPENCODE_CONFIG_CONTENT`).
    pub file: PathBuf,
    /// Where in the file: a key path such as `model_providers.gw.env_key`.
    pub at: String,
    /// The CLI reads this variable's value as a credential (a key, a token, an auth header):
    /// redacted wherever it appears, whatever its name.
    pub secret: bool,
    /// The CLI cannot call its model without it (the selected Codex provider's `env_key`).
    pub required: bool,
    /// Named by a file inside the repository the agent works in (`.codex/config.toml`,
    /// `opencode.json`, `.gemini/settings.json`, …): a repository cloned from anyone could name
    /// any variable there, so planrun does not pass it on its own; `--pass-env NAME` does.
    pub project: bool,
    /// The file gives the variable its value itself (Claude Code's `env` block, a `.env` file
    /// Gemini CLI loads): the agent gets it from there, planrun need not pass it.
    pub sets: bool,
}

/// A configuration file that cannot be read as its CLI reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    /// 1-based, when the parser knows it.
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}: {}", self.file.display(), self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// What one CLI's configuration names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    pub named: Vec<Named>,
    pub problems: Vec<Problem>,
    /// The configuration files that exist and were read.
    pub files: Vec<PathBuf>,
    /// The cloud Claude Code calls its model through instead of Anthropic's API, when the
    /// environment or the user's own settings switch one on: `Bedrock` or `Vertex AI`.
    pub cloud: Option<&'static str>,
    /// The values of the secret variables the files set themselves (Claude Code's `env` block,
    /// Gemini CLI's `.env`): the agent has them without planrun, so planrun redacts them too.
    pub set_secrets: SetSecrets,
}

/// Secret values, never shown by `Debug`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SetSecrets(pub Vec<String>);

impl std::fmt::Debug for SetSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SetSecrets({} value(s), not shown)", self.0.len())
    }
}

impl Found {
    /// The names planrun passes on: those the CLI reads from its environment, named by the
    /// user's own files (not the repository's: see [`Named::project`]).
    pub fn passed(&self) -> impl Iterator<Item = &str> {
        self.named.iter().filter(|n| !n.sets && !n.project).map(|n| n.name.as_str())
    }

    fn merge(&mut self, other: Found) {
        self.named.extend(other.named);
        self.problems.extend(other.problems);
        self.files.extend(other.files);
        self.cloud = self.cloud.or(other.cloud);
        self.set_secrets.0.extend(other.set_secrets.0);
    }
}

/// The variables `kind`'s configuration names. `env` is the environment the CLI will be
/// started from (it decides where the files are: `HOME`, `CODEX_HOME`, `XDG_CONFIG_HOME`,
/// `OPENCODE_CONFIG`, …); `workspace` is the folder it runs in (project configuration), if any.
/// The command agent often wraps one of the CLIs: it gets what all four name.
pub fn read(kind: AgentKind, env: &dyn Fn(&str) -> Option<String>, workspace: Option<&Path>) -> Found {
    let home = env("HOME").filter(|h| !h.is_empty()).map(PathBuf::from);
    let ctx = Ctx { env, home: home.as_deref(), workspace };
    let mut found = match kind {
        AgentKind::Codex => codex(&ctx),
        AgentKind::Opencode => opencode(&ctx),
        AgentKind::Gemini => gemini(&ctx),
        AgentKind::Claude => claude(&ctx),
        AgentKind::Command => {
            let mut all = Found::default();
            for f in [codex, opencode, gemini, claude] {
                all.merge(f(&ctx));
            }
            all
        }
    };
    // A folder that holds the home folder (a home kept in git) is not a project: the user's own
    // files are in it.
    let project: Vec<PathBuf> =
        ctx.project_dirs().into_iter().filter(|d| ctx.home.is_none_or(|h| !h.starts_with(d))).collect();
    for n in &mut found.named {
        n.project = project.iter().any(|d| n.file.starts_with(d));
    }
    // A cloud switched on by the repository's own files alone does not count (see `project`).
    if found.cloud.is_some() && !found.named.iter().any(|n| n.at.contains("Claude Code on") && !n.project) {
        found.cloud = None;
    }
    found
}
