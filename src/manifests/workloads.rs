//! A component's workload: a ServiceAccount, a Deployment (with its tasks as
//! init containers) and, when it has a port, a Service.

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, Lifecycle, LifecycleHandler, PodSpec, PodTemplateSpec, Probe,
    ResourceRequirements, Service, ServiceAccount, ServicePort, ServiceSpec, SleepAction,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::context::{Identity, RenderContext};
use super::labels::{component_labels, selector_labels};
use super::pod::{self, CHECKSUM_ANNOTATION, LIVENESS, READINESS, STARTUP, Scratch};
use crate::values::validate::writable_volume_name;
use crate::values::{Check, Component, ProbeCheck, ResourceAmounts, Resources};

/// Name of the container port every HTTP component exposes.
pub const HTTP_PORT_NAME: &str = "http";

/// Resources of a component that declares none.
pub fn default_resources() -> Resources {
    let amounts = |cpu: &str, memory: &str| ResourceAmounts {
        cpu: cpu.into(),
        memory: memory.into(),
    };
    Resources {
        requests: amounts("100m", "128Mi"),
        limits: amounts("500m", "256Mi"),
    }
}

/// What a Deployment needs beyond the component's values.
pub struct DeploymentInput<'a> {
    pub who: &'a Identity,
    pub component: &'a Component,
    /// `None` when an HPA owns the replica count.
    pub replicas: Option<i32>,
    pub pull_policy: &'a str,
    pub checksum: String,
    /// The Secret the pods read, if any.
    pub secret: Option<String>,
}

/// The emptyDir scratch directories of a component's writable paths.
pub fn scratch_dirs(c: &Component) -> Vec<Scratch> {
    c.writable_paths
        .iter()
        .map(|path| Scratch {
            name: writable_volume_name(path),
            mount_path: path.clone(),
        })
        .collect()
}

pub fn service_account(ctx: &RenderContext, who: &Identity) -> ServiceAccount {
    ServiceAccount {
        metadata: metadata(ctx, who),
        // None of the workloads talks to the Kubernetes API.
        automount_service_account_token: Some(false),
        ..Default::default()
    }
}

/// Seconds a serving container keeps running after it is told to stop.
pub const DRAIN_SECONDS: i64 = 5;

/// The dev profile's drain: `berth open`'s forwards pick a ready pod per connection, so only
/// connections already under way need it.
pub const DEV_DRAIN_SECONDS: i64 = 1;
/// The dev profile's termination grace (Kubernetes' default is 30 s).
pub const DEV_GRACE_SECONDS: i64 = 5;
/// The dev profile's probes check every second (the least Kubernetes allows) so a new pod is
/// ready a second after it listens; as patient as the standard ones, in checks.
pub const DEV_PROBE_PERIOD: i32 = 1;

/// A serving pod is removed from its Service's endpoints at the same moment
/// its containers are told to stop; kube-proxy and ingress controllers learn of
/// it a little later. Sleeping before the stop signal lets requests already
/// routed to the pod land, so a rolling upgrade loses none (measured on the
/// real node: without it, 0–2 of ~200 requests were refused per rollout).
pub fn drain_before_stop(seconds: i64) -> Lifecycle {
    Lifecycle {
        pre_stop: Some(LifecycleHandler {
            sleep: Some(SleepAction { seconds }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Startup, readiness and liveness probes: each override, else the default
/// check, else a TCP check on the port (none for a worker).
pub fn probes(c: &Component) -> [Option<Probe>; 3] {
    let fallback = c.port.map(|_| Check::Tcp);
    let base = c.probes.base().check().or(fallback);
    let pick =
        |over: &Option<ProbeCheck>| over.as_ref().and_then(ProbeCheck::check).or(base.clone());
    [
        (&c.probes.startup, STARTUP),
        (&c.probes.readiness, READINESS),
        (&c.probes.liveness, LIVENESS),
    ]
    .map(|(over, timing)| pick(over).map(|check| pod::probe(&check, HTTP_PORT_NAME, timing)))
}

/// The dev profile's probes: the startup probe every second, with as many seconds of patience
/// as the standard one, and no readiness probe, so a container is ready the moment its startup
/// probe passes (with both, the readiness probe's own one-second tick came after the startup
/// probe's: up to two seconds from listening to ready). Liveness as in the standard profile.
fn dev_probes([startup, readiness, liveness]: [Option<Probe>; 3]) -> [Option<Probe>; 3] {
    let faster = |p: Probe| {
        let period = p.period_seconds.unwrap_or(DEV_PROBE_PERIOD);
        let failures = p.failure_threshold.unwrap_or(3);
        Probe {
            period_seconds: Some(DEV_PROBE_PERIOD),
            failure_threshold: Some(failures * period / DEV_PROBE_PERIOD),
            ..p
        }
    };
    match startup {
        Some(startup) => [Some(faster(startup)), None, liveness],
        // Without a startup probe the readiness probe is what says a pod is ready.
        None => [None, readiness.map(faster), liveness],
    }
}

/// The dev profile's resources: no CPU limit (requests and the memory limit kept). Each change
/// starts a new process, and a start is CPU-bound (a Python app imports its modules, a Node
/// server loads its bundle): under a 500m limit the reference backend's start took twice as
/// long. A dev cluster is one developer's machine; `berth deploy` keeps the limit.
fn dev_resources(resources: &mut ResourceRequirements) {
    if let Some(limits) = resources.limits.as_mut() {
        limits.remove("cpu");
    }
}

/// A live component's container in the dev profile: its `[dev]` command instead of the image's,
/// run as root (owner of the image's files) on a writable root filesystem, so `berth dev` can
/// copy changed files over the image's and the server reload them; no liveness probe, whose
/// restart would put the image's files back (a reload, or code broken until the next save,
/// fails it).
fn live_container(container: &mut Container, command: &[String]) {
    container.command = Some(command.to_vec());
    container.args = None;
    container.liveness_probe = None;
    if let Some(security) = container.security_context.as_mut() {
        security.run_as_user = Some(0);
        security.run_as_group = Some(0);
        security.run_as_non_root = Some(false);
        security.read_only_root_filesystem = Some(false);
    }
}

pub fn deployment(ctx: &RenderContext, input: DeploymentInput<'_>) -> Deployment {
    let c = input.component;
    let who = input.who;
    let scratch = scratch_dirs(c);
    let (volumes, mounts) = pod::scratch_volumes(&scratch);
    let mut resources = pod::resources(c.resources.as_ref().unwrap_or(&default_resources()));
    if ctx.dev_profile {
        dev_resources(&mut resources);
    }
    let env_from = pod::env_from(&who.object_name, input.secret.as_deref());
    let non_empty = |mounts: Vec<_>| (!mounts.is_empty()).then_some(mounts);
    let (probes, drain, grace) = if ctx.dev_profile {
        (
            dev_probes(probes(c)),
            DEV_DRAIN_SECONDS,
            Some(DEV_GRACE_SECONDS),
        )
    } else {
        (probes(c), DRAIN_SECONDS, None)
    };
    let [startup, readiness, liveness] = probes;
    let mut container = Container {
        name: who.component.clone(),
        image: Some(c.image.reference()),
        image_pull_policy: Some(input.pull_policy.into()),
        command: c.command.clone(),
        args: c.args.clone(),
        ports: c.port.map(|port| {
            vec![ContainerPort {
                name: Some(HTTP_PORT_NAME.into()),
                container_port: port.into(),
                protocol: Some("TCP".into()),
                ..Default::default()
            }]
        }),
        env_from: Some(env_from.clone()),
        lifecycle: c.port.map(|_| drain_before_stop(drain)),
        startup_probe: startup,
        liveness_probe: liveness,
        readiness_probe: readiness,
        resources: Some(resources.clone()),
        security_context: Some(pod::container_security(c.uid())),
        volume_mounts: non_empty(mounts.clone()),
        ..Default::default()
    };
    if let Some(command) = ctx.live.get(&who.component).filter(|_| ctx.dev_profile) {
        live_container(&mut container, command);
    }
    // Tasks run to completion, in name order, before the new version starts:
    // same image, environment and security as the component.
    let tasks: Vec<Container> = c
        .tasks
        .iter()
        .map(|(name, task)| Container {
            name: name.clone(),
            image: Some(c.image.reference()),
            image_pull_policy: Some(input.pull_policy.into()),
            command: Some(task.command.clone()),
            args: task.args.clone(),
            env_from: Some(env_from.clone()),
            resources: Some(resources.clone()),
            security_context: Some(pod::container_security(c.uid())),
            volume_mounts: non_empty(mounts.clone()),
            ..Default::default()
        })
        .collect();
    let mut annotations = c.pod_annotations.clone();
    annotations.insert(CHECKSUM_ANNOTATION.into(), input.checksum);
    let mut labels = c.pod_labels.clone();
    labels.extend(component_labels(ctx, who));
    Deployment {
        metadata: metadata(ctx, who),
        spec: Some(DeploymentSpec {
            replicas: input.replicas,
            revision_history_limit: Some(5),
            selector: LabelSelector {
                match_labels: Some(selector_labels(ctx, who)),
                ..Default::default()
            },
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateDeployment {
                    // Never below the desired count during an upgrade.
                    max_unavailable: Some(IntOrString::Int(0)),
                    max_surge: Some(IntOrString::Int(1)),
                }),
            }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    annotations: Some(annotations),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    service_account_name: Some(who.object_name.clone()),
                    automount_service_account_token: Some(false),
                    // Service links add variables the apps never read.
                    enable_service_links: Some(false),
                    security_context: Some(pod::pod_security(c.uid())),
                    init_containers: (!tasks.is_empty()).then_some(tasks),
                    containers: vec![container],
                    termination_grace_period_seconds: grace,
                    volumes: (!volumes.is_empty()).then_some(volumes),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// ClusterIP inside the cluster; a NodePort for the entry point when that is
/// how the app is exposed.
pub fn service(ctx: &RenderContext, who: &Identity, port: u16, node_port: Option<i32>) -> Service {
    Service {
        metadata: metadata(ctx, who),
        spec: Some(ServiceSpec {
            type_: Some(
                if node_port.is_some() {
                    "NodePort"
                } else {
                    "ClusterIP"
                }
                .into(),
            ),
            selector: Some(selector_labels(ctx, who)),
            ports: Some(vec![ServicePort {
                name: Some(HTTP_PORT_NAME.into()),
                port: port.into(),
                target_port: Some(IntOrString::String(HTTP_PORT_NAME.into())),
                protocol: Some("TCP".into()),
                node_port,
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn metadata(ctx: &RenderContext, who: &Identity) -> ObjectMeta {
    ObjectMeta {
        name: Some(who.object_name.clone()),
        namespace: Some(ctx.namespace.clone()),
        labels: Some(component_labels(ctx, who)),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::{Image, Probes};

    #[test]
    fn the_dev_profile_is_ready_when_its_startup_probe_passes() {
        let c = component(Some(8000), Probes::default());
        let [startup, readiness, liveness] = dev_probes(probes(&c));
        let startup = startup.unwrap();
        assert_eq!(startup.period_seconds, Some(1));
        assert_eq!(
            startup.failure_threshold,
            Some(STARTUP.failures * STARTUP.period),
            "as patient as the standard startup probe"
        );
        assert!(readiness.is_none());
        assert_eq!(liveness.unwrap().period_seconds, Some(LIVENESS.period));
    }

    #[test]
    fn the_dev_profile_lifts_only_the_cpu_limit() {
        let mut r = pod::resources(&default_resources());
        dev_resources(&mut r);
        let keys = |m: &Option<std::collections::BTreeMap<String, _>>| {
            m.as_ref().unwrap().keys().cloned().collect::<Vec<String>>()
        };
        assert_eq!(keys(&r.limits), ["memory"]);
        assert_eq!(keys(&r.requests), ["cpu", "memory"]);
    }

    #[test]
    fn a_live_container_runs_its_dev_command_as_root_on_a_writable_root() {
        let mut c = Container {
            command: Some(vec!["python".into(), "-m".into(), "app".into()]),
            args: Some(vec!["--port".into()]),
            security_context: Some(pod::container_security(10001)),
            liveness_probe: Some(Probe::default()),
            ..Default::default()
        };
        let dev = ["uvicorn".to_string(), "--reload".to_string()];
        live_container(&mut c, &dev);
        assert_eq!(c.command.as_deref(), Some(&dev[..]));
        assert_eq!(c.args, None);
        assert_eq!(c.liveness_probe, None);
        let s = c.security_context.unwrap();
        assert_eq!(
            (
                s.run_as_user,
                s.run_as_non_root,
                s.read_only_root_filesystem
            ),
            (Some(0), Some(false), Some(false))
        );
        // Everything else of the standard profile stays.
        assert_eq!(s.allow_privilege_escalation, Some(false));
        assert_eq!(s.capabilities.unwrap().drop.unwrap(), ["ALL"]);
    }

    fn component(port: Option<u16>, probes: Probes) -> Component {
        let yaml = serde_json::json!({"image": {"repository": "r", "tag": "t"}});
        let mut c: Component = serde_json::from_value(yaml).unwrap();
        c.port = port;
        c.probes = probes;
        c.image = Image {
            repository: "r".into(),
            tag: "t".into(),
            build: None,
            build_env: Default::default(),
        };
        c
    }

    #[test]
    fn probes_default_to_tcp_on_the_port_and_to_none_for_a_worker() {
        let [startup, readiness, liveness] = probes(&component(Some(80), Probes::default()));
        for probe in [startup, readiness, liveness] {
            assert!(probe.unwrap().tcp_socket.is_some());
        }
        assert_eq!(
            probes(&component(None, Probes::default())),
            [None, None, None]
        );
    }

    #[test]
    fn each_probe_may_override_the_default_check() {
        let probes_in = Probes {
            http: Some("/health".into()),
            readiness: Some(ProbeCheck {
                exec: Some(vec!["true".into()]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let [startup, readiness, liveness] = probes(&component(Some(80), probes_in));
        let path = |p: Option<Probe>| p.unwrap().http_get.unwrap().path.unwrap();
        assert_eq!(path(startup), "/health");
        assert_eq!(path(liveness), "/health");
        assert!(readiness.unwrap().exec.is_some());
    }
}
