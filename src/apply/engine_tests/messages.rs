//! Every rule that decides from the wording of an API server or controller
//! message, as a table: the messages it must match and those it must not
//! (real wordings, from Kubernetes 1.35's validation, scheduler and
//! controllers).

use k8s_openapi::api::core::v1::{Event as KubeEvent, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use serde_json::json;

use crate::apply::ObjectKey;
use crate::apply::deploy::holds_volumes;
use crate::apply::plan::is_immutable_change;
use crate::apply::readiness::{
    Cause, CreateBlocker, StartedSince, cannot_create, failed_create_message, pod_failure,
};

#[test]
fn immutable_changes_are_told_by_the_servers_wording_only() {
    let rows: [(&str, &str, bool); 9] = [
        (
            "a selector",
            "Deployment.apps \"web\" is invalid: spec.selector: Invalid value: v1.LabelSelector{…}: field is immutable",
            true,
        ),
        (
            "a Service's clusterIP",
            "Service \"web\" is invalid: spec.clusterIP: Invalid value: \"None\": field is immutable",
            true,
        ),
        (
            "a StatefulSet's spec",
            "StatefulSet.apps \"db\" is invalid: spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
            true,
        ),
        (
            "a bound claim",
            "PersistentVolumeClaim \"data\" is invalid: spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
            true,
        ),
        (
            "a CEL rule",
            "Widget.example.com \"w\" is invalid: spec.size: Invalid value: \"string\": immutable field",
            true,
        ),
        (
            "a value that says immutable",
            "ConfigMap \"web\" is invalid: metadata.labels: Invalid value: \"immutable!\": a valid label must be an empty string or consist of alphanumeric characters",
            false,
        ),
        (
            "an invalid name",
            "Service \"Web\" is invalid: metadata.name: Invalid value: \"Web\": a DNS-1035 label must consist of lower case alphanumeric characters or '-'",
            false,
        ),
        (
            "a selector that does not match",
            "Deployment.apps \"web\" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"x\"}: `selector` does not match template `labels`",
            false,
        ),
        (
            "another forbidden value",
            "Pod \"p\" is invalid: spec.securityContext.sysctls[0].name: Forbidden: unsafe sysctls are forbidden",
            false,
        ),
    ];
    for (name, message, matches) in rows {
        assert_eq!(is_immutable_change(message), matches, "{name}: {message}");
    }
}

#[test]
fn recreating_warns_of_data_loss_for_what_holds_volumes() {
    let key = |kind: &str| ObjectKey {
        stage: 2,
        api_version: "v1".into(),
        kind: kind.into(),
        namespace: Some("web".into()),
        name: "x".into(),
    };
    let rows: [(&str, &str, bool); 4] = [
        (
            "StatefulSet",
            "spec: Forbidden: updates to statefulset spec … are forbidden",
            true,
        ),
        (
            "PersistentVolumeClaim",
            "spec: Forbidden: spec is immutable after creation",
            true,
        ),
        (
            "Custom",
            "spec.volumeClaimTemplates: field is immutable",
            true,
        ),
        (
            "Service",
            "spec.clusterIP: Invalid value: \"None\": field is immutable",
            false,
        ),
    ];
    for (kind, reason, holds) in rows {
        assert_eq!(holds_volumes(&key(kind), reason), holds, "{kind}: {reason}");
    }
}

#[test]
fn what_refuses_pod_creation_is_read_from_the_message() {
    let rows: [(&str, CreateBlocker); 4] = [
        (
            "pods \"web-7d9\" is forbidden: exceeded quota: no-pods, requested: pods=1, used: pods=0, limited: pods=0",
            CreateBlocker::ResourceQuota,
        ),
        (
            "pods \"web-7d9\" is forbidden: violates PodSecurity \"restricted:latest\": allowPrivilegeEscalation != false",
            CreateBlocker::PodSecurity,
        ),
        (
            "admission webhook \"policy.example.com\" denied the request: no",
            CreateBlocker::Other,
        ),
        (
            "pods \"web-7d9\" is forbidden: error looking up service account web/api: serviceaccount \"api\" not found",
            CreateBlocker::Other,
        ),
    ];
    for (message, blocker) in rows {
        let Cause::CannotCreate { blocker: found, .. } = cannot_create(message) else {
            panic!("{message}");
        };
        assert_eq!(found, blocker, "{message}");
    }
}

#[test]
fn a_failed_create_the_controller_retries_by_itself_does_not_count() {
    let event = |message: &str| KubeEvent {
        reason: Some("FailedCreate".into()),
        message: Some(message.into()),
        involved_object: ObjectReference {
            kind: Some("StatefulSet".into()),
            name: Some("db".into()),
            ..Default::default()
        },
        last_timestamp: Some(Time(Timestamp::now())),
        ..Default::default()
    };
    let rows: [(&str, bool); 3] = [
        (
            "create Pod db-0 in StatefulSet db failed error: pods \"db-0\" is forbidden: exceeded quota: q",
            true,
        ),
        (
            "create Claim data-db-0 for Pod db-0 in StatefulSet db failed error: persistentvolumeclaims \"data-db-0\" already exists",
            false,
        ),
        (
            "create Pod db-0 in StatefulSet db failed error: pods \"db-0\" already exists",
            false,
        ),
    ];
    for (message, counts) in rows {
        let events = [event(message)];
        let found = failed_create_message(&events, "StatefulSet", "db", 0);
        assert_eq!(found.is_some(), counts, "{message}");
    }
}

#[test]
fn only_missing_cpu_or_memory_makes_a_pod_unschedulable_for_good() {
    let pod = |message: &str| -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "web-1"},
            "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled",
                "status": "False", "reason": "Unschedulable", "message": message}]}
        }))
        .unwrap()
    };
    let rows: [(&str, bool); 4] = [
        ("0/1 nodes are available: 1 Insufficient cpu.", true),
        (
            "0/2 nodes are available: 1 Insufficient memory, 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }.",
            true,
        ),
        (
            "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims.",
            false,
        ),
        (
            "0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }.",
            false,
        ),
    ];
    for (message, unschedulable) in rows {
        let cause = pod_failure(&pod(message), &StartedSince::default());
        assert_eq!(
            matches!(cause, Some(Cause::Unschedulable { .. })),
            unschedulable,
            "{message}: {cause:?}"
        );
    }
}
