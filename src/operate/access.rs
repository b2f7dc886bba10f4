//! How far berth gets towards a cluster (kubeconfig, context, API server,
//! Minikube's driver), as a value doctor reports on rather than an error.

use kube::Client;

use crate::cluster::minikube::{self, MinikubeProfile};
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
        /// The Minikube profile (driver, node address), when berth could read it.
        minikube: Option<MinikubeProfile>,
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
            let minikube = (local.as_deref() == Some("minikube"))
                .then(|| minikube::read_profile(&connection.context))
                .flatten();
            ClusterAccess::Connected {
                client: connection.client,
                context: connection.context,
                server: connection.server,
                local,
                minikube,
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
