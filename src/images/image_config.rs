//! The image config and manifest of a built image: the base config edited as JSON (so fields
//! berth does not know survive), an OCI manifest, and the content-derived tag.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::env_refs;
use super::error::ErrorKind;
use super::layer::LayerBlob;
use super::spec::BuildSpec;
use super::store::Digest;

/// OCI media types used for what berth writes.
pub mod media {
    /// Image manifest.
    pub const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    /// Image index.
    pub const INDEX: &str = "application/vnd.oci.image.index.v1+json";
    /// Image config.
    pub const CONFIG: &str = "application/vnd.oci.image.config.v1+json";
    /// gzip layer.
    pub const LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
}

/// Everything that goes into a built image's config besides the base and the spec.
#[derive(Clone, Debug)]
pub struct ConfigInputs<'a> {
    /// RFC 3339 creation time (from `SOURCE_DATE_EPOCH`).
    pub created: &'a str,
    /// Labels to add (OCI annotations such as source and revision, plus the spec's).
    pub labels: &'a BTreeMap<String, String>,
    /// App layers in order, with their names for the history.
    pub layers: &'a [(String, LayerBlob)],
}

/// Apply the spec to a copy of the base config; fails when an env value refers to a variable
/// the base does not set (see [`super::env_refs`]).
pub fn edit_config(
    base: &Value,
    spec: &BuildSpec,
    inputs: &ConfigInputs<'_>,
) -> Result<Value, ErrorKind> {
    let mut config = base.clone();
    let root = object(&mut config);
    root.insert("created".into(), json!(inputs.created));
    let runtime = object(root.entry("config").or_insert_with(|| json!({})));
    runtime.insert("User".into(), json!(spec.user.to_string()));
    if let Some(workdir) = &spec.workdir {
        runtime.insert("WorkingDir".into(), json!(workdir));
    }
    if let Some(entrypoint) = &spec.entrypoint {
        runtime.insert("Entrypoint".into(), json!(entrypoint));
        // As in a Dockerfile: a new ENTRYPOINT drops the base's CMD.
        runtime.remove("Cmd");
    }
    if let Some(cmd) = &spec.cmd {
        runtime.insert("Cmd".into(), json!(cmd));
    }
    merge_env(runtime, &spec.env, &spec.base)?;
    if !spec.ports.is_empty() {
        let ports = object(runtime.entry("ExposedPorts").or_insert_with(|| json!({})));
        for port in &spec.ports {
            ports.insert(format!("{port}/tcp"), json!({}));
        }
    }
    if let Some(check) = healthcheck(spec) {
        runtime.insert("Healthcheck".into(), check);
    }
    if !inputs.labels.is_empty() {
        let labels = object(runtime.entry("Labels").or_insert_with(|| json!({})));
        for (k, v) in inputs.labels {
            labels.insert(k.clone(), json!(v));
        }
    }
    let rootfs = object(
        root.entry("rootfs")
            .or_insert_with(|| json!({"type": "layers", "diff_ids": []})),
    );
    let diff_ids = rootfs.entry("diff_ids").or_insert_with(|| json!([]));
    let history_entries: Vec<Value> = inputs
        .layers
        .iter()
        .map(|(name, _)| json!({"created": inputs.created, "created_by": format!("berth: layer {name}")}))
        .collect();
    if let Value::Array(ids) = diff_ids {
        ids.extend(inputs.layers.iter().map(|(_, l)| json!(l.diff_id)));
    }
    if let Value::Array(history) = root.entry("history").or_insert_with(|| json!([])) {
        history.extend(history_entries);
    }
    Ok(config)
}

/// Docker's `Healthcheck` (its image config extension; OCI configs keep
/// unknown fields): the test as `CMD` argv for the image's runtime, durations
/// in nanoseconds as Go's time.Duration marshals them. Timing as berth's
/// readiness probes: every 5 s, 3 failures, 120 s to start.
fn healthcheck(spec: &BuildSpec) -> Option<Value> {
    const SECOND: u64 = 1_000_000_000;
    let wanted = spec.healthcheck.as_ref()?;
    let check = match &wanted.http {
        Some(path) => crate::values::Check::Http(path.clone()),
        None => crate::values::Check::Tcp,
    };
    let runtime = crate::healthcheck::Runtime::detect(
        Some(&spec.base),
        spec.entrypoint.as_deref().unwrap_or_default(),
    );
    let command = crate::healthcheck::command(&check, spec.ports.first().copied(), runtime)?;
    let mut test = vec!["CMD".to_string()];
    test.extend(command);
    Some(json!({
        "Test": test,
        "Interval": 5 * SECOND,
        "Timeout": 5 * SECOND,
        "StartPeriod": 120 * SECOND,
        "Retries": 3,
    }))
}

fn object(value: &mut Value) -> &mut Map<String, Value> {
    if !value.is_object() {
        *value = json!({});
    }
    value.as_object_mut().expect("just made an object")
}

/// Override or append `KEY=VALUE` entries, keeping the base's order; `$VAR` in a value is the
/// base's `VAR` (as a Dockerfile's `ENV` expands against the environment before it).
fn merge_env(
    runtime: &mut Map<String, Value>,
    env: &BTreeMap<String, String>,
    base_image: &str,
) -> Result<(), ErrorKind> {
    let list = runtime.entry("Env").or_insert_with(|| json!([]));
    let Value::Array(entries) = list else {
        return Ok(());
    };
    let base: BTreeMap<String, String> = entries
        .iter()
        .filter_map(|e| e.as_str()?.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    for (key, value) in env {
        let value = env_refs::expand(value, |name| base.get(name).cloned()).map_err(|e| {
            ErrorKind::Spec(format!(
                "env {key} = {value:?}: {e} ({base_image} sets {})\nhint: write the value out in full, or `$$` for a literal `$`",
                if base.is_empty() {
                    "no variables".to_owned()
                } else {
                    base.keys().cloned().collect::<Vec<_>>().join(", ")
                }
            ))
        })?;
        let item = json!(format!("{key}={value}"));
        let prefix = format!("{key}=");
        match entries
            .iter_mut()
            .find(|e| e.as_str().is_some_and(|s| s.starts_with(&prefix)))
        {
            Some(existing) => *existing = item,
            None => entries.push(item),
        }
    }
    Ok(())
}

/// Map Docker layer media types to their OCI equivalents (same bytes) for an OCI manifest.
pub fn oci_layer_media_type(media_type: &str) -> &str {
    match media_type {
        "application/vnd.docker.image.rootfs.diff.tar.gzip" => LAYER_GZIP_STR,
        "application/vnd.docker.image.rootfs.diff.tar" => "application/vnd.oci.image.layer.v1.tar",
        other => other,
    }
}

const LAYER_GZIP_STR: &str = media::LAYER_GZIP;

/// An OCI image manifest for a config and layer descriptors.
pub fn manifest(config: (&Digest, u64), layers: &[Value]) -> Value {
    json!({
        "schemaVersion": 2,
        "mediaType": media::MANIFEST,
        "config": {"mediaType": media::CONFIG, "digest": config.0.as_str(), "size": config.1},
        "layers": layers,
    })
}

/// A layer descriptor.
pub fn layer_descriptor(media_type: &str, digest: &str, size: u64) -> Value {
    json!({"mediaType": media_type, "digest": digest, "size": size})
}

/// The tag derived from the manifest digest: the first 16 hex digits.
pub fn content_tag(manifest_digest: &Digest) -> String {
    manifest_digest.hex()[..16].to_owned()
}

/// RFC 3339 UTC timestamp for seconds since the epoch.
pub fn rfc3339(epoch: u64) -> String {
    let days = (epoch / 86_400) as i64;
    let secs = epoch % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::spec::{Owner, SpecKind, parse};
    use std::path::Path;

    fn spec() -> BuildSpec {
        let text = r#"
kind = "build"
repository = "localhost/t/app"
base = "docker.io/library/busybox:1.35.0"
context = "."
user = "10001:10001"
workdir = "/app"
entrypoint = ["/app/run.sh"]
ports = [8000]
[env]
PATH = "/app/bin:$PATH"
GREETING = "hi $$HOME ${LANG}"
"#;
        match parse("app", text, Path::new("/")).unwrap().kind {
            SpecKind::Build(b) => *b,
            SpecKind::Mirror(_) => unreachable!(),
        }
    }

    #[test]
    fn edits_keep_unknown_fields_and_follow_dockerfile_rules() {
        let base = json!({
            "architecture": "amd64", "os": "linux", "x-vendor-field": {"keep": true},
            "config": {"Env": ["PATH=/bin", "LANG=C.UTF-8"], "Cmd": ["sh"], "StopSignal": "SIGTERM"},
            "rootfs": {"type": "layers", "diff_ids": ["sha256:base"]},
            "history": [{"created_by": "base"}]
        });
        let layer = LayerBlob {
            digest: "sha256:d".into(),
            diff_id: "sha256:app".into(),
            size: 1,
        };
        let labels = [(
            "org.opencontainers.image.revision".to_owned(),
            "abc".to_owned(),
        )]
        .into();
        let layers = [("code".to_owned(), layer)];
        let out = edit_config(
            &base,
            &spec(),
            &ConfigInputs {
                created: "1970-01-01T00:00:00Z",
                labels: &labels,
                layers: &layers,
            },
        )
        .unwrap();
        assert_eq!(out["x-vendor-field"], json!({"keep": true}));
        assert_eq!(out["config"]["StopSignal"], "SIGTERM");
        assert_eq!(
            out["config"]["Env"],
            json!([
                "PATH=/app/bin:/bin",
                "LANG=C.UTF-8",
                "GREETING=hi $HOME C.UTF-8"
            ]),
            "`$VAR` is the base's value, `$$` a literal dollar"
        );
        assert!(
            out["config"].get("Cmd").is_none(),
            "entrypoint drops the base cmd"
        );
        assert_eq!(out["config"]["User"], "10001:10001");
        assert_eq!(out["config"]["ExposedPorts"], json!({"8000/tcp": {}}));
        assert_eq!(
            out["config"]["Labels"]["org.opencontainers.image.revision"],
            "abc"
        );
        assert_eq!(
            out["rootfs"]["diff_ids"],
            json!(["sha256:base", "sha256:app"])
        );
        assert_eq!(out["history"][1]["created_by"], "berth: layer code");
        assert_eq!(
            spec().user,
            Owner {
                uid: 10001,
                gid: 10001
            }
        );
    }

    #[test]
    fn a_variable_the_base_does_not_set_is_refused_with_a_hint() {
        let mut spec = spec();
        spec.env.remove("GREETING");
        spec.env
            .insert("PATH".into(), "/app/.venv/bin:$VIRTUAL_ENV".into());
        let base = json!({"config": {"Env": ["PATH=/bin"]}});
        let err = edit_config(
            &base,
            &spec,
            &ConfigInputs {
                created: "1970-01-01T00:00:00Z",
                labels: &BTreeMap::new(),
                layers: &[],
            },
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("$VIRTUAL_ENV") && err.contains("sets PATH") && err.contains("hint:"),
            "{err}"
        );
    }

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    fn spec_with(base: &str, extra: &str) -> Result<BuildSpec, String> {
        let text = format!(
            "kind = \"build\"\nrepository = \"localhost/t/app\"\nbase = \"{base}\"\ncontext = \".\"\nuser = \"10001\"\nentrypoint = [\"python\", \"-m\", \"app\"]\nports = [8000]\n{extra}\n"
        );
        match parse("app", &text, Path::new("/"))
            .map_err(|e| e.to_string())?
            .kind
        {
            SpecKind::Build(b) => Ok(*b),
            SpecKind::Mirror(_) => unreachable!(),
        }
    }

    #[test]
    fn a_healthcheck_is_dockers_config_field_run_by_the_image_runtime() {
        let spec = spec_with(
            "docker.io/library/python:3.12-slim",
            "healthcheck = { http = \"/health\" }",
        )
        .unwrap();
        let inputs = ConfigInputs {
            created: "1970-01-01T00:00:00Z",
            labels: &BTreeMap::new(),
            layers: &[],
        };
        let out = edit_config(&json!({"config": {}}), &spec, &inputs).unwrap();
        let check = &out["config"]["Healthcheck"];
        assert_eq!(check["Test"][0], "CMD");
        assert_eq!(check["Test"][1], "python");
        assert!(
            check["Test"][3]
                .as_str()
                .unwrap()
                .contains("http://127.0.0.1:8000/health")
        );
        assert_eq!(check["Interval"], 5_000_000_000u64);
        assert_eq!(check["Retries"], 3);
        // Without one, the base's own is kept as it was.
        let plain = spec_with("docker.io/library/python:3.12-slim", "").unwrap();
        let base = json!({"config": {"Healthcheck": {"Test": ["NONE"]}}});
        assert_eq!(
            edit_config(&base, &plain, &inputs).unwrap()["config"]["Healthcheck"],
            json!({"Test": ["NONE"]})
        );
    }

    #[test]
    fn a_healthcheck_needs_a_runtime_that_can_run_it() {
        let text = "kind = \"build\"\nrepository = \"localhost/t/app\"\nbase = \"docker.io/library/busybox:1.35.0\"\ncontext = \".\"\nuser = \"10001\"\nentrypoint = [\"/app/run.sh\"]\nports = [8000]\nhealthcheck = { http = \"/health\" }\n";
        let err = parse("app", text, Path::new("/")).unwrap_err().to_string();
        assert!(err.contains("Python or Node.js"), "{err}");
    }
}
