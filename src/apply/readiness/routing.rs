//! Whether a Service sends traffic to its pods yet. A pod's readiness reaches
//! its Service through the EndpointSlice controller, a moment (seconds on a
//! busy control plane) after the workload reports ready; until then requests
//! to the Service fail although every rollout is done.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::ResourceExt;

/// The label the EndpointSlice controller puts on a Service's slices.
const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// How far a Service's endpoints have caught up with its ready pods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routing {
    /// Ready pods the Service selects (terminating ones excluded).
    pub ready_pods: usize,
    /// How many of them its EndpointSlices list as ready endpoints.
    pub routed_pods: usize,
}

impl Routing {
    /// Every ready pod it selects receives its traffic.
    pub fn done(&self) -> bool {
        self.routed_pods == self.ready_pods
    }

    /// `routes to 1 of 2 ready pods`.
    pub fn summary(&self) -> String {
        format!(
            "routes to {} of {} ready pods",
            self.routed_pods, self.ready_pods
        )
    }
}

/// Where `service` stands; `None` for a Service without a pod selector (an
/// ExternalName, or endpoints managed by hand), which has nothing to wait for.
pub fn service_routing<'a>(
    service: &Service,
    pods: impl IntoIterator<Item = &'a Pod>,
    slices: impl IntoIterator<Item = &'a EndpointSlice>,
) -> Option<Routing> {
    let spec = service.spec.as_ref()?;
    if spec.type_.as_deref() == Some("ExternalName") {
        return None;
    }
    let selector = spec.selector.as_ref().filter(|s| !s.is_empty())?;
    let name = service.name_any();
    let routed: BTreeSet<&str> = slices
        .into_iter()
        .filter(|s| s.labels().get(SERVICE_NAME_LABEL) == Some(&name))
        .flat_map(|s| s.endpoints.iter())
        // An endpoint without conditions counts as ready (the API's rule).
        .filter(|e| e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true))
        .filter_map(|e| e.target_ref.as_ref())
        .filter(|r| r.kind.as_deref() == Some("Pod"))
        .filter_map(|r| r.name.as_deref())
        .collect();
    let ready: Vec<String> = pods
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none() && pod_ready(p))
        .filter(|p| {
            let labels = p.labels();
            selector.iter().all(|(k, v)| labels.get(k) == Some(v))
        })
        .map(|p| p.name_any())
        .collect();
    Some(Routing {
        ready_pods: ready.len(),
        routed_pods: ready.iter().filter(|p| routed.contains(p.as_str())).count(),
    })
}

fn pod_ready(pod: &Pod) -> bool {
    pod.status
        .iter()
        .flat_map(|s| s.conditions.iter().flatten())
        .any(|c| c.type_ == "Ready" && c.status == "True")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn service(selector: serde_json::Value) -> Service {
        serde_json::from_value(json!({
            "metadata": {"name": "web"},
            "spec": {"selector": selector, "ports": [{"port": 80}]}
        }))
        .unwrap()
    }

    fn pod(name: &str, app: &str, ready: bool, terminating: bool) -> Pod {
        let mut meta = json!({"name": name, "labels": {"app": app}});
        if terminating {
            meta["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
        }
        serde_json::from_value(json!({
            "metadata": meta,
            "status": {"conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}}]}
        }))
        .unwrap()
    }

    fn slice(service: &str, endpoints: &[(&str, Option<bool>)]) -> EndpointSlice {
        let endpoints: Vec<_> = endpoints
            .iter()
            .map(|(pod, ready)| {
                json!({
                    "addresses": ["10.0.0.1"],
                    "conditions": {"ready": ready},
                    "targetRef": {"kind": "Pod", "name": pod}
                })
            })
            .collect();
        serde_json::from_value(json!({
            "metadata": {"name": format!("{service}-abc"), "labels": {SERVICE_NAME_LABEL: service}},
            "addressType": "IPv4",
            "endpoints": endpoints
        }))
        .unwrap()
    }

    #[test]
    fn waits_until_every_ready_pod_is_an_endpoint() {
        let svc = service(json!({"app": "web"}));
        let pods = [
            pod("web-1", "web", true, false),
            pod("web-2", "web", true, false),
            pod("web-3", "web", false, false),
            pod("old-1", "web", true, true),
            pod("api-1", "api", true, false),
        ];
        let lagging = [slice(
            "web",
            &[("web-1", Some(true)), ("web-2", Some(false))],
        )];
        let r = service_routing(&svc, &pods, &lagging).unwrap();
        assert_eq!((r.ready_pods, r.routed_pods), (2, 1));
        assert!(!r.done());
        assert_eq!(r.summary(), "routes to 1 of 2 ready pods");

        // Another Service's slice does not count; a missing condition means ready.
        let caught_up = [
            slice("web", &[("web-1", Some(true)), ("web-2", None)]),
            slice("api", &[("api-1", Some(true))]),
        ];
        assert!(service_routing(&svc, &pods, &caught_up).unwrap().done());
    }

    #[test]
    fn no_ready_pods_or_no_selector_is_nothing_to_wait_for() {
        let scaled_to_zero = service_routing(&service(json!({"app": "web"})), [], []).unwrap();
        assert!(scaled_to_zero.done());
        assert_eq!(service_routing(&service(json!({})), [], []), None);
        let external: Service = serde_json::from_value(json!({
            "metadata": {"name": "db"},
            "spec": {"type": "ExternalName", "externalName": "db.example.com"}
        }))
        .unwrap();
        assert_eq!(service_routing(&external, [], []), None);
    }
}
