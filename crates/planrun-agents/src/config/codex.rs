//! Codex: the variables `CODEX_HOME/config.toml` and a project's `.codex/config.toml` name
//! (`env_key`, `env_http_headers`, MCP servers' `env_vars` and `bearer_token_env_var`), and the
//! configured provider.

use super::shared::{Ctx, is_var_name, line_of, read_text, unique};
use super::{Found, Named, Problem};
use std::path::{Path, PathBuf};

/// Codex: `CODEX_HOME/config.toml` (default `~/.codex`), and a project's `.codex/config.toml`.
pub(super) fn codex(ctx: &Ctx<'_>) -> Found {
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
