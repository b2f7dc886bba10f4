//! Building blocks shared by every pod: hardened security contexts, probes,
//! resources, scratch volumes and the config checksum that rolls pods.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMapEnvSource, EmptyDirVolumeSource, EnvFromSource, ExecAction,
    HTTPGetAction, PodSecurityContext, Probe, ResourceRequirements, SeccompProfile,
    SecretEnvSource, SecurityContext, TCPSocketAction, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use sha2::{Digest, Sha256};

use crate::values::{Check, Resources};

/// Annotation whose value changes whenever a pod's configuration or secrets do.
pub const CHECKSUM_ANNOTATION: &str = "checksum/config";

/// Pod-level security: non-root with a numeric user, RuntimeDefault seccomp.
pub fn pod_security(uid: i64) -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(uid),
        run_as_group: Some(uid),
        fs_group: Some(uid),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Container-level security: no escalation, no capabilities, read-only root.
pub fn container_security(uid: i64) -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            ..Default::default()
        }),
        read_only_root_filesystem: Some(true),
        run_as_non_root: Some(true),
        run_as_user: Some(uid),
        run_as_group: Some(uid),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn resources(r: &Resources) -> ResourceRequirements {
    let amounts = |cpu: &str, memory: &str| {
        BTreeMap::from([
            ("cpu".to_string(), Quantity(cpu.to_string())),
            ("memory".to_string(), Quantity(memory.to_string())),
        ])
    };
    ResourceRequirements {
        requests: Some(amounts(&r.requests.cpu, &r.requests.memory)),
        limits: Some(amounts(&r.limits.cpu, &r.limits.memory)),
        ..Default::default()
    }
}

/// How often and how patiently a probe checks.
#[derive(Debug, Clone, Copy)]
pub struct ProbeTiming {
    pub period: i32,
    pub failures: i32,
}

/// Startup: generous, so slow first starts are not killed by liveness.
pub const STARTUP: ProbeTiming = ProbeTiming {
    period: 2,
    failures: 60,
};
pub const LIVENESS: ProbeTiming = ProbeTiming {
    period: 10,
    failures: 3,
};
pub const READINESS: ProbeTiming = ProbeTiming {
    period: 5,
    failures: 3,
};

/// A probe's timing: its period and patience, and how long one check may take
/// (a command gets a little longer than a network check).
fn timed(probe: Probe, timing: ProbeTiming, timeout: i32) -> Probe {
    Probe {
        period_seconds: Some(timing.period),
        timeout_seconds: Some(timeout),
        failure_threshold: Some(timing.failures),
        ..probe
    }
}

pub fn http_probe(path: &str, port_name: &str, timing: ProbeTiming) -> Probe {
    let action = HTTPGetAction {
        path: Some(path.into()),
        port: IntOrString::String(port_name.into()),
        ..Default::default()
    };
    timed(
        Probe {
            http_get: Some(action),
            ..Default::default()
        },
        timing,
        2,
    )
}

pub fn tcp_probe(port_name: &str, timing: ProbeTiming) -> Probe {
    let action = TCPSocketAction {
        port: IntOrString::String(port_name.into()),
        ..Default::default()
    };
    timed(
        Probe {
            tcp_socket: Some(action),
            ..Default::default()
        },
        timing,
        2,
    )
}

pub fn exec_probe(command: Vec<String>, timing: ProbeTiming) -> Probe {
    let action = ExecAction {
        command: Some(command),
    };
    timed(
        Probe {
            exec: Some(action),
            ..Default::default()
        },
        timing,
        3,
    )
}

/// The probe for a resolved check, on the named port.
pub fn probe(check: &Check, port_name: &str, timing: ProbeTiming) -> Probe {
    match check {
        Check::Http(path) => http_probe(path, port_name, timing),
        Check::Tcp => tcp_probe(port_name, timing),
        Check::Exec(command) => exec_probe(command.clone(), timing),
    }
}

/// A writable scratch directory on a read-only root filesystem.
pub struct Scratch {
    pub name: String,
    pub mount_path: String,
}

pub fn scratch_volumes(scratch: &[Scratch]) -> (Vec<Volume>, Vec<VolumeMount>) {
    scratch
        .iter()
        .map(|s| {
            let volume = Volume {
                name: s.name.clone(),
                empty_dir: Some(EmptyDirVolumeSource::default()),
                ..Default::default()
            };
            let mount = VolumeMount {
                name: s.name.clone(),
                mount_path: s.mount_path.clone(),
                ..Default::default()
            };
            (volume, mount)
        })
        .unzip()
}

/// Environment from the component's ConfigMap and Secret.
pub fn env_from(config_map: &str, secret: Option<&str>) -> Vec<EnvFromSource> {
    let mut sources = vec![EnvFromSource {
        config_map_ref: Some(ConfigMapEnvSource {
            name: config_map.into(),
            optional: None,
        }),
        ..Default::default()
    }];
    if let Some(secret) = secret {
        sources.push(EnvFromSource {
            secret_ref: Some(SecretEnvSource {
                name: secret.into(),
                optional: None,
            }),
            ..Default::default()
        });
    }
    sources
}

/// SHA-256 over `KEY=VALUE\n` lines sorted by key: stable across runs, changes
/// with any value, and simple to reproduce in a Helm template (`range` over a dict
/// visits keys in sorted order).
pub fn checksum<'a>(pairs: impl IntoIterator<Item = (&'a String, &'a String)>) -> String {
    let sorted: BTreeMap<&String, &String> = pairs.into_iter().collect();
    let mut hasher = Sha256::new();
    for (key, value) in sorted {
        hasher.update(format!("{key}={value}\n").as_bytes());
    }
    hex::encode(hasher.finalize())
}
