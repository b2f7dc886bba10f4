//! Which pod a new connection goes to: a ready endpoint of the Service, as
//! its EndpointSlices list them right now. A terminating pod's endpoint is not
//! ready; while it still passes its readiness probe it is `serving`, and is
//! used only when no endpoint is ready (as kube-proxy does), so a
//! single-replica rollout keeps answering until its successor is ready.

use k8s_openapi::api::discovery::v1::EndpointSlice;

/// A pod that can take a connection, and the port it listens on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub pod: String,
    pub port: u16,
    /// Ready (false: terminating but still serving).
    pub ready: bool,
}

/// Every endpoint of `slices` backed by a pod that listens on the Service
/// port named `port_name` (the only port when the Service has one), ready
/// ones first; sorted by pod name so the choice below is stable.
pub fn candidates(slices: &[EndpointSlice], port_name: Option<&str>) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    for slice in slices {
        let ports = slice.ports.iter().flatten();
        let port = ports
            .filter(|p| p.protocol.as_deref().unwrap_or("TCP") == "TCP")
            .find(|p| port_name.is_none() || p.name.as_deref() == port_name)
            .and_then(|p| p.port)
            .and_then(|p| u16::try_from(p).ok());
        let Some(port) = port else { continue };
        for endpoint in &slice.endpoints {
            let Some(pod) = endpoint
                .target_ref
                .as_ref()
                .filter(|r| r.kind.as_deref() == Some("Pod"))
                .and_then(|r| r.name.clone())
            else {
                continue;
            };
            let conditions = endpoint.conditions.as_ref();
            // A nil `ready` means ready (the EndpointSlice API's rule).
            let ready = conditions.and_then(|c| c.ready).unwrap_or(true)
                && !conditions.and_then(|c| c.terminating).unwrap_or(false);
            let serving = conditions.and_then(|c| c.serving).unwrap_or(ready);
            if (ready || serving) && !out.iter().any(|c| c.pod == pod) {
                out.push(Candidate { pod, port, ready });
            }
        }
    }
    out.sort_by(|a, b| b.ready.cmp(&a.ready).then(a.pod.cmp(&b.pod)));
    out
}

/// The pod for connection number `turn`: round robin over the ready pods not
/// in `avoid` (pods that just refused), else over the serving ones.
pub fn choose<'a>(
    candidates: &'a [Candidate],
    avoid: &[String],
    turn: usize,
) -> Option<&'a Candidate> {
    let usable: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| !avoid.contains(&c.pod))
        .collect();
    let ready: Vec<&Candidate> = usable.iter().copied().filter(|c| c.ready).collect();
    let pool = if ready.is_empty() { usable } else { ready };
    (!pool.is_empty()).then(|| pool[turn % pool.len()])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn slice(endpoints: serde_json::Value) -> EndpointSlice {
        serde_json::from_value(json!({
            "metadata": {"name": "web-abc"},
            "addressType": "IPv4",
            "ports": [{"name": "http", "port": 3000, "protocol": "TCP"}],
            "endpoints": endpoints,
        }))
        .unwrap()
    }

    fn endpoint(pod: &str, ready: bool, serving: bool, terminating: bool) -> serde_json::Value {
        json!({"addresses": ["10.244.0.9"],
               "conditions": {"ready": ready, "serving": serving, "terminating": terminating},
               "targetRef": {"kind": "Pod", "name": pod, "namespace": "todo"}})
    }

    #[test]
    fn ready_pods_first_terminating_but_serving_ones_only_as_a_last_resort() {
        let slices = [slice(json!([
            endpoint("web-2", true, true, false),
            endpoint("web-old", false, true, true),
            endpoint("web-gone", false, false, true),
            endpoint("web-1", true, true, false),
            {"addresses": ["10.244.0.10"], "conditions": {"ready": true}},
        ]))];
        let found = candidates(&slices, Some("http"));
        let names: Vec<(&str, bool)> = found.iter().map(|c| (c.pod.as_str(), c.ready)).collect();
        assert_eq!(
            names,
            [("web-1", true), ("web-2", true), ("web-old", false)]
        );
        assert!(found.iter().all(|c| c.port == 3000));
        // Round robin over the ready ones.
        assert_eq!(choose(&found, &[], 0).unwrap().pod, "web-1");
        assert_eq!(choose(&found, &[], 1).unwrap().pod, "web-2");
        assert_eq!(choose(&found, &[], 2).unwrap().pod, "web-1");
        // A pod that refused is skipped; the terminating one only when nothing else is left.
        assert_eq!(choose(&found, &["web-1".into()], 0).unwrap().pod, "web-2");
        let both = ["web-1".to_string(), "web-2".to_string()];
        assert_eq!(choose(&found, &both, 0).unwrap().pod, "web-old");
        let all = [both[0].clone(), both[1].clone(), "web-old".into()];
        assert_eq!(choose(&found, &all, 0), None);
    }

    #[test]
    fn the_port_is_the_services_named_port() {
        let slices = [slice(json!([endpoint("web-1", true, true, false)]))];
        assert_eq!(candidates(&slices, None)[0].port, 3000);
        assert!(candidates(&slices, Some("metrics")).is_empty());
    }
}
