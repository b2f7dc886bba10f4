//! Root causes of a release's workloads as they stand now, from the same
//! readiness evaluation the deploy's wait uses (`apply::readiness`).
//!
//! TODO(lead, at merge): `diagnose` should return `crate::operate::diagnose::run`
//! (pods, events, logs, PVCs, endpoints, ranked causes); until then it returns
//! these causes. `status` keeps using them.

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt};

use super::outputs::RootCause;
use crate::apply::readiness::{
    Cause, Rollout, StartedSince, belongs_to, cannot_create, deployment_rollout, pod_failure,
    stateful_set_rollout,
};
use crate::apply::{ApplyError, Release};

/// One cause per workload that shows one, workloads in kind/name order;
/// `component` keeps only that component's workloads. `hint` words the fix.
pub async fn root_causes(
    client: &Client,
    release: &Release,
    component: Option<&str>,
    hint: impl Fn(&Cause) -> String,
) -> Result<Vec<RootCause>, ApplyError> {
    let ns = &release.namespace;
    let lp = ListParams::default().labels(&release.selector());
    let listed = |kind: &str, e| ApplyError::api("list", format!("{kind} in namespace {ns}"), e);
    let (deployments, stateful_sets, pods) = (
        Api::<Deployment>::namespaced(client.clone(), ns),
        Api::<StatefulSet>::namespaced(client.clone(), ns),
        Api::<Pod>::namespaced(client.clone(), ns),
    );
    let (deployments, stateful_sets, pods) = futures::join!(
        deployments.list(&lp),
        stateful_sets.list(&lp),
        pods.list(&lp)
    );
    let pods = pods.map_err(|e| listed("Pods", e))?.items;
    let mut workloads: Vec<(String, Option<String>, Rollout)> = Vec::new();
    for d in deployments.map_err(|e| listed("Deployments", e))?.items {
        workloads.push((
            format!("Deployment {ns}/{}", d.name_any()),
            d.labels().get(COMPONENT_LABEL).cloned(),
            deployment_rollout(&d),
        ));
    }
    for s in stateful_sets.map_err(|e| listed("StatefulSets", e))?.items {
        workloads.push((
            format!("StatefulSet {ns}/{}", s.name_any()),
            s.labels().get(COMPONENT_LABEL).cloned(),
            stateful_set_rollout(&s),
        ));
    }
    workloads.sort_by(|a, b| a.0.cmp(&b.0));
    // A first look: time-based causes (a probe never passing) need a watch
    // over time, which is the wait's (and diagnose's) job.
    let started = StartedSince::default();
    Ok(workloads
        .into_iter()
        .filter(|(_, c, _)| component.is_none() || c.as_deref() == component)
        .filter_map(|(object, _, rollout)| {
            let cause = workload_cause(&rollout, &pods, &started)?;
            Some(RootCause {
                object,
                hint: hint(&cause),
                cause: cause.to_string(),
            })
        })
        .collect())
}

const COMPONENT_LABEL: &str = "app.kubernetes.io/component";

fn workload_cause(rollout: &Rollout, pods: &[Pod], started: &StartedSince) -> Option<Cause> {
    if rollout.done {
        return None;
    }
    if let Some(message) = &rollout.cannot_create {
        return Some(cannot_create(message));
    }
    let template = rollout.template.as_ref()?;
    pods.iter()
        .filter(|p| belongs_to(p, &rollout.selector, template))
        .find_map(|p| pod_failure(p, started))
}
