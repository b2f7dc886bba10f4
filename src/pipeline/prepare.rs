//! From values to what the engine applies: reuse the generated secrets the
//! release already has, render, and turn the render into engine objects and
//! a revision record.

use crate::apply::{self, ApplyError, Desired, Release, RevisionContent};
use crate::hint::Hint;
use crate::manifests::generated::{
    TLS_CERT_KEY, TLS_KEY_KEY, database_tls_secret, generated_secret_places,
};
use crate::manifests::{self, Manifest, RenderContext};
use crate::values::{self, Values};

/// Why a render could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// The values name something the cluster lacks (exit 2: bad input).
    #[error(transparent)]
    Values(#[from] values::ValuesError),
    #[error(transparent)]
    Apply(#[from] ApplyError),
}

impl Hint for PrepareError {
    fn hint(&self) -> Option<String> {
        match self {
            PrepareError::Values(_) => None,
            PrepareError::Apply(err) => err.hint(),
        }
    }
}

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
) -> Result<Prepared, PrepareError> {
    check_existing_secrets(client, &values, ctx).await?;
    reuse_generated_secrets(client, &mut values, ctx).await?;
    reuse_database_tls(client, &mut values, ctx).await?;
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
    RevisionContent::new(
        &apply::from_manifests(&redacted),
        serde_json::to_value(values.without_secrets()).expect("values serialize"),
    )
}

/// Fills generated secrets the user did not supply from the live Secrets that
/// hold them (which ones is the manifests' answer; the engine only reads).
async fn reuse_generated_secrets(
    client: &kube::Client,
    values: &mut Values,
    ctx: &RenderContext,
) -> Result<(), ApplyError> {
    let missing: Vec<_> = generated_secret_places(values, ctx)
        .into_iter()
        .filter(|generated| values.secret_values.get(&generated.secret).is_none())
        .collect();
    let wanted: Vec<(String, String)> = missing
        .iter()
        .flat_map(|generated| generated.places.iter().cloned())
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let live = apply::read_secret_keys(client, &ctx.namespace, &wanted).await?;
    for generated in missing {
        if let Some(value) = generated.places.iter().find_map(|place| live.get(place)) {
            values.secret_values.set(&generated.secret, value.clone());
        }
    }
    Ok(())
}

/// Takes the database's TLS certificate and key from the release's live Secret
/// when it has both, so a redeploy keeps them (a new pair would roll the database).
async fn reuse_database_tls(
    client: &kube::Client,
    values: &mut Values,
    ctx: &RenderContext,
) -> Result<(), ApplyError> {
    let Some(secret) = database_tls_secret(values, ctx) else {
        return Ok(());
    };
    if values.database_tls.is_some() {
        return Ok(());
    }
    let place = |key: &str| (secret.clone(), key.to_string());
    let wanted = [place(TLS_CERT_KEY), place(TLS_KEY_KEY)];
    let live = apply::read_secret_keys(client, &ctx.namespace, &wanted).await?;
    if let (Some(cert), Some(key)) = (live.get(&wanted[0]), live.get(&wanted[1])) {
        values.database_tls = Some(values::tls::TlsPair {
            cert: cert.clone(),
            key: key.clone(),
        });
    }
    Ok(())
}

/// Refuses to deploy when a component's `existingSecret` does not exist: the
/// pods would never start, and nothing is written before this check.
async fn check_existing_secrets(
    client: &kube::Client,
    values: &Values,
    ctx: &RenderContext,
) -> Result<(), PrepareError> {
    let names: Vec<String> = values
        .existing_secrets()
        .into_iter()
        .map(|(_, name)| name.to_string())
        .collect();
    if names.is_empty() {
        return Ok(());
    }
    let present = apply::existing_secrets(client, &ctx.namespace, &names).await?;
    let missing: Vec<_> = values
        .existing_secrets()
        .into_iter()
        .filter(|(_, name)| !present.contains(*name))
        .map(|(component, name)| {
            values::Problem::new(
                format!("components.{component}.existingSecret"),
                format!(
                    "names the Secret `{name}`, which does not exist in namespace {}",
                    ctx.namespace
                ),
            )
            .with_hint(format!(
                "create it first (kubectl create secret generic {name} -n {} --from-env-file=…), or remove existingSecret to let berth render one",
                ctx.namespace
            ))
        })
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(values::ValuesError::invalid(missing).into())
    }
}
