//! The database: in-cluster PostgreSQL, an external one, or none.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::resources::{QuantitySchema, quantity_text};
use super::{Image, Resources};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum DatabaseMode {
    /// PostgreSQL as a StatefulSet with a PersistentVolumeClaim.
    Internal,
    /// An existing PostgreSQL (e.g. Neon); its URL is the secret `external.urlSecret`.
    External,
    /// No database.
    None,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Database {
    pub mode: DatabaseMode,
    /// Database name (internal mode).
    pub name: String,
    /// Database user (internal mode).
    pub user: String,
    /// The secret holding the internal database's password (give it `generate`).
    pub password_secret: String,
    pub internal: InternalDatabase,
    pub external: ExternalDatabase,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InternalDatabase {
    pub image: Image,
    pub port: u16,
    /// Size of the data volume, e.g. `1Gi`.
    #[serde(deserialize_with = "quantity_text")]
    #[schemars(with = "QuantitySchema")]
    pub storage: String,
    /// StorageClass of the data volume; empty uses the cluster default.
    pub storage_class: String,
    pub run_as_user: i64,
    pub resources: Resources,
    /// Serve TLS (for clients that ask `sslmode=require`, as code written for
    /// Neon does) with a self-signed certificate generated once per release and
    /// kept in the Secret `<release>-postgres-tls`. Encryption in transit inside
    /// the cluster, not server authentication: nothing can verify that certificate.
    #[serde(default)]
    pub tls: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExternalDatabase {
    /// The secret holding the URL, `postgresql://USER:PASSWORD@HOST[:PORT]/DB?sslmode=require`.
    pub url_secret: String,
}
