//! The release's inventory: an ApplySet parent Secret, so `kubectl` sees what
//! berth owns (`applyset.kubernetes.io/*` labels and annotations), plus the
//! exact member list in its data, which prune relies on.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use sha2::{Digest, Sha256};

use super::{ApplyError, FIELD_MANAGER, INSTANCE_LABEL, ObjectKey, Release, tooling};

pub const ID_LABEL: &str = "applyset.kubernetes.io/id";
pub const PART_OF_LABEL: &str = "applyset.kubernetes.io/part-of";
const TOOLING: &str = "applyset.kubernetes.io/tooling";
const GROUP_KINDS: &str = "applyset.kubernetes.io/contains-group-kinds";
const OBJECTS_KEY: &str = "objects";

/// The objects a release owns, as last recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    pub objects: BTreeSet<ObjectKey>,
}

/// Name of the release's ApplySet parent Secret.
pub fn parent_name(release: &Release) -> String {
    format!("{}-inventory", release.name)
}

/// The ApplySet id kubectl computes for a Secret parent:
/// `applyset-<base64url(sha256(<name>.<namespace>.Secret.))>-v1`.
pub fn applyset_id(name: &str, namespace: &str) -> String {
    let digest = Sha256::digest(format!("{name}.{namespace}.Secret."));
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
    format!("applyset-{encoded}-v1")
}

/// The id of a release's ApplySet, the value of members' `part-of` label.
pub fn release_id(release: &Release) -> String {
    applyset_id(&parent_name(release), &release.namespace)
}

fn display(release: &Release) -> String {
    format!("Secret {}/{}", release.namespace, parent_name(release))
}

impl Inventory {
    /// Reads the inventory; `None` when the release has none (or no namespace yet).
    pub async fn read(client: &Client, release: &Release) -> Result<Option<Inventory>, ApplyError> {
        let api: Api<Secret> = Api::namespaced(client.clone(), &release.namespace);
        let secret = api
            .get_opt(&parent_name(release))
            .await
            .map_err(|e| ApplyError::api("get", display(release), e))?;
        let Some(secret) = secret else {
            return Ok(None);
        };
        let data = secret.data.unwrap_or_default();
        let objects = match data.get(OBJECTS_KEY) {
            Some(bytes) => serde_json::from_slice(&bytes.0).map_err(|e| ApplyError::Corrupt {
                object: display(release),
                message: format!("unreadable inventory: {e}"),
            })?,
            None => BTreeSet::new(),
        };
        Ok(Some(Inventory { objects }))
    }

    /// Records the inventory (an SSA write of the parent Secret).
    pub async fn write(&self, client: &Client, release: &Release) -> Result<(), ApplyError> {
        let api: Api<Secret> = Api::namespaced(client.clone(), &release.namespace);
        let secret = self.parent(release);
        api.patch(
            &parent_name(release),
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&secret),
        )
        .await
        .map_err(|e| ApplyError::api("apply", display(release), e))?;
        Ok(())
    }

    /// Removes the parent Secret (uninstall, last).
    pub async fn delete(client: &Client, release: &Release) -> Result<(), ApplyError> {
        let api: Api<Secret> = Api::namespaced(client.clone(), &release.namespace);
        match api
            .delete(&parent_name(release), &DeleteParams::default())
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if super::error::status_code(&e) == 404 => Ok(()),
            Err(e) => Err(ApplyError::api("delete", display(release), e)),
        }
    }

    fn parent(&self, release: &Release) -> Secret {
        let group_kinds: BTreeSet<String> =
            self.objects.iter().map(ObjectKey::group_kind).collect();
        let json = serde_json::to_vec(&self.objects).expect("keys serialize");
        Secret {
            metadata: ObjectMeta {
                name: Some(parent_name(release)),
                namespace: Some(release.namespace.clone()),
                labels: Some(BTreeMap::from([
                    (ID_LABEL.to_string(), release_id(release)),
                    (INSTANCE_LABEL.to_string(), release.name.clone()),
                    (
                        "app.kubernetes.io/managed-by".to_string(),
                        FIELD_MANAGER.to_string(),
                    ),
                ])),
                annotations: Some(BTreeMap::from([
                    (TOOLING.to_string(), tooling()),
                    (
                        GROUP_KINDS.to_string(),
                        group_kinds.into_iter().collect::<Vec<_>>().join(","),
                    ),
                ])),
                ..Default::default()
            },
            type_: Some("berth.dev/inventory".to_string()),
            data: Some(BTreeMap::from([(
                OBJECTS_KEY.to_string(),
                ByteString(json),
            )])),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_matches_kubectl_format() {
        let id = applyset_id("todo-chatbot-inventory", "todo");
        assert!(id.starts_with("applyset-") && id.ends_with("-v1"), "{id}");
        // 32 bytes of sha256 → 43 base64url characters without padding.
        assert_eq!(id.len(), "applyset-".len() + 43 + "-v1".len());
        assert!(!id.contains('=') && !id.contains('+') && !id.contains('/'));
    }
}
