//! `docker-compose.yml`: services, where each is built from, ports, environment, `env_file`,
//! `depends_on`, health checks and volumes.

use std::path::Path;

use serde_json::Value;

use super::dockerfile::url_path;
use super::envfile;
use super::text::line_of;
use crate::init::findings::{EnvUse, Found, Source};

/// One compose service.
#[derive(Debug, Clone, Default)]
pub struct ComposeService {
    pub name: String,
    /// Build context relative to the repository (`None`: an image only).
    pub build: Option<String>,
    pub image: Option<String>,
    pub port: Option<Found<u16>>,
    pub env: Vec<(String, Found<EnvUse>)>,
    pub depends_on: Vec<String>,
    pub health: Option<Found<String>>,
    pub volumes: Vec<String>,
    /// Its `command`, words joined by spaces.
    pub command: Option<String>,
    pub line: Option<usize>,
}

/// The compose file names berth looks for, in order.
pub const FILES: [&str; 4] = [
    "docker-compose.yml",
    "docker-compose.yaml",
    "compose.yaml",
    "compose.yml",
];

/// A compose file that cannot be read or parsed.
#[derive(Debug)]
pub struct Unreadable {
    pub file: String,
    pub error: String,
}

/// The services of the compose file in `root` (`None`: there is none).
pub fn read(root: &Path) -> Result<Option<Vec<ComposeService>>, Unreadable> {
    let Some(file) = FILES.iter().find(|f| root.join(f).is_file()) else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(root.join(file)).map_err(|e| Unreadable {
        file: file.to_string(),
        error: e.to_string(),
    })?;
    let doc: Value = serde_saphyr::from_str(&text).map_err(|e| Unreadable {
        file: file.to_string(),
        error: e.to_string(),
    })?;
    let Some(services) = doc.get("services").and_then(Value::as_object) else {
        return Ok(Some(Vec::new()));
    };
    let mut out = Vec::new();
    for (name, spec) in services {
        let line = line_of(&text, &format!("{name}:"));
        let at = |what: String| Source::new(*file, line, what);
        let build = match spec.get("build") {
            Some(Value::String(dir)) => Some(dir.clone()),
            Some(Value::Object(b)) => b.get("context").and_then(Value::as_str).map(String::from),
            _ => None,
        }
        .map(|d| d.trim_start_matches("./").trim_end_matches('/').to_string())
        .map(|d| if d.is_empty() { ".".into() } else { d });
        let port = spec
            .get("ports")
            .and_then(Value::as_array)
            .and_then(|ports| ports.first())
            .and_then(container_port)
            .map(|p| Found::new(p, at(format!("services.{name}.ports"))));
        let mut env = Vec::new();
        match spec.get("environment") {
            Some(Value::Object(map)) => {
                for (k, v) in map {
                    let value = scalar(v);
                    env.push((
                        k.clone(),
                        compose_env(value, at(format!("services.{name}.environment.{k}"))),
                    ));
                }
            }
            Some(Value::Array(list)) => {
                for item in list.iter().filter_map(Value::as_str) {
                    let (k, v) = item
                        .split_once('=')
                        .map_or((item, None), |(k, v)| (k, Some(v.to_string())));
                    env.push((
                        k.to_string(),
                        compose_env(v, at(format!("services.{name}.environment.{k}"))),
                    ));
                }
            }
            _ => {}
        }
        let env_files: Vec<String> = match spec.get("env_file") {
            Some(Value::String(f)) => vec![f.clone()],
            Some(Value::Array(list)) => list
                .iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect(),
            _ => Vec::new(),
        };
        for env_file in env_files {
            // Names only: a compose env_file is usually the real `.env`.
            let rel = env_file.trim_start_matches("./").to_string();
            for (var, found) in envfile::read_names_only(root, &rel) {
                env.push((var, found));
            }
        }
        let depends_on = match spec.get("depends_on") {
            Some(Value::Array(list)) => list
                .iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect(),
            Some(Value::Object(map)) => map.keys().cloned().collect(),
            _ => Vec::new(),
        };
        let health = spec
            .get("healthcheck")
            .and_then(|h| h.get("test"))
            .map(|t| t.to_string())
            .and_then(|t| url_path(&t))
            .map(|p| Found::new(p, at(format!("services.{name}.healthcheck"))));
        let volumes = spec
            .get("volumes")
            .and_then(Value::as_array)
            .map(|v| {
                v.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        out.push(ComposeService {
            name: name.clone(),
            build,
            image: spec.get("image").and_then(Value::as_str).map(String::from),
            port,
            env,
            depends_on,
            health,
            volumes,
            command: match spec.get("command") {
                Some(Value::String(c)) => Some(c.clone()),
                Some(Value::Array(words)) => Some(
                    words
                        .iter()
                        .filter_map(scalar)
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
                _ => None,
            },
            line,
        });
    }
    Ok(Some(out))
}

/// A compose environment entry: `${VAR}` interpolations are names without a value.
fn compose_env(value: Option<String>, source: Source) -> Found<EnvUse> {
    let example = value.filter(|v| !v.contains("${"));
    Found::new(
        EnvUse {
            example,
            required: false,
            build_time: false,
        },
        source,
    )
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The container side of `"8000:8000"`, `"127.0.0.1:8000:8000/tcp"`, `8000` or `{target: 8000}`.
fn container_port(entry: &Value) -> Option<u16> {
    match entry {
        Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Value::String(s) => s.rsplit(':').next()?.split('/').next()?.parse().ok(),
        Value::Object(m) => m
            .get("target")
            .and_then(Value::as_u64)
            .and_then(|n| u16::try_from(n).ok()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_name_the_container_side() {
        for (entry, port) in [
            (serde_json::json!("8080:8000"), 8000),
            (serde_json::json!("127.0.0.1:3001:3000/tcp"), 3000),
            (serde_json::json!(5432), 5432),
            (serde_json::json!({"target": 9000, "published": 80}), 9000),
        ] {
            assert_eq!(container_port(&entry), Some(port), "{entry}");
        }
    }
}
