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

struct Ctx<'a> {
    env: &'a dyn Fn(&str) -> Option<String>,
    home: Option<&'a Path>,
    workspace: Option<&'a Path>,
}

impl Ctx<'_> {
    fn var(&self, name: &str) -> Option<String> {
        (self.env)(name).filter(|v| !v.is_empty())
    }

    /// The workspace and its parents up to the repository's top level (the first with `.git`),
    /// nearest first; outside a repository, the workspace alone.
    fn project_dirs(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut dir = self.workspace;
        while let Some(d) = dir {
            out.push(d.to_owned());
            if d.join(".git").exists() {
                return out;
            }
            dir = d.parent();
        }
        out.truncate(1);
        out
    }
}

/// A file's text, or `None` when it does not exist. A file that exists but cannot be read is a
/// problem.
fn read_text(path: &Path, found: &mut Found) -> Option<String> {
    match std::fs::read(path) {
        Ok(bytes) => {
            found.files.push(path.to_owned());
            match String::from_utf8(bytes) {
                Ok(t) => Some(t),
                Err(_) => {
                    found.problems.push(Problem {
                        file: path.to_owned(),
                        line: None,
                        message: "not UTF-8 text".into(),
                    });
                    None
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) if e.kind() == std::io::ErrorKind::IsADirectory => None,
        Err(e) => {
            found.problems.push(Problem { file: path.to_owned(), line: None, message: format!("cannot read it: {e}") });
            None
        }
    }
}

/// Drops the later copies of a path that is listed twice (the user's folder can also be a
/// project's), keeping the order.
fn unique(files: &mut Vec<PathBuf>) {
    let mut seen: Vec<PathBuf> = Vec::new();
    files.retain(|f| {
        let new = !seen.contains(f);
        seen.push(f.clone());
        new
    });
}

/// The 1-based line of byte offset `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes().iter().take(at).filter(|b| **b == b'\n').count() + 1
}

fn is_var_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

// ---------------------------------------------------------------------------------------------
// Codex

/// Codex: `CODEX_HOME/config.toml` (default `~/.codex`), and a project's `.codex/config.toml`.
fn codex(ctx: &Ctx<'_>) -> Found {
    let mut found = Found::default();
    let user = ctx.var("CODEX_HOME").map(PathBuf::from).or_else(|| ctx.home.map(|h| h.join(".codex")));
    let mut files: Vec<PathBuf> = user.into_iter().map(|d| d.join("config.toml")).collect();
    // The project's file is read after the user's: it wins where both set a key.
    files.extend(ctx.project_dirs().into_iter().rev().map(|d| d.join(".codex/config.toml")));
    unique(&mut files);
    let mut tables = Vec::new();
    for path in files {
        let Some(text) = read_text(&path, &mut found) else { continue };
        match text.parse::<toml::Table>() {
            Ok(t) => tables.push((path, t)),
            Err(e) => found.problems.push(Problem {
                line: e.span().map(|s| line_of(&text, s.start)),
                file: path,
                message: format!("not valid TOML: {}", e.message()),
            }),
        }
    }
    // The provider Codex uses: the selected profile's `model_provider`, else the top-level one;
    // a later file wins.
    let mut selected: Option<String> = None;
    for (_, t) in &tables {
        let profile = t.get("profile").and_then(toml::Value::as_str);
        let from_profile =
            profile.and_then(|p| t.get("profiles")?.get(p)?.get("model_provider")?.as_str()).map(str::to_owned);
        if let Some(p) =
            from_profile.or_else(|| t.get("model_provider").and_then(toml::Value::as_str).map(str::to_owned))
        {
            selected = Some(p);
        }
    }
    for (path, t) in &tables {
        let mut add = |name: &str, at: String, secret: bool, required: bool| {
            if is_var_name(name) {
                found.named.push(Named {
                    project: false,
                    name: name.to_owned(),
                    file: path.clone(),
                    at,
                    secret,
                    required,
                    sets: false,
                });
            }
        };
        for (id, p) in t.get("model_providers").and_then(toml::Value::as_table).into_iter().flatten() {
            let chosen = selected.as_deref() == Some(id.as_str());
            if let Some(k) = p.get("env_key").and_then(toml::Value::as_str) {
                add(k, format!("model_providers.{id}.env_key"), true, chosen);
            }
            for (h, v) in p.get("env_http_headers").and_then(toml::Value::as_table).into_iter().flatten() {
                if let Some(v) = v.as_str() {
                    add(v, format!("model_providers.{id}.env_http_headers.{h}"), true, false);
                }
            }
        }
        for (id, s) in t.get("mcp_servers").and_then(toml::Value::as_table).into_iter().flatten() {
            if let Some(v) = s.get("bearer_token_env_var").and_then(toml::Value::as_str) {
                add(v, format!("mcp_servers.{id}.bearer_token_env_var"), true, false);
            }
            for v in s.get("env_vars").and_then(toml::Value::as_array).into_iter().flatten() {
                // A name, or `{ name = "…", … }`.
                let name = v.as_str().or_else(|| v.get("name").and_then(toml::Value::as_str));
                if let Some(n) = name {
                    add(n, format!("mcp_servers.{id}.env_vars"), crate::redact::is_secret_name(n), false);
                }
            }
            for (h, v) in s.get("env_http_headers").and_then(toml::Value::as_table).into_iter().flatten() {
                if let Some(v) = v.as_str() {
                    add(v, format!("mcp_servers.{id}.env_http_headers.{h}"), true, false);
                }
            }
        }
    }
    found
}

/// The selected Codex provider's base URL and key variable, from the files [`read`] reads
/// (`None` where the configuration does not say).
pub fn codex_provider(
    env: &dyn Fn(&str) -> Option<String>,
    workspace: Option<&Path>,
) -> Option<(String, Option<String>)> {
    let home = env("HOME").filter(|h| !h.is_empty()).map(PathBuf::from);
    let ctx = Ctx { env, home: home.as_deref(), workspace };
    let user = ctx.var("CODEX_HOME").map(PathBuf::from).or_else(|| ctx.home.map(|h| h.join(".codex")));
    let mut files: Vec<PathBuf> = user.into_iter().map(|d| d.join("config.toml")).collect();
    files.extend(ctx.project_dirs().into_iter().rev().map(|d| d.join(".codex/config.toml")));
    let mut selected: Option<String> = None;
    let mut providers = toml::Table::new();
    for path in files {
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        let Ok(t) = text.parse::<toml::Table>() else { continue };
        let profile = t.get("profile").and_then(toml::Value::as_str);
        let from_profile = profile.and_then(|p| t.get("profiles")?.get(p)?.get("model_provider")?.as_str());
        if let Some(p) = from_profile.or_else(|| t.get("model_provider").and_then(toml::Value::as_str)) {
            selected = Some(p.to_owned());
        }
        for (id, p) in t.get("model_providers").and_then(toml::Value::as_table).into_iter().flatten() {
            providers.insert(id.clone(), p.clone());
        }
    }
    let p = providers.get(selected.as_deref()?)?;
    let url = p.get("base_url").and_then(toml::Value::as_str)?.to_owned();
    Some((url, p.get("env_key").and_then(toml::Value::as_str).map(str::to_owned)))
}

// ---------------------------------------------------------------------------------------------
// JSON with comments (opencode, Gemini CLI, Claude Code)

/// Parses a JSON-with-comments file; a syntax error is a problem with its line.
fn parse_jsonc(text: &str, file: &Path, found: &mut Found) -> Option<serde_json::Value> {
    let options = jsonc_parser::ParseOptions {
        allow_comments: true,
        allow_trailing_commas: true,
        allow_loose_object_property_names: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        ..Default::default()
    };
    match jsonc_parser::parse_to_value(text, &options) {
        Ok(Some(v)) => Some(to_serde(v)),
        Ok(None) => None,
        Err(e) => {
            found.problems.push(Problem {
                file: file.to_owned(),
                line: Some(e.line_display()),
                message: format!("not valid JSON: {} (column {})", e.kind(), e.column_display()),
            });
            None
        }
    }
}

fn to_serde(v: jsonc_parser::JsonValue<'_>) -> serde_json::Value {
    use jsonc_parser::JsonValue as J;
    use serde_json::Value as V;
    match v {
        J::String(s) => V::String(s.into_owned()),
        J::Number(n) => n.parse::<serde_json::Number>().map_or_else(|_| V::String(n.to_owned()), V::Number),
        J::Boolean(b) => V::Bool(b),
        J::Null => V::Null,
        J::Array(a) => V::Array(a.into_iter().map(to_serde).collect()),
        J::Object(o) => V::Object(o.into_iter().map(|(k, v)| (k.into_owned(), to_serde(v))).collect()),
    }
}

/// Every string value in `v` with its key path (`provider.gw.options.apiKey`).
fn strings<'a>(v: &'a serde_json::Value, path: &mut Vec<String>, out: &mut Vec<(String, &'a str)>) {
    match v {
        serde_json::Value::String(s) => out.push((path.join("."), s)),
        serde_json::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                path.push(i.to_string());
                strings(x, path, out);
                path.pop();
            }
        }
        serde_json::Value::Object(o) => {
            for (k, x) in o {
                path.push(k.clone());
                strings(x, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

/// Whether a value at key path `at` holding variable `name` is a credential.
fn secret_at(at: &str, name: &str) -> bool {
    let last = at.rsplit('.').next().unwrap_or(at);
    crate::redact::is_secret_name(name)
        || crate::redact::is_secret_name(last)
        || at.split('.').any(|k| k.eq_ignore_ascii_case("headers"))
}

// ---------------------------------------------------------------------------------------------
// opencode

/// `{env:NAME}` references, as opencode substitutes them (`/\{env:([^}]+)\}/`).
pub fn opencode_refs(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(at) = rest.find("{env:") {
        let after = rest.get(at + 5..).unwrap_or("");
        let Some(end) = after.find('}') else { break };
        let name = after.get(..end).unwrap_or("");
        if !name.is_empty() {
            out.push(name.to_owned());
        }
        rest = after.get(end + 1..).unwrap_or("");
    }
    out
}

/// opencode: `~/.config/opencode/{config.json,opencode.json,opencode.jsonc}`, the project's
/// `opencode.json`/`opencode.jsonc` and `.opencode/opencode.json(c)` from the workspace up to
/// the repository's top level, `OPENCODE_CONFIG`, `OPENCODE_CONFIG_DIR`, and
/// `OPENCODE_CONFIG_CONTENT`.
fn opencode(ctx: &Ctx<'_>) -> Found {
    let mut found = Found::default();
    let mut files = Vec::new();
    let config_home = ctx.var("XDG_CONFIG_HOME").map(PathBuf::from).or_else(|| ctx.home.map(|h| h.join(".config")));
    if let Some(dir) = config_home.map(|c| c.join("opencode")) {
        files.extend(["config.json", "opencode.json", "opencode.jsonc"].map(|f| dir.join(f)));
    }
    for dir in ctx.project_dirs().into_iter().rev() {
        files.extend(["opencode.json", "opencode.jsonc"].map(|f| dir.join(f)));
        files.extend(["opencode.json", "opencode.jsonc"].map(|f| dir.join(".opencode").join(f)));
    }
    if let Some(dir) = ctx.var("OPENCODE_CONFIG_DIR").map(PathBuf::from) {
        files.extend(["opencode.json", "opencode.jsonc"].map(|f| dir.join(f)));
    }
    if let Some(f) = ctx.var("OPENCODE_CONFIG") {
        files.push(PathBuf::from(f));
    }
    unique(&mut files);
    for path in files {
        if let Some(text) = read_text(&path, &mut found) {
            opencode_text(&text, &path, &mut found);
        }
    }
    if let Some(text) = ctx.var("OPENCODE_CONFIG_CONTENT") {
        opencode_text(&text, Path::new("OPENCODE_CONFIG_CONTENT"), &mut found);
    }
    found
}

fn opencode_text(text: &str, file: &Path, found: &mut Found) {
    let Some(v) = parse_jsonc(text, file, found) else { return };
    let mut all = Vec::new();
    strings(&v, &mut Vec::new(), &mut all);
    for (at, s) in all {
        for name in opencode_refs(s) {
            found.named.push(Named {
                project: false,
                secret: secret_at(&at, &name),
                name,
                file: file.to_owned(),
                at: at.clone(),
                required: false,
                sets: false,
            });
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Gemini CLI

/// `$NAME`, `${NAME}` and `${NAME:-default}` references, as Gemini CLI resolves them in its
/// settings (`/\$(?:(\w+)|{([^}]+?)(?::-([^}]*))?})/g`) and a shell expands them in a command.
pub fn dollar_refs(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes.get(i) != Some(&b'$') {
            i += 1;
            continue;
        }
        let rest = s.get(i + 1..).unwrap_or("");
        if let Some(inner) = rest.strip_prefix('{') {
            if let Some(end) = inner.find('}') {
                let body = inner.get(..end).unwrap_or("");
                let name = body.split(":-").next().unwrap_or(body);
                if is_var_name(name) {
                    out.push(name.to_owned());
                }
                i += 2 + end + 1;
                continue;
            }
        } else {
            let len = rest.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
            let name = rest.get(..len).unwrap_or("");
            if is_var_name(name) {
                out.push(name.to_owned());
            }
            i += 1 + len;
            continue;
        }
        i += 1;
    }
    out
}

/// Gemini CLI: the system settings (`GEMINI_CLI_SYSTEM_SETTINGS_PATH`, else
/// `/etc/gemini-cli/settings.json`) and its `system-defaults.json`, `~/.gemini/settings.json`,
/// the workspace's `.gemini/settings.json`; and the `.env` file it loads (the first of
/// `.gemini/.env` and `.env` from the workspace up, then `~/.gemini/.env`, `~/.env`).
fn gemini(ctx: &Ctx<'_>) -> Found {
    let mut found = Found::default();
    let system = ctx
        .var("GEMINI_CLI_SYSTEM_SETTINGS_PATH")
        .map_or_else(|| PathBuf::from("/etc/gemini-cli/settings.json"), PathBuf::from);
    let defaults = ctx
        .var("GEMINI_CLI_SYSTEM_DEFAULTS_PATH")
        .map(PathBuf::from)
        .or_else(|| system.parent().map(|p| p.join("system-defaults.json")));
    let mut files = vec![system];
    files.extend(defaults);
    files.extend(ctx.home.map(|h| h.join(".gemini/settings.json")));
    files.extend(ctx.workspace.map(|w| w.join(".gemini/settings.json")));
    unique(&mut files);
    for path in files {
        let Some(text) = read_text(&path, &mut found) else { continue };
        let Some(v) = parse_jsonc(&text, &path, &mut found) else { continue };
        let mut all = Vec::new();
        strings(&v, &mut Vec::new(), &mut all);
        for (at, s) in all {
            for name in dollar_refs(s) {
                found.named.push(Named {
                    project: false,
                    secret: secret_at(&at, &name),
                    name,
                    file: path.clone(),
                    at: at.clone(),
                    required: false,
                    sets: false,
                });
            }
        }
    }
    if let Some(path) = gemini_env_file(ctx) {
        if let Some(text) = read_text(&path, &mut found) {
            for (name, value) in dotenv_pairs(&text) {
                if crate::redact::is_secret_name(&name) {
                    found.set_secrets.0.push(value);
                }
                found.named.push(Named {
                    project: false,
                    secret: crate::redact::is_secret_name(&name),
                    name,
                    file: path.clone(),
                    at: String::new(),
                    required: false,
                    sets: true,
                });
            }
        }
    }
    found
}

fn gemini_env_file(ctx: &Ctx<'_>) -> Option<PathBuf> {
    let mut dir = ctx.workspace;
    while let Some(d) = dir {
        for f in [d.join(".gemini/.env"), d.join(".env")] {
            if f.is_file() {
                return Some(f);
            }
        }
        dir = d.parent();
    }
    let home = ctx.home?;
    [home.join(".gemini/.env"), home.join(".env")].into_iter().find(|f| f.is_file())
}

/// The names a `.env` file sets (`NAME=value`, `export NAME=value`; `#` comments).
pub fn dotenv_names(text: &str) -> Vec<String> {
    dotenv_pairs(text).into_iter().map(|(name, _)| name).collect()
}

/// The names a `.env` file sets and their values (unquoted; a `#` after an unquoted value and
/// a space starts a comment).
fn dotenv_pairs(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            let l = l.strip_prefix("export ").unwrap_or(l).trim_start();
            let (name, value) = l.split_once('=')?;
            let name = name.trim();
            let value = value.trim();
            let value = match value.chars().next() {
                Some(q @ ('"' | '\'')) => value[1..].split(q).next().unwrap_or(""),
                _ => value.split(" #").next().unwrap_or("").trim_end(),
            };
            is_var_name(name).then(|| (name.to_owned(), value.to_owned()))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Claude Code

/// The settings whose value is a shell command Claude Code runs (with its own environment).
const CLAUDE_HELPERS: &[&str] =
    &["apiKeyHelper", "awsCredentialExport", "awsAuthRefresh", "otelHeadersHelper", "proxyAuthHelper"];

/// The variables Claude Code reads for Amazon Bedrock (`CLAUDE_CODE_USE_BEDROCK`): the AWS
/// SDK's region, profile, credentials and their files; `AWS_REGION` is required (Claude Code
/// does not take the region from the AWS configuration files). Whether each is a credential.
const CLAUDE_BEDROCK: &[(&str, bool)] = &[
    ("AWS_REGION", false),
    ("AWS_DEFAULT_REGION", false),
    ("AWS_PROFILE", false),
    ("AWS_ACCESS_KEY_ID", false),
    ("AWS_SECRET_ACCESS_KEY", true),
    ("AWS_SESSION_TOKEN", true),
    ("AWS_BEARER_TOKEN_BEDROCK", true),
    ("AWS_CONFIG_FILE", false),
    ("AWS_SHARED_CREDENTIALS_FILE", false),
    ("AWS_WEB_IDENTITY_TOKEN_FILE", false),
    ("AWS_ROLE_ARN", false),
    ("AWS_ROLE_SESSION_NAME", false),
    ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", false),
    ("AWS_CONTAINER_CREDENTIALS_FULL_URI", false),
    ("AWS_CONTAINER_AUTHORIZATION_TOKEN", true),
    ("AWS_CA_BUNDLE", false),
    ("AWS_ENDPOINT_URL", false),
    ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", false),
];

/// The variables Claude Code reads for Google Vertex AI (`CLAUDE_CODE_USE_VERTEX`): the region
/// (`CLOUD_ML_REGION`, required, and `VERTEX_REGION_*` per model) and Google's application
/// credentials and project. `ANTHROPIC_VERTEX_PROJECT_ID` passes as Claude Code's own.
const CLAUDE_VERTEX: &[(&str, bool)] = &[
    ("CLOUD_ML_REGION", false),
    ("VERTEX_REGION_*", false),
    ("GOOGLE_APPLICATION_CREDENTIALS", false),
    ("GOOGLE_CLOUD_PROJECT", false),
    ("GCLOUD_PROJECT", false),
    ("CLOUDSDK_CONFIG", false),
    ("CLOUDSDK_CORE_PROJECT", false),
];

/// A cloud Claude Code can use: its switch, its variables, its required variable, and where it
/// was switched on (the file or the environment, and the key there).
type Cloud = (&'static str, &'static [(&'static str, bool)], &'static str, Option<(PathBuf, String)>);

/// Whether a variable's value turns a switch on, as Claude Code reads `CLAUDE_CODE_USE_*`.
fn truthy(v: &str) -> bool {
    matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on")
}

/// Claude Code: `CLAUDE_CONFIG_DIR/settings.json` (default `~/.claude`), the project's
/// `.claude/settings.json` and `.claude/settings.local.json`, and the managed
/// `/etc/claude-code/managed-settings.json`. The helper commands' `$NAME` references are read
/// from the environment; the `env` block's variables are set by the file. With Bedrock or
/// Vertex AI switched on (in the environment or by a file's `env` block), the cloud's variables
/// are named too: the AWS or Google credentials Claude Code then reads from its environment.
fn claude(ctx: &Ctx<'_>) -> Found {
    let mut found = Found::default();
    // Each cloud: its switch, its variables, its required variable, and where it was switched on.
    let mut clouds: Vec<Cloud> = [
        ("CLAUDE_CODE_USE_BEDROCK", CLAUDE_BEDROCK, "AWS_REGION"),
        ("CLAUDE_CODE_USE_VERTEX", CLAUDE_VERTEX, "CLOUD_ML_REGION"),
    ]
    .into_iter()
    .map(|(switch, vars, required)| {
        let on = ctx.var(switch).filter(|v| truthy(v)).map(|_| (PathBuf::from("the environment"), switch.to_owned()));
        (switch, vars, required, on)
    })
    .collect();
    let user = ctx.var("CLAUDE_CONFIG_DIR").map(PathBuf::from).or_else(|| ctx.home.map(|h| h.join(".claude")));
    let mut files: Vec<PathBuf> = user.into_iter().map(|d| d.join("settings.json")).collect();
    if let Some(w) = ctx.workspace {
        files.push(w.join(".claude/settings.json"));
        files.push(w.join(".claude/settings.local.json"));
    }
    files.push(PathBuf::from("/etc/claude-code/managed-settings.json"));
    unique(&mut files);
    for path in files {
        let Some(text) = read_text(&path, &mut found) else { continue };
        let Some(v) = parse_jsonc(&text, &path, &mut found) else { continue };
        for key in CLAUDE_HELPERS {
            let Some(cmd) = v.get(key).and_then(serde_json::Value::as_str) else { continue };
            for name in dollar_refs(cmd) {
                found.named.push(Named {
                    project: false,
                    secret: *key == "apiKeyHelper" || crate::redact::is_secret_name(&name),
                    name,
                    file: path.clone(),
                    at: (*key).to_owned(),
                    required: false,
                    sets: false,
                });
            }
        }
        for (name, value) in v.get("env").and_then(serde_json::Value::as_object).into_iter().flatten() {
            let on = value.as_str().is_some_and(truthy) || value.as_bool() == Some(true) || value.as_i64() == Some(1);
            if let Some(cloud) = clouds.iter_mut().find(|c| c.0 == name.as_str()).filter(|_| on) {
                cloud.3 = Some((path.clone(), format!("env.{name}")));
            }
            if let Some(v) = value.as_str().filter(|_| crate::redact::is_secret_name(name)) {
                found.set_secrets.0.push(v.to_owned());
            }
            if is_var_name(name) {
                found.named.push(Named {
                    project: false,
                    secret: crate::redact::is_secret_name(name),
                    name: name.clone(),
                    file: path.clone(),
                    at: format!("env.{name}"),
                    required: false,
                    sets: true,
                });
            }
        }
    }
    // The variables a file's `env` block sets, it sets: Claude Code reads them from there.
    let set_by_file: Vec<String> = found.named.iter().filter(|n| n.sets).map(|n| n.name.clone()).collect();
    for (switch, vars, required, on) in clouds {
        let Some((file, at)) = on else { continue };
        let cloud = if switch == "CLAUDE_CODE_USE_BEDROCK" { "Bedrock" } else { "Vertex AI" };
        found.cloud = found.cloud.or(Some(cloud));
        for &(name, secret) in vars {
            // The optional ones only when set (a pattern always), so `doctor` lists what is used.
            let listed = name == required || name.ends_with('*') || ctx.var(name).is_some();
            if !listed || set_by_file.iter().any(|s| s == name) {
                continue;
            }
            found.named.push(Named {
                name: name.to_owned(),
                file: file.clone(),
                at: format!("{at}: Claude Code on {cloud}"),
                secret,
                required: name == required,
                project: false,
                sets: false,
            });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Fixture {
        home: tempfile::TempDir,
        repo: tempfile::TempDir,
        env: HashMap<String, String>,
    }

    impl Fixture {
        fn new() -> Self {
            let home = tempfile::tempdir().unwrap();
            let repo = tempfile::tempdir().unwrap();
            std::fs::create_dir(repo.path().join(".git")).unwrap();
            let mut env = HashMap::new();
            env.insert("HOME".to_owned(), home.path().display().to_string());
            // Nothing on this machine's system paths is read.
            env.insert(
                "GEMINI_CLI_SYSTEM_SETTINGS_PATH".to_owned(),
                home.path().join("none/settings.json").display().to_string(),
            );
            Self { home, repo, env }
        }
        fn write(&self, in_home: bool, rel: &str, text: &str) -> PathBuf {
            let p = if in_home { self.home.path() } else { self.repo.path() }.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, text).unwrap();
            p
        }
        fn read(&self, kind: AgentKind) -> Found {
            let env = |k: &str| self.env.get(k).cloned();
            read(kind, &env, Some(self.repo.path()))
        }
    }

    fn names(f: &Found) -> Vec<(&str, &str, bool, bool, bool)> {
        f.named.iter().map(|n| (n.name.as_str(), n.at.as_str(), n.secret, n.required, n.sets)).collect()
    }

    #[test]
    fn codex_providers_name_their_key_variables() {
        let mut f = Fixture::new();
        // As the Codex docs write an Azure, an OpenRouter and a local gateway provider, with a
        // profile that selects the gateway.
        let file = f.write(
            true,
            "codex/config.toml",
            r#"model = "gpt-5"
model_provider = "azure"
profile = "local"

[profiles.local]
model_provider = "gw"
model = "qwen"

[model_providers.azure]
name = "Azure"
base_url = "https://acme.openai.azure.com/openai"
env_key = "AZURE_OPENAI_API_KEY"
query_params = { api-version = "2025-04-01-preview" }
wire_api = "responses"

[model_providers.openrouter]
name = "OpenRouter"
base_url = "https://openrouter.ai/api/v1"
env_key = "OPENROUTER_API_KEY"

[model_providers.gw]
name = "gateway"
base_url = "http://127.0.0.1:4000/v1"
env_key = "GW_API_KEY"
env_http_headers = { "X-Gateway-Org" = "GW_ORG" }

[mcp_servers.docs]
command = "docs-mcp"
env_vars = ["DOCS_TOKEN", "DOCS_REGION"]

[mcp_servers.remote]
url = "https://mcp.example/mcp"
bearer_token_env_var = "REMOTE_MCP"
"#,
        );
        f.env.insert("CODEX_HOME".into(), f.home.path().join("codex").display().to_string());
        let found = f.read(AgentKind::Codex);
        assert_eq!(found.problems, []);
        assert_eq!(found.files, std::slice::from_ref(&file));
        let mut got = names(&found);
        got.sort();
        assert_eq!(
            got,
            [
                ("AZURE_OPENAI_API_KEY", "model_providers.azure.env_key", true, false, false),
                ("DOCS_REGION", "mcp_servers.docs.env_vars", false, false, false),
                ("DOCS_TOKEN", "mcp_servers.docs.env_vars", true, false, false),
                ("GW_API_KEY", "model_providers.gw.env_key", true, true, false),
                ("GW_ORG", "model_providers.gw.env_http_headers.X-Gateway-Org", true, false, false),
                ("OPENROUTER_API_KEY", "model_providers.openrouter.env_key", true, false, false),
                ("REMOTE_MCP", "mcp_servers.remote.bearer_token_env_var", true, false, false),
            ]
        );
        assert!(found.named.iter().all(|n| n.file == file));
        let env = |k: &str| f.env.get(k).cloned();
        assert_eq!(codex_provider(&env, None), Some(("http://127.0.0.1:4000/v1".into(), Some("GW_API_KEY".into()))));
    }

    #[test]
    fn codex_reads_the_default_home_and_the_projects_file() {
        let f = Fixture::new();
        f.write(true, ".codex/config.toml", "model_provider = \"a\"\n[model_providers.a]\nenv_key = \"A_KEY\"\n");
        f.write(
            false,
            ".codex/config.toml",
            "model_provider = \"b\"\n[model_providers.b]\nbase_url = \"http://b/v1\"\nenv_key = \"B_KEY\"\n",
        );
        let found = f.read(AgentKind::Codex);
        let got = names(&found);
        // The project's file wins: its provider is the selected one.
        assert!(got.contains(&("A_KEY", "model_providers.a.env_key", true, false, false)), "{got:?}");
        assert!(got.contains(&("B_KEY", "model_providers.b.env_key", true, true, false)), "{got:?}");
    }

    #[test]
    fn only_the_users_own_files_pass_variables_on_their_own() {
        let f = Fixture::new();
        f.write(true, ".codex/config.toml", "[model_providers.a]\nenv_key = \"A_KEY\"\n");
        // A cloned repository's file could name any variable of the user's environment.
        f.write(false, ".codex/config.toml", "[model_providers.b]\nenv_key = \"AWS_SECRET_ACCESS_KEY\"\n");
        let found = f.read(AgentKind::Codex);
        let passed: Vec<&str> = found.passed().collect();
        assert_eq!(passed, ["A_KEY"], "{found:?}");
        assert!(found.named.iter().any(|n| n.name == "AWS_SECRET_ACCESS_KEY" && n.project), "{found:?}");
    }

    #[test]
    fn a_file_that_is_both_the_users_and_the_projects_is_read_once() {
        let f = Fixture::new();
        f.write(true, ".codex/config.toml", "[model_providers.g]\nenv_key = \"G_KEY\"\n[x\n");
        let env = |k: &str| f.env.get(k).cloned();
        let found = read(AgentKind::Codex, &env, Some(f.home.path()));
        assert_eq!((found.files.len(), found.problems.len()), (1, 1), "{found:?}");
    }

    #[test]
    fn a_broken_codex_file_is_a_problem_with_its_line() {
        let f = Fixture::new();
        let file = f.write(true, ".codex/config.toml", "model = \"x\"\n\n[model_providers.gw]\nenv_key = GW_API_KEY\n");
        let found = f.read(AgentKind::Codex);
        assert_eq!(found.named, []);
        assert_eq!(found.problems.len(), 1, "{:?}", found.problems);
        let p = &found.problems[0];
        assert_eq!((p.file.as_path(), p.line), (file.as_path(), Some(4)));
        assert!(p.to_string().starts_with(&format!("{}:4: not valid TOML", file.display())), "{p}");
    }

    #[test]
    fn opencode_env_references_in_jsonc_files() {
        let mut f = Fixture::new();
        // The global file with comments and a trailing comma, as opencode.jsonc allows.
        let global = f.write(
            true,
            ".config/opencode/opencode.jsonc",
            r#"{
  "$schema": "https://opencode.ai/config.json",
  // A gateway that speaks the OpenAI API.
  "provider": {
    "gw": {
      "npm": "@ai-sdk/openai-compatible",
      "options": {
        "baseURL": "{env:GW_BASE_URL}/v1",
        "apiKey": "{env:GW_API_KEY}",
        "headers": { "X-Org": "{env:GW_ORG}" },
      },
      "models": { "qwen": {} },
    },
  },
  /* {env:IN_A_COMMENT} is not a value */
}
"#,
        );
        let project = f.write(
            false,
            "opencode.json",
            r#"{"mcp": {"x": {"type": "local", "command": ["x"], "environment": {"T": "{env:X_MCP_TOKEN}"}}}}"#,
        );
        f.env.insert(
            "OPENCODE_CONFIG_CONTENT".into(),
            r#"{"provider": {"o": {"options": {"apiKey": "{env:INLINE_KEY}"}}}}"#.into(),
        );
        let found = f.read(AgentKind::Opencode);
        assert_eq!(found.problems, []);
        let mut got = names(&found);
        got.sort();
        assert_eq!(
            got,
            [
                ("GW_API_KEY", "provider.gw.options.apiKey", true, false, false),
                ("GW_BASE_URL", "provider.gw.options.baseURL", false, false, false),
                ("GW_ORG", "provider.gw.options.headers.X-Org", true, false, false),
                ("INLINE_KEY", "provider.o.options.apiKey", true, false, false),
                ("X_MCP_TOKEN", "mcp.x.environment.T", true, false, false),
            ]
        );
        assert_eq!(found.files, [global, project]);
        assert!(found.named.iter().any(|n| n.file == Path::new("OPENCODE_CONFIG_CONTENT")));
    }

    #[test]
    fn a_broken_opencode_file_is_a_problem_with_its_line() {
        let f = Fixture::new();
        let file = f.write(
            false,
            "opencode.json",
            "{\n  \"provider\": {\n    \"gw\": { \"options\": { \"apiKey\": \"{env:K}\" } \n  }\n",
        );
        let found = f.read(AgentKind::Opencode);
        assert_eq!(found.named, []);
        let p = &found.problems[0];
        assert_eq!(p.file, file);
        assert!(p.line.is_some_and(|l| l >= 4), "{p}");
        assert!(p.message.starts_with("not valid JSON"), "{p}");
    }

    #[test]
    fn gemini_settings_references_and_its_env_file() {
        let f = Fixture::new();
        f.write(
            true,
            ".gemini/settings.json",
            r#"{
  // strip-json-comments: comments are allowed
  "security": {"auth": {"selectedType": "gemini-api-key"}},
  "mcpServers": {
    "gh": {"command": "gh-mcp", "env": {"GITHUB_TOKEN": "$GH_MCP_TOKEN", "REGION": "${GH_REGION:-eu}"}},
    "web": {"httpUrl": "https://x/mcp", "headers": {"Authorization": "Bearer ${WEB_MCP}"}}
  },
  "general": {"maxAttempts": 1}
}"#,
        );
        let env_file =
            f.write(false, ".gemini/.env", "# the key\nGEMINI_API_KEY=AIzaXXXX\nexport GOOGLE_CLOUD_PROJECT=p\n");
        let found = f.read(AgentKind::Gemini);
        assert_eq!(found.problems, []);
        let mut got = names(&found);
        got.sort();
        assert_eq!(
            got,
            [
                ("GEMINI_API_KEY", "", true, false, true),
                ("GH_MCP_TOKEN", "mcpServers.gh.env.GITHUB_TOKEN", true, false, false),
                ("GH_REGION", "mcpServers.gh.env.REGION", false, false, false),
                ("GOOGLE_CLOUD_PROJECT", "", false, false, true),
                ("WEB_MCP", "mcpServers.web.headers.Authorization", true, false, false),
            ]
        );
        assert!(found.named.iter().filter(|n| n.sets).all(|n| n.file == env_file));
        // What the .env file sets is not passed: Gemini CLI reads the file itself.
        assert!(!found.passed().any(|n| n == "GEMINI_API_KEY"));
    }

    #[test]
    fn claude_helpers_and_env_block() {
        let f = Fixture::new();
        f.write(
            true,
            ".claude/settings.json",
            r#"{
  "apiKeyHelper": "vault read -field=key secret/$VAULT_ROLE/${TEAM_ID}",
  "env": {"ANTHROPIC_BASE_URL": "https://gw.example", "CLAUDE_CODE_MAX_RETRIES": "0"},
  "permissions": {"allow": ["Bash(npm test)"]}
}"#,
        );
        let broken = f.write(false, ".claude/settings.local.json", "{\"env\": {\"A\": \"1\",, }}");
        let found = f.read(AgentKind::Claude);
        let mut got = names(&found);
        got.sort();
        assert_eq!(
            got,
            [
                ("ANTHROPIC_BASE_URL", "env.ANTHROPIC_BASE_URL", false, false, true),
                ("CLAUDE_CODE_MAX_RETRIES", "env.CLAUDE_CODE_MAX_RETRIES", false, false, true),
                ("TEAM_ID", "apiKeyHelper", true, false, false),
                ("VAULT_ROLE", "apiKeyHelper", true, false, false),
            ]
        );
        assert_eq!(found.problems.len(), 1);
        assert_eq!((found.problems[0].file.as_path(), found.problems[0].line), (broken.as_path(), Some(1)));
    }

    #[test]
    fn secrets_the_files_set_themselves_are_known_for_redaction_and_never_debug_printed() {
        let f = Fixture::new();
        f.write(
            true,
            ".claude/settings.json",
            r#"{"env": {"ANTHROPIC_API_KEY": "sk-ant-from-the-env-block-0001", "CLAUDE_CODE_MAX_RETRIES": "3"}}"#,
        );
        f.write(
            true,
            ".gemini/.env",
            "# keys\nexport GEMINI_API_KEY=\"AIzaFromTheDotEnv0002\"\nLOG_LEVEL=debug # noisy\n",
        );
        let claude = f.read(AgentKind::Claude);
        assert_eq!(claude.set_secrets.0, ["sk-ant-from-the-env-block-0001"]);
        let gemini = f.read(AgentKind::Gemini);
        assert_eq!(gemini.set_secrets.0, ["AIzaFromTheDotEnv0002"]);
        let both = f.read(AgentKind::Command);
        assert_eq!(both.set_secrets.0.len(), 2);
        let shown = format!("{both:?}");
        assert!(!shown.contains("sk-ant-from") && !shown.contains("AIzaFrom"), "{shown}");
        // The values the agent's environment is redacted with include them.
        let env: Vec<(std::ffi::OsString, std::ffi::OsString)> =
            [("HOME", f.home.path().as_os_str())].into_iter().map(|(k, v)| (k.into(), v.to_owned())).collect();
        let values = crate::env::secret_values(AgentKind::Claude, &[], env, Some(f.repo.path()));
        assert_eq!(values, ["sk-ant-from-the-env-block-0001"]);
        assert_eq!(dotenv_pairs("A='x y' # c\nB=z # c\n"), [("A".into(), "x y".into()), ("B".into(), "z".into())]);
    }

    #[test]
    fn claude_on_bedrock_or_vertex_names_the_clouds_variables() {
        // Not switched on: no cloud variable is named, whatever is set.
        let mut f = Fixture::new();
        f.env.insert("AWS_PROFILE".into(), "work".into());
        f.env.insert("AWS_SECRET_ACCESS_KEY".into(), "s3cr3t".into());
        assert_eq!(names(&f.read(AgentKind::Claude)), []);
        // Switched on in the environment: the required region (set or not), and what is set.
        f.env.insert("CLAUDE_CODE_USE_BEDROCK".into(), "1".into());
        let found = f.read(AgentKind::Claude);
        let mut got: Vec<(&str, bool, bool)> =
            found.named.iter().map(|n| (n.name.as_str(), n.secret, n.required)).collect();
        got.sort_unstable();
        assert_eq!(
            got,
            [("AWS_PROFILE", false, false), ("AWS_REGION", false, true), ("AWS_SECRET_ACCESS_KEY", true, false)]
        );
        assert!(found.named.iter().all(|n| n.at.contains("Bedrock") && !n.project && !n.sets), "{found:?}");
        assert!(found.passed().any(|n| n == "AWS_SECRET_ACCESS_KEY"));
        // "0" is off.
        f.env.insert("CLAUDE_CODE_USE_BEDROCK".into(), "0".into());
        assert_eq!(names(&f.read(AgentKind::Claude)), []);
        // Switched on by the user's settings, which also set the region: Vertex AI's variables,
        // the region not named (the file sets it), the per-model regions as a pattern.
        f.env.remove("CLAUDE_CODE_USE_BEDROCK");
        f.env.insert("GOOGLE_APPLICATION_CREDENTIALS".into(), "/k.json".into());
        let user = f.write(
            true,
            ".claude/settings.json",
            r#"{"env": {"CLAUDE_CODE_USE_VERTEX": "true", "CLOUD_ML_REGION": "us-east5"}}"#,
        );
        let found = f.read(AgentKind::Claude);
        let passed: Vec<&str> = found.passed().collect();
        assert_eq!(passed, ["VERTEX_REGION_*", "GOOGLE_APPLICATION_CREDENTIALS"], "{found:?}");
        assert!(found.named.iter().filter(|n| !n.sets).all(|n| n.file == user), "{found:?}");
        // Switched on by the repository's own settings: named, not passed.
        std::fs::remove_file(&user).unwrap();
        f.write(false, ".claude/settings.json", r#"{"env": {"CLAUDE_CODE_USE_BEDROCK": 1}}"#);
        let found = f.read(AgentKind::Claude);
        assert!(found.named.iter().any(|n| n.name == "AWS_REGION" && n.project), "{found:?}");
        assert_eq!(found.passed().count(), 0, "{found:?}");
    }

    #[test]
    fn the_command_agent_gets_every_clis_and_no_files_is_nothing() {
        let f = Fixture::new();
        assert_eq!(f.read(AgentKind::Command), Found::default());
        f.write(true, ".codex/config.toml", "[model_providers.g]\nenv_key = \"G_KEY\"\n");
        f.write(
            true,
            ".config/opencode/opencode.json",
            r#"{"provider": {"o": {"options": {"apiKey": "{env:O_KEY}"}}}}"#,
        );
        let all: Vec<String> = f.read(AgentKind::Command).passed().map(str::to_owned).collect();
        assert_eq!(all, ["G_KEY", "O_KEY"]);
    }

    #[test]
    fn references_are_read_as_the_clis_read_them() {
        assert_eq!(opencode_refs("{env:A}-{env:B_2}{env:}{env:C"), ["A", "B_2"]);
        assert_eq!(dollar_refs("$A ${B} ${C:-x} $$ $1 ${} x$ ${D"), ["A", "B", "C"]);
        assert_eq!(dotenv_names("A=1\n# B=2\nexport C = 3\n=4\nnot a line\n"), ["A", "C"]);
    }

    #[test]
    fn odd_bytes_and_odd_shapes_never_panic() {
        let f = Fixture::new();
        std::fs::create_dir_all(f.home.path().join(".codex")).unwrap();
        std::fs::write(f.home.path().join(".codex/config.toml"), [0xff, 0xfe, b'[']).unwrap();
        f.write(true, ".gemini/settings.json", "[1, 2, \"$X\"]");
        f.write(false, "opencode.json", "");
        f.write(true, ".claude/settings.json", "{\"apiKeyHelper\": 3, \"env\": [1]}");
        for kind in AgentKind::ALL {
            let _ = f.read(kind);
        }
        let codex = f.read(AgentKind::Codex);
        assert_eq!(codex.problems.len(), 1);
        assert_eq!(codex.problems[0].message, "not UTF-8 text");
        assert_eq!(f.read(AgentKind::Gemini).passed().collect::<Vec<_>>(), ["X"]);
    }
}
