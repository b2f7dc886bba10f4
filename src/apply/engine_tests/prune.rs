//! Prune and uninstall: what the release no longer renders is deleted only
//! when its live labels prove ownership, on that very version of it.

use http::Method;
use serde_json::json;

use super::fake_api::{FakeApi, Fault};
use super::*;
use crate::apply::{Inventory, deploy, uninstall};

async fn deploy_quietly(fake: &FakeApi, objects: &[Desired]) -> DeployReport {
    deploy(
        &fake.client(),
        &release(),
        objects.to_vec(),
        &options(),
        &mut |_| {},
    )
    .await
    .unwrap()
}

/// A release with ConfigMaps a and b deployed.
async fn deployed() -> FakeApi {
    let fake = with_namespace();
    deploy_quietly(&fake, &[config_map("a", "1"), config_map("b", "1")]).await;
    fake
}

fn deletes_of(fake: &FakeApi, name: &str) -> usize {
    let suffix = format!("/configmaps/{name}");
    fake.requests()
        .iter()
        .filter(|r| r.starts_with("DELETE ") && r.split('?').next().unwrap().ends_with(&suffix))
        .count()
}

#[tokio::test]
async fn what_is_no_longer_rendered_is_pruned_and_leaves_the_inventory() {
    let fake = deployed().await;
    let report = deploy_quietly(&fake, &[config_map("a", "1")]).await;
    assert_eq!(
        changes(&report),
        [("ConfigMap web/b".to_string(), Verb::Prune)]
    );
    assert!(fake.get(&path("configmaps", "b")).is_none());
    let inventory = Inventory::read(&fake.client(), &release())
        .await
        .unwrap()
        .unwrap();
    let names: Vec<&str> = inventory.objects.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(names, ["a"]);
}

#[tokio::test]
async fn an_object_already_gone_is_not_an_error_nor_reported_pruned() {
    let fake = deployed().await;
    fake.remove(&path("configmaps", "b"));
    let report = deploy_quietly(&fake, &[config_map("a", "1")]).await;
    assert_eq!(changes(&report), []);
    assert!(report.kept.is_empty(), "{:?}", report.kept);
    assert_eq!(deletes_of(&fake, "b"), 0, "nothing to delete");
}

#[tokio::test]
async fn a_delete_refused_by_its_precondition_is_retried_on_a_fresh_read() {
    let fake = deployed().await;
    fake.fault(
        Fault::on(
            Method::DELETE,
            "/configmaps/b",
            409,
            "Precondition failed: UID in precondition: x, UID in object meta: y",
        )
        .times(1),
    );
    let report = deploy_quietly(&fake, &[config_map("a", "1")]).await;
    assert_eq!(
        changes(&report),
        [("ConfigMap web/b".to_string(), Verb::Prune)]
    );
    assert_eq!(deletes_of(&fake, "b"), 2);
}

#[tokio::test]
async fn an_object_that_keeps_changing_is_kept_after_three_tries() {
    let fake = deployed().await;
    fake.fault(Fault::on(Method::DELETE, "/configmaps/b", 409, "Precondition failed").times(3));
    let report = deploy_quietly(&fake, &[config_map("a", "1")]).await;
    assert_eq!(changes(&report), []);
    assert_eq!(
        report.kept,
        ["ConfigMap web/b: it kept changing while berth checked whose it is"]
    );
    assert!(fake.get(&path("configmaps", "b")).is_some());
    assert_eq!(deletes_of(&fake, "b"), 3);
}

#[tokio::test]
async fn an_object_no_longer_labelled_a_member_is_kept() {
    let fake = deployed().await;
    let mut taken = fake.get(&path("configmaps", "b")).unwrap();
    taken["metadata"]["labels"] = json!({"app.kubernetes.io/instance": "shop"});
    fake.put(&path("configmaps", "b"), taken);
    let report = deploy_quietly(&fake, &[config_map("a", "1")]).await;
    assert_eq!(
        report.kept,
        ["ConfigMap web/b: its labels do not name this release"]
    );
    assert!(fake.get(&path("configmaps", "b")).is_some());
    assert_eq!(deletes_of(&fake, "b"), 0);
}

#[tokio::test]
async fn uninstall_deletes_what_the_release_owns_and_its_records_keeping_the_namespace() {
    let fake = with_namespace();
    let objects = [namespace(), config_map("a", "1"), service("web", "a")];
    deploy_quietly(&fake, &objects).await;
    let report = uninstall(&fake.client(), &release(), false)
        .await
        .unwrap()
        .expect("installed");
    // Deepest stage first; the namespace stays with the volumes it may hold.
    assert_eq!(report.deleted, ["Service web/web", "ConfigMap web/a"]);
    assert!(report.volumes_kept && report.kept.is_empty());
    assert!(fake.get("/api/v1/namespaces/web").is_some());
    assert!(fake.get(&path("secrets", "shop-inventory")).is_none());
    assert!(fake.get(&path("secrets", "shop-rev-1")).is_none());
    assert!(
        fake.get("/apis/coordination.k8s.io/v1/namespaces/web/leases/shop-lock")
            .is_none(),
        "the lock is released"
    );
    // Once gone, there is nothing to uninstall.
    let again = uninstall(&fake.client(), &release(), false).await.unwrap();
    assert_eq!(again, None);
}

#[tokio::test]
async fn uninstall_of_a_release_without_a_namespace_finds_nothing() {
    let fake = FakeApi::new();
    let report = uninstall(&fake.client(), &release(), true).await.unwrap();
    assert_eq!(report, None);
}
