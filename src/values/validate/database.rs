//! Rules on the database: its mode's secrets, and the form of a PostgreSQL URL.

use super::formats::*;
use crate::values::error::Problem;
use crate::values::model::{DatabaseMode, Values};
use crate::values::quantity::parse_quantity;

pub(super) fn check_database(problems: &mut Vec<Problem>, values: &Values) {
    let db = &values.database;
    let declared = |problems: &mut Vec<Problem>, key: &str, secret: &str| {
        if !values.secrets.contains_key(secret) {
            problems.push(
                Problem::new(
                    key,
                    format!("names the secret `{secret}`, which is not declared"),
                )
                .with_hint(format!(
                    "declare secrets.{secret} (with fromEnv, and generate for a password)"
                )),
            );
        }
    };
    match db.mode {
        DatabaseMode::Internal => {
            declared(problems, "database.passwordSecret", &db.password_secret);
            let internal = &db.internal;
            check_image(
                problems,
                "database.internal",
                &internal.image.repository,
                &internal.image.tag,
            );
            check_port(problems, "database.internal.port", internal.port);
            check_user(
                problems,
                "database.internal.runAsUser",
                internal.run_as_user,
            );
            check_resources(problems, "database.internal.resources", &internal.resources);
            if parse_quantity(&internal.storage).is_none_or(|q| q <= 0.0) {
                problems.push(Problem::new(
                    "database.internal.storage",
                    format!(
                        "`{}` is not a positive quantity; allowed: e.g. 1Gi, 500Mi",
                        internal.storage
                    ),
                ));
            }
            for (key, value) in [("database.name", &db.name), ("database.user", &db.user)] {
                if !is_identifier(value) {
                    problems.push(Problem::new(
                        key,
                        format!("`{value}` is not allowed; use letters, digits and `_`, starting with a letter"),
                    ));
                }
            }
        }
        DatabaseMode::External => declared(
            problems,
            "database.external.urlSecret",
            &db.external.url_secret,
        ),
        DatabaseMode::None => {}
    }
}

/// Rules on secret values, checked once they are resolved (the external database URL).
pub fn validate_secret_values(values: &Values) -> Vec<Problem> {
    let db = &values.database;
    match values.secret_values.get(&db.external.url_secret) {
        Some(url) if db.mode == DatabaseMode::External => {
            check_database_url(url, &format!("secrets.{}", db.external.url_secret))
        }
        _ => Vec::new(),
    }
}

/// Checks scheme, driver and SSL parameter of a PostgreSQL URL. The URL holds a
/// password, so problems show it with the password masked.
pub fn check_database_url(raw: &str, key: &str) -> Vec<Problem> {
    let Ok(url) = url::Url::parse(raw) else {
        return vec![Problem::new(
            key,
            "is not a URL; allowed: postgresql://USER:PASSWORD@HOST/DB?sslmode=require",
        )];
    };
    let shown = masked_url(&url);
    let (base, driver) = url.scheme().split_once('+').unwrap_or((url.scheme(), ""));
    if !matches!(base, "postgresql" | "postgres") {
        return vec![Problem::new(
            key,
            format!(
                "`{shown}` has scheme `{}`; allowed: postgresql:// or postgresql+DRIVER://",
                url.scheme()
            ),
        )];
    }
    let has = |name: &str| url.query_pairs().any(|(k, _)| k == name);
    let mut problems = Vec::new();
    match driver {
        "asyncpg" if has("sslmode") => problems.push(
            Problem::new(key, format!("`{shown}` uses the asyncpg driver with `sslmode`, which asyncpg does not understand"))
                .with_hint("asyncpg wants `ssl=require`; libpq-style drivers want `sslmode=require`"),
        ),
        "" | "psycopg" | "psycopg2" | "pg8000" if has("ssl") => problems.push(
            Problem::new(key, format!("`{shown}` uses a libpq-style driver with `ssl`, which it does not understand"))
                .with_hint("libpq-style drivers want `sslmode=require`; asyncpg wants `ssl=require`"),
        ),
        "" | "psycopg" | "psycopg2" | "pg8000" | "asyncpg" => {}
        other => problems.push(Problem::new(
            key,
            format!("`{shown}` names driver `{other}`; allowed: psycopg, psycopg2, pg8000, asyncpg, or none"),
        )),
    }
    if url.host_str().is_none_or(str::is_empty) {
        problems.push(Problem::new(key, format!("`{shown}` has no host")));
    }
    problems
}

/// The URL with its password replaced, safe to print.
pub fn masked_url(url: &url::Url) -> String {
    let mut shown = url.clone();
    if shown.password().is_some() {
        let _ = shown.set_password(Some("****"));
    }
    shown.to_string()
}
