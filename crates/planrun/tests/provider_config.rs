//! An agent CLI configured with a model provider of its own: the real Codex CLI (pinned, from
//! `.ci/agent-clis.sh`) with `[model_providers.gw]` pointing at the test kit's scripted server and
//! reading its key from `GW_API_KEY`, run by planrun without `--pass-env`. With the variable set
//! the run succeeds and the key is nowhere in planrun's files or output; without it the run
//! stops with a configuration message that names the variable and the file, not "run again".
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use planrun_testkit::ModelServer;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Output;
use support::{Repo, text};

/// A key that no known key shape matches: only its being named by the configuration can get it
/// redacted.
const GW_KEY: &str = "gw-e2e-4f1c9a7b2d6e8f03a5c7";

const PLAN: &str = "# One

## Task a: Write alpha

Files: `a.txt`

Create a.txt holding the word alpha (MARK-A).

### Verify

- `grep -qx alpha a.txt`
";

/// A Codex home whose selected provider is `gw` at `url`, reading its key from `GW_API_KEY`.
fn codex_home(home: &Path, url: &str) -> std::path::PathBuf {
    let dir = home.join(".codex");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("config.toml");
    std::fs::write(
        &file,
        format!(
            "model_provider = \"gw\"\nmodel = \"gpt-test\"\ncheck_for_update_on_startup = false\n\n\
             [model_providers.gw]\nname = \"gateway\"\nbase_url = \"{url}/v1\"\nenv_key = \"GW_API_KEY\"\n\
             wire_api = \"responses\"\nrequest_max_retries = 0\nstream_max_retries = 0\n\n[analytics]\nenabled = false\n"
        ),
    )
    .unwrap();
    file
}

/// `planrun run` with codex, its home in `home`, and `GW_API_KEY` set to `key` (or unset).
fn run(repo: &Repo, home: &Path, server: &ModelServer, key: Option<&str>) -> Output {
    let bin = planrun_testkit::agent_cli("codex").unwrap_or_else(|e| panic!("{e}"));
    let path = format!("{}:{}", bin.parent().unwrap().display(), std::env::var("PATH").unwrap_or_default());
    codex_home(home, &server.url());
    let mut cmd = repo.cmd(&[
        "run",
        "plan.md",
        "--agent",
        "codex",
        "--model",
        "gpt-test",
        "-j",
        "1",
        "--json",
        "--grace",
        "1s",
        "--reviews",
        "none",
        "--yes",
    ]);
    cmd.env("PATH", path).env("HOME", home).env("CODEX_HOME", home.join(".codex"));
    // Nothing else would give codex a key: only the configured variable may.
    for v in ["XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "OPENAI_API_KEY", "CODEX_API_KEY"]
    {
        cmd.env_remove(v);
    }
    match key {
        Some(k) => cmd.env("GW_API_KEY", k),
        None => cmd.env_remove("GW_API_KEY"),
    };
    cmd.output().unwrap()
}

/// Every file under the state directory, as text.
fn state_files(repo: &Repo) -> String {
    let mut all = String::new();
    let mut stack = vec![repo.path().join(".planrun")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                all.push_str(&String::from_utf8_lossy(&std::fs::read(&p).unwrap()));
            }
        }
    }
    all
}

fn setup() -> (Repo, tempfile::TempDir) {
    let repo = Repo::new(PLAN, "exit 1");
    repo.write("planrun.toml", "[prices.\"gpt-test\"]\ninput = 1.0\noutput = 2.0\n");
    (repo, tempfile::tempdir().unwrap())
}

#[test]
fn a_custom_codex_provider_gets_its_key_without_pass_env() {
    let (repo, home) = setup();
    let write = json!({"kind": "tool_use", "name": "exec_command", "input": {"cmd": "printf '%s\\n' alpha > a.txt"}});
    let turns = vec![
        json!({"when": "MARK-A", "reply": write, "usage": {"input_tokens": 100, "output_tokens": 20}}),
        json!({"when": "function_call_output", "reply": {"kind": "text", "text": "Done."}, "usage": {"input_tokens": 50, "output_tokens": 5}}),
    ];
    let scenario = json!({"turns": turns, "fallback": {"kind": "text", "text": "ok"}});
    let server = ModelServer::start(ModelServer::scenario(&scenario.to_string()).unwrap()).unwrap();
    let out = run(&repo, home.path(), &server, Some(GW_KEY));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(repo.read("a.txt"), "alpha\n");
    // Codex sent the configured variable's value as its key: planrun passed it on.
    let requests = server.requests();
    assert!(!requests.is_empty());
    for r in &requests {
        let auth = r.headers.iter().find(|(k, _)| k == "authorization").map(|(_, v)| v.as_str());
        assert_eq!(auth, Some(format!("Bearer {GW_KEY}").as_str()), "{}", r.path);
    }
    // The key is nowhere in planrun's files or output.
    assert!(!state_files(&repo).contains(GW_KEY), "a file under .planrun/ holds the key");
    assert!(!String::from_utf8_lossy(&out.stdout).contains(GW_KEY));
    assert!(!String::from_utf8_lossy(&out.stderr).contains(GW_KEY));
}

#[test]
fn an_unset_provider_key_is_a_configuration_problem_named_with_its_file() {
    let (repo, home) = setup();
    let scenario = json!({"turns": [], "fallback": {"kind": "text", "text": "ok"}});
    let server = ModelServer::start(ModelServer::scenario(&scenario.to_string()).unwrap()).unwrap();
    let out = run(&repo, home.path(), &server, None);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(server.requests().is_empty(), "codex stops before it calls the provider");
    let ev = support::events(&out);
    let finished = ev.last().unwrap();
    assert_eq!(finished["outcome"], "provider_error", "{finished}");
    assert_eq!(finished["class"], "config", "{finished}");
    let help = finished["help"].as_str().unwrap();
    let file = home.path().join(".codex/config.toml");
    assert!(help.contains("`GW_API_KEY` is not set"), "{help}");
    assert!(help.contains("model_providers.gw.env_key") && help.contains(&file.display().to_string()), "{help}");
    for advice in ["run the same command", "works again", "to resume"] {
        assert!(!help.contains(advice), "a configuration problem is not waited out: {help}");
    }
    // Nothing was counted against the task.
    let st: Value = serde_json::from_slice(&repo.cmd(&["status", "--json"]).output().unwrap().stdout).unwrap();
    assert_eq!(st["tasks"][0]["failures"].as_u64(), Some(0), "{st}");
}

#[test]
fn doctor_names_the_configured_variables_never_their_values() {
    let (_repo, home) = setup();
    let url = "http://127.0.0.1:9";
    codex_home(home.path(), url);
    let bin = planrun_testkit::agent_cli("codex").unwrap_or_else(|e| panic!("{e}"));
    let doctor = |key: Option<&str>, json: bool| {
        let mut cmd = std::process::Command::new(support::bin());
        cmd.args(["doctor", "--agent", "codex"]).env("NO_COLOR", "1");
        if json {
            cmd.arg("--json");
        }
        cmd.env("PATH", format!("{}:/usr/bin:/bin", bin.parent().unwrap().display()))
            .env("HOME", home.path())
            .env("CODEX_HOME", home.path().join(".codex"))
            .current_dir(home.path());
        match key {
            Some(k) => cmd.env("GW_API_KEY", k),
            None => cmd.env_remove("GW_API_KEY"),
        };
        let out = cmd.output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let file = home.path().join(".codex/config.toml").display().to_string();
    let set: Value = serde_json::from_str(&doctor(Some(GW_KEY), true)).unwrap();
    let vars = &set["agents"][0]["config_variables"];
    assert_eq!(
        vars,
        &json!([{"name": "GW_API_KEY", "file": file, "at": "model_providers.gw.env_key", "set": true, "required": true, "set_by_file": false, "project": false}])
    );
    let human = doctor(Some(GW_KEY), false);
    assert!(human.contains("variable     GW_API_KEY set, passed to the agent"), "{human}");
    assert!(!human.contains(GW_KEY));
    let unset = doctor(None, false);
    assert!(unset.contains("GW_API_KEY not set"), "{unset}");
    assert!(unset.contains("fix") && unset.contains("GW_API_KEY, which is not set"), "{unset}");
}

#[test]
fn doctor_reads_gemini_settings_and_the_env_file_it_loads() {
    let home = tempfile::tempdir().unwrap();
    let gemini = home.path().join(".gemini");
    std::fs::create_dir_all(&gemini).unwrap();
    std::fs::write(
        gemini.join("settings.json"),
        "{\n  // MCP server with a token from the environment\n  \"mcpServers\": {\"gh\": {\"command\": \"gh-mcp\", \"env\": {\"GITHUB_TOKEN\": \"$GH_MCP_TOKEN\"}}}\n}\n",
    )
    .unwrap();
    let value = "AIzaDoctorE2E000000000000000000000000000";
    std::fs::write(gemini.join(".env"), format!("GEMINI_API_KEY={value}\n")).unwrap();
    let bin = planrun_testkit::agent_cli("gemini").unwrap_or_else(|e| panic!("{e}"));
    let out = std::process::Command::new(support::bin())
        .args(["doctor", "--agent", "gemini", "--json"])
        .env("PATH", format!("{}:/usr/bin:/bin", bin.parent().unwrap().display()))
        .env("HOME", home.path())
        .env("GOOGLE_GEMINI_BASE_URL", "http://127.0.0.1:9")
        .env("GEMINI_CLI_SYSTEM_SETTINGS_PATH", home.path().join("no-system-settings.json"))
        .env_remove("GEMINI_API_KEY")
        .env_remove("GOOGLE_API_KEY")
        .env_remove("GH_MCP_TOKEN")
        .current_dir(home.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains(value), "{stdout}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let a = &report["agents"][0];
    let env_file = gemini.join(".env").display().to_string();
    assert_eq!(a["credentials"], json!(format!("GEMINI_API_KEY set by {env_file} (value not shown)")), "{a}");
    let vars = a["config_variables"].as_array().unwrap();
    let named = |name: &str| vars.iter().find(|v| v["name"] == name).cloned().unwrap_or(Value::Null);
    assert_eq!(named("GH_MCP_TOKEN")["at"], "mcpServers.gh.env.GITHUB_TOKEN", "{a}");
    assert_eq!(named("GH_MCP_TOKEN")["set"], false, "{a}");
    assert_eq!(named("GEMINI_API_KEY")["set_by_file"], true, "{a}");
}

#[test]
fn doctor_knows_claude_code_on_bedrock_by_its_aws_variables() {
    let home = tempfile::tempdir().unwrap();
    let secret = "wJalrXUtnFEMIK7MDENGbPxRfiCYDOCTORE2E0000";
    let bin = planrun_testkit::agent_cli("claude").unwrap_or_else(|e| panic!("{e}"));
    let doctor = |region: Option<&str>| {
        let mut cmd = std::process::Command::new(support::bin());
        cmd.args(["doctor", "--agent", "claude", "--json"])
            .env_clear()
            .env("PATH", format!("{}:/usr/bin:/bin", bin.parent().unwrap().display()))
            .env("HOME", home.path())
            .env("CLAUDE_CODE_USE_BEDROCK", "1")
            .env("AWS_ACCESS_KEY_ID", "AKIADOCTORE2E0000000")
            .env("AWS_SECRET_ACCESS_KEY", secret)
            .current_dir(home.path());
        if let Some(r) = region {
            cmd.env("AWS_REGION", r);
        }
        let out = cmd.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(!stdout.contains(secret), "{stdout}");
        let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
        report["agents"][0].clone()
    };
    let a = doctor(None);
    assert_eq!(a["credentials"], "Claude Code on Bedrock: AWS_ACCESS_KEY_ID is set (value not shown)", "{a}");
    let vars = a["config_variables"].as_array().unwrap();
    let named = |name: &str| vars.iter().find(|v| v["name"] == name).cloned().unwrap_or(Value::Null);
    assert_eq!((&named("AWS_REGION")["set"], &named("AWS_REGION")["required"]), (&json!(false), &json!(true)), "{a}");
    assert_eq!(named("AWS_SECRET_ACCESS_KEY")["set"], true, "{a}");
    assert!(a["problems"].to_string().contains("AWS_REGION is not set"), "{a}");
    let a = doctor(Some("eu-west-1"));
    assert!(!a["problems"].to_string().contains("AWS_REGION"), "{a}");
}
