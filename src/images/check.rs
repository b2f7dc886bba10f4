//! Checking specs without building (`berth images build --dry-run`, and `berth init` before it
//! writes a spec): the spec parses; every `run` layer's placeholders resolve for the target
//! platform and its inputs exist; every `copy` path exists in the context; every `$VAR` in
//! `[env]` is well formed; and where each host tool would come from.

use std::collections::BTreeMap;

use super::BuildSettings;
use super::error::{Error, ErrorKind};
use super::platform::Platform;
use super::spec::{BuildSpec, ImageSpec, LayerSource, SpecKind};
use super::steps;
use super::tools::{self, Availability};

/// What a build of one spec would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The spec's name.
    pub name: String,
    /// `build FROM base` or `mirror SOURCE`.
    pub what: String,
    /// Each layer: `deps: run bash … (2 inputs)`, `code: copy .`.
    pub layers: Vec<String>,
    /// Each host tool and where it would come from.
    pub tools: Vec<(String, Availability)>,
}

impl Checked {
    /// The tools nobody can provide here.
    pub fn missing_tools(&self) -> Vec<String> {
        self.tools
            .iter()
            .filter_map(|(name, a)| match a {
                Availability::Missing { install } => Some(format!("{name}: {install}")),
                _ => None,
            })
            .collect()
    }
}

/// Check `spec` for `platform` with `settings`' build values and cache (nothing is pulled,
/// run or written).
pub fn check_spec(
    spec: &ImageSpec,
    settings: &BuildSettings,
    platform: &Platform,
) -> Result<Checked, Error> {
    match &spec.kind {
        SpecKind::Mirror(m) => Ok(Checked {
            name: spec.name.clone(),
            what: format!("mirror {}", m.source),
            layers: Vec::new(),
            tools: Vec::new(),
        }),
        SpecKind::Build(b) => {
            let layers = check_layers(b, settings, platform, &spec.name)?;
            let tools = b
                .tools
                .iter()
                .map(|t| (t.clone(), tools::locate(t, &settings.cache_dir)))
                .collect();
            if !b.context.is_dir() {
                return Err(ErrorKind::Spec(format!(
                    "context {} is not a directory",
                    b.context.display()
                ))
                .at(&spec.name, "spec"));
            }
            Ok(Checked {
                name: spec.name.clone(),
                what: format!("build FROM {}", b.base),
                layers,
                tools,
            })
        }
    }
}

fn check_layers(
    b: &BuildSpec,
    settings: &BuildSettings,
    platform: &Platform,
    name: &str,
) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    for layer in &b.layers {
        let at = |k: ErrorKind| k.at(name, &format!("layer {}", layer.name));
        match &layer.source {
            LayerSource::Run { run, inputs, env } => {
                let step = steps::prepare(
                    run,
                    env,
                    inputs,
                    &b.context,
                    &settings.build_values,
                    settings.build_env.get(name).unwrap_or(&BTreeMap::new()),
                    platform,
                )
                .map_err(at)?;
                out.push(format!(
                    "{} -> {}: run {} ({} inputs)",
                    layer.name,
                    layer.dest,
                    step.argv.first().map_or("", String::as_str),
                    inputs.len()
                ));
            }
            LayerSource::Copy { paths, .. } => {
                for path in paths {
                    let full = b.context.join(path);
                    if !full.exists() {
                        return Err(at(ErrorKind::Spec(format!(
                            "copy path {path:?} does not exist in the context {}",
                            b.context.display()
                        ))));
                    }
                }
                out.push(format!(
                    "{} -> {}: copy {}",
                    layer.name,
                    layer.dest,
                    paths.join(" ")
                ));
            }
        }
    }
    Ok(out)
}

/// Check every selected spec for the first target platform; a tool nobody can provide is an
/// error, as it would be for the build.
pub fn dry_run(settings: &BuildSettings) -> Result<Vec<Checked>, Error> {
    let platform = settings.platforms.first().cloned().unwrap_or_default();
    let mut out = Vec::new();
    for spec in settings.specs()? {
        let checked = check_spec(&spec, settings, &platform)?;
        let missing = checked.missing_tools();
        if !missing.is_empty() {
            return Err(ErrorKind::Missing(format!(
                "the build steps need host tools that are not on PATH\nhint: install {}",
                missing.join("\nhint: install ")
            ))
            .at(&spec.name, "tools"));
        }
        out.push(checked);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::spec::parse;

    #[test]
    fn placeholders_inputs_and_copy_paths_are_checked_without_running() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("api")).unwrap();
        std::fs::write(root.path().join("api/requirements.txt"), "x==1\n").unwrap();
        let text = |run: &str, copy: &str| {
            format!(
                r#"kind = "build"
repository = "localhost/t/api"
base = "docker.io/library/python:3.12-slim-bookworm"
context = "api"
user = "10001:10001"
tools = ["sh"]
[[layers]]
name = "deps"
inputs = ["requirements.txt"]
run = {run}
dest = "/app/deps"
[[layers]]
name = "code"
copy = [{copy:?}]
dest = "/app"
"#
            )
        };
        let settings = BuildSettings::new(root.path());
        let check = |t: String| {
            let spec = parse("api", &t, root.path()).map_err(|k| k.at("api", "spec"))?;
            check_spec(&spec, &settings, &Platform::default())
        };
        let ok = check(text(r#"["sh", "-c", "exit 1", "{out}", "{npm_cpu}"]"#, ".")).unwrap();
        assert_eq!(ok.layers.len(), 2);
        assert!(matches!(ok.tools[0].1, Availability::OnPath(_)));
        let err = check(text(r#"["sh", "{nope}"]"#, "."))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("{nope}") && err.contains("layer deps"),
            "{err}"
        );
        let err = check(text(r#"["sh"]"#, "src")).unwrap_err().to_string();
        assert!(err.contains("\"src\" does not exist"), "{err}");
        std::fs::remove_file(root.path().join("api/requirements.txt")).unwrap();
        let err = check(text(r#"["sh"]"#, ".")).unwrap_err().to_string();
        assert!(err.contains("requirements.txt"), "{err}");
    }
}
