//! Tests of reading each CLI's configuration, on real files in temporary homes.

use super::*;
use super::{codex::*, gemini::*, opencode::*};
use crate::adapter::AgentKind;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

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
    f.write(true, ".gemini/.env", "# keys\nexport GEMINI_API_KEY=\"AIzaFromTheDotEnv0002\"\nLOG_LEVEL=debug # noisy\n");
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
    f.write(true, ".config/opencode/opencode.json", r#"{"provider": {"o": {"options": {"apiKey": "{env:O_KEY}"}}}}"#);
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
