//! The typed values model. `values/values.yaml` is its embedded default and
//! `values/values.schema.json` is generated from these types.
//!
//! Key paths here are a public contract (documentation, tests and the exported
//! Helm chart rely on them): rename nothing without updating all three.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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
    pub frontend: Component,
    pub backend: Component,
    pub mcp: McpComponent,
    pub database: Database,
    pub llm: Llm,
    pub secrets: Secrets,
    pub expose: Expose,
    pub autoscaling: Autoscaling,
    pub pod_disruption_budget: PodDisruptionBudget,
    pub network_policy: NetworkPolicy,
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

/// A stateless HTTP component (frontend, backend).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Component {
    pub enabled: bool,
    /// Replica count; ignored while autoscaling owns it.
    pub replicas: i32,
    pub image: Image,
    /// Container port the process listens on.
    pub port: u16,
    /// Liveness and startup probe path (process alive).
    pub health_path: String,
    /// Readiness probe path (able to serve, e.g. database reachable).
    pub ready_path: String,
    /// Numeric, non-root user and group the container runs as.
    pub run_as_user: i64,
    pub resources: Resources,
    /// Extra, non-secret environment variables.
    pub env: BTreeMap<String, String>,
}

/// The MCP tool server: a [`Component`] that also serves MCP at `path`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct McpComponent {
    pub enabled: bool,
    pub replicas: i32,
    pub image: Image,
    pub port: u16,
    /// Path of the streamable-HTTP MCP endpoint.
    pub path: String,
    pub health_path: String,
    pub ready_path: String,
    pub run_as_user: i64,
    pub resources: Resources,
    pub env: BTreeMap<String, String>,
}

impl McpComponent {
    /// The fields every HTTP component shares, so builders treat all three alike.
    pub fn as_component(&self) -> Component {
        Component {
            enabled: self.enabled,
            replicas: self.replicas,
            image: self.image.clone(),
            port: self.port,
            health_path: self.health_path.clone(),
            ready_path: self.ready_path.clone(),
            run_as_user: self.run_as_user,
            resources: self.resources.clone(),
            env: self.env.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Image {
    /// Fully qualified repository, e.g. `docker.io/library/postgres`.
    pub repository: String,
    pub tag: String,
}

impl Image {
    pub fn reference(&self) -> String {
        format!("{}:{}", self.repository, self.tag)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Resources {
    pub requests: ResourceAmounts,
    pub limits: ResourceAmounts,
}

/// Kubernetes quantities, e.g. cpu `250m` or `1`, memory `256Mi`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceAmounts {
    #[serde(deserialize_with = "quantity_text")]
    #[schemars(with = "QuantitySchema")]
    pub cpu: String,
    #[serde(deserialize_with = "quantity_text")]
    #[schemars(with = "QuantitySchema")]
    pub memory: String,
}

/// Quantities may be written as numbers (`cpu: 1`), as Kubernetes allows.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)] // only its schema is used
enum QuantitySchema {
    Text(String),
    Number(f64),
}

fn quantity_text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Integer(i64),
        Float(f64),
    }
    let raw = Raw::deserialize(deserializer).map_err(|_| {
        serde::de::Error::custom("expected a quantity such as 250m, 1, 256Mi or 1Gi")
    })?;
    Ok(match raw {
        Raw::Text(text) => text,
        Raw::Integer(n) => n.to_string(),
        Raw::Float(f) => f.to_string(),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum DatabaseMode {
    /// PostgreSQL as a StatefulSet with a PersistentVolumeClaim.
    Internal,
    /// An existing PostgreSQL (e.g. Neon); the URL comes from `secrets.databaseUrl`.
    External,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Database {
    pub mode: DatabaseMode,
    /// Database name (internal mode).
    pub name: String,
    /// Database user (internal mode).
    pub user: String,
    pub internal: InternalDatabase,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InternalDatabase {
    pub image: Image,
    pub port: u16,
    /// Size of the data volume, e.g. `1Gi`.
    #[serde(deserialize_with = "quantity_text")]
    #[schemars(with = "QuantitySchema")]
    pub storage: String,
    /// StorageClass of the data volume; empty uses the cluster default.
    pub storage_class: String,
    pub run_as_user: i64,
    pub resources: Resources,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum LlmProvider {
    /// OpenAI or any OpenAI-compatible API (`llm.baseUrl`).
    Openai,
    Gemini,
    /// The app's offline intent parser; no key needed.
    None,
}

impl LlmProvider {
    pub fn as_str(self) -> &'static str {
        match self {
            LlmProvider::Openai => "openai",
            LlmProvider::Gemini => "gemini",
            LlmProvider::None => "none",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Llm {
    pub provider: LlmProvider,
    /// Model name; empty lets the app choose its default.
    pub model: String,
    /// Base URL of an OpenAI-compatible API; empty for api.openai.com.
    pub base_url: String,
}

/// Secret inputs. They are never read from values files or `--set`: each comes
/// from its environment variable (or `--env-file`), or `--set-file KEY=PATH`.
/// In values files they stay empty; they exist here so the layout matches the
/// exported Helm chart, where `helm install --set secrets.X=…` supplies them.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Secrets {
    /// Name of an existing Secret holding the keys instead of one rendered by berth.
    pub existing_secret: String,
    /// From `OPENAI_API_KEY`.
    pub openai_api_key: String,
    /// From `GEMINI_API_KEY`.
    pub gemini_api_key: String,
    /// HS256 secret shared by frontend and backend. From `AUTH_SECRET`.
    pub auth_secret: String,
    /// External database URL. From `DATABASE_URL`.
    pub database_url: String,
    /// Password of the in-cluster PostgreSQL. From `POSTGRES_PASSWORD`.
    pub postgres_password: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ExposeMode {
    /// The frontend Service is a NodePort (Minikube: `minikube service --url`).
    NodePort,
    /// An Ingress routes `/` to the frontend and `/api` to the backend.
    Ingress,
    /// Nothing external; use `kubectl port-forward`.
    None,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Expose {
    pub mode: ExposeMode,
    /// Port on every node, 30000–32767.
    pub node_port: i32,
    pub ingress: Ingress,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Ingress {
    /// IngressClass; Minikube's ingress addon uses `nginx`.
    pub class_name: String,
    pub host: String,
    /// Namespace of the ingress controller, allowed through the NetworkPolicies.
    pub controller_namespace: String,
    /// TLS Secret name for the host; empty serves plain HTTP.
    pub tls_secret_name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Autoscaling {
    /// HorizontalPodAutoscalers for frontend, backend and MCP.
    pub enabled: bool,
    pub min_replicas: i32,
    pub max_replicas: i32,
    pub target_cpu_utilization: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodDisruptionBudget {
    pub enabled: bool,
    pub min_available: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetworkPolicy {
    /// Default deny in the namespace, then only the paths the app uses.
    pub enabled: bool,
}

impl std::fmt::Debug for Secrets {
    // Never print secret values, even in debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |v: &str| if v.is_empty() { "" } else { "<redacted>" };
        f.debug_struct("Secrets")
            .field("existing_secret", &self.existing_secret)
            .field("openai_api_key", &shown(&self.openai_api_key))
            .field("gemini_api_key", &shown(&self.gemini_api_key))
            .field("auth_secret", &shown(&self.auth_secret))
            .field("database_url", &shown(&self.database_url))
            .field("postgres_password", &shown(&self.postgres_password))
            .finish()
    }
}
