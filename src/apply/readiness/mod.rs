//! One readiness evaluation, shared by the wait and by `status`: when a
//! Deployment's or StatefulSet's rollout is done, and the typed cause when a
//! pod shows it cannot become ready. The engine says what it saw; callers
//! word the advice.

use std::collections::HashMap;
use std::sync::Mutex;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Container, ContainerStatus, Event as KubeEvent, Pod, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use serde::Serialize;

mod cause;
mod claims;
mod routing;
pub use cause::*;
pub use claims::{ClaimClass, UNBOUND_CLAIM_GRACE_SECONDS, unbound_claim};
pub use routing::{Routing, service_routing};

/// Where a Deployment's or StatefulSet's rollout stands.
#[derive(Debug, Clone)]
pub struct Rollout {
    /// Every replica of the current generation updated, ready (and, for a
    /// Deployment, available), and no old replica left.
    pub done: bool,
    pub desired: i32,
    pub ready: i32,
    pub updated: i32,
    pub selector: LabelSelector,
    pub template: Option<PodSpec>,
    /// Why its controller cannot create pods, when the workload says so.
    pub cannot_create: Option<String>,
}

impl Rollout {
    /// `1/2 ready, 1 updated`.
    pub fn summary(&self) -> String {
        format!(
            "{}/{} ready, {} updated",
            self.ready, self.desired, self.updated
        )
    }
}

/// A Deployment's rollout.
pub fn deployment_rollout(d: &Deployment) -> Rollout {
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
        desired: want,
        ready,
        updated,
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

/// A StatefulSet's rollout.
pub fn stateful_set_rollout(s: &StatefulSet) -> Rollout {
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
        desired: want,
        ready,
        updated,
        selector: spec.selector,
        template: spec.template.spec,
        // A StatefulSet reports failed pod creations only as Events.
        cannot_create: None,
    }
}

/// The cause for a controller that cannot create pods.
pub fn cannot_create(message: &str) -> Cause {
    Cause::CannotCreate {
        message: message.to_string(),
        blocker: CreateBlocker::of(message),
    }
}

/// Why a workload whose rollout is not done cannot become ready: its
/// controller cannot create pods (its own condition, else `failed_create`,
/// a FailedCreate Event's message), or else the first failing pod of its
/// current template. The wait and `diagnose` both decide with this.
pub fn workload_failure<'a>(
    rollout: &Rollout,
    failed_create: Option<String>,
    pods: impl IntoIterator<Item = &'a Pod>,
    started: &StartedSince,
) -> Option<Cause> {
    // Not known yet, or done: nothing to report.
    let template = rollout.template.as_ref().filter(|_| !rollout.done)?;
    if let Some(message) = rollout.cannot_create.clone().or(failed_create) {
        return Some(cannot_create(&message));
    }
    pods.into_iter()
        .filter(|p| belongs_to(p, &rollout.selector, template))
        .find_map(|p| pod_failure(p, started))
}

/// The message of the newest FailedCreate Event about `kind`/`name` seen at
/// or after the Unix second `since` (older ones belong to an earlier state).
pub fn failed_create_message<'a>(
    events: impl IntoIterator<Item = &'a KubeEvent>,
    kind: &str,
    name: &str,
    since: i64,
) -> Option<String> {
    events
        .into_iter()
        .filter(|e| {
            e.reason.as_deref() == Some("FailedCreate")
                && e.involved_object.kind.as_deref() == Some(kind)
                && e.involved_object.name.as_deref() == Some(name)
                && event_second(e).is_some_and(|t| t >= since)
                && !e.message.as_deref().is_some_and(controller_cache_lag)
        })
        .max_by_key(|e| event_second(e))
        .and_then(|e| e.message.clone())
}

/// A create the controller retries on its own: its cache had not seen the
/// object (a StatefulSet's claim, say) it created a moment before, often after
/// its watch of the API server was interrupted. Not a reason to fail a wait.
fn controller_cache_lag(message: &str) -> bool {
    message.contains("already exists")
}

/// When an Event was last seen (Unix second), whichever timestamp it carries.
pub fn event_second(event: &KubeEvent) -> Option<i64> {
    event
        .last_timestamp
        .as_ref()
        .map(|t| t.0.as_second())
        .or_else(|| event.event_time.as_ref().map(|t| t.0.as_second()))
        .or_else(|| event.first_timestamp.as_ref().map(|t| t.0.as_second()))
}

/// Whether a pod was selected by the workload's selector (any template).
pub fn selected(pod: &Pod, selector: &LabelSelector) -> bool {
    let labels = pod.labels();
    selector
        .match_labels
        .as_ref()
        .is_some_and(|m| m.iter().all(|(k, v)| labels.get(k) == Some(v)))
}

/// A pod of the workload's current template: selected by it, running its images.
/// Pods of older templates may still be failing while they go away.
pub fn belongs_to(pod: &Pod, selector: &LabelSelector, template: &PodSpec) -> bool {
    if pod.metadata.deletion_timestamp.is_some() {
        return false;
    }
    let images = |containers: &[Container]| {
        containers
            .iter()
            .map(|c| c.image.clone())
            .collect::<Vec<_>>()
    };
    let spec_images = pod.spec.as_ref().map(|s| images(&s.containers));
    selected(pod, selector) && spec_images == Some(images(&template.containers))
}

const IMAGE_REASONS: [&str; 4] = [
    "ImagePullBackOff",
    "ErrImagePull",
    "ErrImageNeverPull",
    "InvalidImageName",
];

/// The reason a pod cannot become ready, if it shows one.
pub fn pod_failure(pod: &Pod, started: &StartedSince) -> Option<Cause> {
    let name = pod.name_any();
    let status = pod.status.clone().unwrap_or_default();
    if let Some(cond) = status.conditions.iter().flatten().find(|c| {
        c.type_ == "PodScheduled"
            && c.status == "False"
            && c.reason.as_deref() == Some("Unschedulable")
    }) {
        let message = cond.message.clone().unwrap_or_default();
        // Waiting for a volume to bind is transient; missing CPU or memory is not.
        if message.contains("Insufficient") {
            return Some(Cause::Unschedulable { pod: name, message });
        }
    }
    // Init containers (pre-rollout tasks such as migrations) run first: a
    // failing one is why the others never start.
    status
        .init_container_statuses
        .iter()
        .flatten()
        .chain(status.container_statuses.iter().flatten())
        .find_map(|cs| container_failure(pod, &name, cs, started))
}

fn container_failure(
    pod: &Pod,
    name: &str,
    cs: &ContainerStatus,
    started: &StartedSince,
) -> Option<Cause> {
    let pod_name = name.to_string();
    let container = cs.name.clone();
    let state = cs.state.clone().unwrap_or_default();
    let waiting = state.waiting.as_ref();
    let waiting_reason = waiting.and_then(|w| w.reason.clone()).unwrap_or_default();
    let waiting_message = waiting.and_then(|w| w.message.clone()).unwrap_or_default();
    let last_terminated = cs.last_state.as_ref().and_then(|s| s.terminated.clone());
    let oom = [state.terminated.as_ref(), last_terminated.as_ref()]
        .into_iter()
        .flatten()
        .any(|t| t.reason.as_deref() == Some("OOMKilled"));
    if IMAGE_REASONS.contains(&waiting_reason.as_str()) {
        return Some(Cause::ImagePull {
            pod: pod_name,
            container,
            image: cs.image.clone(),
            reason: waiting_reason,
            message: waiting_message,
        });
    }
    if oom {
        return Some(Cause::OutOfMemory {
            pod: pod_name,
            container,
        });
    }
    if waiting_reason == "CrashLoopBackOff" {
        let exit = last_terminated.map(|t| {
            format!(
                "{}{}",
                t.exit_code,
                t.reason.map(|r| format!(" ({r})")).unwrap_or_default()
            )
        });
        return Some(Cause::CrashLoop {
            pod: pod_name,
            container,
            exit,
            logs: vec![],
        });
    }
    // "failed to sync configmap cache" (or secret cache): the kubelet has not
    // yet seen a ConfigMap or Secret created a moment ago; it retries by itself.
    let kubelet_catching_up = waiting_message.contains("failed to sync");
    if matches!(
        waiting_reason.as_str(),
        "CreateContainerConfigError" | "CreateContainerError"
    ) && !kubelet_catching_up
    {
        return Some(Cause::ContainerConfig {
            pod: pod_name,
            container,
            reason: waiting_reason,
            message: waiting_message,
        });
    }
    never_ready(pod, cs, started).map(|budget_seconds| Cause::NeverReady {
        pod: pod_name,
        container,
        budget_seconds,
    })
}

/// The readiness budget (seconds) when a running container exceeded it
/// unready: initial delay + period × failure threshold (+5s slack), which is
/// when the kubelet would have seen it succeed if it could.
/// When the wait first saw each container *started* (its startup probe
/// passed; at once without one). The readiness budget counts from then: the
/// container's own start is too early after a slow startup probe, and a
/// container still starting is the kubelet's to restart, not berth's to judge.
#[derive(Debug, Default)]
pub struct StartedSince(Mutex<HashMap<(String, String), i64>>);

impl StartedSince {
    /// For a look at one moment (`diagnose`) rather than a watch: every
    /// started container counts as started since its container started, the
    /// earliest the startup probe can have passed.
    pub fn at_container_start(pods: &[Pod]) -> Self {
        let seen = StartedSince::default();
        for pod in pods {
            let statuses = pod
                .status
                .iter()
                .flat_map(|s| s.container_statuses.iter().flatten());
            for cs in statuses.filter(|cs| cs.started == Some(true)) {
                let running = cs.state.as_ref().and_then(|s| s.running.as_ref());
                if let Some(at) = running.and_then(|r| r.started_at.as_ref()) {
                    seen.since(pod, cs, at.0.as_second());
                }
            }
        }
        seen
    }

    /// The Unix second from which `cs` of `pod` has been seen started.
    fn since(&self, pod: &Pod, cs: &ContainerStatus, now: i64) -> i64 {
        let key = (pod.uid().unwrap_or_else(|| pod.name_any()), cs.name.clone());
        *self
            .0
            .lock()
            .expect("started map")
            .entry(key)
            .or_insert(now)
    }
}

/// The readiness budget (seconds) when a started container exceeded it
/// unready: initial delay + period × failure threshold (+5s slack), which is
/// when the kubelet would have seen it succeed if it could.
fn never_ready(pod: &Pod, cs: &ContainerStatus, started: &StartedSince) -> Option<i64> {
    if cs.ready || cs.started != Some(true) {
        return None;
    }
    let running = cs.state.as_ref()?.running.as_ref()?.started_at.as_ref()?.0;
    let now = Timestamp::now().as_second();
    let since = started.since(pod, cs, now).max(running.as_second());
    let budget = ready_budget(pod, &cs.name)?;
    (now - since > budget).then_some(budget)
}

fn ready_budget(pod: &Pod, container: &str) -> Option<i64> {
    let container = pod
        .spec
        .as_ref()?
        .containers
        .iter()
        .find(|c| c.name == container)?;
    Some(match &container.readiness_probe {
        Some(p) => {
            p.initial_delay_seconds.unwrap_or(0) as i64
                + p.period_seconds.unwrap_or(10) as i64 * p.failure_threshold.unwrap_or(3) as i64
                + 5
        }
        None => 10,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_create_the_controller_retries_is_not_a_failure() {
        let event = |message: &str| -> KubeEvent {
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": "e"},
                "involvedObject": {"kind": "StatefulSet", "name": "db"},
                "reason": "FailedCreate",
                "message": message,
                "lastTimestamp": "2026-12-02T10:00:00Z"
            }))
            .unwrap()
        };
        let since = Timestamp::from_second(1_764_669_000).unwrap().as_second();
        let lag = event(
            "create Pod db-0 in StatefulSet db failed error: failed to create PVC data-db-0: \
             persistentvolumeclaims \"data-db-0\" already exists",
        );
        assert_eq!(
            failed_create_message([&lag], "StatefulSet", "db", since),
            None
        );
        let quota = event("pods \"db-0\" is forbidden: exceeded quota: small");
        assert_eq!(
            failed_create_message([&lag, &quota], "StatefulSet", "db", since).as_deref(),
            Some("pods \"db-0\" is forbidden: exceeded quota: small")
        );
        assert_eq!(
            failed_create_message([&quota], "Deployment", "db", since),
            None
        );
    }

    #[test]
    fn a_failing_init_container_is_the_cause() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "api-1"},
            "spec": {"initContainers": [{"name": "migrate"}], "containers": [{"name": "api"}]},
            "status": {
                "initContainerStatuses": [{
                    "name": "migrate", "image": "api:2", "imageID": "", "ready": false,
                    "restartCount": 3,
                    "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                    "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}
                }],
                "containerStatuses": [{
                    "name": "api", "image": "api:2", "imageID": "", "ready": false,
                    "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}
                }]
            }
        }))
        .unwrap();
        match pod_failure(&pod, &StartedSince::default()) {
            Some(Cause::CrashLoop {
                container, exit, ..
            }) => {
                assert_eq!(container, "migrate");
                assert_eq!(exit.as_deref(), Some("1 (Error)"));
            }
            other => panic!("expected the init container's crash loop, got {other:?}"),
        }
    }

    #[test]
    fn a_kubelet_cache_not_yet_synced_is_no_cause() {
        let pod = |message: &str| -> Pod {
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": "api-1"},
                "spec": {"containers": [{"name": "api"}]},
                "status": {"containerStatuses": [{
                    "name": "api", "image": "api:2", "imageID": "", "ready": false,
                    "restartCount": 0,
                    "state": {"waiting": {"reason": "CreateContainerConfigError", "message": message}}
                }]}
            }))
            .unwrap()
        };
        let syncing = pod("failed to sync configmap cache: timed out waiting for the condition");
        assert_eq!(pod_failure(&syncing, &StartedSince::default()), None);
        let missing = pod("secret \"api\" not found");
        assert!(matches!(
            pod_failure(&missing, &StartedSince::default()),
            Some(Cause::ContainerConfig { .. })
        ));
    }

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
    fn the_ready_budget_counts_from_when_the_startup_probe_passed() {
        // Seen on a real node: a backend that needs 90 s to start under load was declared
        // "never ready within 20s" while its startup probe was still running.
        let pod = |started: bool, ran_for: i64| -> Pod {
            let since = Timestamp::now().as_second() - ran_for;
            let at = Timestamp::from_second(since).unwrap().to_string();
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": "api-1", "uid": "u1"},
                "spec": {"containers": [{
                    "name": "api",
                    "startupProbe": {"periodSeconds": 2, "failureThreshold": 60},
                    "readinessProbe": {"periodSeconds": 5, "failureThreshold": 3}
                }]},
                "status": {"containerStatuses": [{
                    "name": "api", "image": "api:1", "imageID": "", "ready": false,
                    "restartCount": 0, "started": started,
                    "state": {"running": {"startedAt": at}}
                }]}
            }))
            .unwrap()
        };
        let seen = StartedSince::default();
        // Still starting after 90 s: the startup probe's business, no verdict.
        assert_eq!(pod_failure(&pod(false, 90), &seen), None);
        // Just started after 95 s: the readiness budget (20 s) begins now.
        assert_eq!(pod_failure(&pod(true, 95), &seen), None);
        // First seen started 30 s ago and still unready: never ready.
        let late = StartedSince::default();
        let long_ago = Timestamp::now().as_second() - 30;
        late.0
            .lock()
            .unwrap()
            .insert(("u1".into(), "api".into()), long_ago);
        match pod_failure(&pod(true, 60), &late) {
            Some(Cause::NeverReady { budget_seconds, .. }) => assert_eq!(budget_seconds, 20),
            other => panic!("expected never ready, got {other:?}"),
        }
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
        assert_eq!(
            deployment_rollout(&surging).summary(),
            "2/2 ready, 2 updated"
        );
        assert!(!deployment_rollout(&surging).done);
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
        let cause = cannot_create(&message);
        assert!(matches!(
            cause,
            Cause::CannotCreate {
                blocker: CreateBlocker::ResourceQuota,
                ..
            }
        ));
        assert!(cause.to_string().starts_with("pods cannot be created: "));
        assert!(matches!(
            cannot_create("violates PodSecurity \"restricted:latest\""),
            Cause::CannotCreate {
                blocker: CreateBlocker::PodSecurity,
                ..
            }
        ));
    }

    #[test]
    fn a_pod_in_image_pull_back_off_names_the_image() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web-1"},
            "status": {"containerStatuses": [{
                "name": "web", "image": "web:1", "imageID": "", "ready": false,
                "restartCount": 0,
                "state": {"waiting": {"reason": "ImagePullBackOff", "message": "not found"}}
            }]}
        }))
        .unwrap();
        let cause = pod_failure(&pod, &StartedSince::default()).unwrap();
        assert_eq!(
            cause.to_string(),
            "pod web-1: image web:1 cannot be pulled (ImagePullBackOff) not found"
        );
    }
}
