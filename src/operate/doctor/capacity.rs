//! The node-capacity check: the stack's requests against the ready nodes' free allocatable.

use super::*;

/// Pod specs the render would run and how many of each (an HPA's minimum
/// when it owns the replicas).
pub(super) fn pods_to_run(objects: &[Manifest]) -> Vec<(String, &PodSpec, i32)> {
    let hpa_min: BTreeMap<String, i32> = objects
        .iter()
        .filter_map(|o| match o {
            Manifest::HorizontalPodAutoscaler(h) => h
                .spec
                .as_ref()
                .map(|s| (s.scale_target_ref.name.clone(), s.min_replicas.unwrap_or(1))),
            _ => None,
        })
        .collect();
    objects
        .iter()
        .filter_map(|o| {
            let (spec, replicas) = match o {
                Manifest::Deployment(d) => {
                    let s = d.spec.as_ref()?;
                    (s.template.spec.as_ref()?, s.replicas)
                }
                Manifest::StatefulSet(s) => {
                    let s = s.spec.as_ref()?;
                    (s.template.spec.as_ref()?, s.replicas)
                }
                _ => return None,
            };
            let name = o.name().to_string();
            let count = hpa_min.get(&name).copied().or(replicas).unwrap_or(1);
            Some((name, spec, count))
        })
        .collect()
}

/// CPU (cores) and memory (bytes) a pod requests: its containers, or its
/// largest init container if that is more (they run one at a time, first).
pub(super) fn requests(spec: &PodSpec) -> (f64, f64) {
    let of = |c: &k8s_openapi::api::core::v1::Container, key: &str| {
        c.resources
            .as_ref()
            .and_then(|r| r.requests.as_ref())
            .and_then(|r| r.get(key))
            .and_then(|q| parse_quantity(&q.0))
            .unwrap_or(0.0)
    };
    let sum = |key: &str| spec.containers.iter().map(|c| of(c, key)).sum::<f64>();
    let init = |key: &str| {
        spec.init_containers
            .iter()
            .flatten()
            .map(|c| of(c, key))
            .fold(0.0, f64::max)
    };
    (
        sum("cpu").max(init("cpu")),
        sum("memory").max(init("memory")),
    )
}

pub(super) async fn capacity(
    client: &Client,
    release: &Release,
    objects: &[Manifest],
    minikube: bool,
) -> Check {
    const ID: &str = "node-capacity";
    let (need_cpu, need_memory) = pods_to_run(objects)
        .iter()
        .map(|(_, spec, n)| {
            let (c, m) = requests(spec);
            (c * *n as f64, m * *n as f64)
        })
        .fold((0.0, 0.0), |(c, m), (dc, dm)| (c + dc, m + dm));
    let (nodes, pods) = match futures::join!(list_all::<Node>(client), list_all::<Pod>(client)) {
        (Ok(n), Ok(p)) => (n, p),
        (Err(e), _) | (_, Err(e)) => {
            return Check::warn(
                ID,
                format!("cannot read nodes and pods to compare capacity: {e}"),
                "ask for read access to nodes, or check capacity with the cluster's admin",
            );
        }
    };
    let allocatable = |key: &str| -> f64 {
        nodes
            .iter()
            .filter(|n| node_ready(n) && !unschedulable(n))
            .filter_map(|n| n.status.as_ref()?.allocatable.as_ref()?.get(key))
            .filter_map(|q| parse_quantity(&q.0))
            .sum()
    };
    // Pods of other releases keep their requests; this release's are replaced.
    let used = pods
        .iter()
        .filter(|p| {
            let phase = p.status.as_ref().and_then(|s| s.phase.as_deref());
            !matches!(phase, Some("Succeeded") | Some("Failed")) && !ours(*p, release)
        })
        .filter_map(|p| p.spec.as_ref())
        .map(requests)
        .fold((0.0, 0.0), |(c, m), (dc, dm)| (c + dc, m + dm));
    let free_cpu = allocatable("cpu") - used.0;
    let free_memory = allocatable("memory") - used.1;
    let summary = format!(
        "the stack requests {need_cpu:.2} CPU and {} memory; the ready nodes have {free_cpu:.2} CPU and {} free",
        gib(need_memory),
        gib(free_memory)
    );
    if need_cpu > free_cpu || need_memory > free_memory {
        let hint = if minikube {
            let cpus = (need_cpu + used.0 + 1.0).ceil().max(2.0);
            let memory = ((need_memory + used.1) / (1u64 << 30) as f64 + 2.0).ceil();
            format!(
                "give Minikube more (minikube delete && minikube start --cpus {cpus} --memory {memory}g), or lower replicas and resources.requests in the values"
            )
        } else {
            "free CPU/memory on the nodes, add a node, or lower replicas and resources.requests in the values".into()
        };
        Check::fail(ID, summary, hint)
    } else {
        Check::pass(ID, summary)
    }
}
