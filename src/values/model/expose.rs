//! How the stack is reached from outside: NodePort, Ingress, Gateway API or nothing.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Resources;
use super::resources::{QuantitySchema, quantity_text};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ExposeMode {
    /// A NodePort on the Service of the component routed at `/`, or on the edge
    /// proxy's when the routes name several components (Minikube: `minikube service --url`).
    NodePort,
    /// An Ingress routes each path prefix in `routes` to its component.
    Ingress,
    /// A Gateway API HTTPRoute, attached to an existing Gateway, routes `routes`.
    Gateway,
    /// Nothing external; use `kubectl port-forward` (to the edge when there is one).
    None,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Expose {
    pub mode: ExposeMode,
    /// Path prefix → component, e.g. `{"/": web, "/api": api}`: one external
    /// entry point, the longest matching prefix wins. In `nodePort` and `none`
    /// modes routes to several components go through the edge proxy.
    #[schemars(with = "BTreeMap<String, RouteSchema>")]
    pub routes: BTreeMap<String, Route>,
    /// Port on every node, 30000–32767.
    pub node_port: i32,
    pub ingress: Ingress,
    pub gateway: Gateway,
    // The edge and the three origin keys default when absent: revisions
    // recorded before they existed are read back by `berth open` and `status`.
    #[serde(default)]
    pub edge: Edge,
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

/// Where a route sends its paths: a component's name, or
/// `{component: NAME, stripPrefix: true}` when the component serves at `/`
/// what the browser asks under the prefix (`/api/tasks` reaches it as `/tasks`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Route {
    Component(String),
    Target(RouteTarget),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RouteTarget {
    pub component: String,
    /// Remove the route's prefix before the request reaches the component.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub strip_prefix: bool,
}

impl Route {
    /// The component the route sends its paths to.
    pub fn component(&self) -> &str {
        match self {
            Route::Component(name) => name,
            Route::Target(target) => &target.component,
        }
    }

    /// Whether the prefix is removed before the request reaches the component.
    pub fn strips_prefix(&self) -> bool {
        matches!(self, Route::Target(t) if t.strip_prefix)
    }
}

impl From<&str> for Route {
    fn from(component: &str) -> Self {
        Route::Component(component.to_string())
    }
}

/// What a route may be written as.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)] // only its schema is used
pub(super) enum RouteSchema {
    /// A component's name.
    Component(String),
    Target(RouteTarget),
}

impl<'de> Deserialize<'de> for Route {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let raw = serde_json::Value::deserialize(deserializer)?;
        match raw {
            serde_json::Value::String(name) => Ok(Route::Component(name)),
            serde_json::Value::Object(_) => serde_json::from_value(raw)
                .map(Route::Target)
                .map_err(|e| D::Error::custom(e.to_string())),
            _ => Err(D::Error::custom(
                "expected a component name or {component: NAME, stripPrefix: true}",
            )),
        }
    }
}

/// The edge proxy berth renders in `nodePort` and `none` modes when the routes
/// name more than one component (or strip a prefix): nginx, configured from
/// the routes, behind the one entry point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Edge {
    /// An nginx-unprivileged image (`nginx` on the PATH, runs as user 101).
    pub image: EdgeImage,
    pub replicas: i32,
    pub resources: Resources,
    /// Largest request body passed on, in nginx's size form (`10m`, `512k`; `0`: no limit).
    #[serde(deserialize_with = "quantity_text")]
    #[schemars(with = "QuantitySchema")]
    pub max_body_size: String,
}

impl Default for Edge {
    /// The embedded defaults' (values/values.yaml), which always hold it: one place says
    /// what the edge runs.
    fn default() -> Self {
        let tree = crate::values::load::parse_yaml(
            crate::values::load::DEFAULT_VALUES_YAML,
            "embedded defaults",
        )
        .expect("the embedded defaults parse");
        serde_json::from_value(tree["expose"]["edge"].clone())
            .expect("the embedded defaults hold expose.edge")
    }
}

/// The edge proxy's image: an established one, pulled, never built by berth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EdgeImage {
    /// Fully qualified repository, e.g. `docker.io/nginxinc/nginx-unprivileged`.
    pub repository: String,
    pub tag: String,
}

impl EdgeImage {
    pub fn reference(&self) -> String {
        format!("{}:{}", self.repository, self.tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A revision recorded before the edge existed is still read (by `berth open`, `status`).
    #[test]
    fn an_expose_without_edge_reads_with_the_default_edge() {
        let expose: Expose = serde_json::from_value(serde_json::json!({
            "mode": "nodePort",
            "routes": {"/": "web", "/api": {"component": "api", "stripPrefix": true}},
            "nodePort": 30080,
            "ingress": {"className": "nginx", "host": "h", "tlsSecretName": "", "controllerNamespace": "ingress-nginx"},
            "gateway": {"name": "g", "namespace": "", "sectionName": "", "host": "h", "https": false}
        }))
        .unwrap();
        assert_eq!(expose.edge, Edge::default());
        assert!(expose.edge.image.repository.contains("nginx"));
    }
}
