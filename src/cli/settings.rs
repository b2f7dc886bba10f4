//! The settings step shared by the commands: flags, values files and the
//! environment resolved into typed values before any work starts.

use crate::apply::{DeployOptions, Release};
use crate::manifests::RenderContext;
use crate::values::{self, ProcessEnv, ValueSources, Values, ValuesError, validate::is_dns_label};

use super::ReleaseArgs;
use super::apply_args::ApplyArgs;

/// The release named by the flags; the name defaults to the stack's `appName` and the
/// namespace to the values' namespace (both read from `./berth.yaml` when present, else the
/// embedded defaults).
pub fn release_of(args: &ReleaseArgs) -> anyhow::Result<Release> {
    if let (Some(name), Some(ns)) = (&args.release, &args.namespace) {
        return Ok(Release::new(name, ns.clone()));
    }
    let sources = ValueSources {
        stack: values::load::stack_file_here(),
        ..ValueSources::default()
    };
    let values = values::load_unchecked_secrets(&sources, &ProcessEnv)?;
    let name = release_name(args, &values)?;
    let namespace = args
        .namespace
        .clone()
        .unwrap_or_else(|| values.namespace.name.clone());
    Ok(Release::new(&name, namespace))
}

/// `--release` (or `BERTH_RELEASE`), else the stack's `appName`: a team's stack never falls
/// back to the embedded example's name.
pub fn release_name(args: &ReleaseArgs, values: &Values) -> Result<String, ValuesError> {
    let (name, at) = match &args.release {
        Some(name) => (name.clone(), "--release"),
        None => (values.app_name.clone(), "appName"),
    };
    if !is_dns_label(&name) || name.len() > 40 {
        let hint = if at == "appName" {
            "or pass --release NAME"
        } else {
            "e.g. --release my-app"
        };
        return Err(ValuesError::invalid(vec![values::Problem::new(
            at,
            format!("`{name}` is not a valid release name; allowed: up to 40 lower-case letters, digits and `-`"),
        ).with_hint(format!("the release name prefixes every object; {hint}"))]));
    }
    Ok(name)
}

/// Loads and validates the values and the release flags (no cluster needed).
pub fn load_values(
    sources: &ValueSources,
    release: &ReleaseArgs,
) -> anyhow::Result<(Values, RenderContext)> {
    let values = values::load(sources, &ProcessEnv)?;
    let ctx = render_context(&values, release)?;
    Ok((values, ctx))
}

/// Checks the release and namespace flags and builds the render context.
pub fn render_context(
    values: &Values,
    release: &ReleaseArgs,
) -> Result<RenderContext, ValuesError> {
    let name = release_name(release, values)?;
    let mut problems = Vec::new();
    if let Some(ns) = &release.namespace
        && !is_dns_label(ns)
    {
        problems.push(values::Problem::new(
            "--namespace",
            format!("`{ns}` is not a valid namespace; allowed: up to 63 lower-case letters, digits and `-`"),
        ));
    }
    problems.extend(values::validate::check_names_fit(values, &name));
    if !problems.is_empty() {
        return Err(ValuesError::invalid(problems));
    }
    Ok(RenderContext::new(
        values,
        &name,
        release.namespace.as_deref(),
    ))
}

/// The engine's options from the apply flags (the revision record is filled
/// in by the pipeline from what it renders).
pub fn deploy_options(apply: &ApplyArgs, delete_data: bool) -> DeployOptions {
    DeployOptions {
        force_conflicts: apply.force_conflicts,
        recreate: apply.recreate,
        delete_data,
        wait: apply.wait(),
        history_max: apply.history_max,
        revision: Default::default(),
        also_owned: vec![],
    }
}

/// `--registry-mirror REGISTRY=URL` flags, by registry.
pub fn registry_mirrors(
    mappings: &[String],
) -> anyhow::Result<std::collections::BTreeMap<String, crate::images::Mirror>> {
    mappings
        .iter()
        .map(|m| crate::images::Mirror::parse_mapping(m).map_err(anyhow::Error::msg))
        .collect()
}

/// Where image specs' contexts are resolved: `--root`, else the directory of the team's
/// berth.yaml (specs live in images/ beside it), else the working directory.
pub fn specs_root(
    root: Option<&std::path::Path>,
    stack: Option<&std::path::Path>,
) -> std::path::PathBuf {
    root.map(std::path::Path::to_path_buf)
        .or_else(|| {
            stack
                .and_then(std::path::Path::parent)
                .filter(|d| !d.as_os_str().is_empty())
                .map(std::path::Path::to_path_buf)
        })
        .unwrap_or_else(|| std::path::PathBuf::from("."))
}
