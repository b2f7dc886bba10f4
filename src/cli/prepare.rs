//! What deploy and diff share: load values, reuse the generated secrets the
//! release already has, render, and turn the render into engine objects.

use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::Api;

use super::render::render_context;
use super::{ReleaseArgs, ValuesArgs};
use crate::apply::{self, Desired, Release, revision::RevisionContent};
use crate::manifests::{self, ComponentName, Manifest, RenderContext};
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
    reuse_generated_secrets(client, &mut values, ctx).await?;
    values.secrets.fill_generated();
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

/// Where each generated secret already lives: the Secret and its key.
fn generated_sources(ctx: &RenderContext) -> [(&'static str, Vec<String>, &'static str); 2] {
    [
        (
            "authSecret",
            vec![
                ctx.name(ComponentName::Frontend),
                ctx.name(ComponentName::Backend),
            ],
            "AUTH_SECRET",
        ),
        (
            "postgresPassword",
            vec![ctx.name(ComponentName::Database)],
            "POSTGRES_PASSWORD",
        ),
    ]
}

async fn reuse_generated_secrets(
    client: &Client,
    values: &mut Values,
    ctx: &RenderContext,
) -> anyhow::Result<()> {
    let api: Api<Secret> = Api::namespaced(client.clone(), &ctx.namespace);
    for (key, names, data_key) in generated_sources(ctx) {
        if !values.secrets.get(key).is_empty() {
            continue;
        }
        for name in names {
            let live = api.get_opt(&name).await.map_err(|e| {
                apply::ApplyError::api("get", format!("Secret {}/{name}", ctx.namespace), e)
            })?;
            let value = live
                .and_then(|s| s.data)
                .and_then(|d| d.get(data_key).cloned())
                .and_then(|b| String::from_utf8(b.0).ok());
            if let Some(value) = value.filter(|v| !v.is_empty()) {
                values.secrets.set(key, value);
                break;
            }
        }
    }
    Ok(())
}
