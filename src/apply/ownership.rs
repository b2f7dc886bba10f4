//! Which objects a release owns, and the labels that say so; the one place
//! that answers "does this release own that object".
//!
//! A release's objects carry `app.kubernetes.io/instance=<release>` (the
//! render sets it; the release's selector) and, written by berth, the ApplySet
//! member label `applyset.kubernetes.io/part-of=<id>`, where the id is the one
//! kubectl computes for the release's parent Secret (the inventory). Owning
//! takes both: the instance label alone is a render's claim, not a proof.

use std::collections::BTreeMap;

use base64::Engine;
use kube::api::PatchParams;
use sha2::{Digest, Sha256};

use super::{Desired, Release};

/// The field manager of every write berth makes.
pub const FIELD_MANAGER: &str = "berth";

/// The label that names the release an object belongs to.
pub const INSTANCE_LABEL: &str = "app.kubernetes.io/instance";

/// The ApplySet member label: the id of the set an object belongs to.
pub const PART_OF_LABEL: &str = "applyset.kubernetes.io/part-of";

/// The ApplySet parent's label: its own id.
pub const ID_LABEL: &str = "applyset.kubernetes.io/id";

/// The tool that manages an object (berth's parent Secret says `berth`).
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";

/// The server-side apply parameters of every write berth makes: its field
/// manager, taking over conflicting fields when `force`.
pub fn apply_params(force: bool) -> PatchParams {
    let params = PatchParams::apply(FIELD_MANAGER);
    if force { params.force() } else { params }
}

/// Name of the release's ApplySet parent Secret (its inventory).
pub fn parent_name(release: &Release) -> String {
    format!("{}-inventory", release.name)
}

/// The ApplySet id kubectl computes for a Secret parent:
/// `applyset-<base64url(sha256(<name>.<namespace>.Secret.))>-v1`.
pub fn applyset_id(name: &str, namespace: &str) -> String {
    let digest = Sha256::digest(format!("{name}.{namespace}.Secret."));
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
    format!("applyset-{encoded}-v1")
}

/// A release's ownership marks, computed once (the id is a hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ownership {
    release: String,
    id: String,
}

impl Ownership {
    pub fn of(release: &Release) -> Self {
        Ownership {
            release: release.name.clone(),
            id: applyset_id(&parent_name(release), &release.namespace),
        }
    }

    /// The release's ApplySet id, the value of its members' `part-of` label.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// `applyset.kubernetes.io/part-of=<id>`: selects the objects berth
    /// applied as the release's members.
    pub fn member_selector(&self) -> String {
        format!("{PART_OF_LABEL}={}", self.id)
    }

    /// Marks objects as members of the release's ApplySet (before they are
    /// dry-run or applied, so plans compare what deploy writes).
    pub fn mark(&self, objects: &mut [Desired]) {
        for object in objects {
            object.add_label(PART_OF_LABEL, &self.id);
        }
    }

    /// Whether live labels prove the release owns the object: both its
    /// instance label and its ApplySet membership. Prune deletes nothing else.
    pub fn owns(&self, labels: &BTreeMap<String, String>) -> bool {
        self.selects(labels) && labels.get(PART_OF_LABEL) == Some(&self.id)
    }

    /// Whether the release's selector matches the labels: its rendered
    /// objects and the pods they make (pods are not ApplySet members).
    pub fn selects(&self, labels: &BTreeMap<String, String>) -> bool {
        labels.get(INSTANCE_LABEL) == Some(&self.release)
    }

    /// The labels of the release's parent Secret.
    pub fn parent_labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (ID_LABEL.to_string(), self.id.clone()),
            (INSTANCE_LABEL.to_string(), self.release.clone()),
            (MANAGED_BY_LABEL.to_string(), FIELD_MANAGER.to_string()),
        ])
    }
}

impl Release {
    /// `app.kubernetes.io/instance=<name>`: selects everything the release rendered.
    pub fn selector(&self) -> String {
        format!("{INSTANCE_LABEL}={}", self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_matches_kubectl_format() {
        let id = applyset_id("todo-chatbot-inventory", "todo");
        assert!(id.starts_with("applyset-") && id.ends_with("-v1"), "{id}");
        // 32 bytes of sha256 → 43 base64url characters without padding.
        assert_eq!(id.len(), "applyset-".len() + 43 + "-v1".len());
        assert!(!id.contains('=') && !id.contains('+') && !id.contains('/'));
    }

    #[test]
    fn owning_takes_both_labels_selecting_the_instance_label() {
        let release = Release::new("shop", "web");
        let ownership = Ownership::of(&release);
        let labels = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let id = ownership.id().to_string();
        let other = Ownership::of(&Release::new("shop", "elsewhere"));
        let rows: [(&str, BTreeMap<String, String>, bool, bool); 5] = [
            (
                "member",
                labels(&[(INSTANCE_LABEL, "shop"), (PART_OF_LABEL, &id)]),
                true,
                true,
            ),
            (
                "a pod of the release",
                labels(&[(INSTANCE_LABEL, "shop")]),
                false,
                true,
            ),
            (
                "another namespace's release of the same name",
                labels(&[(INSTANCE_LABEL, "shop"), (PART_OF_LABEL, other.id())]),
                false,
                true,
            ),
            (
                "another release's member claiming our set",
                labels(&[(INSTANCE_LABEL, "blog"), (PART_OF_LABEL, &id)]),
                false,
                false,
            ),
            ("unlabelled", labels(&[]), false, false),
        ];
        for (name, labels, owns, selects) in rows {
            assert_eq!(ownership.owns(&labels), owns, "{name}: owns");
            assert_eq!(ownership.selects(&labels), selects, "{name}: selects");
        }
    }

    #[test]
    fn apply_parameters_name_berth_and_force_only_when_asked() {
        let plain = apply_params(false);
        assert_eq!(plain.field_manager.as_deref(), Some(FIELD_MANAGER));
        assert!(!plain.force);
        assert!(apply_params(true).force);
    }
}
