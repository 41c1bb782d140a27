//! The agent CLIs planrun drives headless, and what they print: for each of `claude`, `codex`,
//! `gemini` and `opencode`, the argv that passes the prompt, runs without interactive approval,
//! chooses the model and resumes a session; and a reader that turns its JSON-lines event stream
//! into one normalized [`Event`] type (text, tool use, usage, cost, session id, final answer,
//! error), folded into a [`Report`]. The `command` agent is the user's own template instead.
//! Spawning and supervising are `supervise`'s; this module only builds words and reads lines.

use serde::Serialize;
use serde_json::Value;
use std::fmt;
use std::str::FromStr;

/// Which agent runs a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentKind {
    /// The user's own `--agent-command` template.
    Command,
    Claude,
    Codex,
    Gemini,
    Opencode,
}

impl AgentKind {
    /// Every agent, in the order `--help` and `doctor` list them.
    pub const ALL: [AgentKind; 5] =
        [AgentKind::Claude, AgentKind::Codex, AgentKind::Gemini, AgentKind::Opencode, AgentKind::Command];

    /// The name used on the command line and in `planrun.toml`.
    pub fn name(self) -> &'static str {
        match self {
            AgentKind::Command => "command",
            AgentKind::Claude => "claude",
            AgentKind::Codex => "codex",
            AgentKind::Gemini => "gemini",
            AgentKind::Opencode => "opencode",
        }
    }

    /// The program a CLI agent runs (looked up in PATH); `None` for the command agent.
    pub fn program(self) -> Option<&'static str> {
        match self {
            AgentKind::Command => None,
            other => Some(other.name()),
        }
    }

    /// The npm package a CLI agent comes from, for the install hint.
    pub fn package(self) -> Option<&'static str> {
        match self {
            AgentKind::Command => None,
            AgentKind::Claude => Some("@anthropic-ai/claude-code"),
            AgentKind::Codex => Some("@openai/codex"),
            AgentKind::Gemini => Some("@google/gemini-cli"),
            AgentKind::Opencode => Some("opencode-ai"),
        }
    }

    /// Whether the CLI reports token usage summed over a whole session (so a resumed session's
    /// report includes the earlier runs), rather than per run.
    pub fn cumulative_usage(self) -> bool {
        self == AgentKind::Codex
    }
}

impl fmt::Display for AgentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for AgentKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AgentKind::ALL.into_iter().find(|k| k.name() == s).ok_or_else(|| {
            format!(
                "unknown agent `{s}`; known: {}",
                AgentKind::ALL.iter().map(|k| k.name()).collect::<Vec<_>>().join(", ")
            )
        })
    }
}

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

/// What a user should know before a run with `kind` starts, e.g. why permissions are narrower.
pub fn notices(kind: AgentKind, call: &Call<'_>) -> Vec<String> {
    let mut out = Vec::new();
    if kind == AgentKind::Claude && call.root && !call.sandbox {
        out.push(
            "claude refuses --dangerously-skip-permissions as root unless IS_SANDBOX=1; planrun runs it with \
             --permission-mode acceptEdits: file edits and plain commands are allowed, but commands that use shell \
             expansions such as $VAR are refused. Run planrun as a normal user, or set IS_SANDBOX=1 if this \
             machine is a disposable sandbox."
                .to_owned(),
        );
    }
    out
}

/// Tokens of one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Usage {
    /// Input tokens not read from a cache.
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    pub cache_write: u64,
}

impl Usage {
    pub fn total(&self) -> u64 {
        self.input + self.output + self.cache_read + self.cache_write
    }

    pub fn add(&mut self, o: &Usage) {
        self.input += o.input;
        self.output += o.output;
        self.cache_read += o.cache_read;
        self.cache_write += o.cache_write;
    }

    /// `self - earlier`, each field at least 0: this run's share of a cumulative report.
    pub fn since(&self, earlier: &Usage) -> Usage {
        Usage {
            input: self.input.saturating_sub(earlier.input),
            output: self.output.saturating_sub(earlier.output),
            cache_read: self.cache_read.saturating_sub(earlier.cache_read),
            cache_write: self.cache_write.saturating_sub(earlier.cache_write),
        }
    }

    pub fn is_zero(&self) -> bool {
        self.total() == 0
    }
}

/// One thing an agent reported, the same for every CLI.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// The session this run belongs to (resumable with the same id).
    Session { id: String },
    /// The model that answered.
    Model { name: String },
    /// Text the agent wrote.
    Text { text: String },
    /// A tool the agent called, with a short summary of its input.
    ToolUse { name: String, input: String },
    /// Tokens. `total`: the sum over the run so far (replaces earlier reports) rather than a
    /// part to add.
    Usage { usage: Usage, total: bool },
    /// Dollars the CLI itself reported for the run.
    Cost { usd: f64 },
    /// The agent's final answer.
    Final { text: String },
    /// An error the agent reported (API error, rate limit, refusal).
    Error { message: String },
    /// A tool call the CLI refused for lack of permission.
    Denied { tool: String },
}

/// What a run amounted to.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    pub session: Option<String>,
    pub model: Option<String>,
    pub usage: Usage,
    /// Dollars as the CLI reported them, if it does.
    pub cost_usd: Option<f64>,
    pub final_text: Option<String>,
    pub errors: Vec<String>,
    pub tool_uses: u64,
    pub denied: Vec<String>,
    /// Lines read as events.
    pub events: u64,
}

impl Report {
    /// Folds one event in.
    pub fn add(&mut self, e: &Event) {
        match e {
            Event::Session { id } => self.session = Some(id.clone()),
            Event::Model { name } => self.model = Some(name.clone()),
            Event::Text { .. } => {}
            Event::ToolUse { .. } => self.tool_uses += 1,
            Event::Usage { usage, total: true } => self.usage = *usage,
            Event::Usage { usage, total: false } => self.usage.add(usage),
            Event::Cost { usd } => self.cost_usd = Some(self.cost_usd.unwrap_or(0.0) + usd),
            Event::Final { text } => self.final_text = Some(text.clone()),
            Event::Error { message } => {
                if !self.errors.contains(message) {
                    self.errors.push(message.clone());
                }
            }
            Event::Denied { tool } => self.denied.push(tool.clone()),
        }
    }
}

/// Reads a CLI's output line by line (its own events among any other lines it prints).
#[derive(Debug)]
pub struct Reader {
    kind: AgentKind,
    pub report: Report,
    /// Claude's `result` event replaces the per-message usage seen before it.
    saw_result: bool,
    /// The last model message Claude reported (one message comes as several events, each with
    /// the same usage: counted once, for the usage so far while it runs).
    last_message: Option<String>,
    /// The answer so far, for CLIs that print it in pieces (Gemini CLI, opencode).
    answer: Answer,
}

/// The assistant's last text, put together from a stream that has no final-answer event of
/// its own: Gemini CLI prints its text as `delta` chunks (a `tool_use` in between starts a new
/// model turn) and only a bare status in `result`; opencode prints each finished text part,
/// tagged with the model message it belongs to, and no result event at all.
#[derive(Debug, Default)]
struct Answer {
    /// The text of the current model turn (Gemini) or of the last message with text (opencode).
    current: String,
    /// Gemini: the text of the last turn before a tool call, the answer when the turn after the
    /// tool call says nothing (as Gemini CLI's own `-o json` answer does).
    before_tool: String,
    /// opencode: the message `current` belongs to.
    message: Option<String>,
}

impl Reader {
    pub fn new(kind: AgentKind) -> Self {
        Self { kind, report: Report::default(), saw_result: false, last_message: None, answer: Answer::default() }
    }

    /// The events in one line of output; lines that are not JSON objects give none.
    pub fn line(&mut self, line: &str) -> Vec<Event> {
        let line = line.trim();
        if !line.starts_with('{') {
            return Vec::new();
        }
        let Ok(v) = serde_json::from_str::<Value>(line) else { return Vec::new() };
        let events = match self.kind {
            AgentKind::Claude => claude(&v, &mut self.saw_result, &mut self.last_message),
            AgentKind::Codex => codex(&v),
            AgentKind::Gemini => gemini(&v, &mut self.answer),
            AgentKind::Opencode => opencode(&v, &mut self.answer),
            AgentKind::Command => Vec::new(),
        };
        if !events.is_empty() {
            self.report.events += 1;
        }
        for e in &events {
            self.report.add(e);
        }
        events
    }
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k)).and_then(Value::as_str)
}

fn u64_at(v: &Value, path: &[&str]) -> u64 {
    path.iter().try_fold(v, |v, k| v.get(k)).and_then(Value::as_u64).unwrap_or(0)
}

/// A tool input shown in one short line.
fn summary(input: &Value) -> String {
    let text = match input {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut short: String = text.chars().take(200).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short.replace('\n', " ")
}

/// Usage as Anthropic's API reports it (Claude Code passes it on).
fn anthropic_usage(u: &Value) -> Usage {
    Usage {
        input: u64_at(u, &["input_tokens"]),
        output: u64_at(u, &["output_tokens"]),
        cache_read: u64_at(u, &["cache_read_input_tokens"]),
        cache_write: u64_at(u, &["cache_creation_input_tokens"]),
    }
}

fn claude(v: &Value, saw_result: &mut bool, last_message: &mut Option<String>) -> Vec<Event> {
    let mut out = Vec::new();
    match v.get("type").and_then(Value::as_str) {
        Some("system") if str_at(v, &["subtype"]) == Some("init") => {
            if let Some(id) = str_at(v, &["session_id"]) {
                out.push(Event::Session { id: id.to_owned() });
            }
            if let Some(m) = str_at(v, &["model"]) {
                out.push(Event::Model { name: m.to_owned() });
            }
        }
        Some("assistant") => {
            // The usage so far, while the run goes (the `result` event's total replaces it).
            let id = v.pointer("/message/id").and_then(Value::as_str).map(str::to_owned);
            if let (Some(u), false) = (v.pointer("/message/usage"), *saw_result) {
                if id.is_none() || id != *last_message {
                    out.push(Event::Usage { usage: anthropic_usage(u), total: false });
                }
            }
            *last_message = id;
            for block in v.pointer("/message/content").and_then(Value::as_array).into_iter().flatten() {
                match block.get("type").and_then(Value::as_str) {
                    Some("text") => {
                        out.push(Event::Text { text: str_at(block, &["text"]).unwrap_or("").to_owned() });
                    }
                    Some("tool_use") => out.push(Event::ToolUse {
                        name: str_at(block, &["name"]).unwrap_or("?").to_owned(),
                        input: block.get("input").map(summary).unwrap_or_default(),
                    }),
                    _ => {}
                }
            }
        }
        Some("result") => {
            *saw_result = true;
            if let Some(id) = str_at(v, &["session_id"]) {
                out.push(Event::Session { id: id.to_owned() });
            }
            if let Some(u) = v.get("usage") {
                out.push(Event::Usage { usage: anthropic_usage(u), total: true });
            }
            if let Some(usd) = v.get("total_cost_usd").and_then(Value::as_f64) {
                out.push(Event::Cost { usd });
            }
            for d in v.get("permission_denials").and_then(Value::as_array).into_iter().flatten() {
                out.push(Event::Denied { tool: str_at(d, &["tool_name"]).unwrap_or("?").to_owned() });
            }
            // With `--json-schema`, the answer is the `StructuredOutput` tool's input
            // (`structured_output`); `result` (in 2.1.197 already that input as JSON text) is the
            // answer otherwise, also when the model never called the tool.
            let text = str_at(v, &["result"]).unwrap_or("").to_owned();
            if v.get("is_error").and_then(Value::as_bool) == Some(true) {
                let status = v.get("api_error_status").filter(|s| !s.is_null()).map(|s| format!(" (HTTP {s})"));
                let what = if text.is_empty() { str_at(v, &["subtype"]).unwrap_or("error").to_owned() } else { text };
                out.push(Event::Error { message: format!("{what}{}", status.unwrap_or_default()) });
            } else {
                let text = match v.get("structured_output").filter(|s| !s.is_null()) {
                    Some(structured) => structured.to_string(),
                    None => text,
                };
                out.push(Event::Final { text });
            }
        }
        _ => {}
    }
    out
}

fn codex(v: &Value) -> Vec<Event> {
    let mut out = Vec::new();
    match v.get("type").and_then(Value::as_str) {
        Some("thread.started") => {
            if let Some(id) = str_at(v, &["thread_id"]) {
                out.push(Event::Session { id: id.to_owned() });
            }
        }
        Some("item.completed") => {
            let item = v.get("item").unwrap_or(&Value::Null);
            match item.get("type").and_then(Value::as_str) {
                Some("agent_message") => {
                    let text = str_at(item, &["text"]).unwrap_or("").to_owned();
                    out.push(Event::Text { text: text.clone() });
                    out.push(Event::Final { text });
                }
                Some("command_execution") => out.push(Event::ToolUse {
                    name: "command".into(),
                    input: str_at(item, &["command"]).unwrap_or("").to_owned(),
                }),
                Some("file_change") => out.push(Event::ToolUse {
                    name: "file_change".into(),
                    input: item.get("changes").map(summary).unwrap_or_default(),
                }),
                Some("mcp_tool_call") => out.push(Event::ToolUse {
                    name: str_at(item, &["tool"]).unwrap_or("mcp").to_owned(),
                    input: item.get("arguments").map(summary).unwrap_or_default(),
                }),
                // `error` items are warnings (e.g. unknown model metadata); fatal errors come as
                // `error` or `turn.failed` events.
                _ => {}
            }
        }
        Some("turn.completed") => {
            if let Some(u) = v.get("usage") {
                let input = u64_at(u, &["input_tokens"]);
                let cached = u64_at(u, &["cached_input_tokens"]);
                out.push(Event::Usage {
                    usage: Usage {
                        input: input.saturating_sub(cached),
                        output: u64_at(u, &["output_tokens"]),
                        cache_read: cached,
                        cache_write: u64_at(u, &["cache_write_input_tokens"]),
                    },
                    // Totals for the whole thread so far, also across `resume`.
                    total: true,
                });
            }
        }
        Some("turn.failed") => {
            let m = str_at(v, &["error", "message"]).unwrap_or("the turn failed");
            out.push(Event::Error { message: m.to_owned() });
        }
        // "Reconnecting... 2/5 (…)" is Codex retrying a dropped stream, not a failure; if the
        // retries run out, `turn.failed` says so.
        Some("error") => match str_at(v, &["message"]) {
            Some(m) if m.starts_with("Reconnecting") => out.push(Event::Text { text: m.to_owned() }),
            m => out.push(Event::Error { message: m.unwrap_or("error").to_owned() }),
        },
        _ => {}
    }
    out
}

/// Whether a line of Gemini CLI's `-o stream-json` output shows that its session file holds
/// something to resume: the model's first text or tool call, or the run's end. Until then (from
/// `init` and the echo of the prompt until the model router has picked a model and the prompt is
/// recorded) the file holds nothing to resume, and Gemini CLI 0.61.0, as it starts, deletes such
/// files of its project (`general.sessionRetention`, on by default): another Gemini CLI starting
/// in the same folder then would take this session away from a later `--resume`.
pub fn gemini_session_kept(line: &str) -> bool {
    let Ok(v) = serde_json::from_str::<Value>(line.trim()) else { return false };
    match v.get("type").and_then(Value::as_str) {
        Some("message") => str_at(&v, &["role"]) == Some("assistant"),
        Some("tool_use" | "tool_result" | "result") => true,
        _ => false,
    }
}

fn gemini(v: &Value, answer: &mut Answer) -> Vec<Event> {
    let mut out = Vec::new();
    match v.get("type").and_then(Value::as_str) {
        Some("init") => {
            if let Some(id) = str_at(v, &["session_id"]) {
                out.push(Event::Session { id: id.to_owned() });
            }
            if let Some(m) = str_at(v, &["model"]) {
                out.push(Event::Model { name: m.to_owned() });
            }
        }
        // 0.61.0 prints every piece of the model's text as it streams (`"delta": true`).
        Some("message") if str_at(v, &["role"]) == Some("assistant") => {
            let text = str_at(v, &["content"]).unwrap_or("");
            answer.current.push_str(text);
            out.push(Event::Text { text: text.to_owned() });
        }
        Some("tool_use") => {
            // The model's next turn (after the tool's result) starts a new answer.
            if !answer.current.trim().is_empty() {
                answer.before_tool = std::mem::take(&mut answer.current);
            }
            answer.current.clear();
            out.push(Event::ToolUse {
                name: str_at(v, &["tool_name"]).unwrap_or("?").to_owned(),
                input: v.get("parameters").map(summary).unwrap_or_default(),
            });
        }
        Some("error") => {
            out.push(Event::Error { message: str_at(v, &["message"]).unwrap_or("error").to_owned() });
        }
        Some("result") => {
            if let Some(s) = v.get("stats") {
                let cached = u64_at(s, &["cached"]);
                let input = match s.get("input").and_then(Value::as_u64) {
                    Some(i) => i,
                    None => u64_at(s, &["input_tokens"]).saturating_sub(cached),
                };
                out.push(Event::Usage {
                    usage: Usage { input, output: u64_at(s, &["output_tokens"]), cache_read: cached, cache_write: 0 },
                    total: true,
                });
            }
            if str_at(v, &["status"]) == Some("success") {
                let text = if answer.current.trim().is_empty() { &answer.before_tool } else { &answer.current };
                out.push(Event::Final { text: text.clone() });
            } else {
                let m = str_at(v, &["error", "message"]).or_else(|| str_at(v, &["status"])).unwrap_or("error");
                out.push(Event::Error { message: m.to_owned() });
            }
        }
        _ => {}
    }
    out
}

fn opencode(v: &Value, answer: &mut Answer) -> Vec<Event> {
    let mut out = Vec::new();
    if let Some(id) = str_at(v, &["sessionID"]).or_else(|| str_at(v, &["part", "sessionID"])) {
        out.push(Event::Session { id: id.to_owned() });
    }
    let part = v.get("part").unwrap_or(&Value::Null);
    match v.get("type").and_then(Value::as_str) {
        // 1.18.33 prints a text part once it is finished (`time.end` set), whole. The answer is
        // the text of the last model message that has any: its parts in order.
        Some("text") => {
            let text = str_at(part, &["text"]).unwrap_or("");
            if !text.trim().is_empty() {
                let message = str_at(part, &["messageID"]).map(str::to_owned);
                if message.is_none() || message != answer.message {
                    answer.current.clear();
                    answer.message = message;
                } else if !answer.current.is_empty() {
                    answer.current.push('\n');
                }
                answer.current.push_str(text);
            }
            out.push(Event::Text { text: text.to_owned() });
            if !answer.current.is_empty() {
                out.push(Event::Final { text: answer.current.clone() });
            }
        }
        Some("tool_use") => out.push(Event::ToolUse {
            name: str_at(part, &["tool"]).unwrap_or("?").to_owned(),
            input: part.pointer("/state/input").map(summary).unwrap_or_default(),
        }),
        Some("step_finish") => {
            let t = part.get("tokens").unwrap_or(&Value::Null);
            out.push(Event::Usage {
                usage: Usage {
                    input: u64_at(t, &["input"]),
                    output: u64_at(t, &["output"]) + u64_at(t, &["reasoning"]),
                    cache_read: u64_at(t, &["cache", "read"]),
                    cache_write: u64_at(t, &["cache", "write"]),
                },
                total: false,
            });
            // A model without a configured price reports 0: that is "unknown", not free.
            if let Some(usd) = part.get("cost").and_then(Value::as_f64).filter(|c| *c > 0.0) {
                out.push(Event::Cost { usd });
            }
        }
        Some("error") => {
            let m = str_at(v, &["error", "data", "message"])
                .or_else(|| str_at(v, &["error", "message"]))
                .or_else(|| str_at(v, &["error", "name"]))
                .unwrap_or("error");
            out.push(Event::Error { message: m.to_owned() });
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_known_ones() {
        for k in AgentKind::ALL {
            assert_eq!(k.name().parse::<AgentKind>(), Ok(k));
        }
        let e = "aider".parse::<AgentKind>().unwrap_err();
        assert!(e.contains("claude, codex, gemini, opencode, command"), "{e}");
    }

    #[test]
    fn claude_as_root_gets_accept_edits_and_a_notice() {
        let root = Call { prompt: "-x", root: true, ..Call::default() };
        let a = argv(AgentKind::Claude, &root).unwrap();
        assert!(a.windows(2).any(|w| w == ["--permission-mode", "acceptEdits"]), "{a:?}");
        assert!(a.windows(2).any(|w| w == ["-p", "-x"]), "the prompt is the value of -p: {a:?}");
        assert_eq!(notices(AgentKind::Claude, &root).len(), 1);
        let sandbox = Call { root: true, sandbox: true, resume: Some("s1"), ..root };
        let a = argv(AgentKind::Claude, &sandbox).unwrap();
        assert!(a.contains(&"--dangerously-skip-permissions".to_owned()));
        assert!(a.windows(2).any(|w| w == ["--resume", "s1"]));
        assert!(notices(AgentKind::Claude, &sandbox).is_empty());
    }

    #[test]
    fn codex_resume_is_a_subcommand_and_the_prompt_follows_a_double_dash() {
        let a =
            argv(AgentKind::Codex, &Call { prompt: "--help", resume: Some("t1"), model: Some("m"), ..Call::default() })
                .unwrap();
        let tail: Vec<&str> = a.iter().rev().take(4).rev().map(String::as_str).collect();
        assert_eq!(tail, ["resume", "t1", "--", "--help"]);
        assert!(a.windows(2).any(|w| w == ["-m", "m"]));
        assert_eq!(argv(AgentKind::Command, &Call::default()), None);
    }

    #[test]
    fn a_schema_goes_to_each_cli_that_has_a_structured_output_option() {
        let schema = r#"{"type":"object"}"#;
        let call =
            Call { prompt: "review", schema: Some(schema), schema_file: Some("/s/verdict.json"), ..Call::default() };
        let claude = argv(AgentKind::Claude, &call).unwrap();
        assert!(claude.windows(2).any(|w| w == ["--json-schema", schema]), "{claude:?}");
        let resumed = argv(AgentKind::Claude, &Call { resume: Some("s1"), ..call.clone() }).unwrap();
        assert!(resumed.windows(2).any(|w| w == ["--json-schema", schema]), "{resumed:?}");

        // Codex takes a file, among `exec`'s options (before `resume`, which accepts it too).
        let codex = argv(AgentKind::Codex, &call).unwrap();
        let tail: Vec<&str> = codex.iter().rev().take(4).rev().map(String::as_str).collect();
        assert_eq!(tail, ["--output-schema", "/s/verdict.json", "--", "review"]);
        let codex = argv(AgentKind::Codex, &Call { resume: Some("t1"), ..call.clone() }).unwrap();
        let tail: Vec<&str> = codex.iter().rev().take(6).rev().map(String::as_str).collect();
        assert_eq!(tail, ["--output-schema", "/s/verdict.json", "resume", "t1", "--", "review"]);

        // Gemini and opencode have no such option: the same argv as without a schema.
        for kind in [AgentKind::Gemini, AgentKind::Opencode] {
            let plain = Call { schema: None, schema_file: None, ..call.clone() };
            assert_eq!(argv(kind, &call), argv(kind, &plain), "{kind}");
        }
        // Without a schema, no option.
        for kind in [AgentKind::Claude, AgentKind::Codex] {
            let a = argv(kind, &Call { prompt: "implement", ..Call::default() }).unwrap();
            assert!(!a.iter().any(|w| w.contains("schema")), "{a:?}");
        }
    }

    #[test]
    fn claudes_structured_output_is_its_final_answer() {
        let mut r = Reader::new(AgentKind::Claude);
        r.line(r#"{"type":"result","subtype":"success","is_error":false,"result":"","session_id":"s","structured_output":{"verdict":"pass","findings":[]}}"#);
        let text = r.report.final_text.clone().unwrap();
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["verdict"], "pass", "{text}");
        let mut r = Reader::new(AgentKind::Claude);
        r.line(r#"{"type":"result","subtype":"success","is_error":false,"result":"All good. {\"verdict\": \"pass\"}","session_id":"s","structured_output":null}"#);
        assert_eq!(r.report.final_text.as_deref(), Some(r#"All good. {"verdict": "pass"}"#));
    }

    #[test]
    fn a_gemini_session_is_kept_once_the_model_has_answered() {
        let not_yet = [
            r#"{"type":"init","timestamp":"t","session_id":"4413cbb4-ac41-4bda-9df6-5751bff8eab5","model":"auto"}"#,
            r#"{"type":"message","timestamp":"t","role":"user","content":"review the change"}"#,
            "Warning: 256-color support not detected.",
            "",
            r#"{"type":"error","severity":"warning","message":"x"}"#,
        ];
        for line in not_yet {
            assert!(!gemini_session_kept(line), "{line}");
        }
        let kept = [
            r#"{"type":"message","timestamp":"t","role":"assistant","content":"hello","delta":true}"#,
            r#"{"type":"tool_use","timestamp":"t","tool_name":"read_file","tool_id":"1","parameters":{}}"#,
            r#"{"type":"result","timestamp":"t","status":"error","error":{"type":"x","message":"y"}}"#,
        ];
        for line in kept {
            assert!(gemini_session_kept(line), "{line}");
        }
    }

    /// Gemini CLI 0.61.0 `-o stream-json` lines (as it prints them against the model server):
    /// the answer is the text chunks of the last model turn, put together.
    #[test]
    fn geminis_answer_is_its_last_turns_text_chunks() {
        let chunk = |t: &str| {
            serde_json::json!({"type": "message", "timestamp": "2026-12-03T08:26:22.412Z", "role": "assistant", "content": t, "delta": true}).to_string()
        };
        let tool = r#"{"type":"tool_use","timestamp":"2026-12-03T08:26:22.096Z","tool_name":"read_file","tool_id":"read_file__1","parameters":{"file_path":"x.txt"}}"#;
        let result = r#"{"type":"result","timestamp":"2026-12-03T08:26:22.421Z","status":"success","stats":{"total_tokens":312,"input_tokens":270,"output_tokens":42,"cached":0,"input":270}}"#;
        let mut r = Reader::new(AgentKind::Gemini);
        r.line(r#"{"type":"message","timestamp":"2026-12-03T08:26:21.680Z","role":"user","content":"review {\"verdict\": \"pass\"}"}"#);
        r.line(&chunk("Let me read x.txt first."));
        r.line(tool);
        r.line(r#"{"type":"tool_result","timestamp":"2026-12-03T08:26:22.388Z","tool_id":"read_file__1","status":"success","output":""}"#);
        r.line(&chunk("It says hi.\n{\"verdict\": \"changes_"));
        r.line(&chunk("requested\", \"findings\": []}"));
        assert_eq!(r.report.final_text, None, "no answer before the result");
        r.line(result);
        assert_eq!(
            r.report.final_text.as_deref(),
            Some("It says hi.\n{\"verdict\": \"changes_requested\", \"findings\": []}"),
            "the user's prompt and the text before the tool call are not the answer"
        );

        // Nothing said after the tool call: the text before it is the answer (as in Gemini
        // CLI's own `-o json`).
        let mut r = Reader::new(AgentKind::Gemini);
        r.line(&chunk("{\"verdict\": \"pass\"}"));
        r.line(tool);
        r.line(result);
        assert_eq!(r.report.final_text.as_deref(), Some("{\"verdict\": \"pass\"}"));

        // A failed run has no answer.
        let mut r = Reader::new(AgentKind::Gemini);
        r.line(&chunk("partial"));
        r.line(r#"{"type":"result","status":"error","error":{"type":"Error","message":"quota"}}"#);
        assert_eq!((r.report.final_text, r.report.errors), (None, vec!["quota".to_owned()]));
    }

    /// opencode 1.18.33 `run --format json` lines: each finished text part whole, tagged with
    /// its message; the answer is the text of the last message that has any.
    #[test]
    fn opencodes_answer_is_its_last_messages_text() {
        let text = |msg: &str, t: &str| {
            serde_json::json!({"type": "text", "timestamp": 1796286277259u64, "sessionID": "ses_1", "part": {
                "id": format!("prt_{msg}_{}", t.len()), "messageID": msg, "sessionID": "ses_1", "type": "text", "text": t,
                "time": {"start": 1796286277245u64, "end": 1796286277253u64}}})
            .to_string()
        };
        let mut r = Reader::new(AgentKind::Opencode);
        assert_eq!(r.report.final_text, None);
        r.line(&text("msg_1", "Let me read x.txt."));
        r.line(r#"{"type":"tool_use","timestamp":1,"sessionID":"ses_1","part":{"type":"tool","tool":"read","callID":"c1","state":{"status":"completed","input":{"filePath":"x.txt"},"output":"hi"},"id":"prt_2","sessionID":"ses_1","messageID":"msg_1"}}"#);
        r.line(&text("msg_2", "It says hi."));
        r.line(&text("msg_2", "{\"verdict\": \"pass\", \"findings\": []}"));
        // An empty part does not replace the answer.
        r.line(&text("msg_3", "  "));
        r.line(r#"{"type":"step_finish","timestamp":1,"sessionID":"ses_1","part":{"id":"prt_9","reason":"stop","messageID":"msg_3","sessionID":"ses_1","type":"step-finish","tokens":{"total":12,"input":10,"output":2,"reasoning":0,"cache":{"write":0,"read":0}},"cost":0}}"#);
        assert_eq!(r.report.final_text.as_deref(), Some("It says hi.\n{\"verdict\": \"pass\", \"findings\": []}"));
        assert_eq!(r.report.session.as_deref(), Some("ses_1"));
    }

    #[test]
    fn usage_differences_never_go_below_zero() {
        let a = Usage { input: 10, output: 5, cache_read: 1, cache_write: 0 };
        let b = Usage { input: 4, output: 7, cache_read: 0, cache_write: 0 };
        assert_eq!(a.since(&b), Usage { input: 6, output: 0, cache_read: 1, cache_write: 0 });
    }
}
