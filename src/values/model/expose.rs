//! How the stack is reached from outside: NodePort, Ingress, Gateway API or nothing.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ExposeMode {
    /// The Service of the component routed at `/` is a NodePort (Minikube: `minikube service --url`).
    NodePort,
    /// An Ingress routes each path prefix in `routes` to its component.
    Ingress,
    /// A Gateway API HTTPRoute, attached to an existing Gateway, routes `routes`.
    Gateway,
    /// Nothing external; use `kubectl port-forward`.
    None,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Expose {
    pub mode: ExposeMode,
    /// Path prefix → component, e.g. `{"/": web, "/api": api}`: one external
    /// entry point, the longest matching prefix wins. A NodePort exposes only `/`.
    pub routes: BTreeMap<String, String>,
    /// Port on every node, 30000–32767.
    pub node_port: i32,
    pub ingress: Ingress,
    pub gateway: Gateway,
    // The three origin keys default when absent: revisions recorded before
    // they existed are read back by `berth open` and `status`.
    /// Where the browser reaches the app, hence what `{externalUrl}` resolves to.
    #[serde(default)]
    pub origin: Origin,
    /// The origin itself (`http://localhost:3000`, `https://todo.example.com`):
    /// scheme, host and optional port, no path. When set it wins over `origin`;
    /// `berth deploy` fills it in for a NodePort from the cluster's node address.
    #[serde(default)]
    pub url: String,
    /// Local port of a routed component under `berth open` (and `origin: local`);
    /// default: the entry at the port of the component routed at `/`, every other
    /// routed component at its own port.
    #[serde(default)]
    pub local_ports: BTreeMap<String, u16>,
}

/// Where the browser reaches the app.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Origin {
    /// Through the cluster: the Ingress or Gateway host, or the node's address
    /// and NodePort (resolved by `berth deploy`).
    #[default]
    Cluster,
    /// Through `berth open` on this machine: `http://localhost:<local port of the entry>`,
    /// the origin apps written for local development expect.
    Local,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Ingress {
    /// IngressClass; Minikube's ingress addon uses `nginx`.
    pub class_name: String,
    pub host: String,
    /// Namespace of the ingress controller, allowed through the NetworkPolicies.
    pub controller_namespace: String,
    /// TLS Secret name for the host; empty serves plain HTTP.
    pub tls_secret_name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Gateway {
    /// Name of the existing Gateway the HTTPRoute attaches to.
    pub name: String,
    /// Its namespace (also allowed through the NetworkPolicies); empty: the release's.
    pub namespace: String,
    /// Listener of the Gateway to attach to; empty: all of them.
    pub section_name: String,
    pub host: String,
    /// The Gateway's listener terminates TLS (the external URL is https://).
    pub https: bool,
}
