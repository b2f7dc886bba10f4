//! Readiness: watches the release's Deployments, StatefulSets and Pods (and
//! FailedCreate Events) until every workload finished its rollout, and fails
//! fast with the cause: what its Pods show (a Deployment reports an image pull
//! failure only in its Pods) or, when no Pod can be created at all (quota,
//! admission), the Deployment's ReplicaFailure condition or the StatefulSet's
//! FailedCreate Event. Once every rollout is done it waits until each
//! Service lists every ready pod it selects as an endpoint, so "ready" means
//! requests reach the new pods.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, stream::BoxStream};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Event as KubeEvent, PersistentVolumeClaim, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, LogParams};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use tokio::time::Instant;

use super::readiness::{
    Cause, ClaimClass, Rollout, StartedSince, UNBOUND_CLAIM_GRACE_SECONDS, deployment_rollout,
    failed_create_message, service_routing, stateful_set_rollout, unbound_claim, workload_failure,
};
use super::{ApplyError, Event, ObjectKey, Release};

/// How a wait ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    /// A workload cannot become ready, and why.
    Failed {
        object: String,
        cause: Cause,
    },
    /// The timeout passed; the workloads still not ready, with their state.
    TimedOut {
        waiting: Vec<String>,
    },
}

/// Waits for the rollout of the workloads among `objects`, reporting each
/// change of state through `progress`.
pub async fn wait_ready(
    client: &Client,
    release: &Release,
    objects: &[ObjectKey],
    timeout: Duration,
    progress: &mut (dyn FnMut(Event) + Send),
) -> Result<Readiness, ApplyError> {
    let workloads: Vec<&ObjectKey> = objects
        .iter()
        .filter(|k| matches!(k.kind.as_str(), "Deployment" | "StatefulSet"))
        .collect();
    let services: Vec<&ObjectKey> = objects.iter().filter(|k| k.kind == "Service").collect();
    if workloads.is_empty() {
        return Ok(Readiness::Ready);
    }
    let config = watcher::Config::default().labels(&release.selector());
    let (deployments, deployments_stream) = watch::<Deployment>(client, release, &config);
    let (stateful_sets, stateful_sets_stream) = watch::<StatefulSet>(client, release, &config);
    let (pods, pods_stream) = watch::<Pod>(client, release, &config);
    // Claim templates carry the release's labels, so its claims do too.
    let (claims, claims_stream) = watch::<PersistentVolumeClaim>(client, release, &config);
    let (service_store, services_stream) = watch::<Service>(client, release, &config);
    // The EndpointSlice controller copies the Service's labels onto its slices.
    let (slices, slices_stream) = watch::<EndpointSlice>(client, release, &config);
    // Events carry no release labels; only pod-creation failures matter here.
    let (failed_creates, events_stream) = watch::<KubeEvent>(
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
        claims_stream,
        services_stream,
        slices_stream,
        events_stream,
        tick.map(|()| None).boxed(),
    ]);
    // One line per interruption of the watches, not one per watch.
    let mut interrupted = false;
    let deadline = Instant::now() + timeout;
    let started = StartedSince::default();
    let stores = Stores {
        started: &started,
        deployments: &deployments,
        stateful_sets: &stateful_sets,
        pods: &pods,
        claims: &claims,
        services: &service_store,
        slices: &slices,
        failed_creates: &failed_creates,
        since,
    };
    let mut last: BTreeMap<String, String> = BTreeMap::new();
    let mut grace = CrashGrace::default();
    loop {
        let timed_out = tokio::time::Instant::now() >= deadline;
        // Past the timeout a claim still Pending is the reason, however young.
        let claim_grace = if timed_out {
            0
        } else {
            UNBOUND_CLAIM_GRACE_SECONDS
        };
        let mut state: Vec<WorkloadState> = workloads
            .iter()
            .map(|key| workload_state(key, &stores, claim_grace))
            .collect();
        if state.iter().all(|s| s.ready) {
            state.extend(
                services
                    .iter()
                    .map(|key| service_state(key, &stores))
                    .filter(|s| !s.ready),
            );
        }
        for s in &state {
            if last.get(&s.object) != Some(&s.summary) {
                progress(Event::Rollout {
                    object: s.object.clone(),
                    summary: s.summary.clone(),
                });
                last.insert(s.object.clone(), s.summary.clone());
            }
        }
        let now = Timestamp::now().as_second();
        grace.observe(&state, now);
        if let Some((object, cause)) = state
            .iter()
            .filter(|s| !grace.defers(s, now))
            .find_map(|s| s.failure.as_ref().map(|f| (&s.object, f)))
        {
            let cause = with_logs(client, release, cause.clone()).await;
            return Ok(Readiness::Failed {
                object: object.clone(),
                cause: with_storage_class(client, cause).await,
            });
        }
        if state.iter().all(|s| s.ready) {
            return Ok(Readiness::Ready);
        }
        match tokio::time::timeout_at(deadline, events.next()).await {
            Ok(Some(Some(Watched::Event))) => interrupted = false,
            Ok(Some(Some(Watched::Interrupted(why)))) => {
                if !interrupted {
                    progress(Event::WatchInterrupted {
                        why: why.to_string(),
                    });
                }
                interrupted = true;
            }
            Ok(Some(None)) => {}
            // One more look, with claims judged at the timeout.
            Err(_) if !timed_out => {}
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

/// Crash loops and containers running but not ready that may only be waiting for another
/// workload of the release
/// (a migration before its database's name resolves, an API before its MCP
/// server listens): not a failure while another workload of the wait is not
/// ready, nor until the container has crashed again well after the last of
/// them became ready (the kubelet's back-off decides when it retries; the
/// deploy's timeout bounds the wait). When the others were ready from the wait's start,
/// a crash loop fails at once.
#[derive(Default)]
struct CrashGrace {
    /// Workloads some other workload of the wait is not ready for.
    waiting: BTreeSet<String>,
    /// When each workload's others became ready (Unix seconds).
    others_ready: BTreeMap<String, i64>,
}

/// How long after the others became ready a crash still counts as waiting for
/// them: a headless Service's name resolves only once its EndpointSlice lists
/// the ready pod and cluster DNS has dropped its cached NXDOMAIN, and the
/// node's clock may differ a little from this machine's.
const SETTLE_SECONDS: i64 = 30;

impl CrashGrace {
    /// Notes, for each workload, whether all the others are ready at `now`.
    fn observe(&mut self, all: &[WorkloadState], now: i64) {
        for s in all {
            // Another workload that is failing itself is not one to wait for: two
            // crash loops must not wait for each other until the timeout.
            if all
                .iter()
                .any(|o| o.object != s.object && !o.ready && o.failure.is_none())
            {
                self.waiting.insert(s.object.clone());
                self.others_ready.remove(&s.object);
            } else if self.waiting.remove(&s.object) {
                self.others_ready.insert(s.object.clone(), now);
            }
        }
    }

    /// Whether `s`'s failure seen at `now` may only be waiting for the others. A container
    /// running but not ready (its readiness check asks for its database, say) gets its readiness
    /// budget again from when the others became ready: an app that starts faster than its
    /// database initialises was failed 20 s after its start on the real node.
    fn defers(&self, s: &WorkloadState, now: i64) -> bool {
        let budget = match &s.failure {
            Some(Cause::CrashLoop { .. }) => None,
            Some(Cause::NeverReady { budget_seconds, .. }) => Some(*budget_seconds),
            _ => return false,
        };
        if self.waiting.contains(&s.object) {
            return true;
        }
        match (self.others_ready.get(&s.object), budget, s.last_crash) {
            (Some(ready), Some(budget), _) => now <= ready + budget,
            (Some(ready), None, Some(crash)) => crash <= ready + SETTLE_SECONDS,
            (Some(_), None, None) => true,
            (None, _, _) => false,
        }
    }
}

/// What a watch stream yields: an event applied to its store, or an error
/// (the API server went away, the watch expired). After an error the watcher
/// lists again and the reflector replaces its store only once that list is
/// complete, so a wait never judges readiness from a partial view, and a
/// failure that happened while disconnected shows in the fresh list.
enum Watched {
    Event,
    Interrupted(String),
}

/// Reconnects quickly after an API server restart: 0.5 s doubling to 5 s
/// (kube's default waits up to 30 s, much of a readiness timeout).
pub(super) struct Reconnect(Duration);

impl Default for Reconnect {
    fn default() -> Self {
        Reconnect(Duration::from_millis(500))
    }
}

impl Iterator for Reconnect {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let delay = self.0;
        self.0 = (self.0 * 2).min(Duration::from_secs(5));
        Some(delay)
    }
}

impl kube::runtime::utils::Backoff for Reconnect {
    fn reset(&mut self) {
        self.0 = Duration::from_millis(500);
    }
}

/// A reflector store for one kind and the stream that feeds it.
fn watch<K>(
    client: &Client,
    release: &Release,
    config: &watcher::Config,
) -> (Store<K>, BoxStream<'static, Option<Watched>>)
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
    let watch = watcher(api, config.clone()).backoff(Reconnect::default());
    let stream = reflector::reflector(writer, watch)
        // Errors are retried by the backoff; every event triggers a re-check.
        .map(|item| {
            Some(match item {
                Ok(_) => Watched::Event,
                Err(e) => Watched::Interrupted(e.to_string()),
            })
        })
        .boxed();
    (store, stream)
}

struct WorkloadState {
    object: String,
    ready: bool,
    summary: String,
    failure: Option<Cause>,
    /// When the crashing container of a crash loop last exited (Unix seconds).
    last_crash: Option<i64>,
}

/// What the wait watches, as local caches.
struct Stores<'a> {
    deployments: &'a Store<Deployment>,
    stateful_sets: &'a Store<StatefulSet>,
    pods: &'a Store<Pod>,
    claims: &'a Store<PersistentVolumeClaim>,
    services: &'a Store<Service>,
    slices: &'a Store<EndpointSlice>,
    failed_creates: &'a Store<KubeEvent>,
    /// Unix second from which a FailedCreate event counts.
    since: i64,
    started: &'a StartedSince,
}

/// How far back a FailedCreate event still counts as this deploy's: the
/// apply just before the wait takes about a second, and a persisting failure
/// refreshes its event on every retry.
const RECENT_EVENT_SECONDS: i64 = 10;

/// `claim_grace`: how long a claim its pod waits for may stay Pending.
fn workload_state(key: &ObjectKey, stores: &Stores, claim_grace: i64) -> WorkloadState {
    let rollout: Option<Rollout> = match key.kind.as_str() {
        "Deployment" => find_named(stores.deployments, &key.name).map(|d| deployment_rollout(&d)),
        _ => find_named(stores.stateful_sets, &key.name).map(|s| stateful_set_rollout(&s)),
    };
    let Some(rollout) = rollout else {
        return WorkloadState {
            object: key.to_string(),
            ready: false,
            summary: "not found yet".to_string(),
            failure: None,
            last_crash: None,
        };
    };
    let failed_create = failed_create_message(
        stores.failed_creates.state().iter().map(|e| e.as_ref()),
        &key.kind,
        &key.name,
        stores.since,
    );
    let pods = stores.pods.state();
    let claims: Vec<PersistentVolumeClaim> = stores
        .claims
        .state()
        .iter()
        .map(|c| (**c).clone())
        .collect();
    let failure = workload_failure(
        &rollout,
        failed_create,
        pods.iter().map(|p| p.as_ref()),
        stores.started,
    )
    .or_else(|| {
        unbound_claim(
            &rollout,
            pods.iter().map(|p| p.as_ref()),
            &claims,
            // Read only once a claim is the cause (cluster-scoped: see with_storage_class).
            None,
            Timestamp::now().as_second(),
            claim_grace,
        )
    });
    let last_crash = failure.as_ref().and_then(|f| last_exit(f, &pods));
    WorkloadState {
        object: key.to_string(),
        ready: rollout.done,
        summary: rollout.summary(),
        failure,
        last_crash,
    }
}

/// A Service is waited for once every rollout is done, until its endpoints
/// catch up with its ready pods; it never fails the wait by itself.
fn service_state(key: &ObjectKey, stores: &Stores) -> WorkloadState {
    let (ready, summary) = match find_named(stores.services, &key.name) {
        None => (false, "not found yet".to_string()),
        Some(service) => {
            let (pods, slices) = (stores.pods.state(), stores.slices.state());
            match service_routing(
                &service,
                pods.iter().map(|p| p.as_ref()),
                slices.iter().map(|s| s.as_ref()),
            ) {
                Some(routing) => (routing.done(), routing.summary()),
                None => (true, "no pod selector".to_string()),
            }
        }
    };
    WorkloadState {
        object: key.to_string(),
        ready,
        summary,
        failure: None,
        last_crash: None,
    }
}

/// When the container a crash loop names last exited, from its pod's status.
fn last_exit(cause: &Cause, pods: &[Arc<Pod>]) -> Option<i64> {
    let Cause::CrashLoop { pod, container, .. } = cause else {
        return None;
    };
    let status = pods.iter().find(|p| p.name_any() == *pod)?.status.clone()?;
    status
        .init_container_statuses
        .into_iter()
        .flatten()
        .chain(status.container_statuses.into_iter().flatten())
        .find(|cs| cs.name == *container)?
        .last_state?
        .terminated?
        .finished_at
        .map(|t| t.0.as_second())
}

fn find_named<K: kube::Resource<DynamicType = ()> + Clone>(
    store: &Store<K>,
    name: &str,
) -> Option<Arc<K>> {
    store.state().into_iter().find(|o| o.name_any() == name)
}

/// An unbound claim's cause with what its StorageClass says (its provisioner,
/// or that it does not exist). StorageClasses are cluster-scoped: a user bound
/// to a namespace may not read them, and then the class stays unknown.
async fn with_storage_class(client: &Client, cause: Cause) -> Cause {
    let Cause::ClaimPending {
        pod,
        claim,
        pending_seconds,
        class: class @ ClaimClass::Unknown { .. },
    } = cause
    else {
        return cause;
    };
    let api: Api<StorageClass> = Api::all(client.clone());
    let read = tokio::time::timeout(Duration::from_secs(5), api.list(&Default::default())).await;
    let class = match read {
        Ok(Ok(list)) => class.resolve(&list.items),
        _ => class,
    };
    Cause::ClaimPending {
        pod,
        claim,
        pending_seconds,
        class,
    }
}

/// A crash-looping container's cause with its last log lines (its previous
/// instance's), when the node serves them.
async fn with_logs(client: &Client, release: &Release, cause: Cause) -> Cause {
    let Cause::CrashLoop {
        pod,
        container,
        exit,
        ..
    } = cause
    else {
        return cause;
    };
    let logs = previous_log_tail(client, &release.namespace, &pod, &container, 10).await;
    Cause::CrashLoop {
        pod,
        container,
        exit,
        logs,
    }
}

/// The last `lines` log lines of a container's previous instance (the one
/// that crashed); none when the node does not serve them within 3 s.
pub async fn previous_log_tail(
    client: &Client,
    namespace: &str,
    pod: &str,
    container: &str,
    lines: i64,
) -> Vec<String> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let params = LogParams {
        container: Some(container.to_string()),
        previous: true,
        tail_lines: Some(lines),
        ..Default::default()
    };
    match tokio::time::timeout(Duration::from_secs(3), api.logs(pod, &params)).await {
        Ok(Ok(text)) if !text.trim().is_empty() => text.lines().map(String::from).collect(),
        _ => vec![],
    }
}

#[cfg(test)]
mod crash_grace_tests {
    use super::*;

    fn state(object: &str, ready: bool, crashed_at: Option<i64>) -> WorkloadState {
        WorkloadState {
            object: object.into(),
            ready,
            summary: String::new(),
            failure: crashed_at.map(|_| Cause::CrashLoop {
                pod: format!("{object}-0"),
                container: "c".into(),
                exit: Some("1 (Error)".into()),
                logs: vec![],
            }),
            last_crash: crashed_at,
        }
    }

    #[test]
    fn a_crash_waits_for_the_others_then_for_its_next_exit() {
        let mut grace = CrashGrace::default();
        let all = [state("api", false, Some(100)), state("db", false, None)];
        grace.observe(&all, 101);
        assert!(grace.defers(&all[0], 101), "db is not ready");
        // db ready at 120; the crash seen then happened at 110, before it.
        let all = [state("api", false, Some(110)), state("db", true, None)];
        grace.observe(&all, 120);
        assert!(
            grace.defers(&all[0], 120),
            "the last crash was before db was ready"
        );
        let all = [state("api", false, Some(130)), state("db", true, None)];
        grace.observe(&all, 131);
        assert!(grace.defers(&all[0], 131), "db's name may not resolve yet");
        let all = [state("api", false, Some(160)), state("db", true, None)];
        grace.observe(&all, 161);
        assert!(
            !grace.defers(&all[0], 161),
            "crashed again with db ready: a failure"
        );
    }

    #[test]
    fn a_crash_with_every_other_workload_ready_from_the_start_fails_at_once() {
        let mut grace = CrashGrace::default();
        let all = [state("api", false, Some(100)), state("db", true, None)];
        grace.observe(&all, 101);
        assert!(!grace.defers(&all[0], 101));
        let alone = [state("api", false, Some(100))];
        grace.observe(&alone, 101);
        assert!(!grace.defers(&alone[0], 101));
    }

    #[test]
    fn two_crash_loops_do_not_wait_for_each_other() {
        let mut grace = CrashGrace::default();
        let all = [
            state("api", false, Some(100)),
            state("mcp", false, Some(100)),
        ];
        grace.observe(&all, 101);
        assert!(!grace.defers(&all[0], 101) && !grace.defers(&all[1], 101));
    }

    #[test]
    fn a_container_never_ready_gets_its_budget_again_once_the_others_are_ready() {
        let never_ready = |object: &str| WorkloadState {
            failure: Some(Cause::NeverReady {
                pod: format!("{object}-0"),
                container: "c".into(),
                budget_seconds: 20,
            }),
            ..state(object, false, None)
        };
        let mut grace = CrashGrace::default();
        let all = [never_ready("api"), state("db", false, None)];
        grace.observe(&all, 100);
        assert!(grace.defers(&all[0], 100), "db is not ready");
        let all = [never_ready("api"), state("db", true, None)];
        grace.observe(&all, 130);
        assert!(grace.defers(&all[0], 150), "within its budget after db");
        assert!(!grace.defers(&all[0], 151), "past its budget with db ready");
        let alone = [never_ready("api")];
        let mut fresh = CrashGrace::default();
        fresh.observe(&alone, 100);
        assert!(!fresh.defers(&alone[0], 100), "nothing to wait for");
    }

    #[test]
    fn only_crash_loops_and_unready_containers_are_deferred() {
        let mut grace = CrashGrace::default();
        let mut oom = state("api", false, None);
        oom.failure = Some(Cause::OutOfMemory {
            pod: "api-0".into(),
            container: "c".into(),
        });
        let all = [oom, state("db", false, None)];
        grace.observe(&all, 100);
        assert!(!grace.defers(&all[0], 100));
    }
}
