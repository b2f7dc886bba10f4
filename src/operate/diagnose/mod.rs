//! `diagnose`: why a release (or one component) is not healthy. Reads its
//! workloads, pods, claims, Services, EndpointSlices and Events once, asks the
//! readiness analysis the deploy's wait uses for each workload's cause, adds
//! what only a look around shows (failing probes, unbound claims, pending
//! tasks, Services without endpoints) and ranks it all.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{
    ContainerStatus, Event as KubeEvent, PersistentVolumeClaim, Pod, Service,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt};
use serde::Serialize;

use super::{OperateError, component_of, components, list, selector};
use crate::apply::readiness::{
    Cause, Rollout, StartedSince, deployment_rollout, event_second, failed_create_message,
    stateful_set_rollout, unbound_claim, workload_failure,
};
use crate::apply::{Release, wait::previous_log_tail};

mod objects;
use objects::*;

mod report;
pub use report::*;

/// How many log lines of a crashed container's previous instance to show.
const LOG_LINES: i64 = 10;
/// How many deduplicated Events to keep (the newest).
const EVENT_LIMIT: usize = 20;
/// A FailedCreate Event older than this no longer describes the present.
const FAILED_CREATE_SECONDS: i64 = 300;

/// What was read from the cluster, in one place.
struct Snapshot {
    deployments: Vec<Deployment>,
    stateful_sets: Vec<StatefulSet>,
    pods: Vec<Pod>,
    claims: Vec<PersistentVolumeClaim>,
    services: Vec<Service>,
    slices: Vec<EndpointSlice>,
    events: Vec<KubeEvent>,
    /// StorageClass name → binds only for a consumer (none when not readable).
    wait_for_consumer: BTreeMap<String, bool>,
    /// None when not readable (cluster-scoped).
    classes: Option<Vec<StorageClass>>,
}

/// Diagnoses the release, or one of its components.
pub async fn run(
    client: &Client,
    release: &Release,
    component: Option<&str>,
) -> Result<Diagnosis, OperateError> {
    let snapshot = read(client, release, component).await?;
    if let Some(component) = component
        && snapshot.deployments.is_empty()
        && snapshot.stateful_sets.is_empty()
        && snapshot.pods.is_empty()
    {
        return Err(OperateError::UnknownComponent {
            release: release.name.clone(),
            namespace: release.namespace.clone(),
            component: component.to_string(),
            known: components(client, release).await?,
        });
    }
    let mut logs = BTreeMap::new();
    for pod in &snapshot.pods {
        for (cs, _) in statuses(pod).filter(|(cs, _)| crashing(cs)) {
            let (pod, container) = (pod.name_any(), cs.name.clone());
            let tail =
                previous_log_tail(client, &release.namespace, &pod, &container, LOG_LINES).await;
            logs.insert((pod, container), tail);
        }
    }
    Ok(analyse(
        release,
        component,
        &snapshot,
        &logs,
        Timestamp::now(),
    ))
}

async fn read(
    client: &Client,
    release: &Release,
    component: Option<&str>,
) -> Result<Snapshot, OperateError> {
    let ns = &release.namespace;
    let lp = ListParams::default().labels(&selector(release, component));
    let slices_lp = ListParams::default().labels("kubernetes.io/service-name");
    let all = ListParams::default();
    let (deployments, stateful_sets, pods, claims, services, slices, events) = futures::try_join!(
        list::<Deployment>(client, ns, &lp),
        list::<StatefulSet>(client, ns, &lp),
        list::<Pod>(client, ns, &lp),
        list::<PersistentVolumeClaim>(client, ns, &lp),
        list::<Service>(client, ns, &lp),
        list::<EndpointSlice>(client, ns, &slices_lp),
        list::<KubeEvent>(client, ns, &all),
    )?;
    // Cluster-scoped: a namespace-bound user may not read them; claims are
    // then judged without knowing their binding mode.
    let classes = Api::<StorageClass>::all(client.clone())
        .list(&all)
        .await
        .ok()
        .map(|list| list.items);
    let wait_for_consumer = classes
        .as_ref()
        .map(|list| {
            list.iter()
                .map(|c| {
                    let mode = c.volume_binding_mode.as_deref();
                    (c.name_any(), mode == Some("WaitForFirstConsumer"))
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Snapshot {
        deployments,
        stateful_sets,
        pods,
        claims,
        services,
        slices,
        events,
        wait_for_consumer,
        classes,
    })
}

/// Each container status of a pod, tasks first, with whether it is a task.
fn statuses(pod: &Pod) -> impl Iterator<Item = (&ContainerStatus, bool)> {
    let status = pod.status.as_ref();
    let tasks = status
        .into_iter()
        .flat_map(|s| s.init_container_statuses.iter().flatten());
    let containers = status
        .into_iter()
        .flat_map(|s| s.container_statuses.iter().flatten());
    tasks
        .map(|cs| (cs, true))
        .chain(containers.map(|cs| (cs, false)))
}

/// A container whose previous instance ended badly and that is not serving now.
fn crashing(cs: &ContainerStatus) -> bool {
    let last_failed = cs
        .last_state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
        .is_some_and(|t| t.exit_code != 0);
    cs.restart_count > 0 && last_failed && !cs.ready
}

/// The diagnosis of what was read: pure, so it is tested without a cluster.
fn analyse(
    release: &Release,
    component: Option<&str>,
    snapshot: &Snapshot,
    logs: &BTreeMap<(String, String), Vec<String>>,
    now: Timestamp,
) -> Diagnosis {
    let started = StartedSince::at_container_start(&snapshot.pods);
    let since = now.as_second() - FAILED_CREATE_SECONDS;
    let mut findings = Vec::new();
    let mut workloads = Vec::new();
    let mut rollouts: Vec<(
        &str,
        String,
        Rollout,
        &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    )> = Vec::new();
    for d in &snapshot.deployments {
        rollouts.push((
            "Deployment",
            d.name_any(),
            deployment_rollout(d),
            &d.metadata,
        ));
    }
    for s in &snapshot.stateful_sets {
        rollouts.push((
            "StatefulSet",
            s.name_any(),
            stateful_set_rollout(s),
            &s.metadata,
        ));
    }
    for (kind, name, rollout, meta) in &rollouts {
        let failed_create = failed_create_message(&snapshot.events, kind, name, since);
        // Asked why, a claim its pod waits for is the reason now, however young.
        let failure =
            workload_failure(rollout, failed_create, &snapshot.pods, &started).or_else(|| {
                unbound_claim(
                    rollout,
                    &snapshot.pods,
                    &snapshot.claims,
                    snapshot.classes.as_deref(),
                    now.as_second(),
                    0,
                )
            });
        if let Some(cause) = failure {
            findings.push(Finding::NotReady {
                object: format!("{kind} {}/{name}", release.namespace),
                cause: with_previous_logs(cause, logs),
            });
        }
        workloads.push(WorkloadState {
            component: component_of(meta),
            kind: kind.to_string(),
            name: name.clone(),
            rolled_out: rollout.done,
            summary: rollout.summary(),
        });
    }
    let failing_pods: BTreeSet<String> = findings
        .iter()
        .filter_map(|f| match f {
            Finding::NotReady { cause, .. } => cause_pod(cause),
            _ => None,
        })
        .collect();
    let pods: Vec<PodState> = snapshot.pods.iter().map(|p| pod_state(p, logs)).collect();
    findings.extend(pending_tasks(&pods, &failing_pods));
    findings.extend(probe_failures(snapshot, &failing_pods));
    let unbound_claims = unbound_claims(snapshot);
    let explained: BTreeSet<String> = findings
        .iter()
        .filter_map(|f| match f {
            Finding::NotReady {
                cause: Cause::ClaimPending { claim, .. },
                ..
            } => Some(claim.clone()),
            _ => None,
        })
        .collect();
    for claim in unbound_claims
        .iter()
        .filter(|c| !explained.contains(&c.name))
    {
        let consumer_scheduled = claim_users(snapshot, &claim.name)
            .any(|p| p.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_some());
        // A claim that waits for its consumer is fine until that pod is placed.
        if !claim.waits_for_consumer || consumer_scheduled {
            findings.push(Finding::UnboundClaim {
                claim: claim.name.clone(),
                phase: claim.phase.clone(),
            });
        }
    }
    let services = service_states(snapshot);
    findings.extend(services.iter().filter(|s| s.ready_endpoints == 0).map(|s| {
        Finding::NoEndpoints {
            service: s.name.clone(),
        }
    }));
    findings.sort_by_key(Finding::weight);
    let causes: Vec<RootCause> = findings
        .into_iter()
        .enumerate()
        .map(|(i, finding)| RootCause {
            rank: i + 1,
            message: finding.to_string(),
            finding,
            hint: None,
        })
        .collect();
    Diagnosis {
        release: release.name.clone(),
        namespace: release.namespace.clone(),
        component: component.map(String::from),
        healthy: !workloads.is_empty()
            && workloads.iter().all(|w| w.rolled_out)
            && causes.is_empty(),
        workloads,
        pods,
        unbound_claims,
        services,
        events: recent_events(snapshot),
        causes,
    }
}

fn with_previous_logs(cause: Cause, logs: &BTreeMap<(String, String), Vec<String>>) -> Cause {
    match cause {
        Cause::CrashLoop {
            pod,
            container,
            exit,
            ..
        } => Cause::CrashLoop {
            logs: logs
                .get(&(pod.clone(), container.clone()))
                .cloned()
                .unwrap_or_default(),
            pod,
            container,
            exit,
        },
        other => other,
    }
}

fn cause_pod(cause: &Cause) -> Option<String> {
    match cause {
        Cause::ImagePull { pod, .. }
        | Cause::OutOfMemory { pod, .. }
        | Cause::CrashLoop { pod, .. }
        | Cause::ContainerConfig { pod, .. }
        | Cause::NeverReady { pod, .. }
        | Cause::Unschedulable { pod, .. }
        | Cause::ClaimPending { pod, .. } => Some(pod.clone()),
        Cause::CannotCreate { .. } => None,
    }
}

fn pod_state(pod: &Pod, logs: &BTreeMap<(String, String), Vec<String>>) -> PodState {
    let status = pod.status.clone().unwrap_or_default();
    let containers = statuses(pod)
        .map(|(cs, task)| {
            let state = cs.state.clone().unwrap_or_default();
            let (name, reason, message) = if let Some(w) = &state.waiting {
                ("waiting", w.reason.clone(), w.message.clone())
            } else if let Some(t) = &state.terminated {
                ("terminated", t.reason.clone(), t.message.clone())
            } else if state.running.is_some() {
                ("running", None, None)
            } else {
                ("unknown", None, None)
            };
            ContainerState {
                name: cs.name.clone(),
                task,
                ready: cs.ready,
                restarts: cs.restart_count,
                state: name.into(),
                reason,
                message,
                last_termination: cs
                    .last_state
                    .as_ref()
                    .and_then(|s| s.terminated.as_ref())
                    .map(|t| Termination {
                        exit_code: t.exit_code,
                        reason: t.reason.clone(),
                    }),
                previous_logs: logs
                    .get(&(pod.name_any(), cs.name.clone()))
                    .cloned()
                    .unwrap_or_default(),
            }
        })
        .collect();
    PodState {
        name: pod.name_any(),
        component: component_of(&pod.metadata),
        phase: status.phase.clone().unwrap_or_else(|| "Unknown".into()),
        node: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
        conditions: status
            .conditions
            .iter()
            .flatten()
            .filter(|c| c.status != "True")
            .map(|c| PodCondition {
                type_: c.type_.clone(),
                status: c.status.clone(),
                reason: c.reason.clone(),
                message: c.message.clone(),
            })
            .collect(),
        containers,
    }
}

/// Tasks not finished in pods that show no other cause.
fn pending_tasks(pods: &[PodState], failing: &BTreeSet<String>) -> Vec<Finding> {
    pods.iter()
        .filter(|p| !failing.contains(&p.name))
        .flat_map(|p| {
            p.containers
                .iter()
                .filter(|c| {
                    c.task && !(c.state == "terminated" && c.reason.as_deref() == Some("Completed"))
                })
                .map(|c| Finding::TaskPending {
                    pod: p.name.clone(),
                    task: c.name.clone(),
                    state: match &c.reason {
                        Some(reason) => format!("{} ({reason})", c.state),
                        None => c.state.clone(),
                    },
                })
        })
        .collect()
}

/// `Unhealthy` Events of existing, unready pods that show no other cause.
fn probe_failures(snapshot: &Snapshot, failing: &BTreeSet<String>) -> Vec<Finding> {
    let unready: BTreeSet<String> = snapshot
        .pods
        .iter()
        .filter(|p| statuses(p).any(|(cs, task)| !task && !cs.ready))
        .map(|p| p.name_any())
        .filter(|name| !failing.contains(name))
        .collect();
    let mut by_pod: BTreeMap<String, (Option<i64>, String, i32)> = BTreeMap::new();
    for e in snapshot.events.iter().filter(|e| {
        e.reason.as_deref() == Some("Unhealthy") && e.involved_object.kind.as_deref() == Some("Pod")
    }) {
        let Some(pod) = e
            .involved_object
            .name
            .clone()
            .filter(|p| unready.contains(p))
        else {
            continue;
        };
        let entry = by_pod.entry(pod).or_insert((None, String::new(), 0));
        entry.2 += e.count.unwrap_or(1);
        if event_second(e) >= entry.0 {
            entry.0 = event_second(e);
            entry.1 = e.message.clone().unwrap_or_default();
        }
    }
    by_pod
        .into_iter()
        .map(|(pod, (_, message, count))| Finding::ProbeFailing {
            pod,
            message,
            count,
        })
        .collect()
}

/// A diagnosis of a made-up release for tests of its presentation: a
/// pending migration, an unbound claim, a failing probe, an image pull failure.
#[cfg(test)]
pub(crate) fn example() -> Diagnosis {
    let now = Timestamp::from_second(1_796_000_000).unwrap();
    let at = now.to_string();
    let pod = |name: &str, component: &str, status: serde_json::Value| -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "labels": {
                "app.kubernetes.io/instance": "shop", "app.kubernetes.io/component": component}},
            "spec": {"nodeName": "node-1", "containers": [{"name": component, "image": format!("{component}:2")}],
                "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data-db-0"}}]},
            "status": status
        }))
        .unwrap()
    };
    let deployment = serde_json::from_value::<Deployment>(serde_json::json!({
        "metadata": {"name": "shop-web", "generation": 1, "labels": {"app.kubernetes.io/component": "web"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app.kubernetes.io/component": "web"}},
            "template": {"spec": {"containers": [{"name": "web", "image": "web:2"}]}}},
        "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1}
    }))
    .unwrap();
    let snapshot = Snapshot {
        deployments: vec![deployment],
        stateful_sets: vec![],
        pods: vec![
            pod("shop-web-1", "web", serde_json::json!({"phase": "Pending",
                "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady"}],
                "containerStatuses": [{"name": "web", "image": "web:2", "imageID": "", "ready": false,
                    "restartCount": 0, "state": {"waiting": {"reason": "ImagePullBackOff",
                    "message": "Back-off pulling image \"web:2\""}}}]})),
            pod("shop-api-1", "api", serde_json::json!({"phase": "Pending",
                "initContainerStatuses": [{"name": "migrate", "image": "api:2", "imageID": "",
                    "ready": false, "restartCount": 0, "state": {"running": {"startedAt": at}}}],
                "containerStatuses": [{"name": "api", "image": "api:2", "imageID": "", "ready": false,
                    "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}}]})),
            pod("shop-worker-1", "worker", serde_json::json!({"phase": "Running",
                "containerStatuses": [{"name": "worker", "image": "worker:2", "imageID": "",
                    "ready": false, "restartCount": 0, "started": true,
                    "state": {"running": {"startedAt": at}}}]})),
        ],
        claims: vec![serde_json::from_value(serde_json::json!({
            "metadata": {"name": "data-db-0"},
            "spec": {"storageClassName": "fast"},
            "status": {"phase": "Pending"}
        }))
        .unwrap()],
        services: vec![serde_json::from_value(serde_json::json!({
            "metadata": {"name": "shop-web"},
            "spec": {"selector": {"app.kubernetes.io/component": "web"}}
        }))
        .unwrap()],
        slices: vec![],
        events: vec![
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": "e1"}, "involvedObject": {"kind": "Pod", "name": "shop-worker-1"},
                "type": "Warning", "reason": "Unhealthy", "count": 3, "lastTimestamp": at,
                "message": "Readiness probe failed: HTTP probe failed with statuscode: 503"
            }))
            .unwrap(),
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": "e2"}, "involvedObject": {"kind": "Pod", "name": "shop-worker-1"},
                "type": "Warning", "reason": "Unhealthy", "count": 2, "lastTimestamp": at,
                "message": "Readiness probe failed: HTTP probe failed with statuscode: 503"
            }))
            .unwrap(),
        ],
        wait_for_consumer: BTreeMap::from([("fast".to_string(), false)]),
        classes: None,
    };
    analyse(
        &Release::new("shop", "shop"),
        None,
        &snapshot,
        &BTreeMap::new(),
        now,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_are_ranked_from_what_blocks_pods_to_what_follows() {
        let d = example();
        assert!(!d.healthy);
        let kinds: Vec<&str> = d
            .causes
            .iter()
            .map(|c| match &c.finding {
                Finding::NotReady { .. } => "notReady",
                Finding::UnboundClaim { .. } => "unboundClaim",
                Finding::ProbeFailing { .. } => "probeFailing",
                Finding::TaskPending { .. } => "taskPending",
                Finding::NoEndpoints { .. } => "noEndpoints",
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "unboundClaim",
                "notReady",
                "probeFailing",
                "taskPending",
                "noEndpoints"
            ]
        );
        assert_eq!(
            d.causes.iter().map(|c| c.rank).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5]
        );
        // Duplicate probe Events are one finding with their counts summed.
        assert!(
            d.causes[2].message.contains("(5×)"),
            "{}",
            d.causes[2].message
        );
        assert_eq!(d.events.len(), 1);
        assert_eq!(d.events[0].count, 5);
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["causes"][1]["cause"]["kind"], "ImagePull");
        assert_eq!(json["causes"][1]["finding"], "notReady");
    }
}
