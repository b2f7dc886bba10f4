//! The stateless HTTP components (frontend, backend, MCP server): a
//! ServiceAccount, a Deployment and a Service each.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, PodSpec, PodTemplateSpec, Service, ServiceAccount, ServicePort,
    ServiceSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::context::{ComponentName, RenderContext};
use super::labels::{component_labels, selector_labels};
use super::pod::{self, CHECKSUM_ANNOTATION, LIVENESS, READINESS, STARTUP, Scratch};
use crate::values::{Component, ExposeMode, Values};

/// Name of the container port every HTTP component exposes.
pub const HTTP_PORT_NAME: &str = "http";

/// What a Deployment needs beyond the component's values.
pub struct DeploymentInput<'a> {
    pub component: ComponentName,
    pub values: &'a Component,
    /// `None` when an HPA owns the replica count.
    pub replicas: Option<i32>,
    pub pull_policy: &'a str,
    pub checksum: String,
    /// The Secret the pods read, if any.
    pub secret: Option<String>,
    pub scratch: &'a [Scratch],
}

/// Writable directories each component's process needs on a read-only root.
pub fn scratch_dirs(component: ComponentName) -> &'static [Scratch] {
    const TMP: Scratch = Scratch {
        name: "tmp",
        mount_path: "/tmp",
    };
    match component {
        // Next.js writes its image and fetch cache next to the server.
        ComponentName::Frontend => &[
            TMP,
            Scratch {
                name: "next-cache",
                mount_path: "/app/.next/cache",
            },
        ],
        _ => &[TMP],
    }
}

pub fn service_account(
    ctx: &RenderContext,
    component: ComponentName,
    version: &str,
) -> ServiceAccount {
    ServiceAccount {
        metadata: metadata(ctx, component, version),
        // None of the components talks to the Kubernetes API.
        automount_service_account_token: Some(false),
        ..Default::default()
    }
}

pub fn deployment(ctx: &RenderContext, input: DeploymentInput<'_>) -> Deployment {
    let c = input.values;
    let component = input.component;
    let version = &c.image.tag;
    let name = ctx.name(component);
    let (volumes, mounts) = pod::scratch_volumes(input.scratch);
    let container = Container {
        name: component.as_str().into(),
        image: Some(c.image.reference()),
        image_pull_policy: Some(input.pull_policy.into()),
        ports: Some(vec![ContainerPort {
            name: Some(HTTP_PORT_NAME.into()),
            container_port: c.port.into(),
            protocol: Some("TCP".into()),
            ..Default::default()
        }]),
        env_from: Some(pod::env_from(&name, input.secret.as_deref())),
        startup_probe: Some(pod::http_probe(&c.health_path, HTTP_PORT_NAME, STARTUP)),
        liveness_probe: Some(pod::http_probe(&c.health_path, HTTP_PORT_NAME, LIVENESS)),
        readiness_probe: Some(pod::http_probe(&c.ready_path, HTTP_PORT_NAME, READINESS)),
        resources: Some(pod::resources(&c.resources)),
        security_context: Some(pod::container_security(c.run_as_user)),
        volume_mounts: Some(mounts),
        ..Default::default()
    };
    Deployment {
        metadata: metadata(ctx, component, version),
        spec: Some(DeploymentSpec {
            replicas: input.replicas,
            revision_history_limit: Some(5),
            selector: LabelSelector {
                match_labels: Some(selector_labels(ctx, component)),
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
                    labels: Some(component_labels(ctx, component, version)),
                    annotations: Some(BTreeMap::from([(
                        CHECKSUM_ANNOTATION.into(),
                        input.checksum,
                    )])),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    service_account_name: Some(name.clone()),
                    automount_service_account_token: Some(false),
                    // Service links add variables the apps never read.
                    enable_service_links: Some(false),
                    security_context: Some(pod::pod_security(c.run_as_user)),
                    containers: vec![container],
                    volumes: Some(volumes),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// ClusterIP inside the cluster; the frontend's is a NodePort when that is how
/// the app is exposed.
pub fn service(
    ctx: &RenderContext,
    values: &Values,
    component: ComponentName,
    c: &Component,
) -> Service {
    let node_port = (component == ComponentName::Frontend
        && values.expose.mode == ExposeMode::NodePort)
        .then_some(values.expose.node_port);
    Service {
        metadata: metadata(ctx, component, &c.image.tag),
        spec: Some(ServiceSpec {
            type_: Some(
                if node_port.is_some() {
                    "NodePort"
                } else {
                    "ClusterIP"
                }
                .into(),
            ),
            selector: Some(selector_labels(ctx, component)),
            ports: Some(vec![ServicePort {
                name: Some(HTTP_PORT_NAME.into()),
                port: c.port.into(),
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

pub fn metadata(ctx: &RenderContext, component: ComponentName, version: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(ctx.name(component)),
        namespace: Some(ctx.namespace.clone()),
        labels: Some(component_labels(ctx, component, version)),
        ..Default::default()
    }
}
