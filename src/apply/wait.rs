//! Readiness: watches the release's Deployments, StatefulSets and Pods (and
//! FailedCreate Events) until every workload finished its rollout, and fails
//! fast with the cause: what its Pods show (a Deployment reports an image pull
//! failure only in its Pods) or, when no Pod can be created at all (quota,
//! admission), the Deployment's ReplicaFailure condition or the StatefulSet's
//! FailedCreate Event.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, stream::BoxStream};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Container, Event, Pod, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, LogParams};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};

use super::{ApplyError, ObjectKey, Release};

/// How a wait ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    /// A workload cannot become ready; `reason` says why, `hint` what to do.
    Failed {
        object: String,
        reason: String,
        hint: Option<String>,
    },
    /// The timeout passed; the workloads still not ready, with their state.
    TimedOut {
        waiting: Vec<String>,
    },
}

/// Why a workload cannot become ready.
enum Cause {
    /// One of its pods shows why.
    Pod(PodFailure),
    /// Its controller cannot create pods at all (quota, admission); there is
    /// no pod to look at, only the workload's condition or an Event.
    NoPods { reason: String, hint: String },
}

/// A failure seen on a pod.
struct PodFailure {
    pod: String,
    container: Option<String>,
    reason: String,
    hint: Option<String>,
}

/// Waits for the rollout of the workloads among `objects`, reporting each
/// change of state through `progress`.
pub async fn wait_ready(
    client: &Client,
    release: &Release,
    objects: &[ObjectKey],
    timeout: Duration,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<Readiness, ApplyError> {
    let workloads: Vec<&ObjectKey> = objects
        .iter()
        .filter(|k| matches!(k.kind.as_str(), "Deployment" | "StatefulSet"))
        .collect();
    if workloads.is_empty() {
        return Ok(Readiness::Ready);
    }
    let config = watcher::Config::default().labels(&release.selector());
    let (deployments, deployments_stream) = watch::<Deployment>(client, release, &config);
    let (stateful_sets, stateful_sets_stream) = watch::<StatefulSet>(client, release, &config);
    let (pods, pods_stream) = watch::<Pod>(client, release, &config);
    // Events carry no release labels; only pod-creation failures matter here.
    let (failed_creates, events_stream) = watch::<Event>(
        client,
        release,
        &watcher::Config::default().fields("reason=FailedCreate"),
    );
    // Events older than this belong to an earlier deploy (the apply that
    // created this rollout happened just before the wait).
    let since = Timestamp::now().as_second() - RECENT_EVENT_SECONDS;
    // A tick re-checks time-based causes (readiness never reached) between events.
    let tick = futures::stream::unfold(
        tokio::time::interval(Duration::from_secs(1)),
        |mut i| async {
            i.tick().await;
            Some(((), i))
        },
    )
    .boxed();
    let mut events = futures::stream::select_all([
        deployments_stream,
        stateful_sets_stream,
        pods_stream,
        events_stream,
        tick,
    ]);
    let deadline = tokio::time::Instant::now() + timeout;
    let stores = Stores {
        deployments: &deployments,
        stateful_sets: &stateful_sets,
        pods: &pods,
        failed_creates: &failed_creates,
        since,
    };
    let mut last: BTreeMap<String, String> = BTreeMap::new();
    loop {
        let state: Vec<WorkloadState> = workloads
            .iter()
            .map(|key| workload_state(key, &stores))
            .collect();
        for s in &state {
            if last.get(&s.object) != Some(&s.summary) {
                progress(&format!("{}: {}", s.object, s.summary));
                last.insert(s.object.clone(), s.summary.clone());
            }
        }
        if let Some((object, cause)) = state
            .iter()
            .find_map(|s| s.failure.as_ref().map(|f| (&s.object, f)))
        {
            return Ok(match cause {
                Cause::Pod(failure) => {
                    let logs = last_logs(client, release, failure).await;
                    Readiness::Failed {
                        object: object.clone(),
                        reason: format!("pod {}: {}{logs}", failure.pod, failure.reason),
                        hint: failure.hint.clone(),
                    }
                }
                Cause::NoPods { reason, hint } => Readiness::Failed {
                    object: object.clone(),
                    reason: reason.clone(),
                    hint: Some(hint.clone()),
                },
            });
        }
        if state.iter().all(|s| s.ready) {
            return Ok(Readiness::Ready);
        }
        match tokio::time::timeout_at(deadline, events.next()).await {
            Ok(Some(())) => {}
            Ok(None) | Err(_) => {
                return Ok(Readiness::TimedOut {
                    waiting: state
                        .iter()
                        .filter(|s| !s.ready)
                        .map(|s| format!("{}: {}", s.object, s.summary))
                        .collect(),
                });
            }
        }
    }
}

/// A reflector store for one kind and the stream that feeds it.
fn watch<K>(
    client: &Client,
    release: &Release,
    config: &watcher::Config,
) -> (Store<K>, BoxStream<'static, ()>)
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    let (store, writer) = reflector::store();
    let api: Api<K> = Api::namespaced(client.clone(), &release.namespace);
    let stream = reflector::reflector(writer, watcher(api, config.clone()).default_backoff())
        // Errors are retried by the backoff; every event just triggers a re-check.
        .map(|_| ())
        .boxed();
    (store, stream)
}

struct WorkloadState {
    object: String,
    ready: bool,
    summary: String,
    failure: Option<Cause>,
}

/// What the wait watches, as local caches.
struct Stores<'a> {
    deployments: &'a Store<Deployment>,
    stateful_sets: &'a Store<StatefulSet>,
    pods: &'a Store<Pod>,
    failed_creates: &'a Store<Event>,
    /// Unix second from which a FailedCreate event counts.
    since: i64,
}

/// How far back a FailedCreate event still counts as this deploy's: the
/// apply just before the wait takes about a second, and a persisting failure
/// refreshes its event on every retry.
const RECENT_EVENT_SECONDS: i64 = 10;

fn workload_state(key: &ObjectKey, stores: &Stores) -> WorkloadState {
    let rollout = match key.kind.as_str() {
        "Deployment" => find_named(stores.deployments, &key.name).map(|d| deployment_rollout(&d)),
        _ => find_named(stores.stateful_sets, &key.name).map(|s| stateful_set_rollout(&s)),
    }
    .unwrap_or_else(Rollout::not_found);
    let blocked = rollout
        .cannot_create
        .clone()
        .or_else(|| failed_create_event(stores, key));
    let failure = match (&rollout.template, rollout.done, blocked) {
        // Not in the cache yet, or done: nothing to report.
        (None, _, _) | (_, true, _) => None,
        (Some(_), false, Some(message)) => Some(Cause::NoPods {
            hint: cannot_create_hint(&message, key.namespace.as_deref().unwrap_or_default()),
            reason: format!("pods cannot be created: {message}"),
        }),
        (Some(template), false, None) => stores
            .pods
            .state()
            .iter()
            .filter(|p| belongs_to(p, &rollout.selector, template))
            .find_map(|p| pod_failure(p))
            .map(Cause::Pod),
    };

    WorkloadState {
        object: key.to_string(),
        ready: rollout.done,
        summary: rollout.summary,
        failure,
    }
}

fn find_named<K: kube::Resource<DynamicType = ()> + Clone>(
    store: &Store<K>,
    name: &str,
) -> Option<Arc<K>> {
    store.state().into_iter().find(|o| o.name_any() == name)
}

/// What waiting needs from a Deployment or StatefulSet: whether its rollout
/// is done, a summary, and how to find the pods of its current template.
struct Rollout {
    done: bool,
    summary: String,
    selector: LabelSelector,
    template: Option<PodSpec>,
    /// Why its controller cannot create pods, when the workload says so.
    cannot_create: Option<String>,
}

impl Rollout {
    fn not_found() -> Self {
        Rollout {
            done: false,
            summary: "not found yet".to_string(),
            selector: LabelSelector::default(),
            template: None,
            cannot_create: None,
        }
    }
}

fn deployment_rollout(d: &Deployment) -> Rollout {
    let spec = d.spec.clone().unwrap_or_default();
    let want = spec.replicas.unwrap_or(1);
    let status = d.status.clone().unwrap_or_default();
    let observed = status.observed_generation.unwrap_or(0) >= d.metadata.generation.unwrap_or(0);
    let ready = status.ready_replicas.unwrap_or(0);
    let updated = status.updated_replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    Rollout {
        done: observed
            && updated == want
            && ready == want
            && available == want
            && status.replicas.unwrap_or(0) == want,
        summary: format!("{ready}/{want} ready, {updated} updated"),
        selector: spec.selector,
        template: spec.template.spec,
        // The deployment controller mirrors its ReplicaSet's FailedCreate here.
        cannot_create: status
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == "ReplicaFailure" && c.status == "True")
            .map(|c| {
                c.message
                    .clone()
                    .unwrap_or_else(|| c.reason.clone().unwrap_or_default())
            }),
    }
}

fn stateful_set_rollout(s: &StatefulSet) -> Rollout {
    let spec = s.spec.clone().unwrap_or_default();
    let want = spec.replicas.unwrap_or(1);
    let status = s.status.clone().unwrap_or_default();
    let observed = status.observed_generation.unwrap_or(0) >= s.metadata.generation.unwrap_or(0);
    let ready = status.ready_replicas.unwrap_or(0);
    let updated = status.updated_replicas.unwrap_or(0);
    let rolled =
        status.current_revision.is_some() && status.current_revision == status.update_revision;
    Rollout {
        done: observed && ready == want && updated == want && rolled,
        summary: format!("{ready}/{want} ready, {updated} updated"),
        selector: spec.selector,
        template: spec.template.spec,
        // A StatefulSet reports failed pod creations only as Events.
        cannot_create: None,
    }
}

/// The message of a recent FailedCreate Event about this workload.
fn failed_create_event(stores: &Stores, key: &ObjectKey) -> Option<String> {
    stores
        .failed_creates
        .state()
        .iter()
        .filter(|e| {
            e.involved_object.kind.as_deref() == Some(key.kind.as_str())
                && e.involved_object.name.as_deref() == Some(key.name.as_str())
                && event_second(e).is_some_and(|t| t >= stores.since)
        })
        .max_by_key(|e| event_second(e))
        .and_then(|e| e.message.clone())
}

fn event_second(event: &Event) -> Option<i64> {
    event
        .last_timestamp
        .as_ref()
        .map(|t| t.0.as_second())
        .or_else(|| event.event_time.as_ref().map(|t| t.0.as_second()))
        .or_else(|| event.first_timestamp.as_ref().map(|t| t.0.as_second()))
}

/// What to do when the controller cannot create pods.
fn cannot_create_hint(message: &str, namespace: &str) -> String {
    if message.contains("quota") {
        format!(
            "the namespace's ResourceQuota leaves no room for these pods: raise it (kubectl describe resourcequota -n {namespace}) or lower replicas or resource requests in the values"
        )
    } else if message.contains("PodSecurity") {
        format!(
            "the namespace's Pod Security admission refuses these pods (kubectl get namespace {namespace} --show-labels)"
        )
    } else {
        "the controller cannot create pods; kubectl describe on the workload shows its events"
            .to_string()
    }
}

/// A pod of the workload's current template: selected by it, running its images.
/// Pods of older templates may still be failing while they go away.
fn belongs_to(pod: &Pod, selector: &LabelSelector, template: &PodSpec) -> bool {
    if pod.metadata.deletion_timestamp.is_some() {
        return false;
    }
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    let selected = selector
        .match_labels
        .as_ref()
        .is_some_and(|m| m.iter().all(|(k, v)| labels.get(k) == Some(v)));
    let images = |containers: &[Container]| {
        containers
            .iter()
            .map(|c| c.image.clone())
            .collect::<Vec<_>>()
    };
    let spec_images = pod.spec.as_ref().map(|s| images(&s.containers));
    selected && spec_images == Some(images(&template.containers))
}

const IMAGE_REASONS: [&str; 4] = [
    "ImagePullBackOff",
    "ErrImagePull",
    "ErrImageNeverPull",
    "InvalidImageName",
];

/// The reason a pod cannot become ready, if it shows one.
fn pod_failure(pod: &Pod) -> Option<PodFailure> {
    let name = pod.name_any();
    let failure = |container: Option<&str>, reason: String, hint: &str| PodFailure {
        pod: name.clone(),
        container: container.map(String::from),
        reason,
        hint: Some(hint.to_string()),
    };
    let status = pod.status.clone().unwrap_or_default();
    if let Some(cond) = status.conditions.iter().flatten().find(|c| {
        c.type_ == "PodScheduled"
            && c.status == "False"
            && c.reason.as_deref() == Some("Unschedulable")
    }) {
        let message = cond.message.clone().unwrap_or_default();
        // Waiting for a volume to bind is transient; missing CPU or memory is not.
        if message.contains("Insufficient") {
            return Some(failure(
                None,
                format!("Unschedulable: {message}"),
                "free CPU/memory on the nodes or lower the resource requests in the values; on Minikube, start it with more (minikube start --cpus 4 --memory 8g)",
            ));
        }
    }
    for cs in status.container_statuses.iter().flatten() {
        let state = cs.state.clone().unwrap_or_default();
        let waiting = state
            .waiting
            .as_ref()
            .and_then(|w| w.reason.clone())
            .unwrap_or_default();
        let waiting_message = state
            .waiting
            .as_ref()
            .and_then(|w| w.message.clone())
            .unwrap_or_default();
        let last_terminated = cs.last_state.as_ref().and_then(|s| s.terminated.clone());
        let oom = [state.terminated.as_ref(), last_terminated.as_ref()]
            .into_iter()
            .flatten()
            .any(|t| t.reason.as_deref() == Some("OOMKilled"));
        if IMAGE_REASONS.contains(&waiting.as_str()) {
            return Some(failure(
                Some(&cs.name),
                format!(
                    "image {} cannot be pulled ({waiting}) {waiting_message}",
                    cs.image
                )
                .trim_end()
                .to_string(),
                "build the image and load it into the cluster (berth images build, berth images load), or correct the image reference in the values",
            ));
        }
        if oom {
            return Some(failure(
                Some(&cs.name),
                format!(
                    "container {} was killed for lack of memory (OOMKilled)",
                    cs.name
                ),
                "raise the container's memory limit in the values (resources.limits.memory)",
            ));
        }
        if waiting == "CrashLoopBackOff" {
            let exit = last_terminated
                .map(|t| {
                    format!(
                        ", last exit code {}{}",
                        t.exit_code,
                        t.reason.map(|r| format!(" ({r})")).unwrap_or_default()
                    )
                })
                .unwrap_or_default();
            return Some(failure(
                Some(&cs.name),
                format!(
                    "container {} keeps crashing (CrashLoopBackOff{exit})",
                    cs.name
                ),
                "read its logs (kubectl logs --previous) and fix its configuration",
            ));
        }
        if matches!(
            waiting.as_str(),
            "CreateContainerConfigError" | "CreateContainerError"
        ) {
            return Some(failure(
                Some(&cs.name),
                format!(
                    "container {} cannot be created ({waiting}): {waiting_message}",
                    cs.name
                ),
                "check the Secrets and ConfigMaps it references",
            ));
        }
        if let Some(budget) = never_ready(pod, cs) {
            return Some(failure(
                Some(&cs.name),
                format!(
                    "container {} is running but never became ready within {budget}s",
                    cs.name
                ),
                "its readiness probe keeps failing: check the probe's path and port and the app's logs",
            ));
        }
    }
    None
}

/// The readiness budget (seconds) when a running container exceeded it
/// unready: the startup probe's whole allowance (readiness is not probed
/// before it passes) plus the readiness probe's initial delay + period ×
/// failure threshold (+5s slack), which is when the kubelet would have seen
/// it succeed if it could.
fn never_ready(pod: &Pod, cs: &k8s_openapi::api::core::v1::ContainerStatus) -> Option<i64> {
    if cs.ready {
        return None;
    }
    let started = cs.state.as_ref()?.running.as_ref()?.started_at.as_ref()?.0;
    let elapsed = Timestamp::now().as_second() - started.as_second();
    let budget = ready_budget(pod, &cs.name)?;
    (elapsed > budget).then_some(budget)
}

fn ready_budget(pod: &Pod, container: &str) -> Option<i64> {
    let container = pod
        .spec
        .as_ref()?
        .containers
        .iter()
        .find(|c| c.name == container)?;
    let allowance = |p: &k8s_openapi::api::core::v1::Probe| {
        p.initial_delay_seconds.unwrap_or(0) as i64
            + p.period_seconds.unwrap_or(10) as i64 * p.failure_threshold.unwrap_or(3) as i64
    };
    let startup = container.startup_probe.as_ref().map_or(0, allowance);
    Some(match &container.readiness_probe {
        Some(p) => startup + allowance(p) + 5,
        None => startup + 10,
    })
}

/// The last log lines of a crashed container, when the node serves them.
async fn last_logs(client: &Client, release: &Release, failure: &PodFailure) -> String {
    let Some(container) = &failure.container else {
        return String::new();
    };
    if !failure.reason.contains("crashing") {
        return String::new();
    }
    let api: Api<Pod> = Api::namespaced(client.clone(), &release.namespace);
    let params = LogParams {
        container: Some(container.clone()),
        previous: true,
        tail_lines: Some(10),
        ..Default::default()
    };
    match tokio::time::timeout(Duration::from_secs(3), api.logs(&failure.pod, &params)).await {
        Ok(Ok(text)) if !text.trim().is_empty() => {
            let lines: Vec<String> = text.lines().map(|l| format!("\n    | {l}")).collect();
            format!("; last log lines:{}", lines.concat())
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(status: serde_json::Value) -> Deployment {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web", "generation": 2},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"spec": {"containers": [{"name": "web", "image": "web:1"}]}}
            },
            "status": status
        }))
        .unwrap()
    }

    #[test]
    fn a_deployment_is_done_only_when_every_replica_is_updated_ready_and_available() {
        let done = deployment(serde_json::json!({
            "observedGeneration": 2, "replicas": 2, "readyReplicas": 2,
            "updatedReplicas": 2, "availableReplicas": 2
        }));
        assert!(deployment_rollout(&done).done);
        let old_generation = deployment(serde_json::json!({
            "observedGeneration": 1, "replicas": 2, "readyReplicas": 2,
            "updatedReplicas": 2, "availableReplicas": 2
        }));
        assert!(!deployment_rollout(&old_generation).done);
        let surging = deployment(serde_json::json!({
            "observedGeneration": 2, "replicas": 3, "readyReplicas": 2,
            "updatedReplicas": 2, "availableReplicas": 2
        }));
        assert_eq!(deployment_rollout(&surging).summary, "2/2 ready, 2 updated");
        assert!(!deployment_rollout(&surging).done);
    }

    #[test]
    fn the_ready_budget_includes_the_startup_probes_allowance() {
        // Seen on a real node: a backend that needs 90 s to start under load was declared
        // "never ready within 20s" while its startup probe still had 120 s left.
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "spec": {"containers": [{
                "name": "backend",
                "startupProbe": {"periodSeconds": 2, "failureThreshold": 60},
                "readinessProbe": {"periodSeconds": 5, "failureThreshold": 3}
            }, {
                "name": "plain",
                "readinessProbe": {"initialDelaySeconds": 4, "periodSeconds": 5, "failureThreshold": 3}
            }]}
        }))
        .unwrap();
        assert_eq!(ready_budget(&pod, "backend"), Some(120 + 15 + 5));
        assert_eq!(ready_budget(&pod, "plain"), Some(4 + 15 + 5));
        assert_eq!(ready_budget(&pod, "missing"), None);
    }

    #[test]
    fn a_replica_failure_condition_means_pods_cannot_be_created() {
        let blocked = deployment(serde_json::json!({
            "observedGeneration": 2,
            "conditions": [{
                "type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
                "message": "pods \"web-1\" is forbidden: exceeded quota: q"
            }]
        }));
        let message = deployment_rollout(&blocked).cannot_create.unwrap();
        assert!(message.contains("exceeded quota"), "{message}");
        assert!(cannot_create_hint(&message, "ns").contains("ResourceQuota"));
        assert!(
            cannot_create_hint("violates PodSecurity \"restricted:latest\"", "ns")
                .contains("Pod Security")
        );
    }
}
