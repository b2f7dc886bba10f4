//! The typed manifest model: pure functions from [`Values`] to `k8s-openapi`
//! objects. Nothing here talks to a cluster.

pub mod config;
pub mod context;
pub mod exposure;
pub mod labels;
pub mod network_policy;
pub mod object;
pub mod output;
pub mod pod;
pub mod postgres;
pub mod scaling;
pub mod workloads;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

pub use context::{ComponentName, DEFAULT_RELEASE, RenderContext};
pub use object::{Kind, Manifest, Stage, sort_for_apply};

use crate::values::{Component, DatabaseMode, Values};

/// Renders the whole stack in apply order. Secrets hold their real values; use
/// [`redact_secrets`] before showing them.
pub fn render(values: &Values, ctx: &RenderContext) -> Vec<Manifest> {
    let mut objects = Vec::new();
    if values.namespace.create {
        objects.push(Manifest::Namespace(namespace(ctx)));
    }
    let mcp = values.mcp.as_component();
    for (component, c) in [
        (ComponentName::Frontend, &values.frontend),
        (ComponentName::Backend, &values.backend),
        (ComponentName::Mcp, &mcp),
    ] {
        if c.enabled {
            objects.extend(render_http_component(values, ctx, component, c));
        }
    }
    if values.database.mode == DatabaseMode::Internal {
        objects.extend(render_database(values, ctx));
    }
    if let Some(ingress) = exposure::ingress(values, ctx) {
        objects.push(Manifest::Ingress(ingress));
    }
    if values.network_policy.enabled {
        objects.push(Manifest::NetworkPolicy(network_policy::default_deny(ctx)));
    }
    sort_for_apply(&mut objects);
    objects
}

/// ServiceAccount, ConfigMap, Secret, Deployment, Service and the optional
/// HPA, PDB and NetworkPolicy of a frontend, backend or MCP server.
fn render_http_component(
    values: &Values,
    ctx: &RenderContext,
    component: ComponentName,
    c: &Component,
) -> Vec<Manifest> {
    let version = &c.image.tag;
    let env = config::component_env(values, ctx, component);
    let secret_name = secret_name(values, ctx, component);
    let mut objects = vec![
        Manifest::ServiceAccount(workloads::service_account(ctx, component, version)),
        Manifest::ConfigMap(config::config_map(ctx, component, version, &env)),
    ];
    if values.secrets.existing_secret.is_empty() {
        objects.push(Manifest::Secret(config::secret(
            ctx, component, version, &env,
        )));
    }
    let autoscaled = values.autoscaling.enabled;
    objects.push(Manifest::Deployment(workloads::deployment(
        ctx,
        workloads::DeploymentInput {
            component,
            values: c,
            replicas: (!autoscaled).then_some(c.replicas),
            pull_policy: values.image_pull_policy.as_str(),
            checksum: env.checksum(!values.secrets.existing_secret.is_empty()),
            secret: Some(secret_name),
            scratch: workloads::scratch_dirs(component),
        },
    )));
    objects.push(Manifest::Service(workloads::service(
        ctx, values, component, c,
    )));
    if autoscaled {
        objects.push(Manifest::HorizontalPodAutoscaler(scaling::autoscaler(
            values, ctx, component, c,
        )));
    }
    if let Some(pdb) = scaling::disruption_budget(values, ctx, component, c) {
        objects.push(Manifest::PodDisruptionBudget(pdb));
    }
    if values.network_policy.enabled {
        objects.push(Manifest::NetworkPolicy(network_policy::component_policy(
            values, ctx, component,
        )));
    }
    objects
}

fn render_database(values: &Values, ctx: &RenderContext) -> Vec<Manifest> {
    let component = ComponentName::Database;
    let version = &values.database.internal.image.tag;
    let env = config::component_env(values, ctx, component);
    let existing = !values.secrets.existing_secret.is_empty();
    let mut objects = vec![
        Manifest::ServiceAccount(workloads::service_account(ctx, component, version)),
        Manifest::ConfigMap(config::config_map(ctx, component, version, &env)),
    ];
    if !existing {
        objects.push(Manifest::Secret(config::secret(
            ctx, component, version, &env,
        )));
    }
    let secret = secret_name(values, ctx, component);
    objects.push(Manifest::StatefulSet(postgres::stateful_set(
        values,
        ctx,
        env.checksum(existing),
        Some(&secret),
    )));
    objects.push(Manifest::Service(postgres::headless_service(values, ctx)));
    if values.network_policy.enabled {
        objects.push(Manifest::NetworkPolicy(network_policy::component_policy(
            values, ctx, component,
        )));
    }
    objects
}

/// The component's own Secret, or the existing one named in the values.
fn secret_name(values: &Values, ctx: &RenderContext, component: ComponentName) -> String {
    match values.secrets.existing_secret.as_str() {
        "" => ctx.name(component),
        existing => existing.to_string(),
    }
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
