//! What an environment variable's name (and, when known, its value) says it holds: one rule
//! that `berth init` uses to decide secret or config and values validation uses to refuse a
//! plain value that looks like a credential, so init never writes what validation refuses.
//!
//! - **browser-visible** (`NEXT_PUBLIC_*`, `VITE_*`, `REACT_APP_*`): baked into the bundle every
//!   visitor downloads, so never a credential, whatever the rest of the name says;
//! - **a setting about a credential** is not one: a name with a word such as `EXPIRE`, `TTL`,
//!   `TIMEOUT`, `AGE`, `MINUTES`, `LENGTH`, `ALGORITHM` (`ACCESS_TOKEN_EXPIRE_DAYS`), a `CORS`
//!   name (`CORS_CREDENTIALS`), a `PUBLIC`/`PUBLISHABLE` key, a boolean value, or a number or
//!   duration (`30`, `15m`, `7d`) for a name that does not end in a credential word;
//! - **a credential**: a name with a `SECRET`, `TOKEN`, `PASSWORD`/`PASSWD`/`PASS`, `CREDENTIAL`,
//!   `PRIVATE`, `SALT` or `DSN` word, one ending in `KEY` (`API_KEY`, `APIKEY`, `SECRET_KEY`), or
//!   holding `PASSWORD` anywhere;
//! - a credential is the **app's own signing material** (berth may generate it) when its name has
//!   a `SECRET` or `SALT` word and is not a provider's: no `API`, `CLIENT` (OAuth
//!   `*_CLIENT_SECRET`) or `WEBHOOK` word and no provider's name (`STRIPE_SECRET_KEY`). Anything
//!   else (API keys, tokens, passwords, OAuth client secrets) must be supplied: a random value
//!   would break a login or an API call silently.

/// Prefixes of variables a bundler bakes into browser code at build time.
pub const BROWSER_PREFIXES: [&str; 3] = ["NEXT_PUBLIC_", "VITE_", "REACT_APP_"];

/// What a credential is for berth: may it make one up?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// The app's own signing material (`SESSION_SECRET`, `BETTER_AUTH_SECRET`, a salt).
    Own,
    /// Issued by someone else (an API key, an OAuth client secret, a password).
    Supplied,
}

const CREDENTIAL_WORDS: [&str; 11] = [
    "SECRET",
    "SECRETS",
    "TOKEN",
    "PASSWORD",
    "PASSWD",
    "PASS",
    "CREDENTIAL",
    "CREDENTIALS",
    "PRIVATE",
    "SALT",
    "DSN",
];

/// Words that make a name a setting about a credential, not the credential.
const SETTING_WORDS: [&str; 26] = [
    "EXPIRE",
    "EXPIRES",
    "EXPIRY",
    "EXPIRATION",
    "TTL",
    "TIMEOUT",
    "LIFETIME",
    "AGE",
    "DURATION",
    "SECONDS",
    "SECS",
    "MINUTES",
    "MINS",
    "HOURS",
    "DAYS",
    "MS",
    "LENGTH",
    "LEN",
    "ALGORITHM",
    "ALGORITHMS",
    "ALG",
    "CORS",
    "PUBLIC",
    "PUBLISHABLE",
    "ENABLED",
    "REQUIRED",
];

/// Providers whose secrets are issued to the team, never made up (name prefixes).
const PROVIDERS: [&str; 40] = [
    "OPENAI",
    "ANTHROPIC",
    "GEMINI",
    "GOOGLE",
    "GROQ",
    "MISTRAL",
    "COHERE",
    "HUGGINGFACE",
    "HF",
    "STRIPE",
    "GITHUB",
    "GITLAB",
    "DISCORD",
    "SLACK",
    "TWILIO",
    "SENDGRID",
    "RESEND",
    "MAILGUN",
    "AWS",
    "AZURE",
    "CLERK",
    "SUPABASE",
    "AUTH0",
    "OKTA",
    "PUSHER",
    "CLOUDINARY",
    "FIREBASE",
    "PAYPAL",
    "TWITTER",
    "FACEBOOK",
    "APPLE",
    "MICROSOFT",
    "LINKEDIN",
    "SPOTIFY",
    "NOTION",
    "PINECONE",
    "QDRANT",
    "LANGSMITH",
    "TAVILY",
    "UPSTASH",
];

/// Whether a bundler bakes `name` into browser code.
pub fn is_browser_visible(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    BROWSER_PREFIXES.iter().any(|p| upper.starts_with(p))
}

/// Whether `name` (with `value`, its value or example when known) holds a credential, and
/// which kind; `None` for anything else.
pub fn credential(name: &str, value: Option<&str>) -> Option<Credential> {
    if is_browser_visible(name) {
        return None;
    }
    let upper = name.to_ascii_uppercase();
    let words: Vec<&str> = upper.split('_').filter(|w| !w.is_empty()).collect();
    let has = |w: &str| words.contains(&w);
    let ends_in_credential = words.last().is_some_and(|last| {
        CREDENTIAL_WORDS.contains(last) || last.ends_with("KEY") || *last == "KEYS"
    });
    let credential_word = words
        .iter()
        .any(|w| CREDENTIAL_WORDS.contains(w) || *w == "KEYS")
        || upper.ends_with("KEY")
        || has("KEY")
        || upper.contains("PASSWORD");
    if !credential_word {
        return None;
    }
    let setting = words.iter().any(|w| SETTING_WORDS.contains(w))
        || is_boolean(value)
        || (!ends_in_credential && value.is_some_and(is_number_or_duration));
    if setting {
        return None;
    }
    let provider = PROVIDERS
        .iter()
        .any(|p| upper == *p || upper.starts_with(&format!("{p}_")));
    let own = (has("SECRET") || has("SALT"))
        && !has("API")
        && !has("CLIENT")
        && !has("WEBHOOK")
        && !provider;
    Some(if own {
        Credential::Own
    } else {
        Credential::Supplied
    })
}

fn is_boolean(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off"
        )
    })
}

/// `30`, `3600`, `15m`, `7d`, `1h30m`, `2.5s`: a number with an optional time unit.
fn is_number_or_duration(value: &str) -> bool {
    let v = value.trim();
    !v.is_empty()
        && v.len() <= 12
        && v.starts_with(|c: char| c.is_ascii_digit())
        && v.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 's' | 'm' | 'h' | 'd' | 'w'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_by_name_and_who_makes_them() {
        let own = [
            "BETTER_AUTH_SECRET",
            "SECRET_KEY",
            "JWT_SECRET_KEY",
            "SESSION_SECRET",
            "HASH_SALT",
            "NEXTAUTH_SECRET",
            "secret",
        ];
        for name in own {
            assert_eq!(credential(name, None), Some(Credential::Own), "{name}");
        }
        let supplied = [
            "OPENAI_API_KEY",
            "GEMINI_APIKEY",
            "STRIPE_API_SECRET",
            "STRIPE_SECRET_KEY",
            "GOOGLE_CLIENT_SECRET",
            "AUTH_GITHUB_CLIENT_SECRET",
            "WEBHOOK_SECRET",
            "GITHUB_TOKEN",
            "SMTP_PASSWORD",
            "DB_PASS",
            "GOOGLE_CREDENTIALS",
            "JWT_PRIVATE_KEY",
            "SENTRY_DSN",
            "PASSWORD_FILE",
            "APIKEY",
        ];
        for name in supplied {
            assert_eq!(credential(name, None), Some(Credential::Supplied), "{name}");
        }
    }

    /// Names and values that must not be taken for a credential (the rule's other half).
    #[test]
    fn settings_and_public_values_are_not_credentials() {
        let cases: [(&str, Option<&str>); 17] = [
            ("NEXT_PUBLIC_STRIPE_KEY", Some("pk_test_123")),
            ("NEXT_PUBLIC_SUPABASE_ANON_KEY", None),
            ("VITE_FIREBASE_API_KEY", Some("AIza-example")),
            ("REACT_APP_MAPS_KEY", None),
            ("ACCESS_TOKEN_EXPIRE_MINUTES", Some("30")),
            ("ACCESS_TOKEN_EXPIRE_DAYS", None),
            ("REFRESH_TOKEN_TTL", None),
            ("JWT_SECRET_LENGTH", None),
            ("CORS_CREDENTIALS", None),
            ("CORS_ALLOW_CREDENTIALS", Some("true")),
            ("STRIPE_PUBLISHABLE_KEY", None),
            ("JWT_PUBLIC_KEY", None),
            ("TOKEN_REFRESH", Some("15m")),
            ("LOG_LEVEL", None),
            ("KEYCLOAK_REALM", None),
            ("TOKENIZER_MODEL", None),
            ("SECRETARY", None),
        ];
        for (name, value) in cases {
            assert_eq!(credential(name, value), None, "{name}={value:?}");
        }
        // A value does not turn a credential-ending name into a setting, unless boolean.
        assert_eq!(
            credential("API_TOKEN", Some("12345")),
            Some(Credential::Supplied)
        );
        assert_eq!(
            credential("SECRET_KEY", Some("changeme")),
            Some(Credential::Own)
        );
        assert_eq!(credential("USE_API_KEY", Some("false")), None);
    }
}
