//! Where this machine reaches a NodePort: the Minikube profile's node address
//! when the context is a Minikube profile, else a node's address from the
//! cluster. On Docker Desktop and Podman machines (macOS, Windows) a
//! container-based node is not reachable at all: the origin must then be a
//! local one (`berth open`).

use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt};

use super::minikube::MinikubeProfile;

/// Where the kubeconfig context points, as far as reaching nodes goes.
#[derive(Debug, Clone, Default)]
pub struct Place {
    /// The kubeconfig context's name (a Minikube profile is named alike).
    pub context: String,
    /// `minikube`, `kind`, or none for any other cluster.
    pub local: Option<String>,
    /// The Minikube profile of the context, when it is one and berth could read it.
    pub minikube: Option<MinikubeProfile>,
    /// This host's OS (`std::env::consts::OS`).
    pub host_os: String,
}

/// One address a node reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeAddress {
    pub node: String,
    pub ready: bool,
    /// `InternalIP`, `ExternalIP`, `Hostname`, …
    pub kind: String,
    pub address: String,
}

/// How this machine reaches a NodePort.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// At `url`, found `via` (for messages).
    Reachable { url: String, via: String },
    /// The node exists but this machine cannot route to it.
    Unreachable { why: String },
    /// berth cannot tell (no node address it may read).
    Unknown { why: String },
}

/// The hint for a NodePort this machine cannot reach.
pub const LOCAL_ORIGIN_HINT: &str = "use `berth open` (local origins through the API server), or deploy with `berth deploy --open` (expose.origin: local), so the app is served at http://localhost";

/// Decides how `port` on the nodes is reached from this machine.
pub fn node_port_reach(place: &Place, nodes: &[NodeAddress], port: i32) -> Reach {
    if let Some(profile) = &place.minikube {
        if !profile.node_reachable_from(&place.host_os) {
            return Reach::Unreachable {
                why: format!(
                    "Minikube profile `{}` runs on the {} driver, whose node is not reachable from {}",
                    profile.name, profile.driver, place.host_os
                ),
            };
        }
        if let Some(ip) = &profile.ip {
            return Reach::Reachable {
                url: format!("http://{}", host_port(ip, port)),
                via: format!(
                    "Minikube profile `{}` (driver {}, minikube ip {ip})",
                    profile.name, profile.driver
                ),
            };
        }
    }
    if place.local.as_deref() == Some("kind") && place.host_os != "linux" {
        return Reach::Unreachable {
            why: format!(
                "kind's nodes are containers, not reachable from {}",
                place.host_os
            ),
        };
    }
    // A ready node first; an external address (routable from outside) before
    // an internal one (a local cluster has only that).
    let rank = |a: &NodeAddress| {
        let kind = match a.kind.as_str() {
            "ExternalIP" => 0,
            "InternalIP" => 1,
            _ => 2,
        };
        (!a.ready, kind)
    };
    match nodes
        .iter()
        .filter(|a| matches!(a.kind.as_str(), "ExternalIP" | "InternalIP"))
        .min_by_key(|a| rank(a))
    {
        Some(a) => Reach::Reachable {
            url: format!("http://{}", host_port(&a.address, port)),
            via: format!("node {}'s {}", a.node, a.kind),
        },
        None => Reach::Unknown {
            why: "no node reports an address".into(),
        },
    }
}

/// `host:port`, with an IPv6 address in brackets.
fn host_port(host: &str, port: i32) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Every node's addresses. Nodes are cluster-scoped: a user who may not list
/// them gets `Err` (the caller says it cannot tell).
pub async fn node_addresses(client: &Client) -> Result<Vec<NodeAddress>, kube::Error> {
    let nodes = Api::<Node>::all(client.clone())
        .list(&ListParams::default())
        .await?;
    Ok(nodes
        .items
        .iter()
        .flat_map(|n| {
            let ready = n
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
            let name = n.name_any();
            n.status
                .iter()
                .flat_map(|s| s.addresses.iter().flatten())
                .map(move |a| NodeAddress {
                    node: name.clone(),
                    ready,
                    kind: a.type_.clone(),
                    address: a.address.clone(),
                })
        })
        .collect())
}

/// How this machine reaches `port` on the cluster's nodes.
pub async fn resolve_node_port(client: &Client, place: &Place, port: i32) -> Reach {
    // The Minikube profile decides without asking the cluster.
    if let Some(profile) = &place.minikube
        && (profile.ip.is_some() || !profile.node_reachable_from(&place.host_os))
    {
        return node_port_reach(place, &[], port);
    }
    match node_addresses(client).await {
        Ok(nodes) => node_port_reach(place, &nodes, port),
        Err(e) => Reach::Unknown {
            why: match e {
                // The API's own sentence, not the Status struct kube's Display appends.
                kube::Error::Api(status) => format!("cannot list Nodes: {}", status.message),
                other => format!("cannot list Nodes: {other}"),
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(local: Option<&str>, driver: Option<&str>, os: &str) -> Place {
        Place {
            context: "minikube".into(),
            local: local.map(String::from),
            minikube: driver.map(|d| MinikubeProfile {
                name: "minikube".into(),
                driver: d.into(),
                ip: Some("192.168.49.2".into()),
            }),
            host_os: os.into(),
        }
    }

    fn address(node: &str, ready: bool, kind: &str, address: &str) -> NodeAddress {
        NodeAddress {
            node: node.into(),
            ready,
            kind: kind.into(),
            address: address.into(),
        }
    }

    fn url(reach: &Reach) -> Option<&str> {
        match reach {
            Reach::Reachable { url, .. } => Some(url),
            _ => None,
        }
    }

    #[test]
    fn the_minikube_profile_decides_for_a_minikube_context() {
        let nodes = [address("minikube", true, "InternalIP", "10.0.0.9")];
        // Every driver on Linux, and VM drivers everywhere: minikube ip.
        for (driver, os) in [
            ("docker", "linux"),
            ("podman", "linux"),
            ("kvm2", "linux"),
            ("none", "linux"),
            ("hyperv", "windows"),
            ("qemu2", "macos"),
            ("vfkit", "macos"),
            ("virtualbox", "windows"),
        ] {
            let reach = node_port_reach(&place(Some("minikube"), Some(driver), os), &nodes, 30080);
            assert_eq!(
                url(&reach),
                Some("http://192.168.49.2:30080"),
                "{driver} {os}"
            );
        }
        // Container drivers on macOS and Windows: no route to the node.
        for (driver, os) in [
            ("docker", "macos"),
            ("docker", "windows"),
            ("podman", "macos"),
        ] {
            let reach = node_port_reach(&place(Some("minikube"), Some(driver), os), &nodes, 30080);
            assert!(
                matches!(&reach, Reach::Unreachable { why } if why.contains(driver)),
                "{driver} {os}: {reach:?}"
            );
        }
        // A profile without a recorded IP falls back to the node's address.
        let mut no_ip = place(Some("minikube"), Some("kvm2"), "linux");
        no_ip.minikube.as_mut().unwrap().ip = None;
        assert_eq!(
            url(&node_port_reach(&no_ip, &nodes, 30080)),
            Some("http://10.0.0.9:30080")
        );
    }

    #[test]
    fn other_clusters_use_a_ready_nodes_external_then_internal_address() {
        let plain = place(None, None, "linux");
        let table: [(&[NodeAddress], Option<&str>); 5] = [
            (
                &[address("a", true, "InternalIP", "10.240.254.2")],
                Some("http://10.240.254.2:30080"),
            ),
            (
                &[
                    address("a", true, "InternalIP", "10.0.0.1"),
                    address("a", true, "ExternalIP", "203.0.113.7"),
                ],
                Some("http://203.0.113.7:30080"),
            ),
            (
                &[
                    address("down", false, "ExternalIP", "203.0.113.8"),
                    address("up", true, "InternalIP", "10.0.0.2"),
                ],
                Some("http://10.0.0.2:30080"),
            ),
            (
                &[address("v6", true, "InternalIP", "fd00::2")],
                Some("http://[fd00::2]:30080"),
            ),
            (&[address("a", true, "Hostname", "node-a")], None),
        ];
        for (nodes, want) in table {
            assert_eq!(
                url(&node_port_reach(&plain, nodes, 30080)),
                want,
                "{nodes:?}"
            );
        }
        assert!(matches!(
            node_port_reach(&plain, &[], 30080),
            Reach::Unknown { .. }
        ));
        // kind on macOS: its node containers live inside Docker Desktop's VM.
        let kind = place(Some("kind"), None, "macos");
        let nodes = [address(
            "kind-control-plane",
            true,
            "InternalIP",
            "172.18.0.2",
        )];
        assert!(matches!(
            node_port_reach(&kind, &nodes, 30080),
            Reach::Unreachable { .. }
        ));
        let kind_linux = place(Some("kind"), None, "linux");
        assert_eq!(
            url(&node_port_reach(&kind_linux, &nodes, 30080)),
            Some("http://172.18.0.2:30080")
        );
    }
}
