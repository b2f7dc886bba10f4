//! berth as a user with namespace-scoped RBAC (a ServiceAccount token), the
//! usual grant on a shared cluster: a missing permission is one clear message
//! naming the context, the server and the verb/resource denied, and changes
//! nothing; with a namespace admin grant the release deploys and `status` works
//! although Nodes cannot be listed.
#![cfg(feature = "cluster-tests")]

mod cluster;

use std::path::Path;

use cluster::{berth, cleanup, kubectl, names};
use k8s_openapi::api::apps::v1::Deployment;

/// A kubeconfig for ServiceAccount `limited` of `ns` on the test cluster,
/// with context `limited-ctx`.
fn limited_kubeconfig(ns: &str, dir: &Path) -> (String, String) {
    let ok = |args: &[&str]| {
        let out = kubectl(args);
        assert!(out.status.success(), "kubectl {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    ok(&["create", "namespace", ns]);
    ok(&["create", "serviceaccount", "limited", "-n", ns]);
    ok(&[
        "create",
        "role",
        "read-configmaps",
        "-n",
        ns,
        "--verb=get,list",
        "--resource=configmaps",
    ]);
    ok(&[
        "create",
        "rolebinding",
        "read-configmaps",
        "-n",
        ns,
        "--role=read-configmaps",
        &format!("--serviceaccount={ns}:limited"),
    ]);
    let token = ok(&["create", "token", "limited", "-n", ns]);
    let server = ok(&[
        "config",
        "view",
        "--minify",
        "-o",
        "jsonpath={.clusters[0].cluster.server}",
    ]);
    let ca = ok(&[
        "config",
        "view",
        "--raw",
        "--minify",
        "-o",
        "jsonpath={.clusters[0].cluster.certificate-authority-data}",
    ]);
    let path = dir.join("limited.kubeconfig");
    let config = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "test", "cluster": {"server": server, "certificate-authority-data": ca}}],
        "users": [{"name": "limited", "user": {"token": token}}],
        "contexts": [{"name": "limited-ctx", "context": {"cluster": "test", "user": "limited", "namespace": ns}}],
        "current-context": "limited-ctx"
    });
    std::fs::write(&path, config.to_string()).unwrap();
    (path.to_string_lossy().into_owned(), server)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_permission_names_context_server_verb_and_resource() {
    let ns = cluster::namespace("rbac");
    let dir = tempfile::tempdir().unwrap();
    let (config, server) = limited_kubeconfig(&ns, dir.path());

    let run = berth(&ns, &["deploy", "--yes", "--kubeconfig", &config]);
    run.assert_code(2);
    for expected in [
        "permission denied: context `limited-ctx`",
        server.as_str(),
        "cannot get resource \"secrets\"",
        "hint: ",
    ] {
        assert!(
            run.stderr.contains(expected),
            "no {expected:?} in:\n{}",
            run.stderr
        );
    }
    assert!(!run.stderr.contains("Status {"), "{}", run.stderr);
    assert!(
        names::<Deployment>(&ns).await.is_empty(),
        "something was deployed"
    );

    let status = berth(&ns, &["status", "--kubeconfig", &config]);
    status.assert_code(2);
    assert!(
        status.stderr.contains("list Pods in namespace")
            && status.stderr.contains("cannot list resource \"pods\""),
        "{}",
        status.stderr
    );

    // A namespace admin cannot manage the Namespace object itself: the hint
    // says how to deploy into it anyway, and that works.
    let grant = kubectl(&[
        "create",
        "rolebinding",
        "limited-admin",
        "-n",
        &ns,
        "--clusterrole=admin",
        &format!("--serviceaccount={ns}:limited"),
    ]);
    assert!(grant.status.success(), "{grant:?}");
    let run = berth(&ns, &["deploy", "--yes", "--kubeconfig", &config]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("resource \"namespaces\"")
            && run.stderr.contains("--set namespace.create=false"),
        "{}",
        run.stderr
    );
    let args = [
        "deploy",
        "--yes",
        "--timeout",
        "2m",
        "--kubeconfig",
        &config,
        "--set",
        "namespace.create=false",
    ];
    berth(&ns, &args).assert_code(0);
    let status = berth(&ns, &["status", "-o", "json", "--kubeconfig", &config]);
    status.assert_code(0);
    let json: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(json["ready"], true, "{}", status.stdout);
    // Nodes are cluster-scoped and not readable here; the URL comes from the
    // node address the release's pods report.
    assert!(
        json["urls"][0]
            .as_str()
            .unwrap_or("")
            .starts_with("http://"),
        "{}",
        status.stdout
    );
    cleanup(&ns);
}
