//! The typed manifest model: pure functions from [`Values`] to `k8s-openapi`
//! objects. Nothing here talks to a cluster.

pub mod build_env;
pub mod config;
pub mod context;
pub mod database_url;
pub mod edge;
pub mod edge_config;
pub mod exposure;
pub mod generated;
pub mod http_route;
pub mod labels;
pub mod local_ports;
pub mod network_policy;
pub mod object;
pub mod output;
pub mod pod;
pub mod postgres;
pub mod registry;
pub mod scaling;
pub mod workloads;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

pub use context::{DEFAULT_RELEASE, Identity, RenderContext};
pub use object::{Kind, Manifest, Stage, sort_for_apply};

use crate::values::{Component, DatabaseMode, Values};

/// Renders the whole stack in apply order. Secrets hold their real values; use
/// [`redact_secrets`] before showing them.
pub fn render(values: &Values, ctx: &RenderContext) -> Vec<Manifest> {
    let mut objects = Vec::new();
    if values.namespace.create {
        objects.push(Manifest::Namespace(namespace(ctx)));
    }
    for (name, c) in values.enabled_components() {
        objects.extend(render_component(values, ctx, name, c));
    }
    if values.database.mode == DatabaseMode::Internal {
        objects.extend(render_database(values, ctx));
    }
    objects.extend(edge::render(values, ctx));
    if let Some(ingress) = exposure::ingress(values, ctx) {
        objects.push(Manifest::Ingress(ingress));
    }
    if let Some(route) = exposure::http_route(values, ctx) {
        objects.push(Manifest::HttpRoute(Box::new(route)));
    }
    if values.network_policy.enabled {
        objects.push(Manifest::NetworkPolicy(network_policy::default_deny(ctx)));
    }
    sort_for_apply(&mut objects);
    registry::apply(&mut objects, ctx);
    objects
}

/// ServiceAccount, ConfigMap, Secret (unless it has none or uses an existing
/// one), Deployment, Service (when it has a port) and the optional HPA, PDB
/// and NetworkPolicy of one component.
fn render_component(
    values: &Values,
    ctx: &RenderContext,
    name: &str,
    c: &Component,
) -> Vec<Manifest> {
    let who = ctx.component(name, c);
    let env = config::component_env(values, ctx, c);
    let mut objects = vec![
        Manifest::ServiceAccount(workloads::service_account(ctx, &who)),
        Manifest::ConfigMap(config::config_map(ctx, &who, &env)),
    ];
    let secret = match &c.existing_secret {
        Some(existing) => Some(existing.clone()),
        None if env.secret.is_empty() => None,
        None => {
            objects.push(Manifest::Secret(config::secret(ctx, &who, &env)));
            Some(who.object_name.clone())
        }
    };
    let autoscaling = c.autoscaling.over(&values.autoscaling);
    objects.push(Manifest::Deployment(workloads::deployment(
        ctx,
        workloads::DeploymentInput {
            who: &who,
            component: c,
            replicas: (!autoscaling.enabled).then_some(c.replica_count()),
            pull_policy: values.image_pull_policy.as_str(),
            checksum: env.checksum(c.existing_secret.is_some()),
            secret,
        },
    )));
    if let Some(port) = c.port {
        let node_port = exposure::component_node_port(values, name);
        objects.push(Manifest::Service(workloads::service(
            ctx, &who, port, node_port,
        )));
    }
    if autoscaling.enabled {
        objects.push(Manifest::HorizontalPodAutoscaler(scaling::autoscaler(
            ctx,
            &who,
            &autoscaling,
        )));
    }
    let lowest = if autoscaling.enabled {
        autoscaling.min_replicas
    } else {
        c.replica_count()
    };
    let budget = c.pod_disruption_budget.over(&values.pod_disruption_budget);
    if let Some(pdb) = scaling::disruption_budget(ctx, &who, &budget, lowest) {
        objects.push(Manifest::PodDisruptionBudget(pdb));
    }
    if values.network_policy.enabled {
        objects.push(Manifest::NetworkPolicy(network_policy::component_policy(
            values, ctx, name, c,
        )));
    }
    objects
}

fn render_database(values: &Values, ctx: &RenderContext) -> Vec<Manifest> {
    let who = ctx.database(values);
    let env = config::database_env(values);
    let mut objects = vec![
        Manifest::ServiceAccount(workloads::service_account(ctx, &who)),
        Manifest::ConfigMap(config::config_map(ctx, &who, &env)),
        Manifest::Secret(config::secret(ctx, &who, &env)),
    ];
    objects.extend(postgres::tls_secret(values, ctx).map(Manifest::Secret));
    objects.push(Manifest::StatefulSet(postgres::stateful_set(
        values,
        ctx,
        env.checksum(false),
        Some(&who.object_name),
    )));
    objects.push(Manifest::Service(postgres::headless_service(values, ctx)));
    if values.network_policy.enabled {
        objects.push(Manifest::NetworkPolicy(network_policy::database_policy(
            values, ctx,
        )));
    }
    objects
}

fn namespace(ctx: &RenderContext) -> Namespace {
    Namespace {
        metadata: ObjectMeta {
            name: Some(ctx.namespace.clone()),
            labels: Some(labels::release_labels(ctx)),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Replaces the value of every Secret with a visible placeholder.
pub fn redact_secrets(objects: &mut [Manifest]) {
    for object in objects {
        if let Manifest::Secret(secret) = object {
            config::redact(secret);
        }
    }
}
