//! HorizontalPodAutoscalers and PodDisruptionBudgets for the HTTP components.

use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec,
    MetricTarget, ResourceMetricSource,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::context::{ComponentName, RenderContext};
use super::labels::selector_labels;
use super::workloads::metadata;
use crate::values::{Component, Values};

pub fn autoscaler(
    values: &Values,
    ctx: &RenderContext,
    component: ComponentName,
    c: &Component,
) -> HorizontalPodAutoscaler {
    let a = &values.autoscaling;
    HorizontalPodAutoscaler {
        metadata: metadata(ctx, component, &c.image.tag),
        spec: Some(HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some("apps/v1".into()),
                kind: "Deployment".into(),
                name: ctx.name(component),
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
/// replica cannot satisfy would block every node drain.
pub fn disruption_budget(
    values: &Values,
    ctx: &RenderContext,
    component: ComponentName,
    c: &Component,
) -> Option<PodDisruptionBudget> {
    let pdb = &values.pod_disruption_budget;
    let lowest = if values.autoscaling.enabled {
        values.autoscaling.min_replicas
    } else {
        c.replicas
    };
    (pdb.enabled && lowest > pdb.min_available).then(|| PodDisruptionBudget {
        metadata: metadata(ctx, component, &c.image.tag),
        spec: Some(PodDisruptionBudgetSpec {
            min_available: Some(IntOrString::Int(pdb.min_available)),
            selector: Some(LabelSelector {
                match_labels: Some(selector_labels(ctx, component)),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    })
}
