//! The typed values model. `values/values.yaml` is its embedded default and
//! `values/values.schema.json` is generated from these types.
//!
//! The stack is data: components, secrets, references between them, routes and
//! tasks are named by the user. Code knows kinds (an HTTP service, a worker, a
//! task, a database), never a particular app's names.
//!
//! Key paths here are a public contract (documentation, tests and the exported
//! Helm chart rely on them): rename nothing without updating all three.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mod component;
mod database;
mod env;
mod expose;
mod resources;
mod scaling;
mod secret;

pub use component::*;
pub use database::*;
pub use env::*;
pub use expose::*;
pub use resources::*;
pub use scaling::*;
pub use secret::*;

/// Everything berth needs to render the stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Values {
    /// Application name, used for the `app.kubernetes.io/part-of` label.
    pub app_name: String,
    /// Application version, used for labels on release-wide objects.
    pub app_version: String,
    pub namespace: NamespaceValues,
    pub image_pull_policy: PullPolicy,
    /// The workloads, by a name the user chooses (DNS-1035: lower-case letters,
    /// digits and `-`, starting with a letter). Objects are named `<release>-<name>`.
    pub components: BTreeMap<String, Component>,
    /// Secret inputs by a name the user chooses. Only where each value comes
    /// from lives here; values never do.
    #[serde(default)]
    pub secrets: BTreeMap<String, SecretSpec>,
    pub database: Database,
    pub expose: Expose,
    /// Release-wide autoscaling defaults; each component may override them.
    pub autoscaling: Autoscaling,
    /// Release-wide disruption budget defaults; each component may override them.
    pub pod_disruption_budget: PodDisruptionBudget,
    pub network_policy: NetworkPolicy,
    /// Where `berth deploy` pushes built images (see `registry.rs`); none: side-load or skip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<super::registry::Registry>,
    /// Secret values, resolved from the environment, `--env-file`, `--set-file`
    /// or the wizard. Never serialized: not in revisions, output or the schema.
    #[serde(skip)]
    #[schemars(skip)]
    pub secret_values: SecretValues,
    /// The in-cluster database's TLS certificate and key (`database.internal.tls`):
    /// generated, or read back from the release's Secret. Never serialized.
    #[serde(skip)]
    #[schemars(skip)]
    pub database_tls: Option<super::tls::TlsPair>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NamespaceValues {
    /// Namespace the release is installed into (`-n` overrides it).
    pub name: String,
    /// Render a Namespace object (Helm users use `--create-namespace` instead).
    pub create: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum PullPolicy {
    IfNotPresent,
    Always,
    Never,
}

impl PullPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            PullPolicy::IfNotPresent => "IfNotPresent",
            PullPolicy::Always => "Always",
            PullPolicy::Never => "Never",
        }
    }
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetworkPolicy {
    /// Default deny in the namespace, then only the paths the values declare:
    /// references, routes, the database and egress.
    pub enabled: bool,
}

impl Values {
    /// Enabled components, by name.
    pub fn enabled_components(&self) -> impl Iterator<Item = (&String, &Component)> {
        self.components.iter().filter(|(_, c)| c.is_enabled())
    }

    /// A copy with every secret value removed, safe to store or show.
    pub fn without_secrets(&self) -> Values {
        Values {
            secret_values: SecretValues::default(),
            database_tls: None,
            ..self.clone()
        }
    }
}
