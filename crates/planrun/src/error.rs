//! The one error every command returns: what went wrong, the exit code it ends the process
//! with ([`CliError::exit_code`]) and the help line under it ([`miette::Diagnostic::help`]).
//! `main` prints it, as `error: …` and `  help: …` on stderr.

use crate::exit;
use planrun_plan::LoadError;
use planrun_runtime as run;
use std::path::PathBuf;

/// What a command ends with: `Ok` holds its exit code.
pub(crate) type Outcome = Result<u8, CliError>;

#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// Any error of the runtime's commands (`run`, `status`, `gc`, ...).
    #[error(transparent)]
    Run(#[from] run::Error),
    /// The plan could not be read.
    #[error(transparent)]
    Plan(#[from] LoadError),
    /// stdout failed while a report was written (other than the reader going away).
    #[error("cannot write the report: {0}")]
    Report(std::io::Error),
    /// `check --explain TASK`: no such task; `known` is the first of those there are.
    #[error("the plan has no task `{id}`")]
    NoSuchTask { id: String, known: Vec<String>, more: bool },
    /// `import -o FILE`: the file could not be written.
    #[error("cannot write `{}`: {source}", path.display())]
    WritePlan { path: PathBuf, source: std::io::Error },
    /// `import`: stdout failed.
    #[error("cannot write the plan: {0}")]
    PrintPlan(std::io::Error),
    /// `schema`: the schema could not be serialised.
    #[error("cannot print the schema: {0}")]
    Schema(serde_json::Error),
    /// `init`: a file it would write exists.
    #[error(
        "{} already exist{}; nothing was written",
        .0.iter().map(|p| format!("`{}`", p.display())).collect::<Vec<_>>().join(" and "),
        if .0.len() == 1 { "s" } else { "" }
    )]
    Exists(Vec<PathBuf>),
    /// `init`: the folder could not be created.
    #[error("cannot create `{}`: {source}", dir.display())]
    CreateFolder { dir: PathBuf, source: std::io::Error },
    /// `init`: a file could not be written.
    #[error("cannot write `{}`: {source}", path.display())]
    WriteFile { path: PathBuf, source: std::io::Error },
    /// `simulate`: the simulator failed on a policy (a bug).
    #[error("simulating {policy} failed: {reason}")]
    Simulation { policy: &'static str, reason: String },
    /// `man --dir`: the pages could not be written.
    #[error("cannot write the manual pages into `{}`: {source}", dir.display())]
    ManDir { dir: PathBuf, source: std::io::Error },
    /// `man COMMAND`: no such command.
    #[error("planrun has no command `{name}`")]
    NoCommand { name: String, commands: Vec<String> },
    /// `man`: the page could not be rendered.
    #[error("cannot render the manual page: {0}")]
    Man(std::io::Error),
}

impl CliError {
    /// The process's exit code for this error.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            CliError::Run(e) => e.exit_code(),
            CliError::Plan(_) => exit::INVALID_PLAN,
            CliError::NoSuchTask { .. } | CliError::Exists(_) | CliError::NoCommand { .. } => exit::USAGE,
            CliError::Report(_)
            | CliError::WritePlan { .. }
            | CliError::PrintPlan(_)
            | CliError::Schema(_)
            | CliError::CreateFolder { .. }
            | CliError::WriteFile { .. }
            | CliError::Simulation { .. }
            | CliError::ManDir { .. }
            | CliError::Man(_) => exit::FAILURE,
        }
    }

    fn help_text(&self) -> Option<String> {
        let text = match self {
            CliError::Run(e) => return e.help(),
            CliError::Plan(e) => e.help(),
            CliError::NoSuchTask { known, more, .. } => {
                format!("its tasks are {}{}", known.join(", "), if *more { ", …" } else { "" })
            }
            CliError::Exists(paths) => format!(
                "`planrun init --force` overwrites {}, or run it in another folder",
                if paths.len() == 1 { "it" } else { "them" }
            ),
            CliError::CreateFolder { .. } => "check the folder's permissions".into(),
            CliError::WriteFile { .. } => "check the folder's permissions and free space".into(),
            CliError::Simulation { .. } => "this is a bug in planrun; please report it with the plan".into(),
            CliError::ManDir { .. } => "check that the folder can be written".into(),
            CliError::NoCommand { commands, .. } => format!("the commands: {}", commands.join(", ")),
            CliError::Report(_)
            | CliError::WritePlan { .. }
            | CliError::PrintPlan(_)
            | CliError::Schema(_)
            | CliError::Man(_) => return None,
        };
        Some(text)
    }

    /// The plan and its diagnostics when the error is that the plan has errors: `main` shows
    /// them above the error line.
    pub(crate) fn invalid_plan(&self) -> Option<(&planrun_plan::Loaded, &planrun_plan::Checked)> {
        match self {
            CliError::Run(e) => e.invalid_plan(),
            _ => None,
        }
    }
}

impl miette::Diagnostic for CliError {
    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.help_text().map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }
}
