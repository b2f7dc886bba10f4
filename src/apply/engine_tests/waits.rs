//! The waits: readiness (ready, timed out, a pod that cannot start) and the
//! watches between writes (deletion by UID, a namespace becoming active),
//! each bounded by elapsed time.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::fake_api::FakeApi;
use super::*;
use crate::apply::readiness::Cause;
use crate::apply::watch::{until_deleted, until_namespace_active};
use crate::apply::{ApplyError, Event, ObjectKey, Readiness, wait_ready};

const DEPLOYMENTS: &str = "/apis/apps/v1/namespaces/web/deployments";

fn deployment(ready: i64) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "api", "namespace": NAMESPACE, "generation": 1,
            "labels": {"app.kubernetes.io/instance": "shop"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "api"}},
            "template": {"metadata": {"labels": {"app": "api"}},
                "spec": {"containers": [{"name": "api", "image": "shop/api:1"}]}}},
        "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1,
            "readyReplicas": ready, "availableReplicas": ready}})
}

fn pod(waiting: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "api-1", "namespace": NAMESPACE,
            "labels": {"app": "api", "app.kubernetes.io/instance": "shop"}},
        "spec": {"containers": [{"name": "api", "image": "shop/api:1"}]},
        "status": {"phase": "Pending", "containerStatuses": [{"name": "api", "image": "shop/api:1",
            "imageID": "", "ready": false, "restartCount": 0,
            "state": {"waiting": {"reason": waiting, "message": "pull access denied"}}}]}})
}

fn deployment_key() -> ObjectKey {
    ObjectKey {
        stage: 2,
        api_version: "apps/v1".into(),
        kind: "Deployment".into(),
        namespace: Some(NAMESPACE.into()),
        name: "api".into(),
    }
}

async fn wait(fake: &FakeApi, timeout: Duration) -> (Readiness, Vec<Event>) {
    let mut events = Vec::new();
    let readiness = wait_ready(
        &fake.client(),
        &release(),
        &[deployment_key()],
        timeout,
        &mut |e| events.push(e),
    )
    .await
    .unwrap();
    (readiness, events)
}

#[tokio::test]
async fn a_rolled_out_deployment_is_ready() {
    let fake = with_namespace();
    fake.put(&format!("{DEPLOYMENTS}/api"), deployment(1));
    let (readiness, events) = wait(&fake, Duration::from_secs(5)).await;
    assert_eq!(readiness, Readiness::Ready);
    assert_eq!(
        events.last(),
        Some(&Event::Rollout {
            object: "Deployment web/api".into(),
            summary: "1/1 ready, 1 updated".into()
        })
    );
}

/// The rollout summaries reported, without the one before the first list.
fn summaries(events: &[Event]) -> Vec<&str> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Rollout { summary, .. } => Some(summary.as_str()),
            _ => None,
        })
        .filter(|s| *s != "not found yet")
        .collect()
}

#[tokio::test]
async fn a_deployment_that_becomes_ready_while_watched_ends_the_wait() {
    let fake = with_namespace();
    fake.put(&format!("{DEPLOYMENTS}/api"), deployment(0));
    let later = fake.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        later.put(&format!("{DEPLOYMENTS}/api"), deployment(1));
    });
    let (readiness, events) = wait(&fake, Duration::from_secs(5)).await;
    assert_eq!(readiness, Readiness::Ready);
    assert_eq!(
        summaries(&events),
        ["0/1 ready, 1 updated", "1/1 ready, 1 updated"]
    );
}

#[tokio::test]
async fn the_wait_times_out_naming_what_is_not_ready() {
    let fake = with_namespace();
    fake.put(&format!("{DEPLOYMENTS}/api"), deployment(0));
    let started = Instant::now();
    let (readiness, _) = wait(&fake, Duration::from_millis(1500)).await;
    assert_eq!(
        readiness,
        Readiness::TimedOut {
            waiting: vec!["Deployment web/api: 0/1 ready, 1 updated".into()]
        }
    );
    // Elapsed time, not a count of checks, ends it (generous bound for a busy machine).
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[tokio::test]
async fn a_pod_that_cannot_pull_its_image_fails_the_wait_with_that_cause() {
    let fake = with_namespace();
    fake.put(&format!("{DEPLOYMENTS}/api"), deployment(0));
    fake.put(&path("pods", "api-1"), pod("ImagePullBackOff"));
    let (readiness, _) = wait(&fake, Duration::from_secs(30)).await;
    let Readiness::Failed { object, cause } = readiness else {
        panic!("{readiness:?}");
    };
    assert_eq!(object, "Deployment web/api");
    assert!(
        matches!(&cause, Cause::ImagePull { pod, image, reason, .. }
            if pod == "api-1" && image == "shop/api:1" && reason == "ImagePullBackOff"),
        "{cause:?}"
    );
}

fn config_map_key(name: &str) -> ObjectKey {
    config_map(name, "1").key
}

/// A ConfigMap stored by someone else; returns its UID.
fn stored(fake: &FakeApi, name: &str) -> String {
    fake.put(
        &path("configmaps", name),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}),
    );
    fake.get(&path("configmaps", name)).unwrap()["metadata"]["uid"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_deletion_wait_ends_when_the_watch_sees_the_object_go() {
    let fake = with_namespace();
    let uid = stored(&fake, "a");
    let later = fake.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        later.remove(&path("configmaps", "a"));
    });
    let key = config_map_key("a");
    until_deleted(&fake.client(), &key, Some(&uid), Duration::from_secs(10))
        .await
        .unwrap();
    // A watch, not a GET every 100 ms.
    let reads: Vec<String> = fake
        .requests()
        .into_iter()
        .filter(|r| r.starts_with("GET /api/v1/namespaces/web/configmaps"))
        .collect();
    assert!(reads.iter().any(|r| r.contains("watch=true")), "{reads:#?}");
    assert!(reads.len() <= 4, "{reads:#?}");
}

#[tokio::test]
async fn an_object_recreated_under_the_same_name_counts_as_deleted() {
    let fake = with_namespace();
    let old = stored(&fake, "a");
    fake.remove(&path("configmaps", "a"));
    let new = stored(&fake, "a");
    assert_ne!(old, new);
    let key = config_map_key("a");
    until_deleted(&fake.client(), &key, Some(&old), Duration::from_secs(10))
        .await
        .unwrap();
    // …while the object itself is still there.
    let err = until_deleted(&fake.client(), &key, Some(&new), Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ApplyError::Timeout {
                what: "be deleted",
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_deletion_held_by_a_finalizer_times_out_after_the_deadline() {
    let fake = with_namespace();
    let uid = stored(&fake, "a");
    fake.linger(&path("configmaps", "a"));
    let api = config_map_key("a").api(&fake.client());
    api.delete("a", &Default::default()).await.unwrap();
    let started = Instant::now();
    let err = until_deleted(
        &fake.client(),
        &config_map_key("a"),
        Some(&uid),
        Duration::from_millis(500),
    )
    .await
    .unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(500));
    assert_eq!(
        err.to_string(),
        "ConfigMap web/a: timed out after 1s waiting to be deleted"
    );
}

#[tokio::test]
async fn a_namespace_wait_ends_when_it_becomes_active() {
    let fake = FakeApi::new();
    let key = namespace().key;
    let terminating = json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": NAMESPACE}, "status": {"phase": "Terminating"}});
    fake.put("/api/v1/namespaces/web", terminating);
    let short = until_namespace_active(&fake.client(), &key, Duration::from_millis(300)).await;
    assert!(matches!(
        short,
        Err(ApplyError::Timeout {
            what: "become active",
            ..
        })
    ));
    let later = fake.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        later.put(
            "/api/v1/namespaces/web",
            json!({"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": NAMESPACE}, "status": {"phase": "Active"}}),
        );
    });
    until_namespace_active(&fake.client(), &key, Duration::from_secs(10))
        .await
        .unwrap();
}
