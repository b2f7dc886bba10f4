//! A rendered object: one of the typed `k8s-openapi` kinds berth produces, with
//! the apply order and file layout that belong to its kind.

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::http_route::HttpRoute;

/// The kinds berth renders, in apply order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Namespace,
    ServiceAccount,
    ConfigMap,
    Secret,
    Service,
    Deployment,
    StatefulSet,
    Ingress,
    HorizontalPodAutoscaler,
    PodDisruptionBudget,
    NetworkPolicy,
    /// Gateway API; last, so the numbered files of the other kinds keep their numbers.
    HttpRoute,
}

/// Apply stages: each is applied (and waited on, for namespaces) before the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    Namespace,
    Config,
    Workloads,
    Policies,
}

impl Kind {
    pub const ALL: [Kind; 12] = [
        Kind::Namespace,
        Kind::ServiceAccount,
        Kind::ConfigMap,
        Kind::Secret,
        Kind::Service,
        Kind::Deployment,
        Kind::StatefulSet,
        Kind::Ingress,
        Kind::HorizontalPodAutoscaler,
        Kind::PodDisruptionBudget,
        Kind::NetworkPolicy,
        Kind::HttpRoute,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Namespace => "Namespace",
            Kind::ServiceAccount => "ServiceAccount",
            Kind::ConfigMap => "ConfigMap",
            Kind::Secret => "Secret",
            Kind::Service => "Service",
            Kind::Deployment => "Deployment",
            Kind::StatefulSet => "StatefulSet",
            Kind::Ingress => "Ingress",
            Kind::HorizontalPodAutoscaler => "HorizontalPodAutoscaler",
            Kind::PodDisruptionBudget => "PodDisruptionBudget",
            Kind::NetworkPolicy => "NetworkPolicy",
            Kind::HttpRoute => "HTTPRoute",
        }
    }

    pub fn stage(self) -> Stage {
        match self {
            Kind::Namespace => Stage::Namespace,
            Kind::ServiceAccount | Kind::ConfigMap | Kind::Secret => Stage::Config,
            Kind::Service | Kind::Deployment | Kind::StatefulSet => Stage::Workloads,
            Kind::Ingress
            | Kind::HorizontalPodAutoscaler
            | Kind::PodDisruptionBudget
            | Kind::NetworkPolicy
            | Kind::HttpRoute => Stage::Policies,
        }
    }

    /// File name for `render --output-dir`; numbers are fixed per kind so they
    /// stay stable when a kind is absent.
    pub fn file_name(self) -> String {
        let index = Kind::ALL.iter().position(|k| *k == self).expect("listed");
        let plural = match self {
            Kind::Namespace => "namespace".to_string(),
            Kind::Ingress => "ingresses".to_string(),
            Kind::NetworkPolicy => "networkpolicies".to_string(),
            Kind::HttpRoute => "httproutes".to_string(),
            other => format!("{}s", other.as_str().to_lowercase()),
        };
        format!("{index:02}-{plural}.yaml")
    }
}

/// One rendered object.
#[derive(Debug, Clone, PartialEq)]
pub enum Manifest {
    Namespace(Namespace),
    ServiceAccount(ServiceAccount),
    ConfigMap(ConfigMap),
    Secret(Secret),
    Service(Service),
    Deployment(Deployment),
    StatefulSet(StatefulSet),
    Ingress(Ingress),
    HorizontalPodAutoscaler(HorizontalPodAutoscaler),
    PodDisruptionBudget(PodDisruptionBudget),
    NetworkPolicy(NetworkPolicy),
    HttpRoute(Box<HttpRoute>),
}

macro_rules! each_variant {
    ($value:expr, $object:ident => $body:expr) => {
        match $value {
            Manifest::Namespace($object) => $body,
            Manifest::ServiceAccount($object) => $body,
            Manifest::ConfigMap($object) => $body,
            Manifest::Secret($object) => $body,
            Manifest::Service($object) => $body,
            Manifest::Deployment($object) => $body,
            Manifest::StatefulSet($object) => $body,
            Manifest::Ingress($object) => $body,
            Manifest::HorizontalPodAutoscaler($object) => $body,
            Manifest::PodDisruptionBudget($object) => $body,
            Manifest::NetworkPolicy($object) => $body,
            Manifest::HttpRoute($object) => $body,
        }
    };
}

impl Manifest {
    pub fn kind(&self) -> Kind {
        match self {
            Manifest::Namespace(_) => Kind::Namespace,
            Manifest::ServiceAccount(_) => Kind::ServiceAccount,
            Manifest::ConfigMap(_) => Kind::ConfigMap,
            Manifest::Secret(_) => Kind::Secret,
            Manifest::Service(_) => Kind::Service,
            Manifest::Deployment(_) => Kind::Deployment,
            Manifest::StatefulSet(_) => Kind::StatefulSet,
            Manifest::Ingress(_) => Kind::Ingress,
            Manifest::HorizontalPodAutoscaler(_) => Kind::HorizontalPodAutoscaler,
            Manifest::PodDisruptionBudget(_) => Kind::PodDisruptionBudget,
            Manifest::NetworkPolicy(_) => Kind::NetworkPolicy,
            Manifest::HttpRoute(_) => Kind::HttpRoute,
        }
    }

    pub fn metadata(&self) -> &ObjectMeta {
        each_variant!(self, o => &o.metadata)
    }

    pub fn name(&self) -> &str {
        self.metadata().name.as_deref().unwrap_or_default()
    }

    pub fn namespace(&self) -> Option<&str> {
        self.metadata().namespace.as_deref()
    }

    /// `Kind namespace/name`, as messages name objects.
    pub fn display_name(&self) -> String {
        match self.namespace() {
            Some(ns) => format!("{} {ns}/{}", self.kind().as_str(), self.name()),
            None => format!("{} {}", self.kind().as_str(), self.name()),
        }
    }

    /// The object as JSON, with `apiVersion` and `kind` first.
    pub fn to_json(&self) -> serde_json::Value {
        each_variant!(self, o => serde_json::to_value(o)).expect("typed objects serialize")
    }
}

/// Sorts objects into apply order: by kind, then by name.
pub fn sort_for_apply(objects: &mut [Manifest]) {
    objects.sort_by(|a, b| (a.kind(), a.name()).cmp(&(b.kind(), b.name())));
}
