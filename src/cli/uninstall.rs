//! `berth uninstall`: delete what the release owns, deepest stage first; keep
//! volumes (and the namespace holding them) unless `--delete-data`; remove the
//! inventory and revisions last.

use clap::Args;
use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim};
use kube::api::{Api, DeleteParams, ListParams};

use super::cluster_args::ClusterArgs;
use super::status::release_of;
use super::{Outcome, ReleaseArgs};
use crate::apply::{self, Inventory, Release, prune, revision};
use crate::ui;

#[derive(Debug, Args)]
pub struct UninstallArgs {
    #[command(flatten)]
    pub release: ReleaseArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Also delete the release's volumes (PVCs) and the namespace it created.
    #[arg(long)]
    pub delete_data: bool,
    /// Accepted for scripts; uninstall never prompts.
    #[arg(short = 'y', long)]
    pub yes: bool,
}

pub fn run(args: UninstallArgs) -> anyhow::Result<Outcome> {
    let release = release_of(&args.release)?;
    let cluster = args.cluster.clone();
    cluster.run(|connection| async move {
        let client = &connection.client;
        let Some(lock) = apply::lock::acquire(client, &release).await? else {
            return not_found(&release);
        };
        let result = uninstall(client, &release, args.delete_data).await;
        lock.release().await;
        result
    })
}

fn not_found(release: &Release) -> anyhow::Result<Outcome> {
    ui::status(&format!(
        "release {} not found in namespace {}",
        release.name, release.namespace
    ));
    Ok(Outcome::Failed)
}

async fn uninstall(
    client: &kube::Client,
    release: &Release,
    delete_data: bool,
) -> anyhow::Result<Outcome> {
    let Some(inventory) = Inventory::read(client, release).await? else {
        return not_found(release);
    };
    let candidates = apply::plan::prune_candidates(&inventory.objects, &[]);
    let mut namespace = None;
    for (key, outcome) in prune::prune(client, release, &candidates, delete_data).await? {
        match outcome {
            prune::Pruned::Deleted => ui::status(&format!("  {key} deleted")),
            prune::Pruned::Kept(_) if key.kind == "Namespace" => namespace = Some(key),
            prune::Pruned::Kept(why) => ui::status(&format!("  kept {key}: {why}")),
            prune::Pruned::Absent => {}
        }
    }
    if delete_data {
        delete_volumes(client, release).await?;
    } else {
        ui::status(
            "volumes (PersistentVolumeClaims) kept; rerun with --delete-data to delete them",
        );
    }
    revision::delete_all(client, release).await?;
    Inventory::delete(client, release).await?;
    if let (Some(key), true) = (namespace, delete_data) {
        Api::<Namespace>::all(client.clone())
            .delete(&key.name, &DeleteParams::background())
            .await
            .map_err(|e| apply::ApplyError::api("delete", key.to_string(), e))?;
        ui::status(&format!("  {key} deleted"));
    }
    ui::status(&format!("release {} uninstalled", release.name));
    Ok(Outcome::Success)
}

/// The claims a StatefulSet made for the release (they carry its labels).
async fn delete_volumes(client: &kube::Client, release: &Release) -> anyhow::Result<()> {
    let api: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &release.namespace);
    let claims = api
        .list(&ListParams::default().labels(&release.selector()))
        .await?;
    for claim in claims.items {
        let name = claim.metadata.name.unwrap_or_default();
        api.delete(&name, &DeleteParams::background())
            .await
            .map_err(|e| {
                apply::ApplyError::api(
                    "delete",
                    format!("PersistentVolumeClaim {}/{name}", release.namespace),
                    e,
                )
            })?;
        ui::status(&format!(
            "  PersistentVolumeClaim {}/{name} deleted",
            release.namespace
        ));
    }
    Ok(())
}
