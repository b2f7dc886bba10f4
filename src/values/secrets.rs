//! Secret inputs as data: where each secret's value comes from, which are
//! required, generating the rest, and where a generated value lives in the
//! rendered objects so a redeploy can reuse it.

use std::collections::BTreeSet;

use super::error::Problem;
use super::model::{DatabaseMode, EnvValue, Values};

impl Values {
    /// Secrets some enabled part of the stack reads: component env, an
    /// internal database's password, an external database's URL.
    pub fn used_secrets(&self) -> BTreeSet<&str> {
        let mut used: BTreeSet<&str> = self
            .enabled_components()
            .filter(|(_, c)| c.existing_secret.is_none())
            .flat_map(|(_, c)| c.secrets_read())
            .collect();
        match self.database.mode {
            DatabaseMode::Internal => {
                used.insert(&self.database.password_secret);
            }
            DatabaseMode::External if self.database_referenced_by_rendered_secret() => {
                used.insert(&self.database.external.url_secret);
            }
            _ => {}
        }
        used
    }

    /// Whether some component renders a database reference itself (not through
    /// an existing Secret), so the external URL must be known.
    fn database_referenced_by_rendered_secret(&self) -> bool {
        self.enabled_components()
            .filter(|(_, c)| c.existing_secret.is_none())
            .flat_map(|(_, c)| c.env.values())
            .any(|v| matches!(v, EnvValue::Ref(r) if r.database.is_some()))
    }

    /// Fills every used secret that has `generate` and no value yet. Deploy
    /// first reuses the values of the live Secrets, if any.
    pub fn fill_generated(&mut self) {
        let wanted: Vec<(String, u16)> = self
            .used_secrets()
            .into_iter()
            .filter(|name| self.secret_values.get(name).is_none())
            .filter_map(|name| {
                let spec = self.secrets.get(name)?;
                Some((name.to_string(), spec.generate.as_ref()?.length))
            })
            .collect();
        for (name, length) in wanted {
            self.secret_values.set(&name, random_token(length.into()));
        }
        if self.database_tls_used() && self.database_tls.is_none() {
            self.database_tls = Some(super::tls::TlsPair::self_signed());
        }
    }

    /// Whether the in-cluster database serves TLS (and so needs a certificate).
    pub fn database_tls_used(&self) -> bool {
        self.database.mode == DatabaseMode::Internal && self.database.internal.tls
    }
}

/// Used secrets without a value that cannot be generated and are needed: marked
/// `required`, or the URL of an external database.
pub fn missing_secrets(values: &Values) -> Vec<Problem> {
    let external_url = (values.database.mode == DatabaseMode::External)
        .then_some(&values.database.external.url_secret);
    values
        .used_secrets()
        .into_iter()
        .filter(|name| values.secret_values.get(name).is_none())
        .filter_map(|name| {
            let spec = values.secrets.get(name)?;
            let why = if spec.required {
                "is required"
            } else if external_url.is_some_and(|u| u.as_str() == name) {
                "is required because database.mode is external"
            } else {
                return None;
            };
            (spec.generate.is_none()).then(|| {
                Problem::new(format!("secrets.{name}"), why).with_hint(supply_hint(values, name))
            })
        })
        .collect()
}

/// How to supply a secret's value.
pub fn supply_hint(values: &Values, name: &str) -> String {
    match values.secrets.get(name).and_then(|s| s.from_env.as_deref()) {
        Some(env) => format!(
            "set {env} in the environment or an --env-file, or pass --set-file secrets.{name}=PATH"
        ),
        None => format!("pass --set-file secrets.{name}=PATH (or give it `fromEnv`)"),
    }
}

/// Random letters and digits, drawn without modulo bias.
fn random_token(length: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(length);
    let mut buffer = [0u8; 64];
    while out.len() < length {
        getrandom::fill(&mut buffer).expect("the operating system's random source works");
        for byte in buffer {
            // 248 = 4 * 62: bytes above it would favour the first letters.
            if byte < 248 && out.len() < length {
                out.push(ALPHABET[usize::from(byte) % ALPHABET.len()] as char);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::random_token;

    #[test]
    fn tokens_have_the_length_and_alphabet_asked_for() {
        let token = random_token(48);
        assert_eq!(token.len(), 48);
        assert!(token.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(random_token(48), token);
    }
}
