//! `berth aiops export`: write kubectl-ai and kagent configuration that
//! reaches berth (custom tools, an MCP client entry, a RemoteMCPServer and an
//! Agent). Writes files only; talks to no cluster.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, CommandFactory, Subcommand};

use super::{Cli, Outcome, ReleaseArgs};
use crate::aiops::{self, ExportSettings, GordonSettings, READ_COMMANDS, ReadCommand};
use crate::mcp::{BerthServer, ServerSettings};
use crate::ui::Printer;

#[derive(Debug, Subcommand)]
pub enum AiopsCommand {
    /// Write kubectl-ai tools.yaml and mcp.yaml and kagent manifests for this release.
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Directory to write into (kubectl-ai/ and kagent/ beneath it).
    #[arg(long, value_name = "DIR", default_value = "aiops")]
    pub out: PathBuf,
    #[command(flatten)]
    pub release: ReleaseArgs,
    /// Values files the diff and render tools pass on (-f); repeatable.
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    pub values_files: Vec<String>,
    /// How the tools start berth: a name on PATH or an absolute path.
    #[arg(long, value_name = "PATH", default_value = "berth")]
    pub berth: String,
    /// URL at which kagent's pods reach `berth mcp --http` (endpoint /mcp).
    #[arg(
        long,
        value_name = "URL",
        default_value = "http://host.minikube.internal:8765/mcp"
    )]
    pub mcp_url: String,
    /// Namespace of the kagent RemoteMCPServer and Agent.
    #[arg(long, value_name = "NS", default_value = "kagent")]
    pub kagent_namespace: String,
    /// kagent ModelConfig the Agent uses.
    #[arg(long, value_name = "NAME", default_value = "default-model-config")]
    pub model_config: String,
    /// Secret in the kagent namespace whose `authorization` key holds `Bearer TOKEN`
    /// (kagent sends it; run berth mcp with --token-secret NAMESPACE/NAME).
    #[arg(long, value_name = "NAME", default_value = "berth-mcp-token")]
    pub token_secret: String,
    /// Image Gordon's container runs the host's berth binary in (glibc for a
    /// glibc build of berth).
    #[arg(
        long,
        value_name = "IMAGE",
        default_value = "docker.io/library/debian:bookworm-slim"
    )]
    pub gordon_image: String,
    /// Kubeconfig Gordon's container mounts (default: $KUBECONFIG's first file, then ~/.kube/config).
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
}

pub fn run(command: AiopsCommand, printer: &Printer) -> anyhow::Result<Outcome> {
    let AiopsCommand::Export(args) = command;
    let gordon = GordonSettings {
        image: args.gordon_image.clone(),
        berth_path: absolute_berth(&args.berth)?,
        kubeconfig: absolute(&kubeconfig_path(args.kubeconfig.clone())?)?,
    };
    let settings = ExportSettings {
        berth: args.berth,
        serve_args: vec![mcp_subcommand()],
        release: super::settings::release_of(&args.release)?.name,
        namespace: args.release.namespace.clone(),
        values_files: args.values_files,
        mcp_url: args.mcp_url,
        kagent_namespace: args.kagent_namespace,
        model_config: args.model_config,
        token_secret: args.token_secret,
        gordon,
    };
    let (commands, missing) = available_commands();
    if !missing.is_empty() {
        printer.status(&format!(
            "not exported (no such command in this berth): {}",
            missing.join(", ")
        ));
    }
    let read_only = BerthServer::new(ServerSettings {
        cluster: Default::default(),
        context: None,
        release: args.release,
        allow_writes: false,
    });
    let tools: Vec<String> = read_only
        .tools()
        .into_iter()
        .map(|t| t.name.into())
        .collect();
    for file in aiops::export(&settings, &commands, &tools) {
        let path = args.out.join(&file.path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(&path, &file.content)
            .with_context(|| format!("cannot write {}", path.display()))?;
        printer.status(&format!("wrote {}", path.display()));
    }
    Ok(Outcome::Success)
}

/// Gordon's container mounts the binary: the path given when absolute, else
/// this berth's own.
fn absolute_berth(berth: &str) -> anyhow::Result<String> {
    if std::path::Path::new(berth).is_absolute() {
        return Ok(berth.to_string());
    }
    let exe = std::env::current_exe().context("cannot tell where this berth binary is")?;
    Ok(exe.display().to_string())
}

/// The kubeconfig kubectl would use: the flag, else `$KUBECONFIG`'s first
/// file, else ~/.kube/config.
fn kubeconfig_path(flag: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(path) = flag {
        return Ok(path);
    }
    if let Some(first) = std::env::var_os("KUBECONFIG")
        .filter(|v| !v.is_empty())
        .and_then(|v| std::env::split_paths(&v).next())
    {
        return Ok(first);
    }
    let home =
        std::env::var_os("HOME").context("no HOME to find ~/.kube/config; pass --kubeconfig")?;
    Ok(PathBuf::from(home).join(".kube/config"))
}

fn absolute(path: &std::path::Path) -> anyhow::Result<String> {
    let path = std::path::absolute(path)
        .with_context(|| format!("cannot make {} absolute", path.display()))?;
    Ok(path.display().to_string())
}

/// The name of berth's MCP server command, as clap defines it: the one
/// with `--allow-writes`.
fn mcp_subcommand() -> String {
    Cli::command()
        .get_subcommands()
        .find(|c| c.get_arguments().any(|a| a.get_id() == "allow_writes"))
        .map(|c| c.get_name().to_string())
        .expect("berth has an MCP server command")
}

/// The read-only commands this binary has, and the names of those it lacks.
fn available_commands() -> (Vec<ReadCommand>, Vec<&'static str>) {
    let cli = Cli::command();
    let (present, missing): (Vec<ReadCommand>, Vec<ReadCommand>) = READ_COMMANDS
        .into_iter()
        .partition(|c| cli.find_subcommand(c.name).is_some());
    (present, missing.into_iter().map(|c| c.name).collect())
}
