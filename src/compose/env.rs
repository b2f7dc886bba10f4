//! A component's environment for Compose: plain values as written, references
//! resolved to Compose service names, and secrets (or anything made from one)
//! as `${NAME}` interpolations of variables the `.env` file defines.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::DATABASE_SERVICE;
use crate::manifests::database_url::DriverForm;
use crate::values::{
    Component, DatabaseMode, DatabasePart, Driver, EnvValue, Reference, ReleasePart, Values,
};

/// A variable the `.env` file must define, and what goes there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVariable {
    pub name: String,
    pub comment: String,
}

/// The variables read so far, by name (one entry however many services read it).
#[derive(Default)]
pub(super) struct Variables(BTreeMap<String, EnvVariable>);

impl Variables {
    fn add(&mut self, name: &str, comment: String) {
        self.0
            .entry(name.to_string())
            .or_insert_with(|| EnvVariable {
                name: name.to_string(),
                comment,
            });
    }

    /// `${VAR}` for a declared secret: Compose stops with the message when a
    /// required or generated one is empty; an optional one may stay empty.
    pub(super) fn secret(&mut self, values: &Values, secret: &str) -> String {
        let spec = values.secrets.get(secret);
        let name = spec
            .and_then(|s| s.from_env.clone())
            .unwrap_or_else(|| screaming_snake(secret));
        let description = spec
            .map(|s| s.description.as_str())
            .filter(|d| !d.is_empty())
            .map(|d| format!("{d}. "))
            .unwrap_or_default();
        let (comment, needed) = match spec {
            Some(s) if s.generate.is_some() => (
                format!(
                    "secret `{secret}`: {description}Required; berth generates it on Kubernetes, here make one (openssl rand -hex {})",
                    s.generate.as_ref().map_or(32, |g| g.length / 2)
                ),
                true,
            ),
            Some(s) if s.required => (format!("secret `{secret}`: {description}Required."), true),
            _ => (
                format!("secret `{secret}`: {description}Optional; may stay empty."),
                false,
            ),
        };
        self.add(&name, comment);
        if needed {
            format!("${{{name}:?set {name} in .env}}")
        } else {
            format!("${{{name}:-}}")
        }
    }

    pub(super) fn into_list(self) -> Vec<EnvVariable> {
        self.0.into_values().collect()
    }
}

/// `authSecret` → `AUTH_SECRET`, for a secret that names no variable.
fn screaming_snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(if c == '-' {
            '_'
        } else {
            c.to_ascii_uppercase()
        });
    }
    out
}

/// What resolving needs besides the component.
pub(super) struct EnvContext<'a> {
    pub values: &'a Values,
    pub project: &'a str,
    /// The published port of the component routed at `/` (the browser's origin).
    pub entry_port: Option<u16>,
}

/// The component's `environment:` map.
pub(super) fn environment(
    ctx: &EnvContext,
    c: &Component,
    variables: &mut Variables,
) -> Map<String, Value> {
    c.env
        .iter()
        .map(|(key, value)| (key.clone(), json!(resolve(ctx, value, variables))))
        .collect()
}

/// Interpolation turns `$` into a variable: plain text keeps its own as `$$`.
fn literal(text: &str) -> String {
    text.replace('$', "$$")
}

fn resolve(ctx: &EnvContext, value: &EnvValue, variables: &mut Variables) -> String {
    let values = ctx.values;
    let reference = match value {
        EnvValue::Plain(text) => return literal(text),
        EnvValue::Ref(r) => r.reference().expect("validated references resolve"),
    };
    match reference {
        Reference::Secret(name) => variables.secret(values, name),
        Reference::UrlOf { component, path } => {
            let port = values.components[component]
                .port
                .expect("validated: has a port");
            literal(&format!("http://{component}:{port}{path}"))
        }
        Reference::ExternalUrl(path) => {
            let origin = match ctx.entry_port {
                Some(port) => format!("http://localhost:{port}"),
                None => "http://localhost".to_string(),
            };
            literal(&format!(
                "{origin}{}",
                path.strip_suffix('/').unwrap_or(path)
            ))
        }
        Reference::Release(ReleasePart::Name) => literal(ctx.project),
        Reference::Release(ReleasePart::Namespace) => literal(&values.namespace.name),
        Reference::Database { part, driver } => database(values, part, driver, variables),
    }
}

fn database(
    values: &Values,
    part: DatabasePart,
    driver: Driver,
    variables: &mut Variables,
) -> String {
    let db = &values.database;
    match db.mode {
        DatabaseMode::Internal => match part {
            // Generated passwords are letters and digits: no URL encoding needed.
            DatabasePart::Url => format!(
                "{}://{}:{}@{DATABASE_SERVICE}:{}/{}",
                driver.scheme(),
                literal(&db.user),
                variables.secret(values, &db.password_secret),
                db.internal.port,
                literal(&db.name)
            ),
            DatabasePart::Password => variables.secret(values, &db.password_secret),
            DatabasePart::Host => DATABASE_SERVICE.to_string(),
            DatabasePart::Port => db.internal.port.to_string(),
            DatabasePart::User => literal(&db.user),
            DatabasePart::Name => literal(&db.name),
        },
        // berth derives these from the URL secret; Compose cannot, so each
        // form is a variable of its own beside the URL's.
        DatabaseMode::External => {
            let secret = &db.external.url_secret;
            let url = variables.secret(values, secret);
            let form = match (part, driver) {
                (DatabasePart::Url, Driver::Postgres) => return url,
                (DatabasePart::Url, driver) => format!("{driver:?}"),
                (part, _) => format!("{part:?}"),
            }
            .to_ascii_uppercase();
            let base = values
                .secrets
                .get(secret)
                .and_then(|s| s.from_env.clone())
                .unwrap_or_else(|| screaming_snake(secret));
            let name = format!("{base}_{form}");
            let what = match part {
                DatabasePart::Url => format!(
                    "the same URL in the form {}://…?{}=require",
                    driver.scheme(),
                    driver.tls_param()
                ),
                other => format!("the {other:?} part of that URL").to_lowercase(),
            };
            variables.add(
                &name,
                format!("database: {what} (berth derives it from {base})"),
            );
            format!("${{{name}:?set {name} in .env}}")
        }
        DatabaseMode::None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_become_variables() {
        assert_eq!(screaming_snake("authSecret"), "AUTH_SECRET");
        assert_eq!(screaming_snake("db-url"), "DB_URL");
    }

    #[test]
    fn dollars_in_plain_text_stay_literal() {
        assert_eq!(literal("a$b"), "a$$b");
    }
}
