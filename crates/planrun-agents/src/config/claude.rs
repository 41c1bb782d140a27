//! Claude Code: the `$NAME` references of `apiKeyHelper` and the other helper commands, its
//! `env` block, and the cloud (Bedrock, Vertex) it is set up for.

use super::gemini::dollar_refs;
use super::shared::{Ctx, is_var_name, parse_jsonc, read_text, unique};
use super::{Found, Named};
use std::path::PathBuf;

/// The settings whose value is a shell command Claude Code runs (with its own environment).
pub(super) const CLAUDE_HELPERS: &[&str] =
    &["apiKeyHelper", "awsCredentialExport", "awsAuthRefresh", "otelHeadersHelper", "proxyAuthHelper"];

/// The variables Claude Code reads for Amazon Bedrock (`CLAUDE_CODE_USE_BEDROCK`): the AWS
/// SDK's region, profile, credentials and their files; `AWS_REGION` is required (Claude Code
/// does not take the region from the AWS configuration files). Whether each is a credential.
pub(super) const CLAUDE_BEDROCK: &[(&str, bool)] = &[
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
pub(super) const CLAUDE_VERTEX: &[(&str, bool)] = &[
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
pub(super) type Cloud = (&'static str, &'static [(&'static str, bool)], &'static str, Option<(PathBuf, String)>);

/// Whether a variable's value turns a switch on, as Claude Code reads `CLAUDE_CODE_USE_*`.
pub(super) fn truthy(v: &str) -> bool {
    matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on")
}

/// Claude Code: `CLAUDE_CONFIG_DIR/settings.json` (default `~/.claude`), the project's
/// `.claude/settings.json` and `.claude/settings.local.json`, and the managed
/// `/etc/claude-code/managed-settings.json`. The helper commands' `$NAME` references are read
/// from the environment; the `env` block's variables are set by the file. With Bedrock or
/// Vertex AI switched on (in the environment or by a file's `env` block), the cloud's variables
/// are named too: the AWS or Google credentials Claude Code then reads from its environment.
pub(super) fn claude(ctx: &Ctx<'_>) -> Found {
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
