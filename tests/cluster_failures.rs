//! Each kwok failure mode, a pod that fits no node and a quota that admits no
//! pod fail the deploy fast with the right cause and hint.
#![cfg(feature = "cluster-tests")]

mod cluster;

use std::time::Duration;

use cluster::{cleanup, deploy, kubectl};

fn fails_fast_with(test: &str, tag: &str, cause: &str, hint: &str) {
    let ns = cluster::namespace(test);
    let set = format!("components.mcp.image.tag={tag}");
    deploy_fails_fast(&ns, &["--set", &set], "todo-chatbot-mcp", cause, hint);
}

/// Deploys into `ns` (then removes it) and expects exit 1 within 90 s naming
/// `object`, the `cause` and the `hint`.
fn deploy_fails_fast(ns: &str, args: &[&str], object: &str, cause: &str, hint: &str) {
    let run = deploy(ns, args);
    run.assert_code(1);
    assert!(
        run.stderr.contains(cause),
        "expected {cause}:\n{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(hint),
        "expected hint {hint}:\n{}",
        run.stderr
    );
    assert!(run.stderr.contains(object), "{}", run.stderr);
    assert!(
        run.elapsed < Duration::from_secs(90),
        "took {:?}",
        run.elapsed
    );
    cleanup(ns);
}

#[test]
fn image_pull_backoff() {
    fails_fast_with(
        "pull",
        "0.1.0-imagepullbackoff",
        "ImagePullBackOff",
        "load it into the cluster",
    );
}

#[test]
fn crash_loop() {
    fails_fast_with("crash", "0.1.0-crashloop", "CrashLoopBackOff", "logs");
}

#[test]
fn out_of_memory() {
    fails_fast_with("oom", "0.1.0-oom", "OOMKilled", "memory limit");
}

#[test]
fn readiness_never_reached() {
    fails_fast_with(
        "notready",
        "0.1.0-notready",
        "never became ready",
        "readiness probe",
    );
}

#[test]
fn unschedulable_for_lack_of_cpu() {
    let ns = cluster::namespace("unschedulable");
    // Each kwok node has 4 CPUs.
    let args = [
        "--set",
        "components.backend.resources.requests.cpu=64",
        "--set",
        "components.backend.resources.limits.cpu=64",
    ];
    deploy_fails_fast(
        &ns,
        &args,
        "todo-chatbot-backend",
        "Insufficient cpu",
        // Not a Minikube context: the advice does not name Minikube.
        "lower the resource requests",
    );
}

/// A namespace whose ResourceQuota allows no pods at all.
fn namespace_without_room_for_pods(test: &str) -> String {
    let ns = cluster::namespace(test);
    kubectl(&["create", "namespace", &ns]);
    let quota = kubectl(&["create", "quota", "no-pods", "-n", &ns, "--hard=pods=0"]);
    assert!(quota.status.success(), "{quota:?}");
    ns
}

/// A StatefulSet reports failed pod creations only as Events.
#[test]
fn a_resource_quota_without_room_for_the_database_pod() {
    let ns = namespace_without_room_for_pods("quota-sts");
    deploy_fails_fast(
        &ns,
        &[
            "--set",
            "components.frontend.enabled=false",
            "--set",
            "components.backend.enabled=false",
            "--set",
            "components.mcp.enabled=false",
        ],
        "StatefulSet",
        "pods cannot be created",
        "ResourceQuota leaves no room",
    );
}

/// A Deployment reports them as its ReplicaFailure condition.
#[test]
fn a_resource_quota_without_room_for_the_app_pods() {
    let ns = namespace_without_room_for_pods("quota-deploy");
    let env_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        env_file.path(),
        "DATABASE_URL=postgresql://todo:pw@db.example:5432/todo?sslmode=require\n",
    )
    .unwrap();
    let env_path = env_file.path().to_str().unwrap();
    deploy_fails_fast(
        &ns,
        &["--set", "database.mode=external", "--env-file", env_path],
        "Deployment",
        "pods cannot be created",
        "ResourceQuota leaves no room",
    );
}
