//! What deploy and diff share: load values, reuse the generated secrets the
//! release already has, render, and turn the render into engine objects.

use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::Api;

use super::render::render_context;
use super::{ReleaseArgs, ValuesArgs};
use crate::apply::{self, Desired, Release, revision::RevisionContent};
use crate::manifests::generated::generated_secret_places;
use crate::manifests::{self, Manifest, RenderContext};
use crate::values::{self, ProcessEnv, Values};

/// A render ready to apply.
pub struct Prepared {
    pub release: Release,
    pub objects: Vec<Desired>,
    pub revision: RevisionContent,
}

/// Loads and validates the values (no cluster needed).
pub fn load(
    values_args: &ValuesArgs,
    release_args: &ReleaseArgs,
) -> anyhow::Result<(Values, RenderContext)> {
    let values = values::load(&values_args.sources(), &ProcessEnv)?;
    let ctx = render_context(&values, release_args)?;
    Ok((values, ctx))
}

/// Renders with generated secrets taken from the live release when the user
/// did not supply them, so an unchanged redeploy stays a no-op.
pub async fn prepare(
    client: &Client,
    mut values: Values,
    ctx: &RenderContext,
) -> anyhow::Result<Prepared> {
    check_existing_secrets(client, &values, ctx).await?;
    reuse_generated_secrets(client, &mut values, ctx).await?;
    values.fill_generated();
    let manifests = manifests::render(&values, ctx);
    Ok(Prepared {
        release: Release::new(&ctx.release, &ctx.namespace),
        objects: apply::from_manifests(&manifests),
        revision: revision_content(&manifests, &values),
    })
}

/// The revision's record: objects with Secret values redacted, values without secrets.
pub fn revision_content(manifests: &[Manifest], values: &Values) -> RevisionContent {
    let mut redacted = manifests.to_vec();
    manifests::redact_secrets(&mut redacted);
    RevisionContent {
        manifests: objects_json(&apply::from_manifests(&redacted)),
        values: serde_json::to_value(values.without_secrets()).expect("values serialize"),
    }
}

/// `[{stage, object}]`: how revisions store objects.
pub fn objects_json(objects: &[Desired]) -> serde_json::Value {
    objects
        .iter()
        .map(|d| serde_json::json!({"stage": d.key.stage, "object": d.object}))
        .collect()
}

/// The inverse of [`objects_json`].
pub fn objects_from_json(value: &serde_json::Value) -> Vec<Desired> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| {
            let stage = item["stage"].as_u64()? as u8;
            Desired::from_json(item["object"].clone(), stage)
        })
        .collect()
}

/// Fills generated secrets the user did not supply from the live Secrets that
/// hold them (which ones is the manifests' answer; this only reads).
async fn reuse_generated_secrets(
    client: &Client,
    values: &mut Values,
    ctx: &RenderContext,
) -> anyhow::Result<()> {
    let api: Api<Secret> = Api::namespaced(client.clone(), &ctx.namespace);
    for generated in generated_secret_places(values, ctx) {
        if values.secret_values.get(&generated.secret).is_some() {
            continue;
        }
        for (name, data_key) in generated.places {
            let live = api.get_opt(&name).await.map_err(|e| {
                apply::ApplyError::api("get", format!("Secret {}/{name}", ctx.namespace), e)
            })?;
            let value = live
                .and_then(|s| s.data)
                .and_then(|d| d.get(&data_key).cloned())
                .and_then(|b| String::from_utf8(b.0).ok());
            if let Some(value) = value.filter(|v| !v.is_empty()) {
                values.secret_values.set(&generated.secret, value);
                break;
            }
        }
    }
    Ok(())
}

/// Refuses to deploy when a component's `existingSecret` does not exist: the
/// pods would never start, and nothing is written before this check.
pub async fn check_existing_secrets(
    client: &Client,
    values: &Values,
    ctx: &RenderContext,
) -> anyhow::Result<()> {
    let api: Api<Secret> = Api::namespaced(client.clone(), &ctx.namespace);
    let mut missing = Vec::new();
    for (component, name) in values.existing_secrets() {
        let found = api.get_opt(name).await.map_err(|e| {
            apply::ApplyError::api("get", format!("Secret {}/{name}", ctx.namespace), e)
        })?;
        if found.is_none() {
            missing.push(
                values::Problem::new(
                    format!("components.{component}.existingSecret"),
                    format!("names the Secret `{name}`, which does not exist in namespace {}", ctx.namespace),
                )
                .with_hint(format!("create it first (kubectl create secret generic {name} -n {} --from-env-file=…), or remove existingSecret to let berth render one", ctx.namespace)),
            );
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(values::ValuesError::invalid(missing).into())
    }
}
