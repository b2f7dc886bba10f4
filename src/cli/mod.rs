//! Command-line interface: clap definitions per command, resolved into typed settings.
pub mod images;

use clap::{Parser, Subcommand};

/// berth: deploy a web application stack to Kubernetes from one binary.
#[derive(Debug, Parser)]
#[command(name = "berth", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build, side-load or push OCI images (no Docker needed).
    #[command(subcommand)]
    Images(images::ImagesCommand),
}

/// Parse arguments, run the command, and return the exit code (0 ok, 2 bad input or error).
pub fn run() -> i32 {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Images(command) => images::run(command),
    };
    match result {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("error: {error:#}");
            2
        }
    }
}
