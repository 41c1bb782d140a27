//! opencode: the `{env:NAME}` references in its `opencode.json`/`opencode.jsonc` files.

use super::shared::{Ctx, parse_jsonc, read_text, secret_at, strings, unique};
use super::{Found, Named};
use std::path::{Path, PathBuf};

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
pub(super) fn opencode(ctx: &Ctx<'_>) -> Found {
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

pub(super) fn opencode_text(text: &str, file: &Path, found: &mut Found) {
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
