//! Gemini CLI: the `$NAME`/`${NAME}` references in its `settings.json` files, and the variables
//! its `.env` files set.

use super::shared::{Ctx, is_var_name, parse_jsonc, read_text, secret_at, strings, unique};
use super::{Found, Named};
use std::path::PathBuf;

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
pub(super) fn gemini(ctx: &Ctx<'_>) -> Found {
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

pub(super) fn gemini_env_file(ctx: &Ctx<'_>) -> Option<PathBuf> {
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
pub(super) fn dotenv_pairs(text: &str) -> Vec<(String, String)> {
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
