//! Flags that choose the cluster, as kubectl's, and the async runtime the
//! cluster commands run on.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::cluster::{self, ClusterTarget, Connection};

#[derive(Debug, Clone, Args)]
pub struct ClusterArgs {
    /// Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (default: the current context).
    #[arg(
        long = "kube-context",
        alias = "context",
        env = "BERTH_KUBE_CONTEXT",
        value_name = "NAME"
    )]
    pub context: Option<String>,
}

impl ClusterArgs {
    pub fn target(&self) -> ClusterTarget {
        ClusterTarget {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
        }
    }

    pub async fn connect(&self) -> anyhow::Result<Connection> {
        Ok(cluster::connect(&self.target()).await?)
    }
}

/// Runs a cluster command's future to completion.
pub fn block_on<F: std::future::Future>(future: F) -> anyhow::Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    Ok(runtime.block_on(future))
}
