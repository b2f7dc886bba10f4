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
