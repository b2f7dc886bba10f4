//! The settings step shared by the commands: flags, values files and the
//! environment resolved into typed values before any work starts.

use crate::apply::{DeployOptions, Release};
use crate::manifests::RenderContext;
use crate::values::{self, ProcessEnv, ValueSources, Values, ValuesError, validate::is_dns_label};

use super::ReleaseArgs;
use super::apply_args::ApplyArgs;

/// The release named by the flags; the namespace defaults to the values' default.
pub fn release_of(args: &ReleaseArgs) -> anyhow::Result<Release> {
    let namespace = match &args.namespace {
        Some(ns) => ns.clone(),
        None => {
            let sources = ValueSources {
                stack: values::load::stack_file_here(),
                ..ValueSources::default()
            };
            values::load_unchecked_secrets(&sources, &ProcessEnv)?
                .namespace
                .name
        }
    };
    Ok(Release::new(&args.release, namespace))
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
    let mut problems = Vec::new();
    if !is_dns_label(&release.release) || release.release.len() > 40 {
        problems.push(values::Problem::new(
            "--release",
            format!("`{}` is not a valid release name; allowed: up to 40 lower-case letters, digits and `-`", release.release),
        ));
    }
    if let Some(ns) = &release.namespace
        && !is_dns_label(ns)
    {
        problems.push(values::Problem::new(
            "--namespace",
            format!("`{ns}` is not a valid namespace; allowed: up to 63 lower-case letters, digits and `-`"),
        ));
    }
    problems.extend(values::validate::check_names_fit(values, &release.release));
    if !problems.is_empty() {
        return Err(ValuesError::invalid(problems));
    }
    Ok(RenderContext::new(
        values,
        &release.release,
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
