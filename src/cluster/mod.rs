//! The connection to a cluster, chosen the way kubectl chooses it: `--kubeconfig`,
//! else `KUBECONFIG`, else `~/.kube/config`; `--kube-context` or the current context.
//! Transient API server failures are retried ([`retry`]).

pub mod minikube;
pub mod origin;
pub mod requests;
pub mod retry;

use std::path::PathBuf;

use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError};
use kube::{Client, Config};

/// Where the cluster is, as the user asked for it.
#[derive(Debug, Clone, Default)]
pub struct ClusterTarget {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
}

/// A reachable cluster and how it was found, for messages.
#[derive(Clone)]
pub struct Connection {
    pub client: Client,
    /// The context in use (`(in-cluster)` inside a pod).
    pub context: String,
    pub server: String,
    /// The requests the client has sent, by what they do.
    pub requests: requests::RequestCounts,
}

/// The first-run advice when there is no cluster at all (doctor's and every cluster command's).
/// The binary may run without berth's repository: its guides and scripts are named as such.
pub const FIRST_RUN_HINT: &str = "start Minikube with `minikube start --cpus 4 --memory 8g` (berth's repository: docs/MINIKUBE-SETUP.md), or in a clone of berth's repository run scripts/demo.sh for a local test node; then run berth doctor again";

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// Neither `$KUBECONFIG` nor `~/.kube/config` names a file: a first run.
    #[error(
        "no kubeconfig found ($KUBECONFIG, ~/.kube/config): berth has no cluster to deploy to yet\nhint: {FIRST_RUN_HINT}"
    )]
    NoKubeconfig,
    /// kube's own message quotes the path twice (`'"…"'`); this one names it once.
    #[error("cannot read kubeconfig {}", .path.display())]
    ReadKubeconfig {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot use kubeconfig{}", path_suffix(.path))]
    Kubeconfig {
        path: Option<PathBuf>,
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error("cannot build a client for context `{context}`: {source}")]
    Client {
        context: String,
        #[source]
        source: kube::Error,
    },
    #[error(
        "cluster unreachable: context `{context}`, server {server}: {message}\nhint: start the cluster, or pick another with --kube-context / --kubeconfig"
    )]
    Unreachable {
        context: String,
        server: String,
        message: String,
    },
    /// The API server refused a request for lack of permission (401/403);
    /// `message` is berth's account of the request with the server's reason.
    #[error("permission denied: context `{context}`, server {server}: {message}\nhint: {hint}")]
    Denied {
        context: String,
        server: String,
        message: String,
        hint: String,
    },
}

fn path_suffix(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map(|p| format!(" {}", p.display()))
        .unwrap_or_default()
}

/// Connects and checks that the API server answers, so later errors are about
/// objects rather than about the network. Retries of transient failures are
/// told to `reporter` (the caller decides where its lines go).
pub async fn connect(
    target: &ClusterTarget,
    reporter: retry::Reporter,
) -> Result<Connection, ClusterError> {
    if target.kubeconfig.is_none() && !kubeconfig_exists() {
        return Err(ClusterError::NoKubeconfig);
    }
    let kubeconfig = match &target.kubeconfig {
        Some(path) => Kubeconfig::read_from(path),
        None => Kubeconfig::read(),
    }
    .map_err(|source| match source {
        KubeconfigError::ReadConfig(source, path) => ClusterError::ReadKubeconfig { path, source },
        source => ClusterError::Kubeconfig {
            path: target.kubeconfig.clone(),
            source,
        },
    })?;
    let options = KubeConfigOptions {
        context: target.context.clone(),
        ..Default::default()
    };
    let context = target
        .context
        .clone()
        .or_else(|| kubeconfig.current_context.clone())
        .unwrap_or_default();
    let config = Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|source| ClusterError::Kubeconfig {
            path: target.kubeconfig.clone(),
            source,
        })?;
    let server = config.cluster_url.to_string();
    let requests = requests::RequestCounts::default();
    let client = retry::client(config, reporter, requests.clone()).map_err(|source| {
        ClusterError::Client {
            context: context.clone(),
            source,
        }
    })?;
    if let Err(err) = client.apiserver_version().await {
        return Err(ClusterError::Unreachable {
            context,
            server,
            message: err.to_string(),
        });
    }
    Ok(Connection {
        client,
        context,
        server,
        requests,
    })
}

/// `$KUBECONFIG` names an existing file, or `~/.kube/config` exists (where kube looks
/// when no path is given).
pub fn kubeconfig_exists() -> bool {
    match std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        Some(paths) => std::env::split_paths(&paths).any(|p| p.exists()),
        // `$HOME`, or on Windows `%USERPROFILE%` (kubectl keeps `.kube\config` there).
        None => std::env::home_dir().is_some_and(|h| h.join(".kube").join("config").exists()),
    }
}
