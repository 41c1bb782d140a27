//! What to tell the user when a model provider's error stopped a run: for a configuration
//! problem (a key variable that is not set, a refused key, an unknown model or provider), what
//! to fix and where; for a passing one (rate limit, overload, server error, network), that
//! running the same command again resumes. Variables are named, never their values.

use planrun_agents::AgentKind;
use planrun_agents::config::{self, Named};
use planrun_agents::provider::{self, ErrorClass};
use std::path::Path;

/// The heading and the advice for a provider's error.
#[derive(Debug)]
pub(crate) struct Advice {
    pub(crate) class: ErrorClass,
    /// What stopped the run, after "stopped by".
    pub(crate) what: &'static str,
    pub(crate) help: String,
}

const NOT_LOST: &str = "nothing was lost and the task is not counted as failed";

/// The advice for `reason` (a step's reason, "the agent (codex) stopped on an error from its
/// model provider: …"), with the configuration files of the agent as seen from `workspace`.
pub(crate) fn advice(reason: &str, workspace: &Path) -> Advice {
    let class = provider::classify(reason);
    match class {
        ErrorClass::Transient => Advice {
            class,
            what: "the model provider",
            help: format!(
                "{NOT_LOST}; when the provider works again (rate limits lift, the service is back), run the same command to resume"
            ),
        },
        ErrorClass::Unclear => Advice {
            class,
            what: "the model provider",
            help: format!(
                "{NOT_LOST}; its words do not say whether this passes: if they name a key, a model or a setting, fix that first; if it was a passing fault, run the same command to resume"
            ),
        },
        ErrorClass::Config => Advice { class, what: "a configuration problem", help: config_help(reason, workspace) },
    }
}

/// The agent a step's reason names (`the agent (codex) …`).
fn agent_of(reason: &str) -> AgentKind {
    reason
        .split_once("the agent (")
        .and_then(|(_, rest)| rest.split_once(')'))
        .and_then(|(name, _)| name.parse().ok())
        .unwrap_or(AgentKind::Command)
}

fn config_help(reason: &str, workspace: &Path) -> String {
    let kind = agent_of(reason);
    let env = |k: &str| std::env::var(k).ok();
    let found = config::read(kind, &env, Some(workspace));
    let tail = format!("this does not pass by waiting: fix it first; {NOT_LOST}");
    let where_named = |n: &Named| format!("`{}` in {}", n.at, n.file.display());
    if let Some(var) = provider::missing_variable(reason) {
        let set_here = std::env::var_os(&var).is_some_and(|v| !v.is_empty());
        return match found.named.iter().find(|n| n.name == var && !n.sets) {
            Some(n) if !set_here => format!(
                "`{var}` is not set: {} names it as the agent's key; set `{var}` in the environment you start planrun from (planrun passes the variables the CLI's configuration names), or change that file; {tail}",
                where_named(n)
            ),
            Some(n) => format!(
                "`{var}` is set here but the agent did not get it although {} names it; pass it with `--pass-env {var}` and check that file; {tail}",
                where_named(n)
            ),
            None if set_here => format!(
                "`{var}` is set here but the agent does not see it: pass it with `--pass-env {var}` (or `pass_env` in planrun.toml); {tail}"
            ),
            None => format!(
                "`{var}` is not set: set it in the environment you start planrun from (and pass it with `--pass-env {var}` unless the CLI's configuration names it); {tail}"
            ),
        };
    }
    let files = if found.files.is_empty() {
        format!("no configuration file of {} was found", kind_name(kind))
    } else {
        let list: Vec<String> = found.files.iter().map(|f| f.display().to_string()).collect();
        format!("its configuration: {}", list.join(", "))
    };
    let keys: Vec<String> = found
        .named
        .iter()
        .filter(|n| n.secret && !n.sets)
        .map(|n| {
            let set = std::env::var_os(&n.name).is_some_and(|v| !v.is_empty());
            format!("`{}` ({}, {})", n.name, where_named(n), if set { "set" } else { "not set" })
        })
        .collect();
    let lower = reason.to_ascii_lowercase();
    let refused = ["401", "403", "unauthori", "forbidden", "api key", "api_key", "authentication", "permission"]
        .iter()
        .any(|w| lower.contains(w));
    if refused {
        let which =
            if keys.is_empty() { String::new() } else { format!(" (the configuration names {})", keys.join(", ")) };
        format!(
            "the provider refused the agent's credentials: check its key{which} or its login, and that the key may use this model; {files}; {tail}"
        )
    } else if lower.contains("model") || lower.contains("provider") {
        format!(
            "the model or provider is not known where the agent sends it: check `--model` (or `model` in planrun.toml) and the provider settings; {files}; {tail}"
        )
    } else {
        format!("fix what the message names; {files}; {tail}")
    }
}

fn kind_name(kind: AgentKind) -> String {
    match kind {
        AgentKind::Command => "the agent CLIs".into(),
        k => format!("`{k}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_passing_errors_advise_running_again() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let resume = "run the same command to resume";
        let transient = advice(
            "the agent (codex) stopped on an error from its model provider: 503 Service Unavailable",
            dir.path(),
        );
        assert_eq!(transient.class, ErrorClass::Transient);
        assert!(transient.help.contains(resume), "{}", transient.help);
        for reason in [
            "the agent (codex) stopped on an error from its model provider: Missing environment variable: `PLANRUN_TEST_UNSET_KEY`.",
            "the agent (claude) stopped on an error from its model provider: Invalid API key (HTTP 401)",
            "the agent (gemini) stopped on an error from its model provider: models/nope is not found",
        ] {
            let a = advice(reason, dir.path());
            assert_eq!(a.class, ErrorClass::Config, "{reason}");
            assert!(!a.help.contains(resume) && !a.help.contains("works again"), "{}", a.help);
            assert!(a.help.contains("does not pass by waiting"), "{}", a.help);
        }
        let missing = advice(
            "the agent (codex) stopped on an error from its model provider: Missing environment variable: `PLANRUN_TEST_UNSET_KEY`.",
            dir.path(),
        );
        assert!(missing.help.starts_with("`PLANRUN_TEST_UNSET_KEY` is not set"), "{}", missing.help);
    }

    #[test]
    fn the_agent_is_read_from_the_reason() {
        assert_eq!(agent_of("the agent (opencode) stopped on an error"), AgentKind::Opencode);
        assert_eq!(agent_of("a reviewer stopped on an error from its model provider: x"), AgentKind::Command);
        assert_eq!(agent_of("the agent (nonsense"), AgentKind::Command);
    }
}
