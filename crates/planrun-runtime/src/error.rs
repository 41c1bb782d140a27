//! Why a command could not do its work: one variant per thing that went wrong, each with its
//! exit code ([`Error::exit_code`]) and, when there is one, what to do about it
//! ([`Error::help`]). The commands return these instead of printing them; the binary prints
//! `error: …` and `  help: …` and exits with the code.

use crate::exit;
use crate::layout::LockError;
use crate::session::SessionError;
use planrun_git::GitError;
use planrun_store::StoreError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The run could not be opened: the plan is unreadable or has errors, there is no run, the
    /// state directory holds another plan's run or is damaged.
    #[error("{}", open_message(.0))]
    Open(#[from] SessionError),
    /// planrun.toml could not be read.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// A setting of the run (its agents, pipeline or tester) is wrong or cannot be met.
    #[error("{message}")]
    Setting { message: String, help: String },
    /// A prompt template in the state directory cannot be used.
    #[error("{0}")]
    Template(String),
    /// The journal of a previous run could not be read before starting.
    #[error("cannot read the journal `{}`: {reason}", path.display())]
    PreviousJournal { path: PathBuf, reason: String },
    /// `run`: the state directory could not be created.
    #[error("cannot create the state directory `{}`: {source}", dir.display())]
    StateDir { dir: PathBuf, source: std::io::Error },
    /// `run`: another planrun holds the state directory (or its lock cannot be taken).
    #[error("{0}")]
    Busy(LockError),
    /// `run`: a finished run of another plan could not be set aside.
    #[error("cannot set the finished run of `{plan}` aside: {reason}")]
    SetAside { plan: String, reason: String },
    /// The async runtime could not be started.
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
    /// `run`: an agent CLI would run and nobody can confirm its estimate.
    #[error("agent CLIs will run and there is no terminal to confirm the estimate above")]
    Unconfirmed,
    /// `continue`: the run recorded no command line.
    #[error("the run in `{}` recorded no command line to continue", .0.display())]
    NothingToContinue(PathBuf),
    /// `continue`: the folder the run was started from is gone.
    #[error("cannot go back to `{cwd}`, where the run was started: {source}")]
    StartFolder { cwd: String, source: std::io::Error },
    /// `continue`: the recorded command line is not one `run` reads.
    #[error("the run's recorded command line cannot be read again: {}", .0.join(" "))]
    RecordedCommand(Vec<String>),
    /// `retry`, `skip` before any run without `--plan`.
    #[error(
        "there is no run in `{}` yet, so planrun does not know which plan task `{task}` is in",
        dir.display()
    )]
    NoPlanForTask { dir: PathBuf, task: String, action: &'static str },
    /// `retry`, `skip`: the state directory could not be created.
    #[error("cannot create the state directory `{}`: {source}", dir.display())]
    CreateForTask { dir: PathBuf, source: std::io::Error },
    /// `retry`, `skip`: a run holds the state directory.
    #[error("{source}, so `{action}` would change it under its feet")]
    BusyForTask { action: &'static str, source: LockError },
    /// `retry`, `skip`: the state directory cannot be locked.
    #[error("{source}")]
    Lock { dir: PathBuf, source: LockError },
    /// The plan has no such task (the message lists those it has).
    #[error("{0}")]
    NoSuchTask(String),
    /// `retry`, `skip`: the task is in a state the action does not apply to.
    #[error("task {task} is {state}; {}", match *action {
        "skip" => "only a task that is not running can be skipped",
        "review" => "only a blocked task (one that waits for you) can be reviewed again",
        _ => "only a blocked, skipped or done task can be retried",
    })]
    WrongState { task: String, state: &'static str, action: &'static str },
    /// The journal could not be written.
    #[error("cannot write the journal: {0}")]
    JournalWrite(StoreError),
    /// The journal could not be read.
    #[error("cannot read the journal: {0}")]
    JournalRead(StoreError),
    /// `log --follow`: stdout failed (other than the reader going away).
    #[error("cannot write the log: {0}")]
    WriteLog(std::io::Error),
    /// `gc` outside a git repository.
    #[error("`{}` is not in a git repository, so planrun kept no work here", .0.display())]
    NotARepository(PathBuf),
    /// `gc`: the kept refs could not be listed.
    #[error("cannot list the kept work: {0}")]
    ListKept(GitError),
    /// `report RUN`: the run's journal was replaced; only its summary is left.
    #[error("the journal in `{}` is run {current}'s; of run {want} only its summary is left", dir.display())]
    OnlySummary { dir: PathBuf, current: String, want: String, summary: PathBuf },
    /// `report RUN`: no such run in the state directory.
    #[error("no run `{want}` in `{}`", dir.display())]
    NoSuchRun { dir: PathBuf, want: String, known: Vec<String> },
    /// `run`: stopped, every step with it, because nothing more could be recorded (the journal
    /// cannot be written) or the run cannot watch for signals.
    #[error("{0}")]
    Stopped(String),
}

/// The first line of an error opening a run; a plan with errors says how many.
fn open_message(e: &SessionError) -> String {
    match e {
        SessionError::Invalid(_, checked) => format!(
            "the plan has {} error{}; nothing was run",
            checked.errors(),
            if checked.errors() == 1 { "" } else { "s" }
        ),
        other => other.to_string(),
    }
}

impl Error {
    /// The process's exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Open(SessionError::Invalid(..) | SessionError::Load(_) | SessionError::NoRun(_)) => {
                exit::INVALID_PLAN
            }
            Error::Open(SessionError::OtherPlan { .. }) => exit::USAGE,
            Error::Open(_) => exit::FAILURE,
            Error::Config(_)
            | Error::Setting { .. }
            | Error::Template(_)
            | Error::Unconfirmed
            | Error::NothingToContinue(_)
            | Error::StartFolder { .. }
            | Error::RecordedCommand(_)
            | Error::NoSuchTask(_)
            | Error::WrongState { .. }
            | Error::NotARepository(_) => exit::USAGE,
            Error::Busy(_) | Error::BusyForTask { .. } => exit::BUSY,
            Error::NoPlanForTask { .. } | Error::OnlySummary { .. } | Error::NoSuchRun { .. } => exit::INVALID_PLAN,
            Error::PreviousJournal { .. }
            | Error::StateDir { .. }
            | Error::SetAside { .. }
            | Error::Runtime(_)
            | Error::CreateForTask { .. }
            | Error::Lock { .. }
            | Error::JournalWrite(_)
            | Error::JournalRead(_)
            | Error::WriteLog(_)
            | Error::ListKept(_)
            | Error::Stopped(_) => exit::FAILURE,
        }
    }

    /// What to do about it, when planrun can say.
    pub fn help(&self) -> Option<String> {
        let text = match self {
            Error::Open(e) => e.help(),
            Error::Config(_) => "fix the file (its keys are listed in docs/agents.md), or point --config elsewhere".into(),
            Error::Setting { help, .. } => help.clone(),
            Error::Template(_) => "fix or remove that file to use the built-in template".into(),
            Error::PreviousJournal { .. } => "the state directory is damaged; move it away to start afresh (finished work in the repository is kept)".into(),
            Error::Busy(_) => "wait for it to finish, or stop it (Ctrl-C) and run this again to resume; `planrun status` shows its progress".into(),
            Error::SetAside { .. } => "nothing of it was removed; give this plan its own state with `--state-dir DIR`".into(),
            Error::Unconfirmed => "pass --yes to start (set --budget-usd to cap what it may spend), or `planrun estimate` to see it first".into(),
            Error::NothingToContinue(_) | Error::RecordedCommand(_) => {
                "run `planrun run PLAN …` again with its options".into()
            }
            Error::StartFolder { .. } => "run `planrun run PLAN …` with its options from the repository".into(),
            Error::NoPlanForTask { task, action, .. } => format!(
                "name the plan: `planrun {action} {task} --plan PLAN` (the first `planrun run PLAN` then honours it), or point at a run's state with `--state-dir`"
            ),
            Error::CreateForTask { .. } => "check the permissions and free space of that folder".into(),
            Error::BusyForTask { .. } => "wait for that run to finish, or stop it (Ctrl-C), then try again".into(),
            Error::Lock { dir, .. } => format!("check the permissions of the state directory `{}`", dir.display()),
            Error::NotARepository(_) => "run `planrun gc` in the repository the run worked in".into(),
            Error::OnlySummary { summary, .. } => format!("read `{}`", summary.display()),
            Error::NoSuchRun { known, .. } => format!(
                "the runs there: {}; without RUN, the report is of the current one",
                if known.is_empty() { "none".to_owned() } else { known.join(", ") }
            ),
            Error::StateDir { .. }
            | Error::Runtime(_)
            | Error::NoSuchTask(_)
            | Error::WrongState { .. }
            | Error::JournalWrite(_)
            | Error::JournalRead(_)
            | Error::WriteLog(_)
            | Error::ListKept(_)
            | Error::Stopped(_) => return None,
        };
        Some(text)
    }

    /// The plan and its diagnostics when the error is that the plan has errors: they are shown
    /// (rendered against its sources) before the error line.
    pub fn invalid_plan(&self) -> Option<(&planrun_plan::Loaded, &planrun_plan::Checked)> {
        match self {
            Error::Open(SessionError::Invalid(loaded, checked)) => Some((loaded, checked)),
            _ => None,
        }
    }
}

impl From<(String, String)> for Error {
    /// A setting's problem: what is wrong, and what to do.
    fn from((message, help): (String, String)) -> Self {
        Error::Setting { message, help }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io() -> std::io::Error {
        std::io::Error::from(std::io::ErrorKind::PermissionDenied)
    }

    /// A plan with one error (a dependency on a task it does not have), read and checked.
    fn invalid() -> SessionError {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.md");
        std::fs::write(&path, "# P\n\n## Task a: A\n\nDepends on: `zzz`\n\nDo.\n").unwrap();
        let loaded = planrun_plan::load(&path, None).unwrap();
        let checked = planrun_plan::check(&loaded);
        SessionError::Invalid(Box::new(loaded), Box::new(checked))
    }

    /// Every variant, its exit code and the start of its help line (`None`: no help line). The
    /// codes are part of the command line's contract (`planrun --help` lists them).
    #[test]
    fn each_error_has_its_exit_code_and_help() {
        let dir = PathBuf::from("/s");
        let held = || LockError::Held { holder: None };
        let cases: Vec<(Error, u8, Option<&str>)> = vec![
            (Error::Open(invalid()), 2, Some("run `planrun check` on the plan")),
            (Error::Open(SessionError::Load(planrun_plan::LoadError::Empty { path: "p.md".into() })), 2, Some("")),
            (Error::Open(SessionError::NoRun(dir.clone())), 2, Some("start one with `planrun run PLAN`")),
            (
                Error::Open(SessionError::OtherPlan { dir: dir.clone(), recorded: "a".into(), plan: "b".into() }),
                64,
                Some("that run has not ended"),
            ),
            (Error::Open(SessionError::Replay("x".into())), 1, Some("the state directory is damaged")),
            (
                Error::Config(crate::config::ConfigError::Parse { path: "c".into(), message: "m".into() }),
                64,
                Some("fix the file (its keys are listed in docs/agents.md)"),
            ),
            (Error::Setting { message: "m".into(), help: "h".into() }, 64, Some("h")),
            (Error::Template("t".into()), 64, Some("fix or remove that file")),
            (
                Error::PreviousJournal { path: dir.clone(), reason: "r".into() },
                1,
                Some("the state directory is damaged"),
            ),
            (Error::StateDir { dir: dir.clone(), source: io() }, 1, None),
            (Error::Busy(held()), 75, Some("wait for it to finish")),
            (Error::SetAside { plan: "p".into(), reason: "r".into() }, 1, Some("nothing of it was removed")),
            (Error::Runtime(io()), 1, None),
            (Error::Unconfirmed, 64, Some("pass --yes to start")),
            (Error::NothingToContinue(dir.clone()), 64, Some("run `planrun run PLAN …` again")),
            (
                Error::StartFolder { cwd: "c".into(), source: io() },
                64,
                Some("run `planrun run PLAN …` with its options"),
            ),
            (Error::RecordedCommand(vec!["x".into()]), 64, Some("run `planrun run PLAN …` again")),
            (
                Error::NoPlanForTask { dir: dir.clone(), task: "t".into(), action: "skip" },
                2,
                Some("name the plan: `planrun skip t --plan PLAN`"),
            ),
            (Error::CreateForTask { dir: dir.clone(), source: io() }, 1, Some("check the permissions and free space")),
            (Error::BusyForTask { action: "retry", source: held() }, 75, Some("wait for that run to finish")),
            (
                Error::Lock { dir: dir.clone(), source: LockError::Io(dir.clone(), io()) },
                1,
                Some("check the permissions of the state directory `/s`"),
            ),
            (Error::NoSuchTask("n".into()), 64, None),
            (Error::WrongState { task: "t".into(), state: "running", action: "retry" }, 64, None),
            (Error::JournalWrite(StoreError::Corrupt("c".into())), 1, None),
            (Error::JournalRead(StoreError::Corrupt("c".into())), 1, None),
            (Error::WriteLog(io()), 1, None),
            (Error::NotARepository(dir.clone()), 64, Some("run `planrun gc` in the repository")),
            (Error::ListKept(GitError::Spawn(io())), 1, None),
            (
                Error::OnlySummary { dir: dir.clone(), current: "1".into(), want: "2".into(), summary: "s.md".into() },
                2,
                Some("read `s.md`"),
            ),
            (Error::NoSuchRun { dir, want: "w".into(), known: vec![] }, 2, Some("the runs there: none; without RUN")),
        ];
        for (e, code, help) in &cases {
            assert_eq!(e.exit_code(), *code, "{e:?}");
            match (e.help(), help) {
                (Some(h), Some(want)) => assert!(h.starts_with(want), "{e:?}: {h}"),
                (None, None) => {}
                (got, want) => panic!("{e:?}: help {got:?}, expected {want:?}"),
            }
        }
    }

    /// The lines people see for the cases the binary renders specially.
    #[test]
    fn messages_read_as_before() {
        let e = Error::Open(invalid());
        assert_eq!(e.to_string(), "the plan has 1 error; nothing was run");
        assert!(e.invalid_plan().is_some_and(|(_, c)| c.errors() == 1));
        assert!(Error::Unconfirmed.invalid_plan().is_none());
        let e = Error::WrongState { task: "a".into(), state: "running", action: "skip" };
        assert_eq!(e.to_string(), "task a is running; only a task that is not running can be skipped");
        let e = Error::BusyForTask { action: "retry", source: LockError::Held { holder: Some(7) } };
        assert_eq!(
            e.to_string(),
            "another planrun is working on this run (process 7), so `retry` would change it under its feet"
        );
        let e = Error::NoSuchRun { dir: "/s".into(), want: "w".into(), known: vec!["1".into(), "2".into()] };
        assert_eq!(e.help().as_deref(), Some("the runs there: 1, 2; without RUN, the report is of the current one"));
    }
}
