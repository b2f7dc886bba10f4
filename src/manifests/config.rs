//! Each workload's environment, split into a ConfigMap (settings, URLs) and a
//! Secret (secret values and anything composed from one, such as a database
//! URL with its password). One pair per workload keeps secrets least-privilege
//! and lets a change roll only the pods that read it.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};

use super::context::{Identity, RenderContext};
use super::database_url::{external_part, internal_url};
use super::exposure::external_url_at;
use super::pod::checksum;
use super::workloads::metadata;
use crate::values::{
    Component, DatabaseMode, DatabasePart, Driver, EnvValue, Reference, ReleasePart, Values,
};

/// Shown instead of a secret value unless `--include-secrets` is given.
pub const REDACTED: &str = "<redacted>";

/// Mount point of the PostgreSQL volume; the data lives in a subdirectory so
/// the volume's `lost+found` does not upset `initdb`.
pub const POSTGRES_DATA_MOUNT: &str = "/var/lib/postgresql/data";
pub const POSTGRES_PGDATA: &str = "/var/lib/postgresql/data/pgdata";

/// The environment of one workload.
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

/// Where a resolved env value goes.
enum Resolved {
    Config(String),
    Secret(String),
    /// A secret value that is not available (optional and unset, or held by
    /// an existing Secret): the variable is left out.
    Absent,
}

/// The environment a component's pods get, every reference resolved.
pub fn component_env(values: &Values, ctx: &RenderContext, c: &Component) -> ComponentEnv {
    let mut env = ComponentEnv::default();
    let existing = c.existing_secret.is_some();
    for (key, value) in &c.env {
        match resolve(values, ctx, value, existing) {
            Resolved::Config(v) => {
                env.config.insert(key.clone(), v);
            }
            Resolved::Secret(v) => {
                env.secret.insert(key.clone(), v);
            }
            Resolved::Absent => {}
        }
    }
    env
}

fn resolve(values: &Values, ctx: &RenderContext, value: &EnvValue, existing: bool) -> Resolved {
    let reference = match value {
        EnvValue::Plain(text) => return Resolved::Config(text.clone()),
        EnvValue::Ref(r) => r.reference().expect("validated references resolve"),
    };
    let secret = |v: Option<String>| match v {
        Some(v) if !existing => Resolved::Secret(v),
        _ => Resolved::Absent,
    };
    match reference {
        Reference::Secret(name) => secret(values.secret_values.get(name).map(String::from)),
        Reference::UrlOf { component, path } => {
            let port = values.components[component]
                .port
                .expect("validated: has a port");
            Resolved::Config(service_url(ctx, component, port, path))
        }
        Reference::ExternalUrl(path) => Resolved::Config(external_url_at(values, path)),
        Reference::Release(ReleasePart::Name) => Resolved::Config(ctx.release.clone()),
        Reference::Release(ReleasePart::Namespace) => Resolved::Config(ctx.namespace.clone()),
        Reference::Database { part, driver } => match values.database.mode {
            DatabaseMode::Internal => internal_database(values, ctx, part, driver, existing),
            DatabaseMode::External => secret(
                values
                    .secret_values
                    .get(&values.database.external.url_secret)
                    .and_then(|url| external_part(url, part, driver)),
            ),
            DatabaseMode::None => Resolved::Absent,
        },
    }
}

/// The in-cluster database: the URL and password are secret, the rest is not.
fn internal_database(
    values: &Values,
    ctx: &RenderContext,
    part: DatabasePart,
    driver: Driver,
    existing: bool,
) -> Resolved {
    let db = &values.database;
    let password = values.secret_values.get(&db.password_secret);
    let secret = |v: Option<String>| match v {
        Some(v) if !existing => Resolved::Secret(v),
        _ => Resolved::Absent,
    };
    match part {
        DatabasePart::Url => secret(password.map(|pw| {
            internal_url(
                driver,
                &db.user,
                pw,
                &ctx.database_name(),
                db.internal.port,
                &db.name,
            )
        })),
        DatabasePart::Password => secret(password.map(String::from)),
        DatabasePart::Host => Resolved::Config(ctx.database_name()),
        DatabasePart::Port => Resolved::Config(db.internal.port.to_string()),
        DatabasePart::User => Resolved::Config(db.user.clone()),
        DatabasePart::Name => Resolved::Config(db.name.clone()),
    }
}

/// The in-cluster PostgreSQL's own environment (what its image reads).
pub fn database_env(values: &Values) -> ComponentEnv {
    let db = &values.database;
    let password = values
        .secret_values
        .get(&db.password_secret)
        .unwrap_or_default();
    ComponentEnv {
        config: BTreeMap::from([
            ("POSTGRES_DB".to_string(), db.name.clone()),
            ("POSTGRES_USER".to_string(), db.user.clone()),
            ("PGDATA".to_string(), POSTGRES_PGDATA.to_string()),
        ]),
        secret: BTreeMap::from([("POSTGRES_PASSWORD".to_string(), password.to_string())]),
    }
}

/// Key of the database password in the database's Secret.
pub const DATABASE_PASSWORD_KEY: &str = "POSTGRES_PASSWORD";

/// `http://<release>-<component>:<port><path>`: in-cluster, same namespace.
pub fn service_url(ctx: &RenderContext, component: &str, port: u16, path: &str) -> String {
    format!("http://{}:{port}{path}", ctx.name(component))
}

pub fn config_map(ctx: &RenderContext, who: &Identity, env: &ComponentEnv) -> ConfigMap {
    ConfigMap {
        metadata: metadata(ctx, who),
        data: Some(env.config.clone()),
        ..Default::default()
    }
}

pub fn secret(ctx: &RenderContext, who: &Identity, env: &ComponentEnv) -> Secret {
    Secret {
        metadata: metadata(ctx, who),
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
