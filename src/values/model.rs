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

/// One workload: a Deployment, with a Service when it has a port (an HTTP
/// service) and none when it has not (a worker).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Component {
    /// Absent means true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// What the wizard shows next to the name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The `app.kubernetes.io/name` label (the software it runs); absent: the component's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_label: Option<String>,
    pub image: Image,
    /// Replica count (absent: 1); ignored while autoscaling owns it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// The HTTP port the process listens on; absent for a worker (no Service).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Replaces the image's entrypoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Replaces the image's arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    #[serde(default)]
    pub probes: Probes,
    /// Absent: requests 100m/128Mi, limits 500m/256Mi.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    /// Numeric, non-root user and group the container runs as (absent: 10001).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_user: Option<i64>,
    /// Writable directories (emptyDir) on the read-only root filesystem. Each
    /// volume is named after the path's last two segments, dots dropped
    /// (`/app/.next/cache` → `next-cache`, `/tmp` → `tmp`).
    #[serde(default)]
    pub writable_paths: Vec<String>,
    /// Extra pod annotations (e.g. Dapr's `dapr.io/enabled`).
    #[serde(default)]
    pub pod_annotations: BTreeMap<String, String>,
    /// Extra pod labels; they never enter selectors.
    #[serde(default)]
    pub pod_labels: BTreeMap<String, String>,
    /// Overrides of the release-wide `autoscaling`.
    #[serde(default)]
    pub autoscaling: AutoscalingOverride,
    /// Overrides of the release-wide `podDisruptionBudget`.
    #[serde(default)]
    pub pod_disruption_budget: DisruptionBudgetOverride,
    /// Environment: NAME → a plain string, or a reference (see [`EnvRef`]).
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, EnvValueSchema>")]
    pub env: BTreeMap<String, EnvValue>,
    /// Name of an existing Secret the pods read instead of one berth renders:
    /// it must hold every `secret`/`database` env key. Checked to exist before deploy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub existing_secret: Option<String>,
    /// URL path prefixes this component answers itself under the external URL
    /// (e.g. `/api/auth`), so a route that sends them elsewhere is reported.
    #[serde(default)]
    pub paths: Vec<String>,
    /// One-off tasks by name, run before the new version serves (e.g. migrations).
    #[serde(default)]
    pub tasks: BTreeMap<String, Task>,
    /// Hosts outside the cluster it talks to, `host` or `host:port` (port 443
    /// when absent); opened in the NetworkPolicy (which cannot name hosts, so
    /// the port is opened to any address).
    #[serde(default)]
    pub egress: Vec<String>,
}

impl Component {
    pub fn is_enabled(&self) -> bool {
        self.enabled.unwrap_or(true)
    }

    pub fn replica_count(&self) -> i32 {
        self.replicas.unwrap_or(1)
    }

    pub fn uid(&self) -> i64 {
        self.run_as_user.unwrap_or(DEFAULT_RUN_AS_USER)
    }

    /// The valid references in its env, with the env name each sets.
    pub fn references(&self) -> impl Iterator<Item = (&String, Reference<'_>)> {
        self.env.iter().filter_map(|(key, value)| match value {
            EnvValue::Ref(r) => Some((key, r.reference()?)),
            EnvValue::Plain(_) => None,
        })
    }

    /// Names of the secrets its env reads.
    pub fn secrets_read(&self) -> impl Iterator<Item = &str> {
        self.references().filter_map(|(_, r)| match r {
            Reference::Secret(name) => Some(name),
            _ => None,
        })
    }
}

/// The user a component runs as when none is given.
pub const DEFAULT_RUN_AS_USER: i64 = 10001;

/// A prebuilt image reference; `build` names the spec `berth images build`
/// uses, whose content-derived tag then replaces `tag` at deploy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Image {
    /// Fully qualified repository, e.g. `docker.io/library/postgres`.
    pub repository: String,
    pub tag: String,
    /// Build spec, relative to the project, e.g. `images/web.toml`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<String>,
}

impl Image {
    pub fn reference(&self) -> String {
        format!("{}:{}", self.repository, self.tag)
    }
}

/// How the kubelet checks a container. One of `http`, `tcp` or `exec` is the
/// default check for startup, readiness and liveness; each of those may be
/// overridden. With none at all: a TCP check on the port, or none for a worker.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Probes {
    /// HTTP GET path on the component's port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<String>,
    /// A TCP connect to the component's port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<bool>,
    /// A command run in the container; exit 0 is healthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup: Option<ProbeCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness: Option<ProbeCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness: Option<ProbeCheck>,
}

/// Exactly one of `http`, `tcp: true` or `exec`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProbeCheck {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<Vec<String>>,
}

/// A resolved probe check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    Http(String),
    Tcp,
    Exec(Vec<String>),
}

impl ProbeCheck {
    /// The check, when exactly one kind is given.
    pub fn check(&self) -> Option<Check> {
        match (&self.http, self.tcp.unwrap_or(false), &self.exec) {
            (Some(path), false, None) => Some(Check::Http(path.clone())),
            (None, true, None) => Some(Check::Tcp),
            (None, false, Some(command)) => Some(Check::Exec(command.clone())),
            _ => None,
        }
    }

    /// How many kinds are given (valid: exactly one).
    pub fn kinds(&self) -> usize {
        usize::from(self.http.is_some())
            + usize::from(self.tcp.unwrap_or(false))
            + usize::from(self.exec.is_some())
    }
}

impl Probes {
    /// The default check as a [`ProbeCheck`].
    pub fn base(&self) -> ProbeCheck {
        ProbeCheck {
            http: self.http.clone(),
            tcp: self.tcp,
            exec: self.exec.clone(),
        }
    }
}

/// A one-off task, run as an init container of the component's pods: with the
/// component's image, environment and security, before the new version starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Task {
    /// When it runs; only `rollout` (before the new version serves) for now.
    #[serde(default)]
    pub before: TaskWhen,
    pub command: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum TaskWhen {
    #[default]
    Rollout,
}

/// An environment value: a plain string (numbers and booleans are written as
/// text), or a reference resolved at render time.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum EnvValue {
    Plain(String),
    Ref(EnvRef),
}

/// What an env value may be written as.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)] // only its schema is used
enum EnvValueSchema {
    Text(String),
    Number(f64),
    Bool(bool),
    Ref(EnvRef),
}

impl<'de> Deserialize<'de> for EnvValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let raw = serde_json::Value::deserialize(deserializer)?;
        match raw {
            serde_json::Value::String(s) => Ok(EnvValue::Plain(s)),
            serde_json::Value::Number(n) => Ok(EnvValue::Plain(n.to_string())),
            serde_json::Value::Bool(b) => Ok(EnvValue::Plain(b.to_string())),
            serde_json::Value::Object(_) => serde_json::from_value(raw)
                .map(EnvValue::Ref)
                .map_err(|e| D::Error::custom(e.to_string())),
            other => Err(D::Error::custom(format!(
                "invalid type: {}, expected a string or a reference such as {{secret: NAME}}",
                match other {
                    serde_json::Value::Null => "null",
                    _ => "a list",
                }
            ))),
        }
    }
}

/// A reference: exactly one of `secret`, `urlOf`, `externalUrl`, `database`, `release`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvRef {
    /// The value of a secret in `secrets`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// In-cluster URL of a component: `http://<release>-<name>:<port><path>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_of: Option<String>,
    /// Path appended to `urlOf` (e.g. `/mcp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The URL the browser uses, with this path (`/` gives the bare origin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_url: Option<String>,
    /// A part of the database connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<DatabasePart>,
    /// URL form for `database: url` (absent: postgres).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<Driver>,
    /// The release's name or namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<ReleasePart>,
}

/// A resolved reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference<'a> {
    Secret(&'a str),
    UrlOf { component: &'a str, path: &'a str },
    ExternalUrl(&'a str),
    Database { part: DatabasePart, driver: Driver },
    Release(ReleasePart),
}

impl EnvRef {
    /// The reference, when exactly one kind is given with only its own options.
    pub fn reference(&self) -> Option<Reference<'_>> {
        let kinds = usize::from(self.secret.is_some())
            + usize::from(self.url_of.is_some())
            + usize::from(self.external_url.is_some())
            + usize::from(self.database.is_some())
            + usize::from(self.release.is_some());
        if kinds != 1
            || (self.path.is_some() && self.url_of.is_none())
            || (self.driver.is_some() && self.database != Some(DatabasePart::Url))
        {
            return None;
        }
        Some(if let Some(name) = &self.secret {
            Reference::Secret(name)
        } else if let Some(component) = &self.url_of {
            Reference::UrlOf {
                component,
                path: self.path.as_deref().unwrap_or(""),
            }
        } else if let Some(path) = &self.external_url {
            Reference::ExternalUrl(path)
        } else if let Some(part) = self.database {
            Reference::Database {
                part,
                driver: self.driver.unwrap_or_default(),
            }
        } else {
            Reference::Release(self.release.expect("one kind is set"))
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum DatabasePart {
    /// The whole connection URL, in the form `driver` wants.
    Url,
    Host,
    Port,
    User,
    /// The database's name.
    Name,
    Password,
}

/// The URL form a client library wants.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Driver {
    /// `postgresql://…?sslmode=require` (libpq, node-postgres, Prisma, Drizzle).
    #[default]
    Postgres,
    /// `postgresql+asyncpg://…?ssl=require` (SQLAlchemy with asyncpg).
    Asyncpg,
    /// `postgresql+psycopg://…?sslmode=require` (SQLAlchemy with psycopg 3).
    Psycopg,
    /// `postgresql+psycopg2://…?sslmode=require`.
    Psycopg2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ReleasePart {
    Name,
    Namespace,
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

/// Where a secret's value comes from. The value itself never lives in values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretSpec {
    /// Environment variable (also read from `--env-file`) that supplies it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_env: Option<String>,
    /// Generated when not supplied (and kept across deploys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate: Option<Generate>,
    /// Deploy refuses to run without it.
    #[serde(default)]
    pub required: bool,
    /// Shown by the wizard and in errors.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Generate {
    /// Number of random characters (letters and digits), 16–256.
    pub length: u16,
}

/// Secret values by secret name. Debug never shows a value.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretValues(pub BTreeMap<String, String>);

impl SecretValues {
    /// The value, when one was supplied or generated.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn set(&mut self, name: &str, value: String) {
        self.0.insert(name.to_string(), value);
    }
}

impl std::fmt::Debug for SecretValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|k| (k, "<redacted>")))
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum DatabaseMode {
    /// PostgreSQL as a StatefulSet with a PersistentVolumeClaim.
    Internal,
    /// An existing PostgreSQL (e.g. Neon); its URL is the secret `external.urlSecret`.
    External,
    /// No database.
    None,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Database {
    pub mode: DatabaseMode,
    /// Database name (internal mode).
    pub name: String,
    /// Database user (internal mode).
    pub user: String,
    /// The secret holding the internal database's password (give it `generate`).
    pub password_secret: String,
    pub internal: InternalDatabase,
    pub external: ExternalDatabase,
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExternalDatabase {
    /// The secret holding the URL, `postgresql://USER:PASSWORD@HOST[:PORT]/DB?sslmode=require`.
    pub url_secret: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ExposeMode {
    /// The Service of the component routed at `/` is a NodePort (Minikube: `minikube service --url`).
    NodePort,
    /// An Ingress routes each path prefix in `routes` to its component.
    Ingress,
    /// A Gateway API HTTPRoute, attached to an existing Gateway, routes `routes`.
    Gateway,
    /// Nothing external; use `kubectl port-forward`.
    None,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Expose {
    pub mode: ExposeMode,
    /// Path prefix → component, e.g. `{"/": web, "/api": api}`: one external
    /// entry point, the longest matching prefix wins. A NodePort exposes only `/`.
    pub routes: BTreeMap<String, String>,
    /// Port on every node, 30000–32767.
    pub node_port: i32,
    pub ingress: Ingress,
    pub gateway: Gateway,
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
pub struct Gateway {
    /// Name of the existing Gateway the HTTPRoute attaches to.
    pub name: String,
    /// Its namespace (also allowed through the NetworkPolicies); empty: the release's.
    pub namespace: String,
    /// Listener of the Gateway to attach to; empty: all of them.
    pub section_name: String,
    pub host: String,
    /// The Gateway's listener terminates TLS (the external URL is https://).
    pub https: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Autoscaling {
    /// HorizontalPodAutoscalers for every component.
    pub enabled: bool,
    pub min_replicas: i32,
    pub max_replicas: i32,
    pub target_cpu_utilization: i32,
}

/// A component's overrides of [`Autoscaling`]; absent keys use the release-wide value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AutoscalingOverride {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_replicas: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_replicas: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_cpu_utilization: Option<i32>,
}

impl AutoscalingOverride {
    /// The effective settings over the release-wide defaults.
    pub fn over(&self, defaults: &Autoscaling) -> Autoscaling {
        Autoscaling {
            enabled: self.enabled.unwrap_or(defaults.enabled),
            min_replicas: self.min_replicas.unwrap_or(defaults.min_replicas),
            max_replicas: self.max_replicas.unwrap_or(defaults.max_replicas),
            target_cpu_utilization: self
                .target_cpu_utilization
                .unwrap_or(defaults.target_cpu_utilization),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodDisruptionBudget {
    pub enabled: bool,
    pub min_available: i32,
}

/// A component's overrides of [`PodDisruptionBudget`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DisruptionBudgetOverride {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_available: Option<i32>,
}

impl DisruptionBudgetOverride {
    pub fn over(&self, defaults: &PodDisruptionBudget) -> PodDisruptionBudget {
        PodDisruptionBudget {
            enabled: self.enabled.unwrap_or(defaults.enabled),
            min_available: self.min_available.unwrap_or(defaults.min_available),
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
            ..self.clone()
        }
    }
}
