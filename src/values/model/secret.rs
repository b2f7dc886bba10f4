//! Where secret values come from, and the values themselves (never serialized).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where a secret's value comes from. The value itself never lives in values.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretSpec {
    /// Environment variable (also read from `--env-file`) that supplies it.
    pub from_env: Option<String>,
    /// Generated when not supplied (and kept across deploys).
    pub generate: Option<Generate>,
    /// Deploy refuses to run without it.
    #[serde(default)]
    pub required: bool,
    /// Shown by the wizard and in errors.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Generate {
    /// Number of random characters (letters and digits), 16–256.
    pub length: u16,
}

/// Secret values by secret name. Debug never shows a value.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretValues(pub BTreeMap<String, String>);

impl SecretValues {
    /// The value, when one was supplied or generated.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn set(&mut self, name: &str, value: String) {
        self.0.insert(name.to_string(), value);
    }
}

impl std::fmt::Debug for SecretValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|k| (k, "<redacted>")))
            .finish()
    }
}
