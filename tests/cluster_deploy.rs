//! Deploy against the test cluster: install, no-op, upgrade, prune, rollback,
//! uninstall, conflicts and immutable changes.
#![cfg(feature = "cluster-tests")]

mod cluster;

use cluster::{berth, berth_writes, cleanup, deploy, kubectl, names, resource_versions};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Secret, Service};

#[tokio::test(flavor = "multi_thread")]
async fn fresh_install_is_ready_and_identical_redeploy_writes_nothing() {
    let ns = cluster::namespace("noop");
    deploy(&ns, &[]).assert_code(0);
    let status = berth(&ns, &["status", "-o", "json"]);
    status.assert_code(0);
    let json: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(json["ready"], true, "{}", status.stdout);
    // Three components, the database and the edge proxy (the routes name two components).
    assert_eq!(json["workloads"].as_array().unwrap().len(), 5);
    assert!(
        json["urls"][0].as_str().unwrap().starts_with("http://"),
        "{}",
        status.stdout
    );

    let before = resource_versions(&ns).await;
    let again = deploy(&ns, &[]);
    again.assert_code(0);
    assert!(again.stderr.contains("no changes"), "{}", again.stderr);
    assert_eq!(
        resource_versions(&ns).await,
        before,
        "a no-op deploy changed objects"
    );
    // `-v` counts the requests by what they do: a diff only reads.
    let diff = berth(&ns, &["diff", "-v"]);
    diff.assert_code(0);
    let summary = diff
        .stderr
        .lines()
        .find_map(|line| line.split_once(" API requests: "))
        .unwrap_or_else(|| panic!("no request summary:\n{}", diff.stderr))
        .1;
    let writes: Vec<&str> = summary
        .split(", ")
        .filter(|row| {
            let verb = row.split(' ').nth(1).unwrap_or_default();
            ["create", "replace", "apply", "patch", "delete"].contains(&verb)
        })
        .collect();
    // Nothing changed since berth applied it: one list per kind, no dry-run.
    assert!(summary.contains(" list deployments"), "{summary}");
    assert!(!summary.contains("dry-run"), "{summary}");
    assert!(writes.is_empty(), "a diff wrote: {writes:?}");
    cleanup(&ns);
}

/// The request summary of a `-v` run.
fn request_summary(run: &cluster::Run) -> String {
    run.stderr
        .lines()
        .find_map(|line| line.split_once(" API requests: "))
        .unwrap_or_else(|| panic!("no request summary:\n{}", run.stderr))
        .1
        .to_string()
}

fn jsonpath(ns: &str, object: &str, path: &str) -> String {
    let out = kubectl(&["get", "-n", ns, object, "-o", &format!("jsonpath={path}")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn run_kubectl(args: &[&str]) {
    let out = kubectl(args);
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The no-op deploy decides from one list per kind, so drift must show in
/// what it lists: `kubectl edit` and `kubectl label` of a field berth set are
/// found (the API server then refuses berth's apply as a conflict naming the
/// manager, and `--force-conflicts` reverts them), a label removed is put
/// back, and an annotation berth never set is no drift at all.
#[tokio::test(flavor = "multi_thread")]
async fn drift_by_edit_and_label_is_found_from_the_lists_and_reverted() {
    let ns = cluster::namespace("drift");
    deploy(&ns, &["--no-wait"]).assert_code(0);
    let backend = "deployment/todo-chatbot-backend";
    let config = "configmap/todo-chatbot-backend";
    let label = "{.metadata.labels.app\\.kubernetes\\.io/component}";
    let component = jsonpath(&ns, backend, label);
    assert!(!component.is_empty(), "the render labels its component");
    let port = "{.data.PORT}";
    let rendered_port = jsonpath(&ns, config, port);

    // An annotation berth never set: still a no-op, decided from the lists.
    run_kubectl(&["annotate", "-n", &ns, backend, "team=payments"]);
    let before = berth_writes(&ns).await;
    let noop = deploy(&ns, &["--no-wait", "-v"]);
    noop.assert_code(0);
    let summary = request_summary(&noop);
    assert!(!summary.contains("dry-run"), "{summary}");
    assert!(!summary.contains("get deployments"), "{summary}");
    assert_eq!(berth_writes(&ns).await, before, "a no-op deploy wrote");

    // kubectl label --overwrite of a label berth set.
    run_kubectl(&[
        "label",
        "--overwrite",
        "-n",
        &ns,
        backend,
        "app.kubernetes.io/component=edited",
    ]);
    let refused = deploy(&ns, &["--no-wait"]);
    refused.assert_code(2);
    assert!(
        refused.stderr.contains("kubectl-label"),
        "{}",
        refused.stderr
    );
    deploy(&ns, &["--no-wait", "--force-conflicts"]).assert_code(0);
    assert_eq!(jsonpath(&ns, backend, label), component);

    // kubectl label NAME- : the label berth set, removed; put back.
    run_kubectl(&["label", "-n", &ns, backend, "app.kubernetes.io/component-"]);
    let restored = deploy(&ns, &["--no-wait", "-v"]);
    restored.assert_code(0);
    assert_eq!(jsonpath(&ns, backend, label), component);
    assert!(
        request_summary(&restored).contains("1 dry-run apply deployments"),
        "{}",
        restored.stderr
    );

    // kubectl edit of a value berth set (the editor is a sed).
    let out =
        std::process::Command::new(std::env::var("KUBECTL").unwrap_or_else(|_| "kubectl".into()))
            .args(["edit", "-n", &ns, config])
            .env("KUBECONFIG", cluster::kubeconfig())
            .env("KUBE_EDITOR", "sed -i -e 's/^  PORT: .*/  PORT: \"9999\"/'")
            .output()
            .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(jsonpath(&ns, config, port), "9999");
    let refused = deploy(&ns, &["--no-wait"]);
    refused.assert_code(2);
    assert!(
        refused.stderr.contains("kubectl-edit"),
        "{}",
        refused.stderr
    );
    deploy(&ns, &["--no-wait", "--force-conflicts"]).assert_code(0);
    assert_eq!(jsonpath(&ns, config, port), rendered_port);

    // Reverted and recorded: the next deploy is a no-op from the lists again.
    let before = berth_writes(&ns).await;
    let noop = deploy(&ns, &["--no-wait", "-v"]);
    noop.assert_code(0);
    assert!(
        !request_summary(&noop).contains("dry-run"),
        "{}",
        noop.stderr
    );
    assert_eq!(berth_writes(&ns).await, before, "a no-op deploy wrote");
    cleanup(&ns);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_value_change_rolls_only_the_affected_workload() {
    let ns = cluster::namespace("upgrade");
    deploy(&ns, &[]).assert_code(0);
    let before = resource_versions(&ns).await;
    let diff = berth(
        &ns,
        &["diff", "--set", "components.backend.image.tag=0.1.1"],
    );
    diff.assert_code(1);
    assert!(diff.stdout.contains("0.1.1"), "{}", diff.stdout);
    deploy(&ns, &["--set", "components.backend.image.tag=0.1.1"]).assert_code(0);
    let after = resource_versions(&ns).await;
    let changed: Vec<&String> = before
        .keys()
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    assert!(
        changed.contains(&&"Deployment/todo-chatbot-backend".to_string()),
        "{changed:?}"
    );
    for untouched in [
        "Deployment/todo-chatbot-frontend",
        "Deployment/todo-chatbot-mcp",
        "StatefulSet/todo-chatbot-postgres",
    ] {
        assert!(
            !changed.contains(&&untouched.to_string()),
            "{untouched} changed: {changed:?}"
        );
    }
    cleanup(&ns);
}

#[tokio::test(flavor = "multi_thread")]
async fn disabling_a_component_prunes_exactly_its_objects_and_rollback_restores_them() {
    let ns = cluster::namespace("prune");
    deploy(&ns, &[]).assert_code(0);
    let deployments = names::<Deployment>(&ns).await;
    let services = names::<Service>(&ns).await;
    let run = deploy(&ns, &["--set", "components.mcp.enabled=false"]);
    run.assert_code(0);
    let without: Vec<String> = deployments
        .iter()
        .filter(|n| !n.ends_with("-mcp"))
        .cloned()
        .collect();
    assert_eq!(names::<Deployment>(&ns).await, without);
    assert!(
        !names::<Service>(&ns)
            .await
            .iter()
            .any(|n| n.ends_with("-mcp"))
    );
    assert_eq!(names::<Service>(&ns).await.len(), services.len() - 1);
    assert!(
        !names::<ConfigMap>(&ns)
            .await
            .iter()
            .any(|n| n.ends_with("-mcp"))
    );
    assert!(
        !names::<Secret>(&ns)
            .await
            .iter()
            .any(|n| n == "todo-chatbot-mcp")
    );
    assert!(
        run.stderr.contains("Deployment") && run.stderr.contains("pruned"),
        "{}",
        run.stderr
    );

    let rollback = berth(&ns, &["rollback", "--timeout", "2m"]);
    rollback.assert_code(0);
    assert_eq!(names::<Deployment>(&ns).await, deployments);
    let history = berth(&ns, &["history"]);
    history.assert_code(0);
    assert_eq!(history.stdout.lines().count(), 4, "{}", history.stdout);
    cleanup(&ns);
}

#[tokio::test(flavor = "multi_thread")]
async fn uninstall_leaves_only_volumes() {
    let ns = cluster::namespace("uninstall");
    deploy(&ns, &[]).assert_code(0);
    berth(&ns, &["uninstall"]).assert_code(0);
    assert!(names::<Deployment>(&ns).await.is_empty());
    assert!(names::<StatefulSet>(&ns).await.is_empty());
    assert!(names::<Service>(&ns).await.is_empty());
    assert!(names::<ConfigMap>(&ns).await.is_empty());
    assert!(
        names::<Secret>(&ns).await.is_empty(),
        "inventory and revisions must go too"
    );
    assert_eq!(names::<PersistentVolumeClaim>(&ns).await.len(), 1);
    cleanup(&ns);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kubectl_scale_conflict_is_reported_and_forced_on_request() {
    let ns = cluster::namespace("conflict");
    deploy(&ns, &[]).assert_code(0);
    let scaled = kubectl(&[
        "scale",
        "-n",
        &ns,
        "deployment/todo-chatbot-backend",
        "--replicas=3",
    ]);
    assert!(
        scaled.status.success(),
        "{}",
        String::from_utf8_lossy(&scaled.stderr)
    );
    let refused = deploy(&ns, &[]);
    refused.assert_code(2);
    assert!(refused.stderr.contains("kubectl"), "{}", refused.stderr);
    assert!(refused.stderr.contains("replicas"), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("--force-conflicts"),
        "{}",
        refused.stderr
    );
    deploy(&ns, &["--force-conflicts"]).assert_code(0);
    assert_eq!(
        jsonpath(&ns, "deployment/todo-chatbot-backend", "{.spec.replicas}"),
        "2",
        "scaled back"
    );
    // Taken back and recorded: the next deploy is decided from the lists.
    let noop = deploy(&ns, &["-v"]);
    noop.assert_code(0);
    assert!(
        !request_summary(&noop).contains("dry-run"),
        "{}",
        noop.stderr
    );
    cleanup(&ns);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_immutable_change_is_refused_then_recreated() {
    let ns = cluster::namespace("immutable");
    deploy(&ns, &[]).assert_code(0);
    let refused = deploy(&ns, &["--set", "database.internal.storage=2Gi"]);
    refused.assert_code(2);
    assert!(
        refused.stderr.contains("would recreate"),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("--recreate"), "{}", refused.stderr);
    let diff = berth(&ns, &["diff", "--set", "database.internal.storage=2Gi"]);
    diff.assert_code(1);
    assert!(diff.stdout.contains("would recreate"), "{}", diff.stdout);
    let recreated = deploy(
        &ns,
        &["--set", "database.internal.storage=2Gi", "--recreate"],
    );
    recreated.assert_code(0);
    assert!(
        recreated.stderr.contains("recreated"),
        "{}",
        recreated.stderr
    );
    cleanup(&ns);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deploy_killed_midway_converges_when_run_again() {
    let ns = cluster::namespace("killed");
    // No NodePort: a Service create cut off by the kill can leave its port
    // allocated until the API server's repair loop frees it, minutes later.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["deploy", "--yes", "-n", &ns, "--set", "expose.mode=none"])
        .env("KUBECONFIG", cluster::kubeconfig())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("berth starts");
    // Kill it once it has started writing (the namespace exists).
    let start = std::time::Instant::now();
    while !kubectl(&["get", "namespace", &ns]).status.success() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "deploy never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    deploy(&ns, &["--set", "expose.mode=none"]).assert_code(0);
    let history = berth(&ns, &["history", "-o", "json"]);
    let revisions: serde_json::Value = serde_json::from_str(&history.stdout).unwrap();
    let last = revisions.as_array().unwrap().last().unwrap();
    assert_eq!(last["status"], "deployed", "{}", history.stdout);
    assert!(
        revisions
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] != "pending"),
        "{}",
        history.stdout
    );
    cleanup(&ns);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_inventory_is_an_applyset_kubectl_can_read() {
    let ns = cluster::namespace("applyset");
    deploy(&ns, &[]).assert_code(0);
    let parent = kubectl(&[
        "get",
        "secret",
        "-n",
        &ns,
        "todo-chatbot-inventory",
        "-o",
        "json",
    ]);
    assert!(parent.status.success());
    let parent: serde_json::Value = serde_json::from_slice(&parent.stdout).unwrap();
    let id = parent["metadata"]["labels"]["applyset.kubernetes.io/id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(id.starts_with("applyset-") && id.ends_with("-v1"), "{id}");
    let annotations = &parent["metadata"]["annotations"];
    assert_eq!(
        annotations["applyset.kubernetes.io/tooling"],
        format!("berth/{}", env!("CARGO_PKG_VERSION"))
    );
    let kinds = annotations["applyset.kubernetes.io/contains-group-kinds"]
        .as_str()
        .unwrap();
    assert!(
        kinds.contains("Deployment.apps") && kinds.contains("Secret"),
        "{kinds}"
    );
    let members = kubectl(&[
        "get",
        "deploy,svc,cm",
        "-n",
        &ns,
        "-l",
        &format!("applyset.kubernetes.io/part-of={id}"),
        "-o",
        "name",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&members.stdout).lines().count(),
        // Deployments: 3 components and the edge; Services and ConfigMaps: those and the database.
        4 + 5 + 5
    );
    cleanup(&ns);
}

#[tokio::test(flavor = "multi_thread")]
async fn history_max_keeps_the_newest_revisions_and_rollback_still_works() {
    let ns = cluster::namespace("history");
    let numbers = |ns: &str| -> Vec<(u64, String)> {
        let history = berth(ns, &["history", "-o", "json"]);
        history.assert_code(0);
        let json: serde_json::Value = serde_json::from_str(&history.stdout).unwrap();
        json.as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let status = r["status"].as_str().unwrap().to_string();
                (r["number"].as_u64().unwrap(), status)
            })
            .collect()
    };
    for tag in ["0.1.1", "0.1.2", "0.1.3"] {
        let args = [
            "--history-max",
            "2",
            "--set",
            &format!("components.backend.image.tag={tag}"),
        ];
        deploy(&ns, &args).assert_code(0);
    }
    assert_eq!(
        numbers(&ns),
        [(2, "superseded".to_string()), (3, "deployed".to_string())]
    );
    let rollback = berth(&ns, &["rollback", "--history-max", "2", "--timeout", "2m"]);
    rollback.assert_code(0);
    assert_eq!(
        numbers(&ns),
        [(3, "superseded".to_string()), (4, "deployed".to_string())]
    );
    let image = kubectl(&[
        "get",
        "deployment/todo-chatbot-backend",
        "-n",
        &ns,
        "-o",
        "jsonpath={.spec.template.spec.containers[0].image}",
    ]);
    assert!(
        String::from_utf8_lossy(&image.stdout).ends_with(":0.1.2"),
        "rollback did not restore revision 2's image: {image:?}"
    );
    cleanup(&ns);
}

/// `database.internal.tls`: the certificate and key are made on the first deploy and read
/// back on the next (a no-op), like the generated password. (That revisions and output never
/// hold the key is unit-tested in manifests::postgres, on the redaction they use.)
#[tokio::test(flavor = "multi_thread")]
async fn database_tls_pair_is_made_once_and_kept() {
    let ns = cluster::namespace("pgtls");
    let tls = ["--set", "database.internal.tls=true"];
    deploy(&ns, &tls).assert_code(0);
    let secrets: kube::api::Api<Secret> = kube::api::Api::namespaced(cluster::client().await, &ns);
    let first = secrets.get("todo-chatbot-postgres-tls").await.unwrap();
    assert_eq!(first.type_.as_deref(), Some("kubernetes.io/tls"));
    let data = first.data.clone().unwrap();
    let key = String::from_utf8(data["tls.key"].0.clone()).unwrap();
    assert!(key.contains("PRIVATE KEY"), "a PEM key");

    let again = deploy(&ns, &tls);
    again.assert_code(0);
    assert!(again.stderr.contains("no changes"), "{}", again.stderr);
    let second = secrets.get("todo-chatbot-postgres-tls").await.unwrap();
    assert_eq!(second.data, first.data, "the pair is kept");

    cleanup(&ns);
}
