//! The no-op proof: a deploy that changes nothing reads one list per kind,
//! and drift by another field manager (`kubectl edit`, `scale`, `label`)
//! sends the drifted object back to the dry-run and is reverted. The fake
//! models managed fields coarsely; the real API server's answers (its
//! conflicts, the `/scale` subresource) are in tests/cluster_deploy.rs.

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};

use super::fake_api::FakeApi;
use super::*;
use crate::apply::{Inventory, ObjectKey, deploy};
use crate::cluster::requests::RequestCounts;

fn deployment(replicas: u32) -> Desired {
    let object = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "api", "namespace": NAMESPACE,
            "labels": {"app.kubernetes.io/instance": "shop", "tier": "api"}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "api"}},
            "template": {"metadata": {"labels": {"app": "api"}},
                "spec": {"containers": [{"name": "api", "image": "shop/api:1"}]}}}});
    Desired::from_json(object, 2).unwrap()
}

fn stack() -> Vec<Desired> {
    vec![
        config_map("a", "1"),
        config_map("b", "1"),
        service("web", "api"),
        deployment(2),
    ]
}

/// Deploys `objects` through a counting client; the counts and the report.
async fn counted(fake: &FakeApi, objects: &[Desired]) -> (RequestCounts, DeployReport) {
    let counts = RequestCounts::default();
    let report = deploy(
        &fake.client_counting(&counts),
        &release(),
        objects.to_vec(),
        &options(),
        &mut |_| {},
    )
    .await
    .unwrap();
    (counts, report)
}

/// What a user's tool does: a merge patch by another field manager.
async fn edit(fake: &FakeApi, key: &ObjectKey, manager: &str, patch: Value) {
    let api: Api<DynamicObject> = key.api(&fake.client());
    let params = PatchParams {
        field_manager: Some(manager.into()),
        ..Default::default()
    };
    api.patch(&key.name, &params, &Patch::Merge(&patch))
        .await
        .unwrap();
}

fn dry_runs(counts: &RequestCounts) -> u64 {
    ["configmaps", "services", "deployments"]
        .iter()
        .map(|kind| counts.of(&format!("dry-run apply {kind}")))
        .sum()
}

fn object_writes(counts: &RequestCounts) -> u64 {
    ["configmaps", "services", "deployments"]
        .iter()
        .map(|kind| counts.of(&format!("apply {kind}")) + counts.of(&format!("patch {kind}")))
        .sum()
}

#[tokio::test]
async fn a_no_op_deploy_costs_one_list_per_kind_and_writes_nothing() {
    let mut totals = Vec::new();
    for n in [2, 5] {
        let fake = with_namespace();
        let mut objects: Vec<Desired> = (0..n).map(|i| config_map(&format!("c{i}"), "1")).collect();
        objects.push(service("web", "api"));
        counted(&fake, &objects).await;
        // A changed value: the next deploy applies it and records the proof.
        objects[0] = config_map("c0", "2");
        let (_, report) = counted(&fake, &objects).await;
        assert_eq!(
            changes(&report),
            [("ConfigMap web/c0".to_string(), Verb::Update)]
        );

        let (counts, report) = counted(&fake, &objects).await;
        assert!(!report.wrote_anything());
        assert_eq!(report.unchanged, n as usize + 1);
        for kind in ["configmaps", "services"] {
            assert_eq!(
                counts.of(&format!("list {kind}")),
                1,
                "{}",
                counts.summary()
            );
            assert_eq!(counts.of(&format!("get {kind}")), 0, "{}", counts.summary());
            assert_eq!(
                counts.of(&format!("dry-run apply {kind}")),
                0,
                "{}",
                counts.summary()
            );
        }
        for write in [
            "apply configmaps",
            "apply services",
            "apply secrets",
            "patch secrets",
            "delete secrets",
        ] {
            assert_eq!(counts.of(write), 0, "{}", counts.summary());
        }
        totals.push((n, counts.total(), counts.summary()));
    }
    // Per deploy, whatever the number of objects: the lock (create, get,
    // delete), the inventory (get), the revisions (list) and one list per kind.
    let fixed: Vec<u64> = totals.iter().map(|(_, total, _)| *total).collect();
    assert_eq!(fixed, [5 + 2, 5 + 2], "{totals:?}");
}

#[tokio::test]
async fn drift_by_another_manager_is_dry_run_and_reverted_the_rest_is_not() {
    let berth_owned = [
        // kubectl edit of a value berth set.
        (
            "edit",
            config_map("a", "1").key,
            "kubectl-edit",
            json!({"data": {"key": "edited"}}),
        ),
        // kubectl scale (here as a patch of the field; the real one goes
        // through /scale, tested on the real API server).
        (
            "scale",
            deployment(2).key,
            "kubectl",
            json!({"spec": {"replicas": 5}}),
        ),
        // kubectl label --overwrite of a label berth set.
        (
            "label",
            deployment(2).key,
            "kubectl-label",
            json!({"metadata": {"labels": {"tier": "other"}}}),
        ),
        // kubectl label tier- : a label berth set, removed.
        (
            "unlabel",
            deployment(2).key,
            "kubectl-label",
            json!({"metadata": {"labels": {"tier": null}}}),
        ),
    ];
    for (name, key, manager, patch) in berth_owned {
        let fake = with_namespace();
        counted(&fake, &stack()).await;
        let live_before = fake.get(&live_path(&key)).unwrap();
        edit(&fake, &key, manager, patch).await;
        let (counts, report) = counted(&fake, &stack()).await;
        // Only the drifted object is dry-run, and it is written back.
        assert_eq!(dry_runs(&counts), 1, "{name}: {}", counts.summary());
        assert_eq!(
            changes(&report),
            [(key.to_string(), Verb::Update)],
            "{name}"
        );
        let live = fake.get(&live_path(&key)).unwrap();
        for field in ["data", "spec"] {
            assert_eq!(live[field], live_before[field], "{name}: {field} reverted");
        }
        assert_eq!(
            live["metadata"]["labels"], live_before["metadata"]["labels"],
            "{name}: labels reverted"
        );
        // Reverted and recorded: the next deploy is a no-op from the lists.
        let (counts, report) = counted(&fake, &stack()).await;
        assert!(!report.wrote_anything(), "{name}");
        assert_eq!(dry_runs(&counts), 0, "{name}: {}", counts.summary());
    }

    // A field berth does not own (an annotation someone added) is not drift:
    // applying would keep it, so the deploy stays a no-op without a dry-run.
    let fake = with_namespace();
    counted(&fake, &stack()).await;
    let key = deployment(2).key;
    edit(
        &fake,
        &key,
        "kubectl-annotate",
        json!({"metadata": {"annotations": {"team": "payments"}}}),
    )
    .await;
    let (counts, report) = counted(&fake, &stack()).await;
    assert!(!report.wrote_anything());
    assert_eq!(
        (dry_runs(&counts), object_writes(&counts)),
        (0, 0),
        "{}",
        counts.summary()
    );
}

#[tokio::test]
async fn without_the_record_every_object_is_dry_run_and_nothing_is_written() {
    let fake = with_namespace();
    counted(&fake, &stack()).await;
    // An inventory without the proof (written by an older berth, or lost).
    let client = fake.client();
    let mut inventory = Inventory::read(&client, &release()).await.unwrap().unwrap();
    assert_eq!(inventory.applied.len(), stack().len());
    inventory.applied.clear();
    inventory.write(&client, &release()).await.unwrap();
    let (counts, report) = counted(&fake, &stack()).await;
    assert!(!report.wrote_anything());
    assert_eq!(
        dry_runs(&counts),
        stack().len() as u64,
        "{}",
        counts.summary()
    );
    assert_eq!(object_writes(&counts), 0, "{}", counts.summary());
}

#[tokio::test]
async fn objects_without_the_stamp_are_dry_run_and_stamped_once() {
    let fake = with_namespace();
    counted(&fake, &stack()).await;
    // The object as an older berth left it: no stamp.
    let key = config_map("b", "1").key;
    edit(
        &fake,
        &key,
        "berth",
        json!({"metadata": {"annotations": {crate::apply::applied::APPLIED_ANNOTATION: null}}}),
    )
    .await;
    let (counts, report) = counted(&fake, &stack()).await;
    assert_eq!(dry_runs(&counts), 1, "{}", counts.summary());
    assert_eq!(changes(&report), [(key.to_string(), Verb::Update)]);
    let live = fake.get(&live_path(&key)).unwrap();
    assert!(crate::apply::applied::payload_hash(&live).is_some());
    let (counts, report) = counted(&fake, &stack()).await;
    assert!(!report.wrote_anything());
    assert_eq!(dry_runs(&counts), 0, "{}", counts.summary());
}

/// The fake's path of a namespaced object.
fn live_path(key: &ObjectKey) -> String {
    let base = match key.group() {
        "" => "/api/v1".to_string(),
        group => format!("/apis/{group}/v1"),
    };
    format!(
        "{base}/namespaces/{NAMESPACE}/{}/{}",
        key.resource().plural,
        key.name
    )
}
