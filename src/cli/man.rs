//! `berth man`: the man page (roff), generated from the clap definitions at
//! run time so it always describes the binary that prints it; no build
//! script, no generated file to keep in step. `berth man > berth.1`.

use clap::CommandFactory;

use super::{Cli, Outcome};
use crate::ui::Printer;

pub fn run(printer: &Printer) -> anyhow::Result<Outcome> {
    let mut page = Vec::new();
    // One page: synopsis, global options and the subcommands with their
    // summaries; `berth COMMAND --help` has each command's flags.
    clap_mangen::Man::new(Cli::command()).render(&mut page)?;
    printer.data(&String::from_utf8(page)?)?;
    Ok(Outcome::Success)
}
