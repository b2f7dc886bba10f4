//! Environment values: plain text or a reference resolved at render time.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An environment value: a plain string (numbers and booleans are written as
/// text), or a reference resolved at render time.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum EnvValue {
    Plain(String),
    Ref(EnvRef),
}

/// What an env value may be written as.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)] // only its schema is used
pub(super) enum EnvValueSchema {
    Text(String),
    Number(f64),
    Bool(bool),
    Ref(EnvRef),
}

impl<'de> Deserialize<'de> for EnvValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let raw = serde_json::Value::deserialize(deserializer)?;
        match raw {
            serde_json::Value::String(s) => Ok(EnvValue::Plain(s)),
            serde_json::Value::Number(n) => Ok(EnvValue::Plain(n.to_string())),
            serde_json::Value::Bool(b) => Ok(EnvValue::Plain(b.to_string())),
            serde_json::Value::Object(_) => serde_json::from_value(raw)
                .map(EnvValue::Ref)
                .map_err(|e| D::Error::custom(e.to_string())),
            other => Err(D::Error::custom(format!(
                "invalid type: {}, expected a string or a reference such as {{secret: NAME}}",
                match other {
                    serde_json::Value::Null => "null",
                    _ => "a list",
                }
            ))),
        }
    }
}

/// A reference: exactly one of `secret`, `urlOf`, `externalUrl`, `database`, `release`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvRef {
    /// The value of a secret in `secrets`.
    pub secret: Option<String>,
    /// In-cluster URL of a component: `http://<release>-<name>:<port><path>`.
    pub url_of: Option<String>,
    /// Path appended to `urlOf` (e.g. `/mcp`).
    pub path: Option<String>,
    /// The URL the browser uses, with this path (`/` gives the bare origin).
    pub external_url: Option<String>,
    /// A part of the database connection.
    pub database: Option<DatabasePart>,
    /// URL form for `database: url` (absent: postgres).
    pub driver: Option<Driver>,
    /// The release's name or namespace.
    pub release: Option<ReleasePart>,
}

/// A resolved reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference<'a> {
    Secret(&'a str),
    UrlOf { component: &'a str, path: &'a str },
    ExternalUrl(&'a str),
    Database { part: DatabasePart, driver: Driver },
    Release(ReleasePart),
}

impl EnvRef {
    /// The reference, when exactly one kind is given with only its own options.
    pub fn reference(&self) -> Option<Reference<'_>> {
        let kinds = usize::from(self.secret.is_some())
            + usize::from(self.url_of.is_some())
            + usize::from(self.external_url.is_some())
            + usize::from(self.database.is_some())
            + usize::from(self.release.is_some());
        if kinds != 1
            || (self.path.is_some() && self.url_of.is_none())
            || (self.driver.is_some() && self.database != Some(DatabasePart::Url))
        {
            return None;
        }
        Some(if let Some(name) = &self.secret {
            Reference::Secret(name)
        } else if let Some(component) = &self.url_of {
            Reference::UrlOf {
                component,
                path: self.path.as_deref().unwrap_or(""),
            }
        } else if let Some(path) = &self.external_url {
            Reference::ExternalUrl(path)
        } else if let Some(part) = self.database {
            Reference::Database {
                part,
                driver: self.driver.unwrap_or_default(),
            }
        } else {
            Reference::Release(self.release.expect("one kind is set"))
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum DatabasePart {
    /// The whole connection URL, in the form `driver` wants.
    Url,
    Host,
    Port,
    User,
    /// The database's name.
    Name,
    Password,
}

/// The URL form a client library wants.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Driver {
    /// `postgresql://…?sslmode=require` (libpq, node-postgres, Prisma, Drizzle).
    #[default]
    Postgres,
    /// `postgresql+asyncpg://…?ssl=require` (SQLAlchemy with asyncpg).
    Asyncpg,
    /// `postgresql+psycopg://…?sslmode=require` (SQLAlchemy with psycopg 3).
    Psycopg,
    /// `postgresql+psycopg2://…?sslmode=require`.
    Psycopg2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ReleasePart {
    Name,
    Namespace,
}
