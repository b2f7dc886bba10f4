//! NetworkPolicies, derived from the data: default deny in the namespace, then
//! one policy per workload allowing exactly the paths the values declare —
//! `urlOf` references (who calls whom), `database` references, routes from the
//! entry point (or from the edge proxy to each routed component), declared
//! `egress` — and DNS. No per-component code.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::context::{Identity, RenderContext};
use super::database_url::{POSTGRES_DEFAULT_PORT, external_port};
use super::edge::edge_identity;
use super::edge_config::EDGE_PORT;
use super::labels::{release_labels, selector_labels};
use super::workloads::metadata;
use crate::values::routes::{entry_component, routed_paths, uses_edge};
use crate::values::validate::egress_port;
use crate::values::{Component, DatabaseMode, EnvValue, ExposeMode, Reference, Values};

/// Denies all traffic to and from every pod in the namespace unless another
/// policy allows it.
pub fn default_deny(ctx: &RenderContext) -> NetworkPolicy {
    NetworkPolicy {
        metadata: ObjectMeta {
            name: Some(format!("{}-default-deny", ctx.release)),
            namespace: Some(ctx.namespace.clone()),
            labels: Some(release_labels(ctx)),
            ..Default::default()
        },
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector::default()),
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ..Default::default()
        }),
    }
}

/// Components `c` calls through `urlOf` references, by name.
fn callees<'a>(values: &'a Values, c: &'a Component) -> Vec<&'a str> {
    let mut names: Vec<&str> = c
        .references()
        .filter_map(|(_, r)| match r {
            Reference::UrlOf { component, .. } => Some(component),
            _ => None,
        })
        .filter(|name| {
            values
                .components
                .get(*name)
                .is_some_and(|t| t.is_enabled() && t.port.is_some())
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Whether `c` reads the database.
fn uses_database(c: &Component) -> bool {
    c.env
        .values()
        .any(|v| matches!(v, EnvValue::Ref(r) if r.database.is_some()))
}

/// The policy of one enabled component.
pub fn component_policy(
    values: &Values,
    ctx: &RenderContext,
    name: &str,
    c: &Component,
) -> NetworkPolicy {
    let who = ctx.component(name, c);
    let ingress = match c.port {
        Some(port) => component_ingress(values, ctx, name, port),
        None => Vec::new(),
    };
    let mut egress: Vec<NetworkPolicyEgressRule> = callees(values, c)
        .into_iter()
        .map(|callee| {
            let target = &values.components[callee];
            to_pods(
                ctx,
                &ctx.component(callee, target),
                target.port.expect("filtered"),
            )
        })
        .collect();
    if uses_database(c) {
        egress.extend(database_egress(values, ctx));
    }
    let mut open_ports: Vec<u16> = Vec::new();
    for host in &c.egress {
        if let Some(port) = egress_port(host) {
            open_ports.push(port);
        }
    }
    for port in open_ports {
        let rule = to_anywhere(port);
        if !egress.contains(&rule) {
            egress.push(rule);
        }
    }
    policy(ctx, &who, ingress, with_dns(egress))
}

/// The edge proxy's policy: NodePort traffic in (from addresses we cannot
/// name; none in `none` mode, where only port-forwards reach it), out only
/// to the routed components and DNS.
pub fn edge_policy(values: &Values, ctx: &RenderContext, who: &Identity) -> NetworkPolicy {
    let ingress = if values.expose.mode == ExposeMode::NodePort {
        vec![NetworkPolicyIngressRule {
            from: None,
            ports: Some(vec![tcp(EDGE_PORT)]),
        }]
    } else {
        Vec::new()
    };
    let mut routed: Vec<&str> = routed_paths(values).iter().map(|r| r.component).collect();
    routed.sort();
    routed.dedup();
    let egress = routed
        .into_iter()
        .filter_map(|name| {
            let target = &values.components[name];
            Some(to_pods(ctx, &ctx.component(name, target), target.port?))
        })
        .collect();
    policy(ctx, who, ingress, with_dns(egress))
}

/// The in-cluster database's policy: only its clients, no egress at all.
pub fn database_policy(values: &Values, ctx: &RenderContext) -> NetworkPolicy {
    let who = ctx.database(values);
    let clients: Vec<Identity> = values
        .enabled_components()
        .filter(|(_, c)| uses_database(c))
        .map(|(name, c)| ctx.component(name, c))
        .collect();
    let ingress = ingress_rule(pod_peers(ctx, &clients), values.database.internal.port);
    policy(ctx, &who, ingress, Vec::new())
}

fn policy(
    ctx: &RenderContext,
    who: &Identity,
    ingress: Vec<NetworkPolicyIngressRule>,
    egress: Vec<NetworkPolicyEgressRule>,
) -> NetworkPolicy {
    NetworkPolicy {
        metadata: metadata(ctx, who),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(selector_labels(ctx, who)),
                ..Default::default()
            }),
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ingress: non_empty(ingress),
            egress: non_empty(egress),
        }),
    }
}

/// Who may connect to a component's port: the components that call it; the
/// edge proxy, the Ingress controller's or the Gateway's namespace when it is
/// routed; everyone when it is the exposed entry point (NodePort and controller
/// traffic arrives from addresses we cannot name).
fn component_ingress(
    values: &Values,
    ctx: &RenderContext,
    name: &str,
    port: u16,
) -> Vec<NetworkPolicyIngressRule> {
    let expose = &values.expose;
    let edge = uses_edge(values);
    if expose.mode != ExposeMode::None && entry_component(values) == Some(name) && !edge {
        return vec![NetworkPolicyIngressRule {
            from: None,
            ports: Some(vec![tcp(port)]),
        }];
    }
    let callers: Vec<Identity> = values
        .enabled_components()
        .filter(|(_, c)| callees(values, c).contains(&name))
        .map(|(n, c)| ctx.component(n, c))
        .collect();
    let mut peers = pod_peers(ctx, &callers);
    let routed = expose.routes.values().any(|r| r.component() == name);
    if edge && routed {
        peers.extend(pod_peers(ctx, &[edge_identity(values, ctx)]));
    }
    let gateway_anywhere = match expose.mode {
        ExposeMode::Ingress if routed && !expose.ingress.controller_namespace.is_empty() => {
            peers.push(namespace_peer(&expose.ingress.controller_namespace));
            false
        }
        ExposeMode::Gateway if routed && !expose.gateway.namespace.is_empty() => {
            peers.push(namespace_peer(&expose.gateway.namespace));
            false
        }
        // The Gateway's data plane runs where we cannot tell.
        ExposeMode::Gateway => routed,
        _ => false,
    };
    if gateway_anywhere {
        return vec![NetworkPolicyIngressRule {
            from: None,
            ports: Some(vec![tcp(port)]),
        }];
    }
    ingress_rule(peers, port)
}

fn namespace_peer(namespace: &str) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        namespace_selector: Some(namespace_selector(namespace)),
        ..Default::default()
    }
}

/// To the in-cluster PostgreSQL pods, or to an external database's port.
fn database_egress(values: &Values, ctx: &RenderContext) -> Option<NetworkPolicyEgressRule> {
    match values.database.mode {
        DatabaseMode::Internal => Some(to_pods(
            ctx,
            &ctx.database(values),
            values.database.internal.port,
        )),
        // Without the URL (an existing Secret holds it) assume the default port.
        DatabaseMode::External => Some(to_anywhere(
            values
                .secret_values
                .get(&values.database.external.url_secret)
                .and_then(external_port)
                .unwrap_or(POSTGRES_DEFAULT_PORT),
        )),
        DatabaseMode::None => None,
    }
}

/// No peers means no rule: an empty `from` would allow everyone.
fn ingress_rule(peers: Vec<NetworkPolicyPeer>, port: u16) -> Vec<NetworkPolicyIngressRule> {
    if peers.is_empty() {
        return Vec::new();
    }
    vec![NetworkPolicyIngressRule {
        from: Some(peers),
        ports: Some(vec![tcp(port)]),
    }]
}

fn pod_peers(ctx: &RenderContext, workloads: &[Identity]) -> Vec<NetworkPolicyPeer> {
    workloads
        .iter()
        .map(|who| NetworkPolicyPeer {
            pod_selector: Some(LabelSelector {
                match_labels: Some(selector_labels(ctx, who)),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect()
}

fn to_pods(ctx: &RenderContext, who: &Identity, port: u16) -> NetworkPolicyEgressRule {
    NetworkPolicyEgressRule {
        to: Some(pod_peers(ctx, std::slice::from_ref(who))),
        ports: Some(vec![tcp(port)]),
    }
}

fn to_anywhere(port: u16) -> NetworkPolicyEgressRule {
    NetworkPolicyEgressRule {
        to: Some(vec![NetworkPolicyPeer {
            ip_block: Some(IPBlock {
                cidr: "0.0.0.0/0".into(),
                except: None,
            }),
            ..Default::default()
        }]),
        ports: Some(vec![tcp(port)]),
    }
}

/// Cluster DNS (CoreDNS in kube-system, as on Minikube), first in every list.
fn with_dns(mut rules: Vec<NetworkPolicyEgressRule>) -> Vec<NetworkPolicyEgressRule> {
    let dns = NetworkPolicyEgressRule {
        to: Some(vec![NetworkPolicyPeer {
            namespace_selector: Some(namespace_selector("kube-system")),
            pod_selector: Some(LabelSelector {
                match_labels: Some(BTreeMap::from([("k8s-app".into(), "kube-dns".into())])),
                ..Default::default()
            }),
            ..Default::default()
        }]),
        ports: Some(vec![port(53, "UDP"), port(53, "TCP")]),
    };
    rules.insert(0, dns);
    rules
}

fn namespace_selector(name: &str) -> LabelSelector {
    LabelSelector {
        match_labels: Some(BTreeMap::from([(
            "kubernetes.io/metadata.name".into(),
            name.into(),
        )])),
        ..Default::default()
    }
}

fn tcp(number: u16) -> NetworkPolicyPort {
    port(number, "TCP")
}

fn port(number: u16, protocol: &str) -> NetworkPolicyPort {
    NetworkPolicyPort {
        port: Some(IntOrString::Int(number.into())),
        protocol: Some(protocol.into()),
        ..Default::default()
    }
}

fn non_empty<T>(items: Vec<T>) -> Option<Vec<T>> {
    (!items.is_empty()).then_some(items)
}
