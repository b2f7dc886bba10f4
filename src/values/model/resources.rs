//! CPU and memory amounts, written as Kubernetes quantities.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Resources {
    pub requests: ResourceAmounts,
    pub limits: ResourceAmounts,
}

/// Kubernetes quantities, e.g. cpu `250m` or `1`, memory `256Mi`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceAmounts {
    #[serde(deserialize_with = "quantity_text")]
    #[schemars(with = "QuantitySchema")]
    pub cpu: String,
    #[serde(deserialize_with = "quantity_text")]
    #[schemars(with = "QuantitySchema")]
    pub memory: String,
}

/// Quantities may be written as numbers (`cpu: 1`), as Kubernetes allows.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)] // only its schema is used
pub(super) enum QuantitySchema {
    Text(String),
    Number(f64),
}

pub(super) fn quantity_text<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Integer(i64),
        Float(f64),
    }
    let raw = Raw::deserialize(deserializer).map_err(|_| {
        serde::de::Error::custom("expected a quantity such as 250m, 1, 256Mi or 1Gi")
    })?;
    Ok(match raw {
        Raw::Text(text) => text,
        Raw::Integer(n) => n.to_string(),
        Raw::Float(f) => f.to_string(),
    })
}
