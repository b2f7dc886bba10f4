//! From values to what the engine applies: reuse the generated secrets the
//! release already has, render, and turn the render into engine objects and
//! a revision record.

use crate::apply::{self, ApplyError, Desired, Release, RevisionContent};
use crate::manifests::{self, ComponentName, Manifest, RenderContext};
use crate::values::Values;

/// A render ready to apply.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub release: Release,
    pub objects: Vec<Desired>,
    pub revision: RevisionContent,
}

/// Renders with generated secrets taken from the live release when the user
/// did not supply them, so an unchanged redeploy stays a no-op.
pub async fn prepare(
    client: &kube::Client,
    mut values: Values,
    ctx: &RenderContext,
) -> Result<Prepared, ApplyError> {
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
    RevisionContent::new(
        &apply::from_manifests(&redacted),
        serde_json::to_value(values.without_secrets()).expect("values serialize"),
    )
}

/// Where each generated secret already lives: the Secrets and their key.
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
    client: &kube::Client,
    values: &mut Values,
    ctx: &RenderContext,
) -> Result<(), ApplyError> {
    let missing: Vec<_> = generated_sources(ctx)
        .into_iter()
        .filter(|(key, _, _)| values.secrets.get(key).is_empty())
        .collect();
    let wanted: Vec<(String, String)> = missing
        .iter()
        .flat_map(|(_, names, data_key)| names.iter().map(|n| (n.clone(), data_key.to_string())))
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let live = apply::read_secret_keys(client, &ctx.namespace, &wanted).await?;
    for (key, names, data_key) in missing {
        let found = names
            .iter()
            .find_map(|name| live.get(&(name.clone(), data_key.to_string())));
        if let Some(value) = found {
            values.secrets.set(key, value.clone());
        }
    }
    Ok(())
}
