//! The typed inputs of the tools; their JSON Schemas are what clients see.
//! Unknown fields are ignored (serde cannot refuse them across `flatten`).

use schemars::JsonSchema;
use serde::Deserialize;

/// Which release; both default to what `berth mcp` was started with.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct ReleaseInput {
    /// Release name (default: the server's `--release`, usually `todo-chatbot`).
    #[serde(default)]
    pub release: Option<String>,
    /// Namespace (default: the server's `-n`, else the values' namespace, usually `todo`).
    #[serde(default)]
    pub namespace: Option<String>,
}

/// Where values come from, as `berth render`/`diff`/`deploy` take them.
/// Secrets are never passed here: the server reads them from its environment.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct ValuesInput {
    #[serde(flatten)]
    pub target: ReleaseInput,
    /// Values files on the server's machine, layered left to right (like `-f`).
    #[serde(default)]
    pub values_files: Vec<String>,
    /// `KEY=VALUE` assignments (like `--set`), e.g. `components.backend.replicas=2`.
    #[serde(default)]
    pub set: Vec<String>,
    /// `KEY=VALUE` assignments whose value is always a string (like `--set-string`).
    #[serde(default)]
    pub set_string: Vec<String>,
}

/// `diagnose`: a release, optionally one of its components.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct DiagnoseInput {
    #[serde(flatten)]
    pub target: ReleaseInput,
    /// Only this component (its `app.kubernetes.io/component` label), e.g. `backend`.
    #[serde(default)]
    pub component: Option<String>,
}

/// How `deploy` treats images, as `berth deploy --images`.
#[derive(Debug, Clone, Copy, Default, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ImagesChoice {
    /// Build and side-load on local clusters, skip elsewhere (the CLI's default).
    Auto,
    Build,
    Load,
    /// Use the image references as they are (the default here: builds are slow for an agent's turn).
    #[default]
    Skip,
}

/// `deploy`: values as for `diff`, then apply and wait.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct DeployInput {
    #[serde(flatten)]
    pub values: ValuesInput,
    /// Images: `skip` (default), `auto`, `build` or `load`.
    #[serde(default)]
    pub images: ImagesChoice,
    /// Seconds to wait for readiness (default 300; 0 = do not wait).
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
}

/// `rollback`: to a revision, by default the one before the current.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct RollbackInput {
    #[serde(flatten)]
    pub target: ReleaseInput,
    /// Revision number (see `history`); default: the previous deployed one.
    #[serde(default)]
    pub revision: Option<u32>,
}

/// `scale`: one component's replicas, recorded as a new revision.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct ScaleInput {
    #[serde(flatten)]
    pub target: ReleaseInput,
    /// The component to scale (its name in the values), e.g. `backend`.
    pub component: String,
    /// Desired replicas, 0 to 50.
    #[schemars(range(min = 0, max = 50))]
    pub replicas: u32,
}

/// `logs`: the last lines of a release's (or one component's) containers.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct LogsInput {
    #[serde(flatten)]
    pub target: ReleaseInput,
    #[serde(flatten)]
    pub options: crate::operate::logs::LogOptions,
}
