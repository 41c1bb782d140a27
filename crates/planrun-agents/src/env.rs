//! The environment an agent gets: not planrun's whole environment, only an allow-list of
//! variables (the basics every program needs, each agent CLI's own configuration variables, the
//! variables its configuration files name, and what the user names), so unrelated secrets in the user's shell never reach an agent, its
//! tools or its logs.

use crate::adapter::AgentKind;
use std::path::Path;

/// Variables every agent gets when they are set. A trailing `*` matches any suffix.
pub const BASE: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LANGUAGE",
    "LC_*",
    "TZ",
    "TMPDIR",
    "TERM",
    "COLORTERM",
    "NO_COLOR",
    "XDG_CONFIG_HOME",
    "XDG_CACHE_HOME",
    "XDG_DATA_HOME",
    "XDG_STATE_HOME",
    "XDG_RUNTIME_DIR",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "NODE_EXTRA_CA_CERTS",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "all_proxy",
    "GIT_AUTHOR_NAME",
    "GIT_AUTHOR_EMAIL",
    "GIT_COMMITTER_NAME",
    "GIT_COMMITTER_EMAIL",
];

const CLAUDE: &[&str] = &[
    "ANTHROPIC_*",
    "CLAUDE_*",
    "IS_SANDBOX",
    "DISABLE_TELEMETRY",
    "DISABLE_AUTOUPDATER",
    "DISABLE_ERROR_REPORTING",
    "DISABLE_NON_ESSENTIAL_MODEL_CALLS",
];
const CODEX: &[&str] = &["CODEX_*", "OPENAI_*"];
const GEMINI: &[&str] = &["GEMINI_*", "GOOGLE_*"];
const OPENCODE: &[&str] =
    &["OPENCODE_*", "ANTHROPIC_*", "OPENAI_*", "GEMINI_*", "GOOGLE_*", "OPENROUTER_*", "npm_config_*"];

/// Each agent CLI's own configuration variables. A command agent often wraps one of the CLIs:
/// it gets all of their variables.
pub fn own(kind: AgentKind) -> Vec<&'static str> {
    match kind {
        AgentKind::Claude => CLAUDE.to_vec(),
        AgentKind::Codex => CODEX.to_vec(),
        AgentKind::Gemini => GEMINI.to_vec(),
        AgentKind::Opencode => OPENCODE.to_vec(),
        AgentKind::Command => [CLAUDE, CODEX, GEMINI, OPENCODE].concat(),
    }
}

/// Whether `name` matches `pattern` (exact, or a prefix when the pattern ends with `*`).
pub fn matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => name == pattern,
    }
}

/// The variables of `from` that `kind`'s agent may see: the base list, the CLI's own, and
/// `extra` (names or `PREFIX*` patterns the user configured). Variables that are not valid
/// Unicode are left out. The CLI's user-level configuration is read too (see [`allowed_in`]).
pub fn allowed<I>(kind: AgentKind, extra: &[String], from: I) -> Vec<(String, String)>
where
    I: IntoIterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
{
    allowed_in(kind, extra, from, None)
}

/// [`allowed`], plus the variables the CLI's own configuration names (a custom provider's
/// `env_key`, opencode's `{env:NAME}`, …; see [`crate::config`]): its user-level files, and the
/// project's in `workspace` (where the agent runs).
pub fn allowed_in<I>(kind: AgentKind, extra: &[String], from: I, workspace: Option<&Path>) -> Vec<(String, String)>
where
    I: IntoIterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
{
    with_secrets(kind, extra, from, workspace).0
}

/// The values among [`allowed_in`]'s that are secrets: by the variable's name
/// ([`crate::redact::is_secret_name`]), or because the CLI's configuration reads it as a
/// credential (a provider's `env_key`, whatever its name).
pub fn secret_values<I>(kind: AgentKind, extra: &[String], from: I, workspace: Option<&Path>) -> Vec<String>
where
    I: IntoIterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
{
    let (vars, secret, set) = with_secrets(kind, extra, from, workspace);
    vars.into_iter()
        .filter(|(k, _)| crate::redact::is_secret_name(k) || secret.iter().any(|s| s == k))
        .map(|(_, v)| v)
        .chain(set)
        .collect()
}

/// The allowed variables, the names the configuration reads as credentials, and the secret
/// values its files set themselves.
fn with_secrets<I>(
    kind: AgentKind,
    extra: &[String],
    from: I,
    workspace: Option<&Path>,
) -> (Vec<(String, String)>, Vec<String>, Vec<String>)
where
    I: IntoIterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
{
    let all: Vec<(String, String)> =
        from.into_iter().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))).collect();
    let lookup = |name: &str| all.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let found = crate::config::read(kind, &lookup, workspace);
    let configured: Vec<&str> = found.passed().collect();
    let secret: Vec<String> = found.named.iter().filter(|n| n.secret).map(|n| n.name.clone()).collect();
    let own = own(kind);
    let mut out: Vec<(String, String)> = all
        .iter()
        .filter(|(k, _)| {
            BASE.iter().chain(&own).any(|p| matches(p, k))
                || extra.iter().any(|p| matches(p, k))
                || configured.iter().any(|p| matches(p, k))
        })
        .cloned()
        .collect();
    out.sort();
    (out, secret, found.set_secrets.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn vars(list: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        list.iter().map(|(k, v)| (OsString::from(k), OsString::from(v))).collect()
    }

    #[test]
    fn only_allowed_variables_pass() {
        let from = vars(&[
            ("PATH", "/bin"),
            ("HOME", "/h"),
            ("ANTHROPIC_API_KEY", "k1"),
            ("OPENAI_API_KEY", "k2"),
            ("AWS_SECRET_ACCESS_KEY", "k3"),
            ("LC_ALL", "C"),
            ("MY_TOOL_HOME", "/t"),
        ]);
        let names = |kind, extra: &[String]| -> Vec<String> {
            allowed(kind, extra, from.clone()).into_iter().map(|(k, _)| k).collect()
        };
        assert_eq!(names(AgentKind::Claude, &[]), ["ANTHROPIC_API_KEY", "HOME", "LC_ALL", "PATH"]);
        assert_eq!(names(AgentKind::Codex, &[]), ["HOME", "LC_ALL", "OPENAI_API_KEY", "PATH"]);
        assert_eq!(
            names(AgentKind::Gemini, &["MY_TOOL_*".into(), "AWS_SECRET_ACCESS_KEY".into()]),
            ["AWS_SECRET_ACCESS_KEY", "HOME", "LC_ALL", "MY_TOOL_HOME", "PATH"]
        );
    }

    #[test]
    fn claude_on_a_cloud_gets_that_clouds_credentials() {
        let home = tempfile::tempdir().unwrap();
        let h = home.path().display().to_string();
        let base =
            [("PATH", "/bin"), ("HOME", h.as_str()), ("AWS_REGION", "eu-west-1"), ("AWS_SECRET_ACCESS_KEY", "k3")];
        let mut on = base.to_vec();
        on.extend([("CLAUDE_CODE_USE_VERTEX", "1"), ("VERTEX_REGION_CLAUDE_4_0_OPUS", "europe-west1")]);
        on.push(("CLAUDE_CODE_USE_BEDROCK", "1"));
        let names = |list: &[(&str, &str)]| -> Vec<String> {
            allowed(AgentKind::Claude, &[], vars(list)).into_iter().map(|(k, _)| k).collect()
        };
        assert_eq!(names(&base), ["HOME", "PATH"]);
        assert_eq!(
            names(&on),
            [
                "AWS_REGION",
                "AWS_SECRET_ACCESS_KEY",
                "CLAUDE_CODE_USE_BEDROCK",
                "CLAUDE_CODE_USE_VERTEX",
                "HOME",
                "PATH",
                "VERTEX_REGION_CLAUDE_4_0_OPUS"
            ]
        );
        // The secret key's value is redacted wherever it shows.
        assert!(secret_values(AgentKind::Claude, &[], vars(&on), None).contains(&"k3".to_owned()));
        // Codex is not Claude Code: no AWS variable.
        let codex: Vec<String> = allowed(AgentKind::Codex, &[], vars(&on)).into_iter().map(|(k, _)| k).collect();
        assert_eq!(codex, ["HOME", "PATH"]);
    }
}
