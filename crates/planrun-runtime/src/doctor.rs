//! `planrun doctor`'s findings: for each agent CLI, whether it is installed (and where), its
//! version, whether it starts, where its model endpoint is and whether that answers, whether it
//! has credentials, and with `--probe` one real headless run of a one-line prompt through the
//! same argv, environment and event reader `planrun run` uses. Each problem says what to fix.
//! The binary shows them.

use crate::options::DoctorOptions;
use planrun_agents::adapter::{self, AgentKind, Call};
use planrun_agents::supervise::{self, Outcome, Spec};
use planrun_agents::{Reader, Redactor};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// What doctor found about one agent.
#[derive(Debug, Default)]
pub struct Finding {
    pub name: &'static str,
    pub path: Option<PathBuf>,
    pub version: Option<String>,
    pub endpoint: Option<String>,
    pub reachable: Option<bool>,
    pub credentials: Option<String>,
    /// The variables the CLI's configuration files name (names only, never values).
    pub config: Vec<Value>,
    pub probe: Option<Value>,
    pub problems: Vec<String>,
    pub notes: Vec<String>,
}

/// What doctor finds about each of `kinds`, looked at from `cwd`.
pub fn findings(kinds: &[AgentKind], args: &DoctorOptions, cwd: &Path) -> Result<Vec<Finding>, crate::Error> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(crate::Error::Runtime)?;
    let found = kinds.iter().map(|&k| runtime.block_on(check(k, args, cwd))).collect();
    // Not waiting for an output copy a leftover process keeps blocked on its pipe.
    runtime.shutdown_background();
    Ok(found)
}

async fn check(kind: AgentKind, args: &DoctorOptions, cwd: &Path) -> Finding {
    let name = kind.name();
    let mut f = Finding { name, ..Finding::default() };
    let program = kind.program().unwrap_or(name);
    f.path = crate::find_program(program, cwd);
    let Some(path) = f.path.clone() else {
        let pkg = kind.package().unwrap_or(name);
        f.problems.push(format!("`{program}` is not in PATH: install it with `npm install -g {pkg}`"));
        return f;
    };
    match version(&path).await {
        Ok(v) => f.version = Some(v),
        Err(e) => f.problems.push(format!("`{program} --version` failed ({e}): reinstall it")),
    }
    let (endpoint, cred) = endpoint_and_credentials(kind, cwd);
    if let Some(url) = &endpoint {
        match host_port(url) {
            Some((host, port)) => {
                let answers = reachable(&host, port).await;
                f.reachable = Some(answers);
                if !answers {
                    f.problems.push(format!(
                        "nothing answers at {host}:{port}: check the network, a proxy (HTTPS_PROXY), or the base URL"
                    ));
                }
            }
            None => f.problems.push(format!("the endpoint `{url}` is not a URL planrun can read")),
        }
    }
    f.endpoint = endpoint;
    match cred {
        Ok(c) => f.credentials = Some(c),
        Err(help) => f.problems.push(help),
    }
    configured(kind, cwd, &mut f);
    let root = nix::unistd::geteuid().is_root();
    let sandbox = std::env::var("IS_SANDBOX").is_ok_and(|v| v == "1");
    f.notes.extend(adapter::notices(kind, &Call { root, sandbox, ..Call::default() }));
    if args.probe && !f.problems.is_empty() {
        f.notes.push("probe skipped: fix the problems below first".into());
    } else if args.probe {
        let probe = probe(kind, args, root, sandbox).await;
        if probe.get("ok") != Some(&Value::Bool(true)) {
            f.problems.push(format!(
                "the probe run failed: {}; its output is in the `log` field of --json",
                probe.get("error").and_then(Value::as_str).unwrap_or("?")
            ));
        }
        f.probe = Some(probe);
    }
    f
}

/// The first line `PROGRAM --version` prints.
async fn version(path: &Path) -> Result<String, String> {
    let run = tokio::process::Command::new(path)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .map_err(|_| "no answer in 30s".to_owned())?
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("{}", out.status));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_owned())
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn home() -> PathBuf {
    PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
}

/// Where the CLI will send its requests, and where its credentials come from (or what to do
/// when it has none).
fn endpoint_and_credentials(kind: AgentKind, cwd: &Path) -> (Option<String>, Result<String, String>) {
    let found = |what: &str| Ok(format!("{what} (value not shown)"));
    match kind {
        AgentKind::Claude if cloud(kind, cwd).is_some() => {
            // Claude Code on Bedrock or Vertex AI: the cloud's own credentials, found by its SDK.
            let cred = match cloud(kind, cwd) {
                Some("Bedrock") => {
                    let set =
                        ["AWS_BEARER_TOKEN_BEDROCK", "AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE"]
                            .into_iter()
                            .find(|k| var(k).is_some());
                    match set {
                        Some(k) => found(&format!("Claude Code on Bedrock: {k} is set")),
                        None if home().join(".aws/credentials").is_file() || home().join(".aws/config").is_file() => {
                            Ok("Claude Code on Bedrock: the AWS files in ~/.aws".into())
                        }
                        None => Err("Claude Code on Bedrock (CLAUDE_CODE_USE_BEDROCK) finds no AWS credentials: set \
                                     AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or log in with `aws sso login`"
                            .into()),
                    }
                }
                _ => {
                    let adc = var("CLOUDSDK_CONFIG")
                        .map_or_else(|| home().join(".config/gcloud"), PathBuf::from)
                        .join("application_default_credentials.json");
                    if var("GOOGLE_APPLICATION_CREDENTIALS").is_some() {
                        found("Claude Code on Vertex AI: GOOGLE_APPLICATION_CREDENTIALS is set")
                    } else if adc.is_file() {
                        Ok(format!("Claude Code on Vertex AI: {}", adc.display()))
                    } else {
                        Err("Claude Code on Vertex AI (CLAUDE_CODE_USE_VERTEX) finds no Google credentials: set \
                             GOOGLE_APPLICATION_CREDENTIALS, or run `gcloud auth application-default login`"
                            .into())
                    }
                }
            };
            (None, cred)
        }
        AgentKind::Claude => {
            let url = var("ANTHROPIC_BASE_URL").unwrap_or_else(|| "https://api.anthropic.com".into());
            let cred = if var("ANTHROPIC_API_KEY").is_some() {
                found("ANTHROPIC_API_KEY is set")
            } else if var("ANTHROPIC_AUTH_TOKEN").is_some() || var("CLAUDE_CODE_OAUTH_TOKEN").is_some() {
                found("a token variable is set")
            } else if let Some(c) = from_config(kind, cwd, &["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"]) {
                Ok(c)
            } else if home().join(".claude/.credentials.json").is_file() || home().join(".claude.json").is_file() {
                Ok("Claude Code's own login (~/.claude)".into())
            } else {
                Err("no credentials: set ANTHROPIC_API_KEY, or run `claude` once and log in".into())
            };
            (Some(url), cred)
        }
        AgentKind::Codex => {
            let codex_home = var("CODEX_HOME").map_or_else(|| home().join(".codex"), PathBuf::from);
            let env = |k: &str| std::env::var(k).ok();
            let (url, env_key) = planrun_agents::config::codex_provider(&env, Some(cwd))
                .map_or(("https://api.openai.com/v1".to_owned(), None), |(u, k)| (u, k));
            let cred = match &env_key {
                Some(k) if var(k).is_some() => found(&format!("{k} is set")),
                Some(k) => Err(format!(
                    "the selected model provider reads its key from {k}, which is not set: set it where you start planrun (planrun passes it to codex: its configuration names it)"
                )),
                None if var("OPENAI_API_KEY").is_some() => found("OPENAI_API_KEY is set"),
                None if codex_home.join("auth.json").is_file() => {
                    Ok(format!("codex login ({})", codex_home.join("auth.json").display()))
                }
                None => Err("no credentials: set OPENAI_API_KEY, or run `codex login`".into()),
            };
            (Some(url), cred)
        }
        AgentKind::Gemini => {
            let url =
                var("GOOGLE_GEMINI_BASE_URL").unwrap_or_else(|| "https://generativelanguage.googleapis.com".into());
            let cred = if var("GEMINI_API_KEY").is_some() {
                found("GEMINI_API_KEY is set")
            } else if var("GOOGLE_API_KEY").is_some() {
                found("GOOGLE_API_KEY is set")
            } else if let Some(c) = from_config(kind, cwd, &["GEMINI_API_KEY", "GOOGLE_API_KEY"]) {
                Ok(c)
            } else if home().join(".gemini/oauth_creds.json").is_file() {
                Ok("Gemini CLI's own login (~/.gemini)".into())
            } else {
                Err("no credentials: set GEMINI_API_KEY, or run `gemini` once and log in".into())
            };
            (Some(url), cred)
        }
        AgentKind::Opencode => {
            let configured =
                var("OPENCODE_CONFIG_CONTENT").and_then(|c| serde_json::from_str::<Value>(&c).ok()).and_then(|c| {
                    c.get("provider")?.as_object()?.values().find_map(|p| {
                        Some((
                            p.pointer("/options/baseURL")?.as_str()?.to_owned(),
                            p.pointer("/options/apiKey").is_some(),
                        ))
                    })
                });
            let auth = home().join(".local/share/opencode/auth.json");
            let from_files = from_config(kind, cwd, &[]);
            let cred = match (&configured, from_files) {
                (Some((_, true)), _) => Ok("an apiKey in OPENCODE_CONFIG_CONTENT (value not shown)".into()),
                (_, Some(c)) => Ok(c),
                _ if auth.is_file() => Ok(format!("opencode's own login ({})", auth.display())),
                _ if var("ANTHROPIC_API_KEY").is_some() || var("OPENAI_API_KEY").is_some() => {
                    found("a provider key variable is set")
                }
                _ => Err("no credentials: run `opencode auth login`, or set the provider's key variable".into()),
            };
            (configured.map(|(u, _)| u), cred)
        }
        AgentKind::Command => (None, Ok(String::new())),
    }
}

/// The cloud Claude Code is switched to (`Bedrock`, `Vertex AI`), if any.
fn cloud(kind: AgentKind, cwd: &Path) -> Option<&'static str> {
    let env = |k: &str| std::env::var(k).ok();
    planrun_agents::config::read(kind, &env, Some(cwd)).cloud
}

/// Credentials the CLI's configuration files give: one of `names` set by a file itself
/// (Claude Code's `env` block, Gemini CLI's `.env`), or a key variable the configuration reads
/// (opencode's `apiKey: "{env:NAME}"`) that is set. Names only.
fn from_config(kind: AgentKind, cwd: &Path, names: &[&str]) -> Option<String> {
    let env = |k: &str| std::env::var(k).ok();
    let found = planrun_agents::config::read(kind, &env, Some(cwd));
    if let Some(n) = found.named.iter().find(|n| n.sets && names.contains(&n.name.as_str())) {
        return Some(format!("{} set by {} (value not shown)", n.name, n.file.display()));
    }
    let n = found.named.iter().find(|n| !n.sets && n.secret && n.at.ends_with("apiKey") && var(&n.name).is_some())?;
    Some(format!("{} is set, named by `{}` in {} (value not shown)", n.name, n.at, n.file.display()))
}

/// The variables `kind`'s configuration files name (see `planrun_agents::config`), by name and
/// whether each is set; an unreadable file, and a variable the selected provider needs that is
/// not set, are problems.
fn configured(kind: AgentKind, cwd: &Path, f: &mut Finding) {
    let env = |k: &str| std::env::var(k).ok();
    let found = planrun_agents::config::read(kind, &env, Some(cwd));
    for p in &found.problems {
        f.problems.push(format!("{p}: fix that file ({kind} cannot read it either)"));
    }
    let mut seen: Vec<(String, String)> = Vec::new();
    for n in &found.named {
        let file = n.file.display().to_string();
        if seen.contains(&(n.name.clone(), file.clone())) {
            continue;
        }
        seen.push((n.name.clone(), file.clone()));
        let set = match n.name.strip_suffix('*') {
            // A pattern (`VERTEX_REGION_*`): set when a variable matches it.
            Some(prefix) => std::env::vars_os().any(|(k, _)| k.to_str().is_some_and(|k| k.starts_with(prefix))),
            None => var(&n.name).is_some(),
        };
        if n.required && !set && f.problems.iter().all(|p| !p.contains(n.name.as_str())) {
            f.problems
                .push(format!("{} is not set: `{}` in {file} needs it; set it where you start planrun", n.name, n.at));
        }
        f.config.push(json!({
            "name": n.name,
            "file": file,
            "at": n.at,
            "set": set,
            "required": n.required,
            "set_by_file": n.sets,
            "project": n.project,
        }));
    }
}
/// `(host, port)` of an `http(s)://host[:port]/…` URL.
fn host_port(url: &str) -> Option<(String, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let default = match scheme {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        let port = after.strip_prefix(':').map_or(Some(default), |p| p.parse().ok())?;
        return Some((host.to_owned(), port));
    }
    match authority.rsplit_once(':') {
        Some((h, p)) => Some((h.to_owned(), p.parse().ok()?)),
        None => Some((authority.to_owned(), default)),
    }
    .filter(|(h, _)| !h.is_empty())
}

async fn reachable(host: &str, port: u16) -> bool {
    let connect = tokio::net::TcpStream::connect((host, port));
    matches!(tokio::time::timeout(Duration::from_secs(5), connect).await, Ok(Ok(_)))
}

/// One headless run of `kind` on a one-line prompt, in a scratch folder.
async fn probe(kind: AgentKind, args: &DoctorOptions, root: bool, sandbox: bool) -> Value {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => return json!({"ok": false, "error": format!("cannot create a scratch folder: {e}")}),
    };
    let workspace = dir.path().display().to_string();
    let prompt = "planrun doctor is checking that you run. Reply with the single word OK and do nothing else.";
    let call = Call {
        prompt,
        model: args.model.as_deref(),
        resume: None,
        workspace: Some(&workspace),
        root,
        sandbox,
        ..Call::default()
    };
    let Some(argv) = adapter::argv(kind, &call) else { return json!({"ok": false, "error": "not a CLI agent"}) };
    let here = std::env::current_dir().ok();
    let mut env = planrun_agents::env::allowed_in(kind, &args.pass_env, std::env::vars_os(), here.as_deref());
    env.push(("PWD".into(), workspace.clone()));
    let log = dir.path().join("probe.log");
    let secrets = planrun_agents::env::secret_values(kind, &args.pass_env, std::env::vars_os(), here.as_deref());
    let spec = Spec {
        argv,
        cwd: dir.path().to_owned(),
        env,
        clear_env: true,
        redact: Arc::new(Redactor::new(secrets)),
        log: log.clone(),
        wall_limit: Some(Duration::from_secs(120)),
        stall_limit: Some(Duration::from_secs(60)),
        grace: Duration::from_secs(2),
    };
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let finished = supervise::run(&spec, rx).await;
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let mut reader = Reader::new(kind);
    for line in text.lines() {
        reader.line(line);
    }
    let r = reader.report;
    let tail: String = {
        let lines: Vec<&str> = text.lines().collect();
        lines.iter().skip(lines.len().saturating_sub(20)).copied().collect::<Vec<_>>().join("\n")
    };
    let last_line = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
    let error = match &finished {
        Err(e) => Some(e.to_string()),
        Ok(_) if !r.errors.is_empty() => Some(r.errors.join("; ")),
        Ok(f) => match &f.outcome {
            Outcome::Exited { code: 0 } if r.events == 0 => {
                Some("it exited 0 but printed none of the events planrun reads".into())
            }
            Outcome::Exited { code: 0 } => None,
            Outcome::Exited { code } => Some(format!("it exited with code {code}: {last_line}")),
            Outcome::Signaled { signal } => Some(format!("it was killed by signal {signal}")),
            Outcome::TimedOut { .. } => Some("it did not finish within 120s".into()),
            Outcome::Stalled { .. } => Some("it printed nothing for 60s".into()),
            Outcome::Cancelled => Some("it was stopped".into()),
        },
    };
    // One readable line; the whole output is in `log`.
    let error = error.map(|e| {
        let mut e: String = e.chars().take(300).collect();
        if e.len() == 300 {
            e.push('…');
        }
        e
    });
    json!({
        "ok": error.is_none(),
        "error": error,
        "elapsed_ms": finished.as_ref().map_or(0, |f| u64::try_from(f.elapsed.as_millis()).unwrap_or(u64::MAX)),
        "session": r.session,
        "model": r.model,
        "usage": r.usage,
        "cost_usd": r.cost_usd,
        "answer": r.final_text,
        "log": tail,
    })
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_give_host_and_port() {
        assert_eq!(host_port("https://api.anthropic.com"), Some(("api.anthropic.com".into(), 443)));
        assert_eq!(host_port("http://127.0.0.1:4000/v1"), Some(("127.0.0.1".into(), 4000)));
        assert_eq!(host_port("http://[::1]:9/x"), Some(("::1".into(), 9)));
        assert_eq!(host_port("http://user:pw@h:81"), Some(("h".into(), 81)));
        assert_eq!(host_port("ftp://h"), None);
        assert_eq!(host_port("http://:80"), None);
        assert_eq!(host_port("nonsense"), None);
    }
}
