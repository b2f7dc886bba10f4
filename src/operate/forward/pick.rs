//! Which pod a new connection goes to: a ready endpoint of the Service, as
//! its EndpointSlices list them right now. A terminating pod's endpoint is not
//! ready; while it still passes its readiness probe it is `serving`, and is
//! used only when no endpoint is ready (as kube-proxy does), so a
//! single-replica rollout keeps answering until its successor is ready.
//!
//! During a rollout the old and the new pods are ready at once; a connection
//! goes to a pod of the newest template as soon as one is ready, so a client
//! that saw the new version never sees the old one again (a browser reloading
//! during `berth dev`). The old ones take connections only when those refuse.

use std::collections::BTreeMap;

use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// A pod that can take a connection, and the port it listens on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub pod: String,
    pub port: u16,
    /// Ready (false: terminating but still serving).
    pub ready: bool,
    /// Ready, but another ready pod runs a newer template (a rollout under way).
    pub superseded: bool,
}

/// What a pod's labels and metadata say of its version: the template hash its
/// controller stamps (`pod-template-hash` for a ReplicaSet,
/// `controller-revision-hash` for a StatefulSet or DaemonSet) and when it was
/// created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodVersion {
    pub template: Option<String>,
    pub created: Option<Time>,
}

/// The template labels, in the order they are looked for.
pub const TEMPLATE_LABELS: [&str; 2] = ["pod-template-hash", "controller-revision-hash"];

impl PodVersion {
    pub fn of(labels: Option<&BTreeMap<String, String>>, created: Option<Time>) -> PodVersion {
        let template = labels.and_then(|l| TEMPLATE_LABELS.iter().find_map(|k| l.get(*k).cloned()));
        PodVersion { template, created }
    }
}

/// Marks the ready candidates whose template is not the one of the newest ready
/// pod `versions` knows (a pod it does not know yet, just listed by its
/// EndpointSlice, is left alone), and puts them after the current ones.
pub fn prefer_newest(candidates: &mut [Candidate], versions: &BTreeMap<String, PodVersion>) {
    let newest = candidates
        .iter()
        .filter(|c| c.ready)
        .filter_map(|c| versions.get(&c.pod))
        .filter(|v| v.template.is_some())
        .max_by(|a, b| a.created.cmp(&b.created))
        .and_then(|v| v.template.clone());
    let Some(newest) = newest else { return };
    for candidate in candidates.iter_mut().filter(|c| c.ready) {
        candidate.superseded = versions
            .get(&candidate.pod)
            .and_then(|v| v.template.as_ref())
            .is_some_and(|t| *t != newest);
    }
    candidates.sort_by_key(|c| (!c.ready, c.superseded));
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
                out.push(Candidate {
                    pod,
                    port,
                    ready,
                    superseded: false,
                });
            }
        }
    }
    out.sort_by(|a, b| b.ready.cmp(&a.ready).then(a.pod.cmp(&b.pod)));
    out
}

/// The pod for connection number `turn`: round robin over the ready pods of
/// the newest template not in `avoid` (pods that just refused), else over the
/// other ready ones, else over the serving ones.
pub fn choose<'a>(
    candidates: &'a [Candidate],
    avoid: &[String],
    turn: usize,
) -> Option<&'a Candidate> {
    let usable: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| !avoid.contains(&c.pod))
        .collect();
    let tiers: [&dyn Fn(&Candidate) -> bool; 3] =
        [&|c| c.ready && !c.superseded, &|c| c.ready, &|_| true];
    tiers.iter().find_map(|fits| {
        let pool: Vec<&Candidate> = usable.iter().copied().filter(|c| fits(c)).collect();
        (!pool.is_empty()).then(|| pool[turn % pool.len()])
    })
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

    fn version(template: &str, created: &str) -> PodVersion {
        let labels = BTreeMap::from([("pod-template-hash".to_string(), template.to_string())]);
        let created = serde_json::from_value(json!(created)).unwrap();
        PodVersion::of(Some(&labels), Some(created))
    }

    #[test]
    fn during_a_rollout_connections_go_to_the_newest_templates_ready_pods() {
        let slices = [slice(json!([
            endpoint("web-old-1", true, true, false),
            endpoint("web-old-2", true, true, false),
            endpoint("web-new-1", true, true, false),
            endpoint("web-new-2", false, false, false),
            endpoint("web-older", false, true, true),
        ]))];
        let versions = BTreeMap::from([
            (
                "web-old-1".to_string(),
                version("aaa", "2026-12-07T10:00:00Z"),
            ),
            (
                "web-old-2".to_string(),
                version("aaa", "2026-12-07T10:00:01Z"),
            ),
            (
                "web-new-1".to_string(),
                version("bbb", "2026-12-07T11:00:00Z"),
            ),
            // Newer, but not ready: it does not decide.
            (
                "web-new-2".to_string(),
                version("ccc", "2026-12-07T12:00:00Z"),
            ),
        ]);
        let mut found = candidates(&slices, Some("http"));
        prefer_newest(&mut found, &versions);
        for turn in 0..4 {
            assert_eq!(choose(&found, &[], turn).unwrap().pod, "web-new-1");
        }
        // The old ones only when the new one refused, then the terminating one.
        let refused = ["web-new-1".to_string()];
        assert_eq!(choose(&found, &refused, 0).unwrap().pod, "web-old-1");
        assert_eq!(choose(&found, &refused, 1).unwrap().pod, "web-old-2");
        let ready = ["web-new-1", "web-old-1", "web-old-2"].map(String::from);
        assert_eq!(choose(&found, &ready, 0).unwrap().pod, "web-older");

        // One template (no rollout, or one not known yet): every ready pod takes turns.
        let mut steady = candidates(&slices, Some("http"));
        let old_only: BTreeMap<String, PodVersion> = versions
            .iter()
            .filter(|(name, _)| name.starts_with("web-old"))
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect();
        prefer_newest(&mut steady, &old_only);
        let picked: Vec<&str> = (0..3)
            .map(|turn| choose(&steady, &[], turn).unwrap().pod.as_str())
            .collect();
        assert_eq!(picked, ["web-new-1", "web-old-1", "web-old-2"]);
    }

    #[test]
    fn the_port_is_the_services_named_port() {
        let slices = [slice(json!([endpoint("web-1", true, true, false)]))];
        assert_eq!(candidates(&slices, None)[0].port, 3000);
        assert!(candidates(&slices, Some("metrics")).is_empty());
    }
}
