//! NetworkPolicies: default deny in the namespace, then one policy per component
//! allowing only the paths the app uses (and DNS).

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::context::{ComponentName, RenderContext};
use super::labels::{release_labels, selector_labels};
use super::workloads::metadata;
use crate::values::{DatabaseMode, ExposeMode, LlmProvider, Values};

const POSTGRES_DEFAULT_PORT: u16 = 5432;
const HTTPS_PORT: u16 = 443;

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

/// The policy of one enabled component.
pub fn component_policy(
    values: &Values,
    ctx: &RenderContext,
    component: ComponentName,
) -> NetworkPolicy {
    let (ingress, egress, version) = match component {
        ComponentName::Frontend => (
            frontend_ingress(values),
            frontend_egress(values, ctx),
            &values.frontend.image.tag,
        ),
        ComponentName::Backend => (
            backend_ingress(values, ctx),
            backend_egress(values, ctx),
            &values.backend.image.tag,
        ),
        ComponentName::Mcp => (
            from_pods(
                ctx,
                &[(ComponentName::Backend, values.backend.enabled)],
                values.mcp.port,
            ),
            with_dns(database_egress(values, ctx).into_iter().collect()),
            &values.mcp.image.tag,
        ),
        ComponentName::Database => (
            from_pods(
                ctx,
                &[
                    (ComponentName::Backend, values.backend.enabled),
                    (ComponentName::Mcp, values.mcp.enabled),
                ],
                values.database.internal.port,
            ),
            Vec::new(),
            &values.database.internal.image.tag,
        ),
    };
    NetworkPolicy {
        metadata: metadata(ctx, component, version),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(selector_labels(ctx, component)),
                ..Default::default()
            }),
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ingress: non_empty(ingress),
            egress: non_empty(egress),
        }),
    }
}

/// The frontend is the entry point: NodePort and ingress-controller traffic
/// arrives from addresses we cannot name, so its port is open to all.
fn frontend_ingress(values: &Values) -> Vec<NetworkPolicyIngressRule> {
    if values.expose.mode == ExposeMode::None {
        return Vec::new();
    }
    vec![NetworkPolicyIngressRule {
        from: None,
        ports: Some(vec![tcp(values.frontend.port)]),
    }]
}

fn frontend_egress(values: &Values, ctx: &RenderContext) -> Vec<NetworkPolicyEgressRule> {
    let mut rules = Vec::new();
    if values.backend.enabled {
        rules.push(to_pods(ctx, ComponentName::Backend, values.backend.port));
    }
    with_dns(rules)
}

/// The frontend's server side, and with an Ingress the controller (`/api`).
fn backend_ingress(values: &Values, ctx: &RenderContext) -> Vec<NetworkPolicyIngressRule> {
    let mut peers = pod_peers(ctx, &[(ComponentName::Frontend, values.frontend.enabled)]);
    let controller = &values.expose.ingress.controller_namespace;
    if values.expose.mode == ExposeMode::Ingress && !controller.is_empty() {
        peers.push(NetworkPolicyPeer {
            namespace_selector: Some(namespace_selector(controller)),
            ..Default::default()
        });
    }
    ingress_rule(peers, values.backend.port)
}

fn backend_egress(values: &Values, ctx: &RenderContext) -> Vec<NetworkPolicyEgressRule> {
    let mut rules = Vec::new();
    if values.mcp.enabled {
        rules.push(to_pods(ctx, ComponentName::Mcp, values.mcp.port));
    }
    rules.extend(database_egress(values, ctx));
    if values.llm.provider != LlmProvider::None {
        let port = url_port(&values.llm.base_url).unwrap_or(HTTPS_PORT);
        rules.push(to_anywhere(port));
    }
    with_dns(rules)
}

/// To the in-cluster PostgreSQL pods, or to an external database's port.
fn database_egress(values: &Values, ctx: &RenderContext) -> Option<NetworkPolicyEgressRule> {
    match values.database.mode {
        DatabaseMode::Internal => Some(to_pods(
            ctx,
            ComponentName::Database,
            values.database.internal.port,
        )),
        DatabaseMode::External if values.secrets.database_url.is_empty() => {
            // The URL lives in an existing Secret we cannot read: assume the default port.
            Some(to_anywhere(POSTGRES_DEFAULT_PORT))
        }
        DatabaseMode::External => Some(to_anywhere(
            url_port(&values.secrets.database_url).unwrap_or(POSTGRES_DEFAULT_PORT),
        )),
    }
}

/// The URL's explicit port, else its scheme's well-known one (http 80, https 443).
fn url_port(raw: &str) -> Option<u16> {
    url::Url::parse(raw).ok()?.port_or_known_default()
}

fn from_pods(
    ctx: &RenderContext,
    sources: &[(ComponentName, bool)],
    port: u16,
) -> Vec<NetworkPolicyIngressRule> {
    ingress_rule(pod_peers(ctx, sources), port)
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

fn pod_peers(ctx: &RenderContext, sources: &[(ComponentName, bool)]) -> Vec<NetworkPolicyPeer> {
    sources
        .iter()
        .filter(|(_, enabled)| *enabled)
        .map(|(component, _)| NetworkPolicyPeer {
            pod_selector: Some(LabelSelector {
                match_labels: Some(selector_labels(ctx, *component)),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect()
}

fn to_pods(ctx: &RenderContext, component: ComponentName, port: u16) -> NetworkPolicyEgressRule {
    NetworkPolicyEgressRule {
        to: Some(pod_peers(ctx, &[(component, true)])),
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
