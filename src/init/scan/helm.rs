//! An existing Helm chart's values (`Chart.yaml` beside `values*.yaml`): replicas and ports of
//! the services it names. A chart that does not parse is noted and ignored, never fatal.

use std::fs;
use std::path::Path;

use serde_json::Value;

use super::text::{files_with, line_of, relative};
use crate::init::findings::{Findings, Found, Source};

pub fn read(root: &Path, findings: &mut Findings) {
    for chart in files_with(root, &["Chart.yaml"], 3) {
        let Some(dir) = chart.parent() else { continue };
        let mut values_files: Vec<_> = fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                let n = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                n.starts_with("values") && (n.ends_with(".yaml") || n.ends_with(".yml"))
            })
            .collect();
        values_files.sort();
        for file in values_files {
            let rel = relative(root, &file);
            let Ok(text) = fs::read_to_string(&file) else {
                continue;
            };
            match serde_saphyr::from_str::<Value>(&text) {
                Err(e) => {
                    let first = e.to_string().lines().next().unwrap_or("").to_string();
                    findings.notes.push(Found::new(
                        format!("Helm values {rel} do not parse ({first}); the chart was ignored"),
                        Source::new(&rel, None, "parse"),
                    ));
                }
                Ok(values) => apply(&rel, &text, &values, findings),
            }
        }
    }
}

/// `<service>.replicaCount` / `<service>.service.port` for services the scan found.
fn apply(rel: &str, text: &str, values: &Value, findings: &mut Findings) {
    for service in &mut findings.services {
        let Some(section) = values.get(&service.name) else {
            continue;
        };
        let line = line_of(text, &format!("{}:", service.name));
        if let Some(n) = section
            .get("replicaCount")
            .or_else(|| section.get("replicas"))
            .and_then(Value::as_i64)
            .and_then(|n| i32::try_from(n).ok())
        {
            service.replicas = Some(Found::new(
                n,
                Source::new(rel, line, format!("{}.replicaCount", service.name)),
            ));
        }
        let port = section
            .pointer("/service/targetPort")
            .or_else(|| section.pointer("/service/port"))
            .and_then(Value::as_u64)
            .and_then(|n| u16::try_from(n).ok());
        if let Some(port) = port
            && service.port.as_ref().is_none_or(|p| p.source.is_assumed())
        {
            service.port = Some(Found::new(
                port,
                Source::new(rel, line, format!("{}.service.port", service.name)),
            ));
        }
    }
}
