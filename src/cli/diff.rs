//! `berth diff`: what a deploy would change, from a server-side dry-run.
//! Exit 0 no changes, 1 changes, 2 error.

use clap::Args;

use super::cluster_args::TargetArgs;
use super::{Outcome, ValuesArgs, settings};
use crate::apply::{self, Action, Plan, Verb};
use crate::pipeline::{self, Prepared};
use crate::ui::Printer;

#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub values: ValuesArgs,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Compare as if deploy took over fields other managers own.
    #[arg(long)]
    pub force_conflicts: bool,
}

pub async fn run(args: DiffArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    let (mut values, ctx) = settings::load_values(&args.values.sources(), &args.target.release)?;
    let force = args.force_conflicts;
    let cluster = &args.target.cluster;
    cluster
        .run(printer, |connection| async move {
            // The origin a deploy would render for, so an unchanged one diffs clean.
            let place = cluster.place(&connection);
            pipeline::origin::resolve_origin(&connection.client, &mut values, &place).await;
            let prepared = pipeline::prepare(&connection.client, values, &ctx).await?;
            print_plan(printer, &connection.client, &prepared, true, force).await
        })
        .await
}

/// Prints the plan (with diffs when `diffs`) to stdout; Failed when it has changes.
pub async fn print_plan(
    printer: &Printer,
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
    let out = plan_text(&plan, diffs);
    printer.data(&out)?;
    let changes = plan.changes().count();
    printer.status(&format!(
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

/// The plan as text: a diff (or a verb line) per change, then the prunes.
pub fn plan_text(plan: &Plan, diffs: bool) -> String {
    let mut out = String::new();
    for planned in plan.changes() {
        if diffs {
            out.push_str(&apply::diff::object_diff(planned).unwrap_or_default());
        } else {
            out.push_str(&format!(
                "{} {}\n",
                planned.action.verb(),
                planned.desired.key
            ));
        }
        out.push_str(&warnings(&planned.action, &planned.desired.key));
    }
    for key in &plan.prune {
        out.push_str(&format!("{} {key}\n", Verb::Prune));
    }
    out
}

/// What the reader must know before deploying this change.
fn warnings(action: &Action, key: &apply::ObjectKey) -> String {
    match action {
        Action::Recreate {
            expansion: Some(refused),
            ..
        } => format!(
            "hint: to grow volume `{}` in place, allow expansion on StorageClass `{}` (allowVolumeExpansion: true), or keep the old size\n",
            refused.growth.template, refused.class
        ),
        Action::Recreate { reason, .. } if apply::deploy::holds_volumes(key, reason) => {
            "warning: recreating it may lose the data in its volumes\n".into()
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::volumes::{ClaimGrowth, ExpansionRefused, Growth};
    use crate::apply::{Desired, Planned};
    use serde_json::json;

    fn statefulset(storage: &str, image: &str) -> serde_json::Value {
        json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "todo-chatbot-postgres", "namespace": "todo"},
            "spec": {
                "template": {"spec": {"containers": [{"name": "postgres", "image": image}]}},
                "volumeClaimTemplates": [{"metadata": {"name": "data"},
                    "spec": {"resources": {"requests": {"storage": storage}}}}]
            }
        })
    }

    fn planned(
        action: Action,
        live: serde_json::Value,
        after: Option<serde_json::Value>,
    ) -> Planned {
        Planned {
            desired: Desired::from_json(after.clone().unwrap_or_else(|| live.clone()), 2).unwrap(),
            action,
            live: Some(live),
            after,
        }
    }

    #[test]
    fn diff_output() {
        let growth = Growth {
            template: "data".into(),
            from: "1Gi".into(),
            to: "5Gi".into(),
        };
        let plan = Plan {
            objects: vec![
                planned(
                    Action::Expand {
                        claims: vec![ClaimGrowth {
                            claim: "PersistentVolumeClaim todo/data-todo-chatbot-postgres-0".into(),
                            name: "data-todo-chatbot-postgres-0".into(),
                            from: "1Gi".into(),
                            to: "5Gi".into(),
                        }],
                    },
                    statefulset("1Gi", "postgres:17"),
                    Some(statefulset("5Gi", "postgres:17")),
                ),
                planned(
                    Action::Recreate {
                        reason: "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', ... are forbidden".into(),
                        expansion: Some(ExpansionRefused {
                            growth,
                            class: "standard".into(),
                            why: "does not allow volume expansion".into(),
                        }),
                    },
                    statefulset("1Gi", "postgres:16"),
                    None,
                ),
            ],
            prune: vec![],
        };
        insta::assert_snapshot!("diff_expand_and_refused", plan_text(&plan, true));
        insta::assert_snapshot!("dry_run_expand_and_refused", plan_text(&plan, false));
    }
}
