//! The values reference (`docs/VALUES.md`), written from the generated JSON Schema so it
//! cannot drift from the Rust types: one table per top-level key, one row per key path, its
//! type and its doc comment. `berth schema --markdown` prints it; a test fails when the
//! committed file is stale.

use serde_json::{Map, Value};

/// A key path, its type and what it means.
struct Row {
    key: String,
    kind: String,
    doc: String,
}

/// The reference as Markdown.
pub fn values_reference_markdown() -> String {
    let schema = super::schema::values_schema_json();
    let mut out = String::from(
        "# Values reference\n\n\
         Generated from the values' JSON Schema (`values/values.schema.json`) by \
         `berth schema --markdown > docs/VALUES.md`; a test fails when this file is stale. \
         `<name>` stands for a name you choose (a component, a secret, a variable, a path). \
         The defaults are in `values/values.yaml`; `berth render` shows what they produce.\n",
    );
    let empty = Map::new();
    let top = schema["properties"].as_object().unwrap_or(&empty);
    for (key, sub) in top {
        out.push_str(&format!("\n## `{key}`\n\n"));
        let mut rows = Vec::new();
        walk(sub, key, &mut rows);
        out.push_str("| key | type | description |\n|---|---|---|\n");
        for row in rows {
            out.push_str(&format!(
                "| `{}` | {} | {} |\n",
                row.key,
                cell(&row.kind),
                cell(&row.doc)
            ));
        }
    }
    out
}

/// One row for `schema` at `path`, then its properties, map values, list items and the
/// object forms among its alternatives.
fn walk(schema: &Value, path: &str, rows: &mut Vec<Row>) {
    rows.push(Row {
        key: path.to_string(),
        kind: kind(schema),
        doc: doc(schema),
    });
    for object in objects(schema) {
        if let Some(props) = object.get("properties").and_then(Value::as_object) {
            for (key, sub) in props {
                walk(sub, &format!("{path}.{key}"), rows);
            }
        }
        if let Some(values) = object.get("additionalProperties").filter(|v| v.is_object())
            && !objects(values).is_empty()
        {
            walk(values, &format!("{path}.<name>"), rows);
        }
    }
    if let Some(items) = schema.get("items")
        && !objects(items).is_empty()
    {
        walk(items, &format!("{path}[]"), rows);
    }
}

/// The object schemas `schema` is or may be (an object, or the object alternatives of
/// `anyOf`/`oneOf`), which have keys of their own.
fn objects(schema: &Value) -> Vec<&Map<String, Value>> {
    let mut found = Vec::new();
    if let Some(object) = schema.as_object() {
        if object.contains_key("properties")
            || object
                .get("additionalProperties")
                .is_some_and(Value::is_object)
        {
            found.push(object);
        }
        for alternatives in ["anyOf", "oneOf"] {
            for alt in object
                .get(alternatives)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                found.extend(objects(alt));
            }
        }
    }
    found
}

/// A short type: `string`, `integer`, `list of string`, `map`, one of `a` \| `b`, ….
fn kind(schema: &Value) -> String {
    if let Some(value) = schema.get("const") {
        return format!("`{}`", plain(value));
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        let names: Vec<String> = values
            .iter()
            .filter(|v| !v.is_null())
            .map(|v| format!("`{}`", plain(v)))
            .collect();
        return names.join(" or ");
    }
    for alternatives in ["oneOf", "anyOf"] {
        if let Some(alts) = schema.get(alternatives).and_then(Value::as_array) {
            let mut kinds: Vec<String> = Vec::new();
            for alt in alts {
                let k = kind(alt);
                if k != "null" && !k.is_empty() && !kinds.contains(&k) {
                    kinds.push(k);
                }
            }
            return kinds.join(" or ");
        }
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let types: Vec<String> = types
        .into_iter()
        .filter(|t| *t != "null")
        .map(|t| match t {
            "array" => format!(
                "list of {}",
                schema.get("items").map_or("any".to_string(), kind)
            ),
            "object" if schema.get("properties").is_none() => {
                match schema.get("additionalProperties").filter(|v| v.is_object()) {
                    Some(values) => format!("map of {}", kind(values)),
                    None => "map".to_string(),
                }
            }
            "number" => "number".to_string(),
            other => other.to_string(),
        })
        .collect();
    if types.is_empty() && schema.get("properties").is_some() {
        return "object".into();
    }
    types.join(" or ")
}

/// The description, the documented choices of a `oneOf` of constants, and the default.
fn doc(schema: &Value) -> String {
    let mut text = description(schema);
    let mut choices = Vec::new();
    collect_choices(schema, &mut choices);
    if !choices.is_empty() {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(&choices.join("; "));
        text.push('.');
    }
    if let Some(default) = schema.get("default").filter(|d| !d.is_null()) {
        text.push_str(&format!(" Default: `{}`.", plain(default)));
    }
    text.trim().to_string()
}

/// `` `value`: what it means `` for each documented constant among the alternatives.
fn collect_choices(schema: &Value, out: &mut Vec<String>) {
    for alternatives in ["oneOf", "anyOf"] {
        for alt in schema
            .get(alternatives)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let (Some(value), Some(desc)) = (alt.get("const"), alt.get("description")) {
                let desc = one_line(desc);
                out.push(format!(
                    "`{}`: {}",
                    plain(value),
                    desc.trim_end_matches('.')
                ));
            } else if alt.get("properties").is_none() {
                collect_choices(alt, out);
            }
        }
    }
}

fn description(schema: &Value) -> String {
    schema.get("description").map(one_line).unwrap_or_default()
}

/// A doc comment on one line, its rustdoc links (`` [`Type`] ``) as plain code.
fn one_line(value: &Value) -> String {
    let text = value
        .as_str()
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(start) = rest.find("[`") {
        let Some(len) = rest[start..].find("`]") else {
            break;
        };
        let end = start + len + 2;
        out.push_str(&rest[..start]);
        if rest[end..].starts_with('(') {
            out.push_str(&rest[start..end]);
        } else {
            out.push_str(&rest[start + 1..end - 1]);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// A JSON value as written in YAML: strings without quotes.
fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Table cells cannot hold `|` or line breaks.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_top_level_key_has_a_table_and_nested_keys_have_rows() {
        let text = values_reference_markdown();
        for key in [
            "## `components`",
            "| `components.<name>.port` |",
            "| `components.<name>.env.<name>.secret` |",
            "| `expose.mode` |",
            "`nodePort`: A NodePort on the Service",
        ] {
            assert!(text.contains(key), "missing {key}");
        }
    }

    #[test]
    fn kinds_read_as_types() {
        let schema = serde_json::json!({"type": ["string", "null"]});
        assert_eq!(kind(&schema), "string");
        let schema = serde_json::json!({"type": "array", "items": {"type": "string"}});
        assert_eq!(kind(&schema), "list of string");
        let schema = serde_json::json!({"oneOf": [{"const": "a"}, {"const": "b"}]});
        assert_eq!(kind(&schema), "`a` or `b`");
        assert_eq!(cell("a|b\nc"), "a\\|b c");
        assert_eq!(
            one_line(&serde_json::json!("see [`EnvRef`] and\n [`x`](u)")),
            "see `EnvRef` and [`x`](u)"
        );
    }
}
