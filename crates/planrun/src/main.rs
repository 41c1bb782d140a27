//! The `planrun` command line: parses arguments, runs one command, maps the outcome to an exit
//! code. Business rules live in the library crates.

#[macro_use]
mod out;
mod check;
#[macro_use]
mod cli;
mod completions;
mod doctor;
mod error;
mod init;
mod progress;
mod render;
mod simulate;

use error::CliError;
use out::with_console;
use planrun_runtime::views::{self, UserAction as Act};
use planrun_runtime::{self as run, exit};

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match cli::parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { exit::USAGE } else { exit::OK };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    out::set_verbosity(cli.verbosity());
    let out = render::Output::new(match cli.color {
        cli::ColorChoice::Always => Some(true),
        cli::ColorChoice::Never => Some(false),
        cli::ColorChoice::Auto => None,
    });
    let outcome = match cli.command {
        cli::Command::Check(args) => check::check(&args, &out),
        cli::Command::Import(args) => check::import(&args, &out),
        cli::Command::Run(args) => progress::run(&args.into()),
        cli::Command::Continue(args) => {
            let a = with_console(|c| run::continue_run(&args.into(), cli::parse_run, c));
            a.map_err(CliError::from).and_then(|a| progress::run(&a))
        }
        cli::Command::Gc(args) => with_console(|c| run::kept::gc(&args.into(), c)).map_err(CliError::from),
        cli::Command::Status(args) => with_console(|c| run::views::status(&args.into(), c)).map_err(CliError::from),
        cli::Command::Retry(a) => {
            with_console(|c| views::user_action(&a.into(), Act::Retry, c)).map_err(CliError::from)
        }
        cli::Command::Review(a) => {
            with_console(|c| views::user_action(&a.into(), Act::Review, c)).map_err(CliError::from)
        }
        cli::Command::Skip(a) => with_console(|c| views::user_action(&a.into(), Act::Skip, c)).map_err(CliError::from),
        cli::Command::Log(args) => with_console(|c| run::views::log(&args.into(), c)).map_err(CliError::from),
        cli::Command::Explain(args) => with_console(|c| run::explain::explain(&args.into(), c)).map_err(CliError::from),
        cli::Command::Estimate(args) => with_console(|c| run::estimate_only(&args.into(), c)).map_err(CliError::from),
        cli::Command::Report(args) => with_console(|c| run::costs::report(&args.into(), c)).map_err(CliError::from),
        cli::Command::Simulate(args) => simulate::simulate(&args, &out),
        cli::Command::Schema { events } => check::schema(events),
        cli::Command::Formats => Ok(check::formats()),
        cli::Command::Doctor(args) => doctor::doctor(&args),
        cli::Command::Init(args) => init::init(&args),
        cli::Command::Completions(args) => Ok(completions::completions(&args)),
        cli::Command::Man(args) => completions::man(&args),
    };
    ExitCode::from(outcome.unwrap_or_else(|e| fail(&e, &out)))
}

/// The one place a command's error is printed: a plan's errors rendered against its sources,
/// then `error: …` and `  help: …` on stderr. Returns the exit code.
fn fail(e: &CliError, out: &render::Output) -> u8 {
    let mut text = String::new();
    if let Some((loaded, checked)) = e.invalid_plan() {
        let mut renderer = render::Renderer::new(&loaded.sources, out);
        for d in checked.diagnostics.iter().filter(|d| d.severity == planrun_plan::Severity::Error) {
            text.push_str(&renderer.render(d));
        }
        err!("{text}");
    }
    errln!("{}", error_lines(e));
    e.exit_code()
}

/// `error: MESSAGE`, and `  help: HELP` under it when there is help.
fn error_lines(e: &CliError) -> String {
    match miette::Diagnostic::help(e) {
        Some(help) => format!("error: {e}\n  help: {help}"),
        None => format!("error: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn io() -> std::io::Error {
        std::io::Error::from(std::io::ErrorKind::PermissionDenied)
    }

    /// Each error of the binary's own commands, with its exit code and its lines as printed;
    /// the runtime's errors keep theirs (`planrun_runtime::Error`'s tests list them).
    #[test]
    fn each_error_prints_its_lines_and_exits_with_its_code() {
        let denied = "permission denied";
        let cases: Vec<(CliError, u8, String)> = vec![
            (run::Error::Unconfirmed.into(), 64, "error: agent CLIs will run and there is no terminal to confirm the estimate above\n  help: pass --yes to start (set --budget-usd to cap what it may spend), or `planrun estimate` to see it first".into()),
            (run::Error::Busy(run::LockError::Held { holder: None }).into(), 75, "error: another planrun is working on this run\n  help: wait for it to finish, or stop it (Ctrl-C) and run this again to resume; `planrun status` shows its progress".into()),
            (run::Error::Runtime(io()).into(), 1, format!("error: cannot start the runtime: {denied}")),
            (planrun_plan::LoadError::Empty { path: "p.md".into() }.into(), 2, "error: `p.md` is empty: there is no plan in it\n  help: ".into()),
            (CliError::Report(io()), 1, format!("error: cannot write the report: {denied}")),
            (CliError::NoSuchTask { id: "x".into(), known: vec!["a".into(), "b".into()], more: true }, 64, "error: the plan has no task `x`\n  help: its tasks are a, b, …".into()),
            (CliError::WritePlan { path: "o.md".into(), source: io() }, 1, format!("error: cannot write `o.md`: {denied}")),
            (CliError::PrintPlan(io()), 1, format!("error: cannot write the plan: {denied}")),
            (CliError::Exists(vec![PathBuf::from("planrun.toml"), PathBuf::from("plan.md")]), 64, "error: `planrun.toml` and `plan.md` already exist; nothing was written\n  help: `planrun init --force` overwrites them, or run it in another folder".into()),
            (CliError::Exists(vec![PathBuf::from("plan.md")]), 64, "error: `plan.md` already exists; nothing was written\n  help: `planrun init --force` overwrites it, or run it in another folder".into()),
            (CliError::CreateFolder { dir: "d".into(), source: io() }, 1, format!("error: cannot create `d`: {denied}\n  help: check the folder's permissions")),
            (CliError::WriteFile { path: "f".into(), source: io() }, 1, format!("error: cannot write `f`: {denied}\n  help: check the folder's permissions and free space")),
            (CliError::Simulation { policy: "fifo", reason: "r".into() }, 1, "error: simulating fifo failed: r\n  help: this is a bug in planrun; please report it with the plan".into()),
            (CliError::ManDir { dir: "m".into(), source: io() }, 1, format!("error: cannot write the manual pages into `m`: {denied}\n  help: check that the folder can be written")),
            (CliError::NoCommand { name: "x".into(), commands: vec!["check".into(), "run".into()] }, 64, "error: planrun has no command `x`\n  help: the commands: check, run".into()),
            (CliError::Man(io()), 1, format!("error: cannot render the manual page: {denied}")),
        ];
        for (e, code, lines) in &cases {
            assert_eq!(e.exit_code(), *code, "{e:?}");
            let got = error_lines(e);
            assert!(got.starts_with(lines.as_str()), "{e:?}:\n{got}\nexpected:\n{lines}");
            assert_eq!(got.lines().count(), lines.lines().count().max(1), "{got}");
        }
        let Err(bad) = serde_json::from_str::<serde_json::Value>("{") else { panic!("`{{` parsed") };
        assert_eq!(CliError::Schema(bad).exit_code(), 1);
    }
}
