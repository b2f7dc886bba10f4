//! `berth diff`: what a deploy would change, from a server-side dry-run.
//! Exit 0 no changes, 1 changes, 2 error.

use clap::Args;

use super::cluster_args::ClusterArgs;
use super::prepare::{self, Prepared};
use super::{Outcome, ReleaseArgs, ValuesArgs};
use crate::apply::{self, Action};
use crate::ui;

#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub values: ValuesArgs,
    #[command(flatten)]
    pub release: ReleaseArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Compare as if deploy took over fields other managers own.
    #[arg(long)]
    pub force_conflicts: bool,
}

pub fn run(args: DiffArgs) -> anyhow::Result<Outcome> {
    let (values, ctx) = prepare::load(&args.values, &args.release)?;
    let cluster = args.cluster.clone();
    cluster.run(|connection| async move {
        let prepared = prepare::prepare(&connection.client, values, &ctx).await?;
        print_plan(&connection.client, &prepared, true, args.force_conflicts).await
    })
}

/// Prints the plan (with diffs when `diffs`) to stdout; Failed when it has changes.
pub async fn print_plan(
    client: &kube::Client,
    prepared: &Prepared,
    diffs: bool,
    force_conflicts: bool,
) -> anyhow::Result<Outcome> {
    let plan = apply::plan(
        client,
        &prepared.objects,
        &prepared.release,
        force_conflicts,
    )
    .await?;
    let mut out = String::new();
    for planned in plan.changes() {
        if diffs {
            out.push_str(&apply::diff::object_diff(planned).unwrap_or_default());
        } else {
            out.push_str(&format!(
                "{} {}\n",
                verb(&planned.action),
                planned.desired.key
            ));
        }
        if let Action::Recreate { reason } = &planned.action
            && apply::deploy::holds_volumes(&planned.desired.key, reason)
        {
            out.push_str("warning: recreating it may lose the data in its volumes\n");
        }
    }
    for key in &plan.prune {
        out.push_str(&format!("prune {key}\n"));
    }
    ui::write_stdout(&out)?;
    let changes = plan.changes().count();
    ui::status(&format!(
        "{changes} to change, {} to prune, {} unchanged",
        plan.prune.len(),
        plan.objects.len() - changes
    ));
    Ok(if plan.is_noop() {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}

fn verb(action: &Action) -> &'static str {
    match action {
        Action::Create => "create",
        Action::Update => "update",
        Action::Unchanged => "unchanged",
        Action::Recreate { .. } => "recreate",
        Action::Conflict { .. } => "conflict",
    }
}
