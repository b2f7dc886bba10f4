//! Classifying an environment variable by its name (and, for URLs, its example value).
//!
//! The rule (also in the README's "berth init" section):
//! - **browser-visible** first: a name starting with `NEXT_PUBLIC_`, `VITE_` or `REACT_APP_` is
//!   baked into browser code, so it is never a secret (a URL there becomes the external URL);
//! - **database**: a name holding `DATABASE_URL`/`DATABASE_URI`, `DB_URL`, `POSTGRES_URL`,
//!   `PG_URL` or `PGURL`, or an example value starting with `postgres`, is the database's URL;
//!   `DB_HOST`/`PGHOST`/`POSTGRES_HOST` (and `_PORT`, `_USER`, `_NAME`/`POSTGRES_DB`,
//!   `_PASSWORD`) are its parts;
//! - **secret** or **config**: values validation's own rule, [`crate::values::env_names`] (one
//!   rule, so init never writes a plain value that validation refuses): credentials are secrets,
//!   generated only when they are the app's own signing material; settings about them
//!   (`ACCESS_TOKEN_EXPIRE_DAYS`, `CORS_CREDENTIALS`) and everything else are config.

use crate::values::env_names::{self, Credential};

/// What a variable is, by the rule above.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Baked into browser code at build time.
    BrowserVisible,
    DatabaseUrl,
    DatabasePart(Part),
    /// A secret; `generate` when the app's own signing material.
    Secret {
        generate: bool,
    },
    Config,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Host,
    Port,
    User,
    Name,
    Password,
}

pub fn classify(name: &str, example: Option<&str>) -> Class {
    let upper = name.to_ascii_uppercase();
    if env_names::is_browser_visible(name) {
        return Class::BrowserVisible;
    }
    let words: Vec<&str> = upper.split('_').filter(|w| !w.is_empty()).collect();
    // A URL of the database: DATABASE_URL/URI, DB_URL, POSTGRES_URL, PG_URL (any prefix), PGURL.
    let url_word = |w: &&str| matches!(*w, "URL" | "URI");
    let database_url = words
        .windows(2)
        .any(|pair| matches!(pair[0], "DATABASE" | "DB" | "POSTGRES" | "PG") && url_word(&pair[1]))
        || words.contains(&"PGURL");
    // A value names the database only as a URL: `postgres` alone is a user or a database name.
    let url_value = example.is_some_and(|v| {
        v.split_once("://")
            .is_some_and(|(scheme, _)| scheme.starts_with("postgres"))
    });
    if database_url || url_value {
        return Class::DatabaseUrl;
    }
    if let Some(part) = database_part(&upper) {
        return Class::DatabasePart(part);
    }
    match env_names::credential(name, example) {
        Some(kind) => Class::Secret {
            generate: kind == Credential::Own,
        },
        None => Class::Config,
    }
}

fn database_part(upper: &str) -> Option<Part> {
    let (prefix, rest) = ["POSTGRES_", "DB_", "DATABASE_", "PG"]
        .iter()
        .find_map(|p| upper.strip_prefix(p).map(|r| (*p, r)))?;
    Some(match (prefix, rest) {
        (_, "HOST") => Part::Host,
        (_, "PORT") => Part::Port,
        (_, "USER" | "USERNAME") => Part::User,
        ("POSTGRES_", "DB") | (_, "NAME") | ("PG", "DATABASE") => Part::Name,
        (_, "PASSWORD" | "PASS") => Part::Password,
        _ => return None,
    })
}

/// The SDK host an API key's provider is reached at, for the component's `egress`.
pub fn provider_host(name: &str) -> Option<&'static str> {
    let upper = name.to_ascii_uppercase();
    [
        ("OPENAI", "api.openai.com"),
        ("ANTHROPIC", "api.anthropic.com"),
        ("GEMINI", "generativelanguage.googleapis.com"),
        ("GOOGLE_API", "generativelanguage.googleapis.com"),
        ("GROQ", "api.groq.com"),
        ("MISTRAL", "api.mistral.ai"),
        ("COHERE", "api.cohere.com"),
    ]
    .iter()
    .find(|(p, _)| upper.starts_with(p))
    .map(|(_, host)| *host)
}

/// `OPENAI_API_KEY` → `openaiApiKey`: the secret's name in `secrets`.
pub fn secret_name(env: &str) -> String {
    let mut out = String::new();
    for (i, word) in env.split('_').filter(|w| !w.is_empty()).enumerate() {
        let lower = word.to_ascii_lowercase();
        if i == 0 {
            out.push_str(&lower);
        } else {
            let mut chars = lower.chars();
            if let Some(first) = chars.next() {
                out.push(first.to_ascii_uppercase());
                out.extend(chars);
            }
        }
    }
    if !out.starts_with(|c: char| c.is_ascii_alphabetic()) {
        out.insert(0, 's');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_recognised_by_their_name_words() {
        for name in [
            "OPENAI_API_KEY",
            "GEMINI_APIKEY",
            "STRIPE_SECRET",
            "GITHUB_TOKEN",
            "SMTP_PASSWORD",
            "GOOGLE_CREDENTIALS",
            "JWT_PRIVATE_KEY",
            "SENTRY_DSN",
            "HASH_SALT",
        ] {
            assert!(
                matches!(classify(name, None), Class::Secret { .. }),
                "{name}"
            );
        }
        for name in [
            "LOG_LEVEL",
            "KEYCLOAK_REALM",
            "MONKEY_MODE",
            "TOKENIZER_MODEL",
            "CORS_ORIGINS",
            "CORS_CREDENTIALS",
            "ACCESS_TOKEN_EXPIRE_DAYS",
        ] {
            assert_eq!(classify(name, None), Class::Config, "{name}");
        }
    }

    #[test]
    fn own_signing_secrets_are_generated_third_party_keys_are_not() {
        assert_eq!(
            classify("BETTER_AUTH_SECRET", None),
            Class::Secret { generate: true }
        );
        assert_eq!(
            classify("SECRET_KEY", None),
            Class::Secret { generate: true }
        );
        assert_eq!(
            classify("JWT_SECRET_KEY", None),
            Class::Secret { generate: true }
        );
        assert_eq!(
            classify("OPENAI_API_KEY", None),
            Class::Secret { generate: false }
        );
        assert_eq!(
            classify("STRIPE_API_SECRET", None),
            Class::Secret { generate: false }
        );
        assert_eq!(
            classify("GOOGLE_CLIENT_SECRET", None),
            Class::Secret { generate: false }
        );
    }

    #[test]
    fn browser_visible_names_are_never_secrets_and_database_urls_are_found_by_name_or_value() {
        assert_eq!(
            classify("NEXT_PUBLIC_STRIPE_KEY", None),
            Class::BrowserVisible
        );
        assert_eq!(classify("VITE_API_URL", None), Class::BrowserVisible);
        assert_eq!(classify("DATABASE_URL", None), Class::DatabaseUrl);
        assert_eq!(
            classify("SQLALCHEMY_DATABASE_URI", None),
            Class::DatabaseUrl
        );
        assert_eq!(
            classify("NEON_URL", Some("postgresql://u:p@ep-x.neon.tech/db")),
            Class::DatabaseUrl
        );
        assert_eq!(classify("PGHOST", None), Class::DatabasePart(Part::Host));
        assert_eq!(
            classify("POSTGRES_DB", None),
            Class::DatabasePart(Part::Name)
        );
        assert_eq!(
            classify("DB_PASSWORD", None),
            Class::DatabasePart(Part::Password)
        );
        // The default user and database are both called postgres: a name, not a URL.
        assert_eq!(
            classify("DB_USER", Some("postgres")),
            Class::DatabasePart(Part::User)
        );
        assert_eq!(
            classify("DB_NAME", Some("postgres")),
            Class::DatabasePart(Part::Name)
        );
        assert_eq!(
            classify("PRIMARY_STORE", Some("postgresql+asyncpg://u:p@db/app")),
            Class::DatabaseUrl
        );
        assert_eq!(secret_name("OPENAI_API_KEY"), "openaiApiKey");
        assert_eq!(provider_host("OPENAI_API_KEY"), Some("api.openai.com"));
    }
}
