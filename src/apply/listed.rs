//! The release's live objects read in bulk: one LIST per kind and namespace
//! of the render, selected by the release's ApplySet member label, instead
//! of a GET per object.

use std::collections::{BTreeMap, BTreeSet};

use kube::Client;
use kube::api::{Api, DynamicObject, ListParams, TypeMeta};
use serde_json::Value;

use super::parallel::in_parallel;
use super::{Desired, ObjectKey, Ownership};

/// An object's identity across API versions: `Kind.group`, namespace, name.
type Identity = (String, Option<String>, String);

/// The release's members as listed, by identity.
#[derive(Debug, Default)]
pub struct Listed(BTreeMap<Identity, Value>);

impl Listed {
    /// Takes the listed object `key` names, if it was listed.
    pub fn take(&mut self, key: &ObjectKey) -> Option<Value> {
        self.0.remove(&identity(key))
    }
}

fn identity(key: &ObjectKey) -> Identity {
    (key.group_kind(), key.namespace.clone(), key.name.clone())
}

/// Lists the members `ownership` selects, once per kind and namespace of
/// `objects`. A list that fails leaves its kind out: its objects then take
/// the per-object path, which reports the error if it persists.
pub async fn list_members(client: &Client, objects: &[Desired], ownership: &Ownership) -> Listed {
    let mut collections: BTreeMap<(String, Option<String>), &ObjectKey> = BTreeMap::new();
    for d in objects {
        collections
            .entry((d.key.group_kind(), d.key.namespace.clone()))
            .or_insert(&d.key);
    }
    let selector = ownership.member_selector();
    let params = ListParams::default().labels(&selector);
    let lists = in_parallel(collections.values().map(|key| {
        let api: Api<DynamicObject> = key.api(client);
        let params = params.clone();
        async move { api.list(&params).await }
    }))
    .await;
    let wanted: BTreeSet<Identity> = objects.iter().map(|d| identity(&d.key)).collect();
    let mut listed = BTreeMap::new();
    for (key, list) in collections.values().zip(lists) {
        let Ok(list) = list else { continue };
        for mut item in list.items {
            // A list's items come without their type; the server answered
            // at the key's version.
            item.types = Some(TypeMeta {
                api_version: key.api_version.clone(),
                kind: key.kind.clone(),
            });
            let id = (
                key.group_kind(),
                item.metadata.namespace.clone(),
                item.metadata.name.clone().unwrap_or_default(),
            );
            if wanted.contains(&id) {
                let value = serde_json::to_value(item).expect("objects serialize");
                listed.insert(id, value);
            }
        }
    }
    Listed(listed)
}
