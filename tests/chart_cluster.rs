//! On the test cluster (`KUBECONFIG`, from `scripts/cluster.sh up`): `helm install`
//! of the packaged chart in one namespace and berth's render applied in another
//! (`kubectl apply --server-side`; `berth deploy` replaces it once it exists) yield
//! objects whose specs match, and both become ready; `helm upgrade` with a changed
//! value rolls the backend, generated secrets and the database's TLS pair survive an upgrade, and
//! `helm rollback` restores the first revision.
//!
//! ```sh
//! kc=$(BERTH_CLUSTER_DIR=/tmp/berth-cluster-chart scripts/cluster.sh up | tail -1)
//! KUBECONFIG=$kc cargo test --features cluster-tests --test chart_cluster -- --nocapture
//! ```
#![cfg(feature = "cluster-tests")]

mod chart_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use chart_support::{berth, helm, repo_path, run, run_ok, scratch};

const RELEASE: &str = "todo-chatbot";
const KINDS: &str = "serviceaccounts,configmaps,secrets,services,deployments,statefulsets,ingresses,persistentvolumeclaims,horizontalpodautoscalers,poddisruptionbudgets,networkpolicies";

fn kubeconfig() -> String {
    std::env::var("KUBECONFIG").unwrap_or_else(|_| {
        panic!("KUBECONFIG is not set: start the test cluster with scripts/cluster.sh up and point KUBECONFIG at its kubeconfig")
    })
}

fn kubectl() -> Command {
    let path = std::env::var_os("BERTH_KUBECTL")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_path(".tools/bin/kubectl"));
    assert!(
        path.is_file(),
        "kubectl not found at {}: run scripts/tools.sh",
        path.display()
    );
    let mut command = Command::new(path);
    command.env("KUBECONFIG", kubeconfig());
    command
}

fn helm_cmd() -> Command {
    let mut command = Command::new(helm());
    command.env("KUBECONFIG", kubeconfig());
    command
}

/// What both sides install: the dev profile behind an Ingress (two NodePort
/// Services in one cluster would fight over the port).
const SETS: [&str; 1] = ["expose.mode=ingress"];
const AUTH: &str = "cluster-auth-secret";
const PASSWORD: &str = "cluster pg+password";

fn objects(namespace: &str) -> Vec<Value> {
    let text = run_ok(kubectl().args(["get", KINDS, "-n", namespace, "-o", "json"]));
    let list: Value = serde_json::from_str(&text).unwrap();
    list["items"].as_array().unwrap().clone()
}

/// The parts both installs must agree on: spec (without what the cluster
/// allocates), data, and labels other than managed-by.
fn comparable(object: &Value) -> (String, Value) {
    let kind = object["kind"].as_str().unwrap().to_string();
    let name = object["metadata"]["name"].as_str().unwrap().to_string();
    let mut labels = object["metadata"]["labels"].clone();
    if let Some(map) = labels.as_object_mut() {
        map.remove("app.kubernetes.io/managed-by");
    }
    let mut spec = object["spec"].clone();
    if let Some(map) = spec.as_object_mut() {
        for allocated in ["clusterIP", "clusterIPs", "volumeName"] {
            map.remove(allocated);
        }
    }
    strip_managed_by(&mut spec);
    (
        format!("{kind}/{name}"),
        serde_json::json!({"labels": labels, "spec": spec, "data": object["data"], "automount": object["automountServiceAccountToken"]}),
    )
}

fn strip_managed_by(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("app.kubernetes.io/managed-by");
            map.values_mut().for_each(strip_managed_by);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_managed_by),
        _ => {}
    }
}

fn ours(namespace: &str) -> Vec<(String, Value)> {
    let mut list: Vec<(String, Value)> = objects(namespace)
        .iter()
        .filter(|o| {
            // The cluster's own objects in every namespace.
            let name = o["metadata"]["name"].as_str().unwrap_or("");
            !(name == "default"
                || name == "kube-root-ca.crt"
                || name.starts_with("sh.helm.release."))
        })
        .map(comparable)
        .collect();
    list.sort_by(|a, b| a.0.cmp(&b.0));
    list
}

fn wait_ready(namespace: &str) {
    run_ok(kubectl().args([
        "wait",
        "--for=condition=Available",
        "deployment",
        "--all",
        "-n",
        namespace,
        "--timeout=180s",
    ]));
    run_ok(kubectl().args([
        "rollout",
        "status",
        "statefulset",
        &format!("{RELEASE}-postgres"),
        "-n",
        namespace,
        "--timeout=180s",
    ]));
}

fn config_value(namespace: &str, component: &str, key: &str) -> Option<String> {
    let text = run_ok(kubectl().args([
        "get",
        "configmap",
        &format!("{RELEASE}-{component}"),
        "-n",
        namespace,
        "-o",
        "json",
    ]));
    let object: Value = serde_json::from_str(&text).unwrap();
    object["data"][key].as_str().map(str::to_string)
}

/// The checksum annotation of a Deployment's pod template.
fn checksum(namespace: &str, component: &str) -> String {
    let text = run_ok(kubectl().args([
        "get",
        "deployment",
        &format!("{RELEASE}-{component}"),
        "-n",
        namespace,
        "-o",
        "json",
    ]));
    let object: Value = serde_json::from_str(&text).unwrap();
    object["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
        .as_str()
        .expect("checksum annotation")
        .to_string()
}

fn secret_data(namespace: &str, name: &str) -> Value {
    let text = run_ok(kubectl().args(["get", "secret", name, "-n", namespace, "-o", "json"]));
    serde_json::from_str::<Value>(&text).unwrap()["data"].clone()
}

fn cleanup(namespaces: &[&str]) {
    for ns in namespaces {
        let _ = run(helm_cmd().args(["uninstall", RELEASE, "-n", ns, "--wait"]));
        let _ = run(kubectl().args([
            "delete",
            "namespace",
            ns,
            "--ignore-not-found",
            "--wait=false",
        ]));
    }
}

/// Installs `profile` with helm (the package) in `ns_helm` and with berth's
/// render in `ns_berth`, waits for both, and compares every object. Returns the
/// number of objects that match.
fn install_both(
    package: &Path,
    profile: &Path,
    ns_helm: &str,
    ns_berth: &str,
    out: &Path,
) -> usize {
    let mut install = helm_cmd();
    install.args(["install", RELEASE]).arg(package);
    install
        .args([
            "-n",
            ns_helm,
            "--create-namespace",
            "--wait",
            "--timeout",
            "3m",
            "-f",
        ])
        .arg(profile);
    for set in SETS {
        install.args(["--set", set]);
    }
    // What a Helm user passes: a secret's `value`.
    install.args([
        "--set-string",
        &format!("secrets.authSecret.value={AUTH}"),
        "--set-string",
        &format!("secrets.postgresPassword.value={PASSWORD}"),
    ]);
    run_ok(&mut install);

    // berth deploy is not in this branch yet: its render, applied server-side.
    let mut render = berth();
    render
        .args([
            "render",
            "--include-secrets",
            "--release",
            RELEASE,
            "-n",
            ns_berth,
            "-f",
        ])
        .arg(profile);
    for set in SETS {
        render.args(["--set", set]);
    }
    render
        .env("AUTH_SECRET", AUTH)
        .env("POSTGRES_PASSWORD", PASSWORD);
    let manifests = out.join(format!("berth-{ns_berth}.yaml"));
    std::fs::write(&manifests, run_ok(&mut render)).unwrap();
    run_ok(
        kubectl()
            .args(["apply", "--server-side", "--field-manager", "berth", "-f"])
            .arg(&manifests),
    );

    wait_ready(ns_helm);
    wait_ready(ns_berth);
    let (helm_objects, berth_objects) = (ours(ns_helm), ours(ns_berth));
    assert!(helm_objects.len() >= 20, "{helm_objects:#?}");
    let names = |list: &[(String, Value)]| list.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&helm_objects), names(&berth_objects));
    for ((name, a), (_, b)) in helm_objects.iter().zip(&berth_objects) {
        let compared = [&a["spec"], &a["data"], &a["automount"]];
        assert!(
            compared.iter().any(|v| !v.is_null()),
            "{name}: nothing to compare"
        );
        assert_eq!(
            a, b,
            "{name} differs between the helm and the berth install"
        );
    }
    eprintln!(
        "chart_cluster: {} objects match between {ns_helm} (helm) and {ns_berth} (berth): {:?}",
        helm_objects.len(),
        names(&helm_objects)
    );
    helm_objects.len()
}

#[test]
fn helm_install_matches_berth_and_upgrades_and_rolls_back() {
    kubeconfig();
    let id = std::process::id();
    let ns = |what: &str| format!("chart-{what}-{id}");
    let (ns_helm, ns_berth, ns_generated) = (ns("helm"), ns("berth"), ns("gen"));
    let (ns_helm_prod, ns_berth_prod) = (ns("helm-prod"), ns("berth-prod"));
    let all = [
        ns_helm.as_str(),
        &ns_berth,
        &ns_generated,
        &ns_helm_prod,
        &ns_berth_prod,
    ];
    cleanup(&all);

    let out = scratch("cluster");
    let stdout = run_ok(
        berth()
            .args(["chart", "export", "--package", "--out"])
            .arg(&out),
    );
    let package = PathBuf::from(stdout.lines().nth(1).expect("package path"));
    let dev = repo_path("values/dev.yaml");

    assert_eq!(install_both(&package, &dev, &ns_helm, &ns_berth, &out), 22);
    // prod adds HPAs, PDBs and NetworkPolicies.
    assert_eq!(
        install_both(
            &package,
            &repo_path("values/prod.yaml"),
            &ns_helm_prod,
            &ns_berth_prod,
            &out
        ),
        33
    );

    // helm upgrade with a changed value: the backend's config and pods roll.
    assert_eq!(config_value(&ns_helm, "backend", "LOG_LEVEL"), None);
    let checksums_before = (
        checksum(&ns_helm, "backend"),
        checksum(&ns_helm, "frontend"),
    );
    run_ok(helm_cmd().args(["upgrade", RELEASE]).arg(&package).args([
        "-n",
        &ns_helm,
        "--reuse-values",
        "--set",
        "components.backend.env.LOG_LEVEL=debug",
        "--wait",
        "--timeout",
        "3m",
    ]));
    assert_eq!(
        config_value(&ns_helm, "backend", "LOG_LEVEL").as_deref(),
        Some("debug")
    );
    wait_ready(&ns_helm);
    let checksums_after = (
        checksum(&ns_helm, "backend"),
        checksum(&ns_helm, "frontend"),
    );
    assert_ne!(
        checksums_before.0, checksums_after.0,
        "the backend's pods must roll"
    );
    assert_eq!(
        checksums_before.1, checksums_after.1,
        "the frontend's must not"
    );

    // helm rollback to the first revision.
    run_ok(helm_cmd().args([
        "rollback",
        RELEASE,
        "1",
        "-n",
        &ns_helm,
        "--wait",
        "--timeout",
        "3m",
    ]));
    assert_eq!(config_value(&ns_helm, "backend", "LOG_LEVEL"), None);
    assert_eq!(checksum(&ns_helm, "backend"), checksums_before.0);
    wait_ready(&ns_helm);
    let history = run_ok(helm_cmd().args(["history", RELEASE, "-n", &ns_helm, "-o", "json"]));
    let history: Value = serde_json::from_str(&history).unwrap();
    assert_eq!(history.as_array().unwrap().len(), 3, "{history}");

    // Generated secrets and the database's TLS pair: made on install, read back from the
    // live Secrets on upgrade.
    let mut generated = helm_cmd();
    generated.args(["install", RELEASE]).arg(&package);
    generated
        .args([
            "-n",
            &ns_generated,
            "--create-namespace",
            "--wait",
            "--timeout",
            "3m",
            "--set",
            "database.internal.tls=true",
            "-f",
        ])
        .arg(&dev);
    run_ok(&mut generated);
    let tls_secret = format!("{RELEASE}-postgres-tls");
    let first_tls = secret_data(&ns_generated, &tls_secret);
    assert!(first_tls["tls.key"].is_string(), "{first_tls}");
    let first = (
        secret_data(&ns_generated, &format!("{RELEASE}-postgres")),
        secret_data(&ns_generated, &format!("{RELEASE}-backend")),
    );
    run_ok(helm_cmd().args(["upgrade", RELEASE]).arg(&package).args([
        "-n",
        &ns_generated,
        "--reuse-values",
        "--set",
        "components.backend.env.LOG_LEVEL=x",
        "--wait",
        "--timeout",
        "3m",
    ]));
    let second = (
        secret_data(&ns_generated, &format!("{RELEASE}-postgres")),
        secret_data(&ns_generated, &format!("{RELEASE}-backend")),
    );
    assert_eq!(
        first.0, second.0,
        "the PostgreSQL password changed on upgrade"
    );
    assert_eq!(
        first.1["AUTH_SECRET"], second.1["AUTH_SECRET"],
        "AUTH_SECRET changed on upgrade"
    );
    assert_eq!(
        secret_data(&ns_generated, &tls_secret),
        first_tls,
        "the database's TLS pair changed on upgrade"
    );

    cleanup(&all);
}
