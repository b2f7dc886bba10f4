//! Uninstall: delete what the release owns, deepest stage first; keep
//! volumes (and the namespace holding them) unless asked; remove the
//! inventory and revisions last.

use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim};
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams};

use super::prune::{Pruned, prune, prune_candidates};
use super::{ApplyError, Inventory, ObjectKey, Release, lock, revision};

/// What an uninstall did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UninstallReport {
    /// `Kind namespace/name` of every object deleted, in order.
    pub deleted: Vec<String>,
    /// Objects left in place, with why.
    pub kept: Vec<(String, &'static str)>,
    /// Volumes were kept (no `delete_data`).
    pub volumes_kept: bool,
}

/// Uninstalls `release` holding its lock; `None` when it has no inventory
/// (not installed).
pub async fn uninstall(
    client: &Client,
    release: &Release,
    delete_data: bool,
) -> Result<Option<UninstallReport>, ApplyError> {
    let Some(lock) = lock::acquire(client, release).await? else {
        return Ok(None); // no namespace: nothing installed
    };
    let result = uninstall_locked(client, release, delete_data).await;
    lock.release().await;
    result
}

async fn uninstall_locked(
    client: &Client,
    release: &Release,
    delete_data: bool,
) -> Result<Option<UninstallReport>, ApplyError> {
    let Some(inventory) = Inventory::read(client, release).await? else {
        return Ok(None);
    };
    let mut report = UninstallReport {
        volumes_kept: !delete_data,
        ..Default::default()
    };
    let candidates = prune_candidates(&inventory.objects, &[]);
    let mut namespace: Option<ObjectKey> = None;
    for (key, outcome) in prune(client, release, &candidates, delete_data).await? {
        match outcome {
            Pruned::Deleted => report.deleted.push(key.to_string()),
            Pruned::Kept(_) if key.kind == "Namespace" => namespace = Some(key),
            Pruned::Kept(why) => report.kept.push((key.to_string(), why)),
            Pruned::Absent => {}
        }
    }
    if delete_data {
        report
            .deleted
            .extend(delete_volumes(client, release).await?);
    }
    revision::delete_all(client, release).await?;
    Inventory::delete(client, release).await?;
    if let (Some(key), true) = (namespace, delete_data) {
        Api::<Namespace>::all(client.clone())
            .delete(&key.name, &DeleteParams::background())
            .await
            .map_err(|e| ApplyError::api("delete", key.to_string(), e))?;
        report.deleted.push(key.to_string());
    }
    Ok(Some(report))
}

/// The claims a StatefulSet made for the release (they carry its labels).
async fn delete_volumes(client: &Client, release: &Release) -> Result<Vec<String>, ApplyError> {
    let ns = &release.namespace;
    let api: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), ns);
    let claims = api
        .list(&ListParams::default().labels(&release.selector()))
        .await
        .map_err(|e| {
            ApplyError::api(
                "list",
                format!("PersistentVolumeClaims in namespace {ns}"),
                e,
            )
        })?;
    let mut deleted = Vec::new();
    for claim in claims.items {
        let name = claim.metadata.name.unwrap_or_default();
        let object = format!("PersistentVolumeClaim {ns}/{name}");
        api.delete(&name, &DeleteParams::background())
            .await
            .map_err(|e| ApplyError::api("delete", object.clone(), e))?;
        deleted.push(object);
    }
    Ok(deleted)
}
