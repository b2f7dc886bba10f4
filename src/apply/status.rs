//! A release's state as it is now: its workloads with the same readiness
//! evaluation the wait uses, restarts, images, its newest revision and the
//! URLs its Services and Ingresses expose. Ready means what a deploy's wait
//! waits for: every workload rolled out and every Service routing to its
//! ready pods.

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Node, Pod, PodSpec, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt};
use serde::Serialize;

use super::readiness::{
    Rollout, deployment_rollout, selected, service_routing, stateful_set_rollout,
};
use super::{ApplyError, Release, revision};

/// The label that names the part of the release a workload is.
const COMPONENT_LABEL: &str = "app.kubernetes.io/component";

/// One Deployment or StatefulSet of the release.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Workload {
    /// Its `app.kubernetes.io/component` label.
    pub component: String,
    pub kind: String,
    pub name: String,
    pub ready: i32,
    pub desired: i32,
    /// Its rollout is done: what a deploy's wait waits for.
    pub rolled_out: bool,
    pub images: Vec<String>,
    pub restarts: i32,
}

/// What `status` reports.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ReleaseStatus {
    pub release: String,
    pub namespace: String,
    pub revision: Option<revision::Revision>,
    /// Every workload rolled out (and there is at least one), and no Service
    /// lags behind its ready pods.
    pub ready: bool,
    pub workloads: Vec<Workload>,
    /// Services whose endpoints do not list every ready pod they select yet,
    /// as `Service/NAME: routes to 1 of 2 ready pods`.
    pub unrouted: Vec<String>,
    pub urls: Vec<String>,
}

/// Reads the release's workloads, pods, Services, Ingresses and revisions.
pub async fn status(client: &Client, release: &Release) -> Result<ReleaseStatus, ApplyError> {
    let ns = &release.namespace;
    let lp = ListParams::default().labels(&release.selector());
    let (deployments, stateful_sets, pods, services, slices, ingresses) = (
        Api::<Deployment>::namespaced(client.clone(), ns),
        Api::<StatefulSet>::namespaced(client.clone(), ns),
        Api::<Pod>::namespaced(client.clone(), ns),
        Api::<Service>::namespaced(client.clone(), ns),
        Api::<EndpointSlice>::namespaced(client.clone(), ns),
        Api::<Ingress>::namespaced(client.clone(), ns),
    );
    let (deployments, stateful_sets, pods, services, slices, ingresses, revisions) = futures::join!(
        deployments.list(&lp),
        stateful_sets.list(&lp),
        pods.list(&lp),
        services.list(&lp),
        slices.list(&lp),
        ingresses.list(&lp),
        revision::list(client, release),
    );
    let listed = |kind: &str, e| ApplyError::api("list", format!("{kind} in namespace {ns}"), e);
    let pods = pods.map_err(|e| listed("Pods", e))?.items;
    let mut workloads = Vec::new();
    for d in deployments.map_err(|e| listed("Deployments", e))?.items {
        workloads.push(workload(&d, "Deployment", deployment_rollout(&d), &pods));
    }
    for s in stateful_sets.map_err(|e| listed("StatefulSets", e))?.items {
        workloads.push(workload(&s, "StatefulSet", stateful_set_rollout(&s), &pods));
    }
    let services = services.map_err(|e| listed("Services", e))?.items;
    let slices = slices.map_err(|e| listed("EndpointSlices", e))?.items;
    let ingresses = ingresses.map_err(|e| listed("Ingresses", e))?.items;
    let unrouted: Vec<String> = services
        .iter()
        .filter_map(|s| Some((s, service_routing(s, &pods, &slices)?)))
        .filter(|(_, routing)| !routing.done())
        .map(|(s, routing)| format!("Service/{}: {}", s.name_any(), routing.summary()))
        .collect();
    let urls = urls(client, &services, &ingresses, &pods).await?;
    let ready =
        !workloads.is_empty() && workloads.iter().all(|w| w.rolled_out) && unrouted.is_empty();
    Ok(ReleaseStatus {
        release: release.name.clone(),
        namespace: ns.clone(),
        revision: revisions?.into_iter().next_back(),
        ready,
        workloads,
        unrouted,
        urls,
    })
}

fn workload<K: ResourceExt>(object: &K, kind: &str, rollout: Rollout, pods: &[Pod]) -> Workload {
    let restarts = pods
        .iter()
        .filter(|p| selected(p, &rollout.selector))
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
            .get(COMPONENT_LABEL)
            .cloned()
            .unwrap_or_default(),
        kind: kind.to_string(),
        name: object.name_any(),
        ready: rollout.ready,
        desired: rollout.desired,
        rolled_out: rollout.done,
        images: rollout.template.as_ref().map(images_of).unwrap_or_default(),
        restarts,
    }
}

fn images_of(template: &PodSpec) -> Vec<String> {
    template
        .containers
        .iter()
        .filter_map(|c| c.image.clone())
        .collect()
}

/// NodePort Services on the first node's InternalIP, Ingress hosts as http URLs.
async fn urls(
    client: &Client,
    services: &[Service],
    ingresses: &[Ingress],
    pods: &[Pod],
) -> Result<Vec<String>, ApplyError> {
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
async fn node_ip(client: &Client, pods: &[Pod]) -> Result<Option<String>, ApplyError> {
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
        Err(e) => Err(ApplyError::api("list", "Nodes", e)),
    }
}
