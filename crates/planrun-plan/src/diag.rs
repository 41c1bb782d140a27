//! Diagnostics: what is wrong with a plan, where, and what to do about it. Rendering belongs to
//! the binary; this module only holds the data.

use crate::source::{Sources, Span};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One finding about a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// A stable kebab-case code, e.g. `dependency-cycle`.
    pub code: &'static str,
    pub message: String,
    pub help: Option<String>,
    pub span: Option<Span>,
    /// Further places worth showing, each with a short label.
    pub related: Vec<(Span, String)>,
    /// The id of the task the finding is about, when it is about one (for grouping and `--explain`).
    pub task: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            code,
            message: message.into(),
            help: None,
            span: None,
            related: Vec::new(),
            task: None,
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Self { severity: Severity::Warning, ..Self::error(code, message) }
    }

    #[must_use]
    pub fn at(mut self, span: Option<Span>) -> Self {
        self.span = span;
        self
    }

    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    #[must_use]
    pub fn related(mut self, span: Option<Span>, label: impl Into<String>) -> Self {
        if let Some(span) = span {
            self.related.push((span, label.into()));
        }
        self
    }

    /// Says which task the finding is about.
    #[must_use]
    pub fn task(mut self, id: impl Into<String>) -> Self {
        self.task = Some(id.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// File, 1-based line and column of the primary span, if any.
    pub fn location(&self, sources: &Sources) -> Option<Location> {
        let span = self.span?;
        let (line, column) = sources.line_col(span.source, span.start);
        Some(Location { file: sources.path(span.source).display().to_string(), line, column })
    }
}

/// A resolved place in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub column: usize,
}
