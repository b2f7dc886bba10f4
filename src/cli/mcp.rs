//! `berth mcp`: serve berth's tools to AI agents over MCP (stdio, or
//! streamable HTTP with `--http`). Read-only unless `--allow-writes`.

use std::net::SocketAddr;

use clap::Args;

use super::Outcome;
use super::cluster_args::TargetArgs;
use crate::mcp::{self, BerthServer, ServerSettings};
use crate::ui::Printer;

#[derive(Debug, Args)]
pub struct McpArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Serve streamable HTTP on ADDR (e.g. 127.0.0.1:8765, endpoint /mcp) instead of stdio.
    #[arg(long, value_name = "ADDR")]
    pub http: Option<SocketAddr>,
    /// Also accept this Host header with --http (e.g. host.minikube.internal:8765); repeatable.
    #[arg(long = "allowed-host", value_name = "HOST", requires = "http")]
    pub allowed_hosts: Vec<String>,
    /// Offer the tools that change the cluster: deploy, rollback and scale.
    #[arg(long)]
    pub allow_writes: bool,
}

pub async fn run(args: McpArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    let server = BerthServer::new(ServerSettings {
        cluster: args.target.cluster.target(),
        context: args.target.cluster.chosen_context(),
        release: args.target.release.clone(),
        allow_writes: args.allow_writes,
    });
    let mode = if args.allow_writes {
        "read-write"
    } else {
        "read-only"
    };
    match args.http {
        None => {
            printer.detail(&format!("berth mcp: serving on stdio ({mode})"));
            mcp::serve_stdio(server).await?;
        }
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
            let addr = listener.local_addr()?;
            if !addr.ip().is_loopback() {
                printer.hint(&format!(
                    "{addr} is reachable from other machines and berth mcp has no authentication; prefer 127.0.0.1"
                ));
            }
            printer.status(&format!(
                "berth mcp: serving {} ({mode}); Ctrl-C stops",
                mcp::url(addr)
            ));
            mcp::serve_http(server, listener, &args.allowed_hosts).await?;
        }
    }
    Ok(Outcome::Success)
}
