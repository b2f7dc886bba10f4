//! `berth render`: print the objects a deploy would apply.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};

use super::{Outcome, ReleaseArgs, ValuesArgs};
use crate::manifests::{self, RenderContext, output};
use crate::ui;
use crate::values::{self, ProcessEnv, ValuesError, validate::is_dns_label};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Yaml,
    Json,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    #[command(flatten)]
    pub values: ValuesArgs,
    #[command(flatten)]
    pub release: ReleaseArgs,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Yaml)]
    pub format: Format,
    /// Write numbered files per kind (00-namespace.yaml, …) into DIR instead of stdout.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Show Secret values instead of a placeholder.
    #[arg(long)]
    pub include_secrets: bool,
}

pub fn run(args: RenderArgs) -> anyhow::Result<Outcome> {
    let mut values = values::load(&args.values.sources(), &ProcessEnv)?;
    let ctx = render_context(&values, &args.release)?;
    // Generated secrets are random per run; shown only on request anyway.
    values.fill_generated();
    let mut objects = manifests::render(&values, &ctx);
    if !args.include_secrets {
        manifests::redact_secrets(&mut objects);
    }
    match (&args.output_dir, args.format) {
        (Some(dir), _) => {
            let files = output::write_output_dir(&objects, dir)
                .with_context(|| format!("cannot write manifests to {}", dir.display()))?;
            ui::status(&format!("wrote {} files to {}", files.len(), dir.display()));
        }
        (None, Format::Yaml) => ui::write_stdout(&output::to_yaml_stream(&objects))?,
        (None, Format::Json) => ui::write_stdout(&output::to_json_list(&objects))?,
    }
    Ok(Outcome::Success)
}

/// Checks the release and namespace flags and builds the render context.
pub fn render_context(
    values: &values::Values,
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
