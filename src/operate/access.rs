//! How far berth gets towards a cluster (kubeconfig, context, API server,
//! Minikube's driver), as a value doctor reports on rather than an error.

use std::path::PathBuf;

use kube::Client;

use crate::cluster::retry::Reporter;
use crate::cluster::{self, ClusterTarget};
use crate::wizard::ContextChoice;

/// How far berth got towards the cluster.
pub enum ClusterAccess {
    /// No kubeconfig anywhere: a first run.
    NoKubeconfig,
    /// A kubeconfig that cannot be used, or a server that does not answer.
    Unusable { context: String, message: String },
    Connected {
        client: Client,
        context: String,
        server: String,
        /// `minikube`, `kind` or none.
        local: Option<String>,
        /// The Minikube profile's driver, when berth could read it.
        minikube_driver: Option<String>,
    },
}

/// How far berth gets towards the cluster `target` names; retries are told
/// to `reporter`.
pub async fn access(
    target: &ClusterTarget,
    chosen: Option<ContextChoice>,
    reporter: Reporter,
) -> ClusterAccess {
    if target.kubeconfig.is_none() && !cluster::kubeconfig_exists() {
        return ClusterAccess::NoKubeconfig;
    }
    match cluster::connect(target, reporter).await {
        Ok(connection) => {
            let local = chosen.as_ref().and_then(|c| c.local).map(String::from);
            let minikube_driver = (local.as_deref() == Some("minikube"))
                .then(|| minikube_driver(&connection.context))
                .flatten();
            ClusterAccess::Connected {
                client: connection.client,
                context: connection.context,
                server: connection.server,
                local,
                minikube_driver,
            }
        }
        Err(err) => ClusterAccess::Unusable {
            context: target
                .context
                .clone()
                .or(chosen.map(|c| c.name))
                .unwrap_or_else(|| "(none)".into()),
            message: error_chain(&err),
        },
    }
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

/// The driver in the Minikube profile's config.json (`$MINIKUBE_HOME` or ~/.minikube).
fn minikube_driver(profile: &str) -> Option<String> {
    let root = std::env::var_os("MINIKUBE_HOME")
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join(".minikube")))?;
    let text =
        std::fs::read_to_string(root.join("profiles").join(profile).join("config.json")).ok()?;
    let config: serde_json::Value = serde_json::from_str(&text).ok()?;
    config.get("Driver")?.as_str().map(String::from)
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    // The cluster error carries its own hint line; doctor gives one per check.
    text.lines().next().unwrap_or_default().to_string()
}
