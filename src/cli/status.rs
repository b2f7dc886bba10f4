//! `berth status`: per workload ready/desired, image, restarts, and the URL
//! to reach the app (NodePort on a node's InternalIP, or the Ingress host).

use std::collections::BTreeMap;

use clap::{Args, ValueEnum};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Node, Pod, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt};
use serde::Serialize;

use super::cluster_args::ClusterArgs;
use super::{Outcome, ReleaseArgs};
use crate::apply::{ApplyError, Release, revision};
use crate::ui;
use crate::values::{self, ProcessEnv, ValueSources};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub release: ReleaseArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// The release named by the flags; the namespace defaults to the values' default.
pub fn release_of(args: &ReleaseArgs) -> anyhow::Result<Release> {
    let namespace = match &args.namespace {
        Some(ns) => ns.clone(),
        None => {
            let sources = ValueSources {
                stack: values::load::stack_file_here(),
                ..ValueSources::default()
            };
            values::load_unchecked_secrets(&sources, &ProcessEnv)?
                .namespace
                .name
        }
    };
    Ok(Release::new(&args.release, namespace))
}

#[derive(Debug, Serialize)]
struct Workload {
    component: String,
    kind: String,
    name: String,
    ready: i32,
    desired: i32,
    images: Vec<String>,
    restarts: i32,
}

#[derive(Debug, Serialize)]
struct ReleaseStatus {
    release: String,
    namespace: String,
    revision: Option<revision::Revision>,
    ready: bool,
    workloads: Vec<Workload>,
    urls: Vec<String>,
}

pub fn run(args: StatusArgs) -> anyhow::Result<Outcome> {
    let release = release_of(&args.release)?;
    let cluster = args.cluster.clone();
    cluster.run(|connection| async move {
        let status = collect(&connection.client, &release).await?;
        print(&status, args.format)?;
        Ok::<_, anyhow::Error>(if status.ready {
            Outcome::Success
        } else {
            Outcome::Failed
        })
    })
}

async fn collect(client: &Client, release: &Release) -> anyhow::Result<ReleaseStatus> {
    let ns = &release.namespace;
    let lp = ListParams::default().labels(&release.selector());
    let (deployments, stateful_sets, pods, services, ingresses) = (
        Api::<Deployment>::namespaced(client.clone(), ns),
        Api::<StatefulSet>::namespaced(client.clone(), ns),
        Api::<Pod>::namespaced(client.clone(), ns),
        Api::<Service>::namespaced(client.clone(), ns),
        Api::<Ingress>::namespaced(client.clone(), ns),
    );
    let (deployments, stateful_sets, pods, services, ingresses, revisions) = futures::join!(
        deployments.list(&lp),
        stateful_sets.list(&lp),
        pods.list(&lp),
        services.list(&lp),
        ingresses.list(&lp),
        revision::list(client, release),
    );
    let listed = |kind: &str, e| ApplyError::api("list", format!("{kind} in namespace {ns}"), e);
    let pods = pods.map_err(|e| listed("Pods", e))?.items;
    let mut workloads = Vec::new();
    for d in deployments.map_err(|e| listed("Deployments", e))?.items {
        let spec = d.spec.clone().unwrap_or_default();
        let status = d.status.clone().unwrap_or_default();
        workloads.push(workload(
            &d,
            "Deployment",
            spec.replicas.unwrap_or(1),
            status.ready_replicas.unwrap_or(0),
            &spec.selector,
            spec.template.spec.as_ref(),
            &pods,
        ));
    }
    for s in stateful_sets.map_err(|e| listed("StatefulSets", e))?.items {
        let spec = s.spec.clone().unwrap_or_default();
        let status = s.status.clone().unwrap_or_default();
        workloads.push(workload(
            &s,
            "StatefulSet",
            spec.replicas.unwrap_or(1),
            status.ready_replicas.unwrap_or(0),
            &spec.selector,
            spec.template.spec.as_ref(),
            &pods,
        ));
    }
    let services = services.map_err(|e| listed("Services", e))?.items;
    let ingresses = ingresses.map_err(|e| listed("Ingresses", e))?.items;
    let urls = urls(client, &services, &ingresses, &pods).await?;
    let ready = !workloads.is_empty() && workloads.iter().all(|w| w.ready == w.desired);
    Ok(ReleaseStatus {
        release: release.name.clone(),
        namespace: ns.clone(),
        revision: revisions?.into_iter().next_back(),
        ready,
        workloads,
        urls,
    })
}

fn workload<K: ResourceExt>(
    object: &K,
    kind: &str,
    desired: i32,
    ready: i32,
    selector: &k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector,
    template: Option<&k8s_openapi::api::core::v1::PodSpec>,
    pods: &[Pod],
) -> Workload {
    let wanted = selector.match_labels.clone().unwrap_or_default();
    let restarts = pods
        .iter()
        .filter(|p| wanted.iter().all(|(k, v)| p.labels().get(k) == Some(v)))
        .flat_map(|p| {
            p.status
                .iter()
                .flat_map(|s| s.container_statuses.iter().flatten())
        })
        .map(|c| c.restart_count)
        .sum();
    Workload {
        component: object
            .labels()
            .get("app.kubernetes.io/component")
            .cloned()
            .unwrap_or_default(),
        kind: kind.to_string(),
        name: object.name_any(),
        ready,
        desired,
        images: template
            .map(|t| {
                t.containers
                    .iter()
                    .filter_map(|c| c.image.clone())
                    .collect()
            })
            .unwrap_or_default(),
        restarts,
    }
}

/// NodePort Services on the first node's InternalIP, Ingress hosts as http URLs.
async fn urls(
    client: &Client,
    services: &[Service],
    ingresses: &[Ingress],
    pods: &[Pod],
) -> anyhow::Result<Vec<String>> {
    let mut urls = Vec::new();
    let node_ports: Vec<i32> = services
        .iter()
        .filter(|s| s.spec.as_ref().and_then(|s| s.type_.as_deref()) == Some("NodePort"))
        .flat_map(|s| s.spec.iter().flat_map(|s| s.ports.iter().flatten()))
        .filter_map(|p| p.node_port)
        .collect();
    if !node_ports.is_empty()
        && let Some(ip) = node_ip(client, pods).await?
    {
        urls.extend(node_ports.iter().map(|port| format!("http://{ip}:{port}")));
    }
    for ingress in ingresses {
        for rule in ingress.spec.iter().flat_map(|s| s.rules.iter().flatten()) {
            if let Some(host) = &rule.host {
                urls.push(format!("http://{host}/"));
            }
        }
    }
    Ok(urls)
}

/// The first node's InternalIP; a user who may not list Nodes (they are
/// cluster-scoped) gets the node address the release's own Pods report.
async fn node_ip(client: &Client, pods: &[Pod]) -> anyhow::Result<Option<String>> {
    match Api::<Node>::all(client.clone())
        .list(&ListParams::default())
        .await
    {
        Ok(nodes) => Ok(nodes
            .items
            .iter()
            .flat_map(|n| n.status.iter().flat_map(|s| s.addresses.iter().flatten()))
            .find(|a| a.type_ == "InternalIP")
            .map(|a| a.address.clone())),
        Err(kube::Error::Api(status)) if status.code == 403 => Ok(pods
            .iter()
            .find_map(|p| p.status.as_ref().and_then(|s| s.host_ip.clone()))),
        Err(e) => Err(ApplyError::api("list", "Nodes", e).into()),
    }
}

fn print(status: &ReleaseStatus, format: Format) -> anyhow::Result<()> {
    if format == Format::Json {
        ui::write_stdout(&format!("{}\n", serde_json::to_string_pretty(status)?))?;
        return Ok(());
    }
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
    let mut rows: BTreeMap<String, &Workload> = BTreeMap::new();
    for w in &status.workloads {
        rows.insert(format!("{}/{}", w.kind, w.name), w);
    }
    for (name, w) in rows {
        out.push_str(&format!(
            "{:<10} {:<34} {:<7} {:<9} {}\n",
            w.component,
            name,
            format!("{}/{}", w.ready, w.desired),
            w.restarts,
            w.images.join(",")
        ));
    }
    for url in &status.urls {
        out.push_str(&format!("URL: {url}\n"));
    }
    ui::write_stdout(&out)?;
    Ok(())
}
