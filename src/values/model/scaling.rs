//! Release-wide autoscaling and disruption budgets, and each component's overrides.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Autoscaling {
    /// HorizontalPodAutoscalers for every component.
    pub enabled: bool,
    pub min_replicas: i32,
    pub max_replicas: i32,
    pub target_cpu_utilization: i32,
}

/// A component's overrides of [`Autoscaling`]; absent keys use the release-wide value.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AutoscalingOverride {
    pub enabled: Option<bool>,
    pub min_replicas: Option<i32>,
    pub max_replicas: Option<i32>,
    pub target_cpu_utilization: Option<i32>,
}

impl AutoscalingOverride {
    /// The effective settings over the release-wide defaults.
    pub fn over(&self, defaults: &Autoscaling) -> Autoscaling {
        Autoscaling {
            enabled: self.enabled.unwrap_or(defaults.enabled),
            min_replicas: self.min_replicas.unwrap_or(defaults.min_replicas),
            max_replicas: self.max_replicas.unwrap_or(defaults.max_replicas),
            target_cpu_utilization: self
                .target_cpu_utilization
                .unwrap_or(defaults.target_cpu_utilization),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodDisruptionBudget {
    pub enabled: bool,
    pub min_available: i32,
}

/// A component's overrides of [`PodDisruptionBudget`].
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DisruptionBudgetOverride {
    pub enabled: Option<bool>,
    pub min_available: Option<i32>,
}

impl DisruptionBudgetOverride {
    pub fn over(&self, defaults: &PodDisruptionBudget) -> PodDisruptionBudget {
        PodDisruptionBudget {
            enabled: self.enabled.unwrap_or(defaults.enabled),
            min_available: self.min_available.unwrap_or(defaults.min_available),
        }
    }
}
