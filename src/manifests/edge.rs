//! The edge proxy: in `nodePort` and `none` modes, when the routes name
//! several components (or strip a prefix), an nginx-unprivileged Deployment
//! configured from the routes stands behind the one entry point, so one origin
//! serves every route as an Ingress or a Gateway would. Its Service
//! `<release>-edge` carries the NodePort instead of the `/` component's.
//!
//! Hardened like every workload: non-root (nginx-unprivileged's user 101),
//! read-only root filesystem with an emptyDir for nginx's pid and temporary
//! files, no capabilities, RuntimeDefault seccomp, probes, limits, and a
//! checksum of its configuration so a route change rolls it, and the
//! release's PodDisruptionBudget when it runs more than one pod.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, ContainerPort, EmptyDirVolumeSource, PodSpec,
    PodTemplateSpec, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::context::{Identity, RenderContext};
use super::edge_config::{
    EDGE_CONFIG_DIR, EDGE_CONFIG_FILE, EDGE_HEALTH_PATH, EDGE_HEALTH_PORT, EDGE_PORT,
    EDGE_SCRATCH_DIR, nginx_conf,
};
use super::exposure::service_routes;
use super::labels::{component_labels, selector_labels};
use super::network_policy;
use super::object::Manifest;
use super::pod::{self, CHECKSUM_ANNOTATION, LIVENESS, READINESS, STARTUP};
use super::scaling;
use super::workloads::{
    DRAIN_SECONDS, HTTP_PORT_NAME, drain_before_stop, metadata, service, service_account,
};
use crate::values::routes::uses_edge;
use crate::values::{ExposeMode, Values};

/// The edge's name among the release's objects (`<release>-edge`) and its
/// component label; no component may take it (see `validate`).
pub const EDGE_NAME: &str = "edge";
/// The edge's `app.kubernetes.io/name`: the software it runs.
pub const EDGE_SOFTWARE: &str = "nginx";
/// nginx-unprivileged's user and group.
pub const EDGE_UID: i64 = 101;
/// The container port carrying the probes.
const HEALTH_PORT_NAME: &str = "health";
const CONFIG_VOLUME: &str = "config";
const SCRATCH_VOLUME: &str = "tmp";

/// Who the edge's objects are.
pub fn edge_identity(values: &Values, ctx: &RenderContext) -> Identity {
    Identity {
        object_name: ctx.name(EDGE_NAME),
        component: EDGE_NAME.to_string(),
        software: EDGE_SOFTWARE.to_string(),
        version: values.expose.edge.image.tag.clone(),
    }
}

/// The edge's objects; none when no edge is needed or nothing routed runs.
pub fn render(values: &Values, ctx: &RenderContext) -> Vec<Manifest> {
    let routes = service_routes(values, ctx);
    if !uses_edge(values) || routes.is_empty() {
        return Vec::new();
    }
    let who = edge_identity(values, ctx);
    let conf = nginx_conf(&routes, &values.expose.edge.max_body_size);
    let data = BTreeMap::from([(EDGE_CONFIG_FILE.to_string(), conf)]);
    let checksum = pod::checksum(&data);
    let node_port = (values.expose.mode == ExposeMode::NodePort).then_some(values.expose.node_port);
    let mut objects = vec![
        Manifest::ServiceAccount(service_account(ctx, &who)),
        Manifest::ConfigMap(ConfigMap {
            metadata: metadata(ctx, &who),
            data: Some(data),
            ..Default::default()
        }),
        Manifest::Deployment(deployment(values, ctx, &who, checksum)),
        Manifest::Service(service(ctx, &who, EDGE_PORT, node_port)),
    ];
    // The release-wide budget, as for a component of fixed replicas: every
    // route goes through the edge, so a drain must leave one serving.
    let budget = &values.pod_disruption_budget;
    if let Some(pdb) = scaling::disruption_budget(ctx, &who, budget, values.expose.edge.replicas) {
        objects.push(Manifest::PodDisruptionBudget(pdb));
    }
    if values.network_policy.enabled {
        objects.push(Manifest::NetworkPolicy(network_policy::edge_policy(
            values, ctx, &who,
        )));
    }
    objects
}

fn deployment(
    values: &Values,
    ctx: &RenderContext,
    who: &Identity,
    checksum: String,
) -> Deployment {
    let edge = &values.expose.edge;
    let port = |name: &str, number: u16| ContainerPort {
        name: Some(name.into()),
        container_port: number.into(),
        protocol: Some("TCP".into()),
        ..Default::default()
    };
    let mount = |name: &str, path: &str, read_only: bool| VolumeMount {
        name: name.into(),
        mount_path: path.into(),
        read_only: read_only.then_some(true),
        ..Default::default()
    };
    let container = Container {
        name: who.component.clone(),
        image: Some(edge.image.reference()),
        image_pull_policy: Some(values.image_pull_policy.as_str().into()),
        // nginx itself, not the image's entrypoint scripts (they rewrite files
        // under /etc/nginx, which is read-only here); `-e stderr` before the
        // configuration is read, so the compiled-in log path is never opened.
        command: Some(vec![
            "nginx".into(),
            "-e".into(),
            "stderr".into(),
            "-c".into(),
            format!("{EDGE_CONFIG_DIR}/{EDGE_CONFIG_FILE}"),
        ]),
        ports: Some(vec![
            port(HTTP_PORT_NAME, EDGE_PORT),
            port(HEALTH_PORT_NAME, EDGE_HEALTH_PORT),
        ]),
        // As every serving container: requests already routed here still land.
        lifecycle: Some(drain_before_stop(DRAIN_SECONDS)),
        startup_probe: Some(pod::http_probe(EDGE_HEALTH_PATH, HEALTH_PORT_NAME, STARTUP)),
        liveness_probe: Some(pod::http_probe(
            EDGE_HEALTH_PATH,
            HEALTH_PORT_NAME,
            LIVENESS,
        )),
        readiness_probe: Some(pod::http_probe(
            EDGE_HEALTH_PATH,
            HEALTH_PORT_NAME,
            READINESS,
        )),
        resources: Some(pod::resources(&edge.resources)),
        security_context: Some(pod::container_security(EDGE_UID)),
        volume_mounts: Some(vec![
            mount(CONFIG_VOLUME, EDGE_CONFIG_DIR, true),
            mount(SCRATCH_VOLUME, EDGE_SCRATCH_DIR, false),
        ]),
        ..Default::default()
    };
    let labels = component_labels(ctx, who);
    Deployment {
        metadata: metadata(ctx, who),
        spec: Some(DeploymentSpec {
            replicas: Some(edge.replicas),
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
                    annotations: Some(BTreeMap::from([(CHECKSUM_ANNOTATION.into(), checksum)])),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    service_account_name: Some(who.object_name.clone()),
                    automount_service_account_token: Some(false),
                    enable_service_links: Some(false),
                    security_context: Some(pod::pod_security(EDGE_UID)),
                    containers: vec![container],
                    volumes: Some(vec![
                        Volume {
                            name: CONFIG_VOLUME.into(),
                            config_map: Some(ConfigMapVolumeSource {
                                name: who.object_name.clone(),
                                ..Default::default()
                            }),
                            ..Default::default()
                        },
                        Volume {
                            name: SCRATCH_VOLUME.into(),
                            empty_dir: Some(EmptyDirVolumeSource::default()),
                            ..Default::default()
                        },
                    ]),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}
