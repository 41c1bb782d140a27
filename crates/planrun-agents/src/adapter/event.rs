//! The normalized events every CLI's output is read into, the tokens of a run, and the report
//! they are folded into.

use serde::Serialize;

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
