//! The exposure check: an IngressClass, the Gateway API CRDs, or a free NodePort.

use super::*;

pub(super) async fn exposure(
    client: &Client,
    release: &Release,
    values: &Values,
    objects: &[Manifest],
) -> Check {
    const ID: &str = "exposure";
    if let Some(ingress) = objects.iter().find_map(|o| match o {
        Manifest::Ingress(i) => Some(i),
        _ => None,
    }) {
        let class = ingress
            .spec
            .as_ref()
            .and_then(|s| s.ingress_class_name.clone())
            .unwrap_or_default();
        return match list_all::<IngressClass>(client).await {
            Ok(items) if items.iter().any(|c| c.name_any() == class) => Check::pass(
                ID,
                format!("Ingress with IngressClass `{class}`, which exists"),
            ),
            Ok(items) => Check::fail(
                ID,
                format!(
                    "the Ingress asks for IngressClass `{class}`; the cluster has {}",
                    names_or_none(items.iter().map(|c| c.name_any()))
                ),
                "minikube addons enable ingress; elsewhere install an ingress controller or set expose.ingress.className, or use expose.mode=nodePort",
            ),
            Err(e) => Check::warn(
                ID,
                format!("cannot list IngressClasses: {e}"),
                "ask the cluster's admin which IngressClass to use",
            ),
        };
    }
    if objects.iter().any(|o| matches!(o, Manifest::HttpRoute(_))) {
        return match client.list_api_groups().await {
            Ok(groups)
                if groups
                    .groups
                    .iter()
                    .any(|g| g.name == "gateway.networking.k8s.io") =>
            {
                Check::pass(ID, "HTTPRoute; the Gateway API CRDs are installed")
            }
            Ok(_) => Check::fail(
                ID,
                "expose.mode=gateway renders an HTTPRoute, but the Gateway API CRDs are not installed",
                "install the Gateway API CRDs and a Gateway implementation, or use expose.mode=nodePort",
            ),
            Err(e) => Check::warn(
                ID,
                format!("cannot list API groups: {e}"),
                "check that the Gateway API CRDs exist (kubectl get crd)",
            ),
        };
    }
    let node_ports: Vec<i32> = objects
        .iter()
        .filter_map(|o| match o {
            Manifest::Service(s) => s.spec.as_ref(),
            _ => None,
        })
        .flat_map(|s| s.ports.iter().flatten())
        .filter_map(|p| p.node_port)
        .collect();
    if node_ports.is_empty() {
        return Check::pass(
            ID,
            "nothing exposed outside the cluster (kubectl port-forward reaches it)",
        );
    }
    let services = match list_all::<Service>(client).await {
        Ok(items) => items,
        Err(e) => {
            return Check::warn(
                ID,
                format!(
                    "cannot list Services to check NodePort {}: {e}",
                    values.expose.node_port
                ),
                "pick a NodePort you know is free (--set expose.nodePort=...)",
            );
        }
    };
    let taken: Vec<String> = services
        .iter()
        .filter(|s| !ours(*s, release))
        .filter(|s| {
            s.spec
                .iter()
                .flat_map(|s| s.ports.iter().flatten())
                .any(|p| p.node_port.is_some_and(|n| node_ports.contains(&n)))
        })
        .map(|s| format!("{}/{}", s.namespace().unwrap_or_default(), s.name_any()))
        .collect();
    let ports = node_ports
        .iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if taken.is_empty() {
        Check::pass(ID, format!("NodePort {ports} is free"))
    } else {
        Check::fail(
            ID,
            format!("NodePort {ports} is taken by Service {}", taken.join(", ")),
            "choose a free port: --set expose.nodePort=30000..32767",
        )
    }
}

pub(super) fn names_or_none(names: impl Iterator<Item = String>) -> String {
    let names: Vec<String> = names.collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}
