//! Unknown-key detection against the generated JSON Schema, with "did you mean"
//! suggestions. serde's own error names only the first unknown field and not its
//! path; walking the schema lets us report every unknown key by full path.

use serde_json::{Map, Value};

use super::error::Problem;

/// Returns one problem per unknown key path in `values`, checked against `schema`
/// (an inlined JSON Schema whose objects carry `properties`).
pub fn unknown_keys(values: &Value, schema: &Value) -> Vec<Problem> {
    let mut problems = Vec::new();
    walk(values, schema, &mut Vec::new(), &mut problems);
    problems
}

fn walk(value: &Value, schema: &Value, path: &mut Vec<String>, problems: &mut Vec<Problem>) {
    let Value::Object(map) = value else { return };
    // An optional object is `anyOf: [object, null]`: walk the object's schema.
    if let Some(object) = schema
        .get("anyOf")
        .and_then(Value::as_array)
        .and_then(|options| options.iter().find(|o| o.get("properties").is_some()))
    {
        return walk(value, object, path, problems);
    }
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (key, child) in map {
            path.push(key.clone());
            match properties.get(key) {
                Some(child_schema) => walk(child, child_schema, path, problems),
                None => problems.extend(unknown_key(child, path, properties)),
            }
            path.pop();
        }
    } else if let Some(item_schema) = schema.get("additionalProperties").filter(|s| s.is_object()) {
        for (key, child) in map {
            path.push(key.clone());
            walk(child, item_schema, path, problems);
            path.pop();
        }
    }
}

/// A problem for each leaf under an unknown key, suggesting the nearest sibling.
fn unknown_key(value: &Value, path: &[String], siblings: &Map<String, Value>) -> Vec<Problem> {
    let key = path.last().expect("unknown key has a path");
    let parent = &path[..path.len() - 1];
    let nearest = nearest_key(key, siblings.keys());
    let mut leaves = Vec::new();
    collect_leaves(value, &mut Vec::new(), &mut leaves);
    leaves
        .into_iter()
        .map(|rest| {
            let written = join(parent, key, &rest);
            let problem = Problem::new(written, "unknown key");
            match &nearest {
                Some(near) => {
                    problem.with_hint(format!("did you mean `{}`?", join(parent, near, &rest)))
                }
                None => problem.with_hint(format!(
                    "valid keys here: {}",
                    siblings.keys().cloned().collect::<Vec<_>>().join(", ")
                )),
            }
        })
        .collect()
}

/// Paths of the leaves below `value`; an empty path when `value` is itself a leaf.
fn collect_leaves(value: &Value, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, child) in map {
                prefix.push(key.clone());
                collect_leaves(child, prefix, out);
                prefix.pop();
            }
        }
        _ => out.push(prefix.clone()),
    }
}

fn join(parent: &[String], key: &str, rest: &[String]) -> String {
    parent
        .iter()
        .map(String::as_str)
        .chain(std::iter::once(key))
        .chain(rest.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(".")
}

/// The closest candidate by edit distance (case-insensitive), if close enough to be a typo.
fn nearest_key<'a>(key: &str, candidates: impl Iterator<Item = &'a String>) -> Option<String> {
    let lowered = key.to_lowercase();
    candidates
        .map(|c| (strsim::levenshtein(&lowered, &c.to_lowercase()), c))
        .filter(|(distance, c)| *distance <= (c.len().max(key.len()) / 3).max(2))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({"properties": {
            "frontend": {"properties": {"replicas": {}, "env": {"additionalProperties": {"type": "string"}}}},
            "backend": {"properties": {"replicas": {}}}
        }})
    }

    #[test]
    fn top_level_typo_suggests_full_path() {
        let problems = unknown_keys(&json!({"frontnd": {"replicas": 3}}), &schema());
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].path, "frontnd.replicas");
        assert_eq!(
            problems[0].hint.as_deref(),
            Some("did you mean `frontend.replicas`?")
        );
    }

    #[test]
    fn nested_typo_and_free_form_maps() {
        let problems = unknown_keys(
            &json!({"frontend": {"replics": 3, "env": {"ANY_NAME": "x"}}}),
            &schema(),
        );
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].path, "frontend.replics");
        assert_eq!(
            problems[0].hint.as_deref(),
            Some("did you mean `frontend.replicas`?")
        );
    }

    #[test]
    fn far_away_key_lists_valid_keys() {
        let problems = unknown_keys(&json!({"zzzzzzzz": 1}), &schema());
        assert_eq!(
            problems[0].hint.as_deref(),
            Some("valid keys here: frontend, backend")
        );
    }
}
