//! `berth status`: per workload ready/desired, image, restarts, and the URL
//! to reach the app. Ready means what a deploy's wait means: rolled out.

use std::collections::BTreeMap;

use clap::{Args, ValueEnum};

use super::cluster_args::{ClusterArgs, TargetArgs};
use super::{Outcome, settings};
use crate::apply::{self, Release, ReleaseStatus, Workload};
use crate::cluster::Connection;
use crate::operate::open;
use crate::pipeline::{self, origin::OriginNote};
use crate::ui::Printer;
use crate::values::Origin;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

pub async fn run(args: StatusArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    let release = &settings::release_of(&args.target.release)?;
    let cluster = &args.target.cluster;
    let status = cluster
        .run(printer, |connection| async move {
            let mut status = apply::status(&connection.client, release).await?;
            if let Some(url) = open_url(cluster, &connection, release).await? {
                status.urls = vec![url];
            }
            Ok(status)
        })
        .await?;
    match args.format {
        Format::Json => printer.data(&format!("{}\n", serde_json::to_string_pretty(&status)?))?,
        Format::Table => printer.data(&table(&status))?,
    }
    Ok(if status.ready {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}

/// The URL to open the release at: the origin its newest revision was
/// deployed for (a NodePort's resolved now when the revision predates that).
async fn open_url(
    cluster: &ClusterArgs,
    connection: &Connection,
    release: &Release,
) -> anyhow::Result<Option<String>> {
    let Some(mut values) = open::deployed_values(&connection.client, release).await? else {
        return Ok(None);
    };
    let place = cluster.place(connection);
    let note = pipeline::origin::resolve_origin(&connection.client, &mut values, &place).await;
    Ok(Some(match note {
        OriginNote::Unreachable { why, .. } => {
            format!("none reachable from this machine ({why}); run `berth open`")
        }
        _ if values.expose.origin == Origin::Local && values.expose.url.is_empty() => {
            format!("{} (served by `berth open`)", note.url())
        }
        note => note.url().to_string(),
    }))
}

/// The status as a table, workloads sorted by kind and name.
pub fn table(status: &ReleaseStatus) -> String {
    let revision = status
        .revision
        .as_ref()
        .map(|r| format!("revision {} ({})", r.number, r.status))
        .unwrap_or_else(|| "no revision".into());
    let mut out = format!(
        "release {} in namespace {}: {revision}\n",
        status.release, status.namespace
    );
    out.push_str(&format!(
        "{:<10} {:<34} {:<7} {:<9} {}\n",
        "COMPONENT", "WORKLOAD", "READY", "RESTARTS", "IMAGE"
    ));
    let rows: BTreeMap<String, &Workload> = status
        .workloads
        .iter()
        .map(|w| (format!("{}/{}", w.kind, w.name), w))
        .collect();
    for (name, w) in rows {
        let ready = format!("{}/{}", w.ready, w.desired);
        let ready = if w.rolled_out || w.ready != w.desired {
            ready
        } else {
            format!("{ready}*")
        };
        out.push_str(&format!(
            "{:<10} {:<34} {:<7} {:<9} {}\n",
            w.component,
            name,
            ready,
            w.restarts,
            w.images.join(",")
        ));
    }
    if status
        .workloads
        .iter()
        .any(|w| !w.rolled_out && w.ready == w.desired)
    {
        out.push_str("* ready, but its rollout is not finished (old replicas remain or the new generation is not observed yet)\n");
    }
    for service in &status.unrouted {
        out.push_str(&format!("not routing yet: {service}\n"));
    }
    for url in &status.urls {
        out.push_str(&format!("URL: {url}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workload(kind: &str, name: &str, ready: i32, rolled_out: bool) -> Workload {
        Workload {
            component: name.rsplit('-').next().unwrap().into(),
            kind: kind.into(),
            name: name.into(),
            ready,
            desired: 2,
            rolled_out,
            images: vec![format!("registry.local/{name}:0.1.0")],
            restarts: 0,
        }
    }

    #[test]
    fn status_table() {
        let status = ReleaseStatus {
            release: "todo-chatbot".into(),
            namespace: "todo".into(),
            revision: Some(apply::Revision {
                number: 4,
                status: "deployed".into(),
                time: "2026-12-02T08:00:00Z".into(),
                version: "berth/0.1.0".into(),
                holder: String::new(),
                expires: String::new(),
                parts: 1,
                size: 0,
                dev: false,
            }),
            ready: false,
            workloads: vec![
                workload("StatefulSet", "todo-chatbot-postgres", 2, true),
                workload("Deployment", "todo-chatbot-web", 2, false),
                workload("Deployment", "todo-chatbot-api", 1, false),
            ],
            unrouted: vec!["Service/todo-chatbot-web: routes to 1 of 2 ready pods".into()],
            urls: vec!["http://192.168.49.2:30080".into()],
        };
        insta::assert_snapshot!("status_table", table(&status));
    }
}
