//! `berth history`: the release's revisions.

use clap::Args;

use super::cluster_args::TargetArgs;
use super::status::Format;
use super::{Outcome, settings};
use crate::apply::{self, Revision};
use crate::ui::Printer;

#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

pub async fn run(args: HistoryArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    let release = &settings::release_of(&args.target.release)?;
    let revisions = args
        .target
        .cluster
        .run(printer, |connection| async move {
            Ok(apply::history(&connection.client, release).await?)
        })
        .await?;
    if args.format == Format::Json {
        printer.data(&format!("{}\n", serde_json::to_string_pretty(&revisions)?))?;
        return Ok(Outcome::Success);
    }
    if revisions.is_empty() {
        printer.status(&format!(
            "release {} in namespace {} has no revisions",
            release.name, release.namespace
        ));
        return Ok(Outcome::Failed);
    }
    printer.data(&table(&revisions))?;
    Ok(Outcome::Success)
}

pub fn table(revisions: &[Revision]) -> String {
    let mut out = format!(
        "{:<9} {:<11} {:<21} {}\n",
        "REVISION", "STATUS", "TIME", "BERTH"
    );
    for r in revisions {
        // A revision of `berth dev` was rendered with its dev profile.
        let by = if r.dev { " (berth dev)" } else { "" };
        out.push_str(&format!(
            "{:<9} {:<11} {:<21} {}{by}\n",
            r.number, r.status, r.time, r.version
        ));
    }
    out
}
