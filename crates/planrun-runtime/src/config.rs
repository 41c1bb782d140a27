//! `planrun.toml`: which agent and model each role uses, how many rework rounds resume the
//! implementer's session, which extra variables agents may see and which values are secrets,
//! and the price table. Read from `--config`, else `planrun.toml` at the workspace root; a file
//! with a typo is an error with its line, never silently ignored.

use planrun_agents::{AgentKind, Price, PriceTable};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The roles an agent can play: the implementer, the reviewers (also the reviewer's take
/// before implementation) and the tester.
pub const ROLES: [&str; 3] = ["implement", "review", "test"];

/// What a role runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleConfig {
    /// `claude`, `codex`, `gemini`, `opencode` or `command`.
    pub agent: Option<String>,
    pub model: Option<String>,
    /// The template of the `command` agent.
    pub command: Option<String>,
}

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The agent of every role that does not name its own.
    pub agent: Option<String>,
    pub model: Option<String>,
    pub command: Option<String>,
    /// How many rework rounds resume the implementer's session before a fresh one starts.
    pub resume_rounds: Option<u32>,
    /// Extra variables (names or `PREFIX*`) agents may see.
    #[serde(default)]
    pub pass_env: Vec<String>,
    /// Variables whose values are secrets to redact everywhere (values of variables named like
    /// `*KEY*`, `*TOKEN*`, `*SECRET*` that reach an agent are redacted anyway).
    #[serde(default)]
    pub redact_env: Vec<String>,
    #[serde(default)]
    pub roles: BTreeMap<String, RoleConfig>,
    /// USD per million tokens, by model name or `PREFIX*`.
    #[serde(default)]
    pub prices: BTreeMap<String, Price>,
    /// The pipeline's defaults (the flags of the same names override them).
    #[serde(default)]
    pub pipeline: PipelineConfig,
    /// Budgets, rate-limit waits and the watchdog (the flags of the same names override them).
    #[serde(default)]
    pub budget: BudgetConfig,
    /// Usage windows per agent (`[windows.claude] hours = 5, usd = 20`, or several as
    /// `[[windows.claude]]`): past `soft_percent` of the cap (the cap itself when unset) what an
    /// agent used in the last `hours` makes its next steps wait; past `hard_percent` the run
    /// stops.
    #[serde(default)]
    pub windows: BTreeMap<String, Windows>,
}

/// `[budget]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetConfig {
    pub usd: Option<f64>,
    pub tokens: Option<u64>,
    pub task_usd: Option<f64>,
    pub task_tokens: Option<u64>,
    pub soft_percent: Option<u8>,
    /// A duration (`60s`, `5m`).
    pub rate_limit_wait: Option<String>,
    /// A duration, or `none`.
    pub watchdog: Option<String>,
    pub on_no_progress: Option<super::budget::WatchPolicy>,
    pub on_repeat: Option<super::budget::WatchPolicy>,
}

/// One agent's usage window.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowConfig {
    pub hours: f64,
    pub usd: Option<f64>,
    pub tokens: Option<u64>,
    /// Past this share of the cap, the agent's next steps wait for room; running ones finish.
    pub soft_percent: Option<u8>,
    /// Past this share of the cap, every running step stops and the run ends (resumable).
    pub hard_percent: Option<u8>,
}

/// An agent's usage windows: one table (`[windows.claude]`) or several (`[[windows.claude]]`).
#[derive(Debug, Clone, Default)]
pub struct Windows(pub Vec<WindowConfig>);

impl<'de> Deserialize<'de> for Windows {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Windows;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a table [windows.AGENT] or an array of tables [[windows.AGENT]]")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Windows, A::Error> {
                let one = WindowConfig::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(Windows(vec![one]))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Windows, A::Error> {
                Vec::<WindowConfig>::deserialize(serde::de::value::SeqAccessDeserializer::new(seq)).map(Windows)
            }
        }
        d.deserialize_any(V)
    }
}

/// `[pipeline]`: the stages each task goes through, where tasks work and who commits.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    pub workspace: Option<super::pipeline::WorkspaceMode>,
    pub into: Option<String>,
    pub commit: Option<super::pipeline::CommitMode>,
    /// `--on-fail`.
    pub on_fail: Option<super::pipeline::OnFail>,
    /// `--review-order`.
    pub review_order: Option<super::pipeline::ReviewOrder>,
    pub batch: Option<u32>,
    pub scope: Option<super::pipeline::ScopePolicy>,
    pub reviews: Option<Vec<super::pipeline::ReviewKind>>,
    #[serde(default)]
    pub take: bool,
    /// `--pipeline`.
    #[serde(default)]
    pub plan_ahead: bool,
    #[serde(default)]
    pub tester: bool,
    /// `--sparse`: worktrees hold only the folders of each task's files.
    #[serde(default)]
    pub sparse: bool,
    /// `--sparse-dir`: folders every sparse worktree also holds.
    #[serde(default)]
    pub sparse_dirs: Vec<String>,
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read `{}`: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("`{}` is not a valid planrun.toml: {message}", path.display())]
    Parse { path: PathBuf, message: String },
}

/// Where the configuration is looked for when `--config` is not given.
pub fn default_path(workspace: &Path) -> PathBuf {
    workspace.join("planrun.toml")
}

impl Config {
    /// Reads `explicit`, or `planrun.toml` in `workspace` if there is one.
    pub fn load(explicit: Option<&Path>, workspace: &Path) -> Result<(Config, Option<PathBuf>), ConfigError> {
        let path = match explicit {
            Some(p) => p.to_owned(),
            None => {
                let p = default_path(workspace);
                if !p.is_file() {
                    return Ok((Config::default(), None));
                }
                p
            }
        };
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read { path: path.clone(), source })?;
        let config = Self::parse(&text).map_err(|message| ConfigError::Parse { path: path.clone(), message })?;
        Ok((config, Some(path)))
    }

    /// Parses and checks a configuration text.
    pub fn parse(text: &str) -> Result<Config, String> {
        let config: Config = toml::from_str(text).map_err(|e| e.to_string().trim_end().to_owned())?;
        for name in config.roles.keys() {
            if !ROLES.contains(&name.as_str()) {
                return Err(format!("unknown role `[roles.{name}]`; roles: {}", ROLES.join(", ")));
            }
        }
        let agents = std::iter::once(config.agent.as_ref()).chain(config.roles.values().map(|r| r.agent.as_ref()));
        for a in agents.flatten() {
            a.parse::<AgentKind>()?;
        }
        for (name, ws) in &config.windows {
            name.parse::<AgentKind>().map_err(|e| format!("[windows.{name}]: {e}"))?;
            for w in &ws.0 {
                if !(w.hours > 0.0 && w.hours.is_finite()) || (w.usd.is_none() && w.tokens.is_none()) {
                    return Err(format!("[windows.{name}] needs `hours` above 0 and a cap: `usd` or `tokens`"));
                }
                let pct = [w.soft_percent, w.hard_percent];
                if pct.iter().flatten().any(|p| *p == 0 || *p > 100) {
                    return Err(format!("[windows.{name}] soft_percent and hard_percent must be between 1 and 100"));
                }
                if let [Some(s), Some(h)] = pct
                    && s > h
                {
                    return Err(format!("[windows.{name}] soft_percent ({s}) is above hard_percent ({h})"));
                }
            }
        }
        if let Some(d) = &config.budget.rate_limit_wait {
            crate::options::parse_duration(d).map_err(|e| format!("[budget] rate_limit_wait: {e}"))?;
        }
        if let Some(d) = &config.budget.watchdog {
            crate::options::parse_limit(d).map_err(|e| format!("[budget] watchdog: {e}"))?;
        }
        if config.budget.soft_percent.is_some_and(|p| p == 0 || p > 100) {
            return Err("[budget] soft_percent must be between 1 and 100".into());
        }
        Ok(config)
    }

    /// The price table: the configured prices before the built-in ones.
    pub fn prices(&self) -> PriceTable {
        PriceTable { user: self.prices.iter().map(|(k, v)| (k.clone(), *v)).collect() }
    }

    /// The setting `pick` for `role`: the role's own, else the file's default.
    pub fn role<'a>(&'a self, role: &str, pick: fn(&'a RoleConfig) -> Option<&'a String>) -> Option<&'a str> {
        self.roles.get(role).and_then(pick).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_file_parses() {
        let c = Config::parse(
            r#"
agent = "claude"
model = "claude-sonnet-4-5"
resume_rounds = 1
pass_env = ["AWS_PROFILE", "MY_*"]
redact_env = ["MY_TOKEN"]

[roles.implement]
agent = "codex"
model = "gpt-5-codex"

[roles.review]
agent = "gemini"

[prices."gpt-5-codex"]
input = 1.25
output = 10
cache_read = 0.125
"#,
        )
        .unwrap();
        assert_eq!(c.role("implement", |r| r.agent.as_ref()), Some("codex"));
        assert_eq!(c.role("review", |r| r.model.as_ref()), None);
        assert_eq!(c.resume_rounds, Some(1));
        assert_eq!(c.prices().price("gpt-5-codex").map(|p| p.cache_read), Some(0.125));
    }

    #[test]
    fn budgets_windows_and_the_pipeline_parse_and_bad_values_are_errors() {
        let c = Config::parse(
            "[budget]\nusd = 20.0\ntask_tokens = 2_000_000\nsoft_percent = 70\nrate_limit_wait = \"2m\"\n\
             watchdog = \"none\"\non_repeat = \"block\"\n[windows.claude]\nhours = 5\nusd = 20.0\n\
             [pipeline]\nworkspace = \"shared\"\nreviews = [\"code\"]\nscope = \"warn\"\n",
        )
        .unwrap();
        assert_eq!(c.budget.usd, Some(20.0));
        assert_eq!(c.budget.task_tokens, Some(2_000_000));
        assert_eq!(c.budget.on_repeat, Some(super::super::budget::WatchPolicy::Block));
        assert_eq!(c.windows["claude"].0[0].hours, 5.0);
        let two = Config::parse(
            "[[windows.claude]]\nhours = 5\nusd = 20.0\nsoft_percent = 80\nhard_percent = 90\n\
             [[windows.claude]]\nhours = 168\ntokens = 5000000\nsoft_percent = 90\nhard_percent = 95\n",
        )
        .unwrap();
        let w = &two.windows["claude"].0;
        assert_eq!(
            (w.len(), w[0].soft_percent, w[1].hard_percent, w[1].tokens),
            (2, Some(80), Some(95), Some(5_000_000))
        );
        assert_eq!(c.pipeline.reviews.as_deref(), Some(&[super::super::pipeline::ReviewKind::Code][..]));
        for (bad, words) in [
            ("[budget]\nrate_limit_wait = \"soon\"\n", "rate_limit_wait"),
            ("[budget]\nsoft_percent = 0\n", "soft_percent"),
            ("[windows.clod]\nhours = 5\nusd = 1.0\n", "clod"),
            ("[windows.claude]\nhours = 5\n", "needs `hours` above 0 and a cap"),
            ("[windows.claude]\nhours = 5\nusd = 1.0\nsoft_percent = 95\nhard_percent = 90\n", "is above hard_percent"),
            ("[[windows.claude]]\nhours = 5\nusd = 1.0\nsoft = 80\n", "unknown field `soft`"),
            ("[budget]\nusdd = 1.0\n", "usdd"),
        ] {
            let e = Config::parse(bad).unwrap_err();
            assert!(e.contains(words), "{bad}: {e}");
        }
    }

    #[test]
    fn typos_are_errors_that_name_the_line() {
        let e = Config::parse("agent = \"claude\"\nmodle = \"x\"\n").unwrap_err();
        assert!(e.contains("modle") && e.contains("line 2"), "{e}");
        let e = Config::parse("[roles.implementer]\nagent = \"claude\"\n").unwrap_err();
        assert!(e.contains("unknown role") && e.contains("implement, review, test"), "{e}");
        let e = Config::parse("agent = \"aider\"\n").unwrap_err();
        assert!(e.contains("unknown agent `aider`"), "{e}");
        let e = Config::parse("[prices.m]\ninput = 1\n").unwrap_err();
        assert!(e.contains("output"), "{e}");
    }

    #[test]
    fn the_plan_checker_knows_the_agents_planrun_runs() {
        let kinds: Vec<&str> = AgentKind::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(kinds, planrun_plan::validate::KNOWN_AGENTS);
    }
}
