//! `planrun completions SHELL` and `planrun man`: the shell completion scripts and the manual
//! pages, generated from the same clap definitions as `--help` (`cli::command`), so they never
//! drift from what the parser accepts.

use crate::exit;
use clap::Args;
use clap_complete::Shell;
use std::path::PathBuf;

pub(crate) const COMPLETIONS_HELP: &str = concat!(
    "The script is printed on stdout; install it where your shell looks for completions:
  bash        planrun completions bash > ~/.local/share/bash-completion/completions/planrun
  zsh         planrun completions zsh > ~/.zfunc/_planrun   (with fpath+=~/.zfunc before compinit)
  fish        planrun completions fish > ~/.config/fish/completions/planrun.fish
  elvish      planrun completions elvish >> ~/.config/elvish/rc.elv
  powershell  planrun completions powershell >> $PROFILE

",
    exits!(completions)
);

pub(crate) const MAN_HELP: &str = concat!(
    "Without --dir, the page of planrun (or of COMMAND) is printed on stdout as roff:
`planrun man | man -l -` reads it. With --dir, planrun.1 and one page per command
(planrun-run.1, planrun-status.1, ...) are written into DIR, which is created if needed:
`planrun man --dir ~/.local/share/man/man1` installs them for `man planrun-run`.

",
    exits!(man)
);

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    #[arg(value_enum, value_name = "SHELL")]
    pub(crate) shell: Shell,
}

#[derive(Debug, Args)]
pub(crate) struct ManArgs {
    /// Print this command's page instead of planrun's (e.g. `run`).
    #[arg(value_name = "COMMAND", conflicts_with = "dir")]
    pub(crate) command: Option<String>,
    /// Write planrun.1 and one page per command into this folder.
    #[arg(long, value_name = "DIR")]
    pub(crate) dir: Option<PathBuf>,
}

pub(crate) fn completions(args: &CompletionsArgs) -> u8 {
    let mut cmd = crate::cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "planrun", &mut script);
    out!("{}", String::from_utf8_lossy(&script));
    exit::OK
}

pub(crate) fn man(args: &ManArgs) -> crate::error::Outcome {
    use crate::error::CliError;
    let mut cmd = crate::cli::command().disable_help_subcommand(true);
    if let Some(dir) = &args.dir {
        let written = std::fs::create_dir_all(dir).and_then(|()| clap_mangen::generate_to(cmd, dir));
        written.map_err(|source| CliError::ManDir { dir: dir.clone(), source })?;
        if !crate::out::quiet() {
            errln!("planrun: manual pages written to {}", dir.display());
        }
        return Ok(exit::OK);
    }
    // Built first, so that a command's page is named `planrun-COMMAND` and lists its usage in
    // full.
    cmd.build();
    let page = match &args.command {
        None => cmd,
        Some(name) => match cmd.find_subcommand(name) {
            Some(sub) => sub.clone(),
            None => {
                let commands = cmd.get_subcommands().map(|c| c.get_name().to_owned()).collect();
                return Err(CliError::NoCommand { name: name.clone(), commands });
            }
        },
    };
    let mut roff = Vec::new();
    clap_mangen::Man::new(page).render(&mut roff).map_err(CliError::Man)?;
    out!("{}", String::from_utf8_lossy(&roff));
    Ok(exit::OK)
}
