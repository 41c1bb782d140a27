//! Real agent CLIs against the test kit's scripted model server: the environment that points
//! Claude Code and Codex at it (each with its configuration in a temporary HOME) and the
//! scenario turns tests are written with.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use std::path::Path;

pub const CLAUDE_KEY: &str = "sk-ant-e2e-pipeline-00000000000000000";
pub const CODEX_KEY: &str = "sk-e2e-pipeline-codex-0000000000000000";

/// PATH with the pinned CLIs (installed by `.ci/agent-clis.sh`) first.
pub fn path_with_clis() -> String {
    let clis = planrun_testkit::agent_cli("claude").unwrap_or_else(|e| panic!("{e}"));
    planrun_testkit::agent_cli("codex").unwrap_or_else(|e| panic!("{e}"));
    format!("{}:{}", clis.parent().unwrap().display(), std::env::var("PATH").unwrap_or_default())
}

/// A turn that answers a request holding `when`.
pub fn turn(when: &str, reply: Value) -> Value {
    json!({"when": when, "reply": reply, "usage": {"input_tokens": 100, "output_tokens": 20}})
}

/// Claude Code's `Write` of `content` to `file` in task `task`'s worktree.
pub fn write(worktrees: &Path, task: &str, file: &str, content: &str) -> Value {
    let path = worktrees.join(task).join(file).display().to_string();
    json!({"kind": "tool_use", "name": "Write", "input": {"file_path": path, "content": content}})
}

/// A reviewer's answer: the verdict as the text of its final message.
pub fn verdict(verdict: &str, findings: Value) -> Value {
    json!({"kind": "text", "text": json!({"verdict": verdict, "findings": findings}).to_string()})
}

/// The environment that points Claude Code and Codex at `url`, each with its configuration in
/// `home`.
pub fn agent_env(home: &Path, url: &str) -> Vec<(String, String)> {
    let codex_home = home.join(".codex");
    std::fs::create_dir_all(&codex_home).unwrap();
    std::fs::write(
        codex_home.join("config.toml"),
        format!(
            "model_provider = \"mock\"\nmodel = \"gpt-test\"\ncheck_for_update_on_startup = false\n\
             [model_providers.mock]\nname = \"mock\"\nbase_url = \"{url}/v1\"\nenv_key = \"OPENAI_API_KEY\"\n\
             wire_api = \"responses\"\nrequest_max_retries = 0\nstream_max_retries = 0\n[analytics]\nenabled = false\n"
        ),
    )
    .unwrap();
    [
        ("HOME", home.display().to_string()),
        ("ANTHROPIC_BASE_URL", url.to_owned()),
        ("ANTHROPIC_API_KEY", CLAUDE_KEY.to_owned()),
        ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1".to_owned()),
        ("DISABLE_TELEMETRY", "1".to_owned()),
        ("DISABLE_AUTOUPDATER", "1".to_owned()),
        ("DISABLE_ERROR_REPORTING", "1".to_owned()),
        ("CLAUDE_CODE_MAX_RETRIES", "0".to_owned()),
        ("CODEX_HOME", codex_home.display().to_string()),
        ("OPENAI_API_KEY", CODEX_KEY.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// A turn that answers a request holding `when`, reporting `input` and `output` tokens.
pub fn turn_using(when: &str, reply: Value, input: u64, output: u64) -> Value {
    json!({"when": when, "reply": reply, "usage": {"input_tokens": input, "output_tokens": output}})
}

/// Claude Code's `Bash` tool running `command`.
pub fn bash(command: &str) -> Value {
    json!({"kind": "tool_use", "name": "Bash", "input": {"command": command, "description": "run"}})
}

/// Points `cmd` at the pinned CLIs and at `url`, each CLI's configuration in `home` (the
/// configuration, data and cache folders follow `HOME` when the XDG variables are unset).
pub fn point_at(cmd: &mut std::process::Command, home: &Path, url: &str) {
    cmd.env("PATH", path_with_clis());
    for v in ["XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "IS_SANDBOX"] {
        cmd.env_remove(v);
    }
    for (k, v) in agent_env(home, url) {
        cmd.env(k, v);
    }
}
