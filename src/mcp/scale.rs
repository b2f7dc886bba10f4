//! `scale`: the release's current revision re-applied with one component's
//! replicas changed, recorded as a new revision (objects and values), so
//! berth's revisions stay the truth and a later deploy or rollback knows it.
//! Like a rollback, it applies recorded objects: live Secrets stay as they are.

use kube::Client;
use serde_json::{Value, json};

use crate::apply::revision::DEPLOYED;
use crate::apply::rollback::RollbackError;
use crate::apply::{self, ApplyError, Desired, ObjectKey, Release, RevisionContent};
use crate::hint::Hint;
use crate::pipeline::Prepared;

/// The label that names the component a workload is.
const COMPONENT_LABEL: &str = "app.kubernetes.io/component";

/// Why a scale cannot be prepared (nothing is written).
#[derive(Debug, thiserror::Error)]
pub enum ScaleError {
    #[error("release {release} has no deployed revision to scale; deploy it first")]
    NotDeployed { release: String },
    #[error(
        "release {release} has no workload for component `{component}`; its components: {known}"
    )]
    UnknownComponent {
        release: String,
        component: String,
        known: String,
    },
    #[error(
        "component `{component}` is autoscaled ({hpa}): its replicas are the autoscaler's; change components.{component}.autoscaling instead"
    )]
    Autoscaled { component: String, hpa: String },
    #[error(transparent)]
    Rollback(#[from] RollbackError),
    #[error(transparent)]
    Apply(#[from] ApplyError),
}

impl Hint for ScaleError {
    fn hint(&self) -> Option<String> {
        match self {
            ScaleError::NotDeployed { .. }
            | ScaleError::UnknownComponent { .. }
            | ScaleError::Autoscaled { .. } => None,
            ScaleError::Rollback(err) => err.hint(),
            ScaleError::Apply(err) => err.hint(),
        }
    }
}

/// What to apply: the scaled objects (without Secrets) and the Secrets to keep owned.
#[derive(Debug)]
pub struct ScalePlan {
    pub prepared: Prepared,
    pub also_owned: Vec<ObjectKey>,
    /// The revision it starts from.
    pub from_revision: u32,
}

/// The newest deployed revision of `release` with `component` at `replicas`.
pub async fn plan(
    client: &Client,
    release: &Release,
    component: &str,
    replicas: u32,
) -> Result<ScalePlan, ScaleError> {
    let current = apply::history(client, release)
        .await?
        .into_iter()
        .rev()
        .find(|r| r.status == DEPLOYED)
        .ok_or_else(|| ScaleError::NotDeployed {
            release: release.name.clone(),
        })?;
    let target = apply::rollback_target(client, release, Some(current.number)).await?;
    let mut recorded = target.content.objects();
    scale_objects(&mut recorded, &release.name, component, replicas)?;
    let mut values = target.content.values.clone();
    if let Some(spec) = values.pointer_mut(&format!("/components/{component}"))
        && let Some(spec) = spec.as_object_mut()
    {
        spec.insert("replicas".into(), json!(replicas));
    }
    let revision = RevisionContent::new(&recorded, values);
    let objects = recorded
        .into_iter()
        .filter(|d| d.key.kind != "Secret")
        .collect();
    Ok(ScalePlan {
        prepared: Prepared {
            release: release.clone(),
            objects,
            revision,
        },
        also_owned: target.also_owned,
        from_revision: current.number,
    })
}

/// Sets `spec.replicas` of the component's Deployments and StatefulSets.
pub fn scale_objects(
    objects: &mut [Desired],
    release: &str,
    component: &str,
    replicas: u32,
) -> Result<(), ScaleError> {
    let is_workload = |d: &Desired| matches!(d.key.kind.as_str(), "Deployment" | "StatefulSet");
    let names: Vec<String> = objects
        .iter()
        .filter(|d| is_workload(d) && d.label(COMPONENT_LABEL) == Some(component))
        .map(|d| d.key.name.clone())
        .collect();
    if names.is_empty() {
        let mut known: Vec<&str> = objects
            .iter()
            .filter(|d| is_workload(d))
            .filter_map(|d| d.label(COMPONENT_LABEL))
            .collect();
        known.sort();
        known.dedup();
        return Err(ScaleError::UnknownComponent {
            release: release.into(),
            component: component.into(),
            known: known.join(", "),
        });
    }
    if let Some(hpa) = objects.iter().find(|d| {
        d.key.kind == "HorizontalPodAutoscaler"
            && d.object
                .pointer("/spec/scaleTargetRef/name")
                .and_then(Value::as_str)
                .is_some_and(|target| names.iter().any(|n| n == target))
    }) {
        return Err(ScaleError::Autoscaled {
            component: component.into(),
            hpa: hpa.key.to_string(),
        });
    }
    for d in objects
        .iter_mut()
        .filter(|d| names.contains(&d.key.name) && is_workload(d))
    {
        d.object["spec"]["replicas"] = json!(replicas);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workload(kind: &str, name: &str, component: &str) -> Desired {
        Desired::from_json(
            json!({"apiVersion": "apps/v1", "kind": kind,
                   "metadata": {"name": name, "namespace": "todo",
                                "labels": {COMPONENT_LABEL: component}},
                   "spec": {"replicas": 1}}),
            2,
        )
        .unwrap()
    }

    #[test]
    fn scales_only_the_component() {
        let mut objects = vec![
            workload("Deployment", "r-backend", "backend"),
            workload("Deployment", "r-frontend", "frontend"),
        ];
        scale_objects(&mut objects, "r", "backend", 3).unwrap();
        assert_eq!(objects[0].object["spec"]["replicas"], 3);
        assert_eq!(objects[1].object["spec"]["replicas"], 1);
    }

    #[test]
    fn unknown_component_names_the_known_ones() {
        let mut objects = vec![
            workload("Deployment", "r-backend", "backend"),
            workload("StatefulSet", "r-postgres", "postgres"),
        ];
        let err = scale_objects(&mut objects, "r", "bakend", 3).unwrap_err();
        assert_eq!(
            err.to_string(),
            "release r has no workload for component `bakend`; its components: backend, postgres"
        );
    }

    #[test]
    fn autoscaled_component_is_refused() {
        let hpa = Desired::from_json(
            json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                   "metadata": {"name": "r-backend", "namespace": "todo"},
                   "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "r-backend"}}}),
            3,
        )
        .unwrap();
        let mut objects = vec![workload("Deployment", "r-backend", "backend"), hpa];
        let err = scale_objects(&mut objects, "r", "backend", 3).unwrap_err();
        assert!(matches!(err, ScaleError::Autoscaled { .. }), "{err}");
        assert_eq!(objects[0].object["spec"]["replicas"], 1);
    }
}
