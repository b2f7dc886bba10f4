//! The one external entry point: a NodePort on the Service of the component
//! routed at `/` (or of the edge proxy, when routes name several components:
//! see `edge.rs`), or an Ingress or Gateway API HTTPRoute sending each path
//! prefix in `expose.routes` to its component on the same origin, so the
//! browser never needs cluster DNS.

use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, IngressTLS, ServiceBackendPort,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::context::{Identity, RenderContext};
use super::http_route::{
    self, BackendRef, HttpRoute, HttpRouteFilter, HttpRouteMatch, HttpRouteRule, HttpRouteSpec,
    ParentRef, PathMatch,
};
use super::labels::component_labels;
use super::local_ports;
use crate::values::routes::{entry_component, ordered_routes, routed_paths, uses_edge};
use crate::values::{ExposeMode, Origin, Values};

/// The origin the browser uses (`scheme://host[:port]`, no trailing slash):
/// the one function every `{externalUrl}` (env, build values, the chart's
/// equivalent) resolves through.
///
/// `expose.url` when set (for a NodePort, `berth deploy` sets it to the node's
/// address from the cluster); else with `expose.origin: local` the local origin
/// `berth open` serves; else the Ingress or Gateway host. A NodePort without a
/// cluster to ask (`berth render`, `chart export`) falls back to
/// `http://localhost:<nodePort>`, and no exposure to the entry's own port.
pub fn external_url(values: &Values) -> String {
    let expose = &values.expose;
    if !expose.url.is_empty() {
        return expose.url.trim_end_matches('/').to_string();
    }
    if expose.origin == Origin::Local {
        return local_ports::local_origin(values);
    }
    match expose.mode {
        ExposeMode::Ingress => {
            let scheme = if expose.ingress.tls_secret_name.is_empty() {
                "http"
            } else {
                "https"
            };
            format!("{scheme}://{}", expose.ingress.host)
        }
        ExposeMode::Gateway => {
            let scheme = if expose.gateway.https {
                "https"
            } else {
                "http"
            };
            format!("{scheme}://{}", expose.gateway.host)
        }
        ExposeMode::NodePort => format!("http://localhost:{}", expose.node_port),
        ExposeMode::None => match entry_port(values) {
            Some(port) => format!("http://localhost:{port}"),
            None => "http://localhost".to_string(),
        },
    }
}

/// `{externalUrl: path}`: the origin with `path` appended, `/` (or a trailing `/`) adding
/// nothing (`http://todo.local`, `http://todo.local/api`). Env, build values and the chart
/// all resolve it here.
pub fn external_url_at(values: &Values, path: &str) -> String {
    format!(
        "{}{}",
        external_url(values),
        path.strip_suffix('/').unwrap_or(path)
    )
}

/// Whether the origin is a NodePort's that only the cluster can tell (the
/// node's address): `berth deploy`, `diff` and `status` resolve it into
/// `expose.url` before rendering.
pub fn origin_needs_cluster(values: &Values) -> bool {
    let expose = &values.expose;
    expose.url.is_empty() && expose.origin == Origin::Cluster && expose.mode == ExposeMode::NodePort
}

/// The container port of the component routed at `/`.
fn entry_port(values: &Values) -> Option<u16> {
    values.components.get(entry_component(values)?)?.port
}

/// The NodePort of a component's Service: the entry point's, when exposing
/// through a NodePort and no edge proxy stands in front of it.
pub fn component_node_port(values: &Values, name: &str) -> Option<i32> {
    (values.expose.mode == ExposeMode::NodePort
        && entry_component(values) == Some(name)
        && !uses_edge(values))
    .then_some(values.expose.node_port)
}

/// A route to render: its prefix, the component's Service and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRoute {
    pub prefix: String,
    pub service: String,
    pub port: u16,
    pub strip_prefix: bool,
}

/// The routes to render, most specific first, each with its Service and
/// port; empty when none of the routed components runs.
pub fn service_routes(values: &Values, ctx: &RenderContext) -> Vec<ServiceRoute> {
    routed_paths(values)
        .into_iter()
        .filter_map(|r| {
            let port = values.components[r.component].port?;
            Some(ServiceRoute {
                prefix: r.prefix.to_string(),
                service: ctx.name(r.component),
                port,
                strip_prefix: r.strip_prefix,
            })
        })
        .collect()
}

/// The component the Ingress or HTTPRoute is named and labelled after: the
/// entry point, else the first routed component.
fn owner(values: &Values, ctx: &RenderContext) -> Option<Identity> {
    let enabled = |name: &str| values.components.get(name).is_some_and(|c| c.is_enabled());
    let name = entry_component(values)
        .filter(|n| enabled(n))
        .or_else(|| ordered_routes(values).first().map(|(_, c)| *c))?;
    Some(ctx.component(name, &values.components[name]))
}

fn object_meta(ctx: &RenderContext, who: &Identity) -> ObjectMeta {
    ObjectMeta {
        name: Some(who.object_name.clone()),
        namespace: Some(ctx.namespace.clone()),
        labels: Some(component_labels(ctx, who)),
        ..Default::default()
    }
}

/// The Ingress, when exposing through one and at least one routed component runs.
pub fn ingress(values: &Values, ctx: &RenderContext) -> Option<Ingress> {
    let expose = &values.expose;
    if expose.mode != ExposeMode::Ingress {
        return None;
    }
    let routes = service_routes(values, ctx);
    let who = owner(values, ctx).filter(|_| !routes.is_empty())?;
    let paths = routes
        .iter()
        .map(|r| prefix_path(&r.prefix, &r.service, r.port))
        .collect();
    let tls = (!expose.ingress.tls_secret_name.is_empty()).then(|| {
        vec![IngressTLS {
            hosts: Some(vec![expose.ingress.host.clone()]),
            secret_name: Some(expose.ingress.tls_secret_name.clone()),
        }]
    });
    Some(Ingress {
        metadata: object_meta(ctx, &who),
        spec: Some(IngressSpec {
            ingress_class_name: Some(expose.ingress.class_name.clone()),
            rules: Some(vec![IngressRule {
                host: Some(expose.ingress.host.clone()),
                http: Some(HTTPIngressRuleValue { paths }),
            }]),
            tls,
            ..Default::default()
        }),
        ..Default::default()
    })
}

fn prefix_path(path: &str, service: &str, port: u16) -> HTTPIngressPath {
    HTTPIngressPath {
        path: Some(path.into()),
        path_type: "Prefix".into(),
        backend: IngressBackend {
            service: Some(IngressServiceBackend {
                name: service.into(),
                port: Some(ServiceBackendPort {
                    number: Some(port.into()),
                    ..Default::default()
                }),
            }),
            ..Default::default()
        },
    }
}

/// The HTTPRoute, when exposing through a Gateway and a routed component runs.
pub fn http_route(values: &Values, ctx: &RenderContext) -> Option<HttpRoute> {
    let gateway = &values.expose.gateway;
    if values.expose.mode != ExposeMode::Gateway {
        return None;
    }
    let routes = service_routes(values, ctx);
    let who = owner(values, ctx).filter(|_| !routes.is_empty())?;
    let non_empty = |s: &String| (!s.is_empty()).then(|| s.clone());
    Some(HttpRoute {
        api_version: http_route::API_VERSION.into(),
        kind: http_route::KIND.into(),
        metadata: object_meta(ctx, &who),
        spec: HttpRouteSpec {
            parent_refs: vec![ParentRef {
                name: gateway.name.clone(),
                namespace: non_empty(&gateway.namespace),
                section_name: non_empty(&gateway.section_name),
            }],
            hostnames: vec![gateway.host.clone()],
            rules: routes
                .into_iter()
                .map(|r| HttpRouteRule {
                    matches: vec![HttpRouteMatch {
                        path: PathMatch {
                            type_: "PathPrefix".into(),
                            value: r.prefix,
                        },
                    }],
                    filters: if r.strip_prefix {
                        vec![HttpRouteFilter::strip_prefix()]
                    } else {
                        Vec::new()
                    },
                    backend_refs: vec![BackendRef {
                        name: r.service,
                        port: r.port.into(),
                    }],
                })
                .collect(),
        },
    })
}
