//! The release's inventory: an ApplySet parent Secret, so `kubectl` sees what
//! berth owns (`applyset.kubernetes.io/*` labels and annotations), plus the
//! exact member list in its data, which prune relies on.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use kube::api::{Api, DeleteParams, Patch};

use super::applied::{self, Record};
use super::ownership::{Ownership, apply_params, parent_name};
use super::{ApplyError, ObjectKey, Release, tooling};

const TOOLING: &str = "applyset.kubernetes.io/tooling";
const GROUP_KINDS: &str = "applyset.kubernetes.io/contains-group-kinds";
const OBJECTS_KEY: &str = "objects";
/// What berth left each object as ([`applied`]), gzip-compressed JSON.
const APPLIED_KEY: &str = "applied";

/// The objects a release owns, as last recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    pub objects: BTreeSet<ObjectKey>,
    /// What the last deploy left each applied object as: the proof a
    /// no-op deploy rests on. An object missing here is dry-run.
    pub applied: Record,
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
        let applied = data
            .get(APPLIED_KEY)
            .map(|bytes| applied::decode(&bytes.0))
            .unwrap_or_default();
        Ok(Some(Inventory { objects, applied }))
    }

    /// Records the inventory (an SSA write of the parent Secret).
    pub async fn write(&self, client: &Client, release: &Release) -> Result<(), ApplyError> {
        let api: Api<Secret> = Api::namespaced(client.clone(), &release.namespace);
        let secret = self.parent(release);
        api.patch(
            &parent_name(release),
            &apply_params(true),
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
                labels: Some(Ownership::of(release).parent_labels()),
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
            data: Some(BTreeMap::from([
                (OBJECTS_KEY.to_string(), ByteString(json)),
                (
                    APPLIED_KEY.to_string(),
                    ByteString(applied::encode(&self.applied)),
                ),
            ])),
            ..Default::default()
        }
    }
}
