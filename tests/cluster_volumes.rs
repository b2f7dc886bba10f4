//! Growing the database volume on the test cluster: with a StorageClass that
//! allows expansion the claim's request grows and the StatefulSet is
//! re-created around its running pod; without, diff and deploy say why and
//! what to do, and nothing changes.
//!
//! What is real here: the API server's validation and its
//! PersistentVolumeClaimResize admission (which checks the class), the
//! StatefulSet controller adopting the orphaned pod, and the garbage
//! collector honouring the orphan deletion. What is not: no volume plugin
//! resizes storage (kwok simulates pods), so the claim's status capacity
//! stays at the old size; on a real cluster the CSI resizer does that.
#![cfg(feature = "cluster-tests")]

mod cluster;

use cluster::{berth, cleanup, deploy, kubectl};

const CLAIM: &str = "data-todo-chatbot-postgres-0";

fn jsonpath(ns: &str, object: &str, path: &str) -> String {
    let out = kubectl(&["get", "-n", ns, object, "-o", &format!("jsonpath={path}")]);
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn apply(manifest: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.yaml");
    std::fs::write(&path, manifest).unwrap();
    let out = kubectl(&["apply", "-f", path.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
}

/// A class that allows expansion and a 1Gi volume of it waiting for the
/// database's claim (kwok's provisioner serves only `standard`, so the
/// volume is made here, as an admin would for static provisioning).
fn expandable_class(ns: &str) -> String {
    let class = format!("expand-{ns}");
    apply(&format!(
        "apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {{name: {class}}}
provisioner: kwok.x-k8s.io/volume
allowVolumeExpansion: true
volumeBindingMode: Immediate
---
apiVersion: v1
kind: PersistentVolume
metadata: {{name: pv-{ns}}}
spec:
  capacity: {{storage: 1Gi}}
  accessModes: [ReadWriteOnce]
  storageClassName: {class}
  persistentVolumeReclaimPolicy: Delete
  hostPath: {{path: /tmp/berth-test-{ns}}}
  claimRef: {{namespace: {ns}, name: {CLAIM}}}
"
    ));
    class
}

#[test]
fn a_larger_volume_expands_the_claim_and_keeps_the_pod() {
    let ns = cluster::namespace("expand");
    let class = expandable_class(&ns);
    let with_class = format!("database.internal.storageClass={class}");
    deploy(&ns, &["--set", &with_class]).assert_code(0);
    let claim_uid = jsonpath(&ns, &format!("pvc/{CLAIM}"), "{.metadata.uid}");
    let pod_uid = jsonpath(&ns, "pod/todo-chatbot-postgres-0", "{.metadata.uid}");
    let sts_uid = jsonpath(&ns, "statefulset/todo-chatbot-postgres", "{.metadata.uid}");

    let grow = [
        "--set",
        &with_class,
        "--set",
        "database.internal.storage=2Gi",
    ];
    let diff = berth(&ns, &[&["diff"][..], &grow[..]].concat());
    diff.assert_code(1);
    assert!(
        diff.stdout.contains("would expand its volumes"),
        "{}",
        diff.stdout
    );
    assert!(
        diff.stdout.contains(&format!(
            "expand PersistentVolumeClaim {ns}/{CLAIM} from 1Gi to 2Gi"
        )),
        "{}",
        diff.stdout
    );

    let run = deploy(&ns, &grow);
    run.assert_code(0);
    assert!(run.stderr.contains("1 expanded"), "{}", run.stderr);
    assert_eq!(
        jsonpath(
            &ns,
            &format!("pvc/{CLAIM}"),
            "{.spec.resources.requests.storage}"
        ),
        "2Gi"
    );
    assert_eq!(
        jsonpath(&ns, &format!("pvc/{CLAIM}"), "{.metadata.uid}"),
        claim_uid
    );
    assert_eq!(
        jsonpath(&ns, "pod/todo-chatbot-postgres-0", "{.metadata.uid}"),
        pod_uid,
        "the database pod was replaced"
    );
    assert_ne!(
        jsonpath(&ns, "statefulset/todo-chatbot-postgres", "{.metadata.uid}"),
        sts_uid,
        "the StatefulSet object was not re-created"
    );
    assert_eq!(
        jsonpath(
            &ns,
            "statefulset/todo-chatbot-postgres",
            "{.spec.volumeClaimTemplates[0].spec.resources.requests.storage}"
        ),
        "2Gi"
    );
    // The re-created StatefulSet adopted the pod and the release converged.
    berth(&ns, &["status"]).assert_code(0);
    berth(&ns, &[&["diff"][..], &grow[..]].concat()).assert_code(0);
    cleanup(&ns);
    let _ = kubectl(&["delete", "storageclass", &class, "--wait=false"]);
}

#[test]
fn a_class_without_expansion_is_explained_and_nothing_changes() {
    let ns = cluster::namespace("noexpand");
    deploy(&ns, &[]).assert_code(0);
    let grow = ["--set", "database.internal.storage=2Gi"];
    let diff = berth(&ns, &[&["diff"][..], &grow[..]].concat());
    diff.assert_code(1);
    assert!(
        diff.stdout
            .contains("StorageClass `standard` does not allow volume expansion"),
        "{}",
        diff.stdout
    );
    assert!(
        diff.stdout.contains("allowVolumeExpansion"),
        "{}",
        diff.stdout
    );
    let refused = deploy(&ns, &grow);
    refused.assert_code(2);
    for needle in [
        "would recreate",
        "cannot grow from 1Gi to 2Gi in place",
        "allowVolumeExpansion: true",
        "--recreate",
    ] {
        assert!(
            refused.stderr.contains(needle),
            "{needle}: {}",
            refused.stderr
        );
    }
    assert_eq!(
        jsonpath(
            &ns,
            &format!("pvc/{CLAIM}"),
            "{.spec.resources.requests.storage}"
        ),
        "1Gi"
    );
    cleanup(&ns);
}

/// A claim whose StorageClass no provisioner serves (kwok's volume stages serve
/// only `standard`, like a second class of the same provisioner on a real
/// cluster): the deploy's wait and `diagnose` name the Pending claim, its class
/// and provisioner, and the fix, instead of a bare timeout.
#[test]
fn a_claim_nobody_binds_is_named_with_its_class_and_provisioner() {
    let ns = cluster::namespace("unbound");
    let class = format!("unserved-{ns}");
    apply(&format!(
        "apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {{name: {class}}}
provisioner: example.com/nobody-serves-this
volumeBindingMode: Immediate
"
    ));
    let with_class = format!("database.internal.storageClass={class}");
    let run = berth(
        &ns,
        &["deploy", "--yes", "--timeout", "20s", "--set", &with_class],
    );
    run.assert_code(1);
    for expected in [
        format!("PersistentVolumeClaim {CLAIM} is still Pending"),
        format!("StorageClass `{class}` (provisioner `example.com/nobody-serves-this`)"),
        "hint: nothing serves provisioner `example.com/nobody-serves-this`".to_string(),
        "database.internal.storageClass".to_string(),
    ] {
        assert!(
            run.stderr.contains(&expected),
            "expected {expected}:\n{}",
            run.stderr
        );
    }
    assert!(!run.stderr.contains("timed out"), "{}", run.stderr);

    let diagnose = berth(&ns, &["diagnose"]);
    for expected in [
        format!("PersistentVolumeClaim {CLAIM} is still Pending"),
        "provisioner `example.com/nobody-serves-this`".to_string(),
        "nothing serves provisioner".to_string(),
    ] {
        assert!(
            diagnose.stdout.contains(&expected),
            "expected {expected}:\n{}{}",
            diagnose.stdout,
            diagnose.stderr
        );
    }
    cleanup(&ns);
    let _ = kubectl(&["delete", "storageclass", &class, "--wait=false"]);
}
