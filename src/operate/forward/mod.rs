//! Local ports that lead to a release's Services through the API server, and
//! survive rollouts: every accepted connection picks a ready pod of the
//! Service from its EndpointSlices at that moment and opens its own
//! pods/portforward stream (`kubectl port-forward` picks one pod once and
//! dies with it). A connection in flight ends with its pod; the next one goes
//! to a ready pod. A pod that refuses before answering (it just began
//! stopping) gets the connection replayed to another, or, when no other is
//! left and it is still ready (a server reloading its code), to it again.
//! During a rollout the ready pods of the newest template come first (the
//! pods' metadata is watched beside the EndpointSlices; see `pick`).
//!
//! A library: `berth open` binds and serves; `berth dev` reuses the same
//! forwards. It never prints: it reports [`ForwardEvent`]s.

mod holder;
mod pick;
mod pump;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::Client;
use kube::api::Api;
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

pub use holder::{Holder, port_holder};
pub use pick::{Candidate, PodVersion, candidates, choose, prefer_newest};

/// One local port and the Service it leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    /// What users call it (a component, or `edge`): `--port NAME=PORT`.
    pub name: String,
    /// The Service's name in the release's namespace.
    pub service: String,
    /// The local port (on 127.0.0.1, and on ::1 where this machine has it).
    pub port: u16,
}

/// What happened to a connection, for the caller to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardEvent {
    /// A connection was sent to `pod` (its stream is open).
    Connected { name: String, pod: String },
    /// `pod` refused before answering; the connection went to another pod.
    Retried {
        name: String,
        pod: String,
        error: String,
    },
    /// A connection could not be served (closed without an answer).
    Failed { name: String, error: String },
}

/// Where events go; called from the connections' tasks.
pub type Events = Arc<dyn Fn(ForwardEvent) + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error(
        "local port {port} ({name}) is in use{}\nhint: stop it, or serve {name} elsewhere: --port {name}=PORT",
        held_by(.holder)
    )]
    PortBusy {
        name: String,
        port: u16,
        holder: Option<Holder>,
    },
    #[error("cannot listen on {address} ({name}): {source}")]
    Bind {
        name: String,
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "Service {namespace}/{service} ({name}) does not exist\nhint: deploy the release first (berth deploy), or check -n/--release"
    )]
    NoService {
        name: String,
        namespace: String,
        service: String,
    },
    #[error("cannot read Service {namespace}/{service}: {source}")]
    Api {
        namespace: String,
        service: String,
        #[source]
        source: kube::Error,
    },
}

fn held_by(holder: &Option<Holder>) -> String {
    match holder {
        Some(h) => format!(" by pid {} ({})", h.pid, h.command),
        None => " by another process (which one is not visible to this user)".into(),
    }
}

/// A forward whose local port is bound.
pub struct Bound {
    pub forward: Forward,
    listeners: Vec<TcpListener>,
}

/// Binds every forward's port on loopback, all or none: a busy port is
/// reported before anything is served. `::1` is bound too where this machine
/// has IPv6 (browsers try it first for `localhost`); a port busy there is busy.
pub async fn bind(forwards: &[Forward]) -> Result<Vec<Bound>, ForwardError> {
    let mut bound = Vec::new();
    for forward in forwards {
        let mut listeners = Vec::new();
        let v4 = SocketAddr::from((Ipv4Addr::LOCALHOST, forward.port));
        let v6 = SocketAddr::from((Ipv6Addr::LOCALHOST, forward.port));
        for (address, required) in [(v4, true), (v6, false)] {
            match TcpListener::bind(address).await {
                Ok(listener) => listeners.push(listener),
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                    return Err(ForwardError::PortBusy {
                        name: forward.name.clone(),
                        port: forward.port,
                        holder: port_holder(forward.port),
                    });
                }
                Err(_) if !required => {}
                Err(source) => {
                    return Err(ForwardError::Bind {
                        name: forward.name.clone(),
                        address,
                        source,
                    });
                }
            }
        }
        bound.push(Bound {
            forward: forward.clone(),
            listeners,
        });
    }
    Ok(bound)
}

/// One Service's connections: where they go and whose turn it is.
struct Target {
    name: String,
    service: String,
    /// The Service port's name, to find its port in the EndpointSlices.
    port_name: Option<String>,
    pods: Api<Pod>,
    /// The Service's EndpointSlices, kept current by a watch: a connection
    /// reads readiness without a request of its own.
    slices: Store<EndpointSlice>,
    /// The metadata of the pods the Service selects (none for a Service without
    /// a selector): which of its ready pods run the newest template.
    versions: Option<Store<PartialObjectMeta<Pod>>>,
    turn: AtomicUsize,
    events: Events,
}

/// How long a connection waits for a ready pod when the Service has none
/// (a single replica restarting), before it is closed.
const WAIT_FOR_READY: Duration = Duration::from_secs(20);
/// Pods tried per connection.
const ATTEMPTS: usize = 4;
/// The pause before a connection goes again to a pod that refused it and is still ready: a
/// server reloading its code (`berth dev`'s live changes) or restarting its process drops the
/// connections it had accepted, and takes new ones again a moment later.
const AGAIN_AFTER: Duration = Duration::from_millis(100);

/// Serves every bound forward until the future is dropped (Ctrl-C in
/// `berth open`); connections in flight end with it. Fails at once when a
/// Service does not exist.
pub async fn serve(
    client: Client,
    namespace: &str,
    bound: Vec<Bound>,
    events: Events,
) -> Result<(), ForwardError> {
    let services: Api<Service> = Api::namespaced(client.clone(), namespace);
    let mut tasks = JoinSet::new();
    for Bound { forward, listeners } in bound {
        let service = services
            .get_opt(&forward.service)
            .await
            .map_err(|source| ForwardError::Api {
                namespace: namespace.to_string(),
                service: forward.service.clone(),
                source,
            })?
            .ok_or_else(|| ForwardError::NoService {
                name: forward.name.clone(),
                namespace: namespace.to_string(),
                service: forward.service.clone(),
            })?;
        let spec = service.spec.unwrap_or_default();
        let port_name = spec
            .ports
            .and_then(|ports| ports.into_iter().next())
            .and_then(|p| p.name);
        let (slices, writer) = reflector::store();
        let selector = format!("kubernetes.io/service-name={}", forward.service);
        let watch = watcher(
            Api::<EndpointSlice>::namespaced(client.clone(), namespace),
            watcher::Config::default().labels(&selector),
        )
        .default_backoff();
        // Errors are retried by the backoff; the store keeps the last state.
        tasks.spawn(reflector::reflector(writer, watch).for_each(|_| async {}));
        let pod_selector = spec
            .selector
            .filter(|labels| !labels.is_empty())
            .map(|labels| {
                let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
                pairs.join(",")
            });
        let versions = pod_selector.map(|selector| {
            let (versions, writer) = reflector::store();
            // Metadata only: labels and creation time are all it reads.
            let watch = watcher(
                Api::<PartialObjectMeta<Pod>>::namespaced(client.clone(), namespace),
                watcher::Config::default().labels(&selector),
            )
            .default_backoff();
            tasks.spawn(reflector::reflector(writer, watch).for_each(|_| async {}));
            versions
        });
        let target = Arc::new(Target {
            name: forward.name.clone(),
            service: forward.service.clone(),
            port_name,
            pods: Api::namespaced(client.clone(), namespace),
            slices,
            versions,
            turn: AtomicUsize::new(0),
            events: events.clone(),
        });
        for listener in listeners {
            tasks.spawn(accept(listener, target.clone()));
        }
    }
    while tasks.join_next().await.is_some() {}
    Ok(())
}

/// Accepts connections for ever; each is served by its own task, aborted
/// when this one is.
async fn accept(listener: TcpListener, target: Arc<Target>) {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        match listener.accept().await {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                connections.spawn(connection(stream, target.clone()));
            }
            // Out of file descriptors and the like: let the next accept try.
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Serves one accepted connection through a ready pod, replaying it to
/// another pod when one refuses before answering.
async fn connection(stream: TcpStream, target: Arc<Target>) {
    let turn = target.turn.fetch_add(1, Ordering::Relaxed);
    let started = tokio::time::Instant::now();
    let mut client = pump::Client::new(stream);
    let mut refused: Vec<String> = Vec::new();
    let fail = |error: String| {
        (target.events)(ForwardEvent::Failed {
            name: target.name.clone(),
            error,
        })
    };
    while refused.len() < ATTEMPTS {
        let (candidate, again) = match ready_pods(&target).await {
            Ok(found) => match choose(&found, &refused, turn) {
                Some(fresh) => (Some(fresh.clone()), false),
                // Every pod left refused: one still ready goes again, after a pause.
                None => (choose(&found, &[], turn).filter(|c| c.ready).cloned(), true),
            },
            Err(e) => {
                return fail(format!(
                    "cannot read the endpoints of Service {}: {e}",
                    target.service
                ));
            }
        };
        if again && candidate.is_some() {
            if started.elapsed() >= WAIT_FOR_READY {
                return fail(format!(
                    "pods of Service {} refused the connection for {}s",
                    target.service,
                    WAIT_FOR_READY.as_secs()
                ));
            }
            tokio::time::sleep(AGAIN_AFTER).await;
        }
        let Some(candidate) = candidate else {
            if started.elapsed() >= WAIT_FOR_READY {
                return fail(format!(
                    "no ready pod behind Service {} for {}s",
                    target.service,
                    WAIT_FOR_READY.as_secs()
                ));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
            continue;
        };
        let outcome = match target
            .pods
            .portforward(&candidate.pod, &[candidate.port])
            .await
        {
            Ok(forwarder) => {
                (target.events)(ForwardEvent::Connected {
                    name: target.name.clone(),
                    pod: candidate.pod.clone(),
                });
                pump::run(&mut client, forwarder, candidate.port).await
            }
            Err(e) => pump::Outcome::Refused(e.to_string()),
        };
        match outcome {
            pump::Outcome::Done => return,
            pump::Outcome::Refused(error) if client.replayable() => {
                (target.events)(ForwardEvent::Retried {
                    name: target.name.clone(),
                    pod: candidate.pod.clone(),
                    error,
                });
                if !refused.contains(&candidate.pod) {
                    refused.push(candidate.pod);
                }
            }
            pump::Outcome::Refused(error) | pump::Outcome::Broken(error) => {
                return fail(format!("pod {}: {error}", candidate.pod));
            }
        }
    }
    fail(format!("{ATTEMPTS} pods refused the connection"))
}

/// The Service's pods that can take a connection now (once the watch has
/// listed them), those of the newest template first.
async fn ready_pods(target: &Target) -> Result<Vec<Candidate>, String> {
    tokio::time::timeout(WAIT_FOR_READY, target.slices.wait_until_ready())
        .await
        .map_err(|_| {
            format!(
                "no answer to the watch of its EndpointSlices in {}s",
                WAIT_FOR_READY.as_secs()
            )
        })?
        .map_err(|e| e.to_string())?;
    let slices: Vec<EndpointSlice> = target
        .slices
        .state()
        .iter()
        .map(|s| s.as_ref().clone())
        .collect();
    let mut found = candidates(&slices, target.port_name.as_deref());
    if let Some(store) = &target.versions {
        // Not listed yet: no preference, as before the rollout began.
        let versions: BTreeMap<String, PodVersion> = store
            .state()
            .iter()
            .filter_map(|pod| {
                let meta = &pod.metadata;
                let version = PodVersion::of(meta.labels.as_ref(), meta.creation_timestamp.clone());
                Some((meta.name.clone()?, version))
            })
            .collect();
        prefer_newest(&mut found, &versions);
    }
    Ok(found)
}
