//! `berth completions SHELL`: a completion script for bash, zsh, fish or
//! PowerShell, generated from the same clap definitions as `--help`.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::{Cli, Outcome};
use crate::ui::Printer;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish or powershell.
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(["bash", "zsh", "fish", "powershell"]))]
    pub shell: String,
}

pub fn run(args: CompletionsArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    let shell: Shell = args.shell.parse().map_err(|e: String| anyhow::anyhow!(e))?;
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "berth", &mut script);
    printer.data(&String::from_utf8(script)?)?;
    Ok(Outcome::Success)
}
