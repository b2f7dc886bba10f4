//! Proof that an object is still as berth last applied it, without asking
//! the server to dry-run it: what lets a no-op deploy cost one list per kind.
//!
//! Two facts together make the proof:
//! - the object carries [`APPLIED_ANNOTATION`], a hash of the payload berth
//!   applied (stamped into the payload itself, so it changes when the payload
//!   does and is written by the same apply);
//! - berth's `Apply` entry in the object's `managedFields` still covers what
//!   that apply left it owning: its hash equals the one recorded right after
//!   the apply (or the dry-run that found nothing to change). Any other
//!   manager that changes or removes a field berth owns (`kubectl edit`,
//!   `scale`, `label`, a forced apply) takes that field out of berth's entry.
//!
//! When berth's last apply was this payload and it still owns every field of
//! it, applying it again changes nothing. Anything less certain (no
//! annotation, no record, an entry missing or ambiguous) leaves the object
//! to the per-object dry-run.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::ownership::FIELD_MANAGER;
use super::{Desired, ObjectKey};

/// The annotation holding the hash of the payload berth applied. Only the
/// applied payload has it: `berth render` and the chart do not.
pub const APPLIED_ANNOTATION: &str = "berth.dev/applied";

/// Hex characters kept of a SHA-256 (128 bits).
const HASH_CHARS: usize = 32;

/// What berth left an object as, recorded in the inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// The payload's hash (the annotation's value).
    pub payload: String,
    /// The hash of berth's `Apply` managed-fields entry after that apply.
    pub fields: String,
}

/// The record of every object's [`Applied`], by object.
pub type Record = BTreeMap<ObjectKey, Applied>;

/// Stamps each object's payload hash into its annotations. Call after every
/// other change to the payload (the ownership labels included).
pub fn stamp(objects: &mut [Desired]) {
    for desired in objects {
        // The hash is of the payload without a stamp (nor the empty map one
        // leaves behind), so stamping is idempotent.
        if let Some(meta) = desired.object["metadata"].as_object_mut() {
            if let Some(annotations) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
                annotations.remove(APPLIED_ANNOTATION);
            }
            if meta
                .get("annotations")
                .and_then(Value::as_object)
                .is_some_and(|a| a.is_empty())
            {
                meta.remove("annotations");
            }
        }
        let hash = canonical_hash(&desired.object);
        let meta = &mut desired.object["metadata"];
        if !meta["annotations"].is_object() {
            meta["annotations"] = serde_json::json!({});
        }
        meta["annotations"][APPLIED_ANNOTATION] = Value::String(hash);
    }
}

/// The payload hash stamped on an object (desired or live).
pub fn payload_hash(object: &Value) -> Option<&str> {
    object["metadata"]["annotations"][APPLIED_ANNOTATION].as_str()
}

/// The hash of berth's `Apply` entry in `managedFields` (its apiVersion and
/// field set, not its time); `None` unless there is exactly one.
pub fn fields_hash(object: &Value) -> Option<String> {
    let entries: Vec<&Value> = object["metadata"]["managedFields"]
        .as_array()?
        .iter()
        .filter(|e| {
            e["manager"] == FIELD_MANAGER
                && e["operation"] == "Apply"
                && e["subresource"].as_str().unwrap_or_default().is_empty()
        })
        .collect();
    let [entry] = entries.as_slice() else {
        return None;
    };
    let fields = entry.get("fieldsV1")?;
    Some(canonical_hash(&serde_json::json!({
        "apiVersion": entry["apiVersion"],
        "fieldsV1": fields,
    })))
}

/// What to record for an object as the server returned it after berth's
/// apply (or dry-run): `None` when it lacks the annotation or the entry.
pub fn entry(object: &Value) -> Option<Applied> {
    Some(Applied {
        payload: payload_hash(object)?.to_string(),
        fields: fields_hash(object)?,
    })
}

/// Whether applying `desired` to `live` is certain to change nothing: the
/// live object was last applied by berth with this very payload and berth
/// still owns what that apply set.
pub fn unchanged(desired: &Desired, live: &Value, recorded: Option<&Applied>) -> bool {
    let (Some(wanted), Some(recorded)) = (payload_hash(&desired.object), recorded) else {
        return false;
    };
    payload_hash(live) == Some(wanted)
        && recorded.payload == wanted
        && fields_hash(live).as_deref() == Some(recorded.fields.as_str())
}

/// The record as stored: gzip-compressed JSON, one entry per object.
pub fn encode(record: &Record) -> Vec<u8> {
    #[derive(Serialize)]
    struct Row<'a> {
        #[serde(flatten)]
        key: &'a ObjectKey,
        #[serde(flatten)]
        applied: &'a Applied,
    }
    let rows: Vec<Row> = record
        .iter()
        .map(|(key, applied)| Row { key, applied })
        .collect();
    let json = serde_json::to_vec(&rows).expect("the record serializes");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(&json)
        .and_then(|_| encoder.finish())
        .expect("writing to memory succeeds")
}

/// The inverse of [`encode`]; an unreadable record is an empty one (every
/// object then takes the per-object path).
pub fn decode(bytes: &[u8]) -> Record {
    #[derive(Deserialize)]
    struct Row {
        #[serde(flatten)]
        key: ObjectKey,
        #[serde(flatten)]
        applied: Applied,
    }
    let mut json = Vec::new();
    if flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut json)
        .is_err()
    {
        return Record::new();
    }
    serde_json::from_slice::<Vec<Row>>(&json)
        .map(|rows| rows.into_iter().map(|r| (r.key, r.applied)).collect())
        .unwrap_or_default()
}

/// SHA-256 of `value` with object keys sorted (the JSON map keeps insertion
/// order, which must not change the hash), truncated to 128 bits.
fn canonical_hash(value: &Value) -> String {
    fn feed(hasher: &mut Sha256, value: &Value) {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                hasher.update(b"{");
                for key in keys {
                    hasher.update(Value::String(key.clone()).to_string());
                    hasher.update(b":");
                    feed(hasher, &map[key]);
                    hasher.update(b",");
                }
                hasher.update(b"}");
            }
            Value::Array(items) => {
                hasher.update(b"[");
                for item in items {
                    feed(hasher, item);
                    hasher.update(b",");
                }
                hasher.update(b"]");
            }
            scalar => hasher.update(scalar.to_string()),
        }
    }
    let mut hasher = Sha256::new();
    feed(&mut hasher, value);
    let mut hex = hex::encode(hasher.finalize());
    hex.truncate(HASH_CHARS);
    hex
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn desired(value: &str) -> Desired {
        let object = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "namespace": "web"}, "data": {"key": value}});
        Desired::from_json(object, 1).unwrap()
    }

    fn managed(entries: Value) -> Value {
        json!({"metadata": {"managedFields": entries}})
    }

    #[test]
    fn the_stamp_hashes_the_payload_whatever_its_key_order() {
        let mut a = [desired("1")];
        let mut b = [desired("1")];
        // The same object with its keys inserted in another order.
        b[0].object = json!({"data": {"key": "1"}, "kind": "ConfigMap",
            "metadata": {"namespace": "web", "name": "a"}, "apiVersion": "v1"});
        stamp(&mut a);
        stamp(&mut b);
        assert_eq!(payload_hash(&a[0].object), payload_hash(&b[0].object));
        let mut c = [desired("2")];
        stamp(&mut c);
        assert_ne!(payload_hash(&a[0].object), payload_hash(&c[0].object));
        // Stamping again does not hash the previous stamp.
        let first = payload_hash(&a[0].object).unwrap().to_string();
        stamp(&mut a);
        assert_eq!(payload_hash(&a[0].object), Some(first.as_str()));
        assert_eq!(first.len(), HASH_CHARS);
    }

    #[test]
    fn the_fields_hash_is_berths_one_apply_entry_without_its_time() {
        let entry = |manager: &str, operation: &str, time: &str, fields: Value| {
            json!({"manager": manager, "operation": operation, "apiVersion": "v1",
                "time": time, "fieldsType": "FieldsV1", "fieldsV1": fields})
        };
        let mine = json!({"f:data": {"f:key": {}}});
        let at_one = managed(json!([entry("berth", "Apply", "t1", mine.clone())]));
        let at_two = managed(json!([
            entry("kubectl-label", "Update", "t3", json!({"f:metadata": {}})),
            entry("berth", "Apply", "t2", mine.clone()),
        ]));
        assert!(fields_hash(&at_one).is_some());
        assert_eq!(fields_hash(&at_one), fields_hash(&at_two));
        let taken = managed(json!([entry(
            "berth",
            "Apply",
            "t1",
            json!({"f:data": {}})
        )]));
        assert_ne!(fields_hash(&at_one), fields_hash(&taken));
        let rows = [
            ("no managedFields", json!({"metadata": {}})),
            (
                "only an update by berth",
                managed(json!([entry("berth", "Update", "t", mine.clone())])),
            ),
            (
                "two apply entries",
                managed(json!([
                    entry("berth", "Apply", "t", mine.clone()),
                    entry("berth", "Apply", "t", json!({}))
                ])),
            ),
        ];
        for (name, object) in rows {
            assert_eq!(fields_hash(&object), None, "{name}");
        }
    }

    #[test]
    fn unchanged_takes_the_annotation_the_record_and_the_same_entry() {
        let mut objects = [desired("1")];
        stamp(&mut objects);
        let wanted = payload_hash(&objects[0].object).unwrap().to_string();
        let entries = json!([{"manager": "berth", "operation": "Apply", "apiVersion": "v1",
            "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:key": {}}}}]);
        let mut live = objects[0].object.clone();
        live["metadata"]["managedFields"] = entries;
        let recorded = entry(&live).unwrap();
        assert_eq!(recorded.payload, wanted);
        assert!(unchanged(&objects[0], &live, Some(&recorded)));

        assert!(!unchanged(&objects[0], &live, None), "no record");
        let mut other_payload = recorded.clone();
        other_payload.payload = "0".repeat(HASH_CHARS);
        assert!(!unchanged(&objects[0], &live, Some(&other_payload)));
        let mut taken = live.clone();
        taken["metadata"]["managedFields"][0]["fieldsV1"] = json!({"f:data": {}});
        assert!(
            !unchanged(&objects[0], &taken, Some(&recorded)),
            "a field taken"
        );
        let mut unstamped = live.clone();
        unstamped["metadata"]["annotations"] = json!({});
        assert!(!unchanged(&objects[0], &unstamped, Some(&recorded)));
        let mut changed = [desired("2")];
        stamp(&mut changed);
        assert!(
            !unchanged(&changed[0], &live, Some(&recorded)),
            "a new payload"
        );
    }

    #[test]
    fn the_record_round_trips_and_garbage_reads_as_empty() {
        let key = desired("1").key;
        let record = Record::from([(
            key,
            Applied {
                payload: "a".into(),
                fields: "b".into(),
            },
        )]);
        assert_eq!(decode(&encode(&record)), record);
        assert!(decode(b"not gzip").is_empty());
    }
}
