//! `berth history`: the release's revisions.

use clap::Args;

use super::cluster_args::ClusterArgs;
use super::status::Format;
use super::{Outcome, ReleaseArgs};
use crate::apply::{Release, revision};
use crate::ui;

#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub release: ReleaseArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

pub fn run(args: HistoryArgs) -> anyhow::Result<Outcome> {
    let release = super::status::release_of(&args.release)?;
    let cluster = args.cluster.clone();
    cluster.run(|connection| async move {
        let revisions = revision::list(&connection.client, &release).await?;
        print(&release, &revisions, args.format)
    })
}

fn print(
    release: &Release,
    revisions: &[revision::Revision],
    format: Format,
) -> anyhow::Result<Outcome> {
    if format == Format::Json {
        ui::write_stdout(&format!("{}\n", serde_json::to_string_pretty(revisions)?))?;
        return Ok(Outcome::Success);
    }
    if revisions.is_empty() {
        ui::status(&format!(
            "release {} in namespace {} has no revisions",
            release.name, release.namespace
        ));
        return Ok(Outcome::Failed);
    }
    let mut out = format!(
        "{:<9} {:<11} {:<21} {}\n",
        "REVISION", "STATUS", "TIME", "BERTH"
    );
    for r in revisions {
        out.push_str(&format!(
            "{:<9} {:<11} {:<21} {}\n",
            r.number, r.status, r.time, r.version
        ));
    }
    ui::write_stdout(&out)?;
    Ok(Outcome::Success)
}
