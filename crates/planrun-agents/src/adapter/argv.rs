//! The argv of one run of each CLI agent: the prompt as one argument, no interactive approval,
//! the model, the session to resume.

use super::AgentKind;

/// One run of a CLI agent.
#[derive(Debug, Clone, Default)]
pub struct Call<'a> {
    /// The whole prompt, passed as one argument (never through a shell).
    pub prompt: &'a str,
    pub model: Option<&'a str>,
    /// A session to resume instead of starting a new one.
    pub resume: Option<&'a str>,
    /// The workspace (opencode takes its project from `--dir`, not from its working directory).
    pub workspace: Option<&'a str>,
    /// Whether planrun runs as root (Claude Code then refuses to skip permission checks unless
    /// `IS_SANDBOX=1`).
    pub root: bool,
    /// Whether `IS_SANDBOX=1` is set.
    pub sandbox: bool,
    /// A JSON Schema the final answer must follow (a reviewer's verdict), for CLIs with a
    /// structured-output option; `schema_file` holds the same text, for CLIs that take a path.
    pub schema: Option<&'a str>,
    pub schema_file: Option<&'a str>,
}

/// The longest prompt passed as one argument: Linux refuses a single argument over 128 KiB.
pub const MAX_PROMPT_ARG: usize = 128 * 1024 - 1;

/// The argv of one run of a CLI agent (program first), or `None` for the command agent.
pub fn argv(kind: AgentKind, call: &Call<'_>) -> Option<Vec<String>> {
    let mut a: Vec<String> = Vec::new();
    let s = |x: &str| x.to_owned();
    match kind {
        AgentKind::Command => return None,
        AgentKind::Claude => {
            a.extend([s("claude"), s("-p"), s(call.prompt), s("--output-format"), s("stream-json"), s("--verbose")]);
            a.extend(claude_permissions(call).iter().map(|w| s(w)));
            if let Some(m) = call.model {
                a.extend([s("--model"), s(m)]);
            }
            if let Some(r) = call.resume {
                a.extend([s("--resume"), s(r)]);
            }
            // Claude Code (2.1.197) offers the model a `StructuredOutput` tool with this schema as
            // its input, asks again once ("You MUST call the StructuredOutput tool") after an
            // answer without it, and reports the tool's input as `structured_output` on the
            // `result` event; also with `--resume`.
            if let Some(schema) = call.schema {
                a.extend([s("--json-schema"), s(schema)]);
            }
        }
        AgentKind::Codex => {
            a.extend([s("codex"), s("exec"), s("--json"), s("--skip-git-repo-check"), s("-s"), s("workspace-write")]);
            if let Some(m) = call.model {
                a.extend([s("-m"), s(m)]);
            }
            // Codex (0.169.0) sends the file's schema as the Responses API's `text.format`
            // (`json_schema`, strict), so its last `agent_message` is the JSON. `exec resume`
            // accepts the option too, and a resumed thread does not keep it from its first run.
            if let Some(file) = call.schema_file {
                a.extend([s("--output-schema"), s(file)]);
            }
            if let Some(r) = call.resume {
                a.extend([s("resume"), s(r)]);
            }
            // `--` so a prompt that starts with `-` is never read as an option.
            a.extend([s("--"), s(call.prompt)]);
        }
        // Gemini CLI (0.61.0) and opencode (1.18.33) have no structured-output option: a
        // reviewer's verdict is read leniently from the last JSON object of its answer (which
        // `Reader` puts together from their text events: see `Answer`).
        AgentKind::Gemini => {
            a.extend([s("gemini"), s("-p"), s(call.prompt), s("-o"), s("stream-json"), s("--yolo"), s("--skip-trust")]);
            if let Some(m) = call.model {
                a.extend([s("-m"), s(m)]);
            }
            if let Some(r) = call.resume {
                a.extend([s("--resume"), s(r)]);
            }
        }
        AgentKind::Opencode => {
            // `--title` spares a separate title-generating request; `--auto` approves tool calls
            // that are not explicitly denied (an "ask" would be rejected in `run`).
            a.extend([s("opencode"), s("run"), s("--format"), s("json"), s("--title"), s("planrun"), s("--auto")]);
            if let Some(w) = call.workspace {
                a.extend([s("--dir"), s(w)]);
            }
            if let Some(m) = call.model {
                a.extend([s("-m"), s(m)]);
            }
            if let Some(r) = call.resume {
                a.extend([s("-s"), s(r)]);
            }
            a.extend([s("--"), s(call.prompt)]);
        }
    }
    Some(a)
}

/// How Claude Code is told not to stop for approval. It refuses to skip permission checks as
/// root unless `IS_SANDBOX=1`; as root without it, edits and commands in the workspace are
/// accepted and anything else is denied (and reported in its result).
pub fn claude_permissions(call: &Call<'_>) -> &'static [&'static str] {
    if call.root && !call.sandbox { &["--permission-mode", "acceptEdits"] } else { &["--dangerously-skip-permissions"] }
}
