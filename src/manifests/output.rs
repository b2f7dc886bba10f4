//! Serialising rendered objects: a multi-document YAML stream, a JSON list, or
//! numbered files per kind that `kubectl apply -f DIR` accepts.

use std::path::Path;

use super::object::{Kind, Manifest};

/// One YAML document per object, in the given (apply) order.
pub fn to_yaml_stream(objects: &[Manifest]) -> String {
    objects
        .iter()
        .map(|o| format!("---\n{}", to_yaml(&o.to_json())))
        .collect()
}

/// A JSON list of the objects.
pub fn to_json_list(objects: &[Manifest]) -> String {
    let list: Vec<_> = objects.iter().map(Manifest::to_json).collect();
    let mut text = serde_json::to_string_pretty(&list).expect("JSON values serialize");
    text.push('\n');
    text
}

pub fn to_yaml(value: &serde_json::Value) -> String {
    let text = serde_saphyr::to_string(value).expect("JSON values serialize as YAML");
    if text.ends_with('\n') {
        text
    } else {
        text + "\n"
    }
}

/// Writes `NN-kind.yaml` files, one per kind present, and returns their names.
pub fn write_output_dir(objects: &[Manifest], dir: &Path) -> std::io::Result<Vec<String>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for kind in Kind::ALL {
        let of_kind: Vec<Manifest> = objects
            .iter()
            .filter(|o| o.kind() == kind)
            .cloned()
            .collect();
        if of_kind.is_empty() {
            continue;
        }
        let name = kind.file_name();
        std::fs::write(dir.join(&name), to_yaml_stream(&of_kind))?;
        written.push(name);
    }
    Ok(written)
}
