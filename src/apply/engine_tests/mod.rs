//! The engine driven through its real code against [`fake_api::FakeApi`]:
//! plan, deploy, prune, uninstall and the waits, with the API server's
//! answers (404, 409, 422, 403) scripted where a branch needs them.

mod deploy;
mod fake_api;
mod managed_fields;
mod messages;
mod noop;
mod prune;
mod waits;

use serde_json::json;

use super::{DeployOptions, DeployReport, Desired, Release, RevisionContent, Verb};
use fake_api::FakeApi;

const NAMESPACE: &str = "web";

fn release() -> Release {
    Release::new("shop", NAMESPACE)
}

fn namespace() -> Desired {
    let object = json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": NAMESPACE, "labels": {"app.kubernetes.io/instance": "shop"}}});
    Desired::from_json(object, 0).unwrap()
}

fn config_map(name: &str, value: &str) -> Desired {
    let object = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": NAMESPACE,
            "labels": {"app.kubernetes.io/instance": "shop"}},
        "data": {"key": value}});
    Desired::from_json(object, 1).unwrap()
}

fn service(name: &str, app: &str) -> Desired {
    let object = json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": NAMESPACE,
            "labels": {"app.kubernetes.io/instance": "shop"}},
        "spec": {"selector": {"app": app}, "ports": [{"port": 80}]}});
    Desired::from_json(object, 2).unwrap()
}

/// The URL path of a namespaced core object.
fn path(plural: &str, name: &str) -> String {
    format!("/api/v1/namespaces/{NAMESPACE}/{plural}/{name}")
}

/// A fake API server whose release namespace exists.
fn with_namespace() -> FakeApi {
    let fake = FakeApi::new();
    fake.put(
        &format!("/api/v1/namespaces/{NAMESPACE}"),
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE},
            "status": {"phase": "Active"}}),
    );
    fake
}

fn options() -> DeployOptions {
    DeployOptions {
        force_conflicts: false,
        recreate: false,
        delete_data: false,
        wait: None,
        revision: RevisionContent::default(),
        also_owned: vec![],
        history_max: 0,
    }
}

/// `(object, verb)` of each change, in order.
fn changes(report: &DeployReport) -> Vec<(String, Verb)> {
    report
        .changes
        .iter()
        .map(|c| (c.object.to_string(), c.verb))
        .collect()
}

/// Writes since the `from`th request whose path contains `part`.
fn writes_to(fake: &FakeApi, from: usize, part: &str) -> Vec<String> {
    let requests = fake.requests();
    requests[from..]
        .iter()
        .filter(|r| !r.starts_with("GET ") && !r.contains("dryRun=All") && r.contains(part))
        .cloned()
        .collect()
}
