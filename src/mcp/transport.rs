//! Serving the server: stdio (an agent starts `berth mcp` as a child process)
//! or streamable HTTP on an address (`--http 127.0.0.1:8765`, path `/mcp`).

use std::net::SocketAddr;
use std::sync::Arc;

use rmcp::ServiceExt;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use super::BerthServer;
use super::auth::{BearerToken, require_token};

/// The path the streamable HTTP endpoint is served on.
pub const HTTP_PATH: &str = "/mcp";

/// Serves one client over stdin/stdout until it disconnects.
pub async fn serve_stdio(server: BerthServer) -> anyhow::Result<()> {
    let running = server.serve(rmcp::transport::stdio()).await?;
    running.waiting().await?;
    Ok(())
}

/// Browser origins allowed to call the server: pages served from this machine.
/// The MCP specification requires servers to validate `Origin`; any other gets 403.
const LOOPBACK_ORIGINS: [&str; 6] = [
    "http://localhost:*",
    "http://127.0.0.1:*",
    "http://[::1]:*",
    "https://localhost:*",
    "https://127.0.0.1:*",
    "https://[::1]:*",
];

/// Serves streamable HTTP on `listener` until Ctrl-C. `allowed_hosts` are
/// `Host` header values accepted besides loopback (DNS-rebinding protection);
/// with `token`, every request must carry it (401 otherwise).
pub async fn serve_http(
    server: BerthServer,
    listener: tokio::net::TcpListener,
    allowed_hosts: &[String],
    token: Option<BearerToken>,
) -> anyhow::Result<()> {
    let stop = CancellationToken::new();
    let mut hosts = vec!["localhost".to_string(), "127.0.0.1".into(), "::1".into()];
    hosts.extend(allowed_hosts.iter().cloned());
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(hosts)
        .with_allowed_origins(LOOPBACK_ORIGINS)
        .with_cancellation_token(stop.child_token());
    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let mut router = axum::Router::new().nest_service(HTTP_PATH, service);
    if let Some(token) = token {
        router = router.layer(axum::middleware::from_fn_with_state(
            Arc::new(token),
            require_token,
        ));
    }
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            let _ = tokio::signal::ctrl_c().await;
            stop.cancel();
        })
        .await?;
    Ok(())
}

/// `http://ADDR/mcp`, what a client connects to.
pub fn url(addr: SocketAddr) -> String {
    format!("http://{addr}{HTTP_PATH}")
}
