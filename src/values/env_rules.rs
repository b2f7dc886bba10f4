//! Rules for a component's environment: names, references that must resolve,
//! and plain values that look like credentials (they belong in `secrets`).

use super::error::Problem;
use super::model::{Component, DatabaseMode, EnvRef, EnvValue, Reference, Values};
use super::validate::{check_path, is_env_name};

/// Every problem with one component's `env`.
pub fn check_env(values: &Values, component: &str, c: &Component) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (key, value) in &c.env {
        let at = format!("components.{component}.env.{key}");
        if !is_env_name(key) {
            problems.push(Problem::new(
                at.clone(),
                "is not a valid environment variable name; allowed: letters, digits and `_`, not starting with a digit",
            ));
        }
        match value {
            EnvValue::Plain(text) => problems.extend(credential_problem(&at, key, text)),
            EnvValue::Ref(reference) => problems.extend(reference_problems(values, &at, reference)),
        }
    }
    problems
}

/// Whether an env name says it holds a credential (the rule `berth init` also classifies by:
/// [`super::env_names::credential`]).
pub fn looks_like_credential_name(key: &str) -> bool {
    super::env_names::credential(key, None).is_some()
}

fn credential_problem(at: &str, key: &str, text: &str) -> Option<Problem> {
    if text.is_empty() {
        return None;
    }
    let url_with_password = url::Url::parse(text).is_ok_and(|u| u.password().is_some());
    let why = if url_with_password {
        "is a URL with a password"
    } else if super::env_names::credential(key, Some(text)).is_some() {
        "looks like a credential"
    } else {
        return None;
    };
    // The value is never echoed: it may be the secret itself.
    Some(
        Problem::new(at, format!("{why}; plain env values land in a ConfigMap and the revision record"))
            .with_hint(format!(
                "declare it under `secrets:` (e.g. secrets.myKey: {{fromEnv: {key}}}) and write {key}: {{secret: myKey}}; for a database URL use {{database: url}}"
            )),
    )
}

fn reference_problems(values: &Values, at: &str, reference: &EnvRef) -> Vec<Problem> {
    let Some(resolved) = reference.reference() else {
        return vec![Problem::new(
            at,
            "is not a reference; allowed: exactly one of {secret: NAME}, {urlOf: COMPONENT, path: /p}, {externalUrl: /p}, {database: url|host|port|user|name|password, driver: …}, {release: name|namespace}",
        )];
    };
    let mut problems = Vec::new();
    match resolved {
        Reference::Secret(name) if !values.secrets.contains_key(name) => problems.push(
            Problem::new(
                format!("{at}.secret"),
                format!("names the secret `{name}`, which is not declared"),
            )
            .with_hint(suggest(name, values.secrets.keys(), "secrets")),
        ),
        Reference::UrlOf { component, path } => {
            match values.components.get(component) {
                None => problems.push(
                    Problem::new(
                        format!("{at}.urlOf"),
                        format!("names the component `{component}`, which is not declared"),
                    )
                    .with_hint(suggest(
                        component,
                        values.components.keys(),
                        "components",
                    )),
                ),
                Some(target) if target.port.is_none() => problems.push(Problem::new(
                    format!("{at}.urlOf"),
                    format!("names `{component}`, a worker without a port; it has no URL"),
                )),
                Some(_) => {}
            }
            if !path.is_empty() {
                check_path(&mut problems, &format!("{at}.path"), path);
            }
        }
        Reference::ExternalUrl(path) => {
            check_path(&mut problems, &format!("{at}.externalUrl"), path)
        }
        Reference::Database { .. } if values.database.mode == DatabaseMode::None => problems.push(
            Problem::new(
                format!("{at}.database"),
                "refers to the database, but database.mode is none",
            )
            .with_hint("set database.mode to internal or external"),
        ),
        _ => {}
    }
    problems
}

/// "did you mean" for a misspelt name, else the declared names.
pub fn suggest<'a>(name: &str, known: impl Iterator<Item = &'a String>, what: &str) -> String {
    let known: Vec<&String> = known.collect();
    let nearest = known
        .iter()
        .map(|k| {
            (
                strsim::levenshtein(&name.to_lowercase(), &k.to_lowercase()),
                k,
            )
        })
        .filter(|(d, k)| *d <= (k.len().max(name.len()) / 3).max(2))
        .min_by_key(|(d, _)| *d);
    match nearest {
        Some((_, k)) => format!("did you mean `{k}`?"),
        None if known.is_empty() => format!("no {what} are declared"),
        None => format!(
            "declared {what}: {}",
            known
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_names_and_urls_are_recognised() {
        for name in [
            "AUTH_SECRET",
            "OPENAI_API_KEY",
            "GH_TOKEN",
            "DB_PASSWORD",
            "PASSWORD_FILE",
            "secret",
        ] {
            assert!(looks_like_credential_name(name), "{name}");
        }
        for name in ["PORT", "KEYCLOAK_REALM", "LOG_LEVEL", "SECRETARY"] {
            assert!(!looks_like_credential_name(name), "{name}");
        }
        // The browser-visible key init writes as config is accepted as config.
        assert!(credential_problem("x", "NEXT_PUBLIC_MAPS_KEY", "pk_example").is_none());
        assert!(credential_problem("x", "ACCESS_TOKEN_EXPIRE_DAYS", "7").is_none());
        assert!(credential_problem("x", "CORS_CREDENTIALS", "true").is_none());
        assert!(credential_problem("x", "GOOGLE_CLIENT_SECRET", "abc").is_some());
        let problem =
            credential_problem("x", "DATABASE_URL", "postgresql://u:hunter2@h/db").unwrap();
        assert!(!problem.to_string().contains("hunter2"));
        assert!(credential_problem("x", "APP_URL", "http://localhost:3000").is_none());
        assert!(credential_problem("x", "AUTH_SECRET", "").is_none());
    }
}
