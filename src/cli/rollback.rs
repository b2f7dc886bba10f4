//! `berth rollback [REVISION]`: re-apply a recorded revision with prune, as a
//! new revision. Revisions hold no secret values, so the release's live
//! Secrets are kept as they are.

use anyhow::Context;
use clap::Args;

use super::apply_args::ApplyArgs;
use super::cluster_args::ClusterArgs;
use super::prepare::{Prepared, objects_from_json};
use super::status::release_of;
use super::{Outcome, ReleaseArgs};
use crate::apply::{DeployOptions, Release, revision};

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// Revision to return to (default: the one before the current).
    pub revision: Option<u32>,
    #[command(flatten)]
    pub release: ReleaseArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub apply: ApplyArgs,
    /// Accepted for scripts; rollback never prompts.
    #[arg(short = 'y', long)]
    pub yes: bool,
}

pub fn run(args: RollbackArgs) -> anyhow::Result<Outcome> {
    let release = release_of(&args.release)?;
    let cluster = args.cluster.clone();
    cluster.run(|connection| async move {
        let client = &connection.client;
        let number = target(client, &release, args.revision).await?;
        let (_, content) = revision::load(client, &release, number)
            .await?
            .with_context(|| format!("revision {number} of release {} not found", release.name))?;
        let (secrets, objects): (Vec<_>, Vec<_>) = objects_from_json(&content.manifests)
            .into_iter()
            .partition(|d| d.key.kind == "Secret");
        crate::ui::status(&format!(
            "rolling back release {} to revision {number}",
            release.name
        ));
        let options = DeployOptions {
            force_conflicts: args.apply.force_conflicts,
            recreate: args.apply.recreate,
            delete_data: false,
            wait: args.apply.wait(),
            history_max: args.apply.history_max,
            revision: content.clone(),
            also_owned: secrets.into_iter().map(|d| d.key).collect(),
        };
        let prepared = Prepared {
            release: release.clone(),
            objects,
            revision: content,
        };
        super::deploy::deploy(client, prepared, &options).await
    })
}

/// The requested revision, or the last deployed one before the newest.
async fn target(
    client: &kube::Client,
    release: &Release,
    requested: Option<u32>,
) -> anyhow::Result<u32> {
    if let Some(number) = requested {
        return Ok(number);
    }
    let revisions = revision::list(client, release).await?;
    let newest = revisions.last().map(|r| r.number).unwrap_or(0);
    revisions
        .iter()
        .rev()
        .find(|r| {
            r.number < newest
                && matches!(r.status.as_str(), revision::DEPLOYED | revision::SUPERSEDED)
        })
        .map(|r| r.number)
        .with_context(|| {
            format!(
                "release {} has no earlier deployed revision to roll back to",
                release.name
            )
        })
}
