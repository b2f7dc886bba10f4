//! The JSON Schema of [`Values`], generated from the Rust types. It is written to
//! `values/values.schema.json` (a test fails when that file is stale) and shipped
//! in the exported Helm chart, so `helm install` rejects what berth rejects where
//! JSON Schema can say it.

use schemars::generate::SchemaSettings;

use super::model::Values;

/// The schema with every subschema inlined, so tools can walk it without `$ref`.
pub fn values_schema() -> schemars::Schema {
    let generator = SchemaSettings::draft07()
        .with(|s| s.inline_subschemas = true)
        .into_generator();
    generator.into_root_schema_for::<Values>()
}

pub fn values_schema_json() -> serde_json::Value {
    values_schema().to_value()
}

/// The schema as written to `values/values.schema.json`.
pub fn values_schema_pretty() -> String {
    let mut text =
        serde_json::to_string_pretty(&values_schema_json()).expect("a schema serializes");
    text.push('\n');
    text
}
