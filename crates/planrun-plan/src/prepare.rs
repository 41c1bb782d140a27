//! Steps a plan asks to run before a task's agent starts (CCW's `flow_control.pre_analysis`):
//! commands whose output becomes context for the agent and for later steps. What each command
//! is, read from how the plan writes it; running them is the runtime's part.

use serde::Serialize;

/// One step: its commands, run in order, and where its output goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrepStep {
    /// The step's name (`load_synthesis_specification`), or its position.
    pub name: String,
    /// What the step is for, in the plan's words.
    pub action: String,
    pub commands: Vec<PrepCommand>,
    /// The variable the output is kept in: `[name]` in later steps and in the prompt.
    pub output_to: Option<String>,
    pub on_error: OnError,
}

/// One command of a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "text", rename_all = "snake_case")]
pub enum PrepCommand {
    /// A shell command line (`bash(…)`, or a plain command).
    Shell(String),
    /// `Read(path)`: a file of the repository.
    Read(String),
    /// `Glob(pattern)`: the repository's files that match.
    Glob(String),
    /// `Grep(pattern)` or `Grep(pattern, path)`: lines of the repository's files that match.
    Grep(String),
    /// Anything else (`Extract(…)`, an MCP tool, prose): left to the agent, which is told so.
    Agent(String),
}

/// What a failed step does (`on_error`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// The step's output is empty and the next step runs (CCW's default for context loading).
    #[default]
    SkipOptional,
    /// The task's attempt fails with the step's output.
    Fail,
    /// The step runs once more; a second failure fails the attempt.
    RetryOnce,
}

impl OnError {
    /// Reads `skip_optional`, `fail`, `retry_once` (and `skip`, `retry`, `abort`).
    pub fn parse(word: &str) -> Option<Self> {
        match word.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "skip_optional" | "skip" | "optional" | "continue" | "ignore" => Some(Self::SkipOptional),
            "fail" | "abort" | "stop" | "error" => Some(Self::Fail),
            "retry_once" | "retry" => Some(Self::RetryOnce),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SkipOptional => "skip_optional",
            Self::Fail => "fail",
            Self::RetryOnce => "retry_once",
        }
    }
}

impl PrepCommand {
    /// Reads one command as a plan writes it. `shell` says whether a line that is no tool call
    /// is a shell command (a step's `command`, or a line starting with a known program) rather
    /// than prose for the agent.
    pub fn parse(text: &str, shell: bool) -> Self {
        let t = text.trim();
        if let Some((tool, inner)) = tool_call(t) {
            return match tool.to_ascii_lowercase().as_str() {
                "bash" | "sh" | "shell" | "run" => Self::Shell(inner.to_owned()),
                "read" => Self::Read(unquote(inner).to_owned()),
                "glob" => Self::Glob(unquote(inner).to_owned()),
                "grep" => Self::Grep(inner.to_owned()),
                _ => Self::Agent(t.to_owned()),
            };
        }
        if shell { Self::Shell(t.to_owned()) } else { Self::Agent(t.to_owned()) }
    }

    /// The command as the plan wrote it, for messages.
    pub fn shown(&self) -> String {
        match self {
            Self::Shell(c) => c.clone(),
            Self::Read(p) => format!("Read({p})"),
            Self::Glob(p) => format!("Glob({p})"),
            Self::Grep(p) => format!("Grep({p})"),
            Self::Agent(t) => t.clone(),
        }
    }
}

/// `Name(inner)` with `Name` an identifier (`mcp__code-index__search` included).
fn tool_call(t: &str) -> Option<(&str, &str)> {
    let open = t.find('(')?;
    let name = &t[..open];
    let ok = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    (ok && t.ends_with(')')).then(|| (name, t[open + 1..t.len() - 1].trim()))
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    for q in ['"', '\'', '`'] {
        if let Some(inner) = s.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner;
        }
    }
    s
}

/// Replaces each `[name]` of a known variable in `text` by `value(name)`.
pub fn substitute(text: &str, known: &[(String, String)], value: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find(']').map(|close| (&after[..close], close)) {
            Some((name, close)) if known.iter().any(|(k, _)| k == name) => {
                out.push_str(&value(name));
                rest = &after[close + 1..];
            }
            _ => {
                out.push('[');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_read_as_plans_write_them() {
        assert_eq!(PrepCommand::parse("bash(ls src | head)", false), PrepCommand::Shell("ls src | head".into()));
        assert_eq!(PrepCommand::parse("Read(docs/spec.md)", false), PrepCommand::Read("docs/spec.md".into()));
        assert_eq!(PrepCommand::parse("Glob(\"src/**/*.ts\")", false), PrepCommand::Glob("src/**/*.ts".into()));
        assert_eq!(PrepCommand::parse("Grep(TODO, src)", false), PrepCommand::Grep("TODO, src".into()));
        assert!(matches!(PrepCommand::parse("Extract(brainstorm.synthesis)", false), PrepCommand::Agent(_)));
        assert!(matches!(PrepCommand::parse("mcp__code-index__find_files(*.ts)", false), PrepCommand::Agent(_)));
        assert_eq!(PrepCommand::parse("git log --oneline -5", true), PrepCommand::Shell("git log --oneline -5".into()));
        assert!(matches!(PrepCommand::parse("Load the role analyses", false), PrepCommand::Agent(_)));
        assert!(matches!(PrepCommand::parse("make context", true), PrepCommand::Shell(_)));
        assert_eq!(OnError::parse("retry_once"), Some(OnError::RetryOnce));
        assert_eq!(OnError::parse("skip-optional"), Some(OnError::SkipOptional));
        assert_eq!(OnError::parse("maybe"), None);
    }

    #[test]
    fn only_known_variables_are_substituted() {
        let known = vec![("spec".to_owned(), "S".to_owned())];
        let out = substitute("cat [spec] [other] [spec", &known, |n| format!("<{n}>"));
        assert_eq!(out, "cat <spec> [other] [spec");
    }
}
