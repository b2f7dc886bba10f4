//! Helpers for the cluster-backed tests: the real `berth` binary against the
//! cluster `KUBECONFIG` names, one namespace per test.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The kubeconfig of the test cluster; a missing one fails loudly.
pub fn kubeconfig() -> String {
    let path = std::env::var("KUBECONFIG").expect(
        "KUBECONFIG is unset: start the test cluster (kc=$(scripts/cluster.sh up | tail -1)) and run with KUBECONFIG=$kc",
    );
    assert!(
        std::path::Path::new(&path).exists(),
        "KUBECONFIG={path} does not exist"
    );
    path
}

/// A namespace unique to this test and run. Every test starts here, so it
/// also gives the simulated nodes back their addresses (see below).
pub fn namespace(test: &str) -> String {
    restore_node_addresses();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("t-{test}-{}-{:x}", std::process::id(), nanos % 0xffff)
}

/// Result of one berth run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "expected exit {code}, got {}\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }
}

/// A NodePort for the namespace's frontend: tests run in parallel and the
/// default (30080) can be allocated only once per cluster. Derived from the
/// namespace, skipping ports in use (left by earlier runs), fixed per namespace.
pub fn node_port(ns: &str) -> u32 {
    static PORTS: Mutex<BTreeMap<String, u32>> = Mutex::new(BTreeMap::new());
    let mut ports = PORTS.lock().unwrap();
    if let Some(port) = ports.get(ns) {
        return *port;
    }
    let used = kubectl(&[
        "get",
        "svc",
        "-A",
        "-o",
        "jsonpath={.items[*].spec.ports[*].nodePort}",
    ]);
    let used: Vec<u32> = String::from_utf8_lossy(&used.stdout)
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    let hash = ns
        .bytes()
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
    let mut port = 30100 + hash % 2500;
    while used.contains(&port) || ports.values().any(|p| *p == port) {
        port = 30100 + (port - 30100 + 1) % 2500;
    }
    ports.insert(ns.to_string(), port);
    port
}

/// Runs berth with `args` in namespace `ns` (and the test kubeconfig).
pub fn berth(ns: &str, args: &[&str]) -> Run {
    let start = Instant::now();
    let port = format!("expose.nodePort={}", node_port(ns));
    let renders = matches!(args.first(), Some(&"deploy") | Some(&"diff"));
    let output: Output = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(args)
        .args(if renders {
            vec!["--set", port.as_str()]
        } else {
            vec![]
        })
        .args(["-n", ns])
        .env("KUBECONFIG", kubeconfig())
        .env("NO_COLOR", "1")
        .env_remove("BERTH_RELEASE")
        .env_remove("BERTH_NAMESPACE")
        .output()
        .expect("berth runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        elapsed: start.elapsed(),
    }
}

/// `berth deploy --yes` with extra flags, in `ns`.
pub fn deploy(ns: &str, extra: &[&str]) -> Run {
    let mut args = vec!["deploy", "--yes", "--timeout", "2m"];
    args.extend_from_slice(extra);
    berth(ns, &args)
}

/// kubectl from `KUBECTL` or PATH, against the test cluster.
pub fn kubectl(args: &[&str]) -> Output {
    let bin = std::env::var("KUBECTL").unwrap_or_else(|_| "kubectl".into());
    Command::new(bin)
        .args(args)
        .env("KUBECONFIG", kubeconfig())
        .output()
        .expect("kubectl runs (put it on PATH or set KUBECTL; scripts/tools.sh installs it)")
}

pub async fn client() -> kube::Client {
    let config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::read_from(kubeconfig()).expect("kubeconfig readable"),
        &Default::default(),
    )
    .await
    .expect("kubeconfig valid");
    let client = kube::Client::try_from(config).expect("client");
    client
        .apiserver_version()
        .await
        .expect("the test cluster is unreachable: is scripts/cluster.sh up running?");
    client
}

/// `Kind/name` → resourceVersion of every object labelled with the release in `ns`.
pub async fn resource_versions(ns: &str) -> BTreeMap<String, String> {
    metadata_of(ns, |m| m.resource_version.clone().unwrap()).await
}

/// What berth itself last wrote to each of the release's objects in `ns` (its managedFields
/// entries: operation, time, fields): unlike resourceVersions, untouched by the controllers'
/// status writes, so a comparison around a deploy sees only berth's writes.
pub async fn berth_writes(ns: &str) -> BTreeMap<String, String> {
    metadata_of(ns, |m| {
        let entries: Vec<_> = m
            .managed_fields
            .iter()
            .flatten()
            .filter(|e| e.manager.as_deref() == Some("berth"))
            .collect();
        serde_json::to_string(&entries).unwrap()
    })
    .await
}

/// One value per object of the release in `ns` (and the namespace), from its metadata.
async fn metadata_of(
    ns: &str,
    value: impl Fn(&k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String,
) -> BTreeMap<String, String> {
    use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
    use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret, Service, ServiceAccount};
    use kube::api::{Api, ListParams};
    let client = client().await;
    let lp = ListParams::default().labels("app.kubernetes.io/instance=todo-chatbot");
    let mut out = BTreeMap::new();
    macro_rules! collect {
        ($kind:ty, $name:literal) => {
            for o in Api::<$kind>::namespaced(client.clone(), ns)
                .list(&lp)
                .await
                .unwrap()
                .items
            {
                out.insert(
                    format!("{}/{}", $name, o.metadata.name.clone().unwrap()),
                    value(&o.metadata),
                );
            }
        };
    }
    collect!(Deployment, "Deployment");
    collect!(StatefulSet, "StatefulSet");
    collect!(ConfigMap, "ConfigMap");
    collect!(Secret, "Secret");
    collect!(Service, "Service");
    collect!(ServiceAccount, "ServiceAccount");
    let namespace = Api::<Namespace>::all(client.clone()).get(ns).await.unwrap();
    out.insert(format!("Namespace/{ns}"), value(&namespace.metadata));
    out
}

/// Names of objects of a kind labelled with the release in `ns`.
pub async fn names<K>(ns: &str) -> Vec<String>
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned,
{
    let api: kube::Api<K> = kube::Api::namespaced(client().await, ns);
    let lp = kube::api::ListParams::default().labels("app.kubernetes.io/instance=todo-chatbot");
    let mut names: Vec<String> = api
        .list(&lp)
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|o| o.meta().name.clone())
        .collect();
    names.sort();
    names
}

/// Deletes the namespace (best effort) at the end of a test.
pub fn cleanup(ns: &str) {
    let _ = kubectl(&["delete", "namespace", ns, "--wait=false"]);
}

/// kwok's nodes get their addresses once, from the stage that initializes them,
/// and an API server restart (cluster_faults) can leave them without any; the
/// API server then cannot reach kwok for port-forwards and logs, and berth finds
/// no node address. Each node without an InternalIP gets the one that stage
/// gives it (kwok listens on 127.0.0.1), as a kubelet reports it again.
pub fn restore_node_addresses() {
    let listed = kubectl(&[
        "get",
        "nodes",
        "-o",
        "jsonpath={range .items[*]}{.metadata.name} {.status.addresses[?(@.type==\"InternalIP\")].address}{\"\\n\"}{end}",
    ]);
    for line in String::from_utf8_lossy(&listed.stdout).lines() {
        let mut words = line.split_whitespace();
        let (Some(node), None) = (words.next(), words.next()) else {
            continue;
        };
        let patch = format!(
            r#"{{"status":{{"addresses":[{{"type":"InternalIP","address":"127.0.0.1"}},{{"type":"Hostname","address":"{node}"}}]}}}}"#
        );
        kubectl(&[
            "patch",
            "node",
            node,
            "--subresource=status",
            "--type=merge",
            "-p",
            &patch,
        ]);
    }
}
