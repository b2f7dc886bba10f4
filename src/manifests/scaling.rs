//! HorizontalPodAutoscalers and PodDisruptionBudgets of components, with each
//! component's overrides over the release-wide settings.

use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec,
    MetricTarget, ResourceMetricSource,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget as K8sPdb, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::context::{Identity, RenderContext};
use super::labels::selector_labels;
use super::workloads::metadata;
use crate::values::{Autoscaling, PodDisruptionBudget};

pub fn autoscaler(ctx: &RenderContext, who: &Identity, a: &Autoscaling) -> HorizontalPodAutoscaler {
    HorizontalPodAutoscaler {
        metadata: metadata(ctx, who),
        spec: Some(HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some("apps/v1".into()),
                kind: "Deployment".into(),
                name: who.object_name.clone(),
            },
            min_replicas: Some(a.min_replicas),
            max_replicas: a.max_replicas,
            metrics: Some(vec![MetricSpec {
                type_: "Resource".into(),
                resource: Some(ResourceMetricSource {
                    name: "cpu".into(),
                    target: MetricTarget {
                        type_: "Utilization".into(),
                        average_utilization: Some(a.target_cpu_utilization),
                        ..Default::default()
                    },
                }),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Only when more pods run than must stay available: a budget a single
/// replica cannot satisfy would block every node drain. `lowest` is the fewest
/// replicas that run (the HPA's minimum, or the fixed count).
pub fn disruption_budget(
    ctx: &RenderContext,
    who: &Identity,
    pdb: &PodDisruptionBudget,
    lowest: i32,
) -> Option<K8sPdb> {
    (pdb.enabled && lowest > pdb.min_available).then(|| k8s_pdb(ctx, who, pdb.min_available))
}

fn k8s_pdb(ctx: &RenderContext, who: &Identity, min_available: i32) -> K8sPdb {
    K8sPdb {
        metadata: metadata(ctx, who),
        spec: Some(PodDisruptionBudgetSpec {
            min_available: Some(IntOrString::Int(min_available)),
            selector: Some(LabelSelector {
                match_labels: Some(selector_labels(ctx, who)),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}
