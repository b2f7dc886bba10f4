//! Each component's environment, split into a ConfigMap (settings, internal URLs)
//! and a Secret (keys, auth secret, database credentials). One pair per
//! component keeps secrets least-privilege and lets a change roll only the pods
//! that read it.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};

use super::context::{ComponentName, RenderContext};
use super::exposure::external_url;
use super::pod::checksum;
use super::workloads::metadata;
use crate::values::{DatabaseMode, LlmProvider, Values};

/// Shown instead of a secret value unless `--include-secrets` is given.
pub const REDACTED: &str = "<redacted>";

/// Mount point of the PostgreSQL volume; the data lives in a subdirectory so
/// the volume's `lost+found` does not upset `initdb`.
pub const POSTGRES_DATA_MOUNT: &str = "/var/lib/postgresql/data";
pub const POSTGRES_PGDATA: &str = "/var/lib/postgresql/data/pgdata";

/// The environment of one component.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComponentEnv {
    pub config: BTreeMap<String, String>,
    pub secret: BTreeMap<String, String>,
}

impl ComponentEnv {
    /// Checksum of what the pods read; with an existing Secret only the ConfigMap is known.
    pub fn checksum(&self, existing_secret: bool) -> String {
        let secret = (!existing_secret).then_some(&self.secret);
        checksum(self.config.iter().chain(secret.into_iter().flatten()))
    }
}

fn map<const N: usize>(pairs: [(&str, String); N]) -> BTreeMap<String, String> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// The environment a component's pods get.
pub fn component_env(
    values: &Values,
    ctx: &RenderContext,
    component: ComponentName,
) -> ComponentEnv {
    let secrets = &values.secrets;
    let mut env = match component {
        ComponentName::Frontend => ComponentEnv {
            config: map([
                ("PORT", values.frontend.port.to_string()),
                ("HOSTNAME", "0.0.0.0".into()),
                (
                    "BACKEND_URL",
                    service_url(ctx, ComponentName::Backend, values.backend.port, ""),
                ),
                ("APP_URL", external_url(values)),
            ]),
            secret: map([("AUTH_SECRET", secrets.auth_secret.clone())]),
        },
        ComponentName::Backend => ComponentEnv {
            config: backend_config(values, ctx),
            secret: backend_secret(values, ctx),
        },
        ComponentName::Mcp => ComponentEnv {
            config: map([("PORT", values.mcp.port.to_string())]),
            secret: map([("DATABASE_URL", database_url(values, ctx))]),
        },
        ComponentName::Database => ComponentEnv {
            config: map([
                ("POSTGRES_DB", values.database.name.clone()),
                ("POSTGRES_USER", values.database.user.clone()),
                ("PGDATA", POSTGRES_PGDATA.into()),
            ]),
            secret: map([("POSTGRES_PASSWORD", secrets.postgres_password.clone())]),
        },
    };
    // User-supplied extras come last so they can override a default on purpose.
    let extras = match component {
        ComponentName::Frontend => &values.frontend.env,
        ComponentName::Backend => &values.backend.env,
        ComponentName::Mcp => &values.mcp.env,
        ComponentName::Database => return env,
    };
    env.config.extend(extras.clone());
    env
}

fn backend_config(values: &Values, ctx: &RenderContext) -> BTreeMap<String, String> {
    let mut config = map([
        ("PORT", values.backend.port.to_string()),
        (
            "MCP_SERVER_URL",
            service_url(ctx, ComponentName::Mcp, values.mcp.port, &values.mcp.path),
        ),
        ("LLM_PROVIDER", values.llm.provider.as_str().to_string()),
    ]);
    if !values.llm.model.is_empty() {
        config.insert("LLM_MODEL".into(), values.llm.model.clone());
    }
    if !values.llm.base_url.is_empty() {
        config.insert("OPENAI_BASE_URL".into(), values.llm.base_url.clone());
    }
    config
}

fn backend_secret(values: &Values, ctx: &RenderContext) -> BTreeMap<String, String> {
    let secrets = &values.secrets;
    let mut secret = map([
        ("AUTH_SECRET", secrets.auth_secret.clone()),
        ("DATABASE_URL", database_url(values, ctx)),
    ]);
    // Only the key of the chosen provider: the others are not this release's to hold.
    match values.llm.provider {
        LlmProvider::Openai => {
            secret.insert("OPENAI_API_KEY".into(), secrets.openai_api_key.clone());
        }
        LlmProvider::Gemini => {
            secret.insert("GEMINI_API_KEY".into(), secrets.gemini_api_key.clone());
        }
        LlmProvider::None => {}
    }
    secret
}

/// `http://<release>-<component>:<port><path>`: in-cluster, same namespace.
pub fn service_url(ctx: &RenderContext, component: ComponentName, port: u16, path: &str) -> String {
    format!("http://{}:{port}{path}", ctx.name(component))
}

/// The database URL the backend and MCP server use.
pub fn database_url(values: &Values, ctx: &RenderContext) -> String {
    match values.database.mode {
        DatabaseMode::External => values.secrets.database_url.clone(),
        DatabaseMode::Internal => format!(
            "postgresql://{}:{}@{}:{}/{}",
            values.database.user,
            url_encode(&values.secrets.postgres_password),
            ctx.name(ComponentName::Database),
            values.database.internal.port,
            values.database.name
        ),
    }
}

/// Percent-encodes everything but unreserved characters (RFC 3986), as a URL's
/// userinfo needs; Helm's `urlquery` encodes the same set.
fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn config_map(
    ctx: &RenderContext,
    component: ComponentName,
    version: &str,
    env: &ComponentEnv,
) -> ConfigMap {
    ConfigMap {
        metadata: metadata(ctx, component, version),
        data: Some(env.config.clone()),
        ..Default::default()
    }
}

pub fn secret(
    ctx: &RenderContext,
    component: ComponentName,
    version: &str,
    env: &ComponentEnv,
) -> Secret {
    Secret {
        metadata: metadata(ctx, component, version),
        type_: Some("Opaque".into()),
        data: Some(
            env.secret
                .iter()
                .map(|(k, v)| (k.clone(), ByteString(v.as_bytes().to_vec())))
                .collect(),
        ),
        ..Default::default()
    }
}

/// Replaces a Secret's values with a visible placeholder (as `stringData`, so
/// the object stays valid).
pub fn redact(secret: &mut Secret) {
    let keys: Vec<String> = secret
        .data
        .take()
        .unwrap_or_default()
        .into_keys()
        .chain(secret.string_data.take().unwrap_or_default().into_keys())
        .collect();
    secret.string_data = Some(
        keys.into_iter()
            .map(|k| (k, REDACTED.to_string()))
            .collect(),
    );
}

#[cfg(test)]
mod tests {
    use super::url_encode;

    #[test]
    fn url_encoding_keeps_unreserved_only() {
        assert_eq!(url_encode("aZ0-._~"), "aZ0-._~");
        assert_eq!(url_encode("p@ss:w/rd ü"), "p%40ss%3Aw%2Frd%20%C3%BC");
    }
}
