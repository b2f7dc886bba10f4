//! Where a generated secret's raw value lives in the rendered objects, so a
//! redeploy can read it back from the cluster instead of generating a new one
//! (which would roll every pod and, for a database password, lock the app out).

use super::config::DATABASE_PASSWORD_KEY;
use super::context::RenderContext;
use crate::values::{DatabaseMode, DatabasePart, Reference, Values};

/// One generated secret and the places (Secret object name, data key) that
/// hold its raw value, in the order to try them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedSecret {
    pub secret: String,
    pub places: Vec<(String, String)>,
}

/// Every used secret with `generate`, with where berth renders it verbatim.
pub fn generated_secret_places(values: &Values, ctx: &RenderContext) -> Vec<GeneratedSecret> {
    let internal = values.database.mode == DatabaseMode::Internal;
    values
        .used_secrets()
        .into_iter()
        .filter(|name| {
            values
                .secrets
                .get(*name)
                .is_some_and(|s| s.generate.is_some())
        })
        .map(|name| {
            let mut places = Vec::new();
            for (component, c) in values.enabled_components() {
                if c.existing_secret.is_some() {
                    continue;
                }
                for (key, reference) in c.references() {
                    let verbatim = match reference {
                        Reference::Secret(s) => s == name,
                        Reference::Database {
                            part: DatabasePart::Password,
                            ..
                        } => internal && values.database.password_secret == name,
                        _ => false,
                    };
                    if verbatim {
                        places.push((ctx.name(component), key.clone()));
                    }
                }
            }
            if internal && values.database.password_secret == name {
                places.push((ctx.database_name(), DATABASE_PASSWORD_KEY.to_string()));
            }
            GeneratedSecret {
                secret: name.to_string(),
                places,
            }
        })
        .filter(|g| !g.places.is_empty())
        .collect()
}

/// Keys of the certificate and private key in the database's TLS Secret
/// (a `kubernetes.io/tls` Secret's own keys).
pub const TLS_CERT_KEY: &str = "tls.crt";
pub const TLS_KEY_KEY: &str = "tls.key";

/// The Secret that holds the in-cluster database's TLS certificate and key,
/// when it serves TLS.
pub fn database_tls_secret(values: &Values, ctx: &RenderContext) -> Option<String> {
    values
        .database_tls_used()
        .then(|| format!("{}-tls", ctx.database_name()))
}
