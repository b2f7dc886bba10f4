//! `doctor`: what commonly stops a deploy, checked before one. Each check
//! reads the objects the values render (so it judges what a deploy would
//! apply) against the cluster, and says pass, warn or fail with a fix.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Namespace, Node, Pod, PodSpec, Service};
use k8s_openapi::api::networking::v1::IngressClass;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt};
use serde::Serialize;

pub use super::access::ClusterAccess;
use crate::apply::Release;
use crate::cluster::origin::{LOCAL_ORIGIN_HINT, Place};
use crate::manifests::{self, Manifest, RenderContext};
use crate::values::Values;
use crate::values::quantity::parse_quantity;

mod pod_security;
use pod_security::*;

mod exposure;
use exposure::*;

mod capacity;
use capacity::*;

pub mod build_tools;
mod origin;
use origin::*;

/// The Kubernetes minor version berth's API types are built for.
pub const API_MINOR: u32 = 35;
/// The oldest minor whose API has everything berth renders (stable HPA v2,
/// PDB v1, the Pod Security labels).
pub const OLDEST_MINOR: u32 = 25;

/// What doctor needs: the resolved values and how the cluster was found.
pub struct DoctorInput {
    pub values: Values,
    pub ctx: RenderContext,
    pub cluster: ClusterAccess,
    /// The host's OS (`std::env::consts::OS`): Minikube's docker driver is
    /// reachable directly only on Linux.
    pub host_os: String,
    /// The host tools the image specs run, and specs that do not load ([`build_tools::uses`]).
    pub build_tools: (Vec<build_tools::ToolUse>, Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
}

/// One check's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    /// Stable id (`kubeconfig`, `api-server`, …) for scripts.
    pub id: &'static str,
    pub status: Status,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Check {
    fn pass(id: &'static str, message: impl Into<String>) -> Self {
        Check {
            id,
            status: Status::Pass,
            message: message.into(),
            hint: None,
        }
    }
    fn warn(id: &'static str, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Check {
            id,
            status: Status::Warn,
            message: message.into(),
            hint: Some(hint.into()),
        }
    }
    fn fail(id: &'static str, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Check {
            id,
            status: Status::Fail,
            message: message.into(),
            hint: Some(hint.into()),
        }
    }
}

/// Every check, in order; `ok` is false when any failed.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DoctorReport {
    pub release: String,
    pub namespace: String,
    pub context: Option<String>,
    pub ok: bool,
    pub checks: Vec<Check>,
}

/// Every object of a kind, cluster-wide.
async fn list_all<K>(client: &Client) -> Result<Vec<K>, kube::Error>
where
    K: kube::Resource<DynamicType = ()> + Clone + std::fmt::Debug + serde::de::DeserializeOwned,
{
    let list = Api::<K>::all(client.clone())
        .list(&ListParams::default())
        .await?;
    Ok(list.items)
}

pub use crate::cluster::FIRST_RUN_HINT;

/// Runs every check.
pub async fn run(input: &DoctorInput) -> DoctorReport {
    let release = Release::new(&input.ctx.release, &input.ctx.namespace);
    let objects = manifests::render(&input.values, &input.ctx);
    let mut checks = vec![secrets(&input.values)];
    let context = match &input.cluster {
        ClusterAccess::NoKubeconfig => {
            checks.push(Check::fail(
                "kubeconfig",
                "no kubeconfig found ($KUBECONFIG, ~/.kube/config): berth has no cluster to deploy to yet",
                FIRST_RUN_HINT,
            ));
            None
        }
        ClusterAccess::Unusable { context, message } => {
            checks.push(Check::fail(
                "api-server",
                format!("context `{context}`: {message}"),
                "start the cluster (minikube start), or pick another with --kube-context / --kubeconfig",
            ));
            Some(context.clone())
        }
        ClusterAccess::Connected {
            client,
            context,
            server,
            local,
            minikube,
        } => {
            let place = Place {
                context: context.clone(),
                local: local.clone(),
                minikube: minikube.clone(),
                host_os: input.host_os.clone(),
            };
            let local = local.as_deref();
            checks.push(Check::pass(
                "kubeconfig",
                format!("context `{context}`, server {server}"),
            ));
            checks.push(api_version(client).await);
            checks.push(capacity(client, &release, &objects, local == Some("minikube")).await);
            checks.push(storage(client, &objects).await);
            checks.push(metrics(client, &objects).await);
            checks.push(exposure(client, &release, &input.values, &objects).await);
            checks.push(images(client, &objects, local).await);
            checks.push(minikube_check(
                local,
                minikube.as_ref().map(|m| m.driver.as_str()),
                &input.host_os,
                &input.values,
            ));
            checks.push(origin(client, &place, &input.values).await);
            checks.push(pod_security(client, &release, &objects).await);
            checks.push(dns(client).await);
            Some(context.clone())
        }
    };
    checks.push(build_tools::check(
        &input.build_tools.0,
        &input.build_tools.1,
    ));
    DoctorReport {
        release: release.name,
        namespace: release.namespace,
        context,
        ok: checks.iter().all(|c| c.status != Status::Fail),
        checks,
    }
}

fn secrets(values: &Values) -> Check {
    const ID: &str = "secrets";
    let missing = crate::values::missing_secrets(values);
    if missing.is_empty() {
        return Check::pass(ID, "every required secret has a value (or is generated)");
    }
    let hints: Vec<String> = missing.iter().filter_map(|p| p.hint.clone()).collect();
    Check::fail(
        ID,
        missing
            .iter()
            .map(|p| format!("{} {}", p.path, p.message))
            .collect::<Vec<_>>()
            .join("; "),
        hints.join("; "),
    )
}

async fn api_version(client: &Client) -> Check {
    match client.apiserver_version().await {
        Err(e) => Check::fail(
            "api-server",
            format!("the API server does not answer: {e}"),
            "start the cluster, or pick another with --kube-context",
        ),
        Ok(info) => {
            let minor: u32 = info
                .minor
                .trim_end_matches(|c: char| !c.is_ascii_digit())
                .parse()
                .unwrap_or(0);
            let version = info.git_version;
            if minor < OLDEST_MINOR {
                Check::fail(
                    "api-server",
                    format!(
                        "Kubernetes {version} is older than 1.{OLDEST_MINOR}, the oldest berth's objects work on"
                    ),
                    "upgrade the cluster (minikube start --kubernetes-version=stable)",
                )
            } else if minor > API_MINOR + 1 {
                Check::warn(
                    "api-server",
                    format!("Kubernetes {version} is newer than berth's API types (1.{API_MINOR})"),
                    "usually fine; a newer berth follows newer clusters",
                )
            } else {
                Check::pass(
                    "api-server",
                    format!("Kubernetes {version} (berth's API types: 1.{API_MINOR})"),
                )
            }
        }
    }
}

/// Whether an object is this release's (a deploy replaces its pods and Services).
fn ours<K: ResourceExt>(object: &K, release: &Release) -> bool {
    object.namespace().as_deref() == Some(release.namespace.as_str())
        && crate::apply::Ownership::of(release).selects(object.labels())
}

fn gib(bytes: f64) -> String {
    format!("{:.1}Gi", bytes / (1u64 << 30) as f64)
}

fn node_ready(n: &Node) -> bool {
    n.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn unschedulable(n: &Node) -> bool {
    n.spec
        .as_ref()
        .and_then(|s| s.unschedulable)
        .unwrap_or(false)
}

async fn storage(client: &Client, objects: &[Manifest]) -> Check {
    const ID: &str = "storage-class";
    let wanted: Vec<Option<String>> = objects
        .iter()
        .filter_map(|o| match o {
            Manifest::StatefulSet(s) => s.spec.as_ref()?.volume_claim_templates.clone(),
            _ => None,
        })
        .flatten()
        .map(|c| c.spec.and_then(|s| s.storage_class_name))
        .collect();
    if wanted.is_empty() {
        return Check::pass(ID, "no volume claims (no in-cluster database)");
    }
    let classes = match list_all::<StorageClass>(client).await {
        Ok(items) => items,
        Err(e) => {
            return Check::warn(
                ID,
                format!("cannot list StorageClasses: {e}"),
                "ask the cluster's admin whether a default StorageClass exists",
            );
        }
    };
    let default = classes.iter().find(|c| {
        c.annotations()
            .get("storageclass.kubernetes.io/is-default-class")
            .is_some_and(|v| v == "true")
    });
    for class in &wanted {
        match class {
            Some(name) if !classes.iter().any(|c| &c.name_any() == name) => {
                return Check::fail(
                    ID,
                    format!("the database's StorageClass `{name}` does not exist"),
                    "set database.internal.storageClass to an existing class (kubectl get storageclass), or leave it empty for the default",
                );
            }
            None if default.is_none() => {
                return Check::fail(
                    ID,
                    "the database needs a volume but the cluster has no default StorageClass",
                    "minikube addons enable default-storageclass storage-provisioner; elsewhere mark a class default or set database.internal.storageClass",
                );
            }
            _ => {}
        }
    }
    let name = wanted
        .iter()
        .flatten()
        .next()
        .cloned()
        .or_else(|| default.map(|d| d.name_any()))
        .unwrap_or_default();
    Check::pass(
        ID,
        format!("the database's volume uses StorageClass `{name}`"),
    )
}

async fn metrics(client: &Client, objects: &[Manifest]) -> Check {
    const ID: &str = "metrics-server";
    let hpas = objects
        .iter()
        .filter(|o| matches!(o, Manifest::HorizontalPodAutoscaler(_)))
        .count();
    if hpas == 0 {
        return Check::pass(ID, "autoscaling is off: no metrics needed");
    }
    match client.list_api_groups().await {
        Ok(groups) if groups.groups.iter().any(|g| g.name == "metrics.k8s.io") => Check::pass(
            ID,
            format!("{hpas} HorizontalPodAutoscalers; the metrics API is served"),
        ),
        Ok(_) => Check::fail(
            ID,
            format!(
                "autoscaling is on ({hpas} HPAs) but no metrics-server serves metrics.k8s.io: the HPAs would show <unknown> and never scale"
            ),
            "minikube addons enable metrics-server; elsewhere install metrics-server, or set autoscaling.enabled=false",
        ),
        Err(e) => Check::warn(
            ID,
            format!("cannot list API groups: {e}"),
            "check that metrics-server runs (kubectl top nodes)",
        ),
    }
}

async fn images(client: &Client, objects: &[Manifest], local: Option<&str>) -> Check {
    const ID: &str = "images";
    let wanted: BTreeSet<String> = pods_to_run(objects)
        .iter()
        .flat_map(|(_, spec, _)| {
            spec.containers
                .iter()
                .chain(spec.init_containers.iter().flatten())
                .filter_map(|c| c.image.clone())
        })
        .collect();
    let Some(local) = local else {
        return Check::pass(
            ID,
            format!(
                "{} images, pulled by the cluster's nodes (not a local cluster)",
                wanted.len()
            ),
        );
    };
    let nodes = match list_all::<Node>(client).await {
        Ok(items) => items,
        Err(e) => {
            return Check::warn(
                ID,
                format!("cannot read the node's images: {e}"),
                "berth deploy --images load loads them anyway",
            );
        }
    };
    let present: BTreeSet<String> = nodes
        .iter()
        .filter_map(|n| n.status.as_ref()?.images.as_ref())
        .flatten()
        .flat_map(|i| i.names.iter().flatten().cloned())
        .collect();
    let missing: Vec<&String> = wanted
        .iter()
        .filter(|image| {
            !present.contains(*image) && !present.contains(&format!("docker.io/{image}"))
        })
        .collect();
    if missing.is_empty() {
        Check::pass(
            ID,
            format!("all {} images are on the {local} node", wanted.len()),
        )
    } else {
        Check::warn(
            ID,
            format!(
                "{} of {} images are not on the {local} node yet: {}",
                missing.len(),
                wanted.len(),
                missing
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "berth deploy builds and loads them (--images load), or berth images build && berth images load",
        )
    }
}

fn minikube_check(
    local: Option<&str>,
    driver: Option<&str>,
    host_os: &str,
    values: &Values,
) -> Check {
    const ID: &str = "minikube";
    if local != Some("minikube") {
        return Check::pass(ID, "not a Minikube context");
    }
    let driver_name = driver.unwrap_or("unknown");
    let node_port = values.expose.mode == crate::values::ExposeMode::NodePort;
    let tunnelled = host_os != "linux" && matches!(driver, Some("docker") | Some("podman"));
    if tunnelled && node_port {
        Check::warn(
            ID,
            format!(
                "driver {driver_name} on {host_os}: the node's IP is not reachable from this machine"
            ),
            LOCAL_ORIGIN_HINT,
        )
    } else if tunnelled {
        Check::warn(
            ID,
            format!("driver {driver_name} on {host_os}: the Ingress/Gateway needs a tunnel"),
            "run `minikube tunnel` in another terminal and use http://127.0.0.1",
        )
    } else {
        Check::pass(
            ID,
            format!("driver {driver_name} on {host_os}: the node's IP (minikube ip) is reachable"),
        )
    }
}

async fn dns(client: &Client) -> Check {
    const ID: &str = "cluster-dns";
    let lp = ListParams::default().labels("k8s-app=kube-dns");
    match Api::<Pod>::namespaced(client.clone(), "kube-system")
        .list(&lp)
        .await
    {
        Ok(list) => {
            let ready = list
                .items
                .iter()
                .filter(|p| {
                    p.status
                        .as_ref()
                        .and_then(|s| s.conditions.as_ref())
                        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
                })
                .count();
            if ready > 0 {
                Check::pass(
                    ID,
                    format!("CoreDNS: {ready}/{} pods ready", list.items.len()),
                )
            } else {
                Check::fail(
                    ID,
                    format!(
                        "no ready CoreDNS pod (k8s-app=kube-dns in kube-system: {} found): components cannot find each other by name",
                        list.items.len()
                    ),
                    "kubectl -n kube-system describe pods -l k8s-app=kube-dns; on Minikube, minikube start again restores it",
                )
            }
        }
        Err(e) => Check::warn(
            ID,
            format!("cannot read kube-system's pods: {e}"),
            "ask the cluster's admin whether CoreDNS runs",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_values() -> Values {
        let tree = crate::values::load::parse_yaml(crate::values::DEFAULT_VALUES_YAML, "defaults")
            .unwrap();
        crate::values::load::from_tree(tree).unwrap()
    }

    #[test]
    fn a_required_secret_without_a_value_fails_with_how_to_supply_it() {
        let mut values = default_values();
        assert_eq!(secrets(&values).status, Status::Pass);
        values.database.mode = crate::values::DatabaseMode::External;
        let check = secrets(&values);
        assert_eq!(check.status, Status::Fail, "{check:?}");
        assert!(check.hint.unwrap().contains("--set-file secrets."));
    }

    fn spec(json: serde_json::Value) -> PodSpec {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn berths_pods_meet_restricted_and_a_root_pod_does_not() {
        let mut values = default_values();
        values.fill_generated();
        let ctx = RenderContext::new(&values, "todo-chatbot", None);
        let objects = manifests::render(&values, &ctx);
        let pods = pods_to_run(&objects);
        assert!(!pods.is_empty());
        for (name, spec, _) in &pods {
            assert_eq!(
                level_violations(spec, "restricted"),
                Vec::<String>::new(),
                "{name}"
            );
        }
        let root = spec(serde_json::json!({"containers": [{"name": "app",
            "securityContext": {"privileged": true}}], "hostNetwork": true}));
        let baseline = level_violations(&root, "baseline");
        assert!(
            baseline.iter().any(|v| v.contains("privileged")),
            "{baseline:?}"
        );
        let restricted = level_violations(&root, "restricted");
        assert!(
            restricted.iter().any(|v| v.contains("may run as root")),
            "{restricted:?}"
        );
        assert!(
            restricted.iter().any(|v| v.contains("seccomp")),
            "{restricted:?}"
        );
    }

    #[test]
    fn requests_count_the_larger_of_containers_and_the_biggest_task() {
        let s = spec(serde_json::json!({
            "initContainers": [{"name": "migrate", "resources": {"requests": {"cpu": "2", "memory": "64Mi"}}}],
            "containers": [
                {"name": "a", "resources": {"requests": {"cpu": "250m", "memory": "128Mi"}}},
                {"name": "b", "resources": {"requests": {"cpu": "250m", "memory": "128Mi"}}}
            ]
        }));
        let (cpu, memory) = requests(&s);
        assert_eq!(cpu, 2.0);
        assert_eq!(memory, 256.0 * 1024.0 * 1024.0);
    }

    #[test]
    fn minikube_on_macos_with_docker_needs_a_tunnel_for_node_ports() {
        let values = default_values();
        let mac = minikube_check(Some("minikube"), Some("docker"), "macos", &values);
        assert_eq!(mac.status, Status::Warn);
        assert!(mac.hint.unwrap().contains("berth open"));
        let linux = minikube_check(Some("minikube"), Some("docker"), "linux", &values);
        assert_eq!(linux.status, Status::Pass);
        assert_eq!(
            minikube_check(None, None, "macos", &values).status,
            Status::Pass
        );
    }
}
