//! What a render needs besides the values: the release and namespace, and the
//! names and identities derived from them.

use std::collections::BTreeMap;

use super::registry::RegistryRender;
use crate::values::{Component, Values};

/// Release-level settings resolved by the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderContext {
    /// Release name: the `instance` label and the prefix of every object name.
    pub release: String,
    /// Namespace every object is rendered into.
    pub namespace: String,
    pub app_name: String,
    pub app_version: String,
    /// Digest pins and the pull Secret of a deploy through a registry (empty otherwise).
    pub registry: RegistryRender,
    /// `berth dev`'s profile: workloads drain and stop sooner and are probed every second, so
    /// an edit is served sooner. A render option, not a value: a later `berth deploy` of the
    /// same values renders without it.
    pub dev_profile: bool,
    /// In the dev profile, the components `berth dev` updates live (their image spec's
    /// `[dev]`): each runs this command, a server that reloads changed code itself, as root
    /// with a writable root filesystem, so the files copied into it can replace the image's.
    pub live: BTreeMap<String, Vec<String>>,
}

/// Default release name.
pub const DEFAULT_RELEASE: &str = "todo-chatbot";

/// Suffix of the in-cluster database's object names: named for what it runs.
pub const DATABASE_OBJECT_SUFFIX: &str = "postgres";
/// The `app.kubernetes.io/component` value of the in-cluster database.
pub const DATABASE_COMPONENT_LABEL: &str = "database";
/// The `app.kubernetes.io/name` value of the in-cluster database.
pub const DATABASE_NAME_LABEL: &str = "postgresql";

impl RenderContext {
    /// The context for `values`, with an optional namespace override (`-n`).
    pub fn new(values: &Values, release: &str, namespace: Option<&str>) -> Self {
        RenderContext {
            release: release.to_string(),
            namespace: namespace.unwrap_or(&values.namespace.name).to_string(),
            app_name: values.app_name.clone(),
            app_version: values.app_version.clone(),
            registry: RegistryRender::default(),
            dev_profile: false,
            live: BTreeMap::new(),
        }
    }

    /// `<release>-<component>`: the name of a component's objects.
    pub fn name(&self, component: &str) -> String {
        format!("{}-{component}", self.release)
    }

    /// The name of the in-cluster database's objects (and its host name).
    pub fn database_name(&self) -> String {
        self.name(DATABASE_OBJECT_SUFFIX)
    }

    /// Who a component's objects are: names and labels.
    pub fn component(&self, name: &str, c: &Component) -> Identity {
        Identity {
            object_name: self.name(name),
            component: name.to_string(),
            software: c.name_label.clone().unwrap_or_else(|| name.to_string()),
            version: c.image.tag.clone(),
        }
    }

    /// Who the in-cluster database's objects are.
    pub fn database(&self, values: &Values) -> Identity {
        Identity {
            object_name: self.database_name(),
            component: DATABASE_COMPONENT_LABEL.to_string(),
            software: DATABASE_NAME_LABEL.to_string(),
            version: values.database.internal.image.tag.clone(),
        }
    }
}

/// The identity of one workload's objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `metadata.name` of its objects.
    pub object_name: String,
    /// The `app.kubernetes.io/component` label (and container name).
    pub component: String,
    /// The `app.kubernetes.io/name` label: the software it runs.
    pub software: String,
    /// The `app.kubernetes.io/version` label: its image tag.
    pub version: String,
}
