//! In-cluster PostgreSQL: a single-replica StatefulSet with a volume claim
//! template, and the headless Service that gives it a stable DNS name.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, PersistentVolumeClaim, PersistentVolumeClaimSpec, PodSpec,
    PodTemplateSpec, Secret, SecretVolumeSource, Service, ServicePort, ServiceSpec, Volume,
    VolumeMount, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::config::POSTGRES_DATA_MOUNT;
use super::context::RenderContext;
use super::generated::{TLS_CERT_KEY, TLS_KEY_KEY, database_tls_secret};
use super::labels::{component_labels, selector_labels, stable_labels};
use super::pod::{self, CHECKSUM_ANNOTATION, LIVENESS, READINESS, STARTUP, Scratch};
use super::workloads::metadata;
use crate::values::Values;

const PORT_NAME: &str = "postgres";
const DATA_VOLUME: &str = "data";
const TLS_VOLUME: &str = "tls";
const TLS_MOUNT: &str = "/etc/berth/postgres-tls";
/// Owned by root, group-readable: with the pod's fsGroup the database user's
/// group reads the key, and PostgreSQL accepts a root-owned key file of 0640.
const TLS_FILE_MODE: i32 = 0o640;

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
    let (mut volumes, mut mounts) = pod::scratch_volumes(&scratch());
    mounts.insert(
        0,
        VolumeMount {
            name: DATA_VOLUME.into(),
            mount_path: POSTGRES_DATA_MOUNT.into(),
            ..Default::default()
        },
    );
    let tls = database_tls_secret(values, ctx);
    if let Some(tls_secret) = &tls {
        volumes.push(Volume {
            name: TLS_VOLUME.into(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(tls_secret.clone()),
                default_mode: Some(TLS_FILE_MODE),
                ..Default::default()
            }),
            ..Default::default()
        });
        mounts.push(VolumeMount {
            name: TLS_VOLUME.into(),
            mount_path: TLS_MOUNT.into(),
            read_only: Some(true),
            ..Default::default()
        });
    }
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
        args: tls.is_some().then(tls_args),
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

/// Server options after the image's entrypoint: leading with an option, both
/// the upstream image's entrypoint and the node's stand-in run `postgres` with them.
fn tls_args() -> Vec<String> {
    [
        "-c".to_string(),
        "ssl=on".to_string(),
        "-c".to_string(),
        format!("ssl_cert_file={TLS_MOUNT}/{TLS_CERT_KEY}"),
        "-c".to_string(),
        format!("ssl_key_file={TLS_MOUNT}/{TLS_KEY_KEY}"),
    ]
    .into()
}

/// The database's certificate and private key, as a `kubernetes.io/tls`
/// Secret (empty until generated or read back; deploy always fills them).
pub fn tls_secret(values: &Values, ctx: &RenderContext) -> Option<Secret> {
    let name = database_tls_secret(values, ctx)?;
    let pair = values.database_tls.as_ref();
    let bytes =
        |v: Option<&String>| ByteString(v.map(|v| v.as_bytes().to_vec()).unwrap_or_default());
    let mut metadata = metadata(ctx, &ctx.database(values));
    metadata.name = Some(name);
    Some(Secret {
        metadata,
        type_: Some("kubernetes.io/tls".into()),
        data: Some(BTreeMap::from([
            (TLS_CERT_KEY.to_string(), bytes(pair.map(|p| &p.cert))),
            (TLS_KEY_KEY.to_string(), bytes(pair.map(|p| &p.key))),
        ])),
        ..Default::default()
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifests::{self, Manifest, output};
    use crate::values::{self, ProcessEnv, ValueSources};

    fn render(tls: bool) -> (Values, Vec<Manifest>) {
        let mut values = values::load(&ValueSources::default(), &ProcessEnv).unwrap();
        values.database.internal.tls = tls;
        values.secret_values.set("postgresPassword", "pw".into());
        values.fill_generated();
        let ctx = RenderContext::new(&values, "rel", None);
        let objects = manifests::render(&values, &ctx);
        (values, objects)
    }

    fn postgres_pod(objects: &[Manifest]) -> PodSpec {
        objects
            .iter()
            .find_map(|o| match o {
                Manifest::StatefulSet(s) => s.spec.clone(),
                _ => None,
            })
            .and_then(|s| s.template.spec)
            .unwrap()
    }

    #[test]
    fn tls_mounts_the_generated_pair_and_turns_ssl_on() {
        let (values, objects) = render(true);
        let pair = values.database_tls.clone().expect("generated");
        let secret = objects
            .iter()
            .find_map(|o| match o {
                Manifest::Secret(s) if o.name() == "rel-postgres-tls" => Some(s.clone()),
                _ => None,
            })
            .expect("the TLS Secret is rendered");
        assert_eq!(secret.type_.as_deref(), Some("kubernetes.io/tls"));
        let data = secret.data.unwrap();
        assert_eq!(data["tls.crt"].0, pair.cert.as_bytes());
        assert_eq!(data["tls.key"].0, pair.key.as_bytes());

        let pod = postgres_pod(&objects);
        let args = pod.containers[0].args.clone().unwrap();
        assert_eq!(
            args,
            [
                "-c",
                "ssl=on",
                "-c",
                "ssl_cert_file=/etc/berth/postgres-tls/tls.crt",
                "-c",
                "ssl_key_file=/etc/berth/postgres-tls/tls.key"
            ]
        );
        let volume = pod.volumes.unwrap().into_iter().find(|v| v.name == "tls");
        let source = volume.and_then(|v| v.secret).unwrap();
        assert_eq!(source.secret_name.as_deref(), Some("rel-postgres-tls"));
        assert_eq!(source.default_mode, Some(0o640));
        // The pod's group (fsGroup) is what makes the root-owned key readable.
        assert_eq!(
            pod.security_context.unwrap().fs_group,
            Some(values.database.internal.run_as_user)
        );
        let mount = pod.containers[0].volume_mounts.clone().unwrap();
        assert!(
            mount
                .iter()
                .any(|m| m.name == "tls" && m.read_only == Some(true))
        );
    }

    #[test]
    fn the_private_key_never_shows_in_redacted_output() {
        let (values, mut objects) = render(true);
        let key = values.database_tls.clone().unwrap().key;
        let body = key.lines().nth(1).unwrap().to_string();
        manifests::redact_secrets(&mut objects);
        let shown = output::to_yaml_stream(&objects);
        assert!(shown.contains("rel-postgres-tls"));
        assert!(!shown.contains(&body));
        assert!(!format!("{:?}", values.without_secrets()).contains(&body));
    }

    #[test]
    fn without_tls_nothing_changes() {
        let (values, objects) = render(false);
        assert!(values.database_tls.is_none());
        assert!(!objects.iter().any(|o| o.name() == "rel-postgres-tls"));
        let pod = postgres_pod(&objects);
        assert!(pod.containers[0].args.is_none());
        assert!(!pod.volumes.unwrap().iter().any(|v| v.name == "tls"));
    }
}
