//! `berth mcp`: serve berth's tools to AI agents over MCP (stdio, or
//! streamable HTTP with `--http`). Read-only unless `--allow-writes`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use super::Outcome;
use super::cluster_args::TargetArgs;
use crate::mcp::auth::BearerToken;
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
    /// With --http, require `Authorization: Bearer TOKEN`; the file holds the token.
    #[arg(
        long,
        value_name = "FILE",
        requires = "http",
        conflicts_with = "token_secret"
    )]
    pub token_file: Option<PathBuf>,
    /// With --http, require the token in this Secret's `authorization` key (`Bearer TOKEN`):
    /// the Secret kagent's headersFrom sends. Read with the cluster flags.
    #[arg(long, value_name = "NAMESPACE/NAME", requires = "http")]
    pub token_secret: Option<String>,
}

/// Why `--http` needs a token here, if it does: anyone who reaches a
/// non-loopback address can call the tools (the Host check stops browsers,
/// not clients), and write tools change the cluster.
fn token_required(addr: SocketAddr, allow_writes: bool) -> Option<&'static str> {
    if !addr.ip().is_loopback() {
        Some("a non-loopback address is reachable from other machines")
    } else if allow_writes {
        Some("--allow-writes over HTTP lets any local process deploy, roll back and scale")
    } else {
        None
    }
}

/// The token the settings name, read before the server listens.
async fn read_token(args: &McpArgs, printer: &Printer) -> anyhow::Result<Option<BearerToken>> {
    if let Some(path) = &args.token_file {
        return Ok(Some(BearerToken::from_file(path)?));
    }
    let Some(secret) = &args.token_secret else {
        return Ok(None);
    };
    let Some((namespace, name)) = secret
        .split_once('/')
        .filter(|(ns, n)| !ns.is_empty() && !n.is_empty())
    else {
        anyhow::bail!(
            "--token-secret: `{secret}` is not NAMESPACE/NAME; allowed: e.g. kagent/berth-mcp-token"
        );
    };
    let connection = args.target.cluster.connect(printer).await?;
    Ok(Some(
        BearerToken::from_secret(&connection.client, namespace, name).await?,
    ))
}

pub async fn run(args: McpArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    // Refused before anything listens or connects.
    if let Some(addr) = args.http
        && let Some(why) = token_required(addr, args.allow_writes)
        && args.token_file.is_none()
        && args.token_secret.is_none()
    {
        anyhow::bail!(
            "--http {addr}: {why}, so it needs a token; allowed: --token-file FILE, or --token-secret NAMESPACE/NAME (key `authorization`: `Bearer TOKEN`); or serve 127.0.0.1 read-only"
        );
    }
    let token = read_token(&args, printer).await?;
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
            let auth = if token.is_some() {
                ", bearer token required"
            } else {
                ""
            };
            printer.status(&format!(
                "berth mcp: serving {} ({mode}{auth}); Ctrl-C stops",
                mcp::url(addr)
            ));
            mcp::serve_http(server, listener, &args.allowed_hosts, token).await?;
        }
    }
    Ok(Outcome::Success)
}
