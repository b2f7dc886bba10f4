//! `berth rollback [REVISION]`: re-apply a recorded revision with prune, as a
//! new revision, through the same deploy as `berth deploy`.

use clap::Args;

use super::apply_args::ApplyArgs;
use super::cluster_args::TargetArgs;
use super::report::{self, DeployProgress};
use super::{Outcome, settings};
use crate::apply::{self, DeployOptions};
use crate::pipeline::{self, Prepared};
use crate::ui::Printer;

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// Revision to return to (default: the one before the current).
    pub revision: Option<u32>,
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub apply: ApplyArgs,
    /// Accepted for scripts; rollback never prompts.
    #[arg(short = 'y', long)]
    pub yes: bool,
}

pub async fn run(args: RollbackArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    let release = &settings::release_of(&args.target.release)?;
    let options = &settings::deploy_options(&args.apply, false);
    let minikube = args.target.cluster.is_minikube();
    let requested = args.revision;
    args.target
        .cluster
        .run(printer, |connection| async move {
            let client = &connection.client;
            let target = apply::rollback_target(client, release, requested).await?;
            printer.status(&format!(
                "rolling back release {} to revision {}",
                release.name, target.number
            ));
            let options = DeployOptions {
                also_owned: target.also_owned,
                ..options.clone()
            };
            let prepared = Prepared {
                release: release.clone(),
                objects: target.objects,
                revision: target.content,
            };
            let mut progress = DeployProgress::new(printer);
            let result = pipeline::apply_prepared(client, prepared, &options, &mut |event| {
                progress.event(event)
            })
            .await;
            progress.finish();
            Ok(report::deploy_outcome(
                printer, release, &result?, minikube, None,
            ))
        })
        .await
}
