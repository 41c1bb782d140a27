//! The `planrun` command line: parses arguments, runs one command, maps the outcome to an exit
//! code. Business rules live in the library crates.

#[macro_use]
extern crate planrun_runtime;

mod check;
#[macro_use]
mod cli;
mod completions;
mod doctor;

mod init;

mod simulate;

use planrun_runtime::{self as run, exit, out, render};

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
    let code = match cli.command {
        cli::Command::Check(args) => check::check(&args, &out),
        cli::Command::Import(args) => check::import(&args, &out),
        cli::Command::Run(args) => run::run(&args.into(), &out),
        cli::Command::Continue(args) => run::continue_run(&args.into(), &out, cli::parse_run),
        cli::Command::Gc(args) => run::kept::gc(&args.into()),
        cli::Command::Status(args) => run::views::status(&args.into(), &out),
        cli::Command::Retry(args) => run::views::retry_or_skip(&args.into(), false, &out),
        cli::Command::Skip(args) => run::views::retry_or_skip(&args.into(), true, &out),
        cli::Command::Log(args) => run::views::log(&args.into(), &out),
        cli::Command::Explain(args) => run::explain::explain(&args.into(), &out),
        cli::Command::Estimate(args) => run::estimate_only(&args.into(), &out),
        cli::Command::Report(args) => run::costs::report(&args.into(), &out),
        cli::Command::Simulate(args) => simulate::simulate(&args, &out),
        cli::Command::Schema { events } => check::schema(events),
        cli::Command::Formats => check::formats(),
        cli::Command::Doctor(args) => doctor::doctor(&args),
        cli::Command::Init(args) => init::init(&args),
        cli::Command::Completions(args) => completions::completions(&args),
        cli::Command::Man(args) => completions::man(&args),
    };
    ExitCode::from(code)
}
