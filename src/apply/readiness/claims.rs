//! A claim nobody binds: a pod that waits unscheduled for a PersistentVolumeClaim
//! that stays Pending, with what the claim's StorageClass says about why (no
//! class and no default, a class that does not exist, or a provisioner that
//! has not answered). The wait and `diagnose` both decide with this.

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::ResourceExt;

use super::{Cause, Rollout, belongs_to};

/// What the claim's StorageClass tells about who should have bound it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(
    tag = "state",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum ClaimClass {
    /// The claim names no class and the cluster had no default one when it was made.
    Unset,
    /// The claim names a class that does not exist.
    Missing { name: String },
    /// The class exists; its provisioner has not created a volume.
    Unserved { name: String, provisioner: String },
    /// StorageClasses could not be read (a namespace-bound user).
    Unknown { name: String },
}

/// How long a claim may stay Pending before the wait calls it the cause:
/// provisioners on real clusters take seconds to tens of seconds.
pub const UNBOUND_CLAIM_GRACE_SECONDS: i64 = 60;

/// The first pod of the workload's current template that waits unscheduled
/// for a claim Pending for at least `min_pending_seconds` (at `now`).
/// `classes` is `None` when StorageClasses could not be read.
pub fn unbound_claim<'a>(
    rollout: &Rollout,
    pods: impl IntoIterator<Item = &'a Pod>,
    claims: &[PersistentVolumeClaim],
    classes: Option<&[StorageClass]>,
    now: i64,
    min_pending_seconds: i64,
) -> Option<Cause> {
    let template = rollout.template.as_ref().filter(|_| !rollout.done)?;
    pods.into_iter()
        .filter(|p| belongs_to(p, &rollout.selector, template))
        // A scheduled pod's claims are bound (or its kubelet reports the volume).
        .filter(|p| p.spec.as_ref().is_some_and(|s| s.node_name.is_none()))
        .find_map(|pod| {
            let wanted = pod
                .spec
                .iter()
                .flat_map(|s| s.volumes.iter().flatten())
                .filter_map(|v| v.persistent_volume_claim.as_ref());
            wanted.into_iter().find_map(|source| {
                let claim = claims.iter().find(|c| c.name_any() == source.claim_name)?;
                let pending = claim
                    .status
                    .as_ref()
                    .and_then(|s| s.phase.as_deref())
                    .is_none_or(|phase| phase == "Pending");
                let created = claim.creation_timestamp()?.0.as_second();
                let pending_seconds = now - created;
                (pending && pending_seconds >= min_pending_seconds).then(|| Cause::ClaimPending {
                    pod: pod.name_any(),
                    claim: source.claim_name.clone(),
                    pending_seconds,
                    class: claim_class(claim, classes),
                })
            })
        })
}

fn claim_class(claim: &PersistentVolumeClaim, classes: Option<&[StorageClass]>) -> ClaimClass {
    let Some(name) = claim
        .spec
        .as_ref()
        .and_then(|s| s.storage_class_name.clone())
        .filter(|n| !n.is_empty())
    else {
        // The admission plugin fills in the default class when one exists.
        return ClaimClass::Unset;
    };
    let unknown = ClaimClass::Unknown { name };
    match classes {
        Some(classes) => unknown.resolve(classes),
        None => unknown,
    }
}

impl ClaimClass {
    /// An unknown class looked up among `classes` (read later, once needed).
    pub fn resolve(self, classes: &[StorageClass]) -> ClaimClass {
        let ClaimClass::Unknown { name } = self else {
            return self;
        };
        match classes.iter().find(|c| c.name_any() == name) {
            None => ClaimClass::Missing { name },
            Some(class) => ClaimClass::Unserved {
                name,
                provisioner: class.provisioner.clone(),
            },
        }
    }
}

impl std::fmt::Display for ClaimClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClaimClass::Unset => {
                f.write_str("it names no StorageClass and the cluster has no default one")
            }
            ClaimClass::Missing { name } => write!(f, "its StorageClass `{name}` does not exist"),
            ClaimClass::Unserved { name, provisioner } => write!(
                f,
                "its StorageClass `{name}` (provisioner `{provisioner}`) has not provided a volume"
            ),
            ClaimClass::Unknown { name } => write!(
                f,
                "its StorageClass `{name}` has not provided a volume (StorageClasses are not readable here)"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(node: Option<&str>) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "db-0", "labels": {"app": "db"}},
            "spec": {
                "nodeName": node,
                "containers": [{"name": "db", "image": "postgres:17"}],
                "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data-db-0"}}],
            },
        }))
        .unwrap()
    }

    fn claim(class: Option<&str>, phase: &str, created: &str) -> PersistentVolumeClaim {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "data-db-0", "creationTimestamp": created},
            "spec": {"storageClassName": class},
            "status": {"phase": phase},
        }))
        .unwrap()
    }

    fn class(name: &str, provisioner: &str) -> StorageClass {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": name}, "provisioner": provisioner,
        }))
        .unwrap()
    }

    fn rollout() -> Rollout {
        Rollout {
            done: false,
            desired: 1,
            ready: 0,
            updated: 0,
            selector: serde_json::from_value(serde_json::json!({"matchLabels": {"app": "db"}}))
                .unwrap(),
            template: pod(None).spec,
            cannot_create: None,
        }
    }

    const CREATED: &str = "2026-12-06T10:00:00Z";
    fn at(seconds: i64) -> i64 {
        CREATED
            .parse::<k8s_openapi::jiff::Timestamp>()
            .unwrap()
            .as_second()
            + seconds
    }

    #[test]
    fn a_claim_pending_past_the_grace_names_its_class_and_provisioner() {
        let claims = [claim(Some("slow"), "Pending", CREATED)];
        let classes = [
            class("standard", "a.example/x"),
            class("slow", "b.example/y"),
        ];
        let cause = unbound_claim(
            &rollout(),
            &[pod(None)],
            &claims,
            Some(&classes),
            at(61),
            60,
        );
        assert_eq!(
            cause,
            Some(Cause::ClaimPending {
                pod: "db-0".into(),
                claim: "data-db-0".into(),
                pending_seconds: 61,
                class: ClaimClass::Unserved {
                    name: "slow".into(),
                    provisioner: "b.example/y".into()
                },
            })
        );
        let text = cause.unwrap().to_string();
        assert!(
            text.contains("data-db-0") && text.contains("`b.example/y`"),
            "{text}"
        );
    }

    #[test]
    fn a_young_claim_a_bound_one_or_a_scheduled_pod_is_not_a_cause() {
        let classes = [class("slow", "b.example/y")];
        let pending = [claim(Some("slow"), "Pending", CREATED)];
        let bound = [claim(Some("slow"), "Bound", CREATED)];
        let rollout = rollout();
        let check = |pods: &[Pod], claims: &[PersistentVolumeClaim], now| {
            unbound_claim(&rollout, pods, claims, Some(&classes), now, 60)
        };
        assert_eq!(check(&[pod(None)], &pending, at(30)), None);
        assert_eq!(check(&[pod(None)], &bound, at(600)), None);
        assert_eq!(check(&[pod(Some("node-1"))], &pending, at(600)), None);
    }

    #[test]
    fn the_class_says_why_nobody_binds() {
        let classes = [class("standard", "a.example/x")];
        let of =
            |claim: PersistentVolumeClaim, classes: Option<&[StorageClass]>| match unbound_claim(
                &rollout(),
                &[pod(None)],
                &[claim],
                classes,
                at(1),
                0,
            ) {
                Some(Cause::ClaimPending { class, .. }) => class,
                other => panic!("{other:?}"),
            };
        assert_eq!(
            of(claim(None, "Pending", CREATED), Some(&classes)),
            ClaimClass::Unset
        );
        assert_eq!(
            of(claim(Some("gone"), "Pending", CREATED), Some(&classes)),
            ClaimClass::Missing {
                name: "gone".into()
            }
        );
        assert_eq!(
            of(claim(Some("standard"), "Pending", CREATED), None),
            ClaimClass::Unknown {
                name: "standard".into()
            }
        );
    }
}
