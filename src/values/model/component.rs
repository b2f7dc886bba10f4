//! A component: one workload, its image, probes and tasks.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::env::EnvValueSchema;
use super::{AutoscalingOverride, DisruptionBudgetOverride, EnvValue, Reference, Resources};

/// One workload: a Deployment, with a Service when it has a port (an HTTP
/// service) and none when it has not (a worker).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Component {
    /// Absent means true.
    pub enabled: Option<bool>,
    /// What the wizard shows next to the name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The `app.kubernetes.io/name` label (the software it runs); absent: the component's name.
    pub name_label: Option<String>,
    pub image: Image,
    /// Replica count (absent: 1); ignored while autoscaling owns it.
    pub replicas: Option<i32>,
    /// The HTTP port the process listens on; absent for a worker (no Service).
    pub port: Option<u16>,
    /// Replaces the image's entrypoint.
    pub command: Option<Vec<String>>,
    /// Replaces the image's arguments.
    pub args: Option<Vec<String>>,
    #[serde(default)]
    pub probes: Probes,
    /// Absent: requests 100m/128Mi, limits 500m/256Mi.
    pub resources: Option<Resources>,
    /// Numeric, non-root user and group the container runs as (absent: 10001).
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
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Image {
    /// Fully qualified repository, e.g. `docker.io/library/postgres`.
    pub repository: String,
    pub tag: String,
    /// Build spec, relative to the project, e.g. `images/web.toml`.
    pub build: Option<String>,
    /// Variables the image's *build* reads (`NEXT_PUBLIC_*`, `VITE_*`, `REACT_APP_*`, …),
    /// passed to every build step of the spec and part of its cache key: a plain string or
    /// `{externalUrl: /p}`. The image is built for one origin. A secret, `{urlOf}`,
    /// `{database}` or `{release}` is refused: a bundle is public and the browser cannot
    /// resolve cluster DNS.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(with = "BTreeMap<String, EnvValueSchema>")]
    pub build_env: BTreeMap<String, EnvValue>,
}

impl Image {
    pub fn reference(&self) -> String {
        format!("{}:{}", self.repository, self.tag)
    }
}

/// How the kubelet checks a container. One of `http`, `tcp` or `exec` is the
/// default check for startup, readiness and liveness; each of those may be
/// overridden. With none at all: a TCP check on the port, or none for a worker.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Probes {
    /// HTTP GET path on the component's port.
    pub http: Option<String>,
    /// A TCP connect to the component's port.
    pub tcp: Option<bool>,
    /// A command run in the container; exit 0 is healthy.
    pub exec: Option<Vec<String>>,
    pub startup: Option<ProbeCheck>,
    pub readiness: Option<ProbeCheck>,
    pub liveness: Option<ProbeCheck>,
}

/// Exactly one of `http`, `tcp: true` or `exec`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProbeCheck {
    pub http: Option<String>,
    pub tcp: Option<bool>,
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
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Task {
    /// When it runs; only `rollout` (before the new version serves) for now.
    #[serde(default)]
    pub before: TaskWhen,
    pub command: Vec<String>,
    pub args: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum TaskWhen {
    #[default]
    Rollout,
}
