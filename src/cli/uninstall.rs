//! `berth uninstall`: delete what the release owns; volumes (and the
//! namespace holding them) are kept unless `--delete-data`.

use clap::Args;

use super::cluster_args::TargetArgs;
use super::{Outcome, settings};
use crate::apply;
use crate::ui::Printer;

#[derive(Debug, Args)]
pub struct UninstallArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Also delete the release's volumes (PVCs) and the namespace it created.
    #[arg(long)]
    pub delete_data: bool,
    /// Accepted for scripts; uninstall never prompts.
    #[arg(short = 'y', long)]
    pub yes: bool,
}

pub async fn run(args: UninstallArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    let release = &settings::release_of(&args.target.release)?;
    let delete_data = args.delete_data;
    let report = args
        .target
        .cluster
        .run(printer, |connection| async move {
            Ok(apply::uninstall(&connection.client, release, delete_data).await?)
        })
        .await?;
    let Some(report) = report else {
        printer.status(&format!(
            "release {} not found in namespace {}",
            release.name, release.namespace
        ));
        return Ok(Outcome::Failed);
    };
    for object in &report.deleted {
        printer.status(&format!("  {object} deleted"));
    }
    for (object, why) in &report.kept {
        printer.status(&format!("  kept {object}: {why}"));
    }
    if report.volumes_kept {
        printer.status(
            "volumes (PersistentVolumeClaims) kept; rerun with --delete-data to delete them",
        );
    }
    printer.status(&format!("release {} uninstalled", release.name));
    Ok(Outcome::Success)
}
