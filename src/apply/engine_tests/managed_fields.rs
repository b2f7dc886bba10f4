//! The fake API server's model of `metadata.managedFields`, simplified: a
//! manager's field set is the object paths it wrote, down to the first
//! value that is not an object (lists are atomic). An apply replaces the
//! applier's `Apply` entry with the paths of its payload; an update (merge
//! patch, PUT) takes the paths it changed or removed from every other
//! manager and gives the changed ones to the updater's `Update` entry — what
//! makes `kubectl edit`, `scale` and `label` visible in berth's entry. Not
//! modelled: conflicts, list keys, subresources (the real API server's
//! answers on those are tested in the cluster tests).

use serde_json::{Value, json};

/// A field path: object keys from the root.
type Path = Vec<String>;

/// Records an apply of `patch` by `manager` on `object` (already merged).
pub fn applied(object: &mut Value, manager: &str, patch: &Value) {
    let mut paths = Vec::new();
    leaves(patch, &mut vec![], &mut paths);
    let fields = field_set(&paths);
    let api_version = object["apiVersion"].clone();
    let entries = entries_of(object);
    entries.retain(|e| !(e["manager"] == manager && e["operation"] == "Apply"));
    entries.push(
        json!({"manager": manager, "operation": "Apply", "apiVersion": api_version,
        "time": "2026-12-06T00:00:00Z", "fieldsType": "FieldsV1", "fieldsV1": fields}),
    );
}

/// Records an update by `manager` that turned `before` into `object`.
pub fn updated(before: &Value, object: &mut Value, manager: &str) {
    let mut paths = Vec::new();
    leaves(before, &mut vec![], &mut paths);
    leaves(object, &mut vec![], &mut paths);
    paths.sort();
    paths.dedup();
    let changed: Vec<Path> = paths
        .into_iter()
        .filter(|p| at(before, p) != at(object, p))
        .collect();
    if changed.is_empty() {
        return;
    }
    let api_version = object["apiVersion"].clone();
    let entries = entries_of(object);
    for entry in entries.iter_mut() {
        for path in &changed {
            remove(&mut entry["fieldsV1"], path);
        }
    }
    let kept: Vec<Path> = changed
        .iter()
        .filter(|p| at(object, p).is_some())
        .cloned()
        .collect();
    let entries = entries_of(object);
    let mine = match entries
        .iter()
        .position(|e| e["manager"] == manager && e["operation"] == "Update")
    {
        Some(i) => &mut entries[i],
        None => {
            entries.push(json!({"manager": manager, "operation": "Update",
                "apiVersion": api_version, "fieldsType": "FieldsV1", "fieldsV1": {}}));
            entries.last_mut().expect("just pushed")
        }
    };
    let mut owned = Vec::new();
    collect(&mine["fieldsV1"], &mut vec![], &mut owned);
    owned.extend(kept);
    mine["fieldsV1"] = field_set(&owned);
}

fn entries_of(object: &mut Value) -> &mut Vec<Value> {
    let meta = &mut object["metadata"];
    if !meta["managedFields"].is_array() {
        meta["managedFields"] = json!([]);
    }
    meta["managedFields"].as_array_mut().expect("an array")
}

/// Paths to the leaves of `value`, skipping what the server owns itself.
fn leaves(value: &Value, prefix: &mut Path, out: &mut Vec<Path>) {
    match value.as_object() {
        Some(map) if !map.is_empty() => {
            for (key, child) in map {
                let skip = match prefix.as_slice() {
                    [] => ["apiVersion", "kind", "status"].contains(&key.as_str()),
                    [meta] if meta == "metadata" => {
                        !["labels", "annotations"].contains(&key.as_str())
                    }
                    _ => false,
                };
                if skip {
                    continue;
                }
                prefix.push(key.clone());
                leaves(child, prefix, out);
                prefix.pop();
            }
        }
        _ if !prefix.is_empty() => out.push(prefix.clone()),
        _ => {}
    }
}

fn at<'a>(value: &'a Value, path: &Path) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| v.get(key))
}

/// `{"f:a": {"f:b": {}}}` for the paths `a.b`.
fn field_set(paths: &[Path]) -> Value {
    let mut set = json!({});
    for path in paths {
        let mut node = &mut set;
        for key in path {
            node = node
                .as_object_mut()
                .expect("an object")
                .entry(format!("f:{key}"))
                .or_insert_with(|| json!({}));
        }
    }
    set
}

/// The paths of a field set.
fn collect(set: &Value, prefix: &mut Path, out: &mut Vec<Path>) {
    match set.as_object() {
        Some(map) if !map.is_empty() => {
            for (key, child) in map {
                prefix.push(key.trim_start_matches("f:").to_string());
                collect(child, prefix, out);
                prefix.pop();
            }
        }
        _ if !prefix.is_empty() => out.push(prefix.clone()),
        _ => {}
    }
}

/// Removes `path` (and what is under it) from a field set, and the parents
/// it leaves empty.
fn remove(set: &mut Value, path: &[String]) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let key = format!("f:{first}");
    let Some(map) = set.as_object_mut() else {
        return;
    };
    if rest.is_empty() {
        map.remove(&key);
        return;
    }
    if let Some(child) = map.get_mut(&key) {
        let had_children = child.as_object().is_some_and(|c| !c.is_empty());
        remove(child, rest);
        if had_children && child.as_object().is_some_and(|c| c.is_empty()) {
            map.remove(&key);
        }
    }
}
