//! Objects as the engine sees them: JSON plus a stage, identified by an
//! [`ObjectKey`] that is also the inventory entry.

use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use serde::{Deserialize, Serialize};

use crate::manifests::{Manifest, Stage};

/// One object to apply, and the stage it belongs to (lower stages go first).
#[derive(Debug, Clone)]
pub struct Desired {
    pub key: ObjectKey,
    pub object: serde_json::Value,
}

/// Group/version/kind, namespace and name of an object, with its stage: what
/// the inventory records and prune deletes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ObjectKey {
    pub stage: u8,
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectKey {
    /// The API group, empty for the core group.
    pub fn group(&self) -> &str {
        self.api_version
            .rsplit_once('/')
            .map_or("", |(group, _)| group)
    }

    /// `Kind.group` (`Deployment.apps`, `Secret`), as ApplySet annotations list kinds.
    pub fn group_kind(&self) -> String {
        match self.group() {
            "" => self.kind.clone(),
            group => format!("{}.{group}", self.kind),
        }
    }

    pub fn resource(&self) -> ApiResource {
        let version = self
            .api_version
            .rsplit_once('/')
            .map_or(self.api_version.as_str(), |(_, v)| v);
        ApiResource::from_gvk(&GroupVersionKind::gvk(self.group(), version, &self.kind))
    }

    /// The client for this object's resource, namespaced when the object is.
    pub fn api(&self, client: &Client) -> Api<DynamicObject> {
        let resource = self.resource();
        match &self.namespace {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
            None => Api::all_with(client.clone(), &resource),
        }
    }
}

impl std::fmt::Display for ObjectKey {
    /// `Kind namespace/name`, the way every message names an object.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.kind, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

impl Desired {
    /// An object from its JSON; `None` when apiVersion, kind or name is missing.
    pub fn from_json(object: serde_json::Value, stage: u8) -> Option<Desired> {
        let text = |field: &str| object.get(field).and_then(|v| v.as_str()).map(String::from);
        let meta = object.get("metadata")?;
        let key = ObjectKey {
            stage,
            api_version: text("apiVersion")?,
            kind: text("kind")?,
            namespace: meta
                .get("namespace")
                .and_then(|v| v.as_str())
                .map(String::from),
            name: meta.get("name")?.as_str()?.to_string(),
        };
        Some(Desired { key, object })
    }

    /// Adds a label to the object, creating `metadata.labels` when needed.
    pub fn add_label(&mut self, key: &str, value: &str) {
        let meta = &mut self.object["metadata"];
        if !meta["labels"].is_object() {
            meta["labels"] = serde_json::json!({});
        }
        meta["labels"][key] = serde_json::Value::String(value.to_string());
    }

    pub fn label(&self, key: &str) -> Option<&str> {
        self.object["metadata"]["labels"][key].as_str()
    }
}

/// The engine's view of rendered manifests: JSON with the kind's stage.
pub fn from_manifests(manifests: &[Manifest]) -> Vec<Desired> {
    manifests
        .iter()
        .map(|m| {
            Desired::from_json(m.to_json(), stage_number(m.kind().stage()))
                .expect("rendered objects have apiVersion, kind and name")
        })
        .collect()
}

fn stage_number(stage: Stage) -> u8 {
    match stage {
        Stage::Namespace => 0,
        Stage::Config => 1,
        Stage::Workloads => 2,
        Stage::Policies => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(api_version: &str, kind: &str) -> ObjectKey {
        ObjectKey {
            stage: 2,
            api_version: api_version.into(),
            kind: kind.into(),
            namespace: Some("todo".into()),
            name: "x".into(),
        }
    }

    #[test]
    fn group_kinds_and_plurals() {
        let deployment = key("apps/v1", "Deployment");
        assert_eq!(deployment.group_kind(), "Deployment.apps");
        assert_eq!(deployment.resource().plural, "deployments");
        let ingress = key("networking.k8s.io/v1", "Ingress");
        assert_eq!(ingress.resource().plural, "ingresses");
        assert_eq!(
            key("networking.k8s.io/v1", "NetworkPolicy")
                .resource()
                .plural,
            "networkpolicies"
        );
        let secret = key("v1", "Secret");
        assert_eq!(secret.group_kind(), "Secret");
        assert_eq!(secret.resource().api_version, "v1");
        assert_eq!(secret.to_string(), "Secret todo/x");
    }
}
