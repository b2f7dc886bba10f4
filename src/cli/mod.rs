//! Command-line interface: clap definitions per command, each resolved into
//! typed settings before any work, and the mapping of outcomes to exit codes
//! (0 success, 1 the thing asked for failed, 2 bad input or unexpected error).

mod apply_args;
mod chart;
mod cluster_args;
mod deploy;
mod deploy_images;
mod deploy_wizard;
mod diff;
mod history;
pub mod images;
pub mod prepare;
mod render;
mod rollback;
mod schema;
mod status;
mod uninstall;
mod values_args;

use clap::{Parser, Subcommand};

use crate::ui;

pub use cluster_args::ClusterArgs;
pub use values_args::{ReleaseArgs, ValuesArgs};

/// Deploy the Todo AI chatbot stack (or your own) to Kubernetes from one binary.
#[derive(Debug, Parser)]
#[command(name = "berth", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the objects a deploy would apply, in apply order.
    Render(render::RenderArgs),
    /// Print the JSON Schema of the values (values/values.schema.json).
    Schema,
    /// Build, side-load or push OCI images (no Docker needed).
    #[command(subcommand)]
    Images(images::ImagesCommand),
    /// Apply the stack to the cluster with server-side apply and wait until it is ready.
    Deploy(deploy::DeployArgs),
    /// Show what a deploy would change (exit 0 none, 1 changes, 2 error).
    Diff(diff::DiffArgs),
    /// Show the release's workloads, readiness and URL.
    Status(status::StatusArgs),
    /// List the release's revisions.
    History(history::HistoryArgs),
    /// Re-apply an earlier revision (default: the previous one).
    Rollback(rollback::RollbackArgs),
    /// Delete the release; volumes are kept unless --delete-data.
    Uninstall(uninstall::UninstallArgs),
    /// Export a Helm chart equivalent to berth's render.
    Chart(chart::ChartArgs),
}

/// What a command reports back when it did not fail outright.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// The thing asked for did not happen (deploy not ready, diff found changes).
    Failed,
}

/// Parses arguments, runs the command and returns the process exit code.
pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let code = if err.use_stderr() { 2 } else { 0 };
            let _ = err.print();
            return code;
        }
    };
    match dispatch(cli.command) {
        Ok(Outcome::Success) => 0,
        Ok(Outcome::Failed) => 1,
        Err(err) if ui::is_broken_pipe(&err) => 0,
        Err(err) => {
            ui::print_error(&err);
            2
        }
    }
}

fn dispatch(command: Command) -> anyhow::Result<Outcome> {
    match command {
        Command::Render(args) => render::run(args),
        Command::Schema => schema::run(),
        Command::Images(command) => images::run(command).map(|()| Outcome::Success),
        Command::Deploy(args) => deploy::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Status(args) => status::run(args),
        Command::History(args) => history::run(args),
        Command::Rollback(args) => rollback::run(args),
        Command::Uninstall(args) => uninstall::run(args),
        Command::Chart(args) => chart::run(args),
    }
}
