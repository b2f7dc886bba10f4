//! In-cluster PostgreSQL: a single-replica StatefulSet with a volume claim
//! template, and the headless Service that gives it a stable DNS name.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, PersistentVolumeClaim, PersistentVolumeClaimSpec, PodSpec,
    PodTemplateSpec, Service, ServicePort, ServiceSpec, VolumeMount, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::config::POSTGRES_DATA_MOUNT;
use super::context::RenderContext;
use super::labels::{component_labels, selector_labels, stable_labels};
use super::pod::{self, CHECKSUM_ANNOTATION, LIVENESS, READINESS, STARTUP, Scratch};
use super::workloads::metadata;
use crate::values::Values;

const PORT_NAME: &str = "postgres";
const DATA_VOLUME: &str = "data";

/// Writable directories besides the data volume: the socket directory and /tmp.
fn scratch() -> [Scratch; 2] {
    [("run", "/var/run/postgresql"), ("tmp", "/tmp")].map(|(name, path)| Scratch {
        name: name.into(),
        mount_path: path.into(),
    })
}

pub fn stateful_set(
    values: &Values,
    ctx: &RenderContext,
    checksum: String,
    secret: Option<&str>,
) -> StatefulSet {
    let db = &values.database;
    let internal = &db.internal;
    let who = ctx.database(values);
    let name = who.object_name.clone();
    let (volumes, mut mounts) = pod::scratch_volumes(&scratch());
    mounts.insert(
        0,
        VolumeMount {
            name: DATA_VOLUME.into(),
            mount_path: POSTGRES_DATA_MOUNT.into(),
            ..Default::default()
        },
    );
    // Connect over TCP on loopback: the probe then checks what clients use.
    let pg_isready = |timing| {
        let command = [
            "pg_isready",
            "-h",
            "127.0.0.1",
            "-p",
            &internal.port.to_string(),
            "-U",
            &db.user,
            "-d",
            &db.name,
        ];
        pod::exec_probe(command.iter().map(|s| s.to_string()).collect(), timing)
    };
    let container = Container {
        name: "postgres".into(),
        image: Some(internal.image.reference()),
        image_pull_policy: Some(values.image_pull_policy.as_str().into()),
        ports: Some(vec![ContainerPort {
            name: Some(PORT_NAME.into()),
            container_port: internal.port.into(),
            protocol: Some("TCP".into()),
            ..Default::default()
        }]),
        env_from: Some(pod::env_from(&name, secret)),
        startup_probe: Some(pg_isready(STARTUP)),
        liveness_probe: Some(pg_isready(LIVENESS)),
        readiness_probe: Some(pg_isready(READINESS)),
        resources: Some(pod::resources(&internal.resources)),
        security_context: Some(pod::container_security(internal.run_as_user)),
        volume_mounts: Some(mounts),
        ..Default::default()
    };
    StatefulSet {
        metadata: metadata(ctx, &who),
        spec: Some(StatefulSetSpec {
            replicas: Some(1),
            service_name: Some(name.clone()),
            selector: LabelSelector {
                match_labels: Some(selector_labels(ctx, &who)),
                ..Default::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(component_labels(ctx, &who)),
                    annotations: Some(BTreeMap::from([(CHECKSUM_ANNOTATION.into(), checksum)])),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    service_account_name: Some(name),
                    automount_service_account_token: Some(false),
                    enable_service_links: Some(false),
                    security_context: Some(pod::pod_security(internal.run_as_user)),
                    containers: vec![container],
                    volumes: Some(volumes),
                    ..Default::default()
                }),
            },
            volume_claim_templates: Some(vec![volume_claim_template(values, ctx)]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Claim templates are immutable, so they carry no version label.
fn volume_claim_template(values: &Values, ctx: &RenderContext) -> PersistentVolumeClaim {
    let internal = &values.database.internal;
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(DATA_VOLUME.into()),
            labels: Some(stable_labels(ctx, &ctx.database(values))),
            ..Default::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".into()]),
            storage_class_name: (!internal.storage_class.is_empty())
                .then(|| internal.storage_class.clone()),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".into(),
                    Quantity(internal.storage.clone()),
                )])),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Headless: clients reach the one pod directly by the Service's name.
pub fn headless_service(values: &Values, ctx: &RenderContext) -> Service {
    let port = values.database.internal.port;
    let who = ctx.database(values);
    Service {
        metadata: metadata(ctx, &who),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            cluster_ip: Some("None".into()),
            selector: Some(selector_labels(ctx, &who)),
            ports: Some(vec![ServicePort {
                name: Some(PORT_NAME.into()),
                port: port.into(),
                target_port: Some(IntOrString::String(PORT_NAME.into())),
                protocol: Some("TCP".into()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}
