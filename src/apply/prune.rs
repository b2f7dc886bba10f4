//! Deletion of objects the release no longer renders, deepest stage first,
//! and only when the live object's labels prove the release owns it.

use std::collections::{BTreeMap, BTreeSet};

use kube::Client;
use kube::api::{DeleteParams, Preconditions};

use super::error::status_code;
use super::ownership::Ownership;
use super::parallel::in_parallel;
use super::{ApplyError, Desired, ObjectKey, Release};

/// What happened to one prune candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pruned {
    Deleted,
    /// Already gone.
    Absent,
    /// Left in place: data (PVC) or a namespace, or not provably ours.
    Kept(&'static str),
}

/// Kinds never deleted by prune: they hold data or other objects.
fn protected(key: &ObjectKey, delete_data: bool) -> Option<&'static str> {
    match key.kind.as_str() {
        "Namespace" => Some("namespaces are never pruned"),
        "PersistentVolumeClaim" if !delete_data => {
            Some("volume data is kept without --delete-data")
        }
        _ => None,
    }
}

/// Recorded objects that are not desired any more, deepest stage first.
pub fn prune_candidates(recorded: &BTreeSet<ObjectKey>, desired: &[Desired]) -> Vec<ObjectKey> {
    let wanted: BTreeSet<(&str, &str, Option<&str>, &str)> =
        desired.iter().map(|d| identity(&d.key)).collect();
    let mut prune: Vec<ObjectKey> = recorded
        .iter()
        .filter(|k| !wanted.contains(&identity(k)))
        .cloned()
        .collect();
    prune.sort_by(|a, b| b.stage.cmp(&a.stage).then_with(|| a.cmp(b)));
    prune
}

/// An object's identity regardless of stage and version.
fn identity(key: &ObjectKey) -> (&str, &str, Option<&str>, &str) {
    (key.group(), &key.kind, key.namespace.as_deref(), &key.name)
}

/// Deletes the candidates stage by stage (they come deepest stage first).
pub async fn prune(
    client: &Client,
    release: &Release,
    candidates: &[ObjectKey],
    delete_data: bool,
) -> Result<Vec<(ObjectKey, Pruned)>, ApplyError> {
    let mut by_stage: BTreeMap<u8, Vec<&ObjectKey>> = BTreeMap::new();
    for key in candidates {
        by_stage.entry(key.stage).or_default().push(key);
    }
    let ownership = Ownership::of(release);
    let mut results = Vec::new();
    for (_, keys) in by_stage.into_iter().rev() {
        let outcomes = in_parallel(
            keys.iter()
                .map(|k| prune_one(client, &ownership, k, delete_data)),
        )
        .await;
        for (key, outcome) in keys.into_iter().zip(outcomes) {
            results.push((key.clone(), outcome?));
        }
    }
    Ok(results)
}

async fn prune_one(
    client: &Client,
    ownership: &Ownership,
    key: &ObjectKey,
    delete_data: bool,
) -> Result<Pruned, ApplyError> {
    if let Some(why) = protected(key, delete_data) {
        return Ok(Pruned::Kept(why));
    }
    let api = key.api(client);
    // The inventory may be stale: ownership is proven on the live object, and
    // the delete is conditioned on that very version of it, so an object
    // replaced or relabelled between the check and the delete survives.
    // A conflict means it changed: look again.
    for _ in 0..3 {
        let Some(live) = api
            .get_opt(&key.name)
            .await
            .map_err(|e| ApplyError::api("get", key.to_string(), e))?
        else {
            return Ok(Pruned::Absent);
        };
        let labels = live.metadata.labels.clone().unwrap_or_default();
        if !ownership.owns(&labels) {
            return Ok(Pruned::Kept("its labels do not name this release"));
        }
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                uid: live.metadata.uid.clone(),
                resource_version: live.metadata.resource_version.clone(),
            }),
            ..DeleteParams::background()
        };
        match api.delete(&key.name, &params).await {
            Ok(_) => return Ok(Pruned::Deleted),
            Err(e) if status_code(&e) == 404 => return Ok(Pruned::Absent),
            Err(e) if status_code(&e) == 409 => continue,
            Err(e) => return Err(ApplyError::api("delete", key.to_string(), e)),
        }
    }
    Ok(Pruned::Kept(
        "it kept changing while berth checked whose it is",
    ))
}
