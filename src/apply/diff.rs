//! Unified diffs of planned changes, with Secret values masked.

use serde_json::Value;
use similar::TextDiff;

use super::applied::APPLIED_ANNOTATION;
use super::normalize::normalize;
use super::{Action, Planned};

const MASK: &str = "***";

/// The diff of one planned object, `None` when it is unchanged.
pub fn object_diff(planned: &Planned) -> Option<String> {
    if planned.action == Action::Unchanged {
        return None;
    }
    let key = &planned.desired.key;
    let before = planned
        .live
        .as_ref()
        .map(|v| show(v, &key.kind))
        .unwrap_or_default();
    let after = planned.after.as_ref().unwrap_or(&planned.desired.object);
    let after = show(after, &key.kind);
    let header = match &planned.action {
        Action::Recreate {
            reason,
            expansion: None,
        } => format!("{key} would recreate: {reason}"),
        Action::Recreate {
            reason,
            expansion: Some(refused),
        } => format!("{key} would recreate: {reason}\n{refused}"),
        Action::Expand { claims } => {
            let mut header = format!(
                "{key} would expand its volumes (re-created with its pods and volumes kept)"
            );
            for c in claims {
                header.push_str(&format!(
                    "\n  expand {} from {} to {}",
                    c.claim, c.from, c.to
                ));
            }
            header
        }
        Action::Conflict { message } => format!("{key} conflict: {message}"),
        Action::Update if before == after => {
            format!("{key} would update (berth's record of what it applied, only)")
        }
        Action::Create | Action::Update | Action::Unchanged => {
            format!("{key} would {}", planned.action.verb())
        }
    };
    let body = TextDiff::from_lines(&before, &after)
        .unified_diff()
        .context_radius(3)
        .header("live", "rendered")
        .to_string();
    Some(format!("{header}\n{body}"))
}

/// Pretty JSON without noise (nor berth's stamp of the applied payload,
/// which changes with any content); Secret values masked (equal values stay
/// equal, changed ones show as changed).
fn show(object: &Value, kind: &str) -> String {
    let mut object = normalize(object);
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        let annotations = meta.get_mut("annotations").and_then(Value::as_object_mut);
        if let Some(annotations) = annotations {
            annotations.remove(APPLIED_ANNOTATION);
            if annotations.is_empty() {
                meta.remove("annotations");
            }
        }
    }
    if kind == "Secret" {
        for field in ["data", "stringData"] {
            if let Some(map) = object.get_mut(field).and_then(Value::as_object_mut) {
                for value in map.values_mut() {
                    *value = Value::String(format!("{MASK} {}", fingerprint(value)));
                }
            }
        }
    }
    let mut text = serde_json::to_string_pretty(&object).expect("JSON serializes");
    text.push('\n');
    text
}

/// A short hash, so a changed secret shows as changed without showing it.
fn fingerprint(value: &Value) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(value.to_string());
    format!("sha256:{}", &hex::encode(digest)[..8])
}
