//! The plan model every format is read into: a plan with context, plan-level verify commands and
//! tasks. Plain data with serde and JSON Schema derives, and [`valid_id`], the rule a task id follows
//! (importers make ids fit it, validation reports the ones that do not); no parsing.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An implementation plan: tasks, what they depend on, what they may touch and what "done" means.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// The plan's name.
    #[serde(default)]
    pub title: String,
    /// Free text given to every agent working on any task of the plan.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub context: String,
    /// Shell command lines run (with `sh -c`, in the workspace) after every task and at the end.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verify: Vec<String>,
    /// The tasks, in the order the author wrote them.
    #[serde(default)]
    pub tasks: Vec<Task>,
}

/// One unit of work, done by one agent in one workspace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Task {
    /// Unique within the plan: letters, digits, '.', '_' or '-', starting with a letter or digit.
    pub id: String,
    /// One line saying what the task does.
    #[serde(default)]
    pub title: String,
    /// What to do, in markdown.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Ids of the tasks that must be done before this one starts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// Globs (relative to the repository root) of the files this task may change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// Acceptance criteria, checked by the reviewers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acceptance: Vec<String>,
    /// Shell command lines that must all exit 0, run by planrun with `sh -c` in the task's workspace.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verify: Vec<String>,
    /// The persona (role) the implementing agent takes, e.g. `engineer` or `security`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persona: Option<String>,
    /// The agent backend to use for this task, e.g. `claude` or `codex`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// Extra instructions for each phase of the task's pipeline.
    #[serde(default, skip_serializing_if = "Instructions::is_empty")]
    pub instructions: Instructions,
    /// The milestone the task belongs to, if the plan groups tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub milestone: Option<String>,
    /// Among ready tasks on equally long dependency chains, a higher priority starts first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// Carried over from the source file: `done` tasks are not run again.
    #[serde(default, skip_serializing_if = "Status::is_pending")]
    pub status: Status,
}

/// Instructions for the phases of a task's pipeline, given verbatim to the agent of that phase.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Instructions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<String>,
}

impl Instructions {
    pub fn is_empty(&self) -> bool {
        self.build.is_none() && self.review.is_none() && self.verify.is_none()
    }
}

/// Whether the source file already records a task as done.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Pending,
    Done,
}

impl Status {
    pub fn is_pending(&self) -> bool {
        *self == Status::Pending
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Done => "done",
        }
    }
}

/// How urgent a task is, as plans write it (`high`, `P1`, `urgent`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Low,
    Medium,
    High,
    Critical,
}

impl Priority {
    /// Reads the words plans use: `critical`/`urgent`/`highest`/`blocker`/`P0`, `high`/`P1`,
    /// `medium`/`normal`/`P2`, `low`/`lowest`/`minor`/`P3`/`P4` (any case). `None` for anything
    /// else, numbers included: plans disagree on whether 1 is the highest or the lowest.
    pub fn parse(word: &str) -> Option<Self> {
        let w = word.trim().trim_matches(|c: char| c == '`' || c == '*').to_ascii_lowercase();
        Some(match w.as_str() {
            "critical" | "urgent" | "highest" | "blocker" | "p0" => Self::Critical,
            "high" | "p1" => Self::High,
            "medium" | "normal" | "moderate" | "p2" => Self::Medium,
            "low" | "lowest" | "minor" | "p3" | "p4" => Self::Low,
            _ => return None,
        })
    }

    /// Its rank for the scheduler; a task without one counts as `medium`.
    pub fn rank(p: Option<Self>) -> u32 {
        match p {
            Some(Self::Low) => 0,
            None | Some(Self::Medium) => 1,
            Some(Self::High) => 2,
            Some(Self::Critical) => 3,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

impl Task {
    /// A pending task with an id and a title.
    pub fn new(id: impl Into<String>, title: impl Into<String>) -> Self {
        Self { id: id.into(), title: title.into(), ..Self::default() }
    }
}

impl Plan {
    /// The task with this id, if any (the first one when ids repeat).
    pub fn task(&self, id: &str) -> Option<&Task> {
        self.tasks.iter().find(|t| t.id == id)
    }
}

/// Collapses a title to one trimmed line, as every format stores it.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Trims blank lines around a block of markdown and trailing spaces on each line, and closes a
/// code fence left open at its end (markdown renders both the same), so that every format stores
/// the same text for the same content and a block can never swallow what follows it.
pub fn block(text: &str) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    let start = lines.iter().position(|l| !l.is_empty()).unwrap_or(lines.len());
    let end = lines.iter().rposition(|l| !l.is_empty()).map_or(start, |e| e + 1);
    let mut out = lines.get(start..end).unwrap_or_default().join("\n");
    if let Some((ch, len)) = crate::md::open_fence(&out) {
        out.push('\n');
        out.extend(std::iter::repeat_n(ch, len));
    }
    out
}

/// Whether `id` can name a task: it becomes part of branch and folder names later on.
pub fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && !id.ends_with(".lock")
        && !id.contains("..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(valid_id("ST-1"));
        assert!(valid_id("IMPL-1.2"));
        assert!(valid_id("3"));
        assert!(!valid_id("-a"));
        assert!(!valid_id("a b"));
        assert!(!valid_id("a..b"));
        assert!(!valid_id(""));
        assert!(!valid_id("x.lock"));
    }
}
