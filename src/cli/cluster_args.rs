//! Flags that choose the cluster, as kubectl's, and the permission errors
//! cluster commands report (naming the cluster).

use std::path::PathBuf;

use clap::Args;

use super::ReleaseArgs;
use crate::cluster::origin::Place;
use crate::cluster::retry::Reporter;
use crate::cluster::{self, ClusterError, ClusterTarget, Connection, minikube};
use crate::ui::Printer;
use crate::wizard::{ContextChoice, list_contexts};

/// Which release, on which cluster: the flags of every command that reads
/// or changes a deployed release.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    #[command(flatten)]
    pub release: ReleaseArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

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

    /// Connects; retry lines go through `printer` (silent with `--quiet`).
    pub async fn connect(&self, printer: &Printer) -> anyhow::Result<Connection> {
        Ok(cluster::connect(&self.target(), retry_reporter(printer)).await?)
    }

    /// The chosen kubeconfig context as the kubeconfig describes it (Minikube
    /// and kind recognised); reads the file only.
    pub fn chosen_context(&self) -> Option<ContextChoice> {
        let contexts = list_contexts(self.kubeconfig.as_deref());
        match &self.context {
            Some(name) => contexts.into_iter().find(|c| &c.name == name),
            None => contexts.into_iter().find(|c| c.current),
        }
    }

    /// Where the connected context points, for reaching its nodes: its name,
    /// whether it is Minikube or kind, Minikube's profile, this host's OS.
    pub fn place(&self, connection: &Connection) -> Place {
        let local = self
            .chosen_context()
            .and_then(|c| c.local)
            .map(String::from);
        let minikube = (local.as_deref() == Some("minikube"))
            .then(|| minikube::read_profile(&connection.context))
            .flatten();
        Place {
            context: connection.context.clone(),
            local,
            minikube,
            host_os: std::env::consts::OS.to_string(),
        }
    }

    /// Whether the chosen context is a Minikube profile (hints name Minikube then).
    pub fn is_minikube(&self) -> bool {
        self.chosen_context()
            .is_some_and(|c| c.local == Some("minikube"))
    }

    /// Connects, runs `work` with the connection, and turns a permission error
    /// anywhere in its result into one message naming the context and server.
    pub async fn run<T, F, Fut>(&self, printer: &Printer, work: F) -> anyhow::Result<T>
    where
        F: FnOnce(Connection) -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<T>>,
    {
        let connection = self.connect(printer).await?;
        let explain = Explain::of(&connection);
        let requests = connection.requests.clone();
        let result = work(connection).await.map_err(|err| explain.denied(err));
        printer.detail(&requests.summary());
        result
    }
}

/// Retry lines of the API client go through `printer` (silent with `--quiet`).
pub fn retry_reporter(printer: &Printer) -> Reporter {
    let printer = printer.clone();
    Reporter::new(move |line: &str| printer.status(line))
}

/// What a permission error needs to name: the context and server it happened on.
pub struct Explain {
    context: String,
    server: String,
}

impl Explain {
    pub fn of(connection: &Connection) -> Self {
        Explain {
            context: connection.context.clone(),
            server: connection.server.clone(),
        }
    }

    /// `err` unchanged, unless the API server refused with 401/403 somewhere
    /// in its chain: then one message with the context, the server, the
    /// request and the server's reason (not kube's debug dump of the status).
    pub fn denied(&self, err: anyhow::Error) -> anyhow::Error {
        match denied_message(&err) {
            Some(message) => ClusterError::Denied {
                context: self.context.clone(),
                server: self.server.clone(),
                hint: denied_hint(&message),
                message,
            }
            .into(),
            None => err,
        }
    }
}

/// Namespace-scoped users (the usual grant) cannot manage the Namespace itself.
fn denied_hint(message: &str) -> String {
    if message.contains("resource \"namespaces\"") {
        "to deploy into an existing namespace without managing it, add --set namespace.create=false; otherwise ask for permission on namespaces".into()
    } else {
        "ask the cluster's admin for this permission (`kubectl auth can-i --list` shows what you have), or pick another context with --kube-context".into()
    }
}

fn denied_message(err: &anyhow::Error) -> Option<String> {
    let chain: Vec<&(dyn std::error::Error + 'static)> = err.chain().collect();
    chain.iter().enumerate().find_map(|(i, cause)| {
        let Some(kube::Error::Api(status)) = cause.downcast_ref::<kube::Error>() else {
            return None;
        };
        if !matches!(status.code, 401 | 403) {
            return None;
        }
        // The error wrapping the client's names the request (`apply Deployment …`)
        // when it words the answer itself rather than quoting kube's dump of it.
        let named = i
            .checked_sub(1)
            .map(|wrapper| chain[wrapper].to_string())
            .filter(|text| text.contains(&status.message) && !text.contains(&cause.to_string()));
        Some(named.unwrap_or_else(|| status.message.clone()))
    })
}
