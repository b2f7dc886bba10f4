//! Comparison of a dry-run result with the live object. Both come from the
//! server, so defaults and conversions (stringData → data, port protocols) are
//! already applied alike; only bookkeeping the server changes on every write
//! has to go.

use serde_json::Value;

/// Metadata fields that change without the object's content changing.
const NOISE: [&str; 6] = [
    "resourceVersion",
    "managedFields",
    "generation",
    "uid",
    "creationTimestamp",
    "selfLink",
];

/// The object without status and metadata noise.
pub fn normalize(object: &Value) -> Value {
    let mut copy = object.clone();
    if let Some(map) = copy.as_object_mut() {
        map.remove("status");
        if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
            for field in NOISE {
                meta.remove(field);
            }
            let empty_annotations = meta
                .get("annotations")
                .and_then(Value::as_object)
                .is_some_and(|a| a.is_empty());
            if empty_annotations {
                meta.remove("annotations");
            }
        }
    }
    copy
}

/// True when applying would leave the live object's content as it is.
pub fn same_content(live: &Value, dry_run: &Value) -> bool {
    normalize(live) == normalize(dry_run)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ignores_bookkeeping_but_not_content() {
        let live = json!({"metadata": {"name": "a", "resourceVersion": "1", "generation": 1,
            "managedFields": [{"manager": "berth"}]}, "spec": {"replicas": 1}, "status": {"ready": 1}});
        let dry = json!({"metadata": {"name": "a", "resourceVersion": "1", "generation": 2,
            "managedFields": [{"manager": "berth", "time": "now"}]}, "spec": {"replicas": 1}});
        assert!(same_content(&live, &dry));
        let changed = json!({"metadata": {"name": "a"}, "spec": {"replicas": 2}});
        assert!(!same_content(&live, &changed));
    }
}
