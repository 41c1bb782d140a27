//! Human output: diagnostics rendered with miette (source excerpts, labels, help), with colour
//! only when asked for or when stderr is a terminal and NO_COLOR is unset.

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use planrun_plan::{Diagnostic, Severity, Sources};
use std::collections::HashMap;
use std::fmt;
use std::io::IsTerminal as _;
use std::sync::Arc;

/// How output should look on this terminal.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Output {
    pub color: bool,
}

impl Output {
    /// `force`: `--color always` (`Some(true)`) or `never` (`Some(false)`); `None` colours
    /// only a terminal, and only when NO_COLOR is unset.
    pub(crate) fn new(force: Option<bool>) -> Self {
        let color = force.unwrap_or_else(|| {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
        });
        Self { color }
    }

    fn handler(&self) -> GraphicalReportHandler {
        let theme = if self.color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
        GraphicalReportHandler::new_themed(theme).with_width(100).with_links(false)
    }
}

/// One diagnostic in the shape miette renders.
#[derive(Debug)]
struct Report {
    diag: Diagnostic,
    help: Option<String>,
    source: Option<NamedSource<Arc<str>>>,
    labels: Vec<LabeledSpan>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diag.message)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.diag.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diag.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() { None } else { Some(Box::new(self.labels.iter().cloned())) }
    }
}

/// Renders diagnostics against the texts they point into.
#[derive(Debug)]
pub(crate) struct Renderer<'a> {
    sources: &'a Sources,
    cache: HashMap<planrun_plan::SourceId, Arc<str>>,
    handler: GraphicalReportHandler,
}

impl<'a> Renderer<'a> {
    pub(crate) fn new(sources: &'a Sources, out: &Output) -> Self {
        Self { sources, cache: HashMap::new(), handler: out.handler() }
    }

    fn text(&mut self, id: planrun_plan::SourceId) -> Arc<str> {
        self.cache.entry(id).or_insert_with(|| Arc::from(self.sources.text(id))).clone()
    }

    /// The rendered diagnostic, ending with a newline.
    pub(crate) fn render(&mut self, diag: &Diagnostic) -> String {
        let mut help = diag.help.clone();
        let mut labels = Vec::new();
        let source = diag.span.map(|span| {
            let text = self.text(span.source);
            let name = self.sources.path(span.source).display().to_string();
            labels.push(LabeledSpan::new_primary_with_span(
                Some(label_for(diag)),
                SourceSpan::from((span.start.min(text.len()), span.end.saturating_sub(span.start))),
            ));
            for (rel, label) in &diag.related {
                if rel.source == span.source {
                    labels.push(LabeledSpan::new_with_span(
                        Some(label.clone()),
                        SourceSpan::from((rel.start.min(text.len()), rel.end.saturating_sub(rel.start))),
                    ));
                } else {
                    let (line, col) = self.sources.line_col(rel.source, rel.start);
                    let place = format!("{label}: {}:{line}:{col}", self.sources.path(rel.source).display());
                    help = Some(match help.take() {
                        Some(h) => format!("{h}\n{place}"),
                        None => place,
                    });
                }
            }
            NamedSource::new(name, text)
        });
        let report = Report { diag: diag.clone(), help, source, labels };
        let mut out = String::new();
        if self.handler.render_report(&mut out, &report).is_err() {
            out = format!("{}: {}\n", severity_word(diag.severity), diag.message);
        }
        if !out.ends_with('\n') {
            out.push('\n');
        }
        // A blank line between diagnostics, so each reads as its own block.
        out.push('\n');
        out
    }
}

fn label_for(diag: &Diagnostic) -> String {
    match diag.code {
        "dependency-cycle" => "starts the cycle".to_owned(),
        "duplicate-id" => "used again here".to_owned(),
        "unknown-dependency" => "unknown task".to_owned(),
        "file-conflict" => "may run beside the other task".to_owned(),
        _ => "here".to_owned(),
    }
}

pub(crate) fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}
