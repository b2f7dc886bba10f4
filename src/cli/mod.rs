//! Command-line interface: clap definitions per command, a settings step that
//! resolves each command's flags, files and environment into typed settings
//! before any work, the output of each command, and the mapping of outcomes
//! to exit codes (0 success, 1 the thing asked for failed, 2 bad input or
//! unexpected error). The work itself is the library's: `pipeline` and
//! `apply`.

mod aiops;
mod apply_args;
mod chart;
mod cluster_args;
mod completions;
mod compose;
pub(crate) mod deploy;
mod deploy_wizard;
mod dev;
mod diagnose;
mod diff;
mod doctor;
pub(crate) mod error_hints;
pub(crate) mod hints;
mod history;
pub mod images;
mod init;
mod logs;
mod man;
mod mcp;
mod open;
mod render;
mod report;
mod rollback;
mod schema;
pub(crate) mod settings;
mod status;
mod uninstall;
mod values_args;

use clap::{Args, Parser, Subcommand};

use crate::ui::{self, Printer, Verbosity};

pub use cluster_args::ClusterArgs;
pub use values_args::{ReleaseArgs, ValuesArgs};

/// `berth --version`: the version, then the commit and target triple the build script recorded.
const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "\ncommit: ",
    env!("BERTH_BUILD_COMMIT"),
    "\ntarget: ",
    env!("BERTH_BUILD_TARGET"),
);

/// Deploy the Todo AI chatbot stack (or your own) to Kubernetes from one binary.
#[derive(Debug, Parser)]
#[command(name = "berth", version, long_version = LONG_VERSION, about, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// How much berth says, for every command.
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Print nothing but data and errors.
    #[arg(
        short,
        long,
        global = true,
        conflicts_with = "verbose",
        help_heading = "Global options"
    )]
    pub quiet: bool,
    /// Say more about each step.
    #[arg(short, long, global = true, help_heading = "Global options")]
    pub verbose: bool,
    /// No live progress bars or spinners (plain lines instead).
    #[arg(long, global = true, help_heading = "Global options")]
    pub no_progress: bool,
}

impl OutputArgs {
    pub fn printer(&self) -> Printer {
        let verbosity = match (self.quiet, self.verbose) {
            (true, _) => Verbosity::Quiet,
            (_, true) => Verbosity::Verbose,
            _ => Verbosity::Normal,
        };
        Printer::new(verbosity, self.no_progress)
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the objects a deploy would apply, in apply order.
    Render(render::RenderArgs),
    /// Print the JSON Schema of the values (values/values.schema.json).
    Schema(schema::SchemaArgs),
    /// Build, side-load or push OCI images (no Docker needed).
    #[command(subcommand)]
    Images(images::ImagesCommand),
    /// Apply the stack to the cluster with server-side apply and wait until it is ready.
    Deploy(deploy::DeployArgs),
    /// Show what a deploy would change (exit 0 none, 1 changes, 2 error).
    Diff(diff::DiffArgs),
    /// Show the release's workloads, readiness and URL.
    Status(status::StatusArgs),
    /// Serve the release on localhost through the API server until Ctrl-C.
    ///
    /// Each routed component at its own port (http://localhost:3000, :8000, …); every
    /// connection goes to a pod that is ready then, so rollouts and restarts do not break it.
    Open(open::OpenArgs),
    /// Watch the components' sources; rebuild, side-load and roll out each edit until Ctrl-C.
    ///
    /// Deploys once with the dev profile for the local origin and serves it like `berth open`;
    /// then every saved change to a component's build inputs is rebuilt, only the layers the node
    /// lacks are loaded and only that component is rolled out, with its logs streaming. A failed
    /// build or rollout shows its root cause and the previous version keeps serving.
    Dev(dev::DevArgs),
    /// List the release's revisions.
    History(history::HistoryArgs),
    /// Re-apply an earlier revision (default: the previous one).
    Rollback(rollback::RollbackArgs),
    /// Delete the release; volumes are kept unless --delete-data.
    Uninstall(uninstall::UninstallArgs),
    /// Export a Helm chart equivalent to berth's render.
    Chart(chart::ChartArgs),
    /// Export the stack as a Compose file (docker-compose.yml + .env with names only).
    Compose(compose::ComposeArgs),
    /// Write berth.yaml and image specs from the repository (scan, ask only what is unclear).
    Init(init::InitArgs),
    /// Explain why the release (or one component) is not healthy: ranked causes with fixes.
    Diagnose(diagnose::DiagnoseArgs),
    /// Print the logs of the release's pods (or one component's), prefixed pod/container.
    Logs(logs::LogsArgs),
    /// Check what commonly stops a deploy: cluster, capacity, storage, exposure, images, DNS.
    Doctor(doctor::DoctorArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell).
    Completions(completions::CompletionsArgs),
    /// Print the man page (roff): berth man > berth.1
    Man,
    /// Serve berth's tools to AI agents over MCP (stdio, or streamable HTTP with --http).
    Mcp(mcp::McpArgs),
    /// Export configuration for AI operations tools (kubectl-ai, kagent).
    #[command(subcommand)]
    Aiops(aiops::AiopsCommand),
}

/// What a command reports back when it did not fail outright.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// The thing asked for did not happen (deploy not ready, diff found changes).
    Failed,
}

/// Parses arguments, runs the command on one async runtime and returns the
/// process exit code.
pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let code = if err.use_stderr() { 2 } else { 0 };
            let _ = err.print();
            return code;
        }
    };
    let printer = cli.output.printer();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            printer.error(
                &anyhow::Error::new(err).context("cannot start the async runtime"),
                None,
            );
            return 2;
        }
    };
    match runtime.block_on(dispatch(cli.command, &printer)) {
        Ok(Outcome::Success) => 0,
        Ok(Outcome::Failed) => 1,
        Err(err) if ui::is_broken_pipe(&err) => 0,
        Err(err) => {
            printer.error(&err, error_hints::of_chain(&err).as_deref());
            2
        }
    }
}

async fn dispatch(command: Command, printer: &Printer) -> anyhow::Result<Outcome> {
    match command {
        Command::Render(args) => render::run(args, printer),
        Command::Schema(args) => schema::run(args, printer),
        Command::Images(command) => images::run(command, printer).await,
        Command::Deploy(args) => {
            let settings = deploy::DeploySettings::resolve(args)?;
            if settings.interactive {
                deploy_wizard::run(settings, printer).await
            } else {
                deploy::run(settings, printer).await
            }
        }
        Command::Diff(args) => diff::run(args, printer).await,
        Command::Status(args) => status::run(args, printer).await,
        Command::Open(args) => open::run(args, printer).await,
        Command::Dev(args) => dev::run(args, printer).await,
        Command::History(args) => history::run(args, printer).await,
        Command::Rollback(args) => rollback::run(args, printer).await,
        Command::Uninstall(args) => uninstall::run(args, printer).await,
        Command::Chart(args) => chart::run(args, printer),
        Command::Compose(args) => compose::run(args, printer),
        Command::Init(args) => init::run(args, printer),
        Command::Diagnose(args) => diagnose::run(args, printer).await,
        Command::Logs(args) => logs::run(args, printer).await,
        Command::Doctor(args) => doctor::run(args, printer).await,
        Command::Completions(args) => completions::run(args, printer),
        Command::Man => man::run(printer),
        Command::Mcp(args) => mcp::run(args, printer).await,
        Command::Aiops(command) => aiops::run(command, printer),
    }
}
