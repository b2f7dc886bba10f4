//! Growing a StatefulSet's volumes without losing data. Its
//! `volumeClaimTemplates` are immutable, so a larger `storage` request is
//! planned as an expansion when that is the only immutable change: raise the
//! request of each existing claim (allowed when its StorageClass has
//! `allowVolumeExpansion`), then delete the StatefulSet object with its pods
//! orphaned and apply it again; the new object adopts the running pods and
//! their volumes. The storage itself is resized by the cluster's volume
//! plugin (CSI resizer and kubelet), not by berth.

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::Client;
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::Value;

pub use super::action::{ClaimGrowth, ExpansionRefused, Growth};
use super::error::status_code;
use super::ownership::apply_params;
use super::{ApplyError, Desired};
use crate::values::quantity::parse_quantity;

/// What a refused immutable StatefulSet change turns out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeChange {
    /// Only storage grows and every claim's class allows it; `after` is the
    /// server's dry-run of the object (with the new storage shown).
    Expand {
        claims: Vec<ClaimGrowth>,
        after: Value,
    },
    /// Only storage grows, but a claim's class does not allow expansion.
    Refused(ExpansionRefused),
}

/// Whether a StatefulSet's immutable change is a pure volume growth, found
/// by dry-running the object with the live storage requests: if the server
/// then accepts it, nothing else immutable changes. `None` otherwise.
pub async fn classify(
    client: &Client,
    desired: &Desired,
    live: &Value,
    force: bool,
) -> Result<Option<VolumeChange>, ApplyError> {
    let Some(growths) = growths(&desired.object, live) else {
        return Ok(None);
    };
    let mut probe = desired.object.clone();
    for growth in &growths {
        set_template_storage(&mut probe, &growth.template, &growth.from);
    }
    let api = desired.key.api(client);
    let params = apply_params(force).dry_run();
    let dry = api
        .patch(&desired.key.name, &params, &Patch::Apply(&probe))
        .await;
    let mut after = match dry {
        Ok(object) => serde_json::to_value(object).expect("objects serialize"),
        Err(err) if matches!(status_code(&err), 409 | 422) => return Ok(None),
        Err(err) => {
            return Err(ApplyError::api(
                "dry-run apply",
                desired.key.to_string(),
                err,
            ));
        }
    };
    for growth in &growths {
        set_template_storage(&mut after, &growth.template, &growth.to);
    }
    let namespace = desired.key.namespace.clone().unwrap_or_default();
    let mut claims = Vec::new();
    for growth in growths {
        for claim in claims_of(client, &namespace, &desired.key.name, &growth).await? {
            let class = claim
                .spec
                .as_ref()
                .and_then(|s| s.storage_class_name.clone())
                .unwrap_or_default();
            if let Some(why) = refuses_expansion(client, &class).await? {
                return Ok(Some(VolumeChange::Refused(ExpansionRefused {
                    growth,
                    class,
                    why,
                })));
            }
            let name = claim.metadata.name.clone().unwrap_or_default();
            claims.push(ClaimGrowth {
                claim: format!("PersistentVolumeClaim {namespace}/{name}"),
                from: request(&claim).unwrap_or_else(|| growth.from.clone()),
                to: growth.to.clone(),
                name,
            });
        }
    }
    Ok(Some(VolumeChange::Expand { claims, after }))
}

/// Raises one claim's storage request. A merge patch, not an apply: the
/// StatefulSet controller created the claim and owns its fields.
pub async fn expand_claim(
    client: &Client,
    namespace: &str,
    claim: &ClaimGrowth,
) -> Result<(), ApplyError> {
    let api: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), namespace);
    let patch = serde_json::json!({"spec": {"resources": {"requests": {"storage": claim.to}}}});
    api.patch(&claim.name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|e| ApplyError::api("patch", claim.claim.clone(), e))?;
    Ok(())
}

/// Templates whose storage grows, when every other template is unchanged in
/// size; `None` when nothing grows or something shrinks.
fn growths(desired: &Value, live: &Value) -> Option<Vec<Growth>> {
    let live_templates = templates(live);
    let mut growths = Vec::new();
    for (template, to) in templates(desired) {
        let (_, from) = live_templates.iter().find(|(name, _)| *name == template)?;
        if *from == to {
            continue;
        }
        if parse_quantity(&to)? <= parse_quantity(from)? {
            return None;
        }
        growths.push(Growth {
            template,
            from: from.clone(),
            to,
        });
    }
    (!growths.is_empty()).then_some(growths)
}

/// `(name, storage request)` of each claim template.
fn templates(statefulset: &Value) -> Vec<(String, String)> {
    statefulset["spec"]["volumeClaimTemplates"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| {
            let name = t["metadata"]["name"].as_str()?;
            let storage = t["spec"]["resources"]["requests"]["storage"].as_str()?;
            Some((name.to_string(), storage.to_string()))
        })
        .collect()
}

fn set_template_storage(statefulset: &mut Value, template: &str, storage: &str) {
    let Some(list) = statefulset["spec"]["volumeClaimTemplates"].as_array_mut() else {
        return;
    };
    for t in list
        .iter_mut()
        .filter(|t| t["metadata"]["name"] == template)
    {
        t["spec"]["resources"]["requests"]["storage"] = Value::String(storage.to_string());
    }
}

/// The live claims a template made: `<template>-<statefulset>-<ordinal>`.
async fn claims_of(
    client: &Client,
    namespace: &str,
    statefulset: &str,
    growth: &Growth,
) -> Result<Vec<PersistentVolumeClaim>, ApplyError> {
    let prefix = format!("{}-{statefulset}-", growth.template);
    let api: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), namespace);
    let claims = api.list(&ListParams::default()).await.map_err(|e| {
        ApplyError::api(
            "list",
            format!("PersistentVolumeClaims in namespace {namespace}"),
            e,
        )
    })?;
    Ok(claims
        .items
        .into_iter()
        .filter(|c| {
            c.metadata
                .name
                .as_deref()
                .and_then(|n| n.strip_prefix(&prefix))
                .is_some_and(|ordinal| ordinal.parse::<u32>().is_ok())
        })
        .collect())
}

fn request(claim: &PersistentVolumeClaim) -> Option<String> {
    let requests = claim.spec.as_ref()?.resources.as_ref()?.requests.as_ref()?;
    requests.get("storage").map(|q| q.0.clone())
}

/// Why `class` does not let claims grow; `None` when it does.
async fn refuses_expansion(client: &Client, class: &str) -> Result<Option<String>, ApplyError> {
    if class.is_empty() {
        return Ok(Some("is not set on the claim".into()));
    }
    let api: Api<StorageClass> = Api::all(client.clone());
    match api.get_opt(class).await {
        Ok(Some(sc)) if sc.allow_volume_expansion == Some(true) => Ok(None),
        Ok(Some(_)) => Ok(Some("does not allow volume expansion".into())),
        Ok(None) => Ok(Some("does not exist".into())),
        Err(e) if matches!(status_code(&e), 401 | 403) => {
            Ok(Some("cannot be read with your permissions".into()))
        }
        Err(e) => Err(ApplyError::api("get", format!("StorageClass {class}"), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statefulset(storage: &[(&str, &str)]) -> Value {
        let templates: Vec<Value> = storage
            .iter()
            .map(|(name, size)| {
                serde_json::json!({"metadata": {"name": name},
                    "spec": {"resources": {"requests": {"storage": size}}}})
            })
            .collect();
        serde_json::json!({"spec": {"volumeClaimTemplates": templates}})
    }

    #[test]
    fn only_growth_of_existing_templates_counts() {
        let live = statefulset(&[("data", "1Gi"), ("logs", "100Mi")]);
        assert_eq!(
            growths(&statefulset(&[("data", "2Gi"), ("logs", "100Mi")]), &live),
            Some(vec![Growth {
                template: "data".into(),
                from: "1Gi".into(),
                to: "2Gi".into()
            }])
        );
        // 1500Mi is more than 1Gi whatever the units.
        assert!(growths(&statefulset(&[("data", "1500Mi")]), &live).is_some());
        assert_eq!(growths(&statefulset(&[("data", "512Mi")]), &live), None);
        assert_eq!(growths(&statefulset(&[("data", "1Gi")]), &live), None);
        assert_eq!(growths(&statefulset(&[("cache", "2Gi")]), &live), None);
    }

    #[test]
    fn the_probe_carries_the_live_size() {
        let mut object = statefulset(&[("data", "2Gi")]);
        set_template_storage(&mut object, "data", "1Gi");
        assert_eq!(templates(&object), [("data".into(), "1Gi".into())]);
    }
}
